/*
 * incident_text.c - incidents for people (incident_text.h): the list
 * table, one line per event and the show page, each formatted from
 * incident_view.h's JSON into a bounded buffer; also the writer and the
 * field getters incident_text_md.c's postmortem uses (incident_text_impl.h).
 */
#include <errno.h>
#include <stdarg.h>
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

void itext_put(struct itext_w *w, const char *s)
{
	if (!w->rc)
		w->rc = aur_buf_adds(w->b, s);
}

void itext_putf(struct itext_w *w, const char *fmt, ...)
{
	va_list ap;

	if (w->rc)
		return;
	va_start(ap, fmt);
	w->rc = aur_buf_vaddf(w->b, fmt, ap);
	va_end(ap);
}

/* Append s with control characters as '?' (tabs as spaces; newlines kept when block). */
void itext_put_clean(struct itext_w *w, const char *s, int block)
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
static void put_pad(struct itext_w *w, const char *s, size_t width)
{
	size_t before = w->b->len;

	itext_put_clean(w, s, 0);
	for (size_t n = w->b->len - before; !w->rc && n < width; n++)
		itext_put(w, " ");
}

/* Append s indented by ind on every line, ending in a newline. */
static void put_indented(struct itext_w *w, const char *s, const char *ind)
{
	const char *p = s ? s : "";

	while (!w->rc && *p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char *line = aur_xstrndup(p, n);

		itext_put(w, ind);
		itext_put_clean(w, line, 0);
		itext_put(w, "\n");
		free(line);
		p += n + (nl ? 1 : 0);
	}
}

/*
 * Field k of object o: the string (borrowed: o keeps its reference, so the
 * text lives as long as o), or NULL when absent or not a string.
 */
const char *itext_gs(jv o, const char *k)
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
const char *itext_gsd(jv o, const char *k, const char *dflt)
{
	const char *s = itext_gs(o, k);

	return s && *s ? s : dflt;
}

/* Whether the alert of correlation c opened its incident (older views have no "opened": no strategy then). */
int itext_opened(jv c)
{
	jv v = jv_object_get(jv_copy(c), jv_string("opened"));
	int yes = jv_get_kind(v) == JV_KIND_TRUE ||
		  (jv_get_kind(v) != JV_KIND_FALSE && !strcmp(itext_gsd(c, "strategy", "none"), "none"));

	jv_free(v);
	return yes;
}

/* Field k as a number into *n: 1, or 0 when absent or not a number. */
int itext_gn(jv o, const char *k, long long *n)
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
jv itext_get(jv o, const char *k)
{
	if (jv_get_kind(o) != JV_KIND_OBJECT)
		return jv_invalid();
	return jv_object_get(jv_copy(o), jv_string(k));
}

/* Array field k's length (0 when absent). */
int itext_count_of(jv o, const char *k)
{
	jv a = itext_get(o, k);
	int n = jv_get_kind(a) == JV_KIND_ARRAY ? jv_array_length(jv_copy(a)) : 0;

	jv_free(a);
	return n;
}

/* Append v as compact JSON (control characters escaped by jq already). */
static void put_json(struct itext_w *w, jv v)
{
	jv text = jv_dump_string(jv_copy(v), 0);

	itext_put(w, jv_string_value(text));
	jv_free(text);
}

void itext_put_duration(struct itext_w *w, long long ms)
{
	long long s = ms > 0 ? ms / 1000 : 0;

	if (s < 60)
		itext_putf(w, "%llds", s);
	else if (s < 3600)
		itext_putf(w, "%lldm %llds", s / 60, s % 60);
	else if (s < 86400)
		itext_putf(w, "%lldh %lldm", s / 3600, s % 3600 / 60);
	else
		itext_putf(w, "%lldd %lldh", s / 86400, s % 86400 / 3600);
}

