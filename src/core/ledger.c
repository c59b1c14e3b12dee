/* The witness ledger on NATS: see ledger.h. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "core/home.h"
#include "core/json.h"
#include "core/ledger.h"
#include "core/util.h"

void
ledger_writer_init(struct ledger_writer *w, struct bus *b)
{
	memset(w, 0, sizeof *w);
	w->b = b;
	w->stream = LEDGER_STREAM;
	w->subject = LEDGER_SUBJECT;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
}

/* Read the tail: the last entry, which must sit at its own sequence. */
static enum status
read_tail(struct ledger_writer *w, struct err *err)
{
	struct buf data = BUF_INIT;
	struct wentry last;
	uint64_t seq = 0;
	enum status st;

	st = bus_stream_last(w->b, w->stream, w->subject, &data, &seq, err);
	if (st == ST_NOT_FOUND) {
		w->last_seq = 0;
		memcpy(w->last_hash, witness_zero_hash, WITNESS_HEX);
		w->known = true;
		st = ST_OK;
	} else if (st == ST_OK) {
		st = wentry_parse(data.s, data.len, &last, err);
		/* Another client wrote the tail: chaining on would build on garbage. */
		if (st == ST_OK && last.seq != seq)
			st = err_set(err, ST_LEDGER_FOREIGN, "cannot append: the ledger's last "
				     "message (stream '%s' sequence %llu) holds entry %llu, written "
				     "out of place by another client", w->stream,
				     (unsigned long long)seq, (unsigned long long)last.seq);
		else if (st != ST_OK)
			st = err_set(err, ST_LEDGER_FOREIGN, "cannot append: the ledger's last "
				     "message (stream '%s' sequence %llu) is not a witness entry; "
				     "another client wrote it", w->stream, (unsigned long long)seq);
		if (st == ST_OK) {
			w->last_seq = seq;
			memcpy(w->last_hash, last.hash, WITNESS_HEX);
			w->known = true;
		}
		wentry_release(&last);
	}
	buf_release(&data);
	return st;
}

/*
 * Entries sent earlier whose answers were lost: keep those the stream
 * holds (same place, same hash). Each names the one before it, so the
 * first one missing ends the search. Call after read_tail().
 */
static enum status
reconcile(struct ledger_writer *w, struct wentry *e, size_t n, size_t *found, struct err *err)
{
	struct buf data = BUF_INIT;
	enum status st = ST_OK;
	size_t i;

	*found = 0;
	for (i = 0; i < n && e[i].seq <= w->last_seq; i++) {
		struct wentry got;
		buf_reset(&data);
		if ((st = bus_stream_get(w->b, w->stream, e[i].seq, &data, err)) == ST_NOT_FOUND)
			break;
		if (st != ST_OK)
			return st;
		if (wentry_parse(data.s, data.len, &got, NULL) != ST_OK) {
			wentry_release(&got);
			break;
		}
		if (strcmp(got.hash, e[i].hash) != 0) {
			wentry_release(&got);
			break;
		}
		wentry_release(&got);
		(*found)++;
	}
	buf_release(&data);
	return ST_OK;
}

/* Seal e[0..n) after the known tail, as one chain; json[i] is each one's message. */
static void
seal_batch(struct ledger_writer *w, struct wentry *e, size_t n, struct buf *json,
	   struct bus_pub_msg *m)
{
	size_t i;

	for (i = 0; i < n; i++) {
		e[i].seq = w->last_seq + 1 + i;
		memcpy(e[i].prev, i ? e[i - 1].hash : w->last_hash, WITNESS_HEX);
		wentry_seal(&e[i]);
		buf_reset(&json[i]);
		wentry_canonical(&e[i], true, &json[i]);
		memset(&m[i], 0, sizeof m[i]);
		m[i].subject = w->subject;
		m[i].data = json[i].s;
		m[i].len = json[i].len;
		m[i].pub.msg_id = e[i].hash;
		if (e[i].seq == 1)
			m[i].pub.expect_no_message = true;
		else
			m[i].pub.expect_last_subject_seq = e[i].seq - 1;
		if (i > 0)	/* must follow exactly the entry before it */
			m[i].pub.expect_last_msg_id = e[i - 1].hash;
		/*
		 * The same place as a stream sequence (one entry per message): a
		 * cluster checks this one against writes still being replicated,
		 * the subject's only against stored ones (nats-server issue 4320).
		 */
		m[i].pub.expect_last_seq = e[i].seq - 1;
	}
}

