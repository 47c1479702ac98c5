/*
 * aurora-correlate - alert records in, incidents in the store, decisions out.
 *
 * Reads alert (and note) records, one per line, from standard input; for
 * each, in one transaction, dedups, correlates and writes alerts, incidents,
 * incident_alerts and events; prints one decision record per input record.
 * Bad lines are reported and skipped. The loop is lib/correlate_run.c's;
 * catalog checks a service catalog (catalog.h), backtest replays the inbox
 * with two settings (backtest.h). See aurora-correlate(1).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jq.h>

#include "backtest.h"
#include "buf.h"
#include "catalog.h"
#include "cli.h"
#include "cmd.h"
#include "correlate.h"
#include "correlate_opts.h"
#include "correlate_run.h"
#include "db.h"
#include "exitcodes.h"
#include "jsonl.h"
#include "log.h"
#include "resume.h"
#include "timeutil.h"
#include "banned.h"

#define PROG "aurora-correlate"

static const char usage_short[] =
	"usage: aurora-correlate catalog PATH [[TOOL:]NAME...]\n"
	"       aurora-correlate [--db PATH] [--catalog PATH] [correlation settings]\n"
	"                        [--sync full|normal] [--mark STAGE | --no-mark] [--strict]\n"
	"                        [-q|-v] < alerts\n"
	"       aurora-correlate backtest [--db PATH] [--from ID|TIME] [--to ID|TIME]\n"
	"                        [--a SETTING[=VALUE]]... [--b SETTING[=VALUE]]... [--warmup DUR]\n"
	"                        [--mappings DIR] [--text]\n"
	"       (aurora-correlate --help lists the correlation settings)\n";

static const char usage_head[] =
	"aurora-correlate - alert records into incidents\n"
	"\n"
	"Reads alert records (aurora-normalize's output) on standard input and writes one\n"
	"decision record per input record on standard output: the alert plus incident_id,\n"
	"action (created|attached|deduplicated|resolved|logged) and correlation\n"
	"{strategy, score, matched_incident, reason}.\n"
	"\n"
	"aurora-correlate catalog PATH checks a service catalog (Backstage YAML, an\n"
	"aliases file or a directory of them): one component record per line; with\n"
	"names, the component each resolves to (TOOL: pagerduty, datadog, dynatrace,\n"
	"kubernetes, grafana).\n"
	"\n"
	"aurora-correlate backtest replays a stretch of the inbox with two settings\n"
	"(see BACKTEST below and in aurora-correlate(1)) and prints what would change.\n"
	"\n"
	"Options:\n"
	"  --db PATH            database (default $AURORA_DB, else ./aurora.db)\n"
	"  --catalog PATH       service catalog: Backstage catalog-info YAML, an aliases\n"
	"                       file, or a directory of them (names, dependencies)\n";

/* after the correlation settings, which --help prints from their table */
static const char usage_tail[] =
	"  --sync full|normal   SQLite synchronous level (normal: the inbox is the durable\n"
	"                       record; decisions can be replayed from it)\n"
	"  --busy-timeout MS    give up on a locked database after MS (5000)\n"
	"  --mark STAGE         the resume point this run moves: the highest inbox id\n"
	"                       whose decisions are committed and printed (default\n"
	"                       correlate, where aurora-inbox follow resumes)\n"
	"  --no-mark            move no resume point: for replays of old deliveries into\n"
	"                       a database a live pipeline also feeds\n"
	"  --strict             exit 65 instead of 1 when records were rejected\n"
	"  -q, -v               fewer or more diagnostics\n"
	"  -h, --help           this text\n"
	"      --version        print the version\n"
	"\n"
	"Environment: AURORA_DB; AURORA_EMBED_URL, AURORA_EMBED_MODEL, AURORA_EMBED_KEY for\n"
	"an OpenAI-compatible embeddings endpoint in place of the built-in vectorizer.\n"
	"Exit: 0 ok, 1 some records rejected, 2 usage, 65 rejected under --strict,\n"
	"74 I/O error, 75 database busy, 78 the catalog cannot be loaded; 0 also when\n"
	"the reader of standard output went away (a pipeline's next stage died: it is\n"
	"restarted from the resume point).\n"
	"catalog: 1 a name not known, 66 no such path, 78 a catalog that does not load.\n"
	"\n"
	"BACKTEST: aurora-correlate backtest [options], read-only on the database:\n"
	"  --from ID|TIME       first inbox id, or received at or after TIME (RFC 3339,\n"
	"                       or a duration ago: 2h, 7d); default 24h\n"
	"  --to ID|TIME         last inbox id, or received before TIME; default: the newest\n"
	"  --warmup DUR         replay DUR before the range first, not compared, so that\n"
	"                       incidents open at its start exist (default: the window)\n"
	"  --a SETTING[=VALUE]  a setting of the baseline A (default: the defaults), by\n"
	"                       the option names above without --: --a window=10m\n"
	"  --b SETTING[=VALUE]  a setting of the candidate B: --b threshold=0.8\n"
	"  --mappings DIR       the operator's mappings, as aurora-normalize ($AURORA_MAPPINGS)\n"
	"  --text               a table for people instead of JSON lines\n"
	"  Exit: 0 ok, 2 usage, 65 a bad setting, 66 no such database, 74 I/O error,\n"
	"  75 database busy, 78 not an aurora database or mappings that do not load.\n";

