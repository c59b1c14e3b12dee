/*
 * The task index: a local mirror of the live task bucket (IF_TASKS) in
 * $IF_HOME/index.db (tables task_*), so 'task stats' counts with SQL instead
 * of reading every task.
 *
 * One row per key of the bucket (task_idx: id, revision, state or -1 for a
 * record that is not a valid task, owner swarm, priority, capabilities,
 * created, updated, takeovers and lease-expiry deaths of its history) and
 * one row per claim in a history (task_claim, for the claims of the last
 * minute). A sync reads the bucket's stream KV_<bucket> from the stream
 * sequence after the last one applied (task_meta 'seq') up to the stream's
 * last sequence at the start of the sync, in order, in one transaction: a
 * put replaces the key's row, a delete or purge removes it. Nothing on the
 * claim or push path writes the index; it is brought up to date by whoever
 * reads it.
 *
 * The index is a cache, the bucket the truth. It is emptied and read again
 * from the stream's first sequence when the stream is behind it (recreated)
 * or when messages after the last one applied are gone (the stream's first
 * sequence is past it): what they said cannot be known any more.
 *
 * Threads: one thread uses a struct taskdb at a time (a sync's watch
 * callback writes while the caller waits).
 */
#ifndef IF_TASKDB_H
#define IF_TASKDB_H

#include <stdbool.h>
#include <stdint.h>

#include "core/bus.h"
#include "core/config.h"
#include "core/taskview.h"

struct taskdb;

/*
 * $IF_HOME/index.db. With write false (read-only) the file is opened read
 * only and ST_NOT_FOUND returned when there is none.
 */
enum status taskdb_open(const struct config *c, bool write, struct taskdb **out,
			struct err *e);
/* A file of one's own (tests, benchmarks). */
enum status taskdb_open_path(const char *path, bool write, struct taskdb **out,
			     struct err *e);
void taskdb_close(struct taskdb *d);

/* What a sync did. */
struct taskdb_sync {
	uint64_t from, to;	/* stream sequences read (from > to: nothing new) */
	uint64_t applied;	/* messages applied */
	bool rebuilt;		/* emptied and read from the stream's first sequence */
	bool repaired;		/* rows of archive moves dropped (see taskdb_sync) */
	int64_t ms;		/* wall time */
};

/*
 * Bring the index up to the bucket's stream as it is now. archive (may be
 * NULL) is the bucket finished tasks move to: its stream's puts since the
 * last sync name the subjects an archive move may have purged whole.
 */
enum status taskdb_sync(struct taskdb *d, struct bus *b, const char *bucket,
			const char *archive, struct taskdb_sync *out, struct err *e);
/* Does the index hold the bucket's stream up to its last sequence (no sync)? */
enum status taskdb_fresh(struct taskdb *d, struct bus *b, const char *bucket, bool *fresh,
			 struct err *e);
/* The last stream sequence applied (0: none). */
uint64_t taskdb_seq(struct taskdb *d);

/*
 * The revisions (ascending) of the tasks in state, as of the last sync: a
 * watch narrowed to that state starts at the first and keeps only these
 * until the sequence synced.
 */
enum status taskdb_state_revs(struct taskdb *d, enum task_state state, uint64_t **revs,
			      size_t *n, struct err *e);

/*
 * A stream sequence written before at_ms (server time), from the marks a
 * sync keeps every 256 sequences: every message written at or after at_ms
 * comes after it. 0 when none is known to be older.
 */
uint64_t taskdb_seq_before(struct taskdb *d, int64_t at_ms);

/* The counts of the live set (out->now_ms set; archived left alone). */
enum status taskdb_stats(struct taskdb *d, struct task_stats *out, struct err *e);

#endif
