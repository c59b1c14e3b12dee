/*
 * The cost index: settled usage records of IF_COST copied into the local
 * index ($IF_HOME/index.db, tables cost_*), so reports never read the
 * stream again.
 *
 * A sync copies the messages after the last stream sequence the index
 * holds (cost_meta 'seq'), in stream order; each settled record goes into
 * cost_usage (one row per record, by sequence) and is added to the rollups
 * cost_roll by hour and by UTC day (swarm, provider, model, operation) in
 * the same transaction. A report over a period sums whole days from the
 * day rollup, whole hours around them from the hour rollup and the partial
 * hours at either end from cost_usage, so it costs the number of days,
 * hours and groups, not the number of records (by task reads
 * cost_usage, through its time index). The index is a cache: when the
 * stream is older than it (recreated, purged), it is emptied and copied
 * again; 'ifctl cost sync --rebuild' does it on demand.
 *
 * Threads: one thread uses a struct costdb at a time.
 */
#ifndef IF_COSTDB_H
#define IF_COSTDB_H

#include <stdbool.h>
#include <stdint.h>

#include "core/bus.h"
#include "core/config.h"
#include "core/cost.h"
#include "core/rows.h"

struct costdb;

/* $IF_HOME/index.db; under read-only an empty index in memory (a sync fills it). */
enum status costdb_open(const struct config *c, struct costdb **out, struct err *e);
/* A file of one's own (tests, benchmarks); ":memory:" for none. */
enum status costdb_open_path(const char *path, struct costdb **out, struct err *e);
void costdb_close(struct costdb *db);

/* Group many adds in one transaction. */
enum status costdb_begin(struct costdb *db, struct err *e);
enum status costdb_commit(struct costdb *db, struct err *e);
/* Add a settled record read at stream sequence seq (again: nothing). */
enum status costdb_add(struct costdb *db, const struct usage *u, uint64_t seq, struct err *e);
/* Empty the index. */
enum status costdb_clear(struct costdb *db, struct err *e);
/* The last stream sequence held (0: none). */
enum status costdb_last(struct costdb *db, uint64_t *seq, struct err *e);

/* A named position kept in the index (the settler's: "settle_seq"); 0 when none. */
enum status costdb_get_pos(struct costdb *db, const char *name, uint64_t *seq, struct err *e);
enum status costdb_set_pos(struct costdb *db, const char *name, uint64_t seq, struct err *e);

/*
 * Copy what IF_COST holds after the index's last sequence. *added counts
 * the settled records added, *skipped the messages that were not (usage
 * reports, records that do not parse).
 */
enum status costdb_sync(struct bus *b, struct costdb *db, uint64_t *added, uint64_t *skipped,
			struct err *e);

/* A period [since, until) in ms since the epoch. */
struct cost_period {
	int64_t since, until;
};
/*
 * Parse a period relative to now: "1h", "24h", "7d", "30d" (any whole
 * number of m, h, d or w), or a RANGE "FROM..TO" of RFC 3339 times or
 * milliseconds (TO may be left out: now). ST_USAGE naming the text.
 */
enum status cost_period_parse(const char *s, int64_t now, struct cost_period *out,
			      struct err *e);

enum cost_dim { DIM_SWARM, DIM_MODEL, DIM_PROVIDER, DIM_TASK, DIM_OPERATION, DIM__COUNT };
/* Parse swarm|model|provider|task|operation. */
bool cost_dim_parse(const char *s, enum cost_dim *out);
const char *cost_dim_name(enum cost_dim d);

/* Columns of the report view. */
enum report_col {
	RP_BY, RP_KEY, RP_RECORDS, RP_TOKENS_IN, RP_TOKENS_OUT, RP_TOKENS_CACHED, RP_COST,
	RP_SHARE, RP_COST_MICROS, RP__COUNT
};
/*
 * Spend over period p grouped by dim (swarm: only that swarm when not
 * NULL), most expensive first, as a view ("report"). *total (may be NULL)
 * gets the sum.
 */
enum status costdb_report(struct costdb *db, const struct cost_period *p, enum cost_dim dim,
			  const char *swarm, struct rowset **out, int64_t *total, struct err *e);

/* Columns of the history view. */
enum history_col {
	HI_START, HI_RECORDS, HI_TOKENS_IN, HI_TOKENS_OUT, HI_TOKENS_CACHED, HI_COST,
	HI_COST_MICROS, HI__COUNT
};
/* Spend per interval (3600000: hour, 86400000: day) over p, oldest first ("history"). */
enum status costdb_history(struct costdb *db, const struct cost_period *p, int64_t interval_ms,
			   const char *swarm, struct rowset **out, struct err *e);

/* Sums of a group over a period (for the optimiser and burn rates). */
struct cost_sum {
	char *key;		/* swarm, or provider/model */
	int64_t records, tokens_in, tokens_out, tokens_cached, duration_ms, latency_ms;
	int64_t cost_micros;
};
void cost_sums_free(struct cost_sum *v, size_t n);
/* One sum per swarm (DIM_SWARM) or model (DIM_MODEL) over p; the caller frees. */
enum status costdb_sums(struct costdb *db, const struct cost_period *p, enum cost_dim dim,
			struct cost_sum **out, size_t *n, struct err *e);

#endif
