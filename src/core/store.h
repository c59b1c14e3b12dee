/*
 * The SQLite wrapper: the local index at $IF_HOME/index.db (WAL mode), a
 * cache of what the streams hold that answers the queries JetStream cannot
 * (witness entries by trace, component or time). The rest of the code does
 * not call SQLite.
 */
#ifndef IF_STORE_H
#define IF_STORE_H

#include <stdint.h>

#include "core/status.h"
#include "core/witness.h"

struct store;

/*
 * Open (creating when missing) and check it; a damaged file, or a path
 * that is not a regular file, is ST_INDEX_CORRUPT.
 */
enum status store_open(const char *path, struct store **out, struct err *e);
void store_close(struct store *s);
/* The file's path, for messages; owned by s. */
const char *store_path(const struct store *s);

/* Witness entries. */
/* The highest seq held, 0 if none; an SQLite failure is an error, not 0. */
enum status store_witness_last(struct store *s, uint64_t *last, struct err *e);
enum status store_witness_put(struct store *s, const struct wentry *e, struct err *err);
enum status store_witness_clear(struct store *s, struct err *e);
/* The hash (hex) of entry seq; ST_NOT_FOUND when the index does not hold it. */
enum status store_witness_hash(struct store *s, uint64_t seq, char hash[WITNESS_HEX],
			       struct err *e);
/* Nodes of the Merkle tree over the entries: the roots of complete subtrees. */
enum status store_node_put(struct store *s, unsigned level, uint64_t idx, const merkle_hash h,
			   struct err *e);
enum status store_node_get(struct store *s, unsigned level, uint64_t idx, merkle_hash h,
			   struct err *e);
enum status store_begin(struct store *s, struct err *e);
enum status store_commit(struct store *s, struct err *e);

struct witness_filter {
	const char *component, *event, *actor, *swarm, *task, *trace, *text;
	int64_t since, until;		/* ms since the epoch; 0: open */
	int64_t limit, offset;
};

/*
 * Call fn with each matching entry, in seq order. The entry is the
 * index's copy (v is 0: the index does not keep it) and lives only for the
 * call.
 */
typedef void (*store_entry_fn)(void *arg, const struct wentry *e);
enum status store_witness_query(struct store *s, const struct witness_filter *f,
				store_entry_fn fn, void *arg, struct err *e);

/* Distinct trace ids nearest to id (for "unknown trace" messages). */
enum status store_witness_near_traces(struct store *s, const char *id, char *out,
				      size_t outlen, struct err *e);

#endif
