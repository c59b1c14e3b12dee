/*
 * SLO maths against hand-computed fixtures. Samples go through the real
 * rollups (slodb in memory) and slo_status at a fixed now,
 * 2026-01-09T12:07:40Z; the expected figures are worked out in the
 * comments. Heartbeat slots are 30 s.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "core/config.h"
#include "core/json.h"
#include "core/opctx.h"
#include "core/slo.h"
#include "core/slodb.h"
#include "core/util.h"

#define NOW 1767960460000LL	/* 2026-01-09T12:07:40.000Z */
#define MIN 60000LL
#define HOUR 3600000LL
#define DAY 86400000LL
#define IV 30000		/* heartbeat slot */

static struct config cfg;

static void
add(struct slodb *d, const char *swarm, enum slo_sample_kind k, int64_t ago, double lat, bool ok,
    int times)
{
	struct slo_sample s = { .swarm = swarm, .kind = k, .ts = NOW - ago, .latency_ms = lat,
				.ok = ok };

	while (times-- > 0)
		slodb_add(d, &s, IV);
}

static struct slodb *
db(void)
{
	struct slodb *d = NULL;

	assert_int_equal(slodb_open(&cfg, ":memory:", &d, NULL), ST_OK);
	return d;
}

/* An objective; p99 <= 0, success or availability <= 0: not set. */
static void
objective(struct slo_objective *o, const char *swarm, double p99, double success, double avail,
	  int64_t window_s)
{
	slo_objective_init(o);
	o->swarm = xstrdup(swarm);
	o->has[SLO_LATENCY] = p99 > 0;
	o->p99_ms = p99;
	o->has[SLO_SUCCESS] = success > 0;
	o->target[SLO_SUCCESS] = success;
	o->has[SLO_AVAILABILITY] = avail > 0;
	o->target[SLO_AVAILABILITY] = avail;
	o->window_s = window_s;
	assert_int_equal(slo_objective_check(o, NULL), ST_OK);
}

/* Evaluate one objective at NOW. */
static void
eval(struct slodb *d, struct slo_objective *o, struct slo_result *r)
{
	struct slo_objectives l = { o, 1, 1, 0 };

	assert_int_equal(slodb_flush(d, 0, 0, 0, NULL), ST_OK);
	assert_int_equal(slo_status(d, &cfg, &l, NOW, NULL, r, NULL), ST_OK);
}

/* a within 1e-4 (relative) of b */
static void
near(double a, double b)
{
	if (!(fabs(a - b) <= 1e-4 * fabs(b) + 1e-9))
		fail_msg("%.10g is not %.10g", a, b);
}

/*
 * Steady: one good task a minute for an hour (12:07:01 back to 11:08:01,
 * 100 ms) and a heartbeat every 30 s (12:07:35 back to 11:08:05: 120 slots,
 * 11:08:00 to 12:07:30, the current one included). p99 is the midpoint of
 * 100 ms's bucket, [99328, 100352) us: 99.8395 ms. Success 60/60, budget
 * untouched. Availability: first slot 11:08:00, 119 slots ended since, plus
 * the current one (seen) = 120 expected, 120 up: 1. 5m window (12:03:00 on)
 * holds 12:03:01 .. 12:07:01: 5 outcomes; every burn 0.
 */
static void
test_steady(void **state)
{
	struct slodb *d = db();
	struct slo_objective o;
	struct slo_result r;
	int i;

	(void)state;
	for (i = 0; i < 60; i++)
		add(d, "steady", SLO_SAMPLE_TASK, 39000 + i * MIN, 100, true, 1);
	for (i = 0; i < 120; i++)
		add(d, "steady", SLO_SAMPLE_HEARTBEAT, 5000 + i * IV, 0, true, 1);
	objective(&o, "steady", 300, 0.99, 0.9, 86400);
	eval(d, &o, &r);
	assert_int_equal(r.verdict, SLO_OK);
	near(r.o[SLO_LATENCY].measured, 99.8395);
	assert_true(r.o[SLO_LATENCY].met);
	assert_int_equal(r.o[SLO_SUCCESS].total, 60);
	near(r.o[SLO_SUCCESS].measured, 1.0);
	near(r.o[SLO_SUCCESS].budget_left, 1.0);
	assert_int_equal(r.o[SLO_AVAILABILITY].total, 120);
	assert_int_equal(r.o[SLO_AVAILABILITY].good, 120);
	near(r.o[SLO_AVAILABILITY].measured, 1.0);
	assert_true(r.o[SLO_SUCCESS].burn_data[SLO_W5M]);
	near(r.o[SLO_SUCCESS].burn[SLO_W1H], 0);
	assert_int_equal(r.o[SLO_SUCCESS].alert, SLO_ALERT_NONE);
	assert_true(slo_reputation_delta(&r) > 0.0499);
	assert_false(slo_blocks_claims(&r, NULL));
	slo_result_release(&r);
	slo_objective_release(&o);
	slodb_close(d);
}

