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
#include "harness.h"
#include "banned.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct aur_http *server;
static struct sockaddr_in addr;
/* POST /body?suspend suspends and resumes: the accept loop can */
static int may_suspend = 1;

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
	return aur_http_respond_stream(req, 200, "text/event-stream", fuzz_stream_more, left, 1);
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
	aur_http_route(server, AUR_HTTP_POST | AUR_HTTP_PUT, "/body", fuzz_body_route, &may_suspend);
	aur_http_route(server, AUR_HTTP_GET, "/look/{}", fuzz_lookup_route, NULL);
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
	struct fuzz_peer p;
	pthread_t t;
	long bad;

	p.fd = socket(AF_INET, SOCK_STREAM, 0);
	if (p.fd < 0 || connect(p.fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		abort();
	/* no answer for 10 s is a hang of the server: libFuzzer reports the timeout */
	setsockopt(p.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	p.data = data;
	p.size = size;
	p.out = malloc(FUZZ_OUT_MAX);
	if (!p.out || pthread_create(&t, NULL, fuzz_sender, &p) != 0)
		abort();
	p.len = fuzz_recv(p.fd, p.out);
	pthread_join(t, NULL);
	close(p.fd);
	bad = check(p.out, p.len);
	if (bad >= 0)
		fuzz_not_an_answer("http_mhd_fuzz", p.out, p.len, bad);
	free(p.out);
	return 0;
}
