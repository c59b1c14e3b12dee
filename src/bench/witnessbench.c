/* The witness benchmark: see witnessbench.h. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/witnessbench.h"
#include "core/ledger.h"
#include "core/ledgerfile.h"
#include "core/util.h"


/* Write a sealed chain of n entries with a checkpoint every 1,000 and at the end. */
static enum status
make_export(const char *path, size_t n, struct err *e)
{
	FILE *f = fopen(path, "w");
	struct merkle t;
	struct wkey k;
	struct wentry ent;
	char prev[WITNESS_HEX];
	size_t i;

	if (f == NULL)
		return err_set(e, ST_IO, "cannot write '%s'", path);
	wkey_generate(&k, "ifctl.bench/witness");
	merkle_init(&t);
	ledger_file_header(f, k.name, &k);
	memset(prev, '0', WITNESS_HEX - 1);
	prev[WITNESS_HEX - 1] = '\0';
	for (i = 0; i < n; i++) {
		wentry_init(&ent);
		ent.seq = i + 1;
		ent.time = 1795590000000LL + (int64_t)i;
		ent.component = xstrdup("coordinator");
		ent.event = xstrdup("task.claim");
		ent.actor = xasprintf("swarm-%zu", i % 64);
		ent.trace = xasprintf("%032zx", i / 8);
		ent.task = xasprintf("t-%zu", i);
		ent.payload = xasprintf("{\"attempt\":%zu}", i % 5 + 1);
		ent.cost_micros = (int64_t)(i % 1000);
		memcpy(ent.prev, prev, WITNESS_HEX);
		wentry_seal(&ent);
		memcpy(prev, ent.hash, WITNESS_HEX);
		ledger_file_entry(f, &ent);
		witness_tree_add(&t, &ent);
		if ((i + 1) % 1000 == 0 || i + 1 == n) {
			struct wcheckpoint cp = { "", i + 1, { 0 } };
			struct buf note = BUF_INIT;
			snprintf(cp.origin, sizeof cp.origin, "%s", k.name);
			merkle_root(&t, i + 1, cp.root);
			wcheckpoint_sign(&k, &cp, &note);
			ledger_file_checkpoint(f, note.s);
			buf_release(&note);
		}
		wentry_release(&ent);
	}
	merkle_release(&t);
	return fclose(f) == 0 ? ST_OK : err_set(e, ST_IO, "cannot write '%s'", path);
}

static enum status
bench_verify(const struct witness_bench_opts *o, struct rowset *rs, struct ledger_file *lf,
	     struct err *e)
{
	char *path = xasprintf("%s/ifctl-witness-bench-%ld.jsonl", o->tmpdir, (long)getpid());
	struct wverdict v;
	int64_t t0, t1, t2;
	enum status st;
	size_t r;

	if ((st = make_export(path, o->verify_entries, e)) != ST_OK)
		goto out;
	t0 = mono_us();
	if ((st = ledger_file_read(path, lf, e)) != ST_OK)
		goto out;
	t1 = mono_us();
	v = ledger_file_verify(lf, &lf->header_key);
	t2 = mono_us();
	if (v.fault != WF_NONE)
		st = err_set(e, ST_WITNESS, "benchmark ledger did not verify: %s", v.detail);
	r = rows_add(rs);
	rows_set(rs, r, 0, "verify --file");
	rows_setf(rs, r, 1, "%zu entries, %llu checkpoints", o->verify_entries,
		  (unsigned long long)v.checkpoints);
	rows_setf(rs, r, 2, "%.2f s", (double)(t2 - t0) / 1e6);
	rows_setf(rs, r, 3, "read+parse %.2f s, hashes+chain+tree+signatures %.2f s",
		  (double)(t1 - t0) / 1e6, (double)(t2 - t1) / 1e6);
out:
	unlink(path);
	free(path);
	return st;
}

