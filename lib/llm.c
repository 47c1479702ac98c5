/*
 * llm.c - streamed chat turns against OpenAI-compatible and Anthropic
 * endpoints; see llm.h. Three parts: the request translation (neutral
 * messages to each provider's body), the stream parsers (an SSE framer and
 * one event handler per provider, pure over bytes), and the HTTP call with
 * its retries, limits and key handling.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <jq.h>

#include "auth.h"
#include "buf.h"
#include "jvio.h"
#include "llm.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

#define MAX_KEY 4096
#define MAX_ERROR_BODY (64u << 10)
#define MAX_ARGS_TEXT 4096
#define MAX_PROVIDER_MSG 300
#define DEFAULT_MAX_TOKENS 4096
#define DEFAULT_RETRIES 4
#define DEFAULT_CONNECT_MS 10000
#define BACKOFF_FIRST_MS 500
#define BACKOFF_MAX_MS 8000
#define ANTHROPIC_VERSION "2023-06-01"
#define AZURE_API_VERSION "2024-10-21"

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

const char *aur_llm_provider_name(enum aur_llm_provider p)
{
	switch (p) {
	case AUR_LLM_AZURE:
		return "azure";
	case AUR_LLM_ANTHROPIC:
		return "anthropic";
	case AUR_LLM_OPENAI:
	default:
		return "openai";
	}
}

/* ---- configuration ---- */

void aur_llm_config_release(struct aur_llm_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->url);
	free(cfg->model);
	free(cfg->key_file);
	free(cfg->key_env);
	free(cfg->api_version);
	memset(cfg, 0, sizeof(*cfg));
}

/* consumes v */
static int cfg_string(jv v, const char *name, char **out, char *err, size_t errlen)
{
	int rc = 0;

	if (jv_get_kind(v) != JV_KIND_STRING || jv_string_length_bytes(jv_copy(v)) == 0) {
		rc = fail(err, errlen, -EINVAL, "llm.%s must be a non-empty string", name);
	} else {
		free(*out);
		*out = aur_xstrdup(jv_string_value(v));
	}
	jv_free(v);
	return rc;
}

/* consumes v */
static int cfg_number(jv v, const char *name, double lo, double hi, double *out, char *err, size_t errlen)
{
	int rc = 0;

	if (jv_get_kind(v) != JV_KIND_NUMBER || jv_number_value(v) < lo || jv_number_value(v) > hi)
		rc = fail(err, errlen, -EINVAL, "llm.%s must be a number from %.0f to %.0f", name, lo, hi);
	else
		*out = jv_number_value(v);
	jv_free(v);
	return rc;
}

int aur_llm_config_parse(jv obj, struct aur_llm_config *cfg, char *err, size_t errlen)
{
	int rc = -EINVAL;
	int ollama = 0;

	memset(cfg, 0, sizeof(*cfg));
	if (jv_get_kind(obj) != JV_KIND_OBJECT) {
		fail(err, errlen, rc, "llm configuration must be a JSON object");
		goto out;
	}
	jv_object_foreach(obj, k, v)
	{
		const char *name = jv_string_value(k);
		double n = 0;
		int r = 0;

		if (strcmp(name, "provider") == 0) {
			const char *p = jv_get_kind(v) == JV_KIND_STRING ? jv_string_value(v) : "";

			if (strcmp(p, "openai") == 0 || strcmp(p, "vllm") == 0 || strcmp(p, "llamacpp") == 0)
				cfg->provider = AUR_LLM_OPENAI;
			else if (strcmp(p, "ollama") == 0)
				cfg->provider = AUR_LLM_OPENAI, ollama = 1;
			else if (strcmp(p, "azure") == 0)
				cfg->provider = AUR_LLM_AZURE;
			else if (strcmp(p, "anthropic") == 0)
				cfg->provider = AUR_LLM_ANTHROPIC;
			else
				r = fail(err, errlen, -EINVAL,
					 "llm.provider must be openai, azure, anthropic, ollama, vllm or llamacpp");
		} else if (strcmp(name, "url") == 0) {
			r = cfg_string(jv_copy(v), name, &cfg->url, err, errlen);
		} else if (strcmp(name, "model") == 0) {
			r = cfg_string(jv_copy(v), name, &cfg->model, err, errlen);
		} else if (strcmp(name, "api_key_file") == 0) {
			r = cfg_string(jv_copy(v), name, &cfg->key_file, err, errlen);
		} else if (strcmp(name, "api_key_env") == 0) {
			r = cfg_string(jv_copy(v), name, &cfg->key_env, err, errlen);
		} else if (strcmp(name, "api_version") == 0) {
			r = cfg_string(jv_copy(v), name, &cfg->api_version, err, errlen);
		} else if (strcmp(name, "connect_timeout_ms") == 0) {
			r = cfg_number(jv_copy(v), name, 1, 600000, &n, err, errlen);
			cfg->connect_timeout_ms = (long)n;
		} else if (strcmp(name, "max_tokens") == 0) {
			r = cfg_number(jv_copy(v), name, 1, 1000000, &n, err, errlen);
			cfg->max_tokens = (long)n;
		} else if (strcmp(name, "max_response_bytes") == 0) {
			r = cfg_number(jv_copy(v), name, 1024, 1 << 30, &n, err, errlen);
			cfg->max_response = (size_t)n;
		} else if (strcmp(name, "max_event_bytes") == 0) {
			r = cfg_number(jv_copy(v), name, 1024, 1 << 30, &n, err, errlen);
			cfg->max_event = (size_t)n;
		} else if (strcmp(name, "max_retries") == 0) {
			r = cfg_number(jv_copy(v), name, 0, 20, &n, err, errlen);
			cfg->max_retries = n == 0 ? -1 : (int)n;
		} else if (strcmp(name, "api_key") == 0) {
			r = fail(err, errlen, -EINVAL,
				 "llm.api_key is not read: put the key in a file (api_key_file) or a variable (api_key_env)");
		} else {
			r = fail(err, errlen, -EINVAL, "llm.%.64s is not a known setting", name);
		}
		jv_free(k);
		jv_free(v);
		if (r < 0)
			goto out;
	}
	if (!cfg->url) {
		if (cfg->provider == AUR_LLM_AZURE) {
			fail(err, errlen, rc, "llm.url is required for azure (https://R.openai.azure.com/openai/deployments/D)");
			goto out;
		}
		cfg->url = aur_xstrdup(cfg->provider == AUR_LLM_ANTHROPIC ? "https://api.anthropic.com/v1"
				       : ollama                           ? "http://127.0.0.1:11434/v1"
									  : "https://api.openai.com/v1");
	}
	if (strncmp(cfg->url, "http://", 7) != 0 && strncmp(cfg->url, "https://", 8) != 0) {
		fail(err, errlen, rc, "llm.url must start with http:// or https://");
		goto out;
	}
	if (!cfg->model && cfg->provider != AUR_LLM_AZURE) {
		fail(err, errlen, rc, "llm.model is required for %s", aur_llm_provider_name(cfg->provider));
		goto out;
	}
	if (cfg->key_file && cfg->key_env) {
		fail(err, errlen, rc, "llm.api_key_file and llm.api_key_env are exclusive");
		goto out;
	}
	rc = 0;
out:
	jv_free(obj);
	if (rc < 0)
		aur_llm_config_release(cfg);
	return rc;
}

