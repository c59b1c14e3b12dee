/* The witness index: see windex.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "core/home.h"
#include "core/ledger.h"
#include "core/util.h"
#include "core/windex.h"

enum status
windex_open(const struct config *c, struct store **out, struct err *e)
{
	char *home, *path;
	enum status st;

	if (cfg_bool(c, CK_READ_ONLY))	/* a cache, built in memory: nothing is written */
		return store_open(":memory:", out, e);
	home = home_path(c, HOME_DIR);
	path = home_path(c, HOME_INDEX);
	st = mkdir_p(home, 0700, e);

	if (st == ST_OK)
		st = store_open(path, out, e);
	free(path);
	free(home);
	return st;
}

/*
 * The right edge of a tree of n leaves: edge[l] is the complete subtree of
 * 2^l leaves that ends at leaf n, for each bit l set in n. It is all a tree
 * needs to take the next leaf and to give its root.
 */
struct frontier {
	uint64_t n;
	merkle_hash edge[MERKLE_MAX_PROOF];
};

/* The edge of the index's tree of n leaves, from its stored subtrees. */
static enum status
frontier_load(struct frontier *f, struct store *s, uint64_t n, struct err *e)
{
	enum status st = ST_OK;
	unsigned l;

	memset(f, 0, sizeof *f);
	f->n = n;
	for (l = 0; l < MERKLE_MAX_PROOF && st == ST_OK; l++)
		if (n >> l & 1)
			st = store_node_get(s, l, (n >> l) - 1, f->edge[l], e);
	return st;
}

/* Add a leaf; with s, each subtree it completes is stored in the index. */
static enum status
frontier_add(struct frontier *f, const merkle_hash leaf, struct store *s, struct err *e)
{
	merkle_hash h;
	uint64_t idx = f->n;
	unsigned l = 0;
	enum status st;

	memcpy(h, leaf, MERKLE_HASH);
	for (;;) {
		if (s && (st = store_node_put(s, l, idx, h, e)) != ST_OK)
			return st;
		if (!(idx & 1))
			break;
		merkle_node_hash(f->edge[l], h, h);
		idx >>= 1;
		l++;
	}
	memcpy(f->edge[l], h, MERKLE_HASH);
	f->n++;
	return ST_OK;
}

/* The root of the tree of f->n leaves: its edge folded from the smallest subtree up. */
static void
frontier_root(const struct frontier *f, merkle_hash out)
{
	bool first = true;
	unsigned l;

	crypto_hash_sha256(out, NULL, 0);	/* MTH({}) */
	for (l = 0; l < MERKLE_MAX_PROOF; l++) {
		if (!(f->n >> l & 1))
			continue;
		if (first)
			memcpy(out, f->edge[l], MERKLE_HASH);
		else
			merkle_node_hash(f->edge[l], out, out);
		first = false;
	}
}

/* A sync in progress: the tail the index holds and the tree's right edge. */
struct syncer {
	struct store *s;
	char last_hash[WITNESS_HEX];
	struct frontier f;			/* f.n: entries held */
};

static enum status
syncer_load(struct syncer *y, struct store *s, struct err *e)
{
	enum status st;
	uint64_t n;

	memset(y, 0, sizeof *y);
	y->s = s;
	memcpy(y->last_hash, witness_zero_hash, WITNESS_HEX);
	if ((st = store_witness_last(s, &n, e)) != ST_OK)
		return st;
	if (n && (st = store_witness_hash(s, n, y->last_hash, e)) != ST_OK)
		return st == ST_NOT_FOUND ? err_set(e, ST_INDEX_CORRUPT, "index lacks entry %llu",
						    (unsigned long long)n) : st;
	return frontier_load(&y->f, s, n, e);
}

/* The Merkle leaf of an entry: SHA-256(0x00 || its hash bytes). */
static void
entry_leaf(const struct wentry *e, merkle_hash leaf)
{
	merkle_hash content;

	wentry_hash_bytes(e, content);
	merkle_leaf_hash(content, MERKLE_HASH, leaf);
}

/*
 * Take the next entry: it must follow the last one (sequence, prev, its
 * own hash), so the index only ever holds a ledger that verifies; then its
 * leaf and every subtree it completes go into the tree.
 */
