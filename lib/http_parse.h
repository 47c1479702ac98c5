/*
 * http_parse.h - the HTTP/1.1 request parser of one-connection mode
 * (RFC 9112): the request line and header fields, the framing they
 * announce, the query arguments and cookies as libmicrohttpd gives them to
 * the accept loop, and the size line of a chunk. No I/O: http_conn.c reads
 * and writes. Everything is parsed in place in the caller's buffer, and
 * every string of a struct http_msg points into it (or into memory the
 * message owns), borrowed until http_msg_release.
 */
#ifndef AURORA_HTTP_PARSE_H
#define AURORA_HTTP_PARSE_H

#include <stddef.h>

struct http_field {
	const char *name;
	const char *value; /* without the whitespace around it */
};

/* A query argument or a cookie. */
struct http_arg {
	const char *name;  /* percent-decoded; may hold a NUL from %00 */
	size_t name_len;
	const char *value; /* decoded; NULL for a query argument without '=' */
};

struct http_msg {
	const char *method;
	const char *path;            /* the target up to '?', percent-decoded */
	int minor;                   /* HTTP/1.<minor>: 0 or 1 */
	struct http_field *fields;   /* the caller's array of max_fields */
	unsigned nfields;
	struct http_arg *args;       /* owned */
	unsigned nargs;
	struct http_arg *cookies;    /* owned, pointing into cookie_buf */
	unsigned ncookies;
	char *cookie_buf;            /* owned: a copy of the first Cookie field */
	int chunked;                 /* Transfer-Encoding: chunked */
	unsigned long long length;   /* Content-Length; 0 when absent */
	int keep_alive;              /* the connection may serve another request */
	int expect_continue;         /* Expect: 100-continue */
};

/*
 * Parse the head head[0..len): the request line and the header fields,
 * each ending in CRLF or LF, without the empty line that ends them. NULs
 * are written into head. fields has room for max_fields. Returns 0 with m
 * filled, or the status to answer with a reason in why: 400 (malformed,
 * obsolete line folding, whitespace before ':', a bad or conflicting
 * Content-Length, both Content-Length and Transfer-Encoding, no Host in
 * HTTP/1.1), 431 (more than max_fields fields), 501 (a transfer coding
 * other than chunked), 505 (a version other than HTTP/1.0 and 1.1).
 * Release m with http_msg_release either way.
 */
unsigned http_parse_head(char *head, size_t len, struct http_msg *m, struct http_field *fields,
			 unsigned max_fields, char *why, size_t whylen);

/* Free what m owns. NULL-safe. */
void http_msg_release(struct http_msg *m);

/* The first field named name (case-insensitive), or NULL. */
const char *http_msg_header(const struct http_msg *m, const char *name);

/* The first query argument or cookie named name (case-insensitive, as libmicrohttpd), or NULL. */
const char *http_msg_arg(const struct http_arg *args, unsigned n, const char *name);

/*
 * A chunk-size line without its line end: hex digits, then optionally
 * extensions after ';' (ignored). 0 with *size set, or -1 when malformed.
 */
int http_parse_chunk_size(const char *line, size_t len, unsigned long long *size);

#endif
