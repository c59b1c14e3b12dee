/*
 * ifctl optimise record|settle|suggest|prices: metering into IF_COST, the
 * settler of usage swarms report, cheaper models and swarms, the price table.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/gov-cmd.h"
#include "cmd/follow.h"
#include "core/cost.h"
#include "core/governor.h"
#include "core/costdb.h"
#include "core/json.h"
#include "core/ledger.h"
#include "core/optimise.h"
#include "core/price.h"
#include "core/util.h"

/* The price table in force: --prices FILE, else cost.prices over the defaults. */
static enum status
load_prices(struct cmd_ctx *ctx, struct price_table *t)
{
	return price_table_load(t, &ctx->cfg, cmd_opt(ctx, "prices"), &ctx->err);
}

/* --- record -------------------------------------------------------------- */

/* An integer option into *dst (left as it is when absent). */
static enum status
opt_count(struct cmd_ctx *ctx, const char *name, int64_t max, int64_t *dst)
{
	if (cmd_opt(ctx, name) == NULL)
		return ST_OK;
	return cmd_opt_int(ctx, name, 0, max, 0, dst);
}

/* The record's own price from --price-* options, when any is given. */
static enum status
opt_prices(struct cmd_ctx *ctx, struct usage *u)
{
	static const char *const names[] = { "price-in", "price-out", "price-cached",
					     "price-hourly" };
	int64_t *slot[] = { &u->price.input, &u->price.output, &u->price.cached, &u->price.hourly };
	bool cached = false;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		const char *v = cmd_opt(ctx, names[i]);
		if (v == NULL)
			continue;
		if (money_parse(v, names[i], slot[i], &ctx->err) != ST_OK)
			return ctx->err.code = ST_USAGE;
		u->has_price = true;
		cached |= i == 2;
	}
	if (u->has_price && !cached)
		u->price.cached = u->price.input;
	return ST_OK;
}

/* The record a command line describes: --json, or the options. */
static enum status
record_from_opts(struct cmd_ctx *ctx, struct usage *u)
{
	char *json = NULL, id[40];
	enum status st;

	usage_init(u);
	if ((st = cmd_opt_json(ctx, "json", &json)) != ST_OK)
		return st;
	if (json) {
		st = usage_parse(json, strlen(json), false, u, &ctx->err);
		free(json);
		return st == ST_OK ? ST_OK : (ctx->err.code = st);
	}
	trace_id_new(id);
	u->id = xstrdup(cmd_opt(ctx, "id") ? cmd_opt(ctx, "id") : id);
	u->swarm = xstrdup_or_null(cmd_opt(ctx, "swarm"));
	u->task = xstrdup_or_null(cmd_opt(ctx, "task"));
	u->trace = xstrdup(ctx->op.trace_id);
	u->provider = xstrdup_or_null(cmd_opt(ctx, "provider"));
	u->model = xstrdup_or_null(cmd_opt(ctx, "model"));
	u->operation = xstrdup_or_null(cmd_opt(ctx, "operation"));
	u->at = wall_ms();
	if ((st = opt_count(ctx, "tokens-in", COST_TOKENS_MAX, &u->tokens_in)) != ST_OK ||
	    (st = opt_count(ctx, "tokens-out", COST_TOKENS_MAX, &u->tokens_out)) != ST_OK ||
	    (st = opt_count(ctx, "tokens-cached", COST_TOKENS_MAX, &u->tokens_cached)) != ST_OK ||
	    (st = opt_count(ctx, "latency-ms", COST_MS_MAX, &u->latency_ms)) != ST_OK ||
	    (st = opt_count(ctx, "duration-ms", COST_MS_MAX, &u->duration_ms)) != ST_OK ||
	    (st = opt_count(ctx, "at", JSON_INT_MAX, &u->at)) != ST_OK ||
	    (st = opt_prices(ctx, u)) != ST_OK)
		return st;
	if (u->swarm == NULL || u->provider == NULL || u->model == NULL)
		return err_set(&ctx->err, ST_USAGE, "optimise record needs --swarm, --provider and "
			       "--model (or --json RECORD)");
	if ((st = usage_check(u, &ctx->err)) != ST_OK)
		return ctx->err.code = ST_USAGE;
	return ST_OK;
}

