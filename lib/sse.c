#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "buf.h"
#include "db.h"
#include "follow.h"
#include "incident_view.h"
#include "log.h"
#include "sse.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

/* Recent messages kept formatted in memory: at most this many, and this many bytes. */
#define RING_MAX 4096
#define RING_BYTES ((size_t)8 * 1024 * 1024)
/* Events read per look, by the notifier and by a stream catching up. */
#define READ_BATCH 512
/*
 * A stream's pending text is refilled when empty, up to about this much
 * (past it only the message being added): a stream's memory stays small
 * whatever its backlog.
 */
#define OUT_FILL ((size_t)64 * 1024)
/* Events a stream that is behind reads from the database at a time. */
#define CATCH_UP_BATCH 64

static const char keep_alive[] = ": keep-alive\n\n";

/* The two shapes of a message (sse.h): the default, and named events (?named=1). */
enum format { FORMAT_UPDATE = 0, FORMAT_NAMED = 1 };

/* One event, formatted both ways (enum format): streams pick theirs. */
struct msg {
	long long id;
	char *text[2];
	size_t len[2];
};

struct aur_sse_sub {
	struct aur_sse *s;
	struct aur_http_req *req;
	struct aur_sse_sub *prev;
	struct aur_sse_sub *next;
	long long cursor;   /* the last event id put into out */
	int named;          /* FORMAT_NAMED or FORMAT_UPDATE */
	struct aur_buf out; /* text not yet handed to the connection, from off */
	size_t off;
	int beat_due;       /* accept loop: the notifier asked for a keep-alive */
	int gone;           /* accept loop: the peer closed its end while the stream was parked */
	int fd;             /* the connection's socket while the notifier watches it; or -1 */
	/* one-connection mode */
	struct aur_follow follow;
	long long next_beat_ms;
};

struct aur_sse {
	struct aur_sse_options o;
	char *path;
	struct aur_dbpool *pool;
	int threaded;
	pthread_mutex_t mu; /* everything below */
	struct aur_sse_sub *subs;
	unsigned nsubs;
	struct msg *ring;   /* a circular buffer of RING_MAX */
	size_t ring_start;
	size_t ring_n;
	size_t ring_bytes;
	long long ring_base; /* every event with an id in (ring_base, last_id] is in the ring */
	long long last_id;   /* the newest event the notifier has read */
	int closing;
	/* the notifier */
	pthread_t thread;
	int running;
	int wake[2];         /* a byte on wake[1]: a first stream began, or closing */
	int ep;              /* epoll of the streams' sockets: a peer that leaves a parked stream */
	sqlite3 *ndb;
	struct aur_follow follow;
};

void aur_sse_options_init(struct aur_sse_options *o)
{
	o->heartbeat_s = 15;
	o->max_streams = 1000;
	o->poll_ms = 100;
	o->stop = NULL;
	o->log = NULL;
}

/* say(x, level, fmt, ...): a line to x's log callback (log.h) */
#define say(x, ...) aur_log_to((x)->o.log, __VA_ARGS__)

/*
 * The kind of change an events.type is, for the default stream's
 * "incident_update" messages: a page only needs to know what to refresh.
 */
static const char *event_kind(const char *type)
{
	static const struct {
		const char *type;
		const char *kind;
	} kinds[] = {
		{ "incident.created", "created" },
		{ "incident.status_changed", "status_changed" },
		{ "thought.added", "thought_added" },
		{ "suggestion.added", "suggestion_added" },
		{ "rca.completed", "rca_completed" },
		{ "alert.attached", "alert_attached" },
		{ "incident.merged_in", "merged" },
		{ "incident.acknowledged", "acknowledged" },
		{ "comment.added", "comment_added" },
		{ "postmortem.generated", "postmortem" },
		/* no incident: a delivery the pipeline could not use (dstate.h) */
		{ "delivery.error", "delivery_error" },
	};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(type, kinds[i].type))
			return kinds[i].kind;
	return "other";
}

/*
 * The default message of an event record (borrowed): no event name, so an
 * EventSource's onmessage gets it, and data {"type":"incident_update",
 * "kind","event","id","at","incident_id","data"}.
 */
