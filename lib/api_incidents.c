#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_incidents.h"
#include "cli.h"
#include "db.h"
#include "incident.h"
#include "incident_view.h"
#include "incident_write.h"
#include "postmortem.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

static const char *const list_filters[] = { "status", "service", "since", "limit", "before", NULL };

/* --- a manual incident: the body of POST /api/incidents into struct aur_incident_new --- */

/*
 * Field key of body as a string into *s (borrowed from body): 0; 1 when
 * absent or null and optional; -EINVAL with err set otherwise.
 */
static int field_string(jv body, const char *key, int required, size_t max, const char **s, jv *keep,
			char *err, size_t errlen)
{
	jv v = jv_object_get(jv_copy(body), jv_string(key));
	jv_kind k = jv_get_kind(v);
	int rc = -EINVAL;

	*s = NULL;
	if (k == JV_KIND_INVALID || k == JV_KIND_NULL) {
		jv_free(v);
		if (!required)
			return 1;
		snprintf(err, errlen, "%s: required", key);
		return -EINVAL;
	}
	if (k != JV_KIND_STRING) {
		snprintf(err, errlen, "%s: must be a string", key);
		goto out;
	}
	if ((size_t)jv_string_length_bytes(jv_copy(v)) > max) {
		snprintf(err, errlen, "%s: longer than %zu bytes", key, max);
		goto out;
	}
	if (required && !jv_string_length_bytes(jv_copy(v))) {
		snprintf(err, errlen, "%s: must not be empty", key);
		goto out;
	}
	*keep = v; /* the caller frees it once done with *s */
	*s = jv_string_value(*keep);
	return 0;
out:
	jv_free(v);
	return rc;
}

/*
 * 0 when every number in v is finite; else -EINVAL with err naming where
 * (path, as jq would write it, cut to fit). libjq reads nan as NaN and
 * 1e999 as infinity, and writes them back as null and 1.797...e308: stored,
 * the metadata would say something else than what was sent.
 */
static int finite_numbers(jv v, char *path, size_t len, size_t cap, char *err, size_t errlen)
{
	int rc = 0;

	switch (jv_get_kind(v)) {
	case JV_KIND_NUMBER:
		if (!isfinite(jv_number_value(v))) {
			snprintf(err, errlen, "%s: NaN or a number out of range (beyond 1.8e308) cannot be stored",
				 path);
			rc = -EINVAL;
		}
		break;
	case JV_KIND_ARRAY:
		for (int i = 0; i < jv_array_length(jv_copy(v)) && rc == 0; i++) {
			jv e = jv_array_get(jv_copy(v), i);

			snprintf(path + len, cap - len, "[%d]", i);
			rc = finite_numbers(e, path, strlen(path), cap, err, errlen);
			jv_free(e);
		}
		break;
	case JV_KIND_OBJECT:
		/* the iterator functions borrow v; key and value come back as copies */
		for (int it = jv_object_iter(v); rc == 0 && jv_object_iter_valid(v, it);
		     it = jv_object_iter_next(v, it)) {
			jv k = jv_object_iter_key(v, it);
			jv e = jv_object_iter_value(v, it);

			snprintf(path + len, cap - len, ".%s", jv_string_value(k));
			rc = finite_numbers(e, path, strlen(path), cap, err, errlen);
			jv_free(k);
			jv_free(e);
		}
		break;
	default:
		break;
	}
	path[len] = '\0';
	return rc;
}

