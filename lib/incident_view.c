#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "db.h"
#include "inbox.h"
#include "incident.h"
#include "incident_text.h"
#include "incident_view.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

#define CREATE_DEADLINE_MS 5000

/* Alerts of incident ?1: the ones that joined it plus the ones it holds without a join record. */
#define ALERT_COUNT_SQL(id)                                                                        \
	"((SELECT count(*) FROM incident_alerts WHERE incident_id = " id ") +"                    \
	" (SELECT count(*) FROM alerts a WHERE a.incident_id = " id " AND NOT EXISTS"              \
	" (SELECT 1 FROM incident_alerts x WHERE x.incident_id = " id " AND x.alert_id = a.id)))"

/* The incident and every incident merged into it, directly or through others. */
#define FAMILY_CTE                                                                                 \
	"WITH RECURSIVE fam(id) AS (SELECT ?1 UNION SELECT json_extract(e.data, '$.from')"          \
	" FROM events e JOIN fam ON e.incident_id = fam.id WHERE e.type = 'incident.merged_in') "

#define INCIDENT_COLUMNS                                                                           \
	"id, title, status, severity, service, source_type, source_link, started_at, updated_at,"   \
	" resolved_at, rca_state, merged_into, previous_incident, started_ms, " ALERT_COUNT_SQL("incidents.id")
/* the full object's extra columns, after INCIDENT_COLUMNS */
#define INCIDENT_FULL_COLUMNS ", summary, root_cause, postmortem, metadata, acknowledged_by, acknowledged_at"

static void set_err(char *err, size_t errlen, const char *what, sqlite3 *db)
{
	if (err && errlen)
		snprintf(err, errlen, "%s: %s", what, sqlite3_errmsg(db));
}

static jv col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? jv_string((const char *)t) : jv_null();
}

static jv col_int(sqlite3_stmt *st, int i)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return jv_null();
	return jv_number((double)sqlite3_column_int64(st, i));
}

/* A column holding JSON text, parsed; fallback (consumed) when NULL or not JSON. */
static jv col_json(sqlite3_stmt *st, int i, jv fallback)
{
	const char *t = (const char *)sqlite3_column_text(st, i);
	jv v;

	if (!t)
		return fallback;
	v = jv_parse_sized(t, sqlite3_column_bytes(st, i));
	if (!jv_is_valid(v)) {
		jv_free(v);
		return fallback;
	}
	jv_free(fallback);
	return v;
}

static jv set(jv o, const char *k, jv v)
{
	return jv_object_set(o, jv_string(k), v);
}

/* A read transaction unless the caller has one: *began says whether to end it. */
static int read_begin(sqlite3 *db, int *began, char *err, size_t errlen)
{
	int rc = 0;

	*began = 0;
	if (sqlite3_get_autocommit(db)) {
		rc = aur_db_exec(db, "BEGIN", err, errlen);
		*began = rc == 0;
	}
	return rc;
}

