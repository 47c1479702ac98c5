/*
 * catalog_records.c - the catalog as aurora's records (catalog.h): a
 * component as {"v": 1, "type": "component", ...}, a name's resolution as
 * {"v": 1, "type": "resolution", ...}, and aur_catalog_check, which loads
 * a catalog and writes either, one a line, for aurora-correlate catalog
 * check. The model and its lookups stay in catalog.c.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jq.h>

#include "catalog.h"
#include "catalog_impl.h"
#include "jsonl.h"
#include "banned.h"

static jv strv_json(const struct cat_strv *v)
{
	jv a = jv_array();

	for (size_t i = 0; i < v->n; i++)
		a = jv_array_append(a, jv_string(v->v[i]));
	return a;
}

jv aur_catalog_component(const struct aur_catalog *c, size_t i)
{
	const struct cat_node *node;
	jv o;
	jv ids = jv_object();
	jv deps = jv_array();

	if (!c || i >= c->n) {
		jv_free(ids);
		jv_free(deps);
		return jv_invalid();
	}
	node = &c->nodes[i];
	for (int t = 1; t < AUR_CATALOG_TOOL_COUNT; t++)
		if (node->ids[t].n)
			ids = jv_object_set(ids, jv_string(aur_catalog_tool_name((enum aur_catalog_tool)t)),
					    strv_json(&node->ids[t]));
	for (size_t d = 0; d < node->ndeps; d++)
		deps = jv_array_append(deps, jv_string(c->nodes[node->deps[d]].name));
	o = jv_object_set(jv_object(), jv_string("v"), jv_number(1));
	o = jv_object_set(o, jv_string("type"), jv_string("component"));
	o = jv_object_set(o, jv_string("name"), jv_string(node->name));
	o = jv_object_set(o, jv_string("kind"), node->kind ? jv_string(node->kind) : jv_null());
	o = jv_object_set(o, jv_string("title"), node->title ? jv_string(node->title) : jv_null());
	o = jv_object_set(o, jv_string("aliases"), strv_json(&node->aliases));
	o = jv_object_set(o, jv_string("identities"), ids);
	o = jv_object_set(o, jv_string("depends_on"), deps);
	o = jv_object_set(o, jv_string("described"), jv_bool(node->described));
	return jv_object_set(o, jv_string("source"), jv_string(node->source));
}

/* {"v": 1, "type": "resolution", ...} of one "[TOOL:]NAME" */
static jv resolution(const struct aur_catalog *c, const char *arg, int *known)
{
	enum aur_catalog_tool tool = AUR_CATALOG_ANY;
	const char *colon = strchr(arg, ':');
	const char *name = arg;
	const char *found_name;
	jv o;

	for (int t = 0; colon && t < AUR_CATALOG_TOOL_COUNT; t++) {
		const char *tn = aur_catalog_tool_name((enum aur_catalog_tool)t);

		if (strlen(tn) == (size_t)(colon - arg) && !strncmp(tn, arg, (size_t)(colon - arg))) {
			tool = (enum aur_catalog_tool)t;
			name = colon + 1;
		}
	}
	found_name = aur_catalog_resolve(c, tool, name);
	*known = found_name != NULL;
	o = jv_object_set(jv_object(), jv_string("v"), jv_number(1));
	o = jv_object_set(o, jv_string("type"), jv_string("resolution"));
	o = jv_object_set(o, jv_string("tool"), jv_string(aur_catalog_tool_name(tool)));
	o = jv_object_set(o, jv_string("name"), jv_string(name));
	return jv_object_set(o, jv_string("component"), found_name ? jv_string(found_name) : jv_null());
}

int aur_catalog_check(const char *path, char *const *names, size_t nnames, FILE *out,
		      void (*note)(const char *msg), char *err, size_t errlen)
{
	struct aur_catalog *c = NULL;
	struct aur_jsonl_writer w;
	size_t n;
	int unknown = 0;
	int rc = aur_catalog_load(&c, path, err, errlen);

	if (rc < 0)
		return rc;
	aur_jsonl_writer_init(&w, out, 0);
	n = nnames ? nnames : c->n;
	for (size_t i = 0; i < n && rc == 0; i++) {
		int known = 1;
		jv rec = nnames ? resolution(c, names[i], &known) : aur_catalog_component(c, i);

		unknown += !known;
		if (aur_jsonl_write(&w, rec) < 0) {
			snprintf(err, errlen, "writing standard output: %s", strerror(errno));
			rc = -EIO;
		}
	}
	if (rc == 0 && (fflush(out) != 0 || ferror(out))) {
		snprintf(err, errlen, "writing standard output: %s", strerror(errno));
		rc = -EIO;
	}
	for (size_t i = 0; rc == 0 && note && i < c->notes.n; i++)
		note(c->notes.v[i]);
	aur_catalog_free(c);
	return rc < 0 ? rc : unknown;
}
