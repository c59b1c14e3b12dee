/* The witness ledger's views: see wview.h. */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/util.h"
#include "core/wview.h"

static const struct view_col entry_cols[] = {
	[WE_SEQ] = { "seq", COL_NUM, 0 },
	[WE_TIME] = { "time", COL_TIME, 0 },
	[WE_COMPONENT] = { "component", COL_TEXT, 0 },
	[WE_EVENT] = { "event", COL_TEXT, 0 },
	[WE_ACTOR] = { "actor", COL_TEXT, 0 },
	[WE_TRACE] = { "trace", COL_TEXT, 0 },
	[WE_SWARM] = { "swarm", COL_TEXT, 0 },
	[WE_TASK] = { "task", COL_TEXT, 0 },
	[WE_COST_MICROS] = { "cost_micros", COL_NUM, COL_WIDE },
	[WE_TOKENS] = { "tokens", COL_NUM, COL_WIDE },
	[WE_PAYLOAD] = { "payload", COL_JSON, COL_WIDE },
	[WE_PREV] = { "prev", COL_TEXT, COL_DATA },
	[WE_HASH] = { "hash", COL_TEXT, COL_WIDE },
	[WE_V] = { "v", COL_NUM, COL_DATA },
};
_Static_assert(ARRAY_SIZE(entry_cols) == WE__COUNT, "one column per wentry_col");

/* The chain's columns: the list's, then the time since the entry before. */
static const struct view_col step_col = { "step_ms", COL_NUM, 0 };

enum verdict_col {
	VC_RESULT, VC_ENTRIES, VC_CHECKPOINTS, VC_FAULT, VC_AT, VC_DETAIL, VC_ROOT, VC_ORIGIN,
	VC__COUNT
};
static const struct view_col verdict_cols[] = {
	[VC_RESULT] = { "result", COL_TEXT, 0 },
	[VC_ENTRIES] = { "entries", COL_NUM, 0 },
	[VC_CHECKPOINTS] = { "checkpoints", COL_NUM, 0 },
	[VC_FAULT] = { "fault", COL_TEXT, 0 },
	[VC_AT] = { "at", COL_NUM, 0 },
	[VC_DETAIL] = { "detail", COL_TEXT, 0 },
	[VC_ROOT] = { "root", COL_TEXT, COL_WIDE },
	[VC_ORIGIN] = { "origin", COL_TEXT, COL_WIDE },
};
_Static_assert(ARRAY_SIZE(verdict_cols) == VC__COUNT, "one column per verdict_col");

enum incl_col { IC_ENTRY, IC_LEAF, IC_SIZE, IC_HASH, IC_ROOT, IC_PATH, IC_VERIFIED, IC__COUNT };
static const struct view_col incl_cols[] = {
	[IC_ENTRY] = { "entry", COL_NUM, 0 },
	[IC_LEAF] = { "leaf_index", COL_NUM, 0 },
	[IC_SIZE] = { "tree_size", COL_NUM, 0 },
	[IC_HASH] = { "entry_hash", COL_TEXT, 0 },
	[IC_ROOT] = { "root", COL_TEXT, 0 },
	[IC_PATH] = { "path", COL_JSON, 0 },
	[IC_VERIFIED] = { "verified", COL_BOOL, 0 },
};
_Static_assert(ARRAY_SIZE(incl_cols) == IC__COUNT, "one column per incl_col");

enum cons_col { CC_OLD, CC_NEW, CC_OLD_ROOT, CC_NEW_ROOT, CC_PROOF, CC_VERIFIED, CC__COUNT };
static const struct view_col cons_cols[] = {
	[CC_OLD] = { "old_size", COL_NUM, 0 },
	[CC_NEW] = { "new_size", COL_NUM, 0 },
	[CC_OLD_ROOT] = { "old_root", COL_TEXT, 0 },
	[CC_NEW_ROOT] = { "new_root", COL_TEXT, 0 },
	[CC_PROOF] = { "proof", COL_JSON, 0 },
	[CC_VERIFIED] = { "verified", COL_BOOL, 0 },
};
_Static_assert(ARRAY_SIZE(cons_cols) == CC__COUNT, "one column per cons_col");

