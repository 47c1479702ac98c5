/*
 * http_conn_fuzz - libFuzzer target for one-connection mode's HTTP/1.1
 * server (lib/http_conn.c, lib/http_parse.c).
 *
 * One input is everything a client sends on one connection. A thread
 * writes it into one end of a socketpair, shuts its sending side and reads
 * every answer; the server serves the other end, as aurora-recv does under
 * tcpserver, with routes that read bodies (Content-Length and chunked),
 * look up headers, query arguments and cookies, and stream. Beyond the
 * sanitizers it checks that what came back is a sequence of whole answers,
 * each starting with "HTTP/1.1 ", and that no "." or ".." segment, plain or
 * percent-encoded, reaches a route's parameter.
 *
 * Built and run by scripts/fuzz (make fuzz).
 */
#define _GNU_SOURCE

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OUT_MAX (4u * 1024 * 1024)

struct peer {
	int fd;
	const uint8_t *data;
	size_t size;
	char *out;
	size_t len;
};

static void *client(void *arg)
{
	struct peer *p = arg;
	size_t off = 0;

	while (off < p->size) {
		ssize_t n = send(p->fd, p->data + off, p->size - off, MSG_NOSIGNAL);

		if (n <= 0)
			break;
		off += (size_t)n;
	}
	shutdown(p->fd, SHUT_WR);
	for (;;) {
		ssize_t n = recv(p->fd, p->out + p->len, OUT_MAX - p->len, 0);

		if (n <= 0 || (p->len += (size_t)n) == OUT_MAX)
			break;
	}
	return NULL;
}

static enum aur_http_next body_route(struct aur_http_req *req, enum aur_http_phase phase, void *arg)
{
	size_t len;
	const char *q;

	(void)arg;
	if (phase == AUR_HTTP_DONE)
		return AUR_HTTP_ANSWERED;
	if (phase == AUR_HTTP_HEADERS) {
		q = aur_http_query(req, "answer");
		if (q && *q == 'n')
			return aur_http_respond_error(req, 401, "no");
		if (q && *q == 'c')
			return AUR_HTTP_CLOSE;
		if (q && *q == 'x')
			return AUR_HTTP_ANSWERED; /* a bug of a handler: the layer answers 500 */
		return aur_http_expect_body(req);
	}
	aur_http_body(req, &len);
	return aur_http_respond_json(req, 200, jv_object_set(jv_object(), jv_string("len"), jv_number((double)len)));
}

static enum aur_http_next lookup_route(struct aur_http_req *req, enum aur_http_phase phase, void *arg)
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
	/* the framing policy: a dot segment (plain or %2E) never reaches a route */
	if (!strcmp(aur_http_param(req, 0), ".") || !strcmp(aur_http_param(req, 0), ".."))
		abort();
	out = jv_object_set(out, jv_string("param"), jv_string(aur_http_param(req, 0)));
	out = jv_object_set(out, jv_string("remote"), jv_string(aur_http_remote(req)));
	aur_http_add_header(req, "X-Fuzz", "1");
	return aur_http_respond_json(req, 200, out);
}

static ssize_t more(void *arg, char *buf, size_t max)
{
	int *left = arg;

	if (*left == 0)
		return AUR_HTTP_STREAM_END;
	(*left)--;
	snprintf(buf, max, "data: %d\n\n", *left);
	return (ssize_t)strlen(buf);
}

static enum aur_http_next stream_route(struct aur_http_req *req, enum aur_http_phase phase, void *arg)
{
	if (phase == AUR_HTTP_DONE)
		return AUR_HTTP_ANSWERED;
	*(int *)arg = 3;
	return aur_http_respond_stream(req, 200, "text/event-stream", more, arg, 1);
}

/* The answers in out[0..len) are whole, one after another: -1 where they are not. */
static long check(const char *out, size_t len)
{
	size_t pos = 0;

	while (pos < len) {
		const char *head = out + pos;
		const char *end;
		const char *cl;
		size_t hlen;
		unsigned long long n = 0;

		if (len - pos < 9 || memcmp(head, "HTTP/1.1 ", 9))
			return (long)pos;
		end = memmem(head, len - pos, "\r\n\r\n", 4);
		if (!end)
			return (long)pos;
		hlen = (size_t)(end - head) + 4;
		pos += hlen;
		if (!memcmp(head + 9, "100 ", 4))
			continue;
		cl = memmem(head, hlen, "\r\nContent-Length: ", 18);
		if (memmem(head, hlen, "\r\nTransfer-Encoding: chunked\r\n", 30)) {
			/* a stream (or its HEAD, with no chunks): up to the zero chunk */
			const char *z = memmem(out + pos, len - pos, "0\r\n\r\n", 5);

			if (pos < len && memcmp(out + pos, "HTTP/1.1 ", 9))
				pos = z ? (size_t)(z - out) + 5 : len;
			continue;
		}
		if (!cl) {
			pos = len; /* HTTP/1.0 stream: the rest is its body */
			continue;
		}
		n = strtoull(cl + 18, NULL, 10);
		/* bodies are JSON objects; HEAD gets none */
		if (pos < len && out[pos] == '{') {
			if (n > len - pos)
				return (long)pos;
			pos += n;
		}
	}
	return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static volatile sig_atomic_t stop;
	struct aur_http_options o;
	struct aur_http *h = NULL;
	struct peer p;
	pthread_t t;
	char err[256];
	int sv[2];
	int left = 0;
	long bad;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		abort();
	aur_http_options_init(&o);
	o.read_timeout_s = 1;
	o.max_body = 4096;
	o.max_header_bytes = 1024;
	o.max_headers = 16;
	aur_http_new(&h, &o);
	aur_http_route(h, AUR_HTTP_POST | AUR_HTTP_PUT, "/body", body_route, NULL);
	aur_http_route(h, AUR_HTTP_GET, "/look/{}", lookup_route, NULL);
	aur_http_route(h, AUR_HTTP_GET, "/stream", stream_route, &left);
	p.fd = sv[1];
	p.data = data;
	p.size = size;
	p.out = malloc(OUT_MAX);
	p.len = 0;
	if (!p.out || pthread_create(&t, NULL, client, &p) != 0)
		abort();
	if (aur_http_start_connection(h, sv[0], NULL, err, sizeof(err)) < 0 ||
	    aur_http_run_connection(h, &stop) < 0)
		abort();
	pthread_join(t, NULL);
	aur_http_free(h);
	close(sv[1]);
	bad = check(p.out, p.len);
	if (bad >= 0) {
		fprintf(stderr, "http_conn_fuzz: not an answer at byte %ld of %zu:\n%.*s\n", bad, p.len,
			(int)(p.len - (size_t)bad < 200 ? p.len - (size_t)bad : 200), p.out + bad);
		abort();
	}
	free(p.out);
	return 0;
}
