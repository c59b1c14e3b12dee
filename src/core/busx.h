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
 */
enum status bus_kv_remove(struct bus *b, const char *bucket, const char *key, uint64_t rev,
			  struct err *e);

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
