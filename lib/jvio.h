/*
 * jvio.h - JSON text to libjq values and back, fast.
 *
 * libjq 1.6 parses and prints one character at a time through several
 * layers of calls; on alert payloads that costs far more than running a
 * mapping. These functions produce the same values and the same compact
 * text as jv_parse_sized and jv_dump_string(v, 0), at several times the
 * speed. aurora's one JSON-lines reader and writer (jsonl.h) are built on
 * them; tests/fuzz/normalize_fuzz.c holds them to libjq's results.
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
const char *aur_jvio_str(jv o, const char *k);

/*
 * Parse exactly one JSON value from s[0..len) (whitespace around it is
 * allowed). Returns 0 with *out set (caller frees with jv_free), or
 * -EINVAL with a one-line reason such as "unexpected character 'x' at
 * byte 12" in err.
 */
int aur_jvio_parse(const char *s, size_t len, jv *out, char *err, size_t errlen);

/*
 * As aur_jvio_parse, but a number beyond the range of a double (1e999) is
 * +-infinity, as libjq reads it, rather than the +-DBL_MAX libjq prints
 * for it: for callers that refuse such numbers (the incident API).
 */
int aur_jvio_parse_inf(const char *s, size_t len, jv *out, char *err, size_t errlen);

/*
 * As aur_jvio_parse, for callers that say where in their own terms (a line
 * and column): on failure err holds the reason alone ("expected ',' or
 * '}': 'x'", "unterminated string") and *at the offset in s of the byte the
 * parser stopped at, counted from 0; len when the text ended too soon.
 */
int aur_jvio_parse_at(const char *s, size_t len, jv *out, char *err, size_t errlen, size_t *at);

/*
 * Append v (borrowed) to b as compact JSON, the text jv_dump_string(v, 0)
 * would give. Returns 0; -E2BIG past b's limit or past
 * AUR_JVIO_MAX_DUMP_DEPTH, -EINVAL for an invalid jv. On failure b may hold
 * part of the text: callers that care remember b->len and cut back.
 */
int aur_jvio_dump(jv v, struct aur_buf *b);

/*
 * v (borrowed) as compact JSON in b (emptied first): aur_jvio_dump's text,
 * or, where it fails (b's limit, depth), libjq's jv_dump_string(v, 0).
 * For the text of a value stored in the database: libjq prints a small
 * object at tens of thousands of instructions.
 */
void aur_jvio_text(jv v, struct aur_buf *b);

/* Append s[0..len) (valid UTF-8) as a JSON string literal with quotes. */
int aur_jvio_dump_str(const char *s, size_t len, struct aur_buf *b);

/*
 * v (borrowed) quoted for a message into out, cut to outlen: a string as
 * it is, anything else as its JSON text (its kind's name when it has none).
 */
void aur_jvio_describe(jv v, char *out, size_t outlen);

#endif
