/*
 * investigate.c - the built-in investigator (investigate.h).
 *
 * Deterministic and offline: it reads only the store (the incident, its
 * alerts and their records, the Jenkins and CloudBees builds stored beside
 * them, including builds that opened no incident) - save the console of a
 * build that matters and came without a log, read once from the
 * connector's base URL and stored for every later investigation (see
 * "Consoles" below) - and ranks hypotheses by explicit evidence, each kind
 * with its own rule:
 *   certificate  an alert text names an expired or invalid certificate:
 *                the host name it was issued for
 *   dns          lookups failing: the name looked up, or the cluster DNS
 *                when the names are cluster-internal
 *   deploy       a deploy of a service the alerts are on or name, within
 *                the lookback before the first alert; stronger when that
 *                service is also the dependency the others blame
 *   dependency   a service or database named by the alerts of others
 *                (labels upstream/db, "talking to X", "calls to X")
 *   fleet        one alarm on several hosts of one fleet (web-1, web-2 ...)
 *   host         the host alarms of a single host
 *   root cause   Dynatrace's own root-cause entity
 * With a service catalog (o->catalog) an alert's service is its catalog
 * component (aur_inv_component_of: aliases and tool names of one
 * component are one service, its stem the component's name), names of
 * dependencies and builds resolve to components too, a component's
 * catalog dependencies that alarm themselves (in the incident, or in
 * another near it) are dependency hypotheses weighted like a label, and a
 * build of one is an upstream deploy; a dependency that raised no alert
 * is only suggested for a look, never blamed. Without a catalog none of
 * this runs and the answers are those from what the alerts carry.
 * The best score wins when it is clear; below a floor the answer is "no
 * clear cause" (kind unknown, low confidence) rather than a guess. Order
 * of alerts and builds is by time, then id, so a replay gives the same
 * thoughts and the same answer.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog.h"
#include "connector.h"
#include "db.h"
#include "diag.h"
#include "fetch.h"
#include "investigate.h"
#include "timeutil.h"
#include "xalloc.h"
#include "jvio.h"
#include "banned.h"

#define MAX_ALERTS 400
#define MAX_BUILDS 200
#define MAX_HYP 64
#define TEXT_MAX 2048
#define NAME_MAX_ 128
#define PREVIOUS_WAIT_TRIES 200 /* 10 s at 50 ms */
#define CONSOLE_KEEP (1u << 20)   /* the last 1 MiB of a console is what is read */
#define CONSOLE_MAX (32u << 20)   /* a console past 32 MiB is not read to its end */
#define CONSOLE_STORED 8192       /* the tail stored on the build's row: the excerpt's source */
#define MAX_FETCHES 4             /* consoles fetched by one investigation */
#define MAX_CONSOLES 8            /* builds whose console one investigation looks at */
#define MAX_CATALOG_DEPS 16       /* catalog dependencies of one component looked at */
#define MAX_UNBLAMED 8            /* catalog dependencies with no alert, kept for suggestions */
#define NEAR_BEFORE_MS (30 * 60000LL) /* other incidents' alerts this long before the first count */

void aur_inv_options_init(struct aur_inv_options *o)
{
	o->lookback_ms = 2LL * 3600 * 1000;
	o->step_delay_ms = 0;
	o->budget_ms = 0;
	o->fetch_timeout_ms = 5000;
	o->llm = NULL;
	o->catalog = NULL;
}

struct alert {
	long long id;
	long long t;
	char source[24];
	char severity[12];
	char title[256];
	char service[NAME_MAX_];
	char stem[NAME_MAX_];      /* service without -api, -prod, a host number ... */
	char host[NAME_MAX_];
	char host_stem[NAME_MAX_];
	char alarm[NAME_MAX_];     /* what alarmed, the same on every host of a fleet */
	char link[512];
	char text[TEXT_MAX];       /* title, description, label values: lowercased */
	char ns[NAME_MAX_];        /* Kubernetes namespace and pod, when labelled */
	char pod[NAME_MAX_];
	char rc_entity[NAME_MAX_]; /* Dynatrace's root-cause entity */
	char dep[NAME_MAX_];       /* a dependency a label names (upstream, db ...) */
	char failed_build[NAME_MAX_ * 2]; /* "job #N" of a failed Jenkins/CloudBees build */
	char build_log[256];       /* the failing part of its log */
	char job[NAME_MAX_];       /* the failed build's job and number */
	long long number;
	char build_url[512];       /* its URL, absolute or relative to the connector's base URL */
	int console;               /* build_log came from the build's console, not the notification */
	char commit[64];
	int minor;                 /* severity info: context, never a cause alone */
	const char *comp;          /* its catalog component (then also its stem), or NULL */
	const char *rc_comp;       /* the component Dynatrace's root-cause entity is, or NULL */
};

struct build {
	long long id;
	long long t;
	char source[24];
	char job[NAME_MAX_];
	char stem[NAME_MAX_];
	long long number;
	char result[24];
	char commit[64];
	char branch[NAME_MAX_];
	char link[512];
	char culprits[256];
	char build_url[512];
	char console_url[512];
	int has_log;               /* the notification carried a log */
	char console[256];         /* the failing part of its console, when it was read */
	int deploy;
	const char *comp;          /* the catalog component it builds (then also its stem), or NULL */
	char job_stem[NAME_MAX_];  /* its stem from the job's name, whatever the catalog says */
};

/* A build's console this investigation looked at: each is fetched once at most. */
struct console {
	char source[24];
	char job[NAME_MAX_];
	long long number;
	int ok;
	char excerpt[256];
	char link[512];
};

struct hyp {
	const char *kind;
	char entity[NAME_MAX_ * 2];
	char summary[640];
	char why[640];
	double score;
	long long alert_id;  /* main evidence */
	int build;           /* index into builds, or -1 */
	int support;         /* alerts behind it */
	char catalog[320];   /* "A depends on B (catalog)": the catalog's word for a dependency */
	int by_catalog;      /* alerts counted in support through the catalog (2 each, like a label) */
	long long own_id;    /* a catalog dependency's own alert */
	int outside;         /* its own alerts outside the incident, firing near it */
};

/* An alert of another incident near this one, by catalog component (with a catalog only). */
struct near {
	long long id;
	const char *comp;
	char title[256];
	char link[512];
};

/* A catalog dependency that raised no alert: not blamed, but worth a look. */
struct unblamed {
	const char *dep;
	const char *of;
};

struct inv {
	sqlite3 *db;
	const struct aur_inv_options *o;
	const struct aur_inv_sink *sink;
	struct alert *alerts;
	size_t nalerts;
	struct build *builds;
	size_t nbuilds;
	struct hyp hyp[MAX_HYP];
	size_t nhyp;
	char title[256];
	char service[NAME_MAX_];
	char link[512];
	long long started_ms;       /* the incident's start: the anchor of the lookback */
	long long previous;         /* the incident this one recurs, or 0 */
	struct aur_connector *conn[2]; /* jenkins, cloudbees: loaded when a console is wanted */
	struct console consoles[MAX_CONSOLES];
	size_t nconsoles;
	int fetches;
	long long fetch_ms;         /* time spent fetching so far */
	struct near *near;          /* other incidents' alerts near this one, loaded on first need */
	size_t nnear;
	int near_loaded;
	struct unblamed unblamed[MAX_UNBLAMED];
	size_t nunblamed;
	char catalog_said[1024];    /* what the catalog added, for a thought */
};

