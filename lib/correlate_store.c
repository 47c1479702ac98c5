#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "correlate_store.h"
#include "db.h"
#include "incident.h"
#include "xalloc.h"
#include "banned.h"

enum {
	S_ALERT_GET,
	S_ALERT_INSERT,
	S_ALERT_UPDATE,
	S_IA_SEEN,
	S_RCA_GET,
	S_CAND_SERVICE,
	S_CAND_TERM,
	S_CAND_RECENT,
	S_INC_GET,
	S_INC_TOUCH,
	S_INC_TOUCH_KEEP,
	S_IA_OLD,
	S_IA_INSERT,
	S_FIRING_COUNT,
	S_INC_ACTIVITY,
	S_INC_HAS_KEY,
	S_STATS_GET,
	S_STATS_PUT,
	S_PENDING_SET,
	S_PENDING_DUE,
	S_DEP_LEARN,
	S_DEP_ANY,
	S_DEP_OF,
	S_DEP_ON,
	S_COUNT
};

#define AUR_STR_(x) #x
#define AUR_STR(x) AUR_STR_(x)
#define RECENT_MAX 4 /* incidents active within the time window that are candidates */

static const char *const sql[S_COUNT] = {
	[S_ALERT_GET] = "SELECT a.id, a.status, coalesce(a.incident_id, 0), coalesce(a.last_inbox_id, 0),"
			" a.count, coalesce(i.status, ''), coalesce(i.merged_into, 0)"
			" FROM alerts a LEFT JOIN incidents i ON i.id = a.incident_id"
			" WHERE a.source = ? AND a.dedup_key = ?",
	[S_ALERT_INSERT] = "INSERT INTO alerts(source, dedup_key, fingerprint, status, severity, title, service,"
			   " service_key, host, record, first_seen, first_seen_ms, last_seen, last_seen_ms,"
			   " first_inbox_id, last_inbox_id, incident_id)"
			   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?11, ?12, ?13, ?13, ?14)",
	[S_ALERT_UPDATE] = "UPDATE alerts SET status = ?2, severity = ?3, title = ?4, record = ?5, last_seen = ?6,"
			   " last_seen_ms = max(last_seen_ms, ?7), count = count + 1, last_inbox_id = ?8,"
			   " incident_id = ?9 WHERE id = ?1",
	[S_RCA_GET] = "SELECT rca FROM connectors WHERE platform = ?",
	[S_CAND_SERVICE] = "SELECT incident_id FROM open_incident_services WHERE service_key = ?"
			   " ORDER BY incident_id DESC LIMIT 16",
	/* newest first straight from the primary key: a common term costs at most the LIMIT */
	[S_CAND_TERM] = "SELECT incident_id FROM open_incident_terms WHERE term = ?"
			" ORDER BY incident_id DESC LIMIT 16",
	/*
	 * One open status at a time, straight from the index in its order:
	 * the IN list of AUR_INCIDENT_OPEN_SQL and an ORDER BY across both
	 * statuses cost two temporary tables per alert. aur_correlate_store_recent
	 * merges the two as that query ordered them.
	 */
	[S_CAND_RECENT] = "SELECT id, last_activity_ms FROM incidents WHERE status = ?1 AND last_activity_ms >= ?2"
			  " ORDER BY last_activity_ms DESC, id DESC LIMIT " AUR_STR(RECENT_MAX),
	[S_INC_GET] = "SELECT status, last_activity_ms, vector, severity, merged_into, started_ms,"
		      " resolve_pending_ms FROM incidents WHERE id = ?",
	/* ?6: the alert counts as activity (not info): it also ends a quiet period */
	[S_INC_TOUCH] = "UPDATE incidents SET last_activity_ms = CASE WHEN ?6 THEN max(last_activity_ms, ?2)"
			" ELSE last_activity_ms END, updated_at = ?3, severity = ?4, vector = ?5,"
			" resolve_pending_ms = CASE WHEN ?6 THEN NULL ELSE resolve_pending_ms END WHERE id = ?1",
	/*
	 * S_INC_TOUCH when the severity stays: setting it checks its CHECK
	 * constraint, whose IN list SQLite builds as a temporary table each time.
	 */
	[S_INC_TOUCH_KEEP] = "UPDATE incidents SET last_activity_ms = CASE WHEN ?6 THEN max(last_activity_ms, ?2)"
			     " ELSE last_activity_ms END, updated_at = ?3, vector = ?5,"
			     " resolve_pending_ms = CASE WHEN ?6 THEN NULL ELSE resolve_pending_ms END WHERE id = ?1",
	/*
	 * The join already there, read apart from the write below: an INSERT
	 * that selects from its own table goes through a temporary table.
	 */
	[S_IA_OLD] = "SELECT joined_at, opened, notifications FROM incident_alerts WHERE incident_id = ?1 AND alert_id = ?2",
	/*
	 * ?9: it opens the incident; one that opened it and fires again still
	 * did. A row already there has counted this notification (S_IA_SEEN):
	 * ?8 joined_at, ?11 notifications are the old row's (S_IA_OLD) when
	 * there is one, ?12 the time of this join.
	 */
	[S_IA_INSERT] = "INSERT OR REPLACE INTO incident_alerts(incident_id, alert_id, strategy, score,"
			" matched_incident, reason, inbox_id, joined_at, opened, notifications, last_seen, status)"
			" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?11, ?12, ?10)",
	/* a notification of an alert in an incident it is already part of */
	[S_IA_SEEN] = "UPDATE incident_alerts SET notifications = notifications + 1, last_seen = ?3, status = ?4"
		      " WHERE incident_id = ?1 AND alert_id = ?2",
	[S_FIRING_COUNT] = "SELECT count(*), sum(status = 'firing') FROM alerts WHERE incident_id = ?",
	[S_INC_ACTIVITY] = "UPDATE incidents SET last_activity_ms = max(last_activity_ms, ?2), updated_at = ?3"
			   " WHERE id = ?1",
	[S_INC_HAS_KEY] = "SELECT 1 FROM open_incident_services WHERE incident_id = ? LIMIT 1",
	[S_STATS_GET] = "SELECT term, docs FROM term_stats",
	[S_STATS_PUT] = "INSERT INTO term_stats(term, docs) VALUES (?, ?)"
			" ON CONFLICT(term) DO UPDATE SET docs = excluded.docs",
	[S_PENDING_SET] = "UPDATE incidents SET resolve_pending_ms = ?2, updated_at = ?3 WHERE id = ?1",
	/* only the pending few, through their partial index (a status test here would scan every open one) */
	[S_PENDING_DUE] = "SELECT id, resolve_pending_ms, status FROM incidents WHERE resolve_pending_ms <= ?"
			  " ORDER BY resolve_pending_ms LIMIT 64",
	[S_DEP_LEARN] = "INSERT INTO service_dependencies(service_key, depends_on, source, first_seen_ms, last_seen_ms)"
			" VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT(service_key, depends_on)"
			" DO UPDATE SET last_seen_ms = max(last_seen_ms, excluded.last_seen_ms)",
	/* any at all: S_DEP_OF sorts in a temporary table even when it finds nothing */
	[S_DEP_ANY] = "SELECT 1 FROM service_dependencies WHERE service_key = ? LIMIT 1",
	[S_DEP_OF] = "SELECT depends_on, source FROM service_dependencies WHERE service_key = ?"
		     " AND first_seen_ms < ?2 ORDER BY last_seen_ms DESC LIMIT 8",
	[S_DEP_ON] = "SELECT service_key, source FROM service_dependencies WHERE depends_on = ?"
		     " AND first_seen_ms < ?2 ORDER BY service_key LIMIT 8",
};

