/*
 * The bus's private half, shared by its files and nothing else:
 *
 *   bus.c         connection, options, state and error mapping
 *   bus-kv.c      core publish and request, JetStream publish, KV operations
 *   bus-watch.c   watches and the worker that re-creates their consumers
 *   bus-stream.c  stream and bucket administration
 *
 * Lock order: b->mu before w->mu; w->deliver before w->mu. No bus lock is
 * held while nats.c is asked for a round trip, except w->mu in
 * watch_subscribe() (see bus-watch.c), and no lock but w->deliver while a
 * watch callback runs.
 *
 * nats.c runs the connection callbacks (disconnected, reconnected, closed,
 * async errors) of every connection in the process on one thread. They
 * must never wait on w->mu, which a reset holds across a round trip: one
 * slow reset would hold up every other connection's callbacks, and
 * bus_close() of another bus would give up waiting for its closed callback.
 * They ask for resets through reset_asked and sub_id instead.
 */
#ifndef IF_BUS_INT_H
#define IF_BUS_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include <nats/nats.h>

#include "core/bus.h"

#define WATCH_HEARTBEAT_MS 1000

struct bus {
	natsConnection *nc;
	natsOptions *opts;
	jsCtx *js;
	char *url;
	int64_t timeout_ms;
	int64_t backoff_ms, backoff_max_ms;	/* reconnect delay bounds */
	bus_state_fn on_state;		/* under mu: bus_close() clears it */
	void *state_arg;
	atomic_int drop_answers;	/* fault injection: JetStream answers to ignore */
	atomic_uint refusals;		/* permission violations the server reported */
	/*
	 * Copies of state and refused_ms, read without b->mu: bus_map_err runs
	 * under a watch's lock (re-creating its consumer), and b->mu is taken
	 * before a watch's lock elsewhere, so it must not take b->mu there.
	 */
	atomic_int state_seen;
	_Atomic int64_t refused_seen;
	atomic_int clustered;		/* 0 not known yet, 1 one server, 2 several (bus-kv.c) */

	pthread_mutex_t mu;		/* guards everything below */
	pthread_cond_t cv;
	enum bus_state state;
	uint64_t reconnects;
	struct kv_handle { char *bucket; kvStore *kv; } *kvs;
	size_t nkvs, kvcap;
	struct bus_watch **watches;	/* open watches (not yet freed by their owner) */
	size_t nwatches, watchcap;
	pthread_t worker;
	bool worker_started, stopping, work_pending;
	bool closed_cb;			/* nats.c delivered its last callback */
	int in_state_fn;		/* on_state calls running (outside mu) */
	atomic_uint subs_live;		/* watch subscriptions not yet complete: counted up
					   without b->mu (a watch's reset holds w->mu, and
					   b->mu is taken before w->mu), down under it */
	int64_t refused_ms;		/* mono_ms() of the last permission violation */
	char refused[200];		/* its text, lowercase */
	struct bus *parked_next;	/* see bus_close() */
};

/*
 * A watch lives until its last reference goes: the owner's (dropped by
 * bus_watch_free), one per nats.c subscription that still may call back
 * (dropped by nats.c's completion callback), and the worker's while it
 * services the watch.
 */
struct bus_watch {
	struct bus *bus;
	char *bucket, *stream, *filter;
	size_t key_skip;		/* subject prefix dropped to make the key */
	bool kv;			/* a bucket (snapshot by key) or a plain stream */
	int64_t start_ns;		/* bus_kv_watch_since: first message's earliest time */
	bus_watch_fn fn;
	void *arg;
	atomic_int refs;
	atomic_uint_least64_t resets;	/* consumers re-created */
	atomic_bool reset_asked;	/* by a connection callback: reset when connected */
	atomic_uintptr_t sub_id;	/* the current subscription, for those callbacks */
	pthread_mutex_t deliver;	/* held across each call of fn */

	pthread_mutex_t mu;		/* guards everything below */
	natsSubscription *sub;		/* the current subscription */
	uint64_t last_rev;		/* last revision delivered */
	uint64_t cons_seq;		/* last consumer sequence on sub */
	bool snapshot_pending;		/* snapshot_done not sent yet */
	bool snapshot_kick;		/* the worker sends it (nothing to deliver first) */
	bool need_reset;
	bool stopped;			/* freed by its owner: fn is not called again */
	bool in_fn;			/* fn is running on fn_thread */
	pthread_t fn_thread;
};

/* bus.c */
enum status bus_ready(struct bus *b, const char *what, struct err *e);
enum status bus_map_err(struct bus *b, natsStatus s, jsErrCode jerr, const char *what,
			struct err *e);
enum status bus_map_refusal(int code, const char *desc, const char *what, struct err *e);
enum status bus_refused_err(struct bus *b, const char *what, struct err *e);

/* bus-kv.c: the bound kvStore of a bucket, cached; ST_NO_SCHEMA when missing. */
enum status bus_kv_handle(struct bus *b, const char *bucket, kvStore **out, struct err *e);

/* bus-watch.c */
void *bus_worker_main(void *arg);
/* Ask for a reset of every watch (after a reconnect). b->mu held; never waits. */
void bus_watches_reset_all(struct bus *b);
/* Ask for a reset of the watch whose current subscription is sub; never waits on a watch. */
void bus_watch_reset_sub(struct bus *b, natsSubscription *sub);

#endif
