/*
 * The event bus: ifctl's only door to NATS.
 *
 * A wrapper over nats.c that speaks ifctl's vocabulary (enum status,
 * struct err, struct buf) and adds what the CLI and the console need:
 *
 *  - configuration from struct config (URL, timeout, credentials, TLS,
 *    reconnect backoff);
 *  - graceful reconnection: exponential backoff with jitter, a state the
 *    caller can read or be told about (connected, reconnecting, closed), and
 *    operations that, during an outage, wait for the connection at most the
 *    configured timeout and then fail with ST_DISCONNECTED instead of hanging;
 *  - KV operations whose conflicts are typed (ST_EXISTS, ST_CONFLICT);
 *  - KV watches that survive a server restart: each watch remembers the
 *    last stream sequence it delivered and, after a reconnect or a missed
 *    heartbeat, re-creates its consumer from the next one, so no update is
 *    lost or delivered twice. (nats.c 3.4.1's own kvWatcher does not
 *    recover once its ephemeral consumer is gone.)
 *
 * Processes: nats.c keeps global state (threads, the inbox generator); a
 * process that forks after using the bus must exec before it connects,
 * or parent and child generate the same reply subjects.
 *
 * Threads: a struct bus may be used from any thread. The state callback
 * runs on nats.c's connection-event thread. Watch callbacks follow the
 * contract written above bus_kv_watch(). Callbacks must not block for long:
 * a front end hands the event to its own loop (core/evloop.h) and returns.
 */
#ifndef IF_BUS_H
#define IF_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/status.h"

struct bus;

enum bus_state { BUS_CONNECTED, BUS_RECONNECTING, BUS_CLOSED };

typedef void (*bus_state_fn)(void *arg, enum bus_state state);

struct bus_opts {
	char *url;			/* one or more, comma-separated */
	int64_t timeout_ms;		/* connect, request and KV operations */
	char *name;			/* connection name */
	char *creds, *user, *password, *token;
	char *tls_ca, *tls_cert, *tls_key;
	int64_t reconnect_wait_ms;	/* first backoff step */
	int64_t reconnect_max_wait_ms;	/* backoff cap */
	int max_reconnects;		/* -1: forever */
	bool retry_on_failed_connect;	/* keep trying in the background */
	bus_state_fn on_state;		/* optional */
	void *state_arg;
};

/* Fill o from the configuration; release with bus_opts_release(). */
void bus_opts_from_config(struct bus_opts *o, const struct config *c);
/*
 * Append url (a NATS URL or a comma-separated list, or any text holding
 * them) to out with the secret of each user info replaced:
 * "nats://alice:pass@h" becomes "nats://alice:xxxx@h" with xxxx four stars,
 * a token alone "nats://tok@h" becomes four stars too. For everything that
 * shows a configured URL.
 */
void bus_url_mask(const char *url, struct buf *out);
void bus_opts_release(struct bus_opts *o);

/* Connect. ST_UNREACHABLE when no server answers within the timeout. */
enum status bus_open(struct bus **out, const struct bus_opts *o, struct err *e);

/* Close the connection and free everything; bus_close(NULL) is a no-op. */
void bus_close(struct bus *b);
/*
 * Buses bus_close() kept instead of freeing, because nats.c had not said it
 * was done with them in time.
 */
size_t bus_parked(void);

/*
 * Release nats.c's global state; call once at process exit. It first waits
 * (10 s at most) for the parked buses' last callbacks and frees them.
 */
void bus_shutdown(void);

enum bus_state bus_get_state(struct bus *b);
const char *bus_state_name(enum bus_state s);
uint64_t bus_reconnects(struct bus *b);		/* reconnections so far */
const char *bus_url(const struct bus *b);	/* URL actually connected (or configured) */
int64_t bus_timeout_ms(const struct bus *b);
/* The one server of the list the connection is on now ("" when none), into out. */
void bus_connected_url(struct bus *b, char *out, size_t n);
/*
 * The largest message the server takes (its max_payload, from its INFO),
 * in bytes; headers count too. A publish larger than this is refused with
 * ST_BAD_VALUE before anything is sent.
 */
int64_t bus_max_payload(struct bus *b);

/* Round trip of one PING/PONG, in microseconds. */
enum status bus_rtt(struct bus *b, int64_t *rtt_us, struct err *e);

/* Core NATS. */
enum status bus_publish(struct bus *b, const char *subject, const void *data,
			size_t len, struct err *e);
enum status bus_request(struct bus *b, const char *subject, const void *data,
			size_t len, struct buf *reply, struct err *e);

