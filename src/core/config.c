/* Configuration table and layering: see config.h. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/config.h"
#include "core/json.h"
#include "core/util.h"
#include "core/yamlx.h"

#define CFG_ROW(id, name, type, def, min, max, choices, env, help) \
	{ name, type, def, min, max, choices, env, help },
static const struct cfg_key cfg_keys[] = { CONFIG_TABLE(CFG_ROW) };
#undef CFG_ROW

_Static_assert(ARRAY_SIZE(cfg_keys) == CK__COUNT, "config table and enum disagree");

static const char *const type_names[] = {
	[CFG_STRING] = "string", [CFG_INT] = "integer", [CFG_BOOL] = "boolean",
	[CFG_ENUM] = "enum", [CFG_PATH] = "path",
};
static const char *const source_names[] = {
	[CFG_SRC_DEFAULT] = "default", [CFG_SRC_FILE] = "file",
	[CFG_SRC_ENV] = "env", [CFG_SRC_FLAG] = "flag",
};

const struct cfg_key *config_key(enum cfg_id id) { return &cfg_keys[id]; }
const char *config_type_name(enum cfg_type t) { return type_names[t]; }
const char *config_source_name(enum cfg_source s) { return source_names[s]; }

static int
key_index(const char *name)
{
	size_t i;

	for (i = 0; i < CK__COUNT; i++)
		if (strcmp(cfg_keys[i].name, name) == 0)
			return (int)i;
	return -1;
}

const struct cfg_key *
config_key_find(const char *name)
{
	int i = key_index(name);

	return i < 0 ? NULL : &cfg_keys[i];
}

const char *
config_key_suggest(const char *name)
{
	const char *best = NULL;
	size_t i, d, bestd = (size_t)-1;

	for (i = 0; i < CK__COUNT; i++) {
		d = edit_distance(name, cfg_keys[i].name);
		if (d < bestd) {
			bestd = d;
			best = cfg_keys[i].name;
		}
	}
	/* Only suggest what is plausibly a typo: a third of the name. */
	return bestd <= strlen(name) / 3 + 1 ? best : NULL;
}

void
config_init(struct config *c)
{
	size_t i;

	memset(c, 0, sizeof *c);
	for (i = 0; i < CK__COUNT; i++)
		c->value[i] = xstrdup(cfg_keys[i].def);
}

void
config_release(struct config *c)
{
	size_t i;

	for (i = 0; i < CK__COUNT; i++)
		free(c->value[i]);
	free(c->file);
	memset(c, 0, sizeof *c);
}

static const char *const bool_true[] = { "true", "yes", "on", "1" };
static const char *const bool_false[] = { "false", "no", "off", "0" };

static int
parse_bool(const char *s)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bool_true); i++) {
		if (strcasecmp(s, bool_true[i]) == 0)
			return 1;
		if (strcasecmp(s, bool_false[i]) == 0)
			return 0;
	}
	return -1;
}

static bool
enum_has(const char *choices, const char *s)
{
	size_t n = strlen(s);
	const char *p = choices;

	while (p) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);
		if (len == n && strncmp(p, s, n) == 0)
			return true;
		p = bar ? bar + 1 : NULL;
	}
	return false;
}

enum status
config_check_value(const struct cfg_key *k, const char *text, struct err *e)
{
	int64_t v;

	switch (k->type) {
	case CFG_INT:
		if (!parse_int64(text, &v))
			return err_set(e, ST_CONFIG_VALUE, "%s: '%s' is not an integer", k->name, text);
		if (v < k->min)
			return err_set(e, ST_CONFIG_VALUE, "%s: %s is below the minimum %lld",
				       k->name, text, (long long)k->min);
		if (v > k->max)
			return err_set(e, ST_CONFIG_VALUE, "%s: %s is above the maximum %lld",
				       k->name, text, (long long)k->max);
		return ST_OK;
	case CFG_BOOL:
		if (parse_bool(text) < 0)
			return err_set(e, ST_CONFIG_VALUE, "%s: '%s' is not true or false", k->name, text);
		return ST_OK;
	case CFG_ENUM:
		if (!enum_has(k->choices, text))
			return err_set(e, ST_CONFIG_VALUE, "%s: '%s' is not one of %s",
				       k->name, text, k->choices);
		return ST_OK;
	case CFG_STRING:
	case CFG_PATH:
		return ST_OK;
	}
	return ST_OK;
}

enum status
config_set(struct config *c, enum cfg_id id, const char *text, enum cfg_source src,
	   struct err *e)
{
	enum status st = config_check_value(&cfg_keys[id], text, e);

	if (st != ST_OK)
		return st;
	free(c->value[id]);
	c->value[id] = xstrdup(text);
	c->source[id] = src;
	c->line[id] = 0;
	return ST_OK;
}

/* State of one file load: values are staged here until the file is valid. */
struct file_load {
	const char *path;
	char *value[CK__COUNT];
	int line[CK__COUNT];
	struct cfg_problems *problems;
};

