/* ifctl doctor: what the fleet's tools depend on, checked (doctor.h). */
#include "cmd/cmd.h"
#include "core/doctor.h"

/*
 * Local checks always run; the server's only when it answers (its absence
 * is the first failure then, with the local results still shown).
 */
static enum status
run_doctor(struct cmd_ctx *ctx)
{
	struct rowset *rs = doctor_rows();
	struct err ce = ERR_INIT;
	enum status st, conn = cmd_connect(ctx);

	if (conn != ST_OK) {
		ce = ctx->err;
		err_clear(&ctx->err);
	}
	st = doctor_run(conn == ST_OK ? ctx->bus : NULL, &ctx->cfg, rs, &ctx->err);
	if (conn != ST_OK) {
		size_t r = rows_add(rs);
		rows_set(rs, r, 0, "server");
		rows_set(rs, r, 1, "fail");
		rows_set(rs, r, 2, status_info(conn)->name);
		rows_set(rs, r, 3, ce.msg);
		rows_set(rs, r, 4, status_info(conn)->remedy);
		if (st == ST_OK) {
			ctx->err = ce;
			st = conn;
		}
	}
	doc_add(&ctx->out, rs);
	ctx->output_on_error = true;
	return st;
}

const struct cmd_entry cmd_doctor_entry = {
	.name = "doctor",
	.summary = "check the key, the index, the schema, every task record and the ledger's tail",
	.run = run_doctor,
	.examples =
		"ifctl doctor\n"
		"ifctl doctor -o json | jq '.[] | select(.result == \"fail\")'",
	.see_also = "status, index rebuild, witness verify, task list",
	.schema = "doctor-check[]",
};
