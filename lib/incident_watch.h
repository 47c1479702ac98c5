/*
 * incident_watch.h - the events log read as it is committed.
 *
 * One look of `aurora-incident watch` (and of any reader of the events
 * table): every event after a cursor, in batches, handed to a callback.
 * The waiting between looks is the one follow loop's (follow.h,
 * aur_follow_run).
 */
#ifndef AURORA_INCIDENT_WATCH_H
#define AURORA_INCIDENT_WATCH_H

#include <stddef.h>
#include <sqlite3.h>
#include <jq.h>

#define AUR_INCIDENT_WATCH_BATCH 512

struct aur_incident_watch {
	sqlite3 *db;      /* borrowed */
	long long after;  /* cursor: events with id > after come next; moves as they do */
	/* each event record {"v":1,"type":"event",...} (consumed); non-zero stops */
	int (*emit)(jv ev, void *arg);
	/* after each non-empty batch (flush output); non-zero stops; may be NULL */
	int (*batch_done)(void *arg);
	void *arg;
};

/*
 * Hand every event after w->after to the callbacks: *count gets how many,
 * *cb_rc the first non-zero callback value (then it stops), else 0.
 * Returns 0, or a negative errno with err set when the database fails.
 */
int aur_incident_watch_look(struct aur_incident_watch *w, long long *count, int *cb_rc, char *err, size_t errlen);

#endif
