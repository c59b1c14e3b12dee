/*
 * The coordinator's views: a task (the full record), the task list, a
 * task's history and the queue's counts. Built here so that the CLI
 * (ifctl task ...) and a console pane show one query two ways.
 *
 * Columns are set by enum task_col, never by position. Structured output
 * of a task carries every field of the record typed (schemas/task.json);
 * the list leaves out the history (schemas/task-row.json).
 */
#ifndef IF_TASKVIEW_H
#define IF_TASKVIEW_H

#include <stdint.h>

#include "core/coord.h"
#include "core/rows.h"
#include "core/task.h"

enum task_col {
	TC_ID, TC_STATE, TC_PRIORITY, TC_OWNER, TC_TOKEN, TC_ATTEMPTS, TC_LEASE_UNTIL,
	TC_TITLE, TC_CAPABILITIES, TC_TO, TC_BUDGET, TC_NOT_BEFORE, TC_CREATED, TC_UPDATED,
	TC_REVISION, TC_REASON, TC_PAYLOAD, TC_RESULT, TC_TRACE, TC_MAX_ATTEMPTS,
	TC_IDEMPOTENCY_KEY, TC_ARCHIVED,
	TC_HISTORY,		/* the record only: not in the list */
	TC__COUNT
};

enum task_hist_col { TH_AT, TH_STATE, TH_BY, TH_TOKEN, TH_NOTE, TH__COUNT };

/* An empty task list ("tasks"), or a single task record ("task"). */
struct rowset *task_view_list(void);
struct rowset *task_view_record(void);

/* Add a task as a row (the record's history too when the set has the column). */
void task_view_add(struct rowset *rs, const struct task *t);

/* Add a record that is not a valid task: its key, state "invalid", why. */
void task_view_add_invalid(struct rowset *rs, const struct coord_invalid *v);

/* A task's history of states as its own set ("history"), for tables. */
struct rowset *task_view_history(const struct task *t);

/* Counts over a listing: by state, claims in the last minute, expiries. */
struct task_stats {
	size_t tasks, by_state[TASK__COUNT], invalid;
	size_t claims_60s;	/* claims recorded in the minute before now */
	size_t takeovers;	/* claims of a task whose lease had expired */
	size_t expired_dead;	/* tasks dead after their last lease expired */
	uint64_t archived;	/* finished tasks moved out of the live set (not in the rest) */
	int64_t now_ms;		/* the time "the last 60 s" ends at */
};

enum task_stats_col {
	TS_TASKS, TS_QUEUED, TS_CLAIMED, TS_DONE, TS_FAILED, TS_DEAD, TS_CLAIMS_PER_S,
	TS_LEASE_EXPIRIES, TS_INVALID, TS_ARCHIVED, TS__COUNT
};

void task_stats_count(const struct coord_listing *l, int64_t now_ms, struct task_stats *out);
/* Count one more task into out (out->now_ms set, the rest zero at the start). */
void task_stats_add(struct task_stats *out, const struct task *t);
/* The counts as one record ("stats"). */
struct rowset *task_view_stats(const struct task_stats *s);

/*
 * Where a page of the list ends ("metadata"): the continue token of the
 * next page (NULL: this was the last) and how many tasks remain after it.
 */
enum task_page_col { TP_CONTINUE, TP_REMAINING, TP__COUNT };
struct rowset *task_view_page(const char *token, size_t remaining);

/*
 * What an archive sweep or a purge did: the action ("archived", "purged"),
 * tasks moved or removed (under falsify: that would be), and tasks left
 * because they changed meanwhile.
 */
enum task_moved_col {
	TM_ACTION, TM_TASKS, TM_RACED, TM_DRY_RUN,
	TM_Q_DROPPED, TM_Q_KEPT, TM_Q_ANNOUNCED,	/* an archive sweep's queue upkeep */
	TM__COUNT
};
struct rowset *task_view_moved(const char *action, size_t n, size_t raced, bool dry_run);
/* The queue upkeep of the sweep rs (from task_view_moved) tells. */
void task_view_moved_tidy(struct rowset *rs, const struct coord_tidy *t);

#endif
