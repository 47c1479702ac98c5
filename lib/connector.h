/*
 * connector.h - the per-platform configuration in the connectors table.
 *
 * One row per platform aurora knows: enabled or not, the webhook token's
 * SHA-256, the HMAC secret of signing platforms (kept in clear: verifying
 * needs it), RCA on or off, the platform's own base URL, the API user and
 * token aurora reads Jenkins and CloudBees with (in clear: they are sent),
 * counters, and a short-lived test token that `aurora-connector test` uses.
 */
#ifndef AURORA_CONNECTOR_H
#define AURORA_CONNECTOR_H

#include <stddef.h>
#include <sqlite3.h>

#include "auth.h"

#define AUR_PLATFORM_COUNT 9
#define AUR_SECRET_MAX 256
#define AUR_URL_MAX 1024
#define AUR_API_USER_MAX 128

/* The platforms in a fixed order, NULL-terminated. */
extern const char *const aur_platforms[AUR_PLATFORM_COUNT + 1];

/* 1 when name is one of aur_platforms. */
int aur_platform_known(const char *name);
/* 1 for the platforms that sign their deliveries (grafana, pagerduty). */
int aur_platform_signs(const char *name);
/* 1 for the platforms aurora reads from with API credentials (jenkins, cloudbees). */
int aur_platform_has_api(const char *name);

struct aur_connector {
	char platform[16];
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
 * Load one platform's row into c. 0; -ENOENT when platform is unknown;
 * aur_db_errno() codes on SQLite failure (message in err).
 */
int aur_connector_load(sqlite3 *db, const char *platform, struct aur_connector *c,
		       char *err, size_t errlen);

/*
 * Load every platform, in aur_platforms order, into out[AUR_PLATFORM_COUNT].
 * Same failures as aur_connector_load.
 */
int aur_connector_load_all(sqlite3 *db, struct aur_connector *out, char *err, size_t errlen);

/*
 * "connected": a valid delivery in the last 24 hours, or a test that
 * succeeded in that time, as of now_ms.
 */
int aur_connector_connected(const struct aur_connector *c, long long now_ms);

/* Setters, each one short transaction. 0 or aur_db_errno(); -ENOENT for an unknown platform. */
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
