/*
 * aurora-correlate - alert records in, incidents in the store, decisions out.
 *
 * Reads alert (and note) records, one per line, from standard input; for
 * each, in one transaction, dedups, correlates and writes alerts, incidents,
 * incident_alerts and events; prints one decision record per input record.
 * Bad lines are reported and skipped. See aurora-correlate(1).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jq.h>

#include "catalog.h"
#include "backtest.h"
#include "cli.h"
#include "catalog.h"
#include "correlate.h"
#include "correlate_opts.h"
#include "db.h"
#include "exitcodes.h"
#include "jsonl.h"
#include "log.h"
#include "resume.h"
#include "timeutil.h"
#include "banned.h"

#define PROG "aurora-correlate"
#define EXIT_GONE (-1) /* internal: stdout's reader went away; exits 0 */

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

enum { O_DB = 256, O_CATALOG, O_SYNC, O_BUSY, O_MARK, O_NO_MARK, O_STRICT, O_VERSION,
       O_SETTING /* + the index of a correlation setting (correlate_opts.h) */ };

#define OWN_OPTIONS 11
#define MAX_SETTINGS 64

static void print_help(void)
{
	const struct aur_correlate_option *o;

	fputs(usage_head, stdout);
	for (size_t i = 0; (o = aur_correlate_option_at(i)) != NULL; i++) {
		char name[64];

		snprintf(name, sizeof(name), "--%s%s%s", o->name, o->value ? " " : "", o->value ? o->value : "");
		if (strlen(name) < 20)
			printf("  %-20s %s\n", name, o->help);
		else
			printf("  %s\n  %-20s %s\n", name, "", o->help);
	}
	fputs(usage_tail, stdout);
}

/* The command's own options, then one per correlation setting. */
static void build_longopts(struct option *opts, size_t max)
{
	static const struct option own[OWN_OPTIONS] = {
		{ "db", required_argument, NULL, O_DB },
		{ "catalog", required_argument, NULL, O_CATALOG },
		{ "sync", required_argument, NULL, O_SYNC },
		{ "busy-timeout", required_argument, NULL, O_BUSY },
		{ "mark", required_argument, NULL, O_MARK },
		{ "no-mark", no_argument, NULL, O_NO_MARK },
		{ "strict", no_argument, NULL, O_STRICT },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, O_VERSION },
		{ NULL, 0, NULL, 0 },
		{ NULL, 0, NULL, 0 },
	};
	const struct aur_correlate_option *o;
	size_t n = 0;

	while (own[n].name)
		opts[n] = own[n], n++;
	for (size_t i = 0; n + 1 < max && (o = aur_correlate_option_at(i)) != NULL; i++, n++)
		opts[n] = (struct option){ o->name, o->value ? required_argument : no_argument, NULL,
					   O_SETTING + (int)i };
	opts[n] = (struct option){ NULL, 0, NULL, 0 };
}

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/*
 * Records that are already waiting share one transaction (at most BATCH_MAX,
 * never waiting for more input), so a burst costs one commit instead of one
 * per record; a lone record is committed at once. Decisions are printed
 * only after their commit, and the pipeline's resume point (resume.h) moves
 * only after they are printed: a crash anywhere leaves the deliveries in
 * flight to be read again, never skipped.
 */
#define BATCH_MAX 128
#define EXTRA_MAX 16 /* decisions a record's silence check can add */

struct progress {
	const char *stage;  /* the mark this process moves */
	long long batch;    /* highest delivery complete in the open batch */
	long long marked;   /* the mark as last committed */
};

