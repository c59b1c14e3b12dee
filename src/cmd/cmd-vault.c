/*
 * ifctl vault: put, get, list, rm secrets encrypted at rest on this host
 * (core/vault.h). A value is read from stdin or a file, never from the
 * command line (which the witness and the shell's history keep), and
 * printed only by 'get --reveal'. Changes and reveals are witnessed by
 * name only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cmd/cmd.h"
#include "core/json.h"
#include "core/ledger.h"
#include "core/util.h"
#include "core/vault.h"

/* Witness a vault operation on a name: never a value, nor its size. */
static void
witness_vault(struct cmd_ctx *ctx, const char *verb, const char *name)
{
	struct witness_note n = { .component = "chassis" };
	struct buf payload = BUF_INIT;
	char event[32];

	snprintf(event, sizeof event, "vault.%s", verb);
	buf_addc(&payload, '{');
	json_kv_str(&payload, "name", name);
	buf_addc(&payload, '}');
	n.event = event;
	n.payload = payload.s;
	ledger_witness(&ctx->op, &n);
	buf_release(&payload);
}

/* The one NAME argument, checked. */
static enum status
name_arg(struct cmd_ctx *ctx)
{
	if (ctx->argc != 1)
		return err_set(&ctx->err, ST_USAGE, "vault %s needs one NAME%s", ctx->entry->name,
			       strcmp(ctx->entry->name, "put") == 0 && ctx->argc > 1 ?
			       " (the value comes from stdin or --from-file, never the command line)" : "");
	if (!vault_name_valid(ctx->argv[0]))
		return err_set(&ctx->err, ST_BAD_VALUE, "invalid secret name '%s': use 1-128 letters, "
			       "digits, '-', '_' or '.'", ctx->argv[0]);
	return ST_OK;
}

/* One item's row as the output; with value, the secret's value too (--reveal). */
static void
add_item(struct cmd_ctx *ctx, const struct vault_item *it, const char *value)
{
	struct rowset *rs = vault_view_list();

	vault_view_add(rs, it);
	cmd_add_record(ctx, rs, value ? "value" : NULL, value);
}

static enum status
run_put(struct cmd_ctx *ctx)
{
	const char *file = cmd_opt(ctx, "from-file");
	struct vault_item it = { 0 };
	char *value = NULL, *shown;
	size_t len = 0;
	bool replaced;
	enum status st;

	if ((st = name_arg(ctx)) != ST_OK)
		return st;
	if (!check(&ctx->op, "secret name is valid", ST_OK, NULL, ctx->argv[0]) || ctx->op.falsify)
		return ST_OK;
	if ((st = read_file(file ? file : "-", VAULT_VALUE_MAX, 0, &value, &len, &ctx->err)) != ST_OK)
		return st;
	st = vault_put(&ctx->cfg, ctx->argv[0], value, len, &replaced, &ctx->err);
	sodium_memzero(value, len);
	free(value);
	if (st != ST_OK)
		return st;
	witness_vault(ctx, replaced ? "replace" : "put", ctx->argv[0]);
	if ((st = vault_get(&ctx->cfg, ctx->argv[0], &shown, &len, &it, &ctx->err)) != ST_OK)
		return st;
	sodium_memzero(shown, len);
	free(shown);
	add_item(ctx, &it, NULL);
	vault_item_release(&it);
	return ST_OK;
}

static enum status
run_get(struct cmd_ctx *ctx)
{
	struct vault_item it = { 0 };
	char *value = NULL;
	size_t len = 0;
	bool reveal = cmd_flag(ctx, "reveal");
	enum status st;

	if ((st = name_arg(ctx)) != ST_OK)
		return st;
	if (reveal && !ctx->op.falsify && (st = cmd_witness_open(ctx)) != ST_OK)
		return st;
	if ((st = vault_get(&ctx->cfg, ctx->argv[0], &value, &len, &it, &ctx->err)) != ST_OK)
		return st;
	if (!reveal) {
		add_item(ctx, &it, NULL);
		session_notice(ctx->session, NOTICE_WARN, "ifctl: the value is not shown: add --reveal");
	} else if (ctx->format == OUT_TABLE || ctx->format == OUT_WIDE) {
		ctx->out.text = xstrndup(value, len);	/* as it is, for a pipe */
	} else {
		add_item(ctx, &it, value);
	}
	if (reveal)
		witness_vault(ctx, "reveal", ctx->argv[0]);
	sodium_memzero(value, len);
	free(value);
	vault_item_release(&it);
	return ST_OK;
}

