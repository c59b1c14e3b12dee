/* ifctl help [COMMAND [SUBCOMMAND]], ifctl help errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/util.h"

enum error_col { EC_CODE, EC_EXIT, EC_SUMMARY, EC_REMEDY, EC__COUNT };

static const struct view_col error_cols[] = {
	[EC_CODE] = { "code", COL_TEXT, 0 },
	[EC_EXIT] = { "exit", COL_NUM, 0 },
	[EC_SUMMARY] = { "summary", COL_TEXT, 0 },
	[EC_REMEDY] = { "remedy", COL_TEXT, COL_WIDE },
};
_Static_assert(ARRAY_SIZE(error_cols) == EC__COUNT, "one column per error_col");

static const struct view error_view = VIEW("errors", error_cols);

/* The error catalogue as rows: the same table the errors come from. */
static void
errors_rows(struct cmd_ctx *ctx)
{
	struct rowset *rs = rows_view(&error_view);
	int i;
	size_t r;

	for (i = 0; i < ST__COUNT; i++) {
		const struct status_info *si = status_info((enum status)i);
		r = rows_add(rs);
		rows_set(rs, r, EC_CODE, si->name);
		rows_set_int(rs, r, EC_EXIT, si->exit_code);
		rows_set(rs, r, EC_SUMMARY, si->text);
		rows_set(rs, r, EC_REMEDY, si->remedy);
	}
	doc_add(&ctx->out, rs);
}

static enum status
run_help(struct cmd_ctx *ctx)
{
	const struct cmd_entry *c = NULL, *parent = NULL;
	struct buf text = BUF_INIT;

	if (ctx->argc >= 1 && strcmp(ctx->argv[0], "errors") == 0) {
		errors_rows(ctx);
		return ST_OK;
	}
	if (ctx->argc >= 1 && !(c = cmd_find(cmd_table, ctx->argv[0], "", &ctx->err)))
		return ctx->err.code;
	if (ctx->argc >= 2) {
		if (!c->subs)
			return err_set(&ctx->err, ST_USAGE, "'%s' has no subcommands", c->name);
		parent = c;
		if (!(c = cmd_find(c->subs, ctx->argv[1], "", &ctx->err)))
			return ctx->err.code;
	}
	cmd_help(&text, parent, c);
	ctx->out.text = buf_detach(&text);
	return ST_OK;
}

const struct cmd_entry cmd_help_entry = {
	.name = "help",
	.args = "[COMMAND [SUBCOMMAND]] | errors",
	.summary = "show help for a command, or the error catalogue ('help errors')",
	.run = run_help,
};
