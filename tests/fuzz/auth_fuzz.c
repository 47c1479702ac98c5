/*
 * auth_fuzz - libFuzzer target for the webhook checks of lib/auth.c: every
 * platform's signature (PagerDuty's v1= list, Grafana's digest with and
 * without its timestamp, an added platform's hex digest with or without
 * "sha256="), the token digest and the Basic password, on hostile headers.
 *
 * The first byte picks the check and the clock's skew; the rest is split
 * on NUL bytes into the secret, the header value(s) and the body. Beyond
 * the sanitizers, what is accepted must be what the platform signs:
 *   - a header is accepted exactly when it holds the HMAC-SHA256 of the
 *     body (Grafana: of "timestamp:body" within the skew) as the reference
 *     below spells it out, computed by aur_hmac_sha256_hex, which
 *     sha256_fuzz checks against libcrypto;
 *   - the right signature, written as a sender writes it, is accepted, and
 *     the same with one hex digit changed is refused;
 *   - a refusal always says why;
 *   - a token matches its own digest and nothing else's; a Basic value
 *     built from "user:password" gives the password back.
 * Built and run by scripts/fuzz (make fuzz) and replayed by make check.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW_S 1800000000LL
#define FIELDS 4

static void fail(const char *what, const char *detail)
{
	fprintf(stderr, "auth_fuzz: %s: %s\n", what, detail ? detail : "");
	abort();
}

/* The first FIELDS-1 pieces of text[0..len) end at a NUL; the body is the rest, *bodylen bytes. */
static void split(char *text, size_t len, const char *f[FIELDS], size_t *bodylen)
{
	size_t at = 0;

	for (int i = 0; i < FIELDS - 1; i++) {
		f[i] = at < len ? text + at : "";
		if (at < len)
			at += strnlen(text + at, len - at) + 1;
	}
	f[FIELDS - 1] = at < len ? text + at : "";
	*bodylen = at < len ? len - at : 0;
}

/* The hex digest in s[0..n) equals want (lowercase), case-insensitively. */
static int hex_equal(const char *s, size_t n, const char *want)
{
	return n == AUR_HEX_SHA256_LEN && !strncasecmp(s, want, n);
}

/* s with its first character changed to another hex digit */
static void flip(char *s)
{
	s[0] = s[0] == '0' ? '1' : '0';
}

static void check_refusal(int rc, const char *reason)
{
	if (rc != 0 && rc != -EACCES)
		fail("an odd return code", reason);
	if (rc != 0 && !reason[0])
		fail("a refusal without a reason", NULL);
}

/* PagerDuty: accepted when one comma-separated entry, spaces trimmed, is v1=<digest> (lowercase). */
static int pagerduty_reference(const char *header, const char *want)
{
	const char *p = header;

	for (;;) {
		size_t n = strcspn(p, ",");
		const char *item = p;

		while (n && *item == ' ')
			item++, n--;
		while (n && item[n - 1] == ' ')
			n--;
		if (n == 3 + AUR_HEX_SHA256_LEN && !strncmp(item, "v1=", 3) && !strncmp(item + 3, want, n - 3))
			return 1;
		if (!p[strcspn(p, ",")])
			return 0;
		p += strcspn(p, ",") + 1;
	}
}

static void pagerduty(const char *secret, const char *header, const char *body, size_t len)
{
	char want[AUR_HEX_SHA256_LEN + 1];
	char good[3 * AUR_HEX_SHA256_LEN];
	char reason[256] = "";
	int rc;

	aur_hmac_sha256_hex(secret, strlen(secret), body, len, want);
	rc = aur_verify_pagerduty(secret, header, body, len, reason, sizeof(reason));
	check_refusal(rc, reason);
	if ((rc == 0) != (*header && pagerduty_reference(header, want)))
		fail(rc == 0 ? "pagerduty accepted a header without the signature" : "pagerduty refused its signature",
		     header);
	/* a rotation: an old signature first, the right one second */
	snprintf(good, sizeof(good), "v1=%s, v1=%s", want, want);
	flip(good + 3);
	if (aur_verify_pagerduty(secret, good, body, len, reason, sizeof(reason)) != 0)
		fail("pagerduty refused the right signature after another", good);
	flip(good + AUR_HEX_SHA256_LEN + 8);
	if (aur_verify_pagerduty(secret, good, body, len, reason, sizeof(reason)) == 0)
		fail("pagerduty accepted two wrong signatures", good);
}

