#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
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

#include <microhttpd.h>

#include "buf.h"
#include "http.h"
#include "log.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

#define MAX_EXTRA_HEADERS 4

struct route {
	unsigned methods;
	const char *pattern;
	enum aur_http_next (*handler)(struct aur_http_req *req, enum aur_http_phase phase, void *arg);
	void *arg;
};

struct aur_http {
	struct aur_http_options o;
	struct route routes[AUR_HTTP_MAX_ROUTES];
	unsigned nroutes;
	struct MHD_Daemon *d;
	int listen_fd;      /* accept loop: until quiesced */
	int can_suspend;
	int closed;         /* one-connection mode: the connection is gone */
	char remote[64];    /* one-connection mode: the peer */
	atomic_uint active;
	atomic_uint suspended;
	atomic_uint parked;      /* streams waiting for aur_http_stream_wake */
	pthread_mutex_t park_mu; /* the parked and woken flags of every stream */
};

enum req_state {
	ST_NEW = 0,   /* headers in, handler not asked yet */
	ST_BODY,      /* reading the body */
	ST_HANDLER,   /* the handler has it */
	ST_SUSPENDED, /* suspended; the next call is the resume */
	ST_ANSWERED   /* a response is queued */
};

struct aur_http_req {
	struct aur_http *h;
	struct MHD_Connection *conn;
	const struct route *route;
	enum aur_http_method method;
	const char *method_name;
	const char *path;
	char *param_buf;
	const char *params[AUR_HTTP_MAX_PARAMS];
	enum req_state state;
	struct aur_buf body;
	int too_large;
	size_t discarded;
	long long deadline_ms;
	unsigned status;
	int was_suspended;
	char *extra[MAX_EXTRA_HEADERS][2];
	unsigned nextra;
	void *data;
	char remote[64];
	/* a streamed answer */
	ssize_t (*more)(void *arg, char *buf, size_t max);
	void *more_arg;
	int parked; /* suspended until aur_http_stream_wake; under park_mu */
	int woken;  /* a wake came while the callback ran; under park_mu */
};

void aur_http_options_init(struct aur_http_options *o)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	o->threads = n > 0 ? (unsigned)n : 1;
	o->max_connections = 256;
	o->read_timeout_s = 10;
	o->max_body = (size_t)1024 * 1024;
	o->max_header_bytes = 16384;
	o->max_headers = 64;
	o->log = NULL;
}

static void say(const struct aur_http *h, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(const struct aur_http *h, int level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!h->o.log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	h->o.log(level, msg);
}

void aur_http_new(struct aur_http **out, const struct aur_http_options *o)
{
	struct aur_http *h = aur_xcalloc(1, sizeof(*h));

	h->o = *o;
	if (h->o.threads == 0)
		h->o.threads = 1;
	if (h->o.read_timeout_s == 0)
		h->o.read_timeout_s = 1;
	h->listen_fd = -1;
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

/* libmicrohttpd's own messages, one line each, at info level. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct aur_http *h = cls;
	char msg[512];
	size_t n;

	if (!h->o.log)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	h->o.log(AUR_LOG_INFO, msg);
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

struct header_tally {
	unsigned count;
	size_t bytes;
};

static enum MHD_Result tally_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct header_tally *t = cls;

	if (kind == MHD_HEADER_KIND)
		t->count++;
	/* name, ": " (or "=" and "&" for query arguments) and CRLF */
	t->bytes += (key ? strlen(key) : 0) + (value ? strlen(value) : 0) + 4;
	return MHD_YES;
}

static void restore_timeout(struct aur_http_req *req)
{
	MHD_set_connection_option(req->conn, MHD_CONNECTION_OPTION_TIMEOUT, req->h->o.read_timeout_s);
}

static enum MHD_Result internal_error(struct aur_http_req *req, const char *what)
{
	say(req->h, AUR_LOG_ERROR, "%s %s: %s", req->method_name, req->path, what);
	if (req->state == ST_ANSWERED)
		return MHD_YES;
	return aur_http_respond_error(req, 500, "internal error") == AUR_HTTP_ANSWERED ? MHD_YES : MHD_NO;
}

static enum MHD_Result apply(struct aur_http_req *req, enum aur_http_next next, enum aur_http_phase phase)
{
	switch (next) {
	case AUR_HTTP_ANSWERED:
		if (req->state == ST_ANSWERED)
			return MHD_YES;
		return internal_error(req, "handler returned without an answer");
	case AUR_HTTP_READ_BODY:
		if (phase != AUR_HTTP_HEADERS || req->state != ST_NEW)
			return internal_error(req, "handler asked for the body too late");
		req->state = ST_BODY;
		req->deadline_ms = aur_time_mono_ms() + (long long)req->h->o.read_timeout_s * 1000;
		aur_buf_init(&req->body, req->h->o.max_body);
		restore_timeout(req);
		return MHD_YES;
	case AUR_HTTP_SUSPENDED:
		if (req->state == ST_SUSPENDED)
			return MHD_YES;
		return internal_error(req, "handler said suspended without suspending");
	case AUR_HTTP_CLOSE:
		return MHD_NO;
	}
	return internal_error(req, "handler returned an unknown value");
}

static enum MHD_Result start(struct aur_http_req *req)
{
	struct aur_http *h = req->h;
	struct header_tally t = { 0, 0 };
	struct span spans[AUR_HTTP_MAX_PARAMS];
	unsigned nspans = 0;
	unsigned allowed = 0;

	t.bytes = strlen(req->method_name) + strlen(req->path) + 12;
	MHD_get_connection_values(req->conn, MHD_HEADER_KIND | MHD_GET_ARGUMENT_KIND, tally_header, &t);
	if (t.count > h->o.max_headers) {
		aur_http_respond_error(req, 431, "request has %u header fields (limit %u)", t.count,
				       h->o.max_headers);
		return MHD_YES;
	}
	if (t.bytes > h->o.max_header_bytes) {
		aur_http_respond_error(req, 431, "request line and headers are %zu bytes (limit %zu)", t.bytes,
				       h->o.max_header_bytes);
		return MHD_YES;
	}
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
		return req->state == ST_ANSWERED ? MHD_YES : MHD_NO;
	}
	set_params(req, spans, nspans);
	return apply(req, req->route->handler(req, AUR_HTTP_HEADERS, req->route->arg), AUR_HTTP_HEADERS);
}

