/*
 * More of the bus (see bus.h): removing a KV key by compare-and-swap so
 * that nothing of it stays in the bucket's stream, and a work-queue pull
 * consumer. Same threads and failure modes as bus.h.
 */
#ifndef IF_BUSX_H
#define IF_BUSX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/bus.h"

/*
 * Remove key only if its last revision is still rev: a purge marker is
 * written with that expectation (ST_CONFLICT when the key changed), so
 * watchers see the key go; then every message of the key up to the marker
 * is purged from the stream, the marker included, so a bucket that has
 * seen a million keys holds only the live ones. A failure of the second
 * step is no failure of the removal: the key is gone, a marker is left.
 * (The one-item case of bus_kv_remove_many() below.)
 */
enum status bus_kv_remove(struct bus *b, const char *bucket, const char *key, uint64_t rev,
			  struct err *e);

/*
 * Many keys of one bucket at once: each step pipelined (all messages sent,
 * then their acknowledgements collected, bus_js_publish_many), so n keys
 * cost about one round trip per step, not n. Every item gets its own
 * outcome in st: ST_OK; ST_CONFLICT (a removal whose key is no longer at
 * rev); ST_BAD_VALUE (a key no KV takes, or a value over the server's max
 * payload or the stream's max message size: nothing sent); or the batch's
 * failure (ST_TIMEOUT: no answer came, it may or may not have landed;
 * ST_DISCONNECTED, ST_NOT_PERMITTED, ST_NO_SCHEMA, ST_STORE_FULL ...).
 * Returns the first item's failure other than ST_CONFLICT and ST_BAD_VALUE
 * (e describes it), else ST_OK.
 */
struct bus_kv_item {
	const char *key;		/* in */
	const void *data;		/* in: a put's value */
	size_t len;
	uint64_t rev;			/* in: the revision a removal expects */
	enum status st;			/* out */
	uint64_t seq;			/* out: the put's revision, or the removal's marker */
};
/* Put every item's value. */
enum status bus_kv_put_many(struct bus *b, const char *bucket, struct bus_kv_item *it,
			    size_t n, struct err *e);
/*
 * bus_kv_remove() of every item on its rev: all markers at once, then the
 * purges of those removed at once (each purge still best effort).
 */
enum status bus_kv_remove_many(struct bus *b, const char *bucket, struct bus_kv_item *it,
			       size_t n, struct err *e);

/* A message taken from a pull consumer: its data and how to settle it. */
struct bus_msg;
const char *bus_msg_subject(const struct bus_msg *m);
const char *bus_msg_data(const struct bus_msg *m, size_t *len);
/* Settle m: done with it (ack), or hand it back after delay_ms (nak). */
void bus_msg_ack(struct bus_msg *m);
void bus_msg_nak(struct bus_msg *m, int64_t delay_ms);
/* The stream sequence m was stored at (0 when its metadata cannot be read). */
uint64_t bus_msg_seq(const struct bus_msg *m);
/* Free m; one never settled is handed back when its ack wait passes. */
void bus_msg_free(struct bus_msg *m);

/*
 * Take up to max messages of a durable pull consumer of stream (made when
 * missing: explicit acks, ack_wait_ms, the filter), without waiting when
 * there are none (*n = 0). msgs[0..*n) are the caller's to settle and free.
 */
enum status bus_pull(struct bus *b, const char *stream, const char *durable,
		     const char *filter, int64_t ack_wait_ms, int max,
		     struct bus_msg **msgs, size_t *n, struct err *e);

/*
 * How many messages stream holds on each subject matching filter (a
 * wildcard): fn(arg, subject, count) per subject. One round trip; for
 * filters that match few subjects.
 */
enum status bus_stream_subjects(struct bus *b, const char *stream, const char *filter,
				void (*fn)(void *arg, const char *subject, uint64_t n),
				void *arg, struct err *e);

#endif