static void read_end(sqlite3 *db, int began)
{
	if (began && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		aur_db_rollback(db);
}

/* Finish a step loop: SQLITE_DONE is success, anything else an error with err set. */
static int step_end(sqlite3 *db, int rc, const char *what, char *err, size_t errlen)
{
	if (rc == SQLITE_DONE)
		return 0;
	set_err(err, errlen, what, db);
	rc = aur_db_errno(rc);
	return rc ? rc : -EIO;
}

void aur_incident_filter_init(struct aur_incident_filter *f)
{
	f->status = NULL;
	f->service = NULL;
	f->since_ms = 0;
	f->before_id = 0;
	f->limit = 0;
}

/* The list entry of the current row of a SELECT INCIDENT_COLUMNS. */
static jv incident_entry(sqlite3_stmt *st)
{
	const char *status = (const char *)sqlite3_column_text(st, 2);
	const char *resolved = (const char *)sqlite3_column_text(st, 9);
	long long end_ms;
	jv o = jv_object();

	o = set(o, "v", jv_number(1));
	o = set(o, "type", jv_string("incident"));
	o = set(o, "id", col_int(st, 0));
	o = set(o, "title", col_text(st, 1));
	o = set(o, "status", col_text(st, 2));
	o = set(o, "severity", col_text(st, 3));
	o = set(o, "service", col_text(st, 4));
	o = set(o, "source_type", col_text(st, 5));
	o = set(o, "source_link", col_text(st, 6));
	o = set(o, "started_at", col_text(st, 7));
	o = set(o, "updated_at", col_text(st, 8));
	o = set(o, "resolved_at", col_text(st, 9));
	if (status && !strcmp(status, "resolved") && resolved && aur_time_parse_ms(resolved, &end_ms) == 0)
		o = set(o, "duration_ms", jv_number((double)(end_ms - sqlite3_column_int64(st, 13))));
	else
		o = set(o, "duration_ms", jv_null());
	o = set(o, "rca_state", col_text(st, 10));
	o = set(o, "merged_into", col_int(st, 11));
	o = set(o, "previous_incident", col_int(st, 12));
	o = set(o, "alert_count", col_int(st, 14));
	return o;
}

int aur_incident_list(sqlite3 *db, const struct aur_incident_filter *f, jv *out, char *err, size_t errlen)
{
	static const char *const statuses[] = { "investigating", "analyzed", "resolved", "merged", "open", NULL };
	sqlite3_stmt *st = NULL;
	jv list = jv_array();
	int began = 0;
	int rc = -EINVAL;
	int i;

	*out = jv_invalid();
	for (i = 0; f->status && statuses[i]; i++)
		if (!strcmp(statuses[i], f->status))
			break;
	if (f->status && !statuses[i]) {
		if (err && errlen)
			snprintf(err, errlen,
				 "status: must be one of investigating, analyzed, resolved, merged, open (got '%s')",
				 f->status);
		goto out;
	}
	rc = read_begin(db, &began, err, errlen);
	if (rc == 0)
		rc = aur_db_prepare(db, &st,
				    "SELECT " INCIDENT_COLUMNS " FROM incidents"
				    " WHERE (?1 IS NULL OR status = ?1"
				    "  OR (?1 = 'open' AND status IN ('investigating', 'analyzed')))"
				    " AND (?2 IS NULL OR service = ?2)"
				    " AND (?3 IS NULL OR started_ms >= ?3)"
				    " AND (?4 IS NULL OR id < ?4)"
				    " ORDER BY id DESC LIMIT ?5",
				    err, errlen);
	if (rc < 0)
		goto out;
	if (f->status)
		sqlite3_bind_text(st, 1, f->status, -1, SQLITE_STATIC);
	if (f->service)
		sqlite3_bind_text(st, 2, f->service, -1, SQLITE_STATIC);
	if (f->since_ms > 0)
		sqlite3_bind_int64(st, 3, f->since_ms);
	if (f->before_id > 0)
		sqlite3_bind_int64(st, 4, f->before_id);
	sqlite3_bind_int64(st, 5, f->limit > 0 ? f->limit : -1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		list = jv_array_append(list, incident_entry(st));
	rc = step_end(db, rc, "incidents", err, errlen);
out:
	sqlite3_finalize(st);
	read_end(db, began);
	if (rc == 0) {
		*out = list;
		list = jv_invalid();
	}
	jv_free(list);
	return rc;
}

jv aur_incident_event_row(sqlite3_stmt *st, int record)
{
	jv o = jv_object();

	if (record) {
		o = set(o, "v", jv_number(1));
		o = set(o, "type", jv_string("event"));
	}
	o = set(o, "id", col_int(st, 0));
	o = set(o, "at", col_text(st, 1));
	o = set(o, "event", col_text(st, 2));
	o = set(o, "incident_id", col_int(st, 3));
	o = set(o, "data", col_json(st, 4, jv_object()));
	return o;
}

/* Run st (parameters bound) and collect row(st) for each row into an array under key of *obj. */
static int collect(sqlite3 *db, sqlite3_stmt *st, jv *obj, const char *key, jv (*row)(sqlite3_stmt *st),
		   char *err, size_t errlen)
{
	jv list = jv_array();
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		list = jv_array_append(list, row(st));
	rc = step_end(db, rc, key, err, errlen);
	*obj = set(*obj, key, list);
	return rc;
}

static jv event_entry(sqlite3_stmt *st)
{
	return aur_incident_event_row(st, 0);
}

static jv thought_entry(sqlite3_stmt *st)
{
	jv o = jv_object();

	o = set(o, "id", col_int(st, 0));
	o = set(o, "at", col_text(st, 1));
	o = set(o, "kind", col_text(st, 2));
	o = set(o, "text", col_text(st, 3));
	return o;
}

static jv suggestion_entry(sqlite3_stmt *st)
{
	jv o = jv_object();

	o = set(o, "id", col_int(st, 0));
	o = set(o, "at", col_text(st, 1));
	o = set(o, "kind", col_text(st, 2));
	o = set(o, "title", col_text(st, 3));
	o = set(o, "command", col_text(st, 4));
	o = set(o, "risk", col_text(st, 5));
	o = set(o, "text", col_text(st, 6));
	return o;
}

static jv comment_entry(sqlite3_stmt *st)
{
	jv o = jv_object();

	o = set(o, "id", col_int(st, 0));
	o = set(o, "by", col_text(st, 1));
	o = set(o, "at", col_text(st, 2));
	o = set(o, "text", col_text(st, 3));
	return o;
}

#define ALERT_COLUMNS                                                                               \
	"a.id, a.source, a.dedup_key, a.fingerprint, a.status, a.severity, a.title, a.service, a.host," \
	" a.first_seen, a.last_seen, a.count, a.first_inbox_id, a.last_inbox_id, a.incident_id, a.record"

/* The raw record of inbox row id, or null when it is not there (pruned, or never stored). */
static jv raw_of(sqlite3_stmt *inbox, sqlite3_stmt *alert, int col)
{
	jv raw = jv_null();

	if (sqlite3_column_type(alert, col) == SQLITE_NULL)
		return raw;
	sqlite3_bind_int64(inbox, 1, sqlite3_column_int64(alert, col));
	if (sqlite3_step(inbox) == SQLITE_ROW) {
		jv_free(raw);
		raw = aur_inbox_row_to_raw(inbox);
	}
	sqlite3_reset(inbox);
	return raw;
}

static int add_alerts(sqlite3 *db, long long id, jv *obj, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	sqlite3_stmt *inbox = NULL;
	jv list = jv_array();
	int n = 0;
	int rc;

	rc = aur_db_prepare(db, &st,
			    /* as this incident saw it: a later recurrence counts in its own */
			    "SELECT a.id, a.source, a.dedup_key, a.fingerprint, coalesce(ia.status, a.status), a.severity,"
			    " a.title, a.service, a.host, ia.joined_at, coalesce(ia.last_seen, a.last_seen),"
			    " ia.notifications, a.first_inbox_id, a.last_inbox_id, a.incident_id, a.record,"
			    " ia.strategy, ia.score, ia.matched_incident, ia.reason, ia.inbox_id, ia.joined_at, ia.opened"
			    " FROM incident_alerts ia JOIN alerts a ON a.id = ia.alert_id WHERE ia.incident_id = ?1"
			    " UNION ALL"
			    " SELECT " ALERT_COLUMNS ", NULL, NULL, NULL, NULL, NULL, NULL, NULL"
			    " FROM alerts a WHERE a.incident_id = ?1 AND NOT EXISTS"
			    " (SELECT 1 FROM incident_alerts x WHERE x.incident_id = ?1 AND x.alert_id = a.id)"
			    " ORDER BY 10, 1 LIMIT ?2",
			    err, errlen);
	if (rc == 0)
		rc = aur_db_prepare(db, &inbox, "SELECT " AUR_INBOX_RAW_COLUMNS " FROM inbox WHERE id = ?", err,
				    errlen);
	if (rc < 0)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, AUR_INCIDENT_SHOW_MAX_ALERTS);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		jv a = jv_object();
		jv record = col_json(st, 15, jv_object());
		jv link;

		a = set(a, "id", col_int(st, 0));
		a = set(a, "source", col_text(st, 1));
		a = set(a, "dedup_key", col_text(st, 2));
		a = set(a, "fingerprint", col_text(st, 3));
		a = set(a, "status", col_text(st, 4));
		a = set(a, "severity", col_text(st, 5));
		a = set(a, "title", col_text(st, 6));
		a = set(a, "service", col_text(st, 7));
		a = set(a, "host", col_text(st, 8));
		link = jv_get_kind(record) == JV_KIND_OBJECT ? jv_object_get(jv_copy(record), jv_string("link"))
							      : jv_invalid();
		if (jv_get_kind(link) != JV_KIND_STRING) {
			jv_free(link);
			link = jv_null();
		}
		a = set(a, "link", link);
		a = set(a, "first_seen", col_text(st, 9));
		a = set(a, "last_seen", col_text(st, 10));
		a = set(a, "count", col_int(st, 11));
		a = set(a, "first_inbox_id", col_int(st, 12));
		a = set(a, "last_inbox_id", col_int(st, 13));
		a = set(a, "current_incident", col_int(st, 14));
		if (sqlite3_column_type(st, 16) == SQLITE_NULL) {
			a = set(a, "correlation", jv_null());
		} else {
			jv c = jv_object();

			c = set(c, "strategy", col_text(st, 16));
			c = set(c, "score", jv_number(sqlite3_column_double(st, 17)));
			c = set(c, "matched_incident", col_int(st, 18));
			c = set(c, "reason", col_text(st, 19));
			c = set(c, "inbox_id", col_int(st, 20));
			c = set(c, "joined_at", col_text(st, 21));
			c = set(c, "opened", jv_bool(sqlite3_column_int(st, 22) != 0));
			a = set(a, "correlation", c);
		}
		a = set(a, "record", record);
		a = set(a, "raw", n < AUR_INCIDENT_SHOW_MAX_RAW ? raw_of(inbox, st, 12) : jv_null());
		list = jv_array_append(list, a);
		n++;
	}
	rc = step_end(db, rc, "alerts", err, errlen);
out:
	*obj = set(*obj, "alerts", list);
	sqlite3_finalize(st);
	sqlite3_finalize(inbox);
	return rc;
}

