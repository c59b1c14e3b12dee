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
	{ "IF_SLO_OBJECTIVES", "SLO objectives per swarm (operators only)", 8 },
	{ "IF_SLO_EPISODES", "SLO breach episodes: the current one per swarm and objective, "
	  "and each episode's record", 4 },
	{ "IF_ARCHIVE", "finished tasks moved out of IF_TASKS, by id (ifctl-protocol(7), ARCHIVE)", 1 },
};
const size_t schema_nbuckets = ARRAY_SIZE(schema_buckets);

static const struct view_col created_cols[] = {
	[CR_KIND] = { "kind", COL_TEXT, 0 },
	[CR_NAME] = { "name", COL_TEXT, 0 },
	[CR_ACTION] = { "action", COL_TEXT, 0 },
};
_Static_assert(ARRAY_SIZE(created_cols) == CR__COUNT, "one column per created_col");

static const struct view_col resource_cols[] = {
	[RC_KIND] = { "kind", COL_TEXT, 0 },
	[RC_NAME] = { "name", COL_TEXT, 0 },
	[RC_STATE] = { "state", COL_TEXT, 0 },
	[RC_MESSAGES] = { "messages", COL_NUM, 0 },
	[RC_BYTES] = { "bytes", COL_NUM, 0 },
	[RC_CONSUMERS] = { "consumers", COL_NUM, 0 },
	[RC_DESCRIPTION] = { "description", COL_TEXT, COL_WIDE },
};
_Static_assert(ARRAY_SIZE(resource_cols) == RC__COUNT, "one column per resource_col");

static const struct view_col server_cols[] = {
	[SC_URL] = { "url", COL_TEXT, 0 },
	[SC_STATE] = { "state", COL_TEXT, 0 },
	[SC_VERSION] = { "version", COL_TEXT, 0 },
	[SC_NAME] = { "name", COL_TEXT, 0 },
	[SC_JETSTREAM] = { "jetstream", COL_BOOL, 0 },
	[SC_RTT_MS] = { "rtt_ms", COL_NUM, 0 },
	[SC_LOCAL_PID] = { "local_pid", COL_NUM, COL_WIDE },
	[SC_SERVER_ID] = { "server_id", COL_TEXT, COL_WIDE },
};
_Static_assert(ARRAY_SIZE(server_cols) == SC__COUNT, "one column per server_col");

static const struct view created_view = VIEW("resources", created_cols);
static const struct view resource_view = VIEW("resources", resource_cols);
static const struct view server_view = VIEW("server", server_cols);

struct rowset *
schema_created_rows(void)
{
	return rows_view(&created_view);
}

/* Note what schema_ensure found, made or changed, when the caller asked. */
static void
add_created(struct rowset *rs, const char *kind, const char *name, bool created, bool updated)
{
	size_t r;

	if (rs == NULL)
		return;
	r = rows_add(rs);
	rows_set(rs, r, CR_KIND, kind);
	rows_set(rs, r, CR_NAME, name);
	rows_set(rs, r, CR_ACTION, created ? "created" : updated ? "replicas changed" : "exists");
}

enum status
schema_ensure(struct bus *b, struct rowset *created, struct err *e)
{
	return schema_ensure_r(b, 0, created, e);
}

enum status
schema_ensure_r(struct bus *b, int replicas, struct rowset *created, struct err *e)
{
	enum status st;
	bool made, changed;
	size_t i;

	for (i = 0; i < schema_nstreams; i++) {
		st = bus_stream_ensure_r(b, &schema_streams[i], replicas, &made, &changed, e);
		if (st != ST_OK)
			return st;
		add_created(created, "stream", schema_streams[i].name, made, changed);
	}
	for (i = 0; i < schema_nbuckets; i++) {
		st = bus_kv_ensure_r(b, &schema_buckets[i], replicas, &made, &changed, e);
		if (st != ST_OK)
			return st;
		add_created(created, "bucket", schema_buckets[i].bucket, made, changed);
	}
	return ST_OK;
}

struct rowset *
schema_status_rows(void)
{
	return rows_view(&resource_view);
}

struct rowset *
schema_server_view(const struct server_status *s)
{
	struct rowset *rs = rows_view(&server_view);
	size_t r = rows_add(rs);

	rs->single = true;
	rows_set(rs, r, SC_URL, s->url);
	rows_set(rs, r, SC_STATE, s->state);
	rows_set(rs, r, SC_VERSION, s->version);
	rows_set(rs, r, SC_NAME, s->name);
	rows_set_bool(rs, r, SC_JETSTREAM, s->jetstream);
	rows_set_num(rs, r, SC_RTT_MS, (double)s->rtt_us / 1000.0);
	if (s->local_pid)
		rows_set_int(rs, r, SC_LOCAL_PID, s->local_pid);
	rows_set(rs, r, SC_SERVER_ID, s->server_id);
	return rs;
}

/* One resource's row: its counts when it exists; *missing counts it when not. */
static enum status
status_row(struct bus *b, struct rowset *out, const char *kind, const char *name,
	   const char *stream, const char *desc, size_t *missing, struct err *e)
{
	struct bus_stream_stat s;
	enum status st = bus_stream_stat(b, stream, &s, e);
	size_t r;

	if (st != ST_OK && st != ST_NO_SCHEMA && st != ST_TIMEOUT)
		return st;
	r = rows_add(out);
	rows_set(out, r, RC_KIND, kind);
	rows_set(out, r, RC_NAME, name);
	/* No answer for one stream (its cluster electing a leader) is not the end of status. */
	rows_set(out, r, RC_STATE, st == ST_OK ? "ok" : st == ST_TIMEOUT ? "unavailable" : "missing");
	if (st == ST_OK) {
		rows_set_u64(out, r, RC_MESSAGES, s.msgs);
		rows_set_u64(out, r, RC_BYTES, s.bytes);
		rows_set_int(out, r, RC_CONSUMERS, s.consumers);
	} else if (missing) {
		(*missing)++;
	}
	rows_set(out, r, RC_DESCRIPTION, desc);
	return ST_OK;
}

enum status
schema_status(struct bus *b, struct rowset *out, size_t *missing, struct err *e)
{
	enum status st;
	size_t i;

	if (missing)
		*missing = 0;
	for (i = 0; i < schema_nstreams; i++) {
		st = status_row(b, out, "stream", schema_streams[i].name,
				schema_streams[i].name, schema_streams[i].description, missing, e);
		if (st != ST_OK)
			return st;
	}
	for (i = 0; i < schema_nbuckets; i++) {
		char *stream = xasprintf("KV_%s", schema_buckets[i].bucket);
		st = status_row(b, out, "bucket", schema_buckets[i].bucket, stream,
				schema_buckets[i].description, missing, e);
		free(stream);
		if (st != ST_OK)
			return st;
	}
	return ST_OK;
}
