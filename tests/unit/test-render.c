/* Rendering documents: every -o format, --no-headers, colour, empty documents, quoting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cmd/render.h"
#include "core/rows.h"

/* Two tasks: id, priority (a number), a wide column, a data-only column. */
static struct rowset *
tasks(void)
{
	struct rowset *rs = rows_new("tasks");
	size_t r;

	rows_col(rs, "id", COL_TEXT, 0);
	rows_col(rs, "priority", COL_NUM, 0);
	rows_col(rs, "lease_owner", COL_TEXT, COL_WIDE);
	rows_col(rs, "note", COL_TEXT, COL_DATA);
	r = rows_add(rs);
	rows_set(rs, r, 0, "t-1");
	rows_set(rs, r, 1, "10");
	rows_set(rs, r, 2, "swarm-7");
	rows_set(rs, r, 3, "a\nb");
	r = rows_add(rs);
	rows_set(rs, r, 0, "t-22");
	rows_set(rs, r, 1, "5");
	return rs;
}

/* One record: a server with a port and a flag. */
static struct rowset *
server(void)
{
	struct rowset *rs = rows_new("server");
	size_t r;

	rs->single = true;
	rows_col(rs, "url", COL_TEXT, 0);
	rows_col(rs, "port", COL_NUM, 0);
	rows_col(rs, "auth", COL_BOOL, 0);
	r = rows_add(rs);
	rows_set(rs, r, 0, "nats://127.0.0.1:4222");
	rows_set(rs, r, 1, "4222");
	rows_set(rs, r, 2, "false");
	return rs;
}

/* Values that need quoting in CSV, escaping in TSV, JSON and YAML. */
static struct rowset *
awkward(void)
{
	struct rowset *rs = rows_new("notes");
	size_t r;

	rows_col(rs, "key", COL_TEXT, 0);
	rows_col(rs, "value", COL_TEXT, 0);
	r = rows_add(rs);
	rows_set(rs, r, 0, "comma,quote\"");
	rows_set(rs, r, 1, "tab\there\\ and\nnewline");
	r = rows_add(rs);
	rows_set(rs, r, 0, "yes");
	rows_set(rs, r, 1, NULL);
	return rs;
}

/* Render d with format f (and flags) into a fresh string the test frees. */
static char *
render(const struct doc *d, enum out_format f, bool no_headers, bool color)
{
	struct render_opts ro = { .format = f, .no_headers = no_headers, .color = color };
	struct buf out = BUF_INIT;

	render_buf(&ro, d, &out);
	return buf_detach(&out);
}

static void
expect(const struct doc *d, enum out_format f, bool no_headers, const char *want)
{
	char *got = render(d, f, no_headers, false);

	assert_string_equal(got, want);
	free(got);
}

static void
test_table(void **state)
{
	struct doc d = { 0 };

	(void)state;
	doc_add(&d, tasks());
	expect(&d, OUT_TABLE, false,
	       "ID    PRIORITY\n"
	       "t-1         10\n"
	       "t-22         5\n");
	expect(&d, OUT_WIDE, false,
	       "ID    PRIORITY  LEASE OWNER\n"
	       "t-1         10  swarm-7\n"
	       "t-22         5\n");
	expect(&d, OUT_TABLE, true,
	       "t-1   10\n"
	       "t-22   5\n");
	doc_add(&d, server());
	expect(&d, OUT_TABLE, false,
	       "ID    PRIORITY\n"
	       "t-1         10\n"
	       "t-22         5\n"
	       "\n"
	       "url:  nats://127.0.0.1:4222\n"
	       "port: 4222\n"
	       "auth: false\n");
	doc_release(&d);
}

static void
test_color(void **state)
{
	struct doc d = { 0 };
	char *got;

	(void)state;
	doc_add(&d, tasks());
	got = render(&d, OUT_TABLE, false, true);
	assert_non_null(strstr(got, "\033[1mID  \033[0m"));
	assert_non_null(strstr(got, "\033[1mPRIORITY\033[0m\n"));	/* no padding before the reset */
	assert_non_null(strstr(got, "t-1         10\n"));	/* cells plain */
	free(got);
	doc_release(&d);
}

