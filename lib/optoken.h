/*
 * optoken.h - operator tokens: who may read incidents and connectors from
 * aurora-recv (the incident API, the SSE stream, /api/{platform}/status).
 *
 * Each token has a name (a person, a dashboard, a script) and is stored
 * only as its SHA-256 hex digest in operator_tokens (name UNIQUE,
 * token_hash UNIQUE, created_at RFC 3339). The token itself is shown once,
 * when it is made; rotating a name replaces its digest, revoking deletes
 * the row. A presented token is hashed and its digest looked up, so the
 * comparison never touches the secret itself.
 */
#ifndef AURORA_OPTOKEN_H
#define AURORA_OPTOKEN_H

#include <stddef.h>
#include <sqlite3.h>
#include <jq.h>

#define AUR_OPTOKEN_NAME_MAX 64

/* 1 when name is 1 to 64 of [A-Za-z0-9._@-], starting with a letter or digit. */
int aur_optoken_name_ok(const char *name);

/*
 * Store token_hash (64 lowercase hex) under name, created at now_ms:
 * a new row, or the name's row with its old digest replaced (*rotated = 1).
 * One transaction. 0; -EINVAL for a bad name or digest (err says which);
 * -EBUSY, -EIO.
 */
int aur_optoken_set(sqlite3 *db, const char *name, const char *token_hash, long long now_ms, int *rotated,
		    char *err, size_t errlen);

/*
 * Every token as {"name", "created_at"}, by name; never the digest.
 * 0 with *out an array (caller frees), or -EBUSY / -EIO with *out invalid.
 */
int aur_optoken_list(sqlite3 *db, jv *out, char *err, size_t errlen);

/* Delete name's token. 0; -ENOENT when there is none; -EBUSY, -EIO. */
int aur_optoken_revoke(sqlite3 *db, const char *name, char *err, size_t errlen);

/*
 * Is token (len bytes) a stored operator token? 1 (with its name copied
 * into name, when name is not NULL), 0 when not, -EBUSY / -EIO with err
 * set. Reads only; any connection, read-only ones included.
 */
int aur_optoken_check(sqlite3 *db, const char *token, size_t len, char *name, size_t namelen, char *err,
		      size_t errlen);

#endif
