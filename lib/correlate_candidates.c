#include <stdio.h>
#include <string.h>

#include "correlate_candidates.h"
#include "banned.h"

#define TERM_CANDIDATES 16

/* The strategies, strongest evidence first: a join is explained by the first that suffices. */
enum { K_SERVICE, K_DEPENDENCY, K_MENTION, K_SEMANTIC, K_TIME };

static const char *const strategy_names[AUR_CORRELATE_STRATEGIES] = {
	"service_match", "dependency", "service_mention", "semantic_similarity", "time_cluster",
};

/* What one search reads. */
struct search {
	struct aur_correlate_store *store;
	const struct aur_correlate_config *cfg;
	const struct aur_textvec_stats *stats;
	float *scratch; /* an incident's dense vector while it is compared */
};

static struct aur_correlate_candidate *find_candidate(struct aur_correlate_candidate *cand, size_t *n, long long id)
{
	for (size_t i = 0; i < *n; i++)
		if (cand[i].id == id)
			return &cand[i];
	if (*n >= AUR_CORRELATE_CANDIDATES_MAX)
		return NULL;
	memset(&cand[*n], 0, sizeof(cand[*n]));
	cand[*n].id = id;
	return &cand[(*n)++];
}

static void offer(struct aur_correlate_candidate *cand, size_t *n, long long id, int k, double score,
		  const char *reason)
{
	struct aur_correlate_candidate *c = find_candidate(cand, n, id);

	if (!c || score <= c->s[k])
		return;
	c->s[k] = score;
	snprintf(c->why[k], sizeof(c->why[k]), "%.*s", (int)sizeof(c->why[k]) - 1, reason);
}

/*
 * A candidate's score and explanation: the strongest kind of evidence that
 * reaches the threshold (a service match stays a service match even when the
 * texts are as alike), else the best score it has.
 */
static void settle(struct aur_correlate_candidate *c, double threshold)
{
	int pick = -1;

	c->score = 0;
	c->strategy = NULL;
	c->reason = "";
	if (c->dropped)
		return;
	for (int k = 0; k < AUR_CORRELATE_STRATEGIES && pick < 0; k++)
		if (c->s[k] > 0 && c->s[k] >= threshold)
			pick = k;
	for (int k = 0; k < AUR_CORRELATE_STRATEGIES && pick < 0; k++)
		if (c->s[k] > 0 && (pick < 0 || c->s[k] > c->s[pick]))
			pick = k;
	if (pick < 0)
		return;
	c->score = c->s[pick];
	c->strategy = strategy_names[pick];
	c->reason = c->why[pick];
}

/*
 * A term most alerts share ("errors", "high") finds nothing worth finding
 * and would make every alert a candidate of every incident: such terms are
 * left to the similarity of the candidates found otherwise.
 */
static int common_term(const struct search *c, const char *term)
{
	uint32_t df = aur_textvec_term_df(c->stats, term);

	return c->stats->docs >= 50 && df * 10 > c->stats->docs;
}

/*
 * A term that reads as the name of a service, host or DNS name ("orders-db",
 * "web-3", "gateway.acquirer.example"), not the alert's own service or host,
 * and not an ordinary hyphenated word ("30-day", "non-ready"). Words and
 * metric or alarm names with underscores ("10min_cpu_usage") are not names.
 */
static int names_a_service(const char *term, const struct aur_correlate_alert *a)
{
	if (!aur_textvec_names_something(term))
		return 0;
	return strcmp(term, a->service_key) != 0 && strcmp(term, a->host_name) != 0;
}

/*
 * Dependencies learned from earlier alerts' labels: this service depends
 * on one whose incident is open, or an open incident's service depends on
 * this one ("inventory depends on users-db (learned from label db)"), when
 * no alert of this outage says so.
 */
