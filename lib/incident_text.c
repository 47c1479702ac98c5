#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "incident.h"
#include "incident_text.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

/* A writer that stops at the first failure and remembers it. */
struct w {
	struct aur_buf *b;
	int rc;
};

static void put(struct w *w, const char *s)
{
	if (!w->rc)
		w->rc = aur_buf_adds(w->b, s);
}

__attribute__((format(printf, 2, 3))) static void putf(struct w *w, const char *fmt, ...)
{
	va_list ap;

	if (w->rc)
		return;
	va_start(ap, fmt);
	w->rc = aur_buf_vaddf(w->b, fmt, ap);
	va_end(ap);
}

/* Append s with control characters as '?' (tabs as spaces; newlines kept when block). */
static void put_clean(struct w *w, const char *s, int block)
{
	const char *p = s ? s : "";

	while (!w->rc && *p) {
		size_t n = 0;

		while (p[n] && ((unsigned char)p[n] >= 0x20 && (unsigned char)p[n] != 0x7f))
			n++;
		if (n)
			w->rc = aur_buf_add(w->b, p, n);
		p += n;
		if (!*p || w->rc)
			break;
		w->rc = aur_buf_adds(w->b, *p == '\t' ? " " : *p == '\n' && block ? "\n" : "?");
		p++;
	}
}

/* Append s padded with spaces to width characters (bytes; good enough for a table). */
static void put_pad(struct w *w, const char *s, size_t width)
{
	size_t before = w->b->len;

	put_clean(w, s, 0);
	for (size_t n = w->b->len - before; !w->rc && n < width; n++)
		put(w, " ");
}

/* Append s indented by ind on every line, ending in a newline. */
static void put_indented(struct w *w, const char *s, const char *ind)
{
	const char *p = s ? s : "";

	while (!w->rc && *p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char *line = aur_xstrndup(p, n);

		put(w, ind);
		put_clean(w, line, 0);
		put(w, "\n");
		free(line);
		p += n + (nl ? 1 : 0);
	}
}

/*
 * Field k of object o: the string (borrowed: o keeps its reference, so the
 * text lives as long as o), or NULL when absent or not a string.
 */
static const char *gs(jv o, const char *k)
{
	jv v;
	const char *s = NULL;

	if (jv_get_kind(o) != JV_KIND_OBJECT)
		return NULL;
	v = jv_object_get(jv_copy(o), jv_string(k));
	if (jv_get_kind(v) == JV_KIND_STRING)
		s = jv_string_value(v);
	jv_free(v);
	return s;
}

/* Field k of object o as a string, or dflt when absent, null or empty. */
static const char *gsd(jv o, const char *k, const char *dflt)
{
	const char *s = gs(o, k);

	return s && *s ? s : dflt;
}

/* Whether the alert of correlation c opened its incident (older views have no "opened": no strategy then). */
static int opened(jv c)
{
	jv v = jv_object_get(jv_copy(c), jv_string("opened"));
	int yes = jv_get_kind(v) == JV_KIND_TRUE ||
		  (jv_get_kind(v) != JV_KIND_FALSE && !strcmp(gsd(c, "strategy", "none"), "none"));

	jv_free(v);
	return yes;
}

/* Field k as a number into *n: 1, or 0 when absent or not a number. */
static int gn(jv o, const char *k, long long *n)
{
	jv v;
	int ok = 0;

	if (jv_get_kind(o) != JV_KIND_OBJECT)
		return 0;
	v = jv_object_get(jv_copy(o), jv_string(k));
	if (jv_get_kind(v) == JV_KIND_NUMBER) {
		*n = (long long)jv_number_value(v);
		ok = 1;
	}
	jv_free(v);
	return ok;
}

/* Field k (a new reference; jv_invalid when absent). */
static jv get(jv o, const char *k)
{
	if (jv_get_kind(o) != JV_KIND_OBJECT)
		return jv_invalid();
	return jv_object_get(jv_copy(o), jv_string(k));
}

/* Array field k's length (0 when absent). */
static int count_of(jv o, const char *k)
{
	jv a = get(o, k);
	int n = jv_get_kind(a) == JV_KIND_ARRAY ? jv_array_length(jv_copy(a)) : 0;

	jv_free(a);
	return n;
}

