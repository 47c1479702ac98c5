/*
 * aurora-incident - the operator's interface to incidents: list, show,
 * create, resolve, reopen, merge, ack, comment, postmortem, watch; prune
 * and retention (lib/retention.c).
 *
 * People get tables and pages, tools get --json (one compact object per
 * line). The lifecycle is enforced by lib/incident.c: an illegal transition
 * exits 65 with nothing changed. See aurora-incident(1).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jq.h>
#include <sqlite3.h>

#include "buf.h"
#include "cli.h"
#include "db.h"
#include "exitcodes.h"
#include "follow.h"
#include "incident_text.h"
#include "api_incidents.h"
#include "incident_view.h"
#include "incident_watch.h"
#include "incident_write.h"
#include "investigate.h"
#include "jsonl.h"
#include "jsonvalid.h"
#include "log.h"
#include "postmortem.h"
#include "retention.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

#define PROG "aurora-incident"
#define DEFAULT_LIMIT 50
#define EXIT_GONE (-1) /* internal: stdout's reader went away; exits 0 */

enum {
	O_DB = 256, O_STATUS, O_SERVICE, O_SINCE, O_LIMIT, O_JSON, O_TITLE, O_SEVERITY, O_SOURCE_TYPE,
	O_METADATA, O_REASON, O_INTO, O_REGENERATE, O_FROM, O_POLL, O_CONFIG, O_TEMPLATE, O_LLM_TIMEOUT, O_BY,
	O_RESOLVED_BEFORE, O_DRY_RUN, O_BATCH, O_PAUSE, O_VERSION
};

/* option bits, to refuse an option the subcommand does not take */
#define B(o) (1u << ((o) - O_DB))

struct opts {
	const char *v[O_VERSION - O_DB]; /* the value of each option, by O_x - O_DB */
	unsigned seen;
	const char *cmd;
	const char *arg;
	const char *arg2; /* comment's TEXT */
	int nargs;
};

#define OPT(o, x) ((o)->v[(x) - O_DB])

static const char usage_text[] =
	"usage: aurora-incident [--db PATH] COMMAND [options]\n"
	"\n"
	"List, read and change incidents; follow the events log.\n"
	"\n"
	"commands:\n"
	"  list [--status S] [--service NAME] [--since TIME] [--limit N] [--json]\n"
	"        the newest N incidents (default 50, 0 for all), newest first; S is\n"
	"        investigating, analyzed, resolved, merged or open; TIME is RFC 3339\n"
	"        or a duration before now (90s, 10m, 2h, 7d) and matches the start\n"
	"  show ID [--json]\n"
	"        everything about one incident; --json prints it as one object\n"
	"  create --title T [--service S] [--severity SEV] [--source-type TYPE]\n"
	"         [--metadata JSON] [--json]\n"
	"        a manual incident (SEV: critical, high, medium (default), low,\n"
	"        info; TYPE default manual); prints its id, or the object\n"
	"  resolve ID [--reason TEXT]\n"
	"  reopen ID\n"
	"  merge SRC --into DST\n"
	"        move through the lifecycle; an illegal move changes nothing\n"
	"  ack ID [--by NAME]\n"
	"        acknowledge an open incident, once (NAME default $USER)\n"
	"  comment ID TEXT [--by NAME]\n"
	"        add TEXT (1 to 4000 bytes) to the incident's timeline\n"
	"  postmortem ID [--regenerate] [--config FILE] [--llm-timeout SECONDS]\n"
	"             [--template]\n"
	"        print the stored postmortem (Markdown), generating and storing it\n"
	"        first when there is none or --regenerate is given: by the model of\n"
	"        FILE (default $AURORA_RCA_CONFIG, aurora-rca's configuration) within\n"
	"        SECONDS (default 60), else, or when it fails, or with --template,\n"
	"        from the template\n"
	"  prune [--resolved-before AGE] [--dry-run] [--json] [--batch N] [--pause-ms N]\n"
	"        delete incidents resolved (or merged) more than AGE ago (90d, 12h,\n"
	"        2w; default the retention setting) with their alerts, links, events,\n"
	"        thoughts, suggestions and comments, except what an open incident or\n"
	"        a silent heartbeat refers to; N incidents per transaction (default\n"
	"        100), N ms between them (default 10)\n"
	"  retention [AGE|never|default]\n"
	"        print the age prune uses without --resolved-before (default 90d), or\n"
	"        set it\n"
	"  watch [--from EVENT_ID] [--poll-ms N] [--json]\n"
	"        print events as they are committed, until SIGINT or SIGTERM;\n"
	"        start at EVENT_ID (inclusive), else after the newest event; N is\n"
	"        the fallback poll interval in ms (default 1000)\n"
	"\n"
	"options (before or after the command):\n"
	"  --db PATH      the database (default $AURORA_DB, else ./aurora.db)\n"
	"  -q, --quiet    print errors only\n"
	"  -v, --verbose  print more on stderr (twice for debug)\n"
	"  -h, --help     print this help\n"
	"  --version      print the version\n"
	"\n"
	"exit status: 0 ok, 1 no such incident, 2 usage, 65 illegal transition or\n"
	"invalid field or a bad stored retention, 74 I/O error, 75 database busy\n"
	"(prune: run again, it continues), 78 no (aurora) database at PATH\n"
	"or a bad LLM configuration (a model failing is not an error: the template\n"
	"writes the postmortem and one line on stderr says why)\n";

