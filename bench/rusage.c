/*
 * rusage - run a command and record its wall time and peak memory.
 *
 *   rusage STATSFILE COMMAND [ARG...]
 *
 * Runs COMMAND with this process's standard input and output, waits for
 * it, and writes "WALL CPU MAXRSS_KB STATUS" (wall-clock seconds, user plus
 * system CPU seconds, the child's peak resident set from wait4(2), its
 * exit status) to STATSFILE. CPU time is what a bench on a shared machine
 * can trust; wall time is what a user waits. Exits with the command's status. For benches where
 * /usr/bin/time may be missing.
 */
#define _DEFAULT_SOURCE /* wait4 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "banned.h"

int main(int argc, char **argv)
{
	struct timespec a, b;
	struct rusage ru;
	FILE *f;
	pid_t pid;
	int status = 0, code;

	if (argc < 3) {
		fprintf(stderr, "usage: rusage STATSFILE COMMAND [ARG...]\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	pid = fork();
	if (pid < 0) {
		perror("rusage: fork");
		return 71;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "rusage: %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			perror("rusage: wait4");
			return 71;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	f = fopen(argv[1], "w");
	if (!f) {
		perror(argv[1]);
		return 74;
	}
	fprintf(f, "%.6f %.6f %ld %d\n",
		(double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9,
		(double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
			(double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6,
		ru.ru_maxrss, code);
	if (fclose(f) != 0)
		return 74;
	return code;
}
