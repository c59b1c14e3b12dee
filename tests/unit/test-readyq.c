/*
 * The ready index without a server: pick order (priority, FIFO within a
 * priority, expired leases against queued tasks), `to`, capabilities,
 * retry backoff, in-flight marks, stale revisions, and records that are not
 * tasks, which are never offered. Also the history's event kinds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/coord.h"
#include "core/readyq.h"
#include "core/util.h"

#define NOW 1764052800000LL

/* What a test record holds; zero fields take the defaults of a queued task. */
struct rec {
	const char *id;
	int prio;
	int64_t created;
	enum task_state state;
	int64_t lease_until;	/* claimed: when the lease ends */
	int64_t not_before;
	const char *to;
	const char *cap;	/* one required capability, or NULL */
	uint64_t rev;
};

/* r as a record another client could have written. */
static void
record_json(const struct rec *r, struct buf *json)
{
	struct task t;

	task_init(&t);
	t.id = xstrdup(r->id);
	t.title = xstrdup("");
	t.caps = xcalloc(2, sizeof *t.caps);
	if (r->cap)
		t.caps[t.ncaps++] = xstrdup(r->cap);
	t.priority = r->prio;
	t.state = r->state;
	t.created = r->created ? r->created : 1;
	t.max_attempts = 5;
	t.not_before = r->not_before;
	t.to = xstrdup_or_null(r->to);
	if (r->state == TASK_CLAIMED) {
		t.owner = xstrdup("old");
		t.token = 1;
		t.attempts = 1;
		t.lease_until = r->lease_until;
	}
	task_to_json(&t, json);
	task_release(&t);
}

/* Put r into q. */
static void
put(struct readyq *q, const struct rec *r)
{
	struct buf json = BUF_INIT;

	record_json(r, &json);
	readyq_put(q, r->id, json.s, json.len, r->rev ? r->rev : 1);
	buf_release(&json);
}

/* The id c would get next (the pick stays in flight), or "" when none. */
static const char *
next(struct readyq *q, const char *swarm, const char *cap, int64_t now)
{
	static char got[64];
	char c0[32] = "", *caps[] = { c0 };
	struct claimer c = { swarm, caps, 0 };
	struct readyq_pick p;

	if (cap) {
		snprintf(c0, sizeof c0, "%s", cap);
		c.ncaps = 1;
	}
	got[0] = '\0';
	if (readyq_pick(q, &c, now, &p)) {
		snprintf(got, sizeof got, "%s", p.id);
		assert_non_null(strstr(p.json, p.id));	/* the record travels with the pick */
		readyq_pick_release(&p);
	}
	return got;
}

/* Higher priority first, whatever the order of arrival. */
static void
test_priority_order(void **state)
{
	struct readyq *q = readyq_new();

	(void)state;
	put(q, &(struct rec){ .id = "low", .prio = 1 });
	put(q, &(struct rec){ .id = "high", .prio = 9 });
	put(q, &(struct rec){ .id = "mid", .prio = 5 });
	assert_string_equal(next(q, "s1", NULL, NOW), "high");
	assert_string_equal(next(q, "s1", NULL, NOW), "mid");
	assert_string_equal(next(q, "s1", NULL, NOW), "low");
	assert_string_equal(next(q, "s1", NULL, NOW), "");	/* all in flight */
	readyq_unmark(q, "mid");
	assert_string_equal(next(q, "s1", NULL, NOW), "mid");
	assert_int_equal(readyq_size(q), 3);
	readyq_free(q);
}

/* Within a priority, first queued first out; a task that leaves the queue is skipped. */
static void
test_fifo_within_priority(void **state)
{
	struct readyq *q = readyq_new();
	char id[16];
	int i;

	(void)state;
	for (i = 0; i < 5; i++) {
		snprintf(id, sizeof id, "t-%d", i);
		put(q, &(struct rec){ .id = id, .prio = 4, .created = 100 + i });
	}
	put(q, &(struct rec){ .id = "t-1", .prio = 4, .created = 101, .state = TASK_DONE,
			      .rev = 2 });
	assert_string_equal(next(q, "s1", NULL, NOW), "t-0");
	assert_string_equal(next(q, "s1", NULL, NOW), "t-2");
	assert_string_equal(next(q, "s1", NULL, NOW), "t-3");
	assert_string_equal(next(q, "s1", NULL, NOW), "t-4");
	assert_string_equal(next(q, "s1", NULL, NOW), "");
	readyq_free(q);
}

