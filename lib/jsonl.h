/*
 * jsonl.h - JSON lines in and out: aurora's one line reader and writer.
 *
 * Every stage of a pipeline reads and writes one JSON object per line, so
 * this is where the stages spend the time they do not spend in jq or
 * SQLite. There used to be two readers: this module's, which gathered each
 * line a byte at a time and parsed and printed through libjq, and
 * lib/jvio's block reader, written for aurora-normalize when libjq's
 * character-at-a-time parser and printer cost more than the mappings
 * (scripts/bench-normalize; jvio.h says why). They are one now: the reader
 * is jvio's (large read(2) blocks, each line handed out in place, no copy),
 * values go through jvio's parser and printer, and jvio stays the codec
 * alone, fuzzed against libjq (tests/fuzz/normalize_fuzz.c).
 *
 * The reader has a hard cap on a line's length, so one huge or endless line
 * cannot exhaust memory; it reads with read(2) as soon as bytes arrive, so
 * a live pipe delivers each line the moment it is written, and it can watch
 * the output's reader (pipe.h) so a stage whose next stage died stops
 * waiting for input at once. The writer prints one compact object per line
 * and flushes when the output is a pipe or a terminal.
 */
#ifndef AURORA_JSONL_H
#define AURORA_JSONL_H

#include <stddef.h>
#include <stdio.h>
#include <jq.h>

#define AUR_JSONL_MAX_LINE ((size_t)16 * 1024 * 1024)

struct aur_jsonl_reader {
	int fd;               /* borrowed; read with read(2) in large blocks */
	size_t max_line;      /* lines longer than this are skipped as too long */
	char *line;           /* the line last read, NUL-terminated, without its
			       * newline; borrowed until the next read */
	size_t len;
	unsigned long lineno; /* 1-based number of the line last read */
	int watch_fd;         /* output whose reader leaving ends the input; -1 */
	int eof;
	int error;            /* errno of a failed read, or EPIPE (see watch) */
	char *buf;            /* owned; unread input from start to end */
	size_t cap;
	size_t start;
	size_t end;
};

/*
 * Fill r to read from in (borrowed), or from the descriptor fd. The reader
 * does its own buffering: nothing else may read from in or fd. max_line 0
 * means AUR_JSONL_MAX_LINE.
 */
void aur_jsonl_reader_init(struct aur_jsonl_reader *r, FILE *in, size_t max_line);
void aur_jsonl_reader_init_fd(struct aur_jsonl_reader *r, int fd, size_t max_line);
/* Free the buffer; r->line is gone with it. NULL-safe. */
void aur_jsonl_reader_release(struct aur_jsonl_reader *r);

/*
 * Stop reading as soon as out_fd's reader goes away, when out_fd is a pipe
 * or socket (pipe.h): a read that would block then ends with -EPIPE.
 */
void aur_jsonl_reader_watch(struct aur_jsonl_reader *r, int out_fd);

/*
 * 1 when the next read will not block: bytes are buffered, the input is at
 * its end, or the descriptor is readable right now. Lets a caller group
 * records that arrive together without waiting for more.
 */
int aur_jsonl_reader_ready(struct aur_jsonl_reader *r);

/*
 * The next line, blank lines included. Returns 1 with *line and *len set
 * (also in r->line and r->len; borrowed until the next call; writable,
 * NUL-terminated); 0 at end of input; -E2BIG for a line longer than
 * max_line (skipped; r->lineno counts it); -EPIPE when the watched
 * output's reader went away; -EIO on a read error (errno says which).
 * A last line without a newline is still a line.
 */
int aur_jsonl_read_line(struct aur_jsonl_reader *r, char **line, size_t *len);

/*
 * Read the next non-blank line and parse it (jvio.h). Returns 1 with *out a
 * valid jv (caller frees with jv_free) and the line's text in r->line; 0 at
 * end of input; -E2BIG for a line past max_line (skipped; the caller
 * reports r->lineno); -EINVAL when the line is not JSON, with "invalid
 * JSON: " and the reason in err; -EPIPE when the watched output's reader
 * went away; -EIO on a read error.
 */
int aur_jsonl_read(struct aur_jsonl_reader *r, jv *out, char *err, size_t errlen);

/*
 * The message of a line that is not JSON: "invalid JSON: " and why, then
 * the line's first 80 bytes quoted, as aur_jsonl_read gives it.
 */
void aur_jsonl_invalid(char *err, size_t errlen, const char *why, const char *line, size_t len);

struct aur_jsonl_writer {
	FILE *out;    /* borrowed */
	int flush;    /* flush after every record */
};

/* flush: -1 decides by isatty/pipe (flush unless out is a regular file), 0 or 1 forces. */
void aur_jsonl_writer_init(struct aur_jsonl_writer *w, FILE *out, int flush);
/*
 * Write v (consumed) as one compact line, the text jv_dump_string(v, 0)
 * gives (printed by jvio; by libjq itself for what jvio refuses: nesting
 * past AUR_JVIO_MAX_DUMP_DEPTH, an invalid jv). 0 or -EIO.
 */
int aur_jsonl_write(struct aur_jsonl_writer *w, jv v);

#endif
