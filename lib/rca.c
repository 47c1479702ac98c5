/*
 * rca.c - the store side of an investigation (rca.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "incident.h"
#include "rca.h"
#include "timeutil.h"
#include "jvio.h"
#include "banned.h"

static void set_err(char *err, size_t errlen, const char *what, sqlite3 *db)
{
	if (err && errlen)
		snprintf(err, errlen, "%s: %s", what, sqlite3_errmsg(db));
}

static int step_done(sqlite3 *db, sqlite3_stmt *st, const char *what, char *err, size_t errlen)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		return 0;
	set_err(err, errlen, what, db);
	rc = aur_db_errno(rc);
	return rc ? rc : -EIO;
}

/*
 * Append an event of type (data consumed): 0, or the negative errno of
 * the failure with its message in err: a full disk stays -ENOSPC, which
 * aurora-rca's exit status tells apart from an I/O error (aurora(7)).
 */
static int add_event(sqlite3 *db, long long id, const char *type, jv data, long long now, char *err,
		     size_t errlen)
{
	long long ev = aur_incident_event(db, id, type, data, now);

	if (ev >= 0)
		return 0;
	set_err(err, errlen, "event", db);
	return (int)ev;
}

static jv col_text(sqlite3_stmt *st, int i)
{
	const char *t = (const char *)sqlite3_column_text(st, i);

	return t ? jv_string(t) : jv_null();
}

/*
 * The status of id and the incident it was merged into, inside the open
 * transaction. 0, -ENOENT, or -ECANCELED with *merged_into the end of the
 * merge chain.
 */
static int open_or_merged(sqlite3 *db, long long id, char *status, size_t statuslen, long long *merged_into,
			  char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	long long cur = id;
	int rc = 0;

	rc = aur_db_prepare(db, &st, "SELECT status, merged_into FROM incidents WHERE id = ?", err, errlen);
	if (rc < 0)
		return rc;
	/* a merge chain is short; the bound keeps a corrupt cycle finite */
	for (int hops = 0; hops < 64; hops++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, cur);
		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW) {
			if (rc == SQLITE_DONE) {
				snprintf(err, errlen, "no incident %lld", cur);
				rc = -ENOENT;
			} else {
				set_err(err, errlen, "incident", db);
				rc = aur_db_errno(rc);
			}
			goto out;
		}
		if (cur == id && status)
			snprintf(status, statuslen, "%s", (const char *)sqlite3_column_text(st, 0));
		if (strcmp((const char *)sqlite3_column_text(st, 0), "merged") != 0 ||
		    sqlite3_column_type(st, 1) == SQLITE_NULL) {
			rc = cur == id ? 0 : -ECANCELED;
			break;
		}
		cur = sqlite3_column_int64(st, 1);
		rc = -ECANCELED;
	}
	if (rc == -ECANCELED) {
		if (merged_into)
			*merged_into = cur;
		snprintf(err, errlen, "incident %lld was merged into %lld", id, cur);
	}
out:
	sqlite3_finalize(st);
	return rc;
}

static int begin(sqlite3 *db, int busy_ms, char *err, size_t errlen)
{
	return aur_db_begin(db, busy_ms, err, errlen);
}

static int end(sqlite3 *db, int busy_ms, int rc, char *err, size_t errlen)
{
	if (rc >= 0) {
		int c = aur_db_commit(db, busy_ms, err, errlen);

		if (c < 0) {
			aur_db_rollback(db);
			return c;
		}
		return rc;
	}
	aur_db_rollback(db);
	return rc;
}

