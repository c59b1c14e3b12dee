/* The SQLite wrapper: see store.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/buf.h"
#include "core/sqlutil.h"
#include "core/store.h"
#include "core/util.h"

struct store {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *put, *node_put, *node_get;
};

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);"
	"CREATE TABLE IF NOT EXISTS witness ("
	" seq INTEGER PRIMARY KEY, time INTEGER NOT NULL, component TEXT, event TEXT,"
	" actor TEXT, trace TEXT, swarm TEXT, task TEXT, payload TEXT,"
	" cost_micros INTEGER, tokens INTEGER, prev TEXT NOT NULL, hash TEXT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS witness_trace ON witness (trace, seq);"
	"CREATE INDEX IF NOT EXISTS witness_task ON witness (task, seq);"
	"CREATE INDEX IF NOT EXISTS witness_time ON witness (time);"
	/* Complete subtrees of the Merkle tree over the entries: (level, index) -> hash. */
	"CREATE TABLE IF NOT EXISTS merkle (level INTEGER, idx INTEGER, hash BLOB NOT NULL,"
	" PRIMARY KEY (level, idx)) WITHOUT ROWID;"
	"INSERT OR IGNORE INTO meta VALUES ('schema', '2');"
	/* Schema 1 had no tree: copy the entries again to build it. */
	"DELETE FROM witness WHERE (SELECT value FROM meta WHERE key = 'schema') = '1';"
	"UPDATE meta SET value = '2' WHERE key = 'schema';";

/* Map an SQLite failure; a damaged file is the index's problem, not the caller's. */
static enum status
db_err(struct store *s, int rc, const char *what, struct err *e)
{
	if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB)
		return err_set(e, ST_INDEX_CORRUPT, "index '%s' is damaged (%s)", s->path,
			       sqlite3_errstr(rc));
	if (rc == SQLITE_READONLY || rc == SQLITE_PERM || rc == SQLITE_CANTOPEN)
		return err_set(e, ST_PERMISSION, "index '%s': %s: %s", s->path, what,
			       sqlite3_errmsg(s->db));
	return err_set(e, ST_IO, "index '%s': %s: %s", s->path, what, sqlite3_errmsg(s->db));
}

/*
 * The index is the operator's (it holds the ledger's payloads): create it
 * 0600 whatever the umask, before SQLite does (SQLite gives its -wal and
 * -shm files the database's mode), and narrow an older, wider one and its
 * companions. Never open and close a database this process may hold open:
 * closing any descriptor of a file drops the process's POSIX locks on it.
 */
static void
private_mode(const char *path)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	struct stat sb;
	size_t i;
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600)) >= 0)
		close(fd);
	for (i = 0; i < ARRAY_SIZE(suffix); i++) {
		char *p = xasprintf("%s%s", path, suffix[i]);
		if (lstat(p, &sb) == 0 && S_ISREG(sb.st_mode) && (sb.st_mode & 077) &&
		    sb.st_uid == geteuid())
			chmod(p, sb.st_mode & 0700);
		free(p);
	}
}

enum status
store_open(const char *path, struct store **out, struct err *e)
{
	struct store *s;
	struct stat sb;
	int rc;
	enum status st = ST_OK;

	/* SQLite says "unable to open" of a directory: name what is wrong instead. */
	if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
		return err_set(e, ST_INDEX_CORRUPT, "index '%s' is not a regular file (%s)", path,
			       S_ISDIR(sb.st_mode) ? "a directory" : "a special file");
	if (strcmp(path, ":memory:") != 0)	/* SQLite's name for a database in memory */
		private_mode(path);
	s = xcalloc(1, sizeof *s);
	s->path = xstrdup(path);
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_busy_timeout(s->db, 5000);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, schema_sql, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO witness VALUES "
					"(?,?,?,?,?,?,?,?,?,?,?,?,?)", -1, &s->put, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO merkle VALUES (?,?,?)", -1,
					&s->node_put, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(s->db, "SELECT hash FROM merkle WHERE level = ? AND idx = ?",
					-1, &s->node_get, NULL);
	if (rc != SQLITE_OK) {
		st = db_err(s, rc, "open", e);
		store_close(s);
		return st;
	}
	*out = s;
	return ST_OK;
}

const char *
store_path(const struct store *s)
{
	return s->path;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	sqlite3_finalize(s->put);
	sqlite3_finalize(s->node_put);
	sqlite3_finalize(s->node_get);
	sqlite3_close(s->db);
	free(s->path);
	free(s);
}

static enum status
exec(struct store *s, const char *sql, struct err *e)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? ST_OK : db_err(s, rc, sql, e);
}

enum status store_begin(struct store *s, struct err *e) { return exec(s, "BEGIN IMMEDIATE", e); }
enum status store_commit(struct store *s, struct err *e) { return exec(s, "COMMIT", e); }
enum status store_witness_clear(struct store *s, struct err *e)
{
	return exec(s, "DELETE FROM witness; DELETE FROM merkle", e);
}

enum status
store_node_put(struct store *s, unsigned level, uint64_t idx, const merkle_hash h,
	       struct err *e)
{
	sqlite3_stmt *q = s->node_put;
	int rc;

