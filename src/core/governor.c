/* The governor: matching, help for blockers, assignment checks, breaker. See governor.h. */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/budget.h"
#include "core/governor.h"
#include "core/ledger.h"
#include "core/slo.h"
#include "core/util.h"

/* --- budgets: read and written by the cost code (budget.h) ----------------- */

/* The fleet's figures of a budget record. */
static void
gov_budget_of(const struct budget *bu, uint64_t rev, struct gov_budget *out)
{
	out->allocated = bu->allocated;
	out->reserved = bu->reserved;
	out->spent = bu->spent;
	out->rev = rev;
}

/* Read a swarm's budget (budget_get); *found false when there is none. */
static enum status
budget_read(struct bus *b, const char *id, struct gov_budget *out, bool *found, struct err *e)
{
	struct budget bu;
	enum status st = budget_get(b, BUDGET_SWARM, id, &bu, e);

	memset(out, 0, sizeof *out);
	*found = st == ST_OK;
	if (st == ST_NOT_FOUND) {
		err_clear(e);
		return ST_OK;
	}
	if (st == ST_OK) {
		gov_budget_of(&bu, bu.rev, out);
		budget_release(&bu);
	}
	return st;
}

enum status
gov_budget_remaining(struct bus *b, const char *swarm_id, int64_t *micros, bool *has_budget,
		     struct err *e)
{
	struct gov_budget g;
	enum status st = budget_read(b, swarm_id, &g, has_budget, e);

	*micros = *has_budget ? g.allocated - g.reserved - g.spent : 0;
	return st;
}

enum status
gov_budget_assign(struct bus *b, struct opctx *op, const char *swarm_id, int64_t allocated,
		  bool only_if_missing, bool *created, struct err *e)
{
	struct budget out;
	enum status st = budget_allocate_left(b, op, swarm_id, allocated, only_if_missing, created,
					      &out, e);

	if (st == ST_OK)
		budget_release(&out);
	return st;
}

/* --- fleet ---------------------------------------------------------------- */

static void
fleet_budget(void *arg, const char *key, const char *value, size_t len, uint64_t rev)
{
	struct gov_fleet *f = arg;
	struct swarm *s;
	size_t i;

	struct budget bu;

	if (!has_prefix(key, GOV_BUDGET_PREFIX) ||
	    (s = swarm_list_find(&f->swarms, key + strlen(GOV_BUDGET_PREFIX))) == NULL)
		return;
	i = (size_t)(s - f->swarms.v);
	if (budget_parse(key, value, len, &bu, NULL) != ST_OK) {
		f->nbad_budgets++;
		return;
	}
	gov_budget_of(&bu, rev, &f->budgets[i]);
	budget_release(&bu);
	f->has_budget[i] = true;
}

enum status
gov_fleet_load(struct bus *b, struct gov_fleet *out, struct err *e)
{
	return gov_fleet_load_having(b, NULL, 0, out, NULL, e);
}

enum status
gov_fleet_load_having(struct bus *b, char *const *caps, size_t ncaps, struct gov_fleet *out,
		      size_t *skipped, struct err *e)
{
	return gov_fleet_read(b, NULL, caps, ncaps, out, skipped, e);
}

const struct kvmirror_bucket gov_budget_mirror_bucket = { GOV_BUDGET_BUCKET, NULL, NULL, NULL };

const struct kvmirror_bucket *const gov_mirror_buckets[] = {
	&swarm_mirror_bucket, &gov_budget_mirror_bucket,
};
const size_t gov_mirror_bucket_count = ARRAY_SIZE(gov_mirror_buckets);

/* kvmirror_each()'s callback: a budget record, for fleet_budget(). */
static void
fleet_budget_rec(void *arg, const struct kvmirror_rec *r)
{
	fleet_budget(arg, r->key, r->value, r->len, r->rev);
}

/*
 * The budget of each swarm of the fleet from the mirror: every swarm.*
 * record when there are fewer of them than swarms (each found in the
 * fleet by id), else one lookup per swarm.
 */
static enum status
fleet_budgets_mirrored(struct kvmirror *m, struct gov_fleet *f, struct err *e)
{
	struct bus_kv_entry ent = BUS_KV_ENTRY_INIT;
	enum status st = ST_OK;
	bool found;
	char *key;
	size_t i;

	if (kvmirror_live(m, GOV_BUDGET_BUCKET) <= f->swarms.n)
		return kvmirror_each(m, GOV_BUDGET_BUCKET, GOV_BUDGET_PREFIX, fleet_budget_rec, f, e);
	for (i = 0; i < f->swarms.n && st == ST_OK; i++) {
		key = xasprintf("%s%s", GOV_BUDGET_PREFIX, f->swarms.v[i].p.id);
		if ((st = kvmirror_get(m, GOV_BUDGET_BUCKET, key, &ent, &found, e)) == ST_OK &&
		    found)
			fleet_budget(f, key, ent.value.s, ent.value.len, ent.revision);
		free(key);
	}
	buf_release(&ent.value);
	return st;
}

enum status
gov_fleet_read(struct bus *b, struct kvmirror *m, char *const *caps, size_t ncaps,
	       struct gov_fleet *out, size_t *skipped, struct err *e)
{
	enum status st;

	memset(out, 0, sizeof *out);
	st = m ? swarm_list_mirrored(m, caps, ncaps, &out->swarms, skipped, e) :
		 swarm_list_having(b, caps, ncaps, &out->swarms, skipped, e);
	if (st != ST_OK)
		return st;
	out->budgets = xcalloc(out->swarms.n + 1, sizeof *out->budgets);
	out->has_budget = xcalloc(out->swarms.n + 1, sizeof *out->has_budget);
	st = m ? fleet_budgets_mirrored(m, out, e) :
		 bus_kv_snapshot(b, GOV_BUDGET_BUCKET, fleet_budget, out, e);
	if (st != ST_OK ||
	    (st = slo_standings_load(b, out->slo = xcalloc(1, sizeof *out->slo), e)) != ST_OK)
		gov_fleet_release(out);
	return st;
}

void
gov_fleet_release(struct gov_fleet *f)
{
	swarm_list_release(&f->swarms);
	free(f->budgets);
	free(f->has_budget);
	if (f->slo)
		slo_standings_release(f->slo);
	free(f->slo);
	memset(f, 0, sizeof *f);
}

/* --- matching -------------------------------------------------------------- */

static const char *const rule_names[] = {
	[GR_NONE] = "qualified",
	[GR_BLOCKED] = "blocked-swarm",
	[GR_RETIRED] = "retired",
	[GR_BREAKER_OPEN] = "breaker-open",
	[GR_NO_MATCH] = "no-capability-match",
	[GR_BELOW_MIN_MATCH] = "below-min-match",
	[GR_OVER_COST_CAP] = "over-cost-cap",
	[GR_BUDGET_EXHAUSTED] = "budget-exhausted",
	[GR_OVER_BUDGET] = "over-budget",
	[GR_SLO_PAGING] = "slo-paging",
};
_Static_assert(ARRAY_SIZE(rule_names) == GR__COUNT, "one name per rule");

const char *
gov_rule_name(enum gov_rule r)
{
	return rule_names[r];
}

/* Is an open breaker past its half-open timeout? */
static bool
probe_due(const struct swarm_state *st, const struct gov_rules *r, int64_t now)
{
	return st->breaker == BREAKER_OPEN && r->half_open_after_s > 0 && st->opened_at > 0 &&
	       now - st->opened_at >= r->half_open_after_s * 1000;
}

/* Does an SLO standing keep its swarm out under slo_block_paging: it pages, or is malformed? */
static bool
slo_pages(const struct slo_standing_entry *se)
{
	return se && (se->invalid || se->s.alert == SLO_ALERT_PAGE);
}