static jv update_record(jv ev)
{
	jv type = jv_object_get(jv_copy(ev), jv_string("event"));
	const char *t = jv_get_kind(type) == JV_KIND_STRING ? jv_string_value(type) : "";
	jv v = jv_object_set(jv_object(), jv_string("type"), jv_string("incident_update"));
	static const char *const keep[] = { "id", "at", "incident_id", "data" };

	v = jv_object_set(v, jv_string("kind"), jv_string(event_kind(t)));
	v = jv_object_set(v, jv_string("event"), jv_copy(type));
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		v = jv_object_set(v, jv_string(keep[i]), jv_object_get(jv_copy(ev), jv_string(keep[i])));
	jv_free(type);
	return v;
}

/*
 * Append the message of one event record (consumed) to b in format fmt;
 * *id gets its id. The event name keeps only characters that cannot end
 * the field.
 */
static void format_event(struct aur_buf *b, jv ev, long long *id, int fmt)
{
	jv type = jv_object_get(jv_copy(ev), jv_string("event"));
	jv num = jv_object_get(jv_copy(ev), jv_string("id"));
	char name[128] = "event";
	jv text;

	if (jv_get_kind(type) == JV_KIND_STRING) {
		size_t i;

		snprintf(name, sizeof(name), "%s", jv_string_value(type));
		for (i = 0; name[i]; i++)
			if (name[i] == '\n' || name[i] == '\r')
				name[i] = '_';
	}
	*id = jv_get_kind(num) == JV_KIND_NUMBER ? (long long)jv_number_value(num) : *id;
	if (fmt == FORMAT_NAMED) {
		text = jv_dump_string(ev, 0);
		aur_buf_addf(b, "id: %lld\nevent: %s\ndata: %s\n\n", *id, name, jv_string_value(text));
	} else {
		text = jv_dump_string(update_record(ev), 0);
		jv_free(ev);
		aur_buf_addf(b, "id: %lld\ndata: %s\n\n", *id, jv_string_value(text));
	}
	jv_free(text);
	jv_free(type);
	jv_free(num);
}

/*
 * Read up to CATCH_UP_BATCH events after *after from db and append their
 * messages to b, stopping once b holds OUT_FILL bytes; *after moves to the
 * last one appended (the rest are read again next time). The number
 * appended, or a negative errno with err set.
 */
static int read_events(sqlite3 *db, long long *after, int fmt, struct aur_buf *b, char *err, size_t errlen)
{
	jv list = jv_invalid();
	long long last = *after;
	int n;
	int i;
	int rc;

	rc = aur_incident_events_after(db, *after, CATCH_UP_BATCH, &list, &last, err, errlen);
	if (rc < 0)
		return rc;
	n = jv_array_length(jv_copy(list));
	for (i = 0; i < n && b->len < OUT_FILL; i++)
		format_event(b, jv_array_get(jv_copy(list), i), after, fmt);
	jv_free(list);
	return i;
}

/* Copy what is pending in sub->out into buf. */
static ssize_t give(struct aur_sse_sub *sub, char *buf, size_t max)
{
	size_t n = sub->out.len - sub->off;

	if (n > max)
		n = max;
	memcpy(buf, sub->out.data + sub->off, n);
	sub->off += n;
	if (sub->off == sub->out.len) {
		aur_buf_reset(&sub->out);
		sub->off = 0;
	}
	return (ssize_t)n;
}

/* The ring's i-th message, oldest first. Under s->mu. */
static struct msg *ring_at(struct aur_sse *s, size_t i)
{
	return &s->ring[(s->ring_start + i) % RING_MAX];
}

/* Append the ring's messages after sub->cursor to sub->out, up to OUT_FILL. Under s->mu. */
static void from_ring(struct aur_sse *s, struct aur_sse_sub *sub)
{
	size_t lo = 0;
	size_t hi = s->ring_n;

	/* the first message with an id above the cursor */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ring_at(s, mid)->id <= sub->cursor)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < s->ring_n && sub->out.len < OUT_FILL; lo++) {
		const struct msg *m = ring_at(s, lo);

		if (aur_buf_add(&sub->out, m->text[sub->named], m->len[sub->named]) < 0)
			break;
		sub->cursor = m->id;
	}
}

