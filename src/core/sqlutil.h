/*
 * Small SQLite helpers shared by the local indexes built beside the witness
 * store (the cost index costdb.c, the task index taskdb.c, the mirror of
 * KV buckets kvmirror.c) and by the witness store itself (store.c).
 */
#ifndef IF_SQLUTIL_H
#define IF_SQLUTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include <sqlite3.h>

#include "core/status.h"

/*
 * Bind v to parameter i of s, or NULL when v is NULL. how is SQLite's
 * destructor: SQLITE_STATIC when v outlives the statement's next step and
 * reset (nothing is copied), SQLITE_TRANSIENT to have SQLite copy it.
 */
void sql_bind_text(sqlite3_stmt *s, int i, const char *v, sqlite3_destructor_type how);

/*
 * A file's identity and last change. A reader that opened a file immutable
 * (no lock) takes the mark before opening and compares it after reading:
 * a writer's checkpoint into the file meanwhile may have mixed old pages
 * with new in what it read. False also when the file cannot be looked at.
 */
struct sql_file_mark {
	bool set;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
};
void sql_file_mark(const char *path, struct sql_file_mark *m);
bool sql_file_same(const char *path, const struct sql_file_mark *m);

/* Run a prepared statement that returns no row, then reset it and its bindings. */
int sql_step_reset(sqlite3_stmt *s);

/*
 * Open path for writing as the local caches are: the file made 0600 before
 * SQLite makes it (and its -wal and -shm), a busy timeout of busy_ms, WAL,
 * synchronous NORMAL (a cache: a power cut may lose the last commits).
 * *db is set even on failure (close it).
 */
int sql_open_wal(const char *path, int busy_ms, sqlite3 **db);
/*
 * Open path read only and immutable (a URI, the path's own characters
 * escaped): SQLite takes no lock and makes no -wal or -shm, and sees the
 * file's last checkpointed state. *db is set even on failure (close it).
 */
int sql_open_immutable(const char *path, sqlite3 **db);
/* One integer from a query without parameters (0 when it gives no row); rc through *rc. */
int64_t sql_query_int(sqlite3 *db, const char *sql, int *rc);
/*
 * An SQLite failure of the file at path (what: the operation) as a
 * status: a damaged or foreign file is ST_INDEX_CORRUPT, anything else
 * ST_IO; kind names the file in the message ("index", "mirror").
 */
enum status sql_fail(sqlite3 *db, const char *kind, const char *path, int rc, const char *what,
		     struct err *e);

#endif
