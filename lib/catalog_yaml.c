/*
 * catalog_yaml.c - the catalog's Backstage reader (catalog_impl.h,
 * cat_read_backstage): catalog-info YAML through libyaml, each entity
 * (Component, System, Resource, API) declared with its title, aliases,
 * tool identities (annotations and label selectors) and dependencies.
 *
 * YAML is read twice: a pass over libyaml's events bounds the nesting and
 * the number of nodes of each document before libyaml's loader builds it
 * (the loader itself bounds neither: one 4 MiB line of "[" would be four
 * million nodes), then the document API reads the few paths a catalog
 * needs. Anchors and aliases stay references (nothing is expanded), and
 * only fixed paths are followed, so no input makes the walk grow.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "catalog.h"
#include "catalog_impl.h"
#include "xalloc.h"
#include "banned.h"

#define MAX_DEPTH 64
#define MAX_NODES 200000

static int yaml_error(const yaml_parser_t *p, const char *file, const char *data, size_t len, char *err,
		      size_t errlen)
{
	const char *problem = p->problem ? p->problem : "not YAML";

	if (p->error == YAML_MEMORY_ERROR) {
		snprintf(err, errlen, "%s: out of memory reading YAML", file);
	} else if (p->error == YAML_READER_ERROR) {
		snprintf(err, errlen, "%s:%zu: %s", file, cat_line_at(data, len, p->problem_offset), problem);
	} else if (p->context) {
		snprintf(err, errlen, "%s:%zu:%zu: %s %s begun on line %zu", file, p->problem_mark.line + 1,
			 p->problem_mark.column + 1, problem, p->context, p->context_mark.line + 1);
	} else {
		snprintf(err, errlen, "%s:%zu:%zu: %s", file, p->problem_mark.line + 1, p->problem_mark.column + 1,
			 problem);
	}
	return -EINVAL;
}

/* The first pass: parse events only, refusing documents too deep or too big to load. */
static int yaml_bounds(const char *file, const char *data, size_t len, char *err, size_t errlen)
{
	yaml_parser_t p;
	yaml_event_t ev;
	size_t depth = 0;
	size_t nodes = 0;
	int rc = 0;
	int done = 0;

	if (!yaml_parser_initialize(&p)) {
		snprintf(err, errlen, "%s: out of memory reading YAML", file);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
	while (!done && rc == 0) {
		if (!yaml_parser_parse(&p, &ev)) {
			rc = yaml_error(&p, file, data, len, err, errlen);
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			nodes = 0;
			break;
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT:
			if (++depth > MAX_DEPTH) {
				snprintf(err, errlen, "%s:%zu: nested deeper than %d levels", file,
					 ev.start_mark.line + 1, MAX_DEPTH);
				rc = -E2BIG;
			}
			/* fall through - a collection is a node too */
		case YAML_SCALAR_EVENT:
		case YAML_ALIAS_EVENT:
			if (rc == 0 && ++nodes > MAX_NODES) {
				snprintf(err, errlen, "%s:%zu: a document of more than %d nodes", file,
					 ev.start_mark.line + 1, MAX_NODES);
				rc = -E2BIG;
			}
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			depth--;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return rc;
}

struct doc {
	struct aur_catalog *c;
	const char *file;
	yaml_document_t *d;
	char *err;
	size_t errlen;
};

static void where_of(const struct doc *doc, const yaml_node_t *n, char *where)
{
	snprintf(where, CAT_WHERE_MAX, "%s:%zu", doc->file, n->start_mark.line + 1);
}

static int is_scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE;
}

static const char *scalar(const yaml_node_t *n, size_t *len)
{
	*len = n->data.scalar.length;
	return cat_trim((const char *)n->data.scalar.value, len);
}

/* The value of KEY in mapping MAP, or NULL (the first, when a key repeats). */
static yaml_node_t *get(yaml_document_t *d, const yaml_node_t *map, const char *key)
{
	size_t klen = strlen(key);

	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (const yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		const yaml_node_t *k = yaml_document_get_node(d, p->key);

		if (is_scalar(k) && k->data.scalar.length == klen && !memcmp(k->data.scalar.value, key, klen))
			return yaml_document_get_node(d, p->value);
	}
	return NULL;
}

static int not_a(const struct doc *doc, const yaml_node_t *n, const char *path, const char *what)
{
	char where[CAT_WHERE_MAX];

	where_of(doc, n, where);
	snprintf(doc->err, doc->errlen, "%s: %s is not %s", where, path, what);
	return -EINVAL;
}

/* A null, an empty string: the value is missing. */
static int is_null(const yaml_node_t *n)
{
	size_t len;
	const char *s;

	if (!is_scalar(n))
		return 0;
	s = scalar(n, &len);
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return len == 0;
	return len == 0 || (len == 1 && *s == '~') || (len == 4 && !strncasecmp(s, "null", 4));
}

typedef int (*item_fn)(const struct doc *doc, struct cat_node *node, const char *s, size_t len, const char *where,
		       const void *arg);

/* Each string of N (a string, or a list of strings) handed to fn. */
static int each_string(const struct doc *doc, struct cat_node *node, const yaml_node_t *n, const char *path,
		       item_fn fn, const void *arg)
{
	char where[CAT_WHERE_MAX];
	size_t len;
	const char *s;

	if (!n || is_null(n))
		return 0;
	if (is_scalar(n)) {
		where_of(doc, n, where);
		s = scalar(n, &len);
		return fn(doc, node, s, len, where, arg);
	}
	if (n->type != YAML_SEQUENCE_NODE)
		return not_a(doc, n, path, "a string or a list of strings");
	for (const yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++) {
		const yaml_node_t *item = yaml_document_get_node(doc->d, *i);
		int rc;

		if (!is_scalar(item))
			return not_a(doc, item ? item : n, path, "a list of strings");
		where_of(doc, item, where);
		s = scalar(item, &len);
		rc = fn(doc, node, s, len, where, arg);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int add_alias(const struct doc *doc, struct cat_node *node, const char *s, size_t len, const char *where,
		     const void *arg)
{
	(void)arg;
	return cat_add(&node->aliases, s, len, CAT_MAX_ALIASES, "aliases", where, doc->err, doc->errlen);
}

static int add_dependency(const struct doc *doc, struct cat_node *node, const char *s, size_t len,
			  const char *where, const void *arg)
{
	struct cat_strv *v = *(const int *)arg ? &node->dependency_of : &node->depends_on;

	s = cat_ref_name(s, &len);
	return cat_add(v, s, len, CAT_MAX_DEPS, "dependencies", where, doc->err, doc->errlen);
}

/* The annotations that say what a component is called in each tool. */
static const struct {
	const char *key;
	enum aur_catalog_tool tool;
	int selector; /* a label selector: "app=checkout-api,tier=web" */
} identity_annotations[] = {
	{ "pagerduty.com/service-id", AUR_CATALOG_PAGERDUTY, 0 },
	{ "pagerduty.com/integration-key", AUR_CATALOG_PAGERDUTY, 0 },
	{ "datadoghq.com/service-name", AUR_CATALOG_DATADOG, 0 },
	{ "dynatrace.com/dynatrace-entity-id", AUR_CATALOG_DYNATRACE, 0 },
	{ "backstage.io/kubernetes-id", AUR_CATALOG_KUBERNETES, 0 },
	{ "backstage.io/kubernetes-label-selector", AUR_CATALOG_KUBERNETES, 1 },
	{ "grafana/alert-label-selector", AUR_CATALOG_GRAFANA, 1 },
};

/* The labels of a selector whose value names the service (the others: team, tier, env...). */
static int is_name_label(const char *k, size_t len)
{
	static const char *const labels[] = { "app", "app.kubernetes.io/name", "k8s-app", "service",
					      "service_name", "service.name", "name", NULL };

	for (int i = 0; labels[i]; i++)
		if (strlen(labels[i]) == len && !strncmp(labels[i], k, len))
			return 1;
	return 0;
}

/*
 * A label selector's identities: the values of its name labels (app=,
 * service=...) tested for equality; a selector of one equality of another
 * label gives that label's value.
 */
static int add_selector(const struct doc *doc, struct cat_node *node, const char *s, size_t len,
			const char *where, const void *arg)
{
	struct cat_strv *v = &node->ids[*(const enum aur_catalog_tool *)arg];
	const char *only = NULL;
	size_t only_len = 0;
	int equalities = 0;
	int named = 0;

	while (len) {
		size_t tl = 0;
		const char *t;
		const char *eq;
		size_t kl;
		size_t vl;
		const char *val;
		int rc;

		while (tl < len && s[tl] != ',')
			tl++;
		t = s;
		s += tl < len ? tl + 1 : tl;
		len -= tl < len ? tl + 1 : tl;
		t = cat_trim(t, &tl);
		eq = memchr(t, '=', tl);
		/* != and =~ (a regular expression) say nothing of a name */
		if (!eq || (eq > t && eq[-1] == '!') || (eq + 1 < t + tl && eq[1] == '~'))
			continue;
		kl = (size_t)(eq - t);
		val = eq + 1;
		if (val < t + tl && *val == '=')
			val++;
		vl = (size_t)(t + tl - val);
		t = cat_trim(t, &kl);
		val = cat_trim(val, &vl);
		if (vl >= 2 && (*val == '"' || *val == '\'') && val[vl - 1] == *val) {
			val++;
			vl -= 2;
		}
		if (!vl)
			continue;
		equalities++;
		only = val;
		only_len = vl;
		if (!is_name_label(t, kl))
			continue;
		named++;
		rc = cat_add(v, val, vl, CAT_MAX_IDS, "identities", where, doc->err, doc->errlen);
		if (rc < 0)
			return rc;
	}
	if (!named && equalities == 1)
		return cat_add(v, only, only_len, CAT_MAX_IDS, "identities", where, doc->err, doc->errlen);
	return 0;
}


/* An identity annotation's value: one identity, or several separated by commas. */
static int add_identity(const struct doc *doc, struct cat_node *node, const char *s, size_t len,
			const char *where, const void *arg)
{
	return cat_add_items(node, s, len, (int)*(const enum aur_catalog_tool *)arg, where, doc->err, doc->errlen);
}

static int read_annotations(const struct doc *doc, struct cat_node *node, const yaml_node_t *metadata)
{
	const yaml_node_t *ann = get(doc->d, metadata, "annotations");

	if (!ann || is_null(ann))
		return 0;
	if (ann->type != YAML_MAPPING_NODE)
		return not_a(doc, ann, "metadata.annotations", "a mapping");
	for (size_t i = 0; i < sizeof(identity_annotations) / sizeof(identity_annotations[0]); i++) {
		const yaml_node_t *v = get(doc->d, ann, identity_annotations[i].key);
		int rc;

		if (!v || is_null(v))
			continue;
		if (!is_scalar(v))
			return not_a(doc, v, identity_annotations[i].key, "a string");
		rc = each_string(doc, node, v, identity_annotations[i].key,
				 identity_annotations[i].selector ? add_selector : add_identity,
				 &identity_annotations[i].tool);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* The bit of a kind read, 0 for a kind skipped. */
static unsigned kind_bit(const char *s, size_t len, const char **canonical)
{
	static const struct {
		const char *name;
		unsigned bit;
	} kinds[] = {
		{ "Component", CAT_KIND_COMPONENT },
		{ "System", CAT_KIND_SYSTEM },
		{ "Resource", CAT_KIND_RESOURCE },
		{ "API", CAT_KIND_API },
	};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strlen(kinds[i].name) == len && !strncasecmp(kinds[i].name, s, len)) {
			*canonical = kinds[i].name;
			return kinds[i].bit;
		}
	}
	return 0;
}

static int read_entity(const struct doc *doc, const yaml_node_t *root)
{
	static const int depends_on = 0;
	static const int dependency_of = 1;
	const yaml_node_t *kind = get(doc->d, root, "kind");
	const yaml_node_t *metadata;
	const yaml_node_t *name;
	const yaml_node_t *title;
	const yaml_node_t *spec;
	const char *canonical = NULL;
	struct cat_node *node;
	char where[CAT_WHERE_MAX];
	unsigned bit;
	size_t len;
	const char *s;
	int rc;

	if (is_null(root))
		return 0; /* an empty document: "---" twice */
	if (root->type != YAML_MAPPING_NODE)
		return not_a(doc, root, "an entity", "a mapping (apiVersion, kind, metadata, spec)");
	if (!is_scalar(kind))
		return not_a(doc, kind ? kind : root, "kind", "given as a string");
	s = scalar(kind, &len);
	bit = kind_bit(s, len, &canonical);
	if (!bit)
		return 0; /* Group, User, Domain, Location, Template... */
	metadata = get(doc->d, root, "metadata");
	if (!metadata || metadata->type != YAML_MAPPING_NODE)
		return not_a(doc, metadata ? metadata : root, "metadata", "a mapping");
	name = get(doc->d, metadata, "name");
	if (!is_scalar(name))
		return not_a(doc, name ? name : metadata, "metadata.name", "given as a string");
	if (get(doc->d, metadata, "namespace") && !is_scalar(get(doc->d, metadata, "namespace")))
		return not_a(doc, get(doc->d, metadata, "namespace"), "metadata.namespace", "a string");
	where_of(doc, name, where);
	s = scalar(name, &len);
	rc = cat_declare(doc->c, s, len, canonical, bit, where, &node, doc->err, doc->errlen);
	if (rc < 0)
		return rc;
	title = get(doc->d, metadata, "title");
	if (title && !is_null(title)) {
		if (!is_scalar(title))
			return not_a(doc, title, "metadata.title", "a string");
		where_of(doc, title, where);
		s = scalar(title, &len);
		rc = cat_set_title(node, s, len, where, doc->err, doc->errlen);
		if (rc < 0)
			return rc;
	}
	rc = each_string(doc, node, get(doc->d, metadata, "aliases"), "metadata.aliases", add_alias, NULL);
	if (rc == 0)
		rc = read_annotations(doc, node, metadata);
	spec = get(doc->d, root, "spec");
	if (rc == 0 && spec && !is_null(spec) && spec->type != YAML_MAPPING_NODE)
		rc = not_a(doc, spec, "spec", "a mapping");
	if (rc == 0)
		rc = each_string(doc, node, get(doc->d, spec, "dependsOn"), "spec.dependsOn", add_dependency,
				 &depends_on);
	if (rc == 0)
		rc = each_string(doc, node, get(doc->d, spec, "dependencyOf"), "spec.dependencyOf",
				 add_dependency, &dependency_of);
	return rc;
}

int cat_read_backstage(struct aur_catalog *c, const char *name, const char *data, size_t len, char *err,
		       size_t errlen)
{
	yaml_parser_t p;
	yaml_document_t d;
	struct doc doc = { c, name, &d, err, errlen };
	int rc = yaml_bounds(name, data, len, err, errlen);

	if (rc < 0)
		return rc;
	if (!yaml_parser_initialize(&p)) {
		snprintf(err, errlen, "%s: out of memory reading YAML", name);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
	for (;;) {
		const yaml_node_t *root;

		if (!yaml_parser_load(&p, &d)) {
			rc = yaml_error(&p, name, data, len, err, errlen);
			break;
		}
		root = yaml_document_get_root_node(&d);
		if (!root) {
			yaml_document_delete(&d);
			break; /* the end of the stream */
		}
		rc = read_entity(&doc, root);
		yaml_document_delete(&d);
		if (rc < 0)
			break;
	}
	yaml_parser_delete(&p);
	return rc;
}
