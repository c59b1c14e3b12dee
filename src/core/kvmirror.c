/* The local mirror of KV buckets: see kvmirror.h. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/home.h"
#include "core/kvmirror.h"
#include "core/sqlutil.h"
#include "core/util.h"

/* kvm_entry.op: the bus's operations, stored as numbers */
_Static_assert(BUS_KV_PUT == 0, "a put is op 0 in kvm_entry");

#define KVM_FORMAT 2	/* PRAGMA user_version of the tables below */
#define MMAP_PRAGMA "PRAGMA mmap_size=268435456"	/* 256 MiB */

struct kvmirror {
	sqlite3 *db;
	char *path;
	bool write;
	/* what a sync writes with (write only) */
	sqlite3_stmt *look, *ins, *upd, *untag, *tag, *meta_put, *clear, *clear_tags;
	/* what reads use */
	sqlite3_stmt *get, *meta_get;
	struct buf val;		/* a value handed to a reader, NUL-terminated */
	bool wrote;		/* a sync committed changes */
	struct sql_file_mark mark;	/* read only: the file as it was before opening */
};

static const char mirror_schema[] =
	"CREATE TABLE IF NOT EXISTS kvm_meta (bucket TEXT PRIMARY KEY, seq INTEGER NOT NULL,"
	" created INTEGER NOT NULL, rows INTEGER NOT NULL, live INTEGER NOT NULL,"
	" version TEXT NOT NULL);"
	/* verdict: enum kvmirror_verdict; why: its reason when invalid; tags: as in kvm_tag */
	"CREATE TABLE IF NOT EXISTS kvm_entry (id INTEGER PRIMARY KEY, bucket TEXT NOT NULL,"
	" key TEXT NOT NULL, rev INTEGER NOT NULL, op INTEGER NOT NULL, value BLOB,"
	" verdict INTEGER NOT NULL, why TEXT, tags BLOB, UNIQUE (bucket, key));"
	"CREATE TABLE IF NOT EXISTS kvm_tag (bucket TEXT NOT NULL, tag TEXT NOT NULL,"
	" entry INTEGER NOT NULL, PRIMARY KEY (bucket, tag, entry)) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS kvm_tag_entry ON kvm_tag (entry);";

static const char mirror_drop[] =
	"DROP TABLE IF EXISTS kvm_meta; DROP TABLE IF EXISTS kvm_entry;"
	"DROP TABLE IF EXISTS kvm_tag;";

/* One statement slot and its text. */
struct stmt_def {
	size_t off;
	const char *sql;
	bool write;	/* prepared only on a file opened for writing */
};

static const struct stmt_def stmt_defs[] = {
	{ offsetof(struct kvmirror, look), "SELECT id, op, tags FROM kvm_entry WHERE bucket = ?1 "
	  "AND key = ?2", true },
	{ offsetof(struct kvmirror, ins), "INSERT INTO kvm_entry (bucket, key, rev, op, value, "
	  "verdict, why, tags) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", true },
	{ offsetof(struct kvmirror, upd), "UPDATE kvm_entry SET rev = ?3, op = ?4, value = ?5, "
	  "verdict = ?6, why = ?7, tags = ?8 WHERE id = ?1", true },
	{ offsetof(struct kvmirror, untag), "DELETE FROM kvm_tag WHERE entry = ?1", true },
	{ offsetof(struct kvmirror, tag), "INSERT OR IGNORE INTO kvm_tag VALUES (?1, ?2, ?3)",
	  true },
	{ offsetof(struct kvmirror, meta_put), "INSERT OR REPLACE INTO kvm_meta VALUES "
	  "(?1, ?2, ?3, ?4, ?5, ?6)", true },
	{ offsetof(struct kvmirror, clear), "DELETE FROM kvm_entry WHERE bucket = ?1", true },
	{ offsetof(struct kvmirror, clear_tags), "DELETE FROM kvm_tag WHERE bucket = ?1", true },
	{ offsetof(struct kvmirror, get), "SELECT value, rev FROM kvm_entry WHERE bucket = ?1 AND "
	  "key = ?2 AND op = 0", false },
	{ offsetof(struct kvmirror, meta_get), "SELECT seq, created, rows, live, version FROM "
	  "kvm_meta WHERE bucket = ?1", false },
};

/* The statement slot of a definition. */
static sqlite3_stmt **
slot(struct kvmirror *m, const struct stmt_def *d)
{
	return (sqlite3_stmt **)(void *)((char *)m + d->off);
}

/* Map an SQLite failure: a damaged file is the mirror's problem. */
static enum status
db_fail(struct kvmirror *m, int rc, const char *what, struct err *e)
{
	return sql_fail(m->db, "mirror", m->path, rc, what, e);
}

