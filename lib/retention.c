#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "db.h"
#include "retention.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

#define OPEN_STATUS "('investigating', 'analyzed')"
#define MIN_RETENTION_MS 3600000LL

/*
 * The deliveries an open incident's alerts came from. NOT IN needs the
 * NULLs out: one NULL in the list would make every comparison unknown.
 * Open incidents are few, and their alerts are found through
 * alerts_incident and incident_alerts' key: SQLite builds this list once
 * per statement.
 */
#define OPEN_INBOX_REFS                                                                        \
	"SELECT a.first_inbox_id FROM incidents i JOIN alerts a ON a.incident_id = i.id"      \
	" WHERE i.status IN " OPEN_STATUS " AND a.first_inbox_id IS NOT NULL"                 \
	" UNION SELECT a.last_inbox_id FROM incidents i JOIN alerts a ON a.incident_id = i.id" \
	" WHERE i.status IN " OPEN_STATUS " AND a.last_inbox_id IS NOT NULL"                  \
	" UNION SELECT ia.inbox_id FROM incidents i JOIN incident_alerts ia ON ia.incident_id = i.id" \
	" WHERE i.status IN " OPEN_STATUS " AND ia.inbox_id IS NOT NULL"

/* Incidents something still live refers to: an open incident, a silent heartbeat. */
#define LIVE_INCIDENT_REFS                                                                     \
	"SELECT previous_incident FROM incidents WHERE status IN " OPEN_STATUS                 \
	" AND previous_incident IS NOT NULL"                                                   \
	" UNION SELECT silent_incident FROM heartbeats WHERE silent_incident IS NOT NULL"

/* Resolved long enough, or merged long enough into an incident that is no longer open. */
#define OLD_INCIDENT                                                                           \
	"((i.status = 'resolved' AND i.resolved_at < :cutoff_at)"                              \
	" OR (i.status = 'merged' AND coalesce(i.resolved_at, i.updated_at) < :cutoff_at"     \
	" AND NOT EXISTS (SELECT 1 FROM incidents d WHERE d.id = i.merged_into AND d.status <> 'resolved')))"

void aur_retention_options_init(struct aur_retention_options *o)
{
	memset(o, 0, sizeof(*o));
	o->batch = AUR_RETENTION_BATCH_DEFAULT;
	o->pause_ms = AUR_RETENTION_PAUSE_DEFAULT_MS;
	o->busy_ms = 30000; /* a cron job can wait: waiting takes nothing from the receiver */
}

/* What one pass binds by name; a statement takes the ones it names. */
struct params {
	long long after;
	long long limit;
	long long cutoff_ms;
	char cutoff_at[32]; /* the same instant as text, for columns kept in RFC 3339 */
	long long upto;
};

static void bind_params(sqlite3_stmt *st, const struct params *p)
{
	int i;

	if ((i = sqlite3_bind_parameter_index(st, ":after")) > 0)
		sqlite3_bind_int64(st, i, p->after);
	if ((i = sqlite3_bind_parameter_index(st, ":limit")) > 0)
		sqlite3_bind_int64(st, i, p->limit);
	if ((i = sqlite3_bind_parameter_index(st, ":cutoff")) > 0)
		sqlite3_bind_int64(st, i, p->cutoff_ms);
	if ((i = sqlite3_bind_parameter_index(st, ":cutoff_at")) > 0)
		sqlite3_bind_text(st, i, p->cutoff_at, -1, SQLITE_STATIC);
	if ((i = sqlite3_bind_parameter_index(st, ":upto")) > 0)
		sqlite3_bind_int64(st, i, p->upto);
}

static void set_err(char *err, size_t errlen, const char *what, sqlite3 *db)
{
	snprintf(err, errlen, "prune: %s: %s", what, sqlite3_errmsg(db));
}

/* Run a statement that returns one integer (or none: *out 0). */
static int one_int(sqlite3 *db, const char *sql, const struct params *p, long long *out, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*out = 0;
	rc = aur_db_prepare(db, &st, sql, err, errlen);
	if (rc < 0)
		return rc;
	bind_params(st, p);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		rc = SQLITE_DONE;
	}
	if (rc != SQLITE_DONE)
		set_err(err, errlen, "reading", db);
	sqlite3_finalize(st);
	return aur_db_errno(rc);
}

