/*
 * incident.h - incidents: creation, the lifecycle, the events log.
 *
 * The lifecycle (aurora(7), ARCHITECTURE.md):
 *   investigating -> analyzed            investigation completed
 *   investigating|analyzed -> resolved   operator, or every alert resolved
 *   investigating|analyzed -> merged     merged into another incident
 *   resolved -> investigating            reopened by an operator
 * Every change appends an events row; SSE clients and `aurora-incident
 * watch` follow that table.
 *
 * Every function here writes inside the caller's transaction (BEGIN
 * IMMEDIATE ... COMMIT with lib/db.h) and never commits on its own, so a
 * caller can make one decision atomic. Errors: -ENOENT no such incident,
 * -EPERM an illegal transition (nothing changed), aur_db_errno() codes for
 * SQLite failures; err says what happened.
 */
#ifndef AURORA_INCIDENT_H
#define AURORA_INCIDENT_H

#include <stddef.h>
#include <sqlite3.h>
#include <jq.h>

#include "textvec.h"

/* SQL condition for an open incident (one that can take alerts). */
#define AUR_INCIDENT_OPEN_SQL "status IN ('investigating', 'analyzed')"

/* 1 for critical|high|medium|low|info. */
int aur_incident_severity_valid(const char *s);
/* Rank for comparisons: critical 5 ... info 1, unknown 0. */
int aur_incident_severity_rank(const char *s);

struct aur_incident_new {
	const char *title;         /* required */
	const char *severity;      /* NULL: medium */
	const char *service;       /* NULL: "" */
	const char *source_type;   /* platform, or "manual" */
	const char *source_link;   /* deep link back to the source, or NULL */
	const char *metadata_json; /* a JSON object as text, or NULL for {} */
	long long started_ms;
	long long previous_incident; /* an earlier incident this one recurs, or 0 */
};

/* Insert an incident (status investigating) and its incident.created event. */
int aur_incident_insert(sqlite3 *db, const struct aur_incident_new *n, long long at_ms, long long *id,
			char *err, size_t errlen);

/*
 * Move incident id to status `to` for `reason` (free text, kept in the
 * event). Refused with -EPERM, naming both states, when the lifecycle does
 * not allow it. Leaving the open states drops the incident from the
 * open-incident indexes; reopening puts its alerts back into them.
 */
int aur_incident_set_status(sqlite3 *db, long long id, const char *to, const char *reason,
			    long long at_ms, char *err, size_t errlen);

/*
 * Merge src into dst: src becomes merged (merged_into = dst), its alerts,
 * their join records and its thoughts and suggestions move to dst, and both
 * get an event. Both must be open and different (-EPERM otherwise).
 */
int aur_incident_merge(sqlite3 *db, long long src, long long dst, long long at_ms, char *err,
		       size_t errlen);

/*
 * Append an event of type for incident_id (0 for none) with data (an object,
 * consumed; the incident's id, title, status, severity and service are added
 * under "incident"). Returns the event id (> 0) or a negative error.
 */
long long aur_incident_event(sqlite3 *db, long long incident_id, const char *type, jv data,
			     long long at_ms);

/* Add an open incident's service key and terms to the candidate indexes. */
int aur_incident_index(sqlite3 *db, long long id, const char *service_key,
		       const struct aur_textvec_terms *terms);

#endif
