/* The JSON Schema interpreter: see jschema.h. */
#include <math.h>
#include <pthread.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jschema.h"
#include "core/util.h"

/*
 * A compiled pattern, found by the schema string it came from, with a small
 * memo of recent answers: records repeat the same values (capability names)
 * and regexec() is the costliest rule. The memo has its own lock, so a
 * loaded schema stays usable from any thread.
 */
#define MEMO_SLOTS 64
#define MEMO_LEN 64	/* longer strings are not kept */
struct jpattern {
	const struct json_value *src;
	regex_t re;
	pthread_mutex_t mu;
	struct { char s[MEMO_LEN + 1]; bool used, match; } memo[MEMO_SLOTS];
};

struct jschema {
	struct json_doc doc;
	struct jpattern *pat;
	size_t npat, patcap;
	char *what;
};

/* How a keyword's value is walked when the schema is loaded. */
enum kw_kind { KW_PLAIN, KW_SCHEMA, KW_SCHEMA_MAP, KW_PATTERN, KW_NOTE };

static const struct { const char *name; enum kw_kind kind; } keywords[] = {
	{ "type", KW_PLAIN }, { "required", KW_PLAIN }, { "enum", KW_PLAIN },
	{ "const", KW_PLAIN }, { "pattern", KW_PATTERN }, { "minimum", KW_PLAIN },
	{ "maximum", KW_PLAIN }, { "exclusiveMinimum", KW_PLAIN },
	{ "exclusiveMaximum", KW_PLAIN }, { "minItems", KW_PLAIN }, { "maxItems", KW_PLAIN },
	{ "minLength", KW_PLAIN }, { "maxLength", KW_PLAIN }, { "uniqueItems", KW_PLAIN },
	{ "additionalProperties", KW_SCHEMA }, { "items", KW_SCHEMA },
	{ "properties", KW_SCHEMA_MAP }, { "$defs", KW_SCHEMA_MAP }, { "$ref", KW_PLAIN },
	{ "$schema", KW_NOTE }, { "$id", KW_NOTE }, { "$comment", KW_NOTE }, { "title", KW_NOTE },
	{ "description", KW_NOTE }, { "default", KW_NOTE }, { "examples", KW_NOTE },
	{ "format", KW_NOTE },
};

/* --- loading ------------------------------------------------------------ */

static enum status compile(struct jschema *s, const struct json_value *v, struct buf *ptr,
			   struct err *e);

/* Compile a pattern keyword's regular expression. */
static enum status
compile_pattern(struct jschema *s, const struct json_value *v, const char *ptr, struct err *e)
{
	struct jpattern *p;
	char msg[128];
	int rc;

	if (v->type != JSON_STRING)
		return err_set(e, ST_BAD_VALUE, "%s: %s: pattern is not a string", s->what, ptr);
	xgrow(&s->pat, &s->patcap, s->npat + 1, sizeof *s->pat);
	p = &s->pat[s->npat];
	if ((rc = regcomp(&p->re, v->str, REG_EXTENDED | REG_NOSUB)) != 0) {
		regerror(rc, &p->re, msg, sizeof msg);
		return err_set(e, ST_BAD_VALUE, "%s: %s: pattern '%s': %s", s->what, ptr, v->str, msg);
	}
	p->src = v;
	pthread_mutex_init(&p->mu, NULL);
	memset(p->memo, 0, sizeof p->memo);
	s->npat++;
	return ST_OK;
}

/* Check one keyword of a schema object and what it holds. */
static enum status
compile_kw(struct jschema *s, const struct json_value *m, struct buf *ptr, struct err *e)
{
	size_t k, i, mark = ptr->len;
	enum status st = ST_OK;

	for (k = 0; k < ARRAY_SIZE(keywords); k++)
		if (strcmp(keywords[k].name, m->key) == 0)
			break;
	if (k == ARRAY_SIZE(keywords))
		return err_set(e, ST_BAD_VALUE, "%s: %s: unknown keyword '%s'", s->what,
			       ptr->len ? ptr->s : "(root)", m->key);
	jpointer_add(ptr, m->key, m->keylen);
	switch (keywords[k].kind) {
	case KW_PATTERN:
		st = compile_pattern(s, m, ptr->s, e);
		break;
	case KW_SCHEMA:
		if (m->type != JSON_FALSE && m->type != JSON_TRUE)
			st = compile(s, m, ptr, e);
		break;
	case KW_SCHEMA_MAP:
		if (m->type != JSON_OBJECT) {
			st = err_set(e, ST_BAD_VALUE, "%s: %s is not an object", s->what, ptr->s);
			break;
		}
		for (i = 0; st == ST_OK && i < m->len; i++) {
			size_t at = ptr->len;
			jpointer_add(ptr, m->kids[i].key, m->kids[i].keylen);
			st = compile(s, &m->kids[i], ptr, e);
			buf_truncate(ptr, at);
		}
		break;
	default:
		break;
	}
	buf_truncate(ptr, mark);
	return st;
}

