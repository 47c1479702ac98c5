/*
 * http_parse.c - the request parser of one-connection mode (http_parse.h).
 *
 * Strict where a lenient reading lets two parsers disagree about where a
 * request ends (RFC 9112: obsolete folding, whitespace before ':', two
 * Content-Lengths, Content-Length beside Transfer-Encoding). That policy,
 * http_framing_field and http_path_fault, is the accept loop's too: it
 * puts what libmicrohttpd parsed through the same functions. The query and
 * the cookies are split exactly as libmicrohttpd 0.9.75 splits them for the
 * accept loop, so a handler sees the same values in both modes.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hex.h"
#include "http_parse.h"
#include "xalloc.h"
#include "banned.h"

/* RFC 9110 tchar */
static int is_tchar(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* %XX decoding in place, as libmicrohttpd's: a '%' without two hex digits stays. The new length. */
static size_t unescape(char *s)
{
	char *r = s;
	char *w = s;

	while (*r) {
		int hi = r[0] == '%' ? aur_hex_value((unsigned char)r[1]) : -1;
		int lo = hi >= 0 ? aur_hex_value((unsigned char)r[2]) : -1;

		if (lo >= 0) {
			*w++ = (char)(hi * 16 + lo);
			r += 3;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

static void plus_to_space(char *s)
{
	for (; *s; s++)
		if (*s == '+')
			*s = ' ';
}

/*
 * Query arguments, split as libmicrohttpd does: on '&', then on the first
 * '='; '+' is a space and %XX is decoded in names and values; "a&b=1"
 * gives a with no value; empty pieces between two '&' give an empty name.
 */
static void parse_query(struct http_msg *m, char *q)
{
	size_t n = 1;

	for (const char *p = q; *p; p++)
		n += *p == '&';
	m->args = aur_xcalloc(n, sizeof(*m->args));
	while (*q) {
		char *amp = strchr(q, '&');
		char *eq;
		struct http_arg *a = &m->args[m->nargs++];

		if (amp)
			*amp = '\0';
		eq = strchr(q, '=');
		if (eq)
			*eq = '\0';
		plus_to_space(q);
		a->name = q;
		a->name_len = unescape(q);
		if (eq) {
			plus_to_space(eq + 1);
			unescape(eq + 1);
			a->value = eq + 1;
		}
		if (!amp)
			break;
		q = amp + 1;
	}
}

/*
 * The first Cookie field, split as libmicrohttpd 0.9.75 does: pairs end at
 * ';' or ',' outside double quotes, spaces before a name are skipped and
 * after it trimmed, a name without '=' has the value "", and a value in
 * double quotes loses them.
 */
static void parse_cookies(struct http_msg *m, const char *field)
{
	size_t n = 1;
	char *pos;

	m->cookie_buf = aur_xstrdup(field);
	for (const char *p = field; *p; p++)
		n += *p == ';' || *p == ',';
	m->cookies = aur_xcalloc(n, sizeof(*m->cookies));
	pos = m->cookie_buf;
	while (pos && m->ncookies < n) {
		struct http_arg *c;
		char *sce;
		char *end;
		char *val;
		size_t klen;
		int quotes = 0;
		char old;

		while (*pos == ' ')
			pos++;
		sce = pos + strcspn(pos, ",;=");
		klen = (size_t)(sce - pos);
		while (klen > 0 && pos[klen - 1] == ' ')
			klen--;
		old = *sce;
		*sce = '\0';
		pos[klen] = '\0';
		c = &m->cookies[m->ncookies++];
		c->name = pos;
		c->name_len = klen;
		if (old != '=') {
			c->value = "";
			pos = old ? sce + 1 : NULL;
			continue;
		}
		val = sce + 1;
		end = val;
		while (*end && (quotes || (*end != ';' && *end != ','))) {
			if (*end == '"')
				quotes = !quotes;
			end++;
		}
		pos = *end ? end + 1 : NULL;
		*end = '\0';
		if (end - val >= 2 && val[0] == '"' && end[-1] == '"') {
			val++;
			end[-1] = '\0';
		}
		c->value = val;
	}
}

static int token_in_list(const char *list, const char *token)
{
	size_t tlen = strlen(token);

	while (*list) {
		size_t len;

		list += strspn(list, " \t,");
		len = strcspn(list, ",");
		while (len > 0 && (list[len - 1] == ' ' || list[len - 1] == '\t'))
			len--;
		if (len == tlen && !strncasecmp(list, token, tlen))
			return 1;
		list += strcspn(list, ",");
	}
	return 0;
}

static unsigned fail(char *why, size_t whylen, unsigned status, const char *msg)
{
	snprintf(why, whylen, "%s", msg);
	return status;
}

/* "METHOD SP target SP HTTP/1.x": 0, 400 (http_path_fault included) or 505. */
static unsigned request_line(char *line, struct http_msg *m, char *why, size_t whylen)
{
	char *sp1 = strchr(line, ' ');
	char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	char *target;
	const char *v;
	char *q;
	enum http_path_fault fault;

	if (!sp1 || !sp2 || strchr(sp2 + 1, ' '))
		return fail(why, whylen, 400, "malformed request line: expected METHOD SP target SP HTTP/1.1");
	*sp1 = '\0';
	*sp2 = '\0';
	target = sp1 + 1;
	v = sp2 + 1;
	if (!*line)
		return fail(why, whylen, 400, "malformed request line: no method");
	for (const char *p = line; *p; p++)
		if (!is_tchar((unsigned char)*p))
			return fail(why, whylen, 400, "malformed request line: invalid character in the method");
	if (!*target)
		return fail(why, whylen, 400, "malformed request line: no target");
	for (const unsigned char *p = (const unsigned char *)target; *p; p++)
		if (*p <= ' ' || *p == 0x7f)
			return fail(why, whylen, 400, "malformed request line: invalid character in the target");
	if (strncmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' || v[6] != '.' || v[7] < '0' || v[7] > '9' || v[8])
		return fail(why, whylen, 400, "malformed request line: expected HTTP/1.1 or HTTP/1.0 at its end");
	if (v[5] != '1' || (v[7] != '0' && v[7] != '1')) {
		snprintf(why, whylen, "HTTP version %.8s is not supported (HTTP/1.1 and HTTP/1.0 are)", v + 5);
		return 505;
	}
	m->method = line;
	m->minor = v[7] - '0';
	q = strchr(target, '?');
	if (q)
		*q++ = '\0';
	fault = http_path_fault(target, strlen(target));
	if (fault != HTTP_PATH_OK)
		return fail(why, whylen, 400, http_path_fault_text(fault));
	if (q)
		parse_query(m, q);
	unescape(target);
	m->path = target;
	return 0;
}

/* One "name: value" line: 0 or 400. The name and the value are checked by http_framing_field. */
static unsigned field_line(char *line, struct http_field *f, char *why, size_t whylen)
{
	char *colon = strchr(line, ':');
	char *v;
	size_t vlen;

	if (*line == ' ' || *line == '\t')
		return fail(why, whylen, 400, "obsolete line folding in the header fields");
	if (!colon)
		return fail(why, whylen, 400, "header field without ':'");
	*colon = '\0';
	v = colon + 1;
	v += strspn(v, " \t");
	vlen = strlen(v);
	while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	v[vlen] = '\0';
	f->name = line;
	f->value = v;
	return 0;
}

/*
 * Transfer-Encoding's list of codings: only a single chunked is read. 0
 * (f->chunked set), 400 for a malformed list, chunked twice or chunked not
 * last (RFC 9112 6.3: the length cannot be known), 501 for any other coding.
 */
static unsigned transfer_codings(struct http_framing *f, const char *v, char *why, size_t whylen)
{
	const char *p = v;
	unsigned chunked = 0;
	int last_chunked = 0;
	const char *other = NULL;
	size_t other_len = 0;

	for (;;) {
		size_t len;
		size_t name;

		p += strspn(p, " \t");
		len = strcspn(p, ",");
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		name = strcspn(p, ";");
		if (name > len)
			name = len;
		while (name > 0 && (p[name - 1] == ' ' || p[name - 1] == '\t'))
			name--;
		if (name == 0)
			return fail(why, whylen, 400, "malformed Transfer-Encoding: an empty transfer coding");
		for (size_t i = 0; i < name; i++)
			if (!is_tchar((unsigned char)p[i]))
				return fail(why, whylen, 400, "malformed Transfer-Encoding");
		last_chunked = len == 7 && !strncasecmp(p, "chunked", 7);
		if (last_chunked) {
			chunked++;
		} else if (!other) {
			other = p;
			other_len = len;
		}
		p += strcspn(p, ",");
		if (!*p)
			break;
		p++;
	}
	if (chunked > 1)
		return fail(why, whylen, 400, "Transfer-Encoding applies chunked more than once");
	if (chunked && !last_chunked)
		return fail(why, whylen, 400, "Transfer-Encoding does not end with chunked");
	if (other) {
		snprintf(why, whylen, "transfer coding '%.*s' is not supported (only chunked is)",
			 (int)(other_len > 64 ? 64 : other_len), other);
		return 501;
	}
	f->chunked = 1;
	return 0;
}

unsigned http_framing_field(struct http_framing *f, const char *name, const char *value, char *why, size_t whylen)
{
	size_t nlen = strlen(name);

	if (nlen == 0)
		return fail(why, whylen, 400, "header field with an empty name");
	if (name[nlen - 1] == ' ' || name[nlen - 1] == '\t')
		return fail(why, whylen, 400, "whitespace between a header field name and ':'");
	for (const char *p = name; *p; p++)
		if (!is_tchar((unsigned char)*p))
			return fail(why, whylen, 400, "invalid character in a header field name");
	for (const unsigned char *p = (const unsigned char *)value; *p; p++)
		if ((*p < ' ' && *p != '\t') || *p == 0x7f)
			return fail(why, whylen, 400, "control character in a header field value");
	if (!strcasecmp(name, "Content-Length")) {
		size_t digits = strspn(value, "0123456789");
		unsigned long long n;

		/* trailing whitespace: libmicrohttpd leaves it in the value */
		if (digits == 0 || value[digits + strspn(value + digits, " \t")] || digits > 18)
			return fail(why, whylen, 400, "bad Content-Length");
		n = strtoull(value, NULL, 10);
		if (f->has_length)
			return fail(why, whylen, 400,
				    n != f->length ? "conflicting Content-Length values" : "repeated Content-Length");
		f->length = n;
		f->has_length = 1;
	} else if (!strcasecmp(name, "Transfer-Encoding")) {
		if (f->has_te)
			return fail(why, whylen, 400, "repeated Transfer-Encoding");
		f->has_te = 1;
		return transfer_codings(f, value, why, whylen);
	} else if (!strcasecmp(name, "Host")) {
		if (f->has_host)
			return fail(why, whylen, 400, "repeated Host");
		f->has_host = 1;
	}
	return 0;
}

unsigned http_framing_end(const struct http_framing *f, int minor, char *why, size_t whylen)
{
	if (f->has_length && f->has_te)
		return fail(why, whylen, 400, "both Content-Length and Transfer-Encoding");
	if (minor == 1 && !f->has_host)
		return fail(why, whylen, 400, "HTTP/1.1 request without a Host header field");
	return 0;
}

/* 1 when s[0..len) is "." or "..", each dot literal or %2E. */
static int dot_segment(const char *s, size_t len)
{
	unsigned dots = 0;

	for (size_t i = 0; i < len; dots++) {
		if (s[i] == '.')
			i++;
		else if (len - i >= 3 && s[i] == '%' && s[i + 1] == '2' && (s[i + 2] == 'e' || s[i + 2] == 'E'))
			i += 3;
		else
			return 0;
	}
	return dots == 1 || dots == 2;
}

enum http_path_fault http_path_fault(const char *path, size_t len)
{
	size_t seg = 0;

	for (size_t i = 0; i <= len; i++) {
		int hi;
		int lo;

		if (i == len || path[i] == '/') {
			if (dot_segment(path + seg, i - seg))
				return HTTP_PATH_DOT;
			seg = i + 1;
			continue;
		}
		if (path[i] != '%' || len - i < 3)
			continue;
		hi = aur_hex_value((unsigned char)path[i + 1]);
		lo = hi >= 0 ? aur_hex_value((unsigned char)path[i + 2]) : -1;
		if (lo >= 0 && hi * 16 + lo == 0)
			return HTTP_PATH_NUL;
		if (lo >= 0 && hi * 16 + lo == '/')
			return HTTP_PATH_SLASH;
	}
	return HTTP_PATH_OK;
}

const char *http_path_fault_text(enum http_path_fault f)
{
	switch (f) {
	case HTTP_PATH_NUL:
		return "a percent-encoded NUL (%00) in the request path";
	case HTTP_PATH_SLASH:
		return "a percent-encoded '/' (%2F) in the request path";
	case HTTP_PATH_DOT:
		return "a '.' or '..' segment in the request path";
	case HTTP_PATH_OK:
	case HTTP_PATH_FAULTS:
		break;
	}
	return "the request path is fine";
}

/* The framing (http_framing_field), Connection, Expect, Cookie: 0, 400 or 501. */
static unsigned framing(struct http_msg *m, char *why, size_t whylen)
{
	struct http_framing f;
	unsigned rc;
	int close = 0;
	int keep = 0;

	memset(&f, 0, sizeof(f));
	for (unsigned i = 0; i < m->nfields; i++) {
		const struct http_field *fl = &m->fields[i];

		rc = http_framing_field(&f, fl->name, fl->value, why, whylen);
		if (rc)
			return rc;
		if (!strcasecmp(fl->name, "Connection")) {
			close |= token_in_list(fl->value, "close");
			keep |= token_in_list(fl->value, "keep-alive");
		} else if (!strcasecmp(fl->name, "Expect")) {
			m->expect_continue = !strcasecmp(fl->value, "100-continue");
		} else if (!strcasecmp(fl->name, "Cookie") && !m->cookie_buf) {
			parse_cookies(m, fl->value);
		}
	}
	rc = http_framing_end(&f, m->minor, why, whylen);
	if (rc)
		return rc;
	m->chunked = f.chunked;
	m->length = f.length;
	m->keep_alive = m->minor == 1 ? !close : keep && !close;
	if (m->minor == 0)
		m->expect_continue = 0;
	return 0;
}

unsigned http_parse_head(char *head, size_t len, struct http_msg *m, struct http_field *fields,
			 unsigned max_fields, char *why, size_t whylen)
{
	char *p = head;
	char *end = head + len;
	unsigned count = 0;
	unsigned rc;
	int first = 1;

	memset(m, 0, sizeof(*m));
	m->fields = fields;
	if (memchr(head, '\0', len))
		return fail(why, whylen, 400, "NUL byte in the request head");
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *line = p;
		size_t llen;

		if (!nl)
			nl = end;
		llen = (size_t)(nl - p);
		p = nl < end ? nl + 1 : end;
		if (llen > 0 && line[llen - 1] == '\r')
			llen--;
		line[llen] = '\0';
		if (memchr(line, '\r', llen))
			return fail(why, whylen, 400, "bare CR in the request head");
		if (first) {
			rc = request_line(line, m, why, whylen);
			if (rc)
				return rc;
			first = 0;
			continue;
		}
		count++;
		if (count > max_fields)
			continue;
		rc = field_line(line, &fields[m->nfields], why, whylen);
		if (rc)
			return rc;
		m->nfields++;
	}
	if (first)
		return fail(why, whylen, 400, "empty request line");
	if (count > max_fields) {
		snprintf(why, whylen, "request has %u header fields (limit %u)", count, max_fields);
		return 431;
	}
	return framing(m, why, whylen);
}

void http_msg_release(struct http_msg *m)
{
	if (!m)
		return;
	free(m->args);
	free(m->cookies);
	free(m->cookie_buf);
	m->args = NULL;
	m->cookies = NULL;
	m->cookie_buf = NULL;
	m->nargs = 0;
	m->ncookies = 0;
}

const char *http_msg_header(const struct http_msg *m, const char *name)
{
	for (unsigned i = 0; i < m->nfields; i++)
		if (!strcasecmp(m->fields[i].name, name))
			return m->fields[i].value;
	return NULL;
}

const char *http_msg_arg(const struct http_arg *args, unsigned n, const char *name)
{
	size_t len = strlen(name);

	for (unsigned i = 0; i < n; i++)
		if (args[i].name_len == len && !strncasecmp(args[i].name, name, len))
			return args[i].value;
	return NULL;
}

int http_parse_chunk_size(const char *line, size_t len, unsigned long long *size)
{
	unsigned long long n = 0;
	size_t i = 0;

	while (i < len && aur_hex_value((unsigned char)line[i]) >= 0) {
		if (i >= 16)
			return -1;
		n = n * 16 + (unsigned)aur_hex_value((unsigned char)line[i]);
		i++;
	}
	if (i == 0)
		return -1;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i < len && line[i] != ';')
		return -1;
	*size = n;
	return 0;
}