/* A task pushed to one swarm goes to that swarm only; capabilities must all be held. */
static void
test_to_and_capabilities(void **state)
{
	struct readyq *q = readyq_new();

	(void)state;
	put(q, &(struct rec){ .id = "for-s2", .prio = 9, .to = "s2" });
	put(q, &(struct rec){ .id = "gpu", .prio = 8, .cap = "gpu" });
	put(q, &(struct rec){ .id = "any", .prio = 1 });
	assert_string_equal(next(q, "s1", NULL, NOW), "any");
	assert_string_equal(next(q, "s1", NULL, NOW), "");
	assert_string_equal(next(q, "s1", "cpu", NOW), "");
	assert_string_equal(next(q, "s1", "gpu", NOW), "gpu");
	assert_string_equal(next(q, "s2", NULL, NOW), "for-s2");
	readyq_free(q);
}

/* A task in retry backoff waits until not_before, and lets others by meanwhile. */
static void
test_not_before(void **state)
{
	struct readyq *q = readyq_new();

	(void)state;
	put(q, &(struct rec){ .id = "retry", .prio = 9, .not_before = NOW + 1000 });
	put(q, &(struct rec){ .id = "fresh", .prio = 1 });
	assert_string_equal(next(q, "s1", NULL, NOW), "fresh");
	assert_string_equal(next(q, "s1", NULL, NOW + 999), "");
	assert_string_equal(next(q, "s1", NULL, NOW + 1000), "retry");
	readyq_free(q);
}

/*
 * Expired leases compete with queued tasks: higher priority first; on the
 * same priority the expired lease (its work started first). A running
 * lease is never offered.
 */
static void
test_expired_leases(void **state)
{
	struct readyq *q = readyq_new();

	(void)state;
	put(q, &(struct rec){ .id = "running", .prio = 9, .state = TASK_CLAIMED,
			      .lease_until = NOW + 1 });
	put(q, &(struct rec){ .id = "queued-5", .prio = 5, .created = 10 });
	put(q, &(struct rec){ .id = "expired-5", .prio = 5, .created = 20, .state = TASK_CLAIMED,
			      .lease_until = NOW - 1 });
	put(q, &(struct rec){ .id = "expired-3", .prio = 3, .state = TASK_CLAIMED,
			      .lease_until = NOW - 5000 });
	put(q, &(struct rec){ .id = "expired-7", .prio = 7, .created = 30, .state = TASK_CLAIMED,
			      .lease_until = NOW });
	assert_string_equal(next(q, "s1", NULL, NOW), "expired-7");
	assert_string_equal(next(q, "s1", NULL, NOW), "expired-5");
	assert_string_equal(next(q, "s1", NULL, NOW), "queued-5");
	assert_string_equal(next(q, "s1", NULL, NOW), "expired-3");
	assert_string_equal(next(q, "s1", NULL, NOW), "");
	assert_string_equal(next(q, "s1", NULL, NOW + 1), "running");
	readyq_free(q);
}

/* A lease renewed (a newer record) leaves the expired set; an older record is ignored. */
static void
test_revisions(void **state)
{
	struct readyq *q = readyq_new();

	(void)state;
	put(q, &(struct rec){ .id = "a", .state = TASK_CLAIMED, .lease_until = NOW - 1,
			      .rev = 5 });
	put(q, &(struct rec){ .id = "a", .state = TASK_CLAIMED, .lease_until = NOW + 100,
			      .rev = 6 });
	put(q, &(struct rec){ .id = "a", .rev = 4 });	/* stale: still claimed */
	assert_string_equal(next(q, "s1", NULL, NOW), "");
	readyq_drop(q, "a", 7);
	assert_string_equal(next(q, "s1", NULL, NOW + 1000), "");
	put(q, &(struct rec){ .id = "a", .rev = 8 });
	assert_string_equal(next(q, "s1", NULL, NOW), "a");
	readyq_free(q);
}

/*
 * The stream leader's record replaces what the index knew, whatever the
 * revisions (a replica numbering ahead of the leader): readyq_replace says
 * the revision known before, and later records compare with the new one.
 */
