/* JSON helpers over cJSON: see json.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/json.h"

void
json_escape(struct buf *out, const char *s)
{
	buf_addc(out, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		size_t run = 0;

		/* Characters that need no escape go in one copy (hashes, ids, text). */
		while (s[run] && (unsigned char)s[run] >= 0x20 && s[run] != '"' && s[run] != '\\')
			run++;
		if (run) {
			buf_add(out, s, run);
			s += run - 1;
			continue;
		}
		switch (c) {
		case '"': buf_adds(out, "\\\""); break;
		case '\\': buf_adds(out, "\\\\"); break;
		case '\n': buf_adds(out, "\\n"); break;
		case '\r': buf_adds(out, "\\r"); break;
		case '\t': buf_adds(out, "\\t"); break;
		default:
			if (c < 0x20)
				buf_addf(out, "\\u%04x", c);
			else
				buf_addc(out, (char)c);
		}
	}
	buf_addc(out, '"');
}

void
json_key(struct buf *out, const char *key)
{
	if (out->len && out->s[out->len - 1] != '{' && out->s[out->len - 1] != '[')
		buf_addc(out, ',');
	json_escape(out, key);
	buf_addc(out, ':');
}

void
json_kv_str(struct buf *out, const char *key, const char *value)
{
	json_key(out, key);
	if (value)
		json_escape(out, value);
	else
		buf_adds(out, "null");
}

/* printf's %lld without printf: entries are hashed by the million. */
static void
add_int(struct buf *out, long long value)
{
	char digits[24], *p = digits + sizeof digits;
	unsigned long long u = value < 0 ? 0ULL - (unsigned long long)value : (unsigned long long)value;

	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (value < 0)
		*--p = '-';
	buf_add(out, p, (size_t)(digits + sizeof digits - p));
}

void
json_kv_int(struct buf *out, const char *key, long long value)
{
	json_key(out, key);
	add_int(out, value);
}

void
json_kv_raw(struct buf *out, const char *key, const char *json)
{
	json_key(out, key);
	buf_adds(out, json ? json : "null");
}

enum status
json_check(const char *text, const char *what, struct err *e)
{
	const char *end = NULL, *p, *line_start = text;
	cJSON *j = cJSON_ParseWithOpts(text, &end, true);
	int line = 1;
	char snippet[24];
	size_t i;

	if (j) {
		cJSON_Delete(j);
		return ST_OK;
	}
	if (end == NULL)
		end = text + strlen(text);
	for (p = text; p < end; p++) {
		if (*p == '\n') {
			line++;
			line_start = p + 1;
		}
	}
	for (i = 0; i < sizeof snippet - 1 && end[i] && end[i] != '\n'; i++)
		snippet[i] = end[i];
	snippet[i] = '\0';
	return err_set(e, ST_BAD_JSON, "%s: invalid JSON at line %d, column %d, near '%s'",
		       what, line, (int)(end - line_start) + 1, *end ? snippet : "(end of input)");
}

static int
cmp_keys(const void *a, const void *b)
{
	return strcmp((*(cJSON *const *)a)->string, (*(cJSON *const *)b)->string);
}

static void
canon(const cJSON *v, struct buf *out)
{
	const cJSON *c;
	cJSON **kids;
	size_t n = 0, i;

	if (cJSON_IsObject(v)) {
		cJSON_ArrayForEach(c, v)
			n++;
		kids = calloc(n ? n : 1, sizeof *kids);
		n = 0;
		cJSON_ArrayForEach(c, v)
			kids[n++] = (cJSON *)c;
		qsort(kids, n, sizeof *kids, cmp_keys);
		buf_addc(out, '{');
		for (i = 0; i < n; i++) {
			if (i)
				buf_addc(out, ',');
			json_escape(out, kids[i]->string);
			buf_addc(out, ':');
			canon(kids[i], out);
		}
		buf_addc(out, '}');
		free(kids);
	} else if (cJSON_IsArray(v)) {
		buf_addc(out, '[');
		i = 0;
		cJSON_ArrayForEach(c, v) {
			if (i++)
				buf_addc(out, ',');
			canon(c, out);
		}
		buf_addc(out, ']');
	} else if (cJSON_IsString(v)) {
		json_escape(out, v->valuestring);
	} else if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;
		if (fabs(d) < 9007199254740992.0 && d == (double)(long long)d)	/* cast only in range */
			add_int(out, (long long)d);
		else
			buf_addf(out, "%.17g", d);
	} else if (cJSON_IsBool(v)) {
		buf_adds(out, cJSON_IsTrue(v) ? "true" : "false");
	} else {
		buf_adds(out, "null");
	}
}

void
json_canonical_node(const struct cJSON *node, struct buf *out)
{
	canon(node, out);
}

enum status
json_canonical(const char *text, struct buf *out, struct err *e)
{
	cJSON *j;
	enum status st = json_check(text, "JSON", e);

	if (st != ST_OK)
		return st;
	j = cJSON_Parse(text);
	canon(j, out);
	cJSON_Delete(j);
	return ST_OK;
}

enum status
json_with_member(const char *json, const char *key, const char *value, struct buf *out,
		 struct err *e)
{
	cJSON *o = json ? cJSON_Parse(json) : cJSON_CreateObject();

	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return err_set(e, ST_BAD_JSON, "payload must be a JSON object to carry '%s'", key);
	}
	cJSON_DeleteItemFromObjectCaseSensitive(o, key);
	cJSON_AddStringToObject(o, key, value);
	canon(o, out);
	cJSON_Delete(o);
	return ST_OK;
}

bool
json_is_number(const char *s)
{
	char *end;
	double d;

	if (*s == '\0' || *s == '+' || *s == ' ' || (s[0] == '0' && s[1] >= '0' && s[1] <= '9'))
		return false;
	d = strtod(s, &end);
	return *end == '\0' && isfinite(d) && strspn(s, "-0123456789.eE+") == strlen(s);
}
