/* ifctl governor: match, request-help, reset, trip, outcome, error-types. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/govbench.h"
#include "cmd/cmd.h"
#include "cmd/gov-cmd.h"
#include "core/governor.h"
#include "core/util.h"

/* What every governor decision starts from: registry, policy, fleet. */
struct gov_setup {
	struct cap_registry reg;
	struct policy pol;
	struct gov_fleet fleet;
	bool has_reg, has_pol, has_fleet;
};

static void
setup_release(struct gov_setup *g)
{
	if (g->has_fleet)
		gov_fleet_release(&g->fleet);
	if (g->has_pol)
		gov_cmd_policy_release(&g->pol);
	if (g->has_reg)
		capreg_release(&g->reg);
}

/* Load the registry, the policy and (with fleet) the fleet's snapshot. */
static enum status
setup(struct cmd_ctx *ctx, struct gov_setup *g, bool fleet)
{
	enum status st;

	memset(g, 0, sizeof *g);
	if ((st = gov_cmd_registry(ctx, &g->reg)) != ST_OK)
		return st;
	g->has_reg = true;
	if ((st = gov_cmd_policy(ctx, &g->reg, &g->pol)) != ST_OK)
		return st;
	g->has_pol = true;
	if (fleet && (st = gov_cmd_fleet(ctx, NULL, 0, &g->fleet, NULL)) != ST_OK)
		return st;
	g->has_fleet = fleet;
	return ST_OK;
}

/* --- match -------------------------------------------------------------- */

static enum status
run_match(struct cmd_ctx *ctx)
{
	struct gov_setup g;
	struct gov_match m;
	char **caps = NULL;
	size_t ncaps = 0, skipped = 0;
	bool all = cmd_flag(ctx, "all") || ctx->op.explain;
	int64_t limit;
	enum status st;

	if ((st = cmd_need(ctx, "capability")) != ST_OK ||
	    (st = cmd_opt_int(ctx, "limit", 0, 1000000, 0, &limit)) != ST_OK)
		return st;
	/* a match is a decision: witnessed, unless the run may not write */
	if (!ctx->op.read_only && (st = cmd_witness_open(ctx)) != ST_OK)
		return st;
	/* a choice needs only the swarms that list a capability; --all and --why show all */
	if ((st = setup(ctx, &g, false)) != ST_OK ||
	    (st = gov_cmd_caps(ctx, "capability", &g.reg, &caps, &ncaps)) != ST_OK ||
	    (st = gov_cmd_fleet(ctx, all ? NULL : caps, ncaps, &g.fleet, &skipped)) != ST_OK)
		goto out;
	g.has_fleet = true;
	if (skipped)
		why_add(&ctx->op, "skipped", "", "%zu swarms list none of the capabilities", skipped);
	governor_match(&g.fleet, &g.pol, caps, ncaps, cmd_opt(ctx, "exclude"), wall_ms(), &m);
	governor_match_explain(&ctx->op, &m, caps, ncaps, 0);
	check(&ctx->op, "a swarm qualifies", m.nqualified ? ST_OK : ST_REFUSED, NULL,
	      m.nqualified ? m.v[0].s->p.id : "none");
	governor_match_witness(&ctx->op, &m, caps, ncaps);
	doc_add(&ctx->out, gov_match_view(&m, cmd_flag(ctx, "all"), (size_t)limit));
	if (m.nqualified == 0 && !ctx->op.falsify) {
		char detail[240];
		ctx->output_on_error = true;
		gov_match_rank_all(&m);
		if (m.n)
			gov_candidate_detail(&m.v[0], detail, sizeof detail);
		if (m.n && m.v[0].matched)
			st = err_set(&ctx->err, ST_REFUSED, "no swarm qualifies: nearest '%s' is "
				     "excluded by %s (%s)", m.v[0].s->p.id,
				     gov_rule_name(m.v[0].excluded), detail);
		else
			st = err_set(&ctx->err, ST_NOT_FOUND, "no registered swarm has any of the "
				     "capabilities (%zu swarms)", m.n + skipped);
	}
	gov_match_release(&m);
out:
	if (caps)
		strv_free(caps, ncaps);
	setup_release(&g);
	return st;
}

/* --- request-help --------------------------------------------------------- */

