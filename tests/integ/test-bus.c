/*
 * The event bus against a real nats-server: KV semantics, typed conflicts,
 * watches (snapshot, live, across a server crash and restart, and the
 * watch contract under churn), and behaviour during an outage.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/bus.h"
#include "core/probe.h"
#include "core/schema.h"
#include "core/util.h"
#include "harness.h"

static struct hserver srv;

static struct bus *
connect_backoff(const char *url, int64_t timeout_ms, int64_t backoff_ms,
		bus_state_fn fn, void *arg)
{
	struct bus *b = hconnect(url, timeout_ms, backoff_ms, fn, arg);

	if (b == NULL)
		fail_msg("cannot connect to %s", url);
	return b;
}

static struct bus *
connect_to(const char *url, int64_t timeout_ms, bus_state_fn fn, void *arg)
{
	return connect_backoff(url, timeout_ms, 50, fn, arg);
}

static int
group_setup(void **state)
{
	struct bus *b;
	struct err e = ERR_INIT;

	(void)state;
	if (hserver_start(&srv) != 0)
		return -1;
	b = connect_to(srv.url, 5000, NULL, NULL);
	if (schema_ensure(b, NULL, &e) != ST_OK) {
		fprintf(stderr, "schema: %s\n", e.msg);
		return -1;
	}
	bus_close(b);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	hserver_destroy(&srv);
	return 0;
}

static void
test_kv_semantics(void **state)
{
	struct bus *b = connect_to(srv.url, 5000, NULL, NULL);
	struct bus_kv_entry ent = BUS_KV_ENTRY_INIT;
	struct err e = ERR_INIT;
	uint64_t r1 = 0, r2 = 0, r3 = 0;
	char **keys;
	size_t n, i;

	(void)state;
	assert_int_equal(bus_kv_create(b, "IF_TASKS", "t-1", "a", 1, &r1, &e), ST_OK);
	assert_int_equal(bus_kv_create(b, "IF_TASKS", "t-1", "b", 1, NULL, &e), ST_EXISTS);
	assert_int_equal(bus_kv_get(b, "IF_TASKS", "t-1", &ent, &e), ST_OK);
	assert_string_equal(ent.value.s, "a");
	assert_int_equal(ent.revision, r1);
	assert_int_equal(bus_kv_update(b, "IF_TASKS", "t-1", "c", 1, r1, &r2, &e), ST_OK);
	assert_true(r2 > r1);
	/* A stale revision (the fencing token) is refused, and nothing changes. */
	assert_int_equal(bus_kv_update(b, "IF_TASKS", "t-1", "d", 1, r1, NULL, &e), ST_CONFLICT);
	assert_int_equal(bus_kv_get(b, "IF_TASKS", "t-1", &ent, &e), ST_OK);
	assert_string_equal(ent.value.s, "c");
	assert_int_equal(bus_kv_delete(b, "IF_TASKS", "t-1", &e), ST_OK);
	assert_int_equal(bus_kv_get(b, "IF_TASKS", "t-1", &ent, &e), ST_NOT_FOUND);
	assert_int_equal(bus_kv_create(b, "IF_TASKS", "t-1", "e", 1, &r3, &e), ST_OK);
	assert_int_equal(bus_kv_put(b, "IF_TASKS", "t-2", "f", 1, NULL, &e), ST_OK);
	assert_int_equal(bus_kv_keys(b, "IF_TASKS", &keys, &n, &e), ST_OK);
	assert_int_equal(n, 2);
	for (i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	assert_int_equal(bus_kv_get(b, "NO_SUCH_BUCKET", "k", &ent, &e), ST_NO_SCHEMA);
	assert_int_equal(bus_kv_put(b, "IF_TASKS", "bad key", "x", 1, NULL, &e), ST_BAD_VALUE);
	buf_release(&ent.value);
	bus_close(b);
}