static int flush_batch(struct aur_correlator *corr, struct aur_jsonl_writer *out, jv *batch, size_t *n,
		       int open)
{
	char err[1024];
	int rc = AUR_EXIT_OK;

	if (open && aur_correlator_commit(corr, err, sizeof(err)) < 0) {
		aur_err("committing %zu decision%s: %s", *n, *n == 1 ? "" : "s", err);
		rc = AUR_EXIT_TEMPFAIL;
	}
	for (size_t i = 0; i < *n; i++) {
		if (rc == AUR_EXIT_OK && aur_jsonl_write(out, batch[i]) < 0) {
			rc = errno == EPIPE ? EXIT_GONE : AUR_EXIT_IOERR;
			continue;
		}
		if (rc != AUR_EXIT_OK)
			jv_free(batch[i]);
	}
	/* a live pipeline sees each batch at once, even when stdout is a file */
	if (rc == AUR_EXIT_OK && *n && fflush(stdout) != 0)
		rc = errno == EPIPE ? EXIT_GONE : AUR_EXIT_IOERR;
	if (rc == AUR_EXIT_IOERR)
		aur_err("writing standard output: %s", strerror(errno));
	*n = 0;
	return rc;
}

/*
 * The batch is committed and printed: move the mark past its complete
 * deliveries, in a transaction of its own. A mark that cannot be written
 * now stays behind, which only means reading those deliveries again.
 */
static void advance_mark(sqlite3 *db, struct progress *p, int busy_ms)
{
	char err[512];
	int rc;

	if (!p->stage || p->batch <= p->marked)
		return;
	rc = aur_db_begin(db, busy_ms, err, sizeof(err));
	if (rc == 0)
		rc = aur_resume_set(db, p->stage, p->batch, err, sizeof(err));
	if (rc == 0)
		rc = aur_db_commit(db, busy_ms, err, sizeof(err));
	if (rc < 0) {
		aur_db_rollback(db);
		aur_warn("resume point stays at inbox id %lld: %s", p->marked, err);
		return;
	}
	p->marked = p->batch;
}

/* Decisions of incidents no record opened (a heartbeat's silence), after the record's own. */
static size_t take_extra(struct aur_correlator *corr, jv *batch, size_t n)
{
	jv extra = aur_correlator_take_extra(corr);

	jv_array_foreach(extra, i, d) {
		if (n < BATCH_MAX + EXTRA_MAX)
			batch[n++] = d;
		else
			jv_free(d);
	}
	jv_free(extra);
	return n;
}

/*
 * 1 when nothing arrives on in within ms; 0 when input (or its end) is
 * there, or the reader of standard output went away (the read says so).
 */
static int idle(struct aur_jsonl_reader *in, long long ms)
{
	struct pollfd p[2] = { { in->fd, POLLIN, 0 }, { in->watch_fd, 0, 0 } };

	return poll(p, in->watch_fd >= 0 ? 2 : 1, (int)ms) == 0;
}

/* The input is idle: look for silent heartbeats by the clock, and print what that opened. */
static int tick(struct aur_correlator *corr, struct aur_jsonl_writer *out, jv *batch)
{
	char err[1024];
	size_t n;

	if (aur_correlator_tick(corr, aur_time_now_ms(), err, sizeof(err)) < 0) {
		aur_err("looking for silent heartbeats: %s", err);
		return AUR_EXIT_TEMPFAIL;
	}
	n = take_extra(corr, batch, 0);
	return flush_batch(corr, out, batch, &n, 0);
}

