#include <stdlib.h>
#include <string.h>

#include "connector.h"
#include "connview.h"
#include "dstate.h"
#include "timeutil.h"
#include "webhook.h"
#include "banned.h"

static jv opt_text(const char *s)
{
	return s && *s ? jv_string(s) : jv_null();
}

static jv opt_time(long long ms)
{
	char when[32];

	return ms ? jv_string(aur_time_format_ms(ms, when, sizeof(when))) : jv_null();
}

jv aur_connview_json(const struct aur_connector *c, const char *public_url, long long now_ms, int detail)
{
	char *url = aur_webhook_url(public_url, c->platform, NULL);
	jv v = jv_object();

	v = jv_object_set(v, jv_string("platform"), jv_string(c->platform));
	v = jv_object_set(v, jv_string("added"), jv_bool(c->added));
	v = jv_object_set(v, jv_string("enabled"), jv_bool(c->enabled));
	v = jv_object_set(v, jv_string("connected"), jv_bool(aur_connector_connected(c, now_ms)));
	v = jv_object_set(v, jv_string("base_url"), opt_text(c->base_url));
	v = jv_object_set(v, jv_string("webhook_url"), jv_string(url));
	v = jv_object_set(v, jv_string("last_webhook_received"), opt_time(c->last_received_ms));
	v = jv_object_set(v, jv_string("received"), jv_number((double)c->received));
	v = jv_object_set(v, jv_string("rejected"), jv_number((double)c->rejected));
	if (detail) {
		v = jv_object_set(v, jv_string("rca"), jv_bool(c->rca));
		v = jv_object_set(v, jv_string("token_set"), jv_bool(c->token_hash[0] != '\0'));
		v = jv_object_set(v, jv_string("signs"), jv_bool(aur_connector_signs(c)));
		v = jv_object_set(v, jv_string("hmac_header"), opt_text(c->hmac_header));
		v = jv_object_set(v, jv_string("secret_set"), jv_bool(c->hmac_secret[0] != '\0'));
		v = jv_object_set(v, jv_string("last_test_ok"), opt_time(c->last_test_ok_ms));
		v = jv_object_set(v, jv_string("credentials_set"), jv_bool(c->api_token[0] != '\0'));
		v = jv_object_set(v, jv_string("credentials_user"), opt_text(c->api_user));
	}
	free(url);
	return v;
}

jv aur_connview_add_states(jv v, sqlite3 *db, const char *platform)
{
	char err[256];
	jv states;

	if (aur_dstate_connector(db, platform, &states, err, sizeof(err)) < 0) {
		v = jv_object_set(v, jv_string("failed_to_normalize"), jv_null());
		return jv_object_set(v, jv_string("last_error"), jv_null());
	}
	return jv_object_merge(v, states);
}

int aur_connview_url_ok(const char *url)
{
	size_t n = strlen(url);
	size_t scheme;

	if (!strncmp(url, "http://", 7))
		scheme = 7;
	else if (!strncmp(url, "https://", 8))
		scheme = 8;
	else
		return 0;
	if (n > AUR_URL_MAX || strcspn(url, " \t\r\n\"'<>?#\\") != n)
		return 0;
	return url[scheme] != '\0' && url[scheme] != '/';
}

int aur_connview_url_has_userinfo(const char *url)
{
	const char *host = strstr(url, "://");
	size_t len;

	if (!host)
		return 0;
	host += 3;
	len = strcspn(host, "/");
	return memchr(host, '@', len) != NULL;
}
