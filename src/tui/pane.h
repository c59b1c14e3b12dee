/*
 * Pane formatting: how a console pane turns a view's rows (core/rows.h)
 * into lines of text of an exact width. Pure: no terminal, no bus, no
 * clock of its own (the caller passes now), so it is unit-tested on
 * fixture rows (tests/unit/test-pane.c).
 *
 * A pane shows some columns of a view, each described by a struct
 * pane_col: the view's column (by its enum), a header, a width, and how
 * to show the cell (as the CLI's table does, or a time as an age, the time
 * left until it, or a clock time). Every cell goes through text_visible(),
 * so a record cannot reach the terminal with a control character.
 *
 * Widths are display columns (wcwidth of each character under the
 * locale's encoding); a cell too long for its column ends in "~".
 */
#ifndef IF_TUI_PANE_H
#define IF_TUI_PANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/rows.h"

enum pane_fmt {
	PF_TEXT,	/* as the CLI's table shows the cell */
	PF_AGE,		/* a time: how long ago ("3m") */
	PF_LEFT,	/* a time: how long until it ("12s"), "expired" once past */
	PF_CLOCK,	/* a time: the local clock time, "14:02:31" */
};

#define PC_FLEX		0x1	/* takes the room the others leave (at least width) */
#define PC_RIGHT	0x2	/* right-aligned (numbers) */
#define PC_OPTIONAL	0x4	/* left out first when the pane is narrow */

struct pane_col {
	int vcol;		/* the view's column, by its enum */
	const char *head;	/* header text */
	int width;		/* display columns (the least, with PC_FLEX) */
	unsigned flags;
	enum pane_fmt fmt;
};

/* A duration as the console shows it: "45s", "3m", "2h", "4d" (negative: "-"). */
void pane_fmt_dur(char out[16], int64_t ms);

/* Append s clipped or padded to exactly width display columns. */
void pane_fit(struct buf *out, const char *s, int width, bool right);

/* The display width of s (UTF-8 under the locale; an unknown byte counts 1). */
int pane_text_width(const char *s);

/*
 * The width of each column for a pane width columns wide (one space
 * between columns), in w[]: 0 for a column left out. Optional columns go
 * first, then trailing ones, until the rest fits.
 */
void pane_widths(const struct pane_col *cols, size_t n, int width, int *w);

/* The text of one cell (visible: controls escaped), appended to out. */
void pane_cell(const struct pane_col *c, const struct rowset *rs, size_t row, int64_t now_ms,
	       struct buf *out);

/* One row as a line of exactly width columns, with widths w from pane_widths(). */
void pane_line(const struct pane_col *cols, size_t n, const int *w, const struct rowset *rs,
	       size_t row, int64_t now_ms, struct buf *out);

/*
 * The header line: each column's head, the sorted one marked with a
 * glyph and a letter that need no colour ("^" ascending, "v" descending).
 */
void pane_header(const struct pane_col *cols, size_t n, const int *w, int sort, bool desc,
		 struct buf *out);

#endif
