/*
 * The witness entry. An entry wentry_parse accepts must be written by
 * wentry_canonical (with its hash) as text that wentry_parse reads back to
 * the same entry, field by field, and that is its own canonical form; the
 * verdict of the hash check must not change on the way.
 */
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/witness.h"
#include "fuzz.h"

/* Are two optional strings equal (NULL only equal to NULL)? */
static int
same_str(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* Are two entries equal in every field? */
static int
same_entry(const struct wentry *a, const struct wentry *b)
{
	return a->seq == b->seq && a->time == b->time && same_str(a->component, b->component) &&
	       same_str(a->event, b->event) && same_str(a->actor, b->actor) &&
	       same_str(a->trace, b->trace) && same_str(a->swarm, b->swarm) &&
	       same_str(a->task, b->task) && same_str(a->payload, b->payload) &&
	       a->cost_micros == b->cost_micros && a->tokens == b->tokens &&
	       strcmp(a->prev, b->prev) == 0 && strcmp(a->hash, b->hash) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wentry e1, e2;
	struct buf c1 = BUF_INIT, c2 = BUF_INIT;
	struct err err = ERR_INIT;

	wentry_init(&e2);
	if (wentry_parse((const char *)data, size, &e1, &err) == ST_OK) {
		wentry_canonical(&e1, true, &c1);
		FUZZ_CHECK(json_check(c1.s, "entry", &err) == ST_OK, c1.s);
		FUZZ_CHECK(fuzz_utf8_ok(c1.s, c1.len), c1.s);
		FUZZ_CHECK(wentry_parse(c1.s, c1.len, &e2, &err) == ST_OK, c1.s);
		FUZZ_CHECK(same_entry(&e1, &e2), c1.s);
		FUZZ_CHECK(wentry_hash_ok(&e1) == wentry_hash_ok(&e2), c1.s);
		wentry_canonical(&e2, true, &c2);
		FUZZ_CHECK(c1.len == c2.len && memcmp(c1.s, c2.s, c1.len) == 0, c2.s);
		wentry_release(&e1);
	}
	wentry_release(&e2);
	buf_release(&c1);
	buf_release(&c2);
	return 0;
}
