#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jq.h>
#include <sqlite3.h>

#include "buf.h"
#include "cli.h"
#include "cmd.h"
#include "exitcodes.h"
#include "incident_cmd.h"
#include "incident_text.h"
#include "incident_view.h"
#include "incident_watch.h"
#include "investigate.h"
#include "jsonvalid.h"
#include "log.h"
#include "postmortem.h"
#include "timeutil.h"
#include "banned.h"

#define DEFAULT_LIMIT 50
#define OPT(ctx, x) aur_cmd_opt(ctx, AUR_INCIDENT_CMD_##x)

static int parse_id(struct aur_cmd_ctx *ctx, const char *s, const char *what, long long *id)
{
	if (aur_cli_parse_ll(s, 1, INT64_MAX, id) < 0)
		return aur_cmd_usage(ctx, "%s wants an incident id: %s", what, s);
	return 0;
}

int aur_incident_cmd_list(struct aur_cmd_ctx *ctx)
{
	struct aur_incident_filter f;
	struct aur_buf b;
	char err[512] = "";
	jv list = jv_invalid();
	int rc;

	aur_incident_filter_init(&f);
	aur_buf_init(&b, 0);
	f.status = OPT(ctx, STATUS);
	f.service = OPT(ctx, SERVICE);
	f.limit = DEFAULT_LIMIT;
	if (OPT(ctx, LIMIT) && aur_cli_parse_ll(OPT(ctx, LIMIT), 0, INT64_MAX, &f.limit) < 0) {
		rc = aur_cmd_usage(ctx, "--limit wants a number (0 for all): %s", OPT(ctx, LIMIT));
		goto out;
	}
	if (OPT(ctx, SINCE) && aur_cli_parse_time_ms(OPT(ctx, SINCE), aur_time_now_ms(), &f.since_ms) < 0) {
		rc = aur_cmd_usage(ctx, "--since wants RFC 3339 or a duration like 10m: %s", OPT(ctx, SINCE));
		goto out;
	}
	rc = aur_incident_list(ctx->db, &f, &list, err, sizeof(err));
	if (rc == -EINVAL) {
		rc = aur_cmd_usage(ctx, "--%s", err);
		goto out;
	}
	if (rc < 0) {
		rc = aur_cmd_fail(rc, err);
		goto out;
	}
	if (!OPT(ctx, JSON))
		aur_incident_text_list_header(&b);
	for (int i = 0; i < jv_array_length(jv_copy(list)) && rc == 0; i++) {
		jv e = jv_array_get(jv_copy(list), i);

		if (OPT(ctx, JSON)) {
			rc = aur_cmd_put_json(ctx, e);
			continue;
		}
		aur_incident_text_list_row(e, &b);
		jv_free(e);
		rc = aur_cmd_put_buf(ctx, &b);
	}
	if (rc == 0)
		rc = aur_cmd_put_buf(ctx, &b);
out:
	jv_free(list);
	aur_buf_release(&b);
	return rc;
}

/* Print incident id: one JSON object, or the page for people. */
static int print_incident(struct aur_cmd_ctx *ctx, long long id, int json)
{
	struct aur_buf b;
	char err[512] = "";
	jv o;
	int rc;

	aur_buf_init(&b, 0);
	rc = aur_incident_show(ctx->db, id, &o, err, sizeof(err));
	if (rc < 0) {
		jv_free(o);
		rc = aur_cmd_fail(rc, err);
	} else if (json) {
		rc = aur_cmd_put_json(ctx, o);
	} else {
		aur_incident_text_show(o, &b);
		jv_free(o);
		rc = aur_cmd_put_buf(ctx, &b);
	}
	aur_buf_release(&b);
	return rc;
}

int aur_incident_cmd_show(struct aur_cmd_ctx *ctx)
{
	long long id;

	if (parse_id(ctx, aur_cmd_arg(ctx, 0), "show", &id) != 0)
		return AUR_EXIT_USAGE;
	return print_incident(ctx, id, OPT(ctx, JSON) != NULL);
}

/*
 * Set key to the text of an option (none: left unset), or refuse it (0)
 * when it is not UTF-8: libjq would put U+FFFD in place of the bad bytes
 * without a word.
 */
static int set_text(jv *body, const char *key, const char *option, const char *text)
{
	jv s;

	if (!text)
		return 1;
	s = jv_string(text);
	if (strcmp(jv_string_value(s), text) != 0) {
		aur_err("%s: --%s is not UTF-8", key, option);
		jv_free(s);
		return 0;
	}
	*body = jv_object_set(*body, jv_string(key), s);
	return 1;
}

