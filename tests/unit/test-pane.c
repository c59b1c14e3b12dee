/*
 * The console without a terminal: pane formatting (durations, widths,
 * clipping, wide characters, control characters), the model the panes
 * read (tasks by KV event, the witness chain check), the pane table's
 * filter and sort, and themes (every file in themes/ and bad ones).
 */
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/budget.h"
#include "core/slo.h"
#include "core/swarm.h"
#include "core/taskview.h"
#include "core/util.h"
#include "core/wview.h"
#include "tui/pane.h"
#include "tui/theme.h"
#include "tui/ui.h"

#define NOW 1764500000000LL	/* a fixed "now" in ms */

/* The pane of the table called name. */
static const struct pane_src *
pane_named(const char *name)
{
	size_t i;

	for (i = 0; i < pane_count; i++)
		if (!strcmp(pane_table[i]->name, name))
			return pane_table[i];
	fail_msg("no pane %s", name);
	return NULL;
}

static void
test_durations(void **state)
{
	static const struct { int64_t ms; const char *want; } cases[] = {
		{ 0, "0s" }, { 45000, "45s" }, { 59999, "59s" }, { 180000, "3m" },
		{ 7200000, "2h" }, { 4 * 86400000LL, "4d" }, { -1, "-" },
	};
	char out[16];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		pane_fmt_dur(out, cases[i].ms);
		assert_string_equal(out, cases[i].want);
	}
}

/* pane_fit into a fresh buffer. */
static char *
fit(const char *s, int w, bool right)
{
	struct buf b = BUF_INIT;

	pane_fit(&b, s, w, right);
	return buf_detach(&b);
}

static void
test_fit(void **state)
{
	char *s;

	(void)state;
	assert_string_equal(s = fit("abc", 6, false), "abc   "), free(s);
	assert_string_equal(s = fit("abc", 6, true), "   abc"), free(s);
	assert_string_equal(s = fit("abcdefgh", 5, false), "abcd~"), free(s);
	/* Three characters two columns wide: six columns, clipped on a character. */
	assert_int_equal(pane_text_width("日本語"), 6);
	s = fit("日本語", 4, false);
	assert_int_equal(pane_text_width(s), 4);
	assert_string_equal(s, "日 ~");
	free(s);
	assert_string_equal(s = fit("x", 0, false), ""), free(s);
}

static const struct pane_col cols3[] = {
	{ 0, "ID", 10, 0, PF_TEXT },
	{ 1, "NOTE", 8, PC_FLEX, PF_TEXT },
	{ 2, "EXTRA", 12, PC_OPTIONAL, PF_TEXT },
};

static void
test_widths(void **state)
{
	int w[3];

	(void)state;
	pane_widths(cols3, 3, 60, w);	/* room: the flex column takes the rest */
	assert_int_equal(w[0], 10);
	assert_int_equal(w[2], 12);
	assert_int_equal(w[0] + w[1] + w[2] + 2, 60);
	pane_widths(cols3, 3, 25, w);	/* narrow: the optional column goes first */
	assert_int_equal(w[2], 0);
	assert_int_equal(w[0] + w[1] + 1, 25);
	pane_widths(cols3, 3, 8, w);	/* very narrow: the first column alone, cut */
	assert_int_equal(w[0], 8);
	assert_int_equal(w[1], 8 - 8);
}

/* A task record as a client writes it. */
static void
fixture_task(struct task *t, const char *id, enum task_state st, const char *owner,
	     const char *title, int64_t created)
{
	task_init(t);
	t->v = 1;
	t->id = xstrdup(id);
	t->title = xstrdup(title);
	t->state = st;
	t->priority = 5;
	t->max_attempts = 5;
	t->created = t->updated = created;
	t->trace = xstrdup("0123456789abcdef0123456789abcdef");
	task_history_add(t, created, TASK_QUEUED, "root@vm", 0, NULL);
	if (st == TASK_CLAIMED) {
		t->owner = xstrdup(owner);
		t->token = 7;
		t->attempts = 1;
		t->lease_until = NOW + 30000;
		task_history_add(t, created + 1000, TASK_CLAIMED, owner, 7, NULL);
	}
}

