/*
 * postmortem.c - the postmortem by a model, the template as its fallback
 * (postmortem.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "incident_text.h"
#include "incident_view.h"
#include "incident_write.h"
#include "llm.h"
#include "postmortem.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

#define REASON_MAX 300 /* bytes of a provider's message in the fallback line */

static const char system_prompt[] =
	"You write blameless incident postmortems for an SRE team. The user message holds the facts of one "
	"incident as JSON: its fields, the alerts that joined it, the investigation's root cause (entity, kind, "
	"summary, confidence, evidence with ids and links), the investigation's notes (thoughts), the suggestions "
	"it made and the incident's events. Write the postmortem in Markdown: first a level-1 heading "
	"\"# Postmortem: \" and the incident's title, then exactly these level-2 sections in this order: "
	"\"## Summary\", \"## Impact\", \"## Timeline\", \"## Root cause\", \"## Resolution\", \"## Action items\". "
	"Be blameless: describe systems, signals and decisions, never fault a person, and name no one. Use only "
	"the facts given; where they are silent say so (\"unknown\", \"not recorded\") rather than guess; invent no "
	"times, numbers, causes or fixes. Timeline: the times in the facts, in UTC, in order. Root cause: the "
	"investigation's conclusion with its confidence, citing its evidence with the links given; if it found no "
	"clear cause, say that. Resolution: what the events say ended the incident, or that it is still open. "
	"Action items: a checklist (\"- [ ] \") from the suggestions (with their commands in code spans) and from "
	"what the root cause implies. Answer with the Markdown document only, no preamble and no code fence "
	"around it.";

static const char *const top_fields[] = { "id", "title", "status", "severity", "service", "source_type",
					  "source_link", "started_at", "resolved_at", "duration_ms", "alert_count",
					  "summary", "root_cause", "rca_state", "merged_into", "previous_incident",
					  "merged_from", NULL };
static const char *const alert_fields[] = { "id", "source", "status", "severity", "title", "service", "host",
					    "first_seen", "last_seen", "count", "link", "correlation", NULL };
static const char *const thought_fields[] = { "at", "kind", "text", NULL };
static const char *const suggestion_fields[] = { "kind", "title", "command", "risk", "text", NULL };
static const char *const event_fields[] = { "at", "event", "data", NULL };

/* The named fields of o (borrowed) that are set (not null, not ""), as a new object. */
static jv pick(jv o, const char *const *fields)
{
	jv out = jv_object();

	for (int i = 0; fields[i]; i++) {
		jv v = jv_object_get(jv_copy(o), jv_string(fields[i]));
		jv_kind k = jv_get_kind(v);

		if (k == JV_KIND_INVALID || k == JV_KIND_NULL || (k == JV_KIND_STRING && !*jv_string_value(v)))
			jv_free(v);
		else
			out = jv_object_set(out, jv_string(fields[i]), v);
	}
	return out;
}

/* Each element of o[key] (an array) picked to fields, into out[key]; events lose their copy of the incident. */
static jv pick_list(jv out, jv o, const char *key, const char *const *fields)
{
	jv list = jv_object_get(jv_copy(o), jv_string(key));
	jv picked = jv_array();
	int n = jv_get_kind(list) == JV_KIND_ARRAY ? jv_array_length(jv_copy(list)) : 0;

	for (int i = 0; i < n; i++) {
		jv el = jv_array_get(jv_copy(list), i);
		jv e = pick(el, fields);
		jv data = jv_object_get(jv_copy(e), jv_string("data"));

		jv_free(el);
		if (jv_get_kind(data) == JV_KIND_OBJECT)
			e = jv_object_set(e, jv_string("data"), jv_object_delete(data, jv_string("incident")));
		else
			jv_free(data);
		picked = jv_array_append(picked, e);
	}
	jv_free(list);
	return n ? jv_object_set(out, jv_string(key), picked) : (jv_free(picked), out);
}

