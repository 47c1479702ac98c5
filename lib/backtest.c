/*
 * backtest.c - replay the inbox with two settings and compare (backtest.h).
 *
 * Three parts: the replay (inbox rows -> normalizer -> two correlators on
 * scratch databases, each record's decision kept as a placement per side),
 * the comparison (pairing of incidents, moved records, changes as jv), and
 * the two writers.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jq.h>

#include "backtest.h"
#include "buf.h"
#include "cli.h"
#include "correlate_opts.h"
#include "db.h"
#include "follow.h"
#include "inbox.h"
#include "inboxscan.h"
#include "normalize.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

/* rows per read transaction of the live database, and per scratch transaction */
#define SCAN_BATCH 256
/* moved alerts listed per change in the text table (the JSON has them all) */
#define TEXT_MOVED_MAX 10

enum { SIDE_A, SIDE_B, SIDES };

static const char side_name[SIDES] = { 'A', 'B' };

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

/* ---- settings and range ---- */

void aur_backtest_side_init(struct aur_backtest_side *s)
{
	memset(s, 0, sizeof(*s));
	aur_correlate_config_init(&s->cfg);
}

int aur_backtest_side_set(struct aur_backtest_side *s, const char *setting, char *err, size_t errlen)
{
	const char *name = setting;
	const char *eq;
	char key[128];
	char why[512];
	int rc;

	if (!strncmp(name, "--", 2))
		name += 2;
	eq = strchr(name, '=');
	if ((eq ? (size_t)(eq - name) : strlen(name)) >= sizeof(key) || name == eq || !*name) {
		snprintf(err, errlen, "'%s': not a correlation setting", setting);
		return -EINVAL;
	}
	if (s->ngiven >= AUR_BACKTEST_MAX_SETTINGS) {
		snprintf(err, errlen, "'%s': more than %d settings", setting, AUR_BACKTEST_MAX_SETTINGS);
		return -EINVAL;
	}
	snprintf(key, sizeof(key), "%.*s", (int)(eq ? (size_t)(eq - name) : strlen(name)), name);
	rc = aur_correlate_config_set(&s->cfg, key, eq ? eq + 1 : NULL, why, sizeof(why));
	if (rc < 0) {
		snprintf(err, errlen, "'%s': %s", setting, why);
		return -EINVAL;
	}
	s->given[s->ngiven++] = name;
	return 0;
}

int aur_backtest_parse_point(const char *s, long long now_ms, int *is_id, long long *value)
{
	if (*s && strspn(s, "0123456789") == strlen(s)) {
		*is_id = 1;
		return aur_cli_parse_ll(s, 1, INT64_MAX, value) < 0 ? -EINVAL : 0;
	}
	*is_id = 0;
	return aur_cli_parse_time_ms(s, now_ms, value) < 0 ? -EINVAL : 0;
}

void aur_backtest_options_init(struct aur_backtest_options *o)
{
	memset(o, 0, sizeof(*o));
	o->from_id = 1;
	o->to_id = INT64_MAX;
	o->since_ms = INT64_MIN;
	o->until_ms = INT64_MAX;
	o->warmup_ms = -1;
}

/* ---- small jv helpers ---- */

/* The string at key of obj (borrowed), copied; NULL when absent or not a string. */
static char *dup_field(jv obj, const char *key)
{
	jv v = jv_object_get(jv_copy(obj), jv_string(key));
	char *s = jv_get_kind(v) == JV_KIND_STRING ? aur_xstrdup(jv_string_value(v)) : NULL;

	jv_free(v);
	return s;
}

static jv num(long long x)
{
	return jv_number((double)x);
}

static jv id_or_null(long long id)
{
	return id > 0 ? num(id) : jv_null();
}

static jv str_or_null(const char *s)
{
	return s ? jv_string(s) : jv_null();
}

static const char *const known_actions[] = { "created", "attached", "deduplicated", "resolved", "logged" };

static const char *intern_action(jv d)
{
	jv v = jv_object_get(jv_copy(d), jv_string("action"));
	const char *found = "other";

	for (size_t i = 0; i < sizeof(known_actions) / sizeof(known_actions[0]); i++)
		if (jv_get_kind(v) == JV_KIND_STRING && !strcmp(jv_string_value(v), known_actions[i]))
			found = known_actions[i];
	jv_free(v);
	return found;
}

/* ---- scratch databases ---- */

