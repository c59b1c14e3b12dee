/* The percentile sketch: see sketch.h. */
#include <math.h>
#include <string.h>

#include "core/sketch.h"

void
sketch_init(struct sketch *s)
{
	memset(s, 0, sizeof *s);
}

unsigned
sketch_index(uint64_t v)
{
	unsigned m, shift;

	if (v > SKETCH_MAX)
		v = SKETCH_MAX;
	if (v < SKETCH_SUB)
		return (unsigned)v;
	m = 63u - (unsigned)__builtin_clzll(v);
	shift = m - SKETCH_SUB_BITS;
	return shift * SKETCH_SUB + (unsigned)(v >> shift);
}

uint64_t
sketch_lo(unsigned i)
{
	unsigned shift;

	if (i < 2 * SKETCH_SUB)
		return i;
	shift = i / SKETCH_SUB - 1;
	return (uint64_t)(i - shift * SKETCH_SUB) << shift;
}

uint64_t
sketch_hi(unsigned i)
{
	return i + 1 < SKETCH_BUCKETS ? sketch_lo(i + 1) : SKETCH_MAX + 1;
}

void
sketch_add(struct sketch *s, uint64_t v, uint64_t n)
{
	s->count[sketch_index(v)] += n;
	s->n += n;
}

void
sketch_merge(struct sketch *a, const struct sketch *b)
{
	unsigned i;

	for (i = 0; i < SKETCH_BUCKETS; i++)
		a->count[i] += b->count[i];
	a->n += b->n;
}

bool
sketch_quantile(const struct sketch *s, double q, double *out)
{
	uint64_t rank, seen = 0;
	unsigned i;

	if (s->n == 0 || !(q >= 0 && q <= 1))
		return false;
	rank = (uint64_t)ceil(q * (double)s->n);
	if (rank < 1)
		rank = 1;
	for (i = 0; i < SKETCH_BUCKETS; i++) {
		seen += s->count[i];
		if (seen >= rank)
			break;
	}
	if (i == SKETCH_BUCKETS)
		i--;
	/* Midpoint of [lo, hi - 1]: exact for the one-value buckets below 128. */
	*out = ((double)sketch_lo(i) + (double)(sketch_hi(i) - 1)) / 2.0;
	return true;
}

/* The first bucket counted as above limit. */
static unsigned
first_above(uint64_t limit)
{
	unsigned i;

	if (limit >= SKETCH_MAX)
		return SKETCH_BUCKETS;
	i = sketch_index(limit + 1);
	return sketch_lo(i) == limit + 1 ? i : i + 1;
}

uint64_t
sketch_count_above(const struct sketch *s, uint64_t limit)
{
	uint64_t n = 0;
	unsigned i;

	for (i = first_above(limit); i < SKETCH_BUCKETS; i++)
		n += s->count[i];
	return n;
}

/* One past the last byte of data[0..len): no offset on NULL (an empty form may be NULL). */
static const unsigned char *
end_of(const void *data, size_t len)
{
	return len ? (const unsigned char *)data + len : data;
}

/* Append v as a varint (7 bits a byte, low first). */
static void
put_varint(struct buf *out, uint64_t v)
{
	unsigned char b[10];
	size_t n = 0;

	do {
		b[n] = (unsigned char)(v & 0x7f);
		v >>= 7;
		if (v)
			b[n] |= 0x80;
		n++;
	} while (v);
	buf_add(out, b, n);
}

/* Read a varint at *p before end; false when cut or longer than 64 bits. */
static bool
get_varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
	unsigned shift = 0;

	*v = 0;
	while (*p < end && shift < 64) {
		unsigned char c = *(*p)++;
		*v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return true;
		shift += 7;
	}
	return false;
}

void
sketch_encode(const struct sketch *s, struct buf *out)
{
	unsigned i, prev = 0;
	bool first = true;

	for (i = 0; i < SKETCH_BUCKETS; i++) {
		if (!s->count[i])
			continue;
		put_varint(out, first ? i + 1 : i - prev);
		put_varint(out, s->count[i]);
		prev = i;
		first = false;
	}
}

/*
 * Walk a stored form: fn(arg, index, count) for each bucket. False when it
 * is malformed: cut, an index out of range or not ascending, a zero count.
 */
static bool
walk(const void *data, size_t len, void (*fn)(void *, unsigned, uint64_t), void *arg)
{
	const unsigned char *p = data, *end = end_of(data, len);
	uint64_t idx = 0, d, c;
	bool first = true;

	while (p < end) {
		if (!get_varint(&p, end, &d) || !get_varint(&p, end, &c) || d == 0 || c == 0 ||
		    d > SKETCH_BUCKETS || c > (1ull << 53))
			return false;
		idx = first ? d - 1 : idx + d;
		first = false;
		if (idx >= SKETCH_BUCKETS)
			return false;
		fn(arg, (unsigned)idx, c);
	}
	return true;
}

static void
add_bucket(void *arg, unsigned i, uint64_t c)
{
	struct sketch *s = arg;

	s->count[i] += c;
	s->n += c;
}

enum status
sketch_decode_add(struct sketch *s, const void *data, size_t len, struct err *e)
{
	if (!walk(data, len, add_bucket, s))
		return err_set(e, ST_BAD_VALUE, "malformed sketch (%zu bytes)", len);
	return ST_OK;
}

struct above {
	unsigned from;
	uint64_t above, n;
};

static void
count_bucket(void *arg, unsigned i, uint64_t c)
{
	struct above *a = arg;

	a->n += c;
	if (i >= a->from)
		a->above += c;
}

bool
sketch_encoded_above(const void *data, size_t len, uint64_t limit, uint64_t *above, uint64_t *n)
{
	struct above a = { first_above(limit), 0, 0 };
	bool ok = walk(data, len, count_bucket, &a);

	*above = a.above;
	*n = a.n;
	return ok;
}

/* A reader of a stored form, one bucket at a time. */
struct cursor {
	const unsigned char *p, *end;
	uint64_t idx, count;
	bool first, done, bad;
};

static void
cursor_next(struct cursor *c)
{
	uint64_t d;

	if (c->p >= c->end) {
		c->done = true;
		return;
	}
	if (!get_varint(&c->p, c->end, &d) || !get_varint(&c->p, c->end, &c->count) || d == 0 ||
	    c->count == 0 || d > SKETCH_BUCKETS || c->count > (1ull << 53)) {
		c->bad = c->done = true;
		return;
	}
	c->idx = c->first ? d - 1 : c->idx + d;
	c->first = false;
	if (c->idx >= SKETCH_BUCKETS)
		c->bad = c->done = true;
}

bool
sketch_encoded_merge(const void *a, size_t alen, const void *b, size_t blen, struct buf *out)
{
	struct cursor x = { a, end_of(a, alen), 0, 0, true, false, false };
	struct cursor y = { b, end_of(b, blen), 0, 0, true, false, false };
	uint64_t prev = 0;
	bool first = true;

	cursor_next(&x);
	cursor_next(&y);
	while (!x.done || !y.done) {
		uint64_t idx, count;
		if (!x.done && (y.done || x.idx < y.idx)) {
			idx = x.idx, count = x.count;
			cursor_next(&x);
		} else if (!y.done && (x.done || y.idx < x.idx)) {
			idx = y.idx, count = y.count;
			cursor_next(&y);
		} else {
			idx = x.idx, count = x.count + y.count;
			cursor_next(&x);
			cursor_next(&y);
		}
		put_varint(out, first ? idx + 1 : idx - prev);
		put_varint(out, count);
		prev = idx;
		first = false;
	}
	return !x.bad && !y.bad;
}
