/*
 * investigate_llm.c - the LLM investigator: a chat model asks for evidence
 * through tools and ends with a JSON answer in the built-in's shape.
 *
 * Everything it does is bounded and unattended: a step cap, one time cap
 * over the whole conversation (inside aurora-rca's --timeout, so the
 * fallback still has time), each tool result cut to a size, an identical
 * tool call refused, commands only through the operator's allow-list
 * (diag.h). Whenever it cannot end with a valid answer - the provider
 * failed, the answer is not the structured result, a cap was hit - it says
 * why in a thought and hands the incident to the built-in investigator, so
 * an incident is never left without an analysis because a model misbehaved.
 *
 * The key never passes through here: llm.c reads it at each call.
 * http_get is offered only when the configuration lists base URLs.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "db.h"
#include "diag.h"
#include "fetch.h"
#include "investigate.h"
#include "llm.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

#define CONFIG_MAX (1 << 20)
#define THOUGHT_MAX 1000
#define MAX_ROWS 30
#define MAX_EVIDENCE 20
#define MAX_SUGGESTIONS 10

struct aur_inv_llm {
	struct aur_llm_config llm;
	struct aur_diag_policy *policy; /* NULL: run_diagnostic refuses every command */
	int max_steps;
	long long time_cap_ms;
	size_t max_result;
	jv http_allow; /* URL prefixes http_get may fetch under; an empty array: no http_get */
};

static const char system_prompt[] =
	"You are a read-only SRE investigator. An incident has fired; find its most likely root cause from the "
	"evidence the tools give you. You cannot change anything and nobody will answer questions: whatever would "
	"need a person's approval (a restart, a rollback, a config change) goes into suggestions. Use the tools "
	"(get_incident, related_alerts, recent_changes, similar_incidents, run_diagnostic) a few times at most, "
	"never the same call twice. When done, answer with one JSON object and nothing else:\n"
	"{\"summary\": STRING, \"root_cause\": {\"entity\": STRING|null, \"kind\": "
	"\"deploy\"|\"build\"|\"dependency\"|\"host\"|\"fleet\"|\"config\"|\"certificate\"|\"dns\"|\"capacity\"|"
	"\"unknown\", \"summary\": STRING, \"confidence\": 0..1, \"evidence\": [{\"what\": STRING, \"id\": "
	"ALERT-OR-BUILD-ID or \"link\": URL}]}, \"suggestions\": [{\"kind\": \"diagnostic\"|\"fix\", \"command\": "
	"STRING|null, \"description\": STRING, \"risk\": \"low\"|\"medium\"|\"high\"}]}";

static const char *const kinds[] = { "deploy", "build", "dependency", "host", "fleet", "config",
				     "certificate", "dns", "capacity", "unknown", NULL };

static int in_set(const char *s, const char *const *set)
{
	for (size_t i = 0; set[i]; i++)
		if (!strcmp(s, set[i]))
			return 1;
	return 0;
}

void aur_inv_llm_free(struct aur_inv_llm *c)
{
	if (!c)
		return;
	aur_llm_config_release(&c->llm);
	aur_diag_policy_free(c->policy);
	jv_free(c->http_allow);
	free(c);
}

