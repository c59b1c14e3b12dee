/*
 * The signed-note opener. Notes are opened with the fixtures' key (seed of
 * zeros, as tests/helper/mkledger.c makes it), so the checkpoints in
 * fixtures/witness verify and the fuzzer starts past the signature check.
 * A checkpoint that opens must re-sign to a note that opens to the same
 * checkpoint, and wnote_open's text length must lie inside the note.
 */
#include <stdlib.h>
#include <string.h>

#include "core/witness.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *note = fuzz_text(data, size);
	const struct wkey *k = fuzz_fixture_key();
	struct wcheckpoint cp, cp2;
	struct buf again = BUF_INIT;
	struct err e = ERR_INIT;
	size_t text_len = 0;

	if (wnote_open(note, NULL, &text_len, &e) == ST_OK)
		FUZZ_CHECK(text_len <= strlen(note), note);
	(void)wnote_open(note, k, &text_len, &e);
	if (wcheckpoint_open(note, k, &cp, &e) == ST_OK) {
		wcheckpoint_sign(k, &cp, &again);
		FUZZ_CHECK(wcheckpoint_open(again.s, k, &cp2, &e) == ST_OK, again.s);
		FUZZ_CHECK(strcmp(cp.origin, cp2.origin) == 0 && cp.size == cp2.size &&
			   memcmp(cp.root, cp2.root, sizeof cp.root) == 0, again.s);
	}
	buf_release(&again);
	free(note);
	return 0;
}