static int gather_learned(struct search *c, const struct aur_correlate_alert *a, int k,
			  struct aur_correlate_candidate *cand, size_t *ncand)
{
	struct aur_correlate_learned dep[AUR_CORRELATE_LEARNED_MAX];
	long long ids[TERM_CANDIDATES];
	char reason[400];
	size_t m;
	size_t n;
	int rc = aur_correlate_store_learned(c->store, a->service_key, a->t_ms, k, dep, &m);

	if (rc < 0)
		return rc;
	for (size_t j = 0; j < m; j++) {
		rc = aur_correlate_store_by_service(c->store, dep[j].other, ids, TERM_CANDIDATES, &n);
		if (rc < 0)
			return rc;
		if (k == 0)
			snprintf(reason, sizeof(reason), "%.127s depends on %.127s (learned from %.47s)", a->service_key,
				 dep[j].other, dep[j].from);
		else
			snprintf(reason, sizeof(reason), "%.127s depends on %.127s (learned from %.47s)", dep[j].other,
				 a->service_key, dep[j].from);
		for (size_t i = 0; i < n; i++)
			offer(cand, ncand, ids[i], K_DEPENDENCY, c->cfg->w_dependency, reason);
	}
	return 0;
}

/*
 * Dependencies, in either order of arrival: the alert depends on the
 * incident's service, the incident's alerts depend on the alert's service,
 * or both depend on the same one.
 */
static int gather_dependencies(struct search *c, const struct aur_correlate_alert *a,
			       struct aur_correlate_candidate *cand, size_t *ncand)
{
	long long ids[TERM_CANDIDATES];
	char term[AUR_SUBJECT_NAME_MAX + 8];
	char reason[400];
	size_t n;
	int rc;

	for (size_t d = 0; d < a->subj.ndeps; d++) {
		const struct aur_subject_ref *dep = &a->subj.dep[d];

		rc = aur_correlate_store_by_service(c->store, dep->key, ids, TERM_CANDIDATES, &n);
		if (rc < 0)
			return rc;
		snprintf(reason, sizeof(reason), "depends on %s (%s '%s')", dep->key, dep->from, dep->name);
		for (size_t i = 0; i < n; i++)
			offer(cand, ncand, ids[i], K_DEPENDENCY, c->cfg->w_dependency, reason);
		aur_correlate_store_dep_term(dep->key, term, sizeof(term));
		rc = aur_correlate_store_by_term(c->store, term, ids, TERM_CANDIDATES, &n);
		if (rc < 0)
			return rc;
		snprintf(reason, sizeof(reason), "both depend on %s (%s '%s')", dep->key, dep->from, dep->name);
		for (size_t i = 0; i < n; i++)
			offer(cand, ncand, ids[i], K_DEPENDENCY, c->cfg->w_dependency, reason);
	}
	if (!a->service_key[0])
		return 0;
	aur_correlate_store_dep_term(a->service_key, term, sizeof(term));
	rc = aur_correlate_store_by_term(c->store, term, ids, TERM_CANDIDATES, &n);
	if (rc < 0)
		return rc;
	snprintf(reason, sizeof(reason), "the incident's alerts depend on %s", a->service_key);
	for (size_t i = 0; i < n; i++)
		offer(cand, ncand, ids[i], K_DEPENDENCY, c->cfg->w_dependency, reason);
	/* what this outage's alerts say first; what earlier ones taught after */
	rc = gather_learned(c, a, 0, cand, ncand);
	if (rc == 0)
		rc = gather_learned(c, a, 1, cand, ncand);
	return rc;
}

/* Incidents whose service is term, or the service key a name in the text denotes ("returns-api"). */
static int gather_mention(struct search *c, const struct aur_correlate_alert *a, const char *term,
			  struct aur_correlate_candidate *cand, size_t *ncand)
{
	long long ids[TERM_CANDIDATES];
	char key[128];
	char reason[400];
	size_t n;
	int rc;

