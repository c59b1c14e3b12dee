/*
 * The task index: a local mirror of the live task bucket (IF_TASKS) and of
 * the archive (IF_ARCHIVE) in $IF_HOME/index.db (tables task_*), so 'task
 * stats' counts with SQL and 'task list' finds a page in the order and
 * under the filters it lists, instead of reading every task.
 *
 * One row per subject of each bucket's stream (task_idx for the live set,
 * task_arch for the archive, one shape: id, revision, state or -1 for a
 * record that is not a valid task with why in note, owner swarm, priority,
 * capabilities, created, updated, takeovers and lease-expiry deaths of its
 * history), indexed by (state, created, id), (swarm, created, id) and
 * (created, id); one row per claim of a live history (task_claim, for the
 * claims of the last minute; task_arch only once taskdb_keep_archive was
 * asked for). A sync reads each stream from the sequence
 * after the last one applied (task_meta 'seq', 'aseq') up to its last
 * sequence at the start of the sync, in order, in one transaction: a put
 * replaces the key's row, a delete or purge marker too. Nothing on the
 * claim or push path writes the index; it is brought up to date by whoever
 * reads it.
 *
 * Subjects purged whole leave no message: an archive move purges the live
 * subject, a restore or a purge the archive's. The rows of each table are
 * counted (triggers) and compared with the stream's subjects; a surplus in
 * the live set is repaired from the moves the sync read in the archive
 * and the tasks the index holds in both (one direct get each, pipelined,
 * only when the surplus is not exactly their number): a sweep of 50,000
 * moves costs its 50,000 archive messages, not a rebuild. A surplus in the
 * archive that the tasks held in both do not explain (a purge) reads the
 * archive again.
 *
 * The index is a cache, the buckets the truth. A table is emptied and read
 * again from its stream's first sequence when the stream is behind it
 * (recreated) or when messages after the last one applied are gone (the
 * stream's first sequence is past it): what they said cannot be known any
 * more. A file of another schema version is dropped and built again.
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
/*
 * Did the file stay as it was while this read-only handle read it? A
 * writer's checkpoint meanwhile may have mixed old pages with new in what
 * was read (immutable opens take no lock): then do not use it. Always true
 * for a writer.
 */
bool taskdb_unchanged(const struct taskdb *d);
void taskdb_close(struct taskdb *d);

/* What a sync did. */
struct taskdb_sync {
	uint64_t from, to;	/* stream sequences read (from > to: nothing new) */
	uint64_t applied;	/* messages applied */
	bool rebuilt;		/* emptied and read from the stream's first sequence */
	bool repaired;		/* rows of archive moves dropped (see above) */
	uint64_t arch_applied;	/* archive messages applied */
	bool arch_rebuilt;	/* the archive's table read again from its first sequence */
	int64_t ms;		/* wall time */
};

/*
 * Keep the archive's table (task_arch) from the next sync on: that sync
 * reads the archive's stream whole (once), every later one its new
 * messages. Until then a sync reads only the archive's messages since the
 * last sync (the moves, for the repair) and keeps no rows of them: 'task
 * stats' does not pay for an archive it does not list.
 */
void taskdb_keep_archive(struct taskdb *d);

/*
 * Bring the index up to the bucket's and the archive's streams as they are
 * now. archive (may be NULL: none) is the bucket finished tasks move to.
 * On any failure the transaction is rolled back: the index as it was.
 */
enum status taskdb_sync(struct taskdb *d, struct bus *b, const char *bucket,
			const char *archive, struct taskdb_sync *out, struct err *e);
/*
 * Does the index hold the bucket's stream (and archive's, when not NULL:
 * its table kept) up to its last sequence (no sync; the read-only check)?
 */
enum status taskdb_fresh(struct taskdb *d, struct bus *b, const char *bucket,
			 const char *archive, bool *fresh, struct err *e);
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

/*
 * A place of a listing: a task's id, the stream sequence of its record as
 * of the last sync (in KV_<archive> when archived, else KV_<bucket>) and
 * its created time.
 */
struct taskdb_ref {
	char *id;
	uint64_t rev;
	int64_t created;
	bool archived;
};
void taskdb_refs_free(struct taskdb_ref *r, size_t n);

/*
 * The first n places under f (state, swarm, capability, age, the place
 * f->after; the archive too with f->archived; f->limit ignored) in listing
 * order (created, then id), as of the last sync. A task both live and
 * archived is placed once, live. The cost is the page's rows (plus the
 * rows the filters that do not lead pass over), not the set.
 */
enum status taskdb_page(struct taskdb *d, const struct coord_filter *f, size_t n,
			struct taskdb_ref **out, size_t *nout, struct err *e);
/*
 * How many tasks pass f (after f->after), counting at most cap (0: all):
 * an SQL count over the leading index, whose cost is the rows it counts.
 */
enum status taskdb_count(struct taskdb *d, const struct coord_filter *f, uint64_t cap,
			 uint64_t *n, struct err *e);
/* The invalid records (the archive's too with archived), by key, with why. */
enum status taskdb_invalid(struct taskdb *d, bool archived, struct coord_invalid **out,
			   size_t *n, struct err *e);

#endif
