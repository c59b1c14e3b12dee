/* The console's model of the fleet: see model.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ledger.h"
#include "core/util.h"
#include "tui/model.h"

#define NS_PER_MS 1000000

void
fleet_init(struct fleet *f)
{
	memset(f, 0, sizeof *f);
	pthread_mutex_init(&f->mu, NULL);
	f->nbuckets = 1024;
	f->buckets = xcalloc(f->nbuckets, sizeof *f->buckets);
	f->tail = xcalloc(FLEET_WITNESS_TAIL, sizeof *f->tail);
	memcpy(f->chain.last_hash, witness_zero_hash, sizeof f->chain.last_hash);
	f->conn = BUS_RECONNECTING;
	domains_init(f);
}

static void
trow_free(struct trow *r)
{
	task_release(&r->t);
	coord_invalid_release(&r->bad);
	free(r);
}

void
fleet_release(struct fleet *f)
{
	struct trow *r, *next;
	size_t i;

	for (i = 0; i < f->nbuckets; i++)
		for (r = f->buckets[i]; r; r = next) {
			next = r->next;
			trow_free(r);
		}
	free(f->buckets);
	fleet_reap(f);
	for (i = 0; i < f->ntail; i++)
		wentry_release(&f->tail[i]);
	free(f->tail);
	domains_release(f);
	pthread_mutex_destroy(&f->mu);
	memset(f, 0, sizeof *f);
}

/* FNV-1a over the id. */
static size_t
hash_id(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (size_t)h;
}

static const char *
trow_id(const struct trow *r)
{
	return r->bad.key ? r->bad.key : r->t.id;
}

/* The chain slot where id is or would go. */
static struct trow **
slot(struct fleet *f, const char *id)
{
	struct trow **p = &f->buckets[hash_id(id) & (f->nbuckets - 1)];

	while (*p && strcmp(trow_id(*p), id) != 0)
		p = &(*p)->next;
	return p;
}

struct trow *
fleet_task(struct fleet *f, const char *id)
{
	return *slot(f, id);
}

void
fleet_each(struct fleet *f, void (*fn)(void *arg, struct trow *r), void *arg)
{
	struct trow *r;
	size_t i;

	for (i = 0; i < f->nbuckets; i++)
		for (r = f->buckets[i]; r; r = r->next)
			fn(arg, r);
}

/* Double the table when it holds more tasks than buckets. */
static void
grow(struct fleet *f)
{
	size_t n = f->nbuckets * 2, i, h;
	struct trow **b = xcalloc(n, sizeof *b), *r, *next;

	for (i = 0; i < f->nbuckets; i++)
		for (r = f->buckets[i]; r; r = next) {
			next = r->next;
			h = hash_id(trow_id(r)) & (n - 1);
			r->next = b[h];
			b[h] = r;
		}
	free(f->buckets);
	f->buckets = b;
	f->nbuckets = n;
}

/* Count r in (+1) or out (-1) of the totals. */
static void
count(struct fleet *f, const struct trow *r, int sign)
{
	size_t *c = r->bad.key ? &f->invalid : &f->by_state[r->t.state];

	*c = sign > 0 ? *c + 1 : *c - 1;
	if (!r->bad.key && r->t.state == TASK_CLAIMED && r->t.owner)
		domains_held(f, r->t.owner, sign);
	f->ntasks = sign > 0 ? f->ntasks + 1 : f->ntasks - 1;
}

/*
 * Put r in place of the task with its id (NULL r: take the task away). A
 * task already there is updated in place, so a pane's pointers to rows stay
 * good between its collections; one taken away waits in the graveyard until
 * fleet_reap(). A revision older than the one held is ignored (the first
 * rows read straight from the stream, then the watch's snapshot).
 */
static void
replace(struct fleet *f, const char *id, struct trow *r)
{
	struct trow **p = slot(f, id), *old = *p, *next;

	if (old && r && r->t.rev && old->t.rev > r->t.rev) {
		trow_free(r);
		return;
	}
	if (old)
		count(f, old, -1);
	if (old && r) {	/* in place: the row keeps its address */
		next = old->next;
		task_release(&old->t);
		coord_invalid_release(&old->bad);
		*old = *r;
		old->next = next;
		free(r);
		count(f, old, +1);
	} else if (old) {
		*p = old->next;
		old->next = f->graveyard;
		f->graveyard = old;
	} else if (r) {
		count(f, r, +1);
		r->next = NULL;
		*p = r;
		if (f->ntasks > f->nbuckets)
			grow(f);
	}
	f->dirty |= FLEET_D_TASKS | FLEET_D_HEADER;
	f->gen++;
}