/* Validate body into n; strings stay borrowed from keep[], freed by the caller. */
static int validate(jv body, struct aur_incident_new *n, jv keep[5], char **metadata, char *err, size_t errlen)
{
	const char *source_type = NULL;
	jv meta;
	int rc;

	if (jv_get_kind(body) != JV_KIND_OBJECT) {
		snprintf(err, errlen, "body: must be a JSON object");
		return -EINVAL;
	}
	rc = field_string(body, "source_type", 1, AUR_API_INCIDENTS_SOURCE_TYPE_MAX, &source_type, &keep[0], err,
			  errlen);
	if (rc < 0)
		return rc;
	if (strspn(source_type, "abcdefghijklmnopqrstuvwxyz0123456789_.-") != strlen(source_type)) {
		snprintf(err, errlen, "source_type: only a-z, 0-9, '_', '.' and '-' (got '%s')", source_type);
		return -EINVAL;
	}
	n->source_type = source_type;
	rc = field_string(body, "alert_title", 1, AUR_API_INCIDENTS_TITLE_MAX, &n->title, &keep[1], err, errlen);
	if (rc >= 0)
		rc = field_string(body, "alert_service", 0, AUR_API_INCIDENTS_SERVICE_MAX, &n->service, &keep[2], err,
				  errlen);
	if (rc >= 0)
		rc = field_string(body, "severity", 0, 16, &n->severity, &keep[3], err, errlen);
	if (rc >= 0 && n->severity && !aur_incident_severity_valid(n->severity)) {
		snprintf(err, errlen, "severity: must be one of critical, high, medium, low, info (got '%s')",
			 n->severity);
		rc = -EINVAL;
	}
	if (rc >= 0)
		rc = field_string(body, "source_link", 0, AUR_API_INCIDENTS_LINK_MAX, &n->source_link, &keep[4], err,
				  errlen);
	if (rc < 0)
		return rc;
	meta = jv_object_get(jv_copy(body), jv_string("alert_metadata"));
	switch (jv_get_kind(meta)) {
	case JV_KIND_INVALID:
	case JV_KIND_NULL:
		jv_free(meta);
		return 0;
	case JV_KIND_OBJECT: {
		char path[128] = "alert_metadata";
		jv text;

		rc = finite_numbers(meta, path, strlen(path), sizeof(path), err, errlen);
		if (rc < 0) {
			jv_free(meta);
			return rc;
		}
		text = jv_dump_string(meta, 0);
		free(*metadata);
		*metadata = aur_xstrdup(jv_string_value(text));
		jv_free(text);
		return 0;
	}
	default:
		jv_free(meta);
		snprintf(err, errlen, "alert_metadata: must be a JSON object");
		return -EINVAL;
	}
}

int aur_api_incidents_create(sqlite3 *db, jv body, long long now_ms, long long *id, char *err, size_t errlen)
{
	struct aur_incident_new n = { 0 };
	jv keep[5];
	char *metadata = NULL;
	char dummy[1];
	int rc;

	if (!err || !errlen) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	for (int i = 0; i < 5; i++)
		keep[i] = jv_null();
	rc = validate(body, &n, keep, &metadata, err, errlen);
	if (rc == 0) {
		n.metadata_json = metadata;
		n.started_ms = now_ms;
		rc = aur_incident_write_create(db, &n, now_ms, id, err, errlen);
	}
	for (int i = 0; i < 5; i++)
		jv_free(keep[i]);
	jv_free(body);
	free(metadata);
	return rc;
}

/* --- actions on an incident ------------------------------------------------- */

/* A string field of body (borrowed), NULL when absent or null; *bad when of another type. */
static const char *field_str(jv body, const char *key, jv *keep, int *bad)
{
	jv v = jv_object_get(jv_copy(body), jv_string(key));

	*keep = v;
	if (jv_get_kind(v) == JV_KIND_STRING)
		return jv_string_value(v);
	if (jv_get_kind(v) != JV_KIND_NULL && jv_get_kind(v) != JV_KIND_INVALID)
		*bad = 1;
	return NULL;
}

/* The incident after a change, as GET /api/incidents/{id} shows it. */
static void answer_incident(struct aur_api *a, struct aur_api_req *r)
{
	r->rc = aur_incident_show(a->wdb, r->id, &r->out, r->err, sizeof(r->err));
}

