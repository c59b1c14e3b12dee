/* The optimiser: see optimise.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/governor.h"
#include "core/json.h"
#include "core/optimise.h"
#include "core/task.h"
#include "core/util.h"

void
swarm_candidates_free(struct swarm_candidate *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].id);
		strv_free(v[i].caps, v[i].ncaps);
	}
	free(v);
}

/* The cost per hour of a profile in micro-USD; -1 when absent or unreadable. */
static int64_t
read_cph(const struct json_value *o)
{
	const struct json_value *v = json_member(o, "cost_per_hour_micros");
	struct buf b = BUF_INIT;
	int64_t micros = -1;

	if (v && v->type == JSON_NUMBER && v->integer && v->num >= 0 && v->num <= MONEY_MAX)
		return (int64_t)v->num;
	if ((v = json_member(o, "cost_per_hour")) == NULL)
		return -1;
	if (v->type == JSON_STRING && money_parse(v->str, "cost_per_hour", &micros, NULL) == ST_OK)
		return micros;
	if (v->type == JSON_NUMBER && v->num >= 0 && v->num <= 1e9) {
		/* A double of USD: its shortest text read exactly, so 0.1 is 100000 micros. */
		json_add_number(&b, v->num);
		if (money_parse(b.s, "cost_per_hour", &micros, NULL) != ST_OK)
			micros = (int64_t)llround(v->num * 1e6);
	}
	buf_release(&b);
	return micros;
}

/* One profile object into c; false when it is not a usable profile. */
static bool
read_candidate(const struct json_value *o, struct swarm_candidate *c)
{
	const struct json_value *id = json_member(o, "id"), *caps = json_member(o, "capabilities");
	const struct json_value *rep = json_member(o, "reputation");
	size_t i;

	memset(c, 0, sizeof *c);
	if (o->type != JSON_OBJECT || id == NULL || id->type != JSON_STRING ||
	    !task_id_valid(id->str) || (caps && caps->type != JSON_ARRAY))
		return false;
	for (i = 0; caps && i < caps->len; i++)
		if (caps->kids[i].type != JSON_STRING || strlen(caps->kids[i].str) > 128)
			return false;
	c->reputation = 0;
	if (rep && rep->type == JSON_NUMBER && rep->num >= 0 && rep->num <= 100)
		c->reputation = rep->num > 1 ? rep->num / 100.0 : rep->num;
	c->cost_per_hour_micros = read_cph(o);
	c->id = xstrdup(id->str);
	c->ncaps = caps ? caps->len : 0;
	c->caps = xcalloc(c->ncaps + 1, sizeof *c->caps);
	for (i = 0; i < c->ncaps; i++)
		c->caps[i] = xstrdup(caps->kids[i].str);
	qsort(c->caps, c->ncaps, sizeof *c->caps, strv_cmp);
	return true;
}

/* Add the profile o to the array when it reads; else count it bad. */
static void
add_candidate(const struct json_value *o, struct swarm_candidate **out, size_t *n, size_t *cap,
	      size_t *bad)
{
	struct swarm_candidate c;

	if (!read_candidate(o, &c)) {
		(*bad)++;
		return;
	}
	xgrow(out, cap, *n + 1, sizeof **out);
	(*out)[(*n)++] = c;
}

enum status
swarm_candidates_parse(const char *json, size_t len, struct swarm_candidate **out, size_t *n,
		       size_t *bad, struct err *e)
{
	struct json_doc doc = JSON_DOC_INIT;
	size_t cap = 0, i;
	enum status st;

	*out = NULL;
	*n = *bad = 0;
	if ((st = json_parse(json, len, "swarm profiles", &doc, e)) != ST_OK)
		return st;
	if (doc.root->type != JSON_ARRAY)
		st = err_set(e, ST_BAD_JSON, "swarm profiles: not an array of profiles");
	for (i = 0; st == ST_OK && i < doc.root->len; i++)
		add_candidate(&doc.root->kids[i], out, n, &cap, bad);
	json_doc_release(&doc);
	return st;
}

