/*
 * Budgets against a real nats-server: 16 concurrent spenders, each with its
 * own connection, reserve and settle against one budget. Threads of one
 * process share a group commit per budget and server URL (budget.c), so
 * half connect as 127.0.0.1 and half as localhost: two groups that race
 * each other through the compare-and-swap, as two processes do. The invariants are
 * read from the final record on the server (spent equals what the spenders
 * settled, nothing left reserved, never past the allocation) and from the
 * events on IF_EVENTS (each threshold crossed raised exactly once).
 *
 * Named mutation: writing the record with bus_kv_put instead of
 * bus_kv_update in budget.c's write_budget (no compare-and-swap) loses
 * updates under this race, and spent no longer equals the settled sum.
 *
 * Then: a usage sequence settled twice counts once; a record another
 * client wrote that is not a budget is refused and left as it is.
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

#include "core/budget.h"
#include "core/schema.h"
#include "core/util.h"
#include "harness.h"

#define SPENDERS 16
#define ATTEMPTS 150		/* per spender */
#define ALLOCATED 400000	/* micro-USD: about half of what they try to hold */

static struct hserver srv;

static struct bus *
connect_srv(void)
{
	struct bus *b = hconnect(srv.url, 5000, 50, NULL, NULL);

	if (b == NULL)
		fail_msg("cannot connect to %s", srv.url);
	return b;
}

struct race {
	atomic_llong settled;	/* micro-USD the spenders settled */
	atomic_size_t granted, refused, errors;
	atomic_int spenders;
};

static void *
spender(void *arg)
{
	struct race *r = arg;
	int i, me = atomic_fetch_add(&r->spenders, 1);
	char url[64];
	struct bus *b;
	struct opctx op;

	snprintf(url, sizeof url, "nats://%s:%d", me % 2 ? "localhost" : "127.0.0.1", srv.port);
	b = hconnect(url, 5000, 50, NULL, NULL);

	opctx_init(&op, NULL);
	op.actor = "test";
	for (i = 0; b && i < ATTEMPTS; i++) {
		int64_t held = (int64_t)((i * 7919 + me * 104729) % 999 + 1000);
		int64_t spent = held - i % 3 * 100;
		struct err e = ERR_INIT;
		struct budget out;
		enum status st = budget_reserve(b, &op, BUDGET_SWARM, "race", held, &out, &e);
		if (st == ST_OK || st == ST_REFUSED)
			budget_release(&out);
		if (st == ST_REFUSED) {
			atomic_fetch_add(&r->refused, 1);
			continue;
		}
		if (st == ST_OK)
			st = budget_settle(b, &op, BUDGET_SWARM, "race", held, spent, 0, &out, NULL,
					   &e);
		if (st != ST_OK) {
			fprintf(stderr, "spender: %s\n", e.msg);
			atomic_fetch_add(&r->errors, 1);
			continue;
		}
		if (out.spent + out.reserved > out.allocated)
			atomic_fetch_add(&r->errors, 1);	/* an overdraw seen on the way */
		budget_release(&out);
		atomic_fetch_add(&r->granted, 1);
		atomic_fetch_add(&r->settled, spent);
	}
	opctx_release(&op);
	bus_close(b);
	return NULL;
}

/* Threshold events of budget "race" seen on IF_EVENTS, by percent. */
struct seen {
	pthread_mutex_t mu;
	int count[101];
	int total;
};

static void
event_seen(void *arg, const struct bus_kv_event *ev)
{
	struct seen *s = arg;
	const char *p;
	int pct;

	if (ev->snapshot_done || ev->key == NULL || strstr(ev->key, ".threshold") == NULL)
		return;
	p = memmem(ev->value, ev->len, "\"pct\":", 6);
	if (p == NULL || sscanf(p + 6, "%d", &pct) != 1 || pct < 0 || pct > 100)
		return;
	pthread_mutex_lock(&s->mu);
	s->count[pct]++;
	s->total++;
	pthread_mutex_unlock(&s->mu);
}

