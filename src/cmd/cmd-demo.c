/*
 * ifctl demo: a small fleet at work, so that the console has something
 * alive to show. It drives the fleet's own operations, each witnessed as
 * any client's would be, and never writes what a pane shows directly:
 * swarm_register (capabilities from the registry), budget_allocate and
 * slo_objective_put once at the start; then the coordinator's push, claim,
 * heartbeat, complete, fail and release (whose SLO samples the coordinator
 * publishes), swarm_touch and slo_heartbeat for each swarm's heartbeat,
 * cost_record (priced from the price table) for each finished task, and
 * every 15 s the SLO evaluation of 'slo watch' (slo_status over the
 * rollups, breach episodes opened and closed).
 *
 * One loop (follow.h: evloop, Ctrl-C and SIGTERM) with a tick every
 * DEMO_TICK_MS: push at --rate while the queue is short, let each idle
 * swarm claim, finish what is due (most complete, some fail), heartbeat
 * long work, and flush the witness. On the way out every task a demo swarm
 * still holds is released.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/follow.h"
#include "cmd/gov-cmd.h"
#include "core/budget.h"
#include "core/coord.h"
#include "core/cost.h"
#include "core/json.h"
#include "core/slo.h"
#include "core/slodb.h"
#include "core/swarm.h"
#include "core/util.h"

#define DEMO_TICK_MS 250
#define DEMO_QUEUE_MAX 30	/* pushes pause while this many wait */
#define DEMO_HEARTBEAT_MS 5000
#define DEMO_EVALUATE_MS 15000	/* the SLO evaluation (as 'slo watch' does) */

/* The swarms: capabilities of the registry (capability.h), a model of the price table. */
static const struct {
	const char *id, *caps, *provider, *model;
	int64_t budget_usd;	/* allocated at the start */
	double p99_ms;		/* its latency objective (work takes 2 to 14 s: draco's breaks) */
} demo_swarms[] = {
	{ "swarm-atlas", "code-analysis:python,architecture:security", "anthropic",
	  "claude-sonnet-4", 40, 30000 },
	{ "swarm-borealis", "infra:databases,docs:technical-writing", "openai", "gpt-4o", 25, 25000 },
	{ "swarm-cygnus", "code-analysis:python,cli:testing", "anthropic", "claude-opus-4", 15,
	  30000 },
	{ "swarm-draco", "docs:tutorials,docs:technical-writing", "openai", "gpt-4o-mini", 5, 6000 },
	{ "swarm-eridani", "cli:testing,architecture:security", "openai", "gpt-4.1", 20, 25000 },
	{ "swarm-fornax", "infra:databases,code-analysis:python", "openai", "o3", 30, 30000 },
};

static const struct {
	const char *title, *cap;
} demo_work[] = {
	{ "refactor the billing module", "code-analysis:python" },
	{ "review pull request 4182", "architecture:security" },
	{ "summarise the incident report", "docs:technical-writing" },
	{ "write the onboarding guide", "docs:tutorials" },
	{ "run the integration suite", "cli:testing" },
	{ "compare vector index options", "infra:databases" },
	{ "fix the flaky login test", "cli:testing" },
	{ "write the release notes", "docs:technical-writing" },
	{ "port the CLI to the new API", "code-analysis:python" },
	{ "audit the access policies", "architecture:security" },
	{ "migrate the orders schema", "infra:databases" },
	{ "a tutorial for the new SDK", "docs:tutorials" },
};

static const char *const demo_failures[] = {
	"model timeout after 30s", "tool call refused by policy", "test suite red: 3 failures",
	"rate limited by the provider", "context window exceeded",
};

struct demo_swarm {
	char *caps[3];
	size_t ncaps;
	struct task held;	/* held.id set: working on it */
	int64_t done_at, beat_at, claimed_at;
	int64_t alive_at;	/* mono ms of the swarm's next heartbeat */
};