void
fleet_reap(struct fleet *f)
{
	struct trow *r, *next;

	for (r = f->graveyard; r; r = next) {
		next = r->next;
		trow_free(r);
	}
	f->graveyard = NULL;
}

/* A task row from a record: what the panes show, or why it is not a task. */
static struct trow *
trow_parse(const char *key, const void *value, size_t len, uint64_t rev, bool keep_history)
{
	struct trow *r = xcalloc(1, sizeof *r);
	struct err e = ERR_INIT;

	task_init(&r->t);
	if (coord_record_parse(key, value, len, &r->t, &e) != ST_OK) {
		r->bad.key = xstrdup(key);
		r->bad.rev = rev;
		r->bad.reason = xstrdup(e.msg);
		return r;
	}
	r->t.rev = rev;
	free(r->t.payload);
	free(r->t.result);
	r->t.payload = r->t.result = NULL;
	if (!keep_history) {
		struct task_event *h = r->t.hist;
		size_t i;

		for (i = 0; i < r->t.nhist; i++) {
			free(h[i].by);
			free(h[i].note);
		}
		free(h);
		r->t.hist = NULL;
		r->t.nhist = r->t.histcap = 0;
	}
	return r;
}

/* Tell the console something changed. */
static void
wake(struct fleet *f)
{
	fleet_wake_fn fn = f->wake;	/* read once: the console clears it as it stops */

	if (fn)
		fn(f->wake_arg);
}

/* Apply one event; with keep_history the record's history stays (rewinds). */
static void
task_event(struct fleet *f, const struct bus_kv_event *ev, bool keep_history)
{
	struct trow *r = NULL;

	if (ev->key && has_prefix(ev->key, COORD_IDEM_PREFIX))
		return;
	if (ev->key && ev->op == BUS_KV_PUT)
		r = trow_parse(ev->key, ev->value, ev->len, ev->revision, keep_history);
	pthread_mutex_lock(&f->mu);
	if (ev->snapshot_done) {
		f->tasks_synced = true;
		f->dirty |= FLEET_D_TASKS | FLEET_D_HEADER;
	} else if (ev->key) {	/* a keyless event that is not the snapshot's end names no task */
		replace(f, ev->key, r);
	}
	f->last_data_ms = wall_ms();
	pthread_mutex_unlock(&f->mu);
}

void
fleet_task_event(struct fleet *f, const struct bus_kv_event *ev)
{
	task_event(f, ev, false);
	wake(f);
}

/* The chain check of one entry: the verifier's rules, without the tree. */
static void
chain_add(struct chain_state *c, const struct wentry *e)
{
	if (c->fault != WF_NONE)
		return;
	if (e->seq != c->ok_to + 1) {
		c->fault = e->seq > c->ok_to + 1 ? WF_MISSING : WF_REORDERED;
		c->fault_seq = e->seq > c->ok_to + 1 ? c->ok_to + 1 : e->seq;
		snprintf(c->detail, sizeof c->detail, "entry %llu comes after entry %llu",
			 (unsigned long long)e->seq, (unsigned long long)c->ok_to);
	} else if (!wentry_hash_ok(e)) {
		c->fault = WF_EDITED;
		c->fault_seq = e->seq;
		snprintf(c->detail, sizeof c->detail, "entry %llu was edited: its fields do not "
			 "hash to %.16s...", (unsigned long long)e->seq, e->hash);
	} else if (strcmp(e->prev, c->last_hash) != 0) {
		c->fault = WF_CHAIN;
		c->fault_seq = e->seq;
		snprintf(c->detail, sizeof c->detail, "entry %llu names %.16s... as previous, "
			 "not entry %llu", (unsigned long long)e->seq, e->prev,
			 (unsigned long long)c->ok_to);
	} else {
		memcpy(c->last_hash, e->hash, sizeof c->last_hash);
		c->ok_to = e->seq;
	}
}

