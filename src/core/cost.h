/*
 * Metering: usage records, priced in integer micro-USD, on the cost stream.
 *
 * A usage record is one operation a swarm did against a model:
 *
 *	{"v":1,"id":"u-1","swarm":"s1","task":"t-9","trace":null,
 *	 "provider":"openai","model":"gpt-4o","operation":"chat",
 *	 "tokens_in":1200,"tokens_out":300,"tokens_cached":800,
 *	 "latency_ms":950,"duration_ms":0,"at":1795000000000}
 *
 * tokens_in counts input tokens read at the full price, tokens_cached the
 * input tokens served from the provider's cache (at the cached price);
 * duration_ms is run time billed at the model's hourly rate. A model the
 * price table does not know is refused unless the record carries its own
 * "price": {"input":"2.50","output":"10.00","cached":"1.25","hourly":"0"}.
 *
 * Two subjects of stream IF_COST (ifctl-protocol(7)):
 *
 *  - if.v1.cost.usage.<swarm>: usage as a swarm reports it, in any
 *    language, unpriced. The settler (cost_settle_message, run by
 *    'ifctl optimise settle [--follow]') reads them in stream order,
 *    validates, prices and settles each against the swarm's budget (and the
 *    task's), and publishes the priced record. What does not parse, names
 *    an unknown swarm or an unpriced model is refused with the event
 *    if.v1.evt.cost.refused and nothing is charged.
 *  - if.v1.cost.settled.<swarm>: priced records, with "cost_micros" and,
 *    when it came from a usage message, "usage_seq". 'ifctl optimise
 *    record' (cost_record) writes here directly. Reports read only these.
 *
 * Each settled record is witnessed (component cost, event cost.usage) with
 * its cost and tokens in the entry's cost fields, inside the hash.
 */
#ifndef IF_COST_H
#define IF_COST_H

#include <stdbool.h>
#include <stdint.h>

#include "core/bus.h"
#include "core/opctx.h"
#include "core/price.h"

#define COST_STREAM "IF_COST"
#define COST_USAGE_PREFIX "if.v1.cost.usage."
#define COST_SETTLED_PREFIX "if.v1.cost.settled."
#define COST_TOKENS_MAX 1000000000000LL		/* per record: 10^12 */
#define COST_MS_MAX (366LL * 86400000)		/* latency or run time per record: a year */
#define COST_RECORD_MAX 8192			/* bytes of one record */

struct usage {
	int v;			/* record version: 1 */
	char *id;		/* unique per record (de-duplication) */
	char *swarm, *task, *trace;
	char *provider, *model, *operation;
	int64_t tokens_in, tokens_out, tokens_cached;
	int64_t latency_ms, duration_ms;
	int64_t at;		/* ms since the epoch */
	bool has_price;		/* the record's own prices (a model not in the table) */
	struct price price;
	int64_t cost_micros;	/* -1: not priced yet */
	uint64_t usage_seq;	/* the usage message settled (0: recorded directly) */
	uint64_t seq;		/* the stream sequence it was read at */
};

void usage_init(struct usage *u);
void usage_release(struct usage *u);

/*
 * Parse and validate a record (typed, strict: unknown members refused;
 * priced says whether cost_micros must be there). ST_BAD_JSON or
 * ST_BAD_VALUE name the member; u is empty on failure.
 */
enum status usage_parse(const char *json, size_t len, bool priced, struct usage *u,
			struct err *e);

/* Check a record built in code (ids, ranges, amounts) as usage_parse does. */
enum status usage_check(const struct usage *u, struct err *e);

/* Price u at the table's prices (or its own): sets cost_micros. */
enum status usage_price(struct usage *u, const struct price_table *t, struct err *e);

/* The record as canonical JSON (cost_micros when priced). */
void usage_json(const struct usage *u, struct buf *out);

/*
 * Is swarm known to the fleet: a profile in IF_SWARMS or a budget
 * swarm.<id> in IF_BUDGETS? ST_NOT_FOUND (naming it) when not.
 */
enum status cost_swarm_known(struct bus *b, const char *swarm, struct err *e);

/*
 * Record usage an ifctl process measured: check, price, settle against the
 * swarm's budget (and the task's, when there is one; held is what was
 * reserved for it, 0: nothing), publish on if.v1.cost.settled.<swarm>
 * (de-duplicated by id) and witness it. Nothing is written when a check
 * fails (under op->falsify, never).
 */
enum status cost_record(struct bus *b, struct opctx *op, const struct price_table *t,
			struct usage *u, int64_t held, struct err *e);

/*
 * Settle one message of IF_COST (the settler): a usage message at seq is
 * parsed, priced, settled against the budgets (at most once per budget:
 * last_usage_seq) and published priced, its msg id "usage-<seq>", so a
 * settler that restarts anywhere repeats nothing. Other subjects are
 * skipped. A message that is refused is answered with the event
 * if.v1.evt.cost.refused and a witness entry, and *refused is set; ST_OK
 * in both cases. Failures of the bus are returned. Under op->falsify each
 * usage message is one check (does it parse and price) and nothing is
 * written.
 */
enum status cost_settle_message(struct bus *b, struct opctx *op, const struct price_table *t,
				const char *subject, uint64_t seq, const char *data, size_t len,
				bool *refused, struct err *e);

/* Columns of the usage view: one record each. */
enum usage_col {
	UC_ID, UC_SWARM, UC_TASK, UC_PROVIDER, UC_MODEL, UC_OPERATION, UC_TOKENS_IN,
	UC_TOKENS_OUT, UC_TOKENS_CACHED, UC_LATENCY, UC_DURATION, UC_COST, UC_COST_MICROS, UC_AT,
	UC_TRACE, UC_USAGE_SEQ, UC__COUNT
};
/* An empty usage view ("usage"). */
struct rowset *usage_view(void);
void usage_view_add(struct rowset *rs, const struct usage *u);

/* What a settler run did, as one record ("settle"). */
struct rowset *cost_settle_view(uint64_t settled, uint64_t refused, uint64_t skipped,
				uint64_t position);
/* What a sync of the cost index did, as one record ("sync"). */
struct rowset *cost_sync_view(uint64_t added, uint64_t skipped, uint64_t last_seq);

#endif
