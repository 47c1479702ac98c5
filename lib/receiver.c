#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "buf.h"
#include "conncache.h"
#include "dbpool.h"
#include "log.h"
#include "opauth.h"
#include "receiver.h"
#include "timeutil.h"
#include "web.h"
#include "xalloc.h"
#include "banned.h"

/* WAL bytes past which a one-connection process empties the WAL on its way out (trim_wal). */
#define ONE_CONNECTION_WAL_BYTES ((off_t)32 * 4120)
/* At SIGTERM, how long requests in progress have to finish, and resumed ones to be answered. */
#define DRAIN_MS 3000
#define ANSWER_MS 5000

struct aur_receiver {
	struct aur_receiver_options o;
	int threaded;
	sqlite3 *db;  /* the committer's */
	sqlite3 *rdb; /* the connector cache's reader (accept loop) */
	sqlite3 *adb; /* manual incidents (accept loop) */
	struct aur_dbpool *pool;
	struct aur_opauth *auth;
	struct aur_sse *sse;
	struct aur_api *api;
	struct aur_conncache *cc;
	struct aur_committer *c;
	struct aur_recv *recv;
	struct aur_http *h;
};

void aur_receiver_options_init(struct aur_receiver_options *o, void (*log)(int level, const char *msg),
			       volatile sig_atomic_t *stop)
{
	memset(o, 0, sizeof(*o));
	o->log = log;
	aur_http_options_init(&o->http);
	o->http.log = log;
	aur_recv_options_init(&o->recv);
	o->recv.log = log;
	aur_committer_options_init(&o->commit);
	o->commit.log = log;
	aur_db_options_init(&o->dbo);
	o->commit.limits.commit_deadline_ms = o->dbo.busy_timeout_ms;
	aur_sse_options_init(&o->sse);
	o->sse.stop = stop;
	o->sse.log = log;
	aur_api_options_init(&o->api);
	o->api.log = log;
}

enum setting {
	S_MAX_BODY, S_MAX_HEADER_BYTES, S_MAX_HEADERS, S_READ_TIMEOUT, S_HEAD_TIMEOUT, S_BODY_TIMEOUT,
	S_MAX_PER_ADDRESS, S_MAX_READING, S_MAX_CONNECTIONS, S_THREADS, S_BURST, S_DEDUP, S_MAX_BATCH, S_BUSY,
	S_SKEW, S_QUARANTINE_MAX, S_SSE_HEARTBEAT, S_MAX_STREAMS, S_RATE, S_SYNC, S_TS_HEADER
};

#define YEAR_S (365LL * 24 * 3600)

/* The integer settings' ranges; min > max marks one parsed otherwise. */
static const struct {
	const char *name;
	enum setting which;
	long long min, max;
} settings[] = {
	{ "max-body", S_MAX_BODY, 1, 1LL << 30 },
	{ "max-header-bytes", S_MAX_HEADER_BYTES, 256, 1LL << 20 },
	{ "max-headers", S_MAX_HEADERS, 1, 10000 },
	{ "read-timeout", S_READ_TIMEOUT, 1, 3600 },
	{ "head-timeout", S_HEAD_TIMEOUT, 1, 3600 },
	{ "body-timeout", S_BODY_TIMEOUT, 1, 3600 },
	{ "max-per-address", S_MAX_PER_ADDRESS, 0, 100000 },
	{ "max-reading", S_MAX_READING, 1, 100000 },
	{ "max-connections", S_MAX_CONNECTIONS, 1, 100000 },
	{ "threads", S_THREADS, 1, 1024 },
	{ "burst", S_BURST, 1, 1000000000 },
	{ "dedup-window", S_DEDUP, 0, YEAR_S },
	{ "max-batch", S_MAX_BATCH, 1, 100000 },
	{ "busy-timeout", S_BUSY, 0, 600000 },
	{ "signature-skew", S_SKEW, 1, YEAR_S },
	{ "quarantine-max", S_QUARANTINE_MAX, 0, 100000000 },
	{ "sse-heartbeat", S_SSE_HEARTBEAT, 1, 3600 },
	{ "max-streams", S_MAX_STREAMS, 0, 100000 },
	{ "rate", S_RATE, 1, 0 },
	{ "sync", S_SYNC, 1, 0 },
	{ "grafana-timestamp-header", S_TS_HEADER, 1, 0 },
};

