/*
 * http_watch.c - the accept loop's watch over connections still reading a
 * request: a deadline for the whole request head, another for the body, and
 * a cap on how many connections may be reading at once (http_impl.h).
 *
 * libmicrohttpd's own timeout is an idle timeout: any byte renews it, so a
 * client sending one header byte every 2 s held its connection past 40 s,
 * and 1,300 of them (430 bytes/s in all) kept every legitimate delivery
 * out for 35 s (issue 8). Here every connection waiting for a head (a new
 * one, or a kept-alive one between requests) or a body is on one of three
 * lists (new, kept alive, body) in the order it began to wait; with one
 * timeout per list, that is also the order of the deadlines, so a thread of
 * its own only looks at the three oldest. A connection past its deadline is shut down (shutdown(2) on
 * its socket: libmicrohttpd then reads the end of the stream and closes it
 * in its own thread, calling the request's completion as for any client
 * that leaves). When a new connection would pass the cap, the connection
 * that has waited longest is shut down instead of refusing the new one: a
 * slow client is always the oldest, while a legitimate head takes a
 * millisecond, so slow clients cannot keep new ones out. New connections
 * that never finished a request go first: a sender's kept-alive connection
 * has been answered before, and with 2,000 slow clients coming back 1 s
 * after each close, waiting 16 ms for its next delivery made it the oldest
 * now and then (scripts/bench-slow: 87 of 6,000 deliveries cut before this
 * order, under ten after, on connections that had sat idle for seconds).
 *
 * libmicrohttpd 0.9.75 also loses the end of a stream that arrives with
 * the last bytes before it: with edge-triggered epoll, a read shorter than
 * its buffer is taken to mean nothing more is waiting, so a client that
 * sends half a head and closes before a worker reads it stays open, and
 * counted against its address, until its head deadline (50 such clients:
 * 4 left open, and --max-per-address 4 refused that address for the whole
 * --head-timeout). So every SWEEP_MS the watch polls the sockets on its
 * lists; one whose peer has closed, with nothing left unread, on two sweeps
 * in a row is shut down, which libmicrohttpd does see. Two sweeps: a worker
 * that has just read a whole head but not yet taken it off the list is
 * given time to.
 *
 * The socket of an entry is shut down or polled only under the watch's lock while
 * the entry is on a list, and libmicrohttpd reports a connection closed
 * (aur_http_watch_close takes the entry off) before it closes the socket:
 * a socket number is never shut down after it was reused.
 */
#define _GNU_SOURCE /* POLLRDHUP */

#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>

#include "http.h"
#include "http_impl.h"
#include "log.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

/* How often, at most, the watch says how many slow connections it closed. */
#define REPORT_EVERY_MS 10000
/* How often the sockets on the lists are polled for a peer that has gone. */
#define SWEEP_MS 400

/* The lists: connections that never finished a request, kept-alive ones, bodies. */
enum { LIST_NEW = 0, LIST_AGAIN = 1, LIST_BODY = 2, NLISTS = 3 };

struct watch_conn {
	int fd;
	int list;   /* LIST_*, or -1 when on none */
	int cut;    /* shut down by the watch */
	int gone;   /* its peer had closed at the last sweep, nothing unread */
	long long since_ms;
	struct watch_conn *prev;
	struct watch_conn *next;
};

struct watch_list {
	struct watch_conn *head; /* the oldest */
	struct watch_conn *tail;
	long long timeout_ms;
};

struct http_watch {
	struct aur_http *h;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	int running;
	int stopping;
	struct watch_list lists[NLISTS];
	unsigned waiting;  /* on any list */
	unsigned max_waiting;
	/* closed since the last report */
	unsigned cut_head;
	unsigned cut_body;
	unsigned evicted;
	unsigned left;
	long long reported_ms;
	long long swept_ms;
	long long wake_ms; /* when the sleeping watch wakes by itself; LLONG_MAX before it first sleeps */
	/* the sweep's poll set, grown as needed */
	struct pollfd *pfd;
	struct watch_conn **pconn;
	size_t pcap;
};

static void unlink_conn(struct http_watch *w, struct watch_conn *c)
{
	struct watch_list *l;

	if (c->list < 0)
		return;
	l = &w->lists[c->list];
	if (c->prev)
		c->prev->next = c->next;
	else
		l->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		l->tail = c->prev;
	c->prev = c->next = NULL;
	c->list = -1;
	w->waiting--;
}