enum {
	O_DB = AUR_CLI_BASE, O_CATALOG, O_SYNC, O_BUSY, O_MARK, O_NO_MARK, O_STRICT, O_FROM, O_TO, O_A, O_B,
	O_MAPPINGS, O_TEXT, O_WARMUP,
	O_SETTING /* + the index of a correlation setting (correlate_opts.h) */
};

#define OWN_OPTIONS (O_SETTING - O_DB)
#define MAX_OPTIONS 32

/* What ctx->opt[] cannot hold: the order of --mark and --no-mark, every --a and --b. */
struct opts {
	struct aur_correlate_config cfg;
	const char *stage;
	struct aur_backtest_options bt;
	struct aur_backtest_side side[2];
	char bad[1100]; /* the first --a or --b that did not parse, or a bad --mark */
	int bad_exit;
};

static void set_opt(struct aur_cmd_ctx *ctx, int code, const char *arg)
{
	struct opts *o = ctx->opts;
	char err[1024];

	if (code == O_MARK && (!*arg || strlen(arg) > 64) && !o->bad[0]) {
		snprintf(o->bad, sizeof(o->bad), "--mark: a stage name of 1 to 64 characters");
		o->bad_exit = AUR_EXIT_USAGE;
	}
	if (code == O_MARK || code == O_NO_MARK)
		o->stage = code == O_MARK ? arg : NULL;
	if ((code == O_A || code == O_B) && aur_backtest_side_set(&o->side[code == O_B], arg, err, sizeof(err)) < 0 &&
	    !o->bad[0]) {
		snprintf(o->bad, sizeof(o->bad), "backtest: --%s %s", code == O_B ? "b" : "a", err);
		o->bad_exit = AUR_EXIT_DATAERR;
	}
}

/* The embeddings endpoint of the environment, when one is set. */
static void embed_env(struct aur_correlate_config *cfg)
{
	cfg->embed_url = getenv("AURORA_EMBED_URL");
	cfg->embed_model = getenv("AURORA_EMBED_MODEL");
	cfg->embed_key = getenv("AURORA_EMBED_KEY");
	if (cfg->embed_url && !*cfg->embed_url)
		cfg->embed_url = NULL;
}

