/*
 * aurora-connector - the connectors page: per-platform switches, tokens,
 * secrets, URLs, a test delivery through the running receiver, and the
 * operator tokens of the receiver's incident API. See aurora-connector(1).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jq.h>
#include <sqlite3.h>

#include "auth.h"
#include "buf.h"
#include "cli.h"
#include "connector.h"
#include "connview.h"
#include "db.h"
#include "embed.h"
#include "exitcodes.h"
#include "jsonl.h"
#include "log.h"
#include "optoken.h"
#include "timeutil.h"
#include "webhook.h"
#include "xalloc.h"
#include "banned.h"

#define PROG "aurora-connector"
#define TOKEN_BYTES 32

enum { O_DB = AUR_CLI_BASE, O_JSON, O_VALUE, O_STDIN, O_CLEAR, O_URL, O_TIMEOUT, O_HMAC_HEADER };

struct opts {
	const char *db;
	const char *value;
	const char *url;
	const char *timeout;
	const char *hmac_header;
	int json;
	int from_stdin;
	int clear;
	int platform_cmd; /* the first argument names a platform in the registry */
	const char *cmd;
	const char *args[AUR_CLI_MAX_ARGS];
	int nargs;
};

static const char usage_text[] =
	"usage: aurora-connector [--db PATH] COMMAND [options]\n"
	"\n"
	"Configure the platforms aurora receives webhooks from.\n"
	"\n"
	"commands:\n"
	"  list [--json]              every platform: enabled, RCA, token and secret set,\n"
	"                             webhook URL, last delivery, counts, connected\n"
	"  show P [--json]            one platform: the same, and what became of its\n"
	"                             deliveries: failed to normalize, the last error\n"
	"  add NAME [--hmac-header HEADER] [--json]\n"
	"                             register a platform of your own (its jq mapping\n"
	"                             NAME.jq goes in aurora-normalize's mappings\n"
	"                             directory); prints its webhook URL and token once;\n"
	"                             with --hmac-header, deliveries carry the hex\n"
	"                             HMAC-SHA256 of the body in HEADER once a secret\n"
	"                             is set (secret NAME)\n"
	"  remove NAME                unregister an added platform (its inbox rows stay)\n"
	"  enable P | disable P       accept or refuse (404) the platform's deliveries\n"
	"  rca P on|off               investigate its incidents or not\n"
	"  token P [--json]           create or rotate the token; prints the webhook URL\n"
	"                             with ?token= once (only a hash is kept)\n"
	"  secret P [--value S | --stdin | --clear] [--json]\n"
	"                             the HMAC secret of a signing platform (grafana,\n"
	"                             pagerduty, one added with --hmac-header); without\n"
	"                             a value one is generated and printed once\n"
	"  url P                      the webhook URL, without any secret\n"
	"  public-url [URL]           print or set aurora's public base URL\n"
	"  base-url P [URL | --clear] print, set or clear the platform's own base URL\n"
	"  credentials P [USER --stdin | --clear] [--json]\n"
	"                             the user and API token aurora reads build consoles\n"
	"                             with (jenkins, cloudbees); the token comes on stdin,\n"
	"                             and is never printed\n"
	"  test P [--url BASE] [--timeout SEC] [--json]\n"
	"                             send the platform's sample payload through the\n"
	"                             running receiver and report status and time\n"
	"  operator-token NAME [--json]\n"
	"                             create or rotate an operator token for the\n"
	"                             receiver's incident API; prints it once\n"
	"  operator-tokens [--json]   the operator tokens' names and creation times\n"
	"  revoke-operator-token NAME delete an operator token\n"
	"\n"
	"platforms: grafana alertmanager pagerduty datadog netdata dynatrace splunk\n"
	"           jenkins cloudbees, and those added (list shows them all)\n"
	"\n"
	"options (before or after the command):\n"
	"  --db PATH      the database (default $AURORA_DB, else ./aurora.db); created\n"
	"                 when missing\n"
	"  -q, --quiet    print errors only\n"
	"  -v, --verbose  print more on stderr\n"
	"  -h, --help     print this help\n"
	"  --version      print the version\n"
	"\n"
	"exit status: 0 ok, 1 the receiver refused the test (4xx), no such operator\n"
	"token, add of a platform that exists (built in or added) or remove of a\n"
	"built-in one, 2 usage, unknown platform or bad name, 65 bad secret on stdin,\n"
	"74 I/O error,\n"
	"75 database busy or the receiver unreachable, timed out or failing (5xx, 429),\n"
	"78 bad public URL or not an aurora database\n";

static int usage_short(void)
{
	fputs("usage: aurora-connector [--db PATH] list|show|add|remove|enable|disable|rca|\n"
	      "       token|secret|url|public-url|base-url|credentials|test|operator-token|\n"
	      "       operator-tokens|revoke-operator-token [ARGS] [options]\n"
	      "try 'aurora-connector --help' for more\n",
	      stderr);
	return AUR_EXIT_USAGE;
}

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return usage_short();
}

