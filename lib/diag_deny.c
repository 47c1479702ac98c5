/*
 * diag_deny.c - run_diagnostic's built-in deny list (diag.h): what no
 * allow-list can let through. It is tables of words, not patterns: each
 * table says what it keeps out. It is a floor under the operator's
 * allow-list, not a complete catalogue of harmful commands; the allow-list
 * (diag.c) stays the main gate.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "diag.h"
#include "diag_impl.h"
#include "banned.h"

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
			if (!strchr(argv[i], '=') && with_value && diag_in_list(argv[i], with_value))
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
	if (diag_in_list(argv[pos[0]], verbs))
		return 1;
	if (n < 2)
		return 0;
	snprintf(two, sizeof(two), "%s %s", argv[pos[0]], argv[pos[1]]);
	return diag_in_list(two, verbs);
}

/* the first option word of argv[1..] whose name is in bad, or NULL */
static const char *bad_option(size_t argc, const char *const *argv, const char *const *bad)
{
	char name[128];

	for (size_t i = 1; i < argc; i++)
		if (argv[i][0] == '-' && diag_in_list(opt_name(argv[i], name, sizeof(name)), bad))
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

static const char because[] =
	"the built-in deny list refuses it whatever the allow-list says";

int diag_deny_program(const char *prog, size_t argc, const char *const *argv,
		      const char *cmdline, char *reason, size_t len)
{
	const char *verb = "";
	const char *w;
	size_t pos[4];
	size_t n;

	for (size_t i = 0; deny_programs[i]; i++)
		if (name_is(prog, deny_programs[i]))
			DIAG_DENY("refused: `%s` because %s runs other programs, changes the machine or reads "
				  "secrets, and %s", cmdline, prog, because);
	if (!strncmp(prog, "mkfs", 4) || !strncmp(prog, "python", 6) || !strncmp(prog, "pip", 3))
		DIAG_DENY("refused: `%s` because %s is never run, and %s", cmdline, prog, because);

	if (!strcmp(prog, "kubectl") || !strcmp(prog, "oc") || !strcmp(prog, "k3s")) {
		for (size_t i = 1; i < argc; i++)
			if (has_ci(argv[i], "secret"))
				DIAG_DENY("refused: `%s` because it names secrets, and %s", cmdline, because);
		w = bad_option(argc, argv, kubectl_bad_opts);
		if (w)
			DIAG_DENY("refused: `%s` because %s reads raw API paths or changes identity, and %s",
				  cmdline, w, because);
		if (!strcmp(prog, "k3s") && (argc < 2 || strcmp(argv[1], "kubectl") != 0))
			DIAG_DENY("refused: `%s` because only `k3s kubectl` is run, and %s", cmdline, because);
		if (!strcmp(prog, "k3s"))
			argc--, argv++;
		if (!verb_allowed(argc, argv, kubectl_value_opts, kubectl_verbs, 0, &verb))
			DIAG_DENY("refused: `%s` because `%s` is not a read-only kubectl verb (get, describe, "
				  "logs, top, events, ...), and %s", cmdline, verb, because);
	} else if (!strcmp(prog, "helm")) {
		if (!verb_allowed(argc, argv, kubectl_value_opts, helm_verbs, 0, &verb))
			DIAG_DENY("refused: `%s` because `%s` is not a read-only helm verb (list, status, "
				  "history), and %s", cmdline, verb, because);
	} else if (!strcmp(prog, "systemctl") || !strcmp(prog, "service")) {
		w = bad_option(argc, argv, systemctl_bad_opts);
		if (w)
			DIAG_DENY("refused: `%s` because %s reaches another machine, and %s", cmdline, w, because);
		if (!strcmp(prog, "service")) {
			if (!(argc == 2 && !strcmp(argv[1], "--status-all")) &&
			    !(argc == 3 && !strcmp(argv[2], "status")))
				DIAG_DENY("refused: `%s` because only `service NAME status` is read-only, and %s",
					  cmdline, because);
		} else if (!verb_allowed(argc, argv, systemctl_value_opts, systemctl_verbs, 1,
					 &verb)) {
			DIAG_DENY("refused: `%s` because `systemctl %s` changes the system; only status, show, "
				  "cat, list-* and is-* are run, and %s", cmdline, verb, because);
		}
	} else if (!strcmp(prog, "journalctl")) {
		w = bad_option(argc, argv, journalctl_bad_opts);
		if (w)
			DIAG_DENY("refused: `%s` because %s changes the journal, and %s", cmdline, w, because);
	} else if (!strcmp(prog, "git")) {
		w = bad_option(argc, argv, git_bad_opts);
		if (w)
			DIAG_DENY("refused: `%s` because %s runs commands or writes files, and %s", cmdline, w,
				  because);
		if (!verb_allowed(argc, argv, git_value_opts, git_verbs, 0, &verb))
			DIAG_DENY("refused: `%s` because `git %s` is not a read-only git command (log, show, "
				  "diff, blame, status, ...), and %s", cmdline, verb, because);
	} else if (!strcmp(prog, "docker") || !strcmp(prog, "podman") ||
		   !strcmp(prog, "nerdctl") || !strcmp(prog, "crictl")) {
		w = bad_option(argc, argv, docker_bad_opts);
		if (w)
			DIAG_DENY("refused: `%s` because %s reads credentials, and %s", cmdline, w, because);
		if (!verb_allowed(argc, argv, docker_value_opts, docker_verbs, 0, &verb))
			DIAG_DENY("refused: `%s` because `%s %s` is not read-only (ps, logs, inspect, ...), "
				  "and %s", cmdline, prog, verb, because);
	} else if (!strcmp(prog, "aws")) {
		n = positionals(argc, argv, aws_value_opts, pos, 2);
		if (bad_option(argc, argv, (const char *const[]){ "--with-decryption", NULL }))
			DIAG_DENY("refused: `%s` because --with-decryption reads secrets, and %s", cmdline,
				  because);
		if (n >= 1 && (!strcmp(argv[pos[0]], "secretsmanager") ||
			       !strcmp(argv[pos[0]], "configure")))
			DIAG_DENY("refused: `%s` because aws %s reads secrets, and %s", cmdline, argv[pos[0]],
				  because);
		if (n == 2 && !strcmp(argv[pos[0]], "s3") && !strcmp(argv[pos[1]], "ls"))
			return 0;
		if (n < 2)
			DIAG_DENY("refused: `%s` because an aws command needs a service and a read-only "
				  "operation, and %s", cmdline, because);
		verb = argv[pos[1]];
		if (diag_in_list(verb, aws_secret_ops))
			DIAG_DENY("refused: `%s` because %s reads secrets or credentials, and %s", cmdline, verb,
				  because);
		for (size_t i = 0; aws_read_prefix[i]; i++)
			if (!strncmp(verb, aws_read_prefix[i], strlen(aws_read_prefix[i])))
				return 0;
		DIAG_DENY("refused: `%s` because `%s` is not a read-only aws operation (describe-, get-, "
			  "list-), and %s", cmdline, verb, because);
	} else if (!strcmp(prog, "gcloud") || !strcmp(prog, "az")) {
		for (size_t i = 1; i < argc; i++)
			if (argv[i][0] != '-' && (diag_in_list(argv[i], cloud_bad_words) ||
						  has_ci(argv[i], "secret")))
				DIAG_DENY("refused: `%s` because `%s` reads secrets or changes resources, and %s",
					  cmdline, argv[i], because);
	} else if (!strcmp(prog, "vault")) {
		if (argc != 2 || (strcmp(argv[1], "status") != 0 && strcmp(argv[1], "version") != 0))
			DIAG_DENY("refused: `%s` because vault reads secrets; only `vault status` is run, "
				  "and %s", cmdline, because);
	} else if (!strcmp(prog, "etcdctl")) {
		if (!verb_allowed(argc, argv, NULL, etcdctl_verbs, 0, &verb))
			DIAG_DENY("refused: `%s` because etcd holds the cluster's secrets; only endpoint, "
				  "member and version are run, and %s", cmdline, because);
	} else if (!strcmp(prog, "openssl")) {
		if (argc < 2 || !diag_in_list(argv[1], openssl_verbs))
			DIAG_DENY("refused: `%s` because only openssl s_client, x509, verify and version are "
				  "run, and %s", cmdline, because);
	} else if (!strcmp(prog, "ip")) {
		for (size_t i = 1; i < argc; i++)
			if (diag_in_list(argv[i], ip_bad_words))
				DIAG_DENY("refused: `%s` because `ip ... %s` changes the network or runs a "
					  "command, and %s", cmdline, argv[i], because);
	} else if (!strcmp(prog, "sysctl")) {
		for (size_t i = 1; i < argc; i++)
			if (argv[i][0] == '-' || strchr(argv[i], '='))
				DIAG_DENY("refused: `%s` because only `sysctl NAME` is read-only, and %s",
					  cmdline, because);
	} else if (!strcmp(prog, "find")) {
		w = bad_option(argc, argv, find_bad_opts);
		if (w)
			DIAG_DENY("refused: `%s` because find %s runs commands, deletes or writes files, and %s",
				  cmdline, w, because);
	} else if (diag_in_list(prog, grep_programs)) {
		w = short_cluster_with(argc, argv, "rRd");
		if (!w)
			w = bad_option(argc, argv, (const char *const[]){ "--recursive",
				"--dereference-recursive", "--directories", NULL });
		if (w)
			DIAG_DENY("refused: `%s` because %s searches whole directories, key files included, "
				  "and %s", cmdline, w, because);
	} else if (!strcmp(prog, "rg") || !strcmp(prog, "ag") || !strcmp(prog, "ack")) {
		DIAG_DENY("refused: `%s` because %s searches whole directories, key files included, and %s",
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
			DIAG_DENY("refused: `%s` because curl %s sends data, carries credentials or writes "
				  "files; only plain GETs are run, and %s", cmdline, w, because);
		for (size_t i = 1; i < argc; i++)
			if (strstr(argv[i], "://") && strncasecmp(argv[i], "http://", 7) != 0 &&
			    strncasecmp(argv[i], "https://", 8) != 0)
				DIAG_DENY("refused: `%s` because curl fetches only http and https URLs, and %s",
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
		DIAG_DENY("refused: an empty command");
	diag_join_words(argc, argv, cmdline, sizeof(cmdline));
	/* the program's own rules first: their reasons say more */
	prog = diag_base_name(argv[0]);
	rc = diag_deny_program(prog, argc, argv, cmdline, reason, len);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < argc; i++) {
		for (size_t k = 0; metadata_hosts[k]; k++)
			if (has_ci(argv[i], metadata_hosts[k]))
				DIAG_DENY("refused: `%s` because %s is a cloud metadata address, which hands out "
					  "credentials, and %s", cmdline, metadata_hosts[k], because);
		if (i > 0 && names_key_file(argv[i]))
			DIAG_DENY("refused: `%s` because `%s` names a key, credential or secret file, and %s",
				  cmdline, argv[i], because);
	}
	return 0;
}
