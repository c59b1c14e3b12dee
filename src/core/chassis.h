/*
 * The chassis: runs swarm code in the sandbox (sandbox.h) and accounts for
 * it. One run = one run record, which is
 *
 *  - the command's output (ifctl chassis run) and, for a task, its result
 *    (complete) or the reason of its failure (fail);
 *  - an event on if.v1.evt.chassis.run (stream IF_EVENTS);
 *  - a witness entry chassis.run: outcome, limits, the program's SHA-256,
 *    never its output or the credential's token;
 *  - an SLO sample (chassis_slo_sample(), the one place that hands a run
 *    to the SLO engine).
 *
 * With a credential token, the run gets an egress proxy (egress.h) of its
 * own on a Unix socket, bound into the sandbox, that accepts that
 * credential only.
 *
 * Tasks: chassis_task_run() runs a task the swarm holds (state claimed,
 * owner the swarm) with the task's payload on stdin, heartbeats its lease
 * from a thread while it runs, then completes it with the record as the
 * result or fails it with the record's reason, presenting the fencing
 * token of the claim: a task taken over meanwhile is refused (not-owner),
 * as always. chassis_serve() claims, runs and settles in a loop.
 */
#ifndef IF_CHASSIS_H
#define IF_CHASSIS_H

#include <signal.h>
#include <stdbool.h>

#include "core/bus.h"
#include "core/config.h"
#include "core/coord.h"
#include "core/opctx.h"
#include "core/rows.h"
#include "core/sandbox.h"

/* What a run needs besides the sandbox's spec. */
struct chassis_opts {
	struct sandbox_spec spec;	/* program, args, limits, tools, run_as; input and
					   egress are filled by the chassis */
	const char *swarm;		/* or NULL */
	const char *task;		/* or NULL */
	const char *token;		/* credential token for the sandbox, or NULL */
	const char *modules;		/* serve: a directory of modules a payload may name */
};

/* Fill the sandbox's limits and tools from the configuration (chassis.*). */
void chassis_opts_from_config(struct chassis_opts *o, const struct config *c);

/*
 * One run, recorded: the record's row is appended to out (a rowset from
 * chassis_view_runs()). *ok says whether the program succeeded;
 * *limit_hit whether a limit stopped it. ST_OK whenever it ran (see
 * sandbox_run() for the rest).
 */
enum status chassis_run(struct bus *b, struct opctx *op, const struct chassis_opts *o,
			const char *input, size_t input_len, struct rowset *out, bool *ok,
			bool *limit_hit, struct err *e);

/*
 * Run task id that swarm o->swarm holds (coord_cfg cc), settle it, and
 * append the record to out. ST_NOT_OWNER when the swarm does not hold it
 * (or lost it while it ran: the settle is refused); the run's own failure
 * is a settled task, not an error (*ok false).
 */
enum status chassis_task_run(struct bus *b, const struct coord_cfg *cc, struct opctx *op,
			     const struct chassis_opts *o, const char *id, struct rowset *out,
			     bool *ok, bool *limit_hit, struct err *e);

/* What serve does. */
struct chassis_serve_opts {
	char *const *caps;		/* the swarm's capabilities */
	size_t ncaps;
	int64_t max_tasks;		/* stop after this many (0: never) */
	bool drain;			/* stop when nothing is ready */
	volatile sig_atomic_t *stop;	/* set by a signal: stop after the current task */
};

/*
 * The worker loop: claim (when chassis_may_claim allows), run, settle,
 * repeat; each record appended to out, the witness flushed after each task.
 */
enum status chassis_serve(struct bus *b, const struct coord_cfg *cc, struct opctx *op,
			  const struct chassis_opts *o, const struct chassis_serve_opts *so,
			  struct rowset *out, struct err *e);

/*
 * May the swarm claim now? The swarm's budget and circuit breaker decide
 * (the governor's and the cost engine's word); a refusal is ST_REFUSED
 * saying which. One check named "budget and breaker allow a claim".
 */
enum status chassis_may_claim(struct bus *b, struct opctx *op, const char *swarm, struct err *e);

/* Hand one run record (row r of rs) to the SLO engine as a sample. */
enum status chassis_slo_sample(struct bus *b, const struct rowset *rs, size_t r, struct err *e);

/* The run records' view: its columns, in order. */
enum chassis_col {
	RC_ID, RC_SWARM, RC_TASK, RC_PROGRAM, RC_KIND, RC_OUTCOME, RC_REASON, RC_EXIT_CODE,
	RC_SIGNAL, RC_KILLED_BY, RC_DURATION_MS, RC_CPU_MS, RC_PEAK_RSS_KIB, RC_STARTED,
	RC_MEMORY_MB, RC_CPU_S, RC_WALL_MS, RC_PROCS, RC_FILES, RC_PROGRAM_SHA256, RC_CRED,
	RC_SECRETS, RC_EGRESS_ALLOWED, RC_EGRESS_DENIED, RC_TRAP, RC_STDOUT_TRUNCATED, RC_STDOUT, RC_STDERR,
	RC_TRACE, RC__COUNT
};

/* The view (rows by enum chassis_col), and one record as canonical JSON (a task's result). */
struct rowset *chassis_view_runs(void);
void chassis_record_json(const struct rowset *rs, size_t r, struct buf *out);

#endif
