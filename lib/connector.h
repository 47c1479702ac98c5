/*
 * connector.h - the per-platform configuration in the connectors table,
 * and the registry of platforms aurora receives from.
 *
 * One row per platform aurora knows: enabled or not, the webhook token's
 * SHA-256, the HMAC secret of signing platforms (kept in clear: verifying
 * needs it), RCA on or off, the platform's own base URL, the API user and
 * token aurora reads Jenkins and CloudBees with (in clear: they are sent),
 * counters, and a short-lived test token that `aurora-connector test` uses.
 *
 * The table is the registry: its rows are the nine built-in platforms
 * (aur_builtin_platforms, made by the first migration) and the platforms an
 * operator added (`aurora-connector add`, column added = 1), which a jq
 * mapping of the operator's turns into alerts. Every command and route
 * that enumerates or checks platforms asks the table (aur_connector_load,
 * aur_connector_load_all), never a list of its own; aurora-recv asks it
 * through conncache.h.
 */
#ifndef AURORA_CONNECTOR_H
#define AURORA_CONNECTOR_H

#include <stddef.h>
#include <stdio.h>

#include <sqlite3.h>

#include "auth.h"

#define AUR_BUILTIN_COUNT 9
#define AUR_PLATFORM_NAME_MAX 32
#define AUR_HMAC_HEADER_MAX 64
#define AUR_SECRET_MAX 256
#define AUR_URL_MAX 1024
#define AUR_API_USER_MAX 128

/* The built-in platforms in a fixed order, NULL-terminated. */
extern const char *const aur_builtin_platforms[AUR_BUILTIN_COUNT + 1];

/* 1 when name is one of aur_builtin_platforms. */
int aur_platform_builtin(const char *name);
/*
 * 1 when name may name a platform: 1 to AUR_PLATFORM_NAME_MAX of
 * lower-case letters, digits, '-' and '_', starting with a letter or digit
 * (it is a URL path segment and a mapping's file name).
 */
int aur_platform_name_ok(const char *name);
/* 1 for the built-in platforms aurora reads from with API credentials (jenkins, cloudbees). */
int aur_platform_has_api(const char *name);

/*
 * 1 when user can be the user of API reads over HTTP basic: 1 to
 * AUR_API_USER_MAX bytes, no colon, no blank or control character.
 */
int aur_connector_api_user_ok(const char *user);

/*
 * Read a secret or API token from in: one line, without its line end and
 * surrounding blanks, into out (outlen bytes: at most outlen - 2 of
 * secret). 0; -EIO on a read error (errno says which); -E2BIG when longer;
 * -EINVAL when in does not hold one non-empty line. err says which.
 */
int aur_connector_read_secret(FILE *in, char *out, size_t outlen, char *err, size_t errlen);

struct aur_connector {
	char platform[AUR_PLATFORM_NAME_MAX + 1];
	int added;                                     /* 1: an operator's platform, 0: built in */
	char hmac_header[AUR_HMAC_HEADER_MAX + 1];     /* added platforms: the signature header, or "" */
	int enabled;
	int rca;
	char token_hash[AUR_HEX_SHA256_LEN + 1];      /* "" when no token is set */
	char hmac_secret[AUR_SECRET_MAX + 1];          /* "" when no secret is set */
	char base_url[AUR_URL_MAX + 1];                /* the platform's own URL, or "" */
	char api_user[AUR_API_USER_MAX + 1];           /* the user of API reads, or "" */
	char api_token[AUR_SECRET_MAX + 1];            /* its API token, "" when none: never print it */
	char test_token_hash[AUR_HEX_SHA256_LEN + 1];  /* "" when none */
	long long test_token_expires_ms;
	long long last_received_ms;                    /* 0 when never */
	long long last_test_ok_ms;                     /* 0 when never */
	long long received;
	long long rejected;
};

/*
 * Load one platform's row into c. 0; -ENOENT when no row has that name
 * (err says so); aur_db_errno() codes on SQLite failure (message in err).
 */
