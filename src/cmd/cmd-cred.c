/*
 * ifctl cred: issue, check, list, revoke, rotate scoped credentials
 * (core/cred.h). A token is shown once, by the issue or rotate that makes
 * it; every outcome is witnessed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/cred.h"
#include "core/task.h"
#include "core/util.h"

/* One credential as the command's output; with token, its token (shown once). */
static void
add_cred(struct cmd_ctx *ctx, const struct cred *c, const char *token)
{
	struct rowset *rs = cred_view_list();

	cred_view_add(rs, c, wall_ms());
	cmd_add_record(ctx, rs, token ? "token" : NULL, token);
}

/* The record and its token (once) as the command's output. */
static void
add_issued(struct cmd_ctx *ctx, const struct cred *c, const char *token)
{
	add_cred(ctx, c, token);
	session_notice(ctx->session, NOTICE_WARN, "ifctl: the token of %s is shown this once: "
		       "store it now (only its hash is kept)", c->id);
}

static enum status
validate_issue(struct cmd_ctx *ctx)
{
	int64_t ms;
	enum status st;

	if ((st = cmd_need(ctx, "swarm")) != ST_OK || (st = cmd_need(ctx, "ttl")) != ST_OK)
		return st;
	if (cred_ttl_parse(cmd_opt(ctx, "ttl"), &ms, &ctx->err) != ST_OK)
		return ctx->err.code;
	if (ctx->argc)
		return err_set(&ctx->err, ST_USAGE, "cred issue takes no arguments (endpoints go in "
			       "--allow)");
	return ST_OK;
}

static enum status
run_issue(struct cmd_ctx *ctx)
{
	struct cred_spec s = { cmd_opt(ctx, "swarm"), cmd_opt(ctx, "task"), 0, NULL, 0 };
	struct cred c;
	char **allow, *token = NULL;
	enum status st;

	cred_ttl_parse(cmd_opt(ctx, "ttl"), &s.ttl_ms, NULL);
	allow = strv_split(cmd_opt(ctx, "allow"), ',', &s.nallow);
	s.allow = allow;
	if (s.nallow == 0)
		session_notice(ctx->session, NOTICE_WARN, "ifctl: warning: no --allow: this "
			       "credential allows no endpoint at all");
	st = cred_issue(ctx->bus, &ctx->op, &s, &token, &c, &ctx->err);
	if (st == ST_OK && !ctx->op.falsify)
		add_issued(ctx, &c, token);
	if (st == ST_OK)
		cred_release(&c);
	cred_token_free(token);
	strv_free(allow, s.nallow);
	return st;
}

/* The token argument: itself, @FILE (first line) or - (stdin's first line). */
static enum status
token_arg(struct cmd_ctx *ctx, const char *v, char **out)
{
	size_t len = 0;
	enum status st;

	if (v[0] != '@' && strcmp(v, "-") != 0) {
		*out = xstrdup(v);
		return ST_OK;
	}
	if ((st = read_file(v[0] == '@' ? v + 1 : "-", READ_MAX_KEY, READ_TEXT, out, &len,
			    &ctx->err)) != ST_OK)
		return st;
	(*out)[strcspn(*out, "\r\n")] = '\0';
	return ST_OK;
}

static enum status
run_check(struct cmd_ctx *ctx)
{
	enum cred_verdict v;
	struct cred c;
	char reason[200], *token = NULL;
	enum status st;

	if (ctx->argc != 2)
		return err_set(&ctx->err, ST_USAGE, "cred check needs TOKEN (or @FILE, -) and ENDPOINT");
	if (!ctx->op.read_only && !ctx->op.falsify && (st = cmd_witness_open(ctx)) != ST_OK)
		return st;
	if ((st = token_arg(ctx, ctx->argv[0], &token)) != ST_OK)
		return st;
	st = cred_check(ctx->bus, &ctx->op, token, ctx->argv[1], &v, reason, sizeof reason, &c,
			&ctx->err);
	cred_token_free(token);
	if (st != ST_OK)
		return st;
	why_add(&ctx->op, "verdict", cred_verdict_name(v), "%s", reason);
	doc_add(&ctx->out, cred_view_check(ctx->argv[1], v, reason, c.id ? &c : NULL));
	cred_release(&c);
	if (v == CRED_ALLOW)
		return ST_OK;
	ctx->output_on_error = true;
	return err_set(&ctx->err, ST_CRED_DENIED, "denied: %s", reason);
}

