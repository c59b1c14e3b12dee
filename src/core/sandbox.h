/*
 * The sandbox: one program run inside bubblewrap, never outside it.
 *
 * A run gets new namespaces (user, mount, pid, ipc, uts, cgroup and a
 * network namespace with nothing but a loopback that goes nowhere), a
 * read-only root made of the host's /usr only (so /etc, /home, /root and
 * every other path of the host are absent), a private /tmp, /proc and
 * /dev, and one writable work dir at /work. A seccomp filter built with
 * libseccomp (sandbox_seccomp_fd) kills the process on the system calls a
 * guest never needs (mount, ptrace, bpf, kexec, keyctl, unshare, setns,
 * ...) and on a socket of any family but AF_UNIX. Limits are rlimits set
 * before bwrap starts and inherited by everything inside: address space
 * (memory), CPU seconds, processes (RLIMIT_NPROC: counted per real uid, so
 * root's runs switch to run_as first) and open files; wall time is a
 * deadline after which the parent kills bwrap, which takes the sandbox
 * with it (--die-with-parent, the pid namespace's init).
 *
 * Programs: a native executable (ELF or #!), copied into the sandbox as
 * /sandbox/program, or a WASM module (magic \0asm), copied to
 * /sandbox/module.wasm and run by wabt's wasm-interp inside the sandbox:
 * with --wasi when the module imports wasi_snapshot_preview1 and this
 * wasm-interp has WASI compiled in, else every export in order
 * (--run-all-exports) with the host.print import (--host-print). A trap
 * ("_start() => error: unreachable executed") is a failed run.
 *
 * Which limit stopped a run (enum sandbox_limit) is read from what the
 * kernel says: the wall deadline passed (we killed it), SIGXCPU or CPU time
 * at the limit, SIGSYS (seccomp), or an abnormal end with the peak
 * resident size at half the memory limit or more (an allocation refused
 * under RLIMIT_AS). Where bwrap cannot create its namespaces, the run is
 * ST_NO_USERNS with bwrap's own words; nothing is ever run unsandboxed.
 *
 * Threads: sandbox_run() forks and calls only async-signal-safe functions
 * in the child, so a caller with other threads (nats.c's) may use it.
 */
#ifndef IF_SANDBOX_H
#define IF_SANDBOX_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/status.h"

#define SANDBOX_OUT_MAX		((size_t)64 << 10)	/* stdout kept in the record */
#define SANDBOX_ERR_TAIL	((size_t)4 << 10)	/* last bytes of stderr kept */
#define SANDBOX_PROGRAM_MAX	((size_t)256 << 20)	/* largest program or module */
#define SANDBOX_EGRESS_PATH	"/run/ifctl/egress.sock"	/* the proxy, inside */
#define SANDBOX_CRED_PATH	"/run/ifctl/cred"		/* the token, inside */
#define SANDBOX_SECRETS_DIR	"/run/ifctl/secrets"		/* vault secrets, inside */
#define SANDBOX_SECRETS_MAX	16				/* secrets per run */

enum sandbox_kind { SANDBOX_NATIVE, SANDBOX_WASM, SANDBOX__KINDS };

/* What stopped a run. */
enum sandbox_limit {
	LIMIT_NONE, LIMIT_WALL, LIMIT_CPU, LIMIT_MEMORY, LIMIT_SECCOMP,
	LIMIT_CANCEL,		/* stopped from outside: *cancel became non-zero */
	LIMIT__COUNT
};

struct sandbox_limits {
	int64_t memory_mb;	/* RLIMIT_AS */
	int64_t cpu_s;		/* RLIMIT_CPU (soft; hard one more) */
	int64_t wall_ms;	/* deadline */
	int64_t procs;		/* RLIMIT_NPROC */
	int64_t files;		/* RLIMIT_NOFILE */
};

