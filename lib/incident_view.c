#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "inbox.h"
#include "incident_view.h"
#include "timeutil.h"
#include "banned.h"

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
	rc = aur_db_step_end(db, rc, "incidents", err, errlen);
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
	rc = aur_db_step_end(db, rc, key, err, errlen);
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
	rc = aur_db_step_end(db, rc, "alerts", err, errlen);
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
		rc = aur_db_step_end(db, rc == SQLITE_DONE ? SQLITE_ERROR : rc, key, err, errlen);
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
		rc = aur_db_step_end(db, rc, "incident", err, errlen);
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
	rc = aur_db_step_end(db, rc, "events", err, errlen);
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
		rc = aur_db_step_end(db, rc == SQLITE_DONE ? SQLITE_ERROR : rc, "events", err, errlen);
	}
	sqlite3_finalize(st);
	return rc;
}