struct aur_correlate_store {
	sqlite3 *db;
	sqlite3_stmt *st[S_COUNT];
	uint32_t *stats_saved; /* df as last written, to write only what changed */
	uint32_t docs_saved;
};

static void reset(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Run st, a statement without results, and reset it. */
static int step(sqlite3_stmt *st)
{
	int rc = aur_db_errno(sqlite3_step(st));

	reset(st);
	return rc;
}

int aur_correlate_store_open(struct aur_correlate_store **out, sqlite3 *db, char *err, size_t errlen)
{
	struct aur_correlate_store *s = aur_xcalloc(1, sizeof(*s));
	int rc = 0;

	s->db = db;
	s->stats_saved = aur_xcalloc(AUR_TEXTVEC_BUCKETS, sizeof(uint32_t));
	for (int i = 0; i < S_COUNT && rc == 0; i++)
		rc = aur_db_prepare(db, &s->st[i], sql[i], err, errlen);
	if (rc < 0) {
		aur_correlate_store_free(s);
		s = NULL;
	}
	*out = s;
	return rc;
}

void aur_correlate_store_free(struct aur_correlate_store *s)
{
	if (!s)
		return;
	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	free(s->stats_saved);
	free(s);
}

int aur_correlate_store_load_stats(struct aur_correlate_store *s, struct aur_textvec_stats *stats, char *err,
				   size_t errlen)
{
	sqlite3_stmt *st = s->st[S_STATS_GET];
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *term = (const char *)sqlite3_column_text(st, 0);
		long long docs = sqlite3_column_int64(st, 1);
		char *end = NULL;
		unsigned long b;

		if (!term || docs < 0 || docs > UINT32_MAX)
			continue;
		if (!strcmp(term, "_docs")) {
			stats->docs = (uint32_t)docs;
			continue;
		}
		if (strncmp(term, "b:", 2) != 0)
			continue;
		b = strtoul(term + 2, &end, 10);
		if (*end || b >= AUR_TEXTVEC_BUCKETS)
			continue;
		stats->df[b] = (uint32_t)docs;
	}
	reset(st);
	if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "term_stats: %s", sqlite3_errmsg(s->db));
		return aur_db_errno(rc);
	}
	memcpy(s->stats_saved, stats->df, sizeof(stats->df));
	s->docs_saved = stats->docs;
	return 0;
}

