/*
 * The dispatcher: one command line in a session, with no stdio of its own.
 *
 * Order: parse (command, global and command options), configure the
 * session once, apply this call's flags to a copy of its configuration,
 * refuse a change under --read-only, validate, borrow the connection (and
 * the witness writer for a change), run, witness (the operator entry, due
 * checkpoints), then put the --why or falsify sections in the document.
 * main.c renders and reports what comes back; the console shows it in a
 * pane.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "core/json.h"
#include "core/util.h"
#include "core/windex.h"

/* Global option values by enum global_id: the text, "" for a flag, NULL when not given. */
struct globals {
	const char *v[G__COUNT];
};

/* A global option by long name or by short letter (name NULL). */
static const struct global_opt *
global_find(const char *name, char shortc)
{
	size_t i;

	for (i = 0; global_opts[i].name; i++)
		if ((name && strcmp(global_opts[i].name, name) == 0) ||
		    (!name && shortc && global_opts[i].shortc == shortc))
			return &global_opts[i];
	return NULL;
}


/* The index of a command option by long name or short letter; -1 when it has none. */
static int
cmd_opt_find(const struct cmd_entry *c, const char *name, char shortc)
{
	int i;

	for (i = 0; c && c->opts && c->opts[i].name; i++)
		if ((name && strcmp(c->opts[i].name, name) == 0) ||
		    (!name && shortc && c->opts[i].shortc == shortc))
			return i;
	return -1;
}

/* "did you mean" for an unknown long option. */
static const char *
option_suggest(const struct cmd_entry *c, const char *name)
{
	const char *best = NULL;
	size_t i, d, bestd = strlen(name) / 3 + 2;

	for (i = 0; global_opts[i].name; i++)
		if ((d = edit_distance(name, global_opts[i].name)) < bestd)
			bestd = d, best = global_opts[i].name;
	for (i = 0; c && c->opts && c->opts[i].name; i++)
		if ((d = edit_distance(name, c->opts[i].name)) < bestd)
			bestd = d, best = c->opts[i].name;
	return best;
}

/*
 * Parse one option at argv[*i]. Long: --name, --name=value, --name value.
 * Short: -x, -xVALUE, -x VALUE.
 */
static enum status
parse_option(struct cmd_ctx *ctx, struct globals *g, int argc, char **argv, int *i)
{
	const char *arg = argv[*i], *eq = NULL, *val = NULL;
	const struct global_opt *go;
	const struct cmd_entry *c = ctx->entry;
	char name[64];
	bool is_long = arg[1] == '-', takes, optional;
	int ci = -1;

	if (is_long) {
		eq = strchr(arg + 2, '=');
		snprintf(name, sizeof name, "%.*s", (int)(eq ? eq - arg - 2 : (long)strlen(arg + 2)), arg + 2);
		go = global_find(name, 0);
		if (!go)
			ci = cmd_opt_find(c, name, 0);
	} else {
		go = global_find(NULL, arg[1]);
		if (!go)
			ci = cmd_opt_find(c, NULL, arg[1]);
		snprintf(name, sizeof name, "%s", go ? go->name : ci >= 0 ? c->opts[ci].name : arg + 1);
		if (arg[2])
			eq = arg + 1;	/* -ojson: the value follows the letter */
	}
	if (!go && ci < 0) {
		const char *hint = is_long ? option_suggest(c, name) : NULL;
		return err_set(&ctx->err, ST_USAGE, "unknown option '%s'%s%s%s%s%s", arg,
			       c ? " for '" : "", c ? c->name : "", c ? "'" : "",
			       hint ? ", did you mean --" : "", hint ? hint : "");
	}
	takes = go ? go->arg != NULL : c->opts[ci].arg != NULL;
	optional = go && go->optional;
	if (eq)
		val = eq + 1;
	else if (takes && !optional) {
		if (*i + 1 >= argc)
			return err_set(&ctx->err, ST_USAGE, "option '--%s' needs a value (%s)",
				       name, go ? go->arg : c->opts[ci].arg);
		val = argv[++*i];
	}
	if (val && !takes)
		return err_set(&ctx->err, ST_USAGE, "option '--%s' takes no value", name);
	if (go)
		g->v[go - global_opts] = val ? val : "";
	else if (ctx->optval[ci] && val) {	/* repeated: values join with commas */
		xgrow(&ctx->joined, &ctx->joincap, ctx->njoined + 1, sizeof *ctx->joined);
		ctx->optval[ci] = ctx->joined[ctx->njoined++] =
			xasprintf("%s,%s", ctx->optval[ci], val);
	}
	else
		ctx->optval[ci] = val ? val : "";
	return ST_OK;
}