/* The first rule that leaves swarm s out, or GR_NONE. */
static enum gov_rule
exclusion(const struct swarm *s, const struct gov_rules *r, struct gov_candidate *c, int64_t now)
{
	if (s->st.retired)
		return GR_RETIRED;
	if (s->st.invalid)
		return GR_BREAKER_OPEN;	/* its reason says the record is invalid */
	if (s->st.breaker == BREAKER_OPEN && !(c->probe = probe_due(&s->st, r, now)))
		return GR_BREAKER_OPEN;
	if (r->slo_block_paging && slo_pages(c->slo))
		return GR_SLO_PAGING;
	if (c->matched == 0)
		return GR_NO_MATCH;
	if (c->coverage < r->min_capability_match)
		return GR_BELOW_MIN_MATCH;
	if (c->est_cost > r->max_cost_per_task_micros)
		return GR_OVER_COST_CAP;
	if (c->has_budget && c->remaining <= 0)
		return GR_BUDGET_EXHAUSTED;
	if (c->has_budget && c->remaining < c->est_cost)
		return GR_OVER_BUDGET;
	return GR_NONE;
}

void
gov_candidate_detail(const struct gov_candidate *c, char *out, size_t n)
{
	char a[32], b[32];

	money_str(c->est_cost, a);
	money_str(c->excluded == GR_OVER_COST_CAP ? c->max_cost : c->remaining, b);
	switch (c->excluded) {
	case GR_NONE:
		if (c->budget_warn)
			snprintf(out, n, "budget %.0f%% used (budget_warning_threshold %g)",
				 c->budget_used * 100.0, c->warn_at);
		else
			snprintf(out, n, "score %.4f", c->score);
		break;
	case GR_BLOCKED:
		snprintf(out, n, "the swarm asking for help");
		break;
	case GR_RETIRED:
		snprintf(out, n, "retired");
		break;
	case GR_BREAKER_OPEN:
		snprintf(out, n, "circuit breaker open: %s", c->s->st.reason ? c->s->st.reason :
			 "no reason recorded");
		break;
	case GR_NO_MATCH:
		snprintf(out, n, "has none of the %zu capabilities", c->ncaps);
		break;
	case GR_BELOW_MIN_MATCH:
		snprintf(out, n, "matches %zu/%zu = %.4g, below min_capability_match %g", c->matched,
			 c->ncaps, c->coverage, c->min_match);
		break;
	case GR_OVER_COST_CAP:
		snprintf(out, n, "costs %s per hour, over max_cost_per_task %s", a, b);
		break;
	case GR_BUDGET_EXHAUSTED:
		snprintf(out, n, "budget exhausted (%s left)", b);
		break;
	case GR_SLO_PAGING:
		fmt_time_ms(a, c->slo->s.since);
		if (c->slo->invalid)
			snprintf(out, n, "its SLO standing is invalid (slo_block_paging)");
		else
			snprintf(out, n, "its SLO standing pages (verdict %s since %s; "
				 "slo_block_paging)", slo_verdict_name(c->slo->s.verdict), a);
		break;
	default:
		snprintf(out, n, "%s left, the task costs %s", b, a);
		break;
	}
}

/*
 * Score swarm i of f against caps under base (the task's rules), or under
 * its own override when the policy has one for it.
 */
static void
candidate(const struct gov_fleet *f, const struct policy *p, const struct gov_rules *base,
	  size_t i, char *const *caps, size_t ncaps, const char *exclude, int64_t now,
	  struct gov_candidate *c)
{
	const struct swarm *s = &f->swarms.v[i];
	struct gov_rules r = *base;
	size_t k;

	memset(c, 0, sizeof *c);
	c->s = s;
	c->index = i;
	if (p->nswarms && policy_swarm_override(p, s->p.id))
		policy_rules_for(p, caps, ncaps, s->p.id, &r);
	for (k = 0; k < ncaps; k++)
		c->matched += swarm_has_cap(&s->p, caps[k]);
	c->coverage = (double)c->matched / (double)ncaps;
	c->est_cost = s->p.cost_per_hour_micros;
	c->cost_score = 1.0 - fmin(1.0, (double)c->est_cost / (double)r.max_cost_per_task_micros);
	c->s_cap = r.w_capability * c->coverage;
	c->slo = f->slo ? slo_standings_find(f->slo, s->p.id) : NULL;
	c->reputation = slo_reputation_apply(s->p.reputation, c->slo && !c->slo->invalid ?
					     &c->slo->s : NULL);
	c->s_rep = r.w_reputation * c->reputation;
	c->s_cost = r.w_cost * c->cost_score;
	c->score = c->s_cap + c->s_rep + c->s_cost;
	c->has_budget = f->has_budget[i];
	if (c->has_budget) {
		const struct gov_budget *g = &f->budgets[i];
		c->remaining = g->allocated - g->reserved - g->spent;
		c->budget_used = g->allocated > 0 ? (double)g->spent / (double)g->allocated : 1.0;
		c->warn_at = r.budget_warning_threshold;
		c->budget_warn = c->budget_used >= r.budget_warning_threshold;
	}
	c->ncaps = ncaps;
	c->min_match = r.min_capability_match;
	c->max_cost = r.max_cost_per_task_micros;
	if (exclude && strcmp(s->p.id, exclude) == 0)
		c->excluded = GR_BLOCKED;
	else
		c->excluded = exclusion(s, &r, c, now);
}

/* Ranking: qualified first; score, coverage, cost, id. */
static int
by_rank(const void *a, const void *b)
{
	const struct gov_candidate *x = a, *y = b;

	if ((x->excluded == GR_NONE) != (y->excluded == GR_NONE))
		return x->excluded == GR_NONE ? -1 : 1;
	if (x->excluded == GR_NONE && x->score != y->score)
		return x->score > y->score ? -1 : 1;
	if (x->coverage != y->coverage)
		return x->coverage > y->coverage ? -1 : 1;
	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	if (x->est_cost != y->est_cost)
		return x->est_cost < y->est_cost ? -1 : 1;
	return strcmp(x->s->p.id, y->s->p.id);
}

void
governor_match(const struct gov_fleet *f, const struct policy *p, char *const *caps,
	       size_t ncaps, const char *exclude, int64_t now_ms, struct gov_match *out)
{
	struct gov_candidate tmp;
	size_t i, k;

	memset(out, 0, sizeof *out);
	policy_rules_for(p, caps, ncaps, NULL, &out->rules);
	out->v = xcalloc(f->swarms.n + 1, sizeof *out->v);
	for (i = 0; i < f->swarms.n; i++) {
		candidate(f, p, &out->rules, i, caps, ncaps, exclude, now_ms, &out->v[i]);
		out->nqualified += out->v[i].excluded == GR_NONE;
	}
	out->n = f->swarms.n;
	/* the qualified to the front in one pass, then ranked; the rest on demand */
	for (i = 0, k = 0; i < out->n; i++)
		if (out->v[i].excluded == GR_NONE) {
			tmp = out->v[k];
			out->v[k++] = out->v[i];
			out->v[i] = tmp;
		}
	if (out->nqualified > 1)
		qsort(out->v, out->nqualified, sizeof *out->v, by_rank);
	out->all_ranked = out->n == out->nqualified;
}

void
gov_match_rank_all(struct gov_match *m)
{
	if (!m->all_ranked && m->n - m->nqualified > 1)
		qsort(m->v + m->nqualified, m->n - m->nqualified, sizeof *m->v, by_rank);
	m->all_ranked = true;
}

void
gov_match_release(struct gov_match *m)
{
	free(m->v);
	memset(m, 0, sizeof *m);
}

/* The capabilities as "a,b,c". */
static void
caps_text(struct buf *out, char *const *caps, size_t ncaps)
{
	size_t i;

	for (i = 0; i < ncaps; i++)
		buf_addf(out, "%s%s", i ? "," : "", caps[i]);
}

