/*
 * investigate_console.c - the consoles of the builds that matter to the
 * built-in investigator (investigate_impl.h): the failed build of the
 * incident and the deploys among the leading hypotheses. A console is read
 * from the build's row when it was stored there; otherwise, when the
 * connector has a base URL and API credentials, its consoleText is fetched
 * once (fetch.h bounds it), its failing part kept and its tail stored on
 * the row, so a replay reads it there and fetches nothing.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "connector.h"
#include "db.h"
#include "diag.h"
#include "fetch.h"
#include "investigate_impl.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

#define CONSOLE_KEEP (1u << 20)   /* the last 1 MiB of a console is what is read */
#define CONSOLE_MAX (32u << 20)   /* a console past 32 MiB is not read to its end */
#define CONSOLE_STORED 8192       /* the tail stored on the build's row: the excerpt's source */
#define MAX_FETCHES 4             /* consoles fetched by one investigation */

/* url without user info (what a thought may show of a URL aurora did not build). */
static void printable_url(const char *url, char *out, size_t n)
{
	const char *host = strstr(url, "://");
	const char *after = NULL;
	size_t len;

	if (host) {
		host += 3;
		len = strcspn(host, "/?#");
		for (size_t i = 0; i < len; i++)
			if (host[i] == '@')
				after = host + i + 1;
	}
	if (after)
		snprintf(out, n, "%.*s%.300s", (int)(host - url), url, after);
	else
		snprintf(out, n, "%.300s", url);
}

