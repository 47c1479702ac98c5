#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "auth.h"
#include "xalloc.h"
#include "banned.h"

static void to_hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

void aur_sha256_hex(const void *data, size_t len, char out[AUR_HEX_SHA256_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	to_hex(md, mdlen, out);
}

void aur_hmac_sha256_hex(const char *key, size_t keylen, const void *msg, size_t msglen,
			 char out[AUR_HEX_SHA256_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	HMAC(EVP_sha256(), key, (int)keylen, msg, msglen, md, &mdlen);
	to_hex(md, mdlen, out);
}

int aur_ct_streq(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen != blen)
		return 0;
	return CRYPTO_memcmp(a, b, alen) == 0;
}

int aur_token_matches(const char *token, size_t tokenlen, const char *stored_hex)
{
	char digest[AUR_HEX_SHA256_LEN + 1];

	if (!stored_hex || strlen(stored_hex) != AUR_HEX_SHA256_LEN || tokenlen == 0)
		return 0;
	aur_sha256_hex(token, tokenlen, digest);
	return aur_ct_streq(digest, AUR_HEX_SHA256_LEN, stored_hex, AUR_HEX_SHA256_LEN);
}

int aur_random_hex(char *out, size_t outlen, size_t bytes)
{
	unsigned char raw[128];

	if (bytes > sizeof(raw) || outlen < 2 * bytes + 1)
		return -EINVAL;
	if (RAND_bytes(raw, (int)bytes) != 1)
		return -EIO;
	to_hex(raw, bytes, out);
	OPENSSL_cleanse(raw, sizeof(raw));
	return 0;
}

int aur_basic_password(const char *value, char *out, size_t outlen)
{
	unsigned char decoded[1024];
	const char *b64;
	const char *colon;
	size_t inlen;
	size_t pwlen;
	int n;

	if (strncasecmp(value, "Basic ", 6) != 0)
		return -EINVAL;
	b64 = value + 6;
	while (*b64 == ' ')
		b64++;
	inlen = strlen(b64);
	while (inlen && isspace((unsigned char)b64[inlen - 1]))
		inlen--;
	if (inlen == 0 || inlen % 4 != 0 || inlen / 4 * 3 >= sizeof(decoded))
		return -EINVAL;
	n = EVP_DecodeBlock(decoded, (const unsigned char *)b64, (int)inlen);
	if (n < 0)
		return -EINVAL;
	/* EVP_DecodeBlock counts padding as output bytes */
	if (inlen >= 1 && b64[inlen - 1] == '=')
		n--;
	if (inlen >= 2 && b64[inlen - 2] == '=')
		n--;
	decoded[n] = '\0';
	colon = memchr(decoded, ':', (size_t)n);
	if (!colon)
		return -EINVAL;
	pwlen = (size_t)n - (size_t)(colon + 1 - (const char *)decoded);
	if (pwlen + 1 > outlen)
		return -E2BIG;
	memcpy(out, colon + 1, pwlen);
	out[pwlen] = '\0';
	OPENSSL_cleanse(decoded, sizeof(decoded));
	return 0;
}

int aur_verify_pagerduty(const char *secret, const char *header, const void *body, size_t len,
			 char *reason, size_t reasonlen)
{
	char want[AUR_HEX_SHA256_LEN + 1];
	const char *p = header;
	int seen = 0;
	int match = 0;

	if (!header || !*header) {
		snprintf(reason, reasonlen, "missing X-PagerDuty-Signature header");
		return -EACCES;
	}
	aur_hmac_sha256_hex(secret, strlen(secret), body, len, want);
	while (*p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		const char *item = p;

		while (n && *item == ' ') {
			item++;
			n--;
		}
		while (n && item[n - 1] == ' ')
			n--;
		if (n > 3 && !strncmp(item, "v1=", 3)) {
			seen++;
			/* check every entry, so timing does not tell which matched */
			match |= aur_ct_streq(item + 3, n - 3, want, AUR_HEX_SHA256_LEN);
		}
		if (!end)
			break;
		p = end + 1;
	}
	if (match)
		return 0;
	snprintf(reason, reasonlen, seen ? "X-PagerDuty-Signature does not match the body"
				      : "X-PagerDuty-Signature has no v1= signature");
	return -EACCES;
}

int aur_verify_grafana(const char *secret, const char *signature, const char *timestamp,
		       const void *body, size_t len, long long now_s, long long max_skew_s,
		       char *reason, size_t reasonlen)
{
	char want[AUR_HEX_SHA256_LEN + 1];
	char lower[AUR_HEX_SHA256_LEN + 1];
	size_t siglen;

	if (!signature || !*signature) {
		snprintf(reason, reasonlen, "missing X-Grafana-Alerting-Signature header");
		return -EACCES;
	}
	siglen = strlen(signature);
	if (siglen != AUR_HEX_SHA256_LEN) {
		snprintf(reason, reasonlen, "X-Grafana-Alerting-Signature is not a SHA-256 hex digest");
		return -EACCES;
	}
	for (size_t i = 0; i <= siglen; i++)
		lower[i] = (char)tolower((unsigned char)signature[i]);
	if (timestamp && *timestamp) {
		char *end = NULL;
		long long ts;
		size_t tslen = strlen(timestamp);
		unsigned char *msg;

		errno = 0;
		ts = strtoll(timestamp, &end, 10);
		if (errno || end == timestamp || *end) {
			snprintf(reason, reasonlen, "signature timestamp '%.32s' is not unix seconds", timestamp);
			return -EACCES;
		}
		if (ts < now_s - max_skew_s || ts > now_s + max_skew_s) {
			snprintf(reason, reasonlen, "signature timestamp is %lld s away from now (limit %lld s)",
				 ts > now_s ? ts - now_s : now_s - ts, max_skew_s);
			return -EACCES;
		}
		msg = aur_xmalloc(tslen + 1 + len);
		memcpy(msg, timestamp, tslen); /* NOLINT(bugprone-not-null-terminated-result): a byte message, not a string */
		msg[tslen] = ':';
		if (len)
			memcpy(msg + tslen + 1, body, len);
		aur_hmac_sha256_hex(secret, strlen(secret), msg, tslen + 1 + len, want);
		free(msg);
	} else {
		aur_hmac_sha256_hex(secret, strlen(secret), body, len, want);
	}
	if (aur_ct_streq(lower, siglen, want, AUR_HEX_SHA256_LEN))
		return 0;
	snprintf(reason, reasonlen, "X-Grafana-Alerting-Signature does not match the body");
	return -EACCES;
}
