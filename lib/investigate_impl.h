/*
 * investigate_impl.h - the private half of investigate.h for the built-in
 * investigator, shared by its files and included by nothing else:
 *   investigate.c            the steps of one investigation in order, the
 *                            conclusion, the suggestions; the registry
 *   investigate_load.c       the incident, its alerts and the builds near
 *                            it, read from the store
 *   investigate_console.c    the consoles of the builds that matter: stored,
 *                            or fetched once and stored
 *   investigate_rules.c      the rules but one: certificate, dns, deploy,
 *                            fleet, host, root cause, failed build, previous
 *   investigate_dependency.c the dependency rule: labels, words and the
 *                            catalog, with other incidents' alerts near it
 *   investigate_words.c      the word helpers all of them use: stems,
 *                            whole words, log excerpts
 * The state of one investigation is a struct inv; each rule adds or
 * strengthens hypotheses in it (inv_add_hyp), and investigate.c ranks them.
 */
#ifndef AURORA_INVESTIGATE_IMPL_H
#define AURORA_INVESTIGATE_IMPL_H

#include <stddef.h>
#include <sqlite3.h>
#include <jq.h>

#include "investigate.h"

#define MAX_ALERTS 400
#define MAX_HYP 64
#define TEXT_MAX 2048
#define NAME_MAX_ 128
#define MAX_CONSOLES 8            /* builds whose console one investigation looks at */
#define MAX_UNBLAMED 8            /* catalog dependencies with no alert, kept for suggestions */

struct aur_connector;

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

/* A thought, through the sink, after the step delay. What the sink returned. */
int inv_say(struct inv *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* investigate_load.c: fill v with incident id, its alerts and the builds near it. 0 or -errno. */
int inv_load(struct inv *v, long long id, char *err, size_t errlen);

/* investigate_console.c: the consoles of the incident's failed builds, then of the suspects' builds. */
int inv_consoles_of_failed_builds(struct inv *v);
int inv_consoles_of_suspects(struct inv *v);

/* investigate_rules.c: the hypothesis of kind about entity, new or found; NULL when v is full. */
struct hyp *inv_add_hyp(struct inv *v, const char *kind, const char *entity);
void inv_rule_certificate_dns(struct inv *v);
void inv_rule_deploy(struct inv *v);
void inv_rule_hosts(struct inv *v);
void inv_rule_failed_build(struct inv *v);
int inv_rule_previous(struct inv *v, char *err, size_t errlen);

/* investigate_dependency.c */
void inv_rule_dependency(struct inv *v, long long id);
/* Another incident's alert near this one, by id; NULL when not loaded. */
const struct near *inv_near_alert(const struct inv *v, long long id);

/* investigate_words.c */
void inv_lower_copy(char *dst, size_t n, const char *src);
/* A blank and src lowercased after dst, when it fits. */
void inv_append(char *dst, size_t n, const char *src);
int inv_ends_with(const char *s, const char *suffix);
/* Drop a trailing "-12" (a host's or replica's number). */
void inv_strip_number(char *s);
/* The name a service goes by across tools ("Shipping API", "svc:shipping-prod": "shipping"). */
void inv_stem_of(const char *name, char *out, size_t n);
void inv_copy_str(char *dst, size_t n, const char *s);
int inv_is_word_char(char c);
/* 1 when word occurs in text as a whole word. */
int inv_has_word(const char *text, const char *word);
/* The failing part of a build log: the first line saying error, failed or exception, else the last. */
void inv_log_excerpt(const char *log, char *out, size_t n);

#endif
