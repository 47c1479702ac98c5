/*
 * connview.h - a connector as people and programs see it.
 *
 * One definition of the connector record, shared by
 * `aurora-connector list --json` and the receiver's
 * GET /api/{platform}/status, so both say the same thing with the same
 * names. The token hash, the HMAC secret and the API token never appear
 * in it.
 */
#ifndef AURORA_CONNVIEW_H
#define AURORA_CONNVIEW_H

#include <jq.h>
#include <sqlite3.h>

#include "connector.h"

/*
 * The record of c, as of now_ms, with its webhook URL under public_url
 * (no secret in it):
 *   {"platform","added","enabled","connected","base_url","webhook_url",
 *    "last_webhook_received","received","rejected"}
 * (added: an operator's platform, not a built-in one; base_url and
 * last_webhook_received null when unset); with detail also
 *   "rca","token_set","signs","hmac_header" (an added platform's signature
 *   header, or null),"secret_set","last_test_ok","credentials_set",
 *   "credentials_user" (the API user, or null; the API token never).
 * Caller frees.
 */
jv aur_connview_json(const struct aur_connector *c, const char *public_url, long long now_ms, int detail);

/*
 * What became of the platform's deliveries, merged into v (consumed and
 * returned): "failed_to_normalize" (inbox rows in state error) and
 * "last_error" ({"inbox_id","received_at","reason"} or null); both null
 * when the inbox cannot be read. Apart from aur_connview_json because it
 * reads the inbox (dstate.h), not the connector row.
 */
jv aur_connview_add_states(jv v, sqlite3 *db, const char *platform);

/*
 * 1 when url has the shape of a base URL: http:// or https://, a host,
 * at most AUR_URL_MAX bytes, no blanks, quotes, query or fragment.
 */
int aur_connview_url_ok(const char *url);

/* 1 when url's authority holds user info ("https://user:pw@host/"). */
int aur_connview_url_has_userinfo(const char *url);

#endif