static enum status
validate_help(struct cmd_ctx *ctx)
{
	const char *b = cmd_opt(ctx, "blocked");

	if (b == NULL)
		return err_set(&ctx->err, ST_USAGE, "governor request-help needs --blocked SWARM");
	if (!swarm_id_valid(b))
		return err_set(&ctx->err, ST_USAGE, "--blocked: '%.80s' is not a swarm id", b);
	if (!cmd_opt(ctx, "capability") == !cmd_opt(ctx, "error-type"))
		return err_set(&ctx->err, ST_USAGE, "governor request-help needs either -c CAP... "
			       "or --error-type TYPE");
	if (cmd_opt(ctx, "error-type") && !gov_error_type_find(cmd_opt(ctx, "error-type")))
		return err_set(&ctx->err, ST_USAGE, "--error-type: '%.80s' is not known (see "
			       "'ifctl governor error-types')", cmd_opt(ctx, "error-type"));
	return ST_OK;
}

/* The capabilities an error type needs, as a list the caller frees. */
static char **
type_caps(const struct gov_error_type *t, size_t *n)
{
	char **v = xcalloc(ARRAY_SIZE(t->caps) + 1, sizeof *v);

	for (*n = 0; *n < ARRAY_SIZE(t->caps) && t->caps[*n]; (*n)++)
		v[*n] = xstrdup(t->caps[*n]);
	return v;
}

static void
coord_cfg_of(const struct config *c, struct coord_cfg *cc)
{
	cc->bucket = COORD_BUCKET;
	cc->lease_ms = cfg_int(c, CK_COORD_LEASE_MS);
	cc->max_attempts = (int)cfg_int(c, CK_COORD_MAX_ATTEMPTS);
	cc->retry_backoff_ms = cfg_int(c, CK_COORD_RETRY_BACKOFF_MS);
}

static enum status
run_help(struct cmd_ctx *ctx)
{
	const char *type = cmd_opt(ctx, "error-type");
	struct coord_cfg cc;
	struct gov_setup g;
	struct gov_help h = { 0 };
	char **caps = NULL;
	size_t ncaps = 0;
	enum status st;

	if ((st = setup(ctx, &g, true)) != ST_OK)
		goto out;
	if (type) {
		caps = type_caps(gov_error_type_find(type), &ncaps);
		why_add(&ctx->op, "error type", type, "needs %zu capabilities", ncaps);
	} else if ((st = gov_cmd_caps(ctx, "capability", &g.reg, &caps, &ncaps)) != ST_OK) {
		goto out;
	}
	coord_cfg_of(&ctx->cfg, &cc);
	st = governor_request_help(ctx->bus, &ctx->op, &g.fleet, &g.pol, &cc,
				   cmd_opt(ctx, "blocked"), caps, ncaps, type, &h, &ctx->err);
	if (h.n)
		doc_add(&ctx->out, gov_help_view(&h));
	ctx->output_on_error = true;
	gov_help_release(&h);
out:
	if (caps)
		strv_free(caps, ncaps);
	setup_release(&g);
	return ctx->op.falsify && st == ST_REFUSED ? ST_OK : st;
}

/* --- breaker -------------------------------------------------------------------- */

static enum status
run_reset(struct cmd_ctx *ctx)
{
	struct gov_setup g;
	int64_t budget;
	enum status st;

	if ((st = gov_cmd_usd(ctx, "budget", -1, &budget)) != ST_OK || (st = setup(ctx, &g, false)) != ST_OK)
		return st;
	st = governor_reset(ctx->bus, &ctx->op, ctx->argv[0], budget, &ctx->err);
	setup_release(&g);
	return st == ST_OK ? gov_cmd_show_swarm(ctx, ctx->argv[0]) : st;
}

static enum status
run_trip(struct cmd_ctx *ctx)
{
	enum status st;

	if ((st = cmd_need(ctx, "reason")) != ST_OK)
		return st;
	if ((st = gov_cmd_show_swarm(ctx, ctx->argv[0])) != ST_OK)	/* the swarm must be registered */
		return st;
	doc_release(&ctx->out);
	memset(&ctx->out, 0, sizeof ctx->out);
	st = governor_breaker_trip(ctx->bus, &ctx->op, ctx->argv[0], cmd_opt(ctx, "reason"),
				   &ctx->err);
	return st == ST_OK ? gov_cmd_show_swarm(ctx, ctx->argv[0]) : st;
}

static enum status
run_outcome(struct cmd_ctx *ctx)
{
	struct gov_setup g;
	struct swarm s;
	bool ok = cmd_flag(ctx, "success");
	enum status st;

	if (ok == cmd_flag(ctx, "failure"))
		return err_set(&ctx->err, ST_USAGE, "governor outcome needs --success or --failure");
	if ((st = swarm_get(ctx->bus, ctx->argv[0], &s, &ctx->err)) != ST_OK)
		return st;
	swarm_release(&s);
	if ((st = setup(ctx, &g, false)) != ST_OK)
		return st;
	st = governor_record_outcome(ctx->bus, &ctx->op, ctx->argv[0], ok, &ctx->err);
	setup_release(&g);
	return st == ST_OK ? gov_cmd_show_swarm(ctx, ctx->argv[0]) : st;
}

