#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "api.h"
#include "auth.h"
#include "cli.h"
#include "connector.h"
#include "connview.h"
#include "db.h"
#include "incident_view.h"
#include "optoken.h"
#include "postmortem.h"
#include "sha256.h"
#include "webhook.h"
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
	unsigned writers;    /* postmortem threads running (a model writes), under mu */
};

/* What a POST asks for: a creation, or an action on an incident or a connector. */
enum act {
	A_CREATE, A_RESOLVE, A_REOPEN, A_MERGE, A_ACK, A_COMMENT, A_POSTMORTEM,
	A_TOKEN, A_ENABLE, A_DISABLE, A_RCA, A_BASE_URL, A_TEST, A_LOGIN, A_LOGOUT
};

/* One request of an API route. */
struct areq {
	struct aur_api *a;
	struct aur_http_req *req;
	struct aur_sse_sub *sub; /* the stream route */
	int reading;             /* POST: the body was asked for */
	int suspended;
	enum act act;
	jv body;                 /* POST: the parsed body, until the write takes it */
	long long id;            /* the new incident, or the incident acted on */
	char platform[AUR_PLATFORM_NAME_MAX + 1]; /* a connector action's platform */
	char who[AUR_OPTOKEN_NAME_MAX + 1]; /* the operator token's name */
	char local[128];         /* a test delivery: this receiver's base URL, or "" */
	int rc;                  /* the write's result */
	jv out;                  /* its answer (200), when rc is 0 */
	char err[512];
	struct areq *next;       /* the write queue */
};

static const char *const list_filters[] = { "status", "service", "since", "limit", "before", NULL };

void aur_api_options_init(struct aur_api_options *o)
{
	o->list_limit = 50;
	o->list_max = 1000;
	o->db_path = NULL;
	o->postmortem_llm = NULL;
	o->postmortem_timeout_ms = AUR_API_POSTMORTEM_TIMEOUT_MS;
	o->log = NULL;
}

/* say(x, level, fmt, ...): a line to x's log callback (log.h) */
#define say(x, ...) aur_log_to((x)->o.log, __VA_ARGS__)

/* Webhook tokens made over HTTP: as aurora-connector token makes them. */
#define AUR_API_TOKEN_BYTES 32
/* A test delivery's whole round trip. */
#define AUR_API_TEST_TIMEOUT_MS 10000
/*
 * Slow writes at once (postmortems a model writes, test deliveries), each
 * on a thread of its own; past it the writing thread takes them (the
 * template writes those postmortems).
 */
#define AUR_API_MAX_SLOW_WRITERS 4

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

/* --- writes ------------------------------------------------------------------ */

static void run_write(struct aur_api *a, struct areq *r, jv body);
static void run_connector_on(struct aur_api *a, sqlite3 *db, struct areq *r, jv body);