/*
 * Append the events after sub->cursor from the database (a connection of
 * the pool) to sub->out: read_events' count, or -1 after saying why.
 */
static int read_from_db(struct aur_sse_sub *sub)
{
	struct aur_sse *s = sub->s;
	char err[256] = "";
	sqlite3 *db = NULL;
	int rc = aur_dbpool_get(s->pool, &db, err, sizeof(err));

	if (rc == 0)
		rc = read_events(db, &sub->cursor, sub->named, &sub->out, err, sizeof(err));
	aur_dbpool_put(s->pool, db);
	if (rc < 0) {
		say(s, AUR_LOG_WARN, "event stream to %s: cannot read the events: %s; closing it",
		    aur_http_remote(sub->req), err);
		return -1;
	}
	return rc;
}

/* Accept loop: libmicrohttpd asks a stream for more (http.h). */
static ssize_t more_threaded(void *arg, char *buf, size_t max)
{
	struct aur_sse_sub *sub = arg;
	struct aur_sse *s = sub->s;
	int catch_up = 0;

	if (sub->out.len > sub->off)
		return give(sub, buf, max);
	pthread_mutex_lock(&s->mu);
	if (s->closing) {
		pthread_mutex_unlock(&s->mu);
		return AUR_HTTP_STREAM_END;
	}
	if (sub->gone) {
		pthread_mutex_unlock(&s->mu);
		return AUR_HTTP_STREAM_ERROR;
	}
	if (sub->cursor < s->last_id) {
		if (sub->cursor >= s->ring_base)
			from_ring(s, sub);
		else
			catch_up = 1;
	}
	if (sub->beat_due && !catch_up && sub->out.len == 0)
		aur_buf_adds(&sub->out, keep_alive);
	sub->beat_due = 0;
	pthread_mutex_unlock(&s->mu);
	/* behind what memory holds: the database has it, in the same order */
	if (catch_up && read_from_db(sub) < 0)
		return AUR_HTTP_STREAM_ERROR;
	if (sub->out.len == 0)
		return 0;
	return give(sub, buf, max);
}

/*
 * One-connection mode: wait here for new events, a heartbeat, the peer
 * leaving or *stop; this connection is the process's only work.
 */
static ssize_t more_single(void *arg, char *buf, size_t max)
{
	struct aur_sse_sub *sub = arg;
	struct aur_sse *s = sub->s;
	struct pollfd peer;
	int rc;

	if (sub->out.len > sub->off)
		return give(sub, buf, max);
	peer.fd = aur_http_socket(sub->req);
	peer.events = POLLRDHUP;
	for (;;) {
		long long now;
		long long wait;

		if (s->o.stop && *s->o.stop)
			return AUR_HTTP_STREAM_END;
		rc = read_from_db(sub);
		if (rc < 0)
			return AUR_HTTP_STREAM_ERROR;
		aur_follow_found(&sub->follow, rc > 0);
		now = aur_time_mono_ms();
		if (sub->out.len == 0 && now >= sub->next_beat_ms)
			aur_buf_adds(&sub->out, keep_alive);
		if (sub->out.len > 0) {
			sub->next_beat_ms = now + (long long)s->o.heartbeat_s * 1000;
			break;
		}
		wait = sub->next_beat_ms - now;
		if (wait > s->o.poll_ms)
			wait = s->o.poll_ms;
		peer.revents = 0;
		rc = aur_follow_wait(&sub->follow, (int)wait, peer.fd >= 0 ? &peer : NULL, peer.fd >= 0 ? 1 : 0);
		if (rc < 0) {
			say(s, AUR_LOG_WARN, "event stream: waiting for changes: %s", strerror(-rc));
			return AUR_HTTP_STREAM_ERROR;
		}
		if (peer.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))
			return AUR_HTTP_STREAM_ERROR;
	}
	return give(sub, buf, max);
}

