#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "correlate_candidates.h"
#include "correlate_decide.h"
#include "heartbeat.h"
#include "incident.h"
#include "semvec.h"
#include "timeutil.h"
#include "banned.h"

#define STATS_FLUSH_EVERY 256
#define MERGE_CHAIN_MAX 16

static int is_open(const char *status)
{
	return !strcmp(status, "investigating") || !strcmp(status, "analyzed");
}

static int is_build_source(const char *source)
{
	return !strcmp(source, "jenkins") || !strcmp(source, "cloudbees");
}

/* The incident's vector with the alert's added, its severity raised to the alert's. */
static int touch_incident(struct aur_correlate_decider *d, const struct aur_correlate_alert *a,
			  const struct aur_semvec *vec, long long id, const char *when)
{
	struct aur_correlate_incident inc;
	struct aur_semvec iv;
	struct aur_buf blob;
	const char *sev = a->severity;
	int rc;

	aur_semvec_init(&iv, d->scratch);
	rc = aur_correlate_store_incident(d->store, id, &inc, &iv);
	if (rc < 0)
		return rc;
	if (aur_incident_severity_rank(inc.severity) > aur_incident_severity_rank(sev))
		sev = inc.severity;
	aur_semvec_add(&iv, inc.count, vec);
	aur_buf_init(&blob, 0);
	aur_semvec_blob(&iv, inc.count + 1, &blob);
	/* NULL: the severity stays (the store then leaves the column alone) */
	rc = aur_correlate_store_touch(d->store, id, a->t_ms, when, strcmp(sev, inc.severity) ? sev : NULL, blob.data,
				       blob.len, !a->info && !a->heartbeat);
	aur_buf_release(&blob);
	return rc;
}

/* The evidence an alert brings for what joins next: its service, host, terms and dependencies. */
static int index_alert(struct aur_correlate_decider *d, const struct aur_correlate_alert *a, long long id)
{
	struct aur_textvec_terms terms;
	int rc;

	aur_textvec_terms(a->text, &terms, 0);
	rc = aur_incident_index(d->db, id, a->service_key, &terms);
	/* the host by its own name too: "errors talking to db-3" names it */
	if (rc == 0 && a->host_name[0] && strcmp(a->host_name, a->service_key) != 0)
		rc = aur_incident_index(d->db, id, a->host_name, NULL);
	/* what its alerts depend on, for the dependency's own alerts to find it, now and next time */
	for (size_t i = 0; i < a->subj.ndeps && rc == 0 && a->service_key[0]; i++)
		rc = aur_correlate_store_learn(d->store, a->service_key, a->subj.dep[i].key, a->subj.dep[i].from,
					       a->t_ms);
	terms.n = 0;
	for (size_t i = 0; i < a->subj.ndeps && terms.n < AUR_TEXTVEC_MAX_TERMS; i++)
		aur_correlate_store_dep_term(a->subj.dep[i].key, terms.term[terms.n++], sizeof(terms.term[0]));
	if (rc == 0 && terms.n)
		rc = aur_incident_index(d->db, id, NULL, &terms);
	return rc;
}

/* Attach alert_id to incident id: join record, indexes, vector, severity, activity. */
static int join_incident(struct aur_correlate_decider *d, const struct aur_correlate_alert *a,
			 const struct aur_semvec *vec, long long alert_id, long long id,
			 const struct aur_correlate_verdict *v, const char *when)
{
	struct aur_correlate_join j = { v->strategy, v->score, v->matched, v->reason, !strcmp(v->action, "created") };
	int rc = touch_incident(d, a, vec, id, when);

	if (rc == 0)
		rc = aur_correlate_store_join(d->store, id, alert_id, a, when, &j);
	/* noise joins, but is no evidence for what joins next */
	if (rc < 0 || a->info || a->heartbeat)
		return rc;
	return index_alert(d, a, id);
}

/*
 * When none of the incident's alerts fires any more: it waits the quiet
 * period (an alert firing again within it is flapping, not a new
 * incident), or resolves at once without one.
 */
static int maybe_auto_resolve(struct aur_correlate_decider *d, long long id, long long at_ms, const char *when,
			      char *err, size_t errlen)
{
	long long total = 0;
	long long firing = 0;
	char reason[96];
	int rc = aur_correlate_store_alert_counts(d->store, id, &total, &firing);

	if (rc < 0 || firing > 0 || total == 0)
		return rc;
	if (d->cfg->quiet_ms > 0)
		return aur_correlate_store_set_pending(d->store, id, at_ms, when);
	snprintf(reason, sizeof(reason), "all %lld alert%s resolved", total, total == 1 ? "" : "s");
	return aur_incident_set_status(d->db, id, "resolved", reason, at_ms, err, errlen);
}

