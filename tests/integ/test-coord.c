/*
 * The coordinator against a real nats-server: 64 claimers on 10,000 tasks,
 * and a server crash while claimers run. Invariants are checked from the
 * final records on the server, not from the claimers' counts.
 */
#include <pthread.h>
#include <setjmp.h>
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
#include "core/schema.h"
#include "core/util.h"
#include "harness.h"

static struct hserver srv;

static struct bus *
connect_srv(void)
{
	struct bus *b = hconnect(srv.url, 3000, 50, NULL, NULL);

	if (b == NULL)
		fail_msg("cannot connect to %s", srv.url);
	return b;
}

/* A claim some thread was told it made: task id and fencing token. */
struct claim_log {
	pthread_mutex_t mu;
	char (*id)[32];
	uint64_t *token;
	size_t n, cap;
};

struct run {
	struct coord_cfg cfg;
	struct coord_index *ix[2];	/* two "processes": they race through the CAS */
	struct claim_log log;
	atomic_bool stop;
	atomic_size_t errors;
	bool complete;			/* claimers finish what they claim */
	size_t target;			/* stop when this many claims are logged */
};

static void
log_add(struct claim_log *l, const struct task *t)
{
	pthread_mutex_lock(&l->mu);
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 1024;
		l->id = xrealloc(l->id, l->cap * sizeof *l->id);
		l->token = xrealloc(l->token, l->cap * sizeof *l->token);
	}
	snprintf(l->id[l->n], sizeof l->id[0], "%s", t->id);
	l->token[l->n++] = t->token;
	pthread_mutex_unlock(&l->mu);
}

struct worker {
	struct run *run;
	int n;
};

static void *
claimer(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->run;
	struct bus *b = connect_srv();
	struct coord_index *ix = r->ix[w->n % 2];
	char swarm[16];
	struct claimer c = { .swarm = swarm };

	snprintf(swarm, sizeof swarm, "s%d", w->n);
	while (!atomic_load(&r->stop)) {
		struct opctx op;
		struct task t;
		struct err e = ERR_INIT;
		enum status st;

		opctx_init(&op, NULL);
		st = coord_claim(b, ix, &r->cfg, &op, &c, &t, &e);
		opctx_release(&op);
		if (st == ST_OK) {
			log_add(&r->log, &t);
			if (r->complete) {
				struct owner_req req = { OWNER_COMPLETE, t.id, swarm, t.token,
							 NULL, NULL, false };
				struct task done;
				opctx_init(&op, NULL);
				if (coord_owner(b, &r->cfg, &op, &req, &done, &e) == ST_OK)
					task_release(&done);
				opctx_release(&op);
			}
			task_release(&t);
		} else if (st == ST_NOT_FOUND) {
			coord_index_wait(ix, 20);
		} else {
			atomic_fetch_add(&r->errors, 1);	/* outage: try again */
			usleep(10000);
		}
		pthread_mutex_lock(&r->log.mu);
		if (r->log.n >= r->target)
			atomic_store(&r->stop, true);
		pthread_mutex_unlock(&r->log.mu);
	}
	bus_close(b);
	return NULL;
}

static size_t
push_many(struct bus *b, const struct coord_cfg *cfg, const char *prefix, size_t n)
{
	size_t i, ok = 0;
	char id[32];

	for (i = 0; i < n; i++) {
		struct task_spec s = { .id = id, .priority = (int)(i % 10) };
		struct opctx op;
		struct task t;
		struct err e = ERR_INIT;
		bool existed;

		snprintf(id, sizeof id, "%s%zu", prefix, i);
		opctx_init(&op, NULL);
		if (coord_push(b, cfg, &op, &s, &t, &existed, &e) == ST_OK)
			ok++;
		task_release(&t);
		opctx_release(&op);
	}
	return ok;
}

/* Final records vs the log: each task claimed once by a thread that knows it. */
struct verdict {
	struct claim_log *log;
	enum task_state want;
	size_t records, in_state, unknown_owner, double_owner;
};

static void
judge(void *arg, const char *json, size_t len)
{
	struct verdict *v = arg;
	struct task t;
	size_t i, holders = 0;

	if (task_from_json(json, len, &t, NULL) != ST_OK)
		return;
	v->records++;
	if (t.state == v->want)
		v->in_state++;
	for (i = 0; i < v->log->n; i++)
		if (strcmp(v->log->id[i], t.id) == 0 && v->log->token[i] == t.token)
			holders++;
	if (holders == 0)
		v->unknown_owner++;
	if (holders > 1)
		v->double_owner++;
	task_release(&t);
}

