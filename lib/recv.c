#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "buf.h"
#include "connview.h"
#include "hex.h"
#include "jsonvalid.h"
#include "jvio.h"
#include "log.h"
#include "recv.h"
#include "shape.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

/* How old a cached connector row may be: normally, and when a credential did not match. */
#define CACHE_MAX_AGE_MS 1000
#define CACHE_RECHECK_MS 100

#define MAX_TOKENS 3

struct aur_recv {
	struct aur_recv_options o;
	struct aur_conncache *cc;
	struct aur_committer *c;
	char ts_header[128]; /* the Grafana timestamp header, lowercase, as kept in inbox.headers */
};

/* One webhook request. */
struct wreq {
	struct aur_recv *r;
	struct aur_http_req *req;
	const char *platform;       /* the registry's name (aur_conncache_lookup): lives as long as r */
	struct aur_connector c;     /* the row the request was checked against */
	const char *tokens[MAX_TOKENS];
	size_t ntokens;
	char basic[512];
	int test;                   /* authenticated by the one-use test token */
	int need_signature;
	int reading;                /* the body was asked for */
	int suspended;
	int quarantining;           /* refused at the door: the item goes to the quarantine */
	char why[512];              /* why it was refused, for the answer and the connector row */
	struct aur_commit_item item;
	char *headers_json;
	char body_sha256[AUR_HEX_SHA256_LEN + 1]; /* hashed here, in parallel, not in the one writer */
};

static const char *const kept_headers[] = {
	"content-type", "user-agent", "x-webhook-id", "x-webhook-subscription", "x-pagerduty-signature",
	"x-grafana-alerting-signature", "x-request-id", "x-forwarded-for", NULL,
};

void aur_recv_options_init(struct aur_recv_options *o)
{
	o->grafana_timestamp_header = "X-Grafana-Alerting-Signature-Timestamp";
	o->signature_skew_s = 300;
	o->operator_auth = NULL;
	o->shape_check = 1;
	o->log = NULL;
}

void aur_recv_new(struct aur_recv **out, const struct aur_recv_options *o, struct aur_conncache *cc,
		  struct aur_committer *c)
{
	struct aur_recv *r = aur_xcalloc(1, sizeof(*r));
	size_t i;

	r->o = *o;
	r->cc = cc;
	r->c = c;
	for (i = 0; o->grafana_timestamp_header[i] && i + 1 < sizeof(r->ts_header); i++)
		r->ts_header[i] = (char)tolower((unsigned char)o->grafana_timestamp_header[i]);
	r->ts_header[i] = '\0';
	*out = r;
}

void aur_recv_free(struct aur_recv *r)
{
	free(r);
}

/* say(x, level, fmt, ...): a line to x's log callback (log.h) */
#define say(x, ...) aur_log_to((x)->o.log, __VA_ARGS__)

/* The platform's name as the registry has it (built in or added), or NULL. */
static const char *known_platform(struct aur_recv *r, const char *name)
{
	return aur_conncache_lookup(r->cc, name, CACHE_MAX_AGE_MS);
}

/* The credentials the request presents: Bearer, the Basic password, ?token=. */
static void collect_tokens(struct wreq *w)
{
	const char *auth = aur_http_header(w->req, "Authorization");
	const char *q = aur_http_query(w->req, "token");

	if (auth && !strncasecmp(auth, "Bearer", 6) && (auth[6] == ' ' || auth[6] == '\t')) {
		const char *t = auth + 7;

		while (*t == ' ' || *t == '\t')
			t++;
		if (*t)
			w->tokens[w->ntokens++] = t;
	} else if (auth && aur_basic_password(auth, w->basic, sizeof(w->basic)) == 0 && w->basic[0]) {
		w->tokens[w->ntokens++] = w->basic;
	}
	if (q && *q)
		w->tokens[w->ntokens++] = q;
}

