/*
 * ifctl chassis: run, serve, proxy. A sandboxed run of a WASM module or a
 * native program (core/sandbox.h, core/chassis.h), a worker loop that
 * claims and runs tasks, and the egress proxy on its own.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>


#include "cmd/cmd.h"
#include "core/chassis.h"
#include "core/cred.h"
#include "core/egress.h"
#include "core/json.h"
#include "core/proc.h"
#include "core/task.h"
#include "core/util.h"
#include "core/vault.h"

static volatile sig_atomic_t stop_flag;

static void
on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/* Catch SIGINT and SIGTERM into stop_flag; the old actions go to old[2]. */
static void
catch_stop(struct sigaction old[2])
{
	struct sigaction sa = { .sa_handler = on_stop };

	stop_flag = 0;
	sigaction(SIGINT, &sa, &old[0]);
	sigaction(SIGTERM, &sa, &old[1]);
}

static void
restore_stop(const struct sigaction old[2])
{
	sigaction(SIGINT, &old[0], NULL);
	sigaction(SIGTERM, &old[1], NULL);
}

/*
 * A token from --cred: the token itself, @FILE (its first line) or
 * $IF_CRED_TOKEN when the option is "env". The caller wipes and frees it.
 */
static enum status
cred_token_opt(struct cmd_ctx *ctx, const char *v, char **out)
{
	char *text = NULL;
	size_t len = 0;
	enum status st;

	*out = NULL;
	if (v == NULL)
		return ST_OK;
	if (strcmp(v, "env") == 0) {
		if ((v = getenv("IF_CRED_TOKEN")) == NULL)
			return err_set(&ctx->err, ST_USAGE, "--cred env: IF_CRED_TOKEN is not set");
		*out = xstrdup(v);
	} else if (v[0] == '@') {
		if ((st = read_file(v + 1, READ_MAX_KEY, READ_TEXT, &text, &len, &ctx->err)) != ST_OK)
			return st;
		text[strcspn(text, "\r\n")] = '\0';
		*out = text;
	} else {
		*out = xstrdup(v);
	}
	return ST_OK;
}


/* The vault's secrets a run gets as files (--secret NAME,...). */
struct secrets {
	char **names, **values;
	size_t *lens, n;
};

/* Read the --secret names from the vault into o's spec; free with secrets_free. */
static enum status
secrets_load(struct cmd_ctx *ctx, struct chassis_opts *o, struct secrets *sc)
{
	enum status st = ST_OK;
	size_t i;

	sc->names = strv_split(cmd_opt(ctx, "secret"), ',', &sc->n);
	sc->values = xcalloc(sc->n + 1, sizeof *sc->values);
	sc->lens = xcalloc(sc->n + 1, sizeof *sc->lens);
	if (sc->n > SANDBOX_SECRETS_MAX)
		return err_set(&ctx->err, ST_USAGE, "--secret: at most %d secrets per run",
			       SANDBOX_SECRETS_MAX);
	for (i = 0; i < sc->n && st == ST_OK; i++)
		st = vault_get(&ctx->cfg, sc->names[i], &sc->values[i], &sc->lens[i], NULL, &ctx->err);
	o->spec.secret_names = (const char *const *)sc->names;
	o->spec.secret_values = (const char *const *)sc->values;
	o->spec.secret_lens = sc->lens;
	o->spec.nsecrets = sc->n;
	if (sc->n)
		why_add(&ctx->op, "secrets", "", "%zu from the vault, as files in "
			SANDBOX_SECRETS_DIR, sc->n);
	return st;
}

/* Wipe and free what secrets_load read. */
static void
secrets_free(struct secrets *sc)
{
	size_t i;

	for (i = 0; i < sc->n; i++)
		if (sc->values[i]) {
			sodium_memzero(sc->values[i], sc->lens[i]);
			free(sc->values[i]);
		}
	free(sc->values);
	free(sc->lens);
	strv_free(sc->names, sc->n);
}

