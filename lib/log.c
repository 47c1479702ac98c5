#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"
#include "banned.h"

/*
 * Logging state is process-wide by nature (like syslog's own); it is set
 * once at start-up, before any thread exists.
 */
static const char *log_prog = "aurora";
static int log_level = AUR_LOG_WARN;
static enum aur_log_sink log_sink = AUR_LOG_STDERR;
static int log_fd = 2;

void aur_log_init(const char *prog)
{
	const char *env = getenv("AURORA_LOG");

	log_prog = prog;
	if (!env || !*env)
		return;
	if (!strcasecmp(env, "error"))
		log_level = AUR_LOG_ERROR;
	else if (!strcasecmp(env, "warn"))
		log_level = AUR_LOG_WARN;
	else if (!strcasecmp(env, "info"))
		log_level = AUR_LOG_INFO;
	else if (!strcasecmp(env, "debug"))
		log_level = AUR_LOG_DEBUG;
}

void aur_log_set_level(int level)
{
	if (level < AUR_LOG_ERROR)
		level = AUR_LOG_ERROR;
	if (level > AUR_LOG_DEBUG)
		level = AUR_LOG_DEBUG;
	log_level = level;
}

int aur_log_level(void)
{
	return log_level;
}

int aur_log_set_sink(enum aur_log_sink sink, const char *path)
{
	int fd;

	switch (sink) {
	case AUR_LOG_FILE:
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (fd < 0)
			return -errno;
		if (log_sink == AUR_LOG_FILE)
			close(log_fd);
		log_fd = fd;
		break;
	case AUR_LOG_SYSLOG:
		openlog(log_prog, LOG_PID | LOG_NDELAY, LOG_DAEMON);
		break;
	case AUR_LOG_STDERR:
		log_fd = 2;
		break;
	case AUR_LOG_NONE:
		break;
	}
	log_sink = sink;
	return 0;
}

enum aur_log_sink aur_log_sink(void)
{
	return log_sink;
}

void aur_log(int level, const char *fmt, ...)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char line[2048];
	va_list ap;
	int n;
	int m;

	if (level > log_level || log_sink == AUR_LOG_NONE)
		return;
	va_start(ap, fmt);
	if (log_sink == AUR_LOG_SYSLOG) {
		vsnprintf(line, sizeof(line), fmt, ap);
		va_end(ap);
		syslog(prio[level], "%s", line);
		return;
	}
	n = snprintf(line, sizeof(line), "%s: ", log_prog);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	while (write(log_fd, line, (size_t)n) < 0 && errno == EINTR)
		;
}

void aur_log_vto(void (*sink)(int level, const char *msg), int level, const char *fmt, va_list ap)
{
	char msg[1024];

	if (!sink || level > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	sink(level, msg);
}

void aur_log_to(void (*sink)(int level, const char *msg), int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	aur_log_vto(sink, level, fmt, ap);
	va_end(ap);
}