static void set_opt(int code, const char *arg, void *ctx)
{
	struct opts *o = ctx;

	switch (code) {
	case O_DB: o->db = arg; break;
	case O_JSON: o->json = 1; break;
	case O_VALUE: o->value = arg; break;
	case O_STDIN: o->from_stdin = 1; break;
	case O_CLEAR: o->clear = 1; break;
	case O_URL: o->url = arg; break;
	case O_TIMEOUT: o->timeout = arg; break;
	case O_HMAC_HEADER: o->hmac_header = arg; break;
	}
}

#define OPT(x) AUR_CLI_OPT(O_##x)
#define DB OPT(DB)
#define FIRST_PLATFORM_CMD 7

/* Parse argv; -1 to go on, else an exit code (help, version, misuse). */
static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, O_DB },
		{ "json", no_argument, NULL, O_JSON },
		{ "value", required_argument, NULL, O_VALUE },
		{ "stdin", no_argument, NULL, O_STDIN },
		{ "clear", no_argument, NULL, O_CLEAR },
		{ "url", required_argument, NULL, O_URL },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "hmac-header", required_argument, NULL, O_HMAC_HEADER },
		{ NULL, 0, NULL, 0 },
	};
	/* the commands whose first argument is a platform come from FIRST_PLATFORM_CMD on */
	static const struct aur_cli_command cmds[] = {
		{ "list", DB | OPT(JSON), 0, 0 },
		{ "public-url", DB, 0, 1 },
		{ "operator-token", DB | OPT(JSON), 1, 1 },
		{ "operator-tokens", DB | OPT(JSON), 0, 0 },
		{ "revoke-operator-token", DB, 1, 1 },
		{ "add", DB | OPT(HMAC_HEADER) | OPT(JSON), 1, 1 },
		{ "remove", DB, 1, 1 },
		{ "enable", DB, 1, 1 },
		{ "disable", DB, 1, 1 },
		{ "rca", DB, 2, 2 },
		{ "token", DB | OPT(JSON), 1, 1 },
		{ "secret", DB | OPT(VALUE) | OPT(STDIN) | OPT(CLEAR) | OPT(JSON), 1, 1 },
		{ "url", DB, 1, 1 },
		{ "base-url", DB | OPT(CLEAR), 1, 2 },
		{ "test", DB | OPT(URL) | OPT(TIMEOUT) | OPT(JSON), 1, 1 },
		{ "credentials", DB | OPT(STDIN) | OPT(CLEAR) | OPT(JSON), 1, 2 },
		{ "show", DB | OPT(JSON), 1, 1 },
	};
	struct aur_cli cli;
	char err[256];

	if (aur_cli_parse(&cli, argc, argv, longopts, cmds, sizeof(cmds) / sizeof(cmds[0]), set_opt, o,
			  err, sizeof(err)) < 0)
		return usage_error("%s", err);
	if (cli.help) {
		fputs(usage_text, stdout);
		return AUR_EXIT_OK;
	}
	if (cli.version) {
		puts(PROG " " AURORA_VERSION);
		return AUR_EXIT_OK;
	}
	if (cli.log_level >= 0)
		aur_log_set_level(cli.log_level);
	o->cmd = cli.cmd->name;
	o->nargs = cli.nargs;
	for (int i = 0; i < cli.nargs; i++)
		o->args[i] = cli.args[i];
	o->platform_cmd = cli.cmd >= &cmds[FIRST_PLATFORM_CMD];
	if (!!o->value + o->from_stdin + o->clear > 1)
		return usage_error("--value, --stdin and --clear exclude each other");
	if (o->clear && o->nargs > 1)
		return usage_error("%s: %s or --clear, not both", o->cmd, strcmp(o->cmd, "base-url") ? "a USER" : "a URL");
	return -1;
}

/* Report a lib/ failure and map it to an exit code. */
static int failed(int rc, const char *err)
{
	aur_err("%s", err);
	return aur_cli_exit_code(rc == -EINVAL ? -EIO : rc);
}

