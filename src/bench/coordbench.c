/* The coordinator benchmark: see coordbench.h. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/coordbench.h"
#include "core/coord.h"
#include "core/ledger.h"
#include "core/util.h"

/*
 * The run's own bucket and ledger stream, named with a random run id so
 * that two benchmarks on one server never share (or drop) each other's, and
 * deleted at the end of the run.
 */
struct bench_names {
	char bucket[48];	/* IF_BENCH_TASKS_<run> */
	char stream[48];	/* IF_BENCH_COORD_WITNESS_<run> */
	char subject[64];	/* if.v1.bench.<run>.coord.witness */
};

/* Fresh names for one run. */
static void
bench_names_new(struct bench_names *n)
{
	char run[33];

	trace_id_new(run);
	snprintf(n->bucket, sizeof n->bucket, "IF_BENCH_TASKS_%.12s", run);
	snprintf(n->stream, sizeof n->stream, "IF_BENCH_COORD_WITNESS_%.12s", run);
	snprintf(n->subject, sizeof n->subject, "if.v1.bench.%.12s.coord.witness", run);
}

/* A growable sample of microsecond figures. */
struct sample {
	int64_t *v;
	size_t n, cap;
	pthread_mutex_t mu;
};

static void
sample_add(struct sample *s, int64_t us)
{
	pthread_mutex_lock(&s->mu);
	xgrow(&s->v, &s->cap, s->n + 1, sizeof *s->v);
	s->v[s->n++] = us;
	pthread_mutex_unlock(&s->mu);
}

/* One row: what, samples, p50, p95, p99, p99.9, max (ms). */
static void
latency_row(struct rowset *rs, const char *what, struct sample *s)
{
	size_t r = rows_add(rs);
	static const double ps[] = { 50, 95, 99, 99.9 };
	size_t i;

	rows_set(rs, r, 0, what);
	rows_setf(rs, r, 1, "%zu", s->n);
	if (s->n == 0)
		return;
	sort_i64(s->v, s->n);
	for (i = 0; i < ARRAY_SIZE(ps); i++)
		rows_setf(rs, r, 2 + i, "%.3f", (double)percentile(s->v, s->n, ps[i]) / 1000.0);
	rows_setf(rs, r, 6, "%.3f", (double)s->v[s->n - 1] / 1000.0);
}

/* A column of a result table. */
struct bench_col {
	const char *name;
	enum col_kind kind;
};

/* A row set with the columns of a table. */
static struct rowset *
table_set(const char *name, const struct bench_col *cols, size_t n)
{
	struct rowset *rs = rows_new(name);
	size_t i;

	for (i = 0; i < n; i++)
		rows_col(rs, cols[i].name, cols[i].kind, 0);
	return rs;
}

/* Latency percentiles of one measurement per row. */
static struct rowset *
latency_set(const char *name)
{
	static const struct bench_col cols[] = {
		{ "what", COL_TEXT }, { "samples", COL_NUM }, { "p50_ms", COL_NUM },
		{ "p95_ms", COL_NUM }, { "p99_ms", COL_NUM }, { "p999_ms", COL_NUM },
		{ "max_ms", COL_NUM },
	};

	return table_set(name, cols, ARRAY_SIZE(cols));
}

/* Shared state of one run. */
struct bench {
	const struct bus_opts *bo;
	struct bench_names names;	/* of this run */
	struct coord_cfg cfg;
	atomic_bool stop;
	atomic_size_t pushed, claimed, errors;
	atomic_int pushing;		/* pusher threads still running */
	struct err conn_err;		/* the first connection that failed (under log_mu) */
	atomic_llong last_claim_us;	/* when the latest claim succeeded */
	struct sample claim_us, push_us, dispatch_us;
	int64_t rate_gap_us;		/* 0: unthrottled */
	struct coord_index *ix;		/* shared by the claimers of this process */
	struct ledger_writer *witness;	/* NULL: nothing witnessed */
	pthread_mutex_t log_mu;
	char **log_ids;			/* every (task, claimer) a claimer was told it owns */
	size_t nlog, logcap;
};

