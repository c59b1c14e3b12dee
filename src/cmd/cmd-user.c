/* ifctl user add|list|rm: logins of the local server 'ifctl up --auth' started. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cmd/cmd.h"
#include "core/server.h"
#include "core/task.h"
#include "core/util.h"

/* What user add says, once: the password is not kept anywhere but the login file. */
enum user_col { US_NAME, US_ROLE, US_PASSWORD, US_FILE, US__COUNT };

static const struct view_col user_cols[] = {
	[US_NAME] = { "name", COL_TEXT, 0 },
	[US_ROLE] = { "role", COL_TEXT, 0 },
	[US_PASSWORD] = { "password", COL_TEXT, 0 },
	[US_FILE] = { "file", COL_TEXT, 0 },
};
_Static_assert(ARRAY_SIZE(user_cols) == US__COUNT, "one column per user_col");

/* One row per login of user list. */
enum ul_col { UL_NAME, UL_KIND, UL_ROLE, UL_FILE, UL__COUNT };

static const struct view_col list_cols[] = {
	[UL_NAME] = { "name", COL_TEXT, 0 },
	[UL_KIND] = { "kind", COL_TEXT, 0 },	/* role, user, or invalid */
	[UL_ROLE] = { "role", COL_TEXT, 0 },
	[UL_FILE] = { "file", COL_TEXT, 0 },
};
_Static_assert(ARRAY_SIZE(list_cols) == UL__COUNT, "one column per ul_col");

static const struct view user_view = VIEW("user", user_cols);
static const struct view list_view = VIEW("users", list_cols);

/* NAME: one argument in the id syntax, and not a role's own login. */
static enum status
validate_name(struct cmd_ctx *ctx)
{
	const char *name = ctx->argc == 1 ? ctx->argv[0] : NULL;

	if (name == NULL)
		return err_set(&ctx->err, ST_USAGE, "user %s needs one NAME", ctx->entry->name);
	if (!task_id_valid(name))
		return err_set(&ctx->err, ST_BAD_VALUE, "user name '%s' is not an id (letters, "
			       "digits, '-', '_' and inner '.', at most 128)", name);
	if (server_role_valid(name))
		return err_set(&ctx->err, ST_BAD_VALUE, "user name '%s' is a role's own login, "
			       "which 'ifctl up --auth' manages", name);
	return ST_OK;
}

static enum status
validate_add(struct cmd_ctx *ctx)
{
	enum status st = validate_name(ctx);
	const char *role = cmd_opt(ctx, "role");

	if (st == ST_OK && (st = cmd_need(ctx, "role")) == ST_OK && !server_role_valid(role))
		st = err_set(&ctx->err, ST_BAD_VALUE, "--role: '%s' is not a role (operator, "
			     "swarm or viewer)", role);
	return st;
}

/* A user change is witnessed like up: the session connects as the operator now. */
static enum status
witnessed(struct cmd_ctx *ctx, enum status st)
{
	if (st != ST_OK || ctx->op.falsify)
		return st == ST_FALSIFIED ? ST_OK : st;	/* failed checks make exit 8 */
	if ((st = cmd_witness_open(ctx)) != ST_OK)
		err_prefix(&ctx->err, "the user is changed, but this is not witnessed");
	return st;
}

static enum status
run_add(struct cmd_ctx *ctx)
{
	const char *name = ctx->argv[0], *role = cmd_opt(ctx, "role");
	char *password = NULL, *file = NULL;
	struct rowset *rs;
	enum status st;
	size_t r;

	st = server_user_add(&ctx->cfg, &ctx->op, name, role, &password, &file, &ctx->err);
	if (st == ST_OK && !ctx->op.falsify) {
		rs = rows_view(&user_view);
		rs->single = true;
		r = rows_add(rs);
		rows_set(rs, r, US_NAME, name);
		rows_set(rs, r, US_ROLE, role);
		rows_set(rs, r, US_PASSWORD, password);
		rows_set(rs, r, US_FILE, file);
		doc_add(&ctx->out, rs);
	}
	if (password)
		sodium_memzero(password, strlen(password));
	free(password);
	free(file);
	return witnessed(ctx, st);
}

static enum status
run_rm(struct cmd_ctx *ctx)
{
	return witnessed(ctx, server_user_rm(&ctx->cfg, &ctx->op, ctx->argv[0], &ctx->err));
}

/* server_users(): one row. */
static void
list_row(void *arg, const char *name, const char *kind, const char *role, const char *file)
{
	struct rowset *rs = arg;
	size_t r = rows_add(rs);

	rows_set(rs, r, UL_NAME, name);
	rows_set(rs, r, UL_KIND, kind);
	rows_set(rs, r, UL_ROLE, role);
	rows_set(rs, r, UL_FILE, file);
}

static enum status
run_list(struct cmd_ctx *ctx)
{
	struct rowset *rs = rows_view(&list_view);

	server_users(&ctx->cfg, list_row, rs);
	doc_add(&ctx->out, rs);
	return ST_OK;
}

static const struct cmd_opt add_opts[] = {
	{ "role", 'r', "ROLE", "operator, swarm or viewer (PERMISSIONS in ifctl-protocol(7))" },
	{ NULL, 0, NULL, NULL },
};

static const struct cmd_entry user_add_entry = {
	.name = "add", .args = "NAME --role operator|swarm|viewer",
	.summary = "add a user to the local server; its password is shown once",
	.flags = CMD_MUTATES, .opts = add_opts, .validate = validate_add, .run = run_add,
	.examples =
		"ifctl user add swarm-7 --role swarm\n"
		"ifctl user add wallboard --role viewer -o json",
	.see_also = "user list, user rm, up --auth, ifctl-protocol(7)",
};
static const struct cmd_entry user_rm_entry = {
	.name = "rm", .args = "NAME",
	.summary = "remove a user 'user add' made; the server refuses its login from then on",
	.flags = CMD_MUTATES, .validate = validate_name, .run = run_rm,
	.examples =
		"ifctl user rm swarm-7\n"
		"ifctl user rm wallboard --mode=falsify",
	.see_also = "user add, user list",
};
static const struct cmd_entry user_list_entry = {
	.name = "list", .summary = "the local server's logins: the roles' and the added users'",
	.run = run_list,
	.examples =
		"ifctl user list\n"
		"ifctl user list -o json",
	.see_also = "user add, user rm",
};
static const struct cmd_entry *const user_subs[] = {
	&user_add_entry, &user_list_entry, &user_rm_entry, NULL,
};

const struct cmd_entry cmd_user_entry = {
	.name = "user",
	.args = "add|list|rm",
	.summary = "users of the local server 'ifctl up --auth' started, each with a role",
	.subs = user_subs,
	.examples =
		"ifctl up --auth\n"
		"ifctl user add swarm-7 --role swarm\n"
		"ifctl user list",
	.see_also = "up, ifctl-protocol(7), ifctl-security(7)",
};