static enum MHD_Result take_body(struct aur_http_req *req, const char *data, size_t n)
{
	struct aur_http *h = req->h;
	long long now = aur_time_mono_ms();
	long long left = req->deadline_ms - now;
	const size_t mib = (size_t)1024 * 1024;
	size_t discard_cap = (h->o.max_body > mib ? h->o.max_body : mib) * 4;

	if (left <= 0) {
		say(h, AUR_LOG_INFO, "%s %s: body not complete within %u s, closing", req->method_name,
		    req->path, h->o.read_timeout_s);
		return MHD_NO;
	}
	if (!req->too_large && aur_buf_add(&req->body, data, n) < 0) {
		/*
		 * libmicrohttpd cannot answer while a body is still arriving:
		 * count and drop the rest, answer 413 at its end; a sender that
		 * goes on far past the limit is cut off instead.
		 */
		req->too_large = 1;
		req->discarded = req->body.len;
		aur_buf_release(&req->body);
	}
	if (req->too_large) {
		req->discarded += n;
		if (req->discarded > discard_cap) {
			say(h, AUR_LOG_INFO, "%s %s: body passed %zu bytes, closing", req->method_name,
			    req->path, discard_cap);
			return MHD_NO;
		}
	}
	/* the idle timer now counts down to the body's deadline */
	MHD_set_connection_option(req->conn, MHD_CONNECTION_OPTION_TIMEOUT,
				  (unsigned)((left + 999) / 1000));
	return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct aur_http *h = cls;
	struct aur_http_req *req = *con_cls;

	(void)version;
	if (!req) {
		req = aur_xcalloc(1, sizeof(*req));
		req->h = h;
		req->conn = conn;
		req->path = url;
		req->method_name = method;
		req->method = parse_method(method);
		aur_buf_init(&req->body, 1);
		atomic_fetch_add(&h->active, 1);
		*con_cls = req;
		return start(req);
	}
	switch (req->state) {
	case ST_BODY:
		if (*upload_size) {
			enum MHD_Result rc = take_body(req, upload, *upload_size);

			*upload_size = 0;
			return rc;
		}
		req->state = ST_HANDLER;
		restore_timeout(req);
		if (req->too_large) {
			aur_http_respond_error(req, 413, "body passed the limit of %zu bytes", h->o.max_body);
			return req->state == ST_ANSWERED ? MHD_YES : MHD_NO;
		}
		return apply(req, req->route->handler(req, AUR_HTTP_BODY, req->route->arg), AUR_HTTP_BODY);
	case ST_SUSPENDED:
		req->state = ST_HANDLER;
		return apply(req, req->route->handler(req, AUR_HTTP_RESUMED, req->route->arg),
			     AUR_HTTP_RESUMED);
	case ST_ANSWERED:
		/* answered before the body: libmicrohttpd drops the rest */
		*upload_size = 0;
		return MHD_YES;
	case ST_NEW:
	case ST_HANDLER:
		break;
	}
	return internal_error(req, "request in an unexpected state");
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct aur_http *h = cls;
	struct aur_http_req *req = *con_cls;

	(void)conn;
	(void)toe;
	if (!req)
		return;
	*con_cls = NULL;
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

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct aur_http *h = cls;

