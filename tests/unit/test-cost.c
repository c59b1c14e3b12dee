/*
 * Usage records (typed, strict, priced) and the cost index: reports over
 * periods that cut hours, recomputed by hand from records placed around
 * hour boundaries; periods that do not parse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/budget.h"
#include "core/costdb.h"
#include "core/governor.h"
#include "core/optimise.h"
#include "core/util.h"

#define H0 1794999600000LL	/* an hour's start */
#define HR 3600000LL
#define MIN 60000LL

static void
test_parse(void **state)
{
	static const char *const bad[] = {
		"[]", "{}", "not json",
		"{\"v\":2,\"id\":\"a\",\"swarm\":\"s\",\"provider\":\"p\",\"model\":\"m\",\"at\":1}",
		"{\"v\":1,\"id\":\"a\",\"provider\":\"p\",\"model\":\"m\",\"at\":1}",
		"{\"v\":1,\"id\":\"a\",\"swarm\":\"s\",\"provider\":\"p\",\"model\":\"m\",\"at\":1,"
		"\"tokens_in\":-5}",
		"{\"v\":1,\"id\":\"a\",\"swarm\":\"s\",\"provider\":\"p\",\"model\":\"m\",\"at\":1,"
		"\"tokens_in\":1e300}",
		"{\"v\":1,\"id\":\"a\",\"swarm\":\"s\",\"provider\":\"p\",\"model\":\"m\",\"at\":1,"
		"\"tokens_in\":1.5}",
		"{\"v\":1,\"id\":\"a\",\"swarm\":\"s\",\"provider\":\"p\",\"model\":\"m\",\"at\":1,"
		"\"tokens_in\":\"5\"}",
		"{\"v\":1,\"id\":\"a\",\"swarm\":\"s\",\"provider\":\"p\",\"model\":\"m\",\"at\":1,"
		"\"colour\":1}",
		"{\"v\":1,\"id\":\"a\",\"swarm\":\"s\",\"provider\":\"p\",\"model\":\"m\",\"at\":1,"
		"\"cost_micros\":1}",
		"{\"v\":1,\"id\":\"a\",\"swarm\":\"s\",\"provider\":\"p\",\"model\":\"m\",\"at\":1,"
		"\"price\":{\"input\":\"-1\"}}",
		"{\"v\":1,\"id\":\"a\",\"swarm\":\"s\",\"provider\":\"p\",\"model\":\"m\",\"at\":1,"
		"\"price\":{\"input\":1}}",
		"{\"v\":1,\"id\":\"a\",\"swarm\":\"s\",\"provider\":\"p\",\"model\":\"m\",\"at\":1,"
		"\"price\":{\"discount\":\"1\"}}",
		"{\"v\":1,\"id\":\"a\",\"swarm\":\"s s\",\"provider\":\"p\",\"model\":\"m\",\"at\":1}",
		"{\"v\":1,\"id\":\"a\",\"swarm\":\"s\",\"provider\":\"p/q\",\"model\":\"m\",\"at\":1}",
		"{\"v\":1,\"id\":\"a\",\"swarm\":\"s\",\"swarm\":\"t\",\"provider\":\"p\",\"model\":\"m\","
		"\"at\":1}",
		"{\"v\":1,\"id\":\"a\",\"swarm\":\"s\",\"task\":\"..\",\"provider\":\"p\",\"model\":\"m\","
		"\"at\":1}",
	};
	const char *good = "{\"v\":1,\"id\":\"a\",\"swarm\":\"s\",\"task\":null,\"provider\":\"p\","
			   "\"model\":\"m\",\"tokens_in\":1000,\"at\":5,"
			   "\"price\":{\"input\":\"2.50\",\"output\":\"1\"}}";
	struct price_table t = PRICE_TABLE_INIT;
	struct buf json = BUF_INIT;
	struct usage u, back;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof *bad; i++) {
		if (usage_parse(bad[i], strlen(bad[i]), false, &u, NULL) == ST_OK)
			fail_msg("accepted: %s", bad[i]);
		assert_null(u.id);
	}
	assert_int_equal(usage_parse(good, strlen(good), false, &u, NULL), ST_OK);
	assert_true(u.has_price);
	assert_int_equal(u.price.cached, 2500000);
	assert_int_equal(usage_price(&u, &t, NULL), ST_OK);	/* its own price, no table */
	assert_int_equal(u.cost_micros, 2500);
	usage_json(&u, &json);
	assert_int_equal(usage_parse(json.s, json.len, true, &back, NULL), ST_OK);
	assert_int_equal(back.cost_micros, 2500);
	assert_string_equal(back.swarm, "s");
	usage_release(&back);
	u.has_price = false;
	assert_int_equal(usage_price(&u, &t, NULL), ST_BAD_VALUE);	/* unknown model */
	usage_release(&u);
	buf_release(&json);
}

