/* SLO objectives, samples and their evaluation: see slo.h. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/slo.h"
#include "core/task.h"
#include "core/util.h"

static const char *const kind_names[] = {
	[SLO_LATENCY] = "latency", [SLO_SUCCESS] = "success", [SLO_AVAILABILITY] = "availability",
};
_Static_assert(ARRAY_SIZE(kind_names) == SLO__KINDS, "one name per slo_kind");

static const char *const sample_kind_names[] = {
	[SLO_SAMPLE_TASK] = "task", [SLO_SAMPLE_RUN] = "run", [SLO_SAMPLE_HEARTBEAT] = "heartbeat",
};
_Static_assert(ARRAY_SIZE(sample_kind_names) == SLO_SAMPLE__KINDS, "one name per sample kind");

static const char *const alert_names[] = { "none", "ticket", "page" };
static const char *const verdict_names[] = { "no-data", "ok", "warn", "breach" };

/* The windows: name and length; the objective's is its own. */
static const struct { const char *name; int64_t seconds; } windows[] = {
	[SLO_W5M] = { "5m", 300 }, [SLO_W30M] = { "30m", 1800 }, [SLO_W1H] = { "1h", 3600 },
	[SLO_W6H] = { "6h", 21600 }, [SLO_W3D] = { "3d", 259200 }, [SLO_WOBJ] = { "objective", 0 },
};
_Static_assert(ARRAY_SIZE(windows) == SLO_W__COUNT, "one entry per slo_win");

/* The SRE workbook's multi-window, multi-burn-rate alerts (table 5-8). */
const struct slo_alert_rule slo_alert_rules[] = {
	{ SLO_ALERT_PAGE, SLO_W1H, SLO_W5M, 14.4 },
	{ SLO_ALERT_PAGE, SLO_W6H, SLO_W30M, 6.0 },
	{ SLO_ALERT_TICKET, SLO_W3D, SLO_W6H, 1.0 },
};
const size_t slo_nalert_rules = ARRAY_SIZE(slo_alert_rules);

const char *
slo_kind_name(enum slo_kind k)
{
	return k < SLO__KINDS ? kind_names[k] : "?";
}

const char *
slo_sample_kind_name(enum slo_sample_kind k)
{
	return k < SLO_SAMPLE__KINDS ? sample_kind_names[k] : "?";
}

const char *
slo_alert_name(enum slo_alert a)
{
	return alert_names[a];
}

const char *
slo_verdict_name(enum slo_verdict v)
{
	return verdict_names[v];
}

int64_t
slo_win_seconds(enum slo_win w)
{
	return windows[w].seconds;
}

const char *
slo_win_name(enum slo_win w)
{
	return windows[w].name;
}

int64_t
slo_window_start(int64_t now_ms, int64_t seconds)
{
	int64_t g = seconds <= 6 * 3600 ? 60000 : 3600000;
	int64_t floor_g = now_ms - ((now_ms % g) + g) % g;

	return floor_g - seconds * 1000 + g;
}

/* --- objectives ----------------------------------------------------------- */

void
slo_objective_init(struct slo_objective *o)
{
	memset(o, 0, sizeof *o);
	o->target[SLO_LATENCY] = SLO_LATENCY_Q;
}

void
slo_objective_release(struct slo_objective *o)
{
	free(o->swarm);
	free(o->by);
	slo_objective_init(o);
}

/* Units of a window: a number then one of these, no space. */
static const struct { const char *unit; int64_t s; } window_units[] = {
	{ "s", 1 }, { "m", 60 }, { "h", 3600 }, { "d", 86400 }, { "w", 604800 },
};

enum status
slo_window_parse(const char *s, int64_t *seconds, struct err *e)
{
	char *end;
	long long n;
	size_t i;

	errno = 0;
	n = strtoll(s, &end, 10);
	for (i = 0; end != s && *s >= '0' && *s <= '9' && errno == 0 && n > 0 &&
		    i < ARRAY_SIZE(window_units); i++) {
		if (strcmp(end, window_units[i].unit) != 0)
			continue;
		if (n > SLO_WINDOW_MAX_S / window_units[i].s ||
		    n * window_units[i].s < SLO_WINDOW_MIN_S)
			break;
		*seconds = n * window_units[i].s;
		return ST_OK;
	}
	return err_set(e, ST_BAD_VALUE, "window '%.40s' is not a length from 1m to 90d such as "
		       "30m, 6h, 7d or 30d (a positive whole number and one of s, m, h, d, w)", s);
}

