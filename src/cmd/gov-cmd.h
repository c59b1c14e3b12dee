/*
 * What the governor's commands (swarm, governor, policy, capabilities) and
 * the coordinator's hooks share: the registry and the policy as the
 * configuration and the options give them, and capability lists from -c.
 */
#ifndef IF_GOV_CMD_H
#define IF_GOV_CMD_H

#include "cmd/cmd.h"
#include "core/capability.h"
#include "core/policy.h"

/* The registry: built in, plus governor.capabilities. */
enum status gov_cmd_registry(struct cmd_ctx *ctx, struct cap_registry *reg);

/*
 * The policy: --policy FILE (when the command has the option) or
 * governor.policy, profile --profile or governor.profile; made the
 * breaker's policy (governor_set_policy) until gov_cmd_policy_release().
 */
enum status gov_cmd_policy(struct cmd_ctx *ctx, const struct cap_registry *reg,
			   struct policy *pol);
void gov_cmd_policy_release(struct policy *pol);

/*
 * Run fn with the policy in force for what it needs on the side (the
 * breaker, the budgets' warning threshold): when the policy does not load,
 * the built-in defaults and a warning, and fn runs all the same.
 */
enum status gov_cmd_with_rules(struct cmd_ctx *ctx, enum status (*fn)(struct cmd_ctx *));

/*
 * The capabilities of option name (comma-separated, repeatable), each
 * checked against reg ("--capability: "x" is not a known capability (did
 * you mean "y"?)"). *caps is freed with strv_free(*caps, *n).
 */
enum status gov_cmd_caps(struct cmd_ctx *ctx, const char *name, const struct cap_registry *reg,
			 char ***caps, size_t *n);

/* A list option split at commas (no checks); free with strv_free. */
char **gov_cmd_split(const char *s, size_t *n);

/* An amount option in USD into micro-USD; def when absent. */
enum status gov_cmd_usd(struct cmd_ctx *ctx, const char *name, int64_t def, int64_t *out);

/* Check that the first argument is a swarm id (ST_USAGE otherwise). */
enum status gov_cmd_swarm_arg(struct cmd_ctx *ctx);
/* Add swarm id's record to the output (nothing under --mode=falsify). */
enum status gov_cmd_show_swarm(struct cmd_ctx *ctx, const char *id);

/* The same, and that --budget (when given) is an amount in USD. */
enum status gov_cmd_swarm_budget_args(struct cmd_ctx *ctx);

/*
 * The local mirror of defs' buckets for this command (kvmirror_attach):
 * synced (read-only: used only when fresh), its account in --why, a
 * warning when the file is damaged. *m NULL: read the buckets instead.
 */
struct kvmirror_bucket;
struct kvmirror;
enum status gov_cmd_mirror(struct cmd_ctx *ctx, const struct kvmirror_bucket *const *defs,
			   size_t n, struct kvmirror **m);
/*
 * The fleet for a governor decision (gov_fleet_read), through the mirror
 * of IF_SWARMS and IF_BUDGETS when it can serve, else from the buckets.
 */
struct gov_fleet;
enum status gov_cmd_fleet(struct cmd_ctx *ctx, char *const *caps, size_t ncaps,
			  struct gov_fleet *out, size_t *skipped);


/* --- hooks of the coordinator's commands ---------------------------------- */

/* 'task push -c': every capability must be known (nearest name otherwise). */
enum status gov_cmd_check_caps(struct cmd_ctx *ctx, const char *name);

/*
 * 'task claim': the capabilities swarm claims with, a NULL-terminated vector
 * the caller frees with free() of each and of the vector. A registered
 * swarm claims with its profile's (--capability may narrow them, never
 * widen: ST_REFUSED) and only when governor_may_claim() lets it (retired,
 * breaker open: ST_REFUSED, exit 4); an unregistered one with --capability.
 * *registered tells which.
 */
enum status gov_cmd_claimer(struct cmd_ctx *ctx, const char *swarm, char ***caps, size_t *ncaps,
			    bool *registered);

/*
 * After an owner call by a swarm (heartbeat, complete, fail): keep its
 * last_seen, and count a completion or a failure towards its breaker.
 * Unregistered swarms are left alone; failures here are notices only.
 */
void gov_cmd_after_owner(struct cmd_ctx *ctx, const char *swarm, int verb_outcome);
#define GOV_OUTCOME_NONE 0	/* heartbeat, release */
#define GOV_OUTCOME_SUCCESS 1	/* complete */
#define GOV_OUTCOME_FAILURE 2	/* fail */

#endif