static int write_failed(void)
{
	aur_err("write error: %s", strerror(errno ? errno : EIO));
	return AUR_EXIT_IOERR;
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
static int check_platform(sqlite3 *db, const struct opts *o, struct aur_connector *c)
{
	char err[512] = "";
	int rc = aur_connector_load(db, o->args[0], c, err, sizeof(err));

	if (rc == -ENOENT)
		return unknown_platform(db, o->args[0]);
	if (rc < 0)
		return failed(rc, err);
	return 0;
}

static int cmd_list(sqlite3 *db, const struct opts *o)
{
	struct aur_connector *c = NULL;
	size_t n = 0;
	struct aur_jsonl_writer w;
	char err[512] = "";
	char when[32];
	char *pub;
	long long now = aur_time_now_ms();
	int rc;

	rc = aur_connector_load_all(db, &c, &n, err, sizeof(err));
	if (rc < 0)
		return failed(rc, err);
	pub = aur_connector_public_url(db);
	aur_jsonl_writer_init(&w, stdout, -1);
	errno = 0;
	if (!o->json && printf("%-13s %-8s %-4s %-6s %-7s %8s %8s %8s  %-24s  %-9s  %s\n", "PLATFORM",
			       "ENABLED", "RCA", "TOKEN", "SECRET", "RECEIVED", "REJECTED", "FAILED",
			       "LAST RECEIVED", "CONNECTED", "WEBHOOK URL") < 0)
		rc = write_failed();
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct aur_connector *k = &c[i];
		jv v = jv_object_set(jv_object(), jv_string("v"), jv_number(1));
		jv failed_n;
		char *url;

		v = jv_object_set(v, jv_string("type"), jv_string("connector"));
		v = aur_connview_add_states(jv_object_merge(v, aur_connview_json(k, pub, now, 1)), db, k->platform);
		if (o->json) {
			if (aur_jsonl_write(&w, v) < 0)
				rc = write_failed();
			continue;
		}
		failed_n = jv_object_get(v, jv_string("failed_to_normalize"));
		url = aur_webhook_url(pub, k->platform, NULL);
		if (printf("%-13s %-8s %-4s %-6s %-7s %8lld %8lld %8lld  %-24s  %-9s  %s\n", k->platform,
			   k->enabled ? "yes" : "no", k->rca ? "on" : "off", k->token_hash[0] ? "set" : "-",
			   !aur_connector_signs(k) ? "n/a" : k->hmac_secret[0] ? "set" : "-",
			   k->received, k->rejected,
			   jv_get_kind(failed_n) == JV_KIND_NUMBER ? (long long)jv_number_value(failed_n) : 0LL,
			   k->last_received_ms ? aur_time_format_ms(k->last_received_ms, when, sizeof(when))
					       : "never",
			   aur_connector_connected(k, now) ? "yes" : "no", url) < 0)
			rc = write_failed();
		jv_free(failed_n);
		free(url);
	}
	for (size_t i = 0; i < n; i++)
		aur_auth_wipe(&c[i], sizeof(c[i]));
	free(c);
	free(pub);
	return rc;
}

/* One "name  value" line of show; value NULL prints "-". */
static int show_line(const char *name, const char *value)
{
	return printf("%-22s %s\n", name, value && *value ? value : "-") < 0 ? write_failed() : 0;
}

static const char *jv_text(jv o, const char *key, char *buf, size_t len)
{
	jv v = jv_object_get(jv_copy(o), jv_string(key));

	buf[0] = '\0';
	if (jv_get_kind(v) == JV_KIND_STRING)
		snprintf(buf, len, "%s", jv_string_value(v));
	else if (jv_get_kind(v) == JV_KIND_NUMBER)
		snprintf(buf, len, "%lld", (long long)jv_number_value(v));
	else if (jv_get_kind(v) == JV_KIND_TRUE || jv_get_kind(v) == JV_KIND_FALSE)
		snprintf(buf, len, "%s", jv_get_kind(v) == JV_KIND_TRUE ? "yes" : "no");
	jv_free(v);
	return buf;
}

/* show P: one connector with what became of its deliveries (the status endpoint's view). */
static int cmd_show(sqlite3 *db, const struct opts *o)
{
	static const char *const keys[] = { "platform", "enabled", "connected", "rca", "token_set", "secret_set",
					    "base_url", "webhook_url", "last_webhook_received", "last_test_ok",
					    "received", "rejected", "failed_to_normalize" };
	struct aur_connector c;
	struct aur_jsonl_writer w;
	char err[512] = "";
	char buf[1200];
	char *pub;
	jv v;
	jv last;
	int rc = aur_connector_load(db, o->args[0], &c, err, sizeof(err));

	if (rc < 0)
		return failed(rc, err);
	pub = aur_connector_public_url(db);
	v = jv_object_set(jv_object(), jv_string("v"), jv_number(1));
	v = jv_object_set(v, jv_string("type"), jv_string("connector"));
	v = aur_connview_add_states(jv_object_merge(v, aur_connview_json(&c, pub, aur_time_now_ms(), 1)), db,
				    c.platform);
	memset(c.api_token, 0, sizeof(c.api_token));
	free(pub);
	errno = 0;
	if (o->json) {
		aur_jsonl_writer_init(&w, stdout, -1);
		return aur_jsonl_write(&w, v) < 0 ? write_failed() : 0;
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) && rc == 0; i++)
		rc = show_line(keys[i], jv_text(v, keys[i], buf, sizeof(buf)));
	last = jv_object_get(v, jv_string("last_error"));
	if (rc == 0 && jv_get_kind(last) == JV_KIND_OBJECT) {
		char id[32], at[64], reason[600];

		snprintf(buf, sizeof(buf), "inbox %s, received %s: %s", jv_text(last, "inbox_id", id, sizeof(id)),
			 jv_text(last, "received_at", at, sizeof(at)), jv_text(last, "reason", reason, sizeof(reason)));
		rc = show_line("last_error", buf);
	} else if (rc == 0) {
		rc = show_line("last_error", NULL);
	}
	jv_free(last);
	return rc;
}

