/* The witness ledger on NATS: see ledger.h. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "core/ledger.h"
#include "core/util.h"

void
ledger_writer_init(struct ledger_writer *w, struct bus *b)
{
	memset(w, 0, sizeof *w);
	w->b = b;
	w->stream = LEDGER_STREAM;
	w->subject = LEDGER_SUBJECT;
}

/* Read the tail: the last entry, which must sit at its own sequence. */
static enum status
read_tail(struct ledger_writer *w, struct err *err)
{
	struct buf data = BUF_INIT;
	struct wentry last;
	uint64_t seq = 0;
	enum status st;

	st = bus_stream_last(w->b, w->stream, w->subject, &data, &seq, err);
	if (st == ST_NOT_FOUND) {
		w->last_seq = 0;
		memset(w->last_hash, '0', WITNESS_HEX - 1);
		w->last_hash[WITNESS_HEX - 1] = '\0';
		w->known = true;
		st = ST_OK;
	} else if (st == ST_OK) {
		st = wentry_parse(data.s, data.len, &last, err);
		if (st == ST_OK && last.seq != seq)
			st = err_set(err, ST_WITNESS, "stream '%s' message %llu holds entry %llu: it "
				     "is not a ledger", w->stream, (unsigned long long)seq,
				     (unsigned long long)last.seq);
		else if (st != ST_OK)
			st = err_set(err, ST_WITNESS, "stream '%s' message %llu is not a witness "
				     "entry", w->stream, (unsigned long long)seq);
		if (st == ST_OK) {
			w->last_seq = seq;
			memcpy(w->last_hash, last.hash, WITNESS_HEX);
			w->known = true;
		}
		wentry_release(&last);
	}
	buf_release(&data);
	return st;
}

enum status
ledger_append(struct ledger_writer *w, struct wentry *e, struct err *err)
{
	struct buf json = BUF_INIT;
	enum status st = ST_OK;
	uint64_t seq = 0;
	int tries;

	for (tries = 0; tries < 1000; tries++) {
		struct bus_pub pub = { 0 };

		if (!w->known) {
			if ((st = read_tail(w, err)) != ST_OK)
				break;
			if (tries > 0 && w->last_seq == e->seq &&
			    strcmp(w->last_hash, e->hash) == 0)
				break;	/* our publish landed; its answer was lost */
		}
		e->seq = w->last_seq + 1;
		memcpy(e->prev, w->last_hash, WITNESS_HEX);
		wentry_seal(e);
		buf_reset(&json);
		wentry_canonical(e, true, &json);
		if (w->last_seq == 0)
			pub.expect_no_message = true;
		else
			pub.expect_last_subject_seq = w->last_seq;
		st = bus_js_publish(w->b, w->subject, json.s, json.len, &pub, &seq, err);
		if (st == ST_CONFLICT) {
			w->known = false;	/* another writer got there first */
			w->conflicts++;
			/* Step aside briefly, more after repeated losses, to let one win. */
			usleep((useconds_t)(randombytes_uniform(50u << (tries < 5 ? tries : 5)) + 1));
			continue;
		}
		if (st == ST_NO_SCHEMA || st == ST_NO_JETSTREAM)
			st = err_set(err, ST_NO_SCHEMA, "stream '%s' does not exist", w->stream);
		if (st == ST_OK && seq != e->seq)
			st = err_set(err, ST_WITNESS, "entry %llu landed at stream sequence %llu",
				     (unsigned long long)e->seq, (unsigned long long)seq);
		if (st == ST_OK) {
			w->last_seq = seq;
			memcpy(w->last_hash, e->hash, WITNESS_HEX);
		} else {
			w->known = false;
		}
		break;
	}
	if (tries == 1000)
		st = err_set(err, ST_CONFLICT, "gave up appending after 1000 lost races");
	buf_release(&json);
	return st;
}

enum status
ledger_read(struct bus *b, ledger_entry_fn fn, void *arg, uint64_t *count, struct err *err)
{
	return ledger_read_from(b, 1, fn, arg, count, err);
}

