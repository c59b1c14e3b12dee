/* The cost index: see costdb.h. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/costdb.h"
#include "core/sqlutil.h"
#include "core/home.h"
#include "core/util.h"

#define HOUR_MS 3600000LL

struct costdb {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *put, *roll, *meta;
};

static const char cost_schema[] =
	"CREATE TABLE IF NOT EXISTS cost_meta (key TEXT PRIMARY KEY, value INTEGER);"
	"CREATE TABLE IF NOT EXISTS cost_usage ("
	" seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, swarm TEXT NOT NULL, task TEXT,"
	" provider TEXT NOT NULL, model TEXT NOT NULL, operation TEXT NOT NULL,"
	" tokens_in INTEGER, tokens_out INTEGER, tokens_cached INTEGER, duration_ms INTEGER,"
	" latency_ms INTEGER, cost_micros INTEGER NOT NULL, id TEXT);"
	"CREATE INDEX IF NOT EXISTS cost_usage_at ON cost_usage (at);"
	/* Rollups: level 0 by hour (slot = at / 1 h), level 1 by UTC day (slot = at / 1 d). */
	"CREATE TABLE IF NOT EXISTS cost_roll ("
	" level INTEGER, slot INTEGER, swarm TEXT, provider TEXT, model TEXT, operation TEXT,"
	" n INTEGER, tokens_in INTEGER, tokens_out INTEGER, tokens_cached INTEGER,"
	" duration_ms INTEGER, latency_ms INTEGER, cost_micros INTEGER,"
	" PRIMARY KEY (level, slot, swarm, provider, model, operation)) WITHOUT ROWID;"
	"";

/* An index from before schema 2 (an hourly rollup only) is emptied and copied again. */
static const char cost_migrate[] =
	"DROP TABLE IF EXISTS cost_hour; DELETE FROM cost_usage; DELETE FROM cost_roll;"
	"DELETE FROM cost_meta WHERE key = 'seq'; INSERT INTO cost_meta VALUES ('schema', 2);";

#define DAY_MS (24 * HOUR_MS)
static const int64_t level_ms[] = { HOUR_MS, DAY_MS };

/* Map an SQLite failure: a damaged file is the index's problem. */
static enum status
db_fail(struct costdb *d, int rc, const char *what, struct err *e)
{
	if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB)
		return err_set(e, ST_INDEX_CORRUPT, "index '%s' is damaged (%s)", d->path,
			       sqlite3_errstr(rc));
	return err_set(e, ST_IO, "index '%s': %s: %s", d->path, what, sqlite3_errmsg(d->db));
}

