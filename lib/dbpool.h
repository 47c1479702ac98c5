/*
 * dbpool.h - read-only connections to one database, lent to any thread.
 *
 * The receiver's read routes (the incident API, the operator token check,
 * the catch-up of an SSE stream) run on several threads at once; SQLite
 * connections are not shared between threads here, so each read borrows a
 * connection of its own and gives it back. Idle connections are kept (up
 * to AUR_DBPOOL_IDLE) so a busy route does not open one per request.
 *
 * In one-connection modes there is one thread and one connection for
 * everything: a pool made with single lends that connection every time.
 */
#ifndef AURORA_DBPOOL_H
#define AURORA_DBPOOL_H

#include <stddef.h>
#include <sqlite3.h>

#define AUR_DBPOOL_IDLE 8

struct aur_dbpool;

/*
 * A pool of read-only connections to path (copied), opened with
 * busy_timeout_ms; or, with single non-NULL, a pool that always lends
 * single (borrowed; must outlive the pool). Freed with aur_dbpool_free.
 */
void aur_dbpool_new(struct aur_dbpool **out, const char *path, int busy_timeout_ms, sqlite3 *single);

/* Close the idle connections. Every lent connection must be back. NULL-safe. */
void aur_dbpool_free(struct aur_dbpool *p);

/*
 * Borrow a connection into *db: an idle one, or a new one. 0, or
 * aur_db_open's -EBUSY / -EIO with err set. Give it back with
 * aur_dbpool_put; no transaction may be left open on it.
 */
int aur_dbpool_get(struct aur_dbpool *p, sqlite3 **db, char *err, size_t errlen);

/* Give db back (kept when fewer than AUR_DBPOOL_IDLE are idle, else closed). NULL-safe. */
void aur_dbpool_put(struct aur_dbpool *p, sqlite3 *db);

#endif
