/* The coordinator: see coord.h. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "core/coord.h"
#include "core/json.h"
#include "core/ledger.h"
#include "core/util.h"

/* --- events ------------------------------------------------------------- */

/*
 * Record a task's change: the event on if.v1.evt.task.<state> (fire and
 * forget) and the witness entry (heartbeats only extend a lease: no entry).
 */
static void
publish_event(struct bus *b, const struct opctx *op, const struct task *t,
	      const char *verb, const char *by)
{
	struct buf ev = BUF_INIT, what = BUF_INIT;
	char subject[64], event[48];

	buf_addf(&ev, "{\"v\":1,\"type\":\"task\",\"verb\":\"%s\",\"id\":", verb);
	json_escape(&ev, t->id);
	buf_addf(&ev, ",\"state\":\"%s\",\"owner\":", task_state_name(t->state));
	if (t->owner)
		json_escape(&ev, t->owner);
	else
		buf_adds(&ev, "null");
	buf_addf(&ev, ",\"token\":%llu,\"rev\":%llu,\"attempts\":%d,\"at\":%lld,\"by\":",
		 (unsigned long long)t->token, (unsigned long long)t->rev, t->attempts,
		 (long long)t->updated);
	json_escape(&ev, by ? by : "");
	buf_adds(&ev, ",\"trace\":");
	json_escape(&ev, op->trace_id);
	buf_adds(&ev, ",\"why\":");
	if (op->justification)
		json_escape(&ev, op->justification);
	else
		buf_adds(&ev, "null");
	buf_addc(&ev, '}');
	snprintf(subject, sizeof subject, "if.v1.evt.task.%s", task_state_name(t->state));
	bus_publish(b, subject, ev.s, ev.len, NULL);

	if (strcmp(verb, "heartbeat") != 0) {
		struct witness_note n = { .component = "coordinator", .event = event,
					  .actor = by, .swarm = t->owner ? t->owner : t->to,
					  .task = t->id };
		snprintf(event, sizeof event, "task.%s", verb);
		buf_addf(&what, "{\"state\":\"%s\",\"token\":%llu,\"attempts\":%d,"
			 "\"priority\":%d", task_state_name(t->state),
			 (unsigned long long)t->token, t->attempts, t->priority);
		if (t->reason) {
			buf_adds(&what, ",\"reason\":");
			json_escape(&what, t->reason);
		}
		buf_addc(&what, '}');
		n.payload = what.s;
		ledger_witness(op, &n);
	}
	buf_release(&what);
	buf_release(&ev);
}

/* --- records ------------------------------------------------------------ */

/* Is id usable as a task id, and so as a KV key? what names it in the error. */
static enum status
check_id(const char *id, const char *what, struct err *e)
{
	if (!task_id_valid(id) || !bus_kv_key_valid(id))
		return err_set(e, ST_BAD_VALUE, "invalid %s '%s': use 1-128 letters, digits, '-', "
			       "'_' or '.', no '..' and no '.' at either end", what, id);
	return ST_OK;
}

/*
 * What the parser cannot know: the key. A record stored under a key that
 * is not a task id, or naming another task, is not one the coordinator may
 * act on (task_from_json checked the fields, their ranges and defaults).
 * Writes the fault into why; false when there is one.
 */
static bool
record_sane(const struct task *t, const char *key, char *why, size_t n)
{
	if (!task_id_valid(key) || !bus_kv_key_valid(key))
		snprintf(why, n, "its key is not a valid task id");
	else if (strcmp(t->id, key) != 0)
		snprintf(why, n, "its id '%.128s' is not its key", t->id);
	else
		return true;
	return false;
}

/* See coord.h. */
enum status
coord_record_parse(const char *key, const char *json, size_t len, struct task *t, struct err *e)
{
	char why[ERR_MSG_MAX];
	struct err pe = ERR_INIT;

	if (task_from_json(json, len, t, &pe) != ST_OK)
		return err_set(e, ST_INVALID_RECORD, "%s", pe.msg);
	if (record_sane(t, key, why, sizeof why))
		return ST_OK;
	task_release(t);
	return err_set(e, ST_INVALID_RECORD, "%s", why);
}

/* Free what v holds. */
void
coord_invalid_release(struct coord_invalid *v)
{
	free(v->key);
	free(v->reason);
	memset(v, 0, sizeof *v);
}

enum status
coord_read(struct bus *b, const struct coord_cfg *cfg, const char *id, struct task *out,
	   struct coord_invalid *bad, struct err *e)
{
	struct bus_kv_entry ent = BUS_KV_ENTRY_INIT;
	struct err why = ERR_INIT;
	enum status st;

	task_init(out);
	if (bad)
		memset(bad, 0, sizeof *bad);
	if ((st = check_id(id, "task id", e)) != ST_OK)
		return st;
	st = bus_kv_get(b, cfg->bucket, id, &ent, e);
	if (st == ST_NOT_FOUND)
		err_set(e, ST_NOT_FOUND, "task '%s' not found", id);
	if (st == ST_OK && (st = coord_record_parse(id, ent.value.s, ent.value.len, out, &why)) == ST_OK)
		out->rev = ent.revision;
	if (st == ST_INVALID_RECORD && bad) {
		bad->key = xstrdup(id);
		bad->rev = ent.revision;
		bad->reason = xstrdup(why.msg);
		st = ST_OK;
	} else if (st == ST_INVALID_RECORD) {
		err_set(e, st, "task '%s' has an invalid record (revision %llu): %s", id,
			(unsigned long long)ent.revision, why.msg);
	}
	buf_release(&ent.value);
	return st;
}