/* Prepare sql, bind ?1 = id and ?2 = cap, collect rows under key. */
static int add_rows(sqlite3 *db, long long id, int cap, const char *sql, jv *obj, const char *key,
		    jv (*row)(sqlite3_stmt *st), char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = aur_db_prepare(db, &st, sql, err, errlen);

	if (rc < 0) {
		*obj = set(*obj, key, jv_array());
		return rc;
	}
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_bind_parameter_count(st) >= 2)
		sqlite3_bind_int(st, 2, cap);
	rc = collect(db, st, obj, key, row, err, errlen);
	sqlite3_finalize(st);
	return rc;
}

static jv first_col_int(sqlite3_stmt *st)
{
	return col_int(st, 0);
}

/* One integer from sql with ?1 = id into *obj under key. */
static int add_count(sqlite3 *db, long long id, const char *sql, jv *obj, const char *key, char *err,
		     size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = aur_db_prepare(db, &st, sql, err, errlen);

	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*obj = set(*obj, key, col_int(st, 0));
		rc = 0;
	} else {
		rc = step_end(db, rc == SQLITE_DONE ? SQLITE_ERROR : rc, key, err, errlen);
	}
	sqlite3_finalize(st);
	return rc;
}

int aur_incident_show(sqlite3 *db, long long id, jv *out, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	jv o = jv_invalid();
	int began = 0;
	int rc;

	*out = jv_invalid();
	rc = read_begin(db, &began, err, errlen);
	if (rc == 0)
		rc = aur_db_prepare(db, &st,
				    "SELECT " INCIDENT_COLUMNS INCIDENT_FULL_COLUMNS " FROM incidents WHERE id = ?",
				    err, errlen);
	if (rc < 0)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		if (err && errlen)
			snprintf(err, errlen, "no incident %lld", id);
		rc = -ENOENT;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		rc = step_end(db, rc, "incident", err, errlen);
		goto out;
	}
	jv_free(o);
	o = incident_entry(st);
	o = set(o, "summary", col_text(st, 15));
	/* stored as JSON text by aurora-rca: shown as the object it is (plain text stays text) */
	o = set(o, "root_cause", col_json(st, 16, col_text(st, 16)));
	o = set(o, "postmortem", col_text(st, 17));
	o = set(o, "metadata", col_json(st, 18, jv_object()));
	o = set(o, "acknowledged", sqlite3_column_type(st, 19) == SQLITE_NULL
					   ? jv_null()
					   : set(set(jv_object(), "by", col_text(st, 19)), "at", col_text(st, 20)));
	rc = add_rows(db, id, 0,
		      FAMILY_CTE "SELECT id FROM fam WHERE id IS NOT ?1 ORDER BY id", &o, "merged_from",
		      first_col_int, err, errlen);
	if (rc == 0)
		rc = add_count(db, id, FAMILY_CTE "SELECT count(*) FROM events WHERE incident_id IN (SELECT id FROM fam)", &o,
			       "event_count", err, errlen);
	if (rc == 0)
		rc = add_alerts(db, id, &o, err, errlen);
	if (rc == 0)
		rc = add_rows(db, id, AUR_INCIDENT_SHOW_MAX_EVENTS,
			      FAMILY_CTE "SELECT " AUR_INCIDENT_EVENT_COLUMNS
					 " FROM events WHERE incident_id IN (SELECT id FROM fam) ORDER BY id LIMIT ?2",
			      &o, "events", event_entry, err, errlen);
	if (rc == 0)
		rc = add_rows(db, id, AUR_INCIDENT_SHOW_MAX_ROWS,
			      "SELECT id, at, kind, text FROM incident_thoughts WHERE incident_id = ?1"
			      " ORDER BY id LIMIT ?2",
			      &o, "thoughts", thought_entry, err, errlen);
	if (rc == 0)
		rc = add_rows(db, id, AUR_INCIDENT_SHOW_MAX_ROWS,
			      "SELECT id, at, kind, title, command, risk, text FROM incident_suggestions"
			      " WHERE incident_id = ?1 ORDER BY id LIMIT ?2",
			      &o, "suggestions", suggestion_entry, err, errlen);
	if (rc == 0)
		rc = add_rows(db, id, AUR_INCIDENT_SHOW_MAX_ROWS,
			      "SELECT id, author, at, text FROM incident_comments WHERE incident_id = ?1"
			      " ORDER BY id LIMIT ?2",
			      &o, "comments", comment_entry, err, errlen);
