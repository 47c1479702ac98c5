/*
 * http_mhd.c - the accept loop of the HTTP layer: libmicrohttpd's threads,
 * epoll, suspend/resume, parked streams (http.h).
 *
 * libmicrohttpd is not linked: loading it and its TLS chain (gnutls,
 * p11-kit, nettle, gmp, ...) costs a short process more than its whole
 * own work, and one-connection mode (one process per connection) does not
 * need it. It is opened with dlopen when an accept loop starts, and the
 * functions this file calls are resolved into a table held by the server,
 * typed from <microhttpd.h>: the declarations stay the build's, only the
 * linking moves to run time, as systemd does with its optional libraries.
 *
 * libmicrohttpd 0.9.75 frames a request more leniently than one-connection
 * mode (the first of two Content-Lengths wins, codings it does not know are
 * read to the end of the connection, NUL bytes cut strings short unseen):
 * before any body, start() puts what it parsed through the same framing
 * policy (http_parse.h) and refuses the rest in JSON, closing the
 * connection; aurora-recv(1), HTTP FRAMING, lists what 0.9.75 still answers
 * itself.
 */
#define _GNU_SOURCE

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "buf.h"
#include "http.h"
#include "http_impl.h"
#include "http_parse.h"
#include "log.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

#define MHD_SONAME "libmicrohttpd.so.12"
#define MHD_PACKAGE "libmicrohttpd12"

/* The functions of libmicrohttpd this file calls, resolved at run time. */
struct mhd_api {
	void *dl;
	__typeof__(MHD_start_daemon) *start_daemon;
	__typeof__(MHD_stop_daemon) *stop_daemon;
	__typeof__(MHD_quiesce_daemon) *quiesce_daemon;
	__typeof__(MHD_get_connection_values) *get_connection_values;
	__typeof__(MHD_lookup_connection_value) *lookup_connection_value;
	__typeof__(MHD_set_connection_option) *set_connection_option;
	__typeof__(MHD_get_connection_info) *get_connection_info;
	__typeof__(MHD_suspend_connection) *suspend_connection;
	__typeof__(MHD_resume_connection) *resume_connection;
	__typeof__(MHD_create_response_from_buffer) *create_response_from_buffer;
	__typeof__(MHD_create_response_from_callback) *create_response_from_callback;
	__typeof__(MHD_add_response_header) *add_response_header;
	__typeof__(MHD_queue_response) *queue_response;
	__typeof__(MHD_destroy_response) *destroy_response;
};

#define SYM(f) { "MHD_" #f, offsetof(struct mhd_api, f) }
static const struct {
	const char *name;
	size_t off;
} mhd_symbols[] = {
	SYM(start_daemon),          SYM(stop_daemon),
	SYM(quiesce_daemon),        SYM(get_connection_values),
	SYM(lookup_connection_value), SYM(set_connection_option),
	SYM(get_connection_info),   SYM(suspend_connection),
	SYM(resume_connection),     SYM(create_response_from_buffer),
	SYM(create_response_from_callback), SYM(add_response_header),
	SYM(queue_response),        SYM(destroy_response),
};
#undef SYM

/* Open libmicrohttpd and fill h->mhd. 0, or -EIO with err set. */
static int mhd_load(struct aur_http *h, char *err, size_t errlen)
{
	struct mhd_api *m = aur_xcalloc(1, sizeof(*m));
	const char *why;

	m->dl = dlopen(MHD_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!m->dl) {
		why = dlerror();
		snprintf(err, errlen, "the accept loop needs %s (Debian package %s), which cannot be loaded: %s",
			 MHD_SONAME, MHD_PACKAGE, why ? why : "unknown error");
		free(m);
		return -EIO;
	}
	for (size_t i = 0; i < sizeof(mhd_symbols) / sizeof(mhd_symbols[0]); i++) {
		void *p = dlsym(m->dl, mhd_symbols[i].name);

		if (!p) {
			snprintf(err, errlen, "%s (Debian package %s) has no %s: is it too old?", MHD_SONAME,
				 MHD_PACKAGE, mhd_symbols[i].name);
			dlclose(m->dl);
			free(m);
			return -EIO;
		}
		/* a data pointer into a function pointer, as POSIX promises dlsym may */
		memcpy((char *)m + mhd_symbols[i].off, &p, sizeof(p));
	}
	h->mhd = m;
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
	req->h->mhd->set_connection_option(req->conn, MHD_CONNECTION_OPTION_TIMEOUT, req->h->o.read_timeout_s);
}