/*
 * Print a new webhook token of p once: the webhook URL with ?token= and
 * the Authorization line, or with --json {"platform","token","webhook_url"}
 * and the fields of extra (consumed). 0 or an exit code.
 */
static int print_token(sqlite3 *db, const struct opts *o, const char *p, const char *token, jv extra)
{
	struct aur_jsonl_writer w;
	char *pub = aur_connector_public_url(db);
	char *url = aur_webhook_url(pub, p, token);
	int rc = 0;

	errno = 0;
	if (o->json) {
		jv v = jv_object();

		v = jv_object_set(v, jv_string("platform"), jv_string(p));
		v = jv_object_set(v, jv_string("token"), jv_string(token));
		v = jv_object_set(v, jv_string("webhook_url"), jv_string(url));
		v = jv_object_merge(v, extra);
		aur_jsonl_writer_init(&w, stdout, -1);
		rc = aur_jsonl_write(&w, v) < 0 ? write_failed() : 0;
	} else {
		jv_free(extra);
		if (printf("%s\nAuthorization: Bearer %s\n", url, token) < 0)
			rc = write_failed();
	}
	free(url);
	free(pub);
	return rc;
}

/* A new token in token (2 * TOKEN_BYTES hex) and its hash. 0, or an exit code. */
static int new_token(char *token, size_t tokenlen, char hash[AUR_HEX_SHA256_LEN + 1])
{
	if (aur_random_hex(token, tokenlen, TOKEN_BYTES) < 0) {
		aur_err("no randomness from the kernel");
		return AUR_EXIT_IOERR;
	}
	aur_sha256_hex(token, strlen(token), hash);
	return 0;
}

static int cmd_token(sqlite3 *db, const struct opts *o, const struct aur_connector *c)
{
	const char *p = o->args[0];
	char token[2 * TOKEN_BYTES + 1];
	char hash[AUR_HEX_SHA256_LEN + 1];
	char err[512] = "";
	int rc;

	rc = new_token(token, sizeof(token), hash);
	if (rc != 0)
		return rc;
	rc = aur_connector_set_token_hash(db, p, hash, err, sizeof(err));
	if (rc < 0) {
		rc = failed(rc, err);
		goto out;
	}
	if (c->token_hash[0])
		aur_info("%s: the previous token no longer works", p);
	rc = print_token(db, o, p, token, jv_object());
out:
	aur_auth_wipe(token, sizeof(token));
	return rc;
}

/*
 * add NAME [--hmac-header HEADER]: the row and its token in one statement,
 * so a platform is never there without the token printed for it.
 */
static int cmd_add(sqlite3 *db, const struct opts *o)
{
	const char *p = o->args[0];
	char token[2 * TOKEN_BYTES + 1];
	char hash[AUR_HEX_SHA256_LEN + 1];
	char err[512] = "";
	jv extra;
	int rc;

	rc = new_token(token, sizeof(token), hash);
	if (rc != 0)
		return rc;
	rc = aur_connector_add(db, p, o->hmac_header, hash, err, sizeof(err));
	if (rc == -EINVAL) {
		rc = usage_error("add: %s", err);
		goto out;
	}
	if (rc == -EPERM || rc == -EEXIST) {
		aur_err("add: %s", err);
		rc = AUR_EXIT_REJECTED;
		goto out;
	}
	if (rc < 0) {
		rc = failed(rc, err);
		goto out;
	}
	/* the two steps left before deliveries turn into alerts, said on stderr (-q hides them) */
	aur_warn("%s: added; aurora-normalize needs its mapping, %s.jq in the mappings directory"
		 " (--mappings DIR or $AURORA_MAPPINGS)", p, p);
	if (o->hmac_header)
		aur_warn("%s: deliveries are checked by token only until a secret is set (aurora-connector secret %s);"
			 " then %s must carry the hex HMAC-SHA256 of the body", p, p, o->hmac_header);
	extra = jv_object_set(jv_object(), jv_string("added"), jv_true());
	extra = jv_object_set(extra, jv_string("hmac_header"), o->hmac_header ? jv_string(o->hmac_header) : jv_null());
	rc = print_token(db, o, p, token, extra);
out:
	aur_auth_wipe(token, sizeof(token));
	return rc;
}

static int cmd_remove(sqlite3 *db, const struct opts *o)
{
	const char *p = o->args[0];
	char err[512] = "";
	int rc = aur_connector_remove(db, p, err, sizeof(err));

	if (rc == -EPERM) {
		aur_err("remove: %s", err);
		return AUR_EXIT_REJECTED;
	}
	if (rc == -ENOENT)
		return unknown_platform(db, p);
	if (rc < 0)
		return failed(rc, err);
	aur_info("%s: removed; its inbox rows stay (aurora-inbox list --platform %s)", p, p);
	return 0;
}

