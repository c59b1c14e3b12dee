/*
 * The witness ledger on a real nats-server: 8 processes appending 1,000
 * entries each make one valid chain of 8,000, read back and verified.
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

/* One writer process: n entries from component "writer-<id>". */
static int
writer(int id, int n)
{
	struct bus *b = connect_srv();
	struct ledger_writer w;
	int i, bad = 0;

	if (b == NULL)
		return 1;
	ledger_writer_init(&w, b);
	for (i = 0; i < n && !bad; i++) {
		struct wentry e;
		struct err err = ERR_INIT;
		wentry_init(&e);
		e.time = wall_ms();
		e.component = xasprintf("writer-%d", id);
		e.event = xstrdup("test.append");
		e.actor = xasprintf("proc-%d", id);
		e.payload = xasprintf("{\"i\":%d}", i);
		e.cost_micros = i;
		if (ledger_append(&w, &e, &err) != ST_OK) {
			fprintf(stderr, "writer %d: %s\n", id, err.msg);
			bad = 1;
		}
		wentry_release(&e);
	}
	bus_close(b);
	bus_shutdown();
	return bad;
}

struct check {
	struct wverifier v;
	int per_writer[8];
};

static enum status
feed(void *arg, const struct wentry *e, struct err *err)
{
	struct check *c = arg;
	int id;

	(void)err;
	wverifier_entry(&c->v, e);
	if (e->component && sscanf(e->component, "writer-%d", &id) == 1 && id >= 0 && id < 8)
		c->per_writer[id]++;
	return ST_OK;
}

static void
test_eight_processes(void **state)
{
	pid_t kids[8];
	struct check c;
	struct bus *b;
	struct err e = ERR_INIT;
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
	b = connect_srv();
	assert_non_null(b);
	memset(&c, 0, sizeof c);
	wverifier_init(&c.v, NULL);
	assert_int_equal(ledger_read(b, feed, &c, &n, &e), ST_OK);
	assert_int_equal(n, 8000);
	assert_int_equal(c.v.v.fault, WF_NONE);
	assert_int_equal(c.v.v.entries, 8000);
	for (i = 0; i < 8; i++)
		assert_int_equal(c.per_writer[i], 1000);
	wverifier_release(&c.v);
	bus_close(b);
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