enum status
coord_get(struct bus *b, const struct coord_cfg *cfg, const char *id, struct task *out,
	  struct err *e)
{
	return coord_read(b, cfg, id, out, NULL, e);
}

/* --- push --------------------------------------------------------------- */

enum status
coord_check_spec(const struct task_spec *s, struct err *e)
{
	size_t i;
	enum status st;

	if (s->id && (st = check_id(s->id, "task id", e)) != ST_OK)
		return st;
	if (s->priority < 0 || s->priority > TASK_PRIORITY_MAX)
		return err_set(e, ST_BAD_VALUE, "priority %d is out of range 0..%d", s->priority,
			       TASK_PRIORITY_MAX);
	if (!(s->budget >= 0) || s->budget > 1e15)
		return err_set(e, ST_BAD_VALUE, "budget %g is out of range (0 or more)", s->budget);
	if (s->max_attempts < 0 || s->max_attempts > 1000)
		return err_set(e, ST_BAD_VALUE, "max attempts %d is out of range 1..1000",
			       s->max_attempts);
	for (i = 0; i < s->ncaps; i++)
		if (!task_id_valid(s->caps[i]))
			return err_set(e, ST_BAD_VALUE, "invalid capability name '%s'", s->caps[i]);
	if (s->to && !task_id_valid(s->to))
		return err_set(e, ST_BAD_VALUE, "invalid swarm id '%s'", s->to);
	if (s->payload)
		return json_check(s->payload, "payload", e);
	return ST_OK;
}

/* The KV key that records which task an idempotency key created. */
static char *
idem_key(const char *idem)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	char hex[2 * sizeof h + 1];

	crypto_hash_sha256(h, (const unsigned char *)idem, strlen(idem));
	hex_encode(hex, h, 16);
	return xasprintf("idem.%s", hex);
}

static void
task_from_spec(struct task *t, const struct task_spec *s, const struct coord_cfg *cfg,
	       const struct opctx *op, const char *id)
{
	size_t i;

	task_init(t);
	t->id = xstrdup(id);
	t->title = xstrdup(s->title ? s->title : "");
	t->caps = xcalloc(s->ncaps + 1, sizeof *t->caps);
	for (i = 0; i < s->ncaps; i++)
		t->caps[i] = xstrdup(s->caps[i]);
	t->ncaps = s->ncaps;
	t->priority = s->priority;
	t->budget = s->budget;
	t->payload = xstrdup_or_null(s->payload);
	t->idem = xstrdup_or_null(s->idem);
	t->to = xstrdup_or_null(s->to);
	t->state = TASK_QUEUED;
	t->max_attempts = s->max_attempts ? s->max_attempts : cfg->max_attempts;
	t->created = t->updated = wall_ms();
	t->trace = xstrdup(op->trace_id);
	task_history_add(t, t->created, TASK_QUEUED, op->actor ? op->actor : "operator", 0,
			 op->justification);
}

/*
 * A record grows after the push (history, owner, reason, result): it must
 * leave this much of the server's max payload free, or its first claim
 * could not be written back.
 */
#define RECORD_HEADROOM 65536

/* Does a new record of len bytes fit the server? */
static enum status
check_size(struct bus *b, const char *id, size_t len, struct err *e)
{
	int64_t max = bus_max_payload(b);

	if (max > 0 && (int64_t)len > max - RECORD_HEADROOM)
		return err_set(e, ST_BAD_VALUE, "task '%s' would be %zu bytes: the server takes "
			       "at most %lld (its max payload), less %d kept for the record to "
			       "grow; make the payload smaller or store it elsewhere and pass a "
			       "reference", id, len, (long long)max, RECORD_HEADROOM);
	return ST_OK;
}

/*
 * The task an idempotency key's entry names, if that task was made with the
 * key. ST_NOT_FOUND when the entry names nothing usable: a malformed id, no
 * task, or a task made without this key (the push that wrote the entry
 * failed, and the id was reused).
 */
static enum status
idem_target(struct bus *b, const struct coord_cfg *cfg, const char *idem,
	    const char *id, struct task *out, struct err *e)
{
	enum status st;

	task_init(out);
	if (check_id(id, "task id", NULL) != ST_OK)
		return ST_NOT_FOUND;
	if ((st = coord_get(b, cfg, id, out, e)) != ST_OK)
		return st;
	if (out->idem && strcmp(out->idem, idem) == 0)
		return ST_OK;
	task_release(out);
	return ST_NOT_FOUND;
}

#define IDEM_GRACE_MS 1000	/* beyond the bus timeout: the first push's task lands */
#define IDEM_TRIES 16		/* lost races for the key before giving up */

/*
 * Take the idempotency key for the task id. When the key names a task made
 * with it, that task is put in *out and *existed set. A key that names
 * nothing (its push failed after taking it) is stranded: once the push that
 * wrote it can no longer land its task (the bus timeout plus a grace), the
 * key is moved to id by compare-and-swap, so a failed push never poisons
 * the key. A push that finds the key young waits that long for the task.
 */
