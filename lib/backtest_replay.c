/*
 * backtest_replay.c - the replay of a backtest (backtest_impl.h): a scratch
 * database per side in a private directory, the live connectors' RCA
 * switches copied into each, then the inbox rows of the range - after a
 * warm-up that fills the correlators' windows and is not compared - read
 * in batches, normalized once and fed to both correlators, each record's
 * decision kept as a placement per side.
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
#include "backtest_impl.h"
#include "correlate_opts.h"
#include "db.h"
#include "inbox.h"
#include "inboxscan.h"
#include "normalize.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

static const char side_name[SIDES] = { 'A', 'B' };

/* The string at key of obj (borrowed), copied; NULL when absent or not a string. */
static char *dup_field(jv obj, const char *key)
{
	jv v = jv_object_get(jv_copy(obj), jv_string(key));
	char *s = jv_get_kind(v) == JV_KIND_STRING ? aur_xstrdup(jv_string_value(v)) : NULL;

	jv_free(v);
	return s;
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

void backtest_scratch_remove(struct run *r)
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

struct incident *backtest_incident_at(struct side_run *sr, long long id)
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
	struct incident *inc = backtest_incident_at(&r->side[s], incident);

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

void backtest_drop_pending(struct run *r)
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
	backtest_drop_pending(r);
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
	backtest_drop_pending(r);
	if (rc == 0 && cb_rc)
		rc = r->failed ? r->failed : -EIO;
	return rc;
}

static int replay_inbox(struct run *r, sqlite3 *live)
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
	backtest_drop_pending(r);
	if (rc == 0 && cb_rc)
		rc = r->failed ? r->failed : -EIO;
	return rc;
}

int backtest_replay(struct run *r, sqlite3 *live)
{
	int rc = scratch_open(r);

	if (rc == 0)
		rc = copy_connectors(live, r);
	if (rc == 0)
		rc = correlators_new(r);
	if (rc == 0)
		rc = replay_inbox(r, live);
	return rc;
}
