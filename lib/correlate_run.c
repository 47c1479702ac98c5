#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include <jq.h>

#include "correlate_run.h"
#include "db.h"
#include "log.h"
#include "resume.h"
#include "timeutil.h"
#include "banned.h"

#define BATCH_MAX 128
#define EXTRA_MAX 16 /* decisions a record's silence check can add */

#define MARK_IDLE_MS 200 /* quiet input after which a mark still owed is written alone */

struct batch {
	jv d[BATCH_MAX + EXTRA_MAX];
	size_t n;
	int open;           /* a transaction is open for it */
	long long complete; /* highest delivery complete in it */
	long long written;  /* highest delivery complete in the batches written so far */
	long long marking;  /* the mark the open transaction moves to (0: none) */
};

/* A failed write: -EPIPE when the reader went away (said by the caller), else -EIO, said here. */
static int write_error(const struct aur_correlate_run *r)
{
	int e = errno;

	if (e == EPIPE)
		return -EPIPE;
	aur_log_to(r->log, AUR_LOG_ERROR, "writing standard output: %s", strerror(e ? e : EIO));
	return -EIO;
}

/* Commit the open transaction, then write the batch's decisions and flush. */
static int flush_batch(struct aur_correlate_run *r, struct batch *b)
{
	char err[1024];
	int rc = 0;

	if (b->open && aur_correlator_commit(r->corr, err, sizeof(err)) < 0) {
		aur_log_to(r->log, AUR_LOG_ERROR, "committing %zu decision%s: %s", b->n, b->n == 1 ? "" : "s", err);
		rc = -EBUSY;
	}
	if (b->open && rc == 0 && b->marking > r->marked)
		r->marked = b->marking;
	b->open = 0;
	b->marking = 0;
	errno = 0;
	for (size_t i = 0; i < b->n; i++) {
		if (rc == 0 && aur_jsonl_write(r->out, b->d[i]) < 0) {
			rc = write_error(r);
			continue;
		}
		if (rc != 0)
			jv_free(b->d[i]);
	}
	/* a live pipeline sees each batch at once, even when stdout is a file */
	if (rc == 0 && b->n && fflush(r->out->out) != 0)
		rc = write_error(r);
	if (rc == 0)
		b->written = b->complete;
	b->n = 0;
	return rc;
}

/* A mark is owed: batches are written past the deliveries the resume point says. */
static int mark_owed(const struct aur_correlate_run *r, const struct batch *b)
{
	return r->stage && b->written > r->marked;
}

/*
 * The batches written so far: move the mark past their complete
 * deliveries, in a transaction of its own. Only when the input is quiet or
 * ends: while records come, the next batch's transaction carries it
 * (open_batch). A mark that cannot be written now stays behind, which only
 * means reading those deliveries again.
 */
static void advance_mark(struct aur_correlate_run *r, const struct batch *b)
{
	char err[512];
	int rc;

	if (!mark_owed(r, b))
		return;
	rc = aur_db_begin(r->db, r->busy_ms, err, sizeof(err));
	if (rc == 0)
		rc = aur_resume_set(r->db, r->stage, b->written, err, sizeof(err));
	if (rc == 0)
		rc = aur_db_commit(r->db, r->busy_ms, err, sizeof(err));
	if (rc < 0) {
		aur_db_rollback(r->db);
		aur_log_to(r->log, AUR_LOG_WARN, "resume point stays at inbox id %lld: %s", r->marked, err);
		return;
	}
	r->marked = b->written;
}

/*
 * Begin the batch's transaction, and in it move the mark past the batches
 * already written: their decisions are out, so it may commit with this
 * batch's rows, before this batch's own decisions are written. A record
 * at a time, that is one commit per record instead of two.
 */
static int open_batch(struct aur_correlate_run *r, struct batch *b, char *err, size_t errlen)
{
	char why[512];

	if (aur_correlator_begin(r->corr, err, errlen) < 0)
		return -EBUSY;
	b->open = 1;
	if (!mark_owed(r, b))
		return 0;
	if (aur_resume_set(r->db, r->stage, b->written, why, sizeof(why)) < 0) {
		aur_log_to(r->log, AUR_LOG_WARN, "resume point stays at inbox id %lld: %s", r->marked, why);
		/* a failure that ended the transaction: the record begins its own */
		b->open = !sqlite3_get_autocommit(r->db);
		return 0;
	}
	b->marking = b->written;
	return 0;
}

/* Decisions of incidents no record opened (a heartbeat's silence), after the record's own. */
static void take_extra(struct aur_correlate_run *r, struct batch *b)
{
	jv extra = aur_correlator_take_extra(r->corr);

	jv_array_foreach(extra, i, d) {
		if (b->n < BATCH_MAX + EXTRA_MAX)
			b->d[b->n++] = d;
		else
			jv_free(d);
	}
	jv_free(extra);
}

