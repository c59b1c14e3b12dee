/*
 * The local NATS server that 'ifctl up' starts and 'ifctl down' stops.
 *
 * Everything lives under $IF_HOME/nats: the generated nats.conf, the
 * JetStream store, nats.pid and nats.log, and nats.ident: what 'up' saw of
 * the process it started (pid, start time, executable). A server counts as
 * ours only when the pid file names a live process with that start time and
 * executable whose argument vector is exactly 'nats-server -c CONF', so
 * 'down' never signals a process it did not start (and signals it through a
 * pidfd where the kernel has them, so a pid reused meanwhile is not hit).
 *
 * With server.auth the config names three users (operator, swarm, viewer)
 * with bcrypt-hashed passwords and per-role permissions; each role's login
 * is an ifctl config file $IF_HOME/nats/ROLE.yaml (mode 0600), and 'up'
 * keeps the passwords it finds there.
 */
#ifndef IF_SERVER_H
#define IF_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/config.h"
#include "core/opctx.h"
#include "core/rows.h"
#include "core/status.h"

struct server_paths {
	char *home;	/* $IF_HOME */
	char *dir;	/* $IF_HOME/nats */
	char *store;	/* $IF_HOME/nats/jetstream */
	char *conf;	/* $IF_HOME/nats/nats.conf */
	char *pid;	/* $IF_HOME/nats/nats.pid */
	char *log;	/* $IF_HOME/nats/nats.log */
	char *ident;	/* $IF_HOME/nats/nats.ident: who the server 'up' started is */
	char *users;	/* $IF_HOME/nats/users: logins 'ifctl user add' made */
};

void server_paths_init(struct server_paths *p, const struct config *c);
void server_paths_release(struct server_paths *p);

/* Our server's pid when it runs, else 0. */
pid_t server_running(const struct server_paths *p);

/*
 * The process the pid file names: 0 when none lives; else its pid, and
 * *why (static text) NULL when it is the server 'up' started, or says why
 * it is not.
 */
pid_t server_pid(const struct server_paths *p, const char **why);

struct server_up_result {
	pid_t pid;
	bool started;		/* false: it was already running */
	bool auth;		/* its config has users (server.auth) */
	char *url;		/* caller frees */
	char version[32];
};

/*
 * Start the local server (when not already running), wait until it
 * answers with JetStream, and create the fleet's streams and buckets.
 * Checks are recorded in op; under op->falsify nothing is written and the
 * result is ST_FALSIFIED when a check failed. created receives the schema
 * rows (kind, name, action) when not NULL.
 */
enum status server_up(const struct config *c, struct opctx *op,
		      struct server_up_result *r, struct rowset *created, struct err *e);

/*
 * The operator's login to the local server, when ifctl talks to it
 * (nats.url empty) and 'up --auth' wrote $IF_HOME/nats/operator.yaml; *user
 * and *password stay untouched otherwise. The caller frees both.
 */
void server_local_login(const struct config *c, char **user, char **password);

/* Stop our server; *pid is 0 when none was running (not an error). */
enum status server_down(const struct config *c, struct opctx *op, pid_t *pid,
			struct err *e);

/*
 * Users an operator adds to an authorising local server ('ifctl user'):
 * each is a login file $IF_HOME/nats/users/NAME.yaml (0600, an ifctl
 * config usable with --config, its role on a "# role:" line) and a
 * bcrypt-hashed entry with the role's permissions in nats.conf. Adding or
 * removing one rewrites nats.conf, has the server reload it (SIGHUP through
 * the identity-checked pidfd 'down' uses) and waits until the login works
 * (or, removed, is refused). Checks go to op; under op->falsify nothing is
 * written.
 */

/* Is role the name of a role (operator, swarm, viewer)? */
bool server_role_valid(const char *role);

/*
 * Add user name with role; *password (caller frees) is shown once, *file is
 * its login file. A swarm login's name is the swarm id its subjects carry
 * (swarm_id_valid), else ST_BAD_VALUE.
 */
enum status server_user_add(const struct config *c, struct opctx *op, const char *name,
			    const char *role, char **password, char **file, struct err *e);

/* Remove a user 'server_user_add' made. */
enum status server_user_rm(const struct config *c, struct opctx *op, const char *name,
			   struct err *e);

/*
 * Every login of the local server: the three roles' (kind "role"), then
 * the added users' (kind "user", or "invalid" when the file is not a
 * login), by name. fn gets role NULL for an invalid one.
 */
void server_users(const struct config *c,
		  void (*fn)(void *arg, const char *name, const char *kind, const char *role,
			     const char *file),
		  void *arg);

/*
 * A local cluster ('up --cluster N', N in 3 or 5): see the comment above
 * the cluster code in server.c for where each node lives and which ports
 * it takes. Checks go to op; under op->falsify nothing is written.
 */
#define SERVER_CLUSTER_MAX 5

bool server_cluster_size_valid(int n);

/* Paths of node k (1..N) of the local cluster: $IF_HOME/nats/nodeK/. */
void server_node_paths_init(struct server_paths *p, const struct config *c, int k);

/*
 * Every node's client URL, comma-separated, when a local cluster was
 * started here and nats.url is empty (caller frees); else NULL.
 */
char *server_local_urls(const struct config *c);

struct server_cluster_result {
	int nodes;
	int started;			/* how many this call started */
	pid_t pids[SERVER_CLUSTER_MAX];	/* node K's pid at K - 1 */
	bool fresh[SERVER_CLUSTER_MAX];	/* node K was started by this call */
	char meta_leader[64];		/* server name */
	char version[32];
	char *url;			/* every node's URL; caller frees */
};

/*
 * Start the nodes of an N-node cluster that do not run yet, wait until each
 * answers with JetStream and all agree on a meta leader, then create the
 * schema with N replicas. On any failure every node this call started is
 * stopped again. N other than 3 or 5 is ST_USAGE; a port of a node taken
 * is ST_PORT_IN_USE; a single server or another cluster running is ST_EXISTS.
 */
enum status server_cluster_up(const struct config *c, struct opctx *op, int n,
			      struct server_cluster_result *r, struct rowset *created,
			      struct err *e);

/* Start node k of the local cluster again (after a crash); waits until it answers. */
enum status server_node_start(const struct config *c, int k, pid_t *pid, struct err *e);

/*
 * Stop every node of the local cluster that is ours; pids[K - 1] is the
 * one stopped at node K or 0, *n the cluster's size (0: none here).
 */
enum status server_cluster_down(const struct config *c, struct opctx *op, pid_t *pids, int *n,
				struct err *e);

/* What 'status' shows of one node of the local cluster. */
struct server_node {
	int index;			/* K */
	char name[64];			/* server_name */
	char url[80];
	int client_port, route_port, monitor_port;
	pid_t pid;			/* 0: not running */
	bool answers;			/* its monitoring endpoint answered */
	char meta_leader[64];		/* whom it names, "" when none */
	bool reported;			/* the meta leader reported on it */
	bool current, offline;		/* as the meta leader reports it (the leader: current) */
	uint64_t lag;
};

/* The local cluster's nodes (caller frees *out); ST_NOT_FOUND when there is none. */
enum status server_cluster_nodes(const struct config *c, struct server_node **out,
				 size_t *count);

/* The meta leader most answering nodes name, or NULL. */
const char *server_cluster_leader(const struct server_node *nodes, size_t n);

#endif
