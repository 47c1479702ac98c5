/*
 * catalog.c - the service catalog's model, its index and its lookups
 * (catalog.h). The readers of files are in catalog_read.c.
 *
 * Correlation asks for every alert which component its service names, at
 * 5,000 alerts a second with a 500-component catalog loaded (issue 10), so
 * a lookup never scans the catalog: every name, alias, title and tool
 * identity is in one open-addressed hash table, under up to four forms
 * (a level letter after the tool's digit, then the string):
 *   n  a component's name, lowercased      (readers and lookups)
 *   x  an alias, title or identity, lowercased
 *   s  the same with blanks and "_" as "-", runs of "-" as one
 *   k  its service key (aur_textvec_service_key)
 * A slot holds the component a key names and the rank of that claim: a
 * higher rank replaces a lower one, an equal rank from another component
 * makes the key ambiguous (it then finds nothing). A lookup is at most
 * eight probes and no allocation.
 *
 * catalog_records.c writes the catalog as records (aur_catalog_check).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog.h"
#include "catalog_impl.h"
#include "textvec.h"
#include "xalloc.h"
#include "banned.h"

/* tool digit, level letter, string, NUL */
#define KEY_MAX (2 + AUR_CATALOG_NAME_MAX + 1)

/* ranks of claims: a name over an alias over a title over a name only depended on */
enum { RANK_DEPENDENCY = 0, RANK_TITLE = 1, RANK_ALIAS = 2, RANK_NAME = 3, RANK_IDENTITY = 1 };

static const char *const tool_names[AUR_CATALOG_TOOL_COUNT] = {
	"any", "pagerduty", "datadog", "dynatrace", "kubernetes", "grafana",
};

const char *aur_catalog_tool_name(enum aur_catalog_tool tool)
{
	return (unsigned)tool < AUR_CATALOG_TOOL_COUNT ? tool_names[tool] : NULL;
}

struct aur_catalog *cat_new(void)
{
	struct aur_catalog *c = aur_xcalloc(1, sizeof(*c));

	c->nslots = 1024;
	c->slots = aur_xcalloc(c->nslots, sizeof(*c->slots));
	return c;
}

static void strv_release(struct cat_strv *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i]);
	free(v->v);
	memset(v, 0, sizeof(*v));
}

static void strv_push(struct cat_strv *v, char *s)
{
	if (v->n == v->cap) {
		v->cap = v->cap ? 2 * v->cap : 4;
		v->v = aur_xrealloc(v->v, v->cap * sizeof(*v->v));
	}
	v->v[v->n++] = s;
}

static void node_release(struct cat_node *node)
{
	free(node->name);
	free(node->kind);
	free(node->title);
	free(node->source);
	strv_release(&node->aliases);
	for (int t = 0; t < AUR_CATALOG_TOOL_COUNT; t++)
		strv_release(&node->ids[t]);
	strv_release(&node->depends_on);
	strv_release(&node->dependency_of);
	free(node->deps);
}

void aur_catalog_free(struct aur_catalog *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		node_release(&c->nodes[i]);
	free(c->nodes);
	for (size_t i = 0; i < c->nslots; i++)
		free(c->slots[i].key);
	free(c->slots);
	strv_release(&c->notes);
	free(c);
}

/* --- the forms a string is indexed under --- */

