/* Operations over the witness ledger on the server: see wops.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ledger.h"
#include "core/ledgerfile.h"
#include "core/util.h"
#include "core/wops.h"
#include "core/wview.h"

/* --- stored checkpoints ---------------------------------------------------- */

static enum status
collect_note(void *arg, const char *note, struct err *err)
{
	struct wnotes *c = arg;
	struct wcheckpoint cp;

	(void)err;
	memset(&cp, 0, sizeof cp);
	wcheckpoint_open(note, NULL, &cp, NULL);	/* size only; a bad one fails later */
	xgrow(&c->v, &c->cap, c->n + 1, sizeof *c->v);
	c->v[c->n] = (struct wnote){ cp.size, c->n, xstrdup(note) };
	c->n++;
	return ST_OK;
}

/* By tree size, then as stored: a stable order whatever qsort does. */
static int
cmp_note(const void *a, const void *b)
{
	const struct wnote *x = a, *y = b;

	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

enum status
wnotes_load(struct bus *b, struct wnotes *out, struct err *e)
{
	uint64_t n = 0;
	enum status st;

	memset(out, 0, sizeof *out);
	st = ledger_checkpoints(b, collect_note, out, &n, e);
	if (out->n > 1)
		qsort(out->v, out->n, sizeof *out->v, cmp_note);
	return st;
}

void
wnotes_release(struct wnotes *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		free(c->v[i].note);
	free(c->v);
	memset(c, 0, sizeof *c);
}

/* --- verify online ---------------------------------------------------------- */

/* The verifier, fed each checkpoint after the entry that completes its tree. */
struct feed {
	struct wverifier *v;
	const struct wnotes *notes;
	size_t next;
};

/* Feed the checkpoints of sizes up to 'upto' (all that remain with UINT64_MAX). */
static void
feed_notes(struct feed *f, uint64_t upto)
{
	while (f->next < f->notes->n && f->notes->v[f->next].size <= upto)
		wverifier_checkpoint(f->v, f->notes->v[f->next++].note);
}

static enum status
feed_entry(void *arg, const struct wentry *e, struct err *err)
{
	struct feed *f = arg;

	(void)err;
	wverifier_entry(f->v, e);
	feed_notes(f, e->seq);
	return ST_OK;
}

/* A message on the ledger's subject that is not an entry: a fault named by its sequence. */
static enum status
feed_foreign(void *arg, uint64_t seq, const char *reason, const char *data, size_t len,
	     struct err *err)
{
	struct feed *f = arg;

	(void)data, (void)len, (void)err;
	wverifier_foreign(f->v, seq, reason);
	return ST_OK;
}

enum status
wops_verify_online(struct bus *b, const struct wverify_opts *o, struct wverdict *v,
		   uint64_t *entries, uint64_t *checkpoints, struct err *e)
{
	struct wverifier w;
	struct wnotes notes;
	struct feed f = { &w, &notes, 0 };
	enum status st;

	*entries = 0;
	wverifier_init(&w, o->key);
	w.trusted = o->trusted;
	w.allow_unsigned_tail = o->allow_unsigned_tail;
	st = wnotes_load(b, &notes, e);
	*checkpoints = notes.n;
	if (st == ST_OK)
		st = ledger_read_marked(b, 1, feed_entry, feed_foreign, &f, entries, e);
	if (st == ST_OK)
		feed_notes(&f, UINT64_MAX);	/* beyond the last entry: entries are missing */
	wverifier_finish(&w);
	*v = w.v;
	wverifier_release(&w);
	wnotes_release(&notes);
	return st;
}

/* --- export ----------------------------------------------------------------- */

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

/* Fault lines for the foreign messages that stand after 'after' entries. */
static void
export_marks(FILE *f, const struct export_src *x, size_t *next, size_t after)
{
	for (; *next < x->nf && x->f[*next].after == after; (*next)++)
		ledger_file_fault(f, x->f[*next].seq, x->f[*next].reason, x->f[*next].data,
				  x->f[*next].len);
}

/* A checkpoint of the first size entries, signed now with k. */
static void
sign_head(const struct wkey *k, struct merkle *t, size_t size, struct buf *note)
{
	struct wcheckpoint cp = { LEDGER_STREAM, size, { 0 } };

	snprintf(cp.origin, sizeof cp.origin, "%s", k->name);
	merkle_root(t, size, cp.root);
	wcheckpoint_sign(k, &cp, note);
}

/* Append one CSV cell (a NULL text is empty) after a comma. */
static void
csv_text(FILE *f, const char *text)
{
	struct buf cell = BUF_INIT;

	rows_csv_quote(&cell, text ? text : "");
	fprintf(f, ",%s", cell.s);
	buf_release(&cell);
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
		for (j = 0; j < ARRAY_SIZE(text); j++)
			csv_text(f, text[j]);
		fprintf(f, ",%lld,%lld", (long long)e->cost_micros, (long long)e->tokens);
		csv_text(f, e->payload);
		fprintf(f, ",%s,%s", e->prev, e->hash);
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

/* Every entry's inclusion proof in the whole tree, as "proof" lines. */
static void
export_proofs(FILE *f, const struct wentries *c, struct merkle *t)
{
	merkle_hash path[MERKLE_MAX_PROOF], root;
	size_t i, len;

	merkle_root(t, c->n, root);
	for (i = 0; i < c->n; i++) {
		len = merkle_inclusion(t, i, c->n, path);
		ledger_file_proof(f, &c->v[i], c->n, root, path[0], len);
	}
}

/* The stored checkpoints complete at size entries (signed by the key) after them. */
static void
export_notes(FILE *f, const struct wexport_opts *o, const struct wnotes *notes, size_t *next,
	     size_t size, struct wexport *out)
{
	struct wcheckpoint cp;

	for (; *next < notes->n && notes->v[*next].size <= size; (*next)++) {
		if (wcheckpoint_open(notes->v[*next].note, o->key, &cp, NULL) != ST_OK) {
			out->other_key++;	/* not verifiable against this header */
			continue;
		}
		ledger_file_checkpoint(f, notes->v[*next].note);
		out->checkpoints++;
		out->last_stored = cp.size;
	}
}

/* JSON lines: header, entries, checkpoints and fault lines where they fall, the head. */
static void
export_jsonl(FILE *f, const struct wexport_opts *o, const struct export_src *x,
	     const struct wnotes *notes, struct merkle *t, struct wexport *out)
{
	size_t i, mark = 0, next = 0, n = x->c.n;

	ledger_file_header(f, o->key->name, o->key);
	export_marks(f, x, &mark, 0);
	for (i = 0; i < n; i++) {
		ledger_file_entry(f, &x->c.v[i]);
		witness_tree_add(t, &x->c.v[i]);
		export_notes(f, o, notes, &next, i + 1, out);
		export_marks(f, x, &mark, i + 1);
	}
	/* The head is signed only over a ledger without foreign messages, by a signing key. */
	if (n && out->last_stored != n && x->nf == 0 && o->key->secret) {
		struct buf note = BUF_INIT;
		sign_head(o->key, t, n, &note);
		ledger_file_checkpoint(f, note.s);
		out->head_signed = true;
		buf_release(&note);
	}
	if (o->proofs)
		export_proofs(f, &x->c, t);
}

enum status
wops_export(struct bus *b, const struct wexport_opts *o, struct wexport *out, struct err *e)
{
	struct export_src x = { 0 };
	struct wnotes notes = { 0 };
	struct merkle t;
	uint64_t n = 0;
	size_t i;
	FILE *f = NULL;
	enum status st;

	memset(out, 0, sizeof *out);
	merkle_init(&t);
	st = ledger_read_marked(b, 1, export_entry, export_foreign, &x, &n, e);
	if (st == ST_OK)
		st = wnotes_load(b, &notes, e);
	if (st == ST_OK && (f = open_memstream(&out->text, &out->len)) == NULL)
		st = err_set(e, ST_IO, "cannot assemble the export: %s", strerror(errno));
	if (st != ST_OK || f == NULL)
		goto out;
	if (o->csv) {
		for (i = 0; i < x.c.n; i++)
			witness_tree_add(&t, &x.c.v[i]);
		export_csv(f, &x.c, &t, o->proofs);
	} else {
		export_jsonl(f, o, &x, &notes, &t, out);
	}
	if (fclose(f) != 0)
		st = err_set(e, ST_IO, "cannot assemble the export: %s", strerror(errno));
	out->entries = x.c.n;
	out->foreign = x.nf;
	out->first_foreign = x.nf ? x.f[0].seq : 0;
out:
	merkle_release(&t);
	export_src_release(&x);
	wnotes_release(&notes);
	return st;
}

/* --- proofs and checkpoints -------------------------------------------------- */

bool
wops_prove_inclusion(struct merkle_view *t, const char *entry_hash, uint64_t a, uint64_t b,
		     struct rowset **out)
{
	merkle_hash path[MERKLE_MAX_PROOF], root, leaf;
	size_t len = merkle_view_inclusion(t, a - 1, b, path);
	bool ok;

	memset(root, 0, sizeof root);
	ok = merkle_view_root(t, b, root) && t->node(t->arg, 0, a - 1, leaf) && !t->failed;
	ok = ok && merkle_verify_inclusion(a - 1, b, leaf, path[0], len, root);
	*out = wview_inclusion(a, b, entry_hash, root, path, len, ok);
	return ok;
}

bool
wops_prove_consistency(struct merkle_view *t, uint64_t a, uint64_t b, struct rowset **out)
{
	merkle_hash proof[MERKLE_MAX_PROOF], root_a, root_b;
	size_t len = merkle_view_consistency(t, a, b, proof);
	bool ok;

	memset(root_a, 0, sizeof root_a);
	memset(root_b, 0, sizeof root_b);
	ok = merkle_view_root(t, a, root_a) && merkle_view_root(t, b, root_b) && !t->failed;
	ok = ok && merkle_verify_consistency(a, b, root_a, root_b, proof[0], len);
	*out = wview_consistency(a, b, root_a, root_b, proof, len, ok);
	return ok;
}

enum status
wops_checkpoints(struct bus *b, const struct wkey *key, struct rowset **out, size_t *bad,
		 struct err *e)
{
	struct wnotes notes;
	enum status st = wnotes_load(b, &notes, e);
	size_t i;

	*out = wview_checkpoints();
	*bad = 0;
	for (i = 0; st == ST_OK && i < notes.n; i++) {
		struct wcheckpoint cp;
		const char *sig = "unchecked";
		memset(&cp, 0, sizeof cp);
		if (wcheckpoint_open(notes.v[i].note, NULL, &cp, NULL) != ST_OK)
			sig = "malformed";
		else if (key)
			sig = wcheckpoint_open(notes.v[i].note, key, &cp, NULL) == ST_OK ? "good" :
			      "not by key";
		if (strcmp(sig, "good") != 0 && strcmp(sig, "unchecked") != 0)
			(*bad)++;
		cp.size = notes.v[i].size;
		wview_checkpoints_add(*out, notes.v[i].note, &cp, sig);
	}
	wnotes_release(&notes);
	return st;
}
