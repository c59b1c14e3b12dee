/* ifctl doctor's checks: see doctor.h. */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "core/coord.h"
#include "core/doctor.h"
#include "core/ledger.h"
#include "core/schema.h"
#include "core/store.h"
#include "core/task.h"
#include "core/util.h"
#include "core/windex.h"
#include "core/witness.h"

static const struct view_col doctor_cols[] = {
	[DC_CHECK] = { "check", COL_TEXT, 0 },
	[DC_RESULT] = { "result", COL_TEXT, 0 },
	[DC_STATUS] = { "status", COL_TEXT, COL_WIDE },
	[DC_EVIDENCE] = { "evidence", COL_TEXT, 0 },
	[DC_REMEDY] = { "remedy", COL_TEXT, 0 },
};
_Static_assert(ARRAY_SIZE(doctor_cols) == DC__COUNT, "one column per doctor_col");

static const struct view doctor_view = VIEW("checks", doctor_cols);

struct rowset *
doctor_rows(void)
{
	return rows_view(&doctor_view);
}

/* One check's row; the first failure is kept in *first and e. */
static void
report(struct rowset *out, const char *check, enum status st, const char *evidence,
       const char *remedy, enum status *first, struct err *e)
{
	size_t r = rows_add(out);

	rows_set(out, r, DC_CHECK, check);
	rows_set(out, r, DC_RESULT, st == ST_OK ? "ok" : "fail");
	rows_set(out, r, DC_STATUS, status_info(st)->name);
	rows_set(out, r, DC_EVIDENCE, evidence);
	rows_set(out, r, DC_REMEDY, st == ST_OK ? NULL : remedy ? remedy : status_info(st)->remedy);
	if (st != ST_OK && *first == ST_OK) {
		*first = st;
		err_set(e, st, "doctor: check '%s' failed: %s", check, evidence);
	}
}

static void
check_key(const struct config *c, struct rowset *out, enum status *first, struct err *e)
{
	struct err ke = ERR_INIT;
	struct wkey k;
	char ev[ERR_MSG_MAX + 64];
	enum status st = witness_key(c, false, &k, NULL, &ke);

	if (st == ST_OK)
		snprintf(ev, sizeof ev, "key '%s' (id %08x) loads; its file is private", k.name,
			 k.id);
	else
		snprintf(ev, sizeof ev, "%s", ke.msg);
	sodium_memzero(&k, sizeof k);
	report(out, "witness key", st, ev, "'ifctl up' creates the key; a key file must be "
	       "mode 0600 and hold one line 'NAME BASE64'", first, e);
}

static void
check_index(const struct config *c, struct rowset *out, enum status *first, struct err *e)
{
	struct err ie = ERR_INIT;
	struct store *s = NULL;
	enum status st = windex_open(c, &s, &ie);

	store_close(s);
	report(out, "local index", st, st == ST_OK ? "opens" : ie.msg,
	       "remove the file and run 'ifctl index rebuild'", first, e);
}

static void
check_schema(struct bus *b, struct rowset *out, enum status *first, struct err *e)
{
	struct rowset *rs = schema_status_rows();
	struct err se = ERR_INIT;
	struct buf missing = BUF_INIT;
	enum status st = schema_status(b, rs, NULL, &se);
	size_t i;

	for (i = 0; st == ST_OK && i < rs->nrows; i++)
		if (strcmp(rows_get(rs, i, RC_STATE), "ok") != 0)
			buf_addf(&missing, "%s%s", missing.len ? ", " : "",
				 rows_get(rs, i, RC_NAME));
	if (st == ST_OK && missing.len)
		st = ST_NO_SCHEMA;
	report(out, "streams and buckets", st,
	       se.code != ST_OK ? se.msg : missing.len ? missing.s : "every one exists",
	       "ifctl up (or ifctl up --schema-only for a remote server)", first, e);
	buf_release(&missing);
	rows_free(rs);
}

/* The task records seen by a watch of IF_TASKS, up to its snapshot. */
struct record_scan {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
	uint64_t records, invalid;
	struct buf examples;
};

static void
scan_record(void *arg, const struct bus_kv_event *ev)
{
	struct record_scan *s = arg;
	struct err re = ERR_INIT;
	struct task t;

	pthread_mutex_lock(&s->mu);
	if (ev->snapshot_done) {
		s->done = true;
		pthread_cond_broadcast(&s->cv);
	} else if (!s->done && ev->op == BUS_KV_PUT && !has_prefix(ev->key, "idem.")) {
		s->records++;
		if (task_from_json(ev->value, ev->len, &t, &re) == ST_OK &&
		    strcmp(t.id, ev->key) != 0)
			err_set(&re, ST_BAD_JSON, "its id '%.60s' is not its key", t.id);
		if (re.code != ST_OK && s->invalid++ < DOCTOR_EXAMPLES)
			buf_addf(&s->examples, "%s'%s': %s", s->examples.len ? "; " : "", ev->key,
				 re.msg);
		task_release(&t);
	}
	pthread_mutex_unlock(&s->mu);
}

