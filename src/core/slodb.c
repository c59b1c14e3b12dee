/* The SLO rollups in SQLite: see slodb.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/home.h"
#include "core/sketch.h"
#include "core/slodb.h"
#include "core/util.h"

/* A swarm's state while samples are taken. */
struct swarm_state {
	char *name;
	int64_t first_ms, last_ms, interval_ms, max_slot;
	int64_t last_slot;	/* the slot of the last sample taken (a cheap first filter) */
	uint64_t samples;
	bool known;		/* read from the table (or written there) */
};

/* One taken sample (or an up slot), waiting for a flush. */
#define REC_OUTCOME 0x1
#define REC_OK 0x2
#define REC_UP 0x4
#define REC_NO_MINUTE 0x8	/* older than minute rows are kept: none made */
struct rec {
	uint32_t swarm;
	uint16_t bucket;
	uint8_t flags;
	int64_t t;		/* ms */
};

struct slodb {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *upsert, *swarm_get, *swarm_put, *rows, *bits_get;
	uint64_t last_seq, rejected;
	int64_t minute_cutoff;		/* no minute rows before this (slodb_set_now); 0: all */
	struct swarm_state *sw;		/* interned swarms */
	size_t nsw, capsw;
	uint32_t *slots;		/* open-addressing table of sw indices + 1 */
	size_t nslots;
	struct rec *recs;
	size_t nrecs, caprecs;
};

static const char slodb_sql[] =
	"CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER);"
	"CREATE TABLE IF NOT EXISTS roll (res INTEGER, t INTEGER, swarm TEXT, n INTEGER,"
	" ok INTEGER, up INTEGER, sketch BLOB, bits INTEGER, PRIMARY KEY (res, t, swarm))"
	" WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS swarm (swarm TEXT PRIMARY KEY, first_ms INTEGER,"
	" last_ms INTEGER, interval_ms INTEGER, max_slot INTEGER, last_slot INTEGER,"
	" samples INTEGER);"
	"INSERT OR IGNORE INTO meta VALUES ('schema', 1), ('last_seq', 0), ('rejected', 0);";

static const int64_t resolutions[] = { SLODB_MINUTE, SLODB_HOUR, SLODB_DAY };
static const int64_t retention_ms[] = { 2 * SLODB_DAY, 100 * SLODB_DAY, 400 * SLODB_DAY };

/* Map an SQLite failure. */
static enum status
db_err(struct slodb *d, int rc, const char *what, struct err *e)
{
	if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB)
		return err_set(e, ST_INDEX_CORRUPT, "slo rollups '%s' are damaged (%s): remove the "
			       "file, 'ifctl slo sync' rebuilds it", d->path, sqlite3_errstr(rc));
	if (rc == SQLITE_READONLY || rc == SQLITE_PERM || rc == SQLITE_CANTOPEN)
		return err_set(e, ST_PERMISSION, "slo rollups '%s': %s: %s", d->path, what,
			       sqlite3_errmsg(d->db));
	return err_set(e, ST_IO, "slo rollups '%s': %s: %s", d->path, what, sqlite3_errmsg(d->db));
}

/* sk_merge(a, b): the stored form of the merge of two sketches (NULL is empty). */
static void
sql_sk_merge(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	struct buf out = BUF_INIT;
	const void *a = sqlite3_value_blob(argv[0]), *b = sqlite3_value_blob(argv[1]);
	int alen = sqlite3_value_bytes(argv[0]), blen = sqlite3_value_bytes(argv[1]);

	(void)argc;
	if (!sketch_encoded_merge(a, a ? (size_t)alen : 0, b, b ? (size_t)blen : 0, &out)) {
		buf_release(&out);
		sqlite3_result_error(cx, "malformed sketch", -1);
		return;
	}
	sqlite3_result_blob(cx, out.s ? out.s : "", (int)out.len, SQLITE_TRANSIENT);
	buf_release(&out);
}

/* A meta value (0 when absent). */
static int64_t
meta_get(struct slodb *d, const char *key)
{
	sqlite3_stmt *q = NULL;
	int64_t v = 0;

	if (sqlite3_prepare_v2(d->db, "SELECT value FROM meta WHERE key = ?", -1, &q, NULL) ==
	    SQLITE_OK) {
		sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
		if (sqlite3_step(q) == SQLITE_ROW)
			v = sqlite3_column_int64(q, 0);
	}
	sqlite3_finalize(q);
	return v;
}

