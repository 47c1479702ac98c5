/*
 * webhook.h - sending a delivery the way a platform would.
 *
 * Webhook URLs, the platforms' signatures (shared PLATFORMS.md), the sample
 * payloads of lib/samples with their placeholders filled, and one POST
 * through libcurl with a time limit and a bounded response. Used by
 * `aurora-connector test`.
 */
#ifndef AURORA_WEBHOOK_H
#define AURORA_WEBHOOK_H

#include <stddef.h>
#include <sqlite3.h>

#include "buf.h"

#define AUR_WEBHOOK_RESPONSE_MAX ((size_t)64 * 1024)

/*
 * "<base>/api/webhooks/<platform>", with "?token=<token>" when token is not
 * NULL; trailing slashes of base are dropped. Caller frees.
 */
char *aur_webhook_url(const char *base, const char *platform, const char *token);

struct aur_webhook_response {
	long status;                /* HTTP status; 0 when no answer arrived */
	double seconds;             /* from the start of the request to the end of the answer */
	struct aur_buf body;        /* the answer's first AUR_WEBHOOK_RESPONSE_MAX bytes */
	char error[256];            /* why no answer arrived */
};

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
 * the result of the POST: 0 when an answer arrived (in t->resp); -ETIMEDOUT
 * past t->timeout_ms; -ECONNREFUSED when nothing listens or the host is
 * unreachable; -EINVAL for a URL libcurl cannot use; -EIO otherwise;
 * t->resp.error says why.
 */
int aur_webhook_test_send(sqlite3 *db, struct aur_webhook_test *t, char *err, size_t errlen);

#endif