int aur_correlate_store_save_stats(struct aur_correlate_store *s, const struct aur_textvec_stats *stats)
{
	sqlite3_stmt *st = s->st[S_STATS_PUT];
	char term[24];
	int rc = 0;

	for (uint32_t b = 0; b < AUR_TEXTVEC_BUCKETS && rc == 0; b++) {
		if (stats->df[b] == s->stats_saved[b])
			continue;
		snprintf(term, sizeof(term), "b:%u", b);
		sqlite3_bind_text(st, 1, term, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 2, stats->df[b]);
		rc = step(st);
		if (rc == 0)
			s->stats_saved[b] = stats->df[b];
	}
	if (rc == 0 && stats->docs != s->docs_saved) {
		sqlite3_bind_text(st, 1, "_docs", -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, stats->docs);
		rc = step(st);
		if (rc == 0)
			s->docs_saved = stats->docs;
	}
	return rc;
}

int aur_correlate_store_alert_get(struct aur_correlate_store *s, const char *source, const char *dedup_key,
				  struct aur_correlate_known *k)
{
	sqlite3_stmt *st = s->st[S_ALERT_GET];
	int rc;

	memset(k, 0, sizeof(*k));
	sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, dedup_key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		k->id = sqlite3_column_int64(st, 0);
		k->firing = !strcmp((const char *)sqlite3_column_text(st, 1), "firing");
		k->incident_id = sqlite3_column_int64(st, 2);
		k->last_inbox_id = sqlite3_column_int64(st, 3);
		k->count = sqlite3_column_int64(st, 4);
	}
	reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : aur_db_errno(rc);
}

