/* Exported witness ledgers: see ledgerfile.h. */
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "core/json.h"
#include "core/ledgerfile.h"
#include "core/util.h"

static void
note_at(struct ledger_file *lf, size_t after, const char *note)
{
	size_t old = lf->notes_cap;

	xgrow(&lf->notes, &lf->notes_cap, after + 1, sizeof *lf->notes);
	memset(lf->notes + old, 0, (lf->notes_cap - old) * sizeof *lf->notes);
	free(lf->notes[after]);
	lf->notes[after] = xstrdup(note);
}

/* Make room for entry slot 'slot', new slots zeroed. */
static void
entry_room(struct ledger_file *lf, size_t slot)
{
	size_t old = lf->cap;

	xgrow(&lf->entries, &lf->cap, slot + 1, sizeof *lf->entries);
	memset(lf->entries + old, 0, (lf->cap - old) * sizeof *lf->entries);
}

/* A 64-digit hex hash into out. */
static bool
hex_hash(const struct json_value *v, uint8_t *out)
{
	return v && v->type == JSON_STRING && v->len == 2 * MERKLE_HASH &&
	       sodium_hex2bin(out, MERKLE_HASH, v->str, 2 * MERKLE_HASH, NULL, NULL, NULL) == 0;
}

/* A line's members other than "type", each read by the line's own table. */
struct line_fields {
	char *origin, *key, *note, *reason, *data;
	int64_t seq, size, leaf;
	const struct json_value *path, *root, *hash;
};

static enum status
take_value(const struct json_value *v, void *dst, struct err *e)
{
	(void)e;
	*(const struct json_value **)dst = v;
	return ST_OK;
}

#define LF(name, type, field, min, max) \
	{ name, type, JF_REQUIRED, offsetof(struct line_fields, field), min, max, NULL }
#define LF_VALUE(name, field) \
	{ name, JF_CUSTOM, JF_REQUIRED, offsetof(struct line_fields, field), 0, 0, take_value }

static const struct json_field header_fields[] = {
	LF("origin", JF_STR, origin, 0, 0), LF("key", JF_STR, key, 0, 0), LF("v", JF_I64, seq, 1, 1),
};
static const struct json_field checkpoint_fields[] = { LF("note", JF_STR, note, 0, 0) };
static const struct json_field fault_fields[] = {
	LF("seq", JF_I64, seq, 1, JSON_INT_MAX), LF("reason", JF_STR, reason, 0, 0),
	LF("data", JF_STR, data, 0, 0),
};
static const struct json_field proof_fields[] = {
	LF("seq", JF_I64, seq, 1, JSON_INT_MAX), LF("leaf_index", JF_I64, leaf, 0, JSON_INT_MAX),
	LF("tree_size", JF_I64, size, 1, JSON_INT_MAX), LF_VALUE("hash", hash),
	LF_VALUE("path", path), LF_VALUE("root", root),
};

static enum status
read_proof(struct ledger_file *lf, const struct line_fields *f, int lineno, struct err *e)
{
	struct ledger_proof *p;
	size_t i;

	if (f->path->type != JSON_ARRAY || f->path->len > MERKLE_MAX_PROOF || f->leaf != f->seq - 1)
		return err_set(e, ST_BAD_JSON, "line %d: malformed proof", lineno);
	xgrow(&lf->proofs, &lf->proofcap, lf->nproofs + 1, sizeof *lf->proofs);
	p = &lf->proofs[lf->nproofs++];
	memset(p, 0, sizeof *p);
	p->seq = (uint64_t)f->seq;
	p->size = (uint64_t)f->size;
	p->line = lineno;
	p->path = xcalloc(f->path->len + 1, MERKLE_HASH);
	for (i = 0; i < f->path->len; i++)
		if (!hex_hash(&f->path->kids[i], p->path + MERKLE_HASH * i))
			return err_set(e, ST_BAD_JSON, "line %d: malformed proof hash", lineno);
	p->len = f->path->len;
	if (!hex_hash(f->root, p->root))
		return err_set(e, ST_BAD_JSON, "line %d: malformed proof root", lineno);
	return ST_OK;
}

/* A fault line: the first one is kept, with where it stands among the entries. */
static void
read_fault(struct ledger_file *lf, const struct line_fields *f)
{
	if (lf->nfaults++ == 0) {
		lf->fault_seq = (uint64_t)f->seq;
		lf->fault_after = lf->n;
		snprintf(lf->fault_reason, sizeof lf->fault_reason, "%s", f->reason);
	}
}

