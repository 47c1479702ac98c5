/*
 * investigate_rules.c - the built-in investigator's rules but the
 * dependency one (investigate_impl.h): certificate and dns from the alert
 * texts, deploy from the builds before the first alert, fleet and host from
 * the alarms of hosts, Dynatrace's own root cause, the failed build that is
 * the incident, and what the investigation of the incident this one recurs
 * found. Each adds or strengthens hypotheses with a score and a reason.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "catalog.h"
#include "db.h"
#include "investigate_impl.h"
#include "jvio.h"
#include "banned.h"

#define PREVIOUS_WAIT_TRIES 200 /* 10 s at 50 ms */

struct hyp *inv_add_hyp(struct inv *v, const char *kind, const char *entity)
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
	inv_copy_str(h->entity, sizeof(h->entity), entity);
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

		if (!(isalnum((unsigned char)*p) || *p == '*') || (p > text && inv_is_word_char(p[-1])))
			continue;
		while (inv_is_word_char(s[len]) || s[len] == '*')
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

void inv_rule_certificate_dns(struct inv *v)
{
	for (size_t i = 0; i < v->nalerts; i++) {
		struct alert *a = &v->alerts[i];
		char host[NAME_MAX_];
		struct hyp *h;

		if (strstr(a->text, "certificate") || strstr(a->text, "x509") || strstr(a->text, "tls handshake")) {
			if (!find_hostname(a->text, "cn=", host, sizeof(host)) &&
			    !find_hostname(a->text, NULL, host, sizeof(host)))
				continue;
			h = inv_add_hyp(v, "certificate", host);
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
			cluster = strstr(host, ".svc") || inv_ends_with(host, ".cluster.local") || inv_ends_with(host, ".local");
			h = inv_add_hyp(v, "dns", cluster ? "coredns" : host);
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

static int mentions(const struct alert *a, const char *stem)
{
	return !strcmp(a->stem, stem) || !strcmp(a->host_stem, stem) || inv_has_word(a->text, stem);
}

void inv_rule_deploy(struct inv *v)
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
		h = inv_add_hyp(v, "deploy", entity);
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

void inv_rule_hosts(struct inv *v)
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
				inv_copy_str(hosts[nh++], sizeof(hosts[0]), b->host);
		}
		if (nh >= 2) {
			struct hyp *h = inv_add_hyp(v, "fleet", a->host_stem);

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
		h = inv_add_hyp(v, "host", a->host);
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
		h = inv_add_hyp(v, "dependency", entity);
		if (h && !h->support++) {
			h->alert_id = a->id;
			h->score = 4.0;
			snprintf(h->summary, sizeof(h->summary), "Dynatrace names %s as the root cause", entity);
			snprintf(h->why, sizeof(h->why), "Dynatrace's root-cause analysis points at %s", entity);
		}
	}
}

/* A failed build in the incident itself: the build is what broke. */
void inv_rule_failed_build(struct inv *v)
{
	for (size_t i = 0; i < v->nalerts; i++) {
		struct alert *a = &v->alerts[i];
		struct hyp *h;

		if (!a->failed_build[0])
			continue;
		h = inv_add_hyp(v, "build", a->failed_build);
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
int inv_rule_previous(struct inv *v, char *err, size_t errlen)
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
			h = inv_add_hyp(v, kinds[k], entity);
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
