/*
 * The fleet on a 3-node JetStream cluster (streams and buckets at 3
 * replicas), with nodes killed and paused under load. Every invariant is
 * read from the final state on the servers, not from the clients' counts.
 *
 *  - kills: 16 claimers claim and complete 5,000 tasks while 4 group-commit
 *    witness writers append, and the leader of IF_TASKS is SIGKILLed and
 *    restarted, then a follower, then the JetStream meta leader. In the end
 *    every task is done exactly once (one "done" in its history) under a
 *    token exactly one claimer was given, none is lost; the witness ledger
 *    is one valid chain holding every acknowledged entry exactly once.
 *  - pause: the IF_TASKS leader is stopped (SIGSTOP) for longer than the
 *    Raft election timeout while claimers run, as a partitioned node would
 *    be, then resumed: no token is held by two claimers, and the node
 *    catches up (every replica current, lag 0).
 *
 * Claims whose answer was lost in a crash are read back by the bus (a
 * conditional write's own bytes found there mean it landed); a claim that
 * cannot be settled is held by nobody who knows it, and its short lease
 * expires so another claimer takes it over.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/coord.h"
#include "core/ledger.h"
#include "core/util.h"
#include "harness.h"

#define NODES 3
#define CLAIMERS 16
#define TASKS 5000
#define WRITERS 4
#define ENTRIES 500		/* per writer */
#define LEASE_MS 3000
#define ELECTION_PAUSE_MS 12000	/* nats-server 2.9 elects within 4 to 9 s */

static struct hcluster cl;

static struct bus *
connect_cluster(void)
{
	struct bus *b = hconnect(cl.urls, 5000, 50, NULL, NULL);

	if (b == NULL)
		fail_msg("cannot connect to %s", cl.urls);
	return b;
}

/* --- claims ------------------------------------------------------------- */

struct run {
	struct coord_cfg cfg;
	struct coord_index *ix[2];	/* two "processes" of claimer threads: they race by CAS */
	atomic_int next;
	struct hclaims log;
	atomic_bool stop;
	atomic_size_t errors, completed;
	pthread_mutex_t err_mu;
	char last_err[ERR_MSG_MAX];	/* the latest claim error, shown with the progress */
};

/* Claim, then complete, until told to stop; one connection and index each. */
static void *
claimer(void *arg)
{
	struct run *r = arg;
	struct bus *b = connect_cluster();
	struct err e = ERR_INIT;
	char swarm[32];
	struct claimer c = { .swarm = swarm };
	int n = atomic_fetch_add(&r->next, 1);
	struct coord_index *ix = r->ix[n % 2];

	snprintf(swarm, sizeof swarm, "s%d", n);
	while (!atomic_load(&r->stop)) {
		struct opctx op;
		struct task t;
		enum status st;

		err_clear(&e);
		opctx_init(&op, NULL);
		st = coord_claim(b, ix, &r->cfg, &op, &c, &t, &e);
		opctx_release(&op);
		if (st == ST_OK) {
			struct owner_req req = { OWNER_COMPLETE, t.id, swarm, t.token, NULL, NULL,
						 false };
			struct task done;
			hclaims_add(&r->log, t.id, t.token);
			opctx_init(&op, NULL);
			if (coord_owner(b, &r->cfg, &op, &req, &done, &e) == ST_OK) {
				atomic_fetch_add(&r->completed, 1);
				task_release(&done);
			}
			opctx_release(&op);
			task_release(&t);
		} else if (st == ST_NOT_FOUND) {
			coord_index_wait(ix, 50);
		} else {
			atomic_fetch_add(&r->errors, 1);	/* an election or a dead node */
			pthread_mutex_lock(&r->err_mu);
			snprintf(r->last_err, sizeof r->last_err, "%s", e.msg);
			pthread_mutex_unlock(&r->err_mu);
			usleep(20 * 1000);
		}
	}
	bus_close(b);
	return NULL;
}

/* A run on IF_TASKS with two claim indexes, each on its own connection. */
static void
run_init(struct run *r, struct bus *ixb[2])
{
	struct err e = ERR_INIT;
	int i;

	memset(r, 0, sizeof *r);
	pthread_mutex_init(&r->err_mu, NULL);
	hclaims_init(&r->log);
	r->cfg = (struct coord_cfg){ .bucket = COORD_BUCKET, .lease_ms = LEASE_MS,
				    .max_attempts = 1000, .retry_backoff_ms = 100 };
	for (i = 0; i < 2; i++) {
		int tries = 0;
		ixb[i] = connect_cluster();
		/* right after a fault the stream may be without a leader for seconds */
		while (coord_index_open(ixb[i], &r->cfg, &r->ix[i], &e) != ST_OK && ++tries < 10) {
			print_message("index %d: %s; again\n", i, e.msg);
			sleep(1);
		}
		assert_true(tries < 10);
	}
}

