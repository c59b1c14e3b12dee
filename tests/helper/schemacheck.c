/*
 * schemacheck: check JSON read from standard input against a JSON Schema
 * (draft 2020-12, the subset schemas/ uses), with the strict reader ifctl
 * itself uses.
 *
 *	schemacheck [-l] SCHEMA[#/$defs/NAME] [PATH]
 *
 * A fragment checks against one of the schema's definitions (a record kept
 * under $defs, as swarm-profile's record and state).
 * PATH picks what is checked: "" the document, "name" a member of it,
 * "[]" each item of it, "name[]" each item of a member. With -l every line
 * of the input is one document. Keywords: type (one or a list), properties,
 * required, additionalProperties (false or a schema), items, enum, const,
 * minimum, maximum, minItems, format "date-time" (RFC 3339), $ref to
 * "#/$defs/NAME" or "#"; $schema, $id, $defs, title and description are notes.
 * Any other keyword is an error in the schema, so a typo cannot pass.
 *
 * Exit 0 when everything conforms; else one line per failure on stderr,
 * naming the place ("/chain/3/attempts") and the rule, and exit 1.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/json.h"
#include "core/util.h"

static const struct json_value *schema_root;
static int failures;

static void fail(const char *where, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Say what does not conform, and where; count it. */
static void
fail(const char *where, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "schemacheck: %s: ", *where ? where : "/");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	failures++;
}

static const char *const type_names[] = {
	[JSON_NULL] = "null", [JSON_FALSE] = "boolean", [JSON_TRUE] = "boolean",
	[JSON_NUMBER] = "number", [JSON_STRING] = "string", [JSON_ARRAY] = "array",
	[JSON_OBJECT] = "object",
};

/* Does v have the type named t ("integer": a number without a fraction)? */
static bool
has_type(const struct json_value *v, const char *t)
{
	if (strcmp(t, "integer") == 0)
		return v->type == JSON_NUMBER && v->num == trunc(v->num);
	return strcmp(type_names[v->type], t) == 0;
}

static bool
type_ok(const struct json_value *v, const struct json_value *type)
{
	size_t i;

	if (type->type == JSON_STRING)
		return has_type(v, type->str);
	for (i = 0; i < type->len; i++)
		if (has_type(v, type->kids[i].str))
			return true;
	return false;
}

/* Are two values equal as JSON (members in any order)? */
static bool
same(const struct json_value *a, const struct json_value *b)
{
	struct buf x = BUF_INIT, y = BUF_INIT;
	bool eq;

	json_canonical_value(a, &x);
	json_canonical_value(b, &y);
	eq = strcmp(x.s, y.s) == 0;
	buf_release(&x);
	buf_release(&y);
	return eq;
}