/* How many options a command declares. */
static size_t
count_opts(const struct cmd_entry *c)
{
	size_t n = 0;

	while (c->opts && c->opts[n].name)
		n++;
	return n;
}

/* Resolve the command (and subcommand) and collect options and arguments. */
static enum status
parse_args(struct cmd_ctx *ctx, struct globals *g, int argc, char **argv)
{
	const struct cmd_entry *const *table = cmd_table;
	char context[128] = "";
	bool words_only = false;
	int i;

	ctx->argv = xcalloc((size_t)argc + 1, sizeof *ctx->argv);
	ctx->optval = xcalloc(1, sizeof *ctx->optval);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!words_only && strcmp(a, "--") == 0) {
			words_only = true;
		} else if (!words_only && a[0] == '-' && a[1] != '\0') {
			if (parse_option(ctx, g, argc, argv, &i) != ST_OK)
				return ctx->err.code;
		} else if (table && ctx->argc == 0 && !words_only) {
			const struct cmd_entry *c = cmd_find(table, a, context, &ctx->err);
			if (c == NULL)
				return ctx->err.code;
			if (ctx->entry) {
				ctx->parent = ctx->entry;
			}
			ctx->entry = c;
			snprintf(context + strlen(context), sizeof context - strlen(context), "%s ", c->name);
			table = c->subs;
			free(ctx->optval);
			ctx->optval = xcalloc(count_opts(c) + 1, sizeof *ctx->optval);
		} else {
			ctx->argv[ctx->argc++] = argv[i];
		}
	}
	return ST_OK;
}

/* An output format by name (-o, output.format). */
static enum status
parse_format(const char *s, enum out_format *f, struct err *e)
{
	int i;

	for (i = 0; out_format_names[i]; i++) {
		if (strcmp(out_format_names[i], s) == 0) {
			*f = (enum out_format)i;
			return ST_OK;
		}
	}
	return err_set(e, ST_USAGE, "unknown output format '%s' (table, wide, json, jsonl, "
		       "yaml, csv, tsv)", s);
}

/* This call's -o (or the configured format), --color and --read-only on a copy. */
static enum status
call_config(struct cmd_ctx *ctx, const struct globals *g)
{
	struct config *c = &ctx->cfg;
	struct err *e = &ctx->err;
	enum status st;

	config_copy(c, &ctx->session->cfg);
	ctx->config_path = ctx->session->config_path;
	st = parse_format(g->v[G_OUTPUT] ? g->v[G_OUTPUT] : cfg_str(c, CK_OUTPUT_FORMAT), &ctx->format, e);
	if (st == ST_OK && g->v[G_COLOR] &&
	    (st = config_set(c, CK_OUTPUT_COLOR, *g->v[G_COLOR] ? g->v[G_COLOR] : "always", CFG_SRC_FLAG,
			     e)) == ST_CONFIG_VALUE)
		e->code = st = ST_USAGE;	/* a bad flag is a usage error */
	if (st == ST_OK && g->v[G_READ_ONLY])
		st = config_set(c, CK_READ_ONLY, "true", CFG_SRC_FLAG, e);
	return st;
}

/* --color / output.color: always, never, or auto (a terminal, not dumb, no NO_COLOR). */
static bool
want_color(const struct config *c)
{
	const char *when = cfg_str(c, CK_OUTPUT_COLOR);

	if (!strcmp(when, "always"))
		return true;
	if (!strcmp(when, "never") || getenv("NO_COLOR"))
		return false;
	return isatty(STDOUT_FILENO) && getenv("TERM") && strcmp(getenv("TERM"), "dumb");
}

/* The operation context of this call: trace, --why, mode, actor, read-only. */
static void
call_opctx(struct cmd_ctx *ctx, const struct globals *g)
{
	opctx_init(&ctx->op, g->v[G_TRACE]);
	ctx->op.explain = g->v[G_WHY] != NULL;
	if (g->v[G_WHY] && *g->v[G_WHY])
		ctx->op.justification = xstrdup(g->v[G_WHY]);
	ctx->op.falsify = g->v[G_MODE] && !strcmp(g->v[G_MODE], "falsify");
	ctx->op.actor = ctx->session->actor;
	ctx->op.read_only = cfg_bool(&ctx->cfg, CK_READ_ONLY);
}

