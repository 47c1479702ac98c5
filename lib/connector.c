#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "connector.h"
#include "buf.h"
#include "db.h"
#include "xalloc.h"
#include "banned.h"

#define LOWER "abcdefghijklmnopqrstuvwxyz"
#define UPPER "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define DIGITS "0123456789"

const char *const aur_builtin_platforms[AUR_BUILTIN_COUNT + 1] = {
	"grafana", "alertmanager", "pagerduty", "datadog", "netdata",
	"dynatrace", "splunk", "jenkins", "cloudbees", NULL,
};

/* The place of name among the built-in platforms, AUR_BUILTIN_COUNT when it is not one. */
static int builtin_index(const char *name)
{
	int i;

	for (i = 0; aur_builtin_platforms[i]; i++)
		if (!strcmp(aur_builtin_platforms[i], name))
			break;
	return i;
}

int aur_platform_builtin(const char *name)
{
	return builtin_index(name) < AUR_BUILTIN_COUNT;
}

int aur_platform_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > AUR_PLATFORM_NAME_MAX || !strchr(LOWER DIGITS, name[0]))
		return 0;
	return strspn(name, LOWER DIGITS "-_") == n;
}

/*
 * 1 when name may name the signature header of an added platform: 1 to
 * AUR_HMAC_HEADER_MAX HTTP token characters, not Authorization (where the
 * webhook token goes).
 */
static int header_name_ok(const char *name)
{
	size_t n = strlen(name);

	/* RFC 9110 token characters */
	if (n == 0 || n > AUR_HMAC_HEADER_MAX || strspn(name, LOWER UPPER DIGITS "!#$%&'*+-.^_`|~") != n)
		return 0;
	return strcasecmp(name, "Authorization") != 0;
}

int aur_platform_has_api(const char *name)
{
	return !strcmp(name, "jenkins") || !strcmp(name, "cloudbees");
}

static void copy_col(sqlite3_stmt *st, int col, char *out, size_t outlen)
{
	const unsigned char *text = sqlite3_column_text(st, col);

	snprintf(out, outlen, "%s", text ? (const char *)text : "");
}

static const char select_sql[] =
	"SELECT platform, enabled, rca, token_hash, hmac_secret, base_url, test_token_hash,"
	" test_token_expires_ms, last_received_ms, last_test_ok_ms, received_count, rejected_count, api_user,"
	" api_token, added, hmac_header"
	" FROM connectors";

static void fill(sqlite3_stmt *st, struct aur_connector *c)
{
	memset(c, 0, sizeof(*c));
	copy_col(st, 0, c->platform, sizeof(c->platform));
	c->enabled = sqlite3_column_int(st, 1);
	c->rca = sqlite3_column_int(st, 2);
	copy_col(st, 3, c->token_hash, sizeof(c->token_hash));
	copy_col(st, 4, c->hmac_secret, sizeof(c->hmac_secret));
	copy_col(st, 5, c->base_url, sizeof(c->base_url));
	copy_col(st, 6, c->test_token_hash, sizeof(c->test_token_hash));
	c->test_token_expires_ms = sqlite3_column_int64(st, 7);
	c->last_received_ms = sqlite3_column_int64(st, 8);
	c->last_test_ok_ms = sqlite3_column_int64(st, 9);
	c->received = sqlite3_column_int64(st, 10);
	c->rejected = sqlite3_column_int64(st, 11);
	copy_col(st, 12, c->api_user, sizeof(c->api_user));
	copy_col(st, 13, c->api_token, sizeof(c->api_token));
	c->added = sqlite3_column_int(st, 14);
	copy_col(st, 15, c->hmac_header, sizeof(c->hmac_header));
}

int aur_connector_load(sqlite3 *db, const char *platform, struct aur_connector *c,
		       char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	char sql[sizeof(select_sql) + 32];
	int rc;

	snprintf(sql, sizeof(sql), "%s WHERE platform = ?", select_sql);
	rc = aur_db_prepare(db, &st, sql, err, errlen);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, platform, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		fill(st, c);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		snprintf(err, errlen, "unknown platform '%.64s'", platform);
		rc = -ENOENT;
	} else {
		snprintf(err, errlen, "connectors: %s", sqlite3_errmsg(db));
		rc = aur_db_errno(rc);
	}
	sqlite3_finalize(st);
	return rc;
}

