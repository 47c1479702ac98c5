#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conncache.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

/* Platforms the cache keeps at most: the nine built in and what operators add. */
#define MAX_ENTRIES 1024

struct entry {
	char name[AUR_PLATFORM_NAME_MAX + 1]; /* written once: aur_conncache_lookup hands it out */
	struct aur_connector c;
	long long loaded_ms; /* monotonic; 0: read it at the next get */
	int valid;           /* c holds the row; 0 with loaded_ms set: the row was gone then */
};

struct aur_conncache {
	sqlite3 *db;
	pthread_mutex_t mu;
	struct entry **e;     /* never moved or freed before the cache: names stay valid */
	size_t n;
	size_t cap;
	long long names_ms;   /* monotonic time the names were last read; 0 never */
};

void aur_conncache_new(struct aur_conncache **out, sqlite3 *db)
{
	struct aur_conncache *cc = aur_xcalloc(1, sizeof(*cc));

	cc->db = db;
	pthread_mutex_init(&cc->mu, NULL);
	*out = cc;
}

void aur_conncache_free(struct aur_conncache *cc)
{
	if (!cc)
		return;
	for (size_t i = 0; i < cc->n; i++) {
		aur_auth_wipe(cc->e[i], sizeof(*cc->e[i]));
		free(cc->e[i]);
	}
	free(cc->e);
	pthread_mutex_destroy(&cc->mu);
	free(cc);
}

/* The entry of name, or NULL. Under mu. */
static struct entry *find(struct aur_conncache *cc, const char *name)
{
	for (size_t i = 0; i < cc->n; i++)
		if (!strcmp(cc->e[i]->name, name))
			return cc->e[i];
	return NULL;
}

/* A new, not yet valid entry for name; NULL when the cache is full. Under mu. */
static struct entry *add(struct aur_conncache *cc, const char *name)
{
	struct entry *e;

	if (cc->n == MAX_ENTRIES)
		return NULL;
	if (cc->n == cc->cap) {
		cc->cap = cc->cap ? 2 * cc->cap : 16;
		cc->e = aur_xrealloc(cc->e, cc->cap * sizeof(struct entry *));
	}
	e = aur_xcalloc(1, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	cc->e[cc->n++] = e;
	return e;
}

/*
 * Read the registry's names and make an entry for each new one, at most
 * once per max_age_ms (0: now): a platform added while aurora-recv runs
 * is seen within that age, and requests for names that are none cost at
 * most one query per age. Under mu.
 */
static void read_names(struct aur_conncache *cc, long long max_age_ms, long long now)
{
	struct aur_connector *v = NULL;
	char err[256];
	size_t n = 0;

	if (cc->names_ms && max_age_ms > 0 && now - cc->names_ms < max_age_ms)
		return;
	/* a failed read waits its turn too: unknown names must not make every request a query */
	cc->names_ms = now;
	if (aur_connector_load_all(cc->db, &v, &n, err, sizeof(err)) < 0)
		return;
	/*
	 * Only the names: each row is read on its platform's own first get,
	 * so a row read here for another platform's sake cannot stand in for
	 * the fresh read a just-set test token needs (CACHE_RECHECK_MS).
	 */
	for (size_t i = 0; i < n; i++) {
		if (!find(cc, v[i].platform) && aur_platform_name_ok(v[i].platform))
			add(cc, v[i].platform);
		aur_auth_wipe(&v[i], sizeof(v[i]));
	}
	free(v);
}

/* The entry of a platform the registry knows, reading the names when needed; NULL if none. Under mu. */
static struct entry *known(struct aur_conncache *cc, const char *name, long long max_age_ms, long long now)
{
	struct entry *e;

	if (!name || !aur_platform_name_ok(name))
		return NULL;
	e = find(cc, name);
	/* a built-in platform's row is always there: no reading of the names (one query less per inetd process) */
	if (!e && aur_platform_builtin(name))
		e = add(cc, name);
	if (!e) {
		read_names(cc, max_age_ms, now);
		e = find(cc, name);
	}
	return e;
}

const char *aur_conncache_lookup(struct aur_conncache *cc, const char *name, long long max_age_ms)
{
	struct entry *e;
	const char *out = NULL;
	long long now = aur_time_mono_ms();

	pthread_mutex_lock(&cc->mu);
	e = known(cc, name, max_age_ms, now);
	/* a platform removed since: its row's absence was seen by the last read */
	if (e && (e->valid || now - e->loaded_ms >= max_age_ms))
		out = e->name;
	pthread_mutex_unlock(&cc->mu);
	return out;
}

int aur_conncache_get(struct aur_conncache *cc, const char *platform, long long max_age_ms,
		      struct aur_connector *out, char *err, size_t errlen)
{
	struct entry *e;
	long long now = aur_time_mono_ms();
	int rc;

	pthread_mutex_lock(&cc->mu);
	e = known(cc, platform, max_age_ms, now);
	if (!e) {
		snprintf(err, errlen, "unknown platform '%.64s'", platform ? platform : "");
		rc = -ENOENT;
		goto out;
	}
	if (max_age_ms > 0 && now - e->loaded_ms < max_age_ms) {
		if (e->valid) {
			*out = e->c;
			rc = 0;
		} else {
			snprintf(err, errlen, "unknown platform '%.64s'", platform);
			rc = -ENOENT;
		}
		goto out;
	}
	rc = aur_connector_load(cc->db, platform, out, err, errlen);
	if (rc == 0) {
		e->c = *out;
		e->loaded_ms = now;
		e->valid = 1;
		rc = 1;
	} else if (rc == -ENOENT) {
		/* removed (aurora-connector remove): known again once the row is back */
		aur_auth_wipe(&e->c, sizeof(e->c));
		e->loaded_ms = now;
		e->valid = 0;
	} else if (e->valid) {
		/* a stale row beats failing the request */
		*out = e->c;
		rc = 0;
	}
out:
	pthread_mutex_unlock(&cc->mu);
	return rc;
}

void aur_conncache_invalidate(struct aur_conncache *cc, const char *platform)
{
	struct entry *e;

	pthread_mutex_lock(&cc->mu);
	e = find(cc, platform);
	if (e)
		e->loaded_ms = 0;
	pthread_mutex_unlock(&cc->mu);
}

int aur_conncache_read(struct aur_conncache *cc, int (*fn)(sqlite3 *db, void *arg), void *arg)
{
	int rc;

	pthread_mutex_lock(&cc->mu);
	rc = fn(cc->db, arg);
	pthread_mutex_unlock(&cc->mu);
	return rc;
}

char *aur_conncache_public_url(struct aur_conncache *cc)
{
	char *url;

	pthread_mutex_lock(&cc->mu);
	url = aur_connector_public_url(cc->db);
	pthread_mutex_unlock(&cc->mu);
	return url;
}

int aur_conncache_last_rejection(struct aur_conncache *cc, const char *platform, struct aur_rejection *out,
				 char *err, size_t errlen)
{
	int rc;

	pthread_mutex_lock(&cc->mu);
	rc = aur_connector_last_rejection(cc->db, platform, out, err, errlen);
	pthread_mutex_unlock(&cc->mu);
	return rc;
}
