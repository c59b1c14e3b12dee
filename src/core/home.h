/*
 * The layout of $IF_HOME (config key home; by default
 * $XDG_DATA_HOME/ifctl, that is ~/.local/share/ifctl), in one table:
 *
 *   index.db            the local index (SQLite, WAL): windex.c
 *   keys/               the host's keys (0700)
 *   keys/witness.key    the ledger's signing key (0600): ledger.c
 *   nats/               the local server 'ifctl up' starts: server.c
 *   nats/jetstream/     its JetStream store
 *   nats/nats.conf      its generated configuration
 *   nats/nats.pid       its pid file
 *   nats/nats.ident     who it is: pid, start time, executable ('up'; 0600)
 *   nats/nats.log       its log
 *   nats/ROLE.yaml      with server.auth, each role's login (0600)
 *   nats/users/NAME.yaml  with server.auth, each added user's login (0600)
 *   keys/vault.key      the vault's secretbox key (0600): vault.c
 *   vault/NAME          one encrypted secret each (0600; the dir 0700): vault.c
 *   kvmirror.db         the local mirror of IF_SWARMS and IF_BUDGETS (SQLite,
 *                       WAL; 0600): kvmirror.c
 *
 * Who creates what: 'ifctl up' the keys and nats/, the first index user
 * index.db, the first governor match or swarm list kvmirror.db. Nothing here creates anything; these only name the paths.
 */
#ifndef IF_HOME_H
#define IF_HOME_H

#include <stdbool.h>

#include "core/config.h"

enum home_path {
	HOME_DIR,		/* $IF_HOME itself */
	HOME_INDEX,
	HOME_KEYS,
	HOME_WITNESS_KEY,
	HOME_NATS,
	HOME_NATS_STORE,
	HOME_NATS_CONF,
	HOME_NATS_PID,
	HOME_NATS_IDENT,
	HOME_NATS_LOG,
	HOME_NATS_USERS,
	HOME_VAULT_KEY,
	HOME_VAULT,
	HOME_KVMIRROR,
	HOME__COUNT
};

/* The path of p under c's home; the caller frees. */
char *home_path(const struct config *c, enum home_path p);

/*
 * The path of p (a file directly under $IF_HOME) into *path (the caller
 * frees), and with make_home $IF_HOME made (0700) when missing: for the
 * local caches their first user makes.
 */
enum status home_file(const struct config *c, enum home_path p, bool make_home, char **path,
		      struct err *e);

/* $IF_HOME/nats/ROLE.yaml, the login file of a role of the local server; caller frees. */
char *home_role_file(const struct config *c, const char *role);

/* $IF_HOME/nats/users/NAME.yaml, the login file of a user 'ifctl user add' made; caller frees. */
char *home_user_file(const struct config *c, const char *name);

#endif