/* A connection of its own for a thread; a failure is kept for the run's result. */
static struct bus *
bench_connect(struct bench *bn, struct err *e)
{
	struct bus *b = NULL;

	if (bus_open(&b, bn->bo, e) == ST_OK)
		return b;
	atomic_fetch_add(&bn->errors, 1);
	pthread_mutex_lock(&bn->log_mu);
	if (bn->conn_err.code == ST_OK)
		bn->conn_err = *e;
	pthread_mutex_unlock(&bn->log_mu);
	return NULL;
}

static void
opctx_quiet(struct opctx *op, struct bench *bn)
{
	opctx_init(op, NULL);
	op->actor = "bench";
	op->witness = bn->witness;
}

/* Pushes tasks for swarm "bench" with the push time in the payload. */
static void *
pusher(void *arg)
{
	struct bench *bn = arg;
	struct err e = ERR_INIT;
	struct bus *b = bench_connect(bn, &e);
	int64_t next = mono_us();
	char payload[64];

	while (b && !atomic_load(&bn->stop)) {
		struct task_spec s = { .to = "bench", .priority = 5, .payload = payload };
		struct opctx op;
		struct task t;
		bool existed;
		int64_t t0;

		if (bn->rate_gap_us) {
			int64_t now = mono_us();
			if (now < next)
				usleep((useconds_t)(next - now));
			next += bn->rate_gap_us;
		}
		t0 = mono_us();
		snprintf(payload, sizeof payload, "{\"t0_us\":%lld}", (long long)t0);
		opctx_quiet(&op, bn);
		if (coord_push(b, &bn->cfg, &op, &s, &t, &existed, &e) == ST_OK) {
			sample_add(&bn->push_us, mono_us() - t0);
			atomic_fetch_add(&bn->pushed, 1);
		} else {
			atomic_fetch_add(&bn->errors, 1);
		}
		task_release(&t);
		opctx_release(&op);
	}
	bus_close(b);
	atomic_fetch_sub(&bn->pushing, 1);
	return NULL;
}

/* Start a pusher thread, counted in bn->pushing until it ends; 1 if it started. */
static int
pusher_start(struct bench *bn, pthread_t *th)
{
	atomic_fetch_add(&bn->pushing, 1);
	if (pthread_create(th, NULL, pusher, bn) == 0)
		return 1;
	atomic_fetch_sub(&bn->pushing, 1);
	return 0;
}

static void
log_claim(struct bench *bn, const struct task *t)
{
	pthread_mutex_lock(&bn->log_mu);
	xgrow(&bn->log_ids, &bn->logcap, bn->nlog + 1, sizeof *bn->log_ids);
	bn->log_ids[bn->nlog++] = xstrdup(t->id);
	pthread_mutex_unlock(&bn->log_mu);
}

/* Claims as swarm "bench" until stopped (or the pool is empty, when draining). */
struct claimer_arg {
	struct bench *bn;
	bool drain;		/* stop when nothing is left */
	bool dispatch;		/* measure push-to-claim from the payload */
};

static void *
claimer_main(void *arg)
{
	struct claimer_arg *ca = arg;
	struct bench *bn = ca->bn;
	struct err e = ERR_INIT;
	struct bus *b = bench_connect(bn, &e);
	struct claimer c = { .swarm = "bench" };
	int idle = 0;

	while (b && !atomic_load(&bn->stop)) {
		struct opctx op;
		struct task t;
		int64_t t0 = mono_us();
		enum status st;

		opctx_quiet(&op, bn);
		st = coord_claim(b, bn->ix, &bn->cfg, &op, &c, &t, &e);
		opctx_release(&op);
		if (st == ST_OK) {
			int64_t t1 = mono_us();
			const char *p = t.payload ? strstr(t.payload, "\"t0_us\":") : NULL;
			sample_add(&bn->claim_us, t1 - t0);
			atomic_store(&bn->last_claim_us, t1);
			if (ca->dispatch && p)
				sample_add(&bn->dispatch_us, t1 - atoll(p + 8));
			atomic_fetch_add(&bn->claimed, 1);
			log_claim(bn, &t);
			task_release(&t);
			idle = 0;
		} else if (st == ST_NOT_FOUND) {
			if (ca->drain && ++idle > 50)
				break;
			coord_index_wait(bn->ix, 20);
		} else {
			atomic_fetch_add(&bn->errors, 1);
		}
	}
	bus_close(b);
	return NULL;
}

