#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "dstate.h"
#include "incident.h"
#include "timeutil.h"
#include "banned.h"

int aur_dstate_add(struct aur_dstate_tally *t, long long inbox_id, long long part, long long parts,
		   enum aur_dstate_kind kind, const char *reason)
{
	if (part <= 1 || inbox_id != t->inbox_id) {
		memset(t, 0, sizeof(*t));
		t->inbox_id = inbox_id;
	}
	t->parts = parts > 0 ? parts : 1;
	switch (kind) {
	case AUR_DSTATE_ALERT:
		t->alerts++;
		break;
	case AUR_DSTATE_NOTE:
		t->notes++;
		break;
	case AUR_DSTATE_TEST:
		t->tests++;
		break;
	case AUR_DSTATE_ERROR:
		/* the first reason: later parts usually fail the same way */
		if (!t->errors++) {
			if (t->parts > 1)
				snprintf(t->reason, sizeof(t->reason), "record %lld of %lld: %s", part, t->parts,
					 reason ? reason : "rejected");
			else
				snprintf(t->reason, sizeof(t->reason), "%s", reason ? reason : "rejected");
		}
		break;
	}
	return part <= 0 || parts <= 0 || part >= parts;
}

/* The state a complete tally gives: "alerts", "note", "test" or "error". */
static const char *tally_state(const struct aur_dstate_tally *t)
{
	if (t->errors)
		return "error";
	if (t->alerts)
		return "alerts";
	if (t->tests)
		return "test";
	return "note";
}

static int db_failed(sqlite3 *db, int step, const char *what, char *err, size_t errlen)
{
	int rc = aur_db_errno(step);

	snprintf(err, errlen, "%s: %s", what, sqlite3_errmsg(db));
	return rc ? rc : -EIO;
}

/* The delivery.error event of a row that just turned to error. */
static int error_event(sqlite3 *db, const struct aur_dstate_tally *t, const char *platform, const char *received,
		       char *err, size_t errlen)
{
	long long at_ms = 0;
	jv data = jv_object();
	long long id;

	if (aur_time_parse_ms(received, &at_ms) < 0 || at_ms <= 0)
		at_ms = aur_time_now_ms();
	data = jv_object_set(data, jv_string("inbox_id"), jv_number((double)t->inbox_id));
	data = jv_object_set(data, jv_string("platform"), jv_string(platform));
	data = jv_object_set(data, jv_string("received_at"), jv_string(received));
	data = jv_object_set(data, jv_string("reason"), jv_string(t->reason));
	id = aur_incident_event(db, 0, "delivery.error", data, at_ms);
	if (id < 0) {
		snprintf(err, errlen, "events: %s", sqlite3_errmsg(db));
		return (int)id;
	}
	return 0;
}

int aur_dstate_write(sqlite3 *db, const struct aur_dstate_tally *t, char *err, size_t errlen)
{
	const char *state = tally_state(t);
	sqlite3_stmt *st;
	char platform[72] = "";
	char received[40] = "";
	int was_error = 0;
	int step;

	if (t->inbox_id <= 0)
		return 0;
	st = aur_db_stmt(db, "SELECT platform, received_at, state FROM inbox WHERE id = ?", err, errlen);
	if (!st)
		return db_failed(db, sqlite3_errcode(db), "inbox", err, errlen);
	sqlite3_bind_int64(st, 1, t->inbox_id);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		snprintf(platform, sizeof(platform), "%s", (const char *)sqlite3_column_text(st, 0));
		snprintf(received, sizeof(received), "%s", (const char *)sqlite3_column_text(st, 1));
		was_error = sqlite3_column_type(st, 2) == SQLITE_TEXT &&
			    !strcmp((const char *)sqlite3_column_text(st, 2), "error");
	}
	sqlite3_reset(st);
	if (step == SQLITE_DONE)
		return 0; /* not this database's delivery */
	if (step != SQLITE_ROW)
		return db_failed(db, step, "inbox", err, errlen);
	st = aur_db_stmt(db, "UPDATE inbox SET state = ?2, state_reason = ?3, alert_count = ?4 WHERE id = ?1", err,
			 errlen);
	if (!st)
		return db_failed(db, sqlite3_errcode(db), "inbox", err, errlen);
	sqlite3_bind_int64(st, 1, t->inbox_id);
	sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
	if (t->errors)
		sqlite3_bind_text(st, 3, t->reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, t->alerts);
	step = sqlite3_step(st);
	sqlite3_reset(st);
	if (step != SQLITE_DONE)
		return db_failed(db, step, "inbox state", err, errlen);
	/* a second pass of a failed delivery tells nobody twice */
	if (t->errors && !was_error)
		return error_event(db, t, platform, received, err, errlen);
	return 0;
}

