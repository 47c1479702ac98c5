#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "auth.h"
#include "buf.h"
#include "connector.h"
#include "embed.h"
#include "timeutil.h"
#include "webhook.h"
#include "xalloc.h"
#include "banned.h"

#define HEADERS_MAX 8

/* one POST: what to send */
struct request {
	const char *url;            /* borrowed */
	const char *content_type;   /* borrowed; NULL for application/json */
	const char *user_agent;     /* borrowed; NULL for libcurl's */
	const char *bearer;         /* sent as Authorization: Bearer, or NULL */
	const void *body;           /* borrowed */
	size_t len;
	long timeout_ms;            /* whole request; 0 for 10 s */
	char *headers[HEADERS_MAX]; /* owned "Name: value" lines */
	size_t nheaders;
};

char *aur_webhook_url(const char *base, const char *platform, const char *token)
{
	struct aur_buf b;
	size_t n = strlen(base);

	while (n > 0 && base[n - 1] == '/')
		n--;
	aur_buf_init(&b, 0);
	aur_buf_add(&b, base, n);
	aur_buf_addf(&b, "/api/webhooks/%s", platform);
	if (token)
		aur_buf_addf(&b, "?token=%s", token);
	return aur_buf_detach(&b, NULL);
}

/* The value of placeholder name (without @), or NULL when unknown. */
static const char *placeholder(const char *name, size_t len, const char *const vals[][2], size_t nvals)
{
	for (size_t i = 0; i < nvals; i++)
		if (strlen(vals[i][0]) == len && !memcmp(vals[i][0], name, len))
			return vals[i][1];
	return NULL;
}

/*
 * Fill a sample payload's placeholders, appending to out:
 *   @NOW@        the time now, RFC 3339 UTC with milliseconds
 *   @NOW_MS@     now as epoch milliseconds, @NOW_S@ as epoch seconds
 *   @NONCE@      16 hex characters, @NONCE_DEC@ 15 decimal digits (from nonce)
 * A JSON string that is exactly "@@NAME@@" becomes the bare value, for
 * fields that are numbers ("@@NOW_MS@@" -> 1741087500123). Unknown
 * @WORDS@ are kept. nonce must be at least 16 hex characters.
 * 0, or -E2BIG past out's limit.
 */
static int render(const char *tmpl, size_t len, long long now_ms, const char *nonce, struct aur_buf *out)
{
	char now[32], now_ms_text[24], now_s_text[24], nonce_hex[17], nonce_dec[16];
	const char *const vals[][2] = {
		{ "NOW", now }, { "NOW_MS", now_ms_text }, { "NOW_S", now_s_text },
		{ "NONCE", nonce_hex }, { "NONCE_DEC", nonce_dec },
	};
	const size_t nvals = sizeof(vals) / sizeof(vals[0]);
	unsigned long long dec;
	size_t i = 0;
	int rc = 0;

	aur_time_format_ms(now_ms, now, sizeof(now));
	snprintf(now_ms_text, sizeof(now_ms_text), "%lld", now_ms);
	snprintf(now_s_text, sizeof(now_s_text), "%lld", now_ms / 1000);
	snprintf(nonce_hex, sizeof(nonce_hex), "%.16s", nonce);
	dec = strtoull(nonce_hex, NULL, 16) % 900000000000000ULL + 100000000000000ULL;
	snprintf(nonce_dec, sizeof(nonce_dec), "%llu", dec);
	while (i < len && rc == 0) {
		const char *v = NULL;
		size_t skip = 0;

		if (tmpl[i] == '"' && i + 3 < len && tmpl[i + 1] == '@' && tmpl[i + 2] == '@') {
			const char *end = memchr(tmpl + i + 3, '@', len - i - 3);

			if (end && (size_t)(end - tmpl) + 2 < len && end[1] == '@' && end[2] == '"') {
				v = placeholder(tmpl + i + 3, (size_t)(end - tmpl - i - 3), vals, nvals);
				skip = (size_t)(end - tmpl) + 3 - i;
			}
		} else if (tmpl[i] == '@' && i + 1 < len) {
			const char *end = memchr(tmpl + i + 1, '@', len - i - 1 < 16 ? len - i - 1 : 16);

			if (end) {
				v = placeholder(tmpl + i + 1, (size_t)(end - tmpl - i - 1), vals, nvals);
				skip = (size_t)(end - tmpl) + 1 - i;
			}
		}
		if (v) {
			rc = aur_buf_adds(out, v);
			i += skip;
		} else {
			rc = aur_buf_add(out, tmpl + i, 1);
			i++;
		}
	}
	return rc;
}

static void request_init(struct request *r)
{
	memset(r, 0, sizeof(*r));
}

/* Free the owned header lines. NULL-safe. */
static void request_release(struct request *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nheaders; i++)
		free(r->headers[i]);
	r->nheaders = 0;
}

