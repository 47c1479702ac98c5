/*
 * buf.h - a growable byte buffer with a hard maximum.
 *
 * Every buffer that holds outside input has a limit; appending past it
 * fails with -E2BIG and leaves the buffer unchanged, so a caller can answer
 * "too large" instead of growing without bound. The contents are always
 * NUL-terminated (the NUL is not counted in len).
 */
#ifndef AURORA_BUF_H
#define AURORA_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct aur_buf {
	char *data;   /* owned; NULL until the first append */
	size_t len;   /* bytes in use, excluding the terminating NUL */
	size_t cap;   /* bytes allocated */
	size_t max;   /* hard limit on len; 0 means SIZE_MAX / 2 */
};

/* Fill b as an empty buffer that may hold at most max bytes. */
void aur_buf_init(struct aur_buf *b, size_t max);
/* Free the contents; b may be reused after aur_buf_init. NULL-safe. */
void aur_buf_release(struct aur_buf *b);
/* Append n bytes. 0, or -E2BIG when the result would pass b->max. */
int aur_buf_add(struct aur_buf *b, const void *p, size_t n);
/* Append a C string. Same failure as aur_buf_add. */
int aur_buf_adds(struct aur_buf *b, const char *s);
/* Append formatted text. -E2BIG past the limit, -EINVAL on a format error. */
int aur_buf_addf(struct aur_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int aur_buf_vaddf(struct aur_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Forget the contents, keep the allocation. */
void aur_buf_reset(struct aur_buf *b);
/* Take the contents (caller frees with free()); b becomes empty. Never NULL. */
char *aur_buf_detach(struct aur_buf *b, size_t *len);

#endif