static enum status
put_entry(void *arg, const struct wentry *e, struct err *err)
{
	struct syncer *y = arg;
	merkle_hash leaf;
	enum status st;

	if (e->seq != y->f.n + 1 || strcmp(e->prev, y->last_hash) != 0 || !wentry_hash_ok(e))
		return err_set(err, ST_WITNESS, "ledger entry %llu is %s: the index stops before "
			       "it", (unsigned long long)e->seq, e->seq != y->f.n + 1 ?
			       "out of sequence" : !wentry_hash_ok(e) ? "edited (its hash does "
			       "not match)" : "not chained to the entry before it");
	if ((st = store_witness_put(y->s, e, err)) != ST_OK)
		return st;
	entry_leaf(e, leaf);
	if ((st = frontier_add(&y->f, leaf, y->s, err)) != ST_OK)
		return st;
	memcpy(y->last_hash, e->hash, WITNESS_HEX);
	/* Commit as it goes: a long first copy that is interrupted resumes, not restarts. */
	if (y->f.n % WINDEX_COMMIT_EVERY == 0 && (st = store_commit(y->s, err)) == ST_OK)
		st = store_begin(y->s, err);
	return st;
}

/*
 * Is the last entry the index copied still the server's? If not, the
 * ledger was rewritten or cut short since: the index will not follow.
 */
static enum status
same_history(struct bus *b, const struct syncer *y, struct err *e)
{
	struct buf data = BUF_INIT;
	struct wentry got;
	enum status st;

	if (y->f.n == 0)
		return ST_OK;
	wentry_init(&got);
	st = bus_stream_get(b, LEDGER_STREAM, y->f.n, &data, e);
	if (st == ST_OK && wentry_parse(data.s, data.len, &got, NULL) == ST_OK &&
	    strcmp(got.hash, y->last_hash) == 0)
		st = ST_OK;
	else if (st == ST_OK || st == ST_NOT_FOUND)
		st = err_set(e, ST_WITNESS, "ledger entry %llu on the server is not the one this "
			     "index copied: the ledger was rewritten or cut short since",
			     (unsigned long long)y->f.n);
	wentry_release(&got);
	buf_release(&data);
	return st;
}

enum status
windex_sync(struct bus *b, struct store *s, uint64_t *added, struct err *e)
{
	struct syncer y;
	enum status st = store_begin(s, e);

	*added = 0;
	if (st != ST_OK)
		return st;
	if ((st = syncer_load(&y, s, e)) == ST_OK && (st = same_history(b, &y, e)) == ST_OK)
		st = ledger_read_from(b, y.f.n + 1, put_entry, &y, added, e);
	if (st == ST_OK)
		return store_commit(s, e);
	if (st == ST_WITNESS && *added)
		(*added)--;	/* the refused one */
	store_commit(s, NULL);	/* keep what was copied; the next sync goes on */
	return st;
}

static bool
store_node(void *arg, unsigned level, uint64_t idx, merkle_hash out)
{
	return store_node_get(arg, level, idx, out, NULL) == ST_OK;
}

enum status
windex_view(struct store *s, struct merkle_view *v, struct err *e)
{
	v->node = store_node;
	v->arg = s;
	v->failed = false;
	return store_witness_last(s, &v->size, e);
}

enum status
windex_root(struct store *s, uint64_t size, merkle_hash out, struct err *e)
{
	struct merkle_view v;
	enum status st = windex_view(s, &v, e);

	if (st != ST_OK)
		return st;
	if (size > v.size)
		return err_set(e, ST_NOT_FOUND, "the index holds %llu entries, not %llu",
			       (unsigned long long)v.size, (unsigned long long)size);
	if (!merkle_view_root(&v, size, out))
		return err_set(e, ST_INDEX_CORRUPT, "index '%s' lacks part of the tree of %llu "
			       "entries", store_path(s), (unsigned long long)size);
	return ST_OK;
}

/*
 * Checking the index's roots against the stream before one is signed.
 *
 * A changed row of the index's tree is damage SQLite cannot see, and the
 * index's root would be signed as it is. So the roots to sign are first
 * recomputed from the stream, in memory, and compared:
 *
 *  - the starting point is the last stored checkpoint when it is signed by
 *    this host's key: its root was checked this way when it was signed.
 *    The index's right edge of that tree (one stored subtree per bit of its
 *    size, O(log n) rows) must fold to exactly that root; then
 *  - the entries after it are read from the stream and added to that edge
 *    in memory, and at each size to sign the edge's root must equal the
 *    index's root.
 *
 * The work is the entries since the last checkpoint (witness.checkpoint_every
 * of them when checkpoints are kept up), not the ledger: a million entries
 * cost what the last few thousand do. With no usable checkpoint (none yet,
 * another key's, or one whose root the index's edge does not give), the
 * whole stream is read once from entry 1. If the stream then agrees with
 * the stored checkpoint, it is the index's edge that is damaged.
 */
struct rootcheck {
	struct store *s;
	struct frontier f;		/* over the stream's leaves */
	const uint64_t *sizes;		/* to check, ascending */
	size_t nsizes, next;
	uint64_t cp_size;		/* a stored checkpoint the index's edge failed */
	merkle_hash cp_root;
	bool cp_stream_agrees;		/* ... which the stream gives */
};

