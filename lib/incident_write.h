/*
 * incident_write.h - what operators change on an incident: create one by
 * hand, resolve, reopen, merge, acknowledge, comment, write its postmortem.
 *
 * Each write runs in a transaction of its own (BEGIN IMMEDIATE, retried on
 * SQLITE_BUSY for up to 5 s): the caller must not have one open on db. The
 * lifecycle underneath (which moves are allowed, the events they append,
 * the open-incident indexes) is incident.h's; the reads, incident_view.h's.
 * Turning a request's JSON into these arguments is the API's
 * (api_incidents.h), never this module's.
 */
#ifndef AURORA_INCIDENT_WRITE_H
#define AURORA_INCIDENT_WRITE_H

#include <stddef.h>
#include <sqlite3.h>
#include <jq.h>

#include "incident.h"

/*
 * Insert incident n (incident.h; validated by the caller) at now_ms, status
 * investigating, with its incident.created event. 0 with *id set; -EBUSY,
 * -EIO (rolled back, err says what).
 */
int aur_incident_write_create(sqlite3 *db, const struct aur_incident_new *n, long long now_ms, long long *id,
			      char *err, size_t errlen);

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
int aur_incident_write_resolve(sqlite3 *db, long long id, const char *reason, long long now_ms, char *err,
			       size_t errlen);
int aur_incident_write_reopen(sqlite3 *db, long long id, long long now_ms, char *err, size_t errlen);
int aur_incident_write_merge(sqlite3 *db, long long src, long long dst, long long now_ms, char *err,
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
int aur_incident_write_acknowledge(sqlite3 *db, long long id, const char *by, long long now_ms, char *err,
				   size_t errlen);
int aur_incident_write_comment(sqlite3 *db, long long id, const char *by, const char *text, long long now_ms,
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
int aur_incident_write_postmortem(sqlite3 *db, long long id, int regenerate, long long now_ms, char **md,
				  int *generated, char *err, size_t errlen);

/*
 * A writer of postmortems: from the full incident object (borrowed, as
 * aur_incident_show gives it) into *md (malloc'd, NUL-terminated), and who
 * wrote it into by ("template", "llm:MODEL"). 0, or a negative errno with
 * err saying why (nothing is stored then).
 */
typedef int (*aur_incident_write_postmortem_fn)(void *arg, jv incident, long long now_ms, char **md, char *by,
						size_t bylen, char *err, size_t errlen);

/*
 * aur_incident_write_postmortem with another writer (NULL: the template). The
 * writer runs outside any transaction (a model may take a minute); the
 * document is stored only if no other was stored meanwhile (unless
 * regenerate), and the postmortem.generated event also says
 * "generated_by": what the writer put in by.
 */
int aur_incident_write_postmortem_with(sqlite3 *db, long long id, int regenerate, long long now_ms,
				       aur_incident_write_postmortem_fn write, void *arg, char **md, int *generated,
				       char *err, size_t errlen);

#endif
