#define _DEFAULT_SOURCE /* setitimer */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "db.h"

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
	pthread_cond_t stored_cv; /* an item of aur_committer_store is over */
	pthread_t thread;
	int running;
	int closing;
	/* queued items (threaded) or rejections waiting for the next store (synchronous) */
	struct aur_commit_item *head;
	struct aur_commit_item *tail;
	struct aur_delivery **batch;
	size_t batch_cap;
	/*
	 * Threaded: WAL checkpoints run in their own thread on their own
	 * connection, so the writer never stops to copy the WAL into the
	 * database in the middle of answering requests.
	 */
	sqlite3 *ckpt_db;
	pthread_t ckpt_thread;
	int ckpt_running;
	int ckpt_wanted;
	pthread_cond_t ckpt_cv;
	/* Synchronous: the side lock one-connection processes queue on. */
	int lock_fd;
};

/* WAL pages past which the writer asks for a checkpoint (SQLite's own default). */
#define CHECKPOINT_PAGES 1000

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

static void *checkpointer_main(void *arg)
{
	struct aur_committer *c = arg;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		while (!c->ckpt_wanted && !c->closing)
			if (pthread_cond_timedwait(&c->ckpt_cv, &c->mu, &until) == ETIMEDOUT)
				break;
		if (c->closing)
			break;
		c->ckpt_wanted = 0;
		pthread_mutex_unlock(&c->mu);
		/* PASSIVE: copies what it can without waiting for, or blocking, anyone */
		sqlite3_wal_checkpoint_v2(c->ckpt_db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		pthread_mutex_lock(&c->mu);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

static int wal_grew(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct aur_committer *c = arg;

	(void)db;
	(void)name;
	if (pages >= CHECKPOINT_PAGES) {
		pthread_mutex_lock(&c->mu);
		c->ckpt_wanted = 1;
		pthread_cond_signal(&c->ckpt_cv);
		pthread_mutex_unlock(&c->mu);
	}
	return SQLITE_OK;
}

/* Hand checkpoints to a thread of their own; without one SQLite's auto-checkpoint stays. */
static void start_checkpointer(struct aur_committer *c)
{
	const char *path = sqlite3_db_filename(c->db, "main");
	struct aur_db_options o;
	char err[256];

	if (!path || !*path)
		return;
	aur_db_options_init(&o);
	if (aur_db_open(&c->ckpt_db, path, &o, err, sizeof(err)) < 0)
		return;
	if (pthread_create(&c->ckpt_thread, NULL, checkpointer_main, c) != 0) {
		aur_db_close(c->ckpt_db);
		c->ckpt_db = NULL;
		return;
	}
	c->ckpt_running = 1;
	sqlite3_wal_hook(c->db, wal_grew, c);
}

static void on_lock_timeout(int sig)
{
	(void)sig;
}

/*
 * One-connection processes (inetd, tcpserver, Accept=yes) each commit their
 * own delivery. Waiting for SQLite's write lock means sleeping in its
 * back-off (1, 2, 5 ... 100 ms) while the lock is free most of the time; a
 * blocking fcntl lock on a side file queues them in the kernel instead, each
 * woken the moment the one before is done. 0 with the lock, -EBUSY when
 * timeout_ms passed first (at 0 or less it only tries); without a lock file
 * (none could be made) 0.
 */
static int queue_for_lock(struct aur_committer *c, long long timeout_ms)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	struct itimerval timer = { { 0, 0 }, { (time_t)(timeout_ms / 1000), (long)(timeout_ms % 1000) * 1000 } };
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	struct sigaction sa;
	struct sigaction old;
	int rc;

	if (c->lock_fd < 0)
		return 0;
	if (fcntl(c->lock_fd, F_SETLK, &fl) == 0)
		return 0;
	if (timeout_ms <= 0)
		return -EBUSY; /* a zero timer would wait for ever */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_lock_timeout; /* no SA_RESTART: the wait ends with EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, &old);
	setitimer(ITIMER_REAL, &timer, NULL);
	rc = fcntl(c->lock_fd, F_SETLKW, &fl);
	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &old, NULL);
	return rc == 0 ? 0 : -EBUSY;
}

static void unlock_queue(struct aur_committer *c)
{
	struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET };

	if (c->lock_fd >= 0)
		fcntl(c->lock_fd, F_SETLK, &fl);
}

static void open_lock_file(struct aur_committer *c)
{
	const char *path = sqlite3_db_filename(c->db, "main");
	char lock[4096];

	c->lock_fd = -1;
	if (!path || !*path || snprintf(lock, sizeof(lock), "%s-recvlock", path) >= (int)sizeof(lock))
		return;
	c->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
}

/*
 * When the batch must give up waiting for the lock: its oldest delivery
 * has waited commit_deadline_ms since it was queued. One budget for each
 * delivery, whatever it spent queued behind a batch that waited before it
 * (in the writer's queue, or for the side lock), so no delivery waits the
 * busy timeout twice. Rejections only ride along (in one-connection modes
 * they wait for the next delivery), so they do not count.
 */
static long long batch_deadline(const struct aur_committer *c, const struct aur_commit_item *list)
{
	long long oldest = aur_time_mono_ms();

	for (const struct aur_commit_item *it = list; it; it = it->next)
		if (it->d.kind == AUR_DELIVERY_STORE && it->queued_ms < oldest)
			oldest = it->queued_ms;
	return oldest + c->o.limits.commit_deadline_ms;
}

/* Store the list starting at it in one transaction and tell each item. */
static void store_batch(struct aur_committer *c, struct aur_commit_item *list)
{
	long long until = batch_deadline(c, list);
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
	if (!c->w) {
		rc = aur_inbox_writer_new(&c->w, c->db, err, sizeof(err));
		if (rc == 0 && aur_inbox_writer_note(c->w) && c->o.log) {
			char msg[640];

			snprintf(msg, sizeof(msg), "retries are recognised in this process only: %s",
				 aur_inbox_writer_note(c->w));
			c->o.log(AUR_LOG_WARN, msg);
		}
	}
	if (rc == 0 && !c->o.threaded) {
		rc = queue_for_lock(c, until - aur_time_mono_ms());
		if (rc < 0)
			snprintf(err, sizeof(err), "the write lock stayed taken past the %d ms busy timeout",
				 c->o.limits.commit_deadline_ms);
	}
	if (rc == 0)
		rc = aur_inbox_store(c->w, &c->o.limits, until, c->batch, n, err, sizeof(err));
	if (!c->o.threaded)
		unlock_queue(c);
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
		if (it->owned) {
			free(it);
		} else if (it->waited) {
			pthread_mutex_lock(&c->mu);
			it->stored = 1;
			pthread_cond_broadcast(&c->stored_cv);
			pthread_mutex_unlock(&c->mu);
		} else {
			it->done(it, it->arg);
		}
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
	pthread_cond_init(&c->stored_cv, NULL);
	pthread_cond_init(&c->ckpt_cv, NULL);
	c->lock_fd = -1;
	*out = c;
	if (!c->o.threaded) {
		open_lock_file(c);
		return 0;
	}
	start_checkpointer(c);
	rc = pthread_create(&c->thread, NULL, writer_main, c);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the writer thread: %s", strerror(rc));
		c->closing = 1;
		return -EAGAIN;
	}
	c->running = 1;
	return 0;
}

/*
 * Queue it for the writer, the caller's item (not owned), waited for in its
 * own thread or not. With the committer's lock held on success (0);
 * -ESHUTDOWN, unlocked, once the committer is closing.
 */
static int enqueue_locked(struct aur_committer *c, struct aur_commit_item *it, int waited)
{
	it->owned = 0;
	it->waited = waited;
	it->stored = 0;
	it->rc = 0;
	it->queued_ms = aur_time_mono_ms();
	pthread_mutex_lock(&c->mu);
	if (c->closing) {
		pthread_mutex_unlock(&c->mu);
		return -ESHUTDOWN;
	}
	append(c, it);
	return 0;
}

int aur_committer_submit(struct aur_committer *c, struct aur_commit_item *it)
{
	struct aur_commit_item *list;
	int rc = enqueue_locked(c, it, 0);

	if (rc < 0)
		return rc;
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

int aur_committer_store(struct aur_committer *c, struct aur_commit_item *it)
{
	int rc;

	if (!c->o.threaded)
		return aur_committer_submit(c, it);
	rc = enqueue_locked(c, it, 1);
	if (rc < 0)
		return rc;
	pthread_cond_signal(&c->cv);
	while (!it->stored)
		pthread_cond_wait(&c->stored_cv, &c->mu);
	pthread_mutex_unlock(&c->mu);
	return 0;
}

/* A rejection the committer owns: the item, and its reason right behind it. */
struct owned_reject {
	struct aur_commit_item it;
	char reason[512];
};

void aur_committer_count_reject(struct aur_committer *c, const char *platform, unsigned status,
				const char *reason)
{
	struct owned_reject *r = aur_xcalloc(1, sizeof(*r));
	struct aur_commit_item *it = &r->it;

	it->owned = 1;
	it->d.kind = AUR_DELIVERY_REJECT;
	it->d.platform = platform;
	it->d.status = status;
	if (reason) {
		snprintf(r->reason, sizeof(r->reason), "%s", reason);
		it->d.reason = r->reason;
	}
	it->d.received_ms = aur_time_now_ms();
	it->queued_ms = aur_time_mono_ms();
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
	if (c->ckpt_running) {
		pthread_join(c->ckpt_thread, NULL);
		c->ckpt_running = 0;
		sqlite3_wal_hook(c->db, NULL, NULL);
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
	aur_db_close(c->ckpt_db);
	if (c->lock_fd >= 0)
		close(c->lock_fd);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	pthread_cond_destroy(&c->stored_cv);
	pthread_cond_destroy(&c->ckpt_cv);
	free(c->batch);
	free(c);
}
