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

struct taskdb {
	sqlite3 *db;
	char *path;
	bool write;
	sqlite3_stmt *put, *del, *claim_del, *claim_put, *mark;
};

static const char task_schema[] =
	"CREATE TABLE IF NOT EXISTS task_meta (key TEXT PRIMARY KEY, value INTEGER);"
	"CREATE TABLE IF NOT EXISTS task_idx ("
	" id TEXT PRIMARY KEY, rev INTEGER NOT NULL, state INTEGER NOT NULL, swarm TEXT,"
	" priority INTEGER, caps TEXT, created INTEGER, updated INTEGER,"
	" takeovers INTEGER NOT NULL, expired_dead INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS task_idx_state ON task_idx (state);"
	"CREATE TABLE IF NOT EXISTS task_claim (id TEXT NOT NULL, at INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS task_claim_at ON task_claim (at);"
	"CREATE INDEX IF NOT EXISTS task_claim_id ON task_claim (id);"
	/* every MARK_EVERY-th stream sequence applied, with its server time (ms) */
	"CREATE TABLE IF NOT EXISTS task_mark (rev INTEGER PRIMARY KEY, at INTEGER NOT NULL);";

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
		{ offsetof(struct taskdb, put), "INSERT OR REPLACE INTO task_idx VALUES "
		  "(?,?,?,?,?,?,?,?,?,?)" },
		{ offsetof(struct taskdb, del), "DELETE FROM task_idx WHERE id = ?" },
		{ offsetof(struct taskdb, claim_del), "DELETE FROM task_claim WHERE id = ?" },
		{ offsetof(struct taskdb, claim_put), "INSERT INTO task_claim VALUES (?,?)" },
		{ offsetof(struct taskdb, mark), "INSERT OR REPLACE INTO task_mark VALUES (?,?)" },
	};
	size_t i;
	int rc = SQLITE_OK;

	for (i = 0; i < ARRAY_SIZE(stmts) && rc == SQLITE_OK; i++)
		rc = sqlite3_prepare_v2(d->db, stmts[i].sql, -1,
					(sqlite3_stmt **)(void *)((char *)d + stmts[i].off), NULL);
	return rc;
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
	if (rc == SQLITE_OK && write)
		rc = sqlite3_exec(d->db, task_schema, NULL, NULL, NULL);
	if (rc == SQLITE_OK && write)
		rc = prepare_all(d);
	if (rc == SQLITE_OK && !write)	/* a file without the tables is damaged or foreign */
		rc = sqlite3_exec(d->db, "SELECT 1 FROM task_idx, task_meta LIMIT 0", NULL, NULL,
				  NULL);
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

