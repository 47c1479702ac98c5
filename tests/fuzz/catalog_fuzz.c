/*
 * catalog_fuzz - libFuzzer target for the service catalog's readers
 * (lib/catalog_read.c: Backstage YAML through libyaml, the aliases file)
 * and its index (lib/catalog.c), on hostile text.
 *
 * The first byte picks the format (even: Backstage YAML, odd: aliases
 * file); the rest is the file. It loads, or fails with a message that
 * names the file ("cat:"). A loaded catalog must keep its promises:
 *   - every component's own name resolves to that component;
 *   - every dependency it lists is one aur_catalog_depends confirms;
 *   - every record is an object naming the component;
 *   - lookups of arbitrary pieces of the input, for every tool, return a
 *     component's name or NULL.
 * Built and run by scripts/fuzz (make fuzz).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jq.h>

#include "catalog.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *name)
{
	fprintf(stderr, "catalog_fuzz: %s: %s\n", what, name ? name : "(null)");
	abort();
}

static void check_component(const struct aur_catalog *c, size_t i)
{
	const char *name = aur_catalog_name(c, i);
	const char *deps[8];
	size_t n;
	jv rec;

	if (!name)
		fail("no name for a component below the size", NULL);
	if (aur_catalog_resolve(c, AUR_CATALOG_ANY, name) != name)
		fail("a component's name does not resolve to it", name);
	n = aur_catalog_dependencies(c, name, deps, 8);
	for (size_t d = 0; d < n && d < 8; d++)
		if (!aur_catalog_depends(c, name, deps[d]))
			fail("a listed dependency is not confirmed", deps[d]);
	rec = aur_catalog_component(c, i);
	if (jv_get_kind(rec) != JV_KIND_OBJECT)
		fail("a record is not an object", name);
	rec = jv_object_get(rec, jv_string("name"));
	if (jv_get_kind(rec) != JV_KIND_STRING || strcmp(jv_string_value(rec), name))
		fail("a record does not name its component", name);
	jv_free(rec);
}

/* Resolve pieces of the text: a line at a time, for every tool. */
static void lookups(const struct aur_catalog *c, const char *text)
{
	char piece[300];
	const char *p = text;

	for (int k = 0; k < 16 && *p; k++) {
		size_t n = strcspn(p, "\n,:");

		if (n >= sizeof(piece))
			n = sizeof(piece) - 1;
		memcpy(piece, p, n);
		piece[n] = '\0';
		for (int t = 0; t <= AUR_CATALOG_TOOL_COUNT; t++) {
			const char *r = aur_catalog_resolve(c, (enum aur_catalog_tool)t, piece);

			if (r && aur_catalog_resolve(c, AUR_CATALOG_ANY, r) != r)
				fail("a resolved name is not a component's", r);
		}
		aur_catalog_depends(c, piece, text);
		p += n;
		p += *p != '\0';
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aur_catalog *c = NULL;
	enum aur_catalog_format f;
	char err[1024];
	char *text;
	int rc;

	if (size < 1)
		return 0;
	f = data[0] & 1 ? AUR_CATALOG_ALIASES : AUR_CATALOG_BACKSTAGE;
	/* not NUL-terminated on purpose: the readers take a length */
	text = malloc(size - 1 ? size - 1 : 1);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	err[0] = '\0';
	rc = aur_catalog_parse(&c, "cat", text, size - 1, f, err, sizeof(err));
	if (rc < 0) {
		if (c || strncmp(err, "cat", 3) || (rc != -EINVAL && rc != -E2BIG))
			fail("a refusal without the file's name, or an odd code", err);
	} else {
		char *z = malloc(size);

		for (size_t i = 0; i < aur_catalog_size(c); i++)
			check_component(c, i);
		if (aur_catalog_name(c, aur_catalog_size(c)))
			fail("a name past the size", NULL);
		for (size_t i = 0; aur_catalog_note(c, i); i++)
			if (!*aur_catalog_note(c, i))
				fail("an empty note", NULL);
		if (z) {
			memcpy(z, data + 1, size - 1);
			z[size - 1] = '\0';
			lookups(c, z);
			free(z);
		}
	}
	aur_catalog_free(c);
	free(text);
	return 0;
}
