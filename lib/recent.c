#define _GNU_SOURCE

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "db.h"
#include "hex.h"
#include "recent.h"
#include "xalloc.h"
#include "banned.h"

#define LOG2_SLOTS 19
#define NSLOTS ((size_t)1 << LOG2_SLOTS)
#define GROUP 8 /* slots probed together: 192 bytes, three cache lines */
#define HEADER_BYTES 4096
#define MAP_BYTES (HEADER_BYTES + NSLOTS * sizeof(struct slot))
/* a catch-up of more rows than this goes through the received_ms index, not the rowids */
#define SMALL_GAP 4096

/* 2: the header names the database file (path, device, inode) for the sweep */
static const char magic[8] = { 'A', 'U', 'R', 'R', 'C', 'N', 'T', '2' };

#define SHM_DIR "/dev/shm"
#define SHM_PREFIX "aurora-recent-"
#define PATH_BYTES (HEADER_BYTES - 128)

struct header {
	char magic[8];
	uint32_t log2_slots;
	uint32_t reserved;
	char boot_id[48]; /* the boot the slots were written in */
	char db_id[40];   /* the database they belong to (settings.recent_table_db) */
	int64_t last_id;  /* every inbox row up to this id is in the table, or out of the window */
	uint64_t db_dev;  /* the database file the table is named after: while it stands here, */
	uint64_t db_ino;  /* with this device and inode, the table is kept; else it is swept */
	char db_path[PATH_BYTES]; /* absolute, NUL-terminated; "" when too long to keep */
};

_Static_assert(sizeof(struct header) <= HEADER_BYTES, "the header fits its page");

/* fp 0 is an empty slot */
struct slot {
	uint64_t fp;
	int64_t id;
	int64_t ms;
};

struct aur_recent {
	unsigned char *map; /* mapped from the file, or calloc'd when private */
	int fd;             /* -1: private to this process; else flock'd shared while mapped */
	char name[128];     /* the shared memory object's name, "/aurora-recent-DEV-INO" */
	char path[PATH_BYTES]; /* the database file, "" when its name is too long */
	uint64_t dev;
	uint64_t ino;
	char boot_id[48];
	/*
	 * The database's own id, read (or made) once per process: a device
	 * and inode outlive a deleted file, and the next database may get them.
	 */
	char db_id[40];
};

static struct header *header(const struct aur_recent *r)
{
	return (struct header *)(void *)r->map;
}

static struct slot *slots(const struct aur_recent *r)
{
	return (struct slot *)(void *)(r->map + HEADER_BYTES);
}

static void read_boot_id(char *out, size_t n)
{
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	ssize_t got = -1;

	memset(out, 0, n);
	if (fd >= 0) {
		got = read(fd, out, n - 1);
		close(fd);
	}
	if (got <= 0) {
		memset(out, 0, n);
		return;
	}
	out[strcspn(out, "\n")] = '\0';
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

/* The first 64 bits of the body hash, told apart by platform; never 0. */
static uint64_t fingerprint(const char *platform, const char *sha_hex)
{
	uint64_t fp = 0;
	size_t i;

	for (i = 0; i < 16 && aur_hex_value((unsigned char)sha_hex[i]) >= 0; i++)
		fp = fp << 4 | (uint64_t)aur_hex_value((unsigned char)sha_hex[i]);
	if (i < 16)
		fp = fnv1a(sha_hex);
	fp ^= fnv1a(platform);
	return fp ? fp : 1;
}

static struct slot *group_of(const struct aur_recent *r, uint64_t fp)
{
	return slots(r) + ((size_t)fp & (NSLOTS - 1) & ~(size_t)(GROUP - 1));
}

/* Is the file at path gone: deleted, or another file (not dev, ino) in its place? */
static int file_gone(const char *path, uint64_t dev, uint64_t ino)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return errno == ENOENT || errno == ENOTDIR;
	return (uint64_t)st.st_dev != dev || (uint64_t)st.st_ino != ino;
}