static void grafana(const char *secret, const char *sig, const char *ts, const char *body, size_t len,
		    long long skew)
{
	char want[AUR_HEX_SHA256_LEN + 1];
	char reason[256] = "";
	char stamp[32];
	char *msg;
	int rc;

	/* without a timestamp: the digest of the body */
	aur_hmac_sha256_hex(secret, strlen(secret), body, len, want);
	rc = aur_verify_grafana(secret, sig, NULL, body, len, NOW_S, skew, reason, sizeof(reason));
	check_refusal(rc, reason);
	if ((rc == 0) != hex_equal(sig, strlen(sig), want))
		fail("grafana (no timestamp) disagrees with the reference", sig);
	/* with the fuzzed timestamp: anything accepted is a digest within the skew */
	rc = aur_verify_grafana(secret, sig, ts, body, len, NOW_S, skew, reason, sizeof(reason));
	check_refusal(rc, reason);
	if (rc == 0 && *ts) {
		char *end;
		long long t;

		errno = 0;
		t = strtoll(ts, &end, 10);
		if (errno || *end || end == ts || t < NOW_S - skew || t > NOW_S + skew)
			fail("grafana accepted a timestamp outside the skew", ts);
		msg = malloc(strlen(ts) + 1 + len + 1);
		if (!msg)
			abort();
		memcpy(msg, ts, strlen(ts));
		msg[strlen(ts)] = ':';
		memcpy(msg + strlen(ts) + 1, body, len);
		aur_hmac_sha256_hex(secret, strlen(secret), msg, strlen(ts) + 1 + len, want);
		free(msg);
		if (!hex_equal(sig, strlen(sig), want))
			fail("grafana accepted a signature that is not the digest of timestamp:body", sig);
	}
	/* the right signature, uppercase as some senders write it, with a fresh timestamp */
	snprintf(stamp, sizeof(stamp), "%lld", NOW_S - skew);
	msg = malloc(strlen(stamp) + 1 + len + 1);
	if (!msg)
		abort();
	memcpy(msg, stamp, strlen(stamp));
	msg[strlen(stamp)] = ':';
	memcpy(msg + strlen(stamp) + 1, body, len);
	aur_hmac_sha256_hex(secret, strlen(secret), msg, strlen(stamp) + 1 + len, want);
	free(msg);
	for (char *c = want; *c; c++)
		*c = (char)toupper((unsigned char)*c);
	if (aur_verify_grafana(secret, want, stamp, body, len, NOW_S, skew, reason, sizeof(reason)) != 0)
		fail("grafana refused the right signature", reason);
	flip(want);
	if (aur_verify_grafana(secret, want, stamp, body, len, NOW_S, skew, reason, sizeof(reason)) == 0)
		fail("grafana accepted a changed signature", want);
}

static void added(const char *secret, const char *sig, const char *body, size_t len)
{
	char want[AUR_HEX_SHA256_LEN + 1];
	char good[AUR_HEX_SHA256_LEN + 8];
	char reason[256] = "";
	const char *s = sig;
	int rc;

	aur_hmac_sha256_hex(secret, strlen(secret), body, len, want);
	rc = aur_verify_hmac_hex(secret, "X-Signature", sig, body, len, reason, sizeof(reason));
	check_refusal(rc, reason);
	if (!strncasecmp(s, "sha256=", 7))
		s += 7;
	if ((rc == 0) != hex_equal(s, strlen(s), want))
		fail("an added platform's check disagrees with the reference", sig);
	if (rc != 0 && !strstr(reason, "X-Signature"))
		fail("a refusal that does not name the header", reason);
	snprintf(good, sizeof(good), "sha256=%s", want);
	if (aur_verify_hmac_hex(secret, "X-Signature", good, body, len, reason, sizeof(reason)) != 0)
		fail("an added platform refused the right signature", good);
	flip(good + 7);
	if (aur_verify_hmac_hex(secret, "X-Signature", good, body, len, reason, sizeof(reason)) == 0)
		fail("an added platform accepted a changed signature", good);
}

static void token(const char *tok, size_t len, const char *stored)
{
	char digest[AUR_HEX_SHA256_LEN + 1];

	aur_sha256_hex(tok, len, digest);
	if (len > 0 && !aur_token_matches(tok, len, digest))
		fail("a token does not match its own digest", NULL);
	if (aur_token_matches(tok, len, stored) != (len > 0 && !strcmp(stored, digest)))
		fail("a token matched a digest that is not its own", stored);
}

static void b64(const unsigned char *in, size_t n, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		unsigned long g = (unsigned long)in[i] << 16;

		g |= i + 1 < n ? (unsigned long)in[i + 1] << 8 : 0;
		g |= i + 2 < n ? in[i + 2] : 0;
		out[o++] = a[(g >> 18) & 63];
		out[o++] = a[(g >> 12) & 63];
		out[o++] = i + 1 < n ? a[(g >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? a[g & 63] : '=';
	}
	out[o] = '\0';
}

static void basic(const char *value, const char *user, const char *password)
{
	char out[1100];
	char plain[600];
	char header[900];
	size_t n;
	int rc;

	rc = aur_basic_password(value, out, sizeof(out));
	if (rc == 0 && strlen(out) >= sizeof(out))
		fail("a password past its buffer", NULL);
	if (rc != 0 && rc != -EINVAL && rc != -E2BIG)
		fail("an odd return code from aur_basic_password", value);
	/* a password too long for a small buffer is refused, not cut */
	rc = aur_basic_password(value, out, 4);
	if (rc == 0 && strlen(out) > 3)
		fail("a password past a small buffer", NULL);
	if (strlen(user) > 200 || strlen(password) > 300 || strchr(user, ':'))
		return;
	n = (size_t)snprintf(plain, sizeof(plain), "%s:%s", user, password);
	memcpy(header, "Basic ", 6);
	b64((const unsigned char *)plain, n, header + 6);
	if (aur_basic_password(header, out, sizeof(out)) != 0 || strcmp(out, password) != 0)
		fail("a Basic value does not give its password back", header);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *f[FIELDS];
	size_t lastlen;
	char *text;
	long long skew;

	if (size < 1 || size > 65536)
		return 0;
	/* NUL-terminated pieces; the body keeps its NUL bytes beyond the split */
	text = malloc(size);
	if (!text)
		abort();
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	split(text, size - 1, f, &lastlen);
	skew = (long long)(data[0] >> 3) * 60;
	switch (data[0] % 5) {
	case 0:
		pagerduty(f[0], f[1], f[3], lastlen);
		break;
	case 1:
		grafana(f[0], f[1], f[2], f[3], lastlen, skew);
		break;
	case 2:
		added(f[0], f[1], f[3], lastlen);
		break;
	case 3:
		token(f[0], strlen(f[0]), f[1]);
		token(f[3], lastlen, f[1]);
		break;
	default:
		basic(f[0], f[1], f[2]);
		break;
	}
	free(text);
	return 0;
}