static enum status
run_list(struct cmd_ctx *ctx)
{
	const char *swarm = cmd_opt(ctx, "swarm"), *state = cmd_opt(ctx, "state");
	struct cred *v;
	struct rowset *rs;
	int64_t now = wall_ms();
	size_t n, bad, i;
	enum status st;

	if (state && strcmp(state, "active") && strcmp(state, "revoked") && strcmp(state, "expired"))
		return err_set(&ctx->err, ST_USAGE, "--state: '%s' is not active, revoked or expired",
			       state);
	if ((st = cred_list(ctx->bus, &v, &n, &bad, &ctx->err)) != ST_OK)
		return st;
	rs = cred_view_list();
	for (i = 0; i < n; i++)
		if ((!swarm || strcmp(v[i].swarm, swarm) == 0) &&
		    (!state || strcmp(cred_state(&v[i], now), state) == 0))
			cred_view_add(rs, &v[i], now);
	if (bad)
		session_notice(ctx->session, NOTICE_WARN, "ifctl: warning: %zu record%s in %s %s not "
			       "valid credentials (they allow nothing)", bad, bad == 1 ? "" : "s",
			       CRED_BUCKET, bad == 1 ? "is" : "are");
	doc_add(&ctx->out, rs);
	cred_list_free(v, n);
	return ST_OK;
}

static enum status
run_revoke(struct cmd_ctx *ctx)
{
	struct cred c;
	enum status st;

	if (ctx->argc != 1)
		return err_set(&ctx->err, ST_USAGE, "cred revoke needs one credential id");
	if ((st = cred_revoke(ctx->bus, &ctx->op, ctx->argv[0], &c, &ctx->err)) != ST_OK)
		return st;
	if (!ctx->op.falsify)
		add_cred(ctx, &c, NULL);
	cred_release(&c);
	return ST_OK;
}

static enum status
run_rotate(struct cmd_ctx *ctx)
{
	struct cred c;
	char *token = NULL;
	int64_t ms = 0;
	enum status st;

	if (ctx->argc != 1)
		return err_set(&ctx->err, ST_USAGE, "cred rotate needs one credential id");
	if (cmd_opt(ctx, "ttl") && cred_ttl_parse(cmd_opt(ctx, "ttl"), &ms, &ctx->err) != ST_OK)
		return ctx->err.code;
	st = cred_rotate(ctx->bus, &ctx->op, ctx->argv[0], ms, &token, &c, &ctx->err);
	if (st == ST_OK && !ctx->op.falsify)
		add_issued(ctx, &c, token);
	if (st == ST_OK)
		cred_release(&c);
	cred_token_free(token);
	return st;
}

#define OPT_END { NULL, 0, NULL, NULL }
static const struct cmd_opt issue_opts[] = {
	{ "swarm", 0, "ID", "the swarm the credential is for" },
	{ "task", 0, "ID", "the task it is for (optional)" },
	{ "ttl", 0, "DURATION", "how long it lives: 90s, 5m, 12h, 7d (1s to 30d)" },
	{ "allow", 0, "PATTERN", "an endpoint it allows, SCHEME://HOST[:PORT][/PATH] with '*' "
	  "(repeatable; none: nothing allowed)" },
	OPT_END,
};
static const struct cmd_opt list_opts[] = {
	{ "swarm", 0, "ID", "only this swarm's credentials" },
	{ "state", 0, "STATE", "only active, revoked or expired ones" },
	OPT_END,
};
static const struct cmd_opt rotate_opts[] = {
	{ "ttl", 0, "DURATION", "the new one's lifetime (default: the old one's)" },
	OPT_END,
};

