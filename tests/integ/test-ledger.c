/*
 * The witness ledger on a real nats-server: 8 processes appending 1,000
 * entries each (half one at a time, half in group-commit batches) make one
 * valid chain of 8,000, read back and verified; a group-commit writer whose
 * answers are lost (server killed and restarted under it, or a timeout
 * shorter than a batch) writes every entry exactly once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "core/ledger.h"
#include "core/schema.h"
#include "core/util.h"
#include "harness.h"

static struct hserver srv;

static struct bus *
connect_srv(void)
{
	return hconnect(srv.url, 5000, 50, NULL, NULL);
}

static void
make_entry(struct wentry *e, const char *component, int id, int i)
{
	wentry_init(e);
	e->time = wall_ms();
	e->component = xstrdup(component);
	e->event = xstrdup("test.append");
	e->actor = xasprintf("proc-%d", id);
	e->payload = xasprintf("{\"i\":%d}", i);
	e->cost_micros = i;
}

/*
 * One writer process: n entries from component "writer-<id>"; even ids
 * submit them to a group-commit thread, odd ones append one at a time.
 */
static int
writer(int id, int n)
{
	struct bus *b = connect_srv();
	struct ledger_writer w;
	struct err err = ERR_INIT;
	char component[32];
	int i, bad = 0;

	if (b == NULL)
		return 1;
	snprintf(component, sizeof component, "writer-%d", id);
	ledger_writer_init(&w, b);
	if (id % 2 == 0)
		ledger_writer_start(&w);
	for (i = 0; i < n && !bad; i++) {
		struct wentry e;
		make_entry(&e, component, id, i);
		if (id % 2 == 0)
			ledger_submit(&w, &e);
		else if (ledger_append(&w, &e, &err) != ST_OK)
			bad = 1;
		wentry_release(&e);
	}
	if (!bad && id % 2 == 0 && ledger_flush(&w, &err) != ST_OK)
		bad = 1;
	if (bad)
		fprintf(stderr, "writer %d: %s\n", id, err.msg);
	ledger_writer_release(&w);
	bus_close(b);
	bus_shutdown();
	return bad;
}

#define RESTART_N 3000

struct check {
	struct wverifier v;
	int per_writer[8];
	const char *name;	/* component of the lost-answer tests */
	int restart[RESTART_N];	/* how often each of its entries is there */
};

static enum status
feed(void *arg, const struct wentry *e, struct err *err)
{
	struct check *c = arg;
	int id, i;

	(void)err;
	wverifier_entry(&c->v, e);
	if (e->component && sscanf(e->component, "writer-%d", &id) == 1 && id >= 0 && id < 8)
		c->per_writer[id]++;
	if (e->component && strcmp(e->component, c->name) == 0 && e->payload &&
	    sscanf(e->payload, "{\"i\":%d}", &i) == 1 && i >= 0 && i < RESTART_N)
		c->restart[i]++;
	return ST_OK;
}

/* Read the whole ledger back and verify it. */
static struct check *
read_back(const char *name, uint64_t *n)
{
	struct check *c = xcalloc(1, sizeof *c);
	struct bus *b = connect_srv();
	struct err e = ERR_INIT;

	assert_non_null(b);
	c->name = name;
	wverifier_init(&c->v, NULL);
	assert_int_equal(ledger_read(b, feed, c, n, &e), ST_OK);
	assert_int_equal(c->v.v.fault, WF_NONE);
	assert_int_equal(c->v.v.entries, *n);
	bus_close(b);
	return c;
}

static void
check_free(struct check *c)
{
	wverifier_release(&c->v);
	free(c);
}

