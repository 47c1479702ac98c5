/*
 * cmd.h - the front door of every aurora command (git's cmd_struct and
 * run_builtin): a table of subcommands and one main.
 *
 * A command file holds its usage and help text, its long options (codes
 * from AUR_CLI_BASE), a table of subcommands and a main that hands them
 * to the front door:
 *
 *	static const struct aur_cmd cmds[] = {
 *		{ "list", AUR_CLI_OPT(O_JSON), 0, 0, NULL, AUR_CMD_DB_READ, AUR_CMD_STREAM, cmd_list },
 *		{ "show", AUR_CLI_OPT(O_JSON), 1, 1, "needs one ID", AUR_CMD_DB_READ, AUR_CMD_STREAM, cmd_show },
 *	};
 *	static const struct aur_cmd_program program = {
 *		.name = "aurora-x", .usage = usage_text, .help = help_text, .longopts = longopts,
 *		.db_option = O_DB, .cmds = cmds, .ncmds = 2,
 *	};
 *	return aur_cmd_main(&program, argc, argv);
 *
 * A body reads its options with aur_cmd_opt(ctx, O_JSON) and its
 * arguments with aur_cmd_arg(ctx, 0), uses ctx->db, prints to ctx->out
 * (aur_cmd_printf, aur_cmd_put_json, aur_cmd_put_buf), reports a lib/
 * failure with aur_cmd_fail and a bad value with aur_cmd_usage, and
 * returns an exit code. Bodies of any size live in lib/<command>_cmd.c.
 *
 * aur_cmd_main then, in this order:
 *   1. aur_log_init(name); SIGPIPE ignored (a write to a closed pipe is
 *      EPIPE, never a silent death); with AUR_CMD_STOP_FLAG, SIGTERM and
 *      SIGINT set the flag aur_cmd_stop_flag() returns;
 *   2. parses argv with aur_cli_parse_spec (cli.h): -q (errors only), -v
 *      (info; twice debug), -h/--help, --version, the program's options
 *      handed to set(), the subcommand and its argument count checked
 *      against the table; neither -q nor -v keeps $AURORA_LOG's level;
 *   3. --help prints help on stdout (exit 0), --version "NAME X.Y.Z";
 *      a usage error prints "NAME: what is wrong", the usage lines and
 *      "try 'NAME --help' for more" on stderr and exits AUR_EXIT_USAGE (2);
 *   4. calls check() (option values, usage errors, configuration to load
 *      before the database is touched; may change the database need, the
 *      options of the open and the flags);
 *   5. opens the database as the subcommand needs (enum aur_cmd_db);
 *   6. calls the subcommand's run();
 *   7. closes the database, calls release(), and checks stdout: fflush, ferror, fclose. A
 *      failed write is exit 74 with "write error: ..." on stderr; a reader
 *      of stdout that went away (EPIPE) is exit 0 without a word for a
 *      subcommand flagged AUR_CMD_STREAM (a pipeline stage, aurora(7)),
 *      else 74 like any other failed write.
 *
 * Exit codes are lib/exitcodes.h; a negative errno from lib/ becomes one
 * through aur_cli_exit_code (cli.h), the one table, documented in
 * aurora(7). The front door writes help and version to stdout and
 * diagnostics through log.h; every other byte on stdout is the
 * subcommand's, through ctx->out.
 */
#ifndef AURORA_CMD_H
#define AURORA_CMD_H

#include <getopt.h>
#include <signal.h>
#include <stdio.h>

#include <jq.h>
#include <sqlite3.h>

#include "buf.h"
#include "cli.h"
#include "db.h"

/*
 * What a subcommand needs of the database, opened before run() at
 * ctx->db_path (--db, else $AURORA_DB, else ./aurora.db):
 */
