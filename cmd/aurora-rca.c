/*
 * aurora-rca - decision records in, investigations started, findings out.
 *
 * Reads decision records (aurora-correlate's output) on standard input; for
 * each newly created incident it claims an investigation (rca_state
 * running, committed) and runs it in a child process, at most -j at a
 * time, so reading never waits for one. Children write their steps to the
 * store as they make them and pass thought, suggestion and analysis
 * records back through a pipe; this process prints them. At the end of
 * input it waits for every investigation. The options are read here, the
 * front door is lib/cmd.c, the loop is rca_dispatch.c. See aurora-rca(1).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "cli.h"
#include "cmd.h"
#include "db.h"
#include "exitcodes.h"
#include "investigate.h"
#include "jsonl.h"
#include "log.h"
#include "rca_dispatch.h"
#include "banned.h"

#define PROG "aurora-rca"

static const char usage_text[] =
	"usage: aurora-rca [--db PATH] [--investigator builtin|llm] [--config FILE] [--catalog PATH]\n"
	"                  [-j N] [--timeout DUR] [--rate N/DUR] [--lookback DUR] [--fetch-timeout DUR]\n"
	"                  [--busy-timeout MS] [--sync full|normal] [--mark STAGE | --no-mark] [--pass]\n"
	"                  [--strict] [-q|-v] < decisions\n";

static const char help_text[] =
	"aurora-rca - investigate every new incident\n"
	"\n"
	"Reads decision records (aurora-correlate's output) on standard input. Each\n"
	"incident a decision created is investigated in a child process; its thoughts,\n"
	"suggestions and root cause go to the store as they are found, and thought,\n"
	"suggestion and analysis records are printed. At the end of its input it waits\n"
	"for the investigations still running.\n"
	"\n"
	"Options:\n"
	"  --db PATH             database (default $AURORA_DB, else ./aurora.db)\n"
	"  --investigator NAME   builtin (default), or llm (needs --config)\n"
	"  --config FILE         the LLM investigator's settings (default $AURORA_RCA_CONFIG)\n"
	"  --catalog PATH        service catalog (Backstage catalog-info YAML, an aliases\n"
	"                        file, or a directory of them): components and dependencies\n"
	"  -j, --jobs N          investigations at once (default 2)\n"
	"  --timeout DUR         stop an investigation after DUR: rca_state error (60s)\n"
	"  --rate N/DUR          at most N investigations started per DUR (30/10m)\n"
	"  --lookback DUR        builds and deploys this long before the first alert (2h)\n"
	"  --fetch-timeout DUR   reading a build's console from Jenkins or CloudBees: the\n"
	"                        most one read may take, connecting included (5s); 0s: none\n"
	"  --busy-timeout MS     give up on a locked database after MS (5000)\n"
	"  --sync full|normal    SQLite synchronous level (normal: an investigation's steps\n"
	"                        are not the durable record; one a power loss cuts short is\n"
	"                        restarted from the resume point)\n"
	"  --mark STAGE          the resume point this run moves (default rca)\n"
	"  --no-mark             move no resume point\n"
	"  --pass                print every record read too, before what it leads to: one\n"
	"                        stream of decisions and investigations (make run's log)\n"
	"  --strict              exit 65 instead of 1 when records were rejected\n"
	"  -q, -v                fewer or more diagnostics\n"
	"  -h, --help            this text\n"
	"      --version         print the version\n"
	"\n"
	"Exit: 0 ok, 1 some records rejected, 2 usage, 65 rejected under --strict,\n"
	"74 I/O error, 75 database busy or disk full, 78 investigator not available or a\n"
	"catalog that does not load.\n";

enum {
	O_DB = AUR_CLI_BASE, O_INV, O_TIMEOUT, O_RATE, O_LOOKBACK, O_BUSY, O_MARK, O_NO_MARK, O_PASS, O_STRICT,
	O_CONFIG, O_FETCH_TIMEOUT, O_SYNC_LEVEL, O_CATALOG, O_JOBS
};

struct opts {
	struct aur_rca_settings r;
	struct aur_inv_llm *llm;         /* loaded by check(), freed by release() */
	struct aur_catalog *catalog;
	const char *v[O_JOBS - O_DB + 1]; /* each option's value, by code - O_DB ("1" for a flag) */
	int strict;
};

