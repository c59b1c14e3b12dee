/*
 * The governor benchmark ('ifctl governor bench', make bench).
 *
 * Against a real server: the fleet's IF_SWARMS is filled to N synthetic
 * swarms (only the ones missing are written), then
 *  - the fleet snapshot (one watch of IF_SWARMS, one of IF_BUDGETS) is
 *    loaded and timed;
 *  - governor_match over the loaded fleet runs once per sample with 1 to 3
 *    random capabilities, in this process: latency per match;
 *  - the local mirror (kvmirror.h) is built in a file of its own, synced
 *    with nothing new, and a match's fleet read from it;
 *  - spawn detection runs over a generated tree of F files (sources in six
 *    languages, documents, build files, under 100 directories).
 * With touch > 0 it only rewrites the last_seen of that many random swarms
 * of the fleet, pipelined, as that many heartbeats would: what a one-shot
 * match's sync of the local mirror must then read.
 * Percentiles are nearest-rank on the sorted samples.
 */
#ifndef IF_GOVBENCH_H
#define IF_GOVBENCH_H

#include <stddef.h>

#include "core/bus.h"
#include "core/rows.h"

struct gov_bench_opts {
	size_t swarms;		/* fleet size */
	size_t samples;		/* matches timed */
	size_t files;		/* files of the detection tree */
	size_t detect_runs;	/* detections timed */
	size_t touch;		/* > 0: only rewrite the last_seen of this many random
				   swarms, as heartbeats do (the catch-up case of
				   bench-governor.sh), and time nothing else */
};

/* Fill out with a row set of figures (metric, value, unit, method). */
enum status gov_bench_run(struct bus *b, const struct gov_bench_opts *o, struct doc *out,
			  struct err *e);

#endif
