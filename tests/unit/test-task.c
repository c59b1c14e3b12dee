/* Task records: JSON round trip, bad records, capabilities, ids, history cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

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

static void
test_bad_records(void **state)
{
	struct task t;
	struct err e = ERR_INIT;
	static const char *const bad[] = {
		"", "[]", "{\"v\":2,\"id\":\"x\",\"state\":\"queued\"}",
		"{\"v\":1,\"state\":\"queued\"}", "{\"v\":1,\"id\":\"x\",\"state\":\"sleeping\"}",
		"{\"v\":1,\"id\":\"x\",\"state\":\"queued\",\"priority\":\"high\"}",
		"{\"v\":1,\"id\":\"x\",\"state\":\"queued\",\"capabilities\":[1]}",
		"{\"v\":1,\"id\":\"x\",\"state\":\"queued\",\"history\":[{\"state\":\"x\"}]}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(task_from_json(bad[i], strlen(bad[i]), &t, &e), ST_BAD_JSON);
	assert_non_null(strstr(e.msg, "history"));
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
		cmocka_unit_test(test_ids_and_history_cap),
	};
	return cmocka_run_group_tests_name("task", tests, NULL, NULL);
}