/* --metadata: strict JSON into body's alert_metadata. 0, or 65 with the reason logged. */
static int set_metadata(jv *body, const char *text)
{
	jv meta;

	if (!text)
		return 0;
	meta = jv_parse(text);
	if (!jv_is_valid(meta)) {
		jv msg = jv_invalid_get_msg(meta);

		aur_err("alert_metadata: --metadata is not JSON: %s",
			jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "?");
		jv_free(msg);
		return AUR_EXIT_DATAERR;
	}
	/* what libjq reads but changes: invalid UTF-8 (replaced), nan, numbers like 01 */
	if (!aur_jsonvalid_check(text, strlen(text))) {
		aur_err("alert_metadata: --metadata is not strict JSON (RFC 8259): invalid UTF-8, nan, "
			"a number such as 01, or nesting deeper than 256");
		jv_free(meta);
		return AUR_EXIT_DATAERR;
	}
	*body = jv_object_set(*body, jv_string("alert_metadata"), meta);
	return 0;
}

int aur_incident_cmd_create(struct aur_cmd_ctx *ctx)
{
	char err[512] = "";
	long long id = 0;
	jv body = jv_object();
	int rc;

	if (!set_text(&body, "source_type", "source-type", OPT(ctx, SOURCE_TYPE) ? OPT(ctx, SOURCE_TYPE) : "manual") ||
	    !set_text(&body, "alert_title", "title", OPT(ctx, TITLE)) ||
	    !set_text(&body, "alert_service", "service", OPT(ctx, SERVICE)) ||
	    !set_text(&body, "severity", "severity", OPT(ctx, SEVERITY)) ||
	    set_metadata(&body, OPT(ctx, METADATA)) != 0) {
		jv_free(body);
		return AUR_EXIT_DATAERR;
	}
	rc = aur_incident_create_from_json(ctx->db, body, aur_time_now_ms(), &id, err, sizeof(err));
	if (rc < 0)
		return aur_cmd_fail(rc, err);
	if (OPT(ctx, JSON))
		return print_incident(ctx, id, 1);
	return aur_cmd_printf(ctx, "%lld\n", id);
}

int aur_incident_cmd_change(struct aur_cmd_ctx *ctx)
{
	const char *cmd = ctx->cmd->name;
	char err[512] = "";
	long long now = aur_time_now_ms();
	long long id;
	long long into = 0;
	int rc;

	rc = parse_id(ctx, aur_cmd_arg(ctx, 0), cmd, &id);
	if (rc == 0 && OPT(ctx, INTO))
		rc = parse_id(ctx, OPT(ctx, INTO), "--into", &into);
	if (rc != 0)
		return rc;
	if (into)
		rc = aur_incident_merge_into(ctx->db, id, into, now, err, sizeof(err));
	else if (!strcmp(cmd, "reopen"))
		rc = aur_incident_reopen(ctx->db, id, now, err, sizeof(err));
	else
		rc = aur_incident_resolve(ctx->db, id, OPT(ctx, REASON), now, err, sizeof(err));
	if (rc < 0)
		return aur_cmd_fail(rc, err);
	if (into)
		return aur_cmd_printf(ctx, "incident %lld merged into %lld\n", id, into);
	return aur_cmd_printf(ctx, "incident %lld %s\n", id, strcmp(cmd, "reopen") ? "resolved" : "reopened");
}

/* Who acknowledges or comments: --by, else $USER, else "operator". */
static const char *author(const struct aur_cmd_ctx *ctx)
{
	const char *by = OPT(ctx, BY);

	if (!by || !*by)
		by = getenv("USER");
	return by && *by ? by : "operator";
}

int aur_incident_cmd_people(struct aur_cmd_ctx *ctx)
{
	char err[512] = "";
	long long now = aur_time_now_ms();
	long long id;
	long long cid = 0;
	int rc;

	rc = parse_id(ctx, aur_cmd_arg(ctx, 0), ctx->cmd->name, &id);
	if (rc != 0)
		return rc;
	if (!strcmp(ctx->cmd->name, "ack"))
		rc = aur_incident_acknowledge(ctx->db, id, author(ctx), now, err, sizeof(err));
	else
		rc = aur_incident_comment(ctx->db, id, author(ctx), aur_cmd_arg(ctx, 1), now, &cid, err, sizeof(err));
	if (rc < 0)
		return aur_cmd_fail(rc, err);
	if (cid)
		return aur_cmd_printf(ctx, "incident %lld: comment %lld by %s\n", id, cid, author(ctx));
	return aur_cmd_printf(ctx, "incident %lld acknowledged by %s\n", id, author(ctx));
}

/*
 * The model to write postmortems with: none under --template, else the
 * "llm" part of --config FILE or $AURORA_RCA_CONFIG when either is given.
 * 0, or an exit code (78 for a configuration that cannot be used).
 */
