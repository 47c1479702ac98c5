/*
 * slow_clients - slowloris against a receiver: many connections that never
 * finish their request.
 *
 *   slow_clients -p PORT [-n CONNS] [-a ADDRESSES] [-i INTERVAL_S]
 *                [-r RECONNECT_S] [-d SECONDS] [-m head|body] [-t TOKEN]
 *
 * Keeps CONNS (default 2000) connections to 127.0.0.1:PORT, spread over
 * ADDRESSES (default 200) source addresses 127.0.1.1, 127.0.1.2, ... (the
 * whole of 127/8 is loopback on Linux), as a slow client spread over many
 * hosts does. Each sends the start of a webhook request - the request line
 * and Host (head mode, the default) or a whole head announcing a 100-byte
 * body (body mode, with ?token=TOKEN) - then one byte every INTERVAL_S
 * seconds (default 2: issue 8's client), never finishing. A connection the
 * server closes comes back RECONNECT_S seconds later (default 1), as a
 * persistent attacker's would. Prints "slow_clients: opened" once every
 * connection was opened at least once, and at the end (after SECONDS, default
 * 30, or at SIGTERM) a "slow_clients: result ..." line: connections opened,
 * closed by the server, open on average (sampled every 100 ms) and at the
 * end. Exits 0, 1 when it could not open a single connection, 2 on misuse.
 *
 * Built by scripts/bench-slow with cc -O2; not part of aurora.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 20000

struct slot {
	int fd;
	int connecting;
	double next;  /* next byte, or next reconnect when fd < 0 */
	size_t sent;  /* of the request's start */
};

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void)
{
	fprintf(stderr, "usage: slow_clients -p PORT [-n CONNS] [-a ADDRESSES] [-i INTERVAL_S] [-r RECONNECT_S] "
			"[-d SECONDS] [-m head|body] [-t TOKEN]\n");
	exit(2);
}

static double num(const char *s, double lo, double hi)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end != '\0' || !(v >= lo && v <= hi))
		usage();
	return v;
}

/* A non-blocking connect from 127.0.1.(n % addresses + 1); -1 when it fails at once. */
static int dial(int port, int n, int addresses, int *connecting)
{
	struct sockaddr_in src, dst;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;

	if (fd < 0)
		return -1;
	memset(&src, 0, sizeof src);
	src.sin_family = AF_INET;
	src.sin_addr.s_addr = htonl((127u << 24) | (1u << 8) | (unsigned)(n % addresses + 1));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&dst, 0, sizeof dst);
	dst.sin_family = AF_INET;
	dst.sin_port = htons((unsigned short)port);
	dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0 ||
	    (connect(fd, (struct sockaddr *)&dst, sizeof dst) < 0 && errno != EINPROGRESS)) {
		close(fd);
		return -1;
	}
	*connecting = 1;
	return fd;
}