static void create_now(struct aur_api *a, struct areq *r)
{
	jv body = r->body;

	r->body = jv_invalid();
	r->err[0] = '\0';
	if (r->act != A_CREATE) {
		run_write(a, r, body);
		return;
	}
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

/* --- actions: what runs on the writing connection ----------------------------- */

/* A string field of body (borrowed), NULL when absent or null; *bad when of another type. */
static const char *field_str(jv body, const char *key, jv *keep, int *bad)
{
	jv v = jv_object_get(jv_copy(body), jv_string(key));

	*keep = v;
	if (jv_get_kind(v) == JV_KIND_STRING)
		return jv_string_value(v);
	if (jv_get_kind(v) != JV_KIND_NULL && jv_get_kind(v) != JV_KIND_INVALID)
		*bad = 1;
	return NULL;
}

/* The incident after a change, as GET /api/incidents/{id} shows it. */
static void answer_incident(struct aur_api *a, struct areq *r)
{
	r->rc = aur_incident_show(a->wdb, r->id, &r->out, r->err, sizeof(r->err));
}

static void run_incident(struct aur_api *a, struct areq *r, jv body)
{
	long long now = aur_time_now_ms();
	jv keep = jv_invalid();
	int bad = 0;
	const char *text;

	switch (r->act) {
	case A_RESOLVE:
		text = field_str(body, "reason", &keep, &bad);
		r->rc = bad ? -EINVAL : aur_incident_resolve(a->wdb, r->id, text, now, r->err, sizeof(r->err));
		if (bad)
			snprintf(r->err, sizeof(r->err), "reason: must be a string");
		break;
	case A_REOPEN:
		r->rc = aur_incident_reopen(a->wdb, r->id, now, r->err, sizeof(r->err));
		break;
	case A_MERGE: {
		jv into = jv_object_get(jv_copy(body), jv_string("into"));
		double d = jv_get_kind(into) == JV_KIND_NUMBER ? jv_number_value(into) : 0;

		jv_free(into);
		if (d < 1 || d > 9007199254740991.0 || d != (double)(long long)d) {
			snprintf(r->err, sizeof(r->err), "into: must be the id of the incident to merge into");
			r->rc = -EINVAL;
		} else {
			r->rc = aur_incident_merge_into(a->wdb, r->id, (long long)d, now, r->err, sizeof(r->err));
		}
		break;
	}
	case A_ACK:
		r->rc = aur_incident_acknowledge(a->wdb, r->id, r->who, now, r->err, sizeof(r->err));
		break;
	case A_COMMENT:
		text = field_str(body, "text", &keep, &bad);
		if (bad || !text) {
			snprintf(r->err, sizeof(r->err), "text: 1 to %d bytes of UTF-8", AUR_INCIDENT_COMMENT_MAX);
			r->rc = -EINVAL;
		} else {
			r->rc = aur_incident_comment(a->wdb, r->id, r->who, text, now, NULL, r->err, sizeof(r->err));
		}
		break;
	default:
		r->rc = -EINVAL;
		break;
	}
	jv_free(keep);
	jv_free(body);
	if (r->rc == 0)
		answer_incident(a, r);
}

/* Who wrote the stored postmortem of id: its last postmortem.generated event says; "unknown" when none does. */
static jv stored_by(sqlite3 *db, long long id)
{
	sqlite3_stmt *st = NULL;
	jv by = jv_string("unknown");

	if (aur_db_prepare(db, &st,
			   "SELECT json_extract(data, '$.generated_by') FROM events WHERE incident_id = ?"
			   " AND type = 'postmortem.generated' ORDER BY id DESC LIMIT 1",
			   NULL, 0) < 0)
		return by;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_TEXT) {
		jv_free(by);
		by = jv_string((const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	return by;
}

/*
 * The postmortem of r->id through db: the template, or the model when llm
 * is set (it may take up to o.postmortem_timeout_ms; then this runs on a
 * thread of its own with a connection of its own, see submit_postmortem).
 */
static void run_postmortem_on(struct aur_api *a, sqlite3 *db, const struct aur_llm_config *llm, struct areq *r,
			      jv body)
{
	struct aur_postmortem_options po = { llm, a->o.postmortem_timeout_ms };
	jv regen = jv_object_get(jv_copy(body), jv_string("regenerate"));
	char by[128] = "";
	char why[256] = "";
	char *md = NULL;
	int generated = 0;

	jv_free(body);
	if (jv_get_kind(regen) != JV_KIND_INVALID && jv_get_kind(regen) != JV_KIND_NULL &&
	    jv_get_kind(regen) != JV_KIND_TRUE && jv_get_kind(regen) != JV_KIND_FALSE) {
		jv_free(regen);
		snprintf(r->err, sizeof(r->err), "regenerate: must be true or false");
		r->rc = -EINVAL;
		return;
	}
	r->rc = aur_postmortem(db, r->id, jv_get_kind(regen) == JV_KIND_TRUE, aur_time_now_ms(), &po, &md,
			       &generated, by, sizeof(by), why, sizeof(why), r->err, sizeof(r->err));
	jv_free(regen);
	if (r->rc < 0)
		return;
	if (why[0])
		say(a, AUR_LOG_WARN, "incident %lld: the model's postmortem was not used (%s); the template wrote it",
		    r->id, why);
	r->out = jv_object_set(jv_object(), jv_string("markdown"), jv_string(md));
	r->out = jv_object_set(r->out, jv_string("generated_by"), generated ? jv_string(by) : stored_by(db, r->id));
	r->out = jv_object_set(r->out, jv_string("generated"), jv_bool(generated));
	free(md);
}

/* In place (one-connection mode) the model may write; on the writing thread only the template. */
static void run_postmortem(struct aur_api *a, struct areq *r, jv body)
{
	run_postmortem_on(a, a->wdb, a->threaded ? NULL : a->o.postmortem_llm, r, body);
}

/* A slow write's thread: its own connection, the model or the test delivery, then the request resumes. */
static void *slow_main(void *arg)
{
	struct areq *r = arg;
	struct aur_api *a = r->a;
	jv body = r->body;
	sqlite3 *db = NULL;
	int rc;

	r->body = jv_invalid();
	rc = aur_db_open(&db, a->o.db_path, NULL, r->err, sizeof(r->err));
	if (rc == 0 && curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK) {
		if (r->act == A_TEST)
			run_connector_on(a, db, r, body);
		else
			run_postmortem_on(a, db, a->o.postmortem_llm, r, body);
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
static int slow(const struct aur_api *a, const struct areq *r)
{
	return a->o.db_path && ((r->act == A_POSTMORTEM && a->o.postmortem_llm) || r->act == A_TEST);
}

/*
 * A suspended slow request (accept loop): a thread of its own, so that a
 * model's minute or a test delivery's round trip holds no other change.
 * 0; -EAGAIN past AUR_API_MAX_SLOW_WRITERS or without a thread (the
 * writing thread takes it then, a postmortem from the template);
 * -ESHUTDOWN when closing.
 */
static int submit_slow(struct aur_api *a, struct areq *r)
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

/* The connector's record as aurora-connector list --json prints it. */
static int connector_record(sqlite3 *db, const char *platform, jv *out, char *err, size_t errlen)
{
	struct aur_connector c;
	char *pub;
	int rc = aur_connector_load(db, platform, &c, err, errlen);

	if (rc < 0)
		return rc;
	pub = aur_connector_public_url(db);
	*out = jv_object_set(jv_object(), jv_string("v"), jv_number(1));
	*out = jv_object_set(*out, jv_string("type"), jv_string("connector"));
	*out = jv_object_merge(*out, aur_connview_json(&c, pub, aur_time_now_ms(), 1));
	*out = aur_connview_add_states(*out, db, platform);
	memset(c.api_token, 0, sizeof(c.api_token));
	free(pub);
	return 0;
}

/* A new webhook token for the platform: {"platform", "token", "webhook_url"}, shown this once. */
static int rotate_token(sqlite3 *db, const char *p, jv *out, char *err, size_t errlen)
{
	char token[2 * AUR_API_TOKEN_BYTES + 1];
	char hash[AUR_HEX_SHA256_LEN + 1];
	char *pub;
	char *url;
	int rc;

	if (aur_random_hex(token, sizeof(token), AUR_API_TOKEN_BYTES) < 0) {
		snprintf(err, errlen, "no randomness from the kernel");
		return -EIO;
	}
	aur_sha256_hex(token, strlen(token), hash);
	rc = aur_connector_set_token_hash(db, p, hash, err, errlen);
	if (rc == 0) {
		pub = aur_connector_public_url(db);
		url = aur_webhook_url(pub, p, token);
		*out = jv_object_set(jv_object(), jv_string("platform"), jv_string(p));
		*out = jv_object_set(*out, jv_string("token"), jv_string(token));
		*out = jv_object_set(*out, jv_string("webhook_url"), jv_string(url));
		free(url);
		free(pub);
	}
	memset(token, 0, sizeof(token));
	return rc;
}

static int set_base_url(sqlite3 *db, const char *p, jv body, char *err, size_t errlen)
{
	jv url = jv_object_get(jv_copy(body), jv_string("url"));
	int rc = -EINVAL;

	if (jv_get_kind(url) == JV_KIND_NULL)
		rc = aur_connector_set_base_url(db, p, NULL, err, errlen);
	else if (jv_get_kind(url) != JV_KIND_STRING || !aur_connview_url_ok(jv_string_value(url)))
		snprintf(err, errlen, "url: an http:// or https:// URL without query, fragment or spaces, or null");
	else if (aur_connview_url_has_userinfo(jv_string_value(url)))
		snprintf(err, errlen, "url: no user or password in the URL (aurora-connector credentials keeps those)");
	else
		rc = aur_connector_set_base_url(db, p, jv_string_value(url), err, errlen);
	jv_free(url);
	return rc;
}

/*
 * Send the platform's sample payload through this receiver, as
 * aurora-connector test does: {"status", "ms", "inbox_id"}, status null
 * (and "error") when no answer came.
 */
static int send_test(sqlite3 *db, struct areq *r, jv *out, char *err, size_t errlen)
{
	struct aur_webhook_test t;
	jv answer;
	jv id = jv_null();
	int rc;

	if (!r->local[0]) {
		snprintf(err, errlen, "this receiver's own address is unknown (a connection that is not a TCP "
				      "socket): use aurora-connector test %s --url URL", r->platform);
		return -EAGAIN;
	}
	aur_webhook_test_init(&t);
	t.platform = r->platform;
	t.base = r->local;
	t.timeout_ms = AUR_API_TEST_TIMEOUT_MS;
	t.user_agent = "aurora-recv/" AURORA_VERSION;
	/* only this thread uses libcurl in the receiver, and only here */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "libcurl could not start");
		return -EIO;
	}
	rc = aur_webhook_test_send(db, &t, err, errlen);
	curl_global_cleanup();
	if (!t.sent) {
		aur_webhook_test_release(&t);
		return rc == -ENOENT ? -EIO : rc;
	}
	answer = jv_parse_sized(t.resp.body.data ? t.resp.body.data : "", (int)t.resp.body.len);
	if (rc == 0 && jv_get_kind(answer) == JV_KIND_OBJECT) {
		jv_free(id);
		id = jv_object_get(jv_copy(answer), jv_string("id"));
		if (jv_get_kind(id) != JV_KIND_NUMBER) {
			jv_free(id);
			id = jv_null();
		}
	}
	jv_free(answer);
	*out = jv_object_set(jv_object(), jv_string("status"), rc == 0 ? jv_number((double)t.resp.status) : jv_null());
	*out = jv_object_set(*out, jv_string("ms"), jv_number((double)(long long)(t.resp.seconds * 10000.0) / 10.0));
	*out = jv_object_set(*out, jv_string("inbox_id"), id);
	if (rc < 0)
		*out = jv_object_set(*out, jv_string("error"), jv_string(t.resp.error));
	aur_webhook_test_release(&t);
	return 0;
}

static void run_connector_on(struct aur_api *a, sqlite3 *db, struct areq *r, jv body)
{
	const char *p = r->platform;
	jv on;

	switch (r->act) {
	case A_TOKEN:
		r->rc = rotate_token(db, p, &r->out, r->err, sizeof(r->err));
		break;
	case A_TEST:
		r->rc = send_test(db, r, &r->out, r->err, sizeof(r->err));
		break;
	case A_ENABLE:
	case A_DISABLE:
		r->rc = aur_connector_set_enabled(db, p, r->act == A_ENABLE, r->err, sizeof(r->err));
		break;
	case A_RCA:
		on = jv_object_get(jv_copy(body), jv_string("on"));
		if (jv_get_kind(on) != JV_KIND_TRUE && jv_get_kind(on) != JV_KIND_FALSE) {
			snprintf(r->err, sizeof(r->err), "on: must be true or false");
			r->rc = -EINVAL;
		} else {
			r->rc = aur_connector_set_rca(db, p, jv_get_kind(on) == JV_KIND_TRUE, r->err, sizeof(r->err));
		}
		jv_free(on);
		break;
	case A_BASE_URL:
		r->rc = set_base_url(db, p, body, r->err, sizeof(r->err));
		break;
	default:
		r->rc = -EINVAL;
		break;
	}
	jv_free(body);
	if (r->rc == 0 && jv_get_kind(r->out) == JV_KIND_INVALID)
		r->rc = connector_record(db, p, &r->out, r->err, sizeof(r->err));
	(void)a;
}

/* On the writing connection (the API's thread, or in place): the action of r, body consumed. */
static void run_write(struct aur_api *a, struct areq *r, jv body)
{
	jv_free(r->out);
	r->out = jv_invalid();
	if (r->act == A_POSTMORTEM)
		run_postmortem(a, r, body);
	else if (r->act >= A_TOKEN)
		run_connector_on(a, a->wdb, r, body);
	else
		run_incident(a, r, body);
	if (r->rc < 0) {
		jv_free(r->out);
		r->out = jv_invalid();
	}
}

/* The answer to an action: 200 with r->out; 400, 404, 409, 503 for a failure. */
static enum aur_http_next action_answer(struct areq *r)
{
	if (r->rc == -EPERM)
		return refuse(r->a, r->req, 409, r->err);
	if (r->rc == -EAGAIN)
		return refuse(r->a, r->req, 503, r->err);
	if (r->rc < 0)
		return failed(r->a, r->req, r->rc, r->err);
	jv out;

	out = r->out;
	r->out = jv_invalid();
	say(r->a, AUR_LOG_INFO, "POST %s from %s: 200 (%s)", aur_http_path(r->req), aur_http_remote(r->req), r->who);
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

static enum aur_http_next create_body(struct areq *r);

static enum aur_http_next create_headers(struct areq *r)
{
	const char *ct = aur_http_header(r->req, "Content-Type");
	enum aur_http_next next;
	char why[256];

	/* an action may come without a body ({} then); a creation may not */
	if (r->act != A_CREATE && !aur_http_header(r->req, "Content-Length") &&
	    !aur_http_header(r->req, "Transfer-Encoding"))
		return create_body(r);
	next = aur_http_expect_body(r->req);
	if (next != AUR_HTTP_READ_BODY)
		return next;
	if (!json_content_type(ct)) {
		snprintf(why, sizeof(why), "content type '%.64s' is not JSON: send application/json", ct);
		return refuse(r->a, r->req, 415, why);
	}
	r->reading = 1;
	return AUR_HTTP_READ_BODY;
}

static enum aur_http_next login_answer(struct areq *r, jv body);

static enum aur_http_next create_answer(struct areq *r)
{
	char location[64];

	if (r->act != A_CREATE)
		return action_answer(r);
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
	int rc;
	jv v;

	if (len == 0 && r->act == A_CREATE)
		return refuse(a, r->req, 400, "empty body: send a JSON object");
	v = len == 0 ? jv_object() : jv_parse_sized(body, (int)len);
	if (!jv_is_valid(v)) {
		jv msg = jv_invalid_get_msg(v);
		const char *m = jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "not JSON";
		const char *cut = strstr(m, " (while parsing '");

		snprintf(why, sizeof(why), "malformed JSON: %.*s", cut ? (int)(cut - m) : (int)strlen(m), m);
		jv_free(msg);
		return refuse(a, r->req, 400, why);
	}
	/* what libjq reads but changes: invalid UTF-8 (replaced), nan, numbers like 01 */
	if (len > 0 && !aur_jsonvalid_check(body, len)) {
		jv_free(v);
		return refuse(a, r->req, 400,
			      "not strict JSON (RFC 8259): invalid UTF-8, nan, a number such as 01, "
			      "or nesting deeper than 256");
	}
	if (r->act != A_CREATE && jv_get_kind(v) != JV_KIND_OBJECT) {
		jv_free(v);
		return refuse(a, r->req, 400, "the body must be a JSON object");
	}
	if (r->act == A_LOGIN)
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
	v = aur_http_query(r->req, "named");
	return aur_sse_start(r->a->sse, r->req, after, v && (!strcmp(v, "1") || !strcmp(v, "true")), &r->sub);
}

/* --- login -------------------------------------------------------------------- */

static const char cookie_attrs[] = "; HttpOnly; SameSite=Strict; Path=/";

/* POST /api/login's body {"token"} (consumed): 204 with the cookie, or 401 and no cookie. */
static enum aur_http_next login_answer(struct areq *r, jv body)
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
		return refuse(r->a, r->req, 400, "token: a string, the operator token");
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
		return refuse(r->a, r->req, 401, "wrong operator token");
	}
	say(r->a, AUR_LOG_INFO, "POST /api/login from %s: 204 operator %s", aur_http_remote(r->req), r->who);
	aur_http_add_header(r->req, "Set-Cookie", cookie);
	aur_http_add_header(r->req, "Cache-Control", "no-store");
	memset(cookie, 0, sizeof(cookie));
	return aur_http_respond(r->req, 204, NULL, "", 0);
}

static enum aur_http_next logout(struct areq *r)
{
	aur_http_add_header(r->req, "Set-Cookie", AUR_OPAUTH_COOKIE "=; Max-Age=0; HttpOnly; SameSite=Strict; Path=/");
	return aur_http_respond(r->req, 204, NULL, "", 0);
}

/* --- connectors ------------------------------------------------------------------ */

static enum aur_http_next connectors(struct areq *r)
{
	struct aur_connector *c = NULL;
	size_t n = 0;
	char err[512] = "";
	sqlite3 *db = NULL;
	jv out = jv_array();
	char *pub = NULL;
	long long now = aur_time_now_ms();
	int rc = aur_dbpool_get(r->a->pool, &db, err, sizeof(err));

	if (rc == 0)
		rc = aur_connector_load_all(db, &c, &n, err, sizeof(err));
	if (rc == 0)
		pub = aur_connector_public_url(db);
	for (size_t i = 0; i < n && rc == 0; i++) {
		jv v = jv_object_set(jv_object(), jv_string("v"), jv_number(1));

		v = jv_object_set(v, jv_string("type"), jv_string("connector"));
		v = jv_object_merge(v, aur_connview_json(&c[i], pub, now, 1));
		out = jv_array_append(out, aur_connview_add_states(v, db, c[i].platform));
	}
	for (size_t i = 0; i < n; i++)
		aur_wipe(&c[i], sizeof(c[i]));
	free(c);
	aur_dbpool_put(r->a->pool, db);
	free(pub);
	if (rc < 0) {
		jv_free(out);
		return failed(r->a, r->req, rc, err);
	}
	return aur_http_respond_json(r->req, 200, out);
}

/* This receiver's base URL as seen from the connection (its local address), or "". */
static void local_base(struct areq *r)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "";
	int fd = aur_http_socket(r->req);
	unsigned port = 0;

	r->local[0] = '\0';
	if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
		snprintf(r->local, sizeof(r->local), "http://%s:%u", host, port);
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
		snprintf(r->local, sizeof(r->local), "http://[%s]:%u", host, port);
	}
}