static void
test_expected_sequence(void **state)
{
	struct bus *b = connect_to(srv.url, 5000, NULL, NULL);
	struct err e = ERR_INIT;
	struct bus_pub pub = { 0 };
	struct buf reply = BUF_INIT;
	uint64_t seq = 0, seq2 = 0;

	(void)state;
	assert_int_equal(bus_js_publish(b, "if.v1.witness.entry", "1", 1, &pub, &seq, &e), ST_OK);
	pub.expect_last_seq = seq;
	assert_int_equal(bus_js_publish(b, "if.v1.witness.entry", "2", 1, &pub, &seq2, &e), ST_OK);
	assert_int_equal(seq2, seq + 1);
	/* A writer that lost the race is told so, and appends nothing. */
	assert_int_equal(bus_js_publish(b, "if.v1.witness.entry", "3", 1, &pub, NULL, &e),
			 ST_CONFLICT);
	assert_int_equal(bus_request(b, "if.v1.nobody.home", "x", 1, &reply, &e), ST_NOT_FOUND);
	buf_release(&reply);
	bus_close(b);
}

/* What a watch saw. */
struct seen {
	pthread_mutex_t mu;
	uint64_t revs[4096];
	char keys[4096][16];
	size_t n;
	int snapshot_done;
	int dupes;		/* revisions at or below the previous one */
	int reconnecting, connected;
};

static void
on_event(void *arg, const struct bus_kv_event *ev)
{
	struct seen *s = arg;

	pthread_mutex_lock(&s->mu);
	if (ev->snapshot_done) {
		s->snapshot_done++;
	} else if (s->n < 4096) {
		if (s->n && ev->revision <= s->revs[s->n - 1])
			s->dupes++;
		s->revs[s->n] = ev->revision;
		snprintf(s->keys[s->n], sizeof s->keys[0], "%s", ev->key);
		s->n++;
	}
	pthread_mutex_unlock(&s->mu);
}

static void
on_state(void *arg, enum bus_state st)
{
	struct seen *s = arg;

	pthread_mutex_lock(&s->mu);
	if (st == BUS_RECONNECTING)
		s->reconnecting++;
	if (st == BUS_CONNECTED)
		s->connected++;
	pthread_mutex_unlock(&s->mu);
}

/* Poll until the watch has seen n events (and the snapshot when asked). */
static bool
wait_seen(struct seen *s, size_t n, int64_t ms)
{
	int64_t deadline = mono_ms() + ms;
	bool ok;

	do {
		pthread_mutex_lock(&s->mu);
		ok = s->n >= n;
		pthread_mutex_unlock(&s->mu);
		if (ok)
			return true;
		usleep(5000);
	} while (mono_ms() < deadline);
	return false;
}

static void
put_n(struct bus *b, const char *bucket, int from, int to)
{
	struct err e = ERR_INIT;
	char key[16], val[32];
	int i;

	for (i = from; i < to; i++) {
		snprintf(key, sizeof key, "k%d", i);
		snprintf(val, sizeof val, "{\"i\":%d}", i);
		if (bus_kv_put(b, bucket, key, val, strlen(val), NULL, &e) != ST_OK)
			fail_msg("put %s: %s", key, e.msg);
	}
}

static void
test_watch_snapshot_and_live(void **state)
{
	static struct seen s = { .mu = PTHREAD_MUTEX_INITIALIZER };
	struct bus_kv_def def = { "T_SNAP", "test", 4 };
	struct bus *b = connect_to(srv.url, 5000, NULL, NULL);
	struct bus_watch *w = NULL;
	struct err e = ERR_INIT;
	bool created;

	(void)state;
	assert_int_equal(bus_kv_ensure(b, &def, &created, &e), ST_OK);
	put_n(b, "T_SNAP", 0, 3);
	put_n(b, "T_SNAP", 0, 3);	/* second revisions: the snapshot shows only these */
	assert_int_equal(bus_kv_watch(b, "T_SNAP", 0, on_event, &s, &w, &e), ST_OK);
	assert_true(wait_seen(&s, 3, 5000));
	pthread_mutex_lock(&s.mu);
	assert_int_equal(s.snapshot_done, 1);
	assert_int_equal(s.revs[0], 4);
	pthread_mutex_unlock(&s.mu);
	put_n(b, "T_SNAP", 10, 12);
	assert_true(wait_seen(&s, 5, 5000));
	pthread_mutex_lock(&s.mu);
	assert_string_equal(s.keys[4], "k11");
	assert_int_equal(s.dupes, 0);
	pthread_mutex_unlock(&s.mu);
	bus_watch_free(w);
	bus_close(b);
}