static int usage_short(void)
{
	fputs("usage: aurora-incident [--db PATH] list|show|create|resolve|reopen|merge|ack|comment|postmortem|watch|"
	      "prune|retention "
	      "[options]\n"
	      "try 'aurora-incident --help' for more\n",
	      stderr);
	return AUR_EXIT_USAGE;
}

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return usage_short();
}

/* A word that is not an option: the command, then its arguments. */
static void add_arg(struct opts *o, const char *word)
{
	if (!o->cmd)
		o->cmd = word;
	else if (o->nargs++ == 0)
		o->arg = word;
	else if (o->nargs == 2)
		o->arg2 = word;
}

/* Parse argv; returns -1 to go on, else an exit code (help, version, misuse). */
static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, O_DB },
		{ "status", required_argument, NULL, O_STATUS },
		{ "service", required_argument, NULL, O_SERVICE },
		{ "since", required_argument, NULL, O_SINCE },
		{ "limit", required_argument, NULL, O_LIMIT },
		{ "json", no_argument, NULL, O_JSON },
		{ "title", required_argument, NULL, O_TITLE },
		{ "severity", required_argument, NULL, O_SEVERITY },
		{ "source-type", required_argument, NULL, O_SOURCE_TYPE },
		{ "metadata", required_argument, NULL, O_METADATA },
		{ "reason", required_argument, NULL, O_REASON },
		{ "into", required_argument, NULL, O_INTO },
		{ "regenerate", no_argument, NULL, O_REGENERATE },
		{ "from", required_argument, NULL, O_FROM },
		{ "poll-ms", required_argument, NULL, O_POLL },
		{ "config", required_argument, NULL, O_CONFIG },
		{ "template", no_argument, NULL, O_TEMPLATE },
		{ "llm-timeout", required_argument, NULL, O_LLM_TIMEOUT },
		{ "by", required_argument, NULL, O_BY },
		{ "resolved-before", required_argument, NULL, O_RESOLVED_BEFORE },
		{ "dry-run", no_argument, NULL, O_DRY_RUN },
		{ "batch", required_argument, NULL, O_BATCH },
		{ "pause-ms", required_argument, NULL, O_PAUSE },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, O_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	static const struct {
		const char *name;
		unsigned allowed;
		int nargs;
	} cmds[] = {
		{ "list", B(O_STATUS) | B(O_SERVICE) | B(O_SINCE) | B(O_LIMIT) | B(O_JSON), 0 },
		{ "show", B(O_JSON), 1 },
		{ "create", B(O_TITLE) | B(O_SERVICE) | B(O_SEVERITY) | B(O_SOURCE_TYPE) | B(O_METADATA) | B(O_JSON), 0 },
		{ "resolve", B(O_REASON), 1 },
		{ "reopen", 0, 1 },
		{ "merge", B(O_INTO), 1 },
		{ "ack", B(O_BY), 1 },
		{ "comment", B(O_BY), 2 },
		{ "postmortem", B(O_REGENERATE) | B(O_CONFIG) | B(O_TEMPLATE) | B(O_LLM_TIMEOUT), 1 },
		{ "watch", B(O_FROM) | B(O_POLL) | B(O_JSON), 0 },
		{ "prune", B(O_RESOLVED_BEFORE) | B(O_DRY_RUN) | B(O_JSON) | B(O_BATCH) | B(O_PAUSE), 0 },
		{ "retention", B(O_JSON), -1 }, /* -1: an optional argument */
	};
	int level = AUR_LOG_WARN;
	int c;
	int i;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "-qvh", longopts, NULL)) != -1) {
		if (c == 1) {
			add_arg(o, optarg);
		} else if (c >= O_DB && c < O_VERSION) {
			o->v[c - O_DB] = optarg ? optarg : "1";
			o->seen |= B(c);
		} else if (c == 'q') {
			level = AUR_LOG_ERROR;
		} else if (c == 'v') {
			level = level < AUR_LOG_INFO ? AUR_LOG_INFO : AUR_LOG_DEBUG;
		} else if (c == 'h') {
			fputs(usage_text, stdout);
			return AUR_EXIT_OK;
		} else if (c == O_VERSION) {
			puts(PROG " " AURORA_VERSION);
			return AUR_EXIT_OK;
		} else {
			return usage_error("bad option or missing value: %s", argv[optind - 1]);
		}
	}
	for (; optind < argc; optind++) /* after "--" */
		add_arg(o, argv[optind]);
	if (level != AUR_LOG_WARN || !getenv("AURORA_LOG"))
		aur_log_set_level(level);
	if (!o->cmd)
		return usage_error("no command given");
	for (i = 0; i < (int)(sizeof(cmds) / sizeof(cmds[0])); i++)
		if (!strcmp(cmds[i].name, o->cmd))
			break;
	if (i == (int)(sizeof(cmds) / sizeof(cmds[0])))
		return usage_error("unknown command '%s'", o->cmd);
	for (int b = O_STATUS; b < O_VERSION; b++)
		if ((o->seen & B(b)) && !(cmds[i].allowed & B(b)))
			return usage_error("%s does not take --%s", o->cmd, longopts[b - O_DB].name);
	if (cmds[i].nargs < 0 ? o->nargs > 1 : o->nargs != cmds[i].nargs)
		return cmds[i].nargs == 2 ? usage_error("%s needs an ID and a TEXT", o->cmd)
		       : cmds[i].nargs < 0 ? usage_error("%s takes at most one argument", o->cmd)
		       : cmds[i].nargs	  ? usage_error("%s needs one ID", o->cmd)
					  : usage_error("%s takes no arguments", o->cmd);
	if (!strcmp(o->cmd, "create") && !OPT(o, O_TITLE))
		return usage_error("create needs --title");
	if (!strcmp(o->cmd, "merge") && !OPT(o, O_INTO))
		return usage_error("merge needs --into DST");
	return -1;
}