/* Shut c's socket down and take it off its list. Under the lock. */
static void cut(struct http_watch *w, struct watch_conn *c)
{
	unlink_conn(w, c);
	c->cut = 1;
	shutdown(c->fd, SHUT_RDWR);
}

/* The first to close past the cap: the oldest new one, else the oldest of the others; NULL when none waits. */
static struct watch_conn *first_to_go(struct http_watch *w)
{
	struct watch_conn *a = w->lists[LIST_AGAIN].head;
	struct watch_conn *b = w->lists[LIST_BODY].head;

	if (w->lists[LIST_NEW].head)
		return w->lists[LIST_NEW].head;
	if (!a || (b && b->since_ms < a->since_ms))
		return b;
	return a;
}

static void report(struct http_watch *w, long long now)
{
	const struct aur_http_options *o = &w->h->o;

	if (!(w->cut_head | w->cut_body | w->evicted | w->left) || now - w->reported_ms < REPORT_EVERY_MS)
		return;
	if (w->cut_head | w->cut_body | w->evicted)
		aur_http_say(w->h, AUR_LOG_INFO,
			     "slow clients: closed %u connections whose request head took over %u s, %u whose body"
			     " took over %u s, %u waiting longest when more than %u were reading",
			     w->cut_head, o->head_timeout_s, w->cut_body, o->body_timeout_s, w->evicted,
			     o->max_reading);
	if (w->left)
		aur_http_say(w->h, AUR_LOG_DEBUG, "closed %u connections whose client had gone mid-request",
			     w->left);
	w->cut_head = w->cut_body = w->evicted = w->left = 0;
	w->reported_ms = now;
}

/* Shut down the connections whose peer has closed with nothing left to read, on two sweeps in a row. Under the lock. */
static void sweep(struct http_watch *w)
{
	size_t n = 0;

	if (w->waiting > w->pcap) {
		free(w->pfd);
		free(w->pconn);
		w->pcap = w->waiting + 64;
		w->pfd = aur_xcalloc(w->pcap, sizeof(*w->pfd));
		w->pconn = aur_xcalloc(w->pcap, sizeof(struct watch_conn *));
	}
	for (int i = 0; i < NLISTS; i++)
		for (struct watch_conn *c = w->lists[i].head; c && n < w->pcap; c = c->next) {
			w->pfd[n] = (struct pollfd){ .fd = c->fd, .events = POLLRDHUP };
			w->pconn[n++] = c;
		}
	if (n == 0 || poll(w->pfd, (nfds_t)n, 0) < 0)
		return;
	for (size_t k = 0; k < n; k++) {
		struct watch_conn *c = w->pconn[k];
		int unread = 0;
		int gone = (w->pfd[k].revents & (POLLRDHUP | POLLHUP | POLLERR)) &&
			   ioctl(c->fd, FIONREAD, &unread) == 0 && unread == 0;

		if (gone && c->gone) {
			cut(w, c);
			w->left++;
		} else {
			c->gone = gone;
		}
	}
}