static void note(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note(struct run *r, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	if (!r->o->note)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->o->note(msg, r->o->note_arg);
}

/* The live connectors' RCA switches, so build events are logged or correlated as they are live. */
static int copy_connectors(sqlite3 *live, struct run *r)
{
	sqlite3_stmt *get = NULL;
	sqlite3_stmt *put[SIDES] = { NULL, NULL };
	int rc;
	int step;

	rc = aur_db_prepare(live, &get, "SELECT platform, rca FROM connectors", r->err, r->errlen);
	for (int s = 0; s < SIDES && rc == 0; s++)
		rc = aur_db_prepare(r->side[s].db, &put[s],
				    "INSERT INTO connectors(platform, rca) VALUES (?1, ?2)"
				    " ON CONFLICT(platform) DO UPDATE SET rca = excluded.rca",
				    r->err, r->errlen);
	while (rc == 0 && (step = sqlite3_step(get)) == SQLITE_ROW) {
		for (int s = 0; s < SIDES && rc == 0; s++) {
			sqlite3_bind_value(put[s], 1, sqlite3_column_value(get, 0));
			sqlite3_bind_int(put[s], 2, sqlite3_column_int(get, 1));
			rc = aur_db_errno(sqlite3_step(put[s]));
			sqlite3_reset(put[s]);
			if (rc < 0)
				snprintf(r->err, r->errlen, "scratch database: %s", sqlite3_errmsg(r->side[s].db));
		}
	}
	if (rc == 0 && step != SQLITE_DONE) {
		snprintf(r->err, r->errlen, "connectors: %s", sqlite3_errmsg(live));
		rc = aur_db_errno(step) ? aur_db_errno(step) : -EIO;
	}
	sqlite3_finalize(get);
	for (int s = 0; s < SIDES; s++)
		sqlite3_finalize(put[s]);
	return rc;
}

static int scratch_open(struct run *r)
{
	const char *base = r->o->scratch_dir;
	struct aur_db_options dbo;
	int rc;

	if (!base || !*base)
		base = getenv("TMPDIR");
	if (!base || !*base)
		base = "/tmp";
	if ((size_t)snprintf(r->dir, sizeof(r->dir), "%s/aurora-backtest-XXXXXX", base) >= sizeof(r->dir) - 8) {
		snprintf(r->err, r->errlen, "scratch directory: %s: name too long", base);
		r->dir[0] = '\0';
		return -EIO;
	}
	if (!mkdtemp(r->dir)) {
		snprintf(r->err, r->errlen, "scratch directory in %s: %s", base, strerror(errno));
		r->dir[0] = '\0';
		return errno == ENOSPC ? -ENOSPC : -EIO;
	}
	aur_db_options_init(&dbo);
	dbo.synchronous_full = 0;
	for (int s = 0; s < SIDES; s++) {
		struct side_run *sr = &r->side[s];

		snprintf(sr->path, sizeof(sr->path), "%s/%c.db", r->dir, s == SIDE_A ? 'a' : 'b');
		rc = aur_db_open(&sr->db, sr->path, &dbo, r->err, r->errlen);
		if (rc < 0)
			return rc;
		/* a scratch file is thrown away: no sync at all, and room in memory */
		rc = aur_db_exec(sr->db, "PRAGMA synchronous = OFF", r->err, r->errlen);
		if (rc == 0)
			rc = aur_db_exec(sr->db, "PRAGMA cache_size = -65536", r->err, r->errlen);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int correlators_new(struct run *r)
{
	char why[512];

	for (int s = 0; s < SIDES; s++) {
		int rc = aur_correlator_new(&r->side[s].corr, r->side[s].db, &r->settings[s]->cfg, why, sizeof(why));

		if (rc < 0) {
			snprintf(r->err, r->errlen, "settings %c: %s", side_name[s], why);
			/* the scratch file is new and private: what fails here is the settings */
			return rc == -EBUSY || rc == -ENOSPC || rc == -EIO ? rc : -EINVAL;
		}
	}
	return 0;
}

static void scratch_remove(struct run *r)
{
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };

	for (int s = 0; s < SIDES; s++) {
		struct side_run *sr = &r->side[s];

		aur_correlator_free(sr->corr);
		sr->corr = NULL;
		aur_db_close(sr->db);
		sr->db = NULL;
		for (size_t i = 0; sr->path[0] && i < sizeof(suffix) / sizeof(suffix[0]); i++) {
			char p[PATH_MAX + 24];

			snprintf(p, sizeof(p), "%s%s", sr->path, suffix[i]);
			unlink(p);
		}
	}
	if (r->dir[0])
		rmdir(r->dir);
	r->dir[0] = '\0';
}

/* ---- the replay ---- */

static struct incident *incident_at(struct side_run *sr, long long id)
{
	if (id <= 0 || id > (long long)(SIZE_MAX / sizeof(struct incident)) - 1)
		return NULL;
	if ((size_t)id >= sr->ninc) {
		size_t n = sr->ninc ? sr->ninc : 64;

		while (n <= (size_t)id)
			n *= 2;
		sr->inc = aur_xrealloc(sr->inc, n * sizeof(*sr->inc));
		memset(sr->inc + sr->ninc, 0, (n - sr->ninc) * sizeof(*sr->inc));
		sr->ninc = n;
	}
	return &sr->inc[id];
}

/*
 * Side s's decision d: the incident it opened, and where the record of item
 * it (index idx; NULL in the warm-up, which is not compared) went.
 */
static void place(struct run *r, int s, struct item *it, size_t idx, jv d)
{
	jv id = jv_object_get(jv_copy(d), jv_string("incident_id"));
	jv corr = jv_object_get(jv_copy(d), jv_string("correlation"));
	long long incident = jv_get_kind(id) == JV_KIND_NUMBER ? (long long)jv_number_value(id) : 0;
	const char *action = intern_action(d);
	struct incident *inc = incident_at(&r->side[s], incident);

	if (inc && !strcmp(action, "created") && !inc->title) {
		inc->title = dup_field(d, "title");
		inc->service = dup_field(d, "service");
		if (!inc->service)
			inc->service = dup_field(d, "host");
		inc->started_at = dup_field(d, "received_at");
		r->side[s].created += !r->warming;
	}
	if (it) {
		struct placement *p = &it->p[s];

		p->incident = incident;
		p->action = action;
		if (jv_get_kind(corr) == JV_KIND_OBJECT) {
			p->strategy = dup_field(corr, "strategy");
			p->reason = dup_field(corr, "reason");
		}
		if (!strcmp(action, "attached") && p->strategy) {
			jv n = jv_object_get(jv_copy(r->side[s].joins), jv_string(p->strategy));
			double was = jv_get_kind(n) == JV_KIND_NUMBER ? jv_number_value(n) : 0;

			jv_free(n);
			r->side[s].joins = jv_object_set(r->side[s].joins, jv_string(p->strategy), jv_number(was + 1));
		}
		if (inc && !inc->n)
			inc->first = idx;
		if (inc)
			inc->n++;
	}
	jv_free(id);
	jv_free(corr);
}

static int is_alert(jv rec)
{
	jv type = jv_object_get(jv_copy(rec), jv_string("type"));
	jv test = jv_object_get(jv_copy(rec), jv_string("test"));
	int yes = jv_get_kind(type) == JV_KIND_STRING && !strcmp(jv_string_value(type), "alert") &&
		  jv_get_kind(test) != JV_KIND_TRUE;

	jv_free(type);
	jv_free(test);
	return yes;
}

/* One normalized record (line, NUL-terminated) through both correlators. */
static int replay_record(struct run *r, long long inbox_id, const char *line, size_t len)
{
	jv rec = jv_parse_sized(line, (int)len);
	struct item *it = NULL;
	size_t idx = r->nitems;
	char why[1024];

	if (jv_get_kind(rec) != JV_KIND_OBJECT) {
		jv_free(rec);
		r->rejected++;
		note(r, "inbox %lld: the normalizer's output does not parse", inbox_id);
		return 0;
	}
	if (!r->warming && is_alert(rec)) {
		if (r->nitems >= AUR_BACKTEST_MAX_ALERTS) {
			jv_free(rec);
			snprintf(r->err, r->errlen, "more than %d alerts in the range: narrow it with --from and --to",
				 AUR_BACKTEST_MAX_ALERTS);
			return -E2BIG;
		}
		if (r->nitems == r->cap) {
			r->cap = r->cap ? r->cap * 2 : 1024;
			r->items = aur_xrealloc(r->items, r->cap * sizeof(*r->items));
		}
		it = &r->items[r->nitems];
		memset(it, 0, sizeof(*it));
		it->inbox_id = inbox_id;
		it->source = dup_field(rec, "source");
		it->dedup_key = dup_field(rec, "dedup_key");
		it->title = dup_field(rec, "title");
		it->at = dup_field(rec, "received_at");
		r->nitems++;
	}
	for (int s = 0; s < SIDES; s++) {
		jv d;
		int rc = aur_correlator_process(r->side[s].corr, jv_copy(rec), line, &d, why, sizeof(why));

		if (rc == -EINVAL && s == SIDE_A) {
			/* both sides read a record alike: one that A refuses, B refuses too */
			r->rejected++;
			note(r, "inbox %lld: %s", inbox_id, why);
			if (it) {
				free(it->source);
				free(it->dedup_key);
				free(it->title);
				free(it->at);
				r->nitems--;
			}
			break;
		}
		if (rc < 0) {
			jv_free(rec);
			snprintf(r->err, r->errlen, "correlating inbox %lld (%c): %s", inbox_id, side_name[s], why);
			return rc == -EINVAL ? -EIO : rc;
		}
		place(r, s, it, idx, d);
		jv_free(d);
	}
	jv_free(rec);
	return 0;
}

/* One raw record (consumed): normalized, each of its records replayed. */
static int replay_raw(struct run *r, jv raw, long long inbox_id)
{
	struct aur_normalize_result res;
	char why[1024];
	char *p;
	char *end;
	int rc;

	aur_buf_reset(&r->out);
	rc = aur_normalize_value(r->norm, raw, &r->out, &res, why, sizeof(why));
	if (rc == -ENOEXEC) {
		snprintf(r->err, r->errlen, "%s", why);
		return -ENOEXEC;
	}
	if (rc < 0) {
		r->rejected++;
		note(r, "inbox %lld: %s", inbox_id, why);
		return 0;
	}
	p = r->out.data;
	end = p ? p + r->out.len : NULL;
	while (p && p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));

		if (!nl)
			nl = end;
		*nl = '\0';
		if (nl > p) {
			rc = replay_record(r, inbox_id, p, (size_t)(nl - p));
			if (rc < 0)
				return rc;
		}
		p = nl + 1;
	}
	return 0;
}

