/* ifctl policy: show, validate, check, violations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/gov-cmd.h"
#include "core/governor.h"
#include "core/util.h"

static enum status
run_show(struct cmd_ctx *ctx)
{
	struct cap_registry reg;
	struct policy pol;
	enum status st;

	if ((st = gov_cmd_registry(ctx, &reg)) != ST_OK)
		return st;
	if ((st = gov_cmd_policy(ctx, &reg, &pol)) == ST_OK) {
		doc_add(&ctx->out, policy_view(&pol));
		gov_cmd_policy_release(&pol);
	}
	capreg_release(&reg);
	return st;
}

enum { PV_PROBLEM, PV__COUNT };
static const struct view_col problem_cols[] = {
	[PV_PROBLEM] = { "problem", COL_TEXT, 0 },
};
_Static_assert(ARRAY_SIZE(problem_cols) == PV__COUNT, "one column per problem column");
static const struct view problem_view = VIEW("problems", problem_cols);

static enum status
run_validate(struct cmd_ctx *ctx)
{
	struct jschema_result res = JSCHEMA_RESULT_INIT;
	const char *path = ctx->argc ? ctx->argv[0] : cmd_opt(ctx, "policy");
	struct cap_registry reg;
	struct policy pol;
	struct rowset *rs;
	char *def = NULL;
	size_t i;
	enum status st;

	if (path == NULL && *cfg_str(&ctx->cfg, CK_GOV_POLICY))
		path = cfg_str(&ctx->cfg, CK_GOV_POLICY);
	if (path == NULL)
		path = def = policy_default_path();
	if ((st = gov_cmd_registry(ctx, &reg)) != ST_OK) {
		free(def);
		return st;
	}
	st = policy_load(path, cmd_opt(ctx, "profile"), &reg, &pol, &res, &ctx->err);
	rs = rows_view(&problem_view);
	for (i = 0; i < res.n; i++) {
		rows_set(rs, rows_add(rs), PV_PROBLEM, res.v[i].msg);
		check(&ctx->op, "policy rule", ST_BAD_VALUE, NULL, res.v[i].msg);
	}
	if (res.more)
		rows_setf(rs, rows_add(rs), PV_PROBLEM, "... and %zu more", res.more);
	if (st == ST_OK) {
		check(&ctx->op, "policy is valid", ST_OK, NULL, path);
		why_add(&ctx->op, "profiles", pol.profile, "%zu profiles, %zu capability and %zu "
			"swarm overrides", pol.nprofiles, pol.ncaps, pol.nswarms);
		policy_release(&pol);
	}
	doc_add(&ctx->out, rs);
	ctx->output_on_error = true;
	jschema_result_release(&res);
	capreg_release(&reg);
	free(def);
	return ctx->op.falsify ? ST_OK : st;
}

static enum status
run_check(struct cmd_ctx *ctx)
{
	struct gov_assignment a = { 0 };
	struct gov_check c = { 0 };
	struct cap_registry reg;
	struct policy pol;
	struct gov_fleet f;
	struct rowset *rs;
	char **swarms, **caps = NULL;
	size_t ns, nc = 0, i, r;
	enum status st;

	if ((st = gov_cmd_usd(ctx, "cost", -1, &a.cost_micros)) != ST_OK ||
	    (st = gov_cmd_registry(ctx, &reg)) != ST_OK)
		return st;
	swarms = gov_cmd_split(cmd_opt(ctx, "swarm"), &ns);
	if ((st = gov_cmd_policy(ctx, &reg, &pol)) != ST_OK)
		goto out_reg;
	if ((st = gov_cmd_caps(ctx, "capability", &reg, &caps, &nc)) != ST_OK ||
	    (st = gov_cmd_fleet(ctx, NULL, 0, &f, NULL)) != ST_OK)
		goto out_pol;
	a.swarms = swarms;
	a.nswarms = ns;
	a.task = cmd_opt(ctx, "task");
	a.caps = caps;
	a.ncaps = nc;
	st = governor_check_assignment(ctx->bus, &ctx->op, &f, &pol, &a, &c, &ctx->err);
	rs = gov_violation_view();
	for (i = 0; i < c.n; i++) {
		r = rows_add(rs);
		rows_set_time(rs, r, 0, wall_ms());
		rows_set(rs, r, 1, c.v[i].type);
		rows_set_list(rs, r, 2, (const char *const *)swarms, ns);
		rows_set(rs, r, 3, a.task);
		rows_set_bool(rs, r, 4, c.enforced);
		rows_set(rs, r, 5, c.v[i].details);
		rows_set(rs, r, 6, ctx->op.trace_id);
	}
	doc_add(&ctx->out, rs);
	ctx->output_on_error = true;
	if (c.n && !c.enforced && !ctx->quiet)
		session_notice(ctx->session, NOTICE_WARN, "ifctl: warning: %zu violation%s, not "
			       "enforced (the policy's enforcement is off)", c.n, c.n == 1 ? "" : "s");
	gov_check_release(&c);
	gov_fleet_release(&f);
out_pol:
	if (caps)
		strv_free(caps, nc);
	gov_cmd_policy_release(&pol);
out_reg:
	strv_free(swarms, ns);
	capreg_release(&reg);
	return ctx->op.falsify && st == ST_REFUSED ? ST_OK : st;
}

static enum status
run_violations(struct cmd_ctx *ctx)
{
	struct rowset *rs = gov_violation_view();
	int64_t limit;
	enum status st;

	if ((st = cmd_opt_int(ctx, "limit", 0, 1000000, 0, &limit)) != ST_OK) {
		rows_free(rs);
		return st;
	}
	st = gov_violations_list(ctx->bus, cmd_opt(ctx, "swarm"), cmd_opt(ctx, "type"),
				 (size_t)limit, rs, &ctx->err);
	why_add(&ctx->op, "source", GOV_SUBJECT_VIOLATION, "stream IF_EVENTS (kept 7 days), oldest "
		"first");
	doc_add(&ctx->out, rs);
	return st;
}

#define OPT_END { NULL, 0, NULL, NULL }
#define POLICY_OPTS \
	{ "policy", 0, "FILE", "policy file (default governor.policy)" }, \
	{ "profile", 0, "NAME", "policy profile (default governor.profile)" }

static const struct cmd_opt policy_opts[] = { POLICY_OPTS, OPT_END };
static const struct cmd_opt check_opts[] = {
	{ "swarm", 0, "A[,B...]", "the swarms assigned (repeatable)" },
	{ "task", 0, "ID", "the task they are assigned to" },
	{ "capability", 'c', "C[,C...]", "the task's capabilities (their overrides apply)" },
	{ "cost", 0, "USD", "the task's estimated cost (default an hour of each swarm)" },
	POLICY_OPTS,
	OPT_END,
};
static const struct cmd_opt violations_opts[] = {
	{ "swarm", 0, "ID", "only violations naming this swarm" },
	{ "type", 0, "TYPE", "only this type (too-many-swarms, over-budget, ...)" },
	{ "limit", 0, "N", "only the newest N" },
	OPT_END,
};

static const struct cmd_entry policy_show_entry = {
	.name = "show", .args = "[--policy FILE] [--profile NAME]",
	.summary = "the rules of every profile and override; which are in force",
	.opts = policy_opts, .run = run_show,
	.examples =
		"ifctl policy show\n"
		"ifctl policy show --policy fixtures/policies/good.yaml --profile production -o json",
	.see_also = "policy validate, governor match, ifctl-config(5) governor.policy",
	.schema = "policy-rule-row[]",
};
static const struct cmd_entry policy_validate_entry = {
	.name = "validate", .args = "[FILE]",
	.summary = "check a policy file: every problem with its line",
	.opts = policy_opts, .run = run_validate,
	.examples =
		"ifctl policy validate fixtures/policies/good.yaml\n"
		"ifctl policy validate fixtures/policies/bad-range.yaml -o json   # exit 2, every problem with its line",
	.see_also = "policy show, schemas/resource-policy.schema.json",
	.schema = "policy-problem-row[]",
};
static const struct cmd_entry policy_check_entry = {
	.name = "check", .args = "--swarm A,B [--task ID] [-c CAP] [--cost USD]",
	.summary = "check an assignment against the policy; violations are recorded",
	.flags = CMD_NEEDS_BUS | CMD_MUTATES, .opts = check_opts, .run = run_check,
	.examples =
		"ifctl policy check --swarm gen-c --cost 3 --why\n"
		"ifctl policy check --swarm gen-c,py1 --task t-42 -c infra:kubernetes\n"
		"ifctl policy check --swarm gen-c --mode=falsify",
	.see_also = "policy violations, governor match, ifctl-workflows(7)",
	.schema = "violation-row[]",
};
static const struct cmd_entry policy_violations_entry = {
	.name = "violations", .args = "[--swarm ID] [--type T] [--limit N]",
	.summary = "the violations recorded by assignment checks",
	.flags = CMD_NEEDS_BUS, .opts = violations_opts, .run = run_violations,
	.examples =
		"ifctl policy violations\n"
		"ifctl policy violations --swarm gen-c --type over-budget --limit 10 -o json",
	.see_also = "policy check",
	.schema = "violation-row[]",
};
static const struct cmd_entry *const policy_subs[] = {
	&policy_show_entry, &policy_validate_entry, &policy_check_entry, &policy_violations_entry,
	NULL,
};

const struct cmd_entry cmd_policy_entry = {
	.name = "policy",
	.args = "show|validate|check|violations",
	.summary = "resource policies: profiles, overrides, assignment checks, violations",
	.subs = policy_subs,
	.examples =
		"ifctl policy show\n"
		"ifctl policy validate fixtures/policies/good.yaml\n"
		"ifctl policy check --swarm gen-c --why",
	.see_also = "governor, swarm spawn, schemas/resource-policy.schema.json",
};
