#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "connreport.h"
#include "connview.h"
#include "jsonl.h"
#include "jvio.h"
#include "timeutil.h"
#include "banned.h"

/* 0, or -EIO with errno saying why a printf to out failed. */
static int wrote(int n)
{
	if (n >= 0)
		return 0;
	if (errno == 0)
		errno = EIO;
	return -EIO;
}

/* Write v (consumed) as one JSON line. */
static int write_json(FILE *out, jv v)
{
	struct aur_jsonl_writer w;

	aur_jsonl_writer_init(&w, out, -1);
	errno = 0;
	return wrote(aur_jsonl_write(&w, v));
}

/* A connector's record: {"v":1,"type":"connector"} and connview.h's fields with the inbox's view. */
static jv record(sqlite3 *db, const struct aur_connector *c, const char *pub, long long now)
{
	jv v = jv_object_set(jv_object(), jv_string("v"), jv_number(1));

	v = jv_object_set(v, jv_string("type"), jv_string("connector"));
	return aur_connview_add_states(jv_object_merge(v, aur_connview_json(c, pub, now, 1)), db, c->platform);
}

/* One row of list's table. */
static int list_row(FILE *out, const struct aur_connector *k, jv v, const char *pub, long long now)
{
	jv failed_n = jv_object_get(jv_copy(v), jv_string("failed_to_normalize"));
	char *url = aur_webhook_url(pub, k->platform, NULL);
	char when[32];
	int rc;

	rc = wrote(fprintf(out, "%-13s %-8s %-4s %-6s %-7s %8lld %8lld %8lld  %-24s  %-9s  %s\n", k->platform,
			   k->enabled ? "yes" : "no", k->rca ? "on" : "off", k->token_hash[0] ? "set" : "-",
			   !aur_connector_signs(k) ? "n/a" : k->hmac_secret[0] ? "set" : "-", k->received,
			   k->rejected,
			   jv_get_kind(failed_n) == JV_KIND_NUMBER ? (long long)jv_number_value(failed_n) : 0LL,
			   k->last_received_ms ? aur_time_format_ms(k->last_received_ms, when, sizeof(when)) : "never",
			   aur_connector_connected(k, now) ? "yes" : "no", url));
	jv_free(failed_n);
	free(url);
	return rc;
}

int aur_connreport_list(FILE *out, sqlite3 *db, int json, char *err, size_t errlen)
{
	struct aur_connector *c = NULL;
	size_t n = 0;
	char *pub;
	long long now = aur_time_now_ms();
	int rc;

	rc = aur_connector_load_all(db, &c, &n, err, errlen);
	if (rc < 0)
		return rc;
	pub = aur_connector_public_url(db);
	errno = 0;
	if (!json)
		rc = wrote(fprintf(out, "%-13s %-8s %-4s %-6s %-7s %8s %8s %8s  %-24s  %-9s  %s\n", "PLATFORM",
				   "ENABLED", "RCA", "TOKEN", "SECRET", "RECEIVED", "REJECTED", "FAILED",
				   "LAST RECEIVED", "CONNECTED", "WEBHOOK URL"));
	for (size_t i = 0; i < n && rc == 0; i++) {
		jv v = record(db, &c[i], pub, now);

		if (json) {
			rc = write_json(out, v);
			continue;
		}
		rc = list_row(out, &c[i], v, pub, now);
		jv_free(v);
	}
	for (size_t i = 0; i < n; i++)
		aur_auth_wipe(&c[i], sizeof(c[i]));
	free(c);
	free(pub);
	return rc;
}

/* One "name  value" line of show; value NULL or empty prints "-". */
static int show_line(FILE *out, const char *name, const char *value)
{
	return wrote(fprintf(out, "%-22s %s\n", name, value && *value ? value : "-"));
}