void
slo_window_text(int64_t seconds, char out[24])
{
	size_t i = ARRAY_SIZE(window_units);

	while (--i > 0 && seconds % window_units[i].s != 0)
		;
	if (i == ARRAY_SIZE(window_units) - 1 && seconds % 86400 == 0 && seconds / 86400 % 7)
		i--;	/* 30d, not 4w2d: weeks only when whole */
	snprintf(out, 24, "%lld%s", (long long)(seconds / window_units[i].s), window_units[i].unit);
}

/* Is s a swarm id: the syntax of a task id (a KV key and subject tokens)? */
static bool
swarm_valid(const char *s)
{
	return s && task_id_valid(s);
}

enum status
slo_objective_check(const struct slo_objective *o, struct err *e)
{
	if (!swarm_valid(o->swarm))
		return err_set(e, ST_BAD_VALUE, "swarm '%.60s' is not a swarm id (letters, digits, "
			       "'-', '_' and '.' between them, at most 128)", o->swarm ? o->swarm : "");
	if (!o->has[SLO_LATENCY] && !o->has[SLO_SUCCESS] && !o->has[SLO_AVAILABILITY])
		return err_set(e, ST_BAD_VALUE, "an objective needs at least one of p99_ms, "
			       "success and availability");
	if (o->has[SLO_LATENCY] && !(o->p99_ms > 0 && o->p99_ms <= SLO_LATENCY_MAX_MS))
		return err_set(e, ST_BAD_VALUE, "p99_ms %g is not a latency in (0, 1e9] ms",
			       o->p99_ms);
	for (int k = SLO_SUCCESS; k <= SLO_AVAILABILITY; k++) {
		if (o->has[k] && !(o->target[k] > 0 && o->target[k] < 1))
			return err_set(e, ST_BAD_VALUE, "%s %g is not a share in (0, 1)%s",
				       kind_names[k], o->target[k], o->target[k] == 1 ?
				       ": 1 leaves no error budget" : " (0.99 is 99 %)");
	}
	if (o->window_s < SLO_WINDOW_MIN_S || o->window_s > SLO_WINDOW_MAX_S)
		return err_set(e, ST_BAD_VALUE, "window of %lld s is not from 1m to 90d",
			       (long long)o->window_s);
	return ST_OK;
}

void
slo_objective_to_json(const struct slo_objective *o, struct buf *out)
{
	char w[24];

	slo_window_text(o->window_s, w);
	buf_addc(out, '{');
	if (o->has[SLO_AVAILABILITY])
		json_kv_num(out, "availability", o->target[SLO_AVAILABILITY]);
	json_kv_str(out, "by", o->by);
	json_kv_int(out, "created", o->created);
	if (o->has[SLO_LATENCY])
		json_kv_num(out, "p99_ms", o->p99_ms);
	if (o->has[SLO_SUCCESS])
		json_kv_num(out, "success", o->target[SLO_SUCCESS]);
	json_kv_str(out, "swarm", o->swarm);
	json_kv_int(out, "updated", o->updated);
	json_kv_int(out, "v", 1);
	json_kv_str(out, "window", w);
	json_kv_int(out, "window_s", o->window_s);
	buf_addc(out, '}');
}

/* A record as read: numbers that may be absent, then moved into the objective. */
struct obj_rec {
	int v;
	char *swarm, *by, *window;
	double p99_ms, success, availability;
	int64_t window_s, created, updated;
};

#define OF(name, type, flags, field, min, max) \
	{ name, type, flags, offsetof(struct obj_rec, field), min, max, NULL }
