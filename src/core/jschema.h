/*
 * A JSON Schema interpreter over the json.h tree.
 *
 * The files under schemas/ are the single source of truth for every record
 * ifctl reads from an operator or another client (swarm profiles, manifests,
 * resource policies): they are compiled into the binary as they are
 * (jschema_embedded) and interpreted here, never restated in C.
 *
 * Keywords: type, required, enum, const, pattern (POSIX extended regular
 * expressions), minimum, maximum, exclusiveMinimum, exclusiveMaximum,
 * minItems, maxItems, minLength, maxLength (code points), uniqueItems,
 * additionalProperties (false or a schema), items, properties, $ref (to "#"
 * or "#/$defs/NAME"), $defs; annotations ($schema, $id, $comment, title,
 * description, default, examples, format) are read and not checked. Any
 * other keyword is refused when the schema is loaded, so a schema never
 * says more than is checked.
 *
 * An error names the JSON pointer, the value and the rule:
 *	/reputation: 1.5 is above the maximum 1 (maximum)
 *
 * Threads: a loaded schema is read-only and may be used by any thread.
 */
#ifndef IF_JSCHEMA_H
#define IF_JSCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include "core/json.h"
#include "core/status.h"

#define JSCHEMA_MAX_ERRORS 100	/* errors kept by one validation */

struct jschema;

/* A schema file compiled into the binary: "swarm-profile" for schemas/swarm-profile.schema.json. */
struct jschema_file {
	const char *name;
	const char *text;
};
extern const struct jschema_file jschema_embedded[];	/* ends with { NULL, NULL } */

/* Load a schema from text; what names it in errors. Free with jschema_free(). */
enum status jschema_parse(const char *text, size_t len, const char *what, struct jschema **out,
			  struct err *e);
/* Load an embedded schema by name ("swarm-profile"); ST_NOT_FOUND when none. */
enum status jschema_load(const char *name, struct jschema **out, struct err *e);
void jschema_free(struct jschema *s);

/* One failed rule. */
struct jschema_error {
	char *pointer;		/* JSON pointer of the value ("" is the root) */
	const char *rule;	/* the keyword: "maximum" */
	char *msg;		/* "/reputation: 1.5 is above the maximum 1 (maximum)" */
};
struct jschema_result {
	struct jschema_error *v;
	size_t n, cap;
	size_t more;		/* errors past JSCHEMA_MAX_ERRORS, not kept */
};
#define JSCHEMA_RESULT_INIT { NULL, 0, 0, 0 }
void jschema_result_release(struct jschema_result *r);

/* Add an error of the caller's (a rule C checks after the schema), in the same form. */
void jschema_result_add(struct jschema_result *r, const char *pointer, const char *rule,
			const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Validate v against the schema (def NULL) or one of its definitions
 * (def "NAME" for #/$defs/NAME); every failure is added to r. True when
 * none was.
 */
bool jschema_validate(const struct jschema *s, const char *def, const struct json_value *v,
		      struct jschema_result *r);

/*
 * Validate and report the first failure as ST_BAD_VALUE, "what: MSG", with
 * "(and N more)" when there were others.
 */
enum status jschema_check(const struct jschema *s, const char *def, const struct json_value *v,
			  const char *what, struct err *e);

/* The first failure of r as e (ST_BAD_VALUE); ST_OK when r is empty. */
enum status jschema_result_err(const struct jschema_result *r, const char *what, struct err *e);

/* Append a JSON pointer token (escaping ~ and /) to a pointer. */
void jpointer_add(struct buf *ptr, const char *token, size_t len);

#endif
