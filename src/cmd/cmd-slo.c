/*
 * ifctl slo: define, list, show, rm, status, violations, sync. The maths
 * and the stores are in core (slo.h, slodb.h); this file reads options,
 * opens what is needed and fills the views.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/follow.h"
#include "core/json.h"
#include "core/slo.h"
#include "core/slodb.h"
#include "core/task.h"
#include "core/util.h"

/* Does this call write nothing (--read-only, --mode=falsify)? */
static bool
writes_nothing(const struct cmd_ctx *ctx)
{
	return ctx->op.falsify || ctx->op.read_only || cfg_bool(&ctx->cfg, CK_READ_ONLY);
}

/* The one SWARM argument, checked; NULL with ctx->err set when absent or bad. */
static const char *
swarm_arg(struct cmd_ctx *ctx, bool required)
{
	if (ctx->argc > 1) {
		err_set(&ctx->err, ST_USAGE, "slo %s takes one swarm id", ctx->entry->name);
		return NULL;
	}
	if (ctx->argc == 0) {
		if (required)
			err_set(&ctx->err, ST_USAGE, "slo %s needs a swarm id", ctx->entry->name);
		return NULL;
	}
	if (!task_id_valid(ctx->argv[0])) {
		struct buf vis = BUF_INIT;
		text_visible(&vis, ctx->argv[0], 0);
		err_set(&ctx->err, ST_USAGE, "'%.80s' is not a swarm id (letters, digits, '-', '_' "
			"and '.' between them, at most 128)", vis.s);
		buf_release(&vis);
		return NULL;
	}
	return ctx->argv[0];
}

/*
 * The rollups, brought up to date: $IF_HOME/slo.db, or a copy in memory
 * when nothing may be written (then the whole stream is read).
 */
static enum status
open_rollups(struct cmd_ctx *ctx, bool sync, struct slodb **d)
{
	uint64_t added = 0, rejected = 0;
	enum status st = slodb_open(&ctx->cfg, writes_nothing(ctx) ? ":memory:" : NULL, d,
				    &ctx->err);

	if (st != ST_OK || !sync)
		return st;
	st = slo_sync(ctx->bus, &ctx->cfg, *d, &added, &rejected, &ctx->err);
	if (st == ST_OK)
		why_add(&ctx->op, "rollups", slodb_path(*d), "%llu samples copied from %s now, "
			"%llu refused; held to stream sequence %llu", (unsigned long long)added,
			SLO_STREAM, (unsigned long long)rejected,
			(unsigned long long)slodb_last_seq(*d));
	if (st == ST_OK && rejected && !ctx->quiet)
		session_notice(ctx->session, NOTICE_WARN, "ifctl: warning: %llu SLO sample%s in %s "
			       "refused (malformed, for another swarm than the subject's, or "
			       "timed too far from the stream's clock)",
			       (unsigned long long)rejected, rejected == 1 ? "" : "s", SLO_STREAM);
	return st;
}

/* --- define ------------------------------------------------------------- */

/* A number option in (lo, hi] (or [lo, hi] with closed_lo); *has when given. */
static enum status
opt_num(struct cmd_ctx *ctx, const char *name, double *out, bool *has)
{
	const char *v = cmd_opt(ctx, name);
	char *end = NULL;

	*has = v != NULL;
	if (!v)
		return ST_OK;
	errno = 0;
	*out = strtod(v, &end);
	if (errno || end == v || *end || !isfinite(*out))
		return err_set(&ctx->err, ST_BAD_VALUE, "--%s: '%.40s' is not a number", name, v);
	return ST_OK;
}

