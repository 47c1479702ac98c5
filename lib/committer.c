#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "committer.h"
#include "log.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

struct aur_committer {
	sqlite3 *db;
	struct aur_inbox_writer *w;
	struct aur_committer_options o;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	int running;
	int closing;
	/* queued items (threaded) or rejections waiting for the next store (synchronous) */
	struct aur_commit_item *head;
	struct aur_commit_item *tail;
	struct aur_delivery **batch;
	size_t batch_cap;
};

void aur_committer_options_init(struct aur_committer_options *o)
{
	o->threaded = 0;
	o->max_batch = 256;
	aur_inbox_limits_init(&o->limits);
	o->log = NULL;
}

static void append(struct aur_committer *c, struct aur_commit_item *it)
{
	it->next = NULL;
	if (c->tail)
		c->tail->next = it;
	else
		c->head = it;
	c->tail = it;
}

/* Store the list starting at it in one transaction and tell each item. */
static void store_batch(struct aur_committer *c, struct aur_commit_item *list)
{
	char err[512] = "";
	size_t n = 0;
	int rc = 0;

	for (struct aur_commit_item *it = list; it; it = it->next)
		n++;
	if (n > c->batch_cap) {
		c->batch_cap = n > 64 ? n : 64;
		c->batch = aur_xrealloc(c->batch, c->batch_cap * sizeof(struct aur_delivery *));
	}
	n = 0;
	for (struct aur_commit_item *it = list; it; it = it->next)
		c->batch[n++] = &it->d;
	if (!c->w)
		rc = aur_inbox_writer_new(&c->w, c->db, err, sizeof(err));
	if (rc == 0)
		rc = aur_inbox_store(c->w, &c->o.limits, c->batch, n, err, sizeof(err));
	if (rc < 0 && c->o.log) {
		char msg[640];

		snprintf(msg, sizeof(msg), "cannot store a batch of %zu: %s", n, err[0] ? err : strerror(-rc));
		c->o.log(AUR_LOG_ERROR, msg);
	}
	while (list) {
		struct aur_commit_item *it = list;

		/* done may free the item (its request ends), so step first */
		list = it->next;
		it->rc = rc;
		if (it->owned)
			free(it);
		else
			it->done(it, it->arg);
	}
}

static void *writer_main(void *arg)
{
	struct aur_committer *c = arg;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		struct aur_commit_item *list;
		struct aur_commit_item *last;
		size_t n = 1;

		while (!c->head && !c->closing)
			pthread_cond_wait(&c->cv, &c->mu);
		if (!c->head)
			break;
		list = c->head;
		last = list;
		while (last->next && n < c->o.max_batch) {
			last = last->next;
			n++;
		}
		c->head = last->next;
		if (!c->head)
			c->tail = NULL;
		last->next = NULL;
		pthread_mutex_unlock(&c->mu);
		store_batch(c, list);
		pthread_mutex_lock(&c->mu);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

int aur_committer_new(struct aur_committer **out, sqlite3 *db, const struct aur_committer_options *o,
		      char *err, size_t errlen)
{
	struct aur_committer *c = aur_xcalloc(1, sizeof(*c));
	int rc;

	c->db = db;
	c->o = *o;
	if (c->o.max_batch == 0)
		c->o.max_batch = 1;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	*out = c;
	if (!c->o.threaded)
		return 0;
	rc = pthread_create(&c->thread, NULL, writer_main, c);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the writer thread: %s", strerror(rc));
		c->closing = 1;
		return -EAGAIN;
	}
	c->running = 1;
	return 0;
}

int aur_committer_submit(struct aur_committer *c, struct aur_commit_item *it)
{
	struct aur_commit_item *list;

	it->owned = 0;
	it->rc = 0;
	pthread_mutex_lock(&c->mu);
	if (c->closing) {
		pthread_mutex_unlock(&c->mu);
		return -ESHUTDOWN;
	}
	append(c, it);
	if (c->o.threaded) {
		pthread_cond_signal(&c->cv);
		pthread_mutex_unlock(&c->mu);
		return 1;
	}
	/* the rejections waiting so far ride along */
	list = c->head;
	c->head = c->tail = NULL;
	pthread_mutex_unlock(&c->mu);
	store_batch(c, list);
	return 0;
}

void aur_committer_count_reject(struct aur_committer *c, const char *platform)
{
	struct aur_commit_item *it = aur_xcalloc(1, sizeof(*it));

	it->owned = 1;
	it->d.kind = AUR_DELIVERY_REJECT;
	it->d.platform = platform;
	it->d.received_ms = aur_time_now_ms();
	pthread_mutex_lock(&c->mu);
	if (c->closing) {
		pthread_mutex_unlock(&c->mu);
		free(it);
		return;
	}
	append(c, it);
	if (c->o.threaded)
		pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

void aur_committer_close(struct aur_committer *c)
{
	struct aur_commit_item *list;

	pthread_mutex_lock(&c->mu);
	c->closing = 1;
	pthread_cond_broadcast(&c->cv);
	list = c->o.threaded ? NULL : c->head;
	if (list)
		c->head = c->tail = NULL;
	pthread_mutex_unlock(&c->mu);
	if (c->running) {
		pthread_join(c->thread, NULL);
		c->running = 0;
	}
	if (list)
		store_batch(c, list);
}

void aur_committer_free(struct aur_committer *c)
{
	if (!c)
		return;
	aur_committer_close(c);
	aur_inbox_writer_free(c->w);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	free(c->batch);
	free(c);
}
