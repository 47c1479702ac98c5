/*
 * sha256_fuzz - libFuzzer target for lib/sha256.c against libcrypto.
 *
 * The whole input is a message: aur_sha256 must equal libcrypto's SHA256,
 * and so must the incremental API fed the same bytes in pieces whose
 * lengths come from the input itself (empty pieces included). For HMAC the
 * first byte is a key length (0..255, so keys longer than a block are
 * hashed first), the next that many bytes the key and the rest the message:
 * aur_hmac_sha256, one-shot and in pieces, must equal libcrypto's HMAC.
 *
 * Built and run by scripts/fuzz (make fuzz); only the fuzz build and the
 * unit tests link libcrypto.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "sha256.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void differ(const char *what, size_t keylen, size_t size)
{
	fprintf(stderr, "%s differs from libcrypto (key %zu bytes, input %zu bytes)\n", what, keylen, size);
	abort();
}

/* the length of the next piece: a byte of the input picks 0..130 */
static size_t piece(const uint8_t *data, size_t size, size_t at, size_t left)
{
	size_t n = data[(at * 7 + 3) % size] % 131u;

	return n < left ? n : left;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char want[EVP_MAX_MD_SIZE];
	unsigned char got[AUR_SHA256_LEN];
	unsigned int wantlen = 0;
	struct aur_sha256_ctx sctx;
	struct aur_hmac_sha256_ctx hctx;
	const uint8_t *key;
	const uint8_t *msg;
	size_t keylen;
	size_t msglen;
	size_t at;

	SHA256(data, size, want);
	aur_sha256(data, size, got);
	if (memcmp(got, want, AUR_SHA256_LEN) != 0)
		differ("aur_sha256", 0, size);
	aur_sha256_init(&sctx);
	for (at = 0; at < size;) {
		size_t n = piece(data, size, at, size - at);

		/* an empty piece, then one byte, so the loop always moves */
		aur_sha256_update(&sctx, data + at, n);
		if (n == 0) {
			aur_sha256_update(&sctx, data + at, 1);
			n = 1;
		}
		at += n;
	}
	aur_sha256_final(&sctx, got);
	if (memcmp(got, want, AUR_SHA256_LEN) != 0)
		differ("aur_sha256_update in pieces", 0, size);

	/* HMAC needs the key-length byte; the empty input was hashed above */
	if (size == 0)
		return 0;
	keylen = data[0] < size - 1 ? data[0] : size - 1;
	key = data + 1;
	msg = key + keylen;
	msglen = size - 1 - keylen;
	if (!HMAC(EVP_sha256(), key, (int)keylen, msg, msglen, want, &wantlen) || wantlen != AUR_SHA256_LEN)
		abort();
	aur_hmac_sha256(key, keylen, msg, msglen, got);
	if (memcmp(got, want, AUR_SHA256_LEN) != 0)
		differ("aur_hmac_sha256", keylen, size);
	aur_hmac_sha256_init(&hctx, key, keylen);
	for (at = 0; at < msglen;) {
		size_t n = piece(data, size, at + keylen, msglen - at);

		aur_hmac_sha256_update(&hctx, msg + at, n);
		if (n == 0) {
			aur_hmac_sha256_update(&hctx, msg + at, 1);
			n = 1;
		}
		at += n;
	}
	aur_hmac_sha256_final(&hctx, got);
	if (memcmp(got, want, AUR_SHA256_LEN) != 0)
		differ("aur_hmac_sha256_update in pieces", keylen, size);
	return 0;
}