/* ---- results ---- */

void aur_llm_result_init(struct aur_llm_result *r)
{
	memset(r, 0, sizeof(*r));
	r->tool_calls = jv_array();
}

void aur_llm_result_release(struct aur_llm_result *r)
{
	if (!r)
		return;
	free(r->text);
	free(r->stop);
	jv_free(r->tool_calls);
	r->text = NULL;
	r->stop = NULL;
	r->tool_calls = jv_null();
}

/* ---- request translation ---- */

static int kind_is(jv v, jv_kind k)
{
	return jv_get_kind(v) == k;
}

/* the content of a neutral message as a string: strings as they are, anything else as JSON text */
static jv content_text(jv msg)
{
	jv c = jv_object_get(jv_copy(msg), jv_string("content"));

	if (kind_is(c, JV_KIND_STRING))
		return c;
	if (kind_is(c, JV_KIND_NULL) || kind_is(c, JV_KIND_INVALID)) {
		jv_free(c);
		return jv_string("");
	}
	return jv_dump_string(c, 0);
}

static int check_tool_calls(jv calls, int i, char *err, size_t errlen)
{
	int n;

	if (!kind_is(calls, JV_KIND_ARRAY))
		return fail(err, errlen, -EINVAL, "message %d: tool_calls must be an array", i);
	n = jv_array_length(jv_copy(calls));
	for (int j = 0; j < n; j++) {
		jv c = jv_array_get(jv_copy(calls), j);
		jv id = jv_object_get(jv_copy(c), jv_string("id"));
		jv name = jv_object_get(jv_copy(c), jv_string("name"));
		jv args = jv_object_get(jv_copy(c), jv_string("arguments"));
		int ok = kind_is(id, JV_KIND_STRING) && kind_is(name, JV_KIND_STRING) &&
			 (kind_is(args, JV_KIND_OBJECT) || kind_is(args, JV_KIND_NULL) ||
			  kind_is(args, JV_KIND_INVALID));

		jv_free(c);
		jv_free(id);
		jv_free(name);
		jv_free(args);
		if (!ok)
			return fail(err, errlen, -EINVAL,
				    "message %d: tool call %d needs a string id and name and object arguments", i, j);
	}
	return 0;
}

static jv call_arguments(jv call)
{
	jv a = jv_object_get(call, jv_string("arguments"));

	if (kind_is(a, JV_KIND_OBJECT))
		return a;
	jv_free(a);
	return jv_object();
}

static jv openai_tool_calls(jv calls)
{
	jv out = jv_array();

	jv_array_foreach(calls, j, c)
	{
		jv fn = JV_OBJECT(jv_string("name"), jv_object_get(jv_copy(c), jv_string("name")),
				  jv_string("arguments"), jv_dump_string(call_arguments(jv_copy(c)), 0));

		out = jv_array_append(out, JV_OBJECT(jv_string("id"), jv_object_get(jv_copy(c), jv_string("id")),
						     jv_string("type"), jv_string("function"), jv_string("function"),
						     fn));
		jv_free(c);
		(void)j;
	}
	jv_free(calls);
	return out;
}

static jv anthropic_tool_uses(jv text, jv calls)
{
	jv out = jv_array();

	if (jv_string_length_bytes(jv_copy(text)) > 0)
		out = jv_array_append(out, JV_OBJECT(jv_string("type"), jv_string("text"), jv_string("text"), text));
	else
		jv_free(text);
	if (kind_is(calls, JV_KIND_ARRAY)) {
		jv_array_foreach(calls, j, c)
		{
			out = jv_array_append(out, JV_OBJECT(jv_string("type"), jv_string("tool_use"), jv_string("id"),
							     jv_object_get(jv_copy(c), jv_string("id")),
							     jv_string("name"),
							     jv_object_get(jv_copy(c), jv_string("name")),
							     jv_string("input"), call_arguments(jv_copy(c))));
			jv_free(c);
			(void)j;
		}
	}
	jv_free(calls);
	return out;
}

/* append blocks to the last message when it is a user turn, else start one: Anthropic
 * wants every tool_result of a turn in the one user message that follows it */
static jv anthropic_user_blocks(jv msgs, jv blocks)
{
	int n = jv_array_length(jv_copy(msgs));

	if (n > 0) {
		jv last = jv_array_get(jv_copy(msgs), n - 1);
		jv role = jv_object_get(jv_copy(last), jv_string("role"));
		int user = strcmp(jv_string_value(role), "user") == 0;

		jv_free(role);
		if (user) {
			jv content = jv_array_concat(jv_object_get(jv_copy(last), jv_string("content")), blocks);

			last = jv_object_set(last, jv_string("content"), content);
			return jv_array_set(msgs, n - 1, last);
		}
		jv_free(last);
	}
	return jv_array_append(msgs, JV_OBJECT(jv_string("role"), jv_string("user"), jv_string("content"), blocks));
}

static int translate_tools(const struct aur_llm_config *cfg, jv tools, jv *out, char *err, size_t errlen)
{
	int rc = 0;

	*out = jv_array();
	if (kind_is(tools, JV_KIND_NULL) || kind_is(tools, JV_KIND_INVALID))
		return 0;
	if (!kind_is(tools, JV_KIND_ARRAY))
		return fail(err, errlen, -EINVAL, "tools must be an array");
	jv_array_foreach(tools, i, t)
	{
		jv name = jv_object_get(jv_copy(t), jv_string("name"));
		jv desc = jv_object_get(jv_copy(t), jv_string("description"));
		jv params = jv_object_get(jv_copy(t), jv_string("parameters"));

		jv_free(t);
		if (rc == 0 && (!kind_is(name, JV_KIND_STRING) || !kind_is(params, JV_KIND_OBJECT))) {
			rc = fail(err, errlen, -EINVAL, "tool %d needs a string name and an object parameters", i);
		} else if (rc == 0) {
			if (!kind_is(desc, JV_KIND_STRING)) {
				jv_free(desc);
				desc = jv_string("");
			}
			if (cfg->provider == AUR_LLM_ANTHROPIC)
				*out = jv_array_append(*out, JV_OBJECT(jv_string("name"), name, jv_string("description"),
								       desc, jv_string("input_schema"), params));
			else
				*out = jv_array_append(
					*out, JV_OBJECT(jv_string("type"), jv_string("function"), jv_string("function"),
							JV_OBJECT(jv_string("name"), name, jv_string("description"),
								  desc, jv_string("parameters"), params)));
			continue;
		}
		jv_free(name);
		jv_free(desc);
		jv_free(params);
	}
	return rc;
}

