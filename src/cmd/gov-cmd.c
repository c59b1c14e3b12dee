/* Shared by the governor's commands: see gov-cmd.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/gov-cmd.h"
#include "core/governor.h"
#include "core/swarm.h"
#include "core/util.h"

enum status
gov_cmd_registry(struct cmd_ctx *ctx, struct cap_registry *reg)
{
	return capreg_init(reg, cfg_str(&ctx->cfg, CK_GOV_CAPABILITIES), &ctx->err);
}

/* Is option name one of the command's? */
static bool
has_opt(const struct cmd_ctx *ctx, const char *name)
{
	size_t i;

	for (i = 0; ctx->entry->opts && ctx->entry->opts[i].name; i++)
		if (strcmp(ctx->entry->opts[i].name, name) == 0)
			return true;
	return false;
}

enum status
gov_cmd_policy(struct cmd_ctx *ctx, const struct cap_registry *reg, struct policy *pol)
{
	const char *path = has_opt(ctx, "policy") ? cmd_opt(ctx, "policy") : NULL;
	const char *profile = has_opt(ctx, "profile") ? cmd_opt(ctx, "profile") : NULL;
	enum status st;

	if (path == NULL && *cfg_str(&ctx->cfg, CK_GOV_POLICY))
		path = cfg_str(&ctx->cfg, CK_GOV_POLICY);
	if (profile == NULL && *cfg_str(&ctx->cfg, CK_GOV_PROFILE))
		profile = cfg_str(&ctx->cfg, CK_GOV_PROFILE);
	if ((st = policy_load(path, profile, reg, pol, NULL, &ctx->err)) != ST_OK)
		return st;
	governor_set_policy(pol);
	why_add(&ctx->op, "policy", pol->source, "profile %s", pol->profile);
	return ST_OK;
}

void
gov_cmd_policy_release(struct policy *pol)
{
	governor_set_policy(NULL);
	policy_release(pol);
}

enum status
gov_cmd_with_rules(struct cmd_ctx *ctx, enum status (*fn)(struct cmd_ctx *))
{
	struct cap_registry reg = CAP_REGISTRY_INIT;
	struct policy pol;
	bool loaded = gov_cmd_registry(ctx, &reg) == ST_OK &&
		      gov_cmd_policy(ctx, &reg, &pol) == ST_OK;
	enum status st;

	if (!loaded) {
		session_notice(ctx->session, NOTICE_WARN, "ifctl: warning: the policy's built-in "
			       "defaults are in force: %s", ctx->err.msg);
		err_clear(&ctx->err);
	}
	st = fn(ctx);
	if (loaded)
		gov_cmd_policy_release(&pol);
	capreg_release(&reg);
	return st;
}

char **
gov_cmd_split(const char *s, size_t *n)
{
	char **v, *copy, *tok, *save = NULL;

	*n = 0;
	v = xcalloc((s ? strlen(s) : 0) + 2, sizeof *v);
	if (s == NULL)
		return v;
	copy = xstrdup(s);
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		v[(*n)++] = xstrdup(tok);
	free(copy);
	return v;
}

enum status
gov_cmd_caps(struct cmd_ctx *ctx, const char *name, const struct cap_registry *reg,
	     char ***caps, size_t *n)
{
	struct err ce = ERR_INIT;
	size_t i;

	*caps = gov_cmd_split(cmd_opt(ctx, name), n);
	for (i = 0; i < *n; i++)
		if (capreg_check(reg, (*caps)[i], &ce) != ST_OK) {
			strv_free(*caps, *n);
			*caps = NULL;
			*n = 0;
			return err_set(&ctx->err, ST_BAD_VALUE, "--%s: %s", name, ce.msg);
		}
	return ST_OK;
}

enum status
gov_cmd_usd(struct cmd_ctx *ctx, const char *name, int64_t def, int64_t *out)
{
	const char *v = cmd_opt(ctx, name);
	struct err pe = ERR_INIT;
	char what[40];

	*out = def;
	snprintf(what, sizeof what, "--%s", name);
	if (v && money_parse(v, what, out, &pe) != ST_OK)
		return err_set(&ctx->err, ST_USAGE, "%s", pe.msg);
	return ST_OK;
}

