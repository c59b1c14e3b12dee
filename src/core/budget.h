/*
 * Budgets: what a swarm (or a task) may spend, in the KV bucket IF_BUDGETS.
 *
 * Key "swarm.<id>" (or "task.<id>"), value one JSON record:
 *
 *	{"v":1,"swarm":"s1","task":null,"allocated_micros":12500000,
 *	 "reserved_micros":0,"spent_micros":0,"reservations":0,
 *	 "overrun_micros":0,"threshold_pct":0,"last_usage_seq":0,
 *	 "created":<ms>,"updated":<ms>}
 *
 * Every change reads the record and writes it back only if its revision is
 * still the one read (KV compare-and-swap), retrying on a conflict, so any
 * number of spenders in any number of processes share one budget exactly:
 *
 *  - reserve: before work, hold an amount; refused (ST_REFUSED, nothing
 *    written) when spent + reserved + amount would pass allocated. Since
 *    the check and the write are one CAS, concurrent spenders never hold
 *    more than the allocation between them: no overdraw by a race.
 *  - settle: after work, give the hold back and add what was really spent;
 *    spending past the allocation (work done without a covering hold) is
 *    kept, as a fact, and counted in overrun_micros.
 *  - release: give a hold back unspent.
 *  - allocate: set the allocation (creating the record).
 *
 * Thresholds 50, 75, 90 and 100 % of the allocation spent, and the
 * governor policy's budget_warning_threshold: the highest one
 * crossed is stored in the record (threshold_pct) by the same CAS that
 * crosses it, so exactly one writer sees each crossing and raises its event
 * (if.v1.evt.budget.<swarm>.threshold) once, however many spenders race.
 * Crossing 100 % calls budget_on_exhausted(): the event
 * if.v1.evt.budget.<swarm>.exhausted, a witness entry, and the governor's
 * circuit breaker for the swarm (governor_breaker_trip; a task budget's
 * exhaustion trips nothing, and an unregistered swarm has no breaker).
 *
 * Records another client wrote are read with a strict typed reader: a
 * record that does not parse is ST_INVALID_RECORD and is never rewritten.
 *
 * Threads: every function may be called from any thread.
 */
#ifndef IF_BUDGET_H
#define IF_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

#include "core/bus.h"
#include "core/opctx.h"
#include "core/rows.h"

#define BUDGET_BUCKET "IF_BUDGETS"
#define BUDGET_RETRIES 10000	/* CAS attempts before ST_CONFLICT */

enum budget_kind { BUDGET_SWARM, BUDGET_TASK };

struct budget {
	enum budget_kind kind;
	char *id;		/* the swarm or task id the key names */
	char *swarm;		/* the swarm (for a task budget: its swarm, or NULL) */
	char *task;		/* a task budget's task, else NULL */
	int64_t allocated, reserved, spent, overrun;	/* micro-USD */
	int64_t reservations;	/* holds not settled or released */
	int threshold_pct;	/* highest threshold crossed: 0, 50, 75, 90, 100 */
	uint64_t last_usage_seq;	/* highest IF_COST usage sequence settled here */
	int64_t created, updated;	/* ms */
	uint64_t rev;		/* KV revision read */
};

void budget_release(struct budget *b);

/* The KV key of a budget ("swarm.ID"); the caller frees. */
char *budget_key(enum budget_kind kind, const char *id);

/* Parse a stored record (key gives kind and id). ST_INVALID_RECORD says why. */
enum status budget_parse(const char *key, const char *json, size_t len, struct budget *out,
			 struct err *e);
/* The record as canonical JSON. */
void budget_json(const struct budget *b, struct buf *out);

/* Read one budget; ST_NOT_FOUND when there is none. */
enum status budget_get(struct bus *bus, enum budget_kind kind, const char *id,
		       struct budget *out, struct err *e);

/* Every budget record (invalid ones counted in *bad); release each, free the array. */
enum status budget_list(struct bus *bus, struct budget **out, size_t *n, size_t *bad,
			struct err *e);

