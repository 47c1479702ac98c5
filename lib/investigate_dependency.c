/*
 * investigate_dependency.c - the built-in investigator's dependency rule
 * (investigate_impl.h): a service or database the alerts of others name as
 * what they fail on (labels upstream/db weigh more than words such as
 * "talking to X"), backed by its own alarms. With a catalog, names resolve
 * to components, and a component's catalog dependencies that alarm
 * themselves - in the incident or in another one near it - count like a
 * label; one that raised no alert is kept for a suggestion, never blamed.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "catalog.h"
#include "db.h"
#include "investigate_impl.h"
#include "jvio.h"
#include "xalloc.h"
#include "banned.h"

#define MAX_CATALOG_DEPS 16       /* catalog dependencies of one component looked at */
#define NEAR_BEFORE_MS (30 * 60000LL) /* other incidents' alerts this long before the first count */

/* The name after one of the phrases that say "X is what I depend on". */
static int named_dependency(const char *text, char *out, size_t n, size_t *from)
{
	static const char *const phrases[] = { "talking to ", "calls to ", "requests to ", "timeouts to ",
					       "connections to ", "connect to ", "connecting to ", "reach ",
					       "upstream ", "waiting for ", "waiting on ", "queries against ",
					       "against ", "depends on ", NULL };

	for (int k = (int)*from; phrases[k]; k++) {
		const char *p = strstr(text, phrases[k]);
		size_t len = 0;

		*from = (size_t)k + 1;
		if (!p)
			continue;
		p += strlen(phrases[k]);
		while (inv_is_word_char(p[len]) && len + 1 < n)
			len++;
		while (len && p[len - 1] == '.')
			len--;
		if (len < 3)
			continue;
		snprintf(out, n, "%.*s", (int)len, p);
		return 1;
	}
	return 0;
}

static int db_like(const char *s)
{
	static const char *const marks[] = { "db", "redis", "postgres", "mysql", "mongo", "kafka", "rabbit", "-es",
					     "elastic", "cache", "queue", "mq", "memcache", NULL };

	for (int k = 0; marks[k]; k++)
		if (strstr(s, marks[k]))
			return 1;
	return 0;
}

/*
 * The name a dependency named by a label or a text goes by: its catalog
 * component when the catalog knows it (1), else its stem (0).
 */
static int dependency_name(const struct inv *v, const char *raw, char *out, size_t n)
{
	const char *comp = NULL;

	inv_stem_of(raw, out, n);
	if (v->o->catalog) {
		comp = aur_catalog_resolve(v->o->catalog, AUR_CATALOG_ANY, raw);
		if (!comp && out[0])
			comp = aur_catalog_resolve(v->o->catalog, AUR_CATALOG_ANY, out);
		if (comp)
			inv_copy_str(out, n, comp);
	}
	return comp != NULL;
}

/* 1 when a's text names dep as what it fails on (the words rule_dependency counts). */
static int text_names(const struct inv *v, const struct alert *a, const char *dep)
{
	char name[NAME_MAX_], stem[NAME_MAX_];
	size_t from = 0;

	while (named_dependency(a->text, name, sizeof(name), &from)) {
		dependency_name(v, name, stem, sizeof(stem));
		if (!strcmp(stem, dep))
			return 1;
	}
	return 0;
}

/*
 * Other incidents' alerts firing near this one (from NEAR_BEFORE_MS before
 * its start to its last alert, begun within the lookback), with their
 * components: a dependency's own alarm may have opened an incident of its
 * own. Loaded once; a failure to read leaves the list empty.
 */
static void load_near(struct inv *v, long long id)
{
	sqlite3_stmt *st = NULL;
	long long last = v->started_ms;

	v->near_loaded = 1;
	for (size_t i = 0; i < v->nalerts; i++)
		if (v->alerts[i].t > last)
			last = v->alerts[i].t;
	if (aur_db_prepare(v->db, &st,
			   "SELECT id, title, record FROM alerts WHERE severity != 'info'"
			   " AND first_seen_ms BETWEEN ?1 AND ?2 AND (status = 'firing' OR last_seen_ms >= ?3)"
			   " AND id NOT IN (SELECT alert_id FROM incident_alerts WHERE incident_id = ?4)"
			   " ORDER BY first_seen_ms, id LIMIT ?5",
			   NULL, 0) < 0)
		return;
	sqlite3_bind_int64(st, 1, v->started_ms - v->o->lookback_ms);
	sqlite3_bind_int64(st, 2, last);
	sqlite3_bind_int64(st, 3, v->started_ms - NEAR_BEFORE_MS);
	sqlite3_bind_int64(st, 4, id);
	sqlite3_bind_int(st, 5, MAX_ALERTS);
	v->near = aur_xcalloc(MAX_ALERTS, sizeof(*v->near));
	while (v->nnear < MAX_ALERTS && sqlite3_step(st) == SQLITE_ROW) {
		const char *rec = (const char *)sqlite3_column_text(st, 2);
		jv r = rec ? jv_parse(rec) : jv_invalid();
		struct near *n = &v->near[v->nnear];

		n->comp = aur_inv_component_of(v->o->catalog, r);
		if (n->comp) {
			n->id = sqlite3_column_int64(st, 0);
			inv_copy_str(n->title, sizeof(n->title), (const char *)sqlite3_column_text(st, 1));
			inv_copy_str(n->link, sizeof(n->link), aur_jvio_str(r, "link"));
			v->nnear++;
		}
		jv_free(r);
	}
	sqlite3_finalize(st);
}

