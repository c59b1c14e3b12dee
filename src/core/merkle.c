/* RFC 9162 Merkle trees: see merkle.h. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/merkle.h"
#include "core/util.h"

void
merkle_leaf_hash(const void *data, size_t len, merkle_hash out)
{
	crypto_hash_sha256_state st;
	static const uint8_t prefix = 0x00;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, &prefix, 1);
	crypto_hash_sha256_update(&st, data, len);
	crypto_hash_sha256_final(&st, out);
}

void
merkle_node_hash(const merkle_hash left, const merkle_hash right, merkle_hash out)
{
	uint8_t buf[1 + 2 * MERKLE_HASH];

	buf[0] = 0x01;
	memcpy(buf + 1, left, MERKLE_HASH);
	memcpy(buf + 1 + MERKLE_HASH, right, MERKLE_HASH);
	crypto_hash_sha256(out, buf, sizeof buf);
}

void
merkle_init(struct merkle *t)
{
	memset(t, 0, sizeof *t);
}

void
merkle_release(struct merkle *t)
{
	size_t h;

	for (h = 0; h < MERKLE_MAX_PROOF; h++)
		free(t->level[h]);
	memset(t, 0, sizeof *t);
}

static void
level_push(struct merkle *t, size_t h, const merkle_hash v)
{
	xgrow(&t->level[h], &t->cap[h], t->len[h] + 1, sizeof *t->level[h]);
	memcpy(t->level[h][t->len[h]++], v, MERKLE_HASH);
}

void
merkle_append(struct merkle *t, const merkle_hash leaf)
{
	size_t h = 0;

	level_push(t, 0, leaf);
	t->size++;
	/* Each completed pair makes a complete subtree one level up. */
	while (h + 1 < MERKLE_MAX_PROOF && t->len[h] % 2 == 0) {
		merkle_hash up;
		merkle_node_hash(t->level[h][t->len[h] - 2], t->level[h][t->len[h] - 1], up);
		level_push(t, h + 1, up);
		h++;
	}
}

/* The largest power of two smaller than n (n > 1). */
static uint64_t
split(uint64_t n)
{
	uint64_t k = 1;

	while (k << 1 < n)
		k <<= 1;
	return k;
}

/* The in-memory tree's complete subtrees, for struct merkle_view. */
static bool
level_node(void *arg, unsigned level, uint64_t idx, merkle_hash out)
{
	const struct merkle *t = arg;

	if (level >= MERKLE_MAX_PROOF || idx >= t->len[level])
		return false;
	memcpy(out, t->level[level][idx], MERKLE_HASH);
	return true;
}

void
merkle_view_of(struct merkle_view *v, const struct merkle *t)
{
	v->node = level_node;
	v->arg = (void *)(uintptr_t)t;
	v->size = t->size;
	v->failed = false;
}

/* MTH(D[a:b]); a complete, aligned subtree is read as one node. */
static void
subtree(struct merkle_view *v, uint64_t a, uint64_t b, merkle_hash out)
{
	uint64_t n = b - a, k;
	unsigned h = 0;
	merkle_hash l, r;

	if (n == 0) {
		crypto_hash_sha256(out, NULL, 0);
		return;
	}
	if ((n & (n - 1)) == 0 && a % n == 0) {
		while (((uint64_t)1 << h) < n)
			h++;
		if (v->node(v->arg, h, a / n, out))
			return;
		if (n == 1) {	/* a leaf the source does not have */
			v->failed = true;
			memset(out, 0, MERKLE_HASH);
			return;
		}
	}
	k = split(n);
	subtree(v, a, a + k, l);
	subtree(v, a + k, b, r);
	merkle_node_hash(l, r, out);
}

bool
merkle_view_root(struct merkle_view *v, uint64_t n, merkle_hash out)
{
	if (n > v->size)
		return false;
	subtree(v, 0, n, out);
	return !v->failed;
}

/* PATH(m, D[a:b]) of RFC 6962 2.1.1, appended to path. */
static void
path_of(struct merkle_view *v, uint64_t m, uint64_t a, uint64_t b, merkle_hash *path,
	size_t *len)
{
	uint64_t k;

	if (b - a <= 1)
		return;
	k = split(b - a);
	if (m < k) {
		path_of(v, m, a, a + k, path, len);
		subtree(v, a + k, b, path[(*len)++]);
	} else {
		path_of(v, m - k, a + k, b, path, len);
		subtree(v, a, a + k, path[(*len)++]);
	}
}

