/*
 * investigate_catalog.c - which catalog component an alert is about, for
 * both investigators (investigate.h).
 *
 * Each tool names a component its own way, and the catalog keeps those
 * names apart per tool (catalog.h): a PagerDuty service id is looked up
 * only among PagerDuty identities, a Dynatrace entity id among
 * Dynatrace's. So the names an alert carries are tried with the tool that
 * sent them, the most specific first (an id before a display name), and
 * the first one the catalog knows is the answer.
 */
#include <string.h>

#include "catalog.h"
#include "investigate.h"
#include "jvio.h"
#include "banned.h"

/* Kubernetes labels that name a workload, most specific first. */
static const char *const workload_labels[] = { "app.kubernetes.io/name", "app", "k8s-app", "deployment",
					       "statefulset", "daemonset", NULL };
/* Datadog's tags for the same. */
static const char *const kube_tags[] = { "kube_deployment", "kube_app_name", "kube_stateful_set",
					 "kube_daemon_set", "kube_service", NULL };

static const char *resolve(const struct aur_catalog *c, enum aur_catalog_tool tool, const char *name)
{
	return name && *name ? aur_catalog_resolve(c, tool, name) : NULL;
}

/* Dynatrace's entity ids: the alert's entity, then each impacted entity's. */
static const char *dynatrace_entity(const struct aur_catalog *c, jv record, jv ctx)
{
	const char *comp = resolve(c, AUR_CATALOG_DYNATRACE, aur_jvio_str(record, "entity"));
	jv list = jv_get_kind(ctx) == JV_KIND_OBJECT ? jv_object_get(jv_copy(ctx), jv_string("impacted_entities"))
						     : jv_invalid();

	if (!comp && jv_get_kind(list) == JV_KIND_ARRAY) {
		int n = jv_array_length(jv_copy(list));

		for (int i = 0; i < n && !comp; i++) {
			jv e = jv_array_get(jv_copy(list), i);

			comp = resolve(c, AUR_CATALOG_DYNATRACE, aur_jvio_str(e, "entity"));
			jv_free(e);
		}
	}
	jv_free(list);
	return comp;
}

/* The first of names in obj that the catalog knows for tool. */
static const char *first_known(const struct aur_catalog *c, enum aur_catalog_tool tool, jv obj,
			       const char *const *names)
{
	const char *comp = NULL;

	for (int k = 0; names[k] && !comp; k++)
		comp = resolve(c, tool, aur_jvio_str(obj, names[k]));
	return comp;
}

const char *aur_inv_component_of(const struct aur_catalog *c, jv record)
{
	const char *source = aur_jvio_str(record, "source");
	enum aur_catalog_tool tool = aur_catalog_tool_of_source(source);
	const char *comp = NULL;
	jv ctx, labels, tags;

	if (!c || jv_get_kind(record) != JV_KIND_OBJECT)
		return NULL;
	ctx = jv_object_get(jv_copy(record), jv_string("context"));
	labels = jv_object_get(jv_copy(record), jv_string("labels"));
	tags = jv_object_get(jv_copy(record), jv_string("tags"));
	if (tool == AUR_CATALOG_PAGERDUTY)
		comp = resolve(c, tool, aur_jvio_str(ctx, "service_id"));
	else if (tool == AUR_CATALOG_DYNATRACE)
		comp = dynatrace_entity(c, record, ctx);
	if (!comp)
		comp = resolve(c, tool, aur_jvio_str(record, "service"));
	if (!comp && tool == AUR_CATALOG_DATADOG)
		comp = resolve(c, tool, aur_jvio_str(tags, "service"));
	if (!comp)
		comp = first_known(c, AUR_CATALOG_KUBERNETES, labels, workload_labels);
	if (!comp && tool == AUR_CATALOG_DATADOG)
		comp = first_known(c, AUR_CATALOG_KUBERNETES, tags, kube_tags);
	jv_free(ctx);
	jv_free(labels);
	jv_free(tags);
	return comp;
}
