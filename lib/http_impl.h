/*
 * http_impl.h - the private half of http.h, shared by the files of the one
 * HTTP module and included by nothing else:
 *   http.c       routes, requests and answers: what both modes share
 *   http_mhd.c   the accept loop, over libmicrohttpd loaded with dlopen
 *   http_conn.c  one connection, served by aurora's own HTTP/1.1 code
 *   http_parse.c that code's parser (request head, query, cookies, chunks)
 *   http_watch.c the accept loop's deadlines and cap for connections still
 *                reading a request
 * A server is one mode or the other; its backend (a table of functions)
 * does what differs: where headers come from, how an answer is sent.
 */
#ifndef AURORA_HTTP_IMPL_H
#define AURORA_HTTP_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/socket.h>

#include "buf.h"
#include "http.h"

#define MAX_EXTRA_HEADERS 4

struct MHD_Daemon;
struct MHD_Connection;
struct mhd_api;
struct http_conn;
struct http_watch;
struct watch_conn;

struct route {
	unsigned methods;
	const char *pattern;
	enum aur_http_next (*handler)(struct aur_http_req *req, enum aur_http_phase phase, void *arg);
	void *arg;
};

/* Where a looked-up value comes from. */
enum http_kind { HTTP_KIND_HEADER, HTTP_KIND_QUERY, HTTP_KIND_COOKIE };

struct http_backend {
	/* the first value of name (case-insensitive), or NULL */
	const char *(*value)(const struct aur_http_req *req, enum http_kind kind, const char *name);
	/* the first query argument whose name is not in known, or NULL */
	const char *(*query_other)(const struct aur_http_req *req, const char *const *known);
	int (*socket)(const struct aur_http_req *req);
	/* the peer's address, or NULL */
	const struct sockaddr *(*peer)(const struct aur_http_req *req);
	/* queue an answer (body copied) or a stream (req->more); 0 or -1 */
	int (*queue)(struct aur_http_req *req, unsigned status, const char *content_type, const void *body,
		     size_t len);
	int (*queue_stream)(struct aur_http_req *req, unsigned status, const char *content_type,
			    unsigned idle_timeout_s);
	void (*suspend)(struct aur_http_req *req);
	void (*resume)(struct aur_http_req *req);
	void (*wake)(struct aur_http_req *req);
	void (*quiesce)(struct aur_http *h);
	/* close every connection (their requests end with DONE) and free the backend's part */
	void (*stop)(struct aur_http *h);
};

extern const struct http_backend aur_http_mhd_backend;
extern const struct http_backend aur_http_conn_backend;

struct aur_http {
	struct aur_http_options o;
	struct route routes[AUR_HTTP_MAX_ROUTES];
	unsigned nroutes;
	const struct http_backend *be; /* NULL until started */
	struct mhd_api *mhd;           /* accept loop: libmicrohttpd's functions */
	struct MHD_Daemon *d;
	struct http_watch *watch;      /* accept loop: connections reading a request */
	int listen_fd;                 /* accept loop: until quiesced */
	int quiesced_fd;               /* accept loop: the listening socket, closed after the stop */
	atomic_int draining;           /* accept loop: quiesced; answers close their connection */
	int can_suspend;
	struct http_conn *c;           /* one-connection mode */
	char remote[64];               /* one-connection mode: the peer, when given */
	atomic_uint active;
	atomic_uint suspended;
	atomic_uint parked;            /* streams waiting for aur_http_stream_wake */
	pthread_mutex_t park_mu;       /* the parked and woken flags of every stream */
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
	struct MHD_Connection *conn; /* accept loop */
	struct watch_conn *watched;  /* accept loop: the connection's entry in the watch */
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

/* A diagnostic through the options' log, if any. */
void aur_http_say(const struct aur_http *h, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A request begun (counted in active); method and path borrowed until aur_http_req_end. */
struct aur_http_req *aur_http_req_new(struct aur_http *h, const char *method, const char *path);

/*
 * Find the request's route and fill its parameters: 1. 0 when no route
 * takes it and a 404 or 405 answer was queued (or could not be).
 */
int aur_http_req_route(struct aur_http_req *req);

/* The request is over: the DONE phase, the counters, then req is freed. */
void aur_http_req_end(struct aur_http_req *req);

/* The largest body a sender may go on with past the limit before it is cut off. */
size_t aur_http_discard_cap(const struct aur_http *h);

/* "OK", "Not Found", ...: the reason phrase of a status. */
const char *aur_http_reason(unsigned status);

/*
 * The headers every answer of this layer carries, whichever the mode
 * (name, value pairs, ending with NULL): a Content-Security-Policy that
 * allows nothing inline and no framing, nosniff, no Referer sent on.
 */
extern const char *const aur_http_security_headers[][2];

/*
 * The accept loop's watch (http_watch.c): each connection waits for a
 * request head (from its opening, and again after each answer) within the
 * head timeout and for a body within the body timeout, else its socket is
 * shut down; past max_reading connections waiting, the one waiting longest
 * is shut down, new connections before those answered once. Every function but _new and _free may be called from any
 * worker thread; those taking a NULL watch or entry do nothing.
 */
enum watch_phase { WATCH_HEAD = 0, WATCH_BODY = 1 };

/* Start the watch and its thread for h's options: 0, or -errno. */
int aur_http_watch_new(struct http_watch **out, struct aur_http *h);
/* Stop the thread and free; after the server stopped (no connection left). NULL-safe. */
void aur_http_watch_free(struct http_watch *w);
/* A connection opened on socket fd: its entry (waiting for a head), freed by _close. */
struct watch_conn *aur_http_watch_open(struct http_watch *w, int fd);
/* The connection closed, before its socket is: the entry is freed. */
void aur_http_watch_close(struct http_watch *w, struct watch_conn *c);
/* The connection waits for phase from now (WATCH_HEAD: after an answer). */
void aur_http_watch_wait(struct http_watch *w, struct watch_conn *c, enum watch_phase phase);
/* Connections that may have a request on its way: new ones, and those reading a body. */
unsigned aur_http_watch_reading(struct http_watch *w);
/* It has what it waited for: 0, or -1 when it was shut down already (close it, unanswered). */
int aur_http_watch_done(struct http_watch *w, struct watch_conn *c);

#endif
