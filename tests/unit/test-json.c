/* JSON and YAML helpers: error positions, escaping, quoting. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/json.h"
#include "core/yamlx.h"

static void
test_json_check(void **state)
{
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(json_check("{\"a\": [1, 2]}", "payload", &e), ST_OK);
	assert_int_equal(json_check("{\"a\": [1, 2}", "payload", &e), ST_BAD_JSON);
	assert_non_null(strstr(e.msg, "payload: invalid JSON at line 1, column 12, near '}'"));
	assert_int_equal(json_check("{\n  \"a\": tru\n}", "payload", &e), ST_BAD_JSON);
	assert_non_null(strstr(e.msg, "line 2"));
	assert_int_equal(json_check("{} trailing", "x", &e), ST_BAD_JSON);
	assert_int_equal(json_check("", "x", &e), ST_BAD_JSON);
	assert_non_null(strstr(e.msg, "(end of input)"));
}

static void
test_json_escape_and_numbers(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	json_escape(&b, "a\"b\\c\n\t\x01");
	assert_string_equal(b.s, "\"a\\\"b\\\\c\\n\\t\\u0001\"");
	buf_reset(&b);
	json_escape(&b, "plain run, \xc3\xa9t\xc3\xa9\x7f \"q\" end");	/* runs around escapes */
	assert_string_equal(b.s, "\"plain run, \xc3\xa9t\xc3\xa9\x7f \\\"q\\\" end\"");
	buf_reset(&b);
	json_escape(&b, "");
	assert_string_equal(b.s, "\"\"");
	buf_reset(&b);
	buf_addc(&b, '{');
	json_kv_int(&b, "a", 0);
	json_kv_int(&b, "b", -1);
	json_kv_int(&b, "c", 1234567890123LL);
	json_kv_int(&b, "d", LLONG_MIN);
	json_kv_int(&b, "e", LLONG_MAX);
	assert_string_equal(b.s, "{\"a\":0,\"b\":-1,\"c\":1234567890123,"
			    "\"d\":-9223372036854775808,\"e\":9223372036854775807");
	buf_reset(&b);
	/* Canonical form: sorted keys, integers as integers, others with 17 digits. */
	assert_int_equal(json_canonical("{\"z\": [3, -0.5, 1e300, -12], \"a\": \"x\"}", &b, NULL),
			 ST_OK);
	assert_string_equal(b.s, "{\"a\":\"x\",\"z\":[3,-0.5,1.0000000000000001e+300,-12]}");
	buf_release(&b);
	assert_true(json_is_number("0"));
	assert_true(json_is_number("-1.5e3"));
	assert_false(json_is_number("01"));
	assert_false(json_is_number("1x"));
	assert_false(json_is_number("nan"));
	assert_false(json_is_number(""));
}

static enum status
collect(void *arg, const char *path, const char *value, int line, struct err *e)
{
	struct buf *b = arg;

	(void)e;
	buf_addf(b, "%s=%s@%d;", path, value, line);
	return ST_OK;
}

static void
test_yaml(void **state)
{
	struct buf b = BUF_INIT, q = BUF_INIT;
	struct err e = ERR_INIT;
	const char *doc = "a:\n  b: 1\n  c: two\nd: \"x: y\"\n";

	(void)state;
	assert_int_equal(yaml_flatten(doc, strlen(doc), collect, &b, &e), ST_OK);
	assert_string_equal(b.s, "a.b=1@2;a.c=two@3;d=x: y@4;");
	assert_int_equal(yaml_flatten("a: [1,\n", 7, collect, &b, &e), ST_BAD_YAML);
	assert_non_null(strstr(e.msg, "line"));
	yaml_scalar(&q, "plain");
	buf_addc(&q, '|');
	yaml_scalar(&q, "yes");
	buf_addc(&q, '|');
	yaml_scalar(&q, "a: b");
	buf_addc(&q, '|');
	yaml_scalar(&q, "");
	assert_string_equal(q.s, "plain|\"yes\"|\"a: b\"|\"\"");
	buf_release(&b);
	buf_release(&q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_check),
		cmocka_unit_test(test_json_escape_and_numbers),
		cmocka_unit_test(test_yaml),
	};
	return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