/* Check a schema object: known keywords only; compile its patterns. */
static enum status
compile(struct jschema *s, const struct json_value *v, struct buf *ptr, struct err *e)
{
	enum status st;
	size_t i;

	if (v->type != JSON_OBJECT)
		return err_set(e, ST_BAD_VALUE, "%s: %s: a schema must be an object", s->what,
			       ptr->len ? ptr->s : "(root)");
	for (i = 0; i < v->len; i++)
		if ((st = compile_kw(s, &v->kids[i], ptr, e)) != ST_OK)
			return st;
	return ST_OK;
}

enum status
jschema_parse(const char *text, size_t len, const char *what, struct jschema **out,
	      struct err *e)
{
	struct jschema *s = xcalloc(1, sizeof *s);
	struct buf ptr = BUF_INIT;
	enum status st;

	*out = NULL;
	s->what = xstrdup(what);
	if ((st = json_parse(text, len, what, &s->doc, e)) == ST_OK)
		st = compile(s, s->doc.root, &ptr, e);
	buf_release(&ptr);
	if (st != ST_OK) {
		jschema_free(s);
		return st;
	}
	*out = s;
	return ST_OK;
}

enum status
jschema_load(const char *name, struct jschema **out, struct err *e)
{
	size_t i;

	for (i = 0; jschema_embedded[i].name; i++)
		if (strcmp(jschema_embedded[i].name, name) == 0)
			return jschema_parse(jschema_embedded[i].text, strlen(jschema_embedded[i].text),
					     name, out, e);
	*out = NULL;
	return err_set(e, ST_NOT_FOUND, "no schema named '%s' in this build", name);
}

void
jschema_free(struct jschema *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->npat; i++) {
		regfree(&s->pat[i].re);
		pthread_mutex_destroy(&s->pat[i].mu);
	}
	free(s->pat);
	json_doc_release(&s->doc);
	free(s->what);
	free(s);
}

/* --- results ------------------------------------------------------------ */

void
jschema_result_release(struct jschema_result *r)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		free(r->v[i].pointer);
		free(r->v[i].msg);
	}
	free(r->v);
	memset(r, 0, sizeof *r);
}

void
jschema_result_add(struct jschema_result *r, const char *pointer, const char *rule,
		   const char *fmt, ...)
{
	struct jschema_error *x;
	struct buf m = BUF_INIT;
	va_list ap;

	if (r->n >= JSCHEMA_MAX_ERRORS) {
		r->more++;
		return;
	}
	buf_addf(&m, "%s: ", *pointer ? pointer : "(root)");
	va_start(ap, fmt);
	buf_vaddf(&m, fmt, ap);
	va_end(ap);
	if (rule)
		buf_addf(&m, " (%s)", rule);
	xgrow(&r->v, &r->cap, r->n + 1, sizeof *r->v);
	x = &r->v[r->n++];
	x->pointer = xstrdup(pointer);
	x->rule = rule;
	x->msg = buf_detach(&m);
}

enum status
jschema_result_err(const struct jschema_result *r, const char *what, struct err *e)
{
	size_t others = r->n + r->more - 1;

	if (r->n == 0)
		return ST_OK;
	if (others)
		return err_set(e, ST_BAD_VALUE, "%s: %s (and %zu more)", what, r->v[0].msg, others);
	return err_set(e, ST_BAD_VALUE, "%s: %s", what, r->v[0].msg);
}

void
jpointer_add(struct buf *ptr, const char *token, size_t len)
{
	size_t i;

	buf_addc(ptr, '/');
	for (i = 0; i < len; i++) {
		if (token[i] == '~')
			buf_adds(ptr, "~0");
		else if (token[i] == '/')
			buf_adds(ptr, "~1");
		else
			buf_addc(ptr, token[i]);
	}
}

/* --- validation --------------------------------------------------------- */

struct vctx {
	const struct jschema *s;
	struct jschema_result *r;
	struct buf ptr;
	int depth;
};

/* A value as an error shows it: canonical JSON, cut at 60 bytes. */
static void
shown(const struct json_value *v, struct buf *out)
{
	struct buf c = BUF_INIT;

	json_canonical_value(v, &c);
	if (c.len > 60) {
		buf_truncate(&c, 57);
		buf_adds(&c, "...");
	}
	buf_add(out, c.s, c.len);
	buf_release(&c);
}

