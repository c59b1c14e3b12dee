/* Row sets: see rows.h. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/json.h"
#include "core/rows.h"
#include "core/util.h"

struct rowset *
rows_new(const char *name)
{
	struct rowset *rs = xcalloc(1, sizeof *rs);

	rs->name = xstrdup(name);
	return rs;
}

void
rows_free(struct rowset *rs)
{
	size_t i;

	if (rs == NULL)
		return;
	for (i = 0; i < rs->nrows * rs->ncols; i++) {
		free(rs->cells[i].value);
		free(rs->cells[i].shown);
	}
	for (i = 0; i < rs->ncols; i++)
		free(rs->cols[i].name);
	free(rs->cells);
	free(rs->cols);
	free(rs->name);
	free(rs);
}

/* Widen every existing row by one (null) cell at the end. */
static void
widen(struct rowset *rs)
{
	size_t r, c, n = rs->ncols, cap = 0;
	struct cell *cells = NULL;

	xgrow(&cells, &cap, rs->nrows * (n + 1), sizeof *cells);
	for (r = 0; r < rs->nrows; r++) {
		for (c = 0; c < n; c++)
			cells[r * (n + 1) + c] = rs->cells[r * n + c];
		cells[r * (n + 1) + n] = (struct cell){ NULL, NULL };
	}
	free(rs->cells);
	rs->cells = cells;
	rs->rowcap = cap;
}

size_t
rows_col(struct rowset *rs, const char *name, enum col_kind kind, unsigned flags)
{
	if (rs->nrows)
		widen(rs);
	xgrow(&rs->cols, &rs->colcap, rs->ncols + 1, sizeof *rs->cols);
	rs->cols[rs->ncols].name = xstrdup(name);
	rs->cols[rs->ncols].kind = kind;
	rs->cols[rs->ncols].flags = flags;
	return rs->ncols++;
}

struct rowset *
rows_view(const struct view *v)
{
	struct rowset *rs = rows_new(v->name);
	size_t i;

	for (i = 0; i < v->ncols; i++)
		rows_col(rs, v->cols[i].name, v->cols[i].kind, v->cols[i].flags);
	return rs;
}

size_t
rows_add(struct rowset *rs)
{
	size_t need = (rs->nrows + 1) * rs->ncols;

	xgrow(&rs->cells, &rs->rowcap, need, sizeof *rs->cells);
	memset(rs->cells + rs->nrows * rs->ncols, 0, rs->ncols * sizeof *rs->cells);
	return rs->nrows++;
}

/* Replace a cell's value with text the caller gives up (NULL: null). */
static void
put(struct rowset *rs, size_t row, size_t col, char *text)
{
	struct cell *c = &rs->cells[row * rs->ncols + col];

	free(c->value);
	c->value = text;
}

void
rows_set(struct rowset *rs, size_t row, size_t col, const char *text)
{
	put(rs, row, col, xstrdup_or_null(text));
}

void
rows_setf(struct rowset *rs, size_t row, size_t col, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	put(rs, row, col, buf_detach(&b));
}

void
rows_set_int(struct rowset *rs, size_t row, size_t col, long long v)
{
	rows_setf(rs, row, col, "%lld", v);
}

void
rows_set_u64(struct rowset *rs, size_t row, size_t col, unsigned long long v)
{
	rows_setf(rs, row, col, "%llu", v);
}

void
rows_set_num(struct rowset *rs, size_t row, size_t col, double v)
{
	struct buf b = BUF_INIT;

	if (!isfinite(v)) {
		put(rs, row, col, NULL);
		return;
	}
	json_add_number(&b, v);
	put(rs, row, col, buf_detach(&b));
}

void
rows_set_bool(struct rowset *rs, size_t row, size_t col, bool v)
{
	rows_set(rs, row, col, v ? "true" : "false");
}

void
rows_set_time(struct rowset *rs, size_t row, size_t col, int64_t ms)
{
	char t[32];

	if (ms <= 0) {
		put(rs, row, col, NULL);
		return;
	}
	fmt_time_ms(t, ms);
	rows_set(rs, row, col, t);
}