static void
bench_reset(struct bench *bn)
{
	atomic_store(&bn->stop, false);
	atomic_store(&bn->pushed, 0);
	atomic_store(&bn->claimed, 0);
	bn->claim_us.n = bn->push_us.n = bn->dispatch_us.n = 0;
}

/* Sequential bare KV get and update on one key: the floor. */
static enum status
measure_floor(struct bus *b, const char *bucket, size_t n, struct rowset *rs, struct sample *get,
	      struct sample *upd, struct err *e)
{
	struct bus_kv_entry ent = BUS_KV_ENTRY_INIT;
	uint64_t rev = 0;
	enum status st;
	size_t i;

	if ((st = bus_kv_put(b, bucket, "floor", "{}", 2, &rev, e)) != ST_OK)
		return st;
	for (i = 0; i < n && st == ST_OK; i++) {
		int64_t t0 = mono_us();
		st = bus_kv_get(b, bucket, "floor", &ent, e);
		sample_add(get, mono_us() - t0);
		t0 = mono_us();
		if (st == ST_OK)
			st = bus_kv_update(b, bucket, "floor", "{}", 2, rev, &rev, e);
		sample_add(upd, mono_us() - t0);
	}
	buf_release(&ent.value);
	latency_row(rs, "bare KV get", get);
	latency_row(rs, "bare KV update (CAS)", upd);
	return st;
}

static void
run_threads(struct bench *bn, int pushers, int claimers, bool drain, bool dispatch,
	    int64_t ms)
{
	pthread_t th[128];
	struct claimer_arg ca = { bn, drain, dispatch };
	int i, n = 0;

	for (i = 0; i < pushers; i++)	/* a thread that cannot start is left out */
		n += pusher_start(bn, &th[n]);
	for (i = 0; i < claimers; i++)
		n += pthread_create(&th[n], NULL, claimer_main, &ca) == 0;
	if (ms > 0) {
		usleep((useconds_t)(ms * 1000));
		atomic_store(&bn->stop, true);
	}
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);
}

/* Preload the pool with 8 pushers, unthrottled; returns the tasks pushed. */
static size_t
preload(struct bench *bn, size_t tasks)
{
	bn->rate_gap_us = 0;
	bench_reset(bn);
	{
		pthread_t th[8];
		int i, n = 0;
		for (i = 0; i < 8; i++)
			n += pusher_start(bn, &th[n]);
		/* until enough, or every pusher gave up (it could not connect) */
		while (atomic_load(&bn->pushing) > 0 && atomic_load(&bn->pushed) < tasks)
			usleep(2000);
		atomic_store(&bn->stop, true);
		for (i = 0; i < n; i++)
			pthread_join(th[i], NULL);
	}
	return atomic_load(&bn->pushed);
}

/* Final-record check: every claim logged once, every task claimed once. */
struct verdict {
	size_t records, claimed, double_claims, unclaimed;
};

