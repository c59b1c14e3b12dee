/* Small SQLite helpers: see sqlutil.h. */
#include "core/sqlutil.h"

int
sql_step_reset(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

void
sql_bind_text(sqlite3_stmt *s, int i, const char *v, sqlite3_destructor_type how)
{
	if (v)
		sqlite3_bind_text(s, i, v, -1, how);
	else
		sqlite3_bind_null(s, i);
}