/* The objective a define command line gives (checked). */
static enum status
define_spec(struct cmd_ctx *ctx, struct slo_objective *o)
{
	const char *swarm = swarm_arg(ctx, true);
	const char *w = cmd_opt(ctx, "window");
	enum status st;

	slo_objective_init(o);
	if (!swarm)
		return ctx->err.code;
	o->swarm = xstrdup(swarm);
	if ((st = opt_num(ctx, "p99-ms", &o->p99_ms, &o->has[SLO_LATENCY])) != ST_OK ||
	    (st = opt_num(ctx, "success", &o->target[SLO_SUCCESS], &o->has[SLO_SUCCESS])) != ST_OK ||
	    (st = opt_num(ctx, "availability", &o->target[SLO_AVAILABILITY],
			  &o->has[SLO_AVAILABILITY])) != ST_OK)
		return st;
	if ((st = slo_window_parse(w ? w : "30d", &o->window_s, &ctx->err)) != ST_OK)
		return st;
	return slo_objective_check(o, &ctx->err);
}

static enum status
validate_define(struct cmd_ctx *ctx)
{
	struct slo_objective o;
	enum status st = define_spec(ctx, &o);

	slo_objective_release(&o);
	return st;
}

/* slodb_swarms callback: sum the samples. */
static void
count_samples(void *arg, const struct slodb_swarm *s)
{
	*(uint64_t *)arg += s->samples;
}

/*
 * Is the swarm known to the fleet: a profile in IF_SWARMS, or samples in
 * the rollups? An objective for a swarm nobody has seen is most often a
 * typing error; --new defines it anyway.
 */
static enum status
swarm_known(struct cmd_ctx *ctx, struct slodb *d, const char *swarm, bool *known)
{
	struct bus_kv_entry ent = BUS_KV_ENTRY_INIT;
	enum status st = bus_kv_get(ctx->bus, "IF_SWARMS", swarm, &ent, &ctx->err);
	struct err ignore = ERR_INIT;
	uint64_t samples = 0;

	buf_release(&ent.value);
	*known = st == ST_OK;
	if (st != ST_OK && st != ST_NOT_FOUND && st != ST_NO_SCHEMA)
		return st;
	if (!*known) {
		slodb_swarms(d, swarm, count_samples, &samples, &ignore);
		*known = samples > 0;
	}
	ctx->err.code = ST_OK;
	return ST_OK;
}

/* One named check per objective kind of r: would it hold? */
static void
check_results(struct cmd_ctx *ctx, const struct slo_result *r)
{
	char name[160];
	int k;

	for (k = 0; k < SLO__KINDS; k++) {
		const struct slo_obj_result *o = &r->o[k];
		struct err ce = ERR_INIT;
		if (!o->defined)
			continue;
		snprintf(name, sizeof name, "swarm '%s' %s objective holds", r->swarm,
			 slo_kind_name(k));
		if (o->verdict == SLO_BREACH)
			err_set(&ce, ST_SLO_BREACH, "%s", o->reason);
		check(&ctx->op, name, ce.code, &ce, o->reason);
	}
}

/* Evaluate objective o now from fresh rollups (d). */
static enum status
evaluate_one(struct cmd_ctx *ctx, struct slodb *d, const struct slo_objective *o,
	     struct slo_result *r)
{
	struct slo_objectives l = { (struct slo_objective *)o, 1, 1, 0 };

	return slo_status(d, &ctx->cfg, &l, wall_ms(), &ctx->op, r, &ctx->err);
}

static enum status
run_define(struct cmd_ctx *ctx)
{
	struct slo_objective o;
	struct slo_result r = { 0 };
	struct slodb *d = NULL;
	struct rowset *rs;
	bool known = true;
	enum status st = define_spec(ctx, &o);

	if (!check(&ctx->op, "objective is valid", st, &ctx->err, o.swarm))
		goto out;
	if ((st = open_rollups(ctx, true, &d)) != ST_OK)
		goto out;
	if ((st = swarm_known(ctx, d, o.swarm, &known)) != ST_OK)
		goto out;
	st = known || cmd_flag(ctx, "new") ? ST_OK : err_set(&ctx->err, ST_NOT_FOUND,
		"swarm '%s' is not known: no profile in IF_SWARMS and no SLO samples; check the "
		"name, or pass --new to define it before the swarm starts", o.swarm);
	if (!check(&ctx->op, "swarm is known", st, &ctx->err, o.swarm))
		goto out;
	if (ctx->op.falsify) {	/* would the swarm be in breach under it right now? */
		if ((st = evaluate_one(ctx, d, &o, &r)) == ST_OK)
			check_results(ctx, &r);
		goto out;
	}
	if ((st = slo_objective_put(ctx->bus, &ctx->op, &o, &ctx->err)) != ST_OK)
		goto out;
	rs = slo_objective_view();
	rs->single = true;
	slo_objective_view_add(rs, &o);
	doc_add(&ctx->out, rs);
out:
	slo_result_release(&r);
	slodb_close(d);
	slo_objective_release(&o);
	return st;
}

