#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "correlate.h"
#include "correlate_alert.h"
#include "correlate_decide.h"
#include "correlate_store.h"
#include "db.h"
#include "dstate.h"
#include "embeddings.h"
#include "heartbeat.h"
#include "jvio.h"
#include "textvec.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

/*
 * The correlator: the decider (correlate_decide.h) and its store, and
 * around it what a stream of records needs: the transactions, the
 * delivery states, the heartbeats' silence and the decision records.
 */
struct aur_correlator {
	sqlite3 *db;
	struct aur_correlate_config cfg;
	struct aur_correlate_decider d;
	jv extra;                     /* decisions of incidents opened by no record (silence), until taken */
	long long silence_checked_ms; /* when heartbeats were last looked at */
	long long latest_ms;          /* the latest record time seen: is the input live? */
	struct aur_dstate_tally tally; /* the records of the delivery being decided (dstate.h) */
	int batch_used;               /* a record of the open batch has been decided (its savepoints) */
};

void aur_correlate_config_init(struct aur_correlate_config *c)
{
	memset(c, 0, sizeof(*c));
	c->window_ms = 30LL * 60 * 1000;
	c->time_window_ms = 5LL * 60 * 1000;
	c->w_service = 0.9;
	c->w_mention = 0.85;
	c->w_time = 0.7;
	c->max_distance = 0.3;
	c->threshold = 0.75;
	c->w_dependency = 0.85;
	c->quiet_ms = 10LL * 60 * 1000;
	c->stale_ms = 12LL * 60 * 60 * 1000;
	c->busy_ms = 5000;
	c->embed_timeout_ms = 5000;
}

int aur_correlator_flush(struct aur_correlator *c, char *err, size_t errlen)
{
	int rc;

	if (!c->d.unsaved)
		return 0;
	rc = aur_db_begin(c->db, c->cfg.busy_ms, err, errlen);
	if (rc < 0)
		return rc;
	rc = aur_correlate_store_save_stats(c->d.store, c->d.stats);
	if (rc == 0) {
		c->d.unsaved = 0;
		rc = aur_db_commit(c->db, c->cfg.busy_ms, err, errlen);
	}
	if (rc < 0)
		aur_db_rollback(c->db);
	return rc;
}

int aur_correlator_new(struct aur_correlator **out, sqlite3 *db, const struct aur_correlate_config *cfg,
		       char *err, size_t errlen)
{
	struct aur_correlator *c = aur_xcalloc(1, sizeof(*c));
	int rc;

	c->extra = jv_array();
	c->db = db;
	c->cfg = *cfg;
	c->d.db = db;
	c->d.cfg = &c->cfg;
	c->d.stats = aur_xcalloc(1, sizeof(*c->d.stats));
	if (cfg->embed_url && *cfg->embed_url) {
		c->d.embed.url = cfg->embed_url;
		c->d.embed.model = cfg->embed_model;
		c->d.embed.key = cfg->embed_key;
		c->d.embed.timeout_ms = cfg->embed_timeout_ms;
	}
	/* dense vectors may be stored even when this run has no endpoint */
	c->d.scratch = aur_xcalloc(AUR_EMBEDDINGS_MAX_DIMS, sizeof(float));
	c->d.alert_scratch = aur_xcalloc(AUR_EMBEDDINGS_MAX_DIMS, sizeof(float));
	rc = aur_correlate_store_open(&c->d.store, db, err, errlen);
	if (rc == 0)
		rc = aur_correlate_store_load_stats(c->d.store, c->d.stats, err, errlen);
	if (rc < 0) {
		aur_correlator_free(c);
		c = NULL;
	}
	*out = c;
	return rc;
}

void aur_correlator_free(struct aur_correlator *c)
{
	char err[256];

	if (!c)
		return;
	if (c->d.unsaved)
		aur_correlator_flush(c, err, sizeof(err));
	aur_correlate_store_free(c->d.store);
	free(c->d.stats);
	free(c->d.scratch);
	free(c->d.alert_scratch);
	jv_free(c->extra);
	free(c);
}

int aur_correlator_begin(struct aur_correlator *c, char *err, size_t errlen)
{
	c->batch_used = 0;
	return aur_db_begin(c->db, c->cfg.busy_ms, err, errlen);
}

