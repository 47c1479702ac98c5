/*
 * follow_latency - how fast `aurora-inbox follow` prints a committed row,
 * and what it costs while idle.
 *
 *   follow_latency INBOX DB [N] [IDLE_S] [SYNC]
 *
 * Starts INBOX follow --db DB with its stdout on a pipe, waits until it is
 * following (its cursor file appears), then inserts N rows one at a time
 * (default 500; a random pause of 0-20 ms before each, like deliveries
 * arriving) with the receiver's durability (synchronous FULL, or SYNC =
 * normal). For each row, the latency is from the moment the INSERT's
 * commit returned to the moment its line arrived on the pipe. Then it
 * leaves follow idle for IDLE_S seconds (default 10) and reads the CPU time
 * and wake-ups it used from /proc. Prints one "name value" line per figure.
 *
 * Built and run by scripts/bench-follow with cc -O2; not part of aurora.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "banned.h"

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void pause_ms(double ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)((ms - (double)(long)(ms / 1000) * 1000) * 1e6) };

	nanosleep(&ts, NULL);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(const double *sorted, int n, double p)
{
	int i = (int)(p / 100.0 * (n - 1) + 0.5);

	return sorted[i < 0 ? 0 : i >= n ? n - 1 : i];
}

/* CPU time (ns) of pid from /proc/pid/schedstat, and its context switches. */
static int proc_usage(pid_t pid, unsigned long long *cpu_ns, unsigned long long *switches)
{
	char path[64], line[256];
	unsigned long long v;
	FILE *f;
	int rc = -1;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%llu", cpu_ns) == 1)
			rc = 0;
		fclose(f);
	}
	*switches = 0;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "voluntary_ctxt_switches: %llu", &v) == 1 ||
		    sscanf(line, "nonvoluntary_ctxt_switches: %llu", &v) == 1)
			*switches += v;
	}
	fclose(f);
	return rc;
}

/* Read from fd until `want` more newlines arrived; 0, or -1 after timeout_ms. */
static int wait_lines(int fd, int want, int timeout_ms)
{
	char buf[65536];
	double until = mono_ms() + timeout_ms;

	while (want > 0) {
		struct pollfd p = { fd, POLLIN, 0 };
		int left = (int)(until - mono_ms());
		ssize_t n;

		if (left <= 0 || poll(&p, 1, left) <= 0)
			return -1;
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			return -1;
		for (ssize_t i = 0; i < n; i++)
			want -= buf[i] == '\n';
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *inbox, *dbpath;
	char cursor[4096];
	int n = 500, idle_s = 10, full = 1;
	double *lat = NULL;
	sqlite3 *db = NULL;
	sqlite3_stmt *ins = NULL;
	unsigned long long cpu0, cpu1, sw0, sw1;
	int fds[2];
	pid_t pid = -1;
	int rc = 1;
	int late = 0;
	struct stat st;

	if (argc < 3) {
		fprintf(stderr, "usage: follow_latency INBOX DB [N] [IDLE_S] [full|normal]\n");
		return 2;
	}
	inbox = argv[1];
	dbpath = argv[2];
	if (argc > 3)
		n = (int)strtol(argv[3], NULL, 10);
	if (argc > 4)
		idle_s = (int)strtol(argv[4], NULL, 10);
	if (argc > 5)
		full = strcmp(argv[5], "normal") != 0;
	if (n < 1 || idle_s < 1)
		return 2;
	lat = calloc((size_t)n, sizeof(*lat));
	snprintf(cursor, sizeof(cursor), "%s.cursor", dbpath);
	unlink(cursor);
	if (!lat || pipe(fds) < 0)
		goto out;
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execl(inbox, inbox, "follow", "--db", dbpath, "--cursor", cursor, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	if (pid < 0)
		goto out;
	for (int i = 0; i < 500 && stat(cursor, &st) < 0; i++)
		pause_ms(10);
	if (stat(cursor, &st) < 0) {
		fprintf(stderr, "follow_latency: follow did not start\n");
		goto out;
	}
	if (sqlite3_open(dbpath, &db) != SQLITE_OK ||
	    sqlite3_exec(db, full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL", NULL, NULL,
			 NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(db, 5000) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
			       "INSERT INTO inbox(platform, received_at, received_ms, body, body_sha256)"
			       " VALUES ('grafana', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), ?,"
			       " '{\"bench\":true}', hex(randomblob(32)))",
			       -1, &ins, NULL) != SQLITE_OK) {
		fprintf(stderr, "follow_latency: %s\n", db ? sqlite3_errmsg(db) : "no memory");
		goto out;
	}
	srand(42);
	for (int i = 0; i < n; i++) {
		double committed, printed;

		pause_ms((double)(rand() % 21));
		sqlite3_bind_int64(ins, 1, (long long)time(NULL) * 1000);
		if (sqlite3_step(ins) != SQLITE_DONE) {
			fprintf(stderr, "follow_latency: insert: %s\n", sqlite3_errmsg(db));
			goto out;
		}
		sqlite3_reset(ins);
		committed = mono_ms();
		if (wait_lines(fds[0], 1, 5000) < 0) {
			fprintf(stderr, "follow_latency: row %d not printed within 5 s\n", i + 1);
			goto out;
		}
		printed = mono_ms();
		lat[i] = printed - committed;
		late += lat[i] > 50;
	}
	qsort(lat, (size_t)n, sizeof(*lat), cmp_double);
	printf("rows %d\n", n);
	printf("sync %s\n", full ? "full" : "normal");
	printf("latency_p50_ms %.3f\n", pct(lat, n, 50));
	printf("latency_p90_ms %.3f\n", pct(lat, n, 90));
	printf("latency_p99_ms %.3f\n", pct(lat, n, 99));
	printf("latency_max_ms %.3f\n", lat[n - 1]);
	printf("rows_over_50ms %d\n", late);
	pause_ms(200);
	if (proc_usage(pid, &cpu0, &sw0) < 0) {
		fprintf(stderr, "follow_latency: no /proc/%d/schedstat\n", (int)pid);
		goto out;
	}
	pause_ms(idle_s * 1000.0);
	proc_usage(pid, &cpu1, &sw1);
	printf("idle_seconds %d\n", idle_s);
	printf("idle_cpu_ms %.3f\n", (double)(cpu1 - cpu0) / 1e6);
	printf("idle_cpu_percent %.4f\n", (double)(cpu1 - cpu0) / 1e7 / idle_s);
	printf("idle_wakeups_per_s %.2f\n", (double)(sw1 - sw0) / idle_s);
	rc = 0;
out:
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
	sqlite3_finalize(ins);
	sqlite3_close(db);
	unlink(cursor);
	free(lat);
	return rc;
}
