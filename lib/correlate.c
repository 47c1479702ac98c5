#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "be32.h"
#include "buf.h"
#include "catalog.h"
#include "correlate.h"
#include "db.h"
#include "dstate.h"
#include "embeddings.h"
#include "heartbeat.h"
#include "incident.h"
#include "subject.h"
#include "textvec.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

#define MAX_CANDIDATES 64
#define TERM_CANDIDATES 16
#define STATS_FLUSH_EVERY 256
#define MERGE_CHAIN_MAX 16

enum {
	S_ALERT_GET,
	S_ALERT_INSERT,
	S_ALERT_UPDATE,
	S_IA_SEEN,
	S_RCA_GET,
	S_CAND_SERVICE,
	S_CAND_TERM,
	S_CAND_RECENT,
	S_INC_GET,
	S_INC_TOUCH,
	S_IA_INSERT,
	S_FIRING_COUNT,
	S_INC_ACTIVITY,
	S_INC_HAS_KEY,
	S_STATS_GET,
	S_STATS_PUT,
	S_PENDING_SET,
	S_PENDING_DUE,
	S_DEP_LEARN,
	S_DEP_OF,
	S_DEP_ON,
	S_COUNT
};

static const char *const sql[S_COUNT] = {
	[S_ALERT_GET] = "SELECT a.id, a.status, coalesce(a.incident_id, 0), coalesce(a.last_inbox_id, 0),"
			" a.count, coalesce(i.status, ''), coalesce(i.merged_into, 0)"
			" FROM alerts a LEFT JOIN incidents i ON i.id = a.incident_id"
			" WHERE a.source = ? AND a.dedup_key = ?",
	[S_ALERT_INSERT] = "INSERT INTO alerts(source, dedup_key, fingerprint, status, severity, title, service,"
			   " service_key, host, record, first_seen, first_seen_ms, last_seen, last_seen_ms,"
			   " first_inbox_id, last_inbox_id, incident_id)"
			   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?11, ?12, ?13, ?13, ?14)",
	[S_ALERT_UPDATE] = "UPDATE alerts SET status = ?2, severity = ?3, title = ?4, record = ?5, last_seen = ?6,"
			   " last_seen_ms = max(last_seen_ms, ?7), count = count + 1, last_inbox_id = ?8,"
			   " incident_id = ?9 WHERE id = ?1",
	[S_RCA_GET] = "SELECT rca FROM connectors WHERE platform = ?",
	[S_CAND_SERVICE] = "SELECT incident_id FROM open_incident_services WHERE service_key = ?"
			   " ORDER BY incident_id DESC LIMIT 16",
	/* newest first straight from the primary key: a common term costs at most the LIMIT */
	[S_CAND_TERM] = "SELECT incident_id FROM open_incident_terms WHERE term = ?"
			" ORDER BY incident_id DESC LIMIT 16",
	[S_CAND_RECENT] = "SELECT id FROM incidents WHERE " AUR_INCIDENT_OPEN_SQL " AND last_activity_ms >= ?"
			  " ORDER BY last_activity_ms DESC LIMIT 4",
	[S_INC_GET] = "SELECT status, last_activity_ms, vector, severity, merged_into, started_ms,"
		      " resolve_pending_ms FROM incidents WHERE id = ?",
	/* ?6: the alert counts as activity (not info): it also ends a quiet period */
	[S_INC_TOUCH] = "UPDATE incidents SET last_activity_ms = CASE WHEN ?6 THEN max(last_activity_ms, ?2)"
			" ELSE last_activity_ms END, updated_at = ?3, severity = ?4, vector = ?5,"
			" resolve_pending_ms = CASE WHEN ?6 THEN NULL ELSE resolve_pending_ms END WHERE id = ?1",
	/*
	 * ?9: it opens the incident; one that opened it and fires again still
	 * did. A row already there has counted this notification (S_IA_SEEN).
	 */
	[S_IA_INSERT] = "INSERT OR REPLACE INTO incident_alerts(incident_id, alert_id, strategy, score,"
			" matched_incident, reason, inbox_id, joined_at, opened, notifications, last_seen, status)"
			" SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, coalesce(old.joined_at, ?8), ?9 OR coalesce(old.opened, 0),"
			" coalesce(old.notifications, 1), ?8, ?10"
			" FROM (SELECT 1) LEFT JOIN incident_alerts old ON old.incident_id = ?1 AND old.alert_id = ?2",
	/* a notification of an alert in an incident it is already part of */
	[S_IA_SEEN] = "UPDATE incident_alerts SET notifications = notifications + 1, last_seen = ?3, status = ?4"
		      " WHERE incident_id = ?1 AND alert_id = ?2",
	[S_FIRING_COUNT] = "SELECT count(*), sum(status = 'firing') FROM alerts WHERE incident_id = ?",
	[S_INC_ACTIVITY] = "UPDATE incidents SET last_activity_ms = max(last_activity_ms, ?2), updated_at = ?3"
			   " WHERE id = ?1",
	[S_INC_HAS_KEY] = "SELECT 1 FROM open_incident_services WHERE incident_id = ? LIMIT 1",
	[S_STATS_GET] = "SELECT term, docs FROM term_stats",
	[S_STATS_PUT] = "INSERT INTO term_stats(term, docs) VALUES (?, ?)"
			" ON CONFLICT(term) DO UPDATE SET docs = excluded.docs",
	[S_PENDING_SET] = "UPDATE incidents SET resolve_pending_ms = ?2, updated_at = ?3 WHERE id = ?1",
	/* only the pending few, through their partial index (a status test here would scan every open one) */
	[S_PENDING_DUE] = "SELECT id, resolve_pending_ms, status FROM incidents WHERE resolve_pending_ms <= ?"
			  " ORDER BY resolve_pending_ms LIMIT 64",
	[S_DEP_LEARN] = "INSERT INTO service_dependencies(service_key, depends_on, source, first_seen_ms, last_seen_ms)"
			" VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT(service_key, depends_on)"
			" DO UPDATE SET last_seen_ms = max(last_seen_ms, excluded.last_seen_ms)",
	[S_DEP_OF] = "SELECT depends_on, source FROM service_dependencies WHERE service_key = ?"
		     " AND first_seen_ms < ?2 ORDER BY last_seen_ms DESC LIMIT 8",
	[S_DEP_ON] = "SELECT service_key, source FROM service_dependencies WHERE depends_on = ?"
		     " AND first_seen_ms < ?2 ORDER BY service_key LIMIT 8",
};

struct aur_correlator {
	sqlite3 *db;
	struct aur_correlate_config cfg;
	sqlite3_stmt *st[S_COUNT];
	struct aur_textvec_stats *stats;
	uint32_t *stats_saved;  /* df as last written, to write only what changed */
	uint32_t docs_saved;
	unsigned unsaved;
	struct aur_embeddings embed;  /* embed.url NULL: the built-in vectorizer */
	float *scratch;               /* an incident's dense vector while it is compared */
	float *alert_scratch;         /* the alert's dense vector */
	unsigned long embed_failures;
	char warning[320];            /* the last embeddings failure, until taken */
	jv extra;                     /* decisions of incidents opened by no record (silence), until taken */
	long long silence_checked_ms; /* when heartbeats were last looked at */
	long long silence_ended;      /* the silence incident the record being decided resolved */
	long long latest_ms;          /* the latest record time seen: is the input live? */
	struct aur_dstate_tally tally; /* the records of the delivery being decided (dstate.h) */
};

/*
 * A text's vector: the built-in sparse one, or a dense embedding. Vectors of
 * different kinds (an endpoint added or removed later) compare as 0.
 */
struct semvec {
	int dense;
	struct aur_textvec sparse;
	size_t dims;
	float *v; /* AUR_EMBEDDINGS_MAX_DIMS floats when dense is possible */
};