int aur_correlator_commit(struct aur_correlator *c, char *err, size_t errlen)
{
	int rc = aur_db_commit(c->db, c->cfg.busy_ms, err, errlen);

	c->batch_used = 0;
	if (rc < 0)
		aur_correlator_rollback(c);
	return rc;
}

void aur_correlator_rollback(struct aur_correlator *c)
{
	char err[256];

	aur_db_rollback(c->db);
	c->batch_used = 0;
	jv_free(c->extra);
	c->extra = jv_array();
	/* the statistics learned from rolled-back records go with them */
	memset(c->d.stats, 0, sizeof(*c->d.stats));
	c->d.unsaved = 0;
	aur_correlate_store_load_stats(c->d.store, c->d.stats, err, sizeof(err));
}

int aur_correlator_take_warning(struct aur_correlator *c, char *out, size_t outlen)
{
	if (!c->d.warning[0])
		return 0;
	snprintf(out, outlen, "%s", c->d.warning);
	c->d.warning[0] = '\0';
	return 1;
}

static jv decision_of(jv rec, const struct aur_correlate_verdict *v, const struct aur_correlate_alert *a);

/* The decision record of an incident a heartbeat's silence opened. */
static jv silence_decision(const struct aur_heartbeat_silence *h, long long silence_ms, long long now_ms)
{
	struct aur_correlate_verdict v;
	char at[40];
	char last[40];
	char span[24];
	char key[sizeof(h->dedup_key) + 16];
	jv rec = jv_object();

	memset(&v, 0, sizeof(v));
	aur_time_format_ms(now_ms, at, sizeof(at));
	aur_time_format_ms(h->last_seen_ms, last, sizeof(last));
	aur_time_span_text(silence_ms, span, sizeof(span));
	snprintf(key, sizeof(key), "silence:%s", h->dedup_key);
	rec = jv_object_set(rec, jv_string("source"), jv_string(h->source));
	rec = jv_object_set(rec, jv_string("dedup_key"), jv_string(key));
	rec = jv_object_set(rec, jv_string("status"), jv_string("firing"));
	rec = jv_object_set(rec, jv_string("severity"), jv_string("high"));
	rec = jv_object_set(rec, jv_string("title"), jv_string(h->title));
	rec = jv_object_set(rec, jv_string("service"), jv_string(h->service[0] ? h->service : h->source));
	rec = jv_object_set(rec, jv_string("received_at"), jv_string(at));
	v.action = "created";
	v.incident_id = h->incident_id;
	v.strategy = "heartbeat_silence";
	v.score = 1.0;
	snprintf(v.reason, sizeof(v.reason), "no heartbeat %s %s for %s (last at %s): the alerting path is silent",
		 h->source, h->dedup_key, span, last);
	return decision_of(rec, &v, NULL);
}

/*
 * Heartbeats silent for longer than the limit by now_ms open their
 * incidents (looked at once a second of record time at most: a storm
 * pays for this once, not per alert); their decisions wait in c->extra.
 */
static int check_silence(struct aur_correlator *c, long long now_ms, char *err, size_t errlen)
{
	struct aur_heartbeat_silence h[16];
	size_t n = 0;
	int rc;

	if (c->cfg.heartbeat_silence_ms <= 0 || (now_ms >= c->silence_checked_ms && now_ms - c->silence_checked_ms < 1000))
		return 0;
	c->silence_checked_ms = now_ms;
	rc = aur_heartbeat_check(c->db, now_ms, c->cfg.heartbeat_silence_ms, h, sizeof(h) / sizeof(h[0]), &n, err,
				 errlen);
	for (size_t i = 0; rc == 0 && i < n; i++)
		c->extra = jv_array_append(c->extra, silence_decision(&h[i], c->cfg.heartbeat_silence_ms, now_ms));
	return rc;
}

/*
 * The decision: the record, what became of it and why; for an alert also
 * its subject (name as sent, canonical key, where it was read) and
 * service_key, so every join can be explained.
 */
