/*
 * http.c - what both modes of the HTTP layer share: options, routes, the
 * request's accessors and the answers. How a request arrives and how an
 * answer leaves is the backend's: http_mhd.c (accept loop) or http_conn.c
 * (one connection); see http_impl.h.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "http.h"
#include "http_impl.h"
#include "log.h"
#include "xalloc.h"
#include "banned.h"

void aur_http_options_init(struct aur_http_options *o)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	o->threads = n > 0 ? (unsigned)n : 1;
	o->max_connections = 256;
	o->read_timeout_s = 10;
	o->head_timeout_s = 0;
	o->body_timeout_s = 0;
	o->max_per_address = 256;
	o->max_reading = 0;
	o->max_body = (size_t)1024 * 1024;
	o->max_header_bytes = 16384;
	o->max_headers = 64;
	o->log = NULL;
}

void aur_http_say(const struct aur_http *h, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	aur_log_vto(h->o.log, level, fmt, ap);
	va_end(ap);
}

void aur_http_new(struct aur_http **out, const struct aur_http_options *o)
{
	struct aur_http *h = aur_xcalloc(1, sizeof(*h));

	h->o = *o;
	if (h->o.threads == 0)
		h->o.threads = 1;
	if (h->o.read_timeout_s == 0)
		h->o.read_timeout_s = 1;
	if (h->o.head_timeout_s == 0)
		h->o.head_timeout_s = h->o.read_timeout_s;
	if (h->o.body_timeout_s == 0)
		h->o.body_timeout_s = h->o.read_timeout_s;
	if (h->o.max_reading == 0)
		h->o.max_reading = h->o.max_connections > 1 ? h->o.max_connections / 2 : 1;
	h->listen_fd = -1;
	h->quiesced_fd = -1;
	atomic_init(&h->draining, 0);
	atomic_init(&h->active, 0);
	atomic_init(&h->suspended, 0);
	atomic_init(&h->parked, 0);
	pthread_mutex_init(&h->park_mu, NULL);
	*out = h;
}

int aur_http_route(struct aur_http *h, unsigned methods, const char *pattern,
		   enum aur_http_next (*handler)(struct aur_http_req *req, enum aur_http_phase phase,
						 void *arg),
		   void *arg)
{
	struct route *r;
	unsigned params = 0;

	if (h->nroutes >= AUR_HTTP_MAX_ROUTES)
		return -E2BIG;
	for (const char *p = strstr(pattern, "{}"); p; p = strstr(p + 2, "{}"))
		params++;
	if (params > AUR_HTTP_MAX_PARAMS)
		return -EINVAL;
	r = &h->routes[h->nroutes++];
	r->methods = methods & AUR_HTTP_GET ? methods | AUR_HTTP_HEAD : methods;
	r->pattern = pattern;
	r->handler = handler;
	r->arg = arg;
	return 0;
}

static enum aur_http_method parse_method(const char *m)
{
	static const struct {
		const char *name;
		enum aur_http_method method;
	} table[] = {
		{ "GET", AUR_HTTP_GET },       { "HEAD", AUR_HTTP_HEAD },   { "POST", AUR_HTTP_POST },
		{ "PUT", AUR_HTTP_PUT },       { "DELETE", AUR_HTTP_DELETE }, { "PATCH", AUR_HTTP_PATCH },
		{ "OPTIONS", AUR_HTTP_OPTIONS },
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (!strcmp(table[i].name, m))
			return table[i].method;
	return AUR_HTTP_OTHER;
}

struct span {
	size_t off;
	size_t len;
};

/* 1 when path fits pattern, with the "{}" segments in spans. */
static int match(const char *pattern, const char *path, struct span *spans, unsigned *nspans)
{
	const char *p = pattern;
	const char *s = path;
	unsigned n = 0;

	while (*p && *s) {
		if (p[0] == '{' && p[1] == '}') {
			size_t len = strcspn(s, "/");

			if (len == 0 || n >= AUR_HTTP_MAX_PARAMS)
				return 0;
			spans[n].off = (size_t)(s - path);
			spans[n].len = len;
			n++;
			s += len;
			p += 2;
		} else if (*p == *s) {
			p++;
			s++;
		} else {
			return 0;
		}
	}
	if (*p || *s)
		return 0;
	*nspans = n;
	return 1;
}