int aur_rca_claim(sqlite3 *db, int busy_ms, long long id, char *why, size_t whylen, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = begin(db, busy_ms, err, errlen);

	if (rc < 0)
		return rc;
	why[0] = '\0';
	rc = aur_db_prepare(db, &st, "SELECT status, rca_state FROM incidents WHERE id = ?", err, errlen);
	if (rc < 0)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		snprintf(err, errlen, "no incident %lld", id);
		rc = -ENOENT;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		set_err(err, errlen, "incident", db);
		rc = aur_db_errno(rc);
		goto out;
	}
	/* a resolved incident still deserves its cause (a replay meets many); a merged one lives on elsewhere */
	if (!strcmp((const char *)sqlite3_column_text(st, 0), "merged")) {
		snprintf(why, whylen, "incident %lld is %s", id, (const char *)sqlite3_column_text(st, 0));
		rc = 0;
		goto out;
	}
	if (strcmp((const char *)sqlite3_column_text(st, 1), "idle") != 0) {
		snprintf(why, whylen, "its investigation is %s already", (const char *)sqlite3_column_text(st, 1));
		rc = 0;
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	rc = aur_db_prepare(db, &st, "UPDATE incidents SET rca_state = 'running' WHERE id = ?", err, errlen);
	if (rc < 0)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	rc = step_done(db, st, "incident", err, errlen);
	if (rc < 0)
		goto out;
	rc = add_event(db, id, "rca.started", jv_object(), aur_time_now_ms(), err, errlen);
	if (rc < 0)
		goto out;
	rc = 1;
out:
	sqlite3_finalize(st);
	return end(db, busy_ms, rc, err, errlen);
}

static jv record_head(const char *type, long long id)
{
	jv r = jv_object_set(jv_object(), jv_string("v"), jv_number(1));

	r = jv_object_set(r, jv_string("type"), jv_string(type));
	return jv_object_set(r, jv_string("incident_id"), jv_number((double)id));
}

/*
 * One step of an investigation, a thought or a suggestion: its row, its
 * event and its record, in one transaction; nothing when the incident
 * already has the same step (a restarted investigation repeats its steps).
 */
struct step {
	const char *type;   /* the record's type; the event is TYPE.added, its id TYPE_id */
	const char *sql;    /* the INSERT: ?1 incident, ?2 at, ?3... the values below */
	const char *keys[6]; /* the record's names of ?3..., NULL after the last */
	const char *values[6];
};

static int add_step(sqlite3 *db, int busy_ms, long long id, const struct step *s, long long *merged_into, jv *rec,
		    char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	char at[40];
	char name[64];
	long long now = aur_time_now_ms();
	long long row;
	jv data;
	int rc;

	*rec = jv_invalid();
	rc = begin(db, busy_ms, err, errlen);
	if (rc < 0)
		return rc;
	rc = open_or_merged(db, id, NULL, 0, merged_into, err, errlen);
	if (rc < 0)
		goto out;
	aur_time_format_ms(now, at, sizeof(at));
	rc = aur_db_prepare(db, &st, s->sql, err, errlen);
	if (rc < 0)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, at, -1, SQLITE_STATIC);
	for (int i = 0; s->keys[i]; i++)
		sqlite3_bind_text(st, 3 + i, s->values[i], -1, SQLITE_STATIC);
	rc = step_done(db, st, s->type, err, errlen);
	if (rc < 0 || sqlite3_changes(db) == 0)
		goto out;
	row = sqlite3_last_insert_rowid(db);
	data = jv_object_set(jv_object(), jv_string("at"), jv_string(at));
	for (int i = 0; s->keys[i]; i++)
		data = jv_object_set(data, jv_string(s->keys[i]), jv_string(s->values[i]));
	*rec = jv_object_set(record_head(s->type, id), jv_string("id"), jv_number((double)row));
	*rec = jv_object_merge(*rec, jv_copy(data));
	snprintf(name, sizeof(name), "%s_id", s->type);
	data = jv_object_set(data, jv_string(name), jv_number((double)row));
	snprintf(name, sizeof(name), "%s.added", s->type);
	rc = add_event(db, id, name, data, now, err, errlen);
	if (rc < 0)
		goto out;
	rc = 1;
out:
	sqlite3_finalize(st);
	rc = end(db, busy_ms, rc, err, errlen);
	if (rc <= 0) {
		jv_free(*rec);
		*rec = jv_invalid();
	}
	return rc;
}