out:
	sqlite3_finalize(st);
	read_end(db, began);
	if (rc == 0) {
		*out = o;
		o = jv_invalid();
	}
	jv_free(o);
	return rc;
}

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
	rc = field_string(body, "source_type", 1, AUR_INCIDENT_SOURCE_TYPE_MAX, &source_type, &keep[0], err,
			  errlen);
	if (rc < 0)
		return rc;
	if (strspn(source_type, "abcdefghijklmnopqrstuvwxyz0123456789_.-") != strlen(source_type)) {
		snprintf(err, errlen, "source_type: only a-z, 0-9, '_', '.' and '-' (got '%s')", source_type);
		return -EINVAL;
	}
	n->source_type = source_type;
	rc = field_string(body, "alert_title", 1, AUR_INCIDENT_TITLE_MAX, &n->title, &keep[1], err, errlen);
	if (rc >= 0)
		rc = field_string(body, "alert_service", 0, AUR_INCIDENT_SERVICE_MAX, &n->service, &keep[2], err,
				  errlen);
	if (rc >= 0)
		rc = field_string(body, "severity", 0, 16, &n->severity, &keep[3], err, errlen);
	if (rc >= 0 && n->severity && !aur_incident_severity_valid(n->severity)) {
		snprintf(err, errlen, "severity: must be one of critical, high, medium, low, info (got '%s')",
			 n->severity);
		rc = -EINVAL;
	}
	if (rc >= 0)
		rc = field_string(body, "source_link", 0, AUR_INCIDENT_LINK_MAX, &n->source_link, &keep[4], err,
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

int aur_incident_create_from_json(sqlite3 *db, jv body, long long now_ms, long long *id, char *err,
				  size_t errlen)
{
	long long until;
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
	if (rc < 0)
		goto out;
	n.metadata_json = metadata;
	n.started_ms = now_ms;
	until = aur_db_deadline(CREATE_DEADLINE_MS);
	rc = aur_db_begin_by(db, until, err, errlen);
	if (rc < 0)
		goto out;
	rc = aur_incident_insert(db, &n, now_ms, id, err, errlen);
	if (rc == 0)
		rc = aur_db_commit_by(db, until, err, errlen);
	if (rc < 0)
		aur_db_rollback(db);
out:
	for (int i = 0; i < 5; i++)
		jv_free(keep[i]);
	jv_free(body);
	free(metadata);
	return rc;
}

int aur_incident_events_after(sqlite3 *db, long long after, int limit, jv *out, long long *last, char *err,
			      size_t errlen)
{
	sqlite3_stmt *st = NULL;
	jv list = jv_array();
	int rc;

	*out = jv_invalid();
	if (limit < 1 || limit > 10000)
		limit = limit < 1 ? 1 : 10000;
	rc = aur_db_prepare(db, &st,
			    "SELECT " AUR_INCIDENT_EVENT_COLUMNS " FROM events WHERE id > ? ORDER BY id LIMIT ?", err,
			    errlen);
	if (rc < 0)
		goto out;
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int(st, 2, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*last = sqlite3_column_int64(st, 0);
		list = jv_array_append(list, aur_incident_event_row(st, 1));
	}
	rc = step_end(db, rc, "events", err, errlen);
out:
	sqlite3_finalize(st);
	if (rc == 0) {
		*out = list;
		list = jv_invalid();
	}
	jv_free(list);
	return rc;
}

int aur_incident_events_max_id(sqlite3 *db, long long *id, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = aur_db_prepare(db, &st, "SELECT coalesce(max(id), 0) FROM events", err, errlen);

	if (rc < 0)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		rc = 0;
	} else {
		rc = step_end(db, rc == SQLITE_DONE ? SQLITE_ERROR : rc, "events", err, errlen);
	}
	sqlite3_finalize(st);
	return rc;
}

