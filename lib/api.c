#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "api.h"
#include "api_connectors.h"
#include "api_incidents.h"
#include "api_req.h"
#include "cli.h"
#include "db.h"
#include "jsonvalid.h"
#include "jvio.h"
#include "log.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

void aur_api_options_init(struct aur_api_options *o)
{
	o->list_limit = 50;
	o->list_max = 1000;
	o->db_path = NULL;
	o->postmortem_llm = NULL;
	o->postmortem_timeout_ms = AUR_API_POSTMORTEM_TIMEOUT_MS;
	o->log = NULL;
}

/*
 * Slow writes at once (postmortems a model writes, test deliveries), each
 * on a thread of its own; past it the writing thread takes them (the
 * template writes those postmortems).
 */
#define AUR_API_MAX_SLOW_WRITERS 4

/* --- writes ------------------------------------------------------------------ */

/* On the writing connection (the API's thread, or in place): the action of r, body consumed. */
static void run_write(struct aur_api *a, struct aur_api_req *r, jv body)
{
	jv_free(r->out);
	r->out = jv_invalid();
	/* in place (one-connection mode) the model may write; on the writing thread only the template */
	if (r->act == AUR_API_POSTMORTEM)
		aur_api_incidents_postmortem(r, a->wdb, a->threaded ? NULL : a->o.postmortem_llm, body);
	else if (r->act >= AUR_API_TOKEN)
		aur_api_connectors_act(r, a->wdb, body);
	else
		aur_api_incidents_act(r, body);
	if (r->rc < 0) {
		jv_free(r->out);
		r->out = jv_invalid();
	}
}

static void create_now(struct aur_api *a, struct aur_api_req *r)
{
	jv body = r->body;

	r->body = jv_invalid();
	r->err[0] = '\0';
	if (r->act != AUR_API_CREATE) {
		run_write(a, r, body);
		return;
	}
	r->rc = aur_api_incidents_create(a->wdb, body, aur_time_now_ms(), &r->id, r->err, sizeof(r->err));
}

