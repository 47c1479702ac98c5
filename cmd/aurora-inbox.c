/*
 * aurora-inbox - read the inbox: list, show, follow, replay; prune it.
 *
 * Raw records go to stdout as JSON lines; people get a table (list) or
 * pretty JSON (show). The database is opened read-only, except by prune
 * and retention (lib/retention.c). See aurora-inbox(1).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jq.h>
#include <sqlite3.h>

#include "buf.h"
#include "cli.h"
#include "connector.h"
#include "db.h"
#include "dstate.h"
#include "exitcodes.h"
#include "follow.h"
#include "inbox.h"
#include "inboxscan.h"
#include "jsonl.h"
#include "log.h"
#include "quarantine.h"
#include "resume.h"
#include "retention.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

#define PROG "aurora-inbox"
#define DEFAULT_LIMIT 50
#define EXIT_GONE (-1) /* internal: stdout's reader went away; exits 0 */
#define EXIT_STOPPED (-2) /* internal: follow was asked to stop while writing; exits 0 */

enum { O_DB = AUR_CLI_BASE, O_PLATFORM, O_SINCE, O_UNTIL, O_FROM, O_CURSOR, O_RESUME, O_LIMIT, O_POLL, O_JSON,
       O_STATE, O_OLDER_THAN, O_DRY_RUN, O_BATCH, O_PAUSE };

struct opts {
	const char *db;
	const char *platform;
	const char *since;
	const char *until;
	const char *from;
	const char *cursor;
	const char *resume;
	const char *limit;
	const char *poll_ms;
	const char *state;
	int json;
	const char *older_than;
	int dry_run;
	const char *batch;
	const char *pause_ms;
	const char *cmd;
	const char *arg;
	const char *arg2;
};

static const char usage_text[] =
	"usage: aurora-inbox [--db PATH] COMMAND [options]\n"
	"\n"
	"Read the inbox: every webhook delivery aurora-recv accepted, as stored.\n"
	"\n"
	"commands:\n"
	"  list [--platform P] [--state S] [--since ID] [--limit N] [--json]\n"
	"        the newest N rows (default 50, 0 for all), or the first N after ID;\n"
	"        a table, or raw records as JSON lines with --json, each with what\n"
	"        became of it: state (alerts, note, test, error, unknown, pending),\n"
	"        state_reason, alert_count; --state keeps the rows in state S\n"
	"  stats [--since TIME] [--until TIME] [--json]\n"
	"        deliveries received in the window (default the last 24h) per\n"
	"        platform and state\n"
	"  show ID [--json]\n"
	"        one row as a raw record, pretty-printed, or one line with --json\n"
	"  follow [--from ID] [--cursor FILE] [--resume STAGE] [--platform P] [--poll-ms N]\n"
	"        print rows as raw records the moment they commit, until SIGTERM,\n"
	"        SIGINT or the reader of stdout goes away; start at ID (inclusive),\n"
	"        else after the id in FILE (rewritten after each batch printed),\n"
	"        else after the resume point of STAGE: the last inbox id whose\n"
	"        decisions that stage committed (default correlate, the end of the\n"
	"        pipeline; see aurora(7)); N is the fallback poll interval in ms\n"
	"        (default 1000)\n"
	"  replay (--since TIME | --from ID) [--until TIME] [--platform P]\n"
	"        print the matching rows as raw records and exit; TIME is RFC 3339,\n"
	"        epoch seconds or ms, or a duration before now (90s, 10m, 2h, 7d);\n"
	"        --since is inclusive, --until exclusive\n"
	"  prune [--older-than AGE] [--dry-run] [--json] [--batch N] [--pause-ms N]\n"
	"        delete deliveries received more than AGE ago (30d, 12h, 2w; default\n"
	"        the retention setting), except those a stage has not read yet and\n"
	"        those an open incident's alerts came from; also old alerts of no\n"
	"        incident, builds, events of no incident and quarantined deliveries;\n"
	"        N rows per transaction (default 100), N ms between them (default 10)\n"
	"  retention [AGE|never|default]\n"
	"        print the retention prune uses without --older-than (default 30d),\n"
	"        or set it\n"
	"  quarantine [list] [--platform P] [--limit N] [--json]\n"
	"        the deliveries refused at the door (422), newest first\n"
	"  quarantine show ID [--json]\n"
	"        one quarantined body as it came (the whole record with --json)\n"
	"  quarantine replay ID\n"
	"        move it into the inbox as a delivery (one transaction)\n"
	"  quarantine drop ID\n"
	"        delete it\n"
	"\n"
	"options (before or after the command):\n"
	"  --db PATH      the database (default $AURORA_DB, else ./aurora.db)\n"
	"  -q, --quiet    print errors only\n"
	"  -v, --verbose  print more on stderr (twice for debug)\n"
	"  -h, --help     print this help\n"
	"  --version      print the version\n"
	"\n"
	"exit status: 0 ok (also when the reader of stdout went away), 1 no such\n"
	"row (show, quarantine show|replay|drop), 2 usage, 65 unreadable cursor file\n"
	"or a bad stored retention, 74 I/O error, 75 database busy (prune: run again,\n"
	"it continues), 78 no database at PATH, no resume point for STAGE in it, or\n"
	"one that predates delivery states (list --state, stats)\n";

static int usage_short(void)
{
	fputs("usage: aurora-inbox [--db PATH] list|show|follow|replay|stats|prune|retention|\n"
	      "       quarantine [options]\n"
	      "try 'aurora-inbox --help' for more\n",
	      stderr);
	return AUR_EXIT_USAGE;
}

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return usage_short();
}