/* Wait for the snapshot (or the deadline); false on timeout. */
static bool
scan_wait(struct record_scan *s, int64_t ms)
{
	struct timespec ts = deadline_ts(ms);
	bool done;

	pthread_mutex_lock(&s->mu);
	while (!s->done && pthread_cond_timedwait(&s->cv, &s->mu, &ts) == 0)
		;
	done = s->done;
	pthread_mutex_unlock(&s->mu);
	return done;
}

static void
check_records(struct bus *b, struct rowset *out, enum status *first, struct err *e)
{
	struct record_scan s = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0, 0,
				 BUF_INIT };
	struct bus_watch *w = NULL;
	struct err we = ERR_INIT;
	struct buf ev = BUF_INIT;
	enum status st = bus_kv_watch(b, COORD_BUCKET, 0, scan_record, &s, &w, &we);

	if (st == ST_OK && !scan_wait(&s, 30 * bus_timeout_ms(b)))
		st = err_set(&we, ST_TIMEOUT, "the bucket's records did not arrive in time");
	bus_watch_free(w);
	if (st != ST_OK)
		buf_adds(&ev, we.msg);
	else if (s.invalid)
		buf_addf(&ev, "%llu of %llu records are invalid (quarantined: claims skip them): %s",
			 (unsigned long long)s.invalid, (unsigned long long)s.records,
			 s.examples.s);
	else
		buf_addf(&ev, "%llu record%s, every one valid", (unsigned long long)s.records,
			 s.records == 1 ? "" : "s");
	if (st == ST_OK && s.invalid)
		st = ST_BAD_JSON;
	report(out, "task records", st, ev.s,
	       "find the client that wrote them (ifctl task show KEY shows the record); delete "
	       "each with 'nats kv del IF_TASKS KEY' once its work is accounted for",
	       first, e);
	buf_release(&ev);
	buf_release(&s.examples);
	pthread_mutex_destroy(&s.mu);
	pthread_cond_destroy(&s.cv);
}

/* The ledger's tail: parsed entries must hash, follow in sequence and chain. */
struct tail_check {
	uint64_t next_seq, checked;
	char prev[WITNESS_HEX];
};

static enum status
tail_entry(void *arg, const struct wentry *e, struct err *err)
{
	struct tail_check *t = arg;

	if (t->next_seq && e->seq != t->next_seq)
		return err_set(err, ST_WITNESS, "entry %llu follows entry %llu",
			       (unsigned long long)e->seq, (unsigned long long)t->next_seq - 1);
	if (!wentry_hash_ok(e))
		return err_set(err, ST_WITNESS, "entry %llu: its fields do not hash to its hash",
			       (unsigned long long)e->seq);
	if (t->checked && strcmp(e->prev, t->prev) != 0)
		return err_set(err, ST_WITNESS, "entry %llu: prev is not entry %llu's hash",
			       (unsigned long long)e->seq, (unsigned long long)e->seq - 1);
	memcpy(t->prev, e->hash, WITNESS_HEX);
	t->next_seq = e->seq + 1;
	t->checked++;
	return ST_OK;
}

static void
check_ledger(struct bus *b, struct rowset *out, enum status *first, struct err *e)
{
	struct bus_stream_stat ss = { 0 };
	struct tail_check t = { 0, 0, "" };
	struct err le = ERR_INIT;
	char ev[ERR_MSG_MAX + 64];
	uint64_t from, count = 0;
	enum status st = bus_stream_stat(b, LEDGER_STREAM, &ss, &le);

	from = ss.last_seq > DOCTOR_TAIL ? ss.last_seq - DOCTOR_TAIL + 1 : 1;
	if (st == ST_OK && ss.msgs)
		st = ledger_read_from(b, from, tail_entry, &t, &count, &le);
	if (st == ST_OK)
		snprintf(ev, sizeof ev, "entries %llu..%llu parse, hash and chain",
			 (unsigned long long)(ss.msgs ? from : 0), (unsigned long long)ss.last_seq);
	else
		snprintf(ev, sizeof ev, "%s", le.msg);
	if (st == ST_BAD_JSON)	/* a message that is not an entry: a fault of the ledger */
		st = ST_WITNESS;
	report(out, "witness ledger tail", st, ev,
	       "ifctl witness verify names the first bad entry; appends stop until an "
	       "operator deals with it (ifctl-witness(1))", first, e);
}

enum status
doctor_run(struct bus *b, const struct config *c, struct rowset *out, struct err *e)
{
	enum status first = ST_OK;

	check_key(c, out, &first, e);
	check_index(c, out, &first, e);
	if (b) {
		check_schema(b, out, &first, e);
		check_records(b, out, &first, e);
		check_ledger(b, out, &first, e);
	}
	return first;
}
