/*
 * diag.h - run_diagnostic: the one way an investigator (the built-in one or
 * an LLM's tool call) runs a command on the operator's machine.
 *
 * An investigation runs unattended, on text that arrived in a webhook, and
 * an LLM can be talked into anything by that text. So nothing it asks for
 * is interpreted: a command is a list of words, checked word by word, run
 * with execve and no shell, and it runs only when the operator's allow-list
 * names it and the built-in deny list does not. The deny list is compiled
 * in and the allow-list cannot override it: an allow-list is written once,
 * quickly, and a rule like `kubectl get ...` must not become `kubectl get
 * secret -o yaml`. Nothing here ever waits for a person; what would need
 * one becomes a suggestion in the caller, never a prompt.
 *
 * THE ALLOW-LIST FILE (docs/rca-diagnostics.md has the long form)
 *
 * One rule per line; `#` starts a comment (at the start of a line or after
 * blanks); blank lines are ignored; words are separated by blanks. A rule is
 * a program followed by argument patterns:
 *
 *     kubectl get pods -n <arg>
 *     kubectl logs <arg> -n <arg> --tail=<num>
 *     journalctl -u <arg> --since=<arg> ...
 *     /opt/acme/bin/healthcheck
 *
 * - The program is a name, found in the fixed PATH /usr/local/bin:/usr/bin:
 *   /bin when the command is checked (a rule for a program that is not
 *   installed matches nothing), or an absolute path. A command names the
 *   program the way its rule does (or by the absolute path the name
 *   resolves to).
 * - A pattern word is a literal, matched exactly, which may end in one
 *   placeholder: `<arg>` is one word of the safe characters
 *   [A-Za-z0-9._:/=@,+%-] that does not start with `-` (a name, never an
 *   option) and is not `..`-traversal; `<num>` is 1 to 9 digits. So
 *   `--tail=<num>` matches `--tail=200`.
 * - A final `...` matches any number of further words of the safe
 *   characters, options included.
 * - Settings, one per line, start with `@`:
 *     @timeout MS          default time limit (10000; 1 to 600000)
 *     @max-output BYTES    default output cap (65536; 1 to 1 MiB)
 *     @env NAME=VALUE      a variable the commands get besides the clean
 *                          environment; NAME is one of KUBECONFIG, HOME,
 *                          TZ, AWS_PROFILE, AWS_REGION, AWS_DEFAULT_REGION,
 *                          AWS_CONFIG_FILE, CLOUDSDK_CONFIG,
 *                          CLOUDSDK_CORE_PROJECT, AZURE_CONFIG_DIR,
 *                          DOCKER_HOST, CONTAINER_HOST
 * An error names the file and line; the caller maps it to exit 78.
 *
 * THE SAFETY RULES, in the order a command meets them
 *  1. Words: split on blanks only, no quoting; at most 64 words of at most
 *     1024 bytes, 4096 bytes in all. Any other character - ; | & $ ` < > ( )
 *     { } [ ] \ ' " * ? ~ ! # ^ newline, control bytes, non-ASCII - refuses
 *     the command: it is never interpreted, escaped or dropped.
 *  2. The deny list (lib/diag_deny.c): programs that run other programs
 *     or change the machine (shells, interpreters, sudo, env, xargs, rm,
 *     kill, editors, ssh, wget, secret stores ...); per program, read-only
 *     verbs only (kubectl get/describe/logs/top/events ..., systemctl
 *     status/show/list-* ..., git log/show/diff/blame ..., docker
 *     ps/logs/inspect ..., aws describe-/get-/list- ...), secret-reading
 *     verbs always (kubectl anything naming secrets, `--raw`, aws
 *     secretsmanager get-secret-value, ssm --with-decryption, vault, gcloud
 *     secrets, az keyvault, git -c/config ...); in any command, a word
 *     naming a key or credential file (*.pem, *.key, id_rsa*, .env, .netrc,
 *     .pgpass, credentials, shadow, /proc/N/environ ...) or a cloud
 *     metadata address. The deny list is checked before the allow-list and
 *     no allow-list rule overrides it.
 *  3. The allow-list: some rule matches the whole command.
 * A refusal is -EPERM with a reason meant for a thought: "refused: ...
 * because ...", with any secret in it redacted.
 *
 * Running (aur_diag_run, lib/diag_run.c): fork and execve of the resolved
 * path, no shell; stdin /dev/null; stdout and stderr into one pipe; the environment is
 * PATH=/usr/local/bin:/usr/bin:/bin, LANG=C, LC_ALL=C, HOME=/nonexistent
 * and the @env settings, nothing else; working directory /; its own process
 * group; signals at their defaults; no core files; RLIMIT_FSIZE 0, so it
 * cannot write data into any file; descriptors beyond 2 closed. At the
 * time limit the whole process group gets SIGKILL. Output past the cap is
 * read and discarded (and counted), so a chatty command is neither blocked
 * nor kept. The call returns within the time limit plus about one second
 * in all cases; a child that SIGKILL cannot end in that second (stuck in
 * the kernel) is left behind, reported as not reaped.
 *
 * Redaction (aur_diag_redact in lib/diag_redact.c, applied to every output
 * and reason): private key blocks (every line saying PRIVATE KEY, and the key around it), Authorization values (Bearer/Basic/Token), `password=`,
 * `token: `, `client_secret"` ... values, Kubernetes env values under a
 * secret-looking name, AWS access key ids, JWTs, GitHub,
 * GitLab, Slack, Google and OpenAI-style tokens, the password in URLs,
 * and long base64 or hex runs on a line that mentions a secret, key, token
 * or password. Each becomes [redacted]. The unredacted output is wiped
 * before it is freed and never leaves this module. It costs about 0.15 ms
 * per KiB kept (10 ms for the default 64 KiB, 140 ms for the 1 MiB
 * maximum, measured on log-like text with a secret every third line),
 * after the command has ended.
 *
 * Nothing here prints or logs. lib/diag.c reads the allow-list and checks
 * commands; diag_impl.h lists the module's other files and what they share.
 */