/* The table on fd: 1 when the database its header names is gone, 0 when it stands, -1 when no header names one. */
static int table_gone(int fd)
{
	struct header h;

	if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) || memcmp(h.magic, magic, sizeof(magic)) != 0 ||
	    !h.db_path[0] || !memchr(h.db_path, '\0', sizeof(h.db_path)))
		return -1;
	return file_gone(h.db_path, h.db_dev, h.db_ino);
}

/*
 * Is the table on fd (locked exclusively: nobody maps it) one whose
 * database is gone? Only a table that names its database in this format
 * is judged: one of an older format, or torn, may be in use by an older
 * receiver that takes no lock, so it is left alone.
 */
static int orphaned(int fd)
{
	return table_gone(fd) == 1;
}

/*
 * Unlink the tables of this machine whose database file is gone (deleted,
 * or another file in its place) and that no process maps: each mapping
 * holds a shared flock, so a table we can lock exclusively is unused.
 * A process that opens one as it goes finds its object unlinked and opens
 * the name again (map_shared). Without this the tables of deleted
 * databases stayed until the machine restarted: 12 MiB each at most.
 */
static void sweep(const struct aur_recent *r)
{
	DIR *d = opendir(SHM_DIR);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		int fd;

		if (strncmp(e->d_name, SHM_PREFIX, strlen(SHM_PREFIX)) != 0 || !strcmp(e->d_name, r->name + 1))
			continue;
		fd = openat(dirfd(d), e->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		if (fd < 0)
			continue;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0 && orphaned(fd))
			unlinkat(dirfd(d), e->d_name, 0);
		close(fd); /* and the lock with it */
	}
	closedir(d);
}

