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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "cmd.h"
#include "db.h"
#include "exitcodes.h"
#include "jsonl.h"
#include "jvio.h"
#include "log.h"
#include "normalize.h"
#include "banned.h"

/* an output buffer larger than this is freed after its line */
#define SHRINK_ABOVE ((size_t)4 * 1024 * 1024)

#define USAGE \
	"usage: aurora-normalize [--mappings DIR] [--platform NAME] [--strict] [--check]\n" \
	"                        [--jenkins-url URL] [--cloudbees-url URL]\n" \
	"                        [--prometheus-url URL] [--db PATH]\n" \
	"                        [--splunk-{service,severity,host,status}-fields LIST]\n" \
	"                        [-q] [-v] [FILE...]\n" \
	"       aurora-normalize -h | --help | --version\n"

static const char usage_short[] = USAGE;
static const char usage_long[] = USAGE
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
	O_DB = AUR_CLI_BASE, O_MAPPINGS, O_PLATFORM, O_STRICT, O_CHECK, O_JENKINS_URL, O_CLOUDBEES_URL,
	O_PROMETHEUS_URL, O_SPLUNK_SERVICE, O_SPLUNK_SEVERITY, O_SPLUNK_HOST, O_SPLUNK_STATUS
};

static const struct option long_options[] = {
	{ "db", required_argument, NULL, O_DB },
	{ "mappings", required_argument, NULL, O_MAPPINGS },
	{ "platform", required_argument, NULL, O_PLATFORM },
	{ "strict", no_argument, NULL, O_STRICT },
	{ "check", no_argument, NULL, O_CHECK },
	{ "jenkins-url", required_argument, NULL, O_JENKINS_URL },
	{ "cloudbees-url", required_argument, NULL, O_CLOUDBEES_URL },
	{ "prometheus-url", required_argument, NULL, O_PROMETHEUS_URL },
	{ "splunk-service-fields", required_argument, NULL, O_SPLUNK_SERVICE },
	{ "splunk-severity-fields", required_argument, NULL, O_SPLUNK_SEVERITY },
	{ "splunk-host-fields", required_argument, NULL, O_SPLUNK_HOST },
	{ "splunk-status-fields", required_argument, NULL, O_SPLUNK_STATUS },
	{ NULL, 0, NULL, 0 }
};

/* Each option's value by code - O_DB ("1" for a flag). */
struct opts {
	const char *v[O_SPLUNK_STATUS - O_DB + 1];
};

#define OPT(o, code) ((o)->v[(code) - O_DB])

static void set_opt(struct aur_cmd_ctx *ctx, int code, const char *arg)
{
	struct opts *o = ctx->opts;

	OPT(o, code) = arg ? arg : "1";
}

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
	fprintf(arg, "%s\t%s\n", platform, origin);
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
			code = AUR_CMD_GONE;
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
		errno = 0;
		if (out->len && fwrite(out->data, 1, out->len, stdout) != out->len) {
			code = aur_cmd_write_failed();
			break;
		}
		aur_buf_reset(out);
		if (out->cap > SHRINK_ABOVE) {
			/* a huge group's output: give the memory back */
			aur_buf_release(out);
			aur_buf_init(out, 0);
		}
		if (flush && fflush(stdout) != 0) {
			code = aur_cmd_write_failed();
			break;
		}
	}
	aur_jsonl_reader_release(&r);
	return code;
}

