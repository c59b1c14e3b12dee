/*
 * The coordinator: push, claim, heartbeat, complete, fail, release; the
 * operator's cancel and requeue; listings read in one pass, in pages.
 *
 * The truth is the task record in IF_TASKS. Every transition reads the
 * record, checks it, and writes it back only if its revision is still the
 * one read (compare-and-swap), so two claimers can never both own a task.
 * The revision written by a claim is the task's fencing token: the owner
 * presents it with every later call, and anything else is refused with who
 * owns the task and which token is in force.
 *
 * Leases need no reaper: a claim that finds a claimed task whose lease has
 * passed takes it over by the same CAS. A failed attempt is retried after
 * retry_backoff_ms * 2^(attempts-1); past max_attempts the task is dead.
 *
 * Claimers find ready tasks through a struct coord_index: one KV watch of
 * IF_TASKS per process feeding a ready index (readyq.h: FIFO lists per
 * priority plus a heap of leases), so a claim looks at the head of a list
 * instead of scanning the bucket. Threads of one process share an index and never race each other
 * for the same task; processes race through the CAS.
 *
 * Every change is published on if.v1.evt.task.<state> (stream IF_EVENTS)
 * and witnessed as task.<verb>, the verb naming its kind (enum coord_event).
 */
#ifndef IF_COORD_H
#define IF_COORD_H

#include <stdbool.h>
#include <stdint.h>

#include "core/bus.h"
#include "core/opctx.h"
#include "core/readyq.h"
#include "core/rows.h"
#include "core/task.h"

#define COORD_BUCKET "IF_TASKS"
#define COORD_IDEM_PREFIX "idem."	/* keys of idempotency entries, not tasks */
#define COORD_ACTOR "coordinator"	/* who the coordinator's own changes are by */

/*
 * The kinds of change the coordinator makes: the "verb" of the event on
 * if.v1.evt.task.<state> and the witness event task.<verb>. A takeover is
 * a claim of a task whose previous owner's lease expired; dead is a task
 * killed by the coordinator when an expired lease had no attempt left (a
 * failure with none left is fail, with state dead).
 */
enum coord_event {
	COORD_EV_PUSH, COORD_EV_CLAIM, COORD_EV_TAKEOVER, COORD_EV_HEARTBEAT,
	COORD_EV_COMPLETE, COORD_EV_FAIL, COORD_EV_RELEASE, COORD_EV_DEAD, COORD_EV_CANCEL,
	COORD_EV_REQUEUE, COORD_EV__COUNT
};

/* The verb of an event kind ("takeover"); static storage. */
const char *coord_event_name(enum coord_event ev);

/*
 * The kind of change history entry i of t records, from the states (the
 * note only to tell a release from a failure and a cancel from a death):
 * heartbeats leave no entry, so a claim right after a claim is a takeover;
 * queued after a claim is a release (no note) or a failure (its reason);
 * queued after done, failed or dead is a requeue; dead is dead when by
 * COORD_ACTOR, a cancel when its note begins COORD_CANCEL_NOTE, else a
 * failure with no attempt left. Entry 0 of a history cut at
 * TASK_HISTORY_MAX reads as a push or a claim.
 */
enum coord_event coord_hist_event(const struct task *t, size_t i);

struct config;

struct coord_cfg {
	const char *bucket;	/* COORD_BUCKET, or a benchmark's own */
	int64_t lease_ms;
	int max_attempts;
	int64_t retry_backoff_ms;
	const char *archive;	/* COORD_ARCHIVE, or NULL: finished tasks stay live */
	int64_t retain_ms;	/* finished tasks stay live this long (0: archived at once) */
	const char *queue;	/* COORD_QUEUE_PREFIX, or NULL: no ready messages */
};

/*
 * The coordinator's settings from the configuration: every client of the
 * fleet's own bucket (CLI, chassis, demo, console) uses these, so all of
 * them archive finished tasks and publish ready ids alike. A
 * coordinator.retain that does not parse keeps the default (commands check
 * it before writing).
 */
void coord_cfg_load(const struct config *c, struct coord_cfg *cc);

