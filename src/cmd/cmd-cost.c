/*
 * ifctl cost report|budget|history|allocate|reserve|settle|release|sync:
 * spend from the cost index, budgets in IF_BUDGETS.
 */
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/gov-cmd.h"
#include "bench/costbench.h"
#include "core/budget.h"
#include "core/costdb.h"
#include "core/price.h"
#include "core/swarm.h"
#include "core/task.h"
#include "core/util.h"

#define HOUR_MS 3600000LL

/* --- the index ----------------------------------------------------------- */

/*
 * Open the cost index and, unless --no-sync, bring it up to date with
 * IF_COST first (connecting then).
 */
static enum status
open_index(struct cmd_ctx *ctx, struct costdb **db)
{
	uint64_t added = 0, skipped = 0;
	enum status st;

	if ((st = costdb_open(&ctx->cfg, db, &ctx->err)) != ST_OK)
		return st;
	if (cmd_flag(ctx, "no-sync"))
		return ST_OK;
	if ((st = cmd_connect(ctx)) == ST_OK)
		st = costdb_sync(ctx->bus, *db, &added, &skipped, &ctx->err);
	if (st == ST_OK)
		why_add(&ctx->op, "index", "synced", "%llu settled records copied from %s into the "
			"local index (%llu other messages skipped)", (unsigned long long)added,
			COST_STREAM, (unsigned long long)skipped);
	return st;
}

/* --period (default def), relative to now. */
static enum status
opt_period(struct cmd_ctx *ctx, const char *def, struct cost_period *p)
{
	const char *v = cmd_opt(ctx, "period");

	return cost_period_parse(v ? v : def, wall_ms(), p, &ctx->err);
}

/* --swarm, when given, is a swarm id. */
static enum status
opt_swarm(struct cmd_ctx *ctx, const char **swarm)
{
	*swarm = cmd_opt(ctx, "swarm");
	if (*swarm && !task_id_valid(*swarm))
		return err_set(&ctx->err, ST_USAGE, "--swarm: '%s' is not a swarm id", *swarm);
	return ST_OK;
}

/* --csv is -o csv. */
static void
opt_csv(struct cmd_ctx *ctx)
{
	if (cmd_flag(ctx, "csv"))
		ctx->format = OUT_CSV;
}

/* --- report, history ----------------------------------------------------- */

static enum status
validate_report(struct cmd_ctx *ctx)
{
	struct cost_period p;
	enum cost_dim d;
	const char *by = cmd_opt(ctx, "by"), *sw;
	enum status st;

	if (by && !cost_dim_parse(by, &d))
		return err_set(&ctx->err, ST_USAGE, "--by: '%s' is not one of swarm, model, "
			       "provider, task, operation", by);
	if ((st = opt_swarm(ctx, &sw)) != ST_OK)
		return st;
	return opt_period(ctx, "24h", &p);
}

/* The tables' last row: the sums of the report's rows (structured output has none). */
static void
add_total(struct rowset *rs)
{
	static const enum report_col summed[] = { RP_RECORDS, RP_TOKENS_IN, RP_TOKENS_OUT,
						  RP_TOKENS_CACHED, RP_COST_MICROS };
	int64_t sum[ARRAY_SIZE(summed)] = { 0 }, v;
	size_t r, i, t;

	if (rs->nrows == 0)
		return;
	for (r = 0; r < rs->nrows; r++)
		for (i = 0; i < ARRAY_SIZE(summed); i++)
			if (rows_get_i64(rs, r, summed[i], &v))
				sum[i] += v;
	t = rows_add(rs);
	rows_set(rs, t, RP_KEY, "TOTAL");
	for (i = 0; i < ARRAY_SIZE(summed); i++)
		rows_set_int(rs, t, summed[i], sum[i]);
	money_cell(rs, t, RP_COST, sum[ARRAY_SIZE(summed) - 1]);
	rows_set(rs, t, RP_SHARE, "100.0");
}

