/*
 * The event bus over nats.c: watches. See bus.h for the contract callers
 * rely on; this is how it is kept.
 *
 * A watch is a push consumer on the bucket's stream with idle heartbeats
 * and no acks. Each delivered message carries its stream sequence (the KV
 * revision) and its consumer sequence. The watch keeps the last revision it
 * delivered; a message at or below it is a duplicate and is dropped, a jump
 * in consumer sequence is a gap. On a gap, a missed heartbeat or a
 * reconnect, the watch is marked for reset and the bus's worker thread
 * re-creates the consumer from last revision + 1.
 *
 * Lifetime. After a subscription is unsubscribed or drained, nats.c may
 * still be inside, or about to enter, the subscription's message handler;
 * only its completion callback (natsSubscription_SetOnCompleteCB) says the
 * handler will not run again. So each subscription holds a reference on its
 * watch, dropped by that callback, the owner holds one until
 * bus_watch_free(), the worker one while it services the watch, and the
 * memory goes with the last.
 *
 * Ending a subscription. It is drained, not unsubscribed: the messages
 * already received are handed to the handler (which drops them, the watch
 * being stopped or the subscription replaced) instead of staying queued in
 * nats.c. Our handle is destroyed in the completion callback, and
 * bus_close() waits for every completion before closing the connection. A
 * message still queued when the connection closes is freed by whichever
 * nats.c thread drops the subscription last, and natsMsg_Destroy() hands it
 * to the library's garbage collector: after nats_CloseAndWait() has stopped
 * that thread, nats.c 3.4.1 loses it (LeakSanitizer reported one natsMsg,
 * now and then, in commands that freed a watch just before exiting).
 *
 * Delivery. fn runs with w->deliver held and no other lock, so calls never
 * overlap, even while the old and the new subscription of a reset both
 * deliver, and each call happens after the previous one returned. A message
 * handler decides under w->mu what to deliver, then calls fn through
 * watch_call(), which checks w->stopped once more and notes the calling
 * thread; bus_watch_free() sets w->stopped, then takes w->deliver to wait
 * out a call in progress, except on that call's own thread (a callback
 * closing its own watch), where waiting would never end.
 *
 * Snapshot of an empty bucket. There is no message to carry snapshot_done,
 * and the caller's thread must not run fn; the worker sends it instead
 * (snapshot_kick), unless a message that arrived meanwhile already did.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/bus-int.h"
#include "core/util.h"

/* The KV operation a message records (a put when it has no header). */
static enum bus_kv_op
msg_op(natsMsg *m)
{
	const char *op = NULL;

	if (natsMsgHeader_Get(m, "KV-Operation", &op) != NATS_OK || op == NULL)
		return BUS_KV_PUT;
	return strcmp(op, "DEL") == 0 ? BUS_KV_DEL :
	       strcmp(op, "PURGE") == 0 ? BUS_KV_PURGE : BUS_KV_PUT;
}

/* Free a watch whose last reference is gone. */
static void
watch_destroy(struct bus_watch *w)
{
	pthread_mutex_destroy(&w->mu);
	pthread_mutex_destroy(&w->deliver);
	free(w->bucket);
	free(w->stream);
	free(w->filter);
	free(w);
}

/* Drop one reference; the last one frees the watch, on whatever thread. */
static void
watch_unref(struct bus_watch *w)
{
	if (atomic_fetch_sub(&w->refs, 1) == 1)
		watch_destroy(w);
}

/* One nats.c subscription of a watch: the completion callback's closure. */
struct watch_sub {
	struct bus_watch *w;
	natsSubscription *sub;
};

/*
 * nats.c's word that a subscription's handler has returned for good: its
 * queue is empty (drained), so our handle goes and bus_close() may go on.
 */
static void
watch_on_complete(void *arg)
{
	struct watch_sub *ws = arg;
	struct bus *b = ws->w->bus;

	natsSubscription_Destroy(ws->sub);
	pthread_mutex_lock(&b->mu);
	atomic_fetch_sub(&b->subs_live, 1);
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);	/* b may be freed from here on */
	watch_unref(ws->w);
	free(ws);
}

