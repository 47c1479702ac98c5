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
 * The framing policy of both modes (RFC 9112 6): one-connection mode's
 * parser applies it to what it parsed, the accept loop to what
 * libmicrohttpd parsed, before either reads a body.
 */
struct http_framing {
	unsigned long long length; /* Content-Length; 0 when absent */
	int has_length;
	int chunked;               /* Transfer-Encoding: chunked */
	int has_te;
	int has_host;
};

/*
 * One header field as received (value without the whitespace before it),
 * into f (zeroed before the first). 0, or the status to answer with a
 * reason in why: 400 for a name that is not a token (whitespace before ':'
 * included), a control character in the value, a bad or repeated
 * Content-Length (the same value twice too), a repeated Transfer-Encoding or
 * Host, a list of codings that is malformed, applies chunked twice or does
 * not end with it; 501 for any coding other than chunked.
 */
unsigned http_framing_field(struct http_framing *f, const char *name, const char *value, char *why,
			    size_t whylen);

/*
 * After the last field of an HTTP/1.<minor> request: 0, or 400 for
 * Content-Length beside Transfer-Encoding or HTTP/1.1 without Host.
 */
unsigned http_framing_end(const struct http_framing *f, int minor, char *why, size_t whylen);

/*
 * What is wrong with the path of a request target path[0..len), before
 * percent-decoding, if anything: %00 or %2F (decoded they would end the
 * path or split a segment where the client did not), or a segment that is
 * "." or ".." (literal or encoded). Such a path is answered 400 in both
 * modes, so that it never matches a route.
 */
enum http_path_fault {
	HTTP_PATH_OK = 0,
	HTTP_PATH_NUL,
	HTTP_PATH_SLASH,
	HTTP_PATH_DOT,
	HTTP_PATH_FAULTS /* their number */
};
enum http_path_fault http_path_fault(const char *path, size_t len);
/* The reason to answer with, a static string. */
const char *http_path_fault_text(enum http_path_fault f);

/*
 * Parse the head head[0..len): the request line and the header fields,
 * each ending in CRLF or LF, without the empty line that ends them. NULs
 * are written into head. fields has room for max_fields. Returns 0 with m
 * filled, or the status to answer with a reason in why: 400 (malformed,
 * obsolete line folding, a NUL or a bare CR, a path http_path_fault
 * refuses, a field http_framing_field or http_framing_end refuses), 431
 * (more than max_fields fields), 501 (a transfer coding other than
 * chunked), 505 (a version other than HTTP/1.0 and 1.1).
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