static const struct cmd_entry cred_issue_entry = {
	.name = "issue", .args = "--swarm S [--task T] --ttl 5m --allow PATTERN...",
	.summary = "make a credential: its token is shown once", .opts = issue_opts,
	.flags = CMD_NEEDS_BUS | CMD_MUTATES, .validate = validate_issue, .run = run_issue,
	.examples =
		"ifctl cred issue --swarm gen-c --ttl 5m --allow 'https://api.example.com/*'\n"
		"ifctl cred issue --swarm gen-c --task t-42 --ttl 1h --allow 'https://*.example.com/v1/*' -o json",
	.see_also = "cred check, chassis run --cred, cred revoke",
	.schema = "credential",
};
static const struct cmd_entry cred_check_entry = {
	.name = "check", .args = "TOKEN|@FILE|- ENDPOINT",
	.summary = "allow or deny a token for an endpoint, with the reason (exit 4 when denied)",
	.flags = CMD_NEEDS_BUS | CMD_NO_WITNESS, .run = run_check,
	.examples =
		"ifctl cred check @cred.token https://api.example.com/v1/chat\n"
		"ifctl cred check - https://evil.example.org/   # exit 4: denied, with the reason",
	.see_also = "cred issue, chassis proxy",
	.schema = "cred-check",
};
static const struct cmd_entry cred_list_entry = {
	.name = "list", .args = "[--swarm S] [--state active|revoked|expired]",
	.summary = "credentials: scope, state, expiry (never tokens)", .opts = list_opts,
	.flags = CMD_NEEDS_BUS, .run = run_list,
	.examples =
		"ifctl cred list\n"
		"ifctl cred list --swarm gen-c --state active -o json",
	.see_also = "cred issue, cred revoke",
	.schema = "credential[]",
};
static const struct cmd_entry cred_revoke_entry = {
	.name = "revoke", .args = "ID", .summary = "revoke a credential now",
	.flags = CMD_NEEDS_BUS | CMD_MUTATES, .run = run_revoke,
	.examples =
		"ifctl cred revoke cred-0123456789abcdef\n"
		"ifctl cred revoke cred-0123456789abcdef --why=\"leaked in a log\"",
	.see_also = "cred list, cred rotate",
	.schema = "credential",
};
static const struct cmd_entry cred_rotate_entry = {
	.name = "rotate", .args = "ID [--ttl DURATION]",
	.summary = "a new token of the same scope; the old one revoked", .opts = rotate_opts,
	.flags = CMD_NEEDS_BUS | CMD_MUTATES, .run = run_rotate,
	.examples =
		"ifctl cred rotate cred-0123456789abcdef\n"
		"ifctl cred rotate cred-0123456789abcdef --ttl 10m -o json",
	.see_also = "cred revoke, cred issue",
	.schema = "credential",
};

static const struct cmd_entry *const cred_subs[] = {
	&cred_issue_entry, &cred_check_entry, &cred_list_entry, &cred_revoke_entry,
	&cred_rotate_entry, NULL,
};

const struct cmd_entry cmd_cred_entry = {
	.name = "cred",
	.args = "issue|check|list|revoke|rotate",
	.summary = "scoped credentials: TTL, endpoint allow-list, revocation",
	.subs = cred_subs,
	.examples =
		"ifctl cred issue --swarm gen-c --ttl 5m --allow 'https://api.example.com/*'\n"
		"ifctl cred list\n"
		"ifctl cred check @cred.token https://api.example.com/v1",
	.see_also = "chassis run, vault, ifctl-security(7)",
};
