/*
 * recent.h - the deliveries of the dedup window, by body hash, for
 * recognising a sender's retry.
 *
 * A retry is the same platform and body within --dedup-window. Looking that
 * up through an SQLite index on the body hash cost every delivery one random
 * index page, written to the WAL, fsynced, read back and written again by
 * the checkpoint: half of everything the receiver wrote, and 40% of its
 * CPU under load. So the index is gone and this table stands in: a file
 * beside the database (DB-recent), mapped into every receiver process, an
 * open-addressed hash table of (fingerprint, inbox id, received_ms) slots,
 * never fsynced.
 *
 * It is a cache of the inbox, never the truth:
 *   - a match is only a candidate: the inbox row with that id must have the
 *     same platform and body hash, within the window (aur_recent_find's
 *     caller checks), so a stale, torn or foreign slot can never turn a new
 *     delivery into a "duplicate";
 *   - what it misses, it catches up from the inbox, inside the writer's
 *     transaction (aur_recent_sync): rows that another writer stored
 *     without it, and the whole window after the machine restarted (the
 *     header keeps the boot id: pages never written back may be lost) or
 *     when the file is new, of another size, or not this format.
 * Every call must be made inside the SQLite write transaction, which is
 * what keeps processes from touching the table at the same time.
 *
 * When the file cannot be created or mapped, the table lives in this
 * process's memory only (aur_recent_open says why): retries are still
 * recognised, across processes only through the catch-up.
 *
 * Capacity: 2^20 slots (a sparse 24 MiB file). A full probe group gives up
 * its oldest slot, so past about 700,000 deliveries inside one window the
 * oldest are forgotten first.
 */
#ifndef AURORA_RECENT_H
#define AURORA_RECENT_H

#include <stddef.h>
#include <sqlite3.h>

struct aur_recent;

/*
 * Map DB-recent beside db_path (NULL or "" for a private table). Always
 * gives a usable table; returns 0, or -errno with err saying why the
 * table is private to this process.
 */
int aur_recent_open(struct aur_recent **out, const char *db_path, char *err, size_t errlen);
/* NULL-safe. */
void aur_recent_close(struct aur_recent *r);

/*
 * Inside the write transaction on db: bring the table up to the inbox, for
 * the window ending at now_ms. 0, or aur_db_errno() with err set.
 */
int aur_recent_sync(struct aur_recent *r, sqlite3 *db, long long window_ms, long long now_ms, char *err,
		    size_t errlen);

/*
 * Inbox ids that may hold platform's body with this hex SHA-256, received
 * at since_ms or later: up to max of them, newest first. The count.
 */
size_t aur_recent_find(const struct aur_recent *r, const char *platform, const char *sha_hex, long long since_ms,
		       long long *ids, size_t max);

/* Remember a row just inserted (inside the transaction that inserts it). */
void aur_recent_add(struct aur_recent *r, const char *platform, const char *sha_hex, long long id,
		    long long received_ms);

#endif