/*
 * The highest threshold spent crosses of allocated: 50, 75, 90, 100 and
 * warn_pct, the governor policy's budget_warning_threshold in percent
 * (governor_budget_warning_pct; 0: none). One mechanism for both: crossing
 * warn_pct raises the threshold event like the others, and also
 * if.v1.evt.governor.budget-warning.<swarm>, once per crossing.
 */
int budget_threshold(int64_t spent, int64_t allocated, int warn_pct);

/*
 * Set the allocation (creating the budget; swarm is the swarm of a task
 * budget, or NULL). Under op->falsify nothing is written.
 */
enum status budget_allocate(struct bus *bus, struct opctx *op, enum budget_kind kind,
			    const char *id, const char *swarm, int64_t amount,
			    struct budget *out, struct err *e);

/*
 * Give swarm_id `left` to spend from now: allocated becomes spent +
 * reserved + left, by the same compare-and-swap change as
 * budget_allocate (the governor's reset --budget and spawn's budget).
 * only_if_missing: an existing budget stays as it is (*created false).
 */
enum status budget_allocate_left(struct bus *bus, struct opctx *op, const char *swarm_id,
				 int64_t left, bool only_if_missing, bool *created,
				 struct budget *out, struct err *e);

/*
 * The checks of a change of allocation (--mode=falsify on 'cost allocate'):
 * the new allocation covers what is spent and reserved, and the tasks the
 * swarm holds now (claimed in IF_TASKS, oldest first) can each still be
 * funded from what would be left, in turn: a task needs what its own budget
 * (task.<id>) has left, else its "budget" member, else nothing. Each task
 * is one check, so the list names every running task that would be
 * refused. Nothing is written.
 */
enum status budget_check_allocation(struct bus *bus, struct opctx *op, enum budget_kind kind,
				    const char *id, int64_t amount, struct err *e);

/* Hold amount before work; ST_REFUSED when it does not fit. */
enum status budget_reserve(struct bus *bus, struct opctx *op, enum budget_kind kind,
			   const char *id, int64_t amount, struct budget *out, struct err *e);

/*
 * After work: give back held (0: none was held) and add spent. A nonzero
 * usage_seq at or below the record's last_usage_seq was settled before:
 * ST_OK, nothing written, *dup (may be NULL) set.
 */
enum status budget_settle(struct bus *bus, struct opctx *op, enum budget_kind kind,
			  const char *id, int64_t held, int64_t spent, uint64_t usage_seq,
			  struct budget *out, bool *dup, struct err *e);

/* Give back a hold unspent. */
enum status budget_unreserve(struct bus *bus, struct opctx *op, enum budget_kind kind,
			     const char *id, int64_t held, struct budget *out, struct err *e);

/*
 * The budget b has been exhausted: publish if.v1.evt.budget.<swarm>.exhausted,
 * witness budget.exhausted and trip the swarm's circuit breaker. The one
 * place exhaustion acts.
 */
void budget_on_exhausted(struct bus *bus, struct opctx *op, const struct budget *b);

/* Columns of the budget view. */
enum budget_col {
	BC_KEY, BC_SWARM, BC_TASK, BC_ALLOCATED, BC_RESERVED, BC_SPENT, BC_REMAINING,
	BC_USED_PCT, BC_THRESHOLD, BC_BURN, BC_EXHAUSTED_IN, BC_RESERVATIONS, BC_OVERRUN,
	BC_ALLOCATED_MICROS, BC_RESERVED_MICROS, BC_SPENT_MICROS, BC_REMAINING_MICROS,
	BC_UPDATED, BC__COUNT
};
/* An empty view ("budgets"). */
struct rowset *budget_view(void);
/*
 * Add b; burn is micro-USD per hour spent over the last hour (from the cost
 * index; negative: unknown) and gives the projected time to exhaustion.
 */
void budget_view_add(struct rowset *rs, const struct budget *b, int64_t burn_per_hour);

#endif