/*
 * May this command write? A change (CMD_MUTATES) is refused under
 * --read-only (--mode=falsify runs its checks and writes nothing); a command
 * that writes for itself (CMD_WRITES: a benchmark's buckets) is refused
 * under both. Either way the call's configuration then says read_only, so
 * that what core opens for a read writes nothing either: the local index is
 * then built in memory (windex_open). Files are asked for one by one:
 * cmd_may_write_file().
 */
static enum status
may_write(struct cmd_ctx *ctx)
{
	const char *sub = ctx->parent ? " " : "", *fam = ctx->parent ? ctx->parent->name : "";
	unsigned f = ctx->entry->flags;

	if ((f & (CMD_MUTATES | CMD_WRITES)) && ctx->op.read_only && !ctx->op.falsify)
		return err_set(&ctx->err, ST_READ_ONLY, "refusing '%s%s%s': read-only mode", fam,
			       sub, ctx->entry->name);
	if ((f & CMD_WRITES) && ctx->op.falsify)
		return err_set(&ctx->err, ST_READ_ONLY, "refusing '%s%s%s': it writes to the "
			       "server, and --mode=falsify writes nothing", fam, sub,
			       ctx->entry->name);
	if (ctx->op.falsify)
		return config_set(&ctx->cfg, CK_READ_ONLY, "true", CFG_SRC_FLAG, &ctx->err);
	return ST_OK;
}

enum status
cmd_may_write_file(struct cmd_ctx *ctx, const char *path)
{
	if (ctx->op.read_only || ctx->op.falsify)
		return err_set(&ctx->err, ST_READ_ONLY, "refusing to write '%s': %s", path,
			       ctx->op.falsify ? "--mode=falsify writes nothing" : "read-only mode");
	return ST_OK;
}

/* Configure, apply the flags, refuse, validate and connect, as the command declares. */
static enum status
setup(struct cmd_ctx *ctx, const struct globals *g)
{
	struct session *s = ctx->session;
	const char *mode = g->v[G_MODE];
	enum status st;

	if (mode && strcmp(mode, "normal") && strcmp(mode, "falsify"))
		return err_set(&ctx->err, ST_USAGE, "unknown mode '%s' (normal or falsify)", mode);
	s->quiet = ctx->quiet = g->v[G_QUIET] != NULL;
	s->verbose = ctx->verbose = g->v[G_VERBOSE] != NULL;
	ctx->no_headers = g->v[G_NO_HEADERS] != NULL;
	st = session_configure(s, g->v[G_CONFIG], g->v[G_SERVER], !(ctx->entry->flags & CMD_OWN_CONFIG),
			       &ctx->err);
	if (st != ST_OK || (st = call_config(ctx, g)) != ST_OK)
		return st;
	session_notice(s, NOTICE_INFO, "ifctl: config '%s' %s", ctx->config_path,
		       ctx->cfg.file ? "read" : "not present (defaults, environment and flags)");
	ctx->color = want_color(&ctx->cfg);
	call_opctx(ctx, g);
	if ((st = may_write(ctx)) != ST_OK)
		return st;
	if (ctx->entry->validate && (st = ctx->entry->validate(ctx)) != ST_OK)
		return st;
	if (!(ctx->entry->flags & CMD_NEEDS_BUS))
		return ST_OK;
	st = cmd_connect(ctx);
	if (st == ST_OK && (ctx->entry->flags & CMD_MUTATES))
		cmd_witness_open(ctx);
	return st;
}

enum status
cmd_connect(struct cmd_ctx *ctx)
{
	return session_bus(ctx->session, &ctx->bus, &ctx->err);
}

enum status
cmd_witness_open(struct cmd_ctx *ctx)
{
	enum status st;

	if (ctx->op.falsify || ctx->witness)
		return ST_OK;
	if ((st = cmd_connect(ctx)) != ST_OK ||
	    (st = session_witness(ctx->session, &ctx->witness, &ctx->err)) != ST_OK)
		return st;
	ctx->op.witness = ctx->witness;
	return ST_OK;
}

/*
 * Every witness.checkpoint_every entries the ledger gets a signed
 * checkpoint; the command whose entries reach such a size makes it (with
 * this host's key). Not making one is worth a notice, not a failure: the
 * next command or 'witness checkpoint' makes it.
 */
