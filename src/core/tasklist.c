/* A page of the task list from the task index: see tasklist.h. */
#include <stdlib.h>
#include <string.h>

#include "core/bus-direct.h"
#include "core/tasklist.h"
#include "core/util.h"

/* What was read for one place of a page. */
struct got {
	struct buf data;
	uint64_t seq;
	bool archived;		/* read from the archive */
	bool found;		/* a message of the key (a put, or a delete marker) */
	bool put;		/* it holds a record */
};

/* How a round reads the places it takes. */
enum round { BY_SEQ, LAST_LIVE, LAST_ARCHIVED };

/*
 * Read, for every place not found yet that round r takes, its message from
 * one stream (pipelined): by sequence from the stream the index had it in
 * (in two passes, live then archived), or the last message of its key.
 */
static enum status
read_round(struct bus *b, const struct coord_cfg *cfg, const struct taskdb_ref *refs,
	   struct got *g, size_t n, enum round r, bool archived, struct err *e)
{
	const char *bucket = archived ? cfg->archive : cfg->bucket;
	struct bus_direct *q = xcalloc(n ? n : 1, sizeof *q);
	size_t *at = xcalloc(n ? n : 1, sizeof *at), k = 0, i;
	char *stream, *want;
	enum status st;

	for (i = 0; i < n; i++) {
		if (g[i].found || (r == BY_SEQ && refs[i].archived != archived))
			continue;
		at[k] = i;
		if (r == BY_SEQ)
			q[k].seq = refs[i].rev;
		else
			q[k].subject = xasprintf("$KV.%s.%s", bucket, refs[i].id);
		k++;
	}
	stream = xasprintf("KV_%s", bucket);
	st = k ? bus_direct_get_many(b, stream, q, k, e) : ST_OK;
	for (i = 0; i < k; i++) {
		struct got *o = &g[at[i]];

		want = xasprintf("$KV.%s.%s", bucket, refs[at[i]].id);
		if (st == ST_OK && q[i].st == ST_OK && strcmp(q[i].got_subject, want) == 0) {
			o->found = true;
			o->put = q[i].op == BUS_KV_PUT;
			o->seq = q[i].got_seq;
			o->archived = archived;
			buf_reset(&o->data);
			buf_add(&o->data, q[i].data.s ? q[i].data.s : "", q[i].data.len);
		}
		free(want);
		free((char *)q[i].subject);
		bus_direct_release(&q[i]);
	}
	free(stream);
	free(at);
	free(q);
	return st == ST_NO_SCHEMA ? ST_OK : st;
}

/*
 * The records of refs[0..n): by the sequence the index knows, else the last
 * of the key, live then archived. Those that are records of tasks passing f
 * are added to out.
 */
static enum status
fetch(struct bus *b, const struct coord_cfg *cfg, const struct coord_filter *f,
      const struct taskdb_ref *refs, size_t n, struct coord_listing *out, size_t *cap,
      struct err *e)
{
	struct got *g = xcalloc(n ? n : 1, sizeof *g);
	enum status st;
	size_t i;

	st = read_round(b, cfg, refs, g, n, BY_SEQ, false, e);
	if (st == ST_OK && cfg->archive)
		st = read_round(b, cfg, refs, g, n, BY_SEQ, true, e);
	if (st == ST_OK)
		st = read_round(b, cfg, refs, g, n, LAST_LIVE, false, e);
	if (st == ST_OK && cfg->archive)
		st = read_round(b, cfg, refs, g, n, LAST_ARCHIVED, true, e);
	for (i = 0; i < n; i++) {
		struct task t;

		if (st == ST_OK && g[i].put &&
		    coord_record_parse(refs[i].id, g[i].data.s, g[i].data.len, &t, NULL) == ST_OK) {
			t.rev = g[i].seq;
			t.archived = g[i].archived;
			if (coord_filter_keeps(f, &t)) {
				xgrow(&out->tasks, cap, out->n + 1, sizeof *out->tasks);
				out->tasks[out->n++] = t;
			} else {
				task_release(&t);	/* changed since the sync: not on this page */
			}
		}
		buf_release(&g[i].data);
	}
	free(g);
	return st;
}

/* Set *c to the place of ref (c->id owned). */
static void
cursor_set(struct coord_cursor *c, int64_t created, const char *id)
{
	free(c->id);
	c->created = created;
	c->id = xstrdup(id);
}

/* Fill out with up to want tasks after f's place, page by page of the index. */
static enum status
fill(struct bus *b, const struct coord_cfg *cfg, struct taskdb *d, const struct coord_filter *f,
     size_t want, struct coord_listing *out, struct err *e)
{
	struct coord_cursor c = { 0, NULL };
	struct coord_filter g = *f;
	struct taskdb_ref *refs = NULL;
	size_t nrefs = 0, cap = 0, need;
	enum status st = ST_OK;

	while (st == ST_OK && out->n < want) {
		need = want - out->n;
		if ((st = taskdb_page(d, &g, need, &refs, &nrefs, e)) != ST_OK || nrefs == 0)
			break;
		st = fetch(b, cfg, f, refs, nrefs, out, &cap, e);
		cursor_set(&c, refs[nrefs - 1].created, refs[nrefs - 1].id);
		g.after = &c;
		taskdb_refs_free(refs, nrefs);
		refs = NULL;
		if (nrefs < need)
			break;	/* the index has no more */
	}
	free(c.id);
	return st;
}

enum status
tasklist_page(struct bus *b, const struct coord_cfg *cfg, struct taskdb *d,
	      const struct coord_filter *f, struct coord_listing *out, bool *served,
	      struct err *e)
{
	struct coord_cursor last = { 0, NULL };
	struct coord_filter g = *f;
	uint64_t total = 0, more = 0;
	size_t want = f->limit;
	enum status st = ST_OK;

	memset(out, 0, sizeof *out);
	*served = false;
	if (want == 0 || want > TASKLIST_DIRECT_MAX) {
		st = taskdb_count(d, f, TASKLIST_DIRECT_MAX + 1, &total, e);
		if (st != ST_OK || total > TASKLIST_DIRECT_MAX)
			return st;
		want = want && want < total ? want : (size_t)total;
	}
	*served = true;
	st = fill(b, cfg, d, f, want, out, e);
	if (st == ST_OK && f->limit && out->n == f->limit) {	/* a full page: what is after it */
		cursor_set(&last, out->tasks[out->n - 1].created, out->tasks[out->n - 1].id);
		g.after = &last;
		st = taskdb_count(d, &g, TASKLIST_COUNT_MAX, &more, e);
		out->more = (size_t)more;
	}
	if (st == ST_OK)
		st = taskdb_invalid(d, f->archived, &out->bad, &out->nbad, e);
	free(last.id);
	if (st != ST_OK)
		coord_listing_release(out);
	return st;
}