#define OPT(o, code) ((o)->v[(code) - O_DB])

static void set_opt(struct aur_cmd_ctx *ctx, int code, const char *arg)
{
	struct opts *o = ctx->opts;

	OPT(o, code) = arg ? arg : "1";
	if (code == O_MARK)
		OPT(o, O_NO_MARK) = NULL;
	else if (code == O_NO_MARK)
		OPT(o, O_MARK) = NULL;
}

static int parse_rate(const char *s, long long *n, long long *ms)
{
	const char *slash = strchr(s, '/');
	char num[32];

	if (!slash || slash == s || (size_t)(slash - s) >= sizeof(num))
		return -EINVAL;
	snprintf(num, sizeof(num), "%.*s", (int)(slash - s), s);
	if (aur_cli_parse_ll(num, 1, 100000, n) < 0 || aur_cli_parse_duration_ms(slash + 1, ms) < 0 || *ms <= 0)
		return -EINVAL;
	return 0;
}

/* A duration option of at least 1 ms: 0, or a usage error. */
static int duration(struct aur_cmd_ctx *ctx, const char *name, const char *v, long long *ms)
{
	if (v && (aur_cli_parse_duration_ms(v, ms) < 0 || *ms <= 0))
		return aur_cmd_usage(ctx, "%s: '%s' is not a duration (like 90s, 5m, 1h)", name, v);
	return 0;
}

/* The LLM investigator's settings and the service catalog: 0, or 78 with the reason logged. */
static int load(struct opts *o)
{
	const char *config = OPT(o, O_CONFIG);
	char err[1024];

	if (!config || !*config)
		config = getenv("AURORA_RCA_CONFIG");
	if (!strcmp(o->r.inv->name, "llm")) {
		if (!config || !*config) {
			aur_err("--investigator llm: no LLM configuration: give --config FILE or set AURORA_RCA_CONFIG");
			return AUR_EXIT_CONFIG;
		}
		if (aur_inv_llm_load(config, &o->llm, err, sizeof(err)) < 0) {
			aur_err("--config: %s", err);
			return AUR_EXIT_CONFIG;
		}
		o->r.io.llm = o->llm;
	}
	/* loaded once, before any child: every investigation reads the same graph */
	if (OPT(o, O_CATALOG)) {
		if (aur_catalog_load(&o->catalog, OPT(o, O_CATALOG), err, sizeof(err)) < 0) {
			aur_err("--catalog: %s", err);
			return AUR_EXIT_CONFIG;
		}
		o->r.io.catalog = o->catalog;
	}
	return 0;
}

/* Every option's value, into the settings; the database options for the front door. */
static int check(struct aur_cmd_ctx *ctx)
{
	struct opts *o = ctx->opts;
	struct aur_rca_settings *r = &o->r;
	const char *v;
	long long n;
	int rc;

	if ((v = OPT(o, O_JOBS)) && aur_cli_parse_ll(v, 1, AUR_RCA_JOBS_MAX, &n) < 0)
		return aur_cmd_usage(ctx, "-j: '%s' is not a number from 1 to %d", v, AUR_RCA_JOBS_MAX);
	r->jobs_max = v ? (int)n : r->jobs_max;
	rc = duration(ctx, "--timeout", OPT(o, O_TIMEOUT), &r->timeout_ms);
	if (rc == 0)
		rc = duration(ctx, "--lookback", OPT(o, O_LOOKBACK), &r->io.lookback_ms);
	if (rc != 0)
		return rc;
	if ((v = OPT(o, O_SYNC_LEVEL)) && strcmp(v, "full") != 0 && strcmp(v, "normal") != 0)
		return aur_cmd_usage(ctx, "--sync: '%s' is not full or normal", v);
	r->dbo.synchronous_full = v ? !strcmp(v, "full") : r->dbo.synchronous_full;
	if ((v = OPT(o, O_FETCH_TIMEOUT)) && (aur_cli_parse_duration_ms(v, &n) < 0 || n > 600000))
		return aur_cmd_usage(ctx, "--fetch-timeout: '%s' is not a duration up to 10m (like 5s, 500ms)", v);
	r->io.fetch_timeout_ms = v ? n : r->io.fetch_timeout_ms;
	if ((v = OPT(o, O_RATE)) && parse_rate(v, &r->rate_n, &r->rate_ms) < 0)
		return aur_cmd_usage(ctx, "--rate: '%s' is not N/DURATION (like 30/10m)", v);
	if ((v = OPT(o, O_BUSY)) && aur_cli_parse_ll(v, 1, 3600000, &n) < 0)
		return aur_cmd_usage(ctx, "--busy-timeout: '%s' is not milliseconds", v);
	r->dbo.busy_timeout_ms = v ? (int)n : r->dbo.busy_timeout_ms;
	if ((v = OPT(o, O_MARK)) && (!*v || strlen(v) > 64))
		return aur_cmd_usage(ctx, "--mark: a stage name of 1 to 64 characters");
	r->stage = OPT(o, O_NO_MARK) ? NULL : v ? v : r->stage;
	r->pass = OPT(o, O_PASS) != NULL;
	o->strict = OPT(o, O_STRICT) != NULL;
	v = OPT(o, O_INV) ? OPT(o, O_INV) : "builtin";
	if (aur_investigator_find(v, &r->inv) < 0)
		return aur_cmd_usage(ctx, "--investigator: '%s' is not builtin or llm", v);
	/* for tests: a pause between the built-in investigator's steps (aurora-rca(1)) */
	v = getenv("AURORA_RCA_STEP_DELAY_MS");
	if (v && *v && aur_cli_parse_ll(v, 0, 600000, &n) == 0)
		r->io.step_delay_ms = (int)n;
	ctx->dbo = r->dbo;
	/* a configuration that cannot be used is refused before the database is touched */
	return load(o);
}

