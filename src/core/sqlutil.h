/*
 * Small SQLite helpers shared by the local indexes built beside the witness
 * store (the cost index costdb.c, the task index taskdb.c) and by the
 * witness store itself (store.c).
 */
#ifndef IF_SQLUTIL_H
#define IF_SQLUTIL_H

#include <sqlite3.h>

/*
 * Bind v to parameter i of s, or NULL when v is NULL. how is SQLite's
 * destructor: SQLITE_STATIC when v outlives the statement's next step and
 * reset (nothing is copied), SQLITE_TRANSIENT to have SQLite copy it.
 */
void sql_bind_text(sqlite3_stmt *s, int i, const char *v, sqlite3_destructor_type how);

/* Run a prepared statement that returns no row, then reset it and its bindings. */
int sql_step_reset(sqlite3_stmt *s);

#endif
