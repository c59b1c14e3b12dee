/*
 * Rendering a document (row sets) in each output format.
 *
 * table and wide: aligned columns, UPPERCASE headers, sets separated by a
 * blank line; a single-record set is shown as "key: value" lines. json: a
 * lone set is an array (an object when single); several sets make one
 * object keyed by set name. jsonl: one object per row, with "section" when
 * there are several sets. yaml: the json structure in block style. csv
 * (RFC 4180) and tsv (tabs and newlines escaped): one header row per set.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/render.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/util.h"
#include "core/yamlx.h"

const char *const out_format_names[] = {
	[OUT_TABLE] = "table", [OUT_WIDE] = "wide", [OUT_JSON] = "json",
	[OUT_JSONL] = "jsonl", [OUT_YAML] = "yaml", [OUT_CSV] = "csv", [OUT_TSV] = "tsv",
	NULL,
};

static bool
shown(const struct render_opts *ro, const struct column *c)
{
	if (c->flags & COL_DATA)
		return ro->format != OUT_TABLE && ro->format != OUT_WIDE;
	return !(c->flags & COL_WIDE) || ro->format != OUT_TABLE;
}

/* A cell as the table faces show it (csv and tsv too): "" when null. */
static const char *
cell(const struct rowset *rs, size_t r, size_t c)
{
	const char *v = rows_get_shown(rs, r, c);

	return v ? v : "";
}

/* A cell as a terminal may show it (text_visible), in tmp. */
static const char *
cell_visible(struct buf *tmp, const struct rowset *rs, size_t r, size_t c)
{
	buf_reset(tmp);
	text_visible(tmp, cell(rs, r, c), 0);
	return tmp->s;
}

/* Is a set left out of the structured formats (json, jsonl, yaml)? */
static bool
structured(const struct rowset *rs)
{
	return !rs->table_only;
}

/* The sets structured formats print, and the first of them. */
static size_t
structured_sets(const struct doc *d, const struct rowset **first)
{
	size_t i, n = 0;

	*first = NULL;
	for (i = 0; i < d->n; i++) {
		if (!structured(d->sets[i]))
			continue;
		if (n++ == 0)
			*first = d->sets[i];
	}
	return n;
}

/* Display width of a UTF-8 string: one column per code point. */
static size_t
width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

static void
pad(struct buf *out, const char *s, size_t w, bool right)
{
	size_t n = width(s);

	if (right)
		for (; n < w; n++)
			buf_addc(out, ' ');
	buf_adds(out, s);
	if (!right)
		for (; n < w; n++)
			buf_addc(out, ' ');
}

static void
upper(struct buf *out, const char *s)
{
	for (; *s; s++)
		buf_addc(out, *s == '_' ? ' ' : (char)toupper((unsigned char)*s));
}

/* Drop the padding at the end of a line (before any colour reset). */
static void
trim_end(struct buf *out)
{
	size_t n = out->len, reset = strlen("\033[0m");

	if (n >= reset && memcmp(out->s + n - reset, "\033[0m", reset) == 0) {
		size_t end = n - reset;
		while (end && out->s[end - 1] == ' ')
			end--;
		memmove(out->s + end, "\033[0m", reset);
		buf_truncate(out, end + reset);
		return;
	}
	while (out->len && out->s[out->len - 1] == ' ')
		buf_truncate(out, out->len - 1);
}

static void
table_single(const struct render_opts *ro, const struct rowset *rs, struct buf *out)
{
	struct buf v = BUF_INIT;
	size_t c, w = 0;

	for (c = 0; c < rs->ncols; c++)
		if (shown(ro, &rs->cols[c]) && strlen(rs->cols[c].name) > w)
			w = strlen(rs->cols[c].name);
	for (c = 0; c < rs->ncols && rs->nrows; c++) {
		if (!shown(ro, &rs->cols[c]))
			continue;
		buf_addf(out, "%s:", rs->cols[c].name);
		pad(out, "", w - strlen(rs->cols[c].name) + 1, false);
		buf_addf(out, "%s\n", cell_visible(&v, rs, 0, c));
	}
	buf_release(&v);
}