static void pause_step(const struct aur_inv_options *o)
{
	struct timespec ts;

	if (o->step_delay_ms <= 0)
		return;
	ts.tv_sec = o->step_delay_ms / 1000;
	ts.tv_nsec = (long)(o->step_delay_ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int say(struct inv *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int say(struct inv *v, const char *fmt, ...)
{
	char text[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	pause_step(v->o);
	return v->sink->thought(v->sink->ctx, text);
}

static void lower_copy(char *dst, size_t n, const char *src)
{
	size_t i;

	for (i = 0; src && src[i] && i + 1 < n; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	dst[i] = '\0';
}

static void append(char *dst, size_t n, const char *src)
{
	size_t len = strlen(dst);

	if (!src || !*src || len + 2 >= n)
		return;
	dst[len++] = ' ';
	lower_copy(dst + len, n - len, src);
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

/* Drop a trailing "-12" (a host's or replica's number). */
static void strip_number(char *s)
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
static void stem_of(const char *name, char *out, size_t n)
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
			if (ends_with(out, suffixes[k]) && strlen(out) > strlen(suffixes[k])) {
				out[strlen(out) - strlen(suffixes[k])] = '\0';
				again = 1;
			}
		}
	}
	strip_number(out);
}

static void copy_str(char *dst, size_t n, const char *s)
{
	snprintf(dst, n, "%s", s ? s : "");
}

static int is_word_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.';
}

/* 1 when word occurs in text as a whole word (bounded by non-name characters). */
static int has_word(const char *text, const char *word)
{
	size_t n = strlen(word);
	const char *p = text;

	if (n < 3)
		return 0;
	while ((p = strstr(p, word)) != NULL) {
		int left = p == text || !is_word_char(p[-1]);
		char r = p[n];
		int right = !r || !is_word_char(r) || (r == '.' && !is_word_char(p[n + 1])) ||
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
static void log_excerpt(const char *log, char *out, size_t n)
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
			lower_copy(line, len + 1 < sizeof(line) ? len + 1 : sizeof(line), p);
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

/* The component Dynatrace's root-cause entity is: by its entity id, else its name. */
static const char *dynatrace_root_cause(const struct aur_catalog *cat, jv ctx)
{
	jv rc = jv_get_kind(ctx) == JV_KIND_OBJECT ? jv_object_get(jv_copy(ctx), jv_string("root_cause")) : jv_invalid();
	const char *comp = NULL;
	const char *const keys[] = { "entity_id", "entityId", "entity", "name", "entityName", NULL };

	for (int k = 0; keys[k] && !comp; k++)
		if (aur_jvio_str(rc, keys[k]))
			comp = aur_catalog_resolve(cat, AUR_CATALOG_DYNATRACE, aur_jvio_str(rc, keys[k]));
	jv_free(rc);
	return comp;
}

/* Labels that name what a service depends on. */
static const char *const dep_labels[] = { "upstream", "db", "database", "dependency", "peer_service", "datastore",
					  "backend", "downstream", NULL };

static void load_alert(struct alert *a, sqlite3_stmt *st, const struct aur_catalog *cat)
{
	const char *rec = (const char *)sqlite3_column_text(st, 7);
	jv r = rec ? jv_parse(rec) : jv_invalid();
	jv labels = jv_invalid();
	jv ctx = jv_invalid();

	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(st, 0);
	copy_str(a->source, sizeof(a->source), (const char *)sqlite3_column_text(st, 1));
	copy_str(a->severity, sizeof(a->severity), (const char *)sqlite3_column_text(st, 2));
	copy_str(a->title, sizeof(a->title), (const char *)sqlite3_column_text(st, 3));
	copy_str(a->service, sizeof(a->service), (const char *)sqlite3_column_text(st, 4));
	copy_str(a->host, sizeof(a->host), (const char *)sqlite3_column_text(st, 5));
	a->t = sqlite3_column_int64(st, 6);
	a->minor = !strcmp(a->severity, "info");
	lower_copy(a->text, sizeof(a->text), a->title);
	if (jv_get_kind(r) == JV_KIND_OBJECT) {
		append(a->text, sizeof(a->text), aur_jvio_str(r, "description"));
		copy_str(a->link, sizeof(a->link), aur_jvio_str(r, "link"));
		labels = jv_object_get(jv_copy(r), jv_string("labels"));
		ctx = jv_object_get(jv_copy(r), jv_string("context"));
		{
			long long t;

			if (aur_jvio_str(r, "started_at") && aur_time_parse_ms(aur_jvio_str(r, "started_at"), &t) == 0)
				a->t = t;
		}
		if (!a->service[0] && aur_jvio_str(r, "entity"))
			copy_str(a->service, sizeof(a->service), aur_jvio_str(r, "entity"));
	}
	if (jv_get_kind(labels) == JV_KIND_OBJECT) {
		jv_object_foreach(jv_copy(labels), k, val) {
			if (jv_get_kind(val) == JV_KIND_STRING && strcmp(jv_string_value(k), "alertname") != 0 &&
			    strcmp(jv_string_value(k), "severity") != 0)
				append(a->text, sizeof(a->text), jv_string_value(val));
			jv_free(k);
			jv_free(val);
		}
		copy_str(a->ns, sizeof(a->ns), aur_jvio_str(labels, "namespace"));
		copy_str(a->pod, sizeof(a->pod), aur_jvio_str(labels, "pod"));
		copy_str(a->alarm, sizeof(a->alarm), aur_jvio_str(labels, "alertname"));
		for (int k = 0; dep_labels[k] && !a->dep[0]; k++)
			copy_str(a->dep, sizeof(a->dep), aur_jvio_str(labels, dep_labels[k]));
	}
	if (jv_get_kind(ctx) == JV_KIND_OBJECT && (!strcmp(a->source, "jenkins") || !strcmp(a->source, "cloudbees"))) {
		const char *result = aur_jvio_str(ctx, "result");
		jv n = jv_object_get(jv_copy(ctx), jv_string("build_number"));

		if (result && aur_jvio_str(ctx, "job") && jv_get_kind(n) == JV_KIND_NUMBER &&
		    (!strcasecmp(result, "FAILURE") || !strcasecmp(result, "UNSTABLE"))) {
			snprintf(a->failed_build, sizeof(a->failed_build), "%s #%lld", aur_jvio_str(ctx, "job"),
				 (long long)jv_number_value(n));
			copy_str(a->job, sizeof(a->job), aur_jvio_str(ctx, "job"));
			a->number = (long long)jv_number_value(n);
			copy_str(a->build_url, sizeof(a->build_url),
				 aur_jvio_str(ctx, "build_url") ? aur_jvio_str(ctx, "build_url") : aur_jvio_str(r, "link"));
			log_excerpt(aur_jvio_str(ctx, "log_tail"), a->build_log, sizeof(a->build_log));
			copy_str(a->commit, sizeof(a->commit), aur_jvio_str(ctx, "commit"));
			if (aur_jvio_str(ctx, "console_url"))
				copy_str(a->link, sizeof(a->link), aur_jvio_str(ctx, "console_url"));
		}
		jv_free(n);
	}
	if (jv_get_kind(ctx) == JV_KIND_OBJECT) {
		jv rc = jv_object_get(jv_copy(ctx), jv_string("root_cause"));

		if (!a->alarm[0])
			copy_str(a->alarm, sizeof(a->alarm), aur_jvio_str(ctx, "alarm"));
		if (jv_get_kind(rc) == JV_KIND_OBJECT) {
			const char *name = aur_jvio_str(rc, "name") ? aur_jvio_str(rc, "name") : aur_jvio_str(rc, "entityName");

			if (!name)
				name = aur_jvio_str(rc, "entity");
			copy_str(a->rc_entity, sizeof(a->rc_entity), name);
		} else if (jv_get_kind(rc) == JV_KIND_STRING) {
			copy_str(a->rc_entity, sizeof(a->rc_entity), jv_string_value(rc));
		}
		jv_free(rc);
		/* Splunk's result row: its fields are evidence too */
		rc = jv_object_get(jv_copy(ctx), jv_string("result"));
		if (jv_get_kind(rc) == JV_KIND_OBJECT) {
			jv_object_foreach(jv_copy(rc), k, val) {
				if (jv_get_kind(val) == JV_KIND_STRING)
					append(a->text, sizeof(a->text), jv_string_value(val));
				jv_free(k);
				jv_free(val);
			}
		}
		jv_free(rc);
	}
	if (!a->alarm[0]) {
		/* the title without the host: "cpu on web-1" and "cpu on web-2" alarm alike */
		const char *on = a->host[0] ? strstr(a->title, a->host) : NULL;

		snprintf(a->alarm, sizeof(a->alarm), "%.*s", on ? (int)(on - a->title) : (int)strlen(a->title),
			 a->title);
	}
	stem_of(a->service, a->stem, sizeof(a->stem));
	if (cat) {
		/* aliases of one component are one service: its catalog name */
		a->comp = aur_inv_component_of(cat, r);
		if (a->comp)
			copy_str(a->stem, sizeof(a->stem), a->comp);
		a->rc_comp = dynatrace_root_cause(cat, ctx);
	}
	copy_str(a->host_stem, sizeof(a->host_stem), a->host);
	strip_number(a->host_stem);
	jv_free(labels);
	jv_free(ctx);
	jv_free(r);
}

static void load_build(struct build *b, sqlite3_stmt *st, const struct aur_catalog *cat)
{
	const char *rec = (const char *)sqlite3_column_text(st, 4);
	jv r = rec ? jv_parse(rec) : jv_invalid();
	jv ctx = jv_invalid();

	memset(b, 0, sizeof(*b));
	b->id = sqlite3_column_int64(st, 0);
	copy_str(b->source, sizeof(b->source), (const char *)sqlite3_column_text(st, 1));
	copy_str(b->job, sizeof(b->job), (const char *)sqlite3_column_text(st, 2));
	b->t = sqlite3_column_int64(st, 3);
	if (jv_get_kind(r) == JV_KIND_OBJECT) {
		copy_str(b->link, sizeof(b->link), aur_jvio_str(r, "link"));
		ctx = jv_object_get(jv_copy(r), jv_string("context"));
	}
	if (jv_get_kind(ctx) == JV_KIND_OBJECT) {
		jv n = jv_object_get(jv_copy(ctx), jv_string("build_number"));
		jv cul = jv_object_get(jv_copy(ctx), jv_string("culprits"));

		if (aur_jvio_str(ctx, "job"))
			copy_str(b->job, sizeof(b->job), aur_jvio_str(ctx, "job"));
		if (jv_get_kind(n) == JV_KIND_NUMBER)
			b->number = (long long)jv_number_value(n);
		copy_str(b->result, sizeof(b->result), aur_jvio_str(ctx, "result"));
		copy_str(b->commit, sizeof(b->commit), aur_jvio_str(ctx, "commit"));
		copy_str(b->branch, sizeof(b->branch), aur_jvio_str(ctx, "branch"));
		if (aur_jvio_str(ctx, "console_url"))
			copy_str(b->link, sizeof(b->link), aur_jvio_str(ctx, "console_url"));
		copy_str(b->console_url, sizeof(b->console_url), aur_jvio_str(ctx, "console_url"));
		copy_str(b->build_url, sizeof(b->build_url),
			 aur_jvio_str(ctx, "build_url") ? aur_jvio_str(ctx, "build_url") : aur_jvio_str(r, "link"));
		b->has_log = aur_jvio_str(ctx, "log_tail") && *aur_jvio_str(ctx, "log_tail");
		if (jv_get_kind(cul) == JV_KIND_ARRAY) {
			jv_array_foreach(cul, i, c) {
				if (jv_get_kind(c) == JV_KIND_STRING)
					snprintf(b->culprits + strlen(b->culprits), sizeof(b->culprits) - strlen(b->culprits),
						 "%s%s", i ? ", " : "", jv_string_value(c));
				jv_free(c);
			}
		}
		jv_free(n);
		jv_free(cul);
	}
	{
		char job[NAME_MAX_];

		lower_copy(job, sizeof(job), b->job);
		b->deploy = strstr(job, "deploy") || strstr(job, "release") || strstr(job, "rollout") ||
			    strstr(job, "promote");
	}
	stem_of(b->job, b->stem, sizeof(b->stem));
	copy_str(b->job_stem, sizeof(b->job_stem), b->stem);
	if (cat) {
		/* the job by its name, else by what it builds: checkout-deploy builds checkout */
		b->comp = aur_catalog_resolve(cat, AUR_CATALOG_ANY, b->job);
		if (!b->comp && b->stem[0])
			b->comp = aur_catalog_resolve(cat, AUR_CATALOG_ANY, b->stem);
		if (b->comp)
			copy_str(b->stem, sizeof(b->stem), b->comp);
	}
	jv_free(ctx);
	jv_free(r);
}

static int by_time(const void *x, const void *y)
{
	const struct alert *a = x, *b = y;

	if (a->t != b->t)
		return a->t < b->t ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

static int load(struct inv *v, long long id, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	long long first = 0, last = 0;
	int rc;

	rc = aur_db_prepare(v->db, &st,
			    "SELECT title, service, source_link, started_ms, coalesce(previous_incident, 0) FROM incidents"
			    " WHERE id = ?",
			    err, errlen);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		snprintf(err, errlen, "no incident %lld", id);
		sqlite3_finalize(st);
		return -ENOENT;
	}
	copy_str(v->title, sizeof(v->title), (const char *)sqlite3_column_text(st, 0));
	copy_str(v->service, sizeof(v->service), (const char *)sqlite3_column_text(st, 1));
	copy_str(v->link, sizeof(v->link), (const char *)sqlite3_column_text(st, 2));
	v->started_ms = sqlite3_column_int64(st, 3);
	v->previous = sqlite3_column_int64(st, 4);
	sqlite3_finalize(st);
	st = NULL;

	rc = aur_db_prepare(v->db, &st,
			    "SELECT a.id, a.source, a.severity, a.title, a.service, a.host, a.first_seen_ms, a.record"
			    " FROM incident_alerts ia JOIN alerts a ON a.id = ia.alert_id WHERE ia.incident_id = ?"
			    " ORDER BY a.first_seen_ms, a.id LIMIT ?",
			    err, errlen);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, MAX_ALERTS);
	v->alerts = aur_xcalloc(MAX_ALERTS, sizeof(*v->alerts));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		load_alert(&v->alerts[v->nalerts++], st, v->o->catalog);
	sqlite3_finalize(st);
	st = NULL;
	if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "alerts: %s", sqlite3_errmsg(v->db));
		return aur_db_errno(rc);
	}
	/* an alert row outlives its incidents: order by when each fired this time */
	qsort(v->alerts, v->nalerts, sizeof(*v->alerts), by_time);
	first = v->started_ms;
	last = v->started_ms;
	for (size_t i = 0; i < v->nalerts; i++)
		if (v->alerts[i].t > last)
			last = v->alerts[i].t;
	/*
	 * Every build aurora-rca has seen (the builds table), then the builds
	 * the alerts table still holds (one per job: the newest) that it has not.
	 */
	v->builds = aur_xcalloc(MAX_BUILDS, sizeof(*v->builds));
	for (int pass = 0; pass < 2; pass++) {
		rc = aur_db_prepare(v->db, &st,
				    pass == 0 ? "SELECT 0, source, job, at_ms, record FROM builds"
						" WHERE at_ms BETWEEN ?1 AND ?2 ORDER BY at_ms, id LIMIT ?3"
					      : "SELECT id, source, service, last_seen_ms, record FROM alerts"
						" WHERE source IN ('jenkins', 'cloudbees') AND last_seen_ms BETWEEN ?1 AND ?2"
						" ORDER BY last_seen_ms, id LIMIT ?3",
				    err, errlen);
		if (rc < 0)
			return rc;
		sqlite3_bind_int64(st, 1, first - v->o->lookback_ms);
		sqlite3_bind_int64(st, 2, last);
		sqlite3_bind_int(st, 3, MAX_BUILDS);
		while (v->nbuilds < MAX_BUILDS && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			struct build *b = &v->builds[v->nbuilds];
			size_t k;

			load_build(b, st, v->o->catalog);
			for (k = 0; k < v->nbuilds; k++)
				if (!strcmp(v->builds[k].job, b->job) && v->builds[k].number == b->number)
					break;
			if (k == v->nbuilds)
				v->nbuilds++;
		}
		if (rc == SQLITE_ROW)
			rc = SQLITE_DONE;
		sqlite3_finalize(st);
		st = NULL;
		if (rc != SQLITE_DONE) {
			snprintf(err, errlen, "builds: %s", sqlite3_errmsg(v->db));
			return aur_db_errno(rc);
		}
	}
	return 0;
}

/*
 * Consoles. A build that matters to the answer but whose notification
 * carried no log has its console text read from the connector's base URL
 * (aurora-connector base-url, credentials), never from anywhere else, and
 * only when both are configured: without a base URL nothing is said, the
 * operator did not ask for it. What was read is stored on the build's row
 * (builds.console_excerpt: its last lines, redacted), so a second
 * investigation reads it there: no second fetch, the same thoughts.
 */

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
	    ends_with(console_url, "/console"))
		w = snprintf(out, n, "%sText", console_url);
	else if (has_prefix(build_url, "http://") || has_prefix(build_url, "https://"))
		w = snprintf(out, n, "%s%sconsoleText", build_url, ends_with(build_url, "/") ? "" : "/");
	else if (*build_url)
		w = snprintf(out, n, "%.*s/%s%sconsoleText", (int)blen, base, build_url + strspn(build_url, "/"),
			     ends_with(build_url, "/") ? "" : "/");
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
		log_excerpt((const char *)sqlite3_column_text(st, 0), c->excerpt, sizeof(c->excerpt));
		copy_str(c->link, sizeof(c->link), (const char *)sqlite3_column_text(st, 1));
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
		return say(v, "The console of %s #%lld was not read: %s has a base URL but no credentials"
			   " (aurora-connector credentials %s USER --stdin)", c->job, c->number, k->platform,
			   k->platform);
	if (console_text_url(k->base_url, c->job, c->number, build_url, console_url, cand, sizeof(cand)) < 0)
		return say(v, "The console of %s #%lld was not read: its URL would be too long", c->job, c->number);
	if (!aur_fetch_url_under(k->base_url, cand, url, sizeof(url), why, sizeof(why))) {
		printable_url(cand, shown, sizeof(shown));
		return say(v, "The console of %s #%lld was not read: %s is outside the %s base URL %s (%s)", c->job,
			   c->number, shown, k->platform, k->base_url, why);
	}
	left = v->o->fetch_timeout_ms;
	if (v->o->budget_ms > 0 && v->fetch_ms + left > v->o->budget_ms / 5)
		left = v->o->budget_ms / 5 - v->fetch_ms;
	if (v->fetches >= MAX_FETCHES || left < 100)
		return say(v, "The console of %s #%lld was not read: this investigation's time for reading consoles"
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
		return say(v, "The console of %s #%lld was not read from %s: %s", c->job, c->number, url, err);
	}
	/* the last lines, from a line start: what the excerpt is taken from, and what is stored */
	tail = res.body + (res.len > CONSOLE_STORED ? res.len - CONSOLE_STORED : 0);
	if (tail != res.body && strchr(tail, '\n'))
		tail = strchr(tail, '\n') + 1;
	red = aur_diag_redact(tail, strlen(tail), NULL, NULL);
	blot(red, k->api_token);
	/* the link people follow is the console page, not its text */
	snprintf(c->link, sizeof(c->link), "%.*s",
		 (int)(strlen(url) - (ends_with(url, "/consoleText") ? strlen("Text") : 0)), url);
	console_store(v, c, red);
	log_excerpt(red, c->excerpt, sizeof(c->excerpt));
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
	copy_str(c->source, sizeof(c->source), source);
	copy_str(c->job, sizeof(c->job), job);
	c->number = number;
	if (console_stored(v, c))
		c->ok = 1;
	else if (v->o->fetch_timeout_ms > 0) /* --fetch-timeout 0s: what is stored, nothing fetched */
		*rc = console_fetch(v, k, build_url, console_url, c);
	if (*rc == 0 && c->ok)
		*rc = c->excerpt[0] ? say(v, "The console of %s #%lld (%s) says: %s", job, number, c->link, c->excerpt)
				    : say(v, "The console of %s #%lld (%s) is empty", job, number, c->link);
	return c;
}

