/*
 * rca.h - the store side of an investigation: its state, its steps, its end.
 *
 * An incident's investigation moves rca_state idle -> running -> complete |
 * error (aurora(7)). Each step an investigator makes is written the moment
 * it is made, in a transaction of its own, with an events row beside it
 * (thought.added, suggestion.added, rca.started, rca.completed, rca.failed,
 * rca.cancelled), so `aurora-incident watch` and the SSE stream see the
 * investigation grow while it runs.
 *
 * Writing a step is idempotent: a thought or suggestion identical to one the
 * incident already holds is not written again. The built-in investigator is
 * deterministic, so an investigation restarted after a crash rewrites
 * nothing it had already said.
 *
 * Every function here opens and commits its own transaction (lib/db.h,
 * against busy_ms). Errors: -ENOENT no such incident, -ECANCELED the
 * incident was merged (with the surviving incident's id), aur_db_errno()
 * codes; err says what happened.
 */
#ifndef AURORA_RCA_H
#define AURORA_RCA_H

#include <stddef.h>
#include <sqlite3.h>
#include <jq.h>

/*
 * Claim incident id for an investigation: idle -> running, with an
 * rca.started event. 1 when claimed; 0 when it is not to be investigated
 * now (merged, or already running, complete or failed), with the reason in
 * why; negative on failure. A resolved incident is investigated all the
 * same: its cause is still worth knowing.
 */
int aur_rca_claim(sqlite3 *db, int busy_ms, long long id, char *why, size_t whylen, char *err, size_t errlen);

/*
 * Append a thought of kind ("thought" for the investigator's steps, "note"
 * for what aurora-rca says itself) to incident id. 1 written, with *rec a
 * thought record (caller frees); 0 when an identical thought was already
 * there (*rec invalid). -ECANCELED when id was merged: *merged_into is the
 * incident that survives it and nothing was written.
 */
int aur_rca_thought(sqlite3 *db, int busy_ms, long long id, const char *kind, const char *text,
		    long long *merged_into, jv *rec, char *err, size_t errlen);

struct aur_rca_suggestion {
	const char *kind;    /* diagnostic | fix */
	const char *title;   /* one line a person reads first */
	const char *command; /* NULL or "" when there is none */
	const char *risk;    /* low | medium | high */
	const char *text;    /* why, in a sentence or two; may be NULL */
};

/* The same for a suggestion; *rec a suggestion record. */
int aur_rca_suggestion(sqlite3 *db, int busy_ms, long long id, const struct aur_rca_suggestion *s,
		       long long *merged_into, jv *rec, char *err, size_t errlen);

/*
 * End the investigation of id: summary and root_cause (an object,
 * borrowed) stored, rca_state complete, status investigating -> analyzed
 * (left alone in any other status), an rca.completed event. *rec an
 * analysis record. -ECANCELED when id was merged meanwhile.
 */
int aur_rca_complete(sqlite3 *db, int busy_ms, long long id, const char *summary, jv root_cause,
		     long long *merged_into, jv *rec, char *err, size_t errlen);

/*
 * End it as failed: a thought saying why (kind "error"), rca_state error,
 * an rca.failed event. Also for an investigation cancelled by a merge
 * (event rca.cancelled then). *rec an analysis record, or invalid.
 */
int aur_rca_fail(sqlite3 *db, int busy_ms, long long id, const char *event, const char *why, jv *rec,
		 char *err, size_t errlen);

/*
 * The incidents left rca_state running (by a crash), oldest first, at most
 * max, into ids; *n their count. And how often each was restarted already
 * (rca.restarted events): restart_count.
 */
int aur_rca_running(sqlite3 *db, long long *ids, size_t max, size_t *n, char *err, size_t errlen);
int aur_rca_restart_count(sqlite3 *db, long long id, long long *count, char *err, size_t errlen);

/* Append an event of type (rca.restarted ...) with data {"reason": why}. */
int aur_rca_event(sqlite3 *db, int busy_ms, long long id, const char *type, const char *why, char *err,
		  size_t errlen);

/*
 * What aurora-rca needs to know of an incident before investigating it:
 * its rca_state, status, source_type, and whether the source's connector
 * has its RCA switch on (1 when no connector row says otherwise), and
 * whether an alert joined it after its investigation completed.
 */
struct aur_rca_incident {
	char status[16];
	char rca_state[16];
	char source_type[32];
	int rca_on;
	int joined_after; /* an alert joined after the last conclusion */
	int noted_after;  /* and a thought was added after it: the late alerts were noted */
	long long started_ms;
};
int aur_rca_incident_get(sqlite3 *db, long long id, struct aur_rca_incident *out, char *err, size_t errlen);

/*
 * Remember the build a record (borrowed: a decision or an alert record)
 * tells of, when it is a Jenkins or CloudBees build with context.job and
 * context.build_number, in the builds table, one row per build: its
 * result and time are those of its completion once it has one. 1 stored,
 * 0 not a build, negative on failure.
 */
int aur_rca_build_seen(sqlite3 *db, int busy_ms, jv record, char *err, size_t errlen);

#endif
