/*
 * xalloc.h - allocation that cannot fail.
 *
 * Out of memory is not an input error aurora can recover from: these
 * wrappers print one line to stderr and abort(). Everything they return
 * is owned by the caller and released with free().
 */
#ifndef AURORA_XALLOC_H
#define AURORA_XALLOC_H

#include <stddef.h>

void *aur_xmalloc(size_t n);
void *aur_xcalloc(size_t nmemb, size_t size);
void *aur_xrealloc(void *p, size_t n);
char *aur_xstrdup(const char *s);
char *aur_xstrndup(const char *s, size_t n);

#endif