/* The failed builds of the incident itself whose notification had no log: their console instead. */
static int consoles_of_failed_builds(struct inv *v)
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
			copy_str(a->build_log, sizeof(a->build_log), c->excerpt);
			copy_str(a->link, sizeof(a->link), c->link);
			a->console = 1;
		}
	}
	return 0;
}

/* The deploys among the leading hypotheses whose notification had no log: their console too. */
static int consoles_of_suspects(struct inv *v)
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
			copy_str(b->console, sizeof(b->console), c->excerpt);
			copy_str(b->link, sizeof(b->link), c->link);
		}
	}
	return 0;
}

static struct hyp *add_hyp(struct inv *v, const char *kind, const char *entity)
{
	struct hyp *h;

	for (size_t i = 0; i < v->nhyp; i++)
		if (!strcmp(v->hyp[i].kind, kind) && !strcmp(v->hyp[i].entity, entity))
			return &v->hyp[i];
	if (v->nhyp == MAX_HYP)
		return NULL;
	h = &v->hyp[v->nhyp++];
	memset(h, 0, sizeof(*h));
	h->kind = kind;
	h->build = -1;
	copy_str(h->entity, sizeof(h->entity), entity);
	return h;
}

/* A host name in text: dotted labels ending in letters, not an address. */
static int find_hostname(const char *text, const char *after, char *out, size_t n)
{
	const char *p = after ? strstr(text, after) : text;

	out[0] = '\0';
	if (!p)
		return 0;
	if (after)
		p += strlen(after);
	for (; *p; p++) {
		const char *s = p;
		size_t len = 0;
		int dots = 0;

		if (!(isalnum((unsigned char)*p) || *p == '*') || (p > text && is_word_char(p[-1])))
			continue;
		while (is_word_char(s[len]) || s[len] == '*')
			dots += s[len++] == '.';
		while (len && s[len - 1] == '.') {
			len--;
			dots--;
		}
		if (dots >= 1 && isalpha((unsigned char)s[len - 1]) && len < n) {
			snprintf(out, n, "%.*s", (int)len, s[0] == '*' && s[1] == '.' ? s + 2 : s);
			if (out[0] == '*' || !strncmp(out, "*.", 2))
				continue;
			return 1;
		}
		p += len ? len - 1 : 0;
	}
	return 0;
}