/* Read the final records back; returns how many are in the wanted state. */
static size_t
tally(struct bus *b, struct run *r, enum task_state want, struct verdict *v)
{
	struct coord_index *fresh = NULL;
	struct err e = ERR_INIT;

	memset(v, 0, sizeof *v);
	v->log = &r->log;
	v->want = want;
	pthread_mutex_lock(&r->log.mu);
	if (coord_index_open(b, &r->cfg, &fresh, &e) == ST_OK)
		coord_index_each(fresh, judge, v);
	pthread_mutex_unlock(&r->log.mu);
	coord_index_free(fresh);
	return v->in_state;
}

static void
verify(struct bus *b, struct run *r, size_t pushed, enum task_state want, size_t *unknown)
{
	struct verdict v;

	tally(b, r, want, &v);
	assert_true(v.records >= pushed);		/* none lost */
	assert_int_equal(v.in_state, v.records);	/* all in one consistent state */
	assert_int_equal(v.double_owner, 0);		/* never two holders of one token */
	*unknown = v.unknown_owner;
}

static void
run_claimers(struct run *r, int n, pthread_t *th, struct worker *w)
{
	int i;

	for (i = 0; i < n; i++) {
		w[i].run = r;
		w[i].n = i;
		pthread_create(&th[i], NULL, claimer, &w[i]);
	}
}

static void
join_claimers(int n, pthread_t *th)
{
	int i;

	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);
}

static void
run_init(struct run *r, struct bus *b, const char *bucket, int64_t lease_ms)
{
	struct bus_kv_def def = { bucket, "test", 8 };
	struct err e = ERR_INIT;
	bool created;

	memset(r, 0, sizeof *r);
	pthread_mutex_init(&r->log.mu, NULL);
	r->cfg = (struct coord_cfg){ bucket, lease_ms, 1000, 100 };
	assert_int_equal(bus_kv_ensure(b, &def, &created, &e), ST_OK);
	assert_int_equal(coord_index_open(b, &r->cfg, &r->ix[0], &e), ST_OK);
	assert_int_equal(coord_index_open(b, &r->cfg, &r->ix[1], &e), ST_OK);
}

static void
run_release(struct run *r)
{
	coord_index_free(r->ix[0]);
	coord_index_free(r->ix[1]);
	free(r->log.id);
	free(r->log.token);
}

/* 64 claimers in two groups race for 10,000 tasks. */
static void
test_64_claimers(void **state)
{
	static struct run r;
	pthread_t th[64];
	struct worker w[64];
	struct bus *b = connect_srv();
	size_t pushed, unknown = 0, i;

	(void)state;
	run_init(&r, b, "T_CLAIM64", 600000);
	pushed = push_many(b, &r.cfg, "t", 10000);
	assert_int_equal(pushed, 10000);
	r.target = pushed;
	run_claimers(&r, 64, th, w);
	join_claimers(64, th);
	assert_int_equal(r.log.n, 10000);
	verify(b, &r, pushed, TASK_CLAIMED, &unknown);
	assert_int_equal(unknown, 0);
	for (i = 0; i < r.log.n; i++)	/* every claim carries a token */
		assert_true(r.log.token[i] > 0);
	run_release(&r);
	bus_close(b);
}

/*
 * Kill and restart the server while 8 claimers claim and complete 2,000
 * tasks. A claim whose answer was lost in the crash is held by nobody who
 * knows it; its short lease expires and another claimer takes it over. In the
 * end every task is done, under a token that exactly one claimer was given,
 * and none is lost.
 */
static void
test_server_restart(void **state)
{
	static struct run r;
	pthread_t th[8];
	struct worker w[8];
	struct verdict v;
	struct bus *b = connect_srv();
	size_t pushed, unknown = 0;
	int64_t deadline;

	(void)state;
	run_init(&r, b, "T_RESTART", 300);
	r.complete = true;
	pushed = push_many(b, &r.cfg, "r", 2000);
	r.target = (size_t)-1;
	run_claimers(&r, 8, th, w);
	while (r.log.n < 500)
		usleep(1000);
	hserver_kill(&srv);
	usleep(200 * 1000);
	assert_int_equal(hserver_start(&srv), 0);
	deadline = mono_ms() + 60000;
	while (tally(b, &r, TASK_DONE, &v) < pushed && mono_ms() < deadline)
		usleep(300 * 1000);
	atomic_store(&r.stop, true);
	join_claimers(8, th);
	assert_true(bus_reconnects(b) >= 1);
	verify(b, &r, pushed, TASK_DONE, &unknown);
	assert_int_equal(unknown, 0);
	run_release(&r);
	bus_close(b);
}

static int
setup(void **state)
{
	(void)state;
	return hserver_start(&srv);
}

static int
teardown(void **state)
{
	(void)state;
	hserver_destroy(&srv);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_64_claimers),
		cmocka_unit_test(test_server_restart),
	};
	int rc = cmocka_run_group_tests_name("coord", tests, setup, teardown);

	bus_shutdown();
	return rc;
}
