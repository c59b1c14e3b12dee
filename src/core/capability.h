/*
 * The capability registry: one table of what swarms can do, named
 * "category:name" (integration:sip), plus the names a site adds in its
 * configuration (governor.capabilities). Every place that takes a
 * capability (profiles, manifests, policies, 'task push -c', matching)
 * checks it here, and an unknown name is refused with the nearest known one.
 *
 * Threads: the built-in table is constant; a struct cap_registry is read-only
 * once made and may be shared by threads.
 */
#ifndef IF_CAPABILITY_H
#define IF_CAPABILITY_H

#include <stdbool.h>
#include <stddef.h>

#include "core/status.h"

#define CAP_NAME_MAX 128	/* bytes of a capability name */
#define CAP_SITE_CATEGORY "site"	/* the category of a site's bare names */

struct capability {
	const char *name;	/* "integration:sip" */
	const char *category;	/* "integration" */
	const char *summary;	/* one line */
};

/* The built-in table, in category order. */
extern const struct capability capability_table[];
extern const size_t capability_count;

/* The built-in table and a site's own names. */
struct cap_registry {
	char **site;		/* names from governor.capabilities, sorted */
	size_t nsite;
};
#define CAP_REGISTRY_INIT { NULL, 0 }

/*
 * Add a site's names: a list separated by commas or white space; each must
 * have capability_name_valid()'s syntax (ST_BAD_VALUE naming it otherwise).
 */
enum status capreg_init(struct cap_registry *r, const char *site, struct err *e);
void capreg_release(struct cap_registry *r);

/*
 * Is s a capability name by its syntax: one or two ids (letters, digits,
 * '-', '_' and '.' between them) joined by one ':', at most CAP_NAME_MAX?
 */
bool capability_name_valid(const char *s);

/* Is name in the registry (built in, or the site's)? r may be NULL: built-in only. */
bool capreg_known(const struct cap_registry *r, const char *name);

/* The built-in entry of name, or NULL. */
const struct capability *capability_find(const char *name);

/*
 * The nearest known name to name, or NULL when none is near: a name whose
 * part after ':' is the same ("streaming:ndi" -> "integration:ndi"), else
 * the smallest edit distance within half the name's length.
 */
const char *capreg_suggest(const struct cap_registry *r, const char *name);

/*
 * ST_OK when name is known; else ST_BAD_VALUE with e saying
 * "'x' is not a known capability (did you mean 'y'?)".
 */
enum status capreg_check(const struct cap_registry *r, const char *name, struct err *e);

#endif