/* Limits from the options over the configuration's. */
static enum status
limit_opts(struct cmd_ctx *ctx, struct chassis_opts *o)
{
	struct sandbox_limits *l = &o->spec.lim;
	enum status st;

	chassis_opts_from_config(o, &ctx->cfg);
	if ((st = cmd_opt_int(ctx, "memory", 16, 1 << 20, l->memory_mb, &l->memory_mb)) != ST_OK ||
	    (st = cmd_opt_int(ctx, "cpu", 1, 86400, l->cpu_s, &l->cpu_s)) != ST_OK ||
	    (st = cmd_opt_int(ctx, "wall", 10, 86400000, l->wall_ms, &l->wall_ms)) != ST_OK ||
	    (st = cmd_opt_int(ctx, "procs", 1, 1 << 20, l->procs, &l->procs)) != ST_OK ||
	    (st = cmd_opt_int(ctx, "files", 8, 1 << 20, l->files, &l->files)) != ST_OK)
		return st;
	why_add(&ctx->op, "limits", "", "memory %lld MiB, cpu %lld s, wall %lld ms, %lld processes, "
		"%lld open files", (long long)l->memory_mb, (long long)l->cpu_s, (long long)l->wall_ms,
		(long long)l->procs, (long long)l->files);
	return ST_OK;
}

/* A swarm id option, when given. */
static enum status
swarm_opt(struct cmd_ctx *ctx, bool required)
{
	const char *v = cmd_opt(ctx, "swarm");

	if (required && (v == NULL || *v == '\0'))
		return err_set(&ctx->err, ST_USAGE, "chassis %s needs --swarm", ctx->entry->name);
	if (v && !task_id_valid(v))
		return err_set(&ctx->err, ST_USAGE, "--swarm: '%s' is not a swarm id", v);
	return ST_OK;
}

/* The program's path exists and is a file (its kind is the sandbox's to judge). */
static enum status
program_arg(struct cmd_ctx *ctx, const char *path)
{
	if (access(path, R_OK) != 0)
		return err_set(&ctx->err, ST_NOT_FOUND, "no module or program '%s' (or it is not "
			       "readable)", path);
	return ST_OK;
}

/* --- run ---------------------------------------------------------------- */

static enum status
validate_run(struct cmd_ctx *ctx)
{
	if (ctx->argc < 1)
		return err_set(&ctx->err, ST_USAGE, "chassis run needs a MODULE or PROGRAM");
	if (cmd_opt(ctx, "task") && !cmd_opt(ctx, "swarm"))
		return err_set(&ctx->err, ST_USAGE, "chassis run --task needs --swarm (the swarm "
			       "that holds the task)");
	if (cmd_opt(ctx, "task") && cmd_opt(ctx, "input"))
		return err_set(&ctx->err, ST_USAGE, "chassis run --task takes its input from the "
			       "task's payload, not --input");
	return swarm_opt(ctx, false);
}

/* The run's stdin: --input TEXT, @FILE or - (ifctl's stdin). */
static enum status
input_opt(struct cmd_ctx *ctx, char **text, size_t *len)
{
	const char *v = cmd_opt(ctx, "input");

	*text = NULL;
	*len = 0;
	if (v == NULL)
		return ST_OK;
	if (v[0] == '@' || strcmp(v, "-") == 0)
		return read_file(v[0] == '@' ? v + 1 : "-", READ_MAX_JSON, 0, text, len, &ctx->err);
	*text = xstrdup(v);
	*len = strlen(v);
	return ST_OK;
}

/* The exit of a run: its record is shown whatever it says. */
static enum status
run_outcome(struct cmd_ctx *ctx, struct rowset *rs, bool ok, bool limit)
{
	const char *reason = rs->nrows ? rows_get(rs, rs->nrows - 1, RC_REASON) : "";

	ctx->output_on_error = true;
	if (ok)
		return ST_OK;
	return err_set(&ctx->err, limit ? ST_SANDBOX_LIMIT : ST_FAIL, "run of '%s' %s: %s",
		       ctx->argv[0], limit ? "stopped" : "failed", reason ? reason : "");
}

/* Under --mode=falsify: every check a run would make, nothing run. */
static void
run_checks(struct cmd_ctx *ctx, const struct chassis_opts *o)
{
	struct err e = ERR_INIT;
	char *bwrap = proc_find(o->spec.bwrap), id[22], hash[65];

	check(&ctx->op, "program exists", program_arg(ctx, o->spec.program), &ctx->err,
	      o->spec.program);
	check(&ctx->op, "limits are within bounds", sandbox_limits_check(&o->spec.lim, &e), &e, "ok");
	check(&ctx->op, "bubblewrap is installed", bwrap ? ST_OK : ST_NO_PROGRAM, NULL,
	      bwrap ? bwrap : o->spec.bwrap);
	if (o->token)
		check(&ctx->op, "credential token is well formed",
		      cred_token_hash(o->token, id, hash) ? ST_OK : ST_BAD_VALUE, NULL, "ifc1_...");
	free(bwrap);
}