/* Run a statement without results; *changes (may be NULL) gets what it changed. */
static int run_stmt(sqlite3 *db, const char *sql, const struct params *p, long long *changes, char *err,
		    size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = aur_db_prepare(db, &st, sql, err, errlen);
	if (rc < 0)
		return rc;
	bind_params(st, p);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE && changes)
		*changes += sqlite3_changes(db);
	if (rc != SQLITE_DONE)
		set_err(err, errlen, "deleting", db);
	sqlite3_finalize(st);
	return aur_db_errno(rc);
}

/*
 * Between two batches: copy what the batch wrote from the WAL into the
 * database (PASSIVE: it takes no write lock and waits for no one), then
 * rest. Without the checkpoint the WAL passes SQLite's auto-checkpoint
 * size every few batches, and the commit that then copies it is most
 * often the receiver's (it commits far more often), and a 202 would wait
 * for a thousand pages to be copied and synced. Measured with
 * scripts/bench-prune on a 2-CPU machine other jobs kept at a load of 8 to
 * 14, single runs, so only indicative: 200,000 rows, p99.9 242 ms without
 * this checkpoint and 44 ms with it; a million rows, 80 ms without and 190
 * ms with. The machine's noise was larger than the difference.
 */
static void between_batches(sqlite3 *db, int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	if (ms > 0)
		nanosleep(&ts, NULL);
}

/*
 * One table, batch by batch: select (in id order, after :after, at most
 * :limit) the ids to delete, then delete each by id, all in one short write
 * transaction; the cursor moves past the last id selected, so rows kept
 * are not looked at again. Dry, the same selects run without a write lock
 * and only count. Every selected id is deleted, so the select must itself
 * say everything that keeps a row.
 */
struct sweep {
	const char *select;  /* one column: the id; binds :after and :limit, and any of params */
	const char *del;     /* binds ?1: the id */
	long long *count;
};

static int sweep_batch(sqlite3 *db, const struct aur_retention_options *o, const struct sweep *s, struct params *p,
		       long long *selected, long long *batches, char *err, size_t errlen)
{
	sqlite3_stmt *sel = NULL;
	sqlite3_stmt *del = NULL;
	int rc;

	*selected = 0;
	rc = o->dry_run ? 0 : aur_db_begin(db, o->busy_ms, err, errlen);
	if (rc < 0)
		return rc;
	rc = aur_db_prepare(db, &sel, s->select, err, errlen);
	if (rc == 0 && !o->dry_run)
		rc = aur_db_prepare(db, &del, s->del, err, errlen);
	if (rc < 0)
		goto out;
	bind_params(sel, p);
	while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
		long long id = sqlite3_column_int64(sel, 0);

		(*selected)++;
		p->after = id;
		if (o->dry_run)
			continue;
		sqlite3_bind_int64(del, 1, id);
		rc = sqlite3_step(del);
		sqlite3_reset(del);
		if (rc != SQLITE_DONE)
			break;
		*s->count += sqlite3_changes(db);
	}
	if (rc != SQLITE_DONE) {
		set_err(err, errlen, "deleting", db);
		rc = aur_db_errno(rc ? rc : SQLITE_ERROR);
		goto out;
	}
	rc = 0;
	if (o->dry_run)
		*s->count += *selected;
out:
	sqlite3_finalize(sel);
	sqlite3_finalize(del);
	if (!o->dry_run) {
		if (rc == 0)
			rc = aur_db_commit(db, o->busy_ms, err, errlen);
		if (rc < 0)
			aur_db_rollback(db);
		else
			(*batches)++;
	}
	return rc;
}

static int sweep_table(sqlite3 *db, const struct aur_retention_options *o, const struct sweep *s,
		       const struct params *base, long long *batches, char *err, size_t errlen)
{
	struct params p = *base;
	long long selected;
	int rc;

	p.limit = o->batch;
	p.after = 0;
	do {
		rc = sweep_batch(db, o, s, &p, &selected, batches, err, errlen);
		if (rc == 0 && selected == o->batch && !o->dry_run)
			between_batches(db, o->pause_ms);
	} while (rc == 0 && selected == o->batch);
	return rc;
}

