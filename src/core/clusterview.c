/* What 'status' shows of a cluster: see clusterview.h. */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/clusterview.h"
#include "core/json.h"
#include "core/schema.h"
#include "core/util.h"

static const struct view_col node_cols[] = {
	[NV_NODE] = { "node", COL_NUM, 0 },
	[NV_NAME] = { "name", COL_TEXT, 0 },
	[NV_URL] = { "url", COL_TEXT, 0 },
	[NV_STATE] = { "state", COL_TEXT, 0 },
	[NV_ROLE] = { "role", COL_TEXT, 0 },
	[NV_CURRENT] = { "current", COL_BOOL, 0 },
	[NV_LAG] = { "lag", COL_NUM, 0 },
	[NV_PID] = { "pid", COL_NUM, COL_WIDE },
	[NV_META_LEADER] = { "meta_leader", COL_TEXT, COL_WIDE },
};
_Static_assert(ARRAY_SIZE(node_cols) == NV__COUNT, "one column per node_view_col");

static const struct view_col repl_cols[] = {
	[RP_KIND] = { "kind", COL_TEXT, 0 },
	[RP_NAME] = { "name", COL_TEXT, 0 },
	[RP_REPLICAS] = { "replicas", COL_NUM, 0 },
	[RP_LEADER] = { "leader", COL_TEXT, 0 },
	[RP_CURRENT] = { "current", COL_NUM, 0 },	/* replicas present and caught up */
	[RP_LAG] = { "lag", COL_NUM, 0 },		/* the most any replica is behind */
	[RP_STATE] = { "state", COL_TEXT, 0 },
	[RP_PEERS] = { "peers", COL_JSON, COL_WIDE },
};
_Static_assert(ARRAY_SIZE(repl_cols) == RP__COUNT, "one column per repl_col");

static const struct view node_view = VIEW("nodes", node_cols);

/*
 * A follower its leader has not heard from for this long is counted as
 * missing (the leader marks it offline only much later); Raft heartbeats
 * come every second.
 */
#define PEER_SILENT_NS (5LL * 1000000000)

/* Is this follower gone, as far as its leader can tell? */
static bool
peer_gone(const struct bus_peer *p)
{
	return p->offline || p->active_ns > PEER_SILENT_NS;
}
static const struct view repl_view = VIEW("replication", repl_cols);

/* A node's role as the meta leader it and the others name sees it. */
static const char *
node_role(const struct server_node *nd, const char *leader)
{
	if (!nd->pid)
		return "down";
	if (!nd->answers)
		return "unknown";
	if (leader && strcmp(nd->name, leader) == 0)
		return "leader";
	return "follower";
}

struct rowset *
clusterview_nodes(const struct server_node *nodes, size_t n)
{
	struct rowset *rs = rows_view(&node_view);
	const char *leader = server_cluster_leader(nodes, n);
	size_t i, r;

	for (i = 0; i < n; i++) {
		const struct server_node *nd = &nodes[i];
		r = rows_add(rs);
		rows_set_int(rs, r, NV_NODE, nd->index);
		rows_set(rs, r, NV_NAME, nd->name);
		rows_set(rs, r, NV_URL, nd->url);
		rows_set(rs, r, NV_STATE, nd->pid ? "running" : "stopped");
		rows_set(rs, r, NV_ROLE, node_role(nd, leader));
		if (nd->pid && (nd->reported || (leader && strcmp(nd->name, leader) == 0))) {
			rows_set_bool(rs, r, NV_CURRENT, nd->current && !nd->offline);
			rows_set_u64(rs, r, NV_LAG, nd->lag);
		}
		if (nd->pid)
			rows_set_int(rs, r, NV_PID, nd->pid);
		if (nd->meta_leader[0])
			rows_set(rs, r, NV_META_LEADER, nd->meta_leader);
	}
	return rs;
}

/* The peers of a stream as JSON: the leader first, then each follower. */
static void
peers_json(const struct bus_stream_cluster *sc, struct buf *out)
{
	size_t i;

	buf_addc(out, '[');
	if (sc->leader[0]) {
		buf_addc(out, '{');
		json_kv_str(out, "name", sc->leader);
		json_kv_bool(out, "leader", true);
		json_kv_bool(out, "current", true);
		json_kv_int(out, "lag", 0);
		json_kv_bool(out, "gone", false);
		buf_addc(out, '}');
	}
	for (i = 0; i < sc->npeers; i++) {
		buf_adds(out, out->len > 1 ? ",{" : "{");
		json_kv_str(out, "name", sc->peers[i].name);
		json_kv_bool(out, "leader", false);
		json_kv_bool(out, "current", sc->peers[i].current && !peer_gone(&sc->peers[i]));
		json_kv_int(out, "lag", (long long)sc->peers[i].lag);
		json_kv_bool(out, "gone", peer_gone(&sc->peers[i]));
		buf_addc(out, '}');
	}
	buf_addc(out, ']');
}

