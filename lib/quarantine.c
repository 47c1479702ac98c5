#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "db.h"
#include "inbox.h"
#include "quarantine.h"
#include "banned.h"

jv aur_quarantine_row(sqlite3_stmt *st)
{
	/* the first eight columns are a raw record's (AUR_INBOX_RAW_COLUMNS) */
	jv rec = aur_inbox_row_to_raw(st);
	const unsigned char *ctype = sqlite3_column_text(st, 4);
	const unsigned char *reason = sqlite3_column_text(st, 8);

	rec = jv_object_set(rec, jv_string("type"), jv_string("quarantined"));
	rec = jv_object_set(rec, jv_string("content_type"), jv_string(ctype ? (const char *)ctype : ""));
	rec = jv_object_set(rec, jv_string("reason"), jv_string(reason ? (const char *)reason : ""));
	return rec;
}

int aur_quarantine_scan(sqlite3 *db, const char *platform, long long id, long long limit,
			int (*row)(sqlite3_stmt *st, void *arg), void *arg, int *row_rc, long long *count,
			char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*row_rc = 0;
	*count = 0;
	rc = aur_db_prepare(db, &st,
			    "SELECT " AUR_QUARANTINE_COLUMNS " FROM quarantine"
			    " WHERE (?1 IS NULL OR platform = ?1) AND (?2 <= 0 OR id = ?2)"
			    " ORDER BY id DESC LIMIT ?3",
			    err, errlen);
	if (rc < 0)
		return rc;
	if (platform)
		sqlite3_bind_text(st, 1, platform, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, id);
	sqlite3_bind_int64(st, 3, limit > 0 ? limit : -1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		++*count;
		*row_rc = row(st, arg);
		if (*row_rc != 0)
			break;
	}
	if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
		rc = 0;
	} else {
		snprintf(err, errlen, "quarantine: %s", sqlite3_errmsg(db));
		rc = aur_db_errno(rc);
	}
	sqlite3_finalize(st);
	return rc;
}

/* The SHA-256 of quarantined delivery id's body, as the inbox keeps it. 0, -ENOENT, or aur_db_errno(). */
static int body_sha256(sqlite3 *db, long long id, char sha[AUR_HEX_SHA256_LEN + 1], char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = aur_db_prepare(db, &st, "SELECT body FROM quarantine WHERE id = ?", err, errlen);

	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		aur_sha256_hex(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), sha);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		snprintf(err, errlen, "no quarantined delivery with id %lld", id);
		rc = -ENOENT;
	} else {
		snprintf(err, errlen, "quarantine: %s", sqlite3_errmsg(db));
		rc = aur_db_errno(rc);
	}
	sqlite3_finalize(st);
	return rc;
}

/* Run one statement binding id (and text when not NULL); 0 or aur_db_errno() with err set. */
static int run(sqlite3 *db, const char *sql, long long id, const char *text, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = aur_db_prepare(db, &st, sql, err, errlen);

	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	if (text)
		sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		snprintf(err, errlen, "quarantine: %s", sqlite3_errmsg(db));
	rc = aur_db_errno(rc);
	sqlite3_finalize(st);
	return rc;
}

int aur_quarantine_replay(sqlite3 *db, long long id, int busy_ms, long long *inbox_id, char *err,
			  size_t errlen)
{
	char sha[AUR_HEX_SHA256_LEN + 1];
	int rc;

	*inbox_id = 0;
	rc = aur_db_begin(db, busy_ms, err, errlen);
	if (rc < 0)
		return rc;
	rc = body_sha256(db, id, sha, err, errlen);
	if (rc == 0)
		rc = run(db,
			 "INSERT INTO inbox(platform, received_at, received_ms, remote, content_type, headers, body,"
			 " body_sha256, test) SELECT platform, received_at, received_ms, remote, content_type, headers,"
			 " body, ?2, test FROM quarantine WHERE id = ?1",
			 id, sha, err, errlen);
	if (rc == 0) {
		*inbox_id = sqlite3_last_insert_rowid(db);
		rc = run(db, "DELETE FROM quarantine WHERE id = ?1", id, NULL, err, errlen);
	}
	if (rc == 0)
		rc = aur_db_commit(db, busy_ms, err, errlen);
	if (rc < 0) {
		aur_db_rollback(db);
		*inbox_id = 0;
	}
	return rc;
}

int aur_quarantine_drop(sqlite3 *db, long long id, int busy_ms, char *err, size_t errlen)
{
	int rc = aur_db_begin(db, busy_ms, err, errlen);

	if (rc < 0)
		return rc;
	rc = run(db, "DELETE FROM quarantine WHERE id = ?1", id, NULL, err, errlen);
	if (rc == 0 && sqlite3_changes(db) == 0) {
		snprintf(err, errlen, "no quarantined delivery with id %lld", id);
		rc = -ENOENT;
	}
	if (rc == 0)
		rc = aur_db_commit(db, busy_ms, err, errlen);
	if (rc < 0)
		aur_db_rollback(db);
	return rc;
}
