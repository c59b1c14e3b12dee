/*
 * The pane table: each pane is a face of a core view (taskview.h,
 * wview.h), fed by the model's feeds (model.h). A pane for swarms,
 * budgets or SLO is one entry here once core has its view and feed.
 */
#include <stdlib.h>
#include <string.h>

#include "core/budget.h"
#include "core/ledger.h"
#include "core/slo.h"
#include "core/swarm.h"
#include "core/taskview.h"
#include "core/util.h"
#include "core/wview.h"
#include "tui/ui.h"

/* Keep item in p->items. */
static void
items_add(struct pane *p, void *item)
{
	if (p->n == p->cap)
		xgrow(&p->items, &p->cap, p->n + 1, sizeof *p->items);
	p->items[p->n++] = item;
}

/* The items the other way round. */
static void
items_reverse(struct pane *p)
{
	size_t i;

	for (i = 0; i < p->n / 2; i++) {
		void *t = p->items[i];
		p->items[i] = p->items[p->n - 1 - i];
		p->items[p->n - 1 - i] = t;
	}
}

/* Does any of the texts hold the filter (case folded)? */
static bool
match(const char *filter, const char *const *texts, size_t n)
{
	size_t i;

	if (!*filter)
		return true;
	for (i = 0; i < n; i++)
		if (texts[i] && strcasestr(texts[i], filter))
			return true;
	return false;
}

/* Compare two strings, NULL first. */
static int
cmp_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

#define CMP_NUM(a, b) ((a) < (b) ? -1 : (a) > (b))

/* --- tasks --------------------------------------------------------------- */

static const struct pane_col task_cols[] = {
	{ TC_ID, "ID", 18, 0, PF_TEXT },
	{ TC_STATE, "STATE", 8, 0, PF_TEXT },
	{ TC_PRIORITY, "P", 2, PC_RIGHT | PC_OPTIONAL, PF_TEXT },
	{ TC_OWNER, "OWNER", 14, 0, PF_TEXT },
	{ TC_LEASE_UNTIL, "LEASE", 7, PC_RIGHT, PF_LEFT },
	{ TC_ATTEMPTS, "TRIES", 5, PC_RIGHT, PF_TEXT },
	{ TC_CREATED, "AGE", 5, PC_RIGHT, PF_AGE },
	{ TC_TITLE, "TITLE", 12, PC_FLEX, PF_TEXT },
	{ TC_REASON, "REASON", 24, PC_OPTIONAL, PF_TEXT },
};

static void
task_pick(void *arg, struct trow *r)
{
	struct pane *p = arg;
	const char *texts[6];

	if (r->bad.key) {
		texts[0] = r->bad.key;
		texts[1] = "invalid";
		texts[2] = r->bad.reason;
		if (match(p->filter, texts, 3))
			items_add(p, r);
		return;
	}
	texts[0] = r->t.id;
	texts[1] = task_state_name(r->t.state);
	texts[2] = r->t.owner;
	texts[3] = r->t.title;
	texts[4] = r->t.reason;
	texts[5] = r->t.trace;
	if (match(p->filter, texts, 6))
		items_add(p, r);
}

/* The column being sorted on, for the comparator (one sort at a time: the loop's thread). */
static int sort_vcol;
static bool sort_desc;

/* Compare two tasks on the sorted column, then by id. */
static int
task_cmp(const void *pa, const void *pb)
{
	const struct trow *a = *(const struct trow *const *)pa, *b = *(const struct trow *const *)pb;
	const struct task *x = &a->t, *y = &b->t;
	int c = 0;

	if (a->bad.key || b->bad.key)
		c = CMP_NUM(a->bad.key != NULL, b->bad.key != NULL);
	else if (sort_vcol == TC_STATE)
		c = CMP_NUM(x->state, y->state);
	else if (sort_vcol == TC_PRIORITY)
		c = CMP_NUM(x->priority, y->priority);
	else if (sort_vcol == TC_OWNER)
		c = cmp_str(x->owner, y->owner);
	else if (sort_vcol == TC_LEASE_UNTIL)
		c = CMP_NUM(x->lease_until, y->lease_until);
	else if (sort_vcol == TC_ATTEMPTS)
		c = CMP_NUM(x->attempts, y->attempts);
	else if (sort_vcol == TC_CREATED)
		c = CMP_NUM(x->created, y->created);
	else if (sort_vcol == TC_TITLE)
		c = cmp_str(x->title, y->title);
	else if (sort_vcol == TC_REASON)
		c = cmp_str(x->reason, y->reason);
	if (c == 0)
		c = strcmp(a->bad.key ? a->bad.key : x->id, b->bad.key ? b->bad.key : y->id);
	return sort_desc ? -c : c;
}

