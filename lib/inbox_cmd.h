/*
 * inbox_cmd.h - the bodies of aurora-inbox's reading subcommands, run by
 * the front door (cmd.h): list, stats, show, replay, follow; its
 * quarantine subcommand is quarantine_cmd.h, prune and retention
 * retention_cmd.h. Each reads its options from ctx (codes below), prints
 * raw records (aurora(7)) or a table to ctx->out and returns an exit code.
 */
#ifndef AURORA_INBOX_CMD_H
#define AURORA_INBOX_CMD_H

#include "cli.h"
#include "cmd.h"

/* aurora-inbox's option codes (its longopts use them) */
enum aur_inbox_cmd_opt {
	AUR_INBOX_CMD_DB = AUR_CLI_BASE, AUR_INBOX_CMD_PLATFORM, AUR_INBOX_CMD_SINCE, AUR_INBOX_CMD_UNTIL,
	AUR_INBOX_CMD_FROM, AUR_INBOX_CMD_CURSOR, AUR_INBOX_CMD_RESUME, AUR_INBOX_CMD_LIMIT, AUR_INBOX_CMD_POLL,
	AUR_INBOX_CMD_JSON, AUR_INBOX_CMD_STATE, AUR_INBOX_CMD_OLDER_THAN, AUR_INBOX_CMD_DRY_RUN,
	AUR_INBOX_CMD_BATCH, AUR_INBOX_CMD_PAUSE
};

#define AUR_INBOX_CMD_DEFAULT_LIMIT 50

/*
 * --platform P: a platform of the registry (connector.h), or one whose
 * rows stayed in the inbox after it was removed. 0 (also without
 * --platform), or 2 with the platforms listed.
 */
int aur_inbox_cmd_check_platform(struct aur_cmd_ctx *ctx);

/* 1 when s is a delivery state --state takes (alerts note test error unknown pending). */
int aur_inbox_cmd_state_known(const char *s);

/* list [--platform P] [--state S] [--since ID] [--limit N] [--json] */
int aur_inbox_cmd_list(struct aur_cmd_ctx *ctx);
/* stats [--since TIME] [--until TIME] [--json] */
int aur_inbox_cmd_stats(struct aur_cmd_ctx *ctx);
/* show ID [--json]: 1 when there is no such row */
int aur_inbox_cmd_show(struct aur_cmd_ctx *ctx);
/* replay (--since TIME | --from ID) [--until TIME] [--platform P] */
int aur_inbox_cmd_replay(struct aur_cmd_ctx *ctx);
/* follow [--from ID] [--cursor FILE] [--resume STAGE] [--platform P] [--poll-ms N] */
int aur_inbox_cmd_follow(struct aur_cmd_ctx *ctx);

#endif
