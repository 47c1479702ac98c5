/*
 * postmortem.h - an incident's postmortem written by a model, or by the
 * template when there is none or it fails.
 *
 * With a model configured (the "llm" part of aurora-rca's configuration,
 * llm.h), one request without tools: a system prompt asking for a blameless
 * postmortem in Markdown with fixed sections, and the incident's facts
 * (its fields, root cause, alerts, thoughts, suggestions, events) as one
 * JSON document bounded in size. The answer is checked (not empty, not
 * over the cap, valid UTF-8, at least one Markdown heading, not cut at the
 * token limit) and stored like the template's (incident_write.h), with a
 * closing line saying which model wrote it; the postmortem.generated event
 * says "generated_by": "llm:MODEL". Anything else - the provider
 * unreachable, slow past the time cap, answering 4xx/5xx through llm.c's
 * retries, or garbage - leaves the template's document stored instead,
 * with the reason handed back for one line on stderr.
 *
 * The key never passes through here: llm.c reads it at the call and keeps
 * it out of its error messages.
 */
#ifndef AURORA_POSTMORTEM_H
#define AURORA_POSTMORTEM_H

#include <stddef.h>
#include <sqlite3.h>
#include <jq.h>

struct aur_llm_config;

#define AUR_POSTMORTEM_FACTS_MAX ((size_t)48 * 1024)   /* bytes of the facts document sent */
#define AUR_POSTMORTEM_ANSWER_MAX ((size_t)256 * 1024) /* bytes of the answer kept */
#define AUR_POSTMORTEM_DEFAULT_TIMEOUT_MS 60000

struct aur_postmortem_options {
	const struct aur_llm_config *llm; /* borrowed; NULL: the template */
	long long timeout_ms;             /* the whole request, retries included; 0: the default */
};

/*
 * The facts about incident (a full incident object, borrowed) as one JSON
 * object whose compact text is at most max bytes: long texts are cut and
 * long lists shortened (saying how many items were left out) until it fits.
 */
jv aur_postmortem_facts(jv incident, size_t max);

/*
 * Whether text is a postmortem worth storing: 0, or -EPROTO with why
 * saying what is wrong with it.
 */
int aur_postmortem_check(const char *text, char *why, size_t whylen);

/*
 * The postmortem of incident id into *md (caller frees), as
 * aur_incident_write_postmortem: the stored one unless regenerate, else a new
 * one stored. by receives who wrote a new one ("template" or
 * "llm:MODEL"); fallback receives why the model's was not used when one
 * was configured and the template wrote it instead ("" otherwise).
 * 0, or what aur_incident_write_postmortem returns; a model's failure is never
 * an error.
 */
int aur_postmortem(sqlite3 *db, long long id, int regenerate, long long now_ms, const struct aur_postmortem_options *o,
		   char **md, int *generated, char *by, size_t bylen, char *fallback, size_t fallbacklen, char *err,
		   size_t errlen);

#endif
