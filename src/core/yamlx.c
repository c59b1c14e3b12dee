/* libyaml wrapper: see yamlx.h. */
#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include <yaml.h>

#include "core/util.h"
#include "core/yamlx.h"

static enum status walk(yaml_document_t *doc, yaml_node_t *node,
			struct buf *path, yaml_leaf_fn fn, void *arg, struct err *e);

static enum status
walk_mapping(yaml_document_t *doc, yaml_node_t *node, struct buf *path,
	     yaml_leaf_fn fn, void *arg, struct err *e)
{
	yaml_node_pair_t *pair;
	size_t keep = path->len;
	enum status st = ST_OK;

	for (pair = node->data.mapping.pairs.start;
	     pair < node->data.mapping.pairs.top && st == ST_OK; pair++) {
		yaml_node_t *k = yaml_document_get_node(doc, pair->key);
		yaml_node_t *v = yaml_document_get_node(doc, pair->value);

		if (k == NULL || k->type != YAML_SCALAR_NODE)
			return err_set(e, ST_BAD_YAML, "line %zu: a key must be a plain word",
				       node->start_mark.line + 1);
		if (keep)
			buf_addc(path, '.');
		buf_add(path, k->data.scalar.value, k->data.scalar.length);
		st = walk(doc, v, path, fn, arg, e);
		buf_truncate(path, keep);
	}
	return st;
}

static enum status
walk(yaml_document_t *doc, yaml_node_t *node, struct buf *path,
     yaml_leaf_fn fn, void *arg, struct err *e)
{
	int line = (int)node->start_mark.line + 1;

	switch (node->type) {
	case YAML_MAPPING_NODE:
		return walk_mapping(doc, node, path, fn, arg, e);
	case YAML_SCALAR_NODE:
		if (path->len == 0)
			return err_set(e, ST_BAD_YAML, "line %d: expected a mapping of keys, "
				       "found a single value", line);
		return fn(arg, path->s, (const char *)node->data.scalar.value, line, e);
	default:
		return err_set(e, ST_BAD_YAML, "line %d: %s: expected a value or a mapping, "
			       "found a list", line, path->len ? path->s : "(top)");
	}
}

enum status
yaml_flatten(const char *text, size_t len, yaml_leaf_fn fn, void *arg, struct err *e)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	struct buf path = BUF_INIT;
	enum status st;

	if (!yaml_parser_initialize(&parser))
		return err_set(e, ST_NOMEM, "cannot initialise the YAML parser");
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		st = err_set(e, ST_BAD_YAML, "line %zu: %s%s%s",
			     parser.problem_mark.line + 1,
			     parser.problem ? parser.problem : "syntax error",
			     parser.context ? " " : "", parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		return st;
	}
	root = yaml_document_get_root_node(&doc);
	if (root == NULL || (root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0))
		st = ST_OK;
	else
		st = walk(&doc, root, &path, fn, arg, e);
	buf_release(&path);
	yaml_document_delete(&doc);
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