/* Compare the stream's root with the index's at each size due; f->n is the size now. */
static enum status
rootcheck_sizes(struct rootcheck *r, struct err *e)
{
	merkle_hash mine, index;
	enum status st;

	if (r->cp_size && r->f.n == r->cp_size) {
		frontier_root(&r->f, mine);
		r->cp_stream_agrees = sodium_memcmp(mine, r->cp_root, MERKLE_HASH) == 0;
	}
	for (; r->next < r->nsizes && r->sizes[r->next] == r->f.n; r->next++) {
		frontier_root(&r->f, mine);
		if ((st = windex_root(r->s, r->f.n, index, e)) != ST_OK)
			return st;
		if (sodium_memcmp(mine, index, MERKLE_HASH) != 0)
			return err_set(e, ST_INDEX_CORRUPT, "index '%s' is damaged: its tree of %llu "
				       "entries has another root than the stream's entries give",
				       store_path(r->s), (unsigned long long)r->f.n);
	}
	return ST_OK;
}

static enum status
rootcheck_entry(void *arg, const struct wentry *e, struct err *err)
{
	struct rootcheck *r = arg;
	merkle_hash leaf;

	if (r->next == r->nsizes)
		return ST_OK;	/* past the last size: the rest is not needed */
	if (e->seq != r->f.n + 1)
		return err_set(err, ST_WITNESS, "ledger entry %llu is out of sequence (after %llu)",
			       (unsigned long long)e->seq, (unsigned long long)r->f.n);
	entry_leaf(e, leaf);
	frontier_add(&r->f, leaf, NULL, NULL);
	return rootcheck_sizes(r, err);
}

/* The last stored checkpoint, when k signed it and it is not beyond size. */
static bool
trusted_checkpoint(struct bus *b, const struct wkey *k, uint64_t size, struct wcheckpoint *cp)
{
	struct buf note = BUF_INIT;
	uint64_t seq;
	bool ok = k && bus_stream_last(b, CHECKPOINT_STREAM, CHECKPOINT_SUBJECT, &note, &seq,
				       NULL) == ST_OK &&
		  wcheckpoint_open(note.s, k, cp, NULL) == ST_OK && cp->size <= size;

	buf_release(&note);
	return ok;
}

enum status
windex_check_roots(struct bus *b, struct store *s, const struct wkey *k, const uint64_t *sizes,
		   size_t n, struct err *e)
{
	struct rootcheck r = { .s = s, .sizes = sizes, .nsizes = n };
	struct wcheckpoint cp;
	merkle_hash edge_root;
	uint64_t count = 0;
	enum status st = ST_OK;

	if (n == 0)
		return ST_OK;
	if (trusted_checkpoint(b, k, sizes[0], &cp) && cp.size > 0) {
		if (frontier_load(&r.f, s, cp.size, NULL) == ST_OK) {
			frontier_root(&r.f, edge_root);
			if (sodium_memcmp(edge_root, cp.root, MERKLE_HASH) == 0)
				st = rootcheck_sizes(&r, e);	/* the start is checked */
			else
				r.cp_size = cp.size;
		} else {
			r.cp_size = cp.size;
		}
		if (r.cp_size) {	/* from entry 1, and learn which side is wrong */
			memset(&r.f, 0, sizeof r.f);
			memcpy(r.cp_root, cp.root, MERKLE_HASH);
		}
	}
	if (st == ST_OK && r.next < n)
		st = ledger_read_from(b, r.f.n + 1, rootcheck_entry, &r, &count, e);
	if (st == ST_OK && r.next < n)
		st = err_set(e, ST_WITNESS, "the stream holds %llu entries, not the %llu to sign",
			     (unsigned long long)r.f.n, (unsigned long long)sizes[n - 1]);
	if (st == ST_OK && r.cp_stream_agrees)
		st = err_set(e, ST_INDEX_CORRUPT, "index '%s' is damaged: its tree of %llu entries "
			     "does not give the root of the checkpoint signed at that size, and the "
			     "stream does", store_path(s), (unsigned long long)r.cp_size);
	return st;
}

/* Sign the tree head at size (checked already) and store it. */
static enum status
sign_and_store(struct bus *b, struct store *s, const struct wkey *k, uint64_t size,
	       struct buf *note, struct err *e)
{
	struct wcheckpoint cp = { "", size, { 0 } };
	struct bus_pub pub = { 0 };
	char id[96];
	enum status st;

	snprintf(cp.origin, sizeof cp.origin, "%s", k->name);
	if ((st = windex_root(s, size, cp.root, e)) != ST_OK)
		return st;
	buf_reset(note);
	wcheckpoint_sign(k, &cp, note);
	snprintf(id, sizeof id, "%s/%llu", k->name, (unsigned long long)size);
	pub.msg_id = id;	/* made twice (two writers), stored once */
	st = bus_js_publish(b, CHECKPOINT_SUBJECT, note->s, note->len, &pub, NULL, e);
	if (st == ST_NO_SCHEMA || st == ST_NO_JETSTREAM)
		st = err_set(e, ST_NO_SCHEMA, "stream '%s' does not exist", CHECKPOINT_STREAM);
	return st;
}

