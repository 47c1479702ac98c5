/*
 * jsonl.h - JSON lines in and out, through libjq's jv values.
 *
 * A reader returns one line at a time with a hard cap on its length, so one
 * huge or endless line cannot exhaust memory; the writer prints one compact
 * object per line and flushes when the output is a pipe or a terminal, so a
 * live pipeline sees each record the moment it is written.
 */
#ifndef AURORA_JSONL_H
#define AURORA_JSONL_H

#include <stddef.h>
#include <stdio.h>
#include <jq.h>

#define AUR_JSONL_MAX_LINE ((size_t)16 * 1024 * 1024)

struct aur_jsonl_reader {
	int fd;             /* borrowed; read with read(2) through buf */
	size_t max_line;    /* lines longer than this are skipped as too long */
	char *line;         /* owned; the current line without its newline */
	size_t cap;
	size_t len;
	unsigned long lineno; /* 1-based number of the line last read */
	char buf[65536];
	size_t pos;         /* next unread byte of buf */
	size_t end;         /* bytes in buf */
	int eof;
	int error;          /* errno of a failed read, or EPIPE (see watch) */
	int watch_fd;       /* output whose reader leaving ends the input; -1 */
};

/*
 * Fill r to read from in (borrowed). The reader does its own buffering on
 * in's file descriptor: nothing else may read from in. max_line 0 means
 * AUR_JSONL_MAX_LINE.
 */
void aur_jsonl_reader_init(struct aur_jsonl_reader *r, FILE *in, size_t max_line);
void aur_jsonl_reader_release(struct aur_jsonl_reader *r);

/*
 * Stop reading as soon as out_fd's reader goes away, when out_fd is a pipe
 * or socket (pipe.h): a read that would block then ends with -EPIPE.
 */
void aur_jsonl_reader_watch(struct aur_jsonl_reader *r, int out_fd);

/*
 * 1 when the next aur_jsonl_read will not block: bytes are buffered, the
 * input is at its end, or the descriptor is readable right now. Lets a
 * caller group records that arrive together without waiting for more.
 */
int aur_jsonl_reader_ready(struct aur_jsonl_reader *r);

/*
 * Read the next non-blank line and parse it. Returns 1 with *out a valid jv
 * (caller frees with jv_free); 0 at end of input; -E2BIG for a line past
 * max_line (skipped; the caller reports r->lineno); -EINVAL when the line is
 * not JSON, with jq's message in err; -EPIPE when the watched output's
 * reader went away; -EIO on a read error.
 */
int aur_jsonl_read(struct aur_jsonl_reader *r, jv *out, char *err, size_t errlen);

struct aur_jsonl_writer {
	FILE *out;    /* borrowed */
	int flush;    /* flush after every record */
};

/* flush: -1 decides by isatty/pipe (flush unless out is a regular file), 0 or 1 forces. */
void aur_jsonl_writer_init(struct aur_jsonl_writer *w, FILE *out, int flush);
/* Write v (consumed) as one compact line. 0 or -EIO. */
int aur_jsonl_write(struct aur_jsonl_writer *w, jv v);

#endif
