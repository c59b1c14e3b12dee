/*
 * Check ifctl's canonical JSON against answers another implementation
 * gave (tests/cli/t-jcs.sh asks node's JSON.stringify):
 *
 *	jcscheck numbers < FILE   lines "HEX16 EXPECTED": IEEE 754 bits, ES6 form
 *	jcscheck docs < FILE      pairs of lines: a JSON text, its RFC 8785 form
 *
 * Prints the first few mismatches and "checked N, mismatches M"; exits 1
 * on any mismatch or malformed line.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/json.h"

static char *
get_line(char **line, size_t *cap, FILE *f)
{
	ssize_t n = getline(line, cap, f);

	if (n < 0)
		return NULL;
	if (n && (*line)[n - 1] == '\n')
		(*line)[n - 1] = '\0';
	return *line;
}

static int
report(const char *what, unsigned long checked, unsigned long bad)
{
	printf("%s: checked %lu, mismatches %lu\n", what, checked, bad);
	return bad || checked == 0;
}

static int
numbers(void)
{
	char *line = NULL, want[64];
	size_t cap = 0;
	unsigned long checked = 0, bad = 0;
	struct buf b = BUF_INIT;

	while (get_line(&line, &cap, stdin)) {
		uint64_t bits;
		double d;

		if (sscanf(line, "%" SCNx64 " %63s", &bits, want) != 2) {
			fprintf(stderr, "malformed line: %s\n", line);
			return 1;
		}
		memcpy(&d, &bits, sizeof d);
		buf_reset(&b);
		json_add_number(&b, d);
		checked++;
		if (strcmp(b.s, want) != 0 && bad++ < 10)
			fprintf(stderr, "%016" PRIx64 ": got %s, want %s\n", bits, b.s, want);
	}
	free(line);
	buf_release(&b);
	return report("numbers", checked, bad);
}

static int
docs(void)
{
	char *in = NULL, *want = NULL;
	size_t cin = 0, cwant = 0;
	unsigned long checked = 0, bad = 0;
	struct buf b = BUF_INIT;

	while (get_line(&in, &cin, stdin)) {
		struct err e = ERR_INIT;
		if (!get_line(&want, &cwant, stdin)) {
			fprintf(stderr, "odd number of lines\n");
			return 1;
		}
		buf_reset(&b);
		checked++;
		if (json_canonical(in, &b, &e) != ST_OK) {
			if (bad++ < 10)
				fprintf(stderr, "refused %s: %s\n", in, e.msg);
		} else if (strcmp(b.s, want) != 0 && bad++ < 10) {
			fprintf(stderr, "input %s\n  got  %s\n  want %s\n", in, b.s, want);
		}
	}
	free(in);
	free(want);
	buf_release(&b);
	return report("documents", checked, bad);
}

int
main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "numbers") == 0)
		return numbers();
	if (argc == 2 && strcmp(argv[1], "docs") == 0)
		return docs();
	fprintf(stderr, "usage: jcscheck numbers|docs < FILE\n");
	return 2;
}
