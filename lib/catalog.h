#ifndef AURORA_CATALOG_H
#define AURORA_CATALOG_H

#include <stddef.h>
#include <stdio.h>

#include <jq.h>

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
 * Every name returned is a component's metadata.name (the NAME of an
 * aliases file line, the name of a dependency not described), owned by
 * the catalog and valid until aur_catalog_free.
 *
 * Formats (aurora-correlate(1), CATALOG, is the operators' description):
 *   - a file named *.yaml or *.yml is Backstage catalog-info: documents
 *     separated by "---"; kinds Component, System, Resource and API are
 *     read, every other kind (Group, User, Domain, Location...) is skipped.
 *     Entity references ("component:default/name", "resource:db") count by
 *     their name: kinds and namespaces are stripped.
 *   - any other file is an aliases file, a line at a time:
 *         NAME: alias, alias...          names, titles and aliases
 *         NAME TOOL: identity, ...       TOOL: pagerduty, datadog,
 *                                        dynatrace, kubernetes, grafana
 *         NAME -> dependency, ...        NAME depends on them
 *     "#" at the start of a line or after a blank begins a comment.
 *   - a directory is walked (16 levels at most, entries starting with "."
 *     skipped, names in sorted order) for *.yaml, *.yml and *.aliases.
 * What several files say of one name adds up: an aliases file can add
 * aliases to a component described in YAML. The same kind declared twice
 * under one name (two namespaces, two files) is refused.
 *
 * Lookups, in order, stopping at the first that names one component:
 *   1. for a TOOL, its identities as sent (case-insensitive), then by
 *      service key;
 *   2. names, aliases and titles as sent (case-insensitive), the same with
 *      blanks and "_" as "-" ("Checkout API" finds checkout-api), then by
 *      service key;
 *   3. an entity reference in a Backstage form ("component:default/x"),
 *      by its name.
 * A dependency is matched to a component by name, alias or title (as
 * written, or with blanks as "-"), never through the service key ("web ->
 * web-api" is not web on itself). One named but not described (checkout
 * -> redis, no entry for redis) is a component of the catalog too, found
 * by its name.
 *
 * Ambiguity: an alias claimed by two components, or an alias that is
 * another component's name, refuses the load. Two titles, tool identities
 * or service keys shared by several components are not refused (a team's
 * components often share one PagerDuty service): they resolve to nothing,
 * and the catalog keeps a note saying so (aur_catalog_note). A name beats
 * an alias, an alias beats a title, a described component beats one only
 * named as a dependency.
 *
 * Limits (-E2BIG past them): 4 MiB per file, 64 MiB and 10,000 files in
 * all, 10,000 components, 253 bytes per name, alias, title or identity,
 * 64 aliases and 64 identities per tool per component, 256 names in
 * spec.dependsOn and 256 in spec.dependencyOf per component, YAML nesting
 * 64 deep and 200,000 nodes per document.
 *
 * A loaded catalog is read-only: lookups from several threads are safe.
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

#define AUR_CATALOG_NAME_MAX 253
#define AUR_CATALOG_MAX_COMPONENTS 10000
#define AUR_CATALOG_MAX_FILE ((size_t)4 * 1024 * 1024)

/*
 * The tool whose identities name an alert from platform SOURCE
 * (pagerduty, datadog, dynatrace, grafana), else AUR_CATALOG_ANY; NULL
 * is AUR_CATALOG_ANY.
 */
enum aur_catalog_tool aur_catalog_tool_of_source(const char *source);

/*
 * Load PATH: a catalog-info YAML file (several documents allowed), an
 * aliases file, or a directory read recursively for both. 0, or a negative
 * errno with a message naming the file and line in err: -ENOENT (no such
 * path), -EINVAL (a file that does not parse), -E2BIG (past the limits).
 * Also -EACCES (a file that cannot be opened) and -EIO (a read error).
 * On success *out is the catalog (caller frees with aur_catalog_free);
 * on failure it is NULL.
 */
int aur_catalog_load(struct aur_catalog **out, const char *path, char *err, size_t errlen);

/* The formats of aur_catalog_parse. */
enum aur_catalog_format {
	AUR_CATALOG_BACKSTAGE, /* catalog-info YAML */
	AUR_CATALOG_ALIASES    /* the aliases file */
};

/*
 * Load a catalog from the LEN bytes at DATA in FORMAT, as if read from a
 * file called NAME (for messages). Same results as aur_catalog_load.
 */
int aur_catalog_parse(struct aur_catalog **out, const char *name, const char *data, size_t len,
		      enum aur_catalog_format format, char *err, size_t errlen);

void aur_catalog_free(struct aur_catalog *c);

/* Components known, those only named as a dependency included. */
size_t aur_catalog_size(const struct aur_catalog *c);

/*
 * The name of component I (0 .. size-1: described ones in the order read,
 * then those only named as dependencies), or NULL past the end.
 */
const char *aur_catalog_name(const struct aur_catalog *c, size_t i);

/*
 * Component I as a record (caller frees with jv_free): {"v": 1, "type":
 * "component", "name", "kind" (its first YAML kind, else null), "title",
 * "aliases": [...], "identities": {"pagerduty": [...], ...}, "depends_on":
 * [names, spec.dependencyOf of others included], "described": false for
 * a component only named as a dependency, "source": "file:line" where it
 * was first described (or named)}.
 * jv_invalid() past the end.
 */
jv aur_catalog_component(const struct aur_catalog *c, size_t i);

/*
 * Note I of the load (what is ambiguous and resolves to nothing), or NULL
 * past the last. At most 100 are kept; the last then says how many more.
 */
const char *aur_catalog_note(const struct aur_catalog *c, size_t i);

/* The word for TOOL in the aliases file and in records ("pagerduty"...; "any"). */
const char *aur_catalog_tool_name(enum aur_catalog_tool tool);

/*
 * The component NAME denotes for TOOL (AUR_CATALOG_ANY: any name, title or
 * alias), or NULL when the catalog does not know it. c may be NULL. For a
 * TOOL, its identities are looked up first, then names, titles and
 * aliases (see "Lookups" above). No allocation; a few hash probes.
 */
const char *aur_catalog_resolve(const struct aur_catalog *c, enum aur_catalog_tool tool, const char *name);

/*
 * Whether component A depends on component B directly (spec.dependsOn, or
 * B lists A in spec.dependencyOf). c may be NULL (0). A and B are resolved
 * as by aur_catalog_resolve(c, AUR_CATALOG_ANY, ...).
 */
int aur_catalog_depends(const struct aur_catalog *c, const char *a, const char *b);

/*
 * The direct dependencies of component NAME, up to max of them into out;
 * returns how many NAME has (possibly more than max). c may be NULL (0).
 * NAME is resolved as by aur_catalog_resolve(c, AUR_CATALOG_ANY, ...); the
 * names are sorted by component number (aur_catalog_name's order).
 */
size_t aur_catalog_dependencies(const struct aur_catalog *c, const char *name, const char **out, size_t max);

/*
 * What `aurora-correlate catalog PATH [NAME...]` does: load PATH; with no
 * names, write each component's record (aur_catalog_component) as a line
 * to OUT; with names, write for each a record {"v": 1, "type":
 * "resolution", "tool", "name", "component": the name it resolves to or
 * null}, where a name "TOOL:NAME" (TOOL one of aur_catalog_tool_name's
 * words) is looked up for that tool and any other for AUR_CATALOG_ANY.
 * Then hand each note to NOTE (may be NULL). Returns how many names are
 * not known (0 without names); the load's negative errno with err set;
 * -EIO when writing OUT failed.
 */
int aur_catalog_check(const char *path, char *const *names, size_t nnames, FILE *out,
		      void (*note)(const char *msg), char *err, size_t errlen);

#endif