/* Apply a task to the fleet as its KV watch would. */
static void
put_task(struct fleet *f, const struct task *t, uint64_t rev)
{
	struct buf json = BUF_INIT;
	struct bus_kv_event ev = { .key = t->id, .revision = rev, .op = BUS_KV_PUT };

	task_to_json(t, &json);
	ev.value = json.s;
	ev.len = json.len;
	fleet_task_event(f, &ev);
	buf_release(&json);
}

/* The tasks pane's line for the first row of a set. */
static char *
task_line(const struct rowset *rs, int width)
{
	const struct pane_src *src = pane_table[0];
	struct buf line = BUF_INIT;
	int w[16];

	pane_widths(src->cols, src->ncols, width, w);
	pane_line(src->cols, src->ncols, w, rs, 0, NOW, &line);
	assert_int_equal(pane_text_width(line.s), width);
	return buf_detach(&line);
}

static void
test_task_rows(void **state)
{
	struct rowset *rs = task_view_list();
	struct task t;
	char *line;

	(void)state;
	fixture_task(&t, "t-1", TASK_CLAIMED, "swarm-a", "title \x1b]0;owned\a here", NOW - 180000);
	task_view_add(rs, &t);
	line = task_line(rs, 120);
	assert_non_null(strstr(line, "t-1"));
	assert_non_null(strstr(line, "claimed"));
	assert_non_null(strstr(line, "swarm-a"));
	assert_non_null(strstr(line, "30s"));	/* the lease, 30 s left */
	assert_non_null(strstr(line, "1/5"));	/* attempts as the CLI's table shows them */
	assert_non_null(strstr(line, "3m"));	/* created 3 minutes before now */
	assert_null(strchr(line, 0x1b));	/* a record cannot reach the terminal */
	assert_non_null(strstr(line, "\\e]0;owned\\a"));
	free(line);
	line = task_line(rs, 40);		/* 40 columns: still the id and the state */
	assert_non_null(strstr(line, "t-1"));
	assert_non_null(strstr(line, "claimed"));
	free(line);
	task_release(&t);
	rows_free(rs);
}

static void
test_lease_expired_and_header(void **state)
{
	static const struct pane_col c[] = {
		{ TC_LEASE_UNTIL, "LEASE", 8, 0, PF_LEFT }, { TC_CREATED, "AGE", 5, PC_RIGHT, PF_AGE },
	};
	struct rowset *rs = task_view_list();
	struct buf b = BUF_INIT;
	struct task t;
	int w[2];

	(void)state;
	fixture_task(&t, "t-2", TASK_CLAIMED, "swarm-b", "x", NOW - 5000);
	t.lease_until = NOW - 1;
	task_view_add(rs, &t);
	pane_widths(c, 2, 14, w);
	pane_line(c, 2, w, rs, 0, NOW, &b);
	assert_string_equal(b.s, "expired     5s");
	buf_reset(&b);
	pane_header(c, 2, w, 1, true, &b);
	assert_string_equal(b.s, "LEASE     AGEv");
	buf_release(&b);
	task_release(&t);
	rows_free(rs);
}

/* The model: puts, updates, invalid records, idempotency keys and deletes. */
static void
test_fleet_tasks(void **state)
{
	struct fleet f;
	struct task a, b;
	struct bus_kv_event ev = { .key = "t-bad", .value = "{\"v\":1}", .len = 7,
				   .revision = 9, .op = BUS_KV_PUT };
	struct bus_kv_event idem = { .key = "idem.k", .value = "{}", .len = 2, .op = BUS_KV_PUT };
	struct bus_kv_event del = { .key = "t-a", .op = BUS_KV_DEL, .revision = 10 };

	(void)state;
	fleet_init(&f);
	fixture_task(&a, "t-a", TASK_QUEUED, NULL, "first", NOW - 2000);
	fixture_task(&b, "t-b", TASK_CLAIMED, "swarm-x", "second", NOW - 1000);
	put_task(&f, &a, 1);
	put_task(&f, &b, 2);
	assert_int_equal(f.ntasks, 2);
	assert_int_equal(f.by_state[TASK_QUEUED], 1);
	assert_int_equal(f.by_state[TASK_CLAIMED], 1);
	a.state = TASK_DONE;
	put_task(&f, &a, 3);	/* an update replaces, never adds */
	assert_int_equal(f.ntasks, 2);
	assert_int_equal(f.by_state[TASK_QUEUED], 0);
	assert_int_equal(f.by_state[TASK_DONE], 1);
	assert_null(fleet_task(&f, "t-a")->t.hist);	/* the model keeps no history */
	fleet_task_event(&f, &ev);
	assert_int_equal(f.invalid, 1);
	assert_non_null(fleet_task(&f, "t-bad")->bad.reason);
	fleet_task_event(&f, &idem);
	assert_int_equal(f.ntasks, 3);
	fleet_task_event(&f, &del);
	assert_int_equal(f.ntasks, 2);
	assert_null(fleet_task(&f, "t-a"));
	task_release(&a);
	task_release(&b);
	fleet_release(&f);
}

