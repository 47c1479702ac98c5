#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "exitcodes.h"
#include "log.h"
#include "timeutil.h"
#include "banned.h"

int aur_cli_parse_ll(const char *s, long long min, long long max, long long *out)
{
	char *end = NULL;
	long long v;

	if (!s || !*s || (*s != '-' && (*s < '0' || *s > '9')))
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (errno || !end || *end)
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int aur_cli_parse_duration_ms(const char *s, long long *ms)
{
	static const struct {
		const char *unit;
		long long ms;
	} units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { "d", 86400000 },
		{ "w", 7 * 86400000LL },
	};
	size_t digits;
	long long v;

	if (!s)
		return -EINVAL;
	digits = strspn(s, "0123456789");
	if (digits == 0 || digits > 9)
		return -EINVAL;
	v = strtoll(s, NULL, 10);
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (!strcmp(s + digits, units[i].unit)) {
			*ms = v * units[i].ms;
			return 0;
		}
	}
	return -EINVAL;
}

int aur_cli_parse_time_ms(const char *s, long long now_ms, long long *ms)
{
	long long ago;

	if (aur_cli_parse_duration_ms(s, &ago) == 0) {
		*ms = now_ms - ago;
		return 0;
	}
	return aur_time_parse_ms(s, ms) == 0 ? 0 : -EINVAL;
}

int aur_cli_exit_code(int err)
{
	switch (err) {
	case 0:
		return AUR_EXIT_OK;
	case -ENOENT:
		return AUR_EXIT_REJECTED;
	case -EINVAL:
	case -EPERM:
	case -E2BIG:
		return AUR_EXIT_DATAERR;
	case -ENOMEM:
		return AUR_EXIT_SOFTWARE;
	case -EBUSY:
	case -EAGAIN:
	case -ETIMEDOUT:
	case -ENOSPC: /* aurora(7): the disk is full is temporary */
		return AUR_EXIT_TEMPFAIL;
	case -ENODATA: /* not an aurora database (aur_db_open) */
	case -ENOEXEC:
		return AUR_EXIT_CONFIG;
	default:
		return AUR_EXIT_IOERR;
	}
}

#define CLI_MAX_OPTS 32

static const char *long_name(const struct option *opts, int code)
{
	for (size_t i = 0; opts[i].name; i++)
		if (opts[i].val == code)
			return opts[i].name;
	return "?";
}

/* The getopt short string: "-qvh" and each of the spec's letters with ':' when it takes a value. */
static int short_string(const struct aur_cli_spec *spec, char *out, size_t outlen)
{
	size_t n = 0;

	n += (size_t)snprintf(out, outlen, "-qvh");
	for (size_t i = 0; spec->shorts && spec->shorts[i].letter; i++) {
		const struct option *o = NULL;

		for (size_t j = 0; spec->longopts[j].name && !o; j++)
			if (spec->longopts[j].val == spec->shorts[i].code)
				o = &spec->longopts[j];
		if (!o || n + 3 >= outlen)
			return -EINVAL;
		out[n++] = (char)spec->shorts[i].letter;
		if (o->has_arg == required_argument)
			out[n++] = ':';
		out[n] = '\0';
	}
	return 0;
}

/* The long code of short letter c, or 0. */
static int short_code(const struct aur_cli_spec *spec, int c)
{
	for (size_t i = 0; spec->shorts && spec->shorts[i].letter; i++)
		if (spec->shorts[i].letter == c)
			return spec->shorts[i].code;
	return 0;
}

/* Keep an argument: in all (when given) and the first AUR_CLI_MAX_ARGS in cli->args. 1 when it fits nowhere. */
static int add_arg(struct aur_cli *cli, const char **all, const char *arg)
{
	if (all)
		all[cli->nargs] = arg;
	if (cli->nargs < AUR_CLI_MAX_ARGS)
		cli->args[cli->nargs] = arg;
	else if (!all)
		return 1;
	cli->nargs++;
	return 0;
}

/* 1 when word names one of the spec's commands. */
static int names_command(const struct aur_cli_spec *spec, const char *word)
{
	for (size_t i = 0; i < spec->ncmds; i++)
		if (spec->cmds[i].name && !strcmp(spec->cmds[i].name, word))
			return 1;
	return 0;
}

/* 1 when the spec has a command without a name: the default. */
static int has_default(const struct aur_cli_spec *spec)
{
	for (size_t i = 0; i < spec->ncmds; i++)
		if (!spec->cmds[i].name)
			return 1;
	return 0;
}