/*
 * Spike: 100 good outcomes at 100 ms every 3 minutes from 10 minutes ago
 * back (11:57:40 to 07:00:40), then 20 failures at 2000 ms in the last
 * 200 s. Over the 1d window success = 100/120 = 0.833333 < 0.99: breach.
 * 5m: 20 bad of 20: burn 1 / 0.01 = 100. 1h (11:08:00 on): background i
 * with 10 + 3i <= 59.67, i = 0..16, 17 good + 20 bad: 20/37 / 0.01 =
 * 54.054. Both >= 14.4: page. p99 is rank ceil(0.99 * 120) = 119, a 2000 ms
 * outcome: bucket [1998848, 2015232) us, midpoint 2007.0395 ms > 500.
 */
static void
test_spike(void **state)
{
	struct slo_standing st;
	struct slodb *d = db();
	struct slo_objective o;
	struct slo_result r;
	struct err e = ERR_INIT;
	int i;

	(void)state;
	for (i = 0; i < 100; i++)
		add(d, "spike", SLO_SAMPLE_TASK, 10 * MIN + i * 3 * MIN, 100, true, 1);
	for (i = 0; i < 20; i++)
		add(d, "spike", SLO_SAMPLE_TASK, 1000 + i * 10000, 2000, false, 1);
	objective(&o, "spike", 500, 0.99, 0, 86400);
	eval(d, &o, &r);
	assert_int_equal(r.verdict, SLO_BREACH);
	near(r.o[SLO_SUCCESS].measured, 100.0 / 120.0);
	near(r.o[SLO_SUCCESS].burn[SLO_W5M], 100);
	near(r.o[SLO_SUCCESS].burn[SLO_W1H], 54.054054);
	assert_int_equal(r.o[SLO_SUCCESS].alert, SLO_ALERT_PAGE);
	near(r.o[SLO_LATENCY].measured, 2007.0395);
	assert_false(r.o[SLO_LATENCY].met);
	near(r.o[SLO_LATENCY].burn[SLO_W5M], 100);	/* slow = the 20 at 2000 ms */
	/* budget: 1 - 20 / (0.01 * 120) = -15.6667 */
	near(r.o[SLO_SUCCESS].budget_left, 1 - 20.0 / 1.2);
	assert_true(slo_blocks_claims(&r, &e));
	assert_int_equal(e.code, ST_REFUSED);
	assert_true(slo_reputation_delta(&r) < -0.09);	/* -0.05 (clamped -1) - 0.05 */
	slo_standing_of(&r, 42, &st);
	assert_int_equal(st.verdict, SLO_BREACH);
	assert_int_equal(st.alert, SLO_ALERT_PAGE);
	assert_true(st.delta == -0.1);			/* rounded to 0.01 */
	assert_int_equal(st.since, 42);
	slo_result_release(&r);
	slo_objective_release(&o);
	slodb_close(d);
}

/*
 * Gradual decline: 10,000 good outcomes 10 days ago, then 100 outcomes at
 * each of 11:57:40, 10:57:40 .. 06:57:40 with 1, 1, 2, 2, 3, 3 failures
 * (oldest first). 6h (06:08:00 on) and 3d: 12 bad of 600 = 0.02: burn 2 >=
 * 1: ticket. 1h: 3 of 100: burn 3 < 14.4; 5m: no data; 6h 2 < 6: no page.
 * 30d: 10600 outcomes, 12 bad: 0.998868 >= 0.99, met; budget 1 - 12 / 106
 * = 0.886792. Verdict warn.
 */