static enum status
run_run(struct cmd_ctx *ctx)
{
	struct secrets sc = { 0 };
	struct chassis_opts o;
	struct coord_cfg cc;
	struct rowset *rs;
	char *input = NULL, *token = NULL;
	size_t len = 0;
	bool ok = false, limit = false;
	enum status st;

	if ((st = limit_opts(ctx, &o)) != ST_OK ||
	    (st = cred_token_opt(ctx, cmd_opt(ctx, "cred"), &token)) != ST_OK)
		return st;
	if ((st = secrets_load(ctx, &o, &sc)) != ST_OK) {
		secrets_free(&sc);
		cred_token_free(token);
		return st;
	}
	o.spec.program = ctx->argv[0];
	o.spec.args = ctx->argv + 1;
	o.spec.nargs = (size_t)ctx->argc - 1;
	o.swarm = cmd_opt(ctx, "swarm");
	o.token = token;
	rs = chassis_view_runs();
	if (cmd_opt(ctx, "task")) {
		coord_cfg_load(&ctx->cfg, &cc);
		if (ctx->op.falsify)
			run_checks(ctx, &o);
		st = chassis_task_run(ctx->bus, &cc, &ctx->op, &o, cmd_opt(ctx, "task"), rs, &ok,
				      &limit, &ctx->err);
	} else if (ctx->op.falsify) {
		run_checks(ctx, &o);
		st = ST_OK;
		ok = true;
	} else if ((st = program_arg(ctx, o.spec.program)) == ST_OK &&
		   (st = input_opt(ctx, &input, &len)) == ST_OK) {
		st = chassis_run(ctx->bus, &ctx->op, &o, input, len, rs, &ok, &limit, &ctx->err);
	}
	rs->single = true;
	doc_add(&ctx->out, rs);
	free(input);
	cred_token_free(token);
	secrets_free(&sc);
	if (st != ST_OK || ctx->op.falsify)
		return st;
	return run_outcome(ctx, rs, ok, limit);
}

/* --- serve -------------------------------------------------------------- */

static enum status
validate_serve(struct cmd_ctx *ctx)
{
	if (ctx->argc == 0 && !cmd_opt(ctx, "modules"))
		return err_set(&ctx->err, ST_USAGE, "chassis serve needs a MODULE, or --modules DIR "
			       "for tasks that name theirs");
	return swarm_opt(ctx, true);
}

static enum status
run_serve(struct cmd_ctx *ctx)
{
	struct chassis_serve_opts so = { .stop = &stop_flag };
	struct secrets sc = { 0 };
	struct chassis_opts o;
	struct coord_cfg cc;
	struct sigaction old[2];
	struct rowset *rs;
	char **caps, *token = NULL;
	size_t i, failed = 0;
	enum status st;

	if ((st = limit_opts(ctx, &o)) != ST_OK ||
	    (st = cmd_opt_int(ctx, "max-tasks", 0, INT64_MAX, 0, &so.max_tasks)) != ST_OK ||
	    (st = cred_token_opt(ctx, cmd_opt(ctx, "cred"), &token)) != ST_OK)
		return st;
	if ((ctx->argc >= 1 && (st = program_arg(ctx, ctx->argv[0])) != ST_OK) ||
	    (st = secrets_load(ctx, &o, &sc)) != ST_OK) {
		secrets_free(&sc);
		cred_token_free(token);
		return st;
	}
	o.spec.program = ctx->argc ? ctx->argv[0] : NULL;
	o.spec.args = ctx->argc ? ctx->argv + 1 : NULL;
	o.spec.nargs = ctx->argc ? (size_t)ctx->argc - 1 : 0;
	o.swarm = cmd_opt(ctx, "swarm");
	o.modules = cmd_opt(ctx, "modules");
	o.token = token;
	caps = strv_split(cmd_opt(ctx, "capability"), ',', &so.ncaps);
	so.caps = caps;
	so.drain = cmd_flag(ctx, "drain");
	coord_cfg_load(&ctx->cfg, &cc);
	rs = chassis_view_runs();
	catch_stop(old);
	st = chassis_serve(ctx->bus, &cc, &ctx->op, &o, &so, rs, &ctx->err);
	restore_stop(old);
	for (i = 0; i < rs->nrows; i++)
		failed += strcmp(rows_get(rs, i, RC_OUTCOME), "ok") != 0;
	why_add(&ctx->op, "runs", "", "%zu tasks run, %zu of them failed or stopped", rs->nrows, failed);
	doc_add(&ctx->out, rs);
	ctx->output_on_error = true;
	strv_free(caps, so.ncaps);
	cred_token_free(token);
	secrets_free(&sc);
	if (st == ST_OK && stop_flag)
		session_notice(ctx->session, NOTICE_INFO, "ifctl: chassis serve stopped by a signal "
			       "after %zu tasks", rs->nrows);
	return st;
}

