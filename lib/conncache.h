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
 * Copy platform's row into out: from memory when it was read less than
 * max_age_ms ago, else from the database (max_age_ms 0 always reads).
 * Returns 1 when it was read now, 0 when it came from memory (or when the
 * read failed and an older copy was there); -ENOENT for an unknown
 * platform; aur_db_errno() codes with err set when nothing can be had.
 * Any thread.
 */
int aur_conncache_get(struct aur_conncache *cc, const char *platform, long long max_age_ms,
		      struct aur_connector *out, char *err, size_t errlen);

/* Forget platform's row, so the next get reads it (after a one-use test token was spent). */
void aur_conncache_invalidate(struct aur_conncache *cc, const char *platform);

/* aur_connector_public_url through the cache's connection. Caller frees. */
char *aur_conncache_public_url(struct aur_conncache *cc);

/* aur_connector_last_rejection through the cache's connection (never cached). */
int aur_conncache_last_rejection(struct aur_conncache *cc, const char *platform, struct aur_rejection *out,
				 char *err, size_t errlen);

#endif
