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

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "harness.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enum aur_http_next stream_route(struct aur_http_req *req, enum aur_http_phase phase, void *arg)
{
	if (phase == AUR_HTTP_DONE)
		return AUR_HTTP_ANSWERED;
	*(int *)arg = 3;
	return aur_http_respond_stream(req, 200, "text/event-stream", fuzz_stream_more, arg, 1);
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
	struct fuzz_peer p;
	char err[256];
	int left = 0;
	long bad;

	aur_http_options_init(&o);
	o.read_timeout_s = 1;
	o.max_body = 4096;
	o.max_header_bytes = 1024;
	o.max_headers = 16;
	aur_http_new(&h, &o);
	aur_http_route(h, AUR_HTTP_POST | AUR_HTTP_PUT, "/body", fuzz_body_route, NULL);
	aur_http_route(h, AUR_HTTP_GET, "/look/{}", fuzz_lookup_route, NULL);
	aur_http_route(h, AUR_HTTP_GET, "/stream", stream_route, &left);
	if (fuzz_serve_one(h, NULL, &stop, data, size, &p, err, sizeof(err)) < 0)
		abort();
	aur_http_free(h);
	bad = check(p.out, p.len);
	if (bad >= 0)
		fuzz_not_an_answer("http_conn_fuzz", p.out, p.len, bad);
	free(p.out);
	return 0;
}
