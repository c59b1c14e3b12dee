/* ifctl swarm: register, list, show, heartbeat, retire, spawn. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/gov-cmd.h"
#include "core/governor.h"
#include "core/json.h"
#include "core/slo.h"
#include "core/spawn.h"
#include "core/swarm.h"
#include "core/util.h"

/* The one swarm's record as the output. */
static void
add_swarm(struct cmd_ctx *ctx, const struct swarm *s)
{
	struct rowset *rs = swarm_view_record();

	swarm_view_add(rs, s);
	doc_add(&ctx->out, rs);
}

/* --- register ------------------------------------------------------------- */

/*
 * --heartbeat-interval: "30s", "2m", "1h" or milliseconds ("30000") into
 * *ms (0 when absent); the schema then holds it to [1s, 1d].
 */
static enum status
heartbeat_flag(struct cmd_ctx *ctx, int64_t *ms)
{
	static const struct { char unit; int64_t ms; } units[] = {
		{ 's', 1000 }, { 'm', 60000 }, { 'h', 3600000 }, { 'd', 86400000 },
	};
	const char *v = cmd_opt(ctx, "heartbeat-interval");
	char *end;
	long long n;
	size_t i;

	*ms = 0;
	if (v == NULL)
		return ST_OK;
	n = (*v >= '0' && *v <= '9') ? strtoll(v, &end, 10) : -1;
	if (n > 0 && n <= 86400000 && *end == '\0') {
		*ms = n;
		return ST_OK;
	}
	for (i = 0; n > 0 && n <= 86400 && end[0] && !end[1] && i < ARRAY_SIZE(units); i++)
		if (end[0] == units[i].unit) {
			*ms = n * units[i].ms;
			return ST_OK;
		}
	return err_set(&ctx->err, ST_USAGE, "--heartbeat-interval: '%.40s' is not a duration "
		       "(30s, 2m, 1h or milliseconds)", v);
}

/* The profile from the flags, as JSON (the schema checks it like a file). */
static enum status
profile_from_flags(struct cmd_ctx *ctx, struct buf *out)
{
	char *meta = NULL, **caps;
	int64_t cost, max, hb = 0;
	double rep = 0.5;
	char *end;
	size_t n, i;
	enum status st;

	if ((st = cmd_need(ctx, "id")) != ST_OK || (st = cmd_need(ctx, "capability")) != ST_OK ||
	    (st = gov_cmd_usd(ctx, "cost-per-hour", 0, &cost)) != ST_OK ||
	    (st = cmd_opt_int(ctx, "max-concurrent", 1, 10000, 1, &max)) != ST_OK ||
	    (st = cmd_opt_json(ctx, "metadata", &meta)) != ST_OK ||
	    (st = heartbeat_flag(ctx, &hb)) != ST_OK)
		return st;
	if (cmd_opt(ctx, "reputation")) {
		rep = strtod(cmd_opt(ctx, "reputation"), &end);
		if (*end || end == cmd_opt(ctx, "reputation"))
			return err_set(&ctx->err, ST_USAGE, "--reputation: '%.40s' is not a number",
				       cmd_opt(ctx, "reputation"));
	}
	caps = gov_cmd_split(cmd_opt(ctx, "capability"), &n);
	buf_addc(out, '{');
	json_key(out, "capabilities");
	buf_addc(out, '[');
	for (i = 0; i < n; i++) {
		buf_adds(out, i ? "," : "");
		json_escape(out, caps[i]);
	}
	buf_addc(out, ']');
	json_kv_int(out, "cost_per_hour_micros", cost);
	if (hb > 0)
		json_kv_int(out, "heartbeat_interval_ms", hb);
	json_kv_str(out, "id", cmd_opt(ctx, "id"));
	json_kv_int(out, "max_concurrent_tasks", max);
	if (meta)
		json_kv_raw(out, "metadata", meta);
	json_kv_str(out, "model", cmd_opt(ctx, "model") ? cmd_opt(ctx, "model") : "unknown");
	json_kv_num(out, "reputation", rep);
	buf_addc(out, '}');
	strv_free(caps, n);
	free(meta);
	return ST_OK;
}

