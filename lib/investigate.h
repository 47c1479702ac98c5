/*
 * investigate.h - investigators: what looks for an incident's cause.
 *
 * aurora-rca runs one investigation per new incident in a child process;
 * the investigator it runs is chosen by name (--investigator). Each one
 * reports every step through a sink the moment it makes it (the sink
 * writes it to the store: rca.h), and ends with a summary and a root
 * cause object:
 *   {entity, kind, summary, confidence, evidence: [{what, id | link}]}
 * kind is one of deploy, build, dependency, host, fleet, config,
 * certificate, dns, capacity, unknown.
 *
 * Only "builtin" exists in this build: deterministic reasoning over the
 * evidence in the store, offline, the same answer on a replay. "llm" is
 * known by name and answers -ENOSYS until its module lands.
 */
#ifndef AURORA_INVESTIGATE_H
#define AURORA_INVESTIGATE_H

#include <stddef.h>
#include <sqlite3.h>
#include <jq.h>

#include "rca.h"

struct aur_inv_sink {
	void *ctx;
	/*
	 * Each returns 0 to go on, or a negative code that ends the
	 * investigation with it (-ECANCELED: the incident was merged).
	 */
	int (*thought)(void *ctx, const char *text);
	int (*suggestion)(void *ctx, const struct aur_rca_suggestion *s);
};

struct aur_inv_options {
	long long lookback_ms; /* builds and deploys this long before the first alert count (2h) */
	int step_delay_ms;     /* pause between steps: a knob for tests, 0 otherwise */
};

void aur_inv_options_init(struct aur_inv_options *o);

struct aur_investigator {
	const char *name;
	/*
	 * Investigate incident id, reading db (the caller's own connection).
	 * 0 with *summary (caller frees) and *root_cause (caller frees with
	 * jv_free) set; a negative code with err set otherwise, or the code a
	 * sink returned.
	 */
	int (*run)(sqlite3 *db, long long id, const struct aur_inv_options *o, const struct aur_inv_sink *sink,
		   char **summary, jv *root_cause, char *err, size_t errlen);
};

/*
 * The investigator called name: 0 with *out set (static, never freed);
 * -ENOSYS for one this build knows of but does not have yet ("llm");
 * -ENOENT for any other name.
 */
int aur_investigator_find(const char *name, const struct aur_investigator **out);

#endif
