/*
 * Operations over the witness ledger on the server, for ifctl witness:
 * verify it online (every entry in order, every stored checkpoint where it
 * falls), export it (JSON lines with checkpoints, fault lines and proofs,
 * or CSV), prove inclusion and consistency from any tree, list the stored
 * checkpoints. Results come back as views (wview.h) and counts; the
 * command adds the explanations (--why) and the checks (--mode=falsify).
 *
 * Threads: one caller at a time per bus, as bus.h says.
 */
#ifndef IF_WOPS_H
#define IF_WOPS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/bus.h"
#include "core/merkle.h"
#include "core/rows.h"
#include "core/witness.h"

/* The stored checkpoints (signed notes), ordered by tree size, ties as stored. */
struct wnotes {
	struct wnote {
		uint64_t size;		/* as the note says (0 when it cannot be read) */
		size_t order;		/* place in the stream */
		char *note;
	} *v;
	size_t n, cap;
};

/* Read every stored checkpoint; release out in every case. */
enum status wnotes_load(struct bus *b, struct wnotes *out, struct err *e);
void wnotes_release(struct wnotes *c);

struct wverify_opts {
	const struct wkey *key;		/* NULL: signatures are not checked */
	bool trusted;			/* every entry must be under a checkpoint key signed */
	bool allow_unsigned_tail;
};

/*
 * Verify the ledger on the server into *v. *entries and *checkpoints say
 * how many were read. A verification failure is in v, not the status.
 */
enum status wops_verify_online(struct bus *b, const struct wverify_opts *o,
			       struct wverdict *v, uint64_t *entries, uint64_t *checkpoints,
			       struct err *e);

struct wexport_opts {
	const struct wkey *key;		/* the header names it; with its secret it signs the head */
	bool csv;			/* CSV rows, not JSON lines */
	bool proofs;			/* each entry's inclusion proof in the whole tree */
};

struct wexport {
	char *text;			/* the export (caller frees) */
	size_t len;
	size_t entries;
	size_t checkpoints;		/* stored ones written (signed by the key) */
	size_t other_key;		/* stored ones signed by another key, left out */
	uint64_t last_stored;		/* size of the last stored checkpoint written */
	bool head_signed;		/* the head was signed now */
	size_t foreign;			/* messages that are not entries (fault lines) */
	uint64_t first_foreign;		/* the stream sequence of the first of them */
};

/*
 * Read the whole ledger and its checkpoints and write the export. Foreign
 * messages become "fault" lines where they stand (JSON lines only) and
 * leave the head unsigned: out->foreign says so, the status does not.
 */
enum status wops_export(struct bus *b, const struct wexport_opts *o, struct wexport *out,
			struct err *e);

/*
 * Proofs from any tree t (an exported file's, the index's), checked against
 * the root before they are given: *out is the "proof" record, and the
 * result says whether it verified. a and b are 1-based and a <= b <= size.
 */
bool wops_prove_inclusion(struct merkle_view *t, const char *entry_hash, uint64_t a,
			  uint64_t b, struct rowset **out);
bool wops_prove_consistency(struct merkle_view *t, uint64_t a, uint64_t b,
			    struct rowset **out);

/*
 * The stored checkpoints as the "checkpoints" view, each checked with key
 * (NULL: "unchecked"); *bad counts those malformed or not signed by key.
 */
enum status wops_checkpoints(struct bus *b, const struct wkey *key, struct rowset **out,
			     size_t *bad, struct err *e);

#endif
