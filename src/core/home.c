/* The $IF_HOME layout: see home.h. */
#include <stdlib.h>

#include "core/home.h"
#include "core/util.h"

/* Each path relative to $IF_HOME ("" is the home itself). */
static const char *const rel[] = {
	[HOME_DIR] = "",
	[HOME_INDEX] = "index.db",
	[HOME_KEYS] = "keys",
	[HOME_WITNESS_KEY] = "keys/witness.key",
	[HOME_NATS] = "nats",
	[HOME_NATS_STORE] = "nats/jetstream",
	[HOME_NATS_CONF] = "nats/nats.conf",
	[HOME_NATS_PID] = "nats/nats.pid",
	[HOME_NATS_IDENT] = "nats/nats.ident",
	[HOME_NATS_LOG] = "nats/nats.log",
	[HOME_NATS_USERS] = "nats/users",
	[HOME_VAULT_KEY] = "keys/vault.key",
	[HOME_VAULT] = "vault",
	[HOME_KVMIRROR] = "kvmirror.db",
};
_Static_assert(ARRAY_SIZE(rel) == HOME__COUNT, "one path per enum home_path");

/* See home.h. */
char *
home_path(const struct config *c, enum home_path p)
{
	char *home = config_home(c), *path;

	if (p == HOME_DIR)
		return home;
	path = xasprintf("%s/%s", home, rel[p]);
	free(home);
	return path;
}

/* See home.h. */
enum status
home_file(const struct config *c, enum home_path p, bool make_home, char **path, struct err *e)
{
	char *home = home_path(c, HOME_DIR);
	enum status st = make_home ? mkdir_p(home, 0700, e) : ST_OK;

	free(home);
	*path = st == ST_OK ? home_path(c, p) : NULL;
	return st;
}

/* See home.h. */
char *
home_role_file(const struct config *c, const char *role)
{
	char *dir = home_path(c, HOME_NATS), *path = xasprintf("%s/%s.yaml", dir, role);

	free(dir);
	return path;
}

/* See home.h. */
char *
home_user_file(const struct config *c, const char *name)
{
	char *dir = home_path(c, HOME_NATS_USERS), *path = xasprintf("%s/%s.yaml", dir, name);

	free(dir);
	return path;
}
