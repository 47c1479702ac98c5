/*
 * incident_watch.h - following the events log as it is committed.
 *
 * The loop behind `aurora-incident watch` (and usable by any reader of the
 * events table): look for events after a cursor, hand each to a callback,
 * then sleep in aur_follow_wait (inotify on the database's directory, a
 * fallback poll) until the database may hold new commits. Idle, the process
 * sleeps in poll(2); a commit is seen within milliseconds.
 */
#ifndef AURORA_INCIDENT_WATCH_H
#define AURORA_INCIDENT_WATCH_H

#include <stddef.h>
#include <sqlite3.h>
#include <jq.h>

#include "follow.h"

#define AUR_INCIDENT_WATCH_BATCH 512

struct aur_incident_watch {
	sqlite3 *db;              /* borrowed */
	struct aur_follow *follow; /* borrowed; initialised by the caller (aur_follow_init) */
	long long after;          /* cursor: events with id > after come next; moves as they do */
	int poll_ms;              /* fallback poll interval */
	int stop_fd;              /* readable means stop (a signalfd, a pipe); -1 for none */
	int out_fd;               /* POLLERR/POLLHUP on it means the reader left (stdout as a
				     pipe or socket); -1 for none */
	/* each event record {"v":1,"type":"event",...} (consumed); non-zero stops */
	int (*emit)(jv ev, void *arg);
	/* after each non-empty batch (flush output); non-zero stops; may be NULL */
	int (*batch_done)(void *arg);
	void *arg;
};

enum aur_incident_watch_end {
	AUR_INCIDENT_WATCH_STOPPED = 0, /* stop_fd became readable (not read here) */
	AUR_INCIDENT_WATCH_GONE = 1,    /* out_fd's reader went away */
	AUR_INCIDENT_WATCH_CALLBACK = 2 /* a callback returned non-zero: see *cb_rc */
};

/*
 * Run until stop_fd, out_fd or a callback ends it: returns an
 * enum aur_incident_watch_end (*cb_rc gets the callback's value, else 0),
 * or a negative errno with err set when the database or the wait fails
 * (-EBUSY, -EIO, poll's -errno).
 */
int aur_incident_watch_run(struct aur_incident_watch *w, int *cb_rc, char *err, size_t errlen);

#endif
