/*
 * A local mirror of KV buckets in one SQLite file ($IF_HOME/kvmirror.db,
 * WAL), so a one-shot command reads the records it needs from disk instead
 * of a watch snapshot of the whole bucket.
 *
 * Tables: kvm_entry (bucket, key, revision, operation, raw value, and the
 * bucket's verdict on the value: one row per subject of the bucket's
 * stream, delete and purge markers included), kvm_tag (bucket, tag, entry:
 * the names a record is found by) and kvm_meta (per bucket: the stream
 * sequence applied, the stream's creation time, rows, live keys and the
 * version of the bucket's tags and check functions). Values are stored as
 * the stream holds them, bytes for bytes. The mirror itself never parses
 * or trusts one: a bucket's check function (its reader's own parser and
 * schema check) runs once per revision when the sync applies it, and its
 * verdict (valid, or invalid and why) is kept with the revision, so a
 * reader parses a valid record without checking it again and reports an
 * invalid one with the reason it was given. A change of either function is
 * a change of version, and the bucket's rows are made again.
 *
 * Sync (kvmirror_sync). One stream-info request of KV_<bucket>; when the
 * mirror holds the stream up to its last sequence nothing else is read and
 * nothing written. Otherwise, in one transaction (BEGIN IMMEDIATE: a second
 * process syncing the same file waits for the first, then finds little or
 * nothing left to do), the messages after the mirror's sequence up to the
 * stream's last sequence at the start of the sync are read in order
 * through a watch by sequence: a put replaces the key's row and tags, a
 * delete or purge leaves a marker row. The mirror is emptied and read again
 * from the stream's first sequence when the stream is not the one it
 * mirrored (another creation time: the bucket was deleted and made again),
 * is behind it, has lost messages after it (its first sequence is past
 * it), when the tags function changed, or when its rows and the stream's
 * subjects do not count the same after the catch-up. A read is never served
 * from a stale mirror: every reader syncs first, or (read-only) uses the
 * mirror only when kvmirror_fresh() says it holds the last sequence.
 *
 * The cost of a sync is one request plus the messages written since the
 * last one: a fleet whose swarms heartbeat (each heartbeat rewrites the
 * swarm's record) costs one message per heartbeat since the last command.
 *
 * What the mirror cannot see: a message removed by hand from the middle of
 * the stream (nats stream rmm) that leaves an older revision of its key
 * current, with no change in the subject count. Delete the file (or let a
 * recreated bucket rebuild it); it is a cache and is always rebuilt.
 *
 * Threads: one thread uses a struct kvmirror at a time (a sync's watch
 * callback writes while the caller waits). Processes: any number may open
 * and sync the same file at once (SQLite locking, a busy timeout).
 */
#ifndef IF_KVMIRROR_H
#define IF_KVMIRROR_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/bus.h"
#include "core/config.h"

struct kvmirror;

/*
 * A bucket the mirror keeps. tags (may be NULL) appends the names a record
 * is found by to out, each followed by a NUL byte. check (may be NULL)
 * says whether a record is valid, and if not why (into why, one line).
 * Both see hostile bytes (value is NUL-terminated, len bytes before it).
 * version names what both compute (their version, the schemas they use):
 * rows made under another version are made again.
 */
struct kvmirror_bucket {
	const char *bucket;
	const char *(*version)(void);	/* NULL: "" */
	void (*tags)(const char *key, const char *value, size_t len, struct buf *out);
	bool (*check)(const char *key, const char *value, size_t len, struct buf *why);
};

/* A record as a read gives it. */
enum kvmirror_verdict { KVM_UNCHECKED, KVM_VALID, KVM_INVALID };
struct kvmirror_rec {
	const char *key;
	const char *value;	/* NUL-terminated, len bytes before it */
	size_t len;
	uint64_t rev;
	enum kvmirror_verdict verdict;	/* the bucket's check, when it has one */
	const char *why;	/* KVM_INVALID: what check said */
};
/* Called once per record; rec and what it points to are valid during the call only. */
typedef void (*kvmirror_fn)(void *arg, const struct kvmirror_rec *rec);