/* Read a secret from stdin: one line, without its newline. 0, or an exit code. */
static int read_secret(char *out, size_t outlen)
{
	size_t n = fread(out, 1, outlen - 1, stdin);
	size_t lead;
	int extra;

	if (ferror(stdin)) {
		aur_err("reading the secret from stdin: %s", strerror(errno));
		return AUR_EXIT_IOERR;
	}
	out[n] = '\0';
	if (n == outlen - 1 && (extra = getchar()) != EOF && extra != '\n') {
		aur_err("the secret on stdin is longer than %zu bytes", outlen - 2);
		return AUR_EXIT_DATAERR;
	}
	/* a pasted secret: the line end and surrounding blanks are not part of it */
	while (n > 0 && out[n - 1] && strchr(" \t\r\n", out[n - 1]))
		out[--n] = '\0';
	lead = strspn(out, " \t");
	memmove(out, out + lead, n - lead + 1);
	n -= lead;
	if (n == 0 || strlen(out) != n || strcspn(out, "\r\n") != n) {
		aur_err("stdin must hold one line with the secret");
		return AUR_EXIT_DATAERR;
	}
	return 0;
}

static int cmd_secret(sqlite3 *db, const struct opts *o, const struct aur_connector *c)
{
	const char *p = o->args[0];
	char secret[AUR_SECRET_MAX + 2] = "";
	struct aur_jsonl_writer w;
	char err[512] = "";
	int generated = 0;
	int rc;

	if (!aur_connector_signs(c)) {
		if (c->added)
			aur_err("%s was added without --hmac-header: it takes no secret (remove it and add it again"
				" with --hmac-header HEADER, or use 'aurora-connector token %s')", p, p);
		else
			aur_err("%s does not sign its deliveries; only grafana and pagerduty take a secret, and"
				" platforms added with --hmac-header (use 'aurora-connector token %s')", p, p);
		return AUR_EXIT_USAGE;
	}
	if (o->value) {
		if (!*o->value || strlen(o->value) > AUR_SECRET_MAX)
			return usage_error("--value: the secret must have 1 to %d bytes", AUR_SECRET_MAX);
		snprintf(secret, sizeof(secret), "%s", o->value);
	} else if (o->from_stdin) {
		rc = read_secret(secret, sizeof(secret));
		if (rc != 0)
			return rc;
	} else if (!o->clear) {
		if (aur_random_hex(secret, sizeof(secret), TOKEN_BYTES) < 0) {
			aur_err("no randomness from the kernel");
			return AUR_EXIT_IOERR;
		}
		generated = 1;
	}
	rc = aur_connector_set_secret(db, p, o->clear ? NULL : secret, err, sizeof(err));
	if (rc < 0) {
		rc = failed(rc, err);
		goto out;
	}
	errno = 0;
	if (o->json) {
		jv v = jv_object();

		v = jv_object_set(v, jv_string("platform"), jv_string(p));
		if (generated)
			v = jv_object_set(v, jv_string("secret"), jv_string(secret));
		v = jv_object_set(v, jv_string("secret_set"), jv_bool(!o->clear));
		aur_jsonl_writer_init(&w, stdout, -1);
		rc = aur_jsonl_write(&w, v) < 0 ? write_failed() : 0;
	} else if (generated && printf("%s\n", secret) < 0) {
		rc = write_failed();
	}
out:
	memset(secret, 0, sizeof(secret));
	return rc;
}

static int cmd_switch(sqlite3 *db, const struct opts *o)
{
	const char *p = o->args[0];
	char err[512] = "";
	int rc;

	if (!strcmp(o->cmd, "rca")) {
		if (strcmp(o->args[1], "on") != 0 && strcmp(o->args[1], "off") != 0)
			return usage_error("rca: on or off, not '%s'", o->args[1]);
		rc = aur_connector_set_rca(db, p, !strcmp(o->args[1], "on"), err, sizeof(err));
	} else {
		rc = aur_connector_set_enabled(db, p, !strcmp(o->cmd, "enable"), err, sizeof(err));
	}
	if (rc < 0)
		return failed(rc, err);
	aur_info("%s: %s%s%s", p, o->cmd, o->nargs > 1 ? " " : "", o->nargs > 1 ? o->args[1] : "");
	return 0;
}

/* 1 when url's authority holds user info ("https://user:pw@host/"). */
static int has_userinfo(const char *url)
{
	const char *host = strstr(url, "://");
	size_t len;

	if (!host)
		return 0;
	host += 3;
	len = strcspn(host, "/");
	return memchr(host, '@', len) != NULL;
}

