/*
 * The event loop: timers fire earliest first (ties in the order added, a
 * re-armed 0 ms timer once per pass), a wake from another thread ends the
 * wait and wakes coalesce, fds are called when ready and not after being
 * deleted, and a stop from another thread (or before the run) ends the run.
 */
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/evloop.h"
#include "core/util.h"

static struct evloop *
loop_new(void)
{
	struct evloop *l = NULL;
	struct err e = ERR_INIT;

	assert_int_equal(evloop_new(&l, &e), ST_OK);
	return l;
}

/* Timers record their tag in firing order. */
struct order {
	char seen[16];
	size_t n;
	int rearms;		/* a 0 ms timer re-arms itself this many times */
	uint64_t victim;	/* a timer the first one deletes */
};

/* arg for tag_timer: the order, and the tag it records. */
struct tagged {
	struct order *o;
	char tag;
};

static int64_t
tag_timer(struct evloop *l, uint64_t id, void *arg)
{
	const struct tagged *t = arg;
	struct order *o = t->o;
	char tag = t->tag;

	(void)id;
	o->seen[o->n++] = tag;
	if (tag == 'a' && o->victim)
		evloop_del_timer(l, o->victim);
	return EVLOOP_DONE;
}

static void
test_timer_order(void **state)
{
	struct evloop *l = loop_new();
	struct order o = { .n = 0 };
	struct tagged t30 = { &o, 'd' }, t10 = { &o, 'a' }, t20 = { &o, 'c' }, t10b = { &o, 'b' },
		      tdel = { &o, 'x' };
	int64_t deadline = mono_ms() + 2000;

	(void)state;
	evloop_add_timer(l, 30, tag_timer, &t30);
	evloop_add_timer(l, 10, tag_timer, &t10);
	evloop_add_timer(l, 20, tag_timer, &t20);
	evloop_add_timer(l, 10, tag_timer, &t10b);
	o.victim = evloop_add_timer(l, 25, tag_timer, &tdel);
	while (o.n < 4 && mono_ms() < deadline)
		assert_true(evloop_run_once(l, 100) >= 0);
	usleep(20 * 1000);
	evloop_run_once(l, 0);
	assert_int_equal(o.n, 4);
	assert_memory_equal(o.seen, "abcd", 4);	/* x was deleted by a */
	evloop_free(l);
}

/* Same deadline, added in this order: they fire in this order, in one pass. */
static void
test_timer_ties(void **state)
{
	struct evloop *l = loop_new();
	struct order o = { .n = 0 };
	struct tagged t[5] = { { &o, '1' }, { &o, '2' }, { &o, '3' }, { &o, '4' }, { &o, '5' } };
	size_t i;

	(void)state;
	for (i = 0; i < 5; i++)
		evloop_add_timer(l, 0, tag_timer, &t[i]);
	evloop_run_once(l, 1000);	/* armed in an earlier pass: all run now */
	assert_int_equal(o.n, 5);
	assert_memory_equal(o.seen, "12345", 5);
	evloop_free(l);
}

static int64_t
rearm_timer(struct evloop *l, uint64_t id, void *arg)
{
	int *calls = arg;

	(void)l;
	(void)id;
	return ++*calls < 3 ? 0 : EVLOOP_DONE;
}

/* A 0 ms timer that re-arms runs once per pass, three passes in all. */
static void
test_timer_rearm(void **state)
{
	struct evloop *l = loop_new();
	int calls = 0;

	(void)state;
	evloop_add_timer(l, 0, rearm_timer, &calls);
	assert_int_equal(evloop_run_once(l, 1000), 1);
	assert_int_equal(calls, 1);
	assert_int_equal(evloop_run_once(l, 1000), 1);
	assert_int_equal(evloop_run_once(l, 1000), 1);
	assert_int_equal(calls, 3);
	assert_int_equal(evloop_run_once(l, 0), 0);	/* done: nothing left */
	evloop_free(l);
}

struct waker {
	struct evloop *l;
	int count;		/* wakes to send */
	bool stop;		/* then stop the loop */
};