/* s cut to at most max bytes on a UTF-8 boundary, saying so. */
static jv cut_string(jv s, size_t max)
{
	const char *p = jv_string_value(s);
	size_t n = (size_t)jv_string_length_bytes(jv_copy(s));
	jv out;

	if (n <= max)
		return s;
	n = max;
	while (n > 0 && ((unsigned char)p[n] & 0xC0) == 0x80)
		n--;
	out = jv_string_concat(jv_string_sized(p, (int)n), jv_string(" [cut]"));
	jv_free(s);
	return out;
}

/* v with every string cut to strmax bytes and every array to arrmax items (plus a note). Consumes v. */
static jv bound(jv v, size_t strmax, int arrmax)
{
	jv_kind k = jv_get_kind(v);
	jv out;
	int n;

	if (k == JV_KIND_STRING)
		return cut_string(v, strmax);
	if (k == JV_KIND_ARRAY) {
		n = jv_array_length(jv_copy(v));
		out = jv_array();
		for (int i = 0; i < n && i < arrmax; i++)
			out = jv_array_append(out, bound(jv_array_get(jv_copy(v), i), strmax, arrmax));
		if (n > arrmax) {
			char note[64];

			snprintf(note, sizeof(note), "[%d more left out]", n - arrmax);
			out = jv_array_append(out, jv_string(note));
		}
		jv_free(v);
		return out;
	}
	if (k == JV_KIND_OBJECT) {
		out = jv_object();
		jv_object_foreach(v, key, val)
		{
			out = jv_object_set(out, key, bound(val, strmax, arrmax));
		}
		jv_free(v);
		return out;
	}
	return v;
}

static size_t dumped_len(jv v)
{
	jv s = jv_dump_string(jv_copy(v), 0);
	size_t n = (size_t)jv_string_length_bytes(jv_copy(s));

	jv_free(s);
	return n;
}

jv aur_postmortem_facts(jv incident, size_t max)
{
	static const struct {
		size_t strmax;
		int arrmax;
	} levels[] = { { 2000, 100 }, { 1000, 60 }, { 500, 30 }, { 250, 15 }, { 120, 8 }, { 60, 3 } };
	jv facts = pick(incident, top_fields);
	jv out;
	jv rc = jv_object_get(jv_copy(facts), jv_string("root_cause"));

	/* a root cause stored by aurora-rca is a JSON object kept as text */
	if (jv_get_kind(rc) == JV_KIND_STRING) {
		jv parsed = jv_parse(jv_string_value(rc));

		if (jv_get_kind(parsed) == JV_KIND_OBJECT)
			facts = jv_object_set(facts, jv_string("root_cause"), parsed);
		else
			jv_free(parsed);
	}
	jv_free(rc);
	facts = pick_list(facts, incident, "alerts", alert_fields);
	facts = pick_list(facts, incident, "thoughts", thought_fields);
	facts = pick_list(facts, incident, "suggestions", suggestion_fields);
	facts = pick_list(facts, incident, "events", event_fields);
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		out = bound(jv_copy(facts), levels[i].strmax, levels[i].arrmax);
		if (dumped_len(out) <= max) {
			jv_free(facts);
			return out;
		}
		jv_free(out);
	}
	jv_free(facts);
	out = bound(pick(incident, (const char *const[]){ "id", "title", "status", "severity", NULL }), 60, 1);
	return jv_object_set(out, jv_string("note"), jv_string("the rest of the facts did not fit"));
}