/* Add a record at 'at' of swarm costing cost micro-USD. */
static void
add(struct costdb *db, uint64_t seq, int64_t at, const char *swarm, int64_t cost)
{
	struct usage u;
	char id[16];

	usage_init(&u);
	snprintf(id, sizeof id, "r%llu", (unsigned long long)seq);
	u.id = id;
	u.swarm = (char *)swarm;
	u.provider = (char *)"p";
	u.model = (char *)"m";
	u.at = at;
	u.tokens_in = cost;
	u.cost_micros = cost;
	assert_int_equal(costdb_add(db, &u, seq, NULL), ST_OK);
}

/* The cost of key in a report, or -1. */
static int64_t
cost_of(const struct rowset *rs, const char *key)
{
	int64_t v;
	size_t r;

	for (r = 0; r < rs->nrows; r++)
		if (strcmp(rows_get(rs, r, RP_KEY), key) == 0 && rows_get_i64(rs, r, RP_COST_MICROS, &v))
			return v;
	return -1;
}

/* Report by swarm over [since, until): s1's and s2's cost and the rows. */
static void
expect(struct costdb *db, int64_t since, int64_t until, int64_t s1, int64_t s2, size_t rows)
{
	struct cost_period p = { since, until };
	struct rowset *rs = NULL;
	int64_t total;

	assert_int_equal(costdb_report(db, &p, DIM_SWARM, NULL, &rs, &total, NULL), ST_OK);
	assert_int_equal(rs->nrows, rows);
	assert_int_equal(cost_of(rs, "s1"), s1);
	assert_int_equal(cost_of(rs, "s2"), s2);
	assert_int_equal(total, (s1 > 0 ? s1 : 0) + (s2 > 0 ? s2 : 0));
	rows_free(rs);
}

static void
test_report(void **state)
{
	struct costdb *db;
	struct rowset *rs = NULL;
	struct cost_period p = { H0 - HR, H0 + 3 * HR };
	int64_t v;

	(void)state;
	assert_int_equal(costdb_open_path(":memory:", &db, NULL), ST_OK);
	add(db, 1, H0 - 1000, "s1", 100);
	add(db, 2, H0, "s1", 200);
	add(db, 3, H0 + 30 * MIN, "s2", 400);
	add(db, 4, H0 + HR + 10, "s1", 800);
	add(db, 5, H0 + 2 * HR + 5 * MIN, "s2", 1600);
	add(db, 5, H0 + 2 * HR + 5 * MIN, "s2", 1600);	/* again: counted once */
	expect(db, H0, H0 + 2 * HR, 1000, 400, 2);		/* whole hours */
	expect(db, H0 - 500, H0 + HR + 10, 200, 400, 2);	/* edges cut, end excluded */
	expect(db, H0 - 1000, H0 + HR + 11, 1100, 400, 2);
	expect(db, H0 + 10 * MIN, H0 + 20 * MIN, -1, -1, 0);	/* inside one hour */
	expect(db, H0 + 20 * MIN, H0 + 2 * HR + 6 * MIN, 800, 2000, 2);
	expect(db, H0 + 20 * MIN, H0 + 2 * HR + 5 * MIN, 800, 400, 2);
	assert_int_equal(costdb_history(db, &p, HR, NULL, &rs, NULL), ST_OK);
	assert_int_equal(rs->nrows, 4);
	assert_true(rows_get_i64(rs, 0, HI_COST_MICROS, &v) && v == 100);
	assert_true(rows_get_i64(rs, 1, HI_COST_MICROS, &v) && v == 600);
	assert_true(rows_get_i64(rs, 2, HI_COST_MICROS, &v) && v == 800);
	assert_true(rows_get_i64(rs, 3, HI_COST_MICROS, &v) && v == 1600);
	rows_free(rs);
	assert_int_equal(costdb_history(db, &p, 24 * HR, "s2", &rs, NULL), ST_OK);
	assert_int_equal(rs->nrows, 1);
	assert_true(rows_get_i64(rs, 0, HI_COST_MICROS, &v) && v == 2000);
	rows_free(rs);
	assert_int_equal(costdb_last(db, (uint64_t *)&v, NULL), ST_OK);
	assert_int_equal(v, 5);
	costdb_close(db);
}