int aur_correlate_decide_quiet(struct aur_correlate_decider *d, long long now_ms, char *err, size_t errlen)
{
	struct aur_correlate_pending due[AUR_CORRELATE_PENDING_MAX];
	size_t n = 0;
	int rc;

	if (d->cfg->quiet_ms <= 0)
		return 0;
	rc = aur_correlate_store_pending_due(d->store, now_ms - d->cfg->quiet_ms, due, &n);
	for (size_t i = 0; i < n && rc == 0; i++) {
		long long total = 0;
		long long firing = 0;
		char reason[128];
		char quiet[24];

		/* closed meanwhile (merged, or by hand): nothing left to wait for */
		if (!due[i].open) {
			char when[32];

			aur_time_format_ms(now_ms, when, sizeof(when));
			rc = aur_correlate_store_set_pending(d->store, due[i].id, 0, when);
			continue;
		}
		rc = aur_correlate_store_alert_counts(d->store, due[i].id, &total, &firing);
		if (rc < 0)
			return rc;
		aur_time_span_text(d->cfg->quiet_ms, quiet, sizeof(quiet));
		snprintf(reason, sizeof(reason), "all %lld alert%s resolved, then %s quiet", total,
			 total == 1 ? "" : "s", quiet);
		rc = aur_incident_set_status(d->db, due[i].id, "resolved", reason, due[i].at_ms, err, errlen);
	}
	return rc;
}

/* Follow merged_into from id to the incident that absorbed it; its status into status. */
static long long final_incident(struct aur_correlate_decider *d, long long id, char *status, size_t statuslen)
{
	for (int hops = 0; hops < MERGE_CHAIN_MAX && id > 0; hops++) {
		struct aur_correlate_incident inc;

		if (aur_correlate_store_incident(d->store, id, &inc, NULL) < 0)
			return 0;
		snprintf(status, statuslen, "%s", inc.status);
		if (strcmp(inc.status, "merged") != 0 || inc.merged_into <= 0)
			return id;
		id = inc.merged_into;
	}
	return id;
}

/*
 * The same alert firing again in an incident that is still open: a repeat
 * while it fires (not activity: a chatty alert does not keep an incident
 * alive), a re-fire after it resolved (activity), and within the quiet
 * period of an incident whose alerts had all resolved, flapping.
 */
static int refire(struct aur_correlate_decider *d, const struct aur_correlate_alert *a, long long id,
		  const struct aur_correlate_known *k, struct aur_correlate_verdict *v, const char *when)
{
	struct aur_correlate_incident inc;
	long long pending = 0;
	int rc = 0;

	if (!k->firing && aur_correlate_store_incident(d->store, id, &inc, NULL) == 0)
		pending = inc.pending_ms;
	v->action = "deduplicated";
	snprintf(v->reason, sizeof(v->reason), "the same alert (%s %s), seen %lld times", a->source, a->dedup_key,
		 k->count + 1);
	if (pending > 0) {
		char gap[24];

		aur_time_span_text(a->t_ms - pending, gap, sizeof(gap));
		v->action = "attached";
		v->strategy = "flapping";
		snprintf(v->reason, sizeof(v->reason), "flapping: re-fired %s after all alerts resolved (%s %s)", gap,
			 a->source, a->dedup_key);
		rc = aur_correlate_store_set_pending(d->store, id, 0, when);
	}
	if (rc < 0 || k->firing || a->info || a->heartbeat)
		return rc;
	return aur_correlate_store_activity(d->store, id, a->t_ms, when);
}

/* The known alert in incident id, which is still open: a repeat, a re-fire or its resolve. */
static int decide_known(struct aur_correlate_decider *d, const struct aur_correlate_alert *a,
			const char *record_text, const struct aur_correlate_known *k, long long id,
			struct aur_correlate_verdict *v, const char *when, char *err, size_t errlen)
{
	long long alert_id = 0;
	jv data;
	int rc = aur_correlate_store_alert_put(d->store, a, record_text, k->id, id, when, &alert_id);