enum status
gov_cmd_swarm_arg(struct cmd_ctx *ctx)
{
	if (ctx->argc != 1)
		return err_set(&ctx->err, ST_USAGE, "%s %s needs one swarm id", ctx->parent->name,
			       ctx->entry->name);
	if (!swarm_id_valid(ctx->argv[0]))
		return err_set(&ctx->err, ST_USAGE, "'%.80s' is not a swarm id (lowercase letters, "
			       "digits and '-', at most %d)", ctx->argv[0], SWARM_ID_MAX);
	return ST_OK;
}

enum status
gov_cmd_show_swarm(struct cmd_ctx *ctx, const char *id)
{
	struct rowset *rs;
	struct swarm s;
	enum status st;

	if (ctx->op.falsify)
		return ST_OK;
	if ((st = swarm_get(ctx->bus, id, &s, &ctx->err)) != ST_OK)
		return st;
	rs = swarm_view_record();
	swarm_view_add(rs, &s);
	doc_add(&ctx->out, rs);
	swarm_release(&s);
	return ST_OK;
}

enum status
gov_cmd_swarm_budget_args(struct cmd_ctx *ctx)
{
	int64_t b;
	enum status st;

	if ((st = gov_cmd_swarm_arg(ctx)) != ST_OK)
		return st;
	return gov_cmd_usd(ctx, "budget", -1, &b);
}

/* Put each "SUBJECT: text" line of a mirror's account in --why. */
static void
why_lines(struct cmd_ctx *ctx, char *text)
{
	char *line, *sep, *save = NULL;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if ((sep = strstr(line, ": ")) != NULL) {
			*sep = '\0';
			why_add(&ctx->op, "registry", line, "%s", sep + 2);
		}
}

enum status
gov_cmd_mirror(struct cmd_ctx *ctx, const struct kvmirror_bucket *const *defs, size_t n,
	       struct kvmirror **m)
{
	struct buf why = BUF_INIT;
	struct err warn = ERR_INIT;
	enum status st = kvmirror_attach(&ctx->cfg, ctx->bus, defs, n, m, &why, &warn, &ctx->err);

	if (warn.code != ST_OK) {
		buf_addf(&why, "mirror: %s: the buckets are read instead\n", warn.msg);
		if (!ctx->quiet)
			session_notice(ctx->session, NOTICE_WARN, "ifctl: warning: %s; reading the "
				       "buckets instead (remove the file to rebuild it)", warn.msg);
	}
	why_lines(ctx, why.s);
	buf_release(&why);
	return st;
}

enum status
gov_cmd_fleet(struct cmd_ctx *ctx, char *const *caps, size_t ncaps, struct gov_fleet *out,
	      size_t *skipped)
{
	struct kvmirror *m = NULL;
	enum status st = gov_cmd_mirror(ctx, gov_mirror_buckets, gov_mirror_bucket_count, &m);

	if (st == ST_OK)
		st = gov_fleet_read(ctx->bus, m, caps, ncaps, out, skipped, &ctx->err);
	if (st == ST_OK && m && !kvmirror_unchanged(m)) {	/* a writer checkpointed under it */
		gov_fleet_release(out);
		st = gov_fleet_read(ctx->bus, NULL, caps, ncaps, out, skipped, &ctx->err);
	}
	kvmirror_close(m);
	return st;
}

/* --- hooks of the coordinator's commands ---------------------------------- */

enum status
gov_cmd_check_caps(struct cmd_ctx *ctx, const char *name)
{
	struct cap_registry reg;
	char **caps;
	size_t n;
	enum status st;

	if (cmd_opt(ctx, name) == NULL)
		return ST_OK;
	if ((st = gov_cmd_registry(ctx, &reg)) != ST_OK)
		return st;
	if ((st = gov_cmd_caps(ctx, name, &reg, &caps, &n)) == ST_OK)
		strv_free(caps, n);
	capreg_release(&reg);
	return st;
}

/* The claim's capabilities from a registered swarm's profile, narrowed by -c. */
static enum status
profile_caps(struct cmd_ctx *ctx, const struct swarm *s, char ***caps, size_t *ncaps)
{
	size_t i;

	*caps = gov_cmd_split(cmd_opt(ctx, "capability"), ncaps);
	for (i = 0; i < *ncaps; i++)
		if (!swarm_has_cap(&s->p, (*caps)[i]))
			return err_set(&ctx->err, ST_REFUSED, "--capability '%.80s' is not in swarm "
				       "'%s''s profile: a claim may narrow a registered swarm's "
				       "capabilities, never widen them", (*caps)[i], s->p.id);
	if (*ncaps == 0) {
		free(*caps);
		*caps = xcalloc(s->p.ncaps + 1, sizeof **caps);
		for (i = 0; i < s->p.ncaps; i++)
			(*caps)[i] = xstrdup(s->p.caps[i]);
		*ncaps = s->p.ncaps;
	}
	return ST_OK;
}

