/*
 * A task record: what IF_TASKS holds under the task's id, as JSON with
 * "v": 1 (ifctl-protocol(7)). States: queued -> claimed -> done | failed |
 * dead; a failed attempt that may be retried goes back to queued with a
 * not_before time (exponential backoff).
 */
#ifndef IF_TASK_H
#define IF_TASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/status.h"

enum task_state { TASK_QUEUED, TASK_CLAIMED, TASK_DONE, TASK_FAILED, TASK_DEAD, TASK__COUNT };

#define TASK_HISTORY_MAX 64	/* oldest entries beyond this are dropped */
#define TASK_PRIORITY_MAX 9
#define TASK_ATTEMPTS_MAX 1000	/* the most attempts a task may be given */
#define TASK_BACKOFF_MAX_MS 3600000	/* an hour: the longest base retry backoff, where doubling stops */

struct task_event {
	int64_t at;		/* ms since the epoch */
	enum task_state state;
	char *by;		/* swarm or operator */
	uint64_t token;		/* fencing token in force after the change */
	char *note;		/* reason, or NULL */
};

struct task {
	int v;			/* record version: 1 */
	char *id;
	char *title;
	char **caps;		/* required capabilities */
	size_t ncaps;
	int priority;		/* 0..9, higher first */
	double budget;		/* >= 0 */
	char *payload;		/* JSON text, or NULL */
	char *idem;		/* idempotency key, or NULL */
	char *to;		/* only this swarm may claim, or NULL */
	enum task_state state;
	char *owner;		/* claimed: who holds it */
	uint64_t token;		/* revision of the claim that made owner the owner */
	int64_t lease_until;	/* ms since the epoch */
	int attempts;		/* claims so far */
	int max_attempts;
	int64_t not_before;	/* not claimable before (retry backoff) */
	int64_t created, updated;
	char *result;		/* JSON text, or NULL */
	char *reason;		/* why it failed or died, or NULL */
	char *trace;		/* trace id of the push */
	struct task_event *hist;
	size_t nhist, histcap;
	uint64_t rev;		/* KV revision read (not stored in the record) */
	bool archived;		/* read from the archive, rev is its revision there (not stored) */
};

const char *task_state_name(enum task_state s);
bool task_state_parse(const char *s, enum task_state *out);

void task_init(struct task *t);
void task_release(struct task *t);

/* Append a history entry (copies by and note), dropping the oldest past the cap. */
void task_history_add(struct task *t, int64_t at, enum task_state st, const char *by,
		      uint64_t token, const char *note);

/* The record as RFC 8785 canonical JSON, appended to out. */
void task_to_json(const struct task *t, struct buf *out);

/*
 * The same, for writing: appends nothing and returns ST_BAD_VALUE when the
 * record would not read back (a string that is not UTF-8, a bad payload).
 */
enum status task_encode(const struct task *t, struct buf *out, struct err *e);

/*
 * Parse a record: I-JSON; v, id, state, priority, attempts, max_attempts
 * and created required; every field of its type and range; a claimed
 * task has an owner and a lease. ST_BAD_JSON naming what is wrong.
 * Members it does not know are ignored (ifctl-protocol(7)).
 */
enum status task_from_json(const char *text, size_t len, struct task *t, struct err *e);

/* Does the task require only capabilities in caps? */
bool task_caps_ok(const struct task *t, char *const *caps, size_t ncaps);

/* Is id usable as a task id (KV key rules, not reserved)? */
bool task_id_valid(const char *id);

#endif
