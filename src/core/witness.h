/*
 * The witness ledger's entries, chain, checkpoints and verification.
 *
 * An entry records one thing that happened. Its hash is SHA-256 over the
 * canonical JSON (json_canonical) of every field but "hash" itself,
 * costs included; "prev" names the previous entry's hash, so the entries
 * form a chain, and the entry hashes are the leaves of an RFC 9162 Merkle
 * tree (leaf = SHA-256(0x00 || entry hash bytes)).
 *
 * A checkpoint commits to the tree: a C2SP signed note whose text is
 *	<origin>\n<tree size>\n<base64 root hash>\n
 * signed with Ed25519. A verifier holding the public key (in C2SP vkey form,
 * "<name>+<key id hex>+<base64(0x01 || public key)>") checks a checkpoint
 * with no access to the ledger's writer.
 *
 * Verification walks entries and checkpoints in order and stops at the
 * first problem, naming the entry and what is wrong: edited (the hash does
 * not match the fields), missing (a sequence number skipped), reordered (a
 * sequence number goes back), broken chain (prev is not the previous hash),
 * a checkpoint whose root is not the tree's, or a bad signature. It never
 * changes anything.
 */
#ifndef IF_WITNESS_H
#define IF_WITNESS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/merkle.h"
#include "core/status.h"

#define WITNESS_HEX (2 * MERKLE_HASH + 1)

#define WITNESS_V 2	/* the canonical form new entries are hashed in (RFC 8785) */

struct wentry {
	int v;			/* 1: version 1 canonical form; 2: RFC 8785 */
	uint64_t seq;		/* 1, 2, 3 ... */
	int64_t time;		/* ms since the epoch */
	char *component;	/* coordinator, governor, chassis, cost, operator ... */
	char *event;		/* task.claim, policy.violation ... */
	char *actor;		/* who acted */
	char *trace;		/* trace id, or NULL */
	char *swarm;		/* or NULL */
	char *task;		/* or NULL */
	char *payload;		/* canonical JSON, or NULL */
	int64_t cost_micros;	/* cost in millionths of the currency unit */
	int64_t tokens;		/* model tokens */
	char prev[WITNESS_HEX];	/* previous entry's hash (64 zeros for the first) */
	char hash[WITNESS_HEX];
};

/* The prev of the first entry: 64 zeros. */
extern const char witness_zero_hash[WITNESS_HEX];

void wentry_init(struct wentry *e);
void wentry_release(struct wentry *e);
/* A deep copy; release dst with wentry_release(). */
void wentry_copy(struct wentry *dst, const struct wentry *src);

/* Canonical JSON of the entry, with or without its "hash" field. */
void wentry_canonical(const struct wentry *e, bool with_hash, struct buf *out);

/* Compute e->hash from the other fields. */
void wentry_seal(struct wentry *e);

/* Does e->hash match the fields? */
bool wentry_hash_ok(const struct wentry *e);

/*
 * Parse a stored entry (canonical JSON with hash): I-JSON, every member
 * present and of its type, no other member.
 */
enum status wentry_parse(const char *json, size_t len, struct wentry *e, struct err *err);
/* The same for a line of an export: the entry and "type": "entry". */
enum status wentry_parse_line(const char *json, size_t len, struct wentry *e, struct err *err);

/*
 * Would e (sealed or not) be stored and read back exactly? When not,
 * ST_BAD_VALUE or ST_BAD_JSON naming the field (a string that is not
 * UTF-8, a payload that is not I-JSON, a number out of range). Writers
 * call it before appending.
 */
enum status wentry_check(const struct wentry *e, struct err *err);

/* The entry hash as bytes (the Merkle leaf's content). */
bool wentry_hash_bytes(const struct wentry *e, merkle_hash out);

/* Append e's leaf, SHA-256(0x00 || hash bytes), to the tree. */
void witness_tree_add(struct merkle *t, const struct wentry *e);

/* Ed25519 keys. */
struct wkey {
	char name[64];
	uint8_t pk[32];
	uint8_t sk[64];
	bool secret;		/* sk is set */
	uint32_t id;		/* C2SP key id */
};