/* Append v as compact JSON (control characters escaped by jq already). */
static void put_json(struct w *w, jv v)
{
	jv text = jv_dump_string(jv_copy(v), 0);

	put(w, jv_string_value(text));
	jv_free(text);
}

static void put_duration(struct w *w, long long ms)
{
	long long s = ms > 0 ? ms / 1000 : 0;

	if (s < 60)
		putf(w, "%llds", s);
	else if (s < 3600)
		putf(w, "%lldm %llds", s / 60, s % 60);
	else if (s < 86400)
		putf(w, "%lldh %lldm", s / 3600, s % 3600 / 60);
	else
		putf(w, "%lldd %lldh", s / 86400, s % 86400 / 3600);
}

int aur_incident_text_list_header(struct aur_buf *b)
{
	return aur_buf_addf(b, "%6s  %-13s  %-8s  %-24s  %6s  %-16s  %s\n", "ID", "STATUS", "SEVERITY", "STARTED",
			    "ALERTS", "SERVICE", "TITLE");
}

int aur_incident_text_list_row(jv e, struct aur_buf *b)
{
	struct w w = { b, 0 };
	long long id = 0;
	long long alerts = 0;

	gn(e, "id", &id);
	gn(e, "alert_count", &alerts);
	putf(&w, "%6lld  ", id);
	put_pad(&w, gsd(e, "status", "-"), 13);
	put(&w, "  ");
	put_pad(&w, gsd(e, "severity", "-"), 8);
	put(&w, "  ");
	put_pad(&w, gsd(e, "started_at", "-"), 24);
	putf(&w, "  %6lld  ", alerts);
	put_pad(&w, gsd(e, "service", "-"), 16);
	put(&w, "  ");
	put_clean(&w, gsd(e, "title", ""), 0);
	put(&w, "\n");
	return w.rc;
}

/* The part of an event line after its type: "[sev] service: title (details)". */
static void put_event_details(struct w *w, jv ev)
{
	jv data = get(ev, "data");
	jv inc = get(data, "incident");
	const char *type = gsd(ev, "event", "");
	const char *service = gsd(inc, "service", NULL);
	long long from = 0;

	if (jv_get_kind(inc) == JV_KIND_OBJECT) {
		putf(w, " [%s] ", gsd(inc, "severity", "-"));
		if (service) {
			put_clean(w, service, 0);
			put(w, ": ");
		}
		put_clean(w, gsd(inc, "title", ""), 0);
	}
	if (!strcmp(type, "incident.status_changed")) {
		putf(w, " (%s -> %s", gsd(data, "from", "?"), gsd(data, "to", "?"));
		if (gsd(data, "reason", NULL)) {
			put(w, ": ");
			put_clean(w, gs(data, "reason"), 0);
		}
		put(w, ")");
	} else if (!strcmp(type, "delivery.error") && gn(data, "inbox_id", &from)) {
		put(w, " ");
		put_clean(w, gsd(data, "platform", "-"), 0);
		putf(w, " delivery %lld not used: ", from);
		put_clean(w, gsd(data, "reason", "-"), 0);
	} else if (!strcmp(type, "incident.merged_in") && gn(data, "from", &from)) {
		putf(w, " (incident #%lld merged in)", from);
	} else if ((!strcmp(type, "alert.attached") || !strcmp(type, "alert.resolved")) &&
		   gn(data, "alert_id", &from)) {
		jv score = get(data, "score");

		putf(w, " (alert #%lld ", from);
		put_clean(w, gsd(data, "title", ""), 0);
		if (!strcmp(type, "alert.resolved")) {
			put(w, " resolved");
		} else {
			put(w, " joined by ");
			put_clean(w, gsd(data, "strategy", "-"), 0);
			putf(w, " %.2f", jv_get_kind(score) == JV_KIND_NUMBER ? jv_number_value(score) : 0.0);
			if (gsd(data, "reason", NULL)) {
				put(w, ": ");
				put_clean(w, gs(data, "reason"), 0);
			}
		}
		put(w, ")");
		jv_free(score);
	} else if (jv_get_kind(data) == JV_KIND_OBJECT) {
		jv rest = jv_object_delete(jv_copy(data), jv_string("incident"));

		if (jv_object_length(jv_copy(rest)) > 0) {
			put(w, " ");
			put_json(w, rest);
		}
		jv_free(rest);
	}
	jv_free(inc);
	jv_free(data);
}