static void
test_replace(void **state)
{
	struct readyq *q = readyq_new();
	struct buf json = BUF_INIT;

	(void)state;
	put(q, &(struct rec){ .id = "a", .state = TASK_CLAIMED, .lease_until = NOW + 100,
			      .rev = 9 });
	assert_string_equal(next(q, "s1", NULL, NOW), "");
	record_json(&(struct rec){ .id = "a" }, &json);
	put(q, &(struct rec){ .id = "a", .rev = 8 });	/* an older view: ignored */
	assert_string_equal(next(q, "s1", NULL, NOW), "");
	assert_int_equal(readyq_replace(q, "a", json.s, json.len, 8), 9);
	assert_int_equal(readyq_replace(q, "b", json.s, json.len, 3), 0);	/* new key */
	assert_string_equal(next(q, "s1", NULL, NOW), "a");
	buf_release(&json);
	readyq_free(q);
}

/* Records that are not tasks are quarantined until a valid one replaces them. */
static void
test_invalid_never_offered(void **state)
{
	static const char *const bad[] = {
		"not json", "{\"v\":1}", "[1]",
		/* an id that is not its key */
		("{\"v\":1,\"id\":\"other\",\"state\":\"queued\",\"priority\":9,\"attempts\":0,"
		 "\"max_attempts\":5,\"created\":1}"),
	};
	struct readyq *q = readyq_new();
	size_t i;

	(void)state;
	put(q, &(struct rec){ .id = "k", .prio = 9, .rev = 1 });
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		readyq_put(q, "k", bad[i], strlen(bad[i]), 2 + i);
		assert_string_equal(next(q, "s1", NULL, NOW), "");
	}
	readyq_put(q, "bad key!", bad[3], strlen(bad[3]), 1);
	assert_string_equal(next(q, "s1", NULL, NOW), "");
	put(q, &(struct rec){ .id = "k", .prio = 9, .rev = 10 });
	assert_string_equal(next(q, "s1", NULL, NOW), "k");
	readyq_free(q);
}

/* Many tasks: the hash table grows, every one is offered once, in order. */
static void
test_many(void **state)
{
	struct readyq *q = readyq_new();
	char id[16], want[16];
	int i;

	(void)state;
	for (i = 0; i < 5000; i++) {
		snprintf(id, sizeof id, "t-%d", i);
		put(q, &(struct rec){ .id = id, .prio = i % 2 ? 6 : 2, .created = i + 1 });
	}
	assert_int_equal(readyq_size(q), 5000);
	for (i = 1; i < 5000; i += 2) {
		snprintf(want, sizeof want, "t-%d", i);
		assert_string_equal(next(q, "s1", NULL, NOW), want);
	}
	assert_string_equal(next(q, "s1", NULL, NOW), "t-0");
	readyq_free(q);
}

/* History entries read as event kinds from their states, not their notes. */
static void
test_history_events(void **state)
{
	static const struct { enum task_state st; const char *by, *note; enum coord_event ev; }
	steps[] = {
		{ TASK_QUEUED, "operator", NULL, COORD_EV_PUSH },
		{ TASK_CLAIMED, "s1", NULL, COORD_EV_CLAIM },
		{ TASK_CLAIMED, "s2", "anything", COORD_EV_TAKEOVER },
		{ TASK_QUEUED, "s2", NULL, COORD_EV_RELEASE },
		{ TASK_CLAIMED, "s1", NULL, COORD_EV_CLAIM },
		{ TASK_QUEUED, "s1", "oom", COORD_EV_FAIL },
		{ TASK_CLAIMED, "s1", "lease takeover", COORD_EV_CLAIM },
		{ TASK_DEAD, COORD_ACTOR, "lease expired", COORD_EV_DEAD },
	};
	struct task t;
	size_t i;

	(void)state;
	task_init(&t);
	for (i = 0; i < ARRAY_SIZE(steps); i++)
		task_history_add(&t, (int64_t)i, steps[i].st, steps[i].by, 0, steps[i].note);
	for (i = 0; i < ARRAY_SIZE(steps); i++)
		if (coord_hist_event(&t, i) != steps[i].ev)
			fail_msg("entry %zu: %s, want %s", i, coord_event_name(coord_hist_event(&t, i)),
				 coord_event_name(steps[i].ev));
	assert_string_equal(coord_event_name(COORD_EV_TAKEOVER), "takeover");
	task_release(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_priority_order),
		cmocka_unit_test(test_fifo_within_priority),
		cmocka_unit_test(test_to_and_capabilities),
		cmocka_unit_test(test_not_before),
		cmocka_unit_test(test_expired_leases),
		cmocka_unit_test(test_revisions),
		cmocka_unit_test(test_replace),
		cmocka_unit_test(test_invalid_never_offered),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_history_events),
	};
	return cmocka_run_group_tests_name("readyq", tests, NULL, NULL);
}
