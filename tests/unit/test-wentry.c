/*
 * Witness entries: the worked example of ifctl-protocol(7) byte for byte,
 * version 1 entries still verifying, strict parsing of stored entries, and
 * writers refusing what would not read back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/json.h"
#include "core/util.h"
#include "core/witness.h"

static const char example_canonical[] =
	"{\"actor\":\"ana@host\",\"component\":\"operator\",\"cost_micros\":0,\"event\":\"command\","
	"\"payload\":{\"big\":1e+21,\"n\":0.1,\"why\":\"caf\xc3\xa9 rush\"},\"prev\":\""
	"0000000000000000000000000000000000000000000000000000000000000000\",\"seq\":1,"
	"\"swarm\":null,\"task\":\"t-42\",\"time\":1795590000000,\"tokens\":0,"
	"\"trace\":\"81bdc565d1e98bc6794f2eb76db26385\",\"v\":2}";
static const char example_hash[] =
	"5346f039e1ec855b6d319fe5c662856691e14d557fedcbad8c590f063b29e957";

static void
example(struct wentry *e)
{
	struct buf p = BUF_INIT;

	wentry_init(e);
	e->seq = 1;
	e->time = 1795590000000LL;
	e->component = xstrdup("operator");
	e->event = xstrdup("command");
	e->actor = xstrdup("ana@host");
	e->trace = xstrdup("81bdc565d1e98bc6794f2eb76db26385");
	e->task = xstrdup("t-42");
	assert_int_equal(json_canonical("{\"why\":\"caf\\u00e9 rush\",\"n\":0.10,\"big\":1E21}", &p,
					NULL), ST_OK);
	e->payload = buf_detach(&p);
}

/* ifctl-protocol(7)'s worked example, which node reproduces too. */
static void
test_protocol_example(void **state)
{
	struct buf b = BUF_INIT;
	struct wentry e, back;
	struct err err = ERR_INIT;

	(void)state;
	example(&e);
	wentry_canonical(&e, false, &b);
	assert_string_equal(b.s, example_canonical);
	wentry_seal(&e);
	assert_string_equal(e.hash, example_hash);
	assert_int_equal(wentry_check(&e, &err), ST_OK);
	buf_reset(&b);
	wentry_canonical(&e, true, &b);
	assert_int_equal(wentry_parse(b.s, b.len, &back, &err), ST_OK);
	assert_int_equal(back.v, 2);
	assert_true(wentry_hash_ok(&back));
	wentry_release(&back);
	wentry_release(&e);
	buf_release(&b);
}

/* A version 1 entry from the committed fixtures keeps its hash. */
static void
test_v1_still_verifies(void **state)
{
	char *text = NULL, *line, *end;
	struct wentry e;
	struct err err = ERR_INIT;

	(void)state;
	assert_int_equal(read_file("fixtures/witness/good.jsonl", READ_MAX_LEDGER, READ_TEXT, &text, NULL, &err), ST_OK);
	line = strchr(text, '\n') + 1;
	end = strchr(line, '\n');
	assert_int_equal(wentry_parse_line(line, (size_t)(end - line), &e, &err), ST_OK);
	assert_int_equal(e.v, 1);
	assert_true(wentry_hash_ok(&e));
	free(e.actor);
	e.actor = xstrdup("someone else");
	assert_false(wentry_hash_ok(&e));
	wentry_release(&e);
	free(text);
}

/* Stored entries with anything but exactly their members are malformed. */
static void
test_strict_entries(void **state)
{
	struct buf good = BUF_INIT, b = BUF_INIT;
	struct wentry e;
	size_t i;
	static const struct { const char *find, *replace, *why; } edits[] = {
		{ "\"v\":2}", "\"v\":2,\"extra\":1}", "unknown field 'extra'" },
		{ "\"tokens\":0,", "\"tokens\":0,\"cost_micros\":5,", "duplicate member \"cost_micros\"" },
		{ "\"payload\":{", "\"payload\":{\"n\":1e400,", "beyond the range" },
		{ "\"seq\":1", "\"seq\":0", "'seq' is 0" },
		{ "\"seq\":1", "\"seq\":1.5", "must be an integer" },
		{ "\"time\":1795590000000", "\"time\":1e300", "'time' is 1" },
		{ "\"v\":2}", "\"v\":3}", "'v' is 3" },
		{ "\"actor\":\"ana@host\"", "\"actor\":\"a\\u0000b\"", "holds U+0000" },
		{ "\"tokens\":0,", "", "'tokens' is missing" },
	};

	(void)state;
	example(&e);
	wentry_seal(&e);
	wentry_canonical(&e, true, &good);
	wentry_release(&e);
	for (i = 0; i < ARRAY_SIZE(edits); i++) {
		struct err err = ERR_INIT;
		const char *at = strstr(good.s, edits[i].find);
		assert_non_null(at);
		buf_reset(&b);
		buf_add(&b, good.s, (size_t)(at - good.s));
		buf_adds(&b, edits[i].replace);
		buf_adds(&b, at + strlen(edits[i].find));
		if (wentry_parse(b.s, b.len, &e, &err) != ST_BAD_JSON)
			fail_msg("accepted: %s", b.s);
		if (strstr(err.msg, edits[i].why) == NULL)
			fail_msg("%s: '%s' lacks '%s'", edits[i].replace, err.msg, edits[i].why);
	}
	buf_release(&b);
	buf_release(&good);
}

/* A writer refuses what would not read back, naming the field. */
static void
test_check_refuses(void **state)
{
	struct wentry e;
	struct err err = ERR_INIT;

	(void)state;
	example(&e);
	free(e.actor);
	e.actor = xstrdup("a\xff" "b");
	assert_int_equal(wentry_check(&e, &err), ST_BAD_VALUE);
	assert_non_null(strstr(err.msg, "actor is not valid UTF-8 (byte 2)"));
	free(e.actor);
	e.actor = xstrdup("ok");
	free(e.payload);
	e.payload = xstrdup("{\"n\":inf}");
	assert_int_equal(wentry_check(&e, &err), ST_BAD_JSON);
	free(e.payload);
	e.payload = xstrdup("{\"n\":1}");
	e.tokens = JSON_INT_MAX + 1;
	assert_int_equal(wentry_check(&e, &err), ST_BAD_JSON);
	assert_non_null(strstr(err.msg, "'tokens'"));
	e.tokens = 0;
	assert_int_equal(wentry_check(&e, &err), ST_OK);
	wentry_release(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_protocol_example),
		cmocka_unit_test(test_v1_still_verifies),
		cmocka_unit_test(test_strict_entries),
		cmocka_unit_test(test_check_refuses),
	};
	return cmocka_run_group_tests_name("wentry", tests, NULL, NULL);
}