static void
test_json(void **state)
{
	struct doc d = { 0 };

	(void)state;
	doc_add(&d, tasks());
	expect(&d, OUT_JSON, false,
	       "[{\"id\":\"t-1\",\"priority\":10,\"lease_owner\":\"swarm-7\",\"note\":\"a\\nb\"},"
	       "{\"id\":\"t-22\",\"priority\":5,\"lease_owner\":null,\"note\":null}]\n");
	expect(&d, OUT_JSONL, false,
	       "{\"id\":\"t-1\",\"priority\":10,\"lease_owner\":\"swarm-7\",\"note\":\"a\\nb\"}\n"
	       "{\"id\":\"t-22\",\"priority\":5,\"lease_owner\":null,\"note\":null}\n");
	doc_add(&d, server());
	expect(&d, OUT_JSON, false,
	       "{\"tasks\":[{\"id\":\"t-1\",\"priority\":10,\"lease_owner\":\"swarm-7\","
	       "\"note\":\"a\\nb\"},{\"id\":\"t-22\",\"priority\":5,\"lease_owner\":null,"
	       "\"note\":null}],\"server\":{\"url\":\"nats://127.0.0.1:4222\",\"port\":4222,"
	       "\"auth\":false}}\n");
	expect(&d, OUT_JSONL, false,
	       "{\"section\":\"tasks\",\"id\":\"t-1\",\"priority\":10,\"lease_owner\":\"swarm-7\","
	       "\"note\":\"a\\nb\"}\n"
	       "{\"section\":\"tasks\",\"id\":\"t-22\",\"priority\":5,\"lease_owner\":null,"
	       "\"note\":null}\n"
	       "{\"section\":\"server\",\"url\":\"nats://127.0.0.1:4222\",\"port\":4222,"
	       "\"auth\":false}\n");
	doc_release(&d);
}

/* A lone single record is an object; with no row, null. */
static void
test_json_single(void **state)
{
	struct doc d = { 0 };
	struct rowset *rs = server();

	(void)state;
	doc_add(&d, rs);
	expect(&d, OUT_JSON, false,
	       "{\"url\":\"nats://127.0.0.1:4222\",\"port\":4222,\"auth\":false}\n");
	rs->nrows = 0;
	expect(&d, OUT_JSON, false, "null\n");
	rs->nrows = 1;
	doc_release(&d);
}

static void
test_yaml(void **state)
{
	struct doc d = { 0 };
	struct rowset *empty = rows_new("checks");

	(void)state;
	doc_add(&d, tasks());
	expect(&d, OUT_YAML, false,
	       "- id: t-1\n"
	       "  priority: 10\n"
	       "  lease_owner: swarm-7\n"
	       "  note: \"a\\nb\"\n"
	       "- id: t-22\n"
	       "  priority: 5\n"
	       "  lease_owner: null\n"
	       "  note: null\n");
	rows_col(empty, "check", COL_TEXT, 0);
	doc_add(&d, empty);
	doc_add(&d, server());
	expect(&d, OUT_YAML, false,
	       "tasks:\n"
	       "  - id: t-1\n"
	       "    priority: 10\n"
	       "    lease_owner: swarm-7\n"
	       "    note: \"a\\nb\"\n"
	       "  - id: t-22\n"
	       "    priority: 5\n"
	       "    lease_owner: null\n"
	       "    note: null\n"
	       "checks: []\n"
	       "server:\n"
	       "  url: nats://127.0.0.1:4222\n"
	       "  port: 4222\n"
	       "  auth: false\n");
	doc_release(&d);
}

static void
test_csv_tsv(void **state)
{
	struct doc d = { 0 };
	struct buf cell = BUF_INIT;

	(void)state;
	doc_add(&d, awkward());
	expect(&d, OUT_CSV, false,
	       "key,value\r\n"
	       "\"comma,quote\"\"\",tab\\there\\ and\\nnewline\r\n"
	       "yes,\r\n");
	expect(&d, OUT_CSV, true,
	       "\"comma,quote\"\"\",tab\\there\\ and\\nnewline\r\n"
	       "yes,\r\n");
	expect(&d, OUT_TSV, false,
	       "key\tvalue\n"
	       "comma,quote\"\ttab\\there\\\\ and\\nnewline\n"
	       "yes\t\n");
	expect(&d, OUT_TSV, true,
	       "comma,quote\"\ttab\\there\\\\ and\\nnewline\n"
	       "yes\t\n");
	doc_add(&d, server());	/* sets follow one another after a blank line */
	expect(&d, OUT_TSV, true,
	       "comma,quote\"\ttab\\there\\\\ and\\nnewline\n"
	       "yes\t\n"
	       "\n"
	       "nats://127.0.0.1:4222\t4222\tfalse\n");
	csv_cell(&cell, "plain");
	csv_cell(&cell, ",");
	csv_cell(&cell, "cr\r");
	assert_string_equal(cell.s, "plain\",\"cr\\r");
	buf_release(&cell);
	doc_release(&d);
}

/* A JSON cell that is not JSON, and a number column with text, stay strings. */
static void
test_json_quoting(void **state)
{
	struct doc d = { 0 };
	struct rowset *rs = rows_new("x");
	size_t r;

	(void)state;
	rows_col(rs, "payload", COL_JSON, 0);
	rows_col(rs, "n", COL_NUM, 0);
	rows_col(rs, "name", COL_TEXT, 0);
	r = rows_add(rs);
	rows_set(rs, r, 0, "{\"a\":[1,2]}");
	rows_set(rs, r, 1, "0/5");
	rows_set(rs, r, 2, "say \"hi\"\x01");
	r = rows_add(rs);
	rows_set(rs, r, 0, "{not json");
	rows_set(rs, r, 1, "-1.5e3");
	rows_set(rs, r, 2, "\xc3\xa9t\xc3\xa9");
	doc_add(&d, rs);
	expect(&d, OUT_JSONL, false,
	       "{\"payload\":{\"a\":[1,2]},\"n\":\"0/5\",\"name\":\"say \\\"hi\\\"\\u0001\"}\n"
	       "{\"payload\":\"{not json\",\"n\":-1.5e3,\"name\":\"\xc3\xa9t\xc3\xa9\"}\n");
	/* Display width counts code points: the accented name pads like ASCII. */
	expect(&d, OUT_TABLE, false,
	       "PAYLOAD           N  NAME\n"
	       "{\"a\":[1,2]}     0/5  say \"hi\"\\x01\n"
	       "{not json    -1.5e3  \xc3\xa9t\xc3\xa9\n");
	doc_release(&d);
}

