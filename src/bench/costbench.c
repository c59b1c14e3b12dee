/* The cost benchmark: see costbench.h. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/costbench.h"
#include "core/budget.h"
#include "core/cost.h"
#include "core/costdb.h"
#include "core/price.h"
#include "core/util.h"

#define DAY_MS 86400000LL
#define RUNS 5

static const char *const bench_models[][2] = {
	{ "openai", "gpt-4o" }, { "openai", "gpt-4o-mini" }, { "openai", "gpt-4.1" },
	{ "anthropic", "claude-sonnet-4" }, { "anthropic", "claude-3-5-haiku" },
	{ "google", "gemini-2.5-pro" }, { "google", "gemini-2.5-flash" },
	{ "mistral", "mistral-small" },
};
static const char *const bench_ops[] = { "chat", "embed", "plan", "review" };

/* Record i of n, spread over the 30 days before now, priced at t. */
static void
bench_record(struct usage *u, size_t i, size_t n, int64_t now, const struct price_table *t)
{
	char buf[64];

	usage_init(u);
	snprintf(buf, sizeof buf, "r-%zu", i);
	u->id = xstrdup(buf);
	snprintf(buf, sizeof buf, "swarm-%zu", i % 50);
	u->swarm = xstrdup(buf);
	snprintf(buf, sizeof buf, "t-%zu", i / 10);
	u->task = xstrdup(buf);
	u->provider = xstrdup(bench_models[i % 8][0]);
	u->model = xstrdup(bench_models[i % 8][1]);
	u->operation = xstrdup(bench_ops[i % 4]);
	u->tokens_in = (int64_t)(500 + i % 2000);
	u->tokens_out = (int64_t)(100 + i % 700);
	u->tokens_cached = (int64_t)(i % 3 ? 0 : 800);
	u->latency_ms = (int64_t)(200 + i % 1500);
	u->at = now - 1 - (int64_t)((double)i / (double)n * (double)(30 * DAY_MS - 1000));
	usage_price(u, t, NULL);
}

/* Fill the index with n records through JSON and the parser, as a sync does. */
static enum status
fill_index(struct costdb *db, size_t n, int64_t now, const struct price_table *t, struct err *e)
{
	struct buf json = BUF_INIT;
	enum status st = costdb_begin(db, e);
	struct usage u, r;
	size_t i;

	for (i = 0; i < n && st == ST_OK; i++) {
		bench_record(&u, i, n, now, t);
		buf_reset(&json);
		usage_json(&u, &json);
		st = usage_parse(json.s, json.len, true, &r, e);
		if (st == ST_OK)
			st = costdb_add(db, &r, i + 1, e);
		usage_release(&r);
		usage_release(&u);
		if (st == ST_OK && (i + 1) % 50000 == 0 && (st = costdb_commit(db, e)) == ST_OK)
			st = costdb_begin(db, e);
	}
	if (st == ST_OK)
		st = costdb_commit(db, e);
	buf_release(&json);
	return st;
}

/* Time one report RUNS times: median and max in ms (nearest rank). */
static enum status
time_report(struct costdb *db, const char *what, enum cost_dim dim, int64_t interval,
	    int64_t now, size_t records, struct rowset *rs, struct err *e)
{
	struct cost_period p = { now - 30 * DAY_MS, now + 1 };
	int64_t us[RUNS];
	struct rowset *out = NULL;
	enum status st = ST_OK;
	size_t r, i;

	for (i = 0; i < RUNS && st == ST_OK; i++) {
		int64_t t0 = mono_us();
		st = interval ? costdb_history(db, &p, interval, NULL, &out, e)
			      : costdb_report(db, &p, dim, NULL, &out, NULL, e);
		us[i] = mono_us() - t0;
		rows_free(out);
		out = NULL;
	}
	if (st != ST_OK)
		return st;
	sort_i64(us, RUNS);
	r = rows_add(rs);
	rows_set(rs, r, 0, what);
	rows_set_u64(rs, r, 1, records);
	rows_set_int(rs, r, 2, RUNS);
	rows_set_num(rs, r, 3, (double)percentile(us, RUNS, 50) / 1000.0);
	rows_set_num(rs, r, 4, (double)us[RUNS - 1] / 1000.0);
	return ST_OK;
}