int aur_incident_text_event(jv ev, struct aur_buf *b)
{
	struct w w = { b, 0 };
	long long inc = 0;

	put_clean(&w, gsd(ev, "at", "-"), 0);
	if (gn(ev, "incident_id", &inc))
		putf(&w, " #%lld", inc);
	put(&w, " ");
	put_clean(&w, gsd(ev, "event", "-"), 0);
	put_event_details(&w, ev);
	put(&w, "\n");
	return w.rc;
}

static void put_field(struct w *w, const char *name, const char *value)
{
	putf(w, "%-14s", name);
	put_clean(w, value && *value ? value : "-", 0);
	put(w, "\n");
}

static void put_id_list(struct w *w, jv ids)
{
	int n = jv_get_kind(ids) == JV_KIND_ARRAY ? jv_array_length(jv_copy(ids)) : 0;

	for (int i = 0; i < n; i++) {
		jv v = jv_array_get(jv_copy(ids), i);

		putf(w, "%s#%lld", i ? ", " : "", (long long)jv_number_value(v));
		jv_free(v);
	}
}

static void put_alert(struct w *w, jv a)
{
	jv c = get(a, "correlation");
	jv record = get(a, "record");
	jv raw = get(a, "raw");
	long long id = 0;
	long long count = 0;
	long long inbox = 0;

	gn(a, "id", &id);
	gn(a, "count", &count);
	putf(w, "  #%lld [%s] %s ", id, gsd(a, "severity", "-"), gsd(a, "status", "-"));
	put_clean(w, gsd(a, "title", ""), 0);
	put(w, "\n      ");
	put_clean(w, gsd(a, "source", "-"), 0);
	put(w, " ");
	put_clean(w, gsd(a, "dedup_key", "-"), 0);
	put(w, ", service ");
	put_clean(w, gsd(a, "service", "-"), 0);
	put(w, ", host ");
	put_clean(w, gsd(a, "host", "-"), 0);
	putf(w, ", seen %lld time%s, %s .. %s\n", count, count == 1 ? "" : "s", gsd(a, "first_seen", "-"),
	     gsd(a, "last_seen", "-"));
	if (jv_get_kind(c) == JV_KIND_OBJECT) {
		jv score = get(c, "score");
		long long matched = 0;

		if (opened(c)) {
			put(w, "      opened the incident");
		} else {
			put(w, "      joined by ");
			put_clean(w, gsd(c, "strategy", "-"), 0);
			putf(w, " (score %.2f", jv_get_kind(score) == JV_KIND_NUMBER ? jv_number_value(score) : 0.0);
			if (gn(c, "matched_incident", &matched))
				putf(w, ", matched #%lld", matched);
			put(w, ")");
		}
		if (gsd(c, "reason", NULL)) {
			put(w, ": ");
			put_clean(w, gs(c, "reason"), 0);
		}
		put(w, "\n");
		jv_free(score);
	}
	if (gsd(a, "link", NULL)) {
		put(w, "      link: ");
		put_clean(w, gs(a, "link"), 0);
		put(w, "\n");
	}
	put(w, "      record: ");
	put_json(w, record);
	put(w, "\n");
	if (jv_get_kind(raw) == JV_KIND_OBJECT && gn(raw, "id", &inbox)) {
		jv body = get(raw, "body");

		putf(w, "      delivery #%lld from %s at %s: ", inbox, gsd(raw, "platform", "-"),
		     gsd(raw, "received_at", "-"));
		put_json(w, body);
		put(w, "\n");
		jv_free(body);
	}
	jv_free(raw);
	jv_free(record);
	jv_free(c);
}

/* Each element of array field k of o through fn. */
static void each(struct w *w, jv o, const char *k, void (*fn)(struct w *w, jv el))
{
	jv a = get(o, k);
	int n = jv_get_kind(a) == JV_KIND_ARRAY ? jv_array_length(jv_copy(a)) : 0;

	for (int i = 0; i < n && !w->rc; i++) {
		jv el = jv_array_get(jv_copy(a), i);

		fn(w, el);
		jv_free(el);
	}
	jv_free(a);
}

