/*
 * retention.h - what the database forgets, and when: pruning old
 * deliveries and long-resolved incidents while everything runs.
 *
 * The inbox keeps every delivery byte for byte and the incident tables
 * keep every incident; without this the file only grows. Pruning runs
 * beside the receiver and the pipeline (from cron), so it deletes in small
 * batches, each its own short write transaction, and rests between them:
 * the receiver's inbox commits wait at most one batch for the write lock
 * (scripts/bench-prune measures the receiver's p99 during a prune of a
 * million rows against one without).
 *
 * What is never deleted:
 *   - a delivery a pipeline stage has not read yet: nothing past the
 *     lowest mark in stage_marks (resume.h);
 *   - a delivery an open incident's alert came from (alerts.first_inbox_id,
 *     alerts.last_inbox_id, incident_alerts.inbox_id);
 *   - the newest delivery: inbox ids are SQLite rowids, and an emptied
 *     table would hand out ids the stage marks are already past, which the
 *     pipeline would then never read;
 *   - an incident that is open, that an open incident names as its
 *     previous one or absorbed by merging, whose heartbeat is still silent
 *     (heartbeats.silent_incident), or a merged incident whose target is
 *     still open.
 *
 * The retention ages live in the settings table (retention.inbox,
 * retention.incidents) and apply when no age is given.
 */
#ifndef AURORA_RETENTION_H
#define AURORA_RETENTION_H

#include <stddef.h>
#include <jq.h>
#include <sqlite3.h>

#include "buf.h"

/* Settings keys and defaults (30 days of deliveries, 90 of resolved incidents). */
#define AUR_RETENTION_INBOX_KEY "retention.inbox"
#define AUR_RETENTION_INCIDENTS_KEY "retention.incidents"
#define AUR_RETENTION_INBOX_DEFAULT "30d"
#define AUR_RETENTION_INCIDENTS_DEFAULT "90d"
/* The value that turns a retention off: nothing is pruned without an explicit age. */
#define AUR_RETENTION_NEVER "never"

#define AUR_RETENTION_BATCH_DEFAULT 100
#define AUR_RETENTION_PAUSE_DEFAULT_MS 10

struct aur_retention_options {
	long long cutoff_ms; /* delete what is older than this (epoch ms) */
	int batch;           /* rows examined per transaction (default 100) */
	int pause_ms;        /* rest between transactions (default 10) */
	int busy_ms;         /* how long one batch may wait for the write lock (default 30000) */
	int dry_run;         /* count only, in read transactions */
};

/* Fill o with the defaults; cutoff_ms 0. */
void aur_retention_options_init(struct aur_retention_options *o);

struct aur_retention_inbox_counts {
	long long inbox;           /* deliveries deleted (or, dry, that would be) */
	long long kept_open;       /* old deliveries kept: an open incident's alert came from them */
	long long kept_unread;     /* old deliveries kept: past the slowest stage's mark */
	long long alerts;          /* alerts of no incident, last seen before the cutoff */
	long long builds;          /* Jenkins/CloudBees builds before the cutoff (each job's newest kept) */
	long long events;          /* events of no incident before the cutoff */
	long long quarantine;      /* rows of the quarantine table, when there is one */
	long long batches;         /* write transactions */
	long long mark;            /* the slowest stage's mark (inbox id) */
	char slowest_stage[64];    /* its name, "" when there are no marks */
	int quarantine_skipped;    /* a quarantine table without a time column known here */
};

/*
 * Prune the inbox and what grows with it (see the counts). 0; -EBUSY when
 * a batch could not get the write lock within o->busy_ms (the batches
 * before it stay done: running again continues); aur_db_errno() otherwise.
 * The counts hold what was done either way. err says what failed.
 */
int aur_retention_prune_inbox(sqlite3 *db, const struct aur_retention_options *o,
			      struct aur_retention_inbox_counts *c, char *err, size_t errlen);

struct aur_retention_incident_counts {
	long long incidents;       /* resolved or merged incidents deleted */
	long long kept_referenced; /* old enough, but an open incident or a silent heartbeat refers to them */
	long long alerts;
	long long incident_alerts;
	long long events;
	long long thoughts;
	long long suggestions;
	long long comments;
	long long unlinked;        /* kept incidents and alerts whose reference to a deleted incident was cleared */
	long long batches;
};

/*
 * Delete resolved incidents resolved before o->cutoff_ms, and merged ones
 * merged before it into an incident that is no longer open, with every row
 * that belongs to them. Same returns as aur_retention_prune_inbox.
 */
int aur_retention_prune_incidents(sqlite3 *db, const struct aur_retention_options *o,
				  struct aur_retention_incident_counts *c, char *err, size_t errlen);

/*
 * The retention stored under key (a duration such as "30d", or "never"),
 * else def. *ms is the age, 0 for never. 0, or -EINVAL with err set when
 * the stored value is neither. *text (caller frees) is the value used.
 */
int aur_retention_get(sqlite3 *db, const char *key, const char *def, char **text, long long *ms, char *err,
		      size_t errlen);

/*
 * Check and store a retention value under key: a duration of at least one
 * hour, or "never"; NULL removes the setting (back to the default).
 * 0, -EINVAL (err says why), or aur_db_errno().
 */
int aur_retention_set(sqlite3 *db, const char *key, const char *value, char *err, size_t errlen);

/*
 * Check a retention value: *ms the age (0 for "never"). 0 or -EINVAL;
 * under an hour is refused (a slip of "30m" for "30d" would empty the
 * inbox).
 */
int aur_retention_parse(const char *value, long long *ms);

/*
 * What a prune did (or, dry, would do), as one record {"v":1,"type":"prune",
 * "table":"inbox"|"incidents", ...} (aurora-inbox(1), aurora-incident(1)),
 * or as lines for people appended to b. age is the age as given ("30d").
 * The jv is the caller's.
 */
jv aur_retention_inbox_json(const struct aur_retention_inbox_counts *c, const struct aur_retention_options *o,
			    const char *age);
void aur_retention_inbox_text(const struct aur_retention_inbox_counts *c, const struct aur_retention_options *o,
			      const char *age, struct aur_buf *b);
jv aur_retention_incidents_json(const struct aur_retention_incident_counts *c,
				const struct aur_retention_options *o, const char *age);
void aur_retention_incidents_text(const struct aur_retention_incident_counts *c,
				  const struct aur_retention_options *o, const char *age, struct aur_buf *b);

#endif
