/* Budgets: see budget.h. */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/budget.h"
#include "core/coord.h"
#include "core/governor.h"
#include "core/json.h"
#include "core/ledger.h"
#include "core/price.h"
#include "core/task.h"
#include "core/util.h"

static const char *const kind_prefix[] = { [BUDGET_SWARM] = "swarm.", [BUDGET_TASK] = "task." };
static const int thresholds[] = { 50, 75, 90, 100 };

void
budget_release(struct budget *b)
{
	free(b->id);
	free(b->swarm);
	free(b->task);
	memset(b, 0, sizeof *b);
}

char *
budget_key(enum budget_kind kind, const char *id)
{
	return xasprintf("%s%s", kind_prefix[kind], id);
}

/*
 * The thresholds of a budget, ascending: 50, 75, 90, 100 and warn_pct (the
 * policy's budget_warning_threshold; 0: none) among them; how many.
 */
static size_t
thresholds_with(int warn_pct, int out[ARRAY_SIZE(thresholds) + 1])
{
	size_t i, n = 0;
	bool added = warn_pct <= 0 || warn_pct > 100;

	for (i = 0; i < ARRAY_SIZE(thresholds); i++) {
		if (!added && warn_pct <= thresholds[i]) {
			added = true;
			if (warn_pct < thresholds[i])
				out[n++] = warn_pct;
		}
		out[n++] = thresholds[i];
	}
	return n;
}

/* The policy's warning threshold for a budget's swarm, in percent. */
static int
warn_pct_of(const struct budget *b)
{
	return governor_budget_warning_pct(b->swarm);
}

int
budget_threshold(int64_t spent, int64_t allocated, int warn_pct)
{
	int t[ARRAY_SIZE(thresholds) + 1], pct = 0;
	size_t i, n = thresholds_with(warn_pct, t);

	if (spent <= 0)
		return 0;
	for (i = 0; i < n; i++)
		if (allocated <= 0 || spent * 100 >= allocated * t[i])	/* < 2^63 */
			pct = t[i];
	return pct;
}

#define BF(n, t, f, fld, lo, hi) { n, t, f, offsetof(struct budget, fld), lo, hi, NULL }
static const struct json_field budget_fields[] = {
	{ "v", JF_INT, JF_REQUIRED, 0, 1, 1, NULL },	/* read into a scratch int below */
	BF("swarm", JF_STR, JF_NULLABLE, swarm, 0, 0),
	BF("task", JF_STR, JF_NULLABLE, task, 0, 0),
	BF("allocated_micros", JF_I64, JF_REQUIRED, allocated, 0, MONEY_MAX),
	BF("reserved_micros", JF_I64, JF_REQUIRED, reserved, 0, MONEY_MAX),
	BF("spent_micros", JF_I64, JF_REQUIRED, spent, 0, MONEY_MAX),
	BF("overrun_micros", JF_I64, 0, overrun, 0, MONEY_MAX),
	BF("reservations", JF_I64, 0, reservations, 0, JSON_INT_MAX),
	BF("threshold_pct", JF_INT, 0, threshold_pct, 0, 100),
	BF("last_usage_seq", JF_I64, 0, last_usage_seq, 0, JSON_INT_MAX),
	BF("created", JF_I64, 0, created, 0, JSON_INT_MAX),
	BF("updated", JF_I64, 0, updated, 0, JSON_INT_MAX),
};

/* The kind and id a key names; false when it names no budget. */
static bool
key_split(const char *key, enum budget_kind *kind, const char **id)
{
	size_t k;

	for (k = 0; k < ARRAY_SIZE(kind_prefix); k++)
		if (has_prefix(key, kind_prefix[k]) && task_id_valid(key + strlen(kind_prefix[k]))) {
			*kind = (enum budget_kind)k;
			*id = key + strlen(kind_prefix[k]);
			return true;
		}
	return false;
}