/*
 * The archive: finished tasks (done, failed, dead) move out of the live
 * bucket into COORD_ARCHIVE, same key, same record, once they have been
 * finished for retain_ms (see coord_archive_sweep; with retain_ms 0 the
 * transition that finishes a task moves it). A move writes the archive
 * first, then removes the live record by compare-and-swap on the revision
 * read (bus_kv_remove), so a crash leaves the task in both places, never in
 * neither; readers prefer the live record, the next sweep ends the move.
 *
 * The ready queue: every change that makes a task queued also publishes
 * its id on COORD_QUEUE_PREFIX.<priority> (stream IF_QUEUE, work queue).
 * A one-shot claim (coord_claim_once) takes a few ids from the highest
 * priority that has any and claims by the same CAS; an id whose task is no
 * longer queued is dropped. The queue is a hint: the record decides.
 */
#define COORD_ARCHIVE "IF_ARCHIVE"
#define COORD_QUEUE_STREAM "IF_QUEUE"
#define COORD_QUEUE_PREFIX "if.v1.queue.task"
#define COORD_RETAIN_DEFAULT_MS (24LL * 3600 * 1000)

struct task_spec {
	const char *id;		/* NULL: generated */
	const char *title;
	char *const *caps;
	size_t ncaps;
	int priority;		/* 0..9 */
	double budget;		/* >= 0 */
	const char *payload;	/* JSON text or NULL */
	const char *idem;	/* idempotency key or NULL */
	const char *to;		/* swarm or NULL */
	int max_attempts;	/* 0: the configured default */
};

/* Validate a spec without writing (also the push checks under falsify). */
enum status coord_check_spec(const struct task_spec *s, struct err *e);

/*
 * Create a task. With an idempotency key already used, *existed is set and
 * out is the task it created then; nothing new is written.
 */
enum status coord_push(struct bus *b, const struct coord_cfg *cfg, struct opctx *op,
		       const struct task_spec *s, struct task *out, bool *existed,
		       struct err *e);

/*
 * Read a task. A record that is not a valid task (not JSON, wrong types,
 * fields missing or out of range, an id that is not its key: written by
 * another client) is ST_INVALID_RECORD with the reason.
 */
enum status coord_get(struct bus *b, const struct coord_cfg *cfg, const char *id,
		      struct task *out, struct err *e);

/*
 * A record in the bucket that is not a valid task. Claims skip it, lists
 * report it; nothing ifctl does rewrites it.
 */
struct coord_invalid {
	char *key;
	uint64_t rev;		/* 0 when not read */
	char *reason;		/* e.g. "its id 'x' is not its key" */
};
void coord_invalid_release(struct coord_invalid *v);

/*
 * Parse the record stored under key into t (a watch event, say).
 * ST_INVALID_RECORD (t empty) when it is not a task the coordinator can use;
 * e says why, without the key.
 */
enum status coord_record_parse(const char *key, const char *json, size_t len, struct task *t,
			       struct err *e);

/*
 * Like coord_get, but an invalid record is no failure: ST_OK with bad filled
 * (bad->key set, out empty). Release bad with coord_invalid_release().
 */
enum status coord_read(struct bus *b, const struct coord_cfg *cfg, const char *id,
		       struct task *out, struct coord_invalid *bad, struct err *e);

struct coord_index;

/* Start an index (watch) and wait until it holds the bucket's snapshot. */
enum status coord_index_open(struct bus *b, const struct coord_cfg *cfg,
			     struct coord_index **out, struct err *e);
/* Wait until the index changes or ms pass. */
void coord_index_wait(struct coord_index *ix, int64_t ms);
void coord_index_free(struct coord_index *ix);
size_t coord_index_size(struct coord_index *ix);
/* Call fn with the last record of every task the index knows. */
void coord_index_each(struct coord_index *ix, void (*fn)(void *arg, const char *json, size_t len),
		      void *arg);

/*
 * Claim the best ready task this swarm may take (queued, or claimed with an
 * expired lease): priority, then age; on a tie the expired lease.
 * ST_NOT_FOUND when there is none. out.token is the
 * fencing token. Under op->falsify nothing is written and the checks name
 * the task that would be claimed.
 */
enum status coord_claim(struct bus *b, struct coord_index *ix, const struct coord_cfg *cfg,
			struct opctx *op, const struct claimer *c, struct task *out,
			struct err *e);

/*
 * Owner operations: swarm and token must match the record's owner and token.
 * Like every function here, on failure out is left empty; on success the
 * caller releases it with task_release().
 */
