/*
 * The local mirror of IF_SWARMS and IF_BUDGETS (kvmirror.c) against a real
 * nats-server and real SQLite files: after every kind of change the fleet
 * read from the mirror (gov_fleet_read with a mirror) is the fleet read
 * from the buckets (the same call without one), every swarm, state,
 * budget, revision and invalid record alike, for a whole read and for a
 * read by capability.
 *
 * Changes: register, re-register with other capabilities, heartbeats,
 * retire, breaker trips and failures, budgets, an unregistered swarm;
 * records written raw that are not valid (garbage, a bad key, a profile
 * naming a capability in the wrong place, a bad state record); the bucket
 * deleted and made again; a damaged mirror file (reported, the buckets
 * read instead); the server killed (the sync fails, the file stays as it
 * was, and the next sync after the restart catches up); two syncers on one
 * file at once while swarms heartbeat.
 *
 * Named mutation: in kvmirror.c's apply(), skipping the tags of every row
 * that exists already (as if a record's tags never changed) leaves a swarm
 * re-registered with other capabilities under its old ones, and
 * test_changes fails on the read by capability.
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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/budget.h"
#include "core/governor.h"
#include "core/kvmirror.h"
#include "core/schema.h"
#include "core/util.h"
#include "harness.h"

static struct hserver srv;
static char dir[] = "/tmp/ifctl-test-kvmirror-XXXXXX";

static struct bus *
connect_srv(int64_t timeout_ms)
{
	struct bus *b = hconnect(srv.url, timeout_ms, 50, NULL, NULL);

	if (b == NULL)
		fail_msg("cannot connect to %s", srv.url);
	return b;
}

/* A mirror file of the test's own. */
static struct kvmirror *
open_mirror(const char *name)
{
	struct kvmirror *m = NULL;
	struct err e = ERR_INIT;
	char *path = xasprintf("%s/%s", dir, name);

	if (kvmirror_open_path(path, true, &m, &e) != ST_OK)
		fail_msg("open %s: %s", path, e.msg);
	free(path);
	return m;
}

/* The fleet as text: everything a decision reads, and what was left out. */
static void
fleet_text(const struct gov_fleet *f, size_t skipped, struct buf *out)
{
	const struct swarm *s;
	size_t i, k;

	buf_addf(out, "skipped %zu, bad budgets %zu\n", skipped, f->nbad_budgets);
	for (i = 0; i < f->swarms.n; i++) {
		s = &f->swarms.v[i];
		buf_addf(out, "%s rev %llu seen %lld by %s cost %lld rep %g model %s max %d hb %lld "
			 "meta %s caps", s->p.id, (unsigned long long)s->rev, (long long)s->last_seen,
			 s->registered_by ? s->registered_by : "-", (long long)s->p.cost_per_hour_micros,
			 s->p.reputation, s->p.model, s->p.max_concurrent,
			 (long long)s->p.heartbeat_interval_ms, s->p.metadata ? s->p.metadata : "-");
		for (k = 0; k < s->p.ncaps; k++)
			buf_addf(out, " %s", s->p.caps[k]);
		buf_addf(out, " | state %d %d %d %d %d %s rev %llu", s->st.present, s->st.invalid,
			 s->st.retired, (int)s->st.breaker, s->st.failures,
			 s->st.reason ? s->st.reason : "-", (unsigned long long)s->st.rev);
		if (f->has_budget[i])
			buf_addf(out, " | budget %lld %lld %lld rev %llu",
				 (long long)f->budgets[i].allocated, (long long)f->budgets[i].reserved,
				 (long long)f->budgets[i].spent, (unsigned long long)f->budgets[i].rev);
		buf_addc(out, '\n');
	}
	for (i = 0; i < f->swarms.nbad; i++)
		buf_addf(out, "bad %s: %s\n", f->swarms.bad[i].key, f->swarms.bad[i].reason);
}

/* One fleet read (m NULL: the buckets) as text. */
static void
read_text(struct bus *b, struct kvmirror *m, char *const *caps, size_t ncaps, struct buf *out)
{
	struct gov_fleet f;
	struct err e = ERR_INIT;
	size_t skipped = 0;

	if (gov_fleet_read(b, m, caps, ncaps, &f, &skipped, &e) != ST_OK)
		fail_msg("fleet read (%s): %s", m ? "mirror" : "buckets", e.msg);
	fleet_text(&f, skipped, out);
	gov_fleet_release(&f);
}

