#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jsonl.h"
#include "pipe.h"
#include "xalloc.h"
#include "banned.h"

void aur_jsonl_reader_init(struct aur_jsonl_reader *r, FILE *in, size_t max_line)
{
	r->fd = fileno(in);
	r->pos = 0;
	r->end = 0;
	r->eof = 0;
	r->error = 0;
	r->watch_fd = -1;
	r->max_line = max_line ? max_line : AUR_JSONL_MAX_LINE;
	r->line = NULL;
	r->cap = 0;
	r->len = 0;
	r->lineno = 0;
}

void aur_jsonl_reader_release(struct aur_jsonl_reader *r)
{
	if (!r)
		return;
	free(r->line);
	r->line = NULL;
	r->cap = 0;
}

int aur_jsonl_reader_ready(struct aur_jsonl_reader *r)
{
	struct pollfd p = { r->fd, POLLIN, 0 };

	if (r->pos < r->end || r->eof || r->error)
		return 1;
	return poll(&p, 1, 0) > 0;
}

void aur_jsonl_reader_watch(struct aur_jsonl_reader *r, int out_fd)
{
	r->watch_fd = aur_pipe_watchable(out_fd);
}

/* The next byte of input, or EOF (r->error set to an errno on failure). */
static int next_byte(struct aur_jsonl_reader *r)
{
	ssize_t n;
	int rc;

	if (r->pos < r->end)
		return (unsigned char)r->buf[r->pos++];
	if (r->eof || r->error)
		return EOF;
	rc = aur_pipe_wait_input(r->fd, r->watch_fd);
	if (rc < 0) {
		r->error = -rc;
		return EOF;
	}
	do
		n = read(r->fd, r->buf, sizeof(r->buf));
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		if (n < 0)
			r->error = EIO;
		else
			r->eof = 1;
		return EOF;
	}
	r->pos = 1;
	r->end = (size_t)n;
	return (unsigned char)r->buf[0];
}

/* Read one line into r->line; 1, 0 at EOF, -E2BIG when too long (rest drained), -EIO. */
static int read_line(struct aur_jsonl_reader *r)
{
	int too_long = 0;
	int c;

	r->len = 0;
	for (;;) {
		c = next_byte(r);
		if (c == EOF) {
			if (r->error)
				return -r->error;
			if (r->len == 0 && !too_long)
				return 0;
			break;
		}
		if (c == '\n')
			break;
		if (too_long)
			continue;
		if (r->len >= r->max_line) {
			too_long = 1;
			continue;
		}
		if (r->len + 2 > r->cap) {
			r->cap = r->cap ? r->cap * 2 : 4096;
			r->line = aur_xrealloc(r->line, r->cap);
		}
		r->line[r->len++] = (char)c;
	}
	r->lineno++;
	if (too_long)
		return -E2BIG;
	if (!r->line) {
		r->cap = 1;
		r->line = aur_xmalloc(1);
	}
	r->line[r->len] = '\0';
	return 1;
}

int aur_jsonl_read(struct aur_jsonl_reader *r, jv *out, char *err, size_t errlen)
{
	jv v;
	int rc;

	for (;;) {
		rc = read_line(r);
		if (rc <= 0)
			return rc;
		if (strspn(r->line, " \t\r") != r->len)
			break;
	}
	v = jv_parse_sized(r->line, (int)r->len);
	if (!jv_is_valid(v)) {
		jv msg = jv_invalid_get_msg(v);

		snprintf(err, errlen, "invalid JSON: %s",
			 jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "parse error");
		jv_free(msg);
		return -EINVAL;
	}
	*out = v;
	return 1;
}

void aur_jsonl_writer_init(struct aur_jsonl_writer *w, FILE *out, int flush)
{
	struct stat st;

	w->out = out;
	if (flush >= 0)
		w->flush = flush;
	else
		w->flush = !(fstat(fileno(out), &st) == 0 && S_ISREG(st.st_mode));
}

int aur_jsonl_write(struct aur_jsonl_writer *w, jv v)
{
	jv s = jv_dump_string(v, 0);
	const char *text = jv_string_value(s);
	int len = jv_string_length_bytes(jv_copy(s));
	int rc = 0;

	if (fwrite(text, 1, (size_t)len, w->out) != (size_t)len || putc('\n', w->out) == EOF)
		rc = -EIO;
	if (rc == 0 && w->flush && fflush(w->out) != 0)
		rc = -EIO;
	jv_free(s);
	return rc;
}
