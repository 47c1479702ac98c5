/*
 * correlate.h - alert records into incidents.
 *
 * For each alert record, in one transaction: dedup on the alert identity
 * (source + dedup_key), then correlation against OPEN incidents whose latest
 * activity lies within the candidate window, then the writes (alerts,
 * incidents, incident_alerts, events) and a decision record for stdout.
 *
 * Strategies, each a score; the best-scoring candidate joins when its score
 * reaches the threshold, otherwise the alert opens a new incident:
 *   service_match        same service key (labels, tags, impacted entity,
 *                        a numbered host's fleet) as an alert of the incident
 *   service_mention      the alert's text names the incident's service, or
 *                        the incident's alerts name the alert's service
 *                        (a database and the clients that fail talking to it)
 *   semantic_similarity  cosine of the alert's text vector and the
 *                        incident's, kept when 1 - cosine < max_distance;
 *                        not between an alert and an incident that both
 *                        name services and share none
 *   dependency           the alert depends on the incident's service (labels
 *                        upstream, db, peer.service, depends_on, ... or
 *                        Dynatrace's root cause), the incident's alerts
 *                        depend on the alert's service, or both depend on
 *                        the same service: in either order of arrival
 *   time_cluster         within time_window of the incident's latest activity
 * An alert's service is its subject (subject.h): the key its naming forms
 * share, derived from what its platform carries.
 *
 * Flapping: an incident whose alerts have all resolved waits quiet_ms
 * before it resolves; an alert firing again within it rejoins ("flapping").
 * Noise: info-severity alerts and heartbeats never open an incident: they
 * join one they correlate with, else they are "logged". An incident's
 * activity counts only alerts that are neither info nor repeats, and an
 * incident started more than stale_ms ago takes no alert on time or text
 * alone.
 * Time comes only from the records (received_at, else started_at), so a
 * replay of the same input makes the same incidents.
 *
 * Behind it: correlate_alert.h reads the record, correlate_decide.h decides
 * by the alert's path, correlate_candidates.h searches the open incidents,
 * correlate_store.h holds the prepared statements and semvec.h the vectors.
 */
#ifndef AURORA_CORRELATE_H
#define AURORA_CORRELATE_H

#include <stddef.h>
#include <sqlite3.h>
#include <jq.h>

struct aur_catalog;

struct aur_correlate_config {
	long long window_ms;       /* candidates: open incidents active this recently (30 min) */
	long long time_window_ms;  /* time_cluster window from the latest activity (5 min) */
	double w_service;          /* service_match score (0.9) */
	double w_mention;          /* service_mention score (0.85) */
	double w_time;             /* time_cluster score (0.7) */
	double max_distance;       /* semantic_similarity kept under this distance (0.3) */
	double threshold;          /* join at or above this score (0.75) */
	int semantic_across_services; /* let similarity join alerts of different named services (0) */
	double w_dependency;       /* dependency score (0.85) */
	long long quiet_ms;        /* an incident whose alerts all resolved resolves after this (10 min) */
	long long stale_ms;        /* older incidents take alerts on service evidence only (12 h) */
	long long heartbeat_silence_ms; /* a heartbeat unseen this long opens an incident (0: off) */
	const struct aur_catalog *catalog; /* names and dependencies, or NULL (borrowed) */
	int busy_ms;               /* transaction deadline (5000) */
	const char *embed_url;     /* OpenAI-compatible embeddings endpoint, or NULL */
	const char *embed_model;
	const char *embed_key;
	long embed_timeout_ms;
};

/* The measured defaults (see aurora-correlate(1) for the measurements). */
void aur_correlate_config_init(struct aur_correlate_config *c);

struct aur_correlator;

/* Prepare statements and load the vectorizer's statistics. 0 or aur_db_errno(). */
int aur_correlator_new(struct aur_correlator **out, sqlite3 *db, const struct aur_correlate_config *cfg,
		       char *err, size_t errlen);
/* Flush statistics (errors ignored) and free. NULL-safe. */
void aur_correlator_free(struct aur_correlator *c);

/*
 * Process one record (consumed); text is the record as it was read (kept
 * as the alert's stored record), or NULL to have it written out again.
 * Alerts and notes produce a decision in *decision (caller frees). Returns
 * 0; -EINVAL for a record that is not an alert or note or lacks what
 * correlation needs (err says what; nothing written); -EBUSY when the
 * database stayed locked; -EIO otherwise.
 */
int aur_correlator_process(struct aur_correlator *c, jv record, const char *text, jv *decision, char *err,
			   size_t errlen);

/*
 * Group several records into one transaction: begin, process each (each
 * record's writes after the first's then live in a savepoint, so a record
 * that fails leaves the earlier ones' writes; the first has none, and a
 * failure while deciding it rolls the transaction back), commit. Decisions
 * are final only once the commit returned 0; on failure everything since
 * begin is rolled back. Without begin, every record is its own transaction.
 */
int aur_correlator_begin(struct aur_correlator *c, char *err, size_t errlen);
int aur_correlator_commit(struct aur_correlator *c, char *err, size_t errlen);
/* Abandon the open batch: its writes and what the vectorizer learned from it. */
void aur_correlator_rollback(struct aur_correlator *c);

/*
 * 1 with a message in out when something degraded since the last call (the
 * embeddings endpoint failed and the built-in vectorizer stood in), else 0.
 */
int aur_correlator_take_warning(struct aur_correlator *c, char *out, size_t outlen);

/* Persist the vectorizer's document statistics. 0 or aur_db_errno(). */
int aur_correlator_flush(struct aur_correlator *c, char *err, size_t errlen);

/*
 * Decisions of incidents no record opened, queued since the last call: a
 * heartbeat silent past its limit (heartbeat.h). A JSON array (caller
 * frees), empty when there are none. They are final once the transaction
 * that opened them is committed; a rollback drops them.
 */
jv aur_correlator_take_extra(struct aur_correlator *c);

/*
 * Time passes with no record: look for heartbeats silent by now_ms (the
 * clock, while the input is idle). Inside an open batch, or its own
 * transaction otherwise. 0 or aur_db_errno(); a no-op without a limit,
 * and while the latest record processed is more than an hour older than
 * now_ms (a replay).
 */
int aur_correlator_tick(struct aur_correlator *c, long long now_ms, char *err, size_t errlen);

#endif