enum cp_col { CP_ORIGIN, CP_SIZE, CP_ROOT, CP_KEY_ID, CP_NOTE, CP__COUNT };
static const struct view_col cp_cols[] = {
	[CP_ORIGIN] = { "origin", COL_TEXT, 0 },
	[CP_SIZE] = { "size", COL_NUM, 0 },
	[CP_ROOT] = { "root", COL_TEXT, 0 },
	[CP_KEY_ID] = { "key_id", COL_TEXT, 0 },
	[CP_NOTE] = { "note", COL_TEXT, 0 },
};
_Static_assert(ARRAY_SIZE(cp_cols) == CP__COUNT, "one column per cp_col");

enum cps_col { CPS_SIZE, CPS_ORIGIN, CPS_SIGNATURE, CPS_ROOT, CPS_NOTE, CPS__COUNT };
static const struct view_col cps_cols[] = {
	[CPS_SIZE] = { "size", COL_NUM, 0 },
	[CPS_ORIGIN] = { "origin", COL_TEXT, 0 },
	[CPS_SIGNATURE] = { "signature", COL_TEXT, 0 },	/* good, not by key, malformed, unchecked */
	[CPS_ROOT] = { "root", COL_TEXT, 0 },
	[CPS_NOTE] = { "note", COL_TEXT, COL_DATA },
};
_Static_assert(ARRAY_SIZE(cps_cols) == CPS__COUNT, "one column per cps_col");

enum trace_col { TR_TRACE, TR_ENTRIES, TR_DURATION, TR_COST, TR_TOKENS, TR__COUNT };
static const struct view_col trace_cols[] = {
	[TR_TRACE] = { "trace", COL_TEXT, 0 },
	[TR_ENTRIES] = { "entries", COL_NUM, 0 },
	[TR_DURATION] = { "duration_ms", COL_NUM, 0 },
	[TR_COST] = { "cost_micros", COL_NUM, 0 },
	[TR_TOKENS] = { "tokens", COL_NUM, 0 },
};
_Static_assert(ARRAY_SIZE(trace_cols) == TR__COUNT, "one column per trace_col");

enum key_col { WK_NAME, WK_KEY_ID, WK_VKEY, WK_FILE, WK_STATE, WK__COUNT };
static const struct view_col key_cols[] = {
	[WK_NAME] = { "name", COL_TEXT, 0 },
	[WK_KEY_ID] = { "key_id", COL_TEXT, 0 },
	[WK_VKEY] = { "vkey", COL_TEXT, 0 },
	[WK_FILE] = { "file", COL_TEXT, COL_WIDE },
	[WK_STATE] = { "state", COL_TEXT, 0 },	/* exists, created */
};
_Static_assert(ARRAY_SIZE(key_cols) == WK__COUNT, "one column per key_col");

static const struct view entry_view = VIEW("entry", entry_cols);
static const struct view key_view = VIEW("key", key_cols);
static const struct view entries_view = { "entries", entry_cols, WE_V };
static const struct view chain_view = { "chain", entry_cols, WE_V };
static const struct view verdict_view = VIEW("verify", verdict_cols);
static const struct view incl_view = VIEW("proof", incl_cols);
static const struct view cons_view = VIEW("proof", cons_cols);
static const struct view cp_view = VIEW("checkpoint", cp_cols);
static const struct view cps_view = VIEW("checkpoints", cps_cols);
static const struct view trace_view = VIEW("trace", trace_cols);

/* A single-record set of view v with its one row. */
static struct rowset *
record(const struct view *v)
{
	struct rowset *rs = rows_view(v);

	rs->single = true;
	rows_add(rs);
	return rs;
}

