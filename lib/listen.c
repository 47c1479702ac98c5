#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "listen.h"
#include "banned.h"

#define SD_LISTEN_FDS_START 3

const char *aur_listen_mode_name(enum aur_listen_mode mode)
{
	switch (mode) {
	case AUR_LISTEN_SYSTEMD_LISTENER:
		return "systemd accept=no";
	case AUR_LISTEN_SYSTEMD_CONN:
		return "systemd accept=yes";
	case AUR_LISTEN_STDIN_LISTENER:
		return "listening socket on stdin";
	case AUR_LISTEN_STDIN_CONN:
		return "inetd";
	case AUR_LISTEN_BOUND:
		return "listen";
	case AUR_LISTEN_NONE:
		break;
	}
	return "none";
}

static int is_stream_socket(int fd, int *listening)
{
	struct stat st;
	int type = 0;
	int acc = 0;
	socklen_t len = sizeof(type);

	if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode))
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_STREAM)
		return 0;
	len = sizeof(acc);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) < 0)
		acc = 0;
	*listening = acc != 0;
	return 1;
}

static int same_file(int a, int b)
{
	struct stat sa;
	struct stat sb;

	if (fstat(a, &sa) < 0 || fstat(b, &sb) < 0)
		return 0;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static void sockname(int fd, char *out, size_t outlen, int peer)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN];
	char port[16];
	int rc;

	out[0] = '\0';
	rc = peer ? getpeername(fd, (struct sockaddr *)&ss, &len)
		  : getsockname(fd, (struct sockaddr *)&ss, &len);
	if (rc < 0)
		return;
	if (getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), port, sizeof(port),
			NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		return;
	if (peer)
		snprintf(out, outlen, "%s", host);
	else if (ss.ss_family == AF_INET6)
		snprintf(out, outlen, "[%s]:%s", host, port);
	else
		snprintf(out, outlen, "%s:%s", host, port);
}

/*
 * The peer of a one-connection mode, as text: TCPREMOTEIP, then
 * REMOTE_ADDR, then getpeername(fd). Writes "" when none is known.
 */
static void peer_text(int fd, char *out, size_t outlen)
{
	const char *env = getenv("TCPREMOTEIP");

	if (!env || !*env)
		env = getenv("REMOTE_ADDR");
	/* only digits, dots, colons and hex: the launcher's text is not trusted */
	if (env && *env && strspn(env, "0123456789abcdefABCDEF.:") == strlen(env)) {
		snprintf(out, outlen, "%s", env);
		return;
	}
	sockname(fd, out, outlen, 1);
}

int aur_listen_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -1;
}

int aur_listen_is_loopback(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	if (ss.ss_family == AF_UNIX)
		return 1;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;

		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss.ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)&ss)->sin6_addr;

		if (IN6_IS_ADDR_LOOPBACK(a))
			return 1;
		return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
	}
	return 0;
}

static int from_systemd(struct aur_listen *l, char *err, size_t errlen)
{
	const char *pid_s = getenv("LISTEN_PID");
	const char *fds_s = getenv("LISTEN_FDS");
	char *end = NULL;
	long pid;
	long n;
	int listening = 0;

	if (!pid_s || !fds_s)
		return 0;
	errno = 0;
	pid = strtol(pid_s, &end, 10);
	if (errno || end == pid_s || *end || pid != (long)getpid())
		return 0;
	errno = 0;
	n = strtol(fds_s, &end, 10);
	if (errno || end == fds_s || *end || n <= 0 || n > 1024) {
		snprintf(err, errlen, "LISTEN_FDS=%s is not a positive count", fds_s);
		return -EINVAL;
	}
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	unsetenv("LISTEN_PIDFDID");
	for (long i = 0; i < n; i++)
		fcntl(SD_LISTEN_FDS_START + (int)i, F_SETFD, FD_CLOEXEC);
	if (!is_stream_socket(SD_LISTEN_FDS_START, &listening)) {
		snprintf(err, errlen, "systemd passed fd 3, but it is not a stream socket");
		return -EINVAL;
	}
	if (n > 1)
		snprintf(err, errlen, "systemd passed %ld sockets; serving fd 3 only", n);
	l->fd = SD_LISTEN_FDS_START;
	l->mode = listening ? AUR_LISTEN_SYSTEMD_LISTENER : AUR_LISTEN_SYSTEMD_CONN;
	return 1;
}