/* The tasks pane: filter over the columns, sort on a column, both ways. */
static void
test_tasks_pane(void **state)
{
	const struct pane_src *src = pane_table[0];
	struct pane p = { .src = src };
	struct fleet f;
	struct task t;
	char id[16];
	int i;

	(void)state;
	assert_string_equal(src->name, "tasks");
	fleet_init(&f);
	for (i = 0; i < 3000; i++) {	/* past the table's first size: it grows */
		snprintf(id, sizeof id, "t-%04d", i);
		fixture_task(&t, id, i % 3 ? TASK_QUEUED : TASK_CLAIMED, i % 2 ? "swarm-odd" :
			     "swarm-even", "work", NOW - i);
		put_task(&f, &t, (uint64_t)i + 1);
		task_release(&t);
	}
	assert_int_equal(f.ntasks, 3000);
	p.sort = 0;	/* id */
	src->collect(&f, &p);
	assert_int_equal(p.n, 3000);
	assert_string_equal(((struct trow *)p.items[0])->t.id, "t-0000");
	p.desc = true;
	src->collect(&f, &p);
	assert_string_equal(((struct trow *)p.items[0])->t.id, "t-2999");
	snprintf(p.filter, sizeof p.filter, "SWARM-ODD");	/* case folded; owners of claimed */
	src->collect(&f, &p);
	assert_int_equal(p.n, 500);	/* claimed (i % 3 == 0) and odd */
	free(p.items);
	fleet_release(&f);
}

/* A chain of n sealed entries, the kth (1-based, 0: none) edited after sealing. */
static void
feed_chain(struct fleet *f, int n, int edited, int skip)
{
	char prev[WITNESS_HEX];
	struct wentry e;
	int i;

	memcpy(prev, witness_zero_hash, sizeof prev);
	for (i = 1; i <= n; i++) {
		wentry_init(&e);
		e.v = WITNESS_V;
		e.seq = (uint64_t)i;
		e.time = NOW + i;
		e.component = xstrdup("coordinator");
		e.event = xstrdup("task.push");
		e.actor = xstrdup("root@vm");
		memcpy(e.prev, prev, sizeof prev);
		wentry_seal(&e);
		memcpy(prev, e.hash, sizeof prev);
		if (i == edited) {
			free(e.actor);
			e.actor = xstrdup("mallory");
		}
		if (i != skip)
			fleet_witness_entry(f, &e);
		wentry_release(&e);
	}
}

static void
test_witness_chain(void **state)
{
	struct fleet f;
	struct pane p = { .src = pane_named("witness"), .desc = true };
	struct buf title = BUF_INIT;

	(void)state;
	fleet_init(&f);
	feed_chain(&f, FLEET_WITNESS_TAIL + 20, 0, 0);
	assert_int_equal(f.chain.fault, WF_NONE);
	assert_int_equal(f.chain.ok_to, FLEET_WITNESS_TAIL + 20);
	assert_int_equal(f.ntail, FLEET_WITNESS_TAIL);	/* only the tail is kept */
	assert_int_equal(fleet_tail_at(&f, 0)->seq, FLEET_WITNESS_TAIL + 20);
	pane_named("witness")->collect(&f, &p);
	assert_int_equal(p.n, FLEET_WITNESS_TAIL);
	pane_named("witness")->status(&f, &p, &title);
	assert_non_null(strstr(title.s, "chain OK up to seq 520"));
	free(p.items);
	fleet_release(&f);

	fleet_init(&f);
	feed_chain(&f, 10, 6, 0);	/* entry 6 edited: the first bad entry */
	assert_int_equal(f.chain.fault, WF_EDITED);
	assert_int_equal(f.chain.fault_seq, 6);
	assert_int_equal(f.chain.ok_to, 5);
	buf_reset(&title);
	pane_named("witness")->status(&f, &p, &title);
	assert_non_null(strstr(title.s, "BROKEN at seq 6"));
	fleet_release(&f);

	fleet_init(&f);
	feed_chain(&f, 10, 0, 4);	/* entry 4 missing */
	assert_int_equal(f.chain.fault, WF_MISSING);
	assert_int_equal(f.chain.fault_seq, 4);
	fleet_release(&f);
	buf_release(&title);
}