/* Set a hash cell in hex. */
static void
set_hash(struct rowset *rs, size_t r, size_t c, const merkle_hash h)
{
	char hex[WITNESS_HEX];

	hex_encode(hex, h, MERKLE_HASH);
	rows_set(rs, r, c, hex);
}

/* Set a cell to a JSON array of hex hashes (tables show them as it is). */
static void
set_hashes(struct rowset *rs, size_t r, size_t c, merkle_hash *h, size_t n)
{
	struct buf out = BUF_INIT;
	char hex[WITNESS_HEX];
	size_t i;

	buf_addc(&out, '[');
	for (i = 0; i < n; i++) {
		hex_encode(hex, h[i], MERKLE_HASH);
		buf_addf(&out, "%s\"%s\"", i ? "," : "", hex);
	}
	buf_addc(&out, ']');
	rows_set(rs, r, c, out.s);
	buf_release(&out);
}

/* The columns every entry view has (all but v and step_ms). */
static size_t
entry_row(struct rowset *rs, const struct wentry *e)
{
	size_t r = rows_add(rs);

	rows_set_u64(rs, r, WE_SEQ, e->seq);
	rows_set_time(rs, r, WE_TIME, e->time);
	rows_set(rs, r, WE_COMPONENT, e->component);
	rows_set(rs, r, WE_EVENT, e->event);
	rows_set(rs, r, WE_ACTOR, e->actor);
	rows_set(rs, r, WE_TRACE, e->trace);
	rows_set(rs, r, WE_SWARM, e->swarm);
	rows_set(rs, r, WE_TASK, e->task);
	rows_set_int(rs, r, WE_COST_MICROS, e->cost_micros);
	rows_set_int(rs, r, WE_TOKENS, e->tokens);
	rows_set(rs, r, WE_PAYLOAD, e->payload);
	rows_set(rs, r, WE_PREV, e->prev);
	rows_set(rs, r, WE_HASH, e->hash);
	return r;
}

struct rowset *
wview_entry(const struct wentry *e)
{
	struct rowset *rs = rows_view(&entry_view);
	size_t r = entry_row(rs, e);

	rs->single = true;
	rows_set_int(rs, r, WE_V, e->v);
	rs->cols[WE_HASH].flags = 0;		/* a record's table shows its hash */
	rs->cols[WE_PREV].flags = COL_WIDE;	/* and with -o wide, the one before */
	return rs;
}

struct rowset *
wview_entries(void)
{
	return rows_view(&entries_view);
}

void
wview_entries_add(struct rowset *rs, const struct wentry *e)
{
	entry_row(rs, e);
}

void
wtrace_init(struct wtrace *t, const char *id)
{
	memset(t, 0, sizeof *t);
	t->chain = rows_view(&chain_view);
	rows_col(t->chain, step_col.name, step_col.kind, step_col.flags);
	t->id = xstrdup(id);
}

void
wtrace_add(struct wtrace *t, const struct wentry *e)
{
	size_t r = entry_row(t->chain, e);

	if (t->entries++ == 0)
		t->first_ms = t->last_ms = e->time;
	rows_set_int(t->chain, r, WE_STEP_MS, e->time - t->last_ms);
	t->last_ms = e->time;
	t->cost_micros += e->cost_micros;
	t->tokens += e->tokens;
}

struct rowset *
wtrace_summary(const struct wtrace *t)
{
	struct rowset *rs = record(&trace_view);

	rows_set(rs, 0, TR_TRACE, t->id);
	rows_set_u64(rs, 0, TR_ENTRIES, t->entries);
	rows_set_int(rs, 0, TR_DURATION, t->last_ms - t->first_ms);
	rows_set_int(rs, 0, TR_COST, t->cost_micros);
	rows_set_int(rs, 0, TR_TOKENS, t->tokens);
	return rs;
}

void
wtrace_release(struct wtrace *t)
{
	rows_free(t->chain);
	free(t->id);
	memset(t, 0, sizeof *t);
}

