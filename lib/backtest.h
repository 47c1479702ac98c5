/*
 * backtest.h - what other correlation settings would have made of past alerts.
 *
 * A backtest replays a stretch of the inbox twice, once per side (A, the
 * baseline, and B, the candidate), each with its own correlation settings,
 * and compares the incidents the two sides make of the same alerts. An
 * operator tunes a setting on the deliveries of their own busy day before
 * changing production.
 *
 * The live database is opened read-only and read in short batches, one read
 * transaction each, exactly as aurora-inbox replay reads it: nothing is
 * written to it, and a running pipeline neither waits for the backtest nor
 * sees it. Each inbox row is normalized in-process (normalize.h, the
 * built-in mappings and the operator's directory), and every alert record
 * goes through two correlators (correlate.h), each on a private scratch
 * database created with aurora's schema in a temporary directory and
 * removed at the end. Both sides see the same records in inbox order, with
 * the records' own times, and start from nothing: no incident open before
 * the range, vectorizer statistics learned from the range alone. So the
 * same range and settings always give the same answer, and the only
 * difference between the sides is the settings. The live connectors' RCA
 * switches are copied to both sides (a build event logged live is logged in
 * the backtest too).
 *
 * The comparison is on alert records (one per alert a delivery carried; test
 * deliveries and notes left out). Each side puts a record in an incident or
 * in none. A's incidents and B's are paired one to one, greedily: first an
 * A and a B incident that the same record opened (in the range), then the
 * pair sharing most records (ties: the pair whose first shared record came
 * first). A record moved when B does not put it in the partner of A's
 * incident for it: B put it in another incident, in none, or A put it in
 * none and B in one. An A incident is split when B spreads its records over
 * two or more incidents; a B incident merges when it holds records of two or
 * more A incidents. Every A incident that B treats differently (split,
 * merged, records moved in or out) is one change, as is every B incident
 * made only of records A left out of incidents.
 */
#ifndef AURORA_BACKTEST_H
#define AURORA_BACKTEST_H

#include <signal.h>
#include <stddef.h>
#include <stdio.h>

#include "correlate.h"

/* Settings given per side at most; alert records per backtest at most. */
#define AUR_BACKTEST_MAX_SETTINGS 32
#define AUR_BACKTEST_MAX_ALERTS 1000000

/* One side of the comparison: correlation settings and how they were given. */
struct aur_backtest_side {
	struct aur_correlate_config cfg;
	const char *given[AUR_BACKTEST_MAX_SETTINGS]; /* "name=value" or "name", borrowed */
	size_t ngiven;
};

/* The defaults of aurora-correlate, nothing given. */
void aur_backtest_side_init(struct aur_backtest_side *s);

/*
 * Apply one setting, "NAME=VALUE" or "NAME" for a switch (a leading "--" is
 * allowed), through the correlator's option table (correlate_opts.h), so
 * every option of aurora-correlate works here by the same name. setting is
 * borrowed for the life of s. 0; -EINVAL with err naming the setting
 * ("threshold=2: --threshold: '2' is not a number from 0 to 1") for a name
 * not in the table, a bad value, or too many settings.
 */
int aur_backtest_side_set(struct aur_backtest_side *s, const char *setting, char *err, size_t errlen);

/*
 * Read a range end: digits are an inbox id (*is_id 1), anything else a time
 * (*is_id 0; aur_cli_parse_time_ms: RFC 3339, or a duration before now_ms
 * such as 2h or 7d). 0, or -EINVAL.
 */
int aur_backtest_parse_point(const char *s, long long now_ms, int *is_id, long long *value);

struct aur_backtest_options {
	const char *db_path;        /* the live database, opened read-only */
	const char *mappings_dir;   /* the operator's mappings, or NULL (normalize.h) */
	long long from_id, to_id;   /* inbox ids, both inclusive (default 1, no bound) */
	long long since_ms;         /* received at or after (default: no bound) */
	long long until_ms;         /* received before (default: no bound) */
	/*
	 * Rows received this long before the range's first row are replayed
	 * first and not compared, so that incidents open when the range
	 * begins are open on both sides (0: none; default -1: the larger
	 * window of the two sides, how far back the correlator looks).
	 */
	long long warmup_ms;
	const char *scratch_dir;    /* parent of the scratch directory; NULL: $TMPDIR, else /tmp */
	volatile sig_atomic_t *stop; /* set (by a signal handler) to end early; may be NULL */
	/* a remark for the operator (a rejected delivery), or NULL to drop them */
	void (*note)(const char *msg, void *arg);
	void *note_arg;
};

/* Fill o with the defaults above (db_path NULL: the caller sets it). */
void aur_backtest_options_init(struct aur_backtest_options *o);

struct aur_backtest;

/*
 * Replay the range with a's and b's settings and compare. *out is the
 * result, freed with aur_backtest_free. The scratch databases are removed
 * before it returns, whatever happened. Returns 0; -ENOENT when there is no
 * database at o->db_path; -ENODATA when it is not an aurora database;
 * -ENOEXEC when the mappings do not load; -EINVAL when a side's settings
 * are refused by the correlator; -E2BIG past AUR_BACKTEST_MAX_ALERTS
 * alerts (narrow the range); -EINTR when *o->stop was set; -EBUSY when the
 * live database stayed locked; -ENOSPC or -EIO for the scratch files.
 * err says what.
 */
int aur_backtest_run(const struct aur_backtest_options *o, const struct aur_backtest_side *a,
		     const struct aur_backtest_side *b, struct aur_backtest **out, char *err, size_t errlen);

/* NULL-safe. */
void aur_backtest_free(struct aur_backtest *r);

/*
 * Write the result to f: JSON lines (one summary record, then one change
 * record per difference, in the order of their first alert), or a table
 * for people. 0, or -EIO when a write failed.
 */
int aur_backtest_write_json(const struct aur_backtest *r, FILE *f);
int aur_backtest_write_text(const struct aur_backtest *r, FILE *f);

#endif
