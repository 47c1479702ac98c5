/*
 * http.h - aurora's HTTP layer: launch modes, routes, bodies, JSON answers.
 *
 * One server serves either an accept loop (a listening socket:
 * libmicrohttpd's own threads, epoll, a thread pool, suspend/resume;
 * lib/http_mhd.c, which loads libmicrohttpd with dlopen when the loop
 * starts) or exactly one connection that was accepted by someone else
 * (inetd, tcpserver, systemd Accept=yes), run in the caller's thread until
 * the peer closes it by aurora's own small HTTP/1.1 server (lib/http_conn.c,
 * lib/http_parse.c), so that a process per connection never loads
 * libmicrohttpd. Handlers see the same requests either way: the path
 * percent-decoded, query arguments split on '&' and '=' with '+' as a
 * space, the first of repeated names (case-insensitive) winning.
 *
 * A request walks through a route's handler in phases:
 *   HEADERS  the request line and the headers are in. The handler answers
 *            at once, or asks for the body (AUR_HTTP_READ_BODY).
 *   BODY     the whole body is in (aur_http_body). The handler answers, or
 *            suspends the connection (accept loop only) and has another
 *            thread call aur_http_resume later.
 *   RESUMED  after aur_http_resume: the handler answers now.
 *   DONE     the request is over, answered or not (client gone, timeout,
 *            shutdown): the handler releases what it keeps for the request.
 * The layer itself answers what no handler needs to know about, each with
 * a JSON body {"error": "..."}: 431 for too many header fields or bytes
 * (before routing), 404 for a path no route has, 405 with Allow for a path
 * whose routes take other methods, 413 for a chunked body that passes the
 * limit as it arrives. A request head must be complete within the head
 * timeout and its body within the body timeout after it, else the
 * connection is dropped without an answer; the accept loop also caps the
 * connections of one address and those still reading a request
 * (struct aur_http_options).
 * Framing follows one policy in both modes (RFC 9112; http_parse.h), checked
 * before any body is read, answered in JSON and followed by the end of the
 * connection (Connection: close), so nothing after such a request is read
 * as another one: 400 for a repeated Content-Length (the same value too),
 * Content-Length beside Transfer-Encoding, a repeated Transfer-Encoding or
 * Host, codings that apply chunked twice or not last, a field name that is
 * not a token, a control character in a field value, a NUL byte or obsolete
 * line folding in the head, HTTP/1.1 without Host, and a path with %00, %2F
 * or a "." or ".." segment; 501 for any transfer coding other than chunked.
 * One-connection mode also answers 400 for a malformed request line or
 * field line, a bare CR, a bad Content-Length or a malformed chunk, 505 for
 * a version other than HTTP/1.0 and 1.1, and 431 for a head over its limit.
 * In the accept loop libmicrohttpd 0.9.75 answers those few itself (the
 * 431 only past its memory pool), before aurora sees the request or in the
 * middle of a chunked body, with its own short HTML bodies, and closes the
 * connection: it has no way to hand them over (man/aurora-recv.1).
 *
 * Every answer of this layer, in both modes, carries the security headers
 * of http_impl.h (a Content-Security-Policy without inline scripts or
 * framing, X-Content-Type-Options: nosniff, Referrer-Policy: no-referrer).
 *
 * An answer may also be a stream (aur_http_respond_stream): a callback
 * hands out the body as it is produced, chunk by chunk, for as long as the
 * connection lives (Server-Sent Events). In the accept loop a stream with
 * nothing to send is parked: suspended, holding no thread, until another
 * thread calls aur_http_stream_wake.
 *
 * Threads: in the accept loop, handlers run on libmicrohttpd's worker
 * threads, several at once; aur_http_resume and aur_http_stream_wake may be
 * called from any thread.
 * In one-connection mode everything runs in the thread that calls
 * aur_http_run_connection.
 */
#ifndef AURORA_HTTP_H
#define AURORA_HTTP_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>
#include <jq.h>

enum aur_http_method {
	AUR_HTTP_GET = 1,
	AUR_HTTP_HEAD = 2,
	AUR_HTTP_POST = 4,
	AUR_HTTP_PUT = 8,
	AUR_HTTP_DELETE = 16,
	AUR_HTTP_PATCH = 32,
	AUR_HTTP_OPTIONS = 64,
	AUR_HTTP_OTHER = 128,
	AUR_HTTP_ANY = 255
};

enum aur_http_phase {
	AUR_HTTP_HEADERS = 0,
	AUR_HTTP_BODY,
	AUR_HTTP_RESUMED,
	AUR_HTTP_DONE
};

/* What a handler returns from the HEADERS, BODY and RESUMED phases (DONE ignores it). */
enum aur_http_next {
	AUR_HTTP_ANSWERED = 0, /* a response was queued with aur_http_respond* */
	AUR_HTTP_READ_BODY,    /* HEADERS only: read the body, then call BODY */
	AUR_HTTP_SUSPENDED,    /* aur_http_suspend succeeded: RESUMED follows aur_http_resume */
	AUR_HTTP_CLOSE         /* drop the connection without an answer */
};