/* Check the command named (or the default) and what it was given. */
static int check_command(struct aur_cli *cli, const struct aur_cli_spec *spec, const char *name,
			 unsigned long seen, int extra, char *err, size_t errlen)
{
	const char *what = name ? name : "it";

	for (size_t i = 0; i < spec->ncmds && !cli->cmd; i++)
		if (name ? spec->cmds[i].name && !strcmp(spec->cmds[i].name, name) : !spec->cmds[i].name)
			cli->cmd = &spec->cmds[i];
	if (!cli->cmd) {
		snprintf(err, errlen, "unknown command '%s'", what);
		return -EINVAL;
	}
	for (int b = 0; b < CLI_MAX_OPTS; b++) {
		if ((seen & (1ul << b)) && !((cli->cmd->options | spec->global) & (1ul << b))) {
			if (name)
				snprintf(err, errlen, "%s does not take --%s", name,
					 long_name(spec->longopts, AUR_CLI_BASE + b));
			else
				snprintf(err, errlen, "--%s goes with a command",
					 long_name(spec->longopts, AUR_CLI_BASE + b));
			return -EINVAL;
		}
	}
	if (extra || cli->nargs < cli->cmd->min_args ||
	    (cli->cmd->max_args >= 0 && cli->nargs > cli->cmd->max_args)) {
		if (!name && cli->nargs > cli->cmd->max_args && cli->cmd->max_args < AUR_CLI_MAX_ARGS)
			snprintf(err, errlen, "unexpected argument '%s'", cli->args[cli->cmd->max_args]);
		else if (cli->cmd->max_args == 0)
			snprintf(err, errlen, "%s takes no arguments", what);
		else
			snprintf(err, errlen, "%s: wrong number of arguments", what);
		return -ERANGE;
	}
	return 0;
}

int aur_cli_parse_spec(struct aur_cli *cli, const char **all_args, int argc, char **argv,
		       const struct aur_cli_spec *spec, void (*set)(int code, const char *arg, void *ctx), void *ctx, char *err, size_t errlen)
{
	static const struct option none[] = { { NULL, 0, NULL, 0 } };
	static const struct option common[] = {
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
	};
	const struct option *longopts = spec->longopts ? spec->longopts : none;
	struct aur_cli_spec s = *spec;
	struct option all[CLI_MAX_OPTS + 5];
	char shorts[3 * CLI_MAX_OPTS + 8];
	unsigned long seen = 0;
	int dflt = has_default(spec);
	int first = 1; /* the first word: a command's name, or with a default its first argument */
	const char *name = NULL;
	int extra = 0;
	size_t n = 0;
	int c;

	memset(cli, 0, sizeof(*cli));
	cli->log_level = -1;
	s.longopts = longopts;
	for (; longopts[n].name; n++) {
		if (n >= CLI_MAX_OPTS || longopts[n].val < AUR_CLI_BASE ||
		    longopts[n].val >= AUR_CLI_BASE + CLI_MAX_OPTS) {
			snprintf(err, errlen, "internal: bad option table");
			return -EINVAL;
		}
		all[n] = longopts[n];
	}
	if (short_string(&s, shorts, sizeof(shorts)) < 0) {
		snprintf(err, errlen, "internal: bad short option table");
		return -EINVAL;
	}
	for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
		all[n++] = common[i];
	memset(&all[n], 0, sizeof(all[n]));
	opterr = 0;
	optind = 0;
	/* "-": every argument in order, non-options as code 1, wherever they stand */
	while ((c = getopt_long(argc, argv, shorts, all, NULL)) != -1) {
		if (c > 0 && c < AUR_CLI_BASE && short_code(&s, c))
			c = short_code(&s, c);
		if (c == 1 && first && (!dflt || names_command(&s, optarg))) {
			name = optarg;
			first = 0;
		} else if (c == 1) {
			first = 0;
			extra += add_arg(cli, all_args, optarg);
		} else if (c == 'q') {
			cli->log_level = AUR_LOG_ERROR;
		} else if (c == 'v') {
			cli->log_level = cli->log_level < AUR_LOG_INFO ? AUR_LOG_INFO : AUR_LOG_DEBUG;
		} else if (c == 'h') {
			cli->help = 1;
		} else if (c == 'V') {
			cli->version = 1;
		} else if (c >= AUR_CLI_BASE) {
			seen |= AUR_CLI_OPT(c);
			if (set)
				set(c, optarg, ctx);
		} else if (optopt >= AUR_CLI_BASE) {
			snprintf(err, errlen, "--%s needs a value", long_name(longopts, optopt));
			return -EINVAL;
		} else if (optopt && short_code(&s, optopt)) {
			snprintf(err, errlen, "-%c needs a value", optopt);
			return -EINVAL;
		} else {
			snprintf(err, errlen, "unknown option %s", argv[optind - 1]);
			return -EINVAL;
		}
	}
	for (; optind < argc; optind++) { /* after "--" */
		if (first && (!dflt || names_command(&s, argv[optind])))
			name = argv[optind];
		else
			extra += add_arg(cli, all_args, argv[optind]);
		first = 0;
	}
	if (cli->help || cli->version)
		return 0;
	if (!name && !dflt) {
		snprintf(err, errlen, "no command given");
		return -EINVAL;
	}
	return check_command(cli, &s, name, seen, extra, err, errlen);
}