static jv decision_of(jv rec, const struct aur_correlate_verdict *v, const struct aur_correlate_alert *a)
{
	jv corr = jv_object();
	jv d = jv_object_set(jv_object(), jv_string("v"), jv_number(1));

	d = jv_object_set(d, jv_string("type"), jv_string("decision"));
	d = jv_object_merge(d, jv_object_delete(jv_object_delete(rec, jv_string("v")), jv_string("type")));
	d = jv_object_set(d, jv_string("incident_id"),
			  v->incident_id > 0 ? jv_number((double)v->incident_id) : jv_null());
	d = jv_object_set(d, jv_string("action"), jv_string(v->action));
	corr = jv_object_set(corr, jv_string("strategy"), jv_string(v->strategy ? v->strategy : "none"));
	corr = jv_object_set(corr, jv_string("score"), jv_number(round(v->score * 1000) / 1000));
	corr = jv_object_set(corr, jv_string("matched_incident"),
			     v->matched > 0 ? jv_number((double)v->matched) : jv_null());
	corr = jv_object_set(corr, jv_string("reason"), jv_string(v->reason));
	if (a) {
		d = jv_object_set(d, jv_string("service_key"),
				  a->service_key[0] ? jv_string(a->service_key) : jv_null());
		d = jv_object_set(d, jv_string("subject"), aur_subject_json(&a->subj));
	}
	return jv_object_set(d, jv_string("correlation"), corr);
}

/* Run one statement without results through the connection's statement list. */
static int step_sql(sqlite3 *db, const char *text)
{
	sqlite3_stmt *st = aur_db_stmt(db, text, NULL, 0);
	int rc;

	if (!st)
		return aur_db_errno(sqlite3_errcode(db));
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return aur_db_errno(rc);
}

/*
 * An error record (aurora-normalize could not use a delivery): nothing to
 * correlate; its decision says so (action "failed"), and the delivery's
 * state (written by the caller) says why.
 */
static jv error_decision(jv rec, char *reason, size_t reasonlen)
{
	struct aur_correlate_verdict v;
	const char *why = aur_jvio_str(rec, "reason");

	if (why && !*why)
		why = NULL;
	memset(&v, 0, sizeof(v));
	v.action = "failed";
	v.strategy = "none";
	snprintf(v.reason, sizeof(v.reason), "not normalized: %s", why ? why : "no reason given");
	snprintf(reason, reasonlen, "%s", why ? why : "aurora-normalize could not use it (no reason given)");
	return decision_of(rec, &v, NULL);
}

/*
 * Decide alert a: first what its time alone decides (quiet periods that
 * have passed, heartbeats gone silent), then the alert itself.
 */
static int decide(struct aur_correlator *c, const struct aur_correlate_alert *a, const char *record_text,
		  struct aur_correlate_verdict *v, char *err, size_t errlen)
{
	int rc = aur_correlate_decide_quiet(&c->d, a->t_ms, err, errlen);

	if (rc == 0)
		rc = check_silence(c, a->t_ms, err, errlen);
	if (rc == 0)
		rc = aur_correlate_decide(&c->d, a, record_text, v, err, errlen);
	return rc;
}

/* The record's decision, from the record alone or through decide(); *kind what it was. */
static int process_record(struct aur_correlator *c, jv rec, const char *record_text, jv *decision,
			  enum aur_dstate_kind *kind, char *reason, size_t reasonlen, char *err, size_t errlen)
{
	struct aur_correlate_verdict v;
	struct aur_correlate_alert a;
	jv type;
	jv text = jv_invalid();
	int extra_before;
	long long checked_before;
	int rc = 0;