enum status
costdb_open_path(const char *path, struct costdb **out, struct err *e)
{
	struct costdb *d = xcalloc(1, sizeof *d);
	uint64_t schema = 0;
	enum status st;
	int rc, fd;

	d->path = xstrdup(path);
	/* The index is the operator's: made 0600 before SQLite makes it (and its -wal, -shm). */
	if (strcmp(path, ":memory:") != 0 &&
	    (fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600)) >= 0)
		close(fd);
	rc = sqlite3_open_v2(path, &d->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_busy_timeout(d->db, 5000);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(d->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
	if (rc == SQLITE_OK)	/* a cache: a power cut may lose the last commits, never the file */
		rc = sqlite3_exec(d->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(d->db, cost_schema, NULL, NULL, NULL);
	if (rc == SQLITE_OK && costdb_get_pos(d, "schema", &schema, NULL) == ST_OK && schema != 2)
		rc = sqlite3_exec(d->db, cost_migrate, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(d->db, "INSERT OR IGNORE INTO cost_usage VALUES "
					"(?,?,?,?,?,?,?,?,?,?,?,?,?,?)", -1, &d->put, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(d->db, "INSERT INTO cost_roll VALUES (?,?,?,?,?,?,1,?,?,?,?,?,?) "
					"ON CONFLICT DO UPDATE SET n = n + 1,"
					" tokens_in = tokens_in + excluded.tokens_in,"
					" tokens_out = tokens_out + excluded.tokens_out,"
					" tokens_cached = tokens_cached + excluded.tokens_cached,"
					" duration_ms = duration_ms + excluded.duration_ms,"
					" latency_ms = latency_ms + excluded.latency_ms,"
					" cost_micros = cost_micros + excluded.cost_micros",
					-1, &d->roll, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(d->db, "INSERT OR REPLACE INTO cost_meta VALUES ('seq', ?)",
					-1, &d->meta, NULL);
	if (rc != SQLITE_OK) {
		st = db_fail(d, rc, "open", e);
		costdb_close(d);
		return st;
	}
	*out = d;
	return ST_OK;
}

enum status
costdb_open(const struct config *c, struct costdb **out, struct err *e)
{
	char *home, *path;
	enum status st;

	if (cfg_bool(c, CK_READ_ONLY))
		return costdb_open_path(":memory:", out, e);
	home = home_path(c, HOME_DIR);
	path = home_path(c, HOME_INDEX);
	if ((st = mkdir_p(home, 0700, e)) == ST_OK)
		st = costdb_open_path(path, out, e);
	free(path);
	free(home);
	return st;
}

void
costdb_close(struct costdb *d)
{
	if (d == NULL)
		return;
	sqlite3_finalize(d->put);
	sqlite3_finalize(d->roll);
	sqlite3_finalize(d->meta);
	sqlite3_close(d->db);
	free(d->path);
	free(d);
}

/* Run one statement of text. */
static enum status
exec(struct costdb *d, const char *sql, struct err *e)
{
	int rc = sqlite3_exec(d->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? ST_OK : db_fail(d, rc, sql, e);
}

enum status costdb_begin(struct costdb *d, struct err *e) { return exec(d, "BEGIN", e); }
enum status costdb_commit(struct costdb *d, struct err *e) { return exec(d, "COMMIT", e); }

enum status
costdb_clear(struct costdb *d, struct err *e)
{
	return exec(d, "DELETE FROM cost_usage; DELETE FROM cost_roll; DELETE FROM cost_meta WHERE key = 'seq'", e);
}

enum status
costdb_get_pos(struct costdb *d, const char *name, uint64_t *seq, struct err *e)
{
	sqlite3_stmt *q;
	int rc = sqlite3_prepare_v2(d->db, "SELECT value FROM cost_meta WHERE key = ?", -1, &q,
				    NULL);

	*seq = 0;
	if (rc != SQLITE_OK)
		return db_fail(d, rc, "read", e);
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(q)) == SQLITE_ROW)
		*seq = (uint64_t)sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? ST_OK : db_fail(d, rc, "read", e);
}

enum status
costdb_set_pos(struct costdb *d, const char *name, uint64_t seq, struct err *e)
{
	sqlite3_stmt *q;
	int rc = sqlite3_prepare_v2(d->db, "INSERT OR REPLACE INTO cost_meta VALUES (?, ?)", -1,
				    &q, NULL);

	if (rc != SQLITE_OK)
		return db_fail(d, rc, "write", e);
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)seq);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? ST_OK : db_fail(d, rc, "write", e);
}

enum status
costdb_last(struct costdb *d, uint64_t *seq, struct err *e)
{
	return costdb_get_pos(d, "seq", seq, e);
}

enum status
costdb_add(struct costdb *d, const struct usage *u, uint64_t seq, struct err *e)
{
	const int64_t n[] = { u->tokens_in, u->tokens_out, u->tokens_cached, u->duration_ms,
			      u->latency_ms, u->cost_micros };
	const char *op = u->operation ? u->operation : "";
	int rc, i, l;

	sqlite3_bind_int64(d->put, 1, (sqlite3_int64)seq);
	sqlite3_bind_int64(d->put, 2, u->at);
	sql_bind_text(d->put, 3, u->swarm, SQLITE_STATIC);
	sql_bind_text(d->put, 4, u->task, SQLITE_STATIC);
	sql_bind_text(d->put, 5, u->provider, SQLITE_STATIC);
	sql_bind_text(d->put, 6, u->model, SQLITE_STATIC);
	sql_bind_text(d->put, 7, op, SQLITE_STATIC);
	for (i = 0; i < 6; i++)
		sqlite3_bind_int64(d->put, 8 + i, n[i]);
	sql_bind_text(d->put, 14, u->id, SQLITE_STATIC);
	if ((rc = sql_step_reset(d->put)) != SQLITE_OK)
		return db_fail(d, rc, "add", e);
	for (l = 0; sqlite3_changes(d->db) == 1 && l < (int)ARRAY_SIZE(level_ms); l++) {
		sqlite3_bind_int(d->roll, 1, l);	/* new: into each rollup */
		sqlite3_bind_int64(d->roll, 2, u->at / level_ms[l]);
		sql_bind_text(d->roll, 3, u->swarm, SQLITE_STATIC);
		sql_bind_text(d->roll, 4, u->provider, SQLITE_STATIC);
		sql_bind_text(d->roll, 5, u->model, SQLITE_STATIC);
		sql_bind_text(d->roll, 6, op, SQLITE_STATIC);
		for (i = 0; i < 6; i++)
			sqlite3_bind_int64(d->roll, 7 + i, n[i]);
		if ((rc = sql_step_reset(d->roll)) != SQLITE_OK)
			return db_fail(d, rc, "roll up", e);
	}
	sqlite3_bind_int64(d->meta, 1, (sqlite3_int64)seq);
	if ((rc = sql_step_reset(d->meta)) != SQLITE_OK)
		return db_fail(d, rc, "add", e);
	return ST_OK;
}

/* --- sync ---------------------------------------------------------------- */

/* A sync in progress: messages arrive on a bus thread, the caller waits. */
struct syncing {
	struct bus_follow f;
	struct costdb *d;
	uint64_t added, skipped, batch;
};

#define SYNC_COMMIT_EVERY 20000

static void
sync_event(void *arg, const struct bus_kv_event *ev)
{
	struct syncing *y = arg;
	struct usage u;

	pthread_mutex_lock(&y->f.mu);
	if (y->f.st == ST_OK && !ev->snapshot_done && ev->revision > y->f.got &&
	    ev->revision <= y->f.last) {
		if (ev->key && has_prefix(ev->key, COST_SETTLED_PREFIX) &&
		    usage_parse(ev->value, ev->len, true, &u, NULL) == ST_OK) {
			y->f.st = costdb_add(y->d, &u, ev->revision, &y->f.err);
			y->added++;
			usage_release(&u);
		} else {
			y->skipped++;
		}
		if (y->f.st == ST_OK && ++y->batch % SYNC_COMMIT_EVERY == 0 &&
		    (y->f.st = costdb_commit(y->d, &y->f.err)) == ST_OK)
			y->f.st = costdb_begin(y->d, &y->f.err);
		bus_follow_took(&y->f, ev->revision);
	}
	pthread_mutex_unlock(&y->f.mu);
}

enum status
costdb_sync(struct bus *b, struct costdb *d, uint64_t *added, uint64_t *skipped, struct err *e)
{
	struct syncing y = { .d = d };
	struct bus_stream_stat ss;
	struct bus_watch *w = NULL;
	uint64_t got = 0;
	enum status st;

	*added = *skipped = 0;
	if ((st = costdb_last(d, &got, e)) != ST_OK ||
	    (st = bus_stream_stat(b, COST_STREAM, &ss, e)) != ST_OK)
		return st;
	if (ss.last_seq < got && (st = costdb_clear(d, e)) == ST_OK)
		got = 0;	/* the stream was made again: so is the index */
	if (st != ST_OK || ss.last_seq <= got)
		return st;
	if (got + 1 < ss.first_seq)
		got = ss.first_seq - 1;	/* older messages are gone from the stream */
	if ((st = costdb_begin(d, e)) != ST_OK)
		return st;
	bus_follow_init(&y.f, got, ss.last_seq);
	st = bus_stream_watch(b, COST_STREAM, "if.v1.cost.>", got + 1, sync_event, &y, &w, e);
	if (st == ST_OK) {
		st = bus_follow_wait(&y.f, w, COST_STREAM,
				     bus_timeout_ms(b) < 5000 ? 5000 : bus_timeout_ms(b));
		bus_watch_free(w);
		if (st != ST_OK && e)
			*e = y.f.err;
	}
	bus_follow_release(&y.f);
	if (st == ST_OK)
		st = costdb_commit(d, e);
	else
		sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
	*added = y.added;
	*skipped = y.skipped;
	return st;
}

/* --- periods and dimensions ---------------------------------------------- */

static const struct { char unit; int64_t ms; } period_units[] = {
	{ 'm', 60000 }, { 'h', HOUR_MS }, { 'd', 24 * HOUR_MS }, { 'w', 7 * 24 * HOUR_MS },
};

/* "7d": a whole number of units back from now. */
static bool
relative_period(const char *s, int64_t *ms)
{
	size_t n = strlen(s), i;
	int64_t v;
	char *num;
	bool ok;

	if (n < 2)
		return false;
	num = xstrndup(s, n - 1);
	ok = strspn(num, "0123456789") == n - 1 && parse_int64(num, &v) && v > 0;
	free(num);
	for (i = 0; ok && i < ARRAY_SIZE(period_units); i++)
		if (s[n - 1] == period_units[i].unit && v <= INT64_MAX / 4 / period_units[i].ms) {
			*ms = v * period_units[i].ms;
			return true;
		}
	return false;
}

enum status
cost_period_parse(const char *s, int64_t now, struct cost_period *out, struct err *e)
{
	const char *dots = strstr(s, "..");
	int64_t ms;

	if (relative_period(s, &ms)) {
		out->since = now > ms ? now - ms : 0;
		out->until = now + 1;
		return ST_OK;
	}
	if (dots) {
		char *from = xstrndup(s, (size_t)(dots - s));
		bool ok = parse_time_ms(from, &out->since) &&
			  (dots[2] == '\0' ? (out->until = now + 1, true)
					   : parse_time_ms(dots + 2, &out->until));
		free(from);
		if (ok && out->since < out->until)
			return ST_OK;
	}
	return err_set(e, ST_USAGE, "--period: '%s' is not a period: 1h, 24h, 7d, 30d (a whole "
		       "number of m, h, d or w), or FROM..TO with RFC 3339 times or milliseconds "
		       "(FROM before TO; TO may be left out)", s);
}

static const char *const dim_names[] = {
	[DIM_SWARM] = "swarm", [DIM_MODEL] = "model", [DIM_PROVIDER] = "provider",
	[DIM_TASK] = "task", [DIM_OPERATION] = "operation",
};
/* The SQL expression of each dimension's key (see prepare_sums). */
static const char *const dim_sql[] = {
	[DIM_SWARM] = "swarm", [DIM_MODEL] = "provider || '/' || model",
	[DIM_PROVIDER] = "provider", [DIM_TASK] = "coalesce(task, '-')",
	[DIM_OPERATION] = "CASE operation WHEN '' THEN '-' ELSE operation END",
};
_Static_assert(ARRAY_SIZE(dim_names) == DIM__COUNT, "one name per dimension");

bool
cost_dim_parse(const char *s, enum cost_dim *out)
{
	size_t i;

	for (i = 0; i < DIM__COUNT; i++)
		if (strcmp(s, dim_names[i]) == 0) {
			*out = (enum cost_dim)i;
			return true;
		}
	return false;
}

const char *
cost_dim_name(enum cost_dim d)
{
	return dim_names[d];
}

/* --- queries ------------------------------------------------------------- */

/*
 * The sums of a period grouped by key, an SQL expression over the columns
 * t (ms), swarm, provider, model, operation and task (NULL in rollups):
 * whole UTC days from the day rollup (days true), whole hours around them
 * from the hour rollup, the partial hours at either end from the records;
 * with raw, everything from the records. Five index ranges, bound here.
 * Columns: key, n, tokens_in, tokens_out, tokens_cached, duration_ms,
 * latency_ms, cost_micros.
 */
static int
prepare_sums(struct costdb *d, const struct cost_period *p, const char *key, const char *swarm,
	     bool raw, bool days, const char *order, sqlite3_stmt **q)
{
	int64_t h0 = (p->since + HOUR_MS - 1) / HOUR_MS, h1 = p->until / HOUR_MS;
	int64_t d0 = (h0 + 23) / 24, d1 = h1 / 24;
	int64_t r[10];	/* day, hour head, hour tail (slots); record head, tail (ms) */
	const char *sw = swarm ? " AND swarm = ?11" : "";
	char *sql;
	int rc, i;

	if (raw || h0 >= h1)
		h0 = h1 = 0;
	if (!days || h0 >= h1 || d0 >= d1)
		d0 = d1 = h1 / 24 + 1;	/* no whole day: an empty range */
	r[0] = d0, r[1] = d1;
	r[2] = h0, r[3] = d0 < d1 ? d0 * 24 : h1;
	r[4] = d0 < d1 ? d1 * 24 : h1, r[5] = h1;
	r[6] = p->since, r[7] = h0 < h1 ? h0 * HOUR_MS : p->until;
	r[8] = h0 < h1 ? h1 * HOUR_MS : p->until, r[9] = p->until;
#define ROLL(level, lo, hi) \
	" SELECT slot * " #level " AS t, swarm, provider, model, operation, NULL AS task, n," \
	"  tokens_in, tokens_out, tokens_cached, duration_ms, latency_ms, cost_micros" \
	"  FROM cost_roll WHERE level = " lo " AND slot >= ?" hi
#define RAW(lo, hi) \
	" SELECT at, swarm, provider, model, operation, task, 1, tokens_in, tokens_out," \
	"  tokens_cached, duration_ms, latency_ms, cost_micros FROM cost_usage" \
	"  WHERE at >= ?" lo " AND at < ?" hi
	sql = xasprintf(
		"SELECT %s AS k, sum(n), sum(tokens_in), sum(tokens_out), sum(tokens_cached),"
		" sum(duration_ms), sum(latency_ms), sum(cost_micros) FROM ("
		ROLL(86400000, "1", "1 AND slot < ?2") "%s UNION ALL"
		ROLL(3600000, "0", "3 AND slot < ?4") "%s UNION ALL"
		ROLL(3600000, "0", "5 AND slot < ?6") "%s UNION ALL"
		RAW("7", "8") "%s UNION ALL" RAW("9", "10") "%s"
		") GROUP BY k ORDER BY %s", key, sw, sw, sw, sw, sw, order);
#undef ROLL
#undef RAW
	rc = sqlite3_prepare_v2(d->db, sql, -1, q, NULL);
	free(sql);
	if (rc != SQLITE_OK)
		return rc;
	for (i = 0; i < 10; i++)
		sqlite3_bind_int64(*q, i + 1, r[i]);
	if (swarm)
		sqlite3_bind_text(*q, 11, swarm, -1, SQLITE_STATIC);
	return SQLITE_OK;
}

/* Read the current row of a sums query. */
static void
read_sum(sqlite3_stmt *q, struct cost_sum *s)
{
	const unsigned char *k = sqlite3_column_text(q, 0);

	s->key = xstrdup(k ? (const char *)k : "");
	s->records = sqlite3_column_int64(q, 1);
	s->tokens_in = sqlite3_column_int64(q, 2);
	s->tokens_out = sqlite3_column_int64(q, 3);
	s->tokens_cached = sqlite3_column_int64(q, 4);
	s->duration_ms = sqlite3_column_int64(q, 5);
	s->latency_ms = sqlite3_column_int64(q, 6);
	s->cost_micros = sqlite3_column_int64(q, 7);
}

void
cost_sums_free(struct cost_sum *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].key);
	free(v);
}