static void
run_release(struct run *r, struct bus *ixb[2])
{
	int i;

	for (i = 0; i < 2; i++) {
		coord_index_free(r->ix[i]);
		bus_close(ixb[i]);
	}
	hclaims_release(&r->log);
	pthread_mutex_destroy(&r->err_mu);
}

/* Push n tasks prefix0.. from 4 threads; how many were pushed. */
struct pusher {
	const struct coord_cfg *cfg;
	const char *prefix;
	size_t from, to;
	atomic_size_t *ok;
};

static void *
push_part(void *arg)
{
	struct pusher *p = arg;
	struct bus *b = connect_cluster();
	size_t i;
	char id[32];

	for (i = p->from; i < p->to; i++) {
		struct task_spec s = { .id = id, .priority = (int)(i % 10) };
		struct opctx op;
		struct task t;
		struct err e = ERR_INIT;
		bool existed;
		snprintf(id, sizeof id, "%s%zu", p->prefix, i);
		opctx_init(&op, NULL);
		if (coord_push(b, p->cfg, &op, &s, &t, &existed, &e) == ST_OK)
			atomic_fetch_add(p->ok, 1);
		task_release(&t);
		opctx_release(&op);
	}
	bus_close(b);
	return NULL;
}

static size_t
push_many(const struct coord_cfg *cfg, const char *prefix, size_t n)
{
	pthread_t th[4];
	struct pusher p[4];
	atomic_size_t ok = 0;
	size_t i;

	for (i = 0; i < 4; i++) {
		p[i] = (struct pusher){ cfg, prefix, n * i / 4, n * (i + 1) / 4, &ok };
		pthread_create(&th[i], NULL, push_part, &p[i]);
	}
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	return atomic_load(&ok);
}

/* The final records against the log. */
struct verdict {
	struct hclaims *log;
	const char *prefix;
	size_t records, done, done_once, unknown_owner, double_owner;
	char late[8][32];		/* some tasks not done, for a failing verdict */
	size_t nlate;
};

static void
judge(void *arg, const char *json, size_t len)
{
	struct verdict *v = arg;
	struct task t;
	size_t i, dones = 0;

	if (task_from_json(json, len, &t, NULL) != ST_OK)
		return;
	if (strncmp(t.id, v->prefix, strlen(v->prefix)) != 0) {
		task_release(&t);
		return;
	}
	v->records++;
	if (t.state == TASK_DONE)
		v->done++;
	else if (v->nlate < 8)
		snprintf(v->late[v->nlate++], sizeof v->late[0], "%s", t.id);
	for (i = 0; i < t.nhist; i++)
		dones += t.hist[i].state == TASK_DONE && t.hist[i].token == t.token;
	for (i = 0; i < t.nhist; i++)
		dones += t.hist[i].state == TASK_DONE && t.hist[i].token != t.token ? 100 : 0;
	v->done_once += dones == 1;
	hclaims_judge(v->log, t.id, t.token, &v->unknown_owner, &v->double_owner);
	task_release(&t);
}

/* Read every record of the run back from the stream's leader. */
static void
tally(struct bus *b, struct run *r, const char *prefix, size_t pushed, struct verdict *v)
{
	memset(v, 0, sizeof *v);
	v->log = &r->log;
	v->prefix = prefix;
	hclaims_each_leader(&r->log, b, &r->cfg, prefix, pushed, judge, v);
}

/* Wait until the log holds at least n claims (or a minute passes). */
static void
wait_claims(struct run *r, size_t n)
{
	int64_t deadline = mono_ms() + 60000;

	while (hclaims_count(&r->log) < n && mono_ms() < deadline)
		usleep(20 * 1000);
}

/* --- witness writers ---------------------------------------------------- */

struct wrun {
	atomic_int failed;
	atomic_size_t acked;	/* entries a flush said had landed */
};

struct wargs {
	struct wrun *w;
	int id;
};

