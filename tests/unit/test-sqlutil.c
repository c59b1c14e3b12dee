/*
 * The file mark of sqlutil.h: a read-only, immutable reader of an index
 * compares it after reading, so a writer's checkpoint meanwhile (which
 * rewrites pages of the file) makes it read the buckets instead.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/sqlutil.h"

static char dir[64], path[96];

static void
write_file(const char *p, const char *text, const char *mode)
{
	FILE *f = fopen(p, mode);

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/ifctl-sqlutil-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof path, "%s/index.db", dir);
	write_file(path, "page one\n", "w");
	return 0;
}

static int
teardown(void **state)
{
	char other[128];

	(void)state;
	snprintf(other, sizeof other, "%s.new", path);
	unlink(other);
	unlink(path);
	rmdir(dir);
	return 0;
}

/* Untouched: the same. Appended, rewritten in place, replaced, removed: not. */
static void
test_mark(void **state)
{
	struct sql_file_mark m;
	char other[128];

	(void)state;
	sql_file_mark(path, &m);
	assert_true(m.set);
	assert_true(sql_file_same(path, &m));

	write_file(path, "page two\n", "a");		/* grows, as a checkpoint may */
	assert_false(sql_file_same(path, &m));

	sql_file_mark(path, &m);
	usleep(20000);				/* past the file system's time granularity */
	write_file(path, "page ONE\npage TWO\n", "w");	/* same size, rewritten */
	assert_false(sql_file_same(path, &m));

	sql_file_mark(path, &m);
	snprintf(other, sizeof other, "%s.new", path);
	write_file(other, "page ONE\npage TWO\n", "w");
	assert_int_equal(rename(other, path), 0);	/* another file under the name */
	assert_false(sql_file_same(path, &m));

	sql_file_mark(path, &m);
	unlink(path);
	assert_false(sql_file_same(path, &m));
}

/* A file missing when marked is never the same (the reader did not read it). */
static void
test_missing(void **state)
{
	struct sql_file_mark m;
	char none[128];

	(void)state;
	snprintf(none, sizeof none, "%s/none.db", dir);
	sql_file_mark(none, &m);
	assert_false(m.set);
	assert_false(sql_file_same(none, &m));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mark, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
