/*
 * Child processes: find a program, start it, see whether it lives, stop it.
 * Used by the local server ('ifctl up'), the test harness, and next the
 * sandbox runner.
 *
 * proc_spawn() reports a program that cannot be executed as an error of
 * its own (a close-on-exec pipe carries exec's errno back), so a caller
 * never mistakes "not started" for "started, then exited 127". Between
 * fork and exec the child calls only async-signal-safe functions, so a
 * multi-threaded caller (nats.c runs threads) may spawn.
 */
#ifndef IF_PROC_H
#define IF_PROC_H

#include <stdbool.h>
#include <sys/types.h>

#include "core/status.h"

/*
 * A program to find: name as given when it holds a '/', else the first
 * executable in PATH, then /usr/local/sbin, /usr/sbin and /sbin (where
 * Debian puts nats-server). NULL when there is none; the caller frees.
 */
char *proc_find(const char *name);

struct proc_spec {
	const char *path;	/* the program's path (proc_find) */
	char *const *argv;	/* argv[0] first, NULL-terminated */
	const char *log;	/* stdout and stderr appended here (0600; /dev/null when it
				   cannot be opened), or NULL: the caller's */
	bool null_stdin;	/* stdin from /dev/null instead of the caller's */
	bool new_session;	/* setsid(): no controlling terminal, its own process group */
};

/*
 * Start the program; *pid is the child. ST_FAIL naming the program when it
 * cannot be forked or executed (the child is reaped then).
 */
enum status proc_spawn(const struct proc_spec *s, pid_t *pid, struct err *e);

/* Is pid alive and not a zombie (inside a container no init may reap it)? */
bool proc_alive(pid_t pid);

/* Send sig to our child pid and reap it (blocks until it exits). */
void proc_stop(pid_t pid, int sig);

#endif
