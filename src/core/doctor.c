/* ifctl doctor's checks: see doctor.h. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/coord.h"
#include "core/doctor.h"
#include "core/ledger.h"
#include "core/schema.h"
#include "core/store.h"
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

/*
 * Every record in IF_TASKS, read as the coordinator reads it (one snapshot,
 * the same checks that quarantine a record), the first few invalid ones named.
 */
static void
check_records(struct bus *b, struct rowset *out, enum status *first, struct err *e)
{
	const struct coord_cfg cfg = { .bucket = COORD_BUCKET };
	struct coord_invalid *bad = NULL;
	struct err se = ERR_INIT;
	struct buf ev = BUF_INIT;
	size_t nbad = 0, records = 0, i;
	enum status st = coord_scan_invalid(b, &cfg, &bad, &nbad, &records, &se);

	if (st != ST_OK) {
		buf_adds(&ev, se.msg);
	} else if (nbad) {
		buf_addf(&ev, "%zu of %zu records are invalid (quarantined: claims skip them): ",
			 nbad, records);
		for (i = 0; i < nbad && i < DOCTOR_EXAMPLES; i++)
			buf_addf(&ev, "%s'%s': %s", i ? "; " : "", bad[i].key, bad[i].reason);
		st = ST_BAD_JSON;
	} else {
		buf_addf(&ev, "%zu record%s, every one valid", records, records == 1 ? "" : "s");
	}
	report(out, "task records", st, ev.s,
	       "find the client that wrote them (ifctl task show KEY shows the record); delete "
	       "each with 'nats kv del IF_TASKS KEY' once its work is accounted for",
	       first, e);
	for (i = 0; i < nbad; i++)
		coord_invalid_release(&bad[i]);
	free(bad);
	buf_release(&ev);
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
