/*
 * rca_dispatch.c - aurora-rca's work between its options and its exit:
 * decisions read, incidents claimed, investigations run in child
 * processes at most jobs_max at a time under a time and a rate limit,
 * their records passed on, the resume point moved, and what a crash left
 * running recovered. See rca_dispatch.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jq.h>

#include "buf.h"
#include "cli.h"
#include "db.h"
#include "exitcodes.h"
#include "investigate.h"
#include "jsonl.h"
#include "log.h"
#include "pipe.h"
#include "rca.h"
#include "rca_dispatch.h"
#include "rca_run.h"
#include "resume.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

#define LINE_MAX_ ((size_t)1 << 20)
#define RECOVER_MAX 4096
#define RESTARTS_MAX 2

struct job {
	long long id;
	pid_t pid;
	int fd;                 /* the child's records; -1 once at its end */
	long long deadline;     /* CLOCK_MONOTONIC ms */
	struct aur_buf line;    /* a record not yet complete */
};

struct rca {
	sqlite3 *db;
	const char *db_path;
	struct aur_db_options dbo;
	const struct aur_investigator *inv;
	struct aur_inv_options io;
	struct aur_jsonl_writer out;
	int jobs_max;
	long long timeout_ms;
	long long rate_n;
	long long rate_ms;
	long long *starts;      /* ring of the last rate_n start times */
	size_t nstarts;
	struct job jobs[AUR_RCA_JOBS_MAX];
	int njobs;
	long long *queue;       /* claimed, waiting for a free slot */
	size_t qhead, qlen, qcap;
	const char *stage;
	long long batch;
	long long marked;
	int gone;
	int ioerr;
	int pass;               /* --pass: input records go to stdout as well */
	const volatile sig_atomic_t *stop;
};

static void print_rec(struct rca *r, jv rec)
{
	if (!jv_is_valid(rec)) {
		jv_free(rec);
		return;
	}
	if (r->gone || r->ioerr) {
		jv_free(rec);
		return;
	}
	if (aur_jsonl_write(&r->out, rec) < 0 || fflush(stdout) != 0) {
		if (errno == EPIPE) {
			r->gone = 1;
		} else {
			aur_err("writing standard output: %s", strerror(errno));
			r->ioerr = 1;
		}
	}
}

/* A thought aurora-rca itself writes (kind note): rate limit, a later alert. */
static int note(struct rca *r, long long id, const char *text)
{
	char err[512];
	long long merged = 0;
	jv rec;
	int rc = aur_rca_thought(r->db, r->dbo.busy_timeout_ms, id, "note", text, &merged, &rec, err, sizeof(err));

	if (rc == -ECANCELED)
		return 0;
	if (rc < 0) {
		aur_err("incident %lld: %s", id, err);
		return rc;
	}
	print_rec(r, rec);
	return 0;
}

static void enqueue(struct rca *r, long long id)
{
	if (r->qhead + r->qlen == r->qcap) {
		if (r->qhead) {
			memmove(r->queue, r->queue + r->qhead, r->qlen * sizeof(*r->queue));
			r->qhead = 0;
		} else {
			r->qcap = r->qcap ? r->qcap * 2 : 64;
			r->queue = aur_xrealloc(r->queue, r->qcap * sizeof(*r->queue));
		}
	}
	r->queue[r->qhead + r->qlen++] = id;
}

/*
 * 1 when one more investigation may start under --rate, and count it. The
 * clock is the incidents' own (when each started), not the wall's: a
 * replay of a day's storm is limited as the live day was, and gives the
 * same answer again.
 */
static int rate_take(struct rca *r, long long t)
{
	size_t slot = r->nstarts % (size_t)r->rate_n;

	if (r->nstarts >= (size_t)r->rate_n && t - r->starts[slot] < r->rate_ms)
		return 0;
	r->starts[slot] = t;
	r->nstarts++;
	return 1;
}

