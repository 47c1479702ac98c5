/*
 * jvio.h - JSON text to libjq values and back, fast.
 *
 * libjq 1.6 parses and prints one character at a time through several
 * layers of calls; on alert payloads that costs far more than running a
 * mapping. These functions produce the same values and the same compact
 * text as jv_parse_sized and jv_dump_string(v, 0), at several times the
 * speed, plus a bounded line reader that hands out lines without copying.
 *
 * Same results as libjq, except where libjq is stricter than the data
 * aurora receives: a lone UTF-16 surrogate escape (\ud800) becomes U+FFFD
 * instead of failing the whole document. Invalid UTF-8 bytes become U+FFFD
 * exactly as in libjq, and nesting deeper than AUR_JVIO_MAX_DEPTH fails
 * as in libjq.
 */
#ifndef AURORA_JVIO_H
#define AURORA_JVIO_H

#include <stddef.h>
#include <stdio.h>
#include <jq.h>

#include "buf.h"

/* Arrays and objects nested deeper than this are an error (libjq: 256). */
#define AUR_JVIO_MAX_DEPTH 256
/* Values printed deeper than this are an error (libjq prints garbage). */
#define AUR_JVIO_MAX_DUMP_DEPTH 1024

/*
 * The string member k of object o, or NULL (o not an object, k absent or
 * not a string). Borrowed: o holds the string, so it stays valid as long
 * as o does.
 */
const char *aur_jv_str(jv o, const char *k);

/*
 * Parse exactly one JSON value from s[0..len) (whitespace around it is
 * allowed). Returns 0 with *out set (caller frees with jv_free), or
 * -EINVAL with a one-line reason such as "unexpected character 'x' at
 * byte 12" in err.
 */
int aur_jvio_parse(const char *s, size_t len, jv *out, char *err, size_t errlen);

/*
 * Append v (borrowed) to b as compact JSON, the text jv_dump_string(v, 0)
 * would give. Returns 0; -E2BIG past b's limit or past
 * AUR_JVIO_MAX_DUMP_DEPTH, -EINVAL for an invalid jv. On failure b may hold
 * part of the text: callers that care remember b->len and cut back.
 */
int aur_jvio_dump(jv v, struct aur_buf *b);

/* Append s[0..len) (valid UTF-8) as a JSON string literal with quotes. */
int aur_jvio_dump_str(const char *s, size_t len, struct aur_buf *b);

/*
 * v (borrowed) quoted for a message into out, cut to outlen: a string as
 * it is, anything else as its JSON text (its kind's name when it has none).
 */
void aur_jvio_describe(jv v, char *out, size_t outlen);

#define AUR_JVIO_MAX_LINE ((size_t)16 * 1024 * 1024)

/*
 * A line reader over a file descriptor that reads in large blocks with
 * read(2) (so a live pipe delivers each line as soon as it arrives) and
 * returns each line in place, NUL-terminated, without its newline. Lines
 * longer than max_line are skipped whole and reported, so one endless line
 * cannot exhaust memory. Do not mix with stdio reads of the same descriptor.
 */
struct aur_jvio_reader {
	int fd;               /* borrowed */
	size_t max_line;      /* 0 in init means AUR_JVIO_MAX_LINE */
	char *buf;            /* owned */
	size_t cap;
	size_t start;         /* first unread byte */
	size_t end;           /* one past the last byte read */
	int eof;
	unsigned long lineno; /* 1-based number of the line last returned */
	int watch_fd;         /* output whose reader leaving ends the input; -1 */
};

void aur_jvio_reader_init(struct aur_jvio_reader *r, int fd, size_t max_line);
void aur_jvio_reader_release(struct aur_jvio_reader *r);
/*
 * Stop reading as soon as out_fd's reader goes away, when out_fd is a pipe
 * or socket (pipe.h): a read that would block then ends with -EPIPE.
 */
void aur_jvio_reader_watch(struct aur_jvio_reader *r, int out_fd);

/*
 * Next line, blank lines included. Returns 1 with *line and *len set (borrowed
 * until the next call; writable, NUL-terminated); 0 at end of input;
 * -E2BIG for a line longer than max_line (skipped; r->lineno counts it);
 * -EPIPE when the watched output's reader went away; -EIO on a read error.
 * A last line without a newline is still a line.
 */
int aur_jvio_read_line(struct aur_jvio_reader *r, char **line, size_t *len);

#endif
