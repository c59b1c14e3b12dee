/*
 * ifctl witness append|export|checkpoint|verify|prove: the ledger on the
 * server, and exported ledgers checked offline.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cmd/cmd.h"
#include "cmd/follow.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/ledger.h"
#include "core/ledgerfile.h"
#include "core/util.h"
#include "core/windex.h"
#include "core/witnessbench.h"

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
		if ((st = read_file(v + 1, READ_MAX_KEY, READ_TEXT, &text, NULL, &ctx->err)) != ST_OK)
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

static void
hex_root(char out[WITNESS_HEX], const merkle_hash h)
{
	hex_encode(out, h, MERKLE_HASH);
}

/* Stored checkpoints, sorted by size, fed to the verifier after their entry. */
struct stored {
	struct wverifier *v;
	char **note;
	uint64_t *size;
	size_t n, cap, next;
};

static enum status
collect_note(void *arg, const char *note, struct err *err)
{
	struct stored *c = arg;
	struct wcheckpoint cp;
	size_t i;

	(void)err;
	wcheckpoint_open(note, NULL, &cp, NULL);	/* size only; a bad one fails later */
	xgrow(&c->note, &c->cap, c->n + 1, sizeof *c->note);
	c->size = xrealloc(c->size, c->cap * sizeof *c->size);
	for (i = c->n; i > 0 && c->size[i - 1] > cp.size; i--) {
		c->note[i] = c->note[i - 1];
		c->size[i] = c->size[i - 1];
	}
	c->note[i] = xstrdup(note);
	c->size[i] = cp.size;
	c->n++;
	return ST_OK;
}

/* Feed the checkpoints of sizes up to 'upto' (all that remain with UINT64_MAX). */
static void
feed_notes(struct stored *c, uint64_t upto)
{
	while (c->next < c->n && c->size[c->next] <= upto)
		wverifier_checkpoint(c->v, c->note[c->next++]);
}

static void
stored_release(struct stored *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		free(c->note[i]);
	free(c->note);
	free(c->size);
}

static enum status
feed_verifier(void *arg, const struct wentry *e, struct err *err)
{
	struct stored *c = arg;

	(void)err;
	wverifier_entry(c->v, e);
	feed_notes(c, e->seq);
	return ST_OK;
}

/* A message on the ledger's subject that is not an entry: a fault named by its sequence. */
static enum status
feed_foreign(void *arg, uint64_t seq, const char *reason, const char *data, size_t len,
	     struct err *err)
{
	struct stored *c = arg;

	(void)data, (void)len, (void)err;
	wverifier_foreign(c->v, seq, reason);
	return ST_OK;
}

/* The key online checkpoints are checked with: --key, else this host's own. */
static enum status
online_key(struct cmd_ctx *ctx, struct wkey *k, bool *have)
{
	enum status st;

	*have = false;
	if (cmd_opt(ctx, "key")) {
		struct ledger_file none;
		memset(&none, 0, sizeof none);
		if ((st = trusted_key(ctx, &none, k)) == ST_OK)
			*have = true;
		return st;
	}
	st = witness_key(&ctx->cfg, false, k, NULL, &ctx->err);
	if (st == ST_OK) {
		*have = true;
		why_add(&ctx->op, "key", k->name, "this host's witness key (id %08x); pass --key to "
			"check against another", k->id);
	} else if (st == ST_NOT_FOUND) {
		why_add(&ctx->op, "key", "none", "no witness key on this host and no --key: "
			"checkpoint roots are checked, their signatures are not");
		st = ST_OK;
	}
	return st;
}

/* Verify the ledger on the server: every entry, in order, and every stored checkpoint. */
static enum status
verify_online(struct cmd_ctx *ctx, struct ledger_file *lf, struct wverdict *v)
{
	struct wverifier w;
	struct stored c = { 0 };
	struct wkey k;
	uint64_t n = 0, ncp = 0;
	bool have_key;
	enum status st;

	memset(lf, 0, sizeof *lf);
	snprintf(lf->origin, sizeof lf->origin, "%s", LEDGER_STREAM);
	if ((st = online_key(ctx, &k, &have_key)) != ST_OK || (st = cmd_connect(ctx)) != ST_OK)
		return st;
	wverifier_init(&w, have_key ? &k : NULL);
	w.trusted = cmd_opt(ctx, "key") != NULL;
	w.allow_unsigned_tail = cmd_flag(ctx, "allow-unsigned-tail");
	c.v = &w;
	st = ledger_checkpoints(ctx->bus, collect_note, &c, &ncp, &ctx->err);
	if (st == ST_OK)
		st = ledger_read_marked(ctx->bus, 1, feed_verifier, feed_foreign, &c, &n, &ctx->err);
	if (st == ST_OK)
		feed_notes(&c, UINT64_MAX);	/* beyond the last entry: entries are missing */
	wverifier_finish(&w);
	*v = w.v;
	wverifier_release(&w);
	stored_release(&c);
	why_add(&ctx->op, "source", LEDGER_STREAM, "%llu entries and %llu stored checkpoints "
		"(%s) read from the server", (unsigned long long)n, (unsigned long long)ncp,
		CHECKPOINT_STREAM);
	return st;
}