static enum MHD_Result internal_error(struct aur_http_req *req, const char *what)
{
	aur_http_say(req->h, AUR_LOG_ERROR, "%s %s: %s", req->method_name, req->path, what);
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
		req->deadline_ms = aur_time_mono_ms() + (long long)req->h->o.body_timeout_s * 1000;
		aur_buf_init(&req->body, req->h->o.max_body);
		aur_http_watch_wait(req->h->watch, req->watched, WATCH_BODY);
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

/*
 * Framing, one policy with one-connection mode (http_parse.h): every header
 * field as received, repeated ones each on their own, goes through
 * http_framing_field before a body is accepted. libmicrohttpd 0.9.75 frames
 * by the first Content-Length or Transfer-Encoding and reads on; aurora
 * refuses the request instead, and closes the connection, so that nothing
 * after it (a request smuggled in a body) is read.
 */
struct framing_scan {
	struct http_framing f;
	unsigned status;
	char why[160];
};

static enum MHD_Result scan_field(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct framing_scan *s = cls;

	(void)kind;
	s->status = http_framing_field(&s->f, key ? key : "", value ? value : "", s->why, sizeof(s->why));
	return s->status ? MHD_NO : MHD_YES;
}

/*
 * libmicrohttpd 0.9.75 parses the head in place and hands out C strings: a
 * NUL byte in the request line or in a field cuts a string short unseen,
 * and an obsolete folded line is glued onto its field's name. It writes a
 * NUL over the space after the method and over the CR and LF that end a
 * line, and keeps a field value's trailing whitespace in the value. So
 * between the end of one string it handed out and the start of the next
 * there is exactly one NUL (after the method) or a line end (one or two
 * NULs): anything else there is a byte the strings did not show. Judged
 * only where the two lie in order and close together, as 0.9.75 lays out a
 * head: a string stored elsewhere (a later version's copy) is not.
 */
#define LAYOUT_GAP_MAX 256

struct layout_scan {
	const char *prev_end; /* the end of the last string handed out, in the head */
	int dirty;
};

/* The bytes from l->prev_end to next: from min to max of them, each a NUL, CR or LF. */
static void layout_gap(struct layout_scan *l, const char *next, size_t min, size_t max)
{
	uintptr_t from = (uintptr_t)l->prev_end;
	uintptr_t to = (uintptr_t)next;

	if (!l->prev_end || to <= from || to - from > LAYOUT_GAP_MAX)
		return;
	if (to - from < min || to - from > max)
		l->dirty = 1;
	for (size_t i = 0; i < to - from; i++) {
		char ch = l->prev_end[i];

		if (ch != '\0' && ch != '\r' && ch != '\n')
			l->dirty = 1;
	}
}

static enum MHD_Result layout_field(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct layout_scan *l = cls;

	(void)kind;
	if (!key || !value)
		return MHD_YES;
	layout_gap(l, key, 1, 2);
	l->prev_end = value + strlen(value);
	return MHD_YES;
}

/* 1 when the head holds a NUL byte or a folded line libmicrohttpd did not show. */
static int head_dirty(struct aur_http_req *req, const char *version)
{
	struct aur_http *h = req->h;
	struct layout_scan l = { NULL, 0 };
	const union MHD_ConnectionInfo *size =
		h->mhd->get_connection_info(req->conn, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);

	l.prev_end = req->method_name + strlen(req->method_name);
	layout_gap(&l, req->path, 1, 1);
	l.prev_end = version + strlen(version);
	h->mhd->get_connection_values(req->conn, MHD_HEADER_KIND, layout_field, &l);
	/* the last line end and the empty line */
	if (size)
		layout_gap(&l, req->method_name + size->header_size, 2, 4);
	return l.dirty;
}

/* A framing error: answered in JSON, and the connection ends with it. */
static enum MHD_Result refuse(struct aur_http_req *req, unsigned status, const char *why)
{
	aur_http_say(req->h, AUR_LOG_INFO, "%s %s: %u %s", req->method_name, req->path, status, why);
	aur_http_add_header(req, "Connection", "close");
	aur_http_respond_error(req, status, "%s", why);
	return req->state == ST_ANSWERED ? MHD_YES : MHD_NO;
}

static enum MHD_Result start(struct aur_http_req *req, const char *version, const char *line_fault)
{
	struct aur_http *h = req->h;
	struct header_tally t = { 0, 0 };
	struct framing_scan fs;

