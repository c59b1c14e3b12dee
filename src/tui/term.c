/* The terminal layer: see term.h. The only file of src/ that includes curses. */
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <curses.h>

#include "core/util.h"
#include "tui/term.h"

static bool open_, colour;
static SCREEN *screen;
static FILE *tty_out;	/* a stream of its own: stdout may be redirected meanwhile */
static attr_t role_attr[ROLE__COUNT];

/* Curses attributes of TA_* bits. */
static attr_t
attrs(unsigned ta)
{
	attr_t a = A_NORMAL;

	if (ta & TA_BOLD)
		a |= A_BOLD;
	if (ta & TA_DIM)
		a |= A_DIM;
	if (ta & TA_UNDERLINE)
		a |= A_UNDERLINE;
	if (ta & TA_REVERSE)
		a |= A_REVERSE;
	if (ta & TA_STANDOUT)
		a |= A_STANDOUT;
	return a;
}

/* A theme colour the terminal has, else the default (-1). */
static short
term_colour(int c)
{
	return c >= 0 && c < COLORS ? (short)c : -1;
}

/* One colour pair per role; attributes alone without colour. */
static void
set_roles(const struct theme *t)
{
	size_t i;

	for (i = 0; i < ROLE__COUNT; i++) {
		const struct style *s = &t->role[i];

		if (!colour) {
			role_attr[i] = attrs(s->mono);
			continue;
		}
		init_pair((short)(i + 1), term_colour(s->fg), term_colour(s->bg));
		role_attr[i] = attrs(s->attr) | (attr_t)COLOR_PAIR((int)i + 1);
	}
}

enum status
term_open(const struct theme *t, bool color, struct err *e)
{
	int fd = dup(STDOUT_FILENO);

	if (fd < 0 || (tty_out = fdopen(fd, "w")) == NULL ||
	    (screen = newterm(NULL, tty_out, stdin)) == NULL) {
		if (tty_out)
			fclose(tty_out);
		else if (fd >= 0)
			close(fd);
		tty_out = NULL;
		return err_set(e, ST_USAGE, "cannot start the console on terminal '%s'",
			       getenv("TERM") ? getenv("TERM") : "");
	}
	open_ = true;
	cbreak();
	noecho();
	nonl();
	intrflush(stdscr, FALSE);
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	leaveok(stdscr, TRUE);
	colour = color && has_colors() && start_color() == OK;
	if (colour)
		use_default_colors();
	set_roles(t);
	return ST_OK;
}

void
term_close(void)
{
	if (!open_)
		return;
	curs_set(1);
	endwin();
	delscreen(screen);
	fclose(tty_out);
	screen = NULL;
	tty_out = NULL;
	open_ = false;
}

void
term_size(int *rows, int *cols)
{
	getmaxyx(stdscr, *rows, *cols);
}

void
term_resize(void)
{
	struct winsize ws;

	if (ioctl(fileno(tty_out), TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
		resize_term(ws.ws_row, ws.ws_col);
	clearok(curscr, TRUE);
}

void
term_put(int y, int x, const char *text, enum theme_role role)
{
	attrset(role_attr[role < ROLE__COUNT ? role : ROLE_NORMAL]);
	mvaddstr(y, x, text);
	attrset(A_NORMAL);
}

void
term_cursor(int y, int x)
{
	if (y < 0) {
		leaveok(stdscr, TRUE);
		curs_set(0);
		return;
	}
	leaveok(stdscr, FALSE);
	move(y, x);
	curs_set(1);
}

void
term_flush(void)
{
	wnoutrefresh(stdscr);
	doupdate();
}

/* curses key codes and ours. */
static const struct {
	int curses, ours;
} key_map[] = {
	{ KEY_UP, TK_UP }, { KEY_DOWN, TK_DOWN }, { KEY_LEFT, TK_LEFT }, { KEY_RIGHT, TK_RIGHT },
	{ KEY_PPAGE, TK_PGUP }, { KEY_NPAGE, TK_PGDN }, { KEY_HOME, TK_HOME },
	{ KEY_END, TK_END }, { KEY_BTAB, TK_BTAB }, { KEY_BACKSPACE, TK_BACKSPACE },
	{ KEY_DC, TK_DELETE }, { KEY_RESIZE, TK_RESIZE }, { KEY_F(1), TK_F1 },
	{ KEY_ENTER, TK_ENTER }, { '\r', TK_ENTER }, { '\n', TK_ENTER }, { 127, TK_BACKSPACE },
	{ 8, TK_BACKSPACE },
};

int
term_key(void)
{
	int c = getch();
	size_t i;

	if (c == ERR)
		return TK_NONE;
	for (i = 0; i < ARRAY_SIZE(key_map); i++)
		if (key_map[i].curses == c)
			return key_map[i].ours;
	return c >= 0 && c <= 255 ? c : TK_NONE;
}

bool
term_color(void)
{
	return colour;
}
