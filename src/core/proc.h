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
#include <stdint.h>
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
	bool private_files;	/* umask 077: every file the program creates is 0600 */
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

/*
 * What names one process for its whole life, read from /proc: its start
 * time (clock ticks after boot, /proc/PID/stat field 22, which a reused pid
 * does not share), its executable (device and inode of /proc/PID/exe, so a
 * binary upgraded under a running server still matches) and its argument
 * vector (NUL-separated, exactly as /proc/PID/cmdline holds it).
 */
struct proc_ident {
	unsigned long long start;	/* stat field 22 */
	unsigned long long exe_dev;	/* of /proc/PID/exe */
	unsigned long long exe_ino;
	char *argv;			/* NUL-separated; the caller releases with proc_ident_release */
	size_t argv_len;
};

/* Read pid's identity; false when it is gone or not readable (another user's). */
bool proc_ident_read(pid_t pid, struct proc_ident *id);
void proc_ident_release(struct proc_ident *id);

/*
 * A handle on pid that stays with that process even when the pid is
 * reused (pidfd_open, Linux 5.3); -1 when the kernel has none or the
 * process is gone. Open it before checking the identity: a signal through
 * it cannot reach a later process with the same pid.
 */
int proc_pidfd(pid_t pid);

/* Send sig through pidfd when it is not -1, else to pid; 0 or -1 with errno. */
int proc_signal(pid_t pid, int pidfd, int sig);

/*
 * Wait up to timeout_ms for a process that is not our child to exit
 * (poll on the pidfd, else on /proc); true when it is gone.
 */
bool proc_wait_gone(pid_t pid, int pidfd, int64_t timeout_ms);

#endif
