/*
 * investigate_load.c - the evidence of the built-in investigator, read from
 * the store (investigate_impl.h): the incident, its alerts (their records
 * read into struct alert: service, stems, host, labels, a failed build and
 * its log) and the Jenkins and CloudBees builds within the lookback before
 * the first alert, each with the catalog component it is about. Alerts and
 * builds are ordered by time, then id, so a replay thinks the same thoughts.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "catalog.h"
#include "db.h"
#include "investigate_impl.h"
#include "jvio.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

#define MAX_BUILDS 200

/* The component Dynatrace's root-cause entity is: by its entity id, else its name. */
static const char *dynatrace_root_cause(const struct aur_catalog *cat, jv ctx)
{
	jv rc = jv_get_kind(ctx) == JV_KIND_OBJECT ? jv_object_get(jv_copy(ctx), jv_string("root_cause")) : jv_invalid();
	const char *comp = NULL;
	const char *const keys[] = { "entity_id", "entityId", "entity", "name", "entityName", NULL };

	for (int k = 0; keys[k] && !comp; k++)
		if (aur_jvio_str(rc, keys[k]))
			comp = aur_catalog_resolve(cat, AUR_CATALOG_DYNATRACE, aur_jvio_str(rc, keys[k]));
	jv_free(rc);
	return comp;
}

/* Labels that name what a service depends on. */
static const char *const dep_labels[] = { "upstream", "db", "database", "dependency", "peer_service", "datastore",
					  "backend", "downstream", NULL };

