/*
 * The witness index: entries of IF_WITNESS copied into the local store, so
 * that they can be found by trace, component, task or time. It follows the
 * stream (each sync copies what is new) and can be rebuilt from it at any
 * time; it is never the evidence itself ('witness verify' reads the stream).
 */
#ifndef IF_WINDEX_H
#define IF_WINDEX_H

#include "core/bus.h"
#include "core/config.h"
#include "core/store.h"
#include "core/witness.h"

/*
 * Open $IF_HOME/index.db; with read_only in c (--read-only, --mode=falsify)
 * an empty index in memory instead, which a sync fills and nothing keeps.
 */
enum status windex_open(const struct config *c, struct store **out, struct err *e);

/*
 * Copy the entries the index does not hold yet; *added says how many. Each
 * must follow the last (sequence, prev, its own hash): at an entry that
 * does not, the sync stops with ST_WITNESS, keeping what came before.
 * The index also keeps the Merkle tree over the entries (its complete
 * subtrees), so a root of any size it holds costs O(log n).
 */
enum status windex_sync(struct bus *b, struct store *s, uint64_t *added, struct err *e);

/* The tree the index holds, for roots and proofs (merkle.h). */
enum status windex_view(struct store *s, struct merkle_view *v, struct err *e);

/* The tree root over the first size entries (the index must hold them). */
enum status windex_root(struct store *s, uint64_t size, merkle_hash out, struct err *e);

/*
 * Check the index's roots at sizes[0..n) (ascending, held by the index)
 * against the stream before they are trusted: recomputed in memory from
 * the last stored checkpoint k signed (whose root the index's edge must
 * give) and the stream's entries after it, or from entry 1 when there is
 * none (k NULL: always). Costs the entries since that checkpoint, not the
 * ledger. ST_INDEX_CORRUPT names a damaged index; see windex.c.
 */
enum status windex_check_roots(struct bus *b, struct store *s, const struct wkey *k,
			       const uint64_t *sizes, size_t n, struct err *e);

/*
 * Check the root at size (windex_check_roots), sign the tree head with k
 * and store it on CHECKPOINT_SUBJECT
 * (msg id "<key name>/<size>", so a checkpoint made twice is stored once).
 * note gets the signed note.
 */
enum status windex_checkpoint(struct bus *b, struct store *s, const struct wkey *k,
			      uint64_t size, struct buf *note, struct err *e);

/*
 * Make the checkpoints that are due: one at every multiple of
 * witness.checkpoint_every up to tail that comes after the last stored one
 * (at most WINDEX_CHECKPOINTS_MAX, the latest), signed with this host's
 * witness key, their roots checked against the stream first. ST_NOT_FOUND
 * when the host has no key; ST_INDEX_LAG when the local index lags by more
 * than WINDEX_CHECKPOINT_LAG_MAX entries (copying them would hold up the
 * command for seconds).
 */
#define WINDEX_CHECKPOINTS_MAX 64
/* A sync commits every this many entries. */
#define WINDEX_COMMIT_EVERY 20000
/* A command does not copy more than this many entries to make a checkpoint. */
#define WINDEX_CHECKPOINT_LAG_MAX 20000
enum status windex_checkpoints_due(struct bus *b, const struct config *c, uint64_t tail,
				   size_t *made, struct err *e);

/* Open for a rebuild: a damaged index file is deleted and made anew. */
enum status windex_open_fresh(const struct config *c, struct store **out, struct err *e);

/* Empty the index and copy everything again. */
enum status windex_rebuild(struct bus *b, struct store *s, uint64_t *added, struct err *e);

#endif