struct aur_http;
struct aur_http_req;

struct aur_http_options {
	unsigned threads;         /* accept loop: worker threads; default: the CPUs online */
	unsigned max_connections; /* accept loop: concurrent connections; default 256 */
	unsigned read_timeout_s;  /* a connection with nothing to read or unable to take
				     an answer for this long is closed; default 10 */
	unsigned head_timeout_s;  /* the request line and headers must be complete within
				     it of the connection's opening or its previous answer
				     (one connection: of the head's first byte, the idle
				     wait before it bounded by read_timeout_s too);
				     0: read_timeout_s */
	unsigned body_timeout_s;  /* the body must be complete within it after the head;
				     0: read_timeout_s */
	unsigned max_per_address; /* accept loop: connections from one client address;
				     past it new ones are closed at once; default 256,
				     0: no cap */
	unsigned max_reading;     /* accept loop: connections still reading a request
				     head or body (kept-alive ones between requests
				     included); a new one past it closes the one that
				     has waited longest; 0: half of max_connections */
	size_t max_body;          /* bytes; default 1 MiB */
	size_t max_header_bytes;  /* request line and header fields; default 16384 */
	unsigned max_headers;     /* header fields; default 64 */
	/* Diagnostics of this layer and of libmicrohttpd (level as in log.h); NULL drops them. */
	void (*log)(int level, const char *msg);
};

/* Fill o with the defaults above. */
void aur_http_options_init(struct aur_http_options *o);

/* A server with no route yet. *out is freed with aur_http_free. */
void aur_http_new(struct aur_http **out, const struct aur_http_options *o);

/*
 * Add a route before the server starts. pattern is a path whose segments are
 * literal or "{}" (one non-empty segment, read back with aur_http_param).
 * methods is a mask of enum aur_http_method; GET includes HEAD. A route
 * with AUR_HTTP_ANY sees every method and answers 405 itself when it must
 * (so it can answer 404 for an unknown {} first). Routes are tried in the
 * order they were added; the first whose pattern and method match wins.
 * pattern (borrowed) and arg must outlive the server. 0, or -E2BIG past
 * the route table's size or -EINVAL for a pattern with more than
 * AUR_HTTP_MAX_PARAMS parameters.
 */
#define AUR_HTTP_MAX_ROUTES 32
#define AUR_HTTP_MAX_PARAMS 4
int aur_http_route(struct aur_http *h, unsigned methods, const char *pattern,
		   enum aur_http_next (*handler)(struct aur_http_req *req, enum aur_http_phase phase,
						 void *arg),
		   void *arg);

/*
 * Serve the listening socket fd in libmicrohttpd's threads (thread pool,
 * epoll, suspend/resume). fd is set non-blocking and is closed when the
 * server is freed. libmicrohttpd (libmicrohttpd.so.12) is loaded now, the
 * first time. 0, or -EIO with err set when it cannot be loaded (err names
 * the library and its Debian package) or does not start.
 */
int aur_http_start_listener(struct aur_http *h, int fd, char *err, size_t errlen);

/*
 * Serve one accepted connection fd (a stream socket, or a pipe: then
 * SIGPIPE is ignored from now on if it was not): from now on the server
 * owns and closes it. remote is the peer address to report (borrowed;
 * copied), or NULL to ask the socket (getpeername; "" when it cannot say).
 * 0 (err is untouched). Then call aur_http_run_connection.
 */
int aur_http_start_connection(struct aur_http *h, int fd, const char *remote, char *err, size_t errlen);

/*
 * One-connection mode: serve requests until the peer closes the connection
 * or it times out, or *stop becomes non-zero (a signal handler sets it):
 * then the request in progress, if any, is finished (waiting at most 2 s)
 * and its answer says Connection: close. HTTP/1.1 keeps the connection
 * unless Connection: close, HTTP/1.0 closes it unless Connection:
 * keep-alive; pipelined requests are served in order. A connection that is
 * idle for the read timeout is closed. 0, or -EIO when there is no
 * connection (aur_http_start_connection was not called).
 */
int aur_http_run_connection(struct aur_http *h, const volatile sig_atomic_t *stop);


/* Accept loop: stop accepting new connections; the open ones are still served. */
void aur_http_quiesce(struct aur_http *h);

/* Requests begun and not yet over; suspended requests and parked streams among them. Any thread. */
unsigned aur_http_active(const struct aur_http *h);
unsigned aur_http_suspended(const struct aur_http *h);
/*
 * Accept loop: connections that may have a request on its way (opened and
 * no head yet, or reading a body); 0 in one-connection mode. Any thread.
 */
unsigned aur_http_reading(const struct aur_http *h);

/*
 * Stop serving (closing every connection, which ends their requests with
 * DONE) and free. Suspended requests must be resumed and parked streams
 * woken before: libmicrohttpd cannot stop with a connection suspended.
 * NULL-safe.
 */
void aur_http_free(struct aur_http *h);

