/*
 * be32.h - 32-bit numbers as four bytes, most significant first: the
 * stored vectors' counts and entries (textvec.c, semvec.c) and SHA-256's
 * words (sha256.c). Inline: a vector's blob is read entry by entry for
 * every candidate incident, and SHA-256 loads sixteen words per block.
 */
#ifndef AURORA_BE32_H
#define AURORA_BE32_H

#include <stdint.h>

/* The value of the four bytes at p, most significant first. */
static inline uint32_t aur_be32_load(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* x into the four bytes at p, most significant first. */
static inline void aur_be32_store(unsigned char *p, uint32_t x)
{
	p[0] = (unsigned char)(x >> 24);
	p[1] = (unsigned char)(x >> 16);
	p[2] = (unsigned char)(x >> 8);
	p[3] = (unsigned char)x;
}

#endif