static void
test_decline(void **state)
{
	static const int fails[] = { 3, 3, 2, 2, 1, 1 };	/* h hours before 11:57:40 */
	struct slodb *d = db();
	struct slo_objective o;
	struct slo_result r;
	int h;

	(void)state;
	add(d, "decline", SLO_SAMPLE_TASK, 10 * DAY, 50, true, 10000);
	for (h = 0; h < 6; h++) {
		add(d, "decline", SLO_SAMPLE_TASK, 10 * MIN + h * HOUR, 50, false, fails[h]);
		add(d, "decline", SLO_SAMPLE_TASK, 10 * MIN + h * HOUR, 50, true, 100 - fails[h]);
	}
	objective(&o, "decline", 0, 0.99, 0, 30 * 86400);
	eval(d, &o, &r);
	assert_int_equal(r.verdict, SLO_WARN);
	assert_int_equal(r.o[SLO_SUCCESS].alert, SLO_ALERT_TICKET);
	near(r.o[SLO_SUCCESS].burn[SLO_W6H], 2);
	near(r.o[SLO_SUCCESS].burn[SLO_W3D], 2);
	near(r.o[SLO_SUCCESS].burn[SLO_W1H], 3);
	assert_false(r.o[SLO_SUCCESS].burn_data[SLO_W5M]);
	assert_int_equal(r.o[SLO_SUCCESS].total, 10600);
	near(r.o[SLO_SUCCESS].measured, 10588.0 / 10600.0);
	near(r.o[SLO_SUCCESS].budget_left, 1 - 12.0 / 106.0);
	assert_true(r.o[SLO_SUCCESS].met);
	slo_result_release(&r);
	slo_objective_release(&o);
	slodb_close(d);
}

/*
 * A swarm that stops heartbeating: heartbeats at 11:37:35 back to 11:08:05
 * (60 slots, 11:08:00 .. 11:37:30; each slot twice, in two flushes and
 * two orders: counted once), none since. Expected over the 1d
 * window: slots 11:08:00 .. 12:07:00 that ended, 119 (the current one is
 * not seen): 60/119 = 0.504202. 5m (12:03:00 on): 9 slots ended, none up:
 * burn 1 / 0.01 = 100. 1h (11:08:00 on): 59 of 119 bad: 49.5798. Page.
 */
static void
test_silent(void **state)
{
	struct slodb *d = db();
	struct slo_objective o;
	struct slo_result r;
	int k;

	(void)state;
	for (k = 0; k < 60; k++)
		add(d, "silent", SLO_SAMPLE_HEARTBEAT, 30 * MIN + 5000 + k * IV, 0, true, 1);
	assert_int_equal(slodb_flush(d, 0, 0, 0, NULL), ST_OK);
	for (k = 59; k >= 0; k--)	/* the same slots again, later, in another order */
		add(d, "silent", SLO_SAMPLE_HEARTBEAT, 30 * MIN + 9000 + k * IV, 0, true, 1);
	objective(&o, "silent", 0, 0, 0.99, 86400);
	eval(d, &o, &r);
	assert_int_equal(r.verdict, SLO_BREACH);
	assert_int_equal(r.o[SLO_AVAILABILITY].total, 119);
	assert_int_equal(r.o[SLO_AVAILABILITY].good, 60);
	near(r.o[SLO_AVAILABILITY].measured, 60.0 / 119.0);
	near(r.o[SLO_AVAILABILITY].burn[SLO_W5M], 100);
	near(r.o[SLO_AVAILABILITY].burn[SLO_W1H], 59.0 / 119.0 / 0.01);
	assert_int_equal(r.o[SLO_AVAILABILITY].alert, SLO_ALERT_PAGE);
	slo_result_release(&r);
	slo_objective_release(&o);
	slodb_close(d);
}

/* An objective with no samples: "no data", no division, no alert. */
static void
test_empty(void **state)
{
	struct slodb *d = db();
	struct slo_objective o;
	struct slo_result r;
	int k, w;

	(void)state;
	objective(&o, "empty", 200, 0.99, 0.999, 30 * 86400);
	eval(d, &o, &r);
	assert_int_equal(r.verdict, SLO_NO_DATA);
	for (k = 0; k < SLO__KINDS; k++) {
		assert_false(r.o[k].data);
		assert_int_equal(r.o[k].verdict, SLO_NO_DATA);
		assert_int_equal(r.o[k].alert, SLO_ALERT_NONE);
		assert_string_equal(r.o[k].reason, "no data in the objective window");
		for (w = 0; w < SLO_W__COUNT; w++) {
			assert_false(r.o[k].burn_data[w]);
			assert_false(isnan(r.o[k].burn[w]));
		}
	}
	assert_true(slo_reputation_delta(&r) == 0);
	slo_result_release(&r);
	slo_objective_release(&o);
	slodb_close(d);
}

