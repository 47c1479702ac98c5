/*
 * connadmin.h - the changes aurora-connector makes to the registry, each
 * checked and done in one call: new webhook and operator tokens, secrets,
 * URLs, API credentials.
 *
 * One convention for every function, so the command maps errors once:
 *   0        done;
 *   -EINVAL  the arguments are wrong (a bad URL, name or value): err is
 *            the usage error to show;
 *   -ENOTSUP the platform does not take this (a secret, and it does not sign);
 *   -E2BIG, -EBADMSG  what came on stdin is too long, or not one line;
 *   anything else  the store's error (-EBUSY, -EIO, ...; its -EINVAL is
 *            -EIO here), or -EIO without randomness from the kernel.
 * err always says why. New tokens and secrets are written into the
 * caller's buffer once; wipe it after use (aur_auth_wipe).
 */
#ifndef AURORA_CONNADMIN_H
#define AURORA_CONNADMIN_H

#include <stddef.h>
#include <stdio.h>

#include <sqlite3.h>

#include "connector.h"

/* Bytes of randomness in a webhook or operator token (twice as many hex digits). */
#define AUR_CONNADMIN_TOKEN_BYTES 32
#define AUR_CONNADMIN_TOKEN_LEN (2 * AUR_CONNADMIN_TOKEN_BYTES + 1)

/* A new webhook token for platform in token; its hash replaces the old one. */
int aur_connadmin_token(sqlite3 *db, const char *platform, char token[AUR_CONNADMIN_TOKEN_LEN], char *err,
			size_t errlen);

/*
 * Register platform name (hmac_header NULL: it does not sign) with a new
 * token in token. Also -EPERM for a built-in name, -EEXIST when it exists.
 */
int aur_connadmin_add(sqlite3 *db, const char *name, const char *hmac_header, char token[AUR_CONNADMIN_TOKEN_LEN],
		      char *err, size_t errlen);

/* A new operator token named name in token; *rotated when it replaced one. */
int aur_connadmin_operator_token(sqlite3 *db, const char *name, char token[AUR_CONNADMIN_TOKEN_LEN], int *rotated,
				 char *err, size_t errlen);

/*
 * The HMAC secret of c: value (NULL: none given), else read from in (NULL:
 * not), else generated into generated (room for AUR_SECRET_MAX + 2) unless
 * clear, which removes it. *made is 1 when generated holds a new secret.
 */
int aur_connadmin_secret(sqlite3 *db, const struct aur_connector *c, const char *value, FILE *in, int clear,
			 char *generated, int *made, char *err, size_t errlen);

/* Set aurora's public base URL (without trailing slashes). */
int aur_connadmin_public_url(sqlite3 *db, const char *url, char *err, size_t errlen);

/* Set the platform's own base URL; NULL clears it. No user or password in it. */
int aur_connadmin_base_url(sqlite3 *db, const char *platform, const char *url, char *err, size_t errlen);

/*
 * The API credentials of platform (one aurora reads an API of:
 * aur_platform_has_api): user and the token read from in (both or
 * neither), or both cleared when neither.
 */
int aur_connadmin_credentials(sqlite3 *db, const char *platform, const char *user, FILE *in, char *err,
			      size_t errlen);

#endif