static enum status
run_list(struct cmd_ctx *ctx)
{
	struct vault_item *v;
	struct rowset *rs;
	size_t n, i;
	enum status st;

	if ((st = vault_list(&ctx->cfg, &v, &n, &ctx->err)) != ST_OK)
		return st;
	rs = vault_view_list();
	for (i = 0; i < n; i++) {
		vault_view_add(rs, &v[i]);
		vault_item_release(&v[i]);
	}
	free(v);
	doc_add(&ctx->out, rs);
	return ST_OK;
}

static enum status
run_rm(struct cmd_ctx *ctx)
{
	enum status st;

	if ((st = name_arg(ctx)) != ST_OK)
		return st;
	if (ctx->op.falsify)
		return ST_OK;
	if ((st = vault_rm(&ctx->cfg, ctx->argv[0], &ctx->err)) == ST_OK)
		witness_vault(ctx, "rm", ctx->argv[0]);
	return st;
}

#define OPT_END { NULL, 0, NULL, NULL }
static const struct cmd_opt put_opts[] = {
	{ "from-file", 0, "FILE", "read the value from FILE (default: stdin)" },
	OPT_END,
};
static const struct cmd_opt get_opts[] = {
	{ "reveal", 0, NULL, "print the value (witnessed); without it only the metadata" },
	OPT_END,
};

static const struct cmd_entry vault_put_entry = {
	.name = "put", .args = "NAME [--from-file FILE] < VALUE",
	.summary = "store a secret, encrypted (value from stdin or a file)", .opts = put_opts,
	.flags = CMD_NEEDS_BUS | CMD_MUTATES, .run = run_put,
	.examples =
		"ifctl vault put openai-key --from-file key.txt\n"
		"ifctl vault put gh-token --from-file token.txt -o json",
	.see_also = "vault get, chassis run --secret",
	.schema = "vault-secret",
};
static const struct cmd_entry vault_get_entry = {
	.name = "get", .args = "NAME [--reveal]",
	.summary = "a secret's metadata; its value with --reveal", .opts = get_opts,
	.flags = CMD_NEEDS_BUS | CMD_NO_WITNESS, .run = run_get,
	.examples =
		"ifctl vault get openai-key\n"
		"ifctl vault get openai-key --reveal   # the value, witnessed",
	.see_also = "vault put, vault list",
	.schema = "vault-secret",
};
static const struct cmd_entry vault_list_entry = {
	.name = "list", .args = "", .summary = "secrets: name, size, times (never values)",
	.run = run_list,
	.examples =
		"ifctl vault list\n"
		"ifctl vault list -o json",
	.see_also = "vault get, vault rm",
	.schema = "vault-secret[]",
};
static const struct cmd_entry vault_rm_entry = {
	.name = "rm", .args = "NAME", .summary = "remove a secret",
	.flags = CMD_NEEDS_BUS | CMD_MUTATES, .run = run_rm,
	.examples =
		"ifctl vault rm openai-key\n"
		"ifctl vault rm openai-key --why=\"rotated upstream\"",
	.see_also = "vault put, vault list",
};

static const struct cmd_entry *const vault_subs[] = {
	&vault_put_entry, &vault_get_entry, &vault_list_entry, &vault_rm_entry, NULL,
};

const struct cmd_entry cmd_vault_entry = {
	.name = "vault",
	.args = "put|get|list|rm",
	.summary = "secrets encrypted at rest under a 0600 key in $IF_HOME/keys",
	.subs = vault_subs,
	.examples =
		"ifctl vault put openai-key --from-file key.txt\n"
		"ifctl vault list\n"
		"ifctl chassis run --secret openai-key ./agent",
	.see_also = "cred, chassis run, ifctl-security(7)",
};
