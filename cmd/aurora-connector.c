/*
 * aurora-connector - the connectors page: per-platform switches, tokens,
 * secrets, URLs, a test delivery through the running receiver, and the
 * operator tokens of the receiver's incident API. See aurora-connector(1).
 * The subcommands' bodies are lib/connector_cmd.c's: this file holds the
 * usage, the options and the table the front door (lib/cmd.c) runs.
 */
#include <string.h>

#include "cli.h"
#include "cmd.h"
#include "connector_cmd.h"
#include "banned.h"

#define PROG "aurora-connector"

enum {
	O_DB = AUR_CONNECTOR_CMD_DB, O_JSON = AUR_CONNECTOR_CMD_JSON, O_VALUE = AUR_CONNECTOR_CMD_VALUE,
	O_STDIN = AUR_CONNECTOR_CMD_STDIN, O_CLEAR = AUR_CONNECTOR_CMD_CLEAR, O_URL = AUR_CONNECTOR_CMD_URL,
	O_TIMEOUT = AUR_CONNECTOR_CMD_TIMEOUT, O_HMAC_HEADER = AUR_CONNECTOR_CMD_HMAC_HEADER
};

#define CLEAR(ctx) (aur_cmd_opt(ctx, O_CLEAR) != NULL)

static const char usage_lines[] =
	"usage: aurora-connector [--db PATH] list|show|add|remove|enable|disable|rca|\n"
	"       token|secret|url|public-url|base-url|credentials|test|operator-token|\n"
	"       operator-tokens|revoke-operator-token [ARGS] [options]\n";

static const char usage_text[] =
	"usage: aurora-connector [--db PATH] COMMAND [options]\n"
	"\n"
	"Configure the platforms aurora receives webhooks from.\n"
	"\n"
	"commands:\n"
	"  list [--json]              every platform: enabled, RCA, token and secret set,\n"
	"                             webhook URL, last delivery, counts, connected\n"
	"  show P [--json]            one platform: the same, and what became of its\n"
	"                             deliveries: failed to normalize, the last error\n"
	"  add NAME [--hmac-header HEADER] [--json]\n"
	"                             register a platform of your own (its jq mapping\n"
	"                             NAME.jq goes in aurora-normalize's mappings\n"
	"                             directory); prints its webhook URL and token once;\n"
	"                             with --hmac-header, deliveries carry the hex\n"
	"                             HMAC-SHA256 of the body in HEADER once a secret\n"
	"                             is set (secret NAME)\n"
	"  remove NAME                unregister an added platform (its inbox rows stay)\n"
	"  enable P | disable P       accept or refuse (404) the platform's deliveries\n"
	"  rca P on|off               investigate its incidents or not\n"
	"  token P [--json]           create or rotate the token; prints the webhook URL\n"
	"                             with ?token= once (only a hash is kept)\n"
	"  secret P [--value S | --stdin | --clear] [--json]\n"
	"                             the HMAC secret of a signing platform (grafana,\n"
	"                             pagerduty, one added with --hmac-header); without\n"
	"                             a value one is generated and printed once\n"
	"  url P                      the webhook URL, without any secret\n"
	"  public-url [URL]           print or set aurora's public base URL\n"
	"  base-url P [URL | --clear] print, set or clear the platform's own base URL\n"
	"  credentials P [USER --stdin | --clear] [--json]\n"
	"                             the user and API token aurora reads build consoles\n"
	"                             with (jenkins, cloudbees); the token comes on stdin,\n"
	"                             and is never printed\n"
	"  test P [--url BASE] [--timeout SEC] [--json]\n"
	"                             send the platform's sample payload through the\n"
	"                             running receiver and report status and time\n"
	"  operator-token NAME [--json]\n"
	"                             create or rotate an operator token for the\n"
	"                             receiver's incident API; prints it once\n"
	"  operator-tokens [--json]   the operator tokens' names and creation times\n"
	"  revoke-operator-token NAME delete an operator token\n"
	"\n"
	"platforms: grafana alertmanager pagerduty datadog netdata dynatrace splunk\n"
	"           jenkins cloudbees, and those added (list shows them all)\n"
	"\n"
	"options (before or after the command):\n"
	"  --db PATH      the database (default $AURORA_DB, else ./aurora.db); created\n"
	"                 when missing\n"
	"  -q, --quiet    print errors only\n"
	"  -v, --verbose  print more on stderr\n"
	"  -h, --help     print this help\n"
	"  --version      print the version\n"
	"\n"
	"exit status: 0 ok, 1 the receiver refused the test (4xx), no such operator\n"
	"token, add of a platform that exists (built in or added) or remove of a\n"
	"built-in one, 2 usage, unknown platform or bad name, 65 bad secret on stdin,\n"
	"74 I/O error,\n"
	"75 database busy or the receiver unreachable, timed out or failing (5xx, 429),\n"
	"78 bad public URL or not an aurora database\n";