enum owner_verb { OWNER_HEARTBEAT, OWNER_COMPLETE, OWNER_FAIL, OWNER_RELEASE };
struct owner_req {
	enum owner_verb verb;
	const char *id;
	const char *swarm;
	uint64_t token;
	const char *result;	/* complete: JSON or NULL */
	const char *reason;	/* fail: text or NULL */
	bool no_retry;		/* fail: go to failed, not back to queued */
};
enum status coord_owner(struct bus *b, const struct coord_cfg *cfg, struct opctx *op,
			const struct owner_req *r, struct task *out, struct err *e);

/* A place in a listing (oldest first): after the task created at created with id. */
struct coord_cursor {
	int64_t created;	/* ms since the epoch */
	char *id;
};

/*
 * Operator verbs (ifctl task cancel, requeue), compare-and-swap writes by
 * op->actor with op->justification in the history. Cancel: a queued or
 * claimed task becomes dead with reason "cancelled by 'ACTOR': WHY", so the
 * owner's later heartbeat or complete is refused naming that reason.
 * Requeue: a failed or dead task goes back to queued with its attempts,
 * owner, backoff and reason cleared. A task in another state is
 * ST_CONFLICT ("it is done, not queued or claimed"), nothing written.
 */
#define COORD_CANCEL_NOTE "cancelled by '"	/* then ACTOR', then : WHY */
enum op_verb { OP_CANCEL, OP_REQUEUE };
enum status coord_operator(struct bus *b, const struct coord_cfg *cfg, struct opctx *op,
			   enum op_verb v, const char *id, struct task *out, struct err *e);

/* What a listing keeps; NULL and 0 fields keep everything. */
struct coord_filter {
	const enum task_state *state;	/* only tasks in this state */
	const char *swarm;		/* only tasks held (or last held) by this swarm */
	const char *cap;		/* only tasks that require this capability */
	int64_t created_before;		/* only tasks created before (ms; --older-than) */
	int64_t created_after;		/* only tasks created after (ms; --newer-than) */
	const struct coord_cursor *after;	/* only tasks after this place (a page) */
	size_t limit;			/* at most this many tasks (0: all) */
	bool archived;			/* the archive too (cfg->archive) */
	int64_t finished_before;	/* only finished tasks last changed before (ms) */
};

/* Does t pass every filter of f (the place f->after included; NULL: all)? */
bool coord_filter_keeps(const struct coord_filter *f, const struct task *t);

/*
 * A listing: valid tasks, oldest first (created, then id), and the invalid
 * records, by key. more counts the tasks past the limit that passed the
 * filter; the last task listed is where the next page starts.
 */
struct coord_listing {
	struct task *tasks;
	size_t n;
	size_t more;
	struct coord_invalid *bad;	/* reported whatever the filter */
	size_t nbad;
};
void coord_listing_release(struct coord_listing *l);

/*
 * All tasks that pass f (NULL: all), and every invalid record. The bucket is
 * read once, through a KV watch's snapshot of last values (never a round
 * trip per task); ST_TIMEOUT when it does not arrive within 30 s beyond the
 * bus timeout.
 */
enum status coord_list(struct bus *b, const struct coord_cfg *cfg, const struct coord_filter *f,
		       struct coord_listing *out, struct err *e);

/*
 * Every valid task of the live bucket passed to fn (valid during the call
 * only), none kept: counts over the live set without holding it. The
 * invalid records go into bad (bad->n is 0), released by the caller.
 */
enum status coord_scan(struct bus *b, const struct coord_cfg *cfg,
		       void (*fn)(void *arg, const struct task *t), void *arg,
		       struct coord_listing *bad, struct err *e);

/*
 * Continue tokens (ifctl task list --continue): "1.<created>.<filter>.<id>",
 * the place after the last task of a page and a hash of the state, swarm
 * and capability filters it was made under. The place holds when tasks
 * come and go; a token used under other filters is refused (ST_USAGE), as
 * is one that does not parse. The caller frees the token and out->id.
 */
char *coord_token_make(const struct coord_filter *f, const struct task *last);
enum status coord_token_parse(const char *tok, const struct coord_filter *f,
			      struct coord_cursor *out, struct err *e);

/*
 * Only the invalid records, with their reasons (for checks such as a
 * doctor command), and in *records (may be NULL) how many records the
 * bucket holds, valid or not. Valid tasks are counted, not kept. *out is
 * the caller's: release each, then free it.
 */
enum status coord_scan_invalid(struct bus *b, const struct coord_cfg *cfg,
			       struct coord_invalid **out, size_t *n, size_t *records,
			       struct err *e);

