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
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "buf.h"
#include "cli.h"
#include "committer.h"
#include "conncache.h"
#include "db.h"
#include "dbpool.h"
#include "exitcodes.h"
#include "http.h"
#include "listen.h"
#include "log.h"
#include "investigate.h"
#include "opauth.h"
#include "recv.h"
#include "sse.h"
#include "timeutil.h"
#include "web.h"
#include "banned.h"

static const char short_usage[] =
	"usage: aurora-recv [--db PATH] [--listen ADDR:PORT] [options]\n"
	"Try 'aurora-recv --help' for more information.\n";

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

struct options {
	const char *db;
	const char *listen;
	const char *port_file;
	const char *log_file;
	int use_syslog;
	int verbosity;
	int no_auth;
	const char *rca_config;
	struct aur_http_options http;
	struct aur_sse_options sse;
	struct aur_api_options api;
	struct aur_recv_options recv;
	struct aur_committer_options commit;
	struct aur_db_options dbo;
};

/* WAL bytes past which a one-connection process empties the WAL on its way out (trim_wal). */
#define ONE_CONNECTION_WAL_BYTES ((off_t)32 * 4120)

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

/* An integer option in [min, max]; 0, or -1 with err set. */
static int parse_int(const char *name, const char *arg, long long min, long long max, long long *out,
		     char *err, size_t errlen)
{
	char *end = NULL;
	long long v;

	errno = 0;
	v = strtoll(arg, &end, 10);
	if (errno || end == arg || *end || v < min || v > max) {
		snprintf(err, errlen, "--%s: '%s' is not a number from %lld to %lld", name, arg, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

static int parse_rate(const char *arg, double *out, char *err, size_t errlen)
{
	char *end = NULL;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg || *end || !(v >= 0) || v > 1e9) {
		snprintf(err, errlen, "--rate: '%s' is not a rate from 0 to 1e9 per second", arg);
		return -1;
	}
	*out = v;
	return 0;
}

enum { OPT_OK = 0, OPT_HELP, OPT_VERSION, OPT_ERROR };

enum {
	OP_DB = 256, OP_LISTEN, OP_PORT_FILE, OP_MAX_BODY, OP_MAX_HEADER_BYTES, OP_MAX_HEADERS, OP_READ_TIMEOUT,
	OP_MAX_CONNECTIONS, OP_THREADS, OP_RATE, OP_BURST, OP_DEDUP, OP_MAX_BATCH, OP_SYNC, OP_BUSY, OP_SKEW,
	OP_TS_HEADER, OP_LOG_FILE, OP_SYSLOG, OP_VERSION, OP_NO_AUTH, OP_SSE_HEARTBEAT, OP_MAX_STREAMS,
	OP_HEAD_TIMEOUT, OP_BODY_TIMEOUT, OP_MAX_PER_ADDRESS, OP_MAX_READING, OP_RCA_CONFIG, OP_NO_SHAPE_CHECK,
	OP_QUARANTINE_MAX
};

static int parse_options(int argc, char **argv, struct options *o, char *err, size_t errlen)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, OP_DB },
		{ "listen", required_argument, NULL, OP_LISTEN },
		{ "port-file", required_argument, NULL, OP_PORT_FILE },
		{ "max-body", required_argument, NULL, OP_MAX_BODY },
		{ "max-header-bytes", required_argument, NULL, OP_MAX_HEADER_BYTES },
		{ "max-headers", required_argument, NULL, OP_MAX_HEADERS },
		{ "read-timeout", required_argument, NULL, OP_READ_TIMEOUT },
		{ "head-timeout", required_argument, NULL, OP_HEAD_TIMEOUT },
		{ "body-timeout", required_argument, NULL, OP_BODY_TIMEOUT },
		{ "max-connections", required_argument, NULL, OP_MAX_CONNECTIONS },
		{ "max-per-address", required_argument, NULL, OP_MAX_PER_ADDRESS },
		{ "max-reading", required_argument, NULL, OP_MAX_READING },
		{ "threads", required_argument, NULL, OP_THREADS },
		{ "rate", required_argument, NULL, OP_RATE },
		{ "burst", required_argument, NULL, OP_BURST },
		{ "dedup-window", required_argument, NULL, OP_DEDUP },
		{ "max-batch", required_argument, NULL, OP_MAX_BATCH },
		{ "sync", required_argument, NULL, OP_SYNC },
		{ "busy-timeout", required_argument, NULL, OP_BUSY },
		{ "signature-skew", required_argument, NULL, OP_SKEW },
		{ "grafana-timestamp-header", required_argument, NULL, OP_TS_HEADER },
		{ "log-file", required_argument, NULL, OP_LOG_FILE },
		{ "syslog", no_argument, NULL, OP_SYSLOG },
		{ "no-auth", no_argument, NULL, OP_NO_AUTH },
		{ "no-shape-check", no_argument, NULL, OP_NO_SHAPE_CHECK },
		{ "quarantine-max", required_argument, NULL, OP_QUARANTINE_MAX },
		{ "sse-heartbeat", required_argument, NULL, OP_SSE_HEARTBEAT },
		{ "max-streams", required_argument, NULL, OP_MAX_STREAMS },
		{ "rca-config", required_argument, NULL, OP_RCA_CONFIG },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OP_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	long long n = 0;
	int c;

	/* getopt must not print: stderr may be the client's socket */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":qvh", longopts, NULL)) != -1) {
		int bad = 0;

		switch (c) {
		case OP_DB:
			o->db = optarg;
			break;
		case OP_LISTEN:
			o->listen = optarg;
			break;
		case OP_PORT_FILE:
			o->port_file = optarg;
			break;
		case OP_MAX_BODY:
			bad = parse_int("max-body", optarg, 1, 1LL << 30, &n, err, errlen);
			o->http.max_body = (size_t)n;
			break;
		case OP_MAX_HEADER_BYTES:
			bad = parse_int("max-header-bytes", optarg, 256, 1LL << 20, &n, err, errlen);
			o->http.max_header_bytes = (size_t)n;
			break;
		case OP_MAX_HEADERS:
			bad = parse_int("max-headers", optarg, 1, 10000, &n, err, errlen);
			o->http.max_headers = (unsigned)n;
			break;
		case OP_READ_TIMEOUT:
			bad = parse_int("read-timeout", optarg, 1, 3600, &n, err, errlen);
			o->http.read_timeout_s = (unsigned)n;
			break;
		case OP_HEAD_TIMEOUT:
			bad = parse_int("head-timeout", optarg, 1, 3600, &n, err, errlen);
			o->http.head_timeout_s = (unsigned)n;
			break;
		case OP_BODY_TIMEOUT:
			bad = parse_int("body-timeout", optarg, 1, 3600, &n, err, errlen);
			o->http.body_timeout_s = (unsigned)n;
			break;
		case OP_MAX_PER_ADDRESS:
			bad = parse_int("max-per-address", optarg, 0, 100000, &n, err, errlen);
			o->http.max_per_address = (unsigned)n;
			break;
		case OP_MAX_READING:
			bad = parse_int("max-reading", optarg, 1, 100000, &n, err, errlen);
			o->http.max_reading = (unsigned)n;
			break;
		case OP_MAX_CONNECTIONS:
			bad = parse_int("max-connections", optarg, 1, 100000, &n, err, errlen);
			o->http.max_connections = (unsigned)n;
			break;
		case OP_THREADS:
			bad = parse_int("threads", optarg, 1, 1024, &n, err, errlen);
			o->http.threads = (unsigned)n;
			break;
		case OP_RATE:
			bad = parse_rate(optarg, &o->commit.limits.rate_per_s, err, errlen);
			break;
		case OP_BURST:
			bad = parse_int("burst", optarg, 1, 1000000000, &n, err, errlen);
			o->commit.limits.burst = (double)n;
			break;
		case OP_DEDUP:
			bad = parse_int("dedup-window", optarg, 0, 365LL * 24 * 3600, &n, err, errlen);
			o->commit.limits.dedup_window_ms = n * 1000;
			break;
		case OP_MAX_BATCH:
			bad = parse_int("max-batch", optarg, 1, 100000, &n, err, errlen);
			o->commit.max_batch = (size_t)n;
			break;
		case OP_SYNC:
			if (!strcmp(optarg, "full") || !strcmp(optarg, "normal")) {
				o->dbo.synchronous_full = !strcmp(optarg, "full");
			} else {
				snprintf(err, errlen, "--sync: '%s' is neither full nor normal", optarg);
				bad = -1;
			}
			break;
		case OP_BUSY:
			bad = parse_int("busy-timeout", optarg, 0, 600000, &n, err, errlen);
			o->dbo.busy_timeout_ms = (int)n;
			o->commit.limits.commit_deadline_ms = (int)n;
			break;
		case OP_SKEW:
			bad = parse_int("signature-skew", optarg, 1, 365LL * 24 * 3600, &n, err, errlen);
			o->recv.signature_skew_s = n;
			break;
		case OP_TS_HEADER:
			if (!*optarg || strcspn(optarg, " \t\r\n:") != strlen(optarg)) {
				snprintf(err, errlen, "--grafana-timestamp-header: '%s' is not a header name", optarg);
				bad = -1;
			}
			o->recv.grafana_timestamp_header = optarg;
			break;
		case OP_LOG_FILE:
			o->log_file = optarg;
			break;
		case OP_SYSLOG:
			o->use_syslog = 1;
			break;
		case OP_NO_AUTH:
			o->no_auth = 1;
			break;
		case OP_NO_SHAPE_CHECK:
			o->recv.shape_check = 0;
			break;
		case OP_QUARANTINE_MAX:
			bad = parse_int("quarantine-max", optarg, 0, 100000000, &n, err, errlen);
			o->commit.limits.quarantine_max = n;
			break;
		case OP_SSE_HEARTBEAT:
			bad = parse_int("sse-heartbeat", optarg, 1, 3600, &n, err, errlen);
			o->sse.heartbeat_s = (unsigned)n;
			break;
		case OP_MAX_STREAMS:
			bad = parse_int("max-streams", optarg, 0, 100000, &n, err, errlen);
			o->sse.max_streams = (unsigned)n;
			break;
		case OP_RCA_CONFIG:
			o->rca_config = optarg;
			break;
		case 'q':
			o->verbosity--;
			break;
		case 'v':
			o->verbosity++;
			break;
		case 'h':
			return OPT_HELP;
		case OP_VERSION:
			return OPT_VERSION;
		case ':':
			snprintf(err, errlen, "option '%s' needs a value", argv[optind - 1]);
			return OPT_ERROR;
		default:
			snprintf(err, errlen, "unknown option '%s'", argv[optind - 1]);
			return OPT_ERROR;
		}
		if (bad)
			return OPT_ERROR;
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
		return OPT_ERROR;
	}
	return OPT_OK;
}