/* Report a lib/ failure and map it: not found 1, refused or invalid 65, busy 75, else 74. */
static int failed(int rc, const char *err)
{
	aur_err("%s", err[0] ? err : strerror(-rc));
	if (rc == -ENOENT)
		return AUR_EXIT_REJECTED;
	if (rc == -EPERM || rc == -EINVAL)
		return AUR_EXIT_DATAERR;
	return aur_cli_exit_code(rc);
}

/* A write to stdout failed: EXIT_GONE when the reader went away, else 74. */
static int write_failed(void)
{
	if (errno == EPIPE)
		return EXIT_GONE;
	aur_err("write error: %s", strerror(errno ? errno : EIO));
	return AUR_EXIT_IOERR;
}

/* Write b to stdout and empty it. */
static int flush_buf(struct aur_buf *b)
{
	errno = 0;
	if (b->len && fwrite(b->data, 1, b->len, stdout) != b->len)
		return write_failed();
	aur_buf_reset(b);
	return 0;
}

static int put_json(jv v)
{
	struct aur_jsonl_writer w;

	aur_jsonl_writer_init(&w, stdout, -1);
	errno = 0;
	return aur_jsonl_write(&w, v) < 0 ? write_failed() : 0;
}

static int parse_id(const char *s, const char *what, long long *id)
{
	if (aur_cli_parse_ll(s, 1, INT64_MAX, id) < 0)
		return usage_error("%s wants an incident id: %s", what, s);
	return 0;
}