/* Keep e as the newest of the tail; under f->mu. */
static void
tail_push(struct fleet *f, const struct wentry *e)
{
	size_t at;

	if (f->ntail < FLEET_WITNESS_TAIL) {
		at = (f->tail_head + f->ntail++) % FLEET_WITNESS_TAIL;
	} else {
		at = f->tail_head;
		f->tail_head = (f->tail_head + 1) % FLEET_WITNESS_TAIL;
		wentry_release(&f->tail[at]);
	}
	wentry_copy(&f->tail[at], e);
}

void
fleet_witness_entry(struct fleet *f, const struct wentry *e)
{
	pthread_mutex_lock(&f->mu);
	chain_add(&f->chain, e);
	tail_push(f, e);
	f->witness_last = e->seq;
	f->last_data_ms = wall_ms();
	f->dirty |= FLEET_D_WITNESS | FLEET_D_HEADER;
	f->gen++;
	pthread_mutex_unlock(&f->mu);
	wake(f);
}

const struct wentry *
fleet_tail_at(const struct fleet *f, size_t i)
{
	if (i >= f->ntail)
		return NULL;
	return &f->tail[(f->tail_head + f->ntail - 1 - i) % FLEET_WITNESS_TAIL];
}

/* The tasks feed: every change of IF_TASKS. */
static void
on_task(void *arg, const struct bus_kv_event *ev)
{
	fleet_task_event(arg, ev);
}

/* The witness feed: every entry; a message that is not one is the chain's fault. */
static void
on_witness(void *arg, const struct bus_kv_event *ev)
{
	struct fleet *f = arg;
	struct err e = ERR_INIT;
	struct wentry we;

	if (ev->snapshot_done)
		return;
	if (wentry_parse(ev->value, ev->len, &we, &e) == ST_OK) {
		fleet_witness_entry(f, &we);
		wentry_release(&we);
		return;
	}
	pthread_mutex_lock(&f->mu);
	if (f->chain.fault == WF_NONE) {
		f->chain.fault = WF_MALFORMED;
		f->chain.fault_seq = ev->revision;
		snprintf(f->chain.detail, sizeof f->chain.detail, "stream message %llu is not an "
			 "entry: %.400s", (unsigned long long)ev->revision, e.msg);
	}
	f->dirty |= FLEET_D_WITNESS;
	pthread_mutex_unlock(&f->mu);
	wake(f);
}

void
fleet_on_state(void *arg, enum bus_state st)
{
	struct fleet *f = arg;

	pthread_mutex_lock(&f->mu);
	if (st == BUS_CONNECTED && f->conn != BUS_CONNECTED)
		f->reconnects++;
	f->conn = st;
	f->conn_since_ms = wall_ms();
	f->dirty |= FLEET_D_HEADER;
	f->gen++;
	pthread_mutex_unlock(&f->mu);
	wake(f);
}

enum status
fleet_start(struct fleet *f, struct bus *b, struct err *e)
{
	struct bus_stream_stat ss;
	struct bus_watch *tw = NULL, *ww = NULL;
	struct err we = ERR_INIT;
	enum status st;

	pthread_mutex_lock(&f->mu);
	f->conn = bus_get_state(b);
	f->conn_since_ms = wall_ms();
	pthread_mutex_unlock(&f->mu);
	if ((st = bus_kv_watch(b, COORD_BUCKET, 0, on_task, f, &tw, e)) != ST_OK)
		return st;
	if (bus_stream_stat(b, LEDGER_STREAM, &ss, &we) != ST_OK) {
		ss.last_seq = 0;
		pthread_mutex_lock(&f->mu);
		f->witness_missing = we.code == ST_NO_SCHEMA;
		pthread_mutex_unlock(&f->mu);
	} else {
		pthread_mutex_lock(&f->mu);
		f->chain.target = ss.last_seq;
		pthread_mutex_unlock(&f->mu);
		st = bus_stream_watch(b, LEDGER_STREAM, LEDGER_SUBJECT, 1, on_witness, f, &ww, e);
	}
	pthread_mutex_lock(&f->mu);
	f->tasks_w = tw;
	f->witness_w = ww;
	pthread_mutex_unlock(&f->mu);
	if (st == ST_OK)
		st = domains_start(f, b, e);
	return st;
}

