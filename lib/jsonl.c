#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "jsonl.h"
#include "jvio.h"
#include "pipe.h"
#include "xalloc.h"
#include "banned.h"

/* bytes asked of each read(2); the buffer grows past it only for a longer line */
#define CHUNK ((size_t)256 * 1024)

/* ---- reading ---------------------------------------------------------- */

void aur_jsonl_reader_init_fd(struct aur_jsonl_reader *r, int fd, size_t max_line)
{
	r->fd = fd;
	r->max_line = max_line ? max_line : AUR_JSONL_MAX_LINE;
	r->line = NULL;
	r->len = 0;
	r->lineno = 0;
	r->watch_fd = -1;
	r->eof = 0;
	r->error = 0;
	r->buf = NULL;
	r->cap = 0;
	r->start = 0;
	r->end = 0;
}

void aur_jsonl_reader_init(struct aur_jsonl_reader *r, FILE *in, size_t max_line)
{
	aur_jsonl_reader_init_fd(r, fileno(in), max_line);
}

void aur_jsonl_reader_release(struct aur_jsonl_reader *r)
{
	if (!r)
		return;
	free(r->buf);
	r->buf = NULL;
	r->line = NULL;
	r->len = 0;
	r->cap = 0;
	r->start = 0;
	r->end = 0;
}

void aur_jsonl_reader_watch(struct aur_jsonl_reader *r, int out_fd)
{
	r->watch_fd = aur_pipe_watchable(out_fd);
}

int aur_jsonl_reader_ready(struct aur_jsonl_reader *r)
{
	struct pollfd p = { r->fd, POLLIN, 0 };

	if (r->start < r->end || r->eof || r->error)
		return 1;
	return poll(&p, 1, 0) > 0;
}

/* Read more bytes after r->end. 1 when some arrived, 0 at end of input, -EPIPE, -EIO. */
static int fill(struct aur_jsonl_reader *r)
{
	ssize_t n;
	int rc;

	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	if (r->cap - r->end < CHUNK + 1) {
		r->cap = r->cap ? r->cap * 2 : 2 * CHUNK;
		while (r->cap - r->end < CHUNK + 1)
			r->cap *= 2;
		r->buf = aur_xrealloc(r->buf, r->cap);
	}
	rc = aur_pipe_wait_input(r->fd, r->watch_fd);
	if (rc < 0) {
		r->error = rc == -EPIPE ? EPIPE : EIO;
		return -r->error;
	}
	do
		n = read(r->fd, r->buf + r->end, r->cap - r->end - 1);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		r->error = EIO;
		return -EIO;
	}
	if (n == 0) {
		r->eof = 1;
		return 0;
	}
	r->end += (size_t)n;
	return 1;
}

/* Hand out base[0..n) as the current line; -E2BIG when it was too long. */
static int give(struct aur_jsonl_reader *r, char *base, size_t n, int skipped, char **line, size_t *len)
{
	r->lineno++;
	r->line = NULL;
	r->len = 0;
	if (skipped || n > r->max_line)
		return -E2BIG;
	base[n] = '\0';
	r->line = base;
	r->len = n;
	*line = base;
	*len = n;
	return 1;
}

int aur_jsonl_read_line(struct aur_jsonl_reader *r, char **line, size_t *len)
{
	size_t scanned = 0;
	int skipping = 0;
	int rc;

	if (r->error)
		return -r->error;
	/* give back what one huge line made the buffer grow to */
	if (r->start == r->end && r->cap > 8 * CHUNK) {
		free(r->buf);
		r->buf = NULL;
		r->cap = 0;
		r->start = 0;
		r->end = 0;
	}
	for (;;) {
		/* before the first read buf is NULL (and start 0): NULL plus 0 is undefined behaviour */
		char *base = r->start ? r->buf + r->start : r->buf;
		char *nl = r->end > r->start + scanned ?
			   memchr(base + scanned, '\n', r->end - r->start - scanned) : NULL;

		if (nl) {
			size_t n = (size_t)(nl - base);

			r->start += n + 1;
			return give(r, base, n, skipping, line, len);
		}
		scanned = r->end - r->start;
		if (r->eof) {
			if (scanned == 0 && !skipping)
				return 0;
			r->start = r->end;
			/* fill() keeps one spare byte for the NUL */
			return give(r, base, scanned, skipping, line, len);
		}
		if (scanned > r->max_line) {
			/* too long: drop what we have and keep looking for its end */
			skipping = 1;
			r->start = r->end;
			scanned = 0;
		}
		rc = fill(r);
		if (rc < 0)
			return rc;
	}
}

/* 1 when s[0..len) holds nothing but spaces, tabs and carriage returns */
static int blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return 0;
	return 1;
}

void aur_jsonl_invalid(char *err, size_t errlen, const char *why, const char *line, size_t len)
{
	/* the line's start, as libjq's messages quoted it: the log escapes what is not text */
	snprintf(err, errlen, "invalid JSON: %s (while parsing '%.*s%s')", why, (int)(len < 80 ? len : 80),
		 line, len > 80 ? "..." : "");
}

int aur_jsonl_read(struct aur_jsonl_reader *r, jv *out, char *err, size_t errlen)
{
	char why[256];
	char *line = NULL;
	size_t len = 0;
	int rc;

	do {
		rc = aur_jsonl_read_line(r, &line, &len);
		if (rc <= 0)
			return rc;
	} while (blank(line, len));
	if (aur_jvio_parse(line, len, out, why, sizeof(why)) < 0) {
		aur_jsonl_invalid(err, errlen, why, line, len);
		return -EINVAL;
	}
	return 1;
}

/* ---- writing ---------------------------------------------------------- */

void aur_jsonl_writer_init(struct aur_jsonl_writer *w, FILE *out, int flush)
{
	struct stat st;

	w->out = out;
	if (flush >= 0)
		w->flush = flush;
	else
		w->flush = !(fstat(fileno(out), &st) == 0 && S_ISREG(st.st_mode));
}

/* v (borrowed) as compact JSON and a newline into b, by jvio or else by libjq. */
static void dump_line(jv v, struct aur_buf *b)
{
	jv s;

	if (aur_jvio_dump(v, b) == 0 && aur_buf_add(b, "\n", 1) == 0)
		return;
	aur_buf_reset(b);
	s = jv_dump_string(jv_copy(v), 0);
	aur_buf_add(b, jv_string_value(s), (size_t)jv_string_length_bytes(jv_copy(s)));
	aur_buf_add(b, "\n", 1);
	jv_free(s);
}

int aur_jsonl_write(struct aur_jsonl_writer *w, jv v)
{
	struct aur_buf b;
	int rc = 0;

	aur_buf_init(&b, 0);
	dump_line(v, &b);
	jv_free(v);
	if (fwrite(b.data, 1, b.len, w->out) != b.len)
		rc = -EIO;
	if (rc == 0 && w->flush && fflush(w->out) != 0)
		rc = -EIO;
	aur_buf_release(&b);
	return rc;
}