static const struct json_field obj_fields[] = {
	OF("v", JF_INT, JF_REQUIRED, v, 1, 1),
	OF("swarm", JF_STR, JF_REQUIRED, swarm, 0, 0),
	OF("p99_ms", JF_NUM, JF_NULLABLE, p99_ms, 0, SLO_LATENCY_MAX_MS),
	OF("success", JF_NUM, JF_NULLABLE, success, 0, 1),
	OF("availability", JF_NUM, JF_NULLABLE, availability, 0, 1),
	OF("window", JF_STR, 0, window, 0, 0),
	OF("window_s", JF_I64, JF_REQUIRED, window_s, SLO_WINDOW_MIN_S, SLO_WINDOW_MAX_S),
	OF("created", JF_I64, 0, created, 0, JSON_INT_MAX),
	OF("updated", JF_I64, 0, updated, 0, JSON_INT_MAX),
	OF("by", JF_STR, JF_NULLABLE, by, 0, 0),
};

enum status
slo_objective_parse(const char *key, const char *json, size_t len, struct slo_objective *o,
		    struct err *e)
{
	struct obj_rec r = { .p99_ms = -1, .success = -1, .availability = -1 };
	struct json_doc doc = JSON_DOC_INIT;
	enum status st;

	slo_objective_init(o);
	if ((st = json_parse(json, len, "slo objective", &doc, e)) == ST_OK)
		st = json_read_fields(doc.root, obj_fields, ARRAY_SIZE(obj_fields), 0, &r,
				      "slo objective", e);
	json_doc_release(&doc);
	free(r.window);
	o->swarm = r.swarm;
	o->by = r.by;
	if (st != ST_OK)
		goto fail;
	o->has[SLO_LATENCY] = r.p99_ms >= 0;
	o->p99_ms = r.p99_ms;
	o->has[SLO_SUCCESS] = r.success >= 0;
	o->target[SLO_SUCCESS] = r.success;
	o->has[SLO_AVAILABILITY] = r.availability >= 0;
	o->target[SLO_AVAILABILITY] = r.availability;
	o->window_s = r.window_s;
	o->created = r.created;
	o->updated = r.updated;
	if (key && (o->swarm == NULL || strcmp(key, o->swarm) != 0))
		st = err_set(e, ST_INVALID_RECORD, "slo objective: its swarm is not its key");
	else if ((st = slo_objective_check(o, e)) != ST_OK)
		st = ST_INVALID_RECORD;
	if (st == ST_OK)
		return ST_OK;
fail:
	slo_objective_release(o);
	return st == ST_BAD_JSON ? ST_INVALID_RECORD : st;
}

/* --- samples -------------------------------------------------------------- */

enum status
slo_sample_encode(const struct slo_sample *s, struct buf *out, struct err *e)
{
	bool outcome = s->kind != SLO_SAMPLE_HEARTBEAT;

	if (!swarm_valid(s->swarm))
		return err_set(e, ST_BAD_VALUE, "slo sample: swarm '%.60s' is not a swarm id",
			       s->swarm ? s->swarm : "");
	if (s->kind >= SLO_SAMPLE__KINDS || s->ts <= 0 || s->ts > JSON_INT_MAX)
		return err_set(e, ST_BAD_VALUE, "slo sample: bad kind or time");
	if (outcome && !(s->latency_ms >= 0 && s->latency_ms <= SLO_LATENCY_MAX_MS))
		return err_set(e, ST_BAD_VALUE, "slo sample: latency %g ms is not in [0, 1e9]",
			       s->latency_ms);
	if (s->task && !json_utf8_valid(s->task, strlen(s->task), NULL))
		return err_set(e, ST_BAD_VALUE, "slo sample: task id is not UTF-8");
	buf_addc(out, '{');
	json_kv_str(out, "kind", sample_kind_names[s->kind]);
	if (outcome) {
		json_kv_num(out, "latency_ms", s->latency_ms);
		json_kv_bool(out, "ok", s->ok);
	}
	json_kv_str(out, "swarm", s->swarm);
	if (s->task)
		json_kv_str(out, "task", s->task);
	json_kv_int(out, "ts", s->ts);
	json_kv_int(out, "v", 1);
	buf_addc(out, '}');
	return ST_OK;
}

/* A sample as read, before it is checked. */
struct sample_rec {
	int v;
	const char *swarm, *kind, *task;
	int64_t ts;
	double latency_ms;
	int ok;			/* -1: absent */
};