	if (line_fault)
		return refuse(req, 400, line_fault);
	t.bytes = strlen(req->method_name) + strlen(req->path) + 12;
	h->mhd->get_connection_values(req->conn, MHD_HEADER_KIND | MHD_GET_ARGUMENT_KIND, tally_header, &t);
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
	if (head_dirty(req, version))
		return refuse(req, 400, "a NUL byte, obsolete line folding or a malformed line in the request head");
	memset(&fs, 0, sizeof(fs));
	h->mhd->get_connection_values(req->conn, MHD_HEADER_KIND, scan_field, &fs);
	if (!fs.status)
		fs.status = http_framing_end(&fs.f, strcmp(version, "HTTP/1.0") != 0, fs.why, sizeof(fs.why));
	if (fs.status)
		return refuse(req, fs.status, fs.why);
	if (!aur_http_req_route(req))
		return req->state == ST_ANSWERED ? MHD_YES : MHD_NO;
	return apply(req, req->route->handler(req, AUR_HTTP_HEADERS, req->route->arg), AUR_HTTP_HEADERS);
}

static enum MHD_Result take_body(struct aur_http_req *req, const char *data, size_t n)
{
	struct aur_http *h = req->h;
	long long now = aur_time_mono_ms();
	long long left = req->deadline_ms - now;
	size_t discard_cap = aur_http_discard_cap(h);

	if (left <= 0) {
		aur_http_say(h, AUR_LOG_INFO, "%s %s: body not complete within %u s, closing", req->method_name,
			     req->path, h->o.body_timeout_s);
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
			aur_http_say(h, AUR_LOG_INFO, "%s %s: body passed %zu bytes, closing", req->method_name,
				     req->path, discard_cap);
			return MHD_NO;
		}
	}
	/* the idle timer now counts down to the body's deadline */
	h->mhd->set_connection_option(req->conn, MHD_CONNECTION_OPTION_TIMEOUT, (unsigned)((left + 999) / 1000));
	return MHD_YES;
}

/*
 * The request target as received, before libmicrohttpd splits and decodes
 * it (the path of the handler is decoded): what is wrong with it comes back
 * as a mark, a pointer into line_marks that libmicrohttpd hands to
 * on_request as its *con_cls, so the request is refused there in JSON.
 */
enum {
	MARK_TARGET_CHAR = HTTP_PATH_FAULTS, /* after the path faults of http_parse.h */
	MARK_LINE_NUL,
	MARKS
};
static const char line_marks[MARKS];

/* The reason for a mark, or NULL when p is none (a request, or NULL). */
static const char *line_fault(const void *p)
{
	for (int i = 1; i < MARKS; i++) {
		if (p != &line_marks[i])
			continue;
		if (i == MARK_TARGET_CHAR)
			return "malformed request line: invalid character in the target";
		if (i == MARK_LINE_NUL)
			return "malformed request line: a NUL byte, or more than one space before the version";
		return http_path_fault_text((enum http_path_fault)i);
	}
	return NULL;
}

static void *check_target(void *cls, const char *uri, struct MHD_Connection *conn)
{
	static const char version[] = "HTTP/";
	size_t len = strlen(uri);
	enum http_path_fault fault;

	(void)cls;
	(void)conn;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)uri[i] <= ' ' || uri[i] == 0x7f)
			return (void *)&line_marks[MARK_TARGET_CHAR];
	/*
	 * libmicrohttpd ended the target with a NUL where the space before the
	 * version was (0.9.75 parses in place); another NUL ended it earlier
	 * when what follows is not the version. The line is all in the buffer,
	 * and the comparison stops at its first difference.
	 */
	for (size_t i = 0; i < sizeof(version) - 1; i++)
		if (uri[len + 1 + i] != version[i])
			return (void *)&line_marks[MARK_LINE_NUL];
	fault = http_path_fault(uri, strcspn(uri, "?"));
	return fault == HTTP_PATH_OK ? NULL : (void *)&line_marks[fault];
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct aur_http *h = cls;
	struct aur_http_req *req = *con_cls;

	if (!req || line_fault(req)) {
		const char *fault = line_fault(req);
		const union MHD_ConnectionInfo *info =
			h->mhd->get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
		struct watch_conn *watched = info ? info->socket_context : NULL;

		/* the head is in; the watch may have cut the connection off just before */
		if (aur_http_watch_done(h->watch, watched) < 0) {
			*con_cls = NULL;
			return MHD_NO;
		}
		req = aur_http_req_new(h, method, url);
		req->conn = conn;
		req->watched = watched;
		*con_cls = req;
		return start(req, version, fault);
	}
	switch (req->state) {
	case ST_BODY:
		if (*upload_size) {
			enum MHD_Result rc = take_body(req, upload, *upload_size);

			*upload_size = 0;
			return rc;
		}
		req->state = ST_HANDLER;
		/* the body is in; cut off by the watch just before, it is neither stored nor answered */
		if (aur_http_watch_done(h->watch, req->watched) < 0)
			return MHD_NO;
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
	if (!req || line_fault(req)) {
		*con_cls = NULL;
		return;
	}
	*con_cls = NULL;
	/* answered, the connection stays: its next request head has its own deadline from now */
	if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
		aur_http_watch_wait(h->watch, req->watched, WATCH_HEAD);
	aur_http_req_end(req);
}

