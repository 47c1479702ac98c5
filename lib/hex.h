/*
 * hex.h - the value of one hexadecimal digit, for the parsers that decode
 * %XX escapes, \uXXXX escapes and digests; and bytes as lowercase hex, for
 * digests, fingerprints and random tokens.
 */
#ifndef AURORA_HEX_H
#define AURORA_HEX_H

#include <stddef.h>

/* 0..15 for 0-9, a-f, A-F; -1 for anything else. */
static inline int aur_hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The four hex digits at p (the caller checked that four bytes are there) as a number; -1 when not hex. */
static inline long aur_hex4(const char *p)
{
	long v = 0;

	for (int i = 0; i < 4; i++) {
		int h = aur_hex_value((unsigned char)p[i]);

		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/* in[0..n) as 2n lowercase hex characters and a NUL into out (2n+1 bytes). */
static inline void aur_hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

#endif