/* --- list, show, rm --------------------------------------------------------- */

static enum status
run_list(struct cmd_ctx *ctx)
{
	struct slo_objectives l;
	struct rowset *rs;
	enum status st = slo_objective_list(ctx->bus, &l, &ctx->err);
	size_t i;

	if (st != ST_OK)
		return st;
	rs = slo_objective_view();
	for (i = 0; i < l.n; i++)
		slo_objective_view_add(rs, &l.v[i]);
	doc_add(&ctx->out, rs);
	if (l.invalid && !ctx->quiet)
		session_notice(ctx->session, NOTICE_WARN, "ifctl: warning: %zu record%s in %s %s "
			       "not a valid objective (skipped)", l.invalid, l.invalid == 1 ? "" :
			       "s", SLO_BUCKET, l.invalid == 1 ? "is" : "are");
	slo_objectives_release(&l);
	return ST_OK;
}

static enum status
run_show(struct cmd_ctx *ctx)
{
	const char *swarm = swarm_arg(ctx, true);
	struct slo_objective o;
	struct rowset *rs;
	enum status st;

	if (!swarm)
		return ctx->err.code;
	if ((st = slo_objective_get(ctx->bus, swarm, &o, &ctx->err)) != ST_OK)
		return st;
	rs = slo_objective_view();
	rs->single = true;
	slo_objective_view_add(rs, &o);
	doc_add(&ctx->out, rs);
	slo_objective_release(&o);
	return ST_OK;
}

static enum status
run_rm(struct cmd_ctx *ctx)
{
	const char *swarm = swarm_arg(ctx, true);
	struct slo_objective o;
	enum status st;

	if (!swarm)
		return ctx->err.code;
	st = slo_objective_get(ctx->bus, swarm, &o, &ctx->err);
	slo_objective_release(&o);
	if (st == ST_INVALID_RECORD)
		st = ST_OK;
	if (!check(&ctx->op, "objective exists", st, &ctx->err, swarm) || ctx->op.falsify)
		return st == ST_OK || ctx->op.falsify ? ST_OK : st;
	return slo_objective_rm(ctx->bus, &ctx->op, swarm, &ctx->err);
}

/* --- status ------------------------------------------------------------------- */

/* The objectives status reads: one swarm's, or all. */
static enum status
status_objectives(struct cmd_ctx *ctx, const char *swarm, struct slo_objectives *l)
{
	enum status st;

	memset(l, 0, sizeof *l);
	if (swarm == NULL)
		return slo_objective_list(ctx->bus, l, &ctx->err);
	l->v = xcalloc(1, sizeof *l->v);
	l->cap = 1;
	if ((st = slo_objective_get(ctx->bus, swarm, &l->v[0], &ctx->err)) != ST_OK)
		return st;
	l->n = 1;
	return ST_OK;
}

/*
 * Open or close breach episodes, witnessing them: only when one is due.
 * Then the standings the governor reads (slo.h), where they changed.
 */