static int presents(const struct wreq *w, const char *hash)
{
	int match = 0;

	/* every candidate is hashed, so timing does not tell which one matched */
	for (size_t i = 0; i < w->ntokens; i++) {
		size_t len = strlen(w->tokens[i]);

		while (len && (w->tokens[i][len - 1] == ' ' || w->tokens[i][len - 1] == '\t'))
			len--;
		match |= aur_token_matches(w->tokens[i], len, hash);
	}
	return match;
}

static int secret_set(const struct aur_connector *c)
{
	return c->hmac_secret[0] && aur_connector_signs(c);
}

static int verify_signature(const struct wreq *w, const struct aur_connector *c, char *why, size_t n)
{
	size_t len;
	const void *body = aur_http_body(w->req, &len);

	if (c->added)
		return aur_verify_hmac_hex(c->hmac_secret, c->hmac_header, aur_http_header(w->req, c->hmac_header),
					   body, len, why, n);
	if (!strcmp(w->platform, "pagerduty"))
		return aur_verify_pagerduty(c->hmac_secret, aur_http_header(w->req, "X-PagerDuty-Signature"),
					    body, len, why, n);
	return aur_verify_grafana(c->hmac_secret, aur_http_header(w->req, "X-Grafana-Alerting-Signature"),
				  aur_http_header(w->req, w->r->o.grafana_timestamp_header), body, len,
				  aur_time_now_ms() / 1000, w->r->o.signature_skew_s, why, n);
}

/*
 * May the request go on, as far as c says? 0, or the status to answer with
 * why filled. Without the body the signature is only noted as needed.
 */
static unsigned check(struct wreq *w, const struct aur_connector *c, int with_body, char *why, size_t n)
{
	w->test = 0;
	w->need_signature = 0;
	if (!c->enabled) {
		snprintf(why, n, "platform %s is disabled", w->platform);
		return 404;
	}
	if (c->test_token_hash[0] && c->test_token_expires_ms > aur_time_now_ms() &&
	    presents(w, c->test_token_hash)) {
		w->test = 1;
		return 0;
	}
	if (c->token_hash[0]) {
		if (w->ntokens == 0) {
			snprintf(why, n, "missing token: send it as Authorization: Bearer, as the HTTP Basic"
					 " password or as ?token=");
			return 401;
		}
		if (!presents(w, c->token_hash)) {
			snprintf(why, n, "wrong token for platform %s", w->platform);
			return 401;
		}
	} else if (!secret_set(c)) {
		snprintf(why, n, "no token or secret is configured for platform %s: run"
				 " `aurora-connector token %s`", w->platform, w->platform);
		return 401;
	}
	if (secret_set(c)) {
		if (!with_body) {
			w->need_signature = 1;
			return 0;
		}
		if (verify_signature(w, c, why, n) < 0)
			return 401;
	}
	return 0;
}

/*
 * check() against the cached row; when it fails and the row is older than
 * CACHE_RECHECK_MS, against a fresh one (a rotated token or a new secret
 * counts at once). 0, a status with why, or 503 when the row cannot be read.
 */
static unsigned authorize(struct wreq *w, int with_body, char *why, size_t n)
{
	char err[256];
	unsigned status;
	int rc;

	if (!with_body) {
		rc = aur_conncache_get(w->r->cc, w->platform, CACHE_MAX_AGE_MS, &w->c, err, sizeof(err));
		if (rc == -ENOENT) { /* removed a moment ago */
			snprintf(why, n, "unknown platform '%s'", w->platform);
			return 404;
		}
		if (rc < 0) {
			snprintf(why, n, "cannot read the connector of %s: %s", w->platform, err);
			return 503;
		}
	}
	status = check(w, &w->c, with_body, why, n);
	if (status == 0)
		return 0;
	rc = aur_conncache_get(w->r->cc, w->platform, CACHE_RECHECK_MS, &w->c, err, sizeof(err));
	if (rc == 1)
		status = check(w, &w->c, with_body, why, n);
	return status;
}

