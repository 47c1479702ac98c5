/*
 * recent.h - the deliveries of the dedup window, by body hash, for
 * recognising a sender's retry.
 *
 * A retry is the same platform and body within --dedup-window. Looking that
 * up through an SQLite index on the body hash cost every delivery one random
 * index page, written to the WAL, fsynced, read back and written again by
 * the checkpoint: half of everything the receiver wrote, and 40% of its
 * CPU under load. So the index is gone and this table stands in: shared
 * memory (/dev/shm/aurora-recent-DEV-INO, named after the database file)
 * mapped into every receiver process, an open-addressed hash table of
 * (fingerprint, inbox id, received_ms) slots. Never on disk: a file would
 * have the kernel write its dirty slots back, at random, in the way of the
 * commits' fsyncs.
 *
 * It is a cache of the inbox, never the truth:
 *   - a match is only a candidate: the inbox row with that id must have the
 *     same platform and body hash, within the window (aur_recent_find's
 *     caller checks), so a stale, torn or foreign slot can never turn a new
 *     delivery into a "duplicate";
 *   - what it misses, it catches up from the inbox, inside the writer's
 *     transaction (aur_recent_sync): rows that another writer stored
 *     without it, and the whole window when the table is new (the first
 *     receiver since the machine started), of another size or format,
 *     written in another boot (the header keeps the boot id) or for another
 *     database that had the same device and inode (the header keeps an id
 *     the database holds in its settings table).
 * Every call must be made inside the SQLite write transaction, which is
 * what keeps processes from touching the table at the same time.
 *
 * When the shared memory cannot be created or mapped, the table lives in
 * this process's memory only (aur_recent_open says why): retries are still
 * recognised, each process catching up the whole window from the inbox
 * first.
 *
 * Capacity: 2^19 slots (12 MiB, touched as used). A full probe group gives
 * up its oldest slot, so past about 350,000 deliveries inside one window
 * the oldest are forgotten first.
 *
 * Lifetime: a table stays while its database file does (the next receiver
 * of that database finds it warm), and never long after. Its header names
 * the file (absolute path, device, inode) and every process that maps it
 * holds a shared flock on it. aur_recent_open sweeps the machine's tables:
 * one nobody maps whose file is gone (no such path, or another file there)
 * is unlinked. aur_recent_close unlinks its own table when its database is
 * gone and no other process maps it. So a table outlives its database at
 * most until the later of its last receiver's exit and the next first
 * delivery of any receiver on the machine (a killed receiver leaves it to
 * that sweep). Tables of an older format, which name no file, are left
 * alone: an older receiver may use one without the lock.
 */
#ifndef AURORA_RECENT_H
#define AURORA_RECENT_H

#include <stddef.h>
#include <sqlite3.h>

struct aur_recent;

/*
 * Map the table of the database file db_path (NULL or "" for a private
 * table). Always gives a usable table; returns 0, or -errno with err
 * saying why the table is private to this process.
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
