/*
 * Console themes: colour roles mapped to styles. One X-macro lists the
 * roles with the built-in default style and the attributes a role keeps
 * without colour (NO_COLOR, --color=never, a terminal without colours), so
 * that the selection, the active pane and a failure stay visible in
 * monochrome. Every state a role paints also has its text or glyph: colour
 * is never the only sign.
 *
 * A theme file (themes/NAME.yaml) overrides any role:
 *
 *	name: light
 *	roles:
 *	  header: { fg: black, bg: white, attr: bold }
 *	  bad: { fg: 160 }
 *
 * fg and bg: default, black, red, green, yellow, blue, magenta, cyan,
 * white, or a number 0-255 (256-colour terminals; a terminal with fewer
 * colours shows the default instead). attr: a space- or comma-separated
 * list of bold, dim, underline, reverse, standout, or none.
 * No terminal here: the terminal layer (term.c) turns styles into curses.
 */
#ifndef IF_TUI_THEME_H
#define IF_TUI_THEME_H

#include <stdbool.h>

#include "core/status.h"

/* role, name, fg, bg, attributes with colour, attributes without */
#define THEME_ROLES(X) \
	X(NORMAL, "normal", "default", "default", "", "") \
	X(HEADER, "header", "white", "blue", "bold", "reverse") \
	X(TITLE, "title", "cyan", "default", "bold", "bold") \
	X(TITLE_ACTIVE, "title_active", "black", "cyan", "bold", "reverse bold") \
	X(COLHEAD, "column_header", "default", "default", "bold underline", "underline") \
	X(SELECTED, "selected", "black", "cyan", "", "reverse") \
	X(DIM, "dim", "default", "default", "dim", "dim") \
	X(OK, "ok", "green", "default", "", "") \
	X(INFO, "info", "cyan", "default", "", "") \
	X(ACTIVE, "active", "yellow", "default", "", "bold") \
	X(WARN, "warn", "yellow", "default", "bold", "bold") \
	X(BAD, "bad", "red", "default", "bold", "bold underline") \
	X(BANNER, "banner", "black", "yellow", "bold", "reverse bold") \
	X(PROMPT, "prompt", "default", "default", "bold", "bold") \
	X(STATUS, "status", "white", "blue", "", "reverse")

enum theme_role {
#define X(id, name, fg, bg, attr, mono) ROLE_##id,
	THEME_ROLES(X)
#undef X
	ROLE__COUNT
};

#define TA_BOLD		0x1
#define TA_DIM		0x2
#define TA_UNDERLINE	0x4
#define TA_REVERSE	0x8
#define TA_STANDOUT	0x10

struct style {
	int fg, bg;		/* -1 default, 0-255 */
	unsigned attr;		/* TA_*, with colour */
	unsigned mono;		/* TA_*, without colour */
};

struct theme {
	char name[64];
	struct style role[ROLE__COUNT];
};

/* The role's name ("selected"); static storage. */
const char *theme_role_name(enum theme_role r);

/* The built-in default theme. */
void theme_default(struct theme *t);

/*
 * Load a theme over the defaults: name is a file path (holding a '/' or
 * ending in .yaml) or a theme's name, looked for as NAME.yaml in
 * $XDG_CONFIG_HOME/ifctl/themes, then dirs (a NULL-terminated list: the
 * installed themes, the source tree's). ST_NOT_FOUND naming where it
 * looked; ST_BAD_YAML naming the file, line and key.
 */
enum status theme_load(struct theme *t, const char *name, const char *const *dirs,
		       struct err *e);

/* Parse a theme's text (path only names it in errors). */
enum status theme_parse(struct theme *t, const char *text, size_t len, const char *path,
			struct err *e);

#endif
