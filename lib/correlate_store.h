/*
 * correlate_store.h - the correlator's prepared statements.
 *
 * Every query aurora-correlate runs per alert, prepared once when the
 * correlator starts (about twenty: a statement prepared per alert would cost
 * more than the decision), each behind a function that binds, steps and
 * resets it: the alert identities, the open-incident indexes the candidate
 * search reads, the incidents' vectors and activity, the join records, the
 * quiet periods, the dependencies learned from labels, and the vectorizer's
 * document statistics. The writes run inside the caller's transaction.
 * Functions return 0 or aur_db_errno() unless they say otherwise.
 */
#ifndef AURORA_CORRELATE_STORE_H
#define AURORA_CORRELATE_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

#include "correlate_alert.h"
#include "semvec.h"
#include "textvec.h"

struct aur_correlate_store;

/* Prepare the statements on db (borrowed: it outlives the store). 0 or aur_db_errno(), err says why. */
int aur_correlate_store_open(struct aur_correlate_store **out, sqlite3 *db, char *err, size_t errlen);
/* Finalize the statements. NULL-safe. */
void aur_correlate_store_free(struct aur_correlate_store *s);

/* Read the document statistics into stats (zeroed by the caller); they count as saved. */
int aur_correlate_store_load_stats(struct aur_correlate_store *s, struct aur_textvec_stats *stats, char *err,
				   size_t errlen);
/* Write what changed in stats since they were last loaded or saved. */
int aur_correlate_store_save_stats(struct aur_correlate_store *s, const struct aur_textvec_stats *stats);

/* An alert identity as stored; id 0 when it was never seen. */
struct aur_correlate_known {
	long long id;
	int firing;
	long long incident_id;   /* the incident it last joined, or 0 */
	long long last_inbox_id; /* the last delivery counted, or 0 */
	long long count;         /* notifications so far */
};

/* The alert source/dedup_key as stored into k. */
int aur_correlate_store_alert_get(struct aur_correlate_store *s, const char *source, const char *dedup_key,
				  struct aur_correlate_known *k);
/*
 * Store a's notification: a new row (existing 0) or the known one updated,
 * with its incident (0: none) and, when it already belongs to that incident,
 * one more notification counted there. Its row id into *alert_id.
 */
int aur_correlate_store_alert_put(struct aur_correlate_store *s, const struct aur_correlate_alert *a,
				  const char *record_text, long long existing, long long incident_id,
				  const char *when, long long *alert_id);
/* How many alerts incident id has, and how many of them fire. */
int aur_correlate_store_alert_counts(struct aur_correlate_store *s, long long id, long long *total,
				     long long *firing);

/*
 * Open incidents, newest first, at most max ids into ids (*n of them):
 * indexed under service key key; under term; active since since_ms.
 */
int aur_correlate_store_by_service(struct aur_correlate_store *s, const char *key, long long *ids, size_t max,
				   size_t *n);
int aur_correlate_store_by_term(struct aur_correlate_store *s, const char *term, long long *ids, size_t max,
				size_t *n);
int aur_correlate_store_recent(struct aur_correlate_store *s, long long since_ms, long long *ids, size_t max,
			       size_t *n);
/* 1 when open incident id is indexed under a service (or host) key, else 0. */
int aur_correlate_store_has_service_key(struct aur_correlate_store *s, long long id);
/* The term an incident is indexed under for a service its alerts depend on ("dep:KEY"). */
void aur_correlate_store_dep_term(const char *key, char *out, size_t outlen);

/* A dependency learned from earlier alerts' labels. */
struct aur_correlate_learned {
	char other[128]; /* the service on the other end */
	char from[48];   /* the label it was learned from */
};

#define AUR_CORRELATE_LEARNED_MAX 8

/*
 * Dependencies learned before before_ms: what service key depends on
 * (dependents 0), or what depends on it (dependents 1); at most
 * AUR_CORRELATE_LEARNED_MAX into out, *n of them.
 */
int aur_correlate_store_learned(struct aur_correlate_store *s, const char *key, long long before_ms,
				int dependents, struct aur_correlate_learned *out, size_t *n);
/* Learn that service key depends on dep_key (read from label from) at t_ms. */
int aur_correlate_store_learn(struct aur_correlate_store *s, const char *key, const char *dep_key,
			      const char *from, long long t_ms);

/* An incident as correlation reads it. */
struct aur_correlate_incident {
	char status[32];
	char severity[16];
	long long last_activity_ms;
	long long merged_into;
	long long started_ms;
	long long pending_ms; /* when its quiet period began, or 0 */
	uint32_t count;       /* texts in its vector */
};

/* Incident id into inc, and its vector into vec (may be NULL). -ENOENT when there is none. */
int aur_correlate_store_incident(struct aur_correlate_store *s, long long id, struct aur_correlate_incident *inc,
				 struct aur_semvec *vec);
/*
 * Incident id after an alert joined at t_ms: its severity (NULL: as it
 * is) and vector blob; activity (not info, not a heartbeat) also moves its
 * last activity on and ends a quiet period.
 */
int aur_correlate_store_touch(struct aur_correlate_store *s, long long id, long long t_ms, const char *when,
			      const char *severity, const void *blob, size_t bloblen, int activity);
/* A repeat that counts as activity: incident id active at t_ms. */
int aur_correlate_store_activity(struct aur_correlate_store *s, long long id, long long t_ms, const char *when);

/* Why an alert joined an incident, as the join record keeps it. */
struct aur_correlate_join {
	const char *strategy;
	double score;
	long long matched; /* the incident the evidence matched, or 0 */
	const char *reason;
	int opened;        /* the alert opened the incident */
};

/* Record that alert_id (alert a) joined incident id, and why. */
int aur_correlate_store_join(struct aur_correlate_store *s, long long id, long long alert_id,
			     const struct aur_correlate_alert *a, const char *when, const struct aur_correlate_join *j);

/* Start (at_ms) or end (0) incident id's quiet period. */
int aur_correlate_store_set_pending(struct aur_correlate_store *s, long long id, long long at_ms,
				    const char *when);

/* An incident whose quiet period has passed. */
struct aur_correlate_pending {
	long long id;
	long long at_ms; /* when its quiet period began */
	int open;        /* still open (not merged or closed by hand meanwhile) */
};

#define AUR_CORRELATE_PENDING_MAX 64

/* The incidents whose quiet period began by before_ms, oldest first: at most AUR_CORRELATE_PENDING_MAX. */
int aur_correlate_store_pending_due(struct aur_correlate_store *s, long long before_ms,
				    struct aur_correlate_pending *out, size_t *n);

/* Whether RCA is on for the connector of platform source (1 when it has no connector). */
int aur_correlate_store_rca_enabled(struct aur_correlate_store *s, const char *source);

#endif