static int scan_row(sqlite3_stmt *st, void *arg)
{
	struct run *r = arg;
	const char *at = (const char *)sqlite3_column_text(st, 2);

	r->pending[r->npending++] = aur_inbox_row_to_raw(st);
	if (r->warming) {
		r->warm_deliveries++;
		return 0;
	}
	r->last_id = sqlite3_column_int64(st, 0);
	snprintf(r->last_at, sizeof(r->last_at), "%s", at ? at : "");
	if (!r->deliveries) {
		r->first_id = r->last_id;
		snprintf(r->first_at, sizeof(r->first_at), "%s", r->last_at);
	}
	r->deliveries++;
	return 0;
}

static void drop_pending(struct run *r)
{
	for (size_t i = 0; i < r->npending; i++)
		jv_free(r->pending[i]);
	r->npending = 0;
}

/* The inbox id of a raw record (consumed). */
static long long raw_id(jv raw)
{
	jv id = jv_object_get(raw, jv_string("id"));
	long long v = jv_get_kind(id) == JV_KIND_NUMBER ? (long long)jv_number_value(id) : 0;

	jv_free(id);
	return v;
}

/*
 * The batch just read, after its read transaction ended: through the
 * normalizer and both correlators, in one scratch transaction per side.
 */
static int scan_batch(long long last, void *arg)
{
	struct run *r = arg;
	char why[512];
	int rc = 0;
	int s;

	(void)last;
	for (s = 0; s < SIDES && rc == 0; s++)
		rc = aur_correlator_begin(r->side[s].corr, why, sizeof(why));
	for (size_t i = 0; i < r->npending && rc == 0; i++) {
		jv raw = r->pending[i];

		r->pending[i] = jv_invalid();
		if (r->o->stop && *r->o->stop) {
			jv_free(raw);
			snprintf(r->err, r->errlen, "stopped");
			rc = -EINTR;
			break;
		}
		rc = replay_raw(r, raw, raw_id(jv_copy(raw)));
	}
	drop_pending(r);
	for (s = 0; s < SIDES && rc == 0; s++) {
		rc = aur_correlator_commit(r->side[s].corr, why, sizeof(why));
		if (rc < 0)
			snprintf(r->err, r->errlen, "scratch database: %s", why);
	}
	if (rc < 0) {
		for (s = 0; s < SIDES; s++)
			aur_correlator_rollback(r->side[s].corr);
		if (!r->err[0])
			snprintf(r->err, r->errlen, "scratch database: %s", why);
		r->failed = rc;
		return 1;
	}
	return 0;
}

/* The first row of a scan: its id and received time. */
static int probe_row(sqlite3_stmt *st, void *arg)
{
	long long *first = arg;
	const char *at = (const char *)sqlite3_column_text(st, 2);

	first[0] = sqlite3_column_int64(st, 0);
	if (!at || aur_time_parse_ms(at, &first[1]) < 0)
		first[0] = 0;
	return 0;
}

