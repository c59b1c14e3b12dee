/* read_file(): regular files only, a size limit, NUL bytes in text, stdin for "-". */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/util.h"

static char dir[] = "/tmp/ifctl-util-XXXXXX";

/* A file named name in the test directory holding len bytes of data. */
static char *
make_file(const char *name, const char *data, size_t len)
{
	char *path = xasprintf("%s/%s", dir, name);
	struct err e = ERR_INIT;

	assert_int_equal(write_file_atomic(path, data, len, 0600, &e), ST_OK);
	return path;
}

static void
test_limit(void **state)
{
	char data[101], *path, *text;
	struct err e = ERR_INIT;
	size_t len;

	(void)state;
	memset(data, 'x', sizeof data);
	path = make_file("limit", data, 100);
	assert_int_equal(read_file(path, 100, READ_TEXT, &text, &len, &e), ST_OK);
	assert_int_equal(len, 100);
	assert_int_equal(text[100], '\0');
	free(text);
	assert_int_equal(read_file(path, 99, READ_TEXT, &text, &len, &e), ST_BAD_VALUE);
	assert_null(text);
	assert_non_null(strstr(e.msg, path));
	assert_non_null(strstr(e.msg, "larger than the limit of 99 bytes"));
	/* READ_TAIL keeps the last max bytes instead. */
	data[90] = 'y';
	free(path);
	path = make_file("tail", data, 100);
	assert_int_equal(read_file(path, 10, READ_TAIL, &text, &len, &e), ST_OK);
	assert_int_equal(len, 10);
	assert_string_equal(text, "yxxxxxxxxx");
	free(text);
	free(path);
}

static void
test_not_regular(void **state)
{
	char *fifo = xasprintf("%s/fifo", dir), *text;
	struct err e = ERR_INIT;
	int64_t t0 = mono_ms();

	(void)state;
	assert_int_equal(read_file("/dev/zero", READ_MAX_SMALL, 0, &text, NULL, &e), ST_BAD_VALUE);
	assert_string_equal(e.msg, "cannot read '/dev/zero': it is a character device, "
			    "not a regular file");
	assert_int_equal(read_file(dir, READ_MAX_SMALL, 0, &text, NULL, &e), ST_BAD_VALUE);
	assert_non_null(strstr(e.msg, "it is a directory"));
	/* A FIFO with no writer is refused at once, not waited on. */
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(read_file(fifo, READ_MAX_SMALL, 0, &text, NULL, &e), ST_BAD_VALUE);
	assert_non_null(strstr(e.msg, "it is a FIFO"));
	assert_true(mono_ms() - t0 < 1000);
	assert_int_equal(read_file("/nonexistent/f", READ_MAX_SMALL, 0, &text, NULL, &e),
			 ST_NOT_FOUND);
	free(fifo);
}

static void
test_nul(void **state)
{
	char *path = make_file("nul", "{\"a\":1}\0{\"b\":2}", 15), *text;
	struct err e = ERR_INIT;
	size_t len;

	(void)state;
	assert_int_equal(read_file(path, 100, READ_TEXT, &text, &len, &e), ST_BAD_VALUE);
	assert_non_null(strstr(e.msg, "contains a NUL byte at offset 7"));
	/* Without READ_TEXT the bytes come back whole (/proc/PID/cmdline). */
	assert_int_equal(read_file(path, 100, 0, &text, &len, &e), ST_OK);
	assert_int_equal(len, 15);
	assert_memory_equal(text, "{\"a\":1}\0{\"b\":2}", 15);
	free(text);
	free(path);
}

/* "-" reads standard input with the same limit, whatever stdin is. */
static void
test_stdin(void **state)
{
	char *path = make_file("in", "hello", 5), *text;
	struct err e = ERR_INIT;
	int saved = dup(STDIN_FILENO), fd;

	(void)state;
	fd = open(path, O_RDONLY);
	assert_int_equal(dup2(fd, STDIN_FILENO), STDIN_FILENO);
	assert_int_equal(read_file("-", 100, READ_TEXT, &text, NULL, &e), ST_OK);
	assert_string_equal(text, "hello");
	free(text);
	close(fd);
	fd = open("/dev/zero", O_RDONLY);
	assert_int_equal(dup2(fd, STDIN_FILENO), STDIN_FILENO);
	assert_int_equal(read_file("-", 4096, 0, &text, NULL, &e), ST_BAD_VALUE);
	assert_string_equal(e.msg, "'standard input' is larger than the limit of 4 KiB");
	close(fd);
	dup2(saved, STDIN_FILENO);
	close(saved);
	free(path);
}

static void
test_fmt_size(void **state)
{
	char s[32];

	(void)state;
	fmt_size(s, READ_MAX_CONFIG);
	assert_string_equal(s, "1 MiB");
	fmt_size(s, READ_MAX_LEDGER);
	assert_string_equal(s, "4 GiB");
	fmt_size(s, READ_MAX_KEY);
	assert_string_equal(s, "4 KiB");
	fmt_size(s, 1025);
	assert_string_equal(s, "1025 bytes");
}

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int
teardown(void **state)
{
	char *cmd = xasprintf("rm -rf %s", dir);
	int rc = system(cmd);

	(void)state;
	free(cmd);
	return rc;
}

/* strv_split: empty pieces dropped, NULL and "" give none. */
static void
test_strv_split(void **state)
{
	size_t n;
	char **v;

	(void)state;
	v = strv_split("a,,bc,", ',', &n);
	assert_int_equal(n, 2);
	assert_string_equal(v[0], "a");
	assert_string_equal(v[1], "bc");
	assert_null(v[2]);
	strv_free(v, n);
	v = strv_split(NULL, ',', &n);
	assert_int_equal(n, 0);
	strv_free(v, n);
	v = strv_split(",", ',', &n);
	assert_int_equal(n, 0);
	strv_free(v, n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_not_regular),
		cmocka_unit_test(test_nul),
		cmocka_unit_test(test_stdin),
		cmocka_unit_test(test_fmt_size),
		cmocka_unit_test(test_strv_split),
	};
	return cmocka_run_group_tests_name("util", tests, setup, teardown);
}
