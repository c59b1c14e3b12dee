/* The coordinator's views: see taskview.h. */
#include <string.h>

#include "core/buf.h"
#include "core/json.h"
#include "core/taskview.h"
#include "core/util.h"

static const struct view_col task_cols[] = {
	[TC_ID] = { "id", COL_TEXT, 0 },
	[TC_STATE] = { "state", COL_TEXT, 0 },
	[TC_PRIORITY] = { "priority", COL_NUM, 0 },
	[TC_OWNER] = { "owner", COL_TEXT, 0 },
	[TC_TOKEN] = { "token", COL_NUM, 0 },
	[TC_ATTEMPTS] = { "attempts", COL_NUM, 0 },	/* tables: "attempts/max" */
	[TC_LEASE_UNTIL] = { "lease_until", COL_TIME, 0 },
	[TC_TITLE] = { "title", COL_TEXT, 0 },
	[TC_CAPABILITIES] = { "capabilities", COL_JSON, COL_WIDE },
	[TC_TO] = { "to", COL_TEXT, COL_WIDE },
	[TC_BUDGET] = { "budget", COL_NUM, COL_WIDE },
	[TC_NOT_BEFORE] = { "not_before", COL_TIME, COL_WIDE },
	[TC_CREATED] = { "created", COL_TIME, COL_WIDE },
	[TC_UPDATED] = { "updated", COL_TIME, COL_DATA },
	[TC_REVISION] = { "revision", COL_NUM, COL_WIDE },
	[TC_REASON] = { "reason", COL_TEXT, 0 },	/* failed, dead, invalid: why */
	[TC_PAYLOAD] = { "payload", COL_JSON, COL_WIDE },
	[TC_RESULT] = { "result", COL_JSON, COL_WIDE },
	[TC_TRACE] = { "trace", COL_TEXT, COL_WIDE },
	[TC_MAX_ATTEMPTS] = { "max_attempts", COL_NUM, COL_DATA },
	[TC_IDEMPOTENCY_KEY] = { "idempotency_key", COL_TEXT, COL_DATA },
	[TC_ARCHIVED] = { "archived", COL_BOOL, COL_WIDE },	/* read from IF_ARCHIVE */
	[TC_HISTORY] = { "history", COL_JSON, COL_DATA },
};
_Static_assert(sizeof task_cols / sizeof *task_cols == TC__COUNT, "one column per task_col");

static const struct view_col hist_cols[] = {
	[TH_AT] = { "at", COL_TIME, 0 },
	[TH_STATE] = { "state", COL_TEXT, 0 },
	[TH_BY] = { "by", COL_TEXT, 0 },
	[TH_TOKEN] = { "token", COL_NUM, 0 },
	[TH_NOTE] = { "note", COL_TEXT, 0 },
};
_Static_assert(sizeof hist_cols / sizeof *hist_cols == TH__COUNT, "one column per task_hist_col");

/* One count per task state, named as the state is and in enum task_state's order. */
static const struct view_col stats_cols[] = {
	[TS_TASKS] = { "tasks", COL_NUM, 0 },
	[TS_QUEUED] = { "queued", COL_NUM, 0 },
	[TS_CLAIMED] = { "claimed", COL_NUM, 0 },
	[TS_DONE] = { "done", COL_NUM, 0 },
	[TS_FAILED] = { "failed", COL_NUM, 0 },
	[TS_DEAD] = { "dead", COL_NUM, 0 },
	[TS_CLAIMS_PER_S] = { "claims_per_s_60s", COL_NUM, 0 },
	[TS_LEASE_EXPIRIES] = { "lease_expiries", COL_NUM, 0 },
	[TS_INVALID] = { "invalid", COL_NUM, 0 },
	[TS_ARCHIVED] = { "archived", COL_NUM, 0 },
};
_Static_assert(sizeof stats_cols / sizeof *stats_cols == TS__COUNT, "one column per stats_col");
_Static_assert(TS_DEAD - TS_QUEUED + 1 == TASK__COUNT, "one count per task state");

/* The list shows every column but the history. */
static const struct view task_list_view = { "tasks", task_cols, TC_HISTORY };
static const struct view task_record_view = VIEW("task", task_cols);
static const struct view task_hist_view = VIEW("history", hist_cols);
static const struct view task_stats_view = VIEW("stats", stats_cols);