static enum status
run_report(struct cmd_ctx *ctx)
{
	const char *by = cmd_opt(ctx, "by"), *swarm;
	struct costdb *db = NULL;
	struct rowset *rs = NULL;
	struct cost_period p;
	enum cost_dim dim = DIM_SWARM;
	struct buf t = BUF_INIT;
	int64_t total = 0;
	enum status st;

	if (by)
		cost_dim_parse(by, &dim);
	opt_swarm(ctx, &swarm);
	opt_csv(ctx);
	if ((st = opt_period(ctx, "24h", &p)) == ST_OK && (st = open_index(ctx, &db)) == ST_OK)
		st = costdb_report(db, &p, dim, swarm, &rs, &total, &ctx->err);
	if (st == ST_OK) {
		money_format(&t, total);
		why_add(&ctx->op, "period", cmd_opt(ctx, "period") ? cmd_opt(ctx, "period") : "24h",
			"from %lld to %lld (ms since the epoch, end excluded)", (long long)p.since,
			(long long)p.until);
		why_add(&ctx->op, "total", t.s, "USD over %zu %s groups; whole hours from the hourly "
			"rollup, the partial hours at either end from the records", rs->nrows,
			cost_dim_name(dim));
		if (ctx->format == OUT_TABLE || ctx->format == OUT_WIDE)
			add_total(rs);
		doc_add(&ctx->out, rs);
	}
	buf_release(&t);
	costdb_close(db);
	return st;
}

/* --interval hour|day in ms. */
static enum status
opt_interval(struct cmd_ctx *ctx, int64_t *ms)
{
	const char *v = cmd_opt(ctx, "interval");

	if (v == NULL || strcmp(v, "hour") == 0)
		*ms = HOUR_MS;
	else if (strcmp(v, "day") == 0)
		*ms = 24 * HOUR_MS;
	else
		return err_set(&ctx->err, ST_USAGE, "--interval: '%s' is not hour or day", v);
	return ST_OK;
}

static enum status
validate_history(struct cmd_ctx *ctx)
{
	struct cost_period p;
	const char *sw;
	int64_t ms;
	enum status st;

	if ((st = opt_interval(ctx, &ms)) != ST_OK || (st = opt_swarm(ctx, &sw)) != ST_OK)
		return st;
	return opt_period(ctx, ms == HOUR_MS ? "24h" : "30d", &p);
}

static enum status
run_history(struct cmd_ctx *ctx)
{
	struct costdb *db = NULL;
	struct rowset *rs = NULL;
	struct cost_period p;
	const char *swarm;
	int64_t ms;
	enum status st;

	opt_interval(ctx, &ms);
	opt_swarm(ctx, &swarm);
	opt_csv(ctx);
	if ((st = opt_period(ctx, ms == HOUR_MS ? "24h" : "30d", &p)) == ST_OK &&
	    (st = open_index(ctx, &db)) == ST_OK)
		st = costdb_history(db, &p, ms, swarm, &rs, &ctx->err);
	if (st == ST_OK)
		doc_add(&ctx->out, rs);
	costdb_close(db);
	return st;
}

/* --- budget -------------------------------------------------------------- */

/* The spend of the last hour per key (swarm or task), from the index. */
static int64_t
burn_of(const struct cost_sum *s, size_t n, const char *key)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(s[i].key, key) == 0)
			return s[i].cost_micros;
	return 0;
}

static enum status
run_budget(struct cmd_ctx *ctx)
{
	struct cost_period hour = { wall_ms() - HOUR_MS, wall_ms() + 1 };
	struct cost_sum *sw = NULL, *tk = NULL;
	size_t nsw = 0, ntk = 0, n = 0, bad = 0, i;
	struct budget *v = NULL;
	struct costdb *db = NULL;
	struct rowset *rs;
	enum status st;

	if (ctx->argc > 1)
		return err_set(&ctx->err, ST_USAGE, "cost budget takes at most one swarm id");
	if ((st = cmd_connect(ctx)) != ST_OK || (st = budget_list(ctx->bus, &v, &n, &bad,
								  &ctx->err)) != ST_OK)
		return st;
	if (open_index(ctx, &db) == ST_OK) {
		costdb_sums(db, &hour, DIM_SWARM, &sw, &nsw, NULL);
		costdb_sums(db, &hour, DIM_TASK, &tk, &ntk, NULL);
	}
	rs = budget_view();
	for (i = 0; i < n; i++) {
		if (ctx->argc == 1 && (v[i].swarm == NULL || strcmp(v[i].swarm, ctx->argv[0])))
			continue;
		budget_view_add(rs, &v[i], v[i].kind == BUDGET_SWARM ? burn_of(sw, nsw, v[i].id)
								     : burn_of(tk, ntk, v[i].id));
	}
	why_add(&ctx->op, "burn rate", "last hour", "USD spent in the last hour (cost index); "
		"time to exhaustion = remaining / burn rate");
	if (bad)
		session_notice(ctx->session, NOTICE_WARN, "ifctl: warning: %zu budget record%s in "
			       "%s %s invalid and left out", bad, bad == 1 ? "" : "s", BUDGET_BUCKET,
			       bad == 1 ? "is" : "are");
	if (ctx->argc == 1 && rs->nrows == 0) {
		st = err_set(&ctx->err, ST_NOT_FOUND, "no budget for swarm '%s' (set one with "
			     "'ifctl cost allocate %s AMOUNT')", ctx->argv[0], ctx->argv[0]);
		rows_free(rs);
	} else {
		doc_add(&ctx->out, rs);
	}
	for (i = 0; i < n; i++)
		budget_release(&v[i]);
	free(v);
	cost_sums_free(sw, nsw);
	cost_sums_free(tk, ntk);
	costdb_close(db);
	return st;
}