struct demo {
	struct cmd_ctx *ctx;
	struct follow f;
	struct coord_cfg cc;
	struct coord_index *ix;
	struct demo_swarm sw[ARRAY_SIZE(demo_swarms)];
	size_t nsw;
	double rate, credit;	/* tasks a second; pushes owed */
	size_t queued;		/* pushed and not yet claimed, as the demo counts */
	uint64_t rng;
	int64_t until;		/* mono ms, 0: until stopped */
	size_t pushed, claimed, completed, failed;
	struct err last;	/* the last failure, reported at the end */
	size_t failures;
	struct price_table prices;
	size_t recorded;	/* usage records priced and settled */
	struct slodb *rollups;	/* the evaluator's ($IF_HOME/slo.db), or NULL */
	int64_t evaluate_at;	/* mono ms of the next evaluation */
};

/* xorshift64: the demo's randomness (no security in it). */
static uint64_t
rnd(struct demo *d, uint64_t n)
{
	d->rng ^= d->rng << 13;
	d->rng ^= d->rng >> 7;
	d->rng ^= d->rng << 17;
	return n ? d->rng % n : 0;
}

/* Note a failure of the fleet's operations; the demo goes on. */
static void
demo_failed(struct demo *d, const struct err *e)
{
	d->failures++;
	d->last = *e;
}

/* Act as swarm (actor) under trace; restore after with the saved actor. */
static const char *
act_as(struct demo *d, const char *actor, const char *trace)
{
	const char *saved = d->ctx->op.actor;

	d->ctx->op.actor = actor;
	if (trace)
		snprintf(d->ctx->op.trace_id, sizeof d->ctx->op.trace_id, "%s", trace);
	else
		trace_id_new(d->ctx->op.trace_id);
	return saved;
}

static void
demo_push(struct demo *d)
{
	size_t w = rnd(d, ARRAY_SIZE(demo_work));
	char *caps[1] = { (char *)demo_work[w].cap };
	struct task_spec s = { .title = demo_work[w].title, .caps = caps, .ncaps = 1,
			       .priority = (int)rnd(d, 10), .budget = (double)(1 + rnd(d, 20)) };
	struct err e = ERR_INIT;
	const char *saved = act_as(d, d->ctx->session->actor, NULL);
	struct task t;
	bool existed;

	if (coord_push(d->ctx->bus, &d->cc, &d->ctx->op, &s, &t, &existed, &e) == ST_OK) {
		d->pushed++;
		d->queued++;
		task_release(&t);
	} else {
		demo_failed(d, &e);
	}
	d->ctx->op.actor = saved;
}

/* An owner operation on the task swarm i holds. */
static enum status
demo_owner(struct demo *d, size_t i, enum owner_verb verb, const char *reason,
	   const char *result)
{
	struct demo_swarm *sw = &d->sw[i];
	struct owner_req r = { verb, sw->held.id, demo_swarms[i].id, sw->held.token, result,
			       reason, false };
	const char *saved = act_as(d, demo_swarms[i].id, sw->held.trace);
	struct err e = ERR_INIT;
	struct task t;
	enum status st;

	st = coord_owner(d->ctx->bus, &d->cc, &d->ctx->op, &r, &t, &e);
	if (st == ST_OK)
		task_release(&t);
	else
		demo_failed(d, &e);
	d->ctx->op.actor = saved;
	return st;
}

/* The swarm lets go of its task (done, failed, released or lost). */
static void
drop(struct demo_swarm *sw)
{
	task_release(&sw->held);
	task_init(&sw->held);
}