/* The slowest stage: its name and mark; no marks at all leaves *mark at -1. */
static int slowest_stage(sqlite3 *db, long long *mark, char *name, size_t namelen, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*mark = -1;
	name[0] = '\0';
	rc = aur_db_prepare(db, &st, "SELECT stage, inbox_id FROM stage_marks ORDER BY inbox_id, stage LIMIT 1", err,
			    errlen);
	if (rc < 0)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(name, namelen, "%s", (const char *)sqlite3_column_text(st, 0));
		*mark = sqlite3_column_int64(st, 1);
		rc = SQLITE_DONE;
	}
	if (rc != SQLITE_DONE)
		set_err(err, errlen, "stage marks", db);
	sqlite3_finalize(st);
	return aur_db_errno(rc);
}

/* 1 when the database has the table, 0 when not, or aur_db_errno(). */
static int has_table(sqlite3 *db, const char *name, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = aur_db_prepare(db, &st, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", err, errlen);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	set_err(err, errlen, "sqlite_master", db);
	return aur_db_errno(rc);
}

/*
 * The quarantine (issue 12, item 2) is another module's table: prune it
 * by its time of arrival when it has one of the columns such a table
 * keeps, received_ms (epoch ms, like the inbox) or received_at (RFC 3339).
 */
static int prune_quarantine(sqlite3 *db, const struct aur_retention_options *o, const struct params *p,
			    struct aur_retention_inbox_counts *c, char *err, size_t errlen)
{
	static const struct {
		const char *column;
		const char *select;
	} forms[] = {
		{ "received_ms", "SELECT rowid FROM quarantine WHERE rowid > :after AND received_ms < :cutoff"
				 " AND rowid < (SELECT max(rowid) FROM quarantine) ORDER BY rowid LIMIT :limit" },
		{ "received_at", "SELECT rowid FROM quarantine WHERE rowid > :after AND received_at < :cutoff_at"
				 " AND rowid < (SELECT max(rowid) FROM quarantine) ORDER BY rowid LIMIT :limit" },
	};
	sqlite3_stmt *st = NULL;
	int rc;

	rc = has_table(db, "quarantine", err, errlen);
	if (rc <= 0)
		return rc;
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		struct sweep s = { forms[i].select, "DELETE FROM quarantine WHERE rowid = ?1", &c->quarantine };

		rc = aur_db_prepare(db, &st, "SELECT 1 FROM pragma_table_info('quarantine') WHERE name = ?", err,
				    errlen);
		if (rc < 0)
			return rc;
		sqlite3_bind_text(st, 1, forms[i].column, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
		if (rc == SQLITE_ROW)
			return sweep_table(db, o, &s, p, &c->batches, err, errlen);
	}
	c->quarantine_skipped = 1;
	return 0;
}

int aur_retention_prune_inbox(sqlite3 *db, const struct aur_retention_options *o,
			      struct aur_retention_inbox_counts *c, char *err, size_t errlen)
{
	/* the newest row stays whatever its age: see retention.h */
	const struct sweep inbox = {
		"SELECT id FROM inbox WHERE id > :after AND id <= :upto AND +received_ms < :cutoff"
		" AND id < (SELECT max(id) FROM inbox)"
		" AND id NOT IN (" OPEN_INBOX_REFS ") ORDER BY id LIMIT :limit",
		"DELETE FROM inbox WHERE id = ?1", &c->inbox
	};
	const struct sweep alerts = {
		"SELECT id FROM alerts WHERE id > :after AND incident_id IS NULL AND last_seen_ms < :cutoff"
		" AND NOT EXISTS (SELECT 1 FROM incident_alerts ia WHERE ia.alert_id = alerts.id)"
		" ORDER BY id LIMIT :limit",
		"DELETE FROM alerts WHERE id = ?1", &c->alerts
	};
	/* each job's newest build stays: the investigator compares a failure with the build before it */
	const struct sweep builds = {
		"SELECT b.id FROM builds b WHERE b.id > :after AND +b.at_ms < :cutoff"
		" AND b.number < (SELECT max(n.number) FROM builds n WHERE n.source = b.source AND n.job = b.job)"
		" ORDER BY b.id LIMIT :limit",
		"DELETE FROM builds WHERE id = ?1", &c->builds
	};
	const struct sweep events = {
		"SELECT id FROM events WHERE id > :after AND incident_id IS NULL AND at < :cutoff_at"
		" ORDER BY id LIMIT :limit",
		"DELETE FROM events WHERE id = ?1", &c->events
	};
	struct params p = { 0 };
	long long newest = 0;
	int rc;

	memset(c, 0, sizeof(*c));
	p.cutoff_ms = o->cutoff_ms;
	aur_time_format_ms(o->cutoff_ms, p.cutoff_at, sizeof(p.cutoff_at));
	rc = slowest_stage(db, &c->mark, c->slowest_stage, sizeof(c->slowest_stage), err, errlen);
	if (rc == 0)
		rc = one_int(db, "SELECT coalesce(max(id), 0) FROM inbox", &p, &newest, err, errlen);
	if (rc < 0)
		return rc;
	p.upto = c->mark >= 0 && c->mark < newest ? c->mark : newest;
	rc = one_int(db, "SELECT count(*) FROM inbox WHERE received_ms < :cutoff AND id > :upto"
			 " AND id < (SELECT max(id) FROM inbox)", &p, &c->kept_unread, err, errlen);
	if (rc == 0)
		rc = sweep_table(db, o, &inbox, &p, &c->batches, err, errlen);
	if (rc == 0)
		rc = one_int(db, "SELECT count(*) FROM inbox WHERE id IN (" OPEN_INBOX_REFS ")"
				 " AND id <= :upto AND received_ms < :cutoff AND id < (SELECT max(id) FROM inbox)",
			     &p, &c->kept_open, err, errlen);
	if (rc == 0)
		rc = sweep_table(db, o, &alerts, &p, &c->batches, err, errlen);
	if (rc == 0)
		rc = sweep_table(db, o, &builds, &p, &c->batches, err, errlen);
	if (rc == 0)
		rc = sweep_table(db, o, &events, &p, &c->batches, err, errlen);
	if (rc == 0)
		rc = prune_quarantine(db, o, &p, c, err, errlen);
	/* the last batch's pages too (see between_batches) */
	if (rc == 0 && !o->dry_run)
		sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	return rc;
}

/*
 * The rows that belong to the incidents in temp.prune_incidents, in an
 * order that leaves nothing pointing at a deleted row: links, then alerts
 * no kept incident links to (the others lose their incident), then the
 * rest, then references from kept incidents, then the incidents.
 */
static int delete_incident_rows(sqlite3 *db, const struct aur_retention_options *o, const struct params *p,
				struct aur_retention_incident_counts *c, char *err, size_t errlen)
{
#define BATCH "(SELECT id FROM temp.prune_incidents)"
	const struct {
		const char *del;   /* what a real run executes */
		const char *count; /* what a dry run counts instead */
		long long *n;
	} steps[] = {
		{ "DELETE FROM incident_alerts WHERE incident_id IN " BATCH,
		  "SELECT count(*) FROM incident_alerts WHERE incident_id IN " BATCH, &c->incident_alerts },
		{ "DELETE FROM alerts WHERE incident_id IN " BATCH
		  " AND NOT EXISTS (SELECT 1 FROM incident_alerts ia WHERE ia.alert_id = alerts.id)",
		  "SELECT count(*) FROM alerts WHERE incident_id IN " BATCH
		  " AND NOT EXISTS (SELECT 1 FROM incident_alerts ia WHERE ia.alert_id = alerts.id"
		  " AND ia.incident_id NOT IN " BATCH ")", &c->alerts },
		{ "UPDATE alerts SET incident_id = NULL WHERE incident_id IN " BATCH,
		  "SELECT count(*) FROM alerts WHERE incident_id IN " BATCH
		  " AND EXISTS (SELECT 1 FROM incident_alerts ia WHERE ia.alert_id = alerts.id"
		  " AND ia.incident_id NOT IN " BATCH ")", &c->unlinked },
		{ "DELETE FROM events WHERE incident_id IN " BATCH,
		  "SELECT count(*) FROM events WHERE incident_id IN " BATCH, &c->events },
		{ "DELETE FROM incident_thoughts WHERE incident_id IN " BATCH,
		  "SELECT count(*) FROM incident_thoughts WHERE incident_id IN " BATCH, &c->thoughts },
		{ "DELETE FROM incident_suggestions WHERE incident_id IN " BATCH,
		  "SELECT count(*) FROM incident_suggestions WHERE incident_id IN " BATCH, &c->suggestions },
		{ "DELETE FROM incident_comments WHERE incident_id IN " BATCH,
		  "SELECT count(*) FROM incident_comments WHERE incident_id IN " BATCH, &c->comments },
		/* open incidents only, normally; a crash between two writes could leave some */
		{ "DELETE FROM open_incident_services WHERE incident_id IN " BATCH, NULL, NULL },
		{ "DELETE FROM open_incident_terms WHERE incident_id IN " BATCH, NULL, NULL },
		{ "UPDATE incidents SET previous_incident = NULL WHERE previous_incident IN " BATCH
		  " AND id NOT IN " BATCH,
		  "SELECT count(*) FROM incidents WHERE previous_incident IN " BATCH " AND id NOT IN " BATCH,
		  &c->unlinked },
		{ "UPDATE incidents SET merged_into = NULL WHERE merged_into IN " BATCH " AND id NOT IN " BATCH,
		  "SELECT count(*) FROM incidents WHERE merged_into IN " BATCH " AND id NOT IN " BATCH,
		  &c->unlinked },
		{ "DELETE FROM incidents WHERE id IN " BATCH, "SELECT count(*) FROM temp.prune_incidents",
		  &c->incidents },
	};
#undef BATCH
	long long n;
	int rc = 0;

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]) && rc == 0; i++) {
		if (!o->dry_run) {
			long long ignored = 0;

			rc = run_stmt(db, steps[i].del, p, steps[i].n ? steps[i].n : &ignored, err, errlen);
		} else if (steps[i].count) {
			rc = one_int(db, steps[i].count, p, &n, err, errlen);
			*steps[i].n += n;
		}
	}
	return rc;
}