/* Call fn with ev unless the watch was stopped meanwhile. w->deliver held. */
static void
watch_call(struct bus_watch *w, const struct bus_kv_event *ev)
{
	pthread_mutex_lock(&w->mu);
	if (w->stopped) {
		pthread_mutex_unlock(&w->mu);
		return;
	}
	w->in_fn = true;
	w->fn_thread = pthread_self();
	pthread_mutex_unlock(&w->mu);
	w->fn(w->arg, ev);
	pthread_mutex_lock(&w->mu);
	w->in_fn = false;
	pthread_mutex_unlock(&w->mu);
}

/* Ask the worker to look at the watches now. */
static void
worker_poke(struct bus *b)
{
	pthread_mutex_lock(&b->mu);
	b->work_pending = true;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

/*
 * Take one message of the current subscription, or drop it when it is a
 * duplicate, comes from a replaced subscription, or follows a gap (then the
 * watch is reset from the last revision delivered). w->mu held; says
 * whether ev is to be delivered and whether the snapshot is complete.
 */
static void
watch_take(struct bus_watch *w, natsSubscription *sub, natsMsg *m, const jsMsgMetaData *meta,
	   struct bus_kv_event *ev, bool *deliver, bool *snap, bool *gap)
{
	if (w->stopped || sub != w->sub || w->need_reset)
		return;
	if (w->cons_seq && meta->Sequence.Consumer != w->cons_seq + 1) {
		w->need_reset = *gap = true;	/* start again from last_rev + 1 */
		return;
	}
	w->cons_seq = meta->Sequence.Consumer;
	if (meta->Sequence.Stream > w->last_rev) {
		w->last_rev = meta->Sequence.Stream;
		ev->key = natsMsg_GetSubject(m) + w->key_skip;
		ev->value = natsMsg_GetData(m);
		ev->len = (size_t)natsMsg_GetDataLength(m);
		ev->revision = meta->Sequence.Stream;
		ev->time_ns = meta->Timestamp;
		ev->pending = meta->NumPending;
		ev->op = w->kv ? msg_op(m) : BUS_KV_PUT;	/* stream messages have no KV operation */
		*deliver = true;
	}
	if (w->snapshot_pending && meta->NumPending == 0) {
		w->snapshot_pending = false;
		*snap = true;
	}
}

/* A subscription's message handler, on its nats.c delivery thread. */
static void
watch_on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *arg)
{
	static const struct bus_kv_event done = { .snapshot_done = true };
	struct bus_watch *w = arg;
	jsMsgMetaData *meta = NULL;
	struct bus_kv_event ev = { 0 };
	bool deliver = false, snap = false, gap = false;

	(void)nc;
	if (natsMsg_GetMetaData(&meta, m) != NATS_OK) {
		natsMsg_Destroy(m);
		return;
	}
	pthread_mutex_lock(&w->deliver);
	pthread_mutex_lock(&w->mu);
	watch_take(w, sub, m, meta, &ev, &deliver, &snap, &gap);
	pthread_mutex_unlock(&w->mu);
	if (deliver)
		watch_call(w, &ev);
	if (snap)
		watch_call(w, &done);
	if (gap)
		worker_poke(w->bus);	/* under w->deliver: the bus is still open */
	pthread_mutex_unlock(&w->deliver);
	jsMsgMetaData_Destroy(meta);
	natsMsg_Destroy(m);
}

/*
 * Create the watch's consumer from from_rev (or the snapshot), with a
 * reference for the subscription that nats.c's completion callback drops.
 * w->mu held, so the new subscription's first message waits until w->sub is
 * set.
 */
