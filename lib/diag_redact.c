/*
 * diag_redact.c - run_diagnostic's redaction (diag.h, aur_diag_redact):
 * secrets taken out of a command's output and of the reasons that quote a
 * command, before an investigator or a model sees them: key blocks,
 * NAME=VALUE pairs whose name says secret, tokens of known shapes and long
 * high-entropy words.
 */
#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "buf.h"
#include "diag.h"
#include "xalloc.h"
#include "banned.h"

struct span {
	size_t a, b;
};

struct spans {
	struct span *v;
	size_t n, cap;
};

static void span_add(struct spans *s, size_t a, size_t b)
{
	if (b <= a)
		return;
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 16;
		s->v = aur_xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n].a = a;
	s->v[s->n].b = b;
	s->n++;
}

static int span_cmp(const void *x, const void *y)
{
	const struct span *a = x;
	const struct span *b = y;

	return a->a < b->a ? -1 : a->a > b->a;
}

/* the words of a key whose value is a secret; one group */
#define SECRET_WORDS \
	"(password|passwd|passphrase|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?)"

struct redact_re {
	const char *re;
	int flags;
	int group;
};

static const struct redact_re redact_res[] = {
	/* Authorization values, whatever their scheme */
	{ "authorization[\"']?[[:blank:]]*[:=][[:blank:]]*[\"']?([^\"'\r\n]+)", REG_ICASE, 1 },
	{ "(bearer|basic)[[:blank:]]+([A-Za-z0-9._~+/=-]{8,})", REG_ICASE, 2 },
	/* key: value and key=value for secret-looking keys, in text, YAML, JSON, env */
	{ "[A-Za-z0-9_.-]*" SECRET_WORDS "[A-Za-z0-9_.-]*[\"']?[[:blank:]]*[:=][[:blank:]]*[\"']?"
	  "([^[:space:]\"',;}]+)", REG_ICASE, 2 },
	{ "(AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA|ABIA|ACCA)[A-Z0-9]{16}", 0, 0 },
	{ "eyJ[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]*", 0, 0 },
	{ "(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,}|"
	  "xox[abposr]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35}|sk-[A-Za-z0-9_-]{20,})", 0, 0 },
	/* Kubernetes env on one line: {"name": "DB_PASSWORD", "value": "..."} */
	{ "name[\"']?[[:blank:]]*:[[:blank:]]*[\"']?[A-Za-z0-9_.-]*" SECRET_WORDS
	  "[A-Za-z0-9_.-]*[\"']?[[:blank:]]*,[[:blank:]]*[\"']?value[\"']?[[:blank:]]*:[[:blank:]]*"
	  "[\"']?([^\"'\r\n,}]+)", REG_ICASE, 2 },
	/* the password in scheme://user:password@host */
	{ "[A-Za-z][A-Za-z0-9+.-]*://[^/[:space:]:@]+:([^/[:space:]@]+)@", 0, 1 },
};

/* [a, b) of the line holding t[i]; b at the '\n' or len */
static void line_at(const char *t, size_t len, size_t i, size_t *a, size_t *b)
{
	*a = i;
	while (*a > 0 && t[*a - 1] != '\n')
		(*a)--;
	*b = i;
	while (*b < len && t[*b] != '\n')
		(*b)++;
}

static int line_has(const char *t, size_t a, size_t b, const char *w)
{
	size_t n = strlen(w);

	for (size_t i = a; i + n <= b; i++)
		if (!memcmp(t + i, w, n))
			return 1;
	return 0;
}

/* a line of nothing but base64 (a key's body), not empty */
static int b64_line(const char *t, size_t a, size_t b)
{
	int any = 0;

	for (size_t i = a; i < b; i++) {
		unsigned char c = (unsigned char)t[i];
		if (isalnum(c) || c == '+' || c == '/' || c == '=')
			any = 1;
		else if (c != '\r')
			return 0;
	}
	return any;
}

