/*
 * Replays inputs through a fuzz target without libFuzzer: each argument is
 * a file whose bytes go to LLVMFuzzerTestOneInput once. Built with the
 * normal compiler (and sanitizers, under SANITIZE=), it keeps the inputs in
 * fixtures/fuzz/regress/ checked by make check. A broken invariant aborts.
 */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"

/* Read a whole file into *out (caller frees); -1 on failure. */
static long
slurp(const char *path, uint8_t **out)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p = NULL;
	size_t len = 0, cap = 0, n;

	if (f == NULL)
		return -1;
	do {
		if (len == cap) {
			cap = cap ? 2 * cap : 4096;
			if ((p = realloc(p, cap)) == NULL)
				abort();
		}
		n = fread(p + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	fclose(f);
	*out = p;
	return (long)len;
}

int
main(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		uint8_t *data = NULL;
		long len = slurp(argv[i], &data);
		if (len < 0) {
			perror(argv[i]);
			return 1;
		}
		fprintf(stderr, "fuzz: %s\n", argv[i]);
		LLVMFuzzerTestOneInput(data, (size_t)len);
		free(data);
	}
	return 0;
}