/* The value of key in o as text: strings as they are, numbers whole, booleans yes/no, else "". */
static const char *jv_text(jv o, const char *key, char *buf, size_t len)
{
	jv v = jv_object_get(jv_copy(o), jv_string(key));

	buf[0] = '\0';
	if (jv_get_kind(v) == JV_KIND_STRING)
		snprintf(buf, len, "%s", jv_string_value(v));
	else if (jv_get_kind(v) == JV_KIND_NUMBER)
		snprintf(buf, len, "%lld", (long long)jv_number_value(v));
	else if (jv_get_kind(v) == JV_KIND_TRUE || jv_get_kind(v) == JV_KIND_FALSE)
		snprintf(buf, len, "%s", jv_get_kind(v) == JV_KIND_TRUE ? "yes" : "no");
	jv_free(v);
	return buf;
}

/* show's lines for people: the record's fields in a fixed order, then the last error. */
static int show_text(FILE *out, jv v)
{
	static const char *const keys[] = { "platform", "enabled", "connected", "rca", "token_set", "secret_set",
					    "base_url", "webhook_url", "last_webhook_received", "last_test_ok",
					    "received", "rejected", "failed_to_normalize" };
	char buf[1200];
	jv last;
	int rc = 0;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) && rc == 0; i++)
		rc = show_line(out, keys[i], jv_text(v, keys[i], buf, sizeof(buf)));
	last = jv_object_get(jv_copy(v), jv_string("last_error"));
	if (rc == 0 && jv_get_kind(last) == JV_KIND_OBJECT) {
		char id[32], at[64], reason[600];

		snprintf(buf, sizeof(buf), "inbox %s, received %s: %s", jv_text(last, "inbox_id", id, sizeof(id)),
			 jv_text(last, "received_at", at, sizeof(at)), jv_text(last, "reason", reason, sizeof(reason)));
		rc = show_line(out, "last_error", buf);
	} else if (rc == 0) {
		rc = show_line(out, "last_error", NULL);
	}
	jv_free(last);
	return rc;
}

int aur_connreport_show(FILE *out, sqlite3 *db, const char *platform, int json, char *err, size_t errlen)
{
	struct aur_connector c;
	char *pub;
	jv v;
	int rc = aur_connector_load(db, platform, &c, err, errlen);

	if (rc < 0)
		return rc;
	pub = aur_connector_public_url(db);
	v = record(db, &c, pub, aur_time_now_ms());
	aur_auth_wipe(&c, sizeof(c));
	free(pub);
	errno = 0;
	if (json)
		return write_json(out, v);
	rc = show_text(out, v);
	jv_free(v);
	return rc;
}

int aur_connreport_token(FILE *out, const char *public_url, const char *platform, const char *token, jv extra,
			 int json)
{
	char *url = aur_webhook_url(public_url, platform, token);
	int rc;

	errno = 0;
	if (json) {
		jv v = jv_object();

		v = jv_object_set(v, jv_string("platform"), jv_string(platform));
		v = jv_object_set(v, jv_string("token"), jv_string(token));
		v = jv_object_set(v, jv_string("webhook_url"), jv_string(url));
		rc = write_json(out, jv_object_merge(v, extra));
	} else {
		jv_free(extra);
		rc = wrote(fprintf(out, "%s\nAuthorization: Bearer %s\n", url, token));
	}
	aur_auth_wipe(url, strlen(url));
	free(url);
	return rc;
}

int aur_connreport_secret(FILE *out, const char *platform, const char *generated, int set, int json)
{
	errno = 0;
	if (json) {
		jv v = jv_object_set(jv_object(), jv_string("platform"), jv_string(platform));

		if (generated)
			v = jv_object_set(v, jv_string("secret"), jv_string(generated));
		return write_json(out, jv_object_set(v, jv_string("secret_set"), jv_bool(set)));
	}
	return generated ? wrote(fprintf(out, "%s\n", generated)) : 0;
}

int aur_connreport_credentials(FILE *out, const struct aur_connector *c, int json)
{
	errno = 0;
	if (json) {
		jv v = jv_object_set(jv_object(), jv_string("platform"), jv_string(c->platform));

		v = jv_object_set(v, jv_string("user"), c->api_user[0] ? jv_string(c->api_user) : jv_null());
		return write_json(out, jv_object_set(v, jv_string("token_set"), jv_bool(c->api_token[0] != '\0')));
	}
	if (c->api_user[0])
		return wrote(fprintf(out, "%s: user %s, API token %s\n", c->platform, c->api_user,
				     c->api_token[0] ? "set" : "not set"));
	return wrote(fprintf(out, "%s: no credentials\n", c->platform));
}

