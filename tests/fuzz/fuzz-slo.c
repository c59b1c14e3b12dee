/*
 * SLO records another client wrote: a sample (IF_SLO) and an objective
 * (IF_SLO_OBJECTIVES). What slo_sample_parse accepts is encoded by
 * slo_sample_encode into JSON that parses back to the same sample; an
 * objective slo_objective_parse accepts is written back and read to the
 * same bytes. The first byte picks which.
 */
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/slo.h"
#include "fuzz.h"

/* A sample read, written, read again: the same bytes the second time. */
static void
sample(const char *data, size_t size)
{
	struct json_doc d1 = JSON_DOC_INIT, d2 = JSON_DOC_INIT;
	struct buf j1 = BUF_INIT, j2 = BUF_INIT;
	struct slo_sample s1, s2;
	struct err e = ERR_INIT;

	if (slo_sample_parse(data, size, &s1, &d1, &e) == ST_OK) {
		FUZZ_CHECK(slo_sample_encode(&s1, &j1, &e) == ST_OK, e.msg);
		FUZZ_CHECK(json_check(j1.s, "sample", &e) == ST_OK, j1.s);
		FUZZ_CHECK(slo_sample_parse(j1.s, j1.len, &s2, &d2, &e) == ST_OK, j1.s);
		FUZZ_CHECK(slo_sample_encode(&s2, &j2, &e) == ST_OK, e.msg);
		FUZZ_CHECK(j1.len == j2.len && memcmp(j1.s, j2.s, j1.len) == 0, j2.s);
	}
	json_doc_release(&d1);
	json_doc_release(&d2);
	buf_release(&j1);
	buf_release(&j2);
}

/* An objective read, written, read again. */
static void
objective(const char *data, size_t size)
{
	struct slo_objective o1, o2;
	struct buf j1 = BUF_INIT, j2 = BUF_INIT;
	struct err e = ERR_INIT;

	if (slo_objective_parse(NULL, data, size, &o1, &e) == ST_OK) {
		slo_objective_to_json(&o1, &j1);
		FUZZ_CHECK(json_check(j1.s, "objective", &e) == ST_OK, j1.s);
		FUZZ_CHECK(slo_objective_parse(o1.swarm, j1.s, j1.len, &o2, &e) == ST_OK, j1.s);
		slo_objective_to_json(&o2, &j2);
		FUZZ_CHECK(j1.len == j2.len && memcmp(j1.s, j2.s, j1.len) == 0, j2.s);
		slo_objective_release(&o2);
	}
	slo_objective_release(&o1);
	buf_release(&j1);
	buf_release(&j2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] & 1)
		objective((const char *)data + 1, size - 1);
	else
		sample((const char *)data + 1, size - 1);
	return 0;
}