/*
 * Window edges. 5m at 12:07:40 starts at 12:03:00.000: a failure there is
 * in, one 1 ms before is not. 3d (hour granularity) starts at
 * 12:00 - 71 h = 2026-01-06T13:00:00.000, 71 h 7 m 40 s before now: the
 * same again. Also: slo_window_start itself.
 */
static void
test_edges(void **state)
{
	struct slodb *d = db();
	struct slo_objective o;
	struct slo_result r;
	int64_t edge3d = 71 * HOUR + 7 * MIN + 40000;

	(void)state;
	assert_int_equal(slo_window_start(NOW, 300), NOW - 280000);
	assert_int_equal(slo_window_start(NOW, 259200), NOW - edge3d);
	assert_int_equal(slo_window_start(NOW - 40000, 300), NOW - 40000 - 240000);	/* on a minute */
	add(d, "edge", SLO_SAMPLE_TASK, 280000, 10, false, 1);
	add(d, "edge", SLO_SAMPLE_TASK, 280001, 10, false, 1);
	add(d, "edge", SLO_SAMPLE_TASK, 1000, 10, true, 1);
	add(d, "edge", SLO_SAMPLE_TASK, edge3d, 10, true, 1);
	add(d, "edge", SLO_SAMPLE_TASK, edge3d + 1, 10, true, 1);
	objective(&o, "edge", 0, 0.9, 0, 7 * 86400);
	eval(d, &o, &r);
	/* 5m: the failure at the edge and the good one: 1 bad of 2 = 0.5 / 0.1 = 5 */
	near(r.o[SLO_SUCCESS].burn[SLO_W5M], 5);
	/* 3d: 4 outcomes (the one 1 ms before its start left out), 2 bad: 0.5 / 0.1 */
	near(r.o[SLO_SUCCESS].burn[SLO_W3D], 5);
	/* 7d: all 5, 2 bad: 0.4 / 0.1 */
	near(r.o[SLO_SUCCESS].burn[SLO_WOBJ], 4);
	assert_int_equal(r.o[SLO_SUCCESS].total, 5);
	slo_result_release(&r);
	slo_objective_release(&o);
	slodb_close(d);
}

/* Several objectives at once give what each gives alone. */
static void
test_many(void **state)
{
	struct slodb *d = db();
	struct slo_objective v[3];
	struct slo_objectives l = { v, 3, 3, 0 };
	struct slo_result r[3], one;
	int i;

	(void)state;
	for (i = 0; i < 50; i++) {
		add(d, "a", SLO_SAMPLE_TASK, i * MIN, 10 + i, i % 10 != 0, 1);
		add(d, "b", SLO_SAMPLE_TASK, i * HOUR, 20, true, 1);
		add(d, "c", SLO_SAMPLE_HEARTBEAT, i * IV, 0, true, 1);
	}
	objective(&v[0], "a", 40, 0.9, 0.5, 86400);
	objective(&v[1], "b", 40, 0.9, 0.5, 7 * 86400);
	objective(&v[2], "c", 40, 0.9, 0.5, 86400);
	assert_int_equal(slodb_flush(d, 0, 0, 0, NULL), ST_OK);
	assert_int_equal(slo_status(d, &cfg, &l, NOW, NULL, r, NULL), ST_OK);
	for (i = 0; i < 3; i++) {
		struct slo_objectives single = { &v[i], 1, 1, 0 };
		int k;
		assert_int_equal(slo_status(d, &cfg, &single, NOW, NULL, &one, NULL), ST_OK);
		for (k = 0; k < SLO__KINDS; k++) {
			assert_int_equal(one.o[k].total, r[i].o[k].total);
			assert_int_equal(one.o[k].good, r[i].o[k].good);
			assert_int_equal(one.o[k].verdict, r[i].o[k].verdict);
		}
		slo_result_release(&one);
		slo_result_release(&r[i]);
		slo_objective_release(&v[i]);
	}
	slodb_close(d);
}

