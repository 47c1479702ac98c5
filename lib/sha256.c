/*
 * SHA-256 after FIPS 180-4 sections 4.1.2, 4.2.2, 5.1.1, 5.3.3 and 6.2;
 * HMAC after RFC 2104 (FIPS 198-1). Byte-wise big-endian loads and stores,
 * so no alignment or host byte order matters; every 32-bit operation is
 * on uint32_t and every shift count is within 1..31.
 */
#include <stdint.h>
#include <string.h>

#include "be32.h"
#include "hex.h"
#include "sha256.h"
#include "banned.h"

/* the first 32 bits of the fractional parts of the cube roots of the first 64 primes */
static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* the first 32 bits of the fractional parts of the square roots of the first 8 primes */
static const uint32_t H0[8] = {
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

/* a store the compiler may not drop as dead: the contexts hold key-derived state */
static void wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;

	for (size_t i = 0; i < n; i++)
		v[i] = 0;
}

/* 0 < n < 32; the uint32_t return value drops what an int promotion kept */
static uint32_t rotr(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

/* FIPS 180-4 6.2.2: fold one 64-byte block into the hash value h */
/*
 * One round, FIPS 180-4 6.2.2 step 3, with the eight working variables
 * renamed instead of moved; Ch and Maj in their forms of fewer operations.
 */
#define ROUND(a, b, c, d, e, f, g, h, t)                                                          \
	do {                                                                                      \
		uint32_t t1 = (uint32_t)((h) + (rotr((e), 6) ^ rotr((e), 11) ^ rotr((e), 25)) +   \
					 ((g) ^ ((e) & ((f) ^ (g)))) + K[(t)] + w[(t)]);          \
		(d) = (uint32_t)((d) + t1);                                                       \
		(h) = (uint32_t)(t1 + (rotr((a), 2) ^ rotr((a), 13) ^ rotr((a), 22)) +            \
				 (((a) & (b)) | ((c) & ((a) | (b)))));                            \
	} while (0)

static void compress(uint32_t h[8], const unsigned char *block)
{
	uint32_t w[64];
	uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
	uint32_t e = h[4], f = h[5], g = h[6], hh = h[7];

	for (size_t t = 0; t < 16; t++)
		w[t] = aur_be32_load(block + 4 * t);
	for (size_t t = 16; t < 64; t++) {
		uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
		uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);

		w[t] = (uint32_t)(s1 + w[t - 7] + s0 + w[t - 16]);
	}
	/* eight rounds per pass: after eight, every variable is back in its place */
	for (size_t t = 0; t < 64; t += 8) {
		ROUND(a, b, c, d, e, f, g, hh, t);
		ROUND(hh, a, b, c, d, e, f, g, t + 1);
		ROUND(g, hh, a, b, c, d, e, f, t + 2);
		ROUND(f, g, hh, a, b, c, d, e, t + 3);
		ROUND(e, f, g, hh, a, b, c, d, t + 4);
		ROUND(d, e, f, g, hh, a, b, c, t + 5);
		ROUND(c, d, e, f, g, hh, a, b, t + 6);
		ROUND(b, c, d, e, f, g, hh, a, t + 7);
	}
	h[0] = (uint32_t)(h[0] + a);
	h[1] = (uint32_t)(h[1] + b);
	h[2] = (uint32_t)(h[2] + c);
	h[3] = (uint32_t)(h[3] + d);
	h[4] = (uint32_t)(h[4] + e);
	h[5] = (uint32_t)(h[5] + f);
	h[6] = (uint32_t)(h[6] + g);
	h[7] = (uint32_t)(h[7] + hh);
}

void aur_sha256_init(struct aur_sha256_ctx *ctx)
{
	memcpy(ctx->h, H0, sizeof(ctx->h));
	ctx->bytes = 0;
	ctx->buflen = 0;
}

void aur_sha256_update(struct aur_sha256_ctx *ctx, const void *data, size_t len)
{
	const unsigned char *p = data;

	if (len == 0)
		return;
	ctx->bytes += (uint64_t)len;
	if (ctx->buflen > 0) {
		size_t take = AUR_SHA256_BLOCK - ctx->buflen;

		if (take > len)
			take = len;
		memcpy(ctx->buf + ctx->buflen, p, take);
		ctx->buflen += take;
		p += take;
		len -= take;
		if (ctx->buflen < AUR_SHA256_BLOCK)
			return;
		compress(ctx->h, ctx->buf);
		ctx->buflen = 0;
	}
	for (; len >= AUR_SHA256_BLOCK; p += AUR_SHA256_BLOCK, len -= AUR_SHA256_BLOCK)
		compress(ctx->h, p);
	if (len > 0) {
		memcpy(ctx->buf, p, len);
		ctx->buflen = len;
	}
}

