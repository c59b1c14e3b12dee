/* Child processes: find, spawn with a log, exec failures reported, stop. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/proc.h"
#include "core/util.h"

/* A program is found in PATH or as a path; a missing one is NULL. */
static void
test_find(void **state)
{
	char *sh = proc_find("sh"), *abs = proc_find("/bin/sh");

	(void)state;
	assert_non_null(sh);
	assert_non_null(strstr(sh, "/sh"));
	assert_string_equal(abs, "/bin/sh");
	assert_null(proc_find("ifctl-no-such-program"));
	assert_null(proc_find("/nonexistent/sh"));
	free(sh);
	free(abs);
}

/* The child's output lands in the log; its exit status is its own. */
static void
test_spawn_log(void **state)
{
	char dir[] = "/tmp/ifctl-proc-XXXXXX", *log, *text = NULL;
	char *argv[] = { (char *)"sh", (char *)"-c", (char *)"echo out; echo err >&2; exit 3", NULL };
	struct proc_spec ps = { .path = "/bin/sh", .argv = argv, .null_stdin = true,
				.new_session = true };
	struct err e = ERR_INIT;
	pid_t pid = 0;
	int status;

	(void)state;
	assert_non_null(mkdtemp(dir));
	log = xasprintf("%s/child.log", dir);
	ps.log = log;
	assert_int_equal(proc_spawn(&ps, &pid, &e), ST_OK);
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 3);
	assert_int_equal(read_file(log, 4096, 0, &text, NULL, &e), ST_OK);
	assert_string_equal(text, "out\nerr\n");
	free(text);
	unlink(log);
	rmdir(dir);
	free(log);
}

/* A program that cannot be executed is an error at once, not a child that exits 127. */
static void
test_exec_failure(void **state)
{
	char file[] = "/tmp/ifctl-proc-XXXXXX", *argv[] = { (char *)"x", NULL }, *want;
	struct proc_spec ps = { .path = file, .argv = argv };
	struct err e = ERR_INIT;
	pid_t pid = 0;
	int fd;

	(void)state;
	assert_true((fd = mkstemp(file)) >= 0);	/* mode 0600: not executable */
	close(fd);
	want = xasprintf("cannot execute '%s'", file);
	assert_int_equal(proc_spawn(&ps, &pid, &e), ST_FAIL);
	assert_int_equal(pid, 0);
	assert_non_null(strstr(e.msg, want));
	unlink(file);
	free(want);
	ps.path = "/nonexistent";
	assert_int_equal(proc_spawn(&ps, &pid, &e), ST_FAIL);
	assert_non_null(strstr(e.msg, "No such file"));
}

/* A running child is alive until stopped and reaped. */
static void
test_alive_and_stop(void **state)
{
	char *argv[] = { (char *)"sleep", (char *)"30", NULL };
	char *prog = proc_find("sleep");
	struct proc_spec ps = { .path = prog, .argv = argv };
	struct err e = ERR_INIT;
	pid_t pid = 0;

	(void)state;
	assert_int_equal(proc_spawn(&ps, &pid, &e), ST_OK);
	assert_true(proc_alive(pid));
	proc_stop(pid, SIGTERM);
	assert_false(proc_alive(pid));
	proc_stop(0, SIGTERM);	/* no child: nothing happens */
	free(prog);
}

/*
 * A process's identity (start time, executable, exact argv) is read from
 * /proc; a pidfd signals it and sees it go; under private_files what it
 * creates is 0600.
 */
static void
test_ident_pidfd(void **state)
{
	char dir[] = "/tmp/ifctl-proc-XXXXXX", *file, *prog = proc_find("sh");
	char *argv[] = { (char *)"sh", (char *)"-c", NULL, NULL };
	struct proc_spec ps = { .path = prog, .argv = argv, .private_files = true };
	struct proc_ident a, b;
	struct err e = ERR_INIT;
	struct stat sb;
	pid_t pid = 0;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	file = xasprintf("%s/made", dir);
	argv[2] = xasprintf(": >'%s'; exec sleep 30", file);
	assert_int_equal(proc_spawn(&ps, &pid, &e), ST_OK);
	while (stat(file, &sb) != 0)
		usleep(1000);
	assert_int_equal(sb.st_mode & 0777, 0600);
	/* the file is made before the shell's exec: wait (at most 5 s) for sleep */
	for (int i = 0;; i++) {
		assert_true(proc_ident_read(pid, &a));
		if ((a.argv_len == sizeof "sleep\0" "30" && memcmp(a.argv, "sleep", 6) == 0) ||
		    i == 4999)
			break;
		proc_ident_release(&a);
		usleep(1000);
	}
	assert_true(proc_ident_read(getpid(), &b));
	assert_true(a.start >= b.start);
	assert_true(a.exe_ino != b.exe_ino || a.exe_dev != b.exe_dev);
	assert_true(a.argv_len == sizeof "sleep\0" "30" && memcmp(a.argv, "sleep\0" "30", a.argv_len) == 0);
	proc_ident_release(&a);
	proc_ident_release(&b);
	fd = proc_pidfd(pid);	/* -1 on a kernel without pidfds: kill() then */
	assert_int_equal(proc_signal(pid, fd, SIGTERM), 0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	assert_true(proc_wait_gone(pid, fd, 1000));
	assert_false(proc_ident_read(pid, &a));
	if (fd >= 0)
		close(fd);
	unlink(file);
	rmdir(dir);
	free(file);
	free(argv[2]);
	free(prog);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_spawn_log),
		cmocka_unit_test(test_exec_failure),
		cmocka_unit_test(test_alive_and_stop),
		cmocka_unit_test(test_ident_pidfd),
	};
	return cmocka_run_group_tests_name("proc", tests, NULL, NULL);
}
