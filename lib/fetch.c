/*
 * fetch.c - one bounded HTTP GET through libcurl (fetch.h).
 *
 * Keeping the tail of a body: the last `keep` bytes live in a window of
 * twice that size, slid down once whenever it fills, so a body of any
 * length costs one copy of each byte plus a slide per `keep` bytes read,
 * never a memmove of the whole window per chunk.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "fetch.h"
#include "xalloc.h"
#include "banned.h"

void aur_fetch_init(struct aur_fetch *f)
{
	memset(f, 0, sizeof(*f));
	f->timeout_ms = 5000;
	f->keep = (size_t)64 * 1024;
}

void aur_fetch_result_release(struct aur_fetch_result *r)
{
	if (!r)
		return;
	free(r->body);
	memset(r, 0, sizeof(*r));
}

struct sink {
	const struct aur_fetch *f;
	char *buf;
	size_t cap, len, total;
	int cut, too_big;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t n = size * nmemb, keep = s->f->keep;

	s->total += n;
	if (!s->f->keep_tail) {
		size_t take = s->cap - s->len < n ? s->cap - s->len : n;

		memcpy(s->buf + s->len, data, take);
		s->len += take;
		if (take == n)
			return n;
		/* past the cap: stop reading rather than pull a large body through */
		s->cut = 1;
		return 0;
	}
	if (s->f->max_bytes && s->total > s->f->max_bytes) {
		s->too_big = 1;
		return 0;
	}
	if (n >= keep) {
		memcpy(s->buf, data + n - keep, keep);
		s->len = keep;
		return n;
	}
	if (s->len + n > s->cap) {
		size_t drop = s->len + n - keep;

		memmove(s->buf, s->buf + drop, s->len - drop);
		s->len -= drop;
	}
	memcpy(s->buf + s->len, data, n);
	s->len += n;
	return n;
}

static int transport_error(CURLcode cc, const struct aur_fetch *f, const struct sink *s, char *err, size_t errlen)
{
	switch (cc) {
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(err, errlen, "timed out after %ld ms", f->timeout_ms);
		return -ETIMEDOUT;
	case CURLE_FILESIZE_EXCEEDED:
		snprintf(err, errlen, "the answer is larger than %zu bytes", f->max_bytes);
		return -EFBIG;
	case CURLE_WRITE_ERROR:
		if (s->too_big) {
			snprintf(err, errlen, "the answer is larger than %zu bytes", f->max_bytes);
			return -EFBIG;
		}
		break;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		snprintf(err, errlen, "%s", curl_easy_strerror(cc));
		return -ECONNREFUSED;
	default:
		break;
	}
	/* curl_easy_strerror is fixed text: no URL, no user in it */
	snprintf(err, errlen, "%s", curl_easy_strerror(cc));
	return -EIO;
}

int aur_fetch_get(const struct aur_fetch *f, struct aur_fetch_result *r, char *err, size_t errlen)
{
	struct sink s = { f, NULL, 0, 0, 0, 0, 0 };
	CURL *curl = NULL;
	CURLcode cc;
	long connect_ms = f->connect_timeout_ms > 0 && f->connect_timeout_ms < f->timeout_ms ? f->connect_timeout_ms
											      : f->timeout_ms;
	int rc;

	memset(r, 0, sizeof(*r));
	s.cap = f->keep_tail ? 2 * f->keep : f->keep;
	s.buf = aur_xmalloc(s.cap + 1);
	curl = curl_easy_init();
	if (!curl) {
		snprintf(err, errlen, "libcurl would not start");
		rc = -ENOMEM;
		goto out;
	}
	curl_easy_setopt(curl, CURLOPT_URL, f->url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, f->timeout_ms);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, f->user_agent ? f->user_agent : "aurora");
	if (f->user) {
		curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(curl, CURLOPT_USERNAME, f->user);
		curl_easy_setopt(curl, CURLOPT_PASSWORD, f->password ? f->password : "");
	}
	if (f->keep_tail && f->max_bytes)
		curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)f->max_bytes);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &s);
	cc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
	if (cc != CURLE_OK && !(cc == CURLE_WRITE_ERROR && s.cut)) {
		rc = transport_error(cc, f, &s, err, errlen);
		goto out;
	}
	if (f->keep_tail && s.len > f->keep) {
		memmove(s.buf, s.buf + s.len - f->keep, f->keep);
		s.len = f->keep;
	}
	s.buf[s.len] = '\0';
	r->body = s.buf;
	r->len = s.len;
	r->total = s.total;
	r->cut = s.cut || s.total > s.len;
	s.buf = NULL;
	rc = 0;