/* Bring m up to the buckets. */
static void
sync_all(struct bus *b, struct kvmirror *m, struct kvmirror_sync *last)
{
	struct kvmirror_sync sy;
	struct err e = ERR_INIT;
	size_t i;

	for (i = 0; i < gov_mirror_bucket_count; i++) {
		if (kvmirror_sync(m, b, gov_mirror_buckets[i], &sy, &e) != ST_OK)
			fail_msg("sync %s: %s", gov_mirror_buckets[i]->bucket, e.msg);
		if (i == 0 && last)
			*last = sy;
	}
}

/* Fail naming the first line where the mirror's text and the buckets' differ. */
static void
first_difference(const char *when, size_t read, const char *x, const char *y)
{
	size_t i = 0, line = 0, sx, sy;

	while (x[i] && x[i] == y[i])
		if (x[i++] == '\n')
			line = i;
	sx = strcspn(x + line, "\n");
	sy = strcspn(y + line, "\n");
	fail_msg("%s, read %zu: the mirror reads '%.*s', the buckets hold '%.*s'", when, read,
		 (int)(sx < 300 ? sx : 300), x + line, (int)(sy < 300 ? sy : 300), y + line);
}

/* The mirror (synced) reads what the buckets hold: the whole fleet, and by capability. */
static void
assert_same(struct bus *b, struct kvmirror *m, const char *when)
{
	static char c0[] = "integration:sip", c1[] = "infra:databases", c2[] = "cli:testing",
		    c3[] = "docs:tutorials";
	static char *const caps[][2] = { { c0, c1 }, { c2, NULL }, { c3, NULL } };
	struct buf x = BUF_INIT, y = BUF_INIT;
	size_t i;

	sync_all(b, m, NULL);
	for (i = 0; i <= ARRAY_SIZE(caps); i++) {
		char *const *c = i ? caps[i - 1] : NULL;
		size_t n = !c ? 0 : c[1] ? 2 : 1;
		buf_reset(&x);
		buf_reset(&y);
		read_text(b, m, c, n, &x);
		read_text(b, NULL, c, n, &y);
		if (strcmp(x.s, y.s) != 0)
			first_difference(when, i, x.s, y.s);
	}
	buf_release(&x);
	buf_release(&y);
}

/* Register swarm id with caps (comma-separated). */
static void
reg(struct bus *b, struct opctx *op, const char *id, const char *caps, bool replace)
{
	struct swarm_profile p;
	struct err e = ERR_INIT;
	size_t n;

	memset(&p, 0, sizeof p);
	p.id = (char *)id;
	p.caps = strv_split(caps, ',', &n);
	p.ncaps = n;
	p.cost_per_hour_micros = (int64_t)(strlen(id) * 100000);
	p.reputation = 0.5;
	p.model = (char *)"m";
	p.max_concurrent = 1;
	if (swarm_register(b, op, &p, replace, &e) != ST_OK)
		fail_msg("register %s: %s", id, e.msg);
	strv_free(p.caps, p.ncaps);
}

static const char *const cap_sets[] = {
	"integration:sip,infra:databases", "cli:testing", "docs:tutorials,cli:ux",
	"infra:databases", "code-analysis:rust,integration:sip,cli:testing",
};

/* Register n swarms s-<i> with the capability sets in turn. */
static void
reg_many(struct bus *b, struct opctx *op, const char *prefix, size_t n)
{
	char id[32];
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(id, sizeof id, "%s-%zu", prefix, i);
		reg(b, op, id, cap_sets[i % ARRAY_SIZE(cap_sets)], false);
	}
}

/* Give swarm id a budget of usd micro-USD. */
static void
give(struct bus *b, struct opctx *op, const char *id, int64_t micros)
{
	struct budget out;
	struct err e = ERR_INIT;

	if (budget_allocate(b, op, BUDGET_SWARM, id, NULL, micros, &out, &e) != ST_OK)
		fail_msg("budget %s: %s", id, e.msg);
	budget_release(&out);
}