static void
table_set(const struct render_opts *ro, const struct rowset *rs, struct buf *out)
{
	size_t r, c, *w = xcalloc(rs->ncols, sizeof *w);
	struct buf h = BUF_INIT, v = BUF_INIT;
	const char *bold = ro->color ? "\033[1m" : "", *norm = ro->color ? "\033[0m" : "";

	for (c = 0; c < rs->ncols; c++) {
		w[c] = ro->no_headers ? 0 : strlen(rs->cols[c].name);
		for (r = 0; r < rs->nrows; r++)
			if (width(cell_visible(&v, rs, r, c)) > w[c])
				w[c] = width(v.s);
	}
	if (!ro->no_headers) {
		for (c = 0; c < rs->ncols; c++) {
			if (!shown(ro, &rs->cols[c]))
				continue;
			buf_reset(&h);
			upper(&h, rs->cols[c].name);
			if (out->len && out->s[out->len - 1] != '\n')
				buf_adds(out, "  ");
			buf_adds(out, bold);
			pad(out, h.s, w[c], rs->cols[c].kind == COL_NUM);
			buf_adds(out, norm);
		}
		trim_end(out);
		buf_addc(out, '\n');
	}
	for (r = 0; r < rs->nrows; r++) {
		bool first = true;
		for (c = 0; c < rs->ncols; c++) {
			if (!shown(ro, &rs->cols[c]))
				continue;
			if (!first)
				buf_adds(out, "  ");
			first = false;
			pad(out, cell_visible(&v, rs, r, c), w[c], rs->cols[c].kind == COL_NUM);
		}
		trim_end(out);
		buf_addc(out, '\n');
	}
	buf_release(&v);
	buf_release(&h);
	free(w);
}

/*
 * Is a cell's value written as it is in JSON and YAML (a number, a
 * boolean, JSON text), rather than as a string? A value that does not fit
 * its column's kind falls back to a string, so the output stays valid.
 */
static bool
raw_value(const struct column *col, const char *v)
{
	switch (col->kind) {
	case COL_NUM:
		return json_is_number(v);
	case COL_BOOL:
		return !strcmp(v, "true") || !strcmp(v, "false");
	case COL_JSON:
		return json_check(v, "cell", NULL) == ST_OK;
	default:
		return false;
	}
}

/* Do structured formats name each set (several of them)? */
static bool
sectioned(const struct doc *d)
{
	const struct rowset *first;

	return structured_sets(d, &first) > 1;
}

/* A cell as a JSON value, typed by its column. */
static void
json_value(struct buf *out, const struct column *col, const char *v)
{
	if (v == NULL)
		buf_adds(out, "null");
	else if (raw_value(col, v))
		buf_adds(out, v);
	else
		json_escape(out, v);
}

static void
json_row(struct buf *out, const struct rowset *rs, size_t r, const char *section)
{
	size_t c;

	buf_addc(out, '{');
	if (section) {
		buf_adds(out, "\"section\":");
		json_escape(out, section);
	}
	for (c = 0; c < rs->ncols; c++) {
		if (c || section)
			buf_addc(out, ',');
		json_escape(out, rs->cols[c].name);
		buf_addc(out, ':');
		json_value(out, &rs->cols[c], rows_get(rs, r, c));
	}
	buf_addc(out, '}');
}

static void
json_set(struct buf *out, const struct rowset *rs)
{
	size_t r;

	if (rs->single) {
		if (rs->nrows)
			json_row(out, rs, 0, NULL);
		else
			buf_adds(out, "null");
		return;
	}
	buf_addc(out, '[');
	for (r = 0; r < rs->nrows; r++) {
		if (r)
			buf_addc(out, ',');
		json_row(out, rs, r, NULL);
	}
	buf_addc(out, ']');
}

static void
json_doc(const struct doc *d, struct buf *out)
{
	const struct rowset *first;
	size_t i, n = 0;

	if (structured_sets(d, &first) == 1) {
		json_set(out, first);
	} else {
		buf_addc(out, '{');
		for (i = 0; i < d->n; i++) {
			if (!structured(d->sets[i]))
				continue;
			if (n++)
				buf_addc(out, ',');
			json_escape(out, d->sets[i]->name);
			buf_addc(out, ':');
			json_set(out, d->sets[i]);
		}
		buf_addc(out, '}');
	}
	buf_addc(out, '\n');
}

static void
yaml_value(struct buf *out, const struct column *col, const char *v)
{
	if (v == NULL)
		buf_adds(out, "null");
	else if (raw_value(col, v))
		buf_adds(out, v);	/* JSON is YAML flow style */
	else
		yaml_scalar(out, v);
}