static void child(struct rca *r, long long id, int wfd, pid_t parent)
{
	struct aur_jsonl_writer w;
	sqlite3 *db = NULL;
	FILE *f;
	char err[1024];
	int rc;

	/* the child leaves its parent's connection and stdio alone: _exit only */
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	/*
	 * Its own limit too, a little past the parent's: a child whose parent
	 * was killed must not outlive the time limit, nor hold the pipeline's
	 * pipes open (the next stage would wait for their end).
	 */
	alarm((unsigned)((r->timeout_ms + 999) / 1000 + 1));
	/*
	 * Nor may it go on beside the investigation the next start makes of the
	 * same incident (crash recovery restarts it): two would conclude twice.
	 * It dies with its parent, or at once when the parent is already gone.
	 */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(AUR_EXIT_TEMPFAIL);
	{
		int null = open("/dev/null", O_RDWR);

		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
			if (null > STDERR_FILENO)
				close(null);
		}
	}
	f = fdopen(wfd, "w");
	if (!f)
		_exit(AUR_EXIT_IOERR);
	aur_jsonl_writer_init(&w, f, 1);
	rc = aur_db_open(&db, r->db_path, &r->dbo, err, sizeof(err));
	if (rc < 0) {
		aur_err("incident %lld: %s", id, err);
		_exit(aur_cli_exit_code(rc));
	}
	rc = aur_rca_run(db, r->dbo.busy_timeout_ms, r->inv, &r->io, id, &w, err, sizeof(err));
	if (rc < 0)
		aur_warn("incident %lld: investigation failed: %s", id, err);
	fflush(f);
	aur_db_close(db);
	/*
	 * The parent reports this status only when the failure could not be
	 * written on the incident itself, which is a store that refuses
	 * writes: the one table says which (75 a full disk or a lock, 74 an
	 * I/O error), never "software" for a full disk.
	 */
	_exit(rc < 0 ? aur_cli_exit_code(rc) : 0);
}

static int start_job(struct rca *r, long long id)
{
	struct job *j = &r->jobs[r->njobs];
	int fds[2];
	pid_t pid;
	pid_t parent = getpid();

	if (pipe(fds) < 0)
		return -errno;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(fds[0]);
		close(fds[1]);
		return -e;
	}
	if (pid == 0) {
		close(fds[0]);
		for (int k = 0; k < r->njobs; k++)
			close(r->jobs[k].fd);
		child(r, id, fds[1], parent);
	}
	close(fds[1]);
	j->id = id;
	j->pid = pid;
	j->fd = fds[0];
	j->deadline = aur_time_mono_ms() + r->timeout_ms;
	aur_buf_init(&j->line, LINE_MAX_);
	r->njobs++;
	aur_debug("incident %lld: investigation started (pid %ld)", id, (long)pid);
	return 0;
}

static void start_queued(struct rca *r)
{
	while (r->qlen && r->njobs < r->jobs_max && !*r->stop) {
		long long id = r->queue[r->qhead];
		int rc = start_job(r, id);

		if (rc < 0) {
			aur_warn("incident %lld: cannot start an investigation: %s; trying again", id, strerror(-rc));
			return;
		}
		r->qhead++;
		r->qlen--;
	}
}

/* Print the complete records in j's buffer after n new bytes. */
static void pass_lines(struct rca *r, struct job *j)
{
	size_t start = 0;

	for (size_t i = 0; i < j->line.len; i++) {
		if (j->line.data[i] != '\n')
			continue;
		if (!r->gone && !r->ioerr) {
			if (fwrite(j->line.data + start, 1, i + 1 - start, stdout) != i + 1 - start ||
			    fflush(stdout) != 0) {
				if (errno == EPIPE) {
					r->gone = 1;
				} else {
					aur_err("writing standard output: %s", strerror(errno));
					r->ioerr = 1;
				}
			}
		}
		start = i + 1;
	}
	if (start) {
		memmove(j->line.data, j->line.data + start, j->line.len - start);
		j->line.len -= start;
	}
}