/* Read the members of a line of type 'what' by its table (and its "type"). */
static enum status
read_members(const struct json_value *o, const struct json_field *table, size_t n,
	     struct line_fields *f, const char *what, int lineno, struct err *e)
{
	enum status st = json_read_fields(o, table, n, 0, f, what, e);

	if (st == ST_OK && o->len != n + 1)	/* the table's members and "type" */
		st = err_set(e, ST_BAD_JSON, "%s: unknown field", what);
	if (st != ST_OK)
		err_prefix(e, "line %d", lineno);
	return st;
}

/* One line read in order; an entry goes to slot lf->n. lineno for messages. */
static enum status
read_line(struct ledger_file *lf, const char *line, size_t len, int lineno, struct err *e)
{
	struct json_doc doc = JSON_DOC_INIT;
	struct line_fields f = { 0 };
	const struct json_value *type = NULL;
	enum status st = json_parse(line, len, "ledger line", &doc, e);

	if (st == ST_OK)
		type = json_member(doc.root, "type");
	if (st != ST_OK) {
		err_prefix(e, "line %d", lineno);
	} else if (type == NULL || type->type != JSON_STRING) {
		st = err_set(e, ST_BAD_JSON, "line %d: not a ledger line (a JSON object with \"type\")",
			     lineno);
	} else if (strcmp(type->str, "entry") == 0) {
		entry_room(lf, lf->n);
		st = wentry_parse_line(line, len, &lf->entries[lf->n], e);
		if (st == ST_OK)
			lf->n++;
		else
			err_prefix(e, "line %d", lineno);
	} else if (strcmp(type->str, "ledger") == 0) {
		if (lineno != 1)
			st = err_set(e, ST_BAD_JSON, "line %d: a ledger header after line 1", lineno);
		else if ((st = read_members(doc.root, header_fields, ARRAY_SIZE(header_fields), &f,
					    "ledger header", lineno, e)) == ST_OK &&
			 (st = wkey_from_vkey(f.key, &lf->header_key, e)) == ST_OK)
			snprintf(lf->origin, sizeof lf->origin, "%s", f.origin);
		else if (st != ST_OK && strncmp(e->msg, "line ", 5) != 0)
			err_prefix(e, "line %d", lineno);
	} else if (strcmp(type->str, "fault") == 0) {
		if ((st = read_members(doc.root, fault_fields, ARRAY_SIZE(fault_fields), &f,
				       "fault line", lineno, e)) == ST_OK)
			read_fault(lf, &f);
	} else if (strcmp(type->str, "proof") == 0) {
		if ((st = read_members(doc.root, proof_fields, ARRAY_SIZE(proof_fields), &f,
				       "proof", lineno, e)) == ST_OK)
			st = read_proof(lf, &f, lineno, e);
	} else if (strcmp(type->str, "checkpoint") == 0) {
		if ((st = read_members(doc.root, checkpoint_fields, ARRAY_SIZE(checkpoint_fields), &f,
				       "checkpoint line", lineno, e)) == ST_OK)
			note_at(lf, lf->n, f.note);
	} else {
		st = err_set(e, ST_BAD_JSON, "line %d: unknown line type '%.40s'", lineno, type->str);
	}
	free(f.origin);
	free(f.key);
	free(f.note);
	free(f.reason);
	free(f.data);
	json_doc_release(&doc);
	return st;
}

/* A line of the file: where it is and which entry slot it fills (or -1). */
struct line {
	const char *p;
	size_t len;
	long slot;
};

/* Entry lines parsed by several threads; the lowest failing line wins. */
struct parse_job {
	struct ledger_file *lf;
	const struct line *lines;
	size_t from, to;
	size_t bad_line;		/* 1-based, 0 if none */
	struct err err;
};

static void *
parse_entries(void *arg)
{
	struct parse_job *j = arg;
	size_t i;

	for (i = j->from; i < j->to; i++) {
		const struct line *l = &j->lines[i];
		if (l->slot < 0)
			continue;
		if (wentry_parse_line(l->p, l->len, &j->lf->entries[l->slot], &j->err) != ST_OK) {
			err_prefix(&j->err, "line %zu", i + 1);
			j->bad_line = i + 1;
			return NULL;
		}
	}
	return NULL;
}

/*
 * Our exports begin entry lines with {"type":"entry"; those are parsed in
 * parallel. Every other line (header, checkpoints, entries written with
 * another key order) is read in order here.
 */
static bool
fast_entry(const char *p, size_t len)
{
	static const char head[] = "{\"type\":\"entry\",";

	return len > sizeof head && memcmp(p, head, sizeof head - 1) == 0;
}