static void
test_16_spenders(void **state)
{
	struct bus *b = connect_srv();
	struct race r = { 0 };
	struct seen seen = { .mu = PTHREAD_MUTEX_INITIALIZER };
	struct bus_watch *w = NULL;
	pthread_t th[SPENDERS];
	struct opctx op;
	struct budget fin;
	int i, want = 0, waited;

	(void)state;
	assert_int_equal(schema_ensure(b, NULL, NULL), ST_OK);
	assert_int_equal(bus_stream_watch(b, "IF_EVENTS", "if.v1.evt.budget.race.>", 0,
					  event_seen, &seen, &w, NULL), ST_OK);
	opctx_init(&op, NULL);
	assert_int_equal(budget_allocate(b, &op, BUDGET_SWARM, "race", NULL, ALLOCATED, &fin,
					 NULL), ST_OK);
	budget_release(&fin);
	for (i = 0; i < SPENDERS; i++)
		pthread_create(&th[i], NULL, spender, &r);
	for (i = 0; i < SPENDERS; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(budget_get(b, BUDGET_SWARM, "race", &fin, NULL), ST_OK);
	assert_int_equal(atomic_load(&r.errors), 0);
	assert_true(atomic_load(&r.refused) > 0);	/* the race reached the limit */
	assert_int_equal(fin.reserved, 0);
	assert_int_equal(fin.reservations, 0);
	assert_int_equal(fin.spent, atomic_load(&r.settled));
	assert_true(fin.spent <= fin.allocated);
	assert_int_equal(fin.overrun, 0);
	/*
	 * Each threshold crossed: one event, however many spenders raced over
	 * it; 80 is the default policy's budget_warning_threshold.
	 */
	for (i = 0; i < 5; i++)
		want += fin.threshold_pct >= (int[]){ 50, 75, 80, 90, 100 }[i];
	assert_true(want >= 2);
	for (waited = 0; waited < 5000; waited += 50) {
		pthread_mutex_lock(&seen.mu);
		bool done = seen.total >= want;
		pthread_mutex_unlock(&seen.mu);
		if (done)
			break;
		usleep(50000);
	}
	usleep(300000);	/* a duplicate would arrive by now */
	bus_watch_free(w);
	assert_int_equal(seen.total, want);
	assert_int_equal(seen.count[50], 1);
	assert_int_equal(seen.count[75], 1);
	assert_int_equal(seen.count[80], fin.threshold_pct >= 80);
	budget_release(&fin);
	opctx_release(&op);
	bus_close(b);
}

static void
test_settle_once(void **state)
{
	struct bus *b = connect_srv();
	struct budget out;
	struct opctx op;
	bool dup = true;

	(void)state;
	opctx_init(&op, NULL);
	assert_int_equal(budget_allocate(b, &op, BUDGET_TASK, "t-once", "s1", 5000, &out, NULL),
			 ST_OK);
	budget_release(&out);
	assert_int_equal(budget_settle(b, &op, BUDGET_TASK, "t-once", 0, 1200, 7, &out, &dup,
				       NULL), ST_OK);
	assert_false(dup);
	budget_release(&out);
	assert_int_equal(budget_settle(b, &op, BUDGET_TASK, "t-once", 0, 1200, 7, &out, &dup,
				       NULL), ST_OK);
	assert_true(dup);
	budget_release(&out);
	assert_int_equal(budget_get(b, BUDGET_TASK, "t-once", &out, NULL), ST_OK);
	assert_int_equal(out.spent, 1200);
	assert_string_equal(out.swarm, "s1");
	assert_string_equal(out.task, "t-once");
	assert_int_equal(out.last_usage_seq, 7);
	budget_release(&out);
	/* Reserving past the allocation is refused and writes nothing. */
	assert_int_equal(budget_reserve(b, &op, BUDGET_TASK, "t-once", 3801, &out, NULL),
			 ST_REFUSED);
	budget_release(&out);
	assert_int_equal(budget_reserve(b, &op, BUDGET_TASK, "t-once", 3800, &out, NULL), ST_OK);
	assert_int_equal(out.reserved, 3800);
	budget_release(&out);
	opctx_release(&op);
	bus_close(b);
}

static void
test_foreign_record(void **state)
{
	static const char *const bad[] = {
		"not json", "{\"v\":1,\"swarm\":\"bad\",\"allocated_micros\":-1,"
		"\"reserved_micros\":0,\"spent_micros\":0}",
		"{\"v\":1,\"swarm\":\"other\",\"allocated_micros\":1,\"reserved_micros\":0,"
		"\"spent_micros\":0}",
		"{\"v\":1,\"swarm\":\"bad\",\"allocated_micros\":1e300,\"reserved_micros\":0,"
		"\"spent_micros\":0}",
		"{\"v\":1,\"swarm\":\"bad\",\"allocated_micros\":5,\"reserved_micros\":9,"
		"\"spent_micros\":0}",
	};
	struct bus *b = connect_srv();
	struct bus_kv_entry ent = BUS_KV_ENTRY_INIT;
	struct budget out;
	struct opctx op;
	size_t i;

	(void)state;
	opctx_init(&op, NULL);
	for (i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct err e = ERR_INIT;
		assert_int_equal(bus_kv_put(b, BUDGET_BUCKET, "swarm.bad", bad[i], strlen(bad[i]),
					    NULL, NULL), ST_OK);
		assert_int_equal(budget_reserve(b, &op, BUDGET_SWARM, "bad", 1, &out, &e),
				 ST_INVALID_RECORD);
		assert_non_null(strstr(e.msg, "invalid budget record"));
		assert_int_equal(bus_kv_get(b, BUDGET_BUCKET, "swarm.bad", &ent, NULL), ST_OK);
		assert_memory_equal(ent.value.s, bad[i], strlen(bad[i]));
	}
	buf_release(&ent.value);
	opctx_release(&op);
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
		cmocka_unit_test(test_16_spenders),
		cmocka_unit_test(test_settle_once),
		cmocka_unit_test(test_foreign_record),
	};
	int rc = cmocka_run_group_tests_name("budget", tests, setup, teardown);

	bus_shutdown();
	return rc;
}