static void
bench_proofs(const struct witness_bench_opts *o, const struct ledger_file *lf, struct rowset *rs)
{
	struct merkle t;
	merkle_hash path[MERKLE_MAX_PROOF], root;
	int64_t *gen = xcalloc(o->proofs, sizeof *gen), *ver = xcalloc(o->proofs, sizeof *ver);
	size_t i, r, n = lf->n, bad = 0;

	ledger_file_tree(lf, &t);
	merkle_root(&t, n, root);
	for (i = 0; i < o->proofs; i++) {
		size_t m = ((size_t)rand() * 7919u + i) % n, len;
		int64_t t0 = mono_us(), t1;
		len = merkle_inclusion(&t, m, n, path);
		t1 = mono_us();
		gen[i] = t1 - t0;
		bad += !merkle_verify_inclusion(m, n, t.level[0][m], path[0], len, root);
		ver[i] = mono_us() - t1;
	}
	sort_i64(gen, o->proofs);
	sort_i64(ver, o->proofs);
	r = rows_add(rs);
	rows_set(rs, r, 0, "inclusion proof");
	rows_setf(rs, r, 1, "%zu proofs, tree of %zu", o->proofs, n);
	rows_setf(rs, r, 2, "p50 %lld us, p99 %lld us", (long long)percentile(gen, o->proofs, 50),
		  (long long)percentile(gen, o->proofs, 99));
	rows_setf(rs, r, 3, "to make; checking one: p50 %lld us, p99 %lld us; %zu failed",
		  (long long)percentile(ver, o->proofs, 50), (long long)percentile(ver, o->proofs, 99),
		  bad);
	merkle_release(&t);
	free(gen);
	free(ver);
}

struct appender {
	const struct bus_opts *bo;
	const char *stream, *subject;	/* the run's own (bench_stream_names) */
	bool group;		/* submit all, then flush; else one append at a time */
	int64_t gap_us;		/* group: submit one every gap_us (0: all at once) */
	size_t n;
	int64_t *lat;		/* per entry, µs */
	int64_t *sent;		/* group: when each was submitted */
	size_t landed;		/* group: how many have landed so far */
	uint64_t conflicts, batches;
	int failed;
};

static void
bench_entry(struct wentry *ent)
{
	wentry_init(ent);
	ent->time = wall_ms();
	ent->component = xstrdup("bench");
	ent->event = xstrdup("bench.append");
	ent->actor = xstrdup("bench");
}

/* Group commit: one writer's entries land in the order they were submitted. */
static void
on_landed(void *arg, uint64_t from, uint64_t to, size_t n)
{
	struct appender *a = arg;
	int64_t now = mono_us();
	size_t i;

	(void)from;
	(void)to;
	for (i = a->landed; i < a->landed + n && i < a->n; i++)
		a->lat[i] = now - a->sent[i];
	a->landed += n;
}

static void *
append_main(void *arg)
{
	struct appender *a = arg;
	struct ledger_writer w;
	struct bus *b = NULL;
	struct err e = ERR_INIT;
	int64_t start = 0;
	size_t i;

	if (bus_open(&b, a->bo, &e) != ST_OK) {
		a->failed = 1;
		return NULL;
	}
	ledger_writer_init(&w, b);
	w.stream = a->stream;
	w.subject = a->subject;
	if (a->group) {
		w.landed = on_landed;
		w.landed_arg = a;
		ledger_writer_start(&w);
	}
	for (i = 0; i < a->n && !a->failed; i++) {
		struct wentry ent;
		int64_t t0 = mono_us();
		if (a->gap_us) {	/* offered load: the i-th entry at start + i * gap */
			if (i == 0)
				start = t0;
			if (start + (int64_t)i * a->gap_us > t0)
				usleep((useconds_t)(start + (int64_t)i * a->gap_us - t0));
			t0 = mono_us();
		}
		bench_entry(&ent);
		if (a->group) {
			a->sent[i] = t0;
			ledger_submit(&w, &ent);
		} else {
			if (ledger_append(&w, &ent, &e) != ST_OK)
				a->failed = 1;
			a->lat[i] = mono_us() - t0;
		}
		wentry_release(&ent);
	}
	if (a->group && ledger_flush(&w, &e) != ST_OK)
		a->failed = 1;
	ledger_writer_release(&w);
	a->conflicts = w.conflicts;
	a->batches = w.batches;
	bus_close(b);
	return NULL;
}

#define BENCH_WRITERS_MAX 8

/*
 * Run the appenders on a thread each; the wall time in µs. An appender
 * whose thread cannot start is marked failed, never joined.
 */
static int64_t
run_writers(struct appender *a, int writers)
{
	pthread_t th[BENCH_WRITERS_MAX];
	bool started[BENCH_WRITERS_MAX];
	int64_t t0 = mono_us();
	int k;

	for (k = 0; k < writers; k++)
		if (!(started[k] = pthread_create(&th[k], NULL, append_main, &a[k]) == 0))
			a[k].failed = 1;
	for (k = 0; k < writers; k++)
		if (started[k])
			pthread_join(th[k], NULL);
	return mono_us() - t0;
}

