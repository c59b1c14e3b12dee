/* ifctl config init|show|validate|schema. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "core/buf.h"
#include "core/cfgview.h"
#include "core/util.h"

/* The file a config subcommand works on: argument, --config, or the default. */
static char *
target_path(struct cmd_ctx *ctx)
{
	if (ctx->argc > 0)
		return xstrdup(ctx->argv[0]);
	return xstrdup(ctx->config_path);
}

/* config init's record and config validate's list: one column each. */
static const struct view_col written_cols[] = { { "written", COL_TEXT, 0 } };
static const struct view_col problem_cols[] = { { "problem", COL_TEXT, 0 } };
static const struct view written_view = VIEW("config", written_cols);
static const struct view problem_view = VIEW("problems", problem_cols);

static enum status
run_init(struct cmd_ctx *ctx)
{
	struct buf text = BUF_INIT;
	char *path = target_path(ctx), *dir, *slash;
	struct rowset *rs;
	enum status st = ST_OK;
	size_t r;

	if (access(path, F_OK) == 0 && !cmd_flag(ctx, "force"))
		st = err_set(&ctx->err, ST_EXISTS, "'%s' already exists (use --force to overwrite)",
			     path);
	if (!check(&ctx->op, "file absent or --force", st, &ctx->err, path))
		goto out;
	if (ctx->op.falsify) {
		st = ST_OK;	/* the failed check decides the exit code */
		goto out;
	}
	dir = xstrdup(path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		st = mkdir_p(dir, 0700, &ctx->err);
	}
	free(dir);
	config_template(&text);
	if (st == ST_OK)
		st = write_file_atomic(path, text.s, text.len, 0600, &ctx->err);
	if (st == ST_OK) {
		rs = rows_view(&written_view);
		rs->single = true;
		r = rows_add(rs);
		rows_set(rs, r, 0, path);
		doc_add(&ctx->out, rs);
	}
out:
	buf_release(&text);
	free(path);
	return st;
}

static enum status
run_show(struct cmd_ctx *ctx)
{
	doc_add(&ctx->out, config_view(&ctx->cfg, cmd_flag(ctx, "defaults")));
	return ST_OK;
}

static enum status
run_validate(struct cmd_ctx *ctx)
{
	struct cfg_problems probs = { 0 };
	struct config c;
	struct rowset *rs = rows_view(&problem_view);
	char *path = target_path(ctx);
	enum status st;
	size_t i, r;
	bool stopped;

	ctx->output_on_error = true;
	config_init(&c);
	st = config_load_file(&c, path, &probs, &ctx->err);
	for (i = 0; i < probs.n; i++) {
		r = rows_add(rs);
		rows_set(rs, r, 0, probs.v[i].msg);
		check(&ctx->op, "valid", probs.v[i].code, NULL, probs.v[i].msg);
	}
	if (st == ST_OK)
		check(&ctx->op, "valid", ST_OK, NULL, path);
	stopped = st == ST_CONFIG_SYNTAX || probs.n >= CONFIG_MAX_PROBLEMS;	/* before the end */
	if (probs.n > 1 && stopped)	/* say where */
		err_set(&ctx->err, st, "%zu problems in '%s'; reading stopped at: %s", probs.n,
			path, probs.v[probs.n - 1].msg);
	else if (probs.n > 1)
		err_set(&ctx->err, st, "%zu problems in '%s'; the first: %s", probs.n, path,
			probs.v[0].msg);
	if (probs.n)
		doc_add(&ctx->out, rs);
	else
		rows_free(rs);	/* valid, or unreadable: the error says it all */
	cfg_problems_release(&probs);
	config_release(&c);
	free(path);
	return ctx->op.falsify ? ST_OK : st;
}

static enum status
run_schema(struct cmd_ctx *ctx)
{
	struct buf b = BUF_INIT;

	config_schema(&b);
	ctx->out.text = buf_detach(&b);
	return ST_OK;
}

static const struct cmd_opt init_opts[] = {
	{ "force", 'f', NULL, "overwrite an existing file" },
	{ NULL, 0, NULL, NULL },
};
static const struct cmd_opt show_opts[] = {
	{ "defaults", 0, NULL, "show every key at its default instead of the effective value" },
	{ NULL, 0, NULL, NULL },
};

static const struct cmd_entry config_init_entry = {
	.name = "init", .args = "[FILE] [--force]",
	.summary = "write a commented configuration file with every key at its default",
	.flags = CMD_MUTATES | CMD_OWN_CONFIG, .opts = init_opts, .run = run_init,
	.examples =
		"ifctl config init\n"
		"ifctl config init ~/fleet.yaml --force",
	.see_also = "config show, config validate, ifctl-config(5)",
};
static const struct cmd_entry config_show_entry = {
	.name = "show", .args = "[--defaults]",
	.summary = "show every key, its effective value and where it came from",
	.opts = show_opts, .run = run_show,
	.examples =
		"ifctl config show\n"
		"ifctl config show --defaults -o json",
	.see_also = "config init, ifctl-config(5)",
	.schema = "config-key[]",
};
static const struct cmd_entry config_validate_entry = {
	.name = "validate", .args = "[FILE]",
	.summary = "check a configuration file and list every problem with its line",
	.flags = CMD_OWN_CONFIG, .run = run_validate,
	.examples =
		"ifctl config validate\n"
		"ifctl config validate ~/fleet.yaml",
	.see_also = "config init, config schema, ifctl-config(5)",
};
static const struct cmd_entry config_schema_entry = {
	.name = "schema",
	.summary = "print the JSON Schema of the configuration file",
	.flags = CMD_OWN_CONFIG, .run = run_schema,
	.examples =
		"ifctl config schema\n"
		"ifctl config schema > config.schema.json",
	.see_also = "config validate, ifctl-config(5)",
};
static const struct cmd_entry *const config_subs[] = {
	&config_init_entry, &config_show_entry, &config_validate_entry,
	&config_schema_entry, NULL,
};

const struct cmd_entry cmd_config_entry = {
	.name = "config",
	.args = "init|show|validate|schema",
	.summary = "create, show and validate the configuration",
	.subs = config_subs,
	.examples =
		"ifctl config init\n"
		"ifctl config show\n"
		"ifctl config validate ~/fleet.yaml",
	.see_also = "ifctl-config(5)",
};