static void
checkpoints_due(struct cmd_ctx *ctx)
{
	struct err e = ERR_INIT;
	size_t made = 0;
	enum status st;

	st = windex_checkpoints_due(ctx->bus, &ctx->cfg, ctx->witness->last_seq, &made, &e);
	if (st == ST_OK && made)
		session_notice(ctx->session, NOTICE_INFO, "ifctl: %zu witness checkpoint%s stored",
			       made, made > 1 ? "s" : "");
	else if (st == ST_NOT_FOUND)
		session_notice(ctx->session, NOTICE_INFO,
			       "ifctl: no witness checkpoint from this host: %s", e.msg);
	else if (st != ST_OK)
		session_notice(ctx->session, NOTICE_WARN,
			       "ifctl: notice: witness checkpoint not stored: %s", e.msg);
}

/* Does a long option (--NAME or --NAME=VALUE) carry a secret by its name? */
static bool
secret_option(const char *arg)
{
	size_t n = strcspn(arg, "=");
	char name[64];

	if (strncmp(arg, "--", 2) != 0 || n >= sizeof name)
		return false;
	memcpy(name, arg, n);
	name[n] = '\0';
	return strstr(name, "password") || strstr(name, "secret") || strstr(name, "passphrase") ||
	       strstr(name, "credential") || strcmp(name, "--cred") == 0;
}

/*
 * The command line as a JSON array, for the ledger, which keeps it for
 * ever: the value of an option named like a secret becomes "********", the
 * secret in a URL's user info "****" (--server nats://alice:pass@host).
 */
static void
argv_scrubbed(struct buf *out, int argc, char *const *argv)
{
	struct buf a = BUF_INIT;
	bool hide_next = false;
	int i;

	buf_addc(out, '[');
	for (i = 1; i < argc; i++) {
		buf_reset(&a);
		if (hide_next)
			buf_adds(&a, "********");
		else if (secret_option(argv[i]) && strchr(argv[i], '='))
			buf_addf(&a, "%.*s=********", (int)strcspn(argv[i], "="), argv[i]);
		else
			bus_url_mask(argv[i], &a);
		hide_next = !hide_next && secret_option(argv[i]) && !strchr(argv[i], '=');
		if (i > 1)
			buf_addc(out, ',');
		json_escape(out, a.s);
	}
	buf_addc(out, ']');
	buf_release(&a);
}

/*
 * A mutating command leaves its record: after the entries its operations
 * submitted, one 'operator' entry with the command line and the outcome,
 * all written before the command returns. A command that did its work but
 * could not be witnessed fails, saying so.
 */
void
cmd_witness_command(struct cmd_ctx *ctx, const char *outcome, int exit_code)
{
	struct witness_note n = { .component = "operator" };
	struct buf payload = BUF_INIT;
	char event[96];

	snprintf(event, sizeof event, "command.%s%s%s", ctx->parent ? ctx->parent->name : "",
		 ctx->parent ? "." : "", ctx->entry->name);
	buf_adds(&payload, "{\"argv\":");
	argv_scrubbed(&payload, ctx->full_argc, ctx->full_argv);
	buf_addf(&payload, ",\"outcome\":\"%s\"", outcome);
	if (exit_code >= 0)
		buf_addf(&payload, ",\"exit\":%d", exit_code);
	buf_addc(&payload, '}');
	n.event = event;
	n.payload = payload.s;
	ledger_witness(&ctx->op, &n);
	buf_release(&payload);
}

enum status
cmd_witness_now(struct cmd_ctx *ctx, const char *outcome)
{
	struct err e = ERR_INIT;
	enum status st;

	if ((st = cmd_witness_open(ctx)) != ST_OK || ctx->witness == NULL)
		return st;
	cmd_witness_command(ctx, outcome, -1);
	if ((st = ledger_flush(ctx->witness, &e)) != ST_OK)
		ctx->err = e;
	ctx->witness = NULL;
	ctx->op.witness = NULL;
	ctx->bus = NULL;
	session_drop_bus(ctx->session);
	return st;
}

static enum status
witness_command(struct cmd_ctx *ctx, enum status st)
{
	struct err e = ERR_INIT;
	enum status wst;

	if (ctx->witness == NULL)
		return st;
	if (st == ST_DISCONNECTED || st == ST_UNREACHABLE || st == ST_TIMEOUT ||
	    st == ST_NO_JETSTREAM)
		return st;	/* the entry could not land either */
	if (!(ctx->entry->flags & CMD_NO_WITNESS))
		cmd_witness_command(ctx, status_info(st)->name, status_exit_code(st));
	wst = ledger_flush(ctx->witness, &e);
	if (wst == ST_OK)
		checkpoints_due(ctx);
	if (wst == ST_OK || st != ST_OK)
		return st;	/* the command's own failure says more */
	ctx->err = e;
	err_prefix(&ctx->err, "done, but not witnessed");
	return wst;
}

