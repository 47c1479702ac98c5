#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jq.h>

#include "buf.h"
#include "cli.h"
#include "cmd.h"
#include "exitcodes.h"
#include "log.h"
#include "retention.h"
#include "retention_cmd.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

enum table { INBOX, INCIDENTS };

/* The stored setting of each table, its default, its age option, and what a batch counts. */
static const struct {
	const char *key;
	const char *def;
	const char *name;       /* the retention record's "table" */
	const char *age_option; /* the prune option that gives the age */
	const char *unit;       /* --batch counts these */
	const char *example;    /* ages to show in a message */
} tables[] = {
	[INBOX] = { AUR_RETENTION_INBOX_KEY, AUR_RETENTION_INBOX_DEFAULT, "inbox", "older-than", "rows",
		    "30d, 12h, 2w" },
	[INCIDENTS] = { AUR_RETENTION_INCIDENTS_KEY, AUR_RETENTION_INCIDENTS_DEFAULT, "incidents", "resolved-before",
			"incidents", "90d, 12h, 2w" },
};

/* What prune and retention read from the command line. */
struct retention_cmd {
	enum table table;
	const char *age;      /* the age option's value, or NULL: the setting */
	const char *batch;    /* --batch, or NULL */
	const char *pause_ms; /* --pause-ms, or NULL */
	int dry_run;          /* --dry-run */
	int json;             /* --json: one record instead of the table */
};

static void options(const struct aur_cmd_ctx *ctx, enum table t, struct retention_cmd *r)
{
	r->table = t;
	r->age = aur_cmd_opt_named(ctx, tables[t].age_option);
	r->batch = aur_cmd_opt_named(ctx, "batch");
	r->pause_ms = aur_cmd_opt_named(ctx, "pause-ms");
	r->dry_run = aur_cmd_opt_named(ctx, "dry-run") != NULL;
	r->json = aur_cmd_opt_named(ctx, "json") != NULL;
}

/* The options of prune: --batch, --pause-ms, the age (else the setting; 0 ms: never). 0, or an exit code. */
static int prune_options(struct aur_cmd_ctx *ctx, const struct retention_cmd *r,
			 struct aur_retention_options *ro, char **age, long long *ms)
{
	char err[512] = "";
	long long v;

	aur_retention_options_init(ro);
	ro->dry_run = r->dry_run;
	if (r->batch) {
		if (aur_cli_parse_ll(r->batch, 1, 100000, &v) < 0)
			return aur_cmd_usage(ctx, "--batch wants %s per transaction (1 to 100000): %s",
					     tables[r->table].unit, r->batch);
		ro->batch = (int)v;
	}
	if (r->pause_ms) {
		if (aur_cli_parse_ll(r->pause_ms, 0, 60000, &v) < 0)
			return aur_cmd_usage(ctx, "--pause-ms wants milliseconds (0 to 60000): %s", r->pause_ms);
		ro->pause_ms = (int)v;
	}
	if (r->age) {
		if (aur_retention_parse(r->age, ms) < 0 || *ms == 0)
			return aur_cmd_usage(ctx, "--%s wants an age of an hour or more (%s): %s", tables[r->table].age_option,
					     tables[r->table].example, r->age);
		*age = aur_xstrdup(r->age);
	} else if (aur_retention_get(ctx->db, tables[r->table].key, tables[r->table].def, age, ms, err,
				     sizeof(err)) < 0) {
		aur_err("%s (%s retention AGE sets it)", err, ctx->prog->name);
		return AUR_EXIT_DATAERR;
	}
	ro->cutoff_ms = *ms ? aur_time_now_ms() - *ms : 0;
	return 0;
}

