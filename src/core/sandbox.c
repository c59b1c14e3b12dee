/* The sandbox: see sandbox.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <seccomp.h>

#include "core/proc.h"
#include "core/sandbox.h"
#include "core/util.h"

/* Fixed descriptors the bwrap command line names (sandbox_argv). */
enum { FD_SECCOMP = 3, FD_PROGRAM = 4, FD_STATUS = 5, FD_TOKEN = 6, FD_SECRET = 7,
       FD__END = FD_SECRET + SANDBOX_SECRETS_MAX };

static const char *const limit_names[] = {
	[LIMIT_NONE] = "none", [LIMIT_WALL] = "wall", [LIMIT_CPU] = "cpu",
	[LIMIT_MEMORY] = "memory", [LIMIT_SECCOMP] = "seccomp", [LIMIT_CANCEL] = "cancel",
};
_Static_assert(ARRAY_SIZE(limit_names) == LIMIT__COUNT, "one name per limit");

static const char *const kind_names[] = { [SANDBOX_NATIVE] = "native", [SANDBOX_WASM] = "wasm" };
_Static_assert(ARRAY_SIZE(kind_names) == SANDBOX__KINDS, "one name per kind");

/* Bounds of each limit: name, offset, min, max (checked by sandbox_limits_check). */
static const struct {
	const char *name;
	size_t off;
	int64_t min, max;
} limit_bounds[] = {
	{ "memory (MiB)", offsetof(struct sandbox_limits, memory_mb), 16, 1 << 20 },
	{ "cpu (s)", offsetof(struct sandbox_limits, cpu_s), 1, 86400 },
	{ "wall (ms)", offsetof(struct sandbox_limits, wall_ms), 10, 86400000 },
	{ "processes", offsetof(struct sandbox_limits, procs), 1, 1 << 20 },
	{ "open files", offsetof(struct sandbox_limits, files), 8, 1 << 20 },
};

/*
 * System calls a guest never needs, refused by killing the process: they
 * change mounts, namespaces, other processes, the kernel or its keys. A
 * socket of a family other than AF_UNIX is refused the same way (the
 * egress proxy's Unix socket is the only way out); io_uring too, which can
 * make sockets without the socket call. System calls of another
 * architecture (int 0x80 on x86-64) kill as well: libseccomp's default.
 */
static const char *const denied_calls[] = {
	"mount", "umount2", "pivot_root", "chroot", "unshare", "setns", "ptrace",
	"process_vm_readv", "process_vm_writev", "kexec_load", "kexec_file_load",
	"init_module", "finit_module", "delete_module", "bpf", "perf_event_open",
	"keyctl", "add_key", "request_key", "userfaultfd", "reboot", "swapon", "swapoff",
	"syslog", "acct", "quotactl", "open_by_handle_at", "name_to_handle_at",
	"fanotify_init", "lookup_dcookie", "iopl", "ioperm", "settimeofday",
	"clock_settime", "adjtimex", "sethostname", "setdomainname", "mount_setattr",
	"fsopen", "fsmount", "fsconfig", "move_mount", "open_tree",
	"io_uring_setup", "io_uring_enter", "io_uring_register",	/* IORING_OP_SOCKET */
};

void
sandbox_result_init(struct sandbox_result *r)
{
	memset(r, 0, sizeof *r);
	buf_init(&r->out);
	buf_init(&r->err);
}

void
sandbox_result_release(struct sandbox_result *r)
{
	free(r->trap);
	buf_release(&r->out);
	buf_release(&r->err);
	sandbox_result_init(r);
}

const char *
sandbox_limit_name(enum sandbox_limit l)
{
	return (unsigned)l < LIMIT__COUNT ? limit_names[l] : "?";
}

const char *
sandbox_kind_name(enum sandbox_kind k)
{
	return (unsigned)k < SANDBOX__KINDS ? kind_names[k] : "?";
}

bool
sandbox_ok(const struct sandbox_result *r)
{
	return r->exited && r->exit_code == 0 && r->killed_by == LIMIT_NONE && r->trap == NULL;
}

