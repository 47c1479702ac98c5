/*
 * committer.h - group commit: one writer stores the deliveries of many
 * requests in one transaction.
 *
 * Threaded (the accept loop): a writer thread owns the write connection. A
 * request hands in an item and waits (its connection suspended); the writer
 * takes everything queued, up to max_batch items, stores them with one
 * aur_inbox_store (one COMMIT, one fsync for all), then calls each item's
 * done callback. Deliveries that arrive while a commit is running form the
 * next batch, so the cost of durability is shared by the requests that
 * happen at once.
 *
 * A delivery waits for the write lock limits.commit_deadline_ms in all,
 * counted from its aur_committer_submit: a batch queued behind one that
 * waited gets only what is left of its own budget (after it, one try
 * without waiting), so every answer, -EBUSY included, comes within about
 * one busy timeout of the request, never two.
 *
 * Synchronous (one-connection modes): aur_committer_submit stores the item
 * at once in the caller's thread. Rejections are kept and stored with the
 * next delivery, or at aur_committer_close, so a string of bad requests
 * does not cost one commit each.
 *
 * Rejected requests only count (connectors.rejected_count, and the last
 * one's reason); they ride in the same batches. A delivery refused at the
 * door (AUR_DELIVERY_QUARANTINE) is not one of them: it goes through
 * submit or store like a delivery, so its 422 follows its commit.
 *
 * Threaded, WAL checkpoints move off the writer: a second connection in a
 * thread of its own checkpoints (PASSIVE) once the WAL passes 1000 pages,
 * so no request waits behind a checkpoint's copy and fsync. Synchronous,
 * processes queue for the write lock on a side file (DB-recvlock) with a
 * blocking fcntl lock instead of sleeping in SQLite's busy back-off.
 */
#ifndef AURORA_COMMITTER_H
#define AURORA_COMMITTER_H

#include <stddef.h>
#include <sqlite3.h>

#include "inbox.h"

struct aur_commit_item {
	struct aur_delivery d; /* in: the delivery; out: its result */
	int rc;                /* out: aur_inbox_store's return for the batch (0, -EBUSY, -ENOSPC,
				  -EIO), or -ESHUTDOWN when the committer was closing */
	/*
	 * Called once the batch is over, from the writer thread (threaded) or
	 * from aur_committer_submit (synchronous). The committer does not
	 * touch the item after calling it.
	 */
	void (*done)(struct aur_commit_item *it, void *arg);
	void *arg;
	struct aur_commit_item *next; /* private */
	int owned;                    /* private: a rejection the committer allocated */
	long long queued_ms;          /* private: aur_time_mono_ms() when submitted */
	int waited;                   /* private: aur_committer_store waits for it */
	int stored;                   /* private: its batch is over (under the committer's lock) */
};

struct aur_committer_options {
	int threaded;                 /* 1: a writer thread; 0: store in the caller */
	size_t max_batch;             /* deliveries per transaction; 1 = a commit per request */
	struct aur_inbox_limits limits;
	/* Where a failed batch is reported (level as in log.h); NULL drops it. */
	void (*log)(int level, const char *msg);
};

/* max_batch 256, synchronous, inbox defaults, no log. */
void aur_committer_options_init(struct aur_committer_options *o);

struct aur_committer;

/*
 * A committer writing through db (borrowed; must outlive it, and nobody else
 * may use it while a writer thread runs). The inbox statements are prepared
 * on first use. 0, or -EAGAIN with err set when the thread cannot start.
 */
int aur_committer_new(struct aur_committer **out, sqlite3 *db, const struct aur_committer_options *o,
		      char *err, size_t errlen);

/*
 * Hand in a delivery; it (and what its fields point to) must stay valid
 * until done is called. Threaded: 1, queued (done follows from the writer
 * thread). Synchronous: 0, stored (done was already called). -ESHUTDOWN
 * once the committer is closing (done is not called).
 */
int aur_committer_submit(struct aur_committer *c, struct aur_commit_item *it);

/*
 * Hand in a delivery and wait, in the caller's thread, until its batch is
 * over: for a caller that cannot suspend its request while a writer thread
 * holds the item (its memory must live until the commit). done is not
 * called (synchronous: as aur_committer_submit, done is called). 0 with
 * it->rc and it->d filled, or -ESHUTDOWN once the committer is closing.
 * Never from the writer thread.
 */
int aur_committer_store(struct aur_committer *c, struct aur_commit_item *it);

/*
 * Count a rejected request for platform, which must outlive the committer
 * (a static string, or a name from aur_conncache_lookup of a cache freed
 * after it): answered status, because of reason (copied; NULL: only
 * counted), which becomes the connector's last rejection.
 */
void aur_committer_count_reject(struct aur_committer *c, const char *platform, unsigned status,
				const char *reason);

/*
 * Refuse new items, store what is queued (calling each done) and stop the
 * writer thread. Safe to call twice. Any thread but the writer.
 */
void aur_committer_close(struct aur_committer *c);

/* Close, then free. NULL-safe. */
void aur_committer_free(struct aur_committer *c);

#endif