static void put_event_line(struct w *w, jv ev)
{
	put(w, "  ");
	if (!w->rc)
		w->rc = aur_incident_text_event(ev, w->b);
}

/* aurora-rca stores an object {entity, kind, summary, confidence, evidence}; older text stays text. */
static void put_root_cause(struct w *w, jv o)
{
	jv rc = get(o, "root_cause");
	jv conf;
	jv ev;

	if (jv_get_kind(rc) != JV_KIND_OBJECT) {
		jv_free(rc);
		put_indented(w, gsd(o, "root_cause", "(none yet)"), "  ");
		return;
	}
	put_indented(w, gsd(rc, "summary", "-"), "  ");
	putf(w, "  kind %s, entity ", gsd(rc, "kind", "unknown"));
	put_clean(w, gsd(rc, "entity", "-"), 0);
	conf = get(rc, "confidence");
	if (jv_get_kind(conf) == JV_KIND_NUMBER)
		putf(w, ", confidence %.2f", jv_number_value(conf));
	jv_free(conf);
	put(w, "\n");
	ev = get(rc, "evidence");
	for (int i = 0; jv_get_kind(ev) == JV_KIND_ARRAY && i < jv_array_length(jv_copy(ev)); i++) {
		jv e = jv_array_get(jv_copy(ev), i);

		put(w, "  evidence: ");
		put_clean(w, gsd(e, "what", "-"), 0);
		if (gsd(e, "link", NULL)) {
			put(w, " ");
			put_clean(w, gs(e, "link"), 0);
		}
		put(w, "\n");
		jv_free(e);
	}
	jv_free(ev);
	jv_free(rc);
}

static void put_thought(struct w *w, jv t)
{
	putf(w, "  %s [%s] ", gsd(t, "at", "-"), gsd(t, "kind", "thought"));
	put_clean(w, gsd(t, "text", ""), 0);
	put(w, "\n");
}

static void put_suggestion(struct w *w, jv s)
{
	long long id = 0;

	gn(s, "id", &id);
	putf(w, "  #%lld [%s, risk %s] ", id, gsd(s, "kind", "-"), gsd(s, "risk", "-"));
	put_clean(w, gsd(s, "title", ""), 0);
	put(w, "\n");
	if (gsd(s, "command", NULL)) {
		put(w, "      $ ");
		put_clean(w, gs(s, "command"), 0);
		put(w, "\n");
	}
	if (gsd(s, "text", NULL))
		put_indented(w, gs(s, "text"), "      ");
}

/* "acknowledged  by NAME at TIME", when it is. */
static void put_ack(struct w *w, jv o)
{
	jv ack = get(o, "acknowledged");

	if (jv_get_kind(ack) == JV_KIND_OBJECT) {
		putf(w, "%-14sby ", "acknowledged");
		put_clean(w, gsd(ack, "by", "-"), 0);
		putf(w, " at %s\n", gsd(ack, "at", "-"));
	}
	jv_free(ack);
}