static void load_alert(struct alert *a, sqlite3_stmt *st, const struct aur_catalog *cat)
{
	const char *rec = (const char *)sqlite3_column_text(st, 7);
	jv r = rec ? jv_parse(rec) : jv_invalid();
	jv labels = jv_invalid();
	jv ctx = jv_invalid();

	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(st, 0);
	inv_copy_str(a->source, sizeof(a->source), (const char *)sqlite3_column_text(st, 1));
	inv_copy_str(a->severity, sizeof(a->severity), (const char *)sqlite3_column_text(st, 2));
	inv_copy_str(a->title, sizeof(a->title), (const char *)sqlite3_column_text(st, 3));
	inv_copy_str(a->service, sizeof(a->service), (const char *)sqlite3_column_text(st, 4));
	inv_copy_str(a->host, sizeof(a->host), (const char *)sqlite3_column_text(st, 5));
	a->t = sqlite3_column_int64(st, 6);
	a->minor = !strcmp(a->severity, "info");
	inv_lower_copy(a->text, sizeof(a->text), a->title);
	if (jv_get_kind(r) == JV_KIND_OBJECT) {
		inv_append(a->text, sizeof(a->text), aur_jvio_str(r, "description"));
		inv_copy_str(a->link, sizeof(a->link), aur_jvio_str(r, "link"));
		labels = jv_object_get(jv_copy(r), jv_string("labels"));
		ctx = jv_object_get(jv_copy(r), jv_string("context"));
		{
			long long t;

			if (aur_jvio_str(r, "started_at") && aur_time_parse_ms(aur_jvio_str(r, "started_at"), &t) == 0)
				a->t = t;
		}
		if (!a->service[0] && aur_jvio_str(r, "entity"))
			inv_copy_str(a->service, sizeof(a->service), aur_jvio_str(r, "entity"));
	}
	if (jv_get_kind(labels) == JV_KIND_OBJECT) {
		jv_object_foreach(jv_copy(labels), k, val) {
			if (jv_get_kind(val) == JV_KIND_STRING && strcmp(jv_string_value(k), "alertname") != 0 &&
			    strcmp(jv_string_value(k), "severity") != 0)
				inv_append(a->text, sizeof(a->text), jv_string_value(val));
			jv_free(k);
			jv_free(val);
		}
		inv_copy_str(a->ns, sizeof(a->ns), aur_jvio_str(labels, "namespace"));
		inv_copy_str(a->pod, sizeof(a->pod), aur_jvio_str(labels, "pod"));
		inv_copy_str(a->alarm, sizeof(a->alarm), aur_jvio_str(labels, "alertname"));
		for (int k = 0; dep_labels[k] && !a->dep[0]; k++)
			inv_copy_str(a->dep, sizeof(a->dep), aur_jvio_str(labels, dep_labels[k]));
	}
	if (jv_get_kind(ctx) == JV_KIND_OBJECT && (!strcmp(a->source, "jenkins") || !strcmp(a->source, "cloudbees"))) {
		const char *result = aur_jvio_str(ctx, "result");
		jv n = jv_object_get(jv_copy(ctx), jv_string("build_number"));

		if (result && aur_jvio_str(ctx, "job") && jv_get_kind(n) == JV_KIND_NUMBER &&
		    (!strcasecmp(result, "FAILURE") || !strcasecmp(result, "UNSTABLE"))) {
			snprintf(a->failed_build, sizeof(a->failed_build), "%s #%lld", aur_jvio_str(ctx, "job"),
				 (long long)jv_number_value(n));
			inv_copy_str(a->job, sizeof(a->job), aur_jvio_str(ctx, "job"));
			a->number = (long long)jv_number_value(n);
			inv_copy_str(a->build_url, sizeof(a->build_url),
				     aur_jvio_str(ctx, "build_url") ? aur_jvio_str(ctx, "build_url") : aur_jvio_str(r, "link"));
			inv_log_excerpt(aur_jvio_str(ctx, "log_tail"), a->build_log, sizeof(a->build_log));
			inv_copy_str(a->commit, sizeof(a->commit), aur_jvio_str(ctx, "commit"));
			if (aur_jvio_str(ctx, "console_url"))
				inv_copy_str(a->link, sizeof(a->link), aur_jvio_str(ctx, "console_url"));
		}
		jv_free(n);
	}
	if (jv_get_kind(ctx) == JV_KIND_OBJECT) {
		jv rc = jv_object_get(jv_copy(ctx), jv_string("root_cause"));

		if (!a->alarm[0])
			inv_copy_str(a->alarm, sizeof(a->alarm), aur_jvio_str(ctx, "alarm"));
		if (jv_get_kind(rc) == JV_KIND_OBJECT) {
			const char *name = aur_jvio_str(rc, "name") ? aur_jvio_str(rc, "name") : aur_jvio_str(rc, "entityName");

			if (!name)
				name = aur_jvio_str(rc, "entity");
			inv_copy_str(a->rc_entity, sizeof(a->rc_entity), name);
		} else if (jv_get_kind(rc) == JV_KIND_STRING) {
			inv_copy_str(a->rc_entity, sizeof(a->rc_entity), jv_string_value(rc));
		}
		jv_free(rc);
		/* Splunk's result row: its fields are evidence too */
		rc = jv_object_get(jv_copy(ctx), jv_string("result"));
		if (jv_get_kind(rc) == JV_KIND_OBJECT) {
			jv_object_foreach(jv_copy(rc), k, val) {
				if (jv_get_kind(val) == JV_KIND_STRING)
					inv_append(a->text, sizeof(a->text), jv_string_value(val));
				jv_free(k);
				jv_free(val);
			}
		}
		jv_free(rc);
	}
	if (!a->alarm[0]) {
		/* the title without the host: "cpu on web-1" and "cpu on web-2" alarm alike */
		const char *on = a->host[0] ? strstr(a->title, a->host) : NULL;

		snprintf(a->alarm, sizeof(a->alarm), "%.*s", on ? (int)(on - a->title) : (int)strlen(a->title),
			 a->title);
	}
	inv_stem_of(a->service, a->stem, sizeof(a->stem));
	if (cat) {
		/* aliases of one component are one service: its catalog name */
		a->comp = aur_inv_component_of(cat, r);
		if (a->comp)
			inv_copy_str(a->stem, sizeof(a->stem), a->comp);
		a->rc_comp = dynatrace_root_cause(cat, ctx);
	}
	inv_copy_str(a->host_stem, sizeof(a->host_stem), a->host);
	inv_strip_number(a->host_stem);
	jv_free(labels);
	jv_free(ctx);
	jv_free(r);
}

