/* The strict JSON reader and the RFC 8785 writer: see json.h. */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/util.h"

/* --- the arena a document lives in -------------------------------------- */

#define ARENA_BLOCK (64 * 1024)

struct json_arena {
	struct json_arena *next;
	size_t used, size;
	max_align_t data[];
};

/* A new block of at least size bytes at the head of *a. */
static struct json_arena *
arena_block(struct json_arena **a, size_t size)
{
	struct json_arena *blk = xmalloc(sizeof *blk + size);

	blk->used = 0;
	blk->size = size;
	blk->next = *a;
	*a = blk;
	return blk;
}

/* Memory for a document: freed all at once with the document. */
static void *
arena_alloc(struct json_arena **a, size_t n)
{
	struct json_arena *blk = *a;
	void *p;

	n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
	if (blk == NULL || blk->size - blk->used < n)
		blk = arena_block(a, n > ARENA_BLOCK ? n : ARENA_BLOCK);
	p = (char *)blk->data + blk->used;
	blk->used += n;
	return p;
}

void
json_doc_release(struct json_doc *doc)
{
	struct json_arena *a = doc->arena, *next;

	for (; a; a = next) {
		next = a->next;
		free(a);
	}
	doc->arena = NULL;
	doc->root = NULL;
}

/* --- numbers in the C locale, whatever the process's locale ---------------- */

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void
c_locale_init(void)
{
	c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

static double
strtod_c(const char *s, char **end)
{
	pthread_once(&c_locale_once, c_locale_init);
	return strtod_l(s, end, c_locale);
}

/* --- UTF-8 ------------------------------------------------------------------ */

size_t
json_utf8_decode(const unsigned char *p, const unsigned char *end, uint32_t *cp)
{
	static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t n, i;
	uint32_t c = p[0];

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, c &= 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, c &= 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, c &= 0x07;
	else
		return 0;
	if ((size_t)(end - p) < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if (c < min[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

bool
json_utf8_valid(const char *s, size_t len, size_t *bad_at)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	uint32_t cp;
	size_t n;

	while (p < end) {
		if ((n = json_utf8_decode(p, end, &cp)) == 0) {
			if (bad_at)
				*bad_at = (size_t)(p - (const unsigned char *)s);
			return false;
		}
		p += n;
	}
	return true;
}

const char *
json_utf8_first_bad(const char *const *names, const char *const *values, size_t n,
		    size_t *bad_at)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (values[i] && !json_utf8_valid(values[i], strlen(values[i]), bad_at))
			return names[i];
	return NULL;
}

static size_t
utf8_encode(char *out, uint32_t c)
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xc0 | c >> 6);
		out[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (char)(0xe0 | c >> 12);
		out[1] = (char)(0x80 | (c >> 6 & 0x3f));
		out[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | c >> 18);
	out[1] = (char)(0x80 | (c >> 12 & 0x3f));
	out[2] = (char)(0x80 | (c >> 6 & 0x3f));
	out[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

/* --- the reader --------------------------------------------------------------- */

struct parser {
	const char *start, *p, *end;
	const char *what;
	struct err *e;
	int depth;
	struct json_arena *arena;
	struct json_value *stack;	/* members of the open containers */
	size_t nstack, stackcap;
	bool failed;
};

static bool fail(struct parser *ps, const char *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Record the first error with its line and column; returns false. */
static bool
fail(struct parser *ps, const char *at, const char *fmt, ...)
{
	const char *q, *line_start = ps->start;
	char why[160];
	int line = 1;
	va_list ap;

	if (ps->failed)
		return false;
	ps->failed = true;
	for (q = ps->start; q < at; q++) {
		if (*q == '\n') {
			line++;
			line_start = q + 1;
		}
	}
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	err_set(ps->e, ST_BAD_JSON, "%s: invalid JSON at line %d, column %d%s", ps->what, line,
		(int)(at - line_start) + 1, why);
	return false;
}

/* A syntax error: what is there instead. */
static bool
unexpected(struct parser *ps)
{
	char snippet[24];
	size_t i;

	if (ps->p >= ps->end)
		return fail(ps, ps->p, ", near '(end of input)'");
	for (i = 0; i < sizeof snippet - 1 && ps->p + i < ps->end && ps->p[i] != '\n' &&
		    ps->p[i] != '\0'; i++)
		snippet[i] = ps->p[i];
	snippet[i] = '\0';
	if (i == 0)
		return fail(ps, ps->p, ": unexpected byte 0x%02x", (unsigned char)*ps->p);
	return fail(ps, ps->p, ", near '%s'", snippet);
}

static void
skip_ws(struct parser *ps)
{
	while (ps->p < ps->end &&
	       (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static bool parse_value(struct parser *ps, struct json_value *v);
void json_add_number(struct buf *out, double d);

static int
hex4(const char *p)
{
	int v = 0, i;

	for (i = 0; i < 4; i++) {
		char c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/* One \u escape (or a surrogate pair of them) at ps->p (its backslash) into *cp. */
static bool
parse_u_escape(struct parser *ps, uint32_t *cp)
{
	const char *at = ps->p;
	int hi, lo;

	if (ps->end - ps->p < 6 || (hi = hex4(ps->p + 2)) < 0)
		return fail(ps, at, ": malformed \\u escape");
	ps->p += 6;
	if (hi >= 0xdc00 && hi <= 0xdfff)
		return fail(ps, at, ": lone low surrogate \\u%04x", (unsigned)hi);
	if (hi < 0xd800 || hi > 0xdbff) {
		*cp = (uint32_t)hi;
		return true;
	}
	if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u' ||
	    (lo = hex4(ps->p + 2)) < 0xdc00 || lo > 0xdfff)
		return fail(ps, at, ": lone high surrogate \\u%04x", (unsigned)hi);
	ps->p += 6;
	*cp = 0x10000 + (((uint32_t)hi - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
	return true;
}

static bool
parse_escape(struct parser *ps, uint32_t *cp)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *k;

	if (ps->p + 1 >= ps->end)
		return unexpected(ps);
	if (ps->p[1] == 'u')
		return parse_u_escape(ps, cp);
	if (ps->p[1] == '\0' || (k = strchr(from, ps->p[1])) == NULL)
		return fail(ps, ps->p, ": unknown escape '\\%c'", ps->p[1]);
	*cp = (unsigned char)to[k - from];
	ps->p += 2;
	return true;
}

/* A string at ps->p (its opening quote) into a NUL-terminated copy. */
static bool
parse_string(struct parser *ps, const char **out, size_t *outlen)
{
	const char *q = ++ps->p;
	char *s, *w;

	/* The decoded string is never longer than its source. */
	while (q < ps->end && *q != '"')
		q += *q == '\\' && q + 1 < ps->end ? 2 : 1;
	if (q >= ps->end)
		return fail(ps, ps->p - 1, ": unterminated string");
	w = s = arena_alloc(&ps->arena, (size_t)(q - ps->p) + 1);
	while (*ps->p != '"') {
		unsigned char c = (unsigned char)*ps->p;
		uint32_t cp = 0;
		size_t n = 0;

		/* Printable ASCII goes in one copy (names, ids, hashes). */
		while (ps->p + n < q && (unsigned char)ps->p[n] >= 0x20 &&
		       (unsigned char)ps->p[n] < 0x80 && ps->p[n] != '\\')
			n++;
		if (n) {
			memcpy(w, ps->p, n);
			w += n;
			ps->p += n;
			continue;
		}
		if (c == '\\') {
			if (!parse_escape(ps, &cp))
				return false;
			w += utf8_encode(w, cp);
		} else if (c < 0x20) {
			return fail(ps, ps->p, ": control character 0x%02x in a string (escape it)",
				    c);
		} else {
			n = json_utf8_decode((const unsigned char *)ps->p, (const unsigned char *)ps->end,
					&cp);
			if (n == 0)
				return fail(ps, ps->p, ": invalid UTF-8 (byte 0x%02x)", c);
			memcpy(w, ps->p, n);
			w += n;
			ps->p += n;
		}
	}
	ps->p++;
	*w = '\0';
	*out = s;
	*outlen = (size_t)(w - s);
	return true;
}

static size_t
span(const char *p, const char *end, const char *set)
{
	const char *q = p;

	while (q < end && *q && strchr(set, *q))
		q++;
	return (size_t)(q - p);
}

/*
 * Is the integer literal at s (n bytes) exactly how the canonical form
 * writes d? Then it loses nothing, and canonical text always reads back.
 */
static bool
canonical_integer(const char *s, size_t n, double d)
{
	struct buf b = BUF_INIT;
	bool same;

	json_add_number(&b, d);
	same = b.len == n && memcmp(b.s, s, n) == 0;
	buf_release(&b);
	return same;
}

/*
 * A number: JSON's grammar, then the double range and the integer limit.
 * An integer literal beyond 2^53 - 1 loses digits unless it is the
 * canonical form of the double it reads as (as 2^66 is written
 * 73786976294838210000): only those are taken.
 */
static bool
parse_number(struct parser *ps, struct json_value *v)
{
	const char *at = ps->p, *q = ps->p, *digits = "0123456789";
	char small[64], *copy;
	bool nonzero = false;
	size_t n;
	double d;

	v->type = JSON_NUMBER;
	v->integer = true;
	if (q < ps->end && *q == '-')
		q++;
	n = span(q, ps->end, digits);
	if (n == 0 || (n > 1 && *q == '0'))
		return unexpected(ps);
	nonzero |= span(q, q + n, "0") != n;
	q += n;
	if (q < ps->end && *q == '.') {
		v->integer = false;
		n = span(++q, ps->end, digits);
		if (n == 0)
			return ps->p = q, unexpected(ps);
		nonzero |= span(q, q + n, "0") != n;
		q += n;
	}
	if (q < ps->end && (*q == 'e' || *q == 'E')) {
		v->integer = false;
		q++;
		if (q < ps->end && (*q == '+' || *q == '-'))
			q++;
		if ((n = span(q, ps->end, digits)) == 0)
			return ps->p = q, unexpected(ps);
		q += n;
	}
	n = (size_t)(q - at);
	copy = n < sizeof small ? small : xmalloc(n + 1);
	memcpy(copy, at, n);
	copy[n] = '\0';
	d = strtod_c(copy, NULL);
	if (copy != small)
		free(copy);
	ps->p = q;
	if (isinf(d))
		return fail(ps, at, ": number %.*s is beyond the range of a double", (int)(n > 40 ? 40 : n), at);
	if (d == 0 && nonzero)
		return fail(ps, at, ": number %.*s is too small for a double", (int)(n > 40 ? 40 : n), at);
	if (v->integer && fabs(d) > (double)JSON_INT_MAX && !canonical_integer(at, n, d))
		return fail(ps, at, ": integer %.*s is beyond 2^53 (send it as a string)",
			    (int)(n > 40 ? 40 : n), at);
	v->num = d;
	return true;
}

static bool
parse_literal(struct parser *ps, struct json_value *v, const char *word, enum json_type t)
{
	size_t n = strlen(word);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
		return unexpected(ps);
	ps->p += n;
	v->type = t;
	return true;
}

static struct json_value *
stack_push(struct parser *ps)
{
	struct json_value *v;

	xgrow(&ps->stack, &ps->stackcap, ps->nstack + 1, sizeof *ps->stack);
	v = &ps->stack[ps->nstack++];
	memset(v, 0, sizeof *v);
	return v;
}

/* Move the members pushed since base into the arena as v's children. */
static void
stack_pop_into(struct parser *ps, size_t base, struct json_value *v)
{
	v->len = ps->nstack - base;
	v->kids = arena_alloc(&ps->arena, (v->len ? v->len : 1) * sizeof *v->kids);
	if (v->len)	/* an empty array or object may come before any stack exists */
		memcpy(v->kids, ps->stack + base, v->len * sizeof *v->kids);
	ps->nstack = base;
}

static int
cmp_name(const void *a, const void *b)
{
	const struct json_value *x = *(const struct json_value *const *)a;
	const struct json_value *y = *(const struct json_value *const *)b;
	size_t n = x->keylen < y->keylen ? x->keylen : y->keylen;
	int c = memcmp(x->key, y->key, n);

	return c ? c : (x->keylen > y->keylen) - (x->keylen < y->keylen);
}

/* The first member whose name an earlier member has, or NULL. */
static const struct json_value *
find_duplicate(const struct json_value *kids, size_t n)
{
	const struct json_value **sorted, *dup = NULL;
	size_t i, j;

	if (n <= 8) {
		for (i = 1; i < n; i++)
			for (j = 0; j < i; j++)
				if (cmp_name(&(const struct json_value *){ &kids[i] },
					     &(const struct json_value *){ &kids[j] }) == 0)
					return &kids[i];
		return NULL;
	}
	sorted = xmalloc(n * sizeof *sorted);
	for (i = 0; i < n; i++)
		sorted[i] = &kids[i];
	qsort(sorted, n, sizeof *sorted, cmp_name);
	for (i = 1; i < n && !dup; i++)
		if (cmp_name(&sorted[i - 1], &sorted[i]) == 0)
			dup = sorted[i] > sorted[i - 1] ? sorted[i] : sorted[i - 1];
	free(sorted);
	return dup;
}

static bool
parse_members(struct parser *ps, struct json_value *v, bool object)
{
	const char *open = ps->p;
	char close = object ? '}' : ']';
	size_t base = ps->nstack;
	const struct json_value *dup;

	if (++ps->depth > JSON_DEPTH_MAX)
		return fail(ps, open, ": nested deeper than %d", JSON_DEPTH_MAX);
	v->type = object ? JSON_OBJECT : JSON_ARRAY;
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
	} else {
		for (;;) {
			struct json_value m = { .type = JSON_NULL };
			skip_ws(ps);
			if (object) {
				if (ps->p >= ps->end || *ps->p != '"')
					return unexpected(ps);
				if (!parse_string(ps, &m.key, &m.keylen))
					return false;
				skip_ws(ps);
				if (ps->p >= ps->end || *ps->p != ':')
					return unexpected(ps);
				ps->p++;
			}
			if (!parse_value(ps, &m))
				return false;
			*stack_push(ps) = m;
			skip_ws(ps);
			if (ps->p < ps->end && *ps->p == ',') {
				ps->p++;
				continue;
			}
			if (ps->p < ps->end && *ps->p == close) {
				ps->p++;
				break;
			}
			return unexpected(ps);
		}
	}
	stack_pop_into(ps, base, v);
	ps->depth--;
	if (object && (dup = find_duplicate(v->kids, v->len)) != NULL)
		return fail(ps, open, ": duplicate member \"%.*s\" in this object",
			    (int)(dup->keylen > 60 ? 60 : dup->keylen), dup->key);
	return true;
}

static bool
parse_value(struct parser *ps, struct json_value *v)
{
	skip_ws(ps);
	if (ps->p >= ps->end)
		return unexpected(ps);
	switch (*ps->p) {
	case '{': return parse_members(ps, v, true);
	case '[': return parse_members(ps, v, false);
	case '"':
		v->type = JSON_STRING;
		return parse_string(ps, &v->str, &v->len);
	case 't': return parse_literal(ps, v, "true", JSON_TRUE);
	case 'f': return parse_literal(ps, v, "false", JSON_FALSE);
	case 'n': return parse_literal(ps, v, "null", JSON_NULL);
	default:
		if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
			return parse_number(ps, v);
		return unexpected(ps);
	}
}

enum status
json_parse(const char *text, size_t len, const char *what, struct json_doc *doc,
	   struct err *e)
{
	struct parser ps = { .start = text, .p = text, .end = text + len, .what = what, .e = e };
	struct json_value root = { .type = JSON_NULL };
	bool ok;

	doc->root = NULL;
	doc->arena = NULL;
	/* Small texts (records, entries) fit one block sized for them. */
	arena_block(&ps.arena, len < ARENA_BLOCK / 4 ? 4 * len + 256 : ARENA_BLOCK);
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		ok = fail(&ps, text, ": a byte order mark is not allowed (RFC 8259, 8.1)");
	else
		ok = parse_value(&ps, &root);
	if (ok) {
		skip_ws(&ps);
		if (ps.p < ps.end)
			ok = unexpected(&ps);
	}
	free(ps.stack);
	doc->arena = ps.arena;
	if (!ok)
		return ST_BAD_JSON;
	doc->root = arena_alloc(&doc->arena, sizeof *doc->root);
	*doc->root = root;
	return ST_OK;
}

enum status
json_check_len(const char *text, size_t len, const char *what, struct err *e)
{
	struct json_doc doc = JSON_DOC_INIT;
	enum status st = json_parse(text, len, what, &doc, e);

	json_doc_release(&doc);
	return st;
}

enum status
json_check(const char *text, const char *what, struct err *e)
{
	return json_check_len(text, strlen(text), what, e);
}

const struct json_value *
json_member(const struct json_value *obj, const char *key)
{
	size_t i, n = strlen(key);

	if (obj == NULL || obj->type != JSON_OBJECT)
		return NULL;
	for (i = 0; i < obj->len; i++)
		if (obj->kids[i].keylen == n && memcmp(obj->kids[i].key, key, n) == 0)
			return &obj->kids[i];
	return NULL;
}

/* --- typed readers --------------------------------------------------------------- */

static const char *const type_names[] = {
	[JSON_NULL] = "null", [JSON_FALSE] = "a boolean", [JSON_TRUE] = "a boolean",
	[JSON_NUMBER] = "a number", [JSON_STRING] = "a string", [JSON_ARRAY] = "an array",
	[JSON_OBJECT] = "an object",
};

static enum status
wrong_type(const struct json_field *f, const struct json_value *v, const char *want,
	   const char *what, struct err *e)
{
	return err_set(e, ST_BAD_JSON, "%s: field '%s' must be %s, not %s", what, f->name, want,
		       type_names[v->type]);
}

/* A number member within the field's range (and an integer when asked). */
static enum status
read_number(const struct json_field *f, const struct json_value *v, bool integer,
	    const char *what, struct err *e, double *out)
{
	if (v->type != JSON_NUMBER)
		return wrong_type(f, v, integer ? "an integer" : "a number", what, e);
	if (integer && v->num != floor(v->num))
		return err_set(e, ST_BAD_JSON, "%s: field '%s' must be an integer, not %.17g",
			       what, f->name, v->num);
	if (v->num < f->min || v->num > f->max)
		return err_set(e, ST_BAD_JSON, "%s: field '%s' is %.17g, outside [%.17g, %.17g]",
			       what, f->name, v->num, f->min, f->max);
	*out = v->num;
	return ST_OK;
}

static enum status
read_field(const struct json_field *f, const struct json_value *v, void *dst,
	   const char *what, struct err *e)
{
	void *slot = (char *)dst + f->offset;
	struct buf b = BUF_INIT;
	enum status st;
	double d = 0;

	switch (f->type) {
	case JF_STR:
		if (v->type != JSON_STRING)
			return wrong_type(f, v, "a string", what, e);
		if (strlen(v->str) != v->len)
			return err_set(e, ST_BAD_JSON, "%s: field '%s' holds U+0000", what, f->name);
		free(*(char **)slot);
		*(char **)slot = xstrdup(v->str);
		return ST_OK;
	case JF_INT:
	case JF_I64:
		if ((st = read_number(f, v, true, what, e, &d)) != ST_OK)
			return st;
		if (f->type == JF_INT)
			*(int *)slot = (int)d;	/* in [min, max], which the table keeps in int */
		else
			*(int64_t *)slot = (int64_t)d;	/* |d| <= 2^53 by the reader */
		return ST_OK;
	case JF_NUM:
		if ((st = read_number(f, v, false, what, e, &d)) != ST_OK)
			return st;
		*(double *)slot = d;
		return ST_OK;
	case JF_BOOL:
		if (v->type != JSON_TRUE && v->type != JSON_FALSE)
			return wrong_type(f, v, "a boolean", what, e);
		*(bool *)slot = v->type == JSON_TRUE;
		return ST_OK;
	case JF_JSON:
		json_canonical_value(v, &b);
		free(*(char **)slot);
		*(char **)slot = buf_detach(&b);
		return ST_OK;
	case JF_CUSTOM:
		return f->read(v, slot, e);
	}
	return err_set(e, ST_FAIL, "field '%s' has no reader", f->name);
}

/* The first member of obj that the table does not name, or NULL. */
static const struct json_value *
unknown_member(const struct json_value *obj, const struct json_field *fields, size_t n)
{
	size_t i, j;

	for (i = 0; i < obj->len; i++) {
		const struct json_value *m = &obj->kids[i];
		for (j = 0; j < n; j++)
			if (strlen(fields[j].name) == m->keylen &&
			    memcmp(fields[j].name, m->key, m->keylen) == 0)
				break;
		if (j == n)
			return m;
	}
	return NULL;
}

enum status
json_read_fields(const struct json_value *obj, const struct json_field *fields, size_t n,
		 unsigned flags, void *dst, const char *what, struct err *e)
{
	const struct json_value *v;
	enum status st;
	size_t i, seen = 0;

	if (obj == NULL || obj->type != JSON_OBJECT)
		return err_set(e, ST_BAD_JSON, "%s: not a JSON object", what);
	for (i = 0; i < n; i++) {
		const struct json_field *f = &fields[i];
		if ((v = json_member(obj, f->name)) == NULL) {
			if (f->flags & JF_REQUIRED)
				return err_set(e, ST_BAD_JSON, "%s: field '%s' is missing", what,
					       f->name);
			continue;
		}
		seen++;
		if (v->type == JSON_NULL && f->type != JF_JSON) {
			if (!(f->flags & JF_NULLABLE))
				return err_set(e, ST_BAD_JSON, "%s: field '%s' must not be null",
					       what, f->name);
			if (f->type != JF_CUSTOM)
				continue;
		}
		if ((st = read_field(f, v, dst, what, e)) != ST_OK)
			return st;
	}
	if ((flags & JF_STRICT) && seen < obj->len && (v = unknown_member(obj, fields, n)))
		return err_set(e, ST_BAD_JSON, "%s: unknown field '%.*s'", what,
			       (int)(v->keylen > 60 ? 60 : v->keylen), v->key);
	return ST_OK;
}

/* --- the writer (RFC 8785) ---------------------------------------------------------- */

/* Escape as JSON.stringify does: the two-character forms, \u00xx for other controls. */
void
json_escape_len(struct buf *out, const char *s, size_t len)
{
	const char *end = s + len;

	buf_addc(out, '"');
	while (s < end) {
		unsigned char c = (unsigned char)*s;
		size_t run = 0;

		/* Characters that need no escape go in one copy (hashes, ids, text). */
		while (s + run < end && (unsigned char)s[run] >= 0x20 && s[run] != '"' &&
		       s[run] != '\\')
			run++;
		if (run) {
			buf_add(out, s, run);
			s += run;
			continue;
		}
		switch (c) {
		case '"': buf_adds(out, "\\\""); break;
		case '\\': buf_adds(out, "\\\\"); break;
		case '\b': buf_adds(out, "\\b"); break;
		case '\f': buf_adds(out, "\\f"); break;
		case '\n': buf_adds(out, "\\n"); break;
		case '\r': buf_adds(out, "\\r"); break;
		case '\t': buf_adds(out, "\\t"); break;
		default: buf_addf(out, "\\u%04x", c);
		}
		s++;
	}
	buf_addc(out, '"');
}

void
json_escape(struct buf *out, const char *s)
{
	json_escape_len(out, s, strlen(s));
}

/* printf's %lld without printf: entries are hashed by the million. */
static void
add_int(struct buf *out, long long value)
{
	char digits[24], *p = digits + sizeof digits;
	unsigned long long u = value < 0 ? 0ULL - (unsigned long long)value : (unsigned long long)value;

	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (value < 0)
		*--p = '-';
	buf_add(out, p, (size_t)(digits + sizeof digits - p));
}

/*
 * The digits of "%.*e" output (any locale's decimal point) and its
 * exponent: d = 0.DIGITS x 10^point. Returns the number of digits.
 */
static int
split_e(const char *s, char digits[24], int *point)
{
	int n = 0;

	for (; *s && *s != 'e'; s++)
		if (*s >= '0' && *s <= '9')
			digits[n++] = *s;
	*point = atoi(s + 1) + 1;
	digits[n] = '\0';
	return n;
}

/* Drop trailing zeros (the value stays); the digits left. */
static int
trim_zeros(char digits[24], int n)
{
	while (n > 1 && digits[n - 1] == '0')
		n--;
	digits[n] = '\0';
	return n;
}

/* Does 0.DIGITS x 10^point read back as d? *got is what it reads as. */
static bool
round_trips(const char *digits, int point, double d, double *got)
{
	char s[48];

	snprintf(s, sizeof s, "0.%se%d", digits, point);
	*got = strtod_c(s, NULL);
	return *got == d;
}

/* Add one to, or subtract one from, the last of n digits (the first is not 0). */
static void
step_digits(char digits[24], int *n, int *point, bool up)
{
	int i = *n - 1;

	if (up) {
		while (i >= 0 && digits[i] == '9')
			digits[i--] = '0';
		if (i < 0) {
			digits[0] = '1';	/* 99..9 + 1 = 100..0, one place up */
			(*point)++;
		} else {
			digits[i]++;
		}
	} else {
		while (digits[i] == '0')
			digits[i--] = '9';
		digits[i]--;
		if (digits[0] == '0') {
			memmove(digits, digits + 1, (size_t)*n - 1);
			(*n)--;
			(*point)--;
		}
	}
	digits[*n] = '\0';
}

/*
 * The shortest digits that read back as d (> 0), with d = 0.DIGITS x
 * 10^point: the correctly rounded form at 1, 2, ... 17 digits, the first
 * that round-trips. When it does not, only at a power of two (whose
 * interval of values that read back is narrower below) can the neighbour
 * on the other side of d be the answer: try it too.
 */
static int
shortest(double d, char digits[24], int *point)
{
	char s[40];
	int p, n, m;
	double got;

	for (p = 1; p <= 17; p++) {
		snprintf(s, sizeof s, "%.*e", p - 1, d);
		n = split_e(s, digits, point);
		if (round_trips(digits, *point, d, &got))
			return trim_zeros(digits, n);
		if (frexp(d, &m) != 0.5)
			continue;
		step_digits(digits, &n, point, got < d);
		if (round_trips(digits, *point, d, &got))
			return trim_zeros(digits, n);
	}
	snprintf(s, sizeof s, "%.16e", d);
	return trim_zeros(digits, split_e(s, digits, point));
}

/* ECMAScript's Number::toString for finite d (ECMA-262, 6.1.6.1.20). */
void
json_add_number(struct buf *out, double d)
{
	char digits[24];
	int k, n, i;

	if (d == 0) {
		buf_addc(out, '0');	/* -0 too */
		return;
	}
	if (fabs(d) <= (double)JSON_INT_MAX && d == floor(d)) {
		add_int(out, (long long)d);	/* in range: an exact integer */
		return;
	}
	if (d < 0) {
		buf_addc(out, '-');
		d = -d;
	}
	k = shortest(d, digits, &n);
	if (k <= n && n <= 21) {
		buf_add(out, digits, (size_t)k);
		for (i = k; i < n; i++)
			buf_addc(out, '0');
	} else if (0 < n && n <= 21) {
		buf_add(out, digits, (size_t)n);
		buf_addc(out, '.');
		buf_add(out, digits + n, (size_t)(k - n));
	} else if (-6 < n && n <= 0) {
		buf_adds(out, "0.");
		for (i = n; i < 0; i++)
			buf_addc(out, '0');
		buf_add(out, digits, (size_t)k);
	} else {
		buf_addc(out, digits[0]);
		if (k > 1) {
			buf_addc(out, '.');
			buf_add(out, digits + 1, (size_t)(k - 1));
		}
		buf_addf(out, "e%c%d", n - 1 < 0 ? '-' : '+', abs(n - 1));
	}
}

void
json_key(struct buf *out, const char *key)
{
	if (out->len && out->s[out->len - 1] != '{' && out->s[out->len - 1] != '[')
		buf_addc(out, ',');
	json_escape(out, key);
	buf_addc(out, ':');
}

void
json_kv_str(struct buf *out, const char *key, const char *value)
{
	json_key(out, key);
	if (value)
		json_escape(out, value);
	else
		buf_adds(out, "null");
}

void
json_kv_int(struct buf *out, const char *key, long long value)
{
	json_key(out, key);
	add_int(out, value);
}

void
json_kv_num(struct buf *out, const char *key, double value)
{
	json_key(out, key);
	json_add_number(out, value);
}

void
json_kv_bool(struct buf *out, const char *key, bool value)
{
	json_key(out, key);
	buf_adds(out, value ? "true" : "false");
}

void
json_kv_raw(struct buf *out, const char *key, const char *json)
{
	json_key(out, key);
	buf_adds(out, json ? json : "null");
}

/* The next UTF-16 code unit of a UTF-8 string (well formed: the reader checked). */
struct u16_iter {
	const unsigned char *p, *end;
	uint32_t low;		/* a pending low surrogate, or 0 */
};

static int
u16_next(struct u16_iter *it)
{
	uint32_t cp;
	size_t n;

	if (it->low) {
		cp = it->low;
		it->low = 0;
		return (int)cp;
	}
	if (it->p >= it->end)
		return -1;
	n = json_utf8_decode(it->p, it->end, &cp);
	it->p += n ? n : 1;
	if (n == 0)
		return *(it->p - 1);	/* not reached for parsed input */
	if (cp < 0x10000)
		return (int)cp;
	cp -= 0x10000;
	it->low = 0xdc00 + (cp & 0x3ff);
	return (int)(0xd800 + (cp >> 10));
}

/* RFC 8785 3.2.3: member names compared as arrays of UTF-16 code units. */
static int
cmp_utf16(const void *a, const void *b)
{
	const struct json_value *x = *(const struct json_value *const *)a;
	const struct json_value *y = *(const struct json_value *const *)b;
	struct u16_iter i = { (const unsigned char *)x->key,
			      (const unsigned char *)x->key + x->keylen, 0 };
	struct u16_iter j = { (const unsigned char *)y->key,
			      (const unsigned char *)y->key + y->keylen, 0 };
	int u, v;

	do {
		u = u16_next(&i);
		v = u16_next(&j);
	} while (u == v && u >= 0);
	return (u > v) - (u < v);
}

/* Sorted pointers to an object's members (the caller frees). */
static const struct json_value **
sorted_members(const struct json_value *v, int (*cmp)(const void *, const void *))
{
	const struct json_value **kids = xmalloc((v->len ? v->len : 1) * sizeof *kids);
	size_t i;

	for (i = 0; i < v->len; i++)
		kids[i] = &v->kids[i];
	qsort(kids, v->len, sizeof *kids, cmp);
	return kids;
}

/* How one canonical form writes what differs between forms; the walk is shared. */
struct canon_form {
	int (*cmp)(const void *, const void *);	/* member order, over json_value ** */
	void (*string)(struct buf *, const char *, size_t);
	void (*number)(struct buf *, double);
};

/* Write v in form f: literals as they are, members sorted by f->cmp. */
static void
canon_walk(const struct json_value *v, const struct canon_form *f, struct buf *out)
{
	const struct json_value **kids;
	size_t i;

	switch (v->type) {
	case JSON_NULL: buf_adds(out, "null"); break;
	case JSON_FALSE: buf_adds(out, "false"); break;
	case JSON_TRUE: buf_adds(out, "true"); break;
	case JSON_NUMBER: f->number(out, v->num); break;
	case JSON_STRING: f->string(out, v->str, v->len); break;
	case JSON_ARRAY:
		buf_addc(out, '[');
		for (i = 0; i < v->len; i++) {
			if (i)
				buf_addc(out, ',');
			canon_walk(&v->kids[i], f, out);
		}
		buf_addc(out, ']');
		break;
	case JSON_OBJECT:
		kids = sorted_members(v, f->cmp);
		buf_addc(out, '{');
		for (i = 0; i < v->len; i++) {
			if (i)
				buf_addc(out, ',');
			f->string(out, kids[i]->key, kids[i]->keylen);
			buf_addc(out, ':');
			canon_walk(kids[i], f, out);
		}
		buf_addc(out, '}');
		free(kids);
		break;
	}
}

static const struct canon_form jcs_form = { cmp_utf16, json_escape_len, json_add_number };

void
json_canonical_value(const struct json_value *v, struct buf *out)
{
	canon_walk(v, &jcs_form, out);
}

enum status
json_canonical(const char *text, struct buf *out, struct err *e)
{
	struct json_doc doc = JSON_DOC_INIT;
	enum status st = json_parse(text, strlen(text), "JSON", &doc, e);

	if (st == ST_OK)
		json_canonical_value(doc.root, out);
	json_doc_release(&doc);
	return st;
}

enum status
json_with_member(const char *json, const char *key, const char *value, struct buf *out,
		 struct err *e)
{
	struct json_doc doc = JSON_DOC_INIT;
	struct json_value *root, *kids;
	size_t i, n = 0;
	enum status st = ST_OK;

	if (json && (st = json_parse(json, strlen(json), "payload", &doc, e)) != ST_OK)
		goto out;
	if (json && doc.root->type != JSON_OBJECT) {
		st = err_set(e, ST_BAD_JSON, "payload must be a JSON object to carry '%s'", key);
		goto out;
	}
	root = json ? doc.root : &(struct json_value){ .type = JSON_OBJECT };
	kids = xcalloc(root->len + 1, sizeof *kids);
	for (i = 0; i < root->len; i++)
		if (strlen(key) != root->kids[i].keylen || strcmp(root->kids[i].key, key) != 0)
			kids[n++] = root->kids[i];
	kids[n++] = (struct json_value){ .type = JSON_STRING, .key = key, .keylen = strlen(key),
					 .str = value, .len = strlen(value) };
	json_canonical_value(&(struct json_value){ .type = JSON_OBJECT, .kids = kids, .len = n },
			     out);
	free(kids);
out:
	json_doc_release(&doc);
	return st;
}

bool
json_is_number(const char *s)
{
	struct json_doc doc = JSON_DOC_INIT;
	bool ok = (*s == '-' || (*s >= '0' && *s <= '9')) &&
		  json_parse(s, strlen(s), "number", &doc, NULL) == ST_OK &&
		  doc.root->type == JSON_NUMBER;

	json_doc_release(&doc);
	return ok;
}

/* --- version 1 of the canonical form ------------------------------------------------ */

void
json_escape_v1(struct buf *out, const char *s)
{
	buf_addc(out, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		size_t run = 0;

		while (s[run] && (unsigned char)s[run] >= 0x20 && s[run] != '"' && s[run] != '\\')
			run++;
		if (run) {
			buf_add(out, s, run);
			s += run - 1;
			continue;
		}
		switch (c) {
		case '"': buf_adds(out, "\\\""); break;
		case '\\': buf_adds(out, "\\\\"); break;
		case '\n': buf_adds(out, "\\n"); break;
		case '\r': buf_adds(out, "\\r"); break;
		case '\t': buf_adds(out, "\\t"); break;
		default: buf_addf(out, "\\u%04x", c);
		}
	}
	buf_addc(out, '"');
}

/* %.17g with a full stop as the decimal point, whatever the locale. */
static void
add_g17(struct buf *out, double d)
{
	char s[40], *comma;

	snprintf(s, sizeof s, "%.17g", d);
	if ((comma = strchr(s, ',')) != NULL)
		*comma = '.';
	buf_adds(out, s);
}

static int
cmp_bytes_v1(const void *a, const void *b)
{
	return strcmp((*(const struct json_value *const *)a)->key,
		      (*(const struct json_value *const *)b)->key);
}

/* Version 1 strings were C strings: anything after a U+0000 was not written. */
static void
escape_v1_len(struct buf *out, const char *s, size_t len)
{
	(void)len;
	json_escape_v1(out, s);
}

/* Version 1 numbers: integers below 2^53 as integers, the rest with %.17g. */
static void
number_v1(struct buf *out, double d)
{
	if (fabs(d) < 9007199254740992.0 && d == floor(d))
		add_int(out, (long long)d);
	else
		add_g17(out, d);
}

static const struct canon_form v1_form = { cmp_bytes_v1, escape_v1_len, number_v1 };

void
json_canonical_v1(const struct json_value *v, struct buf *out)
{
	canon_walk(v, &v1_form, out);
}