/* Nothing to show renders nothing; a text document is written as it is. */
/*
 * Control characters never reach the terminal from a table, wide, csv or
 * tsv cell: ESC ] 0 ; title BEL (retitles an xterm), CSI as C1, a bidi
 * override, a byte that is not UTF-8. JSON escapes them on its own.
 */
static void
test_escapes(void **state)
{
	static const enum out_format faces[] = { OUT_TABLE, OUT_WIDE, OUT_CSV, OUT_TSV };
	struct rowset *rs = rows_new("x");
	struct doc d = { 0 };
	size_t r, i;
	char *got;

	(void)state;
	rows_col(rs, "title", COL_TEXT, 0);
	r = rows_add(rs);
	rows_set(rs, r, 0, "\033]0;pwned\a\xc2\x9b" "2J\xe2\x80\xae" "evil\xff\x7f\\");
	doc_add(&d, rs);
	expect(&d, OUT_TABLE, true, "\\e]0;pwned\\a\\u009b2J\\u202eevil\\xff\\x7f\\\n");
	expect(&d, OUT_TSV, true, "\\e]0;pwned\\a\\u009b2J\\u202eevil\\xff\\x7f\\\\\n");
	for (i = 0; i < sizeof faces / sizeof *faces; i++) {
		got = render(&d, faces[i], false, false);
		assert_null(strpbrk(got, "\033\a\x7f\xff"));
		assert_null(strstr(got, "\xc2\x9b"));
		assert_null(strstr(got, "\xe2\x80\xae"));
		free(got);
	}
	rows_set(rs, r, 0, "\xc3\xa9t\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x90\x9d");	/* kept as it is */
	expect(&d, OUT_TABLE, true, "\xc3\xa9t\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x90\x9d\n");
	rows_set(rs, r, 0, "\xe0\x80\xaf\xed\xa0\x80\xf4\x90\x80\x80");	/* overlong, surrogate, > U+10FFFF */
	expect(&d, OUT_TABLE, true, "\\xe0\\x80\\xaf\\xed\\xa0\\x80\\xf4\\x90\\x80\\x80\n");
	doc_release(&d);
}

static void
test_empty_and_text(void **state)
{
	struct doc d = { 0 };
	struct rowset *rs = rows_new("tasks");
	enum out_format f;

	(void)state;
	for (f = OUT_TABLE; f <= OUT_TSV; f++)
		expect(&d, f, false, "");
	rows_col(rs, "id", COL_TEXT, 0);
	doc_add(&d, rs);
	expect(&d, OUT_TABLE, false, "ID\n");
	expect(&d, OUT_TABLE, true, "");
	expect(&d, OUT_JSON, false, "[]\n");
	expect(&d, OUT_JSONL, false, "");
	expect(&d, OUT_YAML, false, "[]\n");
	expect(&d, OUT_CSV, false, "id\r\n");
	doc_release(&d);
	d.text = strdup("complete -F _ifctl ifctl\n");
	for (f = OUT_TABLE; f <= OUT_TSV; f++)
		expect(&d, f, false, "complete -F _ifctl ifctl\n");
	doc_release(&d);
}

/* render_doc writes what render_buf builds; a failed write is ST_IO. */
static void
test_render_doc(void **state)
{
	struct render_opts ro = RENDER_OPTS_INIT;
	struct doc d = { 0 };
	char text[64] = "";
	FILE *f;

	(void)state;
	doc_add(&d, server());
	f = fmemopen(text, sizeof text, "w");
	assert_non_null(f);
	assert_int_equal(render_doc(&ro, f, &d), ST_OK);
	fclose(f);
	assert_string_equal(text, "url:  nats://127.0.0.1:4222\nport: 4222\nauth: false\n");
	f = fopen("/dev/full", "w");
	if (f) {
		setvbuf(f, NULL, _IONBF, 0);
		assert_int_equal(render_doc(&ro, f, &d), ST_IO);
		fclose(f);
	}
	doc_release(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_color),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_json_single),
		cmocka_unit_test(test_yaml),
		cmocka_unit_test(test_csv_tsv),
		cmocka_unit_test(test_json_quoting),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_empty_and_text),
		cmocka_unit_test(test_render_doc),
	};
	return cmocka_run_group_tests_name("render", tests, NULL, NULL);
}
