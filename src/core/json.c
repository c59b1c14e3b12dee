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
