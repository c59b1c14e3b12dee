/*
 * The cost benchmark ('ifctl cost bench', make bench).
 *
 *  - report: an index of N settled records (30 days, 50 swarms, 8 models,
 *    4 operations, a task per 10 records) is built through the same path a
 *    sync takes (each record written as JSON, parsed, added); then each
 *    report is run 5 times over 30 days and the median and the slowest are
 *    given, in ms (nearest rank).
 *  - settle: S spenders, each a thread with its own connection, share one
 *    budget in IF_BUDGETS allocated for three quarters of the work they
 *    attempt; each reserves an estimate, and when granted records a usage
 *    record through cost_record (validate, price, settle the hold and the
 *    real cost by CAS, publish on IF_COST). Records settled per second, the
 *    reservations refused, and from the final record: spent against the
 *    sum the spenders settled, reserved left, and overdraw (spent +
 *    reserved past the allocation).
 */
#ifndef IF_COSTBENCH_H
#define IF_COSTBENCH_H

#include <stddef.h>

#include "core/bus.h"
#include "core/opctx.h"
#include "core/rows.h"

struct cost_bench_opts {
	size_t records;		/* in the report benchmark's index */
	int spenders;
	size_t settles;		/* reservations attempted by the spenders in all */
	const char *index_path;	/* keep the index there; NULL: a temporary file */
};

/* Fill out with two row sets: report, settle. */
enum status cost_bench_run(const struct bus_opts *bo, const struct cost_bench_opts *o,
			   struct opctx *op, struct doc *out, struct err *e);

#endif
