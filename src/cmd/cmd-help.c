/* ifctl help [COMMAND [SUBCOMMAND]], ifctl help TOPIC, ifctl help -o json. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/helpdoc.h"
#include "core/cfgview.h"
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

enum exit_col { XC_EXIT, XC_MEANING, XC_ERRORS, XC__COUNT };

static const struct view_col exit_cols[] = {
	[XC_EXIT] = { "exit", COL_NUM, 0 },
	[XC_MEANING] = { "meaning", COL_TEXT, 0 },
	[XC_ERRORS] = { "errors", COL_TEXT, 0 },
};
_Static_assert(ARRAY_SIZE(exit_cols) == XC__COUNT, "one column per exit_col");

static const struct view exit_view = VIEW("exit-codes", exit_cols);

/* The exit codes, each with the catalogue names that give it. */
static void
exit_rows(struct cmd_ctx *ctx)
{
	struct rowset *rs = rows_view(&exit_view);
	struct buf names = BUF_INIT;
	size_t i, r;
	int s;

	for (i = 0; exit_meanings[i].meaning; i++) {
		names.len = 0;
		if (names.s)
			names.s[0] = '\0';
		for (s = 0; s < ST__COUNT; s++)
			if (status_info((enum status)s)->exit_code == exit_meanings[i].code)
				buf_addf(&names, "%s%s", names.len ? ", " : "",
					 status_info((enum status)s)->name);
		r = rows_add(rs);
		rows_set_int(rs, r, XC_EXIT, exit_meanings[i].code);
		rows_set(rs, r, XC_MEANING, exit_meanings[i].meaning);
		rows_set(rs, r, XC_ERRORS, names.s ? names.s : "");
	}
	buf_release(&names);
	doc_add(&ctx->out, rs);
}

/*
 * The workflows in brief: each a sequence of commands that run as shown
 * (tests/cli/t-examples.sh runs the '$ ' lines). ifctl-workflows(7) has
 * them in full, with what to expect.
 */
static const char workflows_text[] =
	"Workflows (in full, with what to expect: man ifctl-workflows)\n"
	"\n"
	"Bring up a fleet locally:\n"
	"  $ ifctl up\n"
	"  $ ifctl status\n"
	"  $ ifctl doctor\n"
	"\n"
	"Push work and watch it flow:\n"
	"  $ ifctl task push wf-1 --title \"summarise logs\" -c docs:technical-writing\n"
	"  $ ifctl task claim --swarm s1 -c docs:technical-writing -o json\n"
	"  $ ifctl task list\n"
	"  $ ifctl task stats\n"
	"\n"
	"Investigate an incident from a trace id:\n"
	"  $ ifctl task push wf-2 --title urgent --trace=inc-7\n"
	"  $ ifctl witness trace inc-7\n"
	"  $ ifctl witness verify\n"
	"  $ ifctl witness prove --inclusion 1\n"
	"\n"
	"Script the fleet: -o json on every command, 'ifctl help -o json' for the\n"
	"whole interface, ifctl-protocol(7) for clients that speak NATS directly.\n"
	"\n"
	"Onboard a swarm from its code:\n"
	"  $ ifctl swarm spawn py-lint --dir fixtures/swarms/python --budget 25 --why\n"
	"\n"
	"Triage a blocked swarm:\n"
	"  $ ifctl swarm spawn gen-c --dir fixtures/swarms/c --budget 10\n"
	"  $ ifctl governor request-help --blocked py-lint -c code-analysis:general --why\n"
	"  $ ifctl policy check --swarm py-lint --cost 3 --why\n"
	"\n"
	"Review and cap spend:\n"
	"  $ ifctl optimise record --swarm py-lint --provider openai --model gpt-4o --tokens-in 1200\n"
	"  $ ifctl cost report --by model\n"
	"  $ ifctl cost allocate py-lint 20\n"
	"\n"
	"Run untrusted swarm code with a scoped credential:\n"
	"  $ ifctl cred issue --swarm py-lint --ttl 5m --allow 'https://api.example.com/*'\n"
	"  $ ifctl chassis run build/fixtures/chassis/print.wasm\n"
	"\n"
	"Check SLO burn and reset a breaker:\n"
	"  $ ifctl slo define py-lint --success 0.99\n"
	"  $ ifctl slo status py-lint\n"
	"  $ ifctl governor reset py-lint --budget 20\n";

/* A help topic: workflows, config, exit-codes, errors. False when name is none. */
static bool
topic(struct cmd_ctx *ctx, const char *name)
{
	if (strcmp(name, "errors") == 0)
		errors_rows(ctx);
	else if (strcmp(name, "exit-codes") == 0)
		exit_rows(ctx);
	else if (strcmp(name, "config") == 0)
		doc_add(&ctx->out, config_view(&ctx->cfg, true));
	else if (strcmp(name, "workflows") == 0)
		ctx->out.text = xstrdup(workflows_text);
	else
		return false;
	return true;
}

static enum status
run_help(struct cmd_ctx *ctx)
{
	const struct cmd_entry *c = NULL, *parent = NULL;
	struct buf text = BUF_INIT;

	if (ctx->argc == 0 && (ctx->format == OUT_JSON || ctx->format == OUT_JSONL)) {
		cmd_help_json(&text);
		ctx->out.text = buf_detach(&text);
		return ST_OK;
	}
	if (ctx->argc == 1 && topic(ctx, ctx->argv[0]))
		return ST_OK;
	if (ctx->argc >= 1 && !(c = cmd_find(cmd_table, ctx->argv[0], "", &ctx->err)))
		return ctx->err.code;
	if (ctx->argc >= 2) {
		if (!c->subs)
			return err_set(&ctx->err, ST_USAGE, "'%s' has no subcommands", c->name);
		parent = c;
		if (!(c = cmd_find(c->subs, ctx->argv[1], "", &ctx->err)))
			return ctx->err.code;
	}
	if (ctx->format == OUT_JSON || ctx->format == OUT_JSONL)
		cmd_help_json_command(&text, parent, c);	/* the contract's entry alone */
	else
		cmd_help(&text, parent, c);
	ctx->out.text = buf_detach(&text);
	return ST_OK;
}

const struct cmd_entry cmd_help_entry = {
	.name = "help",
	.args = "[COMMAND [SUBCOMMAND] | workflows | config | exit-codes | errors]",
	.summary = "help for a command, a topic, or (-o json) the whole interface for programs",
	.run = run_help,
	.examples =
		"ifctl help task claim\n"
		"ifctl help errors -o json\n"
		"ifctl help -o json          # every command, option, exit code and schema",
	.see_also = "ifctl-workflows(7), ifctl-errors(7), completion",
};
