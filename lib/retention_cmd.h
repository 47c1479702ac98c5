/*
 * retention_cmd.h - the prune and retention subcommands of aurora-inbox
 * and aurora-incident, written once (retention.h does the work).
 *
 * prune: the age (its option, else the stored setting, else the
 * default), --batch and --pause-ms checked, the prune run, its counts
 * printed as a table or one JSON record. retention: the setting printed,
 * or set first ("default" removes it).
 */
#ifndef AURORA_RETENTION_CMD_H
#define AURORA_RETENTION_CMD_H

#include "cmd.h"

enum aur_retention_cmd_table { AUR_RETENTION_CMD_INBOX, AUR_RETENTION_CMD_INCIDENTS };

/* What one command's prune and retention read from its command line. */
struct aur_retention_cmd {
	enum aur_retention_cmd_table table;
	const char *age_option; /* the name of the age option: "older-than", "resolved-before" */
	const char *age;        /* its value, or NULL: the setting */
	const char *batch;      /* --batch, or NULL */
	const char *pause_ms;   /* --pause-ms, or NULL */
	int dry_run;            /* --dry-run */
	int json;               /* --json: one record instead of the table */
};

/* prune: an exit code (2 for a bad option, 65 for a bad stored setting, 75 busy ...). */
int aur_retention_cmd_prune(struct aur_cmd_ctx *ctx, const struct aur_retention_cmd *r);

/* retention [AGE|never|default]: set is the argument, or NULL to print only. An exit code. */
int aur_retention_cmd_setting(struct aur_cmd_ctx *ctx, const struct aur_retention_cmd *r, const char *set);

#endif