int aur_incident_text_list_header(struct aur_buf *b)
{
	return aur_buf_addf(b, "%6s  %-13s  %-8s  %-24s  %6s  %-16s  %s\n", "ID", "STATUS", "SEVERITY", "STARTED",
			    "ALERTS", "SERVICE", "TITLE");
}

int aur_incident_text_list_row(jv e, struct aur_buf *b)
{
	struct itext_w w = { b, 0 };
	long long id = 0;
	long long alerts = 0;

	itext_gn(e, "id", &id);
	itext_gn(e, "alert_count", &alerts);
	itext_putf(&w, "%6lld  ", id);
	put_pad(&w, itext_gsd(e, "status", "-"), 13);
	itext_put(&w, "  ");
	put_pad(&w, itext_gsd(e, "severity", "-"), 8);
	itext_put(&w, "  ");
	put_pad(&w, itext_gsd(e, "started_at", "-"), 24);
	itext_putf(&w, "  %6lld  ", alerts);
	put_pad(&w, itext_gsd(e, "service", "-"), 16);
	itext_put(&w, "  ");
	itext_put_clean(&w, itext_gsd(e, "title", ""), 0);
	itext_put(&w, "\n");
	return w.rc;
}

/* The part of an event line after its type: "[sev] service: title (details)". */
void itext_put_event_details(struct itext_w *w, jv ev)
{
	jv data = itext_get(ev, "data");
	jv inc = itext_get(data, "incident");
	const char *type = itext_gsd(ev, "event", "");
	const char *service = itext_gsd(inc, "service", NULL);
	long long from = 0;

	if (jv_get_kind(inc) == JV_KIND_OBJECT) {
		itext_putf(w, " [%s] ", itext_gsd(inc, "severity", "-"));
		if (service) {
			itext_put_clean(w, service, 0);
			itext_put(w, ": ");
		}
		itext_put_clean(w, itext_gsd(inc, "title", ""), 0);
	}
	if (!strcmp(type, "incident.status_changed")) {
		itext_putf(w, " (%s -> %s", itext_gsd(data, "from", "?"), itext_gsd(data, "to", "?"));
			   if (itext_gsd(data, "reason", NULL)) {
			   itext_put(w, ": ");
			   itext_put_clean(w, itext_gs(data, "reason"), 0);
			   }
			   itext_put(w, ")");
	} else if (!strcmp(type, "delivery.error") && itext_gn(data, "inbox_id", &from)) {
		itext_put(w, " ");
		itext_put_clean(w, itext_gsd(data, "platform", "-"), 0);
		itext_putf(w, " delivery %lld not used: ", from);
		itext_put_clean(w, itext_gsd(data, "reason", "-"), 0);
	} else if (!strcmp(type, "incident.merged_in") && itext_gn(data, "from", &from)) {
		itext_putf(w, " (incident #%lld merged in)", from);
	} else if ((!strcmp(type, "alert.attached") || !strcmp(type, "alert.resolved")) &&
		   itext_gn(data, "alert_id", &from)) {
		jv score = itext_get(data, "score");

		itext_putf(w, " (alert #%lld ", from);
			   itext_put_clean(w, itext_gsd(data, "title", ""), 0);
			   if (!strcmp(type, "alert.resolved")) {
			   itext_put(w, " resolved");
			   } else {
			   itext_put(w, " joined by ");
			   itext_put_clean(w, itext_gsd(data, "strategy", "-"), 0);
			   itext_putf(w, " %.2f", jv_get_kind(score) == JV_KIND_NUMBER ? jv_number_value(score) : 0.0);
			   if (itext_gsd(data, "reason", NULL)) {
			   itext_put(w, ": ");
			   itext_put_clean(w, itext_gs(data, "reason"), 0);
			   }
			   }
			   itext_put(w, ")");
		jv_free(score);
	} else if (jv_get_kind(data) == JV_KIND_OBJECT) {
		jv rest = jv_object_delete(jv_copy(data), jv_string("incident"));

		if (jv_object_length(jv_copy(rest)) > 0) {
			itext_put(w, " ");
			put_json(w, rest);
		}
		jv_free(rest);
	}
	jv_free(inc);
	jv_free(data);
}