static enum status
idem_take(struct bus *b, const struct coord_cfg *cfg, const char *idem, const char *ikey,
	  const char *id, struct task *out, bool *existed, struct err *e)
{
	struct bus_kv_entry ent = BUS_KV_ENTRY_INIT;
	int64_t grace = bus_timeout_ms(b) + IDEM_GRACE_MS, deadline = mono_ms() + grace;
	enum status st = ST_CONFLICT;
	int tries = 0;

	while (tries++ < IDEM_TRIES) {
		st = bus_kv_create(b, cfg->bucket, ikey, id, strlen(id), NULL, e);
		if (st != ST_EXISTS)
			break;			/* ours, or a failure */
		st = bus_kv_get(b, cfg->bucket, ikey, &ent, e);
		if (st == ST_NOT_FOUND)
			continue;		/* deleted meanwhile: create again */
		if (st == ST_OK)
			st = idem_target(b, cfg, idem, ent.value.s, out, e);
		if (st == ST_OK)
			*existed = true;
		if (st != ST_NOT_FOUND)
			break;
		if (wall_ms() - ent.created_ns / 1000000 < grace && mono_ms() < deadline) {
			usleep(20 * 1000);	/* its push may still be writing the task */
			tries--;
			continue;
		}
		st = bus_kv_update(b, cfg->bucket, ikey, id, strlen(id), ent.revision, NULL, e);
		if (st != ST_CONFLICT)
			break;			/* repaired, or a failure */
	}
	buf_release(&ent.value);
	if (st == ST_CONFLICT)
		err_set(e, st, "idempotency key '%s' keeps changing; try again", idem);
	return st;
}

/* The push checks of --mode=falsify: the spec, the size, a free id. */
static void
push_falsify(struct bus *b, const struct coord_cfg *cfg, struct opctx *op, const char *id,
	     size_t len)
{
	struct err e = ERR_INIT;
	struct task cur;
	enum status st;

	st = check_size(b, id, len, &e);
	check(op, "record fits the server", st, &e, NULL);
	st = coord_get(b, cfg, id, &cur, NULL);
	check(op, "id is free", st == ST_NOT_FOUND ? ST_OK : ST_EXISTS, NULL,
	      st == ST_NOT_FOUND ? id : "a task with this id exists");
	if (st == ST_OK)
		task_release(&cur);
}

/*
 * Order of writes: everything that can be checked is checked first (spec,
 * id, size); then the idempotency key is taken, then the task created. A
 * failure in between leaves a key that names nothing, which the next push
 * with the key repairs (idem_take); a definite refusal of the task removes
 * the key at once.
 */
enum status
coord_push(struct bus *b, const struct coord_cfg *cfg, struct opctx *op,
	   const struct task_spec *s, struct task *out, bool *existed, struct err *e)
{
	struct buf json = BUF_INIT;
	struct task t;
	char gen[33], *id, *ikey = NULL;
	enum status st;

	*existed = false;
	task_init(out);
	st = coord_check_spec(s, e);
	if (!check(op, "task is valid", st, e, NULL))
		return st;
	if (st != ST_OK)
		return ST_OK;	/* falsify: nothing more can be checked */
	trace_id_new(gen);
	id = s->id ? xstrdup(s->id) : xasprintf("t-%.12s", gen);
	task_from_spec(&t, s, cfg, op, id);
	st = task_encode(&t, &json, e);	/* a title that is not UTF-8 would not read back */
	if (st != ST_OK) {
		if (check(op, "task can be stored", st, e, NULL))
			st = ST_OK;	/* falsify: the failed check decides */
		goto out;
	}
	if (op->falsify) {
		push_falsify(b, cfg, op, id, json.len);
		goto out;
	}
	if ((st = check_size(b, id, json.len, e)) != ST_OK ||
	    (st = opctx_may_write(op, "push a task", e)) != ST_OK)
		goto out;
	if (s->idem) {
		ikey = idem_key(s->idem);
		st = idem_take(b, cfg, s->idem, ikey, id, out, existed, e);
		if (st != ST_OK || *existed)
			goto out;
	}
	st = bus_kv_create(b, cfg->bucket, id, json.s, json.len, &t.rev, e);
	if (st == ST_EXISTS)
		err_set(e, ST_EXISTS, "task '%s' already exists", id);
	if (st != ST_OK && ikey && st != ST_TIMEOUT && st != ST_DISCONNECTED)
		bus_kv_delete(b, cfg->bucket, ikey, NULL);	/* refused: free the key */
	if (st == ST_OK) {
		publish_event(b, op, &t, "push", op->actor);
		*out = t;
		task_init(&t);
	}
out:
	task_release(&t);
	buf_release(&json);
	free(ikey);
	free(id);
	return st;
}

/*
 * Write t back only if its revision is still t->rev; t->rev becomes the new
 * one. The JSON written is left in *written when that is not NULL.
 */
static enum status
cas_write(struct bus *b, const struct coord_cfg *cfg, struct task *t, struct buf *written,
	  struct err *e)
{
	struct buf own = BUF_INIT, *json = written ? written : &own;
	uint64_t rev = 0;
	enum status st;

	buf_reset(json);
	st = task_encode(t, json, e);	/* never write what cannot be read back */
	if (st == ST_OK)
		st = bus_kv_update(b, cfg->bucket, t->id, json->s, json->len, t->rev, &rev, e);
	if (st == ST_OK)
		t->rev = rev;
	buf_release(&own);
	return st;
}

/* --- the claim index ---------------------------------------------------- */

/* What the index knows of one task: its last record and where it is listed. */
struct ix_entry {
	char *id;
	char *json;		/* last record seen, for a claim without a read */
	size_t len;
	uint64_t rev;
	enum task_state state;
	int prio;
	int64_t created;
	int64_t lease_until, not_before;
	char *to;
	char **caps;
	size_t ncaps;
	bool listed_ready;	/* in a priority list */
	size_t heap_pos;	/* place in the lease heap, or NOT_IN_HEAP */
	bool inflight;		/* a thread of this process is claiming it */
	struct ix_entry *next;	/* hash chain */
};

#define NOT_IN_HEAP ((size_t)-1)

/* A FIFO of entries: head advances, the array is compacted now and then. */
struct ix_fifo {
	struct ix_entry **v;
	size_t head, len, cap;
};