size_t
merkle_view_inclusion(struct merkle_view *v, uint64_t m, uint64_t n,
		      merkle_hash path[MERKLE_MAX_PROOF])
{
	size_t len = 0;

	if (m < n && n <= v->size)
		path_of(v, m, 0, n, path, &len);
	return len;
}

/* SUBPROOF(m, D[a:b], whole) of RFC 6962 2.1.2. */
static void
subproof(struct merkle_view *v, uint64_t m, uint64_t a, uint64_t b, bool whole,
	 merkle_hash *proof, size_t *len)
{
	uint64_t k;

	if (m == b - a) {
		if (!whole)
			subtree(v, a, b, proof[(*len)++]);
		return;
	}
	k = split(b - a);
	if (m <= k) {
		subproof(v, m, a, a + k, whole, proof, len);
		subtree(v, a + k, b, proof[(*len)++]);
	} else {
		subproof(v, m - k, a + k, b, false, proof, len);
		subtree(v, a, a + k, proof[(*len)++]);
	}
}

size_t
merkle_view_consistency(struct merkle_view *v, uint64_t m, uint64_t n,
			merkle_hash proof[MERKLE_MAX_PROOF])
{
	size_t len = 0;

	if (m > 0 && m < n && n <= v->size)
		subproof(v, m, 0, n, true, proof, &len);
	return len;
}

void
merkle_root(const struct merkle *t, size_t n, merkle_hash out)
{
	struct merkle_view v;

	merkle_view_of(&v, t);
	subtree(&v, 0, n, out);
}

size_t
merkle_inclusion(const struct merkle *t, size_t m, size_t n, merkle_hash path[MERKLE_MAX_PROOF])
{
	struct merkle_view v;

	merkle_view_of(&v, t);
	return merkle_view_inclusion(&v, m, n, path);
}

size_t
merkle_consistency(const struct merkle *t, size_t m, size_t n,
		   merkle_hash proof[MERKLE_MAX_PROOF])
{
	struct merkle_view v;

	merkle_view_of(&v, t);
	return merkle_view_consistency(&v, m, n, proof);
}

static bool
lsb(size_t x)
{
	return x & 1;
}

bool
merkle_verify_inclusion(size_t index, size_t size, const merkle_hash leaf,
			const uint8_t *path, size_t len, const merkle_hash root)
{
	size_t fn = index, sn, i;
	merkle_hash r;

	if (index >= size)
		return false;
	sn = size - 1;
	memcpy(r, leaf, MERKLE_HASH);
	for (i = 0; i < len; i++) {
		if (sn == 0)
			return false;
		if (lsb(fn) || fn == sn) {
			merkle_node_hash(path + MERKLE_HASH * i, r, r);
			while (!lsb(fn) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			merkle_node_hash(r, path + MERKLE_HASH * i, r);
		}
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && sodium_memcmp(r, root, MERKLE_HASH) == 0;
}

bool
merkle_verify_consistency(size_t m, size_t n, const merkle_hash root_m,
			  const merkle_hash root_n, const uint8_t *proof, size_t len)
{
#define P(i) (proof + MERKLE_HASH * (i))
	size_t fn, sn, i = 0;
	merkle_hash fr, sr;

	if (m > n)
		return false;
	if (m == n)
		return len == 0 && sodium_memcmp(root_m, root_n, MERKLE_HASH) == 0;
	if (m == 0)
		return len == 0;	/* the empty tree is a prefix of every tree */
	if (len == 0)
		return false;
	if ((m & (m - 1)) == 0) {	/* m a power of two: root_m is the first value */
		memcpy(fr, root_m, MERKLE_HASH);
	} else {
		memcpy(fr, P(i), MERKLE_HASH);
		i++;
	}
	memcpy(sr, fr, MERKLE_HASH);
	fn = m - 1;
	sn = n - 1;
	while (lsb(fn)) {
		fn >>= 1;
		sn >>= 1;
	}
	for (; i < len; i++) {
		if (sn == 0)
			return false;
		if (lsb(fn) || fn == sn) {
			merkle_node_hash(P(i), fr, fr);
			merkle_node_hash(P(i), sr, sr);
			while (!lsb(fn) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			merkle_node_hash(sr, P(i), sr);
		}
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && sodium_memcmp(fr, root_m, MERKLE_HASH) == 0 &&
	       sodium_memcmp(sr, root_n, MERKLE_HASH) == 0;
#undef P
}