static int read_file(const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;
	int rc = 0;

	if (!f)
		return -errno;
	buf = aur_xmalloc(CONFIG_MAX + 1);
	n = fread(buf, 1, CONFIG_MAX + 1, f);
	if (ferror(f))
		rc = -EIO;
	else if (n > CONFIG_MAX)
		rc = -EFBIG;
	fclose(f);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

/* An integer setting of obj in [lo, hi]: 0 (def when absent) or -EINVAL. */
static int int_field(jv obj, const char *key, long long lo, long long hi, long long def, long long *out)
{
	jv v = jv_object_get(jv_copy(obj), jv_string(key));
	double d;

	*out = def;
	if (jv_get_kind(v) == JV_KIND_INVALID || jv_get_kind(v) == JV_KIND_NULL) {
		jv_free(v);
		return 0;
	}
	if (jv_get_kind(v) != JV_KIND_NUMBER) {
		jv_free(v);
		return -EINVAL;
	}
	d = jv_number_value(v);
	jv_free(v);
	if (d != floor(d) || d < (double)lo || d > (double)hi)
		return -EINVAL;
	*out = (long long)d;
	return 0;
}

int aur_inv_llm_load(const char *path, struct aur_inv_llm **out, char *err, size_t errlen)
{
	static const char *const known[] = { "llm", "allow_list", "max_steps", "time_cap", "max_tool_result_bytes",
					     "http_allow", NULL };
	struct aur_inv_llm *c = aur_xcalloc(1, sizeof(*c));
	char *text = NULL;
	int nprefix;
	char sub[512];
	size_t len = 0;
	long long n;
	jv doc = jv_invalid(), v;
	int rc;

	*out = NULL;
	c->http_allow = jv_array();
	rc = read_file(path, &text, &len);
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		goto out;
	}
	doc = jv_parse_sized(text, (int)len);
	if (jv_get_kind(doc) != JV_KIND_OBJECT) {
		snprintf(err, errlen, "%s: not a JSON object", path);
		rc = -EINVAL;
		goto out;
	}
	jv_object_foreach(doc, key, val)
	{
		if (rc == 0 && !in_set(jv_string_value(key), known)) {
			snprintf(err, errlen, "%s: unknown setting \"%.100s\"", path, jv_string_value(key));
			rc = -EINVAL;
		}
		jv_free(key);
		jv_free(val);
	}
	if (rc < 0)
		goto out;
	if (int_field(doc, "max_steps", 1, 50, 8, &n) < 0) {
		snprintf(err, errlen, "%s: max_steps: a whole number from 1 to 50", path);
		rc = -EINVAL;
		goto out;
	}
	c->max_steps = (int)n;
	if (int_field(doc, "time_cap", 1, 3600, 45, &n) < 0) {
		snprintf(err, errlen, "%s: time_cap: whole seconds from 1 to 3600", path);
		rc = -EINVAL;
		goto out;
	}
	c->time_cap_ms = n * 1000;
	if (int_field(doc, "max_tool_result_bytes", 256, 65536, 8192, &n) < 0) {
		snprintf(err, errlen, "%s: max_tool_result_bytes: from 256 to 65536", path);
		rc = -EINVAL;
		goto out;
	}
	c->max_result = (size_t)n;
	v = jv_object_get(jv_copy(doc), jv_string("allow_list"));
	if (jv_get_kind(v) == JV_KIND_STRING) {
		rc = aur_diag_policy_load(jv_string_value(v), &c->policy, sub, sizeof(sub));
		if (rc < 0)
			snprintf(err, errlen, "%s: allow_list: %s", path, rc == -EINVAL ? sub : strerror(-rc));
	} else if (jv_is_valid(v) && jv_get_kind(v) != JV_KIND_NULL) {
		snprintf(err, errlen, "%s: allow_list: a file name", path);
		rc = -EINVAL;
	}
	jv_free(v);
	if (rc < 0)
		goto out;
	v = jv_object_get(jv_copy(doc), jv_string("http_allow"));
	if (jv_get_kind(v) == JV_KIND_ARRAY) {
		nprefix = jv_array_length(jv_copy(v));
		for (int i = 0; rc == 0 && i < nprefix; i++) {
			jv u = jv_array_get(jv_copy(v), i);

			if (jv_get_kind(u) != JV_KIND_STRING || i >= 32 ||
			    (strncmp(jv_string_value(u), "http://", 7) != 0 &&
			     strncmp(jv_string_value(u), "https://", 8) != 0) ||
			    strlen(jv_string_value(u)) < 10) {
				snprintf(err, errlen, "%s: http_allow: up to 32 URL prefixes starting http:// or https://",
					 path);
				rc = -EINVAL;
				jv_free(u);
			} else {
				c->http_allow = jv_array_append(c->http_allow, u);
			}
		}
	} else if (jv_is_valid(v) && jv_get_kind(v) != JV_KIND_NULL) {
		snprintf(err, errlen, "%s: http_allow: a list of URL prefixes", path);
		rc = -EINVAL;
	}
	jv_free(v);
	if (rc < 0)
		goto out;
	v = jv_object_get(jv_copy(doc), jv_string("llm"));
	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		jv_free(v);
		snprintf(err, errlen, "%s: no \"llm\" object (provider, url, model, api_key_file or api_key_env)", path);
		rc = -EINVAL;
		goto out;
	}
	rc = aur_llm_config_parse(v, &c->llm, sub, sizeof(sub));
	if (rc < 0) {
		snprintf(err, errlen, "%s: llm: %s", path, sub);
		goto out;
	}
	*out = c;
	c = NULL;
out:
	jv_free(doc);
	free(text);
	if (c) {
		aur_diag_policy_free(c->policy);
		jv_free(c->http_allow);
		free(c);
	}
	return rc;
}

const struct aur_llm_config *aur_inv_llm_config(const struct aur_inv_llm *c)
{
	return &c->llm;
}

/* ---- the investigation ---- */

struct llm_inv {
	sqlite3 *db;
	long long id;
	const struct aur_inv_options *o;
	const struct aur_inv_llm *c;
	const struct aur_inv_sink *sink;
	char line[THOUGHT_MAX + 1]; /* streamed text not yet said */
	size_t linelen;
	int quiet;      /* the rest of this turn's text is the JSON answer: not a thought */
	int sink_rc;    /* what a sink returned from inside the text callback */
	long long started_ms, last_ms;
};