int aur_incident_text_show(jv o, struct aur_buf *b)
{
	struct w w = { b, 0 };
	jv merged_from = get(o, "merged_from");
	jv meta = get(o, "metadata");
	long long id = 0;
	long long n = 0;
	long long dur = 0;

	gn(o, "id", &id);
	putf(&w, "incident #%lld: ", id);
	put_clean(&w, gsd(o, "title", ""), 0);
	put(&w, "\n");
	putf(&w, "%-14s%s (rca %s)\n", "status", gsd(o, "status", "-"), gsd(o, "rca_state", "-"));
	put_field(&w, "severity", gs(o, "severity"));
	put_field(&w, "service", gs(o, "service"));
	put_field(&w, "source", gs(o, "source_type"));
	put_field(&w, "link", gs(o, "source_link"));
	put_field(&w, "started", gs(o, "started_at"));
	put_field(&w, "updated", gs(o, "updated_at"));
	putf(&w, "%-14s%s", "resolved", gsd(o, "resolved_at", "-"));
	if (gn(o, "duration_ms", &dur)) {
		put(&w, " (after ");
		put_duration(&w, dur);
		put(&w, ")");
	}
	put(&w, "\n");
	if (gn(o, "merged_into", &n))
		putf(&w, "%-14s#%lld\n", "merged into", n);
	put_ack(&w, o);
	if (jv_get_kind(merged_from) == JV_KIND_ARRAY && jv_array_length(jv_copy(merged_from)) > 0) {
		putf(&w, "%-14s", "merged from");
		put_id_list(&w, merged_from);
		put(&w, "\n");
	}
	if (gn(o, "previous_incident", &n))
		putf(&w, "%-14s#%lld\n", "recurs", n);
	if (jv_get_kind(meta) == JV_KIND_OBJECT && jv_object_length(jv_copy(meta)) > 0) {
		putf(&w, "%-14s", "metadata");
		put_json(&w, meta);
		put(&w, "\n");
	}
	put(&w, "\nsummary:\n");
	put_indented(&w, gsd(o, "summary", "(none yet)"), "  ");
	put(&w, "\nroot cause:\n");
	put_root_cause(&w, o);
	n = 0;
	gn(o, "event_count", &n);
	putf(&w, "\ntimeline (%lld event%s):\n", n, n == 1 ? "" : "s");
	each(&w, o, "events", put_event_line);
	n = 0;
	gn(o, "alert_count", &n);
	putf(&w, "\nalerts (%lld):\n", n);
	each(&w, o, "alerts", put_alert);
	putf(&w, "\nthoughts (%d):\n", count_of(o, "thoughts"));
	each(&w, o, "thoughts", put_thought);
	putf(&w, "\nsuggestions (%d):\n", count_of(o, "suggestions"));
	each(&w, o, "suggestions", put_suggestion);
	if (gsd(o, "postmortem", NULL)) {
		put(&w, "\npostmortem:\n");
		put_indented(&w, gs(o, "postmortem"), "  ");
	}
	jv_free(meta);
	jv_free(merged_from);
	return w.rc;
}

/* Markdown: s as a code span, with a fence longer than any run of backticks in it. */
static void put_code(struct w *w, const char *s)
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
		put(w, "`");
	if (pad)
		put(w, " ");
	put_clean(w, s, 0);
	if (pad)
		put(w, " ");
	for (size_t i = 0; i <= longest; i++)
		put(w, "`");
}

static void md_event(struct w *w, jv ev)
{
	put(w, "- ");
	put_code(w, gsd(ev, "at", "-"));
	put(w, " **");
	put_clean(w, gsd(ev, "event", "-"), 0);
	put(w, "**");
	put_event_details(w, ev);
	put(w, "\n");
}

/*
 * The investigation's finding: aurora-rca's object {entity, kind, summary,
 * confidence, evidence}, its summary first as a person reads it; a root
 * cause written as text (by hand, or before aurora-rca) stays text.
 */
static void md_root_cause(struct w *w, jv o)
{
	jv rc = get(o, "root_cause");
	jv conf;
	jv ev;
	int n;

	if (jv_get_kind(rc) != JV_KIND_OBJECT) {
		jv_free(rc);
		put_clean(w, gsd(o, "root_cause", "_No root cause was recorded._"), 1);
		return;
	}
	put_clean(w, gsd(rc, "summary", "_The investigation gave no summary._"), 1);
	put(w, "\n\n- **Kind:** ");
	put_clean(w, gsd(rc, "kind", "unknown"), 0);
	put(w, "\n- **Blamed:** ");
	if (gsd(rc, "entity", NULL))
		put_code(w, gs(rc, "entity"));
	else
		put(w, "nothing in particular");
	conf = get(rc, "confidence");
	if (jv_get_kind(conf) == JV_KIND_NUMBER)
		putf(w, "\n- **Confidence:** %.0f%%", jv_number_value(conf) * 100);
	jv_free(conf);
	put(w, "\n\n### Evidence\n\n");
	ev = get(rc, "evidence");
	n = jv_get_kind(ev) == JV_KIND_ARRAY ? jv_array_length(jv_copy(ev)) : 0;
	if (n == 0)
		put(w, "_The investigation named no evidence._\n");
	for (int i = 0; i < n; i++) {
		jv e = jv_array_get(jv_copy(ev), i);
		long long eid = 0;

		put(w, "- ");
		put_clean(w, gsd(e, "what", "-"), 0);
		if (gn(e, "id", &eid))
			putf(w, " [id %lld]", eid);
		if (gsd(e, "link", NULL)) {
			put(w, " (<");
			put_clean(w, gs(e, "link"), 0);
			put(w, ">)");
		}
		put(w, "\n");
		jv_free(e);
	}
	jv_free(ev);
	jv_free(rc);
}

