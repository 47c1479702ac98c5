/*
 * line_stamp - copy stdin to stdout, each line prefixed with the wall-clock
 * time it was read, in microseconds since the epoch, and a tab.
 *
 *   aurora-correlate | line_stamp > decisions.tsv
 *
 * Reads with read(2) as data arrives and writes each line at once, so the
 * stamp is when the line came out of the pipe, not when a buffer filled.
 * Used by scripts/bench-pipeline to time decision records; not part of
 * aurora.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
	char buf[65536];
	int at_start = 1;
	ssize_t n;

	while ((n = read(0, buf, sizeof buf)) > 0) {
		struct timespec ts;
		long long us;

		clock_gettime(CLOCK_REALTIME, &ts);
		us = (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
		for (ssize_t i = 0; i < n; i++) {
			if (at_start)
				printf("%lld\t", us);
			putchar(buf[i]);
			at_start = buf[i] == '\n';
		}
		fflush(stdout);
	}
	return ferror(stdout) ? 1 : 0;
}