/*
 * Read the stream's tail again (the writer lost track of it). The first
 * unsure entries of e, sealed by a call that failed, may have landed:
 * *found of them are there and are done.
 */
static enum status
catch_up(struct ledger_writer *w, struct wentry *e, size_t *unsure, size_t *found,
	 struct err *err)
{
	enum status st;

	*found = 0;
	if ((st = read_tail(w, err)) != ST_OK || *unsure == 0)
		return st;
	if ((st = reconcile(w, e, *unsure, found, err)) != ST_OK)
		return st;
	w->recovered += *found;
	*unsure = 0;
	return ST_OK;
}

/*
 * Take in the entries of a published batch of k that the server stored,
 * up to the first it refused; their count. An entry stored at another
 * sequence than its own is ST_WITNESS in *st.
 */
static size_t
batch_landed(struct ledger_writer *w, const struct bus_pub_msg *m, const struct wentry *e,
	     size_t k, enum status *st, struct err *err)
{
	size_t i;

	for (i = 0; i < k && m[i].st == ST_OK; i++) {
		if (m[i].seq != e[i].seq) {
			*st = err_set(err, ST_WITNESS, "entry %llu landed at stream sequence %llu",
				      (unsigned long long)e[i].seq, (unsigned long long)m[i].seq);
			break;
		}
		w->last_seq = m[i].seq;
		memcpy(w->last_hash, e[i].hash, WITNESS_HEX);
	}
	return i;
}

#define LEDGER_RACES_MAX 1000	/* lost races before an append gives up */

/* Another writer got there first: step aside a random while, longer after repeated losses. */
static enum status
lost_race(struct ledger_writer *w, int lost, struct err *err)
{
	w->conflicts++;
	if (lost >= LEDGER_RACES_MAX)
		return err_set(err, ST_CONFLICT, "gave up appending after %d lost races",
			       LEDGER_RACES_MAX);
	usleep((useconds_t)(randombytes_uniform(50u << (lost < 6 ? lost - 1 : 5)) + 1));
	return ST_OK;
}

enum status
ledger_append_many(struct ledger_writer *w, struct wentry *e, size_t n, size_t *done,
		   struct err *err)
{
	struct bus_pub_msg m[LEDGER_BATCH];
	struct buf json[LEDGER_BATCH];
	size_t unsure = 0, k = 0, i, found;
	enum status st = ST_OK;
	int lost = 0;

	*done = 0;
	for (i = 0; i < LEDGER_BATCH; i++)
		buf_init(&json[i]);
	/* Sealed by an earlier call that failed: they may be there already. */
	while (unsure < n && e[unsure].hash[0] != '\0')
		unsure++;
	if (unsure)
		w->known = false;
	while (*done < n) {
		if (!w->known) {
			if ((st = catch_up(w, e + *done, &unsure, &found, err)) != ST_OK)
				break;
			*done += found;
			if (found)	/* the tail is ours; chain on from it */
				continue;
		}
		k = n - *done < LEDGER_BATCH ? n - *done : LEDGER_BATCH;
		seal_batch(w, e + *done, k, json, m);
		w->batches++;
		st = bus_js_publish_many(w->b, m, k, err);
		i = batch_landed(w, m, e + *done, k, &st, err);
		*done += i;
		if (i == k) {
			st = ST_OK;
			continue;
		}
		w->known = false;
		if (st == ST_WITNESS)
			break;
		if (m[i].st == ST_CONFLICT) {
			if ((st = lost_race(w, ++lost, err)) != ST_OK)
				break;
			continue;
		}
		if (m[i].st == ST_TIMEOUT) {	/* may have landed: look before sending again */
			unsure = k - i;
			continue;
		}
		st = m[i].st;
		if (st == ST_NO_SCHEMA || st == ST_NO_JETSTREAM)
			st = err_set(err, ST_NO_SCHEMA, "stream '%s' does not exist", w->stream);
		break;
	}
	for (i = 0; i < LEDGER_BATCH; i++)
		buf_release(&json[i]);
	if (*done && w->landed)
		w->landed(w->landed_arg, e[0].seq, e[*done - 1].seq, *done);
	return *done == n ? ST_OK : st;
}

enum status
ledger_append(struct ledger_writer *w, struct wentry *e, struct err *err)
{
	size_t done;
	enum status st = wentry_check(e, err);	/* never write what cannot be read back */

	return st == ST_OK ? ledger_append_many(w, e, 1, &done, err) : st;
}

/* --- group commit --------------------------------------------------------- */

