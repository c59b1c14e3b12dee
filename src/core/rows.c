/* Row sets: see rows.h. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
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
	for (i = 0; i < rs->nrows * rs->ncols; i++)
		free(rs->cells[i]);
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
	char **cells = NULL;

	xgrow(&cells, &cap, rs->nrows * (n + 1), sizeof *cells);
	for (r = 0; r < rs->nrows; r++) {
		for (c = 0; c < n; c++)
			cells[r * (n + 1) + c] = rs->cells[r * n + c];
		cells[r * (n + 1) + n] = NULL;
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

size_t
rows_add(struct rowset *rs)
{
	size_t need = (rs->nrows + 1) * rs->ncols;

	xgrow(&rs->cells, &rs->rowcap, need, sizeof *rs->cells);
	memset(rs->cells + rs->nrows * rs->ncols, 0, rs->ncols * sizeof *rs->cells);
	return rs->nrows++;
}

void
rows_set(struct rowset *rs, size_t row, size_t col, const char *text)
{
	char **cell = &rs->cells[row * rs->ncols + col];

	free(*cell);
	*cell = xstrdup_or_null(text);
}

void
rows_setf(struct rowset *rs, size_t row, size_t col, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	free(rs->cells[row * rs->ncols + col]);
	rs->cells[row * rs->ncols + col] = buf_detach(&b);
}

const char *
rows_get(const struct rowset *rs, size_t row, size_t col)
{
	return rs->cells[row * rs->ncols + col];
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