#define PARSE_THREADS_MAX 8

/*
 * Parse the fast entry lines on up to one thread per CPU (PARSE_THREADS_MAX
 * at most). A thread that cannot be started leaves its share to this one:
 * slower, same result. The first bad line in file order is the error.
 */
static enum status
parse_parallel(struct ledger_file *lf, const struct line *lines, size_t nlines, struct err *e)
{
	struct parse_job jobs[PARSE_THREADS_MAX];
	pthread_t th[PARSE_THREADS_MAX];
	bool started[PARSE_THREADS_MAX];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int n = cpus < 1 ? 1 : cpus > PARSE_THREADS_MAX ? PARSE_THREADS_MAX : (int)cpus, t;

	for (t = 0; t < n; t++) {
		memset(&jobs[t], 0, sizeof jobs[t]);
		jobs[t].lf = lf;
		jobs[t].lines = lines;
		jobs[t].from = nlines * (size_t)t / (size_t)n;
		jobs[t].to = nlines * (size_t)(t + 1) / (size_t)n;
		started[t] = pthread_create(&th[t], NULL, parse_entries, &jobs[t]) == 0;
	}
	for (t = 0; t < n; t++) {
		if (started[t])
			pthread_join(th[t], NULL);
		else
			parse_entries(&jobs[t]);
	}
	for (t = 0; t < n; t++) {
		if (jobs[t].bad_line) {
			if (e)
				*e = jobs[t].err;
			return jobs[t].err.code;
		}
	}
	return ST_OK;
}

enum status
ledger_file_read(const char *path, struct ledger_file *lf, struct err *e)
{
	struct line *lines = NULL;
	char *text = NULL, *p, *nl;
	size_t len, nlines = 0, cap = 0;
	enum status st;

	memset(lf, 0, sizeof *lf);
	if ((st = read_file(path, READ_MAX_LEDGER, READ_TEXT, &text, &len, e)) != ST_OK)
		return st;
	/*
	 * In order: number every entry, read every other line, and note where
	 * checkpoints sit. Fast entries only get their slot here.
	 */
	for (p = text; st == ST_OK && p < text + len; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(text + len - p));
		if (nl == NULL)
			nl = text + len;
		xgrow(&lines, &cap, nlines + 1, sizeof *lines);
		lines[nlines].p = p;
		lines[nlines].len = (size_t)(nl - p);
		lines[nlines].slot = -1;
		if (fast_entry(p, (size_t)(nl - p))) {
			entry_room(lf, lf->n);
			lines[nlines].slot = (long)lf->n++;
		} else if (nl > p) {
			st = read_line(lf, p, (size_t)(nl - p), (int)nlines + 1, e);
		}
		nlines++;
	}
	if (st == ST_OK)
		st = parse_parallel(lf, lines, nlines, e);
	if (st == ST_OK && lf->origin[0] == '\0')
		st = err_set(e, ST_BAD_JSON, "no ledger header on line 1");
	if (st != ST_OK) {
		err_prefix(e, "'%s'", path);
		ledger_file_release(lf);
	}
	free(lines);
	free(text);
	return st;
}

void
ledger_file_release(struct ledger_file *lf)
{
	size_t i;

	for (i = 0; i < lf->n; i++)
		wentry_release(&lf->entries[i]);
	strv_free(lf->notes, lf->notes_cap);
	for (i = 0; i < lf->nproofs; i++)
		free(lf->proofs[i].path);
	free(lf->proofs);
	free(lf->entries);
	memset(lf, 0, sizeof *lf);
}

void
ledger_file_header(FILE *f, const char *origin, const struct wkey *k)
{
	struct buf b = BUF_INIT, vk = BUF_INIT;

	wkey_vkey(k, &vk);
	buf_adds(&b, "{\"type\":\"ledger\",\"v\":1,\"origin\":");
	json_escape(&b, origin);
	buf_adds(&b, ",\"key\":");
	json_escape(&b, vk.s);
	buf_adds(&b, "}\n");
	fputs(b.s, f);
	buf_release(&b);
	buf_release(&vk);
}

void
ledger_file_entry(FILE *f, const struct wentry *e)
{
	struct buf b = BUF_INIT;

	wentry_canonical(e, true, &b);
	/* The stored form with a "type" key in front: "type" sorts after the rest. */
	fprintf(f, "{\"type\":\"entry\",%s\n", b.s + 1);
	buf_release(&b);
}