/*
 * Parse a duration such as 90s, 30m, 12h, 7d (a whole number and one of
 * ms, s, m, h, d, w; "0" is zero) into *ms; false when it does not parse.
 */
bool coord_duration_parse(const char *s, int64_t *ms);

/*
 * Move the finished task t (t->rev its live revision) to the archive:
 * archive first, then the live record removed by CAS. ST_CONFLICT when the
 * task changed meanwhile (it stays live; an archive copy made is removed).
 */
enum status coord_archive_move(struct bus *b, const struct coord_cfg *cfg, const struct task *t,
			       struct err *e);

/*
 * Move the finished tasks t[0..n) (each t[i].rev its live revision as
 * read), MOVE_BATCH at a time, each step pipelined over a batch (archive
 * copies, then CAS removals, then the refused settled): per task the same
 * order and outcome as coord_archive_move. *moved counts the moved, *raced
 * those that changed since read or whose record the archive does not take
 * (they stay live). Stops after the first batch with a failure, returned.
 */
enum status coord_archive_move_many(struct bus *b, const struct coord_cfg *cfg,
				    const struct task *t, size_t n, size_t *moved,
				    size_t *raced, struct err *e);

/*
 * Move every task finished more than cfg->retain_ms before now to the
 * archive (*moved counts them; *raced those that changed meanwhile). Under
 * op->falsify nothing moves and *moved counts what would.
 */
enum status coord_archive_sweep(struct bus *b, const struct coord_cfg *cfg, struct opctx *op,
				int64_t now, size_t *moved, size_t *raced, struct err *e);

/*
 * Remove from the archive every task of state st (done, failed or dead)
 * last changed before before_ms; *n counts them. Each removal is by CAS on
 * the archive revision read. Under op->falsify nothing is removed.
 */
enum status coord_purge(struct bus *b, const struct coord_cfg *cfg, struct opctx *op,
			enum task_state st, int64_t before_ms, size_t *n, struct err *e);

/*
 * Upkeep of the ready queue, for a sweep (claims through an index never
 * take ids from it, so without upkeep it grows with every push): ids whose
 * task is no longer ready (claimed, finished, gone) are dropped, and a
 * task whose lease lapsed is announced again, so one-shot claims find it
 * without reading the live set. Ids of ready tasks, and every id published
 * after the live set was read, are kept in their order: they are held
 * while the sweep looks past them and handed back at its end (meanwhile a
 * one-shot claim takes the ids behind them, or reads the live set). Under
 * op->falsify nothing is dropped or announced; the counts say what would be.
 */
struct coord_tidy {
	size_t dropped;		/* ids of tasks no longer ready */
	size_t kept;		/* ids of ready tasks, handed back */
	size_t announced;	/* lapsed leases announced again */
};
enum status coord_queue_tidy(struct bus *b, const struct coord_cfg *cfg, struct opctx *op,
			     int64_t now, struct coord_tidy *out, struct err *e);

/*
 * coord_archive_sweep then coord_queue_tidy from one read of the live set
 * (the queue's end is read before it, as coord_queue_tidy does). A failure
 * of the upkeep is no failure of the sweep: it is in out->tidy_err (a
 * warning; the upkeep's counts are then zero), and the upkeep is skipped
 * when the sweep fails.
 */
struct coord_sweep {
	size_t moved, raced;
	struct coord_tidy tidy;
	struct err tidy_err;	/* code ST_OK: the upkeep ran, or had nothing to do */
};
enum status coord_archive_sweep_tidy(struct bus *b, const struct coord_cfg *cfg,
				     struct opctx *op, int64_t now, struct coord_sweep *out,
				     struct err *e);

/*
 * A one-shot claim: ids from the ready queue (cfg->queue), highest priority
 * first, each checked against its record and claimed by CAS; when the queue
 * has nothing this claimer may take, the claim of coord_claim over an index
 * of the live set. Same contract as coord_claim.
 */
enum status coord_claim_once(struct bus *b, const struct coord_cfg *cfg, struct opctx *op,
			     const struct claimer *c, struct task *out, struct err *e);

/* Tasks in the archive (one round trip); ST_NO_SCHEMA when there is none. */
enum status coord_archived(struct bus *b, const struct coord_cfg *cfg, uint64_t *n,
			   struct err *e);

#endif
