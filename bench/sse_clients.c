/*
 * sse_clients - many Server-Sent Events subscribers at once, and the time
 * each one receives an event after its commit.
 *
 *   sse_clients -p PORT [-a ADDR] -t TOKEN [-n SUBSCRIBERS] [-e EVENTS]
 *               [-i INTERVAL_MS] [-w WAIT_S]
 *
 * Opens SUBSCRIBERS connections to GET /api/incidents/stream (with
 * "Authorization: Bearer TOKEN"), waits until every one has its stream open
 * (the ": events after N" comment), then creates EVENTS incidents one at a
 * time, INTERVAL_MS apart, with POST /api/incidents on a connection of its
 * own. For each incident it notes when the POST was sent and when its 201
 * came back (the commit lies between the two), and for each subscriber when
 * the incident.created event with that incident's id arrived. Latency is
 * measured from the send of the POST, so it includes the POST's own time:
 * an upper bound of commit-to-receive. All of it runs in one thread with
 * poll(2), reading every socket as soon as it is readable, so a timestamp
 * is not delayed by another socket's work.
 *
 * Prints per-event lines, then "sse_clients: result ..." with key=value
 * pairs (p50_ms p99_ms max_ms missing dup post_p50_ms ...). Exits 0 when
 * every subscriber got every event exactly once, 1 otherwise, 2 on misuse.
 *
 * Built by scripts/bench-sse with cc -O2; not part of aurora.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SUBS 4000
#define MAX_EVENTS 10000
#define LINE_MAX_ 65536

struct sub {
	int fd;
	int open;          /* the response headers and the opening comment came */
	int in_body;       /* past the response headers */
	long chunk_left;   /* bytes left in the current chunk; -1: reading a size line */
	char size_line[32];
	size_t size_len;
	int skip_crlf;     /* the CRLF after a chunk's data */
	char line[LINE_MAX_];
	size_t line_len;
	char head[8192];
	size_t head_len;
	int gone;
	/* every incident.created seen: its incident and when (matched to the POSTs at the end) */
	long long *seen_incident;
	double *seen_at;
	size_t nseen, seen_cap;
};

struct event {
	long long incident;
	double sent;       /* POST written */
	double answered;   /* 201 read */
};

static struct sub subs[MAX_SUBS];
static struct event events[MAX_EVENTS];
static double *recv_at; /* [sub * nevents + event]: 0 none, -1 twice, else when */
static int nsubs = 200, nevents = 20, posted;
static const char *addr = "127.0.0.1", *token;
static int port;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void)
{
	fprintf(stderr, "usage: sse_clients -p PORT [-a ADDR] -t TOKEN [-n SUBSCRIBERS] [-e EVENTS] "
			"[-i INTERVAL_MS] [-w WAIT_S]\n");
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

static int dial(void)
{
	struct sockaddr_in sa;
	int fd, one = 1;

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		return -1;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* One complete line of a subscriber's stream. */
static void on_line(int s, const char *line, double t)
{
	struct sub *c = &subs[s];
	const char *p;

	if (!strncmp(line, ": events after", 14)) {
		subs[s].open = 1;
		return;
	}
	if (strncmp(line, "data: ", 6) != 0 || !strstr(line, "\"event\":\"incident.created\""))
		return;
	p = strstr(line, "\"incident_id\":");
	if (!p)
		return;
	/* the POST's answer may come after its event: match them at the end */
	if (c->nseen == c->seen_cap) {
		c->seen_cap = c->seen_cap ? 2 * c->seen_cap : 64;
		c->seen_incident = realloc(c->seen_incident, c->seen_cap * sizeof(*c->seen_incident));
		c->seen_at = realloc(c->seen_at, c->seen_cap * sizeof(*c->seen_at));
		if (!c->seen_incident || !c->seen_at)
			exit(1);
	}
	c->seen_incident[c->nseen] = strtoll(p + 14, NULL, 10);
	c->seen_at[c->nseen++] = t;
}

/* Fill recv_at from what each subscriber saw. */
static void match(void)
{
	for (int i = 0; i < nsubs; i++) {
		memset(recv_at + (size_t)i * (size_t)nevents, 0, (size_t)nevents * sizeof(*recv_at));
		for (size_t k = 0; k < subs[i].nseen; k++)
			for (int e = 0; e < posted; e++) {
				double *r = &recv_at[(size_t)i * (size_t)nevents + (size_t)e];

				if (events[e].incident != subs[i].seen_incident[k])
					continue;
				*r = *r != 0 ? -1 : subs[i].seen_at[k];
			}
	}
}

static void body_bytes(int s, const char *p, size_t n, double t)
{
	struct sub *c = &subs[s];

	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n') {
			c->line[c->line_len] = '\0';
			on_line(s, c->line, t);
			c->line_len = 0;
		} else if (c->line_len + 1 < sizeof(c->line)) {
			c->line[c->line_len++] = p[i];
		}
	}
}