/* Point fd at /dev/null: the launcher's copies of the client socket must not keep it open. */
static void to_dev_null(int fd)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (null < 0)
		return;
	if (null != fd) {
		dup2(null, fd);
		close(null);
	}
}

/* Write "PORT\n" to path through a rename, so a reader never sees half of it. */
static int write_port_file(const char *path, int port)
{
	struct aur_buf tmp;
	FILE *f;
	int rc = -1;

	aur_buf_init(&tmp, PATH_MAX);
	if (aur_buf_addf(&tmp, "%s.tmp", path) < 0)
		goto out;
	f = fopen(tmp.data, "w");
	if (!f)
		goto out;
	fprintf(f, "%d\n", port);
	if (ferror(f) | fclose(f))
		goto out;
	rc = rename(tmp.data, path);
out:
	if (rc < 0)
		aur_err("--port-file %s: %s", path, strerror(errno));
	aur_buf_release(&tmp);
	return rc;
}

static int open_db(sqlite3 **db, const char *path, const struct aur_db_options *dbo, int readonly)
{
	struct aur_db_options o = *dbo;
	char err[512] = "";
	int rc;

	o.readonly = readonly;
	rc = aur_db_open(db, path, &o, err, sizeof(err));
	if (rc < 0) {
		aur_err("%s", err);
		return aur_cli_exit_code(rc);
	}
	return AUR_EXIT_OK;
}