/*
 * The budget a change names: ID (a swarm) or --task ID, and the amount
 * (the second argument, or the option named amount_opt); ST_USAGE otherwise.
 */
static enum status
change_args(struct cmd_ctx *ctx, const char *amount_opt, enum budget_kind *kind,
	    const char **id, int64_t *amount)
{
	const char *task = cmd_opt(ctx, "task"), *text;
	int npos = task ? 0 : 1;

	*amount = 0;
	*kind = task ? BUDGET_TASK : BUDGET_SWARM;
	*id = task ? task : ctx->argc > 0 ? ctx->argv[0] : NULL;
	if (*id == NULL || !task_id_valid(*id))
		return err_set(&ctx->err, ST_USAGE, "cost %s needs a swarm id (or --task ID)",
			       ctx->entry->name);
	text = ctx->argc > npos ? ctx->argv[npos] : cmd_opt(ctx, amount_opt);
	if (ctx->argc > npos + 1 || text == NULL)
		return err_set(&ctx->err, ST_USAGE, "cost %s needs one amount in USD (such as "
			       "12.50)", ctx->entry->name);
	if (money_parse(text, amount_opt, amount, &ctx->err) != ST_OK)
		return ctx->err.code = ST_USAGE;
	return ST_OK;
}

/* The budget after a change, as the output. */
static void
show_budget(struct cmd_ctx *ctx, const struct budget *b)
{
	struct rowset *rs = budget_view();

	rs->single = true;
	budget_view_add(rs, b, -1);
	doc_add(&ctx->out, rs);
}

/* After a change: show the budget (unless falsified) and free it. */
static enum status
changed(struct cmd_ctx *ctx, enum status st, struct budget *b)
{
	if (st == ST_OK && !ctx->op.falsify)
		show_budget(ctx, b);
	if (st == ST_OK)
		budget_release(b);
	return st;
}

static enum status
validate_allocate(struct cmd_ctx *ctx)
{
	enum budget_kind k;
	const char *id, *sw = cmd_opt(ctx, "swarm");
	int64_t a;

	if (sw && !task_id_valid(sw))
		return err_set(&ctx->err, ST_USAGE, "--swarm: '%s' is not a swarm id", sw);
	return change_args(ctx, "budget", &k, &id, &a);
}

/*
 * A new allocation does not close a circuit breaker the governor opened
 * (budget exhausted, failures): a check under --mode=falsify, a warning
 * otherwise, naming the command that does.
 */
static void
breaker_notice(struct cmd_ctx *ctx, const char *id)
{
	struct swarm_state s;
	struct buf d = BUF_INIT;
	bool open;

	if (swarm_state_get(ctx->bus, id, &s, NULL) != ST_OK)
		return;	/* unregistered, or no state: nothing to say */
	open = s.retired || s.breaker == BREAKER_OPEN;
	if (s.retired)
		buf_addf(&d, "swarm '%s' is retired: no allocation lets it claim", id);
	else if (open)
		buf_addf(&d, "swarm '%s''s circuit breaker is open (%s); an allocation does not "
			 "close it: 'ifctl governor reset %s --budget USD' does", id,
			 s.reason ? s.reason : "no reason recorded", id);
	if (ctx->op.falsify)
		check(&ctx->op, "swarm may claim after the change", open ? ST_REFUSED : ST_OK, NULL,
		      open ? d.s : breaker_name(s.breaker));
	else if (open)
		session_notice(ctx->session, NOTICE_WARN, "ifctl: warning: %s", d.s);
	swarm_state_release(&s);
	buf_release(&d);
}

