/*
 * rawput URL kv BUCKET KEY FILE | rawput URL pub SUBJECT FILE
 *
 * Write FILE's bytes as they are, as a careless or hostile client would:
 * a KV put, or a JetStream publish to a stream's subject. For tests of what
 * ifctl does with records and messages it did not write.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bus.h"
#include "core/util.h"
#include "harness.h"

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

	if (!kv && !(argc == 5 && strcmp(argv[2], "pub") == 0)) {
		fprintf(stderr, "usage: rawput URL kv BUCKET KEY FILE | rawput URL pub SUBJECT FILE\n");
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
