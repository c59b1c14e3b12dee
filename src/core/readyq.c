/* The ready index: see readyq.h. */
#include <stdlib.h>
#include <string.h>

#include "core/coord.h"
#include "core/readyq.h"
#include "core/util.h"

/* What the index knows of one task: its last record and where it is listed. */
struct rq_entry {
	char *id;
	char *json;		/* last valid record seen, or NULL */
	size_t len;
	uint64_t rev;
	enum task_state state;	/* TASK__COUNT: none (deleted or quarantined) */
	int prio;
	int64_t created;
	int64_t lease_until, not_before;
	char *to;
	char **caps;
	size_t ncaps;
	bool listed_ready;	/* in a priority list */
	size_t heap_pos;	/* place in the lease heap, or NOT_IN_HEAP */
	bool inflight;		/* picked, not yet unmarked */
	struct rq_entry *next;	/* hash chain */
};

#define NOT_IN_HEAP ((size_t)-1)
#define FIFO_COMPACT_MIN 1024	/* dead heads kept before the array is compacted */
#define HEAP_WALK_DEPTH 64	/* nodes pending in the walk of expired leases */

/* A FIFO of entries: head advances, the array is compacted now and then. */
struct rq_fifo {
	struct rq_entry **v;
	size_t head, len, cap;
};

struct readyq {
	struct rq_entry **table;	/* hash table, power-of-two size */
	size_t nbuckets, n;
	struct rq_fifo ready[TASK_PRIORITY_MAX + 1];
	struct rq_entry **heap;		/* claimed tasks, min-heap on lease_until */
	size_t nheap, heapcap;
};

