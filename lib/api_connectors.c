#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "api_connectors.h"
#include "auth.h"
#include "connector.h"
#include "connview.h"
#include "jvio.h"
#include "sha256.h"
#include "webhook.h"
#include "timeutil.h"
#include "banned.h"

/* Webhook tokens made over HTTP: as aurora-connector token makes them. */
#define TOKEN_BYTES 32
/* A test delivery's whole round trip. */
#define TEST_TIMEOUT_MS 10000

/* The connector's record as aurora-connector list --json prints it. */
static int connector_record(sqlite3 *db, const char *platform, jv *out, char *err, size_t errlen)
{
	struct aur_connector c;
	char *pub;
	int rc = aur_connector_load(db, platform, &c, err, errlen);

	if (rc < 0)
		return rc;
	pub = aur_connector_public_url(db);
	*out = jv_object_set(jv_object(), jv_string("v"), jv_number(1));
	*out = jv_object_set(*out, jv_string("type"), jv_string("connector"));
	*out = jv_object_merge(*out, aur_connview_json(&c, pub, aur_time_now_ms(), 1));
	*out = aur_connview_add_states(*out, db, platform);
	memset(c.api_token, 0, sizeof(c.api_token));
	free(pub);
	return 0;
}

/* A new webhook token for the platform: {"platform", "token", "webhook_url"}, shown this once. */
static int rotate_token(sqlite3 *db, const char *p, jv *out, char *err, size_t errlen)
{
	char token[2 * TOKEN_BYTES + 1];
	char hash[AUR_HEX_SHA256_LEN + 1];
	char *pub;
	char *url;
	int rc;

	if (aur_random_hex(token, sizeof(token), TOKEN_BYTES) < 0) {
		snprintf(err, errlen, "no randomness from the kernel");
		return -EIO;
	}
	aur_sha256_hex(token, strlen(token), hash);
	rc = aur_connector_set_token_hash(db, p, hash, err, errlen);
	if (rc == 0) {
		pub = aur_connector_public_url(db);
		url = aur_webhook_url(pub, p, token);
		*out = jv_object_set(jv_object(), jv_string("platform"), jv_string(p));
		*out = jv_object_set(*out, jv_string("token"), jv_string(token));
		*out = jv_object_set(*out, jv_string("webhook_url"), jv_string(url));
		free(url);
		free(pub);
	}
	memset(token, 0, sizeof(token));
	return rc;
}

static int set_base_url(sqlite3 *db, const char *p, jv body, char *err, size_t errlen)
{
	jv url = jv_object_get(jv_copy(body), jv_string("url"));
	int rc = -EINVAL;

	if (jv_get_kind(url) == JV_KIND_NULL)
		rc = aur_connector_set_base_url(db, p, NULL, err, errlen);
	else if (jv_get_kind(url) != JV_KIND_STRING || !aur_connview_url_ok(jv_string_value(url)))
		snprintf(err, errlen, "url: an http:// or https:// URL without query, fragment or spaces, or null");
	else if (aur_connview_url_has_userinfo(jv_string_value(url)))
		snprintf(err, errlen, "url: no user or password in the URL (aurora-connector credentials keeps those)");
	else
		rc = aur_connector_set_base_url(db, p, jv_string_value(url), err, errlen);
	jv_free(url);
	return rc;
}

/*
 * Send the platform's sample payload through this receiver, as
 * aurora-connector test does: {"status", "ms", "inbox_id"}, status null
 * (and "error") when no answer came.
 */