void aur_api_incidents_act(struct aur_api_req *r, jv body)
{
	struct aur_api *a = r->a;
	long long now = aur_time_now_ms();
	jv keep = jv_invalid();
	int bad = 0;
	const char *text;

	switch (r->act) {
	case AUR_API_RESOLVE:
		text = field_str(body, "reason", &keep, &bad);
		r->rc = bad ? -EINVAL : aur_incident_write_resolve(a->wdb, r->id, text, now, r->err, sizeof(r->err));
		if (bad)
			snprintf(r->err, sizeof(r->err), "reason: must be a string");
		break;
	case AUR_API_REOPEN:
		r->rc = aur_incident_write_reopen(a->wdb, r->id, now, r->err, sizeof(r->err));
		break;
	case AUR_API_MERGE: {
		jv into = jv_object_get(jv_copy(body), jv_string("into"));
		double d = jv_get_kind(into) == JV_KIND_NUMBER ? jv_number_value(into) : 0;

		jv_free(into);
		if (d < 1 || d > 9007199254740991.0 || d != (double)(long long)d) {
			snprintf(r->err, sizeof(r->err), "into: must be the id of the incident to merge into");
			r->rc = -EINVAL;
		} else {
			r->rc = aur_incident_write_merge(a->wdb, r->id, (long long)d, now, r->err, sizeof(r->err));
		}
		break;
	}
	case AUR_API_ACK:
		r->rc = aur_incident_write_acknowledge(a->wdb, r->id, r->who, now, r->err, sizeof(r->err));
		break;
	case AUR_API_COMMENT:
		text = field_str(body, "text", &keep, &bad);
		if (bad || !text) {
			snprintf(r->err, sizeof(r->err), "text: 1 to %d bytes of UTF-8", AUR_INCIDENT_COMMENT_MAX);
			r->rc = -EINVAL;
		} else {
			r->rc = aur_incident_write_comment(a->wdb, r->id, r->who, text, now, NULL, r->err,
							   sizeof(r->err));
		}
		break;
	default:
		r->rc = -EINVAL;
		break;
	}
	jv_free(keep);
	jv_free(body);
	if (r->rc == 0)
		answer_incident(a, r);
}