static void
task_collect(struct fleet *f, struct pane *p)
{
	p->n = 0;
	fleet_reap(f);	/* rows taken away: no pane points at them after this */
	fleet_each(f, task_pick, p);
	sort_vcol = p->src->cols[p->sort].vcol;
	sort_desc = p->desc;
	if (p->n > 1)
		qsort(p->items, p->n, sizeof *p->items, task_cmp);
}

static void
task_ident(const void *item, struct buf *out)
{
	const struct trow *r = item;

	buf_adds(out, r->bad.key ? r->bad.key : r->t.id);
}

static struct rowset *
task_rows(void *const *items, size_t n)
{
	struct rowset *rs = task_view_list();
	size_t i;

	for (i = 0; i < n; i++) {
		const struct trow *r = items[i];
		if (r->bad.key)
			task_view_add_invalid(rs, &r->bad);
		else
			task_view_add(rs, &r->t);
	}
	return rs;
}

/* A state's role: its colour, next to its name. */
static const struct {
	const char *state;
	enum theme_role role;
} state_roles[] = {
	{ "queued", ROLE_INFO }, { "claimed", ROLE_ACTIVE }, { "done", ROLE_OK },
	{ "failed", ROLE_WARN }, { "dead", ROLE_BAD }, { "invalid", ROLE_BAD },
};

static enum theme_role
task_role(const struct rowset *rs, size_t r)
{
	const char *st = rows_get(rs, r, TC_STATE);
	size_t i;

	for (i = 0; st && i < ARRAY_SIZE(state_roles); i++)
		if (!strcmp(st, state_roles[i].state))
			return state_roles[i].role;
	return ROLE_NORMAL;
}

static void
task_status(struct fleet *f, const struct pane *p, struct buf *out)
{
	buf_addf(out, "%zu", f->ntasks);
	if (p->n != f->ntasks)
		buf_addf(out, ", %zu shown", p->n);
	if (!f->tasks_synced)
		buf_adds(out, ", loading...");
	if (f->from_history)
		buf_addf(out, ", %zu from their own history", f->from_history);
}

static size_t
task_size(struct fleet *f)
{
	return f->ntasks;
}

static bool
task_drill(const void *item, struct buf *cmd)
{
	const struct trow *r = item;

	buf_addf(cmd, "task show %s", r->bad.key ? r->bad.key : r->t.id);
	return true;
}

static const struct pane_src tasks_pane = {
	.name = "tasks",
	.feed = "KV watch of " COORD_BUCKET " (snapshot, then every change)",
	.cols = task_cols,
	.ncols = ARRAY_SIZE(task_cols),
	.sort = 6,		/* created, descending: newest first */
	.desc = true,
	.sortable = ~0u,
	.state_col = 1,
	.weight = 4,
	.collect = task_collect,
	.ident = task_ident,
	.rows = task_rows,
	.role = task_role,
	.size = task_size,
	.status = task_status,
	.drill = task_drill,
};

/* --- witness ------------------------------------------------------------- */

static const struct pane_col witness_cols[] = {
	{ WE_SEQ, "SEQ", 7, PC_RIGHT, PF_TEXT },
	{ WE_TIME, "TIME", 8, 0, PF_CLOCK },
	{ WE_COMPONENT, "COMPONENT", 11, 0, PF_TEXT },
	{ WE_EVENT, "EVENT", 26, 0, PF_TEXT },
	{ WE_ACTOR, "ACTOR", 16, PC_OPTIONAL, PF_TEXT },
	{ WE_TASK, "TASK", 18, 0, PF_TEXT },
	{ WE_TRACE, "TRACE", 10, PC_FLEX | PC_OPTIONAL, PF_TEXT },
};