static int cmd_list(sqlite3 *db, const struct opts *o)
{
	struct aur_incident_filter f;
	struct aur_buf b;
	char err[512] = "";
	jv list = jv_invalid();
	int rc;

	aur_incident_filter_init(&f);
	aur_buf_init(&b, 0);
	f.status = OPT(o, O_STATUS);
	f.service = OPT(o, O_SERVICE);
	f.limit = DEFAULT_LIMIT;
	if (OPT(o, O_LIMIT) && aur_cli_parse_ll(OPT(o, O_LIMIT), 0, INT64_MAX, &f.limit) < 0) {
		rc = usage_error("--limit wants a number (0 for all): %s", OPT(o, O_LIMIT));
		goto out;
	}
	if (OPT(o, O_SINCE) && aur_cli_parse_time_ms(OPT(o, O_SINCE), aur_time_now_ms(), &f.since_ms) < 0) {
		rc = usage_error("--since wants RFC 3339 or a duration like 10m: %s", OPT(o, O_SINCE));
		goto out;
	}
	rc = aur_incident_list(db, &f, &list, err, sizeof(err));
	if (rc == -EINVAL) {
		rc = usage_error("--%s", err);
		goto out;
	}
	if (rc < 0) {
		rc = failed(rc, err);
		goto out;
	}
	if (!OPT(o, O_JSON))
		aur_incident_text_list_header(&b);
	for (int i = 0; i < jv_array_length(jv_copy(list)) && rc == 0; i++) {
		jv e = jv_array_get(jv_copy(list), i);

		if (OPT(o, O_JSON)) {
			rc = put_json(e);
			continue;
		}
		aur_incident_text_list_row(e, &b);
		jv_free(e);
		rc = flush_buf(&b);
	}
	if (rc == 0)
		rc = flush_buf(&b);
out:
	jv_free(list);
	aur_buf_release(&b);
	return rc;
}

/* Print incident id: one JSON object, or the page for people. */
static int print_incident(sqlite3 *db, long long id, int json)
{
	struct aur_buf b;
	char err[512] = "";
	jv o;
	int rc;

	aur_buf_init(&b, 0);
	rc = aur_incident_show(db, id, &o, err, sizeof(err));
	if (rc < 0) {
		jv_free(o);
		rc = failed(rc, err);
	} else if (json) {
		rc = put_json(o);
	} else {
		aur_incident_text_show(o, &b);
		jv_free(o);
		rc = flush_buf(&b);
	}
	aur_buf_release(&b);
	return rc;
}

/*
 * Set key to the text of an option (none: left unset), or refuse it (0)
 * when it is not UTF-8: libjq would put U+FFFD in place of the bad bytes
 * without a word.
 */
static int set_text(jv *body, const char *key, const char *option, const char *text)
{
	jv s;
	int same;

	if (!text)
		return 1;
	s = jv_string(text);
	same = !strcmp(jv_string_value(s), text);

	if (!same) {
		aur_err("%s: --%s is not UTF-8", key, option);
		jv_free(s);
		return 0;
	}
	*body = jv_object_set(*body, jv_string(key), s);
	return 1;
}

