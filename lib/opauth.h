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
 * Cross-site requests: a request that changes something (POST, PUT,
 * PATCH, DELETE) and authenticates by the cookie, which a browser attaches
 * by itself, must come from a page of this receiver: its Origin (or,
 * without one, its Referer) must name the scheme's host and port of the
 * request's Host (or, with neither or "Origin: null", the browser's
 * Sec-Fetch-Site must say same-origin), else 403
 * {"error":"cross-site request refused"}. A
 * Bearer header is never sent by a browser on its own: those requests are
 * exempt.
 *
 * With no_auth (aurora-recv --no-auth, which the caller allows only on
 * loopback addresses) every request passes, except a state-changing one
 * without a Bearer header whose Origin or Referer names another site.
 */
#ifndef AURORA_OPAUTH_H
#define AURORA_OPAUTH_H

#include "dbpool.h"
#include "http.h"

#define AUR_OPAUTH_COOKIE "aurora_token"
#define AUR_OPAUTH_TOKEN_MAX 512
/* The operator's name under no_auth (who acknowledged, who commented). */
#define AUR_OPAUTH_NO_AUTH_NAME "anonymous"

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

/*
 * The same, also refusing a cross-site request (403, above), and copying
 * the token's name into who (when not NULL; AUR_OPAUTH_NO_AUTH_NAME under
 * no_auth).
 */
int aur_opauth_require_name(struct aur_opauth *a, struct aur_http_req *req, enum aur_http_next *next, char *who,
			    size_t wholen);

/*
 * 1 when the request's Origin, else (none, or "null") its Referer, names
 * the scheme, host and port of its Host header (a missing port is the
 * scheme's default); with neither, when the browser says
 * "Sec-Fetch-Site: same-origin". Otherwise, with neither header (no
 * "Origin: null" either): !required. 0 in every other case.
 */
int aur_opauth_same_origin(struct aur_http_req *req, int required);

/*
 * POST /api/login: is token (len bytes) an operator token? 1 with its name
 * in who, 0 when not, -EBUSY / -EIO with err set. Under no_auth an empty
 * token is taken too.
 */
int aur_opauth_login(struct aur_opauth *a, const char *token, size_t len, char *who, size_t wholen, char *err,
		     size_t errlen);

#endif