enum status
windex_checkpoint(struct bus *b, struct store *s, const struct wkey *k, uint64_t size,
		  struct buf *note, struct err *e)
{
	enum status st = windex_check_roots(b, s, k, &size, 1, e);

	return st == ST_OK ? sign_and_store(b, s, k, size, note, e) : st;
}

/* The size of the last stored checkpoint; 0 when there is none. */
static uint64_t
last_checkpoint(struct bus *b)
{
	struct buf note = BUF_INIT;
	struct wcheckpoint cp = { "", 0, { 0 } };
	uint64_t seq;

	if (bus_stream_last(b, CHECKPOINT_STREAM, CHECKPOINT_SUBJECT, &note, &seq, NULL) == ST_OK)
		wcheckpoint_open(note.s, NULL, &cp, NULL);
	buf_release(&note);
	return cp.size;
}

/* Open the index and check it is near enough the tail to copy the rest in passing. */
static enum status
index_near(const struct config *c, uint64_t tail, struct store **s, struct err *e)
{
	uint64_t held = 0;
	enum status st = windex_open(c, s, e);

	if (st == ST_OK)
		st = store_witness_last(*s, &held, e);
	if (st == ST_OK && tail > held && tail - held > WINDEX_CHECKPOINT_LAG_MAX)
		st = err_set(e, ST_INDEX_LAG, "the local index is %llu entries behind the ledger: "
			     "too many to copy in passing; 'ifctl witness checkpoint' brings it up "
			     "to date", (unsigned long long)(tail - held));
	return st;
}

enum status
windex_checkpoints_due(struct bus *b, const struct config *c, uint64_t tail, size_t *made,
		       struct err *e)
{
	uint64_t every = (uint64_t)cfg_int(c, CK_WITNESS_CHECKPOINT_EVERY), m, done, added;
	uint64_t sizes[WINDEX_CHECKPOINTS_MAX];
	struct buf note = BUF_INIT;
	struct store *s = NULL;
	struct wkey k;
	size_t n = 0, i;
	enum status st;

	*made = 0;
	done = last_checkpoint(b);
	m = (done / every + 1) * every;
	if (m > tail)
		return ST_OK;
	if ((st = witness_key(c, false, &k, NULL, e)) != ST_OK)
		return st;
	if (tail / every - m / every >= WINDEX_CHECKPOINTS_MAX)	/* a long gap: the latest only */
		m = (tail / every - WINDEX_CHECKPOINTS_MAX + 1) * every;
	for (; m <= tail && n < WINDEX_CHECKPOINTS_MAX; m += every)
		sizes[n++] = m;
	st = index_near(c, tail, &s, e);
	if (st == ST_OK)
		st = windex_sync(b, s, &added, e);
	if (st == ST_OK)	/* one read of the stream checks every root to sign */
		st = windex_check_roots(b, s, &k, sizes, n, e);
	for (i = 0; st == ST_OK && i < n; i++) {
		if ((st = sign_and_store(b, s, &k, sizes[i], &note, e)) == ST_OK)
			(*made)++;
	}
	buf_release(&note);
	store_close(s);
	sodium_memzero(&k, sizeof k);
	return st;
}

enum status
windex_rebuild(struct bus *b, struct store *s, uint64_t *added, struct err *e)
{
	enum status st = store_witness_clear(s, e);

	return st == ST_OK ? windex_sync(b, s, added, e) : st;
}

/* A damaged index file is deleted; a directory in its place is moved aside, not emptied. */
static enum status
remove_index(const char *path, struct err *e)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	struct stat sb;
	size_t i;

	if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		char *aside = xasprintf("%s.not-an-index", path);
		int rc = rename(path, aside);
		free(aside);
		if (rc != 0)
			return err_set(e, ST_INDEX_CORRUPT, "index '%s' is a directory and cannot be "
				       "moved aside (%s): remove it", path, strerror(errno));
	}
	for (i = 0; i < ARRAY_SIZE(suffix); i++) {
		char *f = xasprintf("%s%s", path, suffix[i]);
		unlink(f);
		free(f);
	}
	return ST_OK;
}

enum status
windex_open_fresh(const struct config *c, struct store **out, struct err *e)
{
	char *path = home_path(c, HOME_INDEX);
	enum status st;

	st = windex_open(c, out, e);
	if (st == ST_INDEX_CORRUPT) {	/* a cache: a damaged one is replaced, never patched */
		if ((st = remove_index(path, e)) == ST_OK)
			st = windex_open(c, out, e);
	}
	free(path);
	return st;
}
