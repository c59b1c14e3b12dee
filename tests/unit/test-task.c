/* Task records: JSON round trip, bad records, capabilities, ids, history cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/json.h"
#include "core/task.h"
#include "core/util.h"

static void
test_round_trip(void **state)
{
	struct task t, u;
	struct buf a = BUF_INIT, b = BUF_INIT;
	struct err e = ERR_INIT;
	char c0[] = "summarise", c1[] = "review";
	char *caps[] = { c0, c1 };

	(void)state;
	task_init(&t);
	t.id = xstrdup("t-1");
	t.title = xstrdup("a \"quoted\" title");
	t.caps = xcalloc(3, sizeof *t.caps);
	t.caps[0] = xstrdup("summarise");
	t.ncaps = 1;
	t.priority = 7;
	t.budget = 2.5;
	t.payload = xstrdup("{\"file\":\"a.log\"}");
	t.state = TASK_CLAIMED;
	t.owner = xstrdup("s1");
	t.token = 18;
	t.lease_until = 1764052801123LL;
	t.attempts = 1;
	t.max_attempts = 5;
	t.created = 1764052800000LL;
	task_history_add(&t, 1, TASK_QUEUED, "operator", 0, NULL);
	task_history_add(&t, 2, TASK_CLAIMED, "s1", 18, "lease takeover");
	task_to_json(&t, &a);
	assert_int_equal(task_from_json(a.s, a.len, &u, &e), ST_OK);
	task_to_json(&u, &b);
	assert_string_equal(a.s, b.s);
	assert_int_equal(u.token, 18);
	assert_int_equal(u.state, TASK_CLAIMED);
	assert_string_equal(u.hist[1].note, "lease takeover");
	assert_true(task_caps_ok(&u, caps, 2));
	assert_false(task_caps_ok(&u, caps + 1, 1));
	task_release(&t);
	task_release(&u);
	buf_release(&a);
	buf_release(&b);
}

#define BASE "\"v\":1,\"id\":\"x\",\"state\":\"queued\",\"priority\":5,\"attempts\":0," \
	     "\"max_attempts\":5,\"created\":1"

/* Records other clients may write: each refused, naming what is wrong. */
static void
test_bad_records(void **state)
{
	static const struct { const char *text; const char *why; } bad[] = {
		{ "", "invalid JSON" }, { "[]", "not a JSON object" },
		{ "{\"v\":2,\"id\":\"x\",\"state\":\"queued\"}", "'v'" },
		{ "{\"v\":1,\"state\":\"queued\"}", "'id' is missing" },
		{ "{" BASE ",\"state\":\"sleeping\"}", "duplicate member" },
		{ "{\"v\":1,\"id\":\"x\",\"state\":\"sleeping\",\"priority\":5,\"attempts\":0,"
		  "\"max_attempts\":5}", "'state' must be one of" },
		{ "{\"v\":1,\"id\":\"x\",\"state\":\"queued\",\"priority\":\"5\",\"attempts\":0,"
		  "\"max_attempts\":5}", "'priority' must be an integer, not a string" },
		{ "{\"v\":1,\"id\":\"x\",\"state\":\"queued\",\"priority\":5,\"attempts\":0}",
		  "'max_attempts' is missing" },
		{ "{" BASE ",\"budget\":1e400}", "beyond the range of a double" },
		{ "{" BASE ",\"budget\":-1}", "'budget' is -1" },
		{ "{" BASE ",\"token\":1e300}", "'token' is 1" },
		{ "{" BASE ",\"payload\":{\"n\":12345678901234567890123}}", "send it as a string" },
		{ "{" BASE ",\"capabilities\":[1]}", "capability 1" },
		{ "{" BASE ",\"history\":[{\"state\":\"x\"}]}", "history" },
		{ "{\"v\":1,\"id\":\"x\",\"state\":\"claimed\",\"priority\":5,\"attempts\":1,"
		  "\"max_attempts\":5,\"created\":1}", "needs 'owner'" },
		{ "{\"v\":1,\"id\":\"x\",\"state\":\"queued\",\"priority\":5,\"attempts\":0,"
		  "\"max_attempts\":5}", "'created' is missing" },
		{ "{\"v\":1,\"id\":\"x\",\"state\":\"queued\",\"priority\":5,\"attempts\":6,"
		  "\"max_attempts\":5,\"created\":1}", "exceed" },
		{ "{\"v\":1,\"id\":\"x..y\",\"state\":\"queued\",\"priority\":5,\"attempts\":0,"
		  "\"max_attempts\":5,\"created\":1}", "not a valid task id" },
		{ "{" BASE ",\"title\":\"a\\u0000b\"}", "holds U+0000" },
	};
	struct task t;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct err e = ERR_INIT;
		if (task_from_json(bad[i].text, strlen(bad[i].text), &t, &e) != ST_BAD_JSON)
			fail_msg("%s: accepted", bad[i].text);
		if (strstr(e.msg, bad[i].why) == NULL)
			fail_msg("%s: '%s' lacks '%s'", bad[i].text, e.msg, bad[i].why);
	}
}