/* backtest --from and --to: an inbox id or a time each. 0, or a usage error. */
static int range(struct aur_cmd_ctx *ctx, struct opts *o)
{
	long long now = aur_time_now_ms();

	for (int end = 0; end < 2; end++) {
		int is_id;
		long long v;

		const char *arg = aur_cmd_opt(ctx, end ? O_TO : O_FROM);

		if (!arg && end)
			continue;
		if (aur_backtest_parse_point(arg ? arg : "24h", now, &is_id, &v) < 0)
			return aur_cmd_usage(ctx, "backtest: --%s: '%s' is not an inbox id or a time", end ? "to" : "from",
					     arg);
		if (is_id)
			*(end ? &o->bt.to_id : &o->bt.from_id) = v;
		else
			*(end ? &o->bt.until_ms : &o->bt.since_ms) = v;
	}
	return 0;
}

/* The values of the options: settings into the configuration, the rest into the front door's and backtest's. */
static int check(struct aur_cmd_ctx *ctx)
{
	const struct aur_correlate_option *s;
	struct opts *o = ctx->opts;
	const char *v;
	char err[1024];
	long long n;

	if (o->bad[0] && o->bad_exit == AUR_EXIT_USAGE)
		return aur_cmd_usage(ctx, "%s", o->bad);
	if (o->bad[0])
		return aur_err("%s", o->bad), o->bad_exit;
	for (size_t i = 0; (s = aur_correlate_option_at(i)) != NULL; i++)
		if ((v = aur_cmd_opt(ctx, O_SETTING + (int)i)) &&
		    aur_correlate_config_set(&o->cfg, s->name, s->value ? v : NULL, err, sizeof(err)) < 0)
			return aur_cmd_usage(ctx, "%s", err);
	if ((v = aur_cmd_opt(ctx, O_SYNC)) && strcmp(v, "full") != 0 && strcmp(v, "normal") != 0)
		return aur_cmd_usage(ctx, "--sync: '%s' is not full or normal", v);
	ctx->dbo.synchronous_full = v && !strcmp(v, "full");
	if ((v = aur_cmd_opt(ctx, O_BUSY)) && aur_cli_parse_ll(v, 1, 3600000, &n) < 0)
		return aur_cmd_usage(ctx, "--busy-timeout: '%s' is not milliseconds", v);
	if (v)
		ctx->dbo.busy_timeout_ms = o->cfg.busy_ms = (int)n;
	if ((v = aur_cmd_opt(ctx, O_WARMUP)) && strcmp(v, "0") != 0 && aur_cli_parse_duration_ms(v, &o->bt.warmup_ms) < 0)
		return aur_cmd_usage(ctx, "backtest: --warmup: '%s' is not a duration (0, 30m, 12h)", v);
	if (v && !strcmp(v, "0"))
		o->bt.warmup_ms = 0;
	if ((v = aur_cmd_opt(ctx, O_MAPPINGS)))
		o->bt.mappings_dir = v;
	embed_env(&o->cfg);
	for (int side = 0; side < 2; side++)
		embed_env(&o->side[side].cfg);
	return ctx->cmd->name && !strcmp(ctx->cmd->name, "backtest") ? range(ctx, o) : 0;
}

static void log_line(int level, const char *msg)
{
	aur_log(level, "%s", msg);
}

