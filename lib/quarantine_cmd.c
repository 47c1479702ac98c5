#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <jq.h>
#include <sqlite3.h>

#include "cli.h"
#include "cmd.h"
#include "exitcodes.h"
#include "inbox_cmd.h"
#include "log.h"
#include "quarantine.h"
#include "quarantine_cmd.h"
#include "banned.h"

#define OPT(ctx, x) aur_cmd_opt(ctx, AUR_INBOX_CMD_##x)

enum aur_cmd_db aur_quarantine_cmd_db(const struct aur_cmd_ctx *ctx)
{
	const char *what = aur_cmd_arg(ctx, 0);

	return what && (!strcmp(what, "replay") || !strcmp(what, "drop")) ? AUR_CMD_DB_WRITE : AUR_CMD_DB_READ;
}

/* quarantine list: a table, or records as JSON lines. */
static int quarantine_row(sqlite3_stmt *st, void *arg)
{
	struct aur_cmd_ctx *ctx = arg;
	const unsigned char *remote = sqlite3_column_text(st, 3);

	if (OPT(ctx, JSON))
		return aur_cmd_put_json(ctx, aur_quarantine_row(st));
	return aur_cmd_printf(ctx, "%7lld  %-24s  %-12s  %-15s  %8d  %s\n", sqlite3_column_int64(st, 0),
			      (const char *)sqlite3_column_text(st, 2), (const char *)sqlite3_column_text(st, 1),
			      remote && *remote ? (const char *)remote : "-", sqlite3_column_bytes(st, 6),
			      (const char *)sqlite3_column_text(st, 8));
}

/* quarantine show: the body as it came, or the record with --json. */
static int quarantine_body(sqlite3_stmt *st, void *arg)
{
	struct aur_cmd_ctx *ctx = arg;
	size_t len = (size_t)sqlite3_column_bytes(st, 6);
	const void *body = sqlite3_column_blob(st, 6);

	if (OPT(ctx, JSON))
		return quarantine_row(st, arg);
	errno = 0;
	if (len && fwrite(body, 1, len, ctx->out) != len)
		return aur_cmd_write_failed();
	return 0;
}

static int quarantine_list(struct aur_cmd_ctx *ctx)
{
	long long limit = AUR_INBOX_CMD_DEFAULT_LIMIT;
	long long count = 0;
	char err[512] = "";
	int row_rc = 0;
	int rc;

	if (aur_cmd_arg(ctx, 1))
		return aur_cmd_usage(ctx, "quarantine list takes no argument: %s", aur_cmd_arg(ctx, 1));
	if (OPT(ctx, LIMIT) && aur_cli_parse_ll(OPT(ctx, LIMIT), 0, INT64_MAX, &limit) < 0)
		return aur_cmd_usage(ctx, "--limit wants a number (0 for all): %s", OPT(ctx, LIMIT));
	if (!OPT(ctx, JSON)) {
		rc = aur_cmd_printf(ctx, "%7s  %-24s  %-12s  %-15s  %8s  %s\n", "ID", "RECEIVED AT", "PLATFORM",
				    "REMOTE", "BYTES", "REASON");
		if (rc != 0)
			return rc;
	}
	rc = aur_quarantine_scan(ctx->db, OPT(ctx, PLATFORM), 0, limit, quarantine_row, ctx, &row_rc, &count, err,
				 sizeof(err));
	return rc < 0 ? aur_cmd_fail(rc, err) : row_rc;
}

/* replay and drop: one transaction each. */
static int quarantine_change(struct aur_cmd_ctx *ctx, const char *what, long long id)
{
	long long inbox_id = 0;
	char err[512] = "";
	int rc;

	if (!strcmp(what, "replay"))
		rc = aur_quarantine_replay(ctx->db, id, ctx->dbo.busy_timeout_ms, &inbox_id, err, sizeof(err));
	else
		rc = aur_quarantine_drop(ctx->db, id, ctx->dbo.busy_timeout_ms, err, sizeof(err));
	if (rc < 0)
		return aur_cmd_fail(rc, err);
	if (inbox_id)
		return aur_cmd_printf(ctx, "quarantine %lld replayed as inbox %lld\n", id, inbox_id);
	return aur_cmd_printf(ctx, "quarantine %lld dropped\n", id);
}

int aur_quarantine_cmd_run(struct aur_cmd_ctx *ctx)
{
	const char *what = aur_cmd_arg(ctx, 0) ? aur_cmd_arg(ctx, 0) : "list";
	const char *arg = aur_cmd_arg(ctx, 1);
	long long id = 0;
	long long count = 0;
	char err[512] = "";
	int row_rc = 0;
	int show;
	int rc;

	rc = aur_inbox_cmd_check_platform(ctx);
	if (rc != 0)
		return rc;
	if (!strcmp(what, "list"))
		return quarantine_list(ctx);
	show = !strcmp(what, "show");
	if (!show && strcmp(what, "replay") != 0 && strcmp(what, "drop") != 0)
		return aur_cmd_usage(ctx, "quarantine wants list, show ID, replay ID or drop ID, not '%s'", what);
	if (OPT(ctx, PLATFORM) || OPT(ctx, LIMIT) || (OPT(ctx, JSON) && !show))
		return aur_cmd_usage(ctx, "quarantine %s takes only an id%s", what, show ? " and --json" : "");
	if (!arg)
		return aur_cmd_usage(ctx, "quarantine %s wants a quarantine id", what);
	if (aur_cli_parse_ll(arg, 1, INT64_MAX, &id) < 0)
		return aur_cmd_usage(ctx, "quarantine %s wants a quarantine id: %s", what, arg);
	if (!show)
		return quarantine_change(ctx, what, id);
	rc = aur_quarantine_scan(ctx->db, NULL, id, 1, quarantine_body, ctx, &row_rc, &count, err, sizeof(err));
	if (rc < 0)
		return aur_cmd_fail(rc, err);
	if (row_rc == 0 && count == 0) {
		aur_err("no quarantined delivery with id %lld", id);
		return AUR_EXIT_REJECTED;
	}
	return row_rc;
}
