/*
 * A Jepsen-style run of the fleet on a local 3-node JetStream cluster
 * ('make chaos'; not part of 'make check').
 *
 * First the claim latency of a healthy 3-node cluster against a single
 * server (the same 8 claimers on 2,000 tasks each). Then clients push,
 * claim, complete and witness at a steady rate for a quiet minute, then for
 * CHAOS_SECONDS (default 600) while a scheduler kills and restarts or
 * pauses (SIGSTOP, up to 12 s, past the Raft election timeout) and resumes
 * random nodes, one at a time, then for a quiet minute more. A checker then
 * reads the final state from the cluster:
 *
 *  - no double claim: no (task, token) given to two claimers, and every
 *    done task done once, under the token in force;
 *  - no lost acknowledged push: every push that was acknowledged is there;
 *  - no lost or reordered witness entry: each writer's acknowledged entries
 *    are there exactly once, in the order written; the chain and the Merkle
 *    tree verify;
 *
 * and prints the fault schedule, and throughput and latency percentiles
 * (nearest rank over every operation of the phase) before, during and
 * after the faults. Exit 1 when an invariant fails.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "core/coord.h"
#include "core/ledger.h"
#include "core/util.h"
#include "core/wops.h"
#include "harness.h"

#define NODES 3
#define CLAIMERS 8
#define PUSHERS 2
#define WRITERS 2
#define LEASE_MS 5000
#define QUIET_S 60

enum phase { PH_BEFORE, PH_DURING, PH_AFTER, PH__COUNT };
static const char *const phase_names[] = { "before", "during", "after" };

/* Latencies of one kind of operation, per phase (ms). */
struct lat {
	pthread_mutex_t mu;
	double *v[PH__COUNT];
	size_t n[PH__COUNT], cap[PH__COUNT];
};

static struct hcluster cl;
static const char *urls;
static atomic_int phase;
static atomic_bool stop;
static int64_t phase_start[PH__COUNT + 1];
static struct lat lat_claim, lat_push, lat_witness;
static atomic_size_t errors[3];

/* Monotonic milliseconds to the microsecond, for latencies. */
static double
now_ms(void)
{
	return (double)mono_us() / 1000.0;
}

static void
lat_add(struct lat *l, double ms)
{
	int p = atomic_load(&phase);

	pthread_mutex_lock(&l->mu);
	if (l->n[p] == l->cap[p]) {
		l->cap[p] = l->cap[p] ? l->cap[p] * 2 : 4096;
		l->v[p] = xrealloc(l->v[p], l->cap[p] * sizeof *l->v[p]);
	}
	l->v[p][l->n[p]++] = ms;
	pthread_mutex_unlock(&l->mu);
}

static int
by_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The q-th percentile by nearest rank. */
static double
pct(double *v, size_t n, double q)
{
	size_t k;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof *v, by_double);
	k = (size_t)(q / 100.0 * (double)n + 0.999999);
	return v[k ? k - 1 : 0];
}

static struct bus *
connect_to(const char *url)
{
	struct bus *b;

	while ((b = hconnect(url, 5000, 50, NULL, NULL)) == NULL && !atomic_load(&stop))
		sleep(1);
	return b;
}

/* --- clients ------------------------------------------------------------- */

static struct hclaims claims, pushes;	/* (id, token) acknowledged; pushes: token 0 */
static struct coord_cfg cfg = { COORD_BUCKET, LEASE_MS, 1000, 100, NULL, 0, NULL };
static struct coord_index *ix[2];

/* Push a task every 20 ms. */
static void *
pusher(void *arg)
{
	int n = (int)(intptr_t)arg, i = 0;
	struct bus *b = connect_to(urls);
	char id[32];

	while (!atomic_load(&stop)) {
		struct task_spec s = { .id = id, .priority = i % 10 };
		struct opctx op;
		struct task t;
		struct err e = ERR_INIT;
		bool existed;
		double t0 = now_ms();
		snprintf(id, sizeof id, "c%d-%d", n, i++);
		opctx_init(&op, NULL);
		if (coord_push(b, &cfg, &op, &s, &t, &existed, &e) == ST_OK) {
			lat_add(&lat_push, now_ms() - t0);
			hclaims_add(&pushes, id, 0);
		} else {
			atomic_fetch_add(&errors[1], 1);
		}
		task_release(&t);
		opctx_release(&op);
		usleep(20 * 1000);
	}
	bus_close(b);
	return NULL;
}