static void free_msg(struct msg *m)
{
	free(m->text[0]);
	free(m->text[1]);
}

/* Add msgs[0..n) (ownership of their text taken) to the ring and wake the streams behind. Under s->mu. */
static void publish(struct aur_sse *s, struct msg *msgs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct msg *m;

		size_t len = msgs[i].len[0] + msgs[i].len[1];

		while (s->ring_n > 0 && (s->ring_n == RING_MAX || s->ring_bytes + len > RING_BYTES)) {
			m = ring_at(s, 0);
			s->ring_base = m->id;
			s->ring_bytes -= m->len[0] + m->len[1];
			free_msg(m);
			s->ring_start = (s->ring_start + 1) % RING_MAX;
			s->ring_n--;
		}
		*ring_at(s, s->ring_n) = msgs[i];
		s->ring_bytes += len;
		s->ring_n++;
		s->last_id = msgs[i].id;
	}
	for (struct aur_sse_sub *sub = s->subs; sub; sub = sub->next)
		if (sub->cursor < s->last_id)
			aur_http_stream_wake(sub->req);
}

/*
 * Move last_id to the newest event and empty the ring, so that every event
 * in (ring_base, last_id] is still in the ring: none. Always safe, as the
 * ring only caches what the database holds: a stream behind ring_base
 * catches up from the database. With nobody listening (or force) there is
 * nothing to format. 1 when there were new events, 0 when not, or a
 * negative errno.
 */
static int skip_ahead(struct aur_sse *s, int force, char *err, size_t errlen)
{
	long long max = 0;
	int moved = 0;
	int rc = aur_incident_events_max_id(s->ndb, &max, err, errlen);

	if (rc < 0)
		return rc;
	pthread_mutex_lock(&s->mu);
	if ((force || s->nsubs == 0) && max > s->last_id) {
		for (size_t i = 0; i < s->ring_n; i++)
			free_msg(ring_at(s, i));
		s->ring_n = 0;
		s->ring_bytes = 0;
		s->ring_base = max;
		s->last_id = max;
		moved = 1;
		/* the streams behind catch up from the database: they must be asked */
		for (struct aur_sse_sub *sub = s->subs; sub; sub = sub->next)
			if (sub->cursor < s->last_id)
				aur_http_stream_wake(sub->req);
	}
	pthread_mutex_unlock(&s->mu);
	return moved;
}

/*
 * The notifier's look: read the events after s->last_id, format each once
 * and publish them. The number read, or a negative errno with err set.
 */
static int look(struct aur_sse *s, struct msg *msgs, char *err, size_t errlen)
{
	jv list = jv_invalid();
	long long last = s->last_id;
	struct aur_buf b;
	int n;
	int rc;

	pthread_mutex_lock(&s->mu);
	n = s->nsubs;
	pthread_mutex_unlock(&s->mu);
	if (n == 0)
		return skip_ahead(s, 0, err, errlen);
	/* only this thread moves last_id: reading it unlocked is safe here */
	rc = aur_incident_events_after(s->ndb, s->last_id, READ_BATCH, &list, &last, err, errlen);
	if (rc < 0)
		return rc;
	n = jv_array_length(jv_copy(list));
	for (int i = 0; i < n; i++) {
		long long id = last;

		for (int fmt = FORMAT_UPDATE; fmt <= FORMAT_NAMED; fmt++) {
			aur_buf_init(&b, 0);
			format_event(&b, jv_array_get(jv_copy(list), i), &id, fmt);
			msgs[i].text[fmt] = aur_buf_detach(&b, &msgs[i].len[fmt]);
		}
		msgs[i].id = id;
	}
	jv_free(list);
	if (n > 0) {
		pthread_mutex_lock(&s->mu);
		publish(s, msgs, (size_t)n);
		pthread_mutex_unlock(&s->mu);
	}
	return n;
}