/*
 * 1 when nothing arrives on in within ms; 0 when input (or its end) is
 * there, or the reader of the output went away (the read says so).
 */
static int idle(struct aur_jsonl_reader *in, long long ms)
{
	struct pollfd p[2] = { { in->fd, POLLIN, 0 }, { in->watch_fd, 0, 0 } };

	return poll(p, in->watch_fd >= 0 ? 2 : 1, (int)ms) == 0;
}

/* The input is idle: look for silent heartbeats by the clock, and write what that opened. */
static int tick(struct aur_correlate_run *r, struct batch *b)
{
	char err[1024];

	if (aur_correlator_tick(r->corr, aur_time_now_ms(), err, sizeof(err)) < 0) {
		aur_log_to(r->log, AUR_LOG_ERROR, "looking for silent heartbeats: %s", err);
		return -EBUSY;
	}
	take_extra(r, b);
	return flush_batch(r, b);
}

/* A line that is not a record: said, counted, skipped. */
static void reject(struct aur_correlate_run *r, const char *why)
{
	aur_log_to(r->log, AUR_LOG_WARN, "line %lu: %s", r->in->lineno, why);
	r->rejected++;
}

/*
 * Read and decide one record into the batch. 1 when it was taken or
 * skipped, 0 at the end of the input, or a negative errno that ends the run.
 */
static int one_record(struct aur_correlate_run *r, struct batch *b)
{
	char err[1024];
	char warning[320];
	long long inbox_id;
	jv rec;
	jv decision;
	int rc = aur_jsonl_read(r->in, &rec, err, sizeof(err));

	if (rc == 0 || rc == -EPIPE)
		return rc;
	if (rc == -E2BIG) {
		snprintf(err, sizeof(err), "longer than %zu bytes, skipped", r->in->max_line);
		reject(r, err);
		return 1;
	}
	if (rc == -EINVAL) {
		reject(r, err);
		return 1;
	}
	if (rc < 0) {
		aur_log_to(r->log, AUR_LOG_ERROR, "reading standard input: %s", strerror(-rc));
		return -EIO;
	}
	/* a rejected record still counts as handled for the resume point */
	if (aur_resume_record(rec, &inbox_id) == 1 && inbox_id > b->complete)
		b->complete = inbox_id;
	if (!b->open && open_batch(r, b, err, sizeof(err)) < 0) {
		jv_free(rec);
		aur_log_to(r->log, AUR_LOG_ERROR, "line %lu: %s", r->in->lineno, err);
		return -EBUSY;
	}
	rc = aur_correlator_process(r->corr, rec, r->in->line, &decision, err, sizeof(err));
	if (aur_correlator_take_warning(r->corr, warning, sizeof(warning)))
		aur_log_to(r->log, AUR_LOG_WARN, "line %lu: %s", r->in->lineno, warning);
	if (rc == -EINVAL) {
		reject(r, err);
		return 1;
	}
	if (rc < 0) {
		aur_log_to(r->log, AUR_LOG_ERROR, "line %lu: %s", r->in->lineno, err);
		return rc == -EBUSY ? -EBUSY : -EIO;
	}
	b->d[b->n++] = decision;
	take_extra(r, b);
	return 1;
}

int aur_correlate_run(struct aur_correlate_run *r)
{
	struct batch b;
	long long tick_ms = r->silence_ms > 0 ? (r->silence_ms / 4 < 60000 ? r->silence_ms / 4 : 60000) : 0;
	int rc = 0;

	memset(&b, 0, sizeof(b));
	b.complete = b.written = r->marked;
	while (!(r->stop && *r->stop)) {
		/* quiet input: the mark still owed is written alone */
		if (mark_owed(r, &b) && !aur_jsonl_reader_ready(r->in) && idle(r->in, MARK_IDLE_MS)) {
			advance_mark(r, &b);
			continue;
		}
		if (tick_ms > 0 && !aur_jsonl_reader_ready(r->in) && idle(r->in, tick_ms)) {
			rc = tick(r, &b);
			if (rc != 0)
				break;
			continue;
		}
		rc = one_record(r, &b);
		if (rc <= 0)
			break;
		rc = 0;
		if (b.n >= BATCH_MAX || !aur_jsonl_reader_ready(r->in)) {
			rc = flush_batch(r, &b);
			if (rc != 0)
				break;
		}
	}
	if (rc == 0) {
		rc = flush_batch(r, &b);
		if (rc == 0)
			advance_mark(r, &b);
	} else {
		/* nothing of an unfinished batch was committed: write none of it */
		if (b.open)
			aur_correlator_rollback(r->corr);
		for (size_t i = 0; i < b.n; i++)
			jv_free(b.d[i]);
	}
	return rc;
}
