/*
 * rca_run.c - one investigation from start to end (rca_run.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rca.h"
#include "rca_run.h"
#include "banned.h"

struct run {
	sqlite3 *db;
	int busy_ms;
	long long id;
	long long merged_into; /* set when a step found the incident merged */
	struct aur_jsonl_writer *out;
	char *err;
	size_t errlen;
};

static int emit(struct run *r, jv rec)
{
	if (!jv_is_valid(rec)) {
		jv_free(rec);
		return 0;
	}
	/* the store has the record already: a lost line only costs the printout */
	aur_jsonl_write(r->out, rec);
	return 0;
}

static int on_thought(void *ctx, const char *text)
{
	struct run *r = ctx;
	jv rec;
	int rc = aur_rca_thought(r->db, r->busy_ms, r->id, "thought", text, &r->merged_into, &rec, r->err, r->errlen);

	if (rc < 0)
		return rc;
	return emit(r, rec);
}

static int on_suggestion(void *ctx, const struct aur_rca_suggestion *s)
{
	struct run *r = ctx;
	jv rec;
	int rc = aur_rca_suggestion(r->db, r->busy_ms, r->id, s, &r->merged_into, &rec, r->err, r->errlen);

	if (rc < 0)
		return rc;
	return emit(r, rec);
}

/* The incident was merged: say so where the findings went, and end it. */
static int cancelled(struct run *r)
{
	char text[256];
	char err[512];
	long long dummy = 0;
	jv rec;
	int rc;

	snprintf(text, sizeof(text),
		 "The investigation of incident #%lld stopped: it was merged into #%lld; its findings so far are here",
		 r->id, r->merged_into);
	rc = aur_rca_thought(r->db, r->busy_ms, r->merged_into, "note", text, &dummy, &rec, err, sizeof(err));
	if (rc > 0)
		emit(r, rec);
	snprintf(text, sizeof(text), "investigation cancelled: merged into incident #%lld", r->merged_into);
	rc = aur_rca_fail(r->db, r->busy_ms, r->id, "rca.cancelled", text, &rec, err, sizeof(err));
	if (rc < 0) {
		snprintf(r->err, r->errlen, "%s", err);
		return rc;
	}
	emit(r, rec);
	return 0;
}

int aur_rca_run(sqlite3 *db, int busy_ms, const struct aur_investigator *inv, const struct aur_inv_options *o,
		long long id, struct aur_jsonl_writer *out, char *err, size_t errlen)
{
	struct run r = { db, busy_ms, id, 0, out, err, errlen };
	struct aur_inv_sink sink = { &r, on_thought, on_suggestion };
	char *summary = NULL;
	jv root_cause = jv_invalid();
	jv rec;
	int rc;

	err[0] = '\0';
	rc = inv->run(db, id, o, &sink, &summary, &root_cause, err, errlen);
	if (rc == 0)
		rc = aur_rca_complete(db, busy_ms, id, summary, root_cause, &r.merged_into, &rec, err, errlen);
	if (rc == 0) {
		emit(&r, rec);
	} else if (rc == -ECANCELED && r.merged_into > 0) {
		rc = cancelled(&r);
	} else {
		char why[768];
		char e2[256];

		snprintf(why, sizeof(why), "investigation failed: %s", err[0] ? err : strerror(-rc));
		if (aur_rca_fail(db, busy_ms, id, "rca.failed", why, &rec, e2, sizeof(e2)) == 0)
			emit(&r, rec);
	}
	free(summary);
	jv_free(root_cause);
	return rc;
}
