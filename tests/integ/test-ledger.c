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
#include "core/store.h"
#include "core/windex.h"
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

/*
 * The index follows the stream and keeps the tree in SQLite: its root of
 * every size, and its inclusion and consistency proofs, are those of the
 * tree built in memory.
 */
static void
index_roots(const struct merkle *t)
{
	char *path = xasprintf("%s/index.db", srv.dir);
	struct bus *b = connect_srv();
	struct store *s = NULL;
	struct err e = ERR_INIT;
	merkle_hash want, got;
	uint64_t added = 0;
	size_t m;

	assert_non_null(b);
	assert_int_equal(store_open(path, &s, &e), ST_OK);
	assert_int_equal(windex_sync(b, s, &added, &e), ST_OK);
	assert_int_equal(added, t->size);
	for (m = 0; m <= t->size; m++) {
		merkle_root(t, m, want);
		assert_int_equal(windex_root(s, m, got, &e), ST_OK);
		if (memcmp(want, got, MERKLE_HASH) != 0)
			fail_msg("index root of size %zu differs", m);
	}
	assert_int_equal(windex_root(s, t->size + 1, got, &e), ST_NOT_FOUND);
	/* Proofs from the index are the in-memory tree's, byte for byte. */
	{
		merkle_hash pa[MERKLE_MAX_PROOF], pb[MERKLE_MAX_PROOF];
		struct merkle_view v;
		size_t la, lb, i;
		assert_int_equal(windex_view(s, &v, &e), ST_OK);
		for (i = 0; i < 500; i++) {
			size_t n = 1 + randombytes_uniform((uint32_t)t->size), k = randombytes_uniform((uint32_t)n);
			la = merkle_inclusion(t, k, n, pa);
			lb = merkle_view_inclusion(&v, k, n, pb);
			assert_int_equal(la, lb);
			assert_memory_equal(pa, pb, la * MERKLE_HASH);
			if (k == 0)
				continue;
			la = merkle_consistency(t, k, n, pa);
			lb = merkle_view_consistency(&v, k, n, pb);
			assert_int_equal(la, lb);
			assert_memory_equal(pa, pb, la * MERKLE_HASH);
		}
		assert_false(v.failed);
	}
	/* Roots are checked against the stream; one changed tree row is named, not signed. */
	{
		uint64_t size = t->size;
		merkle_hash zero = { 0 };
		unsigned top = 0;
		assert_int_equal(windex_check_roots(b, s, NULL, &size, 1, &e), ST_OK);
		while ((2ull << top) <= size)
			top++;
		assert_int_equal(store_node_put(s, top, 0, zero, &e), ST_OK);
		assert_int_equal(windex_check_roots(b, s, NULL, &size, 1, &e), ST_INDEX_CORRUPT);
		assert_non_null(strstr(e.msg, "is damaged"));
		assert_int_equal(windex_rebuild(b, s, &added, &e), ST_OK);
		assert_int_equal(windex_check_roots(b, s, NULL, &size, 1, &e), ST_OK);
	}
	store_close(s);
	free(path);
	bus_close(b);
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
	index_roots(&c->v.tree);
	check_free(c);
}

/*
 * RESTART_N entries of component 'name' through a group-commit writer whose
 * answers are lost. KILL: the server is killed and restarted under it while
 * batches are on their way; DROP: the first 100 answers from the (real,
 * running) server are thrown away as if lost, so those entries land but
 * their writer does not know. The writer must find what landed and send
 * the rest: every entry exactly once.
 */
enum outage { KILL, DROP };

static void
lost_answers(const char *name, enum outage how)
{
	struct bus *b = hconnect(srv.url, 300, 50, NULL, NULL);
	struct ledger_writer w;
	struct err err = ERR_INIT;
	struct check *c;
	int64_t deadline;
	uint64_t n = 0;
	int i;

	assert_non_null(b);
	ledger_writer_init(&w, b);
	ledger_writer_start(&w);
	if (how == DROP)
		bus_fault_drop_answers(b, 100);
	for (i = 0; i < RESTART_N; i++) {
		struct wentry e;
		make_entry(&e, name, 0, i);
		ledger_submit(&w, &e);
		if (how == KILL && i == RESTART_N / 3) {
			usleep(2000);	/* a batch on its way */
			hserver_kill(&srv);
		}
		if (how == KILL && i == 2 * RESTART_N / 3)
			assert_int_equal(hserver_start(&srv), 0);
	}
	/* Failures are retried by the writer's thread; wait for the end. */
	deadline = mono_ms() + 60000;
	while (ledger_flush(&w, &err) != ST_OK && mono_ms() < deadline)
		usleep(50000);
	assert_int_equal(ledger_flush(&w, &err), ST_OK);
	ledger_writer_release(&w);
	print_message("%s: %llu batches, %llu failures, %llu entries found after lost "
		      "answers\n", name, (unsigned long long)w.batches,
		      (unsigned long long)w.failures, (unsigned long long)w.recovered);
	if (how == DROP)
		assert_true(w.recovered >= 100);	/* the path under test was taken */
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
	lost_answers("restart", KILL);
}

static void
test_lost_answers(void **state)
{
	(void)state;
	lost_answers("dropped", DROP);
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
	assert_int_equal(ledger_append(&w, &e, &err), ST_LEDGER_FOREIGN);
	assert_non_null(strstr(err.msg, "cannot append: the ledger's last message"));
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
		cmocka_unit_test(test_lost_answers),
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