/* The governor rule that keeps swarm i of f from new work, or NULL. */
static const char *
fleet_excluded(const struct gov_fleet *f, size_t i)
{
	const struct swarm *s = &f->swarms.v[i];
	const struct gov_budget *g = &f->budgets[i];

	if (s->st.retired)
		return gov_rule_name(GR_RETIRED);
	if (s->st.invalid || s->st.breaker != BREAKER_CLOSED)
		return gov_rule_name(GR_BREAKER_OPEN);
	if (f->has_budget[i] && g->allocated - g->reserved - g->spent <= 0)
		return gov_rule_name(GR_BUDGET_EXHAUSTED);
	return NULL;
}

void
swarm_candidates_from_fleet(const struct gov_fleet *f, struct swarm_candidate **out, size_t *n)
{
	size_t i;

	*out = xcalloc(f->swarms.n + 1, sizeof **out);
	for (i = 0; i < f->swarms.n; i++) {
		const struct swarm_profile *p = &f->swarms.v[i].p;
		struct swarm_candidate *c = &(*out)[i];
		c->id = xstrdup(p->id);
		c->caps = xcalloc(p->ncaps + 1, sizeof *c->caps);	/* sorted, as in the profile */
		for (c->ncaps = 0; c->ncaps < p->ncaps; c->ncaps++)
			c->caps[c->ncaps] = xstrdup(p->caps[c->ncaps]);
		c->cost_per_hour_micros = p->cost_per_hour_micros;
		c->reputation = p->reputation;
		c->excluded = fleet_excluded(f, i);
	}
	*n = f->swarms.n;
}

static const struct view_col suggest_cols[] = {
	[SG_KIND] = { "kind", COL_TEXT, 0 },
	[SG_CURRENT] = { "current", COL_TEXT, 0 },
	[SG_SUGGESTED] = { "suggested", COL_TEXT, 0 },
	[SG_RECORDS] = { "records", COL_NUM, 0 },
	[SG_COST] = { "cost_usd", COL_NUM, 0 },
	[SG_COST_THERE] = { "suggested_cost_usd", COL_NUM, 0 },
	[SG_SAVING] = { "saving_usd", COL_NUM, 0 },
	[SG_SAVING_PCT] = { "saving_pct", COL_NUM, 0 },
	[SG_REASON] = { "reason", COL_TEXT, COL_WIDE },
	[SG_SAVING_MICROS] = { "saving_micros", COL_NUM, COL_DATA },
};
_Static_assert(ARRAY_SIZE(suggest_cols) == SG__COUNT, "one column per suggest_col");
static const struct view suggest_view = VIEW("suggestions", suggest_cols);

struct rowset *
optimise_view(void)
{
	return rows_view(&suggest_view);
}

/* One suggestion row. */
static void
suggest_row(struct rowset *out, const char *kind, const char *current, const char *suggested,
	    int64_t records, int64_t cost, int64_t there, const char *reason)
{
	size_t r = rows_add(out);

	rows_set(out, r, SG_KIND, kind);
	rows_set(out, r, SG_CURRENT, current);
	rows_set(out, r, SG_SUGGESTED, suggested);
	rows_set_int(out, r, SG_RECORDS, records);
	money_cell(out, r, SG_COST, cost);
	money_cell(out, r, SG_COST_THERE, there);
	money_cell(out, r, SG_SAVING, cost - there);
	rows_setf(out, r, SG_SAVING_PCT, "%.1f", cost ? (double)(cost - there) * 100.0 /
		  (double)cost : 0.0);
	rows_set(out, r, SG_REASON, reason);
	rows_set_int(out, r, SG_SAVING_MICROS, cost - there);
}

void
optimise_models(const struct price_table *t, const struct cost_sum *s, size_t n,
		struct opctx *op, struct rowset *out)
{
	size_t i, k;