/* What a child's exit status says, for its incident's error thought (aurora(7)). */
static const char *exit_meaning(int status)
{
	if (!WIFEXITED(status))
		return "";
	switch (WEXITSTATUS(status)) {
	case AUR_EXIT_TEMPFAIL:
		return " (temporary: the database stayed locked or the disk is full)";
	case AUR_EXIT_IOERR:
		return " (an input/output error)";
	case AUR_EXIT_SOFTWARE:
		return " (an internal error)";
	default:
		return "";
	}
}

/* The child is done (or killed): reap it and make its end visible. */
static void finish_job(struct rca *r, int k, const char *killed_why)
{
	struct job *j = &r->jobs[k];
	struct aur_rca_incident inc;
	char err[512];
	int status = 0;

	if (j->fd >= 0)
		close(j->fd);
	while (waitpid(j->pid, &status, 0) < 0 && errno == EINTR)
		;
	if (aur_rca_incident_get(r->db, j->id, &inc, err, sizeof(err)) == 0 && !strcmp(inc.rca_state, "running")) {
		char why[512];
		jv rec;

		if (killed_why)
			snprintf(why, sizeof(why), "%s", killed_why);
		else if (WIFSIGNALED(status))
			snprintf(why, sizeof(why), "investigation failed: its process died of signal %d", WTERMSIG(status));
		else
			snprintf(why, sizeof(why), "investigation failed: its process exited with status %d%s",
				 WIFEXITED(status) ? WEXITSTATUS(status) : -1, exit_meaning(status));
		if (aur_rca_fail(r->db, r->dbo.busy_timeout_ms, j->id, "rca.failed", why, &rec, err, sizeof(err)) < 0)
			aur_err("incident %lld: %s", j->id, err);
		else
			print_rec(r, rec);
		aur_warn("incident %lld: %s", j->id, why);
	}
	aur_buf_release(&j->line);
	r->jobs[k] = r->jobs[r->njobs - 1];
	r->njobs--;
}

static void read_job(struct rca *r, int k)
{
	struct job *j = &r->jobs[k];
	char buf[8192];
	ssize_t n = read(j->fd, buf, sizeof(buf));

	if (n < 0 && errno == EINTR)
		return;
	if (n <= 0) {
		close(j->fd);
		j->fd = -1;
		finish_job(r, k, NULL);
		return;
	}
	if (aur_buf_add(&j->line, buf, (size_t)n) < 0) {
		aur_warn("incident %lld: a record longer than %zu bytes, not printed", j->id, LINE_MAX_);
		aur_buf_reset(&j->line);
		return;
	}
	pass_lines(r, j);
}

static void check_deadlines(struct rca *r)
{
	long long now = aur_time_mono_ms();

	for (int k = 0; k < r->njobs; k++) {
		char why[256];

		if (r->jobs[k].deadline > now)
			continue;
		kill(r->jobs[k].pid, SIGKILL);
		snprintf(why, sizeof(why), "investigation stopped: it ran past its time limit of %lld ms",
			 r->timeout_ms);
		finish_job(r, k, why);
		k--;
	}
}