	memset(&v, 0, sizeof(v));
	*decision = jv_invalid();
	err[0] = '\0';
	if (jv_get_kind(rec) != JV_KIND_OBJECT) {
		snprintf(err, errlen, "not a JSON object");
		rc = -EINVAL;
		goto out;
	}
	type = jv_object_get(jv_copy(rec), jv_string("type"));
	if (jv_get_kind(type) == JV_KIND_STRING && !strcmp(jv_string_value(type), "note")) {
		jv test = jv_object_get(jv_copy(rec), jv_string("test"));

		*kind = jv_get_kind(test) == JV_KIND_TRUE ? AUR_DSTATE_TEST : AUR_DSTATE_NOTE;
		jv_free(test);
		jv_free(type);
		v.action = "logged";
		v.strategy = "none";
		snprintf(v.reason, sizeof(v.reason), "a note, not an alert");
		*decision = decision_of(rec, &v, NULL);
		return 0;
	}
	if (jv_get_kind(type) == JV_KIND_STRING && !strcmp(jv_string_value(type), "error")) {
		jv_free(type);
		*kind = AUR_DSTATE_ERROR;
		*decision = error_decision(rec, reason, reasonlen);
		return 0;
	}
	if (jv_get_kind(type) != JV_KIND_STRING || strcmp(jv_string_value(type), "alert") != 0) {
		snprintf(err, errlen, "not an alert record (type %s)",
			 jv_get_kind(type) == JV_KIND_STRING ? jv_string_value(type) : "missing");
		jv_free(type);
		rc = -EINVAL;
		goto out;
	}
	jv_free(type);
	rc = aur_correlate_alert_read(rec, c->cfg.catalog, &a, err, errlen);
	if (rc < 0)
		goto out;
	if (a.t_ms > c->latest_ms)
		c->latest_ms = a.t_ms;
	if (a.test) {
		*kind = AUR_DSTATE_TEST;
		v.action = "logged";
		v.strategy = "none";
		snprintf(v.reason, sizeof(v.reason), "a test delivery, not an alert");
		*decision = decision_of(rec, &v, &a);
		return 0;
	}
	*kind = AUR_DSTATE_ALERT;
	if (!record_text) {
		text = jv_dump_string(jv_copy(rec), 0);
		record_text = jv_string_value(text);
	}
	extra_before = jv_array_length(jv_copy(c->extra));
	checked_before = c->silence_checked_ms;
	c->d.silence_ended = 0;
	if (sqlite3_get_autocommit(c->db)) {
		rc = aur_db_begin(c->db, c->cfg.busy_ms, err, errlen);
		if (rc < 0)
			goto out;
		rc = decide(c, &a, record_text, &v, err, errlen);
		if (rc == 0)
			rc = aur_db_commit(c->db, c->cfg.busy_ms, err, errlen);
		if (rc < 0)
			aur_db_rollback(c->db);
	} else if (!c->batch_used) {
		/*
		 * The batch's first record: no earlier record's writes to keep, so
		 * no savepoint (it would copy every page the record touches, and
		 * records at 500/s come one to a batch). If it fails, the batch's
		 * transaction goes with it.
		 */
		c->batch_used = 1;
		rc = decide(c, &a, record_text, &v, err, errlen);
		if (rc < 0)
			aur_db_rollback(c->db);
	} else {
		/* inside the caller's batch: this record's writes stand or fall alone */
		rc = step_sql(c->db, "SAVEPOINT record");
		if (rc == 0)
			rc = decide(c, &a, record_text, &v, err, errlen);
		if (rc == 0) {
			rc = step_sql(c->db, "RELEASE record");
		} else {
			step_sql(c->db, "ROLLBACK TO record");
			step_sql(c->db, "RELEASE record");
		}
	}
	if (rc < 0) {
		if (!err[0])
			snprintf(err, errlen, "database: %s", sqlite3_errmsg(c->db));
		/* what this record's silence check opened was rolled back with it */
		c->extra = jv_array_slice(c->extra, 0, extra_before);
		c->silence_checked_ms = checked_before;
		goto out;
	}
	if (c->d.silence_ended > 0) {
		size_t len = strlen(v.reason);

		snprintf(v.reason + len, sizeof(v.reason) - len, "; it ends the silence of incident %lld",
			 c->d.silence_ended);
	}
	*decision = decision_of(rec, &v, &a);
	rec = jv_invalid();
out:
	jv_free(text);
	jv_free(rec);
	return rc;
}

/* A whole number member of rec, or 0 when absent or not one. */
static long long whole_field(jv rec, const char *key)
{
	jv v = jv_object_get(jv_copy(rec), jv_string(key));
	long long n = 0;

	if (jv_get_kind(v) == JV_KIND_NUMBER && jv_number_value(v) >= 1 && jv_number_value(v) < 9007199254740992.0)
		n = (long long)jv_number_value(v);
	jv_free(v);
	return n;
}

