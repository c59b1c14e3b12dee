/*
 * SLO against a real nats-server: breach episodes opened and closed exactly
 * once by eight evaluators racing on their own connections (the CAS on the
 * current episode's key), samples published with core NATS and copied into
 * the rollups exactly once, also by two syncs racing on one rollups file.
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

#include "core/schema.h"
#include "core/slo.h"
#include "core/slodb.h"
#include "core/util.h"
#include "harness.h"

#define RACERS 8

static struct hserver srv;
static struct config cfg;

static struct bus *
connect_srv(void)
{
	struct bus *b = hconnect(srv.url, 3000, 50, NULL, NULL);

	if (b == NULL)
		fail_msg("cannot connect to %s", srv.url);
	return b;
}

/* A result of swarm "race" whose success objective has the verdict v. */
static void
result(struct slo_result *r, enum slo_verdict v)
{
	memset(r, 0, sizeof *r);
	r->swarm = xstrdup("race");
	r->o[SLO_SUCCESS].defined = true;
	r->o[SLO_SUCCESS].data = true;
	r->o[SLO_SUCCESS].verdict = v;
	r->o[SLO_SUCCESS].measured = v == SLO_BREACH ? 0.5 : 0.999;
	r->o[SLO_SUCCESS].target = 0.99;
	snprintf(r->o[SLO_SUCCESS].reason, sizeof r->o[SLO_SUCCESS].reason, "fixture");
	r->verdict = v;
}

struct racer {
	pthread_barrier_t *start;
	const struct slo_result *r;
	atomic_size_t *changed;
	atomic_size_t *errors;
};

/* One evaluator: its own connection, its own load of the episodes, then apply. */
static void *
race(void *arg)
{
	struct racer *x = arg;
	struct bus *b = connect_srv();
	struct slo_episodes *s = NULL;
	struct opctx op;
	size_t changed = 0;

	opctx_init(&op, NULL);
	op.actor = "racer";
	pthread_barrier_wait(x->start);
	if (slo_episodes_load(b, &s, NULL) != ST_OK ||
	    slo_episodes_apply(b, &op, s, x->r, 1, wall_ms(), &changed, NULL) != ST_OK)
		atomic_fetch_add(x->errors, 1);
	atomic_fetch_add(x->changed, changed);
	slo_episodes_free(s);
	opctx_release(&op);
	bus_close(b);
	return NULL;
}

/* RACERS evaluators apply r at once: how many changes they made. */
static size_t
race_all(const struct slo_result *r)
{
	pthread_t t[RACERS];
	pthread_barrier_t start;
	atomic_size_t changed = 0, errors = 0;
	struct racer x = { &start, r, &changed, &errors };
	int i;

	pthread_barrier_init(&start, NULL, RACERS);
	for (i = 0; i < RACERS; i++)
		pthread_create(&t[i], NULL, race, &x);
	for (i = 0; i < RACERS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&start);
	assert_int_equal(atomic_load(&errors), 0);
	return atomic_load(&changed);
}

/* The episodes of swarm "race" as listed. */
static void
violations(struct bus *b, struct slo_violations *l)
{
	assert_int_equal(slo_violations_list(b, "race", l, NULL), ST_OK);
}

static void
test_episodes_once(void **state)
{
	struct bus *b = connect_srv();
	struct slo_violations l;
	struct slo_result r;

	(void)state;
	result(&r, SLO_BREACH);
	assert_int_equal(race_all(&r), 1);		/* opened once */
	assert_int_equal(race_all(&r), 0);		/* and not again */
	violations(b, &l);
	assert_int_equal(l.n, 1);
	assert_true(l.v[0].open);
	assert_int_equal(l.v[0].episode, 1);
	slo_violations_release(&l);
	slo_result_release(&r);

	result(&r, SLO_OK);
	assert_int_equal(race_all(&r), 1);		/* closed once */
	assert_int_equal(race_all(&r), 0);
	slo_result_release(&r);
	result(&r, SLO_NO_DATA);
	assert_int_equal(race_all(&r), 0);		/* no data changes nothing */
	slo_result_release(&r);

	result(&r, SLO_BREACH);
	assert_int_equal(race_all(&r), 1);		/* a second episode */
	violations(b, &l);
	assert_int_equal(l.n, 2);
	assert_false(l.v[0].open);
	assert_true(l.v[0].closed >= l.v[0].opened);
	assert_true(l.v[1].open);
	assert_int_equal(l.v[1].episode, 2);
	slo_violations_release(&l);
	slo_result_release(&r);
	bus_close(b);
}

