/*
 * The pane table: each pane is a face of a core view (taskview.h,
 * wview.h), fed by the model's feeds (model.h). A pane for swarms,
 * budgets or SLO is one entry here once core has its view and feed.
 */
#include <stdlib.h>
#include <string.h>

#include "core/ledger.h"
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
		for (i = 0; i < p->n / 2; i++) {
			void *t = p->items[i];
			p->items[i] = p->items[p->n - 1 - i];
			p->items[p->n - 1 - i] = t;
		}
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
	.collect = witness_collect,
	.ident = witness_ident,
	.rows = witness_rows,
	.role = witness_role,
	.size = witness_size,
	.status = witness_status,
	.drill = witness_drill,
};

const struct pane_src *const pane_table[] = { &tasks_pane, &witness_pane };
const size_t pane_count = ARRAY_SIZE(pane_table);
