/*
 * The witness ledger on NATS: stream IF_WITNESS, one subject, one entry per
 * message, stream sequence = entry sequence.
 *
 * An append publishes the next entry with the header
 * Nats-Expected-Last-Subject-Sequence set to the tail the writer knows (for
 * the first entry: "no message yet"), so of two writers racing for the same
 * place exactly one lands; the other reads the new tail and tries again.
 * Many processes therefore write one total order and one correct chain.
 *
 * A writer with several entries sends them without waiting for each
 * acknowledgement. Every entry after the first of such a batch also carries
 * Nats-Expected-Last-Msg-Id, the previous entry's hash (each entry's
 * Nats-Msg-Id is its own hash): the server takes it only if the message
 * before it is exactly that entry, so if another writer slips in, the rest
 * of the batch is refused, never chained to the wrong predecessor. The
 * writer then reads the tail, seals the rest again and goes on.
 *
 * When answers are lost (a timeout, a reconnect), the writer reads the
 * stream back and keeps the entries it finds there, by hash, before it
 * sends anything again: no entry is ever written twice.
 *
 * Group commit: with ledger_writer_start(), a thread appends what callers
 * ledger_submit() in batches, so many threads can witness what they do
 * without waiting for the server; ledger_flush() waits until all of it has
 * landed.
 */
#ifndef IF_LEDGER_H
#define IF_LEDGER_H

#include <pthread.h>

#include "core/bus.h"
#include "core/config.h"
#include "core/opctx.h"
#include "core/witness.h"

#define LEDGER_STREAM "IF_WITNESS"
#define LEDGER_SUBJECT "if.v1.witness.entry"
/* Signed checkpoints: one C2SP signed note per message, in the order made. */
#define CHECKPOINT_STREAM "IF_CHECKPOINTS"
#define CHECKPOINT_SUBJECT "if.v1.witness.checkpoint"
#define LEDGER_BATCH 256		/* entries sent before waiting */
#define LEDGER_QUEUE_MAX 65536		/* submitted, not landed: ledger_submit waits beyond */

struct ledger_writer {
	struct bus *b;
	const char *stream, *subject;	/* LEDGER_STREAM and LEDGER_SUBJECT by default */
	uint64_t last_seq;		/* tail as this writer knows it */
	char last_hash[WITNESS_HEX];
	bool known;			/* tail read at least once */
	uint64_t conflicts;		/* races lost (for benchmarks) */
	uint64_t batches;		/* batches sent */
	uint64_t recovered;		/* entries found landed after their answers were lost */

	/* Called after n entries landed between from and to, by the thread that appended them. */
	void (*landed)(void *arg, uint64_t from, uint64_t to, size_t n);
	void *landed_arg;

	/* Submitted entries waiting to land (group commit). */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct wentry *queue;
	size_t head, nqueue, capqueue;
	uint64_t submitted, done, dropped, failures;
	uint64_t refused;		/* submitted entries that would not read back */
	struct err refusal;		/* why the last of them was refused */
	enum status st;			/* the last failure, ST_OK after a success */
	struct err err;
	bool threaded, stopping;
	pthread_t thread;
};

void ledger_writer_init(struct ledger_writer *w, struct bus *b);
/* Stop the thread (trying once more to append what waits) and free the queue. */
void ledger_writer_release(struct ledger_writer *w);

/* Append e: fills seq, prev and hash. */
enum status ledger_append(struct ledger_writer *w, struct wentry *e, struct err *err);

/*
 * Append e[0..n) in this order (not necessarily at consecutive places);
 * *done says how many landed, the first ones, also on failure. Entries
 * already sealed (hash set) were sent by an earlier call that failed: they
 * are looked for in the stream first, so a retry never writes one twice.
 */
enum status ledger_append_many(struct ledger_writer *w, struct wentry *e, size_t n,
			       size_t *done, struct err *err);

/* Append submitted entries from a thread of the writer's own. */
void ledger_writer_start(struct ledger_writer *w);

/*
 * Hand e over to be appended (e is emptied). Without the thread, it waits
 * for ledger_flush().
 */
void ledger_submit(struct ledger_writer *w, struct wentry *e);

/*
 * Wait until everything submitted so far has landed: ST_OK, or the failure
 * that stopped it (the entries stay queued and the thread keeps trying).
 */
enum status ledger_flush(struct ledger_writer *w, struct err *err);

/* Call fn for entries 1..last in order; *count is how many were read. */
typedef enum status (*ledger_entry_fn)(void *arg, const struct wentry *e, struct err *err);
enum status ledger_read(struct bus *b, ledger_entry_fn fn, void *arg, uint64_t *count,
			struct err *err);
/* The same from entry 'from' on. */
enum status ledger_read_from(struct bus *b, uint64_t from, ledger_entry_fn fn, void *arg,
			     uint64_t *count, struct err *err);

/*
 * The same from 'from' on, where a message that is not a witness entry
 * (another client's garbage) goes to foreign(arg, seq, reason, data, len)
 * instead of failing the read.
 */
typedef enum status (*ledger_foreign_fn)(void *arg, uint64_t seq, const char *reason,
					 const char *data, size_t len, struct err *err);
enum status ledger_read_marked(struct bus *b, uint64_t from, ledger_entry_fn fn,
			       ledger_foreign_fn foreign, void *arg, uint64_t *count,
			       struct err *err);

/* The whole ledger in memory (exports, tools); release with wentries_release(). */
struct wentries {
	struct wentry *v;
	size_t n, cap;
};
enum status ledger_read_all(struct bus *b, struct wentries *out, struct err *err);
void wentries_release(struct wentries *w);

/* Call fn with every stored checkpoint (a signed note), in the order stored. */
typedef enum status (*ledger_note_fn)(void *arg, const char *note, struct err *err);
enum status ledger_checkpoints(struct bus *b, ledger_note_fn fn, void *arg, uint64_t *count,
			       struct err *err);

/*
 * What an operation witnesses. The entry gets the time, op's trace id, and
 * the operator's --why text as "why" in the payload (an object, or NULL).
 */
struct witness_note {
	const char *component, *event, *actor, *swarm, *task;
	const char *payload;
	int64_t cost_micros, tokens;
};

/*
 * The payload an entry carries: payload (JSON text or NULL) in canonical
 * form, with why (or NULL) as its member "why". A payload that is not an
 * object is carried as member "value" of one, so the why is never dropped;
 * text that is not JSON is left out. NULL when there is nothing; the
 * caller frees.
 */
char *witness_payload(const char *payload, const char *why);

/* Submit the note to op->witness; nothing when that is NULL or under falsify. */
void ledger_witness(const struct opctx *op, const struct witness_note *n);

/*
 * The ledger's signing key, $IF_HOME/keys/witness.key (0600), named
 * "ifctl/<host>". With create, a missing key is made; else ST_NOT_FOUND.
 */
enum status witness_key(const struct config *c, bool create, struct wkey *k, bool *created,
			struct err *e);

#endif