static void set_opt(int code, const char *arg, void *ctx)
{
	struct opts *o = ctx;

	switch (code) {
	case O_DB: o->db = arg; break;
	case O_PLATFORM: o->platform = arg; break;
	case O_SINCE: o->since = arg; break;
	case O_UNTIL: o->until = arg; break;
	case O_FROM: o->from = arg; break;
	case O_CURSOR: o->cursor = arg; break;
	case O_RESUME: o->resume = arg; break;
	case O_LIMIT: o->limit = arg; break;
	case O_POLL: o->poll_ms = arg; break;
	case O_JSON: o->json = 1; break;
	case O_STATE: o->state = arg; break;
	case O_OLDER_THAN: o->older_than = arg; break;
	case O_DRY_RUN: o->dry_run = 1; break;
	case O_BATCH: o->batch = arg; break;
	case O_PAUSE: o->pause_ms = arg; break;
	}
}

static const char *const states[] = { "alerts", "note", "test", "error", "unknown", "pending", NULL };

static int state_known(const char *s)
{
	for (int i = 0; states[i]; i++)
		if (!strcmp(states[i], s))
			return 1;
	return 0;
}

/* Parse argv; returns -1 to go on, else an exit code (help, version, misuse). */
static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, O_DB },
		{ "platform", required_argument, NULL, O_PLATFORM },
		{ "since", required_argument, NULL, O_SINCE },
		{ "until", required_argument, NULL, O_UNTIL },
		{ "from", required_argument, NULL, O_FROM },
		{ "cursor", required_argument, NULL, O_CURSOR },
		{ "resume", required_argument, NULL, O_RESUME },
		{ "limit", required_argument, NULL, O_LIMIT },
		{ "poll-ms", required_argument, NULL, O_POLL },
		{ "json", no_argument, NULL, O_JSON },
		{ "state", required_argument, NULL, O_STATE },
		{ "older-than", required_argument, NULL, O_OLDER_THAN },
		{ "dry-run", no_argument, NULL, O_DRY_RUN },
		{ "batch", required_argument, NULL, O_BATCH },
		{ "pause-ms", required_argument, NULL, O_PAUSE },
		{ NULL, 0, NULL, 0 },
	};
	static const struct aur_cli_command cmds[] = {
		{ "list", AUR_CLI_OPT(O_PLATFORM) | AUR_CLI_OPT(O_SINCE) | AUR_CLI_OPT(O_LIMIT) |
			  AUR_CLI_OPT(O_JSON) | AUR_CLI_OPT(O_STATE), 0, 0 },
		{ "stats", AUR_CLI_OPT(O_SINCE) | AUR_CLI_OPT(O_UNTIL) | AUR_CLI_OPT(O_JSON), 0, 0 },
		{ "show", AUR_CLI_OPT(O_JSON), 1, 1 },
		{ "follow", AUR_CLI_OPT(O_FROM) | AUR_CLI_OPT(O_CURSOR) | AUR_CLI_OPT(O_RESUME) |
			    AUR_CLI_OPT(O_PLATFORM) |
			    AUR_CLI_OPT(O_POLL), 0, 0 },
		{ "replay", AUR_CLI_OPT(O_SINCE) | AUR_CLI_OPT(O_FROM) | AUR_CLI_OPT(O_UNTIL) |
			    AUR_CLI_OPT(O_PLATFORM), 0, 0 },
		{ "prune", AUR_CLI_OPT(O_OLDER_THAN) | AUR_CLI_OPT(O_DRY_RUN) | AUR_CLI_OPT(O_JSON) |
			   AUR_CLI_OPT(O_BATCH) | AUR_CLI_OPT(O_PAUSE), 0, 0 },
		{ "retention", AUR_CLI_OPT(O_JSON), 0, 1 },
		{ "quarantine", AUR_CLI_OPT(O_PLATFORM) | AUR_CLI_OPT(O_LIMIT) | AUR_CLI_OPT(O_JSON), 0, 2 },
	};
	const unsigned long global = AUR_CLI_OPT(O_DB);
	struct aur_cli_command with_db[sizeof(cmds) / sizeof(cmds[0])];
	struct aur_cli cli;
	char err[256];

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		with_db[i] = cmds[i];
		with_db[i].options |= global;
	}
	if (aur_cli_parse(&cli, argc, argv, longopts, with_db, sizeof(cmds) / sizeof(cmds[0]), set_opt, o,
			  err, sizeof(err)) < 0)
		return usage_error("%s", err);
	if (cli.help) {
		fputs(usage_text, stdout);
		return AUR_EXIT_OK;
	}
	if (cli.version) {
		puts(PROG " " AURORA_VERSION);
		return AUR_EXIT_OK;
	}
	if (cli.log_level >= 0)
		aur_log_set_level(cli.log_level);
	o->cmd = cli.cmd->name;
	o->arg = cli.args[0];
	o->arg2 = cli.nargs > 1 ? cli.args[1] : NULL;
	if (o->state && !state_known(o->state))
		return usage_error("unknown state '%s'; states: alerts note test error unknown pending", o->state);
	return -1;
}

/* Report a lib/ failure with its message and map it to an exit code. */
static int failed(int rc, const char *err)
{
	aur_err("%s", err);
	return aur_cli_exit_code(rc == -EINVAL ? -EIO : rc);
}

/* Open the database read-only; a missing file or one without the schema is a configuration error. */
static int open_reader(const char *path, sqlite3 **db)
{
	char err[512] = "";
	int rc = aur_follow_open_db(db, path, err, sizeof(err));

	if (rc == -ENOENT)
		aur_err("%s (aurora-recv or aurora-connector creates it; check --db and AURORA_DB)", err);
	else if (rc == -ENODATA)
		aur_err("%s", err);
	if (rc == -ENOENT || rc == -ENODATA)
		return AUR_EXIT_CONFIG;
	return rc < 0 ? failed(rc, err) : 0;
}

