/*
 * llm_request.c - the request translation of the LLM client (llm.h): the
 * provider-neutral messages and tools into an OpenAI chat-completions body
 * or an Anthropic Messages body (system prompt apart, tool calls as
 * tool_use blocks, tool results as user tool_result blocks). Pure over jv
 * values: no I/O, so the unit tests compare bodies directly.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jq.h>

#include "llm.h"
#include "llm_impl.h"
#include "banned.h"

#define DEFAULT_MAX_TOKENS 4096

/* the content of a neutral message as a string: strings as they are, anything else as JSON text */
static jv content_text(jv msg)
{
	jv c = jv_object_get(jv_copy(msg), jv_string("content"));

	if (llm_kind_is(c, JV_KIND_STRING))
		return c;
	if (llm_kind_is(c, JV_KIND_NULL) || llm_kind_is(c, JV_KIND_INVALID)) {
		jv_free(c);
		return jv_string("");
	}
	return jv_dump_string(c, 0);
}

static int check_tool_calls(jv calls, int i, char *err, size_t errlen)
{
	int n;

	if (!llm_kind_is(calls, JV_KIND_ARRAY))
		return llm_fail(err, errlen, -EINVAL, "message %d: tool_calls must be an array", i);
	n = jv_array_length(jv_copy(calls));
	for (int j = 0; j < n; j++) {
		jv c = jv_array_get(jv_copy(calls), j);
		jv id = jv_object_get(jv_copy(c), jv_string("id"));
		jv name = jv_object_get(jv_copy(c), jv_string("name"));
		jv args = jv_object_get(jv_copy(c), jv_string("arguments"));
		int ok = llm_kind_is(id, JV_KIND_STRING) && llm_kind_is(name, JV_KIND_STRING) &&
			 (llm_kind_is(args, JV_KIND_OBJECT) || llm_kind_is(args, JV_KIND_NULL) ||
			  llm_kind_is(args, JV_KIND_INVALID));

		jv_free(c);
		jv_free(id);
		jv_free(name);
		jv_free(args);
		if (!ok)
			return llm_fail(err, errlen, -EINVAL,
					"message %d: tool call %d needs a string id and name and object arguments", i, j);
	}
	return 0;
}

static jv call_arguments(jv call)
{
	jv a = jv_object_get(call, jv_string("arguments"));

	if (llm_kind_is(a, JV_KIND_OBJECT))
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
	if (llm_kind_is(calls, JV_KIND_ARRAY)) {
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
	if (llm_kind_is(tools, JV_KIND_NULL) || llm_kind_is(tools, JV_KIND_INVALID))
		return 0;
	if (!llm_kind_is(tools, JV_KIND_ARRAY))
		return llm_fail(err, errlen, -EINVAL, "tools must be an array");
	jv_array_foreach(tools, i, t)
	{
		jv name = jv_object_get(jv_copy(t), jv_string("name"));
		jv desc = jv_object_get(jv_copy(t), jv_string("description"));
		jv params = jv_object_get(jv_copy(t), jv_string("parameters"));

		jv_free(t);
		if (rc == 0 && (!llm_kind_is(name, JV_KIND_STRING) || !llm_kind_is(params, JV_KIND_OBJECT))) {
			rc = llm_fail(err, errlen, -EINVAL, "tool %d needs a string name and an object parameters", i);
		} else if (rc == 0) {
			if (!llm_kind_is(desc, JV_KIND_STRING)) {
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
	if (!llm_kind_is(messages, JV_KIND_ARRAY) || jv_array_length(jv_copy(messages)) == 0) {
		llm_fail(err, errlen, rc, "messages must be a non-empty array");
		goto out;
	}
	jv_array_foreach(messages, i, m)
	{
		jv role = llm_kind_is(m, JV_KIND_OBJECT) ? jv_object_get(jv_copy(m), jv_string("role")) : jv_invalid();
		const char *r = llm_kind_is(role, JV_KIND_STRING) ? jv_string_value(role) : "";
		jv calls = llm_kind_is(m, JV_KIND_OBJECT) ? jv_object_get(jv_copy(m), jv_string("tool_calls"))
						     : jv_invalid();
		jv text = llm_kind_is(m, JV_KIND_OBJECT) ? content_text(m) : jv_string("");
		int has_calls = !llm_kind_is(calls, JV_KIND_NULL) && !llm_kind_is(calls, JV_KIND_INVALID);
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

			if (!llm_kind_is(id, JV_KIND_STRING)) {
				jv_free(id);
				llm_fail(err, errlen, -EINVAL, "message %d: a tool message needs a string tool_call_id", i);
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
			llm_fail(err, errlen, -EINVAL, "message %d: role must be system, user, assistant or tool", i);
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