static int has_prefix(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/*
 * The consoleText URL of a build: its notification's console URL, else
 * its build URL (relative ones under base), else base + job/NAME/N/ (a
 * folder's job under job/FOLDER/job/NAME/). 0, or -ENAMETOOLONG.
 */
static int console_text_url(const char *base, const char *job, long long number, const char *build_url,
			    const char *console_url, char *out, size_t n)
{
	size_t blen = strlen(base);
	size_t len;
	int w;

	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	if ((has_prefix(console_url, "http://") || has_prefix(console_url, "https://")) &&
	    inv_ends_with(console_url, "/console"))
		w = snprintf(out, n, "%sText", console_url);
	else if (has_prefix(build_url, "http://") || has_prefix(build_url, "https://"))
		w = snprintf(out, n, "%s%sconsoleText", build_url, inv_ends_with(build_url, "/") ? "" : "/");
	else if (*build_url)
		w = snprintf(out, n, "%.*s/%s%sconsoleText", (int)blen, base, build_url + strspn(build_url, "/"),
			     inv_ends_with(build_url, "/") ? "" : "/");
	else {
		const char *p = job;

		w = snprintf(out, n, "%.*s", (int)blen, base);
		while (w >= 0 && (size_t)w < n && *p) {
			size_t seg = strcspn(p, "/");
			size_t k;

			len = (size_t)w;
			w += snprintf(out + len, n - len, "/job/");
			for (k = 0; k < seg && (size_t)w + 4 < n; k++) {
				unsigned char c = (unsigned char)p[k];

				/* a job name is one path segment: everything else is escaped */
				if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
					out[w++] = (char)c;
				else
					w += snprintf(out + w, n - (size_t)w, "%%%02X", c);
			}
			if (k < seg)
				return -ENAMETOOLONG;
			out[w] = '\0';
			p += seg + (p[seg] == '/');
		}
		if (w >= 0 && (size_t)w < n)
			w += snprintf(out + w, n - (size_t)w, "/%lld/consoleText", number);
	}
	return w < 0 || (size_t)w >= n ? -ENAMETOOLONG : 0;
}

/* The connector of source (jenkins or cloudbees), loaded once; NULL for others or when it cannot be read. */
static const struct aur_connector *connector_of(struct inv *v, const char *source)
{
	char err[256];
	int k = !strcmp(source, "jenkins") ? 0 : !strcmp(source, "cloudbees") ? 1 : -1;

	if (k < 0)
		return NULL;
	if (!v->conn[k]) {
		v->conn[k] = aur_xcalloc(1, sizeof(*v->conn[k]));
		if (aur_connector_load(v->db, source, v->conn[k], err, sizeof(err)) < 0)
			memset(v->conn[k], 0, sizeof(*v->conn[k]));
	}
	return v->conn[k]->platform[0] ? v->conn[k] : NULL;
}

/* The console stored on the build's row by an earlier investigation: 1 with c filled, else 0. */
static int console_stored(struct inv *v, struct console *c)
{
	sqlite3_stmt *st = NULL;
	int found = 0;

	if (aur_db_prepare(v->db, &st,
			   "SELECT console_excerpt, coalesce(console_url, '') FROM builds"
			   " WHERE source = ? AND job = ? AND number = ? AND console_excerpt IS NOT NULL",
			   NULL, 0) < 0)
		return 0;
	sqlite3_bind_text(st, 1, c->source, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, c->job, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, c->number);
	if (sqlite3_step(st) == SQLITE_ROW) {
		inv_log_excerpt((const char *)sqlite3_column_text(st, 0), c->excerpt, sizeof(c->excerpt));
		inv_copy_str(c->link, sizeof(c->link), (const char *)sqlite3_column_text(st, 1));
		found = 1;
	}
	sqlite3_finalize(st);
	return found;
}

/* Keep the console's tail on the build's row; a failure to store costs only a fetch next time. */
static void console_store(struct inv *v, const struct console *c, const char *tail)
{
	sqlite3_stmt *st = NULL;

	if (aur_db_prepare(v->db, &st,
			   "UPDATE builds SET console_excerpt = ?1, console_url = ?2, console_fetched_ms = ?3"
			   " WHERE source = ?4 AND job = ?5 AND number = ?6",
			   NULL, 0) < 0)
		return;
	sqlite3_bind_text(st, 1, tail, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, c->link, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, aur_time_now_ms());
	sqlite3_bind_text(st, 4, c->source, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, c->job, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, c->number);
	sqlite3_step(st);
	sqlite3_finalize(st);
}

/* Every occurrence of secret in s overwritten with '*': a console may echo the token. */
static void blot(char *s, const char *secret)
{
	size_t k = strlen(secret);
	char *p = s;

	if (k < 4)
		return;
	while ((p = strstr(p, secret)) != NULL) {
		memset(p, '*', k);
		p += k;
	}
}

/* What a console read that came back without the console means, in words. */
static void http_failure(long status, const char *platform, char *out, size_t n)
{
	if (status == 401)
		snprintf(out, n, "HTTP 401: %s refused the credentials (aurora-connector credentials %s USER --stdin)",
			 platform, platform);
	else if (status == 403)
		snprintf(out, n, "HTTP 403: the %s user may not read this build", platform);
	else if (status == 404)
		snprintf(out, n, "HTTP 404: %s has no such build (deleted, or rotated out)", platform);
	else if (status >= 300 && status < 400)
		snprintf(out, n, "HTTP %ld: a redirect, not followed (aurora reads only under the base URL)", status);
	else
		snprintf(out, n, "HTTP %ld", status);
}

/*
 * Read the console of c's build from the connector into c (c->ok set);
 * every way it can fail says why in a thought. 0, or a sink's code.
 */
static int console_fetch(struct inv *v, const struct aur_connector *k, const char *build_url,
			 const char *console_url, struct console *c)
{
	char cand[2048], url[2048], why[256], err[256], shown[400];
	struct aur_fetch f;
	struct aur_fetch_result res;
	long long t0, left;
	const char *tail;
	char *red;
	int rc;

	if (!k->api_user[0] || !k->api_token[0])
		return inv_say(v, "The console of %s #%lld was not read: %s has a base URL but no credentials"
			       " (aurora-connector credentials %s USER --stdin)", c->job, c->number, k->platform,
			       k->platform);
	if (console_text_url(k->base_url, c->job, c->number, build_url, console_url, cand, sizeof(cand)) < 0)
		return inv_say(v, "The console of %s #%lld was not read: its URL would be too long", c->job, c->number);
	if (!aur_fetch_url_under(k->base_url, cand, url, sizeof(url), why, sizeof(why))) {
		printable_url(cand, shown, sizeof(shown));
		return inv_say(v, "The console of %s #%lld was not read: %s is outside the %s base URL %s (%s)", c->job,
			       c->number, shown, k->platform, k->base_url, why);
	}
	left = v->o->fetch_timeout_ms;
	if (v->o->budget_ms > 0 && v->fetch_ms + left > v->o->budget_ms / 5)
		left = v->o->budget_ms / 5 - v->fetch_ms;
	if (v->fetches >= MAX_FETCHES || left < 100)
		return inv_say(v, "The console of %s #%lld was not read: this investigation's time for reading consoles"
			       " is spent", c->job, c->number);
	aur_fetch_init(&f);
	f.url = url;
	f.user = k->api_user;
	f.password = k->api_token;
	f.user_agent = "aurora-rca";
	f.timeout_ms = (long)left;
	f.keep = CONSOLE_KEEP;
	f.keep_tail = 1;
	f.max_bytes = CONSOLE_MAX;
	t0 = aur_time_mono_ms();
	v->fetches++;
	rc = aur_fetch_get(&f, &res, err, sizeof(err));
	v->fetch_ms += aur_time_mono_ms() - t0;
	if (rc == 0 && (res.status < 200 || res.status > 299))
		http_failure(res.status, k->platform, err, sizeof(err));
	if (rc < 0 || res.status < 200 || res.status > 299) {
		aur_fetch_result_release(&res);
		return inv_say(v, "The console of %s #%lld was not read from %s: %s", c->job, c->number, url, err);
	}
	/* the last lines, from a line start: what the excerpt is taken from, and what is stored */
	tail = res.body + (res.len > CONSOLE_STORED ? res.len - CONSOLE_STORED : 0);
	if (tail != res.body && strchr(tail, '\n'))
		tail = strchr(tail, '\n') + 1;
	red = aur_diag_redact(tail, strlen(tail), NULL, NULL);
	blot(red, k->api_token);
	/* the link people follow is the console page, not its text */
	snprintf(c->link, sizeof(c->link), "%.*s",
		 (int)(strlen(url) - (inv_ends_with(url, "/consoleText") ? strlen("Text") : 0)), url);
	console_store(v, c, red);
	inv_log_excerpt(red, c->excerpt, sizeof(c->excerpt));
	c->ok = 1;
	free(red);
	aur_fetch_result_release(&res);
	return 0;
}

/*
 * The console of a build, once per investigation: stored, else fetched.
 * Returns the entry (c->ok when an excerpt is there) or NULL when there
 * is no connector for the source or no base URL; *rc a sink's code.
 */
static const struct console *console_of(struct inv *v, const char *source, const char *job, long long number,
					const char *build_url, const char *console_url, int *rc)
{
	const struct aur_connector *k;
	struct console *c;

	*rc = 0;
	for (size_t i = 0; i < v->nconsoles; i++) {
		c = &v->consoles[i];
		if (!strcmp(c->source, source) && !strcmp(c->job, job) && c->number == number)
			return c;
	}
	k = connector_of(v, source);
	if (!k || !k->base_url[0] || v->nconsoles == MAX_CONSOLES || !job[0])
		return NULL;
	c = &v->consoles[v->nconsoles++];
	memset(c, 0, sizeof(*c));
	inv_copy_str(c->source, sizeof(c->source), source);
	inv_copy_str(c->job, sizeof(c->job), job);
	c->number = number;
	if (console_stored(v, c))
		c->ok = 1;
	else if (v->o->fetch_timeout_ms > 0) /* --fetch-timeout 0s: what is stored, nothing fetched */
		*rc = console_fetch(v, k, build_url, console_url, c);
	if (*rc == 0 && c->ok)
		*rc = c->excerpt[0] ? inv_say(v, "The console of %s #%lld (%s) says: %s", job, number, c->link, c->excerpt)
				    : inv_say(v, "The console of %s #%lld (%s) is empty", job, number, c->link);
	return c;
}

/* The failed builds of the incident itself whose notification had no log: their console instead. */
int inv_consoles_of_failed_builds(struct inv *v)
{
	for (size_t i = 0; i < v->nalerts; i++) {
		struct alert *a = &v->alerts[i];
		const struct console *c;
		int rc;

		if (!a->failed_build[0] || a->build_log[0])
			continue;
		c = console_of(v, a->source, a->job, a->number, a->build_url, a->link, &rc);
		if (rc < 0)
			return rc;
		if (c && c->ok) {
			inv_copy_str(a->build_log, sizeof(a->build_log), c->excerpt);
			inv_copy_str(a->link, sizeof(a->link), c->link);
			a->console = 1;
		}
	}
	return 0;
}

/* The deploys among the leading hypotheses whose notification had no log: their console too. */
int inv_consoles_of_suspects(struct inv *v)
{
	for (size_t i = 0; i < v->nhyp && i < 3; i++) {
		struct build *b;
		const struct console *c;
		int rc;

		if (strcmp(v->hyp[i].kind, "deploy") != 0 || v->hyp[i].build < 0)
			continue;
		b = &v->builds[v->hyp[i].build];
		if (b->has_log || !b->number)
			continue;
		c = console_of(v, b->source, b->job, b->number, b->build_url, b->console_url, &rc);
		if (rc < 0)
			return rc;
		if (c && c->ok) {
			inv_copy_str(b->console, sizeof(b->console), c->excerpt);
			inv_copy_str(b->link, sizeof(b->link), c->link);
		}
	}
	return 0;
}