static enum status
validate_record(struct cmd_ctx *ctx)
{
	struct usage u;
	int64_t held = 0;
	enum status st = record_from_opts(ctx, &u);

	usage_release(&u);
	if (st == ST_OK && cmd_opt(ctx, "held") &&
	    money_parse(cmd_opt(ctx, "held"), "--held", &held, &ctx->err) != ST_OK)
		st = ctx->err.code = ST_USAGE;
	return st;
}

static enum status
record(struct cmd_ctx *ctx)
{
	struct price_table t = PRICE_TABLE_INIT;
	struct usage u;
	int64_t held = 0;
	enum status st;

	if ((st = record_from_opts(ctx, &u)) == ST_OK && (st = load_prices(ctx, &t)) == ST_OK) {
		if (cmd_opt(ctx, "held"))
			money_parse(cmd_opt(ctx, "held"), "--held", &held, NULL);
		st = cost_record(ctx->bus, &ctx->op, &t, &u, held, &ctx->err);
	}
	if (st == ST_OK && !ctx->op.falsify) {
		struct rowset *rs = usage_view();
		rs->single = true;
		usage_view_add(rs, &u);
		doc_add(&ctx->out, rs);
		why_add(&ctx->op, "price", u.has_price ? "the record's own" : t.source,
			"%s/%s: %lld in, %lld out, %lld cached tokens, %lld ms run time",
			u.provider, u.model, (long long)u.tokens_in, (long long)u.tokens_out,
			(long long)u.tokens_cached, (long long)u.duration_ms);
	}
	usage_release(&u);
	price_table_release(&t);
	return st;
}

/* --- settle -------------------------------------------------------------- */

/* The settler: usage messages arrive on a bus thread and are settled there. */
struct settler {
	pthread_mutex_t mu;
	struct cmd_ctx *ctx;
	struct price_table t;
	struct costdb *db;
	struct follow f;
	uint64_t last;		/* stop here (0: --follow, never) */
	uint64_t got, settled, refused, skipped;
	int64_t progress_ms;
	enum status st;
	struct err err;
	bool lines;		/* one line per message settled or refused */
};

/* The line a followed settlement prints. */
static void
settle_line(struct settler *s, uint64_t seq, const char *subject, bool refused)
{
	struct buf line = BUF_INIT;

	buf_addc(&line, '{');
	json_kv_int(&line, "seq", (long long)seq);
	json_kv_str(&line, "subject", subject);
	json_kv_str(&line, "outcome", refused ? "refused" : "settled");
	buf_addc(&line, '}');
	follow_push(&s->f, line.s);
	buf_release(&line);
}

static void
settle_event(void *arg, const struct bus_kv_event *ev)
{
	struct settler *s = arg;
	bool refused = false, usage;

	pthread_mutex_lock(&s->mu);
	if (s->st == ST_OK && !ev->snapshot_done && ev->revision > s->got) {
		usage = ev->key && has_prefix(ev->key, COST_USAGE_PREFIX);
		s->st = cost_settle_message(s->ctx->bus, &s->ctx->op, &s->t, ev->key ? ev->key : "",
					    ev->revision, ev->value, ev->len, &refused, &s->err);
		if (s->st == ST_OK)
			s->st = costdb_set_pos(s->db, "settle_seq", ev->revision, &s->err);
		s->got = ev->revision;
		s->progress_ms = mono_ms();
		if (!usage)
			s->skipped++;
		else if (refused)
			s->refused++;
		else
			s->settled++;
		if (usage && s->lines)
			settle_line(s, ev->revision, ev->key, refused);
		if (s->st != ST_OK || (s->last && s->got >= s->last))
			follow_finish(&s->f);
	}
	pthread_mutex_unlock(&s->mu);
}

