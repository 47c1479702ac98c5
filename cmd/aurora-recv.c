/*
 * aurora-recv - receive alert webhooks and store them, durably, in the inbox;
 * serve the incident API and its event stream to operators.
 *
 * Launched by systemd (Accept=no or yes), inetd, tcpserver, with a listening
 * socket on stdin, or with --listen for development; lib/listen.c tells
 * which. A listening socket gets the accept loop: libmicrohttpd's threads and
 * one writer thread committing the deliveries of concurrent requests
 * together. One accepted connection is served in this thread, keep-alive
 * included, and the process exits when it closes. The routes are in
 * lib/recv.c (webhooks, status) and lib/api.c (incidents, the stream);
 * docs/recv-interface.md and aurora-recv(1) are the contract.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cmd.h"
#include "db.h"
#include "exitcodes.h"
#include "investigate.h"
#include "listen.h"
#include "log.h"
#include "receiver.h"
#include "banned.h"

static const char short_usage[] = "usage: aurora-recv [--db PATH] [--listen ADDR:PORT] [options]\n";

static const char usage[] =
	"usage: aurora-recv [options]\n"
	"\n"
	"Receive alert webhooks (POST|PUT /api/webhooks/PLATFORM) and store each one in\n"
	"the inbox before answering 202; serve the incident API (/api/incidents) and its\n"
	"event stream to holders of an operator token. Launched by systemd (Accept=no or\n"
	"yes), inetd or tcpserver, or with --listen for development.\n"
	"\n"
	"  --db PATH                 database (default $AURORA_DB, else ./aurora.db)\n"
	"  --listen ADDR:PORT        bind here when no socket is handed over (port 0: any)\n"
	"  --port-file PATH          write the bound port and a newline to PATH\n"
	"  --max-body BYTES          largest body, 413 past it (default 1048576)\n"
	"  --max-header-bytes BYTES  request line and headers, 431 past it (default 16384)\n"
	"  --max-headers N           header fields, 431 past it (default 64)\n"
	"  --read-timeout SEC        a connection with nothing to read, or that does not\n"
	"                            take its answer, for SEC closes (default 10)\n"
	"  --head-timeout SEC        the request line and headers must be complete within\n"
	"                            SEC of the connection's opening or previous answer,\n"
	"                            else it closes unanswered (default: --read-timeout)\n"
	"  --body-timeout SEC        the body must be complete within SEC after the\n"
	"                            headers, else it closes unanswered (default:\n"
	"                            --read-timeout)\n"
	"  --max-connections N       concurrent connections of the accept loop (default 256)\n"
	"  --max-per-address N       connections from one client address; past it new ones\n"
	"                            close at once (default 256; 0: no cap)\n"
	"  --max-reading N           connections still reading a request; past it the one\n"
	"                            waiting longest closes (default: half of\n"
	"                            --max-connections)\n"
	"  --threads N               worker threads of the accept loop (default: CPUs)\n"
	"  --rate PER_SEC            per-platform rate limit, shared by all receivers\n"
	"                            (default 200; 0 disables)\n"
	"  --burst N                 rate-limit bucket size (default 2000)\n"
	"  --dedup-window SEC        a retry with the same platform and body within SEC is\n"
	"                            answered with the first id (default 600)\n"
	"  --max-batch N             deliveries per transaction (default 256; 1: a commit\n"
	"                            per request)\n"
	"  --sync full|normal        SQLite synchronous level (default full: survives power\n"
	"                            loss)\n"
	"  --busy-timeout MS         wait this long for the database lock, then answer 503\n"
	"                            (default 5000)\n"
	"  --signature-skew SEC      Grafana signature timestamp bound (default 300)\n"
	"  --grafana-timestamp-header NAME\n"
	"                            (default X-Grafana-Alerting-Signature-Timestamp)\n"
	"  --no-shape-check          store any well-formed JSON, without checking it has\n"
	"                            its platform's shape (else: 422 and the quarantine;\n"
	"                            also AURORA_SHAPE_CHECK=off)\n"
	"  --quarantine-max N        quarantined deliveries kept per platform, the oldest\n"
	"                            go first (default 10000; 0: no cap)\n"
	"  --no-auth                 operator routes without an operator token; only\n"
	"                            when listening on loopback (webhook tokens and\n"
	"                            signatures are still checked)\n"
	"  --sse-heartbeat SEC       keep-alive comment period of event streams (default 15)\n"
	"  --rca-config FILE         aurora-rca's configuration: its model writes the\n"
	"                            postmortems asked for over HTTP (default\n"
	"                            $AURORA_RCA_CONFIG; else the template)\n"
	"  --max-streams N           event streams at once, 503 past it (default 1000; in\n"
	"                            addition to --max-connections)\n"
	"  --log-file PATH           diagnostics to PATH\n"
	"  --syslog                  diagnostics to syslog (forced when stderr is the client\n"
	"                            socket, unless --log-file)\n"
	"  -q, --quiet               errors only\n"
	"  -v, --verbose             more (twice: every request)\n"
	"  -h, --help                this text\n"
	"      --version             print the version\n"
	"\n"
	"Exit status: 0 stopped by SIGTERM/SIGINT or the connection closed; 2 usage\n"
	"(also --no-auth off loopback);\n"
	"70 internal error; 74 I/O error; 75 database busy; 78 not an aurora database\n"
	"or a bad --rca-config.\n";

enum {
	O_DB = AUR_CLI_BASE, O_LISTEN, O_PORT_FILE, O_LOG_FILE, O_SYSLOG, O_NO_AUTH, O_RCA_CONFIG, O_NO_SHAPE_CHECK,
	O_SETTING /* from here on, aur_receiver_option_set by the option's name */
};