/* The operator side of the receiver: token check, event streams, incident API. */
struct operator_routes {
	struct aur_dbpool *pool;
	struct aur_opauth *auth;
	struct aur_sse *sse;
	struct aur_api *api;
};

/*
 * Set up the operator routes: reads through path (accept loop) or single
 * (one-connection mode), creations through wdb. 0, or -1 after logging why.
 */
static int operator_routes_new(struct operator_routes *op, const struct options *o, const char *path,
			       sqlite3 *single, sqlite3 *wdb, struct aur_http *h)
{
	struct aur_opauth_options ao;
	char err[512] = "";
	int threaded = single == NULL;

	aur_dbpool_new(&op->pool, path, o->dbo.busy_timeout_ms, single);
	ao.no_auth = o->no_auth;
	ao.log = log_line;
	aur_opauth_new(&op->auth, &ao, op->pool);
	if (aur_sse_new(&op->sse, &o->sse, path, op->pool, threaded, err, sizeof(err)) < 0 ||
	    aur_api_new(&op->api, &o->api, op->pool, wdb, threaded, op->auth, op->sse, err, sizeof(err)) < 0) {
		aur_err("%s", err);
		return -1;
	}
	if (aur_api_routes(op->api, h) < 0) {
		aur_err("cannot set up the routes");
		return -1;
	}
	return 0;
}