/* Take up to LEDGER_BATCH entries off the queue's head (w->mu held). */
static size_t
queue_take(struct ledger_writer *w, struct wentry *out)
{
	size_t k = w->nqueue < LEDGER_BATCH ? w->nqueue : LEDGER_BATCH;

	memcpy(out, w->queue + w->head, k * sizeof *out);
	return k;
}

/* The first k entries of the queue landed (or were given up): drop them. */
static void
queue_drop(struct ledger_writer *w, size_t k)
{
	size_t i;

	for (i = 0; i < k; i++)
		wentry_release(&w->queue[w->head + i]);
	w->head += k;
	w->nqueue -= k;
	if (w->nqueue == 0)
		w->head = 0;
}

static void
queue_push(struct ledger_writer *w, struct wentry *e)
{
	if (w->head && w->head + w->nqueue == w->capqueue) {
		memmove(w->queue, w->queue + w->head, w->nqueue * sizeof *w->queue);
		w->head = 0;
	}
	xgrow(&w->queue, &w->capqueue, w->head + w->nqueue + 1, sizeof *w->queue);
	w->queue[w->head + w->nqueue++] = *e;
	wentry_init(e);
	w->submitted++;
}

/*
 * Append one batch from the queue's head (w->mu held, released meanwhile).
 * Appending fills seq, prev and hash of the queued entries themselves, so a
 * retry after a failure seals them again from the tail it reads.
 */
static enum status
append_head(struct ledger_writer *w)
{
	struct wentry batch[LEDGER_BATCH];
	struct err err = ERR_INIT;
	size_t k = queue_take(w, batch), done = 0;
	enum status st;

	pthread_mutex_unlock(&w->mu);
	st = ledger_append_many(w, batch, k, &done, &err);
	pthread_mutex_lock(&w->mu);
	memcpy(w->queue + w->head, batch, k * sizeof *batch);
	queue_drop(w, done);
	w->done += done;
	w->st = st;
	if (st != ST_OK) {
		w->err = err;
		w->failures++;
	}
	pthread_cond_broadcast(&w->cv);
	return st;
}

static void *
writer_main(void *arg)
{
	struct ledger_writer *w = arg;
	int64_t pause_ms = 0;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->nqueue == 0 && !w->stopping)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->nqueue == 0)
			break;
		if (append_head(w) == ST_OK) {
			pause_ms = 0;
			continue;
		}
		if (w->stopping)
			break;
		/* The server is away or refusing: try again, less often the longer it lasts. */
		pause_ms = pause_ms ? (pause_ms * 2 > 2000 ? 2000 : pause_ms * 2) : 100;
		pthread_mutex_unlock(&w->mu);
		usleep((useconds_t)pause_ms * 1000);
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

void
ledger_writer_start(struct ledger_writer *w)
{
	w->threaded = true;
	if (pthread_create(&w->thread, NULL, writer_main, w) != 0)
		w->threaded = false;	/* entries then land at ledger_flush() */
}

void
ledger_submit(struct ledger_writer *w, struct wentry *e)
{
	struct err err = ERR_INIT;

	if (wentry_check(e, &err) != ST_OK) {	/* never write what cannot be read back */
		pthread_mutex_lock(&w->mu);
		w->submitted++;
		w->dropped++;
		w->refused++;
		w->refusal = err;
		pthread_mutex_unlock(&w->mu);
		wentry_release(e);
		return;
	}
	pthread_mutex_lock(&w->mu);
	while (w->threaded && w->nqueue >= LEDGER_QUEUE_MAX && !w->stopping)
		pthread_cond_wait(&w->cv, &w->mu);
	queue_push(w, e);
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

enum status
ledger_flush(struct ledger_writer *w, struct err *err)
{
	uint64_t want, failures;
	enum status st = ST_OK;

	pthread_mutex_lock(&w->mu);
	want = w->submitted;
	failures = w->failures;
	if (w->refused) {	/* reported once, by the flush after the refusal */
		st = w->refusal.code;
		if (err)
			*err = w->refusal;
		w->refused = 0;
	}
	while (w->done + w->dropped < want) {
		if (!w->threaded) {
			if (append_head(w) != ST_OK)
				break;
		} else if (w->failures != failures) {
			break;
		} else {
			pthread_cond_wait(&w->cv, &w->mu);
		}
	}
	if (w->done + w->dropped < want && st == ST_OK) {
		st = w->st;
		if (err)
			*err = w->err;
	}
	pthread_mutex_unlock(&w->mu);
	return st;
}

void
ledger_writer_release(struct ledger_writer *w)
{
	if (w->threaded) {
		pthread_mutex_lock(&w->mu);
		w->stopping = true;
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->thread, NULL);
		w->threaded = false;
	}
	w->dropped += w->nqueue;
	queue_drop(w, w->nqueue);
	free(w->queue);
	w->queue = NULL;
	w->capqueue = 0;
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
}

