/*
 * investigate_llm_tools.c - the tools the LLM investigator offers its model
 * (investigate_llm_impl.h): get_incident, related_alerts, recent_changes
 * and similar_incidents read the store (at most MAX_ROWS rows each, with
 * the catalog's word on the incident's service when there is a catalog);
 * run_diagnostic goes through the operator's allow-list (diag.h), its
 * output redacted; http_get fetches only under the configured base URLs
 * (fetch.h bounds it). Each tool's result is JSON text or "error: ...".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "db.h"
#include "diag.h"
#include "fetch.h"
#include "investigate.h"
#include "investigate_llm_impl.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

#define MAX_ROWS 30

/* Cut s to at most max bytes on a UTF-8 boundary, saying so. */
jv inv_llm_capped(const char *s, size_t max)
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

int inv_llm_tool_get_incident(struct llm_inv *v, jv *out, char *err, size_t errlen)
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
		*rc = inv_llm_think(v, "run_diagnostic refused %.200s: no allow-list is configured", jv_string_value(cmd));
		jv_free(cmd);
		return aur_xstrdup("refused: no allow-list is configured, so no command may run; suggest it instead");
	}
	if (aur_diag_run_text(v->c->policy, jv_string_value(cmd), &res, why, sizeof(why)) < 0) {
		*rc = inv_llm_think(v, "run_diagnostic %s", why);
		jv_free(cmd);
		return aur_xstrdup(why);
	}
	aur_diag_result_describe(&res, desc, sizeof(desc));
	*rc = inv_llm_think(v, "Ran %.300s: %s", jv_string_value(cmd), desc);
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
		*rc = inv_llm_think(v, "http_get refused %.300s: not under a configured base URL", jv_string_value(url));
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
		*rc = inv_llm_think(v, "http_get %.300s failed: %s", jv_string_value(url), err);
		n = strlen(err) + 16;
		text = aur_xmalloc(n);
		snprintf(text, n, "error: %s", err);
		jv_free(url);
		return text;
	}
	red = aur_diag_redact(res.body, res.len, &rlen, NULL);
	*rc = inv_llm_think(v, "http_get %.300s: HTTP %ld, %zu bytes%s", jv_string_value(url), res.status, res.len,
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
char *inv_llm_run_tool(struct llm_inv *v, const char *name, jv args, long long deadline, int *rc)
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
		r = inv_llm_tool_get_incident(v, &out, err, sizeof(err));
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

jv inv_llm_tools(const struct aur_inv_llm *c)
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