static enum status
status_episodes(struct cmd_ctx *ctx, const struct slo_result *r, size_t n, int64_t now)
{
	struct slo_episodes *eps = NULL;
	size_t changed = 0;
	enum status st;

	if (writes_nothing(ctx)) {
		why_add(&ctx->op, "episodes", "not recorded", "--read-only or --mode=falsify: breach "
			"episodes and standings are not written");
		return ST_OK;
	}
	if ((st = slo_episodes_load(ctx->bus, &eps, &ctx->err)) != ST_OK)
		return st;
	if (slo_episodes_due(eps, r, n) && (st = cmd_witness_open(ctx)) == ST_OK) {
		st = slo_episodes_apply(ctx->bus, &ctx->op, eps, r, n, now, &changed, &ctx->err);
		why_add(&ctx->op, "episodes", "", "%zu breach episode%s opened or closed by this "
			"evaluation", changed, changed == 1 ? "" : "s");
	}
	if (st == ST_OK &&
	    (st = slo_standings_apply(ctx->bus, &ctx->op, eps, r, n, now, &changed, &ctx->err)) ==
	    ST_OK && changed)
		why_add(&ctx->op, "standings", SLO_EPISODE_BUCKET, "%zu standing%s the governor reads "
			"changed (standing.<swarm>)", changed, changed == 1 ? "" : "s");
	slo_episodes_free(eps);
	return st;
}

/* --fail-on: breach (default) or warn. */
static enum status
fail_on(struct cmd_ctx *ctx, enum slo_verdict *worst_ok)
{
	const char *v = cmd_opt(ctx, "fail-on");

	*worst_ok = SLO_WARN;
	if (v == NULL || strcmp(v, "breach") == 0)
		return ST_OK;
	if (strcmp(v, "warn") == 0) {
		*worst_ok = SLO_OK;
		return ST_OK;
	}
	return err_set(&ctx->err, ST_USAGE, "--fail-on: '%.40s' is not breach or warn", v);
}

static enum status
validate_status(struct cmd_ctx *ctx)
{
	enum slo_verdict v;

	if (ctx->argc > 0 && swarm_arg(ctx, false) == NULL)
		return ctx->err.code;
	return fail_on(ctx, &v);
}

/* The verdict exit: ST_SLO_BREACH when any result is worse than worst_ok. */
static enum status
status_verdict(struct cmd_ctx *ctx, const struct slo_result *r, size_t n,
	       enum slo_verdict worst_ok)
{
	size_t i, bad = 0;
	const struct slo_result *first = NULL;

	for (i = 0; i < n; i++)
		if (r[i].verdict > worst_ok && r[i].verdict != SLO_NO_DATA) {
			bad++;
			first = first ? first : &r[i];
		}
	if (first == NULL)
		return ST_OK;
	ctx->output_on_error = true;
	for (int k = 0; k < SLO__KINDS; k++)
		if (first->o[k].defined && first->o[k].verdict == first->verdict)
			return err_set(&ctx->err, ST_SLO_BREACH, "swarm '%s' %s objective: %s: %s%s",
				       first->swarm, slo_kind_name(k), slo_verdict_name(first->verdict),
				       first->o[k].reason, bad > 1 ? " (and more; see the table)" : "");
	return ST_SLO_BREACH;
}

