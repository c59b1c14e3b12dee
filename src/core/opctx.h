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
};

/* Set up with a fresh trace id (or trace when not NULL) and empty lists. */
void opctx_init(struct opctx *op, const char *trace);
void opctx_release(struct opctx *op);

/* Record one factor of the decision (a rule, score, threshold or datum). */
void why_add(struct opctx *op, const char *factor, const char *value,
	     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Record a check and its evidence. Returns st unchanged so a command can
 * write 'if ((st = check(op, "port free", st, &e)) != ST_OK && !op->falsify)'.
 * A failed check records the error message of e as evidence.
 */
enum status check_record(struct opctx *op, const char *name, enum status st,
			 const char *evidence);

/* May this operation write? ST_READ_ONLY under --read-only, else ST_OK. */
enum status opctx_may_write(const struct opctx *op, const char *what, struct err *e);

#endif