	sqlite3_reset(q);
	sqlite3_bind_int(q, 1, (int)level);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)idx);
	sqlite3_bind_blob(q, 3, h, MERKLE_HASH, SQLITE_TRANSIENT);
	rc = sqlite3_step(q);
	return rc == SQLITE_DONE ? ST_OK : db_err(s, rc, "insert", e);
}

enum status
store_node_get(struct store *s, unsigned level, uint64_t idx, merkle_hash h, struct err *e)
{
	sqlite3_stmt *q = s->node_get;
	enum status st;
	int rc;

	sqlite3_reset(q);
	sqlite3_bind_int(q, 1, (int)level);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)idx);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(q, 0) == MERKLE_HASH) {
		memcpy(h, sqlite3_column_blob(q, 0), MERKLE_HASH);
		st = ST_OK;
	} else if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
		st = err_set(e, ST_INDEX_CORRUPT, "index '%s' lacks tree node %u/%llu", s->path,
			     level, (unsigned long long)idx);
	} else {
		st = db_err(s, rc, "select", e);
	}
	sqlite3_reset(q);
	return st;
}

enum status
store_witness_hash(struct store *s, uint64_t seq, char hash[WITNESS_HEX], struct err *e)
{
	sqlite3_stmt *q = NULL;
	enum status st = ST_NOT_FOUND;
	int rc = sqlite3_prepare_v2(s->db, "SELECT hash FROM witness WHERE seq = ?", -1, &q, NULL);

	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(q, 1, (sqlite3_int64)seq);
		rc = sqlite3_step(q);
	}
	if (rc == SQLITE_ROW && sqlite3_column_text(q, 0)) {
		snprintf(hash, WITNESS_HEX, "%s", (const char *)sqlite3_column_text(q, 0));
		st = ST_OK;
	} else if (rc != SQLITE_DONE) {
		st = db_err(s, rc, "select", e);
	}
	sqlite3_finalize(q);
	return st;
}

enum status
store_witness_last(struct store *s, uint64_t *last, struct err *e)
{
	sqlite3_stmt *q = NULL;
	int rc = sqlite3_prepare_v2(s->db, "SELECT max(seq) FROM witness", -1, &q, NULL);
	enum status st = ST_OK;

	*last = 0;
	if (rc == SQLITE_OK)
		rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		*last = (uint64_t)sqlite3_column_int64(q, 0);
	else	/* an error is not an empty index */
		st = db_err(s, rc, "select", e);
	sqlite3_finalize(q);
	return st;
}

enum status
store_witness_put(struct store *s, const struct wentry *e, struct err *err)
{
	sqlite3_stmt *q = s->put;
	int rc;

	sqlite3_reset(q);
	sqlite3_bind_int64(q, 1, (sqlite3_int64)e->seq);
	sqlite3_bind_int64(q, 2, e->time);
	sql_bind_text(q, 3, e->component, SQLITE_TRANSIENT);
	sql_bind_text(q, 4, e->event, SQLITE_TRANSIENT);
	sql_bind_text(q, 5, e->actor, SQLITE_TRANSIENT);
	sql_bind_text(q, 6, e->trace, SQLITE_TRANSIENT);
	sql_bind_text(q, 7, e->swarm, SQLITE_TRANSIENT);
	sql_bind_text(q, 8, e->task, SQLITE_TRANSIENT);
	sql_bind_text(q, 9, e->payload, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 10, e->cost_micros);
	sqlite3_bind_int64(q, 11, e->tokens);
	sql_bind_text(q, 12, e->prev, SQLITE_TRANSIENT);
	sql_bind_text(q, 13, e->hash, SQLITE_TRANSIENT);
	rc = sqlite3_step(q);
	return rc == SQLITE_DONE ? ST_OK : db_err(s, rc, "insert", err);
}

/* "%text%" for LIKE ... ESCAPE '\': the text's own %, _ and \ match only themselves. */
static void
like_pattern(struct buf *out, const char *text)
{
	buf_addc(out, '%');
	for (; *text; text++) {
		if (*text == '%' || *text == '_' || *text == '\\')
			buf_addc(out, '\\');
		buf_addc(out, *text);
	}
	buf_addc(out, '%');
}

/* One optional condition: "AND col = ?" (or LIKE for text). */
static void
cond(struct buf *sql, const char *col, const char *v, const char *op)
{
	if (v)
		buf_addf(sql, " AND %s %s ?", col, op);
}

/* A text column as a heap string, or NULL. */
static char *
column_str(sqlite3_stmt *q, int i)
{
	return xstrdup_or_null((const char *)sqlite3_column_text(q, i));
}

/* A hash column (NOT NULL in the schema) into out. */
static void
hash_column(sqlite3_stmt *q, int i, char out[WITNESS_HEX])
{
	const char *t = (const char *)sqlite3_column_text(q, i);

	snprintf(out, WITNESS_HEX, "%s", t ? t : "");
}