static enum status
run_status(struct cmd_ctx *ctx)
{
	const char *swarm = swarm_arg(ctx, false);
	struct slo_objectives l;
	struct slo_result *r = NULL;
	struct slodb *d = NULL;
	struct rowset *rs;
	enum slo_verdict worst_ok;
	int64_t now = wall_ms();
	enum status st;
	size_t i;

	if ((st = fail_on(ctx, &worst_ok)) != ST_OK)
		return st;
	if ((st = status_objectives(ctx, swarm, &l)) != ST_OK)
		goto out;
	if ((st = open_rollups(ctx, !cmd_flag(ctx, "no-sync"), &d)) != ST_OK)
		goto out;
	r = xcalloc(l.n + 1, sizeof *r);
	if ((st = slo_status(d, &ctx->cfg, &l, now, &ctx->op, r, &ctx->err)) != ST_OK)
		goto out;
	if (ctx->op.falsify)
		for (i = 0; i < l.n; i++)
			check_results(ctx, &r[i]);
	if ((st = status_episodes(ctx, r, l.n, now)) != ST_OK)
		goto out;
	rs = slo_status_view();
	for (i = 0; i < l.n; i++)
		slo_status_view_add(rs, &r[i], &l.v[i]);
	doc_add(&ctx->out, rs);
	if (l.n == 0 && !ctx->quiet)
		session_notice(ctx->session, NOTICE_WARN, "ifctl: no SLO objectives defined "
			       "('ifctl slo define SWARM ...')");
	if (!ctx->op.falsify)
		st = status_verdict(ctx, r, l.n, worst_ok);
out:
	for (i = 0; r && i < l.n; i++)
		slo_result_release(&r[i]);
	free(r);
	slodb_close(d);
	slo_objectives_release(&l);
	return st;
}

/* --- violations, sync ----------------------------------------------------------- */

static enum status
run_violations(struct cmd_ctx *ctx)
{
	const char *swarm = swarm_arg(ctx, false);
	struct slo_violations l;
	struct rowset *rs;
	enum status st;
	size_t i;

	if (ctx->argc > 0 && !swarm)
		return ctx->err.code;
	if ((st = slo_violations_list(ctx->bus, swarm, &l, &ctx->err)) != ST_OK)
		return st;
	rs = slo_violation_view();
	for (i = 0; i < l.n; i++)
		if (!cmd_flag(ctx, "open") || l.v[i].open)
			slo_violation_view_add(rs, &l.v[i]);
	doc_add(&ctx->out, rs);
	slo_violations_release(&l);
	return ST_OK;
}

enum sync_col { SY_ADDED, SY_REJECTED, SY_LAST_SEQ, SY_PATH, SY__COUNT };
static const struct view_col sync_cols[] = {
	[SY_ADDED] = { "added", COL_NUM, 0 },
	[SY_REJECTED] = { "rejected", COL_NUM, 0 },
	[SY_LAST_SEQ] = { "last_seq", COL_NUM, 0 },
	[SY_PATH] = { "path", COL_TEXT, 0 },
};
_Static_assert(ARRAY_SIZE(sync_cols) == SY__COUNT, "one column per sync_col");
static const struct view sync_view = VIEW("sync", sync_cols);

static enum status
run_sync(struct cmd_ctx *ctx)
{
	uint64_t added = 0, rejected = 0;
	struct slodb *d = NULL;
	struct rowset *rs;
	enum status st = slodb_open(&ctx->cfg, writes_nothing(ctx) ? ":memory:" : NULL, &d,
				    &ctx->err);
	size_t r;

	if (st == ST_OK && cmd_flag(ctx, "rebuild") && !writes_nothing(ctx))
		st = slodb_clear(d, &ctx->err);
	if (st == ST_OK)
		st = slo_sync(ctx->bus, &ctx->cfg, d, &added, &rejected, &ctx->err);
	if (st == ST_OK) {
		rs = rows_view(&sync_view);
		rs->single = true;
		r = rows_add(rs);
		rows_set_u64(rs, r, SY_ADDED, added);
		rows_set_u64(rs, r, SY_REJECTED, rejected);
		rows_set_u64(rs, r, SY_LAST_SEQ, slodb_last_seq(d));
		rows_set(rs, r, SY_PATH, slodb_path(d));
		doc_add(&ctx->out, rs);
	}
	slodb_close(d);
	return st;
}

/* --- watch: the evaluator ------------------------------------------------ */

/*
 * ifctl slo watch: evaluate every objective each --interval seconds (the
 * first at once), record the breach episodes that open or close (witnessed
 * as they happen), and print one JSON line per objective whose verdict
 * changed (at the first evaluation: every objective). For a host that keeps
 * episodes current whether or not anyone runs 'slo status'.
 */
