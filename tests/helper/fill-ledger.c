/*
 * fill-ledger URL N: append N coordinator-like entries to the ledger through
 * one group-commit writer, as a long-running process would (no checkpoints:
 * only commands on a host with the key make them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/ledger.h"
#include "core/util.h"
#include "harness.h"

int
main(int argc, char **argv)
{
	struct bus *b = NULL;
	struct ledger_writer w;
	struct err e = ERR_INIT;
	long n, i;
	int rc = 1;

	if (argc != 3 || sodium_init() < 0 || (n = atol(argv[2])) <= 0) {
		fprintf(stderr, "usage: fill-ledger URL N\n");
		return 2;
	}
	if ((b = hconnect(argv[1], 5000, 100, NULL, NULL)) == NULL)
		return 1;
	ledger_writer_init(&w, b);
	ledger_writer_start(&w);
	for (i = 0; i < n; i++) {
		struct wentry x;
		wentry_init(&x);
		x.time = wall_ms();
		x.component = xstrdup("coordinator");
		x.event = xstrdup("task.claim");
		x.actor = xstrdup("fill");
		x.swarm = xstrdup("fill");
		x.task = xasprintf("fill-%ld", i);
		x.payload = xasprintf("{\"attempts\":1,\"token\":%ld}", i + 1);
		ledger_submit(&w, &x);
	}
	if (ledger_flush(&w, &e) == ST_OK)
		rc = 0;
	else
		fprintf(stderr, "fill-ledger: %s\n", e.msg);
	ledger_writer_release(&w);
	bus_close(b);
	bus_shutdown();
	return rc;
}
