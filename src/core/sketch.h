/*
 * A mergeable percentile sketch: a log-linear histogram in the manner of
 * HdrHistogram, over integer values (ifctl records latencies in
 * microseconds).
 *
 * Buckets. Values below SKETCH_SUB (64) have a bucket each (exact). Above,
 * each power of two [2^k, 2^(k+1)) is cut into SKETCH_SUB equal buckets:
 * value v with m = floor(log2 v) >= 6 has shift s = m - 6, mantissa
 * v >> s in [64, 128) and bucket index s * 64 + (v >> s). A bucket holds
 * [lo, lo + 2^s) with lo >= 64 * 2^s.
 *
 * Error bound. A quantile is answered with the midpoint of the bucket that
 * holds the rank asked for; the true value of that rank lies in the same
 * bucket, so the answer is off by at most half a bucket's width:
 * 2^s / 2 <= lo / 128, a relative error of at most 1/128 = 0.78 % of the
 * true value (exact below 64). The rank itself is exact (nearest rank over
 * the counts). Values above SKETCH_MAX (2^40 - 1 us, about 12.7 days) are
 * counted in the last bucket (sketch_add clamps them).
 *
 * Merging adds counts bucket by bucket: merge(a, b) answers as a sketch of
 * the union of a's and b's values would, with the same bound, whatever the
 * order or grouping. That is what lets per-minute, per-hour and per-day
 * rollups answer any window without the samples.
 *
 * Stored form (sketch_encode): pairs of varints (index delta from the
 * previous non-empty bucket + 1 for the first, count), ascending; an empty
 * sketch is zero bytes. sketch_decode_add refuses a form that is cut,
 * out of range or overflows.
 *
 * Threads: a sketch is plain memory; the caller serialises access.
 */
#ifndef IF_SKETCH_H
#define IF_SKETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/status.h"

#define SKETCH_SUB_BITS	6
#define SKETCH_SUB	(1u << SKETCH_SUB_BITS)		/* buckets per power of two */
#define SKETCH_MAX	((1ull << 40) - 1)		/* largest value kept as it is */
#define SKETCH_BUCKETS	((40 - SKETCH_SUB_BITS - 1) * SKETCH_SUB + 2 * SKETCH_SUB)
#define SKETCH_REL_ERROR (1.0 / (2.0 * SKETCH_SUB))	/* 0.0078125 */

struct sketch {
	uint64_t count[SKETCH_BUCKETS];
	uint64_t n;		/* values added */
};

void sketch_init(struct sketch *s);

/* The bucket of value v (clamped to SKETCH_MAX). */
unsigned sketch_index(uint64_t v);
/* The smallest value of bucket i, and one past its largest. */
uint64_t sketch_lo(unsigned i);
uint64_t sketch_hi(unsigned i);

/* Add n values v. */
void sketch_add(struct sketch *s, uint64_t v, uint64_t n);
/* Add every count of b to a. */
void sketch_merge(struct sketch *a, const struct sketch *b);

/*
 * The value at quantile q in [0, 1] (nearest rank: the value of rank
 * ceil(q * n), at least 1), as its bucket's midpoint; false when empty.
 */
bool sketch_quantile(const struct sketch *s, double q, double *out);

/*
 * How many values are above limit: the buckets wholly above it, plus
 * those of the bucket holding limit + 1 when limit + 1 is its lowest value
 * (bucket-exact; limit's own bucket otherwise counts as at or below it).
 */
uint64_t sketch_count_above(const struct sketch *s, uint64_t limit);

/* The stored form, appended to out. */
void sketch_encode(const struct sketch *s, struct buf *out);
/* Add a stored form to s. ST_BAD_VALUE when it is malformed (s may be part-filled). */
enum status sketch_decode_add(struct sketch *s, const void *data, size_t len, struct err *e);
/*
 * Count the values above limit straight from a stored form (as
 * sketch_count_above would after decoding it); *n gets the total. False
 * when the form is malformed.
 */
bool sketch_encoded_above(const void *data, size_t len, uint64_t limit, uint64_t *above,
			  uint64_t *n);

/*
 * The stored form of the merge of two stored forms, appended to out
 * (without decoding either into buckets). False when either is malformed.
 */
bool sketch_encoded_merge(const void *a, size_t alen, const void *b, size_t blen,
			  struct buf *out);

#endif