static void rule_certificate_dns(struct inv *v)
{
	for (size_t i = 0; i < v->nalerts; i++) {
		struct alert *a = &v->alerts[i];
		char host[NAME_MAX_];
		struct hyp *h;

		if (strstr(a->text, "certificate") || strstr(a->text, "x509") || strstr(a->text, "tls handshake")) {
			if (!find_hostname(a->text, "cn=", host, sizeof(host)) &&
			    !find_hostname(a->text, NULL, host, sizeof(host)))
				continue;
			h = add_hyp(v, "certificate", host);
			if (!h)
				continue;
			if (!h->support++) {
				h->alert_id = a->id;
				snprintf(h->summary, sizeof(h->summary),
					 "the TLS certificate of %s is expired or invalid: calls to it fail", host);
			}
			h->score = 5 + h->support;
			snprintf(h->why, sizeof(h->why), "%d alert%s name a certificate problem for %s", h->support,
				 h->support == 1 ? "" : "s", host);
		} else if (strstr(a->text, "lookup ") || strstr(a->text, "no such host") || strstr(a->text, "nxdomain") ||
			   strstr(a->text, "dns") || strstr(a->text, "name resolution")) {
			int cluster;

			if (!find_hostname(a->text, "lookup ", host, sizeof(host)) &&
			    !find_hostname(a->text, NULL, host, sizeof(host)))
				continue;
			cluster = strstr(host, ".svc") || ends_with(host, ".cluster.local") || ends_with(host, ".local");
			h = add_hyp(v, "dns", cluster ? "coredns" : host);
			if (!h)
				continue;
			if (!h->support++) {
				h->alert_id = a->id;
				if (cluster)
					snprintf(h->summary, sizeof(h->summary),
						 "the cluster DNS (coredns / kube-dns) fails to resolve service names such as %s",
						 host);
				else
					snprintf(h->summary, sizeof(h->summary), "DNS lookups of %s fail", host);
			}
			h->score = 5 + h->support;
			snprintf(h->why, sizeof(h->why), "%d alert%s report failing lookups (%s)", h->support,
				 h->support == 1 ? "" : "s", host);
		}
	}
}

/* The name after one of the phrases that say "X is what I depend on". */
static int named_dependency(const char *text, char *out, size_t n, size_t *from)
{
	static const char *const phrases[] = { "talking to ", "calls to ", "requests to ", "timeouts to ",
					       "connections to ", "connect to ", "connecting to ", "reach ",
					       "upstream ", "waiting for ", "waiting on ", "queries against ",
					       "against ", "depends on ", NULL };

	for (int k = (int)*from; phrases[k]; k++) {
		const char *p = strstr(text, phrases[k]);
		size_t len = 0;

		*from = (size_t)k + 1;
		if (!p)
			continue;
		p += strlen(phrases[k]);
		while (is_word_char(p[len]) && len + 1 < n)
			len++;
		while (len && p[len - 1] == '.')
			len--;
		if (len < 3)
			continue;
		snprintf(out, n, "%.*s", (int)len, p);
		return 1;
	}
	return 0;
}

static int db_like(const char *s)
{
	static const char *const marks[] = { "db", "redis", "postgres", "mysql", "mongo", "kafka", "rabbit", "-es",
					     "elastic", "cache", "queue", "mq", "memcache", NULL };

	for (int k = 0; marks[k]; k++)
		if (strstr(s, marks[k]))
			return 1;
	return 0;
}

/*
 * The name a dependency named by a label or a text goes by: its catalog
 * component when the catalog knows it (1), else its stem (0).
 */
static int dependency_name(const struct inv *v, const char *raw, char *out, size_t n)
{
	const char *comp = NULL;

	stem_of(raw, out, n);
	if (v->o->catalog) {
		comp = aur_catalog_resolve(v->o->catalog, AUR_CATALOG_ANY, raw);
		if (!comp && out[0])
			comp = aur_catalog_resolve(v->o->catalog, AUR_CATALOG_ANY, out);
		if (comp)
			copy_str(out, n, comp);
	}
	return comp != NULL;
}

/* 1 when a's text names dep as what it fails on (the words rule_dependency counts). */
static int text_names(const struct inv *v, const struct alert *a, const char *dep)
{
	char name[NAME_MAX_], stem[NAME_MAX_];
	size_t from = 0;

	while (named_dependency(a->text, name, sizeof(name), &from)) {
		dependency_name(v, name, stem, sizeof(stem));
		if (!strcmp(stem, dep))
			return 1;
	}
	return 0;
}

/*
 * Other incidents' alerts firing near this one (from NEAR_BEFORE_MS before
 * its start to its last alert, begun within the lookback), with their
 * components: a dependency's own alarm may have opened an incident of its
 * own. Loaded once; a failure to read leaves the list empty.
 */