/* What is written is canonical, keeps payloads exactly, and refuses what cannot be read. */
static void
test_canonical_and_encode(void **state)
{
	const char *in = "{" BASE ",\"payload\":{\"b\":0.1,\"a\":\"x\\u0000y\",\"n\":123456789012},"
			 "\"budget\":2.5,\"unknown\":true}";
	struct buf a = BUF_INIT, c = BUF_INIT;
	struct err e = ERR_INIT;
	struct task t;

	(void)state;
	assert_int_equal(task_from_json(in, strlen(in), &t, &e), ST_OK);
	assert_int_equal(task_encode(&t, &a, &e), ST_OK);
	assert_non_null(strstr(a.s, "\"payload\":{\"a\":\"x\\u0000y\",\"b\":0.1,\"n\":123456789012}"));
	assert_int_equal(json_canonical(a.s, &c, &e), ST_OK);
	assert_string_equal(a.s, c.s);	/* already canonical */
	free(t.title);
	t.title = xstrdup("bad \xff utf-8");
	buf_reset(&a);
	assert_int_equal(task_encode(&t, &a, &e), ST_BAD_VALUE);
	assert_int_equal(a.len, 0);
	assert_non_null(strstr(e.msg, "cannot be stored: its title is not valid UTF-8"));
	free(t.title);
	t.title = xstrdup("fine");
	free(t.payload);
	t.payload = xstrdup("{\"n\":1e400}");	/* only another writer could set this */
	buf_reset(&a);
	assert_int_equal(task_encode(&t, &a, &e), ST_BAD_VALUE);
	assert_non_null(strstr(e.msg, "beyond the range of a double"));
	task_release(&t);
	buf_release(&a);
	buf_release(&c);
}

static void
test_ids_and_history_cap(void **state)
{
	struct task t;
	int i;

	(void)state;
	assert_true(task_id_valid("t-42"));
	assert_true(task_id_valid("job_1.part-2"));
	assert_false(task_id_valid(""));
	assert_false(task_id_valid("idem.abc"));
	assert_false(task_id_valid("a b"));
	assert_false(task_id_valid("a*"));
	assert_false(task_id_valid(".x"));
	task_init(&t);
	for (i = 0; i < TASK_HISTORY_MAX + 10; i++)
		task_history_add(&t, i, TASK_QUEUED, "x", 0, NULL);
	assert_int_equal(t.nhist, TASK_HISTORY_MAX);
	assert_int_equal(t.hist[0].at, 10);
	task_release(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_bad_records),
		cmocka_unit_test(test_canonical_and_encode),
		cmocka_unit_test(test_ids_and_history_cap),
	};
	return cmocka_run_group_tests_name("task", tests, NULL, NULL);
}