/* One more notification of a known alert, and of its incident's join. */
static int alert_update(struct aur_correlate_store *s, const struct aur_correlate_alert *a,
			const char *record_text, long long existing, long long incident_id, const char *when)
{
	sqlite3_stmt *st = s->st[S_ALERT_UPDATE];
	int rc;

	sqlite3_bind_int64(st, 1, existing);
	sqlite3_bind_text(st, 2, a->status, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, a->severity, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, a->title, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, record_text, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, when, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, a->t_ms);
	if (a->inbox_id > 0)
		sqlite3_bind_int64(st, 8, a->inbox_id);
	if (incident_id > 0)
		sqlite3_bind_int64(st, 9, incident_id);
	rc = step(st);
	if (rc < 0 || incident_id <= 0)
		return rc;
	st = s->st[S_IA_SEEN];
	sqlite3_bind_int64(st, 1, incident_id);
	sqlite3_bind_int64(st, 2, existing);
	sqlite3_bind_text(st, 3, when, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, a->status, -1, SQLITE_STATIC);
	return step(st);
}

int aur_correlate_store_alert_put(struct aur_correlate_store *s, const struct aur_correlate_alert *a,
				  const char *record_text, long long existing, long long incident_id,
				  const char *when, long long *alert_id)
{
	sqlite3_stmt *st = s->st[S_ALERT_INSERT];
	int rc;

	if (existing) {
		*alert_id = existing;
		return alert_update(s, a, record_text, existing, incident_id, when);
	}
	sqlite3_bind_text(st, 1, a->source, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, a->dedup_key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, a->fingerprint ? a->fingerprint : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, a->status, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, a->severity, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, a->title, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, a->service ? a->service : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, a->service_key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, a->host ? a->host : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, record_text, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 11, when, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 12, a->t_ms);
	if (a->inbox_id > 0)
		sqlite3_bind_int64(st, 13, a->inbox_id);
	if (incident_id > 0)
		sqlite3_bind_int64(st, 14, incident_id);
	rc = step(st);
	*alert_id = sqlite3_last_insert_rowid(s->db);
	return rc;
}

int aur_correlate_store_alert_counts(struct aur_correlate_store *s, long long id, long long *total,
				     long long *firing)
{
	sqlite3_stmt *st = s->st[S_FIRING_COUNT];
	int rc;

	*total = *firing = 0;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*total = sqlite3_column_int64(st, 0);
		*firing = sqlite3_column_int64(st, 1);
	}
	reset(st);
	return rc == SQLITE_ROW ? 0 : aur_db_errno(rc);
}

/* Incident ids from a candidate query bound to text. */
static int query_ids(sqlite3_stmt *st, const char *text, long long *ids, size_t max, size_t *n)
{
	int rc;

	*n = 0;
	sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (*n < max)
			ids[(*n)++] = sqlite3_column_int64(st, 0);
	reset(st);
	return rc == SQLITE_DONE ? 0 : aur_db_errno(rc);
}

int aur_correlate_store_by_service(struct aur_correlate_store *s, const char *key, long long *ids, size_t max,
				   size_t *n)
{
	return query_ids(s->st[S_CAND_SERVICE], key, ids, max, n);
}

int aur_correlate_store_by_term(struct aur_correlate_store *s, const char *term, long long *ids, size_t max,
				size_t *n)
{
	return query_ids(s->st[S_CAND_TERM], term, ids, max, n);
}

/* The open incidents of one status active since since_ms, newest first (ties: newest id first). */
static int recent_of(sqlite3_stmt *st, const char *status, long long since_ms, long long *ids, long long *at,
		     size_t *n)
{
	int rc;

	*n = 0;
	sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, since_ms);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < RECENT_MAX) {
		ids[*n] = sqlite3_column_int64(st, 0);
		at[(*n)++] = sqlite3_column_int64(st, 1);
	}
	reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : aur_db_errno(rc);
}