/* A newly created incident: claim it, or say why it is not investigated. */
static int on_created(struct rca *r, long long id)
{
	struct aur_rca_incident inc;
	char err[512];
	char why[256];
	char text[512];
	int rc = aur_rca_incident_get(r->db, id, &inc, err, sizeof(err));

	if (rc == -ENOENT) {
		aur_warn("incident %lld: %s", id, err);
		return 0;
	}
	if (rc < 0)
		goto fail;
	if ((!strcmp(inc.source_type, "jenkins") || !strcmp(inc.source_type, "cloudbees")) && !inc.rca_on) {
		snprintf(text, sizeof(text),
			 "Not investigated: RCA is off for %s (aurora-connector rca %s on turns it on)", inc.source_type,
			 inc.source_type);
		return note(r, id, text);
	}
	if (strcmp(inc.rca_state, "idle") != 0)
		return 0;
	if (!rate_take(r, inc.started_ms)) {
		snprintf(text, sizeof(text),
			 "Not investigated: the rate limit of %lld investigations per %lld s was reached; the incident "
			 "was created as usual",
			 r->rate_n, r->rate_ms / 1000);
		return note(r, id, text);
	}
	rc = aur_rca_claim(r->db, r->dbo.busy_timeout_ms, id, why, sizeof(why), err, sizeof(err));
	if (rc < 0) {
		aur_err("incident %lld: claiming its investigation: %s", id, err);
		return rc;
	}
	if (rc == 0) {
		aur_debug("incident %lld: not investigated: %s", id, why);
		return 0;
	}
	enqueue(r, id);
	return 0;
fail:
	aur_err("incident %lld: %s", id, err);
	return rc;
}

/*
 * An alert joined an incident whose investigation is complete: say so,
 * never rewrite it. Said once per conclusion, by the first such alert: in a
 * storm thousands follow, and a thought each would bury the investigation
 * (and each insert compares against the incident's every thought).
 */
static int on_attached(struct rca *r, long long id, jv rec)
{
	struct aur_rca_incident inc;
	char err[512];
	char text[768];
	jv title = jv_object_get(jv_copy(rec), jv_string("title"));
	jv source = jv_object_get(jv_copy(rec), jv_string("source"));
	int rc = aur_rca_incident_get(r->db, id, &inc, err, sizeof(err));

	/* joined before the conclusion (a replay of old decisions): the investigation saw it */
	if (rc == 0 && !strcmp(inc.rca_state, "complete") && inc.joined_after && !inc.noted_after) {
		snprintf(text, sizeof(text),
			 "A later alert joined after the conclusion: %s \"%s\"; the root cause above does not account for it"
			 " (alerts that join after it are in the incident's alert list, not noted one by one)",
			 jv_get_kind(source) == JV_KIND_STRING ? jv_string_value(source) : "?",
			 jv_get_kind(title) == JV_KIND_STRING ? jv_string_value(title) : "");
		rc = note(r, id, text);
	} else if (rc == -ENOENT) {
		rc = 0;
	}
	jv_free(title);
	jv_free(source);
	return rc;
}

/*
 * The delivery that created incident id, read again: the pipeline started
 * over from the resume point after aurora-rca could not claim the incident
 * (a full disk, a lock held past the busy timeout), and aurora-correlate
 * now calls it deduplicated. A later delivery of the same alert is not one.
 */
static int replays_creation(struct rca *r, long long id, jv rec)
{
	jv inbox = jv_object_get(jv_copy(rec), jv_string("inbox_id"));
	jv source = jv_object_get(jv_copy(rec), jv_string("source"));
	jv key = jv_object_get(jv_copy(rec), jv_string("dedup_key"));
	long long inbox_id = jv_get_kind(inbox) == JV_KIND_NUMBER ? (long long)jv_number_value(inbox) : 0;
	sqlite3_stmt *st = NULL;
	char err[512];
	int found = 0;

	if (!r->stage || inbox_id <= r->marked || jv_get_kind(source) != JV_KIND_STRING ||
	    jv_get_kind(key) != JV_KIND_STRING)
		goto out;
	/* by the alert's own key: the incident's rows are as many as its alerts */
	if (aur_db_prepare(r->db, &st,
			   "SELECT 1 FROM alerts a JOIN incident_alerts ia ON ia.incident_id = ?1 AND ia.alert_id = a.id"
			   " WHERE a.source = ?3 AND a.dedup_key = ?4 AND a.first_inbox_id = ?2 AND ia.opened",
			   err, sizeof(err)) < 0) {
		aur_warn("incident %lld: %s", id, err);
		goto out;
	}
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, inbox_id);
	sqlite3_bind_text(st, 3, jv_string_value(source), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, jv_string_value(key), -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
out:
	jv_free(inbox);
	jv_free(source);
	jv_free(key);
	return found;
}