struct coord_index {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct bus_watch *watch;
	struct ix_entry **table;	/* hash table, power-of-two size */
	size_t nbuckets, n;
	struct ix_fifo ready[TASK_PRIORITY_MAX + 1];
	struct ix_entry **heap;		/* claimed tasks, min-heap on lease_until */
	size_t nheap, heapcap;
	bool snapshot;
};

static uint32_t
hash_str(const char *s)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static struct ix_entry *
ix_find(struct coord_index *ix, const char *id, bool create)
{
	uint32_t h = hash_str(id);
	struct ix_entry *e;
	size_t i;

	for (e = ix->table[h & (ix->nbuckets - 1)]; e; e = e->next)
		if (strcmp(e->id, id) == 0)
			return e;
	if (!create)
		return NULL;
	if (ix->n + 1 > ix->nbuckets) {	/* keep the load factor at most 1 */
		size_t nb = ix->nbuckets * 2;
		struct ix_entry **t = xcalloc(nb, sizeof *t);
		for (i = 0; i < ix->nbuckets; i++) {
			while ((e = ix->table[i])) {
				ix->table[i] = e->next;
				e->next = t[hash_str(e->id) & (nb - 1)];
				t[hash_str(e->id) & (nb - 1)] = e;
			}
		}
		free(ix->table);
		ix->table = t;
		ix->nbuckets = nb;
	}
	e = xcalloc(1, sizeof *e);
	e->id = xstrdup(id);
	e->heap_pos = NOT_IN_HEAP;
	e->next = ix->table[h & (ix->nbuckets - 1)];
	ix->table[h & (ix->nbuckets - 1)] = e;
	ix->n++;
	return e;
}

static void
fifo_push(struct ix_fifo *f, struct ix_entry *e)
{
	if (f->head > 1024 && f->head * 2 > f->len) {
		memmove(f->v, f->v + f->head, (f->len - f->head) * sizeof *f->v);
		f->len -= f->head;
		f->head = 0;
	}
	xgrow(&f->v, &f->cap, f->len + 1, sizeof *f->v);
	f->v[f->len++] = e;
}

/* The lease heap: the root is the lease that expires first. */
static void
heap_swap(struct coord_index *ix, size_t a, size_t b)
{
	struct ix_entry *t = ix->heap[a];

	ix->heap[a] = ix->heap[b];
	ix->heap[b] = t;
	ix->heap[a]->heap_pos = a;
	ix->heap[b]->heap_pos = b;
}

static void
heap_fix(struct coord_index *ix, size_t i)
{
	while (i > 0 && ix->heap[(i - 1) / 2]->lease_until > ix->heap[i]->lease_until) {
		heap_swap(ix, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < ix->nheap && ix->heap[l]->lease_until < ix->heap[m]->lease_until)
			m = l;
		if (r < ix->nheap && ix->heap[r]->lease_until < ix->heap[m]->lease_until)
			m = r;
		if (m == i)
			return;
		heap_swap(ix, i, m);
		i = m;
	}
}

static void
heap_set(struct coord_index *ix, struct ix_entry *e, bool claimed)
{
	size_t i = e->heap_pos;

	if (claimed && i == NOT_IN_HEAP) {
		xgrow(&ix->heap, &ix->heapcap, ix->nheap + 1, sizeof *ix->heap);
		ix->heap[ix->nheap] = e;
		e->heap_pos = ix->nheap++;
		heap_fix(ix, e->heap_pos);
	} else if (claimed) {
		heap_fix(ix, i);	/* the lease moved */
	} else if (i != NOT_IN_HEAP) {
		ix->nheap--;
		if (i != ix->nheap) {
			ix->heap[i] = ix->heap[ix->nheap];
			ix->heap[i]->heap_pos = i;
			heap_fix(ix, i);
		}
		e->heap_pos = NOT_IN_HEAP;
	}
}

static void
entry_set_caps(struct ix_entry *e, const struct task *t)
{
	size_t i;

	for (i = 0; i < e->ncaps; i++)
		free(e->caps[i]);
	free(e->caps);
	e->caps = t->ncaps ? xcalloc(t->ncaps, sizeof *e->caps) : NULL;
	for (i = 0; i < t->ncaps; i++)
		e->caps[i] = xstrdup(t->caps[i]);
	e->ncaps = t->ncaps;
}

/* Take in the valid record t of key (from the watch, or after a claim). ix->mu held. */
static void
ix_update(struct coord_index *ix, const char *key, const struct task *t, const char *json,
	  size_t len, uint64_t rev)
{
	struct ix_entry *e = ix_find(ix, key, true);

	if (rev < e->rev)
		return;		/* an older view than we have */
	free(e->json);
	e->json = xstrndup(json, len);
	e->len = len;
	e->rev = rev;
	e->state = t->state;
	e->prio = t->priority < 0 ? 0 : t->priority > TASK_PRIORITY_MAX ? TASK_PRIORITY_MAX :
		  t->priority;
	e->created = t->created;
	e->lease_until = t->lease_until;
	e->not_before = t->not_before;
	free(e->to);
	e->to = xstrdup_or_null(t->to);
	entry_set_caps(e, t);
	if (e->state == TASK_QUEUED && !e->listed_ready) {
		fifo_push(&ix->ready[e->prio], e);
		e->listed_ready = true;
	}
	heap_set(ix, e, e->state == TASK_CLAIMED);
	pthread_cond_broadcast(&ix->cv);
}

/*
 * Forget what key held: deleted, or not a valid task (quarantined: never
 * offered to a claim until a valid record replaces it). rev 0 keeps the
 * revision known. ix->mu held.
 */
static void
ix_drop(struct coord_index *ix, const char *key, uint64_t rev)
{
	struct ix_entry *e = ix_find(ix, key, true);

	if (rev && rev < e->rev)
		return;
	if (rev)
		e->rev = rev;
	free(e->json);
	e->json = NULL;
	e->len = 0;
	e->state = TASK__COUNT;		/* no state: never ready */
	heap_set(ix, e, false);
}

