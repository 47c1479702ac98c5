#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "catalog.h"
#include "correlate_alert.h"
#include "incident.h"
#include "jvio.h"
#include "textvec.h"
#include "timeutil.h"
#include "banned.h"

/* A string field of obj, borrowed from obj (which must outlive the use), or NULL. */
static const char *str_field(jv obj, const char *key)
{
	const char *s = aur_jvio_str(obj, key);

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

int aur_correlate_alert_read(jv rec, const struct aur_catalog *cat, struct aur_correlate_alert *a, char *err,
			     size_t errlen)
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
	resolve_in_catalog(cat, a->source, &a->subj);
	snprintf(a->service_key, sizeof(a->service_key), "%s", a->subj.s.key);
	a->info = !strcmp(a->severity, "info");
	a->heartbeat = aur_subject_is_heartbeat(rec);
	aur_textvec_host_name(a->host, a->host_name, sizeof(a->host_name));
	snprintf(a->text, sizeof(a->text), "%s%s%s", a->title, a->description ? " " : "",
		 a->description ? a->description : "");
	return 0;
}