/* The correlation of standard input, through the store at ctx->db. */
static int run_correlate(struct aur_cmd_ctx *ctx)
{
	struct opts *o = ctx->opts;
	struct aur_correlate_run r = { 0 };
	struct aur_catalog *catalog = NULL;
	struct aur_jsonl_reader in;
	struct aur_jsonl_writer out;
	char err[1024] = "";
	int rc = AUR_EXIT_CONFIG;

	aur_jsonl_reader_init(&in, stdin, 0);
	if (aur_cmd_opt(ctx, O_CATALOG) && aur_catalog_load(&catalog, aur_cmd_opt(ctx, O_CATALOG), err, sizeof(err)) < 0) {
		aur_err("--catalog: %s", err);
		goto out;
	}
	o->cfg.catalog = catalog;
	/* candidates, alerts and incidents stay in memory as the store grows */
	aur_db_exec(ctx->db, "PRAGMA cache_size = -65536", NULL, 0);
	rc = aur_correlator_new(&r.corr, ctx->db, &o->cfg, err, sizeof(err));
	if (rc == 0 && o->stage) {
		rc = aur_resume_get(ctx->db, o->stage, &r.marked, err, sizeof(err));
		rc = rc == -ENOENT ? 0 : rc;
	}
	if (rc < 0) {
		rc = aur_cmd_fail(rc == -EBUSY ? rc : -EIO, err);
		goto out;
	}
	aur_jsonl_reader_watch(&in, STDOUT_FILENO);
	aur_jsonl_writer_init(&out, ctx->out, -1);
	r.db = ctx->db;
	r.busy_ms = ctx->dbo.busy_timeout_ms;
	r.silence_ms = o->cfg.heartbeat_silence_ms;
	r.in = &in;
	r.out = &out;
	r.stage = o->stage;
	r.stop = aur_cmd_stop_flag();
	r.log = log_line;
	rc = aur_correlate_run(&r);
	if (rc == -EPIPE) {
		aur_info("the reader of standard output went away: stopping");
		aur_correlator_flush(r.corr, err, sizeof(err));
		rc = AUR_CMD_GONE;
		goto out;
	}
	rc = rc < 0 ? aur_cli_exit_code(rc) : AUR_EXIT_OK;
	if (aur_correlator_flush(r.corr, err, sizeof(err)) < 0) {
		aur_err("saving vectorizer statistics: %s", err);
		if (rc == AUR_EXIT_OK)
			rc = AUR_EXIT_TEMPFAIL;
	}
	if (rc == AUR_EXIT_OK && r.rejected) {
		aur_warn("%lu record%s rejected", r.rejected, r.rejected == 1 ? "" : "s");
		rc = aur_cmd_opt(ctx, O_STRICT) ? AUR_EXIT_DATAERR : AUR_EXIT_REJECTED;
	}
out:
	aur_correlator_free(r.corr);
	aur_catalog_free(catalog);
	aur_jsonl_reader_release(&in);
	return rc;
}

static void catalog_note(const char *msg)
{
	aur_warn("%s", msg);
}

/* catalog PATH [NAME...]: the check of a catalog (aur_catalog_check). */
static int run_catalog(struct aur_cmd_ctx *ctx)
{
	char err[1024];
	int rc;

	rc = aur_catalog_check(ctx->args[0], (char *const *)(ctx->args + 1), (size_t)(ctx->nargs - 1), ctx->out,
			       catalog_note, err, sizeof(err));
	if (rc < 0)
		aur_err("%s", err);
	if (rc == -ENOENT || rc == -EACCES)
		return AUR_EXIT_NOINPUT;
	if (rc == -EIO)
		return AUR_EXIT_IOERR;
	if (rc > 0)
		return AUR_EXIT_REJECTED; /* names the catalog does not know */
	return rc < 0 ? AUR_EXIT_CONFIG : AUR_EXIT_OK;
}

static void backtest_note(const char *msg, void *arg)
{
	(void)arg;
	aur_info("%s", msg);
}

/* backtest: the options here, the work in backtest.h. */
static int run_backtest(struct aur_cmd_ctx *ctx)
{
	struct opts *o = ctx->opts;
	/* backtest.h only reads the flag */
	volatile sig_atomic_t *stop = (volatile sig_atomic_t *)aur_cmd_stop_flag();
	struct aur_backtest *res = NULL;
	char err[1024];
	int rc;

	o->bt.db_path = ctx->db_path;
	o->bt.stop = stop;
	o->bt.note = backtest_note;
	rc = aur_backtest_run(&o->bt, &o->side[0], &o->side[1], &res, err, sizeof(err));
	if (rc == 0 && *stop) {
		/* the signal came after the last record: the scratch files are gone all the same */
		aur_backtest_free(res);
		snprintf(err, sizeof(err), "stopped");
		rc = -EINTR;
	}
	if (rc < 0) {
		aur_err("%s%s", err, rc == -ENOENT ? " (check --db and AURORA_DB)" : "");
		if (rc == -EINTR && *stop) {
			/* the scratch files are gone: end the way the signal asked */
			signal((int)*stop, SIG_DFL);
			raise((int)*stop);
		}
		return rc == -ENOENT ? AUR_EXIT_NOINPUT : aur_cli_exit_code(rc);
	}
	rc = aur_cmd_opt(ctx, O_TEXT) ? aur_backtest_write_text(res, ctx->out) : aur_backtest_write_json(res, ctx->out);
	aur_backtest_free(res);
	return rc < 0 ? aur_cmd_write_failed() : AUR_EXIT_OK;
}