/* The request. Strings are borrowed until the DONE phase returns. */
enum aur_http_method aur_http_method(const struct aur_http_req *req);
const char *aur_http_method_name(const struct aur_http_req *req);
const char *aur_http_path(const struct aur_http_req *req);
/* The i-th "{}" of the route's pattern, or NULL. */
const char *aur_http_param(const struct aur_http_req *req, unsigned i);
/* A request header (name case-insensitive) or NULL; the first when repeated. */
const char *aur_http_header(const struct aur_http_req *req, const char *name);
/* A query-string argument, decoded, or NULL. */
const char *aur_http_query(const struct aur_http_req *req, const char *name);
/* The name of the first query-string argument that is not in known (NULL-terminated), or NULL. */
const char *aur_http_query_other(const struct aur_http_req *req, const char *const *known);
/* A cookie of the request (Cookie: name=value), or NULL. */
const char *aur_http_cookie(const struct aur_http_req *req, const char *name);
/* The connection's socket (to watch for the peer leaving), or -1. */
int aur_http_socket(const struct aur_http_req *req);
/* The peer's address as text ("127.0.0.1", "::1"), or "" when unknown. */
const char *aur_http_remote(struct aur_http_req *req);
/* The body read so far (all of it from the BODY phase on); never NULL, NUL-terminated. */
const void *aur_http_body(const struct aur_http_req *req, size_t *len);
/* The status answered, 0 before an answer (so DONE can tell what happened). */
unsigned aur_http_status(const struct aur_http_req *req);

/* A handler's own per-request pointer; it frees it in DONE. */
void aur_http_set_data(struct aur_http_req *req, void *data);
void *aur_http_data(const struct aur_http_req *req);

/*
 * HEADERS phase of a route that takes a body: answer 411 when there is no
 * Content-Length and no chunked transfer coding, and 413 when Content-Length
 * passes max_body (without reading the body). Returns AUR_HTTP_READ_BODY when
 * the body may be read, else AUR_HTTP_ANSWERED (or AUR_HTTP_CLOSE).
 */
enum aur_http_next aur_http_expect_body(struct aur_http_req *req);

/*
 * Suspend the connection from the BODY phase (or the HEADERS phase of a
 * request without a body), then return AUR_HTTP_SUSPENDED
 * (even when something resumes it before the handler returns). 0, or
 * -ENOTSUP when this server cannot suspend (one-connection mode): answer
 * directly then.
 */
int aur_http_suspend(struct aur_http_req *req);
/* Resume a suspended request; any thread. Do not touch req afterwards. */
void aur_http_resume(struct aur_http_req *req);

/* An extra header for the response about to be queued (at most 4; copied). */
void aur_http_add_header(struct aur_http_req *req, const char *name, const char *value);

/* Queue a response; body copied. AUR_HTTP_ANSWERED, or AUR_HTTP_CLOSE when it cannot be queued. */
enum aur_http_next aur_http_respond(struct aur_http_req *req, unsigned status, const char *content_type,
				    const void *body, size_t len);
/* The same with value dumped as compact JSON (application/json); consumes value. */
enum aur_http_next aur_http_respond_json(struct aur_http_req *req, unsigned status, jv value);
/* {"error": "<formatted message>"} with status. */
enum aur_http_next aur_http_respond_error(struct aur_http_req *req, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Answer status with a body of unknown length that more(arg, buf, max)
 * produces as it goes (chunked transfer coding; HEAD gets the headers
 * only; HTTP/1.0 gets the body up to the end of the connection). The
 * server calls more whenever the connection can take bytes, from the
 * thread serving the connection; more copies at most max bytes
 * into buf and returns:
 *   > 0                   that many bytes are in buf
 *   0                     nothing now. Accept loop: the connection is
 *                         parked until aur_http_stream_wake(req), then more
 *                         is called again. One-connection mode: more is
 *                         called again at once, so there it should block
 *                         until it has something (it is the only work).
 *   AUR_HTTP_STREAM_END   the body is complete (the connection may serve
 *                         another request)
 *   AUR_HTTP_STREAM_ERROR close the connection
 * idle_timeout_s replaces the read timeout for the connection: it is
 * closed when nothing could be sent for that long (a peer that stopped
 * reading); a parked connection does not time out. arg must stay valid
 * until the DONE phase. Extra headers apply as with aur_http_respond.
 */
#define AUR_HTTP_STREAM_END ((ssize_t)-1)
#define AUR_HTTP_STREAM_ERROR ((ssize_t)-2)
#define AUR_HTTP_STREAM_BLOCK 16384 /* the largest max more is asked for */
enum aur_http_next aur_http_respond_stream(struct aur_http_req *req, unsigned status, const char *content_type,
					   ssize_t (*more)(void *arg, char *buf, size_t max), void *arg,
					   unsigned idle_timeout_s);

/*
 * Have a stream's more called again soon: at once when it is parked, else
 * right after its current call returns 0. Any thread, until the request's
 * DONE phase has begun (the caller keeps track of that under its own lock).
 */
void aur_http_stream_wake(struct aur_http_req *req);

#endif