/* The registry's order: built-in platforms as listed, then added ones by name. */
static int registry_order(const void *a, const void *b)
{
	const struct aur_connector *x = a;
	const struct aur_connector *y = b;
	int ix = builtin_index(x->platform);
	int iy = builtin_index(y->platform);

	if (ix != iy)
		return ix < iy ? -1 : 1;
	return strcmp(x->platform, y->platform);
}

int aur_connector_load_all(sqlite3 *db, struct aur_connector **out, size_t *n, char *err, size_t errlen)
{
	struct aur_connector *v = NULL;
	size_t len = 0;
	size_t cap = 0;
	sqlite3_stmt *st = NULL;
	int rc;

	*out = NULL;
	*n = 0;
	rc = aur_db_prepare(db, &st, select_sql, err, errlen);
	if (rc < 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap ? 2 * cap : 16;
			v = aur_xrealloc(v, cap * sizeof(*v));
		}
		fill(st, &v[len++]);
	}
	if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "connectors: %s", sqlite3_errmsg(db));
		sqlite3_finalize(st);
		free(v);
		return aur_db_errno(rc);
	}
	sqlite3_finalize(st);
	if (len)
		qsort(v, len, sizeof(*v), registry_order);
	*out = v;
	*n = len;
	return 0;
}

