/*
 * What the governor reads from others: a policy file (YAML), a swarm record
 * and a state record (JSON another client wrote). Each is accepted or
 * refused with a message, never a crash; a record that is accepted is
 * written back as a record that reads to the same bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/policy.h"
#include "core/swarm.h"
#include "fuzz.h"

/* A swarm record read, written and read again gives the same profile. */
static void
record_round_trip(const char *data, size_t size)
{
	struct swarm s1, s2;
	struct buf j1 = BUF_INIT, j2 = BUF_INIT;
	struct err e = ERR_INIT;
	struct json_doc doc = JSON_DOC_INIT;

	if (swarm_record_parse("fuzz", data, size, &s1, &e) != ST_OK)
		return;
	swarm_profile_json(&s1.p, &j1);
	FUZZ_CHECK(json_parse(j1.s, j1.len, "profile", &doc, &e) == ST_OK, j1.s);
	FUZZ_CHECK(swarm_profile_read(doc.root, NULL, &s2.p, NULL, &e) == ST_OK ||
		   e.code == ST_BAD_VALUE, j1.s);	/* a site capability is unknown here */
	if (e.code == ST_OK) {
		swarm_profile_json(&s2.p, &j2);
		FUZZ_CHECK(j1.len == j2.len && memcmp(j1.s, j2.s, j1.len) == 0, j2.s);
		swarm_profile_release(&s2.p);
	}
	json_doc_release(&doc);
	swarm_release(&s1);
	buf_release(&j1);
	buf_release(&j2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct swarm_state st;
	struct policy p;
	struct err e = ERR_INIT;

	if (policy_parse((const char *)data, size, "fuzz.yaml", NULL, NULL, &p, NULL, &e) == ST_OK)
		policy_release(&p);
	record_round_trip((const char *)data, size);
	if (swarm_state_parse("fuzz", (const char *)data, size, &st, &e) == ST_OK)
		swarm_state_release(&st);
	return 0;
}