/* Read the profile (--file, else the flags) and check it. */
static enum status
register_profile(struct cmd_ctx *ctx, const struct cap_registry *reg, struct swarm_profile *p)
{
	struct jschema_result res = JSCHEMA_RESULT_INIT;
	struct json_doc doc = JSON_DOC_INIT;
	struct buf text = BUF_INIT;
	char *file = NULL;
	size_t i;
	enum status st;

	memset(p, 0, sizeof *p);
	if (cmd_opt(ctx, "file"))
		st = cmd_opt_json(ctx, "file", &file);
	else
		st = profile_from_flags(ctx, &text);
	if (st == ST_OK)
		st = json_parse(file ? file : text.s, file ? strlen(file) : text.len, "profile", &doc,
				&ctx->err);
	if (st == ST_OK) {
		st = swarm_profile_read(doc.root, reg, p, &res, &ctx->err);
		for (i = 0; i < res.n; i++)
			check(&ctx->op, "profile rule", ST_BAD_VALUE, NULL, res.v[i].msg);
		if (res.n == 0)
			check(&ctx->op, "profile is valid", ST_OK, NULL, p->id);
	}
	jschema_result_release(&res);
	json_doc_release(&doc);
	buf_release(&text);
	free(file);
	return st;
}

static enum status
run_register(struct cmd_ctx *ctx)
{
	struct cap_registry reg;
	struct swarm_profile p;
	enum status st;

	if ((st = gov_cmd_registry(ctx, &reg)) != ST_OK)
		return st;
	st = register_profile(ctx, &reg, &p);
	capreg_release(&reg);
	if (st != ST_OK)
		return ctx->op.falsify && st == ST_BAD_VALUE ? ST_OK : st;
	st = swarm_register(ctx->bus, &ctx->op, &p, cmd_flag(ctx, "replace"), &ctx->err);
	if (st == ST_OK)
		st = gov_cmd_show_swarm(ctx, p.id);
	swarm_profile_release(&p);
	return st;
}

/* --- list, show ---------------------------------------------------------------- */

/* Every swarm: from the local mirror when it can serve, else one watch snapshot. */
static enum status
swarm_list_cmd(struct cmd_ctx *ctx, struct swarm_list *l)
{
	static const struct kvmirror_bucket *const defs[] = { &swarm_mirror_bucket };
	struct kvmirror *m = NULL;
	enum status st = gov_cmd_mirror(ctx, defs, ARRAY_SIZE(defs), &m);

	if (st == ST_OK)
		st = m ? swarm_list_mirrored(m, NULL, 0, l, NULL, &ctx->err) :
			 swarm_list(ctx->bus, l, &ctx->err);
	if (st == ST_OK && m && !kvmirror_unchanged(m)) {	/* a writer checkpointed under it */
		swarm_list_release(l);
		st = swarm_list(ctx->bus, l, &ctx->err);
	}
	kvmirror_close(m);
	return st;
}

static enum status
run_list(struct cmd_ctx *ctx)
{
	const char *status = cmd_opt(ctx, "status"), *cap = cmd_opt(ctx, "capability");
	struct swarm_list l;
	struct rowset *rs;
	size_t i;
	enum status st;

	if ((st = swarm_list_cmd(ctx, &l)) != ST_OK)
		return st;
	rs = swarm_view_list();
	for (i = 0; i < l.n; i++)
		if ((!status || strcmp(status, swarm_status(&l.v[i])) == 0) &&
		    (!cap || swarm_has_cap(&l.v[i].p, cap)))
			swarm_view_add(rs, &l.v[i]);
	for (i = 0; !status && !cap && i < l.nbad; i++)
		swarm_view_add_invalid(rs, &l.bad[i]);
	if (l.nbad && !ctx->quiet)
		session_notice(ctx->session, NOTICE_WARN, "ifctl: warning: %zu record%s in %s %s "
			       "invalid and never used", l.nbad, l.nbad == 1 ? "" : "s", SWARM_BUCKET,
			       l.nbad == 1 ? "is" : "are");
	why_add(&ctx->op, "source", SWARM_BUCKET, "%zu swarms, %zu invalid records", l.n, l.nbad);
	doc_add(&ctx->out, rs);
	swarm_list_release(&l);
	return ST_OK;
}