static enum status
allocate(struct cmd_ctx *ctx)
{
	enum budget_kind kind;
	struct budget b;
	const char *id;
	int64_t amount;
	enum status st;

	if ((st = change_args(ctx, "budget", &kind, &id, &amount)) != ST_OK)
		return st;
	if (ctx->op.falsify &&
	    (st = budget_check_allocation(ctx->bus, &ctx->op, kind, id, amount, &ctx->err)) != ST_OK)
		return st;
	st = budget_allocate(ctx->bus, &ctx->op, kind, id, cmd_opt(ctx, "swarm"), amount, &b,
			     &ctx->err);
	if (st == ST_OK && kind == BUDGET_SWARM)
		breaker_notice(ctx, id);
	return changed(ctx, st, &b);
}

static enum status
validate_amount(struct cmd_ctx *ctx)
{
	enum budget_kind k;
	const char *id;
	int64_t a;

	return change_args(ctx, "amount", &k, &id, &a);
}

/* reserve, release: one amount against one budget. */
static enum status
run_hold(struct cmd_ctx *ctx, bool reserve)
{
	enum budget_kind kind;
	struct budget b;
	const char *id;
	int64_t amount;
	enum status st;

	if ((st = change_args(ctx, "amount", &kind, &id, &amount)) != ST_OK)
		return st;
	st = reserve ? budget_reserve(ctx->bus, &ctx->op, kind, id, amount, &b, &ctx->err)
		     : budget_unreserve(ctx->bus, &ctx->op, kind, id, amount, &b, &ctx->err);
	if (st == ST_REFUSED)
		why_add(&ctx->op, "budget", id, "spent %lld + reserved %lld + %lld micro-USD would "
			"pass the allocation of %lld", (long long)b.spent, (long long)b.reserved,
			(long long)amount, (long long)b.allocated);
	if (st == ST_REFUSED)
		budget_release(&b);
	return changed(ctx, st, &b);
}

static enum status hold(struct cmd_ctx *ctx) { return run_hold(ctx, true); }
static enum status unhold(struct cmd_ctx *ctx) { return run_hold(ctx, false); }

/* Changes of budgets under the policy's rules (its warning threshold, the breaker). */
static enum status run_reserve(struct cmd_ctx *ctx) { return gov_cmd_with_rules(ctx, hold); }
static enum status run_unreserve(struct cmd_ctx *ctx) { return gov_cmd_with_rules(ctx, unhold); }

static enum status
validate_settle(struct cmd_ctx *ctx)
{
	int64_t held = 0;
	enum status st = validate_amount(ctx);

	if (st == ST_OK && cmd_opt(ctx, "held") &&
	    money_parse(cmd_opt(ctx, "held"), "--held", &held, &ctx->err) != ST_OK)
		st = ctx->err.code = ST_USAGE;
	return st;
}

static enum status
settle(struct cmd_ctx *ctx)
{
	enum budget_kind kind;
	struct budget b;
	const char *id;
	int64_t amount, held = 0;
	enum status st;

	if ((st = validate_settle(ctx)) != ST_OK)
		return st;
	change_args(ctx, "amount", &kind, &id, &amount);
	if (cmd_opt(ctx, "held"))
		money_parse(cmd_opt(ctx, "held"), "--held", &held, NULL);
	st = budget_settle(ctx->bus, &ctx->op, kind, id, held, amount, 0, &b, NULL, &ctx->err);
	return changed(ctx, st, &b);
}

static enum status run_allocate(struct cmd_ctx *ctx) { return gov_cmd_with_rules(ctx, allocate); }
static enum status run_settle(struct cmd_ctx *ctx) { return gov_cmd_with_rules(ctx, settle); }

/* --- sync, bench --------------------------------------------------------- */

static enum status
run_sync(struct cmd_ctx *ctx)
{
	struct costdb *db = NULL;
	uint64_t added = 0, skipped = 0, last = 0;
	enum status st;

	if ((st = costdb_open(&ctx->cfg, &db, &ctx->err)) != ST_OK)
		return st;
	if (cmd_flag(ctx, "rebuild"))
		st = costdb_clear(db, &ctx->err);
	if (st == ST_OK && (st = cmd_connect(ctx)) == ST_OK)
		st = costdb_sync(ctx->bus, db, &added, &skipped, &ctx->err);
	if (st == ST_OK)
		st = costdb_last(db, &last, &ctx->err);
	if (st == ST_OK)
		doc_add(&ctx->out, cost_sync_view(added, skipped, last));
	costdb_close(db);
	return st;
}