int aur_incident_text_event(jv ev, struct aur_buf *b)
{
	struct itext_w w = { b, 0 };
	long long inc = 0;

	itext_put_clean(&w, itext_gsd(ev, "at", "-"), 0);
	if (itext_gn(ev, "incident_id", &inc))
		itext_putf(&w, " #%lld", inc);
	itext_put(&w, " ");
	itext_put_clean(&w, itext_gsd(ev, "event", "-"), 0);
	itext_put_event_details(&w, ev);
	itext_put(&w, "\n");
	return w.rc;
}

static void put_field(struct itext_w *w, const char *name, const char *value)
{
	itext_putf(w, "%-14s", name);
	itext_put_clean(w, value && *value ? value : "-", 0);
	itext_put(w, "\n");
}

static void put_id_list(struct itext_w *w, jv ids)
{
	int n = jv_get_kind(ids) == JV_KIND_ARRAY ? jv_array_length(jv_copy(ids)) : 0;

	for (int i = 0; i < n; i++) {
		jv v = jv_array_get(jv_copy(ids), i);

		itext_putf(w, "%s#%lld", i ? ", " : "", (long long)jv_number_value(v));
		jv_free(v);
	}
}

static void put_alert(struct itext_w *w, jv a)
{
	jv c = itext_get(a, "correlation");
	jv record = itext_get(a, "record");
	jv raw = itext_get(a, "raw");
	long long id = 0;
	long long count = 0;
	long long inbox = 0;

	itext_gn(a, "id", &id);
	itext_gn(a, "count", &count);
	itext_putf(w, "  #%lld [%s] %s ", id, itext_gsd(a, "severity", "-"), itext_gsd(a, "status", "-"));
	itext_put_clean(w, itext_gsd(a, "title", ""), 0);
	itext_put(w, "\n      ");
	itext_put_clean(w, itext_gsd(a, "source", "-"), 0);
	itext_put(w, " ");
	itext_put_clean(w, itext_gsd(a, "dedup_key", "-"), 0);
	itext_put(w, ", service ");
	itext_put_clean(w, itext_gsd(a, "service", "-"), 0);
	itext_put(w, ", host ");
	itext_put_clean(w, itext_gsd(a, "host", "-"), 0);
	itext_putf(w, ", seen %lld time%s, %s .. %s\n", count, count == 1 ? "" : "s", itext_gsd(a, "first_seen", "-"),
		   itext_gsd(a, "last_seen", "-"));
	if (jv_get_kind(c) == JV_KIND_OBJECT) {
		jv score = itext_get(c, "score");
		long long matched = 0;

		if (itext_opened(c)) {
			itext_put(w, "      opened the incident");
		} else {
			itext_put(w, "      joined by ");
			itext_put_clean(w, itext_gsd(c, "strategy", "-"), 0);
			itext_putf(w, " (score %.2f", jv_get_kind(score) == JV_KIND_NUMBER ? jv_number_value(score) : 0.0);
				   if (itext_gn(c, "matched_incident", &matched))
				   itext_putf(w, ", matched #%lld", matched);
				   itext_put(w, ")");
		}
		if (itext_gsd(c, "reason", NULL)) {
			itext_put(w, ": ");
			itext_put_clean(w, itext_gs(c, "reason"), 0);
		}
		itext_put(w, "\n");
		jv_free(score);
	}
	if (itext_gsd(a, "link", NULL)) {
		itext_put(w, "      link: ");
		itext_put_clean(w, itext_gs(a, "link"), 0);
		itext_put(w, "\n");
	}
	itext_put(w, "      record: ");
	put_json(w, record);
	itext_put(w, "\n");
	if (jv_get_kind(raw) == JV_KIND_OBJECT && itext_gn(raw, "id", &inbox)) {
		jv body = itext_get(raw, "body");

		itext_putf(w, "      delivery #%lld from %s at %s: ", inbox, itext_gsd(raw, "platform", "-"),
			   itext_gsd(raw, "received_at", "-"));
		put_json(w, body);
		itext_put(w, "\n");
		jv_free(body);
	}
	jv_free(raw);
	jv_free(record);
	jv_free(c);
}

