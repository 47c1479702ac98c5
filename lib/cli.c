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
	case -EBUSY:
	case -EAGAIN:
	case -ETIMEDOUT:
	case -ENOSPC: /* aurora(7): the disk is full is temporary */
		return AUR_EXIT_TEMPFAIL;
	case -ENOMEM:
		return AUR_EXIT_SOFTWARE;
	case -EINVAL:
		return AUR_EXIT_DATAERR;
	case -ENODATA: /* not an aurora database (aur_db_open) */
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

int aur_cli_parse(struct aur_cli *cli, int argc, char **argv, const struct option *longopts,
		  const struct aur_cli_command *cmds, size_t ncmds,
		  void (*set)(int code, const char *arg, void *ctx), void *ctx, char *err, size_t errlen)
{
	static const struct option common[] = {
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
	};
	struct option all[CLI_MAX_OPTS + 5];
	unsigned long seen = 0;
	const char *name = NULL;
	int extra = 0;
	size_t n = 0;
	int c;

	memset(cli, 0, sizeof(*cli));
	cli->log_level = -1;
	for (; longopts[n].name; n++) {
		if (n >= CLI_MAX_OPTS || longopts[n].val < AUR_CLI_BASE ||
		    longopts[n].val >= AUR_CLI_BASE + CLI_MAX_OPTS) {
			snprintf(err, errlen, "internal: bad option table");
			return -EINVAL;
		}
		all[n] = longopts[n];
	}
	for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
		all[n++] = common[i];
	memset(&all[n], 0, sizeof(all[n]));
	opterr = 0;
	optind = 0;
	/* "-": every argument in order, non-options as code 1, wherever they stand */
	while ((c = getopt_long(argc, argv, "-qvh", all, NULL)) != -1) {
		if (c == 1 && !name) {
			name = optarg;
		} else if (c == 1) {
			if (cli->nargs < AUR_CLI_MAX_ARGS)
				cli->args[cli->nargs++] = optarg;
			else
				extra++;
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
			set(c, optarg, ctx);
		} else if (optopt >= AUR_CLI_BASE) {
			snprintf(err, errlen, "--%s needs a value", long_name(longopts, optopt));
			return -EINVAL;
		} else {
			snprintf(err, errlen, "unknown option %s", argv[optind - 1]);
			return -EINVAL;
		}
	}
	for (; optind < argc; optind++) { /* after "--" */
		if (!name)
			name = argv[optind];
		else if (cli->nargs < AUR_CLI_MAX_ARGS)
			cli->args[cli->nargs++] = argv[optind];
		else
			extra++;
	}
	if (cli->help || cli->version)
		return 0;
	if (!name) {
		snprintf(err, errlen, "no command given");
		return -EINVAL;
	}
	for (size_t i = 0; i < ncmds && !cli->cmd; i++)
		if (!strcmp(cmds[i].name, name))
			cli->cmd = &cmds[i];
	if (!cli->cmd) {
		snprintf(err, errlen, "unknown command '%s'", name);
		return -EINVAL;
	}
	for (int b = 0; b < CLI_MAX_OPTS; b++) {
		if ((seen & (1ul << b)) && !(cli->cmd->options & (1ul << b))) {
			snprintf(err, errlen, "%s does not take --%s", name, long_name(longopts, AUR_CLI_BASE + b));
			return -EINVAL;
		}
	}
	if (extra || cli->nargs < cli->cmd->min_args || cli->nargs > cli->cmd->max_args) {
		if (cli->cmd->max_args == 0)
			snprintf(err, errlen, "%s takes no arguments", name);
		else
			snprintf(err, errlen, "%s: wrong number of arguments", name);
		return -EINVAL;
	}
	return 0;
}
