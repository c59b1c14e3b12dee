/* libyaml wrapper: see yamlx.h. */
#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include <yaml.h>

#include "core/util.h"
#include "core/yamlx.h"

/*
 * The document is walked as a stream of parser events, never built as a
 * tree: memory is what the path and the anchors hold, nesting stops at
 * YAML_MAX_DEPTH before the parser goes deeper, and a second document is
 * refused where it starts.
 *
 * An anchored node is kept as the leaves under it (their paths relative to
 * the node), so that an alias replays them under its own path. Every leaf
 * kept for an anchor or replayed by an alias counts against
 * YAML_MAX_ALIAS_NODES, and its path and value against YAML_MAX_ALIAS_BYTES
 * (long keys or values repeated): an alias bomb stops there, in bounded memory.
 */
struct leaf {
	char *rel;	/* path below the anchored node ("" for a scalar) */
	char *value;
};

struct anchor {
	char *name;
	size_t base;	/* path length where the anchored node starts */
	int depth;	/* its nesting depth while open; -1 once closed */
	struct leaf *v;
	size_t n, cap;
};

struct level {
	size_t keep;	/* path length when this mapping started */
	bool key;	/* the next node is a key */
};

struct walk {
	struct buf path;			/* dotted path of the current node */
	struct level lv[YAML_MAX_DEPTH + 1];	/* lv[1..depth]: open mappings */
	int depth;
	struct anchor *a;
	size_t na, cap;
	size_t kept, kept_bytes;		/* leaves kept or replayed for aliases */
	int docs;
	yaml_leaf_fn fn;
	void *arg;
	struct err *e;
};

static enum status
key_error(struct walk *w, int line)
{
	return err_set(w->e, ST_BAD_YAML, "line %d: a key must be a plain word", line);
}

/* Count one leaf of path and value kept or replayed for aliases; refuse past the limits. */
static enum status
count_kept(struct walk *w, const char *path, const char *value, int line)
{
	w->kept_bytes += strlen(path) + strlen(value);
	if (++w->kept > YAML_MAX_ALIAS_NODES)
		return err_set(w->e, ST_BAD_YAML, "line %d: anchors and aliases expand to more "
			       "than %d values", line, YAML_MAX_ALIAS_NODES);
	if (w->kept_bytes > YAML_MAX_ALIAS_BYTES)
		return err_set(w->e, ST_BAD_YAML, "line %d: anchors and aliases expand to more "
			       "than %d MiB", line, YAML_MAX_ALIAS_BYTES >> 20);
	return ST_OK;
}

/* Start keeping the leaves of an anchored node at nesting depth. */
static void
anchor_open(struct walk *w, const unsigned char *name, int depth)
{
	struct anchor *a;

	xgrow(&w->a, &w->cap, w->na + 1, sizeof *w->a);
	a = &w->a[w->na++];
	memset(a, 0, sizeof *a);
	a->name = xstrdup((const char *)name);
	a->base = w->path.len;
	a->depth = depth;
}

/* Close the anchors whose node ends at depth. */
static void
anchors_close(struct walk *w, int depth)
{
	size_t i;

	for (i = 0; i < w->na; i++)
		if (w->a[i].depth == depth)
			w->a[i].depth = -1;
}

/* Hand the leaf at the current path to the callback and to every open anchor. */
static enum status
emit(struct walk *w, const char *value, int line)
{
	enum status st;
	size_t i;

	for (i = 0; i < w->na; i++) {
		struct anchor *a = &w->a[i];
		const char *rel = w->path.len > a->base ? w->path.s + a->base + (a->base > 0) : "";

		if (a->depth < 0)
			continue;
		if ((st = count_kept(w, rel, value, line)) != ST_OK)
			return st;
		xgrow(&a->v, &a->cap, a->n + 1, sizeof *a->v);
		a->v[a->n].rel = xstrdup(rel);
		a->v[a->n++].value = xstrdup(value);
	}
	return w->fn(w->arg, w->path.s, value, line, w->e);
}

/* A value of the innermost mapping is done: back to its path, expect a key. */
static void
value_done(struct walk *w)
{
	if (w->depth == 0)
		return;
	buf_truncate(&w->path, w->lv[w->depth].keep);
	w->lv[w->depth].key = true;
}

static bool want_key(const struct walk *w) { return w->depth > 0 && w->lv[w->depth].key; }

static enum status
on_mapping(struct walk *w, const unsigned char *anchor, int line)
{
	if (want_key(w))
		return key_error(w, line);
	if (w->depth == YAML_MAX_DEPTH)
		return err_set(w->e, ST_BAD_YAML, "line %d: nested deeper than %d levels",
			       line, YAML_MAX_DEPTH);
	w->depth++;
	w->lv[w->depth].keep = w->path.len;
	w->lv[w->depth].key = true;
	if (anchor)
		anchor_open(w, anchor, w->depth);
	return ST_OK;
}

static void
on_mapping_end(struct walk *w)
{
	anchors_close(w, w->depth);
	w->depth--;
	value_done(w);
}

