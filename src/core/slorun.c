/*
 * SLO operations on the fleet: objectives in KV, the sync of IF_SLO into
 * the rollups, status from the rollups, breach episodes. See slo.h.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/ledger.h"
#include "core/slo.h"
#include "core/slodb.h"
#include "core/swarm.h"
#include "core/util.h"


/* --- a bucket's snapshot -------------------------------------------------- */

/* bus_kv_snapshot() (bus.h), saying how to make a bucket that does not exist. */
static enum status
slo_snapshot(struct bus *b, const char *bucket, bus_kv_snapshot_fn fn, void *arg, struct err *e)
{
	enum status st = bus_kv_snapshot(b, bucket, fn, arg, e);

	if (st == ST_NO_SCHEMA)
		err_set(e, ST_NO_SCHEMA, "bucket '%s' does not exist: run 'ifctl up' (or "
			"'ifctl status') to create the fleet's buckets", bucket);
	return st;
}

/* An event on if.v1.evt.slo.<swarm>.<verb> (fire and forget). */
static void
slo_event(struct bus *b, const char *swarm, const char *verb, const char *body)
{
	char *subject = xasprintf("%s%s.%s", SLO_EVENT_PREFIX, swarm, verb);

	bus_publish(b, subject, body, strlen(body), NULL);
	free(subject);
}

/* --- objectives ---------------------------------------------------------- */

enum status
slo_objective_get(struct bus *b, const char *swarm, struct slo_objective *o, struct err *e)
{
	struct bus_kv_entry ent = BUS_KV_ENTRY_INIT;
	enum status st;

	slo_objective_init(o);
	if (!task_id_valid(swarm))
		return err_set(e, ST_BAD_VALUE, "'%.60s' is not a swarm id", swarm);
	st = bus_kv_get(b, SLO_BUCKET, swarm, &ent, e);
	if (st == ST_NOT_FOUND)
		err_set(e, ST_NOT_FOUND, "swarm '%s' has no SLO objective ('ifctl slo define %s "
			"...')", swarm, swarm);
	else if (st == ST_NO_SCHEMA)
		err_set(e, ST_NO_SCHEMA, "bucket '%s' does not exist: run 'ifctl up'", SLO_BUCKET);
	if (st == ST_OK && (st = slo_objective_parse(swarm, ent.value.s, ent.value.len, o, e)) ==
	    ST_OK)
		o->rev = ent.revision;
	buf_release(&ent.value);
	return st;
}

static void
take_objective(void *arg, const char *key, const char *value, size_t len, uint64_t rev)
{
	struct slo_objectives *l = arg;
	struct slo_objective o;

	if (slo_objective_parse(key, value, len, &o, NULL) != ST_OK) {
		l->invalid++;
		return;
	}
	o.rev = rev;
	xgrow(&l->v, &l->cap, l->n + 1, sizeof *l->v);
	l->v[l->n++] = o;
}

static int
by_swarm(const void *a, const void *b)
{
	return strcmp(((const struct slo_objective *)a)->swarm,
		      ((const struct slo_objective *)b)->swarm);
}

enum status
slo_objective_list(struct bus *b, struct slo_objectives *out, struct err *e)
{
	enum status st;

	memset(out, 0, sizeof *out);
	st = slo_snapshot(b, SLO_BUCKET, take_objective, out, e);
	if (st != ST_OK)
		slo_objectives_release(out);
	else if (out->n)
		qsort(out->v, out->n, sizeof *out->v, by_swarm);
	return st;
}