void
sandbox_reason(const struct sandbox_result *r, const struct sandbox_limits *lim,
	       struct buf *out)
{
	switch (r->killed_by) {
	case LIMIT_WALL:
		buf_addf(out, "killed by the wall-time limit (%lld ms)", (long long)lim->wall_ms);
		return;
	case LIMIT_CPU:
		buf_addf(out, "killed by the CPU-time limit (%lld s)", (long long)lim->cpu_s);
		return;
	case LIMIT_MEMORY:
		buf_addf(out, "stopped by the memory limit (%lld MiB; peak %lld KiB)",
			 (long long)lim->memory_mb, (long long)r->peak_rss_kib);
		return;
	case LIMIT_SECCOMP:
		buf_adds(out, "killed by the seccomp filter: a refused system call (a network "
			 "socket, mount, ptrace, ...)");
		return;
	case LIMIT_CANCEL:
		buf_adds(out, "stopped from outside: the task was cancelled or its lease lost");
		return;
	default:
		break;
	}
	if (r->trap)
		buf_addf(out, "trap: %s", r->trap);
	else if (!r->exited)
		buf_addf(out, "killed by signal %d (%s)", r->signal, strsignal(r->signal));
	else if (r->exit_code)
		buf_addf(out, "exit %d", r->exit_code);
	else
		buf_adds(out, "ok");
}

enum status
sandbox_limits_check(const struct sandbox_limits *l, struct err *e)
{
	size_t i;
	int64_t v;

	for (i = 0; i < ARRAY_SIZE(limit_bounds); i++) {
		memcpy(&v, (const char *)l + limit_bounds[i].off, sizeof v);
		if (v < limit_bounds[i].min || v > limit_bounds[i].max)
			return err_set(e, ST_BAD_VALUE, "sandbox limit %s: %lld is not within "
				       "%lld..%lld", limit_bounds[i].name, (long long)v,
				       (long long)limit_bounds[i].min, (long long)limit_bounds[i].max);
	}
	return ST_OK;
}

enum status
sandbox_kind_of(const char *what, const unsigned char *data, size_t len, enum sandbox_kind *k,
		struct err *e)
{
	static const unsigned char wasm[8] = { 0, 'a', 's', 'm', 1, 0, 0, 0 };

	if (len >= 4 && memcmp(data, wasm, 4) == 0) {
		if (len < 8 || memcmp(data, wasm, 8) != 0)
			return err_set(e, ST_BAD_VALUE, "'%s' is not a WASM module this host runs: "
				       "version is not 1, or the header is cut", what);
		*k = SANDBOX_WASM;
		return ST_OK;
	}
	if ((len >= 4 && memcmp(data, "\177ELF", 4) == 0) || (len >= 2 && memcmp(data, "#!", 2) == 0)) {
		*k = SANDBOX_NATIVE;
		return ST_OK;
	}
	return err_set(e, ST_BAD_VALUE, "'%s' is neither a WASM module (\\0asm) nor an executable "
		       "(ELF or #!)", what);
}

/* Append one argument (a copy) to a growing vector. */
static void
argv_add(char ***v, size_t *n, size_t *cap, const char *s)
{
	xgrow(v, cap, *n + 2, sizeof **v);
	(*v)[(*n)++] = xstrdup(s);
	(*v)[*n] = NULL;
}

/* Several arguments, up to a NULL. */
static void
argv_addv(char ***v, size_t *n, size_t *cap, const char *const *a)
{
	for (; *a; a++)
		argv_add(v, n, cap, *a);
}