/* --- proxy -------------------------------------------------------------- */

enum proxy_col { PX_SOCKET, PX_ALLOWED, PX_DENIED, PX_FAILED, PX_BYTES_OUT, PX_BYTES_IN, PX__COUNT };
static const struct view_col proxy_cols[] = {
	[PX_SOCKET] = { "socket", COL_TEXT, 0 },
	[PX_ALLOWED] = { "allowed", COL_NUM, 0 },
	[PX_DENIED] = { "denied", COL_NUM, 0 },
	[PX_FAILED] = { "failed", COL_NUM, 0 },
	[PX_BYTES_OUT] = { "bytes_out", COL_NUM, 0 },
	[PX_BYTES_IN] = { "bytes_in", COL_NUM, 0 },
};
_Static_assert(ARRAY_SIZE(proxy_cols) == PX__COUNT, "one column per proxy_col");
static const struct view proxy_view = VIEW("proxy", proxy_cols);

static enum status
run_proxy(struct cmd_ctx *ctx)
{
	struct egress_opts eo = { .bus = ctx->bus, .op = &ctx->op };
	struct egress_stats s;
	struct egress *g = NULL;
	struct sigaction old[2];
	struct rowset *rs;
	int64_t secs, until, tick;
	size_t r;
	enum status st;

	if ((st = cmd_need(ctx, "socket")) != ST_OK ||
	    (st = cmd_opt_int(ctx, "for", 0, 86400 * 365, 0, &secs)) != ST_OK)
		return st;
	if ((st = cmd_may_write_file(ctx, cmd_opt(ctx, "socket"))) != ST_OK)
		return st;
	eo.path = cmd_opt(ctx, "socket");
	eo.only_id = cmd_opt(ctx, "only");
	if ((st = cmd_witness_open(ctx)) != ST_OK)
		return st;
	eo.op = &ctx->op;
	catch_stop(old);
	if ((st = egress_start(&eo, &g, &ctx->err)) == ST_OK) {
		session_notice(ctx->session, NOTICE_WARN, "ifctl: egress proxy on %s (Ctrl-C stops it)",
			       eo.path);
		until = secs ? mono_ms() + secs * 1000 : INT64_MAX;
		for (tick = 0; !stop_flag && mono_ms() < until; tick++) {
			usleep(50000);
			if (ctx->witness && tick % 20 == 19)	/* the checks land every second */
				ledger_flush(ctx->witness, NULL);
		}
		egress_get_stats(g, &s);
		egress_stop(g);
		rs = rows_view(&proxy_view);
		rs->single = true;
		r = rows_add(rs);
		rows_set(rs, r, PX_SOCKET, eo.path);
		rows_set_u64(rs, r, PX_ALLOWED, s.allowed);
		rows_set_u64(rs, r, PX_DENIED, s.denied);
		rows_set_u64(rs, r, PX_FAILED, s.failed);
		rows_set_u64(rs, r, PX_BYTES_OUT, s.bytes_out);
		rows_set_u64(rs, r, PX_BYTES_IN, s.bytes_in);
		doc_add(&ctx->out, rs);
	}
	restore_stop(old);
	return st;
}

/* --- entries ------------------------------------------------------------ */

#define OPT_END { NULL, 0, NULL, NULL }
#define LIMIT_OPTS \
	{ "memory", 0, "MIB", "address-space limit (default chassis.memory_mb)" }, \
	{ "cpu", 0, "SECONDS", "CPU-time limit (default chassis.cpu_s)" }, \
	{ "wall", 0, "MS", "wall-time limit (default chassis.wall_ms)" }, \
	{ "procs", 0, "N", "process limit (default chassis.procs)" }, \
	{ "files", 0, "N", "open-file limit (default chassis.files)" }, \
	{ "cred", 0, "TOKEN|@FILE|env", "a credential for the sandbox: $IF_CRED_TOKEN and " \
	  SANDBOX_CRED_PATH " inside, and an egress proxy that accepts it" }, \
	{ "secret", 0, "NAME", "a vault secret as the file " SANDBOX_SECRETS_DIR "/NAME inside " \
	  "(repeatable)" }

