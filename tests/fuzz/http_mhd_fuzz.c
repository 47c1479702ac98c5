/*
 * http_mhd_fuzz - libFuzzer target for the accept loop's request handling
 * (lib/http_mhd.c over libmicrohttpd, lib/http.c, lib/http_watch.c): the
 * checks aurora puts around libmicrohttpd's parser (the target as
 * received, NUL bytes and folded lines in the head, the framing policy,
 * the header limits, bodies past the limit) and the routes behind them.
 *
 * One server listens on 127.0.0.1 for the whole run, with a thread pool
 * and epoll as aurora-recv runs it. One input is everything a client sends
 * on one TCP connection: a thread writes it, shuts its sending side and
 * reads every answer. Routes read bodies (Content-Length and chunked),
 * look up headers, query arguments and cookies, suspend and resume, and
 * stream. Beyond the sanitizers it checks that what came back is empty or
 * starts as an HTTP/1.1 answer, that every answer of aurora's own is whole
 * (its Content-Length), and that no "." or ".." segment, plain or
 * percent-encoded, reaches a route's parameter.
 *
 * Built and run by scripts/fuzz (make fuzz) and replayed by make check.
 */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "http.h"
#include "banned.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OUT_MAX (4u * 1024 * 1024)

static struct aur_http *server;
static struct sockaddr_in addr;

struct peer {
	int fd;
	const uint8_t *data;
	size_t size;
};

static void *sender(void *arg)
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
	if (phase == AUR_HTTP_BODY && aur_http_query(req, "suspend") && aur_http_suspend(req) == 0) {
		/* resumed at once, from this thread, as a writer that was quick would */
		aur_http_resume(req);
		return AUR_HTTP_SUSPENDED;
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
	int *left;

	(void)arg;
	if (phase == AUR_HTTP_DONE) {
		free(aur_http_data(req));
		return AUR_HTTP_ANSWERED;
	}
	left = malloc(sizeof(*left));
	if (!left)
		abort();
	*left = 3;
	aur_http_set_data(req, left);
	return aur_http_respond_stream(req, 200, "text/event-stream", more, left, 1);
}

static void stop_server(void)
{
	aur_http_free(server);
	server = NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct aur_http_options o;
	socklen_t len = sizeof(addr);
	char err[512];
	int fd;

	(void)argc;
	(void)argv;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 64) < 0 ||
	    getsockname(fd, (struct sockaddr *)&addr, &len) < 0) {
		perror("http_mhd_fuzz: listening socket");
		abort();
	}
	aur_http_options_init(&o);
	o.threads = 2;
	o.read_timeout_s = 2;
	o.max_body = 4096;
	o.max_header_bytes = 1024;
	o.max_headers = 16;
	aur_http_new(&server, &o);
	aur_http_route(server, AUR_HTTP_POST | AUR_HTTP_PUT, "/body", body_route, NULL);
	aur_http_route(server, AUR_HTTP_GET, "/look/{}", lookup_route, NULL);
	aur_http_route(server, AUR_HTTP_GET, "/stream", stream_route, NULL);
	if (aur_http_start_listener(server, fd, err, sizeof(err)) < 0) {
		fprintf(stderr, "http_mhd_fuzz: %s\n", err);
		abort();
	}
	atexit(stop_server);
	return 0;
}

/* aurora's own answers are JSON with a Content-Length: each such one is whole. -1, or where one is cut. */
static long check(const char *out, size_t len)
{
	size_t pos = 0;

	if (len == 0)
		return -1;
	/* libmicrohttpd answers an HTTP/1.0 request in kind */
	if (len < 9 || (memcmp(out, "HTTP/1.1 ", 9) != 0 && memcmp(out, "HTTP/1.0 ", 9) != 0))
		return 0;
	while (len - pos >= 9 && !memcmp(out + pos, "HTTP/1.", 7)) {
		const char *head = out + pos;
		const char *end = memmem(head, len - pos, "\r\n\r\n", 4);
		const char *cl;
		size_t hlen;
		unsigned long long n;

		if (!end)
			return (long)pos;
		hlen = (size_t)(end - head) + 4;
		cl = memmem(head, hlen, "\r\nContent-Length: ", 18);
		if (!cl || !memmem(head, hlen, "\r\nContent-Type: application/json", 32))
			return -1; /* a stream, or libmicrohttpd's own answer: not followed further */
		pos += hlen;
		if (pos == len || out[pos] != '{')
			continue; /* HEAD, or a 100 Continue */
		n = strtoull(cl + 18, NULL, 10);
		if (n > len - pos)
			return (long)pos;
		pos += n;
	}
	return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct timeval tv = { 10, 0 };
	struct peer p;
	pthread_t t;
	char *out;
	size_t len = 0;
	long bad;

	p.fd = socket(AF_INET, SOCK_STREAM, 0);
	if (p.fd < 0 || connect(p.fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		abort();
	/* no answer for 10 s is a hang of the server: libFuzzer reports the timeout */
	setsockopt(p.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	p.data = data;
	p.size = size;
	out = malloc(OUT_MAX);
	if (!out || pthread_create(&t, NULL, sender, &p) != 0)
		abort();
	for (;;) {
		ssize_t n = recv(p.fd, out + len, OUT_MAX - len, 0);

		if (n <= 0 || (len += (size_t)n) == OUT_MAX)
			break;
	}
	pthread_join(t, NULL);
	close(p.fd);
	bad = check(out, len);
	if (bad >= 0) {
		fprintf(stderr, "http_mhd_fuzz: not an answer at byte %ld of %zu:\n%.*s\n", bad, len,
			(int)(len - (size_t)bad < 200 ? len - (size_t)bad : 200), out + bad);
		abort();
	}
	free(out);
	return 0;
}
