/*
 * diag.c - run_diagnostic: allow-list, deny list, a shell-less runner and
 * redaction. diag.h says what each part guarantees and why.
 *
 * The deny list is tables of words, not patterns: each table says what it
 * keeps out. It is a floor under the operator's allow-list, not a complete
 * catalogue of harmful commands; the allow-list stays the main gate.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "diag.h"
#include "xalloc.h"
#include "banned.h"

#define MAX_ENV 16
#define MAX_RULES 4096
#define GRACE_MS 1000

struct rule {
	char *prog;    /* a name or an absolute path */
	char **pat;    /* pattern words */
	size_t npat;
	int rest;      /* a final "..." */
	int line;
};

struct aur_diag_policy {
	char *name;
	struct rule *rules;
	size_t nrules;
	int timeout_ms;
	size_t max_output;
	char *env[MAX_ENV]; /* "NAME=VALUE", owned */
	size_t nenv;
};

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

static void reasonf(char *reason, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* reasons quote what the investigator sent, which may hold a secret */
static void reasonf(char *reason, size_t len, const char *fmt, ...)
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
static void join_words(size_t argc, const char *const *argv, char *buf, size_t len)
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

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

/* 1 when name is stem, or stem followed by a version (python3, perl5.36) */
static int name_is(const char *name, const char *stem)
{
	size_t n = strlen(stem);

	if (strncmp(name, stem, n) != 0)
		return 0;
	for (const char *s = name + n; *s; s++)
		if (!isdigit((unsigned char)*s) && *s != '.')
			return 0;
	return 1;
}

static int in_list(const char *w, const char *const *list)
{
	for (size_t i = 0; list[i]; i++)
		if (!strcmp(w, list[i]))
			return 1;
	return 0;
}

/* an option word's name: "--output=x" -> "--output" (into buf) */
static const char *opt_name(const char *w, char *buf, size_t len)
{
	const char *eq = strchr(w, '=');
	size_t n = eq ? (size_t)(eq - w) : strlen(w);

	if (n >= len)
		n = len - 1;
	memcpy(buf, w, n);
	buf[n] = '\0';
	return buf;
}

/*
 * The positional words of argv[1..], skipping options and the value of
 * each option in with_value given as a separate word. Returns how many
 * (at most max) with their indexes in pos.
 */
static size_t positionals(size_t argc, const char *const *argv, const char *const *with_value,
			  size_t *pos, size_t max)
{
	size_t n = 0;

	for (size_t i = 1; i < argc && n < max; i++) {
		if (argv[i][0] == '-') {
			if (!strchr(argv[i], '=') && with_value && in_list(argv[i], with_value))
				i++;
			continue;
		}
		pos[n++] = i;
	}
	return n;
}

/* ------------------------------------------------------------ deny list */

/* programs that run other programs, change the machine or read secret stores */
static const char *const deny_programs[] = {
	"sh", "bash", "dash", "zsh", "ksh", "mksh", "csh", "tcsh", "fish", "ash", "rbash",
	"busybox", "toybox", "python", "perl", "ruby", "node", "nodejs", "php", "lua",
	"luajit", "tclsh", "wish", "awk", "gawk", "mawk", "nawk", "sed", "env", "printenv",
	"xargs", "nohup", "nice", "ionice", "timeout", "stdbuf", "setsid", "chroot",
	"unshare", "nsenter", "sudo", "su", "doas", "runuser", "pkexec", "strace", "ltrace",
	"gdb", "lldb", "watch", "script", "expect", "screen", "tmux", "ssh", "scp", "sftp",
	"rsync", "nc", "ncat", "netcat", "socat", "telnet", "ftp", "wget", "vi", "vim",
	"view", "nvim", "nano", "emacs", "ed", "ex", "pico", "rm", "rmdir", "mv", "cp",
	"dd", "shred", "truncate", "chmod", "chown", "chgrp", "chattr", "ln", "mkdir",
	"touch", "install", "tee", "mount", "umount", "kill", "killall", "pkill", "reboot",
	"shutdown", "halt", "poweroff", "init", "telinit", "crontab", "at", "batch",
	"systemd-run", "useradd", "userdel", "usermod", "passwd", "chpasswd", "groupadd",
	"iptables", "ip6tables", "nft", "tar", "zip", "unzip", "gpg", "gpg2", "pass",
	"gopass", "op", "bw", "lpass", "secret-tool", "keyctl", "security", "sops", "age",
	"kubeseal", "make", "cc", "gcc", "apt", "apt-get", "dpkg", "yum", "dnf", "rpm",
	"pip", "npm", "tcpdump", "exec", "eval", "command", "find2perl", NULL,
};

/* a word of any command naming a key or credential file: exact, any case */
static const char *const key_exact[] = {
	"shadow", "gshadow", "shadow-", "gshadow-", "sudoers", ".env", ".netrc", "_netrc",
	".pgpass", ".my.cnf", ".git-credentials", "credentials", ".npmrc", ".pypirc",
	".dockercfg", ".htpasswd", "htpasswd", ".ssh", ".gnupg", ".aws", ".kube", ".docker",
	"environ", "mem", "kmem", "kcore", "token", "master.key", ".vault-token", NULL,
};
static const char *const key_prefix[] = {
	"id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "id_xmss", ".env.", "ssh_host_", NULL,
};
static const char *const key_suffix[] = {
	".pem", ".key", ".p12", ".pfx", ".jks", ".keystore", ".kdbx", ".gpg", ".ppk",
	".tfstate", ".tfvars", ".env", NULL,
};
static const char *const key_contains[] = {
	"secret", "credential", "private", "password", NULL,
};
/* cloud instance metadata: credentials for the asking */
static const char *const metadata_hosts[] = {
	"169.254.169.254", "169.254.170.2", "metadata.google.internal", "fd00:ec2::254",
	"100.100.100.200", "metadata.azure", NULL,
};

static int has_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; *hay; hay++)
		if (!strncasecmp(hay, needle, n))
			return 1;
	return 0;
}