void wkey_generate(struct wkey *k, const char *name);
/* A key from a 32-byte seed (reproducible test fixtures). */
void wkey_from_seed(struct wkey *k, const char *name, const uint8_t seed[32]);
/* "<name>+<id hex>+<base64(0x01||pk)>" */
void wkey_vkey(const struct wkey *k, struct buf *out);
enum status wkey_from_vkey(const char *vkey, struct wkey *k, struct err *e);
/* Secret key file: one line, "<name> <base64 sk>"; refuses modes other than 0600. */
enum status wkey_load(const char *path, struct wkey *k, struct err *e);
enum status wkey_save(const char *path, const struct wkey *k, struct err *e);

struct wcheckpoint {
	char origin[128];
	uint64_t size;
	merkle_hash root;
};

/*
 * C2SP signed notes: text (lines ending in newline), a blank line, then
 * "— <key name> <base64(4-byte key id || Ed25519 signature of text)>".
 * wnote_open checks that one signature line by k verifies (k NULL: only
 * the form) and gives the length of the text: ST_BAD_VALUE for a note
 * that is not of that form (or over the bounds below), ST_WITNESS when no
 * signature by k holds. It reads the note once, in time linear in its
 * length.
 */
#define WNOTE_MAX 65536		/* bytes in a signed note, signatures included */
#define WNOTE_SIGS_MAX 100	/* lines after the blank line (signatures) */
void wnote_sign(const struct wkey *k, const char *text, struct buf *note);
enum status wnote_open(const char *note, const struct wkey *k, size_t *text_len,
		       struct err *e);

/* The signed note of a checkpoint. */
void wcheckpoint_sign(const struct wkey *k, const struct wcheckpoint *cp, struct buf *note);
/*
 * Parse a signed note and check its signature by k (k NULL: the form
 * only): ST_BAD_VALUE when malformed (cp->size is then 0), ST_WITNESS when
 * the signature does not hold.
 */
enum status wcheckpoint_open(const char *note, const struct wkey *k, struct wcheckpoint *cp,
			     struct err *e);

enum wfault {
	WF_NONE, WF_MALFORMED, WF_EDITED, WF_MISSING, WF_REORDERED, WF_CHAIN, WF_ROOT,
	WF_SIGNATURE, WF_UNSIGNED,
};
const char *wfault_name(enum wfault f);

/* Where a verification stopped. */
struct wverdict {
	enum wfault fault;
	uint64_t seq;		/* the entry (or checkpoint size) at fault */
	char detail[ERR_MSG_MAX];
	uint64_t entries, checkpoints;	/* how many were checked and found good */
	merkle_hash root;	/* root over the good entries, after wverifier_finish() */
	uint64_t signed_first;	/* size of the first checkpoint signed by the key (0: none) */
	uint64_t covered;	/* entries 1..covered are under a checkpoint signed by the key */
	bool tail_allowed;	/* entries after 'covered' were accepted (allow_unsigned_tail) */
};

/*
 * Incremental verifier: feed entries and signed checkpoint notes in ledger
 * order. Each call returns whether the ledger is still good; after the first
 * fault (in w->v) the rest is ignored.
 */
struct wverifier {
	const struct wkey *key;	/* NULL: checkpoints' signatures are not checked */
	bool trusted;		/* key is trusted: every entry must be under a checkpoint
				   it signed (set after init) */
	bool allow_unsigned_tail;	/* ... except entries after the last one */
	struct merkle tree;
	char last_hash[WITNESS_HEX];
	uint64_t next_seq;
	struct wverdict v;
};

void wverifier_init(struct wverifier *w, const struct wkey *key);
void wverifier_release(struct wverifier *w);
bool wverifier_entry(struct wverifier *w, const struct wentry *e);
/*
 * Fill w->v.root: the root over the entries found good. With a trusted
 * key, entries no checkpoint signed by it covers (all of them, when it
 * signed none) are a fault here (WF_UNSIGNED), unless allow_unsigned_tail:
 * then v.tail_allowed says they were let through.
 */
void wverifier_finish(struct wverifier *w);
bool wverifier_checkpoint(struct wverifier *w, const char *note);
/* Stream message seq is not an entry at all (reason says why): WF_MALFORMED. */
bool wverifier_foreign(struct wverifier *w, uint64_t seq, const char *reason);

#endif
