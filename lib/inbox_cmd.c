#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jq.h>
#include <sqlite3.h>

#include "cli.h"
#include "cmd.h"
#include "connector.h"
#include "db.h"
#include "dstate.h"
#include "exitcodes.h"
#include "follow.h"
#include "inbox.h"
#include "inbox_cmd.h"
#include "inboxscan.h"
#include "jsonl.h"
#include "log.h"
#include "resume.h"
#include "timeutil.h"
#include "banned.h"

#define OPT(ctx, x) aur_cmd_opt(ctx, AUR_INBOX_CMD_##x)
/* follow: a read transaction ends once its rows' bodies pass this (lib/inboxscan.h) */
#define FOLLOW_BATCH_BYTES (4LL << 20)

static const char *const states[] = { "alerts", "note", "test", "error", "unknown", "pending", NULL };

int aur_inbox_cmd_state_known(const char *s)
{
	for (int i = 0; states[i]; i++)
		if (!strcmp(states[i], s))
			return 1;
	return 0;
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

int aur_inbox_cmd_check_platform(struct aur_cmd_ctx *ctx)
{
	const char *platform = OPT(ctx, PLATFORM);
	struct aur_connector c;
	char err[256];
	char *names;
	int rc;

	if (!platform)
		return 0;
	rc = aur_connector_load(ctx->db, platform, &c, err, sizeof(err));
	aur_auth_wipe(&c, sizeof(c));
	/* a store the registry cannot be read from (another version) filters by the name as given */
	if (rc != -ENOENT || (aur_platform_name_ok(platform) && inbox_has(ctx->db, platform)))
		return 0;
	names = aur_connector_names(ctx->db, " ");
	aur_err("unknown platform '%.64s'; platforms: %s", platform, names ? names : "");
	free(names);
	return AUR_EXIT_USAGE;
}

enum emit_mode { EMIT_JSONL, EMIT_TABLE, EMIT_PRETTY };

struct emit {
	struct aur_cmd_ctx *ctx;
	struct aur_jsonl_writer w;
	enum emit_mode mode;
	int with_state;     /* list: the row's state columns follow the raw ones */
	const char *cursor; /* follow: rewritten after each batch */
	struct aur_inboxscan s;
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
	int stop_fd; /* follow: the signalfd that asks it to stop */
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
	struct pollfd fds[2] = { { .fd = fileno(e->ctx->out), .events = POLLOUT },
				 { .fd = e->stop_fd, .events = POLLIN } };

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
		n = write(fds[0].fd, p, chunk);
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

static void spool_release(struct emit *e)
{
	if (e->spool)
		fclose(e->spool);
	free(e->spooled);
	e->spool = NULL;
	e->spooled = NULL;
}

/* Write what the batch spooled to stdout and start a new spool. 0, AUR_CMD_STOPPED, or an exit code. */
static int spool_flush(struct emit *e)
{
	int failed_write;

	if (fclose(e->spool) != 0) {
		e->spool = NULL;
		spool_release(e);
		aur_err("cannot buffer records: %s", strerror(errno));
		return AUR_EXIT_SOFTWARE;
	}
	e->spool = NULL;
	errno = 0;
	/* nothing of follow's goes through stdout's buffer: the spool's bytes go straight out */
	failed_write = write_stoppable(e, e->spooled, e->spooled_len);
	spool_release(e);
	if (failed_write < 0)
		return aur_cmd_write_failed();
	if (failed_write > 0)
		return AUR_CMD_STOPPED;
	return spool_open(e);
}

static void emit_init(struct emit *e, struct aur_cmd_ctx *ctx, enum emit_mode mode, int flush)
{
	memset(e, 0, sizeof(*e));
	e->ctx = ctx;
	e->mode = mode;
	aur_jsonl_writer_init(&e->w, ctx->out, flush);
	aur_inboxscan_init(&e->s);
	e->s.platform = OPT(ctx, PLATFORM);
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
	FILE *out = e->ctx->out;
	const unsigned char *ctype;
	char state[160] = "";

	errno = 0;
	if (e->mode == EMIT_JSONL)
		return aur_jsonl_write(&e->w, row_record(st, e->with_state)) < 0 ? aur_cmd_write_failed() : 0;
	if (e->mode == EMIT_PRETTY) {
		jv_dumpf(aur_inbox_row_to_raw(st), out,
			 JV_PRINT_INDENT_FLAGS(2) | (isatty(fileno(out)) ? JV_PRINT_COLOR : 0));
		return aur_cmd_printf(e->ctx, "\n");
	}
	ctype = sqlite3_column_text(st, 4);
	if (e->with_state)
		state_cell(st, state, sizeof(state));
	else
		snprintf(state, sizeof(state), "-");
	return aur_cmd_printf(e->ctx, "%7lld  %-24s  %-12s  %-15s  %8d  %-32s  %-4s  %s\n",
			      sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 2),
			      (const char *)sqlite3_column_text(st, 1), (const char *)sqlite3_column_text(st, 3),
			      sqlite3_column_bytes(st, 6), ctype && *ctype ? (const char *)ctype : "-",
			      sqlite3_column_int(st, 7) ? "test" : "", state);
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
	} else if (fflush(e->ctx->out) != 0) {
		return aur_cmd_write_failed();
	}
	if (e->cursor && aur_follow_cursor_write(e->cursor, last, err, sizeof(err)) < 0) {
		aur_err("%s", err);
		return AUR_EXIT_IOERR;
	}
	return 0;
}