static int key_part(const char *s, size_t n)
{
	char part[AUR_DIAG_MAX_WORD + 1];

	if (n == 0 || n > AUR_DIAG_MAX_WORD)
		return 0;
	memcpy(part, s, n);
	part[n] = '\0';
	for (size_t i = 0; key_exact[i]; i++)
		if (!strcasecmp(part, key_exact[i]))
			return 1;
	for (size_t i = 0; key_prefix[i]; i++)
		if (!strncasecmp(part, key_prefix[i], strlen(key_prefix[i])))
			return 1;
	for (size_t i = 0; key_suffix[i]; i++) {
		size_t k = strlen(key_suffix[i]);
		if (n >= k && !strcasecmp(part + n - k, key_suffix[i]))
			return 1;
	}
	for (size_t i = 0; key_contains[i]; i++)
		if (has_ci(part, key_contains[i]))
			return 1;
	return 0;
}

/* 1 when a piece of w between / : = @ , names a key or credential file */
static int names_key_file(const char *w)
{
	const char *s = w;

	for (;;) {
		size_t n = strcspn(s, "/:=@,");
		if (key_part(s, n))
			return 1;
		if (!s[n])
			return 0;
		s += n + 1;
	}
}

static const char *const kubectl_value_opts[] = {
	"-n", "--namespace", "--context", "--cluster", "--user", "-s", "--server",
	"--kubeconfig", "--request-timeout", "-l", "--selector", "-o", "--output", "-c",
	"--container", NULL,
};
static const char *const kubectl_verbs[] = {
	"get", "describe", "logs", "top", "explain", "api-resources", "api-versions",
	"cluster-info", "version", "events", "auth can-i", "auth whoami", "rollout status",
	"rollout history", "config current-context", "config get-contexts",
	"config get-clusters", NULL,
};
static const char *const kubectl_bad_opts[] = {
	"--raw", "--as", "--as-group", "--as-uid", "--token", "--password", "--username",
	"--output-directory", "--client-key", "--client-certificate", NULL,
};
static const char *const helm_verbs[] = { "list", "ls", "status", "history", "version", NULL };
static const char *const systemctl_value_opts[] = {
	"-p", "--property", "-t", "--type", "--state", "-n", "--lines", "-o", "--output",
	"--root", NULL,
};
static const char *const systemctl_verbs[] = {
	"status", "show", "cat", "list-units", "list-unit-files", "list-timers",
	"list-sockets", "list-dependencies", "list-jobs", "list-machines", "is-active",
	"is-enabled", "is-failed", "is-system-running", "get-default", NULL,
};
static const char *const systemctl_bad_opts[] = { "-H", "--host", "-M", "--machine", NULL };
static const char *const journalctl_bad_opts[] = {
	"--rotate", "--vacuum-size", "--vacuum-time", "--vacuum-files", "--flush", "--sync",
	"--relinquish-var", "--smart-relinquish-var", "--setup-keys", "--update-catalog",
	"-M", "--machine", NULL,
};
static const char *const git_value_opts[] = {
	"-C", "--git-dir", "--work-tree", "--namespace", NULL,
};
static const char *const git_verbs[] = {
	"log", "show", "diff", "blame", "status", "rev-parse", "describe", "ls-files",
	"ls-tree", "shortlog", "grep", "cat-file", "rev-list", "whatchanged", "name-rev",
	"for-each-ref", "merge-base", "version", "count-objects", "show-ref", "show-branch",
	NULL,
};
static const char *const git_bad_opts[] = {
	"-c", "--config-env", "--exec-path", "-O", "--open-files-in-pager", "--output",
	"--ext-diff", "--upload-pack", "--receive-pack", NULL,
};
static const char *const docker_value_opts[] = {
	"-H", "--host", "--context", "-l", "--log-level", NULL,
};
static const char *const docker_verbs[] = {
	"ps", "images", "logs", "inspect", "stats", "top", "port", "version", "info",
	"events", "diff", "history", "container ls", "container list", "container ps",
	"container logs", "container inspect", "container top", "container port",
	"container stats", "container diff", "image ls", "image list", "image inspect",
	"image history", "network ls", "network inspect", "volume ls", "volume inspect",
	"system df", "system info", "node ls", "node ps", "service ls", "service ps",
	"pods", "inspectp", "inspecti", "statsp", "pod ps", "pod inspect", "pod logs", NULL,
};
static const char *const docker_bad_opts[] = { "--config", "-c", NULL };
static const char *const aws_value_opts[] = {
	"--region", "--profile", "--output", "--endpoint-url", "--query", "--color",
	"--cli-read-timeout", "--cli-connect-timeout", NULL,
};
static const char *const aws_read_prefix[] = {
	"describe-", "get-", "list-", "lookup-", "search-", "filter-", "head-", NULL,
};
static const char *const aws_secret_ops[] = {
	"get-secret-value", "batch-get-secret-value", "get-login-password",
	"get-authorization-token", "get-session-token", "get-federation-token",
	"get-password-data", "get-instance-access-details", "get-role-credentials",
	"get-credentials-for-identity", "get-open-id-token", "get-object",
	"get-key-pair", "get-access-key-info", "get-credential-report", "get-function",
	"get-function-configuration", NULL,
};
/* gcloud and az: read-only groups and verbs mostly; these words anywhere refuse */
static const char *const cloud_bad_words[] = {
	"secrets", "secret", "keyvault", "print-access-token", "print-identity-token",
	"config-helper", "access", "get-access-token", "get-credentials", "keys",
	"list-keys", "show-connection-string", "list-connection-strings", "ssh", "scp",
	"create", "delete", "update", "set", "deploy", "start", "stop", "restart", "reset",
	"resize", "import", "export", "login", "logout", "revoke",
	"activate-service-account", "patch", "restore", "rollback", "cancel", "apply",
	"execute", "call", "invoke", "run-command", "enable", "disable", "upgrade", "attach",
	"detach", "connect", "add", "remove", "assign", "purge", "recover", "upload",
	"download", "sync", "copy", "move", "scale", "decrypt", "encrypt", "sign",
	"add-iam-policy-binding", "remove-iam-policy-binding", "set-iam-policy", NULL,
};
static const char *const openssl_verbs[] = {
	"s_client", "x509", "version", "verify", "ciphers", NULL,
};
static const char *const ip_bad_words[] = {
	"add", "del", "delete", "change", "replace", "set", "flush", "append", "exec",
	"save", "restore", "attach", "detach", "prepend", NULL,
};
static const char *const find_bad_opts[] = {
	"-exec", "-execdir", "-ok", "-okdir", "-delete", "-fprint", "-fprint0", "-fprintf",
	"-fls", NULL,
};
static const char *const grep_programs[] = { "grep", "egrep", "fgrep", "zgrep", NULL };
static const char *const curl_bad_opts[] = {
	"-X", "--request", "-F", "--form", "--form-string", "-T", "--upload-file", "-o",
	"--output", "-O", "--remote-name", "--remote-name-all", "-K", "--config", "-u",
	"--user", "-b", "--cookie", "-c", "--cookie-jar", "-n", "--netrc", "--netrc-file",
	"--netrc-optional", "-E", "--cert", "--key", "-U", "--proxy-user", "--output-dir",
	"--create-dirs", "--oauth2-bearer", "--aws-sigv4", "--json", "--unix-socket",
	"--abstract-unix-socket", NULL,
};
static const char *const etcdctl_verbs[] = { "endpoint", "member", "version", NULL };