static void *watch_main(void *arg)
{
	struct http_watch *w = arg;

	pthread_mutex_lock(&w->mu);
	while (!w->stopping) {
		long long now = aur_time_mono_ms();
		long long next = now + REPORT_EVERY_MS;
		struct timespec until;

		for (int i = 0; i < NLISTS; i++) {
			struct watch_list *l = &w->lists[i];

			while (l->head && l->head->since_ms + l->timeout_ms <= now) {
				cut(w, l->head);
				/* a kept-alive connection with no next request is only idle: not reported */
				if (i == LIST_BODY)
					w->cut_body++;
				else if (i == LIST_NEW)
					w->cut_head++;
			}
			if (l->head && l->head->since_ms + l->timeout_ms < next)
				next = l->head->since_ms + l->timeout_ms;
		}
		if (w->waiting > 0) {
			if (now - w->swept_ms >= SWEEP_MS) {
				sweep(w);
				w->swept_ms = now;
			}
			if (w->swept_ms + SWEEP_MS < next)
				next = w->swept_ms + SWEEP_MS;
		}
		report(w, now);
		w->wake_ms = next;
		until.tv_sec = (time_t)(next / 1000);
		until.tv_nsec = (long)(next % 1000) * 1000000L;
		pthread_cond_timedwait(&w->cv, &w->mu, &until);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

int aur_http_watch_new(struct http_watch **out, struct aur_http *h)
{
	struct http_watch *w = aur_xcalloc(1, sizeof(*w));
	pthread_condattr_t ca;
	int rc;

	w->h = h;
	w->lists[LIST_NEW].timeout_ms = (long long)h->o.head_timeout_s * 1000;
	w->lists[LIST_AGAIN].timeout_ms = (long long)h->o.head_timeout_s * 1000;
	w->lists[LIST_BODY].timeout_ms = (long long)h->o.body_timeout_s * 1000;
	w->max_waiting = h->o.max_reading;
	w->reported_ms = aur_time_mono_ms() - REPORT_EVERY_MS;
	w->wake_ms = LLONG_MAX;
	pthread_mutex_init(&w->mu, NULL);
	/* deadlines are on the monotonic clock (aur_time_mono_ms), and so is the wait */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	rc = pthread_create(&w->thread, NULL, watch_main, w);
	if (rc != 0) {
		aur_http_watch_free(w);
		return -rc;
	}
	w->running = 1;
	*out = w;
	return 0;
}

void aur_http_watch_free(struct http_watch *w)
{
	if (!w)
		return;
	if (w->running) {
		pthread_mutex_lock(&w->mu);
		w->stopping = 1;
		pthread_cond_signal(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->thread, NULL);
	}
	/* the server has stopped: every connection was closed, so no entry is left */
	free(w->pfd);
	free(w->pconn);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

/* Put c at the end of list i, its deadline starting now. Under the lock. */
static void enter(struct http_watch *w, struct watch_conn *c, int i)
{
	struct watch_list *l = &w->lists[i];

	unlink_conn(w, c);
	c->list = i;
	c->gone = 0;
	c->since_ms = aur_time_mono_ms();
	c->prev = l->tail;
	c->next = NULL;
	if (l->tail)
		l->tail->next = c;
	else
		l->head = c;
	l->tail = c;
	w->waiting++;
	/*
	 * The first to wait starts the sweeps; a list that was empty may now
	 * hold the next deadline, if it comes before the watch wakes anyway.
	 * A body list emptied and refilled at every request, and a wake-up of
	 * the watch each time, for nothing: it wakes every SWEEP_MS while
	 * connections wait, and deadlines are seconds away.
	 */
	if (w->waiting == 1 || (l->head == c && c->since_ms + l->timeout_ms < w->wake_ms))
		pthread_cond_signal(&w->cv);
}

struct watch_conn *aur_http_watch_open(struct http_watch *w, int fd)
{
	struct watch_conn *c = aur_xcalloc(1, sizeof(*c));

	c->fd = fd;
	c->list = -1;
	pthread_mutex_lock(&w->mu);
	while (w->waiting >= w->max_waiting && first_to_go(w)) {
		cut(w, first_to_go(w));
		w->evicted++;
	}
	enter(w, c, LIST_NEW);
	pthread_mutex_unlock(&w->mu);
	return c;
}

void aur_http_watch_close(struct http_watch *w, struct watch_conn *c)
{
	if (!w || !c)
		return;
	pthread_mutex_lock(&w->mu);
	unlink_conn(w, c);
	pthread_mutex_unlock(&w->mu);
	free(c);
}

void aur_http_watch_wait(struct http_watch *w, struct watch_conn *c, enum watch_phase phase)
{
	if (!w || !c)
		return;
	pthread_mutex_lock(&w->mu);
	if (!c->cut)
		enter(w, c, phase == WATCH_BODY ? LIST_BODY : LIST_AGAIN);
	pthread_mutex_unlock(&w->mu);
}

unsigned aur_http_watch_reading(struct http_watch *w)
{
	unsigned n = 0;

	if (!w)
		return 0;
	pthread_mutex_lock(&w->mu);
	for (struct watch_conn *c = w->lists[LIST_NEW].head; c; c = c->next)
		n++;
	for (struct watch_conn *c = w->lists[LIST_BODY].head; c; c = c->next)
		n++;
	pthread_mutex_unlock(&w->mu);
	return n;
}

int aur_http_watch_done(struct http_watch *w, struct watch_conn *c)
{
	int rc;

	if (!w || !c)
		return 0;
	pthread_mutex_lock(&w->mu);
	unlink_conn(w, c);
	rc = c->cut ? -1 : 0;
	pthread_mutex_unlock(&w->mu);
	return rc;
}
