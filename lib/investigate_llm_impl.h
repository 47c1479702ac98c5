/*
 * investigate_llm_impl.h - the private half of the LLM investigator
 * (investigate.h, "llm"), shared by its files and included by nothing else:
 *   investigate_llm.c         the conversation: the tool loop with its caps,
 *                             the streamed thoughts, the answer's check and
 *                             the fallback to the built-in investigator
 *   investigate_llm_config.c  its configuration file (aur_inv_llm_load)
 *   investigate_llm_tools.c   the tools the model may call: the incident,
 *                             related alerts, recent changes, similar
 *                             incidents, run_diagnostic and http_get
 */
#ifndef AURORA_INVESTIGATE_LLM_IMPL_H
#define AURORA_INVESTIGATE_LLM_IMPL_H

#include <stddef.h>
#include <sqlite3.h>
#include <jq.h>

#include "diag.h"
#include "investigate.h"
#include "llm.h"

#define THOUGHT_MAX 1000

struct aur_inv_llm {
	struct aur_llm_config llm;
	struct aur_diag_policy *policy; /* NULL: run_diagnostic refuses every command */
	int max_steps;
	long long time_cap_ms;
	size_t max_result;
	jv http_allow; /* URL prefixes http_get may fetch under; an empty array: no http_get */
};


struct llm_inv {
	sqlite3 *db;
	long long id;
	const struct aur_inv_options *o;
	const struct aur_inv_llm *c;
	const struct aur_inv_sink *sink;
	char line[THOUGHT_MAX + 1]; /* streamed text not yet said */
	size_t linelen;
	int quiet;      /* the rest of this turn's text is the JSON answer: not a thought */
	int sink_rc;    /* what a sink returned from inside the text callback */
	long long started_ms, last_ms;
};

/* 1 when s is one of the NULL-ended set. */
int inv_llm_in_set(const char *s, const char *const *set);

/* A thought through the sink, at most THOUGHT_MAX bytes. What the sink returned. */
int inv_llm_think(struct llm_inv *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* s as a jv string cut to at most max bytes on a UTF-8 boundary, saying so. */
jv inv_llm_capped(const char *s, size_t max);
/* The get_incident tool: the incident and its alerts. 0, or -errno with err set. */
int inv_llm_tool_get_incident(struct llm_inv *v, jv *out, char *err, size_t errlen);
/* Run one tool call: the text to send back (caller frees); *rc a sink's code. */
char *inv_llm_run_tool(struct llm_inv *v, const char *name, jv args, long long deadline, int *rc);
/* The tools offered to the model, in llm.h's neutral form (caller frees). */
jv inv_llm_tools(const struct aur_inv_llm *c);

#endif
