/*
 * Small SQLite helpers shared by the local indexes built beside the witness
 * store (the cost index costdb.c, the task index taskdb.c).
 */
#ifndef IF_SQLUTIL_H
#define IF_SQLUTIL_H

#include <sqlite3.h>

/* Run a prepared statement that returns no row, then reset it and its bindings. */
int sql_step_reset(sqlite3_stmt *s);

#endif
