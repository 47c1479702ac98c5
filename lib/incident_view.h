/*
 * incident_view.h - incidents as JSON: the list, the full object, the events
 * log, and manual creation (the read side of aurora-incident and of the
 * incident API of aurora-recv).
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

/* Limits on the fields of a manual incident. */
#define AUR_INCIDENT_TITLE_MAX 1000
#define AUR_INCIDENT_SERVICE_MAX 256
#define AUR_INCIDENT_SOURCE_TYPE_MAX 64
#define AUR_INCIDENT_LINK_MAX 2048

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
 * Create a manual incident from the fields of POST /api/incidents, body (an
 * object; consumed):
 *   source_type     required, 1-64 of [a-z0-9_.-] ("manual" for a person)
 *   alert_title     required, a non-empty string of at most 1000 bytes
 *   alert_service   optional string (at most 256 bytes) or null
 *   severity        optional, critical|high|medium|low|info (default medium)
 *   alert_metadata  optional object or null (kept as the incident's metadata)
 *   source_link     optional string (at most 2048 bytes): a link back to the source
 * Other fields are ignored. The incident starts at now_ms, status
 * investigating, with its incident.created event.
 *
 * It BEGINs and COMMITs its own transaction (BEGIN IMMEDIATE, retried on
 * SQLITE_BUSY for up to 5 s): the caller must not have one open on db.
 * Returns 0 with *id set; -EINVAL with err naming the bad field ("severity:
 * must be one of ..."), nothing written; -EBUSY, -EIO (rolled back).
 */
int aur_incident_create_from_json(sqlite3 *db, jv body, long long now_ms, long long *id, char *err,
				  size_t errlen);

/*
 * Operator moves, each in a transaction of its own (BEGIN IMMEDIATE, retried
 * on SQLITE_BUSY for up to 5 s; the caller must not have one open), with
 * the events aur_incident_set_status and aur_incident_merge append:
 *   resolve  investigating|analyzed -> resolved, for reason (NULL: "resolved
 *            by an operator")
 *   reopen   resolved -> investigating ("reopened by an operator")
 *   merge    src -> merged into dst (both open, different)
 * 0; -ENOENT (no such incident), -EPERM (the lifecycle refuses: nothing
 * changed, err names both states), -EBUSY, -EIO; err says what.
 */
int aur_incident_resolve(sqlite3 *db, long long id, const char *reason, long long now_ms, char *err,
			 size_t errlen);
int aur_incident_reopen(sqlite3 *db, long long id, long long now_ms, char *err, size_t errlen);
int aur_incident_merge_into(sqlite3 *db, long long src, long long dst, long long now_ms, char *err,
			    size_t errlen);

/*
 * People on an incident, each in a transaction of its own (as above):
 *   acknowledge  by (1-128 bytes of text, no control characters) takes an
 *                open incident at now_ms: "acknowledged": {"by", "at"}
 *                in the full object, an incident.acknowledged event
 *                {"by"}. Once only: acknowledging again, or an incident
 *                that is resolved or merged, is -EPERM (err says by whom
 *                and when, or the status). Reopening keeps it.
 *   comment      text (1 to 4000 bytes of UTF-8) by by, on any incident:
 *                a row of "comments" and a comment.added event
 *                {"comment_id", "by", "text"} on the timeline; *comment_id
 *                its id (may be NULL).
 * 0; -EINVAL (a bad by or text, nothing written), -ENOENT, -EPERM, -EBUSY,
 * -EIO.
 */
#define AUR_INCIDENT_AUTHOR_MAX 128
#define AUR_INCIDENT_COMMENT_MAX 4000
int aur_incident_acknowledge(sqlite3 *db, long long id, const char *by, long long now_ms, char *err,
			     size_t errlen);
int aur_incident_comment(sqlite3 *db, long long id, const char *by, const char *text, long long now_ms,
			 long long *comment_id, char *err, size_t errlen);

/*
 * The postmortem of incident id into *md (caller frees with free()): the
 * stored one when there is one and regenerate is 0 (*generated = 0), else
 * a new one (aur_incident_text_postmortem at now_ms), stored on the
 * incident with a postmortem.generated event {"regenerated": bool,
 * "bytes": n, "generated_by":
 * "template"} (*generated = 1). Any incident may have one: the status never
 * changes (the lifecycle's "resolved -> resolved"), and the document says
 * when the incident is still open or was merged. Generating BEGINs and
 * COMMITs its own transaction: the caller must not have one open.
 * 0, -ENOENT, -EBUSY, -EIO, or -E2BIG past AUR_INCIDENT_POSTMORTEM_MAX.
 */
#define AUR_INCIDENT_POSTMORTEM_MAX ((size_t)4 * 1024 * 1024)
int aur_incident_postmortem(sqlite3 *db, long long id, int regenerate, long long now_ms, char **md,
			    int *generated, char *err, size_t errlen);

/*
 * A writer of postmortems: from the full incident object (borrowed, as
 * aur_incident_show gives it) into *md (malloc'd, NUL-terminated), and who
 * wrote it into by ("template", "llm:MODEL"). 0, or a negative errno with
 * err saying why (nothing is stored then).
 */
typedef int (*aur_incident_postmortem_fn)(void *arg, jv incident, long long now_ms, char **md, char *by,
					  size_t bylen, char *err, size_t errlen);

/*
 * aur_incident_postmortem with another writer (NULL: the template). The
 * writer runs outside any transaction (a model may take a minute); the
 * document is stored only if no other was stored meanwhile (unless
 * regenerate), and the postmortem.generated event also says
 * "generated_by": what the writer put in by.
 */
int aur_incident_postmortem_with(sqlite3 *db, long long id, int regenerate, long long now_ms,
				 aur_incident_postmortem_fn write, void *arg, char **md, int *generated, char *err,
				 size_t errlen);

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
