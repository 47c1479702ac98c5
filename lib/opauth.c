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

/* The token the request presents, and its length without trailing blanks; NULL when none. */
static const char *presented(struct aur_http_req *req, size_t *len)
{
	const char *auth = aur_http_header(req, "Authorization");
	const char *t = NULL;

	if (auth && !strncasecmp(auth, "Bearer", 6) && (auth[6] == ' ' || auth[6] == '\t')) {
		t = auth + 7;
		while (*t == ' ' || *t == '\t')
			t++;
	}
	if (!t || !*t)
		t = aur_http_cookie(req, AUR_OPAUTH_COOKIE);
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

int aur_opauth_require(struct aur_opauth *a, struct aur_http_req *req, enum aur_http_next *next)
{
	char name[AUR_OPTOKEN_NAME_MAX + 1];
	char err[256] = "";
	sqlite3 *db = NULL;
	const char *t;
	size_t len = 0;
	int rc;

	if (a->o.no_auth)
		return 1;
	t = presented(req, &len);
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
	say(a, AUR_LOG_DEBUG, "%s %s from %s: operator %s", aur_http_method_name(req), aur_http_path(req),
	    aur_http_remote(req), name);
	return 1;
}