static int
meta_put(struct slodb *d, const char *key, int64_t v)
{
	sqlite3_stmt *q = NULL;
	int rc = sqlite3_prepare_v2(d->db, "INSERT OR REPLACE INTO meta VALUES (?, ?)", -1, &q,
				    NULL);

	if (rc == SQLITE_OK) {
		sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 2, v);
		rc = sqlite3_step(q) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(d->db);
	}
	sqlite3_finalize(q);
	return rc;
}

/* The file is the operator's: 0600 before SQLite creates it. */
static void
private_file(const char *path)
{
	int fd;

	if (strcmp(path, ":memory:") == 0)
		return;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600)) >= 0)
		close(fd);
}

/* Prepare the statements every operation uses. */
static int
prepare(struct slodb *d)
{
	static const char *const sql[] = {
		"INSERT INTO roll VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (res, t, swarm) "
		"DO UPDATE SET n = n + excluded.n, ok = ok + excluded.ok, up = up + excluded.up, "
		"sketch = sk_merge(sketch, excluded.sketch), bits = bits | excluded.bits",
		"SELECT first_ms, last_ms, interval_ms, max_slot, last_slot, samples FROM swarm "
		"WHERE swarm = ?",
		"INSERT OR REPLACE INTO swarm VALUES (?, ?, ?, ?, ?, ?, ?)",
		"SELECT swarm, res, t, n, ok, up, sketch FROM roll WHERE res = ?1 AND t >= ?2 "
		"AND t < ?3 AND (?4 IS NULL OR swarm = ?4)",
		"SELECT bits FROM roll WHERE res = 60000 AND t = ? AND swarm = ?",
	};
	sqlite3_stmt **stmts[] = { &d->upsert, &d->swarm_get, &d->swarm_put, &d->rows,
				   &d->bits_get };
	int rc = SQLITE_OK;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(sql) && rc == SQLITE_OK; i++)
		rc = sqlite3_prepare_v2(d->db, sql[i], -1, stmts[i], NULL);
	return rc;
}

/*
 * WAL mode and the tables. Two processes making a new file at once may find
 * it locked where SQLite does not wait (the switch to WAL): try again.
 */
static int
setup_file(struct slodb *d)
{
	int rc, tries = 0;

	do {
		if (tries)
			usleep(20000);
		rc = sqlite3_exec(d->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL", NULL,
				  NULL, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(d->db, slodb_sql, NULL, NULL, NULL);
	} while ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && ++tries < 100);
	return rc;
}