/* FNV-1a of a key. */
static uint32_t
hash_str(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* Double the hash table (keeps the load factor at most 1). */
static void
table_grow(struct readyq *q)
{
	size_t nb = q->nbuckets * 2, i;
	struct rq_entry **t = xcalloc(nb, sizeof *t), *e;

	for (i = 0; i < q->nbuckets; i++) {
		while ((e = q->table[i])) {
			q->table[i] = e->next;
			e->next = t[hash_str(e->id) & (nb - 1)];
			t[hash_str(e->id) & (nb - 1)] = e;
		}
	}
	free(q->table);
	q->table = t;
	q->nbuckets = nb;
}

/* The entry of id; a new one (no state) when create and there is none. */
static struct rq_entry *
find(struct readyq *q, const char *id, bool create)
{
	struct rq_entry *e;
	uint32_t h = hash_str(id);

	for (e = q->table[h & (q->nbuckets - 1)]; e; e = e->next)
		if (strcmp(e->id, id) == 0)
			return e;
	if (!create)
		return NULL;
	if (q->n + 1 > q->nbuckets)
		table_grow(q);
	e = xcalloc(1, sizeof *e);
	e->id = xstrdup(id);
	e->state = TASK__COUNT;
	e->heap_pos = NOT_IN_HEAP;
	e->next = q->table[h & (q->nbuckets - 1)];
	q->table[h & (q->nbuckets - 1)] = e;
	q->n++;
	return e;
}

/* Append e to a FIFO, compacting it when most of it is dead heads. */
static void
fifo_push(struct rq_fifo *f, struct rq_entry *e)
{
	if (f->head > FIFO_COMPACT_MIN && f->head * 2 > f->len) {
		memmove(f->v, f->v + f->head, (f->len - f->head) * sizeof *f->v);
		f->len -= f->head;
		f->head = 0;
	}
	xgrow(&f->v, &f->cap, f->len + 1, sizeof *f->v);
	f->v[f->len++] = e;
}

/* The lease heap: the root is the lease that expires first. */
static void
heap_swap(struct readyq *q, size_t a, size_t b)
{
	struct rq_entry *t = q->heap[a];

	q->heap[a] = q->heap[b];
	q->heap[b] = t;
	q->heap[a]->heap_pos = a;
	q->heap[b]->heap_pos = b;
}

/* Restore the heap order around node i (up, then down). */
static void
heap_fix(struct readyq *q, size_t i)
{
	while (i > 0 && q->heap[(i - 1) / 2]->lease_until > q->heap[i]->lease_until) {
		heap_swap(q, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < q->nheap && q->heap[l]->lease_until < q->heap[m]->lease_until)
			m = l;
		if (r < q->nheap && q->heap[r]->lease_until < q->heap[m]->lease_until)
			m = r;
		if (m == i)
			return;
		heap_swap(q, i, m);
		i = m;
	}
}

/* Put e in the lease heap (claimed) or take it out. */
static void
heap_set(struct readyq *q, struct rq_entry *e, bool claimed)
{
	size_t i = e->heap_pos;

	if (claimed && i == NOT_IN_HEAP) {
		xgrow(&q->heap, &q->heapcap, q->nheap + 1, sizeof *q->heap);
		q->heap[q->nheap] = e;
		e->heap_pos = q->nheap++;
		heap_fix(q, e->heap_pos);
	} else if (claimed) {
		heap_fix(q, i);	/* the lease moved */
	} else if (i != NOT_IN_HEAP) {
		q->nheap--;
		if (i != q->nheap) {
			q->heap[i] = q->heap[q->nheap];
			q->heap[i]->heap_pos = i;
			heap_fix(q, i);
		}
		e->heap_pos = NOT_IN_HEAP;
	}
}

/* Free the capabilities e holds. */
static void
caps_free(struct rq_entry *e)
{
	strv_free(e->caps, e->ncaps);
	e->caps = NULL;
	e->ncaps = 0;
}

/* Copy t's capabilities into e. */
static void
caps_set(struct rq_entry *e, const struct task *t)
{
	size_t i;

	caps_free(e);
	e->caps = t->ncaps ? xcalloc(t->ncaps, sizeof *e->caps) : NULL;
	for (i = 0; i < t->ncaps; i++)
		e->caps[i] = xstrdup(t->caps[i]);
	e->ncaps = t->ncaps;
}

/* See readyq.h. */
struct readyq *
readyq_new(void)
{
	struct readyq *q = xcalloc(1, sizeof *q);

	q->nbuckets = 1024;
	q->table = xcalloc(q->nbuckets, sizeof *q->table);
	return q;
}

/* Free q and every entry. */
void
readyq_free(struct readyq *q)
{
	struct rq_entry *e;
	size_t i;

	if (q == NULL)
		return;
	for (i = 0; i < q->nbuckets; i++) {
		while ((e = q->table[i])) {
			q->table[i] = e->next;
			caps_free(e);
			free(e->to);
			free(e->json);
			free(e->id);
			free(e);
		}
	}
	for (i = 0; i <= TASK_PRIORITY_MAX; i++)
		free(q->ready[i].v);
	free(q->heap);
	free(q->table);
	free(q);
}

/* See readyq.h. */
void
readyq_update(struct readyq *q, const char *key, const struct task *t, const char *json,
	      size_t len, uint64_t rev)
{
	struct rq_entry *e = find(q, key, true);

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
	caps_set(e, t);
	if (e->state == TASK_QUEUED && !e->listed_ready) {
		fifo_push(&q->ready[e->prio], e);
		e->listed_ready = true;
	}
	heap_set(q, e, e->state == TASK_CLAIMED);
}

/* See readyq.h. */
void
readyq_drop(struct readyq *q, const char *key, uint64_t rev)
{
	struct rq_entry *e = find(q, key, true);

	if (rev && rev < e->rev)
		return;
	if (rev)
		e->rev = rev;
	free(e->json);
	e->json = NULL;
	e->len = 0;
	e->state = TASK__COUNT;		/* no state: never ready */
	heap_set(q, e, false);
}

/* See readyq.h. */
void
readyq_put(struct readyq *q, const char *key, const char *json, size_t len, uint64_t rev)
{
	struct task t;

	if (coord_record_parse(key, json, len, &t, NULL) == ST_OK) {
		readyq_update(q, key, &t, json, len, rev);
		task_release(&t);
	} else {
		readyq_drop(q, key, rev);
	}
}

/* See readyq.h. */
uint64_t
readyq_replace(struct readyq *q, const char *key, const char *json, size_t len, uint64_t rev)
{
	struct rq_entry *e = find(q, key, true);
	uint64_t known = e->rev;

	e->rev = 0;	/* the known revision no longer counts */
	readyq_put(q, key, json, len, rev);
	return known;
}

/* May c take e (not in flight, addressed to c or to anyone, capabilities held)? */
static bool
entry_fits(const struct rq_entry *e, const struct claimer *c)
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

/* Is a a better claim than b: higher priority, then older? */
static bool
better(const struct rq_entry *a, const struct rq_entry *b)
{
	return b == NULL || a->prio > b->prio || (a->prio == b->prio && a->created < b->created);
}

/*
 * The best expired lease c may take: walk the expired top of the lease
 * heap, at most READYQ_SCAN_MAX nodes.
 */
static struct rq_entry *
pick_expired(struct readyq *q, const struct claimer *c, int64_t now)
{
	struct rq_entry *e, *best = NULL;
	size_t i, stack[HEAP_WALK_DEPTH], depth = 0, visited = 0;

	if (q->nheap)
		stack[depth++] = 0;
	while (depth && visited++ < READYQ_SCAN_MAX) {
		i = stack[--depth];
		e = q->heap[i];
		if (e->lease_until > now)
			continue;
		if (entry_fits(e, c) && better(e, best))
			best = e;
		if (2 * i + 2 < q->nheap && depth < ARRAY_SIZE(stack))
			stack[depth++] = 2 * i + 2;
		if (2 * i + 1 < q->nheap && depth < ARRAY_SIZE(stack))
			stack[depth++] = 2 * i + 1;
	}
	return best;
}

/* The oldest queued task of the highest priority c may take. */
static struct rq_entry *
pick_queued(struct readyq *q, const struct claimer *c, int64_t now)
{
	struct rq_fifo *f;
	struct rq_entry *e;
	size_t i;
	int p;

	for (p = TASK_PRIORITY_MAX; p >= 0; p--) {
		f = &q->ready[p];
		for (i = f->head; i < f->len && i - f->head < READYQ_SCAN_MAX; i++) {
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

/* See readyq.h. */
bool
readyq_pick(struct readyq *q, const struct claimer *c, int64_t now, struct readyq_pick *out)
{
	struct rq_entry *x = pick_expired(q, c, now), *y = pick_queued(q, c, now), *e;

	e = x && y && x->prio == y->prio ? x : x && better(x, y) ? x : y;
	if (e == NULL)
		return false;
	e->inflight = true;
	out->id = xstrdup(e->id);
	out->json = xstrndup(e->json, e->len);
	out->len = e->len;
	out->rev = e->rev;
	return true;
}

/* See readyq.h. */
void
readyq_unmark(struct readyq *q, const char *key)
{
	struct rq_entry *e = find(q, key, false);

	if (e)
		e->inflight = false;
}

/* Free what a pick copied. */
void
readyq_pick_release(struct readyq_pick *p)
{
	free(p->id);
	free(p->json);
	memset(p, 0, sizeof *p);
}

/* See readyq.h. */
size_t
readyq_size(const struct readyq *q)
{
	return q->n;
}

/* See readyq.h. */
void
readyq_each(const struct readyq *q, void (*fn)(void *arg, const char *json, size_t len),
	    void *arg)
{
	struct rq_entry *e;
	size_t i;

	for (i = 0; i < q->nbuckets; i++)
		for (e = q->table[i]; e; e = e->next)
			if (e->json)
				fn(arg, e->json, e->len);
}
