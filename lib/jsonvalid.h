/*
 * jsonvalid.h - is this one JSON value? Without building it.
 *
 * A receiver only needs to know that a body is JSON; building it with
 * libjq to throw it away was a fifth of aurora-recv's CPU per delivery.
 * This checks RFC 8259 syntax in one pass with no allocation. It is strict:
 * what it refuses may still be something lib/jvio reads (invalid UTF-8
 * and a lone surrogate escape, which it replaces by U+FFFD), so a caller
 * that refuses input asks jvio before it answers, and uses its message
 * (what and where).
 */
#ifndef AURORA_JSONVALID_H
#define AURORA_JSONVALID_H

#include <stddef.h>

#define AUR_JSONVALID_MAX_DEPTH 256

/*
 * 1 when the n bytes at s are exactly one JSON value, with optional
 * whitespace around it, strings in valid UTF-8 and at most
 * AUR_JSONVALID_MAX_DEPTH nested arrays and objects; 0 otherwise.
 */
int aur_jsonvalid_check(const void *s, size_t n);

#endif