static enum status
watch_subscribe(struct bus_watch *w, uint64_t from_rev, struct err *e)
{
	struct bus *b = w->bus;
	struct watch_sub *ws;
	jsSubOptions so;
	jsErrCode jerr = 0;
	natsSubscription *sub = NULL;
	natsStatus s;

	jsSubOptions_Init(&so);
	so.Stream = w->stream;
	so.ManualAck = true;
	so.Config.AckPolicy = js_AckNone;
	so.Config.FlowControl = true;
	so.Config.Heartbeat = (int64_t)WATCH_HEARTBEAT_MS * 1000000;
	so.Config.InactiveThreshold = (int64_t)30 * 1000000000;
	so.Config.MemoryStorage = true;
	if (w->start_ns && w->last_rev == 0) {	/* nothing delivered yet: still by time */
		so.Config.DeliverPolicy = js_DeliverByStartTime;
		so.Config.OptStartTime = w->start_ns;
	} else if (from_rev) {
		so.Config.DeliverPolicy = js_DeliverByStartSequence;
		so.Config.OptStartSeq = from_rev;
	} else {
		so.Config.DeliverPolicy = w->kv ? js_DeliverLastPerSubject : js_DeliverNew;
	}
	w->cons_seq = 0;
	s = js_Subscribe(&sub, b->js, w->filter, watch_on_msg, w, NULL, &so, &jerr);
	if (s != NATS_OK)
		return bus_map_err(b, s, jerr, "watch", e);
	atomic_fetch_add(&w->refs, 1);
	ws = xcalloc(1, sizeof *ws);
	ws->w = w;
	ws->sub = sub;
	/*
	 * Refused only when the subscription is closed already (the connection
	 * closed under us): then nats.c will never say when its handler is done,
	 * so the reference stays and the watch is never freed, a small leak
	 * rather than a use after free.
	 */
	s = natsSubscription_SetOnCompleteCB(sub, watch_on_complete, ws);
	if (s != NATS_OK) {
		free(ws);
		natsSubscription_Destroy(sub);
		return bus_map_err(b, NATS_CONNECTION_CLOSED, 0, "watch", e);
	}
	atomic_fetch_add(&b->subs_live, 1);	/* not under b->mu: see bus-int.h */
	w->sub = sub;
	atomic_store(&w->sub_id, (uintptr_t)sub);
	return ST_OK;
}

/* Start a watch of stream 'stream' filtered to 'filter'. */
static enum status
watch_start(struct bus *b, struct bus_watch *w, uint64_t from_rev, struct bus_watch **out,
	    struct err *e)
{
	struct bus_stream_stat stat;
	enum status st;
	bool kick;

	w->bus = b;
	w->last_rev = from_rev ? from_rev - 1 : 0;
	atomic_init(&w->refs, 1);
	atomic_init(&w->resets, 0);
	atomic_init(&w->reset_asked, false);
	atomic_init(&w->sub_id, 0);
	pthread_mutex_init(&w->mu, NULL);
	pthread_mutex_init(&w->deliver, NULL);
	st = bus_stream_stat(b, w->stream, &stat, e);
	if (st == ST_NO_SCHEMA && w->kv)
		st = err_set(e, ST_NO_SCHEMA, "bucket '%s' does not exist", w->bucket);
	if (st != ST_OK) {
		watch_unref(w);
		return st;
	}
	if (!w->kv && from_rev == 0)
		w->last_rev = stat.last_seq;	/* only what comes next */
	pthread_mutex_lock(&w->mu);
	w->snapshot_pending = w->kv && from_rev == 0;
	st = watch_subscribe(w, from_rev, e);
	kick = w->snapshot_kick = st == ST_OK && w->snapshot_pending && stat.msgs == 0;
	pthread_mutex_unlock(&w->mu);
	if (st != ST_OK) {
		watch_unref(w);
		return st;
	}
	pthread_mutex_lock(&b->mu);
	xgrow(&b->watches, &b->watchcap, b->nwatches + 1, sizeof *b->watches);
	b->watches[b->nwatches++] = w;
	if (kick) {
		b->work_pending = true;
		pthread_cond_broadcast(&b->cv);
	}
	pthread_mutex_unlock(&b->mu);
	*out = w;
	return ST_OK;
}

/* A watch of every key of bucket, not started yet. */
static struct bus_watch *
kv_watch_new(const char *bucket, bus_watch_fn fn, void *arg)
{
	struct bus_watch *w = xcalloc(1, sizeof *w);

	w->kv = true;
	w->bucket = xstrdup(bucket);
	w->stream = xasprintf("KV_%s", bucket);
	w->filter = xasprintf("$KV.%s.>", bucket);
	w->key_skip = strlen(w->filter) - 1;
	w->fn = fn;
	w->arg = arg;
	return w;
}

enum status
bus_kv_watch(struct bus *b, const char *bucket, uint64_t from_rev, bus_watch_fn fn,
	     void *arg, struct bus_watch **out, struct err *e)
{
	return watch_start(b, kv_watch_new(bucket, fn, arg), from_rev, out, e);
}