static enum status
bench_report(const struct cost_bench_opts *o, struct doc *out, struct err *e)
{
	struct price_table t = PRICE_TABLE_INIT;
	char tmp[] = "/tmp/ifctl-costbench-XXXXXX";
	struct rowset *rs = rows_new("report");
	struct costdb *db = NULL;
	const char *path = o->index_path;
	int64_t now = wall_ms(), t0;
	enum status st;
	int fd = -1;

	rows_col(rs, "report", COL_TEXT, 0);
	rows_col(rs, "records", COL_NUM, 0);
	rows_col(rs, "runs", COL_NUM, 0);
	rows_col(rs, "median_ms", COL_NUM, 0);
	rows_col(rs, "max_ms", COL_NUM, 0);
	if (path == NULL && (fd = mkstemp(tmp)) >= 0) {
		close(fd);
		path = tmp;
	}
	st = price_table_load(&t, NULL, "", e);
	if (st == ST_OK)
		st = costdb_open_path(path ? path : ":memory:", &db, e);
	if (st == ST_OK)
		st = costdb_clear(db, e);
	t0 = mono_ms();
	if (st == ST_OK)
		st = fill_index(db, o->records, now, &t, e);
	if (st == ST_OK) {
		size_t r = rows_add(rs);
		rows_set(rs, r, 0, "build (json, parse, add)");
		rows_set_u64(rs, r, 1, o->records);
		rows_set_int(rs, r, 2, 1);
		rows_set_num(rs, r, 3, (double)(mono_ms() - t0));
		rows_set_num(rs, r, 4, (double)(mono_ms() - t0));
	}
	if (st == ST_OK)
		st = time_report(db, "by swarm, 30d", DIM_SWARM, 0, now, o->records, rs, e);
	if (st == ST_OK)
		st = time_report(db, "by model, 30d", DIM_MODEL, 0, now, o->records, rs, e);
	if (st == ST_OK)
		st = time_report(db, "by operation, 30d", DIM_OPERATION, 0, now, o->records, rs, e);
	if (st == ST_OK)
		st = time_report(db, "history by day, 30d", DIM_SWARM, DAY_MS, now, o->records, rs, e);
	if (st == ST_OK)
		st = time_report(db, "by task, 30d (records)", DIM_TASK, 0, now, o->records, rs, e);
	costdb_close(db);
	price_table_release(&t);
	if (fd >= 0) {
		char *wal = xasprintf("%s-wal", tmp), *shm = xasprintf("%s-shm", tmp);
		unlink(tmp);
		unlink(wal);
		unlink(shm);
		free(wal);
		free(shm);
	}
	if (st == ST_OK)
		doc_add(out, rs);
	else
		rows_free(rs);
	return st;
}

/* --- concurrent spenders ------------------------------------------------- */

#define EST_MICROS 500	/* each reservation: more than any record below costs */

struct spend_run {
	const struct bus_opts *bo;
	const struct price_table *t;
	const char *swarm;
	atomic_size_t next;		/* attempts handed out */
	size_t total;
	atomic_llong settled_micros;
	atomic_size_t settled, refused, failed;
	struct err err;
	pthread_mutex_t mu;
};

/* One spender: reserve, then record (settle) the usage, until the attempts run out. */
static void *
spender(void *arg)
{
	struct spend_run *s = arg;
	struct err e = ERR_INIT;
	struct bus *b = NULL;
	struct opctx op;
	size_t i;

	opctx_init(&op, NULL);
	op.actor = "bench";
	if (bus_open(&b, s->bo, &e) != ST_OK) {
		atomic_fetch_add(&s->failed, 1);
		goto out;
	}
	while ((i = atomic_fetch_add(&s->next, 1)) < s->total) {
		struct budget bg;
		struct usage u;
		char id[48];
		enum status st = budget_reserve(b, &op, BUDGET_SWARM, s->swarm, EST_MICROS, &bg, &e);
		if (st == ST_OK || st == ST_REFUSED)
			budget_release(&bg);
		if (st == ST_REFUSED) {
			atomic_fetch_add(&s->refused, 1);
			continue;
		}
		usage_init(&u);
		snprintf(id, sizeof id, "b-%s-%zu", s->swarm, i);
		u.id = xstrdup(id);
		u.swarm = xstrdup(s->swarm);
		u.provider = xstrdup("openai");
		u.model = xstrdup("gpt-4o-mini");
		u.operation = xstrdup("chat");
		u.tokens_in = 1000;
		u.tokens_out = (int64_t)(400 + i % 100);	/* 390..449.4 micro-USD */
		u.at = wall_ms();
		if (st == ST_OK)
			st = cost_record(b, &op, s->t, &u, EST_MICROS, &e);
		if (st == ST_OK) {
			atomic_fetch_add(&s->settled, 1);
			atomic_fetch_add(&s->settled_micros, u.cost_micros);
		} else {
			atomic_fetch_add(&s->failed, 1);
			pthread_mutex_lock(&s->mu);
			s->err = e;
			pthread_mutex_unlock(&s->mu);
		}
		usage_release(&u);
	}
out:
	bus_close(b);
	opctx_release(&op);
	return NULL;
}