/* Take in whatever key now holds: a task, or a record to quarantine. ix->mu held. */
static void
ix_take(struct coord_index *ix, const char *key, const char *json, size_t len, uint64_t rev)
{
	struct task t;

	if (coord_record_parse(key, json, len, &t, NULL) == ST_OK) {
		ix_update(ix, key, &t, json, len, rev);
		task_release(&t);
	} else {
		ix_drop(ix, key, rev);
	}
}

static void
ix_on_event(void *arg, const struct bus_kv_event *ev)
{
	struct coord_index *ix = arg;

	pthread_mutex_lock(&ix->mu);
	if (ev->snapshot_done) {
		ix->snapshot = true;
		pthread_cond_broadcast(&ix->cv);
	} else if (!has_prefix(ev->key, "idem.")) {
		if (ev->op == BUS_KV_PUT)
			ix_take(ix, ev->key, ev->value, ev->len, ev->revision);
		else
			ix_drop(ix, ev->key, ev->revision);
	}
	pthread_mutex_unlock(&ix->mu);
}

/* Read key again from the server and take in what it holds now. */
static void
ix_refresh(struct bus *b, const struct coord_cfg *cfg, struct coord_index *ix, const char *key)
{
	struct bus_kv_entry ent = BUS_KV_ENTRY_INIT;
	enum status st = bus_kv_get(b, cfg->bucket, key, &ent, NULL);

	pthread_mutex_lock(&ix->mu);
	if (st == ST_OK)
		ix_take(ix, key, ent.value.s, ent.value.len, ent.revision);
	else if (st == ST_NOT_FOUND)
		ix_drop(ix, key, 0);
	pthread_mutex_unlock(&ix->mu);
	buf_release(&ent.value);
}

enum status
coord_index_open(struct bus *b, const struct coord_cfg *cfg, struct coord_index **out,
		 struct err *e)
{
	struct coord_index *ix = xcalloc(1, sizeof *ix);
	struct timespec ts;
	int64_t deadline = wall_ms() + 30000 + bus_timeout_ms(b);
	enum status st;

	pthread_mutex_init(&ix->mu, NULL);
	pthread_cond_init(&ix->cv, NULL);
	ix->nbuckets = 1024;
	ix->table = xcalloc(ix->nbuckets, sizeof *ix->table);
	st = bus_kv_watch(b, cfg->bucket, 0, ix_on_event, ix, &ix->watch, e);
	if (st != ST_OK) {
		coord_index_free(ix);
		return st;
	}
	ts.tv_sec = deadline / 1000;
	ts.tv_nsec = (deadline % 1000) * 1000000;
	pthread_mutex_lock(&ix->mu);
	while (!ix->snapshot && pthread_cond_timedwait(&ix->cv, &ix->mu, &ts) == 0)
		;
	st = ix->snapshot ? ST_OK : err_set(e, ST_TIMEOUT, "the task list did not load in time");
	pthread_mutex_unlock(&ix->mu);
	if (st != ST_OK) {
		coord_index_free(ix);
		return st;
	}
	*out = ix;
	return ST_OK;
}

void
coord_index_free(struct coord_index *ix)
{
	struct ix_entry *e;
	size_t i, j;

	if (ix == NULL)
		return;
	bus_watch_free(ix->watch);
	for (i = 0; i < ix->nbuckets; i++) {
		while ((e = ix->table[i])) {
			ix->table[i] = e->next;
			for (j = 0; j < e->ncaps; j++)
				free(e->caps[j]);
			free(e->caps);
			free(e->to);
			free(e->json);
			free(e->id);
			free(e);
		}
	}
	for (i = 0; i <= TASK_PRIORITY_MAX; i++)
		free(ix->ready[i].v);
	free(ix->heap);
	free(ix->table);
	pthread_cond_destroy(&ix->cv);
	pthread_mutex_destroy(&ix->mu);
	free(ix);
}

void
coord_index_wait(struct coord_index *ix, int64_t ms)
{
	int64_t deadline = wall_ms() + ms;
	struct timespec ts = { deadline / 1000, (deadline % 1000) * 1000000 };

	pthread_mutex_lock(&ix->mu);
	pthread_cond_timedwait(&ix->cv, &ix->mu, &ts);
	pthread_mutex_unlock(&ix->mu);
}

void
coord_index_each(struct coord_index *ix, void (*fn)(void *arg, const char *json, size_t len),
		 void *arg)
{
	struct ix_entry *e;
	size_t i;

	pthread_mutex_lock(&ix->mu);
	for (i = 0; i < ix->nbuckets; i++)
		for (e = ix->table[i]; e; e = e->next)
			if (e->json)
				fn(arg, e->json, e->len);
	pthread_mutex_unlock(&ix->mu);
}

size_t
coord_index_size(struct coord_index *ix)
{
	size_t n;

	pthread_mutex_lock(&ix->mu);
	n = ix->n;
	pthread_mutex_unlock(&ix->mu);
	return n;
}

static bool
entry_fits(const struct ix_entry *e, const struct claimer *c)
{
	size_t i, j;

	if (e->inflight || (e->to && strcmp(e->to, c->swarm) != 0))
		return false;
	for (i = 0; i < e->ncaps; i++) {
		for (j = 0; j < c->ncaps; j++)
			if (strcmp(e->caps[i], c->caps[j]) == 0)
				break;
		if (j == c->ncaps)
			return false;
	}
	return true;
}

#define SCAN_MAX 4096	/* entries looked at per list and claim */