/* Claim and complete; the claim's latency is what is measured. */
static void *
claimer(void *arg)
{
	int n = (int)(intptr_t)arg;
	struct bus *b = connect_to(urls);
	char swarm[16];
	struct claimer c = { .swarm = swarm };

	snprintf(swarm, sizeof swarm, "s%d", n);
	while (!atomic_load(&stop)) {
		struct opctx op;
		struct task t;
		struct err e = ERR_INIT;
		double t0 = now_ms();
		enum status st;
		opctx_init(&op, NULL);
		st = coord_claim(b, ix[n % 2], &cfg, &op, &c, &t, &e);
		opctx_release(&op);
		if (st == ST_OK) {
			struct owner_req req = { OWNER_COMPLETE, t.id, swarm, t.token, NULL, NULL,
						 false };
			struct task done;
			lat_add(&lat_claim, now_ms() - t0);
			hclaims_add(&claims, t.id, t.token);
			opctx_init(&op, NULL);
			if (coord_owner(b, &cfg, &op, &req, &done, &e) == ST_OK)
				task_release(&done);
			opctx_release(&op);
			task_release(&t);
		} else if (st == ST_NOT_FOUND) {
			coord_index_wait(ix[n % 2], 50);
		} else {
			atomic_fetch_add(&errors[0], 1);
			usleep(20 * 1000);
		}
	}
	bus_close(b);
	return NULL;
}

static atomic_size_t acked[WRITERS];

/* Witness entries through group commit, flushed every 10; acked counts what landed. */
static void *
writer(void *arg)
{
	int n = (int)(intptr_t)arg, i = 0;
	struct bus *b = connect_to(urls);
	struct ledger_writer w;
	struct err e = ERR_INIT;
	char component[32];

	snprintf(component, sizeof component, "chaos-%d", n);
	ledger_writer_init(&w, b);
	ledger_writer_start(&w);
	while (!atomic_load(&stop)) {
		double t0 = now_ms();
		int k;
		for (k = 0; k < 10; k++, i++) {
			struct wentry en;
			wentry_init(&en);
			en.time = wall_ms();
			en.component = xstrdup(component);
			en.event = xstrdup("chaos.entry");
			en.actor = xstrdup(component);
			en.payload = xasprintf("{\"i\":%d}", i);
			ledger_submit(&w, &en);
			wentry_release(&en);
		}
		while (ledger_flush(&w, &e) != ST_OK && !atomic_load(&stop)) {
			atomic_fetch_add(&errors[2], 1);
			usleep(100 * 1000);
		}
		if (ledger_flush(&w, &e) == ST_OK) {
			atomic_store(&acked[n], (size_t)i);
			lat_add(&lat_witness, now_ms() - t0);
		}
		usleep(100 * 1000);
	}
	ledger_writer_release(&w);
	bus_close(b);
	return NULL;
}

/* --- faults -------------------------------------------------------------- */

static double
now_s(void)
{
	return (double)(mono_ms() - phase_start[0]) / 1000.0;
}

/* One fault: kill a random node and start it again, or pause and resume it. */
static void
fault(struct bus *b)
{
	int k = 1 + (int)randombytes_uniform(NODES), len;
	int tl = hcluster_stream_leader(&cl, b, "KV_" COORD_BUCKET);
	int wl = hcluster_stream_leader(&cl, b, LEDGER_STREAM);
	int ml = hcluster_meta_leader(&cl);
	double t0 = now_s();
	char role[64] = "";

	snprintf(role, sizeof role, "%s%s%s", k == tl ? " IF_TASKS-leader" : "",
		 k == wl ? " IF_WITNESS-leader" : "", k == ml ? " meta-leader" : "");
	if (randombytes_uniform(2) == 0) {
		len = 2000 + (int)randombytes_uniform(6000);
		hcluster_kill(&cl, k);
		usleep((useconds_t)len * 1000);
		while (hcluster_restart(&cl, k) != 0 && !atomic_load(&stop))
			sleep(1);
		printf("fault %7.1f s  kill    node %d%s, down %.1f s, restarted at %.1f s\n", t0, k,
		       role, len / 1000.0, now_s());
	} else {
		len = 3000 + (int)randombytes_uniform(9000);
		hcluster_signal(&cl, k, SIGSTOP);
		usleep((useconds_t)len * 1000);
		hcluster_signal(&cl, k, SIGCONT);
		printf("fault %7.1f s  pause   node %d%s for %.1f s\n", t0, k, role, len / 1000.0);
	}
	fflush(stdout);
}

