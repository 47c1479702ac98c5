/*
 * jsonl_fuzz - libFuzzer target for the JSON-lines reader, lib/jsonl.c
 * (what every aurora command reads its input with: aur_jsonl_read_line for
 * lines, aur_jsonl_read for records) and jvio's parser under it, on one
 * hostile stream.
 *
 * The first byte picks the line limit (1 to 4096 bytes, or the default);
 * the rest is the stream, read twice from a file descriptor as the commands
 * read stdin: once line by line, once record by record. Beyond the
 * sanitizers:
 *   - both see the same lines: the same count, the same lines too long
 *     (over the limit, skipped whole), and the records are the lines
 *     without the blank ones;
 *   - a record is what aur_jvio_parse makes of its line, and a line it
 *     refuses is refused with "invalid JSON: " and the reason;
 *   - aur_jvio_parse agrees with libjq: whatever strict JSON libjq reads
 *     (lib/jsonvalid.c judges; libjq 1.6 also reads 01 and worse), jvio
 *     reads to the same value; what jvio alone reads holds a \u escape (the
 *     lone surrogate jvio.h documents); and jvio reads whatever
 *     lib/jsonvalid.c calls JSON.
 * Built and run by scripts/fuzz (make fuzz) and replayed by make check.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <jq.h>

#include "jsonl.h"
#include "jsonvalid.h"
#include "jvio.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *line, size_t len)
{
	fprintf(stderr, "jsonl_fuzz: %s: %.*s\n", what, (int)(len < 300 ? len : 300), line ? line : "");
	abort();
}

/* The compact text of v (consumed), to compare values that jv_equal cannot (nan). */
static char *dump(jv v)
{
	jv s = jv_dump_string(v, 0);
	char *out = strdup(jv_string_value(s));

	jv_free(s);
	if (!out)
		abort();
	return out;
}

static int blank(const char *line, size_t len)
{
	return strspn(line, " \t\r") >= len;
}

/* jvio's parser against libjq's on one line */
static void check_parse(const char *line, size_t len)
{
	char err[256];
	jv mine;
	jv lib = jv_parse_sized(line, (int)len);
	int ok = aur_jvio_parse(line, len, &mine, err, sizeof(err)) == 0;

	if (!ok && aur_jsonvalid_check(line, len))
		fail("jvio refuses a line lib/jsonvalid.c calls strict JSON", line, len);

	if (jv_is_valid(lib)) {
		char *a;
		char *b;

		/*
		 * libjq 1.6 reads more than JSON: numbers such as 00 or 01, a
		 * literal that starts with a NUL byte (as 0: {"a":\0x} is
		 * {"a":0}); jvio, as lib/jsonvalid.c, does not
		 */
		if (!ok && !aur_jsonvalid_check(line, len)) {
			jv_free(lib);
			return;
		}
		if (!ok)
			fail("libjq reads a line of strict JSON jvio refuses", line, len);
		a = dump(jv_copy(lib));
		b = dump(mine);
		if (strcmp(a, b) != 0)
			fail("jvio and libjq read different values", line, len);
		free(a);
		free(b);
	} else if (ok) {
		if (!memmem(line, len, "\\u", 2))
			fail("jvio reads a line libjq refuses, without a \\u escape", line, len);
		jv_free(mine);
	} else if (!err[0]) {
		fail("jvio refused without a reason", line, len);
	}
	jv_free(lib);
}

/* A descriptor reading data[0..size) from its start. */
static int stream_of(const uint8_t *data, size_t size)
{
	int fd = memfd_create("jsonl_fuzz", 0);

	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size) || lseek(fd, 0, SEEK_SET) != 0)
		abort();
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aur_jsonl_reader jr; /* records */
	struct aur_jsonl_reader lr; /* lines */
	size_t max_line;
	int jfd, lfd;
	char err[512];

	if (size < 1)
		return 0;
	max_line = data[0] == 0 ? 0 : (size_t)data[0] * 16;
	jfd = stream_of(data + 1, size - 1);
	lfd = stream_of(data + 1, size - 1);
	aur_jsonl_reader_init_fd(&jr, jfd, max_line);
	aur_jsonl_reader_init_fd(&lr, lfd, max_line);
	for (;;) {
		char *line = NULL;
		size_t len = 0;
		int lrc;
		int jrc;
		jv v = jv_invalid();

		/* the next record's line: the next non-blank one */
		do
			lrc = aur_jsonl_read_line(&lr, &line, &len);
		while (lrc == 1 && blank(line, len));
		err[0] = '\0';
		jrc = aur_jsonl_read(&jr, &v, err, sizeof(err));
		if (lrc == 0 || lrc == -E2BIG) {
			if (jrc != lrc)
				fail(lrc ? "a record from a line too long" : "a record past the end", jr.line, jr.len);
		} else if (lrc == 1) {
			char perr[256];
			jv ref;
			int parsed = aur_jvio_parse(line, len, &ref, perr, sizeof(perr)) == 0;

			if (jrc != (parsed ? 1 : -EINVAL))
				fail("the record reader and the parser disagree on a line", line, len);
			if (jrc == 1) {
				char *a = dump(jv_copy(ref));
				char *b = dump(jv_copy(v));

				if (strcmp(a, b) != 0)
					fail("the record reader changed a value", line, len);
				free(a);
				free(b);
			} else if (strncmp(err, "invalid JSON: ", 14) != 0) {
				fail("a refusal without its reason", err, strlen(err));
			}
			if (parsed)
				jv_free(ref);
			check_parse(line, len);
		} else {
			fail("the line reader failed to read", NULL, 0);
		}
		if (jrc == 1)
			jv_free(v);
		if (jr.lineno != lr.lineno && lrc != 0)
			fail("the readers count lines differently", line, len);
		if (lrc == 0)
			break;
	}
	aur_jsonl_reader_release(&jr);
	aur_jsonl_reader_release(&lr);
	close(jfd);
	close(lfd);
	return 0;
}