/* the verb (and sub-verb) of a command: "rollout status", "get" */
static int verb_allowed(size_t argc, const char *const *argv, const char *const *value_opts,
			const char *const *verbs, int none_ok, const char **verb)
{
	size_t pos[3];
	size_t n = positionals(argc, argv, value_opts, pos, 2);
	char two[2 * AUR_DIAG_MAX_WORD + 2];

	*verb = n ? argv[pos[0]] : "";
	if (n == 0)
		return none_ok;
	if (in_list(argv[pos[0]], verbs))
		return 1;
	if (n < 2)
		return 0;
	snprintf(two, sizeof(two), "%s %s", argv[pos[0]], argv[pos[1]]);
	return in_list(two, verbs);
}

/* the first option word of argv[1..] whose name is in bad, or NULL */
static const char *bad_option(size_t argc, const char *const *argv, const char *const *bad)
{
	char name[128];

	for (size_t i = 1; i < argc; i++)
		if (argv[i][0] == '-' && in_list(opt_name(argv[i], name, sizeof(name)), bad))
			return argv[i];
	return NULL;
}

/* a cluster of short options ("-sSo") holding one of the letters in set */
static const char *short_cluster_with(size_t argc, const char *const *argv, const char *set)
{
	for (size_t i = 1; i < argc; i++)
		if (argv[i][0] == '-' && argv[i][1] && argv[i][1] != '-' &&
		    strpbrk(argv[i] + 1, set))
			return argv[i];
	return NULL;
}

#define DENY(...)                                          \
	do {                                               \
		reasonf(reason, len, __VA_ARGS__);        \
		return -EPERM;                             \
	} while (0)

static const char because[] =
	"the built-in deny list refuses it whatever the allow-list says";