static int think(struct llm_inv *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int think(struct llm_inv *v, const char *fmt, ...)
{
	char buf[THOUGHT_MAX + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return v->sink->thought(v->sink->ctx, buf);
}

static int flush_line(struct llm_inv *v)
{
	size_t a = 0, b = v->linelen;
	int rc = 0;

	v->line[b] = '\0';
	while (a < b && (v->line[a] == ' ' || v->line[a] == '\t' || v->line[a] == '\r'))
		a++;
	while (b > a && (v->line[b - 1] == ' ' || v->line[b - 1] == '\t' || v->line[b - 1] == '\r'))
		v->line[--b] = '\0';
	if (v->line[a] == '{' || !strncmp(v->line + a, "```", 3))
		v->quiet = 1;
	if (!v->quiet && a < b)
		rc = v->sink->thought(v->sink->ctx, v->line + a);
	v->linelen = 0;
	return rc;
}

/* Streamed text becomes a thought a line at a time, as it arrives. */
static int on_text(void *arg, const char *text, size_t len)
{
	struct llm_inv *v = arg;
	int rc;

	for (size_t i = 0; i < len; i++) {
		if (text[i] == '\n' || v->linelen == THOUGHT_MAX) {
			rc = flush_line(v);
			if (rc < 0) {
				v->sink_rc = rc;
				return rc;
			}
			if (text[i] == '\n')
				continue;
		}
		v->line[v->linelen++] = text[i];
	}
	return 0;
}

/* Cut s to at most max bytes on a UTF-8 boundary, saying so. */
static jv capped(const char *s, size_t max)
{
	size_t n = strlen(s);
	char note[96];

	if (n <= max)
		return jv_string(s);
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	snprintf(note, sizeof(note), "\n[cut at %zu bytes]", n);
	return jv_string_concat(jv_string_sized(s, (int)n), jv_string(note));
}

static jv col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? jv_string((const char *)t) : jv_null();
}

static int incident_row(struct llm_inv *v, jv *out, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = aur_db_prepare(v->db, &st,
				"SELECT id, title, service, severity, source_link, started_ms, coalesce(previous_incident, 0)"
				" FROM incidents WHERE id = ?",
				err, errlen);

	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, v->id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		snprintf(err, errlen, "no incident %lld", v->id);
		sqlite3_finalize(st);
		return -ENOENT;
	}
	*out = jv_object_set(jv_object(), jv_string("id"), jv_number((double)sqlite3_column_int64(st, 0)));
	*out = jv_object_set(*out, jv_string("title"), col_text(st, 1));
	*out = jv_object_set(*out, jv_string("service"), col_text(st, 2));
	*out = jv_object_set(*out, jv_string("severity"), col_text(st, 3));
	*out = jv_object_set(*out, jv_string("link"), col_text(st, 4));
	*out = jv_object_set(*out, jv_string("started_ms"), jv_number((double)sqlite3_column_int64(st, 5)));
	if (sqlite3_column_int64(st, 6))
		*out = jv_object_set(*out, jv_string("previous_incident"),
				     jv_number((double)sqlite3_column_int64(st, 6)));
	v->started_ms = sqlite3_column_int64(st, 5);
	sqlite3_finalize(st);
	return 0;
}

/* An alert row (id, source, severity, title, service, host, first_seen_ms[, record]). */
static jv alert_obj(sqlite3_stmt *st, int with_record)
{
	static const char *const names[] = { "source", "severity", "title", "service", "host" };
	jv a = jv_object_set(jv_object(), jv_string("id"), jv_number((double)sqlite3_column_int64(st, 0)));

	for (int i = 0; i < 5; i++)
		a = jv_object_set(a, jv_string(names[i]), col_text(st, i + 1));
	a = jv_object_set(a, jv_string("first_seen_ms"), jv_number((double)sqlite3_column_int64(st, 6)));
	if (with_record) {
		const char *rec = (const char *)sqlite3_column_text(st, 7);
		jv r = rec ? jv_parse(rec) : jv_invalid();

		if (jv_get_kind(r) == JV_KIND_OBJECT) {
			a = jv_object_set(a, jv_string("description"), jv_object_get(jv_copy(r), jv_string("description")));
			a = jv_object_set(a, jv_string("context"), jv_object_get(jv_copy(r), jv_string("context")));
			a = jv_object_set(a, jv_string("link"), jv_object_get(jv_copy(r), jv_string("link")));
		}
		jv_free(r);
	}
	return a;
}

/* Rows of a prepared query into an array with row(): 0 or -errno. */
static int rows(struct llm_inv *v, sqlite3_stmt *st, jv (*row)(sqlite3_stmt *, int), int arg, jv *out, char *err,
		size_t errlen)
{
	int rc;

	*out = jv_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*out = jv_array_append(*out, row(st, arg));
	if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(v->db));
		jv_free(*out);
		*out = jv_invalid();
		return aur_db_errno(rc);
	}
	return 0;
}

/*
 * With a catalog: the incident's component (that of its first alert the
 * catalog knows, else of its service) and that component's dependencies,
 * {"component", "depends_on": [...]}; null when the catalog knows none.
 */
static jv catalog_of_incident(struct llm_inv *v, const char *service)
{
	const struct aur_catalog *cat = v->o->catalog;
	const char *deps[16];
	const char *comp = NULL;
	sqlite3_stmt *st = NULL;
	jv list;
	size_t n;

	if (aur_db_prepare(v->db, &st,
			   "SELECT a.record FROM incident_alerts ia JOIN alerts a ON a.id = ia.alert_id"
			   " WHERE ia.incident_id = ? ORDER BY a.first_seen_ms, a.id LIMIT 50",
			   NULL, 0) == 0) {
		sqlite3_bind_int64(st, 1, v->id);
		while (!comp && sqlite3_step(st) == SQLITE_ROW) {
			const char *rec = (const char *)sqlite3_column_text(st, 0);
			jv r = rec ? jv_parse(rec) : jv_invalid();

			comp = aur_inv_component_of(cat, r);
			jv_free(r);
		}
		sqlite3_finalize(st);
	}
	if (!comp && service)
		comp = aur_catalog_resolve(cat, AUR_CATALOG_ANY, service);
	if (!comp)
		return jv_null();
	n = aur_catalog_dependencies(cat, comp, deps, sizeof(deps) / sizeof(deps[0]));
	list = jv_array();
	for (size_t i = 0; i < n && i < sizeof(deps) / sizeof(deps[0]); i++)
		list = jv_array_append(list, jv_string(deps[i]));
	return jv_object_set(jv_object_set(jv_object(), jv_string("component"), jv_string(comp)),
			     jv_string("depends_on"), list);
}