/* Add an error about v at the current pointer. */
static void __attribute__((format(printf, 4, 5)))
fail(struct vctx *c, const struct json_value *v, const char *rule, const char *fmt, ...)
{
	struct buf m = BUF_INIT;
	va_list ap;

	if (v) {
		shown(v, &m);
		buf_addc(&m, ' ');
	}
	va_start(ap, fmt);
	buf_vaddf(&m, fmt, ap);
	va_end(ap);
	jschema_result_add(c->r, c->ptr.s, rule, "%s", m.s);
	buf_release(&m);
}

static const char *const type_names[] = {
	[JSON_NULL] = "null", [JSON_FALSE] = "boolean", [JSON_TRUE] = "boolean",
	[JSON_NUMBER] = "number", [JSON_STRING] = "string", [JSON_ARRAY] = "array",
	[JSON_OBJECT] = "object",
};

/* Is v of the JSON Schema type named t? */
static bool
type_is(const struct json_value *v, const char *t)
{
	if (strcmp(t, "integer") == 0)
		return v->type == JSON_NUMBER && (v->integer || v->num == floor(v->num));
	return strcmp(type_names[v->type], t) == 0;
}

static void
check_type(struct vctx *c, const struct json_value *v, const struct json_value *k)
{
	struct buf names = BUF_INIT;
	size_t i;

	if (k->type == JSON_STRING) {
		if (!type_is(v, k->str))
			fail(c, v, "type", "is not of type %s", k->str);
		return;
	}
	for (i = 0; k->type == JSON_ARRAY && i < k->len; i++) {
		if (k->kids[i].type == JSON_STRING && type_is(v, k->kids[i].str))
			goto out;
		buf_addf(&names, "%s%s", i ? " or " : "", k->kids[i].str);
	}
	fail(c, v, "type", "is not of type %s", names.s);
out:
	buf_release(&names);
}

/* Are two values equal as JSON (canonical forms; strings and numbers directly)? */
static bool
same(const struct json_value *a, const struct json_value *b)
{
	struct buf x = BUF_INIT, y = BUF_INIT;
	bool eq;

	if (a->type == JSON_STRING && b->type == JSON_STRING)
		return a->len == b->len && memcmp(a->str, b->str, a->len) == 0;
	if (a->type == JSON_NUMBER && b->type == JSON_NUMBER)
		return a->num == b->num;
	if (a->type != b->type && !((a->type == JSON_TRUE || a->type == JSON_FALSE) &&
				    (b->type == JSON_TRUE || b->type == JSON_FALSE)))
		return false;

	json_canonical_value(a, &x);
	json_canonical_value(b, &y);
	eq = x.len == y.len && memcmp(x.s, y.s, x.len) == 0;
	buf_release(&x);
	buf_release(&y);
	return eq;
}

static void
check_enum(struct vctx *c, const struct json_value *v, const struct json_value *k)
{
	struct buf list = BUF_INIT;
	size_t i;

	for (i = 0; i < k->len; i++)
		if (same(v, &k->kids[i]))
			return;
	for (i = 0; i < k->len && i < 12; i++) {
		buf_adds(&list, i ? ", " : "");
		shown(&k->kids[i], &list);
	}
	fail(c, v, "enum", "is not one of %s%s", list.s, k->len > 12 ? ", ..." : "");
	buf_release(&list);
}

/* Does the string v match p (a U+0000 inside never does)? */
static bool
pattern_match(struct jpattern *p, const struct json_value *v)
{
	unsigned h = 5381;
	size_t i;
	bool m;

	if (strlen(v->str) != v->len)
		return false;
	if (v->len > MEMO_LEN)
		return regexec(&p->re, v->str, 0, NULL, 0) == 0;
	for (i = 0; i < v->len; i++)
		h = h * 33 + (unsigned char)v->str[i];
	h %= MEMO_SLOTS;
	pthread_mutex_lock(&p->mu);
	if (p->memo[h].used && strcmp(p->memo[h].s, v->str) == 0) {
		m = p->memo[h].match;
		pthread_mutex_unlock(&p->mu);
		return m;
	}
	pthread_mutex_unlock(&p->mu);
	m = regexec(&p->re, v->str, 0, NULL, 0) == 0;
	pthread_mutex_lock(&p->mu);
	memcpy(p->memo[h].s, v->str, v->len + 1);
	p->memo[h].used = true;
	p->memo[h].match = m;
	pthread_mutex_unlock(&p->mu);
	return m;
}

