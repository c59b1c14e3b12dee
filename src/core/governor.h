/*
 * The governor: which swarms may take which work, and when they may not.
 *
 *  - Matching: the swarms that cover a task's capabilities, ranked by a
 *    score that uses the policy's weights, after filters (retired, breaker
 *    open, budget, cost cap, minimum match). Every candidate keeps its
 *    score breakdown or the rule that excluded it, for --why.
 *  - Help for a blocked swarm: the best helper per needed capability, at
 *    most max_swarms_per_task of them, each given a blocker-assistance task
 *    through the coordinator; an escalation event when none qualifies.
 *  - Assignment validation: too many swarms, over the cost cap or a
 *    budget, duplicates, empty; each violation published and witnessed.
 *  - Circuit breaker per swarm (state.<id> in IF_SWARMS, swarm.h): opens
 *    after the threshold of consecutive failures or when the budget is
 *    exhausted, closes on 'governor reset' (or after a successful half-open
 *    probe when the policy sets half_open_after_s). Every transition is an
 *    event on if.v1.evt.governor.breaker.<id> and a witness entry.
 *
 * Scores. For required capabilities R and a swarm s under rules P:
 *	coverage   = |R n caps(s)| / |R|                (R is never empty)
 *	cost_score = 1 - min(1, cost_per_hour(s) / P.max_cost_per_task)
 *	             (max_cost_per_task > 0 by the schema; a free swarm scores 1)
 *	score      = P.w_capability * coverage + P.w_reputation * reputation(s)
 *	             + P.w_cost * cost_score
 *	reputation(s) = clamp(profile reputation + reputation_delta of its SLO
 *	             standing (slo.h; 0 without one), 0, 1)
 * With P.slo_block_paging, a swarm whose SLO standing pages (or is
 * malformed) is left out (slo-paging) and may not claim.
 * A task's estimated cost is one hour of the swarm's time. Ties: higher
 * coverage, then lower cost, then the id in byte order.
 *
 * Money is integer micro-USD throughout; scores are doubles and never money.
 *
 * Threads: functions may be called from any thread; governor_set_policy()
 * is set once before use.
 */
#ifndef IF_GOVERNOR_H
#define IF_GOVERNOR_H

#include <stdbool.h>
#include <stdint.h>

#include "core/bus.h"
#include "core/coord.h"
#include "core/opctx.h"
#include "core/policy.h"
#include "core/rows.h"
#include "core/swarm.h"

struct slo_standings;
struct slo_standing_entry;

#define GOV_BUDGET_BUCKET "IF_BUDGETS"
#define GOV_BUDGET_PREFIX "swarm."	/* key swarm.<id> */
#define GOV_SUBJECT_VIOLATION "if.v1.evt.governor.violation"
#define GOV_SUBJECT_ESCALATION "if.v1.evt.governor.escalation"

/* --- budgets (IF_BUDGETS, swarm.<id>; budget.h reads and writes them) ---- */

/* A budget's figures as the fleet snapshot holds them. */
struct gov_budget {
	int64_t allocated, reserved, spent;	/* micro-USD */
	uint64_t rev;
};

/*
 * What swarm_id may still spend: allocated - reserved - spent (may be
 * negative), read by budget_get(). *has_budget false (and *micros 0) when
 * no budget is set: no limit unless the policy says otherwise.
 */
enum status gov_budget_remaining(struct bus *b, const char *swarm_id, int64_t *micros,
				 bool *has_budget, struct err *e);

/*
 * Give swarm_id allocated micro-USD to spend from now (budget_allocate_left:
 * the cost code's one writer): create the record when there is none
 * (only_if_missing: leave an existing one as it is, *created false), else
 * set allocated so that remaining is exactly `allocated`. Witnessed as
 * budget.allocate under op; nothing written under op->falsify.
 */
enum status gov_budget_assign(struct bus *b, struct opctx *op, const char *swarm_id,
			      int64_t allocated, bool only_if_missing, bool *created,
			      struct err *e);

/*
 * The policy's budget_warning_threshold for swarm_id (NULL: the policy's
 * rules) in whole percent, 0 for none: one of the crossing thresholds of
 * every budget of the swarm (budget_threshold).
 */
int governor_budget_warning_pct(const char *swarm_id);

/* --- the fleet as one snapshot ------------------------------------------- */