/*
 * The RECENT_MAX open incidents active last: the order of the one query
 * "status IN (open) ORDER BY last_activity_ms DESC LIMIT 4" it replaces,
 * ties included (an investigating incident before an analyzed one, then
 * the newer id first), so that the same candidates come in the same order.
 */
int aur_correlate_store_recent(struct aur_correlate_store *s, long long since_ms, long long *ids, size_t max,
			       size_t *n)
{
	long long inv[RECENT_MAX], inv_at[RECENT_MAX], ana[RECENT_MAX], ana_at[RECENT_MAX];
	size_t ni = 0, na = 0, i = 0, j = 0;
	int rc = recent_of(s->st[S_CAND_RECENT], "investigating", since_ms, inv, inv_at, &ni);

	if (rc == 0)
		rc = recent_of(s->st[S_CAND_RECENT], "analyzed", since_ms, ana, ana_at, &na);
	*n = 0;
	if (rc < 0)
		return rc;
	while (*n < max && *n < RECENT_MAX && (i < ni || j < na)) {
		if (j >= na || (i < ni && inv_at[i] >= ana_at[j]))
			ids[(*n)++] = inv[i++];
		else
			ids[(*n)++] = ana[j++];
	}
	return 0;
}

int aur_correlate_store_has_service_key(struct aur_correlate_store *s, long long id)
{
	sqlite3_stmt *st = s->st[S_INC_HAS_KEY];
	int found;

	sqlite3_bind_int64(st, 1, id);
	found = sqlite3_step(st) == SQLITE_ROW;
	reset(st);
	return found;
}

void aur_correlate_store_dep_term(const char *key, char *out, size_t outlen)
{
	snprintf(out, outlen, "dep:%s", key);
}

int aur_correlate_store_learned(struct aur_correlate_store *s, const char *key, long long before_ms,
				int dependents, struct aur_correlate_learned *out, size_t *n)
{
	sqlite3_stmt *st = s->st[dependents ? S_DEP_ON : S_DEP_OF];
	int rc;

	*n = 0;
	if (!dependents) {
		sqlite3_stmt *any = s->st[S_DEP_ANY];

		sqlite3_bind_text(any, 1, key, -1, SQLITE_STATIC);
		rc = sqlite3_step(any);
		reset(any);
		if (rc != SQLITE_ROW)
			return rc == SQLITE_DONE ? 0 : aur_db_errno(rc);
	}
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, before_ms);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < AUR_CORRELATE_LEARNED_MAX) {
		struct aur_correlate_learned *l = &out[(*n)++];

		snprintf(l->other, sizeof(l->other), "%s", (const char *)sqlite3_column_text(st, 0));
		snprintf(l->from, sizeof(l->from), "%s", (const char *)sqlite3_column_text(st, 1));
	}
	reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : aur_db_errno(rc);
}

int aur_correlate_store_learn(struct aur_correlate_store *s, const char *key, const char *dep_key,
			      const char *from, long long t_ms)
{
	sqlite3_stmt *st = s->st[S_DEP_LEARN];

	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, dep_key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, from, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, t_ms);
	return step(st);
}

int aur_correlate_store_incident(struct aur_correlate_store *s, long long id, struct aur_correlate_incident *inc,
				 struct aur_semvec *vec)
{
	sqlite3_stmt *st = s->st[S_INC_GET];
	int rc;

	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		reset(st);
		return rc == SQLITE_DONE ? -ENOENT : aur_db_errno(rc);
	}
	snprintf(inc->status, sizeof(inc->status), "%s", (const char *)sqlite3_column_text(st, 0));
	inc->last_activity_ms = sqlite3_column_int64(st, 1);
	snprintf(inc->severity, sizeof(inc->severity), "%s", (const char *)sqlite3_column_text(st, 3));
	inc->merged_into = sqlite3_column_int64(st, 4);
	inc->started_ms = sqlite3_column_int64(st, 5);
	inc->pending_ms = sqlite3_column_int64(st, 6);
	inc->count = 0;
	if (vec)
		inc->count = aur_semvec_unblob(sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2), vec);
	reset(st);
	return 0;
}