/* The parts of an alert record correlation reads; strings borrowed from the record. */
struct alert_in {
	const char *source;
	const char *dedup_key;
	const char *fingerprint;
	const char *status;
	const char *severity;
	const char *title;
	const char *description;
	const char *service;
	const char *host;
	const char *link;
	long long t_ms;        /* when it was observed */
	long long started_ms;
	long long inbox_id;
	int test;
	int info;              /* info severity: never opens an incident, is no activity */
	int heartbeat;         /* Watchdog and the like: the same */
	struct aur_subject subj;
	char service_key[128];
	char host_name[128];
	char text[2048];
};

/* The strategies, strongest evidence first: a join is explained by the first that suffices. */
enum { K_SERVICE, K_DEPENDENCY, K_MENTION, K_SEMANTIC, K_TIME, K_COUNT };

static const char *const strategy_names[K_COUNT] = {
	"service_match", "dependency", "service_mention", "semantic_similarity", "time_cluster",
};

struct candidate {
	long long id;
	int dropped;               /* closed, or inactive past the window */
	int stale;                 /* started longer ago than stale_ms */
	double s[K_COUNT];         /* each strategy's score, 0 when it did not match */
	char why[K_COUNT][240];
	/* after settle(): */
	double score;
	const char *strategy;
	const char *reason;
};

struct verdict {
	const char *action;
	long long incident_id;
	const char *strategy;
	double score;
	long long matched;
	char reason[512];
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

static int reset(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return 0;
}

static int load_stats(struct aur_correlator *c, char *err, size_t errlen)
{
	sqlite3_stmt *st = c->st[S_STATS_GET];
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *term = (const char *)sqlite3_column_text(st, 0);
		long long docs = sqlite3_column_int64(st, 1);
		char *end = NULL;
		unsigned long b;

		if (!term || docs < 0 || docs > UINT32_MAX)
			continue;
		if (!strcmp(term, "_docs")) {
			c->stats->docs = (uint32_t)docs;
			continue;
		}
		if (strncmp(term, "b:", 2) != 0)
			continue;
		b = strtoul(term + 2, &end, 10);
		if (*end || b >= AUR_TEXTVEC_BUCKETS)
			continue;
		c->stats->df[b] = (uint32_t)docs;
	}
	reset(st);
	if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "term_stats: %s", sqlite3_errmsg(c->db));
		return aur_db_errno(rc);
	}
	memcpy(c->stats_saved, c->stats->df, sizeof(c->stats->df));
	c->docs_saved = c->stats->docs;
	return 0;
}

/* Write changed statistics inside the caller's transaction. */
static int save_stats(struct aur_correlator *c)
{
	sqlite3_stmt *st = c->st[S_STATS_PUT];
	char term[24];
	int rc = 0;

	for (uint32_t b = 0; b < AUR_TEXTVEC_BUCKETS && rc == 0; b++) {
		if (c->stats->df[b] == c->stats_saved[b])
			continue;
		snprintf(term, sizeof(term), "b:%u", b);
		sqlite3_bind_text(st, 1, term, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 2, c->stats->df[b]);
		rc = aur_db_errno(sqlite3_step(st));
		reset(st);
		if (rc == 0)
			c->stats_saved[b] = c->stats->df[b];
	}
	if (rc == 0 && c->stats->docs != c->docs_saved) {
		sqlite3_bind_text(st, 1, "_docs", -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, c->stats->docs);
		rc = aur_db_errno(sqlite3_step(st));
		reset(st);
		if (rc == 0)
			c->docs_saved = c->stats->docs;
	}
	if (rc == 0)
		c->unsaved = 0;
	return rc;
}

int aur_correlator_flush(struct aur_correlator *c, char *err, size_t errlen)
{
	int rc;

	if (!c->unsaved)
		return 0;
	rc = aur_db_begin(c->db, c->cfg.busy_ms, err, errlen);
	if (rc < 0)
		return rc;
	rc = save_stats(c);
	if (rc == 0)
		rc = aur_db_commit(c->db, c->cfg.busy_ms, err, errlen);
	if (rc < 0)
		aur_db_rollback(c->db);
	return rc;
}

