/*
 * investigate_llm.c - the LLM investigator: a chat model asks for evidence
 * through tools and ends with a JSON answer in the built-in's shape.
 *
 * Everything it does is bounded and unattended: a step cap, one time cap
 * over the whole conversation (inside aurora-rca's --timeout, so the
 * fallback still has time), each tool result cut to a size, an identical
 * tool call refused, commands only through the operator's allow-list
 * (diag.h). Whenever it cannot end with a valid answer - the provider
 * failed, the answer is not the structured result, a cap was hit - it says
 * why in a thought and hands the incident to the built-in investigator, so
 * an incident is never left without an analysis because a model misbehaved.
 *
 * The key never passes through here: llm.c reads it at each call.
 * http_get is offered only when the configuration lists base URLs.
 *
 * This file holds the conversation; investigate_llm_impl.h lists the files
 * of its configuration and its tools.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "investigate.h"
#include "investigate_llm_impl.h"
#include "jvio.h"
#include "llm.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

#define MAX_EVIDENCE 20
#define MAX_SUGGESTIONS 10

static const char system_prompt[] =
	"You are a read-only SRE investigator. An incident has fired; find its most likely root cause from the "
	"evidence the tools give you. You cannot change anything and nobody will answer questions: whatever would "
	"need a person's approval (a restart, a rollback, a config change) goes into suggestions. Use the tools "
	"(get_incident, related_alerts, recent_changes, similar_incidents, run_diagnostic) a few times at most, "
	"never the same call twice. When done, answer with one JSON object and nothing else:\n"
	"{\"summary\": STRING, \"root_cause\": {\"entity\": STRING|null, \"kind\": "
	"\"deploy\"|\"build\"|\"dependency\"|\"host\"|\"fleet\"|\"config\"|\"certificate\"|\"dns\"|\"capacity\"|"
	"\"unknown\", \"summary\": STRING, \"confidence\": 0..1, \"evidence\": [{\"what\": STRING, \"id\": "
	"ALERT-OR-BUILD-ID or \"link\": URL}]}, \"suggestions\": [{\"kind\": \"diagnostic\"|\"fix\", \"command\": "
	"STRING|null, \"description\": STRING, \"risk\": \"low\"|\"medium\"|\"high\"}]}";

/* the kinds of root cause an answer may name */
static const char *const kinds[] = { "deploy", "build", "dependency", "host", "fleet", "config",
				     "certificate", "dns", "capacity", "unknown", NULL };