static void md_thought(struct w *w, jv t)
{
	put(w, "- ");
	put_code(w, gsd(t, "at", "-"));
	putf(w, " (%s) ", gsd(t, "kind", "thought"));
	put_clean(w, gsd(t, "text", ""), 0);
	put(w, "\n");
}

static void md_alert(struct w *w, jv a)
{
	jv c = get(a, "correlation");
	long long count = 0;

	gn(a, "count", &count);
	put(w, "- **");
	put_clean(w, gsd(a, "title", "(untitled)"), 0);
	put(w, "** from ");
	put_code(w, gsd(a, "source", "-"));
	if (gsd(a, "service", NULL)) {
		put(w, ", service ");
		put_code(w, gs(a, "service"));
	}
	if (gsd(a, "host", NULL)) {
		put(w, ", host ");
		put_code(w, gs(a, "host"));
	}
	putf(w, "; %s, %s; seen %lld time%s from %s to %s", gsd(a, "severity", "-"), gsd(a, "status", "-"),
	     count, count == 1 ? "" : "s", gsd(a, "first_seen", "-"), gsd(a, "last_seen", "-"));
	if (jv_get_kind(c) == JV_KIND_OBJECT) {
		jv score = get(c, "score");

		if (opened(c)) {
			put(w, "; opened the incident");
		} else {
			put(w, "; joined by ");
			put_code(w, gsd(c, "strategy", "-"));
			putf(w, " (score %.2f)", jv_get_kind(score) == JV_KIND_NUMBER ? jv_number_value(score) : 0.0);
		}
		if (gsd(c, "reason", NULL)) {
			put(w, ": ");
			put_clean(w, gs(c, "reason"), 0);
		}
		jv_free(score);
	}
	if (gsd(a, "link", NULL)) {
		put(w, " (<");
		put_clean(w, gs(a, "link"), 0);
		put(w, ">)");
	}
	put(w, "\n");
	jv_free(c);
}