/* All rows of a prepared sums query into an array. */
static enum status
collect(struct costdb *d, sqlite3_stmt *q, struct cost_sum **out, size_t *n, struct err *e)
{
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		xgrow(out, &cap, *n + 1, sizeof **out);
		read_sum(q, &(*out)[(*n)++]);
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE) {
		cost_sums_free(*out, *n);
		*out = NULL;
		*n = 0;
		return db_fail(d, rc, "query", e);
	}
	return ST_OK;
}

enum status
costdb_sums(struct costdb *d, const struct cost_period *p, enum cost_dim dim,
	    struct cost_sum **out, size_t *n, struct err *e)
{
	sqlite3_stmt *q;
	int rc = prepare_sums(d, p, dim_sql[dim], NULL, dim == DIM_TASK, true, "8 DESC, 1", &q);

	if (rc != SQLITE_OK)
		return db_fail(d, rc, "query", e);
	return collect(d, q, out, n, e);
}

static const struct view_col report_cols[] = {
	[RP_BY] = { "by", COL_TEXT, COL_WIDE },
	[RP_KEY] = { "key", COL_TEXT, 0 },
	[RP_RECORDS] = { "records", COL_NUM, 0 },
	[RP_TOKENS_IN] = { "tokens_in", COL_NUM, 0 },
	[RP_TOKENS_OUT] = { "tokens_out", COL_NUM, 0 },
	[RP_TOKENS_CACHED] = { "tokens_cached", COL_NUM, 0 },
	[RP_COST] = { "cost_usd", COL_NUM, 0 },
	[RP_SHARE] = { "share_pct", COL_NUM, 0 },
	[RP_COST_MICROS] = { "cost_micros", COL_NUM, COL_WIDE },
};
_Static_assert(ARRAY_SIZE(report_cols) == RP__COUNT, "one column per report_col");
static const struct view report_view = VIEW("report", report_cols);

