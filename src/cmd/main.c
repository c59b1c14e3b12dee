/*
 * ifctl's entry point: one session, one command line dispatched in it, the
 * result rendered to stdout, the outcome mapped to a message and an exit
 * code.
 *
 * Errors go to stderr as two lines:
 *	ifctl: <what failed, naming the subject>
 *	remedy: <what to do> [<catalogue name>]
 * and the exit code comes from the status table (ifctl-errors(7)).
 */
#include <locale.h>
#include <stdio.h>

#include <sodium.h>

#include "cmd/cmd.h"

/* One line to stderr, after prefix, with any control character in it made visible. */
static void
print_line(const char *prefix, const char *line)
{
	struct buf b = BUF_INIT;

	text_visible(&b, line, 0);
	fprintf(stderr, "%s%s\n", prefix, b.s);
	buf_release(&b);
}

/* Notices of the session go to stderr as they come. */
static void
print_notice(void *arg, enum notice_level level, const char *line)
{
	(void)arg;
	(void)level;
	print_line("", line);
}

/* Print a failure: the message, then the remedy (the site's, else the catalogue's). */
static void
report(const struct err *e, enum status st)
{
	const struct status_info *si = status_info(st);
	const char *msg = e->code == st && e->msg[0] ? e->msg : si->text;
	struct buf line = BUF_INIT;

	print_line("ifctl: ", msg);	/* it may quote what it refused */
	buf_addf(&line, "%s [%s]", err_remedy_text(e, st), si->name);
	print_line("remedy: ", line.s);
	buf_release(&line);
}

int
main(int argc, char **argv)
{
	struct session s;
	struct render_opts ro = RENDER_OPTS_INIT;
	struct doc doc = { 0 };
	struct err e = ERR_INIT;
	enum status st;

	setlocale(LC_ALL, "");
	if (sodium_init() < 0) {
		fprintf(stderr, "ifctl: cannot initialise libsodium\n");
		return 1;
	}
	session_init(&s);
	s.notice = print_notice;
	st = cmd_dispatch(&s, argc, argv, &doc, &ro, &e);
	if (render_doc(&ro, stdout, &doc) != ST_OK || (fflush(stdout) != 0 && st == ST_OK))
		st = err_set(&e, ST_IO, "cannot write output");
	if (st != ST_OK)
		report(&e, st);
	doc_release(&doc);
	session_release(&s);
	bus_shutdown();
	return status_exit_code(st);
}
