/*
 * http_conn.c - one-connection mode of the HTTP layer: one accepted
 * connection (inetd, tcpserver, systemd Accept=yes) served in the caller's
 * thread by aurora's own small HTTP/1.1 server, keep-alive and pipelining
 * included, until the peer leaves, a timeout or *stop.
 *
 * A process per connection cannot afford libmicrohttpd: loading it and its
 * TLS chain costs more than serving the request. Everything here is
 * bounded: the input buffer holds one request head at its limit; a body
 * goes into the request's buffer up to max_body; every read and write
 * waits in poll with a deadline.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "http.h"
#include "http_impl.h"
#include "http_parse.h"
#include "log.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

#define SLICE_MS 200        /* poll at most this long, so a stop is seen soon */
#define STOP_GRACE_MS 2000  /* after *stop, the request in progress has this long */
#define CHUNK_LINE_MAX 4096 /* a chunk-size line with its extensions */
#define STREAM_PREFIX 24    /* room before a stream's piece for its chunk size */

enum { IO_EOF = 0, IO_TIMEOUT = -1, IO_ERROR = -2, IO_STOP = -3, IO_FULL = -4 };

struct http_conn {
	struct aur_http *h;
	int fd;
	int is_sock;
	const volatile sig_atomic_t *stop;
	long long give_up;     /* after *stop: when the request in progress is dropped */
	char *in;              /* bytes read: in[off..len) are not used yet */
	size_t in_cap;
	size_t off;
	size_t len;
	char *head;            /* the request head, parsed in place */
	struct http_field *fields;
	struct http_msg msg;
	struct aur_buf out;    /* the answer as sent: head, and body unless streamed */
	struct aur_buf body;   /* the body queued by the handler */
	unsigned status;       /* the status queued, 0 before */
	char ctype[128];
	int closing;           /* no request after this one */
	int busy;              /* a request is in progress */
	unsigned stream_idle_s;
	int streamed;
	char *block;           /* a stream's piece, STREAM_PREFIX bytes in */
	struct sockaddr_storage peer;
	int peer_known;
};

static long long deadline_in(unsigned s)
{
	return aur_time_mono_ms() + (long long)s * 1000;
}

/* The deadline, pulled in to the grace period once *stop is set. */
static long long bound(struct http_conn *c, long long deadline)
{
	if (!*c->stop)
		return deadline;
	if (!c->give_up)
		c->give_up = aur_time_mono_ms() + STOP_GRACE_MS;
	return c->give_up < deadline ? c->give_up : deadline;
}

/* Wait until fd is ready for events or deadline: 1, IO_TIMEOUT, IO_STOP, IO_ERROR. */
static int wait_fd(struct http_conn *c, short events, long long deadline)
{
	for (;;) {
		struct pollfd p = { c->fd, events, 0 };
		long long left;
		int rc;

		if (*c->stop && !c->busy)
			return IO_STOP;
		left = bound(c, deadline) - aur_time_mono_ms();
		if (left <= 0)
			return *c->stop && c->give_up <= deadline ? IO_STOP : IO_TIMEOUT;
		rc = poll(&p, 1, left > SLICE_MS ? SLICE_MS : (int)left);
		if (rc < 0 && errno != EINTR)
			return IO_ERROR;
		if (rc > 0)
			return 1;
	}
}

/* Read more into in[]: the bytes read, IO_EOF, IO_FULL or a wait_fd failure. */
static ssize_t fill(struct http_conn *c, long long deadline)
{
	for (;;) {
		ssize_t n;
		int rc;

		if (c->off > 0) {
			memmove(c->in, c->in + c->off, c->len - c->off);
			c->len -= c->off;
			c->off = 0;
		}
		if (c->len == c->in_cap)
			return IO_FULL;
		rc = wait_fd(c, POLLIN, deadline);
		if (rc < 0)
			return rc;
		if (c->is_sock)
			n = recv(c->fd, c->in + c->len, c->in_cap - c->len, MSG_DONTWAIT);
		else
			n = read(c->fd, c->in + c->len, c->in_cap - c->len);
		if (n > 0) {
			c->len += (size_t)n;
			return n;
		}
		if (n == 0)
			return IO_EOF;
		if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
			return IO_ERROR;
	}
}