/* End the streams and the queued creations (the HTTP server still runs). */
static void operator_routes_close(struct operator_routes *op)
{
	if (op->sse)
		aur_sse_close(op->sse);
	if (op->api)
		aur_api_close(op->api);
}

/* After the HTTP server is freed. */
static void operator_routes_free(struct operator_routes *op)
{
	aur_api_free(op->api);
	aur_sse_free(op->sse);
	aur_opauth_free(op->auth);
	aur_dbpool_free(op->pool);
}

/*
 * After the connection: when the WAL has grown past ONE_CONNECTION_WAL_BYTES,
 * checkpoint it and cut it to nothing, if nobody else uses the database just
 * now (no waiting: the next process tries again). A process that finds no
 * other connection open must rebuild the WAL's index by reading all of it
 * (SQLite's recovery), and a rebuilt index has forgotten what was already
 * checkpointed, so the WAL never restarts: left alone it grows without end,
 * and every such process reads and checkpoints all of it again.
 */
static void trim_wal(sqlite3 *db, const char *path)
{
	char wal[PATH_MAX];
	struct stat st;

	if (snprintf(wal, sizeof(wal), "%s-wal", path) >= (int)sizeof(wal) || stat(wal, &st) < 0 ||
	    st.st_size < ONE_CONNECTION_WAL_BYTES)
		return;
	sqlite3_busy_timeout(db, 0);
	if (sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL) == SQLITE_OK)
		aur_debug("checkpointed and emptied the WAL (%lld bytes)", (long long)st.st_size);
}

/* One accepted connection, served in this thread until it closes. */
static int serve_connection(const struct options *o, const struct aur_listen *l, const char *path, sqlite3 *db)
{
	struct operator_routes op = { NULL, NULL, NULL, NULL };
	struct aur_conncache *cc = NULL;
	struct aur_committer *c = NULL;
	struct aur_recv *r = NULL;
	struct aur_http *h = NULL;
	struct aur_committer_options co = o->commit;
	struct aur_recv_options ro = o->recv;
	struct sigaction sa;
	char err[256];
	int rc = AUR_EXIT_SOFTWARE;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/*
	 * One thread and one database connection for everything. Many of these
	 * processes come and go: the last one out must not checkpoint and
	 * delete the WAL each time, which would cost every process fsyncs
	 * (trim_wal does it now and then instead).
	 */
	sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	aur_conncache_new(&cc, db);
	co.threaded = 0;
	if (aur_committer_new(&c, db, &co, err, sizeof(err)) < 0) {
		aur_err("%s", err);
		goto out;
	}
	aur_http_new(&h, &o->http);
	if (operator_routes_new(&op, o, path, db, db, h) < 0)
		goto out;
	ro.operator_auth = op.auth;
	aur_recv_new(&r, &ro, cc, c);
	if (aur_recv_routes(r, h) < 0 || aur_web_routes(h) < 0) {
		aur_err("cannot set up the routes");
		goto out;
	}
	if (aur_http_start_connection(h, l->fd, l->remote[0] ? l->remote : NULL, err, sizeof(err)) < 0) {
		aur_err("%s", err);
		goto out;
	}
	if (aur_http_run_connection(h, &stop_requested) < 0) {
		aur_err("the event loop failed");
		goto out;
	}
	aur_info("%s", stop_requested ? "stopped by a signal" : "connection closed");
	trim_wal(db, path);
	rc = AUR_EXIT_OK;
out:
	aur_http_free(h);
	operator_routes_free(&op);
	aur_recv_free(r);
	aur_committer_free(c);
	aur_conncache_free(cc);
	return rc;
}

/*
 * The accept loop holds up to --max-connections plus --max-streams
 * sockets: raise the soft limit on open files towards the hard one when it
 * is lower than that (1024 is a common default).
 */
static void raise_nofile(unsigned connections)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)connections + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur < want)
		aur_warn("open files are limited to %llu: fewer than the %u connections allowed",
			 (unsigned long long)rl.rlim_cur, connections);
}

/* At SIGTERM, how long requests in progress have to finish, and resumed ones to be answered. */
#define DRAIN_MS 3000
#define ANSWER_MS 5000

