/* Small SQLite helpers: see sqlutil.h. */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
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

int
sql_open_wal(const char *path, int busy_ms, sqlite3 **db)
{
	int fd, rc;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600)) >= 0)
		close(fd);
	rc = sqlite3_open_v2(path, db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_busy_timeout(*db, busy_ms);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(*db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(*db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
	return rc;
}

int
sql_open_immutable(const char *path, sqlite3 **db)
{
	struct buf uri = BUF_INIT;
	const char *p;
	int rc;

	buf_addf(&uri, "file:");
	for (p = path; *p; p++)
		if (*p == '%' || *p == '?' || *p == '#')
			buf_addf(&uri, "%%%02x", (unsigned char)*p);
		else
			buf_addc(&uri, *p);
	buf_addf(&uri, "?immutable=1");
	rc = sqlite3_open_v2(uri.s, db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
	buf_release(&uri);
	return rc;
}

int64_t
sql_query_int(sqlite3 *db, const char *sql, int *rc)
{
	sqlite3_stmt *q = NULL;
	int64_t v = 0;

	if ((*rc = sqlite3_prepare_v2(db, sql, -1, &q, NULL)) == SQLITE_OK &&
	    (*rc = sqlite3_step(q)) == SQLITE_ROW)
		v = sqlite3_column_int64(q, 0);
	if (*rc == SQLITE_ROW || *rc == SQLITE_DONE)
		*rc = SQLITE_OK;
	sqlite3_finalize(q);
	return v;
}

enum status
sql_fail(sqlite3 *db, const char *kind, const char *path, int rc, const char *what,
	 struct err *e)
{
	if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB)
		return err_set(e, ST_INDEX_CORRUPT, "%s '%s' is damaged (%s)", kind, path,
			       sqlite3_errstr(rc));
	return err_set(e, ST_IO, "%s '%s': %s: %s", kind, path, what,
		       db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

void
sql_file_mark(const char *path, struct sql_file_mark *m)
{
	struct stat sb;

	memset(m, 0, sizeof *m);
	if (stat(path, &sb) != 0)
		return;
	m->set = true;
	m->dev = sb.st_dev;
	m->ino = sb.st_ino;
	m->size = sb.st_size;
	m->mtime = sb.st_mtim;
	m->ctime = sb.st_ctim;
}

bool
sql_file_same(const char *path, const struct sql_file_mark *m)
{
	struct sql_file_mark now;

	sql_file_mark(path, &now);
	return m->set && now.set && now.dev == m->dev && now.ino == m->ino &&
	       now.size == m->size && now.mtime.tv_sec == m->mtime.tv_sec &&
	       now.mtime.tv_nsec == m->mtime.tv_nsec && now.ctime.tv_sec == m->ctime.tv_sec &&
	       now.ctime.tv_nsec == m->ctime.tv_nsec;
}
