/*
 * sse.h - the events log as Server-Sent Events (GET /api/incidents/stream).
 *
 * Every row of the events table becomes one message, in id order. By
 * default a message has no event name, so that a browser's EventSource
 * hands it to onmessage:
 *
 *   id: 42
 *   data: {"type":"incident_update","kind":"created","event":"incident.created","id":42,"at":"...","incident_id":7,"data":{...}}
 *
 * kind says what changed (created, status_changed, thought_added,
 * suggestion_added, rca_completed, alert_attached, merged, acknowledged,
 * comment_added, postmortem, or other for any other events.type). A stream
 * asked for with named events (?named=1) carries instead
 *
 *   id: 42
 *   event: incident.created
 *   data: {"v":1,"type":"event","id":42,"at":"...","event":"incident.created","incident_id":7,"data":{...}}
 *
 * (data is the event record of aurora-incident watch --json, on one line).
 * Each message is followed by an empty line. A stream starts with the comment
 * ": events after N" (N its starting point), and a comment ": keep-alive"
 * comes every heartbeat_s seconds while it is open. A stream started with
 * a Last-Event-ID goes on right after that id: the events committed
 * meanwhile come first, none missing and none twice; without one it starts
 * at the newest event and sends only what is committed from then on.
 *
 * Accept loop: one notifier thread watches the database (inotify on its
 * directory through follow.h, a poll every poll_ms as a fallback), reads
 * each new event once, keeps the recent ones formatted in memory, and
 * wakes the parked streams (http.h: a parked stream holds no thread). A
 * stream that is behind what memory holds (an old Last-Event-ID, a slow
 * reader) catches up from the database through its own read connection.
 *
 * One-connection mode: no thread; the stream's own callback waits for new
 * events (the same inotify wait) between sends, and ends when the client
 * goes away or *stop is set.
 */
#ifndef AURORA_SSE_H
#define AURORA_SSE_H

#include <signal.h>
#include <stddef.h>
#include <sqlite3.h>

#include "dbpool.h"
#include "http.h"

struct aur_sse_options {
	unsigned heartbeat_s;              /* keep-alive comment period; default 15 */
	unsigned max_streams;              /* streams at once, 503 past it; default 1000 */
	int poll_ms;                       /* fallback look at the database; default 100 */
	const volatile sig_atomic_t *stop; /* one-connection mode: non-zero ends the stream; may be NULL */
	/* Diagnostics (level as in log.h); NULL drops them. */
	void (*log)(int level, const char *msg);
};

/* Fill o with the defaults above. */
void aur_sse_options_init(struct aur_sse_options *o);

struct aur_sse;
struct aur_sse_sub;

/*
 * Streams of the events of the database at path (copied), read through
 * pool (borrowed; must outlive s). threaded: start the notifier thread
 * (the accept loop), with a read-only connection of its own; else streams
 * wait for events themselves (one-connection mode; pool then lends the
 * process's connection). *out is freed with aur_sse_free, also on failure.
 * 0, or -EAGAIN (no thread) / -EIO, -EBUSY (database) with err set.
 */
int aur_sse_new(struct aur_sse **out, const struct aur_sse_options *o, const char *path, struct aur_dbpool *pool,
		int threaded, char *err, size_t errlen);

/*
 * In the HEADERS phase of the stream route (the caller has checked the
 * operator token): answer req with a stream of the events after id after,
 * or, when after < 0, of the events committed from now on; named: the
 * named-event format instead of the default. 503 with
 * Retry-After past max_streams, when closing, or when the database cannot
 * be read. *sub (NULL when none was made) goes to aur_sse_done in the
 * request's DONE phase.
 */
enum aur_http_next aur_sse_start(struct aur_sse *s, struct aur_http_req *req, long long after, int named,
				 struct aur_sse_sub **sub);

/* The request of sub is over: forget and free it. NULL-safe. Any thread. */
void aur_sse_done(struct aur_sse *s, struct aur_sse_sub *sub);

/*
 * Refuse new streams, end every open one (each finishes its body at once,
 * so parked connections resume) and stop the notifier. Safe to call twice.
 */
void aur_sse_close(struct aur_sse *s);

/* Close, then free. Every stream's DONE must have come (free the HTTP server first). NULL-safe. */
void aur_sse_free(struct aur_sse *s);

#endif
