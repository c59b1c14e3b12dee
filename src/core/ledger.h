/*
 * The witness ledger on NATS: stream IF_WITNESS, one subject, one entry per
 * message, stream sequence = entry sequence.
 *
 * An append publishes the next entry with the header
 * Nats-Expected-Last-Subject-Sequence set to the tail the writer knows (for
 * the first entry: "no message yet"), so of two writers racing for the same
 * place exactly one lands; the other reads the new tail and tries again.
 * Many processes therefore write one total order and one correct chain.
 * A writer whose acknowledgement was lost finds its own entry at the tail
 * when it reads again, and stops there.
 */
#ifndef IF_LEDGER_H
#define IF_LEDGER_H

#include "core/bus.h"
#include "core/witness.h"

#define LEDGER_STREAM "IF_WITNESS"
#define LEDGER_SUBJECT "if.v1.witness.entry"

struct ledger_writer {
	struct bus *b;
	const char *stream, *subject;	/* LEDGER_STREAM and LEDGER_SUBJECT by default */
	uint64_t last_seq;		/* tail as this writer knows it */
	char last_hash[WITNESS_HEX];
	bool known;			/* tail read at least once */
	uint64_t conflicts;		/* races lost (for benchmarks) */
};

void ledger_writer_init(struct ledger_writer *w, struct bus *b);

/* Append e: fills seq, prev and hash. */
enum status ledger_append(struct ledger_writer *w, struct wentry *e, struct err *err);

/* Call fn for entries 1..last in order; *count is how many were read. */
typedef enum status (*ledger_entry_fn)(void *arg, const struct wentry *e, struct err *err);
enum status ledger_read(struct bus *b, ledger_entry_fn fn, void *arg, uint64_t *count,
			struct err *err);
/* The same from entry 'from' on. */
enum status ledger_read_from(struct bus *b, uint64_t from, ledger_entry_fn fn, void *arg,
			     uint64_t *count, struct err *err);

/*
 * The ledger's signing key, $IF_HOME/keys/witness.key (0600), named
 * "ifctl/<host>". With create, a missing key is made; else ST_NOT_FOUND.
 */
enum status witness_key(const char *home, bool create, struct wkey *k, bool *created,
			struct err *e);

#endif