void
governor_match_explain(struct opctx *op, struct gov_match *m, char *const *caps,
		       size_t ncaps, size_t limit)
{
	const struct gov_rules *r = &m->rules;
	struct buf c = BUF_INIT;
	char cap[32], detail[240];
	size_t i;

	if (!op->explain)
		return;
	gov_match_rank_all(m);
	caps_text(&c, caps, ncaps);
	money_str(r->max_cost_per_task_micros, cap);
	why_add(op, "required", c.s, "%zu capabilities; coverage = matched / %zu", ncaps, ncaps);
	why_add(op, "weights", "", "score = %g * coverage + %g * reputation + %g * cost_score; "
		"cost_score = 1 - min(1, cost_per_hour / max_cost_per_task %s)", r->w_capability,
		r->w_reputation, r->w_cost, cap);
	why_add(op, "reputation", "", "the profile's + the reputation_delta of its SLO standing "
		"(IF_SLO_EPISODES standing.<swarm>), clamped to [0, 1]");
	why_add(op, "filters", "", "retired, breaker open,%s coverage 0, coverage < "
		"min_capability_match %g, cost per hour > max_cost_per_task, budget exhausted or "
		"below the cost", r->slo_block_paging ? " SLO standing pages (slo_block_paging)," :
		"", r->min_capability_match);
	why_add(op, "ties", "", "higher coverage, then lower cost, then id");
	for (i = 0; i < m->n && (limit == 0 || i < limit); i++) {
		const struct gov_candidate *k = &m->v[i];
		if (k->excluded == GR_NONE)
			why_add(op, k->s->p.id, "qualified", "score %.4f = capability %.4f (%zu/%zu) + "
				"reputation %.4f (%g = profile %g %+g SLO) + cost %.4f (cost_score "
				"%.4f)%s", k->score, k->s_cap, k->matched, ncaps, k->s_rep,
				k->reputation, k->s->p.reputation, k->slo && !k->slo->invalid ?
				k->slo->s.delta : 0.0, k->s_cost, k->cost_score,
				k->probe ? "; half-open probe" : "");
		else {
			gov_candidate_detail(k, detail, sizeof detail);
			why_add(op, k->s->p.id, gov_rule_name(k->excluded), "%s", detail);
		}
	}
	buf_release(&c);
}

void
governor_match_witness(const struct opctx *op, const struct gov_match *m, char *const *caps,
		       size_t ncaps)
{
	struct witness_note n = { .component = "governor", .event = "governor.match",
				  .actor = op->actor };
	struct buf p = BUF_INIT, c = BUF_INIT;
	size_t i;

	caps_text(&c, caps, ncaps);
	buf_addc(&p, '{');
	json_kv_str(&p, "capabilities", c.s);
	json_kv_int(&p, "candidates", (long long)m->n);
	json_key(&p, "decision");
	buf_addc(&p, '"');
	if (m->nqualified)
		buf_addf(&p, "best %s, score %.4f, %zu/%zu capabilities; %zu of %zu qualified",
			 m->v[0].s->p.id, m->v[0].score, m->v[0].matched, ncaps, m->nqualified, m->n);
	else
		buf_addf(&p, "no swarm qualified among %zu", m->n);
	buf_addc(&p, '"');
	json_key(&p, "ranked");
	buf_addc(&p, '[');
	for (i = 0; i < m->nqualified && i < 10; i++) {
		buf_adds(&p, i ? "," : "");
		json_escape(&p, m->v[i].s->p.id);
	}
	buf_adds(&p, "]}");
	n.swarm = m->nqualified ? m->v[0].s->p.id : NULL;
	n.payload = p.s;
	ledger_witness(op, &n);
	buf_release(&p);
	buf_release(&c);
}

enum {
	GM_RANK, GM_SWARM, GM_SCORE, GM_COVERAGE, GM_MATCHED, GM_CAPABILITY_SCORE,
	GM_REPUTATION_SCORE, GM_COST_SCORE, GM_COST_PER_HOUR, GM_BUDGET_LEFT, GM_STATUS,
	GM_DETAIL, GM__COUNT
};
static const struct view_col match_cols[] = {
	[GM_RANK] = { "rank", COL_NUM, 0 },
	[GM_SWARM] = { "swarm", COL_TEXT, 0 },
	[GM_SCORE] = { "score", COL_NUM, 0 },
	[GM_COVERAGE] = { "coverage", COL_NUM, 0 },
	[GM_MATCHED] = { "matched", COL_NUM, COL_WIDE },
	[GM_CAPABILITY_SCORE] = { "capability_score", COL_NUM, COL_WIDE },
	[GM_REPUTATION_SCORE] = { "reputation_score", COL_NUM, COL_WIDE },
	[GM_COST_SCORE] = { "cost_score", COL_NUM, COL_WIDE },
	[GM_COST_PER_HOUR] = { "cost_per_hour", COL_TEXT, 0 },
	[GM_BUDGET_LEFT] = { "budget_left", COL_TEXT, 0 },
	[GM_STATUS] = { "status", COL_TEXT, 0 },
	[GM_DETAIL] = { "detail", COL_TEXT, COL_WIDE },
};
_Static_assert(ARRAY_SIZE(match_cols) == GM__COUNT, "one column per match column");
static const struct view match_view = VIEW("candidates", match_cols);

/* A number rounded to 6 places, so that output does not show float noise. */
static double
round6(double x)
{
	return round(x * 1e6) / 1e6;
}

/*
 * A score cell: x rounded to 6 places, as rows_set_num() writes it (the
 * shortest text that reads back as the same double), without its search
 * over precisions, which dominates a view of a thousand candidates. Below
 * 1e9 a multiple of 1e-6 has at most 15 significant digits, so its 6-place
 * decimal with the trailing zeros cut is that shortest text; anything else
 * goes to rows_set_num().
 */
static void
set_score(struct rowset *rs, size_t r, size_t col, double x)
{
	double v = round6(x);
	char t[40];
	int n;

	if (!(fabs(v) < 1e9) || v == 0) {	/* NaN, infinities, zero (and -0) */
		rows_set_num(rs, r, col, v);
		return;
	}
	n = snprintf(t, sizeof t, "%.6f", v);
	while (n > 0 && t[n - 1] == '0')
		n--;
	if (n > 0 && t[n - 1] == '.')
		n--;
	t[n] = '\0';
	rows_set(rs, r, col, t);
}

struct rowset *
gov_match_view(struct gov_match *m, bool all, size_t limit)
{
	struct rowset *rs = rows_view(&match_view);
	char usd[32], detail[240];
	size_t i, r;

	if (all)
		gov_match_rank_all(m);
	for (i = 0; i < m->n && (all || i < m->nqualified) && (limit == 0 || i < limit); i++) {
		const struct gov_candidate *k = &m->v[i];
		r = rows_add(rs);
		if (k->excluded == GR_NONE)
			rows_set_int(rs, r, GM_RANK, (long long)i + 1);
		rows_set(rs, r, GM_SWARM, k->s->p.id);
		set_score(rs, r, GM_SCORE, k->score);
		set_score(rs, r, GM_COVERAGE, k->coverage);
		rows_set_int(rs, r, GM_MATCHED, (long long)k->matched);
		set_score(rs, r, GM_CAPABILITY_SCORE, k->s_cap);
		set_score(rs, r, GM_REPUTATION_SCORE, k->s_rep);
		set_score(rs, r, GM_COST_SCORE, k->s_cost);
		money_str(k->est_cost, usd);
		rows_set(rs, r, GM_COST_PER_HOUR, usd);
		if (k->has_budget) {
			money_str(k->remaining, usd);
			rows_set(rs, r, GM_BUDGET_LEFT, usd);
		}
		rows_set(rs, r, GM_STATUS, k->probe && k->excluded == GR_NONE ? "probe" :
			 gov_rule_name(k->excluded));
		if (k->excluded == GR_NONE && !k->budget_warn)
			continue;	/* no detail */
		gov_candidate_detail(k, detail, sizeof detail);
		rows_set(rs, r, GM_DETAIL, detail);
	}
	return rs;
}

