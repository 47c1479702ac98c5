/*
 * diag_impl.h - the private half of diag.h, shared by the files of the one
 * run_diagnostic module and included by nothing else:
 *   diag.c         the operator's allow-list (parsing, settings) and the
 *                  check of a command against it and the deny list
 *   diag_deny.c    the built-in deny list: tables of words, each saying
 *                  what it keeps out
 *   diag_run.c     the shell-less runner: fork, execve, time and output caps
 *   diag_redact.c  the redaction of what a command printed
 * The words helpers below write the reasons both lists give.
 */
#ifndef AURORA_DIAG_IMPL_H
#define AURORA_DIAG_IMPL_H

#include <errno.h>
#include <stddef.h>

#include "diag.h"

#define DIAG_MAX_ENV 16

struct diag_rule {
	char *prog;    /* a name or an absolute path */
	char **pat;    /* pattern words */
	size_t npat;
	int rest;      /* a final "..." */
	int line;
};

struct aur_diag_policy {
	char *name;
	struct diag_rule *rules;
	size_t nrules;
	int timeout_ms;
	size_t max_output;
	char *env[DIAG_MAX_ENV]; /* "NAME=VALUE", owned */
	size_t nenv;
};

/*
 * A reason into reason[len], "refused: " first, redacted: reasons quote
 * what the investigator sent, which may hold a secret.
 */
void diag_reasonf(char *reason, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Write a reason and refuse: in functions with reason and len in scope. */
#define DIAG_DENY(...)                                     \
	do {                                               \
		diag_reasonf(reason, len, __VA_ARGS__);    \
		return -EPERM;                             \
	} while (0)

/*
 * The deny list's rules of the program called prog (a base name) for the
 * command argv: 0, or -EPERM with the reason. aur_diag_denied applies them
 * to the name the command gives; the check again to the file a rule
 * resolved to, whose name may differ (a symlink).
 */
int diag_deny_program(const char *prog, size_t argc, const char *const *argv, const char *cmdline,
		      char *reason, size_t len);

/* The command as one line, for reasons (bounded, "..." when cut). */
void diag_join_words(size_t argc, const char *const *argv, char *buf, size_t len);
/* The last part of a path (borrowed from p). */
const char *diag_base_name(const char *p);
/* 1 when w is one of the NULL-ended list. */
int diag_in_list(const char *w, const char *const *list);

#endif