/* Without --follow: give up when the stream stops delivering for the bus timeout. */
static int64_t
settle_idle(struct evloop *l, uint64_t id, void *arg)
{
	struct settler *s = arg;

	(void)l;
	(void)id;
	pthread_mutex_lock(&s->mu);
	if (s->st == ST_OK && mono_ms() - s->progress_ms > bus_timeout_ms(s->ctx->bus) + 5000) {
		s->st = err_set(&s->err, ST_TIMEOUT, "settling: nothing after message %llu of %s",
				(unsigned long long)s->got, COST_STREAM);
		follow_finish(&s->f);
	}
	pthread_mutex_unlock(&s->mu);
	return 500;
}

/* Watch IF_COST from the position on and settle until done or interrupted. */
static enum status
settle_watch(struct cmd_ctx *ctx, struct settler *s)
{
	struct bus_watch *w = NULL;
	enum status st;

	if ((st = follow_open(&s->f, &ctx->err)) != ST_OK)
		return st;
	s->progress_ms = mono_ms();
	st = bus_stream_watch(ctx->bus, COST_STREAM, "if.v1.cost.>", s->got + 1, settle_event, s,
			      &w, &ctx->err);
	if (st == ST_OK && s->last)
		evloop_add_timer(s->f.loop, 500, settle_idle, s);
	if (st == ST_OK)
		st = follow_run(&s->f, "settle", &ctx->err);
	bus_watch_free(w);
	follow_close(&s->f);
	if (st == ST_INTERRUPTED)
		st = ST_OK;	/* Ctrl-C ends a --follow */
	return st;
}

static enum status
settle(struct cmd_ctx *ctx)
{
	struct settler s = { .mu = PTHREAD_MUTEX_INITIALIZER, .ctx = ctx, .t = PRICE_TABLE_INIT,
			     .st = ST_OK };
	struct bus_stream_stat ss;
	bool follow = cmd_flag(ctx, "follow");
	enum status st;

	if ((st = load_prices(ctx, &s.t)) != ST_OK ||
	    (st = costdb_open(&ctx->cfg, &s.db, &ctx->err)) != ST_OK ||
	    (st = costdb_get_pos(s.db, "settle_seq", &s.got, &ctx->err)) != ST_OK ||
	    (st = bus_stream_stat(ctx->bus, COST_STREAM, &ss, &ctx->err)) != ST_OK)
		goto out;
	if (cmd_opt(ctx, "from") && (st = cmd_opt_int(ctx, "from", 1, INT64_MAX, 1,
						      (int64_t *)&s.got)) == ST_OK)
		s.got--;
	if (st != ST_OK)
		goto out;
	if (s.got + 1 < ss.first_seq)
		s.got = ss.first_seq ? ss.first_seq - 1 : 0;
	s.last = follow ? 0 : ss.last_seq;
	s.lines = follow;
	if (ctx->witness)
		ledger_writer_start(ctx->witness);	/* entries land as the settler goes */
	why_add(&ctx->op, "position", "", "from message %llu of %s (the index's settle_seq)",
		(unsigned long long)s.got + 1, COST_STREAM);
	if (follow || s.got < s.last)
		st = settle_watch(ctx, &s);
	if (st == ST_OK && (st = s.st) != ST_OK)
		ctx->err = s.err;
	if (st == ST_OK && !follow)
		doc_add(&ctx->out, cost_settle_view(s.settled, s.refused, s.skipped, s.got));
out:
	costdb_close(s.db);
	price_table_release(&s.t);
	return st;
}

