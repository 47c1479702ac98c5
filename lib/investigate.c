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
 *
 * This file runs the steps in order and concludes; investigate_impl.h
 * lists the files that load the evidence, read consoles and hold the rules.
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

#include "connector.h"
#include "investigate.h"
#include "investigate_impl.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

void aur_inv_options_init(struct aur_inv_options *o)
{
	o->lookback_ms = 2LL * 3600 * 1000;
	o->step_delay_ms = 0;
	o->budget_ms = 0;
	o->fetch_timeout_ms = 5000;
	o->llm = NULL;
	o->catalog = NULL;
}
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

int inv_say(struct inv *v, const char *fmt, ...)
{
	char text[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	pause_step(v->o);
	return v->sink->thought(v->sink->ctx, text);
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
	rc = inv_load(&v, id, err, errlen);
	if (rc < 0)
		goto out;

	/* 1: what is there */
	if (!v.nalerts) {
		rc = inv_say(&v, "Incident #%lld holds no alerts yet: nothing to investigate", id);
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
		rc = inv_say(&v, "Gathered %zu alert%s from %zu source%s; the first fired at %s: %s \"%s\"%s%s", v.nalerts,
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
		rc = inv_say(&v, "Firing order: %s%s", line, v.nalerts > 6 ? ", ..." : "");
		if (rc < 0)
			goto out;
	}
	/* 3: recent changes */
	if (!v.nbuilds) {
		rc = inv_say(&v, "No Jenkins or CloudBees build or deploy is stored within %lld minutes before the first alert",
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
		rc = inv_say(&v, "Recent changes within %lld minutes before the first alert, newest first: %s%s",
			     o->lookback_ms / 60000, line, v.nbuilds > 6 ? "; ..." : "");
	}
	if (rc < 0)
		goto out;
	rc = inv_consoles_of_failed_builds(&v);
	if (rc < 0)
		goto out;

	inv_rule_certificate_dns(&v);
	inv_rule_dependency(&v, id);
	inv_rule_deploy(&v);
	inv_rule_hosts(&v);
	inv_rule_failed_build(&v);
	rc = inv_rule_previous(&v, err, errlen);
	if (rc < 0)
		goto out;
	if (v.catalog_said[0]) {
		rc = inv_say(&v, "The service catalog: %s", v.catalog_said);
		if (rc < 0)
			goto out;
	}
	qsort(v.hyp, v.nhyp, sizeof(v.hyp[0]), by_score);
	rc = inv_consoles_of_suspects(&v);
	if (rc < 0)
		goto out;

	/* 4: the hypotheses, best first, each with its reason */
	for (size_t i = 0; i < v.nhyp && i < 3; i++) {
		rc = inv_say(&v, "Hypothesis %zu (%s, score %.1f): %s - because %s", i + 1, v.hyp[i].kind, v.hyp[i].score,
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
			const struct near *n = inv_near_alert(&v, top->own_id);
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
	rc = inv_say(&v, "Conclusion (confidence %.2f): %s", conf, *summary);
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