/* Run the command and witness it; -v says how long it took. */
static enum status
call_run(struct cmd_ctx *ctx)
{
	int64_t t0 = mono_us();
	enum status st;

	st = ctx->entry->run(ctx);
	st = witness_command(ctx, st);
	session_notice(ctx->session, NOTICE_INFO, "ifctl: %s%s%s took %.2f ms",
		       ctx->parent ? ctx->parent->name : "", ctx->parent ? " " : "",
		       ctx->entry->name, (double)(mono_us() - t0) / 1000.0);
	return st;
}

/*
 * After run(): what is shown. Under --mode=falsify, the checks (and exit 8
 * when one failed); with --why, the factors after the command's own sets.
 * A failed command shows nothing unless it asked to (output_on_error).
 */
static enum status
finish(struct cmd_ctx *ctx, enum status st)
{
	if (st != ST_OK && st != ST_FALSIFIED && !ctx->output_on_error) {
		doc_release(&ctx->out);
		return st;
	}
	if (ctx->op.falsify) {
		doc_release(&ctx->out);
		doc_add(&ctx->out, ctx->op.checks);
		ctx->op.checks = NULL;
		if (st == ST_OK && ctx->op.failed_checks)
			st = ST_FALSIFIED;
	} else if (ctx->op.explain && ctx->op.why->nrows) {
		doc_add(&ctx->out, ctx->op.why);
		ctx->op.why = NULL;
	}
	if (st == ST_FALSIFIED && ctx->err.code != ST_FALSIFIED)
		err_set(&ctx->err, ST_FALSIFIED, "%d of %zu checks would fail, the first: %s",
			ctx->op.failed_checks, ctx->out.n ? ctx->out.sets[0]->nrows : 0,
			ctx->op.first_failure.msg);
	return st;
}

/* ifctl --help, ifctl COMMAND --help, or ifctl alone: the help text. */
static enum status
call_help(struct cmd_ctx *ctx)
{
	struct buf text = BUF_INIT;

	cmd_help(&text, ctx->parent, ctx->entry);
	ctx->out.text = buf_detach(&text);
	return ST_OK;
}

/* Parse, set up and run; the result stays in ctx. */
static enum status
call(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct globals g = { { NULL } };
	enum status st;

	if ((st = parse_args(ctx, &g, argc, argv)) != ST_OK)
		return st;
	if (g.v[G_VERSION] && !ctx->entry)
		ctx->entry = &cmd_version_entry;
	if (g.v[G_HELP] || !ctx->entry)
		return call_help(ctx);
	if (ctx->entry->subs && !ctx->entry->run)
		return err_set(&ctx->err, ST_USAGE, "'%s' needs a subcommand (see 'ifctl %s --help')",
			       ctx->entry->name, ctx->entry->name);
	if ((st = setup(ctx, &g)) != ST_OK)
		return st;
	if (g.v[G_TRACE])
		session_notice(ctx->session, NOTICE_WARN, "trace: %s", ctx->op.trace_id);
	return finish(ctx, call_run(ctx));
}

/* Free what one call holds; the session keeps what it lent. */
static void
call_release(struct cmd_ctx *ctx)
{
	size_t j;

	doc_release(&ctx->out);
	opctx_release(&ctx->op);
	config_release(&ctx->cfg);
	for (j = 0; j < ctx->njoined; j++)
		free(ctx->joined[j]);
	free(ctx->joined);
	free(ctx->argv);
	free(ctx->optval);
}

enum status
cmd_dispatch(struct session *s, int argc, char **argv, struct doc *doc,
	     struct render_opts *ro, struct err *err)
{
	struct cmd_ctx ctx = { .session = s, .err = ERR_INIT, .full_argc = argc,
			       .full_argv = argv };
	enum status st;

	st = call(&ctx, argc, argv);
	if (ro) {
		ro->format = ctx.format;
		ro->no_headers = ctx.no_headers;
		ro->color = ctx.color;
	}
	*doc = ctx.out;
	memset(&ctx.out, 0, sizeof ctx.out);
	if (err)
		*err = ctx.err;
	call_release(&ctx);
	return st;
}