/* Usage settles against budgets under the policy's rules (warning threshold, breaker). */
static enum status run_record(struct cmd_ctx *ctx) { return gov_cmd_with_rules(ctx, record); }
static enum status run_settle(struct cmd_ctx *ctx) { return gov_cmd_with_rules(ctx, settle); }

/* --- suggest ------------------------------------------------------------- */

/* The swarm candidates: --swarms FILE, else IF_SWARMS. */
static enum status
load_candidates(struct cmd_ctx *ctx, struct swarm_candidate **v, size_t *n)
{
	const char *file = cmd_opt(ctx, "swarms");
	size_t bad = 0, len;
	char *text = NULL;
	enum status st;

	if (file) {
		if ((st = read_file(file, READ_MAX_JSON, READ_TEXT, &text, &len, &ctx->err)) == ST_OK)
			st = swarm_candidates_parse(text, len, v, n, &bad, &ctx->err);
		free(text);
	} else {
		struct gov_fleet f;
		st = gov_cmd_fleet(ctx, NULL, 0, &f, NULL);
		if (st == ST_NO_SCHEMA || st == ST_NOT_FOUND) {	/* no registry: no candidates */
			err_clear(&ctx->err);
			*v = xcalloc(1, sizeof **v);
			*n = 0;
			st = ST_OK;
		} else if (st == ST_OK) {
			swarm_candidates_from_fleet(&f, v, n);
			bad = f.swarms.nbad;
			gov_fleet_release(&f);
		}
	}
	if (st == ST_OK && bad)
		session_notice(ctx->session, NOTICE_WARN, "ifctl: warning: %zu swarm profile%s "
			       "could not be read and %s left out", bad, bad == 1 ? "" : "s",
			       bad == 1 ? "is" : "are");
	return st;
}

static enum status
validate_suggest(struct cmd_ctx *ctx)
{
	const char *kind = cmd_opt(ctx, "kind"), *per = cmd_opt(ctx, "period");
	struct cost_period p;

	if (kind && strcmp(kind, "model") && strcmp(kind, "swarm") && strcmp(kind, "all"))
		return err_set(&ctx->err, ST_USAGE, "--kind: '%s' is not model, swarm or all", kind);
	return cost_period_parse(per ? per : "7d", wall_ms(), &p, &ctx->err);
}

/* Run the suggestions of one kind over the period's sums. */
static enum status
suggest_kind(struct cmd_ctx *ctx, struct costdb *db, const struct cost_period *p,
	     enum cost_dim dim, const struct price_table *t, struct rowset *out)
{
	struct swarm_candidate *v = NULL;
	struct cost_sum *s = NULL;
	size_t n = 0, nv = 0;
	int64_t floor_pct = 0;
	enum status st;

	if ((st = costdb_sums(db, p, dim, &s, &n, &ctx->err)) != ST_OK)
		return st;
	if (dim == DIM_MODEL) {
		optimise_models(t, s, n, &ctx->op, out);
	} else if ((st = cmd_opt_int(ctx, "min-reputation", 0, 100, 0, &floor_pct)) == ST_OK &&
		   (st = load_candidates(ctx, &v, &nv)) == ST_OK) {
		optimise_swarms(v, nv, s, n, (double)floor_pct / 100.0, &ctx->op, out);
	}
	swarm_candidates_free(v, nv);
	cost_sums_free(s, n);
	return st;
}