int aur_rca_thought(sqlite3 *db, int busy_ms, long long id, const char *kind, const char *text,
		    long long *merged_into, jv *rec, char *err, size_t errlen)
{
	const struct step s = {
		"thought",
		"INSERT INTO incident_thoughts (incident_id, at, kind, text) SELECT ?1, ?2, ?3, ?4"
		" WHERE NOT EXISTS (SELECT 1 FROM incident_thoughts WHERE incident_id = ?1"
		" AND kind = ?3 AND text = ?4)",
		{ "kind", "text", NULL },
		{ kind, text },
	};

	return add_step(db, busy_ms, id, &s, merged_into, rec, err, errlen);
}

int aur_rca_suggestion(sqlite3 *db, int busy_ms, long long id, const struct aur_rca_suggestion *sg,
		       long long *merged_into, jv *rec, char *err, size_t errlen)
{
	const struct step s = {
		"suggestion",
		"INSERT INTO incident_suggestions (incident_id, at, kind, title, command, risk, text)"
		" SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE NOT EXISTS (SELECT 1 FROM incident_suggestions"
		" WHERE incident_id = ?1 AND kind = ?3 AND title = ?4 AND command = ?5)",
		{ "kind", "title", "command", "risk", "description", NULL },
		{ sg->kind, sg->title, sg->command ? sg->command : "", sg->risk, sg->text ? sg->text : "" },
	};

	return add_step(db, busy_ms, id, &s, merged_into, rec, err, errlen);
}

/* The analysis record of incident id as it stands, inside the open transaction. */
static int analysis_of(sqlite3 *db, long long id, jv *rec, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = aur_db_prepare(db, &st, "SELECT status, rca_state, summary, root_cause FROM incidents WHERE id = ?",
				err, errlen);

	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		set_err(err, errlen, "incident", db);
		sqlite3_finalize(st);
		return -EIO;
	}
	*rec = record_head("analysis", id);
	*rec = jv_object_set(*rec, jv_string("status"), col_text(st, 0));
	*rec = jv_object_set(*rec, jv_string("rca_state"), col_text(st, 1));
	*rec = jv_object_set(*rec, jv_string("summary"), col_text(st, 2));
	if (sqlite3_column_type(st, 3) == SQLITE_NULL) {
		*rec = jv_object_set(*rec, jv_string("root_cause"), jv_null());
	} else {
		jv rcv = jv_parse((const char *)sqlite3_column_text(st, 3));

		*rec = jv_object_set(*rec, jv_string("root_cause"), jv_is_valid(rcv) ? rcv : jv_null());
		if (!jv_is_valid(rcv))
			jv_free(rcv);
	}
	sqlite3_finalize(st);
	return 0;
}

int aur_rca_complete(sqlite3 *db, int busy_ms, long long id, const char *summary, jv root_cause,
		     long long *merged_into, jv *rec, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	char status[16];
	jv text = jv_dump_string(jv_copy(root_cause), 0);
	long long now = aur_time_now_ms();
	int rc;

	*rec = jv_invalid();
	rc = begin(db, busy_ms, err, errlen);
	if (rc < 0)
		goto done;
	rc = open_or_merged(db, id, status, sizeof(status), merged_into, err, errlen);
	if (rc < 0)
		goto out;
	rc = aur_db_prepare(db, &st,
			    "UPDATE incidents SET rca_state = 'complete', summary = ?2, root_cause = ?3 WHERE id = ?1",
			    err, errlen);
	if (rc < 0)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, summary, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, jv_string_value(text), -1, SQLITE_STATIC);
	rc = step_done(db, st, "incident", err, errlen);
	if (rc < 0)
		goto out;
	/* only an investigation still under way becomes analyzed: never a resolved one */
	if (!strcmp(status, "investigating")) {
		rc = aur_incident_set_status(db, id, "analyzed", "investigation completed", now, err, errlen);
		if (rc < 0)
			goto out;
	}
	{
		jv data = jv_object_set(jv_object(), jv_string("summary"), jv_string(summary));

		data = jv_object_set(data, jv_string("root_cause"), jv_copy(root_cause));
		rc = add_event(db, id, "rca.completed", data, now, err, errlen);
		if (rc < 0)
			goto out;
	}
	rc = analysis_of(db, id, rec, err, errlen);