void
sandbox_argv(const struct sandbox_spec *s, enum sandbox_kind kind, const char *bwrap,
	     const char *interp, bool wasi, char ***argv, size_t *argc)
{
	static const char *const base[] = {
		"--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
		"--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin",
		"--symlink", "usr/sbin", "/sbin", "--symlink", "usr/lib", "/lib",
		"--symlink", "usr/lib64", "/lib64", "--proc", "/proc", "--dev", "/dev", NULL,
	};
	char size[32], fd[8];
	size_t cap = 0, i;

	*argv = NULL;
	*argc = 0;
	argv_add(argv, argc, &cap, bwrap);
	argv_addv(argv, argc, &cap, base);
	/* private /tmp and /work, each as large as the memory limit at most */
	snprintf(size, sizeof size, "%lld", (long long)s->lim.memory_mb << 20);
	argv_addv(argv, argc, &cap, (const char *const[]){ "--size", size, "--tmpfs", "/tmp",
			"--size", size, "--tmpfs", "/work", NULL });
	snprintf(fd, sizeof fd, "%d", FD_PROGRAM);
	if (kind == SANDBOX_WASM)
		argv_addv(argv, argc, &cap, (const char *const[]){ "--perms", "0444", "--file", fd,
				"/sandbox/module.wasm", "--ro-bind", interp, "/sandbox/wasm-interp",
				NULL });
	else
		argv_addv(argv, argc, &cap, (const char *const[]){ "--perms", "0555", "--file", fd,
				"/sandbox/program", NULL });
	snprintf(fd, sizeof fd, "%d", FD_TOKEN);
	if (s->token)
		argv_addv(argv, argc, &cap, (const char *const[]){ "--perms", "0444", "--ro-bind-data",
				fd, SANDBOX_CRED_PATH, NULL });
	for (i = 0; i < s->nsecrets && i < SANDBOX_SECRETS_MAX; i++) {
		char dest[300];
		snprintf(fd, sizeof fd, "%d", FD_SECRET + (int)i);
		snprintf(dest, sizeof dest, "%s/%s", SANDBOX_SECRETS_DIR, s->secret_names[i]);
		argv_addv(argv, argc, &cap, (const char *const[]){ "--perms", "0444",
				"--ro-bind-data", fd, dest, NULL });
	}
	if (s->egress)
		argv_addv(argv, argc, &cap, (const char *const[]){ "--bind", s->egress,
				SANDBOX_EGRESS_PATH, NULL });
	snprintf(fd, sizeof fd, "%d", FD_SECCOMP);
	argv_addv(argv, argc, &cap, (const char *const[]){ "--seccomp", fd, NULL });
	snprintf(fd, sizeof fd, "%d", FD_STATUS);
	argv_addv(argv, argc, &cap, (const char *const[]){ "--json-status-fd", fd, "--remount-ro",
			"/", "--chdir", "/work", "--", NULL });
	if (kind == SANDBOX_WASM)
		argv_addv(argv, argc, &cap, (const char *const[]){ "/sandbox/wasm-interp",
				wasi ? "--wasi" : "--host-print",
				wasi ? "/sandbox/module.wasm" : "--run-all-exports",
				wasi ? NULL : "/sandbox/module.wasm", NULL });
	else
		argv_add(argv, argc, &cap, "/sandbox/program");
	for (i = 0; i < s->nargs; i++)
		argv_add(argv, argc, &cap, s->args[i]);
}

enum status
sandbox_seccomp_fd(int *fd, struct err *e)
{
	scmp_filter_ctx f = seccomp_init(SCMP_ACT_ALLOW);
	enum status st = ST_OK;
	int rc = 0, sys;
	size_t i;

	/* Spelled out: clang's -Wmissing-field-initializers rejects SCMP_A0(). */
	const struct scmp_arg_cmp not_unix = {
		.arg = 0, .op = SCMP_CMP_NE, .datum_a = AF_UNIX, .datum_b = 0,
	};

	*fd = -1;
	if (f == NULL)
		return err_set(e, ST_FAIL, "cannot build the seccomp filter: seccomp_init failed");
	for (i = 0; i < ARRAY_SIZE(denied_calls) && rc == 0; i++)
		if ((sys = seccomp_syscall_resolve_name(denied_calls[i])) != __NR_SCMP_ERROR)
			rc = seccomp_rule_add(f, SCMP_ACT_KILL_PROCESS, sys, 0);
	if (rc == 0)
		rc = seccomp_rule_add_array(f, SCMP_ACT_KILL_PROCESS, SCMP_SYS(socket), 1,
					    &not_unix);
	if (rc == 0 && (*fd = memfd_create("ifctl-seccomp", MFD_CLOEXEC)) < 0)
		rc = -errno;
	if (rc == 0)
		rc = seccomp_export_bpf(f, *fd);
	if (rc == 0 && lseek(*fd, 0, SEEK_SET) < 0)
		rc = -errno;
	if (rc != 0) {
		st = err_set(e, ST_FAIL, "cannot build the seccomp filter: %s", strerror(-rc));
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
	}
	seccomp_release(f);
	return st;
}

/* --- running ------------------------------------------------------------ */

/* What one run holds open while it runs. */
struct run {
	const struct sandbox_spec *s;
	struct sandbox_result *r;
	int prog_fd, seccomp_fd, token_fd, status_fd[2];
	int secret_fd[SANDBOX_SECRETS_MAX];	/* memfds holding the secrets */
	int report_fd[2];		/* the monitor's report (child) */
	int in_fd, out_fd, err_fd, pidfd;	/* our ends */
	pid_t pid;
	size_t in_off;
	struct buf status;		/* bwrap's JSON status lines */
	struct buf errall;		/* stderr while it is short (setup errors) */
};

/* Does this wasm-interp have WASI compiled in? Read once from its binary. */
static bool
interp_has_wasi(const char *interp)
{
	static int known = -1;		/* one interpreter per process */
	char *data = NULL;
	size_t len = 0;

	if (known >= 0)
		return known;
	if (read_file(interp, (size_t)64 << 20, 0, &data, &len, NULL) == ST_OK)
		known = memmem(data, len, "wasi support not compiled in", 28) == NULL;
	else
		known = 0;
	free(data);
	return known;
}

