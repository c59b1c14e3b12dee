/* The task index: see taskdb.h. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/bus-direct.h"
#include "core/coord.h"
#include "core/home.h"
#include "core/sqlutil.h"
#include "core/taskdb.h"
#include "core/util.h"

/* task_idx.state beyond the task states: every subject of the stream has a row */
#define STATE_INVALID (-1)	/* a record that is not a valid task */
#define STATE_DELETED (-2)	/* a delete or purge marker */
#define STATE_IDEM (-3)		/* an idempotency entry */

#define IDLE_MS 250	/* a sync's read ends after this long without a message */
#define SCHEMA_VERSION 2	/* task_meta 'version': another one is dropped and read again */

/* The two mirrored buckets: the live set and the archive, tables of one shape. */
enum { TAB_LIVE, TAB_ARCH, TAB__COUNT };
static const struct {
	const char *name;	/* the table */
	const char *seq;	/* task_meta key: the stream sequence applied */
	const char *rows;	/* task_meta key: rows in the table (kept by triggers) */
} tabs[TAB__COUNT] = {
	[TAB_LIVE] = { "task_idx", "seq", "lrows" },
	[TAB_ARCH] = { "task_arch", "aseq", "arows" },
};

struct taskdb {
	sqlite3 *db;
	char *path;
	bool write;
	bool stale;		/* read only, another schema version: never fresh */
	bool want_arch;		/* the archive's table is to be kept (taskdb_keep_archive) */
	struct sql_file_mark opened;	/* read only: the file as it was before opening */
	sqlite3_stmt *put[TAB__COUNT], *del[TAB__COUNT];
	sqlite3_stmt *claim_del, *claim_put, *mark, *cand_put;
};

/*
 * Both tables: one row per subject of the bucket's stream, note holding why
 * an invalid record is one. The indexes serve a listing's order (created,
 * id) under each filter that can lead (none, state, swarm); the row counts
 * are kept in task_meta by triggers (recursive_triggers: a REPLACE counts
 * its delete), so a sync compares them with the stream's subjects for free.
 */
#define TASK_TABLE(t, k) \
	"CREATE TABLE IF NOT EXISTS " t " (" \
	" id TEXT PRIMARY KEY, rev INTEGER NOT NULL, state INTEGER NOT NULL, swarm TEXT," \
	" priority INTEGER, caps TEXT, created INTEGER, updated INTEGER," \
	" takeovers INTEGER NOT NULL, expired_dead INTEGER NOT NULL, note TEXT) WITHOUT ROWID;" \
	"CREATE INDEX IF NOT EXISTS " t "_state ON " t " (state, created, id);" \
	"CREATE INDEX IF NOT EXISTS " t "_swarm ON " t " (swarm, created, id, state);" \
	"CREATE INDEX IF NOT EXISTS " t "_created ON " t " (created, id, state);" \
	"INSERT OR IGNORE INTO task_meta VALUES ('" k "', 0);" \
	"CREATE TRIGGER IF NOT EXISTS " t "_ins AFTER INSERT ON " t " BEGIN" \
	" UPDATE task_meta SET value = value + 1 WHERE key = '" k "'; END;" \
	"CREATE TRIGGER IF NOT EXISTS " t "_del AFTER DELETE ON " t " BEGIN" \
	" UPDATE task_meta SET value = value - 1 WHERE key = '" k "'; END;"

static const char task_schema[] =
	"CREATE TABLE IF NOT EXISTS task_meta (key TEXT PRIMARY KEY, value INTEGER);"
	TASK_TABLE("task_idx", "lrows")
	TASK_TABLE("task_arch", "arows")
	"CREATE TABLE IF NOT EXISTS task_claim (id TEXT NOT NULL, at INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS task_claim_at ON task_claim (at);"
	"CREATE INDEX IF NOT EXISTS task_claim_id ON task_claim (id);"
	/* every MARK_EVERY-th stream sequence applied, with its server time (ms) */
	"CREATE TABLE IF NOT EXISTS task_mark (rev INTEGER PRIMARY KEY, at INTEGER NOT NULL);"
	/* a sync's candidates for rows of subjects purged whole (see repair_live) */
	"CREATE TEMP TABLE IF NOT EXISTS cand (id TEXT PRIMARY KEY) WITHOUT ROWID;";

/* What an index of another schema version held: dropped, then made again. */
static const char task_drop[] =
	"DROP TABLE IF EXISTS task_idx; DROP TABLE IF EXISTS task_arch;"
	"DROP TABLE IF EXISTS task_claim; DROP TABLE IF EXISTS task_mark;"
	"DROP TABLE IF EXISTS task_meta;";

#define MARK_EVERY 256

/* Map an SQLite failure: a damaged file is the index's problem. */
static enum status
db_fail(struct taskdb *d, int rc, const char *what, struct err *e)
{
	if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB)
		return err_set(e, ST_INDEX_CORRUPT, "index '%s' is damaged (%s)", d->path,
			       sqlite3_errstr(rc));
	return err_set(e, ST_IO, "index '%s': %s: %s", d->path, what,
		       d->db ? sqlite3_errmsg(d->db) : sqlite3_errstr(rc));
}

/* Prepare the statements a sync uses. */
static int
prepare_all(struct taskdb *d)
{
	static const struct { size_t off; const char *sql; } stmts[] = {
		{ offsetof(struct taskdb, put[TAB_LIVE]), "INSERT OR REPLACE INTO task_idx VALUES "
		  "(?,?,?,?,?,?,?,?,?,?,?)" },
		{ offsetof(struct taskdb, put[TAB_ARCH]), "INSERT OR REPLACE INTO task_arch VALUES "
		  "(?,?,?,?,?,?,?,?,?,?,?)" },
		{ offsetof(struct taskdb, del[TAB_LIVE]), "DELETE FROM task_idx WHERE id = ?" },
		{ offsetof(struct taskdb, del[TAB_ARCH]), "DELETE FROM task_arch WHERE id = ?" },
		{ offsetof(struct taskdb, claim_del), "DELETE FROM task_claim WHERE id = ?" },
		{ offsetof(struct taskdb, claim_put), "INSERT INTO task_claim VALUES (?,?)" },
		{ offsetof(struct taskdb, mark), "INSERT OR REPLACE INTO task_mark VALUES (?,?)" },
		{ offsetof(struct taskdb, cand_put), "INSERT OR IGNORE INTO cand VALUES (?)" },
	};
	size_t i;
	int rc = SQLITE_OK;

	for (i = 0; i < ARRAY_SIZE(stmts) && rc == SQLITE_OK; i++)
		rc = sqlite3_prepare_v2(d->db, stmts[i].sql, -1,
					(sqlite3_stmt **)(void *)((char *)d + stmts[i].off), NULL);
	return rc;
}

