/*
 * retention_cmd.h - the prune and retention subcommands of aurora-inbox
 * and aurora-incident, written once (retention.h does the work); each is a
 * run() of the front door's table (cmd.h).
 *
 * prune [--older-than AGE | --resolved-before AGE] [--dry-run] [--json]
 * [--batch N] [--pause-ms N]: the age (its option, else the stored
 * setting, else the default), the prune run, its counts printed as a
 * table or one JSON record. retention [AGE|never|default] [--json]: the
 * setting printed, or set first ("default" removes it). The options are
 * read by their long names (aur_cmd_opt_named).
 */
#ifndef AURORA_RETENTION_CMD_H
#define AURORA_RETENTION_CMD_H

#include "cmd.h"

/* aurora-inbox prune (--older-than) and retention: exit codes (2 a bad option, 65 a bad stored setting ...) */
int aur_retention_cmd_inbox_prune(struct aur_cmd_ctx *ctx);
int aur_retention_cmd_inbox_setting(struct aur_cmd_ctx *ctx);
/* aurora-incident prune (--resolved-before) and retention */
int aur_retention_cmd_incidents_prune(struct aur_cmd_ctx *ctx);
int aur_retention_cmd_incidents_setting(struct aur_cmd_ctx *ctx);

#endif
