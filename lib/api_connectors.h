/*
 * api_connectors.h - the connectors resource of the API (api.h): the list
 * (GET /api/connectors) and the actions on one (POST
 * /api/connectors/{platform}/{action}: token, enable, disable, rca,
 * base-url, test), answered as aurora-connector prints them.
 */
#ifndef AURORA_API_CONNECTORS_H
#define AURORA_API_CONNECTORS_H

#include <sqlite3.h>
#include <jq.h>

#include "api_req.h"
#include "http.h"

/* GET /api/connectors: every connector with its delivery states, answered. */
enum aur_http_next aur_api_connectors_list(struct aur_api_req *r);

/*
 * r's action on connector r->platform through db, body consumed. r->rc its
 * result: r->out the connector's record after the change (a new token: the
 * token and webhook URL, shown this once; a test: {"status", "ms",
 * "inbox_id"}); -EAGAIN when a test cannot reach this receiver.
 */
void aur_api_connectors_act(struct aur_api_req *r, sqlite3 *db, jv body);

/* This receiver's base URL as seen from r's connection (its local address) into r->local, or "". */
void aur_api_connectors_local_base(struct aur_api_req *r);

#endif