int aur_connector_add(sqlite3 *db, const char *name, const char *hmac_header, const char *token_hash,
		      char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (!aur_platform_name_ok(name)) {
		snprintf(err, errlen, "'%.64s' is not a platform name: 1 to %d of a-z 0-9 - _, starting with a letter"
			 " or digit", name, AUR_PLATFORM_NAME_MAX);
		return -EINVAL;
	}
	if (aur_platform_builtin(name)) {
		snprintf(err, errlen, "%s is a built-in platform: it is there already", name);
		return -EPERM;
	}
	if (hmac_header && *hmac_header && !header_name_ok(hmac_header)) {
		snprintf(err, errlen, "'%.64s' is not a header name for the signature: 1 to %d token characters,"
			 " not Authorization", hmac_header, AUR_HMAC_HEADER_MAX);
		return -EINVAL;
	}
	rc = aur_db_prepare(db, &st, "INSERT INTO connectors(platform, added, hmac_header, token_hash, rca)"
			    " VALUES (?1, 1, ?2, ?3, 1)", err, errlen);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (hmac_header && *hmac_header)
		sqlite3_bind_text(st, 2, hmac_header, -1, SQLITE_STATIC);
	if (token_hash)
		sqlite3_bind_text(st, 3, token_hash, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if ((rc & 0xff) == SQLITE_CONSTRAINT) {
		snprintf(err, errlen, "platform %s exists already (aurora-connector remove %s first to add it anew)",
			 name, name);
		rc = -EEXIST;
	} else if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "connectors: %s", sqlite3_errmsg(db));
		rc = aur_db_errno(rc);
	} else {
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

/* Run one statement with name bound as ?1; *changes gets the rows it changed. */
static int exec_named(sqlite3 *db, const char *sql, const char *name, int *changes, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = aur_db_prepare(db, &st, sql, err, errlen);

	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		snprintf(err, errlen, "connectors: %s", sqlite3_errmsg(db));
	rc = aur_db_errno(rc);
	if (changes)
		*changes = sqlite3_changes(db);
	sqlite3_finalize(st);
	return rc;
}

int aur_connector_remove(sqlite3 *db, const char *name, char *err, size_t errlen)
{
	int changes = 0;
	int rc;

	if (aur_platform_builtin(name)) {
		snprintf(err, errlen, "%s is a built-in platform and cannot be removed (aurora-connector disable %s"
			 " refuses its deliveries)", name, name);
		return -EPERM;
	}
	rc = aur_db_begin(db, 5000, err, errlen);
	if (rc < 0)
		return rc;
	rc = exec_named(db, "DELETE FROM connectors WHERE platform = ?1 AND added = 1", name, &changes, err,
			errlen);
	if (rc == 0 && changes == 0) {
		snprintf(err, errlen, "unknown platform '%.64s': nothing to remove", name);
		rc = -ENOENT;
	}
	if (rc == 0)
		rc = exec_named(db, "DELETE FROM rate_limits WHERE platform = ?1", name, NULL, err, errlen);
	if (rc == 0)
		rc = aur_db_commit(db, 5000, err, errlen);
	if (rc < 0)
		aur_db_rollback(db);
	return rc;
}

char *aur_connector_names(sqlite3 *db, const char *sep)
{
	struct aur_connector *v = NULL;
	struct aur_buf b;
	char err[256];
	size_t n = 0;

	if (aur_connector_load_all(db, &v, &n, err, sizeof(err)) < 0)
		return NULL;
	aur_buf_init(&b, 0);
	for (size_t i = 0; i < n; i++) {
		aur_buf_addf(&b, "%s%s", i ? sep : "", v[i].platform);
		aur_auth_wipe(&v[i], sizeof(v[i]));
	}
	free(v);
	return aur_buf_detach(&b, NULL);
}

int aur_connector_signs(const struct aur_connector *c)
{
	if (c->added)
		return c->hmac_header[0] != '\0';
	return !strcmp(c->platform, "grafana") || !strcmp(c->platform, "pagerduty");
}

int aur_connector_connected(const struct aur_connector *c, long long now_ms)
{
	const long long day = 24LL * 3600 * 1000;

	return (c->last_received_ms && now_ms - c->last_received_ms < day) ||
	       (c->last_test_ok_ms && now_ms - c->last_test_ok_ms < day);
}

/* UPDATE connectors SET <column> = ? WHERE platform = ?, with one bound value. */
static int update(sqlite3 *db, const char *sql, const char *platform, const char *text,
		  long long num, int use_text, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = aur_db_prepare(db, &st, sql, err, errlen);
	if (rc < 0)
		return rc;
	if (!use_text)
		sqlite3_bind_int64(st, 1, num);
	else if (text)
		sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 1);
	sqlite3_bind_text(st, 2, platform, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		snprintf(err, errlen, "connectors: %s", sqlite3_errmsg(db));
	rc = aur_db_errno(rc);
	if (rc == 0 && sqlite3_changes(db) == 0) {
		snprintf(err, errlen, "unknown platform '%.64s'", platform);
		rc = -ENOENT;
	}
	sqlite3_finalize(st);
	return rc;
}

int aur_connector_set_enabled(sqlite3 *db, const char *platform, int enabled, char *err, size_t errlen)
{
	return update(db, "UPDATE connectors SET enabled = ? WHERE platform = ?", platform, NULL,
		      enabled != 0, 0, err, errlen);
}

int aur_connector_set_rca(sqlite3 *db, const char *platform, int on, char *err, size_t errlen)
{
	return update(db, "UPDATE connectors SET rca = ? WHERE platform = ?", platform, NULL, on != 0, 0,
		      err, errlen);
}

int aur_connector_set_token_hash(sqlite3 *db, const char *platform, const char *token_hash,
				 char *err, size_t errlen)
{
	return update(db, "UPDATE connectors SET token_hash = ? WHERE platform = ?", platform,
		      token_hash, 0, 1, err, errlen);
}

int aur_connector_set_secret(sqlite3 *db, const char *platform, const char *secret, char *err,
			     size_t errlen)
{
	return update(db, "UPDATE connectors SET hmac_secret = ? WHERE platform = ?", platform, secret,
		      0, 1, err, errlen);
}

int aur_connector_set_base_url(sqlite3 *db, const char *platform, const char *url, char *err,
			       size_t errlen)
{
	return update(db, "UPDATE connectors SET base_url = ? WHERE platform = ?", platform, url, 0, 1,
		      err, errlen);
}

int aur_connector_set_credentials(sqlite3 *db, const char *platform, const char *user, const char *token,
				  char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = aur_db_prepare(db, &st, "UPDATE connectors SET api_user = ?1, api_token = ?2 WHERE platform = ?3", err,
			    errlen);
	if (rc < 0)
		return rc;
	if (user && token) {
		sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, token, -1, SQLITE_STATIC);
	}
	sqlite3_bind_text(st, 3, platform, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		snprintf(err, errlen, "connectors: %s", sqlite3_errmsg(db));
	rc = aur_db_errno(rc);
	if (rc == 0 && sqlite3_changes(db) == 0) {
		snprintf(err, errlen, "unknown platform '%.64s'", platform);
		rc = -ENOENT;
	}
	sqlite3_finalize(st);
	return rc;
}

int aur_connector_set_test_token(sqlite3 *db, const char *platform, const char *token_hash,
				 long long expires_ms, char *err, size_t errlen)
{
	int rc = update(db, "UPDATE connectors SET test_token_hash = ? WHERE platform = ?", platform,
			token_hash, 0, 1, err, errlen);

	if (rc == 0)
		rc = update(db, "UPDATE connectors SET test_token_expires_ms = ? WHERE platform = ?",
			    platform, NULL, token_hash ? expires_ms : 0, 0, err, errlen);
	return rc;
}

char *aur_connector_public_url(sqlite3 *db)
{
	const char *env = getenv("AURORA_PUBLIC_URL");
	char *url;
	size_t n;

	if (env && *env)
		url = aur_xstrdup(env);
	else if (!db || !(url = aur_db_setting_get(db, "public_url")))
		url = aur_xstrdup("http://127.0.0.1:9797");
	n = strlen(url);
	while (n > 0 && url[n - 1] == '/')
		url[--n] = '\0';
	return url;
}

int aur_connector_last_rejection(sqlite3 *db, const char *platform, struct aur_rejection *out, char *err,
				 size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = aur_db_prepare(db, &st, "SELECT last_rejected_ms, last_rejected_status, last_rejected_reason"
				     " FROM connectors WHERE platform = ?", err, errlen);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, platform, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->at_ms = sqlite3_column_int64(st, 0);
		out->status = (unsigned)sqlite3_column_int(st, 1);
		copy_col(st, 2, out->reason, sizeof(out->reason));
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		snprintf(err, errlen, "unknown platform '%.64s'", platform);
		rc = -ENOENT;
	} else {
		snprintf(err, errlen, "connectors: %s", sqlite3_errmsg(db));
		rc = aur_db_errno(rc);
	}
	sqlite3_finalize(st);
	return rc;
}

