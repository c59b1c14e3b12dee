/*
 * The exported ledger file (JSON lines: header, entries, checkpoints,
 * proofs). ledger_file_read only reads paths, so the input goes to a
 * temporary file of this process first. A file that reads is verified with
 * the fixtures' key, then written back as an export (header, entries,
 * checkpoints) that must read back to the same entries with the same
 * verdict when it carries no proof lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ledgerfile.h"
#include "fuzz.h"

/* lf written back as an export, into *out (caller frees). */
static size_t
write_back(const struct ledger_file *lf, char **out)
{
	size_t len = 0, i;
	FILE *f = open_memstream(out, &len);

	if (f == NULL)
		abort();
	ledger_file_header(f, lf->origin, &lf->header_key);
	for (i = 0; i <= lf->n; i++) {
		if (i > 0)
			ledger_file_entry(f, &lf->entries[i - 1]);
		if (i < lf->notes_cap && lf->notes[i])
			ledger_file_checkpoint(f, lf->notes[i]);
	}
	fclose(f);
	return len;
}

/* Do two read files hold the same entries (canonical bytes)? */
static int
same_entries(const struct ledger_file *a, const struct ledger_file *b)
{
	struct buf x = BUF_INIT, y = BUF_INIT;
	size_t i;
	int same = a->n == b->n;

	for (i = 0; same && i < a->n; i++) {
		buf_reset(&x);
		buf_reset(&y);
		wentry_canonical(&a->entries[i], true, &x);
		wentry_canonical(&b->entries[i], true, &y);
		same = strcmp(x.s, y.s) == 0;
	}
	buf_release(&x);
	buf_release(&y);
	return same;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ledger_file lf, lf2;
	struct wverdict v1, v2;
	struct err e = ERR_INIT;
	char *text = NULL;
	size_t len;

	if (ledger_file_read(fuzz_file(".jsonl", data, size), &lf, &e) != ST_OK)
		return 0;
	v1 = ledger_file_verify(&lf, fuzz_fixture_key());
	(void)ledger_file_verify(&lf, &lf.header_key);
	len = write_back(&lf, &text);
	if (ledger_file_read(fuzz_file(".jsonl", (const uint8_t *)text, len), &lf2, &e) != ST_OK)
		fuzz_fail("an export read back", e.msg);
	FUZZ_CHECK(same_entries(&lf, &lf2), text);
	v2 = ledger_file_verify(&lf2, fuzz_fixture_key());
	FUZZ_CHECK(lf.nproofs > 0 || (v1.fault == v2.fault && v1.seq == v2.seq), text);
	ledger_file_release(&lf);
	ledger_file_release(&lf2);
	free(text);
	return 0;
}
