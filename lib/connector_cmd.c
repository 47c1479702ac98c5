#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jq.h>
#include <sqlite3.h>

#include "auth.h"
#include "cli.h"
#include "cmd.h"
#include "connadmin.h"
#include "connector.h"
#include "connector_cmd.h"
#include "connreport.h"
#include "connview.h"
#include "db.h"
#include "exitcodes.h"
#include "log.h"
#include "optoken.h"
#include "timeutil.h"
#include "webhook.h"
#include "banned.h"

/* The values of the options, from the front door (NULL when not given). */
#define JSON(ctx) (aur_cmd_opt(ctx, AUR_CONNECTOR_CMD_JSON) != NULL)
#define CLEAR(ctx) (aur_cmd_opt(ctx, AUR_CONNECTOR_CMD_CLEAR) != NULL)
#define FROM_STDIN(ctx) (aur_cmd_opt(ctx, AUR_CONNECTOR_CMD_STDIN) != NULL)
#define VALUE(ctx, x) aur_cmd_opt(ctx, AUR_CONNECTOR_CMD_##x)

/* A lib/ call failed: an open or a read of the store is never the data's fault (-EINVAL is 74). */
static int failed(int rc, const char *err)
{
	return aur_cmd_fail(rc == -EINVAL ? -EIO : rc, err);
}

/* What a connreport.h call returned: a failed write (err untouched), or the store's error. */
static int reported(int rc, const char *err)
{
	if (rc == -EIO && !err[0])
		return aur_cmd_write_failed();
	return rc < 0 ? failed(rc, err) : 0;
}

/* "unknown platform 'X'; platforms: ..." on stderr, with what registers one. */
static int unknown_platform(sqlite3 *db, const char *name)
{
	char *names = aur_connector_names(db, " ");

	aur_err("unknown platform '%.64s'; platforms: %s (aurora-connector add NAME registers one)", name,
		names ? names : "(the connectors table cannot be read)");
	free(names);
	return AUR_EXIT_USAGE;
}

/* The platform of a command that takes one: 0 when the registry has it, else an exit code. */
static int load_platform(struct aur_cmd_ctx *ctx, struct aur_connector *c)
{
	char err[512] = "";
	int rc = aur_connector_load(ctx->db, ctx->args[0], c, err, sizeof(err));

	if (rc == -ENOENT)
		return unknown_platform(ctx->db, ctx->args[0]);
	return rc < 0 ? failed(rc, err) : 0;
}

/* 0 when the registry has the platform of a command that takes one, else an exit code. */
static int platform_known(struct aur_cmd_ctx *ctx)
{
	struct aur_connector c;
	int rc = load_platform(ctx, &c);

	aur_auth_wipe(&c, sizeof(c));
	return rc;
}

int aur_connector_cmd_list(struct aur_cmd_ctx *ctx)
{
	char err[512] = "";

	return reported(aur_connreport_list(ctx->out, ctx->db, JSON(ctx), err, sizeof(err)), err);
}

/* show P: one connector with what became of its deliveries (the status endpoint's view). */
int aur_connector_cmd_show(struct aur_cmd_ctx *ctx)
{
	char err[512] = "";
	int rc = platform_known(ctx);

	if (rc != 0)
		return rc;
	return reported(aur_connreport_show(ctx->out, ctx->db, ctx->args[0], JSON(ctx), err, sizeof(err)), err);
}

/* A connadmin.h call that failed: its error as this command's exit code (see --help). */
static int admin_failed(struct aur_cmd_ctx *ctx, int rc, const char *err)
{
	switch (rc) {
	case -EINVAL: return aur_cmd_usage(ctx, "%s", err);
	case -ENOTSUP: return aur_err("%s", err), AUR_EXIT_USAGE;
	case -EPERM: case -EEXIST: return aur_err("%s: %s", ctx->cmd->name, err), AUR_EXIT_REJECTED;
	case -E2BIG: case -EBADMSG: return aur_err("%s", err), AUR_EXIT_DATAERR;
	default: return failed(rc, err);
	}
}

/* Print a new webhook token of the platform once; extra's fields go in its JSON (consumed). */
static int print_token(struct aur_cmd_ctx *ctx, const char *token, jv extra)
{
	char *pub = aur_connector_public_url(ctx->db);
	int rc = aur_connreport_token(ctx->out, pub, ctx->args[0], token, extra, JSON(ctx));

	free(pub);
	return rc < 0 ? aur_cmd_write_failed() : 0;
}