enum status
costdb_report(struct costdb *d, const struct cost_period *p, enum cost_dim dim,
	      const char *swarm, struct rowset **out, int64_t *total, struct err *e)
{
	struct cost_sum *v;
	sqlite3_stmt *q;
	size_t n, i, r;
	int64_t sum = 0;
	enum status st;
	int rc;

	rc = prepare_sums(d, p, dim_sql[dim], swarm, dim == DIM_TASK, true, "8 DESC, 1", &q);
	if (rc != SQLITE_OK)
		return db_fail(d, rc, "report", e);
	if ((st = collect(d, q, &v, &n, e)) != ST_OK)
		return st;
	for (i = 0; i < n; i++)
		sum += v[i].cost_micros;
	*out = rows_view(&report_view);
	for (i = 0; i < n; i++) {
		r = rows_add(*out);
		rows_set(*out, r, RP_BY, dim_names[dim]);
		rows_set(*out, r, RP_KEY, v[i].key);
		rows_set_int(*out, r, RP_RECORDS, v[i].records);
		rows_set_int(*out, r, RP_TOKENS_IN, v[i].tokens_in);
		rows_set_int(*out, r, RP_TOKENS_OUT, v[i].tokens_out);
		rows_set_int(*out, r, RP_TOKENS_CACHED, v[i].tokens_cached);
		money_cell(*out, r, RP_COST, v[i].cost_micros);
		rows_setf(*out, r, RP_SHARE, "%.1f", sum ? (double)v[i].cost_micros * 100.0 /
			  (double)sum : 0.0);
		rows_set_int(*out, r, RP_COST_MICROS, v[i].cost_micros);
	}
	cost_sums_free(v, n);
	if (total)
		*total = sum;
	return ST_OK;
}

