/*
 * cli.h - small helpers every command's option parsing shares.
 *
 * Numbers and times given on the command line are checked whole: "12x",
 * "", "-3" and values out of range are refused, never half-read as
 * atoi would.
 */
#ifndef AURORA_CLI_H
#define AURORA_CLI_H

#include <getopt.h>
#include <stddef.h>

#define AUR_CLI_MAX_ARGS 4
/* Long-only option codes start here; a command has at most 32 of them. */
#define AUR_CLI_BASE 256
#define AUR_CLI_OPT(code) (1ul << ((code) - AUR_CLI_BASE))

struct aur_cli_command {
	const char *name;
	unsigned long options; /* AUR_CLI_OPT(code) for each option it takes */
	int min_args;          /* arguments after the command name */
	int max_args;          /* -1: any number (aur_cli_parse_spec with all_args) */
};

struct aur_cli {
	const struct aur_cli_command *cmd; /* the command given (NULL with help or version) */
	const char *args[AUR_CLI_MAX_ARGS];/* its arguments, borrowed from argv */
	int nargs;                         /* how many were given */
	int log_level;                     /* from -q/-v; -1 when neither was given */
	int help;                          /* -h or --help */
	int version;                       /* --version */
};

/* A short letter for a long option: { 'j', O_JOBS } makes -j N the same as --jobs N. */
struct aur_cli_short {
	int letter; /* 0 ends the list */
	int code;   /* the long option's code (from AUR_CLI_BASE) */
};

/* What a program accepts: its options and its commands. */
struct aur_cli_spec {
	const struct option *longopts;      /* codes from AUR_CLI_BASE, {0}-terminated, at most 32 */
	const struct aur_cli_short *shorts; /* NULL for none; -q -v -h are always there */
	const struct aur_cli_command *cmds; /* a row named NULL is the default: taken when the
					       first word names no command, which is then its
					       first argument (aurora-rca has only that row) */
	size_t ncmds;
	unsigned long global;               /* AUR_CLI_OPT bits every command takes */
};

/*
 * Parse argv the way every aurora command does: options may stand before
 * or after the command and between its arguments ("--" ends them); -q,
 * -v (twice for debug), -h/--help and --version are handled here, each of
 * the spec's options (codes from AUR_CLI_BASE) is handed to
 * set(code, optarg, ctx) in order. Then the command must be one of the
 * spec's, with an allowed number of arguments and only the options it
 * takes. all_args, when not NULL, has room for argc pointers and gets
 * every argument (cli->args only the first AUR_CLI_MAX_ARGS): a command
 * whose max_args is -1 takes any number. Returns 0 (with help or version
 * set nothing else is checked), -ERANGE when only the number of arguments
 * is wrong (cli->cmd set), or -EINVAL; err says what is wrong.
 */
int aur_cli_parse_spec(struct aur_cli *cli, const char **all_args, int argc, char **argv,
		       const struct aur_cli_spec *spec, void (*set)(int code, const char *arg, void *ctx),
		       void *ctx, char *err, size_t errlen);

/* Parse a decimal integer in [min, max]. 0 with *out set, or -EINVAL / -ERANGE. */
int aur_cli_parse_ll(const char *s, long long min, long long max, long long *out);

/*
 * Parse a length of time: digits and a unit, "90s", "10m", "2h", "7d",
 * "500ms". 0 with *ms set, or -EINVAL.
 */
int aur_cli_parse_duration_ms(const char *s, long long *ms);

/*
 * Parse a point in time: a duration (aur_cli_parse_duration_ms) meaning that
 * long before now_ms, or anything aur_time_parse_ms reads (RFC 3339, epoch
 * seconds, epoch milliseconds). 0 with *ms set, or -EINVAL.
 */
int aur_cli_parse_time_ms(const char *s, long long now_ms, long long *ms);

/*
 * The one table from a negative errno of lib/ to an exit code
 * (exitcodes.h, aurora(7)):
 *   0                                       0  ok
 *   -ENOENT                                 1  the thing asked for does not exist
 *   -EINVAL, -EPERM, -E2BIG                65  invalid data, a refused change
 *   -ENOMEM                                70  internal
 *   -EBUSY, -EAGAIN, -ETIMEDOUT, -ENOSPC   75  temporary: try again
 *   -ENODATA (not an aurora database),
 *   -ENOEXEC (a mapping that does not run) 78  configuration
 *   anything else (-EIO, -EPIPE ...)       74  input/output
 */
int aur_cli_exit_code(int err);

#endif