static int run(struct aur_correlator *corr, sqlite3 *db, int busy_ms, long long silence_ms,
	       struct aur_jsonl_reader *in, struct aur_jsonl_writer *out, struct progress *p,
	       unsigned long *rejected)
{
	jv batch[BATCH_MAX + EXTRA_MAX];
	size_t n = 0;
	int open = 0;
	int rc = AUR_EXIT_OK;
	long long tick_ms = silence_ms > 0 ? (silence_ms / 4 < 60000 ? silence_ms / 4 : 60000) : 0;
	char err[1024];
	char warning[320];

	while (!stop_requested) {
		jv rec;
		jv decision;
		long long inbox_id;
		int r;

		if (tick_ms > 0 && !aur_jsonl_reader_ready(in) && idle(in, tick_ms)) {
			rc = tick(corr, out, batch);
			if (rc != AUR_EXIT_OK)
				break;
			continue;
		}
		r = aur_jsonl_read(in, &rec, err, sizeof(err));

		if (r == 0)
			break;
		if (r == -E2BIG || r == -EINVAL) {
			if (r == -E2BIG)
				aur_warn("line %lu: longer than %zu bytes, skipped", in->lineno, in->max_line);
			else
				aur_warn("line %lu: %s", in->lineno, err);
			(*rejected)++;
			goto next;
		}
		if (r == -EPIPE) {
			rc = EXIT_GONE;
			break;
		}
		if (r < 0) {
			aur_err("reading standard input: %s", strerror(-r));
			rc = AUR_EXIT_IOERR;
			break;
		}
		/* a rejected record still counts as handled for the resume point */
		if (aur_resume_record(rec, &inbox_id) == 1 && inbox_id > p->batch)
			p->batch = inbox_id;
		if (!open && aur_jsonl_reader_ready(in)) {
			if (aur_correlator_begin(corr, err, sizeof(err)) < 0) {
				jv_free(rec);
				aur_err("line %lu: %s", in->lineno, err);
				rc = AUR_EXIT_TEMPFAIL;
				break;
			}
			open = 1;
		}
		r = aur_correlator_process(corr, rec, in->line, &decision, err, sizeof(err));
		if (aur_correlator_take_warning(corr, warning, sizeof(warning)))
			aur_warn("line %lu: %s", in->lineno, warning);
		if (r == -EINVAL) {
			aur_warn("line %lu: %s", in->lineno, err);
			(*rejected)++;
			goto next;
		}
		if (r < 0) {
			aur_err("line %lu: %s", in->lineno, err);
			rc = r == -EBUSY ? AUR_EXIT_TEMPFAIL : AUR_EXIT_IOERR;
			break;
		}
		batch[n++] = decision;
		n = take_extra(corr, batch, n);
next:
		if (n >= BATCH_MAX || !aur_jsonl_reader_ready(in)) {
			rc = flush_batch(corr, out, batch, &n, open);
			open = 0;
			if (rc != AUR_EXIT_OK)
				break;
			advance_mark(db, p, busy_ms);
		}
	}
	if (rc == AUR_EXIT_OK) {
		rc = flush_batch(corr, out, batch, &n, open);
		if (rc == AUR_EXIT_OK)
			advance_mark(db, p, busy_ms);
	} else {
		/* nothing of an unfinished batch was committed: print none of it */
		if (open)
			aur_correlator_rollback(corr);
		for (size_t i = 0; i < n; i++)
			jv_free(batch[i]);
	}
	if (rc == EXIT_GONE)
		aur_info("the reader of standard output went away: stopping");
	return rc;
}

static void catalog_note(const char *msg)
{
	aur_warn("%s", msg);
}

