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
#include "bench/witnessbench.h"
#include "cmd/follow.h"
#include "core/buf.h"
#include "core/home.h"
#include "core/json.h"
#include "core/ledger.h"
#include "core/ledgerfile.h"
#include "core/util.h"
#include "core/windex.h"
#include "core/wops.h"
#include "core/wview.h"

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
	struct wverify_opts o = { NULL, false, false };
	struct wkey k;
	uint64_t n = 0, ncp = 0;
	bool have_key;
	enum status st;

	memset(lf, 0, sizeof *lf);
	snprintf(lf->origin, sizeof lf->origin, "%s", LEDGER_STREAM);
	if ((st = online_key(ctx, &k, &have_key)) != ST_OK || (st = cmd_connect(ctx)) != ST_OK)
		return st;
	o.key = have_key ? &k : NULL;
	o.trusted = cmd_opt(ctx, "key") != NULL;
	o.allow_unsigned_tail = cmd_flag(ctx, "allow-unsigned-tail");
	st = wops_verify_online(ctx->bus, &o, v, &n, &ncp, &ctx->err);
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
	struct wkey k;
	const char *path = cmd_opt(ctx, "file");
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
	doc_add(&ctx->out, wview_verdict(&v, lf.origin));
	ctx->output_on_error = true;
	check(&ctx->op, "ledger verifies", v.fault == WF_NONE ? ST_OK : ST_WITNESS, NULL,
	      v.fault == WF_NONE ? path : v.detail);
	ledger_file_release(&lf);
	if (v.fault != WF_NONE && !ctx->op.falsify)
		return err_set(&ctx->err, ST_WITNESS, "ledger '%s': %s: %s", path,
			       wfault_name(v.fault), v.detail);
	return ST_OK;
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
	if (st == ST_NOT_FOUND && src.v.size == 0)
		err_remedy(&ctx->err, "every change the fleet makes adds an entry; 'ifctl witness "
			   "append' adds one by hand");
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
		ok = inc ? wops_prove_inclusion(&src.v, hash, a, b, &rs) :
			   wops_prove_consistency(&src.v, a, b, &rs);
		why_add(&ctx->op, "algorithm", "RFC 9162", "leaf = SHA-256(0x00 || entry hash "
			"bytes), node = SHA-256(0x01 || left || right); verify with sections "
			"2.1.3.2 and 2.1.4.2");
		doc_add(&ctx->out, rs);
		check(&ctx->op, "the proof verifies against the root", ok ? ST_OK : ST_WITNESS, NULL,
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

static enum status
run_append(struct cmd_ctx *ctx)
{
	struct wentry e;
	enum status st;

	wentry_init(&e);
	if (ctx->op.falsify) {	/* the arguments were checked before connecting */
		check(&ctx->op, "entry is valid", ST_OK, NULL, "nothing is appended");
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
		doc_add(&ctx->out, wview_entry(&e));
	wentry_release(&e);
	return st;
}

/* --- export and checkpoint ------------------------------------------------ */

/* This host's key, to sign checkpoints with. */
static enum status
signing_key(struct cmd_ctx *ctx, struct wkey *k)
{
	enum status st = witness_key(&ctx->cfg, false, k, NULL, &ctx->err);

	if (st == ST_NOT_FOUND) {
		err_prefix(&ctx->err, "cannot sign checkpoints");
		err_remedy(&ctx->err, "only a host with the witness key signs: run this there, or "
			   "make this host a signer with 'ifctl witness key create'");
	}
	return st;
}

/*
 * The key an export names: --key (the fleet's verifier key: what the
 * stored checkpoints it signed prove, the head left unsigned), else this
 * host's signing key.
 */
static enum status
export_key(struct cmd_ctx *ctx, struct wkey *k)
{
	struct ledger_file none;
	enum status st;

	if (cmd_opt(ctx, "key")) {
		memset(&none, 0, sizeof none);
		return trusted_key(ctx, &none, k);
	}
	st = witness_key(&ctx->cfg, false, k, NULL, &ctx->err);
	if (st == ST_NOT_FOUND) {
		err_prefix(&ctx->err, "cannot export with signed checkpoints");
		err_remedy(&ctx->err, "pass the fleet's verifier key: --key @witness.vkey (on the "
			   "signing host 'ifctl witness key >witness.vkey' writes it); the export then "
			   "holds the checkpoints that key signed");
	}
	return st;
}

/* Say what an export holds when this host could not sign its head. */
static void
export_unsigned_notice(struct cmd_ctx *ctx, const struct wkey *k, const struct wexport *x)
{
	if (k->secret || x->entries == 0 || x->last_stored == x->entries)
		return;
	session_notice(ctx->session, NOTICE_WARN, "exported %zu entries and %zu checkpoints "
		       "signed by '%s'; entries %llu to %zu are under no signed checkpoint (this "
		       "host has no signing key: 'verify --key' needs --allow-unsigned-tail)",
		       x->entries, x->checkpoints, k->name,
		       (unsigned long long)x->last_stored + 1, x->entries);
}

/* Before connecting: a file is written only where writing is allowed. */
static enum status
validate_export(struct cmd_ctx *ctx)
{
	const char *file = cmd_opt(ctx, "file");

	return file ? cmd_may_write_file(ctx, file) : ST_OK;
}

static enum status
run_export(struct cmd_ctx *ctx)
{
	const char *format = cmd_opt(ctx, "format") ? cmd_opt(ctx, "format") : "jsonl";
	struct wexport_opts o = { NULL, strcmp(format, "csv") == 0, cmd_flag(ctx, "proofs") };
	struct wexport x;
	struct wkey k;
	enum status st;

	if (!o.csv && strcmp(format, "jsonl") != 0)
		return err_set(&ctx->err, ST_USAGE, "--format: '%s' is not jsonl or csv", format);
	if ((st = export_key(ctx, &k)) != ST_OK)
		return st;
	o.key = &k;
	st = wops_export(ctx->bus, &o, &x, &ctx->err);
	if (st == ST_OK && !o.csv)
		export_unsigned_notice(ctx, &k, &x);
	sodium_memzero(&k, sizeof k);
	if (st != ST_OK) {
		free(x.text);
		return st;
	}
	why_add(&ctx->op, "checkpoints", "", "%zu stored on %s (made every %lld entries), %s; "
		"%zu signed by another key left out", x.checkpoints, CHECKPOINT_STREAM,
		(long long)cfg_int(&ctx->cfg, CK_WITNESS_CHECKPOINT_EVERY),
		x.last_stored == x.entries ? "the last one at the end" : x.head_signed ?
		"and the head signed now by this host's key" : "the head left unsigned", x.other_key);
	if (cmd_opt(ctx, "file")) {
		st = write_file_atomic(cmd_opt(ctx, "file"), x.text, x.len, 0600, &ctx->err);
		free(x.text);
	} else {
		ctx->out.text = x.text;
	}
	if (st == ST_OK && x.foreign) {	/* all written, the marks in place; still a failure */
		ctx->output_on_error = true;
		st = err_set(&ctx->err, ST_LEDGER_FOREIGN, "stream '%s' message %llu%s is not a "
			     "witness entry: exported as a \"fault\" line%s, the head left unsigned",
			     LEDGER_STREAM, (unsigned long long)x.first_foreign,
			     x.foreign > 1 ? " (and more)" : "",
			     o.csv ? " in JSON lines only (not in CSV)" : "");
	}
	return st;
}

/* --- the witness key ------------------------------------------------------ */

/* Before anything: show or create, and create only where writing is allowed. */
static enum status
validate_key(struct cmd_ctx *ctx)
{
	const char *a = ctx->argc ? ctx->argv[0] : "show";
	char *path;
	enum status st;

	if (ctx->argc > 1 || (strcmp(a, "show") != 0 && strcmp(a, "create") != 0))
		return err_set(&ctx->err, ST_USAGE, "witness key: '%s' is not show or create",
			       ctx->argc > 1 ? ctx->argv[1] : a);
	if (strcmp(a, "show") == 0)
		return ST_OK;
	path = home_path(&ctx->cfg, HOME_WITNESS_KEY);
	st = cmd_may_write_file(ctx, path);
	free(path);
	return st;
}

/*
 * ifctl witness key [show|create]: the verifier key of this host's signing
 * key (what 'verify --key' and 'export --key' take), created when asked.
 * The table form is the verifier key alone, so '>witness.vkey' keeps it.
 */
static enum status
run_key(struct cmd_ctx *ctx)
{
	bool create = ctx->argc && strcmp(ctx->argv[0], "create") == 0, created = false;
	char *path = home_path(&ctx->cfg, HOME_WITNESS_KEY);
	struct wkey k;
	struct buf vk = BUF_INIT;
	enum status st;

	check(&ctx->op, "key file can be written", ST_OK, NULL, path);
	if (ctx->op.falsify && create) {
		free(path);
		return ST_OK;
	}
	st = witness_key(&ctx->cfg, create, &k, &created, &ctx->err);
	if (st == ST_NOT_FOUND)
		err_remedy(&ctx->err, "create it with 'ifctl witness key create' (or 'ifctl up'); "
			   "a host that only verifies needs the signer's verifier key instead");
	if (st == ST_OK && ctx->format == OUT_TABLE) {
		wkey_vkey(&k, &vk);
		buf_addc(&vk, '\n');
		ctx->out.text = buf_detach(&vk);
	} else if (st == ST_OK) {
		doc_add(&ctx->out, wview_key(&k, path, created ? "created" : "exists"));
	}
	if (st == ST_OK)
		why_add(&ctx->op, "key", k.name, "%s '%s' (id %08x)", created ? "created" :
			"read from", path, k.id);
	sodium_memzero(&k, sizeof k);
	free(path);
	return st;
}

/* The signed note as it is (to keep in a file), or its fields with -o json, yaml ... */
static void
checkpoint_out(struct cmd_ctx *ctx, const struct wkey *k, uint64_t size, struct buf *note)
{
	struct wcheckpoint cp;

	if (ctx->format == OUT_TABLE) {
		ctx->out.text = buf_detach(note);
		return;
	}
	memset(&cp, 0, sizeof cp);
	wcheckpoint_open(note->s, k, &cp, NULL);
	cp.size = size;
	doc_add(&ctx->out, wview_checkpoint(&cp, k->id, note->s));
}

static enum status
run_checkpoint(struct cmd_ctx *ctx)
{
	struct buf note = BUF_INIT;
	struct store *s = NULL;
	uint64_t added = 0, size = 0;
	struct wkey k;
	enum status st = signing_key(ctx, &k);

	check(&ctx->op, "this host has the witness key", st, NULL, k.name);
	if (st != ST_OK)
		return st;
	st = windex_open(&ctx->cfg, &s, &ctx->err);
	if (st == ST_OK)
		st = windex_sync(ctx->bus, s, &added, &ctx->err);
	check(&ctx->op, "the ledger verifies up to its tail", st, NULL, LEDGER_STREAM);
	if (st == ST_OK && (st = store_witness_last(s, &size, &ctx->err)) == ST_OK && size == 0)
		st = err_set(&ctx->err, ST_NOT_FOUND, "the ledger is empty: nothing to checkpoint");
	if (st == ST_NOT_FOUND && size == 0)
		err_remedy(&ctx->err, "a checkpoint signs the entries there are: come back once the "
			   "fleet has made a change ('ifctl witness append' adds one by hand)");
	if (st == ST_OK && ctx->op.falsify) {
		check(&ctx->op, "a checkpoint can be signed", ST_OK, NULL, k.name);
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
	struct rowset *rs = NULL;
	struct wkey k;
	bool have_key;
	size_t bad = 0, n;
	enum status st = online_key(ctx, &k, &have_key);

	if (st == ST_OK)
		st = wops_checkpoints(ctx->bus, have_key ? &k : NULL, &rs, &bad, &ctx->err);
	if (rs == NULL)
		rs = wview_checkpoints();
	n = rs->nrows;
	doc_add(&ctx->out, rs);
	if (st == ST_OK) {
		char ev[64];
		snprintf(ev, sizeof ev, "%zu of %zu %s", n - bad, n,
			 have_key ? "signed by the key" : "(no key: unchecked)");
		check(&ctx->op, "every stored checkpoint is signed by the key",
		      bad ? ST_WITNESS : ST_OK, NULL, ev);
	}
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

/* Add an entry the index matched to a list of entries. */
static void
add_entry(void *arg, const struct wentry *e)
{
	wview_entries_add(arg, e);
}

/* Add an entry of a trace to its chain and totals. */
static void
add_step(void *arg, const struct wentry *e)
{
	wtrace_add(arg, e);
}

static enum status
run_query(struct cmd_ctx *ctx)
{
	struct witness_filter f = { 0 };
	struct store *s = NULL;
	struct rowset *rs = wview_entries();
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
		st = store_witness_query(s, &f, add_entry, rs, &ctx->err);
	doc_add(&ctx->out, rs);
	store_close(s);
	return st;
}

static enum status
run_trace(struct cmd_ctx *ctx)
{
	struct witness_filter f = { 0 };
	struct store *s = NULL;
	struct wtrace t;
	char near[256];
	enum status st;

	if (ctx->argc != 1)
		return err_set(&ctx->err, ST_USAGE, "witness trace needs one trace id");
	f.trace = ctx->argv[0];
	wtrace_init(&t, f.trace);
	if ((st = synced_index(ctx, &s)) == ST_OK)
		st = store_witness_query(s, &f, add_step, &t, &ctx->err);
	if (st == ST_OK && t.entries == 0) {
		store_witness_near_traces(s, f.trace, near, sizeof near, NULL);
		st = err_set(&ctx->err, ST_NOT_FOUND, "unknown trace '%s'%s%s", f.trace,
			     near[0] ? "; nearest: " : "", near);
		err_remedy(&ctx->err, "a command prints its trace id with --trace (or takes one: "
			   "--trace=ID); 'ifctl witness query --since TIME' lists recent entries "
			   "with theirs");
	}
	if (st == ST_OK) {
		doc_add(&ctx->out, wtrace_summary(&t));
		doc_add(&ctx->out, t.chain);
		t.chain = NULL;
	}
	wtrace_release(&t);
	store_close(s);
	return st;
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
	{ "key", 0, "VKEY|@FILE", "on a host without the signing key: the fleet's verifier key; "
	  "the checkpoints it signed are exported, the head is not signed" },
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
	.examples =
		"ifctl witness verify\n"
		"ifctl witness verify -f ledger.jsonl --key @witness.vkey",
	.see_also = "witness export, witness key, witness prove",
	.schema = "witness-verify",
};
static const struct cmd_entry witness_prove_entry = {
	.name = "prove", .args = "[--file FILE] (--inclusion SEQ | --consistency OLD) [NEW]",
	.summary = "print an RFC 9162 inclusion or consistency proof that a third party can check",
	.opts = prove_opts, .run = run_prove,
	.examples =
		"ifctl witness prove --inclusion 7 -o json\n"
		"ifctl witness prove -f ledger.jsonl --consistency 10 20",
	.see_also = "witness verify, witness export",
	.schema = "witness-inclusion",
};
static const struct cmd_entry witness_append_entry = {
	.name = "append", .args = "--component C --event E [--actor A] [--task T] [--payload JSON]",
	.summary = "add an entry to the ledger (chained, totally ordered across writers)",
	.flags = CMD_NEEDS_BUS | CMD_MUTATES | CMD_NO_WITNESS, .opts = append_opts,
	.validate = validate_append, .run = run_append,
	.examples =
		"ifctl witness append --component operator --event budget.raise --why=\"quarter end\"\n"
		"ifctl witness append --component ops --event deploy --payload '{\"v\":\"1.2\"}' -o json",
	.see_also = "witness query, witness trace",
	.schema = "witness-entry",
};
static const struct cmd_entry witness_export_entry = {
	.name = "export", .args = "[--file FILE] [--format jsonl|csv] [--proofs] [--key VKEY|@FILE]",
	.summary = "write the ledger as JSON lines (entries, stored checkpoints, the head signed now) for offline verify",
	.flags = CMD_NEEDS_BUS, .opts = export_opts, .validate = validate_export,
	.run = run_export,
	.examples =
		"ifctl witness export -f ledger.jsonl\n"
		"ifctl witness export --key @witness.vkey -f ledger.jsonl   # on a host without the signing key\n"
		"ifctl witness export --format csv > ledger.csv",
	.see_also = "witness verify, witness key, witness prove",
};
static const struct cmd_entry witness_key_entry = {
	.name = "key", .args = "[show|create]",
	.summary = "print this host's verifier key (what 'verify --key' takes); create the signing key",
	.flags = CMD_MUTATES | CMD_NO_WITNESS, .validate = validate_key, .run = run_key,
	.examples =
		"ifctl witness key > witness.vkey\n"
		"ifctl witness key create\n"
		"ifctl witness key -o json",
	.see_also = "witness verify, witness export, witness checkpoint",
	.schema = "witness-key",
};
static const struct cmd_entry witness_checkpoint_entry = {
	.name = "checkpoint",
	.summary = "sign the current tree head, store it on IF_CHECKPOINTS and print the signed note",
	.flags = CMD_NEEDS_BUS | CMD_MUTATES | CMD_NO_WITNESS, .run = run_checkpoint,
	.examples =
		"ifctl witness checkpoint > head.note\n"
		"ifctl witness checkpoint -o json",
	.see_also = "witness checkpoints, witness verify",
	.schema = "checkpoint",
};
static const struct cmd_opt checkpoints_opts[] = {
	{ "key", 0, "VKEY|@FILE", "check signatures with this verifier key, not this host's" },
	{ NULL, 0, NULL, NULL },
};
static const struct cmd_entry witness_checkpoints_entry = {
	.name = "checkpoints", .args = "[--key VKEY|@FILE]",
	.summary = "list the stored checkpoints: size, origin, root, and whether the signature holds",
	.flags = CMD_NEEDS_BUS, .opts = checkpoints_opts, .run = run_checkpoints,
	.examples =
		"ifctl witness checkpoints\n"
		"ifctl witness checkpoints --key @witness.vkey -o json",
	.see_also = "witness checkpoint, witness key",
	.schema = "checkpoint-row[]",
};
static const struct cmd_entry witness_bench_entry = {
	.name = "bench", .args = "[--quick] [--entries N] [--appends N]",
	.summary = "measure verify time, inclusion proof time and append rate",
	.flags = CMD_NEEDS_BUS | CMD_WRITES, .opts = bench_opts, .run = run_bench,
	.examples =
		"ifctl witness bench --quick\n"
		"ifctl witness bench --entries 100000 --appends 0",
	.see_also = "task bench",
};
static const struct cmd_entry witness_query_entry = {
	.name = "query", .args = "[--component C] [--event E] [--task T] [--trace-id ID] [--since T] ...",
	.summary = "find entries by component, event, actor, swarm, task, trace, time or text",
	.flags = CMD_NEEDS_BUS, .opts = query_opts, .validate = validate_query, .run = run_query,
	.examples =
		"ifctl witness query --component operator --since 2026-11-25T00:00:00Z\n"
		"ifctl witness query --task t-42 -o json",
	.see_also = "witness trace, witness tail",
	.schema = "witness-entry-row[]",
};
static const struct cmd_entry witness_trace_entry = {
	.name = "trace", .args = "ID",
	.summary = "the whole chain of one trace in order, with step durations and total cost",
	.flags = CMD_NEEDS_BUS, .run = run_trace,
	.examples =
		"ifctl witness trace inc-42\n"
		"ifctl witness trace inc-42 -o json",
	.see_also = "witness query, --trace in ifctl(1)",
	.schema = "witness-trace",
};
static const struct cmd_entry witness_tail_entry = {
	.name = "tail", .args = "[-n N] [-f] [-o jsonl]",
	.summary = "the last entries, then (-f) each new one as it is appended",
	.flags = CMD_NEEDS_BUS, .opts = tail_opts, .run = run_tail,
	.examples =
		"ifctl witness tail\n"
		"ifctl witness tail -n 0 -f -o jsonl",
	.see_also = "witness query, task watch",
	.schema = "witness-entry-row[]",
};
static const struct cmd_entry *const witness_subs[] = {
	&witness_append_entry, &witness_query_entry, &witness_trace_entry, &witness_tail_entry,
	&witness_export_entry,
	&witness_checkpoint_entry, &witness_checkpoints_entry, &witness_key_entry,
	&witness_verify_entry,
	&witness_prove_entry,
	&witness_bench_entry, NULL,
};

const struct cmd_entry cmd_witness_entry = {
	.name = "witness",
	.args = "append|query|trace|tail|export|checkpoint|checkpoints|key|verify|prove|bench",
	.summary = "the tamper-evident ledger: append, export, verify, prove",
	.subs = witness_subs,
	.examples =
		"ifctl witness trace inc-42\n"
		"ifctl witness verify\n"
		"ifctl witness export -f ledger.jsonl",
	.see_also = "ifctl-protocol(7), ifctl-security(7)",
};