enum aur_cmd_db {
	AUR_CMD_DB_NONE = 0, /* nothing opened; ctx->db is NULL */
	AUR_CMD_DB_READ,     /* read-only, no migration (aur_follow_open_db): no file, or one
				without aurora's tables, is 78 */
	AUR_CMD_DB_WRITE,    /* read-write with migrations; the file must exist: no file is 78 */
	AUR_CMD_DB_CREATE    /* read-write with migrations; a missing file is created */
};

/* flags of a subcommand (struct aur_cmd.flags, ctx->flags) */
#define AUR_CMD_STREAM 0x1u    /* the reader of stdout going away ends it with exit 0 */
#define AUR_CMD_STOP_FLAG 0x2u /* program-wide: SIGTERM/SIGINT set aur_cmd_stop_flag() */

/*
 * A run() returns an exit code (exitcodes.h), or AUR_CMD_GONE when a write
 * to stdout met EPIPE (aur_cmd_write_failed returns it): the front door
 * turns it into 0 or 74 by AUR_CMD_STREAM.
 */
#define AUR_CMD_GONE (-1)

struct aur_cmd_ctx;

#define AUR_CMD_MAX_OPTS 32 /* option codes AUR_CLI_BASE .. AUR_CLI_BASE + 31 */

/* One row of the table. */
struct aur_cmd {
	/*
	 * The word that names it, or NULL for the default command: the one
	 * run when the first word names no command (then every word is its
	 * argument). A program of one command (aurora-rca, aurora-normalize,
	 * aurora-recv) has only that row; aurora-correlate has it beside
	 * backtest.
	 */
	const char *name;
	unsigned long options; /* AUR_CLI_OPT(code) of each option it takes, beyond the global ones */
	int min_args;          /* arguments after the name */
	int max_args;          /* -1: any number (aurora-normalize's FILE...) */
	const char *arity;     /* a wrong count says "NAME <arity>" ("needs one ID"); NULL: "takes no
				  arguments" or "wrong number of arguments" */
	enum aur_cmd_db db;
	unsigned flags;        /* AUR_CMD_STREAM */
	int (*run)(struct aur_cmd_ctx *ctx);
};

struct aur_cmd_program {
	const char *name;              /* "aurora-inbox": log prefix, version line, messages */
	const char *usage;             /* the short usage lines, each ending in \n (stderr on misuse) */
	const char *help;              /* --help text (stdout) */
	const struct option *longopts; /* codes from AUR_CLI_BASE, {0}-terminated; NULL for none */
	const struct aur_cli_short *shorts; /* short letters for some of them (-j, -p); NULL for none */
	unsigned long global;          /* AUR_CLI_OPT bits every subcommand takes (db_option is added) */
	int db_option;                 /* the code of --db (taken by the front door), 0 for none */
	const struct aur_cmd *cmds;
	size_t ncmds;
	unsigned flags;                /* AUR_CMD_STOP_FLAG */
	void *opts;                    /* the command's own option struct, as ctx->opts */
	/*
	 * Record one option (code from longopts; arg NULL for a flag) in
	 * ctx->opts, for what ctx->opt[] cannot say (the order of two
	 * options). Called in argv order, after ctx->opt[] took the value;
	 * NULL for most commands.
	 */
	void (*set)(struct aur_cmd_ctx *ctx, int code, const char *arg);
	/*
	 * After parsing, before the database is opened: check option values
	 * (return aur_cmd_usage(...) for a bad one), adjust ctx->db_need,
	 * ctx->dbo and ctx->flags. 0 to go on, else the exit code. May be NULL.
	 */
	int (*check)(struct aur_cmd_ctx *ctx);
	/*
	 * At the end, whatever happened after check() was called: free what
	 * check() loaded into ctx->opts (a configuration checked before the
	 * database is opened). May be NULL.
	 */
	void (*release)(struct aur_cmd_ctx *ctx);
};

