/*
 * diag_run.c - run_diagnostic's runner (diag.h): a checked command run with
 * execve and no shell, in its own process group, with a fixed environment,
 * no input, a time limit (SIGKILL to the group, then a second's grace to
 * drain and reap) and a cap on the output kept; what it printed is
 * redacted (diag_redact.c) before anyone reads it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "buf.h"
#include "diag.h"
#include "diag_impl.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

#define GRACE_MS 1000

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

void aur_diag_result_release(struct aur_diag_result *res)
{
	if (!res)
		return;
	if (res->output)
		aur_auth_wipe(res->output, res->output_len);
	free(res->output);
	res->output = NULL;
	res->output_len = 0;
}

const char *aur_diag_result_describe(const struct aur_diag_result *res, char *buf, size_t len)
{
	int n;

	if (res->timed_out)
		n = snprintf(buf, len, "killed at the time limit after %lld ms", res->elapsed_ms);
	else if (!res->reaped)
		n = snprintf(buf, len, "still running after SIGKILL");
	else if (res->exited)
		n = snprintf(buf, len, "exit %d", res->exit_code);
	else
		n = snprintf(buf, len, "killed by signal %d", res->signal);
	if (n >= 0 && (size_t)n < len && res->truncated)
		snprintf(buf + n, len - (size_t)n, ", output cut at %zu bytes (%zu more discarded)",
			 res->kept, res->discarded);
	return buf;
}

/* in the child, between fork and execve: async-signal-safe calls only */
static void child(const struct aur_diag_cmd *cmd, char *const *envp, int out, int devnull,
		  const char *fail, size_t faillen)
{
	struct sigaction sa;
	struct rlimit zero = { 0, 0 };
	sigset_t none;

	setpgid(0, 0);
	/* above 2 first: a caller started with 0 or 1 closed may have had the
	 * pipe or /dev/null given those numbers */
	out = fcntl(out, F_DUPFD, 3);
	devnull = fcntl(devnull, F_DUPFD, 3);
	if (out < 0 || devnull < 0 || dup2(devnull, 0) < 0 || dup2(out, 1) < 0 ||
	    dup2(out, 2) < 0)
		_exit(127);
	if (close_range(3, ~0U, 0) < 0)
		for (int fd = 3; fd < 4096; fd++)
			close(fd);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (int s = 1; s < NSIG; s++)
		sigaction(s, &sa, NULL);
	/* a write past RLIMIT_FSIZE fails with EFBIG instead of killing */
	sa.sa_handler = SIG_IGN;
	sigaction(SIGXFSZ, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setrlimit(RLIMIT_CORE, &zero);
	setrlimit(RLIMIT_FSIZE, &zero);
	if (chdir("/") < 0)
		_exit(127);
	execve(cmd->path, cmd->argv, envp);
	if (write(1, fail, faillen) < 0)
		_exit(127);
	_exit(127);
}

int aur_diag_run(const struct aur_diag_policy *p, const struct aur_diag_cmd *cmd, int timeout_ms,
		 size_t max_output, struct aur_diag_result *res, char *err, size_t errlen)
{
	char *envp[DIAG_MAX_ENV + 5];
	char fail[PATH_MAX + 64];
	char chunk[16384];
	struct aur_buf out;
	int fds[2] = { -1, -1 };
	int devnull = -1;
	int have_home = 0;
	int status = 0;
	size_t ne = 0;
	long long start;
	long long deadline;
	pid_t pid = -1;
	int eof = 0;
	int exited = 0;
	int rc = -EINVAL;

	memset(res, 0, sizeof(*res));
	aur_buf_init(&out, 0);
	if (timeout_ms == 0)
		timeout_ms = aur_diag_policy_timeout_ms(p);
	if (max_output == 0)
		max_output = aur_diag_policy_max_output(p);
	if (timeout_ms < 0 || timeout_ms > AUR_DIAG_MAX_TIMEOUT_MS ||
	    max_output > AUR_DIAG_MAX_OUTPUT || !cmd || !cmd->path || !cmd->argv) {
		snprintf(err, errlen, "diagnostic: bad limits or an unchecked command");
		goto out;
	}
	out.max = max_output;

	envp[ne++] = (char *)"PATH=" AUR_DIAG_SAFE_PATH;
	envp[ne++] = (char *)"LANG=C";
	envp[ne++] = (char *)"LC_ALL=C";
	for (size_t i = 0; p && i < p->nenv; i++) {
		envp[ne++] = p->env[i];
		if (!strncmp(p->env[i], "HOME=", 5))
			have_home = 1;
	}
	if (!have_home)
		envp[ne++] = (char *)"HOME=/nonexistent";
	envp[ne] = NULL;
	snprintf(fail, sizeof(fail), "cannot execute %s\n", cmd->path);

	if (pipe2(fds, O_CLOEXEC) < 0) {
		rc = -errno;
		snprintf(err, errlen, "diagnostic: pipe: %s", strerror(errno));
		goto out;
	}
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (devnull < 0) {
		rc = -errno;
		snprintf(err, errlen, "diagnostic: /dev/null: %s", strerror(errno));
		goto out;
	}
	start = aur_time_mono_ms();
	deadline = start + timeout_ms;
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		snprintf(err, errlen, "diagnostic: fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0)
		child(cmd, envp, fds[1], devnull, fail, strlen(fail));
	/* both sides set the group, so a kill at once after fork finds it */
	setpgid(pid, pid);
	close(fds[1]);
	fds[1] = -1;
	res->reaped = 0;

	while (!exited) {
		long long left = deadline - aur_time_mono_ms();
		siginfo_t si;

		if (left <= 0) {
			res->timed_out = 1;
			break;
		}
		if (!eof) {
			struct pollfd pf = { fds[0], POLLIN, 0 };
			int n = poll(&pf, 1, (int)(left < 50 ? left : 50));
			/* a failed poll falls through to the exit check; the deadline bounds it */
			if (n > 0) {
				ssize_t r = read(fds[0], chunk, sizeof(chunk));
				if (r > 0) {
					size_t room = out.max - out.len;
					size_t keep = (size_t)r < room ? (size_t)r : room;
					if (keep)
						aur_buf_add(&out, chunk, keep);
					res->discarded += (size_t)r - keep;
				} else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
					eof = 1;
				}
				continue;
			}
		} else {
			sleep_ms(left < 2 ? (int)left : 2);
		}
		/* WNOWAIT: the pid stays ours until reaped, so the group kill is safe */
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid) {
			exited = 1;
			/* whatever it left in its group goes with it */
			kill(-pid, SIGKILL);
		}
	}
	if (res->timed_out) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
	}
	/* what is still in the pipe, until the group's last writer is gone */
	while (!eof) {
		long long left = deadline + (res->timed_out ? GRACE_MS : 0) - aur_time_mono_ms();
		struct pollfd pf = { fds[0], POLLIN, 0 };
		ssize_t r;

		if (left <= 0 || poll(&pf, 1, (int)left) <= 0)
			break;
		r = read(fds[0], chunk, sizeof(chunk));
		if (r <= 0)
			break;
		{
			size_t room = out.max - out.len;
			size_t keep = (size_t)r < room ? (size_t)r : room;
			if (keep)
				aur_buf_add(&out, chunk, keep);
			res->discarded += (size_t)r - keep;
		}
	}
	{
		/* a SIGKILLed group had its second in the drain; a little more to reap */
		long long until = res->timed_out ? deadline + GRACE_MS : aur_time_mono_ms() + GRACE_MS;

		if (until < aur_time_mono_ms() + 100)
			until = aur_time_mono_ms() + 100;
		for (;;) {
			pid_t w = waitpid(pid, &status, WNOHANG);
			if (w == pid) {
				res->reaped = 1;
				break;
			}
			if (w < 0 && errno != EINTR)
				break;
			if (aur_time_mono_ms() >= until)
				break;
			sleep_ms(2);
		}
	}
	res->elapsed_ms = aur_time_mono_ms() - start;
	if (res->reaped && WIFEXITED(status)) {
		res->exited = 1;
		res->exit_code = WEXITSTATUS(status);
	} else if (res->reaped && WIFSIGNALED(status)) {
		res->signal = WTERMSIG(status);
	}
	res->truncated = res->discarded > 0;
	res->kept = out.len;
	res->output = aur_diag_redact(out.data ? out.data : "", out.len, &res->output_len,
				      &res->redactions);
	rc = 0;
out:
	if (out.data)
		aur_auth_wipe(out.data, out.len);
	aur_buf_release(&out);
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	if (devnull >= 0)
		close(devnull);
	return rc;
}

int aur_diag_run_text(const struct aur_diag_policy *p, const char *text,
		      struct aur_diag_result *res, char *why, size_t whylen)
{
	struct aur_diag_cmd cmd;
	int rc;

	memset(res, 0, sizeof(*res));
	rc = aur_diag_check(p, text, &cmd, why, whylen);
	if (rc < 0)
		goto out;
	rc = aur_diag_run(p, &cmd, 0, 0, res, why, whylen);
out:
	aur_diag_cmd_release(&cmd);
	return rc;
}

/* ------------------------------------------------------------ redaction */
