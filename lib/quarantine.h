/*
 * quarantine.h - the deliveries refused at the door, for the operator.
 *
 * aurora-recv answers 422 to a body without its platform's shape (shape.h)
 * and keeps it in the quarantine table (the committer writes it, inbox.h).
 * Nothing reads the quarantine on its own: an operator lists it, looks at a
 * body, and either replays it into the inbox (the sender's format was fine
 * after all, or the mapping now reads it) or drops it. Replaying is one
 * transaction: the inbox row appears and the quarantine row goes together,
 * so a crash never leaves a delivery in both places or in neither.
 */
#ifndef AURORA_QUARANTINE_H
#define AURORA_QUARANTINE_H

#include <stddef.h>
#include <sqlite3.h>
#include <jq.h>

/* The columns aur_quarantine_row reads, for "SELECT " AUR_QUARANTINE_COLUMNS " FROM quarantine ...". */
#define AUR_QUARANTINE_COLUMNS "id, platform, received_at, remote, content_type, headers, body, test, reason"

/*
 * The current row of st as a record: {"v":1, "type":"quarantined", "id",
 * "platform", "received_at", "remote", "content_type", "headers", "reason",
 * "body"} with body as in raw records (JSON, a form as an object, else a
 * string), plus "test": true for a test delivery. Caller frees.
 */
jv aur_quarantine_row(sqlite3_stmt *st);

/*
 * Call row(st, arg) for the quarantined deliveries, newest first: all of
 * platform's (NULL: every platform), at most limit (0: all), or only the
 * one with id (id > 0). A non-zero return of row stops and is returned in
 * *row_rc. 0 (also when nothing matched: *count says how many), or
 * aur_db_errno() with err set.
 */
int aur_quarantine_scan(sqlite3 *db, const char *platform, long long id, long long limit,
			int (*row)(sqlite3_stmt *st, void *arg), void *arg, int *row_rc, long long *count,
			char *err, size_t errlen);

/*
 * Move quarantined delivery id into the inbox as a delivery (its received
 * time, remote, headers and body as they came) and out of the quarantine,
 * in one transaction. 0 with *inbox_id set; -ENOENT when there is no such
 * row; aur_db_errno() codes (-EBUSY past busy_ms) with err set.
 */
int aur_quarantine_replay(sqlite3 *db, long long id, int busy_ms, long long *inbox_id, char *err,
			  size_t errlen);

/* Delete quarantined delivery id. 0; -ENOENT when there is none; aur_db_errno() with err set. */
int aur_quarantine_drop(sqlite3 *db, long long id, int busy_ms, char *err, size_t errlen);

#endif