/*
 * Tally the record's outcome for its delivery and, with the delivery's
 * last record, write its state (dstate.h) in the transaction that is open.
 */
static int tally(struct aur_correlator *c, long long inbox_id, long long part, long long parts,
		 enum aur_dstate_kind kind, const char *reason, char *err, size_t errlen)
{
	if (inbox_id <= 0 || !aur_dstate_add(&c->tally, inbox_id, part, parts, kind, reason))
		return 0;
	return aur_dstate_write(c->db, &c->tally, err, errlen);
}

int aur_correlator_process(struct aur_correlator *c, jv rec, const char *record_text, jv *decision, char *err,
			   size_t errlen)
{
	long long inbox_id = 0, part = 0, parts = 0;
	enum aur_dstate_kind kind = AUR_DSTATE_NOTE;
	char reason[AUR_DSTATE_REASON_MAX] = "";
	char why[AUR_DSTATE_REASON_MAX + 64];
	int own = 0;
	int rc;

	if (jv_get_kind(rec) == JV_KIND_OBJECT) {
		inbox_id = whole_field(rec, "inbox_id");
		part = whole_field(rec, "inbox_part");
		parts = whole_field(rec, "inbox_parts");
	}
	/*
	 * A record of a delivery is decided in a transaction that also takes
	 * the delivery's state: the caller's batch, else one of its own.
	 */
	if (inbox_id > 0 && sqlite3_get_autocommit(c->db)) {
		rc = aur_db_begin(c->db, c->cfg.busy_ms, err, errlen);
		if (rc < 0) {
			jv_free(rec);
			*decision = jv_invalid();
			return rc;
		}
		own = 1;
		c->batch_used = 0;
	}
	rc = process_record(c, rec, record_text, decision, &kind, reason, sizeof(reason), err, errlen);
	if (rc == -EINVAL && inbox_id > 0) {
		/* rejected here: the delivery is not all used, and its state says why */
		snprintf(why, sizeof(why), "aurora-correlate rejected it: %s", err);
		rc = tally(c, inbox_id, part, parts, AUR_DSTATE_ERROR, why, err, errlen);
		if (rc == 0)
			rc = -EINVAL; /* err is unchanged */
	} else if (rc == 0 && inbox_id > 0) {
		rc = tally(c, inbox_id, part, parts, kind, reason, err, errlen);
		if (rc < 0) {
			jv_free(*decision);
			*decision = jv_invalid();
		}
	}
	if (own && (rc == 0 || rc == -EINVAL)) {
		int crc = aur_db_commit(c->db, c->cfg.busy_ms, why, sizeof(why));

		if (crc < 0) {
			snprintf(err, errlen, "%s", why);
			jv_free(*decision);
			*decision = jv_invalid();
			rc = crc;
		}
	}
	if (own && rc < 0 && rc != -EINVAL)
		aur_correlator_rollback(c);
	if (own)
		c->batch_used = 0;
	return rc;
}

jv aur_correlator_take_extra(struct aur_correlator *c)
{
	jv out = c->extra;

	c->extra = jv_array();
	return out;
}

int aur_correlator_tick(struct aur_correlator *c, long long now_ms, char *err, size_t errlen)
{
	int own = sqlite3_get_autocommit(c->db);
	int rc;

	/*
	 * The clock counts only while the records are live (the latest within
	 * the hour of it): a replay of last week must not find every heartbeat
	 * silent now.
	 */
	if (c->cfg.heartbeat_silence_ms <= 0 || !c->latest_ms || now_ms - c->latest_ms > 3600000LL)
		return 0;
	if (own) {
		rc = aur_db_begin(c->db, c->cfg.busy_ms, err, errlen);
		if (rc < 0)
			return rc;
	}
	rc = check_silence(c, now_ms, err, errlen);
	if (own) {
		if (rc == 0)
			rc = aur_db_commit(c->db, c->cfg.busy_ms, err, errlen);
		if (rc < 0) {
			aur_db_rollback(c->db);
			jv_free(c->extra);
			c->extra = jv_array();
		}
	}
	return rc;
}