enum status
slodb_open(const struct config *c, const char *path, struct slodb **out, struct err *e)
{
	struct slodb *d = xcalloc(1, sizeof *d);
	enum status st = ST_OK;
	struct stat sb;
	int rc;

	if (path == NULL) {
		char *home = home_path(c, HOME_DIR);
		st = mkdir_p(home, 0700, e);
		d->path = xasprintf("%s/slo.db", home);
		free(home);
		if (st != ST_OK)
			goto fail;
	} else {
		d->path = xstrdup(path);
	}
	if (stat(d->path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
		st = err_set(e, ST_INDEX_CORRUPT, "slo rollups '%s' are not a regular file", d->path);
		goto fail;
	}
	private_file(d->path);
	rc = sqlite3_open_v2(d->path, &d->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_busy_timeout(d->db, 5000);
	if (rc == SQLITE_OK)
		rc = setup_file(d);
	if (rc == SQLITE_OK)
		rc = sqlite3_create_function(d->db, "sk_merge", 2, SQLITE_UTF8 |
					     SQLITE_DETERMINISTIC, NULL, sql_sk_merge, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = prepare(d);
	if (rc != SQLITE_OK) {
		st = db_err(d, rc, "open", e);
		goto fail;
	}
	d->last_seq = (uint64_t)meta_get(d, "last_seq");
	d->rejected = (uint64_t)meta_get(d, "rejected");
	*out = d;
	return ST_OK;
fail:
	slodb_close(d);
	return st;
}

/* Forget the swarms and samples held in memory. */
static void
drop_memory(struct slodb *d)
{
	size_t i;

	for (i = 0; i < d->nsw; i++)
		free(d->sw[i].name);
	free(d->sw);
	free(d->slots);
	free(d->recs);
	d->sw = NULL;
	d->slots = NULL;
	d->recs = NULL;
	d->nsw = d->capsw = d->nslots = d->nrecs = d->caprecs = 0;
}

void
slodb_close(struct slodb *d)
{
	if (d == NULL)
		return;
	sqlite3_finalize(d->upsert);
	sqlite3_finalize(d->swarm_get);
	sqlite3_finalize(d->swarm_put);
	sqlite3_finalize(d->rows);
	sqlite3_finalize(d->bits_get);
	sqlite3_close(d->db);
	drop_memory(d);
	free(d->path);
	free(d);
}

const char *
slodb_path(const struct slodb *d)
{
	return d->path;
}

uint64_t
slodb_last_seq(const struct slodb *d)
{
	return d->last_seq;
}

uint64_t
slodb_rejected(const struct slodb *d)
{
	return d->rejected;
}

size_t
slodb_pending(const struct slodb *d)
{
	return d->nrecs;
}

enum status
slodb_clear(struct slodb *d, struct err *e)
{
	int rc = sqlite3_exec(d->db, "DELETE FROM roll; DELETE FROM swarm; UPDATE meta SET value "
			      "= 0 WHERE key IN ('last_seq', 'rejected')", NULL, NULL, NULL);

	drop_memory(d);
	d->last_seq = d->rejected = 0;
	return rc == SQLITE_OK ? ST_OK : db_err(d, rc, "clear", e);
}

/* --- taking samples ----------------------------------------------------- */

static uint64_t
fnv(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

/* Read a swarm's stored state into st (its defaults when there is none). */
static void
swarm_load(struct slodb *d, struct swarm_state *st)
{
	sqlite3_stmt *q = d->swarm_get;

	sqlite3_reset(q);
	sqlite3_bind_text(q, 1, st->name, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW) {
		st->first_ms = sqlite3_column_int64(q, 0);
		st->last_ms = sqlite3_column_int64(q, 1);
		st->interval_ms = sqlite3_column_int64(q, 2);
		st->max_slot = sqlite3_column_int64(q, 3);
		st->last_slot = sqlite3_column_int64(q, 4);
		st->samples = (uint64_t)sqlite3_column_int64(q, 5);
		st->known = true;
	}
	sqlite3_reset(q);
}

/* Grow the swarm table's slots to twice the swarms, re-placing them. */
static void
rehash(struct slodb *d)
{
	size_t i, n = d->nslots ? d->nslots * 2 : 256;

	free(d->slots);
	d->slots = xcalloc(n, sizeof *d->slots);
	d->nslots = n;
	for (i = 0; i < d->nsw; i++) {
		size_t j = fnv(d->sw[i].name) & (n - 1);
		while (d->slots[j])
			j = (j + 1) & (n - 1);
		d->slots[j] = (uint32_t)(i + 1);
	}
}

/* The index of swarm name, interned (and loaded) on first sight. */
static uint32_t
intern(struct slodb *d, const char *name)
{
	size_t j;

	if (2 * (d->nsw + 1) > d->nslots)
		rehash(d);
	for (j = fnv(name) & (d->nslots - 1); d->slots[j]; j = (j + 1) & (d->nslots - 1))
		if (strcmp(d->sw[d->slots[j] - 1].name, name) == 0)
			return d->slots[j] - 1;
	xgrow(&d->sw, &d->capsw, d->nsw + 1, sizeof *d->sw);
	memset(&d->sw[d->nsw], 0, sizeof *d->sw);
	d->sw[d->nsw].name = xstrdup(name);
	swarm_load(d, &d->sw[d->nsw]);
	d->slots[j] = (uint32_t)(d->nsw + 1);
	return (uint32_t)d->nsw++;
}

static void
push_rec(struct slodb *d, uint32_t swarm, int64_t t, uint8_t flags, uint16_t bucket)
{
	if (t < d->minute_cutoff)	/* minute-aligned: a minute's records all agree */
		flags |= REC_NO_MINUTE;
	xgrow(&d->recs, &d->caprecs, d->nrecs + 1, sizeof *d->recs);
	d->recs[d->nrecs++] = (struct rec){ swarm, bucket, flags, t };
}

/*
 * Note ts's heartbeat slot; true unless it is the slot of the swarm's last
 * sample (samples come in bursts: most are filtered here). Whether the slot
 * is new is settled exactly at the flush, by the minute row's bitmap.
 */
static bool
slot_note(struct swarm_state *s, int64_t ts, int64_t interval)
{
	int64_t slot = ts / interval;

	if (s->interval_ms != interval) {	/* a new interval: slots start over */
		s->interval_ms = interval;
		s->max_slot = slot;
		s->last_slot = slot;
		return true;
	}
	if (slot > s->max_slot)
		s->max_slot = slot;
	if (slot == s->last_slot && s->samples > 1)
		return false;
	s->last_slot = slot;
	return true;
}

void
slodb_set_now(struct slodb *d, int64_t now_ms)
{
	int64_t c = now_ms - retention_ms[0];

	d->minute_cutoff = c - ((c % SLODB_MINUTE) + SLODB_MINUTE) % SLODB_MINUTE;
}

void
slodb_add(struct slodb *d, const struct slo_sample *s, int64_t interval_ms)
{
	uint32_t i = intern(d, s->swarm);
	struct swarm_state *st = &d->sw[i];

	if (st->samples == 0 || s->ts < st->first_ms)
		st->first_ms = s->ts;
	if (s->ts > st->last_ms)
		st->last_ms = s->ts;
	st->samples++;
	if (s->kind != SLO_SAMPLE_HEARTBEAT) {
		double us = s->latency_ms * 1000.0;
		uint64_t v = us >= (double)SKETCH_MAX ? SKETCH_MAX : (uint64_t)(us + 0.5);
		push_rec(d, i, s->ts, (uint8_t)(REC_OUTCOME | (s->ok ? REC_OK : 0)),
			 (uint16_t)sketch_index(v));
	}
	if (slot_note(st, s->ts, interval_ms))
		push_rec(d, i, s->ts / interval_ms * interval_ms, REC_UP, 0);
}

/* --- flushing ----------------------------------------------------------- */

/* Sort order of a flush at one resolution: swarm, then the row's time. */
/* (qsort_r: the resolution is the sort's argument.) */

static int
by_row(const void *a, const void *b, void *arg)
{
	const struct rec *x = a, *y = b;
	int64_t sort_res = *(const int64_t *)arg;
	int64_t tx = x->t - ((x->t % sort_res) + sort_res) % sort_res;
	int64_t ty = y->t - ((y->t % sort_res) + sort_res) % sort_res;

	if (x->swarm != y->swarm)
		return x->swarm < y->swarm ? -1 : 1;
	return tx < ty ? -1 : tx > ty;
}

/*
 * The heartbeat slots a minute row has seen: bit s for the slot that starts
 * s seconds into the minute (slots are at least 1 s long).
 */
static uint64_t
minute_bits(struct slodb *d, int64_t t, const char *swarm)
{
	sqlite3_stmt *q = d->bits_get;
	uint64_t bits = 0;

	sqlite3_reset(q);
	sqlite3_bind_int64(q, 1, t);
	sqlite3_bind_text(q, 2, swarm, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW)
		bits = (uint64_t)sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return bits;
}

/*
 * At minute resolution, keep REC_UP only on the records of slots the minute
 * had not seen (its stored bitmap, and this group's): the hour and day
 * passes that follow then count each slot once, whatever order the samples
 * came in. *bits gets the group's slots.
 */
static void
dedupe_slots(struct slodb *d, int64_t t, struct rec *r, size_t n, uint64_t *bits)
{
	uint64_t seen = minute_bits(d, t, d->sw[r[0].swarm].name);
	size_t i;

	*bits = 0;
	for (i = 0; i < n; i++) {
		uint64_t bit;
		if (!(r[i].flags & REC_UP))
			continue;
		bit = 1ull << ((r[i].t - t) / 1000 % 64);
		if ((seen | *bits) & bit)
			r[i].flags &= (uint8_t)~REC_UP;
		else
			*bits |= bit;
	}
}

/* Upsert one row from recs[0..n) (one swarm, one row time). */
static int
put_group(struct slodb *d, int64_t res, int64_t t, struct rec *r, size_t n,
	  struct sketch *sk, struct buf *blob)
{
	uint64_t cnt = 0, ok = 0, up = 0, bits = 0;
	sqlite3_stmt *q = d->upsert;
	size_t i;
	int rc;

	if (res == SLODB_MINUTE)
		dedupe_slots(d, t, r, n, &bits);
	for (i = 0; i < n; i++) {
		if (r[i].flags & REC_OUTCOME) {
			cnt++;
			ok += (r[i].flags & REC_OK) != 0;
			sk->count[r[i].bucket]++;
		}
		up += (r[i].flags & REC_UP) != 0;
	}
	buf_reset(blob);
	sketch_encode(sk, blob);
	for (i = 0; i < n; i++)		/* clear only what was set */
		sk->count[r[i].bucket] = 0;
	sqlite3_reset(q);
	sqlite3_bind_int64(q, 1, res);
	sqlite3_bind_int64(q, 2, t);
	sqlite3_bind_text(q, 3, d->sw[r[0].swarm].name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, (int64_t)cnt);
	sqlite3_bind_int64(q, 5, (int64_t)ok);
	sqlite3_bind_int64(q, 6, (int64_t)up);
	sqlite3_bind_blob(q, 7, blob->s ? blob->s : "", (int)blob->len, SQLITE_STATIC);
	sqlite3_bind_int64(q, 8, (int64_t)bits);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Add the taken records to the rows of resolution res. */
static int
flush_res(struct slodb *d, int64_t res, struct sketch *sk, struct buf *blob)
{
	size_t i = 0, j;
	int rc = SQLITE_OK;

	if (d->nrecs == 0)
		return SQLITE_OK;
	qsort_r(d->recs, d->nrecs, sizeof *d->recs, by_row, &res);
	while (i < d->nrecs && rc == SQLITE_OK) {
		for (j = i + 1; j < d->nrecs && by_row(&d->recs[i], &d->recs[j], &res) == 0; j++)
			;
		if (res == SLODB_MINUTE && (d->recs[i].flags & REC_NO_MINUTE)) {
			i = j;	/* a row the prune would drop (the group shares the flag) */
			continue;
		}
		rc = put_group(d, res, d->recs[i].t - ((d->recs[i].t % res) + res) % res,
			       &d->recs[i], j - i, sk, blob);
		i = j;
	}
	return rc;
}

/* Write every swarm's state back. */
static int
flush_swarms(struct slodb *d)
{
	sqlite3_stmt *q = d->swarm_put;
	size_t i;
	int rc = SQLITE_DONE;

	for (i = 0; i < d->nsw && rc == SQLITE_DONE; i++) {
		struct swarm_state *s = &d->sw[i];
		sqlite3_reset(q);
		sqlite3_bind_text(q, 1, s->name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 2, s->first_ms);
		sqlite3_bind_int64(q, 3, s->last_ms);
		sqlite3_bind_int64(q, 4, s->interval_ms);
		sqlite3_bind_int64(q, 5, s->max_slot);
		sqlite3_bind_int64(q, 6, s->last_slot);
		sqlite3_bind_int64(q, 7, (int64_t)s->samples);
		rc = sqlite3_step(q);
		s->known = true;
	}
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Drop rows past their retention. */
static int
prune(struct slodb *d, int64_t now_ms)
{
	char sql[160];
	size_t i;
	int rc = SQLITE_OK;

	for (i = 0; i < ARRAY_SIZE(resolutions) && rc == SQLITE_OK; i++) {
		snprintf(sql, sizeof sql, "DELETE FROM roll WHERE res = %lld AND t < %lld",
			 (long long)resolutions[i], (long long)(now_ms - retention_ms[i]));
		rc = sqlite3_exec(d->db, sql, NULL, NULL, NULL);
	}
	return rc;
}

enum status
slodb_flush(struct slodb *d, uint64_t seq, uint64_t rejected, int64_t now_ms, struct err *e)
{
	struct sketch *sk = xcalloc(1, sizeof *sk);
	struct buf blob = BUF_INIT;
	size_t i;
	int rc = sqlite3_exec(d->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);

	if (rc == SQLITE_OK && (uint64_t)meta_get(d, "last_seq") != d->last_seq) {
		/* another process copied samples meanwhile: ours would count twice */
		sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
		drop_memory(d);
		d->last_seq = (uint64_t)meta_get(d, "last_seq");
		d->rejected = (uint64_t)meta_get(d, "rejected");
		free(sk);
		return err_set(e, ST_CONFLICT, "slo rollups '%s' moved on meanwhile", d->path);
	}
	for (i = 0; i < ARRAY_SIZE(resolutions) && rc == SQLITE_OK; i++)
		rc = flush_res(d, resolutions[i], sk, &blob);
	if (rc == SQLITE_OK)
		rc = flush_swarms(d);
	if (rc == SQLITE_OK && seq > d->last_seq)
		rc = meta_put(d, "last_seq", (int64_t)seq);
	if (rc == SQLITE_OK && rejected)
		rc = meta_put(d, "rejected", (int64_t)(d->rejected + rejected));
	if (rc == SQLITE_OK && now_ms)
		rc = prune(d, now_ms);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(d->db, "COMMIT", NULL, NULL, NULL);
	free(sk);
	buf_release(&blob);
	if (rc != SQLITE_OK) {
		enum status st = db_err(d, rc, "write", e);
		sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
		drop_memory(d);		/* the swarms' states are re-read from the file */
		return st;
	}
	if (seq > d->last_seq)
		d->last_seq = seq;
	d->rejected += rejected;
	d->nrecs = 0;
	return ST_OK;
}

/* --- reading ------------------------------------------------------------ */

enum status
slodb_swarms(struct slodb *d, const char *swarm, void (*fn)(void *, const struct slodb_swarm *),
	     void *arg, struct err *e)
{
	sqlite3_stmt *q = NULL;
	int rc = sqlite3_prepare_v2(d->db, "SELECT swarm, first_ms, last_ms, interval_ms, "
				    "max_slot, samples FROM swarm WHERE ?1 IS NULL OR swarm = ?1",
				    -1, &q, NULL);

	if (rc == SQLITE_OK && swarm)
		sqlite3_bind_text(q, 1, swarm, -1, SQLITE_STATIC);
	while (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct slodb_swarm s = {
			(const char *)sqlite3_column_text(q, 0), sqlite3_column_int64(q, 1),
			sqlite3_column_int64(q, 2), sqlite3_column_int64(q, 3),
			sqlite3_column_int64(q, 4), (uint64_t)sqlite3_column_int64(q, 5),
		};
		fn(arg, &s);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(q);
	return rc == SQLITE_DONE || rc == SQLITE_OK ? ST_OK : db_err(d, rc, "read", e);
}

enum status
slodb_rows(struct slodb *d, int64_t res, int64_t from, int64_t to, const char *swarm,
	   void (*fn)(void *, const struct slodb_row *), void *arg, struct err *e)
{
	sqlite3_stmt *q = d->rows;
	int rc;

	if (from >= to)
		return ST_OK;
	sqlite3_reset(q);
	sqlite3_bind_int64(q, 1, res);
	sqlite3_bind_int64(q, 2, from);
	sqlite3_bind_int64(q, 3, to);
	if (swarm)
		sqlite3_bind_text(q, 4, swarm, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(q, 4);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct slodb_row r = {
			(const char *)sqlite3_column_text(q, 0), sqlite3_column_int64(q, 1),
			sqlite3_column_int64(q, 2), (uint64_t)sqlite3_column_int64(q, 3),
			(uint64_t)sqlite3_column_int64(q, 4), (uint64_t)sqlite3_column_int64(q, 5),
			sqlite3_column_blob(q, 6), (size_t)sqlite3_column_bytes(q, 6),
		};
		fn(arg, &r);
	}
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? ST_OK : db_err(d, rc, "read", e);
}

/* The first multiple of unit at or after t. */
static int64_t
ceil_to(int64_t t, int64_t unit)
{
	int64_t r = ((t % unit) + unit) % unit;

	return r ? t - r + unit : t;
}

enum status
slodb_window(struct slodb *d, int64_t start, const char *swarm,
	     void (*fn)(void *, const struct slodb_row *), void *arg, struct err *e)
{
	int64_t h0 = ceil_to(start, SLODB_HOUR), d0 = ceil_to(h0, SLODB_DAY);
	enum status st;

	if ((st = slodb_rows(d, SLODB_MINUTE, start, h0, swarm, fn, arg, e)) != ST_OK ||
	    (st = slodb_rows(d, SLODB_HOUR, h0, d0, swarm, fn, arg, e)) != ST_OK)
		return st;
	return slodb_rows(d, SLODB_DAY, d0, INT64_MAX, swarm, fn, arg, e);
}
