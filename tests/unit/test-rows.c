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
	assert_true(check(&op, "owner", ST_OK, NULL, "swarm-1"));
	assert_false(check(&op, "lease", ST_CONFLICT, NULL, "expired"));
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

/* check(): evidence, the first failure kept, go on only under falsify. */
static void
test_check(void **state)
{
	struct opctx op;
	struct err cause = ERR_INIT, e = ERR_INIT;

	(void)state;
	opctx_init(&op, NULL);
	assert_int_equal(check_failure(&op, &e), ST_OK);
	assert_true(check(&op, "port free", ST_OK, &cause, "127.0.0.1:4222"));
	assert_string_equal(rows_get(op.checks, 0, 2), "127.0.0.1:4222");
	err_set(&cause, ST_EXISTS, "'a.yaml' already exists");
	assert_false(check(&op, "file absent", ST_EXISTS, &cause, "a.yaml"));
	assert_string_equal(rows_get(op.checks, 1, 2), "'a.yaml' already exists");
	assert_false(check(&op, "owner", ST_NOT_OWNER, NULL, "claimed by 'swarm-2'"));
	assert_string_equal(rows_get(op.checks, 2, 2), "claimed by 'swarm-2'");
	assert_int_equal(op.failed_checks, 2);
	assert_int_equal(check_failure(&op, &e), ST_EXISTS);
	assert_string_equal(e.msg, "'a.yaml' already exists");
	assert_int_equal(check_failure(&op, NULL), ST_EXISTS);
	opctx_release(&op);

	opctx_init(&op, NULL);
	op.falsify = true;	/* every check runs: a failure does not stop */
	assert_true(check(&op, "lease", ST_CONFLICT, NULL, NULL));
	assert_null(rows_get(op.checks, 0, 2));
	assert_true(check(&op, "owner", ST_NOT_OWNER, NULL, "swarm-2"));
	assert_int_equal(check_failure(&op, &e), ST_CONFLICT);
	assert_string_equal(e.msg, "lease");	/* no evidence: the check's name */
	assert_string_equal(rows_get(op.checks, 1, 1), "fail");
	opctx_release(&op);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_opctx),
		cmocka_unit_test(test_check),
	};
	return cmocka_run_group_tests_name("rows", tests, NULL, NULL);
}