/* --- checker ------------------------------------------------------------- */

struct final {
	char **ids;		/* every task id there */
	size_t n, cap;
	size_t done_twice, bad_token;
};

static void
take_task(void *arg, const char *json, size_t len)
{
	struct final *f = arg;
	struct task t;
	size_t i, dones = 0;

	if (task_from_json(json, len, &t, NULL) != ST_OK)
		return;
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 4096;
		f->ids = xrealloc(f->ids, f->cap * sizeof *f->ids);
	}
	f->ids[f->n++] = xstrdup(t.id);
	for (i = 0; i < t.nhist; i++)
		if (t.hist[i].state == TASK_DONE) {
			dones++;
			f->bad_token += t.hist[i].token != t.token;
		}
	f->done_twice += dones > 1;
	task_release(&t);
}

static int
by_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
by_claim(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

/* Claims: no (id, token) twice; pushes: every acknowledged one there. */
static int
check_tasks(struct bus *b)
{
	struct coord_index *fresh = NULL;
	struct final f = { 0 };
	struct err e = ERR_INIT;
	char (*keys)[64] = xcalloc(claims.n + 1, sizeof *keys);
	size_t i, dup = 0, lost = 0;
	int bad = 0;

	while (coord_index_open(b, &cfg, &fresh, &e) != ST_OK)
		sleep(1);
	coord_index_each(fresh, take_task, &f);
	coord_index_free(fresh);
	qsort(f.ids, f.n, sizeof *f.ids, by_str);
	for (i = 0; i < pushes.n; i++) {
		const char *id = pushes.id[i];
		if (!bsearch(&id, f.ids, f.n, sizeof *f.ids, by_str))
			lost++;
	}
	for (i = 0; i < claims.n; i++)
		snprintf(keys[i], sizeof keys[0], "%s/%llu", claims.id[i],
			 (unsigned long long)claims.token[i]);
	qsort(keys, claims.n, sizeof *keys, by_claim);
	for (i = 1; i < claims.n; i++)
		dup += strcmp(keys[i - 1], keys[i]) == 0;
	printf("check: %zu tasks on the server, %zu acknowledged pushes, %zu lost\n", f.n,
	       pushes.n, lost);
	printf("check: %zu claims, %zu (task, token) given twice; %zu tasks done twice, %zu done "
	       "under a stale token\n", claims.n, dup, f.done_twice, f.bad_token);
	bad = lost || dup || f.done_twice || f.bad_token;
	for (i = 0; i < f.n; i++)
		free(f.ids[i]);
	free(f.ids);
	free(keys);
	return bad;
}

struct wscan {
	int next[WRITERS];	/* the next i expected from each writer */
	size_t reordered, foreign;
};

static enum status
scan_entry(void *arg, const struct wentry *e, struct err *err)
{
	struct wscan *s = arg;
	int n, i;

	(void)err;
	if (e->component && sscanf(e->component, "chaos-%d", &n) == 1 && n >= 0 && n < WRITERS &&
	    e->payload && sscanf(e->payload, "{\"i\":%d}", &i) == 1) {
		if (i != s->next[n])
			s->reordered++;
		s->next[n] = i + 1;
	} else {
		s->foreign++;
	}
	return ST_OK;
}

/* The ledger: chain and tree verify; each writer's entries 0..acked once, in order. */
static int
check_witness(struct bus *b)
{
	struct wverify_opts o = { 0 };
	struct wverdict v;
	struct wscan s = { { 0 }, 0, 0 };
	struct err e = ERR_INIT;
	uint64_t n = 0, cps = 0;
	int k, bad = 0;

	while (wops_verify_online(b, &o, &v, &n, &cps, &e) != ST_OK)
		sleep(1);
	while (ledger_read(b, scan_entry, &s, &n, &e) != ST_OK) {
		memset(&s, 0, sizeof s);
		sleep(1);
	}
	printf("check: witness: %llu entries, chain and tree %s; %zu out of order\n",
	       (unsigned long long)n, v.fault == WF_NONE ? "verify" : "FAIL", s.reordered);
	bad = v.fault != WF_NONE || s.reordered;
	for (k = 0; k < WRITERS; k++) {
		printf("check: writer %d: %zu acknowledged, %d there\n", k, atomic_load(&acked[k]),
		       s.next[k]);
		bad |= (size_t)s.next[k] < atomic_load(&acked[k]);
	}
	return bad;
}

/* --- healthy comparison -------------------------------------------------- */

struct cmp {
	const char *url;
	struct coord_index *ix;
	struct lat *l;
	atomic_size_t *left;
};

static void *
cmp_claimer(void *arg)
{
	struct cmp *c = arg;
	struct bus *b = connect_to(c->url);
	struct claimer cl_ = { .swarm = "bench" };

	while (atomic_load(c->left) > 0) {
		struct opctx op;
		struct task t;
		struct err e = ERR_INIT;
		double t0 = now_ms();
		opctx_init(&op, NULL);
		if (coord_claim(b, c->ix, &cfg, &op, &cl_, &t, &e) == ST_OK) {
			lat_add(c->l, now_ms() - t0);
			atomic_fetch_sub(c->left, 1);
			task_release(&t);
		}
		opctx_release(&op);
	}
	bus_close(b);
	return NULL;
}

/* 8 claimers on 2,000 tasks at url; prints claims/s and the claim p50 and p99. */
static void
claim_bench(const char *what, const char *url, const char *bucket, int replicas)
{
	struct bus *b = connect_to(url);
	struct bus_kv_def def = { bucket, "chaos benchmark", 8 };
	struct coord_cfg bc = { bucket, 600000, 5, 100, NULL, 0, NULL };
	struct lat l = { .mu = PTHREAD_MUTEX_INITIALIZER };
	atomic_size_t left = 2000;
	struct cmp c[CLAIMERS];
	pthread_t th[CLAIMERS];
	struct err e = ERR_INIT;
	bool made, changed;
	int i;
	int64_t t0;

	bus_kv_ensure_r(b, &def, replicas, &made, &changed, &e);
	for (i = 0; i < 2000; i++) {
		char id[32];
		struct task_spec s = { .id = id };
		struct opctx op;
		struct task t;
		bool existed;
		snprintf(id, sizeof id, "b%d", i);
		opctx_init(&op, NULL);
		coord_push(b, &bc, &op, &s, &t, &existed, &e);
		task_release(&t);
		opctx_release(&op);
	}
	cfg.bucket = bucket;
	coord_index_open(b, &bc, &c[0].ix, &e);
	t0 = mono_ms();
	for (i = 0; i < CLAIMERS; i++) {
		c[i] = (struct cmp){ url, c[0].ix, &l, &left };
		pthread_create(&th[i], NULL, cmp_claimer, &c[i]);
	}
	for (i = 0; i < CLAIMERS; i++)
		pthread_join(th[i], NULL);
	printf("healthy %-18s 2000 claims by %d claimers in %.1f s: %.0f claims/s, "
	       "p50 %.2f ms, p99 %.2f ms\n", what, CLAIMERS, (double)(mono_ms() - t0) / 1000,
	       2000.0 * 1000 / (double)(mono_ms() - t0 + 1), pct(l.v[0], l.n[0], 50),
	       pct(l.v[0], l.n[0], 99));
	coord_index_free(c[0].ix);
	bus_kv_drop(b, bucket, &e);
	cfg.bucket = COORD_BUCKET;
	free(l.v[0]);
	bus_close(b);
}

/* --- the run ------------------------------------------------------------- */

static void
report(void)
{
	struct lat *ls[] = { &lat_claim, &lat_push, &lat_witness };
	static const char *const names[] = { "claim", "push", "witness flush (10)" };
	size_t i;
	int p;

	for (p = 0; p < PH__COUNT; p++) {
		double secs = (double)(phase_start[p + 1] - phase_start[p]) / 1000.0;
		printf("%-6s (%.0f s):", phase_names[p], secs);
		for (i = 0; i < ARRAY_SIZE(ls); i++)
			printf("  %s %.1f/s p50 %.2f p99 %.2f ms;", names[i],
			       (double)ls[i]->n[p] / secs, pct(ls[i]->v[p], ls[i]->n[p], 50),
			       pct(ls[i]->v[p], ls[i]->n[p], 99));
		printf("\n");
	}
	printf("errors (retried): %zu claims, %zu pushes, %zu flushes\n", atomic_load(&errors[0]),
	       atomic_load(&errors[1]), atomic_load(&errors[2]));
}

int
main(void)
{
	const char *env = getenv("CHAOS_SECONDS");
	int seconds = env ? atoi(env) : 600, i, bad;
	pthread_t th[CLAIMERS + PUSHERS + WRITERS];
	struct hserver single = { 0 };
	struct err e = ERR_INIT;
	struct bus *b;
	size_t nth = 0;

	if (seconds < 10)
		seconds = 10;
	setvbuf(stdout, NULL, _IOLBF, 0);
	pthread_mutex_init(&lat_claim.mu, NULL);
	pthread_mutex_init(&lat_push.mu, NULL);
	pthread_mutex_init(&lat_witness.mu, NULL);
	hclaims_init(&claims);
	hclaims_init(&pushes);
	if (hcluster_start(&cl, NODES) != 0 || hserver_start(&single) != 0) {
		fprintf(stderr, "chaos: cannot start the servers\n");
		hcluster_destroy(&cl);
		hserver_destroy(&single);
		return 1;
	}
	urls = cl.urls;
	printf("method: claim latency = one coord_claim call that claimed, wall clock; "
	       "percentiles by nearest rank over every claim of the phase\n");
	claim_bench("single server:", single.url, "CHAOS_BENCH", 1);
	claim_bench("3-node cluster R3:", cl.urls, "CHAOS_BENCH", NODES);
	hserver_destroy(&single);
	b = connect_to(urls);
	for (i = 0; i < 2; i++)
		coord_index_open(b, &cfg, &ix[i], &e);
	phase_start[0] = mono_ms();
	for (i = 0; i < PUSHERS; i++)
		pthread_create(&th[nth++], NULL, pusher, (void *)(intptr_t)i);
	for (i = 0; i < CLAIMERS; i++)
		pthread_create(&th[nth++], NULL, claimer, (void *)(intptr_t)i);
	for (i = 0; i < WRITERS; i++)
		pthread_create(&th[nth++], NULL, writer, (void *)(intptr_t)i);
	printf("chaos: %d s quiet, %d s of faults, %d s quiet; %d pushers (50/s each), "
	       "%d claimers, %d witness writers (10 entries and a flush, then 100 ms)\n", QUIET_S, seconds,
	       QUIET_S, PUSHERS, CLAIMERS, WRITERS);
	sleep(QUIET_S);
	phase_start[PH_DURING] = mono_ms();
	atomic_store(&phase, PH_DURING);
	while (mono_ms() - phase_start[PH_DURING] < (int64_t)seconds * 1000) {
		sleep(3 + randombytes_uniform(8));
		fault(b);
		printf("        %7.1f s  %zu pushes, %zu claims so far; IF_TASKS led by node %d\n",
		       now_s(), pushes.n, claims.n, hcluster_stream_leader(&cl, b, "KV_" COORD_BUCKET));
	}
	phase_start[PH_AFTER] = mono_ms();
	atomic_store(&phase, PH_AFTER);
	sleep(QUIET_S);
	phase_start[PH__COUNT] = mono_ms();
	atomic_store(&stop, true);
	for (i = 0; i < (int)nth; i++)
		pthread_join(th[i], NULL);
	report();
	bad = check_tasks(b) | check_witness(b);
	printf("chaos: %s\n", bad ? "INVARIANT VIOLATED" : "every invariant holds");
	for (i = 0; i < 2; i++)
		coord_index_free(ix[i]);
	bus_close(b);
	hcluster_destroy(&cl);
	return bad;
}