/* 1 when s[0..n) is valid UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
static int utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i];
		size_t len;
		unsigned cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			len = 2, cp = c & 0x1F;
		else if (c >= 0xE0 && c <= 0xEF)
			len = 3, cp = c & 0x0F;
		else if (c >= 0xF0 && c <= 0xF4)
			len = 4, cp = c & 0x07;
		else
			return 0;
		if (i + len > n)
			return 0;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += len;
	}
	return 1;
}

/* 1 when some line of text is a Markdown ATX heading: 1 to 6 '#', a blank, text. */
static int has_heading(const char *text)
{
	for (const char *line = text; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		int hashes = 0;

		while (line[hashes] == '#')
			hashes++;
		if (hashes >= 1 && hashes <= 6 && line[hashes] == ' ' && line[hashes + 1] && line[hashes + 1] != '\n')
			return 1;
	}
	return 0;
}

int aur_postmortem_check(const char *text, char *why, size_t whylen)
{
	size_t n = strlen(text);
	size_t blank = strspn(text, " \t\r\n");

	if (blank == n) {
		snprintf(why, whylen, "the answer was empty");
		return -EPROTO;
	}
	if (n > AUR_POSTMORTEM_ANSWER_MAX) {
		snprintf(why, whylen, "the answer was longer than %zu bytes", AUR_POSTMORTEM_ANSWER_MAX);
		return -EPROTO;
	}
	if (!utf8_valid((const unsigned char *)text, n)) {
		snprintf(why, whylen, "the answer was not valid UTF-8");
		return -EPROTO;
	}
	if (!has_heading(text)) {
		snprintf(why, whylen, "the answer had no Markdown heading");
		return -EPROTO;
	}
	return 0;
}

/*
 * The answer as a document: without blank lines around it, and without the
 * code fence a model may wrap it in despite being asked not to.
 */
static char *as_document(const char *text)
{
	const char *start = text + strspn(text, " \t\r\n");
	const char *end = text + strlen(text);
	char *out;

	while (end > start && strchr(" \t\r\n", end[-1]))
		end--;
	if (!strncmp(start, "```", 3) && strchr(start, '\n')) {
		const char *body = strchr(start, '\n') + 1;

		if (end - body >= 3 && !strncmp(end - 3, "```", 3)) {
			start = body;
			end -= 3;
			while (end > start && strchr(" \t\r\n", end[-1]))
				end--;
		}
	}
	out = aur_xmalloc((size_t)(end - start) + 2);
	memcpy(out, start, (size_t)(end - start));
	out[end - start] = '\n';
	out[end - start + 1] = '\0';
	return out;
}

/* A provider's message on one line, bounded: control characters become blanks. */
static void one_line(char *dst, size_t dstlen, const char *src)
{
	size_t i = 0;

	for (; src[i] && i + 1 < dstlen && i < REASON_MAX; i++)
		dst[i] = (unsigned char)src[i] < 0x20 || src[i] == 0x7f ? ' ' : src[i];
	if (dstlen)
		dst[i < dstlen ? i : dstlen - 1] = '\0';
}

struct writer {
	const struct aur_postmortem_options *o;
	char *fallback;
	size_t fallbacklen;
	char *by; /* who wrote it, also for the caller */
	size_t bylen;
};