/*
 * Every line that says PRIVATE KEY goes, and with it the key: from a BEGIN
 * line to the END line after it (or the end of the text, when the cap cut
 * it); before an END line with no BEGIN (a mangled header), the base64
 * lines just above it. The fuzzer found the mangled header.
 */
static void redact_key_blocks(const char *t, size_t len, struct spans *s)
{
	const char *p = t;

	while ((p = strstr(p, "PRIVATE KEY")) != NULL) {
		size_t a, b, ea, eb;
		const char *q;

		line_at(t, len, (size_t)(p - t), &a, &b);
		if (line_has(t, a, b, "BEGIN")) {
			eb = len;
			for (q = t + b; (q = strstr(q, "PRIVATE KEY")) != NULL; q += 11) {
				line_at(t, len, (size_t)(q - t), &ea, &eb);
				if (line_has(t, ea, eb, "END"))
					break;
				eb = len;
			}
			b = eb;
		} else if (line_has(t, a, b, "END")) {
			while (a > 0) {
				size_t pa, pb;
				line_at(t, len, a - 1, &pa, &pb);
				if (!b64_line(t, pa, pb))
					break;
				a = pa;
			}
		}
		span_add(s, a, b);
		p = t + (b < len ? b + 1 : len);
		if (b >= len)
			break;
	}
}

/*
 * Kubernetes env over two lines, as -o yaml and -o json print it:
 *     - name: DB_PASSWORD          "name": "DB_PASSWORD",
 *       value: hunter2             "value": "hunter2"
 * The value on the line after a secret-looking name goes.
 */
static void redact_env_pairs(const char *t, size_t len, struct spans *s)
{
	regex_t name_re;
	regex_t value_re;
	regmatch_t m[3];
	size_t off = 0;

	if (regcomp(&name_re, "name[\"']?[[:blank:]]*:[[:blank:]]*[\"']?[A-Za-z0-9_.-]*" SECRET_WORDS
		    "[A-Za-z0-9_.-]*[\"']?,?[[:blank:]]*\r?$", REG_EXTENDED | REG_NEWLINE | REG_ICASE))
		return;
	if (regcomp(&value_re, "^[[:blank:]]*-?[[:blank:]]*[\"']?value[\"']?[[:blank:]]*:[[:blank:]]*"
		    "[\"']?([^\"'\r\n]+)", REG_EXTENDED | REG_NEWLINE | REG_ICASE)) {
		regfree(&name_re);
		return;
	}
	while (off < len) {
		size_t next;

		m[0].rm_so = (regoff_t)off;
		m[0].rm_eo = (regoff_t)len;
		if (regexec(&name_re, t, 3, m, REG_STARTEND | (off ? REG_NOTBOL : 0)) != 0)
			break;
		next = (size_t)m[0].rm_eo;
		while (next < len && t[next] != '\n')
			next++;
		if (next < len) {
			regmatch_t v[2];
			size_t eol = next + 1;
			while (eol < len && t[eol] != '\n')
				eol++;
			v[0].rm_so = (regoff_t)(next + 1);
			v[0].rm_eo = (regoff_t)eol;
			if (regexec(&value_re, t, 2, v, REG_STARTEND) == 0 && v[1].rm_so >= 0)
				span_add(s, (size_t)v[1].rm_so, (size_t)v[1].rm_eo);
		}
		off = next > off ? next : off + 1;
	}
	regfree(&name_re);
	regfree(&value_re);
}

static int b64_char(unsigned char c)
{
	return isalnum(c) || c == '+' || c == '/' || c == '=' || c == '_' || c == '-';
}