static void
witness_collect(struct fleet *f, struct pane *p)
{
	const struct wentry *e;
	const char *texts[6];
	size_t i;

	p->n = 0;
	for (i = 0; (e = fleet_tail_at(f, i)) != NULL; i++) {
		texts[0] = e->component;
		texts[1] = e->event;
		texts[2] = e->actor;
		texts[3] = e->task;
		texts[4] = e->trace;
		texts[5] = e->swarm;
		if (match(p->filter, texts, 6))
			items_add(p, (void *)e);
	}
	if (!p->desc)	/* the tail is newest first; ascending is oldest first */
		items_reverse(p);
}

static void
witness_ident(const void *item, struct buf *out)
{
	buf_addf(out, "%llu", (unsigned long long)((const struct wentry *)item)->seq);
}

static struct rowset *
witness_rows(void *const *items, size_t n)
{
	struct rowset *rs = wview_entries();
	size_t i;

	for (i = 0; i < n; i++)
		wview_entries_add(rs, items[i]);
	return rs;
}

static enum theme_role
witness_role(const struct rowset *rs, size_t r)
{
	const char *c = rows_get(rs, r, WE_COMPONENT);

	return c && !strcmp(c, "operator") ? ROLE_ACTIVE : ROLE_NORMAL;
}

static void
witness_status(struct fleet *f, const struct pane *p, struct buf *out)
{
	const struct chain_state *c = &f->chain;

	(void)p;
	if (f->witness_missing) {
		buf_adds(out, "no ledger: " LEDGER_STREAM " does not exist (ifctl up makes it)");
		return;
	}
	buf_addf(out, "%llu entries, ", (unsigned long long)f->witness_last);
	if (c->fault != WF_NONE)
		buf_addf(out, "X chain BROKEN at seq %llu (%s): %s", (unsigned long long)c->fault_seq,
			 wfault_name(c->fault), c->detail);
	else if (f->at_ms)
		buf_addf(out, "chain OK up to seq %llu", (unsigned long long)c->ok_to);
	else if (c->ok_to < c->target)
		buf_addf(out, "verifying... %llu of %llu", (unsigned long long)c->ok_to,
			 (unsigned long long)c->target);
	else
		buf_addf(out, "chain OK up to seq %llu", (unsigned long long)c->ok_to);
}

static size_t
witness_size(struct fleet *f)
{
	return f->ntail;
}

static bool
witness_drill(const void *item, struct buf *cmd)
{
	const struct wentry *e = item;

	if (e->trace == NULL)
		return false;
	buf_addf(cmd, "witness trace %s", e->trace);
	return true;
}

static const struct pane_src witness_pane = {
	.name = "witness",
	.feed = "stream watch of " LEDGER_STREAM " from entry 1 (each entry checked: hash, "
		"sequence, previous hash)",
	.cols = witness_cols,
	.ncols = ARRAY_SIZE(witness_cols),
	.sort = 0,
	.desc = true,
	.sortable = 0x1,	/* the tail is in ledger order */
	.follow_head = true,
	.state_col = 3,
	.weight = 2,
	.collect = witness_collect,
	.ident = witness_ident,
	.rows = witness_rows,
	.role = witness_role,
	.size = witness_size,
	.status = witness_status,
	.drill = witness_drill,
};

/* --- swarms ------------------------------------------------------------- */

/* The small panes' generation: their own feeds' (the swarms' load follows the tasks too). */
static uint64_t
domain_gen(const struct fleet *f)
{
	return f->dgen;
}

static uint64_t
swarm_gen(const struct fleet *f)
{
	return f->dgen + f->gen;
}

/* The console's own columns after a core view's, by name (rows_col gives the index). */
#define SW_LOAD SW__COUNT