/*
 * Kill the server in the middle of a watch and restart it on the same port
 * and store. While the watcher is still backing off, another connection
 * writes new keys and then overwrites them; the watcher then writes more
 * itself. The watch must resume from where it was and see every revision,
 * intermediate ones included, exactly once and in order.
 */
static void
test_watch_survives_restart(void **state)
{
	static struct seen s = { .mu = PTHREAD_MUTEX_INITIALIZER };
	struct bus_kv_def def = { "T_RESTART", "test", 64 };
	struct bus *b = connect_backoff(srv.url, 5000, 400, on_state, &s), *w2;
	struct bus_watch *w = NULL;
	struct err e = ERR_INIT;
	static const int want[][2] = { { 0, 50 }, { 50, 100 }, { 50, 100 }, { 100, 150 } };
	bool created;
	size_t i, n = 0;
	int k;

	(void)state;
	assert_int_equal(bus_kv_ensure(b, &def, &created, &e), ST_OK);
	assert_int_equal(bus_kv_watch(b, "T_RESTART", 0, on_event, &s, &w, &e), ST_OK);
	put_n(b, "T_RESTART", 0, 50);
	assert_true(wait_seen(&s, 50, 5000));

	hserver_kill(&srv);
	assert_int_equal(hserver_start(&srv), 0);
	w2 = connect_to(srv.url, 5000, NULL, NULL);
	put_n(w2, "T_RESTART", 50, 100);	/* before the watcher is back */
	put_n(w2, "T_RESTART", 50, 100);	/* overwritten: a snapshot would skip these */
	put_n(b, "T_RESTART", 100, 150);	/* waits for the watcher's own reconnect */
	assert_true(wait_seen(&s, 200, 15000));
	usleep(300 * 1000);			/* anything extra would show up now */

	pthread_mutex_lock(&s.mu);
	assert_int_equal(s.n, 200);
	assert_int_equal(s.dupes, 0);
	for (i = 0; i < ARRAY_SIZE(want); i++) {
		for (k = want[i][0]; k < want[i][1]; k++, n++) {
			char key[16];
			snprintf(key, sizeof key, "k%d", k);
			assert_string_equal(s.keys[n], key);
		}
	}
	assert_true(s.reconnecting >= 1);
	assert_true(s.connected >= 1);
	pthread_mutex_unlock(&s.mu);
	assert_true(bus_reconnects(b) >= 1);
	assert_true(bus_watch_resets(w) >= 1);
	bus_watch_free(w);
	bus_close(w2);
	bus_close(b);
}

/* An empty bucket's snapshot: on another thread than the watch's opener. */
struct lone_snap {
	pthread_mutex_t mu;
	pthread_t opener, ran_on;
	int calls;
};

static void
on_lone_snap(void *arg, const struct bus_kv_event *ev)
{
	struct lone_snap *s = arg;

	pthread_mutex_lock(&s->mu);
	if (ev->snapshot_done) {
		s->ran_on = pthread_self();
		s->calls++;
	}
	pthread_mutex_unlock(&s->mu);
}

