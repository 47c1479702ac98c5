/*
 * sha256.h - SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), built in.
 *
 * aurora hashes connector tokens, checks the HMAC signatures of PagerDuty
 * and Grafana and fingerprints alerts; nothing else of a crypto library.
 * Loading and initialising libcrypto cost every process 1.5-2 ms at start,
 * and aurora-recv starts one process per connection under inetd or
 * tcpserver, so the two functions live here instead. libcrypto remains the
 * reference the unit tests and the fuzz target compare against.
 *
 * Contract: no allocation, no global state, no failure. A context is a
 * plain struct the caller owns (on the stack is fine); _init fills it,
 * _update may be called any number of times with any split of the message
 * (data may be NULL when len is 0), _final writes the digest and wipes the
 * context, which must be initialised again before it is reused. Message
 * lengths are counted in a uint64_t of bytes; FIPS 180-4 allows up to
 * 2^64 - 1 bits. These are not for passwords (no stretching) and do not
 * compare digests: use aur_ct_streq (auth.h) for that.
 */
#ifndef AURORA_SHA256_H
#define AURORA_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define AUR_SHA256_LEN 32       /* digest bytes */
#define AUR_HEX_SHA256_LEN 64   /* a digest's lowercase hex characters */
#define AUR_SHA256_BLOCK 64     /* block bytes; HMAC keys longer than this are hashed first */

struct aur_sha256_ctx {
	uint32_t h[8];                      /* the running hash value H(i) */
	uint64_t bytes;                     /* message bytes taken so far */
	unsigned char buf[AUR_SHA256_BLOCK]; /* the partial block */
	size_t buflen;                      /* bytes in buf, 0..63 */
};

struct aur_hmac_sha256_ctx {
	struct aur_sha256_ctx inner;  /* H((K0 ^ ipad) || text ...) */
	struct aur_sha256_ctx outer;  /* H((K0 ^ opad) || ...), fed at _final */
};

/* Start a SHA-256 computation in ctx. */
void aur_sha256_init(struct aur_sha256_ctx *ctx);
/* Hash len more bytes of the message. */
void aur_sha256_update(struct aur_sha256_ctx *ctx, const void *data, size_t len);
/* out gets the 32-byte digest; ctx is wiped and must be re-initialised to reuse. */
void aur_sha256_final(struct aur_sha256_ctx *ctx, unsigned char out[AUR_SHA256_LEN]);
/* out gets SHA-256(data[0..len)). */
void aur_sha256(const void *data, size_t len, unsigned char out[AUR_SHA256_LEN]);

/*
 * Start HMAC-SHA256 under key (keylen bytes, any length, 0 included; a key
 * longer than 64 bytes is replaced by its SHA-256, per RFC 2104). The
 * context keeps no copy of the key, only the two padded-key hash states;
 * they are secret, and _final wipes them.
 */
void aur_hmac_sha256_init(struct aur_hmac_sha256_ctx *ctx, const void *key, size_t keylen);
/* Authenticate len more bytes of the message. */
void aur_hmac_sha256_update(struct aur_hmac_sha256_ctx *ctx, const void *data, size_t len);
/* out gets the 32-byte MAC; ctx is wiped and must be re-initialised to reuse. */
void aur_hmac_sha256_final(struct aur_hmac_sha256_ctx *ctx, unsigned char out[AUR_SHA256_LEN]);
/* out gets HMAC-SHA256(key, msg). */
void aur_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
		     unsigned char out[AUR_SHA256_LEN]);

/* out gets SHA-256(data[0..len)) as 64 lowercase hex characters and a NUL. */
void aur_sha256_hex(const void *data, size_t len, char out[AUR_HEX_SHA256_LEN + 1]);
/* out gets HMAC-SHA256(key, msg) as 64 lowercase hex characters and a NUL. */
void aur_hmac_sha256_hex(const char *key, size_t keylen, const void *msg, size_t msglen,
			 char out[AUR_HEX_SHA256_LEN + 1]);

#endif