/*
 * The rows received within warmup before the range's first row: replayed
 * into both sides first, so incidents open when the range begins exist
 * there too, and left out of the comparison.
 */
static int warm_up(struct run *r, sqlite3 *live, const struct aur_inboxscan *range, long long warmup_ms)
{
	struct aur_inboxscan probe = *range;
	struct aur_inboxscan w;
	long long first[2] = { 0, 0 };
	long long count = 0;
	int cb_rc = 0;
	int rc;

	probe.limit = 1;
	rc = aur_inboxscan_run(live, &probe, probe_row, NULL, first, &cb_rc, &count, r->err, r->errlen);
	if (rc < 0 || first[0] <= 1)
		return rc;
	aur_inboxscan_init(&w);
	w.upto = first[0] - 1;
	w.since_ms = first[1] - warmup_ms;
	w.batch = SCAN_BATCH;
	rc = aur_inboxscan_bound(live, &w, r->err, r->errlen);
	if (rc < 0 || w.upto <= w.after)
		return rc;
	r->warming = 1;
	rc = aur_inboxscan_run(live, &w, scan_row, scan_batch, r, &cb_rc, &count, r->err, r->errlen);
	r->warming = 0;
	drop_pending(r);
	if (rc == 0 && cb_rc)
		rc = r->failed ? r->failed : -EIO;
	return rc;
}

static int replay(struct run *r, sqlite3 *live)
{
	const struct aur_correlate_config *a = &r->settings[SIDE_A]->cfg;
	const struct aur_correlate_config *b = &r->settings[SIDE_B]->cfg;
	long long warmup = r->o->warmup_ms;
	struct aur_inboxscan s;
	long long count = 0;
	int cb_rc = 0;
	int rc;

	if (warmup < 0)
		warmup = a->window_ms > b->window_ms ? a->window_ms : b->window_ms;
	aur_inboxscan_init(&s);
	s.after = r->o->from_id > 1 ? r->o->from_id - 1 : 0;
	s.upto = r->o->to_id;
	s.since_ms = r->o->since_ms;
	s.until_ms = r->o->until_ms;
	s.batch = SCAN_BATCH;
	/* the rows there are now: a backtest ends even while deliveries keep arriving */
	rc = aur_inboxscan_bound(live, &s, r->err, r->errlen);
	if (rc == 0 && s.upto > s.after && warmup > 0)
		rc = warm_up(r, live, &s, warmup);
	if (rc == 0 && s.upto > s.after)
		rc = aur_inboxscan_run(live, &s, scan_row, scan_batch, r, &cb_rc, &count, r->err, r->errlen);
	drop_pending(r);
	if (rc == 0 && cb_rc)
		rc = r->failed ? r->failed : -EIO;
	return rc;
}

/* ---- the comparison ---- */

struct pair {
	long long a, b; /* incidents, 0 for none */
	size_t n;       /* records A put in a and B in b */
	size_t first;   /* the first of them */
	int opener;     /* that first record opened (in the range) both a and b */
};

static int by_ab(const void *x, const void *y)
{
	const struct pair *p = x, *q = y;

	if (p->a != q->a)
		return p->a < q->a ? -1 : 1;
	if (p->b != q->b)
		return p->b < q->b ? -1 : 1;
	return p->first < q->first ? -1 : p->first > q->first;
}

static int by_ba(const void *x, const void *y)
{
	const struct pair *p = x, *q = y;

	if (p->b != q->b)
		return p->b < q->b ? -1 : 1;
	return p->first < q->first ? -1 : p->first > q->first;
}

static int by_a_first(const void *x, const void *y)
{
	const struct pair *p = x, *q = y;

	if (p->a != q->a)
		return p->a < q->a ? -1 : 1;
	return p->first < q->first ? -1 : p->first > q->first;
}

/* incidents opened by the same record first, then the strongest overlap; ties: the pair that began first */
static int by_overlap(const void *x, const void *y)
{
	const struct pair *p = x, *q = y;

	if (p->opener != q->opener)
		return p->opener ? -1 : 1;
	if (p->n != q->n)
		return p->n > q->n ? -1 : 1;
	return p->first < q->first ? -1 : p->first > q->first;
}

/* A moved record and the change it is told under (group_of). */
struct moved_ref {
	long long group;
	size_t idx;
};

static int by_group(const void *x, const void *y)
{
	const struct moved_ref *p = x, *q = y;

	if (p->group != q->group)
		return p->group < q->group ? -1 : 1;
	return p->idx < q->idx ? -1 : p->idx > q->idx;
}

struct compare {
	struct pair *ab; /* by a, then first */
	struct pair *ba; /* by b, then first */
	size_t npairs;
	struct moved_ref *mv; /* by group, then record */
	long long moved;
	long long split;
	long long merged;
};

/* The distinct (A incident, B incident) pairs of the records, with their counts. */
static void build_pairs(struct run *r, struct compare *c)
{
	struct pair *all = aur_xcalloc(r->nitems ? r->nitems : 1, sizeof(*all));
	size_t n = 0;

	for (size_t i = 0; i < r->nitems; i++)
		all[i] = (struct pair){ r->items[i].p[SIDE_A].incident, r->items[i].p[SIDE_B].incident, 1, i, 0 };
	qsort(all, r->nitems, sizeof(*all), by_ab);
	for (size_t i = 0; i < r->nitems; i++) {
		if (n && all[n - 1].a == all[i].a && all[n - 1].b == all[i].b) {
			all[n - 1].n++;
			continue;
		}
		all[n++] = all[i];
	}
	c->npairs = n;
	c->ab = all;
	c->ba = aur_xcalloc(n ? n : 1, sizeof(*c->ba));
	memcpy(c->ba, all, n * sizeof(*all));
	qsort(c->ab, n, sizeof(*all), by_a_first);
	qsort(c->ba, n, sizeof(*all), by_ba);
}