/* Each element of array field k of o through fn. */
void itext_each(struct itext_w *w, jv o, const char *k, void (*fn)(struct itext_w *w, jv el))
{
	jv a = itext_get(o, k);
	int n = jv_get_kind(a) == JV_KIND_ARRAY ? jv_array_length(jv_copy(a)) : 0;

	for (int i = 0; i < n && !w->rc; i++) {
		jv el = jv_array_get(jv_copy(a), i);

		fn(w, el);
		jv_free(el);
	}
	jv_free(a);
}

static void put_event_line(struct itext_w *w, jv ev)
{
	itext_put(w, "  ");
	if (!w->rc)
		w->rc = aur_incident_text_event(ev, w->b);
}

/* aurora-rca stores an object {entity, kind, summary, confidence, evidence}; older text stays text. */
static void put_root_cause(struct itext_w *w, jv o)
{
	jv rc = itext_get(o, "root_cause");
	jv conf;
	jv ev;

	if (jv_get_kind(rc) != JV_KIND_OBJECT) {
		jv_free(rc);
		put_indented(w, itext_gsd(o, "root_cause", "(none yet)"), "  ");
		return;
	}
	put_indented(w, itext_gsd(rc, "summary", "-"), "  ");
	itext_putf(w, "  kind %s, entity ", itext_gsd(rc, "kind", "unknown"));
	itext_put_clean(w, itext_gsd(rc, "entity", "-"), 0);
	conf = itext_get(rc, "confidence");
	if (jv_get_kind(conf) == JV_KIND_NUMBER)
		itext_putf(w, ", confidence %.2f", jv_number_value(conf));
	jv_free(conf);
	itext_put(w, "\n");
	ev = itext_get(rc, "evidence");
	for (int i = 0; jv_get_kind(ev) == JV_KIND_ARRAY && i < jv_array_length(jv_copy(ev)); i++) {
		jv e = jv_array_get(jv_copy(ev), i);

		itext_put(w, "  evidence: ");
		itext_put_clean(w, itext_gsd(e, "what", "-"), 0);
		if (itext_gsd(e, "link", NULL)) {
			itext_put(w, " ");
			itext_put_clean(w, itext_gs(e, "link"), 0);
		}
		itext_put(w, "\n");
		jv_free(e);
	}
	jv_free(ev);
	jv_free(rc);
}

static void put_thought(struct itext_w *w, jv t)
{
	itext_putf(w, "  %s [%s] ", itext_gsd(t, "at", "-"), itext_gsd(t, "kind", "thought"));
	itext_put_clean(w, itext_gsd(t, "text", ""), 0);
	itext_put(w, "\n");
}

static void put_suggestion(struct itext_w *w, jv s)
{
	long long id = 0;

	itext_gn(s, "id", &id);
	itext_putf(w, "  #%lld [%s, risk %s] ", id, itext_gsd(s, "kind", "-"), itext_gsd(s, "risk", "-"));
	itext_put_clean(w, itext_gsd(s, "title", ""), 0);
	itext_put(w, "\n");
	if (itext_gsd(s, "command", NULL)) {
		itext_put(w, "      $ ");
		itext_put_clean(w, itext_gs(s, "command"), 0);
		itext_put(w, "\n");
	}
	if (itext_gsd(s, "text", NULL))
		put_indented(w, itext_gs(s, "text"), "      ");
}

