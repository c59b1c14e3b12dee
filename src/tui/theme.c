/* Console themes: see theme.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "core/yamlx.h"
#include "tui/theme.h"

static const struct {
	const char *name, *fg, *bg, *attr, *mono;
} role_defs[] = {
#define X(id, name, fg, bg, attr, mono) { name, fg, bg, attr, mono },
	THEME_ROLES(X)
#undef X
};
_Static_assert(ARRAY_SIZE(role_defs) == ROLE__COUNT, "one definition per role");

static const char *const colour_names[] = {
	"black", "red", "green", "yellow", "blue", "magenta", "cyan", "white",
};

static const struct {
	const char *name;
	unsigned bit;
} attr_names[] = {
	{ "bold", TA_BOLD }, { "dim", TA_DIM }, { "underline", TA_UNDERLINE },
	{ "reverse", TA_REVERSE }, { "standout", TA_STANDOUT }, { "none", 0 },
};

const char *
theme_role_name(enum theme_role r)
{
	return r < ROLE__COUNT ? role_defs[r].name : "?";
}

/* A colour by name or number; false when it is neither. */
static bool
parse_colour(const char *s, int *out)
{
	int64_t n;
	size_t i;

	if (!strcmp(s, "default")) {
		*out = -1;
		return true;
	}
	for (i = 0; i < ARRAY_SIZE(colour_names); i++)
		if (!strcmp(s, colour_names[i])) {
			*out = (int)i;
			return true;
		}
	if (parse_int64(s, &n) && n >= 0 && n <= 255) {
		*out = (int)n;
		return true;
	}
	return false;
}

/* Attributes from "bold underline" or "bold,underline"; false on an unknown word. */
static bool
parse_attrs(const char *s, unsigned *out)
{
	char word[32];
	size_t n, i;
	bool known;

	*out = 0;
	for (; *s; s += n) {
		s += strspn(s, " ,");
		n = strcspn(s, " ,");
		if (n == 0)
			break;
		if (n >= sizeof word)
			return false;
		memcpy(word, s, n);
		word[n] = '\0';
		for (i = 0, known = false; i < ARRAY_SIZE(attr_names); i++)
			if (!strcmp(word, attr_names[i].name)) {
				*out |= attr_names[i].bit;
				known = true;
			}
		if (!known)
			return false;
	}
	return true;
}

void
theme_default(struct theme *t)
{
	size_t i;

	memset(t, 0, sizeof *t);
	snprintf(t->name, sizeof t->name, "default");
	for (i = 0; i < ROLE__COUNT; i++) {
		parse_colour(role_defs[i].fg, &t->role[i].fg);
		parse_colour(role_defs[i].bg, &t->role[i].bg);
		parse_attrs(role_defs[i].attr, &t->role[i].attr);
		parse_attrs(role_defs[i].mono, &t->role[i].mono);
	}
}

struct theme_walk {
	struct theme *t;
	const char *path;
};

/* The role a path "roles.NAME.KEY" names, and KEY; -1 when none. */
static int
role_of(const char *path, const char **key)
{
	size_t i, n;

	if (!has_prefix(path, "roles."))
		return -1;
	path += 6;
	n = strcspn(path, ".");
	for (i = 0; i < ROLE__COUNT; i++)
		if (strlen(role_defs[i].name) == n && !strncmp(path, role_defs[i].name, n)) {
			*key = path[n] ? path + n + 1 : "";
			return (int)i;
		}
	return -1;
}

/* One leaf of a theme file. */
static enum status
theme_leaf(void *arg, const char *path, const char *value, int line, struct err *e)
{
	struct theme_walk *w = arg;
	const char *key = "";
	int r = role_of(path, &key);
	struct style *s;
	bool ok;

	if (!strcmp(path, "name")) {
		snprintf(w->t->name, sizeof w->t->name, "%s", value);
		return ST_OK;
	}
	if (!strcmp(path, "description"))
		return ST_OK;
	if (r < 0)
		return err_set(e, ST_BAD_YAML, "%s:%d: unknown theme key '%s' (roles.ROLE.fg|bg|attr; "
			       "see ifctl-console(1))", w->path, line, path);
	s = &w->t->role[r];
	if (!strcmp(key, "fg"))
		ok = parse_colour(value, &s->fg);
	else if (!strcmp(key, "bg"))
		ok = parse_colour(value, &s->bg);
	else if (!strcmp(key, "attr"))
		ok = parse_attrs(value, &s->attr);
	else if (!strcmp(key, "mono"))
		ok = parse_attrs(value, &s->mono);
	else
		return err_set(e, ST_BAD_YAML, "%s:%d: unknown key '%s' (fg, bg, attr, mono)",
			       w->path, line, path);
	if (!ok)
		return err_set(e, ST_BAD_YAML, "%s:%d: %s: bad value '%s'", w->path, line, path,
			       value);
	return ST_OK;
}

enum status
theme_parse(struct theme *t, const char *text, size_t len, const char *path, struct err *e)
{
	struct theme_walk w = { t, path };

	theme_default(t);
	return yaml_flatten(text, len, theme_leaf, &w, e);
}

/* The file a theme name stands for, or NULL (tried is where it looked). */
static char *
theme_path(const char *name, const char *const *dirs, struct buf *tried)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	char *p;
	size_t i;

	if (strchr(name, '/') || (strlen(name) > 5 && !strcmp(name + strlen(name) - 5, ".yaml")))
		return xstrdup(name);
	if (xdg && *xdg)
		p = xasprintf("%s/ifctl/themes/%s.yaml", xdg, name);
	else
		p = xasprintf("%s/.config/ifctl/themes/%s.yaml", home ? home : "", name);
	for (i = 0;; i++) {
		buf_addf(tried, "%s%s", tried->len ? ", " : "", p);
		if (access(p, R_OK) == 0)
			return p;
		free(p);
		if (dirs == NULL || dirs[i] == NULL)
			return NULL;
		p = xasprintf("%s/%s.yaml", dirs[i], name);
	}
}

enum status
theme_load(struct theme *t, const char *name, const char *const *dirs, struct err *e)
{
	struct buf tried = BUF_INIT;
	char *path = theme_path(name, dirs, &tried), *text = NULL;
	size_t len = 0;
	enum status st;

	if (path == NULL) {
		st = err_set(e, ST_NOT_FOUND, "no theme '%s' (looked in %s)", name, tried.s);
		buf_release(&tried);
		return st;
	}
	st = read_file(path, READ_MAX_CONFIG, READ_TEXT, &text, &len, e);
	if (st == ST_OK)
		st = theme_parse(t, text, len, path, e);
	free(text);
	free(path);
	buf_release(&tried);
	return st;
}