/* One batch of incidents: chosen and deleted in one write transaction (dry: counted in a read). */
static int incident_batch(sqlite3 *db, const struct aur_retention_options *o, struct params *p,
			  struct aur_retention_incident_counts *c, long long *chosen, char *err, size_t errlen)
{
	long long last = 0;
	int rc;

	rc = o->dry_run ? aur_db_exec(db, "BEGIN", err, errlen) : aur_db_begin(db, o->busy_ms, err, errlen);
	if (rc < 0)
		return rc;
	rc = run_stmt(db, "DELETE FROM temp.prune_incidents", p, NULL, err, errlen);
	if (rc == 0)
		rc = run_stmt(db,
			      "INSERT INTO temp.prune_incidents (id) SELECT i.id FROM incidents i"
			      " WHERE i.id > :after AND " OLD_INCIDENT " AND i.id NOT IN (" LIVE_INCIDENT_REFS ")"
			      " ORDER BY i.id LIMIT :limit",
			      p, NULL, err, errlen);
	if (rc == 0)
		rc = one_int(db, "SELECT count(*) FROM temp.prune_incidents", p, chosen, err, errlen);
	if (rc == 0)
		rc = one_int(db, "SELECT coalesce(max(id), 0) FROM temp.prune_incidents", p, &last, err, errlen);
	if (rc == 0 && *chosen > 0)
		rc = delete_incident_rows(db, o, p, c, err, errlen);
	if (rc == 0 && !o->dry_run)
		rc = aur_db_commit(db, o->busy_ms, err, errlen);
	if (rc < 0 || o->dry_run)
		aur_db_rollback(db);
	if (rc == 0) {
		p->after = last;
		if (!o->dry_run)
			c->batches++;
	}
	return rc;
}