out:
	free(s.buf);
	if (curl)
		curl_easy_cleanup(curl);
	return rc;
}

/* A character or sequence that could step out of a path prefix once a server decodes it. */
static int suspicious(const char *url)
{
	static const char *const encoded[] = { "%2e", "%2f", "%5c", "%00", NULL };

	for (const char *p = url; *p; p++) {
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f || *p == '\\')
			return 1;
		for (int k = 0; *p == '%' && encoded[k]; k++)
			if (!strncasecmp(p, encoded[k], 3))
				return 1;
	}
	return 0;
}

struct parts {
	CURLU *h;
	char *scheme, *host, *port, *path;
	int userinfo;
};

static void parts_release(struct parts *p)
{
	curl_free(p->scheme);
	curl_free(p->host);
	curl_free(p->port);
	curl_free(p->path);
	curl_url_cleanup(p->h);
}

static int parts_of(const char *url, struct parts *p)
{
	char *s = NULL;

	memset(p, 0, sizeof(*p));
	p->h = curl_url();
	if (!p->h || curl_url_set(p->h, CURLUPART_URL, url, 0) != CURLUE_OK)
		return -EINVAL;
	if (curl_url_get(p->h, CURLUPART_SCHEME, &p->scheme, 0) != CURLUE_OK ||
	    curl_url_get(p->h, CURLUPART_HOST, &p->host, 0) != CURLUE_OK ||
	    curl_url_get(p->h, CURLUPART_PORT, &p->port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
	    curl_url_get(p->h, CURLUPART_PATH, &p->path, 0) != CURLUE_OK)
		return -EINVAL;
	if (curl_url_get(p->h, CURLUPART_USER, &s, 0) == CURLUE_OK)
		p->userinfo = 1;
	curl_free(s);
	s = NULL;
	if (curl_url_get(p->h, CURLUPART_PASSWORD, &s, 0) == CURLUE_OK)
		p->userinfo = 1;
	curl_free(s);
	if (strcasecmp(p->scheme, "http") != 0 && strcasecmp(p->scheme, "https") != 0)
		return -EPROTONOSUPPORT;
	return 0;
}

int aur_fetch_url_under(const char *base, const char *url, char *out, size_t n, char *why, size_t whylen)
{
	struct parts b, u;
	char *full = NULL;
	size_t plen;
	int ok = 0;
	int rc;

	out[0] = '\0';
	rc = parts_of(base, &b);
	if (rc < 0 || b.userinfo) {
		snprintf(why, whylen, "%s", rc == -EPROTONOSUPPORT ? "the base URL is not http or https"
					    : rc < 0	       ? "the base URL does not parse"
								: "the base URL holds user info");
		goto out_base;
	}
	if (suspicious(url)) {
		snprintf(why, whylen, "the URL holds a blank, a backslash or an encoded dot, slash or backslash");
		goto out_base;
	}
	rc = parts_of(url, &u);
	if (rc < 0) {
		snprintf(why, whylen, "%s", rc == -EPROTONOSUPPORT ? "the URL is not http or https"
								: "the URL does not parse");
		goto out;
	}
	plen = strlen(b.path);
	while (plen > 0 && b.path[plen - 1] == '/')
		plen--;
	if (u.userinfo)
		snprintf(why, whylen, "the URL holds user info");
	else if (strcasecmp(u.scheme, b.scheme) != 0)
		snprintf(why, whylen, "its scheme is %s, the base URL's %s", u.scheme, b.scheme);
	else if (strcasecmp(u.host, b.host) != 0 || strcmp(u.port, b.port) != 0)
		snprintf(why, whylen, "it names another host or port than the base URL");
	else if (strncmp(u.path, b.path, plen) != 0 || (u.path[plen] != '/' && u.path[plen] != '\0'))
		snprintf(why, whylen, "its path is not under the base URL's path");
	else if (curl_url_get(u.h, CURLUPART_URL, &full, 0) != CURLUE_OK || strlen(full) >= n)
		snprintf(why, whylen, "the URL is too long");
	else
		ok = 1;
	if (ok)
		snprintf(out, n, "%s", full);
	curl_free(full);
out:
	parts_release(&u);
out_base:
	parts_release(&b);
	return ok;
}