static enum status
run_bench(struct cmd_ctx *ctx)
{
	struct cost_bench_opts o = { 1000000, 16, 4000, NULL };
	struct bus_opts bo;
	int64_t records, spenders, settles;
	enum status st;

	if ((st = cmd_opt_int(ctx, "records", 1000, 100000000, 1000000, &records)) != ST_OK ||
	    (st = cmd_opt_int(ctx, "spenders", 1, 256, 16, &spenders)) != ST_OK ||
	    (st = cmd_opt_int(ctx, "settles", 16, 10000000, 4000, &settles)) != ST_OK)
		return st;
	o.records = (size_t)records;
	o.spenders = (int)spenders;
	o.settles = (size_t)settles;
	o.index_path = cmd_opt(ctx, "index");
	bus_opts_from_config(&bo, &ctx->cfg);
	bo.timeout_ms = bo.timeout_ms < 10000 ? 10000 : bo.timeout_ms;
	st = cost_bench_run(&bo, &o, &ctx->op, &ctx->out, &ctx->err);
	bus_opts_release(&bo);
	return st;
}

/* --- entries ------------------------------------------------------------- */

#define OPT_END { NULL, 0, NULL, NULL }
#define SYNC_OPT { "no-sync", 0, NULL, "report from the local index as it is, without the server" }

static const struct cmd_opt report_opts[] = {
	{ "period", 0, "PERIOD", "1h, 24h (default), 7d, 30d, any Nm/Nh/Nd/Nw, or FROM..TO" },
	{ "by", 0, "DIM", "group by swarm (default), model, provider, task or operation" },
	{ "swarm", 0, "ID", "only this swarm's spend" },
	{ "csv", 0, NULL, "the same as -o csv (RFC 4180, opens in a spreadsheet)" },
	SYNC_OPT,
	OPT_END,
};
static const struct cmd_opt history_opts[] = {
	{ "interval", 0, "hour|day", "one row per hour (default) or per day" },
	{ "period", 0, "PERIOD", "default 24h by hour, 30d by day; or FROM..TO" },
	{ "swarm", 0, "ID", "only this swarm's spend" },
	{ "csv", 0, NULL, "the same as -o csv" },
	SYNC_OPT,
	OPT_END,
};
static const struct cmd_opt budget_opts[] = { SYNC_OPT, OPT_END };
static const struct cmd_opt allocate_opts[] = {
	{ "budget", 0, "AMOUNT", "the allocation in USD (or the second argument), e.g. 12.50" },
	{ "task", 0, "ID", "a task's budget (task.ID) instead of a swarm's" },
	{ "swarm", 0, "ID", "with --task: the swarm the task's budget belongs to" },
	OPT_END,
};
static const struct cmd_opt amount_opts[] = {
	{ "amount", 0, "AMOUNT", "USD (or the second argument)" },
	{ "task", 0, "ID", "a task's budget instead of a swarm's" },
	OPT_END,
};
static const struct cmd_opt settle_opts[] = {
	{ "amount", 0, "AMOUNT", "USD spent (or the second argument)" },
	{ "held", 0, "AMOUNT", "USD reserved for the work, given back (default 0)" },
	{ "task", 0, "ID", "a task's budget instead of a swarm's" },
	OPT_END,
};
static const struct cmd_opt sync_opts[] = {
	{ "rebuild", 0, NULL, "empty the cost index and copy the whole stream again" },
	OPT_END,
};
static const struct cmd_opt bench_opts[] = {
	{ "records", 0, "N", "records in the report benchmark's index (default 1000000)" },
	{ "spenders", 0, "N", "concurrent spenders (default 16)" },
	{ "settles", 0, "N", "usage records settled by them in all (default 4000)" },
	{ "index", 0, "FILE", "build the report index there (kept) instead of a temporary file" },
	OPT_END,
};

/* Help of each subcommand: examples, see also, the schema of its -o json. */
#define cost_report_help .examples = "ifctl cost report\n" \
     "ifctl cost report --period 7d --by model\n" \
     "ifctl cost report --period 30d --csv > spend.csv", \
     .see_also = "cost history, cost budget, optimise suggest", .schema = "cost-report-row[]"
#define cost_budget_help .examples = "ifctl cost budget\n" \
     "ifctl cost budget gen-c -o json", \
     .see_also = "cost allocate, cost report, governor reset", .schema = "budget-row[]"
#define cost_history_help .examples = "ifctl cost history\n" \
     "ifctl cost history --interval day --period 30d --csv > daily.csv", \
     .see_also = "cost report", .schema = "cost-history-row[]"