static void set_params(struct aur_http_req *req, const struct span *spans, unsigned n)
{
	req->param_buf = aur_xstrdup(req->path);
	for (unsigned i = 0; i < n; i++) {
		req->param_buf[spans[i].off + spans[i].len] = '\0';
		req->params[i] = req->param_buf + spans[i].off;
	}
}

static void allow_header(struct aur_http_req *req, unsigned methods)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
		{ AUR_HTTP_GET, "GET" },       { AUR_HTTP_HEAD, "HEAD" },   { AUR_HTTP_POST, "POST" },
		{ AUR_HTTP_PUT, "PUT" },       { AUR_HTTP_DELETE, "DELETE" }, { AUR_HTTP_PATCH, "PATCH" },
		{ AUR_HTTP_OPTIONS, "OPTIONS" },
	};
	struct aur_buf b;

	aur_buf_init(&b, 128);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(methods & names[i].bit))
			continue;
		if (b.len)
			aur_buf_adds(&b, ", ");
		aur_buf_adds(&b, names[i].name);
	}
	aur_http_add_header(req, "Allow", b.data ? b.data : "");
	aur_buf_release(&b);
}

struct aur_http_req *aur_http_req_new(struct aur_http *h, const char *method, const char *path)
{
	struct aur_http_req *req = aur_xcalloc(1, sizeof(*req));

	req->h = h;
	req->path = path;
	req->method_name = method;
	req->method = parse_method(method);
	aur_buf_init(&req->body, 1);
	atomic_fetch_add(&h->active, 1);
	return req;
}

int aur_http_req_route(struct aur_http_req *req)
{
	struct aur_http *h = req->h;
	struct span spans[AUR_HTTP_MAX_PARAMS];
	unsigned nspans = 0;
	unsigned allowed = 0;

	for (unsigned i = 0; i < h->nroutes; i++) {
		const struct route *r = &h->routes[i];

		if (!match(r->pattern, req->path, spans, &nspans))
			continue;
		if (r->methods & req->method) {
			req->route = r;
			break;
		}
		allowed |= r->methods;
	}
	if (!req->route) {
		if (allowed) {
			allow_header(req, allowed);
			aur_http_respond_error(req, 405, "method %s is not allowed on %s", req->method_name,
					       req->path);
		} else {
			aur_http_respond_error(req, 404, "no such resource: %s", req->path);
		}
		return 0;
	}
	set_params(req, spans, nspans);
	return 1;
}

void aur_http_req_end(struct aur_http_req *req)
{
	struct aur_http *h = req->h;

	if (req->route)
		req->route->handler(req, AUR_HTTP_DONE, req->route->arg);
	if (req->was_suspended)
		atomic_fetch_sub(&h->suspended, 1);
	atomic_fetch_sub(&h->active, 1);
	aur_buf_release(&req->body);
	for (unsigned i = 0; i < req->nextra; i++) {
		free(req->extra[i][0]);
		free(req->extra[i][1]);
	}
	free(req->param_buf);
	free(req);
}

size_t aur_http_discard_cap(const struct aur_http *h)
{
	const size_t mib = (size_t)1024 * 1024;

	return (h->o.max_body > mib ? h->o.max_body : mib) * 4;
}

