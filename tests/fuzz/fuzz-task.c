/*
 * The task record. A record task_from_json accepts must be written back by
 * task_to_json as JSON that task_from_json reads to a record serialising to
 * the same bytes: what is read can be written, and what is written can be
 * read (issue: "never write what cannot be read back").
 */
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/task.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct task t1, t2;
	struct buf j1 = BUF_INIT, j2 = BUF_INIT;
	struct err e = ERR_INIT;

	task_init(&t1);
	task_init(&t2);
	if (task_from_json((const char *)data, size, &t1, &e) == ST_OK) {
		task_to_json(&t1, &j1);
		FUZZ_CHECK(json_check(j1.s, "task", &e) == ST_OK, j1.s);
		FUZZ_CHECK(fuzz_utf8_ok(j1.s, j1.len), j1.s);
		FUZZ_CHECK(task_from_json(j1.s, j1.len, &t2, &e) == ST_OK, j1.s);
		task_to_json(&t2, &j2);
		FUZZ_CHECK(j1.len == j2.len && memcmp(j1.s, j2.s, j1.len) == 0, j2.s);
	}
	task_release(&t1);
	task_release(&t2);
	buf_release(&j1);
	buf_release(&j2);
	return 0;
}
