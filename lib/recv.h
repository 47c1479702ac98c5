/*
 * recv.h - aurora-recv's routes: webhooks in, connector status out.
 *
 *   POST|PUT /api/webhooks/{platform}   store a delivery in the inbox
 *   GET      /api/{platform}/status     the connector as the receiver sees it
 *                                       (operator token, opauth.h)
 *   GET      /healthz                   {"status":"ok"}
 *
 * A webhook goes through these checks, in order, and the first that fails
 * answers with {"error": "..."}: unknown platform 404, method 405, disabled
 * platform 404, token 401 (decided at header time when a token is set),
 * Content-Length missing 411 or over the limit 413, content type 415,
 * (body read), signature 401, empty or malformed JSON 400. A JSON body
 * without its platform's shape (shape.h) goes to the committer for the
 * quarantine table and is answered 422 {"error","platform","quarantine_id"}
 * once that commits. Else the delivery goes to the committer and the
 * answer waits for its commit:
 * 202 {"accepted":true,"id":N} (plus "duplicate":true for a sender's retry),
 * 429 with Retry-After when the platform's bucket is empty, 503 with
 * Retry-After when the store cannot commit. Rejections on a known platform
 * are counted in the connector row. docs/recv-interface.md and
 * aurora-recv(1) are the contract.
 */
#ifndef AURORA_RECV_H
#define AURORA_RECV_H

#include "committer.h"
#include "conncache.h"
#include "http.h"
#include "opauth.h"

struct aur_recv_options {
	const char *grafana_timestamp_header; /* borrowed; default X-Grafana-Alerting-Signature-Timestamp */
	long long signature_skew_s;           /* Grafana timestamp bound; default 300 */
	struct aur_opauth *operator_auth;     /* borrowed; checks /api/{platform}/status (NULL: open) */
	int shape_check;                      /* 1 (default): 422 and quarantine for a body without its
						 platform's shape (shape.h); 0: any JSON goes in */
	/* One line per event (level as in log.h); NULL drops them. */
	void (*log)(int level, const char *msg);
};

void aur_recv_options_init(struct aur_recv_options *o);

struct aur_recv;

/*
 * The routes' shared state. cc and c are borrowed and must outlive r and
 * the server it serves; o is copied (its strings borrowed).
 */
void aur_recv_new(struct aur_recv **out, const struct aur_recv_options *o, struct aur_conncache *cc,
		  struct aur_committer *c);
/* NULL-safe. */
void aur_recv_free(struct aur_recv *r);

/* Add the routes above to h. 0, or aur_http_route's error. */
int aur_recv_routes(struct aur_recv *r, struct aur_http *h);

#endif