/* JSON (application/json, text/json, anything +json), or none; Datadog may also send a form. */
static int content_type_ok(const char *platform, const char *ct, int *form)
{
	size_t len;

	*form = 0;
	if (!ct)
		return 1;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	len = strcspn(ct, ";");
	while (len && (ct[len - 1] == ' ' || ct[len - 1] == '\t'))
		len--;
	if (len == 0)
		return 1;
	if ((len == 16 && !strncasecmp(ct, "application/json", 16)) ||
	    (len == 9 && !strncasecmp(ct, "text/json", 9)) ||
	    (len > 5 && !strncasecmp(ct + len - 5, "+json", 5)))
		return 1;
	if (!strcmp(platform, "datadog") && len == 33 &&
	    !strncasecmp(ct, "application/x-www-form-urlencoded", 33)) {
		*form = 1;
		return 1;
	}
	return 0;
}

static enum aur_http_next reject(struct wreq *w, unsigned status, const char *why)
{
	snprintf(w->why, sizeof(w->why), "%s", why);
	say(w->r, AUR_LOG_INFO, "%s %s from %s: %u %s", aur_http_method_name(w->req), aur_http_path(w->req),
	    aur_http_remote(w->req), status, why);
	if (status == 503)
		aur_http_add_header(w->req, "Retry-After", "1");
	return aur_http_respond_error(w->req, status, "%s", why);
}

static enum aur_http_next webhook_headers(struct wreq *w)
{
	char why[512];
	unsigned status;
	int form;
	enum aur_http_next next;
	const char *ct;

	if (aur_http_method(w->req) != AUR_HTTP_POST && aur_http_method(w->req) != AUR_HTTP_PUT) {
		aur_http_add_header(w->req, "Allow", "POST, PUT");
		snprintf(why, sizeof(why), "method %s is not allowed: deliver webhooks with POST or PUT",
			 aur_http_method_name(w->req));
		return reject(w, 405, why);
	}
	collect_tokens(w);
	status = authorize(w, 0, why, sizeof(why));
	if (status)
		return reject(w, status, why);
	next = aur_http_expect_body(w->req);
	if (next != AUR_HTTP_READ_BODY)
		return next;
	ct = aur_http_header(w->req, "Content-Type");
	if (!content_type_ok(w->platform, ct, &form)) {
		snprintf(why, sizeof(why), "content type '%.64s' is not JSON%s", ct,
			 strcmp(w->platform, "datadog") ? "" : " or application/x-www-form-urlencoded");
		return reject(w, 415, why);
	}
	w->reading = 1;
	return AUR_HTTP_READ_BODY;
}

/* The headers worth keeping, as a compact JSON object with lowercase names. Caller frees. */
static char *kept_headers_json(const struct wreq *w)
{
	jv obj = jv_object();
	jv text;
	char *out;

	for (size_t i = 0; kept_headers[i]; i++) {
		const char *v = aur_http_header(w->req, kept_headers[i]);

		if (v)
			obj = jv_object_set(obj, jv_string(kept_headers[i]), jv_string(v));
	}
	if (w->r->ts_header[0]) {
		const char *v = aur_http_header(w->req, w->r->ts_header);

		if (v)
			obj = jv_object_set(obj, jv_string(w->r->ts_header), jv_string(v));
	}
	text = jv_dump_string(obj, 0);
	out = aur_xstrdup(jv_string_value(text));
	jv_free(text);
	return out;
}

/*
 * The line and column of the byte at offset at in s, both from 1, the
 * column in bytes as libjq 1.6 counted it; at == len is the place just
 * past the last byte.
 */
static void line_column(const char *s, size_t at, size_t *line, size_t *column)
{
	size_t start = 0;

	*line = 1;
	for (size_t i = 0; i < at; i++) {
		if (s[i] == '\n') {
			(*line)++;
			start = i + 1;
		}
	}
	*column = at - start + 1;
}