/* Lowercased, blanks trimmed, into out (KEY_MAX): its length, or -1 when longer than a name may be. */
static long fold(const char *s, size_t len, char *out)
{
	size_t n = 0;

	while (len && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	if (len > AUR_CATALOG_NAME_MAX) {
		out[0] = '\0';
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		out[n++] = (char)tolower((unsigned char)s[i]);
	out[n] = '\0';
	return (long)n;
}

/* A folded string with blanks and "_" as "-", runs of "-" as one, none at the ends. */
static void slug(const char *folded, char *out)
{
	size_t n = 0;

	for (const char *p = folded; *p; p++) {
		char ch = isspace((unsigned char)*p) || *p == '_' ? '-' : *p;

		if (ch == '-' && (n == 0 || out[n - 1] == '-'))
			continue;
		out[n++] = ch;
	}
	while (n && out[n - 1] == '-')
		n--;
	out[n] = '\0';
}

static uint32_t fnv1a(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

/* "<tool digit><level><s>" into key (KEY_MAX); s is at most a name's length. */
static void make_key(char *key, enum aur_catalog_tool tool, char level, const char *s)
{
	key[0] = (char)('0' + tool);
	key[1] = level;
	snprintf(key + 2, KEY_MAX - 2, "%s", s);
}

static struct cat_slot *slot_of(const struct aur_catalog *c, const char *key, uint32_t h)
{
	size_t mask = c->nslots - 1;

	for (size_t i = h & mask;; i = (i + 1) & mask) {
		struct cat_slot *s = &c->slots[i];

		if (!s->key || (s->hash == h && !strcmp(s->key, key)))
			return s;
	}
}

static const struct cat_slot *index_find(const struct aur_catalog *c, enum aur_catalog_tool tool, char level,
					 const char *s)
{
	char key[KEY_MAX];
	const struct cat_slot *slot;

	if (!*s)
		return NULL;
	make_key(key, tool, level, s);
	slot = slot_of(c, key, fnv1a(key));
	return slot->key ? slot : NULL;
}

static void index_grow(struct aur_catalog *c)
{
	struct cat_slot *old = c->slots;
	size_t nold = c->nslots;

	c->nslots *= 2;
	c->slots = aur_xcalloc(c->nslots, sizeof(*c->slots));
	for (size_t i = 0; i < nold; i++)
		if (old[i].key)
			*slot_of(c, old[i].key, old[i].hash) = old[i];
	free(old);
}

/*
 * Claim key (tool, level, s) for component node at rank. Returns the
 * component that held it at the same rank when that makes it ambiguous
 * now, else -1 (new, won, lost to a higher rank, already this node's or
 * already ambiguous).
 */
static long index_claim(struct aur_catalog *c, enum aur_catalog_tool tool, char level, const char *s, size_t node,
			unsigned rank)
{
	char key[KEY_MAX];
	struct cat_slot *slot;
	uint32_t h;
	long clash = -1;

	if (!*s)
		return -1;
	if (2 * (c->used + 1) > c->nslots)
		index_grow(c);
	make_key(key, tool, level, s);
	h = fnv1a(key);
	slot = slot_of(c, key, h);
	if (!slot->key) {
		slot->key = aur_xstrdup(key);
		slot->hash = h;
		slot->node = (int32_t)node;
		slot->rank = (uint8_t)rank;
		c->used++;
	} else if (rank > slot->rank) {
		slot->node = (int32_t)node;
		slot->rank = (uint8_t)rank;
	} else if (rank == slot->rank && slot->node != CAT_AMBIGUOUS && (size_t)slot->node != node) {
		clash = slot->node;
		slot->node = CAT_AMBIGUOUS;
	}
	return clash;
}

/* A note that WHAT S is claimed by components a and b alike, and what follows from it. */
static void add_note(struct aur_catalog *c, const char *what, const char *s, size_t a, size_t b, const char *so)
{
	char msg[4 * AUR_CATALOG_NAME_MAX];

	if (c->notes.n >= CAT_MAX_NOTES) {
		c->notes_dropped++;
		return;
	}
	snprintf(msg, sizeof(msg), "%s '%s' is shared by %s and %s: %s", what, s, c->nodes[a].name,
		 c->nodes[b].name, so);
	strv_push(&c->notes, aur_xstrdup(msg));
}

/* The component of a level's slot for s, or -1 (absent or ambiguous). */
static long found(const struct aur_catalog *c, enum aur_catalog_tool tool, char level, const char *s)
{
	const struct cat_slot *slot = index_find(c, tool, level, s);

	return slot && slot->node != CAT_AMBIGUOUS ? slot->node : -1;
}

/* --- building, for the readers --- */

/* Whether the len bytes at s are UTF-8 (records carry names as JSON strings). */
static int utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char b = s[i];
		/* how many continuation bytes follow b; 9: b cannot begin a character */
		size_t n = b < 0x80 ? 0 : b >= 0xc2 && b <= 0xdf ? 1 : (b & 0xf0) == 0xe0 ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : 9;
		unsigned cp;

		if (n == 9 || i + n >= len)
			return 0;
		cp = n == 0 ? b : b & (0x3fu >> n);
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		/* overlong forms, surrogates, past U+10FFFF */
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

static int check_text(const char *s, size_t len, const char *what, const char *where, char *err, size_t errlen)
{
	if (len == 0) {
		snprintf(err, errlen, "%s: an empty %s", where, what);
		return -EINVAL;
	}
	if (len > AUR_CATALOG_NAME_MAX) {
		snprintf(err, errlen, "%s: %s '%.40s...' is longer than %d bytes", where, what, s,
			 AUR_CATALOG_NAME_MAX);
		return -E2BIG;
	}
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			snprintf(err, errlen, "%s: %s '%.*s' holds a control character", where, what, (int)i, s);
			return -EINVAL;
		}
	}
	if (!utf8_valid((const unsigned char *)s, len)) {
		snprintf(err, errlen, "%s: %s is not UTF-8", where, what);
		return -EINVAL;
	}
	return 0;
}

int cat_declare(struct aur_catalog *c, const char *name, size_t len, const char *kind, unsigned kind_bit,
		const char *where, struct cat_node **out, char *err, size_t errlen)
{
	char folded[KEY_MAX];
	const struct cat_slot *slot;
	struct cat_node *node;
	int rc = check_text(name, len, "name", where, err, errlen);

	*out = NULL;
	if (rc < 0)
		return rc;
	fold(name, len, folded);
	slot = index_find(c, AUR_CATALOG_ANY, 'n', folded);
	if (slot) {
		node = &c->nodes[slot->node];
		if (kind_bit & node->kinds) {
			snprintf(err, errlen, "%s: %s %s is described twice (first at %s)", where, kind, node->name,
				 node->source);
			return -EINVAL;
		}
		/* where it is described in YAML, else where first said */
		if (!node->described || (kind_bit && !node->kinds)) {
			free(node->source);
			node->source = aur_xstrdup(where);
			node->described = 1;
		}
		node->kinds |= kind_bit;
		if (!node->kind && kind)
			node->kind = aur_xstrdup(kind);
		*out = node;
		return 0;
	}
	if (c->n >= AUR_CATALOG_MAX_COMPONENTS) {
		snprintf(err, errlen, "%s: more than %d components", where, AUR_CATALOG_MAX_COMPONENTS);
		return -E2BIG;
	}
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 64;
		c->nodes = aur_xrealloc(c->nodes, c->cap * sizeof(*c->nodes));
	}
	node = &c->nodes[c->n];
	memset(node, 0, sizeof(*node));
	node->name = aur_xstrndup(name, len);
	node->kind = kind ? aur_xstrdup(kind) : NULL;
	node->kinds = kind_bit;
	node->source = aur_xstrdup(where);
	node->described = 1;
	index_claim(c, AUR_CATALOG_ANY, 'n', folded, c->n, RANK_NAME);
	c->n++;
	*out = node;
	return 0;
}

