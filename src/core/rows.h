/*
 * Row sets: the one shape every view produces.
 *
 * Core builds a row set (named columns, rows of cells) for each view; the
 * CLI renders it with -o table|wide|json|jsonl|yaml|csv|tsv and the console
 * formats the same rows in a pane. One query, two faces.
 *
 * A view is a static const table of columns (struct view_col) with an enum
 * of its columns in the same order, checked by _Static_assert on the
 * table's length; cells are set and read by that enum, never by a bare
 * position. The column kind types the value in structured formats:
 *
 *   COL_TEXT  a JSON string
 *   COL_NUM   a JSON number (the typed setters write RFC 8785 numbers)
 *   COL_BOOL  true or false
 *   COL_TIME  an RFC 3339 time in UTC, a JSON string ("2026-01-02T03:04:05.678Z")
 *   COL_JSON  JSON text as it is (an object, an array)
 *
 * A NULL cell is null in structured formats and empty in tables. A cell
 * may also carry a display text for the table faces (attempts "0/5",
 * capabilities "a,b"); structured formats always use the typed value.
 */
#ifndef IF_ROWS_H
#define IF_ROWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

enum col_kind { COL_TEXT, COL_NUM, COL_BOOL, COL_JSON, COL_TIME };

#define COL_WIDE 0x1	/* shown only with -o wide (and in structured formats) */
#define COL_DATA 0x2	/* only in structured formats (multi-line text: a signed note) */

struct column {
	char *name;		/* lowercase key: "tree_size"; headers uppercase it */
	enum col_kind kind;
	unsigned flags;
};

/* One column of a view's static table. */
struct view_col {
	const char *name;	/* lowercase key */
	enum col_kind kind;
	unsigned flags;		/* COL_WIDE, COL_DATA */
};

/* A view: its section name and its column table. */
struct view {
	const char *name;
	const struct view_col *cols;
	size_t ncols;
};

#define VIEW(name, table) { (name), (table), sizeof (table) / sizeof *(table) }

struct cell {
	char *value;		/* typed by the column's kind; NULL is null */
	char *shown;		/* table text when it differs from value, or NULL */
};

struct rowset {
	char *name;		/* section name: "streams", "why", "checks" */
	bool single;		/* one record: JSON object rather than array */
	bool table_only;	/* a table face's detail, left out of structured formats */
	struct column *cols;
	size_t ncols, colcap;
	struct cell *cells;	/* nrows * ncols, row-major */
	size_t nrows, rowcap;
};

/* A heap row set; rows_free(NULL) is a no-op. */
struct rowset *rows_new(const char *name);
void rows_free(struct rowset *rs);

/* Add a column; returns its index. Rows already there get a null cell. */
size_t rows_col(struct rowset *rs, const char *name, enum col_kind kind, unsigned flags);

/* A heap row set with the columns of a view, in the table's order. */
struct rowset *rows_view(const struct view *v);

/* Append an empty row; returns its index. */
size_t rows_add(struct rowset *rs);

/* Set a cell (copies text; NULL makes it null). */
void rows_set(struct rowset *rs, size_t row, size_t col, const char *text);
void rows_setf(struct rowset *rs, size_t row, size_t col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Typed setters: the value in the form structured formats print. */
void rows_set_int(struct rowset *rs, size_t row, size_t col, long long v);
void rows_set_u64(struct rowset *rs, size_t row, size_t col, unsigned long long v);
void rows_set_num(struct rowset *rs, size_t row, size_t col, double v);	/* RFC 8785 */
void rows_set_bool(struct rowset *rs, size_t row, size_t col, bool v);
void rows_set_time(struct rowset *rs, size_t row, size_t col, int64_t ms);	/* <= 0: null */
/* A JSON array of strings; tables show the items joined by commas. */
void rows_set_list(struct rowset *rs, size_t row, size_t col, const char *const *items,
		   size_t n);
/* The table faces' text of a cell (copied), when it differs from its value. */
void rows_show(struct rowset *rs, size_t row, size_t col, const char *text);
void rows_showf(struct rowset *rs, size_t row, size_t col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Read a cell's value (NULL when null). */
const char *rows_get(const struct rowset *rs, size_t row, size_t col);
/* Read a cell as tables show it: its display text, else its value (NULL when null). */
const char *rows_get_shown(const struct rowset *rs, size_t row, size_t col);
/* Read a number cell as an integer; false when null or not an integer. */
bool rows_get_i64(const struct rowset *rs, size_t row, size_t col, int64_t *out);

/*
 * Append s to out as a terminal may show it: every control character as
 * text, so a record cannot move the cursor, retitle the window or reach
 * the terminal in any way (ESC ] 0 ; title BEL). C0 controls become \a \b
 * \t \n \v \f \r \e or \xHH, DEL \x7f, a byte that is not UTF-8 \xHH,
 * C1 controls (U+0080..U+009F) and bidirectional overrides and isolates
 * (U+061C, U+200E, U+200F, U+202A..U+202E, U+2066..U+2069) \uHHHH; the rest
 * is kept. With TEXT_VISIBLE_BACKSLASH a backslash is doubled, so the
 * result reads back unambiguously (tsv). The table, wide, csv and tsv
 * faces and the console show every cell through it; JSON and YAML escape
 * on their own.
 */
#define TEXT_VISIBLE_BACKSLASH 0x1
void text_visible(struct buf *out, const char *s, unsigned flags);

/* Append v as one CSV field (RFC 4180: quoted when it holds , " CR or LF). */
void rows_csv_quote(struct buf *out, const char *v);

/*
 * A document: the row sets one command returns, in order. Renderers print
 * a lone row set as itself and several as sections (an object in JSON).
 */
struct doc {
	struct rowset **sets;
	size_t n, cap;
	char *text;		/* raw text output (completion scripts), or NULL */
};

void doc_add(struct doc *d, struct rowset *rs);	/* takes ownership */
struct rowset *doc_find(const struct doc *d, const char *name);
void doc_release(struct doc *d);

#endif