/* FIPS 180-4 5.1.1: a 1 bit, zeros to 448 mod 512 bits, the length in bits as 64 bits */
void aur_sha256_final(struct aur_sha256_ctx *ctx, unsigned char out[AUR_SHA256_LEN])
{
	uint64_t bits = ctx->bytes << 3;

	ctx->buf[ctx->buflen++] = 0x80;
	if (ctx->buflen > AUR_SHA256_BLOCK - 8) {
		memset(ctx->buf + ctx->buflen, 0, AUR_SHA256_BLOCK - ctx->buflen);
		compress(ctx->h, ctx->buf);
		ctx->buflen = 0;
	}
	memset(ctx->buf + ctx->buflen, 0, AUR_SHA256_BLOCK - 8 - ctx->buflen);
	aur_be32_store(ctx->buf + AUR_SHA256_BLOCK - 8, (uint32_t)(bits >> 32));
	aur_be32_store(ctx->buf + AUR_SHA256_BLOCK - 4, (uint32_t)bits);
	compress(ctx->h, ctx->buf);
	for (size_t i = 0; i < 8; i++)
		aur_be32_store(out + 4 * i, ctx->h[i]);
	wipe(ctx, sizeof(*ctx));
}

void aur_sha256(const void *data, size_t len, unsigned char out[AUR_SHA256_LEN])
{
	struct aur_sha256_ctx ctx;

	aur_sha256_init(&ctx);
	aur_sha256_update(&ctx, data, len);
	aur_sha256_final(&ctx, out);
}

/*
 * RFC 2104: K0 is the key, or its hash when longer than a block, padded
 * with zeros to a block; the MAC is H((K0 ^ opad) || H((K0 ^ ipad) || text)).
 */
void aur_hmac_sha256_init(struct aur_hmac_sha256_ctx *ctx, const void *key, size_t keylen)
{
	unsigned char k0[AUR_SHA256_BLOCK] = { 0 };
	unsigned char pad[AUR_SHA256_BLOCK];

	if (keylen > AUR_SHA256_BLOCK)
		aur_sha256(key, keylen, k0);
	else if (keylen > 0)
		memcpy(k0, key, keylen);
	for (size_t i = 0; i < AUR_SHA256_BLOCK; i++)
		pad[i] = (unsigned char)(k0[i] ^ 0x36);
	aur_sha256_init(&ctx->inner);
	aur_sha256_update(&ctx->inner, pad, sizeof(pad));
	for (size_t i = 0; i < AUR_SHA256_BLOCK; i++)
		pad[i] = (unsigned char)(k0[i] ^ 0x5c);
	aur_sha256_init(&ctx->outer);
	aur_sha256_update(&ctx->outer, pad, sizeof(pad));
	wipe(k0, sizeof(k0));
	wipe(pad, sizeof(pad));
}

void aur_hmac_sha256_update(struct aur_hmac_sha256_ctx *ctx, const void *data, size_t len)
{
	aur_sha256_update(&ctx->inner, data, len);
}

void aur_hmac_sha256_final(struct aur_hmac_sha256_ctx *ctx, unsigned char out[AUR_SHA256_LEN])
{
	unsigned char inner[AUR_SHA256_LEN];

	aur_sha256_final(&ctx->inner, inner);
	aur_sha256_update(&ctx->outer, inner, sizeof(inner));
	aur_sha256_final(&ctx->outer, out);
	wipe(inner, sizeof(inner));
}

void aur_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
		     unsigned char out[AUR_SHA256_LEN])
{
	struct aur_hmac_sha256_ctx ctx;

	aur_hmac_sha256_init(&ctx, key, keylen);
	aur_hmac_sha256_update(&ctx, msg, msglen);
	aur_hmac_sha256_final(&ctx, out);
}

void aur_sha256_hex(const void *data, size_t len, char out[AUR_HEX_SHA256_LEN + 1])
{
	unsigned char md[AUR_SHA256_LEN];

	aur_sha256(data, len, md);
	aur_hex_encode(md, sizeof(md), out);
}

void aur_hmac_sha256_hex(const char *key, size_t keylen, const void *msg, size_t msglen,
			 char out[AUR_HEX_SHA256_LEN + 1])
{
	unsigned char md[AUR_SHA256_LEN];

	aur_hmac_sha256(key, keylen, msg, msglen, md);
	aur_hex_encode(md, sizeof(md), out);
}