int aur_correlator_new(struct aur_correlator **out, sqlite3 *db, const struct aur_correlate_config *cfg,
		       char *err, size_t errlen)
{
	struct aur_correlator *c = aur_xcalloc(1, sizeof(*c));

	c->extra = jv_array();
	int rc = 0;

	c->db = db;
	c->cfg = *cfg;
	c->stats = aur_xcalloc(1, sizeof(*c->stats));
	c->stats_saved = aur_xcalloc(AUR_TEXTVEC_BUCKETS, sizeof(uint32_t));
	if (cfg->embed_url && *cfg->embed_url) {
		c->embed.url = cfg->embed_url;
		c->embed.model = cfg->embed_model;
		c->embed.key = cfg->embed_key;
		c->embed.timeout_ms = cfg->embed_timeout_ms;
	}
	/* dense vectors may be stored even when this run has no endpoint */
	c->scratch = aur_xcalloc(AUR_EMBEDDINGS_MAX_DIMS, sizeof(float));
	c->alert_scratch = aur_xcalloc(AUR_EMBEDDINGS_MAX_DIMS, sizeof(float));
	for (int i = 0; i < S_COUNT && rc == 0; i++)
		rc = aur_db_prepare(db, &c->st[i], sql[i], err, errlen);
	if (rc == 0)
		rc = load_stats(c, err, errlen);
	if (rc < 0) {
		c->unsaved = 0;
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
	if (c->unsaved)
		aur_correlator_flush(c, err, sizeof(err));
	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(c->st[i]);
	free(c->stats);
	free(c->stats_saved);
	free(c->scratch);
	free(c->alert_scratch);
	jv_free(c->extra);
	free(c);
}

/* A string field of obj, borrowed from obj (which must outlive the use), or NULL. */
static const char *str_field(jv obj, const char *key)
{
	jv v = jv_object_get(jv_copy(obj), jv_string(key));
	const char *s = NULL;

	/* jv strings are reference counted: obj keeps this one alive */
	if (jv_get_kind(v) == JV_KIND_STRING)
		s = jv_string_value(v);
	jv_free(v);
	return s && *s ? s : NULL;
}

static long long time_field(jv obj, const char *key)
{
	const char *s = str_field(obj, key);
	long long ms;

	if (s && aur_time_parse_ms(s, &ms) == 0 && ms > 0)
		return ms;
	return 0;
}

/* The catalog tool of an alert: its platform's, else Kubernetes' for a workload, pod or namespace. */
static enum aur_catalog_tool catalog_tool(const char *source, const char *kind)
{
	enum aur_catalog_tool tool = aur_catalog_tool_of_source(source);

	if (tool == AUR_CATALOG_ANY &&
	    (!strcmp(kind, "workload") || !strcmp(kind, "pod") || !strcmp(kind, "namespace")))
		return AUR_CATALOG_KUBERNETES;
	return tool;
}

/* A name as the catalog knows it: the component's key into ref, 1; 0 when unknown. */
static int catalog_ref(const struct aur_catalog *cat, enum aur_catalog_tool tool, struct aur_subject_ref *ref)
{
	const char *comp = aur_catalog_resolve(cat, tool, ref->name);

	if (!comp && tool != AUR_CATALOG_ANY)
		comp = aur_catalog_resolve(cat, AUR_CATALOG_ANY, ref->name);
	if (!comp)
		return 0;
	aur_textvec_service_key(comp, ref->key, sizeof(ref->key));
	snprintf(ref->from + strlen(ref->from), sizeof(ref->from) - strlen(ref->from), ", catalog");
	return 1;
}

/*
 * With a catalog: the subject and dependencies by the components they
 * denote, and the component's own dependencies (spec.dependsOn) added.
 */
static void resolve_in_catalog(const struct aur_catalog *cat, const char *source, struct aur_subject *subj)
{
	const char *deps[AUR_SUBJECT_MAX_DEPS];
	const char *comp;
	size_t n;

	if (!cat || !subj->s.key[0])
		return;
	for (size_t i = 0; i < subj->ndeps; i++)
		catalog_ref(cat, AUR_CATALOG_ANY, &subj->dep[i]);
	if (!catalog_ref(cat, catalog_tool(source, subj->kind), &subj->s))
		return;
	comp = aur_catalog_resolve(cat, catalog_tool(source, subj->kind), subj->s.name);
	if (!comp)
		comp = aur_catalog_resolve(cat, AUR_CATALOG_ANY, subj->s.name);
	n = aur_catalog_dependencies(cat, comp, deps, AUR_SUBJECT_MAX_DEPS);
	for (size_t i = 0; i < n && i < AUR_SUBJECT_MAX_DEPS && subj->ndeps < AUR_SUBJECT_MAX_DEPS; i++) {
		struct aur_subject_ref *r = &subj->dep[subj->ndeps];
		int dup = 0;

		snprintf(r->name, sizeof(r->name), "%s", deps[i]);
		aur_textvec_service_key(deps[i], r->key, sizeof(r->key));
		snprintf(r->from, sizeof(r->from), "catalog dependsOn");
		for (size_t j = 0; j < subj->ndeps; j++)
			dup |= !strcmp(subj->dep[j].key, r->key);
		if (r->key[0] && !dup && strcmp(r->key, subj->s.key) != 0)
			subj->ndeps++;
	}
}

static int read_alert(const struct aur_correlator *c, jv rec, struct alert_in *a, char *err, size_t errlen)
{
	jv v;

	memset(a, 0, sizeof(*a));
	a->source = str_field(rec, "source");
	a->dedup_key = str_field(rec, "dedup_key");
	a->fingerprint = str_field(rec, "fingerprint");
	a->status = str_field(rec, "status");
	a->severity = str_field(rec, "severity");
	a->title = str_field(rec, "title");
	a->description = str_field(rec, "description");
	a->service = str_field(rec, "service");
	a->host = str_field(rec, "host");
	a->link = str_field(rec, "link");
	v = jv_object_get(jv_copy(rec), jv_string("test"));
	a->test = jv_get_kind(v) == JV_KIND_TRUE;
	jv_free(v);
	v = jv_object_get(jv_copy(rec), jv_string("inbox_id"));
	if (jv_get_kind(v) == JV_KIND_NUMBER)
		a->inbox_id = (long long)jv_number_value(v);
	jv_free(v);
	a->started_ms = time_field(rec, "started_at");
	a->t_ms = time_field(rec, "received_at");
	if (!a->t_ms)
		a->t_ms = a->started_ms;
	if (!a->started_ms)
		a->started_ms = a->t_ms;
	if (!a->source || !a->dedup_key) {
		snprintf(err, errlen, "alert record without %s", a->source ? "dedup_key" : "source");
		return -EINVAL;
	}
	if (!a->status || (strcmp(a->status, "firing") != 0 && strcmp(a->status, "resolved") != 0)) {
		snprintf(err, errlen, "alert status must be firing or resolved");
		return -EINVAL;
	}
	if (!a->t_ms) {
		snprintf(err, errlen, "alert record has neither received_at nor started_at as a time");
		return -EINVAL;
	}
	if (!aur_incident_severity_valid(a->severity))
		a->severity = "medium";
	if (!a->title)
		a->title = a->dedup_key;
	/* whose alert it is: a numbered host names a fleet when nothing names a service */
	aur_subject_of(rec, &a->subj);
	resolve_in_catalog(c->cfg.catalog, a->source, &a->subj);
	snprintf(a->service_key, sizeof(a->service_key), "%s", a->subj.s.key);
	a->info = !strcmp(a->severity, "info");
	a->heartbeat = aur_subject_is_heartbeat(rec);
	aur_textvec_host_name(a->host, a->host_name, sizeof(a->host_name));
	snprintf(a->text, sizeof(a->text), "%s%s%s", a->title, a->description ? " " : "",
		 a->description ? a->description : "");
	return 0;
}

/* Vector blobs: a 4-byte count of the texts averaged, a kind byte, the vector. */
static void semvec_blob(const struct semvec *v, uint32_t count, struct aur_buf *out)
{
	unsigned char head[5];

	aur_be32_store(head, count);
	head[4] = v->dense ? 'D' : 'S';
	aur_buf_reset(out);
	aur_buf_add(out, head, sizeof(head));
	if (v->dense) {
		unsigned char dims[4];

		aur_be32_store(dims, (uint32_t)v->dims);
		aur_buf_add(out, dims, 4);
		aur_buf_add(out, v->v, v->dims * sizeof(float));
	} else {
		size_t n = aur_textvec_blob_size(&v->sparse);
		unsigned char *tmp = aur_xmalloc(n);

		aur_textvec_to_blob(&v->sparse, tmp);
		aur_buf_add(out, tmp, n);
		free(tmp);
	}
}

/* The count of texts in blob, with v filled (empty when the blob is none or foreign). */
static uint32_t semvec_unblob(const void *blob, size_t len, struct semvec *v)
{
	const unsigned char *p = blob;

	v->dense = 0;
	v->sparse.n = 0;
	v->dims = 0;
	if (!blob || len < 5)
		return 0;
	if (p[4] == 'D' && v->v && len >= 9) {
		uint32_t dims = aur_be32_load(p + 5);

		if (dims == 0 || dims > AUR_EMBEDDINGS_MAX_DIMS || len != 9 + (size_t)dims * sizeof(float))
			return 0;
		memcpy(v->v, p + 9, (size_t)dims * sizeof(float));
		v->dims = dims;
		v->dense = 1;
		return aur_be32_load(p);
	}
	if (p[4] != 'S' || aur_textvec_from_blob(p + 5, len - 5, &v->sparse) < 0)
		return 0;
	return aur_be32_load(p);
}

static double semvec_cosine(const struct semvec *a, const struct semvec *b)
{
	if (a->dense != b->dense)
		return 0;
	if (a->dense)
		return a->dims == b->dims ? aur_embeddings_cosine(a->v, b->v, a->dims) : 0;
	return aur_textvec_cosine(&a->sparse, &b->sparse);
}

/* acc = the centroid of its count texts and v. */
static void semvec_add(struct semvec *acc, uint32_t count, const struct semvec *v)
{
	double norm = 0;

	if (!v->dense) {
		if (acc->dense) {
			acc->dense = 0;
			count = 0;
		}
		aur_textvec_add(&acc->sparse, count, &v->sparse);
		return;
	}
	if (!acc->v)
		return;
	if (!acc->dense || acc->dims != v->dims) {
		acc->dense = 1;
		acc->dims = v->dims;
		count = 0;
	}
	for (size_t i = 0; i < v->dims; i++) {
		acc->v[i] = acc->v[i] * (float)count + v->v[i];
		norm += (double)acc->v[i] * acc->v[i];
	}
	norm = sqrt(norm);
	for (size_t i = 0; i < v->dims && norm > 0; i++)
		acc->v[i] = (float)(acc->v[i] / norm);
}

/* The vector of an alert's text: the endpoint's embedding when configured and reachable. */
static void semvec_of(struct aur_correlator *c, const struct alert_in *a, struct semvec *out)
{
	char err[200];

	out->dense = 0;
	if (c->embed.url && out->v) {
		if (aur_embeddings_fetch(&c->embed, a->text, out->v, &out->dims, err, sizeof(err)) == 0) {
			out->dense = 1;
			return;
		}
		c->embed_failures++;
		snprintf(c->warning, sizeof(c->warning), "%s; using the built-in vectorizer", err);
	}
	aur_textvec_vector(c->stats, a->text, &out->sparse);
}

int aur_correlator_begin(struct aur_correlator *c, char *err, size_t errlen)
{
	return aur_db_begin(c->db, c->cfg.busy_ms, err, errlen);
}

int aur_correlator_commit(struct aur_correlator *c, char *err, size_t errlen)
{
	int rc = aur_db_commit(c->db, c->cfg.busy_ms, err, errlen);

	if (rc < 0)
		aur_correlator_rollback(c);
	return rc;
}

void aur_correlator_rollback(struct aur_correlator *c)
{
	char err[256];

	aur_db_rollback(c->db);
	jv_free(c->extra);
	c->extra = jv_array();
	/* the statistics learned from rolled-back records go with them */
	memset(c->stats, 0, sizeof(*c->stats));
	c->unsaved = 0;
	load_stats(c, err, sizeof(err));
}

int aur_correlator_take_warning(struct aur_correlator *c, char *out, size_t outlen)
{
	if (!c->warning[0])
		return 0;
	snprintf(out, outlen, "%s", c->warning);
	c->warning[0] = '\0';
	return 1;
}

static struct candidate *find_candidate(struct candidate *cand, size_t *n, long long id)
{
	for (size_t i = 0; i < *n; i++)
		if (cand[i].id == id)
			return &cand[i];
	if (*n >= MAX_CANDIDATES)
		return NULL;
	memset(&cand[*n], 0, sizeof(cand[*n]));
	cand[*n].id = id;
	return &cand[(*n)++];
}

static void offer(struct candidate *cand, size_t *n, long long id, int k, double score, const char *reason)
{
	struct candidate *c = find_candidate(cand, n, id);

	if (!c || score <= c->s[k])
		return;
	c->s[k] = score;
	snprintf(c->why[k], sizeof(c->why[k]), "%.*s", (int)sizeof(c->why[k]) - 1, reason);
}

/*
 * A candidate's score and explanation: the strongest kind of evidence that
 * reaches the threshold (a service match stays a service match even when the
 * texts are as alike), else the best score it has.
 */
static void settle(struct candidate *c, double threshold)
{
	int pick = -1;

	c->score = 0;
	c->strategy = NULL;
	c->reason = "";
	if (c->dropped)
		return;
	for (int k = 0; k < K_COUNT && pick < 0; k++)
		if (c->s[k] > 0 && c->s[k] >= threshold)
			pick = k;
	for (int k = 0; k < K_COUNT && pick < 0; k++)
		if (c->s[k] > 0 && (pick < 0 || c->s[k] > c->s[pick]))
			pick = k;
	if (pick < 0)
		return;
	c->score = c->s[pick];
	c->strategy = strategy_names[pick];
	c->reason = c->why[pick];
}

/* Incident ids from a candidate query: bound to text, or to since when text is NULL. */
static int query_ids(sqlite3_stmt *st, const char *text, long long since, long long *ids, size_t max, size_t *n)
{
	int rc;

	*n = 0;
	if (text)
		sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(st, 1, since);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (*n < max)
			ids[(*n)++] = sqlite3_column_int64(st, 0);
	reset(st);
	return rc == SQLITE_DONE ? 0 : aur_db_errno(rc);
}

/*
 * A term most alerts share ("errors", "high") finds nothing worth finding
 * and would make every alert a candidate of every incident: such terms are
 * left to the similarity of the candidates found otherwise.
 */
static int common_term(const struct aur_correlator *c, const char *term)
{
	uint32_t df = aur_textvec_term_df(c->stats, term);

	return c->stats->docs >= 50 && df * 10 > c->stats->docs;
}

/*
 * A term that reads as the name of a service, host or DNS name ("orders-db",
 * "web-3", "gateway.acquirer.example"), not the alert's own service or host,
 * and not an ordinary hyphenated word ("30-day", "non-ready"). Words and
 * metric or alarm names with underscores ("10min_cpu_usage") are not names.
 */
static int names_a_service(const char *term, const struct alert_in *a)
{
	if (!aur_textvec_names_something(term))
		return 0;
	return strcmp(term, a->service_key) != 0 && strcmp(term, a->host_name) != 0;
}

/*
 * Whether an open incident has a service (or host) key. Two alerts that name
 * different services and say alike things ("search requests slow", "cart
 * requests slow") are two problems with the same symptom, not one: their
 * similarity is not allowed to join them, unless configured otherwise.
 */
static int has_service_key(struct aur_correlator *c, long long id)
{
	sqlite3_stmt *st = c->st[S_INC_HAS_KEY];
	int found;

	sqlite3_bind_int64(st, 1, id);
	found = sqlite3_step(st) == SQLITE_ROW;
	reset(st);
	return found;
}

/* The dependency term an incident is indexed under for each service its alerts depend on. */
static void dep_term(const char *key, char *out, size_t outlen)
{
	snprintf(out, outlen, "dep:%s", key);
}

/*
 * Dependencies learned from earlier alerts' labels: this service depends
 * on one whose incident is open, or an open incident's service depends on
 * this one ("inventory depends on users-db (learned from label db)"), when
 * no alert of this outage says so.
 */
static int gather_learned(struct aur_correlator *c, const struct alert_in *a, int k, struct candidate *cand,
			  size_t *ncand)
{
	sqlite3_stmt *st = c->st[k == 0 ? S_DEP_OF : S_DEP_ON];
	char other[8][128];
	char from[8][48];
	long long ids[TERM_CANDIDATES];
	char reason[400];
	size_t m = 0;
	size_t n;
	int rc;

	sqlite3_bind_text(st, 1, a->service_key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, a->t_ms);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && m < 8) {
		snprintf(other[m], sizeof(other[m]), "%s", (const char *)sqlite3_column_text(st, 0));
		snprintf(from[m], sizeof(from[m]), "%s", (const char *)sqlite3_column_text(st, 1));
		m++;
	}
	reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return aur_db_errno(rc);
	for (size_t j = 0; j < m; j++) {
		rc = query_ids(c->st[S_CAND_SERVICE], other[j], 0, ids, TERM_CANDIDATES, &n);
		if (rc < 0)
			return rc;
		if (k == 0)
			snprintf(reason, sizeof(reason), "%.127s depends on %.127s (learned from %.47s)", a->service_key, other[j],
				 from[j]);
		else
			snprintf(reason, sizeof(reason), "%.127s depends on %.127s (learned from %.47s)", other[j], a->service_key,
				 from[j]);
		for (size_t i = 0; i < n; i++)
			offer(cand, ncand, ids[i], K_DEPENDENCY, c->cfg.w_dependency, reason);
	}
	return 0;
}