static int cmd_create(sqlite3 *db, const struct opts *o)
{
	char err[512] = "";
	long long id = 0;
	jv body = jv_object();
	int rc;

	if (!set_text(&body, "source_type", "source-type", OPT(o, O_SOURCE_TYPE) ? OPT(o, O_SOURCE_TYPE) : "manual") ||
	    !set_text(&body, "alert_title", "title", OPT(o, O_TITLE)) ||
	    !set_text(&body, "alert_service", "service", OPT(o, O_SERVICE)) ||
	    !set_text(&body, "severity", "severity", OPT(o, O_SEVERITY))) {
		jv_free(body);
		return AUR_EXIT_DATAERR;
	}
	if (OPT(o, O_METADATA)) {
		const char *text = OPT(o, O_METADATA);
		jv meta = jv_parse(text);

		if (!jv_is_valid(meta)) {
			jv msg = jv_invalid_get_msg(meta);

			aur_err("alert_metadata: --metadata is not JSON: %s",
				jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "?");
			jv_free(msg);
			jv_free(body);
			return AUR_EXIT_DATAERR;
		}
		/* what libjq reads but changes: invalid UTF-8 (replaced), nan, numbers like 01 */
		if (!aur_jsonvalid_check(text, strlen(text))) {
			aur_err("alert_metadata: --metadata is not strict JSON (RFC 8259): invalid UTF-8, nan, "
				"a number such as 01, or nesting deeper than 256");
			jv_free(meta);
			jv_free(body);
			return AUR_EXIT_DATAERR;
		}
		body = jv_object_set(body, jv_string("alert_metadata"), meta);
	}
	rc = aur_api_incidents_create(db, body, aur_time_now_ms(), &id, err, sizeof(err));
	if (rc < 0)
		return failed(rc, err);
	if (OPT(o, O_JSON))
		return print_incident(db, id, 1);
	errno = 0;
	return printf("%lld\n", id) < 0 ? write_failed() : 0;
}

/* resolve, reopen, merge: a refused move changes nothing and exits 65. */
static int cmd_change(sqlite3 *db, const struct opts *o)
{
	char err[512] = "";
	long long now = aur_time_now_ms();
	long long id;
	long long into = 0;
	int rc;

	rc = parse_id(o->arg, o->cmd, &id);
	if (rc == 0 && OPT(o, O_INTO))
		rc = parse_id(OPT(o, O_INTO), "--into", &into);
	if (rc != 0)
		return rc;
	if (into)
		rc = aur_incident_write_merge(db, id, into, now, err, sizeof(err));
	else if (!strcmp(o->cmd, "reopen"))
		rc = aur_incident_write_reopen(db, id, now, err, sizeof(err));
	else
		rc = aur_incident_write_resolve(db, id, OPT(o, O_REASON), now, err, sizeof(err));
	if (rc < 0)
		return failed(rc, err);
	errno = 0;
	if (into)
		rc = printf("incident %lld merged into %lld\n", id, into);
	else
		rc = printf("incident %lld %s\n", id, strcmp(o->cmd, "reopen") ? "resolved" : "reopened");
	return rc < 0 ? write_failed() : 0;
}

/* Who acknowledges or comments: --by, else $USER, else "operator". */
static const char *author(const struct opts *o)
{
	const char *by = OPT(o, O_BY);

	if (!by || !*by)
		by = getenv("USER");
	return by && *by ? by : "operator";
}

/* ack, comment: a second acknowledgement, or one of a closed incident, changes nothing and exits 65. */
static int cmd_people(sqlite3 *db, const struct opts *o)
{
	char err[512] = "";
	long long now = aur_time_now_ms();
	long long id;
	long long cid = 0;
	int rc;

	rc = parse_id(o->arg, o->cmd, &id);
	if (rc != 0)
		return rc;
	if (!strcmp(o->cmd, "ack"))
		rc = aur_incident_write_acknowledge(db, id, author(o), now, err, sizeof(err));
	else
		rc = aur_incident_write_comment(db, id, author(o), o->arg2, now, &cid, err, sizeof(err));
	if (rc < 0)
		return failed(rc, err);
	errno = 0;
	if (cid)
		rc = printf("incident %lld: comment %lld by %s\n", id, cid, author(o));
	else
		rc = printf("incident %lld acknowledged by %s\n", id, author(o));
	return rc < 0 ? write_failed() : 0;
}

/*
 * The model to write postmortems with: none under --template, else the
 * "llm" part of --config FILE or $AURORA_RCA_CONFIG when either is given.
 * 0, or an exit code (78 for a configuration that cannot be used).
 */
