/*
 * The witness index: entries of IF_WITNESS copied into the local store, so
 * that they can be found by trace, component, task or time. It follows the
 * stream (each sync copies what is new) and can be rebuilt from it at any
 * time; it is never the evidence itself ('witness verify' reads the stream).
 */
#ifndef IF_WINDEX_H
#define IF_WINDEX_H

#include "core/bus.h"
#include "core/config.h"
#include "core/store.h"

/* Open $IF_HOME/index.db. */
enum status windex_open(const struct config *c, struct store **out, struct err *e);

/* Copy the entries the index does not hold yet; *added says how many. */
enum status windex_sync(struct bus *b, struct store *s, uint64_t *added, struct err *e);

/* Open for a rebuild: a damaged index file is deleted and made anew. */
enum status windex_open_fresh(const struct config *c, struct store **out, struct err *e);

/* Empty the index and copy everything again. */
enum status windex_rebuild(struct bus *b, struct store *s, uint64_t *added, struct err *e);

#endif