const char *aur_http_reason(unsigned status)
{
	static const struct {
		unsigned status;
		const char *reason;
	} reasons[] = {
		{ 100, "Continue" },          { 200, "OK" },
		{ 201, "Created" },           { 202, "Accepted" },
		{ 204, "No Content" },        { 304, "Not Modified" },
		{ 400, "Bad Request" },       { 401, "Unauthorized" },
		{ 403, "Forbidden" },         { 404, "Not Found" },
		{ 405, "Method Not Allowed" }, { 409, "Conflict" },
		{ 411, "Length Required" },   { 413, "Content Too Large" },
		{ 415, "Unsupported Media Type" }, { 422, "Unprocessable Content" },
		{ 429, "Too Many Requests" }, { 431, "Request Header Fields Too Large" },
		{ 500, "Internal Server Error" }, { 501, "Not Implemented" },
		{ 503, "Service Unavailable" }, { 505, "HTTP Version Not Supported" },
	};

	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].status == status)
			return reasons[i].reason;
	return status < 300 ? "OK" : status < 400 ? "Redirect" : status < 500 ? "Client Error" : "Server Error";
}

void aur_http_quiesce(struct aur_http *h)
{
	if (h->be && h->be->quiesce)
		h->be->quiesce(h);
}

unsigned aur_http_active(const struct aur_http *h)
{
	return atomic_load(&h->active);
}

unsigned aur_http_reading(const struct aur_http *h)
{
	return aur_http_watch_reading(h->watch);
}

unsigned aur_http_suspended(const struct aur_http *h)
{
	return atomic_load(&h->suspended) + atomic_load(&h->parked);
}

void aur_http_free(struct aur_http *h)
{
	if (!h)
		return;
	if (h->be)
		h->be->stop(h);
	pthread_mutex_destroy(&h->park_mu);
	free(h);
}

enum aur_http_method aur_http_method(const struct aur_http_req *req)
{
	return req->method;
}

const char *aur_http_method_name(const struct aur_http_req *req)
{
	return req->method_name;
}

const char *aur_http_path(const struct aur_http_req *req)
{
	return req->path;
}

const char *aur_http_param(const struct aur_http_req *req, unsigned i)
{
	return i < AUR_HTTP_MAX_PARAMS ? req->params[i] : NULL;
}

const char *aur_http_header(const struct aur_http_req *req, const char *name)
{
	return req->h->be->value(req, HTTP_KIND_HEADER, name);
}

const char *aur_http_query(const struct aur_http_req *req, const char *name)
{
	return req->h->be->value(req, HTTP_KIND_QUERY, name);
}

const char *aur_http_cookie(const struct aur_http_req *req, const char *name)
{
	return req->h->be->value(req, HTTP_KIND_COOKIE, name);
}

const char *aur_http_query_other(const struct aur_http_req *req, const char *const *known)
{
	return req->h->be->query_other(req, known);
}

int aur_http_socket(const struct aur_http_req *req)
{
	return req->h->be->socket(req);
}

const char *aur_http_remote(struct aur_http_req *req)
{
	const struct sockaddr *sa;
	socklen_t len;

	if (req->h->remote[0])
		return req->h->remote;
	if (req->remote[0])
		return req->remote;
	sa = req->h->be->peer(req);
	if (!sa)
		return "";
	if (sa->sa_family == AF_INET)
		len = sizeof(struct sockaddr_in);
	else if (sa->sa_family == AF_INET6)
		len = sizeof(struct sockaddr_in6);
	else
		return "";
	if (getnameinfo(sa, len, req->remote, sizeof(req->remote), NULL, 0, NI_NUMERICHOST))
		req->remote[0] = '\0';
	return req->remote;
}

const void *aur_http_body(const struct aur_http_req *req, size_t *len)
{
	*len = req->body.len;
	return req->body.data ? req->body.data : "";
}

unsigned aur_http_status(const struct aur_http_req *req)
{
	return req->status;
}

void aur_http_set_data(struct aur_http_req *req, void *data)
{
	req->data = data;
}

void *aur_http_data(const struct aur_http_req *req)
{
	return req->data;
}

enum aur_http_next aur_http_expect_body(struct aur_http_req *req)
{
	const char *te = aur_http_header(req, "Transfer-Encoding");
	const char *cl = aur_http_header(req, "Content-Length");
	unsigned long long n;
	char *end = NULL;