#define SETTING(name, i) { name, required_argument, NULL, O_SETTING + (i) }

static const struct option longopts[] = {
	{ "db", required_argument, NULL, O_DB },
	{ "listen", required_argument, NULL, O_LISTEN },
	{ "port-file", required_argument, NULL, O_PORT_FILE },
	{ "log-file", required_argument, NULL, O_LOG_FILE },
	{ "syslog", no_argument, NULL, O_SYSLOG },
	{ "no-auth", no_argument, NULL, O_NO_AUTH },
	{ "rca-config", required_argument, NULL, O_RCA_CONFIG },
	{ "no-shape-check", no_argument, NULL, O_NO_SHAPE_CHECK },
	SETTING("max-body", 0), SETTING("max-header-bytes", 1), SETTING("max-headers", 2),
	SETTING("read-timeout", 3), SETTING("head-timeout", 4), SETTING("body-timeout", 5),
	SETTING("max-connections", 6), SETTING("max-per-address", 7), SETTING("max-reading", 8),
	SETTING("threads", 9), SETTING("rate", 10), SETTING("burst", 11), SETTING("dedup-window", 12),
	SETTING("max-batch", 13), SETTING("sync", 14), SETTING("busy-timeout", 15), SETTING("signature-skew", 16),
	SETTING("grafana-timestamp-header", 17), SETTING("quarantine-max", 18), SETTING("sse-heartbeat", 19),
	SETTING("max-streams", 20),
	{ NULL, 0, NULL, 0 },
};

struct options {
	const char *listen;
	const char *log_file;
	int use_syslog;
	const char *rca_config;
	char bad[256];  /* the first setting that did not parse */
	struct aur_listen l; /* what the launcher handed over, learned before anything logs */
	int handed;     /* aur_listen_detect's answer without --listen */
	char lerr[512];
	struct aur_receiver_options r;
};

/* Set by SIGTERM/SIGINT in one-connection mode (the accept loop uses sigwait). */
static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void log_line(int level, const char *msg)
{
	aur_log(level, "%s", msg);
}

static void set_opt(struct aur_cmd_ctx *ctx, int code, const char *arg)
{
	struct options *o = ctx->opts;
	char err[256];

	switch (code) {
	case O_LISTEN: o->listen = arg; break;
	case O_PORT_FILE: o->r.port_file = arg; break;
	case O_LOG_FILE: o->log_file = arg; break;
	case O_SYSLOG: o->use_syslog = 1; break;
	case O_NO_AUTH: o->r.no_auth = 1; break;
	case O_RCA_CONFIG: o->rca_config = arg; break;
	case O_NO_SHAPE_CHECK: o->r.recv.shape_check = 0; break;
	default:
		if (aur_receiver_option_set(&o->r, longopts[code - O_DB].name, arg, err, sizeof(err)) < 0 &&
		    !o->bad[0])
			snprintf(o->bad, sizeof(o->bad), "%s", err);
		break;
	}
}

