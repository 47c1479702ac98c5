#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "db.h"
#include "follow.h"
#include "timeutil.h"
#include "banned.h"

#define WATCH_MASK (IN_MODIFY | IN_CLOSE_WRITE | IN_CREATE | IN_MOVED_TO)

/* Short waits after a write to the -wal that did not show a commit yet (ms). */
static const int settle_ms[] = { 1, 2, 4, 8, 16, 32, 64, 128, 256 };
#define SETTLE_STEPS ((int)(sizeof(settle_ms) / sizeof(settle_ms[0])))

int aur_follow_init(struct aur_follow *f, const char *db_path, char *err, size_t errlen)
{
	/* SQLite puts the -wal beside the file a symlink points to: watch there */
	char *real = realpath(db_path, NULL);
	const char *path = real ? real : db_path;
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	char dir[PATH_MAX];
	int rc = 0;
	int n;

	f->ifd = -1;
	f->settle = -1;
	f->woke = AUR_FOLLOW_WOKE_NONE;
	if ((size_t)snprintf(f->db_name, sizeof(f->db_name), "%s", base) >= sizeof(f->db_name) ||
	    (size_t)snprintf(f->wal_name, sizeof(f->wal_name), "%s-wal", base) >= sizeof(f->wal_name)) {
		snprintf(err, errlen, "database name too long: %s", db_path);
		rc = -ENAMETOOLONG;
		goto out;
	}
	if (!slash)
		n = snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		n = snprintf(dir, sizeof(dir), "/");
	else
		n = snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if (n < 0 || (size_t)n >= sizeof(dir)) {
		snprintf(err, errlen, "database path too long: %s", db_path);
		rc = -ENAMETOOLONG;
		goto out;
	}
	f->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (f->ifd < 0) {
		rc = -errno;
		snprintf(err, errlen, "inotify: %s; polling instead", strerror(errno));
		goto out;
	}
	if (inotify_add_watch(f->ifd, dir, WATCH_MASK) < 0) {
		rc = -errno;
		snprintf(err, errlen, "inotify watch on %s: %s; polling instead", dir, strerror(errno));
		close(f->ifd);
		f->ifd = -1;
	}
out:
	free(real);
	return rc;
}

void aur_follow_release(struct aur_follow *f)
{
	if (f && f->ifd >= 0) {
		close(f->ifd);
		f->ifd = -1;
	}
}