/*
 * Dependencies, in either order of arrival: the alert depends on the
 * incident's service, the incident's alerts depend on the alert's service,
 * or both depend on the same one.
 */
static int gather_dependencies(struct aur_correlator *c, const struct alert_in *a, struct candidate *cand,
			       size_t *ncand)
{
	long long ids[TERM_CANDIDATES];
	char term[AUR_SUBJECT_NAME_MAX + 8];
	char reason[400];
	size_t n;
	int rc;

	for (size_t d = 0; d < a->subj.ndeps; d++) {
		const struct aur_subject_ref *dep = &a->subj.dep[d];

		rc = query_ids(c->st[S_CAND_SERVICE], dep->key, 0, ids, TERM_CANDIDATES, &n);
		if (rc < 0)
			return rc;
		snprintf(reason, sizeof(reason), "depends on %s (%s '%s')", dep->key, dep->from, dep->name);
		for (size_t i = 0; i < n; i++)
			offer(cand, ncand, ids[i], K_DEPENDENCY, c->cfg.w_dependency, reason);
		dep_term(dep->key, term, sizeof(term));
		rc = query_ids(c->st[S_CAND_TERM], term, 0, ids, TERM_CANDIDATES, &n);
		if (rc < 0)
			return rc;
		snprintf(reason, sizeof(reason), "both depend on %s (%s '%s')", dep->key, dep->from, dep->name);
		for (size_t i = 0; i < n; i++)
			offer(cand, ncand, ids[i], K_DEPENDENCY, c->cfg.w_dependency, reason);
	}
	if (!a->service_key[0])
		return 0;
	dep_term(a->service_key, term, sizeof(term));
	rc = query_ids(c->st[S_CAND_TERM], term, 0, ids, TERM_CANDIDATES, &n);
	if (rc < 0)
		return rc;
	snprintf(reason, sizeof(reason), "the incident's alerts depend on %s", a->service_key);
	for (size_t i = 0; i < n; i++)
		offer(cand, ncand, ids[i], K_DEPENDENCY, c->cfg.w_dependency, reason);
	/* what this outage's alerts say first; what earlier ones taught after */
	rc = gather_learned(c, a, 0, cand, ncand);
	if (rc == 0)
		rc = gather_learned(c, a, 1, cand, ncand);
	return rc;
}

