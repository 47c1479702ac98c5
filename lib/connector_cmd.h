/*
 * connector_cmd.h - the bodies of aurora-connector's subcommands, run by
 * the front door (cmd.h). Each reads its arguments and options from ctx
 * (codes below), changes the registry through connadmin.h, prints through
 * connreport.h to ctx->out, says why it failed on stderr (log.h) and
 * returns the exit code aurora-connector(1) documents. The platform of a
 * command that takes one is ctx->args[0]: an unknown one is 2, with the
 * platforms listed.
 */
#ifndef AURORA_CONNECTOR_CMD_H
#define AURORA_CONNECTOR_CMD_H

#include "cli.h"
#include "cmd.h"

/* aurora-connector's option codes (its longopts use them) */
enum aur_connector_cmd_opt {
	AUR_CONNECTOR_CMD_DB = AUR_CLI_BASE, AUR_CONNECTOR_CMD_JSON, AUR_CONNECTOR_CMD_VALUE, AUR_CONNECTOR_CMD_STDIN,
	AUR_CONNECTOR_CMD_CLEAR, AUR_CONNECTOR_CMD_URL, AUR_CONNECTOR_CMD_TIMEOUT, AUR_CONNECTOR_CMD_HMAC_HEADER
};

/* list [--json] */
int aur_connector_cmd_list(struct aur_cmd_ctx *ctx);
/* show P [--json] */
int aur_connector_cmd_show(struct aur_cmd_ctx *ctx);
/* add NAME [--hmac-header HEADER] [--json]: 1 for a built-in or existing name */
int aur_connector_cmd_add(struct aur_cmd_ctx *ctx);
/* remove NAME: 1 for a built-in platform */
int aur_connector_cmd_remove(struct aur_cmd_ctx *ctx);
/* enable P, disable P, rca P on|off (by ctx->cmd->name) */
int aur_connector_cmd_switch(struct aur_cmd_ctx *ctx);
/* token P [--json] */
int aur_connector_cmd_token(struct aur_cmd_ctx *ctx);
/* secret P [--value S | --stdin | --clear] [--json] */
int aur_connector_cmd_secret(struct aur_cmd_ctx *ctx);
/* url P */
int aur_connector_cmd_url(struct aur_cmd_ctx *ctx);
/* public-url [URL] */
int aur_connector_cmd_public_url(struct aur_cmd_ctx *ctx);
/* base-url P [URL | --clear] */
int aur_connector_cmd_base_url(struct aur_cmd_ctx *ctx);
/* credentials P [USER --stdin | --clear] [--json] */
int aur_connector_cmd_credentials(struct aur_cmd_ctx *ctx);
/* test P [--url BASE] [--timeout SEC] [--json]: 1 refused, 75 no answer, 5xx or 429 */
int aur_connector_cmd_test(struct aur_cmd_ctx *ctx);
/* operator-token NAME [--json] */
int aur_connector_cmd_operator_token(struct aur_cmd_ctx *ctx);
/* operator-tokens [--json] */
int aur_connector_cmd_operator_tokens(struct aur_cmd_ctx *ctx);
/* revoke-operator-token NAME: 1 when there is none */
int aur_connector_cmd_revoke_operator_token(struct aur_cmd_ctx *ctx);

#endif