	(void)conn;
	(void)socket_context;
	if (toe == MHD_CONNECTION_NOTIFY_CLOSED)
		h->closed = 1;
}

/*
 * A connection's memory: the headers up to the limit with room to spare, so
 * a request over the limit still gets our own 431. Not more: libmicrohttpd
 * clears the whole pool for every request (a memset that stood out in
 * profiles of the accept loop at twice this size).
 */
static size_t pool_size(const struct aur_http *h)
{
	return h->o.max_header_bytes + 8192;
}

int aur_http_start_listener(struct aur_http *h, int fd, char *err, size_t errlen)
{
	struct MHD_OptionItem ops[8];
	unsigned n = 0;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
			 MHD_USE_ERROR_LOG;
	int fl = fcntl(fd, F_GETFL);

	/* several workers accept on it: a blocking accept would stall one */
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		snprintf(err, errlen, "listening socket: %s", strerror(errno));
		return -EIO;
	}
	ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_LISTEN_SOCKET, fd, NULL };
	ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT, h->o.max_connections, NULL };
	ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT, h->o.read_timeout_s, NULL };
	ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)pool_size(h),
					    NULL };
	if (h->o.threads > 1)
		ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_THREAD_POOL_SIZE, h->o.threads, NULL };
	ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
	/* the logger goes first, or libmicrohttpd prints to stderr before it is set */
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
				MHD_OPTION_ARRAY, ops,
				MHD_OPTION_END);
	if (!h->d) {
		snprintf(err, errlen, "libmicrohttpd did not start on the listening socket");
		return -EIO;
	}
	h->listen_fd = fd;
	h->can_suspend = 1;
	return 0;
}

int aur_http_start_connection(struct aur_http *h, int fd, const char *remote, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	unsigned flags = MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ERROR_LOG;

	if (remote)
		snprintf(h->remote, sizeof(h->remote), "%s", remote);
	memset(&ss, 0, sizeof(ss));
	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0 || len == 0) {
		/* libmicrohttpd wants some address; the real one may be unknowable */
		ss.ss_family = AF_INET;
		len = sizeof(struct sockaddr_in);
	}
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
				MHD_OPTION_CONNECTION_TIMEOUT, h->o.read_timeout_s,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, pool_size(h),
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
				MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
				MHD_OPTION_END);
	if (!h->d) {
		close(fd);
		snprintf(err, errlen, "libmicrohttpd did not start");
		return -EIO;
	}
	if (MHD_add_connection(h->d, fd, (struct sockaddr *)&ss, len) != MHD_YES) {
		snprintf(err, errlen, "libmicrohttpd refused the connection: %s", strerror(errno));
		return -EIO;
	}
	return 0;
}

int aur_http_run_connection(struct aur_http *h, const volatile sig_atomic_t *stop)
{
	long long give_up = 0;

	while (!h->closed) {
		if (*stop) {
			long long now = aur_time_mono_ms();

			if (!give_up)
				give_up = now + 2000;
			if (atomic_load(&h->active) == 0 || now >= give_up)
				break;
		}
		/* bounded, so a signal that lands just before the wait is seen soon */
		if (MHD_run_wait(h->d, 200) != MHD_YES)
			return -EIO;
	}
	return 0;
}

int aur_http_can_suspend(const struct aur_http *h)
{
	return h->can_suspend;
}

void aur_http_quiesce(struct aur_http *h)
{
	int fd;

	if (!h->d || h->listen_fd < 0)
		return;
	fd = MHD_quiesce_daemon(h->d);
	if (fd >= 0)
		close(fd);
	h->listen_fd = -1;
}

unsigned aur_http_active(const struct aur_http *h)
{
	return atomic_load(&h->active);
}

unsigned aur_http_suspended(const struct aur_http *h)
{
	return atomic_load(&h->suspended) + atomic_load(&h->parked);
}

void aur_http_free(struct aur_http *h)
{
	if (!h)
		return;
	if (h->d)
		MHD_stop_daemon(h->d);
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
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *aur_http_query(const struct aur_http_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *aur_http_cookie(const struct aur_http_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, name);
}

struct query_scan {
	const char *const *known;
	const char *other;
};

static enum MHD_Result find_other(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct query_scan *q = cls;

	(void)kind;
	(void)value;
	for (size_t i = 0; q->known[i]; i++)
		if (key && !strcmp(q->known[i], key))
			return MHD_YES;
	q->other = key ? key : "";
	return MHD_NO;
}

const char *aur_http_query_other(const struct aur_http_req *req, const char *const *known)
{
	struct query_scan q = { known, NULL };

	MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, find_other, &q);
	return q.other;
}

int aur_http_socket(const struct aur_http_req *req)
{
	const union MHD_ConnectionInfo *info = MHD_get_connection_info(req->conn,
									MHD_CONNECTION_INFO_CONNECTION_FD);

	return info ? info->connect_fd : -1;
}

