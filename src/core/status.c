/* Status codes and the error catalogue: see status.h. */
#include <stdio.h>
#include <string.h>

#include "core/status.h"

#define STATUS_ROW(sym, name, exitc, text, remedy) { name, exitc, text, remedy },
static const struct status_info status_table[] = { STATUS_TABLE(STATUS_ROW) };
#undef STATUS_ROW

_Static_assert(sizeof status_table / sizeof status_table[0] == ST__COUNT,
	       "status table and enum status disagree");

const struct status_info *
status_info(enum status st)
{
	if ((unsigned)st >= ST__COUNT)
		st = ST_FAIL;
	return &status_table[st];
}

const char *
status_text(enum status st)
{
	return status_info(st)->text;
}

int
status_exit_code(enum status st)
{
	return status_info(st)->exit_code;
}

enum status
err_vset(struct err *e, enum status st, const char *fmt, va_list ap)
{
	if (e == NULL)
		return st;
	e->code = st;
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	e->remedy[0] = '\0';
	return st;
}

enum status
err_set(struct err *e, enum status st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(e, st, fmt, ap);
	va_end(ap);
	return st;
}

void
err_prefix(struct err *e, const char *fmt, ...)
{
	char joined[2 * ERR_MSG_MAX + 2];
	size_t n;
	va_list ap;

	if (e == NULL)
		return;
	va_start(ap, fmt);
	n = (size_t)vsnprintf(joined, ERR_MSG_MAX, fmt, ap);
	va_end(ap);
	if (n >= ERR_MSG_MAX)
		n = ERR_MSG_MAX - 1;
	memcpy(joined + n, ": ", 2);
	memcpy(joined + n + 2, e->msg, strlen(e->msg) + 1);
	/* Keep the head; cut the tail when the whole does not fit. */
	joined[ERR_MSG_MAX - 1] = '\0';
	memcpy(e->msg, joined, ERR_MSG_MAX);
}

void
err_remedy(struct err *e, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(e->remedy, sizeof e->remedy, fmt, ap);
	va_end(ap);
}

const char *
err_remedy_text(const struct err *e, enum status st)
{
	if (e && e->code == st && e->remedy[0])
		return e->remedy;
	return status_info(st)->remedy;
}

void
err_clear(struct err *e)
{
	if (e == NULL)
		return;
	e->code = ST_OK;
	e->msg[0] = '\0';
	e->remedy[0] = '\0';
}
