/*
 * investigate_words.c - the word helpers of the built-in investigator
 * (investigate_impl.h): lowercase copies, the stem a service goes by across
 * tools, whole-word matching in alert texts and the failing line of a log.
 * Pure functions over strings, every output bounded by its size.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "investigate_impl.h"
#include "banned.h"

void inv_lower_copy(char *dst, size_t n, const char *src)
{
	size_t i;

	for (i = 0; src && src[i] && i + 1 < n; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	dst[i] = '\0';
}

void inv_append(char *dst, size_t n, const char *src)
{
	size_t len = strlen(dst);

	if (!src || !*src || len + 2 >= n)
		return;
	dst[len++] = ' ';
	inv_lower_copy(dst + len, n - len, src);
}

int inv_ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

/* Drop a trailing "-12" (a host's or replica's number). */
void inv_strip_number(char *s)
{
	size_t n = strlen(s);
	size_t i = n;

	while (i > 0 && isdigit((unsigned char)s[i - 1]))
		i--;
	if (i < n && i > 1 && (s[i - 1] == '-' || s[i - 1] == '_'))
		s[i - 1] = '\0';
}

/*
 * The name a service goes by across tools: "Shipping API", "shipping-api",
 * "svc:shipping-prod", "kube_deployment:shipping-api" and the job
 * "shipping-deploy" all become "shipping".
 */
void inv_stem_of(const char *name, char *out, size_t n)
{
	static const char *const suffixes[] = { "-api", "-prod", "-production", "-deploy", "-deployment", "-build",
						 "-release", "-ci", "-pipeline", "-service", "-svc", "-app",
						 "-server", "-web", NULL };
	const char *p = name ? strrchr(name, ':') : NULL;
	size_t i = 0;
	int again = 1;

	out[0] = '\0';
	if (!name)
		return;
	p = p ? p + 1 : name;
	while (*p == ' ')
		p++;
	for (; *p && i + 1 < n; p++) {
		char c = (char)tolower((unsigned char)*p);

		if (!(isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.'))
			break;
		out[i++] = c;
	}
	out[i] = '\0';
	while (again) {
		again = 0;
		for (int k = 0; suffixes[k]; k++) {
			if (inv_ends_with(out, suffixes[k]) && strlen(out) > strlen(suffixes[k])) {
				out[strlen(out) - strlen(suffixes[k])] = '\0';
				again = 1;
			}
		}
	}
	inv_strip_number(out);
}

void inv_copy_str(char *dst, size_t n, const char *s)
{
	snprintf(dst, n, "%s", s ? s : "");
}

int inv_is_word_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.';
}

/* 1 when word occurs in text as a whole word (bounded by non-name characters). */
int inv_has_word(const char *text, const char *word)
{
	size_t n = strlen(word);
	const char *p = text;

	if (n < 3)
		return 0;
	while ((p = strstr(p, word)) != NULL) {
		int left = p == text || !inv_is_word_char(p[-1]);
		char r = p[n];
		int right = !r || !inv_is_word_char(r) || (r == '.' && !inv_is_word_char(p[n + 1])) ||
			    ((r == '-' || r == '_') && isdigit((unsigned char)p[n + 1]));

		if (left && right)
			return 1;
		p += n;
	}
	return 0;
}

/*
 * The failing part of a build log: the first line that says error, failed
 * or exception, else the last line; at most n - 1 bytes.
 */
void inv_log_excerpt(const char *log, char *out, size_t n)
{
	const char *best = NULL, *last = NULL;
	const char *p = log;

	out[0] = '\0';
	if (!log)
		return;
	while (*p) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		char line[512];

		if (len) {
			inv_lower_copy(line, len + 1 < sizeof(line) ? len + 1 : sizeof(line), p);
			last = p;
			if (!best && (strstr(line, "error") || strstr(line, "fail") || strstr(line, "exception")))
				best = p;
		}
		p += len + (e ? 1 : 0);
	}
	if (!best)
		best = last;
	if (best)
		snprintf(out, n, "%.*s", (int)strcspn(best, "\n"), best);
}