/* The connector_test record. */
static jv test_json(const struct aur_webhook_test *t, int rc, int ok, jv answer, const char *body, double ms)
{
	jv v = jv_object_set(jv_object(), jv_string("v"), jv_number(1));

	v = jv_object_set(v, jv_string("type"), jv_string("connector_test"));
	v = jv_object_set(v, jv_string("platform"), jv_string(t->platform));
	v = jv_object_set(v, jv_string("url"), jv_string(t->url));
	v = jv_object_set(v, jv_string("status"), rc < 0 ? jv_null() : jv_number((double)t->resp.status));
	v = jv_object_set(v, jv_string("time_ms"), jv_number((double)(long long)(ms * 10) / 10));
	v = jv_object_set(v, jv_string("ok"), jv_bool(ok));
	if (rc < 0)
		return jv_object_set(v, jv_string("error"), jv_string(t->resp.error));
	return jv_object_set(v, jv_string("response"), jv_is_valid(answer) ? jv_copy(answer) : jv_string(body));
}

int aur_connreport_test(FILE *out, const struct aur_webhook_test *t, int rc, int ok, int json)
{
	const char *body = t->resp.body.data ? t->resp.body.data : "";
	double ms = t->resp.seconds * 1000.0;
	jv answer;
	jv id;
	int wrc = 0;

	/* lib/jvio, not jv_parse_sized: libjq 1.6's parser leaks on some malformed text */
	if (aur_jvio_parse(body, t->resp.body.len, &answer, NULL, 0) < 0)
		answer = jv_invalid();
	errno = 0;
	if (json) {
		wrc = write_json(out, test_json(t, rc, ok, answer, body, ms));
	} else if (rc == 0) {
		id = jv_get_kind(answer) == JV_KIND_OBJECT ? jv_object_get(jv_copy(answer), jv_string("id"))
							   : jv_invalid();
		wrc = wrote(fprintf(out, "%s: HTTP %ld in %.1f ms", t->platform, t->resp.status, ms));
		if (wrc == 0 && jv_get_kind(id) == JV_KIND_NUMBER)
			wrc = wrote(fprintf(out, ", inbox id %.0f", jv_number_value(id)));
		if (wrc == 0)
			wrc = wrote(fprintf(out, "\n"));
		jv_free(id);
	}
	jv_free(answer);
	return wrc;
}

int aur_connreport_operator_token(FILE *out, const char *name, const char *token, int rotated, int json)
{
	errno = 0;
	if (json) {
		jv v = jv_object_set(jv_object(), jv_string("name"), jv_string(name));

		v = jv_object_set(v, jv_string("token"), jv_string(token));
		return write_json(out, jv_object_set(v, jv_string("rotated"), jv_bool(rotated)));
	}
	return wrote(fprintf(out, "%s\n", token));
}

int aur_connreport_operator_tokens(FILE *out, jv list, int json)
{
	int n = jv_array_length(jv_copy(list));
	int rc = 0;

	errno = 0;
	if (!json)
		rc = wrote(fprintf(out, "%-32s %s\n", "NAME", "CREATED"));
	for (int i = 0; i < n && rc == 0; i++) {
		jv t = jv_array_get(jv_copy(list), i);
		jv name;
		jv at;

		if (json) {
			jv v = jv_object_set(jv_object(), jv_string("v"), jv_number(1));

			v = jv_object_set(v, jv_string("type"), jv_string("operator_token"));
			rc = write_json(out, jv_object_merge(v, t));
			continue;
		}
		name = jv_object_get(jv_copy(t), jv_string("name"));
		at = jv_object_get(t, jv_string("created_at"));
		rc = wrote(fprintf(out, "%-32s %s\n", jv_string_value(name), jv_string_value(at)));
		jv_free(name);
		jv_free(at);
	}
	jv_free(list);
	return rc;
}