/* Who wrote the stored postmortem of id: its last postmortem.generated event says; "unknown" when none does. */
static jv stored_by(sqlite3 *db, long long id)
{
	sqlite3_stmt *st = NULL;
	jv by = jv_string("unknown");

	if (aur_db_prepare(db, &st,
			   "SELECT json_extract(data, '$.generated_by') FROM events WHERE incident_id = ?"
			   " AND type = 'postmortem.generated' ORDER BY id DESC LIMIT 1",
			   NULL, 0) < 0)
		return by;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_TEXT) {
		jv_free(by);
		by = jv_string((const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	return by;
}

/*
 * The postmortem of r->id through db: the template, or the model when llm
 * is set (it may take up to o.postmortem_timeout_ms; then this runs on a
 * thread of its own with a connection of its own: api.c's slow writers).
 */
void aur_api_incidents_postmortem(struct aur_api_req *r, sqlite3 *db, const struct aur_llm_config *llm,
				  jv body)
{
	struct aur_api *a = r->a;
	struct aur_postmortem_options po = { llm, a->o.postmortem_timeout_ms };
	jv regen = jv_object_get(jv_copy(body), jv_string("regenerate"));
	char by[128] = "";
	char why[256] = "";
	char *md = NULL;
	int generated = 0;

	jv_free(body);
	if (jv_get_kind(regen) != JV_KIND_INVALID && jv_get_kind(regen) != JV_KIND_NULL &&
	    jv_get_kind(regen) != JV_KIND_TRUE && jv_get_kind(regen) != JV_KIND_FALSE) {
		jv_free(regen);
		snprintf(r->err, sizeof(r->err), "regenerate: must be true or false");
		r->rc = -EINVAL;
		return;
	}
	r->rc = aur_postmortem(db, r->id, jv_get_kind(regen) == JV_KIND_TRUE, aur_time_now_ms(), &po, &md,
			       &generated, by, sizeof(by), why, sizeof(why), r->err, sizeof(r->err));
	jv_free(regen);
	if (r->rc < 0)
		return;
	if (why[0])
		AUR_API_LOG(a, AUR_LOG_WARN,
			    "incident %lld: the model's postmortem was not used (%s); the template wrote it", r->id, why);
	r->out = jv_object_set(jv_object(), jv_string("markdown"), jv_string(md));
	r->out = jv_object_set(r->out, jv_string("generated_by"), generated ? jv_string(by) : stored_by(db, r->id));
	r->out = jv_object_set(r->out, jv_string("generated"), jv_bool(generated));
	free(md);
}

enum aur_http_next aur_api_incidents_list(struct aur_api_req *r)
{
	struct aur_api *a = r->a;
	struct aur_incident_filter f;
	const char *other = aur_http_query_other(r->req, list_filters);
	const char *v;
	char err[512] = "";
	sqlite3 *db = NULL;
	jv out = jv_invalid();
	int rc;

	if (other) {
		snprintf(err, sizeof(err), "unknown filter '%.64s'; filters: status, service, since, limit, before",
			 other);
		return aur_api_req_refuse(a, r->req, 400, err);
	}
	aur_incident_filter_init(&f);
	f.status = aur_http_query(r->req, "status");
	f.service = aur_http_query(r->req, "service");
	f.limit = a->o.list_limit;
	v = aur_http_query(r->req, "limit");
	if (v && aur_cli_parse_ll(v, 1, a->o.list_max, &f.limit) < 0) {
		snprintf(err, sizeof(err), "limit: '%.32s' is not a number from 1 to %lld", v, a->o.list_max);
		return aur_api_req_refuse(a, r->req, 400, err);
	}
	v = aur_http_query(r->req, "before");
	if (v && aur_cli_parse_ll(v, 1, LLONG_MAX, &f.before_id) < 0) {
		snprintf(err, sizeof(err), "before: '%.32s' is not an incident id", v);
		return aur_api_req_refuse(a, r->req, 400, err);
	}
	v = aur_http_query(r->req, "since");
	if (v && aur_cli_parse_time_ms(v, aur_time_now_ms(), &f.since_ms) < 0) {
		snprintf(err, sizeof(err), "since: '%.64s' is neither a time (RFC 3339, epoch seconds or"
					   " milliseconds) nor a duration (90s, 10m, 2h, 7d)", v);
		return aur_api_req_refuse(a, r->req, 400, err);
	}
	rc = aur_dbpool_get(a->pool, &db, err, sizeof(err));
	if (rc == 0)
		rc = aur_incident_list(db, &f, &out, err, sizeof(err));
	aur_dbpool_put(a->pool, db);
	if (rc < 0)
		return aur_api_req_failed(a, r->req, rc, err);
	return aur_http_respond_json(r->req, 200, out);
}

enum aur_http_next aur_api_incidents_show(struct aur_api_req *r)
{
	struct aur_api *a = r->a;
	const char *p = aur_http_param(r->req, 0);
	char err[512] = "";
	sqlite3 *db = NULL;
	long long id = 0;
	jv out = jv_invalid();
	int rc;

	if (aur_cli_parse_ll(p, 1, LLONG_MAX, &id) < 0) {
		snprintf(err, sizeof(err), "incident id must be a positive integer, not '%.64s'", p);
		return aur_api_req_refuse(a, r->req, 400, err);
	}
	rc = aur_dbpool_get(a->pool, &db, err, sizeof(err));
	if (rc == 0)
		rc = aur_incident_show(db, id, &out, err, sizeof(err));
	aur_dbpool_put(a->pool, db);
	if (rc == -ENOENT)
		snprintf(err, sizeof(err), "no incident %lld", id);
	if (rc < 0)
		return aur_api_req_failed(a, r->req, rc, err);
	return aur_http_respond_json(r->req, 200, out);
}

enum aur_http_next aur_api_incidents_stream(struct aur_api_req *r)
{
	const char *v = aur_http_header(r->req, "Last-Event-ID");
	const char *what = "Last-Event-ID";
	char why[256];
	long long after = -1;

	if (!v || !*v) {
		v = aur_http_query(r->req, "last_event_id");
		what = "last_event_id";
	}
	if (v && *v && aur_cli_parse_ll(v, 0, LLONG_MAX, &after) < 0) {
		snprintf(why, sizeof(why), "%s: '%.32s' is not an event id", what, v);
		return aur_api_req_refuse(r->a, r->req, 400, why);
	}
	v = aur_http_query(r->req, "named");
	return aur_sse_start(r->a->sse, r->req, after, v && (!strcmp(v, "1") || !strcmp(v, "true")), &r->sub);
}

