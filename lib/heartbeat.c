#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "heartbeat.h"
#include "incident.h"
#include "timeutil.h"
#include "banned.h"

static void set_err(char *err, size_t errlen, const char *what, sqlite3 *db)
{
	snprintf(err, errlen, "heartbeats: %s: %s", what, sqlite3_errmsg(db));
}

/* The text of column i, or "". */
static const char *col(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	return s ? (const char *)s : "";
}

int aur_heartbeat_seen(sqlite3 *db, const char *source, const char *dedup_key, const char *title,
		       const char *service, long long t_ms, long long *resolved, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	long long silent = 0;
	int rc;

	*resolved = 0;
	rc = aur_db_prepare(db, &st,
			    "INSERT INTO heartbeats (source, dedup_key, title, service, last_seen_ms)"
			    " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (source, dedup_key) DO UPDATE SET"
			    " title = excluded.title, service = excluded.service,"
			    " last_seen_ms = max(last_seen_ms, excluded.last_seen_ms)"
			    " RETURNING coalesce(silent_incident, 0)",
			    err, errlen);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, dedup_key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, title ? title : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, service ? service : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, t_ms);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		silent = sqlite3_column_int64(st, 0);
	while (rc == SQLITE_ROW)
		rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		set_err(err, errlen, "remembering one", db);
		return aur_db_errno(rc);
	}
	if (!silent)
		return 0;
	rc = aur_db_prepare(db, &st, "UPDATE heartbeats SET silent_incident = NULL WHERE source = ? AND dedup_key = ?",
			    err, errlen);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, dedup_key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		set_err(err, errlen, "clearing a silence", db);
		return aur_db_errno(rc);
	}
	rc = aur_incident_set_status(db, silent, "resolved", "the heartbeat arrived again", t_ms, err, errlen);
	if (rc == -EPERM) /* resolved or merged meanwhile, by hand */
		return 0;
	if (rc == 0)
		*resolved = silent;
	return rc;
}

/* Open the incident for heartbeat h, silent since h->last_seen_ms. */
static int open_silence(sqlite3 *db, struct aur_heartbeat_silence *h, long long now_ms, long long silence_ms,
			char *err, size_t errlen)
{
	struct aur_incident_new n = { 0 };
	sqlite3_stmt *st = NULL;
	char since[40];
	int rc;

	aur_time_format_ms(h->last_seen_ms, since, sizeof(since));
	snprintf(h->title, sizeof(h->title), "The alerting path from %s is silent: no \"%.400s\" since %s", h->source,
		 h->heartbeat[0] ? h->heartbeat : h->dedup_key, since);
	n.title = h->title;
	n.severity = "high";
	n.service = h->service[0] ? h->service : h->source;
	n.source_type = h->source;
	n.started_ms = h->last_seen_ms + silence_ms;
	rc = aur_incident_insert(db, &n, now_ms, &h->incident_id, err, errlen);
	if (rc < 0)
		return rc;
	rc = aur_db_prepare(db, &st, "UPDATE heartbeats SET silent_incident = ?3 WHERE source = ?1 AND dedup_key = ?2",
			    err, errlen);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, h->source, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, h->dedup_key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, h->incident_id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		set_err(err, errlen, "marking a silence", db);
		return aur_db_errno(rc);
	}
	return 0;
}

int aur_heartbeat_check(sqlite3 *db, long long now_ms, long long silence_ms, struct aur_heartbeat_silence *out,
			size_t max, size_t *n, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*n = 0;
	rc = aur_db_prepare(db, &st,
			    "SELECT source, dedup_key, title, service, last_seen_ms FROM heartbeats"
			    " WHERE silent_incident IS NULL AND last_seen_ms < ? ORDER BY last_seen_ms, source, dedup_key"
			    " LIMIT ?",
			    err, errlen);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, now_ms - silence_ms);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct aur_heartbeat_silence *h = &out[(*n)++];

		memset(h, 0, sizeof(*h));
		snprintf(h->source, sizeof(h->source), "%s", col(st, 0));
		snprintf(h->dedup_key, sizeof(h->dedup_key), "%s", col(st, 1));
		snprintf(h->heartbeat, sizeof(h->heartbeat), "%s", col(st, 2));
		snprintf(h->service, sizeof(h->service), "%s", col(st, 3));
		h->last_seen_ms = sqlite3_column_int64(st, 4);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		set_err(err, errlen, "looking for silence", db);
		return aur_db_errno(rc);
	}
	for (size_t i = 0; i < *n; i++) {
		rc = open_silence(db, &out[i], now_ms, silence_ms, err, errlen);
		if (rc < 0)
			return rc;
	}
	return 0;
}