/* Register, heartbeat, retire, trip, fail, budget, re-register, unregister. */
static void
test_changes(void **state)
{
	struct bus *b = connect_srv(5000);
	struct kvmirror *m = open_mirror("changes.db");
	struct kvmirror_sync sy;
	struct budget out;
	struct err e = ERR_INIT;
	struct opctx op;

	(void)state;
	opctx_init(&op, NULL);
	op.actor = "test";
	reg_many(b, &op, "c", 40);
	assert_same(b, m, "after 40 registrations");
	sync_all(b, m, &sy);
	assert_true(sy.from > sy.to);	/* nothing new: one request, nothing read */
	assert_int_equal(sy.applied, 0);

	assert_int_equal(swarm_touch(b, "c-3", &e), ST_OK);
	assert_int_equal(swarm_touch(b, "c-4", &e), ST_OK);
	sync_all(b, m, &sy);
	assert_int_equal(sy.applied, 2);	/* only what changed is read */
	assert_false(sy.rebuilt);
	assert_same(b, m, "after heartbeats");

	assert_int_equal(governor_retire(b, &op, "c-1", &e), ST_OK);
	assert_int_equal(governor_breaker_trip(b, &op, "c-2", "test trip", &e), ST_OK);
	assert_int_equal(governor_record_outcome(b, &op, "c-5", false, &e), ST_OK);
	give(b, &op, "c-0", 5000000);
	give(b, &op, "c-6", 1000);
	assert_int_equal(budget_reserve(b, &op, BUDGET_SWARM, "c-0", 2000, &out, &e), ST_OK);
	budget_release(&out);
	assert_same(b, m, "after retire, trip, failure, budgets");

	reg(b, &op, "c-0", "docs:tutorials", true);	/* other capabilities: other tags */
	reg(b, &op, "c-7", "integration:sip,docs:tutorials", true);
	assert_int_equal(swarm_unregister(b, "c-9", &e), ST_OK);
	assert_int_equal(governor_reset(b, &op, "c-2", 3000000, &e), ST_OK);
	assert_same(b, m, "after re-registration, unregistration, reset");

	opctx_release(&op);
	kvmirror_close(m);
	bus_close(b);
}

/* Write value under key of IF_SWARMS as a careless client would. */
static void
raw(struct bus *b, const char *key, const char *value)
{
	struct err e = ERR_INIT;

	if (bus_kv_put(b, SWARM_BUCKET, key, value, strlen(value), NULL, &e) != ST_OK)
		fail_msg("put %s: %s", key, e.msg);
}

/* Records that are not valid: reported from the mirror exactly as from the bucket. */
static void
test_hostile(void **state)
{
	struct bus *b = connect_srv(5000);
	struct kvmirror *m = open_mirror("hostile.db");
	struct buf big = BUF_INIT;
	struct gov_fleet f;
	struct err e = ERR_INIT;
	char c0[] = "integration:sip";
	char *const sip[] = { c0 };
	size_t i, skipped, bad = 0;

	(void)state;
	raw(b, "h-garbage", "\"integration:sip\" is not JSON at all");
	raw(b, "H_BAD_KEY", "{\"v\":1,\"profile\":{\"capabilities\":[\"integration:sip\"]}}");
	raw(b, "h-meta", "{\"v\":1,\"profile\":{\"id\":\"h-meta\",\"capabilities\":[\"cli:ux\"],"
	    "\"cost_per_hour_micros\":0,\"reputation\":0.5,\"model\":\"m\",\"max_concurrent_tasks\":1,"
	    "\"metadata\":{\"note\":\"integration:sip\"}},\"registered_at\":1,\"last_seen\":null}");
	raw(b, "h-escaped", "{\"v\":1,\"profile\":{\"id\":\"h-escaped\",\"capabilities\":"
	    "[\"integration\\u003asip\"],\"cost_per_hour_micros\":0,\"reputation\":0.5,"
	    "\"model\":\"m\",\"max_concurrent_tasks\":1},\"registered_at\":1,\"last_seen\":null}");
	raw(b, "state.c-3", "{\"v\":1,\"swarm\":\"c-3\",\"breaker\":\"sideways\"}");
	raw(b, "state.NOT-AN-ID", "{}");
	buf_addf(&big, "{\"v\":1,\"junk\":[");
	for (i = 0; i < 3000; i++)
		buf_addf(&big, "%s\"integration:sip\",\"x%zu:y\"", i ? "," : "", i);
	buf_addf(&big, "]}");
	raw(b, "h-big", big.s);
	buf_release(&big);
	assert_same(b, m, "after hostile records");

	/* the record naming integration:sip only in its metadata is read, and is valid */
	sync_all(b, m, NULL);
	assert_int_equal(gov_fleet_read(b, m, sip, 1, &f, &skipped, &e), ST_OK);
	assert_non_null(swarm_list_find(&f.swarms, "h-meta"));
	for (i = 0; i < f.swarms.nbad; i++)
		bad += strcmp(f.swarms.bad[i].key, "h-garbage") == 0 ||
		       strcmp(f.swarms.bad[i].key, "H_BAD_KEY") == 0 ||
		       strcmp(f.swarms.bad[i].key, "h-big") == 0;
	assert_int_equal(bad, 3);	/* each holds the needle, each is reported */
	gov_fleet_release(&f);
	kvmirror_close(m);
	bus_close(b);
}