/* Bad definitions and samples: clear errors. */
static void
test_bad_input(void **state)
{
	struct slo_objective o;
	struct slo_sample s;
	struct json_doc doc = JSON_DOC_INIT;
	struct err e = ERR_INIT;
	int64_t secs;
	static const char *const bad_samples[] = {
		"{\"v\":1,\"swarm\":\"s\",\"kind\":\"task\",\"ts\":5,\"latency_ms\":-1,\"ok\":true}",
		"{\"v\":1,\"swarm\":\"s\",\"kind\":\"task\",\"ts\":5}",
		"{\"v\":1,\"swarm\":\"s\",\"kind\":\"nap\",\"ts\":5}",
		"{\"v\":1,\"swarm\":\"a..b\",\"kind\":\"heartbeat\",\"ts\":5}",
		"{\"v\":2,\"swarm\":\"s\",\"kind\":\"heartbeat\",\"ts\":5}",
		"{\"v\":1,\"swarm\":\"s\",\"kind\":\"task\",\"ts\":5,\"latency_ms\":1,\"ok\":1}",
		"[1]",
	};
	size_t i;

	(void)state;
	slo_objective_init(&o);
	o.swarm = xstrdup("s");
	o.window_s = 86400;
	o.has[SLO_SUCCESS] = true;
	o.target[SLO_SUCCESS] = 1.5;
	assert_int_equal(slo_objective_check(&o, &e), ST_BAD_VALUE);
	assert_non_null(strstr(e.msg, "success 1.5 is not a share"));
	o.target[SLO_SUCCESS] = 1;
	assert_int_equal(slo_objective_check(&o, &e), ST_BAD_VALUE);
	assert_non_null(strstr(e.msg, "no error budget"));
	o.has[SLO_SUCCESS] = false;
	assert_int_equal(slo_objective_check(&o, &e), ST_BAD_VALUE);	/* none at all */
	o.has[SLO_LATENCY] = true;
	o.p99_ms = -5;
	assert_int_equal(slo_objective_check(&o, &e), ST_BAD_VALUE);
	assert_non_null(strstr(e.msg, "p99_ms -5"));
	slo_objective_release(&o);
	assert_int_equal(slo_window_parse("3x", &secs, &e), ST_BAD_VALUE);
	assert_int_equal(slo_window_parse("30s", &secs, &e), ST_BAD_VALUE);	/* under 1m */
	assert_int_equal(slo_window_parse("91d", &secs, &e), ST_BAD_VALUE);
	assert_int_equal(slo_window_parse("-1d", &secs, &e), ST_BAD_VALUE);
	assert_int_equal(slo_window_parse("99999999999999999999d", &secs, &e), ST_BAD_VALUE);
	assert_int_equal(slo_window_parse("30d", &secs, &e), ST_OK);
	assert_int_equal(secs, 30 * 86400);
	for (i = 0; i < ARRAY_SIZE(bad_samples); i++) {
		assert_int_not_equal(slo_sample_parse(bad_samples[i], strlen(bad_samples[i]), &s,
						      &doc, NULL), ST_OK);
		json_doc_release(&doc);
	}
}

/* A sample reads back as written; an objective record too. */
static void
test_round_trip(void **state)
{
	struct slo_sample s = { .swarm = "sw-1", .kind = SLO_SAMPLE_RUN, .ts = NOW,
				.latency_ms = 12.5, .ok = false, .task = "t-9" }, back;
	struct json_doc doc = JSON_DOC_INIT;
	struct slo_objective o, o2;
	struct buf b = BUF_INIT;
	char w[24];

	(void)state;
	assert_int_equal(slo_sample_encode(&s, &b, NULL), ST_OK);
	assert_int_equal(slo_sample_parse(b.s, b.len, &back, &doc, NULL), ST_OK);
	assert_string_equal(back.swarm, "sw-1");
	assert_int_equal(back.kind, SLO_SAMPLE_RUN);
	assert_int_equal(back.ts, NOW);
	near(back.latency_ms, 12.5);
	assert_false(back.ok);
	assert_string_equal(back.task, "t-9");
	json_doc_release(&doc);
	buf_reset(&b);
	objective(&o, "sw-1", 250, 0, 0.995, 7 * 86400);
	o.by = xstrdup("op@host");
	slo_objective_to_json(&o, &b);
	assert_int_equal(slo_objective_parse("sw-1", b.s, b.len, &o2, NULL), ST_OK);
	assert_true(o2.has[SLO_LATENCY] && !o2.has[SLO_SUCCESS] && o2.has[SLO_AVAILABILITY]);
	near(o2.target[SLO_AVAILABILITY], 0.995);
	assert_int_equal(o2.window_s, 7 * 86400);
	slo_objective_release(&o2);
	assert_int_equal(slo_objective_parse("other", b.s, b.len, &o2, NULL), ST_INVALID_RECORD);
	slo_window_text(7 * 86400, w);
	assert_string_equal(w, "1w");
	slo_window_text(30 * 86400, w);
	assert_string_equal(w, "30d");
	slo_window_text(90 * 60, w);
	assert_string_equal(w, "90m");
	slo_objective_release(&o);
	slo_objective_release(&o2);
	buf_release(&b);
}