/* Bytes from a subscriber's socket: headers, then the chunked body. */
static void feed(int s, const char *p, size_t n, double t)
{
	struct sub *c = &subs[s];

	while (n > 0) {
		if (!c->in_body) {
			char *eoh;

			if (c->head_len + 1 >= sizeof(c->head)) {
				c->gone = 1;
				return;
			}
			c->head[c->head_len++] = *p++;
			n--;
			c->head[c->head_len] = '\0';
			eoh = strstr(c->head, "\r\n\r\n");
			if (eoh) {
				if (strncmp(c->head, "HTTP/1.1 200", 12) != 0) {
					fprintf(stderr, "sse_clients: subscriber %d: %.*s\n", s,
						(int)strcspn(c->head, "\r"), c->head);
					c->gone = 1;
					return;
				}
				c->in_body = 1;
				c->chunk_left = -1;
			}
			continue;
		}
		if (c->skip_crlf) {
			if (*p == '\n')
				c->skip_crlf = 0;
			p++;
			n--;
			continue;
		}
		if (c->chunk_left < 0) {
			if (*p == '\n') {
				c->size_line[c->size_len] = '\0';
				c->chunk_left = strtol(c->size_line, NULL, 16);
				c->size_len = 0;
				if (c->chunk_left == 0) {
					c->gone = 1; /* the stream ended */
					return;
				}
			} else if (c->size_len + 1 < sizeof(c->size_line)) {
				c->size_line[c->size_len++] = *p;
			}
			p++;
			n--;
			continue;
		}
		{
			size_t take = n < (size_t)c->chunk_left ? n : (size_t)c->chunk_left;

			body_bytes(s, p, take, t);
			p += take;
			n -= take;
			c->chunk_left -= (long)take;
			if (c->chunk_left == 0) {
				c->chunk_left = -1;
				c->skip_crlf = 1;
			}
		}
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double pct(const double *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return NAN;
	i = (size_t)ceil(p / 100.0 * (double)n);
	if (i > 0)
		i--;
	if (i >= n)
		i = n - 1;
	return v[i];
}

/* The poster: one POST at a time on its own connection. */
struct poster {
	int fd;
	int busy;
	char in[4096];
	size_t in_len;
};

static int post_start(struct poster *ps, int k)
{
	char body[256], req[1024];
	int bl, rl;

	if (ps->fd < 0)
		ps->fd = dial();
	if (ps->fd < 0)
		return -1;
	bl = snprintf(body, sizeof body, "{\"source_type\":\"bench\",\"alert_title\":\"sse bench %d\","
		      "\"severity\":\"low\",\"alert_service\":\"bench-sse\"}", k);
	rl = snprintf(req, sizeof req, "POST /api/incidents HTTP/1.1\r\nHost: %s:%d\r\n"
		      "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
		      "Content-Length: %d\r\n\r\n%s", addr, port, token, bl, body);
	events[posted].incident = -1;
	events[posted].sent = now_s();
	if (write_all(ps->fd, req, (size_t)rl) < 0)
		return -1;
	ps->busy = 1;
	ps->in_len = 0;
	return 0;
}

/* Read the POST's answer; 1 when complete (the event is registered), 0 for more, -1 on error. */
static int post_read(struct poster *ps)
{
	ssize_t k = read(ps->fd, ps->in + ps->in_len, sizeof(ps->in) - 1 - ps->in_len);
	char *eoh, *p;
	long clen = 0;

	if (k <= 0)
		return -1;
	ps->in_len += (size_t)k;
	ps->in[ps->in_len] = '\0';
	eoh = strstr(ps->in, "\r\n\r\n");
	if (!eoh)
		return 0;
	p = strcasestr(ps->in, "\r\ncontent-length:");
	if (p && p < eoh)
		clen = strtol(p + 17, NULL, 10);
	if (ps->in_len < (size_t)(eoh + 4 - ps->in) + (size_t)clen)
		return 0;
	if (strncmp(ps->in, "HTTP/1.1 201", 12) != 0 || !(p = strstr(eoh, "\"id\":"))) {
		fprintf(stderr, "sse_clients: POST answered: %s\n", ps->in);
		return -1;
	}
	events[posted].incident = strtoll(p + 5, NULL, 10);
	events[posted].answered = now_s();
	posted++;
	ps->busy = 0;
	return 1;
}

int main(int argc, char **argv)
{
	static struct pollfd pfd[MAX_SUBS + 1];
	struct poster ps = { -1, 0, { 0 }, 0 };
	double interval = 0.2, wait_s = 10, t, next_post, deadline;
	char req[1024], buf[65536];
	int ch, opened = 0, rl, rc = 0;

	while ((ch = getopt(argc, argv, "a:p:t:n:e:i:w:")) != -1) {
		switch (ch) {
		case 'a': addr = optarg; break;
		case 'p': port = (int)num(optarg, 1, 65535); break;
		case 't': token = optarg; break;
		case 'n': nsubs = (int)num(optarg, 1, MAX_SUBS); break;
		case 'e': nevents = (int)num(optarg, 1, MAX_EVENTS); break;
		case 'i': interval = num(optarg, 0, 60000) / 1000; break;
		case 'w': wait_s = num(optarg, 1, 600); break;
		default: usage();
		}
	}
	if (optind != argc || port == 0 || token == NULL)
		usage();
	signal(SIGPIPE, SIG_IGN);
	recv_at = calloc((size_t)nsubs * (size_t)nevents, sizeof *recv_at);
	if (!recv_at)
		return 1;
	rl = snprintf(req, sizeof req, "GET /api/incidents/stream HTTP/1.1\r\nHost: %s:%d\r\n"
		      "Authorization: Bearer %s\r\nAccept: text/event-stream\r\n\r\n", addr, port, token);
	for (int i = 0; i < nsubs; i++) {
		subs[i].fd = dial();
		if (subs[i].fd < 0 || write_all(subs[i].fd, req, (size_t)rl) < 0) {
			fprintf(stderr, "sse_clients: subscriber %d: cannot connect: %s\n", i, strerror(errno));
			return 1;
		}
		fcntl(subs[i].fd, F_SETFL, fcntl(subs[i].fd, F_GETFL) | O_NONBLOCK);
	}
	t = now_s();
	deadline = t + wait_s;
	next_post = 0;
	for (;;) {
		int n, all_done = 1;

		t = now_s();
		if (!next_post) {
			opened = 0;
			for (int i = 0; i < nsubs; i++)
				opened += subs[i].open;
			if (opened == nsubs)
				next_post = t;
			else if (t > deadline) {
				fprintf(stderr, "sse_clients: only %d of %d streams opened\n", opened, nsubs);
				return 1;
			}
		}
		if (next_post && !ps.busy && posted < nevents && t >= next_post) {
			if (post_start(&ps, posted) < 0) {
				fprintf(stderr, "sse_clients: POST failed: %s\n", strerror(errno));
				return 1;
			}
			next_post = t + interval;
			deadline = t + wait_s;
		}
		if (posted == nevents) {
			match();
			for (int i = 0; i < nsubs && all_done; i++)
				for (int e = 0; e < nevents && all_done; e++)
					if (!subs[i].gone && recv_at[(size_t)i * (size_t)nevents + (size_t)e] == 0)
						all_done = 0;
			if (all_done || t > deadline)
				break;
		}
		for (int i = 0; i < nsubs; i++) {
			pfd[i].fd = subs[i].gone ? -1 : subs[i].fd;
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
		}
		pfd[nsubs].fd = ps.busy ? ps.fd : -1;
		pfd[nsubs].events = POLLIN;
		pfd[nsubs].revents = 0;
		n = poll(pfd, (nfds_t)nsubs + 1, 5);
		if (n < 0 && errno != EINTR)
			return 1;
		t = now_s();
		for (int i = 0; n > 0 && i < nsubs; i++) {
			ssize_t k;

			if (!pfd[i].revents)
				continue;
			k = read(subs[i].fd, buf, sizeof buf);
			if (k > 0)
				feed(i, buf, (size_t)k, t);
			else if (k == 0 || (errno != EAGAIN && errno != EINTR))
				subs[i].gone = 1;
		}
		if (pfd[nsubs].revents && post_read(&ps) < 0)
			return 1;
	}
	{
		double *lat = calloc((size_t)nsubs * (size_t)nevents + 1, sizeof *lat);
		double *post = calloc((size_t)nevents + 1, sizeof *post);
		double ev[MAX_SUBS];
		size_t nl = 0;
		long missing = 0, dup = 0;
		int gone = 0;

		if (!lat || !post)
			return 1;
		match();
		for (int i = 0; i < nsubs; i++)
			gone += subs[i].gone;
		for (int e = 0; e < posted; e++) {
			size_t ne = 0;

			post[e] = (events[e].answered - events[e].sent) * 1e3;
			for (int i = 0; i < nsubs; i++) {
				double r = recv_at[(size_t)i * (size_t)nevents + (size_t)e];

				if (r == 0)
					missing++;
				else if (r < 0)
					dup++;
				else
					ev[ne++] = lat[nl++] = (r - events[e].sent) * 1e3;
			}
			qsort(ev, ne, sizeof *ev, cmp_double);
			printf("sse_clients: event %d (incident %lld): POST %.2f ms; %zu of %d subscribers, "
			       "p50 %.2f  p99 %.2f  max %.2f ms after the POST was sent\n",
			       e + 1, events[e].incident, post[e], ne, nsubs, pct(ev, ne, 50), pct(ev, ne, 99),
			       ne ? ev[ne - 1] : NAN);
		}
		qsort(lat, nl, sizeof *lat, cmp_double);
		qsort(post, (size_t)posted, sizeof *post, cmp_double);
		printf("sse_clients: %d subscribers, %d events, %zu receipts, %ld missing, %ld twice, "
		       "%d streams closed early\n", nsubs, posted, nl, missing, dup, gone);
		printf("sse_clients: result subscribers=%d events=%d receipts=%zu missing=%ld dup=%ld "
		       "p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f post_p50_ms=%.3f post_max_ms=%.3f\n",
		       nsubs, posted, nl, missing, dup, pct(lat, nl, 50), pct(lat, nl, 90), pct(lat, nl, 99),
		       nl ? lat[nl - 1] : NAN, pct(post, (size_t)posted, 50),
		       posted ? post[posted - 1] : NAN);
		rc = (missing || dup || posted < nevents) ? 1 : 0;
		free(lat);
		free(post);
	}
	for (int i = 0; i < nsubs; i++) {
		close(subs[i].fd);
		free(subs[i].seen_incident);
		free(subs[i].seen_at);
	}
	if (ps.fd >= 0)
		close(ps.fd);
	free(recv_at);
	return rc;
}