static void load_near(struct inv *v, long long id)
{
	sqlite3_stmt *st = NULL;
	long long last = v->started_ms;

	v->near_loaded = 1;
	for (size_t i = 0; i < v->nalerts; i++)
		if (v->alerts[i].t > last)
			last = v->alerts[i].t;
	if (aur_db_prepare(v->db, &st,
			   "SELECT id, title, record FROM alerts WHERE severity != 'info'"
			   " AND first_seen_ms BETWEEN ?1 AND ?2 AND (status = 'firing' OR last_seen_ms >= ?3)"
			   " AND id NOT IN (SELECT alert_id FROM incident_alerts WHERE incident_id = ?4)"
			   " ORDER BY first_seen_ms, id LIMIT ?5",
			   NULL, 0) < 0)
		return;
	sqlite3_bind_int64(st, 1, v->started_ms - v->o->lookback_ms);
	sqlite3_bind_int64(st, 2, last);
	sqlite3_bind_int64(st, 3, v->started_ms - NEAR_BEFORE_MS);
	sqlite3_bind_int64(st, 4, id);
	sqlite3_bind_int(st, 5, MAX_ALERTS);
	v->near = aur_xcalloc(MAX_ALERTS, sizeof(*v->near));
	while (v->nnear < MAX_ALERTS && sqlite3_step(st) == SQLITE_ROW) {
		const char *rec = (const char *)sqlite3_column_text(st, 2);
		jv r = rec ? jv_parse(rec) : jv_invalid();
		struct near *n = &v->near[v->nnear];

		n->comp = aur_inv_component_of(v->o->catalog, r);
		if (n->comp) {
			n->id = sqlite3_column_int64(st, 0);
			copy_str(n->title, sizeof(n->title), (const char *)sqlite3_column_text(st, 1));
			copy_str(n->link, sizeof(n->link), aur_jvio_str(r, "link"));
			v->nnear++;
		}
		jv_free(r);
	}
	sqlite3_finalize(st);
}

static const struct near *near_alert(const struct inv *v, long long id)
{
	for (size_t i = 0; i < v->nnear; i++)
		if (v->near[i].id == id)
			return &v->near[i];
	return NULL;
}

/*
 * The own alert of component dep: one of the incident's (not info), else
 * one of another incident near it (*outside set). 0 when it raised none.
 */
static long long own_alert(struct inv *v, long long id, const char *dep, int *outside)
{
	*outside = 0;
	for (size_t i = 0; i < v->nalerts; i++)
		if (!v->alerts[i].minor && v->alerts[i].comp && !strcmp(v->alerts[i].comp, dep))
			return v->alerts[i].id;
	if (!v->near_loaded)
		load_near(v, id);
	for (size_t i = 0; i < v->nnear; i++) {
		if (!strcmp(v->near[i].comp, dep)) {
			*outside = 1;
			return v->near[i].id;
		}
	}
	return 0;
}

/* Say in v->catalog_said what the catalog added: "a depends on b (alarming), c (no alert)". */
static void catalog_note(struct inv *v, const char *comp, const char *dep, long long own)
{
	size_t len = strlen(v->catalog_said);
	const char *head = strstr(v->catalog_said, comp);
	int same = len && head && head == v->catalog_said && !strncmp(head + strlen(comp), " depends on ", 12);

	/* one component's dependencies on one line; another component after a semicolon */
	if (len + 8 >= sizeof(v->catalog_said))
		return;
	if (same && !strstr(v->catalog_said, ";"))
		snprintf(v->catalog_said + len, sizeof(v->catalog_said) - len, ", %s (%s)", dep,
			 own ? "alarming" : "no alert");
	else
		snprintf(v->catalog_said + len, sizeof(v->catalog_said) - len, "%s%s depends on %s (%s)",
			 len ? "; " : "", comp, dep, own ? "alarming" : "no alert");
}

/*
 * The catalog's dependencies of each alerting component: one that alarms
 * itself, in the incident or in another near it, is a dependency
 * hypothesis weighted like a label naming it; one that raised no alert is
 * not blamed (the catalog says what could fail, not what did) and is kept
 * for a diagnostic suggestion.
 */
static void rule_catalog_dependency(struct inv *v, long long id)
{
	const struct aur_catalog *cat = v->o->catalog;

	for (size_t i = 0; cat && i < v->nalerts; i++) {
		struct alert *a = &v->alerts[i];
		const char *deps[MAX_CATALOG_DEPS];
		char labelled[NAME_MAX_];
		size_t n;
		size_t seen;

		if (a->minor || !a->comp)
			continue;
		/* an earlier alert of the same component said it all */
		for (seen = 0; seen < i; seen++)
			if (!v->alerts[seen].minor && v->alerts[seen].comp && !strcmp(v->alerts[seen].comp, a->comp))
				break;
		labelled[0] = '\0';
		if (a->dep[0])
			dependency_name(v, a->dep, labelled, sizeof(labelled));
		n = aur_catalog_dependencies(cat, a->comp, deps, MAX_CATALOG_DEPS);
		for (size_t k = 0; k < n && k < MAX_CATALOG_DEPS; k++) {
			const char *dep = deps[k];
			struct hyp *h;
			long long own;
			int outside;

			if (!strcmp(dep, a->comp))
				continue;
			own = own_alert(v, id, dep, &outside);
			if (seen == i)
				catalog_note(v, a->comp, dep, own);
			if (!strcmp(dep, labelled) || text_names(v, a, dep))
				continue; /* its label or its words counted it already */
			if (!own) {
				size_t u;

				for (u = 0; u < v->nunblamed; u++)
					if (!strcmp(v->unblamed[u].dep, dep))
						break;
				if (u == v->nunblamed && u < MAX_UNBLAMED) {
					v->unblamed[u].dep = dep;
					v->unblamed[u].of = a->comp;
					v->nunblamed++;
				}
				continue;
			}
			h = add_hyp(v, "dependency", dep);
			if (!h)
				continue;
			if (!h->support)
				h->alert_id = a->id;
			h->support += 2;
			h->by_catalog++;
			if (!h->catalog[0]) {
				snprintf(h->catalog, sizeof(h->catalog), "%s depends on %s (catalog)", a->comp, dep);
				h->own_id = own;
				h->outside = outside;
			}
		}
	}
}

/* Why a dependency is suspected: who names it, what the catalog says, whether it alarms itself. */
static void dependency_why(struct hyp *h, int own)
{
	int named = h->support - 2 * h->by_catalog;
	size_t len = 0;

	h->why[0] = '\0';
	if (named > 0 || !h->by_catalog)
		len = (size_t)snprintf(h->why, sizeof(h->why), "%d alert%s of other services name %s as what they fail on",
				       named, named == 1 ? "" : "s", h->entity);
	if (h->by_catalog && len < sizeof(h->why))
		len += (size_t)snprintf(h->why + len, sizeof(h->why) - len, "%s%d alert%s of services that depend on it: %s",
					len ? "; " : "", h->by_catalog, h->by_catalog == 1 ? "" : "s", h->catalog);
	if (own && len < sizeof(h->why))
		snprintf(h->why + len, sizeof(h->why) - len, ", and it alarms itself%s",
			 h->outside ? " (in another incident)" : "");
}

static void rule_dependency(struct inv *v, long long id)
{
	/* a label that names the dependency outright weighs more than words */
	for (size_t i = 0; i < v->nalerts; i++) {
		struct alert *a = &v->alerts[i];
		char stem[NAME_MAX_];
		struct hyp *h;

		if (!a->dep[0])
			continue;
		dependency_name(v, a->dep, stem, sizeof(stem));
		if (!stem[0] || !strcmp(stem, a->stem))
			continue;
		h = add_hyp(v, "dependency", stem);
		if (!h)
			continue;
		if (!h->support)
			h->alert_id = a->id;
		h->support += 2;
	}
	for (size_t i = 0; i < v->nalerts; i++) {
		struct alert *a = &v->alerts[i];
		char name[NAME_MAX_];
		char stem[NAME_MAX_];
		char seen[4][NAME_MAX_];
		size_t nseen = 0;
		size_t from = 0;
		const char *label_names[] = { " upstream ", NULL };

		(void)label_names;
		while (named_dependency(a->text, name, sizeof(name), &from)) {
			struct hyp *h;
			size_t k;
			int known;

			/* a name the catalog knows is no stray word */
			known = dependency_name(v, name, stem, sizeof(stem));
			if (!stem[0] || !strcmp(stem, a->stem) ||
			    (!known && !db_like(stem) && !strchr(stem, '-') && !has_word(a->text, stem)))
				continue;
			for (k = 0; k < nseen; k++)
				if (!strcmp(seen[k], stem))
					break;
			if (k < nseen || nseen == 4)
				continue;
			copy_str(seen[nseen++], sizeof(seen[0]), stem);
			h = add_hyp(v, "dependency", stem);
			if (!h)
				continue;
			if (!h->support++)
				h->alert_id = a->id;
		}
	}
	rule_catalog_dependency(v, id);
	/* the dependency's own alarms back the others' word */
	for (size_t j = 0; j < v->nhyp; j++) {
		struct hyp *h = &v->hyp[j];
		int own = 0;

		if (strcmp(h->kind, "dependency") != 0)
			continue;
		for (size_t i = 0; i < v->nalerts; i++)
			if (!v->alerts[i].minor && (!strcmp(v->alerts[i].stem, h->entity) ||
						   !strcmp(v->alerts[i].host_stem, h->entity)))
				own++;
		if (v->o->catalog && !own && !h->outside) {
			/* a component's own alarm may be in an incident of its own */
			int outside;
			long long o = own_alert(v, id, h->entity, &outside);

			if (o && outside) {
				h->outside = 1;
				h->own_id = o;
			}
		}
		own += h->outside;
		h->score = (h->support >= 2 || own ? 2.5 : 1.0) + h->support + (own ? 1.0 : 0);
		snprintf(h->summary, sizeof(h->summary), "%s, a dependency, fails and the services calling it fail with it",
			 h->entity);
		dependency_why(h, own);
	}
}

