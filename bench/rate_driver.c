/*
 * rate_driver - an open-loop HTTP load driver for latency at a fixed rate.
 *
 * wrk 4.1 (Debian 12) only runs closed loops: it sends the next request when
 * the previous answer arrives, so a slow answer delays the requests behind it
 * and their latency is never measured (coordinated omission). This driver
 * schedules request k at t0 + k / RATE whatever happens, spreads the requests
 * over N keep-alive connections, and measures each latency from the request's
 * scheduled time to the end of its answer: time spent waiting for a free
 * connection counts.
 *
 *   rate_driver -p PORT [-a ADDR] [-u PATH] [-r RATE] [-d SECONDS] [-c CONNS]
 *               [-w WARMUP_SECONDS] [-H 'Name: value']... -b BODYFILE
 *
 * Every occurrence of the 12-character marker "@@@@SEQ@@@@@" in BODYFILE is
 * replaced by a 12-digit number unique to the request, so a receiver's
 * body-hash deduplication does not collapse the requests. Prints a human line
 * and a "rate_driver: result ..." line of key=value pairs; exits 0 when every
 * request got a 2xx answer, 1 otherwise, 2 on misuse.
 *
 * Before it reuses an idle connection it checks, as HTTP client libraries
 * do with their pools (curl's dead-connection check, Go's read loop), that
 * the server has not closed it meanwhile (a keep-alive timeout, a receiver
 * shedding idle connections), and opens a new one if it has: a request
 * written into a connection the server already closed is the client's
 * mistake, not a failed delivery. Such reopenings are counted (reopened=).
 *
 * SIGUSR1 ends the run early: nothing more is sent, the answers in flight
 * are awaited, and the figures cover what was sent (scripts/bench-prune
 * measures for exactly as long as a prune runs).
 *
 * Built by scripts/bench with cc -O2; not part of aurora.
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

#define MARKER "@@@@SEQ@@@@@"
#define MARKER_LEN 12
#define MAX_CONNS 1024
#define MAX_HEADERS 16
#define IN_MAX 65536

struct conn {
	int fd;
	int busy;
	double sched;      /* scheduled send time of the request in flight */
	char *out;         /* the request being written */
	size_t out_len, out_off;
	char in[IN_MAX];
	size_t in_len;
};

struct opts {
	const char *addr, *path, *bodyfile;
	int port, conns;
	double rate, duration, warmup;
	const char *headers[MAX_HEADERS];
	int nheaders;
};

static volatile sig_atomic_t stop_early;

static void on_usr1(int sig)
{
	(void)sig;
	stop_early = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void)
{
	fprintf(stderr, "usage: rate_driver -p PORT [-a ADDR] [-u PATH] [-r RATE] [-d SECONDS] "
			"[-c CONNS] [-w WARMUP] [-H 'Name: value']... -b BODYFILE\n");
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

static int dial(const struct opts *o)
{
	struct sockaddr_in sa;
	int fd, one = 1;

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)o->port);
	if (inet_pton(AF_INET, o->addr, &sa.sin_addr) != 1)
		return -1;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

/* 1 when the server closed (or reset) an idle connection: it has nothing to say between answers. */
static int closed_while_idle(int fd)
{
	struct pollfd p = { fd, POLLIN | POLLRDHUP, 0 };
	char c;

	if (poll(&p, 1, 0) <= 0)
		return 0;
	if (p.revents & (POLLRDHUP | POLLHUP | POLLERR))
		return 1;
	return recv(fd, &c, 1, MSG_PEEK) <= 0;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0)
		goto out;
	buf = malloc((size_t)n + 1);
	if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[n] = '\0';
	*len = (size_t)n;
out:
	if (f != NULL)
		fclose(f);
	return buf;
}

/* The full request text for sequence number seq; caller frees. */
static char *build_request(const struct opts *o, const char *body, size_t body_len,
			   long long seq, size_t *len)
{
	size_t cap = body_len + 4096, n = 0;
	char *req = malloc(cap), *b, *p;
	char digits[MARKER_LEN + 1];
	int i, w;

	if (req == NULL)
		return NULL;
	w = snprintf(req, cap, "POST %s HTTP/1.1\r\nHost: %s:%d\r\n"
		     "Content-Type: application/json\r\nContent-Length: %zu\r\n",
		     o->path, o->addr, o->port, body_len);
	n = (size_t)w;
	for (i = 0; i < o->nheaders; i++) {
		w = snprintf(req + n, cap - n, "%s\r\n", o->headers[i]);
		if (w < 0 || (size_t)w >= cap - n)
			goto fail;
		n += (size_t)w;
	}
	if (n + 2 + body_len >= cap)
		goto fail;
	memcpy(req + n, "\r\n", 2);
	n += 2;
	b = req + n;
	memcpy(b, body, body_len);
	n += body_len;
	snprintf(digits, sizeof digits, "%012llu", (unsigned long long)seq % 1000000000000ULL);
	p = b;
	while ((p = memmem(p, body_len - (size_t)(p - b), MARKER, MARKER_LEN)) != NULL) {
		memcpy(p, digits, MARKER_LEN);
		p += MARKER_LEN;
	}
	*len = n;
	return req;
fail:
	free(req);
	return NULL;
}