#define cost_allocate_help .examples = "ifctl cost allocate gen-c 50\n" \
     "ifctl cost allocate --task t-42 --swarm gen-c 2.50\n" \
     "ifctl cost allocate gen-c 5 --mode=falsify   # which running tasks would be refused", \
     .see_also = "cost budget, cost reserve, ifctl-protocol(7) COST AND BUDGETS", .schema = "budget-row"
#define cost_reserve_help .examples = "ifctl cost reserve gen-c 1.50\n" \
     "ifctl cost reserve --task t-42 0.25 -o json", \
     .see_also = "cost settle, cost release, cost budget", .schema = "budget-row"
#define cost_settle_help .examples = "ifctl cost settle gen-c 0.80 --held 1.50\n" \
     "ifctl cost settle --task t-42 0.20", \
     .see_also = "cost reserve, optimise record", .schema = "budget-row"
#define cost_release_help .examples = "ifctl cost release gen-c 1.50\n" \
     "ifctl cost release --task t-42 0.25", \
     .see_also = "cost reserve, cost budget", .schema = "budget-row"
#define cost_sync_help .examples = "ifctl cost sync\n" \
     "ifctl cost sync --rebuild -o json", \
     .see_also = "cost report, index rebuild", .schema = "cost-sync"
#define cost_bench_help .examples = "ifctl cost bench --records 10000 --spenders 4 --settles 400\n" \
     "ifctl cost bench", \
     .see_also = "make bench, cost report", .schema = NULL

#define SUB(n, a, s, f, o, r, v) \
	static const struct cmd_entry cost_##n##_entry = { \
		.name = #n, .args = a, .summary = s, .flags = (f), .opts = o, \
		.validate = v, .run = r, cost_##n##_help }

SUB(report, "[--period P] [--by swarm|model|provider|task|operation] [--swarm ID] [--csv]",
    "spend over a period, grouped, most expensive first", 0, report_opts, run_report,
    validate_report);
SUB(budget, "[SWARM]", "allocated, reserved, spent, remaining, burn rate, time to exhaustion",
    0, budget_opts, run_budget, NULL);
SUB(history, "[--interval hour|day] [--period P] [--swarm ID] [--csv]",
    "spend per hour or per day", 0, history_opts, run_history, validate_history);
SUB(allocate, "SWARM AMOUNT | --task ID [--swarm S] AMOUNT",
    "set a budget's allocation (--mode=falsify: which running tasks would be refused)",
    CMD_NEEDS_BUS | CMD_MUTATES, allocate_opts, run_allocate, validate_allocate);
SUB(reserve, "SWARM AMOUNT | --task ID AMOUNT", "hold an amount before work (refused past "
    "the allocation)", CMD_NEEDS_BUS | CMD_MUTATES, amount_opts, run_reserve, validate_amount);
SUB(settle, "SWARM AMOUNT [--held AMOUNT] | --task ID AMOUNT",
    "after work: give the hold back, count what was spent", CMD_NEEDS_BUS | CMD_MUTATES,
    settle_opts, run_settle, validate_settle);
SUB(release, "SWARM AMOUNT | --task ID AMOUNT", "give a hold back unspent",
    CMD_NEEDS_BUS | CMD_MUTATES, amount_opts, run_unreserve, validate_amount);
SUB(sync, "[--rebuild]", "copy new settled records of IF_COST into the local cost index",
    CMD_NO_WITNESS, sync_opts, run_sync, NULL);
SUB(bench, "[--records N] [--spenders N] [--settles N]",
    "measure report speed over N records and settlement by concurrent spenders",
    CMD_NEEDS_BUS | CMD_WRITES, bench_opts, run_bench, NULL);

static const struct cmd_entry *const cost_subs[] = {
	&cost_report_entry, &cost_budget_entry, &cost_history_entry, &cost_allocate_entry,
	&cost_reserve_entry, &cost_settle_entry, &cost_release_entry, &cost_sync_entry,
	&cost_bench_entry, NULL,
};

const struct cmd_entry cmd_cost_entry = {
	.name = "cost",
	.args = "report|budget|history|allocate|reserve|settle|release|sync|bench",
	.summary = "spend reports, history and budgets (reserve, settle, release)",
	.subs = cost_subs,
	.examples =
		"ifctl cost report --period 7d --by model\n"
		"ifctl cost budget\n"
		"ifctl cost allocate gen-c 50",
	.see_also = "optimise, governor reset, ifctl-workflows(7)",
};