enum status
budget_parse(const char *key, const char *json, size_t len, struct budget *out, struct err *e)
{
	struct json_doc doc = JSON_DOC_INIT;
	struct { int v; } scratch;
	struct json_field f[ARRAY_SIZE(budget_fields)];
	const char *id;
	enum status st;

	memset(out, 0, sizeof *out);
	if (!key_split(key, &out->kind, &id))
		return err_set(e, ST_INVALID_RECORD, "budget key '%s' is not swarm.ID or task.ID", key);
	memcpy(f, budget_fields, sizeof f);
	st = json_parse(json, len, key, &doc, e);
	if (st == ST_OK && doc.root->type != JSON_OBJECT)
		st = err_set(e, ST_BAD_JSON, "%s: not an object", key);
	if (st == ST_OK)
		st = json_read_fields(doc.root, f, 1, 0, &scratch, key, e);
	if (st == ST_OK)
		st = json_read_fields(doc.root, f + 1, ARRAY_SIZE(f) - 1, 0, out, key, e);
	json_doc_release(&doc);
	out->id = xstrdup(id);
	if (st == ST_OK && out->kind == BUDGET_SWARM && (out->swarm == NULL || strcmp(out->swarm, id)))
		st = err_set(e, ST_BAD_VALUE, "%s: its swarm is not the one its key names", key);
	if (st == ST_OK && out->kind == BUDGET_TASK && (out->task == NULL || strcmp(out->task, id)))
		st = err_set(e, ST_BAD_VALUE, "%s: its task is not the one its key names", key);
	if (st == ST_OK && (out->reserved > out->allocated || out->reservations < 0))
		st = err_set(e, ST_BAD_VALUE, "%s: more reserved than allocated", key);
	if (st != ST_OK) {
		enum budget_kind k = out->kind;
		budget_release(out);
		out->kind = k;
		err_prefix(e, "invalid budget record");
		if (e)
			e->code = ST_INVALID_RECORD;
		return ST_INVALID_RECORD;
	}
	return ST_OK;
}

void
budget_json(const struct budget *b, struct buf *out)
{
	buf_addc(out, '{');
	json_kv_int(out, "allocated_micros", b->allocated);
	json_kv_int(out, "created", b->created);
	json_kv_int(out, "last_usage_seq", (long long)b->last_usage_seq);
	json_kv_int(out, "overrun_micros", b->overrun);
	json_kv_int(out, "reservations", b->reservations);
	json_kv_int(out, "reserved_micros", b->reserved);
	json_kv_int(out, "spent_micros", b->spent);
	json_kv_str(out, "swarm", b->swarm);
	json_kv_str(out, "task", b->task);
	json_kv_int(out, "threshold_pct", b->threshold_pct);
	json_kv_int(out, "updated", b->updated);
	json_kv_int(out, "v", 1);
	buf_addc(out, '}');
}

enum status
budget_get(struct bus *bus, enum budget_kind kind, const char *id, struct budget *out,
	   struct err *e)
{
	struct bus_kv_entry ent = BUS_KV_ENTRY_INIT;
	char *key = budget_key(kind, id);
	enum status st = bus_kv_get(bus, BUDGET_BUCKET, key, &ent, e);

	if (st == ST_NOT_FOUND)
		err_set(e, ST_NOT_FOUND, "no budget '%s' (set one with 'ifctl cost allocate')", key);
	if (st == ST_OK) {
		st = budget_parse(key, ent.value.s, ent.value.len, out, e);
		out->rev = ent.revision;
	}
	buf_release(&ent.value);
	free(key);
	return st;
}

/* What a listing collects from the snapshot. */
struct budget_scan {
	struct budget *v;
	size_t n, cap, bad;
};

/* Take one record of the snapshot: a budget that parses, or count a bad one. */
static void
list_take(void *arg, const char *key, const char *value, size_t len, uint64_t rev)
{
	struct budget_scan *s = arg;
	struct budget b;

	if (budget_parse(key, value, len, &b, NULL) == ST_OK) {
		b.rev = rev;
		xgrow(&s->v, &s->cap, s->n + 1, sizeof *s->v);
		s->v[s->n++] = b;
	} else if (has_prefix(key, "swarm.") || has_prefix(key, "task.")) {
		s->bad++;
	}
}

enum status
budget_list(struct bus *bus, struct budget **out, size_t *n, size_t *bad, struct err *e)
{
	struct budget_scan s = { NULL, 0, 0, 0 };
	enum status st = bus_kv_snapshot(bus, BUDGET_BUCKET, list_take, &s, e);

	while (st != ST_OK && s.n)
		budget_release(&s.v[--s.n]);
	if (st != ST_OK) {
		free(s.v);
		s.v = NULL;
		s.bad = 0;
	}
	*out = s.v;
	*n = s.n;
	*bad = s.bad;
	return st;
}

/* --- events -------------------------------------------------------------- */