#ifndef AURORA_DIAG_H
#define AURORA_DIAG_H

#include <stddef.h>

#define AUR_DIAG_SAFE_PATH "/usr/local/bin:/usr/bin:/bin"
#define AUR_DIAG_MAX_WORDS 64
#define AUR_DIAG_MAX_WORD 1024
#define AUR_DIAG_MAX_TEXT 4096
#define AUR_DIAG_DEFAULT_TIMEOUT_MS 10000
#define AUR_DIAG_DEFAULT_MAX_OUTPUT 65536
#define AUR_DIAG_MAX_TIMEOUT_MS 600000
#define AUR_DIAG_MAX_OUTPUT (1u << 20)

struct aur_diag_policy;

/* A checked command, ready to run. */
struct aur_diag_cmd {
	char *path;   /* owned: the absolute path execve runs */
	char **argv;  /* owned, NULL-terminated; argv[0] as the command named it */
	size_t argc;
};

struct aur_diag_result {
	char *output;        /* owned, redacted, NUL-terminated (NUL bytes of the
	                        command's output become spaces) */
	size_t output_len;
	size_t kept;         /* bytes of output kept, before redaction */
	size_t discarded;    /* bytes read past the cap and thrown away */
	int truncated;       /* 1 when discarded > 0 */
	int exited;          /* 1: exit_code is valid */
	int exit_code;
	int signal;          /* the signal that ended it, or 0 */
	int timed_out;       /* 1: killed at the time limit */
	int reaped;          /* 0: still alive after SIGKILL and the grace */
	long long elapsed_ms;
	unsigned redactions; /* how many secrets were replaced */
};

/*
 * Read the allow-list at path into a new policy (caller frees with
 * aur_diag_policy_free). 0; -ENOENT/-EACCES/-EIO when the file cannot be
 * read; -EINVAL for a syntax error, err saying "PATH: line N: what".
 */
int aur_diag_policy_load(const char *path, struct aur_diag_policy **out,
			 char *err, size_t errlen);
/* The same from text in memory; name stands for the path in messages. */
int aur_diag_policy_parse(const char *text, const char *name,
			  struct aur_diag_policy **out, char *err, size_t errlen);
/* NULL-safe. */
void aur_diag_policy_free(struct aur_diag_policy *p);
/* The policy's @timeout and @max-output (the defaults when unset). */
int aur_diag_policy_timeout_ms(const struct aur_diag_policy *p);
size_t aur_diag_policy_max_output(const struct aur_diag_policy *p);

/*
 * Check a command given as one line of text (an investigator's tool call):
 * split into words without a shell, then the safety rules above. 0 and cmd
 * filled (release with aur_diag_cmd_release) when it may run; -EPERM when
 * refused, reason saying why; -EINVAL for an empty command. cmd is left
 * empty on failure.
 */
int aur_diag_check(const struct aur_diag_policy *p, const char *text,
		   struct aur_diag_cmd *cmd, char *reason, size_t reasonlen);
/* The same for a command already split into words (argc words of argv). */
int aur_diag_check_argv(const struct aur_diag_policy *p, size_t argc,
			const char *const *argv, struct aur_diag_cmd *cmd,
			char *reason, size_t reasonlen);
/* The deny list alone, for a suggestion the caller does not run: 0 when
 * not denied, -EPERM and a reason when it is. */
int aur_diag_denied(size_t argc, const char *const *argv, char *reason, size_t reasonlen);
/* Free cmd's contents; NULL-safe, and cmd may be zeroed or released already. */
void aur_diag_cmd_release(struct aur_diag_cmd *cmd);

/*
 * Run a checked command under the policy's environment. timeout_ms and
 * max_output of 0 take the policy's. Fills res (release with
 * aur_diag_result_release): a command that ran, timed out or was killed
 * is a success (0) with res saying so. -EINVAL for bad limits; -errno when
 * the pipe or fork failed; an execve failure is exit code 127 with the
 * reason in the output, as a shell would say it.
 */
int aur_diag_run(const struct aur_diag_policy *p, const struct aur_diag_cmd *cmd,
		 int timeout_ms, size_t max_output, struct aur_diag_result *res,
		 char *err, size_t errlen);
/*
 * Check and run one line of text, as a tool call does: aur_diag_check then
 * aur_diag_run with the policy's limits. 0 when it ran (res filled, release
 * with aur_diag_result_release); -EPERM or -EINVAL when refused, -errno when
 * it could not be started; why says so in every failure, and res is empty.
 */
int aur_diag_run_text(const struct aur_diag_policy *p, const char *text,
		      struct aur_diag_result *res, char *why, size_t whylen);
/* NULL-safe; wipes and frees the output. */
void aur_diag_result_release(struct aur_diag_result *res);
/*
 * One line for a thought: "exit 0", "exit 2", "killed by signal 9",
 * "killed at the time limit of 300 ms", each followed by ", output cut at
 * N bytes (M more discarded)" when cut. Returns buf.
 */
const char *aur_diag_result_describe(const struct aur_diag_result *res,
				     char *buf, size_t len);

/*
 * Redact secrets from len bytes of text (which need not be NUL-terminated,
 * and NUL bytes become spaces). Returns a new NUL-terminated string (caller
 * frees with free()), its length in *out_len and the number of secrets
 * replaced in *count (either may be NULL).
 */
char *aur_diag_redact(const char *text, size_t len, size_t *out_len, unsigned *count);

#endif