const struct near *inv_near_alert(const struct inv *v, long long id)
{
	for (size_t i = 0; i < v->nnear; i++)
		if (v->near[i].id == id)
			return &v->near[i];
	return NULL;
}

/*
 * The own alert of component dep: one of the incident's (not info), else
 * one of another incident near it (*outside set). 0 when it raised none.
 */
static long long own_alert(struct inv *v, long long id, const char *dep, int *outside)
{
	*outside = 0;
	for (size_t i = 0; i < v->nalerts; i++)
		if (!v->alerts[i].minor && v->alerts[i].comp && !strcmp(v->alerts[i].comp, dep))
			return v->alerts[i].id;
	if (!v->near_loaded)
		load_near(v, id);
	for (size_t i = 0; i < v->nnear; i++) {
		if (!strcmp(v->near[i].comp, dep)) {
			*outside = 1;
			return v->near[i].id;
		}
	}
	return 0;
}

/* Say in v->catalog_said what the catalog added: "a depends on b (alarming), c (no alert)". */
static void catalog_note(struct inv *v, const char *comp, const char *dep, long long own)
{
	size_t len = strlen(v->catalog_said);
	const char *head = strstr(v->catalog_said, comp);
	int same = len && head && head == v->catalog_said && !strncmp(head + strlen(comp), " depends on ", 12);

	/* one component's dependencies on one line; another component after a semicolon */
	if (len + 8 >= sizeof(v->catalog_said))
		return;
	if (same && !strstr(v->catalog_said, ";"))
		snprintf(v->catalog_said + len, sizeof(v->catalog_said) - len, ", %s (%s)", dep,
			 own ? "alarming" : "no alert");
	else
		snprintf(v->catalog_said + len, sizeof(v->catalog_said) - len, "%s%s depends on %s (%s)",
			 len ? "; " : "", comp, dep, own ? "alarming" : "no alert");
}

/*
 * The catalog's dependencies of each alerting component: one that alarms
 * itself, in the incident or in another near it, is a dependency
 * hypothesis weighted like a label naming it; one that raised no alert is
 * not blamed (the catalog says what could fail, not what did) and is kept
 * for a diagnostic suggestion.
 */
static void rule_catalog_dependency(struct inv *v, long long id)
{
	const struct aur_catalog *cat = v->o->catalog;

	for (size_t i = 0; cat && i < v->nalerts; i++) {
		struct alert *a = &v->alerts[i];
		const char *deps[MAX_CATALOG_DEPS];
		char labelled[NAME_MAX_];
		size_t n;
		size_t seen;

		if (a->minor || !a->comp)
			continue;
		/* an earlier alert of the same component said it all */
		for (seen = 0; seen < i; seen++)
			if (!v->alerts[seen].minor && v->alerts[seen].comp && !strcmp(v->alerts[seen].comp, a->comp))
				break;
		labelled[0] = '\0';
		if (a->dep[0])
			dependency_name(v, a->dep, labelled, sizeof(labelled));
		n = aur_catalog_dependencies(cat, a->comp, deps, MAX_CATALOG_DEPS);
		for (size_t k = 0; k < n && k < MAX_CATALOG_DEPS; k++) {
			const char *dep = deps[k];
			struct hyp *h;
			long long own;
			int outside;

			if (!strcmp(dep, a->comp))
				continue;
			own = own_alert(v, id, dep, &outside);
			if (seen == i)
				catalog_note(v, a->comp, dep, own);
			if (!strcmp(dep, labelled) || text_names(v, a, dep))
				continue; /* its label or its words counted it already */
			if (!own) {
				size_t u;

				for (u = 0; u < v->nunblamed; u++)
					if (!strcmp(v->unblamed[u].dep, dep))
						break;
				if (u == v->nunblamed && u < MAX_UNBLAMED) {
					v->unblamed[u].dep = dep;
					v->unblamed[u].of = a->comp;
					v->nunblamed++;
				}
				continue;
			}
			h = inv_add_hyp(v, "dependency", dep);
			if (!h)
				continue;
			if (!h->support)
				h->alert_id = a->id;
			h->support += 2;
			h->by_catalog++;
			if (!h->catalog[0]) {
				snprintf(h->catalog, sizeof(h->catalog), "%s depends on %s (catalog)", a->comp, dep);
				h->own_id = own;
				h->outside = outside;
			}
		}
	}
}