out:
	sqlite3_finalize(st);
	rc = end(db, busy_ms, rc, err, errlen);
done:
	jv_free(text);
	if (rc < 0) {
		jv_free(*rec);
		*rec = jv_invalid();
	}
	return rc;
}

int aur_rca_fail(sqlite3 *db, int busy_ms, long long id, const char *event, const char *why, jv *rec,
		 char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	char at[40];
	long long now = aur_time_now_ms();
	int rc;

	*rec = jv_invalid();
	rc = begin(db, busy_ms, err, errlen);
	if (rc < 0)
		return rc;
	aur_time_format_ms(now, at, sizeof(at));
	rc = aur_db_prepare(db, &st, "INSERT INTO incident_thoughts (incident_id, at, kind, text) VALUES (?, ?, 'error', ?)",
			    err, errlen);
	if (rc < 0)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, at, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, why, -1, SQLITE_STATIC);
	rc = step_done(db, st, "thought", err, errlen);
	if (rc < 0)
		goto out;
	{
		jv data = jv_object_set(jv_object(), jv_string("thought_id"),
					jv_number((double)sqlite3_last_insert_rowid(db)));

		data = jv_object_set(data, jv_string("kind"), jv_string("error"));
		data = jv_object_set(data, jv_string("text"), jv_string(why));
		rc = add_event(db, id, "thought.added", data, now, err, errlen);
		if (rc < 0)
			goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	rc = aur_db_prepare(db, &st, "UPDATE incidents SET rca_state = 'error' WHERE id = ?", err, errlen);
	if (rc < 0)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	rc = step_done(db, st, "incident", err, errlen);
	if (rc < 0)
		goto out;
	rc = add_event(db, id, event, jv_object_set(jv_object(), jv_string("reason"), jv_string(why)), now, err,
		       errlen);
	if (rc < 0)
		goto out;
	rc = analysis_of(db, id, rec, err, errlen);
out:
	sqlite3_finalize(st);
	rc = end(db, busy_ms, rc, err, errlen);
	if (rc < 0) {
		jv_free(*rec);
		*rec = jv_invalid();
	}
	return rc;
}

int aur_rca_running(sqlite3 *db, long long *ids, size_t max, size_t *n, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = aur_db_prepare(db, &st, "SELECT id FROM incidents WHERE rca_state = 'running' ORDER BY id", err,
				errlen);

	*n = 0;
	if (rc < 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < max)
		ids[(*n)++] = sqlite3_column_int64(st, 0);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		set_err(err, errlen, "incidents", db);
		rc = aur_db_errno(rc);
	} else {
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

int aur_rca_restart_count(sqlite3 *db, long long id, long long *count, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = aur_db_prepare(db, &st, "SELECT count(*) FROM events WHERE incident_id = ? AND type = 'rca.restarted'",
				err, errlen);

	*count = 0;
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW)
		*count = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return 0;
}

int aur_rca_event(sqlite3 *db, int busy_ms, long long id, const char *type, const char *why, char *err,
		  size_t errlen)
{
	int rc = begin(db, busy_ms, err, errlen);

	if (rc < 0)
		return rc;
	rc = add_event(db, id, type, jv_object_set(jv_object(), jv_string("reason"), jv_string(why)),
		       aur_time_now_ms(), err, errlen);
	return end(db, busy_ms, rc, err, errlen);
}