static void load_build(struct build *b, sqlite3_stmt *st, const struct aur_catalog *cat)
{
	const char *rec = (const char *)sqlite3_column_text(st, 4);
	jv r = rec ? jv_parse(rec) : jv_invalid();
	jv ctx = jv_invalid();

	memset(b, 0, sizeof(*b));
	b->id = sqlite3_column_int64(st, 0);
	inv_copy_str(b->source, sizeof(b->source), (const char *)sqlite3_column_text(st, 1));
	inv_copy_str(b->job, sizeof(b->job), (const char *)sqlite3_column_text(st, 2));
	b->t = sqlite3_column_int64(st, 3);
	if (jv_get_kind(r) == JV_KIND_OBJECT) {
		inv_copy_str(b->link, sizeof(b->link), aur_jvio_str(r, "link"));
		ctx = jv_object_get(jv_copy(r), jv_string("context"));
	}
	if (jv_get_kind(ctx) == JV_KIND_OBJECT) {
		jv n = jv_object_get(jv_copy(ctx), jv_string("build_number"));
		jv cul = jv_object_get(jv_copy(ctx), jv_string("culprits"));

		if (aur_jvio_str(ctx, "job"))
			inv_copy_str(b->job, sizeof(b->job), aur_jvio_str(ctx, "job"));
		if (jv_get_kind(n) == JV_KIND_NUMBER)
			b->number = (long long)jv_number_value(n);
		inv_copy_str(b->result, sizeof(b->result), aur_jvio_str(ctx, "result"));
		inv_copy_str(b->commit, sizeof(b->commit), aur_jvio_str(ctx, "commit"));
		inv_copy_str(b->branch, sizeof(b->branch), aur_jvio_str(ctx, "branch"));
		if (aur_jvio_str(ctx, "console_url"))
			inv_copy_str(b->link, sizeof(b->link), aur_jvio_str(ctx, "console_url"));
		inv_copy_str(b->console_url, sizeof(b->console_url), aur_jvio_str(ctx, "console_url"));
		inv_copy_str(b->build_url, sizeof(b->build_url),
			     aur_jvio_str(ctx, "build_url") ? aur_jvio_str(ctx, "build_url") : aur_jvio_str(r, "link"));
		b->has_log = aur_jvio_str(ctx, "log_tail") && *aur_jvio_str(ctx, "log_tail");
		if (jv_get_kind(cul) == JV_KIND_ARRAY) {
			jv_array_foreach(cul, i, c) {
				if (jv_get_kind(c) == JV_KIND_STRING)
					snprintf(b->culprits + strlen(b->culprits), sizeof(b->culprits) - strlen(b->culprits),
						 "%s%s", i ? ", " : "", jv_string_value(c));
				jv_free(c);
			}
		}
		jv_free(n);
		jv_free(cul);
	}
	{
		char job[NAME_MAX_];

		inv_lower_copy(job, sizeof(job), b->job);
		b->deploy = strstr(job, "deploy") || strstr(job, "release") || strstr(job, "rollout") ||
			    strstr(job, "promote");
	}
	inv_stem_of(b->job, b->stem, sizeof(b->stem));
	inv_copy_str(b->job_stem, sizeof(b->job_stem), b->stem);
	if (cat) {
		/* the job by its name, else by what it builds: checkout-deploy builds checkout */
		b->comp = aur_catalog_resolve(cat, AUR_CATALOG_ANY, b->job);
		if (!b->comp && b->stem[0])
			b->comp = aur_catalog_resolve(cat, AUR_CATALOG_ANY, b->stem);
		if (b->comp)
			inv_copy_str(b->stem, sizeof(b->stem), b->comp);
	}
	jv_free(ctx);
	jv_free(r);
}

