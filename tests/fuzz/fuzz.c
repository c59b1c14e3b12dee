/* Helpers shared by the fuzz targets: see fuzz.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/witness.h"
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

/* Length of the UTF-8 sequence at s (at most n bytes), 0 if it is not valid. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0], need, min, cp, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		need = 1, min = 0x80, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		need = 2, min = 0x800, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		need = 3, min = 0x10000, cp = c & 0x07;
	else
		return 0;
	if (n < need + 1)
		return 0;
	for (i = 1; i <= need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need + 1;
}

int
fuzz_utf8_ok(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;

	while (i < len) {
		if ((n = utf8_seq(p + i, len - i)) == 0)
			return 0;
		i += n;
	}
	return 1;
}

const struct wkey *
fuzz_fixture_key(void)
{
	static struct wkey k;
	static int made;
	static const uint8_t seed[32];

	if (!made) {
		wkey_from_seed(&k, "ifctl.example/fixtures", seed);
		made = 1;
	}
	return &k;
}
