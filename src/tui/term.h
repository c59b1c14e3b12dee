/*
 * The terminal layer: the only file of the console that includes curses
 * (ncursesw). It draws lines of text already formatted to their width in a
 * theme's roles and reads keys; everything else works on text and key
 * codes. Drawing goes to curses's virtual screen and out with one
 * doupdate() per frame (term_flush), so only what changed is sent.
 *
 * Threads: the console's loop thread only.
 */
#ifndef IF_TUI_TERM_H
#define IF_TUI_TERM_H

#include <stdbool.h>

#include "core/status.h"
#include "tui/theme.h"

/* Keys beyond bytes: term_key() returns a byte (0-255), one of these, or TK_NONE. */
enum term_key {
	TK_NONE = -1,
	TK_UP = 0x1000, TK_DOWN, TK_LEFT, TK_RIGHT, TK_PGUP, TK_PGDN, TK_HOME, TK_END,
	TK_BTAB, TK_BACKSPACE, TK_DELETE, TK_RESIZE, TK_F1, TK_ENTER,
};
#define TK_ESC 27
#define TK_TAB '\t'
#define TK_CTRL(c) ((c) & 0x1f)

/*
 * Take over the terminal (stdin and stdout): raw keys without echo, no
 * cursor, colour when color is true and the terminal has it. ST_USAGE when
 * curses cannot start on it.
 */
enum status term_open(const struct theme *t, bool color, struct err *e);
/* Give the terminal back as it was; safe to call twice. */
void term_close(void);

/* Rows and columns now; after a SIGWINCH, term_resize() first. */
void term_size(int *rows, int *cols);
/* Take the window's new size from the kernel (after SIGWINCH) and redraw all next flush. */
void term_resize(void);

/* Draw text (already width columns, or cut there) at row y, column x, in role. */
void term_put(int y, int x, const char *text, enum theme_role role);
/* Put the cursor at (y, x) and show it, or hide it (y < 0). */
void term_cursor(int y, int x);
/* Send what changed since the last flush. */
void term_flush(void);

/* The next key waiting, or TK_NONE. */
int term_key(void);

/* Is colour in use? */
bool term_color(void);

#endif