static void
yaml_row(struct buf *out, const struct rowset *rs, size_t r, const char *indent, bool item)
{
	size_t c;

	for (c = 0; c < rs->ncols; c++) {
		buf_addf(out, "%s%s%s: ", indent, item ? (c ? "  " : "- ") : "", rs->cols[c].name);
		yaml_value(out, &rs->cols[c], rows_get(rs, r, c));
		buf_addc(out, '\n');
	}
}

static void
yaml_set(struct buf *out, const struct rowset *rs, const char *indent)
{
	size_t r;

	if (rs->single && rs->nrows)
		yaml_row(out, rs, 0, indent, false);
	else if (rs->nrows == 0)
		buf_addf(out, "%s[]\n", indent);
	for (r = 0; !rs->single && r < rs->nrows; r++)
		yaml_row(out, rs, r, indent, true);
}

static void
yaml_doc(const struct doc *d, struct buf *out)
{
	const struct rowset *first;
	size_t i;

	if (structured_sets(d, &first) == 1) {
		yaml_set(out, first, "");
		return;
	}
	for (i = 0; i < d->n; i++) {
		if (!structured(d->sets[i]))
			continue;
		buf_addf(out, "%s:%s\n", d->sets[i]->name,
			 d->sets[i]->nrows == 0 ? " []" : "");
		if (d->sets[i]->nrows)
			yaml_set(out, d->sets[i], "  ");
	}
}

/*
 * One csv or tsv field, control characters made visible (text_visible):
 * tsv doubles backslashes so that its \t and \n read back; csv quotes
 * as RFC 4180 says.
 */
static void
sep_value(struct buf *out, const char *v, char sep)
{
	struct buf vis = BUF_INIT;

	if (sep == '\t') {
		text_visible(out, v, TEXT_VISIBLE_BACKSLASH);
		return;
	}
	text_visible(&vis, v, 0);
	rows_csv_quote(out, vis.s);
	buf_release(&vis);
}

void
csv_cell(struct buf *out, const char *v)
{
	sep_value(out, v, ',');
}

static void
sep_set(const struct render_opts *ro, const struct rowset *rs, char sep, struct buf *out)
{
	size_t r, c;

	if (!ro->no_headers) {
		for (c = 0; c < rs->ncols; c++) {
			if (c)
				buf_addc(out, sep);
			sep_value(out, rs->cols[c].name, sep);
		}
		buf_adds(out, sep == ',' ? "\r\n" : "\n");
	}
	for (r = 0; r < rs->nrows; r++) {
		for (c = 0; c < rs->ncols; c++) {
			if (c)
				buf_addc(out, sep);
			sep_value(out, cell(rs, r, c), sep);
		}
		buf_adds(out, sep == ',' ? "\r\n" : "\n");
	}
}

/* The table and wide, jsonl, csv and tsv sets of d, one after another. */
static void
render_sets(const struct render_opts *ro, const struct doc *d, struct buf *out)
{
	size_t i, r;

	for (i = 0; i < d->n; i++) {
		const struct rowset *rs = d->sets[i];
		switch (ro->format) {
		case OUT_TABLE:
		case OUT_WIDE:
			if (i)
				buf_addc(out, '\n');
			if (rs->single)
				table_single(ro, rs, out);
			else
				table_set(ro, rs, out);
			break;
		case OUT_JSONL:
			for (r = 0; structured(rs) && r < rs->nrows; r++) {
				json_row(out, rs, r, sectioned(d) ? rs->name : NULL);
				buf_addc(out, '\n');
			}
			break;
		case OUT_CSV:
		case OUT_TSV:
			if (i)
				buf_adds(out, "\n");
			sep_set(ro, rs, ro->format == OUT_CSV ? ',' : '\t', out);
			break;
		default:
			break;
		}
	}
}

void
render_buf(const struct render_opts *ro, const struct doc *d, struct buf *out)
{
	if (d->text)
		buf_adds(out, d->text);
	else if (d->n == 0)
		;
	else if (ro->format == OUT_JSON)
		json_doc(d, out);
	else if (ro->format == OUT_YAML)
		yaml_doc(d, out);
	else
		render_sets(ro, d, out);
}

enum status
render_doc(const struct render_opts *ro, FILE *f, const struct doc *d)
{
	struct buf out = BUF_INIT;
	enum status st = ST_OK;

	render_buf(ro, d, &out);
	if (out.len && fwrite(out.s, 1, out.len, f) != out.len)
		st = ST_IO;
	buf_release(&out);
	return st;
}