int aur_retention_prune_incidents(sqlite3 *db, const struct aur_retention_options *o,
				  struct aur_retention_incident_counts *c, char *err, size_t errlen)
{
	struct params p = { 0 };
	long long chosen = 0;
	int rc;

	memset(c, 0, sizeof(*c));
	p.cutoff_ms = o->cutoff_ms;
	p.limit = o->batch;
	aur_time_format_ms(o->cutoff_ms, p.cutoff_at, sizeof(p.cutoff_at));
	/*
	 * Foreign keys off for this connection: deleting an incident would
	 * make SQLite scan the whole incidents table twice for each one
	 * (previous_incident and merged_into have no index). The order of
	 * delete_incident_rows leaves no reference behind instead; the tests
	 * check it with PRAGMA foreign_key_check.
	 */
	rc = aur_db_exec(db, "PRAGMA foreign_keys = OFF", err, errlen);
	if (rc == 0)
		rc = aur_db_exec(db, "CREATE TEMP TABLE IF NOT EXISTS prune_incidents (id INTEGER PRIMARY KEY)", err,
				 errlen);
	while (rc == 0) {
		rc = incident_batch(db, o, &p, c, &chosen, err, errlen);
		if (rc < 0 || chosen < o->batch)
			break;
		if (!o->dry_run)
			between_batches(db, o->pause_ms);
	}
	if (rc == 0)
		rc = one_int(db, "SELECT count(*) FROM incidents i WHERE " OLD_INCIDENT
				 " AND i.id IN (" LIVE_INCIDENT_REFS ")", &p, &c->kept_referenced, err, errlen);
	aur_db_exec(db, "PRAGMA foreign_keys = ON", NULL, 0);
	if (rc == 0 && !o->dry_run)
		sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	return rc;
}

