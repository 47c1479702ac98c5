/*
 * correlate_candidates.h - the open incidents an alert might belong to.
 *
 * The search behind correlation (correlate.h lists the strategies): the
 * incidents the alert's service key, dependencies, mentioned names and
 * terms find through the open-incident indexes, and those active within
 * the time window; then, for each one still open and within the window,
 * its vector's similarity to the alert's. Each candidate settles on the
 * strongest kind of evidence that reaches the threshold, else its best
 * score, with the reason that explains it. Reads only: the store's
 * statements (correlate_store.h), never a write.
 */
#ifndef AURORA_CORRELATE_CANDIDATES_H
#define AURORA_CORRELATE_CANDIDATES_H

#include <stddef.h>

#include "correlate.h"
#include "correlate_alert.h"
#include "correlate_store.h"
#include "semvec.h"
#include "textvec.h"

#define AUR_CORRELATE_CANDIDATES_MAX 64
#define AUR_CORRELATE_STRATEGIES 5

struct aur_correlate_candidate {
	long long id;
	int dropped;               /* closed, or inactive past the window */
	int stale;                 /* started longer ago than stale_ms */
	double s[AUR_CORRELATE_STRATEGIES];        /* each strategy's score, 0 when it did not match */
	char why[AUR_CORRELATE_STRATEGIES][240];
	/* after the search: */
	double score;
	const char *strategy;      /* a strategy's name, or NULL when nothing matched */
	const char *reason;        /* borrowed from why[] */
};

struct aur_correlate_candidates {
	float *scratch; /* AUR_EMBEDDINGS_MAX_DIMS floats for an incident's dense vector (the caller's) */
	size_t n;
	struct aur_correlate_candidate c[AUR_CORRELATE_CANDIDATES_MAX];
};

/*
 * The candidates of alert a, whose vector is vec, into cs (its scratch set
 * by the caller): through store, with cfg's weights and windows and the
 * vectorizer's stats. 0 or aur_db_errno().
 */
int aur_correlate_candidates_gather(struct aur_correlate_candidates *cs, struct aur_correlate_store *store,
				    const struct aur_correlate_config *cfg, const struct aur_textvec_stats *stats,
				    const struct aur_correlate_alert *a, const struct aur_semvec *vec);

/* The best-scoring candidate (the newest among equals), or NULL when none matched. Borrowed from cs. */
const struct aur_correlate_candidate *aur_correlate_candidates_best(const struct aur_correlate_candidates *cs);

#endif
