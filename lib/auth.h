/*
 * auth.h - webhook tokens and signatures.
 *
 * Tokens are stored as SHA-256 hex digests and compared in constant time;
 * signatures are HMAC-SHA256 over the raw body as each platform defines it
 * (shared PLATFORMS.md): PagerDuty "X-PagerDuty-Signature: v1=<hex>[,v1=<hex>]",
 * Grafana "X-Grafana-Alerting-Signature: <hex>" over the body, or over
 * "<unix seconds>:<body>" when a timestamp header is sent; a platform an
 * operator added, "<its header>: <hex>" over the body.
 *
 * SHA-256 and HMAC come from lib/sha256.c, randomness from getentropy(3):
 * the programs do not load libcrypto.
 */
#ifndef AURORA_AUTH_H
#define AURORA_AUTH_H

#include <stddef.h>

/* digests in hex (aur_sha256_hex, AUR_HEX_SHA256_LEN) are sha256.h's */
#include "sha256.h"

/*
 * 1 when a and b are equal, comparing in time independent of where they
 * differ (lengths are not secret: different lengths compare unequal at once).
 */
int aur_ct_streq(const char *a, size_t alen, const char *b, size_t blen);
/*
 * Overwrite len bytes at p with zeros through a volatile pointer, so the
 * compiler keeps the stores even when p is freed or goes out of scope next:
 * for passwords and secrets that must not outlive their use.
 */
void aur_auth_wipe(void *p, size_t len);
/* 1 when sha256(token) equals the stored hex digest, in constant time. */
int aur_token_matches(const char *token, size_t tokenlen, const char *stored_hex);
/*
 * Fill out with 2*bytes hex characters from the kernel's CSPRNG and a NUL;
 * outlen must be at least 2*bytes+1. 0 or -EIO.
 */
int aur_random_hex(char *out, size_t outlen, size_t bytes);
/*
 * From an "Authorization: Basic <base64>" value, copy the password into out.
 * 0, or -EINVAL when the value is not Basic, not base64 or has no colon,
 * -E2BIG when the password does not fit.
 */
int aur_basic_password(const char *value, char *out, size_t outlen);
/*
 * PagerDuty: 0 when any v1= entry of header is the HMAC of body under
 * secret; -EACCES otherwise (reason says why).
 */
int aur_verify_pagerduty(const char *secret, const char *header, const void *body, size_t len,
			 char *reason, size_t reasonlen);
/*
 * Grafana: 0 when signature is the HMAC of body (timestamp NULL) or of
 * "timestamp:body" and the timestamp is within max_skew_s of now_s;
 * -EACCES otherwise (reason says why: missing, mismatch, stale).
 */
int aur_verify_grafana(const char *secret, const char *signature, const char *timestamp,
		       const void *body, size_t len, long long now_s, long long max_skew_s,
		       char *reason, size_t reasonlen);

/*
 * A platform an operator added (aurora-connector add --hmac-header NAME):
 * 0 when signature, the value of header NAME, is the hex HMAC-SHA256 of
 * body under secret (either case; a "sha256=" prefix, as GitHub-style
 * senders write it, is allowed); -EACCES otherwise (reason says why,
 * naming the header).
 */
int aur_verify_hmac_hex(const char *secret, const char *header_name, const char *signature,
			const void *body, size_t len, char *reason, size_t reasonlen);

#endif
