/*
 * diag.c - run_diagnostic's gate (diag.h): the operator's allow-list, read
 * from its file (rules and @settings), and the check of a command word by
 * word against it and against the built-in deny list (diag_deny.c), which
 * the allow-list cannot override. diag_impl.h lists the module's files.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "diag.h"
#include "diag_impl.h"
#include "xalloc.h"
#include "banned.h"

#define MAX_RULES 4096

/* ---------------------------------------------------------------- words */

static int safe_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("._:/=@,+%-", c) != NULL);
}

/* a word naming c for a reason: "'|'", "a newline", ... */
static void name_char(unsigned char c, char *buf, size_t len)
{
	if (c == '\n')
		snprintf(buf, len, "a newline");
	else if (c < 0x20 || c == 0x7f)
		snprintf(buf, len, "a control character");
	else if (c >= 0x80)
		snprintf(buf, len, "a non-ASCII byte");
	else
		snprintf(buf, len, "'%c'", c);
}
/* reasons quote what the investigator sent, which may hold a secret */
void diag_reasonf(char *reason, size_t len, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	char *r;
	size_t n;

	if (!reason || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	r = aur_diag_redact(tmp, strlen(tmp), &n, NULL);
	/* a redacted line can take the prefix with it; a reason keeps it */
	snprintf(reason, len, "%s%s", strncmp(r, "refused: ", 9) != 0 ? "refused: " : "", r);
	free(r);
}

/* the command as one line, for reasons (bounded) */
void diag_join_words(size_t argc, const char *const *argv, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < argc && off + 1 < len; i++) {
		int n = snprintf(buf + off, len - off, "%s%s", i ? " " : "", argv[i]);
		if (n < 0)
			break;
		off += (size_t)n;
	}
	if (off >= len && len > 4)
		memcpy(buf + len - 4, "...", 4);
}

const char *diag_base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}
int diag_in_list(const char *w, const char *const *list)
{
	for (size_t i = 0; list[i]; i++)
		if (!strcmp(w, list[i]))
			return 1;
	return 0;
}
/* ----------------------------------------------------------- allow-list */

static void rule_release(struct diag_rule *r)
{
	free(r->prog);
	for (size_t i = 0; i < r->npat; i++)
		free(r->pat[i]);
	free(r->pat);
}

void aur_diag_policy_free(struct aur_diag_policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nrules; i++)
		rule_release(&p->rules[i]);
	free(p->rules);
	for (size_t i = 0; i < p->nenv; i++)
		free(p->env[i]);
	free(p->name);
	free(p);
}

int aur_diag_policy_timeout_ms(const struct aur_diag_policy *p)
{
	return p && p->timeout_ms ? p->timeout_ms : AUR_DIAG_DEFAULT_TIMEOUT_MS;
}

size_t aur_diag_policy_max_output(const struct aur_diag_policy *p)
{
	return p && p->max_output ? p->max_output : AUR_DIAG_DEFAULT_MAX_OUTPUT;
}

static const char *const env_names[] = {
	"KUBECONFIG", "HOME", "TZ", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION",
	"AWS_CONFIG_FILE", "CLOUDSDK_CONFIG", "CLOUDSDK_CORE_PROJECT", "AZURE_CONFIG_DIR",
	"DOCKER_HOST", "CONTAINER_HOST", NULL,
};

/* a pattern word: safe characters, and at most one placeholder, at its end */
static int check_pattern(const char *w, char *why, size_t len)
{
	size_t n = strlen(w);
	size_t lit = n;

	if (n >= 5 && (!strcmp(w + n - 5, "<arg>") || !strcmp(w + n - 5, "<num>")))
		lit = n - 5;
	for (size_t i = 0; i < lit; i++) {
		if (!safe_char((unsigned char)w[i])) {
			char c[32];
			name_char((unsigned char)w[i], c, sizeof(c));
			snprintf(why, len, "%s in `%s` can never match: a command word holds only "
				 "letters, digits and . _ : / = @ , + %% - (placeholders are <arg> "
				 "and <num>, at the end of a word)", c, w);
			return -EINVAL;
		}
	}
	return 0;
}

