/*
 * conncache.h - the connectors table, kept in memory for the request path.
 *
 * Every webhook needs its platform's row (enabled, token hash, secret, test
 * token). Reading it per request would put a query on the hot path, so
 * rows are kept and read again when they are older than the caller allows:
 * about a second normally, and ~100 ms when a presented token or signature
 * does not match (so a rotation or `aurora-connector test` takes effect at
 * once, while a stream of bad tokens cannot make every request a query).
 * The database connection is used only under the cache's own mutex; in the
 * accept loop it is a read-only connection of its own, never the writer's.
 *
 * The platforms are the registry's (connector.h): the built-in ones and
 * those an operator added. A name the cache does not hold makes it read
 * the registry's names again, at most once per max_age_ms, so a platform
 * added while aurora-recv runs is served within that age without a
 * restart, and a stream of requests for names that are none costs at most
 * one query per age. A removed platform is unknown once its row's absence
 * has been read. Only names that exist in the table get an entry, so
 * requests cannot grow the cache.
 */
#ifndef AURORA_CONNCACHE_H
#define AURORA_CONNCACHE_H

#include <stddef.h>
#include <sqlite3.h>

#include "connector.h"

struct aur_conncache;

/* A cache reading through db (borrowed; must outlive the cache). Freed with aur_conncache_free. */
void aur_conncache_new(struct aur_conncache **out, sqlite3 *db);
/* NULL-safe. */
void aur_conncache_free(struct aur_conncache *cc);

/*
 * The registry's spelling of name, or NULL when name is no platform (as
 * of a reading of the names at most max_age_ms old). Borrowed until the
 * cache is freed, so it may stand where a static string is asked for
 * (aur_committer_count_reject). Any thread.
 */
const char *aur_conncache_lookup(struct aur_conncache *cc, const char *name, long long max_age_ms);

/*
 * Copy platform's row into out: from memory when it was read less than
 * max_age_ms ago, else from the database (max_age_ms 0 always reads).
 * Returns 1 when it was read now, 0 when it came from memory (or when the
 * read failed and an older copy was there); -ENOENT for an unknown or
 * removed platform; aur_db_errno() codes with err set when nothing can be
 * had. Any thread.
 */
int aur_conncache_get(struct aur_conncache *cc, const char *platform, long long max_age_ms,
		      struct aur_connector *out, char *err, size_t errlen);

/* Forget platform's row, so the next get reads it (after a one-use test token was spent). */
void aur_conncache_invalidate(struct aur_conncache *cc, const char *platform);

/*
 * Run fn(db, arg) on the cache's connection, under its mutex: a short read
 * beside the rows (the status endpoint's delivery states). fn's result.
 */
int aur_conncache_read(struct aur_conncache *cc, int (*fn)(sqlite3 *db, void *arg), void *arg);

/* aur_connector_public_url through the cache's connection. Caller frees. */
char *aur_conncache_public_url(struct aur_conncache *cc);

/* aur_connector_last_rejection through the cache's connection (never cached). */
int aur_conncache_last_rejection(struct aur_conncache *cc, const char *platform, struct aur_rejection *out,
				 char *err, size_t errlen);

#endif
