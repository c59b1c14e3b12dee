/*
 * The YAML config loader. config_load_file only reads paths, so the input
 * goes to a temporary file of this process first; it is loaded twice, as a
 * command loads it (first problem stops) and as 'config validate' does
 * (every problem listed). Both must agree on whether the file is valid, and
 * a valid file must leave every key with a value its own check accepts.
 */
#include <stdlib.h>

#include "core/config.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file(".yaml", data, size);
	struct config c1, c2;
	struct cfg_problems probs = { 0 };
	struct err e = ERR_INIT;
	enum status st1, st2;
	int i;

	config_init(&c1);
	config_init(&c2);
	st1 = config_load_file(&c1, path, NULL, &e);
	st2 = config_load_file(&c2, path, &probs, &e);
	FUZZ_CHECK((st1 == ST_OK) == (st2 == ST_OK), e.msg);
	FUZZ_CHECK(st2 != ST_OK || probs.n == 0, e.msg);
	for (i = 0; st1 == ST_OK && i < CK__COUNT; i++)
		FUZZ_CHECK(config_check_value(config_key((enum cfg_id)i), c1.value[i], &e) == ST_OK,
			   e.msg);
	cfg_problems_release(&probs);
	config_release(&c1);
	config_release(&c2);
	return 0;
}
