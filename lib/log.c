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

/* The length of a UTF-8 sequence at s (at most n bytes) that is not a control character (C1), else 0. */
static size_t utf8_printable(const unsigned char *s, size_t n)
{
	size_t len = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 && s[0] < 0xe0 ? 2 : 0;

	if (len == 0 || len > n)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	/* U+0080..U+009F: C1 controls, which terminals obey as escapes too */
	if (s[0] == 0xc2 && s[1] < 0xa0)
		return 0;
	return len;
}

/*
 * msg[0..n) into out (room for max bytes) with every control character
 * (C0, DEL, C1) and every byte that is not UTF-8 written as \xNN, so that
 * what a client sent (a path with %0A or %1B, a record with escape bytes)
 * can neither start a forged line nor drive the terminal of whoever reads
 * the log. Cut at a whole character. The length written.
 */
static size_t escape(char *out, size_t max, const char *msg, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)msg;
	size_t w = 0;

	for (size_t i = 0; i < n;) {
		size_t len = s[i] >= 0x20 && s[i] < 0x7f ? 1 : s[i] >= 0x80 ? utf8_printable(s + i, n - i) : 0;

		if (len > 0) {
			if (w + len > max)
				break;
			memcpy(out + w, s + i, len);
			w += len;
			i += len;
			continue;
		}
		if (w + 4 > max)
			break;
		out[w++] = '\\';
		out[w++] = 'x';
		out[w++] = hex[s[i] >> 4];
		out[w++] = hex[s[i] & 15];
		i++;
	}
	return w;
}

void aur_log(int level, const char *fmt, ...)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char msg[2048];
	char line[2048];
	va_list ap;
	int m;
	size_t n = 0;

	if (level > log_level || log_sink == AUR_LOG_NONE)
		return;
	va_start(ap, fmt);
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		msg[0] = '\0';
	va_end(ap);
	if (log_sink == AUR_LOG_SYSLOG) {
		n = escape(line, sizeof(line) - 1, msg, strlen(msg));
		line[n] = '\0';
		syslog(prio[level], "%s", line);
		return;
	}
	m = snprintf(line, sizeof(line), "%s: ", log_prog);
	if (m > 0 && (size_t)m < sizeof(line))
		n = (size_t)m;
	n += escape(line + n, sizeof(line) - n - 1, msg, strlen(msg));
	line[n++] = '\n';
	while (write(log_fd, line, n) < 0 && errno == EINTR)
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