int aur_connector_cmd_token(struct aur_cmd_ctx *ctx)
{
	const char *p = ctx->args[0];
	struct aur_connector c;
	char token[AUR_CONNADMIN_TOKEN_LEN] = "";
	char err[512] = "";
	int rc = load_platform(ctx, &c);

	if (rc == 0 && (rc = aur_connadmin_token(ctx->db, p, token, err, sizeof(err))) < 0)
		rc = admin_failed(ctx, rc, err);
	if (rc == 0 && c.token_hash[0])
		aur_info("%s: the previous token no longer works", p);
	if (rc == 0)
		rc = print_token(ctx, token, jv_object());
	aur_auth_wipe(&c, sizeof(c));
	aur_auth_wipe(token, sizeof(token));
	return rc;
}

/* add NAME [--hmac-header HEADER]: the platform, and its token printed once. */
int aur_connector_cmd_add(struct aur_cmd_ctx *ctx)
{
	const char *p = ctx->args[0];
	char token[AUR_CONNADMIN_TOKEN_LEN] = "";
	char err[512] = "";
	jv extra;
	int rc = aur_connadmin_add(ctx->db, p, VALUE(ctx, HMAC_HEADER), token, err, sizeof(err));

	if (rc < 0) {
		aur_auth_wipe(token, sizeof(token));
		return admin_failed(ctx, rc, err);
	}
	/* the two steps left before deliveries turn into alerts, said on stderr (-q hides them) */
	aur_warn("%s: added; aurora-normalize needs its mapping, %s.jq in the mappings directory"
		 " (--mappings DIR or $AURORA_MAPPINGS)", p, p);
	if (VALUE(ctx, HMAC_HEADER))
		aur_warn("%s: deliveries are checked by token only until a secret is set (aurora-connector secret %s);"
			 " then %s must carry the hex HMAC-SHA256 of the body", p, p, VALUE(ctx, HMAC_HEADER));
	extra = jv_object_set(jv_object(), jv_string("added"), jv_true());
	extra = jv_object_set(extra, jv_string("hmac_header"), VALUE(ctx, HMAC_HEADER) ? jv_string(VALUE(ctx, HMAC_HEADER)) : jv_null());
	rc = print_token(ctx, token, extra);
	aur_auth_wipe(token, sizeof(token));
	return rc;
}

int aur_connector_cmd_remove(struct aur_cmd_ctx *ctx)
{
	const char *p = ctx->args[0];
	char err[512] = "";
	int rc = aur_connector_remove(ctx->db, p, err, sizeof(err));

	if (rc == -ENOENT)
		return unknown_platform(ctx->db, p);
	if (rc < 0)
		return admin_failed(ctx, rc, err);
	aur_info("%s: removed; its inbox rows stay (aurora-inbox list --platform %s)", p, p);
	return 0;
}

int aur_connector_cmd_secret(struct aur_cmd_ctx *ctx)
{
	struct aur_connector c;
	char secret[AUR_SECRET_MAX + 2] = "";
	char err[1024] = "";
	int made = 0;
	int rc = load_platform(ctx, &c);

	if (rc == 0)
		rc = aur_connadmin_secret(ctx->db, &c, VALUE(ctx, VALUE), FROM_STDIN(ctx) ? stdin : NULL, CLEAR(ctx), secret, &made,
					  err, sizeof(err));
	if (rc < 0)
		rc = admin_failed(ctx, rc, err);
	else if (rc == 0 && aur_connreport_secret(ctx->out, c.platform, made ? secret : NULL, !CLEAR(ctx), JSON(ctx)) < 0)
		rc = aur_cmd_write_failed();
	aur_auth_wipe(&c, sizeof(c));
	aur_auth_wipe(secret, sizeof(secret));
	return rc;
}

int aur_connector_cmd_switch(struct aur_cmd_ctx *ctx)
{
	const char *p = ctx->args[0];
	const char *cmd = ctx->cmd->name;
	char err[512] = "";
	int rc = platform_known(ctx);

	if (rc != 0)
		return rc;
	if (!strcmp(cmd, "rca")) {
		if (strcmp(ctx->args[1], "on") != 0 && strcmp(ctx->args[1], "off") != 0)
			return aur_cmd_usage(ctx, "rca: on or off, not '%s'", ctx->args[1]);
		rc = aur_connector_set_rca(ctx->db, p, !strcmp(ctx->args[1], "on"), err, sizeof(err));
	} else {
		rc = aur_connector_set_enabled(ctx->db, p, !strcmp(cmd, "enable"), err, sizeof(err));
	}
	if (rc < 0)
		return failed(rc, err);
	aur_info("%s: %s%s%s", p, cmd, ctx->nargs > 1 ? " " : "", ctx->nargs > 1 ? ctx->args[1] : "");
	return 0;
}

