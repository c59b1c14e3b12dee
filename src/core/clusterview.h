/*
 * What 'status' shows of a cluster: the local cluster's nodes (from their
 * monitoring endpoints: which one is the JetStream meta leader, whether the
 * others are current) and, on any server, where each stream and bucket of
 * the fleet lives (its Raft group's leader, its replicas, whether each is
 * current and how far it lags). Built in core; the CLI renders them with
 * -o, the console can draw them.
 */
#ifndef IF_CLUSTERVIEW_H
#define IF_CLUSTERVIEW_H

#include "core/bus.h"
#include "core/rows.h"
#include "core/server.h"

enum node_view_col {
	NV_NODE, NV_NAME, NV_URL, NV_STATE, NV_ROLE, NV_CURRENT, NV_LAG, NV_PID, NV_META_LEADER,
	NV__COUNT
};

/* The nodes view ("nodes"): one row per node of the local cluster. */
struct rowset *clusterview_nodes(const struct server_node *nodes, size_t n);

enum repl_col {
	RP_KIND, RP_NAME, RP_REPLICAS, RP_LEADER, RP_CURRENT, RP_LAG, RP_STATE, RP_PEERS,
	RP__COUNT
};

/*
 * Replication states of a stream or bucket, worst last: "ok" (a leader
 * and every replica current), "lagging" (a replica is behind), "degraded"
 * (fewer replicas than configured are there: offline or not reported),
 * "no-leader" (an election is under way, or a majority is lost), "missing".
 */
struct clusterview_summary {
	size_t lagging, degraded, leaderless, missing;
	bool clustered;		/* some stream has a cluster (or more than one replica) */
};

/*
 * The replication view ("replication") of every stream and bucket of the
 * fleet; sum counts the states that warrant a warning.
 */
enum status clusterview_replication(struct bus *b, struct rowset **out,
				    struct clusterview_summary *sum, struct err *e);

#endif
