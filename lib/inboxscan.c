#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "inbox.h"
#include "inboxscan.h"
#include "banned.h"

#define RANGE_COLS "SELECT " AUR_INBOX_RAW_COLUMNS
#define RANGE_FROM " FROM inbox WHERE id > ?1 AND id <= ?2 AND received_ms >= ?3 AND received_ms < ?4"

/*
 * The filters a query takes, as text: a platform walks the (platform, id)
 * index; a decided state the partial (state, id) one; pending (state IS
 * NULL) the newest rows of the primary key, where pending rows are.
 */
static const char *platform_term(const char *platform)
{
	return platform ? " AND platform = ?6" : "";
}

static const char *state_term(const char *state)
{
	if (!state)
		return "";
	return !strcmp(state, "pending") ? " AND state IS NULL" : " AND state = ?7";
}

static void bind_filters(sqlite3_stmt *st, const char *platform, const char *state)
{
	if (platform)
		sqlite3_bind_text(st, 6, platform, -1, SQLITE_STATIC);
	if (state && strcmp(state, "pending") != 0)
		sqlite3_bind_text(st, 7, state, -1, SQLITE_STATIC);
}

void aur_inboxscan_init(struct aur_inboxscan *s)
{
	s->after = 0;
	s->upto = INT64_MAX;
	s->since_ms = INT64_MIN;
	s->until_ms = INT64_MAX;
	s->platform = NULL;
	s->state = NULL;
	s->with_state = 0;
	s->limit = 0;
	s->batch = AUR_INBOXSCAN_BATCH;
	s->batch_bytes = 0;
	s->keep = 0;
	s->st = NULL;
}

void aur_inboxscan_release(struct aur_inboxscan *s)
{
	sqlite3_finalize(s->st);
	s->st = NULL;
}

/* The scan's statement: the kept one, else prepared now. 0 or aur_db_errno() with err set. */
static int scan_statement(sqlite3 *db, struct aur_inboxscan *s, sqlite3_stmt **st, char *err, size_t errlen)
{
	char sql[512];
	int rc;

	if (s->st) {
		*st = s->st;
		return 0;
	}
	snprintf(sql, sizeof(sql), "%s%s%s%s%s ORDER BY id LIMIT ?5", RANGE_COLS,
		 s->with_state ? ", " AUR_INBOXSCAN_STATE_COLUMNS : "", RANGE_FROM, platform_term(s->platform),
		 state_term(s->state));
	rc = aur_db_prepare(db, st, sql, err, errlen);
	if (rc == 0 && s->keep)
		s->st = *st;
	return rc;
}

static void db_err(sqlite3 *db, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: %s", what, sqlite3_errmsg(db));
}

int aur_inboxscan_run(sqlite3 *db, struct aur_inboxscan *s, int (*row)(sqlite3_stmt *st, void *arg),
		      int (*batch_done)(long long last, void *arg), void *arg, int *cb_rc,
		      long long *count, char *err, size_t errlen)
{
	long long left = s->limit > 0 ? s->limit : INT64_MAX;
	int batch = s->batch > 0 ? s->batch : AUR_INBOXSCAN_BATCH;
	sqlite3_stmt *st = NULL;
	int rc;

	*cb_rc = 0;
	*count = 0;
	rc = scan_statement(db, s, &st, err, errlen);
	while (rc == 0 && left > 0 && *cb_rc == 0) {
		long long want = left < batch ? left : batch;
		long long got = 0;
		long long bytes = 0;
		int full = 0;
		int step;

		sqlite3_bind_int64(st, 1, s->after);
		sqlite3_bind_int64(st, 2, s->upto);
		sqlite3_bind_int64(st, 3, s->since_ms);
		sqlite3_bind_int64(st, 4, s->until_ms);
		sqlite3_bind_int64(st, 5, want);
		bind_filters(st, s->platform, s->state);
		while ((step = sqlite3_step(st)) == SQLITE_ROW) {
			*cb_rc = row(st, arg);
			if (*cb_rc != 0)
				break;
			s->after = sqlite3_column_int64(st, 0);
			got++;
			bytes += sqlite3_column_bytes(st, AUR_INBOXSCAN_BODY_COL);
			if (s->batch_bytes > 0 && bytes >= s->batch_bytes) {
				full = 1;
				step = SQLITE_DONE;
				break;
			}
		}
		if (step != SQLITE_ROW && step != SQLITE_DONE) {
			db_err(db, "inbox", err, errlen);
			rc = aur_db_errno(step);
			if (rc == 0)
				rc = -EIO;
		}
		/* end the read transaction before anything slow happens */
		sqlite3_reset(st);
		*count += got;
		left -= got;
		if (rc == 0 && *cb_rc == 0 && got > 0 && batch_done)
			*cb_rc = batch_done(s->after, arg);
		if (got < want && !full)
			break;
	}
	if (st != s->st)
		sqlite3_finalize(st);
	return rc;
}