/* --why: which checkpoints signed by the trusted key cover which entries. */
static void
why_coverage(struct cmd_ctx *ctx, const struct wverdict *v)
{
	uint64_t n = v->entries;

	if (!cmd_opt(ctx, "key")) {
		why_add(&ctx->op, "coverage", "not required", "no --key: checkpoints are checked, "
			"but entries need not be under one (integrity only)");
		return;
	}
	if (v->covered)
		why_add(&ctx->op, "coverage", "signed", "checkpoints signed by the key cover "
			"entries 1..%llu (the first at size %llu, the last at %llu; each root "
			"covers every entry before it)", (unsigned long long)v->covered,
			(unsigned long long)v->signed_first, (unsigned long long)v->covered);
	else
		why_add(&ctx->op, "coverage", "none", "no checkpoint signed by the key");
	if (v->covered < n)
		why_add(&ctx->op, "unsigned", v->tail_allowed ? "allowed" : "fault", "entries "
			"%llu..%llu are under no checkpoint signed by the key%s",
			(unsigned long long)v->covered + 1, (unsigned long long)n,
			v->tail_allowed ? ": let through by --allow-unsigned-tail, so nothing "
			"proves the key holder wrote them" : "");
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

	if (path == NULL) {
		if ((st = verify_online(ctx, &lf, &v)) != ST_OK)
			return st;
		path = LEDGER_STREAM;
	} else {
		if ((st = ledger_file_read(path, &lf, &ctx->err)) != ST_OK)
			return st;
		if ((st = trusted_key(ctx, &lf, &k)) != ST_OK) {
			ledger_file_release(&lf);
			return st;
		}
		v = cmd_opt(ctx, "key") ? ledger_file_verify_trusted(&lf, &k,
				cmd_flag(ctx, "allow-unsigned-tail")) : ledger_file_verify(&lf, &k);
	}
	why_add(&ctx->op, "checks", "", "each entry's hash over all its fields, the sequence, "
		"the prev chain, every checkpoint's root and Ed25519 signature");
	why_coverage(ctx, &v);
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

/* One row: the entry, its leaf index, the tree, the audit path; checked first. */
static bool
prove_inclusion(struct merkle_view *t, const char *entry_hash, uint64_t a, uint64_t b,
		struct rowset *rs)
{
	merkle_hash path[MERKLE_MAX_PROOF], root, leaf;
	struct buf pj = BUF_INIT;
	char hr[WITNESS_HEX];
	size_t len = merkle_view_inclusion(t, a - 1, b, path), r;
	bool ok;

	ok = merkle_view_root(t, b, root) && t->node(t->arg, 0, a - 1, leaf) && !t->failed;
	hex_encode(hr, root, MERKLE_HASH);
	ok = ok && merkle_verify_inclusion(a - 1, b, leaf, path[0], len, root);
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
	rows_set(rs, r, 3, entry_hash);
	rows_set(rs, r, 4, hr);
	proof_json(&pj, path, len);
	rows_set(rs, r, 5, pj.s);
	rows_set(rs, r, 6, ok ? "true" : "false");
	buf_release(&pj);
	return ok;
}

/* One row: both sizes and roots and the consistency proof; checked first. */
static bool
prove_consistency(struct merkle_view *t, uint64_t a, uint64_t b, struct rowset *rs)
{
	merkle_hash proof[MERKLE_MAX_PROOF], root_a, root_b;
	struct buf pj = BUF_INIT;
	char ha[WITNESS_HEX], hb[WITNESS_HEX];
	size_t len = merkle_view_consistency(t, a, b, proof), r;
	bool ok;

	ok = merkle_view_root(t, a, root_a) && merkle_view_root(t, b, root_b) && !t->failed;
	hex_encode(ha, root_a, MERKLE_HASH);
	hex_encode(hb, root_b, MERKLE_HASH);
	ok = ok && merkle_verify_consistency(a, b, root_a, root_b, proof[0], len);
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
	proof_json(&pj, proof, len);
	rows_set(rs, r, 4, pj.s);
	rows_set(rs, r, 5, ok ? "true" : "false");
	buf_release(&pj);
	return ok;
}

/* The ledger proofs are made from: an exported file, or the server's through the index. */
struct proof_source {
	struct ledger_file lf;
	struct merkle tree;
	struct store *s;
	struct merkle_view v;
	bool file;
};

static enum status
source_open(struct cmd_ctx *ctx, struct proof_source *src)
{
	const char *path = cmd_opt(ctx, "file");
	uint64_t added = 0;
	enum status st;

	memset(src, 0, sizeof *src);
	if (path) {
		if ((st = ledger_file_read(path, &src->lf, &ctx->err)) != ST_OK)
			return st;
		src->file = true;
		ledger_file_tree(&src->lf, &src->tree);
		merkle_view_of(&src->v, &src->tree);
		why_add(&ctx->op, "source", path, "%zu entries of an exported ledger", src->lf.n);
		return ST_OK;
	}
	st = cmd_connect(ctx);
	if (st == ST_OK)
		st = windex_open(&ctx->cfg, &src->s, &ctx->err);
	if (st == ST_OK)
		st = windex_sync(ctx->bus, src->s, &added, &ctx->err);
	if (st == ST_OK && (st = windex_view(src->s, &src->v, &ctx->err)) == ST_OK) {
		why_add(&ctx->op, "source", LEDGER_STREAM, "%llu entries, the tree kept by the local "
			"index (%llu copied now, each checked against the one before)",
			(unsigned long long)src->v.size, (unsigned long long)added);
	}
	return st;
}

static void
source_close(struct proof_source *src)
{
	if (src->file) {
		merkle_release(&src->tree);
		ledger_file_release(&src->lf);
	}
	store_close(src->s);
}

/*
 * The index's roots at a (when not 0) and b, checked against the stream
 * before a proof is made from them: from this host's last checkpoint when
 * it has the key, else from entry 1 (windex_check_roots).
 */
static enum status
index_roots_ok(struct cmd_ctx *ctx, struct store *s, uint64_t a, uint64_t b)
{
	uint64_t sizes[2] = { a, b };
	struct wkey k;
	bool have = witness_key(&ctx->cfg, false, &k, NULL, NULL) == ST_OK;
	size_t first = a == 0 || a == b;
	enum status st = windex_check_roots(ctx->bus, s, have ? &k : NULL, sizes + first,
					    2 - first, &ctx->err);

	if (st == ST_OK)
		why_add(&ctx->op, "index", "checked", "the index's root at %llu recomputed from "
			"the stream %s", (unsigned long long)b, have ? "after this host's last "
			"checkpoint" : "from entry 1 (no witness key on this host)");
	sodium_memzero(&k, sizeof k);
	return st;
}

static enum status
run_prove(struct cmd_ctx *ctx)
{
	const char *inc = cmd_opt(ctx, "inclusion"), *con = cmd_opt(ctx, "consistency");
	struct proof_source src;
	char hash[WITNESS_HEX] = "";
	struct rowset *rs;
	uint64_t a = 0, b = 0;
	bool ok;
	enum status st;

	if (!inc == !con)
		return err_set(&ctx->err, ST_USAGE, "witness prove needs one of --inclusion SEQ or "
			       "--consistency OLD [NEW]");
	if ((st = source_open(ctx, &src)) != ST_OK) {
		source_close(&src);
		return st;
	}
	if (src.v.size == 0)
		st = err_set(&ctx->err, ST_NOT_FOUND, "the ledger is empty: nothing to prove");
	if (st == ST_OK)
		st = parse_size(ctx, inc ? "entry" : "old size", inc ? inc : con, src.v.size, &a);
	b = src.v.size;
	if (st == ST_OK && ctx->argc > 0)
		st = parse_size(ctx, "tree size", ctx->argv[0], src.v.size, &b);
	if (st == ST_OK && a > b)
		st = err_set(&ctx->err, ST_BAD_VALUE, "%llu is beyond the tree size %llu",
			     (unsigned long long)a, (unsigned long long)b);
	if (st == ST_OK && inc && src.file)
		snprintf(hash, sizeof hash, "%s", src.lf.entries[a - 1].hash);
	else if (st == ST_OK && inc)
		st = store_witness_hash(src.s, a, hash, &ctx->err);
	if (st == ST_OK && !src.file)
		st = index_roots_ok(ctx, src.s, inc ? 0 : a, b);
	if (st == ST_OK) {
		rs = rows_new("proof");
		rs->single = true;
		ok = inc ? prove_inclusion(&src.v, hash, a, b, rs) : prove_consistency(&src.v, a, b, rs);
		why_add(&ctx->op, "algorithm", "RFC 9162", "leaf = SHA-256(0x00 || entry hash "
			"bytes), node = SHA-256(0x01 || left || right); verify with sections "
			"2.1.3.2 and 2.1.4.2");
		doc_add(&ctx->out, rs);
		check_record(&ctx->op, "the proof verifies against the root", ok ? ST_OK : ST_WITNESS,
			     inc ? "RFC 9162 2.1.3.2" : "RFC 9162 2.1.4.2");
		if (!ok && !src.file)	/* the index contradicts itself: its rows changed */
			st = err_set(&ctx->err, ST_INDEX_CORRUPT, "index '%s' is damaged: the proof "
				     "its tree gives does not verify against its own root",
				     store_path(src.s));
		else if (!ok)
			st = err_set(&ctx->err, ST_WITNESS, "the proof does not verify against the root");
	}
	source_close(&src);
	return st;
}

/* --- append -------------------------------------------------------------- */

/* A count or amount option: 0 or more, 0 when absent. */
static enum status
opt_count(struct cmd_ctx *ctx, const char *name, int64_t *out)
{
	return cmd_opt_int(ctx, name, 0, INT64_MAX, 0, out);
}

/* The payload: --payload JSON|@FILE, canonical; --why=TEXT adds "why". */
static enum status
append_payload(struct cmd_ctx *ctx, char **out)
{
	struct buf b = BUF_INIT;
	char *text = NULL;
	enum status st;

	*out = NULL;
	st = cmd_opt_json(ctx, "payload", &text);
	if (st == ST_OK && text)
		st = json_canonical(text, &b, &ctx->err);
	if (st == ST_OK && ctx->op.justification) {
		char *base = text ? buf_detach(&b) : NULL;
		buf_reset(&b);
		st = json_with_member(base, "why", ctx->op.justification, &b, &ctx->err);
		free(base);
	}
	if (st == ST_OK && b.len)
		*out = buf_detach(&b);
	buf_release(&b);
	free(text);
	return st;
}

static enum status
validate_append(struct cmd_ctx *ctx)
{
	int64_t n;
	char *payload = NULL;
	enum status st;

	if (!cmd_opt(ctx, "component") || !cmd_opt(ctx, "event"))
		return err_set(&ctx->err, ST_USAGE, "witness append needs --component and --event");
	if ((st = opt_count(ctx, "cost-micros", &n)) != ST_OK ||
	    (st = opt_count(ctx, "tokens", &n)) != ST_OK ||
	    (st = append_payload(ctx, &payload)) != ST_OK)
		return st;
	free(payload);
	return ST_OK;
}

static void
entry_row(struct cmd_ctx *ctx, const struct wentry *e)
{
	struct rowset *rs = rows_new("entry");
	char when[32];
	size_t r;

	rs->single = true;
	rows_col(rs, "seq", COL_NUM, 0);
	rows_col(rs, "time", COL_TIME, 0);
	rows_col(rs, "component", COL_TEXT, 0);
	rows_col(rs, "event", COL_TEXT, 0);
	rows_col(rs, "actor", COL_TEXT, 0);
	rows_col(rs, "trace", COL_TEXT, 0);
	rows_col(rs, "hash", COL_TEXT, 0);
	rows_col(rs, "prev", COL_TEXT, COL_WIDE);
	rows_col(rs, "payload", COL_JSON, COL_WIDE);
	r = rows_add(rs);
	rows_setf(rs, r, 0, "%llu", (unsigned long long)e->seq);
	fmt_time_ms(when, e->time);
	rows_set(rs, r, 1, when);
	rows_set(rs, r, 2, e->component);
	rows_set(rs, r, 3, e->event);
	rows_set(rs, r, 4, e->actor);
	rows_set(rs, r, 5, e->trace);
	rows_set(rs, r, 6, e->hash);
	rows_set(rs, r, 7, e->prev);
	rows_set(rs, r, 8, e->payload);
	doc_add(&ctx->out, rs);
}

static enum status
run_append(struct cmd_ctx *ctx)
{
	struct wentry e;
	enum status st;

	wentry_init(&e);
	if (ctx->op.falsify) {	/* the arguments were checked before connecting */
		check_record(&ctx->op, "entry is valid", ST_OK, "nothing is appended");
		return ST_OK;
	}
	e.time = wall_ms();
	e.component = xstrdup(cmd_opt(ctx, "component"));
	e.event = xstrdup(cmd_opt(ctx, "event"));
	e.actor = xstrdup(cmd_opt(ctx, "actor") ? cmd_opt(ctx, "actor") : ctx->op.actor);
	e.trace = xstrdup(ctx->op.trace_id);
	e.swarm = xstrdup_or_null(cmd_opt(ctx, "swarm"));
	e.task = xstrdup_or_null(cmd_opt(ctx, "task"));
	opt_count(ctx, "cost-micros", &e.cost_micros);
	opt_count(ctx, "tokens", &e.tokens);
	/* The dispatcher's writer: the checkpoints this entry makes due follow. */
	if ((st = append_payload(ctx, &e.payload)) == ST_OK)
		st = ledger_append(ctx->witness, &e, &ctx->err);
	if (st == ST_OK)
		entry_row(ctx, &e);
	wentry_release(&e);
	return st;
}

/* --- export and checkpoint ------------------------------------------------ */

/* This host's key, to sign checkpoints with. */
static enum status
signing_key(struct cmd_ctx *ctx, struct wkey *k)
{
	enum status st = witness_key(&ctx->cfg, false, k, NULL, &ctx->err);

	if (st == ST_NOT_FOUND)
		err_prefix(&ctx->err, "cannot sign checkpoints");
	return st;
}

/* The ledger as export reads it: the entries, and foreign messages where they stand. */
struct export_src {
	struct wentries c;
	struct foreign {
		uint64_t seq;
		size_t after;		/* entries before it */
		char *reason;
		char *data;
		size_t len;
	} *f;
	size_t nf, capf;
};

static enum status
export_entry(void *arg, const struct wentry *e, struct err *err)
{
	struct export_src *x = arg;

	(void)err;
	xgrow(&x->c.v, &x->c.cap, x->c.n + 1, sizeof *x->c.v);
	wentry_copy(&x->c.v[x->c.n++], e);
	return ST_OK;
}

static enum status
export_foreign(void *arg, uint64_t seq, const char *reason, const char *data, size_t len,
	       struct err *err)
{
	struct export_src *x = arg;
	struct foreign *f;

	(void)err;
	xgrow(&x->f, &x->capf, x->nf + 1, sizeof *x->f);
	f = &x->f[x->nf++];
	f->seq = seq;
	f->after = x->c.n;
	f->reason = xstrdup(reason);
	f->data = xstrndup(data, len);
	f->len = len;
	return ST_OK;
}

static void
export_src_release(struct export_src *x)
{
	size_t i;

	for (i = 0; i < x->nf; i++) {
		free(x->f[i].reason);
		free(x->f[i].data);
	}
	free(x->f);
	wentries_release(&x->c);
}

/* Read the whole ledger, going on around foreign messages, and the local signing key. */
static enum status
load_ledger(struct cmd_ctx *ctx, struct export_src *x, struct wkey *k)
{
	enum status st = signing_key(ctx, k);
	uint64_t n;

	if (st == ST_OK)
		st = ledger_read_marked(ctx->bus, 1, export_entry, export_foreign, x, &n, &ctx->err);
	return st;
}

/* Fault lines for the foreign messages that stand after 'after' entries. */
static void
export_marks(FILE *f, const struct export_src *x, size_t *next, size_t after)
{
	for (; *next < x->nf && x->f[*next].after == after; (*next)++)
		ledger_file_fault(f, x->f[*next].seq, x->f[*next].reason, x->f[*next].data,
				  x->f[*next].len);
}

static void
sign_head(const struct wkey *k, struct merkle *t, size_t size, struct buf *note)
{
	struct wcheckpoint cp = { LEDGER_STREAM, size, { 0 } };

	snprintf(cp.origin, sizeof cp.origin, "%s", k->name);
	merkle_root(t, size, cp.root);
	wcheckpoint_sign(k, &cp, note);
}

/* One CSV row per entry; with proofs, its inclusion proof in the whole tree. */
static void
export_csv(FILE *f, const struct wentries *c, struct merkle *t, bool proofs)
{
	merkle_hash path[MERKLE_MAX_PROOF], root;
	char hex[WITNESS_HEX];
	size_t i, j, len;

	merkle_root(t, c->n, root);
	fputs("seq,time,component,event,actor,trace,swarm,task,cost_micros,tokens,payload,prev,hash", f);
	fputs(proofs ? ",tree_size,root,inclusion_proof\r\n" : "\r\n", f);
	for (i = 0; i < c->n; i++) {
		const struct wentry *e = &c->v[i];
		const char *text[] = { e->component, e->event, e->actor, e->trace, e->swarm, e->task };
		fprintf(f, "%llu,%lld", (unsigned long long)e->seq, (long long)e->time);
		for (j = 0; j < ARRAY_SIZE(text); j++) {
			struct buf cell = BUF_INIT;
			csv_cell(&cell, text[j] ? text[j] : "");
			fprintf(f, ",%s", cell.s);
			buf_release(&cell);
		}
		{
			struct buf cell = BUF_INIT;
			csv_cell(&cell, e->payload ? e->payload : "");
			fprintf(f, ",%lld,%lld,%s,%s,%s", (long long)e->cost_micros,
				(long long)e->tokens, cell.s, e->prev, e->hash);
			buf_release(&cell);
		}
		if (proofs) {
			hex_encode(hex, root, MERKLE_HASH);
			fprintf(f, ",%zu,%s,", c->n, hex);
			len = merkle_inclusion(t, i, c->n, path);
			for (j = 0; j < len; j++) {
				hex_encode(hex, path[j], MERKLE_HASH);
				fprintf(f, "%s%s", j ? " " : "", hex);
			}
		}
		fputs("\r\n", f);
	}
}

static enum status
run_export(struct cmd_ctx *ctx)
{
	struct export_src x = { 0 };
	struct wentries c;
	struct merkle t;
	struct wkey k;
	struct stored cps = { 0 };
	char *text = NULL;
	size_t len = 0, i, stored = 0, foreign = 0, mark = 0;
	uint64_t ncp = 0, last = 0;
	FILE *f;
	enum status st;

	const char *format = cmd_opt(ctx, "format") ? cmd_opt(ctx, "format") : "jsonl";
	bool csv = strcmp(format, "csv") == 0, proofs = cmd_flag(ctx, "proofs");

	if (!csv && strcmp(format, "jsonl") != 0)
		return err_set(&ctx->err, ST_USAGE, "--format: '%s' is not jsonl or csv", format);
	if ((st = load_ledger(ctx, &x, &k)) != ST_OK ||
	    (st = ledger_checkpoints(ctx->bus, collect_note, &cps, &ncp, &ctx->err)) != ST_OK) {
		export_src_release(&x);
		stored_release(&cps);
		return st;
	}
	c = x.c;
	f = open_memstream(&text, &len);
	merkle_init(&t);
	if (!csv)
		ledger_file_header(f, k.name, &k);
	if (!csv)
		export_marks(f, &x, &mark, 0);
	for (i = 0; i < c.n; i++) {
		if (!csv)
			ledger_file_entry(f, &c.v[i]);
		witness_tree_add(&t, &c.v[i]);
		for (; !csv && cps.next < cps.n && cps.size[cps.next] <= i + 1; cps.next++) {
			struct wcheckpoint cp;
			if (wcheckpoint_open(cps.note[cps.next], &k, &cp, NULL) != ST_OK) {
				foreign++;	/* another key's: not verifiable against this header */
				continue;
			}
			ledger_file_checkpoint(f, cps.note[cps.next]);
			stored++;
			last = cp.size;
		}
		if (!csv)
			export_marks(f, &x, &mark, i + 1);
		/* The head is signed only over a ledger without foreign messages. */
		if (!csv && i + 1 == c.n && last != c.n && x.nf == 0) {
			struct buf note = BUF_INIT;
			sign_head(&k, &t, i + 1, &note);
			ledger_file_checkpoint(f, note.s);
			buf_release(&note);
		}
	}
	if (csv) {
		export_csv(f, &c, &t, proofs);
	} else if (proofs) {
		merkle_hash path[MERKLE_MAX_PROOF], root;
		merkle_root(&t, c.n, root);
		for (i = 0; i < c.n; i++) {
			size_t plen = merkle_inclusion(&t, i, c.n, path);
			ledger_file_proof(f, &c.v[i], c.n, root, path[0], plen);
		}
	}
	fclose(f);
	why_add(&ctx->op, "checkpoints", "", "%zu stored on %s (made every %lld entries), %s; "
		"%zu signed by another key left out", stored, CHECKPOINT_STREAM,
		(long long)cfg_int(&ctx->cfg, CK_WITNESS_CHECKPOINT_EVERY),
		last == c.n ? "the last one at the end" : "and the head signed now by this host's key",
		foreign);
	if (cmd_opt(ctx, "file")) {
		st = write_file_atomic(cmd_opt(ctx, "file"), text, len, 0644, &ctx->err);
		free(text);
	} else {
		ctx->out.text = text;
	}
	if (st == ST_OK && x.nf) {	/* all written, the marks in place; still a failure */
		ctx->output_on_error = true;
		st = err_set(&ctx->err, ST_LEDGER_FOREIGN, "stream '%s' message %llu%s is not a "
			     "witness entry: exported as a \"fault\" line%s, the head left unsigned",
			     LEDGER_STREAM, (unsigned long long)x.f[0].seq, x.nf > 1 ? " (and more)" : "",
			     csv ? " in JSON lines only (not in CSV)" : "");
	}
	merkle_release(&t);
	export_src_release(&x);
	stored_release(&cps);
	return st;
}

/* The signed note as it is (to keep in a file), or its fields with -o json, yaml ... */
static void
checkpoint_out(struct cmd_ctx *ctx, const struct wkey *k, uint64_t size, struct buf *note)
{
	struct wcheckpoint cp;
	struct rowset *rs;
	char root[WITNESS_HEX];

	if (ctx->format == OUT_TABLE) {
		ctx->out.text = buf_detach(note);
		return;
	}
	wcheckpoint_open(note->s, k, &cp, NULL);
	hex_root(root, cp.root);
	rs = rows_new("checkpoint");
	rs->single = true;
	rows_col(rs, "origin", COL_TEXT, 0);
	rows_col(rs, "size", COL_NUM, 0);
	rows_col(rs, "root", COL_TEXT, 0);
	rows_col(rs, "key_id", COL_TEXT, 0);
	rows_col(rs, "note", COL_TEXT, 0);
	rows_add(rs);
	rows_set(rs, 0, 0, cp.origin);
	rows_setf(rs, 0, 1, "%llu", (unsigned long long)size);
	rows_set(rs, 0, 2, root);
	rows_setf(rs, 0, 3, "%08x", k->id);
	rows_set(rs, 0, 4, note->s);
	doc_add(&ctx->out, rs);
}

static enum status
run_checkpoint(struct cmd_ctx *ctx)
{
	struct buf note = BUF_INIT;
	struct store *s = NULL;
	uint64_t added = 0, size = 0;
	struct wkey k;
	enum status st = signing_key(ctx, &k);

	check_record(&ctx->op, "this host has the witness key", st, k.name);
	if (st != ST_OK)
		return st;
	st = windex_open(&ctx->cfg, &s, &ctx->err);
	if (st == ST_OK)
		st = windex_sync(ctx->bus, s, &added, &ctx->err);
	check_record(&ctx->op, "the ledger verifies up to its tail", st, LEDGER_STREAM);
	if (st == ST_OK && (st = store_witness_last(s, &size, &ctx->err)) == ST_OK && size == 0)
		st = err_set(&ctx->err, ST_NOT_FOUND, "the ledger is empty: nothing to checkpoint");
	if (st == ST_OK && ctx->op.falsify) {
		check_record(&ctx->op, "a checkpoint can be signed", ST_OK, k.name);
	} else if (st == ST_OK) {
		st = windex_checkpoint(ctx->bus, s, &k, size, &note, &ctx->err);
		why_add(&ctx->op, "tree", "", "%llu entries, root from the local index's tree "
			"(%llu entries copied now, each checked against the one before)",
			(unsigned long long)size, (unsigned long long)added);
		why_add(&ctx->op, "stored", CHECKPOINT_STREAM, "as message id '%s/%llu' (made twice, "
			"stored once)", k.name, (unsigned long long)size);
	}
	if (st == ST_OK && !ctx->op.falsify)
		checkpoint_out(ctx, &k, size, &note);
	buf_release(&note);
	store_close(s);
	sodium_memzero(&k, sizeof k);
	return st;
}

/* Stored checkpoints, oldest first, each checked with this host's key (or --key). */
static enum status
run_checkpoints(struct cmd_ctx *ctx)
{
	struct stored c = { 0 };
	struct rowset *rs = rows_new("checkpoints");
	struct wkey k;
	uint64_t n = 0;
	bool have_key;
	size_t i, r, bad = 0;
	enum status st = online_key(ctx, &k, &have_key);

	rows_col(rs, "size", COL_NUM, 0);
	rows_col(rs, "origin", COL_TEXT, 0);
	rows_col(rs, "signature", COL_TEXT, 0);
	rows_col(rs, "root", COL_TEXT, 0);
	rows_col(rs, "note", COL_TEXT, COL_DATA);
	if (st == ST_OK)
		st = ledger_checkpoints(ctx->bus, collect_note, &c, &n, &ctx->err);
	for (i = 0; st == ST_OK && i < c.n; i++) {
		struct wcheckpoint cp;
		char root[WITNESS_HEX] = "";
		const char *sig = "unchecked";
		if (wcheckpoint_open(c.note[i], NULL, &cp, NULL) != ST_OK)
			sig = "malformed";
		else if (have_key)
			sig = wcheckpoint_open(c.note[i], &k, &cp, NULL) == ST_OK ? "good" : "not by key";
		hex_root(root, cp.root);
		if (strcmp(sig, "good") != 0 && strcmp(sig, "unchecked") != 0)
			bad++;
		r = rows_add(rs);
		rows_setf(rs, r, 0, "%llu", (unsigned long long)c.size[i]);
		rows_set(rs, r, 1, cp.origin);
		rows_set(rs, r, 2, sig);
		rows_set(rs, r, 3, root);
		rows_set(rs, r, 4, c.note[i]);
	}
	doc_add(&ctx->out, rs);
	if (st == ST_OK) {
		char ev[64];
		snprintf(ev, sizeof ev, "%zu of %zu %s", c.n - bad, c.n,
			 have_key ? "signed by the key" : "(no key: unchecked)");
		check_record(&ctx->op, "every stored checkpoint is signed by the key",
			     bad ? ST_WITNESS : ST_OK, ev);
	}
	stored_release(&c);
	sodium_memzero(&k, sizeof k);
	return st;
}

/* --- query and trace ------------------------------------------------------ */

/* Open the index and bring it up to date with the stream. */
static enum status
synced_index(struct cmd_ctx *ctx, struct store **s)
{
	uint64_t added = 0;
	enum status st = windex_open(&ctx->cfg, s, &ctx->err);

	if (st == ST_OK)
		st = windex_sync(ctx->bus, *s, &added, &ctx->err);
	if (st == ST_OK)
		why_add(&ctx->op, "index", "", "%llu new entries copied from %s before the query",
			(unsigned long long)added, LEDGER_STREAM);
	return st;
}

static enum status
filter_time(struct cmd_ctx *ctx, const char *name, int64_t *out)
{
	const char *v = cmd_opt(ctx, name);

	*out = 0;
	if (v && !parse_time_ms(v, out))
		return err_set(&ctx->err, ST_BAD_VALUE, "--%s: '%s' is not a time (use "
			       "2026-11-25T07:55:57Z or milliseconds since the epoch)", name, v);
	return ST_OK;
}

static enum status
validate_query(struct cmd_ctx *ctx)
{
	int64_t v;
	enum status st;

	if ((st = filter_time(ctx, "since", &v)) != ST_OK || (st = filter_time(ctx, "until", &v)) != ST_OK)
		return st;
	if ((st = opt_count(ctx, "limit", &v)) != ST_OK || (st = opt_count(ctx, "offset", &v)) != ST_OK)
		return st;
	return ST_OK;
}

/* Times as RFC 3339 in the rows (the index keeps milliseconds). */
static void
rows_times(struct rowset *rs)
{
	char when[32];
	int64_t ms;
	size_t r;

	rs->cols[1].kind = COL_TIME;
	for (r = 0; r < rs->nrows; r++) {
		if (rows_get(rs, r, 1) && parse_int64(rows_get(rs, r, 1), &ms)) {
			fmt_time_ms(when, ms);
			rows_set(rs, r, 1, when);
		}
	}
}

static enum status
run_query(struct cmd_ctx *ctx)
{
	struct witness_filter f = { 0 };
	struct store *s = NULL;
	struct rowset *rs = rows_new("entries");
	enum status st;

	f.component = cmd_opt(ctx, "component");
	f.event = cmd_opt(ctx, "event");
	f.actor = cmd_opt(ctx, "actor");
	f.swarm = cmd_opt(ctx, "swarm");
	f.task = cmd_opt(ctx, "task");
	f.trace = cmd_opt(ctx, "trace-id");
	f.text = cmd_opt(ctx, "text");
	filter_time(ctx, "since", &f.since);
	filter_time(ctx, "until", &f.until);
	opt_count(ctx, "limit", &f.limit);
	opt_count(ctx, "offset", &f.offset);
	if (f.limit == 0)
		f.limit = 100;
	st = synced_index(ctx, &s);
	if (st == ST_OK)
		st = store_witness_query(s, &f, rs, &ctx->err);
	if (st == ST_OK)
		rows_times(rs);
	doc_add(&ctx->out, rs);
	store_close(s);
	return st;
}

static enum status
run_trace(struct cmd_ctx *ctx)
{
	struct witness_filter f = { 0 };
	struct store *s = NULL;
	struct rowset *rs = rows_new("chain"), *sum;
	int64_t first = 0, prev = 0, t, cost = 0, tokens = 0, v;
	char near[256];
	size_t r, step;
	enum status st;

	if (ctx->argc != 1)
		return err_set(&ctx->err, ST_USAGE, "witness trace needs one trace id");
	f.trace = ctx->argv[0];
	if ((st = synced_index(ctx, &s)) == ST_OK)
		st = store_witness_query(s, &f, rs, &ctx->err);
	if (st == ST_OK && rs->nrows == 0) {
		store_witness_near_traces(s, f.trace, near, sizeof near, NULL);
		st = err_set(&ctx->err, ST_NOT_FOUND, "unknown trace '%s'%s%s", f.trace,
			     near[0] ? "; nearest: " : "", near);
	}
	if (st != ST_OK) {
		rows_free(rs);
		store_close(s);
		return st;
	}
	step = rows_col(rs, "step_ms", COL_NUM, 0);
	for (r = 0; r < rs->nrows; r++) {
		parse_int64(rows_get(rs, r, 1), &t);
		if (r == 0)
			first = prev = t;
		rows_setf(rs, r, step, "%lld", (long long)(t - prev));
		prev = t;
		if (parse_int64(rows_get(rs, r, 8) ? rows_get(rs, r, 8) : "0", &v))
			cost += v;
		if (parse_int64(rows_get(rs, r, 9) ? rows_get(rs, r, 9) : "0", &v))
			tokens += v;
	}
	rows_times(rs);
	sum = rows_new("trace");
	sum->single = true;
	rows_col(sum, "trace", COL_TEXT, 0);
	rows_col(sum, "entries", COL_NUM, 0);
	rows_col(sum, "duration_ms", COL_NUM, 0);
	rows_col(sum, "cost_micros", COL_NUM, 0);
	rows_col(sum, "tokens", COL_NUM, 0);
	r = rows_add(sum);
	rows_set(sum, r, 0, f.trace);
	rows_setf(sum, r, 1, "%zu", rs->nrows);
	rows_setf(sum, r, 2, "%lld", (long long)(prev - first));
	rows_setf(sum, r, 3, "%lld", (long long)cost);
	rows_setf(sum, r, 4, "%lld", (long long)tokens);
	doc_add(&ctx->out, sum);
	doc_add(&ctx->out, rs);
	store_close(s);
	return ST_OK;
}

/* --- tail ---------------------------------------------------------------- */

/*
 * The backlog is written straight to stdout on the command's thread; with
 * --follow, new entries come from the watch's callback through the follow
 * queue, written on that same thread.
 */
struct tail_out {
	struct follow f;
	bool following;		/* f is open: lines go through it */
	bool jsonl, failed;
};

static void
tail_line(struct tail_out *t, const struct wentry *e)
{
	struct buf line = BUF_INIT;
	char when[32];

	if (t->jsonl) {
		wentry_canonical(e, true, &line);
	} else {
		fmt_time_ms(when, e->time);
		buf_addf(&line, "%-8llu %s  %-12s %-16s %-12s %s%s%s",
			 (unsigned long long)e->seq, when, e->component ? e->component : "-",
			 e->event ? e->event : "-", e->actor ? e->actor : "-",
			 e->trace ? e->trace : "-", e->task ? " task " : "", e->task ? e->task : "");
	}
	if (t->following)
		follow_push(&t->f, line.s);
	else if (!t->failed && !follow_emit(line.s))
		t->failed = true;
	buf_release(&line);
}

static enum status
tail_entry(void *arg, const struct wentry *e, struct err *err)
{
	(void)err;
	tail_line(arg, e);
	return ST_OK;
}

static void
tail_event(void *arg, const struct bus_kv_event *ev)
{
	struct wentry e;

	if (ev->snapshot_done || wentry_parse(ev->value, ev->len, &e, NULL) != ST_OK)
		return;
	tail_line(arg, &e);
	wentry_release(&e);
}

/* Print entries after seq last as they are appended, until Ctrl-C. */
static enum status
tail_follow(struct cmd_ctx *ctx, struct tail_out *t, uint64_t last)
{
	struct bus_watch *w = NULL;
	enum status st;

	if ((st = follow_open(&t->f, &ctx->err)) != ST_OK) {
		follow_close(&t->f);
		return st;
	}
	t->following = true;
	st = bus_stream_watch(ctx->bus, LEDGER_STREAM, LEDGER_SUBJECT, last + 1, tail_event, t,
			      &w, &ctx->err);
	if (st == ST_OK)
		st = follow_run(&t->f, "tail", &ctx->err);
	bus_watch_free(w);
	follow_close(&t->f);
	return st;
}

static enum status
run_tail(struct cmd_ctx *ctx)
{
	struct tail_out t = { .following = false };
	struct buf data = BUF_INIT;
	uint64_t last = 0, n = 0;
	int64_t count;
	enum status st;

	if ((st = cmd_opt_int(ctx, "lines", 0, INT64_MAX, 10, &count)) != ST_OK)
		return st;
	t.jsonl = ctx->format == OUT_JSON || ctx->format == OUT_JSONL;
	st = bus_stream_last(ctx->bus, LEDGER_STREAM, LEDGER_SUBJECT, &data, &last, &ctx->err);
	buf_release(&data);
	if (st == ST_NOT_FOUND)
		st = ST_OK;
	if (st == ST_OK && count > 0 && last > 0)
		st = ledger_read_from(ctx->bus, last > (uint64_t)count ? last - (uint64_t)count + 1 : 1,
				      tail_entry, &t, &n, &ctx->err);
	if (st == ST_OK && !t.failed && cmd_flag(ctx, "follow"))
		st = tail_follow(ctx, &t, last);
	if (st == ST_OK && t.failed)
		st = err_set(&ctx->err, ST_IO, "cannot write output");
	return st;
}

static enum status
run_bench(struct cmd_ctx *ctx)
{
	struct witness_bench_opts o = { 1000000, 10000, 20000, "/tmp" };
	struct bus_opts bo;
	const char *tmp = getenv("TMPDIR");
	int64_t v;
	enum status st = ST_OK;

	if (cmd_flag(ctx, "quick"))
		o = (struct witness_bench_opts){ 20000, 2000, 1000, "/tmp" };
	if ((st = cmd_opt_int(ctx, "entries", 1, INT64_MAX, (int64_t)o.verify_entries, &v)) != ST_OK)
		return st;
	o.verify_entries = (size_t)v;
	if ((st = cmd_opt_int(ctx, "appends", 0, INT64_MAX, (int64_t)o.appends, &v)) != ST_OK)
		return st;
	o.appends = (size_t)v;
	if (tmp && *tmp)
		o.tmpdir = tmp;
	bus_opts_from_config(&bo, &ctx->cfg);
	bo.timeout_ms = bo.timeout_ms < 10000 ? 10000 : bo.timeout_ms;
	why_add(&ctx->op, "verify", "wall clock", "reading and parsing the export, then every "
		"entry's hash, the chain, the Merkle tree and each checkpoint's signature");
	why_add(&ctx->op, "proofs", "nearest rank", "percentiles of %zu random leaves",
		o.proofs);
	why_add(&ctx->op, "appends", "wall clock", "entries over the time from the first to the "
		"last writer's end; a stream of its own, deleted after the run");
	st = witness_bench_run(&bo, &o, &ctx->out, &ctx->err);
	bus_opts_release(&bo);
	return st;
}

static const struct cmd_opt bench_opts[] = {
	{ "entries", 0, "N", "entries in the ledger that is verified (default 1000000)" },
	{ "appends", 0, "N", "appends for 1 and for 8 writers per run (default 20000; 0: none)" },
	{ "quick", 0, NULL, "a short run: 20000 entries, 1000 appends" },
	{ NULL, 0, NULL, NULL },
};

static const struct cmd_opt append_opts[] = {
	{ "component", 0, "NAME", "the part that acted: coordinator, governor, operator ..." },
	{ "event", 0, "NAME", "what happened, e.g. task.claim" },
	{ "actor", 0, "WHO", "who acted (default: you, as user@host)" },
	{ "swarm", 0, "ID", "the swarm concerned" },
	{ "task", 0, "ID", "the task concerned" },
	{ "payload", 0, "JSON|@FILE", "details, as JSON" },
	{ "cost-micros", 0, "N", "cost in millionths of the currency unit" },
	{ "tokens", 0, "N", "model tokens used" },
	{ NULL, 0, NULL, NULL },
};
static const struct cmd_opt query_opts[] = {
	{ "component", 0, "NAME", "only this component" },
	{ "event", 0, "NAME", "only this event" },
	{ "actor", 0, "WHO", "only this actor" },
	{ "swarm", 0, "ID", "only this swarm" },
	{ "task", 0, "ID", "only this task" },
	{ "trace-id", 0, "ID", "only this trace" },
	{ "text", 0, "TEXT", "text in the payload, event, actor or task" },
	{ "since", 0, "TIME", "from this time (RFC 3339 or ms)" },
	{ "until", 0, "TIME", "before this time" },
	{ "limit", 0, "N", "at most N entries (default 100)" },
	{ "offset", 0, "N", "skip the first N matches (paging)" },
	{ NULL, 0, NULL, NULL },
};

static const struct cmd_opt tail_opts[] = {
	{ "lines", 'n', "N", "the last N entries first (default 10; 0: none)" },
	{ "follow", 'f', NULL, "then print each new entry as it is appended, until Ctrl-C" },
	{ NULL, 0, NULL, NULL },
};

static const struct cmd_opt export_opts[] = {
	{ "file", 'f', "FILE", "write the export here instead of standard output" },
	{ "format", 0, "FORMAT", "jsonl (default; verifiable offline) or csv" },
	{ "proofs", 0, NULL, "add each entry's inclusion proof in the whole tree" },
	{ NULL, 0, NULL, NULL },
};

static const struct cmd_opt verify_opts[] = {
	{ "file", 'f', "FILE", "an exported ledger (JSON lines) to verify, offline" },
	{ "key", 0, "VKEY|@FILE", "the verifier key to trust: NAME+ID+BASE64, or a file holding it; every entry must then be under a checkpoint it signed" },
	{ "allow-unsigned-tail", 0, NULL, "with --key, accept entries after the last checkpoint the key signed" },
	{ NULL, 0, NULL, NULL },
};
static const struct cmd_opt prove_opts[] = {
	{ "file", 'f', "FILE", "an exported ledger (JSON lines); else the server's, through the index" },
	{ "inclusion", 0, "SEQ", "prove entry SEQ is in the tree (of the whole ledger, or of size NEW)" },
	{ "consistency", 0, "OLD", "prove the tree of OLD entries is a prefix of the tree of NEW" },
	{ NULL, 0, NULL, NULL },
};

static const struct cmd_entry witness_verify_entry = {
	.name = "verify", .args = "[--file FILE] [--key VKEY|@FILE [--allow-unsigned-tail]]",
	.summary = "check the ledger (on the server, or an exported file): hashes, chain, tree, signed checkpoints; exit 5 on the first fault",
	.opts = verify_opts, .run = run_verify,
};
static const struct cmd_entry witness_prove_entry = {
	.name = "prove", .args = "[--file FILE] (--inclusion SEQ | --consistency OLD) [NEW]",
	.summary = "print an RFC 9162 inclusion or consistency proof that a third party can check",
	.opts = prove_opts, .run = run_prove,
};
static const struct cmd_entry witness_append_entry = {
	.name = "append", .args = "--component C --event E [--actor A] [--task T] [--payload JSON]",
	.summary = "add an entry to the ledger (chained, totally ordered across writers)",
	.flags = CMD_NEEDS_BUS | CMD_MUTATES | CMD_NO_WITNESS, .opts = append_opts,
	.validate = validate_append, .run = run_append,
};
static const struct cmd_entry witness_export_entry = {
	.name = "export", .args = "[--file FILE] [--format jsonl|csv] [--proofs]",
	.summary = "write the ledger as JSON lines (entries, stored checkpoints, the head signed now) for offline verify",
	.flags = CMD_NEEDS_BUS, .opts = export_opts, .run = run_export,
};
static const struct cmd_entry witness_checkpoint_entry = {
	.name = "checkpoint",
	.summary = "sign the current tree head, store it on IF_CHECKPOINTS and print the signed note",
	.flags = CMD_NEEDS_BUS | CMD_MUTATES | CMD_NO_WITNESS, .run = run_checkpoint,
};
static const struct cmd_opt checkpoints_opts[] = {
	{ "key", 0, "VKEY|@FILE", "check signatures with this verifier key, not this host's" },
	{ NULL, 0, NULL, NULL },
};
static const struct cmd_entry witness_checkpoints_entry = {
	.name = "checkpoints", .args = "[--key VKEY|@FILE]",
	.summary = "list the stored checkpoints: size, origin, root, and whether the signature holds",
	.flags = CMD_NEEDS_BUS, .opts = checkpoints_opts, .run = run_checkpoints,
};
static const struct cmd_entry witness_bench_entry = {
	.name = "bench", .args = "[--quick] [--entries N] [--appends N]",
	.summary = "measure verify time, inclusion proof time and append rate",
	.flags = CMD_NEEDS_BUS, .opts = bench_opts, .run = run_bench,
};
static const struct cmd_entry witness_query_entry = {
	.name = "query", .args = "[--component C] [--event E] [--task T] [--trace-id ID] [--since T] ...",
	.summary = "find entries by component, event, actor, swarm, task, trace, time or text",
	.flags = CMD_NEEDS_BUS, .opts = query_opts, .validate = validate_query, .run = run_query,
};
static const struct cmd_entry witness_trace_entry = {
	.name = "trace", .args = "ID",
	.summary = "the whole chain of one trace in order, with step durations and total cost",
	.flags = CMD_NEEDS_BUS, .run = run_trace,
};
static const struct cmd_entry witness_tail_entry = {
	.name = "tail", .args = "[-n N] [-f] [-o jsonl]",
	.summary = "the last entries, then (-f) each new one as it is appended",
	.flags = CMD_NEEDS_BUS, .opts = tail_opts, .run = run_tail,
};
static const struct cmd_entry *const witness_subs[] = {
	&witness_append_entry, &witness_query_entry, &witness_trace_entry, &witness_tail_entry,
	&witness_export_entry,
	&witness_checkpoint_entry, &witness_checkpoints_entry, &witness_verify_entry,
	&witness_prove_entry,
	&witness_bench_entry, NULL,
};

const struct cmd_entry cmd_witness_entry = {
	.name = "witness",
	.args = "append|query|trace|tail|export|checkpoint|checkpoints|verify|prove|bench",
	.summary = "the tamper-evident ledger: append, export, verify, prove",
	.subs = witness_subs,
};