void
slo_objectives_release(struct slo_objectives *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		slo_objective_release(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
}

/* Witness an objective change: slo.<event>, with the record as payload. */
static void
witness_objective(struct opctx *op, const char *event, const char *swarm, const char *record)
{
	struct witness_note n = { .component = "slo", .event = event, .actor = op->actor,
				  .swarm = swarm, .payload = record };

	ledger_witness(op, &n);
}

enum status
slo_objective_put(struct bus *b, struct opctx *op, struct slo_objective *o, struct err *e)
{
	struct slo_objective old;
	struct buf rec = BUF_INIT;
	enum status st;
	uint64_t rev = 0;

	if ((st = slo_objective_check(o, e)) != ST_OK)
		return st;
	st = slo_objective_get(b, o->swarm, &old, e);
	if (st != ST_OK && st != ST_NOT_FOUND && st != ST_INVALID_RECORD)
		return st;
	o->updated = wall_ms();
	o->created = st == ST_OK ? old.created : o->updated;
	free(o->by);
	o->by = xstrdup(op->actor ? op->actor : "unknown");
	slo_objective_to_json(o, &rec);
	if (st == ST_OK)
		st = bus_kv_update(b, SLO_BUCKET, o->swarm, rec.s, rec.len, old.rev, &rev, e);
	else if (st == ST_NOT_FOUND)
		st = bus_kv_create(b, SLO_BUCKET, o->swarm, rec.s, rec.len, &rev, e);
	else	/* an invalid record: replaced by a valid one */
		st = bus_kv_put(b, SLO_BUCKET, o->swarm, rec.s, rec.len, &rev, e);
	if (st == ST_CONFLICT || st == ST_EXISTS)
		err_set(e, ST_CONFLICT, "the objective of swarm '%s' changed meanwhile; try again",
			o->swarm);
	if (st == ST_OK) {
		o->rev = rev;
		slo_event(b, o->swarm, "defined", rec.s);
		witness_objective(op, "slo.define", o->swarm, rec.s);
	}
	slo_objective_release(&old);
	buf_release(&rec);
	return st;
}

/* Close the open episodes of a swarm whose objectives are removed (best effort). */
static void
close_episodes(struct bus *b, struct opctx *op, const char *swarm)
{
	struct slo_result none = { .swarm = (char *)swarm };
	struct slo_episodes *s = NULL;
	size_t changed;

	if (slo_episodes_load(b, &s, NULL) == ST_OK) {
		slo_episodes_apply(b, op, s, &none, 1, wall_ms(), &changed, NULL);
		slo_standings_apply(b, op, s, &none, 1, wall_ms(), &changed, NULL);
	}
	slo_episodes_free(s);
}

enum status
slo_objective_rm(struct bus *b, struct opctx *op, const char *swarm, struct err *e)
{
	struct slo_objective o;
	struct buf rec = BUF_INIT;
	enum status st = slo_objective_get(b, swarm, &o, e);

	if (st == ST_INVALID_RECORD)
		st = ST_OK;	/* an invalid record may be removed */
	if (st == ST_OK)
		st = bus_kv_delete(b, SLO_BUCKET, swarm, e);
	if (st == ST_OK)
		close_episodes(b, op, swarm);
	if (st == ST_OK) {
		buf_addf(&rec, "{\"swarm\":");
		json_escape(&rec, swarm);
		buf_addf(&rec, ",\"v\":1}");
		slo_event(b, swarm, "removed", rec.s);
		witness_objective(op, "slo.remove", swarm, rec.s);
	}
	slo_objective_release(&o);
	buf_release(&rec);
	return st;
}

/* --- sync --------------------------------------------------------------- */

struct syncer {
	struct bus_follow f;
	struct slodb *d;
	const struct config *c;
	const struct slo_intervals *iv;	/* the profiles' heartbeat intervals */
	uint64_t added, rejected, unflushed_rejected;
};

/* Is this message a sample it can take? Fills s (pointing into doc). */
static bool
sample_ok(const struct bus_kv_event *ev, struct slo_sample *s, struct json_doc *doc)
{
	int64_t at = ev->time_ns / 1000000;
	size_t plen = sizeof SLO_SUBJECT_PREFIX - 1;

	if (!has_prefix(ev->key, SLO_SUBJECT_PREFIX) ||
	    slo_sample_parse(ev->value, ev->len, s, doc, NULL) != ST_OK)
		return false;
	if (strcmp(ev->key + plen, s->swarm) != 0)	/* published for another swarm */
		return false;
	return s->ts <= at + SLO_SKEW_MS && s->ts >= at - SLO_LATE_MS;
}

static void
sync_event(void *arg, const struct bus_kv_event *ev)
{
	struct syncer *y = arg;
	struct json_doc doc = JSON_DOC_INIT;
	struct slo_sample s;

	pthread_mutex_lock(&y->f.mu);
	if (y->f.st != ST_OK || ev->snapshot_done || ev->revision <= y->f.got) {
		pthread_mutex_unlock(&y->f.mu);
		return;
	}
	if (sample_ok(ev, &s, &doc)) {
		slodb_add(y->d, &s, slo_heartbeat_interval_ms(y->c, y->iv, s.swarm));
		y->added++;
	} else {
		y->rejected++;
		y->unflushed_rejected++;
	}
	json_doc_release(&doc);
	if (slodb_pending(y->d) >= SLODB_FLUSH_EVERY) {
		y->f.st = slodb_flush(y->d, ev->revision, y->unflushed_rejected, wall_ms(),
				      &y->f.err);
		y->unflushed_rejected = 0;
	}
	bus_follow_took(&y->f, ev->revision);
	pthread_mutex_unlock(&y->f.mu);
}

enum status
slo_intervals_load(struct bus *b, struct slo_intervals *out, struct err *e)
{
	struct swarm_list l;
	enum status st;
	size_t i;

	memset(out, 0, sizeof *out);
	st = swarm_list(b, &l, e);
	if (st == ST_NO_SCHEMA)		/* no IF_SWARMS: no profiles */
		return ST_OK;
	if (st != ST_OK)
		return st;
	out->swarm = xcalloc(l.n + 1, sizeof *out->swarm);
	out->ms = xcalloc(l.n + 1, sizeof *out->ms);
	for (i = 0; i < l.n; i++)	/* sorted by id */
		if (l.v[i].p.heartbeat_interval_ms > 0) {
			out->swarm[out->n] = xstrdup(l.v[i].p.id);
			out->ms[out->n++] = l.v[i].p.heartbeat_interval_ms;
		}
	swarm_list_release(&l);
	return ST_OK;
}

/* One pass of slo_sync: ST_CONFLICT when another process flushed meanwhile. */
static enum status
sync_once(struct bus *b, const struct config *c, struct slodb *d, uint64_t *added,
	  uint64_t *rejected, struct err *e)
{
	struct syncer y = { .d = d, .c = c };
	struct slo_intervals iv = { 0 };
	struct bus_stream_stat ss;
	struct bus_watch *w = NULL;
	enum status st;

	*added = *rejected = 0;
	if ((st = bus_stream_stat(b, SLO_STREAM, &ss, e)) != ST_OK)
		return st == ST_NO_SCHEMA ? err_set(e, ST_NO_SCHEMA, "stream '%s' does not exist: "
						    "run 'ifctl up'", SLO_STREAM) : st;
	if (ss.last_seq < slodb_last_seq(d) && (st = slodb_clear(d, e)) != ST_OK)
		return st;	/* the stream was made anew: so are the rollups */
	slodb_set_now(d, wall_ms());
	if (slodb_last_seq(d) >= ss.last_seq)
		return ST_OK;
	if ((st = slo_intervals_load(b, &iv, e)) != ST_OK)
		return st;
	y.iv = &iv;
	bus_follow_init(&y.f, slodb_last_seq(d), ss.last_seq);
	st = bus_stream_watch(b, SLO_STREAM, "if.v1.slo.>", y.f.got + 1 > ss.first_seq ?
			      y.f.got + 1 : ss.first_seq, sync_event, &y, &w, e);
	if (st != ST_OK) {
		bus_follow_release(&y.f);
		slo_intervals_release(&iv);
		return st;
	}
	bus_follow_wait(&y.f, w, SLO_STREAM, bus_timeout_ms(b));
	bus_watch_free(w);	/* no callback after this */
	slo_intervals_release(&iv);
	if (y.f.st == ST_OK)
		y.f.st = slodb_flush(d, y.f.got, y.unflushed_rejected, wall_ms(), &y.f.err);
	*added = y.added;
	*rejected = y.rejected;
	st = y.f.st;
	if (st != ST_OK && e)
		*e = y.f.err;
	bus_follow_release(&y.f);
	return st;
}

enum status
slo_sync(struct bus *b, const struct config *c, struct slodb *d, uint64_t *added,
	 uint64_t *rejected, struct err *e)
{
	enum status st;
	int tries = 0;

	/* Two syncs at once: the one that flushes second starts again from the first's end. */
	while ((st = sync_once(b, c, d, added, rejected, e)) == ST_CONFLICT && ++tries < 5)
		;
	return st;
}

/* --- status ---------------------------------------------------------------- */

/* What one objective's windows add up to while the rows are read. */
struct acc {
	struct slo_counts c[SLO_W__COUNT];
	struct sketch *lat;		/* objective window */
	const struct slo_objective *o;
	struct slodb_swarm sw;		/* swarm copied out: sw.swarm not kept */
	bool seen;
};

struct status_scan {
	struct acc *a;			/* by objective, in the list's order (sorted by swarm) */
	const struct slo_objectives *l;
	enum slo_win w;
	int64_t obj_window_s;		/* SLO_WOBJ: the objectives of this window length */
	uint64_t malformed;
};

/* The objective of swarm (the list is sorted by swarm), or NULL. */
static struct acc *
find_acc(struct status_scan *s, const char *swarm)
{
	size_t lo = 0, hi = s->l->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(swarm, s->l->v[mid].swarm);
		if (c == 0)
			return &s->a[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static void
take_swarm(void *arg, const struct slodb_swarm *sw)
{
	struct acc *a = find_acc(arg, sw->swarm);

	if (a) {
		a->sw = *sw;
		a->sw.swarm = NULL;
		a->seen = true;
	}
}

/* Add a row to its objective's window. */
static void
take_row(void *arg, const struct slodb_row *r)
{
	struct status_scan *s = arg;
	struct acc *a = find_acc(s, r->swarm);
	struct slo_counts *c;
	uint64_t above = 0, n = 0;

	if (a == NULL || (s->w == SLO_WOBJ && a->o->window_s != s->obj_window_s))
		return;
	c = &a->c[s->w];
	c->n += r->n;
	c->ok += r->ok;
	c->up += r->up;
	if (!a->o->has[SLO_LATENCY] || r->n == 0)
		return;
	if (s->w == SLO_WOBJ) {
		if (a->lat == NULL)
			a->lat = xcalloc(1, sizeof *a->lat);
		if (sketch_decode_add(a->lat, r->sketch, r->sketch_len, NULL) != ST_OK)
			s->malformed++;
	}
	if (sketch_encoded_above(r->sketch, r->sketch_len, (uint64_t)(a->o->p99_ms * 1000.0),
				 &above, &n))
		c->slow += above;
	else
		s->malformed++;
}

/* Heartbeat slots expected of sw in [start, now] (see slo.h). */
static uint64_t
expected_slots(const struct slodb_swarm *sw, int64_t start, int64_t now)
{
	int64_t iv = sw->interval_ms, k_first, k0, k1;
	uint64_t n;

	if (iv <= 0 || sw->samples == 0)
		return 0;
	k_first = sw->first_ms / iv;
	k0 = (start + iv - 1) / iv;
	if (k0 < k_first)
		k0 = k_first;
	k1 = now / iv;
	if (k1 < k0)
		return 0;
	n = (uint64_t)(k1 - k0);		/* slots that have ended */
	return n + (sw->max_slot >= k1);	/* and the current one once up */
}

/* Read the rows of window w for every objective (of window length len for SLO_WOBJ). */
static enum status
scan_window(struct slodb *d, struct status_scan *s, enum slo_win w, int64_t len, int64_t now,
	    const char *swarm, struct err *e)
{
	int64_t start = slo_window_start(now, len);
	enum status st;
	size_t i;

	s->w = w;
	s->obj_window_s = len;
	for (i = 0; i < s->l->n; i++) {
		struct acc *a = &s->a[i];
		if (w == SLO_WOBJ && a->o->window_s != len)
			continue;
		a->c[w].start = start;
		a->c[w].end = now;
		a->c[w].expected = a->seen ? expected_slots(&a->sw, start, now) : 0;
	}
	st = slodb_window(d, start, swarm, take_row, s, e);
	for (i = 0; st == ST_OK && i < s->l->n; i++)	/* at most what was expected */
		if (s->a[i].c[w].up > s->a[i].c[w].expected)
			s->a[i].c[w].up = s->a[i].c[w].expected;
	return st;
}

enum status
slo_status(struct slodb *d, const struct config *c, const struct slo_objectives *l, int64_t now,
	   struct opctx *op, struct slo_result *r, struct err *e)
{
	struct status_scan s = { xcalloc(l->n + 1, sizeof *s.a), l, 0, 0, 0 };
	const char *only = l->n == 1 ? l->v[0].swarm : NULL;
	enum status st = ST_OK;
	size_t i, j;
	int w;

	(void)c;
	for (i = 0; i < l->n; i++)
		s.a[i].o = &l->v[i];
	st = slodb_swarms(d, only, take_swarm, &s, e);
	for (w = 0; st == ST_OK && w < SLO_WOBJ; w++)
		st = scan_window(d, &s, (enum slo_win)w, slo_win_seconds(w), now, only, e);
	for (i = 0; st == ST_OK && i < l->n; i++) {	/* each distinct objective window once */
		for (j = 0; j < i && l->v[j].window_s != l->v[i].window_s; j++)
			;
		if (j == i)
			st = scan_window(d, &s, SLO_WOBJ, l->v[i].window_s, now, only, e);
	}
	if (st == ST_OK && s.malformed && op)
		why_add(op, "rollups", "malformed", "%llu sketches in '%s' did not decode and were "
			"left out", (unsigned long long)s.malformed, slodb_path(d));
	for (i = 0; i < l->n; i++) {
		if (st == ST_OK && op && op->explain && l->v[i].has[SLO_AVAILABILITY] && s.a[i].seen)
			why_add(op, "slots", l->v[i].swarm, "availability in heartbeat slots of %lld "
				"ms (the interval in force at its last sample: its profile's, else "
				"slo.heartbeat_interval_ms)", (long long)s.a[i].sw.interval_ms);
		if (st == ST_OK)
			slo_evaluate(&l->v[i], s.a[i].c, s.a[i].lat, op, &r[i]);
		free(s.a[i].lat);
	}
	free(s.a);
	return st;
}

/* --- episodes ------------------------------------------------------------- */

#define EP_CUR "cur."
#define EP_REC "ep."
#define EP_STANDING "standing."

/* The current episode of one swarm and objective, as loaded. */
struct episode {
	char *key;		/* cur.<kind>.<swarm> */
	uint64_t n;		/* episodes so far */
	bool open;
	int64_t opened;
	uint64_t rev;
	double measured, target, budget_left;	/* when it opened */
	char *reason, *trace;
};

struct slo_episodes {
	struct episode *v;
	size_t n, cap;
	struct slo_standings standings;
};

/* --- standings ------------------------------------------------------------ */

/* A standing as read. */
struct standing_rec {
	int v;
	char *swarm, *verdict, *alert, *trace;
	double delta;
	int64_t since;
};

#define SF(name, type, flags, field, min, max) \
	{ name, type, flags, offsetof(struct standing_rec, field), min, max, NULL }
static const struct json_field standing_fields[] = {
	SF("v", JF_INT, JF_REQUIRED, v, 1, 1),
	SF("swarm", JF_STR, JF_REQUIRED, swarm, 0, 0),
	SF("verdict", JF_STR, JF_REQUIRED, verdict, 0, 0),
	SF("alert", JF_STR, JF_REQUIRED, alert, 0, 0),
	SF("reputation_delta", JF_NUM, JF_REQUIRED, delta, -0.1, 0.05),
	SF("since", JF_I64, JF_REQUIRED, since, 0, JSON_INT_MAX),
	SF("trace", JF_STR, JF_NULLABLE, trace, 0, 0),
};

/* The index of name among n names given by fn, or -1. */
static int
name_index(const char *name, const char *(*fn)(int), int n)
{
	int i;

	for (i = 0; name && i < n; i++)
		if (strcmp(name, fn(i)) == 0)
			return i;
	return -1;
}

/* Names for name_index(). */
static const char *
verdict_at(int i)
{
	return slo_verdict_name((enum slo_verdict)i);
}

/* The same for alerts. */
static const char *
alert_at(int i)
{
	return slo_alert_name((enum slo_alert)i);
}

enum status
slo_standing_parse(const char *swarm, const char *json, size_t len, struct slo_standing *out,
		   struct err *e)
{
	struct standing_rec r = { 0 };
	struct json_doc doc = JSON_DOC_INIT;
	struct err pe = ERR_INIT;
	enum status st;
	int v = -1, a = -1;

	memset(out, 0, sizeof *out);
	if ((st = json_parse(json, len, "slo standing", &doc, &pe)) == ST_OK)
		st = json_read_fields(doc.root, standing_fields, ARRAY_SIZE(standing_fields),
				      JF_STRICT, &r, "slo standing", &pe);
	json_doc_release(&doc);
	if (st == ST_OK) {
		v = name_index(r.verdict, verdict_at, SLO_BREACH + 1);
		a = name_index(r.alert, alert_at, SLO_ALERT_PAGE + 1);
	}
	if (st == ST_OK && (v < 0 || a < 0))
		st = err_set(e, ST_INVALID_RECORD, "slo standing: unknown verdict or alert");
	else if (st == ST_OK && strcmp(r.swarm, swarm) != 0)
		st = err_set(e, ST_INVALID_RECORD, "slo standing: its swarm is not its key");
	else if (st != ST_OK)
		st = err_set(e, ST_INVALID_RECORD, "%s", pe.msg);
	if (st == ST_OK) {
		out->verdict = (enum slo_verdict)v;
		out->alert = (enum slo_alert)a;
		out->delta = r.delta;
		out->since = r.since;
	}
	free(r.swarm);
	free(r.verdict);
	free(r.alert);
	free(r.trace);
	return st;
}

/* The record of a standing. */
static void
standing_json(const char *swarm, const struct slo_standing *s, const char *trace,
	      struct buf *out)
{
	buf_addc(out, '{');
	json_kv_str(out, "alert", slo_alert_name(s->alert));
	json_kv_num(out, "reputation_delta", s->delta);
	json_kv_int(out, "since", s->since);
	json_kv_str(out, "swarm", swarm);
	json_kv_str(out, "trace", trace);
	json_kv_int(out, "v", 1);
	json_kv_str(out, "verdict", slo_verdict_name(s->verdict));
	buf_addc(out, '}');
}

/* Add the standing of key (standing.<swarm>) to l, malformed or not. */
static void
take_standing(struct slo_standings *l, const char *key, const char *value, size_t len,
	      uint64_t rev)
{
	struct slo_standing_entry en = { 0 };

	en.swarm = xstrdup(key + sizeof EP_STANDING - 1);
	en.invalid = slo_standing_parse(en.swarm, value, len, &en.s, NULL) != ST_OK;
	en.s.rev = rev;
	xgrow(&l->v, &l->cap, l->n + 1, sizeof *l->v);
	l->v[l->n++] = en;
}

/* Standings by swarm. */
static int
by_standing(const void *a, const void *b)
{
	return strcmp(((const struct slo_standing_entry *)a)->swarm,
		      ((const struct slo_standing_entry *)b)->swarm);
}

/* Sort l for slo_standings_find(). */
static void
standings_sort(struct slo_standings *l)
{
	if (l->n > 1)
		qsort(l->v, l->n, sizeof *l->v, by_standing);
}

/* A key of the episodes bucket: only standings are taken. */
static void
take_standing_only(void *arg, const char *key, const char *value, size_t len, uint64_t rev)
{
	if (has_prefix(key, EP_STANDING))
		take_standing(arg, key, value, len, rev);
}

enum status
slo_standings_load(struct bus *b, struct slo_standings *out, struct err *e)
{
	enum status st;

	memset(out, 0, sizeof *out);
	st = bus_kv_snapshot(b, SLO_EPISODE_BUCKET, take_standing_only, out, e);
	if (st == ST_NO_SCHEMA)		/* no SLO buckets yet: no standings */
		st = ST_OK;
	if (st != ST_OK)
		slo_standings_release(out);
	standings_sort(out);
	return st;
}

void
slo_standings_release(struct slo_standings *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i].swarm);
	free(l->v);
	memset(l, 0, sizeof *l);
}

const struct slo_standing_entry *
slo_standings_find(const struct slo_standings *l, const char *swarm)
{
	struct slo_standing_entry probe = { .swarm = (char *)swarm };

	return l->n ? bsearch(&probe, l->v, l->n, sizeof *l->v, by_standing) : NULL;
}

enum status
slo_standing_get(struct bus *b, const char *swarm, struct slo_standing *out, bool *found,
		 struct err *e)
{
	struct bus_kv_entry ent = BUS_KV_ENTRY_INIT;
	char *key = xasprintf(EP_STANDING "%s", swarm);
	enum status st = kv_get_maybe(b, SLO_EPISODE_BUCKET, key, &ent, found, e);

	memset(out, 0, sizeof *out);
	if (st == ST_NO_SCHEMA) {	/* no SLO buckets yet */
		*found = false;
		st = ST_OK;
	}
	if (st == ST_OK && *found)
		st = slo_standing_parse(swarm, ent.value.s, ent.value.len, out, e);
	out->rev = ent.revision;
	buf_release(&ent.value);
	free(key);
	return st;
}

/* Write one standing by CAS on rev (0: create); a lost race is the winner's. */
static enum status
standing_put(struct bus *b, const char *swarm, const struct slo_standing *s, uint64_t rev,
	     const char *trace, bool *made, struct err *e)
{
	char *key = xasprintf(EP_STANDING "%s", swarm);
	struct buf rec = BUF_INIT;
	enum status st;

	standing_json(swarm, s, trace, &rec);
	st = rev ? bus_kv_update(b, SLO_EPISODE_BUCKET, key, rec.s, rec.len, rev, NULL, e)
		 : bus_kv_create(b, SLO_EPISODE_BUCKET, key, rec.s, rec.len, NULL, e);
	*made = st == ST_OK;
	if (st == ST_CONFLICT || st == ST_EXISTS)
		st = ST_OK;
	buf_release(&rec);
	free(key);
	return st;
}

enum status
slo_standings_apply(struct bus *b, const struct opctx *op, const struct slo_episodes *s,
		    const struct slo_result *r, size_t n, int64_t now, size_t *changed,
		    struct err *e)
{
	enum status st = ST_OK;
	struct slo_standing now_s;
	size_t i;
	bool made;

	*changed = 0;
	if (op->falsify || op->read_only)
		return ST_OK;
	for (i = 0; i < n && st == ST_OK; i++) {
		const struct slo_standing_entry *was = slo_standings_find(&s->standings,
									   r[i].swarm);
		slo_standing_of(&r[i], now, &now_s);
		if (was && !was->invalid && !slo_standing_differs(&was->s, &now_s))
			continue;
		if (!was && now_s.verdict == SLO_NO_DATA && now_s.alert == SLO_ALERT_NONE)
			continue;	/* nothing to say of a swarm never judged */
		st = standing_put(b, r[i].swarm, &now_s, was ? was->s.rev : 0, op->trace_id, &made, e);
		*changed += made;
	}
	return st;
}

static char *
cur_key(const char *swarm, enum slo_kind k)
{
	return xasprintf(EP_CUR "%s.%s", slo_kind_name(k), swarm);
}

static void
take_episode(void *arg, const char *key, const char *value, size_t len, uint64_t rev)
{
	struct slo_episodes *s = arg;
	struct slo_violation v;
	struct episode ep = { .rev = rev };

	if (has_prefix(key, EP_STANDING))
		take_standing(&s->standings, key, value, len, rev);
	if (!has_prefix(key, EP_CUR))
		return;
	if (slo_violation_parse(value, len, &v, NULL) == ST_OK) {
		ep.n = v.episode;	/* else a bad record: the next episode replaces it */
		ep.open = v.open;
		ep.opened = v.opened;
		ep.measured = v.measured;
		ep.target = v.target;
		ep.budget_left = v.budget_left;
		ep.reason = v.reason;
		ep.trace = v.trace;
		v.reason = v.trace = NULL;
		slo_violation_release(&v);
	}
	ep.key = xstrdup(key);
	xgrow(&s->v, &s->cap, s->n + 1, sizeof *s->v);
	s->v[s->n++] = ep;
}

static int
by_ep_key(const void *a, const void *b)
{
	return strcmp(((const struct episode *)a)->key, ((const struct episode *)b)->key);
}

enum status
slo_episodes_load(struct bus *b, struct slo_episodes **out, struct err *e)
{
	struct slo_episodes *s = xcalloc(1, sizeof *s);
	enum status st = slo_snapshot(b, SLO_EPISODE_BUCKET, take_episode, s, e);

	if (st != ST_OK) {
		slo_episodes_free(s);
		return st;
	}
	if (s->n)
		qsort(s->v, s->n, sizeof *s->v, by_ep_key);
	standings_sort(&s->standings);
	*out = s;
	return ST_OK;
}

void
slo_episodes_free(struct slo_episodes *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++) {
		free(s->v[i].key);
		free(s->v[i].reason);
		free(s->v[i].trace);
	}
	free(s->v);
	slo_standings_release(&s->standings);
	free(s);
}