/* The event of a budget: if.v1.evt.budget.<swarm>.<what>, fire and forget. */
static void
budget_event(struct bus *bus, const struct opctx *op, const struct budget *b, const char *what,
	     int pct)
{
	struct buf ev = BUF_INIT;
	char *subject = xasprintf("if.v1.evt.budget.%s.%s", b->swarm ? b->swarm : b->id, what);
	char *key = budget_key(b->kind, b->id);

	buf_adds(&ev, "{");
	json_kv_int(&ev, "allocated_micros", b->allocated);
	json_kv_int(&ev, "at", wall_ms());
	json_kv_str(&ev, "key", key);
	json_kv_int(&ev, "pct", pct);
	json_kv_int(&ev, "spent_micros", b->spent);
	json_kv_str(&ev, "swarm", b->swarm);
	json_kv_str(&ev, "task", b->task);
	json_kv_str(&ev, "trace", op->trace_id);
	json_kv_str(&ev, "type", "budget");
	json_kv_int(&ev, "v", 1);
	json_kv_str(&ev, "verb", what);
	buf_addc(&ev, '}');
	bus_publish(bus, subject, ev.s, ev.len, NULL);
	buf_release(&ev);
	free(subject);
	free(key);
}

/* Witness a change of a budget (budget.<event>), with its amounts. */
static void
budget_witness(const struct opctx *op, const struct budget *b, const char *event, int64_t cost)
{
	struct buf what = BUF_INIT;
	struct witness_note n = { .component = "cost", .event = event, .actor = op->actor,
				  .swarm = b->swarm, .task = b->task, .cost_micros = cost };

	budget_json(b, &what);
	n.payload = what.s;
	ledger_witness(op, &n);
	buf_release(&what);
}

void
budget_on_exhausted(struct bus *bus, struct opctx *op, const struct budget *b)
{
	struct opctx trip;
	struct buf reason = BUF_INIT;

	budget_event(bus, op, b, "exhausted", 100);
	budget_witness(op, b, "budget.exhausted", 0);
	if (b->kind != BUDGET_SWARM)
		return;	/* a task's budget: the task stops, its swarm goes on */
	/* Under op's trace and actor, but its checks stay out of the caller's. */
	opctx_init(&trip, op->trace_id);
	trip.actor = op->actor;
	trip.witness = op->witness;
	trip.justification = op->justification;
	buf_adds(&reason, "budget exhausted: spent ");
	money_format(&reason, b->spent);
	buf_adds(&reason, " of ");
	money_format(&reason, b->allocated);
	buf_adds(&reason, " USD");
	governor_breaker_trip(bus, &trip, b->id, reason.s, NULL);	/* unregistered: no breaker */
	trip.justification = NULL;
	opctx_release(&trip);
	buf_release(&reason);
}

/*
 * The policy's budget_warning_threshold crossed: also published as
 * if.v1.evt.governor.budget-warning.<swarm>, what the governor documents.
 */
static void
budget_warning_event(struct bus *bus, const struct opctx *op, const struct budget *b, int pct)
{
	struct buf ev = BUF_INIT;
	char *subject = xasprintf("if.v1.evt.governor.budget-warning.%s", b->swarm ? b->swarm : b->id);

	buf_addc(&ev, '{');
	json_kv_int(&ev, "allocated_micros", b->allocated);
	json_kv_int(&ev, "reserved_micros", b->reserved);
	json_kv_int(&ev, "spent_micros", b->spent);
	json_kv_str(&ev, "swarm", b->swarm ? b->swarm : b->id);
	json_kv_num(&ev, "threshold", pct / 100.0);
	json_kv_str(&ev, "trace", op->trace_id);
	json_kv_str(&ev, "type", "budget-warning");
	json_kv_int(&ev, "v", 1);
	buf_addc(&ev, '}');
	bus_publish(bus, subject, ev.s, ev.len, NULL);
	buf_release(&ev);
	free(subject);
}

/* One event per threshold crossed between old and b's (exclusive, inclusive). */
static void
raise_crossings(struct bus *bus, struct opctx *op, const struct budget *b, int old)
{
	char *key = budget_key(b->kind, b->id), payload[160];
	struct witness_note n = { .component = "cost", .event = "budget.threshold",
				  .actor = op->actor, .swarm = b->swarm, .task = b->task,
				  .payload = payload };
	int t[ARRAY_SIZE(thresholds) + 1], warn = warn_pct_of(b);
	size_t i, nt = thresholds_with(warn, t);

	for (i = 0; i < nt; i++)
		if (t[i] > old && t[i] <= b->threshold_pct) {
			budget_event(bus, op, b, "threshold", t[i]);
			snprintf(payload, sizeof payload, "{\"key\":\"%s\",\"pct\":%d}", key, t[i]);
			ledger_witness(op, &n);
			if (t[i] == warn)
				budget_warning_event(bus, op, b, t[i]);
			if (t[i] == 100)
				budget_on_exhausted(bus, op, b);
		}
	free(key);
}

/* --- compare-and-swap changes -------------------------------------------- */