static int by_time(const void *x, const void *y)
{
	const struct alert *a = x, *b = y;

	if (a->t != b->t)
		return a->t < b->t ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

int inv_load(struct inv *v, long long id, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	long long first = 0, last = 0;
	int rc;

	rc = aur_db_prepare(v->db, &st,
			    "SELECT title, service, source_link, started_ms, coalesce(previous_incident, 0) FROM incidents"
			    " WHERE id = ?",
			    err, errlen);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		snprintf(err, errlen, "no incident %lld", id);
		sqlite3_finalize(st);
		return -ENOENT;
	}
	inv_copy_str(v->title, sizeof(v->title), (const char *)sqlite3_column_text(st, 0));
	inv_copy_str(v->service, sizeof(v->service), (const char *)sqlite3_column_text(st, 1));
	inv_copy_str(v->link, sizeof(v->link), (const char *)sqlite3_column_text(st, 2));
	v->started_ms = sqlite3_column_int64(st, 3);
	v->previous = sqlite3_column_int64(st, 4);
	sqlite3_finalize(st);
	st = NULL;

	rc = aur_db_prepare(v->db, &st,
			    "SELECT a.id, a.source, a.severity, a.title, a.service, a.host, a.first_seen_ms, a.record"
			    " FROM incident_alerts ia JOIN alerts a ON a.id = ia.alert_id WHERE ia.incident_id = ?"
			    " ORDER BY a.first_seen_ms, a.id LIMIT ?",
			    err, errlen);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, MAX_ALERTS);
	v->alerts = aur_xcalloc(MAX_ALERTS, sizeof(*v->alerts));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		load_alert(&v->alerts[v->nalerts++], st, v->o->catalog);
	sqlite3_finalize(st);
	st = NULL;
	if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "alerts: %s", sqlite3_errmsg(v->db));
		return aur_db_errno(rc);
	}
	/* an alert row outlives its incidents: order by when each fired this time */
	qsort(v->alerts, v->nalerts, sizeof(*v->alerts), by_time);
	first = v->started_ms;
	last = v->started_ms;
	for (size_t i = 0; i < v->nalerts; i++)
		if (v->alerts[i].t > last)
			last = v->alerts[i].t;
	/*
	 * Every build aurora-rca has seen (the builds table), then the builds
	 * the alerts table still holds (one per job: the newest) that it has not.
	 */
	v->builds = aur_xcalloc(MAX_BUILDS, sizeof(*v->builds));
	for (int pass = 0; pass < 2; pass++) {
		rc = aur_db_prepare(v->db, &st,
				    pass == 0 ? "SELECT 0, source, job, at_ms, record FROM builds"
						" WHERE at_ms BETWEEN ?1 AND ?2 ORDER BY at_ms, id LIMIT ?3"
					      : "SELECT id, source, service, last_seen_ms, record FROM alerts"
						" WHERE source IN ('jenkins', 'cloudbees') AND last_seen_ms BETWEEN ?1 AND ?2"
						" ORDER BY last_seen_ms, id LIMIT ?3",
				    err, errlen);
		if (rc < 0)
			return rc;
		sqlite3_bind_int64(st, 1, first - v->o->lookback_ms);
		sqlite3_bind_int64(st, 2, last);
		sqlite3_bind_int(st, 3, MAX_BUILDS);
		while (v->nbuilds < MAX_BUILDS && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			struct build *b = &v->builds[v->nbuilds];
			size_t k;

			load_build(b, st, v->o->catalog);
			for (k = 0; k < v->nbuilds; k++)
				if (!strcmp(v->builds[k].job, b->job) && v->builds[k].number == b->number)
					break;
			if (k == v->nbuilds)
				v->nbuilds++;
		}
		if (rc == SQLITE_ROW)
			rc = SQLITE_DONE;
		sqlite3_finalize(st);
		st = NULL;
		if (rc != SQLITE_DONE) {
			snprintf(err, errlen, "builds: %s", sqlite3_errmsg(v->db));
			return aur_db_errno(rc);
		}
	}
	return 0;
}

/*
 * Consoles. A build that matters to the answer but whose notification
 * carried no log has its console text read from the connector's base URL
 * (aurora-connector base-url, credentials), never from anywhere else, and
 * only when both are configured: without a base URL nothing is said, the
 * operator did not ask for it. What was read is stored on the build's row
 * (builds.console_excerpt: its last lines, redacted), so a second
 * investigation reads it there: no second fetch, the same thoughts.
 */
