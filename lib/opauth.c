#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "opauth.h"
#include "optoken.h"
#include "xalloc.h"
#include "banned.h"

struct aur_opauth {
	struct aur_opauth_options o;
	struct aur_dbpool *pool;
};

void aur_opauth_new(struct aur_opauth **out, const struct aur_opauth_options *o, struct aur_dbpool *pool)
{
	struct aur_opauth *a = aur_xcalloc(1, sizeof(*a));

	a->o = *o;
	a->pool = pool;
	*out = a;
}

void aur_opauth_free(struct aur_opauth *a)
{
	free(a);
}

/* say(x, level, fmt, ...): a line to x's log callback (log.h) */
#define say(x, ...) aur_log_to((x)->o.log, __VA_ARGS__)

/*
 * The token the request presents, and its length without trailing blanks;
 * NULL when none. *cookie: it came from the cookie (a browser sends that
 * by itself, to any site's requests too).
 */
static const char *presented(struct aur_http_req *req, size_t *len, int *cookie)
{
	const char *auth = aur_http_header(req, "Authorization");
	const char *t = NULL;

	if (auth && !strncasecmp(auth, "Bearer", 6) && (auth[6] == ' ' || auth[6] == '\t')) {
		t = auth + 7;
		while (*t == ' ' || *t == '\t')
			t++;
	}
	*cookie = 0;
	if (!t || !*t) {
		t = aur_http_cookie(req, AUR_OPAUTH_COOKIE);
		*cookie = 1;
	}
	if (!t || !*t)
		return NULL;
	*len = strlen(t);
	while (*len && (t[*len - 1] == ' ' || t[*len - 1] == '\t'))
		(*len)--;
	return *len ? t : NULL;
}

static enum aur_http_next refuse(const struct aur_opauth *a, struct aur_http_req *req, int wrong)
{
	say(a, AUR_LOG_INFO, "%s %s from %s: 401 %s operator token", aur_http_method_name(req), aur_http_path(req),
	    aur_http_remote(req), wrong ? "wrong" : "no");
	aur_http_add_header(req, "WWW-Authenticate",
			    wrong ? "Bearer realm=\"aurora\", error=\"invalid_token\"" : "Bearer realm=\"aurora\"");
	if (wrong)
		return aur_http_respond_error(req, 401, "wrong operator token");
	return aur_http_respond_error(req, 401, "operator token required: send Authorization: Bearer TOKEN or"
						" the cookie " AUR_OPAUTH_COOKIE "=TOKEN (aurora-connector"
						" operator-token NAME makes one)");
}

/* The length of an authority's host (an IPv6 literal in brackets included), or 0 when malformed. */
static size_t host_len(const char *auth, size_t len)
{
	if (len && auth[0] == '[') {
		const char *end = memchr(auth, ']', len);

		return end ? (size_t)(end - auth) + 1 : 0;
	}
	for (size_t i = 0; i < len; i++)
		if (auth[i] == ':')
			return i;
	return len;
}

/*
 * 1 when the authority auth (len bytes, "host[:port]") names the same host
 * and port as host ("host[:port]", the request's Host), the missing ports
 * being the scheme's default.
 */
static int same_authority(const char *auth, size_t len, const char *host, const char *default_port)
{
	size_t alen = host_len(auth, len);
	size_t hlen = host_len(host, strlen(host));
	const char *aport = alen < len && auth[alen] == ':' ? auth + alen + 1 : default_port;
	size_t aport_len = alen < len && auth[alen] == ':' ? len - alen - 1 : strlen(default_port);
	const char *hport = host[hlen] == ':' ? host + hlen + 1 : default_port;

	if (alen == 0 || alen != hlen || strncasecmp(auth, host, alen) != 0)
		return 0;
	return strlen(hport) == aport_len && !strncmp(aport, hport, aport_len);
}

int aur_opauth_same_origin(struct aur_http_req *req, int required)
{
	const char *origin = aur_http_header(req, "Origin");
	const char *host = aur_http_header(req, "Host");
	const char *dflt;
	const char *auth;
	size_t len;

	const char *fetch_site = aur_http_header(req, "Sec-Fetch-Site");

	if (!origin || !*origin || !strcmp(origin, "null"))
		origin = aur_http_header(req, "Referer");
	/*
	 * A form posted by a page under Referrer-Policy: no-referrer says
	 * "Origin: null" and no Referer; the browser's own Sec-Fetch-Site
	 * (no page can set it) still tells a request of the same origin.
	 */
	if ((!origin || !*origin) && fetch_site && !strcmp(fetch_site, "same-origin"))
		return 1;
	if (!origin || !*origin)
		return !required && !aur_http_header(req, "Origin");
	if (!host || !*host)
		return 0;
	if (!strncasecmp(origin, "http://", 7)) {
		auth = origin + 7;
		dflt = "80";
	} else if (!strncasecmp(origin, "https://", 8)) {
		auth = origin + 8;
		dflt = "443";
	} else {
		return 0; /* "null", another scheme */
	}
	len = strcspn(auth, "/?#");
	return memchr(auth, '@', len) == NULL && same_authority(auth, len, host, dflt);
}

