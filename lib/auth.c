#define _DEFAULT_SOURCE

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>
#include <sys/random.h>

#include "auth.h"
#include "hex.h"
#include "sha256.h"
#include "xalloc.h"
#include "banned.h"

int aur_ct_streq(const char *a, size_t alen, const char *b, size_t blen)
{
	/* volatile: the compiler may not turn the loop into an early exit */
	volatile unsigned char diff = 0;

	if (alen != blen)
		return 0;
	for (size_t i = 0; i < alen; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

void aur_auth_wipe(void *p, size_t len)
{
	/* a memset the compiler may not drop as a dead store; a byte loop through volatile cost 1% of the receiver */
	explicit_bzero(p, len);
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
	/* getentropy(3): the kernel's CSPRNG, up to 256 bytes, blocks only before it is seeded */
	if (getentropy(raw, bytes) != 0)
		return -EIO;
	aur_hex_encode(raw, bytes, out);
	aur_auth_wipe(raw, sizeof(raw));
	return 0;
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Decode standard base64 (RFC 4648 section 4): len a multiple of 4, '='
 * only as the last one or two characters. out has room for len / 4 * 3
 * bytes. The decoded length, or -1.
 */
static int b64_decode(const char *in, size_t len, unsigned char *out)
{
	size_t n = 0;

	if (len % 4 != 0)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		int last = i + 4 == len;
		int pad3 = last && in[i + 3] == '=';
		int pad2 = pad3 && in[i + 2] == '=';
		int v0 = b64_value((unsigned char)in[i]);
		int v1 = b64_value((unsigned char)in[i + 1]);
		int v2 = pad2 ? 0 : b64_value((unsigned char)in[i + 2]);
		int v3 = pad3 ? 0 : b64_value((unsigned char)in[i + 3]);
		unsigned long group;

		if (v0 < 0 || v1 < 0 || v2 < 0 || v3 < 0)
			return -1;
		group = ((unsigned long)v0 << 18) | ((unsigned long)v1 << 12) |
			((unsigned long)v2 << 6) | (unsigned long)v3;
		out[n++] = (unsigned char)(group >> 16);
		if (!pad2)
			out[n++] = (unsigned char)(group >> 8);
		if (!pad3)
			out[n++] = (unsigned char)group;
	}
	return (int)n;
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
	n = b64_decode(b64, inlen, decoded);
	if (n < 0)
		return -EINVAL;
	decoded[n] = '\0';
	colon = memchr(decoded, ':', (size_t)n);
	if (!colon)
		return -EINVAL;
	pwlen = (size_t)n - (size_t)(colon + 1 - (const char *)decoded);
	if (pwlen + 1 > outlen)
		return -E2BIG;
	memcpy(out, colon + 1, pwlen);
	out[pwlen] = '\0';
	aur_auth_wipe(decoded, sizeof(decoded));
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
			/* in unsigned arithmetic: from a timestamp near LLONG_MIN the distance overflows long long */
			snprintf(reason, reasonlen, "signature timestamp is %llu s away from now (limit %lld s)",
				 ts > now_s ? (unsigned long long)ts - (unsigned long long)now_s
					    : (unsigned long long)now_s - (unsigned long long)ts,
				 max_skew_s);
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

int aur_verify_hmac_hex(const char *secret, const char *header_name, const char *signature,
			const void *body, size_t len, char *reason, size_t reasonlen)
{
	char want[AUR_HEX_SHA256_LEN + 1];
	char lower[AUR_HEX_SHA256_LEN + 1];
	size_t siglen;

	if (!signature || !*signature) {
		snprintf(reason, reasonlen, "missing %.64s header (the HMAC-SHA256 of the body, in hex)", header_name);
		return -EACCES;
	}
	if (!strncasecmp(signature, "sha256=", 7))
		signature += 7;
	siglen = strlen(signature);
	if (siglen != AUR_HEX_SHA256_LEN) {
		snprintf(reason, reasonlen, "%.64s is not a SHA-256 hex digest", header_name);
		return -EACCES;
	}
	for (size_t i = 0; i <= siglen; i++)
		lower[i] = (char)tolower((unsigned char)signature[i]);
	aur_hmac_sha256_hex(secret, strlen(secret), body, len, want);
	if (aur_ct_streq(lower, siglen, want, AUR_HEX_SHA256_LEN))
		return 0;
	snprintf(reason, reasonlen, "%.64s does not match the body", header_name);
	return -EACCES;
}
