/*
 * aurora-normalize - raw webhook deliveries in, common alert records out.
 *
 * Reads raw records (aurora-inbox's JSON lines) from standard input or the
 * files named, runs each through its platform's jq mapping and prints the
 * alert and note records, one compact JSON object per line. A bad line is
 * reported on stderr with its number and skipped; the stream goes on.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "db.h"
#include "exitcodes.h"
#include "jsonl.h"
#include "jvio.h"
#include "log.h"
#include "normalize.h"
#include "banned.h"

/* an output buffer larger than this is freed after its line */
#define SHRINK_ABOVE ((size_t)4 * 1024 * 1024)
#define EXIT_GONE (-1) /* internal: stdout's reader went away; exits 0 */

static const char usage_short[] =
	"usage: aurora-normalize [--mappings DIR] [--platform NAME] [--strict] [--check]\n"
	"                        [--jenkins-url URL] [--cloudbees-url URL]\n"
	"                        [--prometheus-url URL] [--db PATH]\n"
	"                        [--splunk-{service,severity,host,status}-fields LIST]\n"
	"                        [-q] [-v] [FILE...]\n"
	"       aurora-normalize -h | --help | --version\n";

static const char usage_long[] =
	"\n"
	"Turn raw webhook deliveries (aurora-inbox's raw records, one JSON object a\n"
	"line) into aurora alert and note records, one JSON object a line, through one\n"
	"jq mapping per platform. Reads standard input when no FILE is given.\n"
	"\n"
	"  --mappings DIR        operator mappings: DIR/<platform>.jq overrides the built-in\n"
	"                        mapping of <platform> or adds a platform ($AURORA_MAPPINGS)\n"
	"  -p, --platform NAME   lines that are not raw records are bodies from platform NAME\n"
	"      --strict          exit 65 instead of 1 when some lines were rejected\n"
	"      --check           compile every mapping, list them, and exit (78 on an error)\n"
	"      --jenkins-url URL base of relative Jenkins URLs ($AURORA_JENKINS_URL)\n"
	"      --cloudbees-url URL  the same for CloudBees CI ($AURORA_CLOUDBEES_URL)\n"
	"      --prometheus-url URL base of Alertmanager alerts' relative generatorURL\n"
	"                        ($AURORA_PROMETHEUS_URL)\n"
	"      --db PATH         read connector base URLs from this database when it exists\n"
	"                        ($AURORA_DB, else ./aurora.db); never created, opened\n"
	"                        read-only\n"
	"      --splunk-service-fields LIST   Splunk result fields naming the service\n"
	"                        (default service,service_name,app)\n"
	"      --splunk-severity-fields LIST  ... the severity (default severity,urgency,log_level)\n"
	"      --splunk-host-fields LIST      ... the host (default host)\n"
	"      --splunk-status-fields LIST    ... a resolve (default aurora_status,alert_status,status)\n"
	"  -q, --quiet           report errors only (not rejected lines)\n"
	"  -v, --verbose         also report counts and start-up remarks\n"
	"  -h, --help            this text\n"
	"      --version         print the version\n"
	"\n"
	"Exit status: 0 all lines normalized; 1 some lines rejected (65 with --strict);\n"
	"2 usage; 74 input/output error; 78 a mapping that does not compile, a\n"
	"missing mappings directory or a --db that is not an aurora database.\n"
	"See aurora-normalize(1) and aurora(7).\n";

enum {
	OPT_STRICT = 256,
	OPT_CHECK,
	OPT_MAPPINGS,
	OPT_JENKINS_URL,
	OPT_CLOUDBEES_URL,
	OPT_PROMETHEUS_URL,
	OPT_DB,
	OPT_SPLUNK_SERVICE,
	OPT_SPLUNK_SEVERITY,
	OPT_SPLUNK_HOST,
	OPT_SPLUNK_STATUS,
	OPT_VERSION
};

static const struct option long_options[] = {
	{ "mappings", required_argument, NULL, OPT_MAPPINGS },
	{ "platform", required_argument, NULL, 'p' },
	{ "strict", no_argument, NULL, OPT_STRICT },
	{ "check", no_argument, NULL, OPT_CHECK },
	{ "jenkins-url", required_argument, NULL, OPT_JENKINS_URL },
	{ "cloudbees-url", required_argument, NULL, OPT_CLOUDBEES_URL },
	{ "prometheus-url", required_argument, NULL, OPT_PROMETHEUS_URL },
	{ "db", required_argument, NULL, OPT_DB },
	{ "splunk-service-fields", required_argument, NULL, OPT_SPLUNK_SERVICE },
	{ "splunk-severity-fields", required_argument, NULL, OPT_SPLUNK_SEVERITY },
	{ "splunk-host-fields", required_argument, NULL, OPT_SPLUNK_HOST },
	{ "splunk-status-fields", required_argument, NULL, OPT_SPLUNK_STATUS },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 }
};