static enum status
run_show(struct cmd_ctx *ctx)
{
	struct swarm s;
	int64_t left;
	bool has;
	char usd[32];
	enum status st;

	if ((st = gov_cmd_swarm_arg(ctx)) != ST_OK ||
	    (st = swarm_get(ctx->bus, ctx->argv[0], &s, &ctx->err)) != ST_OK)
		return st;
	add_swarm(ctx, &s);
	if (gov_budget_remaining(ctx->bus, s.p.id, &left, &has, &ctx->err) == ST_OK) {
		money_str(left, usd);
		why_add(&ctx->op, "budget", has ? usd : "none", has ? "left to spend (IF_BUDGETS "
			"swarm.%s)" : "no budget record: no limit", s.p.id);
	}
	swarm_release(&s);
	return ST_OK;
}

/* --- heartbeat, retire ---------------------------------------------------------- */

static enum status
run_heartbeat(struct cmd_ctx *ctx)
{
	struct swarm s;
	enum status st;

	if ((st = gov_cmd_swarm_arg(ctx)) != ST_OK)
		return st;
	st = swarm_get(ctx->bus, ctx->argv[0], &s, &ctx->err);
	if (!check(&ctx->op, "swarm is registered", st, &ctx->err, ctx->argv[0]) || ctx->op.falsify)
		return st == ST_OK ? (swarm_release(&s), ST_OK) : ST_OK;
	swarm_release(&s);
	if ((st = swarm_touch(ctx->bus, ctx->argv[0], &ctx->err)) != ST_OK)
		return st;
	swarm_event(ctx->bus, &ctx->op, ctx->argv[0], "heartbeat", NULL);
	/* as a claim's heartbeat does: an idle swarm that heartbeats is available */
	if ((st = slo_heartbeat(ctx->bus, ctx->argv[0], wall_ms(), &ctx->err)) != ST_OK)
		return st;
	why_add(&ctx->op, "slo", SLO_SUBJECT_PREFIX "<swarm>", "a heartbeat sample for its SLO "
		"availability");
	return gov_cmd_show_swarm(ctx, ctx->argv[0]);
}

static enum status
run_retire(struct cmd_ctx *ctx)
{
	enum status st;

	if ((st = gov_cmd_swarm_arg(ctx)) != ST_OK ||
	    (st = governor_retire(ctx->bus, &ctx->op, ctx->argv[0], &ctx->err)) != ST_OK)
		return st;
	return gov_cmd_show_swarm(ctx, ctx->argv[0]);
}

/* --- spawn --------------------------------------------------------------------------- */

static enum status
run_spawn(struct cmd_ctx *ctx)
{
	struct spawn_req req = { ctx->argv[0], cmd_opt(ctx, "dir"), -1, cmd_opt(ctx, "model") };
	struct spawn_result r;
	struct cap_registry reg;
	struct policy pol;
	enum status st;

	if (req.dir == NULL)
		req.dir = ".";
	if ((st = gov_cmd_usd(ctx, "budget", -1, &req.budget_micros)) != ST_OK ||
	    (st = gov_cmd_registry(ctx, &reg)) != ST_OK)
		return st;
	if ((st = gov_cmd_policy(ctx, &reg, &pol)) != ST_OK) {
		capreg_release(&reg);
		return st;
	}
	st = spawn_run(ctx->bus, &ctx->op, &reg, &pol, &req, &r, &ctx->err);
	if (st == ST_OK)
		st = gov_cmd_show_swarm(ctx, req.id);
	if (st == ST_OK)
		doc_add(&ctx->out, spawn_view(&r.d));
	if (st == ST_OK && !ctx->quiet && !ctx->op.falsify)
		session_notice(ctx->session, NOTICE_INFO, "ifctl: swarm '%s' spawned: %zu "
			       "capabilities, budget %s", req.id, r.d.n, r.budget_created ?
			       "assigned" : "kept (one existed)");
	spawn_result_release(&r);
	gov_cmd_policy_release(&pol);
	capreg_release(&reg);
	return ctx->op.falsify && st != ST_OK && ctx->op.failed_checks ? ST_OK : st;
}

