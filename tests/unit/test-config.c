/* Configuration: file, env and flag layering; errors that name file, line and key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/config.h"
#include "core/util.h"
#include "core/yamlx.h"

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

/* text: key: then n times open, then the value, then n times close. */
static char *
nested(const char *open, const char *value, const char *close, size_t n)
{
	struct buf b = BUF_INIT;
	size_t i;

	buf_adds(&b, "nats: ");
	for (i = 0; i < n; i++)
		buf_adds(&b, open);
	buf_adds(&b, value);
	for (i = 0; i < n; i++)
		buf_adds(&b, close);
	buf_addc(&b, '\n');
	return buf_detach(&b);
}

/* A yaml_flatten() callback that counts the leaves. */
static enum status
count_leaf(void *arg, const char *path, const char *value, int line, struct err *e)
{
	(void)path, (void)value, (void)line, (void)e;
	(*(size_t *)arg)++;
	return ST_OK;
}

/* Largest resident set of this process so far, in KiB. */
static long
max_rss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/*
 * Hostile YAML is refused fast, in bounded memory and stack, with the line:
 * 500 KB of nesting, a 200 KB nested sequence, an alias bomb.
 */
static void
test_yaml_bounds(void **state)
{
	struct config c;
	struct err e = ERR_INIT;
	struct buf bomb = BUF_INIT;
	size_t leaves = 0;
	int64_t t0;
	long rss;
	char *text, prev = 'a', n;
	int i;

	(void)state;
	config_init(&c);
	text = nested("{a: ", "1", "}", 100000);	/* 500 KB */
	assert_true(strlen(text) > 500000);
	t0 = mono_ms();
	assert_int_equal(load(text, &c, &e), ST_CONFIG_SYNTAX);
	assert_non_null(strstr(e.msg, "line 1: nested deeper than 64 levels"));
	free(text);
	text = nested("[", "", "]", 100000);		/* 200 KB */
	assert_int_equal(load(text, &c, &e), ST_CONFIG_SYNTAX);
	assert_non_null(strstr(e.msg, "line 1: nats: expected a value or a mapping, found a list"));
	free(text);
	assert_true(mono_ms() - t0 < 1000);

	/* The limit is exact: 64 mappings deep is read (and names an unknown key). */
	text = nested("{a: ", "1", "}", YAML_MAX_DEPTH - 1);
	assert_int_equal(load(text, &c, &e), ST_CONFIG_KEY);
	free(text);
	text = nested("{a: ", "1", "}", YAML_MAX_DEPTH);
	assert_int_equal(load(text, &c, &e), ST_CONFIG_SYNTAX);
	free(text);

	/* Nine levels of nine aliases would be 387 million values. */
	buf_adds(&bomb, "a: &a {k0: x, k1: x, k2: x, k3: x, k4: x, k5: x, k6: x, k7: x, k8: x}\n");
	for (n = 'b'; n <= 'j'; prev = n++) {
		buf_addf(&bomb, "%c: &%c {", n, n);
		for (i = 0; i < 9; i++)
			buf_addf(&bomb, "%sk%d: *%c", i ? ", " : "", i, prev);
		buf_adds(&bomb, "}\n");
	}
	rss = max_rss_kib();
	t0 = mono_ms();
	assert_int_equal(yaml_flatten(bomb.s, bomb.len, count_leaf, &leaves, &e), ST_BAD_YAML);
	assert_non_null(strstr(e.msg, "aliases expand to more than 10000 values"));
	assert_true(mono_ms() - t0 < 1000);
	assert_true(max_rss_kib() - rss < 64 * 1024);
	assert_true(leaves <= YAML_MAX_ALIAS_NODES);
	/* Long values repeated: 100 aliases of 200 KB would be 20 MB. */
	buf_reset(&bomb);
	buf_adds(&bomb, "v: &v \"");
	for (i = 0; i < 200000; i++)
		buf_addc(&bomb, 'x');
	buf_adds(&bomb, "\"\nm: {");
	for (i = 0; i < 100; i++)
		buf_addf(&bomb, "%sk%d: *v", i ? ", " : "", i);
	buf_adds(&bomb, "}\n");
	leaves = 0;
	assert_int_equal(yaml_flatten(bomb.s, bomb.len, count_leaf, &leaves, &e), ST_BAD_YAML);
	assert_non_null(strstr(e.msg, "line 2: anchors and aliases expand to more than 16 MiB"));
	assert_true(leaves > 50 && leaves < 100);
	buf_release(&bomb);
	/* Nothing of a refused file was applied. */
	assert_int_equal(c.source[CK_NATS_TIMEOUT_MS], CFG_SRC_DEFAULT);
	config_release(&c);
}

