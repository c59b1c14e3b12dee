/*
 * jsoncheck: exit 0 when standard input is one JSON document (or, with -l,
 * when every line is one), else print the first bad line and exit 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

int
main(int argc, char **argv)
{
	char *text = NULL, *line, *save = NULL;
	size_t len = 0, n = 0;
	FILE *f = open_memstream(&text, &len);
	int c, lines = argc > 1 && strcmp(argv[1], "-l") == 0, bad = 0;
	cJSON *j;

	while ((c = getchar()) != EOF)
		fputc(c, f);
	fclose(f);
	if (!lines) {
		j = cJSON_ParseWithOpts(text, NULL, 1);
		bad = j == NULL;
		cJSON_Delete(j);
	} else {
		for (line = strtok_r(text, "\n", &save); line && !bad; line = strtok_r(NULL, "\n", &save)) {
			n++;
			j = cJSON_ParseWithOpts(line, NULL, 1);
			if (j == NULL || !cJSON_IsObject(j)) {
				fprintf(stderr, "jsoncheck: line %zu is not a JSON object: %s\n", n, line);
				bad = 1;
			}
			cJSON_Delete(j);
		}
		if (n == 0)
			bad = 1;
	}
	if (bad && !lines)
		fprintf(stderr, "jsoncheck: not one JSON document\n");
	free(text);
	return bad;
}