static int postmortem_model(const struct aur_cmd_ctx *ctx, struct aur_inv_llm **llm)
{
	const char *config = OPT(ctx, CONFIG);
	char err[1024] = "";

	*llm = NULL;
	if (OPT(ctx, TEMPLATE))
		return 0;
	if (!config)
		config = getenv("AURORA_RCA_CONFIG");
	if (!config || !*config)
		return 0;
	if (aur_inv_llm_load(config, llm, err, sizeof(err)) < 0) {
		aur_err("%s", err);
		return AUR_EXIT_CONFIG;
	}
	return 0;
}

int aur_incident_cmd_postmortem(struct aur_cmd_ctx *ctx)
{
	struct aur_postmortem_options po = { NULL, AUR_POSTMORTEM_DEFAULT_TIMEOUT_MS };
	struct aur_inv_llm *llm = NULL;
	char err[512] = "";
	char by[128] = "";
	char why[512] = "";
	char *md = NULL;
	long long id;
	long long secs;
	int generated = 0;
	int rc;

	rc = parse_id(ctx, aur_cmd_arg(ctx, 0), "postmortem", &id);
	if (rc != 0)
		return rc;
	if (OPT(ctx, LLM_TIMEOUT)) {
		if (aur_cli_parse_ll(OPT(ctx, LLM_TIMEOUT), 1, 3600, &secs) < 0)
			return aur_cmd_usage(ctx, "--llm-timeout wants whole seconds (1 to 3600): %s",
					     OPT(ctx, LLM_TIMEOUT));
		po.timeout_ms = secs * 1000;
	}
	rc = postmortem_model(ctx, &llm);
	if (rc != 0)
		return rc;
	po.llm = llm ? aur_inv_llm_config(llm) : NULL;
	rc = aur_postmortem(ctx->db, id, OPT(ctx, REGENERATE) != NULL, aur_time_now_ms(), &po, &md, &generated, by,
			    sizeof(by), why, sizeof(why), err, sizeof(err));
	aur_inv_llm_free(llm);
	if (rc < 0)
		return aur_cmd_fail(rc, err);
	if (why[0])
		aur_warn("incident %lld: the model's postmortem was not used (%s); the template wrote it", id, why);
	aur_debug("incident %lld: postmortem %s%s", id, generated ? "generated by " : "as stored", by);
	rc = aur_cmd_printf(ctx, "%s", md);
	free(md);
	return rc;
}

/* watch: each event as a JSON line (no buffer) or a line of text. */
struct watch {
	struct aur_cmd_ctx *ctx;
	struct aur_incident_watch w;
	struct aur_buf b;
	int json;
};

static int watch_emit(jv ev, void *arg)
{
	struct watch *wt = arg;

	if (wt->json)
		return aur_cmd_put_json(wt->ctx, ev);
	aur_incident_text_event(ev, &wt->b);
	jv_free(ev);
	return aur_cmd_put_buf(wt->ctx, &wt->b);
}

static int watch_flush(void *arg)
{
	struct watch *wt = arg;

	errno = 0;
	return fflush(wt->ctx->out) != 0 ? aur_cmd_write_failed() : 0;
}

static int watch_look(void *arg, int stop_fd, long long *found)
{
	struct watch *wt = arg;
	char err[512] = "";
	int cb_rc = 0;
	int rc = aur_incident_watch_look(&wt->w, found, &cb_rc, err, sizeof(err));

	(void)stop_fd; /* watch's lines go out through stdio, a batch at a time */

	return rc < 0 ? aur_cmd_fail(rc, err) : cb_rc;
}

int aur_incident_cmd_watch(struct aur_cmd_ctx *ctx)
{
	struct watch wt = { .ctx = ctx, .json = OPT(ctx, JSON) != NULL };
	char err[512] = "";
	char what[64];
	long long poll_ms = 1000;
	long long v = 0;
	int rc;

	if (OPT(ctx, POLL) && aur_cli_parse_ll(OPT(ctx, POLL), 1, 3600000, &poll_ms) < 0)
		return aur_cmd_usage(ctx, "--poll-ms wants milliseconds (1 to 3600000): %s", OPT(ctx, POLL));
	if (OPT(ctx, FROM) && aur_cli_parse_ll(OPT(ctx, FROM), 0, INT64_MAX, &v) < 0)
		return aur_cmd_usage(ctx, "--from wants an event id: %s", OPT(ctx, FROM));
	wt.w.db = ctx->db;
	wt.w.after = v > 0 ? v - 1 : 0;
	wt.w.emit = watch_emit;
	wt.w.batch_done = watch_flush;
	wt.w.arg = &wt;
	rc = OPT(ctx, FROM) ? 0 : aur_incident_events_max_id(ctx->db, &wt.w.after, err, sizeof(err));
	if (rc < 0)
		return aur_cmd_fail(rc, err);
	aur_buf_init(&wt.b, 0);
	snprintf(what, sizeof(what), "event %lld", wt.w.after);
	rc = aur_cmd_follow(ctx, (int)poll_ms, what, watch_look, &wt);
	aur_buf_release(&wt.b);
	return rc;
}