static int mentions(const struct alert *a, const char *stem)
{
	return !strcmp(a->stem, stem) || !strcmp(a->host_stem, stem) || has_word(a->text, stem);
}

static void rule_deploy(struct inv *v)
{
	long long first = v->started_ms;

	for (size_t b = 0; b < v->nbuilds; b++) {
		struct build *bd = &v->builds[b];
		char entity[NAME_MAX_ * 2];
		struct hyp *h;
		int support = 0;
		int upstream = 0;
		const char *client = NULL;
		double w;

		if (!bd->stem[0])
			continue;
		for (size_t i = 0; i < v->nalerts; i++) {
			const struct alert *a = &v->alerts[i];

			if (a->minor)
				continue;
			if (mentions(a, bd->stem) || (bd->comp && bd->job_stem[0] && mentions(a, bd->job_stem))) {
				support++;
			} else if (bd->comp && a->comp && aur_catalog_depends(v->o->catalog, a->comp, bd->comp)) {
				/* an upstream deploy: what the alerting component depends on changed */
				upstream++;
				client = a->comp;
			}
		}
		support += upstream;
		if (!support)
			continue;
		snprintf(entity, sizeof(entity), "%s #%lld", bd->job, bd->number);
		h = add_hyp(v, "deploy", entity);
		if (!h)
			continue;
		/* a later build of the same job replaces an earlier one: the newest counts */
		w = bd->deploy ? 1.0 : 0.4;
		if (!strcasecmp(bd->result, "FAILURE") || !strcasecmp(bd->result, "ABORTED"))
			w *= 0.5;
		if (upstream == support)
			w *= 0.75; /* only through the catalog: a deploy of the alerting service itself comes first */
		if (bd->t > first)
			w *= 0.5;
		h->build = (int)b;
		h->support = support;
		h->score = 3.0 * w + 0.5 * (support > 4 ? 4 : support);
		for (size_t j = 0; j < v->nhyp; j++)
			if (!strcmp(v->hyp[j].kind, "dependency") && !strcmp(v->hyp[j].entity, bd->stem))
				h->score += v->hyp[j].score;
		snprintf(h->summary, sizeof(h->summary), "the %s %s (commit %.7s%s%s) changed %s %s the first alert",
			 bd->deploy ? "deploy" : "build", entity, bd->commit[0] ? bd->commit : "unknown",
			 bd->branch[0] ? " on " : "", bd->branch, bd->stem, bd->t <= first ? "shortly before" : "around");
		snprintf(h->why, sizeof(h->why), "%d alert%s concern %s, which %s %s changed; result %s", support,
			 support == 1 ? "" : "s", bd->stem, bd->deploy ? "the deploy" : "the build", entity,
			 bd->result[0] ? bd->result : "unknown");
		if (upstream && !h->catalog[0]) {
			snprintf(h->catalog, sizeof(h->catalog), "%s depends on %s (catalog)", client, bd->comp);
			snprintf(h->why + strlen(h->why), sizeof(h->why) - strlen(h->why), "; %s", h->catalog);
		}
	}
}

static void rule_hosts(struct inv *v)
{
	/* fleet: one alarm on several hosts of one fleet */
	for (size_t i = 0; i < v->nalerts; i++) {
		struct alert *a = &v->alerts[i];
		char hosts[8][NAME_MAX_];
		size_t nh = 0;

		if (a->minor || !a->host[0] || !a->host_stem[0] || !strcmp(a->host, a->host_stem))
			continue;
		for (size_t j = 0; j < v->nalerts; j++) {
			struct alert *b = &v->alerts[j];
			size_t k;

			if (b->minor || strcmp(b->host_stem, a->host_stem) != 0 || strcmp(b->alarm, a->alarm) != 0)
				continue;
			for (k = 0; k < nh; k++)
				if (!strcmp(hosts[k], b->host))
					break;
			if (k == nh && nh < 8)
				copy_str(hosts[nh++], sizeof(hosts[0]), b->host);
		}
		if (nh >= 2) {
			struct hyp *h = add_hyp(v, "fleet", a->host_stem);

			if (h && !h->support) {
				h->support = (int)nh;
				h->alert_id = a->id;
				h->score = 2.0 + (double)nh;
				snprintf(h->summary, sizeof(h->summary),
					 "the %s fleet as a whole: %s alarms on %zu of its hosts at once", a->host_stem,
					 a->alarm, nh);
				snprintf(h->why, sizeof(h->why), "the same alarm (%s) on %zu hosts of %s", a->alarm, nh,
					 a->host_stem);
			}
		}
	}
	/* host: the alarms of one host */
	for (size_t i = 0; i < v->nalerts; i++) {
		struct alert *a = &v->alerts[i];
		struct hyp *h;

		if (a->minor || !a->host[0])
			continue;
		h = add_hyp(v, "host", a->host);
		if (!h)
			continue;
		if (!h->support++) {
			h->alert_id = a->id;
			snprintf(h->summary, sizeof(h->summary), "host %s: %s", a->host, a->title);
		}
		h->score = 1.5 + h->support;
		snprintf(h->why, sizeof(h->why), "%d alert%s come from host %s", h->support, h->support == 1 ? "" : "s",
			 a->host);
	}
	/* Dynatrace names a root cause itself */
	for (size_t i = 0; i < v->nalerts; i++) {
		struct alert *a = &v->alerts[i];
		struct hyp *h;

		const char *entity = a->rc_comp ? a->rc_comp : a->rc_entity;

		if (!a->rc_entity[0] && !a->rc_comp)
			continue;
		h = add_hyp(v, "dependency", entity);
		if (h && !h->support++) {
			h->alert_id = a->id;
			h->score = 4.0;
			snprintf(h->summary, sizeof(h->summary), "Dynatrace names %s as the root cause", entity);
			snprintf(h->why, sizeof(h->why), "Dynatrace's root-cause analysis points at %s", entity);
		}
	}
}

/* A failed build in the incident itself: the build is what broke. */
static void rule_failed_build(struct inv *v)
{
	for (size_t i = 0; i < v->nalerts; i++) {
		struct alert *a = &v->alerts[i];
		struct hyp *h;

		if (!a->failed_build[0])
			continue;
		h = add_hyp(v, "build", a->failed_build);
		if (!h || h->support++)
			continue;
		h->alert_id = a->id;
		h->score = 3.0;
		snprintf(h->summary, sizeof(h->summary), "the build %s failed%s%s%s%.7s", a->failed_build,
			 a->build_log[0] ? ": " : "", a->build_log, a->commit[0] ? " - commit " : "", a->commit);
		snprintf(h->why, sizeof(h->why), "the incident is the failed build %s itself; its console is %.300s",
			 a->failed_build, a->link[0] ? a->link : "unknown");
	}
}