static int tool_get_incident(struct llm_inv *v, jv *out, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	jv inc = jv_invalid(), alerts = jv_invalid();
	int rc = incident_row(v, &inc, err, errlen);

	if (rc < 0)
		return rc;
	rc = aur_db_prepare(v->db, &st,
			    "SELECT a.id, a.source, a.severity, a.title, a.service, a.host, a.first_seen_ms, a.record"
			    " FROM incident_alerts ia JOIN alerts a ON a.id = ia.alert_id WHERE ia.incident_id = ?"
			    " ORDER BY a.first_seen_ms, a.id LIMIT 50",
			    err, errlen);
	if (rc == 0) {
		sqlite3_bind_int64(st, 1, v->id);
		rc = rows(v, st, alert_obj, 1, &alerts, err, errlen);
		sqlite3_finalize(st);
	}
	if (rc < 0) {
		jv_free(inc);
		return rc;
	}
	if (v->o->catalog) {
		jv service = jv_object_get(jv_copy(inc), jv_string("service"));

		inc = jv_object_set(inc, jv_string("catalog"),
				    catalog_of_incident(v, jv_get_kind(service) == JV_KIND_STRING ? jv_string_value(service)
												 : NULL));
		jv_free(service);
	}
	*out = jv_object_set(inc, jv_string("alerts"), alerts);
	return 0;
}

static int tool_related(struct llm_inv *v, jv *out, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = aur_db_prepare(v->db, &st,
				"SELECT id, source, severity, title, service, host, first_seen_ms FROM alerts"
				" WHERE first_seen_ms BETWEEN ?1 AND ?2 AND id NOT IN"
				" (SELECT alert_id FROM incident_alerts WHERE incident_id = ?3)"
				" ORDER BY first_seen_ms DESC LIMIT ?4",
				err, errlen);

	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, v->started_ms - 30 * 60000LL);
	sqlite3_bind_int64(st, 2, v->started_ms + 30 * 60000LL);
	sqlite3_bind_int64(st, 3, v->id);
	sqlite3_bind_int(st, 4, MAX_ROWS);
	rc = rows(v, st, alert_obj, 0, out, err, errlen);
	sqlite3_finalize(st);
	return rc;
}

static jv build_obj(sqlite3_stmt *st, int arg)
{
	const char *rec = (const char *)sqlite3_column_text(st, 5);
	jv r = rec ? jv_parse(rec) : jv_invalid();
	jv b = jv_object_set(jv_object(), jv_string("source"), col_text(st, 0));

	(void)arg;
	b = jv_object_set(b, jv_string("job"), col_text(st, 1));
	b = jv_object_set(b, jv_string("number"), jv_number((double)sqlite3_column_int64(st, 2)));
	b = jv_object_set(b, jv_string("result"), col_text(st, 3));
	b = jv_object_set(b, jv_string("at_ms"), jv_number((double)sqlite3_column_int64(st, 4)));
	if (jv_get_kind(r) == JV_KIND_OBJECT) {
		b = jv_object_set(b, jv_string("link"), jv_object_get(jv_copy(r), jv_string("link")));
		b = jv_object_set(b, jv_string("context"), jv_object_get(jv_copy(r), jv_string("context")));
	}
	/* the tail of its console, when the built-in investigator read it (redacted when stored) */
	if (sqlite3_column_type(st, 6) == SQLITE_TEXT)
		b = jv_object_set(b, jv_string("console_tail"), col_text(st, 6));
	jv_free(r);
	return b;
}

/* The builds the built-in weighs: those of the builds table in the lookback before the incident. */
static int tool_recent_changes(struct llm_inv *v, jv *out, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = aur_db_prepare(v->db, &st,
				"SELECT source, job, number, result, at_ms, record, console_excerpt FROM builds"
				" WHERE at_ms BETWEEN ?1 AND ?2 ORDER BY at_ms DESC, id DESC LIMIT ?3",
				err, errlen);

	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, v->started_ms - v->o->lookback_ms);
	sqlite3_bind_int64(st, 2, v->started_ms + 30 * 60000LL);
	sqlite3_bind_int(st, 3, MAX_ROWS);
	rc = rows(v, st, build_obj, 0, out, err, errlen);
	sqlite3_finalize(st);
	return rc;
}

static jv similar_obj(sqlite3_stmt *st, int arg)
{
	const char *rc = (const char *)sqlite3_column_text(st, 5);
	jv o = jv_object_set(jv_object(), jv_string("id"), jv_number((double)sqlite3_column_int64(st, 0)));

	(void)arg;
	o = jv_object_set(o, jv_string("title"), col_text(st, 1));
	o = jv_object_set(o, jv_string("service"), col_text(st, 2));
	o = jv_object_set(o, jv_string("started_ms"), jv_number((double)sqlite3_column_int64(st, 3)));
	o = jv_object_set(o, jv_string("summary"), col_text(st, 4));
	o = jv_object_set(o, jv_string("root_cause"), rc ? jv_parse(rc) : jv_null());
	return o;
}