int inv_llm_think(struct llm_inv *v, const char *fmt, ...)
{
	char buf[THOUGHT_MAX + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return v->sink->thought(v->sink->ctx, buf);
}

static int flush_line(struct llm_inv *v)
{
	size_t a = 0, b = v->linelen;
	int rc = 0;

	v->line[b] = '\0';
	while (a < b && (v->line[a] == ' ' || v->line[a] == '\t' || v->line[a] == '\r'))
		a++;
	while (b > a && (v->line[b - 1] == ' ' || v->line[b - 1] == '\t' || v->line[b - 1] == '\r'))
		v->line[--b] = '\0';
	if (v->line[a] == '{' || !strncmp(v->line + a, "```", 3))
		v->quiet = 1;
	if (!v->quiet && a < b)
		rc = v->sink->thought(v->sink->ctx, v->line + a);
	v->linelen = 0;
	return rc;
}

/* Streamed text becomes a thought a line at a time, as it arrives. */
static int on_text(void *arg, const char *text, size_t len)
{
	struct llm_inv *v = arg;
	int rc;

	for (size_t i = 0; i < len; i++) {
		if (text[i] == '\n' || v->linelen == THOUGHT_MAX) {
			rc = flush_line(v);
			if (rc < 0) {
				v->sink_rc = rc;
				return rc;
			}
			if (text[i] == '\n')
				continue;
		}
		v->line[v->linelen++] = text[i];
	}
	return 0;
}


static jv message(const char *role, jv content)
{
	return jv_object_set(jv_object_set(jv_object(), jv_string("role"), jv_string(role)), jv_string("content"),
			     content);
}

static const char *str_or(jv o, const char *key, const char *def)
{
	jv v = jv_object_get(jv_copy(o), jv_string(key));
	const char *s = def;

	/* o keeps the string alive: the jv_copy above shares it */
	if (jv_get_kind(v) == JV_KIND_STRING)
		s = jv_string_value(v);
	jv_free(v);
	return s;
}

/*
 * The model's final text as the structured result: 0 with *summary,
 * *root_cause and *suggestions (an array of valid ones) set, or -EPROTO
 * with why saying what is wrong.
 */
static int parse_answer(const char *text, char **summary, jv *root_cause, jv *suggestions, char *why, size_t whylen)
{
	const char *a = strchr(text, '{'), *b = strrchr(text, '}');
	jv doc = jv_invalid(), rc_in = jv_invalid(), sug = jv_invalid(), ev, out = jv_invalid();
	jv conf;
	double c;
	int rc = -EPROTO;

	if (!a || !b || b < a) {
		snprintf(why, whylen, "the answer has no JSON object");
		goto out;
	}
	/* lib/jvio, not jv_parse_sized: libjq 1.6's parser leaks on some malformed text */
	if (aur_jvio_parse(a, (size_t)(b - a + 1), &doc, NULL, 0) < 0)
		doc = jv_invalid();
	if (jv_get_kind(doc) != JV_KIND_OBJECT) {
		snprintf(why, whylen, "the answer is not a JSON object");
		goto out;
	}
	rc_in = jv_object_get(jv_copy(doc), jv_string("root_cause"));
	if (!*str_or(doc, "summary", "") || jv_get_kind(rc_in) != JV_KIND_OBJECT) {
		snprintf(why, whylen, "the answer lacks a summary or a root_cause object");
		goto out;
	}
	if (!inv_llm_in_set(str_or(rc_in, "kind", ""), kinds)) {
		snprintf(why, whylen, "root_cause.kind \"%.40s\" is not one of the kinds", str_or(rc_in, "kind", ""));
		goto out;
	}
	if (!*str_or(rc_in, "summary", "")) {
		snprintf(why, whylen, "root_cause.summary is missing");
		goto out;
	}
	conf = jv_object_get(jv_copy(rc_in), jv_string("confidence"));
	if (jv_get_kind(conf) != JV_KIND_NUMBER) {
		jv_free(conf);
		snprintf(why, whylen, "root_cause.confidence is not a number");
		goto out;
	}
	c = jv_number_value(conf);
	jv_free(conf);
	c = isnan(c) ? 0 : c < 0 ? 0 : c > 1 ? 1 : c;
	out = jv_object_set(jv_object(), jv_string("entity"),
			    *str_or(rc_in, "entity", "") ? jv_string(str_or(rc_in, "entity", "")) : jv_null());
	out = jv_object_set(out, jv_string("kind"), jv_string(str_or(rc_in, "kind", "")));
	out = jv_object_set(out, jv_string("summary"), jv_string(str_or(rc_in, "summary", "")));
	out = jv_object_set(out, jv_string("confidence"), jv_number(round(c * 100) / 100));
	ev = jv_array();
	jv items = jv_object_get(jv_copy(rc_in), jv_string("evidence"));
	if (jv_get_kind(items) == JV_KIND_ARRAY) {
		jv_array_foreach(items, i, e)
		{
			if (jv_get_kind(e) == JV_KIND_OBJECT && *str_or(e, "what", "") && jv_array_length(jv_copy(ev)) < MAX_EVIDENCE) {
				jv id = jv_object_get(jv_copy(e), jv_string("id"));
				jv item = jv_object_set(jv_object(), jv_string("what"), jv_string(str_or(e, "what", "")));

				int cited = 0;

				if (jv_get_kind(id) == JV_KIND_NUMBER) {
					item = jv_object_set(item, jv_string("id"), id);
					cited = 1;
				} else {
					jv_free(id);
				}
				if (*str_or(e, "link", "")) {
					item = jv_object_set(item, jv_string("link"), jv_string(str_or(e, "link", "")));
					cited = 1;
				}
				/* evidence points at something: an alert or build id, or a link */
				if (cited)
					ev = jv_array_append(ev, item);
				else
					jv_free(item);
			}
			jv_free(e);
		}
	}
	jv_free(items);
	out = jv_object_set(out, jv_string("evidence"), ev);
	*suggestions = jv_array();
	sug = jv_object_get(jv_copy(doc), jv_string("suggestions"));
	if (jv_get_kind(sug) == JV_KIND_ARRAY) {
		static const char *const skinds[] = { "diagnostic", "fix", NULL };
		static const char *const risks[] = { "low", "medium", "high", NULL };

		jv_array_foreach(sug, i, s)
		{
			if (jv_get_kind(s) == JV_KIND_OBJECT && inv_llm_in_set(str_or(s, "kind", ""), skinds) &&
			    inv_llm_in_set(str_or(s, "risk", ""), risks) && *str_or(s, "description", "") &&
			    jv_array_length(jv_copy(*suggestions)) < MAX_SUGGESTIONS)
				*suggestions = jv_array_append(*suggestions, jv_copy(s));
			jv_free(s);
		}
	}
	*summary = aur_xstrdup(str_or(doc, "summary", ""));
	*root_cause = out;
	out = jv_invalid();
	rc = 0;
out:
	jv_free(out);
	jv_free(sug);
	jv_free(rc_in);
	jv_free(doc);
	return rc;
}

static int fallback(struct llm_inv *v, const char *reason, char **summary, jv *root_cause, char *err, size_t errlen)
{
	const struct aur_investigator *b = NULL;
	int rc = inv_llm_think(v, "Falling back to the built-in investigator: %s", reason);

	if (rc < 0)
		return rc;
	rc = aur_investigator_find("builtin", &b);
	if (rc < 0)
		return rc;
	return b->run(v->db, v->id, v->o, v->sink, summary, root_cause, err, errlen);
}

static int say_suggestions(struct llm_inv *v, jv sug)
{
	int rc = 0;

	jv_array_foreach(sug, i, s)
	{
		char title[256];
		const char *d = str_or(s, "description", "");
		struct aur_rca_suggestion out = { str_or(s, "kind", ""), title, str_or(s, "command", ""),
						  str_or(s, "risk", ""), d };

		snprintf(title, sizeof(title), "%.*s", (int)strcspn(d, "\n"), d);
		if (rc == 0)
			rc = v->sink->suggestion(v->sink->ctx, &out);
		jv_free(s);
	}
	return rc;
}

static int investigate_llm(sqlite3 *db, long long id, const struct aur_inv_options *o,
			   const struct aur_inv_sink *sink, char **summary, jv *root_cause, char *err, size_t errlen)
{
	struct llm_inv v;
	struct aur_llm_result res;
	char why[1024], msg[1024];
	jv messages = jv_invalid(), tl = jv_invalid(), seen = jv_array(), incident = jv_invalid(), sug = jv_invalid();
	long long cap, deadline;
	int rc, step;

	memset(&v, 0, sizeof(v));
	aur_llm_result_init(&res);
	v.db = db;
	v.id = id;
	v.o = o;
	v.c = o->llm;
	v.sink = sink;
	*summary = NULL;
	*root_cause = jv_invalid();
	if (!v.c) {
		snprintf(err, errlen, "the LLM investigator has no configuration");
		rc = -EINVAL;
		goto out;
	}
	/* leave a quarter of the caller's limit for the fallback */
	cap = v.c->time_cap_ms;
	if (o->budget_ms > 0 && cap > o->budget_ms * 3 / 4)
		cap = o->budget_ms * 3 / 4;
	deadline = aur_time_mono_ms() + cap;
	rc = inv_llm_tool_get_incident(&v, &incident, err, errlen);
	if (rc < 0)
		goto out;
	incident = jv_dump_string(incident, 0);
	snprintf(msg, sizeof(msg), "Investigate incident %lld. The incident and its alerts:\n", id);
	messages = jv_array_append(jv_array(), message("system", jv_string(system_prompt)));
	messages = jv_array_append(
		messages, message("user", jv_string_concat(jv_string(msg), inv_llm_capped(jv_string_value(incident),
											  v.c->max_result))));
	tl = inv_llm_tools(v.c);
	rc = inv_llm_think(&v, "Asking %s model %s (at most %d steps, %lld s)", aur_llm_provider_name(v.c->llm.provider),
			   v.c->llm.model ? v.c->llm.model : "(deployment)", v.c->max_steps, cap / 1000);
	if (rc < 0)
		goto out;
	for (step = 0; step < v.c->max_steps; step++) {
		jv am;

		aur_llm_result_release(&res);
		v.quiet = 0;
		v.linelen = 0;
		rc = aur_llm_chat(&v.c->llm, messages, tl, on_text, &v, deadline, &res, why, sizeof(why));
		if (v.sink_rc < 0) {
			rc = v.sink_rc;
			goto out;
		}
		if (rc == 0) {
			rc = flush_line(&v);
			if (rc < 0)
				goto out;
		} else {
			(void)flush_line(&v);
		}
		if (rc == -ECANCELED)
			goto out;
		if (rc < 0) {
			char reason[1200];

			snprintf(reason, sizeof(reason), "the LLM provider failed: %s", why);
			rc = fallback(&v, reason, summary, root_cause, err, errlen);
			goto out;
		}
		if (jv_array_length(jv_copy(res.tool_calls)) == 0) {
			rc = parse_answer(res.text, summary, root_cause, &sug, why, sizeof(why));
			if (rc < 0) {
				char reason[1200];

				snprintf(reason, sizeof(reason), "the model's answer is not a valid result: %s", why);
				rc = fallback(&v, reason, summary, root_cause, err, errlen);
				goto out;
			}
			rc = inv_llm_think(&v, "Conclusion (confidence %.2f): %s",
					   jv_number_value(jv_object_get(jv_copy(*root_cause), jv_string("confidence"))),
					   *summary);
			if (rc == 0)
				rc = say_suggestions(&v, sug);
			goto out;
		}
		am = message("assistant", jv_string(res.text));
		am = jv_object_set(am, jv_string("tool_calls"), jv_copy(res.tool_calls));
		messages = jv_array_append(messages, am);
		jv_array_foreach(res.tool_calls, i, call)
		{
			const char *name = str_or(call, "name", "");
			jv args = jv_object_get(jv_copy(call), jv_string("arguments"));
			jv key = jv_dump_string(jv_array_append(jv_array_append(jv_array(), jv_string(name)),
								jv_copy(args)),
						0);
			jv argtext = jv_dump_string(jv_copy(args), 0);
			char *text = NULL;
			int seen_before = 0;

			jv_array_foreach(seen, k, s)
			{
				if (jv_equal(jv_copy(s), jv_copy(key)))
					seen_before = 1;
				jv_free(s);
			}
			if (rc == 0)
				rc = inv_llm_think(&v, "Tool call: %.100s %.600s", name, jv_string_value(argtext));
			if (rc == 0 && seen_before) {
				text = aur_xstrdup("refused: this exact call was made already; use its earlier result");
				rc = inv_llm_think(&v, "Refused a repeated call of %.100s", name);
			} else if (rc == 0) {
				seen = jv_array_append(seen, jv_copy(key));
				text = inv_llm_run_tool(&v, name, args, deadline, &rc);
			}
			if (text) {
				jv content = inv_llm_capped(text, v.c->max_result);
				jv tm = message("tool", content);

				if (rc == 0 && strcmp(name, "run_diagnostic") != 0)
					rc = inv_llm_think(&v, "Tool result: %.100s, %zu bytes", name, strlen(text));
				tm = jv_object_set(tm, jv_string("tool_call_id"), jv_string(str_or(call, "id", "")));
				messages = jv_array_append(messages, tm);
				free(text);
			}
			jv_free(argtext);
			jv_free(key);
			jv_free(args);
			jv_free(call);
		}
		if (rc < 0)
			goto out;
	}
	snprintf(msg, sizeof(msg), "the step cap of %d was reached without a final answer", v.c->max_steps);
	rc = fallback(&v, msg, summary, root_cause, err, errlen);
out:
	if (rc < 0) {
		free(*summary);
		*summary = NULL;
		jv_free(*root_cause);
		*root_cause = jv_invalid();
	}
	aur_llm_result_release(&res);
	jv_free(sug);
	jv_free(incident);
	jv_free(seen);
	jv_free(tl);
	jv_free(messages);
	return rc;
}

const struct aur_investigator aur_investigator_llm = { "llm", investigate_llm };