/* Prepare the statements the mode uses. */
static int
prepare_all(struct kvmirror *m)
{
	size_t i;
	int rc = SQLITE_OK;

	for (i = 0; i < ARRAY_SIZE(stmt_defs) && rc == SQLITE_OK; i++)
		if (m->write || !stmt_defs[i].write)
			rc = sqlite3_prepare_v2(m->db, stmt_defs[i].sql, -1, slot(m, &stmt_defs[i]),
						NULL);
	return rc;
}

/* Open path read only and immutable, reading through mmap. */
static int
open_immutable(const char *path, sqlite3 **db)
{
	int rc = sql_open_immutable(path, db);

	if (rc == SQLITE_OK)
		rc = sqlite3_exec(*db, MMAP_PRAGMA, NULL, NULL, NULL);
	return rc;
}

/*
 * The tables, in this format: made when missing, made again (a cache, so
 * nothing is lost) when the file holds another format. In one write
 * transaction, so two processes opening a new file make them once.
 */
static int
make_tables(sqlite3 *db)
{
	int rc;
	int64_t format = sql_query_int(db, "PRAGMA user_version", &rc);
	char sql[64];

	if (rc != SQLITE_OK || format == KVM_FORMAT)	/* the usual case: no lock taken */
		return rc;
	rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	format = rc == SQLITE_OK ? sql_query_int(db, "PRAGMA user_version", &rc) : 0;
	if (rc == SQLITE_OK && format != KVM_FORMAT) {
		snprintf(sql, sizeof sql, "PRAGMA user_version = %d", KVM_FORMAT);
		rc = sqlite3_exec(db, mirror_drop, NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(db, mirror_schema, NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* Open for writing: the file made 0600 before SQLite makes it, WAL, the tables. */
static int
open_write(const char *path, sqlite3 **db)
{
	int rc = sql_open_wal(path, 5000, db), persist = 1;

	/*
	 * The -wal and -shm files stay, and closing checkpoints nothing: most
	 * uses write nothing, and a close that checkpoints and removes them,
	 * then an open that makes them again, would cost more than the rest of
	 * a fresh read. A use that wrote checkpoints and empties the -wal
	 * before it closes (kvmirror_close).
	 */
	if (rc == SQLITE_OK)
		rc = sqlite3_db_config(*db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_file_control(*db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
	if (rc == SQLITE_OK)	/* reads from the page cache, not a pread per page */
		rc = sqlite3_exec(*db, MMAP_PRAGMA, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = make_tables(*db);
	return rc;
}

enum status
kvmirror_open_path(const char *path, bool write, struct kvmirror **out, struct err *e)
{
	struct kvmirror *m = xcalloc(1, sizeof *m);
	enum status st;
	int rc;

	m->path = xstrdup(path);
	m->write = write;
	*out = NULL;
	if (!write && access(path, F_OK) != 0) {
		st = err_set(e, ST_NOT_FOUND, "no mirror '%s'", path);
		kvmirror_close(m);
		return st;
	}
	if (!write)
		sql_file_mark(path, &m->mark);
	rc = write ? open_write(path, &m->db) : open_immutable(path, &m->db);
	if (rc == SQLITE_OK && !write && sql_query_int(m->db, "PRAGMA user_version", &rc) !=
	    KVM_FORMAT && rc == SQLITE_OK) {	/* another format: as good as none */
		st = err_set(e, ST_NOT_FOUND, "mirror '%s' is of another format", path);
		kvmirror_close(m);
		return st;
	}
	if (rc == SQLITE_OK)
		rc = prepare_all(m);	/* a file without the tables is damaged or foreign */
	if (rc == SQLITE_ERROR)
		rc = SQLITE_CORRUPT;
	if (rc != SQLITE_OK) {
		st = db_fail(m, rc, "open", e);
		kvmirror_close(m);
		return st;
	}
	*out = m;
	return ST_OK;
}

enum status
kvmirror_open(const struct config *c, bool write, struct kvmirror **out, struct err *e)
{
	char *path = NULL;
	enum status st = home_file(c, HOME_KVMIRROR, write, &path, e);

	if (st == ST_OK)
		st = kvmirror_open_path(path, write, out, e);
	free(path);
	return st;
}

bool
kvmirror_unchanged(const struct kvmirror *m)
{
	return m->write || sql_file_same(m->path, &m->mark);
}

void
kvmirror_close(struct kvmirror *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < ARRAY_SIZE(stmt_defs); i++)
		sqlite3_finalize(*slot(m, &stmt_defs[i]));
	if (m->db && !sqlite3_get_autocommit(m->db))
		sqlite3_exec(m->db, "COMMIT", NULL, NULL, NULL);	/* a read transaction */
	/*
	 * Into the file itself (where a read-only, immutable open sees it),
	 * and the -wal emptied: the next first opener would otherwise read
	 * all of it to rebuild its index. Not waiting for anyone: another
	 * process in the file leaves it for the last one out.
	 */
	if (m->wrote) {
		sqlite3_busy_timeout(m->db, 0);
		sqlite3_wal_checkpoint_v2(m->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	}
	sqlite3_close(m->db);
	buf_release(&m->val);
	free(m->path);
	free(m);
}

const char *
kvmirror_path(const struct kvmirror *m)
{
	return m->path;
}

/* --- meta ------------------------------------------------------------------ */

/* What the mirror holds of one bucket. */
struct meta {
	bool present;
	uint64_t seq;
	int64_t created;	/* the stream's creation time (ns) */
	int64_t rows, live;
	char version[128];	/* longer versions are compared cut to this */
};

/* Read the meta row of bucket. */
static int
meta_read(struct kvmirror *m, const char *bucket, struct meta *out)
{
	const unsigned char *t;
	int rc;

	memset(out, 0, sizeof *out);
	sqlite3_bind_text(m->meta_get, 1, bucket, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(m->meta_get)) == SQLITE_ROW) {
		out->present = true;
		out->seq = (uint64_t)sqlite3_column_int64(m->meta_get, 0);
		out->created = sqlite3_column_int64(m->meta_get, 1);
		out->rows = sqlite3_column_int64(m->meta_get, 2);
		out->live = sqlite3_column_int64(m->meta_get, 3);
		if ((t = sqlite3_column_text(m->meta_get, 4)) != NULL)
			snprintf(out->version, sizeof out->version, "%s", (const char *)t);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_OK;
	}
	sqlite3_reset(m->meta_get);
	sqlite3_clear_bindings(m->meta_get);
	return rc;
}

/* Write the meta row of bucket. */
static int
meta_write(struct kvmirror *m, const char *bucket, const struct meta *mt)
{
	sqlite3_bind_text(m->meta_put, 1, bucket, -1, SQLITE_STATIC);
	sqlite3_bind_int64(m->meta_put, 2, (int64_t)mt->seq);
	sqlite3_bind_int64(m->meta_put, 3, mt->created);
	sqlite3_bind_int64(m->meta_put, 4, mt->rows);
	sqlite3_bind_int64(m->meta_put, 5, mt->live);
	sqlite3_bind_text(m->meta_put, 6, mt->version, -1, SQLITE_STATIC);
	return sql_step_reset(m->meta_put);
}

uint64_t
kvmirror_seq(struct kvmirror *m, const char *bucket)
{
	struct meta mt;

	return meta_read(m, bucket, &mt) == SQLITE_OK ? mt.seq : 0;
}

uint64_t
kvmirror_live(struct kvmirror *m, const char *bucket)
{
	struct meta mt;

	return meta_read(m, bucket, &mt) == SQLITE_OK && mt.live > 0 ? (uint64_t)mt.live : 0;
}

/* The version of a bucket's functions ("" when it has none). */
static const char *
bucket_version(const struct kvmirror_bucket *d)
{
	return d->version ? d->version() : "";
}

/* Why the rows of a bucket must be read again from the start, or NULL. */
static const char *
stale_why(const struct meta *mt, const struct bus_stream_stat *stat,
	  const struct kvmirror_bucket *d)
{
	if (!mt->present)
		return "first sync";
	if (mt->created != stat->created_ns)
		return "the bucket was made again";
	if (strncmp(mt->version, bucket_version(d), sizeof mt->version - 1) != 0)
		return "its tags or checks changed";
	if (mt->seq > stat->last_seq)
		return "the stream is behind the mirror";
	if (stat->msgs && mt->seq + 1 < stat->first_seq)
		return "messages after the mirror's sequence are gone";
	return NULL;
}

/* Does the mirror hold the stream as stat describes it? */
static bool
is_fresh(const struct meta *mt, const struct bus_stream_stat *stat,
	 const struct kvmirror_bucket *d)
{
	return stale_why(mt, stat, d) == NULL && mt->seq == stat->last_seq &&
	       mt->rows == stat->subjects;
}

/* The stream's state and what the mirror holds of it; *fresh when they agree. */
static enum status
check_fresh(struct kvmirror *m, struct bus *b, const struct kvmirror_bucket *d,
	    struct meta *mt, bool *fresh, struct err *e)
{
	struct bus_stream_stat stat;
	enum status st;
	int rc;

	*fresh = false;
	if ((st = bus_kv_stat(b, d->bucket, &stat, e)) != ST_OK)
		return st;
	if ((rc = meta_read(m, d->bucket, mt)) != SQLITE_OK)
		return db_fail(m, rc, "read", e);
	*fresh = is_fresh(mt, &stat, d);
	return ST_OK;
}

enum status
kvmirror_fresh(struct kvmirror *m, struct bus *b, const struct kvmirror_bucket *d, bool *fresh,
	       struct err *e)
{
	struct meta mt;

	return check_fresh(m, b, d, &mt, fresh, e);
}

/* --- sync ------------------------------------------------------------------ */

/*
 * A read of a stream in progress: the watch's callback applies each
 * message to the mirror, the caller waits.
 */
struct sync_run {
	struct kvmirror *m;
	const struct kvmirror_bucket *d;
	struct meta *mt;	/* rows and live kept up to date */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t target, applied;
	uint64_t last;		/* the last revision taken */
	struct buf tags, value;	/* a value's tags; the value, NUL-terminated */
	int rc;			/* the first SQLite failure */
	bool done;
};

/* A key's tags (entry id) replaced by r->tags, those of its new value. */
static int
retag(struct sync_run *r, int64_t id, bool existed)
{
	struct kvmirror *m = r->m;
	const char *t;
	int rc = SQLITE_OK;

	if (existed) {
		sqlite3_bind_int64(m->untag, 1, id);
		rc = sql_step_reset(m->untag);
	}
	for (t = r->tags.s; rc == SQLITE_OK && t && t < r->tags.s + r->tags.len;
	     t += strlen(t) + 1) {
		sqlite3_bind_text(m->tag, 1, r->d->bucket, -1, SQLITE_STATIC);
		sqlite3_bind_text(m->tag, 2, t, -1, SQLITE_STATIC);
		sqlite3_bind_int64(m->tag, 3, id);
		rc = sql_step_reset(m->tag);
	}
	return rc;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Sort a list of NUL-terminated tags and drop repeats, so that a record
 * rewritten with its tags in another order or repeated (a heartbeat of a
 * record another client wrote) keeps its rows in kvm_tag.
 */
static void
tags_sort(struct buf *tags)
{
	struct buf out = BUF_INIT;
	const char **v = NULL, *t;
	size_t n = 0, cap = 0, i;

	for (t = tags->s; t && t < tags->s + tags->len; t += strlen(t) + 1) {
		xgrow(&v, &cap, n + 1, sizeof *v);
		v[n++] = t;
	}
	if (n < 2) {
		free(v);
		return;
	}
	qsort(v, n, sizeof *v, cmp_str);
	for (i = 0; i < n; i++)
		if (i == 0 || strcmp(v[i], v[i - 1]) != 0)
			buf_add(&out, v[i], strlen(v[i]) + 1);
	free(v);
	buf_reset(tags);
	buf_add(tags, out.s, out.len);
	buf_release(&out);
}

/* What a key's row holds now: its id (0: none), whether it is live, whether its tags are r->tags. */
struct row_now {
	int64_t id;
	bool live, same_tags;
};

/* Look up key's row (see struct row_now). */
static int
look_up(struct sync_run *r, const char *key, struct row_now *now)
{
	struct kvmirror *m = r->m;
	const void *t;
	int rc;

	memset(now, 0, sizeof *now);
	sqlite3_bind_text(m->look, 1, r->d->bucket, -1, SQLITE_STATIC);
	sqlite3_bind_text(m->look, 2, key, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(m->look)) == SQLITE_ROW) {
		now->id = sqlite3_column_int64(m->look, 0);
		now->live = sqlite3_column_int(m->look, 1) == BUS_KV_PUT;
		t = sqlite3_column_blob(m->look, 2);
		now->same_tags = (size_t)sqlite3_column_bytes(m->look, 2) == r->tags.len &&
				 (r->tags.len == 0 || memcmp(t, r->tags.s, r->tags.len) == 0);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_OK;
	}
	sqlite3_reset(m->look);
	sqlite3_clear_bindings(m->look);
	return rc;
}

/*
 * Apply one message of the stream: the key's row made or replaced (a put,
 * with the bucket's verdict on it and its tags, or a marker), then its
 * tags, unless they are those it had (a heartbeat's rewrite).
 */
static int
apply(struct sync_run *r, const struct bus_kv_event *ev)
{
	struct kvmirror *m = r->m;
	struct buf *v = &r->value, why = BUF_INIT;
	enum kvmirror_verdict verdict = KVM_UNCHECKED;
	struct row_now now;
	sqlite3_stmt *q;
	int rc;

	buf_reset(v);
	buf_add(v, ev->value ? ev->value : "", ev->value ? ev->len : 0);
	buf_reset(&r->tags);
	if (ev->op == BUS_KV_PUT && r->d->tags) {
		r->d->tags(ev->key, v->s, v->len, &r->tags);
		tags_sort(&r->tags);
	}
	if ((rc = look_up(r, ev->key, &now)) != SQLITE_OK)
		return rc;
	if (ev->op == BUS_KV_PUT && r->d->check)
		verdict = r->d->check(ev->key, v->s, v->len, &why) ? KVM_VALID : KVM_INVALID;
	q = now.id ? m->upd : m->ins;
	if (now.id)
		sqlite3_bind_int64(q, 1, now.id);
	else
		sqlite3_bind_text(q, 1, r->d->bucket, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, ev->key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, (int64_t)ev->revision);
	sqlite3_bind_int(q, 4, (int)ev->op);
	if (ev->op == BUS_KV_PUT)
		sqlite3_bind_blob(q, 5, v->s, (int)v->len, SQLITE_STATIC);
	sqlite3_bind_int(q, 6, (int)verdict);
	if (verdict == KVM_INVALID)
		sqlite3_bind_text(q, 7, why.len ? why.s : "invalid", -1, SQLITE_TRANSIENT);
	if (r->tags.len)
		sqlite3_bind_blob(q, 8, r->tags.s, (int)r->tags.len, SQLITE_STATIC);
	rc = sql_step_reset(q);
	buf_release(&why);
	if (rc != SQLITE_OK)
		return rc;
	r->mt->rows += now.id == 0;
	r->mt->live += (ev->op == BUS_KV_PUT) - now.live;
	if (now.id && now.same_tags)
		return SQLITE_OK;
	return retag(r, now.id ? now.id : sqlite3_last_insert_rowid(m->db), now.id != 0);
}

/* The sync watch's callback: apply messages up to the target, then say done. */
static void
sync_on_event(void *arg, const struct bus_kv_event *ev)
{
	struct sync_run *r = arg;
	int rc = SQLITE_OK;

	if (ev->snapshot_done)
		return;
	pthread_mutex_lock(&r->mu);
	if (!r->done && ev->revision <= r->target && r->rc == SQLITE_OK) {
		pthread_mutex_unlock(&r->mu);
		rc = apply(r, ev);	/* only this thread writes while the caller waits */
		pthread_mutex_lock(&r->mu);
		r->applied++;
		r->last = ev->revision;
		if (rc != SQLITE_OK)
			r->rc = rc;
	}
	/*
	 * Not on ev->pending == 0: the server's count of what the consumer
	 * holds after a message is an estimate (nats-server 2.9 gave 5 at the
	 * stream's last message, and 0 short of it), and stopping early would
	 * leave the mirror stale. Messages gone up to the target: read_range.
	 */
	if (!r->done && (ev->revision >= r->target || r->rc != SQLITE_OK)) {
		r->done = true;
		pthread_cond_broadcast(&r->cv);
	}
	pthread_mutex_unlock(&r->mu);
}

#define IDLE_MS 200	/* no message for this long: see whether any is left */

/* Is there a message of the bucket's stream from 'from' up to the target? */
static enum status
any_left(struct bus *b, const char *bucket, uint64_t from, uint64_t target, bool *left,
	 struct err *e)
{
	char *stream = xasprintf("KV_%s", bucket), *subj = xasprintf("$KV.%s.>", bucket);
	uint64_t first = 0;
	enum status st = bus_stream_next(b, stream, subj, from, &first, e);

	free(subj);
	free(stream);
	*left = st == ST_OK && first <= target;
	if (st == ST_NOT_FOUND) {
		err_clear(e);
		st = ST_OK;
	}
	return st;
}

/*
 * Read the stream from 'from' up to r->target through a watch by sequence.
 * The read ends at the target. Messages may be gone (a later revision of
 * their key, a purge): when nothing comes for IDLE_MS, a direct get says
 * whether any is left up to the target; none left ends the read, and a read
 * that makes no progress for the bus timeout with some left fails
 * (ST_TIMEOUT) rather than leave the mirror short.
 */
static enum status
read_range(struct bus *b, const char *bucket, uint64_t from, struct sync_run *r, struct err *e)
{
	struct bus_watch *w = NULL;
	int64_t stuck = mono_ms() + bus_timeout_ms(b);
	uint64_t seen;
	enum status st;
	bool left = true;

	if ((st = any_left(b, bucket, from, r->target, &left, e)) != ST_OK || !left)
		return st;
	st = bus_kv_watch(b, bucket, from, sync_on_event, r, &w, e);
	pthread_mutex_lock(&r->mu);
	while (st == ST_OK && !r->done) {
		struct timespec ts = deadline_ts(IDLE_MS);

		seen = r->applied;
		if (pthread_cond_timedwait(&r->cv, &r->mu, &ts) == 0 || r->done)
			continue;
		if (r->applied != seen) {
			stuck = mono_ms() + bus_timeout_ms(b);
			continue;
		}
		pthread_mutex_unlock(&r->mu);
		st = any_left(b, bucket, (r->last ? r->last : from - 1) + 1, r->target, &left, e);
		pthread_mutex_lock(&r->mu);
		if (st == ST_OK && !left)
			break;
		if (st == ST_OK && mono_ms() > stuck)
			st = err_set(e, ST_TIMEOUT, "bucket '%s': the mirror's read stopped at "
				     "%llu messages, before sequence %llu", bucket,
				     (unsigned long long)r->applied, (unsigned long long)r->target);
	}
	r->done = true;
	pthread_mutex_unlock(&r->mu);
	bus_watch_free(w);	/* no call of sync_on_event runs after this */
	return st;
}

/* Empty the rows of a bucket (a rebuild). */
static int
clear_bucket(struct kvmirror *m, const char *bucket, struct meta *mt)
{
	int rc;

	sqlite3_bind_text(m->clear, 1, bucket, -1, SQLITE_STATIC);
	if ((rc = sql_step_reset(m->clear)) != SQLITE_OK)
		return rc;
	sqlite3_bind_text(m->clear_tags, 1, bucket, -1, SQLITE_STATIC);
	mt->rows = mt->live = 0;
	mt->seq = 0;
	return sql_step_reset(m->clear_tags);
}

/* Apply the messages from..to of the bucket's stream (stat.msgs > 0). */
static enum status
catch_up(struct kvmirror *m, struct bus *b, const struct kvmirror_bucket *d, struct meta *mt,
	 uint64_t from, uint64_t to, struct kvmirror_sync *out, struct err *e)
{
	struct sync_run r;
	enum status st = ST_OK;
	int rc;

	if (from > to)
		return ST_OK;
	memset(&r, 0, sizeof r);
	r.m = m;
	r.d = d;
	r.mt = mt;
	r.target = to;
	pthread_mutex_init(&r.mu, NULL);
	pthread_cond_init(&r.cv, NULL);
	st = read_range(b, d->bucket, from, &r, e);
	pthread_cond_destroy(&r.cv);
	pthread_mutex_destroy(&r.mu);
	buf_release(&r.tags);
	buf_release(&r.value);
	out->applied += r.applied;
	rc = r.rc;
	return st == ST_OK && rc != SQLITE_OK ? db_fail(m, rc, "sync", e) : st;
}

/* Start again from the stream's first sequence (why: the reason). */
static enum status
rebuild(struct kvmirror *m, struct bus *b, const struct kvmirror_bucket *d, struct meta *mt,
	const struct bus_stream_stat *stat, const char *why, struct kvmirror_sync *out,
	struct err *e)
{
	int rc;

	out->rebuilt = true;
	out->why = why;
	out->from = stat->first_seq;
	if ((rc = clear_bucket(m, d->bucket, mt)) != SQLITE_OK)
		return db_fail(m, rc, "sync", e);
	return stat->msgs ? catch_up(m, b, d, mt, stat->first_seq, stat->last_seq, out, e) : ST_OK;
}

/* The sync inside its transaction: see kvmirror.h. */
static enum status
sync_tx(struct kvmirror *m, struct bus *b, const struct kvmirror_bucket *d,
	struct kvmirror_sync *out, struct err *e)
{
	struct bus_stream_stat stat;
	struct meta mt;
	const char *why;
	enum status st;
	int rc;

	if ((st = bus_kv_stat(b, d->bucket, &stat, e)) != ST_OK)
		return st;
	if ((rc = meta_read(m, d->bucket, &mt)) != SQLITE_OK)
		return db_fail(m, rc, "sync", e);
	out->to = stat.last_seq;
	out->from = mt.seq + 1 > stat.first_seq ? mt.seq + 1 : stat.first_seq;
	if ((why = stale_why(&mt, &stat, d)) != NULL)
		st = rebuild(m, b, d, &mt, &stat, why, out, e);
	else if (stat.msgs == 0)	/* every message gone: nothing is live */
		st = rebuild(m, b, d, &mt, &stat, NULL, out, e);
	else
		st = catch_up(m, b, d, &mt, out->from, out->to, out, e);
	/* every subject has its row, markers included: a count that differs missed some */
	if (st == ST_OK && mt.rows != stat.subjects && !out->rebuilt)
		st = rebuild(m, b, d, &mt, &stat, "its rows and the stream's subjects differ", out,
			     e);
	if (st != ST_OK)
		return st;
	mt.seq = stat.last_seq;
	mt.created = stat.created_ns;
	snprintf(mt.version, sizeof mt.version, "%s", bucket_version(d));
	out->rows = (uint64_t)mt.rows;
	if ((rc = meta_write(m, d->bucket, &mt)) != SQLITE_OK)
		return db_fail(m, rc, "sync", e);
	return ST_OK;
}

enum status
kvmirror_sync(struct kvmirror *m, struct bus *b, const struct kvmirror_bucket *d,
	      struct kvmirror_sync *out, struct err *e)
{
	int64_t t0 = mono_ms();
	struct meta mt;
	bool fresh = false;
	enum status st;
	int rc;

	memset(out, 0, sizeof *out);
	if (!m->write)
		return err_set(e, ST_READ_ONLY, "the mirror '%s' is open read-only", m->path);
	/* held up to the last sequence: one request, no write, no lock */
	if ((st = check_fresh(m, b, d, &mt, &fresh, e)) != ST_OK || fresh) {
		out->from = mt.seq + 1;
		out->to = mt.seq;
		out->rows = (uint64_t)mt.rows;
		out->ms = mono_ms() - t0;
		return st;
	}
	if ((rc = sqlite3_exec(m->db, "BEGIN IMMEDIATE", NULL, NULL, NULL)) != SQLITE_OK)
		return db_fail(m, rc, "begin", e);
	st = sync_tx(m, b, d, out, e);
	if (st == ST_OK && (rc = sqlite3_exec(m->db, "COMMIT", NULL, NULL, NULL)) != SQLITE_OK)
		st = db_fail(m, rc, "commit", e);
	m->wrote = m->wrote || st == ST_OK;
	if (st != ST_OK)
		sqlite3_exec(m->db, "ROLLBACK", NULL, NULL, NULL);	/* the mirror as it was */
	out->ms = mono_ms() - t0;
	return st;
}

/* --- reads ----------------------------------------------------------------- */

/* Hand each row of a query (key, value, rev, verdict, why) to fn; *got counts them. */
static enum status
each_row(struct kvmirror *m, sqlite3_stmt *q, kvmirror_fn fn, void *arg, size_t *got,
	 struct err *e)
{
	struct kvmirror_rec rec;
	int rc;

	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const void *v = sqlite3_column_blob(q, 1);
		size_t len = (size_t)sqlite3_column_bytes(q, 1);

		buf_reset(&m->val);
		buf_add(&m->val, v ? v : "", v ? len : 0);
		rec.key = (const char *)sqlite3_column_text(q, 0);
		rec.key = rec.key ? rec.key : "";
		rec.value = m->val.s;
		rec.len = m->val.len;
		rec.rev = (uint64_t)sqlite3_column_int64(q, 2);
		rec.verdict = (enum kvmirror_verdict)sqlite3_column_int(q, 3);
		if (rec.verdict != KVM_VALID && rec.verdict != KVM_INVALID)
			rec.verdict = KVM_UNCHECKED;	/* the file's, so checked like the rest */
		rec.why = (const char *)sqlite3_column_text(q, 4);
		rec.why = rec.why ? rec.why : "invalid";
		fn(arg, &rec);
		if (got)
			(*got)++;
	}
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? ST_OK : db_fail(m, rc, "read", e);
}

#define ROW_COLS "SELECT key, value, rev, verdict, why FROM kvm_entry "

/* Bind the range of keys that start with prefix (n > 0 bytes) to ?lo and ?lo + 1. */
static void
bind_prefix(sqlite3_stmt *q, int lo, const char *prefix, size_t n)
{
	char *hi;

	sqlite3_bind_text(q, lo, prefix, -1, SQLITE_STATIC);
	if ((unsigned char)prefix[n - 1] < 0xff) {	/* up to prefix with its last byte one higher */
		hi = xstrdup(prefix);
		hi[n - 1]++;
		sqlite3_bind_text(q, lo + 1, hi, -1, free);
	} else {
		sqlite3_bind_blob(q, lo + 1, "\xff\xff\xff\xff", 4, SQLITE_STATIC);
	}
}

enum status
kvmirror_each(struct kvmirror *m, const char *bucket, const char *prefix, kvmirror_fn fn,
	      void *arg, struct err *e)
{
	size_t n = strlen(prefix);
	sqlite3_stmt *q = NULL;
	int rc;

	rc = sqlite3_prepare_v2(m->db, n ? ROW_COLS "WHERE bucket = ?1 AND op = 0 AND "
				"key >= ?2 AND key < ?3 ORDER BY rev" :
				ROW_COLS "WHERE bucket = ?1 AND op = 0 ORDER BY rev", -1, &q, NULL);
	if (rc != SQLITE_OK)
		return db_fail(m, rc, "read", e);
	sqlite3_bind_text(q, 1, bucket, -1, SQLITE_STATIC);
	if (n)
		bind_prefix(q, 2, prefix, n);
	return each_row(m, q, fn, arg, NULL, e);
}

enum status
kvmirror_each_tagged(struct kvmirror *m, const char *bucket, const char *prefix,
		     char *const *tags, size_t n, kvmirror_fn fn, void *arg, size_t *got,
		     struct err *e)
{
	size_t i, np = prefix ? strlen(prefix) : 0;
	struct buf sql = BUF_INIT;
	sqlite3_stmt *q = NULL;
	int rc;

	if (got)
		*got = 0;
	if (n > KVMIRROR_TAGS_MAX)
		return err_set(e, ST_BAD_VALUE, "more than %d tags in one read", KVMIRROR_TAGS_MAX);
	buf_addf(&sql, ROW_COLS "WHERE op = 0 AND (id IN (SELECT entry FROM kvm_tag WHERE "
		 "bucket = ?1 AND tag IN (");
	for (i = 0; i < n; i++)
		buf_addf(&sql, "%s?%zu", i ? ", " : "", i + 4);
	buf_addf(&sql, "))%s) ORDER BY rev", np ? " OR (bucket = ?1 AND key >= ?2 AND key < ?3)" :
		 "");
	rc = sqlite3_prepare_v2(m->db, sql.s, -1, &q, NULL);
	buf_release(&sql);
	if (rc != SQLITE_OK)
		return db_fail(m, rc, "read", e);
	sqlite3_bind_text(q, 1, bucket, -1, SQLITE_STATIC);
	if (np)
		bind_prefix(q, 2, prefix, np);
	for (i = 0; i < n; i++)
		sqlite3_bind_text(q, (int)i + 4, tags[i], -1, SQLITE_STATIC);
	return each_row(m, q, fn, arg, got, e);
}

enum status
kvmirror_get(struct kvmirror *m, const char *bucket, const char *key, struct bus_kv_entry *out,
	     bool *found, struct err *e)
{
	int rc;

	*found = false;
	sqlite3_bind_text(m->get, 1, bucket, -1, SQLITE_STATIC);
	sqlite3_bind_text(m->get, 2, key, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(m->get)) == SQLITE_ROW) {
		const void *v = sqlite3_column_blob(m->get, 0);

		buf_reset(&out->value);
		buf_add(&out->value, v ? v : "", v ? (size_t)sqlite3_column_bytes(m->get, 0) : 0);
		out->revision = (uint64_t)sqlite3_column_int64(m->get, 1);
		out->op = BUS_KV_PUT;
		out->created_ns = 0;
		*found = true;
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_OK;
	}
	sqlite3_reset(m->get);
	sqlite3_clear_bindings(m->get);
	return rc == SQLITE_OK ? ST_OK : db_fail(m, rc, "read", e);
}

/* --- a command's use ------------------------------------------------------- */

/* One line of --why for a bucket's sync. */
static void
why_sync(struct buf *why, const char *bucket, const struct kvmirror_sync *s)
{
	if (!why)
		return;
	if (s->from > s->to && !s->rebuilt)
		buf_addf(why, "%s: fresh at sequence %llu (%llu keys), nothing to read (%lld ms)\n",
			 bucket, (unsigned long long)s->to, (unsigned long long)s->rows,
			 (long long)s->ms);
	else
		buf_addf(why, "%s: %llu message%s read (sequences %llu to %llu)%s%s%s in %lld ms\n",
			 bucket, (unsigned long long)s->applied, s->applied == 1 ? "" : "s",
			 (unsigned long long)s->from, (unsigned long long)s->to,
			 s->rebuilt ? ", rebuilt" : "", s->why ? ": " : "", s->why ? s->why : "",
			 (long long)s->ms);
}

/* Bring each bucket up to date (or, read-only, check that it is); *fresh false if one is not. */
static enum status
attach_buckets(struct kvmirror *m, struct bus *b, const struct kvmirror_bucket *const *defs,
	       size_t n, bool *fresh, struct buf *why, struct err *e)
{
	struct kvmirror_sync sy;
	enum status st = ST_OK;
	size_t i;
	bool f;

	*fresh = true;
	for (i = 0; i < n && st == ST_OK && *fresh; i++) {
		if (m->write) {
			if ((st = kvmirror_sync(m, b, defs[i], &sy, e)) == ST_OK)
				why_sync(why, defs[i]->bucket, &sy);
			continue;
		}
		if ((st = kvmirror_fresh(m, b, defs[i], &f, e)) == ST_OK && !f && why)
			buf_addf(why, "%s: read-only, and the mirror does not hold its last "
				 "sequence: the bucket is read instead\n", defs[i]->bucket);
		*fresh = st == ST_OK && f;
	}
	return st;
}

enum status
kvmirror_attach(const struct config *c, struct bus *b, const struct kvmirror_bucket *const *defs,
		size_t n, struct kvmirror **out, struct buf *why, struct err *warning,
		struct err *e)
{
	bool ro = cfg_bool(c, CK_READ_ONLY), fresh = false;
	struct kvmirror *m = NULL;
	struct err me = ERR_INIT;
	enum status st;
	int rc;

	*out = NULL;
	st = kvmirror_open(c, !ro, &m, &me);
	if (st == ST_OK)
		st = attach_buckets(m, b, defs, n, &fresh, why, &me);
	/* one read transaction: every read of the command sees the same state */
	if (st == ST_OK && fresh && (rc = sqlite3_exec(m->db, "BEGIN; SELECT count(*) FROM "
						       "kvm_meta", NULL, NULL, NULL)) != SQLITE_OK)
		st = db_fail(m, rc, "read", &me);
	if (st == ST_OK && fresh) {
		*out = m;
		return ST_OK;
	}
	kvmirror_close(m);
	if (st == ST_NOT_FOUND && why)
		buf_addf(why, "mirror: read-only, and there is none of this format yet: the "
			 "buckets are read\n");
	if (st == ST_OK || st == ST_NOT_FOUND)
		return ST_OK;
	if (st == ST_INDEX_CORRUPT || st == ST_IO) {
		if (warning)
			*warning = me;
		return ST_OK;
	}
	if (e)
		*e = me;
	return st;
}