/* The usage of the task swarm i finished: tokens by its length, priced from the table. */
static void
demo_usage(struct demo *d, size_t i, int64_t now)
{
	struct demo_swarm *sw = &d->sw[i];
	struct err e = ERR_INIT;
	struct usage u;
	char id[64];
	const char *saved = act_as(d, demo_swarms[i].id, sw->held.trace);

	usage_init(&u);
	snprintf(id, sizeof id, "demo-%s-%llu", sw->held.id, (unsigned long long)sw->held.token);
	u.id = xstrdup(id);
	u.swarm = xstrdup(demo_swarms[i].id);
	u.task = xstrdup(sw->held.id);
	u.trace = xstrdup_or_null(sw->held.trace[0] ? sw->held.trace : NULL);
	u.provider = xstrdup(demo_swarms[i].provider);
	u.model = xstrdup(demo_swarms[i].model);
	u.operation = xstrdup("task");
	u.duration_ms = now - sw->claimed_at;
	u.latency_ms = u.duration_ms;
	u.tokens_in = 2000 + (int64_t)rnd(d, 30000);
	u.tokens_out = 500 + (int64_t)rnd(d, 6000);
	u.at = wall_ms();
	if (cost_record(d->ctx->bus, &d->ctx->op, &d->prices, &u, 0, &e) == ST_OK)
		d->recorded++;
	else
		demo_failed(d, &e);
	usage_release(&u);
	d->ctx->op.actor = saved;
}

/* Swarm i's own heartbeat: its last_seen and its availability sample. */
static void
demo_alive(struct demo *d, size_t i, int64_t now)
{
	struct err e = ERR_INIT;

	if (now < d->sw[i].alive_at)
		return;
	d->sw[i].alive_at = now + DEMO_HEARTBEAT_MS;
	if (swarm_touch(d->ctx->bus, demo_swarms[i].id, &e) != ST_OK ||
	    slo_heartbeat(d->ctx->bus, demo_swarms[i].id, wall_ms(), &e) != ST_OK)
		demo_failed(d, &e);
}

/*
 * Evaluate the objectives over the rollups and open or close breach
 * episodes, as 'ifctl slo watch' does (each change witnessed), so that
 * the console shows episodes as well as figures.
 */
static void
demo_evaluate(struct demo *d, int64_t now)
{
	struct cmd_ctx *ctx = d->ctx;
	struct slo_objectives l = { 0 };
	struct slo_episodes *eps = NULL;
	struct slo_result *r = NULL;
	uint64_t added, rejected;
	struct err e = ERR_INIT;
	size_t changed = 0, i;
	enum status st;
	bool due;

	if (now < d->evaluate_at)
		return;
	d->evaluate_at = now + DEMO_EVALUATE_MS;
	act_as(d, ctx->session->actor, NULL);
	if (d->rollups == NULL && slodb_open(&ctx->cfg, NULL, &d->rollups, &e) != ST_OK) {
		demo_failed(d, &e);
		return;
	}
	if ((st = slo_sync(ctx->bus, &ctx->cfg, d->rollups, &added, &rejected, &e)) == ST_OK &&
	    (st = slo_objective_list(ctx->bus, &l, &e)) == ST_OK) {
		r = xcalloc(l.n + 1, sizeof *r);
		st = slo_status(d->rollups, &ctx->cfg, &l, wall_ms(), NULL, r, &e);
	}
	due = st == ST_OK && (st = slo_episodes_load(ctx->bus, &eps, &e)) == ST_OK &&
	      slo_episodes_due(eps, r, l.n);
	if (due && (st = cmd_witness_open(ctx)) != ST_OK)
		e = ctx->err;
	else if (due)
		st = slo_episodes_apply(ctx->bus, &ctx->op, eps, r, l.n, wall_ms(), &changed, &e);
	if (st != ST_OK)
		demo_failed(d, &e);
	slo_episodes_free(eps);
	for (i = 0; r && i < l.n; i++)
		slo_result_release(&r[i]);
	free(r);
	slo_objectives_release(&l);
}

