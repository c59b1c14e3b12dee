/*
 * Rendering a document (row sets) in an output format, for the CLI's -o
 * and for anything else that shows a command's result as text.
 *
 * render_buf() is pure: it appends to a buffer and does no I/O, so a
 * console pane and the unit tests use it as the CLI does. It takes only
 * the render options, never a command's context.
 */
#ifndef IF_RENDER_H
#define IF_RENDER_H

#include <stdbool.h>
#include <stdio.h>

#include "core/buf.h"
#include "core/rows.h"
#include "core/status.h"

enum out_format { OUT_TABLE, OUT_WIDE, OUT_JSON, OUT_JSONL, OUT_YAML, OUT_CSV, OUT_TSV };

/* Names of output formats, indexed by enum out_format; ends with NULL. */
extern const char *const out_format_names[];

/* How to render: -o, --no-headers, --color. */
struct render_opts {
	enum out_format format;
	bool no_headers;	/* no header row in table, wide, csv and tsv */
	bool color;		/* bold headers (ANSI) in table and wide */
};
#define RENDER_OPTS_INIT { OUT_TABLE, false, false }

/* Append d rendered with ro to out. */
void render_buf(const struct render_opts *ro, const struct doc *d, struct buf *out);

/* Render d to f; ST_IO when the write fails. */
enum status render_doc(const struct render_opts *ro, FILE *f, const struct doc *d);

/* Append v as one RFC 4180 CSV field (quoted when it must be). */
void csv_cell(struct buf *out, const char *v);

#endif
