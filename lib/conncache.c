#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conncache.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

struct entry {
	struct aur_connector c;
	long long loaded_ms; /* monotonic */
	int valid;
};

struct aur_conncache {
	sqlite3 *db;
	pthread_mutex_t mu;
	struct entry e[AUR_PLATFORM_COUNT];
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
	pthread_mutex_destroy(&cc->mu);
	free(cc);
}

static int slot(const char *platform)
{
	for (int i = 0; aur_platforms[i]; i++)
		if (!strcmp(aur_platforms[i], platform))
			return i;
	return -1;
}

int aur_conncache_get(struct aur_conncache *cc, const char *platform, long long max_age_ms,
		      struct aur_connector *out, char *err, size_t errlen)
{
	int i = slot(platform);
	struct entry *e;
	long long now = aur_time_mono_ms();
	int rc;

	if (i < 0) {
		snprintf(err, errlen, "unknown platform '%s'", platform);
		return -ENOENT;
	}
	e = &cc->e[i];
	pthread_mutex_lock(&cc->mu);
	if (e->valid && max_age_ms > 0 && now - e->loaded_ms < max_age_ms) {
		*out = e->c;
		rc = 0;
		goto out;
	}
	rc = aur_connector_load(cc->db, platform, out, err, errlen);
	if (rc == 0) {
		e->c = *out;
		e->loaded_ms = now;
		e->valid = 1;
		rc = 1;
	} else if (e->valid && rc != -ENOENT) {
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
	int i = slot(platform);

	if (i < 0)
		return;
	pthread_mutex_lock(&cc->mu);
	cc->e[i].valid = 0;
	pthread_mutex_unlock(&cc->mu);
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