static int cmd_urls(sqlite3 *db, const struct opts *o)
{
	struct aur_connector c;
	char err[512] = "";
	char *pub = NULL;
	char *url = NULL;
	int rc = 0;

	errno = 0;
	if (!strcmp(o->cmd, "url")) {
		pub = aur_connector_public_url(db);
		url = aur_webhook_url(pub, o->args[0], NULL);
		if (printf("%s\n", url) < 0)
			rc = write_failed();
	} else if (!strcmp(o->cmd, "public-url") && o->nargs == 0) {
		pub = aur_connector_public_url(db);
		if (printf("%s\n", pub) < 0)
			rc = write_failed();
	} else if (!strcmp(o->cmd, "public-url")) {
		const char *env = getenv("AURORA_PUBLIC_URL");

		if (!aur_connview_url_ok(o->args[0]))
			return usage_error("public-url: an http:// or https:// URL without query, "
					   "fragment or spaces: %s", o->args[0]);
		url = aur_xstrdup(o->args[0]);
		for (size_t n = strlen(url); n > 0 && url[n - 1] == '/'; n--)
			url[n - 1] = '\0';
		rc = aur_db_setting_set(db, "public_url", url, err, sizeof(err));
		if (rc < 0)
			rc = failed(rc, err);
		else if (env && *env)
			aur_warn("AURORA_PUBLIC_URL is set and wins over the stored public URL");
	} else if (o->nargs == 2 || o->clear) { /* base-url P URL | --clear */
		if (!o->clear && !aur_connview_url_ok(o->args[1]))
			return usage_error("base-url: an http:// or https:// URL without query, "
					   "fragment or spaces: %s", o->args[1]);
		if (!o->clear && has_userinfo(o->args[1]))
			return usage_error("base-url: no user or password in the URL (it would be printed and "
					   "logged): use 'aurora-connector credentials %s USER --stdin'", o->args[0]);
		rc = aur_connector_set_base_url(db, o->args[0], o->clear ? NULL : o->args[1], err,
						sizeof(err));
		if (rc < 0)
			rc = failed(rc, err);
	} else {
		rc = aur_connector_load(db, o->args[0], &c, err, sizeof(err));
		if (rc < 0)
			rc = failed(rc, err);
		else if (c.base_url[0] && printf("%s\n", c.base_url) < 0)
			rc = write_failed();
	}
	free(url);
	free(pub);
	return rc;
}

/* A user name HTTP basic can carry: 1 to AUR_API_USER_MAX bytes, no colon, no blank or control character. */
static int api_user_ok(const char *user)
{
	size_t n = strlen(user);

	if (n == 0 || n > AUR_API_USER_MAX)
		return 0;
	for (const char *p = user; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == ':' || *p == 0x7f)
			return 0;
	return 1;
}

static int credentials_report(sqlite3 *db, const struct opts *o)
{
	struct aur_connector c;
	char err[512] = "";
	int rc = aur_connector_load(db, o->args[0], &c, err, sizeof(err));

	if (rc < 0)
		return failed(rc, err);
	errno = 0;
	if (o->json) {
		struct aur_jsonl_writer w;
		jv v = jv_object();

		v = jv_object_set(v, jv_string("platform"), jv_string(c.platform));
		v = jv_object_set(v, jv_string("user"), c.api_user[0] ? jv_string(c.api_user) : jv_null());
		v = jv_object_set(v, jv_string("token_set"), jv_bool(c.api_token[0] != '\0'));
		aur_jsonl_writer_init(&w, stdout, -1);
		rc = aur_jsonl_write(&w, v) < 0 ? write_failed() : 0;
	} else if (!o->clear && !o->from_stdin) {
		if ((c.api_user[0] ? printf("%s: user %s, API token %s\n", c.platform, c.api_user,
					    c.api_token[0] ? "set" : "not set")
				   : printf("%s: no credentials\n", c.platform)) < 0)
			rc = write_failed();
	}
	memset(c.api_token, 0, sizeof(c.api_token));
	return rc;
}

/* credentials P [USER --stdin | --clear]: the token only ever from stdin. */
static int cmd_credentials(sqlite3 *db, const struct opts *o)
{
	const char *p = o->args[0];
	char token[AUR_SECRET_MAX + 2] = "";
	char err[512] = "";
	int rc;

	if (!aur_platform_has_api(p)) {
		aur_err("aurora reads no API of %s: credentials are for jenkins and cloudbees", p);
		return AUR_EXIT_USAGE;
	}
	if (o->nargs == 2 && !o->from_stdin)
		return usage_error("credentials: the API token comes on stdin (--stdin), never on the command line");
	if (o->from_stdin && o->nargs < 2)
		return usage_error("credentials: --stdin needs the USER the token belongs to");
	if (o->nargs == 2 && !api_user_ok(o->args[1]))
		return usage_error("credentials: '%s' is not a user name (1 to %d bytes, no colon or blank)",
				   o->args[1], AUR_API_USER_MAX);
	if (o->from_stdin) {
		rc = read_secret(token, sizeof(token));
		if (rc != 0)
			return rc;
	}
	if (o->from_stdin || o->clear) {
		rc = aur_connector_set_credentials(db, p, o->clear ? NULL : o->args[1], o->clear ? NULL : token, err,
						   sizeof(err));
		memset(token, 0, sizeof(token));
		if (rc < 0)
			return failed(rc, err);
		if (o->clear)
			aur_info("%s: credentials cleared", p);
		else
			aur_info("%s: credentials set for user %s", p, o->args[1]);
	}
	return credentials_report(db, o);
}