/* The current episode of swarm's kind k (all zero when there is none). */
static struct episode
episode_of(const struct slo_episodes *s, const char *swarm, enum slo_kind k)
{
	struct episode probe = { .key = cur_key(swarm, k) }, none = { 0 };
	const struct episode *found = s->n ? bsearch(&probe, s->v, s->n, sizeof *s->v,
						      by_ep_key) : NULL;

	free(probe.key);
	return found ? *found : none;
}

/*
 * Should the episode change: open on a breach; close when the objective
 * holds (ok, warn) or is no longer defined; no data changes nothing.
 */
static bool
episode_changes(const struct slo_obj_result *o, const struct episode *ep)
{
	if (!o->defined)
		return ep->open;
	if (o->verdict == SLO_BREACH)
		return !ep->open;
	return ep->open && (o->verdict == SLO_OK || o->verdict == SLO_WARN);
}

bool
slo_episodes_due(const struct slo_episodes *s, const struct slo_result *r, size_t n)
{
	size_t i;
	int k;

	for (i = 0; i < n; i++)
		for (k = 0; k < SLO__KINDS; k++) {
			struct episode ep = episode_of(s, r[i].swarm, (enum slo_kind)k);
			if (episode_changes(&r[i].o[k], &ep))
				return true;
		}
	return false;
}