	if (rc < 0)
		return rc;
	v->incident_id = id;
	v->matched = id;
	v->score = 1.0;
	v->strategy = "dedup";
	if (!strcmp(a->status, "firing"))
		return refire(d, a, id, k, v, when);
	v->action = "resolved";
	snprintf(v->reason, sizeof(v->reason), "the alert resolved");
	data = jv_object();
	data = jv_object_set(data, jv_string("alert_id"), jv_number((double)alert_id));
	data = jv_object_set(data, jv_string("source"), jv_string(a->source));
	data = jv_object_set(data, jv_string("title"), jv_string(a->title));
	if (aur_incident_event(d->db, id, "alert.resolved", data, a->t_ms) < 0)
		return -EIO;
	return maybe_auto_resolve(d, id, a->t_ms, when, err, errlen);
}

/* A resolve for an alert with no open incident: record it, nothing to correlate. */
static int decide_resolve(struct aur_correlate_decider *d, const struct aur_correlate_alert *a,
			  const char *record_text, const struct aur_correlate_known *k, long long prev,
			  struct aur_correlate_verdict *v, const char *when)
{
	long long alert_id = 0;

	v->action = "resolved";
	v->incident_id = prev;
	v->strategy = "none";
	snprintf(v->reason, sizeof(v->reason), "%s", prev ? "the incident was already closed"
							: "resolved before it was seen firing");
	return aur_correlate_store_alert_put(d->store, a, record_text, k->id, prev, when, &alert_id);
}

/* The incident a new alert opens (prev: the closed one it recurs after, or 0); its id into v. */
static int open_incident(struct aur_correlate_decider *d, const struct aur_correlate_alert *a,
			 const struct aur_correlate_candidate *best, long long prev, struct aur_correlate_verdict *v,
			 char *err, size_t errlen)
{
	struct aur_incident_new n = { 0 };
	long long id = 0;
	int rc;

	v->action = "created";
	v->strategy = best ? best->strategy : "none";
	v->score = best ? best->score : 0;
	v->matched = best ? best->id : 0;
	if (best)
		snprintf(v->reason, sizeof(v->reason), "best candidate %lld scored %.2f (%s), under %.2f", best->id,
			 best->score, best->reason, d->cfg->threshold);
	else
		snprintf(v->reason, sizeof(v->reason), "no open incident within the window");
	if (prev)
		snprintf(v->reason + strlen(v->reason), sizeof(v->reason) - strlen(v->reason),
			 "; recurs after incident %lld", prev);
	n.title = a->title;
	n.severity = a->severity;
	/* whose it is: the exporter's own service label is not the incident's */
	if (a->subj.s.key[0] && strcmp(a->subj.s.from, "service") != 0 && strcmp(a->subj.kind, "host") != 0)
		n.service = a->subj.s.key;
	else
		n.service = a->service ? a->service : a->host;
	n.source_type = a->source;
	n.source_link = a->link;
	n.started_ms = a->started_ms;
	n.previous_incident = prev;
	rc = aur_incident_insert(d->db, &n, a->t_ms, &id, err, errlen);
	v->incident_id = id;
	return rc;
}

/* The alert.attached event of an alert that joined v's incident. */
static int attached_event(struct aur_correlate_decider *d, const struct aur_correlate_alert *a, long long alert_id,
			  const struct aur_correlate_verdict *v)
{
	jv data = jv_object();

	data = jv_object_set(data, jv_string("alert_id"), jv_number((double)alert_id));
	data = jv_object_set(data, jv_string("source"), jv_string(a->source));
	data = jv_object_set(data, jv_string("title"), jv_string(a->title));
	data = jv_object_set(data, jv_string("strategy"), jv_string(v->strategy));
	data = jv_object_set(data, jv_string("score"), jv_number(v->score));
	data = jv_object_set(data, jv_string("reason"), jv_string(v->reason));
	return aur_incident_event(d->db, v->incident_id, "alert.attached", data, a->t_ms) < 0 ? -EIO : 0;
}

/* The vector of the alert's text; an endpoint that fails leaves the built-in one and a warning. */
static void alert_vector(struct aur_correlate_decider *d, const struct aur_correlate_alert *a,
			 struct aur_semvec *vec)
{
	char why[200];

	if (aur_semvec_of(&d->embed, d->stats, a->text, vec, why, sizeof(why)) < 0)
		snprintf(d->warning, sizeof(d->warning), "%s; using the built-in vectorizer", why);
}

/*
 * A new alert, or one firing again after its incident closed (prev): it
 * joins the best candidate, opens an incident, or, as noise, is logged.
 */