/* A bulk read in progress: the watch delivers, the caller waits. */
struct bulk {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	ledger_entry_fn fn;
	void *arg;
	uint64_t last, got, count;
	enum status st;
	struct err err;
	int64_t progress_ms;	/* when the last entry arrived */
};

static void
bulk_event(void *arg, const struct bus_kv_event *ev)
{
	struct bulk *k = arg;
	struct wentry e;
	enum status st;

	pthread_mutex_lock(&k->mu);
	if (k->st == ST_OK && !ev->snapshot_done && ev->revision <= k->last) {
		st = wentry_parse(ev->value, ev->len, &e, &k->err);
		if (st != ST_OK)
			err_prefix(&k->err, "stream '%s' message %llu", LEDGER_STREAM,
				   (unsigned long long)ev->revision);
		else
			st = k->fn(k->arg, &e, &k->err);
		wentry_release(&e);
		k->st = st;
		k->got = ev->revision;
		k->count++;
		k->progress_ms = mono_ms();
		pthread_cond_broadcast(&k->cv);
	}
	pthread_mutex_unlock(&k->mu);
}

/*
 * Read entries from..last through a stream watch: in order, at the
 * stream's pace rather than one request per entry, each at most once.
 * Fails when nothing arrives for the bus timeout.
 */
enum status
ledger_read_from(struct bus *b, uint64_t from, ledger_entry_fn fn, void *arg, uint64_t *count,
		 struct err *err)
{
	struct bulk k = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER,
			  .fn = fn, .arg = arg, .st = ST_OK };
	struct bus_watch *w = NULL;
	struct buf data = BUF_INIT;
	enum status st;

	*count = 0;
	if (from == 0)
		from = 1;
	st = bus_stream_last(b, LEDGER_STREAM, LEDGER_SUBJECT, &data, &k.last, err);
	buf_release(&data);
	if (st == ST_NOT_FOUND || (st == ST_OK && k.last < from))
		return ST_OK;	/* nothing (new) to read */
	if (st != ST_OK)
		return st;
	k.progress_ms = mono_ms();
	if ((st = bus_stream_watch(b, LEDGER_STREAM, LEDGER_SUBJECT, from, bulk_event, &k, &w,
				   err)) != ST_OK)
		return st;
	pthread_mutex_lock(&k.mu);
	while (k.st == ST_OK && k.got < k.last) {
		int64_t idle = mono_ms() - k.progress_ms, deadline;
		struct timespec ts;
		if (idle >= bus_timeout_ms(b)) {
			k.st = err_set(&k.err, ST_TIMEOUT, "reading stream '%s': nothing after "
				       "entry %llu for %lld ms", LEDGER_STREAM,
				       (unsigned long long)k.got, (long long)bus_timeout_ms(b));
			break;
		}
		deadline = wall_ms() + 100;
		ts.tv_sec = deadline / 1000;
		ts.tv_nsec = (deadline % 1000) * 1000000;
		pthread_cond_timedwait(&k.cv, &k.mu, &ts);
	}
	pthread_mutex_unlock(&k.mu);
	bus_watch_free(w);	/* no callback runs after this */
	*count = k.count;
	if (k.st != ST_OK && err)
		*err = k.err;
	return k.st;
}

enum status
witness_key(const char *home, bool create, struct wkey *k, bool *created, struct err *e)
{
	char *dir = xasprintf("%s/keys", home), *path = xasprintf("%s/witness.key", dir);
	char host[128], name[160];
	enum status st;

	if (created)
		*created = false;
	st = wkey_load(path, k, e);
	if (st == ST_NOT_FOUND && !create)
		err_set(e, ST_NOT_FOUND, "no witness key at '%s'", path);
	if (st == ST_NOT_FOUND && create) {
		gethostname(host, sizeof host);
		host[sizeof host - 1] = '\0';
		snprintf(name, sizeof name, "ifctl/%s", host);
		if ((st = mkdir_p(dir, 0700, e)) == ST_OK) {
			wkey_generate(k, name);
			st = wkey_save(path, k, e);
		}
		if (st == ST_OK && created)
			*created = true;
	}
	free(dir);
	free(path);
	return st;
}
