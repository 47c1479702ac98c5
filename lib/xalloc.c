#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"
#include "banned.h"

static void die_oom(size_t n)
{
	fprintf(stderr, "aurora: out of memory allocating %zu bytes\n", n);
	abort();
}

void *aur_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		die_oom(n);
	return p;
}

void *aur_xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (!p)
		die_oom(nmemb * size);
	return p;
}

void *aur_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		die_oom(n);
	return q;
}

char *aur_xstrdup(const char *s)
{
	return aur_xstrndup(s, strlen(s));
}

char *aur_xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = aur_xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}
