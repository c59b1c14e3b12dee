/*
 * forge-ledger URL SEQ: play a forger who controls the server but not the
 * witness key. Read the ledger, change entry SEQ's cost, then write the
 * whole ledger back into a fresh IF_WITNESS through the ordinary writer, so
 * that every hash and link after SEQ is recomputed: a chain that verifies
 * on its own. Only the checkpoints signed earlier can tell.
 *
 * forge-ledger URL --garbage TEXT: play a buggy client that publishes TEXT
 * on the ledger's subject, as the next message.
 *
 * forge-ledger --damage-index DB top|leaf0: change one row of the Merkle
 * tree in the index file DB, damage SQLite cannot see: "top" the largest
 * complete subtree starting at entry 1, "leaf0" entry 1's leaf.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include "core/ledger.h"
#include "core/schema.h"
#include "core/util.h"
#include "harness.h"

/* Flip a bit of one merkle row; 0 when done. */
static int
damage_index(const char *path, const char *which)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	sqlite3_int64 n = 0;
	int level = 0, rc;

	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, "SELECT max(seq) FROM witness", -1, &q, NULL);
	if (rc == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
		n = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	while (strcmp(which, "top") == 0 && ((sqlite3_int64)2 << level) <= n)
		level++;
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, "UPDATE merkle SET hash = zeroblob(32) WHERE level = ? "
					"AND idx = 0", -1, &q, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int(q, 1, level);
		rc = sqlite3_step(q) == SQLITE_DONE && sqlite3_changes(db) == 1 ? SQLITE_OK : SQLITE_ERROR;
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_OK || n == 0)
		fprintf(stderr, "forge-ledger: cannot damage '%s': %s\n", path, sqlite3_errmsg(db));
	sqlite3_close(db);
	return rc != SQLITE_OK || n == 0;
}

/* Publish text as the next message on the ledger's subject. */
static int
garbage(const char *url, const char *text)
{
	struct err e = ERR_INIT;
	struct bus_pub pub = { 0 };
	struct bus *b = hconnect(url, 5000, 100, NULL, NULL);
	int rc = b == NULL || bus_js_publish(b, LEDGER_SUBJECT, text, strlen(text), &pub, NULL,
					     &e) != ST_OK;

	if (rc)
		fprintf(stderr, "forge-ledger: %s\n", e.msg);
	bus_close(b);
	bus_shutdown();
	return rc;
}

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

	if (argc == 4 && strcmp(argv[1], "--damage-index") == 0)
		return damage_index(argv[2], argv[3]);
	if (argc == 4 && strcmp(argv[2], "--garbage") == 0)
		return garbage(argv[1], argv[3]);
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