enum { ET_TYPE, ET_CAPABILITIES, ET__COUNT };
static const struct view_col et_cols[] = {
	[ET_TYPE] = { "type", COL_TEXT, 0 },
	[ET_CAPABILITIES] = { "capabilities", COL_JSON, 0 },
};
_Static_assert(ARRAY_SIZE(et_cols) == ET__COUNT, "one column per error-type column");
static const struct view et_view = VIEW("error_types", et_cols);

static enum status
run_error_types(struct cmd_ctx *ctx)
{
	struct rowset *rs = rows_view(&et_view);
	size_t i, n, r;

	for (i = 0; i < gov_error_type_count; i++) {
		for (n = 0; n < ARRAY_SIZE(gov_error_types[i].caps) && gov_error_types[i].caps[n]; n++)
			;
		r = rows_add(rs);
		rows_set(rs, r, ET_TYPE, gov_error_types[i].type);
		rows_set_list(rs, r, ET_CAPABILITIES, gov_error_types[i].caps, n);
	}
	doc_add(&ctx->out, rs);
	return ST_OK;
}

static enum status
run_bench(struct cmd_ctx *ctx)
{
	struct gov_bench_opts o;
	int64_t swarms, samples, files, runs, touch;
	enum status st;

	if ((st = cmd_opt_int(ctx, "swarms", 1, 1000000, 10000, &swarms)) != ST_OK ||
	    (st = cmd_opt_int(ctx, "samples", 1, 10000000, 2000, &samples)) != ST_OK ||
	    (st = cmd_opt_int(ctx, "files", 100, 1000000, 10000, &files)) != ST_OK ||
	    (st = cmd_opt_int(ctx, "runs", 1, 1000, 5, &runs)) != ST_OK ||
	    (st = cmd_opt_int(ctx, "touch", 0, 1000000, 0, &touch)) != ST_OK)
		return st;
	o = (struct gov_bench_opts){ (size_t)swarms, (size_t)samples, (size_t)files, (size_t)runs,
				     (size_t)touch };
	why_add(&ctx->op, "fleet", "IF_SWARMS", "synthetic swarms bench-00000.. with 3 random "
		"capabilities each; only the missing ones are written");
	why_add(&ctx->op, "percentiles", "nearest rank", "on the sorted samples");
	return gov_bench_run(ctx->bus, &o, &ctx->out, &ctx->err);
}

/* --- entries -------------------------------------------------------------------- */

#define OPT_END { NULL, 0, NULL, NULL }
#define POLICY_OPTS \
	{ "policy", 0, "FILE", "policy file (default governor.policy)" }, \
	{ "profile", 0, "NAME", "policy profile (default governor.profile)" }

static const struct cmd_opt match_opts[] = {
	{ "capability", 'c', "C[,C...]", "required capabilities (repeatable)" },
	{ "all", 'a', NULL, "list the excluded swarms too, with the rule that excluded each" },
	{ "limit", 0, "N", "at most N rows" },
	{ "exclude", 0, "SWARM", "leave this swarm out" },
	POLICY_OPTS,
	OPT_END,
};
static const struct cmd_opt bench_opts[] = {
	{ "swarms", 0, "N", "fleet size (default 10000)" },
	{ "samples", 0, "N", "matches timed (default 2000)" },
	{ "files", 0, "N", "files of the detection tree (default 10000)" },
	{ "runs", 0, "N", "detections timed (default 5)" },
	{ "touch", 0, "N", "only rewrite the last_seen of N random swarms, as heartbeats do" },
	OPT_END,
};
static const struct cmd_opt help_opts[] = {
	{ "blocked", 0, "SWARM", "the swarm that is stuck" },
	{ "capability", 'c', "C[,C...]", "what it needs help with" },
	{ "error-type", 0, "TYPE", "or: the kind of error (see 'governor error-types')" },
	POLICY_OPTS,
	OPT_END,
};
static const struct cmd_opt reset_opts[] = {
	{ "budget", 0, "USD", "what the swarm may spend from now" },
	POLICY_OPTS,
	OPT_END,
};
static const struct cmd_opt trip_opts[] = {
	{ "reason", 0, "TEXT", "why the breaker opens" },
	OPT_END,
};
static const struct cmd_opt outcome_opts[] = {
	{ "success", 0, NULL, "the swarm's last task succeeded" },
	{ "failure", 0, NULL, "it failed (consecutive failures open the breaker)" },
	POLICY_OPTS,
	OPT_END,
};