static int bind_listen(struct aur_listen *l, const char *spec, char *err, size_t errlen)
{
	const char *arg = spec;
	struct addrinfo hints;
	struct addrinfo *res = NULL;
	char host[256];
	const char *colon;
	const char *port;
	size_t hostlen;
	int one = 1;
	int fd = -1;
	int rc;

	if (arg[0] == '[') {
		const char *close = strchr(arg, ']');

		if (!close || close[1] != ':') {
			snprintf(err, errlen, "--listen %s: expected [ADDRESS]:PORT", arg);
			return -EINVAL;
		}
		hostlen = (size_t)(close - arg - 1);
		colon = close + 1;
		arg++;
	} else {
		colon = strrchr(arg, ':');
		if (!colon) {
			snprintf(err, errlen, "--listen %s: expected ADDRESS:PORT", arg);
			return -EINVAL;
		}
		hostlen = (size_t)(colon - arg);
	}
	port = colon + 1;
	if (hostlen >= sizeof(host) || !*port || strspn(port, "0123456789") != strlen(port)) {
		snprintf(err, errlen, "--listen: bad address or port in '%s'", arg);
		return -EINVAL;
	}
	memcpy(host, arg, hostlen);
	host[hostlen] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(hostlen ? host : NULL, port, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "--listen %s: %s", arg, gai_strerror(rc));
		return -EINVAL;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 1024) < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot listen on %s: %s", spec, strerror(errno));
		goto out;
	}
	l->fd = fd;
	l->mode = AUR_LISTEN_BOUND;
	fd = -1;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(res);
	return rc;
}

int aur_listen_detect(struct aur_listen *l, const char *listen_arg, char *err, size_t errlen)
{
	int listening = 0;
	int rc;

	memset(l, 0, sizeof(*l));
	l->fd = -1;
	err[0] = '\0';
	rc = from_systemd(l, err, errlen);
	if (rc < 0)
		return rc;
	if (rc == 0 && is_stream_socket(0, &listening)) {
		l->fd = 0;
		l->mode = listening ? AUR_LISTEN_STDIN_LISTENER : AUR_LISTEN_STDIN_CONN;
	}
	if (l->mode == AUR_LISTEN_NONE) {
		if (!listen_arg) {
			snprintf(err, errlen, "no socket was handed over (systemd, inetd, tcpserver)"
					      " and no --listen ADDRESS:PORT was given");
			return -ENOENT;
		}
		rc = bind_listen(l, listen_arg, err, errlen);
		if (rc < 0)
			return rc;
	}
	if (l->mode == AUR_LISTEN_SYSTEMD_CONN || l->mode == AUR_LISTEN_STDIN_CONN)
		peer_text(l->fd, l->remote, sizeof(l->remote));
	sockname(l->fd, l->local, sizeof(l->local), 0);
	l->fd2_is_client = same_file(2, l->fd);
	return 0;
}

/* Point fd at /dev/null: the launcher's copies of the client socket must not keep it open. */
static void to_dev_null(int fd)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (null < 0)
		return;
	if (null != fd) {
		dup2(null, fd);
		close(null);
	}
}

void aur_listen_isolate(const struct aur_listen *l)
{
	if (l->fd != 0 && same_file(0, l->fd))
		to_dev_null(0);
	if (l->fd != 1 && same_file(1, l->fd))
		to_dev_null(1);
	if (l->fd2_is_client)
		to_dev_null(2);
}