/*
 * Pair A's incidents with B's one to one, greedily: an A and a B incident
 * that the same record opened are the same incident whatever else B
 * merges into it; the rest by the records they share.
 */
static void pair_incidents(struct run *r, struct compare *c)
{
	struct pair *order = aur_xcalloc(c->npairs ? c->npairs : 1, sizeof(*order));
	size_t n = 0;

	for (size_t i = 0; i < c->npairs; i++) {
		struct pair p = c->ab[i];

		if (p.a <= 0 || p.b <= 0)
			continue;
		p.opener = incident_at(&r->side[SIDE_A], p.a)->first == p.first &&
			   incident_at(&r->side[SIDE_B], p.b)->first == p.first;
		order[n++] = p;
	}
	qsort(order, n, sizeof(*order), by_overlap);
	for (size_t i = 0; i < n; i++) {
		struct incident *a = incident_at(&r->side[SIDE_A], order[i].a);
		struct incident *b = incident_at(&r->side[SIDE_B], order[i].b);

		if (!a->partner && !b->partner) {
			a->partner = order[i].b;
			b->partner = order[i].a;
		}
	}
	free(order);
}

static long long partner_of(struct run *r, int s, long long id)
{
	struct incident *inc = id > 0 ? incident_at(&r->side[s], id) : NULL;

	return inc ? inc->partner : 0;
}

static int moved(struct run *r, const struct item *it)
{
	long long a = it->p[SIDE_A].incident;
	long long b = it->p[SIDE_B].incident;

	if (!a && !b)
		return 0;
	return !(a > 0 && b > 0 && partner_of(r, SIDE_A, a) == b);
}

/*
 * The change a moved record is told under: its A incident; else (A put it
 * in none) the A partner of its B incident; else its B incident, as a
 * negative number: one A never opened.
 */
static long long group_of(struct run *r, const struct item *it)
{
	long long a = it->p[SIDE_A].incident;
	long long b = it->p[SIDE_B].incident;

	if (a > 0)
		return a;
	return partner_of(r, SIDE_B, b) ? partner_of(r, SIDE_B, b) : -b;
}

/* Which A incidents B treats differently; the split and merged counts. */
static void mark_changes(struct run *r, struct compare *c)
{
	for (size_t i = 0; i < c->npairs; i++) {
		const struct pair *p = &c->ab[i];
		long long pb = partner_of(r, SIDE_A, p->a);
		long long pa = partner_of(r, SIDE_B, p->b);

		if (p->a > 0 && p->b != pb)
			incident_at(&r->side[SIDE_A], p->a)->changed = 1;
		if (p->b > 0 && p->a != pa && pa > 0)
			incident_at(&r->side[SIDE_A], pa)->changed = 1;
	}
	/* split: an A incident over two B incidents or more */
	for (size_t i = 0, k; i < c->npairs; i = k) {
		size_t real = 0;

		for (k = i; k < c->npairs && c->ab[k].a == c->ab[i].a; k++)
			real += c->ab[k].b > 0;
		if (c->ab[i].a > 0 && real >= 2)
			c->split++;
	}
	/* merged: a B incident holding records of two A incidents or more */
	for (size_t i = 0, k; i < c->npairs; i = k) {
		size_t real = 0;

		for (k = i; k < c->npairs && c->ba[k].b == c->ba[i].b; k++)
			real += c->ba[k].a > 0;
		if (c->ba[i].b > 0 && real >= 2)
			c->merged++;
	}
	c->mv = aur_xcalloc(r->nitems ? r->nitems : 1, sizeof(*c->mv));
	for (size_t i = 0; i < r->nitems; i++)
		if (moved(r, &r->items[i]))
			c->mv[c->moved++] = (struct moved_ref){ group_of(r, &r->items[i]), i };
	qsort(c->mv, (size_t)c->moved, sizeof(*c->mv), by_group);
}

static jv placement_json(const struct placement *p)
{
	jv o = jv_object();

	o = jv_object_set(o, jv_string("incident"), id_or_null(p->incident));
	o = jv_object_set(o, jv_string("action"), jv_string(p->action ? p->action : "other"));
	o = jv_object_set(o, jv_string("strategy"), str_or_null(p->strategy));
	return jv_object_set(o, jv_string("reason"), str_or_null(p->reason));
}

static jv item_json(const struct item *it)
{
	jv o = jv_object();

	o = jv_object_set(o, jv_string("inbox_id"), num(it->inbox_id));
	o = jv_object_set(o, jv_string("source"), str_or_null(it->source));
	o = jv_object_set(o, jv_string("dedup_key"), str_or_null(it->dedup_key));
	o = jv_object_set(o, jv_string("title"), str_or_null(it->title));
	o = jv_object_set(o, jv_string("at"), str_or_null(it->at));
	o = jv_object_set(o, jv_string("a"), placement_json(&it->p[SIDE_A]));
	return jv_object_set(o, jv_string("b"), placement_json(&it->p[SIDE_B]));
}

static jv incident_json(struct run *r, int s, long long id)
{
	struct incident *inc = incident_at(&r->side[s], id);
	jv o = jv_object();

	o = jv_object_set(o, jv_string("incident"), num(id));
	o = jv_object_set(o, jv_string("title"), str_or_null(inc->title));
	o = jv_object_set(o, jv_string("service"), str_or_null(inc->service));
	o = jv_object_set(o, jv_string("started_at"), str_or_null(inc->started_at));
	return jv_object_set(o, jv_string("alerts"), num((long long)inc->n));
}

/* The range [*lo, *hi) of pairs in list (sorted on a or b) whose field equals id. */
static void pair_range(const struct pair *list, size_t n, int on_b, long long id, size_t *lo, size_t *hi)
{
	size_t l = 0, h = n;

	while (l < h) {
		size_t m = l + (h - l) / 2;
		long long v = on_b ? list[m].b : list[m].a;

		if (v < id)
			l = m + 1;
		else
			h = m;
	}
	*lo = l;
	for (h = l; h < n && (on_b ? list[h].b : list[h].a) == id; h++)
		;
	*hi = h;
}