/* The entry a query row holds (the columns of store_witness_query's SELECT). */
static void
row_entry(sqlite3_stmt *q, struct wentry *e)
{
	wentry_init(e);
	e->v = 0;	/* the index does not keep it */
	e->seq = (uint64_t)sqlite3_column_int64(q, 0);
	e->time = sqlite3_column_int64(q, 1);
	e->component = column_str(q, 2);
	e->event = column_str(q, 3);
	e->actor = column_str(q, 4);
	e->trace = column_str(q, 5);
	e->swarm = column_str(q, 6);
	e->task = column_str(q, 7);
	e->cost_micros = sqlite3_column_int64(q, 8);
	e->tokens = sqlite3_column_int64(q, 9);
	e->payload = column_str(q, 10);
	hash_column(q, 11, e->prev);
	hash_column(q, 12, e->hash);
}

enum status
store_witness_query(struct store *s, const struct witness_filter *f, store_entry_fn fn,
		    void *arg, struct err *e)
{
	struct buf sql = BUF_INIT, like = BUF_INIT;
	sqlite3_stmt *q = NULL;
	size_t i;
	int rc, n = 1;
	enum status st = ST_OK;

	buf_adds(&sql, "SELECT seq, time, component, event, actor, trace, swarm, task, "
		 "cost_micros, tokens, payload, prev, hash FROM witness WHERE 1");
	cond(&sql, "component", f->component, "=");
	cond(&sql, "event", f->event, "=");
	cond(&sql, "actor", f->actor, "=");
	cond(&sql, "swarm", f->swarm, "=");
	cond(&sql, "task", f->task, "=");
	cond(&sql, "trace", f->trace, "=");
	if (f->text)
		buf_adds(&sql, " AND (payload LIKE ? ESCAPE '\\' OR event LIKE ? ESCAPE '\\' OR"
			 " actor LIKE ? ESCAPE '\\' OR task LIKE ? ESCAPE '\\')");
	if (f->since)
		buf_adds(&sql, " AND time >= ?");
	if (f->until)
		buf_adds(&sql, " AND time < ?");
	buf_addf(&sql, " ORDER BY seq LIMIT %lld OFFSET %lld",
		 (long long)(f->limit > 0 ? f->limit : -1), (long long)(f->offset > 0 ? f->offset : 0));
	rc = sqlite3_prepare_v2(s->db, sql.s, -1, &q, NULL);
	if (rc != SQLITE_OK) {
		st = db_err(s, rc, "query", e);
		goto out;
	}
	sql_bind_text(q, n, f->component, SQLITE_TRANSIENT), n += f->component != NULL;
	sql_bind_text(q, n, f->event, SQLITE_TRANSIENT), n += f->event != NULL;
	sql_bind_text(q, n, f->actor, SQLITE_TRANSIENT), n += f->actor != NULL;
	sql_bind_text(q, n, f->swarm, SQLITE_TRANSIENT), n += f->swarm != NULL;
	sql_bind_text(q, n, f->task, SQLITE_TRANSIENT), n += f->task != NULL;
	sql_bind_text(q, n, f->trace, SQLITE_TRANSIENT), n += f->trace != NULL;
	if (f->text) {
		like_pattern(&like, f->text);
		for (i = 0; i < 4; i++)
			sql_bind_text(q, n++, like.s, SQLITE_TRANSIENT);
	}
	if (f->since)
		sqlite3_bind_int64(q, n++, f->since);
	if (f->until)
		sqlite3_bind_int64(q, n++, f->until);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct wentry row;
		row_entry(q, &row);
		fn(arg, &row);
		wentry_release(&row);
	}
	if (rc != SQLITE_DONE)
		st = db_err(s, rc, "query", e);
out:
	sqlite3_finalize(q);
	buf_release(&sql);
	buf_release(&like);
	return st;
}

enum status
store_witness_near_traces(struct store *s, const char *id, char *out, size_t outlen,
			  struct err *e)
{
	struct { char id[80]; size_t d; } best[3] = { { "", (size_t)-1 }, { "", (size_t)-1 },
						      { "", (size_t)-1 } };
	sqlite3_stmt *q = NULL;
	size_t i, j, len = 0;
	int rc;

	out[0] = '\0';
	rc = sqlite3_prepare_v2(s->db, "SELECT DISTINCT trace FROM witness WHERE trace IS NOT NULL "
				"LIMIT 100000", -1, &q, NULL);
	if (rc != SQLITE_OK)
		return db_err(s, rc, "query", e);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(q, 0);
		size_t d = edit_distance(id, t);
		for (i = 0; i < 3; i++) {
			if (d < best[i].d) {
				for (j = 2; j > i; j--)
					best[j] = best[j - 1];
				snprintf(best[i].id, sizeof best[i].id, "%s", t);
				best[i].d = d;
				break;
			}
		}
	}
	sqlite3_finalize(q);
	for (i = 0; i < 3 && best[i].id[0] && len + 1 < outlen; i++)
		len += (size_t)snprintf(out + len, outlen - len, "%s%s", i ? ", " : "", best[i].id);
	return rc == SQLITE_DONE ? ST_OK : db_err(s, rc, "query", e);
}