struct counts {
	unsigned long lines;
	unsigned long rejected;
	unsigned long alerts;
	unsigned long notes;
	unsigned long tests;
};

static const char *env_or(const char *value, const char *name)
{
	const char *env;

	if (value)
		return value;
	env = getenv(name);
	return env && *env ? env : NULL;
}

static void print_mapping(const char *platform, const char *origin, void *arg)
{
	(void)arg;
	printf("%s\t%s\n", platform, origin);
}

/*
 * A delivery that made no record: say so on stdout too, as an "error"
 * record (aurora(7)), so the last stage can mark its inbox row and nothing
 * vanishes. Only raw records with an inbox id: anything else names no
 * delivery. Appended to out.
 */
static void put_error_record(const struct aur_normalize_result *res, const char *reason, struct aur_buf *out)
{
	jv e;

	if (res->inbox_id <= 0)
		return;
	e = jv_object_set(jv_object(), jv_string("v"), jv_number(1));
	e = jv_object_set(e, jv_string("type"), jv_string("error"));
	e = jv_object_set(e, jv_string("inbox_id"), jv_number((double)res->inbox_id));
	e = jv_object_set(e, jv_string("platform"), jv_string(res->platform));
	e = jv_object_set(e, jv_string("received_at"),
			  res->received_at[0] ? jv_string(res->received_at) : jv_null());
	e = jv_object_set(e, jv_string("reason"), jv_string(reason));
	if (aur_jvio_dump(e, out) == 0)
		aur_buf_add(out, "\n", 1);
	jv_free(e);
}

static int blank(const char *s, size_t len)
{
	return strspn(s, " \t\r") == len;
}

/* A write to stdout failed: EXIT_GONE when its reader went away, else 74. */
static int write_failed(void)
{
	if (errno == EPIPE)
		return EXIT_GONE;
	aur_err("write error: %s", strerror(errno));
	return AUR_EXIT_IOERR;
}

/*
 * Normalize every line of fd (name is NULL for standard input). Returns
 * AUR_EXIT_OK, or the exit code of a failure that ends the run.
 */
static int normalize_fd(struct aur_normalizer *n, int fd, const char *name, int flush,
			struct aur_buf *out, struct counts *c)
{
	struct aur_jsonl_reader r;
	struct aur_normalize_result res;
	char err[1024];
	char *line;
	size_t len;
	int rc;
	int code = AUR_EXIT_OK;

	aur_jsonl_reader_init_fd(&r, fd, 0);
	/* in a pipeline, a dead next stage ends this one now, not at its next alert */
	aur_jsonl_reader_watch(&r, STDOUT_FILENO);
	for (;;) {
		rc = aur_jsonl_read_line(&r, &line, &len);
		if (rc == 0)
			break;
		if (rc == -EPIPE) {
			code = EXIT_GONE;
			break;
		}
		if (rc == -EIO) {
			aur_err("%s%sread error: %s", name ? name : "", name ? ": " : "", strerror(errno));
			code = AUR_EXIT_IOERR;
			break;
		}
		c->lines++;
		if (rc == -E2BIG) {
			c->rejected++;
			aur_warn("%s%sline %lu: line longer than %zu bytes", name ? name : "", name ? ": " : "",
				 r.lineno, AUR_JSONL_MAX_LINE);
			continue;
		}
		if (blank(line, len))
			continue;
		rc = aur_normalize_line(n, line, len, out, &res, err, sizeof(err));
		if (rc == -ENOEXEC) {
			aur_err("%s", err);
			code = AUR_EXIT_CONFIG;
			break;
		}
		if (rc < 0) {
			c->rejected++;
			aur_warn("%s%sline %lu: %s", name ? name : "", name ? ": " : "", r.lineno, err);
			put_error_record(&res, res.reason, out);
		} else if (res.alerts + res.notes == 0 && res.inbox_id > 0) {
			/* not rejected (the exit status stays), but no silence either */
			aur_warn("%s%sline %lu: %s (inbox %lld): the mapping made no record of it", name ? name : "",
				 name ? ": " : "", r.lineno, res.platform, res.inbox_id);
			put_error_record(&res, "the mapping made no record of it", out);
		}
		c->alerts += res.alerts;
		c->notes += res.notes;
		c->tests += res.tests;
		if (out->len && fwrite(out->data, 1, out->len, stdout) != out->len) {
			code = write_failed();
			break;
		}
		aur_buf_reset(out);
		if (out->cap > SHRINK_ABOVE) {
			/* a huge group's output: give the memory back */
			aur_buf_release(out);
			aur_buf_init(out, 0);
		}
		if (flush && fflush(stdout) != 0) {
			code = write_failed();
			break;
		}
	}
	aur_jsonl_reader_release(&r);
	return code;
}