static int postmortem_model(const struct opts *o, struct aur_inv_llm **llm)
{
	const char *config = OPT(o, O_CONFIG);
	char err[1024] = "";

	*llm = NULL;
	if (OPT(o, O_TEMPLATE))
		return 0;
	if (!config)
		config = getenv("AURORA_RCA_CONFIG");
	if (!config || !*config)
		return 0;
	if (aur_inv_llm_load(config, llm, err, sizeof(err)) < 0) {
		aur_err("%s", err);
		return AUR_EXIT_CONFIG;
	}
	return 0;
}

static int cmd_postmortem(sqlite3 *db, const struct opts *o)
{
	struct aur_postmortem_options po = { NULL, AUR_POSTMORTEM_DEFAULT_TIMEOUT_MS };
	struct aur_inv_llm *llm = NULL;
	char err[512] = "";
	char by[128] = "";
	char why[512] = "";
	char *md = NULL;
	long long id;
	long long secs;
	int generated = 0;
	int rc;

	rc = parse_id(o->arg, "postmortem", &id);
	if (rc != 0)
		return rc;
	if (OPT(o, O_LLM_TIMEOUT)) {
		if (aur_cli_parse_ll(OPT(o, O_LLM_TIMEOUT), 1, 3600, &secs) < 0)
			return usage_error("--llm-timeout wants whole seconds (1 to 3600): %s", OPT(o, O_LLM_TIMEOUT));
		po.timeout_ms = secs * 1000;
	}
	rc = postmortem_model(o, &llm);
	if (rc != 0)
		return rc;
	po.llm = llm ? aur_inv_llm_config(llm) : NULL;
	rc = aur_postmortem(db, id, OPT(o, O_REGENERATE) != NULL, aur_time_now_ms(), &po, &md, &generated, by,
			    sizeof(by), why, sizeof(why), err, sizeof(err));
	aur_inv_llm_free(llm);
	if (rc < 0)
		return failed(rc, err);
	if (why[0])
		aur_warn("incident %lld: the model's postmortem was not used (%s); the template wrote it", id, why);
	aur_debug("incident %lld: postmortem %s%s", id, generated ? "generated by " : "as stored", by);
	errno = 0;
	rc = fputs(md, stdout) == EOF ? write_failed() : 0;
	free(md);
	return rc;
}

/* The age prune uses: --resolved-before, else the setting (0: never). 0, or an exit code. */
static int prune_age(sqlite3 *db, const struct opts *o, char **age, long long *ms)
{
	char err[512] = "";

	if (OPT(o, O_RESOLVED_BEFORE)) {
		if (aur_retention_parse(OPT(o, O_RESOLVED_BEFORE), ms) < 0 || *ms == 0)
			return usage_error("--resolved-before wants an age of an hour or more (90d, 12h, 2w): %s",
					   OPT(o, O_RESOLVED_BEFORE));
		*age = aur_xstrdup(OPT(o, O_RESOLVED_BEFORE));
		return 0;
	}
	if (aur_retention_get(db, AUR_RETENTION_INCIDENTS_KEY, AUR_RETENTION_INCIDENTS_DEFAULT, age, ms, err,
			      sizeof(err)) < 0) {
		aur_err("%s (aurora-incident retention AGE sets it)", err);
		return AUR_EXIT_DATAERR;
	}
	return 0;
}