/* Connections come to the watch when they open and leave it when they close. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct aur_http *h = cls;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *info =
			h->mhd->get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);

		*socket_context = info ? aur_http_watch_open(h->watch, info->connect_fd) : NULL;
		return;
	}
	aur_http_watch_close(h->watch, *socket_context);
	*socket_context = NULL;
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
	struct MHD_OptionItem ops[10];
	unsigned n = 0;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
			 MHD_USE_ERROR_LOG;
	int fl = fcntl(fd, F_GETFL);
	int rc;

	/* several workers accept on it: a blocking accept would stall one */
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		snprintf(err, errlen, "listening socket: %s", strerror(errno));
		return -EIO;
	}
	if (!h->mhd && mhd_load(h, err, errlen) < 0)
		return -EIO;
	h->be = &aur_http_mhd_backend;
	/*
	 * Before the daemon starts: its workers serve requests while
	 * MHD_start_daemon is still starting the others, and a handler told
	 * it cannot suspend would answer a delivery the writer still holds.
	 */
	h->can_suspend = 1;
	rc = aur_http_watch_new(&h->watch, h);
	if (rc < 0) {
		h->can_suspend = 0;
		snprintf(err, errlen, "cannot start the connection watch: %s", strerror(-rc));
		return -EIO;
	}
	ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_LISTEN_SOCKET, fd, NULL };
	ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT, h->o.max_connections, NULL };
	ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT, h->o.read_timeout_s, NULL };
	ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)pool_size(h),
					    NULL };
	if (h->o.max_per_address > 0)
		ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_PER_IP_CONNECTION_LIMIT, h->o.max_per_address,
						    NULL };
	if (h->o.threads > 1)
		ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_THREAD_POOL_SIZE, h->o.threads, NULL };
	ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
	/* the logger goes first, or libmicrohttpd prints to stderr before it is set */
	h->d = h->mhd->start_daemon(flags, 0, NULL, NULL, on_request, h,
				    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
				    MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
				    MHD_OPTION_URI_LOG_CALLBACK, check_target, h,
				    MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
				    MHD_OPTION_ARRAY, ops,
				    MHD_OPTION_END);
	if (!h->d) {
		h->can_suspend = 0;
		aur_http_watch_free(h->watch);
		h->watch = NULL;
		snprintf(err, errlen, "libmicrohttpd did not start on the listening socket");
		return -EIO;
	}
	h->listen_fd = fd;
	return 0;
}

/*
 * Stop accepting. The socket stays open until the daemon has stopped: its
 * workers may still be about to accept on it (libmicrohttpd's manual), and
 * a number closed now could be reused by another file they would then
 * accept on. From now on every answer says Connection: close, so kept-alive
 * clients go elsewhere instead of sending more to a receiver that is going.
 */
static void mhd_quiesce(struct aur_http *h)
{
	if (!h->d || h->listen_fd < 0)
		return;
	atomic_store(&h->draining, 1);
	h->quiesced_fd = h->mhd->quiesce_daemon(h->d);
	h->listen_fd = -1;
}

static void mhd_stop(struct aur_http *h)
{
	if (!h->mhd)
		return;
	if (h->d)
		h->mhd->stop_daemon(h->d);
	h->d = NULL;
	if (h->quiesced_fd >= 0)
		close(h->quiesced_fd);
	h->quiesced_fd = -1;
	aur_http_watch_free(h->watch);
	h->watch = NULL;
	dlclose(h->mhd->dl);
	free(h->mhd);
	h->mhd = NULL;
}