/* A method that changes something: the cross-site check applies to it. */
static int changes_state(const struct aur_http_req *req)
{
	return (aur_http_method(req) & (AUR_HTTP_POST | AUR_HTTP_PUT | AUR_HTTP_PATCH | AUR_HTTP_DELETE)) != 0;
}

static enum aur_http_next cross_site(const struct aur_opauth *a, struct aur_http_req *req)
{
	say(a, AUR_LOG_INFO, "%s %s from %s: 403 cross-site request (Origin %.128s, Referer %.128s, Host %.128s)",
	    aur_http_method_name(req), aur_http_path(req), aur_http_remote(req),
	    aur_http_header(req, "Origin") ? aur_http_header(req, "Origin") : "none",
	    aur_http_header(req, "Referer") ? aur_http_header(req, "Referer") : "none",
	    aur_http_header(req, "Host") ? aur_http_header(req, "Host") : "none");
	return aur_http_respond_error(req, 403, "cross-site request refused");
}

int aur_opauth_require(struct aur_opauth *a, struct aur_http_req *req, enum aur_http_next *next)
{
	return aur_opauth_require_name(a, req, next, NULL, 0);
}

int aur_opauth_require_name(struct aur_opauth *a, struct aur_http_req *req, enum aur_http_next *next, char *who,
			    size_t wholen)
{
	char name[AUR_OPTOKEN_NAME_MAX + 1];
	char err[256] = "";
	sqlite3 *db = NULL;
	const char *t;
	size_t len = 0;
	int cookie = 0;
	int rc;

	t = presented(req, &len, &cookie);
	if (a->o.no_auth) {
		/* no token to steal, but a page elsewhere may still post here: refuse what says so */
		if (changes_state(req) && (!t || cookie) && !aur_opauth_same_origin(req, 0)) {
			*next = cross_site(a, req);
			return 0;
		}
		if (who)
			snprintf(who, wholen, "%s", AUR_OPAUTH_NO_AUTH_NAME);
		return 1;
	}
	if (!t || len > AUR_OPAUTH_TOKEN_MAX) {
		*next = refuse(a, req, t != NULL);
		return 0;
	}
	rc = aur_dbpool_get(a->pool, &db, err, sizeof(err));
	if (rc == 0)
		rc = aur_optoken_check(db, t, len, name, sizeof(name), err, sizeof(err));
	aur_dbpool_put(a->pool, db);
	if (rc < 0) {
		say(a, AUR_LOG_WARN, "%s %s from %s: 503 cannot check the operator token: %s",
		    aur_http_method_name(req), aur_http_path(req), aur_http_remote(req), err);
		aur_http_add_header(req, "Retry-After", "1");
		*next = aur_http_respond_error(req, 503, "cannot check the operator token: %s", err);
		return 0;
	}
	if (rc == 0) {
		*next = refuse(a, req, 1);
		return 0;
	}
	if (cookie && changes_state(req) && !aur_opauth_same_origin(req, 1)) {
		*next = cross_site(a, req);
		return 0;
	}
	say(a, AUR_LOG_DEBUG, "%s %s from %s: operator %s", aur_http_method_name(req), aur_http_path(req),
	    aur_http_remote(req), name);
	if (who)
		snprintf(who, wholen, "%s", name);
	return 1;
}

int aur_opauth_login(struct aur_opauth *a, const char *token, size_t len, char *who, size_t wholen, char *err,
		     size_t errlen)
{
	sqlite3 *db = NULL;
	int rc;

	if (a->o.no_auth && len == 0) {
		snprintf(who, wholen, "%s", AUR_OPAUTH_NO_AUTH_NAME);
		return 1;
	}
	if (len == 0 || len > AUR_OPAUTH_TOKEN_MAX)
		return 0;
	rc = aur_dbpool_get(a->pool, &db, err, errlen);
	if (rc == 0)
		rc = aur_optoken_check(db, token, len, who, wholen, err, errlen);
	aur_dbpool_put(a->pool, db);
	return rc;
}