/* "acknowledged  by NAME at TIME", when it is. */
static void put_ack(struct itext_w *w, jv o)
{
	jv ack = itext_get(o, "acknowledged");

	if (jv_get_kind(ack) == JV_KIND_OBJECT) {
		itext_putf(w, "%-14sby ", "acknowledged");
		itext_put_clean(w, itext_gsd(ack, "by", "-"), 0);
		itext_putf(w, " at %s\n", itext_gsd(ack, "at", "-"));
	}
	jv_free(ack);
}

int aur_incident_text_show(jv o, struct aur_buf *b)
{
	struct itext_w w = { b, 0 };
	jv merged_from = itext_get(o, "merged_from");
	jv meta = itext_get(o, "metadata");
	long long id = 0;
	long long n = 0;
	long long dur = 0;

	itext_gn(o, "id", &id);
	itext_putf(&w, "incident #%lld: ", id);
	itext_put_clean(&w, itext_gsd(o, "title", ""), 0);
	itext_put(&w, "\n");
	itext_putf(&w, "%-14s%s (rca %s)\n", "status", itext_gsd(o, "status", "-"), itext_gsd(o, "rca_state", "-"));
	put_field(&w, "severity", itext_gs(o, "severity"));
	put_field(&w, "service", itext_gs(o, "service"));
	put_field(&w, "source", itext_gs(o, "source_type"));
	put_field(&w, "link", itext_gs(o, "source_link"));
	put_field(&w, "started", itext_gs(o, "started_at"));
	put_field(&w, "updated", itext_gs(o, "updated_at"));
	itext_putf(&w, "%-14s%s", "resolved", itext_gsd(o, "resolved_at", "-"));
	if (itext_gn(o, "duration_ms", &dur)) {
		itext_put(&w, " (after ");
			  itext_put_duration(&w, dur);
			  itext_put(&w, ")");
	}
	itext_put(&w, "\n");
	if (itext_gn(o, "merged_into", &n))
		itext_putf(&w, "%-14s#%lld\n", "merged into", n);
	put_ack(&w, o);
	if (jv_get_kind(merged_from) == JV_KIND_ARRAY && jv_array_length(jv_copy(merged_from)) > 0) {
		itext_putf(&w, "%-14s", "merged from");
		put_id_list(&w, merged_from);
		itext_put(&w, "\n");
	}
	if (itext_gn(o, "previous_incident", &n))
		itext_putf(&w, "%-14s#%lld\n", "recurs", n);
	if (jv_get_kind(meta) == JV_KIND_OBJECT && jv_object_length(jv_copy(meta)) > 0) {
		itext_putf(&w, "%-14s", "metadata");
		put_json(&w, meta);
		itext_put(&w, "\n");
	}
	itext_put(&w, "\nsummary:\n");
	put_indented(&w, itext_gsd(o, "summary", "(none yet)"), "  ");
	itext_put(&w, "\nroot cause:\n");
	put_root_cause(&w, o);
	n = 0;
	itext_gn(o, "event_count", &n);
	itext_putf(&w, "\ntimeline (%lld event%s):\n", n, n == 1 ? "" : "s");
	itext_each(&w, o, "events", put_event_line);
	n = 0;
	itext_gn(o, "alert_count", &n);
	itext_putf(&w, "\nalerts (%lld):\n", n);
	itext_each(&w, o, "alerts", put_alert);
	itext_putf(&w, "\nthoughts (%d):\n", itext_count_of(o, "thoughts"));
	itext_each(&w, o, "thoughts", put_thought);
	itext_putf(&w, "\nsuggestions (%d):\n", itext_count_of(o, "suggestions"));
	itext_each(&w, o, "suggestions", put_suggestion);
	if (itext_gsd(o, "postmortem", NULL)) {
		itext_put(&w, "\npostmortem:\n");
		put_indented(&w, itext_gs(o, "postmortem"), "  ");
	}
	jv_free(meta);
	jv_free(merged_from);
	return w.rc;
}