struct slo_watch {
	struct cmd_ctx *ctx;
	struct follow f;
	struct slodb *d;
	int64_t interval_ms, limit, ticks;
	char **keys;			/* "<kind>.<swarm>" seen */
	enum slo_verdict *last;		/* their last verdicts */
	size_t n, cap;
};

/* The last verdict slot of key, added (as no data) when new; *fresh tells. */
static enum slo_verdict *
last_verdict(struct slo_watch *w, const char *key, bool *fresh)
{
	size_t i;

	*fresh = false;
	for (i = 0; i < w->n; i++)
		if (strcmp(w->keys[i], key) == 0)
			return &w->last[i];
	xgrow(&w->keys, &w->cap, w->n + 1, sizeof *w->keys);
	w->last = xrealloc(w->last, w->cap * sizeof *w->last);
	w->keys[w->n] = xstrdup(key);
	*fresh = true;
	return &w->last[w->n++];
}

/* One line for objective k of r. */
static void
watch_line(struct slo_watch *w, const struct slo_result *r, enum slo_kind k, int64_t now)
{
	const struct slo_obj_result *o = &r->o[k];
	struct buf line = BUF_INIT;
	char at[32];

	fmt_time_ms(at, now);
	buf_addc(&line, '{');
	json_kv_str(&line, "alert", slo_alert_name(o->alert));
	json_kv_str(&line, "at", at);
	if (o->data) {
		json_kv_num(&line, "budget_left", o->budget_left);
		json_kv_num(&line, "measured", o->measured);
	} else {
		json_kv_raw(&line, "budget_left", NULL);
		json_kv_raw(&line, "measured", NULL);
	}
	json_kv_str(&line, "objective", slo_kind_name(k));
	json_kv_str(&line, "reason", o->reason);
	json_kv_str(&line, "swarm", r->swarm);
	json_kv_num(&line, "target", o->target);
	json_kv_str(&line, "type", "slo");
	json_kv_str(&line, "verdict", slo_verdict_name(o->verdict));
	buf_addc(&line, '}');
	follow_push(&w->f, line.s);
	buf_release(&line);
}

/* Print the objectives whose verdict changed since the last evaluation. */
static void
watch_changes(struct slo_watch *w, const struct slo_result *r, size_t n, int64_t now)
{
	enum slo_verdict *last;
	bool fresh;
	size_t i;
	int k;

	for (i = 0; i < n; i++)
		for (k = 0; k < SLO__KINDS; k++) {
			char *key;
			if (!r[i].o[k].defined)
				continue;
			key = xasprintf("%s.%s", slo_kind_name(k), r[i].swarm);
			last = last_verdict(w, key, &fresh);
			if (fresh || *last != r[i].o[k].verdict)
				watch_line(w, &r[i], (enum slo_kind)k, now);
			*last = r[i].o[k].verdict;
			free(key);
		}
}

/* One evaluation: sync, status, episodes (flushed to the ledger at once). */
static enum status
watch_once(struct slo_watch *w, int64_t now)
{
	struct cmd_ctx *ctx = w->ctx;
	struct slo_objectives l = { 0 };
	struct slo_result *r = NULL;
	uint64_t added, rejected;
	enum status st;
	size_t i;

	if ((st = slo_sync(ctx->bus, &ctx->cfg, w->d, &added, &rejected, &ctx->err)) == ST_OK &&
	    (st = slo_objective_list(ctx->bus, &l, &ctx->err)) == ST_OK) {
		r = xcalloc(l.n + 1, sizeof *r);
		st = slo_status(w->d, &ctx->cfg, &l, now, NULL, r, &ctx->err);
	}
	if (st == ST_OK)
		st = status_episodes(ctx, r, l.n, now);
	if (st == ST_OK && ctx->witness)
		st = ledger_flush(ctx->witness, &ctx->err);
	if (st == ST_OK)
		watch_changes(w, r, l.n, now);
	for (i = 0; r && i < l.n; i++)
		slo_result_release(&r[i]);
	free(r);
	slo_objectives_release(&l);
	return st;
}

