/*
 * api_req.h - one request of the incident API (api.h), as the routes of
 * each resource see it: the API's state, the request's, and the answers
 * every route gives the same way.
 *
 * api.c owns the routes, the writing thread and the slow writers' threads;
 * api_incidents.c and api_connectors.c serve their resources through the
 * structs below. Nothing outside those three includes this header.
 */
#ifndef AURORA_API_REQ_H
#define AURORA_API_REQ_H

#include <pthread.h>
#include <stddef.h>
#include <sqlite3.h>
#include <jq.h>

#include "api.h"
#include "http.h"
#include "log.h"
#include "optoken.h"
#include "connector.h"
#include "sse.h"

struct aur_api_req;

struct aur_api {
	struct aur_api_options o;
	struct aur_dbpool *pool;
	sqlite3 *wdb;
	struct aur_opauth *auth;
	struct aur_sse *sse;
	/* the creation thread and its queue */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	int threaded;
	int running;
	int closing;
	struct aur_api_req *head;
	struct aur_api_req *tail;
	unsigned writers;    /* postmortem threads running (a model writes), under mu */
};

/* What a POST asks for: a creation, or an action on an incident or a connector. */
enum aur_api_act {
	AUR_API_CREATE, AUR_API_RESOLVE, AUR_API_REOPEN, AUR_API_MERGE, AUR_API_ACK, AUR_API_COMMENT,
	AUR_API_POSTMORTEM,
	/* the connectors' actions, from AUR_API_TOKEN on */
	AUR_API_TOKEN, AUR_API_ENABLE, AUR_API_DISABLE, AUR_API_RCA, AUR_API_BASE_URL, AUR_API_TEST,
	AUR_API_LOGIN, AUR_API_LOGOUT
};

/* One request of an API route. */
struct aur_api_req {
	struct aur_api *a;
	struct aur_http_req *req;
	struct aur_sse_sub *sub; /* the stream route */
	int reading;             /* POST: the body was asked for */
	int suspended;
	enum aur_api_act act;
	jv body;                 /* POST: the parsed body, until the write takes it */
	long long id;            /* the new incident, or the incident acted on */
	char platform[AUR_PLATFORM_NAME_MAX + 1]; /* a connector action's platform */
	char who[AUR_OPTOKEN_NAME_MAX + 1]; /* the operator token's name */
	char local[128];         /* a test delivery: this receiver's base URL, or "" */
	int rc;                  /* the write's result */
	jv out;                  /* its answer (200), when rc is 0 */
	char err[512];
	struct aur_api_req *next; /* the write queue */
};

/* AUR_API_LOG(a, level, fmt, ...): a line to the API's log callback (log.h). */
#define AUR_API_LOG(a, ...) aur_log_to((a)->o.log, __VA_ARGS__)

/* A 4xx answer, logged at info level. */
enum aur_http_next aur_api_req_refuse(const struct aur_api *a, struct aur_http_req *req, unsigned status,
				      const char *why);

/* The answer to a lib/ failure of a read or a write: 400, 404, else 503 with Retry-After. */
enum aur_http_next aur_api_req_failed(const struct aur_api *a, struct aur_http_req *req, int rc, const char *err);

#endif