static void
test_watch_empty_snapshot_thread(void **state)
{
	struct lone_snap s = { .mu = PTHREAD_MUTEX_INITIALIZER, .opener = pthread_self() };
	struct bus_kv_def def = { "T_EMPTY", "test", 1 };
	struct bus *b = connect_to(srv.url, 5000, NULL, NULL);
	struct bus_watch *w = NULL;
	struct err e = ERR_INIT;
	int64_t deadline = mono_ms() + 5000;
	bool created, done = false;

	(void)state;
	assert_int_equal(bus_kv_ensure(b, &def, &created, &e), ST_OK);
	assert_int_equal(bus_kv_watch(b, "T_EMPTY", 0, on_lone_snap, &s, &w, &e), ST_OK);
	while (!done && mono_ms() < deadline) {
		pthread_mutex_lock(&s.mu);
		done = s.calls > 0;
		pthread_mutex_unlock(&s.mu);
		if (!done)
			usleep(1000);
	}
	assert_true(done);
	bus_watch_free(w);
	assert_int_equal(s.calls, 1);
	assert_false(pthread_equal(s.ran_on, s.opener));
	bus_close(b);
}

/*
 * Watch churn: 1,000 watches opened and closed while another thread keeps
 * writing to the bucket. A third of them are closed at once, a third after
 * their first event, a third by their own callback. No call may start after
 * bus_watch_free() returned, none may run on the opener's thread, and (under
 * ASan) nothing is used after free or leaked; under TSan, no race.
 */
#define CHURN_WATCHES 1000
#define CHURN_KEYS 16

struct churn_slot {
	pthread_mutex_t mu;
	struct bus_watch *w;	/* set by the opener once bus_kv_watch returned */
	int mode;		/* 0: close at once, 1: after an event, 2: by its callback */
	int events;
	bool closed;		/* bus_watch_free() returned */
	bool late;		/* a call started after that */
	bool on_opener;		/* a call ran on the opener's thread */
};

struct churn {
	struct bus *b;
	pthread_t opener;
	atomic_bool stop;
	atomic_long puts;
	struct churn_slot slots[CHURN_WATCHES];
};

static void
on_churn(void *arg, const struct bus_kv_event *ev)
{
	struct churn_slot *s = arg;
	struct bus_watch *self = NULL;
	extern struct churn *churn_now;

	(void)ev;
	pthread_mutex_lock(&s->mu);
	if (s->closed)
		s->late = true;
	if (pthread_equal(pthread_self(), churn_now->opener))
		s->on_opener = true;
	s->events++;
	if (s->mode == 2 && s->w && !s->closed) {
		self = s->w;
		s->closed = true;	/* no further call: this one closes it */
	}
	pthread_mutex_unlock(&s->mu);
	bus_watch_free(self);
}

struct churn *churn_now;

static void *
churn_writer(void *arg)
{
	struct churn *c = arg;
	struct err e = ERR_INIT;
	char key[16], val[32];
	long i;

	for (i = 0; !atomic_load(&c->stop); i++) {
		snprintf(key, sizeof key, "k%ld", i % CHURN_KEYS);
		snprintf(val, sizeof val, "{\"i\":%ld}", i);
		if (bus_kv_put(c->b, "T_CHURN", key, val, strlen(val), NULL, &e) == ST_OK)
			atomic_fetch_add(&c->puts, 1);
		usleep(1000);	/* a steady flow, not a flood */
	}
	return NULL;
}

/* Wait until slot s saw an event (or a second went by). */
static void
churn_wait_event(struct churn_slot *s)
{
	int64_t deadline = mono_ms() + 1000;
	bool seen = false;

	while (!seen && mono_ms() < deadline) {
		pthread_mutex_lock(&s->mu);
		seen = s->events > 0;
		pthread_mutex_unlock(&s->mu);
		if (!seen)
			usleep(200);
	}
}

/* Open watch i and close it the way its mode says. */
static void
churn_one(struct churn *c, size_t i)
{
	struct churn_slot *s = &c->slots[i];
	struct bus_watch *w = NULL;
	struct err e = ERR_INIT;

	pthread_mutex_init(&s->mu, NULL);
	s->mode = (int)(i % 3);
	if (bus_kv_watch(c->b, "T_CHURN", 0, on_churn, s, &w, &e) != ST_OK)
		fail_msg("watch %zu: %s", i, e.msg);
	pthread_mutex_lock(&s->mu);
	s->w = w;
	pthread_mutex_unlock(&s->mu);
	if (s->mode == 2)
		return;
	if (s->mode == 1)
		churn_wait_event(s);
	bus_watch_free(w);
	pthread_mutex_lock(&s->mu);
	s->closed = true;
	pthread_mutex_unlock(&s->mu);
}