#define D0 1795046400000LL	/* a UTC day's start */
#define DAY (24 * HR)

/* Cost of history bucket i, or -1. */
static int64_t
bucket(const struct rowset *rs, size_t i)
{
	int64_t v;

	return i < rs->nrows && rows_get_i64(rs, i, HI_COST_MICROS, &v) ? v : -1;
}

static void
test_days(void **state)
{
	struct costdb *db;
	struct rowset *rs = NULL;
	struct cost_period p = { D0 - DAY, D0 + 3 * DAY };

	(void)state;
	assert_int_equal(costdb_open_path(":memory:", &db, NULL), ST_OK);
	add(db, 1, D0 - HR - 1, "s1", 1);
	add(db, 2, D0 - 30 * MIN, "s1", 2);
	add(db, 3, D0 + 5 * HR, "s1", 4);
	add(db, 4, D0 + DAY + 2 * HR, "s1", 8);
	add(db, 5, D0 + 2 * DAY + 10 * MIN, "s1", 16);
	add(db, 6, D0 + 2 * DAY + 3 * HR + 1, "s1", 32);
	/* Records, whole days, whole hours and records again. */
	expect(db, D0 - 45 * MIN, D0 + 2 * DAY + 3 * HR, 30, -1, 1);
	expect(db, D0 - 2 * HR, D0 + 3 * DAY, 63, -1, 1);
	expect(db, D0 + DAY, D0 + 2 * DAY, 8, -1, 1);
	expect(db, D0 + 5 * HR + 1, D0 + 2 * DAY + 3 * HR + 2, 56, -1, 1);
	assert_int_equal(costdb_history(db, &p, DAY, NULL, &rs, NULL), ST_OK);
	assert_int_equal(rs->nrows, 4);
	assert_int_equal(bucket(rs, 0), 3);
	assert_int_equal(bucket(rs, 1), 4);
	assert_int_equal(bucket(rs, 2), 8);
	assert_int_equal(bucket(rs, 3), 48);
	rows_free(rs);
	p = (struct cost_period){ D0 + 2 * DAY, D0 + 2 * DAY + 4 * HR };
	assert_int_equal(costdb_history(db, &p, HR, NULL, &rs, NULL), ST_OK);
	assert_int_equal(rs->nrows, 2);
	assert_int_equal(bucket(rs, 0), 16);
	assert_int_equal(bucket(rs, 1), 32);
	rows_free(rs);
	costdb_close(db);
}

