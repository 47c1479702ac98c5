/*
 * llm_impl.h - the private half of llm.h, shared by the files of the one
 * LLM client module and included by nothing else:
 *   llm.c          the configuration, the results, and the HTTP call: the
 *                  key, the headers, retries with backoff, the limits
 *   llm_request.c  the request translation: neutral messages and tools into
 *                  each provider's body
 *   llm_stream.c   the stream parsers: an SSE framer and one event handler
 *                  per provider, pure over bytes (fuzzed alone)
 */
#ifndef AURORA_LLM_IMPL_H
#define AURORA_LLM_IMPL_H

#include <stddef.h>

#include <jq.h>

/* bytes of a provider's own error message kept in ours */
#define LLM_MAX_PROVIDER_MSG 300

/* Write fmt into err (when err and errlen are set) and return rc. */
int llm_fail(char *err, size_t errlen, int rc, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static inline int llm_kind_is(jv v, jv_kind k)
{
	return jv_get_kind(v) == k;
}

/*
 * The error object of an error event or an error body (consumed) as
 * "type: message" into out, without the key: the parsers and the HTTP call
 * both report a provider's errors this way.
 */
void llm_error_message(jv e, char *out, size_t outlen);

#endif
