/*
 * incident_text_md.c - an incident's postmortem as Markdown from the
 * template (incident_text.h, aur_incident_text_postmortem): title, a note
 * when the incident is not resolved, Summary, Impact, Timeline, Root cause
 * and evidence, Contributing alerts, Action items. Text from outside has
 * its control characters replaced, as everywhere in incident_text.h;
 * names, commands and times go into code spans with a fence longer than
 * any run of backticks in them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "incident.h"
#include "incident_text.h"
#include "incident_text_impl.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

/* Markdown: s as a code span, with a fence longer than any run of backticks in it. */
static void put_code(struct itext_w *w, const char *s)
{
	size_t run = 0;
	size_t longest = 0;
	int pad;

	for (const char *p = s; *p; p++) {
		run = *p == '`' ? run + 1 : 0;
		if (run > longest)
			longest = run;
	}
	pad = *s == '`' || (*s && s[strlen(s) - 1] == '`');
	for (size_t i = 0; i <= longest; i++)
		itext_put(w, "`");
	if (pad)
		itext_put(w, " ");
	itext_put_clean(w, s, 0);
	if (pad)
		itext_put(w, " ");
	for (size_t i = 0; i <= longest; i++)
		itext_put(w, "`");
}

static void md_event(struct itext_w *w, jv ev)
{
	itext_put(w, "- ");
	put_code(w, itext_gsd(ev, "at", "-"));
	itext_put(w, " **");
	itext_put_clean(w, itext_gsd(ev, "event", "-"), 0);
	itext_put(w, "**");
	itext_put_event_details(w, ev);
	itext_put(w, "\n");
}

/*
 * The investigation's finding: aurora-rca's object {entity, kind, summary,
 * confidence, evidence}, its summary first as a person reads it; a root
 * cause written as text (by hand, or before aurora-rca) stays text.
 */
static void md_root_cause(struct itext_w *w, jv o)
{
	jv rc = itext_get(o, "root_cause");
	jv conf;
	jv ev;
	int n;

	if (jv_get_kind(rc) != JV_KIND_OBJECT) {
		jv_free(rc);
		itext_put_clean(w, itext_gsd(o, "root_cause", "_No root cause was recorded._"), 1);
		return;
	}
	itext_put_clean(w, itext_gsd(rc, "summary", "_The investigation gave no summary._"), 1);
	itext_put(w, "\n\n- **Kind:** ");
	itext_put_clean(w, itext_gsd(rc, "kind", "unknown"), 0);
	itext_put(w, "\n- **Blamed:** ");
	if (itext_gsd(rc, "entity", NULL))
		put_code(w, itext_gs(rc, "entity"));
	else
		itext_put(w, "nothing in particular");
	conf = itext_get(rc, "confidence");
	if (jv_get_kind(conf) == JV_KIND_NUMBER)
		itext_putf(w, "\n- **Confidence:** %.0f%%", jv_number_value(conf) * 100);
	jv_free(conf);
	itext_put(w, "\n\n### Evidence\n\n");
	ev = itext_get(rc, "evidence");
	n = jv_get_kind(ev) == JV_KIND_ARRAY ? jv_array_length(jv_copy(ev)) : 0;
	if (n == 0)
		itext_put(w, "_The investigation named no evidence._\n");
	for (int i = 0; i < n; i++) {
		jv e = jv_array_get(jv_copy(ev), i);
		long long eid = 0;

		itext_put(w, "- ");
		itext_put_clean(w, itext_gsd(e, "what", "-"), 0);
		if (itext_gn(e, "id", &eid))
			itext_putf(w, " [id %lld]", eid);
		if (itext_gsd(e, "link", NULL)) {
			itext_put(w, " (<");
				  itext_put_clean(w, itext_gs(e, "link"), 0);
				  itext_put(w, ">)");
		}
		itext_put(w, "\n");
		jv_free(e);
	}
	jv_free(ev);
	jv_free(rc);
}

static void md_thought(struct itext_w *w, jv t)
{
	itext_put(w, "- ");
	put_code(w, itext_gsd(t, "at", "-"));
	itext_putf(w, " (%s) ", itext_gsd(t, "kind", "thought"));
	itext_put_clean(w, itext_gsd(t, "text", ""), 0);
	itext_put(w, "\n");
}