/* The incident this one recurs (incidents.previous_incident) and what its investigation found. */
static int rule_previous(struct inv *v, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int have = 0;
	int rc;

	if (!v->previous)
		return 0;
	rc = aur_db_prepare(v->db, &st, "SELECT root_cause, rca_state FROM incidents WHERE id = ?", err, errlen);
	if (rc < 0)
		return rc;
	/*
	 * The earlier incident was claimed first, so its investigation started
	 * first; one still running is waited for (a bounded while), or the
	 * answer would depend on which child ran faster: a replay must give
	 * the same one.
	 */
	for (int tries = 0; tries < PREVIOUS_WAIT_TRIES; tries++) {
		struct timespec ts = { 0, 50 * 1000000L };

		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, v->previous);
		have = sqlite3_step(st) == SQLITE_ROW;
		if (!have || strcmp((const char *)sqlite3_column_text(st, 1), "running") != 0)
			break;
		have = 0;
		nanosleep(&ts, NULL);
	}
	if (have && sqlite3_column_type(st, 0) == SQLITE_TEXT &&
	    !strcmp((const char *)sqlite3_column_text(st, 1), "complete")) {
		jv prev = jv_parse((const char *)sqlite3_column_text(st, 0));
		const char *kind = aur_jvio_str(prev, "kind");
		const char *entity = aur_jvio_str(prev, "entity");
		static const char *const kinds[] = { "deploy", "dependency", "host", "fleet", "config", "certificate",
						     "dns", "capacity", NULL };

		for (int k = 0; kind && entity && kinds[k]; k++) {
			struct hyp *h;

			if (strcmp(kind, kinds[k]) != 0)
				continue;
			h = add_hyp(v, kinds[k], entity);
			if (h) {
				h->score += 3.0;
				h->support++;
				snprintf(h->summary, sizeof(h->summary), "%s again, as in incident #%lld: %s", entity,
					 v->previous, aur_jvio_str(prev, "summary") ? aur_jvio_str(prev, "summary") : "");
				snprintf(h->why, sizeof(h->why),
					 "the same alert fired in incident #%lld, whose investigation blamed %s (%s)",
					 v->previous, entity, kind);
			}
			break;
		}
		jv_free(prev);
	}
	sqlite3_finalize(st);
	return 0;
}

static int by_score(const void *x, const void *y)
{
	const struct hyp *a = x, *b = y;
	int c;

	if (a->score != b->score)
		return a->score < b->score ? 1 : -1;
	c = strcmp(a->kind, b->kind);
	return c ? c : strcmp(a->entity, b->entity);
}

static jv evidence_item(const char *what, long long id, const char *link)
{
	jv e = jv_object_set(jv_object(), jv_string("what"), jv_string(what));

	if (id > 0)
		e = jv_object_set(e, jv_string("id"), jv_number((double)id));
	if (link && *link)
		e = jv_object_set(e, jv_string("link"), jv_string(link));
	return e;
}

static const struct alert *alert_by_id(const struct inv *v, long long id)
{
	for (size_t i = 0; i < v->nalerts; i++)
		if (v->alerts[i].id == id)
			return &v->alerts[i];
	return NULL;
}

static int suggest(struct inv *v, const char *kind, const char *title, const char *command, const char *risk,
		   const char *text)
{
	struct aur_rca_suggestion s = { kind, title, command, risk, text };

	pause_step(v->o);
	return v->sink->suggestion(v->sink->ctx, &s);
}

static int suggestions_for(struct inv *v, const struct hyp *top)
{
	char title[512], cmd[768];
	int rc = 0;

	if (top && !strcmp(top->kind, "deploy") && top->build >= 0) {
		const struct build *b = &v->builds[top->build];

		if (b->commit[0]) {
			snprintf(title, sizeof(title), "read the change %.12s that %s #%lld shipped", b->commit, b->job,
				 b->number);
			snprintf(cmd, sizeof(cmd), "git show %s", b->commit);
			rc = suggest(v, "diagnostic", title, cmd, "low", b->culprits[0] ? b->culprits : NULL);
		}
		if (rc == 0) {
			snprintf(title, sizeof(title), "roll back %s to the build before #%lld", b->job, b->number);
			snprintf(cmd, sizeof(cmd),
				 "the trouble began after this deploy; redeploying what ran before it (build #%lld) tests "
				 "that directly. Console: %s",
				 b->number - 1, b->link[0] ? b->link : "-");
			rc = suggest(v, "fix", title, NULL, "medium", cmd);
		}
	} else if (top && (!strcmp(top->kind, "host") || !strcmp(top->kind, "fleet"))) {
		const char *host = !strcmp(top->kind, "host") ? top->entity : NULL;
		const struct alert *a = alert_by_id(v, top->alert_id);

		if (!host && a)
			host = a->host;
		snprintf(title, sizeof(title), "read the system log of %s around the alarm", host ? host : "the host");
		snprintf(cmd, sizeof(cmd), "journalctl --since -1h --priority warning");
		rc = suggest(v, "diagnostic", title, cmd, "low", NULL);
		if (rc == 0 && a && (strstr(a->text, "disk") || strstr(a->text, "space"))) {
			rc = suggest(v, "diagnostic", "see which file system is full", "df -h", "low", NULL);
			if (rc == 0)
				rc = suggest(v, "diagnostic", "find what grew under /var", "du -xh --max-depth=2 /var",
					     "low", NULL);
		} else if (rc == 0 && a && (strstr(a->text, "ram") || strstr(a->text, "memory"))) {
			rc = suggest(v, "diagnostic", "see what holds the memory", "ps aux --sort=-rss", "low", NULL);
		} else if (rc == 0) {
			rc = suggest(v, "diagnostic", "see what uses the CPU", "top -b -n 1", "low", NULL);
		}
	} else if (top && !strcmp(top->kind, "build")) {
		const struct alert *a = alert_by_id(v, top->alert_id);

		snprintf(title, sizeof(title), "read the console of %s", top->entity);
		rc = suggest(v, "diagnostic", title, a && a->link[0] ? a->link : NULL, "low",
			     a && a->build_log[0] ? a->build_log : NULL);
		if (rc == 0 && a && a->commit[0]) {
			snprintf(title, sizeof(title), "read the change %.12s the build ran on", a->commit);
			snprintf(cmd, sizeof(cmd), "git show %s", a->commit);
			rc = suggest(v, "diagnostic", title, cmd, "low", NULL);
		}
		if (rc == 0)
			rc = suggest(v, "fix", "fix the failing step, or revert the change that broke it", NULL, "low", NULL);
	} else if (top && !strcmp(top->kind, "certificate")) {
		snprintf(title, sizeof(title), "check the certificate %s serves", top->entity);
		snprintf(cmd, sizeof(cmd), "openssl s_client -connect %s:443 -servername %s", top->entity, top->entity);
		rc = suggest(v, "diagnostic", title, cmd, "low", NULL);
		if (rc == 0)
			rc = suggest(v, "fix", "renew and deploy the certificate", NULL, "medium", NULL);
	} else if (top && !strcmp(top->kind, "dns")) {
		snprintf(cmd, sizeof(cmd), "%s", !strcmp(top->entity, "coredns") ?
			 "kubectl -n kube-system logs -l k8s-app=kube-dns --tail=200" : "dig +short");
		if (strcmp(top->entity, "coredns") != 0)
			snprintf(cmd, sizeof(cmd), "dig %s", top->entity);
		rc = suggest(v, "diagnostic", "look at the failing resolution", cmd, "low", NULL);
	} else if (top && !strcmp(top->kind, "dependency")) {
		snprintf(title, sizeof(title), "check the health of %s", top->entity);
		rc = suggest(v, "diagnostic", title, NULL, "low",
			     "the services calling it fail only through it: look at its connections, load and logs");
	}
	/* what the catalog says the alerting services depend on, quiet so far: not blamed, worth a look */
	for (size_t i = 0; rc == 0 && i < v->nunblamed && i < 3; i++) {
		if (top && !strcmp(top->entity, v->unblamed[i].dep))
			continue; /* suggested above as the cause */
		snprintf(title, sizeof(title), "check the health of %s, which %s depends on (catalog)",
			 v->unblamed[i].dep, v->unblamed[i].of);
		rc = suggest(v, "diagnostic", title, NULL, "low",
			     "it raised no alert near this incident, so it is not blamed; but the catalog says the "
			     "failing service depends on it");
	}
	/* Kubernetes labels name where to look, whatever the cause */
	for (size_t i = 0; rc == 0 && i < v->nalerts; i++) {
		const struct alert *a = &v->alerts[i];

		if (a->minor || !a->ns[0])
			continue;
		if (a->pod[0]) {
			snprintf(title, sizeof(title), "describe pod %s", a->pod);
			snprintf(cmd, sizeof(cmd), "kubectl -n %s describe pod %s", a->ns, a->pod);
			rc = suggest(v, "diagnostic", title, cmd, "low", NULL);
			if (rc == 0) {
				snprintf(title, sizeof(title), "read the logs of pod %s", a->pod);
				snprintf(cmd, sizeof(cmd), "kubectl -n %s logs %s --tail=200", a->ns, a->pod);
				rc = suggest(v, "diagnostic", title, cmd, "low", NULL);
			}
		} else {
			snprintf(title, sizeof(title), "see the recent events of namespace %s", a->ns);
			snprintf(cmd, sizeof(cmd), "kubectl -n %s get events --sort-by=.lastTimestamp", a->ns);
			rc = suggest(v, "diagnostic", title, cmd, "low", NULL);
		}
		break;
	}
	for (size_t i = 0; rc == 0 && i < v->nalerts; i++) {
		const struct alert *a = &v->alerts[i];

		if (a->minor || !a->link[0] || strncmp(a->link, "http", 4) != 0)
			continue;
		snprintf(title, sizeof(title), "open the first alert at its source (%s)", a->source);
		rc = suggest(v, "diagnostic", title, a->link, "low", NULL);
		break;
	}
	return rc;
}