/* The record of a violation. */
static void
violation_json(const struct slo_violation *v, struct buf *out)
{
	buf_addc(out, '{');
	json_kv_num(out, "budget_left", v->budget_left);
	if (v->closed)
		json_kv_int(out, "closed", v->closed);
	else
		json_kv_raw(out, "closed", NULL);
	json_kv_int(out, "episode", (long long)v->episode);
	json_kv_num(out, "measured", v->measured);
	json_kv_str(out, "objective", slo_kind_name(v->kind));
	json_kv_bool(out, "open", v->open);
	json_kv_int(out, "opened", v->opened);
	json_kv_str(out, "reason", v->reason);
	json_kv_str(out, "swarm", v->swarm);
	json_kv_num(out, "target", v->target);
	json_kv_str(out, "trace", v->trace);
	json_kv_int(out, "v", 1);
	buf_addc(out, '}');
}

/* Record a transition that won its CAS: the episode's record, the event, the witness entry. */
static void
episode_record(struct bus *b, struct opctx *op, const struct slo_violation *v, const char *rec)
{
	char *key = xasprintf(EP_REC "%s.%s.%llu", slo_kind_name(v->kind), v->swarm,
			      (unsigned long long)v->episode);
	const char *verb = v->open ? "opened" : "closed";
	char event[48];
	struct witness_note n = { .component = "slo", .event = event, .actor = op->actor,
				  .swarm = v->swarm, .payload = rec };

	bus_kv_put(b, SLO_EPISODE_BUCKET, key, rec, strlen(rec), NULL, NULL);
	slo_event(b, v->swarm, verb, rec);
	snprintf(event, sizeof event, "slo.violation.%s", verb);
	ledger_witness(op, &n);
	free(key);
}