	for (i = 0; i < n; i++) {
		struct price_usage pu = { s[i].tokens_in, s[i].tokens_out, s[i].tokens_cached,
					  s[i].duration_ms };
		const char *slash = strchr(s[i].key, '/');
		const struct price *used = NULL, *best = NULL;
		int64_t best_cost = s[i].cost_micros, c;
		char *prov;

		if (slash == NULL)
			continue;
		prov = xstrndup(s[i].key, (size_t)(slash - s[i].key));
		used = price_find(t, prov, slash + 1);
		free(prov);
		if (used == NULL) {
			why_add(op, s[i].key, "not in the price table", "priced by its records' "
				"own prices: no model of a known tier to compare");
			continue;
		}
		for (k = 0; k < t->n; k++) {
			const struct price *q = &t->v[k];
			if (q == used || strcmp(q->tier, used->tier) != 0 || !price_covers(q, used) ||
			    price_cost(q, &pu, &c, NULL) != ST_OK || c >= best_cost)
				continue;
			best = q;
			best_cost = c;
		}
		if (best == NULL) {
			why_add(op, s[i].key, "no cheaper model", "no model of tier '%s' with its "
				"capabilities costs less for the same tokens", used->tier);
			continue;
		}
		{
			char *reason = xasprintf("same tier '%s', has every capability of %s; the "
						 "same %lld records priced at its prices",
						 used->tier, s[i].key, (long long)s[i].records);
			suggest_row(out, "model", s[i].key, best->id, s[i].records, s[i].cost_micros,
				    best_cost, reason);
			why_add(op, s[i].key, best->id, "%s", reason);
			free(reason);
		}
	}
}

/* The cheapest qualified stand-in for c among v[0..n), or NULL. */
static const struct swarm_candidate *
best_swarm(const struct swarm_candidate *v, size_t n, const struct swarm_candidate *c,
	   double floor, struct opctx *op)
{
	const struct swarm_candidate *best = NULL;
	size_t i;

	for (i = 0; i < n; i++) {
		const struct swarm_candidate *q = &v[i];
		if (q == c || q->cost_per_hour_micros < 0 ||
		    q->cost_per_hour_micros >= c->cost_per_hour_micros ||
		    q->reputation < c->reputation || q->reputation < floor ||
		    !caps_cover(q->caps, q->ncaps, c->caps, c->ncaps))
			continue;
		if (q->excluded) {	/* qualified and cheaper, but the governor says no */
			why_add(op, c->id, q->id, "cheaper (%lld micro-USD per hour) with every "
				"capability, but left out: %s", (long long)q->cost_per_hour_micros,
				q->excluded);
			continue;
		}
		if (best == NULL || q->cost_per_hour_micros < best->cost_per_hour_micros ||
		    (q->cost_per_hour_micros == best->cost_per_hour_micros &&
		     q->reputation > best->reputation))
			best = q;
	}
	return best;
}

void
optimise_swarms(const struct swarm_candidate *v, size_t nv, const struct cost_sum *s, size_t n,
		double floor, struct opctx *op, struct rowset *out)
{
	size_t i, k;

	for (i = 0; i < n; i++) {
		const struct swarm_candidate *c = NULL, *best;
		int64_t work = s[i].duration_ms ? s[i].duration_ms : s[i].latency_ms, now, there;
		char *reason;

		for (k = 0; k < nv && c == NULL; k++)
			if (strcmp(v[k].id, s[i].key) == 0)
				c = &v[k];
		if (c == NULL || c->cost_per_hour_micros < 0) {
			why_add(op, s[i].key, "no profile", "no swarm profile with a cost per hour");
			continue;
		}
		if ((best = best_swarm(v, nv, c, floor, op)) == NULL) {
			why_add(op, s[i].key, "no cheaper swarm", "none with its capabilities, "
				"reputation >= %.2f and a lower cost per hour", c->reputation);
			continue;
		}
		if (!money_mul(work, c->cost_per_hour_micros, 3600000, &now) ||
		    !money_mul(work, best->cost_per_hour_micros, 3600000, &there))
			continue;
		reason = xasprintf("has every capability of %s, reputation %.2f >= %.2f; %lld ms "
				   "of work at its hourly cost", s[i].key, best->reputation,
				   c->reputation, (long long)work);
		suggest_row(out, "swarm", s[i].key, best->id, s[i].records, now, there, reason);
		why_add(op, s[i].key, best->id, "%s", reason);
		free(reason);
	}
}