/* Add "name: value". 0, or -E2BIG when HEADERS_MAX are set. */
static int add_header(struct request *r, const char *name, const char *value)
{
	struct aur_buf b;

	if (r->nheaders >= HEADERS_MAX)
		return -E2BIG;
	aur_buf_init(&b, 0);
	aur_buf_addf(&b, "%s: %s", name, value);
	r->headers[r->nheaders++] = aur_buf_detach(&b, NULL);
	return 0;
}

/*
 * Add the headers a signing platform sends for r->body under secret:
 * pagerduty "X-PagerDuty-Signature: v1=<hmac of body>"; grafana
 * "X-Grafana-Alerting-Signature: <hmac of '<now_s>:<body>'>" and
 * "X-Grafana-Alerting-Signature-Timestamp: <now_s>". Other platforms and
 * an empty secret add nothing. 0 or -E2BIG.
 */
static int sign(struct request *r, const char *platform, const char *secret, long long now_s)
{
	char mac[AUR_HEX_SHA256_LEN + 1];
	char value[AUR_HEX_SHA256_LEN + 8];
	char stamp[24];
	struct aur_buf msg;
	int rc = 0;

	if (!secret || !*secret)
		return 0;
	if (!strcmp(platform, "pagerduty")) {
		aur_hmac_sha256_hex(secret, strlen(secret), r->body, r->len, mac);
		snprintf(value, sizeof(value), "v1=%s", mac);
		rc = add_header(r, "X-PagerDuty-Signature", value);
	} else if (!strcmp(platform, "grafana")) {
		snprintf(stamp, sizeof(stamp), "%lld", now_s);
		aur_buf_init(&msg, 0);
		aur_buf_addf(&msg, "%s:", stamp);
		aur_buf_add(&msg, r->body, r->len);
		aur_hmac_sha256_hex(secret, strlen(secret), msg.data, msg.len, mac);
		aur_buf_release(&msg);
		rc = add_header(r, "X-Grafana-Alerting-Signature", mac);
		if (rc == 0)
			rc = add_header(r, "X-Grafana-Alerting-Signature-Timestamp", stamp);
	}
	return rc;
}

static void response_init(struct aur_webhook_response *resp)
{
	resp->status = 0;
	resp->seconds = 0;
	resp->error[0] = '\0';
	aur_buf_init(&resp->body, AUR_WEBHOOK_RESPONSE_MAX);
}

static void response_release(struct aur_webhook_response *resp)
{
	if (resp)
		aur_buf_release(&resp->body);
}

/* libcurl write callback: keep the first bytes, swallow the rest. */
static size_t keep(char *data, size_t size, size_t n, void *arg)
{
	struct aur_buf *b = arg;
	size_t total = size * n;
	size_t room = b->max > b->len ? b->max - b->len : 0;

	aur_buf_add(b, data, total < room ? total : room);
	return total;
}

/*
 * POST r and wait for the answer. The caller has called curl_global_init.
 * Redirects are not followed; loopback addresses never go through a proxy.
 * Returns 0 when an HTTP answer arrived (any status); -ETIMEDOUT past
 * r->timeout_ms; -ECONNREFUSED when nothing listens or the host is
 * unreachable; -EINVAL for a URL libcurl cannot use; -EIO otherwise;
 * resp->error says why.
 */
static int post(const struct request *r, struct aur_webhook_response *resp)
{
	struct curl_slist *hdrs = NULL;
	struct curl_slist *tmp;
	struct aur_buf line;
	curl_off_t us = 0;
	CURLcode cc;
	CURL *curl;
	int rc = -EIO;

	aur_buf_init(&line, 0);
	curl = curl_easy_init();
	if (!curl) {
		snprintf(resp->error, sizeof(resp->error), "libcurl could not start");
		goto out;
	}
	aur_buf_addf(&line, "Content-Type: %s", r->content_type ? r->content_type : "application/json");
	hdrs = curl_slist_append(hdrs, line.data);
	/* no "Expect: 100-continue" round trip before the body */
	tmp = hdrs ? curl_slist_append(hdrs, "Expect:") : NULL;
	hdrs = tmp ? tmp : hdrs;
	if (r->bearer) {
		aur_buf_reset(&line);
		aur_buf_addf(&line, "Authorization: Bearer %s", r->bearer);
		tmp = hdrs ? curl_slist_append(hdrs, line.data) : NULL;
		hdrs = tmp ? tmp : hdrs;
	}
	for (size_t i = 0; i < r->nheaders && hdrs; i++) {
		tmp = curl_slist_append(hdrs, r->headers[i]);
		hdrs = tmp ? tmp : hdrs;
	}
	if (!hdrs) {
		snprintf(resp->error, sizeof(resp->error), "out of memory");
		goto out;
	}
	curl_easy_setopt(curl, CURLOPT_URL, r->url);
	curl_easy_setopt(curl, CURLOPT_POST, 1L);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, r->body);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->len);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, r->timeout_ms > 0 ? r->timeout_ms : 10000L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_NOPROXY, "127.0.0.1,localhost,::1");
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, keep);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp->body);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, resp->error);
	if (r->user_agent)
		curl_easy_setopt(curl, CURLOPT_USERAGENT, r->user_agent);
	resp->error[0] = '\0';
	cc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_TOTAL_TIME_T, &us);
	resp->seconds = (double)us / 1e6;
	switch (cc) {
	case CURLE_OK:
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
		rc = 0;
		break;
	case CURLE_OPERATION_TIMEDOUT:
		rc = -ETIMEDOUT;
		break;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		rc = -ECONNREFUSED;
		break;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		rc = -EINVAL;
		break;
	default:
		rc = -EIO;
		break;
	}
	if (rc < 0 && !resp->error[0])
		snprintf(resp->error, sizeof(resp->error), "%s", curl_easy_strerror(cc));
