/*
 * Exported witness ledgers: JSON lines, one object per line, in order.
 *
 *	{"type":"ledger","v":1,"origin":"...","key":"<vkey>"}	first line
 *	{"type":"entry", ...the stored entry...}
 *	{"type":"checkpoint","note":"<signed note>"}
 *	{"type":"proof","seq":N,...,"path":[...]}	optional, after the entries
 *	{"type":"fault","seq":N,"reason":"...","data":"<base64>"}
 *
 * A fault line marks stream message N, which was not a witness entry
 * (written by another client): the export goes on around it, data holds
 * the message as it was, and verify stops there with a malformed fault.
 *
 * A file verifies offline, with no server: the entries' hashes and chain,
 * the Merkle tree, and every checkpoint's signature by the trusted key
 * (given by the verifier; the key in the header is used only when none is
 * given, and the verdict says so).
 */
#ifndef IF_LEDGERFILE_H
#define IF_LEDGERFILE_H

#include <stdio.h>

#include "core/witness.h"

struct ledger_file {
	char origin[128];
	struct wkey header_key;		/* from the header */
	struct wentry *entries;
	size_t n, cap;
	char **notes;			/* notes[i]: checkpoint after entry i (i = 0..n) */
	size_t notes_cap;
	struct ledger_proof {		/* proof lines, checked after the walk */
		uint64_t seq, size;
		merkle_hash root;
		uint8_t *path;		/* len hashes */
		size_t len;
		int line;
	} *proofs;
	size_t nproofs, proofcap;
	size_t nfaults;			/* fault lines; the first one: */
	uint64_t fault_seq;		/* the stream message marked */
	size_t fault_after;		/* entries before it in the file */
	char fault_reason[256];
};

/* Read a file; malformed lines are ST_BAD_JSON naming the line. */
enum status ledger_file_read(const char *path, struct ledger_file *lf, struct err *e);
void ledger_file_release(struct ledger_file *lf);

/* Write the header, then entries and checkpoints, to f. */
void ledger_file_header(FILE *f, const char *origin, const struct wkey *k);
void ledger_file_entry(FILE *f, const struct wentry *e);
void ledger_file_checkpoint(FILE *f, const char *note);
/* {"type":"proof", seq, leaf_index, tree_size, hash, root, path}: an RFC 9162
 * inclusion proof of entry e in the tree of 'size' entries. */
void ledger_file_proof(FILE *f, const struct wentry *e, size_t size, const merkle_hash root,
		       const uint8_t *path, size_t len);

/* A fault line for stream message seq, not an entry: reason, and the message itself. */
void ledger_file_fault(FILE *f, uint64_t seq, const char *reason, const char *data, size_t len);

/* Verify everything in lf with key k; the verdict says where it stopped. */
struct wverdict ledger_file_verify(const struct ledger_file *lf, const struct wkey *k);
/*
 * The same with k trusted: every entry must be under a checkpoint k signed
 * (see wverifier_finish), unless allow_unsigned_tail.
 */
struct wverdict ledger_file_verify_trusted(const struct ledger_file *lf, const struct wkey *k,
					   bool allow_unsigned_tail);

/* Leaf hashes of the first n entries into t (for proofs). */
void ledger_file_tree(const struct ledger_file *lf, struct merkle *t);

#endif