/* A string member pointing into the document (no copy: samples are many). */
static enum status
read_str_ref(const struct json_value *v, void *dst, struct err *e)
{
	if (v->type != JSON_STRING || strlen(v->str) != v->len)
		return err_set(e, ST_BAD_JSON, "is not a string");
	*(const char **)dst = v->str;
	return ST_OK;
}

static enum status
read_ok(const struct json_value *v, void *dst, struct err *e)
{
	if (v->type != JSON_TRUE && v->type != JSON_FALSE)
		return err_set(e, ST_BAD_JSON, "is not true or false");
	*(int *)dst = v->type == JSON_TRUE;
	return ST_OK;
}

#define SF(name, type, flags, field, min, max, fn) \
	{ name, type, flags, offsetof(struct sample_rec, field), min, max, fn }
static const struct json_field sample_fields[] = {
	SF("v", JF_INT, JF_REQUIRED, v, 1, 1, NULL),
	SF("swarm", JF_CUSTOM, JF_REQUIRED, swarm, 0, 0, read_str_ref),
	SF("kind", JF_CUSTOM, JF_REQUIRED, kind, 0, 0, read_str_ref),
	SF("ts", JF_I64, JF_REQUIRED, ts, 1, JSON_INT_MAX, NULL),
	SF("latency_ms", JF_NUM, 0, latency_ms, 0, SLO_LATENCY_MAX_MS, NULL),
	SF("ok", JF_CUSTOM, 0, ok, 0, 0, read_ok),
	SF("task", JF_CUSTOM, JF_NULLABLE, task, 0, 0, read_str_ref),
};

enum status
slo_sample_parse(const char *json, size_t len, struct slo_sample *s, struct json_doc *doc,
		 struct err *e)
{
	struct sample_rec r = { .latency_ms = -1, .ok = -1 };
	enum status st;
	size_t k;

	memset(s, 0, sizeof *s);
	if (len > SLO_SAMPLE_MAX)
		return err_set(e, ST_BAD_VALUE, "slo sample: %zu bytes, more than %d", len,
			       SLO_SAMPLE_MAX);
	if ((st = json_parse(json, len, "slo sample", doc, e)) != ST_OK ||
	    (st = json_read_fields(doc->root, sample_fields, ARRAY_SIZE(sample_fields), 0, &r,
				   "slo sample", e)) != ST_OK)
		return st;
	for (k = 0; k < SLO_SAMPLE__KINDS && strcmp(r.kind, sample_kind_names[k]) != 0; k++)
		;
	if (k == SLO_SAMPLE__KINDS)
		return err_set(e, ST_BAD_VALUE, "slo sample: kind '%.20s' is not task, run or "
			       "heartbeat", r.kind);
	if (!swarm_valid(r.swarm))
		return err_set(e, ST_BAD_VALUE, "slo sample: swarm is not a swarm id");
	if (k != SLO_SAMPLE_HEARTBEAT && (r.latency_ms < 0 || r.ok < 0))
		return err_set(e, ST_BAD_VALUE, "slo sample: a %s outcome needs latency_ms and ok",
			       sample_kind_names[k]);
	s->swarm = r.swarm;
	s->kind = (enum slo_sample_kind)k;
	s->ts = r.ts;
	s->latency_ms = r.latency_ms < 0 ? 0 : r.latency_ms;
	s->ok = r.ok > 0;
	s->task = r.task;
	return ST_OK;
}

enum status
slo_sample_publish(struct bus *b, const struct slo_sample *s, struct err *e)
{
	struct buf body = BUF_INIT, subject = BUF_INIT;
	enum status st = slo_sample_encode(s, &body, e);

	if (st == ST_OK) {
		buf_addf(&subject, "%s%s", SLO_SUBJECT_PREFIX, s->swarm);
		st = bus_publish(b, subject.s, body.s, body.len, e);
	}
	buf_release(&subject);
	buf_release(&body);
	return st;
}

enum status
slo_heartbeat(struct bus *b, const char *swarm, int64_t ts, struct err *e)
{
	struct slo_sample s = { .swarm = swarm, .kind = SLO_SAMPLE_HEARTBEAT, .ts = ts };

	return slo_sample_publish(b, &s, e);
}