out:
	curl_slist_free_all(hdrs);
	if (curl)
		curl_easy_cleanup(curl);
	aur_buf_release(&line);
	return rc;
}

#define TEST_TOKEN_BYTES 32
#define TEST_TOKEN_TTL_MS 60000

void aur_webhook_test_init(struct aur_webhook_test *t)
{
	memset(t, 0, sizeof(*t));
	response_init(&t->resp);
}

void aur_webhook_test_release(struct aur_webhook_test *t)
{
	if (!t)
		return;
	free(t->url);
	t->url = NULL;
	response_release(&t->resp);
}

int aur_webhook_test_send(sqlite3 *db, struct aur_webhook_test *t, char *err, size_t errlen)
{
	char token[2 * TEST_TOKEN_BYTES + 1];
	char hash[AUR_HEX_SHA256_LEN + 1];
	char nonce[17];
	char id[33];
	struct request req;
	struct aur_connector c;
	struct aur_buf body;
	long long now = aur_time_now_ms();
	const char *sample;
	char *base = NULL;
	size_t len = 0;
	int rc;

	request_init(&req);
	aur_buf_init(&body, 0);
	rc = aur_connector_load(db, t->platform, &c, err, errlen);
	if (rc < 0)
		goto out;
	sample = c.added ? NULL : aur_embed_find("samples", t->platform, &len);
	if (!sample && c.added) {
		snprintf(err, errlen, "%s was added by an operator: aurora has no sample payload of it; post one of"
			 " its own deliveries to the webhook URL", t->platform);
		rc = -EINVAL;
		goto out;
	}
	if (!sample) {
		snprintf(err, errlen, "%s: this build has no sample payload", t->platform);
		rc = -ENOENT;
		goto out;
	}
	t->disabled = !c.enabled;
	if (aur_random_hex(token, sizeof(token), TEST_TOKEN_BYTES) < 0 ||
	    aur_random_hex(nonce, sizeof(nonce), 8) < 0 || aur_random_hex(id, sizeof(id), 16) < 0) {
		snprintf(err, errlen, "no randomness from the kernel");
		rc = -EIO;
		goto out;
	}
	aur_sha256_hex(token, strlen(token), hash);
	rc = aur_connector_set_test_token(db, t->platform, hash, now + TEST_TOKEN_TTL_MS, err, errlen);
	if (rc < 0)
		goto out;
	render(sample, len, now, nonce, &body);
	base = t->base ? aur_xstrdup(t->base) : aur_connector_public_url(db);
	t->url = aur_webhook_url(base, t->platform, NULL);
	req.url = t->url;
	req.user_agent = t->user_agent;
	req.bearer = token;
	req.body = body.data;
	req.len = body.len;
	req.timeout_ms = t->timeout_ms;
	sign(&req, t->platform, c.hmac_secret, now / 1000);
	if (!strcmp(t->platform, "pagerduty"))
		add_header(&req, "X-Webhook-Id", id);
	t->sent = 1;
	rc = post(&req, &t->resp);
	/*
	 * A receiver that read this connector less than 100 ms ago (a delivery
	 * a moment before) reads it again for a token it does not know only
	 * after that (lib/recv.c, CACHE_RECHECK_MS): the token set just now is
	 * news to it. Once more, after that time, before calling it refused.
	 */
	if (rc == 0 && t->resp.status == 401) {
		struct timespec pause = { 0, 150 * 1000000L };

		nanosleep(&pause, NULL);
		response_release(&t->resp);
		response_init(&t->resp);
		rc = post(&req, &t->resp);
	}
	/* one use: whatever the answer, the token is spent (best effort: the answer matters more) */
	aur_connector_set_test_token(db, t->platform, NULL, 0, err, errlen);
out:
	memset(token, 0, sizeof(token));
	request_release(&req);
	aur_buf_release(&body);
	free(base);
	return rc;
}