/* --- routes ------------------------------------------------------------------ */

enum route { R_INCIDENTS, R_ONE, R_STREAM, R_ACTION, R_LOGIN, R_LOGOUT, R_ME, R_CONNECTORS, R_CONNECTOR };

static const struct {
	const char *name;
	enum act act;
} incident_acts[] = {
	{ "resolve", A_RESOLVE }, { "reopen", A_REOPEN },       { "merge", A_MERGE },
	{ "acknowledge", A_ACK }, { "comments", A_COMMENT },    { "postmortem", A_POSTMORTEM },
}, connector_acts[] = {
	{ "token", A_TOKEN }, { "enable", A_ENABLE },     { "disable", A_DISABLE },
	{ "rca", A_RCA },     { "base-url", A_BASE_URL }, { "test", A_TEST },
};

/* The action named by the route's last segment; -1 (404 answered) when none. */
static int pick_action(struct areq *r, int connector)
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
	refuse(r->a, r->req, 404, why);
	return -1;
}

/* HEADERS phase of POST /api/incidents/{id}/{action} and POST /api/connectors/{platform}/{action}. */
static enum aur_http_next action_headers(struct areq *r, int connector)
{
	const char *p = aur_http_param(r->req, 0);
	char why[256];

	if (pick_action(r, connector) < 0)
		return AUR_HTTP_ANSWERED;
	if (connector) {
		/* a well-formed name: the action itself answers 404 when the registry has no such row */
		if (!aur_platform_name_ok(p)) {
			snprintf(why, sizeof(why), "no platform '%.64s'", p);
			return refuse(r->a, r->req, 404, why);
		}
		snprintf(r->platform, sizeof(r->platform), "%s", p);
		if (r->act == A_TEST)
			local_base(r);
	} else if (aur_cli_parse_ll(p, 1, LLONG_MAX, &r->id) < 0) {
		snprintf(why, sizeof(why), "incident id must be a positive integer, not '%.64s'", p);
		return refuse(r->a, r->req, 400, why);
	}
	return create_headers(r);
}

static void done(struct areq *r)
{
	if (r->sub)
		aur_sse_done(r->a->sse, r->sub);
	if (r->reading && aur_http_status(r->req) == 0)
		say(r->a, AUR_LOG_INFO, "%s %s from %s: cut off before the body was complete",
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
	struct areq *r;
	enum aur_http_next next;
	char who[AUR_OPTOKEN_NAME_MAX + 1] = "";

	if (!allowed(a, req, which, who, sizeof(who), &next)) {
		if (next != AUR_HTTP_CLOSE)
			return next;
		return refuse(a, req, 403, "cross-site request refused");
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
		return stream(r);
	case R_ONE:
		return show(r);
	case R_ACTION:
		return action_headers(r, 0);
	case R_CONNECTOR:
		return action_headers(r, 1);
	case R_CONNECTORS:
		return connectors(r);
	case R_LOGIN:
		r->act = A_LOGIN;
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
	return list(r);
}

static enum aur_http_next route(struct aur_http_req *req, enum aur_http_phase phase, struct aur_api *a,
				enum route which)
{
	struct areq *r = aur_http_data(req);

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