int cat_add(struct cat_strv *v, const char *s, size_t len, size_t max, const char *what, const char *where,
	    char *err, size_t errlen)
{
	int rc = check_text(s, len, what, where, err, errlen);

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < v->n; i++)
		if (strlen(v->v[i]) == len && !strncasecmp(v->v[i], s, len))
			return 0;
	if (v->n >= max) {
		snprintf(err, errlen, "%s: more than %zu of %s", where, max, what);
		return -E2BIG;
	}
	strv_push(v, aur_xstrndup(s, len));
	return 0;
}

int cat_set_title(struct cat_node *node, const char *s, size_t len, const char *where, char *err, size_t errlen)
{
	int rc = check_text(s, len, "title", where, err, errlen);

	if (rc == 0 && !node->title)
		node->title = aur_xstrndup(s, len);
	return rc;
}

const char *cat_ref_name(const char *s, size_t *len)
{
	size_t start = 0;

	/* [kind:][namespace/]name: a name holds neither ":" nor "/" */
	for (size_t i = 0; i < *len; i++)
		if (s[i] == ':' || s[i] == '/')
			start = i + 1;
	*len -= start;
	return s + start;
}

/* --- finishing: aliases, dependencies, the index --- */

/*
 * The component a dependency named REF denotes: by name, alias or title,
 * as written or with blanks as hyphens; never through the service key,
 * which would make "web -> web-api" a dependency of web on itself.
 */
