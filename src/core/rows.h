/*
 * Row sets: the one shape every view produces.
 *
 * Core builds a row set (named columns, rows of text cells) for each view;
 * the CLI renders it with -o table|wide|json|jsonl|yaml|csv|tsv and the
 * console formats the same rows in a pane. Cells are text; the column kind
 * says how structured formats type them (JSON number, boolean, raw JSON).
 * A NULL cell is null/empty.
 */
#ifndef IF_ROWS_H
#define IF_ROWS_H

#include <stdbool.h>
#include <stddef.h>

enum col_kind { COL_TEXT, COL_NUM, COL_BOOL, COL_JSON, COL_TIME };

#define COL_WIDE 0x1	/* shown only with -o wide (and in structured formats) */
#define COL_DATA 0x2	/* only in structured formats (multi-line text: a signed note) */

struct column {
	char *name;		/* lowercase key: "tree_size"; headers uppercase it */
	enum col_kind kind;
	unsigned flags;
};

struct rowset {
	char *name;		/* section name: "streams", "why", "checks" */
	bool single;		/* one record: JSON object rather than array */
	struct column *cols;
	size_t ncols, colcap;
	char **cells;		/* nrows * ncols, row-major */
	size_t nrows, rowcap;
};

/* A heap row set; rows_free(NULL) is a no-op. */
struct rowset *rows_new(const char *name);
void rows_free(struct rowset *rs);

/* Add a column; returns its index. Rows already there get a null cell. */
size_t rows_col(struct rowset *rs, const char *name, enum col_kind kind, unsigned flags);

/* Append an empty row; returns its index. */
size_t rows_add(struct rowset *rs);

/* Set a cell (copies text; NULL makes it null). */
void rows_set(struct rowset *rs, size_t row, size_t col, const char *text);
void rows_setf(struct rowset *rs, size_t row, size_t col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Read a cell (NULL when null). */
const char *rows_get(const struct rowset *rs, size_t row, size_t col);

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
