#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connector.h"
#include "db.h"
#include "xalloc.h"
#include "banned.h"

const char *const aur_platforms[AUR_PLATFORM_COUNT + 1] = {
	"grafana", "alertmanager", "pagerduty", "datadog", "netdata",
	"dynatrace", "splunk", "jenkins", "cloudbees", NULL,
};

int aur_platform_known(const char *name)
{
	for (int i = 0; aur_platforms[i]; i++)
		if (!strcmp(aur_platforms[i], name))
			return 1;
	return 0;
}

int aur_platform_signs(const char *name)
{
	return !strcmp(name, "grafana") || !strcmp(name, "pagerduty");
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
	" api_token"
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
}

int aur_connector_load(sqlite3 *db, const char *platform, struct aur_connector *c,
		       char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	char sql[sizeof(select_sql) + 32];
	int rc;

	if (!aur_platform_known(platform)) {
		snprintf(err, errlen, "unknown platform '%s'", platform);
		return -ENOENT;
	}
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
		snprintf(err, errlen, "no connector row for '%s'", platform);
		rc = -ENOENT;
	} else {
		snprintf(err, errlen, "connectors: %s", sqlite3_errmsg(db));
		rc = aur_db_errno(rc);
	}
	sqlite3_finalize(st);
	return rc;
}

int aur_connector_load_all(sqlite3 *db, struct aur_connector *out, char *err, size_t errlen)
{
	int rc = 0;

	for (int i = 0; aur_platforms[i] && rc == 0; i++)
		rc = aur_connector_load(db, aur_platforms[i], &out[i], err, errlen);
	return rc;
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

	if (!aur_platform_known(platform)) {
		snprintf(err, errlen, "unknown platform '%s'", platform);
		return -ENOENT;
	}
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

	if (!aur_platform_known(platform)) {
		snprintf(err, errlen, "unknown platform '%s'", platform);
		return -ENOENT;
	}
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
	if (!aur_platform_known(platform)) {
		snprintf(err, errlen, "unknown platform '%s'", platform);
		return -ENOENT;
	}
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
		rc = 0;
	} else {
		snprintf(err, errlen, "connectors: %s", sqlite3_errmsg(db));
		rc = aur_db_errno(rc);
	}
	sqlite3_finalize(st);
	return rc;
}
