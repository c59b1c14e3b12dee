/*
 * The libyaml wrapper. The rest of the code never includes <yaml.h>.
 *
 * yaml_flatten() reads a YAML document whose leaves are scalars and calls
 * back once per leaf with its dotted path ("coordinator.lease_ms"), its
 * value and its 1-based line, so that callers can report errors the way an
 * operator wants them: file, line, key.
 */
#ifndef IF_YAMLX_H
#define IF_YAMLX_H

#include <stddef.h>

#include "core/buf.h"
#include "core/status.h"

/* Return ST_OK to go on, anything else to stop the walk with that status. */
typedef enum status (*yaml_leaf_fn)(void *arg, const char *path,
				    const char *value, int line, struct err *e);

/* Limits of yaml_flatten(), documented in ifctl-config(5). */
#define YAML_MAX_DEPTH		64	/* mappings nested in one another */
#define YAML_MAX_ALIAS_NODES	10000	/* values kept for anchors or replayed by aliases */
#define YAML_MAX_ALIAS_BYTES	(16 << 20)	/* their keys and values: 16 MiB */

/*
 * Walk the document in text. A syntax error gives ST_BAD_YAML with the line
 * and the parser's words; a sequence where a scalar or mapping is expected
 * gives ST_BAD_YAML naming the path. So do nesting deeper than
 * YAML_MAX_DEPTH, aliases expanding to more than YAML_MAX_ALIAS_NODES
 * values or YAML_MAX_ALIAS_BYTES of keys and values, an unknown alias, a NUL character in a value and a second
 * document. An alias stands for the leaves of its anchored node, each
 * handed to fn under the alias's path and line. An empty document is valid.
 * The walk needs no stack or memory in proportion to the nesting of text.
 */
enum status yaml_flatten(const char *text, size_t len, yaml_leaf_fn fn,
			 void *arg, struct err *e);

/* Append s to out as a YAML scalar, quoted when plain style would misread it. */
void yaml_scalar(struct buf *out, const char *s);

#endif