static void *creator_main(void *arg)
{
	struct aur_api *a = arg;

	pthread_mutex_lock(&a->mu);
	for (;;) {
		struct aur_api_req *r;

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
static int submit(struct aur_api *a, struct aur_api_req *r)
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

/* --- slow writes: a model's postmortem, a test delivery ---------------------------- */

/* A slow write's thread: its own connection, the model or the test delivery, then the request resumes. */
static void *slow_main(void *arg)
{
	struct aur_api_req *r = arg;
	struct aur_api *a = r->a;
	jv body = r->body;
	sqlite3 *db = NULL;
	int rc;

	r->body = jv_invalid();
	rc = aur_db_open(&db, a->o.db_path, NULL, r->err, sizeof(r->err));
	if (rc == 0 && curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK) {
		if (r->act == AUR_API_TEST)
			aur_api_connectors_act(r, db, body);
		else
			aur_api_incidents_postmortem(r, db, a->o.postmortem_llm, body);
		curl_global_cleanup();
	} else {
		jv_free(body);
		r->rc = rc < 0 ? rc : -EIO;
		if (rc == 0)
			snprintf(r->err, sizeof(r->err), "libcurl could not start");
	}
	aur_db_close(db);
	aur_http_resume(r->req);
	pthread_mutex_lock(&a->mu);
	a->writers--;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

/* A write that waits on something else (a model, a test delivery): 1 when it gets a thread of its own. */
static int slow(const struct aur_api *a, const struct aur_api_req *r)
{
	return a->o.db_path && ((r->act == AUR_API_POSTMORTEM && a->o.postmortem_llm) || r->act == AUR_API_TEST);
}

/*
 * A suspended slow request (accept loop): a thread of its own, so that a
 * model's minute or a test delivery's round trip holds no other change.
 * 0; -EAGAIN past AUR_API_MAX_SLOW_WRITERS or without a thread (the
 * writing thread takes it then, a postmortem from the template);
 * -ESHUTDOWN when closing.
 */
static int submit_slow(struct aur_api *a, struct aur_api_req *r)
{
	pthread_attr_t attr;
	pthread_t t;
	int rc;

	pthread_mutex_lock(&a->mu);
	rc = a->closing ? -ESHUTDOWN : a->writers >= AUR_API_MAX_SLOW_WRITERS ? -EAGAIN : 0;
	if (rc == 0)
		a->writers++;
	pthread_mutex_unlock(&a->mu);
	if (rc < 0)
		return rc;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &attr, slow_main, r);
	pthread_attr_destroy(&attr);
	if (rc == 0)
		return 0;
	pthread_mutex_lock(&a->mu);
	a->writers--;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	return -EAGAIN;
}

/* The answer to an action: 200 with r->out; 400, 404, 409, 503 for a failure. */
static enum aur_http_next action_answer(struct aur_api_req *r)
{
	if (r->rc == -EPERM)
		return aur_api_req_refuse(r->a, r->req, 409, r->err);
	if (r->rc == -EAGAIN)
		return aur_api_req_refuse(r->a, r->req, 503, r->err);
	if (r->rc < 0)
		return aur_api_req_failed(r->a, r->req, r->rc, r->err);
	jv out;

	out = r->out;
	r->out = jv_invalid();
	AUR_API_LOG(r->a, AUR_LOG_INFO, "POST %s from %s: 200 (%s)", aur_http_path(r->req), aur_http_remote(r->req), r->who);
	return aur_http_respond_json(r->req, 200, out);
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

static enum aur_http_next create_body(struct aur_api_req *r);

static enum aur_http_next create_headers(struct aur_api_req *r)
{
	const char *ct = aur_http_header(r->req, "Content-Type");
	enum aur_http_next next;
	char why[256];

	/* an action may come without a body ({} then); a creation may not */
	if (r->act != AUR_API_CREATE && !aur_http_header(r->req, "Content-Length") &&
	    !aur_http_header(r->req, "Transfer-Encoding"))
		return create_body(r);
	next = aur_http_expect_body(r->req);
	if (next != AUR_HTTP_READ_BODY)
		return next;
	if (!json_content_type(ct)) {
		snprintf(why, sizeof(why), "content type '%.64s' is not JSON: send application/json", ct);
		return aur_api_req_refuse(r->a, r->req, 415, why);
	}
	r->reading = 1;
	return AUR_HTTP_READ_BODY;
}

static enum aur_http_next login_answer(struct aur_api_req *r, jv body);

static enum aur_http_next create_answer(struct aur_api_req *r)
{
	char location[64];

	if (r->act != AUR_API_CREATE)
		return action_answer(r);
	if (r->rc < 0)
		return aur_api_req_failed(r->a, r->req, r->rc, r->err);
	AUR_API_LOG(r->a, AUR_LOG_INFO, "POST /api/incidents from %s: 201 incident %lld", aur_http_remote(r->req), r->id);
	snprintf(location, sizeof(location), "/api/incidents/%lld", r->id);
	aur_http_add_header(r->req, "Location", location);
	return aur_http_respond_json(r->req, 201, jv_object_set(jv_object(), jv_string("id"),
								jv_number((double)r->id)));
}

static enum aur_http_next create_body(struct aur_api_req *r)
{
	struct aur_api *a = r->a;
	size_t len;
	const char *body = aur_http_body(r->req, &len);
	char perr[256];
	char why[600];
	int rc;
	jv v;

	if (len == 0 && r->act == AUR_API_CREATE)
		return aur_api_req_refuse(a, r->req, 400, "empty body: send a JSON object");
	/*
	 * lib/jvio, not jv_parse_sized: libjq 1.6's parser leaks on some
	 * malformed text. 1e999 stays infinity, as libjq read it, for the
	 * fields' check to refuse.
	 */
	if (len == 0)
		v = jv_object();
	else if (aur_jvio_parse_inf(body, len, &v, perr, sizeof(perr)) < 0) {
		snprintf(why, sizeof(why), "malformed JSON: %s", perr);
		return aur_api_req_refuse(a, r->req, 400, why);
	}
	/* what jvio reads but changes: invalid UTF-8 and a lone surrogate escape (each becomes U+FFFD) */
	if (len > 0 && !aur_jsonvalid_check(body, len)) {
		jv_free(v);
		return aur_api_req_refuse(a, r->req, 400,
			      "not strict JSON (RFC 8259): invalid UTF-8 or a lone surrogate escape");
	}
	if (r->act != AUR_API_CREATE && jv_get_kind(v) != JV_KIND_OBJECT) {
		jv_free(v);
		return aur_api_req_refuse(a, r->req, 400, "the body must be a JSON object");
	}
	if (r->act == AUR_API_LOGIN)
		return login_answer(r, v);
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
	rc = -EAGAIN;
	if (slow(a, r))
		rc = submit_slow(a, r);
	if (rc == -EAGAIN)
		rc = submit(a, r);
	if (rc < 0) {
		jv_free(r->body);
		r->body = jv_invalid();
		r->rc = -ESHUTDOWN;
		aur_http_resume(r->req);
	}
	return AUR_HTTP_SUSPENDED;
}

/* --- login -------------------------------------------------------------------- */

static const char cookie_attrs[] = "; HttpOnly; SameSite=Strict; Path=/";

/* POST /api/login's body {"token"} (consumed): 204 with the cookie, or 401 and no cookie. */
static enum aur_http_next login_answer(struct aur_api_req *r, jv body)
{
	jv t = jv_object_get(jv_copy(body), jv_string("token"));
	char cookie[AUR_OPAUTH_TOKEN_MAX + 64];
	char err[256] = "";
	const char *tok = jv_get_kind(t) == JV_KIND_STRING ? jv_string_value(t) : NULL;
	size_t len = tok ? strlen(tok) : 0;
	int rc;

	jv_free(body);
	if (!tok) {
		jv_free(t);
		return aur_api_req_refuse(r->a, r->req, 400, "token: a string, the operator token");
	}
	/* a token is hex: what else could end the cookie or the header is never one */
	rc = strspn(tok, "0123456789abcdefABCDEF") == len ? aur_opauth_login(r->a->auth, tok, len, r->who,
									     sizeof(r->who), err, sizeof(err))
							  : 0;
	if (rc > 0)
		snprintf(cookie, sizeof(cookie), "%s=%s%s", AUR_OPAUTH_COOKIE, tok, cookie_attrs);
	jv_free(t);
	if (rc < 0) {
		aur_http_add_header(r->req, "Retry-After", "1");
		return aur_http_respond_error(r->req, 503, "cannot check the operator token: %s", err);
	}
	if (rc == 0) {
		aur_http_add_header(r->req, "WWW-Authenticate", "Bearer realm=\"aurora\", error=\"invalid_token\"");
		return aur_api_req_refuse(r->a, r->req, 401, "wrong operator token");
	}
	AUR_API_LOG(r->a, AUR_LOG_INFO, "POST /api/login from %s: 204 operator %s", aur_http_remote(r->req), r->who);
	aur_http_add_header(r->req, "Set-Cookie", cookie);
	aur_http_add_header(r->req, "Cache-Control", "no-store");
	memset(cookie, 0, sizeof(cookie));
	return aur_http_respond(r->req, 204, NULL, "", 0);
}

static enum aur_http_next logout(struct aur_api_req *r)
{
	aur_http_add_header(r->req, "Set-Cookie", AUR_OPAUTH_COOKIE "=; Max-Age=0; HttpOnly; SameSite=Strict; Path=/");
	return aur_http_respond(r->req, 204, NULL, "", 0);
}

/* --- routes ------------------------------------------------------------------ */

enum route { R_INCIDENTS, R_ONE, R_STREAM, R_ACTION, R_LOGIN, R_LOGOUT, R_ME, R_CONNECTORS, R_CONNECTOR };

static const struct {
	const char *name;
	enum aur_api_act act;
} incident_acts[] = {
	{ "resolve", AUR_API_RESOLVE }, { "reopen", AUR_API_REOPEN },       { "merge", AUR_API_MERGE },
	{ "acknowledge", AUR_API_ACK }, { "comments", AUR_API_COMMENT },    { "postmortem", AUR_API_POSTMORTEM },
}, connector_acts[] = {
	{ "token", AUR_API_TOKEN }, { "enable", AUR_API_ENABLE },     { "disable", AUR_API_DISABLE },
	{ "rca", AUR_API_RCA },     { "base-url", AUR_API_BASE_URL }, { "test", AUR_API_TEST },
};

/* The action named by the route's last segment; -1 (404 answered) when none. */
static int pick_action(struct aur_api_req *r, int connector)
{
	const char *name = aur_http_param(r->req, 1);
	size_t n = connector ? sizeof(connector_acts) / sizeof(connector_acts[0])
			     : sizeof(incident_acts) / sizeof(incident_acts[0]);
	char why[256];

	for (size_t i = 0; i < n; i++)
		if (!strcmp(name, connector ? connector_acts[i].name : incident_acts[i].name)) {
			r->act = connector ? connector_acts[i].act : incident_acts[i].act;
			return 0;
		}
	snprintf(why, sizeof(why), "no action '%.64s'", name);
	aur_api_req_refuse(r->a, r->req, 404, why);
	return -1;
}

/* HEADERS phase of POST /api/incidents/{id}/{action} and POST /api/connectors/{platform}/{action}. */
static enum aur_http_next action_headers(struct aur_api_req *r, int connector)
{
	const char *p = aur_http_param(r->req, 0);
	char why[256];

	if (pick_action(r, connector) < 0)
		return AUR_HTTP_ANSWERED;
	if (connector) {
		/* a well-formed name: the action itself answers 404 when the registry has no such row */
		if (!aur_platform_name_ok(p)) {
			snprintf(why, sizeof(why), "no platform '%.64s'", p);
			return aur_api_req_refuse(r->a, r->req, 404, why);
		}
		snprintf(r->platform, sizeof(r->platform), "%s", p);
		if (r->act == AUR_API_TEST)
			aur_api_connectors_local_base(r);
	} else if (aur_cli_parse_ll(p, 1, LLONG_MAX, &r->id) < 0) {
		snprintf(why, sizeof(why), "incident id must be a positive integer, not '%.64s'", p);
		return aur_api_req_refuse(r->a, r->req, 400, why);
	}
	return create_headers(r);
}

static void done(struct aur_api_req *r)
{
	if (r->sub)
		aur_sse_done(r->a->sse, r->sub);
	if (r->reading && aur_http_status(r->req) == 0)
		AUR_API_LOG(r->a, AUR_LOG_INFO, "%s %s from %s: cut off before the body was complete",
		    aur_http_method_name(r->req), aur_http_path(r->req), aur_http_remote(r->req));
	jv_free(r->body);
	jv_free(r->out);
	free(r);
}

/* The operator check of a route; login and logout have their own. 1 to go on. */
static int allowed(struct aur_api *a, struct aur_http_req *req, enum route which, char *who, size_t wholen,
		   enum aur_http_next *next)
{
	if (which == R_LOGIN || which == R_LOGOUT) {
		/* login: a page elsewhere must not log this browser in as someone; logout: nor out */
		if (aur_opauth_same_origin(req, which == R_LOGIN || aur_http_cookie(req, AUR_OPAUTH_COOKIE)))
			return 1;
		*next = AUR_HTTP_CLOSE;
		return 0;
	}
	return aur_opauth_require_name(a->auth, req, next, who, wholen);
}

static enum aur_http_next start(struct aur_http_req *req, struct aur_api *a, enum route which)
{
	struct aur_api_req *r;
	enum aur_http_next next;
	char who[AUR_OPTOKEN_NAME_MAX + 1] = "";

	if (!allowed(a, req, which, who, sizeof(who), &next)) {
		if (next != AUR_HTTP_CLOSE)
			return next;
		return aur_api_req_refuse(a, req, 403, "cross-site request refused");
	}
	r = aur_xcalloc(1, sizeof(*r));
	r->a = a;
	r->req = req;
	r->body = jv_invalid();
	r->out = jv_invalid();
	snprintf(r->who, sizeof(r->who), "%s", who);
	aur_http_set_data(req, r);
	switch (which) {
	case R_STREAM:
		return aur_api_incidents_stream(r);
	case R_ONE:
		return aur_api_incidents_show(r);
	case R_ACTION:
		return action_headers(r, 0);
	case R_CONNECTOR:
		return action_headers(r, 1);
	case R_CONNECTORS:
		return aur_api_connectors_list(r);
	case R_LOGIN:
		r->act = AUR_API_LOGIN;
		return create_headers(r);
	case R_LOGOUT:
		return logout(r);
	case R_ME:
		return aur_http_respond_json(req, 200, jv_object_set(jv_object(), jv_string("name"), jv_string(who)));
	case R_INCIDENTS:
		break;
	}
	if (aur_http_method(req) == AUR_HTTP_POST)
		return create_headers(r);
	return aur_api_incidents_list(r);
}

static enum aur_http_next route(struct aur_http_req *req, enum aur_http_phase phase, struct aur_api *a,
				enum route which)
{
	struct aur_api_req *r = aur_http_data(req);

	switch (phase) {
	case AUR_HTTP_HEADERS:
		return start(req, a, which);
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

#define ROUTE(fn, which)                                                                          \
	static enum aur_http_next fn(struct aur_http_req *req, enum aur_http_phase phase, void *arg) \
	{                                                                                             \
		return route(req, phase, arg, which);                                                 \
	}
ROUTE(incidents_route, R_INCIDENTS)
ROUTE(one_route, R_ONE)
ROUTE(stream_route, R_STREAM)
ROUTE(action_route, R_ACTION)
ROUTE(login_route, R_LOGIN)
ROUTE(logout_route, R_LOGOUT)
ROUTE(me_route, R_ME)
ROUTE(connectors_route, R_CONNECTORS)
ROUTE(connector_route, R_CONNECTOR)

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
	if (rc == 0)
		rc = aur_http_route(h, AUR_HTTP_POST, "/api/incidents/{}/{}", action_route, a);
	if (rc == 0)
		rc = aur_http_route(h, AUR_HTTP_POST, "/api/login", login_route, a);
	if (rc == 0)
		rc = aur_http_route(h, AUR_HTTP_POST, "/api/logout", logout_route, a);
	if (rc == 0)
		rc = aur_http_route(h, AUR_HTTP_GET, "/api/me", me_route, a);
	if (rc == 0)
		rc = aur_http_route(h, AUR_HTTP_GET, "/api/connectors", connectors_route, a);
	if (rc == 0)
		rc = aur_http_route(h, AUR_HTTP_POST, "/api/connectors/{}/{}", connector_route, a);
	return rc;
}

void aur_api_close(struct aur_api *a)
{
	pthread_mutex_lock(&a->mu);
	a->closing = 1;
	pthread_cond_broadcast(&a->cv);
	/* a model's postmortem ends within its timeout: its request resumes before the server stops */
	while (a->writers > 0)
		pthread_cond_wait(&a->cv, &a->mu);
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
