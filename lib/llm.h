/*
 * llm.h - a chat client for the LLM investigator: one streamed turn of a
 * conversation with tool calls, against an OpenAI-compatible
 * chat-completions endpoint (OpenAI, Azure OpenAI, Ollama, vLLM, llama.cpp
 * server) or Anthropic's Messages API, through libcurl.
 *
 * The caller speaks one provider-neutral form and this module translates:
 *
 *   messages  [{role: "system"|"user"|"assistant"|"tool", content: STRING,
 *               tool_calls: [{id, name, arguments: OBJECT}] (assistant),
 *               tool_call_id: STRING (tool)}]
 *   tools     [{name, description, parameters: JSON-SCHEMA-OBJECT}]
 *   result    text, tool calls [{id, name, arguments: OBJECT}] and a stop
 *             reason ("end", "tool_calls", "max_tokens", or the provider's
 *             own word for anything else)
 *
 * It is not an agent: the tool loop, its step and time caps and what the
 * tools do belong to the investigator. Everything here is bounded: the
 * answer's bytes, one event's bytes, the number of tool calls, the connect
 * time and the whole call (an absolute deadline on the monotonic clock,
 * aur_time_mono_ms(), so one time cap can span a whole investigation).
 *
 * The API key is read from a file or an environment variable at each call,
 * sent only in the provider's key header, wiped after the call, and never
 * put into an error message (a provider message that echoes it has it
 * replaced by "[redacted]").
 *
 * The stream parsers are pure functions over bytes fed in arbitrary pieces
 * (aur_llm_stream_*), unit-tested split at every byte and fuzzed by
 * tests/fuzz/llm_stream_fuzz.c.
 *
 * Three files hold the module (llm_impl.h, their shared part, says more):
 * llm.c the configuration, results and the HTTP call; llm_request.c the
 * request translation; llm_stream.c the stream parsers.
 */
#ifndef AURORA_LLM_H
#define AURORA_LLM_H

#include <stddef.h>

#include <jq.h>

enum aur_llm_provider {
	AUR_LLM_OPENAI,    /* POST {url}/chat/completions, Authorization: Bearer */
	AUR_LLM_AZURE,     /* POST {url}/chat/completions?api-version=V, api-key: */
	AUR_LLM_ANTHROPIC, /* POST {url}/messages, x-api-key:, anthropic-version: */
};

#define AUR_LLM_MAX_TOOL_CALLS 64
#define AUR_LLM_DEFAULT_MAX_RESPONSE (4u << 20)
#define AUR_LLM_DEFAULT_MAX_EVENT (1u << 20)

struct aur_llm_config {
	enum aur_llm_provider provider;
	char *url;          /* owned; the base ending in /v1 (Azure: .../openai/deployments/NAME) */
	char *model;        /* owned; NULL only for Azure, whose URL names the deployment */
	char *key_file;     /* owned or NULL; a file holding the key (trailing blanks dropped) */
	char *key_env;      /* owned or NULL; the name of a variable holding the key */
	char *api_version;  /* owned or NULL; Azure's api-version, Anthropic's anthropic-version */
	long connect_timeout_ms; /* 0: 10 s */
	long max_tokens;         /* 0: 4096 (Anthropic requires one; OpenAI gets it as max_tokens) */
	size_t max_response;     /* bytes of one answer; 0: AUR_LLM_DEFAULT_MAX_RESPONSE */
	size_t max_event;        /* bytes of one SSE event; 0: AUR_LLM_DEFAULT_MAX_EVENT */
	int max_retries;         /* retries of 429, 5xx and transport errors; <0: none; 0: 4 */
};

/*
 * Fill cfg from a JSON object (the "llm" part of a configuration file):
 * provider ("openai", "azure", "anthropic"; "ollama", "vllm", "llamacpp" are
 * openai), url (default per provider: https://api.openai.com/v1,
 * https://api.anthropic.com/v1; Ollama http://127.0.0.1:11434/v1), model,
 * api_key_file, api_key_env, api_version, connect_timeout_ms, max_tokens,
 * max_response_bytes, max_event_bytes, max_retries. Unknown keys are errors
 * (a typo must not silently drop a setting). A key itself in the file
 * ("api_key") is refused: keys live in a file of their own or a variable.
 * Consumes obj. 0, or -EINVAL with err saying which field; cfg is released
 * on failure. The caller releases cfg with aur_llm_config_release.
 */