/* aurora-correlate catalog PATH [NAME...]: the check of a catalog (aur_catalog_check) */
static int catalog_main(int argc, char **argv)
{
	char err[1024];
	int rc;

	if (argc < 3 || argv[2][0] == '-') {
		fputs(usage_short, stderr);
		return AUR_EXIT_USAGE;
	}
	rc = aur_catalog_check(argv[2], argv + 3, (size_t)(argc - 3), stdout, catalog_note, err, sizeof(err));
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

static volatile sig_atomic_t backtest_stop;

static void on_backtest_signal(int sig)
{
	backtest_stop = sig;
}

static void backtest_note(const char *msg, void *arg)
{
	(void)arg;
	aur_info("%s", msg);
}

static int backtest_exit(int rc)
{
	switch (rc) {
	case -ENOENT: return AUR_EXIT_NOINPUT;
	case -ENODATA: case -ENOEXEC: return AUR_EXIT_CONFIG;
	case -EINVAL: case -E2BIG: return AUR_EXIT_DATAERR;
	default: return aur_cli_exit_code(rc);
	}
}

/* aurora-correlate backtest: the options here, the work in backtest.h. */
static int backtest_main(int argc, char **argv)
{
	enum { B_DB = 256, B_FROM, B_TO, B_A, B_B, B_MAPPINGS, B_TEXT, B_WARMUP };
	static const struct option opts[] = {
		{ "db", required_argument, NULL, B_DB }, { "from", required_argument, NULL, B_FROM },
		{ "to", required_argument, NULL, B_TO }, { "a", required_argument, NULL, B_A },
		{ "b", required_argument, NULL, B_B }, { "mappings", required_argument, NULL, B_MAPPINGS },
		{ "text", no_argument, NULL, B_TEXT }, { "warmup", required_argument, NULL, B_WARMUP },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct aur_backtest_options o;
	struct aur_backtest_side side[2];
	struct aur_backtest *res = NULL;
	struct sigaction sa;
	const char *db_arg = NULL, *from = "24h", *to = NULL;
	long long now = aur_time_now_ms();
	int text = 0, level = aur_log_level(), ch, rc;
	char err[1024];

	aur_backtest_options_init(&o);
	aur_backtest_side_init(&side[0]);
	aur_backtest_side_init(&side[1]);
	o.mappings_dir = getenv("AURORA_MAPPINGS");
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "qvh", opts, NULL)) != -1) {
		switch (ch) {
		case B_DB: db_arg = optarg; break;
		case B_FROM: from = optarg; break;
		case B_TO: to = optarg; break;
		case B_MAPPINGS: o.mappings_dir = optarg; break;
		case B_TEXT: text = 1; break;
		case B_WARMUP:
			if (strcmp(optarg, "0") != 0 && aur_cli_parse_duration_ms(optarg, &o.warmup_ms) < 0) {
				fprintf(stderr, "%s: backtest: --warmup: '%s' is not a duration (0, 30m, 12h)\n%s", PROG,
					optarg, usage_short);
				return AUR_EXIT_USAGE;
			}
			if (!strcmp(optarg, "0"))
				o.warmup_ms = 0;
			break;
		case 'q': level--; break;
		case 'v': level++; break;
		case 'h': print_help(); return fclose(stdout) == 0 ? AUR_EXIT_OK : AUR_EXIT_IOERR;
		case B_A:
		case B_B:
			if (aur_backtest_side_set(&side[ch == B_B], optarg, err, sizeof(err)) < 0) {
				fprintf(stderr, "%s: backtest: --%s %s\n", PROG, ch == B_B ? "b" : "a", err);
				return AUR_EXIT_DATAERR;
			}
			break;
		default:
			fprintf(stderr, "%s: backtest: bad option or missing value: %s\n%s", PROG, argv[optind - 1],
				usage_short);
			return AUR_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: backtest: unexpected argument '%s'\n%s", PROG, argv[optind], usage_short);
		return AUR_EXIT_USAGE;
	}
	for (int end = 0; end < 2; end++) {
		const char *arg = end ? to : from;
		int is_id;
		long long v;

		if (!arg)
			continue;
		if (aur_backtest_parse_point(arg, now, &is_id, &v) < 0) {
			fprintf(stderr, "%s: backtest: --%s: '%s' is not an inbox id or a time\n%s", PROG,
				end ? "to" : "from", arg, usage_short);
			return AUR_EXIT_USAGE;
		}
		if (is_id && end)
			o.to_id = v;
		else if (is_id)
			o.from_id = v;
		else if (end)
			o.until_ms = v;
		else
			o.since_ms = v;
	}
	aur_log_set_level(level);
	for (int s = 0; s < 2; s++) {
		side[s].cfg.embed_url = getenv("AURORA_EMBED_URL");
		side[s].cfg.embed_model = getenv("AURORA_EMBED_MODEL");
		side[s].cfg.embed_key = getenv("AURORA_EMBED_KEY");
		if (side[s].cfg.embed_url && !*side[s].cfg.embed_url)
			side[s].cfg.embed_url = NULL;
	}
	o.db_path = aur_db_default_path(db_arg);
	o.stop = &backtest_stop;
	o.note = backtest_note;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_backtest_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	rc = aur_backtest_run(&o, &side[0], &side[1], &res, err, sizeof(err));
	if (rc == 0 && backtest_stop) {
		/* the signal came after the last record: the scratch files are gone all the same */
		aur_backtest_free(res);
		snprintf(err, sizeof(err), "stopped");
		rc = -EINTR;
	}
	if (rc < 0) {
		if (rc == -ENOENT)
			aur_err("%s (check --db and AURORA_DB)", err);
		else
			aur_err("%s", err);
		if (rc == -EINTR && backtest_stop) {
			/* the scratch files are gone: end the way the signal asked */
			signal((int)backtest_stop, SIG_DFL);
			raise((int)backtest_stop);
		}
		return backtest_exit(rc);
	}
	rc = text ? aur_backtest_write_text(res, stdout) : aur_backtest_write_json(res, stdout);
	aur_backtest_free(res);
	if (rc < 0 || fflush(stdout) != 0 || ferror(stdout)) {
		aur_err("writing standard output failed");
		return AUR_EXIT_IOERR;
	}
	return AUR_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct option longopts[OWN_OPTIONS + MAX_SETTINGS];
	struct aur_correlate_config cfg;
	struct aur_db_options dbo;
	struct aur_correlator *corr = NULL;
	struct aur_jsonl_reader in;
	struct aur_jsonl_writer out;
	struct sigaction sa;
	struct progress progress = { AUR_RESUME_DEFAULT_STAGE, 0, 0 };
	const char *db_arg = NULL;
	const char *catalog_arg = NULL;
	struct aur_catalog *catalog = NULL;
	sqlite3 *db = NULL;
	char err[1024];
	unsigned long rejected = 0;
	int strict = 0;
	int level = AUR_LOG_WARN;
	int rc = AUR_EXIT_SOFTWARE;
	int ch;

	aur_log_init(PROG);
	if (argc > 1 && !strcmp(argv[1], "catalog"))
		return catalog_main(argc, argv);
	if (argc > 1 && !strcmp(argv[1], "backtest"))
		return backtest_main(argc - 1, argv + 1);
	level = aur_log_level();
	aur_correlate_config_init(&cfg);
	aur_db_options_init(&dbo);
	dbo.synchronous_full = 0;
	aur_jsonl_reader_init(&in, stdin, 0);
	build_longopts(longopts, sizeof(longopts) / sizeof(longopts[0]));
	while ((ch = getopt_long(argc, argv, "qvh", longopts, NULL)) != -1) {
		long long n;
		int bad = 0;

		switch (ch) {
		case O_DB:
			db_arg = optarg;
			break;
		case O_CATALOG:
			catalog_arg = optarg;
			break;
		case O_SYNC:
			if (!strcmp(optarg, "full")) {
				dbo.synchronous_full = 1;
			} else if (!strcmp(optarg, "normal")) {
				dbo.synchronous_full = 0;
			} else {
				fprintf(stderr, "%s: --sync: '%s' is not full or normal\n", PROG, optarg);
				bad = 1;
			}
			break;
		case O_BUSY:
			if (aur_cli_parse_ll(optarg, 1, 3600000, &n) < 0) {
				fprintf(stderr, "%s: --busy-timeout: '%s' is not milliseconds\n", PROG, optarg);
				bad = 1;
			} else {
				dbo.busy_timeout_ms = (int)n;
				cfg.busy_ms = (int)n;
			}
			break;
		case O_MARK:
			if (!*optarg || strlen(optarg) > 64) {
				fprintf(stderr, "%s: --mark: a stage name of 1 to 64 characters\n", PROG);
				bad = 1;
			}
			progress.stage = optarg;
			break;
		case O_NO_MARK:
			progress.stage = NULL;
			break;
		case O_STRICT:
			strict = 1;
			break;
		case 'q':
			level--;
			break;
		case 'v':
			level++;
			break;
		case 'h':
			print_help();
			rc = fclose(stdout) == 0 ? AUR_EXIT_OK : AUR_EXIT_IOERR;
			goto out;
		case O_VERSION:
			printf("%s %s\n", PROG, AURORA_VERSION);
			rc = fclose(stdout) == 0 ? AUR_EXIT_OK : AUR_EXIT_IOERR;
			goto out;
		default:
			if (ch >= O_SETTING && ch < O_SETTING + MAX_SETTINGS) {
				const char *name = aur_correlate_option_at((size_t)(ch - O_SETTING))->name;

				if (aur_correlate_config_set(&cfg, name, optarg, err, sizeof(err)) < 0) {
					fprintf(stderr, "%s: %s\n", PROG, err);
					bad = 1;
				}
				break;
			}
			bad = 1;
			break;
		}
		if (bad) {
			fputs(usage_short, stderr);
			rc = AUR_EXIT_USAGE;
			goto out;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n%s", PROG, argv[optind], usage_short);
		rc = AUR_EXIT_USAGE;
		goto out;
	}
	aur_log_set_level(level);
	cfg.embed_url = getenv("AURORA_EMBED_URL");
	cfg.embed_model = getenv("AURORA_EMBED_MODEL");
	cfg.embed_key = getenv("AURORA_EMBED_KEY");
	if (cfg.embed_url && !*cfg.embed_url)
		cfg.embed_url = NULL;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	err[0] = '\0';
	if (catalog_arg) {
		if (aur_catalog_load(&catalog, catalog_arg, err, sizeof(err)) < 0) {
			aur_err("--catalog: %s", err);
			rc = AUR_EXIT_CONFIG;
			goto out;
		}
		cfg.catalog = catalog;
	}
	rc = aur_db_open(&db, aur_db_default_path(db_arg), &dbo, err, sizeof(err));
	if (rc < 0) {
		aur_err("%s", err);
		rc = aur_cli_exit_code(rc); /* busy 75, not an aurora database 78, else 74 */
		goto out;
	}
	/* candidates, alerts and incidents stay in memory as the store grows */
	aur_db_exec(db, "PRAGMA cache_size = -65536", NULL, 0);
	if (aur_correlator_new(&corr, db, &cfg, err, sizeof(err)) < 0) {
		aur_err("%s", err);
		rc = AUR_EXIT_IOERR;
		goto out;
	}
	if (progress.stage) {
		rc = aur_resume_get(db, progress.stage, &progress.marked, err, sizeof(err));
		if (rc < 0 && rc != -ENOENT) {
			aur_err("%s", err);
			rc = rc == -EBUSY ? AUR_EXIT_TEMPFAIL : AUR_EXIT_IOERR;
			goto out;
		}
		progress.batch = progress.marked;
	}
	aur_jsonl_reader_watch(&in, STDOUT_FILENO);
	aur_jsonl_writer_init(&out, stdout, -1);
	rc = run(corr, db, dbo.busy_timeout_ms, cfg.heartbeat_silence_ms, &in, &out, &progress, &rejected);
	if (rc == EXIT_GONE) {
		aur_correlator_flush(corr, err, sizeof(err));
		rc = AUR_EXIT_OK;
		goto out;
	}
	if (aur_correlator_flush(corr, err, sizeof(err)) < 0) {
		aur_err("saving vectorizer statistics: %s", err);
		if (rc == AUR_EXIT_OK)
			rc = AUR_EXIT_TEMPFAIL;
	}
	if (rc == AUR_EXIT_OK && rejected) {
		aur_warn("%lu record%s rejected", rejected, rejected == 1 ? "" : "s");
		rc = strict ? AUR_EXIT_DATAERR : AUR_EXIT_REJECTED;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		aur_err("writing standard output failed");
		rc = AUR_EXIT_IOERR;
	}
out:
	aur_correlator_free(corr);
	aur_catalog_free(catalog);
	aur_db_close(db);
	aur_jsonl_reader_release(&in);
	return rc;
}