/* --- help for a blocked swarm ------------------------------------------------ */

const struct gov_error_type gov_error_types[] = {
	{ "compile-error", { "code-analysis:general", NULL } },
	{ "test-failure", { "cli:testing", NULL } },
	{ "sip-failure", { "integration:sip", NULL } },
	{ "media-stream", { "integration:ndi", "integration:rtsp", "integration:webrtc" } },
	{ "network", { "infra:networking", NULL } },
	{ "database", { "infra:databases", NULL } },
	{ "deployment", { "infra:kubernetes", "infra:cloud-platforms", NULL } },
	{ "consensus", { "infra:distributed-systems", NULL } },
	{ "observability", { "infra:monitoring", NULL } },
	{ "security", { "architecture:security", NULL } },
	{ "performance", { "architecture:performance", "architecture:scalability", NULL } },
	{ "design", { "architecture:patterns", NULL } },
	{ "documentation", { "docs:technical-writing", NULL } },
	{ "api", { "docs:api-design", NULL } },
};
const size_t gov_error_type_count = ARRAY_SIZE(gov_error_types);

const struct gov_error_type *
gov_error_type_find(const char *type)
{
	size_t i;

	for (i = 0; i < gov_error_type_count; i++)
		if (strcmp(gov_error_types[i].type, type) == 0)
			return &gov_error_types[i];
	return NULL;
}

void
gov_help_release(struct gov_help *h)
{
	size_t i;

	for (i = 0; i < h->n; i++) {
		free(h->v[i].capability);
		free(h->v[i].helper);
		free(h->v[i].task);
		free(h->v[i].reason);
	}
	free(h->v);
	memset(h, 0, sizeof *h);
}

/* Is id among the first n helpers chosen? */
static bool
chosen(const struct gov_help *h, const char *id)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		if (h->v[i].helper && strcmp(h->v[i].helper, id) == 0)
			return true;
	return false;
}

/*
 * The helper for one capability: the best qualified swarm, unless it would
 * be one helper too many, then the best one already chosen; NULL with why.
 */
static const struct gov_candidate *
pick_helper(struct gov_match *m, const struct gov_help *h, int max, struct buf *why)
{
	char detail[240];
	size_t i;

	if (m->nqualified == 0) {
		const struct gov_candidate *best = m->n ? &m->v[0] : NULL;
		gov_match_rank_all(m);
		while (best && best->excluded == GR_BLOCKED && best < m->v + m->n - 1)
			best++;
		if (best && best->excluded != GR_BLOCKED && best->matched == 0)
			buf_addf(why, "no other registered swarm has it");
		else if (best && best->excluded != GR_BLOCKED) {
			gov_candidate_detail(best, detail, sizeof detail);
			buf_addf(why, "no qualified swarm; nearest '%s': %s (%s)", best->s->p.id,
				 gov_rule_name(best->excluded), detail);
		}
		else
			buf_adds(why, "no other swarm is registered");
		return NULL;
	}
	if (h->helpers < (size_t)max || chosen(h, m->v[0].s->p.id))
		return &m->v[0];
	for (i = 1; i < m->nqualified; i++)
		if (chosen(h, m->v[i].s->p.id))
			return &m->v[i];
	buf_addf(why, "max_swarms_per_task %d reached; best '%s' would be one more", max,
		 m->v[0].s->p.id);
	return NULL;
}

/*
 * Push the blocker-assistance task of item k's helper: one task per helper,
 * with every capability it helps with (the items after k with the same
 * helper get the same task id).
 */
static enum status
push_help(struct bus *b, struct opctx *op, const struct coord_cfg *cc, const char *blocked,
	  const char *error_type, struct gov_help *h, size_t k, struct err *e)
{
	struct buf title = BUF_INIT, payload = BUF_INIT, list = BUF_INIT;
	const char *helper = h->v[k].helper;
	struct task_spec s = { 0 };
	char **caps = xcalloc(h->n + 1, sizeof *caps);
	struct task t;
	bool existed = false;
	enum status st;
	size_t i;

	json_key(&payload, "capabilities");
	for (i = k; i < h->n; i++)
		if (h->v[i].helper && strcmp(h->v[i].helper, helper) == 0) {
			buf_adds(&list, s.ncaps ? "," : "[");
			json_escape(&list, h->v[i].capability);
			caps[s.ncaps++] = h->v[i].capability;
		}
	buf_addc(&list, ']');
	buf_reset(&payload);
	buf_addc(&payload, '{');
	json_kv_str(&payload, "blocked", blocked);
	json_kv_raw(&payload, "capabilities", list.s);
	json_kv_str(&payload, "error_type", error_type);
	json_kv_str(&payload, "kind", "blocker-assistance");
	json_kv_str(&payload, "trace", op->trace_id);
	buf_addc(&payload, '}');
	buf_addf(&title, "help '%s' with %s%s", blocked, caps[0], s.ncaps > 1 ? " and more" : "");
	s.title = title.s;
	s.caps = caps;
	s.priority = 8;
	s.payload = payload.s;
	s.to = helper;
	st = coord_push(b, cc, op, &s, &t, &existed, e);
	for (i = k; st == ST_OK && !op->falsify && i < h->n; i++)
		if (h->v[i].helper && strcmp(h->v[i].helper, helper) == 0)
			h->v[i].task = xstrdup(t.id);
	if (st == ST_OK && !op->falsify)
		task_release(&t);
	free(caps);
	buf_release(&title);
	buf_release(&payload);
	buf_release(&list);
	return st;
}

/* Publish the escalation of what nobody can help with. */
static void
escalate(struct bus *b, const struct opctx *op, const char *blocked, const struct gov_help *h)
{
	struct buf ev = BUF_INIT;
	size_t i, k = 0;

	buf_addc(&ev, '{');
	json_kv_str(&ev, "blocked", blocked);
	json_key(&ev, "unhelped");
	buf_addc(&ev, '[');
	for (i = 0; i < h->n; i++) {
		if (h->v[i].helper)
			continue;
		buf_adds(&ev, k++ ? ",{" : "{");
		json_kv_str(&ev, "capability", h->v[i].capability);
		json_kv_str(&ev, "reason", h->v[i].reason);
		buf_addc(&ev, '}');
	}
	buf_addc(&ev, ']');
	json_kv_str(&ev, "trace", op->trace_id);
	json_kv_str(&ev, "type", "escalation");
	json_kv_int(&ev, "v", 1);
	json_kv_str(&ev, "why", op->justification);
	buf_addc(&ev, '}');
	if (!op->falsify)
		bus_publish(b, GOV_SUBJECT_ESCALATION, ev.s, ev.len, NULL);
	buf_release(&ev);
}

/* Witness the decision of a request for help. */
static void
help_witness(const struct opctx *op, const char *blocked, const struct gov_help *h)
{
	struct witness_note n = { .component = "governor", .event = "governor.request_help",
				  .actor = op->actor, .swarm = blocked };
	struct buf p = BUF_INIT, d = BUF_INIT;
	size_t i;

	for (i = 0; i < h->n; i++)
		buf_addf(&d, "%s%s: %s%s%s", i ? "; " : "", h->v[i].capability,
			 h->v[i].helper ? h->v[i].helper : "escalated",
			 h->v[i].helper ? "" : ", ", h->v[i].helper ? "" : h->v[i].reason);
	buf_addc(&p, '{');
	json_kv_str(&p, "decision", d.s);
	json_kv_bool(&p, "escalated", h->escalated);
	json_kv_int(&p, "helpers", (long long)h->helpers);
	buf_addc(&p, '}');
	n.payload = p.s;
	ledger_witness(op, &n);
	buf_release(&p);
	buf_release(&d);
}

