/*
 * forge-ledger URL SEQ: play a forger who controls the server but not the
 * witness key. Read the ledger, change entry SEQ's cost, then write the
 * whole ledger back into a fresh IF_WITNESS through the ordinary writer, so
 * that every hash and link after SEQ is recomputed: a chain that verifies
 * on its own. Only the checkpoints signed earlier can tell.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/ledger.h"
#include "core/schema.h"
#include "core/util.h"
#include "harness.h"

int
main(int argc, char **argv)
{
	struct bus *b = NULL;
	struct ledger_writer w;
	struct err e = ERR_INIT;
	struct wentries a = { 0 };
	uint64_t seq;
	bool created;
	size_t i, j;
	int rc = 1;

	if (argc != 3 || sodium_init() < 0 || (seq = strtoull(argv[2], NULL, 10)) == 0) {
		fprintf(stderr, "usage: forge-ledger URL SEQ\n");
		return 2;
	}
	if ((b = hconnect(argv[1], 5000, 100, NULL, NULL)) == NULL ||
	    ledger_read_all(b, &a, &e) != ST_OK)
		goto out;
	if (seq > a.n) {
		snprintf(e.msg, sizeof e.msg, "the ledger has %zu entries", a.n);
		goto out;
	}
	a.v[seq - 1].cost_micros += 1;
	for (i = 0; i < schema_nstreams; i++)
		if (strcmp(schema_streams[i].name, LEDGER_STREAM) == 0)
			break;
	if (bus_stream_drop(b, LEDGER_STREAM, &e) != ST_OK ||
	    bus_stream_ensure(b, &schema_streams[i], &created, &e) != ST_OK)
		goto out;
	ledger_writer_init(&w, b);
	for (j = 0; j < a.n; j++)
		a.v[j].hash[0] = '\0';	/* new entries to the writer, not retries */
	if (ledger_append_many(&w, a.v, a.n, &j, &e) == ST_OK)
		rc = 0;
	ledger_writer_release(&w);
out:
	if (rc)
		fprintf(stderr, "forge-ledger: %s\n", e.msg);
	wentries_release(&a);
	bus_close(b);
	bus_shutdown();
	return rc;
}
