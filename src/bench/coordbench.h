/*
 * The coordinator benchmark ('ifctl coordinator bench', make bench).
 *
 * It runs against a real server in a bucket of its own (created and
 * deleted by the run) and measures, with sample counts:
 *  - the floor: sequential bare KV get and bare KV update round trips;
 *  - claim and push-to-swarm latency at a fixed rate (the seed's 100 ops/s)
 *    and at saturation (pusher and claimer unthrottled);
 *  - claims per second with 1, 8 and 64 claimer threads, each with its own
 *    connection, draining a preloaded pool of tasks;
 *  - correctness from the final records: double claims and lost tasks.
 * Percentiles are nearest-rank on the sorted samples.
 */
#ifndef IF_COORDBENCH_H
#define IF_COORDBENCH_H

#include "core/bus.h"
#include "core/rows.h"

struct coord_bench_opts {
	size_t tasks;		/* pool for the throughput runs */
	int rate;		/* ops/s of the fixed-rate run */
	int64_t rate_ms;	/* its length */
	int64_t saturate_ms;	/* length of the saturation run */
	size_t floor_samples;
	bool witness;		/* witness every push and claim (group commit), as the CLI does */
};

/* Fill out with row sets: floor, latency, throughput, correctness. */
enum status coord_bench_run(const struct bus_opts *bo, const struct coord_bench_opts *o,
			    struct doc *out, struct err *e);

#endif
