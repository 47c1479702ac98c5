/*
 * trivial_server - the baseline for aurora-recv's accept-loop figure: one
 * process, one accept loop, no threads. For each connection it reads the
 * request headers and the Content-Length body, writes a fixed 202 answer
 * from memory and closes. No storage, no parsing beyond Content-Length.
 *
 *   trivial_server ADDR PORT [PORTFILE]
 *
 * PORT 0 binds any free port; PORTFILE then receives the bound port.
 * Built by scripts/bench with cc -O2; not part of aurora.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define HDR_MAX 16384

static const char answer[] =
	"HTTP/1.1 202 Accepted\r\n"
	"Content-Type: application/json\r\n"
	"Content-Length: 25\r\n"
	"Connection: close\r\n"
	"\r\n"
	"{\"accepted\":true,\"id\":1}\n";

/* Content-Length of the header block hdr (NUL-terminated), 0 when absent. */
static long content_length(const char *hdr)
{
	const char *p = hdr;

	while ((p = strchr(p, '\n')) != NULL) {
		p++;
		if (strncasecmp(p, "content-length:", 15) == 0) {
			char *end;
			long n = strtol(p + 15, &end, 10);
			return n < 0 ? 0 : n;
		}
	}
	return 0;
}

/* Read one request from fd; 0 when complete, -1 on error or early EOF. */
static int read_request(int fd)
{
	char buf[HDR_MAX + 1];
	size_t len = 0;
	char *eoh = NULL;
	long body, have;

	while (eoh == NULL) {
		ssize_t n;

		if (len == HDR_MAX)
			return -1;
		n = read(fd, buf + len, HDR_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		len += (size_t)n;
		buf[len] = '\0';
		eoh = strstr(buf, "\r\n\r\n");
	}
	body = content_length(buf);
	have = (long)(len - (size_t)(eoh + 4 - buf));
	while (have < body) {
		ssize_t n = read(fd, buf, sizeof buf - 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		have += n;
	}
	return 0;
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa;
	socklen_t salen = sizeof sa;
	struct timeval tv = { 10, 0 };
	int one = 1, lfd;
	char *end;
	long port;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: trivial_server ADDR PORT [PORTFILE]\n");
		return 2;
	}
	port = strtol(argv[2], &end, 10);
	if (*end != '\0' || port < 0 || port > 65535) {
		fprintf(stderr, "trivial_server: bad port %s\n", argv[2]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
		fprintf(stderr, "trivial_server: bad address %s\n", argv[1]);
		return 2;
	}
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 1024) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &salen) < 0) {
		perror("trivial_server");
		return 1;
	}
	if (argc == 4) {
		FILE *f = fopen(argv[3], "w");

		if (f == NULL || fprintf(f, "%u\n", (unsigned)ntohs(sa.sin_port)) < 0 ||
		    fclose(f) != 0) {
			perror("trivial_server: port file");
			return 1;
		}
	}
	for (;;) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		if (read_request(fd) == 0)
			write_all(fd, answer, sizeof answer - 1);
		close(fd);
	}
}