int aur_dstate_available(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int ok = sqlite3_prepare_v2(db, "SELECT state, state_reason, alert_count FROM inbox LIMIT 0", -1, &st,
				    NULL) == SQLITE_OK;

	sqlite3_finalize(st);
	return ok;
}

static jv column_text(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	return s ? jv_string((const char *)s) : jv_null();
}

int aur_dstate_connector(sqlite3 *db, const char *platform, jv *out, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	jv last = jv_null();
	long long failed = 0;
	int rc;
	int step;

	*out = jv_invalid();
	if (!aur_dstate_available(db)) {
		*out = jv_object_set(jv_object(), jv_string("failed_to_normalize"), jv_number(0));
		*out = jv_object_set(*out, jv_string("last_error"), jv_null());
		return 0;
	}
	/* both through inbox_state: the error rows only */
	rc = aur_db_prepare(db, &st, "SELECT count(*) FROM inbox WHERE state = 'error' AND platform = ?", err,
			    errlen);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, platform, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		failed = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (step != SQLITE_ROW)
		return db_failed(db, step, "inbox", err, errlen);
	rc = aur_db_prepare(db, &st,
			    "SELECT id, received_at, state_reason FROM inbox WHERE state = 'error' AND platform = ?"
			    " ORDER BY id DESC LIMIT 1",
			    err, errlen);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, platform, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		last = jv_object_set(jv_object(), jv_string("inbox_id"),
				     jv_number((double)sqlite3_column_int64(st, 0)));
		last = jv_object_set(last, jv_string("received_at"), column_text(st, 1));
		last = jv_object_set(last, jv_string("reason"), column_text(st, 2));
	}
	sqlite3_finalize(st);
	if (step != SQLITE_ROW && step != SQLITE_DONE) {
		jv_free(last);
		return db_failed(db, step, "inbox", err, errlen);
	}
	*out = jv_object_set(jv_object(), jv_string("failed_to_normalize"), jv_number((double)failed));
	*out = jv_object_set(*out, jv_string("last_error"), last);
	return 0;
}

static const char *const stat_states[] = { "alerts", "note", "test", "error", "unknown", "pending" };
#define STAT_STATES (sizeof(stat_states) / sizeof(stat_states[0]))

static jv stats_row(const char *platform)
{
	jv row = jv_object_set(jv_object(), jv_string("platform"), jv_string(platform));

	for (size_t i = 0; i < STAT_STATES; i++)
		row = jv_object_set(row, jv_string(stat_states[i]), jv_number(0));
	row = jv_object_set(row, jv_string("total"), jv_number(0));
	return jv_object_set(row, jv_string("alert_records"), jv_number(0));
}

static jv add_count(jv row, const char *key, long long n)
{
	jv have = jv_object_get(jv_copy(row), jv_string(key));
	double v = jv_get_kind(have) == JV_KIND_NUMBER ? jv_number_value(have) : 0;

	jv_free(have);
	return jv_object_set(row, jv_string(key), jv_number(v + (double)n));
}

int aur_dstate_stats(sqlite3 *db, long long since_ms, long long until_ms, jv *out, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	jv list = jv_array();
	jv row = jv_invalid();
	char current[72] = "";
	int rc;
	int step;

	*out = jv_invalid();
	/* the window walks the received-time index; the grouping is over that range only */
	rc = aur_db_prepare(db, &st,
			    "SELECT platform, coalesce(state, 'pending'), count(*), coalesce(sum(alert_count), 0)"
			    " FROM inbox WHERE received_ms >= ?1 AND received_ms < ?2 GROUP BY 1, 2 ORDER BY 1, 2",
			    err, errlen);
	if (rc < 0) {
		jv_free(list);
		return rc;
	}
	sqlite3_bind_int64(st, 1, since_ms);
	sqlite3_bind_int64(st, 2, until_ms);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *platform = (const char *)sqlite3_column_text(st, 0);
		const char *state = (const char *)sqlite3_column_text(st, 1);
		long long n = sqlite3_column_int64(st, 2);

		if (!platform || !state)
			continue;
		if (strcmp(platform, current) != 0) {
			if (jv_is_valid(row))
				list = jv_array_append(list, row);
			row = stats_row(platform);
			snprintf(current, sizeof(current), "%s", platform);
		}
		row = add_count(row, state, n);
		row = add_count(row, "total", n);
		row = add_count(row, "alert_records", sqlite3_column_int64(st, 3));
	}
	sqlite3_finalize(st);
	if (jv_is_valid(row))
		list = jv_array_append(list, row);
	else
		jv_free(row);
	if (step != SQLITE_DONE) {
		jv_free(list);
		return db_failed(db, step, "inbox", err, errlen);
	}
	*out = list;
	return 0;
}