/*
 * JetStream publish with optional expectations: expect_last_seq (stream),
 * expect_last_subject_seq (subject; with expect_no_message for "must not
 * exist"), expect_last_msg_id (the stream's last message carries this
 * Nats-Msg-Id), msg_id (de-duplication). A failed expectation is
 * ST_CONFLICT; a subject no stream takes is ST_NO_SCHEMA; a stream, bucket
 * or server store at its limit is ST_STORE_FULL; a message over the server's
 * max payload or the stream's max message size is ST_BAD_VALUE. It is the
 * one-message case of bus_js_publish_many() below. headers (may be NULL)
 * adds headers of the caller's: name, value, name, value, ..., NULL (such
 * as a KV marker's KV-Operation).
 */
struct bus_pub {
	uint64_t expect_last_seq;
	uint64_t expect_last_subject_seq;
	bool expect_no_message;
	const char *expect_last_msg_id;
	const char *msg_id;
	const char *const *headers;
};
enum status bus_js_publish(struct bus *b, const char *subject, const void *data,
			   size_t len, const struct bus_pub *pub, uint64_t *seq,
			   struct err *e);

/*
 * Publish several messages without waiting for each acknowledgement: all
 * are sent, then the acknowledgements are collected, in at most the bus
 * timeout altogether. Each message gets its own outcome in st (ST_CONFLICT
 * for a failed expectation, ST_TIMEOUT when no answer came: it may or may
 * not have landed), seq and duplicate (the server already held a message
 * with this msg_id, at seq). Returns the first message's failure, else
 * ST_OK; e describes the first failure.
 */
struct bus_pub_msg {
	const char *subject;
	const void *data;
	size_t len;
	struct bus_pub pub;
	enum status st;		/* out */
	uint64_t seq;		/* out */
	bool duplicate;		/* out */
};
enum status bus_js_publish_many(struct bus *b, struct bus_pub_msg *m, size_t n,
				struct err *e);

/*
 * Fault injection for tests: ignore the next n answers bus_js_publish_many
 * receives, as if they were lost on the way (the messages still land).
 */
void bus_fault_drop_answers(struct bus *b, int n);

/* KV. Revisions are stream sequences of the bucket's stream. */
enum bus_kv_op { BUS_KV_PUT, BUS_KV_DEL, BUS_KV_PURGE };

struct bus_kv_entry {
	struct buf value;
	uint64_t revision;
	int64_t created_ns;	/* when this revision was written */
	enum bus_kv_op op;
};
#define BUS_KV_ENTRY_INIT { BUF_INIT, 0, 0, BUS_KV_PUT }

enum status bus_kv_get(struct bus *b, const char *bucket, const char *key,
		       struct bus_kv_entry *out, struct err *e);
/*
 * The same, answered by the bucket's stream leader. bus_kv_get() does this
 * by itself on a connection that knows several servers; on one server it
 * uses a direct get.
 */
enum status bus_kv_get_leader(struct bus *b, const char *bucket, const char *key,
			      struct bus_kv_entry *out, struct err *e);
enum status bus_kv_put(struct bus *b, const char *bucket, const char *key,
		       const void *data, size_t len, uint64_t *rev, struct err *e);
/* Only if the key does not exist (ST_EXISTS otherwise). */
enum status bus_kv_create(struct bus *b, const char *bucket, const char *key,
			  const void *data, size_t len, uint64_t *rev, struct err *e);
/* Only if the key's revision is still last_rev (ST_CONFLICT otherwise). */
enum status bus_kv_update(struct bus *b, const char *bucket, const char *key,
			  const void *data, size_t len, uint64_t last_rev,
			  uint64_t *rev, struct err *e);
enum status bus_kv_delete(struct bus *b, const char *bucket, const char *key,
			  struct err *e);
/*
 * Is key usable as a KV key: letters, digits, '-', '_', '=', '/' and '.',
 * no empty subject token (no leading, trailing or double dot)? Every bus_kv_*
 * call refuses other keys with ST_BAD_VALUE before writing.
 */
bool bus_kv_key_valid(const char *key);
/* Keys of live entries; free each and the array. */
enum status bus_kv_keys(struct bus *b, const char *bucket, char ***keys,
			size_t *n, struct err *e);