/* Close the self-closing watches whose callback never came. */
static void
churn_sweep(struct churn *c)
{
	size_t i;

	for (i = 0; i < CHURN_WATCHES; i++) {
		struct churn_slot *s = &c->slots[i];
		struct bus_watch *w = NULL;
		if (s->mode != 2)
			continue;
		churn_wait_event(s);
		pthread_mutex_lock(&s->mu);
		if (!s->closed) {
			w = s->w;
			s->closed = true;
		}
		pthread_mutex_unlock(&s->mu);
		bus_watch_free(w);
	}
}

static void
test_watch_churn(void **state)
{
	static struct churn c;
	struct bus_kv_def def = { "T_CHURN", "test", 1 };
	struct bus *b = connect_to(srv.url, 5000, NULL, NULL);
	struct err e = ERR_INIT;
	pthread_t writer;
	int64_t t0, took;
	size_t i, self_closed = 0;
	long events = 0;
	bool created;

	(void)state;
	assert_int_equal(bus_kv_ensure(b, &def, &created, &e), ST_OK);
	c.b = connect_to(srv.url, 5000, NULL, NULL);
	c.opener = pthread_self();
	churn_now = &c;
	assert_int_equal(pthread_create(&writer, NULL, churn_writer, &c), 0);
	while (atomic_load(&c.puts) < CHURN_KEYS)
		usleep(1000);
	t0 = mono_ms();
	for (i = 0; i < CHURN_WATCHES; i++)
		churn_one(&c, i);
	churn_sweep(&c);
	took = mono_ms() - t0;
	atomic_store(&c.stop, true);
	pthread_join(writer, NULL);
	for (i = 0; i < CHURN_WATCHES; i++) {
		struct churn_slot *s = &c.slots[i];
		pthread_mutex_lock(&s->mu);
		assert_false(s->late);
		assert_false(s->on_opener);
		events += s->events;
		self_closed += s->mode == 2 && s->events > 0;
		pthread_mutex_unlock(&s->mu);
	}
	print_message("watch churn: %d watches opened and closed in %lld ms "
		      "(%zu by their own callback), %ld events delivered, %ld puts meanwhile\n",
		      CHURN_WATCHES, (long long)took, self_closed, events, atomic_load(&c.puts));
	assert_true(self_closed > CHURN_WATCHES / 3 / 2);
	bus_close(c.b);
	bus_close(b);
}

/*
 * During an outage an operation never hangs. One that races the crash may
 * fail at once (the socket broke under it); once the bus knows it is
 * reconnecting, an operation waits at most the timeout for the server and
 * then fails with ST_DISCONNECTED.
 */
static void
test_outage_fails_after_timeout(void **state)
{
	struct hserver lone = { 0 };
	struct bus *b;
	struct err e = ERR_INIT;
	int64_t t0, took;
	enum status st;

	(void)state;
	assert_int_equal(hserver_start(&lone), 0);
	b = connect_to(lone.url, 300, NULL, NULL);
	hserver_kill(&lone);
	t0 = mono_ms();
	st = bus_kv_put(b, "IF_TASKS", "k", "v", 1, NULL, &e);
	if (st != ST_DISCONNECTED && st != ST_TIMEOUT)
		fail_msg("first operation: status %d: %s", st, e.msg);
	assert_true(mono_ms() - t0 < 3000);
	while (bus_get_state(b) != BUS_RECONNECTING && mono_ms() - t0 < 3000)
		usleep(1000);
	assert_int_equal(bus_get_state(b), BUS_RECONNECTING);
	t0 = mono_ms();
	st = bus_kv_put(b, "IF_TASKS", "k", "v", 1, NULL, &e);
	took = mono_ms() - t0;
	assert_int_equal(st, ST_DISCONNECTED);
	assert_non_null(strstr(e.msg, "after 300 ms"));
	assert_true(took >= 280 && took < 3000);
	bus_close(b);
	hserver_destroy(&lone);
}

