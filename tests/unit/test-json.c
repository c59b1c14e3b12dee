/* JSON and YAML helpers: error positions, escaping, quoting. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/json.h"
#include "core/util.h"
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
	/* Canonical form (RFC 8785): sorted keys, ECMAScript numbers. */
	assert_int_equal(json_canonical("{\"z\": [3, -0.5, 1e300, -12], \"a\": \"x\"}", &b, NULL),
			 ST_OK);
	assert_string_equal(b.s, "{\"a\":\"x\",\"z\":[3,-0.5,1e+300,-12]}");
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

/* RFC 8785's published known answers, byte for byte. */
static void
test_jcs_vectors(void **state)
{
	static const char *const names[] = { "arrays", "french", "structures", "unicode",
					      "values", "weird" };
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		char *in = NULL, *want = NULL, *path;
		struct buf got = BUF_INIT, again = BUF_INIT;
		struct err e = ERR_INIT;

		path = xasprintf("fixtures/jcs/input/%s.json", names[i]);
		assert_int_equal(read_file(path, READ_MAX_JSON, 0, &in, NULL, &e), ST_OK);
		free(path);
		path = xasprintf("fixtures/jcs/output/%s.json", names[i]);
		assert_int_equal(read_file(path, READ_MAX_JSON, 0, &want, NULL, &e), ST_OK);
		free(path);
		assert_int_equal(json_canonical(in, &got, &e), ST_OK);
		assert_string_equal(got.s, want);
		assert_int_equal(json_canonical(got.s, &again, &e), ST_OK);	/* idempotent */
		assert_string_equal(again.s, want);
		buf_release(&got);
		buf_release(&again);
		free(in);
		free(want);
	}
}

/* ECMAScript's number forms (RFC 8785 appendix B and the edges of each form). */
static void
test_jcs_numbers(void **state)
{
	static const struct { uint64_t bits; const char *want; } cases[] = {
		{ 0x0000000000000000ULL, "0" }, { 0x8000000000000000ULL, "0" },
		{ 0x0000000000000001ULL, "5e-324" }, { 0x8000000000000001ULL, "-5e-324" },
		{ 0x7fefffffffffffffULL, "1.7976931348623157e+308" },
		{ 0xffefffffffffffffULL, "-1.7976931348623157e+308" },
		{ 0x4340000000000000ULL, "9007199254740992" },
		{ 0xc340000000000000ULL, "-9007199254740992" },
		{ 0x4430000000000000ULL, "295147905179352830000" },
		{ 0x44b52d02c7e14af5ULL, "9.999999999999997e+22" },
		{ 0x44b52d02c7e14af6ULL, "1e+23" },
		{ 0x44b52d02c7e14af7ULL, "1.0000000000000001e+23" },
		{ 0x444b1ae4d6e2ef4eULL, "999999999999999700000" },
		{ 0x444b1ae4d6e2ef4fULL, "999999999999999900000" },
		{ 0x444b1ae4d6e2ef50ULL, "1e+21" },
		{ 0x41b3de4355555553ULL, "333333333.3333332" },
		{ 0x41b3de4355555555ULL, "333333333.3333333" },
		{ 0x41b3de4355555557ULL, "333333333.33333343" },
		{ 0xbecbf647612f3696ULL, "-0.0000033333333333333333" },
		{ 0x43143ff3c1cb0959ULL, "1424953923781206.2" },
	};
	static const struct { double d; const char *want; } more[] = {
		{ 0.1, "0.1" }, { 123456789012345678.0, "123456789012345680" },
		{ 1e-6, "0.000001" }, { 1e-7, "1e-7" }, { 1e21, "1e+21" }, { 1e20, "100000000000000000000" },
		{ -1.5, "-1.5" }, { 2.5e-5, "0.000025" }, { 0x1p-1022, "2.2250738585072014e-308" },
		{ 0x1p60, "1152921504606847000" }, { 0x1p-60, "8.673617379884035e-19" },
	};
	struct buf b = BUF_INIT;
	size_t i;
	double d;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		memcpy(&d, &cases[i].bits, sizeof d);
		buf_reset(&b);
		json_add_number(&b, d);
		assert_string_equal(b.s, cases[i].want);
	}
	for (i = 0; i < ARRAY_SIZE(more); i++) {
		buf_reset(&b);
		json_add_number(&b, more[i].d);
		assert_string_equal(b.s, more[i].want);
	}
	buf_release(&b);
}