/*
 * The rows changed last, read straight from the bucket's stream (newest
 * first, a round trip each), so that the first frames have data while the
 * watch's snapshot of every task is still on its way; the snapshot then
 * replaces them (revisions never go back).
 */
void
fleet_prefill(struct fleet *f, struct bus *b, size_t n)
{
	struct bus_stream_stat ss;
	struct buf data = BUF_INIT;
	struct err e = ERR_INIT;
	struct task t;
	uint64_t seq;
	size_t got = 0;

	if (bus_stream_stat(b, "KV_" COORD_BUCKET, &ss, &e) != ST_OK)
		return;
	for (seq = ss.last_seq; seq >= ss.first_seq && seq > 0 && got < n; seq--) {
		buf_reset(&data);
		task_init(&t);
		if (bus_stream_get(b, "KV_" COORD_BUCKET, seq, &data, &e) == ST_OK && data.len &&
		    task_from_json(data.s, data.len, &t, &e) == ST_OK) {
			struct bus_kv_event ev = { .key = t.id, .value = data.s, .len = data.len,
						   .revision = seq, .op = BUS_KV_PUT };
			pthread_mutex_lock(&f->mu);
			bool known = fleet_task(f, t.id) != NULL;
			pthread_mutex_unlock(&f->mu);
			if (!known) {
				fleet_task_event(f, &ev);
				got++;
			}
		}
		task_release(&t);
	}
	buf_release(&data);
}

void
fleet_stop(struct fleet *f)
{
	domains_stop(f);
	bus_watch_free(f->tasks_w);
	bus_watch_free(f->witness_w);
	f->tasks_w = f->witness_w = NULL;
}

/* --- time travel -------------------------------------------------------- */

/*
 * A rewind's read of IF_TASKS: every stored revision in order. Those
 * written by at_ms build the fleet as it was; for a task with none left
 * by then, the newest later record is kept in 'later' with its history.
 */
