/*
 * trivial_inetd - the baseline for aurora-recv's inetd figure: run under the
 * same tcpserver, it reads one request (headers and Content-Length body)
 * from fd 0, writes a fixed 202 answer to fd 1 and exits. Nothing else: the
 * difference to aurora-recv under tcpserver is aurora's own per-connection
 * work (exec, database open, store, commit).
 *
 *   tcpserver -H -R 127.0.0.1 PORT trivial_inetd
 *
 * Built by scripts/bench with cc -O2; not part of aurora.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define HDR_MAX 16384

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
			char *end;
			long n = strtol(p + 15, &end, 10);
			return n < 0 ? 0 : n;
		}
	}
	return 0;
}

int main(void)
{
	char buf[HDR_MAX + 1];
	size_t len = 0, off = 0;
	char *eoh = NULL;
	long body, have;

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
	body = content_length(buf);
	have = (long)(len - (size_t)(eoh + 4 - buf));
	while (have < body) {
		ssize_t n = read(0, buf, sizeof buf - 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 1;
		have += n;
	}
	while (off < sizeof answer - 1) {
		ssize_t w = write(1, answer + off, sizeof answer - 1 - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return 1;
		off += (size_t)w;
	}
	return 0;
}
