#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cmd.h"
#include "db.h"
#include "exitcodes.h"
#include "follow.h"
#include "jsonl.h"
#include "log.h"
#include "xalloc.h"
#include "banned.h"

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	stop_signal = sig;
}

const volatile sig_atomic_t *aur_cmd_stop_flag(void)
{
	return &stop_signal;
}

static void set_signals(unsigned flags)
{
	struct sigaction sa;

	signal(SIGPIPE, SIG_IGN);
	if (!(flags & AUR_CMD_STOP_FLAG))
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

static void usage_lines(const struct aur_cmd_program *p)
{
	fputs(p->usage, stderr);
	fprintf(stderr, "try '%s --help' for more\n", p->name);
}

int aur_cmd_usage(const struct aur_cmd_ctx *ctx, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* logs sent elsewhere (aurora-recv under inetd: fd 2 is the client): the reason alone, there */
	if (aur_log_sink() != AUR_LOG_STDERR) {
		aur_err("%s", msg);
		return AUR_EXIT_USAGE;
	}
	fprintf(stderr, "%s: %s\n", ctx->prog->name, msg);
	usage_lines(ctx->prog);
	return AUR_EXIT_USAGE;
}

int aur_cmd_fail(int rc, const char *err)
{
	aur_err("%s", err && err[0] ? err : strerror(-rc));
	return aur_cli_exit_code(rc);
}

int aur_cmd_write_failed(void)
{
	if (errno == EPIPE)
		return AUR_CMD_GONE;
	aur_err("write error: %s", strerror(errno ? errno : EIO));
	return AUR_EXIT_IOERR;
}

int aur_cmd_put_json(struct aur_cmd_ctx *ctx, jv v)
{
	struct aur_jsonl_writer w;

	aur_jsonl_writer_init(&w, ctx->out, -1);
	errno = 0;
	return aur_jsonl_write(&w, v) < 0 ? aur_cmd_write_failed() : 0;
}

int aur_cmd_put_buf(struct aur_cmd_ctx *ctx, struct aur_buf *b)
{
	errno = 0;
	if (b->len && fwrite(b->data, 1, b->len, ctx->out) != b->len)
		return aur_cmd_write_failed();
	aur_buf_reset(b);
	return 0;
}

int aur_cmd_printf(struct aur_cmd_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	int rc;

	errno = 0;
	va_start(ap, fmt);
	rc = vfprintf(ctx->out, fmt, ap);
	va_end(ap);
	return rc < 0 ? aur_cmd_write_failed() : 0;
}

const char *aur_cmd_opt(const struct aur_cmd_ctx *ctx, int code)
{
	if (code < AUR_CLI_BASE || code >= AUR_CLI_BASE + AUR_CMD_MAX_OPTS)
		return NULL;
	return ctx->opt[code - AUR_CLI_BASE];
}

const char *aur_cmd_opt_named(const struct aur_cmd_ctx *ctx, const char *name)
{
	for (size_t i = 0; ctx->prog->longopts && ctx->prog->longopts[i].name; i++)
		if (!strcmp(ctx->prog->longopts[i].name, name))
			return aur_cmd_opt(ctx, ctx->prog->longopts[i].val);
	return NULL;
}

const char *aur_cmd_arg(const struct aur_cmd_ctx *ctx, int i)
{
	return i >= 0 && i < ctx->nargs ? ctx->args[i] : NULL;
}

int aur_cmd_follow(struct aur_cmd_ctx *ctx, int poll_ms, const char *what,
		   int (*look)(void *arg, int stop_fd, long long *found), void *arg)
{
	struct aur_follow_loop l;
	char err[512] = "";
	int look_rc = 0;
	int signo = 0;
	int rc;

	rc = aur_follow_loop_open(&l, ctx->db_path, poll_ms, err, sizeof(err));
	if (rc < 0)
		return aur_cmd_fail(rc, err);
	if (err[0])
		aur_warn("%s", err);
	l.look = look;
	l.arg = arg;
	aur_debug("following %s after %s (%s)", ctx->db_path, what, l.follow.ifd >= 0 ? "inotify" : "polling");
	rc = aur_follow_run(&l, &look_rc, &signo, err, sizeof(err));
	if (rc == AUR_FOLLOW_LOOK && look_rc == AUR_CMD_STOPPED) {
		rc = AUR_FOLLOW_STOPPED;
		signo = aur_follow_stop_read(l.stop_fd);
	}
	aur_follow_loop_release(&l);
	switch (rc) {
	case AUR_FOLLOW_STOPPED:
		aur_info("signal %d: stopping", signo);
		return AUR_EXIT_OK;
	case AUR_FOLLOW_GONE:
		aur_info("the reader of stdout went away");
		return AUR_CMD_GONE;
	case AUR_FOLLOW_LOOK:
		return look_rc;
	default:
		aur_err("%s", err);
		return AUR_EXIT_IOERR;
	}
}

/* getopt's callback: --db is the front door's, the rest the program's. */
struct parse_arg {
	struct aur_cmd_ctx *ctx;
	const char *db_arg;
};

static void set_option(int code, const char *arg, void *p)
{
	struct parse_arg *pa = p;
	const struct aur_cmd_program *prog = pa->ctx->prog;

	if (code >= AUR_CLI_BASE && code < AUR_CLI_BASE + AUR_CMD_MAX_OPTS)
		pa->ctx->opt[code - AUR_CLI_BASE] = arg ? arg : "1";
	if (prog->db_option && code == prog->db_option)
		pa->db_arg = arg;
	else if (prog->set)
		prog->set(pa->ctx, code, arg);
}

/*
 * Parse argv into ctx. -1 to go on, else the exit code: 0 after help or
 * version, 2 on misuse.
 */
static int parse(struct aur_cmd_ctx *ctx, int argc, char **argv)
{
	const struct aur_cmd_program *p = ctx->prog;
	struct aur_cli_command rows[32];
	struct aur_cli_spec spec = { p->longopts, p->shorts, rows, p->ncmds, p->global };
	struct parse_arg pa = { ctx, NULL };
	struct aur_cli cli;
	char err[256] = "";
	int rc;

	if (p->ncmds > sizeof(rows) / sizeof(rows[0])) {
		aur_err("internal: too many commands");
		return AUR_EXIT_SOFTWARE;
	}
	if (p->db_option)
		spec.global |= AUR_CLI_OPT(p->db_option);
	for (size_t i = 0; i < p->ncmds; i++) {
		rows[i].name = p->cmds[i].name;
		rows[i].options = p->cmds[i].options;
		rows[i].min_args = p->cmds[i].min_args;
		rows[i].max_args = p->cmds[i].max_args;
	}
	rc = aur_cli_parse_spec(&cli, ctx->args, argc, argv, &spec, set_option, &pa, err, sizeof(err));
	if (rc == -ERANGE && p->cmds[cli.cmd - rows].arity)
		return aur_cmd_usage(ctx, "%s %s", cli.cmd->name ? cli.cmd->name : p->name,
				     p->cmds[cli.cmd - rows].arity);
	if (rc < 0)
		return aur_cmd_usage(ctx, "%s", err);
	if (cli.help) {
		fputs(p->help, stdout);
		return AUR_EXIT_OK;
	}
	if (cli.version) {
		printf("%s %s\n", p->name, AURORA_VERSION);
		return AUR_EXIT_OK;
	}
	if (cli.log_level >= 0)
		aur_log_set_level(cli.log_level);
	ctx->cmd = &p->cmds[cli.cmd - rows];
	ctx->nargs = cli.nargs;
	ctx->db_need = ctx->cmd->db;
	ctx->flags = ctx->cmd->flags | p->flags;
	ctx->db_path = aur_db_default_path(pa.db_arg);
	return -1;
}

/* Open the database as ctx->db_need says. 0, or the exit code with the reason logged. */
static int open_db(struct aur_cmd_ctx *ctx)
{
	struct stat sb;
	char err[512] = "";
	int rc;

	switch (ctx->db_need) {
	case AUR_CMD_DB_NONE:
		return 0;
	case AUR_CMD_DB_READ:
		rc = aur_follow_open_db(&ctx->db, ctx->db_path, err, sizeof(err));
		if (rc == -ENOENT) {
			aur_err("%s (aurora-recv or aurora-connector creates it; check --db and AURORA_DB)", err);
			return AUR_EXIT_CONFIG;
		}
		break;
	case AUR_CMD_DB_WRITE:
		if (stat(ctx->db_path, &sb) < 0) {
			if (errno == ENOENT) {
				aur_err("no database at %s (check --db and AURORA_DB)", ctx->db_path);
				return AUR_EXIT_CONFIG;
			}
			aur_err("%s: %s", ctx->db_path, strerror(errno));
			return AUR_EXIT_IOERR;
		}
		/* fall through */
	default:
		rc = aur_db_open(&ctx->db, ctx->db_path, &ctx->dbo, err, sizeof(err));
		break;
	}
	/* an open that fails is never the data's fault: -EINVAL there is an I/O error */
	return rc < 0 ? aur_cmd_fail(rc == -EINVAL ? -EIO : rc, err) : 0;
}

/* The end: stdout flushed and closed; rc unless that fails. */
static int finish(const struct aur_cmd_ctx *ctx, int rc)
{
	int stream = ctx->cmd && (ctx->flags & AUR_CMD_STREAM);

	errno = 0;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (rc == AUR_EXIT_OK)
			rc = aur_cmd_write_failed();
	}
	errno = 0;
	if (fclose(stdout) != 0 && rc == AUR_EXIT_OK)
		rc = aur_cmd_write_failed();
	if (rc != AUR_CMD_GONE)
		return rc;
	if (stream)
		return AUR_EXIT_OK;
	aur_err("write error: %s", strerror(EPIPE));
	return AUR_EXIT_IOERR;
}

int aur_cmd_main(const struct aur_cmd_program *p, int argc, char **argv)
{
	struct aur_cmd_ctx ctx;
	int rc;

	memset(&ctx, 0, sizeof(ctx));
	ctx.prog = p;
	ctx.opts = p->opts;
	ctx.out = stdout;
	ctx.args = aur_xcalloc((size_t)argc + 1, sizeof(*ctx.args));
	aur_db_options_init(&ctx.dbo);
	aur_log_init(p->name);
	set_signals(p->flags);
	rc = parse(&ctx, argc, argv);
	if (rc >= 0)
		goto out;
	rc = p->check ? p->check(&ctx) : 0;
	if (rc == 0)
		rc = open_db(&ctx);
	if (rc == 0)
		rc = ctx.cmd->run(&ctx);
	aur_db_close(ctx.db);
	ctx.db = NULL;
	if (p->release)
		p->release(&ctx);
out:
	aur_db_close(ctx.db);
	free(ctx.args);
	return finish(&ctx, rc);
}