/* One KV put of key into fn. */
static void
kv_put(void (*fn)(struct fleet *, const struct bus_kv_event *), struct fleet *f,
       const char *key, const char *json, uint64_t rev)
{
	struct bus_kv_event ev = { .key = key, .value = json, .len = strlen(json),
				   .revision = rev, .op = BUS_KV_PUT };

	fn(f, &ev);
}

/* The pane's line for its first item, at width w. */
static char *
first_line(const struct pane_src *src, struct pane *p, int width)
{
	struct buf line = BUF_INIT;
	struct rowset *rs;
	int w[16];

	pane_widths(src->cols, src->ncols, width, w);
	rs = src->rows(p->items, 1);
	pane_line(src->cols, src->ncols, w, rs, 0, NOW, &line);
	rows_free(rs);
	return buf_detach(&line);
}

/* Swarms: record and state keys merged, load from the tasks feed, breakers counted. */
static void
test_swarms_pane(void **state)
{
	const struct pane_src *src = pane_named("swarms");
	struct pane p = { .src = src };
	struct swarm_state st = { .present = true, .breaker = BREAKER_OPEN, .failures = 3 };
	struct buf json = BUF_INIT;
	struct fleet f;
	struct task t;
	char rec[512], *line;

	(void)state;
	fleet_init(&f);
	snprintf(rec, sizeof rec, "{\"v\":1,\"profile\":{\"capabilities\":[\"cli:testing\"],"
		 "\"cost_per_hour_micros\":0,\"id\":\"sw-a\",\"max_concurrent_tasks\":2,"
		 "\"model\":\"m\",\"reputation\":0.75},\"registered_at\":%lld,"
		 "\"last_seen\":%lld,\"registered_by\":\"op\"}", NOW - 60000, NOW - 3000);
	kv_put(fleet_swarm_event, &f, "sw-a", rec, 1);
	kv_put(fleet_swarm_event, &f, "sw-bad", "{\"v\":1}", 2);
	fixture_task(&t, "t-1", TASK_CLAIMED, "sw-a", "work", NOW);
	put_task(&f, &t, 3);
	task_release(&t);
	src->collect(&f, &p);
	assert_int_equal(p.n, 2);
	assert_int_equal(fleet_breakers_open(&f), 0);
	line = first_line(src, &p, 120);
	assert_non_null(strstr(line, "sw-a"));
	assert_non_null(strstr(line, "active"));
	assert_non_null(strstr(line, "1/2"));	/* load: claimed tasks held / max */
	assert_non_null(strstr(line, "0.75"));
	assert_non_null(strstr(line, "3s"));	/* heartbeat age */
	assert_non_null(strstr(line, "cli:testing"));
	free(line);
	swarm_state_json("sw-a", &st, &json);	/* the governor opens its breaker */
	kv_put(fleet_swarm_event, &f, "state.sw-a", json.s, 4);
	src->collect(&f, &p);
	assert_int_equal(fleet_breakers_open(&f), 1);
	line = first_line(src, &p, 120);
	assert_non_null(strstr(line, "breaker-open"));
	free(line);
	snprintf(p.filter, sizeof p.filter, "invalid");
	src->collect(&f, &p);
	assert_int_equal(p.n, 1);
	line = first_line(src, &p, 60);
	assert_non_null(strstr(line, "sw-bad"));
	free(line);
	free(p.items);
	buf_release(&json);
	fleet_release(&f);
}

