#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "incident.h"
#include "jvio.h"
#include "timeutil.h"
#include "banned.h"

static const char *const severities[] = { "info", "low", "medium", "high", "critical", NULL };

int aur_incident_severity_rank(const char *s)
{
	for (int i = 0; s && severities[i]; i++)
		if (!strcmp(severities[i], s))
			return i + 1;
	return 0;
}

int aur_incident_severity_valid(const char *s)
{
	return aur_incident_severity_rank(s) > 0;
}

static int is_open(const char *status)
{
	return !strcmp(status, "investigating") || !strcmp(status, "analyzed");
}

/* 1 when the lifecycle allows from -> to. */
static int transition_allowed(const char *from, const char *to)
{
	if (!strcmp(to, "analyzed"))
		return !strcmp(from, "investigating");
	if (!strcmp(to, "resolved") || !strcmp(to, "merged"))
		return is_open(from);
	if (!strcmp(to, "investigating"))
		return !strcmp(from, "resolved");
	return 0;
}

/* Run one statement with up to three int64 and two text parameters (NULL text binds NULL). */
static int run(sqlite3 *db, const char *sql, long long a, long long b, const char *t1, const char *t2,
	       char *err, size_t errlen)
{
	sqlite3_stmt *st = aur_db_stmt(db, sql, err, errlen);
	int rc;
	int n;

	if (!st)
		return aur_db_errno(sqlite3_errcode(db));
	n = sqlite3_bind_parameter_count(st);
	if (n >= 1)
		sqlite3_bind_int64(st, 1, a);
	if (n >= 2)
		sqlite3_bind_int64(st, 2, b);
	if (n >= 3)
		sqlite3_bind_text(st, 3, t1, -1, SQLITE_STATIC);
	if (n >= 4)
		sqlite3_bind_text(st, 4, t2, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW && err)
		snprintf(err, errlen, "incident: %s", sqlite3_errmsg(db));
	rc = aur_db_errno(rc);
	sqlite3_reset(st);
	return rc;
}

static jv column_text(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return t ? jv_string((const char *)t) : jv_null();
}

long long aur_incident_event(sqlite3 *db, long long incident_id, const char *type, jv data, long long at_ms)
{
	sqlite3_stmt *st = NULL;
	char when[32];
	struct aur_buf text;
	long long id = -EIO;

	if (jv_get_kind(data) != JV_KIND_OBJECT) {
		jv_free(data);
		data = jv_object();
	}
	if (incident_id > 0 &&
	    (st = aur_db_stmt(db, "SELECT title, status, severity, service FROM incidents WHERE id = ?", NULL, 0))) {
		sqlite3_bind_int64(st, 1, incident_id);
		if (sqlite3_step(st) == SQLITE_ROW) {
			jv inc = jv_object();

			inc = jv_object_set(inc, jv_string("id"), jv_number((double)incident_id));
			inc = jv_object_set(inc, jv_string("title"), column_text(st, 0));
			inc = jv_object_set(inc, jv_string("status"), column_text(st, 1));
			inc = jv_object_set(inc, jv_string("severity"), column_text(st, 2));
			inc = jv_object_set(inc, jv_string("service"), column_text(st, 3));
			data = jv_object_set(data, jv_string("incident"), inc);
		}
		sqlite3_reset(st);
	}
	st = NULL;
	aur_buf_init(&text, 0);
	aur_jvio_text(data, &text);
	jv_free(data);
	aur_time_format_ms(at_ms, when, sizeof(when));
	if ((st = aur_db_stmt(db, "INSERT INTO events(at, type, incident_id, data) VALUES (?, ?, ?, ?)", NULL,
			      0))) {
		int rc;

		sqlite3_bind_text(st, 1, when, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, type, -1, SQLITE_STATIC);
		if (incident_id > 0)
			sqlite3_bind_int64(st, 3, incident_id);
		sqlite3_bind_text(st, 4, text.data ? text.data : "{}", text.data ? (int)text.len : -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		id = rc == SQLITE_DONE ? sqlite3_last_insert_rowid(db) : aur_db_errno(rc);
		sqlite3_reset(st);
	} else {
		id = aur_db_errno(sqlite3_errcode(db));
	}
	if (id == 0)
		id = -EIO;
	aur_buf_release(&text);
	return id;
}

int aur_incident_insert(sqlite3 *db, const struct aur_incident_new *n, long long at_ms, long long *id,
			char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	char started[32];
	char now[32];
	long long ev;
	int rc;

	st = aur_db_stmt(db,
			 "INSERT INTO incidents(title, severity, service, source_type, source_link,"
			 " started_at, started_ms, last_activity_ms, updated_at, metadata, previous_incident)"
			 " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			 err, errlen);
	if (!st)
		return aur_db_errno(sqlite3_errcode(db));
	aur_time_format_ms(n->started_ms, started, sizeof(started));
	aur_time_format_ms(at_ms, now, sizeof(now));
	sqlite3_bind_text(st, 1, n->title, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, n->severity ? n->severity : "medium", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, n->service ? n->service : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, n->source_type ? n->source_type : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, n->source_link ? n->source_link : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, started, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, n->started_ms);
	sqlite3_bind_int64(st, 8, at_ms > n->started_ms ? at_ms : n->started_ms);
	sqlite3_bind_text(st, 9, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, n->metadata_json ? n->metadata_json : "{}", -1, SQLITE_STATIC);
	if (n->previous_incident > 0)
		sqlite3_bind_int64(st, 11, n->previous_incident);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "incident: %s", sqlite3_errmsg(db));
		rc = aur_db_errno(rc);
		goto out;
	}
	*id = sqlite3_last_insert_rowid(db);
	sqlite3_reset(st);
	{
		jv data = jv_object();

		data = jv_object_set(data, jv_string("source_type"),
				     jv_string(n->source_type ? n->source_type : ""));
		if (n->previous_incident > 0)
			data = jv_object_set(data, jv_string("previous_incident"),
					     jv_number((double)n->previous_incident));
		ev = aur_incident_event(db, *id, "incident.created", data, at_ms);
	}
	rc = ev < 0 ? (int)ev : 0;
	if (rc < 0)
		snprintf(err, errlen, "events: %s", sqlite3_errmsg(db));
out:
	sqlite3_reset(st);
	return rc;
}