static const struct cmd_opt run_opts[] = {
	LIMIT_OPTS,
	{ "task", 0, "ID", "run a task the swarm holds: payload on stdin, lease heartbeated, "
	  "completed or failed with the run record" },
	{ "swarm", 0, "ID", "the swarm that runs it (holds the task)" },
	{ "input", 0, "TEXT|@FILE|-", "the program's stdin (without --task)" },
	OPT_END,
};
static const struct cmd_opt serve_opts[] = {
	LIMIT_OPTS,
	{ "swarm", 0, "ID", "the swarm this worker claims for" },
	{ "capability", 'c', "C[,C...]", "the swarm's capabilities" },
	{ "modules", 0, "DIR", "tasks name their module in the payload: {\"module\": NAME}, a file in DIR" },
	{ "max-tasks", 0, "N", "stop after N tasks" },
	{ "drain", 0, NULL, "stop when no task is ready" },
	OPT_END,
};
static const struct cmd_opt proxy_opts[] = {
	{ "socket", 0, "PATH", "the Unix socket to serve on" },
	{ "only", 0, "CRED-ID", "accept this credential only" },
	{ "for", 0, "SECONDS", "stop after this long (default: at Ctrl-C)" },
	OPT_END,
};

static const struct cmd_entry chassis_run_entry = {
	.name = "run", .args = "[--task ID --swarm S] [--cred TOKEN] [--memory MIB] [--cpu S] "
	"[--wall MS] MODULE|PROGRAM [-- ARG...]",
	.summary = "run a WASM module or a program in the sandbox; prints its run record",
	.flags = CMD_NEEDS_BUS | CMD_MUTATES, .opts = run_opts,
	.validate = validate_run, .run = run_run,
	.examples =
		"ifctl chassis run build/fixtures/chassis/print.wasm\n"
		"ifctl chassis run --cred @cred.token --wall 2000 ./agent\n"
		"ifctl chassis run --task t-42 --swarm gen-c module.wasm -o json",
	.see_also = "chassis serve, cred issue, ifctl-security(7)",
	.schema = "chassis-run",
};
static const struct cmd_entry chassis_serve_entry = {
	.name = "serve", .args = "--swarm S [-c CAP,...] [--drain] [--max-tasks N] "
	"[--modules DIR] [MODULE [-- ARG...]]",
	.summary = "a worker: claim a task, run it in the sandbox, settle it, repeat",
	.flags = CMD_NEEDS_BUS | CMD_MUTATES, .opts = serve_opts,
	.validate = validate_serve, .run = run_serve,
	.examples =
		"ifctl chassis serve --swarm gen-c --modules ./modules --drain\n"
		"ifctl chassis serve --swarm gen-c -c cli:automation --max-tasks 10 ./agent",
	.see_also = "chassis run, task claim",
	.schema = "chassis-run[]",
};
static const struct cmd_entry chassis_proxy_entry = {
	.name = "proxy", .args = "--socket PATH [--only CRED-ID] [--for SECONDS]",
	.summary = "serve the egress proxy on a Unix socket (checks token and endpoint)",
	.flags = CMD_NEEDS_BUS | CMD_NO_WITNESS, .opts = proxy_opts, .run = run_proxy,
	.examples =
		"ifctl chassis proxy --socket /tmp/egress.sock --for 60\n"
		"ifctl chassis proxy --socket /tmp/egress.sock --only cred-0123456789abcdef",
	.see_also = "cred check, chassis run --cred",
	.schema = "chassis-proxy",
};

static const struct cmd_entry *const chassis_subs[] = {
	&chassis_run_entry, &chassis_serve_entry, &chassis_proxy_entry, NULL,
};

const struct cmd_entry cmd_chassis_entry = {
	.name = "chassis",
	.args = "run|serve|proxy",
	.summary = "sandboxed runs of swarm code: limits, seccomp, egress through checked credentials",
	.subs = chassis_subs,
	.examples =
		"ifctl chassis run build/fixtures/chassis/print.wasm\n"
		"ifctl chassis serve --swarm gen-c --modules ./modules --drain",
	.see_also = "cred, vault, ifctl-security(7), ifctl-workflows(7)",
};
