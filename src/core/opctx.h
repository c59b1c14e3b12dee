/*
 * The context one operation runs in: its trace id, the operator's
 * justification, the mode, and the explanation and checks it builds.
 *
 * Every command gets one from the dispatcher. Core operations take it so
 * that each event and witness entry they cause is stamped with the trace id
 * and the --why text, each decision can explain itself (--why), and each
 * precondition is a named check that --mode=falsify can run without writing.
 */
#ifndef IF_OPCTX_H
#define IF_OPCTX_H

#include <stdbool.h>

#include "core/rows.h"
#include "core/status.h"

struct ledger_writer;

struct opctx {
	char trace_id[33];	/* 32 hex characters */
	const char *actor;	/* who acts: "user@host" or a swarm id */
	struct ledger_writer *witness;	/* where its witness entries go, or NULL */
	char *justification;	/* --why=TEXT, recorded in the witness; or NULL */
	bool explain;		/* --why given: fill why */
	bool falsify;		/* --mode=falsify: evaluate, write nothing */
	bool read_only;		/* --read-only: refuse writes */
	struct rowset *why;	/* factor, value, detail */
	struct rowset *checks;	/* check, result, evidence */
	int failed_checks;
	struct err first_failure;	/* the first check that failed; code ST_OK: none */
};

/* Set up with a fresh trace id (or trace when not NULL) and empty lists. */
void opctx_init(struct opctx *op, const char *trace);
void opctx_release(struct opctx *op);

/* Record one factor of the decision (a rule, score, threshold or datum). */
void why_add(struct opctx *op, const char *factor, const char *value,
	     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * One named check (a precondition of the operation; later, a policy rule):
 * record its result and evidence, keep the operation's first failure, and
 * say whether the operation goes on.
 *
 * st is the check's outcome. evidence (may be NULL) is what a passing check
 * rests on (a path, an id, a count); a failing check shows the message of
 * cause when cause is not NULL and has one, else evidence. The first failure
 * of the operation is kept in op->first_failure: cause with st as its code,
 * or st with the evidence as its message.
 *
 * Returns true when the operation goes on: the check passed, or it failed
 * under --mode=falsify, which evaluates every check and writes nothing.
 *
 *	if (!check(op, "port is free", st, &pe, port_text))
 *		return check_failure(op, e);
 */
bool check(struct opctx *op, const char *name, enum status st, const struct err *cause,
	   const char *evidence);

/* The first failed check: copied to e (when not NULL); its status, or ST_OK. */
enum status check_failure(const struct opctx *op, struct err *e);

/* May this operation write? ST_READ_ONLY under --read-only, else ST_OK. */
enum status opctx_may_write(const struct opctx *op, const char *what, struct err *e);

#endif