/*
 * The offset of the first \uD800-\uDBFF escape in s that no \uDC00-\uDFFF
 * escape follows, or len when there is none. For text that is already
 * known to be JSON: a backslash is in a string, and starts an escape.
 */
static size_t lone_high_surrogate(const char *s, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		long hi;
		long lo;

		if (s[i] != '\\')
			continue;
		if (s[i + 1] != 'u' || i + 6 > len) {
			i++;
			continue;
		}
		hi = aur_hex4(s + i + 2);
		if (hi >= 0xD800 && hi <= 0xDBFF) {
			lo = i + 12 <= len && s[i + 6] == '\\' && s[i + 7] == 'u' ? aur_hex4(s + i + 8) : -1;
			if (lo < 0xDC00 || lo > 0xDFFF)
				return i;
		}
		i += 5;
	}
	return len;
}

/*
 * 0 when body is one JSON value; else -EINVAL with why saying what is
 * wrong, at which line and column. lib/jvio decides, not libjq 1.6's
 * jv_parse_sized, which leaks on some malformed text (a sender with a
 * token could grow the receiver without bound). The quick check spares
 * building the value when the body is plain valid JSON. jvio is strict
 * where libjq 1.6 was not (nan, 01, +1, .5, 1. are refused: RFC 8259)
 * and lenient where libjq refused: a \uD800-\uDBFF escape without its
 * pair, which the stored-body readers (libjq) cannot read, stays refused
 * here. Invalid UTF-8 is let in, as before: every reader replaces it.
 */
static int json_ok(const void *body, size_t len, char *why, size_t n)
{
	const char *s = body;
	char reason[256];
	size_t at = 0;
	size_t line;
	size_t column;
	jv v;

	if (aur_jsonvalid_check(body, len))
		return 0;
	if (aur_jvio_parse_at(s, len, &v, reason, sizeof(reason), &at) == 0) {
		jv_free(v);
		at = lone_high_surrogate(s, len);
		if (at == len)
			return 0;
		snprintf(reason, sizeof(reason), "a \\uXXXX surrogate escape without its pair: '%.6s'", s + at);
	}
	line_column(s, at, &line, &column);
	snprintf(why, n, "malformed JSON: %s%s at line %zu, column %zu", reason,
		 at == len ? ": end of input" : "", line, column);
	return -EINVAL;
}

static void on_stored(struct aur_commit_item *it, void *arg)
{
	struct wreq *w = arg;

	(void)it;
	if (w->suspended)
		aur_http_resume(w->req);
}

/* 422, once the body is in the quarantine: {"error", "platform", "quarantine_id"}. */
static enum aur_http_next answer_quarantined(struct wreq *w)
{
	jv body;

	say(w->r, AUR_LOG_INFO, "%s %s from %s: 422 %s (quarantine id %lld)", aur_http_method_name(w->req),
	    aur_http_path(w->req), aur_http_remote(w->req), w->why, w->item.d.id);
	body = jv_object_set(jv_object(), jv_string("error"), jv_string(w->why));
	body = jv_object_set(body, jv_string("platform"), jv_string(w->platform));
	body = jv_object_set(body, jv_string("quarantine_id"), jv_number((double)w->item.d.id));
	return aur_http_respond_json(w->req, 422, body);
}

static enum aur_http_next answer_stored(struct wreq *w)
{
	const struct aur_delivery *d = &w->item.d;
	char num[32];
	jv body;

