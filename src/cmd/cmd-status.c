/* ifctl status: the server, its JetStream and the fleet's streams and buckets. */
#include <stdio.h>
#include <stdlib.h>

#include "cmd/cmd.h"
#include "core/clusterview.h"
#include "core/probe.h"
#include "core/schema.h"
#include "core/server.h"
#include "core/util.h"

/* Median of a few round trips: one PING is too noisy to report. */
static enum status
median_rtt(struct bus *b, int64_t *us, struct err *e)
{
	int64_t v[5], t;
	size_t i, j;
	enum status st;

	for (i = 0; i < ARRAY_SIZE(v); i++)
		if ((st = bus_rtt(b, &v[i], e)) != ST_OK)
			return st;
	for (i = 1; i < ARRAY_SIZE(v); i++)
		for (j = i; j > 0 && v[j - 1] > v[j]; j--)
			t = v[j], v[j] = v[j - 1], v[j - 1] = t;
	*us = v[ARRAY_SIZE(v) / 2];
	return ST_OK;
}

/* The server record: what the probe and the connection say, and a local pid. */
static struct rowset *
server_rows(struct cmd_ctx *ctx, const struct bus_server_info *info, int64_t rtt_us)
{
	char on[256];
	struct server_status s = {
		.url = on, .state = bus_state_name(bus_get_state(ctx->bus)),
		.version = info->version, .name = info->server_name,
		.server_id = info->server_id, .jetstream = info->jetstream, .rtt_us = rtt_us,
	};
	struct server_paths p;

	bus_connected_url(ctx->bus, on, sizeof on);	/* of a list: the one it is on */
	if (!on[0])
		snprintf(on, sizeof on, "%s", bus_url(ctx->bus));
	server_paths_init(&p, &ctx->cfg);
	s.local_pid = (long)server_running(&p);
	server_paths_release(&p);
	return schema_server_view(&s);
}

/* The local cluster's nodes, when 'up --cluster' started one here; a warning per node down. */
static void
local_nodes(struct cmd_ctx *ctx)
{
	struct server_node *nodes = NULL;
	const char *leader;
	size_t n = 0, i, down = 0;

	if (server_cluster_nodes(&ctx->cfg, &nodes, &n) != ST_OK)
		return;
	doc_add(&ctx->out, clusterview_nodes(nodes, n));
	leader = server_cluster_leader(nodes, n);
	why_add(&ctx->op, "meta leader", leader ? leader : "none",
		"named by the nodes' monitoring endpoints (/jsz), one vote each");
	for (i = 0; i < n; i++)
		down += nodes[i].pid == 0;
	if (!ctx->quiet && down)
		session_notice(ctx->session, NOTICE_WARN, "ifctl: warning: %zu of the local "
			       "cluster's %zu nodes are not running; start them with 'ifctl up "
			       "--cluster %zu'", down, n, n);
	if (!ctx->quiet && !leader)
		session_notice(ctx->session, NOTICE_WARN, "ifctl: warning: the local cluster has "
			       "no JetStream meta leader: streams cannot be created or changed");
	free(nodes);
}

/* Where each stream lives on a cluster, with a warning for each kind of trouble. */
static enum status
replication(struct cmd_ctx *ctx)
{
	struct clusterview_summary sum;
	struct rowset *rs = NULL;
	enum status st = clusterview_replication(ctx->bus, &rs, &sum, &ctx->err);

	if (st != ST_OK || !sum.clustered) {
		rows_free(rs);
		return st;
	}
	doc_add(&ctx->out, rs);
	why_add(&ctx->op, "replication", "stream info", "%zu without a leader, %zu with fewer "
		"replicas than configured, %zu with a replica behind", sum.leaderless,
		sum.degraded, sum.lagging);
	if (ctx->quiet)
		return ST_OK;
	if (sum.leaderless)
		session_notice(ctx->session, NOTICE_WARN, "ifctl: warning: %zu streams or buckets "
			       "have no leader (an election, or a majority of their replicas is "
			       "down): writes to them wait", sum.leaderless);
	if (sum.degraded)
		session_notice(ctx->session, NOTICE_WARN, "ifctl: warning: %zu streams or buckets "
			       "have fewer replicas than configured; start the missing nodes",
			       sum.degraded);
	if (sum.lagging)
		session_notice(ctx->session, NOTICE_WARN, "ifctl: warning: %zu streams or buckets "
			       "have a replica that lags behind its leader", sum.lagging);
	return ST_OK;
}

static enum status
run_status(struct cmd_ctx *ctx)
{
	struct bus_server_info info;
	struct rowset *res;
	int64_t rtt_us = 0;
	enum status st;
	size_t missing = 0;

	char on[256];

	bus_connected_url(ctx->bus, on, sizeof on);	/* of a list: the one it is on */
	st = bus_probe(on[0] ? on : bus_url(ctx->bus), bus_timeout_ms(ctx->bus), &info,
		       &ctx->err);
	if (st == ST_OK)
		st = median_rtt(ctx->bus, &rtt_us, &ctx->err);
	if (st != ST_OK)
		return st;
	why_add(&ctx->op, "rtt", "median of 5", "PING/PONG round trips over the connection");
	doc_add(&ctx->out, server_rows(ctx, &info, rtt_us));
	if (!info.jetstream)
		return err_set(&ctx->err, ST_NO_JETSTREAM, "server '%s' has JetStream disabled",
			       bus_url(ctx->bus));
	res = schema_status_rows();
	doc_add(&ctx->out, res);
	if ((st = schema_status(ctx->bus, res, &missing, &ctx->err)) != ST_OK)
		return st;
	why_add(&ctx->op, "resources", "DESIGN section 3",
		"%zu streams and buckets expected, %zu missing", res->nrows, missing);
	if (missing && !ctx->quiet)
		session_notice(ctx->session, NOTICE_WARN, "ifctl: %zu of the fleet's streams and "
			"buckets are missing; run 'ifctl up' (or 'ifctl up --schema-only')", missing);
	local_nodes(ctx);
	return replication(ctx);
}

const struct cmd_entry cmd_status_entry = {
	.name = "status",
	.summary = "show the server, its round-trip time, every stream and bucket and, on a "
		   "cluster, every node and each stream's leader and replicas",
	.flags = CMD_NEEDS_BUS,
	.run = run_status,
	.examples =
		"ifctl status\n"
		"ifctl status -o json\n"
		"ifctl status --why             # how each figure was obtained",
	.see_also = "up, doctor, version",
	.schema = "status",
};
