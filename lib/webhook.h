/*
 * webhook.h - sending a delivery the way a platform would.
 *
 * Webhook URLs, the platforms' signatures (shared PLATFORMS.md), the sample
 * payloads of lib/samples with their placeholders filled, and one POST
 * through libcurl with a time limit and a bounded response. Used by
 * `aurora-connector test`; tests and benches can use it to play a sender.
 */
#ifndef AURORA_WEBHOOK_H
#define AURORA_WEBHOOK_H

#include <stddef.h>
#include <sqlite3.h>

#include "buf.h"

#define AUR_WEBHOOK_RESPONSE_MAX ((size_t)64 * 1024)
#define AUR_WEBHOOK_HEADERS_MAX 8

/*
 * "<base>/api/webhooks/<platform>", with "?token=<token>" when token is not
 * NULL; trailing slashes of base are dropped. Caller frees.
 */
char *aur_webhook_url(const char *base, const char *platform, const char *token);

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
int aur_webhook_render(const char *tmpl, size_t len, long long now_ms, const char *nonce,
		       struct aur_buf *out);

struct aur_webhook_request {
	const char *url;            /* borrowed */
	const char *content_type;   /* borrowed; NULL for application/json */
	const char *user_agent;     /* borrowed; NULL for libcurl's */
	const char *bearer;         /* sent as Authorization: Bearer, or NULL */
	const void *body;           /* borrowed */
	size_t len;
	long timeout_ms;            /* whole request; 0 for 10 s */
	char *headers[AUR_WEBHOOK_HEADERS_MAX]; /* owned "Name: value" lines */
	size_t nheaders;
};

void aur_webhook_request_init(struct aur_webhook_request *r);
/* Free the owned header lines. NULL-safe. */
void aur_webhook_request_release(struct aur_webhook_request *r);
/* Add "name: value". 0, or -E2BIG when AUR_WEBHOOK_HEADERS_MAX are set. */
int aur_webhook_add_header(struct aur_webhook_request *r, const char *name, const char *value);

/*
 * Add the headers a signing platform sends for r->body under secret:
 * pagerduty "X-PagerDuty-Signature: v1=<hmac of body>"; grafana
 * "X-Grafana-Alerting-Signature: <hmac of '<now_s>:<body>'>" and
 * "X-Grafana-Alerting-Signature-Timestamp: <now_s>". Other platforms and
 * an empty secret add nothing. 0 or -E2BIG.
 */
int aur_webhook_sign(struct aur_webhook_request *r, const char *platform, const char *secret,
		     long long now_s);

struct aur_webhook_response {
	long status;                /* HTTP status; 0 when no answer arrived */
	double seconds;             /* from the start of the request to the end of the answer */
	struct aur_buf body;        /* the answer's first AUR_WEBHOOK_RESPONSE_MAX bytes */
	char error[256];            /* why no answer arrived */
};

void aur_webhook_response_init(struct aur_webhook_response *resp);
void aur_webhook_response_release(struct aur_webhook_response *resp);

/*
 * POST r and wait for the answer. The caller has called curl_global_init.
 * Redirects are not followed; loopback addresses never go through a proxy.
 * Returns 0 when an HTTP answer arrived (any status); -ETIMEDOUT past
 * r->timeout_ms; -ECONNREFUSED when nothing listens or the host is
 * unreachable; -EINVAL for a URL libcurl cannot use; -EIO otherwise;
 * resp->error says why.
 */
int aur_webhook_post(const struct aur_webhook_request *r, struct aur_webhook_response *resp);

/*
 * A test delivery, as `aurora-connector test` sends it: the platform's
 * sample payload (placeholders filled), authenticated with a one-use test
 * token whose hash is stored for 60 seconds, signed when the platform has
 * a secret, with a random X-Webhook-Id for pagerduty. The receiver stores
 * it with test=1 and spends the token; the token is cleared here too,
 * whatever the answer, so it never outlives the attempt.
 */
struct aur_webhook_test {
	const char *platform;    /* in: a known platform */
	const char *base;        /* in: receiver base URL; NULL for aur_connector_public_url */
	long timeout_ms;         /* in: for the whole request */
	const char *user_agent;  /* in: or NULL */
	char *url;               /* out: where it went (owned) */
	int disabled;            /* out: the connector is disabled (the receiver will say 404) */
	int sent;                /* out: the request was attempted */
	struct aur_webhook_response resp; /* out */
};

void aur_webhook_test_init(struct aur_webhook_test *t);
void aur_webhook_test_release(struct aur_webhook_test *t);

/*
 * Send the test delivery. Before anything is sent (t->sent is 0):
 * -ENOENT when the platform is unknown or the build has no sample for it,
 * -EINVAL for a platform an operator added (aurora has no sample of it), aur_db_errno()
 * codes from the store, -EIO without randomness; err says why. Once sent,
 * the result of aur_webhook_post (0 when an answer arrived, in t->resp).
 */
int aur_webhook_test_send(sqlite3 *db, struct aur_webhook_test *t, char *err, size_t errlen);

#endif