struct gov_fleet {
	struct swarm_list swarms;
	struct gov_budget *budgets;	/* per swarm, same order */
	bool *has_budget;
	size_t nbad_budgets;		/* budget records that did not parse (ignored: no limit) */
	struct slo_standings *slo;	/* SLO standings (slo.h): reputation, slo_block_paging;
					   NULL: none */
};
enum status gov_fleet_load(struct bus *b, struct gov_fleet *out, struct err *e);
/*
 * Only the swarms that list one of caps (swarm_list_having); *skipped
 * counts the others. Enough for a choice; views of every candidate need
 * gov_fleet_load().
 */
enum status gov_fleet_load_having(struct bus *b, char *const *caps, size_t ncaps,
				  struct gov_fleet *out, size_t *skipped, struct err *e);
/*
 * The same from a synced local mirror of IF_SWARMS and IF_BUDGETS
 * (kvmirror.h; m NULL: the buckets, as above): the same fleet, read from
 * disk. With caps only the records tagged with one of them are read and
 * parsed, and one budget lookup is made per swarm read. The SLO standings
 * still come from their bucket (b).
 */
enum status gov_fleet_read(struct bus *b, struct kvmirror *m, char *const *caps, size_t ncaps,
			   struct gov_fleet *out, size_t *skipped, struct err *e);
/* The buckets a fleet is read from, for kvmirror_attach(): IF_SWARMS, then this one. */
extern const struct kvmirror_bucket gov_budget_mirror_bucket;
extern const struct kvmirror_bucket *const gov_mirror_buckets[];
extern const size_t gov_mirror_bucket_count;
void gov_fleet_release(struct gov_fleet *f);

/* --- matching -------------------------------------------------------------- */

/* Why a swarm was left out: the rule's name (stable; in --why and -o json). */
enum gov_rule {
	GR_NONE, GR_BLOCKED, GR_RETIRED, GR_BREAKER_OPEN, GR_NO_MATCH, GR_BELOW_MIN_MATCH,
	GR_OVER_COST_CAP, GR_BUDGET_EXHAUSTED, GR_OVER_BUDGET, GR_SLO_PAGING, GR__COUNT
};
const char *gov_rule_name(enum gov_rule r);

struct gov_candidate {
	const struct swarm *s;
	size_t index;			/* in the fleet */
	size_t matched;			/* required capabilities it has */
	double coverage, cost_score, score;
	double reputation;		/* effective: the profile's moved by its SLO standing */
	const struct slo_standing_entry *slo;	/* its SLO standing, or NULL */
	double s_cap, s_rep, s_cost;	/* weighted parts of the score */
	int64_t est_cost;		/* micro-USD: one hour */
	int64_t remaining;		/* budget left, when has_budget */
	bool has_budget;
	bool probe;			/* a half-open breaker's probe */
	double budget_used;		/* spent / allocated, when has_budget (budget.h) */
	bool budget_warn;		/* budget_used past the policy's budget_warning_threshold */
	double warn_at;
	enum gov_rule excluded;		/* GR_NONE: qualified */
	size_t ncaps;			/* required */
	double min_match;		/* the rules it was held to */
	int64_t max_cost;
};

/* The numbers behind a candidate's exclusion ("matches 1/3 = 0.3333, below ..."). */
void gov_candidate_detail(const struct gov_candidate *c, char *out, size_t n);

struct gov_match {
	struct gov_candidate *v;	/* qualified first, ranked; then the rest */
	size_t n, nqualified;
	bool all_ranked;		/* the excluded ones are in order too */
	struct gov_rules rules;		/* the task's rules (no swarm override) */
};
void gov_match_release(struct gov_match *m);
/*
 * Put the excluded candidates in order too (coverage, score, cost, id):
 * governor_match ranks only the qualified ones, which is all a choice
 * needs; views, explanations and "nearest" messages call this first.
 */
void gov_match_rank_all(struct gov_match *m);

/*
 * Rank every swarm of f for caps (ncaps > 0), leaving out exclude (may be
 * NULL). Pure: no I/O, so one process can match many times over one fleet.
 */
void governor_match(const struct gov_fleet *f, const struct policy *p, char *const *caps,
		    size_t ncaps, const char *exclude, int64_t now_ms, struct gov_match *out);

/* Explain a match in op->why (every candidate) and witness it as governor.match. */
void governor_match_explain(struct opctx *op, struct gov_match *m, char *const *caps,
			    size_t ncaps, size_t limit);
void governor_match_witness(const struct opctx *op, const struct gov_match *m, char *const *caps,
			    size_t ncaps);

/* View of a match: rank, swarm, score and its parts, or the rule that excluded it. */
struct rowset *gov_match_view(struct gov_match *m, bool all, size_t limit);

/* --- help for a blocked swarm ----------------------------------------------- */

