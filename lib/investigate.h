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
 * "builtin": deterministic reasoning over the evidence in the store,
 * offline, the same answer on a replay. Its one exception to offline: a
 * Jenkins or CloudBees build that matters to the answer (the failed build
 * of the incident, a deploy among the leading hypotheses) whose
 * notification carried no log has its console text fetched from the
 * connector's base URL with the connector's API credentials, when both
 * are configured (fetch.h bounds it); the failing part is stored on the
 * build's row, so a replay reads it there and fetches nothing. "llm" (investigate_llm.c): a tool
 * loop with a chat model (llm.h), its commands through the operator's
 * allow-list (diag.h); it falls back to "builtin" whenever it cannot end
 * with a valid answer. It needs o->llm (aur_inv_llm_load).
 *
 * With a service catalog (o->catalog, catalog.h) both read the graph the
 * operators wrote: an alert's service is its component (aliases and tool
 * identities of one component are one service), and a component's
 * dependencies are evidence. Without one, nothing changes.
 *
 * investigate_impl.h lists the files of the built-in investigator and
 * investigate_llm_impl.h those of the LLM one; investigate_catalog.c holds
 * aur_inv_component_of, which both use.
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

struct aur_inv_llm;
struct aur_catalog;

struct aur_inv_options {
	long long lookback_ms; /* builds and deploys this long before the first alert count (2h) */
	int step_delay_ms;     /* pause between steps: a knob for tests, 0 otherwise */
	long long budget_ms;   /* the caller's time limit for one investigation; 0: none */
	long long fetch_timeout_ms; /* one console fetch, connect and total (5 s); 0: never fetch */
	const struct aur_inv_llm *llm; /* the LLM investigator's configuration, or NULL */
	const struct aur_catalog *catalog; /* the service catalog, or NULL (borrowed) */
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
 * The LLM investigator's configuration file (aurora-rca(1), CONFIGURATION):
 * a JSON object with "llm" (as aur_llm_config_parse takes it) and optional
 * "allow_list" (a diag.h allow-list path), "http_allow" (URL prefixes
 * http_get may fetch under), "max_steps" (1..50, 8),
 * "time_cap" (seconds, 1..3600, 45), "max_tool_result_bytes" (256..65536,
 * 8192). Unknown keys are errors. 0 with *out set (free with
 * aur_inv_llm_free); -errno with err naming the file and the field.
 */
int aur_inv_llm_load(const char *path, struct aur_inv_llm **out, char *err, size_t errlen);
/* NULL-safe. */
void aur_inv_llm_free(struct aur_inv_llm *c);
/* The "llm" part of c (borrowed: lives as long as c), for another use of the same model. */
struct aur_llm_config;
const struct aur_llm_config *aur_inv_llm_config(const struct aur_inv_llm *c);
extern const struct aur_investigator aur_investigator_llm;

/*
 * The catalog component an alert RECORD (aurora(7)) is about, or NULL when
 * c is NULL or knows none of its names. The names are tried with the tool
 * identity that fits the alert's source, most specific first: PagerDuty's
 * service id, Dynatrace's entity ids, the service (for its source's tool:
 * pagerduty, datadog, dynatrace, grafana), the Kubernetes workload labels
 * and Datadog kube_ tags (kubernetes), then the service as any name.
 * RECORD is not consumed; the name is borrowed from c.
 */
const char *aur_inv_component_of(const struct aur_catalog *c, jv record);

/*
 * The investigator called name: 0 with *out set (static, never freed);
 * -ENOENT for any other name.
 */
int aur_investigator_find(const char *name, const struct aur_investigator **out);

#endif