/* Swarm i: claim when idle; finish, fail or heartbeat when working. */
static void
demo_swarm_tick(struct demo *d, size_t i, int64_t now)
{
	struct demo_swarm *sw = &d->sw[i];
	struct claimer c = { demo_swarms[i].id, sw->caps, sw->ncaps };
	struct err e = ERR_INIT;
	const char *saved;
	enum status st;

	if (sw->held.id == NULL) {
		saved = act_as(d, demo_swarms[i].id, NULL);
		st = coord_claim(d->ctx->bus, d->ix, &d->cc, &d->ctx->op, &c, &sw->held, &e);
		d->ctx->op.actor = saved;
		if (st == ST_OK) {
			d->claimed++;
			d->queued -= d->queued > 0;
			sw->done_at = now + 2000 + (int64_t)rnd(d, 12000);
			sw->claimed_at = now;
			sw->beat_at = now + DEMO_HEARTBEAT_MS;
		} else if (st != ST_NOT_FOUND) {
			demo_failed(d, &e);
		}
		return;
	}
	if (now >= sw->done_at) {
		bool fail = rnd(d, 100) < 15;
		st = demo_owner(d, i, fail ? OWNER_FAIL : OWNER_COMPLETE,
				fail ? demo_failures[rnd(d, ARRAY_SIZE(demo_failures))] : NULL,
				fail ? NULL : "{\"ok\":true}");
		if (st == ST_OK)
			*(fail ? &d->failed : &d->completed) += 1;
		if (st == ST_OK && !fail)
			demo_usage(d, i, now);
		drop(sw);
	} else if (now >= sw->beat_at) {
		if (demo_owner(d, i, OWNER_HEARTBEAT, NULL, NULL) != ST_OK)
			drop(sw);	/* lost it (cancelled from a console, say) */
		sw->beat_at = now + DEMO_HEARTBEAT_MS;
	}
}

static int64_t
demo_tick(struct evloop *l, uint64_t id, void *arg)
{
	struct demo *d = arg;
	struct err e = ERR_INIT;
	int64_t now = mono_ms();
	size_t i;

	(void)l;
	(void)id;
	for (d->credit += d->rate * DEMO_TICK_MS / 1000.0; d->credit >= 1; d->credit -= 1)
		if (d->queued < DEMO_QUEUE_MAX)
			demo_push(d);
	for (i = 0; i < d->nsw; i++) {
		demo_alive(d, i, now);
		demo_swarm_tick(d, i, now);
	}
	demo_evaluate(d, now);
	if (d->ctx->witness && ledger_flush(d->ctx->witness, &e) != ST_OK)
		demo_failed(d, &e);
	if (d->until && now >= d->until) {
		follow_finish(&d->f);
		return EVLOOP_DONE;
	}
	return DEMO_TICK_MS;
}

/* Release what the swarms hold and free them. */
static void
demo_stop(struct demo *d)
{
	size_t i, j;

	for (i = 0; i < d->nsw; i++) {
		if (d->sw[i].held.id)
			demo_owner(d, i, OWNER_RELEASE, NULL, NULL);
		drop(&d->sw[i]);
		for (j = 0; j < d->sw[i].ncaps; j++)
			free(d->sw[i].caps[j]);
	}
}

/* The run's counts (schemas/demo.schema.json). */
enum demo_col { DC_PUSHED, DC_CLAIMED, DC_COMPLETED, DC_FAILED, DC_ERRORS, DC_SECONDS, DC__COUNT };
static const struct view_col demo_cols[] = {
	[DC_PUSHED] = { "pushed", COL_NUM, 0 },
	[DC_CLAIMED] = { "claimed", COL_NUM, 0 },
	[DC_COMPLETED] = { "completed", COL_NUM, 0 },
	[DC_FAILED] = { "failed", COL_NUM, 0 },
	[DC_ERRORS] = { "errors", COL_NUM, 0 },
	[DC_SECONDS] = { "seconds", COL_NUM, 0 },
};
_Static_assert(ARRAY_SIZE(demo_cols) == DC__COUNT, "one column per demo_col");
static const struct view demo_view = VIEW("demo", demo_cols);

/* The run's counts as the command's output. */
static void
demo_summary(struct demo *d, int64_t ms)
{
	struct rowset *rs = rows_view(&demo_view);
	size_t r = rows_add(rs);

	rs->single = true;
	rows_set_u64(rs, r, DC_PUSHED, d->pushed);
	rows_set_u64(rs, r, DC_CLAIMED, d->claimed);
	rows_set_u64(rs, r, DC_COMPLETED, d->completed);
	rows_set_u64(rs, r, DC_FAILED, d->failed);
	rows_set_u64(rs, r, DC_ERRORS, d->failures);
	rows_set_num(rs, r, DC_SECONDS, (double)ms / 1000.0);
	doc_add(&d->ctx->out, rs);
}

