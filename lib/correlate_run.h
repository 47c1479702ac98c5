/*
 * correlate_run.h - aurora-correlate's loop: alert records in, decisions
 * out, the pipeline's resume point moved behind them.
 *
 * Records that are already waiting share one transaction (at most 128,
 * never waiting for more input), so a burst costs one commit instead of
 * one per record; a lone record is committed at once. Decisions are
 * written only after their commit, and the resume point (resume.h) moves
 * only after they are written (in the next batch's transaction, or alone
 * once the input is quiet or ends): a crash anywhere leaves the deliveries
 * in flight to be read again, never skipped. While the input is idle and
 * heartbeats are watched, the clock looks for silent ones.
 */
#ifndef AURORA_CORRELATE_RUN_H
#define AURORA_CORRELATE_RUN_H

#include <signal.h>

#include <sqlite3.h>

#include "correlate.h"
#include "jsonl.h"

struct aur_correlate_run {
	struct aur_correlator *corr;       /* borrowed */
	sqlite3 *db;                       /* borrowed: the correlator's, for the resume point */
	int busy_ms;                       /* lock wait of the resume point's transactions */
	long long silence_ms;              /* heartbeat silence (0: no clock ticks) */
	struct aur_jsonl_reader *in;       /* borrowed; records, one a line */
	struct aur_jsonl_writer *out;      /* borrowed; decisions, flushed after each batch */
	const char *stage;                 /* the resume point moved, NULL for none */
	long long marked;                  /* in: the resume point as it stands */
	const volatile sig_atomic_t *stop; /* set by a signal: end after the record at hand; may be NULL */
	void (*log)(int level, const char *msg); /* one line per event (log.h levels); NULL drops them */
	unsigned long rejected;            /* out: lines and records rejected (skipped, said at WARN) */
};

/*
 * Read r->in to its end (or *r->stop). 0; -EPIPE when the reader of the
 * output went away (what was committed stays; the rest is read again from
 * the resume point); -EBUSY when a transaction cannot begin or commit, or
 * the database stays locked; -EIO for a read or write error, or a store
 * that fails otherwise. Failures are logged; an unfinished batch is rolled
 * back and none of it written.
 */
int aur_correlate_run(struct aur_correlate_run *r);

#endif