/* The status of incident id into out; -ENOENT when there is none. */
static int status_of(sqlite3 *db, long long id, char *out, size_t outlen, char *err, size_t errlen)
{
	sqlite3_stmt *st = aur_db_stmt(db, "SELECT status FROM incidents WHERE id = ?", err, errlen);
	int rc;

	if (!st)
		return aur_db_errno(sqlite3_errcode(db));
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(out, outlen, "%s", (const char *)sqlite3_column_text(st, 0));
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		snprintf(err, errlen, "no incident %lld", id);
		rc = -ENOENT;
	} else {
		snprintf(err, errlen, "incident: %s", sqlite3_errmsg(db));
		rc = aur_db_errno(rc);
	}
	sqlite3_reset(st);
	return rc;
}

/* Drop an incident from the candidate indexes. */
static int unindex(sqlite3 *db, long long id)
{
	int rc = run(db, "DELETE FROM open_incident_services WHERE incident_id = ?", id, 0, NULL, NULL, NULL, 0);

	if (rc == 0)
		rc = run(db, "DELETE FROM open_incident_terms WHERE incident_id = ?", id, 0, NULL, NULL, NULL, 0);
	return rc;
}

int aur_incident_index(sqlite3 *db, long long id, const char *service_key, const struct aur_textvec_terms *terms)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;

	if (service_key && *service_key) {
		st = aur_db_stmt(db, "INSERT OR IGNORE INTO open_incident_services(service_key, incident_id) VALUES (?, ?)",
				 NULL, 0);
		if (!st)
			return aur_db_errno(sqlite3_errcode(db));
		sqlite3_bind_text(st, 1, service_key, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, id);
		rc = aur_db_errno(sqlite3_step(st));
		sqlite3_reset(st);
		st = NULL;
	}
	if (rc < 0 || !terms || !terms->n)
		return rc;
	st = aur_db_stmt(db, "INSERT OR IGNORE INTO open_incident_terms(term, incident_id) VALUES (?, ?)", NULL, 0);
	if (!st)
		return aur_db_errno(sqlite3_errcode(db));
	for (size_t i = 0; i < terms->n && rc == 0; i++) {
		sqlite3_bind_text(st, 1, terms->term[i], -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, id);
		rc = aur_db_errno(sqlite3_step(st));
		sqlite3_reset(st);
	}
	return rc;
}

/* Put a reopened incident's alerts back into the candidate indexes. */
static int reindex(sqlite3 *db, long long id)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db,
			       "SELECT service_key, title || ' ' || coalesce(json_extract(record, '$.description'), ''),"
			       " host FROM alerts WHERE incident_id = ?",
			       -1, &st, NULL) != SQLITE_OK)
		return aur_db_errno(sqlite3_errcode(db));
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct aur_textvec_terms terms;
		char key[128];

		char host[128];

		snprintf(key, sizeof(key), "%s", (const char *)sqlite3_column_text(st, 0));
		aur_textvec_terms((const char *)sqlite3_column_text(st, 1), &terms, 0);
		aur_textvec_host_name((const char *)sqlite3_column_text(st, 2), host, sizeof(host));
		if (aur_incident_index(db, id, key, &terms) < 0)
			break;
		if (host[0] && strcmp(host, key) != 0 && aur_incident_index(db, id, host, NULL) < 0)
			break;
	}
	rc = rc == SQLITE_DONE ? 0 : aur_db_errno(rc ? rc : SQLITE_ERROR);
	sqlite3_finalize(st);
	return rc;
}