static int handle(struct rca *r, jv rec, unsigned long *rejected, unsigned long lineno)
{
	jv type = jv_object_get(jv_copy(rec), jv_string("type"));
	jv action = jv_object_get(jv_copy(rec), jv_string("action"));
	jv inc = jv_object_get(jv_copy(rec), jv_string("incident_id"));
	char err[512];
	int rc = 0;

	if (jv_get_kind(type) != JV_KIND_STRING || strcmp(jv_string_value(type), "decision") != 0 ||
	    jv_get_kind(action) != JV_KIND_STRING) {
		aur_warn("line %lu: not a decision record", lineno);
		(*rejected)++;
		goto out;
	}
	/* builds are remembered whatever became of them: the next regression may be theirs */
	rc = aur_rca_build_seen(r->db, r->dbo.busy_timeout_ms, rec, err, sizeof(err));
	if (rc < 0) {
		aur_err("line %lu: %s", lineno, err);
		goto out;
	}
	rc = 0;
	if (jv_get_kind(inc) != JV_KIND_NUMBER || jv_number_value(inc) < 1)
		goto out;
	if (!strcmp(jv_string_value(action), "created") ||
	    (!strcmp(jv_string_value(action), "deduplicated") && replays_creation(r, (long long)jv_number_value(inc), rec)))
		rc = on_created(r, (long long)jv_number_value(inc));
	else if (!strcmp(jv_string_value(action), "attached"))
		rc = on_attached(r, (long long)jv_number_value(inc), rec);
out:
	jv_free(type);
	jv_free(action);
	jv_free(inc);
	return rc;
}

static void advance_mark(struct rca *r)
{
	char err[512];
	int rc;

	if (!r->stage || r->batch <= r->marked)
		return;
	rc = aur_db_begin(r->db, r->dbo.busy_timeout_ms, err, sizeof(err));
	if (rc == 0)
		rc = aur_resume_set(r->db, r->stage, r->batch, err, sizeof(err));
	if (rc == 0)
		rc = aur_db_commit(r->db, r->dbo.busy_timeout_ms, err, sizeof(err));
	if (rc < 0) {
		aur_db_rollback(r->db);
		aur_warn("resume point stays at inbox id %lld: %s", r->marked, err);
		return;
	}
	r->marked = r->batch;
}

/* Investigations a crash left running: restart them, or fail them after RESTARTS_MAX. */
static int recover(struct rca *r)
{
	long long *ids = aur_xcalloc(RECOVER_MAX, sizeof(*ids));
	char err[512];
	size_t n = 0;
	int rc = aur_rca_running(r->db, ids, RECOVER_MAX, &n, err, sizeof(err));

	for (size_t i = 0; rc == 0 && i < n; i++) {
		long long count = 0;
		jv rec;

		rc = aur_rca_restart_count(r->db, ids[i], &count, err, sizeof(err));
		if (rc < 0)
			break;
		if (count >= RESTARTS_MAX) {
			rc = aur_rca_fail(r->db, r->dbo.busy_timeout_ms, ids[i], "rca.failed",
					  "investigation failed: it was interrupted again after being restarted twice",
					  &rec, err, sizeof(err));
			if (rc == 0)
				print_rec(r, rec);
			continue;
		}
		rc = aur_rca_event(r->db, r->dbo.busy_timeout_ms, ids[i], "rca.restarted",
				   "left running by an interrupted aurora-rca", err, sizeof(err));
		if (rc == 0) {
			char text[160];

			snprintf(text, sizeof(text),
				 "Investigation restarted: an interruption left it running (restart %lld of %d)",
				 count + 1, RESTARTS_MAX);
			rc = note(r, ids[i], text);
		}
		if (rc == 0) {
			aur_info("incident %lld: restarting the investigation an interruption left running", ids[i]);
			enqueue(r, ids[i]);
		}
	}
	if (rc < 0)
		aur_err("recovering investigations: %s", err);
	free(ids);
	return rc;
}

