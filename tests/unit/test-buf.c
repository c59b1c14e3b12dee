/* The string buffer and the small helpers in util. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/util.h"

static void
test_buf(void **state)
{
	struct buf b = BUF_INIT;
	char *s;
	int i;

	(void)state;
	assert_string_equal(b.s, "");
	for (i = 0; i < 1000; i++)
		buf_addf(&b, "%d,", i);
	assert_int_equal(b.len, strlen(b.s));
	assert_true(has_prefix(b.s, "0,1,2,"));
	buf_truncate(&b, 2);
	assert_string_equal(b.s, "0,");
	buf_addc(&b, 'x');
	buf_adds(&b, "yz");
	assert_string_equal(b.s, "0,xyz");
	s = buf_detach(&b);
	assert_string_equal(s, "0,xyz");
	assert_string_equal(b.s, "");
	free(s);
	s = buf_detach(&b);	/* an empty buffer detaches to a heap "" */
	assert_string_equal(s, "");
	free(s);
	buf_release(&b);
}

static void
test_util(void **state)
{
	int64_t v;
	char hex[9], t[32];
	static const unsigned char raw[] = { 0xde, 0xad, 0xbe, 0xef };
	char id1[33], id2[33];

	(void)state;
	assert_int_equal(edit_distance("status", "stauts"), 2);
	assert_int_equal(edit_distance("", "abc"), 3);
	assert_int_equal(edit_distance("same", "same"), 0);
	assert_true(parse_int64("-42", &v) && v == -42);
	assert_false(parse_int64("42x", &v));
	assert_false(parse_int64("", &v));
	assert_false(parse_int64("99999999999999999999", &v));
	hex_encode(hex, raw, sizeof raw);
	assert_string_equal(hex, "deadbeef");
	fmt_time_ms(t, 1764052801123LL);
	assert_string_equal(t, "2025-11-25T06:40:01.123Z");
	trace_id_new(id1);
	trace_id_new(id2);
	assert_int_equal(strlen(id1), 32);
	assert_string_not_equal(id1, id2);
}

static void
test_files(void **state)
{
	char dir[] = "/tmp/ifctl-buf-XXXXXX", *path, *deep, *text;
	struct err e = ERR_INIT;
	size_t len;

	(void)state;
	assert_non_null(mkdtemp(dir));
	deep = xasprintf("%s/a/b/c", dir);
	assert_int_equal(mkdir_p(deep, 0700, &e), ST_OK);
	path = xasprintf("%s/f", deep);
	assert_int_equal(write_file_atomic(path, "hello", 5, 0600, &e), ST_OK);
	assert_int_equal(read_file(path, READ_MAX_SMALL, 0, &text, &len, &e), ST_OK);
	assert_string_equal(text, "hello");
	free(text);
	assert_int_equal(read_file("/nonexistent/f", READ_MAX_SMALL, 0, &text, &len, &e), ST_NOT_FOUND);
	assert_non_null(strstr(e.msg, "/nonexistent/f"));
	assert_int_equal(write_file_atomic("/nonexistent/f", "x", 1, 0600, &e), ST_IO);
	free(path);
	free(deep);
	path = xasprintf("rm -rf %s", dir);
	assert_int_equal(system(path), 0);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf),
		cmocka_unit_test(test_util),
		cmocka_unit_test(test_files),
	};
	return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
