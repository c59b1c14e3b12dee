/* ifctl witness verify|prove: check an exported ledger offline. */
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/buf.h"
#include "core/ledgerfile.h"
#include "core/util.h"

/* The trusted key: --key VKEY or --key @FILE; else the file's own, said so. */
static enum status
trusted_key(struct cmd_ctx *ctx, const struct ledger_file *lf, struct wkey *k)
{
	const char *v = cmd_opt(ctx, "key");
	char *text = NULL;
	enum status st;

	if (v == NULL) {
		*k = lf->header_key;
		why_add(&ctx->op, "key", k->name, "the key named in the file itself: this proves "
			"integrity, not who wrote it; pass --key to check against a key you trust");
		return ST_OK;
	}
	if (v[0] == '@') {
		if ((st = read_file(v + 1, &text, NULL, &ctx->err)) != ST_OK)
			return st;
		text[strcspn(text, "\r\n")] = '\0';
		v = text;
	}
	st = wkey_from_vkey(v, k, &ctx->err);
	if (st == ST_OK)
		why_add(&ctx->op, "key", k->name, "given with --key (id %08x)", k->id);
	free(text);
	return st;
}

static enum status
need_file(struct cmd_ctx *ctx)
{
	if (cmd_opt(ctx, "file") == NULL || *cmd_opt(ctx, "file") == '\0')
		return err_set(&ctx->err, ST_USAGE, "witness %s needs --file FILE (an exported "
			       "ledger)", ctx->entry->name);
	return ST_OK;
}

static void
hex_root(char out[WITNESS_HEX], const merkle_hash h)
{
	hex_encode(out, h, MERKLE_HASH);
}

static enum status
run_verify(struct cmd_ctx *ctx)
{
	struct ledger_file lf;
	struct wverdict v;
	struct rowset *rs;
	struct wkey k;
	char root[WITNESS_HEX];
	const char *path = cmd_opt(ctx, "file");
	size_t r;
	enum status st;

	if ((st = ledger_file_read(path, &lf, &ctx->err)) != ST_OK)
		return st;
	if ((st = trusted_key(ctx, &lf, &k)) != ST_OK) {
		ledger_file_release(&lf);
		return st;
	}
	v = ledger_file_verify(&lf, &k);
	why_add(&ctx->op, "checks", "", "each entry's hash over all its fields, the sequence, "
		"the prev chain, every checkpoint's root and Ed25519 signature");
	rs = rows_new("verify");
	rs->single = true;
	rows_col(rs, "result", COL_TEXT, 0);
	rows_col(rs, "entries", COL_NUM, 0);
	rows_col(rs, "checkpoints", COL_NUM, 0);
	rows_col(rs, "fault", COL_TEXT, 0);
	rows_col(rs, "at", COL_NUM, 0);
	rows_col(rs, "detail", COL_TEXT, 0);
	rows_col(rs, "root", COL_TEXT, COL_WIDE);
	rows_col(rs, "origin", COL_TEXT, COL_WIDE);
	r = rows_add(rs);
	rows_set(rs, r, 0, v.fault == WF_NONE ? "ok" : "failed");
	rows_setf(rs, r, 1, "%llu", (unsigned long long)v.entries);
	rows_setf(rs, r, 2, "%llu", (unsigned long long)v.checkpoints);
	if (v.fault != WF_NONE) {
		rows_set(rs, r, 3, wfault_name(v.fault));
		rows_setf(rs, r, 4, "%llu", (unsigned long long)v.seq);
		rows_set(rs, r, 5, v.detail);
	}
	hex_root(root, v.root);
	rows_set(rs, r, 6, root);
	rows_set(rs, r, 7, lf.origin);
	doc_add(&ctx->out, rs);
	ctx->output_on_error = true;
	check_record(&ctx->op, "ledger verifies", v.fault == WF_NONE ? ST_OK : ST_WITNESS,
		     v.fault == WF_NONE ? path : v.detail);
	ledger_file_release(&lf);
	if (v.fault != WF_NONE && !ctx->op.falsify)
		return err_set(&ctx->err, ST_WITNESS, "ledger '%s': %s: %s", path,
			       wfault_name(v.fault), v.detail);
	return ST_OK;
}

/* A proof as a JSON array of hex hashes. */
static void
proof_json(struct buf *out, merkle_hash *p, size_t n)
{
	char hex[WITNESS_HEX];
	size_t i;

	buf_addc(out, '[');
	for (i = 0; i < n; i++) {
		hex_encode(hex, p[i], MERKLE_HASH);
		buf_addf(out, "%s\"%s\"", i ? "," : "", hex);
	}
	buf_addc(out, ']');
}

static enum status
parse_size(struct cmd_ctx *ctx, const char *what, const char *v, uint64_t max, uint64_t *out)
{
	int64_t n;

	if (!parse_int64(v, &n) || n < 1 || (uint64_t)n > max)
		return err_set(&ctx->err, ST_BAD_VALUE, "%s '%s' is out of range 1..%llu", what, v,
			       (unsigned long long)max);
	*out = (uint64_t)n;
	return ST_OK;
}