struct sandbox_spec {
	const char *program;		/* host path of the program or module */
	char *const *args;		/* its arguments (not argv[0]) */
	size_t nargs;
	struct sandbox_limits lim;
	const char *input;		/* stdin (the task's payload), or NULL: empty */
	size_t input_len;
	const char *token;		/* a credential token, or NULL: in the sandbox as
					   $IF_CRED_TOKEN and SANDBOX_CRED_PATH */
	const char *egress;		/* host path of the egress proxy's socket, or NULL */
	const char *bwrap;		/* bubblewrap program (searched in PATH) */
	const char *wasm_interp;	/* wabt's interpreter (searched in PATH) */
	long run_as;			/* when root: the uid (and gid) to run as; -1: stay */
	const char *const *secret_names;	/* files SANDBOX_SECRETS_DIR/NAME (0400), */
	const char *const *secret_values;	/* holding these values (secret_lens bytes) */
	const size_t *secret_lens;
	size_t nsecrets;			/* at most SANDBOX_SECRETS_MAX */
	const volatile sig_atomic_t *cancel;	/* or NULL: non-zero stops the run (looked at
						   every 100 ms, from any thread's writes) */
};

struct sandbox_result {
	enum sandbox_kind kind;
	bool exited;			/* ended by exit() (else by a signal) */
	int exit_code;			/* exit status, or 128 + signal */
	int signal;			/* the signal that ended it, or 0 */
	int64_t duration_ms;		/* wall time, start to reaped */
	int64_t cpu_ms;			/* user + system of everything inside */
	int64_t peak_rss_kib;		/* the largest resident set inside */
	enum sandbox_limit killed_by;
	char *trap;			/* WASM: the trap wasm-interp reported, or NULL */
	struct buf out;			/* stdout, at most SANDBOX_OUT_MAX */
	bool out_truncated;
	struct buf err;			/* the last SANDBOX_ERR_TAIL bytes of stderr */
};

void sandbox_result_init(struct sandbox_result *r);
void sandbox_result_release(struct sandbox_result *r);

/* "none", "wall", "cpu", "memory", "seccomp", "cancel"; static. */
const char *sandbox_limit_name(enum sandbox_limit l);
/* "native", "wasm"; static. */
const char *sandbox_kind_name(enum sandbox_kind k);

/* Did the run succeed: exit 0, no limit, no trap? */
bool sandbox_ok(const struct sandbox_result *r);

/*
 * One sentence of why a run failed ("killed by the wall-time limit (2000
 * ms)", "exit 3", "trap: unreachable executed"), or "ok"; appended to out.
 */
void sandbox_reason(const struct sandbox_result *r, const struct sandbox_limits *lim,
		    struct buf *out);

/* Check limits: each positive, within its bounds; e names the limit. */
enum status sandbox_limits_check(const struct sandbox_limits *l, struct err *e);

/*
 * The kind of the file at data (its first len bytes): WASM by its magic
 * and version, native by ELF or #!; anything else is ST_BAD_VALUE naming
 * what was found.
 */
enum status sandbox_kind_of(const char *what, const unsigned char *data, size_t len,
			    enum sandbox_kind *k, struct err *e);

/*
 * The bwrap command line of a run (argv[0] the bwrap path), NULL-terminated,
 * in *argv (*argc entries): fd 3 holds the seccomp program, fd 4 the
 * program or module, fd 5 takes bwrap's JSON status, fd 6 (when a token is
 * given) holds the token, fds 7 and on the secrets. No token or secret
 * value is ever on it (it is public: /proc/PID/cmdline). wasi: run the module with --wasi. The caller
 * frees with strv_free(*argv, *argc).
 */
void sandbox_argv(const struct sandbox_spec *s, enum sandbox_kind kind, const char *bwrap,
		  const char *interp, bool wasi, char ***argv, size_t *argc);

/* A seccomp BPF program (libseccomp's export) in a sealed memfd; *fd is the caller's. */
enum status sandbox_seccomp_fd(int *fd, struct err *e);

/*
 * Run s. ST_OK whenever the program ran, whatever its end (see r);
 * ST_BAD_VALUE for a program that is neither WASM nor native, or a WASM
 * module wasm-interp refuses to load; ST_NOT_FOUND for a missing program;
 * ST_NO_PROGRAM when bwrap or wasm-interp is missing; ST_NO_USERNS when
 * bwrap cannot create its namespaces; ST_FAIL otherwise (bwrap's words).
 */
enum status sandbox_run(const struct sandbox_spec *s, struct sandbox_result *r, struct err *e);

#endif
