#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "xalloc.h"
#include "banned.h"

/*
 * Forward migrations, one per schema version, applied in order inside one
 * transaction each. Never edit a released entry: add the next one.
 */
static const char *const migrations[] = {
	/* 1: the inbox, the connectors, the shared rate limiter, settings */
	"CREATE TABLE inbox ("
	"  id INTEGER PRIMARY KEY,"
	"  platform TEXT NOT NULL,"
	"  received_at TEXT NOT NULL,"
	"  received_ms INTEGER NOT NULL,"
	"  remote TEXT NOT NULL DEFAULT '',"
	"  content_type TEXT NOT NULL DEFAULT '',"
	"  headers TEXT NOT NULL DEFAULT '{}',"
	"  body BLOB NOT NULL,"
	"  body_sha256 TEXT NOT NULL,"
	"  delivery_key TEXT UNIQUE,"
	"  test INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE INDEX inbox_platform_id ON inbox(platform, id);"
	"CREATE INDEX inbox_body ON inbox(platform, body_sha256, received_ms);"
	"CREATE INDEX inbox_received ON inbox(received_ms);"
	"CREATE TABLE connectors ("
	"  platform TEXT PRIMARY KEY,"
	"  enabled INTEGER NOT NULL DEFAULT 1,"
	"  token_hash TEXT,"
	"  hmac_secret TEXT,"
	"  rca INTEGER NOT NULL DEFAULT 1,"
	"  base_url TEXT,"
	"  last_received TEXT,"
	"  last_received_ms INTEGER,"
	"  last_test_ok_ms INTEGER,"
	"  received_count INTEGER NOT NULL DEFAULT 0,"
	"  rejected_count INTEGER NOT NULL DEFAULT 0,"
	"  test_token_hash TEXT,"
	"  test_token_expires_ms INTEGER"
	");"
	"INSERT INTO connectors(platform, rca) VALUES"
	"  ('grafana', 1), ('alertmanager', 1), ('pagerduty', 1), ('datadog', 1),"
	"  ('netdata', 1), ('dynatrace', 1), ('splunk', 1), ('jenkins', 0), ('cloudbees', 0);"
	"CREATE TABLE rate_limits ("
	"  platform TEXT PRIMARY KEY,"
	"  tokens REAL NOT NULL,"
	"  updated_ms INTEGER NOT NULL"
	");"
	"CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE VIEW grafana_alerts AS SELECT * FROM inbox WHERE platform = 'grafana';"
	"CREATE VIEW alertmanager_alerts AS SELECT * FROM inbox WHERE platform = 'alertmanager';"
	"CREATE VIEW pagerduty_alerts AS SELECT * FROM inbox WHERE platform = 'pagerduty';"
	"CREATE VIEW datadog_alerts AS SELECT * FROM inbox WHERE platform = 'datadog';"
	"CREATE VIEW netdata_alerts AS SELECT * FROM inbox WHERE platform = 'netdata';"
	"CREATE VIEW dynatrace_alerts AS SELECT * FROM inbox WHERE platform = 'dynatrace';"
	"CREATE VIEW splunk_alerts AS SELECT * FROM inbox WHERE platform = 'splunk';"
	"CREATE VIEW jenkins_alerts AS SELECT * FROM inbox WHERE platform = 'jenkins';"
	"CREATE VIEW cloudbees_alerts AS SELECT * FROM inbox WHERE platform = 'cloudbees';",

	/*
	 * 2: incidents and what they are made of. open_incident_terms and
	 * open_incident_services index only OPEN incidents (rows go when an
	 * incident resolves or merges), so finding candidates costs the same
	 * whether 1,000 or 1,000,000 incidents are stored.
	 */
	"CREATE TABLE incidents ("
	"  id INTEGER PRIMARY KEY,"
	"  title TEXT NOT NULL,"
	"  status TEXT NOT NULL DEFAULT 'investigating'"
	"    CHECK (status IN ('investigating', 'analyzed', 'resolved', 'merged')),"
	"  severity TEXT NOT NULL DEFAULT 'medium'"
	"    CHECK (severity IN ('critical', 'high', 'medium', 'low', 'info')),"
	"  service TEXT NOT NULL DEFAULT '',"
	"  source_type TEXT NOT NULL DEFAULT '',"
	"  source_link TEXT NOT NULL DEFAULT '',"
	"  started_at TEXT NOT NULL,"
	"  started_ms INTEGER NOT NULL,"
	"  last_activity_ms INTEGER NOT NULL,"
	"  updated_at TEXT NOT NULL,"
	"  resolved_at TEXT,"
	"  merged_into INTEGER REFERENCES incidents(id),"
	"  previous_incident INTEGER REFERENCES incidents(id),"
	"  rca_state TEXT NOT NULL DEFAULT 'idle'"
	"    CHECK (rca_state IN ('idle', 'running', 'complete', 'error')),"
	"  summary TEXT,"
	"  root_cause TEXT,"
	"  postmortem TEXT,"
	"  metadata TEXT NOT NULL DEFAULT '{}',"
	"  vector BLOB"
	");"
	"CREATE INDEX incidents_status_activity ON incidents(status, last_activity_ms);"
	"CREATE INDEX incidents_service ON incidents(service);"
	"CREATE TABLE alerts ("
	"  id INTEGER PRIMARY KEY,"
	"  source TEXT NOT NULL,"
	"  dedup_key TEXT NOT NULL,"
	"  fingerprint TEXT NOT NULL DEFAULT '',"
	"  status TEXT NOT NULL,"
	"  severity TEXT NOT NULL DEFAULT 'medium',"
	"  title TEXT NOT NULL DEFAULT '',"
	"  service TEXT NOT NULL DEFAULT '',"
	"  service_key TEXT NOT NULL DEFAULT '',"
	"  host TEXT NOT NULL DEFAULT '',"
	"  record TEXT NOT NULL,"
	"  first_seen TEXT NOT NULL,"
	"  first_seen_ms INTEGER NOT NULL,"
	"  last_seen TEXT NOT NULL,"
	"  last_seen_ms INTEGER NOT NULL,"
	"  count INTEGER NOT NULL DEFAULT 1,"
	"  first_inbox_id INTEGER,"
	"  last_inbox_id INTEGER,"
	"  incident_id INTEGER REFERENCES incidents(id),"
	"  UNIQUE (source, dedup_key)"
	");"
	"CREATE INDEX alerts_incident ON alerts(incident_id);"
	"CREATE TABLE incident_alerts ("
	"  incident_id INTEGER NOT NULL REFERENCES incidents(id),"
	"  alert_id INTEGER NOT NULL REFERENCES alerts(id),"
	"  strategy TEXT NOT NULL,"
	"  score REAL NOT NULL,"
	"  matched_incident INTEGER,"
	"  reason TEXT NOT NULL DEFAULT '',"
	"  inbox_id INTEGER,"
	"  joined_at TEXT NOT NULL,"
	"  PRIMARY KEY (incident_id, alert_id)"
	");"
	"CREATE INDEX incident_alerts_alert ON incident_alerts(alert_id);"
	"CREATE TABLE open_incident_services ("
	"  service_key TEXT NOT NULL,"
	"  incident_id INTEGER NOT NULL REFERENCES incidents(id),"
	"  PRIMARY KEY (service_key, incident_id)"
	") WITHOUT ROWID;"
	"CREATE INDEX open_incident_services_incident ON open_incident_services(incident_id);"
	"CREATE TABLE open_incident_terms ("
	"  term TEXT NOT NULL,"
	"  incident_id INTEGER NOT NULL REFERENCES incidents(id),"
	"  PRIMARY KEY (term, incident_id)"
	") WITHOUT ROWID;"
	"CREATE INDEX open_incident_terms_incident ON open_incident_terms(incident_id);"
	"CREATE TABLE term_stats (term TEXT PRIMARY KEY, docs INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE events ("
	"  id INTEGER PRIMARY KEY,"
	"  at TEXT NOT NULL,"
	"  type TEXT NOT NULL,"
	"  incident_id INTEGER REFERENCES incidents(id),"
	"  data TEXT NOT NULL DEFAULT '{}'"
	");"
	"CREATE INDEX events_incident ON events(incident_id, id);"
	"CREATE TABLE incident_thoughts ("
	"  id INTEGER PRIMARY KEY,"
	"  incident_id INTEGER NOT NULL REFERENCES incidents(id),"
	"  at TEXT NOT NULL,"
	"  kind TEXT NOT NULL DEFAULT 'thought',"
	"  text TEXT NOT NULL"
	");"
	"CREATE INDEX incident_thoughts_incident ON incident_thoughts(incident_id, id);"
	"CREATE TABLE incident_suggestions ("
	"  id INTEGER PRIMARY KEY,"
	"  incident_id INTEGER NOT NULL REFERENCES incidents(id),"
	"  at TEXT NOT NULL,"
	"  kind TEXT NOT NULL DEFAULT 'diagnostic' CHECK (kind IN ('diagnostic', 'fix', 'action')),"
	"  title TEXT NOT NULL,"
	"  command TEXT NOT NULL DEFAULT '',"
	"  risk TEXT NOT NULL DEFAULT 'low' CHECK (risk IN ('none', 'low', 'medium', 'high')),"
	"  text TEXT NOT NULL DEFAULT ''"
	");"
	"CREATE INDEX incident_suggestions_incident ON incident_suggestions(incident_id, id);"
	"CREATE TABLE operator_tokens ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  token_hash TEXT NOT NULL UNIQUE,"
	"  created_at TEXT NOT NULL"
	");",
	/*
	 * 3: retries are recognised through DB-recent (recent.h): this index
	 * cost every delivery a random page written twice and fsynced
	 */
	"DROP INDEX IF EXISTS inbox_body;",
	/*
	 * 4: the resume point of the pipeline (resume.h): per stage, the
	 * highest inbox id whose records that stage has committed and passed
	 * on. A database made before it resumes after its newest delivery, as
	 * aurora-inbox follow did by default until then.
	 */
	"CREATE TABLE stage_marks ("
	"  stage TEXT PRIMARY KEY,"
	"  inbox_id INTEGER NOT NULL,"
	"  updated_ms INTEGER NOT NULL"
	");"
	"INSERT INTO stage_marks (stage, inbox_id, updated_ms)"
	"  SELECT 'correlate', coalesce(max(id), 0), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) FROM inbox;",
	/*
	 * 5: every Jenkins and CloudBees build aurora-rca has seen, one row per
	 * build: the alerts table keeps one row per job, so build #508 was gone
	 * once #509 ran, and with it the deploy behind a regression.
	 */
	"CREATE TABLE builds ("
	"  id INTEGER PRIMARY KEY,"
	"  source TEXT NOT NULL,"
	"  job TEXT NOT NULL,"
	"  number INTEGER NOT NULL,"
	"  result TEXT NOT NULL DEFAULT '',"
	"  at_ms INTEGER NOT NULL,"
	"  record TEXT NOT NULL,"
	"  UNIQUE (source, job, number)"
	");"
	"CREATE INDEX builds_at ON builds(at_ms);",
	/*
	 * 6: reading a build's console from Jenkins or CloudBees: the API
	 * user and token of the connector (sent as HTTP basic, so kept in
	 * clear like the HMAC secret), and on the build, the failing part of
	 * the console the investigator fetched, so that a second
	 * investigation reads it here instead of fetching it again.
	 */
	"ALTER TABLE connectors ADD COLUMN api_user TEXT;"
	"ALTER TABLE connectors ADD COLUMN api_token TEXT;"
	"ALTER TABLE builds ADD COLUMN console_excerpt TEXT;"
	"ALTER TABLE builds ADD COLUMN console_url TEXT;"
	"ALTER TABLE builds ADD COLUMN console_fetched_ms INTEGER;",
	/*
	 * 7: flapping. When every alert of an incident has resolved, the
	 * incident waits a quiet period before it resolves (aurora-correlate
	 * --quiet-period): resolve_pending_ms is when the last alert resolved,
	 * NULL while something fires. Only the few pending incidents are
	 * indexed. And the dependencies alerts have named in their labels and
	 * tags (upstream, db, peer.service, ...), learned as they arrive: the
	 * next time the datastore fails, its own alert finds its clients'
	 * incident even when no client alert names it.
	 */
	"ALTER TABLE incidents ADD COLUMN resolve_pending_ms INTEGER;"
	"CREATE INDEX incidents_resolve_pending ON incidents(resolve_pending_ms)"
	" WHERE resolve_pending_ms IS NOT NULL;"
	"CREATE TABLE service_dependencies ("
	"  service_key TEXT NOT NULL,"
	"  depends_on TEXT NOT NULL,"
	"  source TEXT NOT NULL,"          /* where it was read: "label db", "tag depends_on" ... */
	"  first_seen_ms INTEGER NOT NULL,"
	"  last_seen_ms INTEGER NOT NULL,"
	"  PRIMARY KEY (service_key, depends_on)"
	") WITHOUT ROWID;"
	"CREATE INDEX service_dependencies_on ON service_dependencies(depends_on, service_key);",
	/*
	 * 8: the alerting path's pulse (aurora-correlate --heartbeat-silence):
	 * each heartbeat alert's last arrival, and the incident its silence
	 * opened until it arrives again.
	 */
	"CREATE TABLE heartbeats ("
	"  source TEXT NOT NULL,"
	"  dedup_key TEXT NOT NULL,"
	"  title TEXT NOT NULL DEFAULT '',"
	"  service TEXT NOT NULL DEFAULT '',"
	"  last_seen_ms INTEGER NOT NULL,"
	"  silent_incident INTEGER,"
	"  PRIMARY KEY (source, dedup_key)"
	") WITHOUT ROWID;",
	/*
	 * 9: people on an incident: who acknowledged it and when (one
	 * acknowledgement per incident), and their comments on its timeline.
	 */
	"ALTER TABLE incidents ADD COLUMN acknowledged_by TEXT;"
	"ALTER TABLE incidents ADD COLUMN acknowledged_at TEXT;"
	"CREATE TABLE incident_comments ("
	"  id INTEGER PRIMARY KEY,"
	"  incident_id INTEGER NOT NULL REFERENCES incidents(id),"
	"  at TEXT NOT NULL,"
	"  author TEXT NOT NULL,"
	"  text TEXT NOT NULL"
	");"
	"CREATE INDEX incident_comments_incident ON incident_comments(incident_id, id);",
	/*
	 * 10: an alert as one incident saw it. Whether it opened the
	 * incident (the correlation of an opener names the best candidate it
	 * did not join, so its strategy alone cannot tell), and its
	 * notifications, last one and status there: the alert's own row
	 * counts every recurrence, in every incident. Older rows: as well as
	 * can be told from the candidate and from whether the alert is still
	 * in that incident.
	 */
	"ALTER TABLE incident_alerts ADD COLUMN opened INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE incident_alerts ADD COLUMN notifications INTEGER NOT NULL DEFAULT 1;"
	"ALTER TABLE incident_alerts ADD COLUMN last_seen TEXT;"
	"ALTER TABLE incident_alerts ADD COLUMN status TEXT;"
	"UPDATE incident_alerts SET opened = 1 WHERE strategy IN ('none', 'heartbeat_silence')"
	"  OR matched_incident IS NULL OR matched_incident != incident_id;"
	"UPDATE incident_alerts SET (notifications, last_seen, status) ="
	"  (SELECT CASE WHEN a.incident_id = incident_alerts.incident_id THEN a.count ELSE 1 END,"
	"          CASE WHEN a.incident_id = incident_alerts.incident_id THEN a.last_seen ELSE joined_at END,"
	"          CASE WHEN a.incident_id = incident_alerts.incident_id THEN a.status ELSE 'resolved' END"
	"   FROM alerts a WHERE a.id = incident_alerts.alert_id);",
	/*
	 * 11: what became of each delivery (dstate.h): state NULL while no
	 * stage has decided (pending), then alerts (alert_count of them), note,
	 * test or error (state_reason says why). The index holds decided rows
	 * only, so the receiver's inserts (state NULL) never touch it.
	 * Deliveries the pipeline had already passed are "unknown": what
	 * became of them was not written down. And received_count no longer
	 * counts test deliveries (last_received never did): the tests counted
	 * so far are taken out.
	 */
	"ALTER TABLE inbox ADD COLUMN state TEXT"
	"  CHECK (state IN ('alerts', 'note', 'test', 'error', 'unknown'));"
	"ALTER TABLE inbox ADD COLUMN state_reason TEXT;"
	"ALTER TABLE inbox ADD COLUMN alert_count INTEGER;"
	"CREATE INDEX inbox_state ON inbox(state, id) WHERE state IS NOT NULL;"
	"UPDATE inbox SET state = CASE WHEN test THEN 'test' ELSE 'unknown' END,"
	"  state_reason = CASE WHEN test THEN NULL"
	"    ELSE 'decided before aurora recorded what became of deliveries' END"
	"  WHERE id <= (SELECT inbox_id FROM stage_marks WHERE stage = 'correlate');"
	"UPDATE connectors SET received_count = max(0, received_count -"
	"  (SELECT count(*) FROM inbox WHERE inbox.platform = connectors.platform AND inbox.test = 1));",
	/*
	 * 12: platforms an operator adds (aurora-connector add): their
	 * connector rows are marked added, so they can be told from the nine
	 * built in and removed again; an added platform may name the header
	 * that carries the hex HMAC-SHA256 of its bodies.
	 */
	"ALTER TABLE connectors ADD COLUMN added INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE connectors ADD COLUMN hmac_header TEXT;",
	/*
	 * 13: refused at the door (shape.h): a delivery whose body does not
	 * have its platform's shape is answered 422 and kept here, not in the
	 * inbox, until an operator replays it into the inbox or drops it
	 * (aurora-inbox quarantine). And every connector's last rejection:
	 * when, the status answered, and why.
	 */
	"CREATE TABLE quarantine ("
	"  id INTEGER PRIMARY KEY,"
	"  platform TEXT NOT NULL,"
	"  received_at TEXT NOT NULL,"
	"  received_ms INTEGER NOT NULL,"
	"  remote TEXT NOT NULL DEFAULT '',"
	"  content_type TEXT NOT NULL DEFAULT '',"
	"  headers TEXT NOT NULL DEFAULT '{}',"
	"  body BLOB NOT NULL,"
	"  reason TEXT NOT NULL,"
	"  test INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE INDEX quarantine_platform_id ON quarantine(platform, id);"
	"ALTER TABLE connectors ADD COLUMN last_rejected_ms INTEGER;"
	"ALTER TABLE connectors ADD COLUMN last_rejected_status INTEGER;"
	"ALTER TABLE connectors ADD COLUMN last_rejected_reason TEXT;",
	/*
	 * 14: an incident's newest event of a type (aurora-rca asks, for every
	 * decision, whether an alert joined since the last investigation) is
	 * found in the index instead of by reading every event of the incident:
	 * with tens of thousands of alerts attached, aurora-rca spent 4 ms a
	 * decision there and held the whole pipeline back.
	 */
	"CREATE INDEX events_incident_type ON events(incident_id, type, id);",
};

