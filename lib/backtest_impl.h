/*
 * backtest_impl.h - the private half of backtest.h, shared by the files of
 * the one backtest module and included by nothing else:
 *   backtest.c          settings and range, and the run that ties the
 *                       parts together
 *   backtest_replay.c   the replay: inbox rows -> normalizer -> two
 *                       correlators on scratch databases, each record's
 *                       decision kept as a placement per side
 *   backtest_compare.c  the comparison: pairing of incidents, moved
 *                       records, changes and the summary as jv
 *   backtest_write.c    the two writers, JSON lines and a text table
 * A run (struct run) holds both sides' state; the replay fills it, the
 * comparison reads it into a struct aur_backtest, the writers print that.
 */
#ifndef AURORA_BACKTEST_IMPL_H
#define AURORA_BACKTEST_IMPL_H

#include <limits.h>
#include <stddef.h>
#include <sqlite3.h>
#include <jq.h>

#include "backtest.h"
#include "buf.h"

/* rows per read transaction of the live database, and per scratch transaction */
#define SCAN_BATCH 256

enum { SIDE_A, SIDE_B, SIDES };

/* Where one side put one alert record. */
struct placement {
	long long incident; /* 0: in none */
	const char *action; /* static: one of known_actions */
	char *strategy;
	char *reason;
};

/* One alert record of the range, with both sides' placements. */
struct item {
	long long inbox_id;
	char *source;
	char *dedup_key;
	char *title;
	char *at;
	struct placement p[SIDES];
};

/* One side's incident, by id (ids of a fresh database run 1, 2, ...). */
struct incident {
	char *title;
	char *service;
	char *started_at;
	size_t first;     /* its first record */
	size_t n;         /* its records */
	long long partner; /* the paired incident of the other side, 0 when none */
	int changed;      /* A: B treats it differently */
};

struct side_run {
	sqlite3 *db;
	struct aur_correlator *corr;
	char path[PATH_MAX + 8];
	struct incident *inc; /* indexed by id; inc[0] unused */
	size_t ninc;          /* allocated entries */
	long long created;    /* incidents opened in the range (not in the warm-up) */
	jv joins;             /* strategy -> alerts attached by it, in the range */
};

struct aur_backtest {
	jv summary;
	jv changes; /* array of change records */
};

struct run {
	const struct aur_backtest_options *o;
	const struct aur_backtest_side *settings[SIDES];
	struct aur_normalizer *norm;
	struct side_run side[SIDES];
	char dir[PATH_MAX];
	struct item *items;
	size_t nitems;
	size_t cap;
	jv pending[SCAN_BATCH];
	size_t npending;
	int warming;          /* replaying the warm-up before the range */
	long long warm_deliveries;
	long long deliveries;
	long long rejected;
	long long first_id;
	long long last_id;
	char first_at[40];
	char last_at[40];
	struct aur_buf out;
	int failed; /* the negative errno that stopped the scan */
	char *err;
	size_t errlen;
};

/*
 * backtest_replay.c: scratch databases for both sides, the live
 * connectors' RCA switches copied into them, a correlator each, and the
 * range (after its warm-up) replayed through them. 0, or -errno with
 * r->err set.
 */
int backtest_replay(struct run *r, sqlite3 *live);
/* Remove the scratch databases and their directory (idempotent). */
void backtest_scratch_remove(struct run *r);
/* Free the records read but not yet replayed. */
void backtest_drop_pending(struct run *r);
/* Side sr's incident id, its entry grown as needed (zeroed); NULL for an impossible id. */
struct incident *backtest_incident_at(struct side_run *sr, long long id);

/* backtest_compare.c: the comparison of r's two sides into res (summary and changes). */
void backtest_compare(struct run *r, struct aur_backtest *res);

#endif