static int cmd_prune(sqlite3 *db, const struct opts *o)
{
	struct aur_retention_options ro;
	struct aur_retention_incident_counts c;
	struct aur_buf b;
	char err[512] = "";
	char *age = NULL;
	long long ms = 0;
	long long batch = AUR_RETENTION_BATCH_DEFAULT;
	long long pause = AUR_RETENTION_PAUSE_DEFAULT_MS;
	int rc;

	if (OPT(o, O_BATCH) && aur_cli_parse_ll(OPT(o, O_BATCH), 1, 100000, &batch) < 0)
		return usage_error("--batch wants incidents per transaction (1 to 100000): %s", OPT(o, O_BATCH));
	if (OPT(o, O_PAUSE) && aur_cli_parse_ll(OPT(o, O_PAUSE), 0, 60000, &pause) < 0)
		return usage_error("--pause-ms wants milliseconds (0 to 60000): %s", OPT(o, O_PAUSE));
	aur_retention_options_init(&ro);
	aur_buf_init(&b, 0);
	ro.dry_run = OPT(o, O_DRY_RUN) != NULL;
	ro.batch = (int)batch;
	ro.pause_ms = (int)pause;
	rc = prune_age(db, o, &age, &ms);
	if (rc != 0 || ms == 0) {
		if (rc == 0)
			aur_info("retention is %s: nothing to prune", age);
		goto out;
	}
	ro.cutoff_ms = aur_time_now_ms() - ms;
	rc = aur_retention_prune_incidents(db, &ro, &c, err, sizeof(err));
	if (rc < 0)
		rc = failed(rc == -EINVAL ? -EIO : rc, err);
	if (OPT(o, O_JSON)) {
		int wrc = put_json(aur_retention_incidents_json(&c, &ro, age));

		rc = rc ? rc : wrc;
	} else {
		int wrc;

		aur_retention_incidents_text(&c, &ro, age, &b);
		wrc = flush_buf(&b);
		rc = rc ? rc : wrc;
	}
out:
	free(age);
	aur_buf_release(&b);
	return rc;
}

/* retention: print the age prune uses, or set it ("default" removes the setting). */
static int cmd_retention(sqlite3 *db, const struct opts *o)
{
	char err[512] = "";
	char *age = NULL;
	long long ms;
	int rc;

	if (o->arg) {
		rc = aur_retention_set(db, AUR_RETENTION_INCIDENTS_KEY, strcmp(o->arg, "default") ? o->arg : NULL, err,
				       sizeof(err));
		if (rc == -EINVAL)
			return usage_error("retention: %s", err);
		if (rc < 0)
			return failed(rc, err);
	}
	if (aur_retention_get(db, AUR_RETENTION_INCIDENTS_KEY, AUR_RETENTION_INCIDENTS_DEFAULT, &age, &ms, err,
			      sizeof(err)) < 0) {
		aur_err("%s", err);
		return AUR_EXIT_DATAERR;
	}
	if (OPT(o, O_JSON)) {
		jv r = jv_object();

		r = jv_object_set(r, jv_string("v"), jv_number(1));
		r = jv_object_set(r, jv_string("type"), jv_string("retention"));
		r = jv_object_set(r, jv_string("table"), jv_string("incidents"));
		r = jv_object_set(r, jv_string("retention"), jv_string(age));
		rc = put_json(r);
	} else {
		errno = 0;
		rc = printf("%s\n", age) < 0 ? write_failed() : 0;
	}
	free(age);
	return rc;
}

/* Block SIGTERM, SIGINT and SIGHUP and read them from a signalfd; -1 on failure. */
static int stop_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

static int watch_emit(jv ev, void *arg)
{
	struct aur_buf *b = arg;
	int rc;

	if (!b)
		return put_json(ev);
	aur_incident_text_event(ev, b);
	jv_free(ev);
	rc = flush_buf(b);
	return rc;
}

static int watch_flush(void *arg)
{
	(void)arg;
	errno = 0;
	return fflush(stdout) != 0 ? write_failed() : 0;
}

