/*
 * log.h - one line per event on stderr, syslog or a log file.
 *
 * The format is "aurora-name: message" without a final full stop. Where fd 2
 * is a client socket (inetd, systemd Accept=yes with StandardInput=socket)
 * aurora-recv switches to syslog or a file before it logs anything.
 * Each line goes out in a single write(2), so threads do not interleave.
 * Control characters (C0, DEL, C1) and bytes that are not UTF-8 are
 * written as \xNN in every sink: a message quoting what a client or a
 * record sent cannot forge a line or reach the reader's terminal.
 * These are the only lib/ functions that print; lib/ itself never calls them
 * except through the caller's own code paths.
 */
#ifndef AURORA_LOG_H
#define AURORA_LOG_H

#include <stdarg.h>

enum aur_log_level {
	AUR_LOG_ERROR = 0,
	AUR_LOG_WARN = 1,
	AUR_LOG_INFO = 2,
	AUR_LOG_DEBUG = 3
};

enum aur_log_sink {
	AUR_LOG_STDERR = 0,
	AUR_LOG_SYSLOG = 1,
	AUR_LOG_FILE = 2,
	AUR_LOG_NONE = 3
};

/*
 * Set the program name and the level. The level starts at WARN; AURORA_LOG
 * (error|warn|info|debug) overrides it; -q and -v in each command adjust it.
 */
void aur_log_init(const char *prog);
void aur_log_set_level(int level);
int aur_log_level(void);
/*
 * Send lines to syslog (facility daemon), to a file opened for append
 * (path required), or nowhere. 0, or -errno when the file cannot be opened
 * (the sink is then unchanged).
 */
int aur_log_set_sink(enum aur_log_sink sink, const char *path);
enum aur_log_sink aur_log_sink(void);

void aur_log(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * For library modules, which never write themselves: format a line and hand
 * it to sink (their options' log callback), unless sink is NULL or the
 * level is not logged. Lines longer than 1023 bytes are cut.
 */
void aur_log_to(void (*sink)(int level, const char *msg), int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void aur_log_vto(void (*sink)(int level, const char *msg), int level, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

#define aur_err(...) aur_log(AUR_LOG_ERROR, __VA_ARGS__)
#define aur_warn(...) aur_log(AUR_LOG_WARN, __VA_ARGS__)
#define aur_info(...) aur_log(AUR_LOG_INFO, __VA_ARGS__)
#define aur_debug(...) aur_log(AUR_LOG_DEBUG, __VA_ARGS__)

#endif
