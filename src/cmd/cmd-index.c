/* ifctl index rebuild: the local index, rebuilt from the streams. */
#include "cmd/cmd.h"
#include "core/util.h"
#include "core/windex.h"

enum index_col { IX_WITNESS_ENTRIES, IX__COUNT };

static const struct view_col index_cols[] = {
	[IX_WITNESS_ENTRIES] = { "witness_entries", COL_NUM, 0 },
};
_Static_assert(ARRAY_SIZE(index_cols) == IX__COUNT, "one column per index_col");

static const struct view index_view = VIEW("index", index_cols);

static enum status
run_rebuild(struct cmd_ctx *ctx)
{
	struct store *s = NULL;
	struct rowset *rs;
	uint64_t added = 0;
	size_t r;
	enum status st;

	if (ctx->op.falsify) {
		check(&ctx->op, "server reachable", ST_OK, NULL, bus_url(ctx->bus));
		return ST_OK;
	}
	if ((st = windex_open_fresh(&ctx->cfg, &s, &ctx->err)) == ST_OK)
		st = windex_rebuild(ctx->bus, s, &added, &ctx->err);
	store_close(s);
	if (st != ST_OK)
		return st;
	rs = rows_view(&index_view);
	rs->single = true;
	r = rows_add(rs);
	rows_set_u64(rs, r, IX_WITNESS_ENTRIES, added);
	doc_add(&ctx->out, rs);
	return ST_OK;
}

static const struct cmd_entry index_rebuild_entry = {
	.name = "rebuild",
	.summary = "empty the local index and copy every witness entry from the stream again",
	.flags = CMD_NEEDS_BUS | CMD_MUTATES | CMD_NO_WITNESS, .run = run_rebuild,
	.examples =
		"ifctl index rebuild\n"
		"ifctl index rebuild -o json",
	.see_also = "doctor, witness query, witness checkpoint",
	.schema = "index-rebuild",
};
static const struct cmd_entry *const index_subs[] = { &index_rebuild_entry, NULL };

const struct cmd_entry cmd_index_entry = {
	.name = "index",
	.args = "rebuild",
	.summary = "the local SQLite index, a cache of the streams",
	.subs = index_subs,
	.examples =
		"ifctl index rebuild\n"
		"ifctl doctor                # says when the index needs it",
	.see_also = "doctor, witness",
};