/* Is a a better claim than b: higher priority, then older? */
static bool
better(const struct ix_entry *a, const struct ix_entry *b)
{
	return b == NULL || a->prio > b->prio || (a->prio == b->prio && a->created < b->created);
}

/*
 * The best expired lease c may take. Expired leases are the top of the
 * lease heap (a lease that has not expired has no expired child): walk that
 * part, at most SCAN_MAX nodes. ix->mu held.
 */
static struct ix_entry *
pick_expired(struct coord_index *ix, const struct claimer *c, int64_t now)
{
	struct ix_entry *e, *best = NULL;
	size_t i, stack[64], depth = 0, visited = 0;

	if (ix->nheap)
		stack[depth++] = 0;
	while (depth && visited++ < SCAN_MAX) {
		i = stack[--depth];
		e = ix->heap[i];
		if (e->lease_until > now)
			continue;
		if (entry_fits(e, c) && better(e, best))
			best = e;
		if (2 * i + 2 < ix->nheap && depth < ARRAY_SIZE(stack))
			stack[depth++] = 2 * i + 2;
		if (2 * i + 1 < ix->nheap && depth < ARRAY_SIZE(stack))
			stack[depth++] = 2 * i + 1;
	}
	return best;
}

/* The oldest queued task of the highest priority c may take. ix->mu held. */
static struct ix_entry *
pick_queued(struct coord_index *ix, const struct claimer *c, int64_t now)
{
	struct ix_fifo *f;
	struct ix_entry *e;
	size_t i;
	int p;

	for (p = TASK_PRIORITY_MAX; p >= 0; p--) {
		f = &ix->ready[p];
		for (i = f->head; i < f->len && i - f->head < SCAN_MAX; i++) {
			e = f->v[i];
			if (e->state != TASK_QUEUED) {
				if (i == f->head) {	/* drop stale heads as we go */
					e->listed_ready = false;
					f->head++;
				}
				continue;
			}
			if (e->not_before <= now && entry_fits(e, c))
				return e;
		}
	}
	return NULL;
}

/*
 * The next candidate for c: of the ready tasks (queued, or claimed with an
 * expired lease) the highest priority, then the oldest; on a tie the expired
 * lease, whose work started first. ix->mu held.
 */
static struct ix_entry *
ix_pick(struct coord_index *ix, const struct claimer *c, int64_t now)
{
	struct ix_entry *x = pick_expired(ix, c, now), *q = pick_queued(ix, c, now);

	if (x && q && x->prio == q->prio)
		return x;
	return x && better(x, q) ? x : q;
}

/* --- claim -------------------------------------------------------------- */

/* May c take t now? Evidence in why when it may not. */
static bool
claimable(const struct task *t, const struct claimer *c, int64_t now, const char **why)
{
	if (t->state == TASK_CLAIMED && t->lease_until > now)
		*why = "claimed, lease running";
	else if (t->state != TASK_QUEUED && t->state != TASK_CLAIMED)
		*why = "finished";
	else if (t->state == TASK_QUEUED && t->not_before > now)
		*why = "retry backoff";
	else if (t->to && strcmp(t->to, c->swarm) != 0)
		*why = "pushed to another swarm";
	else if (!task_caps_ok(t, c->caps, c->ncaps))
		*why = "capability missing";
	else
		return true;
	return false;
}

/* An expired lease with no attempt left: the task dies. */
static enum status
claim_kill(struct bus *b, const struct coord_cfg *cfg, struct opctx *op, struct task *t,
	   int64_t now, struct err *e)
{
	char note[128];

	snprintf(note, sizeof note, "lease expired after %d of %d attempts", t->attempts,
		 t->max_attempts);
	t->state = TASK_DEAD;
	free(t->reason);
	t->reason = xstrdup(note);
	t->updated = now;
	task_history_add(t, now, TASK_DEAD, "coordinator", t->token, note);
	if (cas_write(b, cfg, t, NULL, e) != ST_OK)
		return ST_CONFLICT;
	publish_event(b, op, t, "dead", "coordinator");
	return ST_OK;
}

/* Try to claim the task whose record is json at rev. ST_CONFLICT: lost the race. */
static enum status
claim_one(struct bus *b, const struct coord_cfg *cfg, struct opctx *op,
	  const struct claimer *c, const char *key, const char *json, size_t len, uint64_t rev,
	  struct task *out, struct buf *written, struct err *e)
{
	int64_t now = wall_ms();
	const char *why = NULL;
	bool takeover;
	enum status st;

	if ((st = coord_record_parse(key, json, len, out, e)) != ST_OK)
		return st;
	out->rev = rev;
	if (!claimable(out, c, now, &why))
		return ST_CONFLICT;
	takeover = out->state == TASK_CLAIMED;
	if (out->attempts >= out->max_attempts)
		return claim_kill(b, cfg, op, out, now, e) == ST_OK ? ST_NOT_FOUND : ST_CONFLICT;
	{
		char when[32];
		fmt_time_ms(when, out->created);
		why_add(op, "task", out->id, "priority %d, queued at %s%s", out->priority, when,
			takeover ? ", the previous owner's lease expired" : "");
	}
	if (op->falsify) {
		check(op, "a task is claimable", ST_OK, NULL, out->id);
		return ST_OK;
	}
	out->token = rev;	/* the revision the claim is made on */
	free(out->owner);
	out->owner = xstrdup(c->swarm);
	out->state = TASK_CLAIMED;
	out->attempts++;
	out->lease_until = now + cfg->lease_ms;
	out->updated = now;
	task_history_add(out, now, TASK_CLAIMED, c->swarm, out->token,
			 takeover ? "lease takeover" : NULL);
	if ((st = cas_write(b, cfg, out, written, e)) != ST_OK)
		return st;
	publish_event(b, op, out, "claim", c->swarm);
	return ST_OK;
}