static int deny_program(const char *prog, size_t argc, const char *const *argv,
			const char *cmdline, char *reason, size_t len)
{
	const char *verb = "";
	const char *w;
	size_t pos[4];
	size_t n;

	for (size_t i = 0; deny_programs[i]; i++)
		if (name_is(prog, deny_programs[i]))
			DENY("refused: `%s` because %s runs other programs, changes the machine or reads "
			     "secrets, and %s", cmdline, prog, because);
	if (!strncmp(prog, "mkfs", 4) || !strncmp(prog, "python", 6) || !strncmp(prog, "pip", 3))
		DENY("refused: `%s` because %s is never run, and %s", cmdline, prog, because);

	if (!strcmp(prog, "kubectl") || !strcmp(prog, "oc") || !strcmp(prog, "k3s")) {
		for (size_t i = 1; i < argc; i++)
			if (has_ci(argv[i], "secret"))
				DENY("refused: `%s` because it names secrets, and %s", cmdline, because);
		w = bad_option(argc, argv, kubectl_bad_opts);
		if (w)
			DENY("refused: `%s` because %s reads raw API paths or changes identity, and %s",
			     cmdline, w, because);
		if (!strcmp(prog, "k3s") && (argc < 2 || strcmp(argv[1], "kubectl") != 0))
			DENY("refused: `%s` because only `k3s kubectl` is run, and %s", cmdline, because);
		if (!strcmp(prog, "k3s"))
			argc--, argv++;
		if (!verb_allowed(argc, argv, kubectl_value_opts, kubectl_verbs, 0, &verb))
			DENY("refused: `%s` because `%s` is not a read-only kubectl verb (get, describe, "
			     "logs, top, events, ...), and %s", cmdline, verb, because);
	} else if (!strcmp(prog, "helm")) {
		if (!verb_allowed(argc, argv, kubectl_value_opts, helm_verbs, 0, &verb))
			DENY("refused: `%s` because `%s` is not a read-only helm verb (list, status, "
			     "history), and %s", cmdline, verb, because);
	} else if (!strcmp(prog, "systemctl") || !strcmp(prog, "service")) {
		w = bad_option(argc, argv, systemctl_bad_opts);
		if (w)
			DENY("refused: `%s` because %s reaches another machine, and %s", cmdline, w, because);
		if (!strcmp(prog, "service")) {
			if (!(argc == 2 && !strcmp(argv[1], "--status-all")) &&
			    !(argc == 3 && !strcmp(argv[2], "status")))
				DENY("refused: `%s` because only `service NAME status` is read-only, and %s",
				     cmdline, because);
		} else if (!verb_allowed(argc, argv, systemctl_value_opts, systemctl_verbs, 1,
					 &verb)) {
			DENY("refused: `%s` because `systemctl %s` changes the system; only status, show, "
			     "cat, list-* and is-* are run, and %s", cmdline, verb, because);
		}
	} else if (!strcmp(prog, "journalctl")) {
		w = bad_option(argc, argv, journalctl_bad_opts);
		if (w)
			DENY("refused: `%s` because %s changes the journal, and %s", cmdline, w, because);
	} else if (!strcmp(prog, "git")) {
		w = bad_option(argc, argv, git_bad_opts);
		if (w)
			DENY("refused: `%s` because %s runs commands or writes files, and %s", cmdline, w,
			     because);
		if (!verb_allowed(argc, argv, git_value_opts, git_verbs, 0, &verb))
			DENY("refused: `%s` because `git %s` is not a read-only git command (log, show, "
			     "diff, blame, status, ...), and %s", cmdline, verb, because);
	} else if (!strcmp(prog, "docker") || !strcmp(prog, "podman") ||
		   !strcmp(prog, "nerdctl") || !strcmp(prog, "crictl")) {
		w = bad_option(argc, argv, docker_bad_opts);
		if (w)
			DENY("refused: `%s` because %s reads credentials, and %s", cmdline, w, because);
		if (!verb_allowed(argc, argv, docker_value_opts, docker_verbs, 0, &verb))
			DENY("refused: `%s` because `%s %s` is not read-only (ps, logs, inspect, ...), "
			     "and %s", cmdline, prog, verb, because);
	} else if (!strcmp(prog, "aws")) {
		n = positionals(argc, argv, aws_value_opts, pos, 2);
		if (bad_option(argc, argv, (const char *const[]){ "--with-decryption", NULL }))
			DENY("refused: `%s` because --with-decryption reads secrets, and %s", cmdline,
			     because);
		if (n >= 1 && (!strcmp(argv[pos[0]], "secretsmanager") ||
			       !strcmp(argv[pos[0]], "configure")))
			DENY("refused: `%s` because aws %s reads secrets, and %s", cmdline, argv[pos[0]],
			     because);
		if (n == 2 && !strcmp(argv[pos[0]], "s3") && !strcmp(argv[pos[1]], "ls"))
			return 0;
		if (n < 2)
			DENY("refused: `%s` because an aws command needs a service and a read-only "
			     "operation, and %s", cmdline, because);
		verb = argv[pos[1]];
		if (in_list(verb, aws_secret_ops))
			DENY("refused: `%s` because %s reads secrets or credentials, and %s", cmdline, verb,
			     because);
		for (size_t i = 0; aws_read_prefix[i]; i++)
			if (!strncmp(verb, aws_read_prefix[i], strlen(aws_read_prefix[i])))
				return 0;
		DENY("refused: `%s` because `%s` is not a read-only aws operation (describe-, get-, "
		     "list-), and %s", cmdline, verb, because);
	} else if (!strcmp(prog, "gcloud") || !strcmp(prog, "az")) {
		for (size_t i = 1; i < argc; i++)
			if (argv[i][0] != '-' && (in_list(argv[i], cloud_bad_words) ||
						  has_ci(argv[i], "secret")))
				DENY("refused: `%s` because `%s` reads secrets or changes resources, and %s",
				     cmdline, argv[i], because);
	} else if (!strcmp(prog, "vault")) {
		if (argc != 2 || (strcmp(argv[1], "status") != 0 && strcmp(argv[1], "version") != 0))
			DENY("refused: `%s` because vault reads secrets; only `vault status` is run, "
			     "and %s", cmdline, because);
	} else if (!strcmp(prog, "etcdctl")) {
		if (!verb_allowed(argc, argv, NULL, etcdctl_verbs, 0, &verb))
			DENY("refused: `%s` because etcd holds the cluster's secrets; only endpoint, "
			     "member and version are run, and %s", cmdline, because);
	} else if (!strcmp(prog, "openssl")) {
		if (argc < 2 || !in_list(argv[1], openssl_verbs))
			DENY("refused: `%s` because only openssl s_client, x509, verify and version are "
			     "run, and %s", cmdline, because);
	} else if (!strcmp(prog, "ip")) {
		for (size_t i = 1; i < argc; i++)
			if (in_list(argv[i], ip_bad_words))
				DENY("refused: `%s` because `ip ... %s` changes the network or runs a "
				     "command, and %s", cmdline, argv[i], because);
	} else if (!strcmp(prog, "sysctl")) {
		for (size_t i = 1; i < argc; i++)
			if (argv[i][0] == '-' || strchr(argv[i], '='))
				DENY("refused: `%s` because only `sysctl NAME` is read-only, and %s",
				     cmdline, because);
	} else if (!strcmp(prog, "find")) {
		w = bad_option(argc, argv, find_bad_opts);
		if (w)
			DENY("refused: `%s` because find %s runs commands, deletes or writes files, and %s",
			     cmdline, w, because);
	} else if (in_list(prog, grep_programs)) {
		w = short_cluster_with(argc, argv, "rRd");
		if (!w)
			w = bad_option(argc, argv, (const char *const[]){ "--recursive",
				"--dereference-recursive", "--directories", NULL });
		if (w)
			DENY("refused: `%s` because %s searches whole directories, key files included, "
			     "and %s", cmdline, w, because);
	} else if (!strcmp(prog, "rg") || !strcmp(prog, "ag") || !strcmp(prog, "ack")) {
		DENY("refused: `%s` because %s searches whole directories, key files included, and %s",
		     cmdline, prog, because);
	} else if (!strcmp(prog, "curl")) {
		w = bad_option(argc, argv, curl_bad_opts);
		if (!w)
			w = short_cluster_with(argc, argv, "XFTOoKubcEUn");
		if (!w)
			for (size_t i = 1; i < argc && !w; i++)
				if (!strncmp(argv[i], "--data", 6))
					w = argv[i];
		if (!w)
			w = short_cluster_with(argc, argv, "d");
		if (w)
			DENY("refused: `%s` because curl %s sends data, carries credentials or writes "
			     "files; only plain GETs are run, and %s", cmdline, w, because);
		for (size_t i = 1; i < argc; i++)
			if (strstr(argv[i], "://") && strncasecmp(argv[i], "http://", 7) != 0 &&
			    strncasecmp(argv[i], "https://", 8) != 0)
				DENY("refused: `%s` because curl fetches only http and https URLs, and %s",
				     cmdline, because);
	}
	return 0;
}