static int parse_line(struct aur_diag_policy *p, char *line, int lineno, char *why, size_t len)
{
	char *words[AUR_DIAG_MAX_WORDS + 1];
	size_t n = 0;
	char *s = line;
	struct diag_rule r = { 0 };
	long v;
	char *end;

	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == '\r')
			s++;
		if (!*s || *s == '#')
			break;
		if (n == AUR_DIAG_MAX_WORDS) {
			snprintf(why, len, "more than %d words", AUR_DIAG_MAX_WORDS);
			return -EINVAL;
		}
		words[n++] = s;
		while (*s && *s != ' ' && *s != '\t' && *s != '\r')
			s++;
		if (*s)
			*s++ = '\0';
	}
	if (n == 0)
		return 0;
	if (words[0][0] == '@') {
		if (n != 2) {
			snprintf(why, len, "%s takes one value", words[0]);
			return -EINVAL;
		}
		if (!strcmp(words[0], "@timeout") || !strcmp(words[0], "@max-output")) {
			int is_t = words[0][1] == 't';
			errno = 0;
			v = strtol(words[1], &end, 10);
			if (errno || *end || end == words[1] || v < 1 ||
			    v > (is_t ? AUR_DIAG_MAX_TIMEOUT_MS : (long)AUR_DIAG_MAX_OUTPUT)) {
				snprintf(why, len, "%s wants %s from 1 to %ld, not `%s`", words[0],
					 is_t ? "milliseconds" : "bytes",
					 is_t ? (long)AUR_DIAG_MAX_TIMEOUT_MS : (long)AUR_DIAG_MAX_OUTPUT,
					 words[1]);
				return -EINVAL;
			}
			if (is_t)
				p->timeout_ms = (int)v;
			else
				p->max_output = (size_t)v;
			return 0;
		}
		if (!strcmp(words[0], "@env")) {
			char name[64];
			const char *eq = strchr(words[1], '=');
			if (!eq || (size_t)(eq - words[1]) >= sizeof(name)) {
				snprintf(why, len, "@env wants NAME=VALUE");
				return -EINVAL;
			}
			memcpy(name, words[1], (size_t)(eq - words[1]));
			name[eq - words[1]] = '\0';
			if (!diag_in_list(name, env_names)) {
				snprintf(why, len, "@env %s: only KUBECONFIG, HOME, TZ, AWS_PROFILE, "
					 "AWS_REGION, AWS_DEFAULT_REGION, AWS_CONFIG_FILE, "
					 "CLOUDSDK_CONFIG, CLOUDSDK_CORE_PROJECT, AZURE_CONFIG_DIR, "
					 "DOCKER_HOST and CONTAINER_HOST may be set", name);
				return -EINVAL;
			}
			if (p->nenv == DIAG_MAX_ENV) {
				snprintf(why, len, "more than %d @env settings", DIAG_MAX_ENV);
				return -EINVAL;
			}
			p->env[p->nenv++] = aur_xstrdup(words[1]);
			return 0;
		}
		snprintf(why, len, "unknown setting %s (@timeout, @max-output, @env)", words[0]);
		return -EINVAL;
	}
	/* a rule */
	if (strchr(words[0], '<') || check_pattern(words[0], why, len) < 0) {
		snprintf(why, len, "the program `%s` must be a name or an absolute path of "
			 "letters, digits and . _ : / = @ , + %% -", words[0]);
		return -EINVAL;
	}
	if (strchr(words[0], '/') && (words[0][0] != '/' || strstr(words[0], "/../") ||
				      strstr(words[0], "/./"))) {
		snprintf(why, len, "the program `%s` must be a plain name (found in %s) or an "
			 "absolute path", words[0], AUR_DIAG_SAFE_PATH);
		return -EINVAL;
	}
	if (p->nrules == MAX_RULES) {
		snprintf(why, len, "more than %d rules", MAX_RULES);
		return -EINVAL;
	}
	for (size_t i = 1; i < n; i++) {
		if (!strcmp(words[i], "...")) {
			if (i != n - 1) {
				snprintf(why, len, "`...` must be the last word of a rule");
				return -EINVAL;
			}
			continue;
		}
		if (check_pattern(words[i], why, len) < 0)
			return -EINVAL;
	}
	r.line = lineno;
	r.prog = aur_xstrdup(words[0]);
	r.rest = n > 1 && !strcmp(words[n - 1], "...");
	r.npat = n - 1 - (size_t)r.rest;
	r.pat = aur_xcalloc(r.npat + 1, sizeof(*r.pat));
	for (size_t i = 0; i < r.npat; i++)
		r.pat[i] = aur_xstrdup(words[i + 1]);
	p->rules = aur_xrealloc(p->rules, (p->nrules + 1) * sizeof(*p->rules));
	p->rules[p->nrules++] = r;
	return 0;
}