static enum status
run_suggest(struct cmd_ctx *ctx)
{
	const char *kind = cmd_opt(ctx, "kind"), *per = cmd_opt(ctx, "period");
	struct price_table t = PRICE_TABLE_INIT;
	struct rowset *out = optimise_view();
	struct costdb *db = NULL;
	struct cost_period p;
	uint64_t added, skipped;
	enum status st;

	if (kind == NULL)
		kind = "all";
	if ((st = cost_period_parse(per ? per : "7d", wall_ms(), &p, &ctx->err)) != ST_OK ||
	    (st = load_prices(ctx, &t)) != ST_OK ||
	    (st = costdb_open(&ctx->cfg, &db, &ctx->err)) != ST_OK)
		goto out;
	if (!cmd_flag(ctx, "no-sync") &&
	    (st = costdb_sync(ctx->bus, db, &added, &skipped, &ctx->err)) != ST_OK)
		goto out;
	if (strcmp(kind, "swarm") != 0)
		st = suggest_kind(ctx, db, &p, DIM_MODEL, &t, out);
	if (st == ST_OK && strcmp(kind, "model") != 0)
		st = suggest_kind(ctx, db, &p, DIM_SWARM, &t, out);
out:
	if (st == ST_OK) {
		doc_add(&ctx->out, out);
		out = NULL;
	}
	rows_free(out);
	costdb_close(db);
	price_table_release(&t);
	return st;
}

/* --- prices -------------------------------------------------------------- */

static enum status
run_prices(struct cmd_ctx *ctx)
{
	struct price_table t = PRICE_TABLE_INIT;
	enum status st;

	if (cmd_flag(ctx, "defaults")) {
		ctx->out.text = xstrdup(price_defaults_yaml);
		return ST_OK;
	}
	if ((st = load_prices(ctx, &t)) == ST_OK) {
		doc_add(&ctx->out, price_view(&t));
		why_add(&ctx->op, "source", t.source, "%zu models; prices in USD per million "
			"tokens, hourly in USD per hour", t.n);
	}
	price_table_release(&t);
	return st;
}

/* --- entries ------------------------------------------------------------- */

#define OPT_END { NULL, 0, NULL, NULL }
#define PRICES_OPT { "prices", 0, "FILE", "price table over the defaults (default: cost.prices)" }

static const struct cmd_opt record_opts[] = {
	{ "swarm", 0, "ID", "the swarm that did the work" },
	{ "provider", 0, "NAME", "the model's provider (openai, anthropic, ...)" },
	{ "model", 0, "NAME", "the model as the price table names it" },
	{ "task", 0, "ID", "the task the work was for" },
	{ "operation", 0, "NAME", "what was done (chat, embed, ...)" },
	{ "tokens-in", 0, "N", "input tokens at the full price" },
	{ "tokens-out", 0, "N", "output tokens" },
	{ "tokens-cached", 0, "N", "input tokens served from the cache" },
	{ "latency-ms", 0, "MS", "how long the call took" },
	{ "duration-ms", 0, "MS", "run time billed at the model's hourly rate" },
	{ "at", 0, "MS", "when (ms since the epoch; default now)" },
	{ "id", 0, "ID", "the record's id (default: generated); the same id is recorded once" },
	{ "held", 0, "AMOUNT", "USD reserved for this work, given back as it settles" },
	{ "price-in", 0, "USD", "price per million input tokens (a model not in the table)" },
	{ "price-out", 0, "USD", "price per million output tokens" },
	{ "price-cached", 0, "USD", "price per million cached tokens (default: --price-in)" },
	{ "price-hourly", 0, "USD", "price per hour of run time" },
	{ "json", 0, "JSON|@FILE", "the whole usage record (ifctl-protocol(7)) instead" },
	PRICES_OPT,
	OPT_END,
};
static const struct cmd_opt settle_opts[] = {
	{ "follow", 'f', NULL, "keep settling what arrives, one line each, until Ctrl-C" },
	{ "from", 0, "SEQ", "start at this stream sequence instead of the saved position" },
	PRICES_OPT,
	OPT_END,
};
static const struct cmd_opt suggest_opts[] = {
	{ "period", 0, "PERIOD", "the recent work to look at (default 7d)" },
	{ "kind", 0, "KIND", "model, swarm or all (default)" },
	{ "swarms", 0, "FILE", "swarm profiles (a JSON array) instead of IF_SWARMS" },
	{ "min-reputation", 0, "PCT", "suggest no swarm with a reputation under PCT % (0-100)" },
	{ "no-sync", 0, NULL, "use the local index as it is" },
	PRICES_OPT,
	OPT_END,
};
static const struct cmd_opt prices_opts[] = {
	{ "defaults", 0, NULL, "print the built-in table as YAML (a start for cost.prices)" },
	PRICES_OPT,
	OPT_END,
};

