/* Money in micro-USD, the price table, and the cost of usage, by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/price.h"

static void
test_money_parse(void **state)
{
	static const struct { const char *s; int64_t micros; } good[] = {
		{ "12.50", 12500000 }, { "0", 0 }, { "3", 3000000 }, { "0.000001", 1 },
		{ "0.1", 100000 }, { "9007199254.740991", 9007199254740991LL },
	};
	static const char *const bad[] = {
		"", "-3", "+3", "1e3", "12,50", "1.0000001", "1.", ".5", "1..2", " 1", "1 ",
		"9007199254.740992", "99999999999999999999", "0x10", "NaN",
	};
	struct err e = ERR_INIT;
	int64_t v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof good / sizeof *good; i++) {
		assert_int_equal(money_parse(good[i].s, "x", &v, &e), ST_OK);
		assert_int_equal(v, good[i].micros);
	}
	for (i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_int_equal(money_parse(bad[i], "x", &v, NULL), ST_BAD_VALUE);
	assert_int_equal(money_parse("1.0000001", "--budget", &v, &e), ST_BAD_VALUE);
	assert_non_null(strstr(e.msg, "more than six decimal places"));
}

static void
test_money_format(void **state)
{
	static const struct { int64_t micros; const char *s; } v[] = {
		{ 12500000, "12.50" }, { 0, "0.00" }, { 1, "0.000001" }, { 5125000, "5.125" },
		{ -3000000, "-3.00" }, { 100000, "0.10" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof v / sizeof *v; i++) {
		struct buf b = BUF_INIT;
		money_format(&b, v[i].micros);
		assert_string_equal(b.s, v[i].s);
		buf_release(&b);
	}
}

static void
test_money_mul(void **state)
{
	int64_t v;

	(void)state;
	assert_true(money_mul(333, 500000, 1000000, &v));	/* 166.5: half up */
	assert_int_equal(v, 167);
	assert_true(money_mul(333, 1000000, 1000000, &v));
	assert_int_equal(v, 333);
	assert_true(money_mul(1, 499999, 1000000, &v));	/* 0.499999: down */
	assert_int_equal(v, 0);
	assert_true(money_mul(60000, 3600000, 3600000, &v));	/* a minute at 3.60/h */
	assert_int_equal(v, 60000);
	assert_false(money_mul(1000000000000LL, MONEY_MAX, 1000000, &v));	/* overflow */
	assert_false(money_mul(-1, 1, 1, &v));
	assert_false(money_add(MONEY_MAX, 1, &v));
	assert_true(money_add(MONEY_MAX - 1, 1, &v));
}

static const char table[] =
	"v: 1\n"
	"models:\n"
	"  test/alpha:\n"
	"    tier: t1\n"
	"    capabilities: chat,tools\n"
	"    input: \"1.00\"\n"
	"    output: \"2.00\"\n"
	"    cached: \"0.25\"\n"
	"  test/beta.2:\n"
	"    {tier: t1, capabilities: \"tools,chat,vision\", input: \"0.50\", output: \"1.00\"}\n"
	"  test/gpu:\n"
	"    {input: \"0\", output: \"0\", hourly: \"3.60\"}\n";

static void
test_table(void **state)
{
	struct price_table t = PRICE_TABLE_INIT;
	struct price_usage u = { 3000, 1000, 4000, 0 };
	const struct price *a, *b, *g;
	int64_t c;

	(void)state;
	assert_int_equal(price_table_merge(&t, table, strlen(table), "t.yaml", true, NULL), ST_OK);
	assert_int_equal(t.n, 3);
	assert_non_null(a = price_find(&t, "test", "alpha"));
	assert_non_null(b = price_find(&t, "test", "beta.2"));	/* a dot in the model */
	assert_non_null(g = price_find(&t, "test", "gpu"));
	assert_null(price_find(&t, "test", "beta"));
	assert_int_equal(b->cached, 500000);	/* cached defaults to input */
	assert_string_equal(g->tier, "standard");
	assert_true(price_covers(b, a));
	assert_false(price_covers(a, b));
	/* 3000 in + 1000 out + 4000 cached at alpha: 3000 + 2000 + 1000. */
	assert_int_equal(price_cost(a, &u, &c, NULL), ST_OK);
	assert_int_equal(c, 6000);
	u = (struct price_usage){ 0, 0, 0, 60000 };
	assert_int_equal(price_cost(g, &u, &c, NULL), ST_OK);
	assert_int_equal(c, 60000);
	/* A second table replaces alpha, keeps the others. */
	{
		const char *u2 = "v: 1\nmodels:\n  test/alpha: {input: \"9\", output: \"9\"}\n";
		assert_int_equal(price_table_merge(&t, u2, strlen(u2), "u.yaml", true, NULL), ST_OK);
	}
	assert_int_equal(t.n, 3);
	assert_int_equal(price_find(&t, "test", "alpha")->input, 9000000);
	price_table_release(&t);
}

static void
test_bad_tables(void **state)
{
	static const char *const bad[] = {
		"models:\n  a/b: {input: \"1\", output: \"1\"}\n",		/* no v */
		"v: 2\nmodels:\n  a/b: {input: \"1\", output: \"1\"}\n",
		"v: 1\nmodels:\n  a/b: {input: \"-1\", output: \"1\"}\n",
		"v: 1\nmodels:\n  a/b: {input: \"1\"}\n",			/* no output */
		"v: 1\nmodels:\n  ab: {input: \"1\", output: \"1\"}\n",	/* no provider */
		"v: 1\nmodels:\n  a/b: {input: \"1\", output: \"1\", colour: red}\n",
		"v: 1\nmodels:\n  a/b: {input: [1], output: \"1\"}\n",
		"v: 1\nmodels:\n  a/b: {input: \"1\", output: \"1\"\n",	/* syntax */
		"v: 1\nmodels:\n  a/b: {tier: \"Big Tier\", input: \"1\", output: \"1\"}\n",
		"v: 1\nprices: {}\n",
		"v: 1\n",
	};
	struct price_table t = PRICE_TABLE_INIT;
	struct err e = ERR_INIT;
	size_t i;

	(void)state;
	assert_int_equal(price_table_merge(&t, table, strlen(table), "t.yaml", true, NULL), ST_OK);
	for (i = 0; i < sizeof bad / sizeof *bad; i++) {
		assert_int_equal(price_table_merge(&t, bad[i], strlen(bad[i]), "bad.yaml", true, &e),
				 ST_BAD_VALUE);
		if (strstr(e.msg, "bad.yaml") == NULL)
			fail_msg("%zu: %s", i, e.msg);
		assert_int_equal(t.n, 3);	/* unchanged */
	}
	price_table_release(&t);
	/* The shipped defaults load. */
	assert_int_equal(price_table_load(&t, NULL, "", NULL), ST_OK);
	assert_non_null(price_find(&t, "openai", "gpt-4o"));
	assert_non_null(price_find(&t, "openai", "gpt-4.1-mini"));
	price_table_release(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_money_parse),
		cmocka_unit_test(test_money_format),
		cmocka_unit_test(test_money_mul),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_bad_tables),
	};

	return cmocka_run_group_tests_name("price", tests, NULL, NULL);
}
