/*
 * Why a claim found nothing: what would make a task ready for a swarm.
 *
 * When a claim comes back empty the operator needs to know what stands in
 * the way: tasks that need a capability the swarm did not offer, tasks
 * pushed --to another swarm, leases still running (held by whom, until
 * when), retry backoffs, or an empty queue. claim_why() walks the
 * coordinator's index once (the failure path only: a successful claim
 * never pays for it) and writes one line an operator can act on.
 */
#ifndef IF_CLAIMWHY_H
#define IF_CLAIMWHY_H

#include <stdint.h>

#include "core/buf.h"
#include "core/coord.h"
#include "core/readyq.h"

/*
 * Append to out the remedy for "no ready task for c at now": counts by
 * obstacle with up to CLAIM_WHY_SHOWN examples each (capabilities lacked,
 * the swarms tasks were pushed to, lease holders and their deadlines,
 * backoff ends), then what to run. Thread-safe as coord_index_each is.
 */
#define CLAIM_WHY_SHOWN 3
void claim_why(struct coord_index *ix, const struct claimer *c, int64_t now, struct buf *out);

/* Set claim_why() for now as the remedy of the failure in e (a claim's ST_NOT_FOUND). */
void claim_why_remedy(struct coord_index *ix, const struct claimer *c, struct err *e);

/* The same over records given one by one (the index's walk calls it); for tests. */
struct claim_tally;
struct claim_tally *claim_tally_new(const struct claimer *c, int64_t now);
void claim_tally_add(struct claim_tally *t, const char *json, size_t len);
void claim_tally_text(const struct claim_tally *t, struct buf *out);
void claim_tally_free(struct claim_tally *t);

#endif
