/*
 * incident_view.h - incidents as JSON: the list, the full object, the events
 * log (the read side of aurora-incident and of the incident API of
 * aurora-recv). The writes are incident_write.h's.
 *
 * The full object of one incident (aurora-incident show --json, GET
 * /api/incidents/{id}; field by field in aurora-incident(1)):
 *   {"v":1, "type":"incident", "id", "title", "status", "severity",
 *    "service", "source_type", "source_link", "started_at", "updated_at",
 *    "resolved_at", "duration_ms", "rca_state", "summary", "root_cause",
 *    "postmortem", "merged_into", "previous_incident", "merged_from",
 *    "metadata", "alert_count", "event_count",
 *    "alerts":      [{"id", "source", "dedup_key", "fingerprint", "status",
 *                     "severity", "title", "service", "host", "link",
 *                     "first_seen", "last_seen", "count", "first_inbox_id",
 *                     "last_inbox_id", "current_incident",
 *                     "correlation": {"strategy", "score",
 *                                     "matched_incident", "reason",
 *                                     "inbox_id", "joined_at"} | null,
 *                     "record": {...alert record...},
 *                     "raw": {...raw record of the first delivery...} | null}],
 *    "events":      [{"id", "at", "event", "incident_id", "data"}],
 *    "thoughts":    [{"id", "at", "kind", "text"}],
 *    "suggestions": [{"id", "at", "kind", "title", "command", "risk", "text"}],
 *    "acknowledged": {"by", "at"} | null,
 *    "comments":    [{"id", "by", "at", "text"}]}
 * Text columns that are unset are null (summary, root_cause, postmortem,
 * resolved_at); ids that are unset are null (merged_into,
 * previous_incident). A list entry is the same object without the arrays,
 * metadata, summary, root_cause and postmortem.
 *
 * The alerts of an incident are those that joined it (incident_alerts) and
 * those it holds now (alerts.incident_id): after a recurrence an alert
 * identity belongs to the newer incident but stays listed, with its join
 * record, under the earlier one. The events of an incident include those
 * of the incidents merged into it, so the timeline is whole after a merge.
 *
 * Reads happen in one snapshot: each function opens its own read
 * transaction unless the caller already has one open on db.
 *
 * Errors: 0, or -ENOENT (no such incident), -EINVAL (a bad filter or field,
 * err names it), -EBUSY (database locked past the busy timeout), -EIO (any
 * other SQLite failure); err (may be NULL when errlen is 0) says what.
 */
#ifndef AURORA_INCIDENT_VIEW_H
#define AURORA_INCIDENT_VIEW_H

#include <stddef.h>
#include <sqlite3.h>
#include <jq.h>

/* Caps on the arrays of the full object; alert_count and event_count give the totals. */
#define AUR_INCIDENT_SHOW_MAX_ALERTS 1000
#define AUR_INCIDENT_SHOW_MAX_RAW 50      /* alerts after the 50th have "raw": null */
#define AUR_INCIDENT_SHOW_MAX_EVENTS 2000 /* the first ones, in id order */
#define AUR_INCIDENT_SHOW_MAX_ROWS 1000   /* thoughts, suggestions */

struct aur_incident_filter {
	const char *status;  /* investigating|analyzed|resolved|merged, "open" for the first two;
				NULL for all (borrowed) */
	const char *service; /* exact incidents.service; NULL for all (borrowed) */
	long long since_ms;  /* started at or after (ms since the epoch); <= 0 for no bound */
	long long before_id; /* only ids below this (paging); <= 0 for no bound */
	long long limit;     /* at most this many, newest first; <= 0 for no limit */
};

/* Fill f with the defaults above: everything, newest first, no limit. */
void aur_incident_filter_init(struct aur_incident_filter *f);

/*
 * The incidents matching f, newest first (id descending), as list entries.
 * 0 with *out an array (caller frees with jv_free), or -EINVAL for an
 * unknown status, -EBUSY, -EIO; *out is then jv_invalid().
 */
int aur_incident_list(sqlite3 *db, const struct aur_incident_filter *f, jv *out, char *err, size_t errlen);

/* The full object of incident id. 0 with *out set (caller frees), -ENOENT, -EBUSY, -EIO. */
int aur_incident_show(sqlite3 *db, long long id, jv *out, char *err, size_t errlen);

/*
 * One events row as an object {"id", "at", "event", "incident_id", "data"}
 * (incident_id null when the event has none; data the stored object); with
 * record set, {"v":1, "type":"event"} come first (the record aurora-incident
 * watch --json prints). st holds the columns AUR_INCIDENT_EVENT_COLUMNS.
 */
#define AUR_INCIDENT_EVENT_COLUMNS "id, at, type, incident_id, data"
jv aur_incident_event_row(sqlite3_stmt *st, int record);

/*
 * Up to limit (1 to 10000) events with id > after, in id order, as event
 * records (with "v" and "type"). 0 with *out an array (caller frees) and
 * *last the id of the last one (unchanged when none); -EBUSY, -EIO.
 */
int aur_incident_events_after(sqlite3 *db, long long after, int limit, jv *out, long long *last, char *err,
			      size_t errlen);

/* The highest event id, 0 when there is none. 0, -EBUSY, -EIO. */
int aur_incident_events_max_id(sqlite3 *db, long long *id, char *err, size_t errlen);

#endif