static int tool_similar(struct llm_inv *v, jv *out, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = aur_db_prepare(v->db, &st,
				"SELECT o.id, o.title, o.service, o.started_ms, o.summary, o.root_cause"
				" FROM incidents o, incidents me WHERE me.id = ?1 AND o.id != me.id"
				" AND o.merged_into IS NULL AND (o.service = me.service OR o.title = me.title)"
				" ORDER BY o.started_ms DESC LIMIT 10",
				err, errlen);

	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, v->id);
	rc = rows(v, st, similar_obj, 0, out, err, errlen);
	sqlite3_finalize(st);
	return rc;
}

/* run_diagnostic: the result text, and a thought saying what happened. */
static char *tool_run_diagnostic(struct llm_inv *v, jv args, int *rc)
{
	struct aur_diag_result res;
	char why[1024], desc[256];
	jv cmd = jv_object_get(jv_copy(args), jv_string("command"));
	char *text;
	size_t n;

	*rc = 0;
	memset(&res, 0, sizeof(res));
	if (jv_get_kind(cmd) != JV_KIND_STRING) {
		jv_free(cmd);
		return aur_xstrdup("error: run_diagnostic takes {\"command\": STRING}");
	}
	if (!v->c->policy) {
		*rc = think(v, "run_diagnostic refused %.200s: no allow-list is configured", jv_string_value(cmd));
		jv_free(cmd);
		return aur_xstrdup("refused: no allow-list is configured, so no command may run; suggest it instead");
	}
	if (aur_diag_run_text(v->c->policy, jv_string_value(cmd), &res, why, sizeof(why)) < 0) {
		*rc = think(v, "run_diagnostic %s", why);
		jv_free(cmd);
		return aur_xstrdup(why);
	}
	aur_diag_result_describe(&res, desc, sizeof(desc));
	*rc = think(v, "Ran %.300s: %s", jv_string_value(cmd), desc);
	n = strlen(desc) + res.output_len + 8;
	text = aur_xmalloc(n);
	snprintf(text, n, "%s\n%s", desc, res.output ? res.output : "");
	aur_diag_result_release(&res);
	jv_free(cmd);
	return text;
}

/*
 * url lies under one of the configured prefixes: it starts with one, the
 * prefix ends at a path boundary (so http://grafana.example does not admit
 * http://grafana.example.evil), and nothing in it could step out of the
 * prefix once curl normalizes it (dot segments, backslashes, blanks).
 */
static int url_allowed(const struct aur_inv_llm *c, const char *url)
{
	int n = jv_array_length(jv_copy(c->http_allow));

	if (strstr(url, "/..") || strstr(url, "/.") || strchr(url, '\\') || strlen(url) > 2048)
		return 0;
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return 0;
	for (int i = 0; i < n; i++) {
		jv u = jv_array_get(jv_copy(c->http_allow), i);
		const char *pre = jv_string_value(u);
		size_t len = strlen(pre);
		int ok = !strncmp(url, pre, len) &&
			 (pre[len - 1] == '/' || url[len] == '\0' || url[len] == '/' || url[len] == '?');

		jv_free(u);
		if (ok)
			return 1;
	}
	return 0;
}

/* http_get: a GET of a URL under a configured prefix, bounded in bytes and time; no redirects (fetch.h). */
static char *tool_http_get(struct llm_inv *v, jv args, long long deadline, int *rc)
{
	jv url = jv_object_get(jv_copy(args), jv_string("url"));
	struct aur_fetch f;
	struct aur_fetch_result res;
	long left = (long)(deadline - aur_time_mono_ms());
	char err[256];
	char *red = NULL, *text;
	size_t rlen = 0, n;

	*rc = 0;
	if (jv_get_kind(url) != JV_KIND_STRING) {
		jv_free(url);
		return aur_xstrdup("error: http_get takes {\"url\": STRING}");
	}
	if (!url_allowed(v->c, jv_string_value(url))) {
		*rc = think(v, "http_get refused %.300s: not under a configured base URL", jv_string_value(url));
		jv_free(url);
		return aur_xstrdup("refused: the URL is not under a base URL the operator configured (http_allow)");
	}
	if (left > 10000)
		left = 10000;
	if (left < 1) {
		jv_free(url);
		return aur_xstrdup("error: no time left");
	}
	aur_fetch_init(&f);
	f.url = jv_string_value(url);
	f.timeout_ms = left;
	f.keep = v->c->max_result;
	if (aur_fetch_get(&f, &res, err, sizeof(err)) < 0) {
		*rc = think(v, "http_get %.300s failed: %s", jv_string_value(url), err);
		n = strlen(err) + 16;
		text = aur_xmalloc(n);
		snprintf(text, n, "error: %s", err);
		jv_free(url);
		return text;
	}
	red = aur_diag_redact(res.body, res.len, &rlen, NULL);
	*rc = think(v, "http_get %.300s: HTTP %ld, %zu bytes%s", jv_string_value(url), res.status, res.len,
		    res.cut ? " (cut)" : "");
	n = rlen + 64;
	text = aur_xmalloc(n);
	snprintf(text, n, "HTTP %ld%s\n%s", res.status, res.cut ? " (body cut)" : "", red);
	free(red);
	aur_fetch_result_release(&res);
	jv_free(url);
	return text;
}