enum status
ledger_read(struct bus *b, ledger_entry_fn fn, void *arg, uint64_t *count, struct err *err)
{
	return ledger_read_from(b, 1, fn, arg, count, err);
}

/* A bulk read in progress: the watch delivers, the caller waits. */
struct bulk {
	struct bus_follow f;
	enum status (*fn)(void *arg, uint64_t seq, const char *data, size_t len,
			  struct err *err);
	void *arg;
	uint64_t count;
};

static void
bulk_event(void *arg, const struct bus_kv_event *ev)
{
	struct bulk *k = arg;

	pthread_mutex_lock(&k->f.mu);
	if (k->f.st == ST_OK && !ev->snapshot_done && ev->revision <= k->f.last) {
		k->f.st = k->fn(k->arg, ev->revision, ev->value, ev->len, &k->f.err);
		k->count++;
		bus_follow_took(&k->f, ev->revision);
	}
	pthread_mutex_unlock(&k->f.mu);
}

/*
 * Read the messages of a stream's subject from 'from' to the last one
 * there is now, through a stream watch: in order, at the stream's pace
 * rather than one request per message, each at most once (see
 * bus_follow_wait() for a watch that goes quiet).
 */
static enum status
stream_read(struct bus *b, const char *stream, const char *subject, uint64_t from,
	    enum status (*fn)(void *, uint64_t, const char *, size_t, struct err *), void *arg,
	    uint64_t *count, struct err *err)
{
	struct bulk k = { .fn = fn, .arg = arg };
	struct bus_watch *w = NULL;
	struct buf data = BUF_INIT;
	uint64_t last = 0;
	enum status st;

	*count = 0;
	if (from == 0)
		from = 1;
	st = bus_stream_last(b, stream, subject, &data, &last, err);
	buf_release(&data);
	if (st == ST_NOT_FOUND || (st == ST_OK && last < from))
		return ST_OK;	/* nothing (new) to read */
	if (st != ST_OK)
		return st;
	bus_follow_init(&k.f, 0, last);
	if ((st = bus_stream_watch(b, stream, subject, from, bulk_event, &k, &w, err)) != ST_OK) {
		bus_follow_release(&k.f);
		return st;
	}
	st = bus_follow_wait(&k.f, w, stream, bus_timeout_ms(b));
	bus_watch_free(w);	/* no callback runs after this */
	*count = k.count;
	if (st != ST_OK && err)
		*err = k.f.err;
	bus_follow_release(&k.f);
	return st;
}

struct entry_reader {
	ledger_entry_fn fn;
	ledger_foreign_fn foreign;	/* NULL: a foreign message fails the read */
	void *arg;
};

static enum status
read_entry(void *arg, uint64_t seq, const char *data, size_t len, struct err *err)
{
	struct entry_reader *r = arg;
	struct err why = ERR_INIT;
	struct wentry e;
	enum status st = wentry_parse(data, len, &e, &why);

	if (st != ST_OK && r->foreign) {
		st = r->foreign(r->arg, seq, why.msg, data, len, err);
	} else if (st != ST_OK) {
		st = err_set(err, ST_LEDGER_FOREIGN, "stream '%s' message %llu is not a witness "
			     "entry (%s)", LEDGER_STREAM, (unsigned long long)seq, why.msg);
	} else if (e.seq != seq && r->foreign) {
		char reason[64];
		snprintf(reason, sizeof reason, "it holds entry %llu", (unsigned long long)e.seq);
		st = r->foreign(r->arg, seq, reason, data, len, err);
	} else {
		st = r->fn(r->arg, &e, err);
	}
	wentry_release(&e);
	return st;
}

enum status
ledger_read_from(struct bus *b, uint64_t from, ledger_entry_fn fn, void *arg, uint64_t *count,
		 struct err *err)
{
	return ledger_read_marked(b, from, fn, NULL, arg, count, err);
}

enum status
ledger_read_marked(struct bus *b, uint64_t from, ledger_entry_fn fn, ledger_foreign_fn foreign,
		   void *arg, uint64_t *count, struct err *err)
{
	struct entry_reader r = { fn, foreign, arg };

	return stream_read(b, LEDGER_STREAM, LEDGER_SUBJECT, from, read_entry, &r, count, err);
}