static int run(struct rca *r, struct aur_jsonl_reader *in, unsigned long *rejected)
{
	int out_fd = aur_pipe_watchable(STDOUT_FILENO);
	int in_open = 1;
	int rc = AUR_EXIT_OK;
	char err[1024];

	for (;;) {
		struct pollfd pfd[AUR_RCA_JOBS_MAX + 2];
		int n = 0;
		int timeout = -1;
		long long now;

		start_queued(r);
		if (!in_open && !r->njobs && !r->qlen)
			break;
		if (*r->stop || r->gone || r->ioerr)
			break;
		now = aur_time_mono_ms();
		for (int k = 0; k < r->njobs; k++) {
			long long left = r->jobs[k].deadline - now;

			pfd[n].fd = r->jobs[k].fd;
			pfd[n].events = POLLIN;
			n++;
			if (timeout < 0 || left < timeout)
				timeout = left < 0 ? 0 : (int)(left > 60000 ? 60000 : left);
		}
		if (r->qlen && timeout < 0)
			timeout = 1000; /* a fork that failed is tried again */
		if (in_open) {
			pfd[n].fd = in->fd;
			pfd[n].events = POLLIN;
			n++;
			if (aur_jsonl_reader_ready(in))
				timeout = 0;
		}
		if (out_fd >= 0) {
			pfd[n].fd = out_fd;
			pfd[n].events = 0;
			n++;
		}
		if (poll(pfd, (nfds_t)n, timeout) < 0 && errno != EINTR) {
			aur_err("poll: %s", strerror(errno));
			rc = AUR_EXIT_IOERR;
			break;
		}
		if (out_fd >= 0 && (pfd[n - 1].revents & (POLLERR | POLLHUP))) {
			r->gone = 1;
			break;
		}
		/* the children first: their pipes must not fill while input waits */
		for (int k = r->njobs - 1, p = r->njobs - 1; k >= 0; k--, p--)
			if (pfd[p].revents)
				read_job(r, k);
		check_deadlines(r);
		while (in_open && aur_jsonl_reader_ready(in) && !*r->stop) {
			jv rec;
			long long inbox_id;
			int got = aur_jsonl_read(in, &rec, err, sizeof(err));

			if (got == 0) {
				in_open = 0;
				break;
			}
			if (got == -E2BIG || got == -EINVAL) {
				if (got == -E2BIG)
					aur_warn("line %lu: longer than %zu bytes, skipped", in->lineno, in->max_line);
				else
					aur_warn("line %lu: %s", in->lineno, err);
				(*rejected)++;
				continue;
			}
			if (got == -EPIPE) {
				r->gone = 1;
				break;
			}
			if (got < 0) {
				aur_err("reading standard input: %s", strerror(-got));
				rc = aur_cli_exit_code(got);
				in_open = 0;
				break;
			}
			if (r->pass)
				print_rec(r, jv_copy(rec));
			got = handle(r, rec, rejected, in->lineno);
			if (got < 0) {
				jv_free(rec);
				rc = aur_cli_exit_code(got); /* aurora(7): a full disk is 75 as a lock is */
				in_open = 0;
				break;
			}
			/* the claim is committed: crash recovery restarts it, so the delivery is done */
			if (aur_resume_record(rec, &inbox_id) == 1 && inbox_id > r->batch)
				r->batch = inbox_id;
			jv_free(rec);
		}
		advance_mark(r);
		if (rc != AUR_EXIT_OK)
			break;
	}
	if (r->gone)
		aur_info("the reader of standard output went away: stopping");
	/* aurora(7): a failed write to standard output is 74, whatever its errno */
	if (rc == AUR_EXIT_OK && r->ioerr)
		rc = AUR_EXIT_IOERR;
	return rc;
}