/* 1 when the inbox holds deliveries of platform (one removed from the registry keeps them). */
static int inbox_has(sqlite3 *db, const char *platform)
{
	sqlite3_stmt *st = NULL;
	char err[256];
	int found = 0;

	if (aur_db_prepare(db, &st, "SELECT 1 FROM inbox WHERE platform = ?1 LIMIT 1", err, sizeof(err)) < 0)
		return 0;
	sqlite3_bind_text(st, 1, platform, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

/*
 * --platform P: a platform of the registry (connector.h), or one whose
 * rows stayed in the inbox after it was removed. 0, or exit 2 listing the
 * platforms.
 */
static int check_platform(sqlite3 *db, const char *platform)
{
	struct aur_connector c;
	char err[256];
	char *names;
	int rc = aur_connector_load(db, platform, &c, err, sizeof(err));

	aur_auth_wipe(&c, sizeof(c));
	/* a store the registry cannot be read from (another version) filters by the name as given */
	if (rc != -ENOENT || (aur_platform_name_ok(platform) && inbox_has(db, platform)))
		return 0;
	names = aur_connector_names(db, " ");
	aur_err("unknown platform '%.64s'; platforms: %s", platform, names ? names : "");
	free(names);
	return AUR_EXIT_USAGE;
}

/* Open the database to write (prune, retention): it must exist; a migration may run. */
static int open_writer(const char *path, sqlite3 **db)
{
	struct stat sb;
	char err[512] = "";
	int rc;

	if (stat(path, &sb) < 0) {
		aur_err("no database at %s (check --db and AURORA_DB)", path);
		return errno == ENOENT ? AUR_EXIT_CONFIG : AUR_EXIT_IOERR;
	}
	rc = aur_db_open(db, path, NULL, err, sizeof(err));
	if (rc == -ENODATA) {
		aur_err("%s", err);
		return AUR_EXIT_CONFIG;
	}
	return rc < 0 ? failed(rc, err) : 0;
}

/* A write to stdout failed: EXIT_GONE when the reader went away, else 74. */
static int write_failed(void)
{
	if (errno == EPIPE)
		return EXIT_GONE;
	aur_err("write error: %s", strerror(errno ? errno : EIO));
	return AUR_EXIT_IOERR;
}

enum emit_mode { EMIT_JSONL, EMIT_TABLE, EMIT_PRETTY };

/* follow: a read transaction ends once its rows' bodies pass this (lib/inboxscan.h) */
#define FOLLOW_BATCH_BYTES (4LL << 20)

struct emit {
	struct aur_jsonl_writer w;
	enum emit_mode mode;
	int with_state;     /* list: the row's state columns follow the raw ones */
	const char *cursor; /* follow: rewritten after each batch */
	/*
	 * follow: records are written here while a batch's read transaction is
	 * open, and to stdout only after it has ended. Written straight to a
	 * pipe whose reader lags, they would keep the transaction open for as
	 * long as the pipe stays full, and a reader that never lets go stops
	 * the WAL from ever restarting (it grew without bound under load).
	 */
	FILE *spool;
	char *spooled;
	size_t spooled_len;
	int stop_fd;     /* follow: the signalfd that asks it to stop */
};

/*
 * Write len bytes to stdout, waiting for room with poll so that a signal on
 * e->stop_fd (SIGTERM, SIGINT: blocked and read there) still ends follow
 * while its reader lags: a write(2) blocked on a full pipe would wait for
 * that reader only. A pipe with room takes PIPE_BUF bytes without blocking.
 * 0, 1 when asked to stop, -1 with errno on a write error.
 */
static int write_stoppable(const struct emit *e, const char *p, size_t len)
{
	struct pollfd fds[2] = { { .fd = 1, .events = POLLOUT }, { .fd = e->stop_fd, .events = POLLIN } };

	while (len > 0) {
		size_t chunk = len < PIPE_BUF ? len : PIPE_BUF;
		ssize_t n;

		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (fds[1].revents & POLLIN)
			return 1;
		n = write(1, p, chunk);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Start the next batch's spool. 0, or an exit code. */
static int spool_open(struct emit *e)
{
	e->spool = open_memstream(&e->spooled, &e->spooled_len);
	if (!e->spool) {
		aur_err("cannot buffer records: %s", strerror(errno));
		return AUR_EXIT_SOFTWARE;
	}
	aur_jsonl_writer_init(&e->w, e->spool, 0);
	return 0;
}

/* Write what the batch spooled to stdout and start a new spool. 0, or an exit code. */
static int spool_flush(struct emit *e)
{
	int failed_write;

	if (fclose(e->spool) != 0) {
		e->spool = NULL;
		free(e->spooled);
		e->spooled = NULL;
		aur_err("cannot buffer records: %s", strerror(errno));
		return AUR_EXIT_SOFTWARE;
	}
	errno = 0;
	/* nothing of follow's goes through stdout's buffer: the spool's bytes go straight out */
	failed_write = write_stoppable(e, e->spooled, e->spooled_len);
	free(e->spooled);
	e->spooled = NULL;
	e->spool = NULL;
	if (failed_write < 0)
		return write_failed();
	if (failed_write > 0)
		return EXIT_STOPPED;
	return spool_open(e);
}

/* The row's state ("pending" while NULL), from the state columns of a scan with_state. */
static const char *row_state(sqlite3_stmt *st)
{
	const unsigned char *s = sqlite3_column_text(st, AUR_INBOXSCAN_STATE_COL);

	return s ? (const char *)s : "pending";
}

/* The raw record, with what became of the delivery when the scan read it. */
static jv row_record(sqlite3_stmt *st, int with_state)
{
	jv raw = aur_inbox_row_to_raw(st);
	const unsigned char *reason;

	if (!with_state)
		return raw;
	reason = sqlite3_column_text(st, AUR_INBOXSCAN_STATE_COL + 1);
	raw = jv_object_set(raw, jv_string("state"), jv_string(row_state(st)));
	raw = jv_object_set(raw, jv_string("state_reason"), reason ? jv_string((const char *)reason) : jv_null());
	return jv_object_set(raw, jv_string("alert_count"),
			     sqlite3_column_type(st, AUR_INBOXSCAN_STATE_COL + 2) == SQLITE_NULL
				     ? jv_null()
				     : jv_number((double)sqlite3_column_int64(st, AUR_INBOXSCAN_STATE_COL + 2)));
}

/* The table's state cell: "alerts 3", "error: why", "pending" ... */
static void state_cell(sqlite3_stmt *st, char *out, size_t outlen)
{
	const char *state = row_state(st);
	const unsigned char *reason = sqlite3_column_text(st, AUR_INBOXSCAN_STATE_COL + 1);

	if (!strcmp(state, "alerts"))
		snprintf(out, outlen, "alerts %lld", sqlite3_column_int64(st, AUR_INBOXSCAN_STATE_COL + 2));
	else if (!strcmp(state, "error") && reason)
		snprintf(out, outlen, "error: %.100s", (const char *)reason);
	else
		snprintf(out, outlen, "%s", state);
	for (char *p = out; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
}

static int emit_row(sqlite3_stmt *st, void *arg)
{
	struct emit *e = arg;
	const unsigned char *ctype;
	char state[160] = "";

	errno = 0;
	if (e->mode == EMIT_JSONL)
		return aur_jsonl_write(&e->w, row_record(st, e->with_state)) < 0 ? write_failed() : 0;
	if (e->mode == EMIT_PRETTY) {
		jv_dumpf(aur_inbox_row_to_raw(st), stdout,
			 JV_PRINT_INDENT_FLAGS(2) | (isatty(1) ? JV_PRINT_COLOR : 0));
		return putchar('\n') == EOF ? write_failed() : 0;
	}
	ctype = sqlite3_column_text(st, 4);
	if (e->with_state)
		state_cell(st, state, sizeof(state));
	else
		snprintf(state, sizeof(state), "-");
	if (printf("%7lld  %-24s  %-12s  %-15s  %8d  %-32s  %-4s  %s\n", sqlite3_column_int64(st, 0),
		   (const char *)sqlite3_column_text(st, 2), (const char *)sqlite3_column_text(st, 1),
		   (const char *)sqlite3_column_text(st, 3), sqlite3_column_bytes(st, 6),
		   ctype && *ctype ? (const char *)ctype : "-", sqlite3_column_int(st, 7) ? "test" : "", state) < 0)
		return write_failed();
	return 0;
}

static int emit_batch(long long last, void *arg)
{
	struct emit *e = arg;
	char err[512];

	errno = 0;
	if (e->spool) {
		int rc = spool_flush(e);

		if (rc != 0)
			return rc;
	} else if (fflush(stdout) != 0) {
		return write_failed();
	}
	if (e->cursor && aur_follow_cursor_write(e->cursor, last, err, sizeof(err)) < 0) {
		aur_err("%s", err);
		return AUR_EXIT_IOERR;
	}
	return 0;
}

/* Run a scan; a SQLite failure is reported and mapped to an exit code. */
static int run_scan(sqlite3 *db, struct aur_inboxscan *s, struct emit *e, long long *count)
{
	char err[512] = "";
	int cb_rc = 0;
	int rc;

	rc = aur_inboxscan_run(db, s, emit_row, emit_batch, e, &cb_rc, count, err, sizeof(err));
	return rc < 0 ? failed(rc, err) : cb_rc;
}

static int no_states(void)
{
	aur_err("the database predates delivery states: open it once with a command that writes "
		"(aurora-recv, aurora-connector list) to bring it up to date");
	return AUR_EXIT_CONFIG;
}

static int cmd_list(sqlite3 *db, const struct opts *o)
{
	struct aur_inboxscan s;
	struct emit e = { .mode = o->json ? EMIT_JSONL : EMIT_TABLE };
	long long limit = DEFAULT_LIMIT;
	long long after = -1;
	long long count = 0;
	char err[512] = "";
	int rc;

	if (o->limit && aur_cli_parse_ll(o->limit, 0, INT64_MAX, &limit) < 0)
		return usage_error("--limit wants a number (0 for all): %s", o->limit);
	if (o->since && aur_cli_parse_ll(o->since, 0, INT64_MAX, &after) < 0)
		return usage_error("--since wants an inbox id: %s", o->since);
	/* a database no writer has opened since delivery states came has none to show */
	e.with_state = aur_dstate_available(db);
	if (o->state && !e.with_state)
		return no_states();
	if (!o->since && limit > 0) {
		rc = aur_inboxscan_newest_in(db, o->platform, o->state, limit, &after, err, sizeof(err));
		if (rc < 0)
			return failed(rc, err);
	}
	aur_inboxscan_init(&s);
	s.after = after;
	s.platform = o->platform;
	s.state = o->state;
	s.with_state = e.with_state;
	s.limit = limit;
	aur_jsonl_writer_init(&e.w, stdout, -1);
	if (e.mode == EMIT_TABLE && printf("%7s  %-24s  %-12s  %-15s  %8s  %-32s  %-4s  %s\n", "ID", "RECEIVED AT",
			      "PLATFORM", "REMOTE", "BYTES", "CONTENT TYPE", "TEST", "STATE") < 0)
		return write_failed();
	return run_scan(db, &s, &e, &count);
}

/* The stats of one platform (an object of aur_dstate_stats, consumed) as a table line. */
static int stats_line(jv row)
{
	static const char *const cols[] = { "alerts", "note", "test", "error", "unknown", "pending", "total",
					    "alert_records" };
	jv p = jv_object_get(jv_copy(row), jv_string("platform"));
	int rc = printf("%-13s", jv_get_kind(p) == JV_KIND_STRING ? jv_string_value(p) : "-") < 0;

	for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]) && !rc; i++) {
		jv n = jv_object_get(jv_copy(row), jv_string(cols[i]));

		rc = printf(" %8lld", jv_get_kind(n) == JV_KIND_NUMBER ? (long long)jv_number_value(n) : 0LL) < 0;
		jv_free(n);
	}
	jv_free(p);
	jv_free(row);
	if (!rc)
		rc = putchar('\n') == EOF;
	return rc ? write_failed() : 0;
}

/* stats: per platform and state, the deliveries received in [--since, --until). */
static int cmd_stats(sqlite3 *db, const struct opts *o)
{
	long long now = aur_time_now_ms();
	long long since = now - 24LL * 3600 * 1000;
	long long until = INT64_MAX;
	char err[512] = "";
	char from[32], to[32];
	jv list;
	int rc;

	if (o->since && aur_cli_parse_time_ms(o->since, now, &since) < 0)
		return usage_error("--since wants RFC 3339 or a duration like 10m: %s", o->since);
	if (o->until && aur_cli_parse_time_ms(o->until, now, &until) < 0)
		return usage_error("--until wants RFC 3339 or a duration like 10m: %s", o->until);
	if (!aur_dstate_available(db))
		return no_states();
	rc = aur_dstate_stats(db, since, until, &list, err, sizeof(err));
	if (rc < 0)
		return failed(rc, err);
	aur_time_format_ms(since, from, sizeof(from));
	aur_time_format_ms(until == INT64_MAX ? now : until, to, sizeof(to));
	errno = 0;
	if (o->json) {
		struct aur_jsonl_writer w;
		jv v = jv_object_set(jv_object(), jv_string("v"), jv_number(1));

		v = jv_object_set(v, jv_string("type"), jv_string("inbox_stats"));
		v = jv_object_set(v, jv_string("since"), jv_string(from));
		v = jv_object_set(v, jv_string("until"), jv_string(to));
		v = jv_object_set(v, jv_string("platforms"), list);
		aur_jsonl_writer_init(&w, stdout, -1);
		return aur_jsonl_write(&w, v) < 0 ? write_failed() : 0;
	}
	rc = printf("deliveries received from %s to %s\n%-13s %8s %8s %8s %8s %8s %8s %8s %8s\n", from, to,
		    "PLATFORM", "ALERTS", "NOTE", "TEST", "ERROR", "UNKNOWN", "PENDING", "TOTAL", "RECORDS") < 0
		     ? write_failed()
		     : 0;
	for (int i = 0; rc == 0 && i < jv_array_length(jv_copy(list)); i++)
		rc = stats_line(jv_array_get(jv_copy(list), i));
	jv_free(list);
	return rc;
}

static int cmd_show(sqlite3 *db, const struct opts *o)
{
	struct aur_inboxscan s;
	struct emit e = { .mode = o->json ? EMIT_JSONL : EMIT_PRETTY };
	long long id;
	long long count = 0;
	int rc;

	if (aur_cli_parse_ll(o->arg, 0, INT64_MAX, &id) < 0)
		return usage_error("show wants an inbox id: %s", o->arg);
	aur_inboxscan_init(&s);
	s.after = id - 1;
	s.upto = id;
	s.limit = 1;
	aur_jsonl_writer_init(&e.w, stdout, -1);
	rc = run_scan(db, &s, &e, &count);
	if (rc == 0 && count == 0) {
		aur_err("no inbox row with id %lld", id);
		rc = AUR_EXIT_REJECTED;
	}
	return rc;
}

/*
 * The retention options shared with aurora-incident prune: AGE (else the
 * setting key), --batch, --pause-ms. 0, or an exit code.
 */
static int prune_options(sqlite3 *db, const struct opts *o, struct aur_retention_options *ro, char **age)
{
	char err[512] = "";
	long long ms = 0;
	long long v;

	aur_retention_options_init(ro);
	ro->dry_run = o->dry_run;
	if (o->batch) {
		if (aur_cli_parse_ll(o->batch, 1, 100000, &v) < 0)
			return usage_error("--batch wants rows per transaction (1 to 100000): %s", o->batch);
		ro->batch = (int)v;
	}
	if (o->pause_ms) {
		if (aur_cli_parse_ll(o->pause_ms, 0, 60000, &v) < 0)
			return usage_error("--pause-ms wants milliseconds (0 to 60000): %s", o->pause_ms);
		ro->pause_ms = (int)v;
	}
	if (o->older_than) {
		if (aur_retention_parse(o->older_than, &ms) < 0 || ms == 0)
			return usage_error("--older-than wants an age of an hour or more (30d, 12h, 2w): %s",
					   o->older_than);
		*age = aur_xstrdup(o->older_than);
	} else if (aur_retention_get(db, AUR_RETENTION_INBOX_KEY, AUR_RETENTION_INBOX_DEFAULT, age, &ms, err,
				     sizeof(err)) < 0) {
		aur_err("%s (aurora-inbox retention AGE sets it)", err);
		return AUR_EXIT_DATAERR;
	}
	ro->cutoff_ms = ms ? aur_time_now_ms() - ms : 0;
	return 0;
}

static int cmd_prune(sqlite3 *db, const struct opts *o)
{
	struct aur_retention_options ro;
	struct aur_retention_inbox_counts c;
	struct aur_buf b;
	char err[512] = "";
	char *age = NULL;
	int rc;

	aur_buf_init(&b, 0);
	rc = prune_options(db, o, &ro, &age);
	if (rc != 0)
		goto out;
	if (ro.cutoff_ms == 0) {
		aur_info("retention is %s: nothing to prune", age);
		goto out;
	}
	rc = aur_retention_prune_inbox(db, &ro, &c, err, sizeof(err));
	if (rc < 0) {
		aur_err("%s", err);
		rc = aur_cli_exit_code(rc == -EINVAL ? -EIO : rc);
	}
	if (rc == 0 && c.kept_unread > 0)
		aur_warn("%lld deliveries older than %s kept: stage %s has not read past inbox id %lld (a stage no "
			 "longer run holds them: see aurora-inbox(1), RETENTION)", c.kept_unread, age,
			 c.slowest_stage, c.mark);
	errno = 0;
	if (o->json) {
		struct aur_jsonl_writer w;

		aur_jsonl_writer_init(&w, stdout, -1);
		if (aur_jsonl_write(&w, aur_retention_inbox_json(&c, &ro, age)) < 0 && rc == 0)
			rc = write_failed();
	} else {
		aur_retention_inbox_text(&c, &ro, age, &b);
		if (fwrite(b.data, 1, b.len, stdout) != b.len && rc == 0)
			rc = write_failed();
	}
out:
	free(age);
	aur_buf_release(&b);
	return rc;
}

/* retention: print the age prune uses, or set it ("default" removes the setting). */
static int cmd_retention(sqlite3 *db, const struct opts *o)
{
	char err[512] = "";
	char *age = NULL;
	long long ms;
	int rc;

	if (o->arg) {
		rc = aur_retention_set(db, AUR_RETENTION_INBOX_KEY, strcmp(o->arg, "default") ? o->arg : NULL, err,
				       sizeof(err));
		if (rc == -EINVAL)
			return usage_error("retention: %s", err);
		if (rc < 0)
			return failed(rc, err);
	}
	if (aur_retention_get(db, AUR_RETENTION_INBOX_KEY, AUR_RETENTION_INBOX_DEFAULT, &age, &ms, err,
			      sizeof(err)) < 0) {
		aur_err("%s", err);
		return AUR_EXIT_DATAERR;
	}
	errno = 0;
	if (o->json) {
		struct aur_jsonl_writer w;
		jv r = jv_object();

		r = jv_object_set(r, jv_string("v"), jv_number(1));
		r = jv_object_set(r, jv_string("type"), jv_string("retention"));
		r = jv_object_set(r, jv_string("table"), jv_string("inbox"));
		r = jv_object_set(r, jv_string("retention"), jv_string(age));
		aur_jsonl_writer_init(&w, stdout, -1);
		rc = aur_jsonl_write(&w, r) < 0 ? write_failed() : 0;
	} else {
		rc = printf("%s\n", age) < 0 ? write_failed() : 0;
	}
	free(age);
	return rc;
}

static int cmd_replay(sqlite3 *db, const struct opts *o)
{
	struct aur_inboxscan s;
	struct emit e = { .mode = EMIT_JSONL };
	long long now = aur_time_now_ms();
	long long count = 0;
	long long v;
	char err[512] = "";
	int rc;

	if (!o->since == !o->from)
		return usage_error("replay needs exactly one of --since TIME and --from ID");
	aur_inboxscan_init(&s);
	s.platform = o->platform;
	if (o->from) {
		if (aur_cli_parse_ll(o->from, 0, INT64_MAX, &v) < 0)
			return usage_error("--from wants an inbox id: %s", o->from);
		s.after = v - 1;
	}
	if (o->since && aur_cli_parse_time_ms(o->since, now, &s.since_ms) < 0)
		return usage_error("--since wants RFC 3339 or a duration like 10m: %s", o->since);
	if (o->until && aur_cli_parse_time_ms(o->until, now, &s.until_ms) < 0)
		return usage_error("--until wants RFC 3339 or a duration like 10m: %s", o->until);
	rc = aur_inboxscan_bound(db, &s, err, sizeof(err));
	if (rc < 0)
		return failed(rc, err);
	aur_jsonl_writer_init(&e.w, stdout, -1);
	return run_scan(db, &s, &e, &count);
}

/* Where follow starts: --from, else the cursor file, else the stage's resume point. */
static int follow_start(sqlite3 *db, const struct opts *o, long long *after)
{
	const char *stage = o->resume ? o->resume : AUR_RESUME_DEFAULT_STAGE;
	char err[512] = "";
	long long newest = 0;
	long long v;
	int rc;

	if (o->resume && (o->from || o->cursor))
		return usage_error("follow --resume goes without --from and --cursor");
	rc = aur_inboxscan_max_id(db, &newest, err, sizeof(err));
	if (rc < 0)
		return failed(rc, err);
	if (o->from) {
		if (aur_cli_parse_ll(o->from, 0, INT64_MAX, &v) < 0)
			return usage_error("--from wants an inbox id: %s", o->from);
		*after = v > 0 ? v - 1 : 0;
	} else if (o->cursor) {
		rc = aur_follow_cursor_read(o->cursor, after, err, sizeof(err));
		if (rc == 0) {
			if (*after > newest)
				aur_warn("cursor %s is at %lld, past the newest row %lld (another database?)",
					 o->cursor, *after, newest);
			return 0;
		}
		if (rc != -ENOENT) {
			aur_err("%s", err);
			return rc == -EINVAL ? AUR_EXIT_DATAERR : AUR_EXIT_IOERR;
		}
		*after = newest;
	} else {
		rc = aur_resume_get(db, stage, after, err, sizeof(err));
		if (rc == -ENOENT || rc == -ENODATA) {
			aur_err("%s", err);
			return AUR_EXIT_CONFIG;
		}
		if (rc < 0)
			return failed(rc, err);
		if (*after > newest)
			aur_warn("stage %s is at inbox id %lld, past the newest row %lld", stage, *after, newest);
		aur_debug("resuming after inbox id %lld, where stage %s is", *after, stage);
	}
	/* a new start is written at once: a restart before the first row leaves no gap */
	if (o->cursor && aur_follow_cursor_write(o->cursor, *after, err, sizeof(err)) < 0) {
		aur_err("%s", err);
		return AUR_EXIT_IOERR;
	}
	return 0;
}

static int cmd_follow(sqlite3 *db, const char *path, const struct opts *o)
{
	struct aur_inboxscan s;
	struct aur_follow f = { .ifd = -1 };
	struct emit e = { .mode = EMIT_JSONL, .cursor = o->cursor };
	struct pollfd fds[2] = { { .fd = -1 }, { .fd = -1 } };
	struct stat st;
	long long poll_ms = 1000;
	long long count;
	char err[512] = "";
	size_t nfds = 1;
	int rc;

	if (o->poll_ms && aur_cli_parse_ll(o->poll_ms, 1, 3600000, &poll_ms) < 0)
		return usage_error("--poll-ms wants milliseconds (1 to 3600000): %s", o->poll_ms);
	aur_inboxscan_init(&s);
	s.platform = o->platform;
	rc = follow_start(db, o, &s.after);
	if (rc != 0)
		return rc;
	fds[0].fd = aur_follow_stop_fd();
	fds[0].events = POLLIN;
	if (fds[0].fd < 0) {
		aur_err("signalfd: %s", strerror(-fds[0].fd));
		return AUR_EXIT_SOFTWARE;
	}
	/* a pipe or socket on stdout reports its reader leaving even while we sleep */
	if (fstat(1, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) {
		fds[1].fd = 1;
		fds[1].events = 0;
		nfds = 2;
	}
	rc = aur_follow_init(&f, path, err, sizeof(err));
	if (rc == -ENAMETOOLONG) {
		rc = failed(rc, err);
		goto out;
	}
	if (rc < 0)
		aur_warn("%s", err);
	/* the spool holds one batch: a bound on its bodies keeps it small */
	s.batch_bytes = FOLLOW_BATCH_BYTES;
	e.stop_fd = fds[0].fd;
	rc = spool_open(&e);
	if (rc != 0)
		goto out;
	aur_debug("following %s after id %lld (%s)", path, s.after, f.ifd >= 0 ? "inotify" : "polling");
	for (;;) {
		count = 0;
		rc = run_scan(db, &s, &e, &count);
		if (rc == EXIT_STOPPED) {
			aur_info("signal %d: stopping", aur_follow_stop_read(fds[0].fd));
			rc = AUR_EXIT_OK;
			break;
		}
		if (rc != 0)
			break;
		aur_follow_found(&f, count > 0);
		do {
			rc = aur_follow_wait(&f, (int)poll_ms, fds, nfds);
			if (fds[0].revents & POLLIN) {
				aur_info("signal %d: stopping", aur_follow_stop_read(fds[0].fd));
				rc = AUR_EXIT_OK;
				goto out;
			}
			if (nfds > 1 && (fds[1].revents & (POLLERR | POLLHUP))) {
				aur_info("the reader of stdout went away");
				rc = EXIT_GONE;
				goto out;
			}
		} while (rc == 0);
		if (rc < 0) {
			aur_err("waiting for changes: %s", strerror(-rc));
			rc = AUR_EXIT_IOERR;
			break;
		}
	}
out:
	if (e.spool) {
		fclose(e.spool);
		free(e.spooled);
	}
	aur_follow_release(&f);
	if (fds[0].fd >= 0)
		close(fds[0].fd);
	return rc;
}

/* quarantine list: a table, or records as JSON lines. */
static int quarantine_row(sqlite3_stmt *st, void *arg)
{
	const struct opts *o = arg;
	const unsigned char *remote = sqlite3_column_text(st, 3);

	errno = 0;
	if (o->json) {
		struct aur_jsonl_writer w;

		aur_jsonl_writer_init(&w, stdout, -1);
		return aur_jsonl_write(&w, aur_quarantine_row(st)) < 0 ? write_failed() : 0;
	}
	if (printf("%7lld  %-24s  %-12s  %-15s  %8d  %s\n", sqlite3_column_int64(st, 0),
		   (const char *)sqlite3_column_text(st, 2), (const char *)sqlite3_column_text(st, 1),
		   remote && *remote ? (const char *)remote : "-", sqlite3_column_bytes(st, 6),
		   (const char *)sqlite3_column_text(st, 8)) < 0)
		return write_failed();
	return 0;
}

/* quarantine show: the body as it came, or the record with --json. */
static int quarantine_body(sqlite3_stmt *st, void *arg)
{
	const struct opts *o = arg;
	size_t len = (size_t)sqlite3_column_bytes(st, 6);
	const void *body = sqlite3_column_blob(st, 6);

	if (o->json)
		return quarantine_row(st, arg);
	errno = 0;
	if (len && fwrite(body, 1, len, stdout) != len)
		return write_failed();
	return 0;
}

/* The quarantined delivery id of "quarantine CMD ID"; 0, or an exit code. */
static int quarantine_id(const struct opts *o, long long *id)
{
	if (!o->arg2)
		return usage_error("quarantine %s wants a quarantine id", o->arg);
	if (aur_cli_parse_ll(o->arg2, 1, INT64_MAX, id) < 0)
		return usage_error("quarantine %s wants a quarantine id: %s", o->arg, o->arg2);
	return 0;
}

/* replay and drop write: the database read-write, with its migrations. */
static int quarantine_change(const char *path, const struct opts *o, long long id)
{
	struct aur_db_options dbo;
	sqlite3 *db = NULL;
	long long inbox_id = 0;
	char err[512] = "";
	int rc;

	aur_db_options_init(&dbo);
	rc = aur_db_open(&db, path, &dbo, err, sizeof(err));
	if (rc < 0) {
		rc = failed(rc, err);
		goto out;
	}
	if (!strcmp(o->arg, "replay"))
		rc = aur_quarantine_replay(db, id, dbo.busy_timeout_ms, &inbox_id, err, sizeof(err));
	else
		rc = aur_quarantine_drop(db, id, dbo.busy_timeout_ms, err, sizeof(err));
	if (rc == -ENOENT) {
		aur_err("%s", err);
		rc = AUR_EXIT_REJECTED;
		goto out;
	}
	if (rc < 0) {
		rc = failed(rc, err);
		goto out;
	}
	errno = 0;
	if ((inbox_id ? printf("quarantine %lld replayed as inbox %lld\n", id, inbox_id)
		      : printf("quarantine %lld dropped\n", id)) < 0)
		rc = write_failed();
out:
	aur_db_close(db);
	return rc;
}

static int cmd_quarantine(sqlite3 *db, const char *path, struct opts *o)
{
	long long limit = DEFAULT_LIMIT;
	long long id = 0;
	long long count = 0;
	char err[512] = "";
	int row_rc = 0;
	int show;
	int rc;

	if (!o->arg)
		o->arg = "list";
	if (!strcmp(o->arg, "list")) {
		if (o->arg2)
			return usage_error("quarantine list takes no argument: %s", o->arg2);
		if (o->limit && aur_cli_parse_ll(o->limit, 0, INT64_MAX, &limit) < 0)
			return usage_error("--limit wants a number (0 for all): %s", o->limit);
		if (!o->json && printf("%7s  %-24s  %-12s  %-15s  %8s  %s\n", "ID", "RECEIVED AT", "PLATFORM",
				       "REMOTE", "BYTES", "REASON") < 0)
			return write_failed();
		rc = aur_quarantine_scan(db, o->platform, 0, limit, quarantine_row, o, &row_rc, &count, err,
					 sizeof(err));
		return rc < 0 ? failed(rc, err) : row_rc;
	}
	show = !strcmp(o->arg, "show");
	if (!show && strcmp(o->arg, "replay") != 0 && strcmp(o->arg, "drop") != 0)
		return usage_error("quarantine wants list, show ID, replay ID or drop ID, not '%s'", o->arg);
	if (o->platform || o->limit || (o->json && !show))
		return usage_error("quarantine %s takes only an id%s", o->arg, show ? " and --json" : "");
	rc = quarantine_id(o, &id);
	if (rc != 0)
		return rc;
	if (!show)
		return quarantine_change(path, o, id);
	rc = aur_quarantine_scan(db, NULL, id, 1, quarantine_body, o, &row_rc, &count, err, sizeof(err));
	if (rc < 0)
		return failed(rc, err);
	if (row_rc == 0 && count == 0) {
		aur_err("no quarantined delivery with id %lld", id);
		return AUR_EXIT_REJECTED;
	}
	return row_rc;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	sqlite3 *db = NULL;
	const char *path;
	int rc;

	aur_log_init(PROG);
	signal(SIGPIPE, SIG_IGN);
	rc = parse(argc, argv, &o);
	if (rc >= 0)
		goto out;
	path = aur_db_default_path(o.db);
	if (!strcmp(o.cmd, "prune") || !strcmp(o.cmd, "retention"))
		rc = open_writer(path, &db);
	else
		rc = open_reader(path, &db);
	if (rc == 0 && o.platform)
		rc = check_platform(db, o.platform);
	if (rc != 0)
		goto out;
	if (!strcmp(o.cmd, "list"))
		rc = cmd_list(db, &o);
	else if (!strcmp(o.cmd, "show"))
		rc = cmd_show(db, &o);
	else if (!strcmp(o.cmd, "follow"))
		rc = cmd_follow(db, path, &o);
	else if (!strcmp(o.cmd, "stats"))
		rc = cmd_stats(db, &o);
	else if (!strcmp(o.cmd, "prune"))
		rc = cmd_prune(db, &o);
	else if (!strcmp(o.cmd, "retention"))
		rc = cmd_retention(db, &o);
	else if (!strcmp(o.cmd, "quarantine"))
		rc = cmd_quarantine(db, path, &o);
	else
		rc = cmd_replay(db, &o);
out:
	aur_db_close(db);
	if (rc == 0) {
		errno = 0;
		if (fflush(stdout) != 0 || ferror(stdout) || fclose(stdout) != 0)
			rc = write_failed();
	}
	return rc == EXIT_GONE ? AUR_EXIT_OK : rc;
}