/* --help: the head, one line per correlation setting from its table, the tail. */
static const char *help_text(struct aur_buf *b)
{
	aur_buf_init(b, 0);
	aur_buf_adds(b, usage_head);
	aur_correlate_options_help(b);
	aur_buf_adds(b, usage_tail);
	return b->data;
}

/* The command's own options, then one per correlation setting (their bits in *settings). */
static void options(struct option *opts, unsigned long *settings)
{
	static const struct option own[OWN_OPTIONS] = {
		{ "db", required_argument, NULL, O_DB }, { "catalog", required_argument, NULL, O_CATALOG },
		{ "sync", required_argument, NULL, O_SYNC }, { "busy-timeout", required_argument, NULL, O_BUSY },
		{ "mark", required_argument, NULL, O_MARK }, { "no-mark", no_argument, NULL, O_NO_MARK },
		{ "strict", no_argument, NULL, O_STRICT }, { "from", required_argument, NULL, O_FROM },
		{ "to", required_argument, NULL, O_TO }, { "a", required_argument, NULL, O_A },
		{ "b", required_argument, NULL, O_B }, { "mappings", required_argument, NULL, O_MAPPINGS },
		{ "text", no_argument, NULL, O_TEXT }, { "warmup", required_argument, NULL, O_WARMUP },
	};
	size_t n;

	memcpy(opts, own, sizeof(own));
	n = aur_correlate_options_getopt(opts, OWN_OPTIONS, MAX_OPTIONS + 1, O_SETTING);
	*settings = 0;
	for (size_t i = OWN_OPTIONS; i < n; i++)
		*settings |= AUR_CLI_OPT(opts[i].val);
}

#define OPT(x) AUR_CLI_OPT(O_##x)

int main(int argc, char **argv)
{
	static struct option longopts[MAX_OPTIONS + 1];
	static struct aur_cmd cmds[] = {
		{ NULL, OPT(CATALOG) | OPT(SYNC) | OPT(BUSY) | OPT(MARK) | OPT(NO_MARK) | OPT(STRICT), 0, 0,
		  NULL, AUR_CMD_DB_CREATE, AUR_CMD_STREAM, run_correlate },
		{ "catalog", 0, 1, -1, NULL, AUR_CMD_DB_NONE, 0, run_catalog },
		{ "backtest", OPT(FROM) | OPT(TO) | OPT(A) | OPT(B) | OPT(MAPPINGS) | OPT(TEXT) | OPT(WARMUP), 0, 0,
		  NULL, AUR_CMD_DB_NONE, 0, run_backtest },
	};
	static struct aur_buf help;
	static struct opts o;
	struct aur_cmd_program program = {
		.name = PROG, .usage = usage_short, .longopts = longopts, .db_option = O_DB, .cmds = cmds,
		.ncmds = sizeof(cmds) / sizeof(cmds[0]), .flags = AUR_CMD_STOP_FLAG, .opts = &o, .set = set_opt,
		.check = check,
	};
	unsigned long settings;

	program.help = help_text(&help);
	options(longopts, &settings);
	cmds[0].options |= settings;
	aur_correlate_config_init(&o.cfg);
	o.stage = AUR_RESUME_DEFAULT_STAGE;
	aur_backtest_options_init(&o.bt);
	aur_backtest_side_init(&o.side[0]);
	aur_backtest_side_init(&o.side[1]);
	o.bt.mappings_dir = getenv("AURORA_MAPPINGS");
	return aur_cmd_main(&program, argc, argv);
}