/* Ask the model; 0 with *md, or negative with why (one line, no key) in why. */
static int ask_model(const struct writer *w, jv incident, long long now_ms, char **md, char *why, size_t whylen)
{
	struct aur_llm_config cfg = *w->o->llm; /* borrowed strings: never released here */
	struct aur_llm_result res;
	long long timeout = w->o->timeout_ms > 0 ? w->o->timeout_ms : AUR_POSTMORTEM_DEFAULT_TIMEOUT_MS;
	char err[512] = "";
	char when[32];
	char *doc;
	struct aur_buf b;
	jv facts = aur_postmortem_facts(incident, AUR_POSTMORTEM_FACTS_MAX);
	jv messages = jv_array();
	jv no_tools = jv_array();
	int rc;

	if (cfg.max_response == 0 || cfg.max_response > AUR_POSTMORTEM_ANSWER_MAX)
		cfg.max_response = AUR_POSTMORTEM_ANSWER_MAX;
	messages = jv_array_append(messages, jv_object_set(jv_object_set(jv_object(), jv_string("role"),
									  jv_string("system")),
							     jv_string("content"), jv_string(system_prompt)));
	messages = jv_array_append(
		messages,
		jv_object_set(jv_object_set(jv_object(), jv_string("role"), jv_string("user")), jv_string("content"),
			      jv_string_concat(jv_string("The incident's facts:\n"), jv_dump_string(facts, 0))));
	rc = aur_llm_chat(&cfg, messages, no_tools, NULL, NULL, aur_time_mono_ms() + timeout, &res, err,
			  sizeof(err));
	jv_free(no_tools);
	jv_free(messages);
	if (rc == -ETIMEDOUT) {
		snprintf(why, whylen, "no answer within %lld s", timeout / 1000);
	} else if (rc < 0) {
		one_line(why, whylen, err[0] ? err : strerror(-rc));
	} else if (!strcmp(res.stop, "max_tokens")) {
		snprintf(why, whylen, "the answer was cut at the model's token limit");
		rc = -EPROTO;
	} else {
		rc = aur_postmortem_check(res.text, why, whylen);
	}
	if (rc < 0) {
		aur_llm_result_release(&res);
		return rc;
	}
	doc = as_document(res.text);
	aur_llm_result_release(&res);
	aur_time_format_ms(now_ms, when, sizeof(when));
	aur_buf_init(&b, AUR_INCIDENT_POSTMORTEM_MAX);
	aur_buf_adds(&b, doc);
	aur_buf_addf(&b, "\n---\n\n_Written %s by the model %s (%s) from the incident record; "
			 "`aurora-incident show` has the facts it was given._\n",
		     when, cfg.model ? cfg.model : "-", aur_llm_provider_name(cfg.provider));
	free(doc);
	*md = aur_buf_detach(&b, NULL);
	aur_buf_release(&b);
	if (!*md) {
		snprintf(why, whylen, "the answer did not fit in a postmortem");
		return -E2BIG;
	}
	return 0;
}

static int write_postmortem(void *arg, jv incident, long long now_ms, char **md, char *by, size_t bylen, char *err,
			    size_t errlen)
{
	const struct writer *w = arg;
	struct aur_buf b;
	int rc;

	if (w->o && w->o->llm) {
		rc = ask_model(w, incident, now_ms, md, w->fallback, w->fallbacklen);
		if (rc == 0) {
			snprintf(by, bylen, "llm:%s",
				 w->o->llm->model ? w->o->llm->model : aur_llm_provider_name(w->o->llm->provider));
			snprintf(w->by, w->bylen, "%s", by);
			return 0;
		}
	}
	aur_buf_init(&b, AUR_INCIDENT_POSTMORTEM_MAX);
	rc = aur_incident_text_postmortem(incident, now_ms, &b);
	if (rc < 0) {
		snprintf(err, errlen, "postmortem: longer than %zu bytes", AUR_INCIDENT_POSTMORTEM_MAX);
		aur_buf_release(&b);
		return rc;
	}
	*md = aur_buf_detach(&b, NULL);
	aur_buf_release(&b);
	if (!*md)
		*md = aur_xstrdup("");
	snprintf(by, bylen, "template");
	snprintf(w->by, w->bylen, "%s", by);
	return 0;
}

int aur_postmortem(sqlite3 *db, long long id, int regenerate, long long now_ms, const struct aur_postmortem_options *o,
		   char **md, int *generated, char *by, size_t bylen, char *fallback, size_t fallbacklen, char *err,
		   size_t errlen)
{
	struct writer w = { o, fallback, fallbacklen, by, bylen };

	if (fallbacklen)
		fallback[0] = '\0';
	if (bylen)
		by[0] = '\0';
	return aur_incident_write_postmortem_with(db, id, regenerate, now_ms, write_postmortem, &w, md, generated, err,
					    errlen);
}