/*
 * Standings: parsed as hostile records, compared at 0.01, applied to a
 * reputation with clamping; heartbeat intervals from profiles, else the
 * config's.
 */
static void
test_standing(void **state)
{
	static const struct { const char *json, *want; } bad[] = {
		{ "{\"v\":1,\"swarm\":\"a\",\"verdict\":\"fine\",\"alert\":\"none\","
		  "\"reputation_delta\":0,\"since\":1,\"trace\":null}", "unknown verdict" },
		{ "{\"v\":1,\"swarm\":\"a\",\"verdict\":\"ok\",\"alert\":\"none\","
		  "\"reputation_delta\":0.5,\"since\":1,\"trace\":null}", "reputation_delta" },
		{ "{\"v\":1,\"swarm\":\"b\",\"verdict\":\"ok\",\"alert\":\"none\","
		  "\"reputation_delta\":0,\"since\":1,\"trace\":null}", "not its key" },
		{ "{\"v\":1,\"swarm\":\"a\",\"verdict\":\"ok\",\"alert\":\"none\","
		  "\"reputation_delta\":0,\"since\":1,\"trace\":null,\"x\":1}", "x" },
		{ "{\"v\":2,\"swarm\":\"a\",\"verdict\":\"ok\",\"alert\":\"none\","
		  "\"reputation_delta\":0,\"since\":1,\"trace\":null}", "v" },
		{ "[1]", "" },
	};
	const char *good = "{\"alert\":\"ticket\",\"reputation_delta\":-0.03,\"since\":5,"
			   "\"swarm\":\"a\",\"trace\":\"t\",\"v\":1,\"verdict\":\"warn\"}";
	char fast[] = "fast", slow[] = "slow", *ids[] = { fast, slow };
	int64_t ms[] = { 5000, 60000 };
	struct slo_intervals iv = { ids, ms, 2 };
	struct slo_standing s, t;
	struct err e;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		err_clear(&e);
		assert_int_equal(slo_standing_parse("a", bad[i].json, strlen(bad[i].json), &s, &e),
				 ST_INVALID_RECORD);
		if (strstr(e.msg, bad[i].want) == NULL)
			fail_msg("%zu: '%s' lacks '%s'", i, e.msg, bad[i].want);
	}
	assert_int_equal(slo_standing_parse("a", good, strlen(good), &s, NULL), ST_OK);
	assert_int_equal(s.alert, SLO_ALERT_TICKET);
	assert_int_equal(s.verdict, SLO_WARN);
	assert_int_equal(s.since, 5);
	t = s;
	t.delta = -0.034;		/* the same at 0.01 */
	assert_false(slo_standing_differs(&s, &t));
	t.delta = -0.04;
	assert_true(slo_standing_differs(&s, &t));
	t = s;
	t.alert = SLO_ALERT_PAGE;
	assert_true(slo_standing_differs(&s, &t));
	near(slo_reputation_apply(0.5, &s), 0.47);
	near(slo_reputation_apply(0.5, NULL), 0.5);
	t.delta = 0.05;
	near(slo_reputation_apply(0.98, &t), 1);
	t.delta = -0.1;
	near(slo_reputation_apply(0.05, &t), 0);
	assert_int_equal(slo_heartbeat_interval_ms(&cfg, &iv, "slow"), 60000);
	assert_int_equal(slo_heartbeat_interval_ms(&cfg, &iv, "fast"), 5000);
	assert_int_equal(slo_heartbeat_interval_ms(&cfg, &iv, "other"), 30000);
	assert_int_equal(slo_heartbeat_interval_ms(&cfg, NULL, "slow"), 30000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_steady),
		cmocka_unit_test(test_spike),
		cmocka_unit_test(test_decline),
		cmocka_unit_test(test_silent),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_standing),
	};
	int rc;

	config_init(&cfg);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	config_release(&cfg);
	return rc;
}
