/*
 * fetch.h - one bounded HTTP GET through libcurl, and the URL checks that
 * go before it.
 *
 * What the investigators read from the network - the LLM investigator's
 * http_get tool, the console text of a Jenkins or CloudBees build - comes
 * through here, so every such read has the same limits: http and https
 * only, no redirect followed (a 3xx is an answer like any other), a
 * connect and a total time limit, and a bound on the bytes kept and on the
 * bytes read. Credentials go to libcurl as a user and a password (HTTP
 * basic), never inside the URL, and no error text here holds the URL, the
 * user or the password: the caller decides what of the URL it may say.
 *
 * It is not a general client: no POST, no streaming (llm.c and
 * embeddings.c have their own, shaped by their protocols).
 */
#ifndef AURORA_FETCH_H
#define AURORA_FETCH_H

#include <stddef.h>

struct aur_fetch {
	const char *url;         /* borrowed; without user info (aur_fetch_url_under) */
	const char *user;        /* borrowed; NULL: no Authorization sent */
	const char *password;    /* borrowed; with user */
	const char *user_agent;  /* borrowed; NULL: "aurora" */
	long connect_timeout_ms; /* 0: the total limit */
	long timeout_ms;         /* the whole request; 5000 */
	size_t keep;             /* bytes of the body kept (64 KiB) */
	/*
	 * 0: the first keep bytes, and reading stops there (the result says
	 * cut). 1: the last keep bytes of the body, read to its end unless it
	 * passes max_bytes (then -EFBIG).
	 */
	int keep_tail;
	size_t max_bytes;        /* with keep_tail: the most read; 0: no bound beyond time */
};

struct aur_fetch_result {
	long status;   /* the HTTP status; 0 when none came */
	char *body;    /* what was kept, NUL-terminated; release with aur_fetch_result_release */
	size_t len;    /* its length */
	size_t total;  /* bytes of body read */
	int cut;       /* the body kept is not all the server sent */
};

/* Fill f with the defaults above. */
void aur_fetch_init(struct aur_fetch *f);

/*
 * GET f->url. 0 when an HTTP answer came, whatever its status (r->status
 * says; the caller judges a 401 or a 302), with r filled. On failure r
 * holds no body, r->status what came if anything, and err a reason with no
 * URL or credential in it: -ETIMEDOUT (a time limit), -EFBIG (past
 * max_bytes), -ECONNREFUSED (no connection), -EIO (any other transport
 * error), -ENOMEM (libcurl would not start).
 */
int aur_fetch_get(const struct aur_fetch *f, struct aur_fetch_result *r, char *err, size_t errlen);

/* Free r's body and zero it. NULL-safe. */
void aur_fetch_result_release(struct aur_fetch_result *r);

/*
 * Whether url lies under base: the same scheme, host and port (a scheme's
 * default port when none is written), and a path that starts with base's
 * path at a segment boundary once libcurl has resolved dot segments. A URL
 * that is not http or https, carries user info, or holds a backslash, a
 * blank, a control character or an encoded dot, slash or backslash is
 * refused, as is a base with user info. 1 with the URL as it will be
 * fetched (normalized) in out (n bytes); 0 with why saying what differs
 * (no URL and no credential in it).
 */
int aur_fetch_url_under(const char *base, const char *url, char *out, size_t n, char *why, size_t whylen);

#endif
