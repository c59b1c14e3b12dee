/*
 * The dispatcher in-process, as the console's ':' prompt runs it: several
 * command lines in one session on a real nats-server share one connection
 * and one witness writer, each leaves its document and its error, per-call
 * flags (--read-only, --mode=falsify, -o, --trace) stay with their call, and
 * every change is witnessed with its operator entry.
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
#include <sodium.h>

#include "cmd/cmd.h"
#include "core/ledger.h"
#include "core/util.h"
#include "harness.h"

static struct hserver srv;
static char home[300], xdg[300];

/* Notices the session sent, one per line. */
static struct buf notices = BUF_INIT;

static void
keep_notice(void *arg, enum notice_level level, const char *line)
{
	(void)arg;
	buf_addf(&notices, "%d %s\n", (int)level, line);
}

/* Dispatch a command line given as words (NULL-terminated), program name first. */
static enum status
run(struct session *s, struct doc *d, struct render_opts *ro, struct err *e, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;

	va_start(ap, e);
	argv[argc++] = (char *)"ifctl";
	while (argc < 31 && (argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	doc_release(d);
	*e = (struct err)ERR_INIT;
	return cmd_dispatch(s, argc, argv, d, ro, e);
}

/* The document as JSON, as the CLI would print it with -o json. */
static char *
as_json(const struct doc *d)
{
	struct render_opts ro = { .format = OUT_JSON };
	struct buf out = BUF_INIT;

	render_buf(&ro, d, &out);
	return buf_detach(&out);
}

static int
setup(void **state)
{
	(void)state;
	if (sodium_init() < 0 || hserver_start(&srv) != 0)
		return -1;
	snprintf(home, sizeof home, "%s/home", srv.dir);
	snprintf(xdg, sizeof xdg, "%s/config", srv.dir);
	setenv("IF_HOME", home, 1);
	setenv("XDG_CONFIG_HOME", xdg, 1);
	unsetenv("IF_NATS_URL");
	unsetenv("IF_READ_ONLY");
	unsetenv("IF_OUTPUT");
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	hserver_destroy(&srv);
	buf_release(&notices);
	bus_shutdown();
	return 0;
}

/* Count operator entries in the ledger: one per witnessed command. */
static enum status
count_operator(void *arg, const struct wentry *e, struct err *err)
{
	(void)err;
	if (strcmp(e->component, "operator") == 0)
		(*(int *)arg)++;
	return ST_OK;
}

static void
test_two_commands_one_session(void **state)
{
	struct session s;
	struct render_opts ro = RENDER_OPTS_INIT;
	struct doc d = { 0 };
	struct err e = ERR_INIT;
	struct bus *first;
	struct ledger_writer *writer;
	uint64_t count = 0;
	struct store *ix, *ix2;
	int operators = 0;
	char *json;

	(void)state;
	session_init(&s);
	s.notice = keep_notice;
	assert_int_equal(run(&s, &d, &ro, &e, "up", "--schema-only", "--server", srv.url,
			     NULL), ST_OK);
	assert_int_equal(s.connects, 1);
	first = s.bus;
	writer = s.witness;
	assert_non_null(first);
	assert_non_null(writer);	/* a change borrows the session's writer */

	/* Second command: same connection, same writer, its own document. */
	assert_int_equal(run(&s, &d, &ro, &e, "task", "push", "t-1", "--title", "first",
			     "-o", "json", NULL), ST_OK);
	assert_int_equal(s.connects, 1);
	assert_ptr_equal(s.bus, first);
	assert_ptr_equal(s.witness, writer);
	assert_int_equal(ro.format, OUT_JSON);
	json = as_json(&d);
	assert_non_null(strstr(json, "\"id\":\"t-1\""));
	assert_non_null(strstr(json, "\"title\":\"first\""));
	free(json);

	/* A read: -o is per call, the connection is still the first one. */
	assert_int_equal(run(&s, &d, &ro, &e, "task", "show", "t-1", NULL), ST_OK);
	assert_int_equal(ro.format, OUT_TABLE);
	assert_ptr_equal(s.bus, first);
	assert_non_null(doc_find(&d, "task"));

	/* Each change left its operator entry, in the one chain. */
	assert_int_equal(ledger_read(s.bus, count_operator, &operators, &count, &e), ST_OK);
	assert_int_equal(operators, 2);
	assert_true(count >= 2);

	/* The index is opened once and lent: a second borrow is the same store. */
	assert_int_equal(session_index(&s, &ix, &e), ST_OK);
	assert_int_equal(session_index(&s, &ix2, &e), ST_OK);
	assert_ptr_equal(ix, ix2);
	assert_non_null(strstr(store_path(ix), home));
	doc_release(&d);
	session_release(&s);
}

static void
test_per_call_flags(void **state)
{
	struct session s;
	struct render_opts ro = RENDER_OPTS_INIT;
	struct doc d = { 0 };
	struct err e = ERR_INIT;
	char *json;

	(void)state;
	session_init(&s);
	s.notice = keep_notice;
	assert_int_equal(run(&s, &d, &ro, &e, "task", "show", "t-1", "--server", srv.url, NULL),
			 ST_OK);

	/* --read-only refuses this call only; the next one may change state. */
	assert_int_equal(run(&s, &d, &ro, &e, "task", "push", "t-2", "--title", "x",
			     "--read-only", NULL), ST_READ_ONLY);
	assert_non_null(strstr(e.msg, "read-only"));
	assert_int_equal(d.n, 0);	/* a failure shows nothing */
	assert_int_equal(run(&s, &d, &ro, &e, "task", "push", "t-2", "--title", "x", NULL),
			 ST_OK);

	/* --mode=falsify: the checks are the document; a taken id fails one. */
	assert_int_equal(run(&s, &d, &ro, &e, "task", "push", "t-2", "--title", "x",
			     "--mode=falsify", NULL), ST_FALSIFIED);
	assert_int_equal(e.code, ST_FALSIFIED);
	assert_non_null(strstr(e.msg, "a task with this id exists"));
	json = as_json(&d);
	assert_non_null(strstr(json, "\"check\":\"id is free\",\"result\":\"fail\""));
	free(json);

	/* --trace goes to the notice hook, not to stdio; -q silences it. */
	buf_reset(&notices);
	assert_int_equal(run(&s, &d, &ro, &e, "task", "show", "t-2", "--trace=abc", NULL),
			 ST_OK);
	assert_non_null(strstr(notices.s, "trace: abc"));
	buf_reset(&notices);
	assert_int_equal(run(&s, &d, &ro, &e, "task", "show", "t-2", "--trace=abc", "-q", NULL),
			 ST_OK);
	assert_int_equal(notices.len, 0);

	/* One session, one server: another --server is refused, the session goes on. */
	assert_int_equal(run(&s, &d, &ro, &e, "task", "show", "t-2", "--server",
			     "nats://127.0.0.1:1", NULL), ST_USAGE);
	assert_non_null(strstr(e.msg, "this session is on"));
	assert_int_equal(run(&s, &d, &ro, &e, "task", "show", "t-9", NULL), ST_NOT_FOUND);
	assert_int_equal(run(&s, &d, &ro, &e, "task", "show", "t-2", NULL), ST_OK);
	assert_int_equal(s.connects, 1);

	/* Help and usage errors need no server and print nothing themselves. */
	assert_int_equal(run(&s, &d, &ro, &e, "task", "--help", NULL), ST_OK);
	assert_non_null(d.text);
	assert_non_null(strstr(d.text, "Usage: ifctl coordinator"));
	assert_int_equal(run(&s, &d, &ro, &e, "tsak", NULL), ST_USAGE);
	assert_non_null(strstr(e.msg, "unknown command: tsak"));
	doc_release(&d);
	session_release(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_commands_one_session),
		cmocka_unit_test(test_per_call_flags),
	};
	return cmocka_run_group_tests_name("dispatch", tests, setup, teardown);
}