static void set_integer(struct aur_receiver_options *o, enum setting which, long long n)
{
	switch (which) {
	case S_MAX_BODY: o->http.max_body = (size_t)n; break;
	case S_MAX_HEADER_BYTES: o->http.max_header_bytes = (size_t)n; break;
	case S_MAX_HEADERS: o->http.max_headers = (unsigned)n; break;
	case S_READ_TIMEOUT: o->http.read_timeout_s = (unsigned)n; break;
	case S_HEAD_TIMEOUT: o->http.head_timeout_s = (unsigned)n; break;
	case S_BODY_TIMEOUT: o->http.body_timeout_s = (unsigned)n; break;
	case S_MAX_PER_ADDRESS: o->http.max_per_address = (unsigned)n; break;
	case S_MAX_READING: o->http.max_reading = (unsigned)n; break;
	case S_MAX_CONNECTIONS: o->http.max_connections = (unsigned)n; break;
	case S_THREADS: o->http.threads = (unsigned)n; break;
	case S_BURST: o->commit.limits.burst = (double)n; break;
	case S_DEDUP: o->commit.limits.dedup_window_ms = n * 1000; break;
	case S_MAX_BATCH: o->commit.max_batch = (size_t)n; break;
	case S_BUSY:
		o->dbo.busy_timeout_ms = (int)n;
		o->commit.limits.commit_deadline_ms = (int)n;
		break;
	case S_SKEW: o->recv.signature_skew_s = n; break;
	case S_QUARANTINE_MAX: o->commit.limits.quarantine_max = n; break;
	case S_SSE_HEARTBEAT: o->sse.heartbeat_s = (unsigned)n; break;
	case S_MAX_STREAMS: o->sse.max_streams = (unsigned)n; break;
	default: break;
	}
}

/* The settings that are not integers. */
static int set_other(struct aur_receiver_options *o, enum setting which, const char *arg, char *err,
		     size_t errlen)
{
	char *end = NULL;
	double v;

	switch (which) {
	case S_RATE:
		errno = 0;
		v = strtod(arg, &end);
		if (errno || end == arg || *end || !(v >= 0) || v > 1e9) {
			snprintf(err, errlen, "--rate: '%s' is not a rate from 0 to 1e9 per second", arg);
			return -EINVAL;
		}
		o->commit.limits.rate_per_s = v;
		return 0;
	case S_SYNC:
		if (strcmp(arg, "full") != 0 && strcmp(arg, "normal") != 0) {
			snprintf(err, errlen, "--sync: '%s' is neither full nor normal", arg);
			return -EINVAL;
		}
		o->dbo.synchronous_full = !strcmp(arg, "full");
		return 0;
	default: /* S_TS_HEADER */
		if (!*arg || strcspn(arg, " \t\r\n:") != strlen(arg)) {
			snprintf(err, errlen, "--grafana-timestamp-header: '%s' is not a header name", arg);
			return -EINVAL;
		}
		o->recv.grafana_timestamp_header = arg;
		return 0;
	}
}

static int setting_index(const char *name)
{
	for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
		if (!strcmp(settings[i].name, name))
			return (int)i;
	return -1;
}

int aur_receiver_option_set(struct aur_receiver_options *o, const char *name, const char *arg, char *err,
			    size_t errlen)
{
	int i = setting_index(name);
	char *end = NULL;
	long long v;

	if (i < 0) {
		snprintf(err, errlen, "--%s: no such setting", name);
		return -ENOENT;
	}
	if (settings[i].min > settings[i].max)
		return set_other(o, settings[i].which, arg, err, errlen);
	errno = 0;
	v = strtoll(arg, &end, 10);
	if (errno || end == arg || *end || v < settings[i].min || v > settings[i].max) {
		snprintf(err, errlen, "--%s: '%s' is not a number from %lld to %lld", name, arg, settings[i].min,
			 settings[i].max);
		return -EINVAL;
	}
	set_integer(o, settings[i].which, v);
	return 0;
}