static enum status
run_detect(struct cmd_ctx *ctx)
{
	struct spawn_detect d;
	struct cap_registry reg;
	const char *dir = ctx->argc ? ctx->argv[0] : ".";
	size_t i;
	enum status st;

	if ((st = gov_cmd_registry(ctx, &reg)) != ST_OK)
		return st;
	if ((st = spawn_detect(dir, &reg, &d, &ctx->err)) == ST_OK) {
		for (i = 0; i < d.n; i++)
			why_add(&ctx->op, d.v[i].capability, d.v[i].source, "%s (%zu)", d.v[i].evidence,
				d.v[i].count);
		why_add(&ctx->op, "files", "", "%zu looked at", d.files);
		doc_add(&ctx->out, spawn_view(&d));
		spawn_detect_release(&d);
	}
	capreg_release(&reg);
	return st;
}

/* --- entries ---------------------------------------------------------------------------- */

#define OPT_END { NULL, 0, NULL, NULL }
#define POLICY_OPTS \
	{ "policy", 0, "FILE", "policy file (default governor.policy)" }, \
	{ "profile", 0, "NAME", "policy profile (default governor.profile)" }

static const struct cmd_opt register_opts[] = {
	{ "file", 'f', "JSON|@FILE", "the SwarmProfile (schemas/swarm-profile.schema.json)" },
	{ "id", 0, "ID", "swarm id: lowercase letters, digits, '-'" },
	{ "capability", 'c', "C[,C...]", "what it can do (repeatable; category:name)" },
	{ "cost-per-hour", 0, "USD", "what an hour of it costs (default 0)" },
	{ "reputation", 0, "0-1", "how far its results are trusted (default 0.5)" },
	{ "model", 0, "NAME", "the model it runs (default unknown)" },
	{ "max-concurrent", 0, "N", "tasks it takes at once (default 1)" },
	{ "heartbeat-interval", 0, "DURATION", "how often it heartbeats (30s, 2m, or ms; the slot "
	  "of its SLO availability; default slo.heartbeat_interval_ms)" },
	{ "metadata", 0, "JSON", "an object of strings" },
	{ "replace", 0, NULL, "update the profile of a registered swarm" },
	OPT_END,
};
static const struct cmd_opt list_opts[] = {
	{ "status", 0, "STATUS", "only active, retired, breaker-open or half-open swarms" },
	{ "capability", 'c', "C", "only swarms with this capability" },
	OPT_END,
};
static const struct cmd_opt spawn_opts[] = {
	{ "dir", 'd', "PATH", "the swarm's code (default .)" },
	{ "budget", 0, "USD", "its budget (default the policy's default_budget)" },
	{ "model", 0, "NAME", "the model it runs (default the manifest's, else unknown)" },
	POLICY_OPTS,
	OPT_END,
};

/* Help of each subcommand: examples, see also, the schema of its -o json. */
#define swarm_register_help .examples = "ifctl swarm register -f @fixtures/swarms/profiles/good.json\n" \
     "ifctl swarm register --id s7 -c code-analysis:general,cli:automation --cost-per-hour 2\n" \
     "ifctl swarm register -f @profile.json --replace -o json", \
     .see_also = "swarm spawn, capabilities list, schemas/swarm-profile.schema.json", .schema = "swarm-row"
#define swarm_list_help .examples = "ifctl swarm list\n" \
     "ifctl swarm list --status breaker-open\n" \
     "ifctl swarm list -c integration:sip -o json", \
     .see_also = "swarm show, governor match, slo status", .schema = "swarm-row[]"