int aur_correlate_store_touch(struct aur_correlate_store *s, long long id, long long t_ms, const char *when,
			      const char *severity, const void *blob, size_t bloblen, int activity)
{
	sqlite3_stmt *st = s->st[severity ? S_INC_TOUCH : S_INC_TOUCH_KEEP];

	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, t_ms);
	sqlite3_bind_text(st, 3, when, -1, SQLITE_STATIC);
	if (severity)
		sqlite3_bind_text(st, 4, severity, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 5, blob, (int)bloblen, SQLITE_STATIC);
	sqlite3_bind_int(st, 6, activity);
	return step(st);
}

int aur_correlate_store_activity(struct aur_correlate_store *s, long long id, long long t_ms, const char *when)
{
	sqlite3_stmt *st = s->st[S_INC_ACTIVITY];

	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, t_ms);
	sqlite3_bind_text(st, 3, when, -1, SQLITE_STATIC);
	return step(st);
}

int aur_correlate_store_join(struct aur_correlate_store *s, long long id, long long alert_id,
			     const struct aur_correlate_alert *a, const char *when, const struct aur_correlate_join *j)
{
	sqlite3_stmt *st = s->st[S_IA_OLD];
	char joined[64] = "";
	int opened = j->opened;
	long long notifications = 1;
	int rc;

	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, alert_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);

		snprintf(joined, sizeof(joined), "%s", t ? t : "");
		opened = opened || sqlite3_column_int64(st, 1) != 0;
		notifications = sqlite3_column_int64(st, 2);
	}
	reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return aur_db_errno(rc);
	st = s->st[S_IA_INSERT];
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, alert_id);
	sqlite3_bind_text(st, 3, j->strategy, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 4, j->score);
	if (j->matched > 0)
		sqlite3_bind_int64(st, 5, j->matched);
	sqlite3_bind_text(st, 6, j->reason, -1, SQLITE_STATIC);
	if (a->inbox_id > 0)
		sqlite3_bind_int64(st, 7, a->inbox_id);
	sqlite3_bind_text(st, 8, rc == SQLITE_ROW ? joined : when, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 9, opened);
	sqlite3_bind_text(st, 10, a->status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 11, notifications);
	sqlite3_bind_text(st, 12, when, -1, SQLITE_STATIC);
	return step(st);
}

int aur_correlate_store_set_pending(struct aur_correlate_store *s, long long id, long long at_ms,
				    const char *when)
{
	sqlite3_stmt *st = s->st[S_PENDING_SET];

	sqlite3_bind_int64(st, 1, id);
	if (at_ms > 0)
		sqlite3_bind_int64(st, 2, at_ms);
	sqlite3_bind_text(st, 3, when, -1, SQLITE_STATIC);
	return step(st);
}

int aur_correlate_store_pending_due(struct aur_correlate_store *s, long long before_ms,
				    struct aur_correlate_pending *out, size_t *n)
{
	sqlite3_stmt *st = s->st[S_PENDING_DUE];
	int rc;

	*n = 0;
	sqlite3_bind_int64(st, 1, before_ms);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < AUR_CORRELATE_PENDING_MAX) {
		const char *status = (const char *)sqlite3_column_text(st, 2);
		struct aur_correlate_pending *p = &out[(*n)++];

		p->id = sqlite3_column_int64(st, 0);
		p->at_ms = sqlite3_column_int64(st, 1);
		p->open = status && (!strcmp(status, "investigating") || !strcmp(status, "analyzed"));
	}
	reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : aur_db_errno(rc);
}

int aur_correlate_store_rca_enabled(struct aur_correlate_store *s, const char *source)
{
	sqlite3_stmt *st = s->st[S_RCA_GET];
	int on = 1;

	sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		on = sqlite3_column_int(st, 0);
	reset(st);
	return on;
}