static void
problem_add(struct cfg_problems *p, const struct err *e)
{
	xgrow(&p->v, &p->cap, p->n + 1, sizeof *p->v);
	p->v[p->n].code = e->code;
	memcpy(p->v[p->n].msg, e->msg, sizeof e->msg);
	p->n++;
}

void
cfg_problems_release(struct cfg_problems *p)
{
	free(p->v);
	memset(p, 0, sizeof *p);
}

static enum status
file_leaf(void *arg, const char *path, const char *value, int line, struct err *e)
{
	struct file_load *fl = arg;
	int i = key_index(path);
	enum status st;
	struct err le = ERR_INIT;

	if (i < 0) {
		const char *hint = config_key_suggest(path);
		st = err_set(&le, ST_CONFIG_KEY, "line %d: unknown key '%s'%s%s%s", line, path,
			     hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
	} else if (fl->value[i]) {
		st = err_set(&le, ST_CONFIG_KEY, "line %d: %s: set twice (first at line %d)",
			     line, path, fl->line[i]);
	} else if ((st = config_check_value(&cfg_keys[i], value, &le)) != ST_OK) {
		err_prefix(&le, "line %d", line);
	} else {
		fl->value[i] = xstrdup(value);
		fl->line[i] = line;
		return ST_OK;
	}
	err_prefix(&le, "%s", fl->path);
	if (fl->problems == NULL) {
		*e = le;
		return st;
	}
	problem_add(fl->problems, &le);
	if (fl->problems->n < CONFIG_MAX_PROBLEMS)
		return ST_OK;	/* keep walking: validate lists every problem */
	*e = le;
	return st;	/* enough: a hostile file could have a hundred thousand */
}

enum status
config_load_file(struct config *c, const char *path, struct cfg_problems *problems,
		 struct err *e)
{
	struct file_load fl = { .path = path, .problems = problems };
	char *text = NULL;
	size_t len, i;
	enum status st;

	st = read_file(path, READ_MAX_CONFIG, READ_TEXT, &text, &len, e);
	if (st != ST_OK)
		return st;
	st = yaml_flatten(text, len, file_leaf, &fl, e);
	if (st == ST_BAD_YAML) {
		e->code = ST_CONFIG_SYNTAX;
		st = ST_CONFIG_SYNTAX;
		err_prefix(e, "%s", path);
		if (problems)
			problem_add(problems, e);
	}
	if (st == ST_OK && problems && problems->n) {
		st = problems->v[0].code;
		err_set(e, st, "%s", problems->v[0].msg);
	}
	for (i = 0; i < CK__COUNT; i++) {
		if (st == ST_OK && fl.value[i]) {
			free(c->value[i]);
			c->value[i] = fl.value[i];
			c->source[i] = CFG_SRC_FILE;
			c->line[i] = fl.line[i];
		} else {
			free(fl.value[i]);
		}
	}
	if (st == ST_OK) {
		free(c->file);
		c->file = xstrdup(path);
	}
	free(text);
	return st;
}

enum status
config_load_env(struct config *c, struct err *e)
{
	size_t i;

	for (i = 0; i < CK__COUNT; i++) {
		const char *v = getenv(cfg_keys[i].env);
		enum status st;

		if (v == NULL)
			continue;
		st = config_set(c, (enum cfg_id)i, v, CFG_SRC_ENV, e);
		if (st != ST_OK) {
			err_prefix(e, "environment %s", cfg_keys[i].env);
			return st;
		}
	}
	return ST_OK;
}

/* $VAR/suffix when VAR is set and absolute, else $HOME/fallback/suffix. */
static char *
xdg_path(const char *var, const char *fallback, const char *suffix)
{
	const char *v = getenv(var), *home = getenv("HOME");

	if (v && v[0] == '/')
		return xasprintf("%s/%s", v, suffix);
	return xasprintf("%s/%s/%s", home && *home ? home : "/tmp", fallback, suffix);
}

char *
config_default_path(void)
{
	return xdg_path("XDG_CONFIG_HOME", ".config", "ifctl/config.yaml");
}

/* Expand a leading "~/" in a path value. */
static char *
expand_path(const char *p)
{
	const char *home = getenv("HOME");

	if (p[0] == '~' && p[1] == '/' && home)
		return xasprintf("%s%s", home, p + 1);
	return xstrdup(p);
}

char *
config_home(const struct config *c)
{
	const char *h = c->value[CK_HOME];

	if (h[0])
		return expand_path(h);
	return xdg_path("XDG_DATA_HOME", ".local/share", "ifctl");
}

char *
config_nats_url(const struct config *c)
{
	if (c->value[CK_NATS_URL][0])
		return xstrdup(c->value[CK_NATS_URL]);
	return xasprintf("nats://%s:%s", c->value[CK_SERVER_HOST], c->value[CK_SERVER_PORT]);
}

const char *
cfg_str(const struct config *c, enum cfg_id id)
{
	return c->value[id];
}

int64_t
cfg_int(const struct config *c, enum cfg_id id)
{
	int64_t v = 0;

	parse_int64(c->value[id], &v);
	return v;
}

bool
cfg_bool(const struct config *c, enum cfg_id id)
{
	return parse_bool(c->value[id]) == 1;
}

void
config_template(struct buf *out)
{
	const char *section = NULL;
	size_t i;

	buf_adds(out, "# ifctl configuration. Every key is shown at its default, commented out.\n"
		 "# Precedence: flags > IF_* environment > this file > defaults.\n"
		 "# See ifctl-config(5).\n");
	for (i = 0; i < CK__COUNT; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		const char *dot = strchr(k->name, '.');
		size_t slen = dot ? (size_t)(dot - k->name) : 0;

		if (dot && (section == NULL || strncmp(section, k->name, slen + 1) != 0)) {
			buf_addf(out, "\n#%.*s:\n", (int)slen, k->name);
			section = k->name;
		} else if (!dot) {
			buf_adds(out, "\n");
			section = NULL;
		}
		buf_addf(out, "#%s# %s (%s, env %s)\n", dot ? "  " : "", k->help,
			 type_names[k->type], k->env);
		buf_addf(out, "#%s%s: ", dot ? "  " : "", dot ? dot + 1 : k->name);
		yaml_scalar(out, k->def);
		buf_adds(out, "\n");
	}
}

/* Append the first n bytes of s as a JSON string. */
static void
json_escape_n(struct buf *out, const char *s, size_t n)
{
	char *t = xstrndup(s, n);

	json_escape(out, t);
	free(t);
}

/* One key's schema: {"type": ..., "default": ..., bounds, "description": ...}. */
static void
schema_key(struct buf *out, const struct cfg_key *k)
{
	static const char *const json_types[] = {
		[CFG_STRING] = "string", [CFG_INT] = "integer", [CFG_BOOL] = "boolean",
		[CFG_ENUM] = "string", [CFG_PATH] = "string",
	};

	buf_addf(out, "{\"type\": \"%s\", ", json_types[k->type]);
	if (k->type == CFG_INT)
		buf_addf(out, "\"minimum\": %lld, \"maximum\": %lld, \"default\": %s, ",
			 (long long)k->min, (long long)k->max, k->def);
	else if (k->type == CFG_BOOL)
		buf_addf(out, "\"default\": %s, ", k->def);
	else {
		buf_adds(out, "\"default\": ");
		json_escape(out, k->def);
		buf_adds(out, ", ");
	}
	if (k->type == CFG_ENUM) {
		const char *p = k->choices;
		buf_adds(out, "\"enum\": [");
		while (p) {
			const char *bar = strchr(p, '|');
			json_escape_n(out, p, bar ? (size_t)(bar - p) : strlen(p));
			buf_adds(out, bar ? ", " : "");
			p = bar ? bar + 1 : NULL;
		}
		buf_adds(out, "], ");
	}
	buf_adds(out, "\"description\": ");
	json_escape(out, k->help);
	buf_adds(out, "}");
}

void
config_schema(struct buf *out)
{
	size_t i, j;

	buf_adds(out, "{\n  \"$schema\": \"https://json-schema.org/draft/2020-12/schema\",\n"
		 "  \"title\": \"ifctl configuration (config.yaml)\",\n"
		 "  \"type\": \"object\",\n  \"additionalProperties\": false,\n"
		 "  \"properties\": {");
	for (i = 0; i < CK__COUNT; i++) {
		const char *dot = strchr(cfg_keys[i].name, '.');
		size_t slen = dot ? (size_t)(dot - cfg_keys[i].name) : 0;

		if (dot && i > 0 && strncmp(cfg_keys[i - 1].name, cfg_keys[i].name, slen + 1) == 0)
			continue;	/* section already written */
		buf_adds(out, i ? ",\n    " : "\n    ");
		if (!dot) {
			json_escape(out, cfg_keys[i].name);
			buf_adds(out, ": ");
			schema_key(out, &cfg_keys[i]);
			continue;
		}
		json_escape_n(out, cfg_keys[i].name, slen);
		buf_adds(out, ": {\"type\": \"object\", \"additionalProperties\": false, "
			 "\"properties\": {");
		for (j = i; j < CK__COUNT && strncmp(cfg_keys[j].name, cfg_keys[i].name, slen + 1) == 0; j++) {
			buf_adds(out, j > i ? ",\n      " : "\n      ");
			json_escape(out, cfg_keys[j].name + slen + 1);
			buf_adds(out, ": ");
			schema_key(out, &cfg_keys[j]);
		}
		buf_adds(out, "\n    }}");
	}
	buf_adds(out, "\n  }\n}\n");
}