	if (strcmp(term, a->service_key) != 0) {
		rc = aur_correlate_store_by_service(c->store, term, ids, TERM_CANDIDATES, &n);
		if (rc < 0)
			return rc;
		snprintf(reason, sizeof(reason), "the alert names the incident's service '%s'", term);
		for (size_t i = 0; i < n; i++)
			offer(cand, ncand, ids[i], K_MENTION, c->cfg->w_mention, reason);
	}
	if (!strchr(term, '-') || !aur_textvec_names_something(term))
		return 0;
	aur_textvec_pod_key(term, key, sizeof(key));
	if (!key[0] || !strcmp(key, term) || !strcmp(key, a->service_key))
		return 0;
	rc = aur_correlate_store_by_service(c->store, key, ids, TERM_CANDIDATES, &n);
	if (rc < 0)
		return rc;
	snprintf(reason, sizeof(reason), "the alert names the incident's service %s (as '%s')", key, term);
	for (size_t i = 0; i < n; i++)
		offer(cand, ncand, ids[i], K_MENTION, c->cfg->w_mention, reason);
	return 0;
}

/*
 * The terms an incident must have for this term to be shared: itself; a
 * host's covering wildcard ("~shop.example.com") only the wildcard
 * ("*.shop.example.com"), which also finds the hosts it covers.
 */
static size_t shared_terms(const char *term, char out[2][AUR_TEXTVEC_TERM_MAX + 2])
{
	if (term[0] == '~') {
		snprintf(out[0], sizeof(out[0]), "*.%s", term + 1);
		return 1;
	}
	snprintf(out[0], sizeof(out[0]), "%s", term);
	if (term[0] != '*' || term[1] != '.')
		return 1;
	snprintf(out[1], sizeof(out[1]), "~%s", term + 2);
	return 2;
}

/* Incidents sharing a term are the ones worth a similarity; sharing a name, a mention. */
static int gather_term(struct search *c, const struct aur_correlate_alert *a, const char *term,
		       struct aur_correlate_candidate *cand, size_t *ncand)
{
	char q[2][AUR_TEXTVEC_TERM_MAX + 2];
	long long ids[TERM_CANDIDATES];
	char reason[240];
	size_t nq = shared_terms(term, q);
	size_t n;
	int rc;

	for (size_t k = 0; k < nq; k++) {
		rc = aur_correlate_store_by_term(c->store, q[k], ids, TERM_CANDIDATES, &n);
		if (rc < 0)
			return rc;
		/*
		 * Both name the same third party ("payments errors talking to
		 * orders-db", "inventory errors talking to orders-db"): a
		 * dependency they share, before it has alerted itself.
		 */
		if (names_a_service(term, a)) {
			if (term[0] == '~')
				snprintf(reason, sizeof(reason), "the incident's '%s' covers a host the alert names",
					 q[k]);
			else if (strcmp(q[k], term) != 0)
				snprintf(reason, sizeof(reason), "'%s' covers a host the incident names", term);
			else
				snprintf(reason, sizeof(reason), "both name '%s'", term);
			for (size_t i = 0; i < n; i++)
				offer(cand, ncand, ids[i], K_MENTION, c->cfg->w_mention, reason);
		}
		for (size_t i = 0; i < n; i++)
			find_candidate(cand, ncand, ids[i]);
	}
	return 0;
}

static int gather(struct search *c, const struct aur_correlate_alert *a, const struct aur_semvec *vec,
		  struct aur_correlate_candidate *cand, size_t *ncand)
{
	const struct aur_correlate_config *cfg = c->cfg;
	long long since = a->t_ms - cfg->window_ms;
	struct aur_textvec_terms terms;
	long long ids[TERM_CANDIDATES];
	char reason[400];
	size_t n;
	int rc;