/* Drain the inotify queue: 1 when an event names the database or its -wal, 0 if not, -errno. */
static int drain(struct aur_follow *f)
{
	char ev[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int hit = 0;

	for (;;) {
		ssize_t n = read(f->ifd, ev, sizeof(ev));

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		for (ssize_t off = 0; off < n;) {
			const struct inotify_event *e = (const struct inotify_event *)(void *)(ev + off);

			if ((e->mask & IN_Q_OVERFLOW) ||
			    (e->len && (!strcmp(e->name, f->db_name) || !strcmp(e->name, f->wal_name))))
				hit = 1;
			off += (ssize_t)sizeof(*e) + e->len;
		}
	}
	return hit;
}

int aur_follow_wait(struct aur_follow *f, int poll_ms, struct pollfd *fds, size_t nfds)
{
	struct pollfd set[8];
	/*
	 * A look after a write found nothing: the next is settle_ms[0] away,
	 * and the rest of the commit's writes would only wake us to wait
	 * again, so inotify is not watched until then.
	 */
	int armed = f->settle == 0;
	int watch = f->ifd >= 0 && !armed;
	/* one deadline for the whole wait: writes to other files in the directory do not push it back */
	long long until = aur_time_mono_ms() + (f->settle >= 0 ? settle_ms[f->settle] : poll_ms);

	if (nfds > sizeof(set) / sizeof(set[0]) - 1)
		return -EINVAL;
	for (;;) {
		long long left = until - aur_time_mono_ms();
		int timeout = left > 0 ? (int)left : 0;
		size_t n = 0;
		int ready = 0;
		int rc;

		for (size_t i = 0; i < nfds; i++) {
			set[n] = fds[i];
			set[n++].revents = 0;
		}
		if (watch) {
			set[n].fd = f->ifd;
			set[n].events = POLLIN;
			set[n++].revents = 0;
		}
		f->woke = AUR_FOLLOW_WOKE_NONE;
		rc = poll(set, (nfds_t)n, timeout);
		if (rc < 0)
			return errno == EINTR ? 0 : -errno;
		for (size_t i = 0; i < nfds; i++) {
			fds[i].revents = set[i].revents;
			ready |= set[i].revents != 0;
		}
		if (rc == 0) {
			/* the writes of that millisecond are covered by the look that follows */
			if (armed && f->ifd >= 0 && (rc = drain(f)) < 0)
				return rc;
			/* a short wait ended: a commit may still be in flight; the poll interval: look anyway */
			f->woke = f->settle >= 0 ? AUR_FOLLOW_WOKE_SETTLE : AUR_FOLLOW_WOKE_NONE;
			return 1;
		}
		if (watch && set[nfds].revents) {
			rc = drain(f);
			if (rc < 0)
				return rc;
			if (rc > 0) {
				f->woke = AUR_FOLLOW_WOKE_EVENT;
				return 1;
			}
		}
		if (ready)
			return 0;
	}
}

void aur_follow_found(struct aur_follow *f, int found)
{
	if (f->woke == AUR_FOLLOW_WOKE_SETTLE) {
		/*
		 * Rows found do not end the short waits: a write drained before
		 * this look may be the next commit's, still being synced, and
		 * no event will tell when it shows.
		 */
		f->settle = found ? 1 : f->settle + 1;
		if (f->settle >= SETTLE_STEPS)
			f->settle = -1;
	} else if (f->woke == AUR_FOLLOW_WOKE_EVENT) {
		/* nothing yet: the commit is being synced; its other writes need not wake us */
		f->settle = found ? 1 : 0;
	} else if (found) {
		f->settle = -1;
	}
	f->woke = AUR_FOLLOW_WOKE_NONE;
}

int aur_follow_cursor_read(const char *path, long long *id, char *err, size_t errlen)
{
	char text[64];
	char *end = NULL;
	ssize_t n;
	long long v;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cursor %s: %s", path, strerror(errno));
		return -errno;
	}
	do
		n = read(fd, text, sizeof(text) - 1);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		int e = errno;

		snprintf(err, errlen, "cursor %s: %s", path, strerror(e));
		close(fd);
		return -e;
	}
	close(fd);
	text[n] = '\0';
	errno = 0;
	v = (n > 0 && text[0] >= '0' && text[0] <= '9') ? strtoll(text, &end, 10) : -1;
	if (v < 0 || errno || !end || strspn(end, " \t\r\n") != strlen(end)) {
		snprintf(err, errlen, "cursor %s does not hold an inbox id", path);
		return -EINVAL;
	}
	*id = v;
	return 0;
}

int aur_follow_cursor_write(const char *path, long long id, char *err, size_t errlen)
{
	struct aur_buf tmp;
	char line[32];
	int created = 0;
	int fd = -1;
	int len;
	int rc = -EIO;

	aur_buf_init(&tmp, PATH_MAX);
	if (aur_buf_addf(&tmp, "%s.XXXXXX", path) < 0) {
		snprintf(err, errlen, "cursor %s: path too long", path);
		rc = -ENAMETOOLONG;
		goto out;
	}
	fd = mkstemp(tmp.data);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "cursor %s: %s", path, strerror(errno));
		goto out;
	}
	created = 1;
	len = snprintf(line, sizeof(line), "%lld\n", id);
	errno = 0;
	if (write(fd, line, (size_t)len) != len || fsync(fd) < 0) {
		rc = errno ? -errno : -EIO;
		snprintf(err, errlen, "cursor %s: %s", tmp.data, strerror(-rc));
		goto out;
	}
	rc = close(fd);
	fd = -1;
	if (rc < 0) {
		rc = -errno;
		snprintf(err, errlen, "cursor %s: %s", tmp.data, strerror(-rc));
		goto out;
	}
	if (rename(tmp.data, path) < 0) {
		rc = -errno;
		snprintf(err, errlen, "cursor %s: %s", path, strerror(-rc));
		goto out;
	}
	created = 0;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (created)
		unlink(tmp.data);
	aur_buf_release(&tmp);
	return rc;
}