static void md_alert(struct itext_w *w, jv a)
{
	jv c = itext_get(a, "correlation");
	long long count = 0;

	itext_gn(a, "count", &count);
	itext_put(w, "- **");
	itext_put_clean(w, itext_gsd(a, "title", "(untitled)"), 0);
	itext_put(w, "** from ");
	put_code(w, itext_gsd(a, "source", "-"));
	if (itext_gsd(a, "service", NULL)) {
		itext_put(w, ", service ");
		put_code(w, itext_gs(a, "service"));
	}
	if (itext_gsd(a, "host", NULL)) {
		itext_put(w, ", host ");
		put_code(w, itext_gs(a, "host"));
	}
	itext_putf(w, "; %s, %s; seen %lld time%s from %s to %s", itext_gsd(a, "severity", "-"), itext_gsd(a, "status", "-"),
		   count, count == 1 ? "" : "s", itext_gsd(a, "first_seen", "-"), itext_gsd(a, "last_seen", "-"));
	if (jv_get_kind(c) == JV_KIND_OBJECT) {
		jv score = itext_get(c, "score");

		if (itext_opened(c)) {
			itext_put(w, "; opened the incident");
		} else {
			itext_put(w, "; joined by ");
			put_code(w, itext_gsd(c, "strategy", "-"));
			itext_putf(w, " (score %.2f)", jv_get_kind(score) == JV_KIND_NUMBER ? jv_number_value(score) : 0.0);
		}
		if (itext_gsd(c, "reason", NULL)) {
			itext_put(w, ": ");
			itext_put_clean(w, itext_gs(c, "reason"), 0);
		}
		jv_free(score);
	}
	if (itext_gsd(a, "link", NULL)) {
		itext_put(w, " (<");
			  itext_put_clean(w, itext_gs(a, "link"), 0);
			  itext_put(w, ">)");
	}
	itext_put(w, "\n");
	jv_free(c);
}

static void md_action(struct itext_w *w, jv s)
{
	itext_put(w, "- [ ] **");
	itext_put_clean(w, itext_gsd(s, "title", "(untitled)"), 0);
	itext_putf(w, "** (%s, risk %s)", itext_gsd(s, "kind", "-"), itext_gsd(s, "risk", "-"));
	if (itext_gsd(s, "text", NULL)) {
		itext_put(w, ": ");
		itext_put_clean(w, itext_gs(s, "text"), 0);
	}
	itext_put(w, "\n");
	if (itext_gsd(s, "command", NULL)) {
		itext_put(w, "  ");
		put_code(w, itext_gs(s, "command"));
		itext_put(w, "\n");
	}
}

/* Add s to the array set (a JSON array of distinct strings) unless empty or present. */
static jv add_distinct(jv set, const char *s)
{
	int n = jv_array_length(jv_copy(set));

	if (!s || !*s)
		return set;
	for (int i = 0; i < n; i++) {
		jv v = jv_array_get(jv_copy(set), i);
		int same = !strcmp(jv_string_value(v), s);

		jv_free(v);
		if (same)
			return set;
	}
	return jv_array_append(set, jv_string(s));
}

static void put_list(struct itext_w *w, jv set, const char *none)
{
	int n = jv_array_length(jv_copy(set));

	if (!n)
		itext_put(w, none);
	for (int i = 0; i < n; i++) {
		jv v = jv_array_get(jv_copy(set), i);

		if (i)
			itext_put(w, ", ");
		itext_put_clean(w, jv_string_value(v), 0);
		jv_free(v);
	}
}

static void md_impact(struct itext_w *w, jv o, long long now_ms)
{
	jv alerts = itext_get(o, "alerts");
	jv services = jv_array();
	jv hosts = jv_array();
	const char *status = itext_gsd(o, "status", "");
	const char *worst = itext_gsd(o, "severity", "medium");
	long long started = 0;
	long long total = 0;
	long long dur = 0;
	long long n_alerts = 0;
	int n = jv_get_kind(alerts) == JV_KIND_ARRAY ? jv_array_length(jv_copy(alerts)) : 0;

	services = add_distinct(services, itext_gs(o, "service"));
	for (int i = 0; i < n; i++) {
		jv a = jv_array_get(jv_copy(alerts), i);
		long long c = 0;

		services = add_distinct(services, itext_gs(a, "service"));
		hosts = add_distinct(hosts, itext_gs(a, "host"));
		if (itext_gn(a, "count", &c))
			total += c;
		if (aur_incident_severity_rank(itext_gs(a, "severity")) > aur_incident_severity_rank(worst))
			worst = itext_gs(a, "severity");
		jv_free(a);
	}
	itext_gn(o, "alert_count", &n_alerts);
	itext_put(w, "\n## Impact\n\n- **Duration:** ");
	if (itext_gn(o, "duration_ms", &dur)) {
		itext_put_duration(w, dur);
		itext_putf(w, ", from %s to %s\n", itext_gsd(o, "started_at", "-"), itext_gsd(o, "resolved_at", "-"));
	} else {
		if (strcmp(status, "merged") != 0 && itext_gsd(o, "started_at", NULL) &&
		    aur_time_parse_ms(itext_gs(o, "started_at"), &started) == 0) {
			itext_put(w, "ongoing, ");
			itext_put_duration(w, now_ms - started);
			itext_putf(w, " so far (since %s)\n", itext_gs(o, "started_at"));
		} else {
			itext_putf(w, "from %s until it was merged\n", itext_gsd(o, "started_at", "-"));
		}
	}
	itext_putf(w, "- **Alerts:** %lld distinct alert%s, %lld notification%s in total\n", n_alerts,
		   n_alerts == 1 ? "" : "s", total, total == 1 ? "" : "s");
	itext_put(w, "- **Services:** ");
	put_list(w, services, "none recorded");
	itext_put(w, "\n- **Hosts:** ");
	put_list(w, hosts, "none recorded");
	itext_putf(w, "\n- **Severity:** %s", itext_gsd(o, "severity", "-"));
	if (strcmp(worst, itext_gsd(o, "severity", "-")) != 0)
		itext_putf(w, " (highest alert severity: %s)", worst);
	itext_put(w, "\n");
	jv_free(hosts);
	jv_free(services);
	jv_free(alerts);
}