static enum status
on_scalar(struct walk *w, const yaml_event_t *ev, int line)
{
	const char *v = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	enum status st;

	if (w->depth == 0 && len == 0)
		return ST_OK;	/* an empty document */
	if (w->depth == 0)
		return err_set(w->e, ST_BAD_YAML, "line %d: expected a mapping of keys, "
			       "found a single value", line);
	if (memchr(v, '\0', len))
		return err_set(w->e, ST_BAD_YAML, "line %d: %s: contains a NUL character",
			       line, w->path.len ? w->path.s : "(top)");
	if (w->lv[w->depth].key) {
		if (w->path.len)
			buf_addc(&w->path, '.');
		buf_add(&w->path, v, len);
		w->lv[w->depth].key = false;
		return ST_OK;
	}
	if (ev->data.scalar.anchor)
		anchor_open(w, ev->data.scalar.anchor, w->depth + 1);
	st = emit(w, v, line);
	anchors_close(w, w->depth + 1);
	value_done(w);
	return st;
}

/* The closed anchor of that name defined last, or NULL. */
static const struct anchor *
anchor_find(const struct walk *w, const char *name)
{
	size_t i;

	for (i = w->na; i-- > 0; )
		if (w->a[i].depth < 0 && strcmp(w->a[i].name, name) == 0)
			return &w->a[i];
	return NULL;
}

static enum status
on_alias(struct walk *w, const char *name, int line)
{
	size_t keep = w->path.len, i, n;
	enum status st = ST_OK;
	const struct anchor *a;

	if (want_key(w))
		return key_error(w, line);
	if (w->depth == 0 || (a = anchor_find(w, name)) == NULL)
		return err_set(w->e, ST_BAD_YAML, "line %d: unknown alias '*%s'", line, name);
	n = a->n;	/* a is closed: emit() appends to open anchors only */
	for (i = 0; i < n && st == ST_OK; i++) {
		if (a->v[i].rel[0])
			buf_addf(&w->path, ".%s", a->v[i].rel);
		if ((st = count_kept(w, w->path.s, a->v[i].value, line)) == ST_OK)
			st = emit(w, a->v[i].value, line);
		buf_truncate(&w->path, keep);
	}
	value_done(w);
	return st;
}

static enum status
on_event(struct walk *w, const yaml_event_t *ev)
{
	int line = (int)ev->start_mark.line + 1;

	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (w->docs++ == 0)
			return ST_OK;
		return err_set(w->e, ST_BAD_YAML, "line %d: a second YAML document; "
			       "a file holds one", line);
	case YAML_MAPPING_START_EVENT:
		return on_mapping(w, ev->data.mapping_start.anchor, line);
	case YAML_MAPPING_END_EVENT:
		on_mapping_end(w);
		return ST_OK;
	case YAML_SEQUENCE_START_EVENT:
		if (want_key(w))
			return key_error(w, line);
		return err_set(w->e, ST_BAD_YAML, "line %d: %s: expected a value or a mapping, "
			       "found a list", line, w->path.len ? w->path.s : "(top)");
	case YAML_SCALAR_EVENT:
		return on_scalar(w, ev, line);
	case YAML_ALIAS_EVENT:
		return on_alias(w, (const char *)ev->data.alias.anchor, line);
	default:
		return ST_OK;
	}
}

static void
walk_release(struct walk *w)
{
	size_t i, j;

	for (i = 0; i < w->na; i++) {
		for (j = 0; j < w->a[i].n; j++) {
			free(w->a[i].v[j].rel);
			free(w->a[i].v[j].value);
		}
		free(w->a[i].v);
		free(w->a[i].name);
	}
	free(w->a);
	buf_release(&w->path);
}

enum status
yaml_flatten(const char *text, size_t len, yaml_leaf_fn fn, void *arg, struct err *e)
{
	struct walk w = { .path = BUF_INIT, .fn = fn, .arg = arg, .e = e };
	yaml_parser_t parser;
	yaml_event_t ev;
	enum status st = ST_OK;
	bool end = false;

	if (!yaml_parser_initialize(&parser))
		return err_set(e, ST_NOMEM, "cannot initialise the YAML parser");
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (st == ST_OK && !end) {
		if (!yaml_parser_parse(&parser, &ev)) {
			st = err_set(e, ST_BAD_YAML, "line %zu: %s%s%s",
				     parser.problem_mark.line + 1,
				     parser.problem ? parser.problem : "syntax error",
				     parser.context ? " " : "", parser.context ? parser.context : "");
			break;
		}
		end = ev.type == YAML_STREAM_END_EVENT;
		st = on_event(&w, &ev);
		yaml_event_delete(&ev);
	}
	walk_release(&w);
	yaml_parser_delete(&parser);
	return st;
}

/* Would a plain YAML scalar read back as something other than this string? */
static bool
needs_quotes(const char *s)
{
	static const char *const special[] = {
		"", "~", "null", "Null", "NULL", "true", "True", "TRUE", "false",
		"False", "FALSE", "yes", "Yes", "no", "No", "on", "On", "off", "Off",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(special); i++)
		if (strcmp(s, special[i]) == 0)
			return true;
	if (strchr("-?:,[]{}#&*!|>'\"%@` ", s[0]) || isspace((unsigned char)s[strlen(s) - 1]))
		return true;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == '#' || (*s == ':' && (s[1] == ' ' || s[1] == '\0')))
			return true;
	return false;
}

void
yaml_scalar(struct buf *out, const char *s)
{
	if (!needs_quotes(s)) {
		buf_adds(out, s);
		return;
	}
	buf_addc(out, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			buf_addf(out, "\\%c", c);
		else if (c == '\n')
			buf_adds(out, "\\n");
		else if (c == '\t')
			buf_adds(out, "\\t");
		else if (c < 0x20)
			buf_addf(out, "\\x%02x", c);
		else
			buf_addc(out, (char)c);
	}
	buf_addc(out, '"');
}