static enum status
keep_entry(void *arg, const struct wentry *e, struct err *err)
{
	struct wentries *w = arg;

	(void)err;
	xgrow(&w->v, &w->cap, w->n + 1, sizeof *w->v);
	wentry_copy(&w->v[w->n++], e);
	return ST_OK;
}

enum status
ledger_read_all(struct bus *b, struct wentries *out, struct err *err)
{
	uint64_t n;

	return ledger_read(b, keep_entry, out, &n, err);
}

void
wentries_release(struct wentries *w)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		wentry_release(&w->v[i]);
	free(w->v);
	memset(w, 0, sizeof *w);
}

struct note_reader {
	struct buf text;
	ledger_note_fn fn;
	void *arg;
};

static enum status
read_note(void *arg, uint64_t seq, const char *data, size_t len, struct err *err)
{
	struct note_reader *r = arg;

	(void)seq;
	buf_reset(&r->text);
	buf_add(&r->text, data, len);
	return r->fn(r->arg, r->text.s, err);
}

enum status
ledger_checkpoints(struct bus *b, ledger_note_fn fn, void *arg, uint64_t *count, struct err *err)
{
	struct note_reader r = { BUF_INIT, fn, arg };
	enum status st = stream_read(b, CHECKPOINT_STREAM, CHECKPOINT_SUBJECT, 1, read_note, &r,
				     count, err);

	buf_release(&r.text);
	if (st == ST_NO_SCHEMA)
		st = ST_OK;	/* a ledger from before checkpoints were stored */
	return st;
}

/* A note's optional fields: an empty one is none. */
static const char *
nonempty(const char *s)
{
	return s && *s ? s : NULL;
}

/* See ledger.h. */
char *
witness_payload(const char *payload, const char *why)
{
	struct buf canon = BUF_INIT, wrap = BUF_INIT, out = BUF_INIT;
	const char *base = NULL;

	if (payload && json_canonical(payload, &canon, NULL) == ST_OK)
		base = canon.s;		/* not JSON: left out (no caller writes one) */
	if (why && base && base[0] != '{') {
		buf_addf(&wrap, "{\"value\":%s}", base);	/* carried, so the why is kept */
		base = wrap.s;
	}
	if (why == NULL || json_with_member(base, "why", why, &out, NULL) != ST_OK) {
		buf_reset(&out);
		if (base)
			buf_adds(&out, base);
	}
	buf_release(&canon);
	buf_release(&wrap);
	if (out.len == 0) {
		buf_release(&out);
		return NULL;
	}
	return buf_detach(&out);
}

void
ledger_witness(const struct opctx *op, const struct witness_note *n)
{
	struct wentry e;

	if (op->witness == NULL || op->falsify)
		return;
	wentry_init(&e);
	e.time = wall_ms();
	e.component = xstrdup(n->component);
	e.event = xstrdup(n->event);
	e.actor = xstrdup(n->actor ? n->actor : op->actor ? op->actor : "unknown");
	e.trace = xstrdup_or_null(nonempty(op->trace_id));
	e.swarm = xstrdup_or_null(nonempty(n->swarm));
	e.task = xstrdup_or_null(nonempty(n->task));
	e.cost_micros = n->cost_micros;
	e.tokens = n->tokens;
	e.payload = witness_payload(n->payload, op->justification);
	ledger_submit(op->witness, &e);
}

enum status
witness_key(const struct config *c, bool create, struct wkey *k, bool *created, struct err *e)
{
	char *dir = home_path(c, HOME_KEYS), *path = home_path(c, HOME_WITNESS_KEY);
	char host[128], name[160];
	enum status st;

	if (created)
		*created = false;
	st = wkey_load(path, k, e);
	if (st == ST_NOT_FOUND && !create) {
		err_set(e, ST_NOT_FOUND, "no witness key at '%s'", path);
		err_remedy(e, "'ifctl witness key create' (or 'ifctl up') makes one; a host that "
			   "only verifies takes the signer's verifier key with --key");
	}
	if (st == ST_NOT_FOUND && create) {
		gethostname(host, sizeof host);
		host[sizeof host - 1] = '\0';
		snprintf(name, sizeof name, "ifctl/%s", host);
		if ((st = mkdir_p(dir, 0700, e)) == ST_OK) {
			wkey_generate(k, name);
			st = wkey_save(path, k, e);
		}
		if (st == ST_OK && created)
			*created = true;
	}
	free(dir);
	free(path);
	return st;
}
