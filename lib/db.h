/*
 * db.h - the shared SQLite store: open, pragmas, schema, busy handling.
 *
 * Every command opens the same file. aur_db_open sets WAL mode, the
 * synchronous level and a busy timeout, then applies any forward migration
 * the file lacks (PRAGMA user_version counts them). Several processes write
 * the file at once; SQLITE_BUSY past the timeout comes back as -EBUSY so a
 * caller can answer "try again" (HTTP 503, exit 75).
 */
#ifndef AURORA_DB_H
#define AURORA_DB_H

#include <stddef.h>
#include <sqlite3.h>

/* The schema version this build writes; see the migrations in db.c. */
#define AUR_DB_SCHEMA_VERSION 5

struct aur_db_options {
	int busy_timeout_ms;  /* default 5000 */
	int synchronous_full; /* 1: FULL (survives power loss, the default); 0: NORMAL */
	int readonly;         /* open without write access, skip migrations */
};

/* Fill o with the defaults above. */
void aur_db_options_init(struct aur_db_options *o);

/*
 * Resolve the database path the way every command does: the --db argument
 * when given, else $AURORA_DB, else "./aurora.db". Borrowed; never NULL.
 */
const char *aur_db_default_path(const char *arg);

/*
 * Open path (created when missing unless readonly) and migrate it.
 * *out is the handle, closed by the caller with aur_db_close. Returns 0;
 * -EBUSY when the file stays locked past the timeout; -ENODATA when it is
 * not an aurora database (not SQLite, or SQLite with other tables and no
 * aurora schema; read only, no aurora schema at all); -ENOSPC when the
 * disk is full; -EIO on any other failure, with the reason in err.
 */
int aur_db_open(sqlite3 **out, const char *path, const struct aur_db_options *o,
		char *err, size_t errlen);
/* Finalize every statement of db (aur_db_stmt's among them) and close. NULL-safe. */
void aur_db_close(sqlite3 *db);

/*
 * Map a SQLite result code to aurora's: 0 for OK/DONE/ROW, -EBUSY for
 * BUSY/LOCKED, -ENOSPC for FULL, -EIO otherwise.
 */
int aur_db_errno(int sqlite_rc);

/*
 * The end of a step loop, or of a statement without results: 0 for
 * SQLITE_DONE; otherwise aur_db_errno()'s error (-EIO for SQLITE_ROW) with
 * err (may be NULL when errlen is 0) "what: SQLite's message".
 */
int aur_db_step_end(sqlite3 *db, int sqlite_rc, const char *what, char *err, size_t errlen);

/* Run SQL without results (BEGIN, COMMIT, pragmas). 0 or aur_db_errno(); err filled. */
int aur_db_exec(sqlite3 *db, const char *sql, char *err, size_t errlen);

/*
 * BEGIN IMMEDIATE with retry: SQLITE_BUSY is retried until deadline_ms has
 * passed in total, the busy handler's own waiting included (it may wait
 * only what is left). 0, -EBUSY, or -EIO.
 */
int aur_db_begin(sqlite3 *db, int deadline_ms, char *err, size_t errlen);
/* COMMIT, retried on BUSY like aur_db_begin. On failure the caller rolls back. */
int aur_db_commit(sqlite3 *db, int deadline_ms, char *err, size_t errlen);

/*
 * The same against one deadline shared by several steps: until_ms is a
 * CLOCK_MONOTONIC time in milliseconds, from aur_db_deadline(ms) (now plus
 * ms) or aur_time_mono_ms() plus a timeout. BEGIN and COMMIT of one
 * transaction, or a queue wait and then both, spend one budget together.
 * Once until_ms has passed each still tries once without waiting.
 */
long long aur_db_deadline(int ms);
int aur_db_begin_by(sqlite3 *db, long long until_ms, char *err, size_t errlen);
int aur_db_commit_by(sqlite3 *db, long long until_ms, char *err, size_t errlen);
/* ROLLBACK, ignoring "no transaction is active". */
void aur_db_rollback(sqlite3 *db);

/*
 * Prepare a statement. 0 or aur_db_errno(); err gets SQLite's message.
 * The caller finalizes it with sqlite3_finalize.
 */
int aur_db_prepare(sqlite3 *db, sqlite3_stmt **st, const char *sql, char *err, size_t errlen);

/*
 * A prepared statement for sql, from the connection's own list of
 * statements when an idle one with the same text exists, else newly
 * prepared. Borrowed: the caller resets it after use (sqlite3_reset) and
 * never finalizes it; aur_db_close finalizes every statement. For hot paths
 * that run the same SQL again and again. NULL on failure (err filled).
 */
sqlite3_stmt *aur_db_stmt(sqlite3 *db, const char *sql, char *err, size_t errlen);

/* Read and write the settings table (key -> text). get: caller frees; NULL when unset. */
char *aur_db_setting_get(sqlite3 *db, const char *key);
int aur_db_setting_set(sqlite3 *db, const char *key, const char *value, char *err, size_t errlen);

#endif