/* Register swarm i (its profile checked against the capability registry; kept when there). */
static enum status
demo_register(struct demo *d, size_t i, const struct cap_registry *reg, struct err *e)
{
	struct json_doc doc = JSON_DOC_INIT;
	struct swarm_profile p;
	struct buf json = BUF_INIT;
	size_t j;
	enum status st;

	memset(&p, 0, sizeof p);
	buf_adds(&json, "{\"capabilities\":[");
	for (j = 0; j < d->sw[i].ncaps; j++) {
		buf_adds(&json, j ? "," : "");
		json_escape(&json, d->sw[i].caps[j]);
	}
	buf_addc(&json, ']');
	json_kv_int(&json, "cost_per_hour_micros", 0);
	json_kv_str(&json, "id", demo_swarms[i].id);
	json_kv_int(&json, "max_concurrent_tasks", 1);
	buf_adds(&json, ",\"model\":");
	json_escape(&json, demo_swarms[i].model);
	json_kv_num(&json, "reputation", 0.6 + 0.05 * (double)i);
	buf_addc(&json, '}');
	st = json_parse(json.s, json.len, "profile", &doc, e);
	if (st == ST_OK)
		st = swarm_profile_read(doc.root, reg, &p, NULL, e);
	if (st == ST_OK)
		st = swarm_register(d->ctx->bus, &d->ctx->op, &p, false, e);
	if (st == ST_EXISTS)
		st = ST_OK;	/* a demo before this one registered it */
	swarm_profile_release(&p);
	json_doc_release(&doc);
	buf_release(&json);
	return st;
}

/* Swarm i's budget and SLO objectives (set again each run). */
static enum status
demo_govern(struct demo *d, size_t i, struct err *e)
{
	struct slo_objective o, old;
	enum status st;

	st = budget_allocate(d->ctx->bus, &d->ctx->op, BUDGET_SWARM, demo_swarms[i].id, NULL,
			     demo_swarms[i].budget_usd * 1000000, NULL, e);
	if (st != ST_OK)
		return st;
	slo_objective_init(&o);
	o.swarm = xstrdup(demo_swarms[i].id);
	o.has[SLO_LATENCY] = o.has[SLO_SUCCESS] = o.has[SLO_AVAILABILITY] = true;
	o.p99_ms = demo_swarms[i].p99_ms;
	o.target[SLO_SUCCESS] = 0.8;	/* about 15 % of the work fails */
	o.target[SLO_AVAILABILITY] = 0.95;
	o.window_s = 3600;
	st = slo_objective_get(d->ctx->bus, o.swarm, &old, e);
	slo_objective_release(&old);
	if (st == ST_NOT_FOUND)	/* defined before: an operator's edits stay */
		st = slo_objective_put(d->ctx->bus, &d->ctx->op, &o, e);
	slo_objective_release(&o);
	return st;
}

/* The fleet's set-up through its own operations: swarms, budgets, objectives, prices. */
static enum status
demo_fleet(struct demo *d)
{
	struct cmd_ctx *ctx = d->ctx;
	struct cap_registry reg;
	enum status st;
	size_t i;

	if ((st = price_table_load(&d->prices, &ctx->cfg, NULL, &ctx->err)) != ST_OK ||
	    (st = gov_cmd_registry(ctx, &reg)) != ST_OK)
		return st;
	for (i = 0; i < d->nsw && st == ST_OK; i++) {
		act_as(d, ctx->session->actor, NULL);
		st = demo_register(d, i, &reg, &ctx->err);
		if (st == ST_OK)
			st = demo_govern(d, i, &ctx->err);
	}
	capreg_release(&reg);
	return st;
}