static void *
waker_main(void *arg)
{
	struct waker *w = arg;
	int i;

	usleep(50 * 1000);
	for (i = 0; i < w->count; i++)
		evloop_wake(w->l);
	if (w->stop)
		evloop_stop(w->l);
	return NULL;
}

static void
on_wake(struct evloop *l, void *arg)
{
	(void)l;
	atomic_fetch_add((atomic_int *)arg, 1);
}

/* Ten wakes from another thread end one long wait with one wake call. */
static void
test_wake_from_thread(void **state)
{
	struct evloop *l = loop_new();
	struct waker w = { l, 10, false };
	atomic_int wakes = 0;
	pthread_t th;
	int64_t t0;

	(void)state;
	evloop_on_wake(l, on_wake, &wakes);
	assert_int_equal(evloop_run_once(l, 0), 0);	/* nothing yet */
	assert_int_equal(pthread_create(&th, NULL, waker_main, &w), 0);
	pthread_join(th, NULL);	/* all ten written before the loop looks */
	t0 = mono_ms();
	assert_int_equal(evloop_run_once(l, 10000), 1);
	assert_true(mono_ms() - t0 < 1000);
	assert_int_equal(atomic_load(&wakes), 1);
	assert_int_equal(evloop_run_once(l, 0), 0);	/* coalesced: nothing left */
	evloop_free(l);
}

/* evloop_run() returns when another thread stops it, with no timer to help. */
static void
test_stop_from_thread(void **state)
{
	struct evloop *l = loop_new();
	struct waker w = { l, 1, true };
	struct err e = ERR_INIT;
	atomic_int wakes = 0;
	pthread_t th;
	int64_t t0 = mono_ms();

	(void)state;
	evloop_on_wake(l, on_wake, &wakes);
	assert_int_equal(pthread_create(&th, NULL, waker_main, &w), 0);
	assert_int_equal(evloop_run(l, &e), ST_OK);
	pthread_join(th, NULL);
	assert_true(mono_ms() - t0 < 5000);
	assert_true(atomic_load(&wakes) >= 1);
	/* A stop before the run ends it at once; the run clears it. */
	evloop_stop(l);
	assert_int_equal(evloop_run(l, &e), ST_OK);
	assert_int_equal(evloop_run_once(l, 0), 1);	/* the stop's wake */
	evloop_free(l);
}

struct reader {
	int calls;
	short revents;
	char got[8];
};

static void
on_readable(struct evloop *l, int fd, short revents, void *arg)
{
	struct reader *r = arg;
	ssize_t n;

	(void)l;
	r->calls++;
	r->revents = revents;
	n = read(fd, r->got, sizeof r->got - 1);
	r->got[n > 0 ? n : 0] = '\0';
}

/* An fd's handler runs when data is there, not before, not after deletion. */
static void
test_fd_ready(void **state)
{
	struct evloop *l = loop_new();
	struct reader r = { 0 };
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	evloop_add_fd(l, p[0], POLLIN, on_readable, &r);
	assert_int_equal(evloop_run_once(l, 20), 0);
	assert_int_equal(r.calls, 0);
	assert_int_equal(write(p[1], "hi", 2), 2);
	assert_int_equal(evloop_run_once(l, 1000), 1);
	assert_int_equal(r.calls, 1);
	assert_true(r.revents & POLLIN);
	assert_string_equal(r.got, "hi");
	evloop_del_fd(l, p[0]);
	assert_int_equal(write(p[1], "again", 5), 5);
	assert_int_equal(evloop_run_once(l, 20), 0);
	assert_int_equal(r.calls, 1);
	close(p[0]);
	close(p[1]);
	evloop_free(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timer_order),
		cmocka_unit_test(test_timer_ties),
		cmocka_unit_test(test_timer_rearm),
		cmocka_unit_test(test_wake_from_thread),
		cmocka_unit_test(test_stop_from_thread),
		cmocka_unit_test(test_fd_ready),
	};

	return cmocka_run_group_tests_name("evloop", tests, NULL, NULL);
}