/* Help of each subcommand: examples, see also, the schema of its -o json. */
#define opt_record_help .examples = "ifctl optimise record --swarm gen-c --provider openai --model gpt-4o --tokens-in 1200 --tokens-out 300\n" \
     "ifctl optimise record --json @fixtures/cost/usage-a1.json -o json\n" \
     "ifctl optimise record --swarm gen-c --provider acme --model m1 --tokens-in 10 --price-in 2 --price-out 6", \
     .see_also = "optimise settle, cost report, ifctl-protocol(7) COST AND BUDGETS", .schema = "usage"
#define opt_settle_help .examples = "ifctl optimise settle\n" \
     "ifctl optimise settle --follow -o jsonl\n" \
     "ifctl optimise settle --from 1 -o json", \
     .see_also = "optimise record, cost report, ifctl-protocol(7) COST AND BUDGETS", .schema = "cost-settle"
#define opt_suggest_help .examples = "ifctl optimise suggest\n" \
     "ifctl optimise suggest --period 30d --kind model\n" \
     "ifctl optimise suggest --swarms fixtures/cost/swarms.json -o json", \
     .see_also = "cost report, optimise prices", .schema = "suggestion-row[]"
#define opt_prices_help .examples = "ifctl optimise prices\n" \
     "ifctl optimise prices --defaults > prices.yaml   # a start for cost.prices\n" \
     "ifctl optimise prices --prices fixtures/cost/prices.yaml -o json", \
     .see_also = "optimise record, cost.prices in ifctl-config(5)", .schema = "price-row[]"

#define SUB(n, a, s, f, o, r, v) \
	static const struct cmd_entry opt_##n##_entry = { \
		.name = #n, .args = a, .summary = s, .flags = (f), .opts = o, \
		.validate = v, .run = r, opt_##n##_help }

SUB(record, "--swarm ID --provider P --model M [--tokens-in N] [--tokens-out N] "
    "[--tokens-cached N] [--task ID] | --json RECORD",
    "price one operation's usage, settle it against the budgets, record it in IF_COST",
    CMD_NEEDS_BUS | CMD_MUTATES, record_opts, run_record, validate_record);
SUB(settle, "[--follow] [--from SEQ]",
    "settle the usage swarms published on if.v1.cost.usage.<swarm>",
    CMD_NEEDS_BUS | CMD_MUTATES, settle_opts, run_settle, NULL);
SUB(suggest, "[--period P] [--kind model|swarm|all] [--swarms FILE]",
    "cheaper qualified models and swarms for the recent work, with the saving",
    CMD_NEEDS_BUS, suggest_opts, run_suggest, validate_suggest);
SUB(prices, "[--prices FILE] [--defaults]", "the price table in force", 0, prices_opts,
    run_prices, NULL);

static const struct cmd_entry *const optimise_subs[] = {
	&opt_record_entry, &opt_settle_entry, &opt_suggest_entry, &opt_prices_entry, NULL,
};

const struct cmd_entry cmd_optimise_entry = {
	.name = "optimise",
	.alias = "optimize",
	.args = "record|settle|suggest|prices",
	.summary = "metering: record and settle usage, suggest cheaper models and swarms, prices",
	.subs = optimise_subs,
	.examples =
		"ifctl optimise record --swarm gen-c --provider openai --model gpt-4o --tokens-in 1200\n"
		"ifctl optimise settle\n"
		"ifctl optimise suggest --period 30d",
	.see_also = "cost, ifctl-protocol(7) COST AND BUDGETS",
};