/* Open or close one episode by CAS on its current key; *made when this call did it. */
static enum status
episode_apply(struct bus *b, struct opctx *op, const struct episode *ep,
	      const struct slo_result *r, enum slo_kind k, int64_t now, bool *made, struct err *e)
{
	const struct slo_obj_result *o = &r->o[k];
	struct slo_violation v = { .swarm = r->swarm, .kind = k, .measured = o->measured,
				   .target = o->target, .budget_left = o->budget_left,
				   .reason = (char *)o->reason, .trace = op->trace_id };
	struct buf rec = BUF_INIT;
	char *key = cur_key(r->swarm, k);
	enum status st;

	*made = false;
	v.open = o->defined && o->verdict == SLO_BREACH;
	v.episode = v.open ? ep->n + 1 : ep->n;
	v.opened = v.open ? now : ep->opened;
	v.closed = v.open ? 0 : now;
	if (!v.open) {	/* a closed episode keeps what it opened with */
		v.measured = ep->measured;
		v.target = ep->target;
		v.budget_left = ep->budget_left;
		v.reason = ep->reason;
		v.trace = ep->trace;
	}
	violation_json(&v, &rec);
	st = ep->rev ? bus_kv_update(b, SLO_EPISODE_BUCKET, key, rec.s, rec.len, ep->rev, NULL, e)
		     : bus_kv_create(b, SLO_EPISODE_BUCKET, key, rec.s, rec.len, NULL, e);
	if (st == ST_CONFLICT || st == ST_EXISTS) {
		st = ST_OK;	/* another evaluator made this change first */
	} else if (st == ST_OK) {
		episode_record(b, op, &v, rec.s);
		*made = true;
	}
	free(key);
	buf_release(&rec);
	return st;
}