void aur_db_options_init(struct aur_db_options *o)
{
	o->busy_timeout_ms = 5000;
	o->synchronous_full = 1;
	o->readonly = 0;
}

const char *aur_db_default_path(const char *arg)
{
	const char *env;

	if (arg && *arg)
		return arg;
	env = getenv("AURORA_DB");
	if (env && *env)
		return env;
	return "./aurora.db";
}

int aur_db_errno(int sqlite_rc)
{
	switch (sqlite_rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_FULL:
		return -ENOSPC;
	default:
		return -EIO;
	}
}

static void set_err(char *err, size_t errlen, const char *what, sqlite3 *db)
{
	if (err && errlen)
		snprintf(err, errlen, "%s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
}

int aur_db_step_end(sqlite3 *db, int sqlite_rc, const char *what, char *err, size_t errlen)
{
	int rc;

	if (sqlite_rc == SQLITE_DONE)
		return 0;
	set_err(err, errlen, what, db);
	rc = aur_db_errno(sqlite_rc);
	return rc ? rc : -EIO;
}

int aur_db_exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		set_err(err, errlen, "sqlite", db);
	return aur_db_errno(rc);
}

int aur_db_prepare(sqlite3 *db, sqlite3_stmt **st, const char *sql, char *err, size_t errlen)
{
	int rc = sqlite3_prepare_v2(db, sql, -1, st, NULL);

	if (rc != SQLITE_OK) {
		set_err(err, errlen, "prepare", db);
		*st = NULL;
	}
	return aur_db_errno(rc);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pause_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/*
 * The connection's busy timeout (sqlite3_busy_timeout has no getter); 0
 * when it cannot be read. Through the connection's statement list: a
 * pipeline stage asks at every BEGIN and COMMIT, one record at a time.
 */
static int busy_timeout_of(sqlite3 *db)
{
	sqlite3_stmt *st = aur_db_stmt(db, "PRAGMA busy_timeout", NULL, 0);
	int ms = 0;

	if (st && sqlite3_step(st) == SQLITE_ROW)
		ms = sqlite3_column_int(st, 0);
	if (st)
		sqlite3_reset(st);
	return ms;
}

/*
 * sqlite3_exec of one statement, prepared once: BEGIN IMMEDIATE and COMMIT
 * once per record cost a parse each otherwise. Its rows, if any, are
 * skipped.
 */
static int exec_cached(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = aur_db_stmt(db, sql, NULL, 0);
	int rc;

	if (!st)
		return sqlite3_errcode(db);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/*
 * Run sql until it is not busy or until_ms (CLOCK_MONOTONIC) has passed.
 * The busy handler's own wait counts against the same deadline: each try
 * may wait only what is left of it, so the whole call waits at most once
 * the time it was given, never the busy timeout again on top. Past the
 * deadline it still tries once without waiting: a free lock is taken.
 */
static int exec_until(sqlite3 *db, const char *sql, long long until_ms, char *err, size_t errlen)
{
	int saved = busy_timeout_of(db);
	int rc;

	for (;;) {
		long long left = until_ms - now_ms();

		sqlite3_busy_timeout(db, left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left);
		rc = exec_cached(db, sql);
		if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED)
			break;
		if (now_ms() >= until_ms)
			break;
		pause_ms(5);
	}
	sqlite3_busy_timeout(db, saved);
	if (rc != SQLITE_OK)
		set_err(err, errlen, sql, db);
	return aur_db_errno(rc);
}

static int exec_retry(sqlite3 *db, const char *sql, int deadline_ms, char *err, size_t errlen)
{
	return exec_until(db, sql, now_ms() + deadline_ms, err, errlen);
}

long long aur_db_deadline(int ms)
{
	return now_ms() + ms;
}

int aur_db_begin(sqlite3 *db, int deadline_ms, char *err, size_t errlen)
{
	return exec_retry(db, "BEGIN IMMEDIATE", deadline_ms, err, errlen);
}

int aur_db_commit(sqlite3 *db, int deadline_ms, char *err, size_t errlen)
{
	return exec_retry(db, "COMMIT", deadline_ms, err, errlen);
}

int aur_db_begin_by(sqlite3 *db, long long until_ms, char *err, size_t errlen)
{
	return exec_until(db, "BEGIN IMMEDIATE", until_ms, err, errlen);
}

int aur_db_commit_by(sqlite3 *db, long long until_ms, char *err, size_t errlen)
{
	return exec_until(db, "COMMIT", until_ms, err, errlen);
}

void aur_db_rollback(sqlite3 *db)
{
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

static int user_version(sqlite3 *db, int *version, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = aur_db_prepare(db, &st, "PRAGMA user_version", err, errlen);
	if (rc < 0)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*version = sqlite3_column_int(st, 0);
		rc = 0;
	} else {
		set_err(err, errlen, "user_version", db);
		rc = aur_db_errno(rc);
		if (rc == 0)
			rc = -EIO;
	}
	sqlite3_finalize(st);
	return rc;
}

static int migrate(sqlite3 *db, int busy_ms, char *err, size_t errlen)
{
	int target = (int)(sizeof(migrations) / sizeof(migrations[0]));
	char pragma[64];
	int version = 0;
	int rc;

	rc = user_version(db, &version, err, errlen);
	if (rc < 0)
		return rc;
	if (version >= target)
		return 0;
	rc = aur_db_begin(db, busy_ms, err, errlen);
	if (rc < 0)
		return rc;
	/* another process may have migrated while we waited for the lock */
	rc = user_version(db, &version, err, errlen);
	while (rc == 0 && version < target) {
		rc = aur_db_exec(db, migrations[version], err, errlen);
		version++;
	}
	if (rc == 0) {
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", version);
		rc = aur_db_exec(db, pragma, err, errlen);
	}
	if (rc == 0)
		rc = aur_db_commit(db, busy_ms, err, errlen);
	if (rc < 0)
		aur_db_rollback(db);
	return rc;
}

/*
 * Refuse a file that is SQLite but not aurora's: PRAGMA user_version 0
 * (no migration ever ran) while the file already holds tables, or, read
 * only, no migration at all. Migrating such a file would plant aurora's
 * tables among someone else's. 0, or -ENODATA with err set.
 */
static int check_aurora(sqlite3 *db, const char *path, int readonly, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int version = 0;
	int tables = 0;
	int rc;

	rc = user_version(db, &version, err, errlen);
	if (rc < 0 || version > 0)
		return rc;
	rc = aur_db_prepare(db, &st, "SELECT count(*) FROM sqlite_master WHERE type = 'table'", err, errlen);
	if (rc < 0)
		return rc;
	if (sqlite3_step(st) == SQLITE_ROW)
		tables = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (tables == 0 && !readonly)
		return 0; /* a new file: migrate makes it one */
	if (err && errlen)
		snprintf(err, errlen, "%s is not an aurora database (%s)", path,
			 tables ? "it holds other tables" : "no aurora tables");
	return -ENODATA;
}

int aur_db_open(sqlite3 **out, const char *path, const struct aur_db_options *o,
		char *err, size_t errlen)
{
	struct aur_db_options defaults;
	sqlite3 *db = NULL;
	long long until;
	int flags;
	int rc;

	if (!o) {
		aur_db_options_init(&defaults);
		o = &defaults;
	}
	*out = NULL;
	/* one busy timeout for the whole open: the WAL switch and a migration share it */
	until = now_ms() + o->busy_timeout_ms;
	flags = o->readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	flags |= SQLITE_OPEN_NOMUTEX;
	rc = sqlite3_open_v2(path, &db, flags, NULL);
	if (rc != SQLITE_OK) {
		if (err && errlen)
			snprintf(err, errlen, "cannot open database %s: %s", path,
				 db ? sqlite3_errmsg(db) : "out of memory");
		rc = aur_db_errno(rc);
		goto out;
	}
	sqlite3_busy_timeout(db, o->busy_timeout_ms);
	sqlite3_extended_result_codes(db, 1);
	/* before anything is set on the file: WAL mode would change someone else's */
	rc = check_aurora(db, path, o->readonly, err, errlen);
	if (rc < 0)
		goto out;
	if (!o->readonly) {
		rc = exec_until(db, "PRAGMA journal_mode = WAL", until, err, errlen);
		if (rc < 0)
			goto out;
		/* a WAL that restarts after a burst gives the disk back down to this */
		rc = aur_db_exec(db, "PRAGMA journal_size_limit = 67108864", err, errlen);
		if (rc < 0)
			goto out;
	}
	rc = aur_db_exec(db, o->synchronous_full ? "PRAGMA synchronous = FULL"
						 : "PRAGMA synchronous = NORMAL",
			 err, errlen);
	if (rc == 0)
		rc = aur_db_exec(db, "PRAGMA foreign_keys = ON", err, errlen);
	/* savepoint journals and sorts in memory: they are small and short-lived */
	if (rc == 0)
		rc = aur_db_exec(db, "PRAGMA temp_store = MEMORY", err, errlen);
	if (rc == 0 && !o->readonly)
		rc = migrate(db, (int)(until > now_ms() ? until - now_ms() : 0), err, errlen);
	if (rc < 0)
		goto out;
	*out = db;
	db = NULL;
out:
	if (rc < 0 && db && (sqlite3_errcode(db) & 0xff) == SQLITE_NOTADB) {
		if (err && errlen)
			snprintf(err, errlen, "%s is not an aurora database (not an SQLite file)", path);
		rc = -ENODATA;
	}
	if (rc < 0 && err && errlen && !err[0])
		snprintf(err, errlen, "cannot open database %s", path);
	aur_db_close(db); /* exec_until leaves its statements prepared */
	return rc < 0 ? (rc == -EBUSY || rc == -ENOSPC || rc == -ENODATA ? rc : -EIO) : 0;
}

void aur_db_close(sqlite3 *db)
{
	sqlite3_stmt *st;

	if (!db)
		return;
	while ((st = sqlite3_next_stmt(db, NULL)) != NULL)
		sqlite3_finalize(st);
	sqlite3_close(db);
}

sqlite3_stmt *aur_db_stmt(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;

	/* the connection already lists its statements: no cache of our own to keep */
	while ((st = sqlite3_next_stmt(db, st)) != NULL) {
		const char *text = sqlite3_sql(st);

		if (text && !sqlite3_stmt_busy(st) && !strcmp(text, sql)) {
			sqlite3_clear_bindings(st);
			return st;
		}
	}
	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
		set_err(err, errlen, "prepare", db);
		return NULL;
	}
	return st;
}

char *aur_db_setting_get(sqlite3 *db, const char *key)
{
	sqlite3_stmt *st = NULL;
	char *value = NULL;

	if (sqlite3_prepare_v2(db, "SELECT value FROM settings WHERE key = ?", -1, &st, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		value = aur_xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return value;
}

int aur_db_setting_set(sqlite3 *db, const char *key, const char *value, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = aur_db_prepare(db, &st,
			    value ? "INSERT INTO settings(key, value) VALUES (?, ?)"
				    " ON CONFLICT(key) DO UPDATE SET value = excluded.value"
				  : "DELETE FROM settings WHERE key = ?",
			    err, errlen);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (value)
		sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		set_err(err, errlen, "settings", db);
	rc = aur_db_errno(rc);
	sqlite3_finalize(st);
	return rc;
}