/* The normalizer's options: the command line's, else the environment's. */
static void options(const struct aur_cmd_ctx *ctx, struct aur_normalize_options *no)
{
	const struct opts *o = ctx->opts;

	memset(no, 0, sizeof(*no));
	no->default_platform = OPT(o, O_PLATFORM);
	no->splunk_service_fields = OPT(o, O_SPLUNK_SERVICE);
	no->splunk_severity_fields = OPT(o, O_SPLUNK_SEVERITY);
	no->splunk_host_fields = OPT(o, O_SPLUNK_HOST);
	no->splunk_status_fields = OPT(o, O_SPLUNK_STATUS);
	no->mappings_dir = env_or(OPT(o, O_MAPPINGS), "AURORA_MAPPINGS");
	no->jenkins_url = env_or(OPT(o, O_JENKINS_URL), "AURORA_JENKINS_URL");
	no->cloudbees_url = env_or(OPT(o, O_CLOUDBEES_URL), "AURORA_CLOUDBEES_URL");
	no->prometheus_url = env_or(OPT(o, O_PROMETHEUS_URL), "AURORA_PROMETHEUS_URL");
	no->db_path = ctx->db_path;
}

/* Every FILE in turn (stdin for none or "-"). */
static int normalize_files(struct aur_cmd_ctx *ctx, struct aur_normalizer *n, struct aur_buf *out,
			   struct counts *c)
{
	struct aur_jsonl_writer w;
	int code = AUR_EXIT_OK;

	aur_jsonl_writer_init(&w, ctx->out, -1);
	if (ctx->nargs == 0)
		return normalize_fd(n, STDIN_FILENO, NULL, w.flush, out, c);
	for (int i = 0; i < ctx->nargs && code == AUR_EXIT_OK; i++) {
		const char *name = ctx->args[i];
		int fd = strcmp(name, "-") ? open(name, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;

		if (fd < 0) {
			aur_err("%s: %s", name, strerror(errno));
			return AUR_EXIT_IOERR;
		}
		code = normalize_fd(n, fd, name, w.flush, out, c);
		if (fd != STDIN_FILENO)
			close(fd);
	}
	return code;
}

static int run(struct aur_cmd_ctx *ctx)
{
	const struct opts *o = ctx->opts;
	struct aur_normalize_options no;
	struct aur_normalizer *n = NULL;
	struct aur_buf out;
	struct counts c = { 0 };
	char err[1024];
	int code = AUR_EXIT_CONFIG;

	options(ctx, &no);
	aur_buf_init(&out, 0);
	if (aur_normalize_new(&n, &no, err, sizeof(err)) < 0) {
		aur_err("%s", err);
		goto out;
	}
	if (aur_normalize_remark(n))
		aur_info("%s", aur_normalize_remark(n));
	if (OPT(o, O_CHECK)) {
		if (aur_normalize_check(n, err, sizeof(err)) < 0) {
			aur_err("%s", err);
			goto out;
		}
		aur_normalize_each(n, print_mapping, ctx->out);
		code = AUR_EXIT_OK;
		goto out;
	}
	code = normalize_files(ctx, n, &out, &c);
	aur_info("%lu lines: %lu alerts (%lu tests), %lu notes, %lu rejected", c.lines, c.alerts,
		 c.tests, c.notes, c.rejected);
	if (code == AUR_CMD_GONE) {
		aur_info("the reader of standard output went away: stopping");
	} else if (c.rejected && code == AUR_EXIT_OK) {
		if (aur_log_level() < AUR_LOG_INFO)
			aur_warn("%lu of %lu lines rejected", c.rejected, c.lines);
		code = OPT(o, O_STRICT) ? AUR_EXIT_DATAERR : AUR_EXIT_REJECTED;
	}
out:
	aur_normalize_free(n);
	aur_buf_release(&out);
	return code;
}

int main(int argc, char **argv)
{
	static const struct aur_cli_short shorts[] = { { 'p', O_PLATFORM }, { 0, 0 } };
	static const struct aur_cmd cmds[] = {
		{ NULL, ~0ul, 0, -1, NULL, AUR_CMD_DB_NONE, AUR_CMD_STREAM, run },
	};
	static struct opts o;
	static const struct aur_cmd_program program = {
		.name = "aurora-normalize", .usage = usage_short, .help = usage_long, .longopts = long_options,
		.shorts = shorts, .db_option = O_DB, .cmds = cmds, .ncmds = 1, .opts = &o, .set = set_opt,
	};

	return aur_cmd_main(&program, argc, argv);
}