static void *
wwriter(void *arg)
{
	struct wargs *a = arg;
	struct bus *b = connect_cluster();
	struct ledger_writer w;
	struct err e = ERR_INIT;
	char component[32];
	int i;
	int64_t deadline;

	snprintf(component, sizeof component, "cw-%d", a->id);
	ledger_writer_init(&w, b);
	ledger_writer_start(&w);
	for (i = 0; i < ENTRIES; i++) {
		struct wentry en;
		wentry_init(&en);
		en.time = wall_ms();
		en.component = xstrdup(component);
		en.event = xstrdup("test.cluster");
		en.actor = xasprintf("writer-%d", a->id);
		en.payload = xasprintf("{\"i\":%d}", i);
		ledger_submit(&w, &en);
		wentry_release(&en);
		if (i % 10 == 9)
			usleep(100 * 1000);	/* a steady rate through the kills */
	}
	deadline = mono_ms() + 90000;
	while (ledger_flush(&w, &e) != ST_OK && mono_ms() < deadline)
		usleep(100 * 1000);
	if (mono_ms() >= deadline) {
		fprintf(stderr, "writer %d: %s\n", a->id, e.msg);
		atomic_store(&a->w->failed, 1);
	} else {
		atomic_fetch_add(&a->w->acked, ENTRIES);
	}
	ledger_writer_release(&w);
	bus_close(b);
	return NULL;
}

struct wcheck {
	struct wverifier v;
	int seen[WRITERS][ENTRIES];
	size_t foreign;
};

static enum status
wfeed(void *arg, const struct wentry *e, struct err *err)
{
	struct wcheck *c = arg;
	int id, i;

	(void)err;
	wverifier_entry(&c->v, e);
	if (e->component && sscanf(e->component, "cw-%d", &id) == 1 && id >= 0 && id < WRITERS &&
	    e->payload && sscanf(e->payload, "{\"i\":%d}", &i) == 1 && i >= 0 && i < ENTRIES)
		c->seen[id][i]++;
	else
		c->foreign++;
	return ST_OK;
}

/* The ledger read back from the cluster: one valid chain, each entry once. */
static void
witness_verify(struct bus *b)
{
	static struct wcheck c;
	struct err e = ERR_INIT;
	uint64_t n = 0;
	int id, i;

	memset(&c, 0, sizeof c);
	wverifier_init(&c.v, NULL);
	for (i = 0; i < 20 && ledger_read(b, wfeed, &c, &n, &e) != ST_OK; i++) {
		wverifier_release(&c.v);	/* an election under way: read it all again */
		memset(&c, 0, sizeof c);
		wverifier_init(&c.v, NULL);
		usleep(500 * 1000);
	}
	assert_true(i < 20);
	assert_int_equal(c.v.v.fault, WF_NONE);
	assert_int_equal(c.v.v.entries, n);
	for (id = 0; id < WRITERS; id++)
		for (i = 0; i < ENTRIES; i++)
			if (c.seen[id][i] != 1)
				fail_msg("witness entry %d of writer %d is there %d times", i, id,
					 c.seen[id][i]);
	print_message("witness: %llu entries, one chain, each acknowledged entry once\n",
		      (unsigned long long)n);
	wverifier_release(&c.v);
}

/* --- faults ------------------------------------------------------------- */

/* Kill node k, wait a moment, start it again; returns when it answers. */
static void
kill_restart(int k, const char *what)
{
	int64_t t0 = mono_ms();

	assert_true(k >= 1 && k <= NODES);
	hcluster_kill(&cl, k);
	usleep(500 * 1000);
	assert_int_equal(hcluster_restart(&cl, k), 0);
	print_message("killed and restarted node %d (%s) in %lld ms at %lld ms\n", k, what,
		      (long long)(mono_ms() - t0), (long long)(mono_ms() % 1000000));
}

/* A node other than k. */
static int
other_than(int k)
{
	return k % NODES + 1;
}

/* Wait until every replica of stream is current with lag 0 and has a leader. */
static bool
caught_up(struct bus *b, const char *stream, int64_t ms)
{
	int64_t deadline = mono_ms() + ms;
	struct bus_stream_cluster sc;
	size_t i, ok;

	while (mono_ms() < deadline) {
		if (bus_stream_cluster(b, stream, &sc, NULL) == ST_OK && sc.leader[0] &&
		    sc.npeers == NODES - 1) {
			for (i = 0, ok = 0; i < sc.npeers; i++)
				ok += sc.peers[i].current && !sc.peers[i].offline &&
				      sc.peers[i].lag == 0;
			if (ok == sc.npeers)
				return true;
		}
		usleep(200 * 1000);
	}
	return false;
}

#define STALL_MS 30000	/* no task done for this long: the run is stuck */
#define DONE_MAX_MS 180000	/* a slow machine's run, however it goes */