/* The settle row from the run and the final record. */
static void
settle_row(struct rowset *rs, const struct spend_run *s, int spenders, int64_t ms,
	   const struct budget *b)
{
	size_t r = rows_add(rs);
	int64_t over = b->spent + b->reserved - b->allocated;

	rows_set_int(rs, r, 0, spenders);
	rows_set_u64(rs, r, 1, atomic_load(&s->settled));
	rows_set_u64(rs, r, 2, atomic_load(&s->refused));
	rows_set_u64(rs, r, 3, atomic_load(&s->failed));
	rows_set_num(rs, r, 4, (double)ms / 1000.0);
	rows_set_num(rs, r, 5, ms ? (double)atomic_load(&s->settled) * 1000.0 / (double)ms : 0);
	rows_set_int(rs, r, 6, b->allocated);
	rows_set_int(rs, r, 7, b->spent);
	rows_set_int(rs, r, 8, (int64_t)atomic_load(&s->settled_micros));
	rows_set_int(rs, r, 9, b->reserved);
	rows_set_int(rs, r, 10, over > 0 ? over : 0);
}

static enum status
bench_settle(const struct bus_opts *bo, const struct cost_bench_opts *o, struct opctx *op,
	     struct doc *out, struct err *e)
{
	static const char *const cols[] = { "spenders", "settled", "refused", "failed", "seconds",
					    "records_per_s", "allocated_micros", "spent_micros",
					    "settled_sum_micros", "reserved_micros", "overdraw_micros" };
	struct price_table t = PRICE_TABLE_INIT;
	struct spend_run s = { .bo = bo, .t = &t, .total = o->settles,
			       .mu = PTHREAD_MUTEX_INITIALIZER };
	pthread_t *th = xcalloc((size_t)o->spenders, sizeof *th);
	struct rowset *rs = rows_new("settle");
	struct budget b = { 0 };
	struct bus *bus = NULL;
	char swarm[48], run[33];
	int64_t t0, ms;
	enum status st;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cols); i++)
		rows_col(rs, cols[i], COL_NUM, 0);
	trace_id_new(run);
	snprintf(swarm, sizeof swarm, "bench-%.12s", run);
	s.swarm = swarm;
	st = price_table_load(&t, NULL, "", e);
	if (st == ST_OK)
		st = bus_open(&bus, bo, e);
	if (st == ST_OK)	/* three quarters of what the attempts would hold */
		st = budget_allocate(bus, op, BUDGET_SWARM, swarm, NULL,
				     (int64_t)o->settles * EST_MICROS * 3 / 4, &b, e);
	if (st == ST_OK) {
		budget_release(&b);
		t0 = mono_ms();
		for (i = 0; i < (size_t)o->spenders; i++)
			pthread_create(&th[i], NULL, spender, &s);
		for (i = 0; i < (size_t)o->spenders; i++)
			pthread_join(th[i], NULL);
		ms = mono_ms() - t0;
		st = budget_get(bus, BUDGET_SWARM, swarm, &b, e);
		if (st == ST_OK)
			settle_row(rs, &s, o->spenders, ms, &b);
		budget_release(&b);
		char *key = budget_key(BUDGET_SWARM, swarm);
		bus_kv_delete(bus, BUDGET_BUCKET, key, NULL);
		free(key);
	}
	if (st == ST_OK && atomic_load(&s.failed))
		st = err_set(e, ST_FAIL, "%zu spenders' records failed: %s", atomic_load(&s.failed),
			     s.err.msg);
	bus_close(bus);
	price_table_release(&t);
	free(th);
	if (st == ST_OK)
		doc_add(out, rs);
	else
		rows_free(rs);
	return st;
}

enum status
cost_bench_run(const struct bus_opts *bo, const struct cost_bench_opts *o, struct opctx *op,
	       struct doc *out, struct err *e)
{
	enum status st = bench_report(o, out, e);

	why_add(op, "report", "median of 5", "each report over 30 days of the index, timed in "
		"process; nearest-rank median and the slowest run");
	why_add(op, "settle", "final record", "overdraw = spent + reserved - allocated of the "
		"budget read back after the run (0: none); settled_sum is what the spenders "
		"settled, which spent must equal");
	if (st == ST_OK)
		st = bench_settle(bo, o, op, out, e);
	return st;
}
