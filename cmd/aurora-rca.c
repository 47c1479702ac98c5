/*
 * aurora-rca - decision records in, investigations started, findings out.
 *
 * Reads decision records (aurora-correlate's output) on standard input; for
 * each newly created incident it claims an investigation (rca_state
 * running, committed) and runs it in a child process, at most -j at a
 * time, so reading never waits for one. Children write their steps to the
 * store as they make them and pass thought, suggestion and analysis
 * records back through a pipe; this process prints them. At the end of
 * input it waits for every investigation. The options are read here; the
 * loop is rca_dispatch.c. See aurora-rca(1).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "cli.h"
#include "db.h"
#include "exitcodes.h"
#include "investigate.h"
#include "jsonl.h"
#include "log.h"
#include "rca_dispatch.h"
#include "banned.h"

#define PROG "aurora-rca"

static const char usage_short[] =
	"usage: aurora-rca [--db PATH] [--investigator builtin|llm] [--config FILE] [--catalog PATH]\n"
	"                  [-j N] [--timeout DUR] [--rate N/DUR] [--lookback DUR] [--fetch-timeout DUR]\n"
	"                  [--busy-timeout MS] [--sync full|normal] [--mark STAGE | --no-mark] [--pass]\n"
	"                  [--strict] [-q|-v] < decisions\n";

static const char usage_long[] =
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
	"74 I/O error, 75 database busy, 78 investigator not available or a catalog that\n"
	"does not load.\n";

enum {
	O_DB = 256, O_INV, O_TIMEOUT, O_RATE, O_LOOKBACK, O_BUSY, O_MARK, O_NO_MARK, O_PASS, O_STRICT, O_VERSION, O_CONFIG,
	O_FETCH_TIMEOUT, O_SYNC_LEVEL, O_CATALOG
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
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

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, O_DB },
		{ "investigator", required_argument, NULL, O_INV },
		{ "config", required_argument, NULL, O_CONFIG },
		{ "catalog", required_argument, NULL, O_CATALOG },
		{ "jobs", required_argument, NULL, 'j' },
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
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, O_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	struct aur_rca_settings r;
	sqlite3 *db = NULL;
	int gone = 0;
	struct aur_jsonl_reader in;
	struct sigaction sa;
	const char *db_arg = NULL;
	const char *inv_name = "builtin";
	const char *config = NULL;
	struct aur_inv_llm *llm = NULL;
	const char *catalog_arg = NULL;
	struct aur_catalog *catalog = NULL;
	const char *delay;
	char err[1024];
	unsigned long rejected = 0;
	int strict = 0;
	int level;
	int rc = AUR_EXIT_SOFTWARE;
	int ch;

	aur_log_init(PROG);
	level = aur_log_level();
	aur_rca_settings_init(&r);
	aur_jsonl_reader_init(&in, stdin, 0);
	while ((ch = getopt_long(argc, argv, "j:qvh", longopts, NULL)) != -1) {
		long long n;
		int bad = 0;

		switch (ch) {
		case O_DB:
			db_arg = optarg;
			break;
		case O_INV:
			inv_name = optarg;
			break;
		case O_CONFIG:
			config = optarg;
			break;
		case O_CATALOG:
			catalog_arg = optarg;
			break;
		case 'j':
			if (aur_cli_parse_ll(optarg, 1, AUR_RCA_JOBS_MAX, &n) < 0) {
				fprintf(stderr, "%s: -j: '%s' is not a number from 1 to %d\n", PROG, optarg, AUR_RCA_JOBS_MAX);
				bad = 1;
			} else {
				r.jobs_max = (int)n;
			}
			break;
		case O_TIMEOUT:
		case O_LOOKBACK:
			if (aur_cli_parse_duration_ms(optarg, &n) < 0 || n <= 0) {
				fprintf(stderr, "%s: %s: '%s' is not a duration (like 90s, 5m, 1h)\n", PROG,
					ch == O_TIMEOUT ? "--timeout" : "--lookback", optarg);
				bad = 1;
			} else if (ch == O_TIMEOUT) {
				r.timeout_ms = n;
			} else {
				r.io.lookback_ms = n;
			}
			break;
		case O_SYNC_LEVEL:
			if (strcmp(optarg, "full") != 0 && strcmp(optarg, "normal") != 0) {
				fprintf(stderr, "%s: --sync: '%s' is not full or normal\n", PROG, optarg);
				bad = 1;
			}
			r.dbo.synchronous_full = !strcmp(optarg, "full");
			break;
		case O_FETCH_TIMEOUT:
			if (aur_cli_parse_duration_ms(optarg, &n) < 0 || n > 600000) {
				fprintf(stderr, "%s: --fetch-timeout: '%s' is not a duration up to 10m (like 5s, 500ms)\n",
					PROG, optarg);
				bad = 1;
			} else {
				r.io.fetch_timeout_ms = n;
			}
			break;
		case O_RATE:
			if (parse_rate(optarg, &r.rate_n, &r.rate_ms) < 0) {
				fprintf(stderr, "%s: --rate: '%s' is not N/DURATION (like 30/10m)\n", PROG, optarg);
				bad = 1;
			}
			break;
		case O_BUSY:
			if (aur_cli_parse_ll(optarg, 1, 3600000, &n) < 0) {
				fprintf(stderr, "%s: --busy-timeout: '%s' is not milliseconds\n", PROG, optarg);
				bad = 1;
			} else {
				r.dbo.busy_timeout_ms = (int)n;
			}
			break;
		case O_MARK:
			if (!*optarg || strlen(optarg) > 64) {
				fprintf(stderr, "%s: --mark: a stage name of 1 to 64 characters\n", PROG);
				bad = 1;
			}
			r.stage = optarg;
			break;
		case O_NO_MARK:
			r.stage = NULL;
			break;
		case O_PASS:
			r.pass = 1;
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
			fputs(usage_long, stdout);
			rc = fclose(stdout) == 0 ? AUR_EXIT_OK : AUR_EXIT_IOERR;
			goto out;
		case O_VERSION:
			printf("%s %s\n", PROG, AURORA_VERSION);
			rc = fclose(stdout) == 0 ? AUR_EXIT_OK : AUR_EXIT_IOERR;
			goto out;
		default:
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
	rc = aur_investigator_find(inv_name, &r.inv);
	if (rc < 0) {
		fprintf(stderr, "%s: --investigator: '%s' is not builtin or llm\n%s", PROG, inv_name, usage_short);
		rc = AUR_EXIT_USAGE;
		goto out;
	}
	if (!config || !*config)
		config = getenv("AURORA_RCA_CONFIG");
	if (!strcmp(r.inv->name, "llm")) {
		if (!config || !*config) {
			aur_err("--investigator llm: no LLM configuration: give --config FILE or set AURORA_RCA_CONFIG");
			rc = AUR_EXIT_CONFIG;
			goto out;
		}
		rc = aur_inv_llm_load(config, &llm, err, sizeof(err));
		if (rc < 0) {
			aur_err("--config: %s", err);
			rc = AUR_EXIT_CONFIG;
			goto out;
		}
		r.io.llm = llm;
	}
	/* loaded once, before any child: every investigation reads the same graph */
	if (catalog_arg) {
		rc = aur_catalog_load(&catalog, catalog_arg, err, sizeof(err));
		if (rc < 0) {
			aur_err("--catalog: %s", err);
			rc = AUR_EXIT_CONFIG;
			goto out;
		}
		r.io.catalog = catalog;
	}
	/* for tests: a pause between the built-in investigator's steps (aurora-rca(1)) */
	delay = getenv("AURORA_RCA_STEP_DELAY_MS");
	if (delay && *delay) {
		long long n;

		if (aur_cli_parse_ll(delay, 0, 600000, &n) == 0)
			r.io.step_delay_ms = (int)n;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	r.db_path = aur_db_default_path(db_arg);
	rc = aur_db_open(&db, r.db_path, &r.dbo, err, sizeof(err));
	if (rc < 0) {
		aur_err("%s", err);
		rc = aur_cli_exit_code(rc);
		goto out;
	}
	rc = aur_rca_dispatch(&r, db, &in, &stop_requested, &rejected, &gone);
	if (gone) {
		rc = AUR_EXIT_OK;
		goto out;
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
	aur_db_close(db);
	aur_jsonl_reader_release(&in);
	aur_inv_llm_free(llm);
	aur_catalog_free(catalog);
	return rc;
}