enum status
slo_episodes_apply(struct bus *b, struct opctx *op, const struct slo_episodes *s,
		   const struct slo_result *r, size_t n, int64_t now, size_t *changed,
		   struct err *e)
{
	enum status st = ST_OK;
	bool made;
	size_t i;
	int k;

	*changed = 0;
	if (op->falsify || op->read_only)
		return ST_OK;
	for (i = 0; i < n && st == ST_OK; i++)
		for (k = 0; k < SLO__KINDS && st == ST_OK; k++) {
			struct episode ep = episode_of(s, r[i].swarm, (enum slo_kind)k);
			if (!episode_changes(&r[i].o[k], &ep))
				continue;
			st = episode_apply(b, op, &ep, &r[i], (enum slo_kind)k, now, &made, e);
			*changed += made;
		}
	return st;
}

/* --- violations ------------------------------------------------------------ */

void
slo_violation_release(struct slo_violation *v)
{
	free(v->swarm);
	free(v->reason);
	free(v->trace);
	memset(v, 0, sizeof *v);
}

/* A violation as read. */
struct viol_rec {
	int v, open;
	char *swarm, *objective, *reason, *trace;
	int64_t episode, opened, closed;
	double measured, target, budget_left;
};

static enum status
read_bool_int(const struct json_value *v, void *dst, struct err *e)
{
	if (v->type != JSON_TRUE && v->type != JSON_FALSE)
		return err_set(e, ST_BAD_JSON, "is not true or false");
	*(int *)dst = v->type == JSON_TRUE;
	return ST_OK;
}