/* One status change or merge (dst > 0) in a transaction of its own. */
static int move(sqlite3 *db, long long id, const char *to, const char *reason, long long dst, long long now_ms,
		char *err, size_t errlen)
{
	long long until;
	char dummy[1];
	int rc;

	if (!err || !errlen) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	until = aur_db_deadline(CREATE_DEADLINE_MS);
	rc = aur_db_begin_by(db, until, err, errlen);
	if (rc < 0)
		return rc;
	if (dst > 0)
		rc = aur_incident_merge(db, id, dst, now_ms, err, errlen);
	else
		rc = aur_incident_set_status(db, id, to, reason, now_ms, err, errlen);
	if (rc == 0)
		rc = aur_db_commit_by(db, until, err, errlen);
	if (rc < 0)
		aur_db_rollback(db);
	return rc;
}

int aur_incident_resolve(sqlite3 *db, long long id, const char *reason, long long now_ms, char *err,
			 size_t errlen)
{
	return move(db, id, "resolved", reason ? reason : "resolved by an operator", 0, now_ms, err, errlen);
}

int aur_incident_reopen(sqlite3 *db, long long id, long long now_ms, char *err, size_t errlen)
{
	return move(db, id, "investigating", "reopened by an operator", 0, now_ms, err, errlen);
}