static int cmd_watch(sqlite3 *db, const char *path, const struct opts *o)
{
	struct aur_follow f = { .ifd = -1 };
	struct aur_incident_watch w = { .db = db, .follow = &f, .stop_fd = -1, .out_fd = -1,
					.emit = watch_emit, .batch_done = watch_flush };
	struct aur_buf b;
	struct stat st;
	char err[512] = "";
	long long v = 1000;
	int cb_rc = 0;
	int rc;

	aur_buf_init(&b, 0);
	w.arg = OPT(o, O_JSON) ? NULL : &b;
	if (OPT(o, O_POLL) && aur_cli_parse_ll(OPT(o, O_POLL), 1, 3600000, &v) < 0)
		return usage_error("--poll-ms wants milliseconds (1 to 3600000): %s", OPT(o, O_POLL));
	w.poll_ms = (int)v;
	if (OPT(o, O_FROM) && aur_cli_parse_ll(OPT(o, O_FROM), 0, INT64_MAX, &v) < 0)
		return usage_error("--from wants an event id: %s", OPT(o, O_FROM));
	w.after = OPT(o, O_FROM) && v > 0 ? v - 1 : 0;
	rc = OPT(o, O_FROM) ? 0 : aur_incident_events_max_id(db, &w.after, err, sizeof(err));
	if (rc < 0)
		return failed(rc, err);
	w.stop_fd = stop_signals();
	if (w.stop_fd < 0) {
		aur_err("signalfd: %s", strerror(errno));
		return AUR_EXIT_SOFTWARE;
	}
	/* a pipe or socket on stdout reports its reader leaving even while we sleep */
	if (fstat(1, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
		w.out_fd = 1;
	if (aur_follow_init(&f, path, err, sizeof(err)) < 0) {
		aur_warn("%s", err);
		if (f.db_name[0] == '\0') {
			rc = AUR_EXIT_CONFIG;
			goto out;
		}
	}
	aur_debug("watching %s after event %lld (%s)", path, w.after, f.ifd >= 0 ? "inotify" : "polling");
	rc = aur_incident_watch_run(&w, &cb_rc, err, sizeof(err));
	if (rc < 0)
		rc = failed(rc, err);
	else if (rc == AUR_INCIDENT_WATCH_GONE)
		rc = EXIT_GONE;
	else
		rc = cb_rc;
out:
	aur_follow_release(&f);
	close(w.stop_fd);
	aur_buf_release(&b);
	return rc;
}

/* Open the database; only create may make a new file. */
static int open_db(const char *path, int create, sqlite3 **db)
{
	struct stat st;
	char err[512] = "";
	int rc;

	if (!create && stat(path, &st) < 0) {
		if (errno == ENOENT) {
			aur_err("no database at %s (check --db and AURORA_DB)", path);
			return AUR_EXIT_CONFIG;
		}
		aur_err("%s: %s", path, strerror(errno));
		return AUR_EXIT_IOERR;
	}
	rc = aur_db_open(db, path, NULL, err, sizeof(err));
	return rc < 0 ? failed(rc == -EINVAL ? -EIO : rc, err) : 0;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	sqlite3 *db = NULL;
	const char *path;
	long long id;
	int rc;

	aur_log_init(PROG);
	signal(SIGPIPE, SIG_IGN);
	rc = parse(argc, argv, &o);
	if (rc >= 0 || !o.cmd)
		goto out;
	path = aur_db_default_path(OPT(&o, O_DB));
	rc = open_db(path, !strcmp(o.cmd, "create"), &db);
	if (rc != 0)
		goto out;
	if (!strcmp(o.cmd, "list"))
		rc = cmd_list(db, &o);
	else if (!strcmp(o.cmd, "show"))
		rc = parse_id(o.arg, "show", &id) ? AUR_EXIT_USAGE : print_incident(db, id, OPT(&o, O_JSON) != NULL);
	else if (!strcmp(o.cmd, "create"))
		rc = cmd_create(db, &o);
	else if (!strcmp(o.cmd, "postmortem"))
		rc = cmd_postmortem(db, &o);
	else if (!strcmp(o.cmd, "watch"))
		rc = cmd_watch(db, path, &o);
	else if (!strcmp(o.cmd, "prune"))
		rc = cmd_prune(db, &o);
	else if (!strcmp(o.cmd, "retention"))
		rc = cmd_retention(db, &o);
	else if (!strcmp(o.cmd, "ack") || !strcmp(o.cmd, "comment"))
		rc = cmd_people(db, &o);
	else
		rc = cmd_change(db, &o);
out:
	aur_db_close(db);
	errno = 0;
	if ((fflush(stdout) != 0 || ferror(stdout)) && rc != EXIT_GONE)
		rc = write_failed();
	if (fclose(stdout) != 0 && rc != EXIT_GONE && errno != EPIPE && rc == 0) {
		aur_err("write error: %s", strerror(errno));
		rc = AUR_EXIT_IOERR;
	}
	return rc == EXIT_GONE ? AUR_EXIT_OK : rc;
}
