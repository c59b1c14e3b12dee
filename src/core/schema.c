/* The fleet's streams and buckets: see schema.h. */
#include <stdlib.h>

#include "core/schema.h"
#include "core/util.h"

#define DAY_S (24 * 3600)

const struct bus_stream_def schema_streams[] = {
	{ "IF_QUEUE", { "if.v1.queue.>", NULL }, "ready queue: one message per claimable task",
	  true, 0, -1 },
	{ "IF_EVENTS", { "if.v1.evt.>", NULL }, "every state change of the fleet",
	  false, 7 * DAY_S, -1 },
	{ "IF_WITNESS", { "if.v1.witness.entry", NULL }, "witness ledger: one total order of entries",
	  false, 0, -1 },
	{ "IF_CHECKPOINTS", { "if.v1.witness.checkpoint", NULL },
	  "signed checkpoints of the witness ledger (C2SP signed notes)", false, 0, -1 },
	{ "IF_COST", { "if.v1.cost.>", NULL }, "metered cost records",
	  false, 400 * DAY_S, -1 },
	{ "IF_SLO", { "if.v1.slo.>", NULL }, "SLO samples: latency, outcome, availability",
	  false, 35 * DAY_S, -1 },
};
const size_t schema_nstreams = ARRAY_SIZE(schema_streams);

const struct bus_kv_def schema_buckets[] = {
	{ "IF_TASKS", "tasks: state, owner, lease; revision is the fencing token", 16 },
	{ "IF_SWARMS", "swarm profiles", 8 },
	{ "IF_BUDGETS", "allocated, reserved and spent per swarm", 16 },
	{ "IF_CREDS", "credential metadata and token hashes, never tokens", 4 },
};
const size_t schema_nbuckets = ARRAY_SIZE(schema_buckets);

static void
add_created(struct rowset *rs, const char *kind, const char *name, bool created)
{
	size_t r;

	if (rs == NULL)
		return;
	r = rows_add(rs);
	rows_set(rs, r, 0, kind);
	rows_set(rs, r, 1, name);
	rows_set(rs, r, 2, created ? "created" : "exists");
}

enum status
schema_ensure(struct bus *b, struct rowset *created, struct err *e)
{
	enum status st;
	bool made;
	size_t i;

	for (i = 0; i < schema_nstreams; i++) {
		if ((st = bus_stream_ensure(b, &schema_streams[i], &made, e)) != ST_OK)
			return st;
		add_created(created, "stream", schema_streams[i].name, made);
	}
	for (i = 0; i < schema_nbuckets; i++) {
		if ((st = bus_kv_ensure(b, &schema_buckets[i], &made, e)) != ST_OK)
			return st;
		add_created(created, "bucket", schema_buckets[i].bucket, made);
	}
	return ST_OK;
}

struct rowset *
schema_status_rows(void)
{
	struct rowset *rs = rows_new("resources");

	rows_col(rs, "kind", COL_TEXT, 0);
	rows_col(rs, "name", COL_TEXT, 0);
	rows_col(rs, "state", COL_TEXT, 0);
	rows_col(rs, "messages", COL_NUM, 0);
	rows_col(rs, "bytes", COL_NUM, 0);
	rows_col(rs, "consumers", COL_NUM, 0);
	rows_col(rs, "description", COL_TEXT, COL_WIDE);
	return rs;
}

static enum status
status_row(struct bus *b, struct rowset *out, const char *kind, const char *name,
	   const char *stream, const char *desc, struct err *e)
{
	struct bus_stream_stat s;
	enum status st = bus_stream_stat(b, stream, &s, e);
	size_t r;

	if (st != ST_OK && st != ST_NO_SCHEMA)
		return st;
	r = rows_add(out);
	rows_set(out, r, 0, kind);
	rows_set(out, r, 1, name);
	rows_set(out, r, 2, st == ST_OK ? "ok" : "missing");
	if (st == ST_OK) {
		rows_setf(out, r, 3, "%llu", (unsigned long long)s.msgs);
		rows_setf(out, r, 4, "%llu", (unsigned long long)s.bytes);
		rows_setf(out, r, 5, "%lld", (long long)s.consumers);
	}
	rows_set(out, r, 6, desc);
	return ST_OK;
}

enum status
schema_status(struct bus *b, struct rowset *out, struct err *e)
{
	enum status st;
	size_t i;

	for (i = 0; i < schema_nstreams; i++) {
		st = status_row(b, out, "stream", schema_streams[i].name,
				schema_streams[i].name, schema_streams[i].description, e);
		if (st != ST_OK)
			return st;
	}
	for (i = 0; i < schema_nbuckets; i++) {
		char *stream = xasprintf("KV_%s", schema_buckets[i].bucket);
		st = status_row(b, out, "bucket", schema_buckets[i].bucket, stream,
				schema_buckets[i].description, e);
		free(stream);
		if (st != ST_OK)
			return st;
	}
	return ST_OK;
}
