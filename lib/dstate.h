/*
 * dstate.h - what became of each delivery: its state in the inbox.
 *
 * A delivery the receiver stored is pending (inbox.state NULL) until the
 * last stage of the pipeline has decided all of its records. Then it is
 *   alerts   it became alert records (inbox.alert_count of them, tests not
 *            counted); notes beside them do not change that
 *   note     it became notes only
 *   test     it was a test or ping delivery
 *   error    some of it could not be used: aurora-normalize could not map
 *            it (an "error" record), its mapping made nothing of it, or
 *            aurora-correlate rejected one of its records;
 *            inbox.state_reason says why
 * and "unknown" for deliveries decided before states were written down
 * (schema 10). aurora-correlate tallies the records of a delivery as they
 * pass (inbox_part 1..inbox_parts) and writes the state with the last
 * one, in the transaction of that record's decision; a second pass of a
 * delivery (after a restart) tallies it again from part 1 and writes the
 * same state. A delivery that turns into an error also appends a
 * "delivery.error" event, which belongs to no incident, so the event
 * stream and aurora-incident watch show it.
 */
#ifndef AURORA_DSTATE_H
#define AURORA_DSTATE_H

#include <stddef.h>
#include <jq.h>
#include <sqlite3.h>

#define AUR_DSTATE_REASON_MAX 480

/* The records of one delivery seen so far. */
struct aur_dstate_tally {
	long long inbox_id;                 /* the delivery, 0 before the first record */
	long long parts;                    /* its inbox_parts, 1 when the records do not say */
	long long alerts;                   /* alert records that are not tests */
	long long notes;
	long long tests;                    /* test alerts and test notes */
	long long errors;                   /* error records and rejected records */
	char reason[AUR_DSTATE_REASON_MAX]; /* the first error's reason */
};

enum aur_dstate_kind { AUR_DSTATE_ALERT, AUR_DSTATE_NOTE, AUR_DSTATE_TEST, AUR_DSTATE_ERROR };

/*
 * Count one record of delivery inbox_id, part part of parts (both 0 when
 * the record does not say: a delivery of one record); reason only for
 * AUR_DSTATE_ERROR. Part 1, or another delivery, starts a new tally.
 * 1 when this was the delivery's last record (write it now), else 0.
 */
int aur_dstate_add(struct aur_dstate_tally *t, long long inbox_id, long long part, long long parts,
		   enum aur_dstate_kind kind, const char *reason);

/*
 * Write the state of t's delivery into its inbox row, in the caller's
 * transaction; when the row turns to error (it was not one before),
 * append a delivery.error event {inbox_id, platform, received_at, reason}
 * at the delivery's received time. A delivery the database does not hold
 * (a replay into another file) changes nothing. 0 or aur_db_errno() with
 * err set.
 */
int aur_dstate_write(sqlite3 *db, const struct aur_dstate_tally *t, char *err, size_t errlen);

/* 1 when db's inbox has the state columns (schema 10 or later), else 0. */
int aur_dstate_available(sqlite3 *db);

/*
 * A platform's deliveries that failed (state error) and the newest of
 * them: *out = {"failed_to_normalize": N, "last_error": {"inbox_id",
 * "received_at", "reason"} or null}. On a database without states, 0 and
 * null. 0 or aur_db_errno() with err set.
 */
int aur_dstate_connector(sqlite3 *db, const char *platform, jv *out, char *err, size_t errlen);

/*
 * Deliveries received in [since_ms, until_ms), per platform and state:
 * *out = [{"platform", "alerts", "note", "test", "error", "unknown",
 * "pending", "total", "alert_records"}, ...] in platform order, only
 * platforms with deliveries. 0 or aur_db_errno() with err set.
 */
int aur_dstate_stats(sqlite3 *db, long long since_ms, long long until_ms, jv *out, char *err, size_t errlen);

#endif