/* The latency cell of an append row: percentiles of the sorted samples, batches, races. */
static void
latency_cell(struct rowset *rs, size_t r, const int64_t *sorted, size_t n, bool group,
	     uint64_t batches, uint64_t conflicts)
{
	rows_setf(rs, r, 3, "latency p50 %.3f ms, p99 %.3f ms%s; %llu batches, %llu races lost "
		  "and retried", percentile(sorted, n, 50) / 1000.0,
		  percentile(sorted, n, 99) / 1000.0, group ? " (submit to landed)" : "",
		  (unsigned long long)batches, (unsigned long long)conflicts);
}

/*
 * A stream of the run's own, named with a random run id so that two
 * benchmarks on one server never share (or drop) each other's.
 */
static void
bench_stream_names(char stream[48], char subject[64])
{
	char run[33];

	trace_id_new(run);
	snprintf(stream, 48, "IF_BENCH_WITNESS_%.12s", run);
	snprintf(subject, 64, "if.v1.bench.%.12s.witness", run);
}

static enum status
bench_appends(const struct bus_opts *bo, size_t total, int writers, bool group, int rate,
	      struct rowset *rs, struct err *e)
{
	char stream[48], subject[64];
	struct bus_stream_def def = { stream, { subject, NULL },
				      "witness benchmark (deleted after the run)", false, 0, -1 };
	struct appender a[BENCH_WRITERS_MAX];
	struct bus *b = NULL;
	int64_t *all, secs_us;
	uint64_t conflicts = 0, batches = 0;
	size_t n = 0, r;
	bool created;
	int k, failed = 0;
	enum status st;

	if ((st = bus_open(&b, bo, e)) != ST_OK)
		return st;
	bench_stream_names(stream, subject);
	if ((st = bus_stream_ensure(b, &def, &created, e)) != ST_OK)
		goto out;
	for (k = 0; k < writers; k++) {
		a[k] = (struct appender){ .bo = bo, .stream = stream, .subject = subject, .group = group, .n = total / (size_t)writers,
					  .gap_us = rate ? 1000000LL * writers / rate : 0 };
		a[k].lat = xcalloc(a[k].n, sizeof *a[k].lat);
		a[k].sent = xcalloc(a[k].n, sizeof *a[k].sent);
	}
	secs_us = run_writers(a, writers);
	all = xcalloc(total, sizeof *all);
	for (k = 0; k < writers; k++) {
		memcpy(all + n, a[k].lat, a[k].n * sizeof *all);
		n += a[k].n;
		conflicts += a[k].conflicts;
		batches += a[k].batches;
		failed |= a[k].failed;
		free(a[k].lat);
		free(a[k].sent);
	}
	sort_i64(all, n);
	r = rows_add(rs);
	if (rate)
		rows_setf(rs, r, 0, "append, %d writer%s, group commit, offered %d/s", writers,
			  writers > 1 ? "s" : "", rate);
	else
		rows_setf(rs, r, 0, "append, %d writer%s, %s", writers, writers > 1 ? "s" : "",
			  group ? "group commit, all at once" : "one at a time");
	rows_setf(rs, r, 1, "%zu entries%s", n, writers > 1 ? " (threads, own connections)" : "");
	rows_setf(rs, r, 2, "%.0f appends/s", (double)n / ((double)secs_us / 1e6));
	latency_cell(rs, r, all, n, group, batches, conflicts);
	free(all);
	if (failed)
		st = err_set(e, ST_FAIL, "an append failed during the benchmark");
out:
	bus_stream_drop(b, stream, NULL);
	bus_close(b);
	return st;
}

enum status
witness_bench_run(const struct bus_opts *bo, const struct witness_bench_opts *o,
		  struct doc *out, struct err *e)
{
	static const struct { int writers; bool group; int rate; } runs[] = {
		{ 1, false, 0 }, { 8, false, 0 }, { 1, true, 0 }, { 8, true, 0 }, { 8, true, 5000 },
	};
	struct rowset *rs = rows_new("witness_bench");
	struct ledger_file lf;
	size_t i;
	enum status st;

	rows_col(rs, "what", COL_TEXT, 0);
	rows_col(rs, "size", COL_TEXT, 0);
	rows_col(rs, "figure", COL_TEXT, 0);
	rows_col(rs, "detail", COL_TEXT, 0);
	doc_add(out, rs);
	memset(&lf, 0, sizeof lf);
	st = bench_verify(o, rs, &lf, e);
	if (st == ST_OK)
		bench_proofs(o, &lf, rs);
	ledger_file_release(&lf);
	for (i = 0; st == ST_OK && o->appends && i < ARRAY_SIZE(runs); i++)
		st = bench_appends(bo, o->appends, runs[i].writers, runs[i].group, runs[i].rate,
				   rs, e);
	return st;
}