static int64_t
watch_tick(struct evloop *l, uint64_t id, void *arg)
{
	struct slo_watch *w = arg;

	(void)l;
	(void)id;
	if (watch_once(w, wall_ms()) != ST_OK) {	/* said, and tried again next time */
		struct buf line = BUF_INIT;
		buf_adds(&line, "{\"message\":");
		json_escape(&line, w->ctx->err.msg);
		buf_adds(&line, ",\"type\":\"error\"}");
		follow_push(&w->f, line.s);
		buf_release(&line);
		w->ctx->err.code = ST_OK;
	}
	if (w->limit && ++w->ticks >= w->limit) {
		follow_finish(&w->f);
		return EVLOOP_DONE;
	}
	return w->interval_ms;
}

static enum status
run_watch(struct cmd_ctx *ctx)
{
	struct slo_watch w = { .ctx = ctx };
	int64_t secs;
	enum status st;
	size_t i;

	if ((st = cmd_opt_int(ctx, "interval", 1, 86400, 60, &secs)) != ST_OK ||
	    (st = cmd_opt_int(ctx, "count", 0, INT64_MAX, 0, &w.limit)) != ST_OK)
		return st;
	w.interval_ms = secs * 1000;
	if (ctx->op.falsify) {	/* a loop that writes nothing would only repeat 'status' */
		check(&ctx->op, "server reachable", ST_OK, NULL, bus_url(ctx->bus));
		return ST_OK;
	}
	if ((st = slodb_open(&ctx->cfg, NULL, &w.d, &ctx->err)) != ST_OK)
		return st;
	if ((st = follow_open(&w.f, &ctx->err)) == ST_OK) {
		evloop_add_timer(w.f.loop, 0, watch_tick, &w);
		st = follow_run(&w.f, "slo watch", &ctx->err);
		follow_close(&w.f);
	}
	for (i = 0; i < w.n; i++)
		free(w.keys[i]);
	free(w.keys);
	free(w.last);
	slodb_close(w.d);
	return st;
}

/* --- entries ------------------------------------------------------------ */

#define OPT_END { NULL, 0, NULL, NULL }

static const struct cmd_opt define_opts[] = {
	{ "p99-ms", 0, "MS", "99 % of task outcomes within this many milliseconds" },
	{ "success", 0, "SHARE", "share of outcomes that succeed, in (0, 1): 0.99" },
	{ "availability", 0, "SHARE", "share of heartbeat slots seen, in (0, 1): 0.999" },
	{ "window", 0, "LEN", "the objective's window, 1m to 90d (default 30d)" },
	{ "new", 0, NULL, "define it for a swarm not seen yet" },
	OPT_END,
};
static const struct cmd_opt status_opts[] = {
	{ "fail-on", 0, "breach|warn", "exit 4 on a breach (default), or on a warning too" },
	{ "no-sync", 0, NULL, "answer from the rollups as they are, without reading new samples" },
	OPT_END,
};
static const struct cmd_opt violations_opts[] = {
	{ "open", 0, NULL, "only episodes still open" },
	OPT_END,
};
static const struct cmd_opt watch_opts[] = {
	{ "interval", 0, "SECONDS", "between evaluations (default 60)" },
	{ "count", 0, "N", "stop after N evaluations" },
	OPT_END,
};
static const struct cmd_opt sync_opts[] = {
	{ "rebuild", 0, NULL, "empty the rollups and read the whole stream again" },
	OPT_END,
};

/* Help of each subcommand: examples, see also, the schema of its -o json. */
#define slo_define_help .examples = "ifctl slo define gen-c --p99-ms 2000 --success 0.99\n" \
     "ifctl slo define gen-c --availability 0.999 --window 7d\n" \
     "ifctl slo define new-1 --new --success 0.95 --mode=falsify", \
     .see_also = "slo status, slo show, ifctl-protocol(7) SLO SAMPLES", .schema = "slo-objective-row"
