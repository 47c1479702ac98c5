/*
 * llm_stream.c - the stream parsers of the LLM client (llm.h): an SSE
 * framer (lines, events, data) and one event handler per provider that
 * gathers the assistant's text, the tool calls and the stop reason. Pure
 * functions over bytes fed in arbitrary pieces, every size bounded: the
 * unit tests split an answer at every byte and tests/fuzz/llm_stream_fuzz.c
 * feeds it anything.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jq.h>

#include "buf.h"
#include "jvio.h"
#include "llm.h"
#include "llm_impl.h"
#include "xalloc.h"
#include "banned.h"

#define MAX_ARGS_TEXT 4096

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

	if (!llm_kind_is(t, JV_KIND_STRING))
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

	if (llm_kind_is(piece, JV_KIND_STRING) &&
	    aur_buf_add(&c->args, jv_string_value(piece), (size_t)jv_string_length_bytes(jv_copy(piece))) < 0)
		rc = sfail(s, -EPROTO, "tool call arguments larger than %zu bytes", s->max_event);
	jv_free(piece);
	return rc;
}

/* the error object of an error event or an error body, as "type: message" without the key */
void llm_error_message(jv e, char *out, size_t outlen)
{
	jv msg = jv_invalid();
	jv type = jv_invalid();

	if (llm_kind_is(e, JV_KIND_OBJECT)) {
		jv inner = jv_object_get(jv_copy(e), jv_string("error"));

		if (llm_kind_is(inner, JV_KIND_OBJECT)) {
			msg = jv_object_get(jv_copy(inner), jv_string("message"));
			type = jv_object_get(jv_copy(inner), jv_string("type"));
		} else if (llm_kind_is(inner, JV_KIND_STRING)) {
			msg = jv_copy(inner);
		}
		jv_free(inner);
		if (!llm_kind_is(msg, JV_KIND_STRING)) {
			jv_free(msg);
			msg = jv_object_get(jv_copy(e), jv_string("message"));
		}
	}
	snprintf(out, outlen, "%.40s%s%.*s", llm_kind_is(type, JV_KIND_STRING) ? jv_string_value(type) : "",
		 llm_kind_is(type, JV_KIND_STRING) ? ": " : "", LLM_MAX_PROVIDER_MSG,
		 llm_kind_is(msg, JV_KIND_STRING) ? jv_string_value(msg) : "no message");
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

	if (llm_kind_is(e, JV_KIND_OBJECT) || llm_kind_is(e, JV_KIND_STRING)) {
		char msg[LLM_MAX_PROVIDER_MSG + 64];

		llm_error_message(jv_copy(ev), msg, sizeof(msg));
		rc = sfail(s, -EIO, "error in the stream: %s", msg);
		goto out;
	}
	choice = jv_getpath(jv_copy(ev), JV_ARRAY(jv_string("choices"), jv_number(0)));
	if (!llm_kind_is(choice, JV_KIND_OBJECT))
		goto out; /* a usage chunk, or a keep-alive: nothing for us */
	delta = jv_object_get(jv_copy(choice), jv_string("delta"));
	if (llm_kind_is(delta, JV_KIND_OBJECT)) {
		rc = add_text(s, jv_object_get(jv_copy(delta), jv_string("content")));
		if (rc < 0)
			goto out;
		calls = jv_object_get(jv_copy(delta), jv_string("tool_calls"));
	}
	if (llm_kind_is(calls, JV_KIND_ARRAY)) {
		jv_array_foreach(calls, i, tc)
		{
			jv idx = llm_kind_is(tc, JV_KIND_OBJECT) ? jv_object_get(jv_copy(tc), jv_string("index"))
							    : jv_invalid();
			double d = llm_kind_is(idx, JV_KIND_NUMBER) ? jv_number_value(idx) : (double)i;
			struct call *c;
			jv id;
			jv fn;

			jv_free(idx);
			if (!llm_kind_is(tc, JV_KIND_OBJECT) || d < 0 || d >= AUR_LLM_MAX_TOOL_CALLS || d != (int)d) {
				jv_free(tc);
				rc = sfail(s, -EPROTO, "tool call index out of 0..%d", AUR_LLM_MAX_TOOL_CALLS - 1);
				goto out;
			}
			c = &s->calls[(int)d];
			c->used = 1;
			if ((int)d >= s->ncalls)
				s->ncalls = (int)d + 1;
			id = jv_object_get(jv_copy(tc), jv_string("id"));
			if (llm_kind_is(id, JV_KIND_STRING)) {
				jv_free(c->id);
				c->id = id;
			} else {
				jv_free(id);
			}
			fn = jv_object_get(tc, jv_string("function"));
			if (llm_kind_is(fn, JV_KIND_OBJECT)) {
				jv name = jv_object_get(jv_copy(fn), jv_string("name"));

				/* the name comes whole in the first fragment; some servers repeat it */
				if (llm_kind_is(name, JV_KIND_STRING) && jv_string_length_bytes(jv_copy(name)) > 0) {
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
	if (llm_kind_is(fin, JV_KIND_STRING))
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
	double d = llm_kind_is(i, JV_KIND_NUMBER) ? jv_number_value(i) : -1;
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
	const char *t = llm_kind_is(type, JV_KIND_STRING) ? jv_string_value(type) : "";
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
		btype = llm_kind_is(block, JV_KIND_OBJECT) ? jv_object_get(jv_copy(block), jv_string("type"))
						       : jv_invalid();
		if (llm_kind_is(btype, JV_KIND_STRING) && strcmp(jv_string_value(btype), "tool_use") == 0) {
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
		} else if (llm_kind_is(btype, JV_KIND_STRING) && strcmp(jv_string_value(btype), "text") == 0) {
			rc = add_text(s, jv_object_get(jv_copy(block), jv_string("text")));
		}
		jv_free(btype);
	} else if (strcmp(t, "content_block_delta") == 0) {
		jv dtype;

		rc = block_index(s, jv_copy(ev), &idx);
		if (rc < 0)
			goto out;
		delta = jv_object_get(jv_copy(ev), jv_string("delta"));
		dtype = llm_kind_is(delta, JV_KIND_OBJECT) ? jv_object_get(jv_copy(delta), jv_string("type"))
						       : jv_invalid();
		if (!llm_kind_is(dtype, JV_KIND_STRING)) {
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

		if (llm_kind_is(stop, JV_KIND_STRING))
			set_stop(s, jv_string_value(stop));
		jv_free(stop);
	} else if (strcmp(t, "message_stop") == 0) {
		s->done = 1;
	} else if (strcmp(t, "error") == 0) {
		char msg[LLM_MAX_PROVIDER_MSG + 64];

		llm_error_message(jv_copy(ev), msg, sizeof(msg));
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
	if (!llm_kind_is(ev, JV_KIND_OBJECT)) {
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
		llm_fail(err, errlen, s->rc, "%s", s->errmsg);
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
		o = JV_OBJECT(jv_string("id"), llm_kind_is(c->id, JV_KIND_STRING) ? jv_copy(c->id) : jv_string(""),
			      jv_string("name"), llm_kind_is(c->name, JV_KIND_STRING) ? jv_copy(c->name) : jv_string(""));
		if (c->args.len == 0 && llm_kind_is(c->input, JV_KIND_OBJECT))
			args = jv_copy(c->input);
		else if (c->args.len == 0)
			args = jv_object(); /* a call without arguments: {} */
		else if (aur_jvio_parse(c->args.data, c->args.len, &args, why, sizeof(why)) < 0)
			args = jv_invalid();
		if (llm_kind_is(args, JV_KIND_OBJECT)) {
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
		llm_fail(err, errlen, s->rc, "%s", s->errmsg);
	return s->rc;
}