/* Write "PORT\n" to path through a rename, so a reader never sees half of it. */
static int write_port_file(const char *path, int port, char *err, size_t errlen)
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
		snprintf(err, errlen, "--port-file %s: %s", path, strerror(errno ? errno : EIO));
	aur_buf_release(&tmp);
	return rc < 0 ? -EIO : 0;
}

static int open_db(sqlite3 **db, const struct aur_receiver_options *o, int readonly, char *err, size_t errlen)
{
	struct aur_db_options dbo = o->dbo;

	dbo.readonly = readonly;
	return aur_db_open(db, o->db_path, &dbo, err, errlen);
}

/*
 * The operator routes: token check, event streams, incident API; reads
 * through the pool (over the path, or r->db alone in one-connection mode),
 * creations through wdb.
 */
static int operator_routes(struct aur_receiver *r, sqlite3 *wdb, char *err, size_t errlen)
{
	struct aur_opauth_options ao;

	aur_dbpool_new(&r->pool, r->o.db_path, r->o.dbo.busy_timeout_ms, r->threaded ? NULL : r->db);
	ao.no_auth = r->o.no_auth;
	ao.log = r->o.log;
	aur_opauth_new(&r->auth, &ao, r->pool);
	if (aur_sse_new(&r->sse, &r->o.sse, r->o.db_path, r->pool, r->threaded, err, errlen) < 0 ||
	    aur_api_new(&r->api, &r->o.api, r->pool, wdb, r->threaded, r->auth, r->sse, err, errlen) < 0)
		return -ENOTRECOVERABLE;
	return 0;
}

/*
 * The accept loop holds up to --max-connections plus --max-streams
 * sockets: raise the soft limit on open files towards the hard one when it
 * is lower than that (1024 is a common default).
 */
static void raise_nofile(const struct aur_receiver *r, unsigned connections)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)connections + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur < want)
		aur_log_to(r->o.log, AUR_LOG_WARN, "open files are limited to %llu: fewer than the %u connections allowed",
			   (unsigned long long)rl.rlim_cur, connections);
}

/* The accept loop's caps, derived from the options. */
static void listener_caps(struct aur_receiver *r)
{
	struct aur_http_options *ho = &r->o.http;

	if (ho->threads > ho->max_connections)
		ho->threads = ho->max_connections;
	/* slow readers may take half of the connections, not those kept for streams */
	if (ho->max_reading == 0)
		ho->max_reading = ho->max_connections > 1 ? ho->max_connections / 2 : 1;
	/* event streams are parked most of their life: they come on top of the other connections */
	ho->max_connections += r->o.sse.max_streams;
	raise_nofile(r, ho->max_connections);
}

/* The databases of each shape: 0 or aur_db_open's error. */
static int open_dbs(struct aur_receiver *r, char *err, size_t errlen)
{
	int rc = open_db(&r->db, &r->o, 0, err, errlen);

	if (rc < 0 || !r->threaded)
		return rc;
	/*
	 * The reader is the connector cache's own, so lookups never wait for
	 * a commit; manual incidents are written through a connection of
	 * their own, not the committer's.
	 */
	rc = open_db(&r->rdb, &r->o, 1, err, errlen);
	if (rc == 0)
		rc = open_db(&r->adb, &r->o, 0, err, errlen);
	return rc;
}