	*ncand = 0;
	if (a->service_key[0]) {
		rc = aur_correlate_store_by_service(c->store, a->service_key, ids, TERM_CANDIDATES, &n);
		if (rc < 0)
			return rc;
		snprintf(reason, sizeof(reason), "same service key %s (from '%s', %s)", a->service_key,
			 a->subj.s.name, a->subj.s.from);
		for (size_t i = 0; i < n; i++)
			offer(cand, ncand, ids[i], K_SERVICE, cfg->w_service, reason);
		/* the incident's alerts name this alert's service */
		rc = aur_correlate_store_by_term(c->store, a->service_key, ids, TERM_CANDIDATES, &n);
		if (rc < 0)
			return rc;
		snprintf(reason, sizeof(reason), "the incident's alerts name '%s'", a->service_key);
		for (size_t i = 0; i < n; i++)
			offer(cand, ncand, ids[i], K_MENTION, cfg->w_mention, reason);
	}
	rc = gather_dependencies(c, a, cand, ncand);
	if (rc < 0)
		return rc;
	aur_textvec_terms(a->text, &terms, 0);
	for (size_t t = 0; t < terms.n; t++) {
		/* this alert names the incident's service */
		if (terms.term[t][0] != '*' && terms.term[t][0] != '~') {
			rc = gather_mention(c, a, terms.term[t], cand, ncand);
			if (rc < 0)
				return rc;
		}
		if (common_term(c, terms.term[t]))
			continue;
		rc = gather_term(c, a, terms.term[t], cand, ncand);
		if (rc < 0)
			return rc;
	}
	rc = aur_correlate_store_recent(c->store, a->t_ms - cfg->time_window_ms, ids, TERM_CANDIDATES, &n);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		offer(cand, ncand, ids[i], K_TIME, cfg->w_time, "active within the time window");
	/* keep open candidates active within the window; add their similarity */
	for (size_t i = 0; i < *ncand; i++) {
		struct aur_correlate_incident inc;
		struct aur_semvec iv;
		double sim;

		aur_semvec_init(&iv, c->scratch);
		if (aur_correlate_store_incident(c->store, cand[i].id, &inc, &iv) < 0 || inc.last_activity_ms < since ||
		    (strcmp(inc.status, "investigating") != 0 && strcmp(inc.status, "analyzed") != 0)) {
			cand[i].dropped = 1;
			continue;
		}
		/* an old incident kept alive by a chatty alert takes no new outage on time or text */
		cand[i].stale = cfg->stale_ms > 0 && inc.started_ms < a->t_ms - cfg->stale_ms;
		if (cand[i].stale) {
			cand[i].s[K_TIME] = 0;
			continue;
		}
		/*
		 * Two alerts that name different services and say alike things
		 * ("search requests slow", "cart requests slow") are two problems
		 * with the same symptom, not one: their similarity is not allowed
		 * to join them, unless configured otherwise.
		 */
		if (!cfg->semantic_across_services && !cand[i].s[K_SERVICE] && !cand[i].s[K_MENTION] &&
		    !cand[i].s[K_DEPENDENCY] && a->service_key[0] &&
		    aur_correlate_store_has_service_key(c->store, cand[i].id))
			continue;
		sim = aur_semvec_cosine(vec, &iv);
		if (1.0 - sim < cfg->max_distance) {
			snprintf(reason, sizeof(reason), "similar text (cosine %.2f)", sim);
			offer(cand, ncand, cand[i].id, K_SEMANTIC, sim, reason);
		}
	}
	for (size_t i = 0; i < *ncand; i++)
		settle(&cand[i], cfg->threshold);
	return 0;
}

int aur_correlate_candidates_gather(struct aur_correlate_candidates *cs, struct aur_correlate_store *store,
				    const struct aur_correlate_config *cfg, const struct aur_textvec_stats *stats,
				    const struct aur_correlate_alert *a, const struct aur_semvec *vec)
{
	struct search c = { store, cfg, stats, cs->scratch };

	return gather(&c, a, vec, cs->c, &cs->n);
}

const struct aur_correlate_candidate *aur_correlate_candidates_best(const struct aur_correlate_candidates *cs)
{
	const struct aur_correlate_candidate *best = NULL;

	for (size_t i = 0; i < cs->n; i++)
		if (cs->c[i].strategy && (!best || cs->c[i].score > best->score ||
					  (cs->c[i].score == best->score && cs->c[i].id > best->id)))
			best = &cs->c[i];
	return best;
}
