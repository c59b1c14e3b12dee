/*
 * The witness benchmark ('ifctl witness bench', make bench): verify time of
 * an exported ledger of N entries (read, parse, hash, chain and tree, the
 * path of 'witness verify --file'), inclusion proof time on that tree, and
 * append rate and latency from 1 and 8 writers (threads, each with its own
 * connection) into a stream of its own, created and deleted by the run.
 */
#ifndef IF_WITNESSBENCH_H
#define IF_WITNESSBENCH_H

#include "core/bus.h"
#include "core/rows.h"

struct witness_bench_opts {
	size_t verify_entries;	/* default 1,000,000 */
	size_t proofs;		/* inclusion proofs timed */
	size_t appends;		/* per run, for 1 and for 8 writers */
	const char *tmpdir;	/* where the export is written */
};

enum status witness_bench_run(const struct bus_opts *bo, const struct witness_bench_opts *o,
			      struct doc *out, struct err *e);

#endif