/* Print the outcome of a test delivery; returns its exit code. */
static int test_report(const struct opts *o, const char *url, int rc, struct aur_webhook_response *r)
{
	const char *p = o->args[0];
	const char *body = r->body.data ? r->body.data : "";
	double ms = r->seconds * 1000.0;
	jv answer = jv_parse_sized(body, (int)r->body.len);
	int code;

	if (rc < 0)
		code = rc == -EINVAL ? AUR_EXIT_CONFIG : AUR_EXIT_TEMPFAIL;
	else if (r->status >= 200 && r->status < 300)
		code = AUR_EXIT_OK;
	else if (r->status >= 500 || r->status == 429)
		code = AUR_EXIT_TEMPFAIL;
	else
		code = AUR_EXIT_REJECTED;
	if (rc < 0)
		aur_err("%s: no answer from %s: %s", p, url, r->error);
	else if (code != AUR_EXIT_OK)
		aur_err("%s: the receiver answered %ld: %.*s", p, r->status, (int)r->body.len, body);
	errno = 0;
	if (o->json) {
		struct aur_jsonl_writer w;
		jv v = jv_object();

		v = jv_object_set(v, jv_string("v"), jv_number(1));
		v = jv_object_set(v, jv_string("type"), jv_string("connector_test"));
		v = jv_object_set(v, jv_string("platform"), jv_string(p));
		v = jv_object_set(v, jv_string("url"), jv_string(url));
		v = jv_object_set(v, jv_string("status"), rc < 0 ? jv_null() : jv_number((double)r->status));
		v = jv_object_set(v, jv_string("time_ms"), jv_number((double)(long long)(ms * 10) / 10));
		v = jv_object_set(v, jv_string("ok"), jv_bool(code == AUR_EXIT_OK));
		if (rc < 0)
			v = jv_object_set(v, jv_string("error"), jv_string(r->error));
		else
			v = jv_object_set(v, jv_string("response"),
					  jv_is_valid(answer) ? jv_copy(answer) : jv_string(body));
		aur_jsonl_writer_init(&w, stdout, -1);
		if (aur_jsonl_write(&w, v) < 0)
			code = write_failed();
	} else if (rc == 0) {
		jv id = jv_get_kind(answer) == JV_KIND_OBJECT ? jv_object_get(jv_copy(answer), jv_string("id"))
							      : jv_invalid();

		if (printf("%s: HTTP %ld in %.1f ms", p, r->status, ms) < 0 ||
		    (jv_get_kind(id) == JV_KIND_NUMBER && printf(", inbox id %.0f", jv_number_value(id)) < 0) ||
		    printf("\n") < 0)
			code = write_failed();
		jv_free(id);
	}
	jv_free(answer);
	return code;
}

static int cmd_operator_token(sqlite3 *db, const struct opts *o)
{
	const char *name = o->args[0];
	char token[2 * TOKEN_BYTES + 1];
	char hash[AUR_HEX_SHA256_LEN + 1];
	struct aur_jsonl_writer w;
	char err[512] = "";
	int rotated = 0;
	int rc;

	if (!aur_optoken_name_ok(name))
		return usage_error("operator-token: '%s' is not a name: 1 to %d of A-Z a-z 0-9 . _ @ -, starting"
				   " with a letter or digit", name, AUR_OPTOKEN_NAME_MAX);
	if (aur_random_hex(token, sizeof(token), TOKEN_BYTES) < 0) {
		aur_err("no randomness from the kernel");
		return AUR_EXIT_IOERR;
	}
	aur_sha256_hex(token, strlen(token), hash);
	rc = aur_optoken_set(db, name, hash, aur_time_now_ms(), &rotated, err, sizeof(err));
	if (rc < 0) {
		rc = failed(rc, err);
		goto out;
	}
	if (rotated)
		aur_info("operator token %s: the previous token no longer works", name);
	errno = 0;
	if (o->json) {
		jv v = jv_object();

		v = jv_object_set(v, jv_string("name"), jv_string(name));
		v = jv_object_set(v, jv_string("token"), jv_string(token));
		v = jv_object_set(v, jv_string("rotated"), jv_bool(rotated));
		aur_jsonl_writer_init(&w, stdout, -1);
		rc = aur_jsonl_write(&w, v) < 0 ? write_failed() : 0;
	} else if (printf("%s\n", token) < 0) {
		rc = write_failed();
	}
out:
	memset(token, 0, sizeof(token));
	return rc;
}

static int cmd_operator_tokens(sqlite3 *db, const struct opts *o)
{
	struct aur_jsonl_writer w;
	char err[512] = "";
	jv list;
	int n;
	int rc;

	rc = aur_optoken_list(db, &list, err, sizeof(err));
	if (rc < 0)
		return failed(rc, err);
	n = jv_array_length(jv_copy(list));
	aur_jsonl_writer_init(&w, stdout, -1);
	errno = 0;
	if (!o->json && printf("%-32s %s\n", "NAME", "CREATED") < 0)
		rc = write_failed();
	for (int i = 0; i < n && rc == 0; i++) {
		jv t = jv_array_get(jv_copy(list), i);

		if (o->json) {
			jv v = jv_object_set(jv_object(), jv_string("v"), jv_number(1));

			v = jv_object_set(v, jv_string("type"), jv_string("operator_token"));
			v = jv_object_merge(v, t);
			if (aur_jsonl_write(&w, v) < 0)
				rc = write_failed();
			continue;
		}
		{
			jv name = jv_object_get(jv_copy(t), jv_string("name"));
			jv at = jv_object_get(t, jv_string("created_at"));

			if (printf("%-32s %s\n", jv_string_value(name), jv_string_value(at)) < 0)
				rc = write_failed();
			jv_free(name);
			jv_free(at);
		}
	}
	jv_free(list);
	return rc;
}