/*
 * A change: fn edits b (exists false: a fresh record) and returns ST_OK to
 * write it, ST_EXISTS when there is nothing to write, or a refusal.
 */
typedef enum status (*change_fn)(struct budget *b, bool exists, void *arg, struct err *e);

/* Back off after a lost race: yield, then sleep up to a millisecond, growing. */
static void
backoff(unsigned attempt)
{
	if (attempt < 8) {
		sched_yield();
		return;
	}
	usleep((useconds_t)(rand() % (attempt < 64 ? attempt * 4 : 250) + 1));
}

/* Write b at its revision (or create it); ST_CONFLICT when someone was first. */
static enum status
write_budget(struct bus *bus, const struct budget *b, bool exists, uint64_t *rev, struct err *e)
{
	struct buf json = BUF_INIT;
	char *key = budget_key(b->kind, b->id);
	enum status st;

	budget_json(b, &json);
	if (exists)
		st = bus_kv_update(bus, BUDGET_BUCKET, key, json.s, json.len, b->rev, rev, e);
	else
		st = bus_kv_create(bus, BUDGET_BUCKET, key, json.s, json.len, rev, e);
	if (st == ST_EXISTS)
		st = ST_CONFLICT;
	buf_release(&json);
	free(key);
	return st;
}

/* Deep copy of a budget (its strings too). */
static void
budget_copy(struct budget *dst, const struct budget *src)
{
	*dst = *src;
	dst->id = xstrdup_or_null(src->id);
	dst->swarm = xstrdup_or_null(src->swarm);
	dst->task = xstrdup_or_null(src->task);
}

/*
 * Group commit. Changes of one budget made at the same time by threads of
 * one process are applied in turn to one read of the record and written by
 * one compare-and-swap, so they never race each other; processes race
 * through the CAS as before. A change waits while another thread writes the
 * same budget, then the first waiting thread writes every change queued
 * meanwhile. Each change keeps its own outcome (a refused reservation does
 * not stop the others), its own witness entries and its own threshold
 * crossings, in the order applied.
 */
struct change {
	change_fn fn;
	void *arg;
	struct opctx *op;
	const char *event;
	int64_t cost;
	enum status st;		/* ST_OK, ST_EXISTS (nothing to write), or its failure */
	struct err err;
	struct budget out;	/* the record after this change (or as it refused) */
	bool have_out;
	int old_pct;		/* the threshold before it */
	bool done;
	struct change *next;
};

struct combiner {
	char *name;		/* server URL, space, key */
	int refs;
	bool busy;		/* a thread is writing a batch */
	struct change *head, **tail;
	pthread_cond_t cv;
	struct combiner *next;
};

static pthread_mutex_t comb_mu = PTHREAD_MUTEX_INITIALIZER;
static struct combiner *combiners;

/* The combiner of a budget on a server, made when missing; comb_mu held. */
static struct combiner *
combiner_get(const char *name)
{
	struct combiner *c;

	for (c = combiners; c; c = c->next)
		if (strcmp(c->name, name) == 0)
			break;
	if (c == NULL) {
		c = xcalloc(1, sizeof *c);
		c->name = xstrdup(name);
		c->tail = &c->head;
		pthread_cond_init(&c->cv, NULL);
		c->next = combiners;
		combiners = c;
	}
	c->refs++;
	return c;
}

/* Drop a reference; the last one frees it. comb_mu held. */
static void
combiner_put(struct combiner *c)
{
	struct combiner **pp;

	if (--c->refs > 0)
		return;
	for (pp = &combiners; *pp != c; pp = &(*pp)->next)
		;
	*pp = c->next;
	pthread_cond_destroy(&c->cv);
	free(c->name);
	free(c);
}

/* Apply each change of the batch in turn to b; is there anything to write? */
static bool
apply_batch(struct budget *b, bool *exists, struct change *batch)
{
	struct change *ch;
	bool write = false;

	for (ch = batch; ch; ch = ch->next) {
		ch->old_pct = b->threshold_pct;
		err_clear(&ch->err);
		ch->st = ch->fn(b, *exists, ch->arg, &ch->err);
		if (ch->st == ST_OK) {
			b->threshold_pct = budget_threshold(b->spent, b->allocated,
							    warn_pct_of(b));
			b->updated = wall_ms();
			*exists = write = true;
		}
		if (ch->have_out)
			budget_release(&ch->out);
		budget_copy(&ch->out, b);
		ch->have_out = true;
	}
	return write;
}