static void
judge(void *arg, const char *json, size_t len)
{
	struct verdict *v = arg;
	struct task t;
	size_t i, claims = 0;

	if (task_from_json(json, len, &t, NULL) != ST_OK)
		return;
	v->records++;
	for (i = 0; i < t.nhist; i++)
		if (coord_hist_event(&t, i) == COORD_EV_CLAIM)
			claims++;
	if (t.state == TASK_CLAIMED)
		v->claimed++;
	else
		v->unclaimed++;
	if (claims > 1)
		v->double_claims++;
	task_release(&t);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static enum status
correctness(struct bench *bn, struct bus *b, size_t pushed, struct rowset *rs, struct err *e)
{
	struct coord_index *fresh = NULL;
	struct verdict v = { 0 };
	size_t i, dup_logs = 0, r;
	enum status st;

	st = coord_index_open(b, &bn->cfg, &fresh, e);	/* the records as the server has them */
	if (st != ST_OK)
		return st;
	coord_index_each(fresh, judge, &v);
	coord_index_free(fresh);
	qsort(bn->log_ids, bn->nlog, sizeof *bn->log_ids, cmp_str);
	for (i = 1; i < bn->nlog; i++)
		dup_logs += strcmp(bn->log_ids[i - 1], bn->log_ids[i]) == 0;
	r = rows_add(rs);
	rows_setf(rs, r, 0, "%zu", pushed);
	rows_setf(rs, r, 1, "%zu", v.records);
	rows_setf(rs, r, 2, "%zu", v.claimed);
	rows_setf(rs, r, 3, "%zu", v.double_claims + dup_logs);
	rows_setf(rs, r, 4, "%zu", v.unclaimed + (pushed > v.records ? pushed - v.records : 0));
	/* records > pushed would be tasks nobody pushed: count them as errors. */
	rows_setf(rs, r, 5, "%zu", atomic_load(&bn->errors));
	if (bn->witness) {
		struct err fe = ERR_INIT;
		if (ledger_flush(bn->witness, &fe) != ST_OK)
			return err_set(e, fe.code, "witness: %s", fe.msg);
		/* One coordinator entry per push and per claim. */
		rows_setf(rs, r, 6, "%llu of %zu", (unsigned long long)bn->witness->done,
			  pushed + bn->nlog);
	} else {
		rows_set(rs, r, 6, "off");
	}
	return ST_OK;
}

/* Claims per second for each number of claimers. */
static struct rowset *
throughput_set(void)
{
	static const struct bench_col cols[] = {
		{ "claimers", COL_NUM }, { "tasks", COL_NUM }, { "seconds", COL_NUM },
		{ "claims_per_s", COL_NUM }, { "claim_p50_ms", COL_NUM }, { "claim_p99_ms", COL_NUM },
	};

	return table_set("throughput", cols, ARRAY_SIZE(cols));
}

/*
 * Preload a pool, then drain it with n claimers; one throughput row. The
 * time runs from the start to the last successful claim, so the claimers'
 * final polling of an empty queue is not counted. Returns the tasks pushed.
 */
static size_t
throughput_phase(struct bench *bn, int claimers, size_t tasks, struct rowset *rs)
{
	size_t pushed = preload(bn, tasks), r;
	int64_t t0;
	double secs;

	bench_reset(bn);
	t0 = mono_us();
	atomic_store(&bn->last_claim_us, t0);
	run_threads(bn, 0, claimers, true, false, 0);
	secs = (double)(atomic_load(&bn->last_claim_us) - t0) / 1e6;
	if (secs <= 0)
		secs = 1e-6;
	r = rows_add(rs);
	rows_setf(rs, r, 0, "%d", claimers);
	rows_setf(rs, r, 1, "%zu", atomic_load(&bn->claimed));
	rows_setf(rs, r, 2, "%.2f", secs);
	rows_setf(rs, r, 3, "%.0f", (double)atomic_load(&bn->claimed) / secs);
	sort_i64(bn->claim_us.v, bn->claim_us.n);
	if (bn->claim_us.n) {
		rows_setf(rs, r, 4, "%.3f", percentile(bn->claim_us.v, bn->claim_us.n, 50) / 1000.0);
		rows_setf(rs, r, 5, "%.3f", percentile(bn->claim_us.v, bn->claim_us.n, 99) / 1000.0);
	}
	return pushed;
}

/*
 * The floor at the same rate, right after a rate phase: bare KV updates of
 * one key (no parse, event or witness) every gap_us for ms. A run whose
 * claims miss while this row misses too was slowed by the machine, not by
 * the coordinator's own work.
 */
static void
floor_rate(struct bench *bn, struct rowset *lat, int64_t gap_us, int64_t ms, const char *label)
{
	struct sample s = { .mu = PTHREAD_MUTEX_INITIALIZER };
	struct err e = ERR_INIT;
	struct bus *b = bench_connect(bn, &e);
	int64_t next = mono_us(), end = next + ms * 1000;
	uint64_t rev = 0;
	char what[64];

	if (b && bus_kv_put(b, bn->names.bucket, "floor", "{}", 2, &rev, &e) == ST_OK) {
		while (mono_us() < end) {
			int64_t now = mono_us(), t0;
			if (now < next)
				usleep((useconds_t)(next - now));
			next += gap_us;
			t0 = mono_us();
			if (bus_kv_update(b, bn->names.bucket, "floor", "{}", 2, rev, &rev, &e) != ST_OK)
				break;
			sample_add(&s, mono_us() - t0);
		}
		bus_kv_delete(b, bn->names.bucket, "floor", NULL);
	}
	bus_close(b);
	snprintf(what, sizeof what, "bare KV update %s", label);
	latency_row(lat, what, &s);
	free(s.v);
}

/* Returns the tasks pushed. */
static size_t
rate_phase(struct bench *bn, struct rowset *lat, int rate, int64_t ms, const char *label)
{
	char what[64];
	size_t pushed;

	bench_reset(bn);
	bn->rate_gap_us = rate ? 1000000 / rate : 0;
	run_threads(bn, 1, 1, false, true, ms);
	snprintf(what, sizeof what, "claim %s", label);
	latency_row(lat, what, &bn->claim_us);
	snprintf(what, sizeof what, "push %s", label);
	latency_row(lat, what, &bn->push_us);
	snprintf(what, sizeof what, "push-to-swarm %s", label);
	latency_row(lat, what, &bn->dispatch_us);
	pushed = atomic_load(&bn->pushed);
	/* Leave nothing queued for the next phase. */
	bench_reset(bn);
	run_threads(bn, 0, 8, true, false, 0);
	if (rate)
		floor_rate(bn, lat, bn->rate_gap_us, ms / 2 > 2000 ? ms / 2 : 2000, label);
	return pushed;
}

/*
 * The benchmark's own ledger: a stream of its own (deleted after the run)
 * and one group-commit writer with its own connection, as a long-running
 * coordinator process would have.
 */
static enum status
witness_open(struct bench *bn, struct bus *b, struct ledger_writer *w, struct bus **wb,
	     struct err *e)
{
	struct bus_stream_def def = { bn->names.stream, { bn->names.subject, NULL },
				      "coordinator benchmark's ledger (deleted after the run)",
				      false, 0, -1 };
	bool created;
	enum status st;

	if ((st = bus_stream_ensure(b, &def, &created, e)) != ST_OK ||
	    (st = bus_open(wb, bn->bo, e)) != ST_OK)
		return st;
	ledger_writer_init(w, *wb);
	w->stream = bn->names.stream;
	w->subject = bn->names.subject;
	ledger_writer_start(w);
	bn->witness = w;
	return ST_OK;
}

/* The correctness rows: what the final records say. */
static struct rowset *
correctness_set(void)
{
	static const struct bench_col cols[] = {
		{ "pushed", COL_NUM }, { "records", COL_NUM }, { "claimed", COL_NUM },
		{ "double_claims", COL_NUM }, { "lost", COL_NUM }, { "errors", COL_NUM },
		{ "witnessed", COL_TEXT },
	};

	return table_set("correctness", cols, ARRAY_SIZE(cols));
}

/* Claims are never completed: the lease must outlast the run. */
static void
bench_init(struct bench *bn, const struct bus_opts *bo)
{
	bn->bo = bo;
	bench_names_new(&bn->names);
	bn->cfg = (struct coord_cfg){ .bucket = bn->names.bucket, .lease_ms = 24LL * 3600 * 1000,
				     .max_attempts = 5, .retry_backoff_ms = 1000 };
	pthread_mutex_init(&bn->claim_us.mu, NULL);
	pthread_mutex_init(&bn->push_us.mu, NULL);
	pthread_mutex_init(&bn->dispatch_us.mu, NULL);
	pthread_mutex_init(&bn->log_mu, NULL);
}

/* Free what the run collected. */
static void
bench_release(struct bench *bn)
{
	strv_free(bn->log_ids, bn->nlog);
	free(bn->claim_us.v);
	free(bn->push_us.v);
	free(bn->dispatch_us.v);
}

/* The latency phases, then throughput with 1, 8 and 64 claimers; tasks pushed. */
static size_t
run_phases(struct bench *bn, const struct coord_bench_opts *o, struct rowset *lat,
	   struct rowset *thr)
{
	static const int claimers[] = { 1, 8, 64 };
	static const size_t share[] = { 20, 30, 50 };	/* % of the pool per phase */
	size_t pushed = 0, i;
	char label[32];

	snprintf(label, sizeof label, "@%d/s", o->rate);
	pushed += rate_phase(bn, lat, o->rate, o->rate_ms, label);
	pushed += rate_phase(bn, lat, 0, o->saturate_ms, "saturated");
	for (i = 0; i < ARRAY_SIZE(claimers); i++)
		pushed += throughput_phase(bn, claimers[i], o->tasks * share[i] / 100, thr);
	return pushed;
}

enum status
coord_bench_run(const struct bus_opts *bo, const struct coord_bench_opts *o, struct doc *out,
		struct err *e)
{
	struct bench bn = { 0 };
	struct bus_kv_def def = { NULL, "coordinator benchmark (deleted after the run)", 8 };
	struct sample get = { .mu = PTHREAD_MUTEX_INITIALIZER }, upd = { .mu = PTHREAD_MUTEX_INITIALIZER };
	struct rowset *floor = latency_set("floor"), *lat = latency_set("latency");
	struct rowset *thr = throughput_set(), *ok = correctness_set();
	struct bus *b = NULL, *wb = NULL;
	struct ledger_writer w;
	bool created;
	enum status st;

	bench_init(&bn, bo);
	def.bucket = bn.names.bucket;
	if ((st = bus_open(&b, bo, e)) != ST_OK)
		goto out;
	if (o->witness && (st = witness_open(&bn, b, &w, &wb, e)) != ST_OK)
		goto out;
	if ((st = bus_kv_ensure(b, &def, &created, e)) != ST_OK)
		goto out;
	if ((st = measure_floor(b, bn.names.bucket, o->floor_samples, floor, &get, &upd, e)) != ST_OK)
		goto out;
	bus_kv_delete(b, bn.names.bucket, "floor", NULL);
	if ((st = coord_index_open(b, &bn.cfg, &bn.ix, e)) != ST_OK)
		goto out;
	st = correctness(&bn, b, run_phases(&bn, o, lat, thr), ok, e);
	if (st == ST_OK && bn.conn_err.code != ST_OK)	/* a thread ran without a connection */
		st = err_set(e, bn.conn_err.code, "a benchmark thread: %s", bn.conn_err.msg);
out:
	coord_index_free(bn.ix);
	if (bn.witness) {
		ledger_writer_release(bn.witness);
		bus_close(wb);
		bus_stream_drop(b, bn.names.stream, NULL);
	}
	if (b)
		bus_kv_drop(b, bn.names.bucket, NULL);
	bus_close(b);
	doc_add(out, floor);
	doc_add(out, lat);
	doc_add(out, thr);
	doc_add(out, ok);
	bench_release(&bn);
	free(get.v);
	free(upd.v);
	return st;
}