int aur_diag_denied(size_t argc, const char *const *argv, char *reason, size_t len)
{
	char cmdline[512];
	const char *prog;
	int rc;

	if (argc == 0)
		DENY("refused: an empty command");
	join_words(argc, argv, cmdline, sizeof(cmdline));
	/* the program's own rules first: their reasons say more */
	prog = base_name(argv[0]);
	rc = deny_program(prog, argc, argv, cmdline, reason, len);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < argc; i++) {
		for (size_t k = 0; metadata_hosts[k]; k++)
			if (has_ci(argv[i], metadata_hosts[k]))
				DENY("refused: `%s` because %s is a cloud metadata address, which hands out "
				     "credentials, and %s", cmdline, metadata_hosts[k], because);
		if (i > 0 && names_key_file(argv[i]))
			DENY("refused: `%s` because `%s` names a key, credential or secret file, and %s",
			     cmdline, argv[i], because);
	}
	return 0;
}

/* ----------------------------------------------------------- allow-list */

static void rule_release(struct rule *r)
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
	struct rule r = { 0 };
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
			if (!in_list(name, env_names)) {
				snprintf(why, len, "@env %s: only KUBECONFIG, HOME, TZ, AWS_PROFILE, "
					 "AWS_REGION, AWS_DEFAULT_REGION, AWS_CONFIG_FILE, "
					 "CLOUDSDK_CONFIG, CLOUDSDK_CORE_PROJECT, AZURE_CONFIG_DIR, "
					 "DOCKER_HOST and CONTAINER_HOST may be set", name);
				return -EINVAL;
			}
			if (p->nenv == MAX_ENV) {
				snprintf(why, len, "more than %d @env settings", MAX_ENV);
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
static int rule_matches(const struct rule *r, size_t argc, const char *const *argv,
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
		reasonf(reason, len, "refused: an empty command");
		return -EINVAL;
	}
	if (argc > AUR_DIAG_MAX_WORDS)
		DENY("refused: more than %d words", AUR_DIAG_MAX_WORDS);
	for (size_t i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]);
		total += n + 1;
		if (n == 0)
			DENY("refused: an empty word");
		if (n > AUR_DIAG_MAX_WORD || total > AUR_DIAG_MAX_TEXT)
			DENY("refused: a word longer than %d bytes or a command longer than %d",
			     AUR_DIAG_MAX_WORD, AUR_DIAG_MAX_TEXT);
		for (size_t k = 0; k < n; k++) {
			if (!safe_char((unsigned char)argv[i][k])) {
				char c[32];
				name_char((unsigned char)argv[i][k], c, sizeof(c));
				DENY("refused: %s in `%.64s` because commands run without a shell, so shell "
				     "metacharacters, quotes and anything but letters, digits and "
				     ". _ : / = @ , + %% - are refused, never interpreted", c, argv[i]);
			}
		}
	}
	rc = aur_diag_denied(argc, argv, reason, len);
	if (rc < 0)
		return rc;
	join_words(argc, argv, cmdline, sizeof(cmdline));
	for (size_t i = 0; p && i < p->nrules; i++) {
		if (!rule_matches(&p->rules[i], argc, argv, path, sizeof(path)))
			continue;
		/* the deny list again under the name the file really has (a symlink) */
		if (realpath(path, real)) {
			const char *b = base_name(real);
			if (strcmp(b, base_name(argv[0])) != 0) {
				rc = deny_program(b, argc, argv, cmdline, reason, len);
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
	DENY("refused: `%s` because no rule of the allow-list %s permits it", cmdline,
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
		DENY("refused: a command longer than %d bytes", AUR_DIAG_MAX_TEXT);
	/* refuse before splitting, so no character is ever dropped or read as a blank */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c != ' ' && c != '\t' && !safe_char(c)) {
			char cn[32];
			name_char(c, cn, sizeof(cn));
			DENY("refused: %s in the command because commands run without a shell, so shell "
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
			DENY("refused: more than %d words", AUR_DIAG_MAX_WORDS);
		argv[argc++] = s;
		while (*s && *s != ' ' && *s != '\t')
			s++;
		if (*s)
			*s++ = '\0';
	}
	if (argc == 0) {
		reasonf(reason, len, "refused: an empty command");
		return -EINVAL;
	}
	argv[argc] = NULL;
	return aur_diag_check_argv(p, argc, argv, cmd, reason, len);
}

/* -------------------------------------------------------------- running */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;

	while (n--)
		*v++ = 0;
}

void aur_diag_result_release(struct aur_diag_result *res)
{
	if (!res)
		return;
	if (res->output)
		wipe(res->output, res->output_len);
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
	char *envp[MAX_ENV + 5];
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
	start = now_ms();
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
		long long left = deadline - now_ms();
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
		long long left = deadline + (res->timed_out ? GRACE_MS : 0) - now_ms();
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
		long long until = res->timed_out ? deadline + GRACE_MS : now_ms() + GRACE_MS;

		if (until < now_ms() + 100)
			until = now_ms() + 100;
		for (;;) {
			pid_t w = waitpid(pid, &status, WNOHANG);
			if (w == pid) {
				res->reaped = 1;
				break;
			}
			if (w < 0 && errno != EINTR)
				break;
			if (now_ms() >= until)
				break;
			sleep_ms(2);
		}
	}
	res->elapsed_ms = now_ms() - start;
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
		wipe(out.data, out.len);
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

struct span {
	size_t a, b;
};

struct spans {
	struct span *v;
	size_t n, cap;
};

static void span_add(struct spans *s, size_t a, size_t b)
{
	if (b <= a)
		return;
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 16;
		s->v = aur_xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n].a = a;
	s->v[s->n].b = b;
	s->n++;
}

static int span_cmp(const void *x, const void *y)
{
	const struct span *a = x;
	const struct span *b = y;

	return a->a < b->a ? -1 : a->a > b->a;
}

/* the words of a key whose value is a secret; one group */
#define SECRET_WORDS \
	"(password|passwd|passphrase|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?)"

struct redact_re {
	const char *re;
	int flags;
	int group;
};

static const struct redact_re redact_res[] = {
	/* Authorization values, whatever their scheme */
	{ "authorization[\"']?[[:blank:]]*[:=][[:blank:]]*[\"']?([^\"'\r\n]+)", REG_ICASE, 1 },
	{ "(bearer|basic)[[:blank:]]+([A-Za-z0-9._~+/=-]{8,})", REG_ICASE, 2 },
	/* key: value and key=value for secret-looking keys, in text, YAML, JSON, env */
	{ "[A-Za-z0-9_.-]*" SECRET_WORDS "[A-Za-z0-9_.-]*[\"']?[[:blank:]]*[:=][[:blank:]]*[\"']?"
	  "([^[:space:]\"',;}]+)", REG_ICASE, 2 },
	{ "(AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA|ABIA|ACCA)[A-Z0-9]{16}", 0, 0 },
	{ "eyJ[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]*", 0, 0 },
	{ "(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,}|"
	  "xox[abposr]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35}|sk-[A-Za-z0-9_-]{20,})", 0, 0 },
	/* Kubernetes env on one line: {"name": "DB_PASSWORD", "value": "..."} */
	{ "name[\"']?[[:blank:]]*:[[:blank:]]*[\"']?[A-Za-z0-9_.-]*" SECRET_WORDS
	  "[A-Za-z0-9_.-]*[\"']?[[:blank:]]*,[[:blank:]]*[\"']?value[\"']?[[:blank:]]*:[[:blank:]]*"
	  "[\"']?([^\"'\r\n,}]+)", REG_ICASE, 2 },
	/* the password in scheme://user:password@host */
	{ "[A-Za-z][A-Za-z0-9+.-]*://[^/[:space:]:@]+:([^/[:space:]@]+)@", 0, 1 },
};

/* [a, b) of the line holding t[i]; b at the '\n' or len */
static void line_at(const char *t, size_t len, size_t i, size_t *a, size_t *b)
{
	*a = i;
	while (*a > 0 && t[*a - 1] != '\n')
		(*a)--;
	*b = i;
	while (*b < len && t[*b] != '\n')
		(*b)++;
}

static int line_has(const char *t, size_t a, size_t b, const char *w)
{
	size_t n = strlen(w);

	for (size_t i = a; i + n <= b; i++)
		if (!memcmp(t + i, w, n))
			return 1;
	return 0;
}

/* a line of nothing but base64 (a key's body), not empty */
static int b64_line(const char *t, size_t a, size_t b)
{
	int any = 0;

	for (size_t i = a; i < b; i++) {
		unsigned char c = (unsigned char)t[i];
		if (isalnum(c) || c == '+' || c == '/' || c == '=')
			any = 1;
		else if (c != '\r')
			return 0;
	}
	return any;
}

/*
 * Every line that says PRIVATE KEY goes, and with it the key: from a BEGIN
 * line to the END line after it (or the end of the text, when the cap cut
 * it); before an END line with no BEGIN (a mangled header), the base64
 * lines just above it. The fuzzer found the mangled header.
 */
static void redact_key_blocks(const char *t, size_t len, struct spans *s)
{
	const char *p = t;

	while ((p = strstr(p, "PRIVATE KEY")) != NULL) {
		size_t a, b, ea, eb;
		const char *q;

		line_at(t, len, (size_t)(p - t), &a, &b);
		if (line_has(t, a, b, "BEGIN")) {
			eb = len;
			for (q = t + b; (q = strstr(q, "PRIVATE KEY")) != NULL; q += 11) {
				line_at(t, len, (size_t)(q - t), &ea, &eb);
				if (line_has(t, ea, eb, "END"))
					break;
				eb = len;
			}
			b = eb;
		} else if (line_has(t, a, b, "END")) {
			while (a > 0) {
				size_t pa, pb;
				line_at(t, len, a - 1, &pa, &pb);
				if (!b64_line(t, pa, pb))
					break;
				a = pa;
			}
		}
		span_add(s, a, b);
		p = t + (b < len ? b + 1 : len);
		if (b >= len)
			break;
	}
}

/*
 * Kubernetes env over two lines, as -o yaml and -o json print it:
 *     - name: DB_PASSWORD          "name": "DB_PASSWORD",
 *       value: hunter2             "value": "hunter2"
 * The value on the line after a secret-looking name goes.
 */
static void redact_env_pairs(const char *t, size_t len, struct spans *s)
{
	regex_t name_re;
	regex_t value_re;
	regmatch_t m[3];
	size_t off = 0;

	if (regcomp(&name_re, "name[\"']?[[:blank:]]*:[[:blank:]]*[\"']?[A-Za-z0-9_.-]*" SECRET_WORDS
		    "[A-Za-z0-9_.-]*[\"']?,?[[:blank:]]*\r?$", REG_EXTENDED | REG_NEWLINE | REG_ICASE))
		return;
	if (regcomp(&value_re, "^[[:blank:]]*-?[[:blank:]]*[\"']?value[\"']?[[:blank:]]*:[[:blank:]]*"
		    "[\"']?([^\"'\r\n]+)", REG_EXTENDED | REG_NEWLINE | REG_ICASE)) {
		regfree(&name_re);
		return;
	}
	while (off < len) {
		size_t next;

		m[0].rm_so = (regoff_t)off;
		m[0].rm_eo = (regoff_t)len;
		if (regexec(&name_re, t, 3, m, REG_STARTEND | (off ? REG_NOTBOL : 0)) != 0)
			break;
		next = (size_t)m[0].rm_eo;
		while (next < len && t[next] != '\n')
			next++;
		if (next < len) {
			regmatch_t v[2];
			size_t eol = next + 1;
			while (eol < len && t[eol] != '\n')
				eol++;
			v[0].rm_so = (regoff_t)(next + 1);
			v[0].rm_eo = (regoff_t)eol;
			if (regexec(&value_re, t, 2, v, REG_STARTEND) == 0 && v[1].rm_so >= 0)
				span_add(s, (size_t)v[1].rm_so, (size_t)v[1].rm_eo);
		}
		off = next > off ? next : off + 1;
	}
	regfree(&name_re);
	regfree(&value_re);
}

static int b64_char(unsigned char c)
{
	return isalnum(c) || c == '+' || c == '/' || c == '=' || c == '_' || c == '-';
}

/* long runs that look random on a line that mentions a secret */
static void redact_entropy(const char *t, size_t len, struct spans *s)
{
	static const char *const hints[] = { "secret", "key", "token", "passw", "credential",
					     "auth", NULL };
	size_t i = 0;

	while (i < len) {
		size_t eol = i;
		int hinted = 0;

		while (eol < len && t[eol] != '\n')
			eol++;
		for (size_t h = 0; hints[h] && !hinted; h++) {
			size_t k = strlen(hints[h]);
			for (size_t j = i; j + k <= eol && !hinted; j++)
				hinted = !strncasecmp(t + j, hints[h], k);
		}
		for (size_t j = i; hinted && j < eol;) {
			size_t a = j;
			int up = 0, lo = 0, dig = 0, hex = 1;

			while (j < eol && b64_char((unsigned char)t[j])) {
				unsigned char c = (unsigned char)t[j];
				up |= isupper(c) != 0;
				lo |= islower(c) != 0;
				dig |= isdigit(c) != 0;
				hex &= isxdigit(c) != 0;
				j++;
			}
			if (j - a >= 32 && (up + lo + dig == 3 || (hex && dig && (up || lo))))
				span_add(s, a, j);
			if (j == a)
				j++;
		}
		i = eol + 1;
	}
}

char *aur_diag_redact(const char *text, size_t len, size_t *out_len, unsigned *count)
{
	static const char mark[] = "[redacted]";
	struct spans s = { 0 };
	struct aur_buf out;
	char *t = aur_xmalloc(len + 1);
	unsigned n = 0;
	char *r;

	for (size_t i = 0; i < len; i++)
		t[i] = text[i] ? text[i] : ' ';
	t[len] = '\0';
	redact_key_blocks(t, len, &s);
	for (size_t k = 0; k < sizeof(redact_res) / sizeof(redact_res[0]); k++) {
		regex_t re;
		regmatch_t m[4];
		size_t off = 0;

		if (regcomp(&re, redact_res[k].re, REG_EXTENDED | REG_NEWLINE | redact_res[k].flags))
			continue; /* a fixed pattern: covered by the unit tests */
		/* REG_STARTEND: from off to len, offsets from t; without it every
		 * match costs a strlen of the rest (16 MiB of log took 21 s) */
		for (;;) {
			int g = redact_res[k].group;
			if (off >= len)
				break;
			m[0].rm_so = (regoff_t)off;
			m[0].rm_eo = (regoff_t)len;
			if (regexec(&re, t, 4, m, REG_STARTEND | (off ? REG_NOTBOL : 0)) != 0)
				break;
			if (m[g].rm_so >= 0)
				span_add(&s, (size_t)m[g].rm_so, (size_t)m[g].rm_eo);
			off = (size_t)m[0].rm_eo > off ? (size_t)m[0].rm_eo : off + 1;
		}
		regfree(&re);
	}
	redact_env_pairs(t, len, &s);
	redact_entropy(t, len, &s);

	aur_buf_init(&out, 0);
	if (s.n)
		qsort(s.v, s.n, sizeof(*s.v), span_cmp);
	{
		size_t pos = 0;
		for (size_t i = 0; i < s.n; i++) {
			size_t a = s.v[i].a;
			size_t b = s.v[i].b;
			/* overlapping spans merge into one mark */
			while (i + 1 < s.n && s.v[i + 1].a <= b) {
				if (s.v[i + 1].b > b)
					b = s.v[i + 1].b;
				i++;
			}
			if (a < pos)
				a = pos;
			if (b <= pos)
				continue;
			/* a value that is already a mark stays as it is */
			if (b - a == sizeof(mark) - 1 && !memcmp(t + a, mark, b - a)) {
				aur_buf_add(&out, t + pos, b - pos);
				pos = b;
				continue;
			}
			aur_buf_add(&out, t + pos, a - pos);
			aur_buf_adds(&out, mark);
			pos = b;
			n++;
		}
		aur_buf_add(&out, t + pos, len - pos);
	}
	wipe(t, len);
	free(t);
	free(s.v);
	r = aur_buf_detach(&out, out_len);
	if (count)
		*count = n;
	return r;
}
