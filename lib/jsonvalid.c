#include <stddef.h>
#include <string.h>

#include "jsonvalid.h"
#include "banned.h"

/* The scanner: the text, its length, and the position. */
struct scan {
	const unsigned char *s;
	size_t n;
	size_t i;
};

static void skip_ws(struct scan *sc)
{
	while (sc->i < sc->n && (sc->s[sc->i] == ' ' || sc->s[sc->i] == '\t' || sc->s[sc->i] == '\n' ||
				 sc->s[sc->i] == '\r'))
		sc->i++;
}

static int is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* One UTF-8 sequence of two or more bytes at sc->i: shortest form, no surrogates, at most U+10FFFF. */
static int utf8_seq(struct scan *sc)
{
	const unsigned char *p = sc->s + sc->i;
	size_t left = sc->n - sc->i;
	unsigned char c = p[0];
	size_t len;
	unsigned char lo = 0x80;
	unsigned char hi = 0xbf;

	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		else if (c == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90; /* overlong */
		else if (c == 0xf4)
			hi = 0x8f; /* past U+10FFFF */
	} else {
		return 0;
	}
	if (left < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t k = 2; k < len; k++)
		if (p[k] < 0x80 || p[k] > 0xbf)
			return 0;
	sc->i += len;
	return 1;
}

/* The code unit of a backslash-u escape (sc->i at its u, which it passes); 0x110000 when malformed. */
static unsigned escape(struct scan *sc)
{
	unsigned u = 0;

	if (sc->n - sc->i < 5)
		return 0x110000;
	for (size_t k = 1; k <= 4; k++) {
		unsigned char c = sc->s[sc->i + k];

		if (!is_hex(c))
			return 0x110000;
		u = u * 16 + (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	sc->i += 5;
	return u;
}

/* A string at sc->i (which holds the opening quote). */
static int string(struct scan *sc)
{
	sc->i++;
	while (sc->i < sc->n) {
		unsigned char c;
		size_t i = sc->i;

		/* most of a payload is plain ASCII: pass it without the checks below */
		while (i < sc->n && sc->s[i] >= 0x20 && sc->s[i] < 0x80 && sc->s[i] != '"' && sc->s[i] != '\\')
			i++;
		sc->i = i;
		if (i >= sc->n)
			break;
		c = sc->s[i];
		if (c == '"') {
			sc->i++;
			return 1;
		}
		if (c < 0x20)
			return 0;
		if (c == '\\') {
			if (++sc->i >= sc->n)
				return 0;
			c = sc->s[sc->i];
			if (c == 'u') {
				unsigned u = escape(sc);

				/* a surrogate only as a high-low pair (libjq refuses the rest) */
				if (u > 0xffff || (u >= 0xdc00 && u <= 0xdfff))
					return 0;
				if (u >= 0xd800 && u <= 0xdbff) {
					if (sc->n - sc->i < 2 || sc->s[sc->i] != '\\' || sc->s[sc->i + 1] != 'u')
						return 0;
					sc->i++;
					u = escape(sc);
					if (u < 0xdc00 || u > 0xdfff)
						return 0;
				}
			} else if (c && strchr("\"\\/bfnrt", c)) {
				sc->i++;
			} else {
				return 0;
			}
		} else if (c < 0x80) {
			sc->i++;
		} else if (!utf8_seq(sc)) {
			return 0;
		}
	}
	return 0;
}

static int digits(struct scan *sc)
{
	size_t start = sc->i;

	while (sc->i < sc->n && sc->s[sc->i] >= '0' && sc->s[sc->i] <= '9')
		sc->i++;
	return sc->i > start;
}

/* -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static int number(struct scan *sc)
{
	if (sc->i < sc->n && sc->s[sc->i] == '-')
		sc->i++;
	if (sc->i < sc->n && sc->s[sc->i] == '0')
		sc->i++;
	else if (!digits(sc))
		return 0;
	if (sc->i < sc->n && sc->s[sc->i] == '.') {
		sc->i++;
		if (!digits(sc))
			return 0;
	}
	if (sc->i < sc->n && (sc->s[sc->i] == 'e' || sc->s[sc->i] == 'E')) {
		sc->i++;
		if (sc->i < sc->n && (sc->s[sc->i] == '+' || sc->s[sc->i] == '-'))
			sc->i++;
		if (!digits(sc))
			return 0;
	}
	return 1;
}

static int literal(struct scan *sc, const char *word)
{
	size_t len = strlen(word);

	if (sc->n - sc->i < len || memcmp(sc->s + sc->i, word, len) != 0)
		return 0;
	sc->i += len;
	return 1;
}

/* An object member's key and colon. */
static int key(struct scan *sc)
{
	skip_ws(sc);
	if (sc->i >= sc->n || sc->s[sc->i] != '"' || !string(sc))
		return 0;
	skip_ws(sc);
	if (sc->i >= sc->n || sc->s[sc->i] != ':')
		return 0;
	sc->i++;
	return 1;
}

int aur_jsonvalid_check(const void *text, size_t n)
{
	struct scan sc = { text, n, 0 };
	unsigned char open[AUR_JSONVALID_MAX_DEPTH];
	size_t depth = 0;

	for (;;) {
		/* a value begins, or a container opens (then its first value or key comes next) */
		skip_ws(&sc);
		if (sc.i >= sc.n)
			return 0;
		switch (sc.s[sc.i]) {
		case '{':
		case '[':
			if (depth == AUR_JSONVALID_MAX_DEPTH)
				return 0;
			open[depth] = sc.s[sc.i] == '{' ? '}' : ']';
			sc.i++;
			skip_ws(&sc);
			if (sc.i < sc.n && sc.s[sc.i] == open[depth]) {
				sc.i++;
				break;
			}
			if (open[depth++] == '}' && !key(&sc))
				return 0;
			continue;
		case '"':
			if (!string(&sc))
				return 0;
			break;
		case 't':
			if (!literal(&sc, "true"))
				return 0;
			break;
		case 'f':
			if (!literal(&sc, "false"))
				return 0;
			break;
		case 'n':
			if (!literal(&sc, "null"))
				return 0;
			break;
		default:
			if (!number(&sc))
				return 0;
			break;
		}
		/* a value ended: close what ends here, then a separator or the end */
		for (;;) {
			skip_ws(&sc);
			if (depth == 0)
				return sc.i == sc.n;
			if (sc.i >= sc.n)
				return 0;
			if (sc.s[sc.i] == open[depth - 1]) {
				sc.i++;
				depth--;
				continue;
			}
			if (sc.s[sc.i] != ',')
				return 0;
			sc.i++;
			if (open[depth - 1] == '}' && !key(&sc))
				return 0;
			break;
		}
	}
}