/* Sleep until count(h) is 0 or the monotonic clock passes until_ms. */
static void wait_until(struct aur_http *h, unsigned (*count)(const struct aur_http *h), long long until_ms)
{
	while (count(h) > 0 && aur_time_mono_ms() < until_ms) {
		struct timespec ts = { 0, 5L * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
}

/* Requests begun and not over, and connections that may have one on its way. */
static unsigned in_progress(const struct aur_http *h)
{
	return aur_http_active(h) + aur_http_reading(h);
}

/* The accept loop, until SIGTERM or SIGINT. */
static int serve_listener(const struct options *o, const struct aur_listen *l, const char *path, sqlite3 *db)
{
	struct operator_routes op = { NULL, NULL, NULL, NULL };
	struct aur_conncache *cc = NULL;
	struct aur_committer *c = NULL;
	struct aur_recv *r = NULL;
	struct aur_http *h = NULL;
	struct aur_committer_options co = o->commit;
	struct aur_http_options ho = o->http;
	struct aur_recv_options ro = o->recv;
	sqlite3 *rdb = NULL;
	sqlite3 *adb = NULL;
	sigset_t stop;
	char err[256];
	int sig = 0;
	int rc;

	/* the reader is the connector cache's own, so lookups never wait for a commit */
	rc = open_db(&rdb, path, &o->dbo, 1);
	/* manual incidents are written through a connection of their own, not the committer's */
	if (rc == AUR_EXIT_OK)
		rc = open_db(&adb, path, &o->dbo, 0);
	if (rc != AUR_EXIT_OK)
		goto out;
	rc = AUR_EXIT_SOFTWARE;
	/* every thread started from here on leaves these signals to sigwait below */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	aur_conncache_new(&cc, rdb);
	co.threaded = 1;
	if (aur_committer_new(&c, db, &co, err, sizeof(err)) < 0) {
		aur_err("%s", err);
		goto out;
	}
	if (ho.threads > ho.max_connections)
		ho.threads = ho.max_connections;
	/* slow readers may take half of the connections, not those kept for streams */
	if (ho.max_reading == 0)
		ho.max_reading = ho.max_connections > 1 ? ho.max_connections / 2 : 1;
	/* event streams are parked most of their life: they come on top of the other connections */
	ho.max_connections += o->sse.max_streams;
	raise_nofile(ho.max_connections);
	aur_http_new(&h, &ho);
	if (operator_routes_new(&op, o, path, NULL, adb, h) < 0)
		goto out;
	ro.operator_auth = op.auth;
	aur_recv_new(&r, &ro, cc, c);
	if (aur_recv_routes(r, h) < 0 || aur_web_routes(h) < 0) {
		aur_err("cannot set up the routes");
		goto out;
	}
	if (aur_http_start_listener(h, l->fd, err, sizeof(err)) < 0) {
		aur_err("%s", err);
		goto out;
	}
	if (o->port_file && write_port_file(o->port_file, aur_listen_port(l->fd)) < 0) {
		rc = AUR_EXIT_IOERR;
		goto out;
	}
	aur_info("accepting on %s (%s), %u threads%s", l->local, aur_listen_mode_name(l->mode), ho.threads,
		 o->no_auth ? ", operator routes without a token (--no-auth)" : "");
	while (sigwait(&stop, &sig) != 0)
		;
	aur_info("%s: finishing the queued deliveries", sig == SIGINT ? "SIGINT" : "SIGTERM");
	/* no new connection; every answer from now on closes its connection */
	aur_http_quiesce(h);
	/* event streams end, queued creations finish and their requests resume */
	operator_routes_close(&op);
	/*
	 * The requests in progress, and those on their way on connections
	 * already accepted, finish while the writer still commits: stored and
	 * answered 202, not refused, if they come within the drain time. Past
	 * it, what is still being read is cut off unanswered when the server
	 * stops (and stored nowhere).
	 */
	wait_until(h, in_progress, aur_time_mono_ms() + DRAIN_MS);
	/* stores what is queued and resumes each waiting request (later ones get 503) */
	aur_committer_close(c);
	/* let the resumed requests send their answers; libmicrohttpd cannot stop with one suspended */
	wait_until(h, aur_http_suspended, aur_time_mono_ms() + ANSWER_MS);
	rc = AUR_EXIT_OK;
out:
	aur_http_free(h);
	operator_routes_free(&op);
	aur_recv_free(r);
	aur_committer_free(c);
	aur_conncache_free(cc);
	aur_db_close(adb);
	aur_db_close(rdb);
	return rc;
}

/* AURORA_SHAPE_CHECK=off (or 0, no, false): as --no-shape-check. */
static int shape_check_off(const char *v)
{
	return v && (!strcmp(v, "off") || !strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "false"));
}

static void options_init(struct options *o)
{
	memset(o, 0, sizeof(*o));
	aur_http_options_init(&o->http);
	o->http.log = log_line;
	aur_recv_options_init(&o->recv);
	o->recv.log = log_line;
	o->recv.shape_check = !shape_check_off(getenv("AURORA_SHAPE_CHECK"));
	aur_committer_options_init(&o->commit);
	o->commit.log = log_line;
	aur_db_options_init(&o->dbo);
	o->commit.limits.commit_deadline_ms = o->dbo.busy_timeout_ms;
	aur_sse_options_init(&o->sse);
	o->sse.stop = &stop_requested;
	o->sse.log = log_line;
	aur_api_options_init(&o->api);
	o->api.log = log_line;
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
	o->api.postmortem_llm = aur_inv_llm_config(*llm);
	return 0;
}

int main(int argc, char **argv)
{
	struct options o;
	struct aur_listen l;
	sqlite3 *db = NULL;
	char perr[512] = "";
	char lerr[512] = "";
	struct aur_inv_llm *llm = NULL;
	const char *path;
	int prc;
	int lrc;
	int rc = AUR_EXIT_SOFTWARE;

	signal(SIGPIPE, SIG_IGN);
	aur_log_init("aurora-recv");
	options_init(&o);
	prc = parse_options(argc, argv, &o, perr, sizeof(perr));
	if (prc == OPT_HELP || prc == OPT_VERSION) {
		if (prc == OPT_HELP)
			fputs(usage, stdout);
		else
			printf("aurora-recv %s\n", AURORA_VERSION);
		rc = ferror(stdout) | fclose(stdout) ? AUR_EXIT_IOERR : AUR_EXIT_OK;
		goto out;
	}
	/* with bad options, only learn what fd 2 is: bind nothing */
	lrc = aur_listen_detect(&l, prc == OPT_OK ? o.listen : NULL, lerr, sizeof(lerr));
	if (choose_log_sink(&o, &l) < 0) {
		rc = AUR_EXIT_IOERR;
		goto out;
	}
	if (o.verbosity)
		aur_log_set_level(aur_log_level() + o.verbosity);
	if (prc == OPT_ERROR) {
		if (aur_log_sink() == AUR_LOG_STDERR)
			fprintf(stderr, "aurora-recv: %s\n%s", perr, short_usage);
		else
			aur_err("%s", perr);
		rc = AUR_EXIT_USAGE;
		goto out;
	}
	if (lrc < 0) {
		aur_err("%s", lerr);
		rc = lrc == -ENOENT || lrc == -EINVAL ? AUR_EXIT_USAGE : AUR_EXIT_IOERR;
		goto out;
	}
	if (lerr[0])
		aur_warn("%s", lerr);
	if (o.no_auth && no_auth_refused(&l)) {
		close(l.fd);
		rc = AUR_EXIT_USAGE;
		goto out;
	}
	path = aur_db_default_path(o.db);
	o.api.db_path = path;
	if (postmortem_model(&o, &llm) < 0) {
		close(l.fd);
		rc = AUR_EXIT_CONFIG;
		goto out;
	}
	if (l.mode == AUR_LISTEN_SYSTEMD_CONN || l.mode == AUR_LISTEN_STDIN_CONN) {
		/* only the connection's own fd may keep the socket open, and fd 2 must never reach it */
		if (l.fd != 0 && aur_listen_same_file(0, l.fd))
			to_dev_null(0);
		if (l.fd != 1 && aur_listen_same_file(1, l.fd))
			to_dev_null(1);
		if (l.fd2_is_client)
			to_dev_null(2);
		aur_info("serving one connection (%s) from %s", aur_listen_mode_name(l.mode),
			 l.remote[0] ? l.remote : "an unknown peer");
		rc = open_db(&db, path, &o.dbo, 0);
		if (rc == AUR_EXIT_OK)
			rc = serve_connection(&o, &l, path, db);
		else
			close(l.fd);
	} else {
		rc = open_db(&db, path, &o.dbo, 0);
		if (rc == AUR_EXIT_OK)
			rc = serve_listener(&o, &l, path, db);
		else
			close(l.fd);
	}
out:
	aur_db_close(db);
	aur_inv_llm_free(llm);
	return rc;
}
