#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "connadmin.h"
#include "connview.h"
#include "db.h"
#include "optoken.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

/* A store's error: its -EINVAL is not the arguments' fault. */
static int store(int rc)
{
	return rc == -EINVAL ? -EIO : rc;
}

/* A new token and its hash. 0, or -EIO without randomness. */
static int new_token(char token[AUR_CONNADMIN_TOKEN_LEN], char hash[AUR_HEX_SHA256_LEN + 1], char *err,
		     size_t errlen)
{
	if (aur_random_hex(token, AUR_CONNADMIN_TOKEN_LEN, AUR_CONNADMIN_TOKEN_BYTES) < 0) {
		snprintf(err, errlen, "no randomness from the kernel");
		return -EIO;
	}
	aur_sha256_hex(token, strlen(token), hash);
	return 0;
}

int aur_connadmin_token(sqlite3 *db, const char *platform, char token[AUR_CONNADMIN_TOKEN_LEN], char *err,
			size_t errlen)
{
	char hash[AUR_HEX_SHA256_LEN + 1];
	int rc = new_token(token, hash, err, errlen);

	return rc < 0 ? rc : store(aur_connector_set_token_hash(db, platform, hash, err, errlen));
}

int aur_connadmin_add(sqlite3 *db, const char *name, const char *hmac_header, char token[AUR_CONNADMIN_TOKEN_LEN],
		      char *err, size_t errlen)
{
	char hash[AUR_HEX_SHA256_LEN + 1];
	int rc = new_token(token, hash, err, errlen);

	/* the row and its token in one statement: a platform is never there without the token printed for it */
	if (rc == 0)
		rc = aur_connector_add(db, name, hmac_header, hash, err, errlen);
	if (rc == -EINVAL) {
		char why[512];

		snprintf(why, sizeof(why), "add: %s", err);
		snprintf(err, errlen, "%s", why);
	}
	return rc;
}

int aur_connadmin_operator_token(sqlite3 *db, const char *name, char token[AUR_CONNADMIN_TOKEN_LEN], int *rotated,
				 char *err, size_t errlen)
{
	char hash[AUR_HEX_SHA256_LEN + 1];
	int rc;

	if (!aur_optoken_name_ok(name)) {
		snprintf(err, errlen, "operator-token: '%s' is not a name: 1 to %d of A-Z a-z 0-9 . _ @ -, starting"
			 " with a letter or digit", name, AUR_OPTOKEN_NAME_MAX);
		return -EINVAL;
	}
	rc = new_token(token, hash, err, errlen);
	return rc < 0 ? rc : store(aur_optoken_set(db, name, hash, aur_time_now_ms(), rotated, err, errlen));
}

/* A secret or token from in; the -EINVAL of a line that is not one is -EBADMSG here. */
static int read_secret(FILE *in, char *out, size_t outlen, char *err, size_t errlen)
{
	int rc = aur_connector_read_secret(in, out, outlen, err, errlen);

	return rc == -EINVAL ? -EBADMSG : rc;
}

int aur_connadmin_secret(sqlite3 *db, const struct aur_connector *c, const char *value, FILE *in, int clear,
			 char *generated, int *made, char *err, size_t errlen)
{
	char secret[AUR_SECRET_MAX + 2] = "";
	int rc = 0;

	*made = 0;
	if (!aur_connector_signs(c)) {
		if (c->added)
			snprintf(err, errlen, "%s was added without --hmac-header: it takes no secret (remove it and"
				 " add it again with --hmac-header HEADER, or use 'aurora-connector token %s')",
				 c->platform, c->platform);
		else
			snprintf(err, errlen, "%s does not sign its deliveries; only grafana and pagerduty take a secret,"
				 " and platforms added with --hmac-header (use 'aurora-connector token %s')",
				 c->platform, c->platform);
		return -ENOTSUP;
	}
	if (value && (!*value || strlen(value) > AUR_SECRET_MAX)) {
		snprintf(err, errlen, "--value: the secret must have 1 to %d bytes", AUR_SECRET_MAX);
		return -EINVAL;
	}
	if (value)
		snprintf(secret, sizeof(secret), "%s", value);
	else if (in)
		rc = read_secret(in, secret, sizeof(secret), err, errlen);
	else if (!clear && aur_random_hex(secret, sizeof(secret), AUR_CONNADMIN_TOKEN_BYTES) < 0)
		rc = (snprintf(err, errlen, "no randomness from the kernel"), -EIO);
	else if (!clear)
		*made = 1;
	if (rc == 0)
		rc = store(aur_connector_set_secret(db, c->platform, clear ? NULL : secret, err, errlen));
	if (rc == 0 && *made)
		memcpy(generated, secret, sizeof(secret));
	aur_auth_wipe(secret, sizeof(secret));
	return rc;
}

/* A base URL as the registry keeps it: http:// or https://, no query, fragment or spaces. */
static int url_ok(const char *what, const char *url, char *err, size_t errlen)
{
	if (aur_connview_url_ok(url))
		return 0;
	snprintf(err, errlen, "%s: an http:// or https:// URL without query, fragment or spaces: %s", what, url);
	return -EINVAL;
}

int aur_connadmin_public_url(sqlite3 *db, const char *url, char *err, size_t errlen)
{
	char *u;
	int rc = url_ok("public-url", url, err, errlen);

	if (rc < 0)
		return rc;
	u = aur_xstrdup(url);
	for (size_t n = strlen(u); n > 0 && u[n - 1] == '/'; n--)
		u[n - 1] = '\0';
	rc = store(aur_db_setting_set(db, "public_url", u, err, errlen));
	free(u);
	return rc;
}

int aur_connadmin_base_url(sqlite3 *db, const char *platform, const char *url, char *err, size_t errlen)
{
	int rc = url ? url_ok("base-url", url, err, errlen) : 0;

	if (rc == 0 && url && aur_connview_url_has_userinfo(url)) {
		snprintf(err, errlen, "base-url: no user or password in the URL (it would be printed and logged):"
			 " use 'aurora-connector credentials %s USER --stdin'", platform);
		rc = -EINVAL;
	}
	return rc < 0 ? rc : store(aur_connector_set_base_url(db, platform, url, err, errlen));
}

int aur_connadmin_credentials(sqlite3 *db, const char *platform, const char *user, FILE *in, char *err,
			      size_t errlen)
{
	char token[AUR_SECRET_MAX + 2] = "";
	int rc = 0;

	if (user && !in) {
		snprintf(err, errlen, "credentials: the API token comes on stdin (--stdin), never on the command line");
		return -EINVAL;
	}
	if (in && !user) {
		snprintf(err, errlen, "credentials: --stdin needs the USER the token belongs to");
		return -EINVAL;
	}
	if (user && !aur_connector_api_user_ok(user)) {
		snprintf(err, errlen, "credentials: '%s' is not a user name (1 to %d bytes, no colon or blank)", user,
			 AUR_API_USER_MAX);
		return -EINVAL;
	}
	if (user)
		rc = read_secret(in, token, sizeof(token), err, errlen);
	if (rc == 0)
		rc = store(aur_connector_set_credentials(db, platform, user, user ? token : NULL, err, errlen));
	aur_auth_wipe(token, sizeof(token));
	return rc;
}
