/*
 * sqlite_inetd - the floor under aurora-recv's inetd figure: run under the
 * same tcpserver, it reads one request (headers and Content-Length body)
 * from fd 0, stores the body in a table of the SQLite file DB (WAL,
 * synchronous=FULL, one INSERT, COMMIT) and only then writes a fixed 202
 * answer to fd 1. No HTTP parsing beyond that, no checks, no schema of
 * aurora's: what any program that answers 202 after a durable SQLite commit
 * must pay per process (loading libsqlite3, opening the file, the commit and
 * its fsync, waiting for the write lock). Like aurora-recv, it queues for
 * the write lock on a blocking fcntl lock of a side file (DB-lock) rather
 * than in SQLite's sleeping busy handler, which under 64 concurrent
 * processes costs seconds; and like aurora-recv, once it has answered it
 * empties a WAL past 32 frames, which a process that opens the database
 * alone would otherwise read whole. aurora-recv's figure against it is
 * aurora's own work; its figure against trivial_inetd is the ceiling of the
 * design.
 *
 *   tcpserver -H -R 127.0.0.1 PORT sqlite_inetd DB
 *
 * Built by scripts/bench with cc -O2; not part of aurora.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#define HDR_MAX 16384
#define BODY_MAX (1 << 20)

static const char answer[] =
	"HTTP/1.1 202 Accepted\r\n"
	"Content-Type: application/json\r\n"
	"Content-Length: 25\r\n"
	"Connection: close\r\n"
	"\r\n"
	"{\"accepted\":true,\"id\":1}\n";

static long content_length(const char *hdr)
{
	const char *p = hdr;

	while ((p = strchr(p, '\n')) != NULL) {
		p++;
		if (strncasecmp(p, "content-length:", 15) == 0) {
			long n = strtol(p + 15, NULL, 10);
			return n < 0 ? 0 : n;
		}
	}
	return 0;
}

/* Queue for the write lock: a blocking fcntl lock on DB-lock; the fd, or -1. */
static int queue(const char *path)
{
	char lock[4096];
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd;

	if (snprintf(lock, sizeof(lock), "%s-lock", path) >= (int)sizeof(lock))
		return -1;
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		while (fcntl(fd, F_SETLKW, &fl) < 0 && errno == EINTR)
			;
	return fd;
}

/* Commit body; the connection stays open in *dbp for trim. 0 or -1. */
static int store(sqlite3 **dbp, const char *path, const char *body, size_t len)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int lock = -1;
	int ok;

	ok = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) == SQLITE_OK &&
	     sqlite3_busy_timeout(db, 5000) == SQLITE_OK &&
	     sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL) == SQLITE_OK &&
	     sqlite3_exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
			      "CREATE TABLE IF NOT EXISTS floor(id INTEGER PRIMARY KEY, body BLOB NOT NULL)",
			  NULL, NULL, NULL) == SQLITE_OK &&
	     (lock = queue(path)) >= 0 &&
	     sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK &&
	     sqlite3_prepare_v2(db, "INSERT INTO floor(body) VALUES (?)", -1, &st, NULL) == SQLITE_OK &&
	     sqlite3_bind_blob(st, 1, body, (int)len, SQLITE_STATIC) == SQLITE_OK &&
	     sqlite3_step(st) == SQLITE_DONE && sqlite3_finalize(st) == SQLITE_OK &&
	     sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK;
	if (!ok)
		sqlite3_finalize(st);
	if (lock >= 0)
		close(lock);
	*dbp = db;
	return ok ? 0 : -1;
}

/* Past 32 frames, checkpoint the WAL and cut it to nothing, unless someone else is busy. */
static void trim(sqlite3 *db, const char *path)
{
	char wal[4096];
	struct stat st;

	if (snprintf(wal, sizeof(wal), "%s-wal", path) >= (int)sizeof(wal) || stat(wal, &st) < 0 ||
	    st.st_size < 32 * 4120)
		return;
	sqlite3_busy_timeout(db, 0);
	sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
}

int main(int argc, char **argv)
{
	static char buf[HDR_MAX + 1];
	static char body[BODY_MAX];
	sqlite3 *db = NULL;
	size_t len = 0, off = 0, have;
	char *eoh = NULL;
	long want;

	if (argc != 2)
		return 2;
	while (eoh == NULL) {
		ssize_t n;

		if (len == HDR_MAX)
			return 1;
		n = read(0, buf + len, HDR_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 1;
		len += (size_t)n;
		buf[len] = '\0';
		eoh = strstr(buf, "\r\n\r\n");
	}
	want = content_length(buf);
	if (want > BODY_MAX)
		return 1;
	have = len - (size_t)(eoh + 4 - buf);
	memcpy(body, eoh + 4, have);
	while (have < (size_t)want) {
		ssize_t n = read(0, body + have, (size_t)want - have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 1;
		have += (size_t)n;
	}
	if (store(&db, argv[1], body, have) < 0) {
		sqlite3_close(db);
		return 1;
	}
	while (off < sizeof answer - 1) {
		ssize_t w = write(1, answer + off, sizeof answer - 1 - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			sqlite3_close(db);
			return 1;
		}
		off += (size_t)w;
	}
	close(1);
	close(0);
	trim(db, argv[1]);
	sqlite3_close(db);
	return 0;
}