int aur_llm_config_parse(jv obj, struct aur_llm_config *cfg, char *err, size_t errlen);
/* Free cfg's strings and zero it. NULL-safe. */
void aur_llm_config_release(struct aur_llm_config *cfg);
/* "openai", "azure" or "anthropic". Static. */
const char *aur_llm_provider_name(enum aur_llm_provider p);

struct aur_llm_result {
	char *text;         /* owned (free()); the assistant's text, "" when none */
	jv tool_calls;      /* owned (jv_free); [{id, name, arguments}]; a call whose
			       arguments are not a JSON object has arguments null,
			       "arguments_text" (the raw text, cut at 4 KiB) and "error" */
	char *stop;         /* owned (free()); "end", "tool_calls", "max_tokens", or the
			       provider's own stop word; "" when the stream gave none */
	int status;         /* the last HTTP status seen, 0 before any */
	int attempts;       /* requests sent, retries included */
};

/* Fill r as empty (tool_calls an empty array). */
void aur_llm_result_init(struct aur_llm_result *r);
/* Free r's contents (tool_calls becomes null). NULL-safe; r may be released twice. */
void aur_llm_result_release(struct aur_llm_result *r);

/*
 * Called with each piece of streamed assistant text as it arrives (text is
 * not NUL-terminated). A negative return ends the call with that code.
 * When a call is retried after text was delivered (a 5xx never comes after
 * text, but a transport error may), the text is not delivered twice: the
 * retried attempt's text is passed on only past what was already passed.
 */
typedef int (*aur_llm_text_fn)(void *arg, const char *text, size_t len);

/*
 * Build the provider's request body for messages and tools (each a jv
 * array in the neutral form above, borrowed). *out receives the object
 * (caller frees with jv_free). 0, or -EINVAL with err saying which message
 * or tool is malformed.
 */
int aur_llm_request_body(const struct aur_llm_config *cfg, jv messages, jv tools, jv *out, char *err,
			 size_t errlen);

/*
 * One streamed chat turn: send messages and tools (borrowed), pass text to
 * on_text (may be NULL) as it arrives, fill res (initialized here; the
 * caller releases it with aur_llm_result_release, on failure too).
 * deadline_ms is an absolute aur_time_mono_ms() time.
 *
 * 429, 5xx and transport errors are retried with exponential backoff
 * (Retry-After or retry-after-ms honoured) while the deadline allows.
 * Returns 0; -ETIMEDOUT at the deadline; -EAGAIN when 429/5xx persisted
 * through the retries, or Retry-After points past the deadline; -EIO for a
 * transport error that persisted, or an error event in the stream; -EPROTO
 * for a malformed, oversized or truncated stream; -EACCES for 401/403;
 * -EINVAL for another 4xx (the provider's message in err), a malformed
 * message or a key that cannot be read; or what on_text returned.
 * err says what went wrong, never with the key in it.
 */
int aur_llm_chat(const struct aur_llm_config *cfg, jv messages, jv tools, aur_llm_text_fn on_text,
		 void *arg, long long deadline_ms, struct aur_llm_result *res, char *err, size_t errlen);

/*
 * The stream parser alone: bytes of an SSE answer in, a result out.
 * aur_llm_stream_new: caller frees with aur_llm_stream_free (NULL-safe);
 * max_total and max_event bound the answer and one event (0: defaults).
 * aur_llm_stream_feed: any split of the bytes gives the same result. 0, or
 * -EPROTO (malformed JSON, an oversized event or answer, a tool call index
 * out of range), -EIO (an error event), or what on_text returned; err says
 * which. After a failure the parser refuses further input with the same code.
 * aur_llm_stream_finish: at the end of the bytes; moves the result into res
 * (initialized here: whatever res held is not freed; release it first). 0, or -EPROTO when the stream stopped before its end
 * ([DONE] or a finish_reason for OpenAI, message_stop for Anthropic).
 */
struct aur_llm_stream;
struct aur_llm_stream *aur_llm_stream_new(enum aur_llm_provider p, size_t max_total, size_t max_event,
					  aur_llm_text_fn on_text, void *arg);
int aur_llm_stream_feed(struct aur_llm_stream *s, const char *data, size_t len, char *err, size_t errlen);
int aur_llm_stream_finish(struct aur_llm_stream *s, struct aur_llm_result *res, char *err, size_t errlen);
void aur_llm_stream_free(struct aur_llm_stream *s);

#endif