/* A page of the list: where the next starts (schemas/task-page.json). */
static const struct view_col page_cols[] = {
	[TP_CONTINUE] = { "continue", COL_TEXT, 0 },
	[TP_REMAINING] = { "remaining", COL_NUM, 0 },
};
_Static_assert(ARRAY_SIZE(page_cols) == TP__COUNT, "one column per page field");
static const struct view task_page_view = VIEW("metadata", page_cols);

/* What an archive sweep or a purge did (schemas/task-moved.json). */
static const struct view_col moved_cols[] = {
	[TM_ACTION] = { "action", COL_TEXT, 0 },
	[TM_TASKS] = { "tasks", COL_NUM, 0 },
	[TM_RACED] = { "changed_meanwhile", COL_NUM, 0 },
	[TM_DRY_RUN] = { "dry_run", COL_BOOL, 0 },
	[TM_Q_DROPPED] = { "queue_dropped", COL_NUM, 0 },
	[TM_Q_KEPT] = { "queue_kept", COL_NUM, 0 },
	[TM_Q_ANNOUNCED] = { "leases_announced", COL_NUM, 0 },
};
_Static_assert(ARRAY_SIZE(moved_cols) == TM__COUNT, "one column per moved field");
static const struct view task_moved_view = VIEW("moved", moved_cols);

struct rowset *
task_view_moved(const char *action, size_t n, size_t raced, bool dry_run)
{
	struct rowset *rs = rows_view(&task_moved_view);
	size_t r = rows_add(rs);

	rs->single = true;
	rows_set(rs, r, TM_ACTION, action);
	rows_set_u64(rs, r, TM_TASKS, n);
	rows_set_u64(rs, r, TM_RACED, raced);
	rows_set_bool(rs, r, TM_DRY_RUN, dry_run);
	return rs;
}

void
task_view_moved_tidy(struct rowset *rs, const struct coord_tidy *t)
{
	rows_set_u64(rs, 0, TM_Q_DROPPED, t->dropped);
	rows_set_u64(rs, 0, TM_Q_KEPT, t->kept);
	rows_set_u64(rs, 0, TM_Q_ANNOUNCED, t->announced);
}

struct rowset *
task_view_list(void)
{
	return rows_view(&task_list_view);
}

struct rowset *
task_view_record(void)
{
	struct rowset *rs = rows_view(&task_record_view);

	rs->single = true;
	return rs;
}

/* A task's history as a JSON array of {at, state, by, token, note}. */
static void
history_json(struct buf *out, const struct task *t)
{
	char when[32];
	size_t i;

	buf_addc(out, '[');
	for (i = 0; i < t->nhist; i++) {
		const struct task_event *ev = &t->hist[i];
		buf_adds(out, i ? ",{" : "{");
		fmt_time_ms(when, ev->at);
		json_kv_str(out, "at", when);
		json_kv_str(out, "state", task_state_name(ev->state));
		json_kv_str(out, "by", ev->by);
		if (ev->token)
			json_kv_int(out, "token", (long long)ev->token);
		else
			json_kv_raw(out, "token", NULL);
		json_kv_str(out, "note", ev->note);
		buf_addc(out, '}');
	}
	buf_addc(out, ']');
}

/* Set a number cell that is null when zero (no token yet). */
static void
set_nonzero(struct rowset *rs, size_t r, size_t c, uint64_t v)
{
	if (v)
		rows_set_u64(rs, r, c, v);
}