/* The bucket deleted and made again: the mirror is read again from the start. */
static void
test_recreated(void **state)
{
	struct bus *b = connect_srv(5000);
	struct kvmirror *m = open_mirror("recreated.db");
	struct kvmirror_sync sy;
	struct err e = ERR_INIT;
	struct opctx op;

	(void)state;
	opctx_init(&op, NULL);
	op.actor = "test";
	assert_same(b, m, "before");
	assert_int_equal(bus_kv_drop(b, SWARM_BUCKET, &e), ST_OK);
	assert_int_equal(schema_ensure(b, NULL, &e), ST_OK);
	reg_many(b, &op, "r", 3);
	sync_all(b, m, &sy);
	assert_true(sy.rebuilt);
	assert_non_null(sy.why);
	assert_int_equal(sy.rows, 3);
	assert_same(b, m, "after the bucket was made again");
	opctx_release(&op);
	kvmirror_close(m);
	bus_close(b);
}

/* A damaged file: ST_INDEX_CORRUPT, and a command's use falls back to the buckets. */
static void
test_damaged(void **state)
{
	const struct kvmirror_bucket *const defs[] = { &swarm_mirror_bucket };
	struct bus *b = connect_srv(5000);
	struct kvmirror *m = NULL;
	struct config c;
	struct err e = ERR_INIT, warn = ERR_INIT;
	char *home = xasprintf("%s/home", dir), *path = xasprintf("%s/kvmirror.db", home);
	char junk[8192];
	FILE *fp;

	(void)state;
	memset(junk, 'x', sizeof junk);
	assert_int_equal(mkdir(home, 0700), 0);
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fwrite(junk, 1, sizeof junk, fp), sizeof junk);
	fclose(fp);
	assert_int_equal(kvmirror_open_path(path, true, &m, &e), ST_INDEX_CORRUPT);
	assert_null(m);
	assert_non_null(strstr(e.msg, "is damaged"));

	config_init(&c);
	assert_int_equal(config_set(&c, CK_HOME, home, CFG_SRC_FLAG, &e), ST_OK);
	assert_int_equal(kvmirror_attach(&c, b, defs, 1, &m, NULL, &warn, &e), ST_OK);
	assert_null(m);		/* the buckets are read instead */
	assert_int_equal(warn.code, ST_INDEX_CORRUPT);

	/* read-only with no file: the buckets, no warning */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(config_set(&c, CK_READ_ONLY, "true", CFG_SRC_FLAG, &e), ST_OK);
	err_clear(&warn);
	assert_int_equal(kvmirror_attach(&c, b, defs, 1, &m, NULL, &warn, &e), ST_OK);
	assert_null(m);
	assert_int_equal(warn.code, ST_OK);
	assert_int_equal(access(path, F_OK), -1);	/* read-only made nothing */

	/* made by a writer, then read-only uses it only while it is fresh */
	assert_int_equal(config_set(&c, CK_READ_ONLY, "false", CFG_SRC_FLAG, &e), ST_OK);
	assert_int_equal(kvmirror_attach(&c, b, defs, 1, &m, NULL, &warn, &e), ST_OK);
	assert_non_null(m);
	kvmirror_close(m);
	assert_int_equal(config_set(&c, CK_READ_ONLY, "true", CFG_SRC_FLAG, &e), ST_OK);
	assert_int_equal(kvmirror_attach(&c, b, defs, 1, &m, NULL, &warn, &e), ST_OK);
	assert_non_null(m);
	kvmirror_close(m);
	assert_int_equal(swarm_touch(b, "r-0", &e), ST_OK);
	assert_int_equal(kvmirror_attach(&c, b, defs, 1, &m, NULL, &warn, &e), ST_OK);
	assert_null(m);		/* stale: never answered from */
	config_release(&c);
	free(path);
	free(home);
	bus_close(b);
}