/* Help with one capability: pick, explain, check. */
static void
help_one(struct opctx *op, const struct gov_fleet *f, const struct policy *p,
	 const char *blocked, char *cap, struct gov_help *h)
{
	struct gov_help_item *it = &h->v[h->n];
	const struct gov_candidate *c;
	struct gov_match m;
	struct buf why = BUF_INIT;
	char name[200];

	governor_match(f, p, &cap, 1, blocked, wall_ms(), &m);
	c = pick_helper(&m, h, m.rules.max_swarms_per_task, &why);
	it->capability = xstrdup(cap);
	if (c) {
		it->helper = xstrdup(c->s->p.id);
		it->score = c->score;
		if (!chosen(h, c->s->p.id))
			h->helpers++;
		it->reason = xasprintf("score %.4f (capability %.4f, reputation %.4f, cost %.4f)",
				       c->score, c->s_cap, c->s_rep, c->s_cost);
	} else {
		it->reason = buf_detach(&why);
		h->escalated = true;
	}
	h->n++;
	snprintf(name, sizeof name, "a helper for %s", cap);
	check(op, name, c ? ST_OK : ST_REFUSED, NULL, c ? it->helper : it->reason);
	why_add(op, cap, it->helper ? it->helper : "escalated", "%s", it->reason);
	buf_release(&why);
	gov_match_release(&m);
}

enum status
governor_request_help(struct bus *b, struct opctx *op, const struct gov_fleet *f,
		      const struct policy *p, const struct coord_cfg *cc, const char *blocked,
		      char *const *caps, size_t ncaps, const char *error_type,
		      struct gov_help *out, struct err *e)
{
	enum status st = ST_OK;
	size_t i, j;

	memset(out, 0, sizeof *out);
	if (!check(op, "blocked swarm is registered", swarm_list_find(&f->swarms, blocked) ?
		   ST_OK : ST_NOT_FOUND, NULL, blocked))
		return err_set(e, ST_NOT_FOUND, "swarm '%s' is not registered", blocked);
	out->v = xcalloc(ncaps + 1, sizeof *out->v);
	for (i = 0; i < ncaps; i++) {
		for (j = 0; j < i && strcmp(caps[j], caps[i]) != 0; j++)
			;
		if (j == i)
			help_one(op, f, p, blocked, caps[i], out);
	}
	for (i = 0; i < out->n && st == ST_OK; i++)
		if (out->v[i].helper && !out->v[i].task)
			st = push_help(b, op, cc, blocked, error_type, out, i, e);
	if (st != ST_OK)
		return st;
	if (out->escalated)
		escalate(b, op, blocked, out);
	help_witness(op, blocked, out);
	if (out->helpers == 0 && !op->falsify)
		return err_set(e, ST_REFUSED, "no swarm can help '%s': %s (escalated on %s)", blocked,
			       out->n ? out->v[0].reason : "nothing needed", GOV_SUBJECT_ESCALATION);
	return ST_OK;
}

enum { GH_CAPABILITY, GH_HELPER, GH_TASK, GH_SCORE, GH_REASON, GH__COUNT };
static const struct view_col help_cols[] = {
	[GH_CAPABILITY] = { "capability", COL_TEXT, 0 },
	[GH_HELPER] = { "helper", COL_TEXT, 0 },
	[GH_TASK] = { "task", COL_TEXT, 0 },
	[GH_SCORE] = { "score", COL_NUM, 0 },
	[GH_REASON] = { "reason", COL_TEXT, 0 },
};
_Static_assert(ARRAY_SIZE(help_cols) == GH__COUNT, "one column per help column");
static const struct view help_view = VIEW("help", help_cols);

struct rowset *
gov_help_view(const struct gov_help *h)
{
	struct rowset *rs = rows_view(&help_view);
	size_t i, r;

	for (i = 0; i < h->n; i++) {
		r = rows_add(rs);
		rows_set(rs, r, GH_CAPABILITY, h->v[i].capability);
		rows_set(rs, r, GH_HELPER, h->v[i].helper);
		rows_set(rs, r, GH_TASK, h->v[i].task);
		if (h->v[i].helper)
			rows_set_num(rs, r, GH_SCORE, round6(h->v[i].score));
		rows_set(rs, r, GH_REASON, h->v[i].reason);
	}
	return rs;
}

/* --- assignment validation ---------------------------------------------------- */

void
gov_check_release(struct gov_check *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		free(c->v[i].details);
	free(c->v);
	memset(c, 0, sizeof *c);
}

static void __attribute__((format(printf, 3, 4)))
violation(struct gov_check *c, const char *type, const char *fmt, ...)
{
	struct buf d = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&d, fmt, ap);
	va_end(ap);
	c->v = xrealloc(c->v, (c->n + 1) * sizeof *c->v);
	c->v[c->n].type = type;
	c->v[c->n++].details = buf_detach(&d);
}

/* The checks on the list itself: empty, duplicates, too many. */
static void
check_list(const struct gov_assignment *a, const struct gov_rules *r, struct gov_check *c)
{
	size_t i, j;

	if (a->nswarms == 0)
		violation(c, "empty-assignment", "no swarm is assigned");
	for (i = 0; i < a->nswarms; i++)
		for (j = 0; j < i; j++)
			if (strcmp(a->swarms[i], a->swarms[j]) == 0) {
				violation(c, "duplicate-swarm", "'%s' is assigned twice", a->swarms[i]);
				break;
			}
	if (a->nswarms > (size_t)r->max_swarms_per_task)
		violation(c, "too-many-swarms", "%zu swarms, max_swarms_per_task is %d",
			  a->nswarms, r->max_swarms_per_task);
}

/* The checks of each swarm: known, available, within budget; the total cost. */
static void
check_swarms(const struct gov_fleet *f, const struct gov_assignment *a,
	     const struct gov_rules *r, struct gov_check *c)
{
	int64_t total = 0, cost;
	char x[32], y[32];
	size_t i, k;

	for (i = 0; i < a->nswarms; i++) {
		const struct swarm *s = swarm_list_find(&f->swarms, a->swarms[i]);
		if (s == NULL) {
			violation(c, "unknown-swarm", "'%s' is not registered", a->swarms[i]);
			continue;
		}
		if (s->st.retired || s->st.breaker == BREAKER_OPEN)
			violation(c, "unavailable-swarm", "'%s' is %s", s->p.id, swarm_status(s));
		else if (r->slo_block_paging && f->slo &&
			 slo_pages(slo_standings_find(f->slo, s->p.id)))
			violation(c, "unavailable-swarm", "'%s' is in a paging SLO burn "
				  "(slo_block_paging)", s->p.id);
		cost = a->cost_micros >= 0 ? a->cost_micros / (int64_t)a->nswarms :
		       s->p.cost_per_hour_micros;
		total += cost;
		k = (size_t)(s - f->swarms.v);
		if (f->has_budget[k] &&
		    f->budgets[k].allocated - f->budgets[k].reserved - f->budgets[k].spent < cost) {
			money_str(f->budgets[k].allocated - f->budgets[k].reserved -
				   f->budgets[k].spent, x);
			money_str(cost, y);
			violation(c, "over-budget", "'%s' has %s left, its share costs %s", s->p.id, x, y);
		}
	}
	if (a->cost_micros >= 0)
		total = a->cost_micros;
	if (total > r->max_cost_per_task_micros) {
		money_str(total, x);
		money_str(r->max_cost_per_task_micros, y);
		violation(c, "over-cost-cap", "the task costs %s, max_cost_per_task is %s", x, y);
	}
}