/* Run e's scan; *count gets the rows printed. A SQLite failure is reported and mapped to an exit code. */
static int run_scan(struct emit *e, long long *count)
{
	char err[512] = "";
	int cb_rc = 0;
	int rc;

	*count = 0;
	rc = aur_inboxscan_run(e->ctx->db, &e->s, emit_row, emit_batch, e, &cb_rc, count, err, sizeof(err));
	return rc < 0 ? aur_cmd_fail(rc, err) : cb_rc;
}

static int no_states(void)
{
	aur_err("the database predates delivery states: open it once with a command that writes "
		"(aurora-recv, aurora-connector list) to bring it up to date");
	return AUR_EXIT_CONFIG;
}

int aur_inbox_cmd_list(struct aur_cmd_ctx *ctx)
{
	struct emit e;
	long long limit = AUR_INBOX_CMD_DEFAULT_LIMIT;
	long long after = -1;
	long long count = 0;
	char err[512] = "";
	int rc;

	rc = aur_inbox_cmd_check_platform(ctx);
	if (rc != 0)
		return rc;
	if (OPT(ctx, LIMIT) && aur_cli_parse_ll(OPT(ctx, LIMIT), 0, INT64_MAX, &limit) < 0)
		return aur_cmd_usage(ctx, "--limit wants a number (0 for all): %s", OPT(ctx, LIMIT));
	if (OPT(ctx, SINCE) && aur_cli_parse_ll(OPT(ctx, SINCE), 0, INT64_MAX, &after) < 0)
		return aur_cmd_usage(ctx, "--since wants an inbox id: %s", OPT(ctx, SINCE));
	emit_init(&e, ctx, OPT(ctx, JSON) ? EMIT_JSONL : EMIT_TABLE, -1);
	/* a database no writer has opened since delivery states came has none to show */
	e.with_state = aur_dstate_available(ctx->db);
	if (OPT(ctx, STATE) && !e.with_state)
		return no_states();
	if (!OPT(ctx, SINCE) && limit > 0) {
		rc = aur_inboxscan_newest_in(ctx->db, OPT(ctx, PLATFORM), OPT(ctx, STATE), limit, &after, err,
					     sizeof(err));
		if (rc < 0)
			return aur_cmd_fail(rc, err);
	}
	e.s.after = after;
	e.s.state = OPT(ctx, STATE);
	e.s.with_state = e.with_state;
	e.s.limit = limit;
	if (e.mode == EMIT_TABLE) {
		rc = aur_cmd_printf(ctx, "%7s  %-24s  %-12s  %-15s  %8s  %-32s  %-4s  %s\n", "ID", "RECEIVED AT",
				    "PLATFORM", "REMOTE", "BYTES", "CONTENT TYPE", "TEST", "STATE");
		if (rc != 0)
			return rc;
	}
	return run_scan(&e, &count);
}

/* The stats of one platform (an object of aur_dstate_stats, consumed) as a table line. */
static int stats_line(struct aur_cmd_ctx *ctx, jv row)
{
	static const char *const cols[] = { "alerts", "note", "test", "error", "unknown", "pending", "total",
					    "alert_records" };
	jv p = jv_object_get(jv_copy(row), jv_string("platform"));
	int rc = aur_cmd_printf(ctx, "%-13s", jv_get_kind(p) == JV_KIND_STRING ? jv_string_value(p) : "-");

	for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]) && !rc; i++) {
		jv n = jv_object_get(jv_copy(row), jv_string(cols[i]));

		rc = aur_cmd_printf(ctx, " %8lld", jv_get_kind(n) == JV_KIND_NUMBER ? (long long)jv_number_value(n) : 0LL);
		jv_free(n);
	}
	jv_free(p);
	jv_free(row);
	return rc ? rc : aur_cmd_printf(ctx, "\n");
}