/* The server killed: the sync fails and leaves the file as it was; the next one catches up. */
static void
test_server_killed(void **state)
{
	struct bus *b = connect_srv(1000);
	struct kvmirror *m = open_mirror("killed.db");
	struct kvmirror_sync sy;
	struct err e = ERR_INIT;
	struct opctx op;
	uint64_t seq;

	(void)state;
	opctx_init(&op, NULL);
	op.actor = "test";
	reg_many(b, &op, "k", 10);
	assert_same(b, m, "before the kill");
	seq = kvmirror_seq(m, SWARM_BUCKET);
	hserver_kill(&srv);
	assert_int_not_equal(kvmirror_sync(m, b, &swarm_mirror_bucket, &sy, &e), ST_OK);
	assert_int_equal(kvmirror_seq(m, SWARM_BUCKET), seq);
	assert_int_equal(hserver_start(&srv), 0);
	reg_many(b, &op, "k2", 5);
	assert_int_equal(swarm_touch(b, "k-1", &e), ST_OK);
	sync_all(b, m, &sy);
	assert_false(sy.rebuilt);	/* the same stream: caught up, not read again */
	assert_int_equal(sy.applied, 6);
	assert_same(b, m, "after the restart");
	opctx_release(&op);
	kvmirror_close(m);
	bus_close(b);
}

#define ROUNDS 25

struct syncer {
	atomic_int *stop;
	atomic_size_t errors, rounds;
};

/* Sync and read the shared file over and over, with a connection and a handle of its own. */
static void *
syncer_main(void *arg)
{
	struct syncer *s = arg;
	struct bus *b = hconnect(srv.url, 5000, 50, NULL, NULL);
	struct kvmirror *m = NULL;
	struct kvmirror_sync sy;
	struct gov_fleet f;
	struct err e = ERR_INIT;
	char *path = xasprintf("%s/shared.db", dir);
	size_t i;

	for (i = 0; b && i < ROUNDS; i++) {
		enum status st = kvmirror_open_path(path, true, &m, &e);
		if (st == ST_OK)
			st = kvmirror_sync(m, b, &swarm_mirror_bucket, &sy, &e);
		if (st == ST_OK)
			st = kvmirror_sync(m, b, &gov_budget_mirror_bucket, &sy, &e);
		if (st == ST_OK && (st = gov_fleet_read(b, m, NULL, 0, &f, NULL, &e)) == ST_OK)
			gov_fleet_release(&f);
		if (st != ST_OK) {
			fprintf(stderr, "syncer: %s\n", e.msg);
			atomic_fetch_add(&s->errors, 1);
		}
		kvmirror_close(m);
		m = NULL;
		atomic_fetch_add(&s->rounds, 1);
	}
	if (b == NULL)
		atomic_fetch_add(&s->errors, 1);
	free(path);
	bus_close(b);
	return NULL;
}

/* Two syncers of one file at once while swarms heartbeat: no failure, and the file is right. */
static void
test_two_syncers(void **state)
{
	struct bus *b = connect_srv(5000);
	struct syncer s = { 0 };
	pthread_t t[2];
	struct err e = ERR_INIT;
	struct kvmirror *m;
	char id[32];
	size_t i = 0;

	(void)state;
	assert_int_equal(pthread_create(&t[0], NULL, syncer_main, &s), 0);
	assert_int_equal(pthread_create(&t[1], NULL, syncer_main, &s), 0);
	while (atomic_load(&s.rounds) < 2 * ROUNDS) {
		snprintf(id, sizeof id, "k-%zu", i++ % 10);
		assert_int_equal(swarm_touch(b, id, &e), ST_OK);
	}
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	assert_int_equal(atomic_load(&s.errors), 0);
	m = open_mirror("shared.db");
	assert_same(b, m, "after two syncers");
	kvmirror_close(m);
	bus_close(b);
}

static int
setup(void **state)
{
	struct bus *b;
	struct err e = ERR_INIT;
	int rc;

	(void)state;
	if (mkdtemp(dir) == NULL || hserver_start(&srv) != 0)
		return -1;
	if ((b = hconnect(srv.url, 5000, 50, NULL, NULL)) == NULL)
		return -1;
	rc = schema_ensure(b, NULL, &e) == ST_OK ? 0 : -1;
	bus_close(b);
	return rc;
}

static int
teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	(void)state;
	hserver_destroy(&srv);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	free(cmd);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_changes),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_recreated),
		cmocka_unit_test(test_damaged),
		cmocka_unit_test(test_server_killed),
		cmocka_unit_test(test_two_syncers),
	};
	int rc = cmocka_run_group_tests_name("kvmirror", tests, setup, teardown);

	bus_shutdown();
	return rc;
}
