/*
 * backtest.c - replay the inbox with two settings and compare (backtest.h):
 * the settings of a side and the range's points, and the run: the live
 * database opened read-only, the replay (backtest_replay.c), the live file
 * left, then the comparison (backtest_compare.c). backtest_impl.h lists
 * the module's files.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jq.h>

#include "backtest.h"
#include "backtest_impl.h"
#include "buf.h"
#include "cli.h"
#include "correlate_opts.h"
#include "db.h"
#include "follow.h"
#include "normalize.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

/* ---- settings and range ---- */

void aur_backtest_side_init(struct aur_backtest_side *s)
{
	memset(s, 0, sizeof(*s));
	aur_correlate_config_init(&s->cfg);
}

int aur_backtest_side_set(struct aur_backtest_side *s, const char *setting, char *err, size_t errlen)
{
	const char *name = setting;
	const char *eq;
	char key[128];
	char why[512];
	int rc;

	if (!strncmp(name, "--", 2))
		name += 2;
	eq = strchr(name, '=');
	if ((eq ? (size_t)(eq - name) : strlen(name)) >= sizeof(key) || name == eq || !*name) {
		snprintf(err, errlen, "'%s': not a correlation setting", setting);
		return -EINVAL;
	}
	if (s->ngiven >= AUR_BACKTEST_MAX_SETTINGS) {
		snprintf(err, errlen, "'%s': more than %d settings", setting, AUR_BACKTEST_MAX_SETTINGS);
		return -EINVAL;
	}
	snprintf(key, sizeof(key), "%.*s", (int)(eq ? (size_t)(eq - name) : strlen(name)), name);
	rc = aur_correlate_config_set(&s->cfg, key, eq ? eq + 1 : NULL, why, sizeof(why));
	if (rc < 0) {
		snprintf(err, errlen, "'%s': %s", setting, why);
		return -EINVAL;
	}
	s->given[s->ngiven++] = name;
	return 0;
}

int aur_backtest_parse_point(const char *s, long long now_ms, int *is_id, long long *value)
{
	if (*s && strspn(s, "0123456789") == strlen(s)) {
		*is_id = 1;
		return aur_cli_parse_ll(s, 1, INT64_MAX, value) < 0 ? -EINVAL : 0;
	}
	*is_id = 0;
	return aur_cli_parse_time_ms(s, now_ms, value) < 0 ? -EINVAL : 0;
}

void aur_backtest_options_init(struct aur_backtest_options *o)
{
	memset(o, 0, sizeof(*o));
	o->from_id = 1;
	o->to_id = INT64_MAX;
	o->since_ms = INT64_MIN;
	o->until_ms = INT64_MAX;
	o->warmup_ms = -1;
}
/* ---- the run ---- */

static void run_release(struct run *r)
{
	backtest_scratch_remove(r);
	backtest_drop_pending(r);
	aur_normalize_free(r->norm);
	for (size_t i = 0; i < r->nitems; i++) {
		struct item *it = &r->items[i];

		free(it->source);
		free(it->dedup_key);
		free(it->title);
		free(it->at);
		for (int s = 0; s < SIDES; s++) {
			free(it->p[s].strategy);
			free(it->p[s].reason);
		}
	}
	free(r->items);
	for (int s = 0; s < SIDES; s++) {
		for (size_t i = 0; i < r->side[s].ninc; i++) {
			free(r->side[s].inc[i].title);
			free(r->side[s].inc[i].service);
			free(r->side[s].inc[i].started_at);
		}
		free(r->side[s].inc);
		jv_free(r->side[s].joins);
	}
	aur_buf_release(&r->out);
}

int aur_backtest_run(const struct aur_backtest_options *o, const struct aur_backtest_side *a,
		     const struct aur_backtest_side *b, struct aur_backtest **out, char *err, size_t errlen)
{
	struct aur_normalize_options no = { 0 };
	struct run r;
	sqlite3 *live = NULL;
	int rc;

	*out = NULL;
	memset(&r, 0, sizeof(r));
	r.o = o;
	r.settings[SIDE_A] = a;
	r.settings[SIDE_B] = b;
	r.err = err;
	r.errlen = errlen;
	r.side[SIDE_A].joins = jv_object();
	r.side[SIDE_B].joins = jv_object();
	err[0] = '\0';
	aur_buf_init(&r.out, 0);

	rc = aur_follow_open_db(&live, o->db_path, err, errlen);
	if (rc < 0)
		goto out;
	no.mappings_dir = o->mappings_dir;
	no.db_path = o->db_path; /* the connectors' base URLs, read-only */
	rc = aur_normalize_new(&r.norm, &no, err, errlen);
	if (rc < 0) {
		rc = rc == -ENODATA ? -ENODATA : -ENOEXEC;
		goto out;
	}
	rc = backtest_replay(&r, live);
	/* the live file is left before anything else is done */
	aur_db_close(live);
	live = NULL;
	backtest_scratch_remove(&r);
	if (rc < 0)
		goto out;
	*out = aur_xcalloc(1, sizeof(**out));
	backtest_compare(&r, *out);
out:
	aur_db_close(live);
	run_release(&r);
	return rc;
}

void aur_backtest_free(struct aur_backtest *r)
{
	if (!r)
		return;
	jv_free(r->summary);
	jv_free(r->changes);
	free(r);
}