/* Incidents whose service is term, or the service key a name in the text denotes ("returns-api"). */
static int gather_mention(struct aur_correlator *c, const struct alert_in *a, const char *term,
			  struct candidate *cand, size_t *ncand)
{
	long long ids[TERM_CANDIDATES];
	char key[128];
	char reason[400];
	size_t n;
	int rc;

	if (strcmp(term, a->service_key) != 0) {
		rc = query_ids(c->st[S_CAND_SERVICE], term, 0, ids, TERM_CANDIDATES, &n);
		if (rc < 0)
			return rc;
		snprintf(reason, sizeof(reason), "the alert names the incident's service '%s'", term);
		for (size_t i = 0; i < n; i++)
			offer(cand, ncand, ids[i], K_MENTION, c->cfg.w_mention, reason);
	}
	if (!strchr(term, '-') || !aur_textvec_names_something(term))
		return 0;
	aur_textvec_pod_key(term, key, sizeof(key));
	if (!key[0] || !strcmp(key, term) || !strcmp(key, a->service_key))
		return 0;
	rc = query_ids(c->st[S_CAND_SERVICE], key, 0, ids, TERM_CANDIDATES, &n);
	if (rc < 0)
		return rc;
	snprintf(reason, sizeof(reason), "the alert names the incident's service %s (as '%s')", key, term);
	for (size_t i = 0; i < n; i++)
		offer(cand, ncand, ids[i], K_MENTION, c->cfg.w_mention, reason);
	return 0;
}

/*
 * The terms an incident must have for this term to be shared: itself; a
 * host's covering wildcard ("~shop.example.com") only the wildcard
 * ("*.shop.example.com"), which also finds the hosts it covers.
 */
static size_t shared_terms(const char *term, char out[2][AUR_TEXTVEC_TERM_MAX + 2])
{
	if (term[0] == '~') {
		snprintf(out[0], sizeof(out[0]), "*.%s", term + 1);
		return 1;
	}
	snprintf(out[0], sizeof(out[0]), "%s", term);
	if (term[0] != '*' || term[1] != '.')
		return 1;
	snprintf(out[1], sizeof(out[1]), "~%s", term + 2);
	return 2;
}

/* Incidents sharing a term are the ones worth a similarity; sharing a name, a mention. */
static int gather_term(struct aur_correlator *c, const struct alert_in *a, const char *term,
		       struct candidate *cand, size_t *ncand)
{
	char q[2][AUR_TEXTVEC_TERM_MAX + 2];
	long long ids[TERM_CANDIDATES];
	char reason[240];
	size_t nq = shared_terms(term, q);
	size_t n;
	int rc;

	for (size_t k = 0; k < nq; k++) {
		rc = query_ids(c->st[S_CAND_TERM], q[k], 0, ids, TERM_CANDIDATES, &n);
		if (rc < 0)
			return rc;
		/*
		 * Both name the same third party ("payments errors talking to
		 * orders-db", "inventory errors talking to orders-db"): a
		 * dependency they share, before it has alerted itself.
		 */
		if (names_a_service(term, a)) {
			if (term[0] == '~')
				snprintf(reason, sizeof(reason), "the incident's '%s' covers a host the alert names",
					 q[k]);
			else if (strcmp(q[k], term) != 0)
				snprintf(reason, sizeof(reason), "'%s' covers a host the incident names", term);
			else
				snprintf(reason, sizeof(reason), "both name '%s'", term);
			for (size_t i = 0; i < n; i++)
				offer(cand, ncand, ids[i], K_MENTION, c->cfg.w_mention, reason);
		}
		for (size_t i = 0; i < n; i++)
			find_candidate(cand, ncand, ids[i]);
	}
	return 0;
}

static int gather(struct aur_correlator *c, const struct alert_in *a, const struct semvec *vec,
		  struct candidate *cand, size_t *ncand)
{
	const struct aur_correlate_config *cfg = &c->cfg;
	long long since = a->t_ms - cfg->window_ms;
	struct aur_textvec_terms terms;
	long long ids[TERM_CANDIDATES];
	char reason[400];
	size_t n;
	int rc;

	*ncand = 0;
	if (a->service_key[0]) {
		rc = query_ids(c->st[S_CAND_SERVICE], a->service_key, 0, ids, TERM_CANDIDATES, &n);
		if (rc < 0)
			return rc;
		snprintf(reason, sizeof(reason), "same service key %s (from '%s', %s)", a->service_key,
			 a->subj.s.name, a->subj.s.from);
		for (size_t i = 0; i < n; i++)
			offer(cand, ncand, ids[i], K_SERVICE, cfg->w_service, reason);
		/* the incident's alerts name this alert's service */
		rc = query_ids(c->st[S_CAND_TERM], a->service_key, 0, ids, TERM_CANDIDATES, &n);
		if (rc < 0)
			return rc;
		snprintf(reason, sizeof(reason), "the incident's alerts name '%s'", a->service_key);
		for (size_t i = 0; i < n; i++)
			offer(cand, ncand, ids[i], K_MENTION, cfg->w_mention, reason);
	}
	rc = gather_dependencies(c, a, cand, ncand);
	if (rc < 0)
		return rc;
	aur_textvec_terms(a->text, &terms, 0);
	for (size_t t = 0; t < terms.n; t++) {
		/* this alert names the incident's service */
		if (terms.term[t][0] != '*' && terms.term[t][0] != '~') {
			rc = gather_mention(c, a, terms.term[t], cand, ncand);
			if (rc < 0)
				return rc;
		}
		if (common_term(c, terms.term[t]))
			continue;
		rc = gather_term(c, a, terms.term[t], cand, ncand);
		if (rc < 0)
			return rc;
	}
	rc = query_ids(c->st[S_CAND_RECENT], NULL, a->t_ms - cfg->time_window_ms, ids, TERM_CANDIDATES, &n);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		offer(cand, ncand, ids[i], K_TIME, cfg->w_time, "active within the time window");
	/* keep open candidates active within the window; add their similarity */
	for (size_t i = 0; i < *ncand; i++) {
		sqlite3_stmt *st = c->st[S_INC_GET];
		struct semvec iv = { 0, { 0, { { 0, 0 } } }, 0, c->scratch };
		const char *status;
		double sim;

		sqlite3_bind_int64(st, 1, cand[i].id);
		rc = sqlite3_step(st);
		status = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : "";
		if (rc != SQLITE_ROW || sqlite3_column_int64(st, 1) < since ||
		    (strcmp(status, "investigating") != 0 && strcmp(status, "analyzed") != 0)) {
			cand[i].dropped = 1;
			reset(st);
			continue;
		}
		/* an old incident kept alive by a chatty alert takes no new outage on time or text */
		cand[i].stale = cfg->stale_ms > 0 && sqlite3_column_int64(st, 5) < a->t_ms - cfg->stale_ms;
		semvec_unblob(sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2), &iv);
		reset(st);
		if (cand[i].stale) {
			cand[i].s[K_TIME] = 0;
			continue;
		}
		if (!cfg->semantic_across_services && !cand[i].s[K_SERVICE] && !cand[i].s[K_MENTION] &&
		    !cand[i].s[K_DEPENDENCY] && a->service_key[0] && has_service_key(c, cand[i].id))
			continue;
		sim = semvec_cosine(vec, &iv);
		if (1.0 - sim < cfg->max_distance) {
			snprintf(reason, sizeof(reason), "similar text (cosine %.2f)", sim);
			offer(cand, ncand, cand[i].id, K_SEMANTIC, sim, reason);
		}
	}
	for (size_t i = 0; i < *ncand; i++)
		settle(&cand[i], cfg->threshold);
	return 0;
}