int aur_retention_parse(const char *value, long long *ms)
{
	if (!value)
		return -EINVAL;
	if (!strcmp(value, AUR_RETENTION_NEVER)) {
		*ms = 0;
		return 0;
	}
	if (aur_cli_parse_duration_ms(value, ms) < 0 || *ms < MIN_RETENTION_MS)
		return -EINVAL;
	return 0;
}

int aur_retention_get(sqlite3 *db, const char *key, const char *def, char **text, long long *ms, char *err,
		      size_t errlen)
{
	char *v = aur_db_setting_get(db, key);

	if (!v)
		v = aur_xstrdup(def);
	if (aur_retention_parse(v, ms) < 0) {
		snprintf(err, errlen, "setting %s is '%s': neither a duration of an hour or more (30d, 12h) nor never",
			 key, v);
		free(v);
		*text = NULL;
		return -EINVAL;
	}
	*text = v;
	return 0;
}

int aur_retention_set(sqlite3 *db, const char *key, const char *value, char *err, size_t errlen)
{
	long long ms;

	if (value && aur_retention_parse(value, &ms) < 0) {
		snprintf(err, errlen, "'%s' is neither a duration of an hour or more (30d, 12h, 2w) nor never", value);
		return -EINVAL;
	}
	return aur_db_setting_set(db, key, value, err, errlen);
}

static jv num(long long n)
{
	return jv_number((double)n);
}

static jv head(const char *table, const struct aur_retention_options *o, const char *age_key, const char *age)
{
	char when[32];
	jv r = jv_object();

	aur_time_format_ms(o->cutoff_ms, when, sizeof(when));
	r = jv_object_set(r, jv_string("v"), jv_number(1));
	r = jv_object_set(r, jv_string("type"), jv_string("prune"));
	r = jv_object_set(r, jv_string("table"), jv_string(table));
	r = jv_object_set(r, jv_string(age_key), jv_string(age));
	r = jv_object_set(r, jv_string("cutoff"), jv_string(when));
	return jv_object_set(r, jv_string("dry_run"), jv_bool(o->dry_run));
}