/* Set up the swarms, the rate and the claim index. */
static enum status
demo_setup(struct demo *d, struct cmd_ctx *ctx)
{
	int64_t rate, secs, nsw, seed;
	enum status st;
	char *save, *copy, *tok;
	size_t i;

	if ((st = cmd_opt_int(ctx, "rate", 1, 1000, 60, &rate)) != ST_OK ||
	    (st = cmd_opt_int(ctx, "duration", 0, 86400 * 365, 0, &secs)) != ST_OK ||
	    (st = cmd_opt_int(ctx, "swarms", 1, (int64_t)ARRAY_SIZE(demo_swarms), 6, &nsw)) != ST_OK ||
	    (st = cmd_opt_int(ctx, "seed", 1, INT64_MAX, (int64_t)wall_ms(), &seed)) != ST_OK)
		return st;
	d->ctx = ctx;
	d->rate = (double)rate / 60.0;
	d->credit = 5;	/* a few tasks at once */
	d->rng = (uint64_t)seed;
	d->nsw = (size_t)nsw;
	d->until = secs ? mono_ms() + secs * 1000 : 0;
	coord_cfg_load(&ctx->cfg, &d->cc);
	for (i = 0; i < d->nsw; i++) {
		task_init(&d->sw[i].held);
		copy = xstrdup(demo_swarms[i].caps);
		for (tok = strtok_r(copy, ",", &save); tok && d->sw[i].ncaps < 3;
		     tok = strtok_r(NULL, ",", &save))
			d->sw[i].caps[d->sw[i].ncaps++] = xstrdup(tok);
		free(copy);
	}
	if ((st = demo_fleet(d)) != ST_OK)
		return st;
	return coord_index_open(ctx->bus, &d->cc, &d->ix, &ctx->err);
}

static enum status
run_demo(struct cmd_ctx *ctx)
{
	struct demo d = { .prices = PRICE_TABLE_INIT };
	int64_t t0 = mono_ms();
	enum status st;

	if (ctx->op.falsify)
		return err_set(&ctx->err, ST_USAGE, "the demo runs a fleet; --mode=falsify has "
			       "nothing to evaluate");
	if ((st = demo_setup(&d, ctx)) == ST_OK && (st = follow_open(&d.f, &ctx->err)) == ST_OK) {
		session_notice(ctx->session, NOTICE_WARN, "ifctl: demo: %zu swarms, %.0f tasks a "
			       "minute; 'ifctl console' shows them; Ctrl-C stops", d.nsw, d.rate * 60);
		evloop_add_timer(d.f.loop, 0, demo_tick, &d);
		st = follow_run(&d.f, "demo", &ctx->err);
		if (st == ST_INTERRUPTED)
			st = ST_OK;	/* stopping is how a demo ends */
		follow_close(&d.f);
	}
	demo_stop(&d);
	coord_index_free(d.ix);
	price_table_release(&d.prices);
	slodb_close(d.rollups);
	if (st == ST_OK)
		demo_summary(&d, mono_ms() - t0);
	if (st == ST_OK && d.failures)
		session_notice(ctx->session, NOTICE_WARN, "ifctl: demo: %zu operations failed, "
			       "the last: %s", d.failures, d.last.msg);
	return st;
}

static const struct cmd_opt demo_opts[] = {
	{ "rate", 0, "N", "tasks pushed a minute (1 to 1000; default 60)" },
	{ "swarms", 0, "N", "swarms at work (1 to 6; default 6)" },
	{ "duration", 0, "SECONDS", "stop after SECONDS (default: until Ctrl-C or SIGTERM)" },
	{ "seed", 0, "N", "seed of the demo's choices, to repeat a run" },
	{ NULL, 0, NULL, NULL },
};

const struct cmd_entry cmd_demo_entry = {
	.name = "demo",
	.args = "[--rate N] [--swarms N] [--duration SECONDS] [--seed N]",
	.examples = "ifctl demo &                         # then: ifctl console\n"
		    "ifctl demo --duration 60 --rate 600 -o json",
	.see_also = "console, swarm list, cost budget, slo status",
	.summary = "run a small fleet (swarms, budgets, objectives; push, claim, complete, fail, usage; witnessed) for the console to show",
	.flags = CMD_NEEDS_BUS | CMD_MUTATES,
	.opts = demo_opts,
	.run = run_demo,
	.schema = "demo",
};
