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

/* Add user name with role; *password (caller frees) is shown once, *file is its login file. */
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

#endif