int aur_diag_policy_parse(const char *text, const char *name, struct aur_diag_policy **out,
			  char *err, size_t errlen)
{
	struct aur_diag_policy *p = aur_xcalloc(1, sizeof(*p));
	char *copy = aur_xstrdup(text);
	char *line = copy;
	char why[512];
	int lineno = 0;
	int rc = -EINVAL;

	*out = NULL;
	p->name = aur_xstrdup(name ? name : "allow-list");
	while (line) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		lineno++;
		if (strlen(line) > AUR_DIAG_MAX_TEXT) {
			snprintf(err, errlen, "%s: line %d: longer than %d bytes", p->name, lineno,
				 AUR_DIAG_MAX_TEXT);
			goto out;
		}
		why[0] = '\0';
		if (parse_line(p, line, lineno, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "%s: line %d: %s", p->name, lineno, why);
			goto out;
		}
		line = nl ? nl + 1 : NULL;
	}
	*out = p;
	p = NULL;
	rc = 0;
out:
	aur_diag_policy_free(p);
	free(copy);
	return rc;
}

int aur_diag_policy_load(const char *path, struct aur_diag_policy **out, char *err,
			 size_t errlen)
{
	struct aur_buf b;
	char chunk[4096];
	FILE *f = NULL;
	size_t n;
	int rc;

	*out = NULL;
	aur_buf_init(&b, 1 << 20);
	f = fopen(path, "r");
	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (memchr(chunk, '\0', n)) {
			rc = -EINVAL;
			snprintf(err, errlen, "%s: a NUL byte: not a text file", path);
			goto out;
		}
		if (aur_buf_add(&b, chunk, n) < 0) {
			rc = -EINVAL;
			snprintf(err, errlen, "%s: larger than 1 MiB", path);
			goto out;
		}
	}
	if (ferror(f)) {
		rc = -EIO;
		snprintf(err, errlen, "%s: read error", path);
		goto out;
	}
	rc = aur_diag_policy_parse(b.data ? b.data : "", path, out, err, errlen);
out:
	if (f)
		fclose(f);
	aur_buf_release(&b);
	return rc;
}

/* ------------------------------------------------------------- checking */

/* the absolute path of an executable name in the safe PATH, into buf */
static int resolve(const char *name, char *buf, size_t len)
{
	static const char *const dirs[] = { "/usr/local/bin", "/usr/bin", "/bin", NULL };
	struct stat st;

	if (name[0] == '/') {
		snprintf(buf, len, "%s", name);
		return stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, X_OK) == 0 ? 0
											       : -ENOENT;
	}
	for (size_t i = 0; dirs[i]; i++) {
		int n = snprintf(buf, len, "%s/%s", dirs[i], name);
		if (n < 0 || (size_t)n >= len)
			continue;
		if (stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, X_OK) == 0)
			return 0;
	}
	return -ENOENT;
}

static int word_matches(const char *pat, const char *w)
{
	size_t n = strlen(pat);
	size_t lit = n;
	const char *ph = NULL;

	if (n >= 5 && (!strcmp(pat + n - 5, "<arg>") || !strcmp(pat + n - 5, "<num>"))) {
		lit = n - 5;
		ph = pat + lit;
	}
	if (!ph)
		return !strcmp(pat, w);
	if (strncmp(pat, w, lit) != 0)
		return 0;
	w += lit;
	if (!*w)
		return 0;
	if (!strcmp(ph, "<num>")) {
		size_t k = strlen(w);
		if (k > 9)
			return 0;
		for (const char *s = w; *s; s++)
			if (!isdigit((unsigned char)*s))
				return 0;
		return 1;
	}
	/* <arg>: a name, never an option, never a way up the tree */
	if (w[0] == '-' || !strcmp(w, "..") || !strncmp(w, "../", 3) || strstr(w, "/../") ||
	    (strlen(w) >= 3 && !strcmp(w + strlen(w) - 3, "/..")))
		return 0;
	return 1;
}

/* 1 when rule r permits argv; path gets what to execve */
static int rule_matches(const struct diag_rule *r, size_t argc, const char *const *argv,
			char *path, size_t len)
{
	char rp[PATH_MAX];

	if (resolve(r->prog, rp, sizeof(rp)) < 0)
		return 0;
	if (strcmp(argv[0], r->prog) != 0 && strcmp(argv[0], rp) != 0)
		return 0;
	if (argc - 1 < r->npat || (!r->rest && argc - 1 != r->npat))
		return 0;
	for (size_t i = 0; i < r->npat; i++)
		if (!word_matches(r->pat[i], argv[i + 1]))
			return 0;
	snprintf(path, len, "%s", rp);
	return 1;
}