int aur_llm_request_body(const struct aur_llm_config *cfg, jv messages, jv tools, jv *out, char *err,
			 size_t errlen)
{
	int anthropic = cfg->provider == AUR_LLM_ANTHROPIC;
	jv msgs = jv_array();
	jv ptools = jv_invalid();
	jv system = jv_string("");
	jv body = jv_invalid();
	int rc = -EINVAL;

	*out = jv_invalid();
	if (!kind_is(messages, JV_KIND_ARRAY) || jv_array_length(jv_copy(messages)) == 0) {
		fail(err, errlen, rc, "messages must be a non-empty array");
		goto out;
	}
	jv_array_foreach(messages, i, m)
	{
		jv role = kind_is(m, JV_KIND_OBJECT) ? jv_object_get(jv_copy(m), jv_string("role")) : jv_invalid();
		const char *r = kind_is(role, JV_KIND_STRING) ? jv_string_value(role) : "";
		jv calls = kind_is(m, JV_KIND_OBJECT) ? jv_object_get(jv_copy(m), jv_string("tool_calls"))
						     : jv_invalid();
		jv text = kind_is(m, JV_KIND_OBJECT) ? content_text(m) : jv_string("");
		int has_calls = !kind_is(calls, JV_KIND_NULL) && !kind_is(calls, JV_KIND_INVALID);
		int bad = 0;

		if (strcmp(r, "system") == 0) {
			if (anthropic) {
				if (jv_string_length_bytes(jv_copy(system)) > 0)
					system = jv_string_append_str(system, "\n\n");
				system = jv_string_concat(system, jv_copy(text));
			} else {
				msgs = jv_array_append(msgs, JV_OBJECT(jv_string("role"), jv_string("system"),
								       jv_string("content"), jv_copy(text)));
			}
		} else if (strcmp(r, "user") == 0) {
			if (anthropic)
				msgs = anthropic_user_blocks(msgs, JV_ARRAY(JV_OBJECT(jv_string("type"), jv_string("text"),
										  jv_string("text"), jv_copy(text))));
			else
				msgs = jv_array_append(msgs, JV_OBJECT(jv_string("role"), jv_string("user"),
								       jv_string("content"), jv_copy(text)));
		} else if (strcmp(r, "assistant") == 0) {
			if (has_calls && check_tool_calls(calls, i, err, errlen) < 0) {
				bad = 1;
			} else if (anthropic) {
				msgs = jv_array_append(msgs, JV_OBJECT(jv_string("role"), jv_string("assistant"),
								       jv_string("content"),
								       anthropic_tool_uses(jv_copy(text), jv_copy(calls))));
			} else {
				jv a = JV_OBJECT(jv_string("role"), jv_string("assistant"), jv_string("content"),
						 jv_string_length_bytes(jv_copy(text)) > 0 || !has_calls ? jv_copy(text)
													  : jv_null());

				if (has_calls && jv_array_length(jv_copy(calls)) > 0)
					a = jv_object_set(a, jv_string("tool_calls"), openai_tool_calls(jv_copy(calls)));
				msgs = jv_array_append(msgs, a);
			}
		} else if (strcmp(r, "tool") == 0) {
			jv id = jv_object_get(jv_copy(m), jv_string("tool_call_id"));

			if (!kind_is(id, JV_KIND_STRING)) {
				jv_free(id);
				fail(err, errlen, -EINVAL, "message %d: a tool message needs a string tool_call_id", i);
				bad = 1;
			} else if (anthropic) {
				msgs = anthropic_user_blocks(msgs, JV_ARRAY(JV_OBJECT(jv_string("type"),
										  jv_string("tool_result"),
										  jv_string("tool_use_id"), id,
										  jv_string("content"), jv_copy(text))));
			} else {
				msgs = jv_array_append(msgs, JV_OBJECT(jv_string("role"), jv_string("tool"),
								       jv_string("tool_call_id"), id,
								       jv_string("content"), jv_copy(text)));
			}
		} else {
			fail(err, errlen, -EINVAL, "message %d: role must be system, user, assistant or tool", i);
			bad = 1;
		}
		jv_free(text);
		jv_free(calls);
		jv_free(role);
		jv_free(m);
		if (bad)
			goto out;
	}
	if (translate_tools(cfg, tools, &ptools, err, errlen) < 0)
		goto out;
	body = jv_object();
	if (cfg->model)
		body = jv_object_set(body, jv_string("model"), jv_string(cfg->model));
	body = jv_object_set(body, jv_string("max_tokens"),
			     jv_number((double)(cfg->max_tokens > 0 ? cfg->max_tokens : DEFAULT_MAX_TOKENS)));
	body = jv_object_set(body, jv_string("stream"), jv_true());
	if (anthropic && jv_string_length_bytes(jv_copy(system)) > 0)
		body = jv_object_set(body, jv_string("system"), jv_copy(system));
	body = jv_object_set(body, jv_string("messages"), msgs);
	msgs = jv_invalid();
	if (jv_array_length(jv_copy(ptools)) > 0)
		body = jv_object_set(body, jv_string("tools"), jv_copy(ptools));
	*out = body;
	body = jv_invalid();
	rc = 0;
out:
	jv_free(msgs);
	jv_free(ptools);
	jv_free(system);
	jv_free(body);
	return rc;
}

/* ---- stream parsing ---- */

struct call {
	jv id;           /* string, or invalid until known */
	jv name;
	jv input;        /* Anthropic: content_block.input when no delta came */
	struct aur_buf args;
	int used;
};

struct aur_llm_stream {
	enum aur_llm_provider provider;
	aur_llm_text_fn on_text;
	void *arg;
	size_t max_total;
	size_t max_event;
	size_t total;
	struct aur_buf line;   /* the line being read */
	struct aur_buf data;   /* the event's data lines */
	struct aur_buf event;  /* the event's name */
	int have_data;
	int after_cr;          /* the last byte was a CR: a LF next is part of that end of line */
	struct aur_buf text;
	char *stop;
	int done;              /* [DONE] or message_stop seen */
	int rc;                /* the first failure, sticky */
	char errmsg[256];
	struct call calls[AUR_LLM_MAX_TOOL_CALLS];
	int ncalls;            /* one past the highest index used */
	/* Anthropic content block index -> calls[] slot, -1 for text blocks */
	int block_slot[AUR_LLM_MAX_TOOL_CALLS * 2];
};

