/*
 * JSON as the fleet exchanges it: a strict reader, typed field readers,
 * and the canonical form every hash and every record is written in.
 *
 * Reading. Everything another client wrote is read as I-JSON (RFC 7493):
 * UTF-8 without invalid sequences or lone surrogates, no duplicate member
 * names, numbers within the range of an IEEE 754 double (and integers,
 * written without fraction or exponent, within +-(2^53 - 1): larger ones
 * lose digits and must travel as strings, except the exact canonical form
 * of a double, so that canonical text always reads back), and arrays and
 * objects nested at most
 * JSON_DEPTH_MAX deep. A refusal names the line, the column and the rule.
 * Strings may hold U+0000; it is kept (as \u0000 when written).
 *
 * Writing. The canonical form is RFC 8785 (JCS): members sorted by their
 * names' UTF-16 code units, no white space, strings escaped as ECMAScript's
 * JSON.stringify does, numbers in ECMAScript's shortest round-trip form.
 * Any JCS library reproduces the bytes, so anyone can recompute a hash.
 * Writers build records from the same helpers and check that what they
 * wrote parses back (json_check) before it leaves the process.
 *
 * The *_v1 functions keep the canonical form of witness entries written
 * with "v": 1 (keys by UTF-8 bytes, numbers with 17 digits, control
 * characters other than \n \r \t as \u00XX), so those ledgers still verify.
 *
 * Thread safety: every function is safe to call from any thread; a parsed
 * document is owned by its caller.
 */
#ifndef IF_JSON_H
#define IF_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/status.h"

#define JSON_DEPTH_MAX	64			/* arrays and objects inside each other */
#define JSON_INT_MAX	9007199254740991LL	/* 2^53 - 1: the largest exact integer */

enum json_type { JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING, JSON_ARRAY,
		 JSON_OBJECT };

/* One value of a parsed document; all memory belongs to the document. */
struct json_value {
	enum json_type type;
	const char *key;	/* as a member of an object: its name, else NULL */
	size_t keylen;		/* bytes of key (a name may hold U+0000) */
	const char *str;	/* string: UTF-8, NUL-terminated, may hold U+0000 */
	size_t len;		/* string: bytes; array, object: members */
	double num;		/* number */
	bool integer;		/* number written without fraction or exponent */
	struct json_value *kids;	/* array, object: members in document order */
};

struct json_doc {
	struct json_value *root;
	struct json_arena *arena;	/* private */
};

#define JSON_DOC_INIT { NULL, NULL }

/*
 * Parse len bytes of text as one I-JSON value. On failure: ST_BAD_JSON
 * and e says "<what>: invalid JSON at line L, column C" and why.
 * Release doc with json_doc_release() in every case.
 */
enum status json_parse(const char *text, size_t len, const char *what, struct json_doc *doc,
		       struct err *e);
void json_doc_release(struct json_doc *doc);

/* Check that text is one I-JSON value (as json_parse, nothing kept). */
enum status json_check(const char *text, const char *what, struct err *e);
enum status json_check_len(const char *text, size_t len, const char *what, struct err *e);

/* The member of an object named key, or NULL. */
const struct json_value *json_member(const struct json_value *obj, const char *key);

/*
 * Typed readers: a table of fields read from an object into a struct.
 * A member that is absent (or null, with JF_NULLABLE) leaves the
 * destination untouched; absent with JF_REQUIRED, null without
 * JF_NULLABLE, a wrong type, a number out of [min, max] or not an integer
 * where one is wanted, and U+0000 in a JF_STR are errors naming the field.
 * With JF_STRICT as the table's flags, a member the table does not name
 * is an error too.
 */
enum json_field_type {
	JF_STR,		/* char *, a copy */
	JF_INT,		/* int, an integer in [min, max] */
	JF_I64,		/* int64_t, an integer in [min, max] */
	JF_NUM,		/* double in [min, max] */
	JF_BOOL,	/* bool */
	JF_JSON,	/* char *, the member's canonical JSON */
	JF_CUSTOM,	/* read(): anything else (arrays of records, enums) */
};

#define JF_REQUIRED	0x1
#define JF_NULLABLE	0x2

struct json_field {
	const char *name;
	enum json_field_type type;
	unsigned flags;
	size_t offset;		/* of the destination in the struct */
	double min, max;	/* numbers */
	/* JF_CUSTOM: read v (never NULL; null when JF_NULLABLE) into dst. */
	enum status (*read)(const struct json_value *v, void *dst, struct err *e);
};

#define JF_STRICT 0x1	/* unknown members are errors */

enum status json_read_fields(const struct json_value *obj, const struct json_field *fields,
			     size_t nfields, unsigned flags, void *dst, const char *what,
			     struct err *e);

/* Append s as a JSON string literal (quotes included), RFC 8785 escaping. */
void json_escape(struct buf *out, const char *s);
void json_escape_len(struct buf *out, const char *s, size_t len);

/* Append a number in ECMAScript's shortest form (finite numbers only). */
void json_add_number(struct buf *out, double d);

/*
 * Members of a JSON object being written into out (after its '{'): the
 * comma comes by itself. A NULL string is null; json_kv_raw appends JSON
 * text as it is (NULL: null). Canonical output needs the members in order.
 */
void json_key(struct buf *out, const char *key);
void json_kv_str(struct buf *out, const char *key, const char *value);
void json_kv_int(struct buf *out, const char *key, long long value);
void json_kv_num(struct buf *out, const char *key, double value);
void json_kv_bool(struct buf *out, const char *key, bool value);
void json_kv_raw(struct buf *out, const char *key, const char *json);

/* RFC 8785 canonical form of a JSON text (checked as I-JSON first). */
enum status json_canonical(const char *text, struct buf *out, struct err *e);
/* The same of a parsed value. */
void json_canonical_value(const struct json_value *v, struct buf *out);

/*
 * The canonical form of an object given as text (NULL: a new object) with
 * a string member set. ST_BAD_JSON when json is not an object.
 */
enum status json_with_member(const char *json, const char *key, const char *value,
			     struct buf *out, struct err *e);

/*
 * Decode one UTF-8 sequence at p (before end) into *cp; its length, or 0
 * when it is not well formed (overlong, a surrogate, beyond U+10FFFF, cut).
 */
size_t json_utf8_decode(const unsigned char *p, const unsigned char *end, uint32_t *cp);
/* Is s well-formed UTF-8? When not, *bad_at (may be NULL) is the first bad byte. */
bool json_utf8_valid(const char *s, size_t len, size_t *bad_at);

/*
 * The name of the first of n strings (NULL ones skipped) that is not
 * well-formed UTF-8, or NULL; *bad_at (may be NULL) as above.
 */
const char *json_utf8_first_bad(const char *const *names, const char *const *values, size_t n,
				size_t *bad_at);

/* Is s a JSON number literal within the double range? */
bool json_is_number(const char *s);

/* Version 1 of the canonical form (witness entries with "v": 1). */
void json_escape_v1(struct buf *out, const char *s);
void json_canonical_v1(const struct json_value *v, struct buf *out);

#endif
