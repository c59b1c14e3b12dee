/*
 * The ready index: which task a claimer should try next, without scanning
 * the bucket. It knows the last record of every task key it was given and
 * keeps the claimable ones in two structures:
 *
 *  - one FIFO per priority of queued tasks, in the order they became
 *    queued (a record that leaves the queued state stays in its list until
 *    a pick walks past it: heads are dropped lazily);
 *  - a min-heap of claimed tasks on lease_until, so expired leases are the
 *    top of the heap (a lease that has not expired has no expired child).
 *
 * A pick takes, of the ready tasks (queued and past not_before, or claimed
 * with an expired lease) that the claimer may take (`to` names it or is
 * empty; it has every capability the task requires), the highest priority,
 * then the oldest (created); on a tie of priority between an expired lease
 * and a queued task, the expired lease, whose work started first. A pick
 * looks at READYQ_SCAN_MAX entries per list at the most, so its cost does
 * not grow with the history of the queue.
 *
 * A record that is not a valid task (readyq_put) is quarantined: it is
 * never offered until a valid record replaces it.
 *
 * Not thread-safe: the caller serialises every call (coord.c holds its
 * index mutex). The index knows nothing of NATS: the coordinator feeds it
 * from its watch and after its own writes.
 */
#ifndef IF_READYQ_H
#define IF_READYQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/task.h"

#define READYQ_SCAN_MAX 4096	/* entries looked at per list and pick */

/* Who asks for a task. */
struct claimer {
	const char *swarm;
	char *const *caps;	/* what the swarm can do */
	size_t ncaps;
};

struct readyq;

/* What a pick hands out: copies the caller frees with readyq_pick_release(). */
struct readyq_pick {
	char *id;
	char *json;		/* the last record seen, for a claim without a read */
	size_t len;
	uint64_t rev;
};

struct readyq *readyq_new(void);
/* readyq_free(NULL) is a no-op. */
void readyq_free(struct readyq *q);

/*
 * Take in what key holds at rev: a valid task record is indexed, anything
 * else quarantined. A rev older than the one known is ignored.
 */
void readyq_put(struct readyq *q, const char *key, const char *json, size_t len, uint64_t rev);

/*
 * As readyq_put, whatever revision is known: the stream leader's answer,
 * which wins over a replica's (on nats-server 2.9 a replica's sequence
 * numbers have been seen to run ahead of the leader's). Returns the
 * revision known before (0: none).
 */
uint64_t readyq_replace(struct readyq *q, const char *key, const char *json, size_t len,
			uint64_t rev);

/* Take in the valid record t (its json) of key at rev, already parsed. */
void readyq_update(struct readyq *q, const char *key, const struct task *t, const char *json,
		   size_t len, uint64_t rev);

/*
 * Forget what key held (deleted, or unusable): never offered until a newer
 * record arrives. rev 0 keeps the revision known.
 */
void readyq_drop(struct readyq *q, const char *key, uint64_t rev);

/*
 * The best ready task for c at now (ms since the epoch), copied into out
 * and marked in flight: later picks skip it until readyq_unmark(). False
 * (out untouched) when there is none.
 */
bool readyq_pick(struct readyq *q, const struct claimer *c, int64_t now,
		 struct readyq_pick *out);
/* End the in-flight mark of a pick. */
void readyq_unmark(struct readyq *q, const char *key);
void readyq_pick_release(struct readyq_pick *p);

/* Keys known (valid, quarantined or deleted). */
size_t readyq_size(const struct readyq *q);

/* Call fn with the last valid record of every task the index knows. */
void readyq_each(const struct readyq *q, void (*fn)(void *arg, const char *json, size_t len),
		 void *arg);

#endif