#define swarm_show_help .examples = "ifctl swarm show gen-c\n" \
     "ifctl swarm show gen-c -o json", \
     .see_also = "swarm list, cost budget gen-c, slo show", .schema = "swarm-row"
#define swarm_heartbeat_help .examples = "ifctl swarm heartbeat gen-c\n" \
     "ifctl swarm heartbeat gen-c -o json", \
     .see_also = "swarm show, slo status, ifctl-protocol(7) SWARM RECORDS", .schema = "swarm-row"
#define swarm_retire_help .examples = "ifctl swarm retire gen-c --why=\"replaced by gen-d\"\n" \
     "ifctl swarm retire gen-c --mode=falsify", \
     .see_also = "swarm list, governor trip", .schema = "swarm-row"
#define swarm_spawn_help .examples = "ifctl swarm spawn gen-c --dir fixtures/swarms/c --why\n" \
     "ifctl swarm spawn py1 --dir fixtures/swarms/python --budget 25\n" \
     "ifctl swarm spawn gen-c --dir . --mode=falsify", \
     .see_also = "swarm detect, cost budget, policy show, ifctl-workflows(7)", .schema = "swarm-spawn"
#define swarm_detect_help .examples = "ifctl swarm detect fixtures/swarms/python\n" \
     "ifctl swarm detect . -o json", \
     .see_also = "swarm spawn, capabilities list", .schema = "detect-row[]"

#define SUB(n, a, s, f, o, r, v) \
	static const struct cmd_entry swarm_##n##_entry = { \
		.name = #n, .args = a, .summary = s, .flags = f, .opts = o, .validate = v, \
		.run = r, swarm_##n##_help }

SUB(register, "(-f JSON|@FILE | --id ID -c CAP,... [--cost-per-hour USD] [--reputation R] "
    "[--model M] [--heartbeat-interval D]) [--replace]", "register a swarm's profile, checked against the schema and "
    "the registry", CMD_NEEDS_BUS | CMD_MUTATES, register_opts, run_register, NULL);
SUB(list, "[--status S] [-c CAP]", "every registered swarm: status, breaker, capabilities, "
    "last seen", CMD_NEEDS_BUS, list_opts, run_list, NULL);
SUB(show, "ID", "one swarm's profile and state", CMD_NEEDS_BUS, NULL, run_show, NULL);
SUB(heartbeat, "ID", "record that the swarm is alive (its last_seen and an SLO heartbeat "
    "sample)",
    CMD_NEEDS_BUS | CMD_MUTATES, NULL, run_heartbeat, NULL);
SUB(retire, "ID [--why=TEXT]", "retire a swarm: it may no longer claim work",
    CMD_NEEDS_BUS | CMD_MUTATES, NULL, run_retire, NULL);
SUB(spawn, "ID [--dir PATH] [--budget USD]", "detect a swarm's capabilities from its code, "
    "register it and assign a budget", CMD_NEEDS_BUS | CMD_MUTATES, spawn_opts, run_spawn,
    gov_cmd_swarm_budget_args);
SUB(detect, "[PATH]", "show what spawn would detect in a directory, with the evidence", 0,
    NULL, run_detect, NULL);

static const struct cmd_entry *const swarm_subs[] = {
	&swarm_register_entry, &swarm_list_entry, &swarm_show_entry, &swarm_heartbeat_entry,
	&swarm_retire_entry, &swarm_spawn_entry, &swarm_detect_entry, NULL,
};

const struct cmd_entry cmd_swarm_entry = {
	.name = "swarm",
	.args = "register|list|show|heartbeat|retire|spawn|detect",
	.summary = "swarm profiles in IF_SWARMS: register, spawn from code, heartbeat, retire",
	.subs = swarm_subs,
	.examples =
		"ifctl swarm spawn gen-c --dir fixtures/swarms/c --budget 25 --why\n"
		"ifctl swarm list\n"
		"ifctl swarm show gen-c -o json",
	.see_also = "governor, capabilities, cost budget, ifctl-workflows(7)",
};