/* Run one tool call: the text to send back (caller frees); *rc a sink's code. */
static char *run_tool(struct llm_inv *v, const char *name, jv args, long long deadline, int *rc)
{
	char err[512];
	jv out = jv_invalid();
	int r;
	char *s;

	*rc = 0;
	if (jv_get_kind(args) != JV_KIND_OBJECT)
		return aur_xstrdup("error: the arguments are not a JSON object");
	if (!strcmp(name, "run_diagnostic"))
		return tool_run_diagnostic(v, args, rc);
	if (!strcmp(name, "http_get") && jv_array_length(jv_copy(v->c->http_allow)) > 0)
		return tool_http_get(v, args, deadline, rc);
	if (!strcmp(name, "get_incident"))
		r = tool_get_incident(v, &out, err, sizeof(err));
	else if (!strcmp(name, "related_alerts"))
		r = tool_related(v, &out, err, sizeof(err));
	else if (!strcmp(name, "recent_changes"))
		r = tool_recent_changes(v, &out, err, sizeof(err));
	else if (!strcmp(name, "similar_incidents"))
		r = tool_similar(v, &out, err, sizeof(err));
	else
		return aur_xstrdup("error: no such tool");
	if (r < 0) {
		size_t n = strlen(err) + 16;

		s = aur_xmalloc(n);
		snprintf(s, n, "error: %s", err);
		return s;
	}
	out = jv_dump_string(out, 0);
	s = aur_xstrdup(jv_string_value(out));
	jv_free(out);
	return s;
}

static jv tool(const char *name, const char *description, jv properties)
{
	jv t = jv_object_set(jv_object(), jv_string("name"), jv_string(name));
	jv p = jv_object_set(jv_object(), jv_string("type"), jv_string("object"));

	p = jv_object_set(p, jv_string("properties"), properties);
	t = jv_object_set(t, jv_string("description"), jv_string(description));
	return jv_object_set(t, jv_string("parameters"), p);
}

static jv tools(const struct aur_inv_llm *c)
{
	jv url = jv_object_set(jv_object(), jv_string("type"), jv_string("string"));
	jv cmd = jv_object_set(jv_object(), jv_string("type"), jv_string("string"));
	jv a = jv_array();

	cmd = jv_object_set(cmd, jv_string("description"),
			    jv_string("one command line, no shell: only what the operator's allow-list permits"));
	a = jv_array_append(a, tool("get_incident", "the incident and its alerts, with their context", jv_object()));
	a = jv_array_append(a, tool("related_alerts", "other alerts within 30 minutes of the incident", jv_object()));
	a = jv_array_append(a, tool("recent_changes", "builds and deploys before the incident", jv_object()));
	a = jv_array_append(a, tool("similar_incidents", "earlier incidents of the same service or title, with "
							 "their root causes",
				    jv_object()));
	a = jv_array_append(a, tool("run_diagnostic", "run one read-only diagnostic command on the operator's machine",
				    jv_object_set(jv_object(), jv_string("command"), cmd)));
	if (jv_array_length(jv_copy(c->http_allow)) > 0) {
		jv bases = jv_dump_string(jv_copy(c->http_allow), 0);
		jv d = jv_string_fmt("GET a URL under one of %s (dashboards, status pages)", jv_string_value(bases));

		jv_free(bases);
		a = jv_array_append(a, tool("http_get", jv_string_value(d),
					    jv_object_set(jv_object(), jv_string("url"), url)));
		jv_free(d);
	} else {
		jv_free(url);
	}
	return a;
}

static jv message(const char *role, jv content)
{
	return jv_object_set(jv_object_set(jv_object(), jv_string("role"), jv_string(role)), jv_string("content"),
			     content);
}

static const char *str_or(jv o, const char *key, const char *def)
{
	jv v = jv_object_get(jv_copy(o), jv_string(key));
	const char *s = def;

	/* o keeps the string alive: the jv_copy above shares it */
	if (jv_get_kind(v) == JV_KIND_STRING)
		s = jv_string_value(v);
	jv_free(v);
	return s;
}

/*
 * The model's final text as the structured result: 0 with *summary,
 * *root_cause and *suggestions (an array of valid ones) set, or -EPROTO
 * with why saying what is wrong.
 */