static const char *mhd_value(const struct aur_http_req *req, enum http_kind kind, const char *name)
{
	enum MHD_ValueKind k = kind == HTTP_KIND_HEADER ? MHD_HEADER_KIND
			       : kind == HTTP_KIND_QUERY ? MHD_GET_ARGUMENT_KIND
							 : MHD_COOKIE_KIND;

	return req->h->mhd->lookup_connection_value(req->conn, k, name);
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

static const char *mhd_query_other(const struct aur_http_req *req, const char *const *known)
{
	struct query_scan q = { known, NULL };

	req->h->mhd->get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, find_other, &q);
	return q.other;
}

static int mhd_socket(const struct aur_http_req *req)
{
	const union MHD_ConnectionInfo *info =
		req->h->mhd->get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);

	return info ? info->connect_fd : -1;
}

static const struct sockaddr *mhd_peer(const struct aur_http_req *req)
{
	const union MHD_ConnectionInfo *info =
		req->h->mhd->get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

	return info ? info->client_addr : NULL;
}

static void mhd_suspend(struct aur_http_req *req)
{
	req->h->mhd->suspend_connection(req->conn);
}

static void mhd_resume(struct aur_http_req *req)
{
	req->h->mhd->resume_connection(req->conn);
}

/* Queue resp with the content type and the extra headers; 0 or -1. Consumes resp. */
static int queue(struct aur_http_req *req, unsigned status, const char *content_type, struct MHD_Response *resp)
{
	const struct mhd_api *m = req->h->mhd;
	enum MHD_Result ok;

	if (!resp)
		return -1;
	m->add_response_header(resp, "Content-Type", content_type);
	for (unsigned i = 0; aur_http_security_headers[i][0]; i++)
		m->add_response_header(resp, aur_http_security_headers[i][0], aur_http_security_headers[i][1]);
	for (unsigned i = 0; i < req->nextra; i++)
		m->add_response_header(resp, req->extra[i][0], req->extra[i][1]);
	if (atomic_load(&req->h->draining))
		m->add_response_header(resp, "Connection", "close");
	ok = m->queue_response(req->conn, status, resp);
	m->destroy_response(resp);
	return ok == MHD_YES ? 0 : -1;
}

static int mhd_queue(struct aur_http_req *req, unsigned status, const char *content_type, const void *body,
		     size_t len)
{
	struct MHD_Response *resp =
		req->h->mhd->create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);

	if (queue(req, status, content_type, resp) < 0)
		return -1;
	restore_timeout(req);
	return 0;
}

/*
 * libmicrohttpd asks a streamed answer for more. When the handler's
 * callback has nothing, the connection is suspended (parked) and takes no
 * thread until aur_http_stream_wake; a wake that lands while the callback
 * runs makes it ask once more instead, so none is lost.
 */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct aur_http_req *req = cls;
	struct aur_http *h = req->h;
	ssize_t n;

	(void)pos;
	for (;;) {
		pthread_mutex_lock(&h->park_mu);
		req->woken = 0;
		pthread_mutex_unlock(&h->park_mu);
		n = req->more(req->more_arg, buf, max);
		if (n != 0)
			break;
		pthread_mutex_lock(&h->park_mu);
		if (!req->woken) {
			req->parked = 1;
			atomic_fetch_add(&h->parked, 1);
			h->mhd->suspend_connection(req->conn);
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

static int mhd_queue_stream(struct aur_http_req *req, unsigned status, const char *content_type,
			    unsigned idle_timeout_s)
{
	struct MHD_Response *resp = req->h->mhd->create_response_from_callback(
		MHD_SIZE_UNKNOWN, AUR_HTTP_STREAM_BLOCK, stream_read, req, NULL);

	if (queue(req, status, content_type, resp) < 0)
		return -1;
	req->h->mhd->set_connection_option(req->conn, MHD_CONNECTION_OPTION_TIMEOUT, idle_timeout_s);
	return 0;
}

static void mhd_wake(struct aur_http_req *req)
{
	struct aur_http *h = req->h;

	pthread_mutex_lock(&h->park_mu);
	if (req->parked) {
		req->parked = 0;
		atomic_fetch_sub(&h->parked, 1);
		h->mhd->resume_connection(req->conn);
	} else {
		req->woken = 1;
	}
	pthread_mutex_unlock(&h->park_mu);
}

const struct http_backend aur_http_mhd_backend = {
	.value = mhd_value,
	.query_other = mhd_query_other,
	.socket = mhd_socket,
	.peer = mhd_peer,
	.queue = mhd_queue,
	.queue_stream = mhd_queue_stream,
	.suspend = mhd_suspend,
	.resume = mhd_resume,
	.wake = mhd_wake,
	.quiesce = mhd_quiesce,
	.stop = mhd_stop,
};