/*
 * Wait until every task of prefix is done, reading the records back at
 * most every 2 s: while tasks keep getting done, up to DONE_MAX_MS (a
 * loaded machine is slow, not wrong); STALL_MS without one ends the wait.
 */
static void
wait_done(struct bus *b, struct run *r, const char *prefix, size_t pushed)
{
	int64_t t0 = mono_ms(), moved = t0;
	size_t before = 0;
	struct verdict v;

	do {
		usleep(2000 * 1000);
		tally(b, r, prefix, pushed, &v);
		if (v.done > before) {
			before = v.done;
			moved = mono_ms();
		}
		print_message("  %5.1f s: %zu of %zu done, %zu claims, %zu errors; leaders: "
			      "IF_TASKS node %d, IF_WITNESS node %d\n",
			      (double)(mono_ms() - t0) / 1000, v.done, pushed, hclaims_count(&r->log),
			      atomic_load(&r->errors), hcluster_stream_leader(&cl, b, "KV_" COORD_BUCKET),
			      hcluster_stream_leader(&cl, b, LEDGER_STREAM));
		pthread_mutex_lock(&r->err_mu);
		if (r->last_err[0])	/* what the claims fail with, for a run that stalls */
			print_message("          last claim error: %s\n", r->last_err);
		r->last_err[0] = '\0';
		pthread_mutex_unlock(&r->err_mu);
	} while (v.done < pushed && mono_ms() - moved < STALL_MS && mono_ms() - t0 < DONE_MAX_MS);
}

/* --- tests -------------------------------------------------------------- */

/* The state a record read by get holds ("?" when it cannot be read). */
static const char *
state_of(enum status st, const struct buf *data, char *out, size_t n)
{
	struct task t;

	if (st != ST_OK || task_from_json(data->s, data->len, &t, NULL) != ST_OK)
		return "?";
	snprintf(out, n, "%s (token %llu, %zu steps)", task_state_name(t.state),
		 (unsigned long long)t.token, t.nhist);
	task_release(&t);
	return out;
}

/*
 * For a verdict that finds tasks not done: each one as a direct get (any
 * replica may answer) and as the stream leader's last message reads it,
 * so a stale replica shows apart from a lost write.
 */
static void
show_late(struct bus *b, const struct verdict *v)
{
	size_t i;

	for (i = 0; i < v->nlate; i++) {
		struct bus_kv_entry d1 = BUS_KV_ENTRY_INIT;
		struct buf d2 = BUF_INIT;
		struct err e = ERR_INIT;
		char subj[80], s1[80], s2[80];
		uint64_t seq = 0;
		enum status st1 = bus_kv_get(b, COORD_BUCKET, v->late[i], &d1, &e), st2;

		snprintf(subj, sizeof subj, "$KV.%s.%s", COORD_BUCKET, v->late[i]);
		st2 = bus_stream_last(b, "KV_" COORD_BUCKET, subj, &d2, &seq, &e);
		print_message("  not done: %s; direct get: %s at rev %llu; leader: %s at seq %llu\n",
			      v->late[i], state_of(st1, &d1.value, s1, sizeof s1),
			      (unsigned long long)d1.revision, state_of(st2, &d2, s2, sizeof s2),
			      (unsigned long long)seq);
		if (st2 == ST_OK) {	/* the verdict is in: may the record be rewritten at that seq? */
			uint64_t rev = 0;
			enum status st3 = bus_kv_update(b, COORD_BUCKET, v->late[i], d2.s, d2.len, seq,
							&rev, &e);
			print_message("    rewrite at seq %llu: %s%s%s\n", (unsigned long long)seq,
				      status_text(st3), st3 ? ": " : "", st3 ? e.msg : "");
		}
		buf_release(&d1.value);
		buf_release(&d2);
	}
}

static void
verify_claims(struct bus *b, struct run *r, const char *prefix, size_t pushed, bool all_done)
{
	struct verdict v;

	tally(b, r, prefix, pushed, &v);
	print_message("%s: %zu records, %zu done (%zu exactly once), %zu claims logged, "
		      "%zu completed, %zu errors\n", prefix, v.records, v.done, v.done_once,
		      r->log.n, atomic_load(&r->completed), atomic_load(&r->errors));
	if (all_done && v.done < pushed)
		show_late(b, &v);
	assert_int_equal(v.records, pushed);		/* none lost */
	assert_int_equal(v.double_owner, 0);		/* never two holders of one token */
	if (all_done) {
		assert_int_equal(v.done, pushed);
		assert_int_equal(v.done_once, pushed);	/* done once, under its token */
		assert_int_equal(v.unknown_owner, 0);
	}
}