/* Open the program, check its kind, and decide how a WASM module runs. */
static enum status
open_program(struct run *ru, const char *interp, bool *wasi, struct err *e)
{
	unsigned char head[8];
	struct stat sb;
	char *data = NULL;
	size_t len = 0;
	ssize_t n;
	enum status st;

	*wasi = false;
	if ((ru->prog_fd = open(ru->s->program, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0)
		return err_set(e, errno == ENOENT ? ST_NOT_FOUND : ST_PERMISSION,
			       "cannot open '%s': %s", ru->s->program, strerror(errno));
	if (fstat(ru->prog_fd, &sb) < 0 || !S_ISREG(sb.st_mode))
		return err_set(e, ST_BAD_VALUE, "'%s' is not a regular file", ru->s->program);
	if ((size_t)sb.st_size > SANDBOX_PROGRAM_MAX)
		return err_set(e, ST_BAD_VALUE, "'%s' is larger than %zu MiB", ru->s->program,
			       SANDBOX_PROGRAM_MAX >> 20);
	n = pread(ru->prog_fd, head, sizeof head, 0);
	if ((st = sandbox_kind_of(ru->s->program, head, n > 0 ? (size_t)n : 0, &ru->r->kind, e)) != ST_OK ||
	    ru->r->kind != SANDBOX_WASM)
		return st;
	if (read_file(ru->s->program, SANDBOX_PROGRAM_MAX, 0, &data, &len, e) != ST_OK)
		return e ? e->code : ST_IO;
	*wasi = memmem(data, len, "wasi_snapshot_preview1", 22) != NULL;
	free(data);
	if (*wasi && !interp_has_wasi(interp))
		return err_set(e, ST_NO_PROGRAM, "module '%s' imports WASI (wasi_snapshot_preview1), "
			       "and '%s' was built without WASI support: give the module host.print "
			       "imports only, or install a wasm-interp built with WASI",
			       ru->s->program, interp);
	return ST_OK;
}

/* A pipe holding the token, for --ro-bind-data (small: fits the pipe's buffer). */
static enum status
token_pipe(struct run *ru, struct err *e)
{
	int p[2];
	size_t n = strlen(ru->s->token);

	if (pipe2(p, O_CLOEXEC) < 0)
		return err_set(e, ST_IO, "pipe: %s", strerror(errno));
	if (write(p[1], ru->s->token, n) != (ssize_t)n) {
		close(p[0]);
		close(p[1]);
		return err_set(e, ST_IO, "cannot pass the credential: %s", strerror(errno));
	}
	close(p[1]);
	ru->token_fd = p[0];
	return ST_OK;
}

/* Each secret in a memfd of its own, for --ro-bind-data (never on a command line). */
static enum status
secret_fds(struct run *ru, struct err *e)
{
	const struct sandbox_spec *s = ru->s;
	size_t i;

	if (s->nsecrets > SANDBOX_SECRETS_MAX)
		return err_set(e, ST_BAD_VALUE, "at most %d secrets per run", SANDBOX_SECRETS_MAX);
	for (i = 0; i < s->nsecrets; i++) {
		int fd;
		if (strchr(s->secret_names[i], '/') || s->secret_names[i][0] == '.' ||
		    !*s->secret_names[i])
			return err_set(e, ST_BAD_VALUE, "secret name '%s' is not a file name",
				       s->secret_names[i]);
		ru->secret_fd[i] = fd = memfd_create("ifctl-secret", MFD_CLOEXEC);
		if (fd < 0 || write(fd, s->secret_values[i], s->secret_lens[i]) !=
			      (ssize_t)s->secret_lens[i] || lseek(fd, 0, SEEK_SET) < 0)
			return err_set(e, ST_IO, "cannot pass secret '%s' to the sandbox: %s",
				       s->secret_names[i], strerror(errno));
	}
	return ST_OK;
}

/* The environment inside: bwrap passes its own on. */
static char **
sandbox_env(const struct sandbox_spec *s, size_t *n)
{
	char **v = xcalloc(8, sizeof *v);

	*n = 0;
	v[(*n)++] = xstrdup("PATH=/usr/bin:/bin");
	v[(*n)++] = xstrdup("HOME=/work");
	v[(*n)++] = xstrdup("TMPDIR=/tmp");
	v[(*n)++] = xstrdup("LANG=C.UTF-8");
	if (s->token) {
		v[(*n)++] = xasprintf("IF_CRED_TOKEN=%s", s->token);
		v[(*n)++] = xstrdup("IF_CRED_FILE=" SANDBOX_CRED_PATH);
	}
	if (s->egress)
		v[(*n)++] = xstrdup("IF_EGRESS_SOCKET=" SANDBOX_EGRESS_PATH);
	return v;
}

/*
 * In the child, between fork and exec: only async-signal-safe calls. The
 * descriptors move to their fixed numbers by way of high ones (a source
 * may sit on a target), the rest are closed, the limits set, and a root
 * caller becomes run_as.
 */
static void
exec_bwrap(const struct run *ru, int in, int out, int err, char **argv, char **envp)
{
	const struct sandbox_limits *l = &ru->s->lim;
	int src[FD__END] = { in, out, err, ru->seccomp_fd, ru->prog_fd, ru->status_fd[1],
			     ru->token_fd };
	int hi[FD__END], i;
	struct rlimit rl;

	for (i = 0; i < SANDBOX_SECRETS_MAX; i++)
		src[FD_SECRET + i] = ru->secret_fd[i];

	for (i = 0; i < FD__END; i++)
		hi[i] = src[i] >= 0 ? fcntl(src[i], F_DUPFD, 100 + i) : -1;
	for (i = 0; i < FD__END; i++)
		if (hi[i] >= 0)
			dup2(hi[i], i);
	syscall(SYS_close_range, FD__END, ~0U, 0);
	rl.rlim_cur = rl.rlim_max = (rlim_t)l->memory_mb << 20;
	setrlimit(RLIMIT_AS, &rl);
	rl.rlim_cur = (rlim_t)l->cpu_s;
	rl.rlim_max = (rlim_t)l->cpu_s + 1;
	setrlimit(RLIMIT_CPU, &rl);
	rl.rlim_cur = rl.rlim_max = (rlim_t)l->procs;
	setrlimit(RLIMIT_NPROC, &rl);
	rl.rlim_cur = rl.rlim_max = (rlim_t)l->files;
	setrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max = 0;
	setrlimit(RLIMIT_CORE, &rl);
	if (geteuid() == 0 && ru->s->run_as >= 0) {
		if (syscall(SYS_setgroups, 0, NULL) < 0 ||
		    syscall(SYS_setresgid, ru->s->run_as, ru->s->run_as, ru->s->run_as) < 0 ||
		    syscall(SYS_setresuid, ru->s->run_as, ru->s->run_as, ru->s->run_as) < 0)
			_exit(125);
	}
	execve(argv[0], argv, envp);
	_exit(126);
}

/* What the monitor tells the parent when everything inside has ended. */
struct report {
	int status;		/* bwrap's wait status */
	int64_t cpu_us;		/* user + system of everything reaped */
	int64_t maxrss_kib;	/* the largest resident set reaped */
};

/*
 * The monitor, a child of ours: a child subreaper that starts bwrap and
 * reaps it and whatever bwrap leaves behind. With a pid namespace, bwrap
 * exits with its child's status before it reaps that child (the
 * namespace's init), which then comes to the subreaper: only so do the
 * CPU time and peak memory of the guest reach a wait4(). It writes one
 * struct report on the report pipe and exits. Async-signal-safe calls only.
 */
static void
child(const struct run *ru, int in, int out, int err, char **argv, char **envp)
{
	struct report rep = { 0, 0, 0 };
	struct rusage u;
	pid_t pid, w;
	int st;

	setpgid(0, 0);
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	if ((pid = fork()) == 0)
		exec_bwrap(ru, in, out, err, argv, envp);
	if (pid < 0)
		_exit(124);
	dup2(ru->report_fd[1], 0);	/* keep nothing else open: stdin's writer is ours */
	syscall(SYS_close_range, 1, ~0U, 0);
	for (;;) {
		if ((w = wait4(-1, &st, 0, &u)) < 0 && errno == EINTR)
			continue;
		if (w < 0)
			break;
		if (w == pid)
			rep.status = st;
		rep.cpu_us += (int64_t)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1000000 +
			      u.ru_utime.tv_usec + u.ru_stime.tv_usec;
		if (u.ru_maxrss > rep.maxrss_kib)
			rep.maxrss_kib = u.ru_maxrss;
	}
	_exit(write(0, &rep, sizeof rep) == (ssize_t)sizeof rep ? 0 : 124);
}

/* Close a descriptor we hold, once. */
static void
close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Keep what a pipe gives: stdout up to its cap, stderr's tail, the status. */
static void
keep(struct run *ru, int which, const char *data, size_t n)
{
	struct sandbox_result *r = ru->r;
	size_t room;

	if (which == 0) {
		room = SANDBOX_OUT_MAX - r->out.len;
		buf_add(&r->out, data, n < room ? n : room);
		r->out_truncated |= n > room;
	} else if (which == 1) {
		buf_add(&r->err, data, n);
		if (r->err.len > SANDBOX_ERR_TAIL * 2) {
			memmove(r->err.s, r->err.s + r->err.len - SANDBOX_ERR_TAIL, SANDBOX_ERR_TAIL);
			buf_truncate(&r->err, SANDBOX_ERR_TAIL);
		}
		if (ru->errall.len < SANDBOX_ERR_TAIL)
			buf_add(&ru->errall, data, n);
	} else if (ru->status.len < 4096) {
		buf_add(&ru->status, data, n);
	}
}

/* Read what is there on *fd; at end of file close it. */
static void
drain(struct run *ru, int *fd, int which)
{
	char chunk[16384];
	ssize_t n = read(*fd, chunk, sizeof chunk);

	if (n > 0)
		keep(ru, which, chunk, (size_t)n);
	else if (n == 0 || (errno != EAGAIN && errno != EINTR))
		close_fd(fd);
}

/* Feed stdin as far as the pipe takes it; close it at the end. */
static void
feed(struct run *ru)
{
	ssize_t n = 0;

	if (ru->in_off < ru->s->input_len)	/* a socket: no SIGPIPE when it is closed */
		n = send(ru->in_fd, ru->s->input + ru->in_off, ru->s->input_len - ru->in_off,
			 MSG_NOSIGNAL);
	if (n > 0)
		ru->in_off += (size_t)n;
	if (ru->in_off >= ru->s->input_len || (n < 0 && errno != EAGAIN && errno != EINTR))
		close_fd(&ru->in_fd);
}

/*
 * Kill the sandbox: bwrap's child (the namespace's init: everything inside
 * goes with it), or, before bwrap has said who that is, the monitor's
 * whole process group.
 */
static void
kill_all(struct run *ru)
{
	const char *p = strstr(ru->status.s, "\"child-pid\":");
	long child_pid = p ? strtol(p + 12, NULL, 10) : 0;

	if (child_pid > 1)
		kill((pid_t)child_pid, SIGKILL);
	else
		kill(-ru->pid, SIGKILL);
}

/*
 * Poll the pipes and the monitor until it is reaped and has reported; the
 * wall deadline kills the sandbox (and, a second later, everything).
 */
static void
supervise(struct run *ru, struct report *rep)
{
	int64_t start = mono_ms(), deadline = start + ru->s->lim.wall_ms, now, wait_ms;
	bool reaped = false;
	struct pollfd p[5];
	int n, i, *fds[4] = { &ru->out_fd, &ru->err_fd, &ru->status_fd[0], &ru->in_fd };

	while (!reaped || ru->out_fd >= 0 || ru->err_fd >= 0 || ru->status_fd[0] >= 0) {
		now = mono_ms();
		if (!reaped && ru->r->killed_by == LIMIT_NONE && ru->s->cancel && *ru->s->cancel) {
			ru->r->killed_by = LIMIT_CANCEL;
			kill_all(ru);
			deadline = now + 1000;
		} else if (!reaped && now >= deadline && ru->r->killed_by == LIMIT_NONE) {
			ru->r->killed_by = LIMIT_WALL;
			kill_all(ru);
			deadline = now + 1000;
		} else if (!reaped && now >= deadline) {
			kill(-ru->pid, SIGKILL);
			deadline = now + 1000;
		}
		for (n = 0, i = 0; i < 4; i++)
			if (*fds[i] >= 0)
				p[n++] = (struct pollfd){ *fds[i], i == 3 ? POLLOUT : POLLIN, 0 };
		if (!reaped)
			p[n++] = (struct pollfd){ ru->pidfd, POLLIN, 0 };
		wait_ms = reaped ? 1000 : deadline > now ? deadline - now : 50;
		if (ru->s->cancel && wait_ms > 100)
			wait_ms = 100;
		if (poll(p, (nfds_t)n, (int)wait_ms) <= 0 && reaped)
			break;		/* the pipes stay open past the end: something kept them */
		for (i = 0; i < 3; i++)
			if (*fds[i] >= 0)
				drain(ru, fds[i], i);
		if (ru->in_fd >= 0)
			feed(ru);
		if (!reaped && waitpid(ru->pid, NULL, WNOHANG) == ru->pid)
			reaped = true;
	}
	ru->r->duration_ms = mono_ms() - start;
	if (read(ru->report_fd[0], rep, sizeof *rep) != (ssize_t)sizeof *rep)
		memset(rep, 0, sizeof *rep);
}

/* The first line of text as an error message may quote it. */
static void
first_line(const char *s, char *out, size_t n)
{
	snprintf(out, n, "%.*s", (int)strcspn(s, "\n"), s);
}

/*
 * Fill the result from how bwrap ended. A bwrap that never started its
 * child (no "child-pid" in its status) is a setup failure: no user
 * namespaces, or something else bwrap names.
 */
static enum status
conclude(struct run *ru, const struct report *rep, struct err *e)
{
	int wstatus = rep->status;
	struct sandbox_result *r = ru->r;
	const char *trap, *msg = ru->errall.s;
	char line[300];
	int64_t mem = (int64_t)ru->s->lim.memory_mb << 10;	/* KiB */

	r->cpu_ms = rep->cpu_us / 1000;
	r->peak_rss_kib = rep->maxrss_kib;
	r->exited = WIFEXITED(wstatus) && WEXITSTATUS(wstatus) <= 128;
	r->exit_code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
	r->signal = r->exited ? 0 : r->exit_code - 128;
	if (!strstr(ru->status.s, "\"child-pid\"") && r->killed_by == LIMIT_NONE) {
		first_line(msg, line, sizeof line);
		if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 125)
			return err_set(e, ST_PERMISSION, "cannot switch to uid %ld to run the sandbox",
				       ru->s->run_as);
		if (strstr(msg, "namespace") || strstr(msg, "uid map") || strstr(msg, "setting up uid") ||
		    strstr(msg, "Operation not permitted") || strstr(msg, "No permissions"))
			return err_set(e, ST_NO_USERNS, "cannot create user namespaces, so nothing runs "
				       "(never unsandboxed): %s", line);
		return err_set(e, ST_FAIL, "the sandbox did not start: %s", *line ? line : "bwrap failed");
	}
	if (r->killed_by != LIMIT_NONE)
		return ST_OK;
	if (r->signal == SIGSYS)
		r->killed_by = LIMIT_SECCOMP;
	else if (r->signal == SIGXCPU || (r->signal == SIGKILL && r->cpu_ms >= ru->s->lim.cpu_s * 1000 - 50))
		r->killed_by = LIMIT_CPU;
	else if ((!r->exited || r->exit_code) &&
		 (r->peak_rss_kib * 2 >= mem || strstr(r->err.s, "bad_alloc") ||
		  strstr(r->err.s, "Cannot allocate memory") || strstr(r->err.s, "out of memory")))
		r->killed_by = LIMIT_MEMORY;
	if (r->kind == SANDBOX_WASM && (trap = strstr(r->out.s, ") => error: ")) != NULL) {
		first_line(trap + 12, line, sizeof line);
		r->trap = xstrdup(line);
	}
	if (r->kind == SANDBOX_WASM && r->exited && r->exit_code == 1 && r->out.len == 0 &&
	    strstr(r->err.s, ": error: ")) {
		first_line(r->err.s, line, sizeof line);
		return err_set(e, ST_BAD_VALUE, "module '%s' is not valid WASM: %s", ru->s->program,
			       line);
	}
	return ST_OK;
}

/*
 * Make the pipes: stdin (a socket pair, so that writing to a closed one is
 * EPIPE, not SIGPIPE), stdout, stderr (ours non-blocking) and bwrap's status.
 */
static enum status
make_pipes(struct run *ru, int theirs[3], struct err *e)
{
	int p[5][2], i;

	for (i = 0; i < 5; i++)
		if ((i == 0 ? socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p[i]) :
		     pipe2(p[i], O_CLOEXEC)) < 0) {
			while (i-- > 0) {
				close(p[i][0]);
				close(p[i][1]);
			}
			return err_set(e, ST_IO, "pipe: %s", strerror(errno));
		}
	theirs[0] = p[0][0], ru->in_fd = p[0][1];
	ru->out_fd = p[1][0], theirs[1] = p[1][1];
	ru->err_fd = p[2][0], theirs[2] = p[2][1];
	ru->status_fd[0] = p[3][0], ru->status_fd[1] = p[3][1];
	ru->report_fd[0] = p[4][0], ru->report_fd[1] = p[4][1];
	for (i = 0; i < 4; i++)
		fcntl(i == 0 ? ru->in_fd : i == 1 ? ru->out_fd : i == 2 ? ru->err_fd : ru->status_fd[0],
		      F_SETFL, O_NONBLOCK);
	return ST_OK;
}