static const struct pane_col swarm_cols[] = {
	{ SW_ID, "SWARM", 16, 0, PF_TEXT },
	{ SW_STATUS, "STATUS", 12, 0, PF_TEXT },
	{ SW_BREAKER, "BREAKER", 9, 0, PF_TEXT },
	{ SW_LOAD, "LOAD", 5, PC_RIGHT, PF_TEXT },
	{ SW_REPUTATION, "REP", 5, PC_RIGHT, PF_TEXT },
	{ SW_LAST_SEEN, "SEEN", 5, PC_RIGHT, PF_AGE },
	{ SW_FAILURES, "FAILS", 5, PC_RIGHT | PC_OPTIONAL, PF_TEXT },
	{ SW_CAPABILITIES, "CAPABILITIES", 14, PC_FLEX, PF_TEXT },
	{ SW_REASON, "REASON", 20, PC_OPTIONAL, PF_TEXT },
};

/* The swarm's id (a row for an invalid record has only its key). */
static const char *
srow_id(const struct srow *r)
{
	return r->id;
}

/* Compare two swarms on the sorted column, then by id. */
static int
swarm_cmp(const void *pa, const void *pb)
{
	const struct srow *a = *(const struct srow *const *)pa, *b = *(const struct srow *const *)pb;
	int c = 0;

	if (sort_vcol == SW_STATUS)
		c = cmp_str(swarm_status(&a->sw), swarm_status(&b->sw));
	else if (sort_vcol == SW_BREAKER)
		c = CMP_NUM(a->sw.st.breaker, b->sw.st.breaker);
	else if (sort_vcol == SW_LOAD)
		c = CMP_NUM(a->held, b->held);
	else if (sort_vcol == SW_REPUTATION)
		c = CMP_NUM(a->sw.p.reputation, b->sw.p.reputation);
	else if (sort_vcol == SW_LAST_SEEN)
		c = CMP_NUM(a->sw.last_seen, b->sw.last_seen);
	else if (sort_vcol == SW_FAILURES)
		c = CMP_NUM(a->sw.st.failures, b->sw.st.failures);
	if (c == 0)
		c = strcmp(srow_id(a), srow_id(b));
	return sort_desc ? -c : c;
}

static void
swarm_collect(struct fleet *f, struct pane *p)
{
	const char *texts[4];
	size_t i, j;

	p->n = 0;
	for (i = 0; i < f->swarms.n; i++) {
		struct srow *r = f->swarms.v[i].val;
		const int64_t *held = kset_get(&f->held, f->swarms.v[i].key);
		if (!r->have_rec && !r->bad)
			continue;	/* a state without a record: unregistered */
		r->held = held ? *held : 0;
		texts[0] = f->swarms.v[i].key;
		texts[1] = r->bad ? "invalid" : swarm_status(&r->sw);
		texts[2] = r->bad ? r->bad : r->sw.st.reason;
		texts[3] = NULL;
		if (match(p->filter, texts, 3))
			items_add(p, r);
		else
			for (j = 0; j < r->sw.p.ncaps; j++)
				if (strcasestr(r->sw.p.caps[j], p->filter)) {
					items_add(p, r);
					break;
				}
	}
	if (p->sort == 0 && !p->desc)
		return;	/* the set is sorted by id */
	sort_vcol = p->src->cols[p->sort].vcol;
	sort_desc = p->desc;
	if (p->n > 1)
		qsort(p->items, p->n, sizeof *p->items, swarm_cmp);
}


static void
swarm_ident(const void *item, struct buf *out)
{
	buf_adds(out, srow_id(item));
}

struct rowset *
pane_swarm_rows(void *const *items, size_t n)
{
	struct rowset *rs = swarm_view_list();
	size_t i, r, load = rows_col(rs, "load", COL_TEXT, 0);

	for (i = 0; i < n; i++) {
		const struct srow *s = items[i];
		if (s->bad) {
			struct swarm_invalid bad = { (char *)srow_id(s), s->bad };
			swarm_view_add_invalid(rs, &bad);
			continue;
		}
		swarm_view_add(rs, &s->sw);
		r = rs->nrows - 1;
		if (s->sw.p.max_concurrent > 0)
			rows_setf(rs, r, load, "%lld/%d", (long long)s->held, s->sw.p.max_concurrent);
		else
			rows_setf(rs, r, load, "%lld", (long long)s->held);
	}
	return rs;
}

