#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "resume.h"
#include "timeutil.h"
#include "banned.h"

int aur_resume_get(sqlite3 *db, const char *stage, long long *inbox_id, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT inbox_id FROM stage_marks WHERE stage = ?", -1, &st, NULL) !=
	    SQLITE_OK) {
		if (strstr(sqlite3_errmsg(db), "no such table")) {
			snprintf(err, errlen, "the database has no stage marks yet (schema older than 4): "
					      "open it once with aurora-correlate or aurora-connector");
			return -ENODATA;
		}
		snprintf(err, errlen, "stage marks: %s", sqlite3_errmsg(db));
		return aur_db_errno(sqlite3_errcode(db));
	}
	sqlite3_bind_text(st, 1, stage, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*inbox_id = sqlite3_column_int64(st, 0);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		snprintf(err, errlen, "no stage '%s' has marked its progress in this database", stage);
		rc = -ENOENT;
	} else {
		snprintf(err, errlen, "stage marks: %s", sqlite3_errmsg(db));
		rc = aur_db_errno(rc);
	}
	sqlite3_finalize(st);
	return rc;
}

int aur_resume_set(sqlite3 *db, const char *stage, long long inbox_id, char *err, size_t errlen)
{
	sqlite3_stmt *st = aur_db_stmt(db,
				       "INSERT INTO stage_marks (stage, inbox_id, updated_ms) VALUES (?1, ?2, ?3)"
				       " ON CONFLICT (stage) DO UPDATE SET inbox_id = ?2, updated_ms = ?3"
				       " WHERE inbox_id < ?2",
				       err, errlen);
	int rc;

	if (!st)
		return aur_db_errno(sqlite3_errcode(db));
	sqlite3_bind_text(st, 1, stage, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, inbox_id);
	sqlite3_bind_int64(st, 3, aur_time_now_ms());
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		snprintf(err, errlen, "stage marks: %s", sqlite3_errmsg(db));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return aur_db_errno(rc);
}

/* A whole number held by key, or -1. */
static long long whole(jv record, const char *key)
{
	jv v = jv_object_get(jv_copy(record), jv_string(key));
	long long n = -1;

	if (jv_get_kind(v) == JV_KIND_NUMBER) {
		double d = jv_number_value(v);

		if (d >= 0 && d < 9007199254740992.0 && d == (double)(long long)d)
			n = (long long)d;
	}
	jv_free(v);
	return n;
}

int aur_resume_record(jv record, long long *inbox_id)
{
	long long id, part, parts;

	if (jv_get_kind(record) != JV_KIND_OBJECT)
		return -1;
	id = whole(record, "inbox_id");
	if (id <= 0)
		return -1;
	*inbox_id = id;
	part = whole(record, "inbox_part");
	parts = whole(record, "inbox_parts");
	return part < 0 || parts < 0 || part >= parts;
}
