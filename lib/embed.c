#include <string.h>

#include "embed.h"
#include "embedded.h"
#include "banned.h"

const char *aur_embed_find(const char *dir, const char *name, size_t *len)
{
	for (const struct aur_embedded *e = aur_embedded_files; e->dir; e++) {
		if (!strcmp(e->dir, dir) && !strcmp(e->name, name)) {
			if (len)
				*len = e->len;
			return e->data;
		}
	}
	return NULL;
}

void aur_embed_each(const char *dir, void (*fn)(const char *name, const char *data, size_t len, void *arg),
		    void *arg)
{
	for (const struct aur_embedded *e = aur_embedded_files; e->dir; e++)
		if (!strcmp(e->dir, dir))
			fn(e->name, e->data, e->len, arg);
}
