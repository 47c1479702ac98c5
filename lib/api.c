#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "cli.h"
#include "incident_view.h"
#include "jsonvalid.h"
#include "log.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

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
	struct areq *head;
	struct areq *tail;
};

/* One request of an API route. */
struct areq {
	struct aur_api *a;
	struct aur_http_req *req;
	struct aur_sse_sub *sub; /* the stream route */
	int reading;             /* POST: the body was asked for */
	int suspended;
	jv body;                 /* POST: the parsed body, until the creation takes it */
	long long id;            /* POST: the new incident */
	int rc;                  /* POST: the creation's result */
	char err[512];
	struct areq *next;       /* the creation queue */
};

static const char *const list_filters[] = { "status", "service", "since", "limit", "before", NULL };

void aur_api_options_init(struct aur_api_options *o)
{
	o->list_limit = 50;
	o->list_max = 1000;
	o->log = NULL;
}

/* say(x, level, fmt, ...): a line to x's log callback (log.h) */
#define say(x, ...) aur_log_to((x)->o.log, __VA_ARGS__)

/* A 4xx answer, logged at info level. */
static enum aur_http_next refuse(const struct aur_api *a, struct aur_http_req *req, unsigned status, const char *why)
{
	say(a, AUR_LOG_INFO, "%s %s from %s: %u %s", aur_http_method_name(req), aur_http_path(req),
	    aur_http_remote(req), status, why);
	return aur_http_respond_error(req, status, "%s", why);
}

/* The answer to a lib/ failure of a read or a write: 400, 404, else 503 with Retry-After. */
static enum aur_http_next failed(const struct aur_api *a, struct aur_http_req *req, int rc, const char *err)
{
	if (rc == -EINVAL)
		return refuse(a, req, 400, err);
	if (rc == -ENOENT)
		return refuse(a, req, 404, err);
	say(a, AUR_LOG_WARN, "%s %s from %s: 503 %s", aur_http_method_name(req), aur_http_path(req),
	    aur_http_remote(req), err[0] ? err : strerror(-rc));
	aur_http_add_header(req, "Retry-After", rc == -EBUSY ? "1" : "5");
	if (rc == -ESHUTDOWN)
		return aur_http_respond_error(req, 503, "aurora-recv is shutting down");
	if (rc == -EBUSY)
		return aur_http_respond_error(req, 503, "the database is busy: %s", err);
	return aur_http_respond_error(req, 503, "the database failed: %s", err);
}

/* --- creation ---------------------------------------------------------------- */

static void create_now(struct aur_api *a, struct areq *r)
{
	jv body = r->body;

	r->body = jv_invalid();
	r->err[0] = '\0';
	r->rc = aur_incident_create_from_json(a->wdb, body, aur_time_now_ms(), &r->id, r->err, sizeof(r->err));
}

