/*
 * pipe.h - a stage in the middle of a pipeline notices its reader leaving.
 *
 * A filter blocked in read(2) on its standard input does not learn that the
 * stage after it died until it next writes, which may be minutes later when
 * alerts are quiet: meanwhile the stages before it keep reading the inbox
 * into a pipe nobody drains, and a supervisor waiting for the pipeline to
 * end before restarting it waits too. The write end of a pipe or socket
 * reports POLLERR (pipe) or POLLHUP (socket) as soon as the reader is gone,
 * so a reader polls its output together with its input before each
 * blocking read and stops at once.
 */
#ifndef AURORA_PIPE_H
#define AURORA_PIPE_H

/*
 * fd when it is a pipe or a socket, whose reader can go away; -1 for a
 * file, a terminal or a bad descriptor, which need no watching.
 */
int aur_pipe_watchable(int fd);

/*
 * Wait until in_fd is readable (data, end of input or an error to report
 * through read) or out_fd's reader went away; out_fd -1 watches nothing.
 * 0 when in_fd is ready; -EPIPE when out_fd's reader is gone (checked
 * first: no more input is worth reading for nobody); other -errno from
 * poll. Signals are waited through, as read(2) with EINTR retried would.
 */
int aur_pipe_wait_input(int in_fd, int out_fd);

#endif
