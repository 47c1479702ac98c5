/*
 * aurora-inbox - read the inbox: list, show, follow, replay; prune it.
 *
 * Raw records go to stdout as JSON lines; people get a table (list) or
 * pretty JSON (show). The database is opened read-only, except by prune,
 * retention (lib/retention_cmd.c) and quarantine replay and drop. The
 * front door is lib/cmd.c, the bodies lib/inbox_cmd.c and
 * lib/quarantine_cmd.c. See aurora-inbox(1).
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stddef.h>

#include "cli.h"
#include "cmd.h"
#include "inbox_cmd.h"
#include "quarantine_cmd.h"
#include "retention_cmd.h"
#include "banned.h"

#define PROG "aurora-inbox"
#define OPT(ctx, x) aur_cmd_opt(ctx, AUR_INBOX_CMD_##x)
#define B(x) AUR_CLI_OPT(AUR_INBOX_CMD_##x)

static const char usage_text[] =
	"usage: aurora-inbox [--db PATH] list|show|follow|replay|stats|prune|retention|\n"
	"       quarantine [options]\n";

static const char help_text[] =
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
	"exit status: 0 ok (also when the reader of stdout went away, but for prune,\n"
	"retention and quarantine replay|drop: 74 then), 1 no such\n"
	"row (show, quarantine show|replay|drop), 2 usage, 65 unreadable cursor file\n"
	"or a bad stored retention, 74 I/O error, 75 database busy (prune: run again,\n"
	"it continues), 78 no database at PATH, no resume point for STAGE in it, or\n"
	"one that predates delivery states (list --state, stats)\n";

/* What the table cannot say: the states --state takes; quarantine replay and drop write. */
static int check(struct aur_cmd_ctx *ctx)
{
	if (OPT(ctx, STATE) && !aur_inbox_cmd_state_known(OPT(ctx, STATE)))
		return aur_cmd_usage(ctx, "unknown state '%s'; states: alerts note test error unknown pending",
				     OPT(ctx, STATE));
	if (ctx->cmd->run == aur_quarantine_cmd_run && aur_quarantine_cmd_db(ctx) == AUR_CMD_DB_WRITE) {
		ctx->db_need = AUR_CMD_DB_WRITE;
		ctx->flags &= ~AUR_CMD_STREAM;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, AUR_INBOX_CMD_DB },
		{ "platform", required_argument, NULL, AUR_INBOX_CMD_PLATFORM },
		{ "since", required_argument, NULL, AUR_INBOX_CMD_SINCE },
		{ "until", required_argument, NULL, AUR_INBOX_CMD_UNTIL },
		{ "from", required_argument, NULL, AUR_INBOX_CMD_FROM },
		{ "cursor", required_argument, NULL, AUR_INBOX_CMD_CURSOR },
		{ "resume", required_argument, NULL, AUR_INBOX_CMD_RESUME },
		{ "limit", required_argument, NULL, AUR_INBOX_CMD_LIMIT },
		{ "poll-ms", required_argument, NULL, AUR_INBOX_CMD_POLL },
		{ "json", no_argument, NULL, AUR_INBOX_CMD_JSON },
		{ "state", required_argument, NULL, AUR_INBOX_CMD_STATE },
		{ "older-than", required_argument, NULL, AUR_INBOX_CMD_OLDER_THAN },
		{ "dry-run", no_argument, NULL, AUR_INBOX_CMD_DRY_RUN },
		{ "batch", required_argument, NULL, AUR_INBOX_CMD_BATCH },
		{ "pause-ms", required_argument, NULL, AUR_INBOX_CMD_PAUSE },
		{ NULL, 0, NULL, 0 },
	};
	static const struct aur_cmd cmds[] = {
		{ "list", B(PLATFORM) | B(SINCE) | B(LIMIT) | B(JSON) | B(STATE), 0, 0, NULL, AUR_CMD_DB_READ,
		  AUR_CMD_STREAM, aur_inbox_cmd_list },
		{ "stats", B(SINCE) | B(UNTIL) | B(JSON), 0, 0, NULL, AUR_CMD_DB_READ, AUR_CMD_STREAM,
		  aur_inbox_cmd_stats },
		{ "show", B(JSON), 1, 1, NULL, AUR_CMD_DB_READ, AUR_CMD_STREAM, aur_inbox_cmd_show },
		{ "follow", B(FROM) | B(CURSOR) | B(RESUME) | B(PLATFORM) | B(POLL), 0, 0, NULL, AUR_CMD_DB_READ,
		  AUR_CMD_STREAM, aur_inbox_cmd_follow },
		{ "replay", B(SINCE) | B(FROM) | B(UNTIL) | B(PLATFORM), 0, 0, NULL, AUR_CMD_DB_READ, AUR_CMD_STREAM,
		  aur_inbox_cmd_replay },
		{ "prune", B(OLDER_THAN) | B(DRY_RUN) | B(JSON) | B(BATCH) | B(PAUSE), 0, 0, NULL, AUR_CMD_DB_WRITE, 0,
		  aur_retention_cmd_inbox_prune },
		{ "retention", B(JSON), 0, 1, NULL, AUR_CMD_DB_WRITE, 0, aur_retention_cmd_inbox_setting },
		/* replay and drop write: check() says so */
		{ "quarantine", B(PLATFORM) | B(LIMIT) | B(JSON), 0, 2, NULL, AUR_CMD_DB_READ, AUR_CMD_STREAM,
		  aur_quarantine_cmd_run },
	};
	static const struct aur_cmd_program program = {
		.name = PROG, .usage = usage_text, .help = help_text, .longopts = longopts,
		.db_option = AUR_INBOX_CMD_DB, .cmds = cmds, .ncmds = sizeof(cmds) / sizeof(cmds[0]),
		.check = check,
	};

	return aur_cmd_main(&program, argc, argv);
}