static int cmd_revoke_operator_token(sqlite3 *db, const struct opts *o)
{
	char err[512] = "";
	int rc = aur_optoken_revoke(db, o->args[0], err, sizeof(err));

	if (rc == -ENOENT) {
		aur_err("%s", err);
		return AUR_EXIT_REJECTED;
	}
	if (rc < 0)
		return failed(rc, err);
	aur_info("operator token %s revoked", o->args[0]);
	return 0;
}

static int cmd_test(sqlite3 *db, const struct opts *o)
{
	struct aur_webhook_test t;
	long long timeout_s = 10;
	char err[512] = "";
	int rc;

	if (o->timeout && aur_cli_parse_ll(o->timeout, 1, 3600, &timeout_s) < 0)
		return usage_error("--timeout wants seconds (1 to 3600): %s", o->timeout);
	if (o->url && !aur_connview_url_ok(o->url))
		return usage_error("--url: an http:// or https:// base URL: %s", o->url);
	aur_webhook_test_init(&t);
	t.platform = o->args[0];
	t.base = o->url;
	t.timeout_ms = (long)timeout_s * 1000;
	t.user_agent = PROG "/" AURORA_VERSION;
	rc = aur_webhook_test_send(db, &t, err, sizeof(err));
	if (t.disabled)
		aur_warn("%s is disabled: the receiver answers 404 (aurora-connector enable %s)", t.platform,
			 t.platform);
	if (!t.sent && rc == -EINVAL) /* an added platform: no sample to send */
		rc = (aur_err("test: %s", err), AUR_EXIT_USAGE);
	else if (!t.sent)
		rc = rc == -ENOENT ? (aur_err("%s", err), AUR_EXIT_SOFTWARE) : failed(rc, err);
	else
		rc = test_report(o, t.url, rc, &t.resp);
	aur_webhook_test_release(&t);
	return rc;
}

int main(int argc, char **argv)
{
	struct aur_db_options dbo;
	struct aur_connector c = { 0 };
	struct opts o = { 0 };
	sqlite3 *db = NULL;
	char err[512] = "";
	int curl_up = 0;
	int rc;

	aur_log_init(PROG);
	rc = parse(argc, argv, &o);
	if (rc >= 0)
		goto out;
	aur_db_options_init(&dbo);
	rc = aur_db_open(&db, aur_db_default_path(o.db), &dbo, err, sizeof(err));
	if (rc < 0) {
		rc = failed(rc, err);
		goto out;
	}
	if (o.platform_cmd) {
		rc = check_platform(db, &o, &c);
		if (rc != 0)
			goto out;
	}
	if (!strcmp(o.cmd, "list")) {
		rc = cmd_list(db, &o);
	} else if (!strcmp(o.cmd, "show")) {
		rc = cmd_show(db, &o);
	} else if (!strcmp(o.cmd, "add")) {
		rc = cmd_add(db, &o);
	} else if (!strcmp(o.cmd, "remove")) {
		rc = cmd_remove(db, &o);
	} else if (!strcmp(o.cmd, "token")) {
		rc = cmd_token(db, &o, &c);
	} else if (!strcmp(o.cmd, "operator-token")) {
		rc = cmd_operator_token(db, &o);
	} else if (!strcmp(o.cmd, "operator-tokens")) {
		rc = cmd_operator_tokens(db, &o);
	} else if (!strcmp(o.cmd, "revoke-operator-token")) {
		rc = cmd_revoke_operator_token(db, &o);
	} else if (!strcmp(o.cmd, "secret")) {
		rc = cmd_secret(db, &o, &c);
	} else if (!strcmp(o.cmd, "test")) {
		curl_up = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
		rc = curl_up ? cmd_test(db, &o) : AUR_EXIT_SOFTWARE;
		if (!curl_up)
			aur_err("libcurl could not start");
	} else if (!strcmp(o.cmd, "credentials")) {
		rc = cmd_credentials(db, &o);
	} else if (!strcmp(o.cmd, "url") || !strcmp(o.cmd, "public-url") || !strcmp(o.cmd, "base-url")) {
		rc = cmd_urls(db, &o);
	} else {
		rc = cmd_switch(db, &o);
	}
out:
	aur_auth_wipe(&c, sizeof(c));
	aur_db_close(db);
	if (curl_up)
		curl_global_cleanup();
	errno = 0;
	if (fflush(stdout) != 0 || ferror(stdout) || fclose(stdout) != 0) {
		if (rc == 0)
			rc = write_failed();
	}
	return rc;
}