struct replay {
	struct fleet *out, later;
	int64_t at_ms;
	uint64_t last;		/* the stream's last sequence when the read began */
	uint64_t seen;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

static void
on_replay(void *arg, const struct bus_kv_event *ev)
{
	struct replay *rp = arg;

	if (ev->snapshot_done)
		return;
	if (ev->time_ns / NS_PER_MS <= rp->at_ms)
		task_event(rp->out, ev, false);
	else if (ev->key && !fleet_task(rp->out, ev->key))
		task_event(&rp->later, ev, true);
	pthread_mutex_lock(&rp->mu);
	rp->seen = ev->revision;
	pthread_cond_broadcast(&rp->cv);
	pthread_mutex_unlock(&rp->mu);
}

/* The state a task's own history gives for at_ms; false when it does not say. */
static bool
state_from_history(struct task *t, int64_t at_ms)
{
	size_t i, claims = 0;
	const struct task_event *h = NULL;

	if (t->created > at_ms)
		return false;
	for (i = 0; i < t->nhist && t->hist[i].at <= at_ms; i++) {
		h = &t->hist[i];
		claims += h->state == TASK_CLAIMED;
	}
	if (h == NULL)
		return false;	/* its history, cut at TASK_HISTORY_MAX, starts later */
	t->state = h->state;
	t->token = h->token;
	t->updated = h->at;
	t->lease_until = 0;
	free(t->owner);
	t->owner = h->state == TASK_CLAIMED ? xstrdup_or_null(h->by) : NULL;
	free(t->reason);
	t->reason = xstrdup_or_null(h->note);
	if (t->nhist < TASK_HISTORY_MAX)
		t->attempts = (int)claims;
	return true;
}

/* A task of 'later' that existed at the moment: its state from its history. */
static void
adopt_later(void *arg, struct trow *r)
{
	struct replay *rp = arg;
	struct trow *copy;
	struct bus_kv_event ev = { 0 };
	struct buf json = BUF_INIT;

	if (r->bad.key || !state_from_history(&r->t, rp->at_ms))
		return;
	task_to_json(&r->t, &json);
	ev.key = r->t.id;
	ev.value = json.s;
	ev.len = json.len;
	ev.revision = r->t.rev;
	ev.op = BUS_KV_PUT;
	task_event(rp->out, &ev, false);
	if ((copy = fleet_task(rp->out, r->t.id)) != NULL)
		copy->from_history = true;
	rp->out->from_history++;
	buf_release(&json);
}

/* Read IF_TASKS's stored revisions into rp (until the last one there was at the start). */
static enum status
replay_tasks(struct replay *rp, struct bus *b, struct err *e)
{
	struct bus_stream_stat ss;
	struct bus_watch *w = NULL;
	struct timespec until;
	enum status st;
	int rc = 0;

	if ((st = bus_stream_stat(b, "KV_" COORD_BUCKET, &ss, e)) != ST_OK)
		return st;
	rp->last = ss.last_seq;
	if (ss.msgs == 0)
		return ST_OK;
	if ((st = bus_kv_watch(b, COORD_BUCKET, ss.first_seq ? ss.first_seq : 1, on_replay, rp,
			       &w, e)) != ST_OK)
		return st;
	until = deadline_ts(bus_timeout_ms(b) + 30000);
	pthread_mutex_lock(&rp->mu);
	while (rp->seen < rp->last && rc == 0)
		rc = pthread_cond_timedwait(&rp->cv, &rp->mu, &until);
	pthread_mutex_unlock(&rp->mu);
	bus_watch_free(w);
	if (rc != 0)
		return err_set(e, ST_TIMEOUT, "the history of %s did not arrive in time "
			       "(%llu of %llu revisions)", COORD_BUCKET,
			       (unsigned long long)rp->seen, (unsigned long long)rp->last);
	return ST_OK;
}

/* The entry at stream sequence seq; false when it is not an entry. */
static bool
entry_at(struct bus *b, uint64_t seq, struct wentry *out)
{
	struct buf data = BUF_INIT;
	struct err e = ERR_INIT;
	bool ok;

	ok = bus_stream_get(b, LEDGER_STREAM, seq, &data, &e) == ST_OK &&
	     wentry_parse(data.s, data.len, out, &e) == ST_OK;
	buf_release(&data);
	return ok;
}

/* The last entry appended by at_ms (0: none), by bisection over the stream. */
static uint64_t
witness_seq_at(struct bus *b, uint64_t lo, uint64_t hi, int64_t at_ms)
{
	uint64_t found = 0, mid;
	struct wentry we;

	while (lo <= hi && hi > 0) {
		mid = lo + (hi - lo) / 2;
		if (!entry_at(b, mid, &we)) {
			hi = mid - 1;	/* not an entry: look before it */
			continue;
		}
		if (we.time <= at_ms) {
			found = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
		wentry_release(&we);
	}
	return found;
}

/* The witness tail as it was at at_ms. */
static void
rewind_witness(struct fleet *out, struct bus *b, int64_t at_ms)
{
	struct bus_stream_stat ss;
	struct err e = ERR_INIT;
	struct wentry we;
	uint64_t last, seq;

	if (bus_stream_stat(b, LEDGER_STREAM, &ss, &e) != ST_OK) {
		out->witness_missing = true;
		return;
	}
	last = witness_seq_at(b, ss.first_seq ? ss.first_seq : 1, ss.last_seq, at_ms);
	seq = last > FLEET_WITNESS_TAIL ? last - FLEET_WITNESS_TAIL + 1 : 1;
	for (; last && seq <= last; seq++)
		if (entry_at(b, seq, &we)) {
			tail_push(out, &we);
			wentry_release(&we);
		}
	out->witness_last = last;
	out->chain.target = last;
}

enum status
fleet_rewind(struct fleet *out, struct bus *b, int64_t at_ms, struct err *e)
{
	struct replay rp = { .out = out, .at_ms = at_ms };
	enum status st;

	fleet_init(out);
	fleet_init(&rp.later);
	pthread_mutex_init(&rp.mu, NULL);
	pthread_cond_init(&rp.cv, NULL);
	out->at_ms = at_ms;
	out->tasks_synced = true;
	st = replay_tasks(&rp, b, e);
	if (st == ST_OK)
		fleet_each(&rp.later, adopt_later, &rp);
	if (st == ST_OK)
		rewind_witness(out, b, at_ms);
	fleet_release(&rp.later);
	pthread_cond_destroy(&rp.cv);
	pthread_mutex_destroy(&rp.mu);
	out->conn = BUS_CONNECTED;
	out->dirty = ~0u;
	return st;
}