/* One integer from a query (0 when it gives no row); rc through *rc. */
static int64_t
query_int(struct taskdb *d, const char *sql, int64_t arg, int *rc)
{
	sqlite3_stmt *q = NULL;
	int64_t v = 0;

	*rc = sqlite3_prepare_v2(d->db, sql, -1, &q, NULL);
	if (*rc == SQLITE_OK && strchr(sql, '?'))
		sqlite3_bind_int64(q, 1, arg);
	if (*rc == SQLITE_OK && (*rc = sqlite3_step(q)) == SQLITE_ROW) {
		v = sqlite3_column_int64(q, 0);
		*rc = SQLITE_OK;
	} else if (*rc == SQLITE_DONE) {
		*rc = SQLITE_OK;
	}
	sqlite3_finalize(q);
	return v;
}

/* A task_meta value (0 when there is none). */
static int64_t
get_meta(struct taskdb *d, const char *key, int *rc)
{
	char sql[128];

	snprintf(sql, sizeof sql, "SELECT value FROM task_meta WHERE key = '%s'", key);
	return query_int(d, sql, 0, rc);
}

/*
 * Make the tables (write), or check them (read only: a file of another
 * schema version is stale, never fresh, and its tables are not read).
 */
static int
schema_ready(struct taskdb *d)
{
	int rc = sqlite3_exec(d->db, "CREATE TABLE IF NOT EXISTS task_meta (key TEXT PRIMARY KEY,"
			      " value INTEGER)", NULL, NULL, NULL);
	int64_t v;

	if (!d->write) {	/* a file without the tables is damaged or foreign */
		rc = sqlite3_exec(d->db, "SELECT 1 FROM task_idx, task_meta LIMIT 0", NULL, NULL,
				  NULL);
		d->stale = rc == SQLITE_OK && get_meta(d, "version", &rc) != SCHEMA_VERSION;
		return rc;
	}
	v = rc == SQLITE_OK ? get_meta(d, "version", &rc) : 0;
	if (rc == SQLITE_OK && v != SCHEMA_VERSION)
		rc = sqlite3_exec(d->db, task_drop, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(d->db, "PRAGMA recursive_triggers=ON", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(d->db, task_schema, NULL, NULL, NULL);
	if (rc == SQLITE_OK && v != SCHEMA_VERSION)
		query_int(d, "INSERT OR REPLACE INTO task_meta VALUES ('version', ?)",
			  SCHEMA_VERSION, &rc);
	return rc == SQLITE_OK ? prepare_all(d) : rc;
}

enum status
taskdb_open_path(const char *path, bool write, struct taskdb **out, struct err *e)
{
	struct taskdb *d = xcalloc(1, sizeof *d);
	enum status st;
	int rc, fd;

	d->path = xstrdup(path);
	d->write = write;
	if (!write && access(path, F_OK) != 0) {
		st = err_set(e, ST_NOT_FOUND, "no index '%s'", path);
		taskdb_close(d);
		return st;
	}
	/* The index is the operator's: made 0600 before SQLite makes it (and its -wal, -shm). */
	if (write && (fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY,
				0600)) >= 0)
		close(fd);
	/*
	 * Read only: immutable, so SQLite makes no -shm or -wal and takes no
	 * lock (nothing under $IF_HOME changes); it reads the last checkpointed
	 * state, whose 'seq' then decides whether the index is fresh.
	 */
	if (write) {
		rc = sqlite3_open_v2(path, &d->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	} else {
		sql_file_mark(path, &d->opened);
		struct buf uri = BUF_INIT;
		const char *p;

		buf_addf(&uri, "file:");
		for (p = path; *p; p++)	/* a URI: its own characters escaped */
			if (*p == '%' || *p == '?' || *p == '#')
				buf_addf(&uri, "%%%02x", (unsigned char)*p);
			else
				buf_addc(&uri, *p);
		buf_addf(&uri, "?immutable=1");
		rc = sqlite3_open_v2(uri.s, &d->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
		buf_release(&uri);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_busy_timeout(d->db, 5000);
	if (rc == SQLITE_OK && write)
		rc = sqlite3_exec(d->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
	if (rc == SQLITE_OK && write)	/* a cache: a power cut may lose the last commits */
		rc = sqlite3_exec(d->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
	/*
	 * A first sync writes a row and three index entries per task in one
	 * transaction: with SQLite's default 2 MB of cache the indexes' pages
	 * spill to the WAL over and over. Up to 64 MB, taken only as used.
	 */
	if (rc == SQLITE_OK && write)
		rc = sqlite3_exec(d->db, "PRAGMA cache_size=-65536", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = schema_ready(d);
	if (rc != SQLITE_OK) {
		st = db_fail(d, rc, "open", e);
		taskdb_close(d);
		return st;
	}
	*out = d;
	return ST_OK;
}

enum status
taskdb_open(const struct config *c, bool write, struct taskdb **out, struct err *e)
{
	char *home = home_path(c, HOME_DIR), *path = home_path(c, HOME_INDEX);
	enum status st = write ? mkdir_p(home, 0700, e) : ST_OK;

	if (st == ST_OK)
		st = taskdb_open_path(path, write, out, e);
	free(path);
	free(home);
	return st;
}

bool
taskdb_unchanged(const struct taskdb *d)
{
	return d->write || sql_file_same(d->path, &d->opened);
}

void
taskdb_close(struct taskdb *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < TAB__COUNT; i++) {
		sqlite3_finalize(d->put[i]);
		sqlite3_finalize(d->del[i]);
	}
	sqlite3_finalize(d->claim_del);
	sqlite3_finalize(d->claim_put);
	sqlite3_finalize(d->mark);
	sqlite3_finalize(d->cand_put);
	sqlite3_close(d->db);
	free(d->path);
	free(d);
}

void
taskdb_keep_archive(struct taskdb *d)
{
	d->want_arch = true;
}

uint64_t
taskdb_seq(struct taskdb *d)
{
	int rc;
	int64_t v = get_meta(d, "seq", &rc);

	return rc == SQLITE_OK && v > 0 ? (uint64_t)v : 0;
}

/* --- sync --------------------------------------------------------------- */

/*
 * A read of a stream in progress: the watch's callback takes each message
 * into table tab (the live one also keeps claims and time marks; with
 * collect, the archive's puts name candidates in cand), the caller waits.
 */
struct sync_run {
	struct taskdb *d;
	int tab;
	bool collect;
	bool ids_only;		/* the archive's moves named in cand, no rows kept */
	struct bus *b;
	const char *stream, *subj;	/* KV_<bucket>, $KV.<bucket>.> */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t target, last, applied;
	int rc;			/* the first SQLite failure */
	bool done;
};

/* A task's row (and, live, its claims) into table tab. */
static int
put_task(struct taskdb *d, int tab, const struct task *t, uint64_t rev)
{
	sqlite3_stmt *put = d->put[tab];
	struct buf caps = BUF_INIT;
	int64_t takeovers = 0, dead = 0;
	size_t i;
	int rc;

	for (i = 0; i < t->ncaps; i++)
		buf_addf(&caps, "%s%s", i ? "," : "", t->caps[i]);
	for (i = 0; i < t->nhist; i++) {
		takeovers += coord_hist_event(t, i) == COORD_EV_TAKEOVER;
		dead += t->hist[i].note && has_prefix(t->hist[i].note, "lease expired");
	}
	sqlite3_bind_text(put, 1, t->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(put, 2, (int64_t)rev);
	sqlite3_bind_int(put, 3, (int)t->state);
	if (t->owner)
		sqlite3_bind_text(put, 4, t->owner, -1, SQLITE_STATIC);
	sqlite3_bind_int(put, 5, t->priority);
	sqlite3_bind_text(put, 6, caps.len ? caps.s : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(put, 7, t->created);
	sqlite3_bind_int64(put, 8, t->updated);
	sqlite3_bind_int64(put, 9, takeovers);
	sqlite3_bind_int64(put, 10, dead);
	rc = sql_step_reset(put);
	for (i = 0; i < t->nhist && rc == SQLITE_OK && tab == TAB_LIVE; i++) {
		if (t->hist[i].state != TASK_CLAIMED)
			continue;
		sqlite3_bind_text(d->claim_put, 1, t->id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(d->claim_put, 2, t->hist[i].at);
		rc = sql_step_reset(d->claim_put);
	}
	buf_release(&caps);
	return rc;
}

/* The row of a key that holds no valid task (state: one of STATE_*; note: why). */
static int
put_other(struct taskdb *d, int tab, const char *key, uint64_t rev, int state, const char *note)
{
	sqlite3_stmt *put = d->put[tab];

	sqlite3_bind_text(put, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(put, 2, (int64_t)rev);
	sqlite3_bind_int(put, 3, state);
	sqlite3_bind_int64(put, 9, 0);
	sqlite3_bind_int64(put, 10, 0);
	if (note)
		sqlite3_bind_text(put, 11, note, -1, SQLITE_STATIC);
	return sql_step_reset(put);
}

/* Apply one message of a stream to table tab: the key's row replaced. */
static int
apply(struct taskdb *d, int tab, const struct bus_kv_event *ev)
{
	struct err why = ERR_INIT;
	struct task t;
	int rc = SQLITE_OK;

	if (tab == TAB_LIVE) {
		sqlite3_bind_text(d->claim_del, 1, ev->key, -1, SQLITE_STATIC);
		rc = sql_step_reset(d->claim_del);
	}
	if (rc != SQLITE_OK)
		return rc;
	if (ev->op != BUS_KV_PUT)	/* kept: the subject still holds its marker */
		return put_other(d, tab, ev->key, ev->revision, STATE_DELETED, NULL);
	if (has_prefix(ev->key, COORD_IDEM_PREFIX))
		return put_other(d, tab, ev->key, ev->revision, STATE_IDEM, NULL);
	if (!task_id_valid(ev->key) || !bus_kv_key_valid(ev->key))
		return put_other(d, tab, ev->key, ev->revision, STATE_INVALID,
				 "its key is not a valid task id");
	if (coord_record_parse(ev->key, ev->value, ev->len, &t, &why) != ST_OK)
		return put_other(d, tab, ev->key, ev->revision, STATE_INVALID, why.msg);
	rc = put_task(d, tab, &t, ev->revision);
	task_release(&t);
	return rc;
}

/* A message into the run's table (live: a time mark; collect: a candidate). */
static int
take(struct sync_run *r, const struct bus_kv_event *ev)
{
	int rc = r->ids_only ? SQLITE_OK : apply(r->d, r->tab, ev);

	if (rc == SQLITE_OK && r->tab == TAB_LIVE && ev->revision % MARK_EVERY == 0) {
		sqlite3_bind_int64(r->d->mark, 1, (int64_t)ev->revision);
		sqlite3_bind_int64(r->d->mark, 2, ev->time_ns / 1000000);
		rc = sql_step_reset(r->d->mark);
	}
	if (rc == SQLITE_OK && r->collect && ev->op == BUS_KV_PUT) {
		sqlite3_bind_text(r->d->cand_put, 1, ev->key, -1, SQLITE_STATIC);
		rc = sql_step_reset(r->d->cand_put);
	}
	return rc;
}

/*
 * After ev, nothing more to read up to the target? The consumer's count of
 * messages pending says so first, but nats-server 2.9 miscounts it after
 * messages were removed from the stream (a bucket's history, purges): a
 * direct get of the next message makes sure.
 */
static bool
read_over(struct sync_run *r, const struct bus_kv_event *ev)
{
	uint64_t next = 0;

	if (ev->revision >= r->target)
		return true;
	if (ev->pending != 0)
		return false;
	return bus_stream_next(r->b, r->stream, r->subj, ev->revision + 1, &next, NULL) ==
	       ST_NOT_FOUND || next > r->target;
}

/* The sync watch's callback: take messages up to the target, then say done. */
static void
sync_on_event(void *arg, const struct bus_kv_event *ev)
{
	struct sync_run *r = arg;
	int rc = SQLITE_OK;
	bool over;

	if (ev->snapshot_done)
		return;
	pthread_mutex_lock(&r->mu);
	if (!r->done && ev->revision <= r->target) {
		pthread_mutex_unlock(&r->mu);
		rc = take(r, ev);	/* only this thread writes while the caller waits */
		pthread_mutex_lock(&r->mu);
		r->applied++;
		r->last = ev->revision;
		if (rc != SQLITE_OK && r->rc == SQLITE_OK)
			r->rc = rc;
	}
	pthread_mutex_unlock(&r->mu);
	over = read_over(r, ev);	/* a round trip at most: not under r->mu */
	pthread_mutex_lock(&r->mu);
	if (!r->done && (over || r->rc != SQLITE_OK)) {
		r->done = true;
		pthread_cond_broadcast(&r->cv);
	}
	pthread_mutex_unlock(&r->mu);
}

/*
 * Does the stream still hold a message after the last one the read took (or
 * from 'from') up to the target? ST_NOT_FOUND when it does not.
 */
static enum status
read_left(struct sync_run *r, uint64_t from, struct err *e)
{
	uint64_t next = 0, last;
	enum status st;

	pthread_mutex_lock(&r->mu);
	last = r->last;
	pthread_mutex_unlock(&r->mu);
	st = bus_stream_next(r->b, r->stream, r->subj, last ? last + 1 : from, &next, e);
	return st == ST_OK && next > r->target ? ST_NOT_FOUND : st;
}

/*
 * Read the stream from 'from' up to r->target through a watch by sequence.
 * Messages may be gone (an archive move purges its subject, marker and
 * all): a direct get finds the first one left, and the read ends at the
 * target or at the message after which none is left up to it. When
 * nothing comes for IDLE_MS (a busy server, or the rest purged meanwhile)
 * a direct get says whether anything is left to come; a read that makes no
 * progress for STALL_MS while messages are left, or a server that does not
 * answer, fails the sync (which then keeps nothing).
 */
#define STALL_MS 10000
static enum status
sync_read(struct bus *b, const char *bucket, uint64_t from, struct sync_run *r, struct err *e)
{
	char *stream = xasprintf("KV_%s", bucket), *subj = xasprintf("$KV.%s.>", bucket);
	struct bus_watch *w = NULL;
	uint64_t seen, first = 0;
	int64_t progress = mono_ms();
	enum status st;

	r->b = b;
	r->stream = stream;
	r->subj = subj;
	/* The first message still there: none up to the target, no watch. */
	st = bus_stream_next(b, stream, subj, from, &first, NULL);
	if ((st == ST_OK && first > r->target) || st == ST_NOT_FOUND) {
		free(subj);
		free(stream);
		return ST_OK;
	}
	st = bus_kv_watch(b, bucket, first > from ? first : from, sync_on_event, r, &w, e);
	pthread_mutex_lock(&r->mu);
	while (st == ST_OK && !r->done) {
		struct timespec ts = deadline_ts(IDLE_MS);

		seen = r->applied;
		if (pthread_cond_timedwait(&r->cv, &r->mu, &ts) == 0 || r->done ||
		    r->applied != seen) {
			progress = mono_ms();
			continue;
		}
		pthread_mutex_unlock(&r->mu);
		st = read_left(r, from, e);
		if (st == ST_OK && mono_ms() - progress > STALL_MS)
			st = err_set(e, ST_TIMEOUT, "reading stream '%s': no message for %d s though "
				     "some are left", stream, STALL_MS / 1000);
		pthread_mutex_lock(&r->mu);
		if (st == ST_NOT_FOUND) {	/* the rest was purged: the read is over */
			st = ST_OK;
			break;
		}
	}
	r->done = true;
	pthread_mutex_unlock(&r->mu);
	bus_watch_free(w);	/* no call of sync_on_event runs after this */
	free(subj);
	free(stream);
	return st;
}

/* Set a task_meta value. */
static int
set_meta(struct taskdb *d, const char *key, uint64_t v)
{
	char sql[128];

	snprintf(sql, sizeof sql, "INSERT OR REPLACE INTO task_meta VALUES ('%s', %llu)", key,
		 (unsigned long long)v);
	return sqlite3_exec(d->db, sql, NULL, NULL, NULL);
}

#define IDS_ONLY 2	/* read_range's collect: candidates only, no rows */

/*
 * Read bucket's stream from 'from' up to 'to' into table tab (collect: the
 * puts name candidates in cand too; IDS_ONLY: only that); *applied counts.
 */
static enum status
read_range(struct taskdb *d, struct bus *b, const char *bucket, int tab, int collect,
	   uint64_t from, uint64_t to, uint64_t *applied, int *rc, struct err *e)
{
	struct sync_run r;
	enum status st = ST_OK;

	memset(&r, 0, sizeof r);
	r.d = d;
	r.tab = tab;
	r.collect = collect != 0;
	r.ids_only = collect == IDS_ONLY;
	r.target = to;
	pthread_mutex_init(&r.mu, NULL);
	pthread_cond_init(&r.cv, NULL);
	if (from <= to && *rc == SQLITE_OK)
		st = sync_read(b, bucket, from, &r, e);
	pthread_cond_destroy(&r.cv);
	pthread_mutex_destroy(&r.mu);
	*applied += r.applied;
	if (*rc == SQLITE_OK)
		*rc = r.rc;
	return st;
}

/* Rows of table tab (every subject's, markers included), from the triggers' count. */
static int64_t
row_count(struct taskdb *d, int tab, int *rc)
{
	return get_meta(d, tabs[tab].rows, rc);
}

/* Delete id's row from table tab (live: its claims too). */
static int
drop_row(struct taskdb *d, int tab, const char *id)
{
	int rc;

	sqlite3_bind_text(d->del[tab], 1, id, -1, SQLITE_STATIC);
	rc = sql_step_reset(d->del[tab]);
	if (rc == SQLITE_OK && tab == TAB_LIVE) {
		sqlite3_bind_text(d->claim_del, 1, id, -1, SQLITE_STATIC);
		rc = sql_step_reset(d->claim_del);
	}
	return rc;
}

/* The ids a query gives (first column), into a vector the caller frees. */
static int
query_ids(struct taskdb *d, const char *sql, char ***ids, size_t *n)
{
	sqlite3_stmt *q = NULL;
	size_t cap = 0;
	int rc = sqlite3_prepare_v2(d->db, sql, -1, &q, NULL);

	*ids = NULL;
	*n = 0;
	while (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		xgrow(ids, &cap, *n + 1, sizeof **ids);
		(*ids)[(*n)++] = xstrdup((const char *)sqlite3_column_text(q, 0));
		rc = SQLITE_OK;
	}
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Free a vector of ids. */
static void
ids_free(char **ids, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

/*
 * Drop the rows of ids[] whose subject holds no message in bucket's stream
 * any more (the last message of each, read by pipelined direct gets).
 */
static enum status
drop_gone(struct taskdb *d, struct bus *b, const char *bucket, int tab, char **ids, size_t n,
	  int *rc, struct err *e)
{
	struct bus_direct *r = xcalloc(n ? n : 1, sizeof *r);
	char *stream = xasprintf("KV_%s", bucket);
	enum status st;
	size_t i;

	for (i = 0; i < n; i++)
		r[i].subject = xasprintf("$KV.%s.%s", bucket, ids[i]);
	st = bus_direct_get_many(b, stream, r, n, e);
	for (i = 0; i < n; i++) {
		if (st == ST_OK && *rc == SQLITE_OK && r[i].st == ST_NOT_FOUND)
			*rc = drop_row(d, tab, ids[i]);	/* purged whole: the row is a phantom */
		free((char *)r[i].subject);
		bus_direct_release(&r[i]);
	}
	free(r);
	free(stream);
	return st;
}

_Static_assert(TASK_DONE == 2 && TASK_FAILED == 3 && TASK_DEAD == 4, "finished: 2 to 4 in SQL");

/* Tasks both live and archived: a move or a restore in progress (or cut short). */
#define BOTH_SQL "SELECT l.id FROM task_idx l CROSS JOIN task_arch a ON a.id = l.id " \
		 "WHERE l.state >= -1"

/*
 * Rows of the live set whose subject was purged whole: tasks moved to the
 * archive (the move purges the live subject, marker and all, so no message
 * says so). Candidates: the ids put in the archive by this sync (in cand)
 * and every task the index holds both live and archived (moves read by an
 * earlier sync whose purge came later), finished live. When the surplus of
 * rows over subjects is exactly their number, all are gone; else each is
 * looked up (pipelined direct gets). Cost: the moves, not the set.
 */
static enum status
repair_live(struct taskdb *d, struct bus *b, const char *bucket, int64_t surplus,
	    bool *repaired, int *rc, struct err *e)
{
	char **ids = NULL;
	size_t n = 0, i;
	enum status st = ST_OK;

	*rc = sqlite3_exec(d->db, "INSERT OR IGNORE INTO cand " BOTH_SQL, NULL, NULL, NULL);
	if (*rc == SQLITE_OK)
		*rc = query_ids(d, "SELECT c.id FROM cand c JOIN task_idx l ON l.id = c.id "
				"WHERE l.state BETWEEN 2 AND 4", &ids, &n);
	if (*rc == SQLITE_OK && (int64_t)n == surplus)
		for (i = 0; i < n && *rc == SQLITE_OK; i++)
			*rc = drop_row(d, TAB_LIVE, ids[i]);
	else if (*rc == SQLITE_OK && n)
		st = drop_gone(d, b, bucket, TAB_LIVE, ids, n, rc, e);
	*repaired = n > 0;
	ids_free(ids, n);
	return st;
}

/*
 * Rows of the archive whose subject is gone: a restore (requeue) or a move
 * that lost its race removes the archive copy of a task that is live, so
 * the tasks both live and archived are looked up. A purge of the archive
 * leaves no such trace: the caller reads the archive again.
 */
static enum status
repair_arch(struct taskdb *d, struct bus *b, const char *archive, int *rc, struct err *e)
{
	char **ids = NULL;
	size_t n = 0;
	enum status st = ST_OK;

	*rc = query_ids(d, BOTH_SQL, &ids, &n);
	if (*rc == SQLITE_OK && n)
		st = drop_gone(d, b, archive, TAB_ARCH, ids, n, rc, e);
	ids_free(ids, n);
	return st;
}

/* Empty table tab (a rebuild). */
static int
clear_rows(struct taskdb *d, int tab)
{
	return sqlite3_exec(d->db, tab == TAB_LIVE ? "DELETE FROM task_idx; DELETE FROM task_claim;"
			    "DELETE FROM task_mark" : "DELETE FROM task_arch", NULL, NULL, NULL);
}

/*
 * Bring table tab up to its stream (stat: as it was at the start): from the
 * sequence after the last applied, or, when the stream is behind the table
 * (recreated) or messages after it are gone, emptied and read from the
 * stream's first sequence. collect: the puts read name candidates in cand.
 */
static enum status
sync_table(struct taskdb *d, struct bus *b, const char *bucket, int tab,
	   const struct bus_stream_stat *stat, bool collect, struct taskdb_sync *out, int *rc,
	   struct err *e)
{
	uint64_t seq = (uint64_t)get_meta(d, tabs[tab].seq, rc), from;
	bool rebuild = seq > stat->last_seq || (stat->msgs && seq + 1 < stat->first_seq);

	if (*rc != SQLITE_OK)
		return ST_OK;
	if (rebuild)
		seq = 0;
	from = seq + 1 > stat->first_seq ? seq + 1 : stat->first_seq;
	if (tab == TAB_LIVE) {
		out->rebuilt = rebuild;
		out->from = from;
		out->to = stat->last_seq;
	} else {
		out->arch_rebuilt = rebuild;
	}
	if (rebuild || !stat->msgs)
		*rc = clear_rows(d, tab);
	if (!stat->msgs)
		return ST_OK;
	return read_range(d, b, bucket, tab, collect && !rebuild, from, stat->last_seq,
			  tab == TAB_LIVE ? &out->applied : &out->arch_applied, rc, e);
}

/*
 * The archive's table not kept: only the moves since the last sync (the
 * puts from task_meta 'anext', the sequence after the last one seen) are read, to name the candidates of the
 * live set's repair; the first sync reads none (it reads the live set whole).
 */
static enum status
read_moves(struct taskdb *d, struct bus *b, const char *archive,
	   const struct bus_stream_stat *stat, struct taskdb_sync *out, int *rc, struct err *e)
{
	uint64_t next = (uint64_t)get_meta(d, "anext", rc);

	if (*rc != SQLITE_OK || next == 0 || !stat->msgs || next > stat->last_seq)
		return ST_OK;
	return read_range(d, b, archive, TAB_ARCH, IDS_ONLY,
			  next > stat->first_seq ? next : stat->first_seq, stat->last_seq,
			  &out->arch_applied, rc, e);
}

/* Read table tab again from its stream's first sequence (the last resort). */
static enum status
reread(struct taskdb *d, struct bus *b, const char *bucket, int tab,
       const struct bus_stream_stat *stat, struct taskdb_sync *out, int *rc, struct err *e)
{
	if (*rc == SQLITE_OK)
		*rc = set_meta(d, tabs[tab].seq, 0);
	if (*rc == SQLITE_OK)
		*rc = clear_rows(d, tab);
	return *rc == SQLITE_OK ? sync_table(d, b, bucket, tab, stat, false, out, rc, e) : ST_OK;
}

/* Does table tab hold one row per subject of its stream? */
static bool
rows_match(struct taskdb *d, int tab, const struct bus_stream_stat *stat, int64_t *surplus,
	   int *rc)
{
	int64_t rows = *rc == SQLITE_OK ? row_count(d, tab, rc) : 0;

	*surplus = rows - stat->subjects;
	return *rc != SQLITE_OK || *surplus == 0;
}

/* The sync inside its transaction: see taskdb_sync. */
static enum status
sync_tx(struct taskdb *d, struct bus *b, const char *bucket, const char *archive,
	struct taskdb_sync *out, struct err *e)
{
	struct bus_stream_stat stat, arch = { 0 };
	enum status st;
	int64_t surplus;
	bool repaired = false, mirror;
	int rc = sqlite3_exec(d->db, "DELETE FROM cand", NULL, NULL, NULL);

	if ((st = bus_kv_stat(b, bucket, &stat, e)) != ST_OK)
		return st;
	/* after the live stream's: every move purged before that stat is in it */
	if (archive && (st = bus_kv_stat(b, archive, &arch, e)) != ST_OK && st != ST_NO_SCHEMA)
		return st;
	mirror = archive && (d->want_arch || get_meta(d, "amirror", &rc) == 1);
	st = sync_table(d, b, bucket, TAB_LIVE, &stat, false, out, &rc, e);
	if (st == ST_OK && mirror)
		st = sync_table(d, b, archive, TAB_ARCH, &arch, true, out, &rc, e);
	else if (st == ST_OK && archive)
		st = read_moves(d, b, archive, &arch, out, &rc, e);
	/*
	 * Every subject of a stream has its row (markers included): more rows
	 * are subjects purged whole (archive moves, restores, purges: repaired),
	 * fewer are messages missed. Still off: read that stream again.
	 */
	if (st == ST_OK && !rows_match(d, TAB_LIVE, &stat, &surplus, &rc))
		st = repair_live(d, b, bucket, surplus, &repaired, &rc, e);
	out->repaired = repaired;
	if (st == ST_OK && !rows_match(d, TAB_LIVE, &stat, &surplus, &rc)) {
		st = reread(d, b, bucket, TAB_LIVE, &stat, out, &rc, e);
		out->rebuilt = true;
	}
	if (st == ST_OK && mirror && !rows_match(d, TAB_ARCH, &arch, &surplus, &rc))
		st = repair_arch(d, b, archive, &rc, e);
	if (st == ST_OK && mirror && !rows_match(d, TAB_ARCH, &arch, &surplus, &rc))
		st = reread(d, b, archive, TAB_ARCH, &arch, out, &rc, e);
	if (st == ST_OK && rc == SQLITE_OK && (rc = set_meta(d, "seq", stat.last_seq)) == SQLITE_OK &&
	    (rc = set_meta(d, "aseq", mirror ? arch.last_seq : 0)) == SQLITE_OK &&
	    (rc = set_meta(d, "anext", arch.last_seq + 1)) == SQLITE_OK)
		rc = set_meta(d, "amirror", mirror);
	return st == ST_OK && rc != SQLITE_OK ? db_fail(d, rc, "sync", e) : st;
}

enum status
taskdb_sync(struct taskdb *d, struct bus *b, const char *bucket, const char *archive,
	    struct taskdb_sync *out, struct err *e)
{
	int64_t t0 = mono_ms();
	enum status st;
	int rc;

	memset(out, 0, sizeof *out);
	if (!d->write)
		return err_set(e, ST_READ_ONLY, "the task index is open read-only");
	if ((rc = sqlite3_exec(d->db, "BEGIN IMMEDIATE", NULL, NULL, NULL)) != SQLITE_OK)
		return db_fail(d, rc, "begin", e);
	st = sync_tx(d, b, bucket, archive, out, e);
	if (st == ST_OK && (rc = sqlite3_exec(d->db, "COMMIT", NULL, NULL, NULL)) != SQLITE_OK)
		st = db_fail(d, rc, "commit", e);
	if (st != ST_OK)
		sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);	/* the index as it was */
	out->ms = mono_ms() - t0;
	return st;
}

enum status
taskdb_fresh(struct taskdb *d, struct bus *b, const char *bucket, const char *archive,
	     bool *fresh, struct err *e)
{
	struct bus_stream_stat stat, arch = { 0 };
	enum status st = bus_kv_stat(b, bucket, &stat, e);
	int rc;

	*fresh = st == ST_OK && !d->stale && taskdb_seq(d) == stat.last_seq && stat.last_seq > 0;
	if (st == ST_OK && archive && *fresh) {
		st = bus_kv_stat(b, archive, &arch, e);
		if (st == ST_NO_SCHEMA)
			st = ST_OK;
		*fresh = st == ST_OK && get_meta(d, "amirror", &rc) == 1 && rc == SQLITE_OK &&
			 (uint64_t)get_meta(d, "aseq", &rc) == arch.last_seq && rc == SQLITE_OK;
	}
	return st;
}

/* --- counts ------------------------------------------------------------- */

enum status
taskdb_stats(struct taskdb *d, struct task_stats *out, struct err *e)
{
	sqlite3_stmt *q = NULL;
	int rc, s;

	rc = sqlite3_prepare_v2(d->db, "SELECT state, count(*), sum(takeovers), "
				"sum(expired_dead) FROM task_idx GROUP BY state", -1, &q, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		size_t n = (size_t)sqlite3_column_int64(q, 1);

		s = sqlite3_column_int(q, 0);
		if (s >= 0 && s < TASK__COUNT) {
			out->by_state[s] += n;
			out->tasks += n;
			out->takeovers += (size_t)sqlite3_column_int64(q, 2);
			out->expired_dead += (size_t)sqlite3_column_int64(q, 3);
		} else if (s == STATE_INVALID) {
			out->invalid += n;
		}
		rc = SQLITE_OK;
	}
	if (rc == SQLITE_DONE)
		rc = SQLITE_OK;
	sqlite3_finalize(q);
	if (rc == SQLITE_OK)
		out->claims_60s = (size_t)query_int(d, "SELECT count(*) FROM task_claim WHERE at > ?",
						    out->now_ms - 60000, &rc);
	return rc == SQLITE_OK ? ST_OK : db_fail(d, rc, "stats", e);
}

enum status
taskdb_state_revs(struct taskdb *d, enum task_state state, uint64_t **revs, size_t *n,
		  struct err *e)
{
	sqlite3_stmt *q = NULL;
	size_t cap = 0;
	int rc;

	*revs = NULL;
	*n = 0;
	rc = sqlite3_prepare_v2(d->db, "SELECT rev FROM task_idx WHERE state = ? ORDER BY rev",
				-1, &q, NULL);
	if (rc == SQLITE_OK)
		sqlite3_bind_int(q, 1, (int)state);
	while (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		xgrow(revs, &cap, *n + 1, sizeof **revs);
		(*revs)[(*n)++] = (uint64_t)sqlite3_column_int64(q, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(q);
	if (rc == SQLITE_DONE)
		return ST_OK;
	free(*revs);
	*revs = NULL;
	*n = 0;
	return db_fail(d, rc, "revisions", e);
}

uint64_t
taskdb_seq_before(struct taskdb *d, int64_t at_ms)
{
	int rc;
	int64_t v = query_int(d, "SELECT max(rev) FROM task_mark WHERE at < ?", at_ms, &rc);

	return rc == SQLITE_OK && v > 0 ? (uint64_t)v : 0;
}

/* --- pages -------------------------------------------------------------- */

/*
 * The WHERE of a listing over table tab under f (f->after included), with
 * named parameters bound by bind_filter. The index that leads is chosen
 * here, not by the planner: swarm (few tasks each), else state, else age.
 * The archive leaves out a task the live set holds: the live record is the
 * truth (skip_live).
 */
static void
filter_sql(struct buf *q, int tab, const struct coord_filter *f, bool skip_live)
{
	const char *t = tabs[tab].name;

	buf_addf(q, " FROM %s INDEXED BY %s_%s WHERE ", t, t,
		 f->swarm ? "swarm" : f->state ? "state" : "created");
	buf_adds(q, f->state ? "state = :state" : "state >= 0");
	if (f->swarm)
		buf_adds(q, " AND swarm = :swarm");
	if (f->cap)
		buf_adds(q, " AND instr(',' || caps || ',', ',' || :cap || ',') > 0");
	if (f->created_before)
		buf_adds(q, " AND created < :before");
	if (f->created_after)
		buf_adds(q, " AND created > :after");
	if (f->after)
		buf_adds(q, " AND (created, id) > (:ccreated, :cid)");
	if (skip_live)
		buf_addf(q, " AND NOT EXISTS (SELECT 1 FROM task_idx l WHERE l.id = %s.id AND "
			 "l.state >= -1)", t);
}

/* Bind f's values to the named parameters filter_sql wrote. */
static void
bind_filter(sqlite3_stmt *q, const struct coord_filter *f)
{
	if (f->state)
		sqlite3_bind_int(q, sqlite3_bind_parameter_index(q, ":state"), (int)*f->state);
	if (f->swarm)
		sqlite3_bind_text(q, sqlite3_bind_parameter_index(q, ":swarm"), f->swarm, -1,
				  SQLITE_STATIC);
	if (f->cap)
		sqlite3_bind_text(q, sqlite3_bind_parameter_index(q, ":cap"), f->cap, -1,
				  SQLITE_STATIC);
	if (f->created_before)
		sqlite3_bind_int64(q, sqlite3_bind_parameter_index(q, ":before"),
				   f->created_before);
	if (f->created_after)
		sqlite3_bind_int64(q, sqlite3_bind_parameter_index(q, ":after"), f->created_after);
	if (f->after) {
		sqlite3_bind_int64(q, sqlite3_bind_parameter_index(q, ":ccreated"),
				   f->after->created);
		sqlite3_bind_text(q, sqlite3_bind_parameter_index(q, ":cid"), f->after->id, -1,
				  SQLITE_STATIC);
	}
}

/* Append up to n places of table tab under f, in order, to refs. */
static int
page_tab(struct taskdb *d, int tab, const struct coord_filter *f, size_t n,
	 struct taskdb_ref **refs, size_t *nrefs, size_t *cap)
{
	struct buf q = BUF_INIT;
	sqlite3_stmt *s = NULL;
	int rc;

	buf_adds(&q, "SELECT id, rev, created");
	filter_sql(&q, tab, f, tab == TAB_ARCH);
	buf_addf(&q, " ORDER BY created, id LIMIT %zu", n);
	rc = sqlite3_prepare_v2(d->db, q.s, -1, &s, NULL);
	if (rc == SQLITE_OK)
		bind_filter(s, f);
	while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct taskdb_ref *r;

		xgrow(refs, cap, *nrefs + 1, sizeof **refs);
		r = &(*refs)[(*nrefs)++];
		r->id = xstrdup((const char *)sqlite3_column_text(s, 0));
		r->rev = (uint64_t)sqlite3_column_int64(s, 1);
		r->created = sqlite3_column_int64(s, 2);
		r->archived = tab == TAB_ARCH;
		rc = SQLITE_OK;
	}
	sqlite3_finalize(s);
	buf_release(&q);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Places in listing order: created, then id. */
static int
ref_cmp(const void *a, const void *b)
{
	const struct taskdb_ref *x = a, *y = b;

	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return strcmp(x->id, y->id);
}

void
taskdb_refs_free(struct taskdb_ref *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(r[i].id);
	free(r);
}

enum status
taskdb_page(struct taskdb *d, const struct coord_filter *f, size_t n, struct taskdb_ref **out,
	    size_t *nout, struct err *e)
{
	size_t cap = 0, i;
	int rc;

	*out = NULL;
	*nout = 0;
	rc = page_tab(d, TAB_LIVE, f, n, out, nout, &cap);
	if (rc == SQLITE_OK && f->archived)
		rc = page_tab(d, TAB_ARCH, f, n, out, nout, &cap);
	if (rc != SQLITE_OK) {
		taskdb_refs_free(*out, *nout);
		*out = NULL;
		*nout = 0;
		return db_fail(d, rc, "list", e);
	}
	if (f->archived && *nout)	/* two ordered runs: merged by a sort */
		qsort(*out, *nout, sizeof **out, ref_cmp);
	for (i = n; i < *nout; i++)
		free((*out)[i].id);
	if (*nout > n)
		*nout = n;
	return ST_OK;
}

enum status
taskdb_count(struct taskdb *d, const struct coord_filter *f, uint64_t cap, uint64_t *n,
	     struct err *e)
{
	struct buf q = BUF_INIT;
	int tab, rc = SQLITE_OK;

	*n = 0;
	for (tab = 0; tab < TAB__COUNT && rc == SQLITE_OK; tab++) {
		sqlite3_stmt *s = NULL;

		if (tab == TAB_ARCH && !f->archived)
			break;
		buf_reset(&q);
		buf_adds(&q, "SELECT count(*) FROM (SELECT 1");
		filter_sql(&q, tab, f, false);	/* a task mid-move may count twice */
		if (cap)
			buf_addf(&q, " LIMIT %llu", (unsigned long long)cap);
		buf_adds(&q, ")");
		rc = sqlite3_prepare_v2(d->db, q.s, -1, &s, NULL);
		if (rc == SQLITE_OK)
			bind_filter(s, f);
		if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
			*n += (uint64_t)sqlite3_column_int64(s, 0);
			rc = SQLITE_OK;
		}
		sqlite3_finalize(s);
	}
	buf_release(&q);
	if (cap && *n > cap)
		*n = cap;
	return rc == SQLITE_OK ? ST_OK : db_fail(d, rc, "count", e);
}

enum status
taskdb_invalid(struct taskdb *d, bool archived, struct coord_invalid **out, size_t *n,
	       struct err *e)
{
	static const char sql[] =
		"SELECT id, rev, note, 0 FROM task_idx INDEXED BY task_idx_state WHERE state = -1 "
		"UNION ALL SELECT id, rev, note, 1 FROM task_arch INDEXED BY task_arch_state "
		"WHERE state = -1 ORDER BY 1";
	sqlite3_stmt *q = NULL;
	size_t cap = 0;
	int rc = sqlite3_prepare_v2(d->db, sql, -1, &q, NULL);

	*out = NULL;
	*n = 0;
	while (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *note = (const char *)sqlite3_column_text(q, 2);

		rc = SQLITE_OK;
		if (!archived && sqlite3_column_int(q, 3))
			continue;
		xgrow(out, &cap, *n + 1, sizeof **out);
		(*out)[(*n)++] = (struct coord_invalid){
			xstrdup((const char *)sqlite3_column_text(q, 0)),
			(uint64_t)sqlite3_column_int64(q, 1), xstrdup(note ? note : "not a task") };
	}
	sqlite3_finalize(q);
	if (rc == SQLITE_DONE)
		return ST_OK;
	while (*n)
		coord_invalid_release(&(*out)[--*n]);
	free(*out);
	*out = NULL;
	return db_fail(d, rc, "invalid records", e);
}
