/*
 * incident_cmd.h - the bodies of aurora-incident's subcommands, run by the
 * front door (cmd.h): list, show, create, resolve/reopen/merge, ack and
 * comment, postmortem, watch. Each reads its options from ctx (codes
 * below), prints to ctx->out and returns an exit code; the lifecycle rules
 * are incident.c's, the reading incident_view.c's, the text
 * incident_text.c's.
 */
#ifndef AURORA_INCIDENT_CMD_H
#define AURORA_INCIDENT_CMD_H

#include "cli.h"
#include "cmd.h"

/* aurora-incident's option codes (its longopts use them) */
enum aur_incident_cmd_opt {
	AUR_INCIDENT_CMD_DB = AUR_CLI_BASE, AUR_INCIDENT_CMD_STATUS, AUR_INCIDENT_CMD_SERVICE,
	AUR_INCIDENT_CMD_SINCE, AUR_INCIDENT_CMD_LIMIT, AUR_INCIDENT_CMD_JSON, AUR_INCIDENT_CMD_TITLE,
	AUR_INCIDENT_CMD_SEVERITY, AUR_INCIDENT_CMD_SOURCE_TYPE, AUR_INCIDENT_CMD_METADATA,
	AUR_INCIDENT_CMD_REASON, AUR_INCIDENT_CMD_INTO, AUR_INCIDENT_CMD_REGENERATE, AUR_INCIDENT_CMD_FROM,
	AUR_INCIDENT_CMD_POLL, AUR_INCIDENT_CMD_CONFIG, AUR_INCIDENT_CMD_TEMPLATE,
	AUR_INCIDENT_CMD_LLM_TIMEOUT, AUR_INCIDENT_CMD_BY, AUR_INCIDENT_CMD_RESOLVED_BEFORE,
	AUR_INCIDENT_CMD_DRY_RUN, AUR_INCIDENT_CMD_BATCH, AUR_INCIDENT_CMD_PAUSE
};

/* list [--status S] [--service NAME] [--since TIME] [--limit N] [--json] */
int aur_incident_cmd_list(struct aur_cmd_ctx *ctx);
/* show ID [--json] */
int aur_incident_cmd_show(struct aur_cmd_ctx *ctx);
/* create --title T ...: prints the id, or the incident with --json */
int aur_incident_cmd_create(struct aur_cmd_ctx *ctx);
/* resolve ID [--reason], reopen ID, merge SRC --into DST: a refused move changes nothing, 65 */
int aur_incident_cmd_change(struct aur_cmd_ctx *ctx);
/* ack ID [--by], comment ID TEXT [--by] */
int aur_incident_cmd_people(struct aur_cmd_ctx *ctx);
/* postmortem ID [--regenerate] [--config FILE] [--llm-timeout S] [--template] */
int aur_incident_cmd_postmortem(struct aur_cmd_ctx *ctx);
/* watch [--from EVENT_ID] [--poll-ms N] [--json]: until a stop signal or the reader leaves */
int aur_incident_cmd_watch(struct aur_cmd_ctx *ctx);

#endif