int aur_connector_load(sqlite3 *db, const char *platform, struct aur_connector *c,
		       char *err, size_t errlen);

/*
 * Load every platform: the built-in ones in aur_builtin_platforms order,
 * then the added ones by name. *out is an array of *n rows, caller frees
 * (wipe its secrets first when they were read for nothing). Same failures
 * as aur_connector_load.
 */
int aur_connector_load_all(sqlite3 *db, struct aur_connector **out, size_t *n, char *err, size_t errlen);

/*
 * Register platform name with its own connector row (added = 1, enabled,
 * RCA on) holding token_hash (the webhook token's SHA-256 hex, or NULL for
 * none yet); hmac_header NULL or "" when it does not sign.
 * 0; -EINVAL when name or hmac_header breaks the rules above; -EPERM for a
 * built-in name; -EEXIST when the platform is there already; aur_db_errno()
 * codes. err says which.
 */
int aur_connector_add(sqlite3 *db, const char *name, const char *hmac_header, const char *token_hash,
		      char *err, size_t errlen);

/*
 * Remove an added platform's connector row (and its rate-limit bucket);
 * its inbox rows stay. 0; -EPERM for a built-in platform; -ENOENT when
 * there is none; aur_db_errno() codes. err says which.
 */
int aur_connector_remove(sqlite3 *db, const char *name, char *err, size_t errlen);

/*
 * The names of every platform as aur_connector_load_all orders them,
 * separated by sep, into a string the caller frees; NULL when the table
 * cannot be read.
 */
char *aur_connector_names(sqlite3 *db, const char *sep);

/*
 * 1 when c's deliveries carry an HMAC signature aurora checks once a secret
 * is set: grafana, pagerduty, and added platforms with an hmac_header.
 */
int aur_connector_signs(const struct aur_connector *c);

/*
 * "connected": a valid delivery in the last 24 hours, or a test that
 * succeeded in that time, as of now_ms.
 */
int aur_connector_connected(const struct aur_connector *c, long long now_ms);

/* Setters, each one short transaction. 0 or aur_db_errno(); -ENOENT when no row has that name. */
int aur_connector_set_enabled(sqlite3 *db, const char *platform, int enabled, char *err, size_t errlen);
int aur_connector_set_rca(sqlite3 *db, const char *platform, int on, char *err, size_t errlen);
/* token_hash NULL clears the token. */
int aur_connector_set_token_hash(sqlite3 *db, const char *platform, const char *token_hash,
				 char *err, size_t errlen);
/* secret NULL clears the secret. */
int aur_connector_set_secret(sqlite3 *db, const char *platform, const char *secret, char *err,
			     size_t errlen);
/* url NULL clears the base URL. */
int aur_connector_set_base_url(sqlite3 *db, const char *platform, const char *url, char *err,
			       size_t errlen);
/*
 * The user and API token aurora reads the platform's API with (the
 * console of a build: HTTP basic). Both NULL clear them.
 */
int aur_connector_set_credentials(sqlite3 *db, const char *platform, const char *user, const char *token,
				  char *err, size_t errlen);
/* A one-use test token hash valid until expires_ms; NULL clears it. */
int aur_connector_set_test_token(sqlite3 *db, const char *platform, const char *token_hash,
				 long long expires_ms, char *err, size_t errlen);

/*
 * The public URL of aurora's receiver, for printing webhook URLs:
 * $AURORA_PUBLIC_URL, else the settings row "public_url", else
 * "http://127.0.0.1:9797". Caller frees.
 */
char *aur_connector_public_url(sqlite3 *db);

/* A connector's last rejected delivery (aur_committer_count_reject, the quarantine). */
struct aur_rejection {
	long long at_ms;  /* 0 when none yet */
	unsigned status;  /* the HTTP status answered: 422 refused at the door, 401, 415 ... */
	char reason[512];
};

/* Load platform's last rejection into out. 0; -ENOENT for an unknown platform; aur_db_errno(). */
int aur_connector_last_rejection(sqlite3 *db, const char *platform, struct aur_rejection *out, char *err,
				 size_t errlen);

#endif