void
ledger_file_proof(FILE *f, const struct wentry *e, size_t size, const merkle_hash root,
		  const uint8_t *path, size_t len)
{
	char hex[WITNESS_HEX];
	size_t i;

	hex_encode(hex, root, MERKLE_HASH);
	fprintf(f, "{\"type\":\"proof\",\"seq\":%llu,\"leaf_index\":%llu,\"tree_size\":%zu,"
		"\"hash\":\"%s\",\"root\":\"%s\",\"path\":[", (unsigned long long)e->seq,
		(unsigned long long)e->seq - 1, size, e->hash, hex);
	for (i = 0; i < len; i++) {
		hex_encode(hex, path + MERKLE_HASH * i, MERKLE_HASH);
		fprintf(f, "%s\"%s\"", i ? "," : "", hex);
	}
	fputs("]}\n", f);
}

void
ledger_file_checkpoint(FILE *f, const char *note)
{
	struct buf b = BUF_INIT;

	buf_adds(&b, "{\"type\":\"checkpoint\",\"note\":");
	json_escape(&b, note);
	buf_adds(&b, "}\n");
	fputs(b.s, f);
	buf_release(&b);
}

void
ledger_file_fault(FILE *f, uint64_t seq, const char *reason, const char *data, size_t len)
{
	struct buf b = BUF_INIT;
	char *b64 = xmalloc(sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL));

	sodium_bin2base64(b64, sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL),
			  (const uint8_t *)data, len, sodium_base64_VARIANT_ORIGINAL);
	buf_addf(&b, "{\"type\":\"fault\",\"seq\":%llu,\"reason\":", (unsigned long long)seq);
	json_escape(&b, reason);
	buf_addf(&b, ",\"data\":\"%s\"}\n", b64);
	fputs(b.s, f);
	buf_release(&b);
	free(b64);
}

/* The walk: entries and checkpoints in file order, a fault line where it stands. */
static struct wverdict
file_verify(const struct ledger_file *lf, const struct wkey *k, bool trusted, bool allow_tail)
{
	struct wverifier w;
	struct wverdict v;
	size_t i;

	wverifier_init(&w, k);
	w.trusted = trusted;
	w.allow_unsigned_tail = allow_tail;
	if (lf->notes_cap && lf->notes[0])
		wverifier_checkpoint(&w, lf->notes[0]);
	for (i = 0; i <= lf->n; i++) {
		if (lf->nfaults && lf->fault_after == i)
			wverifier_foreign(&w, lf->fault_seq, lf->fault_reason);
		if (i == lf->n)
			break;
		wverifier_entry(&w, &lf->entries[i]);
		if (i + 1 < lf->notes_cap && lf->notes[i + 1])
			wverifier_checkpoint(&w, lf->notes[i + 1]);
	}
	wverifier_finish(&w);
	v = w.v;
	/* Each proof line must prove its entry in the tree the walk built. */
	for (i = 0; v.fault == WF_NONE && i < lf->nproofs; i++) {
		const struct ledger_proof *p = &lf->proofs[i];
		merkle_hash content, leaf, root;
		bool ok = p->seq >= 1 && p->seq <= lf->n && p->size >= p->seq && p->size <= lf->n;
		if (ok) {
			merkle_root(&w.tree, p->size, root);
			wentry_hash_bytes(&lf->entries[p->seq - 1], content);
			merkle_leaf_hash(content, MERKLE_HASH, leaf);
			ok = sodium_memcmp(root, p->root, MERKLE_HASH) == 0 &&
			     merkle_verify_inclusion(p->seq - 1, p->size, leaf, p->path, p->len, root);
		}
		if (!ok) {
			v.fault = WF_ROOT;
			v.seq = p->seq;
			snprintf(v.detail, sizeof v.detail, "the inclusion proof of entry %llu on "
				 "line %d does not verify", (unsigned long long)p->seq, p->line);
		}
	}
	wverifier_release(&w);
	return v;
}

struct wverdict
ledger_file_verify(const struct ledger_file *lf, const struct wkey *k)
{
	return file_verify(lf, k, false, false);
}

struct wverdict
ledger_file_verify_trusted(const struct ledger_file *lf, const struct wkey *k,
			   bool allow_unsigned_tail)
{
	return file_verify(lf, k, true, allow_unsigned_tail);
}

void
ledger_file_tree(const struct ledger_file *lf, struct merkle *t)
{
	size_t i;

	merkle_init(t);
	for (i = 0; i < lf->n; i++)
		witness_tree_add(t, &lf->entries[i]);
}