/*
 * Peers that closed their end of a stream: libmicrohttpd does not watch a
 * parked connection, so the notifier does, and wakes the stream to end it.
 * Under s->mu, which aur_sse_done also takes to unlink a stream: an event
 * read here names a stream that is still listed, or one already gone from
 * the list (ignored).
 */
static void reap(struct aur_sse *s)
{
	struct epoll_event ev[64];
	int n = epoll_wait(s->ep, ev, 64, 0);

	for (int i = 0; i < n; i++)
		for (struct aur_sse_sub *sub = s->subs; sub; sub = sub->next)
			if (sub == ev[i].data.ptr) {
				sub->gone = 1;
				aur_http_stream_wake(sub->req);
				break;
			}
}

/* Empty the wake pipe: 1 when the notifier must stop, 0 when a stream began. */
static int woken(struct aur_sse *s)
{
	char junk[64];
	int closing;

	while (read(s->wake[0], junk, sizeof(junk)) > 0)
		;
	pthread_mutex_lock(&s->mu);
	closing = s->closing;
	pthread_mutex_unlock(&s->mu);
	return closing;
}

/* Streams open now. Any thread. */
static unsigned count_streams(struct aur_sse *s)
{
	unsigned n;

	pthread_mutex_lock(&s->mu);
	n = s->nsubs;
	pthread_mutex_unlock(&s->mu);
	return n;
}

/* Sleep until a stream begins (0) or the notifier must stop (-1). */
static int wait_for_listener(struct aur_sse *s)
{
	for (;;) {
		struct pollfd fd = { .fd = s->wake[0], .events = POLLIN };

		if (count_streams(s) > 0)
			return 0;
		if (poll(&fd, 1, -1) < 0 && errno != EINTR)
			return -1;
		if ((fd.revents & POLLIN) && woken(s))
			return -1;
	}
}

static void *notifier_main(void *arg)
{
	struct aur_sse *s = arg;
	struct msg *msgs = aur_xcalloc(READ_BATCH, sizeof(*msgs));
	struct pollfd fds[2];
	long long next_beat = aur_time_mono_ms() + (long long)s->o.heartbeat_s * 1000;
	int failing = 0;

	for (;;) {
		char err[256] = "";
		long long now;
		long long wait;
		int n;
		int rc;

		if (count_streams(s) == 0) {
			/*
			 * Nobody to tell: no inotify watch either, or every
			 * write of the webhook load would wake this thread
			 * and cost the writer fsnotify work.
			 */
			aur_follow_release(&s->follow);
			if (wait_for_listener(s) < 0)
				break;
			if (aur_follow_init(&s->follow, s->path, err, sizeof(err)) < 0)
				say(s, AUR_LOG_WARN, "event streams: %s", err);
			if (skip_ahead(s, 1, err, sizeof(err)) < 0)
				say(s, AUR_LOG_WARN, "event streams: cannot read the events: %s", err);
			next_beat = aur_time_mono_ms() + (long long)s->o.heartbeat_s * 1000;
			continue;
		}
		n = look(s, msgs, err, sizeof(err));
		if (n < 0 && !failing)
			say(s, AUR_LOG_WARN, "event streams: cannot read the events: %s; trying again", err);
		else if (n >= 0 && failing)
			say(s, AUR_LOG_INFO, "event streams: the events can be read again");
		failing = n < 0;
		if (n == READ_BATCH)
			continue;
		aur_follow_found(&s->follow, n > 0);
		now = aur_time_mono_ms();
		if (now >= next_beat) {
			pthread_mutex_lock(&s->mu);
			for (struct aur_sse_sub *sub = s->subs; sub; sub = sub->next) {
				sub->beat_due = 1;
				aur_http_stream_wake(sub->req);
			}
			pthread_mutex_unlock(&s->mu);
			next_beat = now + (long long)s->o.heartbeat_s * 1000;
		}
		wait = next_beat - now;
		if (wait > s->o.poll_ms)
			wait = s->o.poll_ms;
		fds[0].fd = s->wake[0];
		fds[0].events = POLLIN;
		fds[1].fd = s->ep;
		fds[1].events = POLLIN;
		rc = aur_follow_wait(&s->follow, (int)wait, fds, 2);
		if ((fds[0].revents & POLLIN) && woken(s))
			break;
		if (fds[1].revents & POLLIN) {
			pthread_mutex_lock(&s->mu);
			reap(s);
			pthread_mutex_unlock(&s->mu);
		}
		if (rc < 0) {
			/* inotify failed: go on polling */
			say(s, AUR_LOG_WARN, "event streams: waiting for changes: %s; polling", strerror(-rc));
			aur_follow_release(&s->follow);
		}
	}
	free(msgs);
	return NULL;
}

