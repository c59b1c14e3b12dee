/* Helpers shared by the fuzz targets: see fuzz.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

char *
fuzz_text(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

static char tmp_path[256];

/* Remove the temporary file at exit. */
static void
remove_tmp(void)
{
	unlink(tmp_path);
}

const char *
fuzz_file(const char *suffix, const uint8_t *data, size_t size)
{
	char *path = tmp_path;
	FILE *f;

	if (path[0] == '\0') {
		const char *dir = getenv("TMPDIR");
		snprintf(path, sizeof tmp_path, "%s/ifctl-fuzz-%ld%s", dir && *dir ? dir : "/tmp",
			 (long)getpid(), suffix);
		atexit(remove_tmp);
	}
	f = fopen(path, "wb");
	if (f == NULL || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
		perror(path);
		abort();
	}
	return path;
}

void
fuzz_fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz: invariant broken: %s\n", what);
	if (detail)
		fprintf(stderr, "fuzz: %.2000s\n", detail);
	abort();
}
