#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "xalloc.h"
#include "banned.h"

void aur_buf_init(struct aur_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max ? max : SIZE_MAX / 2;
}

void aur_buf_release(struct aur_buf *b)
{
	if (!b)
		return;
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

static int grow(struct aur_buf *b, size_t extra)
{
	size_t want;

	if (extra > b->max || b->len > b->max - extra)
		return -E2BIG;
	want = b->len + extra + 1;
	if (want <= b->cap)
		return 0;
	if (b->cap < 64)
		b->cap = 64;
	while (b->cap < want)
		b->cap = b->cap < SIZE_MAX / 4 ? b->cap * 2 : want;
	b->data = aur_xrealloc(b->data, b->cap);
	return 0;
}

int aur_buf_add(struct aur_buf *b, const void *p, size_t n)
{
	int rc = grow(b, n);

	if (rc < 0)
		return rc;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int aur_buf_adds(struct aur_buf *b, const char *s)
{
	return aur_buf_add(b, s, strlen(s));
}

int aur_buf_vaddf(struct aur_buf *b, const char *fmt, va_list ap)
{
	va_list again;
	int n;
	int rc;

	va_copy(again, ap);
	n = vsnprintf(NULL, 0, fmt, ap);
	if (n < 0) {
		va_end(again);
		return -EINVAL;
	}
	rc = grow(b, (size_t)n);
	if (rc == 0) {
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, again);
		b->len += (size_t)n;
	}
	va_end(again);
	return rc;
}

int aur_buf_addf(struct aur_buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = aur_buf_vaddf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void aur_buf_reset(struct aur_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

char *aur_buf_detach(struct aur_buf *b, size_t *len)
{
	char *p = b->data ? b->data : aur_xstrdup("");

	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}
