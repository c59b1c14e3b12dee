/*
 * Resource policies: the governor's rules, written in YAML.
 *
 * A policy file ($XDG_CONFIG_HOME/ifctl/policy.yaml, governor.policy, or
 * --policy FILE; examples under fixtures/policies/) holds named profiles
 * (default, development, production, ...) of a ResourcePolicy, and
 * overrides per capability and per swarm:
 *
 *	version: 1
 *	default_profile: production
 *	profiles:
 *	  default:
 *	    max_swarms_per_task: 3
 *	    max_cost_per_task: 10.00        # USD, read exactly into micro-USD
 *	    min_capability_match: 0.5
 *	    circuit_breaker_threshold: 3
 *	    weights: { capability: 0.5, reputation: 0.3, cost: 0.2 }
 *	    budget_warning_threshold: 0.8
 *	    default_budget: 25.00
 *	    enforcement: true
 *	    half_open_after_s: 0            # 0: an open breaker waits for reset
 *	    slo_block_paging: false         # true: a paging SLO burn keeps a swarm from claims
 *	  production: { min_capability_match: 0.75 }
 *	capabilities:
 *	  integration:sip: { max_cost_per_task: 20 }
 *	swarms:
 *	  sip-expert: { circuit_breaker_threshold: 5 }
 *
 * The file is read as JSON and checked against
 * schemas/resource-policy.schema.json; then the amounts, the weights (they
 * sum to 1), the capability names and the profile chosen. Every problem is
 * reported as FILE:LINE: /pointer: value, rule.
 *
 * A profile takes what it does not say from the default profile, which
 * takes it from the built-in defaults (those of the example above, default
 * budget 10.00). Rules for a task: the profile's, made stricter by the
 * override of each capability it needs (the smallest maximum, the largest
 * minimum), then replaced by the override of the swarm in question.
 */
#ifndef IF_POLICY_H
#define IF_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "core/capability.h"
#include "core/jschema.h"
#include "core/rows.h"
#include "core/status.h"

/* One complete set of rules (ResourcePolicy). */
struct gov_rules {
	int max_swarms_per_task;
	int64_t max_cost_per_task_micros;	/* > 0 */
	double min_capability_match;		/* 0..1 */
	int breaker_threshold;			/* consecutive failures that open it */
	double w_capability, w_reputation, w_cost;	/* sum to 1 */
	double budget_warning_threshold;	/* 0..1 of the allocation spent */
	int64_t default_budget_micros;		/* what spawn assigns without --budget */
	bool enforcement;			/* refuse, rather than warn */
	int64_t half_open_after_s;		/* 0: never */
	bool slo_block_paging;			/* a paging SLO burn keeps a swarm from claims */
};

/* Which members of an override are set. */
#define OV_MAX_SWARMS	0x01
#define OV_MAX_COST	0x02
#define OV_MIN_MATCH	0x04
#define OV_THRESHOLD	0x08
#define OV_BUDGET	0x10

struct policy_override {
	char *name;		/* capability or swarm id */
	unsigned set;		/* OV_* */
	int max_swarms;
	int64_t max_cost_micros;
	double min_match;
	int threshold;
	int64_t default_budget_micros;
};

struct policy_profile {
	char *name;
	struct gov_rules r;	/* resolved */
};

struct policy {
	char *source;		/* the file, or "built-in defaults" */
	char *profile;		/* the profile in force */
	struct gov_rules rules;	/* its rules */
	struct policy_profile *profiles;
	size_t nprofiles;
	struct policy_override *caps, *swarms;
	size_t ncaps, nswarms;
};

/* The built-in defaults as a policy (profile "default"). */
void policy_defaults(struct policy *p);
void policy_release(struct policy *p);

/*
 * Read a policy from YAML text; path names it in errors. profile (NULL:
 * the file's default_profile, else "default") is the profile put in force.
 * Every problem is added to res (may be NULL); the first is in e:
 * ST_BAD_YAML for YAML syntax, ST_BAD_VALUE for rules, ST_NOT_FOUND for a
 * profile the file does not define.
 */
enum status policy_parse(const char *text, size_t len, const char *path, const char *profile,
			 const struct cap_registry *reg, struct policy *out,
			 struct jschema_result *res, struct err *e);

/*
 * Load the policy at path. path NULL: the default file
 * ($XDG_CONFIG_HOME/ifctl/policy.yaml), whose absence gives the built-in
 * defaults; a named file that is missing is ST_NOT_FOUND.
 */
enum status policy_load(const char *path, const char *profile, const struct cap_registry *reg,
			struct policy *out, struct jschema_result *res, struct err *e);

/* $XDG_CONFIG_HOME/ifctl/policy.yaml (or ~/.config/...); caller frees. */
char *policy_default_path(void);

/* The rules for a task needing caps, assigned to swarm (may be NULL). */
void policy_rules_for(const struct policy *p, char *const *caps, size_t ncaps,
		      const char *swarm, struct gov_rules *out);

/* The override of swarm, or NULL. */
const struct policy_override *policy_swarm_override(const struct policy *p, const char *swarm);

/* View: one row per rule of the profile in force (rule, value, source). */
struct rowset *policy_view(const struct policy *p);

#endif