/*
 * Is st a failure of this one task (not of the server or the caller)? Then
 * the claim reads the task again and goes on to the next: a lost race, an
 * index behind the server, a record that became invalid or cannot grow.
 */
static bool
task_local(enum status st)
{
	return st == ST_CONFLICT || st == ST_NOT_FOUND || st == ST_INVALID_RECORD ||
	       st == ST_BAD_VALUE;
}

enum status
coord_claim(struct bus *b, struct coord_index *ix, const struct coord_cfg *cfg,
	    struct opctx *op, const struct claimer *c, struct task *out, struct err *e)
{
	struct ix_entry *pick;
	struct buf written = BUF_INIT;	/* the record a successful claim wrote */
	char *json = NULL, *key = NULL;
	size_t len = 0;
	uint64_t rev = 0;
	int tries = 0;
	enum status st;

	task_init(out);
	if ((st = opctx_may_write(op, "claim", e)) != ST_OK && !op->falsify)
		return st;
	for (;;) {
		pthread_mutex_lock(&ix->mu);
		pick = ix_pick(ix, c, wall_ms());
		if (pick) {
			pick->inflight = true;
			json = xstrndup(pick->json, pick->len);
			key = xstrdup(pick->id);
			len = pick->len;
			rev = pick->rev;
		}
		pthread_mutex_unlock(&ix->mu);
		if (pick == NULL) {
			if (op->falsify)
				check(op, "a task is claimable", ST_NOT_FOUND, NULL,
				      "no ready task fits this swarm");
			st = err_set(e, ST_NOT_FOUND, "no ready task for swarm '%s'", c->swarm);
			break;
		}
		st = claim_one(b, cfg, op, c, key, json, len, rev, out, &written, e);
		free(json);
		if (st == ST_BAD_VALUE) {	/* valid, but cannot be written back */
			pthread_mutex_lock(&ix->mu);
			ix_drop(ix, key, 0);
			pthread_mutex_unlock(&ix->mu);
		} else if (task_local(st)) {
			ix_refresh(b, cfg, ix, key);	/* read the truth, go on */
		} else if (st == ST_OK && !op->falsify) {
			pthread_mutex_lock(&ix->mu);
			ix_update(ix, key, out, written.s, written.len, out->rev);
			pthread_mutex_unlock(&ix->mu);
		}
		free(key);
		pthread_mutex_lock(&ix->mu);
		pick->inflight = false;
		pthread_mutex_unlock(&ix->mu);
		if (!task_local(st)) {
			if (st != ST_OK)
				task_release(out);
			break;
		}
		task_release(out);
		if (++tries > 1000) {
			st = err_set(e, ST_CONFLICT, "gave up claiming after 1000 lost races");
			break;
		}
	}
	buf_release(&written);
	return st;
}

/* --- owner operations --------------------------------------------------- */

static const char *const verb_names[] = {
	[OWNER_HEARTBEAT] = "heartbeat", [OWNER_COMPLETE] = "complete",
	[OWNER_FAIL] = "fail", [OWNER_RELEASE] = "release",
};

/*
 * The checks every owner operation makes, in order; each is recorded. In
 * normal mode the first failure ends the operation with its message.
 */
static enum status
owner_checks(struct opctx *op, const struct owner_req *r, const struct task *t,
	     int64_t now, struct err *e)
{
	struct err ce = ERR_INIT;	/* why the failing check failed */
	char when[32];
	enum status st;

	st = t->state == TASK_CLAIMED ? ST_OK : err_set(&ce, ST_NOT_OWNER,
		"it is %s, not claimed", task_state_name(t->state));
	if (!check(op, "task is claimed", st, &ce, NULL))
		goto out;
	st = t->owner && strcmp(t->owner, r->swarm) == 0 ? ST_OK : err_set(&ce, ST_NOT_OWNER,
		"claimed by '%s' (fencing token %llu), not by '%s'", t->owner ? t->owner : "",
		(unsigned long long)t->token, r->swarm);
	if (!check(op, "caller owns it", st, &ce, NULL))
		goto out;
	st = t->token == r->token ? ST_OK : err_set(&ce, ST_NOT_OWNER,
		"stale fencing token %llu: '%s' holds it with token %llu",
		(unsigned long long)r->token, t->owner ? t->owner : "", (unsigned long long)t->token);
	if (!check(op, "fencing token is current", st, &ce, NULL))
		goto out;
	fmt_time_ms(when, t->lease_until);
	st = t->lease_until > now ? ST_OK : err_set(&ce, ST_NOT_OWNER, "the lease expired at %s",
						    when);
	check(op, "lease has not expired", st, &ce, NULL);
out:
	if (ce.code != ST_OK && e) {	/* normal mode stops at the first failure */
		*e = ce;
		err_prefix(e, "cannot %s task '%s'", verb_names[r->verb], r->id);
	}
	return ce.code;
}

/* Apply the verb to t. */
static const char *
owner_apply(const struct coord_cfg *cfg, const struct owner_req *r, struct task *t,
	    int64_t now)
{
	switch (r->verb) {
	case OWNER_HEARTBEAT:
		t->lease_until = now + cfg->lease_ms;
		return NULL;
	case OWNER_COMPLETE:
		t->state = TASK_DONE;
		free(t->result);
		t->result = xstrdup_or_null(r->result);
		t->lease_until = 0;
		return NULL;
	case OWNER_RELEASE:
		t->state = TASK_QUEUED;
		t->attempts--;		/* a polite release costs no attempt */
		free(t->owner);
		t->owner = NULL;
		t->lease_until = 0;
		return NULL;
	case OWNER_FAIL:
		free(t->reason);
		t->reason = xstrdup(r->reason ? r->reason : "failed");
		t->lease_until = 0;
		if (r->no_retry) {
			t->state = TASK_FAILED;
		} else if (t->attempts >= t->max_attempts) {
			t->state = TASK_DEAD;
		} else {
			int64_t d = cfg->retry_backoff_ms;
			int i;
			for (i = 1; i < t->attempts && d < 3600000; i++)
				d *= 2;
			t->state = TASK_QUEUED;
			t->not_before = now + d;
			free(t->owner);
			t->owner = NULL;
		}
		return t->reason;
	}
	return NULL;
}