/* Does fd still hold the object named r->name (not one a sweep unlinked)? */
static int still_named(const struct aur_recent *r, int fd)
{
	char path[sizeof(SHM_DIR) + sizeof(r->name)];
	struct stat a, b;

	snprintf(path, sizeof(path), SHM_DIR "%s", r->name);
	return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/*
 * The table of the database file at db_path: a shared memory object named
 * after the file's device and inode, so every process that opens this
 * database (and no other) maps the same one, and a database replaced by
 * another file gets a table of its own. Shared memory, not a file on the
 * database's disk: the kernel would write the dirty slots back, random
 * pages every few seconds, in the way of the commits' fsyncs.
 */
static int map_shared(struct aur_recent *r, const char *db_path, char *err, size_t errlen)
{
	struct stat st;
	void *m;

	if (stat(db_path, &st) < 0) {
		int e = errno;

		snprintf(err, errlen, "%s: %s", db_path, strerror(e));
		return -e;
	}
	r->dev = (uint64_t)st.st_dev;
	r->ino = (uint64_t)st.st_ino;
	if (db_path[0] == '/' && strlen(db_path) < sizeof(r->path))
		memcpy(r->path, db_path, strlen(db_path) + 1);
	snprintf(r->name, sizeof(r->name), "/" SHM_PREFIX "%ju-%ju", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino);
	/* a sweep may unlink the object between our open and our lock: then open the name again */
	for (int tries = 0; tries < 3; tries++) {
		if (r->fd >= 0)
			close(r->fd);
		r->fd = shm_open(r->name, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (r->fd < 0 || flock(r->fd, LOCK_SH) < 0 || still_named(r, r->fd))
			break;
	}
	/* every receiver maps the same size: growing or cutting a foreign object to it hurts none */
	if (r->fd < 0 || fstat(r->fd, &st) < 0 ||
	    ((size_t)st.st_size != MAP_BYTES && ftruncate(r->fd, (off_t)MAP_BYTES) < 0)) {
		int e = errno;

		snprintf(err, errlen, "shared memory %s: %s", r->name, strerror(e));
		return -e;
	}
	m = mmap(NULL, MAP_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
	if (m == MAP_FAILED) {
		int e = errno;

		snprintf(err, errlen, "shared memory %s: mmap: %s", r->name, strerror(e));
		return -e;
	}
	r->map = m;
	return 0;
}

int aur_recent_open(struct aur_recent **out, const char *db_path, char *err, size_t errlen)
{
	struct aur_recent *r = aur_xcalloc(1, sizeof(*r));
	int rc = 0;

	r->fd = -1;
	read_boot_id(r->boot_id, sizeof(r->boot_id));
	if (db_path && *db_path)
		rc = map_shared(r, db_path, err, errlen);
	if (r->map)
		sweep(r);
	if (!r->map) {
		if (r->fd >= 0)
			close(r->fd);
		r->fd = -1;
		/* calloc gets pages this size from mmap: zero, and untouched until used */
		r->map = aur_xcalloc(1, MAP_BYTES);
	}
	*out = r;
	return rc;
}

/* Is the file this process opened gone (deleted, or another file in its place)? */
static int database_gone(const struct aur_recent *r)
{
	return r->path[0] && file_gone(r->path, r->dev, r->ino);
}

void aur_recent_close(struct aur_recent *r)
{
	if (!r)
		return;
	if (r->fd >= 0) {
		munmap(r->map, MAP_BYTES);
		/*
		 * The last user of a deleted database's table takes it along. Gone is
		 * judged by the table's header, not by the path this process opened:
		 * the same file may be in use under a new name, or the inode reused by
		 * a new database whose receiver took the table over (and wrote its
		 * own path there) while this one ran on.
		 */
		if (flock(r->fd, LOCK_EX | LOCK_NB) == 0 && still_named(r, r->fd)) {
			int gone = table_gone(r->fd);

			/* a table nobody wrote a header to is this process's alone to judge */
			if (gone == 1 || (gone < 0 && database_gone(r)))
				shm_unlink(r->name);
		}
		close(r->fd);
	} else {
		free(r->map);
	}
	free(r);
}

static int header_ok(const struct aur_recent *r)
{
	const struct header *h = header(r);

	return !memcmp(h->magic, magic, sizeof(magic)) && h->log2_slots == LOG2_SLOTS &&
	       !strncmp(h->boot_id, r->boot_id, sizeof(h->boot_id)) &&
	       !strncmp(h->db_id, r->db_id, sizeof(h->db_id));
}

/* Empty every slot and start a new header: the catch-up then refills the window. */
static void reset(struct aur_recent *r)
{
	struct header *h = header(r);
	size_t bytes = NSLOTS * sizeof(struct slot);

	/* a hole reads as zeros, in every process's mapping, without touching 12 MiB */
	if (r->fd < 0) {
		free(r->map);
		r->map = aur_xcalloc(1, MAP_BYTES);
		h = header(r);
	} else if (fallocate(r->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, HEADER_BYTES, (off_t)bytes) < 0) {
		memset(r->map + HEADER_BYTES, 0, bytes);
	}
	memset(h, 0, sizeof(*h));
	memcpy(h->boot_id, r->boot_id, sizeof(h->boot_id));
	memcpy(h->db_id, r->db_id, sizeof(h->db_id));
	h->db_dev = r->dev;
	h->db_ino = r->ino;
	memcpy(h->db_path, r->path, sizeof(h->db_path));
	h->log2_slots = LOG2_SLOTS;
	h->last_id = 0;
	memcpy(h->magic, magic, sizeof(magic));
}

void aur_recent_add(struct aur_recent *r, const char *platform, const char *sha_hex, long long id,
		    long long received_ms)
{
	uint64_t fp = fingerprint(platform, sha_hex);
	struct slot *g = group_of(r, fp);
	struct slot *pick = g;

	/* an empty slot has ms 0: the oldest slot of the group is the one given up */
	for (int i = 0; i < GROUP; i++) {
		if (g[i].fp == fp && g[i].id == id) {
			pick = &g[i];
			break;
		}
		if (g[i].ms < pick->ms)
			pick = &g[i];
	}
	pick->fp = fp;
	pick->id = id;
	pick->ms = received_ms;
	if (id > header(r)->last_id)
		header(r)->last_id = id;
}

size_t aur_recent_find(const struct aur_recent *r, const char *platform, const char *sha_hex, long long since_ms,
		       long long *ids, size_t max)
{
	uint64_t fp = fingerprint(platform, sha_hex);
	const struct slot *g = group_of(r, fp);
	size_t n = 0;

	for (int i = 0; i < GROUP && n < max; i++) {
		size_t j;

		if (g[i].fp != fp || g[i].ms < since_ms)
			continue;
		/* newest first */
		for (j = n; j > 0 && ids[j - 1] < g[i].id; j--)
			ids[j] = ids[j - 1];
		ids[j] = g[i].id;
		n++;
	}
	return n;
}

static int max_inbox_id(sqlite3 *db, long long *max, char *err, size_t errlen)
{
	sqlite3_stmt *st = aur_db_stmt(db, "SELECT coalesce(max(id), 0) FROM inbox", err, errlen);
	int rc;

	if (!st)
		return -EIO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*max = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW) {
		snprintf(err, errlen, "recent deliveries: %s", sqlite3_errmsg(db));
		return aur_db_errno(rc);
	}
	return 0;
}

/* r->db_id from the settings table, made there the first time (inside the write transaction). */
static int read_db_id(struct aur_recent *r, sqlite3 *db, char *err, size_t errlen)
{
	char *id = aur_db_setting_get(db, "recent_table_db");
	char fresh[33];
	int rc = 0;

	if (!id || strlen(id) >= sizeof(r->db_id)) {
		free(id);
		id = NULL;
		if (aur_random_hex(fresh, sizeof(fresh), 16) < 0) {
			snprintf(err, errlen, "recent deliveries: no random bytes for the database's id");
			return -EIO;
		}
		rc = aur_db_setting_set(db, "recent_table_db", fresh, err, errlen);
		if (rc < 0)
			return rc;
	}
	memset(r->db_id, 0, sizeof(r->db_id));
	memcpy(r->db_id, id ? id : fresh, strlen(id ? id : fresh));
	free(id);
	return 0;
}

int aur_recent_sync(struct aur_recent *r, sqlite3 *db, long long window_ms, long long now_ms, char *err,
		    size_t errlen)
{
	struct header *h;
	long long max = 0;
	sqlite3_stmt *st;
	int rc;

	if (!r->db_id[0]) {
		rc = read_db_id(r, db, err, errlen);
		if (rc < 0)
			return rc;
	}
	if (!header_ok(r))
		reset(r);
	h = header(r);
	/* the same database under another name (renamed, or opened through a link) */
	if (r->fd >= 0 && r->path[0] && strcmp(h->db_path, r->path) != 0)
		memcpy(h->db_path, r->path, sizeof(h->db_path));
	rc = max_inbox_id(db, &max, err, errlen);
	if (rc < 0 || h->last_id == max)
		return rc;
	if (h->last_id > max) {
		/* rolled back, or another database: its slots fail the check against the inbox */
		h->last_id = max;
		return 0;
	}
	/* rows stored without the table: by an older receiver, by hand, or all of them when new */
	st = aur_db_stmt(db,
			 max - h->last_id <= SMALL_GAP
				 ? "SELECT id, platform, body_sha256, received_ms FROM inbox"
				   " WHERE id > ?1 AND +received_ms >= ?2"
				 : "SELECT id, platform, body_sha256, received_ms FROM inbox INDEXED BY inbox_received"
				   " WHERE received_ms >= ?2 AND id > ?1",
			 err, errlen);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, h->last_id);
	sqlite3_bind_int64(st, 2, now_ms - window_ms);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *platform = (const char *)sqlite3_column_text(st, 1);
		const char *sha = (const char *)sqlite3_column_text(st, 2);

		if (platform && sha)
			aur_recent_add(r, platform, sha, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 3));
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "recent deliveries: %s", sqlite3_errmsg(db));
		return aur_db_errno(rc);
	}
	h->last_id = max;
	return 0;
}