static void
test_unreachable(void **state)
{
	struct bus_opts o = { 0 };
	struct bus *b = NULL;
	struct err e = ERR_INIT;
	struct bus_server_info info;

	(void)state;
	o.url = xasprintf("nats://127.0.0.1:%d", hfree_port());
	o.timeout_ms = 500;
	o.max_reconnects = 0;
	assert_int_equal(bus_open(&b, &o, &e), ST_UNREACHABLE);
	assert_null(b);
	assert_non_null(strstr(e.msg, o.url));
	assert_int_equal(bus_probe(o.url, 500, &info, &e), ST_UNREACHABLE);
	free(o.url);
}

/* A fake server: accepts one connection, sends its text, closes. */
struct fake {
	int fd;
	const char *text;
};

static void *
fake_serve(void *arg)
{
	struct fake *f = arg;
	int c = accept(f->fd, NULL, NULL);

	if (c >= 0) {
		if (write(c, f->text, strlen(f->text)) < 0)
			perror("fake server");
		close(c);
	}
	return NULL;
}

/* Probe a fake server that says text; the status, info and error. */
static enum status
probe_fake(const char *text, struct bus_server_info *info, struct err *e)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof sa;
	struct fake f = { socket(AF_INET, SOCK_STREAM, 0), text };
	pthread_t th;
	char url[64];
	enum status st;

	assert_true(f.fd >= 0);
	assert_int_equal(bind(f.fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(f.fd, 1), 0);
	assert_int_equal(getsockname(f.fd, (struct sockaddr *)&sa, &len), 0);
	snprintf(url, sizeof url, "nats://127.0.0.1:%d", ntohs(sa.sin_port));
	assert_int_equal(pthread_create(&th, NULL, fake_serve, &f), 0);
	st = bus_probe(url, 2000, info, e);
	pthread_join(th, NULL);
	close(f.fd);
	return st;
}

/* The INFO line is server input: read strictly, refused with a reason. */
static void
test_probe_info(void **state)
{
	struct bus_server_info info;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(probe_fake("INFO {\"server_id\":\"S1\",\"version\":\"2.10.7\",\"jetstream\":"
				    "true,\"max_payload\":1048576,\"nonce\":\"x\"}\r\n", &info, &e),
			 ST_OK);
	assert_string_equal(info.version, "2.10.7");
	assert_string_equal(info.server_id, "S1");
	assert_true(info.jetstream);
	assert_int_equal(info.max_payload, 1048576);
	assert_int_equal(probe_fake("INFO {\"version\":\"a\",\"version\":\"b\"}\r\n", &info, &e),
			 ST_PROTOCOL);
	assert_non_null(strstr(e.msg, "malformed INFO"));
	assert_int_equal(probe_fake("INFO {\"max_payload\":\"big\"}\r\n", &info, &e), ST_PROTOCOL);
	assert_non_null(strstr(e.msg, "max_payload"));
	assert_int_equal(probe_fake("INFO [1]\r\n", &info, &e), ST_PROTOCOL);
	assert_int_equal(probe_fake("HELLO\r\n", &info, &e), ST_PROTOCOL);
	assert_non_null(strstr(e.msg, "not a NATS server"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kv_semantics),
		cmocka_unit_test(test_expected_sequence),
		cmocka_unit_test(test_watch_snapshot_and_live),
		cmocka_unit_test(test_watch_survives_restart),
		cmocka_unit_test(test_watch_empty_snapshot_thread),
		cmocka_unit_test(test_watch_churn),
		cmocka_unit_test(test_outage_fails_after_timeout),
		cmocka_unit_test(test_unreachable),
		cmocka_unit_test(test_probe_info),
	};
	int rc = cmocka_run_group_tests_name("bus", tests, group_setup, group_teardown);

	bus_shutdown();
	return rc;
}