	if (te && strcasestr(te, "chunked"))
		return AUR_HTTP_READ_BODY;
	if (!cl)
		return aur_http_respond_error(req, 411, "Content-Length required (or a chunked body)");
	errno = 0;
	n = strtoull(cl, &end, 10);
	/* both modes have already refused a malformed length; this is a guard */
	if (errno || end == cl)
		return aur_http_respond_error(req, 400, "bad Content-Length '%.32s'", cl);
	if (n > req->h->o.max_body)
		return aur_http_respond_error(req, 413, "body of %llu bytes passes the limit of %zu bytes", n,
					      req->h->o.max_body);
	return AUR_HTTP_READ_BODY;
}

int aur_http_suspend(struct aur_http_req *req)
{
	if (!req->h->can_suspend)
		return -ENOTSUP;
	req->state = ST_SUSPENDED;
	if (!req->was_suspended) {
		req->was_suspended = 1;
		atomic_fetch_add(&req->h->suspended, 1);
	}
	req->h->be->suspend(req);
	return 0;
}

void aur_http_resume(struct aur_http_req *req)
{
	req->h->be->resume(req);
}

const char *const aur_http_security_headers[][2] = {
	{ "Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
				     "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'" },
	{ "X-Content-Type-Options", "nosniff" },
	{ "Referrer-Policy", "no-referrer" },
	{ NULL, NULL },
};

void aur_http_add_header(struct aur_http_req *req, const char *name, const char *value)
{
	if (req->nextra >= MAX_EXTRA_HEADERS)
		return;
	req->extra[req->nextra][0] = aur_xstrdup(name);
	req->extra[req->nextra][1] = aur_xstrdup(value);
	req->nextra++;
}

enum aur_http_next aur_http_respond(struct aur_http_req *req, unsigned status, const char *content_type,
				    const void *body, size_t len)
{
	if (req->state == ST_ANSWERED)
		return AUR_HTTP_ANSWERED;
	if (req->h->be->queue(req, status, content_type, len ? body : "", len) < 0) {
		aur_http_say(req->h, AUR_LOG_WARN, "%s %s: could not queue the %u answer", req->method_name,
			     req->path, status);
		return AUR_HTTP_CLOSE;
	}
	req->status = status;
	req->state = ST_ANSWERED;
	return AUR_HTTP_ANSWERED;
}

enum aur_http_next aur_http_respond_json(struct aur_http_req *req, unsigned status, jv value)
{
	jv text = jv_dump_string(value, 0);
	enum aur_http_next next;
	const char *s = jv_string_value(text);

	next = aur_http_respond(req, status, "application/json", s, strlen(s));
	jv_free(text);
	return next;
}

enum aur_http_next aur_http_respond_error(struct aur_http_req *req, unsigned status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	jv body;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	body = jv_object_set(jv_object(), jv_string("error"), jv_string(msg));
	return aur_http_respond_json(req, status, body);
}

enum aur_http_next aur_http_respond_stream(struct aur_http_req *req, unsigned status, const char *content_type,
					   ssize_t (*more)(void *arg, char *buf, size_t max), void *arg,
					   unsigned idle_timeout_s)
{
	if (req->state == ST_ANSWERED)
		return AUR_HTTP_ANSWERED;
	req->more = more;
	req->more_arg = arg;
	if (req->h->be->queue_stream(req, status, content_type, idle_timeout_s) < 0) {
		aur_http_say(req->h, AUR_LOG_WARN, "%s %s: could not queue the %u stream", req->method_name,
			     req->path, status);
		return AUR_HTTP_CLOSE;
	}
	req->status = status;
	req->state = ST_ANSWERED;
	return AUR_HTTP_ANSWERED;
}

void aur_http_stream_wake(struct aur_http_req *req)
{
	req->h->be->wake(req);
}
