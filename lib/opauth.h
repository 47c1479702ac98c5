/*
 * opauth.h - the operator token check of aurora-recv's operator routes:
 * the incident API, its SSE stream and /api/{platform}/status.
 *
 * A request presents the token as "Authorization: Bearer TOKEN" or as the
 * cookie aurora_token=TOKEN (for a browser page); the Bearer header wins
 * when both are sent. The token is hashed and looked up in
 * operator_tokens (optoken.h) on every request, so a new, rotated or
 * revoked token counts at once. Webhook tokens are never operator tokens
 * and the reverse: each route checks its own kind.
 *
 * With no_auth (aurora-recv --no-auth, which the caller allows only on
 * loopback addresses) every request passes.
 */
#ifndef AURORA_OPAUTH_H
#define AURORA_OPAUTH_H

#include "dbpool.h"
#include "http.h"

#define AUR_OPAUTH_COOKIE "aurora_token"
#define AUR_OPAUTH_TOKEN_MAX 512

struct aur_opauth_options {
	int no_auth;
	/* One line per refusal (level as in log.h); NULL drops them. */
	void (*log)(int level, const char *msg);
};

struct aur_opauth;

/* A check reading through pool (borrowed; must outlive it). Freed with aur_opauth_free. */
void aur_opauth_new(struct aur_opauth **out, const struct aur_opauth_options *o, struct aur_dbpool *pool);
/* NULL-safe. */
void aur_opauth_free(struct aur_opauth *a);

/*
 * In a route's HEADERS phase: 1 when the request may go on; else 0 with an
 * answer queued and *next set for the handler to return: 401 with
 * "WWW-Authenticate: Bearer" for a missing or unknown token, 503 with
 * Retry-After when the tokens cannot be read. Any thread.
 */
int aur_opauth_require(struct aur_opauth *a, struct aur_http_req *req, enum aur_http_next *next);

#endif