/* Publish and witness one violation. */
static void
record_violation(struct bus *b, const struct opctx *op, const struct gov_assignment *a,
		 const struct gov_violation *v, bool enforced)
{
	struct witness_note n = { .component = "governor", .event = "governor.violation",
				  .actor = op->actor, .task = a->task };
	struct buf rec = BUF_INIT;
	size_t i;

	buf_addc(&rec, '{');
	json_kv_str(&rec, "details", v->details);
	json_kv_bool(&rec, "enforced", enforced);
	json_key(&rec, "swarms");
	buf_addc(&rec, '[');
	for (i = 0; i < a->nswarms; i++) {
		buf_adds(&rec, i ? "," : "");
		json_escape(&rec, a->swarms[i]);
	}
	buf_addc(&rec, ']');
	json_kv_str(&rec, "task", a->task);
	json_kv_int(&rec, "time", wall_ms());
	json_kv_str(&rec, "trace", op->trace_id);
	json_kv_str(&rec, "type", v->type);
	json_kv_int(&rec, "v", 1);
	buf_addc(&rec, '}');
	bus_js_publish(b, GOV_SUBJECT_VIOLATION, rec.s, rec.len, NULL, NULL, NULL);
	n.swarm = a->nswarms ? a->swarms[0] : NULL;
	n.payload = rec.s;
	ledger_witness(op, &n);
	buf_release(&rec);
}

/* Witness the decision of an assignment check, violations or not. */
static void
check_witness(const struct opctx *op, const struct gov_assignment *a, const struct gov_check *c)
{
	struct witness_note n = { .component = "governor", .event = "governor.check",
				  .actor = op->actor, .task = a->task };
	struct buf p = BUF_INIT, d = BUF_INIT;
	size_t i;

	for (i = 0; i < a->nswarms; i++)
		buf_addf(&d, "%s%s", i ? "," : "", a->swarms[i]);
	buf_addc(&p, '{');
	json_kv_str(&p, "decision", c->n == 0 ? "allowed" : c->enforced ? "refused" : "warned");
	json_kv_bool(&p, "enforced", c->enforced);
	json_kv_str(&p, "swarms", d.s);
	json_kv_int(&p, "violations", (long long)c->n);
	buf_addc(&p, '}');
	n.swarm = a->nswarms ? a->swarms[0] : NULL;
	n.payload = p.s;
	ledger_witness(op, &n);
	buf_release(&p);
	buf_release(&d);
}

/* The named checks of falsify, one per kind of violation. */
static const char *const check_kinds[][2] = {
	{ "empty-assignment", "assignment is not empty" },
	{ "duplicate-swarm", "no swarm is assigned twice" },
	{ "too-many-swarms", "within max_swarms_per_task" },
	{ "unknown-swarm", "every swarm is registered" },
	{ "unavailable-swarm", "no swarm is retired, breaker-open or paging (slo_block_paging)" },
	{ "over-budget", "every swarm's budget covers its share" },
	{ "over-cost-cap", "within max_cost_per_task" },
};

enum status
governor_check_assignment(struct bus *b, struct opctx *op, const struct gov_fleet *f,
			  const struct policy *p, const struct gov_assignment *a,
			  struct gov_check *out, struct err *e)
{
	struct gov_rules r;
	size_t i, k;

	memset(out, 0, sizeof *out);
	policy_rules_for(p, a->caps, a->ncaps, NULL, &r);
	out->enforced = r.enforcement;
	check_list(a, &r, out);
	check_swarms(f, a, &r, out);
	for (k = 0; k < ARRAY_SIZE(check_kinds); k++) {
		const char *ev = NULL;
		for (i = 0; i < out->n && !ev; i++)
			if (strcmp(out->v[i].type, check_kinds[k][0]) == 0)
				ev = out->v[i].details;
		check(op, check_kinds[k][1], ev ? (r.enforcement ? ST_REFUSED : ST_OK) : ST_OK, NULL,
		      ev ? ev : "ok");
		if (ev)
			why_add(op, check_kinds[k][0], r.enforcement ? "refused" : "warned", "%s", ev);
	}
	for (i = 0; !op->falsify && i < out->n; i++)
		record_violation(b, op, a, &out->v[i], r.enforcement);
	check_witness(op, a, out);
	if (out->n && r.enforcement)
		return err_set(e, ST_REFUSED, "assignment breaks %zu rule%s: %s: %s", out->n,
			       out->n == 1 ? "" : "s", out->v[0].type, out->v[0].details);
	return ST_OK;
}

enum { GV_TIME, GV_TYPE, GV_SWARMS, GV_TASK, GV_ENFORCED, GV_DETAILS, GV_TRACE, GV__COUNT };
static const struct view_col violation_cols[] = {
	[GV_TIME] = { "time", COL_TIME, 0 },
	[GV_TYPE] = { "type", COL_TEXT, 0 },
	[GV_SWARMS] = { "swarms", COL_JSON, 0 },
	[GV_TASK] = { "task", COL_TEXT, 0 },
	[GV_ENFORCED] = { "enforced", COL_BOOL, 0 },
	[GV_DETAILS] = { "details", COL_TEXT, 0 },
	[GV_TRACE] = { "trace", COL_TEXT, COL_WIDE },
};
_Static_assert(ARRAY_SIZE(violation_cols) == GV__COUNT, "one column per violation column");
static const struct view violation_view = VIEW("violations", violation_cols);

struct rowset *
gov_violation_view(void)
{
	return rows_view(&violation_view);
}

/* Add one violation record to rs, when it parses and passes the filters. */
static void
violation_row(struct rowset *rs, const char *json, size_t len, const char *swarm,
	      const char *type)
{
	struct json_doc doc = JSON_DOC_INIT;
	const struct json_value *t, *sw, *tm, *d, *task, *en, *tr;
	const char *items[64];
	bool has = swarm == NULL;
	size_t i, r;

	if (json_parse(json, len, "violation", &doc, NULL) != ST_OK || doc.root->type != JSON_OBJECT)
		goto out;
	t = json_member(doc.root, "type");
	sw = json_member(doc.root, "swarms");
	tm = json_member(doc.root, "time");
	d = json_member(doc.root, "details");
	task = json_member(doc.root, "task");
	en = json_member(doc.root, "enforced");
	tr = json_member(doc.root, "trace");
	if (!t || t->type != JSON_STRING || !sw || sw->type != JSON_ARRAY || sw->len > 64 || !tm ||
	    tm->type != JSON_NUMBER || !(tm->num >= 0 && tm->num <= JSON_INT_MAX) || !d ||
	    d->type != JSON_STRING || (type && strcmp(t->str, type) != 0))
		goto out;
	for (i = 0; i < sw->len; i++) {
		if (sw->kids[i].type != JSON_STRING)
			goto out;
		items[i] = sw->kids[i].str;
		has = has || strcmp(items[i], swarm) == 0;
	}
	if (!has)
		goto out;
	r = rows_add(rs);
	rows_set_time(rs, r, GV_TIME, (int64_t)tm->num);
	rows_set(rs, r, GV_TYPE, t->str);
	rows_set_list(rs, r, GV_SWARMS, items, sw->len);
	rows_set(rs, r, GV_TASK, task && task->type == JSON_STRING ? task->str : NULL);
	rows_set_bool(rs, r, GV_ENFORCED, en && en->type == JSON_TRUE);
	rows_set(rs, r, GV_DETAILS, d->str);
	rows_set(rs, r, GV_TRACE, tr && tr->type == JSON_STRING ? tr->str : NULL);
out:
	json_doc_release(&doc);
}

struct vscan {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t last;
	bool done;
	struct rowset *rs;
	const char *swarm, *type;
};

