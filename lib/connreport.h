/*
 * connreport.h - what aurora-connector prints, in its two forms.
 *
 * Each function writes one answer of a subcommand to out: a table or a
 * line for people, or with json one compact JSON object per line (the
 * records aurora-connector(1) documents). The records of list and show
 * are connview.h's, so the command and the receiver's status route say
 * the same thing. Secrets are written only where the command exists to
 * hand them over once (a new token, a generated secret); the HMAC secret
 * and the API token of a connector never.
 *
 * Every function returns 0, or -EIO when a write to out failed (errno
 * still says why); those that read the store also return its errors, with
 * err saying why.
 */
#ifndef AURORA_CONNREPORT_H
#define AURORA_CONNREPORT_H

#include <stdio.h>

#include <jq.h>
#include <sqlite3.h>

#include "connector.h"
#include "webhook.h"

/*
 * list: every connector: PLATFORM ENABLED RCA TOKEN SECRET RECEIVED
 * REJECTED FAILED LAST RECEIVED CONNECTED WEBHOOK URL, or one
 * {"v":1,"type":"connector",...} record each.
 */
int aur_connreport_list(FILE *out, sqlite3 *db, int json, char *err, size_t errlen);

/*
 * show P: one connector with what became of its deliveries, "name value"
 * lines, or its record. aur_connector_load's errors (-ENOENT...).
 */
int aur_connreport_show(FILE *out, sqlite3 *db, const char *platform, int json, char *err, size_t errlen);

/*
 * A new webhook token of platform, printed once: the webhook URL with
 * ?token= and the Authorization line, or {"platform","token","webhook_url"}
 * and the fields of extra (consumed either way).
 */
int aur_connreport_token(FILE *out, const char *public_url, const char *platform, const char *token, jv extra,
			 int json);

/*
 * secret P: the generated secret (NULL when it was given or cleared) on a
 * line, or {"platform","secret"?,"secret_set"}.
 */
int aur_connreport_secret(FILE *out, const char *platform, const char *generated, int set, int json);

/*
 * credentials P: "P: user U, API token set|not set" (or "P: no
 * credentials"), or {"platform","user","token_set"}. The token never.
 */
int aur_connreport_credentials(FILE *out, const struct aur_connector *c, int json);

/*
 * test P: the outcome of a delivery t sent (rc is aur_webhook_test_send's
 * once sent; ok says the answer was a success): "P: HTTP 202 in 3.1 ms,
 * inbox id 7" (nothing without an answer), or a connector_test record.
 */
int aur_connreport_test(FILE *out, const struct aur_webhook_test *t, int rc, int ok, int json);

/* operator-token NAME: the new token on a line, or {"name","token","rotated"}. */
int aur_connreport_operator_token(FILE *out, const char *name, const char *token, int rotated, int json);

/*
 * operator-tokens: NAME CREATED lines under a header, or one
 * operator_token record each. list (aur_optoken_list's) is consumed.
 */
int aur_connreport_operator_tokens(FILE *out, jv list, int json);

#endif
