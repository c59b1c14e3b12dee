/* Row sets, documents and the operation context (why, checks, trace). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/opctx.h"
#include "core/rows.h"

static void
test_rows(void **state)
{
	struct rowset *rs = rows_new("tasks");
	struct doc d = { 0 };
	size_t r, i;

	(void)state;
	assert_int_equal(rows_col(rs, "id", COL_TEXT, 0), 0);
	assert_int_equal(rows_col(rs, "n", COL_NUM, COL_WIDE), 1);
	for (i = 0; i < 100; i++) {
		r = rows_add(rs);
		rows_setf(rs, r, 0, "t-%zu", i);
	}
	assert_int_equal(rs->nrows, 100);
	assert_string_equal(rows_get(rs, 42, 0), "t-42");
	assert_null(rows_get(rs, 42, 1));
	rows_set(rs, 42, 1, "7");
	rows_set(rs, 42, 1, NULL);
	assert_null(rows_get(rs, 42, 1));
	doc_add(&d, rs);
	assert_ptr_equal(doc_find(&d, "tasks"), rs);
	assert_null(doc_find(&d, "nope"));
	doc_release(&d);
	rows_free(NULL);
}

/* Typed setters write what structured formats print; tables may show other text. */
static void
test_typed(void **state)
{
	static const struct view_col cols[] = {
		{ "n", COL_NUM, 0 }, { "ok", COL_BOOL, 0 }, { "at", COL_TIME, 0 },
		{ "caps", COL_JSON, COL_WIDE },
	};
	static const struct view v = VIEW("typed", cols);
	struct rowset *rs = rows_view(&v);
	const char *caps[] = { "gpu", "a\"b" };
	size_t r = rows_add(rs);
	int64_t n;

	(void)state;
	assert_int_equal(rs->ncols, 4);
	assert_string_equal(rs->cols[3].name, "caps");
	assert_int_equal(rs->cols[3].flags, COL_WIDE);
	rows_set_num(rs, r, 0, 0.1 + 0.2);
	assert_string_equal(rows_get(rs, r, 0), "0.30000000000000004");
	rows_set_num(rs, r, 0, 1e21);
	assert_string_equal(rows_get(rs, r, 0), "1e+21");
	rows_set_num(rs, r, 0, 1.0 / 0.0);
	assert_null(rows_get(rs, r, 0));
	rows_set_int(rs, r, 0, -42);
	assert_true(rows_get_i64(rs, r, 0, &n));
	assert_int_equal(n, -42);
	rows_showf(rs, r, 0, "%d/%d", 0, 5);
	assert_string_equal(rows_get(rs, r, 0), "-42");
	assert_string_equal(rows_get_shown(rs, r, 0), "0/5");
	rows_set_bool(rs, r, 1, false);
	assert_string_equal(rows_get_shown(rs, r, 1), "false");
	rows_set_time(rs, r, 2, 0);
	assert_null(rows_get(rs, r, 2));
	assert_false(rows_get_i64(rs, r, 2, &n));
	rows_set_time(rs, r, 2, 1767323045678LL);
	assert_string_equal(rows_get(rs, r, 2), "2026-01-02T03:04:05.678Z");
	rows_set_list(rs, r, 3, caps, 2);
	assert_string_equal(rows_get(rs, r, 3), "[\"gpu\",\"a\\\"b\"]");
	assert_string_equal(rows_get_shown(rs, r, 3), "gpu,a\"b");
	rows_set_list(rs, r, 3, caps, 0);
	assert_string_equal(rows_get(rs, r, 3), "[]");
	assert_string_equal(rows_get_shown(rs, r, 3), "");
	rows_col(rs, "late", COL_TEXT, 0);	/* widening keeps values and display text */
	assert_string_equal(rows_get_shown(rs, r, 0), "0/5");
	assert_null(rows_get(rs, r, 4));
	rows_free(rs);
}

static void
test_opctx(void **state)
{
	struct opctx op;
	struct err e = ERR_INIT;

	(void)state;
	opctx_init(&op, NULL);
	assert_int_equal(strlen(op.trace_id), 32);
	why_add(&op, "priority", "9", "highest of %d ready tasks", 3);
	assert_int_equal(op.why->nrows, 1);
	assert_string_equal(rows_get(op.why, 0, 2), "highest of 3 ready tasks");
	assert_int_equal(check_record(&op, "owner", ST_OK, "swarm-1"), ST_OK);
	assert_int_equal(check_record(&op, "lease", ST_CONFLICT, "expired"), ST_CONFLICT);
	assert_int_equal(op.failed_checks, 1);
	assert_string_equal(rows_get(op.checks, 1, 1), "fail");
	assert_int_equal(opctx_may_write(&op, "claim", &e), ST_OK);
	op.read_only = true;
	assert_int_equal(opctx_may_write(&op, "claim", &e), ST_READ_ONLY);
	assert_non_null(strstr(e.msg, "refusing to claim"));
	opctx_release(&op);
	opctx_init(&op, "abc123");
	assert_string_equal(op.trace_id, "abc123");
	opctx_release(&op);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_typed),
		cmocka_unit_test(test_opctx),
	};
	return cmocka_run_group_tests_name("rows", tests, NULL, NULL);
}