/*
 * $IF_HOME/kvmirror.db (created 0600, with $IF_HOME, when write). With
 * write false the file is opened immutable and read only (SQLite then
 * takes no lock and makes no -wal or -shm; it sees the last checkpointed
 * state), and ST_NOT_FOUND returned when there is none. A file that is not
 * a mirror is ST_INDEX_CORRUPT.
 */
enum status kvmirror_open(const struct config *c, bool write, struct kvmirror **out,
			  struct err *e);
/* A file of one's own (tests, benchmarks). */
enum status kvmirror_open_path(const char *path, bool write, struct kvmirror **out,
			       struct err *e);
/*
 * Did the file stay as it was while this read-only handle read it? A
 * writer's checkpoint meanwhile may have mixed old pages with new in what
 * was read (immutable opens take no lock): then read the buckets instead.
 * Always true for a writer.
 */
bool kvmirror_unchanged(const struct kvmirror *m);
void kvmirror_close(struct kvmirror *m);	/* NULL: no-op */
const char *kvmirror_path(const struct kvmirror *m);

/* What a sync did. */
struct kvmirror_sync {
	uint64_t from, to;	/* stream sequences read (from > to: nothing new) */
	uint64_t applied;	/* messages applied */
	uint64_t rows;		/* subjects mirrored after it */
	bool rebuilt;		/* emptied and read from the stream's first sequence */
	const char *why;	/* why it was rebuilt (static text), or NULL */
	int64_t ms;		/* wall time */
};

/*
 * Bring the mirror of d->bucket up to the bucket's stream as it is now.
 * ST_NO_SCHEMA when the bucket does not exist; bus failures as the bus
 * gives them; ST_INDEX_CORRUPT or ST_IO for the file. On any failure the
 * file is left as it was.
 */
enum status kvmirror_sync(struct kvmirror *m, struct bus *b, const struct kvmirror_bucket *d,
			  struct kvmirror_sync *out, struct err *e);
/* Does the mirror hold d->bucket's stream up to its last sequence (no sync, no write)? */
enum status kvmirror_fresh(struct kvmirror *m, struct bus *b, const struct kvmirror_bucket *d,
			   bool *fresh, struct err *e);
/* The last stream sequence of bucket applied (0: none). */
uint64_t kvmirror_seq(struct kvmirror *m, const char *bucket);
/* Live keys of bucket (puts, not markers), as of the last sync. */
uint64_t kvmirror_live(struct kvmirror *m, const char *bucket);

/*
 * Reads, as of the last sync, of live keys only, in the order of their
 * revisions (the order a watch snapshot of the bucket delivers them in).
 */
/* Every key that starts with prefix ("" for all). */
enum status kvmirror_each(struct kvmirror *m, const char *bucket, const char *prefix,
			  kvmirror_fn fn, void *arg, struct err *e);
/*
 * Every key that has one of the n tags (at most KVMIRROR_TAGS_MAX) or
 * starts with prefix (NULL: none), once each; *got counts them (may be NULL).
 */
#define KVMIRROR_TAGS_MAX 256
enum status kvmirror_each_tagged(struct kvmirror *m, const char *bucket, const char *prefix,
				 char *const *tags, size_t n, kvmirror_fn fn, void *arg,
				 size_t *got, struct err *e);
/* One key: *found false (ST_OK) when it is not live. */
enum status kvmirror_get(struct kvmirror *m, const char *bucket, const char *key,
			 struct bus_kv_entry *out, bool *found, struct err *e);

/*
 * A command's use of the mirror for the n buckets of defs: opened (read
 * only under the configuration's read_only) and synced, each bucket in
 * turn. *out NULL (and ST_OK) when the mirror cannot serve, so the caller
 * reads the buckets instead: read-only and missing or stale (said in why),
 * or the file damaged or unwritable (said in *warning, for the operator).
 * A failure of the bus is returned: the buckets cannot be read either.
 * why (may be NULL) gets one line per bucket for --why, each "BUCKET: what
 * was done" ("mirror: ..." for the file as a whole).
 */
enum status kvmirror_attach(const struct config *c, struct bus *b,
			    const struct kvmirror_bucket *const *defs, size_t n,
			    struct kvmirror **out, struct buf *why, struct err *warning,
			    struct err *e);

#endif
