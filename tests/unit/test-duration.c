/*
 * Durations and ages as the coordinator reads them (coordinator.retain,
 * --retain, --older-than): coord_duration_parse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/coord.h"

/* Every unit, zero, and what is refused: signs, spaces, unknown units, overflow. */
static void
test_durations(void **state)
{
	static const struct { const char *s; int64_t ms; } good[] = {
		{ "0", 0 }, { "0s", 0 }, { "1ms", 1 }, { "90s", 90000 }, { "30m", 1800000 },
		{ "24h", 86400000 }, { "7d", 604800000 }, { "2w", 1209600000 },
	};
	static const char *const bad[] = {
		"", "s", "-5m", "+5m", " 5m", "5 m", "5", "5x", "5mm", "1.5h", "yesterday",
		"99999999999999999999d", "9223372036854775807w", NULL,
	};
	int64_t ms;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof good / sizeof *good; i++) {
		ms = -1;
		assert_true(coord_duration_parse(good[i].s, &ms));
		assert_int_equal(ms, good[i].ms);
	}
	for (i = 0; bad[i]; i++)
		assert_false(coord_duration_parse(bad[i], &ms));
	assert_false(coord_duration_parse(NULL, &ms));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_durations),
	};
	return cmocka_run_group_tests_name("duration", tests, NULL, NULL);
}
