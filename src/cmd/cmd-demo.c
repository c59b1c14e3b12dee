/*
 * ifctl demo: a small fleet at work, so that the console has something
 * alive to show. It drives the coordinator's own operations (push, claim,
 * heartbeat, complete, fail, release), each witnessed under the task's
 * trace as any client's would be; it never writes what a pane shows
 * directly. Swarm profiles, budgets, costs and SLO samples join when those
 * parts exist (the governor, cost and chassis work).
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
#include "core/coord.h"
#include "core/util.h"

#define DEMO_TICK_MS 250
#define DEMO_QUEUE_MAX 30	/* pushes pause while this many wait */
#define DEMO_HEARTBEAT_MS 5000

static const struct {
	const char *id, *caps;
} demo_swarms[] = {
	{ "swarm-atlas", "code,review" }, { "swarm-borealis", "research,summarise" },
	{ "swarm-cygnus", "code,test" }, { "swarm-draco", "translate,summarise" },
	{ "swarm-eridani", "test,review" }, { "swarm-fornax", "research,code" },
};

static const struct {
	const char *title, *cap;
} demo_work[] = {
	{ "refactor the billing module", "code" }, { "review pull request 4182", "review" },
	{ "summarise the incident report", "summarise" }, { "translate the onboarding guide", "translate" },
	{ "run the integration suite", "test" }, { "compare vector index options", "research" },
	{ "fix the flaky login test", "test" }, { "write the release notes", "summarise" },
	{ "port the CLI to the new API", "code" }, { "audit the access policies", "review" },
	{ "survey pricing of three providers", "research" }, { "localise the error messages", "translate" },
};

static const char *const demo_failures[] = {
	"model timeout after 30s", "tool call refused by policy", "test suite red: 3 failures",
	"rate limited by the provider", "context window exceeded",
};

struct demo_swarm {
	char *caps[3];
	size_t ncaps;
	struct task held;	/* held.id set: working on it */
	int64_t done_at, beat_at;
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
	for (i = 0; i < d->nsw; i++)
		demo_swarm_tick(d, i, now);
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
	return coord_index_open(ctx->bus, &d->cc, &d->ix, &ctx->err);
}

static enum status
run_demo(struct cmd_ctx *ctx)
{
	struct demo d = { 0 };
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
	.summary = "run a small fleet (push, claim, complete, fail; witnessed) for the console to show",
	.flags = CMD_NEEDS_BUS | CMD_MUTATES,
	.opts = demo_opts,
	.run = run_demo,
	.examples =
		"ifctl demo --duration 60 --rate 120\n"
		"ifctl demo --swarms 3 --seed 7 --duration 10 -o json",
	.see_also = "console, task stats, make run",
	.schema = "demo",
};
