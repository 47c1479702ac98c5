#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "incident_view.h"
#include "incident_watch.h"
#include "banned.h"

int aur_incident_watch_look(struct aur_incident_watch *w, long long *count, int *cb_rc, char *err, size_t errlen)
{
	jv list = jv_invalid();
	int n;
	int rc;

	*count = 0;
	*cb_rc = 0;
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