/* The exit code of a receiver that could not start or failed (receiver.h). */
static int receiver_exit(int rc)
{
	return rc == -ENOTRECOVERABLE ? AUR_EXIT_SOFTWARE : aur_cli_exit_code(rc);
}

/* One accepted connection, served in this thread until it closes. */
static int serve_connection(const struct options *o, const struct aur_listen *l)
{
	struct aur_receiver *r = NULL;
	struct sigaction sa;
	char err[512] = "";
	int rc;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/* only the connection's own fd may keep the socket open, and fd 2 must never reach it */
	aur_listen_isolate(l);
	aur_info("serving one connection (%s) from %s", aur_listen_mode_name(l->mode),
		 l->remote[0] ? l->remote : "an unknown peer");
	rc = aur_receiver_new(&r, &o->r, l, err, sizeof(err));
	if (rc == 0) {
		rc = aur_receiver_run_connection(r, &stop_requested);
		if (rc < 0)
			snprintf(err, sizeof(err), "the event loop failed");
	}
	if (rc < 0)
		aur_err("%s", err);
	else
		aur_info("%s", stop_requested ? "stopped by a signal" : "connection closed");
	aur_receiver_free(r);
	return receiver_exit(rc);
}

/* The accept loop, until SIGTERM or SIGINT. */
static int serve_listener(const struct options *o, const struct aur_listen *l)
{
	struct aur_receiver *r = NULL;
	sigset_t stop;
	char err[512] = "";
	int sig = 0;
	int rc;

	/* every thread started from here on leaves these signals to sigwait below */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	rc = aur_receiver_new(&r, &o->r, l, err, sizeof(err));
	if (rc < 0) {
		aur_err("%s", err);
		aur_receiver_free(r);
		return receiver_exit(rc);
	}
	aur_info("accepting on %s (%s), %u threads%s", l->local, aur_listen_mode_name(l->mode),
		 aur_receiver_threads(r), o->r.no_auth ? ", operator routes without a token (--no-auth)" : "");
	while (sigwait(&stop, &sig) != 0)
		;
	aur_info("%s: finishing the queued deliveries", sig == SIGINT ? "SIGINT" : "SIGTERM");
	aur_receiver_drain(r);
	aur_receiver_free(r);
	return AUR_EXIT_OK;
}

/*
 * --no-auth opens the operator routes to anyone who can connect: only
 * where nobody but this machine can. 1 (after saying why) when the
 * socket's local address is not loopback.
 */
static int no_auth_refused(const struct aur_listen *l)
{
	int loop = aur_listen_is_loopback(l->fd);
	int conn = l->mode == AUR_LISTEN_SYSTEMD_CONN || l->mode == AUR_LISTEN_STDIN_CONN;

	if (loop == 1)
		return 0;
	if (loop < 0)
		aur_err("--no-auth: cannot tell the local address of the socket: %s", strerror(-loop));
	else
		aur_err("--no-auth is refused: %s %s, which is not a loopback address (127.0.0.0/8, ::1);"
			" give operators tokens (aurora-connector operator-token NAME) instead",
			conn ? "the connection came in on" : "listening on", l->local[0] ? l->local : "an unknown address");
	return 1;
}

/* Diagnostics go where they cannot reach the client: before anything logs. */
static int choose_log_sink(const struct options *o, const struct aur_listen *l)
{
	int rc;

	if (o->log_file) {
		rc = aur_log_set_sink(AUR_LOG_FILE, o->log_file);
		if (rc < 0) {
			if (l->fd2_is_client)
				aur_log_set_sink(AUR_LOG_SYSLOG, NULL);
			aur_err("--log-file %s: %s", o->log_file, strerror(-rc));
			return -1;
		}
	} else if (o->use_syslog || l->fd2_is_client) {
		aur_log_set_sink(AUR_LOG_SYSLOG, NULL);
	}
	return 0;
}

