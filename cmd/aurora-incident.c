/*
 * aurora-incident - the operator's interface to incidents: list, show,
 * create, resolve, reopen, merge, ack, comment, postmortem, watch; prune
 * and retention (lib/retention_cmd.c).
 *
 * People get tables and pages, tools get --json (one compact object per
 * line). The lifecycle is enforced by lib/incident.c: an illegal transition
 * exits 65 with nothing changed. The front door is lib/cmd.c, the bodies
 * lib/incident_cmd.c. See aurora-incident(1).
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stddef.h>
#include <string.h>

#include "cli.h"
#include "cmd.h"
#include "incident_cmd.h"
#include "retention_cmd.h"
#include "banned.h"

#define PROG "aurora-incident"
#define OPT(ctx, x) aur_cmd_opt(ctx, AUR_INCIDENT_CMD_##x)
#define B(x) AUR_CLI_OPT(AUR_INCIDENT_CMD_##x)

static const char usage_text[] =
	"usage: aurora-incident [--db PATH] list|show|create|resolve|reopen|merge|ack|comment|postmortem|watch|"
	"prune|retention [options]\n";

static const char help_text[] =
	"usage: aurora-incident [--db PATH] COMMAND [options]\n"
	"\n"
	"List, read and change incidents; follow the events log.\n"
	"\n"
	"commands:\n"
	"  list [--status S] [--service NAME] [--since TIME] [--limit N] [--json]\n"
	"        the newest N incidents (default 50, 0 for all), newest first; S is\n"
	"        investigating, analyzed, resolved, merged or open; TIME is RFC 3339\n"
	"        or a duration before now (90s, 10m, 2h, 7d) and matches the start\n"
	"  show ID [--json]\n"
	"        everything about one incident; --json prints it as one object\n"
	"  create --title T [--service S] [--severity SEV] [--source-type TYPE]\n"
	"         [--metadata JSON] [--json]\n"
	"        a manual incident (SEV: critical, high, medium (default), low,\n"
	"        info; TYPE default manual); prints its id, or the object\n"
	"  resolve ID [--reason TEXT]\n"
	"  reopen ID\n"
	"  merge SRC --into DST\n"
	"        move through the lifecycle; an illegal move changes nothing\n"
	"  ack ID [--by NAME]\n"
	"        acknowledge an open incident, once (NAME default $USER)\n"
	"  comment ID TEXT [--by NAME]\n"
	"        add TEXT (1 to 4000 bytes) to the incident's timeline\n"
	"  postmortem ID [--regenerate] [--config FILE] [--llm-timeout SECONDS]\n"
	"             [--template]\n"
	"        print the stored postmortem (Markdown), generating and storing it\n"
	"        first when there is none or --regenerate is given: by the model of\n"
	"        FILE (default $AURORA_RCA_CONFIG, aurora-rca's configuration) within\n"
	"        SECONDS (default 60), else, or when it fails, or with --template,\n"
	"        from the template\n"
	"  prune [--resolved-before AGE] [--dry-run] [--json] [--batch N] [--pause-ms N]\n"
	"        delete incidents resolved (or merged) more than AGE ago (90d, 12h,\n"
	"        2w; default the retention setting) with their alerts, links, events,\n"
	"        thoughts, suggestions and comments, except what an open incident or\n"
	"        a silent heartbeat refers to; N incidents per transaction (default\n"
	"        100), N ms between them (default 10)\n"
	"  retention [AGE|never|default]\n"
	"        print the age prune uses without --resolved-before (default 90d), or\n"
	"        set it\n"
	"  watch [--from EVENT_ID] [--poll-ms N] [--json]\n"
	"        print events as they are committed, until SIGINT or SIGTERM;\n"
	"        start at EVENT_ID (inclusive), else after the newest event; N is\n"
	"        the fallback poll interval in ms (default 1000)\n"
	"\n"
	"options (before or after the command):\n"
	"  --db PATH      the database (default $AURORA_DB, else ./aurora.db)\n"
	"  -q, --quiet    print errors only\n"
	"  -v, --verbose  print more on stderr (twice for debug)\n"
	"  -h, --help     print this help\n"
	"  --version      print the version\n"
	"\n"
	"exit status: 0 ok, 1 no such incident, 2 usage, 65 illegal transition or\n"
	"invalid field or a bad stored retention, 74 I/O error, 75 database busy\n"
	"(prune: run again, it continues), 78 no (aurora) database at PATH\n"
	"or a bad LLM configuration (a model failing is not an error: the template\n"
	"writes the postmortem and one line on stderr says why)\n";

/* What the table cannot say: create needs --title, merge --into. */
static int check(struct aur_cmd_ctx *ctx)
{
	const char *cmd = ctx->cmd->name;

	if (!strcmp(cmd, "create") && !OPT(ctx, TITLE))
		return aur_cmd_usage(ctx, "create needs --title");
	if (!strcmp(cmd, "merge") && !OPT(ctx, INTO))
		return aur_cmd_usage(ctx, "merge needs --into DST");
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, AUR_INCIDENT_CMD_DB },
		{ "status", required_argument, NULL, AUR_INCIDENT_CMD_STATUS },
		{ "service", required_argument, NULL, AUR_INCIDENT_CMD_SERVICE },
		{ "since", required_argument, NULL, AUR_INCIDENT_CMD_SINCE },
		{ "limit", required_argument, NULL, AUR_INCIDENT_CMD_LIMIT },
		{ "json", no_argument, NULL, AUR_INCIDENT_CMD_JSON },
		{ "title", required_argument, NULL, AUR_INCIDENT_CMD_TITLE },
		{ "severity", required_argument, NULL, AUR_INCIDENT_CMD_SEVERITY },
		{ "source-type", required_argument, NULL, AUR_INCIDENT_CMD_SOURCE_TYPE },
		{ "metadata", required_argument, NULL, AUR_INCIDENT_CMD_METADATA },
		{ "reason", required_argument, NULL, AUR_INCIDENT_CMD_REASON },
		{ "into", required_argument, NULL, AUR_INCIDENT_CMD_INTO },
		{ "regenerate", no_argument, NULL, AUR_INCIDENT_CMD_REGENERATE },
		{ "from", required_argument, NULL, AUR_INCIDENT_CMD_FROM },
		{ "poll-ms", required_argument, NULL, AUR_INCIDENT_CMD_POLL },
		{ "config", required_argument, NULL, AUR_INCIDENT_CMD_CONFIG },
		{ "template", no_argument, NULL, AUR_INCIDENT_CMD_TEMPLATE },
		{ "llm-timeout", required_argument, NULL, AUR_INCIDENT_CMD_LLM_TIMEOUT },
		{ "by", required_argument, NULL, AUR_INCIDENT_CMD_BY },
		{ "resolved-before", required_argument, NULL, AUR_INCIDENT_CMD_RESOLVED_BEFORE },
		{ "dry-run", no_argument, NULL, AUR_INCIDENT_CMD_DRY_RUN },
		{ "batch", required_argument, NULL, AUR_INCIDENT_CMD_BATCH },
		{ "pause-ms", required_argument, NULL, AUR_INCIDENT_CMD_PAUSE },
		{ NULL, 0, NULL, 0 },
	};
	/* every command opens the database to write (migrations run); only create may make it */
	static const struct aur_cmd cmds[] = {
		{ "list", B(STATUS) | B(SERVICE) | B(SINCE) | B(LIMIT) | B(JSON), 0, 0, NULL, AUR_CMD_DB_WRITE,
		  AUR_CMD_STREAM, aur_incident_cmd_list },
		{ "show", B(JSON), 1, 1, "needs one ID", AUR_CMD_DB_WRITE, AUR_CMD_STREAM, aur_incident_cmd_show },
		{ "create", B(TITLE) | B(SERVICE) | B(SEVERITY) | B(SOURCE_TYPE) | B(METADATA) | B(JSON), 0, 0, NULL,
		  AUR_CMD_DB_CREATE, 0, aur_incident_cmd_create },
		{ "resolve", B(REASON), 1, 1, "needs one ID", AUR_CMD_DB_WRITE, 0, aur_incident_cmd_change },
		{ "reopen", 0, 1, 1, "needs one ID", AUR_CMD_DB_WRITE, 0, aur_incident_cmd_change },
		{ "merge", B(INTO), 1, 1, "needs one ID", AUR_CMD_DB_WRITE, 0, aur_incident_cmd_change },
		{ "ack", B(BY), 1, 1, "needs one ID", AUR_CMD_DB_WRITE, 0, aur_incident_cmd_people },
		{ "comment", B(BY), 2, 2, "needs an ID and a TEXT", AUR_CMD_DB_WRITE, 0, aur_incident_cmd_people },
		{ "postmortem", B(REGENERATE) | B(CONFIG) | B(TEMPLATE) | B(LLM_TIMEOUT), 1, 1, "needs one ID",
		  AUR_CMD_DB_WRITE, 0, aur_incident_cmd_postmortem },
		{ "watch", B(FROM) | B(POLL) | B(JSON), 0, 0, NULL, AUR_CMD_DB_WRITE, AUR_CMD_STREAM,
		  aur_incident_cmd_watch },
		{ "prune", B(RESOLVED_BEFORE) | B(DRY_RUN) | B(JSON) | B(BATCH) | B(PAUSE), 0, 0, NULL,
		  AUR_CMD_DB_WRITE, 0, aur_retention_cmd_incidents_prune },
		{ "retention", B(JSON), 0, 1, "takes at most one argument", AUR_CMD_DB_WRITE, 0,
		  aur_retention_cmd_incidents_setting },
	};
	static const struct aur_cmd_program program = {
		.name = PROG, .usage = usage_text, .help = help_text, .longopts = longopts,
		.db_option = AUR_INCIDENT_CMD_DB, .cmds = cmds, .ncmds = sizeof(cmds) / sizeof(cmds[0]),
		.check = check,
	};

	return aur_cmd_main(&program, argc, argv);
}