enum status
bus_kv_watch_since(struct bus *b, const char *bucket, int64_t since_ms, bus_watch_fn fn,
		   void *arg, struct bus_watch **out, struct err *e)
{
	struct bus_watch *w = kv_watch_new(bucket, fn, arg);

	w->start_ns = since_ms > 0 ? since_ms * 1000000 : 1;
	return watch_start(b, w, 0, out, e);
}

enum status
bus_stream_watch(struct bus *b, const char *stream, const char *subject, uint64_t from_seq,
		 bus_watch_fn fn, void *arg, struct bus_watch **out, struct err *e)
{
	struct bus_watch *w = xcalloc(1, sizeof *w);

	w->bucket = xstrdup(stream);
	w->stream = xstrdup(stream);
	w->filter = xstrdup(subject);
	w->fn = fn;
	w->arg = arg;
	return watch_start(b, w, from_seq, out, e);
}

/*
 * Drain the subscription (unsubscribe when it cannot be drained, the
 * connection being closed); its completion callback then destroys it and
 * drops the watch's reference. Never waits, so a callback may drop its own.
 */
static void
drop_sub(struct bus *b, natsSubscription *sub)
{
	if (sub == NULL)
		return;
	if (natsSubscription_DrainTimeout(sub, b->timeout_ms) != NATS_OK)
		natsSubscription_Unsubscribe(sub);
}

void
bus_watch_free(struct bus_watch *w)
{
	struct bus *b;
	natsSubscription *sub;
	bool own;
	size_t i;

	if (w == NULL)
		return;
	b = w->bus;
	pthread_mutex_lock(&b->mu);
	for (i = 0; i < b->nwatches; i++) {
		if (b->watches[i] == w) {
			b->watches[i] = b->watches[--b->nwatches];
			break;
		}
	}
	pthread_mutex_unlock(&b->mu);
	pthread_mutex_lock(&w->mu);
	w->stopped = true;
	own = w->in_fn && pthread_equal(w->fn_thread, pthread_self());
	sub = w->sub;
	w->sub = NULL;
	atomic_store(&w->sub_id, 0);
	pthread_mutex_unlock(&w->mu);
	if (!own) {	/* wait out a call in progress on another thread */
		pthread_mutex_lock(&w->deliver);
		pthread_mutex_unlock(&w->deliver);
	}
	drop_sub(b, sub);
	watch_unref(w);
}

uint64_t
bus_watch_resets(const struct bus_watch *w)
{
	return atomic_load(&w->resets);
}

void
bus_watch_restart(struct bus_watch *w)
{
	atomic_store(&w->reset_asked, true);
	worker_poke(w->bus);
}

void
bus_follow_init(struct bus_follow *f, uint64_t got, uint64_t last)
{
	memset(f, 0, sizeof *f);
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	f->got = got;
	f->last = last;
	f->progress_ms = mono_ms();
	f->st = ST_OK;
}

void
bus_follow_release(struct bus_follow *f)
{
	pthread_cond_destroy(&f->cv);
	pthread_mutex_destroy(&f->mu);
}

void
bus_follow_took(struct bus_follow *f, uint64_t seq)
{
	f->got = seq;
	f->progress_ms = mono_ms();
	if (f->st != ST_OK || f->got >= f->last)	/* else the reader's 100 ms tick */
		pthread_cond_broadcast(&f->cv);
}

enum status
bus_follow_wait(struct bus_follow *f, struct bus_watch *w, const char *stream, int64_t idle_ms)
{
	bool restarted = false;

	pthread_mutex_lock(&f->mu);
	while (f->st == ST_OK && f->got < f->last) {
		struct timespec ts;
		if (mono_ms() - f->progress_ms >= idle_ms && !restarted) {
			restarted = true;
			f->progress_ms = mono_ms();
			bus_watch_restart(w);	/* takes b->mu only: no lock order with f->mu */
		} else if (mono_ms() - f->progress_ms >= idle_ms) {
			f->st = err_set(&f->err, ST_TIMEOUT, "reading stream '%s': nothing after "
					"message %llu for %lld ms, twice", stream,
					(unsigned long long)f->got, (long long)idle_ms);
			break;
		}
		ts = deadline_ts(100);
		pthread_cond_timedwait(&f->cv, &f->mu, &ts);
	}
	pthread_mutex_unlock(&f->mu);
	return f->st;
}