/* url P: the webhook URL, without a secret. */
int aur_connector_cmd_url(struct aur_cmd_ctx *ctx)
{
	char *pub;
	char *url;
	int rc = platform_known(ctx);

	if (rc != 0)
		return rc;
	pub = aur_connector_public_url(ctx->db);
	url = aur_webhook_url(pub, ctx->args[0], NULL);
	rc = aur_cmd_printf(ctx, "%s\n", url);
	free(url);
	free(pub);
	return rc;
}

/* public-url [URL]: print it, or set it (without trailing slashes). */
int aur_connector_cmd_public_url(struct aur_cmd_ctx *ctx)
{
	const char *env = getenv("AURORA_PUBLIC_URL");
	char err[512] = "";
	char *url;
	int rc;

	if (ctx->nargs == 0) {
		url = aur_connector_public_url(ctx->db);
		rc = aur_cmd_printf(ctx, "%s\n", url);
		free(url);
		return rc;
	}
	rc = aur_connadmin_public_url(ctx->db, ctx->args[0], err, sizeof(err));
	if (rc < 0)
		return admin_failed(ctx, rc, err);
	if (env && *env)
		aur_warn("AURORA_PUBLIC_URL is set and wins over the stored public URL");
	return 0;
}

/* base-url P [URL | --clear]: print, set or clear the platform's own base URL. */
int aur_connector_cmd_base_url(struct aur_cmd_ctx *ctx)
{
	const char *url = aur_cmd_arg(ctx, 1);
	struct aur_connector c;
	char err[512] = "";
	int rc = load_platform(ctx, &c);

	if (rc == 0 && !url && !CLEAR(ctx))
		rc = c.base_url[0] ? aur_cmd_printf(ctx, "%s\n", c.base_url) : 0;
	else if (rc == 0 && (rc = aur_connadmin_base_url(ctx->db, ctx->args[0], url, err, sizeof(err))) < 0)
		rc = admin_failed(ctx, rc, err);
	aur_auth_wipe(&c, sizeof(c));
	return rc;
}

/* credentials P [USER --stdin | --clear]: the token only ever from stdin; then what is set. */
int aur_connector_cmd_credentials(struct aur_cmd_ctx *ctx)
{
	const char *p = ctx->args[0];
	const char *user = aur_cmd_arg(ctx, 1);
	struct aur_connector c;
	char err[512] = "";
	int change = FROM_STDIN(ctx) || CLEAR(ctx) || user;
	int rc = load_platform(ctx, &c);

	aur_auth_wipe(&c, sizeof(c));
	if (rc == 0 && !aur_platform_has_api(p)) {
		aur_err("aurora reads no API of %s: credentials are for jenkins and cloudbees", p);
		return AUR_EXIT_USAGE;
	}
	if (rc == 0 && change)
		rc = aur_connadmin_credentials(ctx->db, p, user, FROM_STDIN(ctx) ? stdin : NULL, err, sizeof(err));
	if (rc < 0)
		return admin_failed(ctx, rc, err);
	if (rc == 0 && change && CLEAR(ctx))
		aur_info("%s: credentials cleared", p);
	else if (rc == 0 && change)
		aur_info("%s: credentials set for user %s", p, user);
	if (rc != 0 || (change && !JSON(ctx)))
		return rc;
	rc = load_platform(ctx, &c);
	if (rc == 0 && aur_connreport_credentials(ctx->out, &c, JSON(ctx)) < 0)
		rc = aur_cmd_write_failed();
	aur_auth_wipe(&c, sizeof(c));
	return rc;
}

/* The exit code of a test delivery: 0 answered 2xx, 75 no answer, 5xx or 429, 78 a bad URL, 1 refused. */
static int test_exit(int rc, long status)
{
	if (rc < 0)
		return rc == -EINVAL ? AUR_EXIT_CONFIG : AUR_EXIT_TEMPFAIL;
	if (status >= 200 && status < 300)
		return AUR_EXIT_OK;
	return status >= 500 || status == 429 ? AUR_EXIT_TEMPFAIL : AUR_EXIT_REJECTED;
}