/* Every part of the server, then the routes on the engine. */
static int assemble(struct aur_receiver *r, char *err, size_t errlen)
{
	struct aur_committer_options co = r->o.commit;
	struct aur_recv_options ro = r->o.recv;

	if (!r->threaded)
		/*
		 * One thread and one database connection for everything. Many
		 * of these processes come and go: the last one out must not
		 * checkpoint and delete the WAL each time, which would cost
		 * every process fsyncs (trim_wal does it now and then instead).
		 */
		sqlite3_db_config(r->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	aur_conncache_new(&r->cc, r->threaded ? r->rdb : r->db);
	co.threaded = r->threaded;
	if (aur_committer_new(&r->c, r->db, &co, err, errlen) < 0)
		return -ENOTRECOVERABLE;
	if (r->threaded)
		listener_caps(r);
	aur_http_new(&r->h, &r->o.http);
	if (operator_routes(r, r->threaded ? r->adb : r->db, err, errlen) < 0)
		return -ENOTRECOVERABLE;
	ro.operator_auth = r->auth;
	aur_recv_new(&r->recv, &ro, r->cc, r->c);
	if (aur_api_routes(r->api, r->h) < 0 || aur_recv_routes(r->recv, r->h) < 0 || aur_web_routes(r->h) < 0) {
		snprintf(err, errlen, "cannot set up the routes");
		return -ENOTRECOVERABLE;
	}
	return 0;
}

int aur_receiver_new(struct aur_receiver **out, const struct aur_receiver_options *o, const struct aur_listen *l,
		     char *err, size_t errlen)
{
	struct aur_receiver *r = aur_xcalloc(1, sizeof(*r));
	int rc;

	*out = r;
	r->o = *o;
	r->threaded = l->mode != AUR_LISTEN_SYSTEMD_CONN && l->mode != AUR_LISTEN_STDIN_CONN;
	rc = open_dbs(r, err, errlen);
	if (rc == 0)
		rc = assemble(r, err, errlen);
	if (rc < 0)
		return rc;
	if (!r->threaded) {
		if (aur_http_start_connection(r->h, l->fd, l->remote[0] ? l->remote : NULL, err, errlen) < 0)
			return -ENOTRECOVERABLE;
		return 0;
	}
	if (aur_http_start_listener(r->h, l->fd, err, errlen) < 0)
		return -ENOTRECOVERABLE;
	if (o->port_file)
		return write_port_file(o->port_file, aur_listen_port(l->fd), err, errlen);
	return 0;
}

unsigned aur_receiver_threads(const struct aur_receiver *r)
{
	return r->o.http.threads;
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
static void trim_wal(const struct aur_receiver *r)
{
	char wal[PATH_MAX];
	struct stat st;

	if (snprintf(wal, sizeof(wal), "%s-wal", r->o.db_path) >= (int)sizeof(wal) || stat(wal, &st) < 0 ||
	    st.st_size < ONE_CONNECTION_WAL_BYTES)
		return;
	sqlite3_busy_timeout(r->db, 0);
	if (sqlite3_wal_checkpoint_v2(r->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL) == SQLITE_OK)
		aur_log_to(r->o.log, AUR_LOG_DEBUG, "checkpointed and emptied the WAL (%lld bytes)",
			   (long long)st.st_size);
}

int aur_receiver_run_connection(struct aur_receiver *r, const volatile sig_atomic_t *stop)
{
	if (aur_http_run_connection(r->h, stop) < 0)
		return -ENOTRECOVERABLE;
	trim_wal(r);
	return 0;
}

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

void aur_receiver_drain(struct aur_receiver *r)
{
	/* no new connection; every answer from now on closes its connection */
	aur_http_quiesce(r->h);
	/* event streams end, queued creations finish and their requests resume */
	aur_sse_close(r->sse);
	aur_api_close(r->api);
	/*
	 * The requests in progress, and those on their way on connections
	 * already accepted, finish while the writer still commits: stored and
	 * answered 202, not refused, if they come within the drain time. Past
	 * it, what is still being read is cut off unanswered when the server
	 * stops (and stored nowhere).
	 */
	wait_until(r->h, in_progress, aur_time_mono_ms() + DRAIN_MS);
	/* stores what is queued and resumes each waiting request (later ones get 503) */
	aur_committer_close(r->c);
	/* let the resumed requests send their answers; libmicrohttpd cannot stop with one suspended */
	wait_until(r->h, aur_http_suspended, aur_time_mono_ms() + ANSWER_MS);
}

void aur_receiver_free(struct aur_receiver *r)
{
	if (!r)
		return;
	aur_http_free(r->h);
	aur_api_free(r->api);
	aur_sse_free(r->sse);
	aur_opauth_free(r->auth);
	aur_dbpool_free(r->pool);
	aur_recv_free(r->recv);
	aur_committer_free(r->c);
	aur_conncache_free(r->cc);
	aur_db_close(r->adb);
	aur_db_close(r->rdb);
	aur_db_close(r->db);
	free(r);
}