static int rca_enabled(struct aur_correlator *c, const char *source)
{
	sqlite3_stmt *st = c->st[S_RCA_GET];
	int on = 1;

	sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		on = sqlite3_column_int(st, 0);
	reset(st);
	return on;
}

static int is_build_source(const char *source)
{
	return !strcmp(source, "jenkins") || !strcmp(source, "cloudbees");
}

/* Attach alert_id to incident id: join record, indexes, vector, severity, activity. */
static int join_incident(struct aur_correlator *c, const struct alert_in *a, const struct semvec *vec,
			 long long alert_id, long long id, const struct verdict *v, const char *when)
{
	sqlite3_stmt *st = c->st[S_INC_GET];
	struct semvec iv = { 0, { 0, { { 0, 0 } } }, 0, c->scratch };
	struct aur_textvec_terms terms;
	struct aur_buf blob;
	const char *sev = a->severity;
	uint32_t count = 0;
	int rc;

	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		reset(st);
		return rc == SQLITE_DONE ? -ENOENT : aur_db_errno(rc);
	}
	count = semvec_unblob(sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2), &iv);
	if (aur_incident_severity_rank((const char *)sqlite3_column_text(st, 3)) > aur_incident_severity_rank(sev))
		sev = NULL;
	{
		char keep[16];

		snprintf(keep, sizeof(keep), "%s", (const char *)sqlite3_column_text(st, 3));
		reset(st);
		semvec_add(&iv, count, vec);
		aur_buf_init(&blob, 0);
		semvec_blob(&iv, count + 1, &blob);
		st = c->st[S_INC_TOUCH];
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, a->t_ms);
		sqlite3_bind_text(st, 3, when, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, sev ? sev : keep, -1, SQLITE_TRANSIENT);
		sqlite3_bind_blob(st, 5, blob.data, (int)blob.len, SQLITE_STATIC);
		sqlite3_bind_int(st, 6, !a->info && !a->heartbeat);
		rc = aur_db_errno(sqlite3_step(st));
		reset(st);
		aur_buf_release(&blob);
	}
	if (rc < 0)
		return rc;
	st = c->st[S_IA_INSERT];
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, alert_id);
	sqlite3_bind_text(st, 3, v->strategy, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 4, v->score);
	if (v->matched > 0)
		sqlite3_bind_int64(st, 5, v->matched);
	sqlite3_bind_text(st, 6, v->reason, -1, SQLITE_STATIC);
	if (a->inbox_id > 0)
		sqlite3_bind_int64(st, 7, a->inbox_id);
	sqlite3_bind_text(st, 8, when, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 9, !strcmp(v->action, "created"));
	sqlite3_bind_text(st, 10, a->status, -1, SQLITE_STATIC);
	rc = aur_db_errno(sqlite3_step(st));
	reset(st);
	if (rc < 0)
		return rc;
	/* noise joins, but is no evidence for what joins next */
	if (a->info || a->heartbeat)
		return 0;
	aur_textvec_terms(a->text, &terms, 0);
	rc = aur_incident_index(c->db, id, a->service_key, &terms);
	/* the host by its own name too: "errors talking to db-3" names it */
	if (rc == 0 && a->host_name[0] && strcmp(a->host_name, a->service_key) != 0)
		rc = aur_incident_index(c->db, id, a->host_name, NULL);
	/* what its alerts depend on, for the dependency's own alerts to find it, now and next time */
	for (size_t d = 0; d < a->subj.ndeps && rc == 0 && a->service_key[0]; d++) {
		st = c->st[S_DEP_LEARN];
		sqlite3_bind_text(st, 1, a->service_key, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, a->subj.dep[d].key, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, a->subj.dep[d].from, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, a->t_ms);
		rc = aur_db_errno(sqlite3_step(st));
		reset(st);
	}
	terms.n = 0;
	for (size_t d = 0; d < a->subj.ndeps && terms.n < AUR_TEXTVEC_MAX_TERMS; d++)
		dep_term(a->subj.dep[d].key, terms.term[terms.n++], sizeof(terms.term[0]));
	if (rc == 0 && terms.n)
		rc = aur_incident_index(c->db, id, NULL, &terms);
	return rc;
}

static int upsert_alert(struct aur_correlator *c, const struct alert_in *a, const char *record_text,
			long long existing, long long incident_id, const char *when,
			long long *alert_id)
{
	sqlite3_stmt *st;
	int rc;

	if (existing) {
		st = c->st[S_ALERT_UPDATE];
		sqlite3_bind_int64(st, 1, existing);
		sqlite3_bind_text(st, 2, a->status, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, a->severity, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, a->title, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, record_text, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, when, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 7, a->t_ms);
		if (a->inbox_id > 0)
			sqlite3_bind_int64(st, 8, a->inbox_id);
		if (incident_id > 0)
			sqlite3_bind_int64(st, 9, incident_id);
		rc = aur_db_errno(sqlite3_step(st));
		reset(st);
		*alert_id = existing;
		if (rc < 0 || incident_id <= 0)
			return rc;
		st = c->st[S_IA_SEEN];
		sqlite3_bind_int64(st, 1, incident_id);
		sqlite3_bind_int64(st, 2, existing);
		sqlite3_bind_text(st, 3, when, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, a->status, -1, SQLITE_STATIC);
		rc = aur_db_errno(sqlite3_step(st));
		reset(st);
		return rc;
	}
	st = c->st[S_ALERT_INSERT];
	{
		sqlite3_bind_text(st, 1, a->source, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, a->dedup_key, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, a->fingerprint ? a->fingerprint : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, a->status, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, a->severity, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, a->title, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 7, a->service ? a->service : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 8, a->service_key, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 9, a->host ? a->host : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 10, record_text, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 11, when, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 12, a->t_ms);
		if (a->inbox_id > 0)
			sqlite3_bind_int64(st, 13, a->inbox_id);
		if (incident_id > 0)
			sqlite3_bind_int64(st, 14, incident_id);
		rc = aur_db_errno(sqlite3_step(st));
		reset(st);
	}
	*alert_id = sqlite3_last_insert_rowid(c->db);
	return rc;
}

/* How many alerts incident id has, and how many of them fire. */
static int alert_counts(struct aur_correlator *c, long long id, long long *total, long long *firing)
{
	sqlite3_stmt *st = c->st[S_FIRING_COUNT];
	int rc;

	*total = *firing = 0;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*total = sqlite3_column_int64(st, 0);
		*firing = sqlite3_column_int64(st, 1);
	}
	reset(st);
	return rc == SQLITE_ROW ? 0 : aur_db_errno(rc);
}