int aur_incident_text_postmortem(jv o, long long now_ms, struct aur_buf *b)
{
	struct itext_w w = { b, 0 };
	const char *status = itext_gsd(o, "status", "-");
	char now[32];
	long long id = 0;
	long long n = 0;

	itext_gn(o, "id", &id);
	aur_time_format_ms(now_ms, now, sizeof(now));
	itext_putf(&w, "# Postmortem: incident #%lld, ", id);
	itext_put_clean(&w, itext_gsd(o, "title", "(untitled)"), 0);
	itext_putf(&w, "\n\n_Generated %s by aurora-incident from the incident record._\n", now);
	if (!strcmp(status, "merged") && itext_gn(o, "merged_into", &n))
		itext_putf(&w, "\n> **Note:** this incident was merged into incident #%lld; the alerts, "
			   "investigation and action items moved there.\n", n);
	else if (strcmp(status, "resolved") != 0)
		itext_putf(&w, "\n> **Note:** this incident is still open (status %s); this document describes it "
			   "as of %s and will change.\n", status, now);
	itext_put(&w, "\n## Summary\n\n");
	itext_put_clean(&w, itext_gsd(o, "summary", "_No summary was recorded._"), 1);
	itext_putf(&w, "\n\n- **Status:** %s\n- **Severity:** %s\n- **Service:** ", status, itext_gsd(o, "severity", "-"));
	itext_put_clean(&w, itext_gsd(o, "service", "-"), 0);
	itext_put(&w, "\n- **Source:** ");
	itext_put_clean(&w, itext_gsd(o, "source_type", "-"), 0);
	if (itext_gsd(o, "source_link", NULL)) {
		itext_put(&w, " (<");
			  itext_put_clean(&w, itext_gs(o, "source_link"), 0);
			  itext_put(&w, ">)");
	}
	itext_putf(&w, "\n- **Started:** %s\n- **Resolved:** %s\n", itext_gsd(o, "started_at", "-"),
		   itext_gsd(o, "resolved_at", "not resolved"));
	md_impact(&w, o, now_ms);
	n = 0;
	itext_gn(o, "event_count", &n);
	itext_putf(&w, "\n## Timeline\n\n");
	if (n == 0)
		itext_put(&w, "_No events were recorded._\n");
	itext_each(&w, o, "events", md_event);
	itext_putf(&w, "\n## Root cause\n\n");
	md_root_cause(&w, o);
	itext_putf(&w, "\n\nInvestigation state: %s.\n\n### Investigation notes\n\n", itext_gsd(o, "rca_state", "-"));
	if (!itext_count_of(o, "thoughts"))
		itext_put(&w, "_No investigation notes were recorded._\n");
	itext_each(&w, o, "thoughts", md_thought);
	itext_put(&w, "\n## Contributing alerts\n\n");
	if (!itext_count_of(o, "alerts"))
		itext_put(&w, "_No alerts joined this incident._\n");
	itext_each(&w, o, "alerts", md_alert);
	itext_put(&w, "\n## Action items\n\n");
	if (!itext_count_of(o, "suggestions"))
		itext_put(&w, "_No action items were suggested._\n");
	itext_each(&w, o, "suggestions", md_action);
	return w.rc;
}
