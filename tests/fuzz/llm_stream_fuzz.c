/*
 * llm_stream_fuzz - libFuzzer target for lib/llm.c's stream parsers.
 *
 * The first byte picks the provider (bit 0: OpenAI or Anthropic) and seeds
 * the split; the rest is the bytes of an answer. Parsed whole and parsed in
 * pieces whose lengths come from the input, the outcome must be the same:
 * the same return code and error, and on success the same text, stop reason
 * and tool calls; the text passed to the callback must be the text of the
 * result. Small limits (4 KiB an event, 32 KiB an answer) reach the bounds.
 *
 * Built and run by scripts/fuzz (make fuzz).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jq.h>

#include "buf.h"
#include "llm.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct outcome {
	int rc;
	char err[256];
	struct aur_llm_result res;
	struct aur_buf streamed;
};

static int collect(void *arg, const char *text, size_t len)
{
	struct aur_buf *b = arg;

	if (aur_buf_add(b, text, len) < 0)
		abort(); /* the parser bounds the text below this buffer's limit */
	return 0;
}

static void parse(enum aur_llm_provider p, const uint8_t *d, size_t n, unsigned seed, int pieces, struct outcome *o)
{
	struct aur_llm_stream *s;
	size_t at = 0;

	memset(o, 0, sizeof(*o));
	aur_buf_init(&o->streamed, 1u << 20);
	s = aur_llm_stream_new(p, 32768, 4096, collect, &o->streamed);
	while (at < n && o->rc == 0) {
		size_t k = pieces ? 1 + (d[(at * 31 + seed) % n] + seed) % 97u : n;

		if (k > n - at)
			k = n - at;
		o->rc = aur_llm_stream_feed(s, (const char *)d + at, k, o->err, sizeof(o->err));
		at += k;
	}
	if (o->rc == 0)
		o->rc = aur_llm_stream_finish(s, &o->res, o->err, sizeof(o->err));
	else
		aur_llm_result_init(&o->res);
	aur_llm_stream_free(s);
}

static void differ(const char *what)
{
	fprintf(stderr, "whole and in pieces differ: %s\n", what);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum aur_llm_provider p;
	struct outcome whole;
	struct outcome split;

	if (size < 1)
		return 0;
	p = data[0] & 1 ? AUR_LLM_ANTHROPIC : AUR_LLM_OPENAI;
	parse(p, data + 1, size - 1, data[0], 0, &whole);
	parse(p, data + 1, size - 1, data[0], 1, &split);
	if (whole.rc != split.rc)
		differ("return code");
	if (strcmp(whole.err, split.err) != 0)
		differ("error message");
	if (whole.rc == 0) {
		if (strcmp(whole.res.text, split.res.text) != 0)
			differ("text");
		if (strcmp(whole.res.stop, split.res.stop) != 0)
			differ("stop reason");
		if (!jv_equal(jv_copy(whole.res.tool_calls), jv_copy(split.res.tool_calls)))
			differ("tool calls");
		if (strcmp(whole.res.text, whole.streamed.data ? whole.streamed.data : "") != 0)
			differ("streamed text and result text");
		if (jv_get_kind(whole.res.tool_calls) != JV_KIND_ARRAY)
			abort();
	}
	aur_llm_result_release(&whole.res);
	aur_llm_result_release(&split.res);
	aur_buf_release(&whole.streamed);
	aur_buf_release(&split.streamed);
	return 0;
}