/* Start (at_ms) or end (0) an incident's quiet period. */
static int set_pending(struct aur_correlator *c, long long id, long long at_ms, const char *when)
{
	sqlite3_stmt *st = c->st[S_PENDING_SET];
	int rc;

	sqlite3_bind_int64(st, 1, id);
	if (at_ms > 0)
		sqlite3_bind_int64(st, 2, at_ms);
	sqlite3_bind_text(st, 3, when, -1, SQLITE_STATIC);
	rc = aur_db_errno(sqlite3_step(st));
	reset(st);
	return rc;
}

/*
 * When none of the incident's alerts fires any more: it waits the quiet
 * period (an alert firing again within it is flapping, not a new
 * incident), or resolves at once without one.
 */
static int maybe_auto_resolve(struct aur_correlator *c, long long id, long long at_ms, const char *when,
			      char *err, size_t errlen)
{
	long long total = 0;
	long long firing = 0;
	char reason[96];
	int rc = alert_counts(c, id, &total, &firing);

	if (rc < 0 || firing > 0 || total == 0)
		return rc;
	if (c->cfg.quiet_ms > 0)
		return set_pending(c, id, at_ms, when);
	snprintf(reason, sizeof(reason), "all %lld alert%s resolved", total, total == 1 ? "" : "s");
	return aur_incident_set_status(c->db, id, "resolved", reason, at_ms, err, errlen);
}

/* "3m", "45s", "1h05m" */
static void span_text(long long ms, char *out, size_t outlen)
{
	long long s = ms / 1000;

	if (s < 60)
		snprintf(out, outlen, "%llds", s);
	else if (s < 3600)
		snprintf(out, outlen, "%lldm", s / 60);
	else
		snprintf(out, outlen, "%lldh%02lldm", s / 3600, s / 60 % 60);
}

/* Resolve the incidents whose quiet period has passed by now_ms, as of when their last alert resolved. */
static int resolve_quiet(struct aur_correlator *c, long long now_ms, char *err, size_t errlen)
{
	sqlite3_stmt *st = c->st[S_PENDING_DUE];
	long long ids[64];
	long long at[64];
	int open[64];
	size_t n = 0;
	int rc;

	if (c->cfg.quiet_ms <= 0)
		return 0;
	sqlite3_bind_int64(st, 1, now_ms - c->cfg.quiet_ms);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < 64) {
		const char *status = (const char *)sqlite3_column_text(st, 2);

		ids[n] = sqlite3_column_int64(st, 0);
		at[n] = sqlite3_column_int64(st, 1);
		open[n++] = status && (!strcmp(status, "investigating") || !strcmp(status, "analyzed"));
	}
	reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return aur_db_errno(rc);
	for (size_t i = 0; i < n; i++) {
		long long total = 0;
		long long firing = 0;
		char reason[128];
		char quiet[24];

		/* closed meanwhile (merged, or by hand): nothing left to wait for */
		if (!open[i]) {
			char when[32];

			aur_time_format_ms(now_ms, when, sizeof(when));
			rc = set_pending(c, ids[i], 0, when);
			if (rc < 0)
				return rc;
			continue;
		}
		rc = alert_counts(c, ids[i], &total, &firing);
		if (rc < 0)
			return rc;
		span_text(c->cfg.quiet_ms, quiet, sizeof(quiet));
		snprintf(reason, sizeof(reason), "all %lld alert%s resolved, then %s quiet", total,
			 total == 1 ? "" : "s", quiet);
		rc = aur_incident_set_status(c->db, ids[i], "resolved", reason, at[i], err, errlen);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* When incident id's alerts all resolved (its quiet period began), or 0. */
static long long pending_since(struct aur_correlator *c, long long id)
{
	sqlite3_stmt *st = c->st[S_INC_GET];
	long long at = 0;

	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW)
		at = sqlite3_column_int64(st, 6);
	reset(st);
	return at;
}

/* Follow merged_into from id to the incident that absorbed it; its status into status. */
static long long final_incident(struct aur_correlator *c, long long id, char *status, size_t statuslen)
{
	for (int hops = 0; hops < MERGE_CHAIN_MAX && id > 0; hops++) {
		sqlite3_stmt *st = c->st[S_INC_GET];
		long long next = 0;

		sqlite3_bind_int64(st, 1, id);
		if (sqlite3_step(st) != SQLITE_ROW) {
			reset(st);
			return 0;
		}
		snprintf(status, statuslen, "%s", (const char *)sqlite3_column_text(st, 0));
		next = sqlite3_column_int64(st, 4);
		reset(st);
		if (strcmp(status, "merged") != 0 || next <= 0)
			return id;
		id = next;
	}
	return id;
}

/*
 * The same alert firing again in an incident that is still open: a repeat
 * while it fires (not activity: a chatty alert does not keep an incident
 * alive), a re-fire after it resolved (activity), and within the quiet
 * period of an incident whose alerts had all resolved, flapping.
 */
static int refire(struct aur_correlator *c, const struct alert_in *a, long long id, long long count,
		  int was_firing, struct verdict *v, const char *when)
{
	long long pending = was_firing ? 0 : pending_since(c, id);
	sqlite3_stmt *st;
	int rc = 0;

	v->action = "deduplicated";
	snprintf(v->reason, sizeof(v->reason), "the same alert (%s %s), seen %lld times", a->source, a->dedup_key,
		 count + 1);
	if (pending > 0) {
		char gap[24];

		span_text(a->t_ms - pending, gap, sizeof(gap));
		v->action = "attached";
		v->strategy = "flapping";
		snprintf(v->reason, sizeof(v->reason), "flapping: re-fired %s after all alerts resolved (%s %s)", gap,
			 a->source, a->dedup_key);
		rc = set_pending(c, id, 0, when);
	}
	if (rc < 0 || was_firing || a->info || a->heartbeat)
		return rc;
	st = c->st[S_INC_ACTIVITY];
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, a->t_ms);
	sqlite3_bind_text(st, 3, when, -1, SQLITE_STATIC);
	rc = aur_db_errno(sqlite3_step(st));
	reset(st);
	return rc;
}

static jv decision_of(jv rec, const struct verdict *v, const struct alert_in *a);