int aur_inbox_cmd_stats(struct aur_cmd_ctx *ctx)
{
	long long now = aur_time_now_ms();
	long long since = now - 24LL * 3600 * 1000;
	long long until = INT64_MAX;
	char err[512] = "";
	char from[32], to[32];
	jv list;
	int rc;

	if (OPT(ctx, SINCE) && aur_cli_parse_time_ms(OPT(ctx, SINCE), now, &since) < 0)
		return aur_cmd_usage(ctx, "--since wants RFC 3339 or a duration like 10m: %s", OPT(ctx, SINCE));
	if (OPT(ctx, UNTIL) && aur_cli_parse_time_ms(OPT(ctx, UNTIL), now, &until) < 0)
		return aur_cmd_usage(ctx, "--until wants RFC 3339 or a duration like 10m: %s", OPT(ctx, UNTIL));
	if (!aur_dstate_available(ctx->db))
		return no_states();
	rc = aur_dstate_stats(ctx->db, since, until, &list, err, sizeof(err));
	if (rc < 0)
		return aur_cmd_fail(rc, err);
	aur_time_format_ms(since, from, sizeof(from));
	aur_time_format_ms(until == INT64_MAX ? now : until, to, sizeof(to));
	if (OPT(ctx, JSON)) {
		jv v = jv_object_set(jv_object(), jv_string("v"), jv_number(1));

		v = jv_object_set(v, jv_string("type"), jv_string("inbox_stats"));
		v = jv_object_set(v, jv_string("since"), jv_string(from));
		v = jv_object_set(v, jv_string("until"), jv_string(to));
		v = jv_object_set(v, jv_string("platforms"), list);
		return aur_cmd_put_json(ctx, v);
	}
	rc = aur_cmd_printf(ctx, "deliveries received from %s to %s\n%-13s %8s %8s %8s %8s %8s %8s %8s %8s\n", from,
			    to, "PLATFORM", "ALERTS", "NOTE", "TEST", "ERROR", "UNKNOWN", "PENDING", "TOTAL", "RECORDS");
	for (int i = 0; rc == 0 && i < jv_array_length(jv_copy(list)); i++)
		rc = stats_line(ctx, jv_array_get(jv_copy(list), i));
	jv_free(list);
	return rc;
}

int aur_inbox_cmd_show(struct aur_cmd_ctx *ctx)
{
	struct emit e;
	long long id;
	long long count = 0;
	int rc;

	if (aur_cli_parse_ll(aur_cmd_arg(ctx, 0), 0, INT64_MAX, &id) < 0)
		return aur_cmd_usage(ctx, "show wants an inbox id: %s", aur_cmd_arg(ctx, 0));
	emit_init(&e, ctx, OPT(ctx, JSON) ? EMIT_JSONL : EMIT_PRETTY, -1);
	e.s.after = id - 1;
	e.s.upto = id;
	e.s.limit = 1;
	rc = run_scan(&e, &count);
	if (rc == 0 && count == 0) {
		aur_err("no inbox row with id %lld", id);
		rc = AUR_EXIT_REJECTED;
	}
	return rc;
}

int aur_inbox_cmd_replay(struct aur_cmd_ctx *ctx)
{
	struct emit e;
	long long now = aur_time_now_ms();
	long long count = 0;
	long long v;
	char err[512] = "";
	int rc;

	rc = aur_inbox_cmd_check_platform(ctx);
	if (rc != 0)
		return rc;
	if (!OPT(ctx, SINCE) == !OPT(ctx, FROM))
		return aur_cmd_usage(ctx, "replay needs exactly one of --since TIME and --from ID");
	emit_init(&e, ctx, EMIT_JSONL, -1);
	if (OPT(ctx, FROM)) {
		if (aur_cli_parse_ll(OPT(ctx, FROM), 0, INT64_MAX, &v) < 0)
			return aur_cmd_usage(ctx, "--from wants an inbox id: %s", OPT(ctx, FROM));
		e.s.after = v - 1;
	}
	if (OPT(ctx, SINCE) && aur_cli_parse_time_ms(OPT(ctx, SINCE), now, &e.s.since_ms) < 0)
		return aur_cmd_usage(ctx, "--since wants RFC 3339 or a duration like 10m: %s", OPT(ctx, SINCE));
	if (OPT(ctx, UNTIL) && aur_cli_parse_time_ms(OPT(ctx, UNTIL), now, &e.s.until_ms) < 0)
		return aur_cmd_usage(ctx, "--until wants RFC 3339 or a duration like 10m: %s", OPT(ctx, UNTIL));
	rc = aur_inboxscan_bound(ctx->db, &e.s, err, sizeof(err));
	if (rc < 0)
		return aur_cmd_fail(rc, err);
	return run_scan(&e, &count);
}

