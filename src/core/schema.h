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

/* Columns of the created view (schema_created_rows): what ifctl up made. */
enum created_col { CR_KIND, CR_NAME, CR_ACTION, CR__COUNT };

/* An empty view of created resources ("resources"): kind, name, action. */
struct rowset *schema_created_rows(void);

/*
 * Create every missing stream and bucket (idempotent). When created is not
 * NULL (from schema_created_rows()), it receives one row per resource.
 */
enum status schema_ensure(struct bus *b, struct rowset *created, struct err *e);
/*
 * The same with replicas copies of each (0: as they are, new ones with the
 * server's default of 1); one that exists with another count is changed
 * (action "replicas changed"). More replicas than the cluster has servers
 * is ST_BAD_VALUE before anything is created.
 */
enum status schema_ensure_r(struct bus *b, int replicas, struct rowset *created,
			    struct err *e);

/* Columns of the resources view: one stream or bucket each. */
enum resource_col {
	RC_KIND, RC_NAME, RC_STATE, RC_MESSAGES, RC_BYTES, RC_CONSUMERS, RC_DESCRIPTION,
	RC__COUNT
};

/* An empty resources view ("resources"), as schema_status fills it. */
struct rowset *schema_status_rows(void);

/*
 * One row per resource of out (from schema_status_rows()): kind, name, state
 * (ok/missing), messages, bytes, consumers (null when missing), description.
 * *missing (may be NULL) counts those that do not exist.
 */
enum status schema_status(struct bus *b, struct rowset *out, size_t *missing, struct err *e);

/* What ifctl status says of the server. */
struct server_status {
	const char *url, *state, *version, *name, *server_id;
	bool jetstream;
	int64_t rtt_us;		/* median round trip */
	long local_pid;		/* the server ifctl up started here, or 0 */
};

enum server_col {
	SC_URL, SC_STATE, SC_VERSION, SC_NAME, SC_JETSTREAM, SC_RTT_MS, SC_LOCAL_PID,
	SC_SERVER_ID, SC__COUNT
};

/* The server as one record ("server"). */
struct rowset *schema_server_view(const struct server_status *s);

#endif
