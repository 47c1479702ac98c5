/*
 * listen.h - how aurora-recv was launched, and the socket it was handed.
 *
 * Detection order (see shared SOCKET-ACTIVATION.md):
 *   1. LISTEN_PID == getpid() and LISTEN_FDS >= 1: systemd. fd 3 is either
 *      a listening socket (Accept=no) or one connection (Accept=yes).
 *      The LISTEN_* variables are unset so children do not inherit them.
 *   2. fd 0 is a socket: listening means an fd-holding launcher
 *      (s6-tcpserverd style, inetd "wait"); connected means inetd,
 *      tcpserver or StandardInput=socket.
 *   3. Otherwise a --listen ADDR:PORT given by the caller, bound here.
 */
#ifndef AURORA_LISTEN_H
#define AURORA_LISTEN_H

#include <stddef.h>

enum aur_listen_mode {
	AUR_LISTEN_NONE = 0,         /* nothing handed over and no --listen */
	AUR_LISTEN_SYSTEMD_LISTENER, /* Accept=no: listening socket on fd 3 */
	AUR_LISTEN_SYSTEMD_CONN,     /* Accept=yes: connection on fd 3 */
	AUR_LISTEN_STDIN_LISTENER,   /* listening socket on fd 0 */
	AUR_LISTEN_STDIN_CONN,       /* inetd / tcpserver: connection on fd 0 */
	AUR_LISTEN_BOUND             /* --listen: a socket bound here */
};

struct aur_listen {
	enum aur_listen_mode mode;
	int fd;                /* the listening socket or the connection */
	int fd2_is_client;     /* fd 2 is the client socket: never log there */
	char remote[64];       /* peer "ip" for one-connection modes, else "" */
	char local[64];        /* "ip:port" this end listens or answers on */
};

/*
 * A connection handed over (systemd accept=yes, inetd): only l->fd may keep
 * the client socket open, so fds 0 and 1 that are copies of it point at
 * /dev/null from here on, and fd 2 when l->fd2_is_client (choose another
 * log sink first).
 */
void aur_listen_isolate(const struct aur_listen *l);

/* Human name of a mode, for logs ("systemd accept=no", "inetd", ...). */
const char *aur_listen_mode_name(enum aur_listen_mode mode);

/*
 * Detect what the launcher handed over; with nothing handed over and
 * listen_arg non-NULL ("ADDR:PORT", "[V6]:PORT", port 0 for any), bind and
 * listen (backlog 1024) there. Returns 0 with l filled; -EINVAL with err set
 * for a bad LISTEN_FDS or ADDR:PORT; -ENOENT when nothing was handed over
 * and listen_arg is NULL; -errno when bind or listen fails. On success err
 * may still hold a warning (several systemd sockets: only fd 3 is served).
 */
int aur_listen_detect(struct aur_listen *l, const char *listen_arg, char *err, size_t errlen);

/*
 * Is the local address of fd (a listening socket or a connection) on the
 * loopback interface: 127.0.0.0/8, ::1, ::ffff:127.0.0.0/104, or a Unix
 * socket? 1 or 0; -errno when the socket cannot say. 0.0.0.0 and :: are
 * not loopback: they listen on every interface.
 */
int aur_listen_is_loopback(int fd);

/* The port a listening socket is bound to (for --listen with port 0); -1 on error. */
int aur_listen_port(int fd);

#endif
