/*
 * The optimiser: cheaper ways to do the work recently done.
 *
 * Models: for each model used in the period, the model of the same tier
 * (price table) that has every capability of the one used and would have
 * cost the least for the same tokens and run time, priced exactly as the
 * records were.
 *
 * Swarms: for each swarm that spent in the period and has a profile, the
 * qualified swarm (every capability of the one used, reputation at least
 * its own and at least a floor) with the lowest cost per hour; the saving
 * is the difference in hourly cost over the hours the swarm worked
 * (duration_ms of its records, else latency_ms). Candidates come from the
 * governor's fleet (swarm_candidates_from_fleet), whose filters leave out
 * swarms that may not take work, or from a JSON file of profiles.
 */
#ifndef IF_OPTIMISE_H
#define IF_OPTIMISE_H

#include <stddef.h>
#include <stdint.h>

#include "core/bus.h"
#include "core/costdb.h"
#include "core/opctx.h"
#include "core/price.h"
#include "core/rows.h"

struct swarm_candidate {
	char *id;
	char **caps;			/* sorted */
	size_t ncaps;
	int64_t cost_per_hour_micros;	/* -1: unknown */
	double reputation;		/* 0..1 */
	const char *excluded;		/* the governor's rule that keeps it from new work
					   (gov_rule_name: retired, breaker-open,
					   budget-exhausted), or NULL */
};

void swarm_candidates_free(struct swarm_candidate *v, size_t n);

/*
 * Candidates from a JSON array of profiles (a file, the bus): each object
 * with "id", "capabilities" (array of strings), and the cost per hour as
 * "cost_per_hour_micros" (integer) or "cost_per_hour" (USD, a number or
 * decimal string), "reputation" in 0..1 (or 0..100). A profile that does
 * not read is skipped and counted in *bad.
 */
enum status swarm_candidates_parse(const char *json, size_t len, struct swarm_candidate **out,
				   size_t *n, size_t *bad, struct err *e);
/*
 * The same from the governor's fleet as read (gov_fleet_read: the
 * schema-checked profiles, their state, their budgets): a retired swarm,
 * one whose breaker is not closed and one whose budget is exhausted keep
 * their profile but are never suggested (excluded says why).
 */
struct gov_fleet;
void swarm_candidates_from_fleet(const struct gov_fleet *f, struct swarm_candidate **out,
				 size_t *n);

enum suggest_col {
	SG_KIND, SG_CURRENT, SG_SUGGESTED, SG_RECORDS, SG_COST, SG_COST_THERE, SG_SAVING,
	SG_SAVING_PCT, SG_REASON, SG_SAVING_MICROS, SG__COUNT
};
/* An empty suggestions view ("suggestions"). */
struct rowset *optimise_view(void);

/* Model suggestions for sums by model (costdb_sums DIM_MODEL); each explained in op. */
void optimise_models(const struct price_table *t, const struct cost_sum *s, size_t n,
		     struct opctx *op, struct rowset *out);

/* Swarm suggestions for sums by swarm, over candidates c[0..nc). */
void optimise_swarms(const struct swarm_candidate *c, size_t nc, const struct cost_sum *s,
		     size_t n, double min_reputation, struct opctx *op, struct rowset *out);

#endif