/* A swarm's status or breaker as a role: open and retired stand out. */
static const struct {
	const char *status;
	enum theme_role role;
} swarm_roles[] = {
	{ "active", ROLE_OK }, { "retired", ROLE_DIM }, { "breaker-open", ROLE_BAD },
	{ "half-open", ROLE_WARN }, { "invalid", ROLE_BAD },
};

static enum theme_role
swarm_role(const struct rowset *rs, size_t r)
{
	const char *st = rows_get(rs, r, SW_STATUS);
	size_t i;

	for (i = 0; st && i < ARRAY_SIZE(swarm_roles); i++)
		if (!strcmp(st, swarm_roles[i].status))
			return swarm_roles[i].role;
	return ROLE_NORMAL;
}

static void
swarm_pstatus(struct fleet *f, const struct pane *p, struct buf *out)
{
	size_t open = fleet_breakers_open(f);

	buf_addf(out, "%zu", p->n);
	if (open)
		buf_addf(out, ", %zu breaker%s open", open, open == 1 ? "" : "s");
	if (!f->swarms_synced)
		buf_adds(out, ", loading...");
}

static size_t
swarm_size(struct fleet *f)
{
	return f->swarms.n;
}

static bool
swarm_drill(const void *item, struct buf *cmd)
{
	buf_addf(cmd, "swarm show %s", srow_id(item));
	return true;
}

static const struct pane_src swarms_pane = {
	.name = "swarms",
	.feed = "KV watch of " SWARM_BUCKET " (records <id> and governor state.<id>); load from "
		"the tasks feed",
	.cols = swarm_cols,
	.ncols = ARRAY_SIZE(swarm_cols),
	.sort = 0,
	.desc = false,
	.sortable = 0x7f,
	.state_col = 1,
	.weight = 2,
	.gen = swarm_gen,
	.collect = swarm_collect,
	.ident = swarm_ident,
	.rows = pane_swarm_rows,
	.role = swarm_role,
	.size = swarm_size,
	.status = swarm_pstatus,
	.drill = swarm_drill,
};

/* --- budgets ------------------------------------------------------------- */

static const struct pane_col budget_cols[] = {
	{ BC_KEY, "BUDGET", 18, 0, PF_TEXT },
	{ BC_ALLOCATED, "ALLOC", 9, PC_RIGHT, PF_TEXT },
	{ BC_SPENT, "SPENT", 9, PC_RIGHT, PF_TEXT },
	{ BC_REMAINING, "LEFT", 9, PC_RIGHT, PF_TEXT },
	{ BC_RESERVED, "RESERVED", 9, PC_RIGHT | PC_OPTIONAL, PF_TEXT },
	{ BC_USED_PCT, "USED", 5, PC_RIGHT, PF_TEXT },
	{ BC_THRESHOLD, "CROSSED", 7, PC_RIGHT, PF_TEXT },
	{ BC_BURN, "BURN/H", 9, PC_RIGHT, PF_TEXT },
	{ BC_EXHAUSTED_IN, "EMPTY IN", 9, PC_RIGHT | PC_FLEX | PC_OPTIONAL, PF_TEXT },
};

static void
budget_collect(struct fleet *f, struct pane *p)
{
	const char *texts[3];
	size_t i;

	p->n = 0;
	for (i = 0; i < f->budgets.n; i++) {
		struct brow *r = f->budgets.v[i].val;
		texts[0] = r->key;
		texts[1] = r->b.swarm;
		texts[2] = r->bad;
		if (match(p->filter, texts, 3))
			items_add(p, r);
	}
	if (p->desc)	/* the set is by key */
		items_reverse(p);
}

static void
budget_ident(const void *item, struct buf *out)
{
	buf_adds(out, ((const struct brow *)item)->key);
}