static void
test_eight_processes(void **state)
{
	pid_t kids[8];
	struct check *c;
	uint64_t n = 0;
	int i, status;

	(void)state;
	/*
	 * Real processes: fork, then exec this program as a writer. A child
	 * that only forked would inherit nats.c's inbox generator state from
	 * the parent, and all children would share reply subjects.
	 */
	for (i = 0; i < 8; i++) {
		char id[8];
		snprintf(id, sizeof id, "%d", i);
		kids[i] = fork();
		assert_true(kids[i] >= 0);
		if (kids[i] == 0) {
			execl("/proc/self/exe", "test-ledger", "--writer", id, srv.url, (char *)NULL);
			_exit(127);
		}
	}
	for (i = 0; i < 8; i++) {
		assert_int_equal(waitpid(kids[i], &status, 0), kids[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	c = read_back("", &n);
	assert_int_equal(n, 8000);
	for (i = 0; i < 8; i++)
		assert_int_equal(c->per_writer[i], 1000);
	check_free(c);
}

/*
 * RESTART_N entries of component 'name' through a group-commit writer whose
 * answers are lost: with kill, the server is killed and restarted under it;
 * else the timeout (timeout_ms) is shorter than a batch takes. The writer
 * must find what landed and send the rest: every entry exactly once.
 */
static void
lost_answers(const char *name, int64_t timeout_ms, bool kill)
{
	struct bus *b = hconnect(srv.url, timeout_ms, 50, NULL, NULL);
	struct ledger_writer w;
	struct err err = ERR_INIT;
	struct check *c;
	uint64_t n = 0;
	int i;

	assert_non_null(b);
	ledger_writer_init(&w, b);
	ledger_writer_start(&w);
	for (i = 0; i < RESTART_N; i++) {
		struct wentry e;
		make_entry(&e, name, 0, i);
		ledger_submit(&w, &e);
		if (kill && i == RESTART_N / 3) {
			usleep(2000);
			hserver_kill(&srv);
		}
		if (kill && i == 2 * RESTART_N / 3)
			assert_int_equal(hserver_start(&srv), 0);
	}
	/* Failures are retried by the writer's thread; wait for the end. */
	while (ledger_flush(&w, &err) != ST_OK)
		usleep(50000);
	ledger_writer_release(&w);
	print_message("%s: %llu batches, %llu failures, %llu entries found after lost "
		      "answers\n", name, (unsigned long long)w.batches,
		      (unsigned long long)w.failures, (unsigned long long)w.recovered);
	if (!kill)
		assert_true(w.recovered > 0);	/* the path under test was taken */
	bus_close(b);
	c = read_back(name, &n);
	for (i = 0; i < RESTART_N; i++)
		if (c->restart[i] != 1)
			fail_msg("%s: entry %d is there %d times", name, i, c->restart[i]);
	check_free(c);
}

static void
test_restart(void **state)
{
	(void)state;
	lost_answers("restart", 5000, true);
}

static void
test_late_answers(void **state)
{
	(void)state;
	lost_answers("late", 3, false);
}

/* A stream holding something that is not an entry is refused, not extended. */
static void
test_foreign_message(void **state)
{
	struct bus *b = connect_srv();
	struct ledger_writer w;
	struct wentry e;
	struct err err = ERR_INIT;

	(void)state;
	assert_int_equal(bus_js_publish(b, LEDGER_SUBJECT, "junk", 4, NULL, NULL, &err), ST_OK);
	ledger_writer_init(&w, b);
	wentry_init(&e);
	e.component = xstrdup("test");
	assert_int_equal(ledger_append(&w, &e, &err), ST_WITNESS);
	assert_non_null(strstr(err.msg, "is not a witness entry"));
	wentry_release(&e);
	ledger_writer_release(&w);
	bus_close(b);
}

static int
setup(void **state)
{
	struct bus *b;
	struct err e = ERR_INIT;

	(void)state;
	if (hserver_start(&srv) != 0 || (b = connect_srv()) == NULL)
		return -1;
	if (schema_ensure(b, NULL, &e) != ST_OK)
		return -1;
	bus_close(b);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	hserver_destroy(&srv);
	return 0;
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eight_processes),
		cmocka_unit_test(test_restart),
		cmocka_unit_test(test_late_answers),
		cmocka_unit_test(test_foreign_message),
	};
	int rc;

	if (sodium_init() < 0)
		return 1;
	if (argc == 4 && strcmp(argv[1], "--writer") == 0) {
		snprintf(srv.url, sizeof srv.url, "%s", argv[3]);
		return writer(atoi(argv[2]), 1000);
	}
	rc = cmocka_run_group_tests_name("ledger", tests, setup, teardown);
	bus_shutdown();
	return rc;
}