int aur_incident_set_status(sqlite3 *db, long long id, const char *to, const char *reason, long long at_ms,
			    char *err, size_t errlen)
{
	char from[32];
	char when[32];
	jv data;
	long long ev;
	int rc;

	rc = status_of(db, id, from, sizeof(from), err, errlen);
	if (rc < 0)
		return rc;
	if (!transition_allowed(from, to)) {
		snprintf(err, errlen, "incident %lld is %s: it cannot become %s", id, from, to);
		return -EPERM;
	}
	aur_time_format_ms(at_ms, when, sizeof(when));
	rc = run(db,
		 "UPDATE incidents SET status = ?3, updated_at = ?4,"
		 " resolved_at = CASE WHEN ?3 = 'resolved' THEN ?4 WHEN ?3 = 'investigating' THEN NULL"
		 " ELSE resolved_at END,"
		 " last_activity_ms = CASE WHEN ?3 = 'investigating' THEN max(last_activity_ms, ?2)"
		 " ELSE last_activity_ms END,"
		 " resolve_pending_ms = NULL" /* a status set by hand ends a quiet period */
		 " WHERE id = ?1",
		 id, at_ms, to, when, err, errlen);
	if (rc == 0 && is_open(from) && !is_open(to))
		rc = unindex(db, id);
	if (rc == 0 && !is_open(from) && is_open(to))
		rc = reindex(db, id);
	if (rc < 0)
		return rc;
	data = jv_object();
	data = jv_object_set(data, jv_string("from"), jv_string(from));
	data = jv_object_set(data, jv_string("to"), jv_string(to));
	data = jv_object_set(data, jv_string("reason"), jv_string(reason ? reason : ""));
	ev = aur_incident_event(db, id, "incident.status_changed", data, at_ms);
	if (ev < 0) {
		snprintf(err, errlen, "events: %s", sqlite3_errmsg(db));
		return (int)ev;
	}
	return 0;
}

int aur_incident_merge(sqlite3 *db, long long src, long long dst, long long at_ms, char *err, size_t errlen)
{
	char src_status[32];
	char dst_status[32];
	char reason[64];
	jv data;
	int rc;

	if (src == dst) {
		snprintf(err, errlen, "cannot merge incident %lld into itself", src);
		return -EPERM;
	}
	rc = status_of(db, src, src_status, sizeof(src_status), err, errlen);
	if (rc == 0)
		rc = status_of(db, dst, dst_status, sizeof(dst_status), err, errlen);
	if (rc < 0)
		return rc;
	if (!is_open(src_status) || !is_open(dst_status)) {
		snprintf(err, errlen, "incident %lld is %s and %lld is %s: only open incidents merge", src,
			 src_status, dst, dst_status);
		return -EPERM;
	}
	snprintf(reason, sizeof(reason), "merged into incident %lld", dst);
	rc = aur_incident_set_status(db, src, "merged", reason, at_ms, err, errlen);
	if (rc == 0)
		rc = run(db, "UPDATE incidents SET merged_into = ?2 WHERE id = ?1", src, dst, NULL, NULL, err, errlen);
	if (rc == 0)
		rc = run(db, "UPDATE alerts SET incident_id = ?2 WHERE incident_id = ?1", src, dst, NULL, NULL, err,
			 errlen);
	if (rc == 0)
		rc = run(db, "UPDATE OR REPLACE incident_alerts SET incident_id = ?2 WHERE incident_id = ?1", src, dst,
			 NULL, NULL, err, errlen);
	if (rc == 0)
		rc = run(db, "UPDATE incident_thoughts SET incident_id = ?2 WHERE incident_id = ?1", src, dst, NULL,
			 NULL, err, errlen);
	if (rc == 0)
		rc = run(db, "UPDATE incident_suggestions SET incident_id = ?2 WHERE incident_id = ?1", src, dst, NULL,
			 NULL, err, errlen);
	if (rc == 0)
		rc = reindex(db, dst);
	if (rc == 0)
		rc = run(db,
			 "UPDATE incidents SET"
			 " severity = (SELECT severity FROM incidents WHERE id IN (?1, ?2) ORDER BY"
			 " CASE severity WHEN 'critical' THEN 5 WHEN 'high' THEN 4 WHEN 'medium' THEN 3"
			 " WHEN 'low' THEN 2 ELSE 1 END DESC LIMIT 1),"
			 " last_activity_ms = (SELECT max(last_activity_ms) FROM incidents WHERE id IN (?1, ?2))"
			 " WHERE id = ?2",
			 src, dst, NULL, NULL, err, errlen);
	if (rc < 0)
		return rc;
	data = jv_object_set(jv_object(), jv_string("from"), jv_number((double)src));
	if (aur_incident_event(db, dst, "incident.merged_in", data, at_ms) < 0) {
		snprintf(err, errlen, "events: %s", sqlite3_errmsg(db));
		return -EIO;
	}
	return 0;
}