static void
vscan_event(void *arg, const struct bus_kv_event *ev)
{
	struct vscan *s = arg;

	pthread_mutex_lock(&s->mu);
	if (!s->done && ev->key) {
		violation_row(s->rs, ev->value, ev->len, s->swarm, s->type);
		s->done = ev->revision >= s->last;
	}
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

enum status
gov_violations_list(struct bus *b, const char *swarm, const char *type, size_t limit,
		    struct rowset *out, struct err *e)
{
	struct vscan s = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, false, out,
			   swarm, type };
	struct timespec ts = deadline_ts(30000 + bus_timeout_ms(b));
	struct bus_watch *w = NULL;
	struct buf last = BUF_INIT;
	enum status st;
	size_t drop, i;

	st = bus_stream_last(b, "IF_EVENTS", GOV_SUBJECT_VIOLATION, &last, &s.last, e);
	buf_release(&last);
	if (st == ST_NOT_FOUND)
		return ST_OK;
	if (st != ST_OK || (st = bus_stream_watch(b, "IF_EVENTS", GOV_SUBJECT_VIOLATION, 1,
						  vscan_event, &s, &w, e)) != ST_OK)
		return st;
	pthread_mutex_lock(&s.mu);
	while (!s.done && pthread_cond_timedwait(&s.cv, &s.mu, &ts) == 0)
		;
	st = s.done ? ST_OK : err_set(e, ST_TIMEOUT, "the violations did not load in time");
	s.done = true;
	pthread_mutex_unlock(&s.mu);
	bus_watch_free(w);
	if (limit && out->nrows > limit) {	/* keep the newest */
		drop = out->nrows - limit;
		for (i = 0; i < drop * out->ncols; i++) {
			free(out->cells[i].value);
			free(out->cells[i].shown);
		}
		memmove(out->cells, out->cells + drop * out->ncols,
			limit * out->ncols * sizeof *out->cells);
		out->nrows = limit;
	}
	return st;
}

/* --- circuit breaker, retirement ------------------------------------------------ */

static const struct policy *gov_policy;	/* set once by the front end; NULL: defaults */

void
governor_set_policy(const struct policy *p)
{
	gov_policy = p;
}

/* The rules the breaker uses for swarm id. */
static void
breaker_rules(const char *id, struct gov_rules *r)
{
	struct policy d;

	if (gov_policy) {
		policy_rules_for(gov_policy, NULL, 0, id, r);
		return;
	}
	policy_defaults(&d);
	*r = d.rules;
	policy_release(&d);
}

int
governor_budget_warning_pct(const char *swarm_id)
{
	struct gov_rules r;

	breaker_rules(swarm_id ? swarm_id : "", &r);
	return (int)lround(r.budget_warning_threshold * 100.0);
}

/* Publish and witness a change of a swarm's state (breaker or retirement). */
static void
state_changed(struct bus *b, const struct opctx *op, const char *id, const char *from,
	      const struct swarm_state *s, const char *event)
{
	struct witness_note n = { .component = "governor", .event = event, .actor = op ? op->actor : NULL,
				  .swarm = id };
	struct buf ev = BUF_INIT, rec = BUF_INIT;
	char subject[160];

	swarm_state_json(id, s, &rec);
	buf_addc(&ev, '{');
	json_kv_str(&ev, "from", from);
	json_kv_raw(&ev, "state", rec.s);
	json_kv_str(&ev, "swarm", id);
	json_kv_str(&ev, "to", s->retired ? "retired" : breaker_name(s->breaker));
	json_kv_str(&ev, "trace", op ? op->trace_id : NULL);
	json_kv_str(&ev, "type", event);
	json_kv_int(&ev, "v", 1);
	json_kv_str(&ev, "why", op ? op->justification : NULL);
	buf_addc(&ev, '}');
	snprintf(subject, sizeof subject, "if.v1.evt.governor.breaker.%s", id);
	if (strcmp(event, "swarm.retire") == 0)
		snprintf(subject, sizeof subject, "if.v1.evt.swarm.%s.retire", id);
	bus_publish(b, subject, ev.s, ev.len, NULL);
	if (op) {
		n.payload = ev.s;
		ledger_witness(op, &n);
	}
	buf_release(&ev);
	buf_release(&rec);
}

/*
 * Change a swarm's state by fn, compare-and-swap, retried when another
 * writer got there first. fn returns the witness event of the change, or
 * NULL when there is nothing to write.
 */
typedef const char *(*state_fn)(struct swarm_state *s, void *arg);

#define STATE_TRIES 8

static enum status
state_update(struct bus *b, const struct opctx *op, const char *id, state_fn fn, void *arg,
	     struct err *e)
{
	struct swarm_state s;
	const char *event, *from;
	enum status st = ST_CONFLICT;
	int i;

	for (i = 0; i < STATE_TRIES && st == ST_CONFLICT; i++) {
		if ((st = swarm_state_get(b, id, &s, e)) == ST_INVALID_RECORD) {
			s.present = true;	/* an operator's change rewrites a malformed record */
			st = ST_OK;
		}
		if (st != ST_OK)
			return st;
		from = s.retired ? "retired" : breaker_name(s.breaker);
		if ((event = fn(&s, arg)) == NULL || (op && op->falsify)) {
			swarm_state_release(&s);
			return ST_OK;
		}
		if ((st = swarm_state_put(b, id, &s, e)) == ST_OK && strcmp(event, "-") != 0)
			state_changed(b, op, id, from, &s, event);
		swarm_state_release(&s);
	}
	return st;
}

/* Open the breaker with arg as the reason. */
static const char *
do_trip(struct swarm_state *s, void *arg)
{
	if (s->breaker == BREAKER_OPEN)
		return NULL;
	s->breaker = BREAKER_OPEN;
	s->opened_at = wall_ms();
	free(s->reason);
	s->reason = xstrdup(arg);
	return "breaker.open";
}

/* Is swarm id registered? A check of op; its state in *out when out is not NULL. */
static enum status
registered(struct bus *b, struct opctx *op, const char *id, struct swarm *out, struct err *e)
{
	struct swarm s;
	enum status st = swarm_get(b, id, &s, e);

	if (op && !check(op, "swarm is registered", st, e, id))
		return st;
	if (st == ST_OK && out)
		*out = s;
	else if (st == ST_OK)
		swarm_release(&s);
	return st == ST_OK || (op && op->falsify) ? ST_OK : st;
}

enum status
governor_breaker_trip(struct bus *b, struct opctx *op, const char *swarm_id, const char *reason,
		      struct err *e)
{
	enum status st = registered(b, op, swarm_id, NULL, e);

	return st == ST_OK ? state_update(b, op, swarm_id, do_trip, (void *)reason, e) : st;
}

struct outcome {
	bool success;
	int threshold;
};

/* Count one outcome. */
static const char *
do_outcome(struct swarm_state *s, void *arg)
{
	struct outcome *o = arg;

	if (o->success) {
		bool was = s->breaker == BREAKER_HALF_OPEN;
		if (s->failures == 0 && !was)
			return NULL;
		s->failures = 0;
		if (!was)
			return "-";	/* the count only: no transition */
		s->breaker = BREAKER_CLOSED;
		return "breaker.close";
	}
	s->failures++;
	if (s->breaker == BREAKER_HALF_OPEN || (s->breaker == BREAKER_CLOSED &&
						s->failures >= o->threshold)) {
		s->breaker = BREAKER_OPEN;
		s->opened_at = wall_ms();
		free(s->reason);
		s->reason = xasprintf("%d consecutive failures (threshold %d)", s->failures,
				      o->threshold);
		return "breaker.open";
	}
	return "-";
}

enum status
governor_record_outcome(struct bus *b, struct opctx *op, const char *swarm_id, bool success,
			struct err *e)
{
	struct outcome o = { success, 0 };
	struct gov_rules r;

	breaker_rules(swarm_id, &r);
	o.threshold = r.breaker_threshold;
	return state_update(b, op, swarm_id, do_outcome, &o, e);
}

/* Close the breaker and clear the count. */
static const char *
do_reset(struct swarm_state *s, void *arg)
{
	(void)arg;
	s->breaker = BREAKER_CLOSED;
	s->failures = 0;
	s->opened_at = 0;
	free(s->reason);
	s->reason = NULL;
	return "breaker.reset";
}

/* Let one probe through an open breaker. */
static const char *
do_half_open(struct swarm_state *s, void *arg)
{
	(void)arg;
	if (s->breaker != BREAKER_OPEN)
		return NULL;
	s->breaker = BREAKER_HALF_OPEN;
	return "breaker.half-open";
}

static const char *
do_retire(struct swarm_state *s, void *arg)
{
	(void)arg;
	if (s->retired)
		return NULL;
	s->retired = true;
	return "swarm.retire";
}