	if (w->item.rc < 0) {
		const char *why = w->item.rc == -ESHUTDOWN ? "aurora-recv is shutting down"
				  : w->item.rc == -EBUSY   ? "the database stayed locked past the busy timeout"
				  : w->item.rc == -ENOSPC  ? "the disk is full"
							   : "the database could not commit";

		say(w->r, AUR_LOG_WARN, "%s %s from %s: 503 %s", aur_http_method_name(w->req),
		    aur_http_path(w->req), aur_http_remote(w->req), why);
		aur_http_add_header(w->req, "Retry-After", w->item.rc == -ENOSPC ? "60" : "5");
		return aur_http_respond_error(w->req, 503, "delivery not stored: %s", why);
	}
	if (d->test)
		aur_conncache_invalidate(w->r->cc, w->platform);
	switch (d->result) {
	case AUR_DELIVERY_STORED:
	case AUR_DELIVERY_DUPLICATE:
		say(w->r, AUR_LOG_DEBUG, "%s %s from %s: 202 id %lld%s", aur_http_method_name(w->req),
		    aur_http_path(w->req), aur_http_remote(w->req), d->id,
		    d->result == AUR_DELIVERY_DUPLICATE ? " (retry)" : "");
		body = jv_object_set(jv_object(), jv_string("accepted"), jv_true());
		body = jv_object_set(body, jv_string("id"), jv_number((double)d->id));
		if (d->result == AUR_DELIVERY_DUPLICATE)
			body = jv_object_set(body, jv_string("duplicate"), jv_true());
		return aur_http_respond_json(w->req, 202, body);
	case AUR_DELIVERY_RATE_LIMITED:
		snprintf(num, sizeof(num), "%d", d->retry_after_s > 0 ? d->retry_after_s : 1);
		say(w->r, AUR_LOG_INFO, "%s %s from %s: 429 rate limited", aur_http_method_name(w->req),
		    aur_http_path(w->req), aur_http_remote(w->req));
		aur_http_add_header(w->req, "Retry-After", num);
		return aur_http_respond_error(w->req, 429, "platform %s is over its rate limit; retry after %s s",
					      w->platform, num);
	case AUR_DELIVERY_QUARANTINED:
		return answer_quarantined(w);
	case AUR_DELIVERY_PENDING:
	case AUR_DELIVERY_COUNTED:
		break;
	}
	return aur_http_respond_error(w->req, 500, "delivery in an unexpected state");
}

static enum aur_http_next webhook_body(struct wreq *w)
{
	struct aur_delivery *d = &w->item.d;
	const char *ct = aur_http_header(w->req, "Content-Type");
	char why[1200];
	const void *body;
	size_t len;
	int form = 0;
	int rc;

	body = aur_http_body(w->req, &len);
	if (w->need_signature) {
		unsigned status = authorize(w, 1, why, sizeof(why));

		if (status)
			return reject(w, status, why);
	}
	if (len == 0)
		return reject(w, 400, "empty body");
	content_type_ok(w->platform, ct, &form);
	if (!form && json_ok(body, len, why, sizeof(why)) < 0)
		return reject(w, 400, why);
	/* a form is checked as the JSON its fields make: the same 422 and reason as that JSON would get */
	w->quarantining = w->r->o.shape_check &&
			  (form ? aur_shape_check_form(w->platform, body, len, w->why, sizeof(w->why))
				: aur_shape_check(w->platform, body, len, w->why, sizeof(w->why))) < 0;
	w->headers_json = kept_headers_json(w);
	d->kind = w->quarantining ? AUR_DELIVERY_QUARANTINE : AUR_DELIVERY_STORE;
	d->status = w->quarantining ? 422 : 0;
	d->reason = w->quarantining ? w->why : NULL;
	d->platform = w->platform;
	d->remote = aur_http_remote(w->req);
	d->content_type = ct ? ct : "";
	d->headers_json = w->headers_json;
	d->body = body;
	d->body_len = len;
	if (!w->quarantining)
		aur_sha256_hex(body, len, w->body_sha256);
	d->body_sha256 = w->body_sha256;
	/* only PagerDuty promises a unique id per delivery; elsewhere a static header could merge deliveries */
	d->delivery_id = !strcmp(w->platform, "pagerduty") ? aur_http_header(w->req, "X-Webhook-Id") : NULL;
	d->test = w->test;
	d->received_ms = aur_time_now_ms();
	w->item.done = on_stored;
	w->item.arg = w;
	w->suspended = aur_http_suspend(w->req) == 0;
	if (!w->suspended) {
		/*
		 * The request cannot wait suspended (one connection): the item,
		 * the body and w must live until the writer is done with them,
		 * so this thread waits for the commit before it answers.
		 */
		rc = aur_committer_store(w->r->c, &w->item);
		if (rc < 0)
			w->item.rc = rc;
		return answer_stored(w);
	}
	rc = aur_committer_submit(w->r->c, &w->item);
	if (rc < 0) {
		w->item.rc = rc;
		aur_http_resume(w->req);
	}
	return AUR_HTTP_SUSPENDED;
}

