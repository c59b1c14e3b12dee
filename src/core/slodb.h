/*
 * The SLO rollups: a local SQLite file, $IF_HOME/slo.db (WAL, 0600), a
 * cache of stream IF_SLO that can always be rebuilt from it (within the
 * stream's 35 days).
 *
 * Tables: roll (res, t, swarm) -> n outcomes, ok, up slots, latency sketch
 * (sketch.h stored form, microseconds), at three resolutions: res = 60000
 * (minute rows, kept 2 days), 3600000 (hours, kept 100 days), 86400000
 * (days, kept 400 days); a minute row also keeps a bitmap of the heartbeat
 * slots that start in it (bit s: the slot starting s seconds in), so a slot
 * is counted up once in every row whatever order its samples arrive in
 * (samples more than a day late are refused by the sync, and minute rows
 * outlive that). swarm -> first and last sample time, the heartbeat
 * interval in force and the highest slot seen; meta -> last stream
 * sequence copied, samples refused.
 *
 * Ingest is incremental: slodb_add() takes a sample into memory;
 * slodb_flush() adds what was taken to the rows in one transaction (an
 * upsert per touched row; sketches merged in their stored form) together
 * with the stream sequence reached, so a crash loses nothing and counts
 * nothing twice.
 *
 * Threads: one thread at a time per struct slodb.
 */
#ifndef IF_SLODB_H
#define IF_SLODB_H

#include <stdint.h>

#include "core/config.h"
#include "core/slo.h"
#include "core/status.h"

#define SLODB_MINUTE 60000LL
#define SLODB_HOUR 3600000LL
#define SLODB_DAY 86400000LL
#define SLODB_FLUSH_EVERY 20000		/* samples taken before a flush */

/*
 * Open $IF_HOME/slo.db (path NULL), or the file path, or ":memory:" (what
 * --read-only uses: nothing is kept). A damaged file is ST_INDEX_CORRUPT.
 */
enum status slodb_open(const struct config *c, const char *path, struct slodb **out,
		       struct err *e);
void slodb_close(struct slodb *d);
const char *slodb_path(const struct slodb *d);

/* The last stream sequence the rollups hold (0: none). */
uint64_t slodb_last_seq(const struct slodb *d);
/* Empty every table (a rebuild; the stream was replaced). */
enum status slodb_clear(struct slodb *d, struct err *e);

/*
 * The time samples are taken at: a sample older than minute rows are kept
 * makes no minute row (the prune would drop it) - so its heartbeat slot is
 * not checked against one either: only bulk loads of old samples take
 * that path, since the sync refuses samples more than a day late.
 */
void slodb_set_now(struct slodb *d, int64_t now_ms);
/* Take a sample, with the swarm's heartbeat interval (ms). */
void slodb_add(struct slodb *d, const struct slo_sample *s, int64_t interval_ms);
/* Samples taken and not yet flushed. */
size_t slodb_pending(const struct slodb *d);
/*
 * Add what was taken to the rows; record seq (when > 0) as the last stream
 * sequence held and rejected more samples refused; drop rows past their
 * retention relative to now_ms (0: keep). ST_CONFLICT (nothing written,
 * what was taken dropped, slodb_last_seq() the file's) when another process
 * flushed meanwhile: copy again from there.
 */
enum status slodb_flush(struct slodb *d, uint64_t seq, uint64_t rejected, int64_t now_ms,
			struct err *e);
/* Samples refused so far (malformed or mismatched), as counted by flushes. */
uint64_t slodb_rejected(const struct slodb *d);

/* A swarm as the rollups know it. */
struct slodb_swarm {
	const char *swarm;
	int64_t first_ms, last_ms;	/* first and last sample time */
	int64_t interval_ms;		/* heartbeat slot length in force */
	int64_t max_slot;		/* highest slot seen (slot = ms / interval) */
	uint64_t samples;
};
/* Call fn for every swarm (of swarm only, when not NULL). */
enum status slodb_swarms(struct slodb *d, const char *swarm,
			 void (*fn)(void *arg, const struct slodb_swarm *s), void *arg,
			 struct err *e);

/* A rollup row, valid during the call. */
struct slodb_row {
	const char *swarm;
	int64_t res, t;
	uint64_t n, ok, up;
	const void *sketch;
	size_t sketch_len;
};
/*
 * Call fn with the rows of resolution res with t in [from, to) (of swarm
 * only, when not NULL).
 */
enum status slodb_rows(struct slodb *d, int64_t res, int64_t from, int64_t to,
		       const char *swarm, void (*fn)(void *arg, const struct slodb_row *r),
		       void *arg, struct err *e);

/*
 * The rows that make up a window [start, ...]: minutes up to the next hour,
 * hours up to the next day, then days (the newest rows being partial).
 */
enum status slodb_window(struct slodb *d, int64_t start, const char *swarm,
			 void (*fn)(void *arg, const struct slodb_row *r), void *arg,
			 struct err *e);

#endif
