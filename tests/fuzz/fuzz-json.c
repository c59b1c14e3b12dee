/*
 * The JSON reader and canonicaliser. json_check and json_canonical must
 * agree on what is JSON; a canonical form must itself be JSON and be its
 * own canonical form (canonical(canonical(x)) == canonical(x)) in
 * well-formed UTF-8 that any JSON reader takes.
 */
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size);
	struct buf c1 = BUF_INIT, c2 = BUF_INIT;
	struct err e = ERR_INIT;
	enum status checked = json_check(text, "input", &e);
	enum status canon = json_canonical(text, &c1, &e);

	FUZZ_CHECK((checked == ST_OK) == (canon == ST_OK), text);
	if (canon == ST_OK) {
		FUZZ_CHECK(json_check(c1.s, "canonical", &e) == ST_OK, c1.s);
		FUZZ_CHECK(fuzz_utf8_ok(c1.s, c1.len), c1.s);
		FUZZ_CHECK(json_canonical(c1.s, &c2, &e) == ST_OK, c1.s);
		FUZZ_CHECK(c1.len == c2.len && memcmp(c1.s, c2.s, c1.len) == 0, c1.s);
	}
	buf_release(&c1);
	buf_release(&c2);
	free(text);
	return 0;
}