struct rowset *
pane_budget_rows(void *const *items, size_t n)
{
	struct rowset *rs = budget_view();
	size_t i, r;

	for (i = 0; i < n; i++) {
		const struct brow *b = items[i];
		if (b->bad) {
			r = rows_add(rs);
			rows_set(rs, r, BC_KEY, b->key);
			rows_set(rs, r, BC_THRESHOLD, "invalid");
			continue;
		}
		budget_view_add(rs, &b->b, b->burn);
	}
	return rs;
}

/* A budget's role: by the threshold it crossed. */
static enum theme_role
budget_role(const struct rowset *rs, size_t r)
{
	const char *t = rows_get(rs, r, BC_THRESHOLD);
	int64_t pct = 0;

	if (t && !strcmp(t, "invalid"))
		return ROLE_BAD;
	if (!rows_get_i64(rs, r, BC_THRESHOLD, &pct))
		return ROLE_NORMAL;
	return pct >= 100 ? ROLE_BAD : pct >= 75 ? ROLE_WARN : pct >= 50 ? ROLE_INFO : ROLE_OK;
}

static void
budget_pstatus(struct fleet *f, const struct pane *p, struct buf *out)
{
	size_t i, over = 0;

	for (i = 0; i < f->budgets.n; i++) {
		const struct brow *r = f->budgets.v[i].val;
		over += !r->bad && r->b.threshold_pct >= 90;
	}
	buf_addf(out, "%zu", p->n);
	if (over)
		buf_addf(out, ", %zu at 90%%+", over);
	if (!f->budgets_synced)
		buf_adds(out, ", loading...");
}

static size_t
budget_size(struct fleet *f)
{
	return f->budgets.n;
}

static bool
budget_drill(const void *item, struct buf *cmd)
{
	const struct brow *b = item;

	if (b->bad || b->b.swarm == NULL)
		return false;
	buf_addf(cmd, "cost budget %s", b->b.swarm);
	return true;
}

static const struct pane_src budgets_pane = {
	.name = "budget",
	.feed = "KV watch of " BUDGET_BUCKET "; burn rate from the cost index (last hour), "
		"refreshed off the loop",
	.cols = budget_cols,
	.ncols = ARRAY_SIZE(budget_cols),
	.sort = 0,
	.desc = false,
	.sortable = 0x1,
	.state_col = 6,
	.weight = 1,
	.gen = domain_gen,
	.collect = budget_collect,
	.ident = budget_ident,
	.rows = pane_budget_rows,
	.role = budget_role,
	.size = budget_size,
	.status = budget_pstatus,
	.drill = budget_drill,
};

/* --- SLO ----------------------------------------------------------------- */

#define SS_EPISODE SS__COUNT

static const struct pane_col slo_cols[] = {
	{ SS_SWARM, "SWARM", 16, 0, PF_TEXT },
	{ SS_OBJECTIVE, "OBJECTIVE", 12, 0, PF_TEXT },
	{ SS_TARGET, "TARGET", 15, 0, PF_TEXT },
	{ SS_MEASURED, "MEASURED", 11, PC_RIGHT, PF_TEXT },
	{ SS_VERDICT, "VERDICT", 7, 0, PF_TEXT },
	{ SS_ALERT, "ALERT", 6, 0, PF_TEXT },
	{ SS_BURN_1H, "BURN1H", 6, PC_RIGHT | PC_OPTIONAL, PF_TEXT },
	{ SS_EPISODE, "EPISODE", 9, 0, PF_TEXT },
	{ SS_BUDGET_LEFT, "BUDGET", 7, PC_RIGHT | PC_OPTIONAL, PF_TEXT },
	{ SS_REASON, "REASON", 12, PC_FLEX | PC_OPTIONAL, PF_TEXT },
};

static void
slo_collect(struct fleet *f, struct pane *p)
{
	const char *texts[4];
	size_t i;

	p->n = 0;
	for (i = 0; i < f->nslo; i++) {
		struct slo_item *it = &f->slo[i];
		const struct slo_obj_result *o = &it->r->o[it->kind];
		texts[0] = it->r->swarm;
		texts[1] = slo_kind_name(it->kind);
		texts[2] = slo_verdict_name(o->verdict);
		texts[3] = it->open ? "open" : NULL;
		if (match(p->filter, texts, 4))
			items_add(p, it);
	}
	if (p->desc)	/* by swarm, then objective */
		items_reverse(p);
}

