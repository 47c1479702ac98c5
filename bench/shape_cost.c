/*
 * shape_cost.c - what the door's shape check (lib/shape.c) costs per body,
 * beside what the receiver already pays to know a body is JSON
 * (lib/jsonvalid.c), measured in the same run on the same bytes.
 *
 *   shape_cost PLATFORM FILE...
 *
 * For each file: ns per aur_shape_check and per aur_jsonvalid_check, the
 * median of 7 runs of enough calls to last ~50 ms each, and the check's
 * verdict. One line per file:
 *   shape_cost: FILE bytes=N shape_ns=X jsonvalid_ns=Y ratio=X/Y verdict=ok|422
 * Built by scripts/bench-door with lib/shape.c and lib/jsonvalid.c.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jsonvalid.h"
#include "shape.h"

#define RUNS 7

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
	if (n < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return NULL;
	}
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static volatile int sink;

/* ns per call of what (0 shape, 1 jsonvalid): the median of RUNS timed loops of n calls */
static double cost(int what, const char *platform, const char *body, size_t len, long n)
{
	double t[RUNS];
	char why[512];

	for (int r = 0; r < RUNS; r++) {
		double t0 = now_ns();

		for (long i = 0; i < n; i++)
			sink += what ? aur_jsonvalid_check(body, len) : aur_shape_check(platform, body, len, why, sizeof(why));
		t[r] = (now_ns() - t0) / (double)n;
	}
	qsort(t, RUNS, sizeof(t[0]), cmp);
	return t[RUNS / 2];
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fputs("usage: shape_cost PLATFORM FILE...\n", stderr);
		return 2;
	}
	for (int k = 2; k < argc; k++) {
		size_t len;
		char *body = read_file(argv[k], &len);
		char why[512] = "";
		double once, shape, valid;
		long n = 1;
		int verdict;

		if (!body) {
			fprintf(stderr, "shape_cost: %s: cannot read\n", argv[k]);
			return 1;
		}
		/* calls per timed loop: about 50 ms of the slower of the two */
		once = cost(1, argv[1], body, len, 1000);
		n = (long)(50e6 / (once > 1 ? once : 1));
		if (n < 100)
			n = 100;
		shape = cost(0, argv[1], body, len, n);
		valid = cost(1, argv[1], body, len, n);
		verdict = aur_shape_check(argv[1], body, len, why, sizeof(why));
		printf("shape_cost: %s bytes=%zu shape_ns=%.0f jsonvalid_ns=%.0f ratio=%.3f verdict=%s\n", argv[k], len,
		       shape, valid, shape / valid, verdict ? "422" : "ok");
		free(body);
	}
	return 0;
}