static int parse_answer(const char *text, char **summary, jv *root_cause, jv *suggestions, char *why, size_t whylen)
{
	const char *a = strchr(text, '{'), *b = strrchr(text, '}');
	jv doc = jv_invalid(), rc_in = jv_invalid(), sug = jv_invalid(), ev, out = jv_invalid();
	jv conf;
	double c;
	int rc = -EPROTO;

	if (!a || !b || b < a) {
		snprintf(why, whylen, "the answer has no JSON object");
		goto out;
	}
	doc = jv_parse_sized(a, (int)(b - a + 1));
	if (jv_get_kind(doc) != JV_KIND_OBJECT) {
		snprintf(why, whylen, "the answer is not a JSON object");
		goto out;
	}
	rc_in = jv_object_get(jv_copy(doc), jv_string("root_cause"));
	if (!*str_or(doc, "summary", "") || jv_get_kind(rc_in) != JV_KIND_OBJECT) {
		snprintf(why, whylen, "the answer lacks a summary or a root_cause object");
		goto out;
	}
	if (!in_set(str_or(rc_in, "kind", ""), kinds)) {
		snprintf(why, whylen, "root_cause.kind \"%.40s\" is not one of the kinds", str_or(rc_in, "kind", ""));
		goto out;
	}
	if (!*str_or(rc_in, "summary", "")) {
		snprintf(why, whylen, "root_cause.summary is missing");
		goto out;
	}
	conf = jv_object_get(jv_copy(rc_in), jv_string("confidence"));
	if (jv_get_kind(conf) != JV_KIND_NUMBER) {
		jv_free(conf);
		snprintf(why, whylen, "root_cause.confidence is not a number");
		goto out;
	}
	c = jv_number_value(conf);
	jv_free(conf);
	c = isnan(c) ? 0 : c < 0 ? 0 : c > 1 ? 1 : c;
	out = jv_object_set(jv_object(), jv_string("entity"),
			    *str_or(rc_in, "entity", "") ? jv_string(str_or(rc_in, "entity", "")) : jv_null());
	out = jv_object_set(out, jv_string("kind"), jv_string(str_or(rc_in, "kind", "")));
	out = jv_object_set(out, jv_string("summary"), jv_string(str_or(rc_in, "summary", "")));
	out = jv_object_set(out, jv_string("confidence"), jv_number(round(c * 100) / 100));
	ev = jv_array();
	jv items = jv_object_get(jv_copy(rc_in), jv_string("evidence"));
	if (jv_get_kind(items) == JV_KIND_ARRAY) {
		jv_array_foreach(items, i, e)
		{
			if (jv_get_kind(e) == JV_KIND_OBJECT && *str_or(e, "what", "") && jv_array_length(jv_copy(ev)) < MAX_EVIDENCE) {
				jv id = jv_object_get(jv_copy(e), jv_string("id"));
				jv item = jv_object_set(jv_object(), jv_string("what"), jv_string(str_or(e, "what", "")));

				int cited = 0;

				if (jv_get_kind(id) == JV_KIND_NUMBER) {
					item = jv_object_set(item, jv_string("id"), id);
					cited = 1;
				} else {
					jv_free(id);
				}
				if (*str_or(e, "link", "")) {
					item = jv_object_set(item, jv_string("link"), jv_string(str_or(e, "link", "")));
					cited = 1;
				}
				/* evidence points at something: an alert or build id, or a link */
				if (cited)
					ev = jv_array_append(ev, item);
				else
					jv_free(item);
			}
			jv_free(e);
		}
	}
	jv_free(items);
	out = jv_object_set(out, jv_string("evidence"), ev);
	*suggestions = jv_array();
	sug = jv_object_get(jv_copy(doc), jv_string("suggestions"));
	if (jv_get_kind(sug) == JV_KIND_ARRAY) {
		static const char *const skinds[] = { "diagnostic", "fix", NULL };
		static const char *const risks[] = { "low", "medium", "high", NULL };

		jv_array_foreach(sug, i, s)
		{
			if (jv_get_kind(s) == JV_KIND_OBJECT && in_set(str_or(s, "kind", ""), skinds) &&
			    in_set(str_or(s, "risk", ""), risks) && *str_or(s, "description", "") &&
			    jv_array_length(jv_copy(*suggestions)) < MAX_SUGGESTIONS)
				*suggestions = jv_array_append(*suggestions, jv_copy(s));
			jv_free(s);
		}
	}
	*summary = aur_xstrdup(str_or(doc, "summary", ""));
	*root_cause = out;
	out = jv_invalid();
	rc = 0;
out:
	jv_free(out);
	jv_free(sug);
	jv_free(rc_in);
	jv_free(doc);
	return rc;
}

static int fallback(struct llm_inv *v, const char *reason, char **summary, jv *root_cause, char *err, size_t errlen)
{
	const struct aur_investigator *b = NULL;
	int rc = think(v, "Falling back to the built-in investigator: %s", reason);

	if (rc < 0)
		return rc;
	rc = aur_investigator_find("builtin", &b);
	if (rc < 0)
		return rc;
	return b->run(v->db, v->id, v->o, v->sink, summary, root_cause, err, errlen);
}

static int say_suggestions(struct llm_inv *v, jv sug)
{
	int rc = 0;

	jv_array_foreach(sug, i, s)
	{
		char title[256];
		const char *d = str_or(s, "description", "");
		struct aur_rca_suggestion out = { str_or(s, "kind", ""), title, str_or(s, "command", ""),
						  str_or(s, "risk", ""), d };

		snprintf(title, sizeof(title), "%.*s", (int)strcspn(d, "\n"), d);
		if (rc == 0)
			rc = v->sink->suggestion(v->sink->ctx, &out);
		jv_free(s);
	}
	return rc;
}