void
taskdb_close(struct taskdb *d)
{
	if (!d)
		return;
	sqlite3_finalize(d->put);
	sqlite3_finalize(d->del);
	sqlite3_finalize(d->claim_del);
	sqlite3_finalize(d->claim_put);
	sqlite3_finalize(d->mark);
	sqlite3_close(d->db);
	free(d->path);
	free(d);
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

uint64_t
taskdb_seq(struct taskdb *d)
{
	int rc;
	int64_t v = query_int(d, "SELECT value FROM task_meta WHERE key = 'seq'", 0, &rc);

	return rc == SQLITE_OK && v > 0 ? (uint64_t)v : 0;
}

/* --- sync --------------------------------------------------------------- */

/*
 * A read of a stream in progress: the watch's callback takes each message
 * (into the index, or an archived id into ids), the caller waits.
 */
struct sync_run {
	struct taskdb *d;
	int (*take)(struct sync_run *r, const struct bus_kv_event *ev);
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t target, last, applied;
	char **ids;		/* ids put in the archive (take_archived) */
	size_t nids, cap;
	int rc;			/* the first SQLite failure */
	bool done;
};

/* A task's row and its claims. */
static int
put_task(struct taskdb *d, const struct task *t, uint64_t rev)
{
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
	sqlite3_bind_text(d->put, 1, t->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(d->put, 2, (int64_t)rev);
	sqlite3_bind_int(d->put, 3, (int)t->state);
	if (t->owner)
		sqlite3_bind_text(d->put, 4, t->owner, -1, SQLITE_STATIC);
	sqlite3_bind_int(d->put, 5, t->priority);
	sqlite3_bind_text(d->put, 6, caps.len ? caps.s : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(d->put, 7, t->created);
	sqlite3_bind_int64(d->put, 8, t->updated);
	sqlite3_bind_int64(d->put, 9, takeovers);
	sqlite3_bind_int64(d->put, 10, dead);
	rc = sql_step_reset(d->put);
	for (i = 0; i < t->nhist && rc == SQLITE_OK; i++) {
		if (t->hist[i].state != TASK_CLAIMED)
			continue;
		sqlite3_bind_text(d->claim_put, 1, t->id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(d->claim_put, 2, t->hist[i].at);
		rc = sql_step_reset(d->claim_put);
	}
	buf_release(&caps);
	return rc;
}

/* The row of a key that holds no valid task (state: one of STATE_*). */
static int
put_other(struct taskdb *d, const char *key, uint64_t rev, int state)
{
	sqlite3_bind_text(d->put, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(d->put, 2, (int64_t)rev);
	sqlite3_bind_int(d->put, 3, state);
	sqlite3_bind_int64(d->put, 9, 0);
	sqlite3_bind_int64(d->put, 10, 0);
	return sql_step_reset(d->put);
}

/* Apply one message of the stream: the key's row replaced or removed. */
static int
apply(struct taskdb *d, const struct bus_kv_event *ev)
{
	struct task t;
	int rc;

	sqlite3_bind_text(d->claim_del, 1, ev->key, -1, SQLITE_STATIC);
	if ((rc = sql_step_reset(d->claim_del)) != SQLITE_OK)
		return rc;
	if (ev->op != BUS_KV_PUT)	/* kept: the subject still holds its marker */
		return put_other(d, ev->key, ev->revision, STATE_DELETED);
	if (has_prefix(ev->key, COORD_IDEM_PREFIX))
		return put_other(d, ev->key, ev->revision, STATE_IDEM);
	if (!task_id_valid(ev->key) || !bus_kv_key_valid(ev->key) ||
	    coord_record_parse(ev->key, ev->value, ev->len, &t, NULL) != ST_OK)
		return put_other(d, ev->key, ev->revision, STATE_INVALID);
	rc = put_task(d, &t, ev->revision);
	task_release(&t);
	return rc;
}

/* A message of the live bucket's stream into the index (and a time mark). */
static int
take_live(struct sync_run *r, const struct bus_kv_event *ev)
{
	int rc = apply(r->d, ev);

	if (rc == SQLITE_OK && ev->revision % MARK_EVERY == 0) {
		sqlite3_bind_int64(r->d->mark, 1, (int64_t)ev->revision);
		sqlite3_bind_int64(r->d->mark, 2, ev->time_ns / 1000000);
		rc = sql_step_reset(r->d->mark);
	}
	return rc;
}

/* A message of the archive's stream: the id of a put (a move) kept. */
static int
take_archived(struct sync_run *r, const struct bus_kv_event *ev)
{
	if (ev->op == BUS_KV_PUT && !has_prefix(ev->key, COORD_IDEM_PREFIX)) {
		xgrow(&r->ids, &r->cap, r->nids + 1, sizeof *r->ids);
		r->ids[r->nids++] = xstrdup(ev->key);
	}
	return SQLITE_OK;
}

/* The sync watch's callback: take messages up to the target, then say done. */
static void
sync_on_event(void *arg, const struct bus_kv_event *ev)
{
	struct sync_run *r = arg;
	int rc = SQLITE_OK;

	if (ev->snapshot_done)
		return;
	pthread_mutex_lock(&r->mu);
	if (!r->done && ev->revision <= r->target) {
		pthread_mutex_unlock(&r->mu);
		rc = r->take(r, ev);	/* only this thread writes while the caller waits */
		pthread_mutex_lock(&r->mu);
		r->applied++;
		r->last = ev->revision;
		if (rc != SQLITE_OK && r->rc == SQLITE_OK)
			r->rc = rc;
	}
	if (!r->done && (ev->revision >= r->target || ev->pending == 0 || r->rc != SQLITE_OK)) {
		r->done = true;
		pthread_cond_broadcast(&r->cv);
	}
	pthread_mutex_unlock(&r->mu);
}

/*
 * Read the stream from 'from' up to r->target through a watch by sequence.
 * Messages may be gone (an archive move purges its subject, marker and
 * all): a direct get finds the first one left, and the read ends at the
 * target or at the message after which the consumer held none. Should
 * nothing come for IDLE_MS (a stream without direct get) and the stream
 * still answer, the read is over; the caller's count of subjects tells
 * whether it missed any.
 */
static enum status
sync_read(struct bus *b, const char *bucket, uint64_t from, struct sync_run *r, struct err *e)
{
	char *stream = xasprintf("KV_%s", bucket), *subj = xasprintf("$KV.%s.>", bucket);
	struct bus_stream_stat now;
	struct bus_watch *w = NULL;
	uint64_t seen, first = 0;
	enum status st;

	/* The first message still there: none up to the target, no watch. */
	st = bus_stream_next(b, stream, subj, from, &first, NULL);
	free(subj);
	if ((st == ST_OK && first > r->target) || st == ST_NOT_FOUND) {
		free(stream);
		return ST_OK;
	}
	st = bus_kv_watch(b, bucket, first > from ? first : from, sync_on_event, r, &w, e);
	pthread_mutex_lock(&r->mu);
	while (st == ST_OK && !r->done) {
		struct timespec ts = deadline_ts(IDLE_MS);

		seen = r->applied;
		if (pthread_cond_timedwait(&r->cv, &r->mu, &ts) != 0 && !r->done &&
		    r->applied == seen)
			break;	/* the rest was purged, or the server is gone: see below */
	}
	if (st == ST_OK && !r->done) {
		pthread_mutex_unlock(&r->mu);
		st = bus_stream_stat(b, stream, &now, e);	/* answers: nothing more to come */
		pthread_mutex_lock(&r->mu);
	}
	r->done = true;
	pthread_mutex_unlock(&r->mu);
	bus_watch_free(w);	/* no call of sync_on_event runs after this */
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

/* Read bucket's stream from 'from' up to 'to' into the run (take: what to do). */
static enum status
read_range(struct taskdb *d, struct bus *b, const char *bucket, uint64_t from, uint64_t to,
	   int (*take)(struct sync_run *, const struct bus_kv_event *), struct sync_run *r,
	   struct err *e)
{
	enum status st = ST_OK;

	memset(r, 0, sizeof *r);
	r->d = d;
	r->take = take;
	r->target = to;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	if (from <= to)
		st = sync_read(b, bucket, from, r, e);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	return st;
}

/* Free the ids a read of the archive kept. */
static void
run_release(struct sync_run *r)
{
	size_t i;

	for (i = 0; i < r->nids; i++)
		free(r->ids[i]);
	free(r->ids);
	r->ids = NULL;
	r->nids = 0;
}

/* Rows of the index (every subject's, markers included). */
static int64_t
row_count(struct taskdb *d, int *rc)
{
	return query_int(d, "SELECT count(*) FROM task_idx", 0, rc);
}

#define REPAIR_MAX 20000	/* more archive moves than this since the last sync: read again */

/*
 * Drop the rows of subjects purged whole: the tasks moved to the archive
 * since the last sync (its stream's puts from task_meta 'anext' up to
 * arch_last) whose subject holds no message any more (one direct get
 * each). *repaired false when the moves are unknown (no 'anext') or too many.
 */
static enum status
repair_moves(struct taskdb *d, struct bus *b, const char *bucket, const char *archive,
	     uint64_t arch_last, bool *repaired, struct err *e)
{
	int rc;
	uint64_t anext = (uint64_t)query_int(d, "SELECT value FROM task_meta WHERE key = "
					     "'anext'", 0, &rc);
	char *stream = xasprintf("KV_%s", bucket);
	struct sync_run r;
	enum status st = ST_OK;
	uint64_t seq;
	size_t i;

	*repaired = false;
	if (rc == SQLITE_OK && anext && archive && anext <= arch_last + 1)
		st = read_range(d, b, archive, anext, arch_last, take_archived, &r, e);
	else
		memset(&r, 0, sizeof r);
	*repaired = st == ST_OK && rc == SQLITE_OK && anext && archive &&
		    anext <= arch_last + 1 && r.nids <= REPAIR_MAX;
	for (i = 0; *repaired && st == ST_OK && rc == SQLITE_OK && i < r.nids; i++) {
		char *subj = xasprintf("$KV.%s.%s", bucket, r.ids[i]);

		st = bus_stream_next(b, stream, subj, 1, &seq, e);
		free(subj);
		if (st == ST_NOT_FOUND) {	/* purged whole: the row is a phantom */
			sqlite3_bind_text(d->del, 1, r.ids[i], -1, SQLITE_STATIC);
			rc = sql_step_reset(d->del);
			sqlite3_bind_text(d->claim_del, 1, r.ids[i], -1, SQLITE_STATIC);
			if (rc == SQLITE_OK)
				rc = sql_step_reset(d->claim_del);
			st = ST_OK;
		}
	}
	run_release(&r);
	free(stream);
	if (st == ST_OK && rc != SQLITE_OK)
		st = db_fail(d, rc, "repair", e);
	return st;
}

/* Empty the index's rows (a rebuild). */
static int
clear_rows(struct taskdb *d)
{
	return sqlite3_exec(d->db, "DELETE FROM task_idx; DELETE FROM task_claim;"
			    "DELETE FROM task_mark", NULL, NULL, NULL);
}

/* The stream of a bucket's state (ST_NO_SCHEMA named by the bucket). */
static enum status
bucket_stat(struct bus *b, const char *bucket, struct bus_stream_stat *stat, struct err *e)
{
	char *stream = xasprintf("KV_%s", bucket);
	enum status st = bus_stream_stat(b, stream, stat, e);

	free(stream);
	return st == ST_NO_SCHEMA ? err_set(e, ST_NO_SCHEMA, "bucket '%s' does not exist", bucket)
				  : st;
}

/* The sync inside its transaction: see taskdb_sync. */
static enum status
sync_tx(struct taskdb *d, struct bus *b, const char *bucket, const char *archive,
	struct taskdb_sync *out, struct err *e)
{
	struct bus_stream_stat stat, arch = { 0 };
	struct sync_run r;
	uint64_t seq = taskdb_seq(d);
	enum status st;
	bool repaired = false;
	int rc = SQLITE_OK;

	if ((st = bucket_stat(b, bucket, &stat, e)) != ST_OK)
		return st;
	/* after the live stream's: every move purged before that stat is in it */
	if (archive && (st = bucket_stat(b, archive, &arch, e)) != ST_OK && st != ST_NO_SCHEMA)
		return st;
	/* Behind the index (a new stream), or messages after it gone: read it all again. */
	out->rebuilt = seq > stat.last_seq || (stat.msgs && seq + 1 < stat.first_seq);
	if (out->rebuilt)
		seq = 0;
	out->from = seq + 1 > stat.first_seq ? seq + 1 : stat.first_seq;
	out->to = stat.last_seq;
	if (out->rebuilt || !stat.msgs)
		rc = clear_rows(d);
	st = rc == SQLITE_OK && stat.msgs ?
		read_range(d, b, bucket, out->from, out->to, take_live, &r, e) : ST_OK;
	out->applied = stat.msgs ? r.applied : 0;
	rc = rc == SQLITE_OK && stat.msgs ? r.rc : rc;
	/*
	 * Every subject of the stream has its row (markers included): more rows
	 * are subjects purged whole (archive moves: repaired from the archive's
	 * stream), fewer are messages missed. Still off: read it all again.
	 */
	if (st == ST_OK && rc == SQLITE_OK && stat.msgs && seq &&
	    row_count(d, &rc) != stat.subjects && rc == SQLITE_OK)
		st = repair_moves(d, b, bucket, archive, arch.last_seq, &repaired, e);
	out->repaired = repaired;
	if (st == ST_OK && rc == SQLITE_OK && stat.msgs &&
	    row_count(d, &rc) != stat.subjects && rc == SQLITE_OK) {
		out->rebuilt = true;
		out->from = stat.first_seq;
		if ((rc = clear_rows(d)) == SQLITE_OK)
			st = read_range(d, b, bucket, out->from, out->to, take_live, &r, e);
		out->applied += r.applied;
		rc = rc == SQLITE_OK ? r.rc : rc;
	}
	if (st == ST_OK && rc == SQLITE_OK && (rc = set_meta(d, "seq", stat.last_seq)) == SQLITE_OK)
		rc = set_meta(d, "anext", arch.last_seq + 1);
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
taskdb_fresh(struct taskdb *d, struct bus *b, const char *bucket, bool *fresh, struct err *e)
{
	struct bus_stream_stat stat;
	enum status st = bucket_stat(b, bucket, &stat, e);

	*fresh = st == ST_OK && taskdb_seq(d) == stat.last_seq && stat.last_seq > 0;
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