static void *creator_main(void *arg)
{
	struct aur_api *a = arg;

	pthread_mutex_lock(&a->mu);
	for (;;) {
		struct areq *r;

		while (!a->head && !a->closing)
			pthread_cond_wait(&a->cv, &a->mu);
		if (!a->head)
			break;
		r = a->head;
		a->head = r->next;
		if (!a->head)
			a->tail = NULL;
		pthread_mutex_unlock(&a->mu);
		create_now(a, r);
		/* the request may end as soon as it resumes: r is not touched after this */
		aur_http_resume(r->req);
		pthread_mutex_lock(&a->mu);
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

/* Queue r for the creation thread: 0, or -ESHUTDOWN when closing. */
static int submit(struct aur_api *a, struct areq *r)
{
	pthread_mutex_lock(&a->mu);
	if (a->closing) {
		pthread_mutex_unlock(&a->mu);
		return -ESHUTDOWN;
	}
	r->next = NULL;
	if (a->tail)
		a->tail->next = r;
	else
		a->head = r;
	a->tail = r;
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
	return 0;
}

/* JSON by its Content-Type: application/json, text/json, anything +json; none counts as JSON. */
static int json_content_type(const char *ct)
{
	size_t len;

	if (!ct)
		return 1;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	len = strcspn(ct, ";");
	while (len && (ct[len - 1] == ' ' || ct[len - 1] == '\t'))
		len--;
	return len == 0 || (len == 16 && !strncasecmp(ct, "application/json", 16)) ||
	       (len == 9 && !strncasecmp(ct, "text/json", 9)) ||
	       (len > 5 && !strncasecmp(ct + len - 5, "+json", 5));
}

static enum aur_http_next create_headers(struct areq *r)
{
	const char *ct = aur_http_header(r->req, "Content-Type");
	enum aur_http_next next = aur_http_expect_body(r->req);
	char why[256];

	if (next != AUR_HTTP_READ_BODY)
		return next;
	if (!json_content_type(ct)) {
		snprintf(why, sizeof(why), "content type '%.64s' is not JSON: send application/json", ct);
		return refuse(r->a, r->req, 415, why);
	}
	r->reading = 1;
	return AUR_HTTP_READ_BODY;
}

static enum aur_http_next create_answer(struct areq *r)
{
	char location[64];

	if (r->rc < 0)
		return failed(r->a, r->req, r->rc, r->err);
	say(r->a, AUR_LOG_INFO, "POST /api/incidents from %s: 201 incident %lld", aur_http_remote(r->req), r->id);
	snprintf(location, sizeof(location), "/api/incidents/%lld", r->id);
	aur_http_add_header(r->req, "Location", location);
	return aur_http_respond_json(r->req, 201, jv_object_set(jv_object(), jv_string("id"),
								jv_number((double)r->id)));
}

static enum aur_http_next create_body(struct areq *r)
{
	struct aur_api *a = r->a;
	size_t len;
	const char *body = aur_http_body(r->req, &len);
	char why[600];
	jv v;

	if (len == 0)
		return refuse(a, r->req, 400, "empty body: send a JSON object");
	v = jv_parse_sized(body, (int)len);
	if (!jv_is_valid(v)) {
		jv msg = jv_invalid_get_msg(v);
		const char *m = jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "not JSON";
		const char *cut = strstr(m, " (while parsing '");

		snprintf(why, sizeof(why), "malformed JSON: %.*s", cut ? (int)(cut - m) : (int)strlen(m), m);
		jv_free(msg);
		return refuse(a, r->req, 400, why);
	}
	/* what libjq reads but changes: invalid UTF-8 (replaced), nan, numbers like 01 */
	if (!aur_jsonvalid_check(body, len)) {
		jv_free(v);
		return refuse(a, r->req, 400,
			      "not strict JSON (RFC 8259): invalid UTF-8, nan, a number such as 01, "
			      "or nesting deeper than 256");
	}
	r->body = v;
	if (!a->threaded) {
		create_now(a, r);
		return create_answer(r);
	}
	r->suspended = aur_http_suspend(r->req) == 0;
	if (!r->suspended) {
		create_now(a, r);
		return create_answer(r);
	}
	if (submit(a, r) < 0) {
		jv_free(r->body);
		r->body = jv_invalid();
		r->rc = -ESHUTDOWN;
		aur_http_resume(r->req);
	}
	return AUR_HTTP_SUSPENDED;
}

/* --- reads ------------------------------------------------------------------- */

static enum aur_http_next list(struct areq *r)
{
	struct aur_api *a = r->a;
	struct aur_incident_filter f;
	const char *other = aur_http_query_other(r->req, list_filters);
	const char *v;
	char err[512] = "";
	sqlite3 *db = NULL;
	jv out = jv_invalid();
	int rc;

	if (other) {
		snprintf(err, sizeof(err), "unknown filter '%.64s'; filters: status, service, since, limit, before",
			 other);
		return refuse(a, r->req, 400, err);
	}
	aur_incident_filter_init(&f);
	f.status = aur_http_query(r->req, "status");
	f.service = aur_http_query(r->req, "service");
	f.limit = a->o.list_limit;
	v = aur_http_query(r->req, "limit");
	if (v && aur_cli_parse_ll(v, 1, a->o.list_max, &f.limit) < 0) {
		snprintf(err, sizeof(err), "limit: '%.32s' is not a number from 1 to %lld", v, a->o.list_max);
		return refuse(a, r->req, 400, err);
	}
	v = aur_http_query(r->req, "before");
	if (v && aur_cli_parse_ll(v, 1, LLONG_MAX, &f.before_id) < 0) {
		snprintf(err, sizeof(err), "before: '%.32s' is not an incident id", v);
		return refuse(a, r->req, 400, err);
	}
	v = aur_http_query(r->req, "since");
	if (v && aur_cli_parse_time_ms(v, aur_time_now_ms(), &f.since_ms) < 0) {
		snprintf(err, sizeof(err), "since: '%.64s' is neither a time (RFC 3339, epoch seconds or"
					   " milliseconds) nor a duration (90s, 10m, 2h, 7d)", v);
		return refuse(a, r->req, 400, err);
	}
	rc = aur_dbpool_get(a->pool, &db, err, sizeof(err));
	if (rc == 0)
		rc = aur_incident_list(db, &f, &out, err, sizeof(err));
	aur_dbpool_put(a->pool, db);
	if (rc < 0)
		return failed(a, r->req, rc, err);
	return aur_http_respond_json(r->req, 200, out);
}

static enum aur_http_next show(struct areq *r)
{
	struct aur_api *a = r->a;
	const char *p = aur_http_param(r->req, 0);
	char err[512] = "";
	sqlite3 *db = NULL;
	long long id = 0;
	jv out = jv_invalid();
	int rc;

	if (aur_cli_parse_ll(p, 1, LLONG_MAX, &id) < 0) {
		snprintf(err, sizeof(err), "incident id must be a positive integer, not '%.64s'", p);
		return refuse(a, r->req, 400, err);
	}
	rc = aur_dbpool_get(a->pool, &db, err, sizeof(err));
	if (rc == 0)
		rc = aur_incident_show(db, id, &out, err, sizeof(err));
	aur_dbpool_put(a->pool, db);
	if (rc == -ENOENT)
		snprintf(err, sizeof(err), "no incident %lld", id);
	if (rc < 0)
		return failed(a, r->req, rc, err);
	return aur_http_respond_json(r->req, 200, out);
}

static enum aur_http_next stream(struct areq *r)
{
	const char *v = aur_http_header(r->req, "Last-Event-ID");
	const char *what = "Last-Event-ID";
	char why[256];
	long long after = -1;

	if (!v || !*v) {
		v = aur_http_query(r->req, "last_event_id");
		what = "last_event_id";
	}
	if (v && *v && aur_cli_parse_ll(v, 0, LLONG_MAX, &after) < 0) {
		snprintf(why, sizeof(why), "%s: '%.32s' is not an event id", what, v);
		return refuse(r->a, r->req, 400, why);
	}
	return aur_sse_start(r->a->sse, r->req, after, &r->sub);
}

/* --- routes ------------------------------------------------------------------ */

enum route { R_INCIDENTS, R_ONE, R_STREAM };

static void done(struct areq *r)
{
	if (r->sub)
		aur_sse_done(r->a->sse, r->sub);
	if (r->reading && aur_http_status(r->req) == 0)
		say(r->a, AUR_LOG_INFO, "%s %s from %s: cut off before the body was complete",
		    aur_http_method_name(r->req), aur_http_path(r->req), aur_http_remote(r->req));
	jv_free(r->body);
	free(r);
}

static enum aur_http_next route(struct aur_http_req *req, enum aur_http_phase phase, struct aur_api *a,
				enum route which)
{
	struct areq *r = aur_http_data(req);
	enum aur_http_next next;

	switch (phase) {
	case AUR_HTTP_HEADERS:
		if (!aur_opauth_require(a->auth, req, &next))
			return next;
		r = aur_xcalloc(1, sizeof(*r));
		r->a = a;
		r->req = req;
		r->body = jv_invalid();
		aur_http_set_data(req, r);
		if (which == R_STREAM)
			return stream(r);
		if (which == R_ONE)
			return show(r);
		if (aur_http_method(req) == AUR_HTTP_POST)
			return create_headers(r);
		return list(r);
	case AUR_HTTP_BODY:
		return create_body(r);
	case AUR_HTTP_RESUMED:
		return create_answer(r);
	case AUR_HTTP_DONE:
		if (r)
			done(r);
		break;
	}
	return AUR_HTTP_ANSWERED;
}

static enum aur_http_next incidents_route(struct aur_http_req *req, enum aur_http_phase phase, void *arg)
{
	return route(req, phase, arg, R_INCIDENTS);
}

static enum aur_http_next one_route(struct aur_http_req *req, enum aur_http_phase phase, void *arg)
{
	return route(req, phase, arg, R_ONE);
}

static enum aur_http_next stream_route(struct aur_http_req *req, enum aur_http_phase phase, void *arg)
{
	return route(req, phase, arg, R_STREAM);
}

int aur_api_new(struct aur_api **out, const struct aur_api_options *o, struct aur_dbpool *pool, sqlite3 *wdb,
		int threaded, struct aur_opauth *auth, struct aur_sse *sse, char *err, size_t errlen)
{
	struct aur_api *a = aur_xcalloc(1, sizeof(*a));
	int rc;

	a->o = *o;
	if (a->o.list_max < 1)
		a->o.list_max = 1;
	if (a->o.list_limit < 1 || a->o.list_limit > a->o.list_max)
		a->o.list_limit = a->o.list_max;
	a->pool = pool;
	a->wdb = wdb;
	a->auth = auth;
	a->sse = sse;
	a->threaded = threaded;
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	*out = a;
	if (!threaded)
		return 0;
	rc = pthread_create(&a->thread, NULL, creator_main, a);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the incident API's thread: %s", strerror(rc));
		a->closing = 1;
		return -EAGAIN;
	}
	a->running = 1;
	return 0;
}

int aur_api_routes(struct aur_api *a, struct aur_http *h)
{
	int rc;

	/* the stream before {}: routes are tried in order */
	rc = aur_http_route(h, AUR_HTTP_GET, "/api/incidents/stream", stream_route, a);
	if (rc == 0)
		rc = aur_http_route(h, AUR_HTTP_GET | AUR_HTTP_POST, "/api/incidents", incidents_route, a);
	if (rc == 0)
		rc = aur_http_route(h, AUR_HTTP_GET, "/api/incidents/{}", one_route, a);
	return rc;
}

void aur_api_close(struct aur_api *a)
{
	pthread_mutex_lock(&a->mu);
	a->closing = 1;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	if (a->running) {
		pthread_join(a->thread, NULL);
		a->running = 0;
	}
}

void aur_api_free(struct aur_api *a)
{
	if (!a)
		return;
	aur_api_close(a);
	pthread_mutex_destroy(&a->mu);
	pthread_cond_destroy(&a->cv);
	free(a);
}