struct aur_llm_stream *aur_llm_stream_new(enum aur_llm_provider p, size_t max_total, size_t max_event,
					  aur_llm_text_fn on_text, void *arg)
{
	struct aur_llm_stream *s = aur_xcalloc(1, sizeof(*s));

	s->provider = p;
	s->on_text = on_text;
	s->arg = arg;
	s->max_total = max_total ? max_total : AUR_LLM_DEFAULT_MAX_RESPONSE;
	s->max_event = max_event ? max_event : AUR_LLM_DEFAULT_MAX_EVENT;
	aur_buf_init(&s->line, s->max_event);
	aur_buf_init(&s->data, s->max_event);
	aur_buf_init(&s->event, 256);
	aur_buf_init(&s->text, s->max_total);
	for (int i = 0; i < AUR_LLM_MAX_TOOL_CALLS; i++) {
		s->calls[i].id = jv_invalid();
		s->calls[i].name = jv_invalid();
		s->calls[i].input = jv_invalid();
		aur_buf_init(&s->calls[i].args, s->max_event);
	}
	for (size_t i = 0; i < sizeof(s->block_slot) / sizeof(s->block_slot[0]); i++)
		s->block_slot[i] = -1;
	return s;
}

void aur_llm_stream_free(struct aur_llm_stream *s)
{
	if (!s)
		return;
	aur_buf_release(&s->line);
	aur_buf_release(&s->data);
	aur_buf_release(&s->event);
	aur_buf_release(&s->text);
	for (int i = 0; i < AUR_LLM_MAX_TOOL_CALLS; i++) {
		jv_free(s->calls[i].id);
		jv_free(s->calls[i].name);
		jv_free(s->calls[i].input);
		aur_buf_release(&s->calls[i].args);
	}
	free(s->stop);
	free(s);
}

static int sfail(struct aur_llm_stream *s, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int sfail(struct aur_llm_stream *s, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->errmsg, sizeof(s->errmsg), fmt, ap);
	va_end(ap);
	s->rc = rc;
	return rc;
}

static int add_text(struct aur_llm_stream *s, jv t)
{
	int rc = 0;
	size_t n;

	if (!kind_is(t, JV_KIND_STRING))
		goto out;
	n = (size_t)jv_string_length_bytes(jv_copy(t));
	if (n == 0)
		goto out;
	if (aur_buf_add(&s->text, jv_string_value(t), n) < 0) {
		rc = sfail(s, -EPROTO, "assistant text larger than %zu bytes", s->max_total);
		goto out;
	}
	if (s->on_text) {
		rc = s->on_text(s->arg, jv_string_value(t), n);
		if (rc < 0)
			sfail(s, rc, "the text callback stopped the stream");
	}
out:
	jv_free(t);
	return rc;
}

static void set_stop(struct aur_llm_stream *s, const char *raw)
{
	static const char *const map[][2] = {
		{"stop", "end"},           {"end_turn", "end"},         {"stop_sequence", "end"},
		{"tool_calls", "tool_calls"}, {"tool_use", "tool_calls"}, {"function_call", "tool_calls"},
		{"length", "max_tokens"},  {"max_tokens", "max_tokens"},
	};
	const char *word = raw;

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(raw, map[i][0]) == 0)
			word = map[i][1];
	free(s->stop);
	s->stop = aur_xstrndup(word, 64);
}

static int add_args(struct aur_llm_stream *s, struct call *c, jv piece)
{
	int rc = 0;

	if (kind_is(piece, JV_KIND_STRING) &&
	    aur_buf_add(&c->args, jv_string_value(piece), (size_t)jv_string_length_bytes(jv_copy(piece))) < 0)
		rc = sfail(s, -EPROTO, "tool call arguments larger than %zu bytes", s->max_event);
	jv_free(piece);
	return rc;
}

/* the error object of an error event or an error body, as "type: message" without the key */
static void error_message(jv e, char *out, size_t outlen)
{
	jv msg = jv_invalid();
	jv type = jv_invalid();

	if (kind_is(e, JV_KIND_OBJECT)) {
		jv inner = jv_object_get(jv_copy(e), jv_string("error"));

		if (kind_is(inner, JV_KIND_OBJECT)) {
			msg = jv_object_get(jv_copy(inner), jv_string("message"));
			type = jv_object_get(jv_copy(inner), jv_string("type"));
		} else if (kind_is(inner, JV_KIND_STRING)) {
			msg = jv_copy(inner);
		}
		jv_free(inner);
		if (!kind_is(msg, JV_KIND_STRING)) {
			jv_free(msg);
			msg = jv_object_get(jv_copy(e), jv_string("message"));
		}
	}
	snprintf(out, outlen, "%.40s%s%.*s", kind_is(type, JV_KIND_STRING) ? jv_string_value(type) : "",
		 kind_is(type, JV_KIND_STRING) ? ": " : "", MAX_PROVIDER_MSG,
		 kind_is(msg, JV_KIND_STRING) ? jv_string_value(msg) : "no message");
	jv_free(msg);
	jv_free(type);
	jv_free(e);
}

static int openai_event(struct aur_llm_stream *s, jv ev)
{
	jv choice = jv_invalid();
	jv delta = jv_invalid();
	jv calls = jv_invalid();
	jv fin = jv_invalid();
	jv e = jv_object_get(jv_copy(ev), jv_string("error"));
	int rc = 0;

	if (kind_is(e, JV_KIND_OBJECT) || kind_is(e, JV_KIND_STRING)) {
		char msg[MAX_PROVIDER_MSG + 64];

		error_message(jv_copy(ev), msg, sizeof(msg));
		rc = sfail(s, -EIO, "error in the stream: %s", msg);
		goto out;
	}
	choice = jv_getpath(jv_copy(ev), JV_ARRAY(jv_string("choices"), jv_number(0)));
	if (!kind_is(choice, JV_KIND_OBJECT))
		goto out; /* a usage chunk, or a keep-alive: nothing for us */
	delta = jv_object_get(jv_copy(choice), jv_string("delta"));
	if (kind_is(delta, JV_KIND_OBJECT)) {
		rc = add_text(s, jv_object_get(jv_copy(delta), jv_string("content")));
		if (rc < 0)
			goto out;
		calls = jv_object_get(jv_copy(delta), jv_string("tool_calls"));
	}
	if (kind_is(calls, JV_KIND_ARRAY)) {
		jv_array_foreach(calls, i, tc)
		{
			jv idx = kind_is(tc, JV_KIND_OBJECT) ? jv_object_get(jv_copy(tc), jv_string("index"))
							    : jv_invalid();
			double d = kind_is(idx, JV_KIND_NUMBER) ? jv_number_value(idx) : (double)i;
			struct call *c;
			jv id;
			jv fn;

			jv_free(idx);
			if (!kind_is(tc, JV_KIND_OBJECT) || d < 0 || d >= AUR_LLM_MAX_TOOL_CALLS || d != (int)d) {
				jv_free(tc);
				rc = sfail(s, -EPROTO, "tool call index out of 0..%d", AUR_LLM_MAX_TOOL_CALLS - 1);
				goto out;
			}
			c = &s->calls[(int)d];
			c->used = 1;
			if ((int)d >= s->ncalls)
				s->ncalls = (int)d + 1;
			id = jv_object_get(jv_copy(tc), jv_string("id"));
			if (kind_is(id, JV_KIND_STRING)) {
				jv_free(c->id);
				c->id = id;
			} else {
				jv_free(id);
			}
			fn = jv_object_get(tc, jv_string("function"));
			if (kind_is(fn, JV_KIND_OBJECT)) {
				jv name = jv_object_get(jv_copy(fn), jv_string("name"));

				/* the name comes whole in the first fragment; some servers repeat it */
				if (kind_is(name, JV_KIND_STRING) && jv_string_length_bytes(jv_copy(name)) > 0) {
					jv_free(c->name);
					c->name = name;
				} else {
					jv_free(name);
				}
				rc = add_args(s, c, jv_object_get(jv_copy(fn), jv_string("arguments")));
			}
			jv_free(fn);
			if (rc < 0)
				goto out;
		}
	}
	fin = jv_object_get(jv_copy(choice), jv_string("finish_reason"));
	if (kind_is(fin, JV_KIND_STRING))
		set_stop(s, jv_string_value(fin));
out:
	jv_free(e);
	jv_free(fin);
	jv_free(calls);
	jv_free(delta);
	jv_free(choice);
	jv_free(ev);
	return rc;
}