struct publisher {
	int id;
	int n;
};

/* n samples of swarm pub-<id>, one outcome every 10 ms back from now. */
static void *
publish(void *arg)
{
	struct publisher *p = arg;
	struct bus *b = connect_srv();
	int64_t now = wall_ms();
	char swarm[32];
	int i;

	snprintf(swarm, sizeof swarm, "pub-%d", p->id);
	for (i = 0; i < p->n; i++) {
		struct slo_sample s = { .swarm = swarm, .kind = SLO_SAMPLE_TASK, .ts = now - i * 10,
					.latency_ms = i % 50, .ok = i % 10 != 0 };
		assert_int_equal(slo_sample_publish(b, &s, NULL), ST_OK);
	}
	bus_rtt(b, &(int64_t){ 0 }, NULL);	/* flushed */
	bus_close(b);
	return NULL;
}

struct syncer_arg {
	const char *path;
	enum status st;
	pthread_barrier_t *start;
	struct err e;
};

static void *
sync_file(void *arg)
{
	struct syncer_arg *a = arg;
	struct bus *b = connect_srv();
	struct slodb *d = NULL;
	uint64_t added, rejected;

	a->st = slodb_open(&cfg, a->path, &d, &a->e);
	pthread_barrier_wait(a->start);
	if (a->st == ST_OK)
		a->st = slo_sync(b, &cfg, d, &added, &rejected, &a->e);
	slodb_close(d);
	bus_close(b);
	return NULL;
}

/* Sum the outcomes of pub-* over hour rows. */
static void
count_rows(void *arg, const struct slodb_row *r)
{
	*(uint64_t *)arg += r->n;
}

static void
test_samples_once(void **state)
{
	struct publisher p[4] = { { 0, 1500 }, { 1, 1500 }, { 2, 1500 }, { 3, 1500 } };
	struct syncer_arg s[2];
	pthread_barrier_t start;
	pthread_t t[4];
	struct bus *b = connect_srv();
	struct bus_stream_stat ss;
	struct slodb *d = NULL;
	char path[300];
	uint64_t n = 0, added = 0, rejected = 0;
	int i;

	(void)state;
	for (i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, publish, &p[i]);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < 500 && bus_stream_stat(b, SLO_STREAM, &ss, NULL) == ST_OK &&
		    ss.msgs < 6000; i++)
		usleep(10000);
	assert_int_equal(ss.msgs, 6000);

	/* Two syncs race on one file: every sample counted once. */
	snprintf(path, sizeof path, "%s/slo.db", srv.dir);
	pthread_barrier_init(&start, NULL, 2);
	for (i = 0; i < 2; i++) {
		s[i] = (struct syncer_arg){ path, ST_OK, &start, ERR_INIT };
		pthread_create(&t[i], NULL, sync_file, &s[i]);
	}
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&start);
	for (i = 0; i < 2; i++)
		if (s[i].st != ST_OK)
			fail_msg("sync %d: %s", i, s[i].e.msg);
	assert_int_equal(slodb_open(&cfg, path, &d, NULL), ST_OK);
	assert_int_equal(slodb_last_seq(d), 6000);
	assert_int_equal(slodb_rows(d, SLODB_HOUR, 0, INT64_MAX, NULL, count_rows, &n, NULL), ST_OK);
	assert_int_equal(n, 6000);
	assert_int_equal(slo_sync(b, &cfg, d, &added, &rejected, NULL), ST_OK);
	assert_int_equal(added, 0);		/* nothing twice */
	slodb_close(d);
	bus_close(b);
}

static int
setup(void **state)
{
	struct bus *b;

	(void)state;
	config_init(&cfg);
	if (hserver_start(&srv) != 0)
		return -1;
	if ((b = hconnect(srv.url, 3000, 50, NULL, NULL)) == NULL)
		return -1;
	if (schema_ensure(b, NULL, NULL) != ST_OK)
		return -1;
	bus_close(b);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	hserver_destroy(&srv);
	config_release(&cfg);
	bus_shutdown();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_episodes_once),
		cmocka_unit_test(test_samples_once),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
