#include <errno.h>
#include <poll.h>
#include <sys/stat.h>

#include "pipe.h"
#include "banned.h"

int aur_pipe_watchable(int fd)
{
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		return -1;
	return S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) ? fd : -1;
}

int aur_pipe_wait_input(int in_fd, int out_fd)
{
	/* events 0 on the output: POLLERR and POLLHUP are reported regardless */
	struct pollfd p[2] = { { in_fd, POLLIN, 0 }, { out_fd, 0, 0 } };
	int n;

	if (out_fd < 0)
		return 0;
	for (;;) {
		n = poll(p, 2, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (p[1].revents & (POLLERR | POLLHUP))
			return -EPIPE;
		if (p[0].revents)
			return 0;
	}
}