/* Budgets: allocated, spent, remaining, the threshold crossed, the burn rate. */
static void
test_budget_pane(void **state)
{
	const struct pane_src *src = pane_named("budget");
	struct pane p = { .src = src };
	char id[] = "sw-a";
	struct budget b = { .kind = BUDGET_SWARM, .id = id, .swarm = id,
			    .allocated = 20000000, .spent = 15500000, .reserved = 1000000,
			    .threshold_pct = 75, .created = NOW, .updated = NOW };
	struct buf json = BUF_INIT;
	struct fleet f;
	char *line;

	(void)state;
	fleet_init(&f);
	budget_json(&b, &json);
	kv_put(fleet_budget_event, &f, "swarm.sw-a", json.s, 1);
	((struct brow *)kset_get(&f.budgets, "swarm.sw-a"))->burn = 2000000;
	src->collect(&f, &p);
	assert_int_equal(p.n, 1);
	line = first_line(src, &p, 120);
	assert_non_null(strstr(line, "swarm.sw-a"));
	assert_non_null(strstr(line, "20.00"));
	assert_non_null(strstr(line, "15.50"));
	assert_non_null(strstr(line, "3.50"));	/* remaining: the reservation is not spent */
	assert_non_null(strstr(line, "75"));
	assert_non_null(strstr(line, "2.00"));	/* burn an hour */
	free(line);
	free(p.items);
	buf_release(&json);
	fleet_release(&f);
}

/* SLO: one row per objective from the core view, with the open episode. */
static void
test_slo_rows(void **state)
{
	const struct pane_src *src = pane_named("slo");
	struct slo_objective o;
	struct slo_result r;
	struct slo_item it = { .r = &r, .o = &o, .kind = SLO_SUCCESS, .episode = 2, .open = true };
	void *items[1] = { &it };
	struct pane p = { .src = src, .items = items, .n = 1 };
	char *line, id[] = "sw-a";

	(void)state;
	slo_objective_init(&o);
	o.swarm = id;
	o.has[SLO_SUCCESS] = true;
	o.target[SLO_SUCCESS] = 0.9;
	o.window_s = 3600;
	memset(&r, 0, sizeof r);
	r.swarm = id;
	r.o[SLO_SUCCESS] = (struct slo_obj_result){ .defined = true, .data = true, .target = 0.9,
		.measured = 0.5, .total = 20, .good = 10, .budget_left = -4,
		.alert = SLO_ALERT_PAGE, .verdict = SLO_BREACH };
	r.o[SLO_LATENCY].defined = true;	/* another objective: its own row */
	line = first_line(src, &p, 140);
	assert_non_null(strstr(line, "sw-a"));
	assert_non_null(strstr(line, "success"));
	assert_non_null(strstr(line, ">=90%"));
	assert_non_null(strstr(line, "breach"));
	assert_non_null(strstr(line, "page"));
	assert_non_null(strstr(line, "#2 OPEN"));
	assert_null(strstr(line, "latency"));
	free(line);
}

static void
test_themes(void **state)
{
	static const char *const names[] = { "default", "light", "mono", "okabe-ito" };
	static const char *const dirs[] = { "themes", NULL };
	struct err e = ERR_INIT;
	struct theme t;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		assert_int_equal(theme_load(&t, names[i], dirs, &e), ST_OK);
		assert_string_equal(t.name, names[i]);
	}
	assert_int_equal(t.role[ROLE_BAD].fg, 166);
	assert_true(t.role[ROLE_BAD].attr & TA_UNDERLINE);
	theme_default(&t);	/* without colour the selection still shows */
	assert_true(t.role[ROLE_SELECTED].mono & TA_REVERSE);
	assert_int_equal(theme_parse(&t, "roles:\n  nosuch: { fg: red }\n", 29, "x.yaml", &e),
			 ST_BAD_YAML);
	assert_non_null(strstr(e.msg, "x.yaml:2"));
	assert_int_equal(theme_parse(&t, "roles:\n  ok: { fg: 300 }\n", 25, "y.yaml", &e),
			 ST_BAD_YAML);
	assert_int_equal(theme_parse(&t, "roles:\n  ok: { attr: blink }\n", 29, "z.yaml", &e),
			 ST_BAD_YAML);
	assert_int_equal(theme_load(&t, "nosuch", dirs, &e), ST_NOT_FOUND);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_fit),
		cmocka_unit_test(test_widths),
		cmocka_unit_test(test_task_rows),
		cmocka_unit_test(test_lease_expired_and_header),
		cmocka_unit_test(test_fleet_tasks),
		cmocka_unit_test(test_tasks_pane),
		cmocka_unit_test(test_witness_chain),
		cmocka_unit_test(test_swarms_pane),
		cmocka_unit_test(test_budget_pane),
		cmocka_unit_test(test_slo_rows),
		cmocka_unit_test(test_themes),
	};

	if (!setlocale(LC_ALL, "C.UTF-8"))
		setlocale(LC_ALL, "");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