struct rowset *
wview_verdict(const struct wverdict *v, const char *origin)
{
	struct rowset *rs = record(&verdict_view);

	rows_set(rs, 0, VC_RESULT, v->fault == WF_NONE ? "ok" : "failed");
	rows_set_u64(rs, 0, VC_ENTRIES, v->entries);
	rows_set_u64(rs, 0, VC_CHECKPOINTS, v->checkpoints);
	if (v->fault != WF_NONE) {
		rows_set(rs, 0, VC_FAULT, wfault_name(v->fault));
		rows_set_u64(rs, 0, VC_AT, v->seq);
		rows_set(rs, 0, VC_DETAIL, v->detail);
	}
	set_hash(rs, 0, VC_ROOT, v->root);
	rows_set(rs, 0, VC_ORIGIN, origin);
	return rs;
}

struct rowset *
wview_inclusion(uint64_t a, uint64_t b, const char *entry_hash, const merkle_hash root,
		merkle_hash *path, size_t len, bool verified)
{
	struct rowset *rs = record(&incl_view);

	rows_set_u64(rs, 0, IC_ENTRY, a);
	rows_set_u64(rs, 0, IC_LEAF, a - 1);
	rows_set_u64(rs, 0, IC_SIZE, b);
	rows_set(rs, 0, IC_HASH, entry_hash);
	set_hash(rs, 0, IC_ROOT, root);
	set_hashes(rs, 0, IC_PATH, path, len);
	rows_set_bool(rs, 0, IC_VERIFIED, verified);
	return rs;
}

struct rowset *
wview_consistency(uint64_t a, uint64_t b, const merkle_hash root_a, const merkle_hash root_b,
		  merkle_hash *proof, size_t len, bool verified)
{
	struct rowset *rs = record(&cons_view);

	rows_set_u64(rs, 0, CC_OLD, a);
	rows_set_u64(rs, 0, CC_NEW, b);
	set_hash(rs, 0, CC_OLD_ROOT, root_a);
	set_hash(rs, 0, CC_NEW_ROOT, root_b);
	set_hashes(rs, 0, CC_PROOF, proof, len);
	rows_set_bool(rs, 0, CC_VERIFIED, verified);
	return rs;
}

struct rowset *
wview_checkpoint(const struct wcheckpoint *cp, uint32_t key_id, const char *note)
{
	struct rowset *rs = record(&cp_view);

	rows_set(rs, 0, CP_ORIGIN, cp->origin);
	rows_set_u64(rs, 0, CP_SIZE, cp->size);
	set_hash(rs, 0, CP_ROOT, cp->root);
	rows_setf(rs, 0, CP_KEY_ID, "%08x", key_id);
	rows_set(rs, 0, CP_NOTE, note);
	return rs;
}

struct rowset *
wview_checkpoints(void)
{
	return rows_view(&cps_view);
}

void
wview_checkpoints_add(struct rowset *rs, const char *note, const struct wcheckpoint *cp,
		      const char *signature)
{
	size_t r = rows_add(rs);

	rows_set_u64(rs, r, CPS_SIZE, cp->size);
	rows_set(rs, r, CPS_ORIGIN, cp->origin);
	rows_set(rs, r, CPS_SIGNATURE, signature);
	set_hash(rs, r, CPS_ROOT, cp->root);
	rows_set(rs, r, CPS_NOTE, note);
}

struct rowset *
wview_key(const struct wkey *k, const char *file, const char *state)
{
	struct rowset *rs = record(&key_view);
	struct buf vk = BUF_INIT;

	wkey_vkey(k, &vk);
	rows_set(rs, 0, WK_NAME, k->name);
	rows_setf(rs, 0, WK_KEY_ID, "%08x", k->id);
	rows_set(rs, 0, WK_VKEY, vk.s);
	rows_set(rs, 0, WK_FILE, file);
	rows_set(rs, 0, WK_STATE, state);
	buf_release(&vk);
	return rs;
}
