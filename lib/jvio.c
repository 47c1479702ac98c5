#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "jvio.h"
#include "xalloc.h"
#include "banned.h"

/* ---- parsing ---------------------------------------------------------- */

struct parser {
	const char *start;
	const char *p;
	const char *end;
	char *err;
	size_t errlen;
	int depth;
	int keep_inf;           /* an overflow is infinity, as libjq reads it */
	size_t *at;             /* set: where it failed goes here, not in err */
};

static int parse_value(struct parser *ps, jv *out);

static int fail(struct parser *ps, const char *what)
{
	size_t at = (size_t)(ps->p - ps->start) + 1;
	int n;

	if (ps->p >= ps->end) {
		if (ps->at)
			*ps->at = (size_t)(ps->end - ps->start);
		snprintf(ps->err, ps->errlen, ps->at ? "%s" : "%s at end of input", what);
		return -EINVAL;
	}
	if (*ps->p >= 0x21 && *ps->p <= 0x7e)
		n = snprintf(ps->err, ps->errlen, "%s: '%c'", what, *ps->p);
	else
		n = snprintf(ps->err, ps->errlen, "%s: byte 0x%02x", what, (unsigned)(unsigned char)*ps->p);
	if (ps->at)
		*ps->at = at - 1;
	else if (n >= 0 && (size_t)n < ps->errlen)
		snprintf(ps->err + n, ps->errlen - (size_t)n, " at byte %zu", at);
	return -EINVAL;
}

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end &&
	       (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static size_t put_utf8(char *o, unsigned long c)
{
	if (c < 0x80) {
		o[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		o[0] = (char)(0xc0 | (c >> 6));
		o[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		o[0] = (char)(0xe0 | (c >> 12));
		o[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		o[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (c >> 18));
	o[1] = (char)(0x80 | ((c >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((c >> 6) & 0x3f));
	o[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

/*
 * Decode the escaped string body s[0..n) into o (at least n bytes: every
 * escape is longer than what it stands for). Returns the decoded length,
 * or -1 with *bad pointing at a malformed escape.
 */
static long unescape(const char *s, size_t n, char *o, const char **bad)
{
	const char *p = s;
	const char *e = s + n;
	size_t len = 0;

	while (p < e) {
		const char *run = p;
		long c;

		while (p < e && *p != '\\')
			p++;
		memcpy(o + len, run, (size_t)(p - run));
		len += (size_t)(p - run);
		if (p >= e)
			break;
		*bad = p;
		if (p + 1 >= e)
			return -1;
		switch (p[1]) {
		case '"':
		case '\\':
		case '/':
			o[len++] = p[1];
			p += 2;
			continue;
		case 'b':
			o[len++] = '\b';
			p += 2;
			continue;
		case 'f':
			o[len++] = '\f';
			p += 2;
			continue;
		case 'n':
			o[len++] = '\n';
			p += 2;
			continue;
		case 'r':
			o[len++] = '\r';
			p += 2;
			continue;
		case 't':
			o[len++] = '\t';
			p += 2;
			continue;
		case 'u':
			break;
		default:
			return -1;
		}
		if (e - p < 6)
			return -1;
		c = aur_hex4(p + 2);
		if (c < 0)
			return -1;
		p += 6;
		if (c >= 0xd800 && c <= 0xdbff) {
			long lo = -1;

			if (e - p >= 6 && p[0] == '\\' && p[1] == 'u')
				lo = aur_hex4(p + 2);
			if (lo >= 0xdc00 && lo <= 0xdfff) {
				c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
				p += 6;
			} else {
				c = 0xfffd; /* lone high surrogate */
			}
		} else if (c >= 0xdc00 && c <= 0xdfff) {
			c = 0xfffd; /* lone low surrogate */
		}
		len += put_utf8(o + len, (unsigned long)c);
	}
	return (long)len;
}

static int parse_string(struct parser *ps, jv *out)
{
	const char *s = ps->p + 1;
	const char *q = s;
	int escaped = 0;
	char stackbuf[512] = { 0 };
	char *tmp;
	const char *bad = NULL;
	long n;

	while (q < ps->end && *q != '"') {
		/*
		 * control characters only escaped, as libjq 1.6 has it: it refuses
		 * 0x01 to 0x1e raw and lets a raw NUL and 0x1f through
		 */
		if (*q > 0 && *q < 0x1f) {
			ps->p = q;
			return fail(ps, "control character in string");
		}
		if (*q == '\\') {
			escaped = 1;
			q++;
		}
		q++;
	}
	if (q >= ps->end)
		return fail(ps, "unterminated string");
	if (!escaped) {
		*out = jv_string_sized(s, (int)(q - s));
		ps->p = q + 1;
		return 0;
	}
	tmp = (size_t)(q - s) <= sizeof(stackbuf) ? stackbuf : aur_xmalloc((size_t)(q - s));
	n = unescape(s, (size_t)(q - s), tmp, &bad);
	if (n >= 0)
		*out = jv_string_sized(tmp, (int)n);
	if (tmp != stackbuf)
		free(tmp);
	if (n < 0) {
		ps->p = bad;
		return fail(ps, "invalid escape in string");
	}
	ps->p = q + 1;
	return 0;
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int parse_number(struct parser *ps, jv *out)
{
	const char *b = ps->p;
	const char *p = b;
	int integral = 1;
	char stackbuf[64];
	char *tmp;
	double d;

	if (p < ps->end && *p == '-')
		p++;
	if (p < ps->end && *p == '0') {
		p++;
	} else if (p < ps->end && is_digit(*p)) {
		while (p < ps->end && is_digit(*p))
			p++;
	} else {
		ps->p = p;
		return fail(ps, "invalid number");
	}
	if (p < ps->end && *p == '.') {
		integral = 0;
		p++;
		if (p >= ps->end || !is_digit(*p)) {
			ps->p = p;
			return fail(ps, "invalid number");
		}
		while (p < ps->end && is_digit(*p))
			p++;
	}
	if (p < ps->end && (*p == 'e' || *p == 'E')) {
		integral = 0;
		p++;
		if (p < ps->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= ps->end || !is_digit(*p)) {
			ps->p = p;
			return fail(ps, "invalid number");
		}
		while (p < ps->end && is_digit(*p))
			p++;
	}
	ps->p = p;
	if (integral && p - b <= 16) {
		const char *q = b;
		int neg = *q == '-';
		long long v = 0;

		if (neg)
			q++;
		if (p - q <= 15) {
			while (q < p)
				v = v * 10 + (*q++ - '0');
			*out = jv_number(neg ? -(double)v : (double)v);
			return 0;
		}
	}
	tmp = (size_t)(p - b) < sizeof(stackbuf) ? stackbuf : aur_xmalloc((size_t)(p - b) + 1);
	memcpy(tmp, b, (size_t)(p - b));
	tmp[p - b] = '\0';
	d = strtod(tmp, NULL);
	if (tmp != stackbuf)
		free(tmp);
	/* libjq prints an overflow as the largest double: keep that value */
	if (isinf(d) && !ps->keep_inf)
		d = d > 0 ? DBL_MAX : -DBL_MAX;
	*out = jv_number(d);
	return 0;
}

static int parse_literal(struct parser *ps, const char *word, jv value, jv *out)
{
	size_t n = strlen(word);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
		return fail(ps, "unexpected character");
	ps->p += n;
	*out = value;
	return 0;
}

static int parse_array(struct parser *ps, jv *out)
{
	jv a;
	int rc;

	if (++ps->depth > AUR_JVIO_MAX_DEPTH)
		return fail(ps, "exceeds depth limit for parsing");
	a = jv_array();
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == ']') {
		ps->p++;
		goto done;
	}
	for (;;) {
		jv v = jv_invalid();

		rc = parse_value(ps, &v);
		if (rc < 0) {
			jv_free(a);
			return rc;
		}
		a = jv_array_append(a, v);
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			skip_ws(ps);
			continue;
		}
		if (ps->p < ps->end && *ps->p == ']') {
			ps->p++;
			break;
		}
		jv_free(a);
		return fail(ps, "expected ',' or ']'");
	}
done:
	ps->depth--;
	*out = a;
	return 0;
}

static int parse_object(struct parser *ps, jv *out)
{
	jv o;
	int rc;

	if (++ps->depth > AUR_JVIO_MAX_DEPTH)
		return fail(ps, "exceeds depth limit for parsing");
	o = jv_object();
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == '}') {
		ps->p++;
		goto done;
	}
	for (;;) {
		jv k = jv_invalid(), v = jv_invalid();

		if (ps->p >= ps->end || *ps->p != '"') {
			jv_free(o);
			return fail(ps, "expected a string key");
		}
		rc = parse_string(ps, &k);
		if (rc < 0) {
			jv_free(o);
			return rc;
		}
		skip_ws(ps);
		if (ps->p >= ps->end || *ps->p != ':') {
			jv_free(k);
			jv_free(o);
			return fail(ps, "expected ':'");
		}
		ps->p++;
		skip_ws(ps);
		rc = parse_value(ps, &v);
		if (rc < 0) {
			jv_free(k);
			jv_free(o);
			return rc;
		}
		o = jv_object_set(o, k, v);
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			skip_ws(ps);
			continue;
		}
		if (ps->p < ps->end && *ps->p == '}') {
			ps->p++;
			break;
		}
		jv_free(o);
		return fail(ps, "expected ',' or '}'");
	}
done:
	ps->depth--;
	*out = o;
	return 0;
}

static int parse_value(struct parser *ps, jv *out)
{
	if (ps->p >= ps->end)
		return fail(ps, "expected a value"); /* "... at end of input" */
	switch (*ps->p) {
	case '{':
		return parse_object(ps, out);
	case '[':
		return parse_array(ps, out);
	case '"':
		return parse_string(ps, out);
	case 't':
		return parse_literal(ps, "true", jv_true(), out);
	case 'f':
		return parse_literal(ps, "false", jv_false(), out);
	case 'n':
		return parse_literal(ps, "null", jv_null(), out);
	default:
		if (*ps->p == '-' || is_digit(*ps->p))
			return parse_number(ps, out);
		return fail(ps, "unexpected character");
	}
}

static int parse(const char *s, size_t len, int keep_inf, jv *out, char *err, size_t errlen, size_t *at)
{
	struct parser ps = { s, s, s + len, err, errlen, 0, keep_inf, at };
	jv v = jv_invalid();
	int rc;

	if (len > INT32_MAX) {
		if (at)
			*at = 0;
		snprintf(err, errlen, "document too large");
		return -EINVAL;
	}
	skip_ws(&ps);
	rc = parse_value(&ps, &v);
	if (rc < 0)
		return rc;
	skip_ws(&ps);
	if (ps.p < ps.end) {
		jv_free(v);
		return fail(&ps, "unexpected data after the JSON value");
	}
	*out = v;
	return 0;
}

int aur_jvio_parse(const char *s, size_t len, jv *out, char *err, size_t errlen)
{
	return parse(s, len, 0, out, err, errlen, NULL);
}

int aur_jvio_parse_inf(const char *s, size_t len, jv *out, char *err, size_t errlen)
{
	return parse(s, len, 1, out, err, errlen, NULL);
}

int aur_jvio_parse_at(const char *s, size_t len, jv *out, char *err, size_t errlen, size_t *at)
{
	return parse(s, len, 0, out, err, errlen, at);
}

/* ---- printing --------------------------------------------------------- */

/* 1 for the bytes a JSON string cannot hold as they are. */
static const unsigned char must_escape[256] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
};

int aur_jvio_dump_str(const char *s, size_t len, struct aur_buf *b)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *e = p + len;
	int rc;

	rc = aur_buf_add(b, "\"", 1);
	while (rc == 0 && p < e) {
		const unsigned char *run = p;
		char esc[8];
		size_t n = 2;

		while (p < e && !must_escape[*p])
			p++;
		if (p > run)
			rc = aur_buf_add(b, run, (size_t)(p - run));
		if (rc < 0 || p >= e)
			break;
		esc[0] = '\\';
		switch (*p) {
		case '"':
			esc[1] = '"';
			break;
		case '\\':
			esc[1] = '\\';
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)*p);
			n = 6;
			break;
		}
		rc = aur_buf_add(b, esc, n);
		p++;
	}
	if (rc == 0)
		rc = aur_buf_add(b, "\"", 1);
	return rc;
}

static int dump_number(jv v, struct aur_buf *b)
{
	double d = jv_number_value(v);
	char digits[24];
	size_t i = sizeof(digits);
	unsigned long long u;
	jv s;
	int rc;

	/* integers print the same through libjq's shortest-form formatter */
	if (d == d && fabs(d) < 1e16 && d == trunc(d) && !(d == 0 && signbit(d))) {
		u = (unsigned long long)fabs(d);
		do {
			digits[--i] = (char)('0' + u % 10);
			u /= 10;
		} while (u);
		if (d < 0)
			digits[--i] = '-';
		return aur_buf_add(b, digits + i, sizeof(digits) - i);
	}
	s = jv_dump_string(jv_copy(v), 0);
	rc = aur_buf_add(b, jv_string_value(s), (size_t)jv_string_length_bytes(jv_copy(s)));
	jv_free(s);
	return rc;
}

static int dump_rec(jv v, struct aur_buf *b, int depth)
{
	int rc = 0;
	int first = 1;

	if (depth > AUR_JVIO_MAX_DUMP_DEPTH)
		return -E2BIG;
	switch (jv_get_kind(v)) {
	case JV_KIND_NULL:
		return aur_buf_add(b, "null", 4);
	case JV_KIND_FALSE:
		return aur_buf_add(b, "false", 5);
	case JV_KIND_TRUE:
		return aur_buf_add(b, "true", 4);
	case JV_KIND_NUMBER:
		return dump_number(v, b);
	case JV_KIND_STRING:
		return aur_jvio_dump_str(jv_string_value(v), (size_t)jv_string_length_bytes(jv_copy(v)), b);
	case JV_KIND_ARRAY: {
		int n = jv_array_length(jv_copy(v));

		rc = aur_buf_add(b, "[", 1);
		for (int i = 0; rc == 0 && i < n; i++) {
			jv x = jv_array_get(jv_copy(v), i);

			if (i)
				rc = aur_buf_add(b, ",", 1);
			if (rc == 0)
				rc = dump_rec(x, b, depth + 1);
			jv_free(x);
		}
		return rc ? rc : aur_buf_add(b, "]", 1);
	}
	case JV_KIND_OBJECT:
		rc = aur_buf_add(b, "{", 1);
		for (int i = jv_object_iter(v); rc == 0 && jv_object_iter_valid(v, i);
		     i = jv_object_iter_next(v, i)) {
			jv k = jv_object_iter_key(v, i);
			jv x = jv_object_iter_value(v, i);

			if (!first)
				rc = aur_buf_add(b, ",", 1);
			first = 0;
			if (rc == 0)
				rc = aur_jvio_dump_str(jv_string_value(k),
						       (size_t)jv_string_length_bytes(jv_copy(k)), b);
			if (rc == 0)
				rc = aur_buf_add(b, ":", 1);
			if (rc == 0)
				rc = dump_rec(x, b, depth + 1);
			jv_free(k);
			jv_free(x);
		}
		return rc ? rc : aur_buf_add(b, "}", 1);
	default:
		return -EINVAL;
	}
}

int aur_jvio_dump(jv v, struct aur_buf *b)
{
	return dump_rec(v, b, 0);
}

void aur_jvio_text(jv v, struct aur_buf *b)
{
	jv s;

	aur_buf_reset(b);
	if (aur_jvio_dump(v, b) == 0)
		return;
	aur_buf_reset(b);
	s = jv_dump_string(jv_copy(v), 0);
	aur_buf_add(b, jv_string_value(s), (size_t)jv_string_length_bytes(jv_copy(s)));
	jv_free(s);
}

void aur_jvio_describe(jv v, char *out, size_t outlen)
{
	struct aur_buf b;

	if (jv_get_kind(v) == JV_KIND_STRING) {
		snprintf(out, outlen, "%s", jv_string_value(v));
		return;
	}
	aur_buf_init(&b, 512);
	if (aur_jvio_dump(v, &b) < 0)
		snprintf(out, outlen, "%s", jv_kind_name(jv_get_kind(v)));
	else
		snprintf(out, outlen, "%s", b.data);
	aur_buf_release(&b);
}

const char *aur_jvio_str(jv o, const char *k)
{
	jv v;
	const char *s = NULL;

	if (jv_get_kind(o) != JV_KIND_OBJECT)
		return NULL;
	v = jv_object_get(jv_copy(o), jv_string(k));
	if (jv_get_kind(v) == JV_KIND_STRING)
		s = jv_string_value(v);
	jv_free(v); /* o still holds the string */
	return s;
}
