/* Row sets, documents and the operation context (why, checks, trace). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/opctx.h"
#include "core/rows.h"
#include "core/taskview.h"
#include "core/util.h"
#include "core/wview.h"

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

/* The task view: the record typed, the table text readable, the list without history. */
static void
test_task_view(void **state)
{
	struct rowset *rec = task_view_record(), *list = task_view_list(), *h, *st;
	struct coord_listing l = { 0 };
	struct task_stats s;
	struct task t;
	size_t i;

	(void)state;
	task_init(&t);
	t.id = xstrdup("t-1");
	t.caps = xcalloc(3, sizeof *t.caps);
	t.caps[0] = xstrdup("gpu");
	t.caps[1] = xstrdup("net");
	t.ncaps = 2;
	t.max_attempts = 5;
	t.budget = 2.5;
	t.created = 1767323045678LL;
	t.rev = 3;
	task_history_add(&t, 1767323045678LL, TASK_QUEUED, "op", 0, NULL);
	task_history_add(&t, 1767323046000LL, TASK_CLAIMED, "sw-1", 2, "lease takeover");
	t.state = TASK_CLAIMED;
	t.attempts = 1;
	t.token = 2;
	task_view_add(rec, &t);
	task_view_add(list, &t);
	assert_true(rec->single);
	assert_int_equal(rec->ncols, TC__COUNT);
	assert_int_equal(list->ncols, TC_HISTORY);
	assert_string_equal(rows_get(rec, 0, TC_ATTEMPTS), "1");
	assert_string_equal(rows_get_shown(rec, 0, TC_ATTEMPTS), "1/5");
	assert_string_equal(rows_get(rec, 0, TC_MAX_ATTEMPTS), "5");
	assert_string_equal(rows_get(rec, 0, TC_CAPABILITIES), "[\"gpu\",\"net\"]");
	assert_string_equal(rows_get_shown(rec, 0, TC_CAPABILITIES), "gpu,net");
	assert_string_equal(rows_get(rec, 0, TC_BUDGET), "2.5");
	assert_string_equal(rows_get(rec, 0, TC_CREATED), "2026-01-02T03:04:05.678Z");
	assert_null(rows_get(rec, 0, TC_LEASE_UNTIL));	/* no lease set */
	assert_null(rows_get(rec, 0, TC_TO));
	assert_string_equal(rows_get(rec, 0, TC_HISTORY),
			    "[{\"at\":\"2026-01-02T03:04:05.678Z\",\"state\":\"queued\",\"by\":\"op\","
			    "\"token\":null,\"note\":null},{\"at\":\"2026-01-02T03:04:06.000Z\","
			    "\"state\":\"claimed\",\"by\":\"sw-1\",\"token\":2,\"note\":\"lease takeover\"}]");
	h = task_view_history(&t);
	assert_true(h->table_only);
	assert_int_equal(h->nrows, 2);
	assert_string_equal(rows_get(h, 1, TH_TOKEN), "2");
	assert_null(rows_get(h, 0, TH_TOKEN));
	l.tasks = &t;
	l.n = 1;
	task_stats_count(&l, 1767323050000LL, &s);
	assert_int_equal(s.by_state[TASK_CLAIMED], 1);
	assert_int_equal(s.claims_60s, 1);
	assert_int_equal(s.takeovers, 0);	/* a claim after queued, whatever its note says */
	st = task_view_stats(&s);
	for (i = 0; i < TASK__COUNT; i++)	/* each count is named as its state */
		assert_string_equal(st->cols[TS_QUEUED + i].name, task_state_name((enum task_state)i));
	assert_string_equal(rows_get(st, 0, TS_CLAIMS_PER_S), "0.016666666666666666");
	assert_string_equal(rows_get_shown(st, 0, TS_CLAIMS_PER_S), "0.02");
	rows_free(st);
	rows_free(h);
	rows_free(rec);
	rows_free(list);
	task_release(&t);
}

/* The witness views: a record with v, a chain with steps and totals. */
static void
test_witness_view(void **state)
{
	struct rowset *rs;
	struct wentry e;
	struct wtrace t;

	(void)state;
	wentry_init(&e);
	e.seq = 7;
	e.time = 1767323045678LL;
	e.component = xstrdup("ops");
	e.cost_micros = 5;
	e.tokens = 2;
	rs = wview_entry(&e);
	assert_int_equal(rs->ncols, WE__COUNT);
	assert_string_equal(rows_get(rs, 0, WE_SEQ), "7");
	assert_string_equal(rows_get(rs, 0, WE_TIME), "2026-01-02T03:04:05.678Z");
	assert_string_equal(rows_get(rs, 0, WE_V), "2");
	assert_null(rows_get(rs, 0, WE_TRACE));
	rows_free(rs);
	wtrace_init(&t, "tr");
	wtrace_add(&t, &e);
	e.seq = 8;
	e.time += 250;
	wtrace_add(&t, &e);
	assert_int_equal(t.chain->ncols, WE_STEP_MS + 1);
	assert_string_equal(t.chain->cols[WE_STEP_MS].name, "step_ms");
	assert_string_equal(rows_get(t.chain, 0, WE_STEP_MS), "0");
	assert_string_equal(rows_get(t.chain, 1, WE_STEP_MS), "250");
	rs = wtrace_summary(&t);
	assert_string_equal(rows_get(rs, 0, 1), "2");	/* entries */
	assert_string_equal(rows_get(rs, 0, 2), "250");	/* duration_ms */
	assert_string_equal(rows_get(rs, 0, 3), "10");	/* cost_micros */
	assert_string_equal(rows_get(rs, 0, 4), "4");	/* tokens */
	rows_free(rs);
	wtrace_release(&t);
	wentry_release(&e);
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

/* text_visible(): what the console and the table faces show of untrusted text. */
static void
test_text_visible(void **state)
{
	static const struct { const char *in, *out; unsigned flags; } cases[] = {
		{ "plain \xc3\xa9t\xc3\xa9", "plain \xc3\xa9t\xc3\xa9", 0 },
		{ "\033]0;pwned\a", "\\e]0;pwned\\a", 0 },
		{ "a\tb\nc\r", "a\\tb\\nc\\r", 0 },
		{ "\x01\x1f\x7f", "\\x01\\x1f\\x7f", 0 },
		{ "\xc2\x9b" "2J", "\\u009b2J", 0 },
		{ "\xe2\x81\xa6" "x", "\\u2066x", 0 },
		{ "cut \xe2\x80", "cut \\xe2\\x80", 0 },
		{ "C:\\dir", "C:\\dir", 0 },
		{ "C:\\dir\t", "C:\\\\dir\\t", TEXT_VISIBLE_BACKSLASH },
		{ "", "", 0 },
	};
	struct buf b = BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof *cases; i++) {
		buf_reset(&b);
		text_visible(&b, cases[i].in, cases[i].flags);
		assert_string_equal(b.s, cases[i].out);
	}
	buf_release(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_typed),
		cmocka_unit_test(test_task_view),
		cmocka_unit_test(test_witness_view),
		cmocka_unit_test(test_opctx),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_text_visible),
	};
	return cmocka_run_group_tests_name("rows", tests, NULL, NULL);
}
