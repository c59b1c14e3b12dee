/* Child processes: see proc.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/proc.h"
#include "core/util.h"

/* See proc.h. */
char *
proc_find(const char *name)
{
	const char *path = getenv("PATH");
	struct buf dirs = BUF_INIT;
	char *p, *save = NULL, *found = NULL;

	if (strchr(name, '/'))
		return access(name, X_OK) == 0 ? xstrdup(name) : NULL;
	buf_addf(&dirs, "%s:/usr/local/sbin:/usr/sbin:/sbin", path ? path : "/usr/bin:/bin");
	for (p = strtok_r(dirs.s, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
		char *cand = xasprintf("%s/%s", *p ? p : ".", name);
		if (access(cand, X_OK) == 0) {
			found = cand;
			break;
		}
		free(cand);
	}
	buf_release(&dirs);
	return found;
}

/*
 * In the child: set up the descriptors and session, exec, and on failure
 * send errno up the pipe. Async-signal-safe calls only.
 */
static void
child_exec(const struct proc_spec *s, int report)
{
	int err, fd;

	if (s->new_session)
		setsid();
	if (s->private_files)
		umask(077);
	if (s->null_stdin && (fd = open("/dev/null", O_RDONLY)) >= 0)
		dup2(fd, 0);
	if (s->log) {
		if ((fd = open(s->log, O_WRONLY | O_CREAT | O_APPEND, 0600)) < 0)
			fd = open("/dev/null", O_WRONLY);	/* never the caller's output */
		dup2(fd, 1);
		dup2(fd, 2);
	}
	execv(s->path, s->argv);
	err = errno;
	if (write(report, &err, sizeof err) < 0)
		_exit(126);
	_exit(127);
}

/* See proc.h. */
enum status
proc_spawn(const struct proc_spec *s, pid_t *pid, struct err *e)
{
	int report[2], child_errno = 0;
	ssize_t n;
	pid_t child;

	if (pipe2(report, O_CLOEXEC) != 0)
		return err_set(e, ST_FAIL, "cannot start '%s': %s", s->path, strerror(errno));
	child = fork();
	if (child < 0) {
		close(report[0]);
		close(report[1]);
		return err_set(e, ST_FAIL, "cannot fork to start '%s': %s", s->path,
			       strerror(errno));
	}
	if (child == 0)
		child_exec(s, report[1]);
	close(report[1]);
	do
		n = read(report[0], &child_errno, sizeof child_errno);
	while (n < 0 && errno == EINTR);
	close(report[0]);
	if (n > 0) {	/* exec failed: the pipe was not closed by it */
		waitpid(child, NULL, 0);
		return err_set(e, ST_FAIL, "cannot execute '%s': %s", s->path,
			       strerror(child_errno));
	}
	*pid = child;
	return ST_OK;
}

/* See proc.h. */
bool
proc_alive(pid_t pid)
{
	char path[64], *text = NULL, *rp;
	bool alive;

	if (kill(pid, 0) != 0 && errno == ESRCH)
		return false;
	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if (read_file(path, READ_MAX_SMALL, 0, &text, NULL, NULL) != ST_OK)
		return false;
	rp = strrchr(text, ')');
	alive = !(rp && rp[1] == ' ' && rp[2] == 'Z');
	free(text);
	return alive;
}

/* See proc.h. */
void
proc_stop(pid_t pid, int sig)
{
	if (pid <= 0)
		return;
	kill(pid, sig);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/* Field 22 of /proc/PID/stat (the start time), counted after the ')' of the name. */
static bool
stat_start(pid_t pid, unsigned long long *start)
{
	char path[64], *text = NULL, *p;
	int field = 2;
	bool ok = false;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if (read_file(path, READ_MAX_SMALL, 0, &text, NULL, NULL) != ST_OK)
		return false;
	if ((p = strrchr(text, ')')) != NULL) {
		while (*p && field < 22)
			if (*p++ == ' ')
				field++;
		ok = field == 22 && sscanf(p, "%llu", start) == 1;
	}
	free(text);
	return ok;
}

/* See proc.h. */
bool
proc_ident_read(pid_t pid, struct proc_ident *id)
{
	char path[64];
	struct stat st;

	memset(id, 0, sizeof *id);
	snprintf(path, sizeof path, "/proc/%ld/exe", (long)pid);
	if (pid <= 0 || stat(path, &st) != 0 || !stat_start(pid, &id->start))
		return false;
	id->exe_dev = (unsigned long long)st.st_dev;
	id->exe_ino = (unsigned long long)st.st_ino;
	snprintf(path, sizeof path, "/proc/%ld/cmdline", (long)pid);
	if (read_file(path, READ_MAX_SMALL, 0, &id->argv, &id->argv_len, NULL) != ST_OK) {
		id->argv = NULL;
		return false;
	}
	return true;
}

/* See proc.h. */
void
proc_ident_release(struct proc_ident *id)
{
	free(id->argv);
	memset(id, 0, sizeof *id);
}

/* See proc.h. */
int
proc_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	errno = ENOSYS;
	return -1;
#endif
}

/* See proc.h. */
int
proc_signal(pid_t pid, int pidfd, int sig)
{
#ifdef SYS_pidfd_send_signal
	if (pidfd >= 0)
		return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
#endif
	return kill(pid, sig);
}

/* See proc.h. */
bool
proc_wait_gone(pid_t pid, int pidfd, int64_t timeout_ms)
{
	int64_t deadline = mono_ms() + timeout_ms;
	struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

	while (mono_ms() < deadline) {
		if (pidfd >= 0 ? poll(&pfd, 1, 20) > 0 : !proc_alive(pid))
			return true;
		if (pidfd < 0)
			usleep(20 * 1000);
	}
	return pidfd >= 0 ? poll(&pfd, 1, 0) > 0 : !proc_alive(pid);
}