/* The outcome of a test delivery that was sent: said on stderr when it failed, printed, its exit code. */
static int test_report(struct aur_cmd_ctx *ctx, struct aur_webhook_test *t, int rc)
{
	int code = test_exit(rc, t->resp.status);

	if (rc < 0)
		aur_err("%s: no answer from %s: %s", t->platform, t->url, t->resp.error);
	else if (code != AUR_EXIT_OK)
		aur_err("%s: the receiver answered %ld: %.*s", t->platform, t->resp.status, (int)t->resp.body.len,
			t->resp.body.data ? t->resp.body.data : "");
	if (aur_connreport_test(ctx->out, t, rc, code == AUR_EXIT_OK, JSON(ctx)) < 0)
		code = aur_cmd_write_failed();
	return code;
}

int aur_connector_cmd_test(struct aur_cmd_ctx *ctx)
{
	struct aur_webhook_test t;
	long long timeout_s = 10;
	char ua[64];
	char err[512] = "";
	int rc = platform_known(ctx);

	if (rc != 0)
		return rc;
	if (VALUE(ctx, TIMEOUT) && aur_cli_parse_ll(VALUE(ctx, TIMEOUT), 1, 3600, &timeout_s) < 0)
		return aur_cmd_usage(ctx, "--timeout wants seconds (1 to 3600): %s", VALUE(ctx, TIMEOUT));
	if (VALUE(ctx, URL) && !aur_connview_url_ok(VALUE(ctx, URL)))
		return aur_cmd_usage(ctx, "--url: an http:// or https:// base URL: %s", VALUE(ctx, URL));
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		aur_err("libcurl could not start");
		return AUR_EXIT_SOFTWARE;
	}
	snprintf(ua, sizeof(ua), "%s/%s", ctx->prog->name, AURORA_VERSION);
	aur_webhook_test_init(&t);
	t.platform = ctx->args[0];
	t.base = VALUE(ctx, URL);
	t.timeout_ms = (long)timeout_s * 1000;
	t.user_agent = ua;
	rc = aur_webhook_test_send(ctx->db, &t, err, sizeof(err));
	if (t.disabled)
		aur_warn("%s is disabled: the receiver answers 404 (aurora-connector enable %s)", t.platform,
			 t.platform);
	if (!t.sent && rc == -EINVAL) /* an added platform: no sample to send */
		rc = (aur_err("test: %s", err), AUR_EXIT_USAGE);
	else if (!t.sent)
		rc = rc == -ENOENT ? (aur_err("%s", err), AUR_EXIT_SOFTWARE) : failed(rc, err);
	else
		rc = test_report(ctx, &t, rc);
	aur_webhook_test_release(&t);
	curl_global_cleanup();
	return rc;
}

int aur_connector_cmd_operator_token(struct aur_cmd_ctx *ctx)
{
	const char *name = ctx->args[0];
	char token[AUR_CONNADMIN_TOKEN_LEN] = "";
	char err[512] = "";
	int rotated = 0;
	int rc = aur_connadmin_operator_token(ctx->db, name, token, &rotated, err, sizeof(err));

	if (rc < 0)
		rc = admin_failed(ctx, rc, err);
	else if (rotated)
		aur_info("operator token %s: the previous token no longer works", name);
	if (rc == 0 && aur_connreport_operator_token(ctx->out, name, token, rotated, JSON(ctx)) < 0)
		rc = aur_cmd_write_failed();
	aur_auth_wipe(token, sizeof(token));
	return rc;
}

int aur_connector_cmd_operator_tokens(struct aur_cmd_ctx *ctx)
{
	char err[512] = "";
	jv list;
	int rc = aur_optoken_list(ctx->db, &list, err, sizeof(err));

	if (rc < 0)
		return failed(rc, err);
	return aur_connreport_operator_tokens(ctx->out, list, JSON(ctx)) < 0 ? aur_cmd_write_failed() : 0;
}

int aur_connector_cmd_revoke_operator_token(struct aur_cmd_ctx *ctx)
{
	char err[512] = "";
	int rc = aur_optoken_revoke(ctx->db, ctx->args[0], err, sizeof(err));

	if (rc == -ENOENT) {
		aur_err("%s", err);
		return AUR_EXIT_REJECTED;
	}
	if (rc < 0)
		return failed(rc, err);
	aur_info("operator token %s revoked", ctx->args[0]);
	return 0;
}