int aur_sse_new(struct aur_sse **out, const struct aur_sse_options *o, const char *path, struct aur_dbpool *pool,
		int threaded, char *err, size_t errlen)
{
	struct aur_sse *s = aur_xcalloc(1, sizeof(*s));
	struct aur_db_options dbo;
	char ferr[256] = "";
	int rc = 0;

	s->o = *o;
	if (s->o.heartbeat_s == 0)
		s->o.heartbeat_s = 1;
	if (s->o.poll_ms <= 0)
		s->o.poll_ms = 100;
	s->path = aur_xstrdup(path);
	s->pool = pool;
	s->threaded = threaded;
	s->wake[0] = s->wake[1] = -1;
	s->ep = -1;
	s->follow.ifd = -1;
	pthread_mutex_init(&s->mu, NULL);
	*out = s;
	if (!threaded)
		return 0;
	s->ring = aur_xcalloc(RING_MAX, sizeof(*s->ring));
	aur_db_options_init(&dbo);
	dbo.readonly = 1;
	rc = aur_db_open(&s->ndb, path, &dbo, err, errlen);
	if (rc == 0)
		rc = aur_incident_events_max_id(s->ndb, &s->last_id, err, errlen);
	if (rc < 0)
		return rc;
	s->ring_base = s->last_id;
	rc = aur_follow_init(&s->follow, path, ferr, sizeof(ferr));
	if (rc < 0)
		say(s, AUR_LOG_WARN, "event streams: %s", ferr);
	if (pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) < 0 || (s->ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		snprintf(err, errlen, "event streams: %s", strerror(errno));
		return -EIO;
	}
	rc = pthread_create(&s->thread, NULL, notifier_main, s);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the event notifier thread: %s", strerror(rc));
		return -EAGAIN;
	}
	s->running = 1;
	return 0;
}

/* Wake the notifier: it then reads s->closing and the streams. A full pipe is awake enough. */
static void poke(struct aur_sse *s)
{
	ssize_t w;

	do
		w = write(s->wake[1], "x", 1);
	while (w < 0 && errno == EINTR);
}

enum aur_http_next aur_sse_start(struct aur_sse *s, struct aur_http_req *req, long long after, int named,
				 struct aur_sse_sub **out)
{
	struct aur_sse_sub *sub;
	char err[256] = "";
	char ferr[256] = "";
	sqlite3 *db = NULL;
	unsigned n;
	int first;
	int rc = 0;