static void
test_period(void **state)
{
	static const char *const bad[] = {
		"", "yesterday", "0h", "-1h", "1y", "h", "1.5h", "7 d", "..",
		"2026-11-30T00:00:00Z..2026-11-29T00:00:00Z", "x..y", "99999999999999999999d",
	};
	struct cost_period p;
	size_t i;

	(void)state;
	assert_int_equal(cost_period_parse("24h", 100 * HR, &p, NULL), ST_OK);
	assert_int_equal(p.since, 76 * HR);
	assert_int_equal(p.until, 100 * HR + 1);
	assert_int_equal(cost_period_parse("30m", 100 * HR, &p, NULL), ST_OK);
	assert_int_equal(p.since, 100 * HR - 30 * MIN);
	assert_int_equal(cost_period_parse("1000..2000", 100 * HR, &p, NULL), ST_OK);
	assert_int_equal(p.since, 1000);
	assert_int_equal(p.until, 2000);
	assert_int_equal(cost_period_parse("2026-11-29T00:00:00Z..", 1796000000000LL, &p, NULL),
			 ST_OK);
	for (i = 0; i < sizeof bad / sizeof *bad; i++)
		if (cost_period_parse(bad[i], 100 * HR, &p, NULL) != ST_USAGE)
			fail_msg("accepted period '%s'", bad[i]);
}

/* The crossings: 50, 75, 90, 100 and the policy's warning threshold among them. */
static void
test_thresholds(void **state)
{
	(void)state;
	assert_int_equal(budget_threshold(0, 1000, 80), 0);
	assert_int_equal(budget_threshold(499, 1000, 80), 0);
	assert_int_equal(budget_threshold(500, 1000, 80), 50);
	assert_int_equal(budget_threshold(799, 1000, 80), 75);
	assert_int_equal(budget_threshold(800, 1000, 80), 80);
	assert_int_equal(budget_threshold(899, 1000, 80), 80);
	assert_int_equal(budget_threshold(900, 1000, 80), 90);
	assert_int_equal(budget_threshold(2000, 1000, 80), 100);
	assert_int_equal(budget_threshold(800, 1000, 0), 75);	/* no warning threshold */
	assert_int_equal(budget_threshold(750, 1000, 75), 75);	/* one of the four */
	assert_int_equal(budget_threshold(100, 1000, 10), 10);
	assert_int_equal(budget_threshold(1, 0, 80), 100);	/* nothing allocated */
	/* The governor's default policy: budget_warning_threshold 0.8. */
	governor_set_policy(NULL);
	assert_int_equal(governor_budget_warning_pct("s1"), 80);
	assert_int_equal(governor_budget_warning_pct(NULL), 80);
}

/* Swarm suggestions skip the candidates the governor keeps from work. */
static void
test_suggest_filters(void **state)
{
	static char cap[] = "cli:automation", n1[] = "pricey", n2[] = "cheap", n3[] = "tripped",
		    n4[] = "weak";
	static char *auto_caps[] = { cap };
	struct swarm_candidate v[] = {
		{ n1, auto_caps, 1, 4000000, 0.6, NULL },
		{ n2, auto_caps, 1, 1000000, 0.8, NULL },
		{ n3, auto_caps, 1, 200000, 0.9, "breaker-open" },
		{ n4, auto_caps, 1, 50000, 0.3, NULL },
	};
	struct cost_sum s = { .key = n1, .records = 1, .duration_ms = 3600000 };
	struct rowset *out = optimise_view();
	struct opctx op;

	(void)state;
	opctx_init(&op, NULL);
	optimise_swarms(v, 4, &s, 1, 0.0, &op, out);
	assert_int_equal(out->nrows, 1);
	assert_string_equal(rows_get(out, 0, SG_SUGGESTED), "cheap");
	assert_string_equal(rows_get(out, 0, SG_SAVING_MICROS), "3000000");
	v[2].excluded = NULL;
	rows_free(out);
	out = optimise_view();
	optimise_swarms(v, 4, &s, 1, 0.0, &op, out);
	assert_string_equal(rows_get(out, 0, SG_SUGGESTED), "tripped");
	rows_free(out);
	opctx_release(&op);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_report),
		cmocka_unit_test(test_days),
		cmocka_unit_test(test_period),
		cmocka_unit_test(test_thresholds),
		cmocka_unit_test(test_suggest_filters),
	};

	return cmocka_run_group_tests_name("cost", tests, NULL, NULL);
}