/* Count the request as rejected, with why it was, as the connector's last rejection. */
static void count_reject(struct wreq *w, unsigned status)
{
	const char *why = w->why;

	if (!why[0])
		why = status == 0    ? "cut off before the body was complete"
		      : status == 411 ? "Content-Length required"
		      : status == 413 ? "body too large"
				      : "refused";
	aur_committer_count_reject(w->r->c, w->platform, status, why);
}

static void webhook_done(struct wreq *w)
{
	unsigned status = aur_http_status(w->req);

	if (status == 0 && w->reading)
		say(w->r, AUR_LOG_INFO, "%s %s from %s: cut off before the body was complete",
		    aur_http_method_name(w->req), aur_http_path(w->req), aur_http_remote(w->req));
	/* a failed delivery counts; "try again later" (429, 503) does not; a quarantined one already did */
	if (w->item.d.result != AUR_DELIVERY_QUARANTINED &&
	    ((status >= 400 && status < 500 && status != 429) || (status == 0 && w->reading)))
		count_reject(w, status);
	/* the Basic password and the connector's secret do not outlive the request */
	aur_auth_wipe(w->basic, sizeof(w->basic));
	aur_auth_wipe(w->c.hmac_secret, sizeof(w->c.hmac_secret));
	free(w->headers_json);
	free(w);
}

static enum aur_http_next webhook(struct aur_http_req *req, enum aur_http_phase phase, void *arg)
{
	struct aur_recv *r = arg;
	struct wreq *w = aur_http_data(req);
	const char *platform;

	switch (phase) {
	case AUR_HTTP_HEADERS:
		platform = known_platform(r, aur_http_param(req, 0));
		if (!platform) {
			return aur_http_respond_error(req, 404, "unknown platform '%.64s': aurora-connector list shows"
						      " the platforms, aurora-connector add registers one",
						      aur_http_param(req, 0));
		}
		w = aur_xcalloc(1, sizeof(*w));
		w->r = r;
		w->req = req;
		w->platform = platform;
		aur_http_set_data(req, w);
		return webhook_headers(w);
	case AUR_HTTP_BODY:
		return webhook_body(w);
	case AUR_HTTP_RESUMED:
		return answer_stored(w);
	case AUR_HTTP_DONE:
		if (w)
			webhook_done(w);
		break;
	}
	return AUR_HTTP_ANSWERED;
}

struct states_read {
	const char *platform;
	jv body;
};

static int read_states(sqlite3 *db, void *arg)
{
	struct states_read *s = arg;

	s->body = aur_connview_add_states(s->body, db, s->platform);
	return 0;
}

/*
 * The status's delivery states: failed_to_normalize and last_error
 * (connview.h), read from the inbox beside the cached connector row.
 */
static jv add_delivery_states(struct aur_recv *r, const char *platform, jv body)
{
	struct states_read s = { platform, body };

	aur_conncache_read(r->cc, read_states, &s);
	return s.body;
}

/*
 * The status's "last_rejection": {"at", "status", "reason"} of the newest
 * refused delivery, or null when none was (or it cannot be read now).
 */
