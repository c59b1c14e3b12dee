/*
 * The witness ledger's views: an entry (the full record), a list of
 * entries, a trace's chain and totals, a verification's verdict, proofs,
 * checkpoints. Built here so that the CLI (ifctl witness ...) and a console
 * pane show one query two ways; the schemas under schemas/ describe each
 * record as -o json prints it.
 *
 * Columns are set by their enum, never by position.
 */
#ifndef IF_WVIEW_H
#define IF_WVIEW_H

#include <stdint.h>

#include "core/merkle.h"
#include "core/rows.h"
#include "core/witness.h"

/* An entry's columns. The list and the chain leave out v (the index does not keep it). */
enum wentry_col {
	WE_SEQ, WE_TIME, WE_COMPONENT, WE_EVENT, WE_ACTOR, WE_TRACE, WE_SWARM, WE_TASK,
	WE_COST_MICROS, WE_TOKENS, WE_PAYLOAD, WE_PREV, WE_HASH,
	WE_V,			/* the record only */
	WE__COUNT
};
#define WE_STEP_MS WE_V		/* the chain's own column, after the list's */

/* An entry as one record ("entry"), every field typed. */
struct rowset *wview_entry(const struct wentry *e);

/* An empty list of entries ("entries"), and a row for e. */
struct rowset *wview_entries(void);
void wview_entries_add(struct rowset *rs, const struct wentry *e);

/* The entries of one trace, in order, and what they add up to. */
struct wtrace {
	struct rowset *chain;	/* "chain": the entries, each with step_ms */
	char *id;
	size_t entries;
	int64_t first_ms, last_ms;	/* times of the first and the last entry */
	int64_t cost_micros, tokens;	/* sums */
};

/* Start a trace; feed it the trace's entries in seq order with wtrace_add. */
void wtrace_init(struct wtrace *t, const char *id);
void wtrace_add(struct wtrace *t, const struct wentry *e);
/* The totals as one record ("trace"). */
struct rowset *wtrace_summary(const struct wtrace *t);
/* Frees what the caller has not taken (set t->chain to NULL to keep it). */
void wtrace_release(struct wtrace *t);

/* A verification's verdict as one record ("verify"). */
struct rowset *wview_verdict(const struct wverdict *v, const char *origin);

/* An inclusion proof of entry a (1-based) in the tree of size b ("proof"). */
struct rowset *wview_inclusion(uint64_t a, uint64_t b, const char *entry_hash,
			       const merkle_hash root, merkle_hash *path, size_t len,
			       bool verified);
/* A consistency proof between the trees of sizes a and b ("proof"). */
struct rowset *wview_consistency(uint64_t a, uint64_t b, const merkle_hash root_a,
				 const merkle_hash root_b, merkle_hash *proof,
				 size_t len, bool verified);

/*
 * A witness key as one record ("key"): name, key id, the verifier key
 * ('witness verify --key' takes it), the file holding the secret half, and
 * state (exists, created). Never the secret.
 */
struct rowset *wview_key(const struct wkey *k, const char *file, const char *state);

/* A signed checkpoint as one record ("checkpoint"): origin, size, root, key id, note. */
struct rowset *wview_checkpoint(const struct wcheckpoint *cp, uint32_t key_id,
				const char *note);

/* Stored checkpoints ("checkpoints"): size, origin, signature check, root, note. */
struct rowset *wview_checkpoints(void);
void wview_checkpoints_add(struct rowset *rs, const char *note, const struct wcheckpoint *cp,
			   const char *signature);

#endif