/* Help of each subcommand: examples, see also, the schema of its -o json. */
#define gov_match_help .examples = "ifctl governor match -c integration:sip,code-analysis:general\n" \
     "ifctl governor match -c cli:automation --all   # the excluded swarms too, with the rule\n" \
     "ifctl governor match -c infra:kubernetes --limit 3 -o json", \
     .see_also = "governor request-help, policy show, capabilities list", .schema = "match-row[]"
#define gov_help_help .examples = "ifctl governor request-help --blocked gen-c -c infra:kubernetes\n" \
     "ifctl governor request-help --blocked gen-c --error-type timeout --why\n" \
     "ifctl governor error-types", \
     .see_also = "governor match, policy check, task list", .schema = "help-row[]"
#define gov_reset_help .examples = "ifctl governor reset gen-c\n" \
     "ifctl governor reset gen-c --budget 20 --why=\"fixed the prompt\"", \
     .see_also = "governor trip, swarm show, slo status, cost budget", .schema = "swarm-row"
#define gov_trip_help .examples = "ifctl governor trip gen-c --reason \"runaway spend\"\n" \
     "ifctl governor trip gen-c --reason maintenance -o json", \
     .see_also = "governor reset, swarm list --status breaker-open", .schema = "swarm-row"
#define gov_outcome_help .examples = "ifctl governor outcome gen-c --success\n" \
     "ifctl governor outcome gen-c --failure -o json", \
     .see_also = "governor reset, policy show (circuit_breaker_threshold)", .schema = "swarm-row"
#define gov_error_types_help .examples = "ifctl governor error-types\n" \
     "ifctl governor error-types -o json", \
     .see_also = "governor request-help", .schema = "error-type-row[]"
#define gov_bench_help .examples = "ifctl governor bench --swarms 1000 --samples 200 --files 1000\n" \
     "ifctl governor bench\n" \
     "ifctl governor bench --touch 1000   # 1,000 heartbeats' rewrites, nothing timed", \
     .see_also = "make bench, swarm detect", .schema = NULL

#define SUB(n, nm, a, s, f, o, r, v) \
	static const struct cmd_entry gov_##n##_entry = { \
		.name = nm, .args = a, .summary = s, .flags = f, .opts = o, .validate = v, \
		.run = r, gov_##n##_help }

SUB(match, "match", "-c CAP... [--all] [--limit N]", "rank the swarms that can do a task: "
    "coverage, then the policy's weighted score", CMD_NEEDS_BUS, match_opts, run_match, NULL);
SUB(help, "request-help", "--blocked SWARM (-c CAP... | --error-type T)", "find helpers for "
    "a blocked swarm and push each a blocker-assistance task", CMD_NEEDS_BUS | CMD_MUTATES,
    help_opts, run_help, validate_help);
SUB(reset, "reset", "SWARM [--budget USD]", "close a swarm's circuit breaker (and give it a "
    "budget)", CMD_NEEDS_BUS | CMD_MUTATES, reset_opts, run_reset, gov_cmd_swarm_budget_args);
SUB(trip, "trip", "SWARM --reason TEXT", "open a swarm's circuit breaker by hand",
    CMD_NEEDS_BUS | CMD_MUTATES, trip_opts, run_trip, gov_cmd_swarm_arg);
SUB(outcome, "outcome", "SWARM --success|--failure", "count a task outcome towards the "
    "circuit breaker", CMD_NEEDS_BUS | CMD_MUTATES, outcome_opts, run_outcome,
    gov_cmd_swarm_arg);
SUB(error_types, "error-types", "", "the error types request-help knows, with their "
    "capabilities", 0, NULL, run_error_types, NULL);

SUB(bench, "bench", "[--swarms N] [--samples N] [--files N]", "measure matching over a "
    "large fleet and spawn detection over a large tree (writes swarms into IF_SWARMS)",
    CMD_NEEDS_BUS | CMD_WRITES, bench_opts, run_bench, NULL);

static const struct cmd_entry *const gov_subs[] = {
	&gov_match_entry, &gov_help_entry, &gov_reset_entry, &gov_trip_entry, &gov_outcome_entry,
	&gov_error_types_entry, &gov_bench_entry, NULL,
};

const struct cmd_entry cmd_governor_entry = {
	.name = "governor",
	.args = "match|request-help|reset|trip|outcome|error-types|bench",
	.summary = "the policy engine: matching, help for blockers, circuit breakers",
	.subs = gov_subs,
	.examples =
		"ifctl governor match -c integration:sip,code-analysis:general\n"
		"ifctl governor request-help --blocked gen-c -c infra:kubernetes --why\n"
		"ifctl governor reset gen-c --budget 20",
	.see_also = "swarm, policy, slo status, ifctl-workflows(7)",
};