static int investigate(sqlite3 *db, long long id, const struct aur_inv_options *o, const struct aur_inv_sink *sink,
		       char **summary, jv *root_cause, char *err, size_t errlen)
{
	struct inv v;
	struct hyp *top = NULL;
	char when[40];
	char line[1024];
	jv rc_obj = jv_invalid();
	jv ev;
	double conf;
	int rc;

	memset(&v, 0, sizeof(v));
	v.db = db;
	v.o = o;
	v.sink = sink;
	*summary = NULL;
	*root_cause = jv_invalid();
	rc = load(&v, id, err, errlen);
	if (rc < 0)
		goto out;

	/* 1: what is there */
	if (!v.nalerts) {
		rc = say(&v, "Incident #%lld holds no alerts yet: nothing to investigate", id);
		if (rc < 0)
			goto out;
	} else {
		const struct alert *a = &v.alerts[0];
		size_t sources = 0;

		for (size_t i = 0; i < v.nalerts; i++) {
			size_t k;

			for (k = 0; k < i; k++)
				if (!strcmp(v.alerts[k].source, v.alerts[i].source))
					break;
			sources += k == i;
		}
		aur_time_format_ms(a->t, when, sizeof(when));
		rc = say(&v, "Gathered %zu alert%s from %zu source%s; the first fired at %s: %s \"%s\"%s%s", v.nalerts,
			 v.nalerts == 1 ? "" : "s", sources, sources == 1 ? "" : "s", when, a->source, a->title,
			 a->service[0] ? " on " : "", a->service);
		if (rc < 0)
			goto out;
	}
	/* 2: the order things fired in */
	if (v.nalerts > 1) {
		size_t len = 0;

		line[0] = '\0';
		/* the line stops filling once full: never a pointer past its end */
		for (size_t i = 0; i < v.nalerts && i < 6 && len < sizeof(line); i++)
			len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%s (%s)",
						i ? ", then " : "", v.alerts[i].service[0] ? v.alerts[i].service
											  : v.alerts[i].title,
						v.alerts[i].source);
		rc = say(&v, "Firing order: %s%s", line, v.nalerts > 6 ? ", ..." : "");
		if (rc < 0)
			goto out;
	}
	/* 3: recent changes */
	if (!v.nbuilds) {
		rc = say(&v, "No Jenkins or CloudBees build or deploy is stored within %lld minutes before the first alert",
			 o->lookback_ms / 60000);
	} else {
		size_t len = 0;

		line[0] = '\0';
		for (size_t i = 0; i < v.nbuilds && i < 6 && len < sizeof(line); i++) {
			const struct build *b = &v.builds[v.nbuilds - 1 - i];

			len += (size_t)snprintf(line + len, sizeof(line) - len,
						"%s%s #%lld (%s%s%.7s)", i ? "; " : "", b->job, b->number,
						b->result[0] ? b->result : "no result", b->commit[0] ? ", commit " : "",
						b->commit);
		}
		rc = say(&v, "Recent changes within %lld minutes before the first alert, newest first: %s%s",
			 o->lookback_ms / 60000, line, v.nbuilds > 6 ? "; ..." : "");
	}
	if (rc < 0)
		goto out;
	rc = consoles_of_failed_builds(&v);
	if (rc < 0)
		goto out;

	rule_certificate_dns(&v);
	rule_dependency(&v, id);
	rule_deploy(&v);
	rule_hosts(&v);
	rule_failed_build(&v);
	rc = rule_previous(&v, err, errlen);
	if (rc < 0)
		goto out;
	if (v.catalog_said[0]) {
		rc = say(&v, "The service catalog: %s", v.catalog_said);
		if (rc < 0)
			goto out;
	}
	qsort(v.hyp, v.nhyp, sizeof(v.hyp[0]), by_score);
	rc = consoles_of_suspects(&v);
	if (rc < 0)
		goto out;

	/* 4: the hypotheses, best first, each with its reason */
	for (size_t i = 0; i < v.nhyp && i < 3; i++) {
		rc = say(&v, "Hypothesis %zu (%s, score %.1f): %s - because %s", i + 1, v.hyp[i].kind, v.hyp[i].score,
			 v.hyp[i].summary, v.hyp[i].why);
		if (rc < 0)
			goto out;
	}
	if (v.nhyp && v.hyp[0].score >= 2.5)
		top = &v.hyp[0];

	/* 5: the conclusion */
	rc_obj = jv_object();
	ev = jv_array();
	if (top) {
		const struct alert *a = alert_by_id(&v, top->alert_id);

		conf = top->score / (top->score + (v.nhyp > 1 ? v.hyp[1].score : 0) + 1.0);
		conf = conf > 0.95 ? 0.95 : conf;
		rc_obj = jv_object_set(rc_obj, jv_string("entity"), jv_string(top->entity));
		rc_obj = jv_object_set(rc_obj, jv_string("kind"), jv_string(top->kind));
		snprintf(line, sizeof(line), "%s", top->summary);
		line[0] = (char)toupper((unsigned char)line[0]);
		rc_obj = jv_object_set(rc_obj, jv_string("summary"), jv_string(line));
		if (top->build >= 0) {
			const struct build *b = &v.builds[top->build];
			char what[512];

			snprintf(what, sizeof(what), "%s #%lld %s, commit %s", b->job, b->number,
				 b->result[0] ? b->result : "", b->commit);
			ev = jv_array_append(ev, evidence_item(what, b->id, b->link));
			if (b->console[0]) {
				snprintf(what, sizeof(what), "the console of %s #%lld: %s", b->job, b->number, b->console);
				ev = jv_array_append(ev, evidence_item(what, 0, b->link));
			}
		}
		if (a)
			ev = jv_array_append(ev, evidence_item(a->title, a->id, a->link));
		if (top->catalog[0]) /* the catalog's word: no alert or build behind it */
			ev = jv_array_append(ev, evidence_item(top->catalog, 0, NULL));
		if (top->own_id && top->own_id != top->alert_id) {
			const struct alert *own = alert_by_id(&v, top->own_id);
			const struct near *n = near_alert(&v, top->own_id);
			char what[640];

			snprintf(what, sizeof(what), "%s (%s's own alert%s)", own ? own->title : n ? n->title : "",
				 top->entity, own ? "" : ", in another incident");
			ev = jv_array_append(ev, evidence_item(what, top->own_id, own ? own->link : n ? n->link : NULL));
		}
		if (a && a->console && !strcmp(top->kind, "build")) {
			char what[640];

			snprintf(what, sizeof(what), "the console of %s: %s", a->failed_build, a->build_log);
			ev = jv_array_append(ev, evidence_item(what, 0, a->link));
		}
		*summary = aur_xstrdup(line);
	} else {
		conf = 0.2;
		snprintf(line, sizeof(line),
			 "No clear cause: %zu alert%s%s%s, with no deploy, dependency, host or fleet pointing anywhere",
			 v.nalerts, v.nalerts == 1 ? "" : "s", v.service[0] ? " on " : "", v.service);
		rc_obj = jv_object_set(rc_obj, jv_string("entity"), jv_null());
		rc_obj = jv_object_set(rc_obj, jv_string("kind"), jv_string("unknown"));
		rc_obj = jv_object_set(rc_obj, jv_string("summary"), jv_string(line));
		if (v.nalerts)
			ev = jv_array_append(ev, evidence_item(v.alerts[0].title, v.alerts[0].id, v.alerts[0].link));
		*summary = aur_xstrdup(line);
	}
	rc_obj = jv_object_set(rc_obj, jv_string("confidence"), jv_number(round(conf * 100) / 100));
	rc_obj = jv_object_set(rc_obj, jv_string("evidence"), ev);
	rc = say(&v, "Conclusion (confidence %.2f): %s", conf, *summary);
	if (rc == 0)
		rc = suggestions_for(&v, top);
	if (rc < 0)
		goto out;
	*root_cause = rc_obj;
	rc_obj = jv_invalid();
	rc = 0;
out:
	if (rc < 0) {
		free(*summary);
		*summary = NULL;
	}
	jv_free(rc_obj);
	for (int k = 0; k < 2; k++) {
		if (v.conn[k])
			memset(v.conn[k]->api_token, 0, sizeof(v.conn[k]->api_token));
		free(v.conn[k]);
	}
	free(v.alerts);
	free(v.builds);
	free(v.near);
	return rc;
}

static const struct aur_investigator builtin = { "builtin", investigate };

int aur_investigator_find(const char *name, const struct aur_investigator **out)
{
	*out = NULL;
	if (!strcmp(name, "builtin")) {
		*out = &builtin;
		return 0;
	}
	if (!strcmp(name, "llm")) {
		*out = &aur_investigator_llm;
		return 0;
	}
	return -ENOENT;
}