int aur_incident_merge_into(sqlite3 *db, long long src, long long dst, long long now_ms, char *err,
			    size_t errlen)
{
	if (dst <= 0) {
		if (err && errlen)
			snprintf(err, errlen, "no incident %lld", dst);
		return -ENOENT;
	}
	return move(db, src, NULL, NULL, dst, now_ms, err, errlen);
}

/* The status and acknowledgement of id in *status, *by, *at (empty when none). 0, -ENOENT, -EBUSY, -EIO. */
static int read_ack(sqlite3 *db, long long id, char *status, size_t slen, char *by, size_t blen, char *at,
		    size_t alen, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = aur_db_prepare(db, &st, "SELECT status, acknowledged_by, acknowledged_at FROM incidents WHERE id = ?",
				err, errlen);

	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *b = (const char *)sqlite3_column_text(st, 1);
		const char *a = (const char *)sqlite3_column_text(st, 2);

		snprintf(status, slen, "%s", (const char *)sqlite3_column_text(st, 0));
		snprintf(by, blen, "%s", b ? b : "");
		snprintf(at, alen, "%s", a ? a : "");
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		snprintf(err, errlen, "no incident %lld", id);
		rc = -ENOENT;
	} else {
		rc = step_end(db, rc, "incident", err, errlen);
	}
	sqlite3_finalize(st);
	return rc;
}

/* Inside the transaction: acknowledge id, or -EPERM with the reason. */
static int acknowledge_in(sqlite3 *db, long long id, const char *by, long long now_ms, char *err, size_t errlen)
{
	char status[32];
	char who[AUR_INCIDENT_AUTHOR_MAX + 1];
	char when[40];
	sqlite3_stmt *st = NULL;
	int rc = read_ack(db, id, status, sizeof(status), who, sizeof(who), when, sizeof(when), err, errlen);

	if (rc < 0)
		return rc;
	if (who[0]) {
		snprintf(err, errlen, "incident %lld is already acknowledged by %s at %s", id, who, when);
		return -EPERM;
	}
	if (strcmp(status, "investigating") != 0 && strcmp(status, "analyzed") != 0) {
		snprintf(err, errlen, "incident %lld is %s: only an open incident (investigating or analyzed) can be "
				      "acknowledged", id, status);
		return -EPERM;
	}
	aur_time_format_ms(now_ms, when, sizeof(when));
	rc = aur_db_prepare(db, &st, "UPDATE incidents SET acknowledged_by = ?, acknowledged_at = ? WHERE id = ?", err,
			    errlen);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, by, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, when, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, id);
	rc = step_end(db, sqlite3_step(st), "acknowledge", err, errlen);
	sqlite3_finalize(st);
	if (rc == 0 && aur_incident_event(db, id, "incident.acknowledged", set(jv_object(), "by", jv_string(by)),
					  now_ms) < 0) {
		set_err(err, errlen, "event", db);
		rc = -EIO;
	}
	return rc;
}