static int block_index(struct aur_llm_stream *s, jv ev, int *idx)
{
	jv i = jv_object_get(ev, jv_string("index"));
	double d = kind_is(i, JV_KIND_NUMBER) ? jv_number_value(i) : -1;
	int n = (int)(sizeof(s->block_slot) / sizeof(s->block_slot[0]));

	jv_free(i);
	if (d < 0 || d >= n || d != (int)d)
		return sfail(s, -EPROTO, "content block index missing or out of 0..%d", n - 1);
	*idx = (int)d;
	return 0;
}

static int anthropic_event(struct aur_llm_stream *s, jv ev)
{
	jv type = jv_object_get(jv_copy(ev), jv_string("type"));
	const char *t = kind_is(type, JV_KIND_STRING) ? jv_string_value(type) : "";
	jv block = jv_invalid();
	jv delta = jv_invalid();
	int idx = 0;
	int rc = 0;

	if (strcmp(t, "content_block_start") == 0) {
		jv btype;

		rc = block_index(s, jv_copy(ev), &idx);
		if (rc < 0)
			goto out;
		block = jv_object_get(jv_copy(ev), jv_string("content_block"));
		btype = kind_is(block, JV_KIND_OBJECT) ? jv_object_get(jv_copy(block), jv_string("type"))
						       : jv_invalid();
		if (kind_is(btype, JV_KIND_STRING) && strcmp(jv_string_value(btype), "tool_use") == 0) {
			struct call *c;

			if (s->block_slot[idx] >= 0 || s->ncalls >= AUR_LLM_MAX_TOOL_CALLS) {
				jv_free(btype);
				rc = sfail(s, -EPROTO, "content block %d started twice, or more than %d tool calls",
					   idx, AUR_LLM_MAX_TOOL_CALLS);
				goto out;
			}
			s->block_slot[idx] = s->ncalls;
			c = &s->calls[s->ncalls++];
			c->used = 1;
			jv_free(c->id);
			jv_free(c->name);
			jv_free(c->input);
			c->id = jv_object_get(jv_copy(block), jv_string("id"));
			c->name = jv_object_get(jv_copy(block), jv_string("name"));
			c->input = jv_object_get(jv_copy(block), jv_string("input"));
		} else if (kind_is(btype, JV_KIND_STRING) && strcmp(jv_string_value(btype), "text") == 0) {
			rc = add_text(s, jv_object_get(jv_copy(block), jv_string("text")));
		}
		jv_free(btype);
	} else if (strcmp(t, "content_block_delta") == 0) {
		jv dtype;

		rc = block_index(s, jv_copy(ev), &idx);
		if (rc < 0)
			goto out;
		delta = jv_object_get(jv_copy(ev), jv_string("delta"));
		dtype = kind_is(delta, JV_KIND_OBJECT) ? jv_object_get(jv_copy(delta), jv_string("type"))
						       : jv_invalid();
		if (!kind_is(dtype, JV_KIND_STRING)) {
			rc = sfail(s, -EPROTO, "content_block_delta without a delta type");
		} else if (strcmp(jv_string_value(dtype), "text_delta") == 0) {
			rc = add_text(s, jv_object_get(jv_copy(delta), jv_string("text")));
		} else if (strcmp(jv_string_value(dtype), "input_json_delta") == 0) {
			if (s->block_slot[idx] < 0)
				rc = sfail(s, -EPROTO, "input_json_delta for block %d, which is not a tool_use", idx);
			else
				rc = add_args(s, &s->calls[s->block_slot[idx]],
					      jv_object_get(jv_copy(delta), jv_string("partial_json")));
		}
		/* thinking_delta, signature_delta, citations_delta: not the answer */
		jv_free(dtype);
	} else if (strcmp(t, "message_delta") == 0) {
		jv stop = jv_getpath(jv_copy(ev), JV_ARRAY(jv_string("delta"), jv_string("stop_reason")));

		if (kind_is(stop, JV_KIND_STRING))
			set_stop(s, jv_string_value(stop));
		jv_free(stop);
	} else if (strcmp(t, "message_stop") == 0) {
		s->done = 1;
	} else if (strcmp(t, "error") == 0) {
		char msg[MAX_PROVIDER_MSG + 64];

		error_message(jv_copy(ev), msg, sizeof(msg));
		rc = sfail(s, -EIO, "error in the stream: %s", msg);
	}
	/* message_start, content_block_stop, ping and event types added later: nothing to do */
out:
	jv_free(block);
	jv_free(delta);
	jv_free(type);
	jv_free(ev);
	return rc;
}

/* one complete SSE event: its data lines joined by LF */
static int dispatch(struct aur_llm_stream *s)
{
	jv ev;
	int rc = 0;

	if (!s->have_data)
		goto out;
	if (s->provider != AUR_LLM_ANTHROPIC && s->data.len == 6 && memcmp(s->data.data, "[DONE]", 6) == 0) {
		s->done = 1;
		goto out;
	}
	if (s->done)
		goto out; /* after the end, nothing more is the answer */
	/* lib/jvio, not jv_parse_sized: libjq 1.6's parser leaks on some malformed text */
	if (aur_jvio_parse(s->data.data ? s->data.data : "", s->data.len, &ev, NULL, 0) < 0)
		ev = jv_invalid();
	if (!kind_is(ev, JV_KIND_OBJECT)) {
		jv_free(ev);
		rc = sfail(s, -EPROTO, "an event's data is not a JSON object (%zu bytes from \"%.40s\")", s->data.len,
			   s->data.data ? s->data.data : "");
		goto out;
	}
	rc = s->provider == AUR_LLM_ANTHROPIC ? anthropic_event(s, ev) : openai_event(s, ev);
out:
	aur_buf_reset(&s->data);
	aur_buf_reset(&s->event);
	s->have_data = 0;
	return rc;
}