/*
 * Watch every key of a bucket. With from_rev == 0 the watch first delivers
 * the latest value of every key, then an event with snapshot_done set, then
 * live updates; with from_rev > 0 it delivers every revision from there on.
 *
 * The watch contract (both kinds of watch):
 *
 *  - Which thread: fn runs on a nats.c delivery thread or on the bus's
 *    worker thread (which sends the snapshot_done of an empty bucket and
 *    re-creates consumers), never on the thread that called bus_kv_watch()
 *    or bus_stream_watch(), and never before that call has returned *out.
 *  - Order: calls for one watch never overlap, and each starts after the
 *    previous one returned (the bus holds one lock per watch across the
 *    call), so state that only fn touches needs no lock of its own; state
 *    shared with other threads does. Calls for different watches may run at
 *    the same time.
 *  - What is held: only that per-watch lock; no lock of the bus or of
 *    nats.c's connection. ev and everything it points to are valid during
 *    the call only.
 *  - What fn may call: any bus function, bus_watch_free() of its own watch
 *    included (the call in progress finishes, none follows), except
 *    bus_close() and bus_shutdown(). Freeing another watch from fn waits for
 *    that watch's call in progress, so two callbacks must not free each
 *    other's watch. fn should not block for long: the watch's messages and
 *    the worker wait meanwhile.
 *  - Closing: bus_watch_free() may be called from any thread. After it
 *    returns fn is not called again, and no call is still running unless
 *    the caller is that call. The memory is released later, when nats.c
 *    reports the subscription complete (natsSubscription_SetOnCompleteCB),
 *    so a handler nats.c had already started never sees freed memory.
 *    Free every watch before bus_close().
 */
struct bus_kv_event {
	const char *key;	/* NULL on the snapshot_done event */
	const void *value;
	size_t len;
	uint64_t revision;
	int64_t time_ns;
	uint64_t pending;	/* messages the consumer held after this one when sent */
	enum bus_kv_op op;
	bool snapshot_done;
};
typedef void (*bus_watch_fn)(void *arg, const struct bus_kv_event *ev);
struct bus_watch;
enum status bus_kv_watch(struct bus *b, const char *bucket, uint64_t from_rev,
			 bus_watch_fn fn, void *arg, struct bus_watch **out,
			 struct err *e);
/*
 * Call fn with the last value of every live key of bucket (deleted and
 * purged keys left out), from one watch snapshot (never a get per key), in
 * no particular order, on a watch's delivery thread while the caller waits;
 * calls never overlap. ST_NO_SCHEMA when the bucket does not exist,
 * ST_TIMEOUT when the snapshot does not arrive in time.
 */
typedef void (*bus_kv_snapshot_fn)(void *arg, const char *key, const char *value, size_t len,
				   uint64_t rev);
enum status bus_kv_snapshot(struct bus *b, const char *bucket, bus_kv_snapshot_fn fn, void *arg,
			    struct err *e);
/*
 * Watch a bucket from a time: every revision written at or after since_ms
 * (wall ms; the server picks the first by its timestamps, no scan here),
 * then snapshot_done once the backlog is delivered (or at once when the
 * bucket is empty; a bucket with nothing since then sends none), then live
 * updates. Cost grows with the changes since, not with the bucket.
 */
enum status bus_kv_watch_since(struct bus *b, const char *bucket, int64_t since_ms,
			       bus_watch_fn fn, void *arg, struct bus_watch **out,
			       struct err *e);
/*
 * Watch a plain stream's subject: every message from from_seq on, or with
 * from_seq == 0 only those published after the call. ev->key is the subject,
 * ev->revision the stream sequence. Survives restarts like a KV watch.
 */
enum status bus_stream_watch(struct bus *b, const char *stream, const char *subject,
			     uint64_t from_seq, bus_watch_fn fn, void *arg,
			     struct bus_watch **out, struct err *e);

/*
 * Stop the watch, from any thread, its own callback included: no call of fn
 * starts after it returns, and none is running unless it is the caller.
 * NULL is a no-op.
 */
void bus_watch_free(struct bus_watch *w);
/* Consumers re-created after outages so far (for tests and the console). */
uint64_t bus_watch_resets(const struct bus_watch *w);
/*
 * Re-create the watch's consumer from the revision after the last one
 * delivered, when its owner has seen that it fell behind (the server it
 * lives on may hold a replica that is behind): the new consumer may be
 * placed on another. Never waits.
 */
void bus_watch_restart(struct bus_watch *w);

/*
 * Following a watch up to a sequence read beforehand (a stream's last, from
 * its leader). The watch's callback takes each message under f->mu and
 * calls bus_follow_took(); the reader waits in bus_follow_wait(), which
 * ends when got reaches last or st is set, and when nothing arrives for
 * idle_ms re-creates the watch's consumer once (on a cluster it may live
 * on a replica that is behind) before it fails with ST_TIMEOUT.
 */