static void
slo_ident(const void *item, struct buf *out)
{
	const struct slo_item *it = item;

	buf_addf(out, "%s.%s", it->r->swarm, slo_kind_name(it->kind));
}

struct rowset *
pane_slo_rows(void *const *items, size_t n)
{
	struct rowset *rs = slo_status_view();
	size_t i, ep = rows_col(rs, "episode", COL_TEXT, 0);
	int k;

	for (i = 0; i < n; i++) {
		const struct slo_item *it = items[i];
		struct slo_result one = *it->r;
		for (k = 0; k < SLO__KINDS; k++)	/* this row's objective only */
			one.o[k].defined = k == (int)it->kind;
		slo_status_view_add(rs, &one, it->o);
		if (rs->nrows == 0)
			continue;
		if (it->open)
			rows_setf(rs, rs->nrows - 1, ep, "#%llu OPEN", (unsigned long long)it->episode);
		else if (it->episode)
			rows_setf(rs, rs->nrows - 1, ep, "#%llu shut", (unsigned long long)it->episode);
		else
			rows_set(rs, rs->nrows - 1, ep, "-");
	}
	return rs;
}

/* A verdict's role; an open episode is a breach whatever the last figure says. */
static const struct {
	const char *verdict;
	enum theme_role role;
} verdict_roles[] = {
	{ "ok", ROLE_OK }, { "warn", ROLE_WARN }, { "breach", ROLE_BAD }, { "no-data", ROLE_DIM },
};

static enum theme_role
slo_role(const struct rowset *rs, size_t r)
{
	const char *v = rows_get(rs, r, SS_VERDICT);
	size_t i;

	for (i = 0; v && i < ARRAY_SIZE(verdict_roles); i++)
		if (!strcmp(v, verdict_roles[i].verdict))
			return verdict_roles[i].role;
	return ROLE_NORMAL;
}

static void
slo_pstatus(struct fleet *f, const struct pane *p, struct buf *out)
{
	size_t i, open = 0, alerts = 0;

	for (i = 0; i < f->nslo; i++) {
		open += f->slo[i].open;
		alerts += f->slo[i].r->o[f->slo[i].kind].alert != SLO_ALERT_NONE;
	}
	buf_addf(out, "%zu objective%s, %zu open episode%s, %zu burn alert%s", p->n,
		 p->n == 1 ? "" : "s", open, open == 1 ? "" : "s", alerts, alerts == 1 ? "" : "s");
	if (f->figs.err[0])
		buf_addf(out, "; figures: %s", f->figs.err);
	else if (f->figs.at_ms == 0 && f->objectives.n)
		buf_adds(out, ", evaluating...");
}

static size_t
slo_size(struct fleet *f)
{
	return f->nslo;
}

static bool
slo_drill(const void *item, struct buf *cmd)
{
	buf_addf(cmd, "slo status %s", ((const struct slo_item *)item)->r->swarm);
	return true;
}

static const struct pane_src slo_pane = {
	.name = "slo",
	.feed = "KV watches of " SLO_BUCKET " and " SLO_EPISODE_BUCKET ", events "
		SLO_EVENT_PREFIX ">; figures from slo status over the local rollups, "
		"evaluated off the loop",
	.cols = slo_cols,
	.ncols = ARRAY_SIZE(slo_cols),
	.sort = 0,
	.desc = false,
	.sortable = 0x1,
	.state_col = 4,
	.weight = 2,
	.gen = domain_gen,
	.collect = slo_collect,
	.ident = slo_ident,
	.rows = pane_slo_rows,
	.role = slo_role,
	.size = slo_size,
	.status = slo_pstatus,
	.drill = slo_drill,
};

const struct pane_src *const pane_table[] = { &tasks_pane, &swarms_pane, &budgets_pane,
					      &slo_pane, &witness_pane };
const size_t pane_count = ARRAY_SIZE(pane_table);