/* one line of the event stream, without its end of line */
static int line(struct aur_llm_stream *s)
{
	const char *l = s->line.data ? s->line.data : "";
	size_t n = s->line.len;
	const char *colon = memchr(l, ':', n);
	size_t flen = colon ? (size_t)(colon - l) : n;
	const char *v = colon ? colon + 1 : l + n;
	size_t vlen = colon ? n - flen - 1 : 0;

	if (n == 0)
		return dispatch(s);
	if (flen == 0)
		return 0; /* a comment: keep-alives look like this */
	if (vlen > 0 && *v == ' ')
		v++, vlen--;
	if (flen == 4 && memcmp(l, "data", 4) == 0) {
		if ((s->have_data && aur_buf_add(&s->data, "\n", 1) < 0) || aur_buf_add(&s->data, v, vlen) < 0)
			return sfail(s, -EPROTO, "an event larger than %zu bytes", s->max_event);
		s->have_data = 1;
	} else if (flen == 5 && memcmp(l, "event", 5) == 0) {
		aur_buf_reset(&s->event);
		if (aur_buf_add(&s->event, v, vlen) < 0)
			return sfail(s, -EPROTO, "an event name longer than 256 bytes");
	}
	/* id, retry and unknown fields are ignored, as the SSE spec says */
	return 0;
}

int aur_llm_stream_feed(struct aur_llm_stream *s, const char *data, size_t len, char *err, size_t errlen)
{
	size_t i = 0;
	size_t whole = len;

	if (s->rc < 0)
		goto out;
	/* the bytes up to the limit are parsed first, so any split fails the same way */
	if (len > s->max_total - s->total)
		len = s->max_total - s->total;
	s->total += len;
	while (i < len) {
		const char *eol = NULL;
		size_t run;

		if (s->after_cr && data[i] == '\n') {
			s->after_cr = 0;
			i++;
			continue;
		}
		s->after_cr = 0;
		for (size_t j = i; j < len; j++)
			if (data[j] == '\n' || data[j] == '\r') {
				eol = data + j;
				break;
			}
		run = eol ? (size_t)(eol - (data + i)) : len - i;
		if (aur_buf_add(&s->line, data + i, run) < 0) {
			sfail(s, -EPROTO, "a line longer than %zu bytes", s->max_event);
			goto out;
		}
		i += run;
		if (!eol)
			break;
		s->after_cr = *eol == '\r';
		i++;
		if (line(s) < 0)
			goto out;
		aur_buf_reset(&s->line);
	}
	if (s->rc == 0 && len < whole)
		sfail(s, -EPROTO, "answer larger than %zu bytes", s->max_total);
out:
	if (s->rc < 0)
		fail(err, errlen, s->rc, "%s", s->errmsg);
	return s->rc;
}

/* the tool calls as [{id, name, arguments}], arguments parsed */
static jv calls_result(struct aur_llm_stream *s)
{
	jv out = jv_array();

	for (int i = 0; i < s->ncalls; i++) {
		struct call *c = &s->calls[i];
		char why[200] = "";
		jv args;
		jv o;

		if (!c->used)
			continue;
		o = JV_OBJECT(jv_string("id"), kind_is(c->id, JV_KIND_STRING) ? jv_copy(c->id) : jv_string(""),
			      jv_string("name"), kind_is(c->name, JV_KIND_STRING) ? jv_copy(c->name) : jv_string(""));
		if (c->args.len == 0 && kind_is(c->input, JV_KIND_OBJECT))
			args = jv_copy(c->input);
		else if (c->args.len == 0)
			args = jv_object(); /* a call without arguments: {} */
		else if (aur_jvio_parse(c->args.data, c->args.len, &args, why, sizeof(why)) < 0)
			args = jv_invalid();
		if (kind_is(args, JV_KIND_OBJECT)) {
			o = jv_object_set(o, jv_string("arguments"), args);
		} else {
			o = jv_object_set(o, jv_string("error"),
					  jv_is_valid(args) ? jv_string("arguments are JSON but not an object")
							    : jv_string_fmt("arguments are not valid JSON: %s", why));
			jv_free(args);
			o = jv_object_set(o, jv_string("arguments"), jv_null());
			o = jv_object_set(o, jv_string("arguments_text"),
					  jv_string_sized(c->args.data ? c->args.data : "",
							  (int)(c->args.len < MAX_ARGS_TEXT ? c->args.len : MAX_ARGS_TEXT)));
		}
		out = jv_array_append(out, o);
	}
	return out;
}

int aur_llm_stream_finish(struct aur_llm_stream *s, struct aur_llm_result *res, char *err, size_t errlen)
{
	aur_llm_result_init(res);
	if (s->rc < 0)
		goto out;
	/* a last line without its end of line, then the event it ends */
	if (s->line.len > 0 && line(s) < 0)
		goto out;
	aur_buf_reset(&s->line);
	if (dispatch(s) < 0)
		goto out;
	if (!s->done && !(s->provider != AUR_LLM_ANTHROPIC && s->stop)) {
		sfail(s, -EPROTO, "the stream ended before its end (%s): truncated",
		      s->provider == AUR_LLM_ANTHROPIC ? "no message_stop" : "no [DONE] nor finish_reason");
		goto out;
	}
	res->text = aur_buf_detach(&s->text, NULL);
	res->stop = aur_xstrdup(s->stop ? s->stop : "");
	jv_free(res->tool_calls);
	res->tool_calls = calls_result(s);
out:
	if (s->rc < 0)
		fail(err, errlen, s->rc, "%s", s->errmsg);
	return s->rc;
}

/* ---- the HTTP call ---- */

/* the key from its file or variable into key[MAX_KEY]; "" when none is configured. A key
 * with a control character is refused: it would end the header line it is sent in. */
static int load_key(const struct aur_llm_config *cfg, char *key, char *err, size_t errlen)
{
	const char *from = cfg->key_env ? "variable" : "file";
	const char *name = cfg->key_env ? cfg->key_env : cfg->key_file;
	size_t n = 0;
	int rc = -EINVAL;
	FILE *f;

	key[0] = '\0';
	if (cfg->key_env) {
		const char *v = getenv(cfg->key_env);

		n = v ? strlen(v) : 0;
		if (n == 0 || n >= MAX_KEY) {
			fail(err, errlen, rc, "the api key variable %.64s is unset, empty or too long", name);
			goto out;
		}
		memcpy(key, v, n + 1);
	} else if (cfg->key_file) {
		f = fopen(cfg->key_file, "r");
		if (!f) {
			fail(err, errlen, rc, "cannot read the api key file %.200s: %s", name, strerror(errno));
			goto out;
		}
		n = fread(key, 1, MAX_KEY - 1, f);
		fclose(f);
		key[n] = '\0';
		while (n > 0 && isspace((unsigned char)key[n - 1]))
			key[--n] = '\0';
		if (n == 0) {
			fail(err, errlen, rc, "the api key file %.200s is empty", name);
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)key[i] < 0x20 || key[i] == 0x7f) {
			fail(err, errlen, rc, "the api key %s %.200s holds a control character or more than one line",
			     from, name);
			goto out;
		}
	rc = 0;
out:
	if (rc < 0)
		aur_auth_wipe(key, MAX_KEY);
	return rc;
}

