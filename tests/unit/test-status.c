/* The status table: every status has a unique name, a remedy and a documented exit code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/status.h"

static void
test_table_complete(void **state)
{
	static const int codes[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 130 };
	int i, j, k;

	(void)state;
	for (i = 0; i < ST__COUNT; i++) {
		const struct status_info *si = status_info((enum status)i);
		bool documented = false;

		assert_non_null(si->name);
		assert_true(strlen(si->remedy) > 0);
		for (k = 0; k < (int)(sizeof codes / sizeof codes[0]); k++)
			documented |= si->exit_code == codes[k];
		assert_true(documented);
		for (j = i + 1; j < ST__COUNT; j++)
			assert_string_not_equal(si->name, status_info((enum status)j)->name);
	}
	assert_int_equal(status_exit_code(ST_OK), 0);
	assert_int_equal(status_exit_code(ST_USAGE), 2);
	assert_int_equal(status_exit_code(ST_NOT_FOUND), 3);
	assert_int_equal(status_exit_code(ST_REFUSED), 4);
	assert_int_equal(status_exit_code(ST_WITNESS), 5);
	assert_int_equal(status_exit_code(ST_UNREACHABLE), 6);
	assert_int_equal(status_exit_code(ST_READ_ONLY), 7);
	assert_int_equal(status_exit_code(ST_FALSIFIED), 8);
	assert_int_equal(status_exit_code(ST_INTERRUPTED), 130);
	/* Out-of-range values do not crash. */
	assert_int_equal(status_exit_code((enum status)9999), 1);
}

static void
test_err_helpers(void **state)
{
	struct err e = ERR_INIT;
	char big[2000];

	(void)state;
	assert_int_equal(err_set(&e, ST_NOT_FOUND, "task '%s' not found", "t-1"), ST_NOT_FOUND);
	assert_string_equal(e.msg, "task 't-1' not found");
	err_prefix(&e, "loading '%s'", "x");
	assert_string_equal(e.msg, "loading 'x': task 't-1' not found");
	assert_int_equal(err_set(NULL, ST_IO, "ignored"), ST_IO);
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	err_set(&e, ST_FAIL, "%s", big);
	err_prefix(&e, "%s", big);
	assert_int_equal(strlen(e.msg), ERR_MSG_MAX - 1);
	err_clear(&e);
	assert_int_equal(e.code, ST_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_complete),
		cmocka_unit_test(test_err_helpers),
	};
	return cmocka_run_group_tests_name("status", tests, NULL, NULL);
}
