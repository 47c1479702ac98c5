/*
 * correlate_decide.h - what becomes of one alert, and why.
 *
 * The decision behind aur_correlator_process() (correlate.h), by the paths
 * an alert takes:
 *   - a replay of a delivery already counted: nothing changes;
 *   - a build event whose platform has RCA off: logged only;
 *   - a known alert in an incident still open: a repeat, a re-fire (after a
 *     quiet period began: flapping), or its resolve, which may start the
 *     incident's quiet period or resolve it;
 *   - a resolve with no open incident: recorded, nothing to correlate;
 *   - a new alert, or one firing again after its incident closed: the
 *     candidate search (correlate_candidates.h), then it joins the best
 *     candidate, opens an incident, or, as noise, is logged.
 * The writes go through the store (correlate_store.h) and incident.h, in the
 * caller's transaction.
 */
#ifndef AURORA_CORRELATE_DECIDE_H
#define AURORA_CORRELATE_DECIDE_H

#include <stddef.h>
#include <sqlite3.h>

#include "correlate.h"
#include "correlate_alert.h"
#include "correlate_store.h"
#include "embeddings.h"
#include "textvec.h"

/* What deciding reads and keeps from one alert to the next; filled by the correlator. */
struct aur_correlate_decider {
	sqlite3 *db;
	struct aur_correlate_store *store;
	const struct aur_correlate_config *cfg;
	struct aur_textvec_stats *stats;
	unsigned unsaved;             /* new texts learned since the statistics were saved */
	struct aur_embeddings embed;  /* embed.url NULL: the built-in vectorizer */
	float *scratch;               /* an incident's dense vector while it is compared */
	float *alert_scratch;         /* the alert's dense vector */
	char warning[320];            /* the last embeddings failure, until taken */
	long long silence_ended;      /* the silence incident the alert being decided resolved */
};

/* The outcome of one record. */
struct aur_correlate_verdict {
	const char *action;     /* deduplicated, attached, created, resolved, logged, failed */
	long long incident_id;
	const char *strategy;
	double score;
	long long matched;
	char reason[512];
};

/*
 * Decide alert a (its record's text record_text) into v (zeroed by the
 * caller) and write the outcome. 0, aur_db_errno() or incident.h's errors,
 * err filled.
 */
int aur_correlate_decide(struct aur_correlate_decider *d, const struct aur_correlate_alert *a,
			 const char *record_text, struct aur_correlate_verdict *v, char *err, size_t errlen);

/*
 * Resolve the incidents whose quiet period has passed by now_ms, as of when
 * their last alert resolved. 0, or an error with err filled.
 */
int aur_correlate_decide_quiet(struct aur_correlate_decider *d, long long now_ms, char *err, size_t errlen);

#endif