static int decide_new(struct aur_correlate_decider *d, const struct aur_correlate_alert *a,
		      const char *record_text, const struct aur_correlate_known *k, long long prev,
		      struct aur_correlate_verdict *v, const char *when, char *err, size_t errlen)
{
	struct aur_correlate_candidates cand;
	const struct aur_correlate_candidate *best;
	struct aur_semvec vec;
	long long alert_id = 0;
	int rc;

	if (!k->id) {
		aur_textvec_learn(d->stats, a->text);
		d->unsaved++;
	}
	aur_semvec_init(&vec, d->alert_scratch);
	alert_vector(d, a, &vec);
	cand.scratch = d->scratch;
	rc = aur_correlate_candidates_gather(&cand, d->store, d->cfg, d->stats, a, &vec);
	if (rc < 0)
		return rc;
	best = aur_correlate_candidates_best(&cand);
	if ((!best || best->score < d->cfg->threshold) && (a->info || a->heartbeat)) {
		/* noise opens nothing: stored, and said why */
		v->action = "logged";
		v->strategy = "none";
		v->score = best ? best->score : 0;
		snprintf(v->reason, sizeof(v->reason), "%s: opens no incident, and no open incident correlates%s",
			 a->heartbeat ? "a heartbeat (the alerting path is alive)" : "info severity",
			 best ? " enough" : "");
		return aur_correlate_store_alert_put(d->store, a, record_text, k->id, 0, when, &alert_id);
	}
	if (best && best->score >= d->cfg->threshold) {
		v->action = "attached";
		v->incident_id = best->id;
		v->strategy = best->strategy;
		v->score = best->score;
		v->matched = best->id;
		snprintf(v->reason, sizeof(v->reason), "%s", best->reason);
	} else {
		rc = open_incident(d, a, best, prev, v, err, errlen);
		if (rc < 0)
			return rc;
	}
	rc = aur_correlate_store_alert_put(d->store, a, record_text, k->id, v->incident_id, when, &alert_id);
	if (rc == 0)
		rc = join_incident(d, a, &vec, alert_id, v->incident_id, v, when);
	if (rc == 0 && !strcmp(v->action, "attached"))
		rc = attached_event(d, a, alert_id, v);
	if (rc == 0 && d->unsaved >= STATS_FLUSH_EVERY) {
		rc = aur_correlate_store_save_stats(d->store, d->stats);
		if (rc == 0)
			d->unsaved = 0;
	}
	return rc;
}

int aur_correlate_decide(struct aur_correlate_decider *d, const struct aur_correlate_alert *a,
			 const char *record_text, struct aur_correlate_verdict *v, char *err, size_t errlen)
{
	struct aur_correlate_known k;
	char prev_status[32] = "";
	char when[32];
	long long prev = 0;
	long long alert_id = 0;
	int rc;

	aur_time_format_ms(a->t_ms, when, sizeof(when));
	rc = aur_correlate_store_alert_get(d->store, a->source, a->dedup_key, &k);
	if (rc < 0)
		return rc;
	if (k.incident_id)
		prev = final_incident(d, k.incident_id, prev_status, sizeof(prev_status));

	/* a replay of a delivery already counted changes nothing */
	if (k.id && a->inbox_id > 0 && k.last_inbox_id >= a->inbox_id) {
		v->action = "deduplicated";
		v->incident_id = prev;
		v->strategy = "dedup";
		v->score = 1.0;
		v->matched = prev;
		snprintf(v->reason, sizeof(v->reason), "delivery %lld was already counted", a->inbox_id);
		return 0;
	}
	if (a->heartbeat && !strcmp(a->status, "firing") && d->cfg->heartbeat_silence_ms > 0) {
		rc = aur_heartbeat_seen(d->db, a->source, a->dedup_key, a->title, a->service, a->t_ms,
					&d->silence_ended, err, errlen);
		if (rc < 0)
			return rc;
	}
	if (is_build_source(a->source) && !aur_correlate_store_rca_enabled(d->store, a->source)) {
		v->action = "logged";
		v->strategy = "none";
		snprintf(v->reason, sizeof(v->reason), "RCA is off for %s: build events are logged only", a->source);
		return aur_correlate_store_alert_put(d->store, a, record_text, k.id, 0, when, &alert_id);
	}
	if (k.id && prev && is_open(prev_status))
		return decide_known(d, a, record_text, &k, prev, v, when, err, errlen);
	if (strcmp(a->status, "firing") != 0)
		return decide_resolve(d, a, record_text, &k, prev, v, when);
	return decide_new(d, a, record_text, &k, prev, v, when, err, errlen);
}