/* Inside the transaction: add a comment to id; *cid its id. */
static int comment_in(sqlite3 *db, long long id, const char *by, const char *text, long long now_ms,
		      long long *cid, char *err, size_t errlen)
{
	char status[32];
	char who[AUR_INCIDENT_AUTHOR_MAX + 1];
	char when[40];
	sqlite3_stmt *st = NULL;
	jv data;
	int rc = read_ack(db, id, status, sizeof(status), who, sizeof(who), when, sizeof(when), err, errlen);

	if (rc < 0)
		return rc;
	aur_time_format_ms(now_ms, when, sizeof(when));
	rc = aur_db_prepare(db, &st, "INSERT INTO incident_comments (incident_id, at, author, text) VALUES (?, ?, ?, ?)",
			    err, errlen);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, when, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, by, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, text, -1, SQLITE_STATIC);
	rc = step_end(db, sqlite3_step(st), "comment", err, errlen);
	sqlite3_finalize(st);
	if (rc < 0)
		return rc;
	*cid = sqlite3_last_insert_rowid(db);
	data = set(jv_object(), "comment_id", jv_number((double)*cid));
	data = set(data, "by", jv_string(by));
	data = set(data, "text", jv_string(text));
	if (aur_incident_event(db, id, "comment.added", data, now_ms) < 0) {
		set_err(err, errlen, "event", db);
		rc = -EIO;
	}
	return rc;
}

/* 1 when text is valid UTF-8 without NUL. */
static int utf8_ok(const char *text)
{
	const unsigned char *p = (const unsigned char *)text;

	while (*p) {
		int n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2 : (*p & 0xf8) == 0xf0 ? 3 : -1;

		if (n < 0 || (n == 1 && *p < 0xc2))
			return 0;
		p++;
		for (int i = 0; i < n; i++, p++)
			if ((*p & 0xc0) != 0x80)
				return 0;
	}
	return 1;
}