/* What RFC 7493 (I-JSON) refuses, each with its position; what it keeps. */
static void
test_ijson(void **state)
{
	static const struct { const char *text; const char *why; } bad[] = {
		{ "{\"n\":1e400}", "beyond the range of a double" },
		{ "[-1e400]", "beyond the range of a double" },
		{ "[1e-400]", "too small for a double" },
		{ "12345678901234567890123", "send it as a string" },
		{ "9007199254740993", "send it as a string" },
		{ "123456789012345678", "send it as a string" },
		{ "{\"a\":1,\"b\":2,\"a\":3}", "duplicate member \"a\"" },
		{ "\"a\xff" "b\"", "invalid UTF-8" },
		{ "\"\xc0\xaf\"", "invalid UTF-8" },		/* overlong '/' */
		{ "\"\xed\xa0\x80\"", "invalid UTF-8" },	/* a surrogate in UTF-8 */
		{ "\"\xf4\x90\x80\x80\"", "invalid UTF-8" },	/* beyond U+10FFFF */
		{ "\"\\ud800\"", "lone high surrogate" },
		{ "\"\\udc00x\"", "lone low surrogate" },
		{ "\"a\tb\"", "control character" },
		{ "\xef\xbb\xbf{}", "byte order mark" },
		{ "[01]", "near" }, { "[1.]", "near" }, { "[.5]", "near" }, { "[+1]", "near" },
		{ "{\"a\" 1}", "near" }, { "[1,]", "near" }, { "nul", "near" },
		{ "\"\\x\"", "unknown escape" }, { "\"abc", "unterminated string" },
	};
	struct json_doc doc = JSON_DOC_INIT;
	struct buf b = BUF_INIT, deep = BUF_INIT;
	struct err e = ERR_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		e = (struct err)ERR_INIT;
		assert_int_equal(json_check(bad[i].text, "payload", &e), ST_BAD_JSON);
		if (strstr(e.msg, bad[i].why) == NULL)
			fail_msg("%s: '%s' lacks '%s'", bad[i].text, e.msg, bad[i].why);
	}
	assert_int_equal(json_check("{\n  \"n\": 1e400}", "payload", &e), ST_BAD_JSON);
	assert_non_null(strstr(e.msg, "payload: invalid JSON at line 2, column 8"));
	assert_int_equal(json_check("9007199254740991", "x", &e), ST_OK);
	assert_int_equal(json_check("-9007199254740991", "x", &e), ST_OK);
	assert_int_equal(json_check("1e300", "x", &e), ST_OK);	/* not an integer literal */
	/* The canonical form of a large double reads back. */
	assert_int_equal(json_check("[73786976294838210000, -9007199254740992]", "x", &e), ST_OK);
	assert_int_equal(json_check("73786976294838206464", "x", &e), ST_BAD_JSON);
	assert_int_equal(json_check("[0.0, -0, 5e-324]", "x", &e), ST_OK);
	/* Depth: JSON_DEPTH_MAX arrays pass, one more does not; the same for writers. */
	for (i = 0; i < JSON_DEPTH_MAX; i++)
		buf_addc(&deep, '[');
	for (i = 0; i < JSON_DEPTH_MAX; i++)
		buf_addc(&deep, ']');
	assert_int_equal(json_check(deep.s, "x", &e), ST_OK);
	buf_reset(&deep);
	for (i = 0; i < JSON_DEPTH_MAX + 1; i++)
		buf_addc(&deep, '[');
	assert_int_equal(json_check(deep.s, "x", &e), ST_BAD_JSON);
	assert_non_null(strstr(e.msg, "nested deeper than"));
	for (i = 0; i < 100000; i++)	/* no stack is spent on what is refused */
		buf_addc(&deep, '{');
	assert_int_equal(json_check(deep.s, "x", &e), ST_BAD_JSON);
	buf_release(&deep);
	/* U+0000 is kept, and written back escaped. */
	assert_int_equal(json_parse("{\"s\":\"a\\u0000b\"}", 16, "x", &doc, &e), ST_OK);
	assert_int_equal(json_member(doc.root, "s")->len, 3);
	json_canonical_value(doc.root, &b);
	assert_string_equal(b.s, "{\"s\":\"a\\u0000b\"}");
	json_doc_release(&doc);
	buf_reset(&b);
	/* A raw NUL byte in the text is not JSON. */
	assert_int_equal(json_parse("\"a\0b\"", 5, "x", &doc, &e), ST_BAD_JSON);
	json_doc_release(&doc);
	buf_release(&b);
}

struct rec {
	char *name;
	int n;
	int64_t big;
	double x;
	bool flag;
	char *raw;
};

#define RF(name, type, flags, field, min, max) \
	{ name, type, flags, offsetof(struct rec, field), min, max, NULL }

