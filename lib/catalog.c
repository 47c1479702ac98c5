/*
 * Scaffold of the catalog interface (catalog.h) while its reader is built:
 * loading refuses, every lookup answers "not known".
 */
#include <errno.h>
#include <stdio.h>

#include "catalog.h"
#include "banned.h"

int aur_catalog_load(struct aur_catalog **out, const char *path, char *err, size_t errlen)
{
	*out = NULL;
	snprintf(err, errlen, "%s: service catalogs are not supported by this build", path);
	return -ENOSYS;
}

void aur_catalog_free(struct aur_catalog *c)
{
	(void)c;
}

size_t aur_catalog_size(const struct aur_catalog *c)
{
	(void)c;
	return 0;
}

const char *aur_catalog_resolve(const struct aur_catalog *c, enum aur_catalog_tool tool, const char *name)
{
	(void)c;
	(void)tool;
	(void)name;
	return NULL;
}

int aur_catalog_depends(const struct aur_catalog *c, const char *a, const char *b)
{
	(void)c;
	(void)a;
	(void)b;
	return 0;
}

size_t aur_catalog_dependencies(const struct aur_catalog *c, const char *name, const char **out, size_t max)
{
	(void)c;
	(void)name;
	(void)out;
	(void)max;
	return 0;
}