static void
check_pattern(struct vctx *c, const struct json_value *v, const struct json_value *k)
{
	size_t i;

	if (v->type != JSON_STRING)
		return;
	for (i = 0; i < c->s->npat; i++)
		if (c->s->pat[i].src == k) {
			if (!pattern_match(&c->s->pat[i], v))
				fail(c, v, "pattern", "does not match %s", k->str);
			return;
		}
}

/* Numeric bounds: minimum, maximum, exclusiveMinimum, exclusiveMaximum. */
static void
check_bound(struct vctx *c, const struct json_value *v, const struct json_value *k)
{
	struct buf b = BUF_INIT;
	const char *name = k->key;

	if (v->type != JSON_NUMBER || k->type != JSON_NUMBER)
		return;
	json_add_number(&b, k->num);
	if (strcmp(name, "minimum") == 0 && v->num < k->num)
		fail(c, v, name, "is below the minimum %s", b.s);
	else if (strcmp(name, "maximum") == 0 && v->num > k->num)
		fail(c, v, name, "is above the maximum %s", b.s);
	else if (strcmp(name, "exclusiveMinimum") == 0 && v->num <= k->num)
		fail(c, v, name, "is not more than %s", b.s);
	else if (strcmp(name, "exclusiveMaximum") == 0 && v->num >= k->num)
		fail(c, v, name, "is not less than %s", b.s);
	buf_release(&b);
}

/* Code points of a UTF-8 string. */
static size_t
code_points(const struct json_value *v)
{
	size_t i, n = 0;

	for (i = 0; i < v->len; i++)
		n += ((unsigned char)v->str[i] & 0xc0) != 0x80;
	return n;
}

/* Counting bounds: minItems, maxItems, minLength, maxLength. */
static void
check_count(struct vctx *c, const struct json_value *v, const struct json_value *k)
{
	const char *name = k->key;
	bool items = strstr(name, "Items") != NULL, min = name[1] == 'i';
	size_t n;

	if (k->type != JSON_NUMBER || (items && v->type != JSON_ARRAY) ||
	    (!items && v->type != JSON_STRING))
		return;
	n = items ? v->len : code_points(v);
	if (min && (double)n < k->num)
		fail(c, v, name, "has %zu %s, fewer than %g", n, items ? "items" : "characters", k->num);
	else if (!min && (double)n > k->num)
		fail(c, items ? NULL : v, name, "has %zu %s, more than %g", n,
		     items ? "items" : "characters", k->num);
}

static void
check_unique(struct vctx *c, const struct json_value *v, const struct json_value *k)
{
	size_t i, j;

	if (v->type != JSON_ARRAY || k->type != JSON_TRUE)
		return;
	for (i = 0; i < v->len; i++)
		for (j = i + 1; j < v->len; j++)
			if (same(&v->kids[i], &v->kids[j])) {
				size_t at = c->ptr.len;
				char idx[24];
				snprintf(idx, sizeof idx, "%zu", j);
				jpointer_add(&c->ptr, idx, strlen(idx));
				fail(c, &v->kids[j], "uniqueItems", "repeats item %zu", i);
				buf_truncate(&c->ptr, at);
				return;
			}
}

static void
check_required(struct vctx *c, const struct json_value *v, const struct json_value *k)
{
	size_t i;

	if (v->type != JSON_OBJECT || k->type != JSON_ARRAY)
		return;
	for (i = 0; i < k->len; i++)
		if (k->kids[i].type == JSON_STRING && json_member(v, k->kids[i].str) == NULL)
			fail(c, NULL, "required", "member \"%s\" is missing", k->kids[i].str);
}

static void validate(struct vctx *c, const struct json_value *schema, const struct json_value *v);

/* Validate v as a member (name) or an item (index) of the value at the pointer. */
static void
validate_at(struct vctx *c, const struct json_value *schema, const struct json_value *v,
	    const char *name, size_t len)
{
	size_t at = c->ptr.len;

	jpointer_add(&c->ptr, name, len);
	validate(c, schema, v);
	buf_truncate(&c->ptr, at);
}

static void
check_items(struct vctx *c, const struct json_value *v, const struct json_value *k)
{
	char idx[24];
	size_t i;

	if (v->type != JSON_ARRAY || k->type != JSON_OBJECT)
		return;
	for (i = 0; i < v->len; i++) {
		snprintf(idx, sizeof idx, "%zu", i);
		validate_at(c, k, &v->kids[i], idx, strlen(idx));
	}
}