struct bus_follow {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t got;		/* the last sequence taken */
	uint64_t last;		/* the sequence to reach */
	int64_t progress_ms;	/* mono_ms() when got last moved */
	enum status st;		/* the first failure: the callback's, or a timeout */
	struct err err;
};
void bus_follow_init(struct bus_follow *f, uint64_t got, uint64_t last);
void bus_follow_release(struct bus_follow *f);
/* seq was taken (f->mu held): wakes the reader at the end or on a failure. */
void bus_follow_took(struct bus_follow *f, uint64_t seq);
/* Wait as above; the outcome is f->st (and f->err). */
enum status bus_follow_wait(struct bus_follow *f, struct bus_watch *w, const char *stream,
			    int64_t idle_ms);

/* Streams and buckets. */
struct bus_stream_def {
	const char *name;
	const char *subjects[4];	/* NULL-terminated */
	const char *description;
	bool work_queue;		/* work-queue retention, else limits */
	int64_t max_age_s;		/* 0: keep forever */
	int64_t max_bytes;		/* -1: unlimited */
};
struct bus_kv_def {
	const char *bucket;
	const char *description;
	int history;			/* revisions kept per key, 1..64 */
};
/* Create when missing; *created tells which happened. */
enum status bus_stream_ensure(struct bus *b, const struct bus_stream_def *d,
			      bool *created, struct err *e);
enum status bus_kv_ensure(struct bus *b, const struct bus_kv_def *d, bool *created,
			  struct err *e);

/*
 * The same with replicas copies of each message (1: a single server; a
 * cluster's servers hold them with Raft). A stream or bucket that exists
 * with another replica count is changed to replicas (*updated). More
 * replicas than the cluster has JetStream servers, or more than one on a
 * server that runs alone, is ST_BAD_VALUE, and nothing is created.
 */
enum status bus_stream_ensure_r(struct bus *b, const struct bus_stream_def *d, int replicas,
				bool *created, bool *updated, struct err *e);
enum status bus_kv_ensure_r(struct bus *b, const struct bus_kv_def *d, int replicas,
			    bool *created, bool *updated, struct err *e);

/*
 * Where a stream lives on a cluster (a bucket's stream is KV_<bucket>):
 * its configured replicas, its Raft group's leader ("" when it has none:
 * an election is under way, or a server alone) and the other peers as the
 * leader reports them (current: caught up; lag: operations behind;
 * offline: unreachable). ST_NO_SCHEMA when the stream does not exist.
 */
#define BUS_PEERS_MAX 8
struct bus_peer {
	char name[64];
	bool current, offline;
	int64_t active_ns;	/* since it was last heard from */
	uint64_t lag;
};
struct bus_stream_cluster {
	int64_t replicas;
	uint64_t msgs, last_seq;
	char cluster[64];	/* the cluster's name, "" on a server alone */
	char leader[64];
	struct bus_peer peers[BUS_PEERS_MAX];
	size_t npeers;
};
enum status bus_stream_cluster(struct bus *b, const char *stream,
			       struct bus_stream_cluster *out, struct err *e);

/*
 * Read a stream message: by sequence, or the last one on a subject.
 * ST_NOT_FOUND when there is none.
 */
enum status bus_stream_get(struct bus *b, const char *stream, uint64_t seq,
			   struct buf *data, struct err *e);
enum status bus_stream_last(struct bus *b, const char *stream, const char *subject,
			    struct buf *data, uint64_t *seq, struct err *e);

/*
 * The sequence of the first message at or after from on subject (wildcards
 * allowed), as the stream's leader has it (a message get, not a direct
 * get, which a replica that is behind may answer "none"): ST_NOT_FOUND
 * when there is none.
 */
enum status bus_stream_next(struct bus *b, const char *stream, const char *subject,
			    uint64_t from, uint64_t *seq, struct err *e);

/* Delete a stream and everything in it (benchmarks and tests only). */
enum status bus_stream_drop(struct bus *b, const char *stream, struct err *e);

/* Delete a bucket and everything in it (benchmarks and tests only). */
enum status bus_kv_drop(struct bus *b, const char *bucket, struct err *e);

struct bus_stream_stat {
	uint64_t msgs, bytes, first_seq, last_seq;
	int64_t consumers;
	int64_t subjects;	/* distinct subjects holding a message */
	int64_t created_ns;	/* when the stream was made (wall ns): another stream of the
				   same name has another */
};
/* ST_NO_SCHEMA when the stream does not exist. */
enum status bus_stream_stat(struct bus *b, const char *stream,
			    struct bus_stream_stat *out, struct err *e);
/* The same of a bucket's stream (KV_<bucket>); ST_NO_SCHEMA naming the bucket. */
enum status bus_kv_stat(struct bus *b, const char *bucket, struct bus_stream_stat *out,
			struct err *e);

#endif