/* Find bwrap and (for a module) wasm-interp; ST_NO_PROGRAM naming the missing one. */
static enum status
find_tools(const struct sandbox_spec *s, char **bwrap, char **interp, struct err *e)
{
	*bwrap = proc_find(s->bwrap ? s->bwrap : "bwrap");
	*interp = proc_find(s->wasm_interp ? s->wasm_interp : "wasm-interp");
	if (*bwrap == NULL)
		return err_set(e, ST_NO_PROGRAM, "bubblewrap ('%s') is not installed: nothing runs "
			       "unsandboxed", s->bwrap ? s->bwrap : "bwrap");
	return ST_OK;
}

/* Fork and exec bwrap; the caller supervises. */
static enum status
start(struct run *ru, const char *bwrap, const char *interp, bool wasi, struct err *e)
{
	char **argv, **envp;
	size_t argc, envc;
	int theirs[3] = { -1, -1, -1 }, i;
	enum status st = ST_OK;

	if ((st = make_pipes(ru, theirs, e)) != ST_OK)
		return st;
	sandbox_argv(ru->s, ru->r->kind, bwrap, interp, wasi, &argv, &argc);
	envp = sandbox_env(ru->s, &envc);
	ru->pid = fork();
	if (ru->pid == 0)
		child(ru, theirs[0], theirs[1], theirs[2], argv, envp);
	if (ru->pid < 0)
		st = err_set(e, ST_FAIL, "cannot fork: %s", strerror(errno));
	else if ((ru->pidfd = pidfd_open(ru->pid, 0)) < 0)
		st = err_set(e, ST_FAIL, "pidfd_open: %s", strerror(errno));
	for (i = 0; i < 3; i++)
		close(theirs[i]);
	close_fd(&ru->status_fd[1]);
	close_fd(&ru->report_fd[1]);
	strv_free(argv, argc);
	strv_free(envp, envc);
	return st;
}