/* Run the prune of the table; its counts as a record (*json) and a table (b). 0 or -errno. */
static int prune(struct aur_cmd_ctx *ctx, const struct retention_cmd *r, const struct aur_retention_options *ro,
		 const char *age, jv *json, struct aur_buf *b, char *err, size_t errlen)
{
	struct aur_retention_inbox_counts ic;
	struct aur_retention_incident_counts c;
	int rc;

	if (r->table == INCIDENTS) {
		rc = aur_retention_prune_incidents(ctx->db, ro, &c, err, errlen);
		*json = aur_retention_incidents_json(&c, ro, age);
		aur_retention_incidents_text(&c, ro, age, b);
		return rc;
	}
	rc = aur_retention_prune_inbox(ctx->db, ro, &ic, err, errlen);
	if (rc == 0 && ic.kept_unread > 0)
		aur_warn("%lld deliveries older than %s kept: stage %s has not read past inbox id %lld (a stage no "
			 "longer run holds them: see aurora-inbox(1), RETENTION)", ic.kept_unread, age,
			 ic.slowest_stage, ic.mark);
	*json = aur_retention_inbox_json(&ic, ro, age);
	aur_retention_inbox_text(&ic, ro, age, b);
	return rc;
}

static int prune_cmd(struct aur_cmd_ctx *ctx, const struct retention_cmd *r)
{
	struct aur_retention_options ro;
	struct aur_buf b;
	char err[512] = "";
	char *age = NULL;
	long long ms = 0;
	jv json = jv_invalid();
	int wrc;
	int rc;

	aur_buf_init(&b, 0);
	rc = prune_options(ctx, r, &ro, &age, &ms);
	if (rc != 0)
		goto out;
	if (ro.cutoff_ms == 0) {
		aur_info("retention is %s: nothing to prune", age);
		goto out;
	}
	rc = prune(ctx, r, &ro, age, &json, &b, err, sizeof(err));
	/* a prune cut short still says what it did */
	if (rc < 0)
		rc = aur_cmd_fail(rc == -EINVAL ? -EIO : rc, err);
	if (r->json) {
		wrc = aur_cmd_put_json(ctx, json);
		json = jv_invalid();
	} else {
		wrc = aur_cmd_put_buf(ctx, &b);
	}
	rc = rc ? rc : wrc;
out:
	jv_free(json);
	free(age);
	aur_buf_release(&b);
	return rc;
}

static int setting_cmd(struct aur_cmd_ctx *ctx, const struct retention_cmd *r, const char *set)
{
	const char *key = tables[r->table].key;
	char err[512] = "";
	char *age = NULL;
	long long ms;
	int rc;

	if (set) {
		rc = aur_retention_set(ctx->db, key, strcmp(set, "default") ? set : NULL, err, sizeof(err));
		if (rc == -EINVAL)
			return aur_cmd_usage(ctx, "retention: %s", err);
		if (rc < 0)
			return aur_cmd_fail(rc, err);
	}
	if (aur_retention_get(ctx->db, key, tables[r->table].def, &age, &ms, err, sizeof(err)) < 0) {
		aur_err("%s", err);
		return AUR_EXIT_DATAERR;
	}
	if (r->json) {
		jv v = jv_object();

		v = jv_object_set(v, jv_string("v"), jv_number(1));
		v = jv_object_set(v, jv_string("type"), jv_string("retention"));
		v = jv_object_set(v, jv_string("table"), jv_string(tables[r->table].name));
		v = jv_object_set(v, jv_string("retention"), jv_string(age));
		rc = aur_cmd_put_json(ctx, v);
	} else {
		rc = aur_cmd_printf(ctx, "%s\n", age);
	}
	free(age);
	return rc;
}

int aur_retention_cmd_inbox_prune(struct aur_cmd_ctx *ctx)
{
	struct retention_cmd r;

	options(ctx, INBOX, &r);
	return prune_cmd(ctx, &r);
}

int aur_retention_cmd_inbox_setting(struct aur_cmd_ctx *ctx)
{
	struct retention_cmd r;

	options(ctx, INBOX, &r);
	return setting_cmd(ctx, &r, aur_cmd_arg(ctx, 0));
}

int aur_retention_cmd_incidents_prune(struct aur_cmd_ctx *ctx)
{
	struct retention_cmd r;

	options(ctx, INCIDENTS, &r);
	return prune_cmd(ctx, &r);
}

int aur_retention_cmd_incidents_setting(struct aur_cmd_ctx *ctx)
{
	struct retention_cmd r;

	options(ctx, INCIDENTS, &r);
	return setting_cmd(ctx, &r, aur_cmd_arg(ctx, 0));
}