/* Where B put the records of group g: one entry per B incident (or none), first first. */
static jv b_side_json(struct run *r, struct compare *c, long long g, jv *merged_with, int *split)
{
	jv list = jv_array();
	size_t lo, hi;
	int real = 0;

	if (g > 0) {
		pair_range(c->ab, c->npairs, 0, g, &lo, &hi);
	} else {
		/* a B incident A never opened: its records A left in none */
		size_t l2, h2;

		pair_range(c->ab, c->npairs, 0, 0, &l2, &h2);
		for (lo = l2; lo < h2 && c->ab[lo].b != -g; lo++)
			;
		hi = lo < h2 ? lo + 1 : lo;
	}
	for (size_t i = lo; i < hi; i++) {
		const struct pair *p = &c->ab[i];
		jv e;
		size_t bl, bh;
		jv also = jv_array();
		long long outside = 0;

		if (!p->b) {
			e = jv_object_set(jv_object(), jv_string("incident"), jv_null());
			list = jv_array_append(list, jv_object_set(e, jv_string("alerts"), num((long long)p->n)));
			continue;
		}
		real++;
		pair_range(c->ba, c->npairs, 1, p->b, &bl, &bh);
		for (size_t k = bl; k < bh; k++) {
			if (c->ba[k].a == p->a)
				continue;
			if (c->ba[k].a > 0) {
				also = jv_array_append(also, num(c->ba[k].a));
				*merged_with = jv_array_append(*merged_with, num(c->ba[k].a));
			} else {
				outside += (long long)c->ba[k].n;
			}
		}
		e = incident_json(r, SIDE_B, p->b);
		e = jv_object_set(e, jv_string("alerts_of_a"), num((long long)p->n));
		e = jv_object_set(e, jv_string("also_from_a"), also);
		e = jv_object_set(e, jv_string("from_no_incident"), num(outside));
		list = jv_array_append(list, e);
	}
	*split = real >= 2;
	return list;
}

struct group {
	long long id;  /* > 0: an A incident; < 0: a B incident A never opened */
	size_t first;
};

static int by_first(const void *x, const void *y)
{
	const struct group *p = x, *q = y;

	return p->first < q->first ? -1 : p->first > q->first;
}

/* The numbers of a, sorted, each once (jq 1.6 has no jv_unique). */
static jv unique_sorted(jv a)
{
	jv out = jv_array();
	double prev = -1;

	a = jv_sort(a, jv_copy(a));
	jv_array_foreach(a, i, x) {
		double v = jv_number_value(x);

		if (i == 0 || v != prev)
			out = jv_array_append(out, jv_copy(x));
		prev = v;
		jv_free(x);
	}
	jv_free(a);
	return out;
}

static jv change_json(struct run *r, struct compare *c, const struct group *g)
{
	jv ch = jv_object();
	jv merged = jv_array();
	jv movedl = jv_array();
	jv bl;
	int split = 0;
	size_t lo, hi;

	ch = jv_object_set(ch, jv_string("v"), jv_number(1));
	ch = jv_object_set(ch, jv_string("type"), jv_string("change"));
	ch = jv_object_set(ch, jv_string("a"), g->id > 0 ? incident_json(r, SIDE_A, g->id) : jv_null());
	bl = b_side_json(r, c, g->id, &merged, &split);
	ch = jv_object_set(ch, jv_string("b"), bl);
	ch = jv_object_set(ch, jv_string("split"), jv_bool(split));
	ch = jv_object_set(ch, jv_string("merged_with"), unique_sorted(merged));
	lo = 0;
	hi = (size_t)c->moved;
	while (lo < hi) {
		size_t m = lo + (hi - lo) / 2;

		if (c->mv[m].group < g->id)
			lo = m + 1;
		else
			hi = m;
	}
	for (; lo < (size_t)c->moved && c->mv[lo].group == g->id; lo++)
		movedl = jv_array_append(movedl, item_json(&r->items[c->mv[lo].idx]));
	return jv_object_set(ch, jv_string("moved"), movedl);
}

static jv settings_json(const struct aur_backtest_side *s)
{
	jv a = jv_array();

	for (size_t i = 0; i < s->ngiven; i++)
		a = jv_array_append(a, jv_string(s->given[i]));
	return jv_object_set(jv_object(), jv_string("settings"), a);
}

