/* ifctl version: ifctl and library versions. */
#include "cmd/cmd.h"
#include "core/version.h"

static enum status
run_version(struct cmd_ctx *ctx)
{
	doc_add(&ctx->out, versions_rows());
	return ST_OK;
}

const struct cmd_entry cmd_version_entry = {
	.name = "version",
	.summary = "print the version of ifctl and of the libraries it runs with",
	.run = run_version,
	.examples =
		"ifctl version\n"
		"ifctl version -o json",
	.see_also = "status, doctor",
	.schema = "version",
};