static jv add_last_rejection(struct aur_recv *r, const char *platform, jv body)
{
	struct aur_rejection rej;
	char err[256];
	char when[32];
	jv last = jv_null();

	if (aur_conncache_last_rejection(r->cc, platform, &rej, err, sizeof(err)) == 0 && rej.at_ms) {
		last = jv_object_set(jv_object(), jv_string("at"),
				     jv_string(aur_time_format_ms(rej.at_ms, when, sizeof(when))));
		last = jv_object_set(last, jv_string("status"), jv_number(rej.status));
		last = jv_object_set(last, jv_string("reason"), jv_string(rej.reason));
	}
	return jv_object_set(body, jv_string("last_rejection"), last);
}

static enum aur_http_next status_route(struct aur_http_req *req, enum aur_http_phase phase, void *arg)
{
	struct aur_recv *r = arg;
	const char *platform;
	struct aur_connector c;
	struct aur_buf url;
	char err[256];
	char when[32];
	char *pub;
	jv body;
	enum aur_http_next next;
	int rc;

	if (phase != AUR_HTTP_HEADERS)
		return AUR_HTTP_ANSWERED;
	if (r->o.operator_auth && !aur_opauth_require(r->o.operator_auth, req, &next))
		return next;
	platform = known_platform(r, aur_http_param(req, 0));
	rc = platform ? aur_conncache_get(r->cc, platform, 0, &c, err, sizeof(err)) : -ENOENT;
	if (rc == -ENOENT)
		return aur_http_respond_error(req, 404, "unknown platform '%.64s'", aur_http_param(req, 0));
	if (rc < 0) {
		aur_http_add_header(req, "Retry-After", "1");
		return aur_http_respond_error(req, 503, "cannot read the connector of %s: %s", platform, err);
	}
	pub = aur_conncache_public_url(r->cc);
	aur_buf_init(&url, 0);
	aur_buf_addf(&url, "%s/api/webhooks/%s", pub, platform);
	body = jv_object();
	body = jv_object_set(body, jv_string("platform"), jv_string(platform));
	body = jv_object_set(body, jv_string("added"), jv_bool(c.added));
	body = jv_object_set(body, jv_string("enabled"), jv_bool(c.enabled));
	body = jv_object_set(body, jv_string("connected"),
			     jv_bool(aur_connector_connected(&c, aur_time_now_ms())));
	body = jv_object_set(body, jv_string("base_url"), c.base_url[0] ? jv_string(c.base_url) : jv_null());
	body = jv_object_set(body, jv_string("webhook_url"), jv_string(url.data));
	body = jv_object_set(body, jv_string("last_webhook_received"),
			     c.last_received_ms ? jv_string(aur_time_format_ms(c.last_received_ms, when,
									       sizeof(when)))
						: jv_null());
	body = jv_object_set(body, jv_string("received"), jv_number((double)c.received));
	body = jv_object_set(body, jv_string("rejected"), jv_number((double)c.rejected));
	body = add_delivery_states(r, platform, body);
	body = add_last_rejection(r, platform, body);
	aur_buf_release(&url);
	free(pub);
	aur_auth_wipe(c.hmac_secret, sizeof(c.hmac_secret));
	return aur_http_respond_json(req, 200, body);
}

static enum aur_http_next healthz(struct aur_http_req *req, enum aur_http_phase phase, void *arg)
{
	(void)arg;
	if (phase != AUR_HTTP_HEADERS)
		return AUR_HTTP_ANSWERED;
	return aur_http_respond_json(req, 200, jv_object_set(jv_object(), jv_string("status"), jv_string("ok")));
}

int aur_recv_routes(struct aur_recv *r, struct aur_http *h)
{
	int rc;

	rc = aur_http_route(h, AUR_HTTP_ANY, "/api/webhooks/{}", webhook, r);
	if (rc == 0)
		rc = aur_http_route(h, AUR_HTTP_GET, "/api/{}/status", status_route, r);
	if (rc == 0)
		rc = aur_http_route(h, AUR_HTTP_GET, "/healthz", healthz, r);
	return rc;
}