enum status
coord_owner(struct bus *b, const struct coord_cfg *cfg, struct opctx *op,
	    const struct owner_req *r, struct task *out, struct err *e)
{
	enum status st;
	int tries;

	if (r->verb == OWNER_COMPLETE && r->result &&
	    (st = json_check(r->result, "result", e)) != ST_OK)
		return st;
	if ((st = opctx_may_write(op, verb_names[r->verb], e)) != ST_OK && !op->falsify)
		return st;
	for (tries = 0; tries < 5; tries++) {
		int64_t now = wall_ms();
		const char *note;

		st = coord_get(b, cfg, r->id, out, e);
		if (!check(op, "task exists", st, e, r->id))
			return st;
		if (st != ST_OK)
			return ST_OK;	/* falsify: nothing more can be checked */
		st = owner_checks(op, r, out, now, e);
		if (op->falsify)
			return ST_OK;
		if (st != ST_OK) {
			task_release(out);
			return st;
		}
		note = owner_apply(cfg, r, out, now);
		out->updated = now;
		if (r->verb != OWNER_HEARTBEAT)	/* leases renew often; history keeps changes */
			task_history_add(out, now, out->state, r->swarm, out->token, note);
		st = cas_write(b, cfg, out, NULL, e);
		if (st == ST_OK) {
			publish_event(b, op, out, verb_names[r->verb], r->swarm);
			return ST_OK;
		}
		task_release(out);
		if (st != ST_CONFLICT)
			return st;
		/* Changed under us (a takeover?): read again and re-check. */
	}
	return err_set(e, ST_CONFLICT, "task '%s' keeps changing; try again", r->id);
}

/* --- list --------------------------------------------------------------- */

void
coord_listing_release(struct coord_listing *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		task_release(&l->tasks[i]);
	for (i = 0; i < l->nbad; i++)
		coord_invalid_release(&l->bad[i]);
	free(l->tasks);
	free(l->bad);
	memset(l, 0, sizeof *l);
}

/* Keep key's record in out when it passes the filter; invalid records always. */
static enum status
list_one(struct bus *b, const struct coord_cfg *cfg, const struct coord_filter *f,
	 const char *key, struct coord_listing *out, size_t *cap, size_t *badcap,
	 struct err *e)
{
	struct coord_invalid bad;
	struct task t;
	enum status st;

	if (check_id(key, "task id", NULL) != ST_OK) {	/* a key no task can have */
		bad = (struct coord_invalid){ xstrdup(key), 0,
					      xstrdup("its key is not a valid task id") };
		st = ST_OK;
	} else if ((st = coord_read(b, cfg, key, &t, &bad, e)) != ST_OK) {
		return st == ST_NOT_FOUND ? ST_OK : st;	/* deleted since the listing */
	}
	if (bad.key) {
		xgrow(&out->bad, badcap, out->nbad + 1, sizeof *out->bad);
		out->bad[out->nbad++] = bad;
		return ST_OK;
	}
	if ((f && f->state && t.state != *f->state) ||
	    (f && f->swarm && (!t.owner || strcmp(t.owner, f->swarm) != 0))) {
		task_release(&t);
		return ST_OK;
	}
	xgrow(&out->tasks, cap, out->n + 1, sizeof *out->tasks);
	out->tasks[out->n++] = t;
	return ST_OK;
}

static int
by_created(const void *a, const void *b)
{
	const struct task *x = a, *y = b;

	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* Invalid records in key order. */
static int
by_key(const void *a, const void *b)
{
	return strcmp(((const struct coord_invalid *)a)->key,
		      ((const struct coord_invalid *)b)->key);
}

enum status
coord_list(struct bus *b, const struct coord_cfg *cfg, const struct coord_filter *f,
	   struct coord_listing *out, struct err *e)
{
	char **keys = NULL;
	size_t nkeys = 0, i, cap = 0, badcap = 0;
	enum status st;

	memset(out, 0, sizeof *out);
	st = bus_kv_keys(b, cfg->bucket, &keys, &nkeys, e);
	for (i = 0; st == ST_OK && i < nkeys; i++)
		if (!has_prefix(keys[i], "idem."))
			st = list_one(b, cfg, f, keys[i], out, &cap, &badcap, e);
	for (i = 0; i < nkeys; i++)
		free(keys[i]);
	free(keys);
	if (st != ST_OK) {
		coord_listing_release(out);
		return st;
	}
	if (out->n)
		qsort(out->tasks, out->n, sizeof *out->tasks, by_created);
	if (out->nbad)
		qsort(out->bad, out->nbad, sizeof *out->bad, by_key);
	return ST_OK;
}

enum status
coord_scan_invalid(struct bus *b, const struct coord_cfg *cfg, struct coord_invalid **out,
		   size_t *n, struct err *e)
{
	struct coord_listing l;
	enum status st = coord_list(b, cfg, NULL, &l, e);

	*out = l.bad;
	*n = l.nbad;
	l.bad = NULL;
	l.nbad = 0;
	coord_listing_release(&l);
	return st;
}