	*out = NULL;
	pthread_mutex_lock(&s->mu);
	n = s->nsubs;
	rc = s->closing;
	pthread_mutex_unlock(&s->mu);
	if (rc || n >= s->o.max_streams) {
		say(s, AUR_LOG_INFO, "event stream to %s: 503 %s", aur_http_remote(req),
		    rc ? "shutting down" : "too many streams");
		aur_http_add_header(req, "Retry-After", rc ? "5" : "10");
		if (rc)
			return aur_http_respond_error(req, 503, "aurora-recv is shutting down");
		return aur_http_respond_error(req, 503, "too many event streams (limit %u)", s->o.max_streams);
	}
	if (after < 0) {
		/* from now on: after the newest event committed before this request */
		rc = aur_dbpool_get(s->pool, &db, err, sizeof(err));
		if (rc == 0)
			rc = aur_incident_events_max_id(db, &after, err, sizeof(err));
		aur_dbpool_put(s->pool, db);
		if (rc < 0) {
			say(s, AUR_LOG_WARN, "event stream to %s: 503 cannot read the events: %s",
			    aur_http_remote(req), err);
			aur_http_add_header(req, "Retry-After", "1");
			return aur_http_respond_error(req, 503, "cannot read the events: %s", err);
		}
	}
	sub = aur_xcalloc(1, sizeof(*sub));
	sub->s = s;
	sub->req = req;
	sub->cursor = after;
	sub->named = named ? FORMAT_NAMED : FORMAT_UPDATE;
	sub->fd = -1;
	sub->follow.ifd = -1;
	aur_buf_init(&sub->out, 0);
	aur_buf_addf(&sub->out, ": events after %lld\n\n", after);
	if (!s->threaded) {
		if (aur_follow_init(&sub->follow, s->path, ferr, sizeof(ferr)) < 0)
			say(s, AUR_LOG_INFO, "event stream: %s", ferr);
		sub->next_beat_ms = aur_time_mono_ms() + (long long)s->o.heartbeat_s * 1000;
	} else {
		struct epoll_event ev;

		/*
		 * Once: the stream ends right after its peer leaves (or shuts
		 * down its sending side, which an event-stream client has no
		 * reason to do). libmicrohttpd closes the socket only after the
		 * request's DONE phase, where aur_sse_done takes it out again.
		 */
		ev.events = EPOLLRDHUP | EPOLLONESHOT;
		ev.data.ptr = sub;
		sub->fd = aur_http_socket(req);
		if (sub->fd >= 0 && epoll_ctl(s->ep, EPOLL_CTL_ADD, sub->fd, &ev) < 0)
			sub->fd = -1;
	}
	pthread_mutex_lock(&s->mu);
	sub->next = s->subs;
	if (s->subs)
		s->subs->prev = sub;
	s->subs = sub;
	s->nsubs++;
	first = s->nsubs == 1;
	pthread_mutex_unlock(&s->mu);
	if (first && s->threaded)
		poke(s);
	*out = sub;
	say(s, AUR_LOG_DEBUG, "event stream to %s: events after %lld", aur_http_remote(req), after);
	aur_http_add_header(req, "Cache-Control", "no-store");
	aur_http_add_header(req, "X-Accel-Buffering", "no");
	return aur_http_respond_stream(req, 200, "text/event-stream; charset=utf-8",
				       s->threaded ? more_threaded : more_single, sub, s->o.heartbeat_s * 2 + 10);
}

void aur_sse_done(struct aur_sse *s, struct aur_sse_sub *sub)
{
	if (!sub)
		return;
	if (sub->fd >= 0)
		epoll_ctl(s->ep, EPOLL_CTL_DEL, sub->fd, NULL);
	pthread_mutex_lock(&s->mu);
	if (sub->prev)
		sub->prev->next = sub->next;
	else
		s->subs = sub->next;
	if (sub->next)
		sub->next->prev = sub->prev;
	s->nsubs--;
	pthread_mutex_unlock(&s->mu);
	aur_follow_release(&sub->follow);
	aur_buf_release(&sub->out);
	free(sub);
}

void aur_sse_close(struct aur_sse *s)
{
	pthread_mutex_lock(&s->mu);
	s->closing = 1;
	if (s->threaded)
		for (struct aur_sse_sub *sub = s->subs; sub; sub = sub->next)
			aur_http_stream_wake(sub->req);
	pthread_mutex_unlock(&s->mu);
	if (s->running) {
		poke(s);
		pthread_join(s->thread, NULL);
		s->running = 0;
	}
}

void aur_sse_free(struct aur_sse *s)
{
	if (!s)
		return;
	aur_sse_close(s);
	for (size_t i = 0; s->ring && i < s->ring_n; i++)
		free_msg(ring_at(s, i));
	free(s->ring);
	aur_follow_release(&s->follow);
	aur_db_close(s->ndb);
	if (s->wake[0] >= 0)
		close(s->wake[0]);
	if (s->wake[1] >= 0)
		close(s->wake[1]);
	if (s->ep >= 0)
		close(s->ep);
	pthread_mutex_destroy(&s->mu);
	free(s->path);
	free(s);
}
