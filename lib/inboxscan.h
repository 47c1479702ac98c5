/*
 * inboxscan.h - reading ranges of inbox rows in id order, in short batches.
 *
 * Every reader of the inbox (list, show, follow, replay) walks rows the
 * same way: id order, a filter on platform and received time, and batches
 * of a few hundred rows, each batch its own read transaction, so a slow
 * consumer of the output never pins an old snapshot (which would keep the
 * receiver's WAL from being checkpointed). Rows are selected with
 * AUR_INBOX_RAW_COLUMNS, ready for aur_inbox_row_to_raw.
 *
 * Ids only grow: writers are serialised and the inbox never deletes its
 * newest row, so "id > last seen" finds every row committed since.
 */
#ifndef AURORA_INBOXSCAN_H
#define AURORA_INBOXSCAN_H

#include <stddef.h>
#include <sqlite3.h>

#define AUR_INBOXSCAN_BATCH 512

struct aur_inboxscan {
	long long after;      /* rows with id > after (default 0: all) */
	long long upto;       /* and id <= upto (default: no bound) */
	long long since_ms;   /* and received_ms >= since_ms (default: no bound) */
	long long until_ms;   /* and received_ms < until_ms (default: no bound) */
	const char *platform; /* and this platform; NULL for all (borrowed) */
	const char *state;    /* and this delivery state (dstate.h), "pending" for none yet;
				 NULL for all (borrowed) */
	int with_state;       /* select AUR_INBOXSCAN_STATE_COLUMNS after the raw columns */
	long long limit;      /* at most this many rows per run; 0 for no limit */
	int batch;            /* rows per read transaction (default AUR_INBOXSCAN_BATCH) */
	long long batch_bytes;/* and a read transaction ends once its rows' bodies pass
				 this many bytes (default 0: no bound) */
	int keep;             /* keep the statement prepared between runs (follow looks
				 again on every change: parsing and planning its query
				 cost more than the look); aur_inboxscan_release ends it */
	sqlite3_stmt *st;     /* the kept statement, NULL until a run with keep */
};

/*
 * With with_state, the columns after AUR_INBOX_RAW_COLUMNS: state (NULL
 * while pending), state_reason, alert_count. They exist from schema 10 on
 * (aur_dstate_available).
 */
#define AUR_INBOXSCAN_STATE_COLUMNS "state, state_reason, alert_count"
#define AUR_INBOXSCAN_STATE_COL 8 /* the index of the first of them */
#define AUR_INBOXSCAN_BODY_COL 6  /* body, in AUR_INBOX_RAW_COLUMNS */

/* Fill s with the defaults above. */
void aur_inboxscan_init(struct aur_inboxscan *s);

/*
 * Pass each matching row to row(st, arg) and, after each non-empty batch,
 * call batch_done(last id, arg) (may be NULL). s->after moves past every
 * row handed to row(), so calling again continues where this run ended.
 * A callback returning non-zero stops the scan: that value goes to *cb_rc
 * (else 0) and the function still returns 0. *count gets the rows handed
 * over. Returns 0, or aur_db_errno() with err set.
 */
int aur_inboxscan_run(sqlite3 *db, struct aur_inboxscan *s, int (*row)(sqlite3_stmt *st, void *arg),
		      int (*batch_done)(long long last, void *arg), void *arg, int *cb_rc,
		      long long *count, char *err, size_t errlen);

/*
 * Finalize the statement a scan with keep holds. The filters must not change
 * while it is kept: they are part of its text.
 */
void aur_inboxscan_release(struct aur_inboxscan *s);

/*
 * The id just before the oldest of the newest n rows of platform (NULL for
 * all) in state (as struct aur_inboxscan's state; NULL for all), so that a
 * scan after it sees those n rows; 0 when there are fewer. 0 or
 * aur_db_errno() with err set.
 */
int aur_inboxscan_newest_in(sqlite3 *db, const char *platform, const char *state, long long n,
			    long long *after, char *err, size_t errlen);

/* The highest id in the inbox, 0 when empty. 0 or aur_db_errno() with err set. */
int aur_inboxscan_max_id(sqlite3 *db, long long *id, char *err, size_t errlen);

/*
 * Narrow s->after and s->upto to the rows that exist now and fall in
 * [since_ms, until_ms), using the received-time index, so a replay of a
 * time range walks only that range and ends even while rows keep arriving.
 * 0 or aur_db_errno() with err set.
 */
int aur_inboxscan_bound(sqlite3 *db, struct aur_inboxscan *s, char *err, size_t errlen);

#endif