int main(int argc, char **argv)
{
	struct aur_normalize_options o = { 0 };
	struct aur_normalizer *n = NULL;
	struct aur_jsonl_writer w;
	struct aur_buf out;
	struct counts c = { 0 };
	const char *mappings = NULL, *jenkins = NULL, *cloudbees = NULL, *db = NULL;
	const char *prometheus = NULL;
	char err[1024];
	int strict = 0, check = 0, verbosity = 0;
	int code = AUR_EXIT_SOFTWARE;
	int opt, rc;

	aur_log_init("aurora-normalize");
	signal(SIGPIPE, SIG_IGN);
	aur_buf_init(&out, 0);
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "p:qvh", long_options, NULL)) != -1) {
		switch (opt) {
		case OPT_MAPPINGS:
			mappings = optarg;
			break;
		case 'p':
			o.default_platform = optarg;
			break;
		case OPT_STRICT:
			strict = 1;
			break;
		case OPT_CHECK:
			check = 1;
			break;
		case OPT_JENKINS_URL:
			jenkins = optarg;
			break;
		case OPT_CLOUDBEES_URL:
			cloudbees = optarg;
			break;
		case OPT_PROMETHEUS_URL:
			prometheus = optarg;
			break;
		case OPT_DB:
			db = optarg;
			break;
		case OPT_SPLUNK_SERVICE:
			o.splunk_service_fields = optarg;
			break;
		case OPT_SPLUNK_SEVERITY:
			o.splunk_severity_fields = optarg;
			break;
		case OPT_SPLUNK_HOST:
			o.splunk_host_fields = optarg;
			break;
		case OPT_SPLUNK_STATUS:
			o.splunk_status_fields = optarg;
			break;
		case 'q':
			verbosity--;
			break;
		case 'v':
			verbosity++;
			break;
		case 'h':
			fputs(usage_short, stdout);
			fputs(usage_long, stdout);
			code = AUR_EXIT_OK;
			goto flush;
		case OPT_VERSION:
			printf("aurora-normalize %s\n", AURORA_VERSION);
			code = AUR_EXIT_OK;
			goto flush;
		default:
			if (optopt && optopt < 256)
				fprintf(stderr, "aurora-normalize: bad option -%c\n", optopt);
			else
				fprintf(stderr, "aurora-normalize: bad option %s\n", argv[optind - 1]);
			fputs(usage_short, stderr);
			code = AUR_EXIT_USAGE;
			goto out;
		}
	}
	if (verbosity)
		aur_log_set_level(aur_log_level() + verbosity);
	o.mappings_dir = env_or(mappings, "AURORA_MAPPINGS");
	o.jenkins_url = env_or(jenkins, "AURORA_JENKINS_URL");
	o.cloudbees_url = env_or(cloudbees, "AURORA_CLOUDBEES_URL");
	o.prometheus_url = env_or(prometheus, "AURORA_PROMETHEUS_URL");
	o.db_path = aur_db_default_path(db);

	rc = aur_normalize_new(&n, &o, err, sizeof(err));
	if (rc < 0) {
		aur_err("%s", err);
		code = AUR_EXIT_CONFIG;
		goto out;
	}
	if (aur_normalize_remark(n))
		aur_info("%s", aur_normalize_remark(n));
	if (check) {
		if (aur_normalize_check(n, err, sizeof(err)) < 0) {
			aur_err("%s", err);
			code = AUR_EXIT_CONFIG;
			goto out;
		}
		aur_normalize_each(n, print_mapping, NULL);
		code = AUR_EXIT_OK;
		goto flush;
	}

	aur_jsonl_writer_init(&w, stdout, -1);
	code = AUR_EXIT_OK;
	if (optind >= argc) {
		code = normalize_fd(n, STDIN_FILENO, NULL, w.flush, &out, &c);
	} else {
		for (int i = optind; i < argc && code == AUR_EXIT_OK; i++) {
			int fd = strcmp(argv[i], "-") ? open(argv[i], O_RDONLY | O_CLOEXEC) : STDIN_FILENO;

			if (fd < 0) {
				aur_err("%s: %s", argv[i], strerror(errno));
				code = AUR_EXIT_IOERR;
				break;
			}
			code = normalize_fd(n, fd, argv[i], w.flush, &out, &c);
			if (fd != STDIN_FILENO)
				close(fd);
		}
	}
	aur_info("%lu lines: %lu alerts (%lu tests), %lu notes, %lu rejected", c.lines, c.alerts,
		 c.tests, c.notes, c.rejected);
	if (code == EXIT_GONE) {
		aur_info("the reader of standard output went away: stopping");
		code = AUR_EXIT_OK;
		goto out;
	}
	if (c.rejected && code == AUR_EXIT_OK) {
		if (verbosity <= 0)
			aur_warn("%lu of %lu lines rejected", c.rejected, c.lines);
		code = strict ? AUR_EXIT_DATAERR : AUR_EXIT_REJECTED;
	}
flush:
	if (ferror(stdout) || fclose(stdout) != 0) {
		aur_err("write error on standard output");
		code = AUR_EXIT_IOERR;
	}
out:
	aur_normalize_free(n);
	aur_buf_release(&out);
	return code;
}