int aur_follow_open_db(sqlite3 **db, const char *path, char *err, size_t errlen)
{
	struct aur_db_options o;
	sqlite3_stmt *st = NULL;
	struct stat sb;
	int rc;

	*db = NULL;
	if (stat(path, &sb) < 0) {
		rc = -errno;
		if (rc == -ENOENT)
			snprintf(err, errlen, "no database at %s", path);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc == -ENOENT ? -ENOENT : -EIO;
	}
	if (sb.st_size > 0) {
		static const char magic[16] = "SQLite format 3";
		char head[16] = "";
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, head, sizeof(head)) : -1;

		if (fd >= 0)
			close(fd);
		if (n >= 0 && (n < (ssize_t)sizeof(head) || memcmp(head, magic, sizeof(magic)) != 0)) {
			snprintf(err, errlen, "%s is not an aurora database (not SQLite)", path);
			return -ENODATA;
		}
	}
	aur_db_options_init(&o);
	o.readonly = 1;
	rc = aur_db_open(db, path, &o, err, errlen);
	if (rc < 0)
		return rc;
	rc = aur_db_prepare(*db, &st, "SELECT count(*) FROM sqlite_master WHERE name = 'inbox'", err, errlen);
	if (rc == 0) {
		int step = sqlite3_step(st);

		if (step != SQLITE_ROW) {
			snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(*db));
			rc = aur_db_errno(step) ? aur_db_errno(step) : -EIO;
		} else if (sqlite3_column_int(st, 0) == 0) {
			snprintf(err, errlen, "%s is not an aurora database (no inbox table)", path);
			rc = -ENODATA;
		}
	} else {
		/* not even the catalogue reads: not an SQLite file */
		snprintf(err, errlen, "%s is not an aurora database (%s)", path, sqlite3_errmsg(*db));
		rc = -ENODATA;
	}
	sqlite3_finalize(st);
	if (rc < 0) {
		aur_db_close(*db);
		*db = NULL;
	}
	return rc;
}

static int aur_follow_stop_fd(void)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return fd < 0 ? -errno : fd;
}

int aur_follow_stop_read(int fd)
{
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return 0;
	return (int)si.ssi_signo;
}

int aur_follow_loop_open(struct aur_follow_loop *l, const char *db_path, int poll_ms, char *err, size_t errlen)
{
	struct stat st;
	int rc;

	memset(l, 0, sizeof(*l));
	l->follow.ifd = -1;
	l->out_fd = -1;
	l->poll_ms = poll_ms;
	err[0] = '\0';
	l->stop_fd = aur_follow_stop_fd();
	if (l->stop_fd < 0) {
		rc = l->stop_fd;
		snprintf(err, errlen, "signalfd: %s", strerror(-rc));
		return rc;
	}
	/* a pipe or socket on stdout reports its reader leaving even while we sleep */
	if (fstat(1, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
		l->out_fd = 1;
	rc = aur_follow_init(&l->follow, db_path, err, errlen);
	if (rc == -ENAMETOOLONG) {
		aur_follow_loop_release(l);
		return rc;
	}
	return 0;
}

void aur_follow_loop_release(struct aur_follow_loop *l)
{
	aur_follow_release(&l->follow);
	if (l->stop_fd >= 0)
		close(l->stop_fd);
	l->stop_fd = -1;
}

int aur_follow_run(struct aur_follow_loop *l, int *look_rc, int *signo, char *err, size_t errlen)
{
	struct pollfd fds[2] = { { .fd = l->stop_fd, .events = POLLIN }, { .fd = l->out_fd, .events = 0 } };
	size_t nfds = l->out_fd >= 0 ? 2 : 1;
	long long found;
	int rc;

	*look_rc = 0;
	*signo = 0;
	for (;;) {
		found = 0;
		*look_rc = l->look(l->arg, l->stop_fd, &found);
		if (*look_rc)
			return AUR_FOLLOW_LOOK;
		aur_follow_found(&l->follow, found > 0);
		do {
			rc = aur_follow_wait(&l->follow, l->poll_ms, fds, nfds);
			if (fds[0].revents & POLLIN) {
				*signo = aur_follow_stop_read(l->stop_fd);
				return AUR_FOLLOW_STOPPED;
			}
			if (nfds > 1 && (fds[1].revents & (POLLERR | POLLHUP)))
				return AUR_FOLLOW_GONE;
		} while (rc == 0);
		if (rc < 0) {
			snprintf(err, errlen, "waiting for changes: %s", strerror(-rc));
			return rc;
		}
	}
}