void aur_diag_cmd_release(struct aur_diag_cmd *cmd)
{
	if (!cmd)
		return;
	if (cmd->argv)
		for (size_t i = 0; i < cmd->argc; i++)
			free(cmd->argv[i]);
	free(cmd->argv);
	free(cmd->path);
	cmd->argv = NULL;
	cmd->path = NULL;
	cmd->argc = 0;
}

int aur_diag_check_argv(const struct aur_diag_policy *p, size_t argc, const char *const *argv,
			struct aur_diag_cmd *cmd, char *reason, size_t len)
{
	char path[PATH_MAX];
	char real[PATH_MAX];
	char cmdline[512];
	size_t total = 0;
	int rc;

	memset(cmd, 0, sizeof(*cmd));
	if (reason && len)
		reason[0] = '\0';
	if (argc == 0) {
		diag_reasonf(reason, len, "refused: an empty command");
		return -EINVAL;
	}
	if (argc > AUR_DIAG_MAX_WORDS)
		DIAG_DENY("refused: more than %d words", AUR_DIAG_MAX_WORDS);
	for (size_t i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]);
		total += n + 1;
		if (n == 0)
			DIAG_DENY("refused: an empty word");
		if (n > AUR_DIAG_MAX_WORD || total > AUR_DIAG_MAX_TEXT)
			DIAG_DENY("refused: a word longer than %d bytes or a command longer than %d",
				  AUR_DIAG_MAX_WORD, AUR_DIAG_MAX_TEXT);
		for (size_t k = 0; k < n; k++) {
			if (!safe_char((unsigned char)argv[i][k])) {
				char c[32];
				name_char((unsigned char)argv[i][k], c, sizeof(c));
				DIAG_DENY("refused: %s in `%.64s` because commands run without a shell, so shell "
					  "metacharacters, quotes and anything but letters, digits and "
					  ". _ : / = @ , + %% - are refused, never interpreted", c, argv[i]);
			}
		}
	}
	rc = aur_diag_denied(argc, argv, reason, len);
	if (rc < 0)
		return rc;
	diag_join_words(argc, argv, cmdline, sizeof(cmdline));
	for (size_t i = 0; p && i < p->nrules; i++) {
		if (!rule_matches(&p->rules[i], argc, argv, path, sizeof(path)))
			continue;
		/* the deny list again under the name the file really has (a symlink) */
		if (realpath(path, real)) {
			const char *b = diag_base_name(real);
			if (strcmp(b, diag_base_name(argv[0])) != 0) {
				rc = diag_deny_program(b, argc, argv, cmdline, reason, len);
				if (rc < 0)
					return rc;
			}
		}
		cmd->path = aur_xstrdup(path);
		cmd->argv = aur_xcalloc(argc + 1, sizeof(*cmd->argv));
		for (size_t k = 0; k < argc; k++)
			cmd->argv[k] = aur_xstrdup(argv[k]);
		cmd->argc = argc;
		return 0;
	}
	DIAG_DENY("refused: `%s` because no rule of the allow-list %s permits it", cmdline,
		  p ? p->name : "(none)");
}

int aur_diag_check(const struct aur_diag_policy *p, const char *text, struct aur_diag_cmd *cmd,
		   char *reason, size_t len)
{
	char copy[AUR_DIAG_MAX_TEXT + 1];
	const char *argv[AUR_DIAG_MAX_WORDS + 1];
	size_t argc = 0;
	size_t n = strlen(text);
	char *s;

	memset(cmd, 0, sizeof(*cmd));
	if (n > AUR_DIAG_MAX_TEXT)
		DIAG_DENY("refused: a command longer than %d bytes", AUR_DIAG_MAX_TEXT);
	/* refuse before splitting, so no character is ever dropped or read as a blank */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c != ' ' && c != '\t' && !safe_char(c)) {
			char cn[32];
			name_char(c, cn, sizeof(cn));
			DIAG_DENY("refused: %s in the command because commands run without a shell, so shell "
				  "metacharacters, quotes and anything but letters, digits and "
				  ". _ : / = @ , + %% - are refused, never interpreted", cn);
		}
	}
	memcpy(copy, text, n + 1);
	s = copy;
	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		if (argc == AUR_DIAG_MAX_WORDS)
			DIAG_DENY("refused: more than %d words", AUR_DIAG_MAX_WORDS);
		argv[argc++] = s;
		while (*s && *s != ' ' && *s != '\t')
			s++;
		if (*s)
			*s++ = '\0';
	}
	if (argc == 0) {
		diag_reasonf(reason, len, "refused: an empty command");
		return -EINVAL;
	}
	argv[argc] = NULL;
	return aur_diag_check_argv(p, argc, argv, cmd, reason, len);
}