/* n digits at s. */
static bool
digits(const char *s, int n)
{
	for (; n > 0; n--, s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* RFC 3339 date-time: 2026-01-02T03:04:05[.fff](Z|+hh:mm|-hh:mm). */
static bool
date_time(const char *s)
{
	if (!digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' ||
	    !digits(s + 8, 2) || (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2) ||
	    s[13] != ':' || !digits(s + 14, 2) || s[16] != ':' || !digits(s + 17, 2))
		return false;
	s += 19;
	if (*s == '.') {
		if (!isdigit((unsigned char)*++s))
			return false;
		while (isdigit((unsigned char)*s))
			s++;
	}
	if (*s == 'Z' || *s == 'z')
		return s[1] == '\0';
	return (*s == '+' || *s == '-') && digits(s + 1, 2) && s[3] == ':' && digits(s + 4, 2) &&
	       s[6] == '\0';
}

static void check(const struct json_value *v, const struct json_value *schema, const char *where);

/* The schema "#/$defs/NAME" (or "#", the whole document) names. */
static const struct json_value *
resolve(const char *ref, const char *where)
{
	const struct json_value *defs = json_member(schema_root, "$defs"), *s = NULL;

	if (strcmp(ref, "#") == 0)
		s = schema_root;
	else if (strncmp(ref, "#/$defs/", 8) == 0 && defs)
		s = json_member(defs, ref + 8);
	if (s == NULL)
		fail(where, "schema: unknown $ref '%s'", ref);
	return s;
}

static void
check_object(const struct json_value *v, const struct json_value *schema, const char *where)
{
	const struct json_value *props = json_member(schema, "properties"),
				*req = json_member(schema, "required"),
				*extra = json_member(schema, "additionalProperties"), *p;
	size_t i;

	for (i = 0; req && i < req->len; i++)
		if (json_member(v, req->kids[i].str) == NULL)
			fail(where, "required member '%s' is missing", req->kids[i].str);
	for (i = 0; i < v->len; i++) {
		char *at = xasprintf("%s/%s", where, v->kids[i].key);
		p = props ? json_member(props, v->kids[i].key) : NULL;
		if (p)
			check(&v->kids[i], p, at);
		else if (extra && extra->type == JSON_FALSE)
			fail(where, "member '%s' is not in the schema", v->kids[i].key);
		else if (extra && extra->type == JSON_OBJECT)
			check(&v->kids[i], extra, at);
		free(at);
	}
}

static void
check_array(const struct json_value *v, const struct json_value *schema, const char *where)
{
	const struct json_value *items = json_member(schema, "items"),
				*min = json_member(schema, "minItems");
	size_t i;

	if (min && (double)v->len < min->num)
		fail(where, "%s", "too few items");
	for (i = 0; items && i < v->len; i++) {
		char *at = xasprintf("%s/%zu", where, i);
		check(&v->kids[i], items, at);
		free(at);
	}
}

static const char *const known[] = {
	"$schema", "$id", "$defs", "$ref", "title", "description", "type", "properties",
	"required", "additionalProperties", "items", "enum", "const", "minimum", "maximum",
	"minItems", "format", "pattern", "exclusiveMinimum", "exclusiveMaximum", "maxItems",
	"minLength", "maxLength", "uniqueItems", "$comment",
};

/* Check v against schema; failures are counted and printed. */
static void
check(const struct json_value *v, const struct json_value *schema, const char *where)
{
	const struct json_value *k;
	size_t i, j;
	bool found;

	for (i = 0; i < schema->len; i++) {
		for (j = 0, found = false; j < ARRAY_SIZE(known) && !found; j++)
			found = strcmp(schema->kids[i].key, known[j]) == 0;
		if (!found)
			fail(where, "schema: keyword '%s' is not supported", schema->kids[i].key);
	}
	if ((k = json_member(schema, "$ref")) && (k = resolve(k->str, where)))
		check(v, k, where);
	if ((k = json_member(schema, "type")) && !type_ok(v, k)) {
		fail(where, "a %s where the schema wants another type", type_names[v->type]);
		return;
	}
	if ((k = json_member(schema, "enum"))) {
		for (i = 0, found = false; i < k->len && !found; i++)
			found = same(v, &k->kids[i]);
		if (!found)
			fail(where, "%s", "value is not one of the enum");
	}
	if ((k = json_member(schema, "const")) && !same(v, k))
		fail(where, "%s", "value is not the const");
	if (v->type == JSON_NUMBER && (k = json_member(schema, "minimum")) && v->num < k->num)
		fail(where, "%s", "number below the minimum");
	if (v->type == JSON_NUMBER && (k = json_member(schema, "maximum")) && v->num > k->num)
		fail(where, "%s", "number above the maximum");
	if (v->type == JSON_STRING && (k = json_member(schema, "format")) &&
	    strcmp(k->str, "date-time") == 0 && !date_time(v->str))
		fail(where, "'%s' is not an RFC 3339 date-time", v->str);
	if (v->type == JSON_OBJECT)
		check_object(v, schema, where);
	if (v->type == JSON_ARRAY)
		check_array(v, schema, where);
}

/* Check the part of doc that path picks. */
static void
check_path(const struct json_value *doc, const char *path, const struct json_value *schema)
{
	size_t n = strlen(path), i;
	bool each = n >= 2 && strcmp(path + n - 2, "[]") == 0;
	char *name = xstrndup(path, each ? n - 2 : n), *at;
	const struct json_value *v = *name ? json_member(doc, name) : doc;

	if (v == NULL) {
		fail("", "member '%s' is missing", name);
	} else if (!each) {
		at = xasprintf("%s%s", *name ? "/" : "", name);
		check(v, schema, at);
		free(at);
	} else if (v->type != JSON_ARRAY) {
		fail(name, "%s", "not an array");
	} else {
		for (i = 0; i < v->len; i++) {
			at = xasprintf("%s%s/%zu", *name ? "/" : "", name, i);
			check(&v->kids[i], schema, at);
			free(at);
		}
	}
	free(name);
}

/* Parse one document and check it; a parse failure counts as one. */
static void
check_text(const char *text, size_t len, const char *path, const struct json_value *schema)
{
	struct json_doc doc = JSON_DOC_INIT;
	struct err e = ERR_INIT;

	if (json_parse(text, len, "input", &doc, &e) != ST_OK)
		fail("", "%s", e.msg);
	else
		check_path(doc.root, path, schema);
	json_doc_release(&doc);
}

int
main(int argc, char **argv)
{
	struct json_doc sdoc = JSON_DOC_INIT;
	struct err e = ERR_INIT;
	char *schema = NULL, *text = NULL, *line, *save = NULL, *frag;
	const struct json_value *top;
	size_t len = 0, lines = 0;
	int lflag = argc > 1 && strcmp(argv[1], "-l") == 0, c;
	FILE *f;

	if (argc < 2 + lflag || argc > 3 + lflag) {
		fprintf(stderr, "usage: schemacheck [-l] SCHEMA[#/$defs/NAME] [PATH]\n");
		return 2;
	}
	if ((frag = strchr(argv[1 + lflag], '#')) != NULL)
		*frag = '\0';
	if (read_file(argv[1 + lflag], 1 << 20, READ_TEXT, &schema, NULL, &e) != ST_OK ||
	    json_parse(schema, strlen(schema), argv[1 + lflag], &sdoc, &e) != ST_OK) {
		fprintf(stderr, "schemacheck: %s\n", e.msg);
		return 2;
	}
	schema_root = sdoc.root;
	top = sdoc.root;
	if (frag) {
		*frag = '#';
		if ((top = resolve(frag, "")) == NULL) {
			fprintf(stderr, "schemacheck: no definition '%s'\n", frag);
			return 2;
		}
	}
	f = open_memstream(&text, &len);
	if (f == NULL)
		return 2;
	while ((c = getchar()) != EOF)
		fputc(c, f);
	fclose(f);
	if (!lflag) {
		check_text(text, len, argc > 2 ? argv[2] : "", top);
	} else {
		for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			lines++;
			check_text(line, strlen(line), argc > 3 ? argv[3] : "", top);
		}
		if (lines == 0)
			fail("", "%s", "no lines");
	}
	free(text);
	free(schema);
	json_doc_release(&sdoc);
	return failures != 0;
}