/* replace every copy of key in s by [redacted] (in place: s never grows) */
static void redact(char *s, const char *key)
{
	static const char mark[] = "[redacted]";
	size_t klen = strlen(key);
	char *p;

	if (klen == 0)
		return;
	while ((p = strstr(s, key)) != NULL) {
		size_t tail = strlen(p + klen);

		if (klen >= sizeof(mark) - 1) {
			memcpy(p, mark, sizeof(mark) - 1);
			memmove(p + sizeof(mark) - 1, p + klen, tail + 1);
		} else {
			/* a key shorter than the mark: blank it instead of growing s past cap */
			memset(p, '*', klen);
		}
	}
}

struct attempt {
	struct aur_llm_stream *stream;
	struct aur_buf errbody;  /* a non-2xx answer's body */
	CURL *curl;
	long status;
	long long retry_after_ms; /* -1 when the answer gave none */
	int event_stream;         /* Content-Type: text/event-stream */
	int stream_rc;            /* why the write callback stopped */
	/* text already passed on by earlier attempts: not passed again */
	aur_llm_text_fn on_text;
	void *arg;
	size_t delivered;
	size_t seen;
};

static int pass_text(void *arg, const char *text, size_t len)
{
	struct attempt *a = arg;
	size_t skip = 0;
	int rc = 0;

	if (a->seen < a->delivered)
		skip = a->delivered - a->seen < len ? a->delivered - a->seen : len;
	a->seen += len;
	if (skip < len && a->on_text)
		rc = a->on_text(a->arg, text + skip, len - skip);
	if (a->seen > a->delivered)
		a->delivered = a->seen;
	return rc;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct attempt *a = arg;
	size_t len = size * n;
	char line[128];
	char *v;

	if (len >= sizeof(line))
		return len;
	memcpy(line, p, len);
	line[len] = '\0';
	if (strncmp(line, "HTTP/", 5) == 0) {
		/* a new answer (a 100 Continue, a redirect): forget the last one's headers */
		a->retry_after_ms = -1;
		a->event_stream = 0;
		return len;
	}
	v = strchr(line, ':');
	if (!v)
		return len;
	*v++ = '\0';
	while (*v == ' ' || *v == '\t')
		v++;
	if (strcasecmp(line, "retry-after-ms") == 0 && isdigit((unsigned char)*v)) {
		a->retry_after_ms = strtoll(v, NULL, 10);
	} else if (strcasecmp(line, "retry-after") == 0 && isdigit((unsigned char)*v) && a->retry_after_ms < 0) {
		/* delta-seconds; an HTTP-date is left to the backoff */
		long long secs = strtoll(v, NULL, 10);

		a->retry_after_ms = secs > 86400 ? 86400000LL : secs * 1000;
	} else if (strcasecmp(line, "content-type") == 0) {
		a->event_stream = strncasecmp(v, "text/event-stream", 17) == 0;
	}
	return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct attempt *a = arg;
	size_t len = size * n;

	if (a->status == 0)
		curl_easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, &a->status);
	if (a->status < 200 || a->status > 299) {
		/* an error body is only read for its message: the rest is dropped, not an error */
		if (a->errbody.len < MAX_ERROR_BODY)
			aur_buf_add(&a->errbody, p, len < MAX_ERROR_BODY - a->errbody.len ? len
										  : MAX_ERROR_BODY - a->errbody.len);
		return len;
	}
	if (!a->event_stream) {
		a->stream_rc = -EPROTO;
		return 0;
	}
	a->stream_rc = aur_llm_stream_feed(a->stream, p, len, NULL, 0);
	return a->stream_rc < 0 ? 0 : len;
}