static void release(struct aur_cmd_ctx *ctx)
{
	struct opts *o = ctx->opts;

	aur_inv_llm_free(o->llm);
	aur_catalog_free(o->catalog);
	o->llm = NULL;
	o->catalog = NULL;
}

static int run(struct aur_cmd_ctx *ctx)
{
	struct opts *o = ctx->opts;
	struct aur_jsonl_reader in;
	unsigned long rejected = 0;
	int gone = 0;
	int rc;

	aur_jsonl_reader_init(&in, stdin, 0);
	o->r.db_path = ctx->db_path;
	rc = aur_rca_dispatch(&o->r, ctx->db, &in, aur_cmd_stop_flag(), &rejected, &gone);
	if (gone) {
		rc = AUR_CMD_GONE;
	} else if (rc == AUR_EXIT_OK && rejected) {
		aur_warn("%lu record%s rejected", rejected, rejected == 1 ? "" : "s");
		rc = o->strict ? AUR_EXIT_DATAERR : AUR_EXIT_REJECTED;
	}
	aur_jsonl_reader_release(&in);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, O_DB },
		{ "investigator", required_argument, NULL, O_INV },
		{ "config", required_argument, NULL, O_CONFIG },
		{ "catalog", required_argument, NULL, O_CATALOG },
		{ "jobs", required_argument, NULL, O_JOBS },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "rate", required_argument, NULL, O_RATE },
		{ "lookback", required_argument, NULL, O_LOOKBACK },
		{ "fetch-timeout", required_argument, NULL, O_FETCH_TIMEOUT },
		{ "busy-timeout", required_argument, NULL, O_BUSY },
		{ "sync", required_argument, NULL, O_SYNC_LEVEL },
		{ "mark", required_argument, NULL, O_MARK },
		{ "no-mark", no_argument, NULL, O_NO_MARK },
		{ "pass", no_argument, NULL, O_PASS },
		{ "strict", no_argument, NULL, O_STRICT },
		{ NULL, 0, NULL, 0 },
	};
	static const struct aur_cli_short shorts[] = { { 'j', O_JOBS }, { 0, 0 } };
	static const struct aur_cmd cmds[] = {
		{ NULL, ~0ul, 0, 0, NULL, AUR_CMD_DB_CREATE, AUR_CMD_STREAM, run },
	};
	static struct opts o;
	static const struct aur_cmd_program program = {
		.name = PROG, .usage = usage_text, .help = help_text, .longopts = longopts, .shorts = shorts,
		.db_option = O_DB, .cmds = cmds, .ncmds = 1, .flags = AUR_CMD_STOP_FLAG, .opts = &o,
		.set = set_opt, .check = check, .release = release,
	};

	aur_rca_settings_init(&o.r);
	return aur_cmd_main(&program, argc, argv);
}