/* properties and additionalProperties of an object, together. */
static void
check_members(struct vctx *c, const struct json_value *schema, const struct json_value *v)
{
	const struct json_value *props = json_member(schema, "properties");
	const struct json_value *extra = json_member(schema, "additionalProperties");
	const struct json_value *sub;
	size_t i;

	if (v->type != JSON_OBJECT)
		return;
	for (i = 0; i < v->len; i++) {
		const struct json_value *m = &v->kids[i];
		sub = props && props->type == JSON_OBJECT ? json_member(props, m->key) : NULL;
		if (sub) {
			validate_at(c, sub, m, m->key, m->keylen);
		} else if (extra && extra->type == JSON_FALSE) {
			size_t at = c->ptr.len;
			jpointer_add(&c->ptr, m->key, m->keylen);
			fail(c, NULL, "additionalProperties", "is not an allowed member");
			buf_truncate(&c->ptr, at);
		} else if (extra && extra->type == JSON_OBJECT) {
			validate_at(c, extra, m, m->key, m->keylen);
		}
	}
}

/* The schema a $ref names: "#" or "#/$defs/NAME"; NULL when neither. */
static const struct json_value *
resolve(const struct jschema *s, const char *ref)
{
	const struct json_value *defs;

	if (strcmp(ref, "#") == 0)
		return s->doc.root;
	if (!has_prefix(ref, "#/$defs/"))
		return NULL;
	defs = json_member(s->doc.root, "$defs");
	return defs ? json_member(defs, ref + 8) : NULL;
}

static void
check_const(struct vctx *c, const struct json_value *v, const struct json_value *k)
{
	struct buf want = BUF_INIT;

	shown(k, &want);
	fail(c, v, "const", "is not %s", want.s);
	buf_release(&want);
}

/* Apply one keyword of schema to v. */
static void
apply(struct vctx *c, const struct json_value *k, const struct json_value *v)
{
	const struct json_value *target;
	const char *n = k->key;

	if (strcmp(n, "type") == 0)
		check_type(c, v, k);
	else if (strcmp(n, "enum") == 0 && k->type == JSON_ARRAY)
		check_enum(c, v, k);
	else if (strcmp(n, "const") == 0 && !same(v, k))
		check_const(c, v, k);
	else if (strcmp(n, "pattern") == 0)
		check_pattern(c, v, k);
	else if (strstr(n, "imum"))
		check_bound(c, v, k);
	else if (strcmp(n, "uniqueItems") == 0)
		check_unique(c, v, k);
	else if (strstr(n, "Items") || strstr(n, "Length"))
		check_count(c, v, k);
	else if (strcmp(n, "required") == 0)
		check_required(c, v, k);
	else if (strcmp(n, "items") == 0)
		check_items(c, v, k);
	else if (strcmp(n, "$ref") == 0 && k->type == JSON_STRING) {
		if ((target = resolve(c->s, k->str)) != NULL)
			validate(c, target, v);
		else
			fail(c, NULL, "$ref", "the schema's reference '%s' leads nowhere", k->str);
	}
}

static void
validate(struct vctx *c, const struct json_value *schema, const struct json_value *v)
{
	size_t i;

	if (schema->type == JSON_TRUE)
		return;
	if (schema->type != JSON_OBJECT || ++c->depth > JSON_DEPTH_MAX) {
		fail(c, NULL, NULL, "nested too deep for the schema");
		c->depth--;
		return;
	}
	for (i = 0; i < schema->len; i++)
		apply(c, &schema->kids[i], v);
	check_members(c, schema, v);
	c->depth--;
}

bool
jschema_validate(const struct jschema *s, const char *def, const struct json_value *v,
		 struct jschema_result *r)
{
	struct vctx c = { s, r, BUF_INIT, 0 };
	const struct json_value *schema = s->doc.root;
	size_t before = r->n + r->more;
	char ref[160];

	if (def) {
		snprintf(ref, sizeof ref, "#/$defs/%s", def);
		if ((schema = resolve(s, ref)) == NULL) {
			jschema_result_add(r, "", "$ref", "schema %s has no definition '%s'", s->what,
					   def);
			return false;
		}
	}
	validate(&c, schema, v);
	buf_release(&c.ptr);
	return r->n + r->more == before;
}

enum status
jschema_check(const struct jschema *s, const char *def, const struct json_value *v,
	      const char *what, struct err *e)
{
	struct jschema_result r = JSCHEMA_RESULT_INIT;
	enum status st;

	jschema_validate(s, def, v, &r);
	st = jschema_result_err(&r, what, e);
	jschema_result_release(&r);
	return st;
}