/*
 * Whether c->in holds a complete answer: 1 and *status set, 0 when more is
 * needed, -1 when it cannot be parsed. *close_after is set when the server
 * says Connection: close.
 */
static int parse_answer(struct conn *c, int *status, int *close_after, size_t *used)
{
	char *eoh, *p;
	long clen = 0;
	size_t hlen;

	c->in[c->in_len] = '\0';
	eoh = strstr(c->in, "\r\n\r\n");
	if (eoh == NULL)
		return c->in_len >= IN_MAX - 1 ? -1 : 0;
	hlen = (size_t)(eoh + 4 - c->in);
	if (strncmp(c->in, "HTTP/1.", 7) != 0 || c->in_len < 12)
		return -1;
	*status = (int)strtol(c->in + 9, NULL, 10);
	*close_after = 0;
	for (p = strchr(c->in, '\n'); p != NULL && p < eoh; p = strchr(p, '\n')) {
		p++;
		if (strncasecmp(p, "content-length:", 15) == 0)
			clen = strtol(p + 15, NULL, 10);
		else if (strncasecmp(p, "connection:", 11) == 0 && strncasecmp(p + 11, " close", 6) == 0)
			*close_after = 1;
	}
	if (c->in_len < hlen + (size_t)clen)
		return 0;
	*used = hlen + (size_t)clen;
	return 1;
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

int main(int argc, char **argv)
{
	static struct conn conns[MAX_CONNS];
	struct pollfd pfd[MAX_CONNS];
	struct opts o = { "127.0.0.1", "/", NULL, 0, 32, 1000, 10, 1, { NULL }, 0 };
	char *body;
	size_t body_len;
	long long total, issued = 0, done = 0, ok = 0, other = 0, errors = 0, reopened = 0, seq_base;
	double *lat, t0, deadline, end_send;
	size_t nlat = 0;
	int ch, i;

	while ((ch = getopt(argc, argv, "a:p:u:r:d:c:w:H:b:")) != -1) {
		switch (ch) {
		case 'a': o.addr = optarg; break;
		case 'p': o.port = (int)num(optarg, 1, 65535); break;
		case 'u': o.path = optarg; break;
		case 'r': o.rate = num(optarg, 1, 1e6); break;
		case 'd': o.duration = num(optarg, 0.1, 3600); break;
		case 'c': o.conns = (int)num(optarg, 1, MAX_CONNS); break;
		case 'w': o.warmup = num(optarg, 0, 3600); break;
		case 'H':
			if (o.nheaders == MAX_HEADERS)
				usage();
			o.headers[o.nheaders++] = optarg;
			break;
		case 'b': o.bodyfile = optarg; break;
		default: usage();
		}
	}
	if (optind != argc || o.port == 0 || o.bodyfile == NULL)
		usage();
	body = read_file(o.bodyfile, &body_len);
	if (body == NULL) {
		fprintf(stderr, "rate_driver: %s: cannot read\n", o.bodyfile);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGUSR1, on_usr1);
	total = (long long)((o.warmup + o.duration) * o.rate);
	lat = calloc((size_t)total + 1, sizeof *lat);
	if (lat == NULL)
		return 1;
	seq_base = ((long long)getpid() % 10000) * 100000000LL + (long long)time(NULL) % 100000000LL;
	for (i = 0; i < o.conns; i++) {
		conns[i].fd = dial(&o);
		if (conns[i].fd < 0) {
			perror("rate_driver: connect");
			return 1;
		}
	}
	t0 = now_s() + 0.05;
	end_send = t0 + (double)total / o.rate;
	deadline = end_send + 10;
	while (done < total && now_s() < deadline) {
		double now = now_s(), wait;
		long long due = (long long)floor((now - t0) * o.rate) + 1;
		struct timespec ts;
		int n;

		if (stop_early && issued < total) {
			total = issued;
			o.duration = now - t0 - o.warmup > 0 ? now - t0 - o.warmup : 0;
		}
		if (now < t0)
			due = 0;
		if (due > total)
			due = total;
		for (i = 0; i < o.conns && issued < due; i++) {
			struct conn *c = &conns[i];

			if (c->busy || c->fd < 0)
				continue;
			if (closed_while_idle(c->fd)) {
				close(c->fd);
				c->fd = dial(&o);
				reopened++;
				if (c->fd < 0)
					continue;
			}
			c->out = build_request(&o, body, body_len, seq_base + issued, &c->out_len);
			if (c->out == NULL) {
				fprintf(stderr, "rate_driver: request too large\n");
				return 1;
			}
			c->out_off = 0;
			c->in_len = 0;
			c->sched = t0 + (double)issued / o.rate;
			c->busy = 1;
			issued++;
		}
		for (i = 0; i < o.conns; i++) {
			struct conn *c = &conns[i];

			pfd[i].fd = c->fd;
			pfd[i].events = 0;
			pfd[i].revents = 0;
			if (c->busy)
				pfd[i].events = c->out_off < c->out_len ? POLLOUT : POLLIN;
		}
		if (issued < total && issued >= due)
			wait = t0 + (double)issued / o.rate - now;
		else
			wait = 0.005;
		if (wait < 0)
			wait = 0;
		ts.tv_sec = (time_t)wait;
		ts.tv_nsec = (long)((wait - (double)ts.tv_sec) * 1e9);
		n = ppoll(pfd, (nfds_t)o.conns, &ts, NULL);
		if (n < 0 && errno != EINTR) {
			perror("rate_driver: poll");
			return 1;
		}
		for (i = 0; n > 0 && i < o.conns; i++) {
			struct conn *c = &conns[i];
			int status = 0, close_after = 0, r;
			size_t used = 0;
			ssize_t k;

			if (pfd[i].revents == 0)
				continue;
			if (c->out_off < c->out_len) {
				k = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
				if (k < 0 && (errno == EAGAIN || errno == EINTR))
					continue;
				if (k <= 0)
					goto failed;
				c->out_off += (size_t)k;
				continue;
			}
			k = read(c->fd, c->in + c->in_len, IN_MAX - 1 - c->in_len);
			if (k < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (k <= 0)
				goto failed;
			c->in_len += (size_t)k;
			r = parse_answer(c, &status, &close_after, &used);
			if (r == 0)
				continue;
			if (r < 0)
				goto failed;
			done++;
			if (status >= 200 && status < 300)
				ok++;
			else
				other++;
			if (c->sched >= t0 + o.warmup)
				lat[nlat++] = now_s() - c->sched;
			c->busy = 0;
			free(c->out);
			c->out = NULL;
			if (close_after) {
				close(c->fd);
				c->fd = dial(&o);
			}
			continue;
failed:
			done++;
			errors++;
			c->busy = 0;
			free(c->out);
			c->out = NULL;
			close(c->fd);
			c->fd = dial(&o);
		}
	}
	{
		double elapsed = now_s() - t0;

		qsort(lat, nlat, sizeof *lat, cmp_double);
		printf("rate_driver: %.0f/s target over %d connections for %.1f s (+%.1f s warm-up): "
		       "%lld sent, %lld 2xx, %lld other, %lld failed, %lld unanswered\n",
		       o.rate, o.conns, o.duration, o.warmup, issued, ok, other, errors, total - done);
		printf("rate_driver: latency from scheduled send, ms: p50 %.2f  p90 %.2f  p99 %.2f  "
		       "p99.9 %.2f  max %.2f\n",
		       pct(lat, nlat, 50) * 1e3, pct(lat, nlat, 90) * 1e3, pct(lat, nlat, 99) * 1e3,
		       pct(lat, nlat, 99.9) * 1e3, nlat ? lat[nlat - 1] * 1e3 : NAN);
		printf("rate_driver: result rate=%.2f ok=%lld other=%lld failed=%lld unanswered=%lld "
		       "p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f reopened=%lld\n",
		       (double)done / elapsed, ok, other, errors, total - done,
		       pct(lat, nlat, 50) * 1e3, pct(lat, nlat, 90) * 1e3, pct(lat, nlat, 99) * 1e3,
		       pct(lat, nlat, 99.9) * 1e3, nlat ? lat[nlat - 1] * 1e3 : NAN, reopened);
	}
	free(lat);
	free(body);
	return (ok == total) ? 0 : 1;
}