static enum status
run_prove(struct cmd_ctx *ctx)
{
	const char *inc = cmd_opt(ctx, "inclusion"), *con = cmd_opt(ctx, "consistency");
	merkle_hash path[MERKLE_MAX_PROOF], root_a, root_b, leaf;
	struct ledger_file lf;
	struct merkle t;
	struct rowset *rs;
	struct buf pj = BUF_INIT;
	char ha[WITNESS_HEX], hb[WITNESS_HEX];
	uint64_t a = 0, b = 0;
	size_t len, r;
	bool ok;
	enum status st;

	if (!inc == !con)
		return err_set(&ctx->err, ST_USAGE, "witness prove needs one of --inclusion SEQ or "
			       "--consistency OLD [NEW]");
	if ((st = ledger_file_read(cmd_opt(ctx, "file"), &lf, &ctx->err)) != ST_OK)
		return st;
	ledger_file_tree(&lf, &t);
	st = parse_size(ctx, inc ? "entry" : "old size", inc ? inc : con, lf.n, &a);
	b = lf.n;
	if (st == ST_OK && ctx->argc > 0)
		st = parse_size(ctx, "tree size", ctx->argv[0], lf.n, &b);
	if (st == ST_OK && a > b)
		st = err_set(&ctx->err, ST_BAD_VALUE, "%llu is beyond the tree size %llu",
			     (unsigned long long)a, (unsigned long long)b);
	if (st != ST_OK)
		goto out;
	rs = rows_new("proof");
	rs->single = true;
	merkle_root(&t, b, root_b);
	hex_encode(hb, root_b, MERKLE_HASH);
	if (inc) {
		len = merkle_inclusion(&t, a - 1, b, path);
		memcpy(leaf, t.level[0][a - 1], MERKLE_HASH);
		ok = merkle_verify_inclusion(a - 1, b, leaf, path[0], len, root_b);
		rows_col(rs, "entry", COL_NUM, 0);
		rows_col(rs, "leaf_index", COL_NUM, 0);
		rows_col(rs, "tree_size", COL_NUM, 0);
		rows_col(rs, "entry_hash", COL_TEXT, 0);
		rows_col(rs, "root", COL_TEXT, 0);
		rows_col(rs, "path", COL_JSON, 0);
		rows_col(rs, "verified", COL_BOOL, 0);
		r = rows_add(rs);
		rows_setf(rs, r, 0, "%llu", (unsigned long long)a);
		rows_setf(rs, r, 1, "%llu", (unsigned long long)a - 1);
		rows_setf(rs, r, 2, "%llu", (unsigned long long)b);
		rows_set(rs, r, 3, lf.entries[a - 1].hash);
		rows_set(rs, r, 4, hb);
		proof_json(&pj, path, len);
		rows_set(rs, r, 5, pj.s);
		rows_set(rs, r, 6, ok ? "true" : "false");
	} else {
		len = merkle_consistency(&t, a, b, path);
		merkle_root(&t, a, root_a);
		hex_encode(ha, root_a, MERKLE_HASH);
		ok = merkle_verify_consistency(a, b, root_a, root_b, path[0], len);
		rows_col(rs, "old_size", COL_NUM, 0);
		rows_col(rs, "new_size", COL_NUM, 0);
		rows_col(rs, "old_root", COL_TEXT, 0);
		rows_col(rs, "new_root", COL_TEXT, 0);
		rows_col(rs, "proof", COL_JSON, 0);
		rows_col(rs, "verified", COL_BOOL, 0);
		r = rows_add(rs);
		rows_setf(rs, r, 0, "%llu", (unsigned long long)a);
		rows_setf(rs, r, 1, "%llu", (unsigned long long)b);
		rows_set(rs, r, 2, ha);
		rows_set(rs, r, 3, hb);
		proof_json(&pj, path, len);
		rows_set(rs, r, 4, pj.s);
		rows_set(rs, r, 5, ok ? "true" : "false");
	}
	why_add(&ctx->op, "algorithm", "RFC 9162", "leaf = SHA-256(0x00 || entry hash bytes), "
		"node = SHA-256(0x01 || left || right); verify with sections 2.1.3.2 and 2.1.4.2");
	doc_add(&ctx->out, rs);
	if (!ok)
		st = err_set(&ctx->err, ST_WITNESS, "the proof does not verify against the root");
out:
	buf_release(&pj);
	merkle_release(&t);
	ledger_file_release(&lf);
	return st;
}

static const struct cmd_opt verify_opts[] = {
	{ "file", 'f', "FILE", "an exported ledger (JSON lines) to verify, offline" },
	{ "key", 0, "VKEY|@FILE", "the verifier key to trust: NAME+ID+BASE64, or a file holding it" },
	{ NULL, 0, NULL, NULL },
};
static const struct cmd_opt prove_opts[] = {
	{ "file", 'f', "FILE", "an exported ledger (JSON lines)" },
	{ "inclusion", 0, "SEQ", "prove entry SEQ is in the tree (of the whole file, or of size NEW)" },
	{ "consistency", 0, "OLD", "prove the tree of OLD entries is a prefix of the tree of NEW" },
	{ NULL, 0, NULL, NULL },
};

static const struct cmd_entry witness_verify_entry = {
	.name = "verify", .args = "--file FILE [--key VKEY|@FILE]",
	.summary = "check an exported ledger: hashes, chain, tree, signed checkpoints; exit 5 on the first fault",
	.opts = verify_opts, .validate = need_file, .run = run_verify,
};
static const struct cmd_entry witness_prove_entry = {
	.name = "prove", .args = "--file FILE (--inclusion SEQ | --consistency OLD) [NEW]",
	.summary = "print an RFC 9162 inclusion or consistency proof that a third party can check",
	.opts = prove_opts, .validate = need_file, .run = run_prove,
};
static const struct cmd_entry *const witness_subs[] = {
	&witness_verify_entry, &witness_prove_entry, NULL,
};

const struct cmd_entry cmd_witness_entry = {
	.name = "witness",
	.args = "verify|prove",
	.summary = "the tamper-evident ledger: verify exported ledgers and prove entries offline",
	.subs = witness_subs,
};
