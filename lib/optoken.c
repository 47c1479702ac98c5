#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "db.h"
#include "optoken.h"
#include "timeutil.h"
#include "banned.h"

#define DEADLINE_MS 5000

static void set_err(char *err, size_t errlen, const char *what, sqlite3 *db)
{
	if (err && errlen)
		snprintf(err, errlen, "operator tokens: %s: %s", what, sqlite3_errmsg(db));
}

int aur_optoken_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > AUR_OPTOKEN_NAME_MAX || !isalnum((unsigned char)name[0]))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("._@-", name[i]))
			return 0;
	return 1;
}

static int hex_digest_ok(const char *h)
{
	if (strlen(h) != AUR_HEX_SHA256_LEN)
		return 0;
	for (size_t i = 0; h[i]; i++)
		if (!isdigit((unsigned char)h[i]) && !(h[i] >= 'a' && h[i] <= 'f'))
			return 0;
	return 1;
}

int aur_optoken_set(sqlite3 *db, const char *name, const char *token_hash, long long now_ms, int *rotated,
		    char *err, size_t errlen)
{
	long long until;
	sqlite3_stmt *st = NULL;
	char when[32];
	int began = 0;
	int rc;

	*rotated = 0;
	if (!aur_optoken_name_ok(name)) {
		snprintf(err, errlen, "bad operator token name '%.80s': 1 to %d of A-Z a-z 0-9 . _ @ -, starting"
				      " with a letter or digit", name, AUR_OPTOKEN_NAME_MAX);
		return -EINVAL;
	}
	if (!hex_digest_ok(token_hash)) {
		snprintf(err, errlen, "operator token digest is not 64 lowercase hex characters");
		return -EINVAL;
	}
	until = aur_db_deadline(DEADLINE_MS);
	rc = aur_db_begin_by(db, until, err, errlen);
	if (rc < 0)
		goto out;
	began = 1;
	rc = aur_db_prepare(db, &st, "SELECT count(*) FROM operator_tokens WHERE name = ?", err, errlen);
	if (rc < 0)
		goto out;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		set_err(err, errlen, "read", db);
		rc = aur_db_errno(rc) ? aur_db_errno(rc) : -EIO;
		goto out;
	}
	*rotated = sqlite3_column_int(st, 0) > 0;
	sqlite3_finalize(st);
	st = NULL;
	rc = aur_db_prepare(db, &st,
			    "INSERT INTO operator_tokens (name, token_hash, created_at) VALUES (?, ?, ?)"
			    " ON CONFLICT (name) DO UPDATE SET token_hash = excluded.token_hash,"
			    " created_at = excluded.created_at",
			    err, errlen);
	if (rc < 0)
		goto out;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, token_hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, aur_time_format_ms(now_ms, when, sizeof(when)), -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		set_err(err, errlen, "write", db);
		rc = aur_db_errno(rc) ? aur_db_errno(rc) : -EIO;
		goto out;
	}
	rc = aur_db_commit_by(db, until, err, errlen);
out:
	sqlite3_finalize(st);
	if (rc < 0 && began)
		aur_db_rollback(db);
	return rc;
}

int aur_optoken_list(sqlite3 *db, jv *out, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	jv list = jv_array();
	int rc;

	*out = jv_invalid();
	rc = aur_db_prepare(db, &st, "SELECT name, created_at FROM operator_tokens ORDER BY name", err, errlen);
	if (rc < 0)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		jv o = jv_object();

		o = jv_object_set(o, jv_string("name"), jv_string((const char *)sqlite3_column_text(st, 0)));
		o = jv_object_set(o, jv_string("created_at"),
				  jv_string((const char *)sqlite3_column_text(st, 1)));
		list = jv_array_append(list, o);
	}
	if (rc != SQLITE_DONE) {
		set_err(err, errlen, "list", db);
		rc = aur_db_errno(rc) ? aur_db_errno(rc) : -EIO;
		goto out;
	}
	rc = 0;
	*out = list;
	list = jv_invalid();
out:
	sqlite3_finalize(st);
	jv_free(list);
	return rc;
}

int aur_optoken_revoke(sqlite3 *db, const char *name, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = aur_db_prepare(db, &st, "DELETE FROM operator_tokens WHERE name = ?", err, errlen);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		set_err(err, errlen, "revoke", db);
		rc = aur_db_errno(rc) ? aur_db_errno(rc) : -EIO;
	} else if (sqlite3_changes(db) == 0) {
		snprintf(err, errlen, "no operator token named '%.80s'", name);
		rc = -ENOENT;
	} else {
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

int aur_optoken_check(sqlite3 *db, const char *token, size_t len, char *name, size_t namelen, char *err,
		      size_t errlen)
{
	char hash[AUR_HEX_SHA256_LEN + 1];
	sqlite3_stmt *st;
	int rc;

	if (name && namelen)
		name[0] = '\0';
	st = aur_db_stmt(db, "SELECT name FROM operator_tokens WHERE token_hash = ?", err, errlen);
	if (!st)
		return -EIO;
	aur_sha256_hex(token, len, hash);
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (name && namelen)
			snprintf(name, namelen, "%s", (const char *)sqlite3_column_text(st, 0));
		rc = 1;
	} else if (rc == SQLITE_DONE) {
		rc = 0;
	} else {
		set_err(err, errlen, "check", db);
		rc = aur_db_errno(rc) ? aur_db_errno(rc) : -EIO;
	}
	sqlite3_reset(st);
	return rc;
}