static int check(struct aur_cmd_ctx *ctx)
{
	if (!!aur_cmd_opt(ctx, O_VALUE) + !!aur_cmd_opt(ctx, O_STDIN) + CLEAR(ctx) > 1)
		return aur_cmd_usage(ctx, "--value, --stdin and --clear exclude each other");
	if (CLEAR(ctx) && ctx->nargs > 1)
		return aur_cmd_usage(ctx, "%s: %s or --clear, not both", ctx->cmd->name,
				     strcmp(ctx->cmd->name, "base-url") ? "a USER" : "a URL");
	return 0;
}

#define OPT(x) AUR_CLI_OPT(O_##x)
#define DB AUR_CMD_DB_CREATE

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, O_DB },
		{ "json", no_argument, NULL, O_JSON },
		{ "value", required_argument, NULL, O_VALUE },
		{ "stdin", no_argument, NULL, O_STDIN },
		{ "clear", no_argument, NULL, O_CLEAR },
		{ "url", required_argument, NULL, O_URL },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "hmac-header", required_argument, NULL, O_HMAC_HEADER },
		{ NULL, 0, NULL, 0 },
	};
	static const struct aur_cmd cmds[] = {
		{ "list", OPT(JSON), 0, 0, NULL, DB, 0, aur_connector_cmd_list },
		{ "show", OPT(JSON), 1, 1, NULL, DB, 0, aur_connector_cmd_show },
		{ "add", OPT(HMAC_HEADER) | OPT(JSON), 1, 1, NULL, DB, 0, aur_connector_cmd_add },
		{ "remove", 0, 1, 1, NULL, DB, 0, aur_connector_cmd_remove },
		{ "enable", 0, 1, 1, NULL, DB, 0, aur_connector_cmd_switch },
		{ "disable", 0, 1, 1, NULL, DB, 0, aur_connector_cmd_switch },
		{ "rca", 0, 2, 2, NULL, DB, 0, aur_connector_cmd_switch },
		{ "token", OPT(JSON), 1, 1, NULL, DB, 0, aur_connector_cmd_token },
		{ "secret", OPT(VALUE) | OPT(STDIN) | OPT(CLEAR) | OPT(JSON), 1, 1, NULL, DB, 0, aur_connector_cmd_secret },
		{ "url", 0, 1, 1, NULL, DB, 0, aur_connector_cmd_url },
		{ "public-url", 0, 0, 1, NULL, DB, 0, aur_connector_cmd_public_url },
		{ "base-url", OPT(CLEAR), 1, 2, NULL, DB, 0, aur_connector_cmd_base_url },
		{ "credentials", OPT(STDIN) | OPT(CLEAR) | OPT(JSON), 1, 2, NULL, DB, 0, aur_connector_cmd_credentials },
		{ "test", OPT(URL) | OPT(TIMEOUT) | OPT(JSON), 1, 1, NULL, DB, 0, aur_connector_cmd_test },
		{ "operator-token", OPT(JSON), 1, 1, NULL, DB, 0, aur_connector_cmd_operator_token },
		{ "operator-tokens", OPT(JSON), 0, 0, NULL, DB, 0, aur_connector_cmd_operator_tokens },
		{ "revoke-operator-token", 0, 1, 1, NULL, DB, 0, aur_connector_cmd_revoke_operator_token },
	};
	static const struct aur_cmd_program program = {
		.name = PROG, .usage = usage_lines, .help = usage_text, .longopts = longopts, .db_option = O_DB,
		.cmds = cmds, .ncmds = sizeof(cmds) / sizeof(cmds[0]), .check = check,
	};

	return aur_cmd_main(&program, argc, argv);
}