/* The last claim in t's history before entry 'before': its index, or -1. */
static long
last_claim(const struct task *t, size_t before)
{
	size_t i = before;

	while (i-- > 0)
		if (t->hist[i].state == TASK_CLAIMED)
			return (long)i;
	return -1;
}

/* An outcome of swarm for task t claimed at claim_at, ended at t->updated. */
static void
note_outcome(struct bus *b, const struct task *t, const char *swarm, int64_t claim_at, bool ok)
{
	struct slo_sample s = { .swarm = swarm, .kind = SLO_SAMPLE_TASK, .ts = t->updated,
				.ok = ok, .task = t->id };

	if (swarm == NULL || claim_at <= 0 || t->updated < claim_at)
		return;
	s.latency_ms = (double)(t->updated - claim_at);
	slo_sample_publish(b, &s, NULL);
}

void
slo_note_task(struct bus *b, const struct task *t, const char *verb, const char *by)
{
	long c;

	if (strcmp(verb, "heartbeat") == 0 || strcmp(verb, "claim") == 0) {
		slo_heartbeat(b, by, t->updated, NULL);
	} else if (strcmp(verb, "complete") == 0 || strcmp(verb, "fail") == 0) {
		/* the entry just added is the outcome: the claim is before it */
		if ((c = last_claim(t, t->nhist ? t->nhist - 1 : 0)) >= 0)
			note_outcome(b, t, by, t->hist[c].at, verb[0] == 'c');
	} else if (strcmp(verb, "takeover") == 0) {
		/* the last entry is the new claim; the one before is the lapsed owner's */
		if (t->nhist && (c = last_claim(t, t->nhist - 1)) >= 0)
			note_outcome(b, t, t->hist[c].by, t->hist[c].at, false);
		slo_heartbeat(b, by, t->updated, NULL);
	} else if (strcmp(verb, "dead") == 0) {
		if (t->nhist && (c = last_claim(t, t->nhist - 1)) >= 0)
			note_outcome(b, t, t->hist[c].by, t->hist[c].at, false);
	}
}

int64_t
slo_heartbeat_interval_ms(const struct config *c, const struct slo_intervals *iv,
			  const char *swarm)
{
	size_t lo = 0, hi = iv ? iv->n : 0;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int cmp = strcmp(swarm, iv->swarm[mid]);
		if (cmp == 0)
			return iv->ms[mid];
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return cfg_int(c, CK_SLO_HEARTBEAT_INTERVAL_MS);
}

void
slo_intervals_release(struct slo_intervals *iv)
{
	strv_free(iv->swarm, iv->n);
	free(iv->ms);
	memset(iv, 0, sizeof *iv);
}

/* --- evaluation ------------------------------------------------------------ */

void
slo_result_release(struct slo_result *r)
{
	free(r->swarm);
	memset(r, 0, sizeof *r);
}

/* Bad and total events of kind k in window counts c. */
static void
bad_total(enum slo_kind k, const struct slo_counts *c, uint64_t *bad, uint64_t *total)
{
	switch (k) {
	case SLO_LATENCY:
		*bad = c->slow;
		*total = c->n;
		break;
	case SLO_SUCCESS:
		*bad = c->n - c->ok;
		*total = c->n;
		break;
	default:
		*total = c->expected;
		*bad = c->up < c->expected ? c->expected - c->up : 0;
		break;
	}
}

/* The share that must be good: the latency objective's quantile, or the target. */
static double
good_share(const struct slo_objective *o, enum slo_kind k)
{
	return k == SLO_LATENCY ? SLO_LATENCY_Q : o->target[k];
}

/* Window bounds as text for --why. */
static void
window_text(const struct slo_counts *c, char *out, size_t n)
{
	char a[32], b[32];

	fmt_time_ms(a, c->start);
	fmt_time_ms(b, c->end);
	snprintf(out, n, "%s to %s", a, b);
}

/* Burn rates of kind k in every window. */
static void
eval_burns(const struct slo_objective *o, enum slo_kind k, const struct slo_counts c[],
	   struct opctx *op, struct slo_obj_result *res)
{
	double allowed = 1 - good_share(o, k);
	uint64_t bad, total;
	char when[80];
	int w;