/* gov_cmd_claimer() under the policy in force. */
static enum status
claimer(struct cmd_ctx *ctx, const char *swarm, char ***caps, size_t *ncaps, bool *registered)
{
	struct err ge = ERR_INIT;
	struct swarm s;
	enum status st;

	*registered = false;
	*caps = NULL;
	*ncaps = 0;
	if (!swarm_id_valid(swarm)) {	/* no registered swarm has such an id */
		*caps = gov_cmd_split(cmd_opt(ctx, "capability"), ncaps);
		return ST_OK;
	}
	st = swarm_get(ctx->bus, swarm, &s, &ge);
	if (st == ST_NOT_FOUND) {	/* unregistered: -c as given, but its state still holds */
		*caps = gov_cmd_split(cmd_opt(ctx, "capability"), ncaps);
		why_add(&ctx->op, "capabilities", "--capability", "swarm '%s' is not registered",
			swarm);
		st = governor_may_claim(ctx->bus, &ctx->op, swarm, NULL, &ctx->err);
		return st == ST_REFUSED && ctx->op.falsify ? ST_OK : st;
	}
	if (st != ST_OK) {	/* a malformed profile never escapes the governor */
		ctx->err = ge;
		return st;
	}
	*registered = true;
	st = governor_may_claim(ctx->bus, &ctx->op, swarm, &s.st, &ctx->err);
	if (st == ST_OK || (st == ST_REFUSED && ctx->op.falsify))
		st = profile_caps(ctx, &s, caps, ncaps);
	if (st == ST_OK)
		why_add(&ctx->op, "capabilities", "profile", "%zu from swarm '%s''s profile%s", *ncaps,
			swarm, cmd_opt(ctx, "capability") ? ", narrowed by --capability" : "");
	swarm_release(&s);
	return st;
}

/*
 * The policy (governor.policy, else the default file, else the built-in
 * rules) is in force for the claim: its half-open timeout and
 * slo_block_paging. A policy that does not load refuses the claim: a rule
 * that cannot be read is not waived.
 */
enum status
gov_cmd_claimer(struct cmd_ctx *ctx, const char *swarm, char ***caps, size_t *ncaps,
		bool *registered)
{
	struct cap_registry reg = CAP_REGISTRY_INIT;
	struct policy pol;
	enum status st;

	*registered = false;
	*caps = NULL;
	*ncaps = 0;
	if ((st = gov_cmd_registry(ctx, &reg)) != ST_OK)
		return st;
	if ((st = gov_cmd_policy(ctx, &reg, &pol)) == ST_OK) {
		st = claimer(ctx, swarm, caps, ncaps, registered);
		gov_cmd_policy_release(&pol);
	}
	capreg_release(&reg);
	return st;
}

void
gov_cmd_after_owner(struct cmd_ctx *ctx, const char *swarm, int outcome)
{
	struct err e = ERR_INIT;
	enum status st;

	if (ctx->op.falsify || !swarm_id_valid(swarm))
		return;
	st = swarm_touch(ctx->bus, swarm, &e);
	if (st == ST_OK && outcome != GOV_OUTCOME_NONE) {
		struct cap_registry reg = CAP_REGISTRY_INIT;
		struct policy pol;
		bool loaded = gov_cmd_registry(ctx, &reg) == ST_OK &&
			      gov_cmd_policy(ctx, &reg, &pol) == ST_OK;	/* else the defaults */
		st = governor_record_outcome(ctx->bus, &ctx->op, swarm,
					     outcome == GOV_OUTCOME_SUCCESS, &e);
		if (loaded)
			gov_cmd_policy_release(&pol);
		capreg_release(&reg);
	}
	if (st != ST_OK && st != ST_NOT_FOUND)
		session_notice(ctx->session, NOTICE_WARN, "ifctl: warning: swarm '%s': %s", swarm,
			       e.msg);
}