int aur_connector_api_user_ok(const char *user)
{
	size_t n = strlen(user);

	if (n == 0 || n > AUR_API_USER_MAX)
		return 0;
	for (const char *p = user; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == ':' || *p == 0x7f)
			return 0;
	return 1;
}

int aur_connector_read_secret(FILE *in, char *out, size_t outlen, char *err, size_t errlen)
{
	size_t n = fread(out, 1, outlen - 1, in);
	size_t lead;
	int extra;

	if (ferror(in)) {
		snprintf(err, errlen, "reading the secret from stdin: %s", strerror(errno));
		return -EIO;
	}
	out[n] = '\0';
	if (n == outlen - 1 && (extra = getc(in)) != EOF && extra != '\n') {
		snprintf(err, errlen, "the secret on stdin is longer than %zu bytes", outlen - 2);
		return -E2BIG;
	}
	/* a pasted secret: the line end and surrounding blanks are not part of it */
	while (n > 0 && out[n - 1] && strchr(" \t\r\n", out[n - 1]))
		out[--n] = '\0';
	lead = strspn(out, " \t");
	memmove(out, out + lead, n - lead + 1);
	n -= lead;
	if (n == 0 || strlen(out) != n || strcspn(out, "\r\n") != n) {
		snprintf(err, errlen, "stdin must hold one line with the secret");
		return -EINVAL;
	}
	return 0;
}