#define VF(name, type, flags, field, min, max) \
	{ name, type, flags, offsetof(struct viol_rec, field), min, max, NULL }
static const struct json_field viol_fields[] = {
	VF("v", JF_INT, JF_REQUIRED, v, 1, 1),
	VF("swarm", JF_STR, JF_REQUIRED, swarm, 0, 0),
	VF("objective", JF_STR, JF_REQUIRED, objective, 0, 0),
	VF("episode", JF_I64, JF_REQUIRED, episode, 1, JSON_INT_MAX),
	{ "open", JF_CUSTOM, JF_REQUIRED, offsetof(struct viol_rec, open), 0, 0, read_bool_int },
	VF("opened", JF_I64, JF_REQUIRED, opened, 0, JSON_INT_MAX),
	VF("closed", JF_I64, JF_NULLABLE, closed, 0, JSON_INT_MAX),
	VF("measured", JF_NUM, 0, measured, -1e15, 1e15),
	VF("target", JF_NUM, 0, target, -1e15, 1e15),
	VF("budget_left", JF_NUM, 0, budget_left, -1e15, 1e15),
	VF("reason", JF_STR, JF_NULLABLE, reason, 0, 0),
	VF("trace", JF_STR, JF_NULLABLE, trace, 0, 0),
};

enum status
slo_violation_parse(const char *json, size_t len, struct slo_violation *v, struct err *e)
{
	struct viol_rec r = { 0 };
	struct json_doc doc = JSON_DOC_INIT;
	enum status st;
	int k;

	memset(v, 0, sizeof *v);
	if ((st = json_parse(json, len, "slo violation", &doc, e)) == ST_OK)
		st = json_read_fields(doc.root, viol_fields, ARRAY_SIZE(viol_fields), 0, &r,
				      "slo violation", e);
	json_doc_release(&doc);
	for (k = 0; st == ST_OK && k < SLO__KINDS && strcmp(r.objective, slo_kind_name(k)); k++)
		;
	if (st == ST_OK && (k == SLO__KINDS || !task_id_valid(r.swarm)))
		st = err_set(e, ST_INVALID_RECORD, "slo violation: unknown objective or swarm");
	free(r.objective);
	v->swarm = r.swarm;
	v->reason = r.reason;
	v->trace = r.trace;
	if (st != ST_OK) {
		slo_violation_release(v);
		return st;
	}
	v->kind = (enum slo_kind)k;
	v->episode = (uint64_t)r.episode;
	v->open = r.open;
	v->opened = r.opened;
	v->closed = r.closed;
	v->measured = r.measured;
	v->target = r.target;
	v->budget_left = r.budget_left;
	return ST_OK;
}