/* The typed readers: types, ranges, required and unknown fields, U+0000. */
static void
test_read_fields(void **state)
{
	static const struct json_field fields[] = {
		RF("name", JF_STR, JF_REQUIRED, name, 0, 0),
		RF("n", JF_INT, 0, n, 0, 9),
		RF("big", JF_I64, 0, big, -JSON_INT_MAX, JSON_INT_MAX),
		RF("x", JF_NUM, JF_NULLABLE, x, 0, 1),
		RF("flag", JF_BOOL, 0, flag, 0, 0),
		RF("raw", JF_JSON, JF_NULLABLE, raw, 0, 0),
	};
	static const struct { const char *text; unsigned flags; const char *why; } bad[] = {
		{ "{}", 0, "field 'name' is missing" },
		{ "{\"name\":5}", 0, "must be a string, not a number" },
		{ "{\"name\":\"a\\u0000\"}", 0, "holds U+0000" },
		{ "{\"name\":\"a\",\"n\":\"5\"}", 0, "must be an integer, not a string" },
		{ "{\"name\":\"a\",\"n\":10}", 0, "outside [0, 9]" },
		{ "{\"name\":\"a\",\"n\":1.5}", 0, "must be an integer" },
		{ "{\"name\":\"a\",\"n\":null}", 0, "must not be null" },
		{ "{\"name\":\"a\",\"flag\":1}", 0, "must be a boolean" },
		{ "{\"name\":\"a\",\"zz\":1}", JF_STRICT, "unknown field 'zz'" },
		{ "[]", 0, "not a JSON object" },
	};
	const char *good = "{\"name\":\"a\",\"n\":9,\"big\":-9007199254740991,\"x\":null,"
			   "\"flag\":true,\"raw\":{\"b\":1e2,\"a\":[]},\"zz\":0}";
	struct json_doc doc = JSON_DOC_INIT;
	struct rec r;
	struct err e = ERR_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(&r, 0, sizeof r);
		assert_int_equal(json_parse(bad[i].text, strlen(bad[i].text), "rec", &doc, &e), ST_OK);
		assert_int_equal(json_read_fields(doc.root, fields, ARRAY_SIZE(fields), bad[i].flags,
						  &r, "rec", &e), ST_BAD_JSON);
		if (strstr(e.msg, bad[i].why) == NULL)
			fail_msg("%s: '%s' lacks '%s'", bad[i].text, e.msg, bad[i].why);
		free(r.name);
		free(r.raw);
		json_doc_release(&doc);
	}
	memset(&r, 0, sizeof r);
	r.x = 0.5;
	assert_int_equal(json_parse(good, strlen(good), "rec", &doc, &e), ST_OK);
	assert_int_equal(json_read_fields(doc.root, fields, ARRAY_SIZE(fields), 0, &r, "rec", &e),
			 ST_OK);
	assert_string_equal(r.name, "a");
	assert_int_equal(r.n, 9);
	assert_true(r.big == -JSON_INT_MAX);
	assert_true(r.x == 0.5);	/* null leaves the default */
	assert_true(r.flag);
	assert_string_equal(r.raw, "{\"a\":[],\"b\":100}");
	free(r.name);
	free(r.raw);
	json_doc_release(&doc);
}

/* Members sort by UTF-16 code units: U+1F602 (a surrogate pair) before U+FB33. */
static void
test_utf16_order_and_member(void **state)
{
	struct buf b = BUF_INIT;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(json_canonical("{\"\xef\xac\xb3\":1,\"\xf0\x9f\x98\x82\":2,\"\x7f\":3}",
					&b, &e), ST_OK);
	assert_string_equal(b.s, "{\"\x7f\":3,\"\xf0\x9f\x98\x82\":2,\"\xef\xac\xb3\":1}");
	buf_reset(&b);
	assert_int_equal(json_with_member("{\"why\":\"old\",\"z\":1}", "why", "new\b", &b, &e),
			 ST_OK);
	assert_string_equal(b.s, "{\"why\":\"new\\b\",\"z\":1}");
	buf_reset(&b);
	assert_int_equal(json_with_member("[1]", "why", "x", &b, &e), ST_BAD_JSON);
	assert_int_equal(json_with_member(NULL, "why", "x", &b, &e), ST_OK);
	assert_string_equal(b.s, "{\"why\":\"x\"}");
	buf_release(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_check),
		cmocka_unit_test(test_json_escape_and_numbers),
		cmocka_unit_test(test_yaml),
		cmocka_unit_test(test_jcs_vectors),
		cmocka_unit_test(test_jcs_numbers),
		cmocka_unit_test(test_ijson),
		cmocka_unit_test(test_read_fields),
		cmocka_unit_test(test_utf16_order_and_member),
	};
	return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