/*
 * A stream's replication state: no leader; fewer replicas there than
 * configured (a peer offline or unreported); one behind; or ok.
 */
static const char *
repl_state(const struct bus_stream_cluster *sc, size_t current, uint64_t lag,
	   struct clusterview_summary *sum)
{
	size_t i, offline = 0;

	for (i = 0; i < sc->npeers; i++)
		offline += peer_gone(&sc->peers[i]);
	if (sc->cluster[0] || sc->replicas > 1)
		sum->clustered = true;
	if (!sc->cluster[0])
		return "ok";
	if (!sc->leader[0])
		return sum->leaderless++, "no-leader";
	if ((int64_t)(sc->npeers + 1 - offline) < sc->replicas)
		return sum->degraded++, "degraded";
	if ((int64_t)current < sc->replicas || lag > 0)
		return sum->lagging++, "lagging";
	return "ok";
}

/* The peers for a table: the leader starred, a lagging one with its lag. */
static void
peers_text(const struct bus_stream_cluster *sc, struct buf *out)
{
	size_t i;

	if (sc->leader[0])
		buf_addf(out, "%s*", sc->leader);
	for (i = 0; i < sc->npeers; i++) {
		buf_addf(out, "%s%s", out->len ? ", " : "", sc->peers[i].name);
		if (peer_gone(&sc->peers[i]))
			buf_adds(out, " (gone)");
		else if (!sc->peers[i].current || sc->peers[i].lag)
			buf_addf(out, " (lag %llu)", (unsigned long long)sc->peers[i].lag);
	}
}

/* One stream's row; sum counts its state. */
static void
repl_row(struct rowset *rs, const char *kind, const char *name,
	 const struct bus_stream_cluster *sc, struct clusterview_summary *sum)
{
	struct buf peers = BUF_INIT;
	size_t r = rows_add(rs), i, current = sc->leader[0] || !sc->cluster[0] ? 1 : 0;
	uint64_t lag = 0;

	for (i = 0; i < sc->npeers; i++) {
		current += sc->peers[i].current && !peer_gone(&sc->peers[i]);
		if (sc->peers[i].lag > lag)
			lag = sc->peers[i].lag;
	}
	rows_set(rs, r, RP_KIND, kind);
	rows_set(rs, r, RP_NAME, name);
	rows_set_int(rs, r, RP_REPLICAS, sc->replicas);
	if (sc->leader[0])
		rows_set(rs, r, RP_LEADER, sc->leader);
	rows_set_int(rs, r, RP_CURRENT, (long long)current);
	rows_set_u64(rs, r, RP_LAG, lag);
	rows_set(rs, r, RP_STATE, repl_state(sc, current, lag, sum));
	peers_json(sc, &peers);
	rows_set(rs, r, RP_PEERS, peers.s);
	buf_reset(&peers);
	peers_text(sc, &peers);
	rows_show(rs, r, RP_PEERS, peers.s ? peers.s : "");
	buf_release(&peers);
}

/* One stream or bucket: its row, or a "missing" row. */
static enum status
repl_one(struct bus *b, struct rowset *rs, const char *kind, const char *name,
	 const char *stream, struct clusterview_summary *sum, struct err *e)
{
	struct bus_stream_cluster sc;
	enum status st = bus_stream_cluster(b, stream, &sc, e);
	size_t r;

	if (st == ST_OK) {
		repl_row(rs, kind, name, &sc, sum);
		return ST_OK;
	}
	if (st != ST_NO_SCHEMA && st != ST_TIMEOUT)
		return st;
	r = rows_add(rs);	/* no answer: its group is electing a leader, or lost its majority */
	rows_set(rs, r, RP_KIND, kind);
	rows_set(rs, r, RP_NAME, name);
	rows_set(rs, r, RP_STATE, st == ST_TIMEOUT ? "no-leader" : "missing");
	rows_set(rs, r, RP_PEERS, "[]");
	rows_show(rs, r, RP_PEERS, "");
	if (st == ST_TIMEOUT)
		sum->leaderless++, sum->clustered = true;
	else
		sum->missing++;
	return ST_OK;
}

enum status
clusterview_replication(struct bus *b, struct rowset **out, struct clusterview_summary *sum,
			struct err *e)
{
	struct rowset *rs = rows_view(&repl_view);
	enum status st = ST_OK;
	size_t i;

	memset(sum, 0, sizeof *sum);
	for (i = 0; i < schema_nstreams && st == ST_OK; i++)
		st = repl_one(b, rs, "stream", schema_streams[i].name, schema_streams[i].name,
			      sum, e);
	for (i = 0; i < schema_nbuckets && st == ST_OK; i++) {
		char *stream = xasprintf("KV_%s", schema_buckets[i].bucket);
		st = repl_one(b, rs, "bucket", schema_buckets[i].bucket, stream, sum, e);
		free(stream);
	}
	*out = rs;
	return st;
}
