/*
 * rawput URL kv BUCKET KEY FILE | rawput URL pub SUBJECT FILE
 * rawput URL get BUCKET KEY | rawput URL last STREAM SUBJECT
 *
 * Write FILE's bytes as they are, as a careless or hostile client would:
 * a KV put, or a JetStream publish to a stream's subject. For tests of what
 * ifctl does with records and messages it did not write. get and last
 * print a stored value or a stream's last message on a subject as they are
 * (for tests of what ifctl writes: t-schemas.sh).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bus.h"
#include "core/util.h"
#include "harness.h"

/* Print a KV value (kv) or a stream's last message on a subject as stored. */
static int
raw_read(const char *url, bool kv, const char *where, const char *what)
{
	struct bus *b;
	struct err e = ERR_INIT;
	struct bus_kv_entry ent = BUS_KV_ENTRY_INIT;
	uint64_t seq = 0;
	enum status st;

	if ((b = hconnect(url, 5000, 100, NULL, NULL)) == NULL)
		return 1;
	if (kv)
		st = bus_kv_get(b, where, what, &ent, &e);
	else
		st = bus_stream_last(b, where, what, &ent.value, &seq, &e);
	if (st != ST_OK)
		fprintf(stderr, "rawput: %s\n", e.msg);
	else
		fwrite(ent.value.s, 1, ent.value.len, stdout);
	buf_release(&ent.value);
	bus_close(b);
	return st != ST_OK;
}

/* Write a file's bytes as a KV value or a message, or read one back. */
int
main(int argc, char **argv)
{
	struct bus *b;
	struct err e = ERR_INIT;
	char *data = NULL;
	size_t len = 0;
	uint64_t rev = 0;
	enum status st;
	bool kv = argc == 6 && strcmp(argv[2], "kv") == 0;

	if (argc == 5 && (strcmp(argv[2], "get") == 0 || strcmp(argv[2], "last") == 0))
		return raw_read(argv[1], argv[2][0] == 'g', argv[3], argv[4]);

	if (!kv && !(argc == 5 && strcmp(argv[2], "pub") == 0)) {
		fprintf(stderr, "usage: rawput URL kv BUCKET KEY FILE | pub SUBJECT FILE | get BUCKET KEY | last STREAM SUBJECT\n");
		return 2;
	}
	if (read_file(argv[argc - 1], READ_MAX_JSON, 0, &data, &len, &e) != ST_OK) {
		fprintf(stderr, "rawput: %s\n", e.msg);
		return 1;
	}
	if ((b = hconnect(argv[1], 5000, 100, NULL, NULL)) == NULL) {
		free(data);
		return 1;
	}
	if (kv)
		st = bus_kv_put(b, argv[3], argv[4], data, len, &rev, &e);
	else
		st = bus_js_publish(b, argv[3], data, len, NULL, &rev, &e);
	if (st != ST_OK)
		fprintf(stderr, "rawput: %s\n", e.msg);
	else
		printf("%llu\n", (unsigned long long)rev);
	bus_close(b);
	free(data);
	return st != ST_OK;
}
