/*
 * catalog_impl.h - what the catalog's files share: the model and index
 * (catalog.c), its records (catalog_records.c), and the readers of aliases
 * files and directories (catalog_read.c) and of Backstage YAML
 * (catalog_yaml.c). Not for other modules: they use catalog.h.
 *
 * The readers declare components and add strings to them; cat_finish then
 * resolves the dependencies and builds the hash index the lookups use.
 */
#ifndef AURORA_CATALOG_IMPL_H
#define AURORA_CATALOG_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "catalog.h"

#define CAT_MAX_ALIASES 64
#define CAT_MAX_IDS 64
#define CAT_MAX_DEPS 256
#define CAT_MAX_NOTES 100

/* A growing list of owned strings. */
struct cat_strv {
	char **v;
	size_t n;
	size_t cap;
};

/* The kinds read from YAML, as bits: one name may be a System and a Component. */
enum {
	CAT_KIND_COMPONENT = 1,
	CAT_KIND_SYSTEM = 2,
	CAT_KIND_RESOURCE = 4,
	CAT_KIND_API = 8
};

struct cat_node {
	char *name;             /* as first spelled */
	char *kind;             /* first YAML kind ("Component"), NULL from aliases files */
	char *title;            /* metadata.title, NULL when none */
	char *source;           /* "file:line" where first described or named */
	unsigned kinds;         /* CAT_KIND_* declared so far, to refuse a second of one kind */
	int described;          /* 0: only named as a dependency */
	struct cat_strv aliases;
	struct cat_strv ids[AUR_CATALOG_TOOL_COUNT];
	struct cat_strv depends_on;    /* names as written, kind and namespace stripped */
	struct cat_strv dependency_of; /* likewise */
	size_t *deps;           /* after cat_finish: component numbers, sorted, distinct */
	size_t ndeps;
	size_t capdeps;
};

/* One slot of the open-addressed index: a key and the component it names. */
struct cat_slot {
	char *key;              /* owned; NULL: empty slot */
	uint32_t hash;
	int32_t node;           /* component number, or CAT_AMBIGUOUS */
	uint8_t rank;           /* what claims it: higher wins, equal ones are ambiguous */
};

#define CAT_AMBIGUOUS (-1)

struct aur_catalog {
	struct cat_node *nodes;
	size_t n;
	size_t cap;
	struct cat_slot *slots; /* power of two */
	size_t nslots;
	size_t used;
	struct cat_strv notes;
	size_t notes_dropped;
};

struct aur_catalog *cat_new(void);

/*
 * The component called NAME (len bytes), declared now by a reader at
 * WHERE ("file:line") with YAML KIND (NULL and 0 from an aliases file):
 * found when the name is known already (case-insensitive), else new.
 * 0 with *out; -EINVAL (a bad name, or KIND declared twice) or -E2BIG with
 * err.
 */
int cat_declare(struct aur_catalog *c, const char *name, size_t len, const char *kind, unsigned kind_bit,
		const char *where, struct cat_node **out, char *err, size_t errlen);

/*
 * Add S (len bytes) to list V of a component, at most MAX of them, unless
 * it is there already. WHAT names the list in messages ("alias"). 0, or
 * -EINVAL (empty, control characters), -E2BIG with err.
 */
int cat_add(struct cat_strv *v, const char *s, size_t len, size_t max, const char *what, const char *where,
	    char *err, size_t errlen);

/* Set title (0, or -EINVAL / -E2BIG with err); a second title is ignored. */
int cat_set_title(struct cat_node *node, const char *s, size_t len, const char *where, char *err, size_t errlen);

/*
 * The name an entity reference denotes: "component:default/checkout",
 * "resource:db" and "db" all give "db". Points into s; *len is updated.
 */
const char *cat_ref_name(const char *s, size_t *len);

/* Resolve the dependencies and build the index. 0, or -EINVAL / -E2BIG with err. */
int cat_finish(struct aur_catalog *c, char *err, size_t errlen);

/* a path, and the "path:line" a reader names a place with */
#define CAT_MAX_PATH 4096
#define CAT_WHERE_MAX (CAT_MAX_PATH + 32)

/* s without the blanks around it: points into s, *len updated. */
const char *cat_trim(const char *s, size_t *len);
/* The line (from 1) of byte offset in data. */
size_t cat_line_at(const char *data, size_t len, size_t offset);
/*
 * Each item of a comma-separated list into node's list for what: an
 * identity of that tool, aliases (AUR_CATALOG_ANY) or, when what < 0,
 * dependencies. 0, or -EINVAL / -E2BIG with err naming where.
 */
int cat_add_items(struct cat_node *node, const char *s, size_t len, int what, const char *where, char *err,
		  size_t errlen);

/* Parse one file's bytes into c (not finished). 0, or a negative errno with err. */
int cat_read_backstage(struct aur_catalog *c, const char *name, const char *data, size_t len, char *err,
		       size_t errlen);
int cat_read_aliases(struct aur_catalog *c, const char *name, const char *data, size_t len, char *err,
		     size_t errlen);

#endif