	for (w = 0; w < SLO_W__COUNT; w++) {
		bad_total(k, &c[w], &bad, &total);
		res->burn_data[w] = total > 0;
		res->burn[w] = total ? ((double)bad / (double)total) / allowed : 0;
		if (!op || !op->explain)
			continue;
		window_text(&c[w], when, sizeof when);
		if (total)
			why_add(op, "burn", slo_win_name(w), "%s %s: %llu bad of %llu = %.6g; / (1 - "
				"%.6g) = %.4gx; %s", o->swarm, kind_names[k],
				(unsigned long long)bad, (unsigned long long)total,
				(double)bad / (double)total, good_share(o, k), res->burn[w], when);
		else
			why_add(op, "burn", slo_win_name(w), "%s %s: no data in %s", o->swarm,
				kind_names[k], when);
	}
}

/* The highest alert whose two windows both burn at its factor. */
static enum slo_alert
eval_alert(const struct slo_obj_result *res, struct opctx *op, const char *swarm,
	   enum slo_kind k, char *reason, size_t n)
{
	enum slo_alert a = SLO_ALERT_NONE;
	size_t i;

	for (i = 0; i < slo_nalert_rules; i++) {
		const struct slo_alert_rule *r = &slo_alert_rules[i];
		bool fire = res->burn_data[r->long_w] && res->burn_data[r->short_w] &&
			    res->burn[r->long_w] >= r->factor && res->burn[r->short_w] >= r->factor;
		if (op && op->explain)
			why_add(op, "alert", alert_names[r->severity], "%s %s: burn %.4gx over %s "
				"and %.4gx over %s, both >= %g? %s", swarm, kind_names[k],
				res->burn[r->long_w], windows[r->long_w].name, res->burn[r->short_w],
				windows[r->short_w].name, r->factor, fire ? "yes" : "no");
		if (fire && r->severity > a) {
			a = r->severity;
			snprintf(reason, n, "%s burn %.3gx over %s and %.3gx over %s (>= %g)",
				 alert_names[a], res->burn[r->long_w], windows[r->long_w].name,
				 res->burn[r->short_w], windows[r->short_w].name, r->factor);
		}
	}
	return a;
}

/* What kind k measures over the objective window; false when nothing. */
static bool
eval_measured(const struct slo_objective *o, enum slo_kind k, const struct slo_counts *c,
	      const struct sketch *lat, struct slo_obj_result *res)
{
	uint64_t bad, total;
	double allowed;

	bad_total(k, c, &bad, &total);
	res->total = total;
	res->good = total - bad;
	if (total == 0)
		return false;
	if (k == SLO_LATENCY) {
		double us;
		if (lat == NULL || !sketch_quantile(lat, SLO_LATENCY_Q, &us))
			return false;
		res->measured = us / 1000.0;
		res->met = res->measured <= o->p99_ms;
	} else {
		res->measured = (double)(total - bad) / (double)total;
		res->met = res->measured >= o->target[k];
	}
	allowed = (1 - good_share(o, k)) * (double)total;
	res->budget_left = 1 - (double)bad / allowed;
	return true;
}