/* Read, apply and write one batch until the CAS holds; then the events. */
static void
write_batch(struct bus *bus, enum budget_kind kind, const char *id, struct change *batch)
{
	struct change *ch;
	struct budget b;
	struct err e = ERR_INIT;
	enum status st = ST_CONFLICT;
	unsigned attempt;
	bool exists, existed;

	for (attempt = 0; attempt < BUDGET_RETRIES && st == ST_CONFLICT; attempt++) {
		if (attempt)
			backoff(attempt);
		st = budget_get(bus, kind, id, &b, &e);
		if (st != ST_OK && st != ST_NOT_FOUND)
			break;
		existed = exists = st == ST_OK;
		if (!exists) {
			memset(&b, 0, sizeof b);
			b.kind = kind;
			b.id = xstrdup(id);
			b.created = wall_ms();
		}
		st = apply_batch(&b, &exists, batch) ? write_budget(bus, &b, existed, &b.rev, &e)
						     : ST_OK;
		budget_release(&b);
	}
	if (st == ST_CONFLICT)
		err_set(&e, ST_CONFLICT, "budget '%s%s' changed under every one of %d attempts",
			kind_prefix[kind], id, BUDGET_RETRIES);
	for (ch = batch; ch; ch = ch->next) {
		if (st != ST_OK) {	/* the write failed: so did every change */
			ch->st = st;
			ch->err = e;
		} else if (ch->st == ST_OK) {
			budget_witness(ch->op, &ch->out, ch->event, ch->cost);
			raise_crossings(bus, ch->op, &ch->out, ch->old_pct);
		}
	}
}

/* Queue ch on c and wait until a batch with it is written (c's lock: comb_mu). */
static void
combine(struct combiner *c, struct bus *bus, enum budget_kind kind, const char *id,
	struct change *ch)
{
	struct change *batch;

	*c->tail = ch;
	c->tail = &ch->next;
	while (!ch->done) {
		if (c->busy) {
			pthread_cond_wait(&c->cv, &comb_mu);
			continue;
		}
		batch = c->head;
		c->head = NULL;
		c->tail = &c->head;
		c->busy = true;
		pthread_mutex_unlock(&comb_mu);
		write_batch(bus, kind, id, batch);
		pthread_mutex_lock(&comb_mu);
		for (; batch; batch = batch->next)
			batch->done = true;
		c->busy = false;
		pthread_cond_broadcast(&c->cv);
	}
}

/* Evaluate a change without writing (--mode=falsify). */
static enum status
dry_change(struct bus *bus, enum budget_kind kind, const char *id, struct change *ch)
{
	struct budget b;
	enum status st = budget_get(bus, kind, id, &b, &ch->err);
	bool exists = st == ST_OK;

	if (st != ST_OK && st != ST_NOT_FOUND)
		return st;
	if (!exists) {
		memset(&b, 0, sizeof b);
		b.kind = kind;
		b.id = xstrdup(id);
	}
	apply_batch(&b, &exists, ch);
	budget_release(&b);
	return ch->st;
}

static enum status
budget_change(struct bus *bus, struct opctx *op, enum budget_kind kind, const char *id,
	      change_fn fn, void *arg, const char *event, int64_t cost, struct budget *out,
	      struct err *e)
{
	struct change ch = { .fn = fn, .arg = arg, .op = op, .event = event, .cost = cost,
			     .err = ERR_INIT };
	struct combiner *c;
	char *name;
	enum status st;

	if (!task_id_valid(id))
		return err_set(e, ST_BAD_VALUE, "'%s' is not a swarm or task id", id);
	if (op->falsify) {
		st = dry_change(bus, kind, id, &ch);
	} else {
		name = xasprintf("%s %s%s", bus_url(bus), kind_prefix[kind], id);
		pthread_mutex_lock(&comb_mu);
		c = combiner_get(name);
		combine(c, bus, kind, id, &ch);
		combiner_put(c);
		pthread_mutex_unlock(&comb_mu);
		free(name);
		st = ch.st;
	}
	if (st == ST_EXISTS)
		st = ST_OK;	/* nothing to write */
	if (st != ST_OK && e)
		*e = ch.err;
	if (out && ch.have_out && (st == ST_OK || st == ST_REFUSED))
		*out = ch.out;
	else if (ch.have_out)
		budget_release(&ch.out);
	return st;
}

struct alloc_arg {
	const char *swarm;
	int64_t amount;
	bool from_now;		/* amount is what is left to spend, over spent and reserved */
	bool only_if_missing;	/* an existing budget stays as it is */
	bool created;
};

