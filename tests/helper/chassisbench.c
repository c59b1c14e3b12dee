/*
 * Figures for bench/bench-chassis.sh: the start-up overhead of an empty
 * sandboxed run (a native program, an empty WASM module), the floor of
 * starting the same program without a sandbox, and the cost of a
 * credential decision (hashing the token, matching the allow-list).
 *
 *	chassisbench RUNS NATIVE WASM
 *
 * Each figure: RUNS samples after 3 warm-up runs, microseconds on the
 * monotonic clock around the whole call; min, median and p90 (nearest
 * rank) printed.
 */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "core/cred.h"
#include "core/sandbox.h"
#include "core/util.h"

extern char **environ;

/* Print one figure from n samples (sorted here). */
static void
report(const char *label, int64_t *v, size_t n)
{
	sort_i64(v, n);
	printf("%-34s n=%zu  min %.2f ms  median %.2f ms  p90 %.2f ms\n", label, n,
	       (double)v[0] / 1000, (double)percentile(v, n, 50) / 1000,
	       (double)percentile(v, n, 90) / 1000);
}

/* One sandboxed run of prog; its wall time in us, -1 on failure. */
static int64_t
sandboxed(const char *prog)
{
	struct sandbox_spec s = { .program = prog, .lim = { 256, 10, 30000, 64, 64 }, .run_as = 65534 };
	struct sandbox_result r;
	struct err e = ERR_INIT;
	int64_t t0 = mono_us(), t;

	sandbox_result_init(&r);
	if (sandbox_run(&s, &r, &e) != ST_OK || !sandbox_ok(&r)) {
		fprintf(stderr, "chassisbench: %s: %s\n", prog, e.msg);
		sandbox_result_release(&r);
		return -1;
	}
	t = mono_us() - t0;
	sandbox_result_release(&r);
	return t;
}

/* posix_spawn and wait: the floor. */
static int64_t
bare(const char *prog)
{
	char *argv[] = { (char *)prog, NULL };
	int64_t t0 = mono_us();
	pid_t pid;
	int st;

	if (posix_spawn(&pid, prog, NULL, NULL, argv, environ) != 0)
		return -1;
	waitpid(pid, &st, 0);
	return mono_us() - t0;
}

int
main(int argc, char **argv)
{
	static const char tok[] = "ifc1_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	char p0[] = "https://api.example.com/v1", p1[] = "https://*.cdn.example.com/*/img",
	     *allow[] = { p0, p1 }, id[22], hash[65], reason[160];
	size_t n = argc > 1 ? (size_t)atoi(argv[1]) : 50, i;
	int64_t *v = xcalloc(n, sizeof *v);
	struct cred c = { 0 };
	struct cred_url ep;

	if (argc < 4 || n < 1)
		return 2;
	for (i = 0; i < 3; i++)
		if (sandboxed(argv[2]) < 0 || sandboxed(argv[3]) < 0)
			return 1;
	for (i = 0; i < n; i++)
		v[i] = bare(argv[2]);
	report("spawn, no sandbox (floor)", v, n);
	for (i = 0; i < n; i++)
		v[i] = sandboxed(argv[2]);
	report("sandboxed native (empty)", v, n);
	for (i = 0; i < n; i++)
		v[i] = sandboxed(argv[3]);
	report("sandboxed wasm-interp (empty)", v, n);

	cred_token_hash(tok, id, hash);
	c.id = id;
	c.hash = hash;
	c.allow = allow;
	c.nallow = 2;
	c.expires = INT64_MAX;
	cred_endpoint_parse("https://x.cdn.example.com/a/img/1.png", &ep, NULL);
	for (i = 0; i < n; i++) {
		int64_t t0 = mono_us(), k;
		for (k = 0; k < 1000; k++) {
			cred_token_hash(tok, id, hash);
			if (cred_decide(&c, hash, &ep, 1, reason, sizeof reason) != CRED_ALLOW)
				return 1;
		}
		v[i] = mono_us() - t0;	/* per 1000 decisions: us per decision = ms shown */
	}
	report("cred decision x1000 (hash+match)", v, n);
	free(v);
	return 0;
}
