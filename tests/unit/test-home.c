/* The $IF_HOME layout: every path under the configured home, one table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/home.h"
#include "core/util.h"

/* Each path is where the manual says it is. */
static void
test_layout(void **state)
{
	static const struct { enum home_path p; const char *want; } paths[] = {
		{ HOME_DIR, "/srv/ifctl" },
		{ HOME_INDEX, "/srv/ifctl/index.db" },
		{ HOME_KEYS, "/srv/ifctl/keys" },
		{ HOME_WITNESS_KEY, "/srv/ifctl/keys/witness.key" },
		{ HOME_NATS, "/srv/ifctl/nats" },
		{ HOME_NATS_STORE, "/srv/ifctl/nats/jetstream" },
		{ HOME_NATS_CONF, "/srv/ifctl/nats/nats.conf" },
		{ HOME_NATS_PID, "/srv/ifctl/nats/nats.pid" },
		{ HOME_NATS_IDENT, "/srv/ifctl/nats/nats.ident" },
		{ HOME_NATS_LOG, "/srv/ifctl/nats/nats.log" },
		{ HOME_NATS_USERS, "/srv/ifctl/nats/users" },
		{ HOME_VAULT_KEY, "/srv/ifctl/keys/vault.key" },
		{ HOME_VAULT, "/srv/ifctl/vault" },
		{ HOME_KVMIRROR, "/srv/ifctl/kvmirror.db" },
	};
	struct config c;
	struct err e = ERR_INIT;
	char *got;
	size_t i;

	(void)state;
	assert_int_equal(ARRAY_SIZE(paths), HOME__COUNT);
	config_init(&c);
	assert_int_equal(config_set(&c, CK_HOME, "/srv/ifctl", CFG_SRC_FLAG, &e), ST_OK);
	for (i = 0; i < ARRAY_SIZE(paths); i++) {
		got = home_path(&c, paths[i].p);
		assert_string_equal(got, paths[i].want);
		free(got);
	}
	got = home_role_file(&c, "swarm");
	assert_string_equal(got, "/srv/ifctl/nats/swarm.yaml");
	free(got);
	got = home_user_file(&c, "swarm-7");
	assert_string_equal(got, "/srv/ifctl/nats/users/swarm-7.yaml");
	free(got);
	config_release(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
	};
	return cmocka_run_group_tests_name("home", tests, NULL, NULL);
}
