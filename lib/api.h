/*
 * api.h - aurora-recv's incident API, for operators and their tools:
 *
 *   POST /api/incidents          a manual incident (api_incidents.h,
 *                                aur_api_incidents_create):
 *                                201 {"id":N} with Location
 *   GET  /api/incidents          the list, newest first; filters status,
 *                                service, since, limit, before
 *   GET  /api/incidents/{id}     the full object (aurora-incident show --json)
 *   GET  /api/incidents/stream   the events log as Server-Sent Events (sse.h):
 *                                incident_update messages, or named events
 *                                with ?named=1
 *   POST /api/incidents/{id}/{action}   resolve, reopen, merge, acknowledge,
 *                                comments, postmortem (incident_write.h):
 *                                200 the full object after the change, 409
 *                                for a move the lifecycle refuses
 *   GET  /api/connectors         every connector (connview.h)
 *   POST /api/connectors/{platform}/{action}   token, enable, disable, rca,
 *                                base-url, test
 *   POST /api/login, POST /api/logout, GET /api/me   the browser's cookie
 *
 * Every route asks for an operator token first (opauth.h), and refuses a
 * cross-site request that changes something with the cookie; login and
 * logout check only the request's origin. Answers are
 * JSON, errors {"error": "..."}: 400 with the reason naming the field or
 * filter, 401, 404 (no such incident), 405, 411, 413, 415 (a body that is
 * not JSON by its Content-Type), 503 with Retry-After when the database
 * stays locked or fails. docs/recv-interface.md and aurora-recv(1) are the
 * contract.
 *
 * Reads go through a pool of read-only connections on the worker threads.
 * A creation or an action is a write that may wait for the database lock:
 * in the accept loop it goes to a thread of its own (the request is
 * suspended meanwhile, so no worker thread waits), in one-connection modes
 * it runs in place. In the accept loop a connector test, which waits for
 * its own delivery (at most 10 s), and a postmortem that a model writes
 * each get a thread of their own instead.
 *
 * api.c holds the routes and those threads; each resource is served by
 * its own module: api_incidents.c (incidents, their actions and stream),
 * api_connectors.c (connectors); api_req.h is what they share.
 */
#ifndef AURORA_API_H
#define AURORA_API_H

#include <stddef.h>
#include <sqlite3.h>

#include "dbpool.h"
#include "http.h"
#include "llm.h"
#include "opauth.h"
#include "sse.h"

struct aur_api_options {
	long long list_limit; /* entries of GET /api/incidents without limit=; default 50 */
	long long list_max;   /* the largest limit= taken; default 1000 */
	/*
	 * POST /api/incidents/{id}/postmortem: the model that writes it (the
	 * "llm" of aurora-rca's configuration; borrowed), NULL for the
	 * template, within postmortem_timeout_ms (default 30 s). In the accept
	 * loop each runs on a thread of its own with its own connection to
	 * db_path (borrowed; NULL: the template only, and connector tests on
	 * the writing thread), as does a connector test, at most 4 at once
	 * (past that the writing thread takes them, postmortems from the
	 * template), so no other change waits for a model or a test delivery.
	 */
	const char *db_path;
	const struct aur_llm_config *postmortem_llm;
	long long postmortem_timeout_ms;
	/* One line per event (level as in log.h); NULL drops them. */
	void (*log)(int level, const char *msg);
};

#define AUR_API_POSTMORTEM_TIMEOUT_MS 30000

void aur_api_options_init(struct aur_api_options *o);

struct aur_api;

/*
 * The routes' state. pool, auth and sse are borrowed and must outlive a
 * and the server. wdb is the connection creations write through
 * (borrowed): with threaded, a thread of the API's own uses it and nobody
 * else may; without, the handlers use it in place. *out is freed with
 * aur_api_free, also on failure. 0, or -EAGAIN with err set when the
 * thread cannot start.
 */
int aur_api_new(struct aur_api **out, const struct aur_api_options *o, struct aur_dbpool *pool, sqlite3 *wdb,
		int threaded, struct aur_opauth *auth, struct aur_sse *sse, char *err, size_t errlen);

/* Add the routes above to h (before the receiver's own). 0, or aur_http_route's error. */
int aur_api_routes(struct aur_api *a, struct aur_http *h);

/*
 * Refuse new creations (503), finish the queued ones (their requests
 * resume) and stop the thread. Safe to call twice.
 */
void aur_api_close(struct aur_api *a);

/* Close, then free. NULL-safe. */
void aur_api_free(struct aur_api *a);

#endif