/* Step a one-value query: 0 with *v (def when NULL), or aur_db_errno(). */
static int one_value(sqlite3 *db, sqlite3_stmt *st, long long def, long long *v, char *err, size_t errlen)
{
	int step = sqlite3_step(st);
	int rc = 0;

	if (step == SQLITE_ROW)
		*v = sqlite3_column_type(st, 0) == SQLITE_NULL ? def : sqlite3_column_int64(st, 0);
	else if (step == SQLITE_DONE)
		*v = def;
	else {
		db_err(db, "inbox", err, errlen);
		rc = aur_db_errno(step);
		if (rc == 0)
			rc = -EIO;
	}
	sqlite3_finalize(st);
	return rc;
}

int aur_inboxscan_newest_in(sqlite3 *db, const char *platform, const char *state, long long n,
			    long long *after, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	char sql[256];
	int rc;

	snprintf(sql, sizeof(sql), "SELECT min(id) FROM (SELECT id FROM inbox WHERE 1%s%s ORDER BY id DESC LIMIT ?1)",
		 platform_term(platform), state_term(state));
	rc = aur_db_prepare(db, &st, sql, err, errlen);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, n);
	bind_filters(st, platform, state);
	rc = one_value(db, st, 1, after, err, errlen);
	if (rc == 0)
		*after -= 1;
	return rc;
}

int aur_inboxscan_max_id(sqlite3 *db, long long *id, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = aur_db_prepare(db, &st, "SELECT max(id) FROM inbox", err, errlen);
	if (rc < 0)
		return rc;
	return one_value(db, st, 0, id, err, errlen);
}

int aur_inboxscan_bound(sqlite3 *db, struct aur_inboxscan *s, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	long long v;
	int rc;

	rc = aur_inboxscan_max_id(db, &v, err, errlen);
	if (rc == 0 && v < s->upto)
		s->upto = v;
	if (rc == 0 && s->since_ms != INT64_MIN) {
		rc = aur_db_prepare(db, &st, "SELECT min(id) FROM inbox WHERE received_ms >= ?", err, errlen);
		if (rc == 0) {
			sqlite3_bind_int64(st, 1, s->since_ms);
			rc = one_value(db, st, INT64_MAX, &v, err, errlen);
		}
		if (rc == 0 && v == INT64_MAX)
			s->upto = s->after; /* nothing that late */
		else if (rc == 0 && v - 1 > s->after)
			s->after = v - 1;
	}
	if (rc == 0 && s->until_ms != INT64_MAX) {
		rc = aur_db_prepare(db, &st, "SELECT max(id) FROM inbox WHERE received_ms < ?", err, errlen);
		if (rc == 0) {
			sqlite3_bind_int64(st, 1, s->until_ms);
			rc = one_value(db, st, 0, &v, err, errlen);
		}
		if (rc == 0 && v < s->upto)
			s->upto = v;
	}
	return rc;
}