static int investigate_llm(sqlite3 *db, long long id, const struct aur_inv_options *o,
			   const struct aur_inv_sink *sink, char **summary, jv *root_cause, char *err, size_t errlen)
{
	struct llm_inv v;
	struct aur_llm_result res;
	char why[1024], msg[1024];
	jv messages = jv_invalid(), tl = jv_invalid(), seen = jv_array(), incident = jv_invalid(), sug = jv_invalid();
	long long cap, deadline;
	int rc, step;

	memset(&v, 0, sizeof(v));
	aur_llm_result_init(&res);
	v.db = db;
	v.id = id;
	v.o = o;
	v.c = o->llm;
	v.sink = sink;
	*summary = NULL;
	*root_cause = jv_invalid();
	if (!v.c) {
		snprintf(err, errlen, "the LLM investigator has no configuration");
		rc = -EINVAL;
		goto out;
	}
	/* leave a quarter of the caller's limit for the fallback */
	cap = v.c->time_cap_ms;
	if (o->budget_ms > 0 && cap > o->budget_ms * 3 / 4)
		cap = o->budget_ms * 3 / 4;
	deadline = aur_time_mono_ms() + cap;
	rc = tool_get_incident(&v, &incident, err, errlen);
	if (rc < 0)
		goto out;
	incident = jv_dump_string(incident, 0);
	snprintf(msg, sizeof(msg), "Investigate incident %lld. The incident and its alerts:\n", id);
	messages = jv_array_append(jv_array(), message("system", jv_string(system_prompt)));
	messages = jv_array_append(
		messages, message("user", jv_string_concat(jv_string(msg), capped(jv_string_value(incident),
										  v.c->max_result))));
	tl = tools(v.c);
	rc = think(&v, "Asking %s model %s (at most %d steps, %lld s)", aur_llm_provider_name(v.c->llm.provider),
		   v.c->llm.model ? v.c->llm.model : "(deployment)", v.c->max_steps, cap / 1000);
	if (rc < 0)
		goto out;
	for (step = 0; step < v.c->max_steps; step++) {
		jv am;

		aur_llm_result_release(&res);
		v.quiet = 0;
		v.linelen = 0;
		rc = aur_llm_chat(&v.c->llm, messages, tl, on_text, &v, deadline, &res, why, sizeof(why));
		if (v.sink_rc < 0) {
			rc = v.sink_rc;
			goto out;
		}
		if (rc == 0) {
			rc = flush_line(&v);
			if (rc < 0)
				goto out;
		} else {
			(void)flush_line(&v);
		}
		if (rc == -ECANCELED)
			goto out;
		if (rc < 0) {
			char reason[1200];

			snprintf(reason, sizeof(reason), "the LLM provider failed: %s", why);
			rc = fallback(&v, reason, summary, root_cause, err, errlen);
			goto out;
		}
		if (jv_array_length(jv_copy(res.tool_calls)) == 0) {
			rc = parse_answer(res.text, summary, root_cause, &sug, why, sizeof(why));
			if (rc < 0) {
				char reason[1200];

				snprintf(reason, sizeof(reason), "the model's answer is not a valid result: %s", why);
				rc = fallback(&v, reason, summary, root_cause, err, errlen);
				goto out;
			}
			rc = think(&v, "Conclusion (confidence %.2f): %s",
				   jv_number_value(jv_object_get(jv_copy(*root_cause), jv_string("confidence"))),
				   *summary);
			if (rc == 0)
				rc = say_suggestions(&v, sug);
			goto out;
		}
		am = message("assistant", jv_string(res.text));
		am = jv_object_set(am, jv_string("tool_calls"), jv_copy(res.tool_calls));
		messages = jv_array_append(messages, am);
		jv_array_foreach(res.tool_calls, i, call)
		{
			const char *name = str_or(call, "name", "");
			jv args = jv_object_get(jv_copy(call), jv_string("arguments"));
			jv key = jv_dump_string(jv_array_append(jv_array_append(jv_array(), jv_string(name)),
								jv_copy(args)),
						0);
			jv argtext = jv_dump_string(jv_copy(args), 0);
			char *text = NULL;
			int seen_before = 0;

			jv_array_foreach(seen, k, s)
			{
				if (jv_equal(jv_copy(s), jv_copy(key)))
					seen_before = 1;
				jv_free(s);
			}
			if (rc == 0)
				rc = think(&v, "Tool call: %.100s %.600s", name, jv_string_value(argtext));
			if (rc == 0 && seen_before) {
				text = aur_xstrdup("refused: this exact call was made already; use its earlier result");
				rc = think(&v, "Refused a repeated call of %.100s", name);
			} else if (rc == 0) {
				seen = jv_array_append(seen, jv_copy(key));
				text = run_tool(&v, name, args, deadline, &rc);
			}
			if (text) {
				jv content = capped(text, v.c->max_result);
				jv tm = message("tool", content);

				if (rc == 0 && strcmp(name, "run_diagnostic") != 0)
					rc = think(&v, "Tool result: %.100s, %zu bytes", name, strlen(text));
				tm = jv_object_set(tm, jv_string("tool_call_id"), jv_string(str_or(call, "id", "")));
				messages = jv_array_append(messages, tm);
				free(text);
			}
			jv_free(argtext);
			jv_free(key);
			jv_free(args);
			jv_free(call);
		}
		if (rc < 0)
			goto out;
	}
	snprintf(msg, sizeof(msg), "the step cap of %d was reached without a final answer", v.c->max_steps);
	rc = fallback(&v, msg, summary, root_cause, err, errlen);
out:
	if (rc < 0) {
		free(*summary);
		*summary = NULL;
		jv_free(*root_cause);
		*root_cause = jv_invalid();
	}
	aur_llm_result_release(&res);
	jv_free(sug);
	jv_free(incident);
	jv_free(seen);
	jv_free(tl);
	jv_free(messages);
	return rc;
}

const struct aur_investigator aur_investigator_llm = { "llm", investigate_llm };
