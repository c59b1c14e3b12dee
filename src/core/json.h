/*
 * The cJSON wrapper: parsing user JSON with a useful error, and writing
 * JSON strings. The rest of the code does not call cJSON for these.
 */
#ifndef IF_JSON_H
#define IF_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/status.h"

/* Append s as a JSON string literal (quotes included). */
void json_escape(struct buf *out, const char *s);

/*
 * Members of a JSON object being written into out (after its '{'): the
 * comma comes by itself. A NULL string is null; json_kv_raw appends JSON
 * text as it is (NULL: null).
 */
void json_key(struct buf *out, const char *key);
void json_kv_str(struct buf *out, const char *key, const char *value);
void json_kv_int(struct buf *out, const char *key, long long value);
void json_kv_raw(struct buf *out, const char *key, const char *json);

/*
 * Check that text is one JSON value. On failure: ST_BAD_JSON, and e names
 * what (e.g. "payload"), the line, column and a snippet at the position.
 */
enum status json_check(const char *text, const char *what, struct err *e);

/*
 * Canonical form of a JSON text: object keys sorted by their UTF-8 bytes,
 * no insignificant white space, strings escaped as json_escape does,
 * integral numbers without fraction or exponent, others with %.17g. The
 * same value always gives the same bytes, so a hash over it is stable.
 */
enum status json_canonical(const char *text, struct buf *out, struct err *e);

/* The same, from an already parsed cJSON node (for core modules that parse). */
struct cJSON;
void json_canonical_node(const struct cJSON *node, struct buf *out);

/*
 * Add a string member to a JSON object given as text (NULL: a new object);
 * the result is canonical. ST_BAD_JSON when json is not an object.
 */
enum status json_with_member(const char *json, const char *key, const char *value,
			     struct buf *out, struct err *e);

/* Is s a JSON number literal (as strtod reads it, finite)? */
bool json_is_number(const char *s);

#endif
