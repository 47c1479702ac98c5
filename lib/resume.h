/*
 * resume.h - where a restarted pipeline picks up: the stage marks.
 *
 * aurora-inbox follow used to remember the last row it had written to its
 * pipe; a stage dying downstream then lost every row that was in the pipes
 * or in its hands (12 kills of aurora-correlate under a backlog lost 1,367
 * deliveries). The resume point is now set by the end of the pipeline:
 * the last stage records, in the same database, the highest inbox id all
 * of whose records it has committed and printed, and follow starts after
 * it. What was in flight is read again; the stages make that harmless
 * (aurora-correlate counts a delivery once: a second pass of it changes
 * nothing and says "already counted").
 *
 * One delivery can make several records (an Alertmanager group with five
 * alerts): aurora-normalize numbers them "inbox_part" 1..n of
 * "inbox_parts" n, so a stage that dies after committing three of five
 * leaves the mark before that delivery, not on it.
 *
 * Marks only move forward: replaying old deliveries never moves one back.
 */
#ifndef AURORA_RESUME_H
#define AURORA_RESUME_H

#include <stddef.h>
#include <jq.h>
#include <sqlite3.h>

/* The stage whose mark aurora-inbox follow resumes from by default. */
#define AUR_RESUME_DEFAULT_STAGE "correlate"

/*
 * The mark of stage. 0 with *inbox_id set; -ENOENT when the stage has no
 * mark; -ENODATA when the database predates stage marks (schema 4);
 * aur_db_errno() otherwise. err says what happened.
 */
int aur_resume_get(sqlite3 *db, const char *stage, long long *inbox_id, char *err, size_t errlen);

/*
 * Move stage's mark up to inbox_id (never down), inside the caller's
 * transaction or in one of its own. 0 or aur_db_errno() with err set.
 */
int aur_resume_set(sqlite3 *db, const char *stage, long long inbox_id, char *err, size_t errlen);

/*
 * What a record (borrowed) says about its delivery: 1 with *inbox_id set
 * when it is the delivery's last record (or its only one: no inbox_part),
 * 0 when more records of the same delivery follow, -1 when it names no
 * inbox row.
 */
int aur_resume_record(jv record, long long *inbox_id);

#endif