static enum status
do_allocate(struct budget *b, bool exists, void *arg, struct err *e)
{
	struct alloc_arg *a = arg;
	int64_t amount = a->amount;

	a->created = !exists;
	if (exists && a->only_if_missing)
		return ST_EXISTS;
	if (exists && a->from_now && (!money_add(amount, b->reserved, &amount) ||
				      !money_add(amount, b->spent, &amount)))
		return err_set(e, ST_BAD_VALUE, "budget '%s%s': %lld micro-USD over what is spent "
			       "and reserved passes the largest amount", kind_prefix[b->kind], b->id,
			       (long long)a->amount);
	if (!exists) {
		b->swarm = xstrdup_or_null(b->kind == BUDGET_SWARM ? b->id : a->swarm);
		b->task = b->kind == BUDGET_TASK ? xstrdup(b->id) : NULL;
	} else if (a->swarm && b->kind == BUDGET_TASK) {
		free(b->swarm);
		b->swarm = xstrdup(a->swarm);
	}
	b->allocated = amount;
	return ST_OK;
}

/* Both ways of setting an allocation: one change function, one writer. */
static enum status
allocate(struct bus *bus, struct opctx *op, enum budget_kind kind, const char *id,
	 struct alloc_arg *a, struct budget *out, struct err *e)
{
	if (a->amount < 0 || a->amount > MONEY_MAX)
		return err_set(e, ST_BAD_VALUE, "an allocation is 0 or more (got %lld micro-USD)",
			       (long long)a->amount);
	if (a->swarm && !task_id_valid(a->swarm))
		return err_set(e, ST_BAD_VALUE, "'%s' is not a swarm id", a->swarm);
	return budget_change(bus, op, kind, id, do_allocate, a, "budget.allocate", 0, out, e);
}

enum status
budget_allocate(struct bus *bus, struct opctx *op, enum budget_kind kind, const char *id,
		const char *swarm, int64_t amount, struct budget *out, struct err *e)
{
	struct alloc_arg a = { .swarm = swarm, .amount = amount };

	return allocate(bus, op, kind, id, &a, out, e);
}

enum status
budget_allocate_left(struct bus *bus, struct opctx *op, const char *swarm_id, int64_t left,
		     bool only_if_missing, bool *created, struct budget *out, struct err *e)
{
	struct alloc_arg a = { .amount = left, .from_now = true,
			       .only_if_missing = only_if_missing };
	enum status st = allocate(bus, op, BUDGET_SWARM, swarm_id, &a, out, e);

	if (created)
		*created = st == ST_OK && a.created;
	return st;
}

struct spend_arg {
	int64_t held, spent;
	uint64_t seq;
	bool dup;
};

static enum status
do_reserve(struct budget *b, bool exists, void *arg, struct err *e)
{
	struct spend_arg *s = arg;
	int64_t used, after;
	struct buf m = BUF_INIT;

	if (!exists)
		return err_set(e, ST_NOT_FOUND, "no budget '%s%s' to reserve from (set one with "
			       "'ifctl cost allocate')", kind_prefix[b->kind], b->id);
	if (!money_add(b->spent, b->reserved, &used) || !money_add(used, s->held, &after) ||
	    after > b->allocated) {
		buf_adds(&m, "cannot reserve ");
		money_format(&m, s->held);
		buf_addf(&m, " USD from budget '%s%s': ", kind_prefix[b->kind], b->id);
		money_format(&m, b->allocated - used > 0 ? b->allocated - used : 0);
		buf_adds(&m, " USD left of ");
		money_format(&m, b->allocated);
		err_set(e, ST_REFUSED, "%s", m.s);
		buf_release(&m);
		return ST_REFUSED;
	}
	b->reserved += s->held;
	b->reservations++;
	return ST_OK;
}

enum status
budget_reserve(struct bus *bus, struct opctx *op, enum budget_kind kind, const char *id,
	       int64_t amount, struct budget *out, struct err *e)
{
	struct spend_arg s = { amount, 0, 0, false };

	if (amount <= 0 || amount > MONEY_MAX)
		return err_set(e, ST_BAD_VALUE, "a reservation is more than 0 (got %lld micro-USD)",
			       (long long)amount);
	return budget_change(bus, op, kind, id, do_reserve, &s, "budget.reserve", 0, out, e);
}

