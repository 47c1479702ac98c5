/*
 * be32.h - 32-bit unsigned integers as four big-endian bytes, for the
 * formats aurora writes byte by byte: SHA-256's message schedule and
 * length (sha256.c), the count and size heading a stored vector
 * (correlate.c) and a sparse vector's entries (textvec.c).
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