/* Why a dependency is suspected: who names it, what the catalog says, whether it alarms itself. */
static void dependency_why(struct hyp *h, int own)
{
	int named = h->support - 2 * h->by_catalog;
	size_t len = 0;

	h->why[0] = '\0';
	if (named > 0 || !h->by_catalog)
		len = (size_t)snprintf(h->why, sizeof(h->why), "%d alert%s of other services name %s as what they fail on",
				       named, named == 1 ? "" : "s", h->entity);
	if (h->by_catalog && len < sizeof(h->why))
		len += (size_t)snprintf(h->why + len, sizeof(h->why) - len, "%s%d alert%s of services that depend on it: %s",
					len ? "; " : "", h->by_catalog, h->by_catalog == 1 ? "" : "s", h->catalog);
	if (own && len < sizeof(h->why))
		snprintf(h->why + len, sizeof(h->why) - len, ", and it alarms itself%s",
			 h->outside ? " (in another incident)" : "");
}

void inv_rule_dependency(struct inv *v, long long id)
{
	/* a label that names the dependency outright weighs more than words */
	for (size_t i = 0; i < v->nalerts; i++) {
		struct alert *a = &v->alerts[i];
		char stem[NAME_MAX_];
		struct hyp *h;

		if (!a->dep[0])
			continue;
		dependency_name(v, a->dep, stem, sizeof(stem));
		if (!stem[0] || !strcmp(stem, a->stem))
			continue;
		h = inv_add_hyp(v, "dependency", stem);
		if (!h)
			continue;
		if (!h->support)
			h->alert_id = a->id;
		h->support += 2;
	}
	for (size_t i = 0; i < v->nalerts; i++) {
		struct alert *a = &v->alerts[i];
		char name[NAME_MAX_];
		char stem[NAME_MAX_];
		char seen[4][NAME_MAX_];
		size_t nseen = 0;
		size_t from = 0;
		const char *label_names[] = { " upstream ", NULL };

		(void)label_names;
		while (named_dependency(a->text, name, sizeof(name), &from)) {
			struct hyp *h;
			size_t k;
			int known;

			/* a name the catalog knows is no stray word */
			known = dependency_name(v, name, stem, sizeof(stem));
			if (!stem[0] || !strcmp(stem, a->stem) ||
			    (!known && !db_like(stem) && !strchr(stem, '-') && !inv_has_word(a->text, stem)))
				continue;
			for (k = 0; k < nseen; k++)
				if (!strcmp(seen[k], stem))
					break;
			if (k < nseen || nseen == 4)
				continue;
			inv_copy_str(seen[nseen++], sizeof(seen[0]), stem);
			h = inv_add_hyp(v, "dependency", stem);
			if (!h)
				continue;
			if (!h->support++)
				h->alert_id = a->id;
		}
	}
	rule_catalog_dependency(v, id);
	/* the dependency's own alarms back the others' word */
	for (size_t j = 0; j < v->nhyp; j++) {
		struct hyp *h = &v->hyp[j];
		int own = 0;

		if (strcmp(h->kind, "dependency") != 0)
			continue;
		for (size_t i = 0; i < v->nalerts; i++)
			if (!v->alerts[i].minor && (!strcmp(v->alerts[i].stem, h->entity) ||
						   !strcmp(v->alerts[i].host_stem, h->entity)))
				own++;
		if (v->o->catalog && !own && !h->outside) {
			/* a component's own alarm may be in an incident of its own */
			int outside;
			long long o = own_alert(v, id, h->entity, &outside);

			if (o && outside) {
				h->outside = 1;
				h->own_id = o;
			}
		}
		own += h->outside;
		h->score = (h->support >= 2 || own ? 2.5 : 1.0) + h->support + (own ? 1.0 : 0);
		snprintf(h->summary, sizeof(h->summary), "%s, a dependency, fails and the services calling it fail with it",
			 h->entity);
		dependency_why(h, own);
	}
}