struct viol_scan {
	struct slo_violations *out;
	const char *swarm;
};

static void
take_violation(void *arg, const char *key, const char *value, size_t len, uint64_t rev)
{
	struct viol_scan *s = arg;
	struct slo_violation v;

	(void)rev;
	if (!has_prefix(key, EP_REC) || slo_violation_parse(value, len, &v, NULL) != ST_OK)
		return;
	if (s->swarm && strcmp(s->swarm, v.swarm) != 0) {
		slo_violation_release(&v);
		return;
	}
	xgrow(&s->out->v, &s->out->cap, s->out->n + 1, sizeof *s->out->v);
	s->out->v[s->out->n++] = v;
}

static int
by_opened(const void *a, const void *b)
{
	const struct slo_violation *x = a, *y = b;
	int c;

	if (x->opened != y->opened)
		return x->opened < y->opened ? -1 : 1;
	if ((c = strcmp(x->swarm, y->swarm)) != 0)
		return c;
	return x->kind != y->kind ? (x->kind < y->kind ? -1 : 1) : 0;
}

enum status
slo_violations_list(struct bus *b, const char *swarm, struct slo_violations *out,
		    struct err *e)
{
	struct viol_scan s = { out, swarm };
	enum status st;

	memset(out, 0, sizeof *out);
	if ((st = slo_snapshot(b, SLO_EPISODE_BUCKET, take_violation, &s, e)) != ST_OK) {
		slo_violations_release(out);
		return st;
	}
	if (out->n)
		qsort(out->v, out->n, sizeof *out->v, by_opened);
	return ST_OK;
}

void
slo_violations_release(struct slo_violations *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		slo_violation_release(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
}