static long dependency_node(const struct aur_catalog *c, const char *ref)
{
	char folded[KEY_MAX];
	char form[KEY_MAX];
	long i;

	if (fold(ref, strlen(ref), folded) < 0)
		return -1;
	i = found(c, AUR_CATALOG_ANY, 'n', folded);
	if (i < 0)
		i = found(c, AUR_CATALOG_ANY, 'x', folded);
	if (i < 0) {
		slug(folded, form);
		i = found(c, AUR_CATALOG_ANY, 's', form);
	}
	return i;
}

static int claim_aliases(struct aur_catalog *c, size_t i, char *err, size_t errlen)
{
	struct cat_node *node = &c->nodes[i];
	char folded[KEY_MAX];

	for (size_t a = 0; a < node->aliases.n; a++) {
		const struct cat_slot *name;
		long clash;

		fold(node->aliases.v[a], strlen(node->aliases.v[a]), folded);
		name = index_find(c, AUR_CATALOG_ANY, 'n', folded);
		if (name && (size_t)name->node != i) {
			snprintf(err, errlen, "%s: alias '%s' of %s is the name of %s (%s)", node->source,
				 node->aliases.v[a], node->name, c->nodes[name->node].name,
				 c->nodes[name->node].source);
			return -EINVAL;
		}
		clash = index_claim(c, AUR_CATALOG_ANY, 'x', folded, i, RANK_ALIAS);
		if (clash >= 0) {
			snprintf(err, errlen, "%s: alias '%s' is claimed by both %s (%s) and %s: it is ambiguous",
				 node->source, node->aliases.v[a], c->nodes[clash].name, c->nodes[clash].source,
				 node->name);
			return -EINVAL;
		}
	}
	return 0;
}

static void claim_title(struct aur_catalog *c, size_t i)
{
	const struct cat_node *node = &c->nodes[i];
	char folded[KEY_MAX];
	long clash;

	if (!node->title)
		return;
	fold(node->title, strlen(node->title), folded);
	clash = index_claim(c, AUR_CATALOG_ANY, 'x', folded, i, RANK_TITLE);
	if (clash >= 0)
		add_note(c, "title", node->title, (size_t)clash, i, "it finds neither");
}

/* A dependency named only: a component of its own, found by its name. */
static int implied_node(struct aur_catalog *c, const char *ref, const char *where, size_t *out, char *err,
			size_t errlen)
{
	struct cat_node *node;
	long found = dependency_node(c, ref);
	int rc;

	if (found >= 0) {
		*out = (size_t)found;
		return 0;
	}
	rc = cat_declare(c, ref, strlen(ref), NULL, 0, where, &node, err, errlen);
	if (rc < 0)
		return rc;
	node->described = 0;
	*out = (size_t)(node - c->nodes);
	return 0;
}

