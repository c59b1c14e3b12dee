/*
 * The console's model of swarms, budgets and SLO (see model.h): KV watches
 * of IF_SWARMS (records and state.<id>), IF_BUDGETS, IF_SLO_OBJECTIVES and
 * IF_SLO_EPISODES, a watch of the SLO events, and a worker thread that
 * evaluates the SLO figures (slo_status over the local rollups) and the
 * budgets' burn rates (the cost index) off the console's loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/costdb.h"
#include "core/schema.h"
#include "core/slodb.h"
#include "core/util.h"
#include "tui/model.h"

#define NS_PER_MS 1000000
#define HOUR_MS 3600000LL
#define SLO_EVENTS_STREAM "IF_EVENTS"

/* --- keyed sets ------------------------------------------------------------- */

/* Where key is or would go in ks. */
static size_t
kset_pos(const struct kset *ks, const char *key, bool *found)
{
	size_t lo = 0, hi = ks->n, mid;
	int c;

	*found = false;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(ks->v[mid].key, key);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void *
kset_get(const struct kset *ks, const char *key)
{
	bool found;
	size_t i = kset_pos(ks, key, &found);

	return found ? ks->v[i].val : NULL;
}

/* Put val at key (it must not be there). */
static void
kset_add(struct kset *ks, const char *key, void *val)
{
	bool found;
	size_t i = kset_pos(ks, key, &found);

	xgrow(&ks->v, &ks->cap, ks->n + 1, sizeof *ks->v);
	memmove(&ks->v[i + 1], &ks->v[i], (ks->n - i) * sizeof *ks->v);
	ks->v[i].key = xstrdup(key);
	ks->v[i].val = val;
	ks->n++;
}

/* Take key away, freeing its value with fn. */
static void
kset_del(struct kset *ks, const char *key, void (*fn)(void *))
{
	bool found;
	size_t i = kset_pos(ks, key, &found);

	if (!found)
		return;
	fn(ks->v[i].val);
	free(ks->v[i].key);
	memmove(&ks->v[i], &ks->v[i + 1], (ks->n - i - 1) * sizeof *ks->v);
	ks->n--;
}

static void
kset_release(struct kset *ks, void (*fn)(void *))
{
	size_t i;

	for (i = 0; i < ks->n; i++) {
		fn(ks->v[i].val);
		free(ks->v[i].key);
	}
	free(ks->v);
	memset(ks, 0, sizeof *ks);
}

static void
srow_free(void *p)
{
	struct srow *r = p;

	swarm_release(&r->sw);
	free(r->bad);
	free(r->id);
	free(r);
}

static void
brow_free(void *p)
{
	struct brow *r = p;

	budget_release(&r->b);
	free(r->key);
	free(r->bad);
	free(r);
}

static void
objective_free(void *p)
{
	slo_objective_release(p);
	free(p);
}

static void
violation_free(void *p)
{
	slo_violation_release(p);
	free(p);
}

static void
figs_release(struct slo_figs *g)
{
	size_t i;

	for (i = 0; g->res && i < g->objs.n; i++)
		slo_result_release(&g->res[i]);
	free(g->res);
	slo_objectives_release(&g->objs);
	memset(g, 0, sizeof *g);
}

void
domains_init(struct fleet *f)
{
	pthread_cond_init(&f->worker_cv, NULL);
}

void
domains_release(struct fleet *f)
{
	kset_release(&f->swarms, srow_free);
	kset_release(&f->held, free);
	kset_release(&f->budgets, brow_free);
	kset_release(&f->objectives, objective_free);
	kset_release(&f->episodes, violation_free);
	figs_release(&f->figs);
	free(f->slo);
	f->slo = NULL;
	f->nslo = 0;
	pthread_cond_destroy(&f->worker_cv);
}

void
domains_held(struct fleet *f, const char *owner, int sign)
{
	int64_t *n = kset_get(&f->held, owner);

	if (n == NULL) {
		n = xcalloc(1, sizeof *n);
		kset_add(&f->held, owner, n);
	}
	*n += sign;
}

size_t
fleet_breakers_open(const struct fleet *f)
{
	size_t i, n = 0;

	for (i = 0; i < f->swarms.n; i++) {
		const struct srow *r = f->swarms.v[i].val;
		n += r->have_rec && r->sw.st.breaker != BREAKER_CLOSED;
	}
	return n;
}

/* A change of pane bits d: mark it, wake the loop. */
static void
changed(struct fleet *f, unsigned d)
{
	fleet_wake_fn fn = f->wake;
	void *arg = f->wake_arg;

	f->dirty |= d | FLEET_D_HEADER;
	f->dgen++;	/* not gen: the tasks pane need not sort again for these */
	f->last_data_ms = wall_ms();
	pthread_mutex_unlock(&f->mu);
	if (fn)
		fn(arg);
}

/* --- the SLO pane's items ----------------------------------------------------- */

/* One item per defined objective of the figures, with its current episode. */
static void
slo_items(struct fleet *f)
{
	struct slo_figs *g = &f->figs;
	const struct slo_violation *v;
	char key[SWARM_ID_MAX + 32];
	size_t i, n = 0;
	int k;

	free(f->slo);
	f->slo = xcalloc(g->objs.n * SLO__KINDS + 1, sizeof *f->slo);
	for (i = 0; g->res && i < g->objs.n; i++)
		for (k = 0; k < SLO__KINDS; k++) {
			struct slo_item *it = &f->slo[n];
			if (!g->res[i].o[k].defined)
				continue;
			it->r = &g->res[i];
			it->o = &g->objs.v[i];
			it->kind = (enum slo_kind)k;
			snprintf(key, sizeof key, "cur.%s.%s", slo_kind_name(k), g->res[i].swarm);
			if ((v = kset_get(&f->episodes, key)) != NULL) {
				it->episode = v->episode;
				it->open = v->open;
				it->opened = v->opened;
			}
			n++;
		}
	f->nslo = n;
}

/* --- feeds ---------------------------------------------------------------------- */

/* The swarm row of id, made when missing. */
static struct srow *
srow_of(struct fleet *f, const char *id)
{
	struct srow *r = kset_get(&f->swarms, id);

	if (r == NULL) {
		r = xcalloc(1, sizeof *r);
		r->id = xstrdup(id);
		kset_add(&f->swarms, id, r);
	}
	return r;
}

/* A swarm's state record (or its deletion). */
static void
swarm_state_event(struct fleet *f, const char *id, const struct bus_kv_event *ev)
{
	struct swarm_state st;
	struct err e = ERR_INIT;
	struct srow *r;

	memset(&st, 0, sizeof st);
	if (ev->op == BUS_KV_PUT && swarm_state_parse(id, ev->value, ev->len, &st, &e) != ST_OK) {
		st.present = st.invalid = true;
		st.reason = xstrdup(e.msg);
	}
	pthread_mutex_lock(&f->mu);
	r = srow_of(f, id);
	swarm_state_release(&r->sw.st);
	r->sw.st = st;
	r->sw.st.rev = ev->revision;
	if (!r->have_rec && !r->bad && !st.present)
		kset_del(&f->swarms, id, srow_free);
	changed(f, FLEET_D_SWARMS);
}

/* A swarm's record (or its deletion); its state stays. */
static void
swarm_record_event(struct fleet *f, const char *id, const struct bus_kv_event *ev)
{
	struct swarm sw;
	struct swarm_state keep;
	struct err e = ERR_INIT;
	bool ok = ev->op == BUS_KV_PUT &&
		  swarm_record_parse(id, ev->value, ev->len, &sw, &e) == ST_OK;
	struct srow *r;

	pthread_mutex_lock(&f->mu);
	r = srow_of(f, id);
	keep = r->sw.st;
	memset(&r->sw.st, 0, sizeof r->sw.st);
	swarm_release(&r->sw);
	free(r->bad);
	r->bad = NULL;
	if (ok) {
		r->sw = sw;
		r->sw.rev = ev->revision;
	} else if (ev->op == BUS_KV_PUT) {
		r->bad = xstrdup(e.msg);
	}
	swarm_state_release(&r->sw.st);
	r->sw.st = keep;
	r->have_rec = ok;
	if (!ok && !r->bad && !keep.present)
		kset_del(&f->swarms, id, srow_free);
	changed(f, FLEET_D_SWARMS);
}

void
fleet_swarm_event(struct fleet *f, const struct bus_kv_event *ev)
{
	if (ev->snapshot_done) {
		pthread_mutex_lock(&f->mu);
		f->swarms_synced = true;
		changed(f, FLEET_D_SWARMS);
		return;
	}
	if (has_prefix(ev->key, SWARM_STATE_PREFIX))
		swarm_state_event(f, ev->key + strlen(SWARM_STATE_PREFIX), ev);
	else
		swarm_record_event(f, ev->key, ev);
}

void
fleet_budget_event(struct fleet *f, const struct bus_kv_event *ev)
{
	struct brow *r = NULL, *old;
	struct err e = ERR_INIT;

	if (!ev->snapshot_done && ev->op == BUS_KV_PUT) {
		r = xcalloc(1, sizeof *r);
		r->key = xstrdup(ev->key);
		r->burn = -1;
		if (budget_parse(ev->key, ev->value, ev->len, &r->b, &e) != ST_OK)
			r->bad = xstrdup(e.msg);
		r->b.rev = ev->revision;
	}
	pthread_mutex_lock(&f->mu);
	if (ev->snapshot_done) {
		f->budgets_synced = true;
	} else {
		if ((old = kset_get(&f->budgets, ev->key)) != NULL && r)
			r->burn = old->burn;
		kset_del(&f->budgets, ev->key, brow_free);
		if (r)
			kset_add(&f->budgets, ev->key, r);
	}
	changed(f, FLEET_D_BUDGETS);
}

void
fleet_objective_event(struct fleet *f, const struct bus_kv_event *ev)
{
	struct slo_objective *o = NULL;

	if (!ev->snapshot_done && ev->op == BUS_KV_PUT) {
		o = xcalloc(1, sizeof *o);
		if (slo_objective_parse(ev->key, ev->value, ev->len, o, NULL) != ST_OK) {
			free(o);	/* not an objective: the evaluator skips it too */
			o = NULL;
		}
	}
	pthread_mutex_lock(&f->mu);
	if (ev->snapshot_done)
		f->slo_synced = true;
	else
		kset_del(&f->objectives, ev->key, objective_free);
	if (o)
		kset_add(&f->objectives, ev->key, o);
	f->worker_kick = true;
	pthread_cond_signal(&f->worker_cv);
	changed(f, FLEET_D_SLO);
}

void
fleet_episode_event(struct fleet *f, const struct bus_kv_event *ev)
{
	struct slo_violation *v = NULL;

	if (ev->snapshot_done || !has_prefix(ev->key, "cur."))
		return;
	if (ev->op == BUS_KV_PUT) {
		v = xcalloc(1, sizeof *v);
		if (slo_violation_parse(ev->value, ev->len, v, NULL) != ST_OK) {
			free(v);
			v = NULL;
		}
	}
	pthread_mutex_lock(&f->mu);
	kset_del(&f->episodes, ev->key, violation_free);
	if (v)
		kset_add(&f->episodes, ev->key, v);
	slo_items(f);
	changed(f, FLEET_D_SLO);
}

static void
on_swarm(void *arg, const struct bus_kv_event *ev)
{
	fleet_swarm_event(arg, ev);
}

static void
on_budget(void *arg, const struct bus_kv_event *ev)
{
	fleet_budget_event(arg, ev);
}

static void
on_objective(void *arg, const struct bus_kv_event *ev)
{
	fleet_objective_event(arg, ev);
}

static void
on_episode(void *arg, const struct bus_kv_event *ev)
{
	fleet_episode_event(arg, ev);
}

/* An SLO event (an episode opened or closed, a verdict): evaluate again soon. */
static void
on_slo_event(void *arg, const struct bus_kv_event *ev)
{
	struct fleet *f = arg;

	if (ev->snapshot_done)
		return;
	pthread_mutex_lock(&f->mu);
	f->slo_events++;
	f->worker_kick = true;
	pthread_cond_signal(&f->worker_cv);
	pthread_mutex_unlock(&f->mu);
}

/* --- figures ---------------------------------------------------------------------- */

/* The burn of key in sums (0: nothing spent in the hour). */
static int64_t
burn_of(const struct cost_sum *s, size_t n, const char *key)
{
	size_t i;

	for (i = 0; key && i < n; i++)
		if (strcmp(s[i].key, key) == 0)
			return s[i].cost_micros;
	return 0;
}

/* The objectives of f, copied (their records again), under f->mu. */
static void
objectives_copy(struct fleet *f, struct slo_objectives *l)
{
	struct buf json = BUF_INIT;
	size_t i;

	memset(l, 0, sizeof *l);
	for (i = 0; i < f->objectives.n; i++) {
		xgrow(&l->v, &l->cap, l->n + 1, sizeof *l->v);
		buf_reset(&json);
		slo_objective_to_json(f->objectives.v[i].val, &json);
		if (slo_objective_parse(f->objectives.v[i].key, json.s, json.len, &l->v[l->n],
					NULL) == ST_OK)
			l->n++;
	}
	buf_release(&json);
}

/* The SLO results of l at now over the rollups; NULL with why in e. */
static struct slo_result *
evaluate(const struct config *c, struct bus *b, const struct slo_objectives *l, int64_t now,
	 bool sync, struct err *e)
{
	struct slo_result *r = xcalloc(l->n + 1, sizeof *r);
	struct slodb *d = NULL;
	uint64_t added = 0, rejected = 0;
	enum status st = slodb_open(c, NULL, &d, e);

	if (st == ST_OK && sync)
		st = slo_sync(b, c, d, &added, &rejected, e);
	if (st == ST_OK && l->n)
		st = slo_status(d, c, l, now, NULL, r, e);
	slodb_close(d);
	if (st != ST_OK) {
		free(r);
		return NULL;
	}
	return r;
}

/* Spend per swarm and per task over the hour before now, from the cost index. */
static void
burn_sums(const struct config *c, struct bus *b, int64_t now, bool sync, struct cost_sum **sw,
	  size_t *nsw, struct cost_sum **tk, size_t *ntk)
{
	struct cost_period hour = { now - HOUR_MS, now + 1 };
	struct costdb *db = NULL;
	uint64_t added, skipped;

	if (costdb_open(c, &db, NULL) != ST_OK)
		return;
	if (sync)
		costdb_sync(b, db, &added, &skipped, NULL);
	costdb_sums(db, &hour, DIM_SWARM, sw, nsw, NULL);
	costdb_sums(db, &hour, DIM_TASK, tk, ntk, NULL);
	costdb_close(db);
}

void
fleet_figures(struct fleet *f, struct bus *b, int64_t now_ms, bool sync)
{
	struct slo_figs g = { .at_ms = now_ms };
	struct cost_sum *sw = NULL, *tk = NULL;
	size_t nsw = 0, ntk = 0, i;
	struct err e = ERR_INIT;

	if (f->cfg == NULL)
		return;
	pthread_mutex_lock(&f->mu);
	objectives_copy(f, &g.objs);
	pthread_mutex_unlock(&f->mu);
	if ((g.res = evaluate(f->cfg, b, &g.objs, now_ms, sync, &e)) == NULL)
		snprintf(g.err, sizeof g.err, "%s", e.msg);
	burn_sums(f->cfg, b, now_ms, sync, &sw, &nsw, &tk, &ntk);
	pthread_mutex_lock(&f->mu);
	figs_release(&f->figs);
	f->figs = g;
	if (!g.res)	/* the objectives stay, unevaluated */
		f->figs.objs.n = 0;
	slo_items(f);
	for (i = 0; i < f->budgets.n; i++) {
		struct brow *r = f->budgets.v[i].val;
		if (!r->bad)
			r->burn = r->b.kind == BUDGET_SWARM ? burn_of(sw, nsw, r->b.id)
							    : burn_of(tk, ntk, r->b.id);
	}
	cost_sums_free(sw, nsw);
	cost_sums_free(tk, ntk);
	changed(f, FLEET_D_SLO | FLEET_D_BUDGETS);
}

/* The figures worker: every FIGS_EVERY_MS, sooner when kicked, never more than once in FIGS_MIN_MS. */
static void *
worker_main(void *arg)
{
	struct fleet *f = arg;
	struct timespec until;

	pthread_mutex_lock(&f->mu);
	while (!f->worker_quit) {
		f->worker_kick = false;
		pthread_mutex_unlock(&f->mu);
		fleet_figures(f, f->bus, wall_ms(), !f->no_sync);
		pthread_mutex_lock(&f->mu);
		until = deadline_ts(FIGS_MIN_MS);
		while (!f->worker_quit && pthread_cond_timedwait(&f->worker_cv, &f->mu, &until) == 0)
			;
		until = deadline_ts(FIGS_EVERY_MS - FIGS_MIN_MS);
		while (!f->worker_quit && !f->worker_kick &&
		       pthread_cond_timedwait(&f->worker_cv, &f->mu, &until) == 0)
			;
	}
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

enum status
domains_start(struct fleet *f, struct bus *b, struct err *e)
{
	static const struct {
		const char *bucket;
		bus_watch_fn fn;
		size_t off;
	} watches[] = {
		{ SWARM_BUCKET, on_swarm, offsetof(struct fleet, swarms_w) },
		{ BUDGET_BUCKET, on_budget, offsetof(struct fleet, budgets_w) },
		{ SLO_BUCKET, on_objective, offsetof(struct fleet, objectives_w) },
		{ SLO_EPISODE_BUCKET, on_episode, offsetof(struct fleet, episodes_w) },
	};
	struct bus_watch *w;
	struct err we = ERR_INIT;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(watches); i++) {
		w = NULL;
		if (bus_kv_watch(b, watches[i].bucket, 0, watches[i].fn, f, &w, &we) != ST_OK &&
		    we.code != ST_NO_SCHEMA && e->code == ST_OK)
			*e = we;	/* a missing bucket is an empty pane, not a failure */
		pthread_mutex_lock(&f->mu);
		*(struct bus_watch **)(void *)((char *)f + watches[i].off) = w;
		pthread_mutex_unlock(&f->mu);
	}
	w = NULL;
	bus_stream_watch(b, SLO_EVENTS_STREAM, SLO_EVENT_PREFIX ">", 0, on_slo_event, f, &w, &we);
	pthread_mutex_lock(&f->mu);
	f->sloevt_w = w;
	f->bus = b;
	f->worker_quit = false;
	if (f->cfg && !f->worker_made && pthread_create(&f->worker, NULL, worker_main, f) == 0)
		f->worker_made = true;
	pthread_mutex_unlock(&f->mu);
	return e->code;
}

void
domains_stop(struct fleet *f)
{
	pthread_mutex_lock(&f->mu);
	f->worker_quit = true;
	pthread_cond_signal(&f->worker_cv);
	pthread_mutex_unlock(&f->mu);
	if (f->worker_made)
		pthread_join(f->worker, NULL);
	f->worker_made = false;
	bus_watch_free(f->swarms_w);
	bus_watch_free(f->budgets_w);
	bus_watch_free(f->objectives_w);
	bus_watch_free(f->episodes_w);
	bus_watch_free(f->sloevt_w);
	f->swarms_w = f->budgets_w = f->objectives_w = f->episodes_w = f->sloevt_w = NULL;
}

void
fleet_figures_kick(struct fleet *f)
{
	pthread_mutex_lock(&f->mu);
	f->worker_kick = true;
	pthread_cond_signal(&f->worker_cv);
	pthread_mutex_unlock(&f->mu);
}

/* --- time travel ----------------------------------------------------------------- */

/* A rewind's read of one bucket: the revisions stored by at_ms, in order. */
struct kreplay {
	struct fleet *out;
	struct fleet *later;	/* swarms: the first record of each after at_ms */
	void (*apply)(struct fleet *f, const struct bus_kv_event *ev);
	int64_t at_ms;
	uint64_t last, seen;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

static void
on_kreplay(void *arg, const struct bus_kv_event *ev)
{
	struct kreplay *rp = arg;

	if (ev->snapshot_done)
		return;
	if (ev->time_ns / NS_PER_MS <= rp->at_ms)
		rp->apply(rp->out, ev);
	else if (rp->later && ev->op == BUS_KV_PUT && !has_prefix(ev->key, SWARM_STATE_PREFIX) &&
		 !kset_get(&rp->later->swarms, ev->key))
		rp->apply(rp->later, ev);
	pthread_mutex_lock(&rp->mu);
	rp->seen = ev->revision;
	pthread_cond_broadcast(&rp->cv);
	pthread_mutex_unlock(&rp->mu);
}

/*
 * Replay bucket's stored revisions up to at_ms into out (best effort: what
 * is kept); with later, the first record after at_ms of each swarm too.
 */
static void
replay_bucket(struct fleet *out, struct fleet *later, struct bus *b, const char *bucket,
	      void (*apply)(struct fleet *, const struct bus_kv_event *), int64_t at_ms)
{
	struct kreplay rp = { .out = out, .later = later, .apply = apply, .at_ms = at_ms };
	struct bus_stream_stat ss;
	struct bus_watch *w = NULL;
	struct timespec until;
	struct err e = ERR_INIT;
	char stream[64];
	int rc = 0;

	snprintf(stream, sizeof stream, "KV_%s", bucket);
	if (bus_stream_stat(b, stream, &ss, &e) != ST_OK || ss.msgs == 0)
		return;
	rp.last = ss.last_seq;
	pthread_mutex_init(&rp.mu, NULL);
	pthread_cond_init(&rp.cv, NULL);
	if (bus_kv_watch(b, bucket, ss.first_seq ? ss.first_seq : 1, on_kreplay, &rp, &w,
			 &e) == ST_OK) {
		until = deadline_ts(bus_timeout_ms(b) + 5000);
		pthread_mutex_lock(&rp.mu);
		while (rp.seen < rp.last && rc == 0)
			rc = pthread_cond_timedwait(&rp.cv, &rp.mu, &until);
		pthread_mutex_unlock(&rp.mu);
		bus_watch_free(w);
	}
	pthread_cond_destroy(&rp.cv);
	pthread_mutex_destroy(&rp.mu);
}

/*
 * A swarm registered by at_ms whose revisions from then are gone (its
 * heartbeats rewrote its record more often than the bucket keeps): its
 * profile from the first record kept after, its heartbeat age unknown.
 */
static void
adopt_swarms(struct fleet *out, struct fleet *later, int64_t at_ms)
{
	struct srow *r, *have;
	size_t i;

	for (i = 0; i < later->swarms.n; i++) {
		r = later->swarms.v[i].val;
		have = kset_get(&out->swarms, r->id);
		if (!r->have_rec || r->sw.registered_at > at_ms || (have && have->have_rec))
			continue;
		if (have == NULL)
			have = srow_of(out, r->id);
		swarm_profile_release(&have->sw.p);
		have->sw.p = r->sw.p;
		memset(&r->sw.p, 0, sizeof r->sw.p);
		have->sw.registered_at = r->sw.registered_at;
		have->sw.last_seen = 0;	/* not known for that moment */
		have->have_rec = true;
	}
}

void
domains_rewind(struct fleet *out, struct bus *b, int64_t at_ms)
{
	struct fleet later;

	fleet_init(&later);
	replay_bucket(out, &later, b, SWARM_BUCKET, fleet_swarm_event, at_ms);
	adopt_swarms(out, &later, at_ms);
	fleet_release(&later);
	replay_bucket(out, NULL, b, BUDGET_BUCKET, fleet_budget_event, at_ms);
	replay_bucket(out, NULL, b, SLO_BUCKET, fleet_objective_event, at_ms);
	replay_bucket(out, NULL, b, SLO_EPISODE_BUCKET, fleet_episode_event, at_ms);
	out->swarms_synced = out->budgets_synced = out->slo_synced = true;
	fleet_figures(out, b, at_ms, !out->no_sync);
}
