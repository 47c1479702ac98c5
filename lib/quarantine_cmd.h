/*
 * quarantine_cmd.h - aurora-inbox quarantine [list|show ID|replay ID|drop
 * ID], run by the front door (cmd.h) with aurora-inbox's options
 * (inbox_cmd.h): the deliveries refused at the door (quarantine.h).
 */
#ifndef AURORA_QUARANTINE_CMD_H
#define AURORA_QUARANTINE_CMD_H

#include "cmd.h"

/*
 * What quarantine's first argument asks of the database: AUR_CMD_DB_WRITE
 * for replay and drop, else AUR_CMD_DB_READ. For the front door's check().
 */
enum aur_cmd_db aur_quarantine_cmd_db(const struct aur_cmd_ctx *ctx);

/* The subcommand: list (the default), show, replay or drop. An exit code; 1 for no such delivery. */
int aur_quarantine_cmd_run(struct aur_cmd_ctx *ctx);

#endif