const char *aur_http_remote(struct aur_http_req *req)
{
	const union MHD_ConnectionInfo *info;
	socklen_t len;

	if (req->h->remote[0])
		return req->h->remote;
	if (req->remote[0])
		return req->remote;
	info = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (!info || !info->client_addr)
		return "";
	if (info->client_addr->sa_family == AF_INET)
		len = sizeof(struct sockaddr_in);
	else if (info->client_addr->sa_family == AF_INET6)
		len = sizeof(struct sockaddr_in6);
	else
		return "";
	if (getnameinfo(info->client_addr, len, req->remote, sizeof(req->remote), NULL, 0, NI_NUMERICHOST))
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
	/* libmicrohttpd has already refused a malformed length; this is a guard */
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
	MHD_suspend_connection(req->conn);
	return 0;
}

void aur_http_resume(struct aur_http_req *req)
{
	MHD_resume_connection(req->conn);
}

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
	struct MHD_Response *resp;
	enum MHD_Result ok;

	if (req->state == ST_ANSWERED)
		return AUR_HTTP_ANSWERED;
	resp = MHD_create_response_from_buffer(len, (void *)(len ? body : ""), MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return AUR_HTTP_CLOSE;
	MHD_add_response_header(resp, "Content-Type", content_type);
	for (unsigned i = 0; i < req->nextra; i++)
		MHD_add_response_header(resp, req->extra[i][0], req->extra[i][1]);
	ok = MHD_queue_response(req->conn, status, resp);
	MHD_destroy_response(resp);
	if (ok != MHD_YES) {
		say(req->h, AUR_LOG_WARN, "%s %s: could not queue the %u answer", req->method_name, req->path,
		    status);
		return AUR_HTTP_CLOSE;
	}
	req->status = status;
	req->state = ST_ANSWERED;
	restore_timeout(req);
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

/*
 * libmicrohttpd asks a streamed answer for more. Accept loop: when the
 * handler's callback has nothing, the connection is suspended (parked) and
 * takes no thread until aur_http_stream_wake; a wake that lands while the
 * callback runs makes it ask once more instead, so none is lost.
 */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct aur_http_req *req = cls;
	struct aur_http *h = req->h;
	ssize_t n;

	(void)pos;
	for (;;) {
		if (h->can_suspend) {
			pthread_mutex_lock(&h->park_mu);
			req->woken = 0;
			pthread_mutex_unlock(&h->park_mu);
		}
		n = req->more(req->more_arg, buf, max);
		if (n != 0 || !h->can_suspend)
			break;
		pthread_mutex_lock(&h->park_mu);
		if (!req->woken) {
			req->parked = 1;
			atomic_fetch_add(&h->parked, 1);
			MHD_suspend_connection(req->conn);
			pthread_mutex_unlock(&h->park_mu);
			return 0;
		}
		pthread_mutex_unlock(&h->park_mu);
	}
	if (n == AUR_HTTP_STREAM_END)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (n < 0)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	return n;
}

enum aur_http_next aur_http_respond_stream(struct aur_http_req *req, unsigned status, const char *content_type,
					   ssize_t (*more)(void *arg, char *buf, size_t max), void *arg,
					   unsigned idle_timeout_s)
{
	struct MHD_Response *resp;
	enum MHD_Result ok;

	if (req->state == ST_ANSWERED)
		return AUR_HTTP_ANSWERED;
	req->more = more;
	req->more_arg = arg;
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, AUR_HTTP_STREAM_BLOCK, stream_read, req, NULL);
	if (!resp)
		return AUR_HTTP_CLOSE;
	MHD_add_response_header(resp, "Content-Type", content_type);
	for (unsigned i = 0; i < req->nextra; i++)
		MHD_add_response_header(resp, req->extra[i][0], req->extra[i][1]);
	ok = MHD_queue_response(req->conn, status, resp);
	MHD_destroy_response(resp);
	if (ok != MHD_YES) {
		say(req->h, AUR_LOG_WARN, "%s %s: could not queue the %u stream", req->method_name, req->path,
		    status);
		return AUR_HTTP_CLOSE;
	}
	req->status = status;
	req->state = ST_ANSWERED;
	MHD_set_connection_option(req->conn, MHD_CONNECTION_OPTION_TIMEOUT, idle_timeout_s);
	return AUR_HTTP_ANSWERED;
}

void aur_http_stream_wake(struct aur_http_req *req)
{
	struct aur_http *h = req->h;

	pthread_mutex_lock(&h->park_mu);
	if (req->parked) {
		req->parked = 0;
		atomic_fetch_sub(&h->parked, 1);
		MHD_resume_connection(req->conn);
	} else {
		req->woken = 1;
	}
	pthread_mutex_unlock(&h->park_mu);
}
