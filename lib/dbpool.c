#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "db.h"
#include "dbpool.h"
#include "xalloc.h"
#include "banned.h"

struct aur_dbpool {
	char *path;
	int busy_timeout_ms;
	sqlite3 *single;
	pthread_mutex_t mu;
	sqlite3 *idle[AUR_DBPOOL_IDLE];
	size_t nidle;
};

void aur_dbpool_new(struct aur_dbpool **out, const char *path, int busy_timeout_ms, sqlite3 *single)
{
	struct aur_dbpool *p = aur_xcalloc(1, sizeof(*p));

	p->path = aur_xstrdup(path ? path : "");
	p->busy_timeout_ms = busy_timeout_ms;
	p->single = single;
	pthread_mutex_init(&p->mu, NULL);
	*out = p;
}

void aur_dbpool_free(struct aur_dbpool *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nidle; i++)
		aur_db_close(p->idle[i]);
	pthread_mutex_destroy(&p->mu);
	free(p->path);
	free(p);
}

int aur_dbpool_get(struct aur_dbpool *p, sqlite3 **db, char *err, size_t errlen)
{
	struct aur_db_options o;

	*db = NULL;
	if (p->single) {
		*db = p->single;
		return 0;
	}
	pthread_mutex_lock(&p->mu);
	if (p->nidle > 0)
		*db = p->idle[--p->nidle];
	pthread_mutex_unlock(&p->mu);
	if (*db)
		return 0;
	aur_db_options_init(&o);
	o.readonly = 1;
	o.busy_timeout_ms = p->busy_timeout_ms;
	return aur_db_open(db, p->path, &o, err, errlen);
}

void aur_dbpool_put(struct aur_dbpool *p, sqlite3 *db)
{
	if (!db || db == p->single)
		return;
	pthread_mutex_lock(&p->mu);
	if (p->nidle < AUR_DBPOOL_IDLE) {
		p->idle[p->nidle++] = db;
		db = NULL;
	}
	pthread_mutex_unlock(&p->mu);
	aur_db_close(db);
}