void
task_view_add(struct rowset *rs, const struct task *t)
{
	size_t r = rows_add(rs);
	struct buf h = BUF_INIT;

	rows_set(rs, r, TC_ID, t->id);
	rows_set(rs, r, TC_STATE, task_state_name(t->state));
	rows_set_int(rs, r, TC_PRIORITY, t->priority);
	rows_set(rs, r, TC_OWNER, t->owner);
	set_nonzero(rs, r, TC_TOKEN, t->token);
	rows_set_int(rs, r, TC_ATTEMPTS, t->attempts);
	rows_showf(rs, r, TC_ATTEMPTS, "%d/%d", t->attempts, t->max_attempts);
	if (t->state == TASK_CLAIMED)
		rows_set_time(rs, r, TC_LEASE_UNTIL, t->lease_until);
	rows_set(rs, r, TC_TITLE, t->title);
	rows_set_list(rs, r, TC_CAPABILITIES, (const char *const *)t->caps, t->ncaps);
	rows_set(rs, r, TC_TO, t->to);
	rows_set_num(rs, r, TC_BUDGET, t->budget);
	if (t->state == TASK_QUEUED)
		rows_set_time(rs, r, TC_NOT_BEFORE, t->not_before);
	rows_set_time(rs, r, TC_CREATED, t->created);
	rows_set_time(rs, r, TC_UPDATED, t->updated);
	rows_set_u64(rs, r, TC_REVISION, t->rev);
	rows_set(rs, r, TC_REASON, t->reason);
	rows_set(rs, r, TC_PAYLOAD, t->payload);
	rows_set(rs, r, TC_RESULT, t->result);
	rows_set(rs, r, TC_TRACE, t->trace);
	rows_set_int(rs, r, TC_MAX_ATTEMPTS, t->max_attempts);
	rows_set(rs, r, TC_IDEMPOTENCY_KEY, t->idem);
	rows_set_bool(rs, r, TC_ARCHIVED, t->archived);
	if (rs->ncols > TC_HISTORY) {
		history_json(&h, t);
		rows_set(rs, r, TC_HISTORY, h.s);
	}
	buf_release(&h);
}

void
task_view_add_invalid(struct rowset *rs, const struct coord_invalid *v)
{
	size_t r = rows_add(rs);

	rows_set(rs, r, TC_ID, v->key);
	rows_set(rs, r, TC_STATE, "invalid");
	set_nonzero(rs, r, TC_REVISION, v->rev);
	rows_set(rs, r, TC_REASON, v->reason);
}

struct rowset *
task_view_history(const struct task *t)
{
	struct rowset *h = rows_view(&task_hist_view);
	size_t i, r;

	h->table_only = true;	/* structured formats have it in the record */
	for (i = 0; i < t->nhist; i++) {
		r = rows_add(h);
		rows_set_time(h, r, TH_AT, t->hist[i].at);
		rows_set(h, r, TH_STATE, task_state_name(t->hist[i].state));
		rows_set(h, r, TH_BY, t->hist[i].by);
		set_nonzero(h, r, TH_TOKEN, t->hist[i].token);
		rows_set(h, r, TH_NOTE, t->hist[i].note);
	}
	return h;
}

void
task_stats_add(struct task_stats *out, const struct task *t)
{
	size_t j;

	out->tasks++;
	out->by_state[t->state]++;
	for (j = 0; j < t->nhist; j++) {
		const struct task_event *ev = &t->hist[j];
		if (ev->state == TASK_CLAIMED && ev->at > out->now_ms - 60000)
			out->claims_60s++;
		if (coord_hist_event(t, j) == COORD_EV_TAKEOVER)
			out->takeovers++;
		if (ev->note && has_prefix(ev->note, "lease expired"))
			out->expired_dead++;
	}
}

void
task_stats_count(const struct coord_listing *l, int64_t now_ms, struct task_stats *out)
{
	size_t i;

	memset(out, 0, sizeof *out);
	out->now_ms = now_ms;
	out->invalid = l->nbad;
	for (i = 0; i < l->n; i++)
		task_stats_add(out, &l->tasks[i]);
}

struct rowset *
task_view_stats(const struct task_stats *s)
{
	struct rowset *rs = rows_view(&task_stats_view);
	size_t i, r = rows_add(rs);

	rs->single = true;
	rows_set_u64(rs, r, TS_TASKS, s->tasks);
	for (i = 0; i < TASK__COUNT; i++)
		rows_set_u64(rs, r, TS_QUEUED + i, s->by_state[i]);
	rows_set_num(rs, r, TS_CLAIMS_PER_S, (double)s->claims_60s / 60.0);
	rows_showf(rs, r, TS_CLAIMS_PER_S, "%.2f", (double)s->claims_60s / 60.0);
	rows_set_u64(rs, r, TS_LEASE_EXPIRIES, s->takeovers + s->expired_dead);
	rows_set_u64(rs, r, TS_INVALID, s->invalid);
	rows_set_u64(rs, r, TS_ARCHIVED, s->archived);
	return rs;
}

struct rowset *
task_view_page(const char *token, size_t remaining)
{
	struct rowset *rs = rows_view(&task_page_view);
	size_t r = rows_add(rs);

	rs->single = true;
	rows_set(rs, r, TP_CONTINUE, token);
	rows_set_u64(rs, r, TP_REMAINING, remaining);
	return rs;
}