static void sleep_ms(long long ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static struct curl_slist *add_header(struct curl_slist *h, const char *name, const char *value)
{
	char line[MAX_KEY + 64];
	struct curl_slist *n;

	snprintf(line, sizeof(line), "%s: %s", name, value);
	n = curl_slist_append(h, line);
	aur_auth_wipe(line, sizeof(line));
	if (!n) {
		fputs("aurora: out of memory\n", stderr);
		abort();
	}
	return n;
}

static char *endpoint(const struct aur_llm_config *cfg)
{
	struct aur_buf u;
	size_t n = strlen(cfg->url);

	aur_buf_init(&u, 0);
	while (n > 0 && cfg->url[n - 1] == '/')
		n--;
	aur_buf_add(&u, cfg->url, n);
	if (cfg->provider == AUR_LLM_ANTHROPIC)
		aur_buf_adds(&u, "/messages");
	else
		aur_buf_adds(&u, "/chat/completions");
	if (cfg->provider == AUR_LLM_AZURE)
		aur_buf_addf(&u, "?api-version=%s", cfg->api_version ? cfg->api_version : AZURE_API_VERSION);
	return aur_buf_detach(&u, NULL);
}

/* the provider's message from an error body, or the body's start when it is not JSON */
static void body_message(const struct aur_buf *b, char *out, size_t outlen)
{
	jv e = jv_invalid();
	size_t k = 0;

	if (aur_jvio_parse(b->data ? b->data : "", b->len, &e, NULL, 0) < 0)
		e = jv_invalid();
	if (kind_is(e, JV_KIND_OBJECT)) {
		error_message(e, out, outlen);
	} else {
		jv_free(e);
		/* printable bytes only: an error page may hold anything */
		for (size_t i = 0; b->data && i < b->len && k + 1 < outlen && k < 120; i++)
			out[k++] = isprint((unsigned char)b->data[i]) ? b->data[i] : ' ';
		out[k] = '\0';
		if (k == 0)
			snprintf(out, outlen, "empty body");
	}
}

int aur_llm_chat(const struct aur_llm_config *cfg, jv messages, jv tools, aur_llm_text_fn on_text,
		 void *arg, long long deadline_ms, struct aur_llm_result *res, char *err, size_t errlen)
{
	char key[MAX_KEY];
	char msg[MAX_PROVIDER_MSG + 128];
	struct curl_slist *headers = NULL;
	struct attempt a;
	char *url = NULL;
	char *bodytext = NULL;
	jv body = jv_invalid();
	int retries = cfg->max_retries < 0 ? 0 : cfg->max_retries == 0 ? DEFAULT_RETRIES : cfg->max_retries;
	long long backoff = BACKOFF_FIRST_MS;
	int attempts = 0;
	int rc;

	memset(&a, 0, sizeof(a));
	aur_buf_init(&a.errbody, MAX_ERROR_BODY);
	a.on_text = on_text;
	a.arg = arg;
	aur_llm_result_init(res);
	key[0] = '\0';
	rc = load_key(cfg, key, err, errlen);
	if (rc < 0)
		goto out;
	rc = aur_llm_request_body(cfg, messages, tools, &body, err, errlen);
	if (rc < 0)
		goto out;
	{
		jv text = jv_dump_string(jv_copy(body), 0);

		bodytext = aur_xstrdup(jv_string_value(text));
		jv_free(text);
	}
	url = endpoint(cfg);
	headers = add_header(headers, "Content-Type", "application/json");
	headers = add_header(headers, "Accept", "text/event-stream");
	if (cfg->provider == AUR_LLM_ANTHROPIC)
		headers = add_header(headers, "anthropic-version",
				     cfg->api_version ? cfg->api_version : ANTHROPIC_VERSION);
	if (key[0] && cfg->provider == AUR_LLM_ANTHROPIC)
		headers = add_header(headers, "x-api-key", key);
	else if (key[0] && cfg->provider == AUR_LLM_AZURE)
		headers = add_header(headers, "api-key", key);
	else if (key[0]) {
		char bearer[MAX_KEY + 8];

		snprintf(bearer, sizeof(bearer), "Bearer %s", key);
		headers = add_header(headers, "Authorization", bearer);
		aur_auth_wipe(bearer, sizeof(bearer));
	}
	a.curl = curl_easy_init();
	if (!a.curl) {
		rc = fail(err, errlen, -ENOMEM, "cannot start libcurl");
		goto out;
	}
	for (int attempt = 0;; attempt++) {
		long long left = deadline_ms - aur_time_mono_ms();
		long long wait;
		CURLcode cc;
		int retry;

		if (left <= 0) {
			rc = fail(err, errlen, -ETIMEDOUT, "%s: no answer within the time limit (%d attempts)", url,
				  attempt);
			goto out;
		}
		aur_llm_stream_free(a.stream);
		a.stream = aur_llm_stream_new(cfg->provider, cfg->max_response, cfg->max_event, pass_text, &a);
		a.seen = 0;
		a.status = 0;
		a.stream_rc = 0;
		a.retry_after_ms = -1;
		a.event_stream = 0;
		aur_buf_reset(&a.errbody);
		curl_easy_reset(a.curl);
		curl_easy_setopt(a.curl, CURLOPT_URL, url);
		curl_easy_setopt(a.curl, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(a.curl, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(a.curl, CURLOPT_HTTPHEADER, headers);
		curl_easy_setopt(a.curl, CURLOPT_POSTFIELDS, bodytext);
		curl_easy_setopt(a.curl, CURLOPT_TIMEOUT_MS, (long)left);
		curl_easy_setopt(a.curl, CURLOPT_CONNECTTIMEOUT_MS,
				 (long)(cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : DEFAULT_CONNECT_MS));
		curl_easy_setopt(a.curl, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(a.curl, CURLOPT_HEADERDATA, &a);
		curl_easy_setopt(a.curl, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(a.curl, CURLOPT_WRITEDATA, &a);
		/* the key goes to this host only: no redirects to follow elsewhere */
		curl_easy_setopt(a.curl, CURLOPT_FOLLOWLOCATION, 0L);
		cc = curl_easy_perform(a.curl);
		attempts = attempt + 1;
		curl_easy_getinfo(a.curl, CURLINFO_RESPONSE_CODE, &a.status);
		if (cc == CURLE_WRITE_ERROR && a.stream_rc == -EPROTO && !a.event_stream) {
			rc = fail(err, errlen, -EPROTO, "%s: HTTP %ld answer is not an event stream", url, a.status);
			goto out;
		}
		if (cc == CURLE_WRITE_ERROR && a.stream_rc < 0) {
			aur_llm_result_release(res);
			aur_llm_stream_finish(a.stream, res, msg, sizeof(msg));
			redact(msg, key);
			rc = fail(err, errlen, a.stream_rc, "%s: %s", url, msg);
			goto out;
		}
		if (cc == CURLE_OPERATION_TIMEDOUT) {
			rc = fail(err, errlen, -ETIMEDOUT, "%s: no complete answer within the time limit (%d attempts)",
				  url, attempt + 1);
			goto out;
		}
		if (cc == CURLE_OK && a.status >= 200 && a.status <= 299) {
			aur_llm_result_release(res);
			rc = aur_llm_stream_finish(a.stream, res, msg, sizeof(msg));
			if (rc < 0) {
				redact(msg, key);
				fail(err, errlen, rc, "%s: %s", url, msg);
			}
			goto out;
		}
		retry = cc != CURLE_OK || a.status == 429 || a.status >= 500;
		if (cc != CURLE_OK) {
			snprintf(msg, sizeof(msg), "%s", curl_easy_strerror(cc));
			rc = -EIO;
		} else {
			char pm[MAX_PROVIDER_MSG + 64];

			body_message(&a.errbody, pm, sizeof(pm));
			redact(pm, key);
			snprintf(msg, sizeof(msg), "HTTP %ld: %s", a.status, pm);
			rc = retry ? -EAGAIN
			   : a.status == 401 || a.status == 403 ? -EACCES
								  : -EINVAL;
		}
		if (!retry || attempt >= retries) {
			fail(err, errlen, rc, "%s: %s%s", url, msg, retry ? " (retries exhausted)" : "");
			goto out;
		}
		wait = a.retry_after_ms >= 0 ? a.retry_after_ms : backoff;
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
		if (wait >= deadline_ms - aur_time_mono_ms()) {
			fail(err, errlen, rc, "%s: %s (the next try, in %lld ms, would pass the time limit)", url, msg,
			     wait);
			goto out;
		}
		sleep_ms(wait);
	}
out:
	aur_auth_wipe(key, sizeof(key));
	if (rc < 0) {
		aur_llm_result_release(res);
		res->text = aur_xstrdup("");
		res->stop = aur_xstrdup("");
		res->tool_calls = jv_array();
	}
	/* set last: aur_llm_stream_finish fills res afresh */
	res->attempts = attempts;
	res->status = (int)a.status;
	if (a.curl)
		curl_easy_cleanup(a.curl);
	/* curl_slist_free_all does not wipe: the header lines hold the key */
	for (struct curl_slist *h = headers; h; h = h->next)
		aur_auth_wipe(h->data, strlen(h->data));
	curl_slist_free_all(headers);
	aur_llm_stream_free(a.stream);
	aur_buf_release(&a.errbody);
	free(url);
	free(bodytext);
	jv_free(body);
	return rc;
}