enum status
sandbox_run(const struct sandbox_spec *s, struct sandbox_result *r, struct err *e)
{
	struct run ru = { .s = s, .r = r, .prog_fd = -1, .seccomp_fd = -1, .token_fd = -1,
			  .status_fd = { -1, -1 }, .report_fd = { -1, -1 }, .in_fd = -1, .out_fd = -1, .err_fd = -1,
			  .pidfd = -1, .pid = -1, .status = BUF_INIT, .errall = BUF_INIT };
	struct report rep = { 0, 0, 0 };
	char *bwrap = NULL, *interp = NULL;
	size_t i;
	bool wasi;
	enum status st;

	for (i = 0; i < SANDBOX_SECRETS_MAX; i++)
		ru.secret_fd[i] = -1;
	sandbox_result_release(r);
	if ((st = sandbox_limits_check(&s->lim, e)) != ST_OK ||
	    (st = find_tools(s, &bwrap, &interp, e)) != ST_OK ||
	    (st = open_program(&ru, interp ? interp : "wasm-interp", &wasi, e)) != ST_OK)
		goto out;
	if (r->kind == SANDBOX_WASM && interp == NULL) {
		st = err_set(e, ST_NO_PROGRAM, "wabt's wasm-interp ('%s') is not installed",
			     s->wasm_interp ? s->wasm_interp : "wasm-interp");
		goto out;
	}
	if ((st = sandbox_seccomp_fd(&ru.seccomp_fd, e)) != ST_OK ||
	    (s->token && (st = token_pipe(&ru, e)) != ST_OK) ||
	    (st = secret_fds(&ru, e)) != ST_OK ||
	    (st = start(&ru, bwrap, interp, wasi, e)) != ST_OK)
		goto out;
	supervise(&ru, &rep);
	st = conclude(&ru, &rep, e);
out:
	if (ru.pid > 0 && ru.pidfd < 0) {
		kill(ru.pid, SIGKILL);
		waitpid(ru.pid, NULL, 0);
	}
	close_fd(&ru.prog_fd);
	close_fd(&ru.seccomp_fd);
	close_fd(&ru.token_fd);
	for (i = 0; i < SANDBOX_SECRETS_MAX; i++)
		close_fd(&ru.secret_fd[i]);
	close_fd(&ru.status_fd[0]);
	close_fd(&ru.status_fd[1]);
	close_fd(&ru.report_fd[0]);
	close_fd(&ru.report_fd[1]);
	close_fd(&ru.in_fd);
	close_fd(&ru.out_fd);
	close_fd(&ru.err_fd);
	close_fd(&ru.pidfd);
	buf_release(&ru.status);
	buf_release(&ru.errall);
	free(bwrap);
	free(interp);
	return st;
}
