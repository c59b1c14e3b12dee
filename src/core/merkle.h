/*
 * RFC 9162 (and 6962) Merkle trees over SHA-256.
 *
 *	leaf hash  = SHA-256(0x00 || entry)
 *	node hash  = SHA-256(0x01 || left || right)
 *	MTH({})    = SHA-256("")
 *	MTH(D[n])  = node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of
 *		     two smaller than n
 *
 * struct merkle keeps every level of the tree (about 2n hashes), so that a
 * root of any prefix, an inclusion proof and a consistency proof cost
 * O(log n) hashes after the leaves are in. Appending is amortised O(1).
 * The verification functions are the RFC's algorithms and need no tree:
 * a third party runs them on a proof alone.
 */
#ifndef IF_MERKLE_H
#define IF_MERKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MERKLE_HASH 32
#define MERKLE_MAX_PROOF 64	/* hashes in a proof for trees up to 2^64 leaves */

typedef uint8_t merkle_hash[MERKLE_HASH];

void merkle_leaf_hash(const void *data, size_t len, merkle_hash out);
void merkle_node_hash(const merkle_hash left, const merkle_hash right, merkle_hash out);

struct merkle {
	merkle_hash *level[MERKLE_MAX_PROOF];	/* level[0]: leaf hashes; level[h]: roots of
						   complete subtrees of 2^h leaves */
	size_t len[MERKLE_MAX_PROOF], cap[MERKLE_MAX_PROOF];
	size_t size;				/* leaves */
};

void merkle_init(struct merkle *t);
void merkle_release(struct merkle *t);

/* Append a leaf given its leaf hash. */
void merkle_append(struct merkle *t, const merkle_hash leaf);

/* Root of the first n leaves (n <= size). */
void merkle_root(const struct merkle *t, size_t n, merkle_hash out);

/* Inclusion proof of leaf m in the tree of the first n leaves; returns its length. */
size_t merkle_inclusion(const struct merkle *t, size_t m, size_t n,
			merkle_hash path[MERKLE_MAX_PROOF]);

/* Consistency proof between the first m and the first n leaves; returns its length. */
size_t merkle_consistency(const struct merkle *t, size_t m, size_t n,
			  merkle_hash proof[MERKLE_MAX_PROOF]);

/*
 * A tree read through its complete subtrees: node(level, idx) gives the
 * root of leaves [idx * 2^level, (idx + 1) * 2^level) of a complete
 * subtree, or false when the source lacks it. The in-memory tree is one
 * source (merkle_view_of), the local index another; roots and proofs are
 * computed by the same code for both. A missing leaf sets failed.
 */
struct merkle_view {
	bool (*node)(void *arg, unsigned level, uint64_t idx, merkle_hash out);
	void *arg;
	uint64_t size;		/* leaves */
	bool failed;
};

void merkle_view_of(struct merkle_view *v, const struct merkle *t);
/* Root of the first n leaves; false when n > size or a node was missing. */
bool merkle_view_root(struct merkle_view *v, uint64_t n, merkle_hash out);
size_t merkle_view_inclusion(struct merkle_view *v, uint64_t m, uint64_t n,
			     merkle_hash path[MERKLE_MAX_PROOF]);
size_t merkle_view_consistency(struct merkle_view *v, uint64_t m, uint64_t n,
			       merkle_hash proof[MERKLE_MAX_PROOF]);

/*
 * RFC 9162 section 2.1.3.2. path is len hashes back to back (len * 32
 * bytes), as a proof travels.
 */
bool merkle_verify_inclusion(size_t index, size_t size, const merkle_hash leaf,
			     const uint8_t *path, size_t len, const merkle_hash root);

/* RFC 9162 section 2.1.4.2; proof as above. */
bool merkle_verify_consistency(size_t m, size_t n, const merkle_hash root_m,
			       const merkle_hash root_n, const uint8_t *proof, size_t len);

#endif