/* One objective kind k of o. */
static void
eval_kind(const struct slo_objective *o, enum slo_kind k, const struct slo_counts c[],
	  const struct sketch *lat, struct opctx *op, struct slo_obj_result *res)
{
	const struct slo_counts *cw = &c[SLO_WOBJ];
	char when[80], alert_reason[160] = "";
	enum slo_alert a;

	memset(res, 0, sizeof *res);
	res->defined = true;
	res->target = k == SLO_LATENCY ? o->p99_ms : o->target[k];
	window_text(cw, when, sizeof when);
	res->data = eval_measured(o, k, cw, lat, res);
	eval_burns(o, k, c, op, res);
	a = eval_alert(res, op, o->swarm, k, alert_reason, sizeof alert_reason);
	res->alert = a;
	if (!res->data) {
		res->verdict = SLO_NO_DATA;
		snprintf(res->reason, sizeof res->reason, "no data in the objective window");
	} else if (!res->met) {
		res->verdict = SLO_BREACH;
		if (k == SLO_LATENCY)
			snprintf(res->reason, sizeof res->reason, "p99 %.4g ms > %.4g ms",
				 res->measured, res->target);
		else
			snprintf(res->reason, sizeof res->reason, "%s %.6g < %.6g", kind_names[k],
				 res->measured, res->target);
	} else if (a == SLO_ALERT_PAGE) {
		res->verdict = SLO_BREACH;
		snprintf(res->reason, sizeof res->reason, "%s", alert_reason);
	} else if (a == SLO_ALERT_TICKET) {
		res->verdict = SLO_WARN;
		snprintf(res->reason, sizeof res->reason, "%s", alert_reason);
	} else {
		res->verdict = SLO_OK;
		snprintf(res->reason, sizeof res->reason, "met; %.3g%% of the error budget left",
			 res->budget_left * 100);
	}
	if (op && op->explain) {
		if (res->data)
			why_add(op, "objective", kind_names[k], "%s: %s %.6g against %.6g over %s "
				"(%llu good of %llu); budget left 1 - %llu / ((1 - %.6g) * %llu) = "
				"%.4g; %s", o->swarm, k == SLO_LATENCY ? "p99 ms" : "measured",
				res->measured, res->target, when, (unsigned long long)res->good,
				(unsigned long long)res->total,
				(unsigned long long)(res->total - res->good), good_share(o, k),
				(unsigned long long)res->total, res->budget_left,
				verdict_names[res->verdict]);
		else
			why_add(op, "objective", kind_names[k], "%s: no data over %s: no data",
				o->swarm, when);
	}
}

void
slo_evaluate(const struct slo_objective *o, const struct slo_counts c[SLO_W__COUNT],
	     const struct sketch *lat, struct opctx *op, struct slo_result *r)
{
	int k;

	memset(r, 0, sizeof *r);
	r->swarm = xstrdup(o->swarm);
	r->verdict = SLO_NO_DATA;
	if (lat && sketch_quantile(lat, SLO_LATENCY_Q, &r->p99_ms)) {
		r->p99_ms /= 1000.0;
		r->has_p99 = true;
	}
	for (k = 0; k < SLO__KINDS; k++) {
		if (!o->has[k])
			continue;
		eval_kind(o, (enum slo_kind)k, c, lat, op, &r->o[k]);
		if (r->o[k].verdict > r->verdict)
			r->verdict = r->o[k].verdict;
	}
}

double
slo_reputation_delta(const struct slo_result *r)
{
	double sum = 0, d;
	int k, n = 0;
	bool page = false;

	for (k = 0; k < SLO__KINDS; k++) {
		const struct slo_obj_result *o = &r->o[k];
		if (!o->defined || !o->data)
			continue;
		sum += o->budget_left > 1 ? 1 : o->budget_left < -1 ? -1 : o->budget_left;
		n++;
		page |= o->alert == SLO_ALERT_PAGE;
	}
	if (n == 0)
		return 0;
	d = 0.05 * sum / n;
	return page ? d - 0.05 : d;
}

void
slo_standing_of(const struct slo_result *r, int64_t now, struct slo_standing *out)
{
	int k;

	memset(out, 0, sizeof *out);
	out->verdict = r->verdict;
	for (k = 0; k < SLO__KINDS; k++)
		if (r->o[k].defined && r->o[k].alert > out->alert)
			out->alert = r->o[k].alert;
	out->delta = round(slo_reputation_delta(r) * 100.0) / 100.0;
	out->since = now;
}

bool
slo_standing_differs(const struct slo_standing *a, const struct slo_standing *b)
{
	return a->verdict != b->verdict || a->alert != b->alert ||
	       fabs(a->delta - b->delta) >= 0.005;
}

double
slo_reputation_apply(double reputation, const struct slo_standing *s)
{
	double r = s ? reputation + s->delta : reputation;

	return r < 0 ? 0 : r > 1 ? 1 : r;
}

bool
slo_blocks_claims(const struct slo_result *r, struct err *e)
{
	int k;

	for (k = 0; k < SLO__KINDS; k++) {
		if (r->o[k].defined && r->o[k].alert == SLO_ALERT_PAGE) {
			err_set(e, ST_REFUSED, "swarm '%s' is in a paging %s burn (%s): no new "
				"claims", r->swarm, kind_names[k], r->o[k].reason);
			return true;
		}
	}
	return false;
}