static int send_test(sqlite3 *db, struct aur_api_req *r, jv *out, char *err, size_t errlen)
{
	struct aur_webhook_test t;
	jv answer;
	jv id = jv_null();
	int rc;

	if (!r->local[0]) {
		snprintf(err, errlen, "this receiver's own address is unknown (a connection that is not a TCP "
				      "socket): use aurora-connector test %s --url URL", r->platform);
		return -EAGAIN;
	}
	aur_webhook_test_init(&t);
	t.platform = r->platform;
	t.base = r->local;
	t.timeout_ms = TEST_TIMEOUT_MS;
	t.user_agent = "aurora-recv/" AURORA_VERSION;
	/* only this thread uses libcurl in the receiver, and only here */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "libcurl could not start");
		return -EIO;
	}
	rc = aur_webhook_test_send(db, &t, err, errlen);
	curl_global_cleanup();
	if (!t.sent) {
		aur_webhook_test_release(&t);
		return rc == -ENOENT ? -EIO : rc;
	}
	/* lib/jvio, not jv_parse_sized: libjq 1.6's parser leaks on some malformed text */
	if (aur_jvio_parse(t.resp.body.data ? t.resp.body.data : "", t.resp.body.len, &answer, NULL, 0) < 0)
		answer = jv_invalid();
	if (rc == 0 && jv_get_kind(answer) == JV_KIND_OBJECT) {
		jv_free(id);
		id = jv_object_get(jv_copy(answer), jv_string("id"));
		if (jv_get_kind(id) != JV_KIND_NUMBER) {
			jv_free(id);
			id = jv_null();
		}
	}
	jv_free(answer);
	*out = jv_object_set(jv_object(), jv_string("status"), rc == 0 ? jv_number((double)t.resp.status) : jv_null());
	*out = jv_object_set(*out, jv_string("ms"), jv_number((double)(long long)(t.resp.seconds * 10000.0) / 10.0));
	*out = jv_object_set(*out, jv_string("inbox_id"), id);
	if (rc < 0)
		*out = jv_object_set(*out, jv_string("error"), jv_string(t.resp.error));
	aur_webhook_test_release(&t);
	return 0;
}

void aur_api_connectors_act(struct aur_api_req *r, sqlite3 *db, jv body)
{
	const char *p = r->platform;
	jv on;

	switch (r->act) {
	case AUR_API_TOKEN:
		r->rc = rotate_token(db, p, &r->out, r->err, sizeof(r->err));
		break;
	case AUR_API_TEST:
		r->rc = send_test(db, r, &r->out, r->err, sizeof(r->err));
		break;
	case AUR_API_ENABLE:
	case AUR_API_DISABLE:
		r->rc = aur_connector_set_enabled(db, p, r->act == AUR_API_ENABLE, r->err, sizeof(r->err));
		break;
	case AUR_API_RCA:
		on = jv_object_get(jv_copy(body), jv_string("on"));
		if (jv_get_kind(on) != JV_KIND_TRUE && jv_get_kind(on) != JV_KIND_FALSE) {
			snprintf(r->err, sizeof(r->err), "on: must be true or false");
			r->rc = -EINVAL;
		} else {
			r->rc = aur_connector_set_rca(db, p, jv_get_kind(on) == JV_KIND_TRUE, r->err, sizeof(r->err));
		}
		jv_free(on);
		break;
	case AUR_API_BASE_URL:
		r->rc = set_base_url(db, p, body, r->err, sizeof(r->err));
		break;
	default:
		r->rc = -EINVAL;
		break;
	}
	jv_free(body);
	if (r->rc == 0 && jv_get_kind(r->out) == JV_KIND_INVALID)
		r->rc = connector_record(db, p, &r->out, r->err, sizeof(r->err));
}

enum aur_http_next aur_api_connectors_list(struct aur_api_req *r)
{
	struct aur_connector *c = NULL;
	size_t n = 0;
	char err[512] = "";
	sqlite3 *db = NULL;
	jv out = jv_array();
	char *pub = NULL;
	long long now = aur_time_now_ms();
	int rc = aur_dbpool_get(r->a->pool, &db, err, sizeof(err));

	if (rc == 0)
		rc = aur_connector_load_all(db, &c, &n, err, sizeof(err));
	if (rc == 0)
		pub = aur_connector_public_url(db);
	for (size_t i = 0; i < n && rc == 0; i++) {
		jv v = jv_object_set(jv_object(), jv_string("v"), jv_number(1));

		v = jv_object_set(v, jv_string("type"), jv_string("connector"));
		v = jv_object_merge(v, aur_connview_json(&c[i], pub, now, 1));
		out = jv_array_append(out, aur_connview_add_states(v, db, c[i].platform));
	}
	for (size_t i = 0; i < n; i++)
		aur_auth_wipe(&c[i], sizeof(c[i]));
	free(c);
	aur_dbpool_put(r->a->pool, db);
	free(pub);
	if (rc < 0) {
		jv_free(out);
		return aur_api_req_failed(r->a, r->req, rc, err);
	}
	return aur_http_respond_json(r->req, 200, out);
}

void aur_api_connectors_local_base(struct aur_api_req *r)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "";
	int fd = aur_http_socket(r->req);
	unsigned port = 0;

	r->local[0] = '\0';
	if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
		snprintf(r->local, sizeof(r->local), "http://%s:%u", host, port);
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
		snprintf(r->local, sizeof(r->local), "http://[%s]:%u", host, port);
	}
}