void
rows_set_list(struct rowset *rs, size_t row, size_t col, const char *const *items, size_t n)
{
	struct buf v = BUF_INIT, shown = BUF_INIT;
	size_t i;

	buf_addc(&v, '[');
	for (i = 0; i < n; i++) {
		buf_adds(&v, i ? "," : "");
		json_escape(&v, items[i]);
		buf_addf(&shown, "%s%s", i ? "," : "", items[i]);
	}
	buf_addc(&v, ']');
	put(rs, row, col, buf_detach(&v));
	rows_show(rs, row, col, shown.len ? shown.s : "");
	buf_release(&shown);
}

void
rows_show(struct rowset *rs, size_t row, size_t col, const char *text)
{
	struct cell *c = &rs->cells[row * rs->ncols + col];

	free(c->shown);
	c->shown = xstrdup_or_null(text);
}

void
rows_showf(struct rowset *rs, size_t row, size_t col, const char *fmt, ...)
{
	struct cell *c = &rs->cells[row * rs->ncols + col];
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	free(c->shown);
	c->shown = buf_detach(&b);
}

const char *
rows_get(const struct rowset *rs, size_t row, size_t col)
{
	return rs->cells[row * rs->ncols + col].value;
}

const char *
rows_get_shown(const struct rowset *rs, size_t row, size_t col)
{
	const struct cell *c = &rs->cells[row * rs->ncols + col];

	return c->shown ? c->shown : c->value;
}

bool
rows_get_i64(const struct rowset *rs, size_t row, size_t col, int64_t *out)
{
	const char *v = rows_get(rs, row, col);

	return v != NULL && parse_int64(v, out);
}

void
doc_add(struct doc *d, struct rowset *rs)
{
	xgrow(&d->sets, &d->cap, d->n + 1, sizeof *d->sets);
	d->sets[d->n++] = rs;
}

struct rowset *
doc_find(const struct doc *d, const char *name)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (strcmp(d->sets[i]->name, name) == 0)
			return d->sets[i];
	return NULL;
}

void
doc_release(struct doc *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		rows_free(d->sets[i]);
	free(d->sets);
	free(d->text);
	memset(d, 0, sizeof *d);
}

/* Does a code point change how the text around it is ordered on screen? */
static bool
is_bidi_control(uint32_t c)
{
	return c == 0x061c || c == 0x200e || c == 0x200f || (c >= 0x202a && c <= 0x202e) ||
	       (c >= 0x2066 && c <= 0x2069);
}

void
text_visible(struct buf *out, const char *s, unsigned flags)
{
	static const char *const c0[0x20] = {
		['\a'] = "\\a", ['\b'] = "\\b", ['\t'] = "\\t", ['\n'] = "\\n",
		['\v'] = "\\v", ['\f'] = "\\f", ['\r'] = "\\r", [0x1b] = "\\e",
	};
	const unsigned char *p = (const unsigned char *)s, *end = p + strlen(s);
	uint32_t cp = 0;
	size_t n;

	while (*p) {
		if ((n = json_utf8_decode(p, end, &cp)) == 0)
			buf_addf(out, "\\x%02x", *p++);
		else if (cp < 0x20 && c0[cp])
			buf_adds(out, c0[cp]);
		else if (cp < 0x20 || cp == 0x7f)
			buf_addf(out, "\\x%02x", (unsigned)cp);
		else if ((cp >= 0x80 && cp <= 0x9f) || is_bidi_control(cp))
			buf_addf(out, "\\u%04x", (unsigned)cp);
		else if (cp == '\\' && (flags & TEXT_VISIBLE_BACKSLASH))
			buf_adds(out, "\\\\");
		else
			buf_add(out, p, n);
		p += n;
	}
}

void
rows_csv_quote(struct buf *out, const char *v)
{
	if (strpbrk(v, ",\"\r\n") == NULL) {
		buf_adds(out, v);
		return;
	}
	buf_addc(out, '"');
	for (; *v; v++) {
		if (*v == '"')
			buf_addc(out, '"');
		buf_addc(out, *v);
	}
	buf_addc(out, '"');
}