#define slo_list_help .examples = "ifctl slo list\n" \
     "ifctl slo list -o json", \
     .see_also = "slo show, slo status", .schema = "slo-objective-row[]"
#define slo_show_help .examples = "ifctl slo show gen-c\n" \
     "ifctl slo show gen-c -o json", \
     .see_also = "slo list, slo define", .schema = "slo-objective-row"
#define slo_rm_help .examples = "ifctl slo rm gen-c\n" \
     "ifctl slo rm gen-c --mode=falsify", \
     .see_also = "slo define, slo list", .schema = NULL
#define slo_status_help .examples = "ifctl slo status\n" \
     "ifctl slo status gen-c --fail-on=warn   # exit 4 on a warning too\n" \
     "ifctl slo status -o json --no-sync", \
     .see_also = "slo violations, governor reset, ifctl-workflows(7)", .schema = "slo-status-row[]"
#define slo_violations_help .examples = "ifctl slo violations\n" \
     "ifctl slo violations gen-c --open -o json", \
     .see_also = "slo status, slo watch", .schema = "slo-violation-row[]"
#define slo_watch_help .examples = "ifctl slo watch --interval 30\n" \
     "ifctl slo watch --count 1 -o jsonl", \
     .see_also = "slo status, slo violations", .schema = "slo-watch-line"
#define slo_sync_help .examples = "ifctl slo sync\n" \
     "ifctl slo sync --rebuild -o json", \
     .see_also = "slo status, cost sync", .schema = "slo-sync"

#define SUB(n, a, s, f, o, r, v) \
	static const struct cmd_entry slo_##n##_entry = { \
		.name = #n, .args = a, .summary = s, .flags = CMD_NEEDS_BUS | (f), .opts = o, \
		.validate = v, .run = r, slo_##n##_help }

SUB(define, "SWARM [--p99-ms MS] [--success SHARE] [--availability SHARE] [--window LEN] [--new]",
    "set a swarm's objectives (falsify: would it be in breach now?)", CMD_MUTATES,
    define_opts, run_define, validate_define);
SUB(list, "", "every swarm's objectives", 0, NULL, run_list, NULL);
SUB(show, "SWARM", "one swarm's objectives", 0, NULL, run_show, NULL);
SUB(rm, "SWARM", "remove a swarm's objectives", CMD_MUTATES, NULL, run_rm, NULL);
SUB(status, "[SWARM] [--fail-on=breach|warn] [--no-sync]",
    "p99, success, availability, error budget and burn-rate alerts; exit 4 on a breach", 0,
    status_opts, run_status, validate_status);
SUB(violations, "[SWARM] [--open]", "breach episodes, opened and closed", 0, violations_opts,
    run_violations, NULL);
SUB(watch, "[--interval SECONDS] [--count N]",
    "evaluate every objective on a timer, record breach episodes, print verdict changes",
    CMD_MUTATES, watch_opts, run_watch, NULL);
SUB(sync, "[--rebuild]", "copy new samples from IF_SLO into the local rollups",
    CMD_NO_WITNESS, sync_opts, run_sync, NULL);

static const struct cmd_entry *const slo_subs[] = {
	&slo_define_entry, &slo_list_entry, &slo_show_entry, &slo_rm_entry, &slo_status_entry,
	&slo_violations_entry, &slo_watch_entry, &slo_sync_entry, NULL,
};

const struct cmd_entry cmd_slo_entry = {
	.name = "slo",
	.args = "define|list|show|rm|status|violations|watch|sync",
	.summary = "service level objectives: p99 latency, success, availability, burn rates",
	.subs = slo_subs,
	.examples =
		"ifctl slo define gen-c --p99-ms 2000 --success 0.99\n"
		"ifctl slo status\n"
		"ifctl slo violations --open",
	.see_also = "governor reset, ifctl-protocol(7) SLO SAMPLES, ifctl-workflows(7)",
};