/* long runs that look random on a line that mentions a secret */
static void redact_entropy(const char *t, size_t len, struct spans *s)
{
	static const char *const hints[] = { "secret", "key", "token", "passw", "credential",
					     "auth", NULL };
	size_t i = 0;

	while (i < len) {
		size_t eol = i;
		int hinted = 0;

		while (eol < len && t[eol] != '\n')
			eol++;
		for (size_t h = 0; hints[h] && !hinted; h++) {
			size_t k = strlen(hints[h]);
			for (size_t j = i; j + k <= eol && !hinted; j++)
				hinted = !strncasecmp(t + j, hints[h], k);
		}
		for (size_t j = i; hinted && j < eol;) {
			size_t a = j;
			int up = 0, lo = 0, dig = 0, hex = 1;

			while (j < eol && b64_char((unsigned char)t[j])) {
				unsigned char c = (unsigned char)t[j];
				up |= isupper(c) != 0;
				lo |= islower(c) != 0;
				dig |= isdigit(c) != 0;
				hex &= isxdigit(c) != 0;
				j++;
			}
			if (j - a >= 32 && (up + lo + dig == 3 || (hex && dig && (up || lo))))
				span_add(s, a, j);
			if (j == a)
				j++;
		}
		i = eol + 1;
	}
}

char *aur_diag_redact(const char *text, size_t len, size_t *out_len, unsigned *count)
{
	static const char mark[] = "[redacted]";
	struct spans s = { 0 };
	struct aur_buf out;
	char *t = aur_xmalloc(len + 1);
	unsigned n = 0;
	char *r;

	for (size_t i = 0; i < len; i++)
		t[i] = text[i] ? text[i] : ' ';
	t[len] = '\0';
	redact_key_blocks(t, len, &s);
	for (size_t k = 0; k < sizeof(redact_res) / sizeof(redact_res[0]); k++) {
		regex_t re;
		regmatch_t m[4];
		size_t off = 0;

		if (regcomp(&re, redact_res[k].re, REG_EXTENDED | REG_NEWLINE | redact_res[k].flags))
			continue; /* a fixed pattern: covered by the unit tests */
		/* REG_STARTEND: from off to len, offsets from t; without it every
		 * match costs a strlen of the rest (16 MiB of log took 21 s) */
		for (;;) {
			int g = redact_res[k].group;
			if (off >= len)
				break;
			m[0].rm_so = (regoff_t)off;
			m[0].rm_eo = (regoff_t)len;
			if (regexec(&re, t, 4, m, REG_STARTEND | (off ? REG_NOTBOL : 0)) != 0)
				break;
			if (m[g].rm_so >= 0)
				span_add(&s, (size_t)m[g].rm_so, (size_t)m[g].rm_eo);
			off = (size_t)m[0].rm_eo > off ? (size_t)m[0].rm_eo : off + 1;
		}
		regfree(&re);
	}
	redact_env_pairs(t, len, &s);
	redact_entropy(t, len, &s);

	aur_buf_init(&out, 0);
	if (s.n)
		qsort(s.v, s.n, sizeof(*s.v), span_cmp);
	{
		size_t pos = 0;
		for (size_t i = 0; i < s.n; i++) {
			size_t a = s.v[i].a;
			size_t b = s.v[i].b;
			/* overlapping spans merge into one mark */
			while (i + 1 < s.n && s.v[i + 1].a <= b) {
				if (s.v[i + 1].b > b)
					b = s.v[i + 1].b;
				i++;
			}
			if (a < pos)
				a = pos;
			if (b <= pos)
				continue;
			/* a value that is already a mark stays as it is */
			if (b - a == sizeof(mark) - 1 && !memcmp(t + a, mark, b - a)) {
				aur_buf_add(&out, t + pos, b - pos);
				pos = b;
				continue;
			}
			aur_buf_add(&out, t + pos, a - pos);
			aur_buf_adds(&out, mark);
			pos = b;
			n++;
		}
		aur_buf_add(&out, t + pos, len - pos);
	}
	aur_auth_wipe(t, len);
	free(t);
	free(s.v);
	r = aur_buf_detach(&out, out_len);
	if (count)
		*count = n;
	return r;
}