int aur_rca_incident_get(sqlite3 *db, long long id, struct aur_rca_incident *out, char *err, size_t errlen)
{
	/* from the connection's statement list: aurora-rca asks for every decision, and parsing it cost more than running it */
	sqlite3_stmt *st = aur_db_stmt(db,
				       "SELECT i.status, i.rca_state, i.source_type, coalesce(c.rca, 1), i.started_ms,"
				       " (SELECT max(id) FROM events WHERE incident_id = i.id AND type = 'alert.attached'),"
				       " (SELECT max(id) FROM events WHERE incident_id = i.id AND type = 'rca.completed'),"
				       " (SELECT max(id) FROM events WHERE incident_id = i.id AND type = 'thought.added')"
				       " FROM incidents i LEFT JOIN connectors c ON c.platform = i.source_type WHERE i.id = ?1",
				       err, errlen);
	int rc;

	memset(out, 0, sizeof(*out));
	if (!st) {
		rc = aur_db_errno(sqlite3_errcode(db));
		return rc ? rc : -EIO;
	}
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		long long completed = sqlite3_column_int64(st, 6); /* none: NULL, read as 0 */

		snprintf(out->status, sizeof(out->status), "%s", (const char *)sqlite3_column_text(st, 0));
		snprintf(out->rca_state, sizeof(out->rca_state), "%s", (const char *)sqlite3_column_text(st, 1));
		snprintf(out->source_type, sizeof(out->source_type), "%s", (const char *)sqlite3_column_text(st, 2));
		out->rca_on = sqlite3_column_int(st, 3);
		out->started_ms = sqlite3_column_int64(st, 4);
		out->joined_after = sqlite3_column_int64(st, 5) > completed;
		out->noted_after = sqlite3_column_int64(st, 7) > completed;
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		snprintf(err, errlen, "no incident %lld", id);
		rc = -ENOENT;
	} else {
		set_err(err, errlen, "incident", db);
		rc = aur_db_errno(rc);
	}
	sqlite3_reset(st);
	return rc;
}

int aur_rca_build_seen(sqlite3 *db, int busy_ms, jv record, char *err, size_t errlen)
{
	static const char *const times[] = { "ended_at", "started_at", "occurred_at", "received_at", NULL };
	sqlite3_stmt *st = NULL;
	const char *source = aur_jvio_str(record, "source");
	jv ctx;
	jv num = jv_invalid();
	jv text = jv_invalid();
	const char *job;
	const char *result;
	long long at = 0;
	int rc = 0;

	if (!source || (strcmp(source, "jenkins") != 0 && strcmp(source, "cloudbees") != 0))
		return 0;
	ctx = jv_object_get(jv_copy(record), jv_string("context"));
	job = aur_jvio_str(ctx, "job");
	if (jv_get_kind(ctx) == JV_KIND_OBJECT)
		num = jv_object_get(jv_copy(ctx), jv_string("build_number"));
	if (!job || jv_get_kind(num) != JV_KIND_NUMBER)
		goto out;
	result = aur_jvio_str(ctx, "result");
	for (int i = 0; times[i]; i++)
		if (aur_jvio_str(record, times[i]) && aur_time_parse_ms(aur_jvio_str(record, times[i]), &at) == 0)
			break;
	text = jv_dump_string(jv_copy(record), 0);
	rc = begin(db, busy_ms, err, errlen);
	if (rc < 0)
		goto out;
	/* the completed build's record and time win over its queued and started ones */
	rc = aur_db_prepare(db, &st,
			    "INSERT INTO builds (source, job, number, result, at_ms, record) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
			    " ON CONFLICT (source, job, number) DO UPDATE SET"
			    " at_ms = CASE WHEN builds.result = '' THEN excluded.at_ms ELSE builds.at_ms END,"
			    " record = CASE WHEN builds.result = '' OR excluded.result <> '' THEN excluded.record"
			    " ELSE builds.record END,"
			    " result = CASE WHEN excluded.result <> '' THEN excluded.result ELSE builds.result END",
			    err, errlen);
	if (rc == 0) {
		sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, job, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, (long long)jv_number_value(num));
		sqlite3_bind_text(st, 4, result ? result : "", -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, at);
		sqlite3_bind_text(st, 6, jv_string_value(text), -1, SQLITE_STATIC);
		rc = step_done(db, st, "builds", err, errlen);
	}
	sqlite3_finalize(st);
	rc = end(db, busy_ms, rc < 0 ? rc : 1, err, errlen);
out:
	jv_free(text);
	jv_free(num);
	jv_free(ctx);
	return rc;
}