static void md_action(struct w *w, jv s)
{
	put(w, "- [ ] **");
	put_clean(w, gsd(s, "title", "(untitled)"), 0);
	putf(w, "** (%s, risk %s)", gsd(s, "kind", "-"), gsd(s, "risk", "-"));
	if (gsd(s, "text", NULL)) {
		put(w, ": ");
		put_clean(w, gs(s, "text"), 0);
	}
	put(w, "\n");
	if (gsd(s, "command", NULL)) {
		put(w, "  ");
		put_code(w, gs(s, "command"));
		put(w, "\n");
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

static void put_list(struct w *w, jv set, const char *none)
{
	int n = jv_array_length(jv_copy(set));

	if (!n)
		put(w, none);
	for (int i = 0; i < n; i++) {
		jv v = jv_array_get(jv_copy(set), i);

		if (i)
			put(w, ", ");
		put_clean(w, jv_string_value(v), 0);
		jv_free(v);
	}
}

static void md_impact(struct w *w, jv o, long long now_ms)
{
	jv alerts = get(o, "alerts");
	jv services = jv_array();
	jv hosts = jv_array();
	const char *status = gsd(o, "status", "");
	const char *worst = gsd(o, "severity", "medium");
	long long started = 0;
	long long total = 0;
	long long dur = 0;
	long long n_alerts = 0;
	int n = jv_get_kind(alerts) == JV_KIND_ARRAY ? jv_array_length(jv_copy(alerts)) : 0;

	services = add_distinct(services, gs(o, "service"));
	for (int i = 0; i < n; i++) {
		jv a = jv_array_get(jv_copy(alerts), i);
		long long c = 0;

		services = add_distinct(services, gs(a, "service"));
		hosts = add_distinct(hosts, gs(a, "host"));
		if (gn(a, "count", &c))
			total += c;
		if (aur_incident_severity_rank(gs(a, "severity")) > aur_incident_severity_rank(worst))
			worst = gs(a, "severity");
		jv_free(a);
	}
	gn(o, "alert_count", &n_alerts);
	put(w, "\n## Impact\n\n- **Duration:** ");
	if (gn(o, "duration_ms", &dur)) {
		put_duration(w, dur);
		putf(w, ", from %s to %s\n", gsd(o, "started_at", "-"), gsd(o, "resolved_at", "-"));
	} else {
		if (strcmp(status, "merged") != 0 && gsd(o, "started_at", NULL) &&
		    aur_time_parse_ms(gs(o, "started_at"), &started) == 0) {
			put(w, "ongoing, ");
			put_duration(w, now_ms - started);
			putf(w, " so far (since %s)\n", gs(o, "started_at"));
		} else {
			putf(w, "from %s until it was merged\n", gsd(o, "started_at", "-"));
		}
	}
	putf(w, "- **Alerts:** %lld distinct alert%s, %lld notification%s in total\n", n_alerts,
	     n_alerts == 1 ? "" : "s", total, total == 1 ? "" : "s");
	put(w, "- **Services:** ");
	put_list(w, services, "none recorded");
	put(w, "\n- **Hosts:** ");
	put_list(w, hosts, "none recorded");
	putf(w, "\n- **Severity:** %s", gsd(o, "severity", "-"));
	if (strcmp(worst, gsd(o, "severity", "-")) != 0)
		putf(w, " (highest alert severity: %s)", worst);
	put(w, "\n");
	jv_free(hosts);
	jv_free(services);
	jv_free(alerts);
}

int aur_incident_text_postmortem(jv o, long long now_ms, struct aur_buf *b)
{
	struct w w = { b, 0 };
	const char *status = gsd(o, "status", "-");
	char now[32];
	long long id = 0;
	long long n = 0;

	gn(o, "id", &id);
	aur_time_format_ms(now_ms, now, sizeof(now));
	putf(&w, "# Postmortem: incident #%lld, ", id);
	put_clean(&w, gsd(o, "title", "(untitled)"), 0);
	putf(&w, "\n\n_Generated %s by aurora-incident from the incident record._\n", now);
	if (!strcmp(status, "merged") && gn(o, "merged_into", &n))
		putf(&w, "\n> **Note:** this incident was merged into incident #%lld; the alerts, "
			 "investigation and action items moved there.\n", n);
	else if (strcmp(status, "resolved") != 0)
		putf(&w, "\n> **Note:** this incident is still open (status %s); this document describes it "
			 "as of %s and will change.\n", status, now);
	put(&w, "\n## Summary\n\n");
	put_clean(&w, gsd(o, "summary", "_No summary was recorded._"), 1);
	putf(&w, "\n\n- **Status:** %s\n- **Severity:** %s\n- **Service:** ", status, gsd(o, "severity", "-"));
	put_clean(&w, gsd(o, "service", "-"), 0);
	put(&w, "\n- **Source:** ");
	put_clean(&w, gsd(o, "source_type", "-"), 0);
	if (gsd(o, "source_link", NULL)) {
		put(&w, " (<");
		put_clean(&w, gs(o, "source_link"), 0);
		put(&w, ">)");
	}
	putf(&w, "\n- **Started:** %s\n- **Resolved:** %s\n", gsd(o, "started_at", "-"),
	     gsd(o, "resolved_at", "not resolved"));
	md_impact(&w, o, now_ms);
	n = 0;
	gn(o, "event_count", &n);
	putf(&w, "\n## Timeline\n\n");
	if (n == 0)
		put(&w, "_No events were recorded._\n");
	each(&w, o, "events", md_event);
	putf(&w, "\n## Root cause\n\n");
	md_root_cause(&w, o);
	putf(&w, "\n\nInvestigation state: %s.\n\n### Investigation notes\n\n", gsd(o, "rca_state", "-"));
	if (!count_of(o, "thoughts"))
		put(&w, "_No investigation notes were recorded._\n");
	each(&w, o, "thoughts", md_thought);
	put(&w, "\n## Contributing alerts\n\n");
	if (!count_of(o, "alerts"))
		put(&w, "_No alerts joined this incident._\n");
	each(&w, o, "alerts", md_alert);
	put(&w, "\n## Action items\n\n");
	if (!count_of(o, "suggestions"))
		put(&w, "_No action items were suggested._\n");
	each(&w, o, "suggestions", md_action);
	return w.rc;
}
