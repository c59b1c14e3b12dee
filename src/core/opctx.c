/* Operation context: see opctx.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/opctx.h"
#include "core/util.h"

void
opctx_init(struct opctx *op, const char *trace)
{
	memset(op, 0, sizeof *op);
	if (trace && *trace)
		snprintf(op->trace_id, sizeof op->trace_id, "%s", trace);
	else
		trace_id_new(op->trace_id);
	op->why = rows_new("why");
	rows_col(op->why, "factor", COL_TEXT, 0);
	rows_col(op->why, "value", COL_TEXT, 0);
	rows_col(op->why, "detail", COL_TEXT, 0);
	op->checks = rows_new("checks");
	rows_col(op->checks, "check", COL_TEXT, 0);
	rows_col(op->checks, "result", COL_TEXT, 0);
	rows_col(op->checks, "evidence", COL_TEXT, 0);
}

void
opctx_release(struct opctx *op)
{
	rows_free(op->why);
	rows_free(op->checks);
	free(op->justification);
	memset(op, 0, sizeof *op);
}

void
why_add(struct opctx *op, const char *factor, const char *value, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	size_t r;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	r = rows_add(op->why);
	rows_set(op->why, r, 0, factor);
	rows_set(op->why, r, 1, value);
	rows_set(op->why, r, 2, b.s);
	buf_release(&b);
}

bool
check(struct opctx *op, const char *name, enum status st, const struct err *cause,
      const char *evidence)
{
	size_t r = rows_add(op->checks);
	bool has_cause = st != ST_OK && cause && cause->msg[0];

	rows_set(op->checks, r, 0, name);
	rows_set(op->checks, r, 1, st == ST_OK ? "pass" : "fail");
	rows_set(op->checks, r, 2, has_cause ? cause->msg : evidence);
	if (st == ST_OK)
		return true;
	if (op->failed_checks++ == 0 && has_cause) {
		op->first_failure = *cause;
		op->first_failure.code = st;
	} else if (op->failed_checks == 1) {
		err_set(&op->first_failure, st, "%s", evidence ? evidence : name);
	}
	return op->falsify;
}

enum status
check_failure(const struct opctx *op, struct err *e)
{
	if (e && op->first_failure.code != ST_OK)
		*e = op->first_failure;
	return op->first_failure.code;
}

enum status
opctx_may_write(const struct opctx *op, const char *what, struct err *e)
{
	if (op->read_only)
		return err_set(e, ST_READ_ONLY, "refusing to %s: read-only mode", what);
	return ST_OK;
}