/* follow from the cursor file: its id, else (no file yet) the newest row. 0, or an exit code. */
static int cursor_start(const char *cursor, long long newest, long long *after)
{
	char err[512] = "";
	int rc = aur_follow_cursor_read(cursor, after, err, sizeof(err));

	if (rc == 0) {
		if (*after > newest)
			aur_warn("cursor %s is at %lld, past the newest row %lld (another database?)", cursor, *after,
				 newest);
		return 0;
	}
	if (rc != -ENOENT) {
		aur_err("%s", err);
		return rc == -EINVAL ? AUR_EXIT_DATAERR : AUR_EXIT_IOERR;
	}
	*after = newest;
	return -1; /* a new start: written at once */
}

/* Where follow starts: --from, else the cursor file, else the stage's resume point. */
static int follow_start(struct aur_cmd_ctx *ctx, long long *after)
{
	const char *stage = OPT(ctx, RESUME) ? OPT(ctx, RESUME) : AUR_RESUME_DEFAULT_STAGE;
	const char *cursor = OPT(ctx, CURSOR);
	char err[512] = "";
	long long newest = 0;
	long long v;
	int rc;

	if (OPT(ctx, RESUME) && (OPT(ctx, FROM) || cursor))
		return aur_cmd_usage(ctx, "follow --resume goes without --from and --cursor");
	rc = aur_inboxscan_max_id(ctx->db, &newest, err, sizeof(err));
	if (rc < 0)
		return aur_cmd_fail(rc, err);
	if (OPT(ctx, FROM)) {
		if (aur_cli_parse_ll(OPT(ctx, FROM), 0, INT64_MAX, &v) < 0)
			return aur_cmd_usage(ctx, "--from wants an inbox id: %s", OPT(ctx, FROM));
		*after = v > 0 ? v - 1 : 0;
	} else if (cursor) {
		rc = cursor_start(cursor, newest, after);
		if (rc >= 0)
			return rc;
	} else {
		rc = aur_resume_get(ctx->db, stage, after, err, sizeof(err));
		if (rc == -ENOENT || rc == -ENODATA) {
			aur_err("%s", err);
			return AUR_EXIT_CONFIG;
		}
		if (rc < 0)
			return aur_cmd_fail(rc, err);
		if (*after > newest)
			aur_warn("stage %s is at inbox id %lld, past the newest row %lld", stage, *after, newest);
		aur_debug("resuming after inbox id %lld, where stage %s is", *after, stage);
	}
	/* a new start is written at once: a restart before the first row leaves no gap */
	if (cursor && aur_follow_cursor_write(cursor, *after, err, sizeof(err)) < 0) {
		aur_err("%s", err);
		return AUR_EXIT_IOERR;
	}
	return 0;
}

static int follow_look(void *arg, int stop_fd, long long *found)
{
	struct emit *e = arg;

	e->stop_fd = stop_fd;
	return run_scan(e, found);
}

int aur_inbox_cmd_follow(struct aur_cmd_ctx *ctx)
{
	struct emit e;
	long long poll_ms = 1000;
	char what[64];
	int rc;

	rc = aur_inbox_cmd_check_platform(ctx);
	if (rc != 0)
		return rc;
	if (OPT(ctx, POLL) && aur_cli_parse_ll(OPT(ctx, POLL), 1, 3600000, &poll_ms) < 0)
		return aur_cmd_usage(ctx, "--poll-ms wants milliseconds (1 to 3600000): %s", OPT(ctx, POLL));
	emit_init(&e, ctx, EMIT_JSONL, 1);
	e.cursor = OPT(ctx, CURSOR);
	rc = follow_start(ctx, &e.s.after);
	if (rc != 0)
		return rc;
	/* the spool holds one batch: a bound on its bodies keeps it small */
	e.s.batch_bytes = FOLLOW_BATCH_BYTES;
	/* at a steady stream each look finds a row or two: preparing its query each time cost more */
	e.s.keep = 1;
	rc = spool_open(&e);
	if (rc != 0)
		return rc;
	snprintf(what, sizeof(what), "inbox id %lld", e.s.after);
	rc = aur_cmd_follow(ctx, (int)poll_ms, what, follow_look, &e);
	spool_release(&e);
	aur_inboxscan_release(&e.s);
	return rc;
}