static void compare(struct run *r, struct aur_backtest *res)
{
	struct compare c = { 0 };
	struct group *groups;
	size_t ng = 0;
	jv sum = jv_object();

	build_pairs(r, &c);
	pair_incidents(r, &c);
	mark_changes(r, &c);
	groups = aur_xcalloc((size_t)(r->side[SIDE_A].ninc + r->side[SIDE_B].ninc) + 1, sizeof(*groups));
	for (size_t id = 1; id < r->side[SIDE_A].ninc; id++)
		if (r->side[SIDE_A].inc[id].n && r->side[SIDE_A].inc[id].changed)
			groups[ng++] = (struct group){ (long long)id, r->side[SIDE_A].inc[id].first };
	for (size_t id = 1; id < r->side[SIDE_B].ninc; id++) {
		struct incident *b = &r->side[SIDE_B].inc[id];
		size_t lo, hi;

		if (!b->n || b->partner)
			continue;
		/* unpaired, and holding records A put in no incident: a change of its own */
		pair_range(c.ba, c.npairs, 1, (long long)id, &lo, &hi);
		while (lo < hi && c.ba[lo].a != 0)
			lo++;
		if (lo < hi)
			groups[ng++] = (struct group){ -(long long)id, b->first };
	}
	qsort(groups, ng, sizeof(*groups), by_first);

	sum = jv_object_set(sum, jv_string("v"), jv_number(1));
	sum = jv_object_set(sum, jv_string("type"), jv_string("summary"));
	sum = jv_object_set(sum, jv_string("from_id"), id_or_null(r->first_id));
	sum = jv_object_set(sum, jv_string("to_id"), id_or_null(r->last_id));
	sum = jv_object_set(sum, jv_string("from"), r->deliveries ? jv_string(r->first_at) : jv_null());
	sum = jv_object_set(sum, jv_string("to"), r->deliveries ? jv_string(r->last_at) : jv_null());
	sum = jv_object_set(sum, jv_string("a"), settings_json(r->settings[SIDE_A]));
	sum = jv_object_set(sum, jv_string("b"), settings_json(r->settings[SIDE_B]));
	sum = jv_object_set(sum, jv_string("warmup_deliveries"), num(r->warm_deliveries));
	sum = jv_object_set(sum, jv_string("deliveries"), num(r->deliveries));
	sum = jv_object_set(sum, jv_string("rejected"), num(r->rejected));
	sum = jv_object_set(sum, jv_string("alerts"), num((long long)r->nitems));
	sum = jv_object_set(sum, jv_string("incidents_a"), num(r->side[SIDE_A].created));
	sum = jv_object_set(sum, jv_string("incidents_b"), num(r->side[SIDE_B].created));
	sum = jv_object_set(sum, jv_string("alerts_moved"), num(c.moved));
	sum = jv_object_set(sum, jv_string("split"), num(c.split));
	sum = jv_object_set(sum, jv_string("merged"), num(c.merged));
	sum = jv_object_set(sum, jv_string("changes"), num((long long)ng));
	sum = jv_object_set(sum, jv_string("joins_a"), jv_copy(r->side[SIDE_A].joins));
	sum = jv_object_set(sum, jv_string("joins_b"), jv_copy(r->side[SIDE_B].joins));
	res->summary = sum;
	res->changes = jv_array();
	for (size_t i = 0; i < ng; i++)
		res->changes = jv_array_append(res->changes, change_json(r, &c, &groups[i]));
	free(groups);
	free(c.ab);
	free(c.ba);
	free(c.mv);
}

/* ---- the run ---- */

static void run_release(struct run *r)
{
	scratch_remove(r);
	drop_pending(r);
	aur_normalize_free(r->norm);
	for (size_t i = 0; i < r->nitems; i++) {
		struct item *it = &r->items[i];

		free(it->source);
		free(it->dedup_key);
		free(it->title);
		free(it->at);
		for (int s = 0; s < SIDES; s++) {
			free(it->p[s].strategy);
			free(it->p[s].reason);
		}
	}
	free(r->items);
	for (int s = 0; s < SIDES; s++) {
		for (size_t i = 0; i < r->side[s].ninc; i++) {
			free(r->side[s].inc[i].title);
			free(r->side[s].inc[i].service);
			free(r->side[s].inc[i].started_at);
		}
		free(r->side[s].inc);
		jv_free(r->side[s].joins);
	}
	aur_buf_release(&r->out);
}

int aur_backtest_run(const struct aur_backtest_options *o, const struct aur_backtest_side *a,
		     const struct aur_backtest_side *b, struct aur_backtest **out, char *err, size_t errlen)
{
	struct aur_normalize_options no = { 0 };
	struct run r;
	sqlite3 *live = NULL;
	int rc;

	*out = NULL;
	memset(&r, 0, sizeof(r));
	r.o = o;
	r.settings[SIDE_A] = a;
	r.settings[SIDE_B] = b;
	r.err = err;
	r.errlen = errlen;
	r.side[SIDE_A].joins = jv_object();
	r.side[SIDE_B].joins = jv_object();
	err[0] = '\0';
	aur_buf_init(&r.out, 0);

	rc = aur_follow_open_db(&live, o->db_path, err, errlen);
	if (rc < 0)
		goto out;
	no.mappings_dir = o->mappings_dir;
	no.db_path = o->db_path; /* the connectors' base URLs, read-only */
	rc = aur_normalize_new(&r.norm, &no, err, errlen);
	if (rc < 0) {
		rc = rc == -ENODATA ? -ENODATA : -ENOEXEC;
		goto out;
	}
	rc = scratch_open(&r);
	if (rc == 0)
		rc = copy_connectors(live, &r);
	if (rc == 0)
		rc = correlators_new(&r);
	if (rc == 0)
		rc = replay(&r, live);
	/* the live file is left before anything else is done */
	aur_db_close(live);
	live = NULL;
	scratch_remove(&r);
	if (rc < 0)
		goto out;
	*out = aur_xcalloc(1, sizeof(**out));
	compare(&r, *out);
out:
	aur_db_close(live);
	run_release(&r);
	return rc;
}

void aur_backtest_free(struct aur_backtest *r)
{
	if (!r)
		return;
	jv_free(r->summary);
	jv_free(r->changes);
	free(r);
}

/* ---- writers ---- */

static int put_line(FILE *f, jv v)
{
	jv s = jv_dump_string(v, 0);
	int rc = fputs(jv_string_value(s), f) == EOF || fputc('\n', f) == EOF ? -EIO : 0;

	jv_free(s);
	return rc;
}

int aur_backtest_write_json(const struct aur_backtest *r, FILE *f)
{
	jv changes = jv_copy(r->changes);
	int rc = put_line(f, jv_copy(r->summary));

	jv_array_foreach(changes, i, ch) {
		(void)i;
		if (rc == 0)
			rc = put_line(f, ch);
		else
			jv_free(ch);
	}
	jv_free(changes);
	return rc;
}

/* Field k of o as text in buf: a string, an integer, or "-" for anything else. */
static const char *text_of(jv o, const char *k, char *buf, size_t len)
{
	jv v = jv_object_get(jv_copy(o), jv_string(k));

	if (jv_get_kind(v) == JV_KIND_STRING)
		snprintf(buf, len, "%s", jv_string_value(v));
	else if (jv_get_kind(v) == JV_KIND_NUMBER)
		snprintf(buf, len, "%lld", (long long)jv_number_value(v));
	else
		snprintf(buf, len, "-");
	jv_free(v);
	return buf;
}