/* Claims and witness appends while the IF_TASKS leader, a follower, the meta leader die. */
static void
test_kills(void **state)
{
	static struct run r;
	static struct wrun wr;
	pthread_t th[CLAIMERS], wth[WRITERS];
	struct wargs wa[WRITERS];
	struct bus *b = connect_cluster(), *ixb[2];
	size_t pushed;
	int i, k;

	(void)state;
	run_init(&r, ixb);
	pushed = push_many(&r.cfg, "k", TASKS);
	assert_int_equal(pushed, TASKS);
	for (i = 0; i < CLAIMERS; i++)
		pthread_create(&th[i], NULL, claimer, &r);
	for (i = 0; i < WRITERS; i++) {
		wa[i] = (struct wargs){ &wr, i };
		pthread_create(&wth[i], NULL, wwriter, &wa[i]);
	}
	wait_claims(&r, 800);
	k = hcluster_stream_leader(&cl, b, "KV_" COORD_BUCKET);
	kill_restart(k, "leader of IF_TASKS");
	wait_claims(&r, hclaims_count(&r.log) + 600);
	k = other_than(hcluster_stream_leader(&cl, b, "KV_" COORD_BUCKET));
	kill_restart(k, "a follower of IF_TASKS");
	wait_claims(&r, hclaims_count(&r.log) + 600);
	k = hcluster_meta_leader(&cl);
	kill_restart(k, "meta leader");
	wait_done(b, &r, "k", pushed);
	atomic_store(&r.stop, true);
	for (i = 0; i < CLAIMERS; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < WRITERS; i++)
		pthread_join(wth[i], NULL);
	verify_claims(b, &r, "k", pushed, true);
	assert_int_equal(atomic_load(&wr.failed), 0);
	assert_int_equal(atomic_load(&wr.acked), WRITERS * ENTRIES);
	witness_verify(b);
	run_release(&r, ixb);
	bus_close(b);
}

/* The IF_TASKS leader paused past the election timeout, then resumed. */
static void
test_pause(void **state)
{
	static struct run r;
	pthread_t th[8];
	struct bus *b = connect_cluster(), *ixb[2];
	size_t pushed, before;
	int i, k;

	(void)state;
	run_init(&r, ixb);
	pushed = push_many(&r.cfg, "p", 800);
	assert_int_equal(pushed, 800);
	for (i = 0; i < 8; i++)
		pthread_create(&th[i], NULL, claimer, &r);
	wait_claims(&r, 200);
	k = hcluster_stream_leader(&cl, b, "KV_" COORD_BUCKET);
	assert_true(k >= 1);
	hcluster_signal(&cl, k, SIGSTOP);
	before = hclaims_count(&r.log);
	usleep(ELECTION_PAUSE_MS * 1000);
	print_message("node %d (leader of IF_TASKS) paused %d ms: %zu claims meanwhile, new "
		      "leader node %d\n", k, ELECTION_PAUSE_MS, hclaims_count(&r.log) - before,
		      hcluster_stream_leader(&cl, b, "KV_" COORD_BUCKET));
	hcluster_signal(&cl, k, SIGCONT);
	wait_done(b, &r, "p", pushed);
	atomic_store(&r.stop, true);
	for (i = 0; i < 8; i++)
		pthread_join(th[i], NULL);
	/*
	 * The verdict on the settled cluster: right after the paused leader
	 * resumes, a read may still come from its old view (seen once on
	 * nats-server 2.9.10: 798 of 800 done, read after 800 of 800).
	 */
	assert_true(caught_up(b, "KV_" COORD_BUCKET, 30000));	/* the paused node caught up */
	verify_claims(b, &r, "p", pushed, true);
	run_release(&r, ixb);
	bus_close(b);
}

static int
setup(void **state)
{
	(void)state;
	return hcluster_start(&cl, NODES);
}

static int
teardown(void **state)
{
	(void)state;
	hcluster_destroy(&cl);
	return 0;
}

#define WATCHDOG_S 600	/* a hung run fails (SIGALRM, nodes killed) instead of hanging make check */

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kills),
		cmocka_unit_test(test_pause),
	};
	int rc;

	alarm(WATCHDOG_S);
	rc = cmocka_run_group_tests(tests, setup, teardown);

	print_message("buses kept open after bus_close (nats.c still busy with them): %zu\n",
		      bus_parked());
	bus_shutdown();
	return rc;
}