jv aur_retention_inbox_json(const struct aur_retention_inbox_counts *c, const struct aur_retention_options *o,
			    const char *age)
{
	jv r = head("inbox", o, "older_than", age);
	jv d = jv_object();
	jv k = jv_object();

	d = jv_object_set(d, jv_string("inbox"), num(c->inbox));
	d = jv_object_set(d, jv_string("alerts"), num(c->alerts));
	d = jv_object_set(d, jv_string("builds"), num(c->builds));
	d = jv_object_set(d, jv_string("events"), num(c->events));
	d = jv_object_set(d, jv_string("quarantine"), c->quarantine_skipped ? jv_null() : num(c->quarantine));
	k = jv_object_set(k, jv_string("open_incident"), num(c->kept_open));
	k = jv_object_set(k, jv_string("unread"), num(c->kept_unread));
	r = jv_object_set(r, jv_string("deleted"), d);
	r = jv_object_set(r, jv_string("kept"), k);
	r = jv_object_set(r, jv_string("slowest_stage"), c->slowest_stage[0] ? jv_string(c->slowest_stage) : jv_null());
	r = jv_object_set(r, jv_string("mark"), c->mark >= 0 ? num(c->mark) : jv_null());
	return jv_object_set(r, jv_string("batches"), num(c->batches));
}

void aur_retention_inbox_text(const struct aur_retention_inbox_counts *c, const struct aur_retention_options *o,
			      const char *age, struct aur_buf *b)
{
	char when[32];

	aur_time_format_ms(o->cutoff_ms, when, sizeof(when));
	aur_buf_addf(b, "%s %lld deliveries received before %s (older than %s), %lld alerts of no incident,"
			" %lld builds, %lld events of no incident",
		     o->dry_run ? "would prune" : "pruned", c->inbox, when, age, c->alerts, c->builds, c->events);
	if (c->quarantine_skipped)
		aur_buf_adds(b, "; the quarantine table has no received_ms or received_at column: not pruned\n");
	else
		aur_buf_addf(b, ", %lld quarantined deliveries\n", c->quarantine);
	aur_buf_addf(b, "kept %lld old deliveries of open incidents and %lld not yet read", c->kept_open,
		     c->kept_unread);
	if (c->slowest_stage[0])
		aur_buf_addf(b, " (stage %s is at inbox id %lld)", c->slowest_stage, c->mark);
	aur_buf_addf(b, "; %lld transactions\n", c->batches);
}

jv aur_retention_incidents_json(const struct aur_retention_incident_counts *c,
				const struct aur_retention_options *o, const char *age)
{
	jv r = head("incidents", o, "resolved_before", age);
	jv d = jv_object();

	d = jv_object_set(d, jv_string("incidents"), num(c->incidents));
	d = jv_object_set(d, jv_string("alerts"), num(c->alerts));
	d = jv_object_set(d, jv_string("incident_alerts"), num(c->incident_alerts));
	d = jv_object_set(d, jv_string("events"), num(c->events));
	d = jv_object_set(d, jv_string("thoughts"), num(c->thoughts));
	d = jv_object_set(d, jv_string("suggestions"), num(c->suggestions));
	d = jv_object_set(d, jv_string("comments"), num(c->comments));
	r = jv_object_set(r, jv_string("deleted"), d);
	r = jv_object_set(r, jv_string("unlinked"), num(c->unlinked));
	r = jv_object_set(r, jv_string("kept"), jv_object_set(jv_object(), jv_string("referenced"),
							       num(c->kept_referenced)));
	return jv_object_set(r, jv_string("batches"), num(c->batches));
}

void aur_retention_incidents_text(const struct aur_retention_incident_counts *c,
				  const struct aur_retention_options *o, const char *age, struct aur_buf *b)
{
	char when[32];

	aur_time_format_ms(o->cutoff_ms, when, sizeof(when));
	aur_buf_addf(b, "%s %lld incidents resolved or merged before %s (%s ago), with %lld alerts, %lld alert links,"
			" %lld events, %lld thoughts, %lld suggestions, %lld comments\n",
		     o->dry_run ? "would prune" : "pruned", c->incidents, when, age, c->alerts, c->incident_alerts,
		     c->events, c->thoughts, c->suggestions, c->comments);
	aur_buf_addf(b, "kept %lld old enough that an open incident or a silent heartbeat refers to;"
			" %lld references to pruned incidents cleared; %lld transactions\n",
		     c->kept_referenced, c->unlinked, c->batches);
}
