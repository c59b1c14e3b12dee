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
