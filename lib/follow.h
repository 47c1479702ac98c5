/*
 * follow.h - waiting for new commits to the SQLite file, and resumable cursors.
 *
 * Waiting: inotify on the database's directory reports writes to the
 * database file and to its -wal (IN_MODIFY, IN_CLOSE_WRITE, IN_CREATE,
 * IN_MOVED_TO); other files in the directory are ignored. A write to the
 * -wal is not yet a visible commit: SQLite writes the frames, syncs them,
 * and only then publishes the commit in the -shm index, which makes no
 * inotify event. So a write is answered with a look at once and, when that
 * finds nothing (the commit is being synced), with another 1 ms later;
 * inotify is not read in that millisecond: the commit's other writes would
 * only wake the process to wait again (at 500 deliveries/s, eight looks in
 * nine were empty), and the look at its end covers them. After any look
 * that followed a write the short waits go on, 2 ms after rows, else 4, 8
 * ... 256 ms, a new write ending them: a write drained before a look that
 * found rows may be the next commit's, still being synced, and nothing
 * would say when it shows. When the schedule ends with nothing new, only
 * the fallback poll remains. Idle, the process sleeps in poll(2) and wakes
 * once per poll interval.
 *
 * When inotify is unavailable (no watches left, a file system without it),
 * aur_follow_init says why and the waiter polls at the fallback interval.
 *
 * Cursor files hold one inbox id and a newline. They are replaced with a
 * temporary file, fsync and rename(2), so a reader sees the old id or the
 * new one, never a torn file.
 */
#ifndef AURORA_FOLLOW_H
#define AURORA_FOLLOW_H

#include <poll.h>
#include <stddef.h>
#include <sqlite3.h>

#define AUR_FOLLOW_NAME_MAX 256

enum aur_follow_woke {
	AUR_FOLLOW_WOKE_NONE = 0,  /* poll interval, or the caller's fds */
	AUR_FOLLOW_WOKE_EVENT,     /* inotify reported a write to the database or -wal */
	AUR_FOLLOW_WOKE_SETTLE     /* a short wait after a write to the database or -wal ended */
};

struct aur_follow {
	int ifd;                             /* inotify descriptor; -1 when polling only */
	char db_name[AUR_FOLLOW_NAME_MAX];   /* base name of the database file */
	char wal_name[AUR_FOLLOW_NAME_MAX];  /* base name of its -wal */
	int settle;                          /* step of the short-wait schedule; -1 when none */
	enum aur_follow_woke woke;           /* why the last wait ended */
};

/*
 * Watch the directory of db_path. Returns 0; -ENAMETOOLONG when the base
 * name does not fit (f unusable); any other -errno when inotify cannot
 * watch: f then works by polling alone and err says why.
 */
int aur_follow_init(struct aur_follow *f, const char *db_path, char *err, size_t errlen);
/* Close the inotify descriptor. NULL-safe; f may be initialised again. */
void aur_follow_release(struct aur_follow *f);

/*
 * Sleep until the database may hold new commits, poll_ms passes, or one of
 * the caller's fds (may be NULL when nfds is 0) is ready; their revents are
 * filled. Returns 1 when the caller should look for new rows, 0 when only
 * the caller's fds are ready, -errno when poll or read fails (EINTR is
 * answered with 0, so the caller can check its own state).
 */
int aur_follow_wait(struct aur_follow *f, int poll_ms, struct pollfd *fds, size_t nfds);

/*
 * After each look: found is 1 when it printed rows. After a look that
 * followed a write the short waits go on (above).
 */
void aur_follow_found(struct aur_follow *f, int found);

/*
 * The one follow loop (aurora-inbox follow, aurora-incident watch): look
 * for new rows, then sleep in aur_follow_wait until the database may hold
 * new commits, the poll interval passes, a stop signal comes or the
 * reader of stdout goes away; and again.
 */
struct aur_follow_loop {
	struct aur_follow follow; /* set up by aur_follow_loop_open */
	int poll_ms;              /* fallback poll interval */
	int stop_fd;              /* signalfd of SIGTERM, SIGINT, SIGHUP (aur_follow_stop_fd) */
	int out_fd;               /* 1 when stdout is a pipe or socket (POLLERR/POLLHUP: the reader
				     left), else -1 */
	/*
	 * Print what is new: set *found to how many rows it printed; stop_fd
	 * is there to poll while waiting to write. 0 to go on; anything else
	 * ends the loop (aur_follow_run returns AUR_FOLLOW_LOOK).
	 */
	int (*look)(void *arg, int stop_fd, long long *found);
	void *arg;
};

enum aur_follow_end {
	AUR_FOLLOW_STOPPED = 0, /* a stop signal came: *signo says which */
	AUR_FOLLOW_GONE = 1     /* the reader of stdout went away */
};

/*
 * Ready l for db_path: the stop signals blocked and on a signalfd, stdout
 * watched when it is a pipe or socket, inotify on the database's
 * directory. Returns 0; when inotify cannot watch, 0 as well with the
 * reason in err (polling alone: the caller may warn), else err empty.
 * -ENAMETOOLONG (the name does not fit) or the signalfd's -errno with err
 * set: l is released then.
 */
int aur_follow_loop_open(struct aur_follow_loop *l, const char *db_path, int poll_ms, char *err, size_t errlen);
/* Close what aur_follow_loop_open opened. */
void aur_follow_loop_release(struct aur_follow_loop *l);

/*
 * Run l until it ends: returns enum aur_follow_end (*signo set to the
 * stop signal, else 0), l->look's value when it is not 0 (*look_rc, and
 * AUR_FOLLOW_LOOK returned), or -errno when waiting fails (err set).
 */
#define AUR_FOLLOW_LOOK 2
int aur_follow_run(struct aur_follow_loop *l, int *look_rc, int *signo, char *err, size_t errlen);

/*
 * Open the database read-only for a reader. 0 with *db set (close with
 * aur_db_close); -ENOENT when there is no file at path (nothing is created);
 * -ENODATA when the file is not SQLite or has no inbox table; -EBUSY or -EIO as
 * aur_db_open. err says what happened.
 */
int aur_follow_open_db(sqlite3 **db, const char *path, char *err, size_t errlen);

/* Read one signal from a loop's stop_fd: its number, or 0 when none is pending. */
int aur_follow_stop_read(int fd);

/*
 * Read the id kept in a cursor file. 0 with *id set; -ENOENT when the file
 * does not exist; -EINVAL when it does not hold one non-negative id (err
 * says what it holds); other -errno on read errors.
 */
int aur_follow_cursor_read(const char *path, long long *id, char *err, size_t errlen);

/*
 * Replace the cursor file with id: write "<path>.XXXXXX", fsync, rename.
 * 0 or -errno with err set; on failure the old file is intact.
 */
int aur_follow_cursor_write(const char *path, long long id, char *err, size_t errlen);

#endif