/* Stopped early: children die, their incidents stay running for the next start to recover. */
static void stop_jobs(struct rca *r)
{
	for (int k = 0; k < r->njobs; k++) {
		int status;

		kill(r->jobs[k].pid, SIGKILL);
		close(r->jobs[k].fd);
		while (waitpid(r->jobs[k].pid, &status, 0) < 0 && errno == EINTR)
			;
		aur_buf_release(&r->jobs[k].line);
	}
	r->njobs = 0;
}

/*
 * The first run on a database: the stage gets a mark where aurora-correlate's
 * is, so `aurora-inbox follow --resume rca` can start at once. Deliveries
 * decided before aurora-rca joined the pipeline are not investigated.
 */
static int first_mark(struct rca *r, char *err, size_t errlen)
{
	long long at = 0;
	int rc = aur_resume_get(r->db, AUR_RESUME_DEFAULT_STAGE, &at, err, errlen);

	if (rc < 0 && rc != -ENOENT)
		return rc;
	rc = aur_db_begin(r->db, r->dbo.busy_timeout_ms, err, errlen);
	if (rc == 0)
		rc = aur_resume_set(r->db, r->stage, at, err, errlen);
	if (rc == 0)
		rc = aur_db_commit(r->db, r->dbo.busy_timeout_ms, err, errlen);
	if (rc < 0) {
		aur_db_rollback(r->db);
		return rc;
	}
	r->marked = at;
	return 0;
}

void aur_rca_settings_init(struct aur_rca_settings *s)
{
	memset(s, 0, sizeof(*s));
	aur_db_options_init(&s->dbo);
	/*
	 * Each thought is a commit of its own, written while aurora-correlate
	 * commits decisions: an fsync per thought held the write lock long
	 * enough to take alert decisions from 10 ms to 700 ms (p99, make bench)
	 * during a burst of investigations.
	 */
	s->dbo.synchronous_full = 0;
	aur_inv_options_init(&s->io);
	s->jobs_max = 2;
	s->timeout_ms = 60000;
	s->rate_n = 30;
	s->rate_ms = 600000;
	s->stage = "rca";
}

int aur_rca_dispatch(const struct aur_rca_settings *s, sqlite3 *db, struct aur_jsonl_reader *in,
		     const volatile sig_atomic_t *stop, unsigned long *rejected, int *gone)
{
	struct rca r;
	char err[1024];
	int rc;

	memset(&r, 0, sizeof(r));
	r.db = db;
	r.db_path = s->db_path;
	r.dbo = s->dbo;
	r.inv = s->inv;
	r.io = s->io;
	r.io.budget_ms = s->timeout_ms;
	r.jobs_max = s->jobs_max < 1 ? 1 : s->jobs_max > AUR_RCA_JOBS_MAX ? AUR_RCA_JOBS_MAX : s->jobs_max;
	r.timeout_ms = s->timeout_ms;
	r.rate_n = s->rate_n < 1 ? 1 : s->rate_n;
	r.rate_ms = s->rate_ms;
	r.stage = s->stage;
	r.pass = s->pass;
	r.stop = stop;
	r.starts = aur_xcalloc((size_t)r.rate_n, sizeof(*r.starts));
	*gone = 0;
	if (r.stage) {
		rc = aur_resume_get(db, r.stage, &r.marked, err, sizeof(err));
		if (rc == -ENOENT)
			rc = first_mark(&r, err, sizeof(err));
		if (rc < 0) {
			aur_err("%s", err);
			rc = aur_cli_exit_code(rc);
			goto out;
		}
		r.batch = r.marked;
	}
	aur_jsonl_reader_watch(in, STDOUT_FILENO);
	aur_jsonl_writer_init(&r.out, stdout, -1);
	rc = recover(&r);
	if (rc < 0) {
		rc = aur_cli_exit_code(rc);
		goto out;
	}
	rc = run(&r, in, rejected);
	if (r.njobs)
		stop_jobs(&r);
	*gone = r.gone;
out:
	free(r.starts);
	free(r.queue);
	return rc;
}
