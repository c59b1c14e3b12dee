/*
 * The percentile sketch: the stated error bound (1/128 of the true value)
 * as a property over random sets of many shapes, merging equal to adding
 * the values to one sketch, the stored form read back, merged without
 * decoding, and refused when malformed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "core/sketch.h"
#include "core/util.h"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* A value of one of several shapes: uniform small, log-uniform, a narrow cluster. */
static uint64_t
value(int shape)
{
	switch (shape) {
	case 0:
		return next() % 200;
	case 1:
		return (uint64_t)exp2((double)(next() % 3900) / 100.0);	/* 1 .. 2^39 */
	default:
		return 250000 + next() % 1000;
	}
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Every quantile answered within the bound of the nearest-rank true value. */
static void
test_error_bound(void **state)
{
	static const double qs[] = { 0, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999, 1 };
	struct sketch *s = malloc(sizeof *s);
	size_t n, i, q;
	int shape, round;

	(void)state;
	for (round = 0; round < 30; round++) {
		shape = round % 3;
		n = 1 + next() % 5000;
		uint64_t *v = malloc(n * sizeof *v);
		sketch_init(s);
		for (i = 0; i < n; i++) {
			v[i] = value(shape);
			sketch_add(s, v[i], 1);
		}
		qsort(v, n, sizeof *v, cmp_u64);
		for (q = 0; q < ARRAY_SIZE(qs); q++) {
			size_t rank = (size_t)ceil(qs[q] * (double)n);
			double got, truth;
			rank = rank < 1 ? 1 : rank;
			truth = (double)v[rank - 1];
			assert_true(sketch_quantile(s, qs[q], &got));
			assert_true(fabs(got - truth) <= truth * SKETCH_REL_ERROR + 1e-9);
		}
		free(v);
	}
	free(s);
}

/* Values below 128 are exact; each bucket's bounds nest. */
static void
test_buckets(void **state)
{
	unsigned i;
	uint64_t v;

	(void)state;
	for (v = 0; v < 128; v++)
		assert_int_equal(sketch_lo(sketch_index(v)), v);
	for (i = 0; i + 1 < SKETCH_BUCKETS; i++) {
		assert_true(sketch_lo(i) < sketch_hi(i));
		assert_int_equal(sketch_index(sketch_lo(i)), i);
		assert_int_equal(sketch_index(sketch_hi(i) - 1), i);
	}
	assert_int_equal(sketch_index(SKETCH_MAX), SKETCH_BUCKETS - 1);
	assert_int_equal(sketch_index(UINT64_MAX), SKETCH_BUCKETS - 1);
}

/* merge(a, b) is the sketch of both sets; encoded merge agrees; forms read back. */
static void
test_merge_and_forms(void **state)
{
	struct sketch *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
	struct sketch *all = calloc(1, sizeof *all), *back = calloc(1, sizeof *back);
	struct buf ea = BUF_INIT, eb = BUF_INIT, em = BUF_INIT, eall = BUF_INIT;
	int i;

	(void)state;
	for (i = 0; i < 3000; i++) {
		uint64_t v = value(i % 3);
		sketch_add(i % 2 ? a : b, v, 1);
		sketch_add(all, v, 1);
	}
	sketch_encode(a, &ea);
	sketch_encode(b, &eb);
	sketch_encode(all, &eall);
	assert_true(sketch_encoded_merge(ea.s, ea.len, eb.s, eb.len, &em));
	assert_int_equal(em.len, eall.len);
	assert_memory_equal(em.s, eall.s, em.len);
	assert_int_equal(sketch_decode_add(back, ea.s, ea.len, NULL), ST_OK);
	assert_int_equal(sketch_decode_add(back, eb.s, eb.len, NULL), ST_OK);
	sketch_merge(a, b);
	assert_memory_equal(a, all, sizeof *all);
	assert_memory_equal(back, all, sizeof *all);
	buf_reset(&em);		/* with an empty form: the other one as it is */
	assert_true(sketch_encoded_merge(NULL, 0, eb.s, eb.len, &em));
	assert_int_equal(em.len, eb.len);
	assert_memory_equal(em.s, eb.s, eb.len);
	free(a), free(b), free(all), free(back);
	buf_release(&ea), buf_release(&eb), buf_release(&em), buf_release(&eall);
}

/* Counting above a limit is exact at bucket bounds, and from the stored form. */
static void
test_count_above(void **state)
{
	struct sketch *s = calloc(1, sizeof *s);
	struct buf enc = BUF_INIT;
	uint64_t above, n;

	(void)state;
	sketch_add(s, 100, 5);		/* exact bucket */
	sketch_add(s, 101, 3);
	sketch_add(s, 500000, 2);
	assert_int_equal(sketch_count_above(s, 100), 5);
	assert_int_equal(sketch_count_above(s, 99), 10);
	assert_int_equal(sketch_count_above(s, 1000), 2);
	assert_int_equal(sketch_count_above(s, 600000), 0);
	sketch_encode(s, &enc);
	assert_true(sketch_encoded_above(enc.s, enc.len, 100, &above, &n));
	assert_int_equal(above, 5);
	assert_int_equal(n, 10);
	free(s);
	buf_release(&enc);
}

/* Cut, out-of-range and zero-count forms are refused. */
static void
test_malformed(void **state)
{
	static const unsigned char cut[] = { 0x05, 0x80 };
	static const unsigned char range[] = { 0xff, 0x7f, 0x01 };
	static const unsigned char zero[] = { 0x05, 0x00 };
	struct sketch *s = calloc(1, sizeof *s);
	struct err e = ERR_INIT;
	uint64_t a, n;

	(void)state;
	assert_int_equal(sketch_decode_add(s, cut, sizeof cut, &e), ST_BAD_VALUE);
	assert_int_equal(sketch_decode_add(s, range, sizeof range, NULL), ST_BAD_VALUE);
	assert_int_equal(sketch_decode_add(s, zero, sizeof zero, NULL), ST_BAD_VALUE);
	assert_false(sketch_encoded_above(cut, sizeof cut, 0, &a, &n));
	sketch_init(s);
	assert_false(sketch_quantile(s, 0.5, &(double){ 0 }));	/* empty: no answer */
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_bound),
		cmocka_unit_test(test_buckets),
		cmocka_unit_test(test_merge_and_forms),
		cmocka_unit_test(test_count_above),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
