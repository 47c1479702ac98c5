/*
 * harness.h - what the HTTP fuzz targets share (http_conn_fuzz,
 * http_mhd_fuzz, api_fuzz): a client that writes one input on one
 * connection and reads every answer, one connection served in
 * one-connection mode over a socketpair (as aurora-recv serves one under
 * inetd or tcpserver), the test routes both HTTP targets mount, and the
 * report of an answer that is not whole.
 *
 * Static inline functions, not a harness.c: scripts/fuzz builds each target
 * as one .c file, and the Makefile links each with tests/fuzz/replay.c only.
 * A target defines _GNU_SOURCE and includes this before "banned.h".
 */
#ifndef AURORA_FUZZ_HARNESS_H
#define AURORA_FUZZ_HARNESS_H

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http.h"

/* the most of the answers to one input that is kept */
#define FUZZ_OUT_MAX (4u * 1024 * 1024)

/* One client connection: the input it sends, and what came back (out holds FUZZ_OUT_MAX bytes). */
struct fuzz_peer {
	int fd;
	const uint8_t *data;
	size_t size;
	char *out;
	size_t len;
};

/* Write data[0..size) to fd, as far as the server reads, then shut the sending side. */
static inline void fuzz_send(int fd, const uint8_t *data, size_t size)
{
	size_t off = 0;

	while (off < size) {
		ssize_t n = send(fd, data + off, size - off, MSG_NOSIGNAL);

		if (n <= 0)
			break;
		off += (size_t)n;
	}
	shutdown(fd, SHUT_WR);
}

/* Read fd into out (FUZZ_OUT_MAX bytes) up to its end, an error or a full buffer: the bytes read. */
static inline size_t fuzz_recv(int fd, char *out)
{
	size_t len = 0;

	for (;;) {
		ssize_t n = recv(fd, out + len, FUZZ_OUT_MAX - len, 0);

		if (n <= 0 || (len += (size_t)n) == FUZZ_OUT_MAX)
			break;
	}
	return len;
}

/* A thread (arg: a struct fuzz_peer): sends its input, then reads every answer into its out. */
static inline void *fuzz_client(void *arg)
{
	struct fuzz_peer *p = arg;

	fuzz_send(p->fd, p->data, p->size);
	p->len = fuzz_recv(p->fd, p->out);
	return NULL;
}

/* A thread (arg: a struct fuzz_peer) that only sends: the caller reads. */
static inline void *fuzz_sender(void *arg)
{
	struct fuzz_peer *p = arg;

	fuzz_send(p->fd, p->data, p->size);
	return NULL;
}

/*
 * Serve one connection of h (remote: the client's address, or NULL) over a
 * socketpair whose other end fuzz_client writes data[0..size) into: p gets
 * what came back (p->out, p->len; the caller frees p->out). Aborts when the
 * socketpair, the buffer or the thread cannot be had. 0, or -1 with err set
 * when the server fails the connection (the client is left running: the
 * caller aborts).
 */
static inline int fuzz_serve_one(struct aur_http *h, const char *remote, const volatile sig_atomic_t *stop,
				 const uint8_t *data, size_t size, struct fuzz_peer *p, char *err, size_t errlen)
{
	pthread_t t;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		abort();
	p->fd = sv[1];
	p->data = data;
	p->size = size;
	p->out = malloc(FUZZ_OUT_MAX);
	p->len = 0;
	if (!p->out || pthread_create(&t, NULL, fuzz_client, p) != 0)
		abort();
	if (aur_http_start_connection(h, sv[0], remote, err, errlen) < 0 || aur_http_run_connection(h, stop) < 0)
		return -1;
	pthread_join(t, NULL);
	close(sv[1]);
	return 0;
}

/* Abort with what stands at byte bad of the answers out[0..len), where they stop being whole. */
static inline void fuzz_not_an_answer(const char *target, const char *out, size_t len, long bad)
{
	fprintf(stderr, "%s: not an answer at byte %ld of %zu:\n%.*s\n", target, bad, len,
		(int)(len - (size_t)bad < 200 ? len - (size_t)bad : 200), out + bad);
	abort();
}

/*
 * POST and PUT /body: at its head, ?answer=n answers 401, ?answer=c closes,
 * ?answer=x answers nothing (a bug of a handler: the layer answers 500);
 * else it reads the body and answers {"len": its length}. arg: NULL, or an
 * int that is not 0 for ?suspend to suspend the request once the body is in
 * and resume it at once, from this thread, as a writer that was quick would
 * (the accept loop; one-connection mode does not suspend).
 */
static inline enum aur_http_next fuzz_body_route(struct aur_http_req *req, enum aur_http_phase phase, void *arg)
{
	const int *may_suspend = arg;
	size_t len;
	const char *q;

	if (phase == AUR_HTTP_DONE)
		return AUR_HTTP_ANSWERED;
	if (phase == AUR_HTTP_HEADERS) {
		q = aur_http_query(req, "answer");
		if (q && *q == 'n')
			return aur_http_respond_error(req, 401, "no");
		if (q && *q == 'c')
			return AUR_HTTP_CLOSE;
		if (q && *q == 'x')
			return AUR_HTTP_ANSWERED;
		return aur_http_expect_body(req);
	}
	if (may_suspend && *may_suspend && phase == AUR_HTTP_BODY && aur_http_query(req, "suspend") &&
	    aur_http_suspend(req) == 0) {
		aur_http_resume(req);
		return AUR_HTTP_SUSPENDED;
	}
	aur_http_body(req, &len);
	return aur_http_respond_json(req, 200, jv_object_set(jv_object(), jv_string("len"), jv_number((double)len)));
}

/*
 * GET /look/{}: answers what the lookups found (query argument a, cookie
 * session, header X-Test, the first unknown query argument), the parameter
 * and the remote address, with a header added. Aborts when a "." or ".."
 * segment, plain or %2E, reached the parameter: the framing policy.
 */
static inline enum aur_http_next fuzz_lookup_route(struct aur_http_req *req, enum aur_http_phase phase, void *arg)
{
	static const char *const known[] = { "a", "b", NULL };
	const char *v[4];
	jv out;

	(void)arg;
	if (phase == AUR_HTTP_DONE)
		return AUR_HTTP_ANSWERED;
	out = jv_object();
	v[0] = aur_http_query(req, "a");
	v[1] = aur_http_cookie(req, "session");
	v[2] = aur_http_header(req, "X-Test");
	v[3] = aur_http_query_other(req, known);
	for (int i = 0; i < 4; i++)
		out = jv_object_set(out, jv_string_fmt("v%d", i), v[i] ? jv_string(v[i]) : jv_null());
	if (!strcmp(aur_http_param(req, 0), ".") || !strcmp(aur_http_param(req, 0), ".."))
		abort();
	out = jv_object_set(out, jv_string("param"), jv_string(aur_http_param(req, 0)));
	out = jv_object_set(out, jv_string("remote"), jv_string(aur_http_remote(req)));
	aur_http_add_header(req, "X-Fuzz", "1");
	return aur_http_respond_json(req, 200, out);
}

/* The source of GET /stream's events (arg: an int, the events left): "data: N", down to 0. */
static inline ssize_t fuzz_stream_more(void *arg, char *buf, size_t max)
{
	int *left = arg;

	if (*left == 0)
		return AUR_HTTP_STREAM_END;
	(*left)--;
	snprintf(buf, max, "data: %d\n\n", *left);
	return (ssize_t)strlen(buf);
}

#endif