/*
 * The model that writes postmortems over HTTP: the "llm" of --rca-config
 * FILE, else of $AURORA_RCA_CONFIG. A bad --rca-config is -1 (exit 78); a
 * bad $AURORA_RCA_CONFIG is only a warning: the template writes then.
 */
static int postmortem_model(struct options *o, struct aur_inv_llm **llm)
{
	const char *config = o->rca_config;
	char err[1024] = "";

	*llm = NULL;
	if (!config)
		config = getenv("AURORA_RCA_CONFIG");
	if (!config || !*config)
		return 0;
	if (aur_inv_llm_load(config, llm, err, sizeof(err)) < 0) {
		if (o->rca_config) {
			aur_err("--rca-config: %s", err);
			return -1;
		}
		aur_warn("AURORA_RCA_CONFIG: %s; postmortems over HTTP come from the template", err);
		*llm = NULL;
		return 0;
	}
	o->r.api.postmortem_llm = aur_inv_llm_config(*llm);
	return 0;
}

/* Option values; then where diagnostics go, before anything more is said. */
static int check(struct aur_cmd_ctx *ctx)
{
	struct options *o = ctx->opts;

	if (choose_log_sink(o, &o->l) < 0)
		return AUR_EXIT_IOERR;
	if (o->bad[0])
		return aur_cmd_usage(ctx, "%s", o->bad);
	return 0;
}

static int run(struct aur_cmd_ctx *ctx)
{
	struct options *o = ctx->opts;
	struct aur_inv_llm *llm = NULL;
	int rc;

	/* nothing handed over: bind --listen */
	rc = o->handed == -ENOENT ? aur_listen_detect(&o->l, o->listen, o->lerr, sizeof(o->lerr)) : o->handed;
	if (rc < 0) {
		aur_err("%s", o->lerr);
		return rc == -ENOENT || rc == -EINVAL ? AUR_EXIT_USAGE : AUR_EXIT_IOERR;
	}
	if (o->lerr[0])
		aur_warn("%s", o->lerr);
	o->r.db_path = ctx->db_path;
	o->r.api.db_path = ctx->db_path;
	if (o->r.no_auth && no_auth_refused(&o->l))
		rc = AUR_EXIT_USAGE;
	else if (postmortem_model(o, &llm) < 0)
		rc = AUR_EXIT_CONFIG;
	else if (o->l.mode == AUR_LISTEN_SYSTEMD_CONN || o->l.mode == AUR_LISTEN_STDIN_CONN)
		rc = serve_connection(o, &o->l);
	else
		rc = serve_listener(o, &o->l);
	close(o->l.fd);
	aur_inv_llm_free(llm);
	return rc;
}

/* AURORA_SHAPE_CHECK=off (or 0, no, false): as --no-shape-check. */
static int shape_check_off(const char *v)
{
	return v && (!strcmp(v, "off") || !strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "false"));
}

int main(int argc, char **argv)
{
	static const struct aur_cmd cmds[] = {
		{ NULL, ~0ul, 0, 0, NULL, AUR_CMD_DB_NONE, 0, run },
	};
	static struct options o;
	static const struct aur_cmd_program program = {
		.name = "aurora-recv", .usage = short_usage, .help = usage, .longopts = longopts,
		.db_option = O_DB, .cmds = cmds, .ncmds = 1, .opts = &o, .set = set_opt, .check = check,
	};

	aur_log_init(program.name);
	aur_receiver_options_init(&o.r, log_line, &stop_requested);
	o.r.recv.shape_check = !shape_check_off(getenv("AURORA_SHAPE_CHECK"));
	/*
	 * What the launcher handed over is learned first, binding nothing: when
	 * fd 2 is the client's socket, not even a usage error may go there.
	 */
	o.handed = aur_listen_detect(&o.l, NULL, o.lerr, sizeof(o.lerr));
	if (o.l.fd2_is_client)
		aur_log_set_sink(AUR_LOG_SYSLOG, NULL);
	return aur_cmd_main(&program, argc, argv);
}
