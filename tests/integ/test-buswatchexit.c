/*
 * A watch freed while nats.c still holds messages for it, then the bus
 * closed and nats.c shut down, as every command ends: no message may be
 * left to nats.c past nats_CloseAndWait(). nats.c 3.4.1 frees such a
 * message through its garbage collector thread, which that call has
 * already stopped, so the message is lost: LeakSanitizer fails this test
 * (make check SANITIZE=address,...) when a watch is ended without draining
 * or bus_close() does not wait for the subscriptions to complete. Both
 * cases: a slow first callback while the rest queue up, freed from another
 * thread, and a callback freeing its own watch.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/bus.h"
#include "core/util.h"
#include "harness.h"

#define KEYS 300

struct slow {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct bus_watch *w;
	bool self_free;		/* the first call frees its own watch */
	int calls, late;	/* late: calls after bus_watch_free() returned */
	bool freed;
};

static void
slow_event(void *arg, const struct bus_kv_event *ev)
{
	struct slow *s = arg;
	bool first;

	(void)ev;
	pthread_mutex_lock(&s->mu);
	first = s->calls++ == 0;
	s->late += s->freed;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	if (!first)
		return;
	usleep(300 * 1000);	/* meanwhile the other keys queue up in nats.c */
	if (s->self_free) {
		bus_watch_free(s->w);
		pthread_mutex_lock(&s->mu);
		s->freed = true;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		usleep(200 * 1000);	/* still busy while the owner closes the bus */
	}
}

/* Watch KEYS keys with a slow first call; free the watch while they queue. */
static void
watch_and_drop(struct bus *b, struct slow *s)
{
	struct err e = ERR_INIT;

	pthread_mutex_lock(&s->mu);
	assert_int_equal(bus_kv_watch(b, "T_EXIT", 0, slow_event, s, &s->w, &e), ST_OK);
	while (s->calls == 0)
		pthread_cond_wait(&s->cv, &s->mu);
	if (s->self_free) {
		while (!s->freed)
			pthread_cond_wait(&s->cv, &s->mu);
		pthread_mutex_unlock(&s->mu);
		return;
	}
	pthread_mutex_unlock(&s->mu);
	usleep(50 * 1000);
	bus_watch_free(s->w);	/* waits out the slow call */
	pthread_mutex_lock(&s->mu);
	s->freed = true;
	pthread_mutex_unlock(&s->mu);
}

/* One call, none after the watch was freed. */
static void
assert_one_call(struct slow *s)
{
	pthread_mutex_lock(&s->mu);
	assert_int_equal(s->late, 0);
	assert_int_equal(s->calls, 1);
	pthread_mutex_unlock(&s->mu);
}

static void
test_watch_freed_then_exit(void **state)
{
	static struct slow other = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL,
				     false, 0, 0, false };
	static struct slow self = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL,
				    true, 0, 0, false };
	struct hserver srv;
	struct bus_kv_def def = { "T_EXIT", "test", 1 };
	struct err e = ERR_INIT;
	struct bus *b;
	bool created;
	char key[32];
	int64_t t0;
	int i;

	(void)state;
	memset(&srv, 0, sizeof srv);
	assert_int_equal(hserver_start(&srv), 0);
	b = hconnect(srv.url, 5000, 50, NULL, NULL);
	assert_non_null(b);
	assert_int_equal(bus_kv_ensure(b, &def, &created, &e), ST_OK);
	for (i = 0; i < KEYS; i++) {
		snprintf(key, sizeof key, "k%d", i);
		assert_int_equal(bus_kv_put(b, "T_EXIT", key, "0123456789abcdef", 16, NULL, &e),
				 ST_OK);
	}
	watch_and_drop(b, &other);
	watch_and_drop(b, &self);
	t0 = mono_ms();
	bus_close(b);	/* while the self-freeing call still runs */
	print_message("bus_close after two dropped watches: %lld ms\n", (long long)(mono_ms() - t0));
	bus_shutdown();
	assert_one_call(&other);
	assert_one_call(&self);
	hserver_destroy(&srv);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_watch_freed_then_exit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