static const struct view_col history_cols[] = {
	[HI_START] = { "start", COL_TIME, 0 },
	[HI_RECORDS] = { "records", COL_NUM, 0 },
	[HI_TOKENS_IN] = { "tokens_in", COL_NUM, 0 },
	[HI_TOKENS_OUT] = { "tokens_out", COL_NUM, 0 },
	[HI_TOKENS_CACHED] = { "tokens_cached", COL_NUM, 0 },
	[HI_COST] = { "cost_usd", COL_NUM, 0 },
	[HI_COST_MICROS] = { "cost_micros", COL_NUM, COL_WIDE },
};
_Static_assert(ARRAY_SIZE(history_cols) == HI__COUNT, "one column per history_col");
static const struct view history_view = VIEW("history", history_cols);

enum status
costdb_history(struct costdb *d, const struct cost_period *p, int64_t interval_ms,
	       const char *swarm, struct rowset **out, struct err *e)
{
	char *key = xasprintf("t / %lld * %lld", (long long)interval_ms, (long long)interval_ms);
	struct cost_sum *v = NULL;
	sqlite3_stmt *q;
	size_t n = 0, i, r;
	enum status st;
	int rc;

	rc = prepare_sums(d, p, key, swarm, false, interval_ms % DAY_MS == 0, "k", &q);
	free(key);
	if (rc != SQLITE_OK)
		return db_fail(d, rc, "history", e);
	if ((st = collect(d, q, &v, &n, e)) != ST_OK)
		return st;
	*out = rows_view(&history_view);
	for (i = 0; i < n; i++) {
		int64_t start;
		parse_int64(v[i].key, &start);
		r = rows_add(*out);
		rows_set_time(*out, r, HI_START, start > 0 ? start : 1);
		rows_set_int(*out, r, HI_RECORDS, v[i].records);
		rows_set_int(*out, r, HI_TOKENS_IN, v[i].tokens_in);
		rows_set_int(*out, r, HI_TOKENS_OUT, v[i].tokens_out);
		rows_set_int(*out, r, HI_TOKENS_CACHED, v[i].tokens_cached);
		money_cell(*out, r, HI_COST, v[i].cost_micros);
		rows_set_int(*out, r, HI_COST_MICROS, v[i].cost_micros);
	}
	cost_sums_free(v, n);
	return ST_OK;
}