/* Give back held (never more than is reserved) and count spent. */
static enum status
do_settle(struct budget *b, bool exists, void *arg, struct err *e)
{
	struct spend_arg *s = arg;

	if (!exists)
		return err_set(e, ST_NOT_FOUND, "no budget '%s%s' to settle against",
			       kind_prefix[b->kind], b->id);
	if (s->seq && s->seq <= b->last_usage_seq) {
		s->dup = true;
		return ST_EXISTS;
	}
	if (s->held > b->reserved)
		return err_set(e, ST_CONFLICT, "budget '%s%s' holds %lld micro-USD, less than the "
			       "%lld given back", kind_prefix[b->kind], b->id, (long long)b->reserved,
			       (long long)s->held);
	if (!money_add(b->spent, s->spent, &b->spent))
		return err_set(e, ST_BAD_VALUE, "budget '%s%s': spent overflows", kind_prefix[b->kind],
			       b->id);
	b->reserved -= s->held;
	if (s->held && b->reservations > 0)
		b->reservations--;
	b->overrun = b->spent + b->reserved > b->allocated ? b->spent + b->reserved - b->allocated : 0;
	if (s->seq)
		b->last_usage_seq = s->seq;
	return ST_OK;
}

enum status
budget_settle(struct bus *bus, struct opctx *op, enum budget_kind kind, const char *id,
	      int64_t held, int64_t spent, uint64_t usage_seq, struct budget *out, bool *dup,
	      struct err *e)
{
	struct spend_arg s = { held, spent, usage_seq, false };
	enum status st;

	if (held < 0 || spent < 0 || held > MONEY_MAX || spent > MONEY_MAX)
		return err_set(e, ST_BAD_VALUE, "amounts settled are 0 or more");
	st = budget_change(bus, op, kind, id, do_settle, &s, "budget.settle", spent, out, e);
	if (dup)
		*dup = s.dup;
	return st;
}

enum status
budget_unreserve(struct bus *bus, struct opctx *op, enum budget_kind kind, const char *id,
		 int64_t held, struct budget *out, struct err *e)
{
	struct spend_arg s = { held, 0, 0, false };

	if (held <= 0 || held > MONEY_MAX)
		return err_set(e, ST_BAD_VALUE, "an amount released is more than 0");
	return budget_change(bus, op, kind, id, do_settle, &s, "budget.release", 0, out, e);
}

/* What a running task still needs: its budget's remainder, else its budget member. */
static int64_t
task_need(struct bus *bus, const struct task *t)
{
	struct budget tb;
	struct buf text = BUF_INIT;
	int64_t need = 0;

	if (budget_get(bus, BUDGET_TASK, t->id, &tb, NULL) == ST_OK) {
		need = tb.allocated - tb.spent - tb.reserved;
		budget_release(&tb);
		return need > 0 ? need : 0;
	}
	if (t->budget > 0) {	/* the task record's USD as a decimal, read exactly */
		buf_addf(&text, "%.6f", t->budget);
		if (money_parse(text.s, "budget", &need, NULL) != ST_OK)
			need = MONEY_MAX;
	}
	buf_release(&text);
	return need;
}

enum status
budget_check_allocation(struct bus *bus, struct opctx *op, enum budget_kind kind,
			const char *id, int64_t amount, struct err *e)
{
	static const enum task_state claimed = TASK_CLAIMED;
	struct coord_cfg cc = { .bucket = COORD_BUCKET, .max_attempts = 1 };
	struct coord_filter f = { .state = &claimed, .swarm = id };
	struct coord_listing l = { 0 };
	struct budget b;
	struct buf ev = BUF_INIT;
	int64_t left;
	enum status st;
	size_t i;

	st = budget_get(bus, kind, id, &b, e);
	if (st == ST_NOT_FOUND)
		memset(&b, 0, sizeof b);
	else if (st != ST_OK)
		return st;
	left = amount - b.spent - b.reserved;
	buf_addf(&ev, "allocated %lld, spent %lld, reserved %lld micro-USD", (long long)amount,
		 (long long)b.spent, (long long)b.reserved);
	check(op, "allocation covers what is spent and reserved", left >= 0 ? ST_OK : ST_REFUSED,
	      NULL, ev.s);
	if (kind == BUDGET_SWARM && (st = coord_list(bus, &cc, &f, &l, e)) == ST_OK) {
		for (i = 0; i < l.n; i++) {
			int64_t need = task_need(bus, &l.tasks[i]);
			char *name = xasprintf("running task '%s' can still be funded", l.tasks[i].id);
			buf_reset(&ev);
			buf_addf(&ev, "needs %lld micro-USD, %lld left", (long long)need,
				 (long long)(left > 0 ? left : 0));
			check(op, name, need <= left ? ST_OK : ST_REFUSED, NULL, ev.s);
			if (need <= left)
				left -= need;
			free(name);
		}
		coord_listing_release(&l);
	}
	if (st == ST_NO_SCHEMA)
		st = ST_OK;
	buf_release(&ev);
	budget_release(&b);
	return st;
}