/* Anchors and aliases that fit are replayed under the alias's path and line. */
static void
test_yaml_aliases_and_documents(void **state)
{
	struct config c;
	struct err e = ERR_INIT;

	(void)state;
	config_init(&c);
	assert_int_equal(load("nats:\n  timeout_ms: &t 750\ncoordinator:\n  lease_ms: *t\n",
			      &c, &e), ST_OK);
	assert_int_equal(cfg_int(&c, CK_COORD_LEASE_MS), 750);
	assert_int_equal(c.line[CK_COORD_LEASE_MS], 4);
	assert_int_equal(load("nats: &n {timeout_ms: 700, name: x}\n\nother: *n\n", &c, &e),
			 ST_CONFIG_KEY);
	assert_non_null(strstr(e.msg, "line 3: unknown key 'other.timeout_ms'"));
	assert_int_equal(load("nats:\n  url: *nope\n", &c, &e), ST_CONFIG_SYNTAX);
	assert_non_null(strstr(e.msg, "line 2: unknown alias '*nope'"));
	assert_int_equal(load("nats: &n {name: *n}\n", &c, &e), ST_CONFIG_SYNTAX);
	assert_int_equal(load("nats:\n  url: a\n---\nnats:\n  name: b\n", &c, &e),
			 ST_CONFIG_SYNTAX);
	assert_non_null(strstr(e.msg, "line 3: a second YAML document"));
	assert_int_equal(load("---\nnats:\n  url: a\n...\n", &c, &e), ST_OK);
	assert_int_equal(load("nats:\n  name: \"a\\0b\"\n", &c, &e), ST_CONFIG_SYNTAX);
	assert_non_null(strstr(e.msg, "line 2: nats.name: contains a NUL character"));
	assert_int_equal(load("? [a]\n: 1\n", &c, &e), ST_CONFIG_SYNTAX);
	assert_non_null(strstr(e.msg, "a key must be a plain word"));
	config_release(&c);
}

/* A config file is read up to READ_MAX_CONFIG bytes, and only a regular one. */
static void
test_file_limits(void **state)
{
	struct config c;
	struct err e = ERR_INIT;
	char *text = xmalloc(READ_MAX_CONFIG + 2);

	(void)state;
	config_init(&c);
	memset(text, '#', READ_MAX_CONFIG + 1);
	text[READ_MAX_CONFIG - 1] = '\n';
	text[READ_MAX_CONFIG] = '\0';
	assert_int_equal(load(text, &c, &e), ST_OK);
	text[READ_MAX_CONFIG] = '#';
	text[READ_MAX_CONFIG + 1] = '\0';
	assert_int_equal(load(text, &c, &e), ST_BAD_VALUE);
	assert_non_null(strstr(e.msg, "is larger than the limit of 1 MiB"));
	assert_int_equal(config_load_file(&c, "/dev/zero", NULL, &e), ST_BAD_VALUE);
	assert_non_null(strstr(e.msg, "'/dev/zero': it is a character device, not a regular file"));
	assert_int_equal(config_load_file(&c, "/tmp", NULL, &e), ST_BAD_VALUE);
	assert_int_equal(c.source[CK_NATS_TIMEOUT_MS], CFG_SRC_DEFAULT);
	free(text);
	config_release(&c);
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
		cmocka_unit_test(test_yaml_bounds),
		cmocka_unit_test(test_yaml_aliases_and_documents),
		cmocka_unit_test(test_file_limits),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
