#ifndef AURORA_CATALOG_H
#define AURORA_CATALOG_H

#include <stddef.h>

/*
 * The service catalog: what operators already say about their services,
 * read from Backstage catalog-info.yaml files (kind Component, System,
 * Resource, API: metadata.name, metadata.title, spec.dependsOn, and the
 * annotations that tie a component to each tool) or from a small aliases
 * file. It is optional: with no catalog, correlation and investigation
 * work from what the alerts carry, and every lookup here answers "not
 * known".
 *
 * Names given to the lookups are matched as sent and through the same
 * canonical service key correlation uses (aur_textvec_service_key), so
 * "Checkout Service" finds the component an alias names "checkout-service".
 * Every name returned is a component's metadata.name, owned by the catalog.
 */
struct aur_catalog;

/* The tools an identity annotation belongs to. */
enum aur_catalog_tool {
	AUR_CATALOG_ANY,        /* metadata.name, title and aliases */
	AUR_CATALOG_PAGERDUTY,  /* pagerduty.com/service-id, pagerduty.com/integration-key */
	AUR_CATALOG_DATADOG,    /* datadoghq.com/service-name */
	AUR_CATALOG_DYNATRACE,  /* dynatrace.com/dynatrace-entity-id */
	AUR_CATALOG_KUBERNETES, /* backstage.io/kubernetes-id, backstage.io/kubernetes-label-selector app= */
	AUR_CATALOG_GRAFANA,    /* grafana/alert-label-selector */
	AUR_CATALOG_TOOL_COUNT
};

/*
 * Load PATH: a catalog-info YAML file (several documents allowed), an
 * aliases file, or a directory read recursively for both. 0, or a negative
 * errno with a message naming the file and line in err: -ENOENT (no such
 * path), -EINVAL (a file that does not parse), -E2BIG (past the limits).
 */
int aur_catalog_load(struct aur_catalog **out, const char *path, char *err, size_t errlen);
void aur_catalog_free(struct aur_catalog *c);

/* Components known. */
size_t aur_catalog_size(const struct aur_catalog *c);

/*
 * The component NAME denotes for TOOL (AUR_CATALOG_ANY: any name, title or
 * alias), or NULL when the catalog does not know it. c may be NULL.
 */
const char *aur_catalog_resolve(const struct aur_catalog *c, enum aur_catalog_tool tool, const char *name);

/*
 * Whether component A depends on component B directly (spec.dependsOn, or
 * B lists A in spec.dependencyOf). c may be NULL (0).
 */
int aur_catalog_depends(const struct aur_catalog *c, const char *a, const char *b);

/*
 * The direct dependencies of component NAME, up to max of them into out;
 * returns how many NAME has (possibly more than max). c may be NULL (0).
 */
size_t aur_catalog_dependencies(const struct aur_catalog *c, const char *name, const char **out, size_t max);

#endif