/* --- the view ------------------------------------------------------------ */

static const struct view_col budget_cols[] = {
	[BC_KEY] = { "key", COL_TEXT, COL_WIDE },
	[BC_SWARM] = { "swarm", COL_TEXT, 0 },
	[BC_TASK] = { "task", COL_TEXT, 0 },
	[BC_ALLOCATED] = { "allocated_usd", COL_NUM, 0 },
	[BC_RESERVED] = { "reserved_usd", COL_NUM, 0 },
	[BC_SPENT] = { "spent_usd", COL_NUM, 0 },
	[BC_REMAINING] = { "remaining_usd", COL_NUM, 0 },
	[BC_USED_PCT] = { "used_pct", COL_NUM, 0 },
	[BC_THRESHOLD] = { "threshold_pct", COL_NUM, COL_WIDE },
	[BC_BURN] = { "burn_usd_per_hour", COL_NUM, 0 },
	[BC_EXHAUSTED_IN] = { "exhausted_in_s", COL_NUM, 0 },
	[BC_RESERVATIONS] = { "reservations", COL_NUM, COL_WIDE },
	[BC_OVERRUN] = { "overrun_usd", COL_NUM, COL_WIDE },
	[BC_ALLOCATED_MICROS] = { "allocated_micros", COL_NUM, COL_DATA },
	[BC_RESERVED_MICROS] = { "reserved_micros", COL_NUM, COL_DATA },
	[BC_SPENT_MICROS] = { "spent_micros", COL_NUM, COL_DATA },
	[BC_REMAINING_MICROS] = { "remaining_micros", COL_NUM, COL_DATA },
	[BC_UPDATED] = { "updated", COL_TIME, COL_WIDE },
};
_Static_assert(ARRAY_SIZE(budget_cols) == BC__COUNT, "one column per budget_col");
static const struct view budget_view_def = VIEW("budgets", budget_cols);

struct rowset *
budget_view(void)
{
	return rows_view(&budget_view_def);
}

/* Seconds as a table shows them: "3h12m", "45s". */
static void
show_duration(struct rowset *rs, size_t r, size_t c, int64_t s)
{
	if (s >= 86400)
		rows_showf(rs, r, c, "%lldd%lldh", (long long)(s / 86400), (long long)(s % 86400 / 3600));
	else if (s >= 3600)
		rows_showf(rs, r, c, "%lldh%lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
	else
		rows_showf(rs, r, c, "%lldm%llds", (long long)(s / 60), (long long)(s % 60));
}

void
budget_view_add(struct rowset *rs, const struct budget *b, int64_t burn)
{
	int64_t remaining = b->allocated - b->spent - b->reserved;
	char *key = budget_key(b->kind, b->id);
	size_t r = rows_add(rs);

	rows_set(rs, r, BC_KEY, key);
	rows_set(rs, r, BC_SWARM, b->swarm);
	rows_set(rs, r, BC_TASK, b->task);
	money_cell(rs, r, BC_ALLOCATED, b->allocated);
	money_cell(rs, r, BC_RESERVED, b->reserved);
	money_cell(rs, r, BC_SPENT, b->spent);
	money_cell(rs, r, BC_REMAINING, remaining);
	if (b->allocated > 0)
		rows_setf(rs, r, BC_USED_PCT, "%.1f", (double)b->spent * 100.0 / (double)b->allocated);
	rows_set_int(rs, r, BC_THRESHOLD, b->threshold_pct);
	if (burn >= 0)
		money_cell(rs, r, BC_BURN, burn);
	if (burn > 0 && remaining > 0) {
		int64_t s = (int64_t)((double)remaining * 3600.0 / (double)burn);	/* a time */
		rows_set_int(rs, r, BC_EXHAUSTED_IN, s);
		show_duration(rs, r, BC_EXHAUSTED_IN, s);
	} else if (remaining <= 0 && b->allocated > 0) {
		rows_set_int(rs, r, BC_EXHAUSTED_IN, 0);
		rows_show(rs, r, BC_EXHAUSTED_IN, "exhausted");
	}
	rows_set_int(rs, r, BC_RESERVATIONS, b->reservations);
	money_cell(rs, r, BC_OVERRUN, b->overrun);
	rows_set_int(rs, r, BC_ALLOCATED_MICROS, b->allocated);
	rows_set_int(rs, r, BC_RESERVED_MICROS, b->reserved);
	rows_set_int(rs, r, BC_SPENT_MICROS, b->spent);
	rows_set_int(rs, r, BC_REMAINING_MICROS, remaining);
	rows_set_time(rs, r, BC_UPDATED, b->updated);
	free(key);
}