enum status
governor_reset(struct bus *b, struct opctx *op, const char *swarm_id, int64_t budget_micros,
	       struct err *e)
{
	struct swarm sw;
	struct gov_budget g;
	int64_t alloc;
	bool created;
	char usd[32];
	enum status st;

	memset(&sw, 0, sizeof sw);
	if ((st = registered(b, op, swarm_id, &sw, e)) != ST_OK)
		return st;
	if (!check(op, "swarm is not retired", sw.st.retired ? ST_REFUSED : ST_OK, NULL,
		   sw.st.retired ? "retired swarms stay retired" : swarm_id)) {
		swarm_release(&sw);
		return err_set(e, ST_REFUSED, "swarm '%s' is retired; register it anew to use it",
			       swarm_id);
	}
	why_add(op, "breaker", breaker_name(sw.st.breaker), "%d consecutive failures; %s",
		sw.st.failures, sw.st.reason ? sw.st.reason : "no reason recorded");
	swarm_release(&sw);
	if (budget_micros >= 0) {
		money_str(budget_micros, usd);
		why_add(op, "budget", usd, "the swarm may spend this much from now");
		if (op->falsify && (st = budget_read(b, swarm_id, &g, &created, e)) == ST_OK &&
		    money_add(budget_micros, g.reserved + g.spent, &alloc))
			st = budget_check_allocation(b, op, BUDGET_SWARM, swarm_id, alloc, e);
		if (st != ST_OK ||
		    (st = gov_budget_assign(b, op, swarm_id, budget_micros, false, &created, e)) !=
		    ST_OK)
			return st;
	}
	return state_update(b, op, swarm_id, do_reset, NULL, e);
}

enum status
governor_retire(struct bus *b, struct opctx *op, const char *swarm_id, struct err *e)
{
	enum status st = registered(b, op, swarm_id, NULL, e);

	if (st == ST_OK)
		check(op, "swarm is not retired yet", ST_OK, NULL, swarm_id);
	return st == ST_OK ? state_update(b, op, swarm_id, do_retire, NULL, e) : st;
}

/* Witness a refused claim. */
static void
refuse_witness(const struct opctx *op, const char *id, const char *rule, const char *detail)
{
	struct witness_note n = { .component = "governor", .event = "governor.refuse",
				  .actor = op->actor, .swarm = id };
	struct buf p = BUF_INIT;

	buf_addc(&p, '{');
	json_kv_str(&p, "detail", detail);
	json_kv_str(&p, "rule", rule);
	buf_addc(&p, '}');
	n.payload = p.s;
	ledger_witness(op, &n);
	buf_release(&p);
}

/*
 * A claim by a swarm that has spent budget_warning_threshold of its
 * allocation: said in --why (the claim goes on). The event is the budget's
 * threshold crossing (budget.h), raised once when the spending crossed it.
 */
static void
budget_warning(struct opctx *op, const struct gov_budget *g, const struct gov_rules *r)
{
	double used = g->allocated > 0 ? (double)g->spent / (double)g->allocated : 1;

	if (used < r->budget_warning_threshold)
		return;
	why_add(op, "budget warning", "", "%.0f%% of the allocation spent "
		"(budget_warning_threshold %g)", used * 100.0, r->budget_warning_threshold);
}

/*
 * Policy slo_block_paging at a claim: one KV get of the swarm's SLO
 * standing (slo.h), never a sync of the stream. ST_REFUSED (why in d) when
 * it pages or is malformed; a check() of op either way.
 */
static enum status
slo_gate(struct bus *b, struct opctx *op, const char *id, struct buf *d, struct err *e)
{
	struct slo_standing s;
	struct err se = ERR_INIT;
	bool found = false;
	enum status st = slo_standing_get(b, id, &s, &found, &se);
	char since[32];

	if (st == ST_INVALID_RECORD)
		buf_addf(d, "swarm '%s': its SLO standing is invalid (%s); 'ifctl slo status %s' "
			 "rewrites it", id, se.msg, id);
	else if (st == ST_OK && found && s.alert == SLO_ALERT_PAGE) {
		fmt_time_ms(since, s.since);
		buf_addf(d, "swarm '%s' is in a paging SLO burn (verdict %s, standing since %s): "
			 "policy slo_block_paging refuses new claims until 'ifctl slo status %s' "
			 "finds the burn over", id, slo_verdict_name(s.verdict), since, id);
	} else if (st != ST_OK) {
		if (e)
			*e = se;
		return st;
	}
	if (d->len)
		st = ST_REFUSED;
	check(op, "SLO standing does not page", st, NULL, d->len ? d->s : found ?
	      slo_alert_name(s.alert) : "no SLO standing");
	return st;
}

enum status
governor_may_claim(struct bus *b, struct opctx *op, const char *swarm_id,
		   const struct swarm_state *known, struct err *e)
{
	struct swarm_state s = { 0 };
	struct gov_budget g;
	struct gov_rules r;
	struct buf d = BUF_INIT;
	int64_t left = 0;
	bool has = false, slo_refused = false;
	enum status st = ST_OK;

	if (known) {
		s = *known;
		s.reason = xstrdup_or_null(known->reason);
	}
	if (!known && (st = swarm_state_get(b, swarm_id, &s, e)) == ST_INVALID_RECORD) {
		s.invalid = true;
		s.reason = xstrdup(e ? e->msg : "invalid state record");
		st = ST_OK;
	}
	if (st != ST_OK || (st = budget_read(b, swarm_id, &g, &has, e)) != ST_OK) {
		swarm_state_release(&s);
		return st;
	}
	left = g.allocated - g.reserved - g.spent;
	breaker_rules(swarm_id, &r);
	if (s.invalid) {
		buf_addf(&d, "swarm '%s': its governor state record is invalid (%s); 'ifctl "
			 "governor reset %s' rewrites it", swarm_id, s.reason, swarm_id);
		st = ST_REFUSED;
		check(op, "governor state is valid", st, NULL, d.s);
	} else if (s.retired) {
		buf_addf(&d, "swarm '%s' is retired and may not claim", swarm_id);
		st = ST_REFUSED;
		check(op, "swarm is not retired", st, NULL, d.s);
	} else if (s.breaker == BREAKER_OPEN && probe_due(&s, &r, wall_ms())) {
		check(op, "circuit breaker is closed", ST_OK, NULL, "half-open: one probe");
		st = state_update(b, op, swarm_id, do_half_open, NULL, e);
	} else if (s.breaker == BREAKER_OPEN) {
		buf_addf(&d, "swarm '%s': circuit breaker open (%s); 'ifctl governor reset %s "
			 "--budget USD' closes it", swarm_id, s.reason ? s.reason : "no reason",
			 swarm_id);
		st = ST_REFUSED;
		check(op, "circuit breaker is closed", st, NULL, d.s);
	} else if (has && left <= 0) {
		buf_addf(&d, "swarm '%s': budget exhausted; the circuit breaker opens", swarm_id);
		st = ST_REFUSED;
		check(op, "budget is not exhausted", st, NULL, d.s);
		if (!op->falsify)
			governor_breaker_trip(b, op, swarm_id, "budget exhausted", NULL);
	} else if (r.slo_block_paging && (st = slo_gate(b, op, swarm_id, &d, e)) != ST_OK) {
		slo_refused = st == ST_REFUSED;
	} else {
		check(op, "swarm may claim", ST_OK, NULL, breaker_name(s.breaker));
		if (has)
			budget_warning(op, &g, &r);
	}
	if (st == ST_REFUSED) {
		refuse_witness(op, swarm_id, s.invalid ? "state-invalid" : s.retired ? "retired" :
			       has && left <= 0 ? "budget-exhausted" : slo_refused ? "slo-paging" :
			       "breaker-open", d.s);
		err_set(e, ST_REFUSED, "%s", d.s);
	}
	swarm_state_release(&s);
	buf_release(&d);
	return st;
}