static void add_edge(struct cat_node *from, size_t to)
{
	if (from->ndeps == from->capdeps) {
		from->capdeps = from->capdeps ? 2 * from->capdeps : 4;
		from->deps = aur_xrealloc(from->deps, from->capdeps * sizeof(*from->deps));
	}
	from->deps[from->ndeps++] = to;
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a;
	size_t y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

static int link_dependencies(struct aur_catalog *c, char *err, size_t errlen)
{
	size_t described = c->n;

	/* c->nodes may move as dependencies named only are added: index, never point */
	for (size_t i = 0; i < described; i++) {
		for (size_t d = 0; d < c->nodes[i].depends_on.n; d++) {
			size_t to;
			int rc = implied_node(c, c->nodes[i].depends_on.v[d], c->nodes[i].source, &to, err, errlen);

			if (rc < 0)
				return rc;
			if (to != i)
				add_edge(&c->nodes[i], to);
		}
		for (size_t d = 0; d < c->nodes[i].dependency_of.n; d++) {
			size_t from;
			int rc = implied_node(c, c->nodes[i].dependency_of.v[d], c->nodes[i].source, &from, err,
					      errlen);

			if (rc < 0)
				return rc;
			if (from != i)
				add_edge(&c->nodes[from], i);
		}
	}
	for (size_t i = 0; i < c->n; i++) {
		struct cat_node *node = &c->nodes[i];
		size_t n = 0;

		if (!node->ndeps)
			continue;
		qsort(node->deps, node->ndeps, sizeof(*node->deps), cmp_size);
		for (size_t d = 0; d < node->ndeps; d++)
			if (n == 0 || node->deps[n - 1] != node->deps[d])
				node->deps[n++] = node->deps[d];
		node->ndeps = n;
	}
	return 0;
}

/*
 * The loose forms of s (already folded): its slug and its service key, the
 * key's claim one rank higher when the key is the string itself ("checkout"
 * holds the key checkout against "checkout-api").
 */
static void claim_loose(struct aur_catalog *c, enum aur_catalog_tool tool, const char *folded, size_t i,
			unsigned rank, int note)
{
	char form[KEY_MAX];
	char key[KEY_MAX];
	long clash;

	slug(folded, form);
	index_claim(c, tool, 's', form, i, 2 * rank + 1);
	aur_textvec_service_key(folded, key, sizeof(key));
	clash = index_claim(c, tool, 'k', key, i, 2 * rank + !strcmp(key, form));
	if (clash >= 0 && note)
		add_note(c, "service key", key, (size_t)clash, i, "names that only match by it find neither");
}

static void claim_forms(struct aur_catalog *c, size_t i)
{
	const struct cat_node *node = &c->nodes[i];
	char folded[KEY_MAX];

	fold(node->name, strlen(node->name), folded);
	claim_loose(c, AUR_CATALOG_ANY, folded, i, node->described ? RANK_NAME : RANK_DEPENDENCY,
		    node->described);
	for (size_t a = 0; a < node->aliases.n; a++) {
		fold(node->aliases.v[a], strlen(node->aliases.v[a]), folded);
		claim_loose(c, AUR_CATALOG_ANY, folded, i, RANK_ALIAS, 1);
	}
	if (node->title) {
		fold(node->title, strlen(node->title), folded);
		claim_loose(c, AUR_CATALOG_ANY, folded, i, RANK_TITLE, 0);
	}
	for (int t = 1; t < AUR_CATALOG_TOOL_COUNT; t++) {
		for (size_t d = 0; d < node->ids[t].n; d++) {
			long clash;

			fold(node->ids[t].v[d], strlen(node->ids[t].v[d]), folded);
			clash = index_claim(c, (enum aur_catalog_tool)t, 'x', folded, i, RANK_IDENTITY);
			if (clash >= 0)
				add_note(c, tool_names[t], node->ids[t].v[d], (size_t)clash, i,
					 "it finds neither");
			claim_loose(c, (enum aur_catalog_tool)t, folded, i, RANK_IDENTITY, 0);
		}
	}
}

int cat_finish(struct aur_catalog *c, char *err, size_t errlen)
{
	size_t described;
	int rc;

	for (size_t i = 0; i < c->n; i++) {
		rc = claim_aliases(c, i, err, errlen);
		if (rc < 0)
			return rc;
	}
	for (size_t i = 0; i < c->n; i++)
		claim_title(c, i);
	/* the described first: dependencies are found through their forms too */
	described = c->n;
	for (size_t i = 0; i < described; i++)
		claim_forms(c, i);
	rc = link_dependencies(c, err, errlen);
	if (rc < 0)
		return rc;
	for (size_t i = described; i < c->n; i++)
		claim_forms(c, i);
	if (c->notes_dropped) {
		char msg[96];

		snprintf(msg, sizeof(msg), "%zu more notes", c->notes_dropped);
		strv_push(&c->notes, aur_xstrdup(msg));
	}
	return 0;
}

/* --- lookups --- */

size_t aur_catalog_size(const struct aur_catalog *c)
{
	return c ? c->n : 0;
}

const char *aur_catalog_name(const struct aur_catalog *c, size_t i)
{
	return c && i < c->n ? c->nodes[i].name : NULL;
}

const char *aur_catalog_note(const struct aur_catalog *c, size_t i)
{
	return c && i < c->notes.n ? c->notes.v[i] : NULL;
}

static long lookup_loose(const struct aur_catalog *c, enum aur_catalog_tool tool, const char *folded)
{
	char form[KEY_MAX];
	long i;

	slug(folded, form);
	i = found(c, tool, 's', form);
	if (i >= 0)
		return i;
	aur_textvec_service_key(folded, form, sizeof(form));
	return found(c, tool, 'k', form);
}

/* A Backstage entity reference's kind, before the ":" of "component:default/x". */
static int is_ref_kind(const char *s, size_t len)
{
	static const char *const kinds[] = { "component", "system", "resource", "api", "group", "user",
					     "domain", "location", "template", NULL };

	for (int k = 0; kinds[k]; k++)
		if (strlen(kinds[k]) == len && !strncmp(kinds[k], s, len))
			return 1;
	return 0;
}

static long lookup(const struct aur_catalog *c, enum aur_catalog_tool tool, const char *name)
{
	char folded[KEY_MAX];
	const char *colon;
	long n;
	long i;

	if (!c || !name || (unsigned)tool >= AUR_CATALOG_TOOL_COUNT)
		return -1;
	n = fold(name, strlen(name), folded);
	if (n <= 0)
		return -1;
	if (tool != AUR_CATALOG_ANY) {
		i = found(c, tool, 'x', folded);
		if (i < 0)
			i = lookup_loose(c, tool, folded);
		if (i >= 0)
			return i;
	}
	i = found(c, AUR_CATALOG_ANY, 'n', folded);
	if (i < 0)
		i = found(c, AUR_CATALOG_ANY, 'x', folded);
	if (i < 0)
		i = lookup_loose(c, AUR_CATALOG_ANY, folded);
	colon = strchr(folded, ':');
	if (i < 0 && colon && is_ref_kind(folded, (size_t)(colon - folded))) {
		size_t len = (size_t)n;
		const char *ref = cat_ref_name(folded, &len);

		if (len)
			i = found(c, AUR_CATALOG_ANY, 'n', ref);
	}
	return i;
}

const char *aur_catalog_resolve(const struct aur_catalog *c, enum aur_catalog_tool tool, const char *name)
{
	long i = lookup(c, tool, name);

	return i >= 0 ? c->nodes[i].name : NULL;
}

int aur_catalog_depends(const struct aur_catalog *c, const char *a, const char *b)
{
	long from = lookup(c, AUR_CATALOG_ANY, a);
	long to = lookup(c, AUR_CATALOG_ANY, b);
	size_t key;

	if (from < 0 || to < 0 || !c->nodes[from].ndeps)
		return 0;
	key = (size_t)to;
	return bsearch(&key, c->nodes[from].deps, c->nodes[from].ndeps, sizeof(size_t), cmp_size) != NULL;
}

size_t aur_catalog_dependencies(const struct aur_catalog *c, const char *name, const char **out, size_t max)
{
	long i = lookup(c, AUR_CATALOG_ANY, name);
	const struct cat_node *node;

	if (i < 0)
		return 0;
	node = &c->nodes[i];
	for (size_t d = 0; d < node->ndeps && d < max; d++)
		out[d] = c->nodes[node->deps[d]].name;
	return node->ndeps;
}

enum aur_catalog_tool aur_catalog_tool_of_source(const char *source)
{
	static const struct {
		const char *source;
		enum aur_catalog_tool tool;
	} tools[] = {
		{ "pagerduty", AUR_CATALOG_PAGERDUTY },
		{ "datadog", AUR_CATALOG_DATADOG },
		{ "dynatrace", AUR_CATALOG_DYNATRACE },
		{ "grafana", AUR_CATALOG_GRAFANA },
	};

	for (size_t i = 0; source && i < sizeof(tools) / sizeof(tools[0]); i++)
		if (!strcmp(source, tools[i].source))
			return tools[i].tool;
	return AUR_CATALOG_ANY;
}