void
bus_watches_reset_all(struct bus *b)
{
	size_t i;

	for (i = 0; i < b->nwatches; i++)
		atomic_store(&b->watches[i]->reset_asked, true);
	b->work_pending = true;
}

void
bus_watch_reset_sub(struct bus *b, natsSubscription *sub)
{
	size_t i;

	pthread_mutex_lock(&b->mu);
	for (i = 0; i < b->nwatches; i++) {
		struct bus_watch *w = b->watches[i];
		if (atomic_load(&w->sub_id) == (uintptr_t)sub)
			atomic_store(&w->reset_asked, true);
	}
	b->work_pending = true;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

/*
 * Re-create one watch's consumer. Holding w->mu while subscribing keeps the
 * old subscription's messages out (they are dropped once need_reset is set)
 * and makes the new one's first message wait until w->sub is set.
 */
static void
watch_reset(struct bus_watch *w)
{
	natsSubscription *old;
	struct err e = ERR_INIT;

	pthread_mutex_lock(&w->mu);
	if (atomic_exchange(&w->reset_asked, false))
		w->need_reset = true;
	if (!w->need_reset || w->stopped) {
		pthread_mutex_unlock(&w->mu);
		return;
	}
	old = w->sub;
	w->sub = NULL;
	atomic_store(&w->sub_id, 0);
	if (watch_subscribe(w, w->last_rev + 1, &e) == ST_OK) {
		w->need_reset = false;
		atomic_fetch_add(&w->resets, 1);
	}
	pthread_mutex_unlock(&w->mu);
	drop_sub(w->bus, old);
}

/* Send snapshot_done of an empty bucket, unless a message did already. */
static void
watch_kick_snapshot(struct bus_watch *w)
{
	static const struct bus_kv_event done = { .snapshot_done = true };
	bool send;

	pthread_mutex_lock(&w->deliver);
	pthread_mutex_lock(&w->mu);
	send = w->snapshot_kick && w->snapshot_pending;
	w->snapshot_kick = false;
	if (send)
		w->snapshot_pending = false;
	pthread_mutex_unlock(&w->mu);
	if (send)
		watch_call(w, &done);
	pthread_mutex_unlock(&w->deliver);
}

/* Does the worker have anything to do for w? b->mu held. */
static bool
watch_wants_work(struct bus_watch *w, bool connected)
{
	bool yes;

	pthread_mutex_lock(&w->mu);
	yes = !w->stopped && (w->snapshot_kick ||
			      (connected && (w->need_reset || atomic_load(&w->reset_asked))));
	pthread_mutex_unlock(&w->mu);
	return yes;
}

/*
 * The bus's worker: sends the snapshot_done of empty buckets and re-creates
 * the watches that need it whenever the connection is up; a failed attempt
 * is retried on the next half-second tick. It works without b->mu (a reset
 * is a round trip), holding a reference on each watch it services, so
 * bus_watch_free() never waits for it.
 */
void *
bus_worker_main(void *arg)
{
	struct bus *b = arg;
	struct bus_watch **todo = NULL;
	size_t ntodo, cap = 0, i;
	struct timespec ts;

	pthread_mutex_lock(&b->mu);
	while (!b->stopping) {
		bool connected;
		if (!b->work_pending) {
			ts = deadline_ts(500);
			pthread_cond_timedwait(&b->cv, &b->mu, &ts);
		}
		if (b->stopping)
			break;
		b->work_pending = false;
		connected = b->state == BUS_CONNECTED;
		ntodo = 0;
		for (i = 0; i < b->nwatches; i++) {
			if (!watch_wants_work(b->watches[i], connected))
				continue;
			xgrow(&todo, &cap, ntodo + 1, sizeof *todo);
			atomic_fetch_add(&b->watches[i]->refs, 1);
			todo[ntodo++] = b->watches[i];
		}
		if (ntodo == 0)
			continue;
		pthread_mutex_unlock(&b->mu);
		for (i = 0; i < ntodo; i++) {
			watch_kick_snapshot(todo[i]);
			if (connected)
				watch_reset(todo[i]);
			watch_unref(todo[i]);
		}
		pthread_mutex_lock(&b->mu);
	}
	pthread_mutex_unlock(&b->mu);
	free(todo);
	return NULL;
}
