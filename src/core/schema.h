/*
 * The fleet's streams and KV buckets (DESIGN.md section 3, documented in
 * ifctl-protocol(7)). One table; 'ifctl up' creates what is missing and
 * 'ifctl status' reports each entry.
 */
#ifndef IF_SCHEMA_H
#define IF_SCHEMA_H

#include "core/bus.h"
#include "core/opctx.h"
#include "core/rows.h"

extern const struct bus_stream_def schema_streams[];
extern const size_t schema_nstreams;
extern const struct bus_kv_def schema_buckets[];
extern const size_t schema_nbuckets;

/*
 * Create every missing stream and bucket (idempotent). When created is not
 * NULL, it receives one row per resource: kind, name, action.
 */
enum status schema_ensure(struct bus *b, struct rowset *created, struct err *e);

/* The view schema_status fills: kind, name, state, messages, bytes, consumers, description. */
struct rowset *schema_status_rows(void);

/*
 * One row per resource of out (from schema_status_rows()): kind, name, state
 * (ok/missing), messages, bytes, consumers, description.
 */
enum status schema_status(struct bus *b, struct rowset *out, struct err *e);

#endif