/* The author of an acknowledgement or comment: 1 to AUR_INCIDENT_AUTHOR_MAX bytes, UTF-8, no control character. */
static int author_ok(const char *by)
{
	size_t n = strlen(by);

	if (n == 0 || n > AUR_INCIDENT_AUTHOR_MAX || !utf8_ok(by))
		return 0;
	for (const char *p = by; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

int aur_incident_acknowledge(sqlite3 *db, long long id, const char *by, long long now_ms, char *err,
			     size_t errlen)
{
	long long until;
	int rc;

	if (!by || !author_ok(by)) {
		snprintf(err, errlen, "by: 1 to %d bytes of text without control characters", AUR_INCIDENT_AUTHOR_MAX);
		return -EINVAL;
	}
	until = aur_db_deadline(CREATE_DEADLINE_MS);
	rc = aur_db_begin_by(db, until, err, errlen);
	if (rc < 0)
		return rc;
	rc = acknowledge_in(db, id, by, now_ms, err, errlen);
	if (rc == 0)
		rc = aur_db_commit_by(db, until, err, errlen);
	if (rc < 0)
		aur_db_rollback(db);
	return rc;
}

int aur_incident_comment(sqlite3 *db, long long id, const char *by, const char *text, long long now_ms,
			 long long *comment_id, char *err, size_t errlen)
{
	long long until;
	long long cid = 0;
	int rc;

	if (!by || !author_ok(by)) {
		snprintf(err, errlen, "by: 1 to %d bytes of text without control characters", AUR_INCIDENT_AUTHOR_MAX);
		return -EINVAL;
	}
	if (!text || !*text || strlen(text) > AUR_INCIDENT_COMMENT_MAX || !utf8_ok(text)) {
		snprintf(err, errlen, "text: 1 to %d bytes of UTF-8", AUR_INCIDENT_COMMENT_MAX);
		return -EINVAL;
	}
	until = aur_db_deadline(CREATE_DEADLINE_MS);
	rc = aur_db_begin_by(db, until, err, errlen);
	if (rc < 0)
		return rc;
	rc = comment_in(db, id, by, text, now_ms, &cid, err, errlen);
	if (rc == 0)
		rc = aur_db_commit_by(db, until, err, errlen);
	if (rc < 0)
		aur_db_rollback(db);
	else if (comment_id)
		*comment_id = cid;
	return rc;
}

/* The stored postmortem of id into *md (NULL when none). 0, -ENOENT, -EBUSY, -EIO. */
static int stored_postmortem(sqlite3 *db, long long id, char **md, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = aur_db_prepare(db, &st, "SELECT postmortem FROM incidents WHERE id = ?", err, errlen);

	*md = NULL;
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (sqlite3_column_type(st, 0) != SQLITE_NULL)
			*md = aur_xstrdup((const char *)sqlite3_column_text(st, 0));
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		if (err && errlen)
			snprintf(err, errlen, "no incident %lld", id);
		rc = -ENOENT;
	} else {
		rc = step_end(db, rc, "incident", err, errlen);
	}
	sqlite3_finalize(st);
	return rc;
}

/* The template: aur_incident_text_postmortem, bounded. */
static int template_postmortem(void *arg, jv incident, long long now_ms, char **md, char *by, size_t bylen, char *err,
			       size_t errlen)
{
	struct aur_buf b;
	long long id = 0;
	int rc;

	(void)arg;
	aur_buf_init(&b, AUR_INCIDENT_POSTMORTEM_MAX);
	rc = aur_incident_text_postmortem(incident, now_ms, &b);
	if (rc < 0) {
		jv v = jv_object_get(jv_copy(incident), jv_string("id"));

		if (jv_get_kind(v) == JV_KIND_NUMBER)
			id = (long long)jv_number_value(v);
		jv_free(v);
		if (err && errlen)
			snprintf(err, errlen, "postmortem of incident %lld: longer than %zu bytes", id,
				 AUR_INCIDENT_POSTMORTEM_MAX);
		aur_buf_release(&b);
		return rc;
	}
	*md = aur_buf_detach(&b, NULL);
	if (!*md)
		*md = aur_xstrdup("");
	snprintf(by, bylen, "template");
	aur_buf_release(&b);
	return 0;
}

int aur_incident_postmortem(sqlite3 *db, long long id, int regenerate, long long now_ms, char **md,
			    int *generated, char *err, size_t errlen)
{
	return aur_incident_postmortem_with(db, id, regenerate, now_ms, NULL, NULL, md, generated, err, errlen);
}

int aur_incident_postmortem_with(sqlite3 *db, long long id, int regenerate, long long now_ms,
				 aur_incident_postmortem_fn write, void *arg, char **md, int *generated, char *err,
				 size_t errlen)
{
	long long until;
	sqlite3_stmt *st = NULL;
	char when[32];
	char by[128] = "";
	char *doc = NULL;
	size_t len = 0;
	jv o = jv_invalid();
	long long ev;
	int began = 0;
	int rc;

	*md = NULL;
	*generated = 0;
	rc = stored_postmortem(db, id, md, err, errlen);
	if (rc < 0 || (*md && !regenerate))
		goto out;
	free(*md);
	*md = NULL;
	/*
	 * Written outside any transaction: a model may take a minute, and the
	 * pipeline must not wait for it to write.
	 */
	rc = aur_incident_show(db, id, &o, err, errlen);
	if (rc == 0)
		rc = (write ? write : template_postmortem)(arg, o, now_ms, &doc, by, sizeof(by), err, errlen);
	if (rc == 0 && !doc) {
		snprintf(err, errlen, "postmortem of incident %lld: nothing was written", id);
		rc = -EIO;
	}
	if (rc == 0)
		len = strlen(doc);
	if (rc == 0 && len > AUR_INCIDENT_POSTMORTEM_MAX) {
		snprintf(err, errlen, "postmortem of incident %lld: longer than %zu bytes", id,
			 AUR_INCIDENT_POSTMORTEM_MAX);
		rc = -E2BIG;
	}
	if (rc < 0)
		goto out;
	until = aur_db_deadline(CREATE_DEADLINE_MS);
	rc = aur_db_begin_by(db, until, err, errlen);
	if (rc < 0)
		goto out;
	began = 1;
	/* another process may have written one while we wrote ours */
	rc = stored_postmortem(db, id, md, err, errlen);
	if (rc < 0 || (*md && !regenerate))
		goto out;
	free(*md);
	*md = NULL;
	rc = aur_db_prepare(db, &st, "UPDATE incidents SET postmortem = ?, updated_at = ? WHERE id = ?", err, errlen);
	if (rc < 0)
		goto out;
	aur_time_format_ms(now_ms, when, sizeof(when));
	sqlite3_bind_text(st, 1, doc, (int)len, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, when, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, id);
	rc = step_end(db, sqlite3_step(st), "postmortem", err, errlen);
	if (rc < 0)
		goto out;
	ev = aur_incident_event(db, id, "postmortem.generated",
				set(set(set(jv_object(), "regenerated", jv_bool(regenerate)), "bytes",
					jv_number((double)len)),
				    "generated_by", jv_string(by)),
				now_ms);
	if (ev < 0) {
		set_err(err, errlen, "events", db);
		rc = (int)ev;
		goto out;
	}
	rc = aur_db_commit_by(db, until, err, errlen);
	if (rc == 0) {
		*md = doc;
		doc = NULL;
		*generated = 1;
	}
out:
	sqlite3_finalize(st);
	if (began && rc < 0)
		aur_db_rollback(db);
	if (began && rc == 0 && !*generated)
		aur_db_rollback(db); /* found one stored meanwhile: nothing written */
	if (rc < 0) {
		free(*md);
		*md = NULL;
	}
	free(doc);
	jv_free(o);
	return rc;
}