/* Write all of p[0..n) by deadline: 0 or a negative IO_ code. */
static int put(struct http_conn *c, const void *p, size_t n, long long deadline)
{
	const char *s = p;

	while (n > 0) {
		ssize_t w;

		if (c->is_sock)
			w = send(c->fd, s, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		else
			w = write(c->fd, s, n);
		if (w > 0) {
			s += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return IO_ERROR;
		w = wait_fd(c, POLLOUT, deadline);
		if (w < 0)
			return (int)w;
	}
	return 0;
}

/* An IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT", without the locale. */
/* The programs never call setlocale: strftime's names are the C locale's, as HTTP wants them. */
static void http_date(char *out, size_t outlen)
{
	time_t now = time(NULL);
	struct tm tm;

	if (!gmtime_r(&now, &tm) || strftime(out, outlen, "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
		snprintf(out, outlen, "Thu, 01 Jan 1970 00:00:00 GMT");
}

static int header_safe(const char *s)
{
	return strpbrk(s, "\r\n") == NULL;
}

/* The status line and headers into c->out; body_len < 0: a stream. */
static void answer_head(struct http_conn *c, const struct aur_http_req *req, unsigned status,
			const char *content_type, long long body_len)
{
	char date[40];

	http_date(date, sizeof(date));
	aur_buf_reset(&c->out);
	aur_buf_addf(&c->out, "HTTP/1.1 %u %s\r\nDate: %s\r\n", status, aur_http_reason(status), date);
	if (content_type && header_safe(content_type))
		aur_buf_addf(&c->out, "Content-Type: %s\r\n", content_type);
	if (body_len >= 0 && status >= 200 && status != 204 && status != 304)
		aur_buf_addf(&c->out, "Content-Length: %lld\r\n", body_len);
	else if (body_len < 0 && c->msg.minor == 1)
		aur_buf_adds(&c->out, "Transfer-Encoding: chunked\r\n");
	for (unsigned i = 0; aur_http_security_headers[i][0]; i++)
		aur_buf_addf(&c->out, "%s: %s\r\n", aur_http_security_headers[i][0], aur_http_security_headers[i][1]);
	for (unsigned i = 0; req && i < req->nextra; i++)
		if (header_safe(req->extra[i][0]) && header_safe(req->extra[i][1]) && strchr(req->extra[i][0], ':') == NULL)
			aur_buf_addf(&c->out, "%s: %s\r\n", req->extra[i][0], req->extra[i][1]);
	if (c->closing)
		aur_buf_adds(&c->out, "Connection: close\r\n");
	aur_buf_adds(&c->out, "\r\n");
}

/*
 * An answer of this layer before (or instead of) a handler's, for a request
 * whose framing is unknown: {"error": why}, then the connection closes.
 */
static void answer_error(struct http_conn *c, unsigned status, const char *why)
{
	jv body = jv_object_set(jv_object(), jv_string("error"), jv_string(why));
	jv text = jv_dump_string(body, 0);
	const char *s = jv_string_value(text);
	size_t n = strlen(s);

	aur_http_say(c->h, AUR_LOG_INFO, "%u %s", status, why);
	c->closing = 1;
	answer_head(c, NULL, status, "application/json", (long long)n);
	if (c->msg.method && !strcmp(c->msg.method, "HEAD"))
		n = 0;
	aur_buf_add(&c->out, s, n);
	put(c, c->out.data, c->out.len, deadline_in(c->h->o.read_timeout_s));
	jv_free(text);
}

/* The answer waits in c until the handler returns: only then is it known whether the connection ends. */
static int conn_queue(struct aur_http_req *req, unsigned status, const char *content_type, const void *body,
		      size_t len)
{
	struct http_conn *c = req->h->c;

	if (aur_buf_add(&c->body, body, len) < 0)
		return -1;
	c->status = status;
	snprintf(c->ctype, sizeof(c->ctype), "%s", content_type ? content_type : "");
	return 0;
}

static int conn_queue_stream(struct aur_http_req *req, unsigned status, const char *content_type,
			     unsigned idle_timeout_s)
{
	struct http_conn *c = req->h->c;

	/* HTTP/1.0 has no chunks: the end of the stream is the end of the connection */
	if (c->msg.minor == 0 && req->method != AUR_HTTP_HEAD)
		c->closing = 1;
	c->status = status;
	snprintf(c->ctype, sizeof(c->ctype), "%s", content_type ? content_type : "");
	c->streamed = 1;
	c->stream_idle_s = idle_timeout_s ? idle_timeout_s : c->h->o.read_timeout_s;
	return 0;
}

/*
 * Send a stream's pieces as more hands them out: 0 when it ended (the
 * connection may go on), -1 to close.
 */
static int run_stream(struct http_conn *c, struct aur_http_req *req)
{
	int chunked = c->msg.minor == 1;

	if (!c->block)
		c->block = aur_xmalloc(STREAM_PREFIX + AUR_HTTP_STREAM_BLOCK + 2);
	for (;;) {
		char *data = c->block + STREAM_PREFIX;
		char size[STREAM_PREFIX];
		ssize_t n = req->more(req->more_arg, data, AUR_HTTP_STREAM_BLOCK);
		size_t hl;

		if (n == AUR_HTTP_STREAM_END) {
			if (!chunked)
				return -1;
			return put(c, "0\r\n\r\n", 5, deadline_in(c->stream_idle_s)) < 0 ? -1 : 0;
		}
		if (n < 0 || n > AUR_HTTP_STREAM_BLOCK)
			return -1;
		if (n == 0) {
			/* more should block until it has something; a stop must still end it */
			if (*c->stop && bound(c, aur_time_mono_ms() + STOP_GRACE_MS) <= aur_time_mono_ms())
				return -1;
			continue;
		}
		if (!chunked) {
			if (put(c, data, (size_t)n, deadline_in(c->stream_idle_s)) < 0)
				return -1;
			continue;
		}
		hl = (size_t)snprintf(size, sizeof(size), "%zx\r\n", (size_t)n);
		memcpy(data - hl, size, hl);
		memcpy(data + n, "\r\n", 2);
		if (put(c, data - hl, hl + (size_t)n + 2, deadline_in(c->stream_idle_s)) < 0)
			return -1;
	}
}

/* Bytes of a body: kept up to max_body, then counted. 0, or -1 past the discard cap. */
static int take_body(struct http_conn *c, struct aur_http_req *req, const char *data, size_t n)
{
	if (!req->too_large && aur_buf_add(&req->body, data, n) < 0) {
		req->too_large = 1;
		req->discarded = req->body.len;
		aur_buf_release(&req->body);
		aur_buf_init(&req->body, 1);
	}
	if (req->too_large) {
		req->discarded += n;
		if (req->discarded > aur_http_discard_cap(c->h))
			return -1;
	}
	return 0;
}

/* Up to n body bytes from what was read, reading more when none is: 0, or an IO_ code. */
static int body_bytes(struct http_conn *c, struct aur_http_req *req, unsigned long long *left)
{
	size_t avail = c->len - c->off;
	size_t take;
	ssize_t rc;

	if (avail == 0) {
		rc = fill(c, req->deadline_ms);
		if (rc <= 0)
			return rc == IO_FULL || rc == IO_EOF ? IO_ERROR : (int)rc;
		avail = c->len - c->off;
	}
	take = avail < *left ? avail : (size_t)*left;
	if (take_body(c, req, c->in + c->off, take) < 0)
		return IO_FULL;
	c->off += take;
	*left -= take;
	return 1;
}

/* A line of at most max bytes (line end excluded), NUL-terminated in in[]: 1, or an IO_ code. */
static int get_line(struct http_conn *c, struct aur_http_req *req, size_t max, char **line, size_t *len)
{
	size_t scanned = 0;

	for (;;) {
		char *nl = memchr(c->in + c->off + scanned, '\n', c->len - c->off - scanned);
		ssize_t rc;

		if (nl) {
			*line = c->in + c->off;
			*len = (size_t)(nl - *line);
			c->off += *len + 1;
			if (*len > 0 && (*line)[*len - 1] == '\r')
				(*len)--;
			(*line)[*len] = '\0';
			return *len > max ? IO_FULL : 1;
		}
		scanned = c->len - c->off;
		if (scanned > max + 1)
			return IO_FULL;
		rc = fill(c, req->deadline_ms);
		if (rc <= 0)
			return rc == IO_EOF ? IO_ERROR : (int)rc;
		scanned = c->len - c->off - (size_t)rc;
	}
}

/*
 * The body, by Content-Length or in chunks: 0 when all of it was read
 * (req->too_large tells whether it was kept), -1 to close without an
 * answer (timeout, the peer left), or a status answered here (400, 413).
 */
static int read_body(struct http_conn *c, struct aur_http_req *req)
{
	unsigned long long left = c->msg.length;
	size_t trailers = 0;
	char *line;
	size_t len;
	int rc;

	if (!c->msg.chunked) {
		while (left > 0)
			if ((rc = body_bytes(c, req, &left)) < 0)
				return rc == IO_FULL ? 413 : -1;
		return 0;
	}
	for (;;) {
		rc = get_line(c, req, CHUNK_LINE_MAX, &line, &len);
		if (rc < 0)
			return rc == IO_FULL ? 400 : -1;
		if (http_parse_chunk_size(line, len, &left) < 0)
			return 400;
		if (left == 0)
			break;
		while (left > 0)
			if ((rc = body_bytes(c, req, &left)) < 0)
				return rc == IO_FULL ? 413 : -1;
		rc = get_line(c, req, 0, &line, &len);
		if (rc < 0)
			return rc == IO_FULL ? 400 : -1;
	}
	/* trailer fields: read and dropped, within the limit of a head */
	do {
		rc = get_line(c, req, c->h->o.max_header_bytes, &line, &len);
		if (rc < 0)
			return rc == IO_FULL ? 400 : -1;
		trailers += len + 2;
		if (trailers > c->h->o.max_header_bytes)
			return 400;
	} while (len > 0);
	return 0;
}

/*
 * Wait for a whole request head: its length in in[] from c->off (the empty
 * line that ends it excluded), with *skip the bytes up to the next request's
 * body; 0 when the connection should end quietly (the peer left or stayed
 * silent, a stop); -1 after answering 431.
 */
static long long read_head(struct http_conn *c, size_t *skip)
{
	struct aur_http *h = c->h;
	/* silence ends the connection after the read timeout; a head begun must end by its own deadline */
	long long deadline = deadline_in(h->o.read_timeout_s);
	int started = 0;
	size_t scanned = 0;

	for (;;) {
		char *p = c->in + c->off;
		size_t avail = c->len - c->off;
		ssize_t rc;

		/* empty lines before a request line are ignored (RFC 9112 2.2) */
		while (avail > 0 && !started && (*p == '\r' || *p == '\n')) {
			c->off++;
			p++;
			avail--;
		}
		if (avail > 0 && !started) {
			started = 1;
			c->busy = 1;
			deadline = deadline_in(h->o.head_timeout_s);
		}
		for (; scanned < avail; scanned++) {
			size_t end;

			if (p[scanned] != '\n')
				continue;
			/* the empty line: "\n\n" or "\n\r\n" */
			end = scanned + 1;
			if (end < avail && p[end] == '\r')
				end++;
			if (end >= avail)
				break;
			if (p[end] == '\n') {
				*skip = end + 1;
				if (scanned + 1 > h->o.max_header_bytes) {
					char why[128];

					snprintf(why, sizeof(why), "request line and headers are %zu bytes (limit %zu)",
						 scanned + 1, h->o.max_header_bytes);
					answer_error(c, 431, why);
					return -1;
				}
				return (long long)scanned + 1;
			}
		}
		if (scanned > 0)
			scanned--; /* a line end may have been cut in two */
		rc = fill(c, deadline);
		if (rc == IO_FULL) {
			char why[128];

			snprintf(why, sizeof(why), "request line and headers are more than %zu bytes (limit %zu)",
				 c->len - c->off, h->o.max_header_bytes);
			answer_error(c, 431, why);
			return -1;
		}
		if (rc == IO_TIMEOUT && started)
			aur_http_say(h, AUR_LOG_INFO, "request head not complete within %u s, closing",
				     h->o.head_timeout_s);
		if (rc <= 0)
			return 0;
	}
}

static void internal_error(struct aur_http_req *req, const char *what)
{
	aur_http_say(req->h, AUR_LOG_ERROR, "%s %s: %s", req->method_name, req->path, what);
	if (req->state != ST_ANSWERED)
		aur_http_respond_error(req, 500, "internal error");
}

/* Check what a handler returned: 0 when answered, -1 to close without one. */
static int check(struct aur_http_req *req, enum aur_http_next next)
{
	switch (next) {
	case AUR_HTTP_ANSWERED:
		if (req->state != ST_ANSWERED)
			internal_error(req, "handler returned without an answer");
		break;
	case AUR_HTTP_READ_BODY:
		internal_error(req, "handler asked for the body too late");
		break;
	case AUR_HTTP_SUSPENDED:
		internal_error(req, "handler said suspended without suspending");
		break;
	case AUR_HTTP_CLOSE:
		return -1;
	default:
		internal_error(req, "handler returned an unknown value");
		break;
	}
	return req->state == ST_ANSWERED ? 0 : -1;
}

/* The handler's phases for a parsed request: 0 when answered, -1 to close without an answer. */
static int handle(struct http_conn *c, struct aur_http_req *req)
{
	struct aur_http *h = c->h;
	enum aur_http_next next;
	int has_body = c->msg.chunked || c->msg.length > 0;
	int rc;

	if (!aur_http_req_route(req))
		return req->state == ST_ANSWERED ? 0 : -1;
	next = req->route->handler(req, AUR_HTTP_HEADERS, req->route->arg);
	if (next != AUR_HTTP_READ_BODY || req->state != ST_NEW) {
		/* answered before the body: nobody reads the rest, the connection ends */
		if (has_body)
			c->closing = 1;
		return check(req, next);
	}
	req->state = ST_BODY;
	req->deadline_ms = deadline_in(h->o.body_timeout_s);
	aur_buf_init(&req->body, h->o.max_body);
	if (c->msg.expect_continue && c->len == c->off && has_body) {
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

		if (put(c, cont, sizeof(cont) - 1, req->deadline_ms) < 0)
			return -1;
	}
	rc = read_body(c, req);
	req->state = ST_HANDLER;
	if (rc < 0) {
		aur_http_say(h, AUR_LOG_INFO, "%s %s: body not complete within %u s, closing", req->method_name,
			     req->path, h->o.body_timeout_s);
		return -1;
	}
	if (rc == 400) {
		c->closing = 1;
		aur_http_respond_error(req, 400, "malformed chunked body");
		return 0;
	}
	if (rc == 413 || req->too_large) {
		if (rc == 413) {
			c->closing = 1;
			aur_http_say(h, AUR_LOG_INFO, "%s %s: body passed %zu bytes, closing", req->method_name,
				     req->path, aur_http_discard_cap(h));
		}
		aur_http_respond_error(req, 413, "body passed the limit of %zu bytes", h->o.max_body);
		return 0;
	}
	return check(req, req->route->handler(req, AUR_HTTP_BODY, req->route->arg));
}

/* Send the answer queued for req: 0, or -1 when the connection must end. */
static int send_answer(struct http_conn *c, struct aur_http_req *req)
{
	int no_body = req->method == AUR_HTTP_HEAD || c->status < 200 || c->status == 204 || c->status == 304;

	/* a stop ends the connection after the request in progress */
	if (*c->stop)
		c->closing = 1;
	answer_head(c, req, c->status, c->ctype[0] ? c->ctype : NULL, c->streamed ? -1 : (long long)c->body.len);
	if (!c->streamed && !no_body)
		aur_buf_add(&c->out, c->body.data ? c->body.data : "", c->body.len);
	if (put(c, c->out.data, c->out.len, deadline_in(c->h->o.read_timeout_s)) < 0)
		return -1;
	if (c->streamed && req->method != AUR_HTTP_HEAD && run_stream(c, req) < 0)
		return -1;
	return c->closing || *c->stop ? -1 : 0;
}

/* One request: 0 when the connection may serve another, -1 when it ends. */
static int serve_one(struct http_conn *c)
{
	struct aur_http *h = c->h;
	struct aur_http_req *req;
	char why[256];
	size_t skip = 0;
	long long n;
	unsigned status;
	int rc = -1;

	c->busy = 0;
	c->closing = 0;
	c->streamed = 0;
	c->status = 0;
	aur_buf_reset(&c->body);
	http_msg_release(&c->msg);
	n = read_head(c, &skip);
	if (n <= 0)
		return -1;
	memcpy(c->head, c->in + c->off, (size_t)n);
	c->head[n] = '\0';
	c->off += skip;
	status = http_parse_head(c->head, (size_t)n, &c->msg, c->fields, h->o.max_headers, why, sizeof(why));
	if (status) {
		answer_error(c, status, why);
		return -1;
	}
	c->closing = !c->msg.keep_alive;
	req = aur_http_req_new(h, c->msg.method, c->msg.path);
	if (handle(c, req) == 0)
		rc = send_answer(c, req);
	aur_http_req_end(req);
	return rc;
}

static const char *conn_value(const struct aur_http_req *req, enum http_kind kind, const char *name)
{
	const struct http_msg *m = &req->h->c->msg;

	if (kind == HTTP_KIND_HEADER)
		return http_msg_header(m, name);
	if (kind == HTTP_KIND_QUERY)
		return http_msg_arg(m->args, m->nargs, name);
	return http_msg_arg(m->cookies, m->ncookies, name);
}

static const char *conn_query_other(const struct aur_http_req *req, const char *const *known)
{
	const struct http_msg *m = &req->h->c->msg;

	for (unsigned i = 0; i < m->nargs; i++) {
		size_t k = 0;

		while (known[k] && strcmp(known[k], m->args[i].name) != 0)
			k++;
		if (!known[k])
			return m->args[i].name;
	}
	return NULL;
}

static int conn_socket(const struct aur_http_req *req)
{
	return req->h->c->fd;
}

static const struct sockaddr *conn_peer(const struct aur_http_req *req)
{
	const struct http_conn *c = req->h->c;

	return c->peer_known ? (const struct sockaddr *)&c->peer : NULL;
}

/* Never called: this mode cannot suspend (aur_http_suspend says so first). */
static void conn_nothing(struct aur_http_req *req)
{
	(void)req;
}

static void conn_stop(struct aur_http *h)
{
	struct http_conn *c = h->c;

	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	http_msg_release(&c->msg);
	aur_buf_release(&c->out);
	aur_buf_release(&c->body);
	free(c->in);
	free(c->head);
	free(c->fields);
	free(c->block);
	free(c);
	h->c = NULL;
}

const struct http_backend aur_http_conn_backend = {
	.value = conn_value,
	.query_other = conn_query_other,
	.socket = conn_socket,
	.peer = conn_peer,
	.queue = conn_queue,
	.queue_stream = conn_queue_stream,
	.suspend = conn_nothing,
	.resume = conn_nothing,
	.wake = conn_nothing,
	.quiesce = NULL,
	.stop = conn_stop,
};

int aur_http_start_connection(struct aur_http *h, int fd, const char *remote, char *err, size_t errlen)
{
	struct http_conn *c = aur_xcalloc(1, sizeof(*c));
	socklen_t len = sizeof(c->peer);
	struct stat st;

	(void)err;
	(void)errlen;
	if (remote)
		snprintf(h->remote, sizeof(h->remote), "%s", remote);
	c->h = h;
	c->fd = fd;
	c->is_sock = fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
	if (c->is_sock) {
		c->peer_known = getpeername(fd, (struct sockaddr *)&c->peer, &len) == 0 && len > 0;
	} else {
		struct sigaction sa;
		int fl = fcntl(fd, F_GETFL);

		/* a pipe has no MSG_NOSIGNAL: a reader gone must not kill the process */
		if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
			signal(SIGPIPE, SIG_IGN);
		/* nor may a full pipe block a write past its deadline */
		if (fl >= 0)
			fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	}
	/* one request head at its limit, with room for the empty line and some body */
	c->in_cap = h->o.max_header_bytes + 8192;
	c->in = aur_xmalloc(c->in_cap);
	c->head = aur_xmalloc(c->in_cap + 1);
	c->fields = aur_xcalloc(h->o.max_headers ? h->o.max_headers : 1, sizeof(*c->fields));
	aur_buf_init(&c->out, 0);
	aur_buf_init(&c->body, 0);
	h->c = c;
	h->be = &aur_http_conn_backend;
	return 0;
}

int aur_http_run_connection(struct aur_http *h, const volatile sig_atomic_t *stop)
{
	struct http_conn *c = h->c;

	if (!c)
		return -EIO;
	c->stop = stop;
	while (serve_one(c) == 0)
		;
	close(c->fd);
	c->fd = -1;
	return 0;
}
