/* The witness index: see windex.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "core/ledger.h"
#include "core/util.h"
#include "core/windex.h"

enum status
windex_open(const struct config *c, struct store **out, struct err *e)
{
	char *home = config_home(c), *path = xasprintf("%s/index.db", home);
	enum status st = mkdir_p(home, 0700, e);

	if (st == ST_OK)
		st = store_open(path, out, e);
	free(path);
	free(home);
	return st;
}

/* A sync in progress: the tail the index holds and the tree's right edge. */
struct syncer {
	struct store *s;
	uint64_t n;				/* entries held */
	char last_hash[WITNESS_HEX];
	merkle_hash edge[MERKLE_MAX_PROOF];	/* edge[l]: complete subtree of 2^l leaves
						   ending at n, when bit l of n is set */
};

static enum status
syncer_load(struct syncer *y, struct store *s, struct err *e)
{
	enum status st = ST_OK;
	unsigned l;

	memset(y, 0, sizeof *y);
	y->s = s;
	y->n = store_witness_last(s);
	memcpy(y->last_hash, witness_zero_hash, WITNESS_HEX);
	if (y->n && (st = store_witness_hash(s, y->n, y->last_hash, e)) != ST_OK)
		return st == ST_NOT_FOUND ? err_set(e, ST_INDEX_CORRUPT, "index lacks entry %llu",
						    (unsigned long long)y->n) : st;
	for (l = 0; l < MERKLE_MAX_PROOF && st == ST_OK; l++)
		if (y->n >> l & 1)
			st = store_node_get(s, l, (y->n >> l) - 1, y->edge[l], e);
	return st;
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
	merkle_hash content, h;
	uint64_t idx = y->n;
	unsigned l = 0;
	enum status st;

	if (e->seq != y->n + 1 || strcmp(e->prev, y->last_hash) != 0 || !wentry_hash_ok(e))
		return err_set(err, ST_WITNESS, "ledger entry %llu is %s: the index stops before "
			       "it", (unsigned long long)e->seq, e->seq != y->n + 1 ?
			       "out of sequence" : !wentry_hash_ok(e) ? "edited (its hash does "
			       "not match)" : "not chained to the entry before it");
	if ((st = store_witness_put(y->s, e, err)) != ST_OK)
		return st;
	wentry_hash_bytes(e, content);
	merkle_leaf_hash(content, MERKLE_HASH, h);
	for (;;) {
		if ((st = store_node_put(y->s, l, idx, h, err)) != ST_OK)
			return st;
		if (!(idx & 1))
			break;
		merkle_node_hash(y->edge[l], h, h);
		idx >>= 1;
		l++;
	}
	memcpy(y->edge[l], h, MERKLE_HASH);
	y->n++;
	memcpy(y->last_hash, e->hash, WITNESS_HEX);
	/* Commit as it goes: a long first copy that is interrupted resumes, not restarts. */
	if (y->n % WINDEX_COMMIT_EVERY == 0 && (st = store_commit(y->s, err)) == ST_OK)
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

	if (y->n == 0)
		return ST_OK;
	wentry_init(&got);
	st = bus_stream_get(b, LEDGER_STREAM, y->n, &data, e);
	if (st == ST_OK && wentry_parse(data.s, data.len, &got, NULL) == ST_OK &&
	    strcmp(got.hash, y->last_hash) == 0)
		st = ST_OK;
	else if (st == ST_OK || st == ST_NOT_FOUND)
		st = err_set(e, ST_WITNESS, "ledger entry %llu on the server is not the one this "
			     "index copied: the ledger was rewritten or cut short since",
			     (unsigned long long)y->n);
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
		st = ledger_read_from(b, y.n + 1, put_entry, &y, added, e);
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

void
windex_view(struct store *s, struct merkle_view *v)
{
	v->node = store_node;
	v->arg = s;
	v->size = store_witness_last(s);
	v->failed = false;
}

enum status
windex_root(struct store *s, uint64_t size, merkle_hash out, struct err *e)
{
	struct merkle_view v;

	windex_view(s, &v);
	if (size > v.size)
		return err_set(e, ST_NOT_FOUND, "the index holds %llu entries, not %llu",
			       (unsigned long long)v.size, (unsigned long long)size);
	if (!merkle_view_root(&v, size, out))
		return err_set(e, ST_INDEX_CORRUPT, "the index lacks part of the tree of %llu "
			       "entries", (unsigned long long)size);
	return ST_OK;
}

enum status
windex_checkpoint(struct bus *b, struct store *s, const struct wkey *k, uint64_t size,
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

enum status
windex_checkpoints_due(struct bus *b, const struct config *c, uint64_t tail, size_t *made,
		       struct err *e)
{
	uint64_t every = (uint64_t)cfg_int(c, CK_WITNESS_CHECKPOINT_EVERY), m, done;
	struct buf note = BUF_INIT;
	struct store *s = NULL;
	struct wkey k;
	uint64_t added;
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
	st = windex_open(c, &s, e);
	if (st == ST_OK && tail - store_witness_last(s) > WINDEX_CHECKPOINT_LAG_MAX)
		st = err_set(e, ST_TIMEOUT, "the local index is %llu entries behind: too many "
			     "to copy now; 'ifctl witness checkpoint' brings it up to date",
			     (unsigned long long)(tail - store_witness_last(s)));
	if (st == ST_OK)
		st = windex_sync(b, s, &added, e);
	for (; st == ST_OK && m <= tail; m += every) {
		if ((st = windex_checkpoint(b, s, &k, m, &note, e)) == ST_OK)
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

enum status
windex_open_fresh(const struct config *c, struct store **out, struct err *e)
{
	char *home = config_home(c), *path = xasprintf("%s/index.db", home);
	static const char *const suffix[] = { "", "-wal", "-shm" };
	enum status st;
	size_t i;

	st = windex_open(c, out, e);
	if (st == ST_INDEX_CORRUPT) {
		/* A cache: a damaged one is replaced, never patched. */
		for (i = 0; i < ARRAY_SIZE(suffix); i++) {
			char *f = xasprintf("%s%s", path, suffix[i]);
			unlink(f);
			free(f);
		}
		st = windex_open(c, out, e);
	}
	free(path);
	free(home);
	return st;
}