int main(int argc, char **argv)
{
	int port = 0, n = 2000, addresses = 200, c;
	double interval = 2, reconnect = 1, duration = 30;
	const char *mode = "head", *token = "";
	char start[1024];
	size_t start_len;
	struct slot *slots;
	struct pollfd *pfd;
	int *idx;
	long long opened = 0, closed = 0, samples = 0, open_sum = 0;
	int ever_open = 0, announced = 0;
	double t0, end, next_sample;

	while ((c = getopt(argc, argv, "p:n:a:i:r:d:m:t:")) != -1) {
		switch (c) {
		case 'p': port = (int)num(optarg, 1, 65535); break;
		case 'n': n = (int)num(optarg, 1, MAX_CONNS); break;
		case 'a': addresses = (int)num(optarg, 1, 254); break;
		case 'i': interval = num(optarg, 0.01, 3600); break;
		case 'r': reconnect = num(optarg, 0, 3600); break;
		case 'd': duration = num(optarg, 0.1, 86400); break;
		case 'm': mode = optarg; break;
		case 't': token = optarg; break;
		default: usage();
		}
	}
	if (!port || (strcmp(mode, "head") && strcmp(mode, "body")))
		usage();
	if (!strcmp(mode, "head"))
		start_len = (size_t)snprintf(start, sizeof start, "POST /api/webhooks/grafana HTTP/1.1\r\nHost: t\r\n");
	else
		start_len = (size_t)snprintf(start, sizeof start,
					     "POST /api/webhooks/grafana?token=%s HTTP/1.1\r\nHost: t\r\n"
					     "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n", token);
	if (start_len >= sizeof start)
		usage();
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	slots = calloc((size_t)n, sizeof *slots);
	pfd = calloc((size_t)n, sizeof *pfd);
	idx = calloc((size_t)n, sizeof *idx);
	if (!slots || !pfd || !idx)
		return 1;
	t0 = now_s();
	end = t0 + duration;
	next_sample = t0 + 0.1;
	/* open them over the first second, not all in one burst against the backlog */
	for (int i = 0; i < n; i++) {
		slots[i].fd = -1;
		slots[i].next = t0 + (double)i / n;
	}
	while (!stop && now_s() < end) {
		double now = now_s(), wake = end;
		int np = 0, open_now = 0;

		for (int i = 0; i < n; i++) {
			struct slot *s = &slots[i];

			if (s->fd < 0 && s->next <= now) {
				s->fd = dial(port, i, addresses, &s->connecting);
				s->sent = 0;
				if (s->fd < 0) {
					s->next = now + reconnect;
					continue;
				}
				opened++;
			}
			if (s->fd < 0) {
				if (s->next < wake)
					wake = s->next;
				continue;
			}
			open_now++;
			if (!s->connecting && s->next <= now) {
				/* the start once, then a byte at a time */
				const char *p = s->sent < start_len ? start + s->sent : "x";
				size_t len = s->sent < start_len ? start_len - s->sent : 1;
				ssize_t w = send(s->fd, p, len, MSG_DONTWAIT);

				if (w > 0)
					s->sent += (size_t)w;
				s->next = now + (s->sent < start_len ? 0.01 : interval);
			}
			if (!s->connecting && s->next < wake)
				wake = s->next;
			pfd[np].fd = s->fd;
			pfd[np].events = (short)(POLLIN | (s->connecting ? POLLOUT : 0));
			idx[np++] = i;
		}
		if (opened >= n && !announced) {
			ever_open = 1;
			announced = 1;
			printf("slow_clients: opened %d connections after %.1f s, %d open now\n", n, now - t0, open_now);
			fflush(stdout);
		}
		if (now >= next_sample) {
			samples++;
			open_sum += open_now;
			next_sample += 0.1;
		}
		if (next_sample < wake)
			wake = next_sample;
		{
			int ms = (int)((wake - now_s()) * 1000);

			poll(pfd, (nfds_t)np, ms > 0 ? ms : 0);
		}
		now = now_s();
		for (int k = 0; k < np; k++) {
			struct slot *s = &slots[idx[k]];
			char buf[4096];

			if (!pfd[k].revents)
				continue;
			if (s->connecting && (pfd[k].revents & POLLOUT) && !(pfd[k].revents & (POLLERR | POLLHUP))) {
				s->connecting = 0;
				s->next = now;
			}
			if (pfd[k].revents & (POLLIN | POLLERR | POLLHUP)) {
				ssize_t r = recv(s->fd, buf, sizeof buf, MSG_DONTWAIT);

				if (r > 0 || (r < 0 && (errno == EAGAIN || errno == EINTR)))
					continue;
				/* the server closed it (or refused it): back after the pause */
				close(s->fd);
				s->fd = -1;
				s->connecting = 0;
				s->next = now + reconnect;
				closed++;
			}
		}
	}
	{
		int open_end = 0;

		for (int i = 0; i < n; i++)
			open_end += slots[i].fd >= 0 && !slots[i].connecting;
		printf("slow_clients: result conns=%d opened=%lld closed_by_server=%lld open_avg=%.0f open_end=%d "
		       "all_opened=%d seconds=%.1f\n",
		       n, opened, closed, samples ? (double)open_sum / samples : 0.0, open_end, ever_open,
		       now_s() - t0);
	}
	return opened > 0 ? 0 : 1;
}
