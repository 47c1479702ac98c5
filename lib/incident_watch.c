#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "follow.h"
#include "incident_view.h"
#include "incident_watch.h"
#include "banned.h"

/* Hand every event after w->after to the callbacks; *count gets how many. */
static int look(struct aur_incident_watch *w, long long *count, int *cb_rc, char *err, size_t errlen)
{
	jv list = jv_invalid();
	int n;
	int rc;

	*count = 0;
	do {
		rc = aur_incident_events_after(w->db, w->after, AUR_INCIDENT_WATCH_BATCH, &list, &w->after, err,
					       errlen);
		if (rc < 0)
			break;
		n = jv_array_length(jv_copy(list));
		for (int i = 0; i < n && !*cb_rc; i++)
			*cb_rc = w->emit(jv_array_get(jv_copy(list), i), w->arg);
		jv_free(list);
		list = jv_invalid();
		*count += n;
		if (n && !*cb_rc && w->batch_done)
			*cb_rc = w->batch_done(w->arg);
	} while (!*cb_rc && n == AUR_INCIDENT_WATCH_BATCH);
	jv_free(list);
	return rc;
}

int aur_incident_watch_run(struct aur_incident_watch *w, int *cb_rc, char *err, size_t errlen)
{
	struct pollfd fds[2];
	size_t nfds = 0;
	size_t stop = 2;
	size_t out = 2;
	long long count;
	int rc;

	*cb_rc = 0;
	if (w->stop_fd >= 0) {
		stop = nfds;
		fds[nfds].fd = w->stop_fd;
		fds[nfds++].events = POLLIN;
	}
	if (w->out_fd >= 0) {
		out = nfds;
		fds[nfds].fd = w->out_fd;
		fds[nfds++].events = 0;
	}
	for (;;) {
		rc = look(w, &count, cb_rc, err, errlen);
		if (rc < 0)
			return rc;
		if (*cb_rc)
			return AUR_INCIDENT_WATCH_CALLBACK;
		aur_follow_found(w->follow, count > 0);
		do {
			rc = aur_follow_wait(w->follow, w->poll_ms, nfds ? fds : NULL, nfds);
			if (stop < nfds && (fds[stop].revents & POLLIN))
				return AUR_INCIDENT_WATCH_STOPPED;
			if (out < nfds && (fds[out].revents & (POLLERR | POLLHUP)))
				return AUR_INCIDENT_WATCH_GONE;
		} while (rc == 0);
		if (rc < 0) {
			snprintf(err, errlen, "waiting for changes: %s", strerror(-rc));
			return rc;
		}
	}
}
