/*
 * Test harness: a real nats-server with JetStream on a free loopback port,
 * its store in a fresh temporary directory. Tests may kill it (SIGKILL,
 * as a crash) and start it again on the same port and store.
 */
#ifndef IF_HARNESS_H
#define IF_HARNESS_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/bus.h"
#include "core/config.h"
#include "core/coord.h"
#include "core/task.h"

struct hserver {
	int port;
	char dir[256];	/* temporary directory: store and log */
	char url[64];
	pid_t pid;
};

/* Start (port and dir chosen on first start); 0 on success. */
int hserver_start(struct hserver *s);
/* SIGKILL and reap. */
void hserver_kill(struct hserver *s);
/* SIGTERM, reap, remove the directory. */
void hserver_destroy(struct hserver *s);
/* A free loopback port. */
int hfree_port(void);

/* Connect to url with reconnects forever; NULL (and a message) on failure. */
struct bus *hconnect(const char *url, int64_t timeout_ms, int64_t backoff_ms,
		     bus_state_fn on_state, void *arg);

/*
 * A local JetStream cluster of n nodes, started by the product's own
 * server_cluster_up() in a fresh temporary IF_HOME on free loopback ports,
 * with every stream and bucket at n replicas. Every node started is stopped
 * at exit, on a crash signal, and by hcluster_destroy(): none is left
 * running, whatever the test does.
 */
struct hcluster {
	int n;
	int port;		/* node 1's client port; node K: port + K - 1 */
	char home[256];		/* IF_HOME */
	char urls[512];		/* every node's URL, comma-separated */
	char host[200];		/* this host's name, in node names */
	struct config cfg;
};

/* Start the cluster; 0 on success. */
int hcluster_start(struct hcluster *c, int n);
/* Node k's pid (0 when it is not running). */
pid_t hcluster_pid(struct hcluster *c, int k);
/* SIGKILL node k and reap it. */
void hcluster_kill(struct hcluster *c, int k);
/* Start node k again on its store; 0 when it answers. */
int hcluster_restart(struct hcluster *c, int k);
/* Send sig (SIGSTOP, SIGCONT) to node k. */
void hcluster_signal(struct hcluster *c, int k, int sig);
/* The node that leads a stream's Raft group as b sees it, or 0. */
int hcluster_stream_leader(struct hcluster *c, struct bus *b, const char *stream);
/* The node the cluster's nodes name as meta leader, or 0. */
int hcluster_meta_leader(struct hcluster *c);
/* The node whose server name is name, or 0. */
int hcluster_node_of(struct hcluster *c, const char *name);
/* Stop every node ('ifctl down') and remove the home. */
void hcluster_destroy(struct hcluster *c);

/*
 * The claims claimer threads were told they made (task id, fencing token),
 * to judge the final records on the server against: a record whose token
 * no claimer holds, or two claimers hold, breaks the coordinator's promise.
 * hclaims_add and hclaims_count may be called from any thread.
 */
struct hclaims {
	pthread_mutex_t mu;
	char (*id)[32];
	uint64_t *token;
	size_t n, cap;
};
void hclaims_init(struct hclaims *l);
void hclaims_release(struct hclaims *l);
void hclaims_add(struct hclaims *l, const char *id, uint64_t token);
size_t hclaims_count(struct hclaims *l);
/*
 * One final record against the log: *unknown counts it when no logged
 * claim holds (id, token), *twice when more than one does. Called from
 * hclaims_each_record's fn, under the log's lock.
 */
void hclaims_judge(const struct hclaims *l, const char *id, uint64_t token, size_t *unknown,
		   size_t *twice);
/* Every record of cfg's bucket, read afresh from the server, to fn under the log's lock. */
void hclaims_each_record(struct hclaims *l, struct bus *b, const struct coord_cfg *cfg,
			 void (*fn)(void *arg, const char *json, size_t len), void *arg);
/*
 * The records <prefix>0 .. <prefix>n-1 of cfg's bucket as the stream's
 * leader holds them, to fn under the log's lock (a missing one is not
 * passed). On a cluster this is the verdict to judge by: a watch or a
 * direct get may be answered by a replica that is behind, and nats-server
 * 2.9 replicas have been seen to stay behind after a leader change.
 */
void hclaims_each_leader(struct hclaims *l, struct bus *b, const struct coord_cfg *cfg,
			 const char *prefix, size_t n,
			 void (*fn)(void *arg, const char *json, size_t len), void *arg);

/*
 * Write n tasks PREFIX-i (six digits) in state st straight into bucket as
 * KV puts in batches, no push: every second needs "gpu", every third is
 * held by "s-<i % 4>"; created spread over 5,000 ms so that many share a
 * time (ids break ties). The first refused batch's status (e set).
 */
enum status hload_tasks(struct bus *b, const char *bucket, const char *prefix, size_t n,
			enum task_state st);

#endif