/* The decision record of an incident a heartbeat's silence opened. */
static jv silence_decision(const struct aur_heartbeat_silence *h, long long silence_ms, long long now_ms)
{
	struct verdict v;
	char at[40];
	char last[40];
	char span[24];
	char key[sizeof(h->dedup_key) + 16];
	jv rec = jv_object();

	memset(&v, 0, sizeof(v));
	aur_time_format_ms(now_ms, at, sizeof(at));
	aur_time_format_ms(h->last_seen_ms, last, sizeof(last));
	span_text(silence_ms, span, sizeof(span));
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

static int decide(struct aur_correlator *c, const struct alert_in *a, const char *record_text,
		  struct verdict *v, char *err, size_t errlen)
{
	struct semvec vec = { 0, { 0, { { 0, 0 } } }, 0, c->alert_scratch };
	struct candidate cand[MAX_CANDIDATES];
	size_t ncand = 0;
	sqlite3_stmt *st = c->st[S_ALERT_GET];
	long long existing = 0;
	long long prev_incident = 0;
	long long last_inbox = 0;
	long long count = 0;
	int was_firing = 0;
	char prev_status[32] = "";
	char when[32];
	long long alert_id = 0;
	int firing = !strcmp(a->status, "firing");
	int rc;

	aur_time_format_ms(a->t_ms, when, sizeof(when));
	sqlite3_bind_text(st, 1, a->source, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, a->dedup_key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		existing = sqlite3_column_int64(st, 0);
		was_firing = !strcmp((const char *)sqlite3_column_text(st, 1), "firing");
		prev_incident = sqlite3_column_int64(st, 2);
		last_inbox = sqlite3_column_int64(st, 3);
		count = sqlite3_column_int64(st, 4);
	}
	reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return aur_db_errno(rc);
	rc = resolve_quiet(c, a->t_ms, err, errlen);
	if (rc == 0)
		rc = check_silence(c, a->t_ms, err, errlen);
	if (rc < 0)
		return rc;
	if (prev_incident)
		prev_incident = final_incident(c, prev_incident, prev_status, sizeof(prev_status));

	/* a replay of a delivery already counted changes nothing */
	if (existing && a->inbox_id > 0 && last_inbox >= a->inbox_id) {
		v->action = "deduplicated";
		v->incident_id = prev_incident;
		v->strategy = "dedup";
		v->score = 1.0;
		v->matched = prev_incident;
		snprintf(v->reason, sizeof(v->reason), "delivery %lld was already counted", a->inbox_id);
		return 0;
	}

	if (a->heartbeat && firing && c->cfg.heartbeat_silence_ms > 0) {
		rc = aur_heartbeat_seen(c->db, a->source, a->dedup_key, a->title, a->service, a->t_ms,
					&c->silence_ended, err, errlen);
		if (rc < 0)
			return rc;
	}

	if (is_build_source(a->source) && !rca_enabled(c, a->source)) {
		v->action = "logged";
		v->strategy = "none";
		snprintf(v->reason, sizeof(v->reason), "RCA is off for %s: build events are logged only",
			 a->source);
		return upsert_alert(c, a, record_text, existing, 0, when, &alert_id);
	}

	/* the same alert again, in an incident that is still open */
	if (existing && prev_incident && (!strcmp(prev_status, "investigating") || !strcmp(prev_status, "analyzed"))) {
		rc = upsert_alert(c, a, record_text, existing, prev_incident, when, &alert_id);
		if (rc < 0)
			return rc;
		v->incident_id = prev_incident;
		v->matched = prev_incident;
		v->score = 1.0;
		v->strategy = "dedup";
		if (firing)
			return refire(c, a, prev_incident, count, was_firing, v, when);
		v->action = "resolved";
		snprintf(v->reason, sizeof(v->reason), "the alert resolved");
		{
			jv data = jv_object();

			data = jv_object_set(data, jv_string("alert_id"), jv_number((double)alert_id));
			data = jv_object_set(data, jv_string("source"), jv_string(a->source));
			data = jv_object_set(data, jv_string("title"), jv_string(a->title));
			if (aur_incident_event(c->db, prev_incident, "alert.resolved", data, a->t_ms) < 0)
				return -EIO;
		}
		return maybe_auto_resolve(c, prev_incident, a->t_ms, when, err, errlen);
	}

	if (!firing) {
		/* a resolve for an alert with no open incident: record it, nothing to correlate */
		v->action = "resolved";
		v->incident_id = prev_incident;
		v->strategy = "none";
		snprintf(v->reason, sizeof(v->reason), "%s", prev_incident ? "the incident was already closed"
								    : "resolved before it was seen firing");
		return upsert_alert(c, a, record_text, existing, prev_incident, when, &alert_id);
	}

	/* a new alert, or one firing again after its incident closed */
	if (!existing) {
		aur_textvec_learn(c->stats, a->text);
		c->unsaved++;
	}
	semvec_of(c, a, &vec);
	rc = gather(c, a, &vec, cand, &ncand);
	if (rc < 0)
		return rc;
	{
		struct candidate *best = NULL;

		for (size_t i = 0; i < ncand; i++)
			if (cand[i].strategy && (!best || cand[i].score > best->score ||
						 (cand[i].score == best->score && cand[i].id > best->id)))
				best = &cand[i];
		if ((!best || best->score < c->cfg.threshold) && (a->info || a->heartbeat)) {
			/* noise opens nothing: stored, and said why */
			v->action = "logged";
			v->strategy = "none";
			v->score = best ? best->score : 0;
			snprintf(v->reason, sizeof(v->reason), "%s: opens no incident, and no open incident correlates%s",
				 a->heartbeat ? "a heartbeat (the alerting path is alive)" : "info severity",
				 best ? " enough" : "");
			return upsert_alert(c, a, record_text, existing, 0, when, &alert_id);
		}
		if (best && best->score >= c->cfg.threshold) {
			v->action = "attached";
			v->incident_id = best->id;
			v->strategy = best->strategy;
			v->score = best->score;
			v->matched = best->id;
			snprintf(v->reason, sizeof(v->reason), "%s", best->reason);
		} else {
			struct aur_incident_new n = { 0 };
			long long id = 0;

			v->action = "created";
			v->strategy = best ? best->strategy : "none";
			v->score = best ? best->score : 0;
			v->matched = best ? best->id : 0;
			if (best)
				snprintf(v->reason, sizeof(v->reason), "best candidate %lld scored %.2f (%s), under %.2f",
					 best->id, best->score, best->reason, c->cfg.threshold);
			else
				snprintf(v->reason, sizeof(v->reason), "no open incident within the window");
			if (prev_incident)
				snprintf(v->reason + strlen(v->reason), sizeof(v->reason) - strlen(v->reason),
					 "; recurs after incident %lld", prev_incident);
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
			n.previous_incident = prev_incident;
			rc = aur_incident_insert(c->db, &n, a->t_ms, &id, err, errlen);
			if (rc < 0)
				return rc;
			v->incident_id = id;
		}
	}
	rc = upsert_alert(c, a, record_text, existing, v->incident_id, when, &alert_id);
	if (rc == 0)
		rc = join_incident(c, a, &vec, alert_id, v->incident_id, v, when);
	if (rc == 0 && !strcmp(v->action, "attached")) {
		jv data = jv_object();

		data = jv_object_set(data, jv_string("alert_id"), jv_number((double)alert_id));
		data = jv_object_set(data, jv_string("source"), jv_string(a->source));
		data = jv_object_set(data, jv_string("title"), jv_string(a->title));
		data = jv_object_set(data, jv_string("strategy"), jv_string(v->strategy));
		data = jv_object_set(data, jv_string("score"), jv_number(v->score));
		data = jv_object_set(data, jv_string("reason"), jv_string(v->reason));
		if (aur_incident_event(c->db, v->incident_id, "alert.attached", data, a->t_ms) < 0)
			rc = -EIO;
	}
	if (rc == 0 && c->unsaved >= STATS_FLUSH_EVERY)
		rc = save_stats(c);
	return rc;
}

/*
 * The decision: the record, what became of it and why; for an alert also
 * its subject (name as sent, canonical key, where it was read) and
 * service_key, so every join can be explained.
 */
static jv decision_of(jv rec, const struct verdict *v, const struct alert_in *a)
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
	struct verdict v;
	const char *why = str_field(rec, "reason");

	memset(&v, 0, sizeof(v));
	v.action = "failed";
	v.strategy = "none";
	snprintf(v.reason, sizeof(v.reason), "not normalized: %s", why ? why : "no reason given");
	snprintf(reason, reasonlen, "%s", why ? why : "aurora-normalize could not use it (no reason given)");
	return decision_of(rec, &v, NULL);
}

/* The record's decision, from the record alone or through decide(); *kind what it was. */
static int process_record(struct aur_correlator *c, jv rec, const char *record_text, jv *decision,
			  enum aur_dstate_kind *kind, char *reason, size_t reasonlen, char *err, size_t errlen)
{
	struct verdict v;
	struct alert_in a;
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
	rc = read_alert(c, rec, &a, err, errlen);
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
	c->silence_ended = 0;
	if (sqlite3_get_autocommit(c->db)) {
		rc = aur_db_begin(c->db, c->cfg.busy_ms, err, errlen);
		if (rc < 0)
			goto out;
		rc = decide(c, &a, record_text, &v, err, errlen);
		if (rc == 0)
			rc = aur_db_commit(c->db, c->cfg.busy_ms, err, errlen);
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
	if (c->silence_ended > 0) {
		size_t len = strlen(v.reason);

		snprintf(v.reason + len, sizeof(v.reason) - len, "; it ends the silence of incident %lld",
			 c->silence_ended);
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