static long long num_of(jv o, const char *k)
{
	jv v = jv_object_get(jv_copy(o), jv_string(k));
	long long n = jv_get_kind(v) == JV_KIND_NUMBER ? (long long)jv_number_value(v) : 0;

	jv_free(v);
	return n;
}

static void text_settings(FILE *f, char side, jv sum)
{
	jv s = jv_object_get(jv_object_get(jv_copy(sum), jv_string(side == 'A' ? "a" : "b")),
			     jv_string("settings"));

	fprintf(f, "  %c: ", side);
	if (jv_array_length(jv_copy(s)) == 0)
		fputs("defaults", f);
	jv_array_foreach(s, i, x) {
		fprintf(f, "%s%s", i ? " " : "", jv_string_value(x));
		jv_free(x);
	}
	fputc('\n', f);
	jv_free(s);
}

static void text_placement(FILE *f, char side, jv p)
{
	char id[32], action[32], why[600];
	int none = num_of(p, "incident") == 0;

	if (none)
		fprintf(f, "%c: no incident, %s", side, text_of(p, "action", action, sizeof(action)));
	else
		fprintf(f, "%c#%s %s", side, text_of(p, "incident", id, sizeof(id)),
			text_of(p, "action", action, sizeof(action)));
	text_of(p, "reason", why, sizeof(why));
	if (strcmp(why, "-") != 0)
		fprintf(f, " (%s)", why);
}

static void text_change(FILE *f, jv ch)
{
	jv a = jv_object_get(jv_copy(ch), jv_string("a"));
	jv b = jv_object_get(jv_copy(ch), jv_string("b"));
	jv mv = jv_object_get(jv_copy(ch), jv_string("moved"));
	jv mw = jv_object_get(jv_copy(ch), jv_string("merged_with"));
	char t1[40], t2[256], t3[512], t4[32];
	int nmoved = jv_array_length(jv_copy(mv));

	fputc('\n', f);
	if (jv_get_kind(a) == JV_KIND_OBJECT)
		fprintf(f, "A#%s  %s  %s  %s  (%lld alert%s)\n", text_of(a, "incident", t4, sizeof(t4)),
			text_of(a, "started_at", t1, sizeof(t1)), text_of(a, "service", t2, sizeof(t2)),
			text_of(a, "title", t3, sizeof(t3)), num_of(a, "alerts"), num_of(a, "alerts") == 1 ? "" : "s");
	else
		fputs("not an incident in A: alerts A opened no incident for\n", f);
	fputs("  B:", f);
	jv_array_foreach(b, i, e) {
		jv id = jv_object_get(jv_copy(e), jv_string("incident"));

		if (jv_get_kind(id) == JV_KIND_NUMBER)
			fprintf(f, "%s #%lld %s (%lld of its %lld)", i ? "," : "", (long long)jv_number_value(id),
				text_of(e, "title", t3, sizeof(t3)), num_of(e, "alerts_of_a"), num_of(e, "alerts"));
		else
			fprintf(f, "%s no incident (%lld)", i ? "," : "", num_of(e, "alerts"));
		jv_free(id);
		jv_free(e);
	}
	fputc('\n', f);
	if (jv_array_length(jv_copy(mw)) > 0) {
		fputs("  merged by B with A", f);
		jv_array_foreach(mw, i, x) {
			fprintf(f, "%s#%lld", i ? ", " : " ", (long long)jv_number_value(x));
			jv_free(x);
		}
		fputc('\n', f);
	}
	jv_array_foreach(mv, i, it) {
		jv pa = jv_object_get(jv_copy(it), jv_string("a"));
		jv pb = jv_object_get(jv_copy(it), jv_string("b"));

		if (i < TEXT_MOVED_MAX) {
			fprintf(f, "  moved: inbox %lld %s %s  ", num_of(it, "inbox_id"),
				text_of(it, "source", t4, sizeof(t4)), text_of(it, "title", t3, sizeof(t3)));
			text_placement(f, 'A', pa);
			fputs(" -> ", f);
			text_placement(f, 'B', pb);
			fputc('\n', f);
		}
		jv_free(pa);
		jv_free(pb);
		jv_free(it);
	}
	if (nmoved > TEXT_MOVED_MAX)
		fprintf(f, "  ... and %d more moved (the JSON output lists them all)\n", nmoved - TEXT_MOVED_MAX);
	jv_free(a);
	jv_free(b);
	jv_free(mv);
	jv_free(mw);
}

int aur_backtest_write_text(const struct aur_backtest *r, FILE *f)
{
	jv s = r->summary;
	jv changes = jv_copy(r->changes);
	char t1[40], t2[40];

	if (num_of(s, "deliveries") == 0)
		fputs("backtest: no deliveries in the range\n", f);
	else
		fprintf(f, "backtest of inbox %lld to %lld, received %s to %s\n", num_of(s, "from_id"),
			num_of(s, "to_id"), text_of(s, "from", t1, sizeof(t1)), text_of(s, "to", t2, sizeof(t2)));
	text_settings(f, 'A', s);
	text_settings(f, 'B', s);
	fprintf(f, "%lld deliveries (%lld rejected; %lld before them replayed as warm-up), %lld alerts\n",
		num_of(s, "deliveries"), num_of(s, "rejected"), num_of(s, "warmup_deliveries"), num_of(s, "alerts"));
	fprintf(f, "incidents: A %lld, B %lld\n", num_of(s, "incidents_a"), num_of(s, "incidents_b"));
	fprintf(f, "alerts moved %lld; A incidents split by B %lld; B incidents merging A incidents %lld;"
		   " changes %lld\n",
		num_of(s, "alerts_moved"), num_of(s, "split"), num_of(s, "merged"), num_of(s, "changes"));
	jv_array_foreach(changes, i, ch) {
		(void)i;
		text_change(f, ch);
		jv_free(ch);
	}
	jv_free(changes);
	return ferror(f) ? -EIO : 0;
}
