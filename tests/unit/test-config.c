/* Configuration: file, env and flag layering; errors that name file, line and key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/config.h"
#include "core/util.h"

static char *
write_tmp(const char *text)
{
	char *path = xstrdup("/tmp/ifctl-cfg-XXXXXX");
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static enum status
load(const char *text, struct config *c, struct err *e)
{
	char *path = write_tmp(text);
	enum status st = config_load_file(c, path, NULL, e);

	unlink(path);
	free(path);
	return st;
}

static void
test_defaults(void **state)
{
	struct config c;
	char *url;

	(void)state;
	config_init(&c);
	assert_int_equal(cfg_int(&c, CK_NATS_TIMEOUT_MS), 2000);
	assert_int_equal(cfg_int(&c, CK_SERVER_PORT), 4222);
	assert_false(cfg_bool(&c, CK_READ_ONLY));
	url = config_nats_url(&c);
	assert_string_equal(url, "nats://127.0.0.1:4222");
	free(url);
	config_release(&c);
}

static void
test_file_nested_keys(void **state)
{
	struct config c;
	struct err e = ERR_INIT;

	(void)state;
	config_init(&c);
	assert_int_equal(load("nats:\n  url: nats://a:1\n  timeout_ms: 750\n"
			      "coordinator:\n  lease_ms: 5000\nread_only: yes\n", &c, &e), ST_OK);
	assert_string_equal(cfg_str(&c, CK_NATS_URL), "nats://a:1");
	assert_int_equal(cfg_int(&c, CK_NATS_TIMEOUT_MS), 750);
	assert_int_equal(c.line[CK_NATS_TIMEOUT_MS], 3);
	assert_int_equal(c.source[CK_COORD_LEASE_MS], CFG_SRC_FILE);
	assert_true(cfg_bool(&c, CK_READ_ONLY));
	config_release(&c);
}

static void
test_errors_name_line_and_key(void **state)
{
	struct config c;
	struct err e = ERR_INIT;

	(void)state;
	config_init(&c);
	assert_int_equal(load("# comment\nnats:\n  timeout_ms: 900\n\n\n"
			      "coordinator:\n  lease_ms: 0\n", &c, &e), ST_CONFIG_VALUE);
	assert_non_null(strstr(e.msg, "line 7: coordinator.lease_ms: 0 is below the minimum 100"));
	/* Nothing of an invalid file is applied. */
	assert_int_equal(cfg_int(&c, CK_NATS_TIMEOUT_MS), 2000);

	assert_int_equal(load("nats:\n  timout_ms: 5\n", &c, &e), ST_CONFIG_KEY);
	assert_non_null(strstr(e.msg, "line 2: unknown key 'nats.timout_ms' (did you mean "
			       "'nats.timeout_ms'?)"));
	assert_int_equal(load("nats:\n  url: [a, b\n", &c, &e), ST_CONFIG_SYNTAX);
	assert_non_null(strstr(e.msg, "line"));
	assert_int_equal(load("nats:\n  url:\n    - a\n", &c, &e), ST_CONFIG_SYNTAX);
	assert_non_null(strstr(e.msg, "line 3: nats.url: expected a value or a mapping, found a list"));
	assert_int_equal(load("output:\n  format: xml\n", &c, &e), ST_CONFIG_VALUE);
	assert_non_null(strstr(e.msg, "not one of table|wide|json"));
	assert_int_equal(load("read_only: maybe\n", &c, &e), ST_CONFIG_VALUE);
	assert_int_equal(load("server:\n  port: 70000\n", &c, &e), ST_CONFIG_VALUE);
	assert_non_null(strstr(e.msg, "above the maximum 65535"));
	assert_int_equal(load("server:\n  port: 12\n  port: 13\n", &c, &e), ST_CONFIG_KEY);
	assert_non_null(strstr(e.msg, "set twice (first at line 2)"));
	assert_int_equal(load("just a string\n", &c, &e), ST_CONFIG_SYNTAX);
	assert_int_equal(load("", &c, &e), ST_OK);
	assert_int_equal(config_load_file(&c, "/nonexistent/x.yaml", NULL, &e), ST_NOT_FOUND);
	config_release(&c);
}

static void
test_validate_lists_every_problem(void **state)
{
	struct cfg_problems p = { 0 };
	struct config c;
	struct err e = ERR_INIT;
	char *path = write_tmp("nats:\n  timeout_ms: 1\n  bogus: 2\nserver:\n  port: abc\n");

	(void)state;
	config_init(&c);
	assert_int_equal(config_load_file(&c, path, &p, &e), ST_CONFIG_VALUE);
	assert_int_equal(p.n, 3);
	assert_non_null(strstr(p.v[1].msg, "line 3: unknown key 'nats.bogus'"));
	assert_non_null(strstr(p.v[2].msg, "line 5: server.port: 'abc' is not an integer"));
	cfg_problems_release(&p);
	config_release(&c);
	unlink(path);
	free(path);
}

static void
test_env_over_file(void **state)
{
	struct config c;
	struct err e = ERR_INIT;

	(void)state;
	config_init(&c);
	assert_int_equal(load("nats:\n  timeout_ms: 750\n", &c, &e), ST_OK);
	setenv("IF_NATS_TIMEOUT_MS", "1234", 1);
	assert_int_equal(config_load_env(&c, &e), ST_OK);
	assert_int_equal(cfg_int(&c, CK_NATS_TIMEOUT_MS), 1234);
	assert_int_equal(c.source[CK_NATS_TIMEOUT_MS], CFG_SRC_ENV);
	assert_int_equal(config_set(&c, CK_NATS_TIMEOUT_MS, "99", CFG_SRC_FLAG, &e), ST_OK);
	assert_int_equal(cfg_int(&c, CK_NATS_TIMEOUT_MS), 99);
	setenv("IF_NATS_TIMEOUT_MS", "10", 1);
	assert_int_equal(config_load_env(&c, &e), ST_CONFIG_VALUE);
	assert_non_null(strstr(e.msg, "environment IF_NATS_TIMEOUT_MS"));
	unsetenv("IF_NATS_TIMEOUT_MS");
	config_release(&c);
}

/* The template and the schema list every key, and the template loads back. */
static void
test_template_and_schema(void **state)
{
	struct buf t = BUF_INIT, s = BUF_INIT;
	struct config c;
	struct err e = ERR_INIT;
	char *path;
	size_t i;

	(void)state;
	config_template(&t);
	config_schema(&s);
	for (i = 0; i < CK__COUNT; i++) {
		const char *name = config_key((enum cfg_id)i)->name;
		const char *dot = strchr(name, '.');
		assert_non_null(strstr(t.s, dot ? dot + 1 : name));
		assert_non_null(strstr(s.s, dot ? dot + 1 : name));
	}
	config_init(&c);
	path = write_tmp(t.s);
	assert_int_equal(config_load_file(&c, path, NULL, &e), ST_OK);
	unlink(path);
	free(path);
	config_release(&c);
	buf_release(&t);
	buf_release(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_file_nested_keys),
		cmocka_unit_test(test_errors_name_line_and_key),
		cmocka_unit_test(test_validate_lists_every_problem),
		cmocka_unit_test(test_env_over_file),
		cmocka_unit_test(test_template_and_schema),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