/* What run() and check() get. Everything is borrowed for the run. */
struct aur_cmd_ctx {
	const struct aur_cmd_program *prog;
	const struct aur_cmd *cmd;          /* the subcommand given */
	const char **args;                  /* its arguments, from argv, NULL-terminated */
	int nargs;
	void *opts;                         /* prog->opts */
	const char *opt[AUR_CMD_MAX_OPTS];  /* the last value of each option, by code - AUR_CLI_BASE
					       ("1" for one without a value), NULL when not given:
					       aur_cmd_opt() */
	const char *db_path;                /* --db, $AURORA_DB or ./aurora.db */
	enum aur_cmd_db db_need;            /* cmd->db unless check() changed it */
	struct aur_db_options dbo;          /* defaults (aur_db_options_init); check() may change */
	sqlite3 *db;                        /* opened as db_need says; NULL for NONE */
	FILE *out;                          /* stdout: data only */
	unsigned flags;                     /* cmd->flags | prog->flags; check() may change */
};

/* Run the program: see the top of this file. Returns the exit code for main. */
int aur_cmd_main(const struct aur_cmd_program *p, int argc, char **argv);

/*
 * A usage error: "NAME: <fmt>", the usage lines and "try 'NAME --help' for
 * more" on stderr; only the message, through log.h, when the log sink is
 * not stderr (aurora-recv with fd 2 a client's socket). Returns
 * AUR_EXIT_USAGE (2).
 */
int aur_cmd_usage(const struct aur_cmd_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * A lib/ call failed with rc (negative errno): log err (strerror when
 * empty) and return aur_cli_exit_code(rc).
 */
int aur_cmd_fail(int rc, const char *err);

/*
 * A write to ctx->out failed (errno set by it; clear errno before the
 * write): AUR_CMD_GONE when the reader went away (EPIPE), else
 * "write error: ..." logged and AUR_EXIT_IOERR.
 */
int aur_cmd_write_failed(void);

/* Write v (consumed) as one compact JSON line to ctx->out. 0 or aur_cmd_write_failed(). */
int aur_cmd_put_json(struct aur_cmd_ctx *ctx, jv v);
/* Write b to ctx->out and empty it. 0 or aur_cmd_write_failed(). */
int aur_cmd_put_buf(struct aur_cmd_ctx *ctx, struct aur_buf *b);
/* printf to ctx->out. 0 or aur_cmd_write_failed(). */
int aur_cmd_printf(struct aur_cmd_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Follow ctx->db_path (follow.h, the one loop): call look(arg, stop_fd,
 * &found) (rows printed: *found) once, then again each time the database
 * may hold new commits or poll_ms passed, until SIGTERM, SIGINT or SIGHUP
 * (exit 0), the reader of a pipe on stdout leaving (AUR_CMD_GONE) or look
 * returning non-zero (returned: an exit code or AUR_CMD_GONE;
 * AUR_CMD_STOPPED when look saw stop_fd readable while it waited to write:
 * exit 0 as for a signal between looks). stop_fd is the signalfd of those
 * signals. what names the cursor in the debug line ("inbox id 12"). Logs
 * why it ended.
 */
#define AUR_CMD_STOPPED (-2)
int aur_cmd_follow(struct aur_cmd_ctx *ctx, int poll_ms, const char *what,
		   int (*look)(void *arg, int stop_fd, long long *found), void *arg);

/* The flag AUR_CMD_STOP_FLAG's handler sets to the signal's number (0 until then). */
const volatile sig_atomic_t *aur_cmd_stop_flag(void);

/* The value of option code (from AUR_CLI_BASE), "1" for a flag given, NULL when not given. */
const char *aur_cmd_opt(const struct aur_cmd_ctx *ctx, int code);

/* The same by the option's long name ("batch"): for code shared by two commands with their own codes. */
const char *aur_cmd_opt_named(const struct aur_cmd_ctx *ctx, const char *name);

/* ctx->args[i], or NULL past the last argument. */
const char *aur_cmd_arg(const struct aur_cmd_ctx *ctx, int i);

#endif