/* The capabilities an error type needs (ifctl-governor(1) lists the table). */
struct gov_error_type {
	const char *type;
	const char *caps[3];
};
extern const struct gov_error_type gov_error_types[];
extern const size_t gov_error_type_count;
const struct gov_error_type *gov_error_type_find(const char *type);

struct gov_help_item {
	char *capability;
	char *helper;		/* NULL: escalated */
	char *task;		/* the task pushed, or NULL */
	double score;
	char *reason;		/* why no helper, or the helper's score */
};
struct gov_help {
	struct gov_help_item *v;
	size_t n;
	size_t helpers;		/* distinct helpers given a task */
	bool escalated;
};
void gov_help_release(struct gov_help *h);

/*
 * Find helpers for blocked (which must be registered) for caps, push one
 * blocker-assistance task to each helper (its capabilities those it helps
 * with, --to the helper, payload naming the blocked swarm), and publish an
 * escalation event for what nobody can help with. ST_REFUSED when no
 * capability found a helper.
 */
enum status governor_request_help(struct bus *b, struct opctx *op, const struct gov_fleet *f,
				  const struct policy *p, const struct coord_cfg *cc,
				  const char *blocked, char *const *caps, size_t ncaps,
				  const char *error_type, struct gov_help *out, struct err *e);
struct rowset *gov_help_view(const struct gov_help *h);

/* --- assignment validation ---------------------------------------------------- */

struct gov_violation {
	const char *type;	/* too-many-swarms, over-budget, ... (violation.schema.json) */
	char *details;
};
struct gov_assignment {
	char *const *swarms;
	size_t nswarms;
	const char *task;		/* may be NULL */
	char *const *caps;		/* the task's, for the rules; may be empty */
	size_t ncaps;
	int64_t cost_micros;		/* the task's estimated cost; < 0: one hour of each swarm */
};
struct gov_check {
	struct gov_violation *v;
	size_t n;
	bool enforced;
};
void gov_check_release(struct gov_check *c);

/*
 * Check an assignment against the rules; publish each violation on
 * if.v1.evt.governor.violation and witness it (not under falsify). Every
 * rule is a check() of op. ST_REFUSED when there are violations and the
 * policy enforces; ST_OK otherwise (violations still listed).
 */
enum status governor_check_assignment(struct bus *b, struct opctx *op, const struct gov_fleet *f,
				      const struct policy *p, const struct gov_assignment *a,
				      struct gov_check *out, struct err *e);

/* Violations recorded so far (newest last), filtered by swarm and type (NULL: any). */
enum status gov_violations_list(struct bus *b, const char *swarm, const char *type, size_t limit,
				struct rowset *out, struct err *e);
struct rowset *gov_violation_view(void);

/* --- circuit breaker, retirement ------------------------------------------------ */

/*
 * The policy the breaker functions use (thresholds, half-open); NULL: the
 * built-in defaults. Set once by the front end after loading the policy.
 */
void governor_set_policy(const struct policy *p);

/*
 * May swarm_id claim work? Refuses (ST_REFUSED, exit 4) a retired swarm and
 * one whose breaker is open (or whose budget is exhausted, which opens it);
 * an open breaker past half_open_after_s lets one probe through (half-open).
 * With the policy's slo_block_paging, a swarm whose SLO standing pages (one
 * KV get of standing.<id>, never a sync of the stream) is refused too.
 * Each rule is a check() of op; a refusal is witnessed as governor.refuse.
 * An unregistered swarm may claim (it has no state). known (may be NULL)
 * is the state already read, to save a round trip.
 */
enum status governor_may_claim(struct bus *b, struct opctx *op, const char *swarm_id,
			       const struct swarm_state *known, struct err *e);
/* Open swarm_id's breaker with reason (an event and a witness entry). */
enum status governor_breaker_trip(struct bus *b, struct opctx *op, const char *swarm_id,
				  const char *reason, struct err *e);
/*
 * Count an outcome: a failure adds one consecutive failure and opens the
 * breaker at the threshold (a half-open probe that fails opens it again); a
 * success resets the count and closes a half-open breaker.
 */
enum status governor_record_outcome(struct bus *b, struct opctx *op, const char *swarm_id,
				    bool success, struct err *e);
/*
 * Close the breaker, clear the failures, and when budget_micros >= 0 give
 * the swarm that much to spend from now.
 */
enum status governor_reset(struct bus *b, struct opctx *op, const char *swarm_id,
			   int64_t budget_micros, struct err *e);
/* Retire a swarm: it may no longer claim (state.<id>, retired true). */
enum status governor_retire(struct bus *b, struct opctx *op, const char *swarm_id,
			    struct err *e);

#endif
