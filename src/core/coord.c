/* The coordinator: see coord.h. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "core/capability.h"
#include "core/coord.h"
#include "core/config.h"
#include "core/bus-direct.h"
#include "core/busx.h"
#include "core/json.h"
#include "core/ledger.h"
#include "core/readyq.h"
#include "core/slo.h"
#include "core/util.h"

/* --- events ------------------------------------------------------------- */

/* The verb of each event kind: "verb" on if.v1.evt.task.*, task.VERB in the witness. */
static const char *const event_names[] = {
	[COORD_EV_PUSH] = "push", [COORD_EV_CLAIM] = "claim", [COORD_EV_TAKEOVER] = "takeover",
	[COORD_EV_HEARTBEAT] = "heartbeat", [COORD_EV_COMPLETE] = "complete",
	[COORD_EV_FAIL] = "fail", [COORD_EV_RELEASE] = "release", [COORD_EV_DEAD] = "dead",
	[COORD_EV_CANCEL] = "cancel", [COORD_EV_REQUEUE] = "requeue",
};
_Static_assert(ARRAY_SIZE(event_names) == COORD_EV__COUNT, "one name per event kind");

/* See coord.h. */
const char *
coord_event_name(enum coord_event ev)
{
	return (unsigned)ev < COORD_EV__COUNT ? event_names[ev] : "?";
}

/* The kind of a history entry whose state is DONE, FAILED or DEAD. */
static enum coord_event
hist_end_event(const struct task_event *h)
{
	if (h->state == TASK_DONE)
		return COORD_EV_COMPLETE;
	if (h->state == TASK_DEAD && h->by && strcmp(h->by, COORD_ACTOR) == 0)
		return COORD_EV_DEAD;
	if (h->state == TASK_DEAD && h->note && has_prefix(h->note, COORD_CANCEL_NOTE))
		return COORD_EV_CANCEL;
	return COORD_EV_FAIL;
}

/* See coord.h. */
enum coord_event
coord_hist_event(const struct task *t, size_t i)
{
	const struct task_event *h = &t->hist[i], *prev = i ? &t->hist[i - 1] : NULL;
	bool after_claim = prev && prev->state == TASK_CLAIMED;

	switch (h->state) {
	case TASK_CLAIMED:
		return after_claim ? COORD_EV_TAKEOVER : COORD_EV_CLAIM;
	case TASK_QUEUED:
		if (prev && prev->state != TASK_QUEUED && !after_claim)
			return COORD_EV_REQUEUE;	/* from done, failed or dead */
		if (!after_claim)
			return COORD_EV_PUSH;
		return h->note ? COORD_EV_FAIL : COORD_EV_RELEASE;
	default:
		return hist_end_event(h);
	}
}

/*
 * Record a task's change: the event on if.v1.evt.task.<state> (fire and
 * forget) and the witness entry (heartbeats only extend a lease: no entry).
 */
static void
publish_event(struct bus *b, const struct opctx *op, const struct task *t,
	      enum coord_event kind, const char *by)
{
	struct buf ev = BUF_INIT, what = BUF_INIT;
	char subject[64], event[48];

	buf_addf(&ev, "{\"v\":1,\"type\":\"task\",\"verb\":\"%s\",\"id\":", coord_event_name(kind));
	json_escape(&ev, t->id);
	buf_addf(&ev, ",\"state\":\"%s\",\"owner\":", task_state_name(t->state));
	if (t->owner)
		json_escape(&ev, t->owner);
	else
		buf_adds(&ev, "null");
	buf_addf(&ev, ",\"token\":%llu,\"rev\":%llu,\"attempts\":%d,\"at\":%lld,\"by\":",
		 (unsigned long long)t->token, (unsigned long long)t->rev, t->attempts,
		 (long long)t->updated);
	json_escape(&ev, by ? by : "");
	buf_adds(&ev, ",\"trace\":");
	json_escape(&ev, op->trace_id);
	buf_adds(&ev, ",\"why\":");
	if (op->justification)
		json_escape(&ev, op->justification);
	else
		buf_adds(&ev, "null");
	buf_addc(&ev, '}');
	snprintf(subject, sizeof subject, "if.v1.evt.task.%s", task_state_name(t->state));
	bus_publish(b, subject, ev.s, ev.len, NULL);
	slo_note_task(b, t, coord_event_name(kind), by);	/* SLO samples (slo.h) */

	if (kind != COORD_EV_HEARTBEAT) {
		struct witness_note n = { .component = "coordinator", .event = event,
					  .actor = by, .swarm = t->owner ? t->owner : t->to,
					  .task = t->id };
		snprintf(event, sizeof event, "task.%s", coord_event_name(kind));
		buf_addf(&what, "{\"state\":\"%s\",\"token\":%llu,\"attempts\":%d,"
			 "\"priority\":%d", task_state_name(t->state),
			 (unsigned long long)t->token, t->attempts, t->priority);
		if (t->reason) {
			buf_adds(&what, ",\"reason\":");
			json_escape(&what, t->reason);
		}
		buf_addc(&what, '}');
		n.payload = what.s;
		ledger_witness(op, &n);
	}
	buf_release(&what);
	buf_release(&ev);
}

/* Is s a state a task ends in? */
static bool
finished(enum task_state s)
{
	return s == TASK_DONE || s == TASK_FAILED || s == TASK_DEAD;
}

/* Tell the ready queue that t is queued: its id on the subject of its priority. */
static void
queue_ready(struct bus *b, const struct coord_cfg *cfg, const struct task *t)
{
	char subject[64];

	if (cfg->queue == NULL || t->state != TASK_QUEUED)
		return;
	snprintf(subject, sizeof subject, "%s.%d", cfg->queue, t->priority);
	bus_publish(b, subject, t->id, strlen(t->id), NULL);
}

/*
 * After a change other than a claim was written: the event and witness
 * entry, the ready queue when t is queued again, and with nothing to
 * retain the move of a finished task to the archive (a failed move is left
 * to the next sweep: the change itself stands).
 */
static void
changed(struct bus *b, const struct coord_cfg *cfg, const struct opctx *op, const struct task *t,
	enum coord_event kind, const char *by)
{
	publish_event(b, op, t, kind, by);
	queue_ready(b, cfg, t);
	if (cfg->archive && cfg->retain_ms == 0 && finished(t->state))
		coord_archive_move(b, cfg, t, NULL);
}

/* --- records ------------------------------------------------------------ */

/* Is id usable as a task id, and so as a KV key? what names it in the error. */
static enum status
check_id(const char *id, const char *what, struct err *e)
{
	if (!task_id_valid(id) || !bus_kv_key_valid(id))
		return err_set(e, ST_BAD_VALUE, "invalid %s '%s': use 1-128 letters, digits, '-', "
			       "'_' or '.', no '..' and no '.' at either end", what, id);
	return ST_OK;
}

/*
 * What the parser cannot know: the key. A record stored under a key that
 * is not a task id, or naming another task, is not one the coordinator may
 * act on (task_from_json checked the fields, their ranges and defaults).
 * Writes the fault into why; false when there is one.
 */
static bool
record_sane(const struct task *t, const char *key, char *why, size_t n)
{
	if (!task_id_valid(key) || !bus_kv_key_valid(key))
		snprintf(why, n, "its key is not a valid task id");
	else if (strcmp(t->id, key) != 0)
		snprintf(why, n, "its id '%.128s' is not its key", t->id);
	else
		return true;
	return false;
}

/* See coord.h. */
enum status
coord_record_parse(const char *key, const char *json, size_t len, struct task *t, struct err *e)
{
	char why[ERR_MSG_MAX];
	struct err pe = ERR_INIT;

	if (task_from_json(json, len, t, &pe) != ST_OK)
		return err_set(e, ST_INVALID_RECORD, "%s", pe.msg);
	if (record_sane(t, key, why, sizeof why))
		return ST_OK;
	task_release(t);
	return err_set(e, ST_INVALID_RECORD, "%s", why);
}

/* Free what v holds. */
void
coord_invalid_release(struct coord_invalid *v)
{
	free(v->key);
	free(v->reason);
	memset(v, 0, sizeof *v);
}

enum status
coord_read(struct bus *b, const struct coord_cfg *cfg, const char *id, struct task *out,
	   struct coord_invalid *bad, struct err *e)
{
	struct bus_kv_entry ent = BUS_KV_ENTRY_INIT;
	struct err why = ERR_INIT;
	enum status st;
	bool archived;

	task_init(out);
	if (bad)
		memset(bad, 0, sizeof *bad);
	if ((st = check_id(id, "task id", e)) != ST_OK)
		return st;
	st = bus_kv_get(b, cfg->bucket, id, &ent, e);
	if (st == ST_NOT_FOUND && cfg->archive) {	/* finished and moved: one more get */
		st = bus_kv_get(b, cfg->archive, id, &ent, e);
		out->archived = st == ST_OK;
		if (st == ST_NO_SCHEMA)
			st = ST_NOT_FOUND;	/* no archive yet */
	}
	if (st == ST_NOT_FOUND)
		err_set(e, ST_NOT_FOUND, "task '%s' not found", id);
	archived = out->archived;
	if (st == ST_OK && (st = coord_record_parse(id, ent.value.s, ent.value.len, out, &why)) == ST_OK) {
		out->rev = ent.revision;
		out->archived = archived;
	}
	if (st == ST_INVALID_RECORD && bad) {
		bad->key = xstrdup(id);
		bad->rev = ent.revision;
		bad->reason = xstrdup(why.msg);
		st = ST_OK;
	} else if (st == ST_INVALID_RECORD) {
		err_set(e, st, "task '%s' has an invalid record (revision %llu): %s", id,
			(unsigned long long)ent.revision, why.msg);
	}
	buf_release(&ent.value);
	return st;
}

enum status
coord_get(struct bus *b, const struct coord_cfg *cfg, const char *id, struct task *out,
	  struct err *e)
{
	return coord_read(b, cfg, id, out, NULL, e);
}

/* --- push --------------------------------------------------------------- */

enum status
coord_check_spec(const struct task_spec *s, struct err *e)
{
	size_t i;
	enum status st;

	if (s->id && (st = check_id(s->id, "task id", e)) != ST_OK)
		return st;
	if (s->priority < 0 || s->priority > TASK_PRIORITY_MAX)
		return err_set(e, ST_BAD_VALUE, "priority %d is out of range 0..%d", s->priority,
			       TASK_PRIORITY_MAX);
	if (!(s->budget >= 0) || s->budget > 1e15)
		return err_set(e, ST_BAD_VALUE, "budget %g is out of range (0 or more)", s->budget);
	if (s->max_attempts < 0 || s->max_attempts > TASK_ATTEMPTS_MAX)
		return err_set(e, ST_BAD_VALUE, "max attempts %d is out of range 1..%d",
			       s->max_attempts, TASK_ATTEMPTS_MAX);
	for (i = 0; i < s->ncaps; i++)
		if (!capability_name_valid(s->caps[i]))	/* category:name (capability.h) */
			return err_set(e, ST_BAD_VALUE, "invalid capability name '%s'", s->caps[i]);
	if (s->to && !task_id_valid(s->to))
		return err_set(e, ST_BAD_VALUE, "invalid swarm id '%s'", s->to);
	if (s->payload)
		return json_check(s->payload, "payload", e);
	return ST_OK;
}

/* The KV key that records which task an idempotency key created. */
static char *
idem_key(const char *idem)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	char hex[2 * sizeof h + 1];

	crypto_hash_sha256(h, (const unsigned char *)idem, strlen(idem));
	hex_encode(hex, h, 16);
	return xasprintf(COORD_IDEM_PREFIX "%s", hex);
}

static void
task_from_spec(struct task *t, const struct task_spec *s, const struct coord_cfg *cfg,
	       const struct opctx *op, const char *id)
{
	size_t i;

	task_init(t);
	t->id = xstrdup(id);
	t->title = xstrdup(s->title ? s->title : "");
	t->caps = xcalloc(s->ncaps + 1, sizeof *t->caps);
	for (i = 0; i < s->ncaps; i++)
		t->caps[i] = xstrdup(s->caps[i]);
	t->ncaps = s->ncaps;
	t->priority = s->priority;
	t->budget = s->budget;
	t->payload = xstrdup_or_null(s->payload);
	t->idem = xstrdup_or_null(s->idem);
	t->to = xstrdup_or_null(s->to);
	t->state = TASK_QUEUED;
	t->max_attempts = s->max_attempts ? s->max_attempts : cfg->max_attempts;
	t->created = t->updated = wall_ms();
	t->trace = xstrdup(op->trace_id);
	task_history_add(t, t->created, TASK_QUEUED, op->actor ? op->actor : "operator", 0,
			 op->justification);
}

/*
 * A record grows after the push (history, owner, reason, result): it must
 * leave this much of the server's max payload free, or its first claim
 * could not be written back.
 */
#define RECORD_HEADROOM 65536

/* Does a new record of len bytes fit the server? */
static enum status
check_size(struct bus *b, const char *id, size_t len, struct err *e)
{
	int64_t max = bus_max_payload(b);

	if (max > 0 && (int64_t)len > max - RECORD_HEADROOM)
		return err_set(e, ST_BAD_VALUE, "task '%s' would be %zu bytes: the server takes "
			       "at most %lld (its max payload), less %d kept for the record to "
			       "grow; make the payload smaller or store it elsewhere and pass a "
			       "reference", id, len, (long long)max, RECORD_HEADROOM);
	return ST_OK;
}

/*
 * The task an idempotency key's entry names, if that task was made with the
 * key. ST_NOT_FOUND when the entry names nothing usable: a malformed id, no
 * task, or a task made without this key (the push that wrote the entry
 * failed, and the id was reused).
 */
static enum status
idem_target(struct bus *b, const struct coord_cfg *cfg, const char *idem,
	    const char *id, struct task *out, struct err *e)
{
	enum status st;

	task_init(out);
	if (check_id(id, "task id", NULL) != ST_OK)
		return ST_NOT_FOUND;
	if ((st = coord_get(b, cfg, id, out, e)) != ST_OK)
		return st;
	if (out->idem && strcmp(out->idem, idem) == 0)
		return ST_OK;
	task_release(out);
	return ST_NOT_FOUND;
}

#define IDEM_GRACE_MS 1000	/* beyond the bus timeout: the first push's task lands */
#define IDEM_TRIES 16		/* lost races for the key before giving up */

/*
 * Take the idempotency key for the task id. When the key names a task made
 * with it, that task is put in *out and *existed set. A key that names
 * nothing (its push failed after taking it) is stranded: once the push that
 * wrote it can no longer land its task (the bus timeout plus a grace), the
 * key is moved to id by compare-and-swap, so a failed push never poisons
 * the key. A push that finds the key young waits that long for the task.
 */
static enum status
idem_take(struct bus *b, const struct coord_cfg *cfg, const char *idem, const char *ikey,
	  const char *id, struct task *out, bool *existed, struct err *e)
{
	struct bus_kv_entry ent = BUS_KV_ENTRY_INIT;
	int64_t grace = bus_timeout_ms(b) + IDEM_GRACE_MS, deadline = mono_ms() + grace;
	enum status st = ST_CONFLICT;
	int tries = 0;

	while (tries++ < IDEM_TRIES) {
		st = bus_kv_create(b, cfg->bucket, ikey, id, strlen(id), NULL, e);
		if (st != ST_EXISTS)
			break;			/* ours, or a failure */
		st = bus_kv_get(b, cfg->bucket, ikey, &ent, e);
		if (st == ST_NOT_FOUND)
			continue;		/* deleted meanwhile: create again */
		if (st == ST_OK)
			st = idem_target(b, cfg, idem, ent.value.s, out, e);
		if (st == ST_OK)
			*existed = true;
		if (st != ST_NOT_FOUND)
			break;
		if (wall_ms() - ent.created_ns / 1000000 < grace && mono_ms() < deadline) {
			usleep(20 * 1000);	/* its push may still be writing the task */
			tries--;
			continue;
		}
		st = bus_kv_update(b, cfg->bucket, ikey, id, strlen(id), ent.revision, NULL, e);
		if (st != ST_CONFLICT)
			break;			/* repaired, or a failure */
	}
	buf_release(&ent.value);
	if (st == ST_CONFLICT)
		err_set(e, st, "idempotency key '%s' keeps changing; try again", idem);
	return st;
}

/* The push checks of --mode=falsify: the spec, the size, a free id. */
static void
push_falsify(struct bus *b, const struct coord_cfg *cfg, struct opctx *op, const char *id,
	     size_t len)
{
	struct err e = ERR_INIT;
	struct task cur;
	enum status st;

	st = check_size(b, id, len, &e);
	check(op, "record fits the server", st, &e, NULL);
	st = coord_get(b, cfg, id, &cur, NULL);
	check(op, "id is free", st == ST_NOT_FOUND ? ST_OK : ST_EXISTS, NULL,
	      st == ST_NOT_FOUND ? id : "a task with this id exists");
	if (st == ST_OK)
		task_release(&cur);
}

/*
 * Order of writes: everything that can be checked is checked first (spec,
 * id, size); then the idempotency key is taken, then the task created. A
 * failure in between leaves a key that names nothing, which the next push
 * with the key repairs (idem_take); a definite refusal of the task removes
 * the key at once.
 */
enum status
coord_push(struct bus *b, const struct coord_cfg *cfg, struct opctx *op,
	   const struct task_spec *s, struct task *out, bool *existed, struct err *e)
{
	struct buf json = BUF_INIT;
	struct task t;
	char gen[33], *id, *ikey = NULL;
	enum status st;

	*existed = false;
	task_init(out);
	st = coord_check_spec(s, e);
	if (!check(op, "task is valid", st, e, NULL))
		return st;
	if (st != ST_OK)
		return ST_OK;	/* falsify: nothing more can be checked */
	trace_id_new(gen);
	id = s->id ? xstrdup(s->id) : xasprintf("t-%.12s", gen);
	task_from_spec(&t, s, cfg, op, id);
	st = task_encode(&t, &json, e);	/* a title that is not UTF-8 would not read back */
	if (st != ST_OK) {
		if (check(op, "task can be stored", st, e, NULL))
			st = ST_OK;	/* falsify: the failed check decides */
		goto out;
	}
	if (op->falsify) {
		push_falsify(b, cfg, op, id, json.len);
		goto out;
	}
	if ((st = check_size(b, id, json.len, e)) != ST_OK ||
	    (st = opctx_may_write(op, "push a task", e)) != ST_OK)
		goto out;
	if (s->idem) {
		ikey = idem_key(s->idem);
		st = idem_take(b, cfg, s->idem, ikey, id, out, existed, e);
		if (st != ST_OK || *existed)
			goto out;
	}
	st = bus_kv_create(b, cfg->bucket, id, json.s, json.len, &t.rev, e);
	if (st == ST_EXISTS)
		err_set(e, ST_EXISTS, "task '%s' already exists", id);
	if (st != ST_OK && ikey && st != ST_TIMEOUT && st != ST_DISCONNECTED)
		bus_kv_delete(b, cfg->bucket, ikey, NULL);	/* refused: free the key */
	if (st == ST_OK) {
		changed(b, cfg, op, &t, COORD_EV_PUSH, op->actor);
		*out = t;
		task_init(&t);
	}
out:
	task_release(&t);
	buf_release(&json);
	free(ikey);
	free(id);
	return st;
}

/*
 * Write t back only if its revision is still t->rev; t->rev becomes the new
 * one. The JSON written is left in *written when that is not NULL.
 */
static enum status
cas_write(struct bus *b, const struct coord_cfg *cfg, struct task *t, struct buf *written,
	  struct err *e)
{
	struct buf own = BUF_INIT, *json = written ? written : &own;
	uint64_t rev = 0;
	enum status st;

	buf_reset(json);
	st = task_encode(t, json, e);	/* never write what cannot be read back */
	if (st == ST_OK)
		st = bus_kv_update(b, cfg->bucket, t->id, json->s, json->len, t->rev, &rev, e);
	if (st == ST_OK)
		t->rev = rev;
	buf_release(&own);
	return st;
}

/* --- the claim index ---------------------------------------------------- */

/*
 * The process's view of the bucket for claims: a ready index (readyq.h)
 * fed by one KV watch, under a mutex, with a condition for waiters.
 */
struct coord_index {
	pthread_mutex_t mu;
	pthread_cond_t cv;		/* broadcast on every change */
	struct bus_watch *watch;
	struct readyq *q;
	bool snapshot;			/* the watch has delivered the bucket */
	uint64_t seen_rev;		/* the highest revision the watch delivered */
	int64_t restart_ms;		/* when ix_refresh last restarted the watch */
};

/*
 * The watch's callback: take in a put or a delete. A record is parsed
 * before the index is locked, so claimers' picks do not wait on the parse.
 */
static void
ix_on_event(void *arg, const struct bus_kv_event *ev)
{
	struct coord_index *ix = arg;
	bool task = !ev->snapshot_done && !has_prefix(ev->key, COORD_IDEM_PREFIX);
	bool valid = false;
	struct task t;

	if (task && ev->op == BUS_KV_PUT)
		valid = coord_record_parse(ev->key, ev->value, ev->len, &t, NULL) == ST_OK;
	pthread_mutex_lock(&ix->mu);
	if (ev->revision > ix->seen_rev)
		ix->seen_rev = ev->revision;
	if (ev->snapshot_done)
		ix->snapshot = true;
	else if (valid)
		readyq_update(ix->q, ev->key, &t, ev->value, ev->len, ev->revision);
	else if (task)		/* a delete, or a record that is not a task: never offered */
		readyq_drop(ix->q, ev->key, ev->revision);
	if (ix->snapshot)	/* while the snapshot loads only its end is waited for */
		pthread_cond_broadcast(&ix->cv);
	pthread_mutex_unlock(&ix->mu);
	if (valid)
		task_release(&t);
}

#define IX_BEHIND_MS 5000	/* a write the watch has not delivered this long after */

/*
 * Read key again after a claim lost on revision lost, and take in what it
 * holds now. A direct get may be answered by a replica that is behind, or
 * (nats-server 2.9, after a leader change) whose sequence numbers no longer
 * match the leader's: an answer no newer than lost cannot be what won, so
 * then the stream's leader is asked, and its answer replaces what the index
 * knew whatever the revision. The watch's consumer lives on such a replica
 * when the leader's revision is one the watch never delivered, written long
 * ago, or lower than the one the index knew: it is re-created, at most once
 * per IX_BEHIND_MS.
 */
static void
ix_refresh(struct bus *b, const struct coord_cfg *cfg, struct coord_index *ix, const char *key,
	   uint64_t lost)
{
	struct bus_kv_entry ent = BUS_KV_ENTRY_INIT;
	enum status st = bus_kv_get(b, cfg->bucket, key, &ent, NULL);
	int64_t now = mono_ms();
	bool leader = false, behind = false;

	if (st == ST_OK && ent.revision <= lost) {
		st = bus_kv_get_leader(b, cfg->bucket, key, &ent, NULL);
		leader = true;
	}
	pthread_mutex_lock(&ix->mu);
	if (st == ST_OK && leader) {
		uint64_t known = readyq_replace(ix->q, key, ent.value.s, ent.value.len, ent.revision);
		behind = known > ent.revision || (ent.revision > ix->seen_rev &&
			 wall_ms() - ent.created_ns / 1000000 > IX_BEHIND_MS);
	} else if (st == ST_OK) {
		readyq_put(ix->q, key, ent.value.s, ent.value.len, ent.revision);
	} else if (st == ST_NOT_FOUND) {
		readyq_drop(ix->q, key, 0);
	}
	if (behind && now - ix->restart_ms > IX_BEHIND_MS)
		ix->restart_ms = now;
	else
		behind = false;
	pthread_cond_broadcast(&ix->cv);
	pthread_mutex_unlock(&ix->mu);
	if (behind)	/* the watch's replica is behind or numbers otherwise */
		bus_watch_restart(ix->watch);
	buf_release(&ent.value);
}

#define INDEX_LOAD_MS 30000	/* beyond the bus timeout: a large bucket's snapshot */

enum status
coord_index_open(struct bus *b, const struct coord_cfg *cfg, struct coord_index **out,
		 struct err *e)
{
	struct coord_index *ix = xcalloc(1, sizeof *ix);
	struct timespec ts = deadline_ts(INDEX_LOAD_MS + bus_timeout_ms(b));
	enum status st;

	pthread_mutex_init(&ix->mu, NULL);
	pthread_cond_init(&ix->cv, NULL);
	ix->q = readyq_new();
	st = bus_kv_watch(b, cfg->bucket, 0, ix_on_event, ix, &ix->watch, e);
	if (st != ST_OK) {
		coord_index_free(ix);
		return st;
	}
	pthread_mutex_lock(&ix->mu);
	while (!ix->snapshot && pthread_cond_timedwait(&ix->cv, &ix->mu, &ts) == 0)
		;
	st = ix->snapshot ? ST_OK : err_set(e, ST_TIMEOUT, "the task list did not load in time");
	pthread_mutex_unlock(&ix->mu);
	if (st != ST_OK) {
		coord_index_free(ix);
		return st;
	}
	*out = ix;
	return ST_OK;
}

void
coord_index_free(struct coord_index *ix)
{
	if (ix == NULL)
		return;
	bus_watch_free(ix->watch);
	readyq_free(ix->q);
	pthread_cond_destroy(&ix->cv);
	pthread_mutex_destroy(&ix->mu);
	free(ix);
}

void
coord_index_wait(struct coord_index *ix, int64_t ms)
{
	struct timespec ts = deadline_ts(ms);

	pthread_mutex_lock(&ix->mu);
	pthread_cond_timedwait(&ix->cv, &ix->mu, &ts);
	pthread_mutex_unlock(&ix->mu);
}

void
coord_index_each(struct coord_index *ix, void (*fn)(void *arg, const char *json, size_t len),
		 void *arg)
{
	pthread_mutex_lock(&ix->mu);
	readyq_each(ix->q, fn, arg);
	pthread_mutex_unlock(&ix->mu);
}

size_t
coord_index_size(struct coord_index *ix)
{
	size_t n;

	pthread_mutex_lock(&ix->mu);
	n = readyq_size(ix->q);
	pthread_mutex_unlock(&ix->mu);
	return n;
}

/* --- archive ------------------------------------------------------------ */

/*
 * Bring the archived task t (requeued: t->rev is its archive revision)
 * back to the live bucket: created there first, then removed from the
 * archive by CAS; t->rev becomes its live revision. A crash in between
 * leaves it in both, and readers take the live record.
 */
static enum status
restore(struct bus *b, const struct coord_cfg *cfg, struct task *t, struct err *e)
{
	struct buf json = BUF_INIT;
	uint64_t arev = t->rev;
	enum status st;

	if ((st = task_encode(t, &json, e)) == ST_OK &&
	    (st = bus_kv_create(b, cfg->bucket, t->id, json.s, json.len, &t->rev, e)) == ST_OK) {
		t->archived = false;
		bus_kv_remove(b, cfg->archive, t->id, arev, NULL);
	}
	if (st == ST_EXISTS)
		st = err_set(e, ST_CONFLICT, "task '%s' is live again", t->id);
	buf_release(&json);
	return st;
}

/*
 * One task of a move: its id and live revision as read, its record for the
 * archive, and its outcome st: ST_OK moved; ST_CONFLICT (changed since
 * read) or ST_BAD_VALUE (no record the archive takes): it stays live;
 * anything else: the move failed, the task is live, archived or both.
 */
struct move {
	char *id;
	uint64_t rev;		/* live revision read */
	struct buf json;	/* the record for the archive */
	uint64_t arev;		/* archive revision written */
	enum status st;
};

#define MOVE_BATCH 256		/* moves pipelined at a time */

/* Take t (as read) into mv; st is the encoding's outcome. */
static void
move_init(struct move *mv, const struct task *t, struct err *e)
{
	*mv = (struct move){ xstrdup(t->id), t->rev, BUF_INIT, 0, ST_OK };
	mv->st = task_encode(t, &mv->json, e);
}

/* Free mv and the n moves in it. */
static void
moves_free(struct move *mv, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(mv[i].id);
		buf_release(&mv[i].json);
	}
	free(mv);
}

/*
 * Step (1) or (2) of the moves still under way (st ST_OK): the archive
 * copies (remove false) or the live keys' removals on their revisions;
 * each move's st becomes its step's outcome. The step's failure in *first
 * when none came before.
 */
static void
move_step(struct bus *b, const struct coord_cfg *cfg, struct move *mv, size_t n, bool remove,
	  enum status *first, struct err *e)
{
	struct bus_kv_item *it = xcalloc(n ? n : 1, sizeof *it);
	size_t *at = xcalloc(n ? n : 1, sizeof *at), i, k = 0;
	struct err se = ERR_INIT;
	enum status st;

	for (i = 0; i < n; i++)
		if (mv[i].st == ST_OK) {
			it[k] = (struct bus_kv_item){ .key = mv[i].id, .data = mv[i].json.s,
						      .len = mv[i].json.len, .rev = mv[i].rev };
			at[k++] = i;
		}
	st = remove ? bus_kv_remove_many(b, cfg->bucket, it, k, &se) :
		      bus_kv_put_many(b, cfg->archive, it, k, &se);
	for (i = 0; i < k; i++) {
		mv[at[i]].st = it[i].st;
		if (!remove)
			mv[at[i]].arev = it[i].seq;
	}
	if (st != ST_OK && *first == ST_OK) {
		*first = st;
		if (e)
			*e = se;
	}
	free(it);
	free(at);
}

/*
 * Step (3): the moves refused at (2) changed since read. A key live again
 * keeps its task live: the archive copy goes, by CAS on its revision (not
 * if rewritten since). A key gone was moved by another mover: moved. One
 * that cannot be read counts as gone (it may then be in both, which
 * readers take as live).
 */
static void
move_settle(struct bus *b, const struct coord_cfg *cfg, struct move *mv, size_t n)
{
	struct bus_direct *q = xcalloc(n ? n : 1, sizeof *q);
	struct bus_kv_item *it = xcalloc(n ? n : 1, sizeof *it);
	size_t *at = xcalloc(n ? n : 1, sizeof *at), i, k = 0, m = 0;
	char *stream = xasprintf("KV_%s", cfg->bucket);

	for (i = 0; i < n; i++)
		if (mv[i].st == ST_CONFLICT) {
			q[k].subject = xasprintf("$KV.%s.%s", cfg->bucket, mv[i].id);
			at[k++] = i;
		}
	if (k)
		bus_direct_get_many(b, stream, q, k, NULL);
	for (i = 0; i < k; i++) {
		if (q[i].st == ST_OK && q[i].op == BUS_KV_PUT)
			it[m++] = (struct bus_kv_item){ .key = mv[at[i]].id, .rev = mv[at[i]].arev };
		else
			mv[at[i]].st = ST_OK;
		free((char *)q[i].subject);
		bus_direct_release(&q[i]);
	}
	if (m)
		bus_kv_remove_many(b, cfg->archive, it, m, NULL);
	free(stream);
	free(q);
	free(it);
	free(at);
}

/*
 * Move mv[0..n) to the archive, each step pipelined over all of them: (1)
 * every archive copy, then (2) every live key removed by CAS on the
 * revision read (a purge marker, then the key's messages purged), then (3)
 * the refused ones settled. A task's own order is that of one move, so a
 * crash between any two steps leaves each task live, archived or both,
 * never neither. Returns the first step's failure (e set); each move's
 * outcome is in its st.
 */
static enum status
move_batch(struct bus *b, const struct coord_cfg *cfg, struct move *mv, size_t n,
	   struct err *e)
{
	enum status first = ST_OK;

	move_step(b, cfg, mv, n, false, &first, e);
	move_step(b, cfg, mv, n, true, &first, e);
	move_settle(b, cfg, mv, n);
	return first;
}

/* Count mv[0..n)'s outcomes: moved, or changed meanwhile (stays live). */
static void
moves_count(const struct move *mv, size_t n, bool falsify, size_t *moved, size_t *raced)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (falsify || mv[i].st == ST_OK)
			(*moved)++;
		else if (mv[i].st == ST_CONFLICT || mv[i].st == ST_BAD_VALUE)
			(*raced)++;
}

/*
 * Run mv[0..n), MOVE_BATCH at a time, until a batch fails (falsify: none
 * runs, every one counts as moved).
 */
static enum status
moves_run(struct bus *b, const struct coord_cfg *cfg, struct move *mv, size_t n, bool falsify,
	  size_t *moved, size_t *raced, struct err *e)
{
	enum status st = ST_OK;
	size_t i, k;

	*moved = *raced = 0;
	for (i = 0; i < n && st == ST_OK; i += k) {
		k = n - i < MOVE_BATCH ? n - i : MOVE_BATCH;
		if (!falsify)
			st = move_batch(b, cfg, &mv[i], k, e);
		moves_count(&mv[i], k, falsify, moved, raced);
	}
	return st;
}

enum status
coord_archive_move_many(struct bus *b, const struct coord_cfg *cfg, const struct task *t,
			size_t n, size_t *moved, size_t *raced, struct err *e)
{
	struct move *mv = xcalloc(n ? n : 1, sizeof *mv);
	enum status st;
	size_t i;

	for (i = 0; i < n; i++)
		move_init(&mv[i], &t[i], NULL);
	st = moves_run(b, cfg, mv, n, false, moved, raced, e);
	moves_free(mv, n);
	return st;
}

enum status
coord_archive_move(struct bus *b, const struct coord_cfg *cfg, const struct task *t,
		   struct err *e)
{
	struct move *mv = xcalloc(1, sizeof *mv);
	enum status st;

	move_init(mv, t, e);
	if (mv->st == ST_OK && (st = move_batch(b, cfg, mv, 1, e)) != ST_OK)
		mv->st = st;
	else if (mv->st == ST_CONFLICT)
		err_set(e, ST_CONFLICT, "task '%s' changed since it was read", t->id);
	else if (mv->st == ST_BAD_VALUE && mv->json.len)
		err_set(e, ST_BAD_VALUE, "task '%s': the archive does not take its record of %zu "
			"bytes", t->id, mv->json.len);
	st = mv->st;
	moves_free(mv, 1);
	return st;
}

/* --- claim -------------------------------------------------------------- */

/* May c take t now? Evidence in why when it may not. */
static bool
claimable(const struct task *t, const struct claimer *c, int64_t now, const char **why)
{
	if (t->state == TASK_CLAIMED && t->lease_until > now)
		*why = "claimed, lease running";
	else if (t->state != TASK_QUEUED && t->state != TASK_CLAIMED)
		*why = "finished";
	else if (t->state == TASK_QUEUED && t->not_before > now)
		*why = "retry backoff";
	else if (t->to && strcmp(t->to, c->swarm) != 0)
		*why = "pushed to another swarm";
	else if (!task_caps_ok(t, c->caps, c->ncaps))
		*why = "capability missing";
	else
		return true;
	return false;
}

/* An expired lease with no attempt left: the task dies. */
static enum status
claim_kill(struct bus *b, const struct coord_cfg *cfg, struct opctx *op, struct task *t,
	   int64_t now, struct err *e)
{
	char note[128];

	snprintf(note, sizeof note, "lease expired after %d of %d attempts", t->attempts,
		 t->max_attempts);
	t->state = TASK_DEAD;
	free(t->reason);
	t->reason = xstrdup(note);
	t->updated = now;
	task_history_add(t, now, TASK_DEAD, COORD_ACTOR, t->token, note);
	if (cas_write(b, cfg, t, NULL, e) != ST_OK)
		return ST_CONFLICT;
	changed(b, cfg, op, t, COORD_EV_DEAD, COORD_ACTOR);
	return ST_OK;
}

/* Try to claim the task whose record is json at rev. ST_CONFLICT: lost the race. */
static enum status
claim_one(struct bus *b, const struct coord_cfg *cfg, struct opctx *op,
	  const struct claimer *c, const struct readyq_pick *p, struct task *out,
	  struct buf *written, struct err *e)
{
	int64_t now = wall_ms();
	const char *why = NULL;
	bool takeover;
	enum status st;

	if ((st = coord_record_parse(p->id, p->json, p->len, out, e)) != ST_OK)
		return st;
	out->rev = p->rev;
	if (!claimable(out, c, now, &why))
		return ST_CONFLICT;
	takeover = out->state == TASK_CLAIMED;
	if (out->attempts >= out->max_attempts)
		return claim_kill(b, cfg, op, out, now, e) == ST_OK ? ST_NOT_FOUND : ST_CONFLICT;
	{
		char when[32];
		fmt_time_ms(when, out->created);
		why_add(op, "task", out->id, "priority %d, queued at %s%s", out->priority, when,
			takeover ? ", the previous owner's lease expired" : "");
	}
	if (op->falsify) {
		check(op, "a task is claimable", ST_OK, NULL, out->id);
		return ST_OK;
	}
	out->token = p->rev;	/* the revision the claim is made on */
	free(out->owner);
	out->owner = xstrdup(c->swarm);
	out->state = TASK_CLAIMED;
	out->attempts++;
	out->lease_until = now + cfg->lease_ms;
	out->updated = now;
	task_history_add(out, now, TASK_CLAIMED, c->swarm, out->token,
			 takeover ? "lease takeover" : NULL);
	if ((st = cas_write(b, cfg, out, written, e)) != ST_OK)
		return st;
	publish_event(b, op, out, takeover ? COORD_EV_TAKEOVER : COORD_EV_CLAIM, c->swarm);
	return ST_OK;
}

/*
 * Is st a failure of this one task (not of the server or the caller)? Then
 * the claim reads the task again and goes on to the next: a lost race, an
 * index behind the server, a record that became invalid or cannot grow.
 */
static bool
task_local(enum status st)
{
	return st == ST_CONFLICT || st == ST_NOT_FOUND || st == ST_INVALID_RECORD ||
	       st == ST_BAD_VALUE;
}

#define CLAIM_RACES_MAX 1000	/* lost races before a claim gives up */

/*
 * Settle the index after claim_one ended with st on key: a record that
 * cannot be written back is dropped, a lost race or stale view is read
 * again, a claim made is taken in at once; then the pick is no longer in
 * flight.
 */
static void
claim_settle(struct bus *b, const struct coord_cfg *cfg, struct coord_index *ix,
	     const struct opctx *op, const struct readyq_pick *p, enum status st,
	     const struct task *t, const struct buf *written)
{
	const char *key = p->id;

	if (task_local(st) && st != ST_BAD_VALUE)
		ix_refresh(b, cfg, ix, key, p->rev);	/* read the truth, go on */
	pthread_mutex_lock(&ix->mu);
	if (st == ST_BAD_VALUE)		/* valid, but cannot be written back */
		readyq_drop(ix->q, key, 0);
	else if (st == ST_OK && !op->falsify)
		readyq_update(ix->q, key, t, written->s, written->len, t->rev);
	readyq_unmark(ix->q, key);
	if (st != ST_OK)	/* the task may be ready again: waiters look */
		pthread_cond_broadcast(&ix->cv);
	pthread_mutex_unlock(&ix->mu);
}

enum status
coord_claim(struct bus *b, struct coord_index *ix, const struct coord_cfg *cfg,
	    struct opctx *op, const struct claimer *c, struct task *out, struct err *e)
{
	struct readyq_pick pick = { 0 };
	struct buf written = BUF_INIT;	/* the record a successful claim wrote */
	int tries = 0;
	enum status st;
	bool found;

	task_init(out);
	if ((st = opctx_may_write(op, "claim", e)) != ST_OK && !op->falsify)
		return st;
	for (;;) {
		pthread_mutex_lock(&ix->mu);
		found = readyq_pick(ix->q, c, wall_ms(), &pick);
		pthread_mutex_unlock(&ix->mu);
		if (!found) {
			if (op->falsify)
				check(op, "a task is claimable", ST_NOT_FOUND, NULL,
				      "no ready task fits this swarm");
			st = err_set(e, ST_NOT_FOUND, "no ready task for swarm '%s'", c->swarm);
			break;
		}
		st = claim_one(b, cfg, op, c, &pick, out, &written, e);
		claim_settle(b, cfg, ix, op, &pick, st, out, &written);
		readyq_pick_release(&pick);
		if (!task_local(st)) {
			if (st != ST_OK)
				task_release(out);
			break;
		}
		task_release(out);
		if (++tries > CLAIM_RACES_MAX) {
			char last[ERR_MSG_MAX / 2];
			snprintf(last, sizeof last, "%.200s", e ? e->msg : "");
			st = err_set(e, ST_CONFLICT, "gave up claiming after %d lost races (the "
				     "last: %s)", CLAIM_RACES_MAX, last);
			break;
		}
	}
	buf_release(&written);
	return st;
}

/* --- owner operations --------------------------------------------------- */

static const enum coord_event owner_events[] = {
	[OWNER_HEARTBEAT] = COORD_EV_HEARTBEAT, [OWNER_COMPLETE] = COORD_EV_COMPLETE,
	[OWNER_FAIL] = COORD_EV_FAIL, [OWNER_RELEASE] = COORD_EV_RELEASE,
};

/* The verb an owner operation is named by in messages and events. */
static const char *
verb_name(enum owner_verb v)
{
	return coord_event_name(owner_events[v]);
}

/*
 * The checks every owner operation makes, in order; each is recorded. In
 * normal mode the first failure ends the operation with its message.
 */
static enum status
owner_checks(struct opctx *op, const struct owner_req *r, const struct task *t,
	     int64_t now, struct err *e)
{
	struct err ce = ERR_INIT;	/* why the failing check failed */
	char when[32];
	enum status st;

	st = t->state == TASK_CLAIMED ? ST_OK : err_set(&ce, ST_NOT_OWNER,
		"it is %s%s%s%s, not claimed", task_state_name(t->state), t->reason ? " (" : "",
		t->reason ? t->reason : "", t->reason ? ")" : "");
	if (!check(op, "task is claimed", st, &ce, NULL))
		goto out;
	st = t->owner && strcmp(t->owner, r->swarm) == 0 ? ST_OK : err_set(&ce, ST_NOT_OWNER,
		"claimed by '%s' (fencing token %llu), not by '%s'", t->owner ? t->owner : "",
		(unsigned long long)t->token, r->swarm);
	if (!check(op, "caller owns it", st, &ce, NULL))
		goto out;
	st = t->token == r->token ? ST_OK : err_set(&ce, ST_NOT_OWNER,
		"stale fencing token %llu: '%s' holds it with token %llu",
		(unsigned long long)r->token, t->owner ? t->owner : "", (unsigned long long)t->token);
	if (!check(op, "fencing token is current", st, &ce, NULL))
		goto out;
	fmt_time_ms(when, t->lease_until);
	st = t->lease_until > now ? ST_OK : err_set(&ce, ST_NOT_OWNER, "the lease expired at %s",
						    when);
	check(op, "lease has not expired", st, &ce, NULL);
out:
	if (ce.code != ST_OK && e) {	/* normal mode stops at the first failure */
		*e = ce;
		err_prefix(e, "cannot %s task '%s'", verb_name(r->verb), r->id);
	}
	return ce.code;
}

/* Apply the verb to t. */
static const char *
owner_apply(const struct coord_cfg *cfg, const struct owner_req *r, struct task *t,
	    int64_t now)
{
	switch (r->verb) {
	case OWNER_HEARTBEAT:
		t->lease_until = now + cfg->lease_ms;
		return NULL;
	case OWNER_COMPLETE:
		t->state = TASK_DONE;
		free(t->result);
		t->result = xstrdup_or_null(r->result);
		t->lease_until = 0;
		return NULL;
	case OWNER_RELEASE:
		t->state = TASK_QUEUED;
		t->attempts--;		/* a polite release costs no attempt */
		free(t->owner);
		t->owner = NULL;
		t->lease_until = 0;
		return NULL;
	case OWNER_FAIL:
		free(t->reason);
		t->reason = xstrdup(r->reason ? r->reason : "failed");
		t->lease_until = 0;
		if (r->no_retry) {
			t->state = TASK_FAILED;
		} else if (t->attempts >= t->max_attempts) {
			t->state = TASK_DEAD;
		} else {
			int64_t d = cfg->retry_backoff_ms;
			int i;
			for (i = 1; i < t->attempts && d < TASK_BACKOFF_MAX_MS; i++)
				d *= 2;
			t->state = TASK_QUEUED;
			t->not_before = now + d;
			free(t->owner);
			t->owner = NULL;
		}
		return t->reason;
	}
	return NULL;
}

enum status
coord_owner(struct bus *b, const struct coord_cfg *cfg, struct opctx *op,
	    const struct owner_req *r, struct task *out, struct err *e)
{
	enum status st;
	int tries;

	if (r->verb == OWNER_COMPLETE && r->result &&
	    (st = json_check(r->result, "result", e)) != ST_OK)
		return st;
	if ((st = opctx_may_write(op, verb_name(r->verb), e)) != ST_OK && !op->falsify)
		return st;
	for (tries = 0; tries < 5; tries++) {
		int64_t now = wall_ms();
		const char *note;

		st = coord_get(b, cfg, r->id, out, e);
		if (!check(op, "task exists", st, e, r->id))
			return st;
		if (st != ST_OK)
			return ST_OK;	/* falsify: nothing more can be checked */
		st = owner_checks(op, r, out, now, e);
		if (op->falsify)
			return ST_OK;
		if (st != ST_OK) {
			task_release(out);
			return st;
		}
		note = owner_apply(cfg, r, out, now);
		out->updated = now;
		if (r->verb != OWNER_HEARTBEAT)	/* leases renew often; history keeps changes */
			task_history_add(out, now, out->state, r->swarm, out->token, note);
		st = cas_write(b, cfg, out, NULL, e);
		if (st == ST_OK) {
			changed(b, cfg, op, out, owner_events[r->verb], r->swarm);
			return ST_OK;
		}
		task_release(out);
		if (st != ST_CONFLICT)
			return st;
		/* Changed under us (a takeover?): read again and re-check. */
	}
	return err_set(e, ST_CONFLICT, "task '%s' keeps changing; try again", r->id);
}

/* --- operator verbs ---------------------------------------------------- */

/* Per verb: its name, the states it applies to, the event it makes. */
static const struct {
	const char *name;
	unsigned from;		/* bit per enum task_state */
	const char *from_text;
	const char *check;	/* the falsify check's name */
	enum coord_event ev;
} op_verbs[] = {
	[OP_CANCEL] = { "cancel", 1u << TASK_QUEUED | 1u << TASK_CLAIMED, "queued or claimed",
			"task is queued or claimed", COORD_EV_CANCEL },
	[OP_REQUEUE] = { "requeue", 1u << TASK_FAILED | 1u << TASK_DEAD, "failed or dead",
			 "task is failed or dead", COORD_EV_REQUEUE },
};

/* Apply an operator verb to t; the history note. */
static void
op_apply(enum op_verb v, struct task *t, const struct opctx *op, int64_t now, struct buf *note)
{
	buf_reset(note);
	t->lease_until = 0;
	if (v == OP_CANCEL) {
		buf_addf(note, "%s%s'%s%s", COORD_CANCEL_NOTE, op->actor ? op->actor : "operator",
			 op->justification ? ": " : "", op->justification ? op->justification : "");
		t->state = TASK_DEAD;
		free(t->reason);
		t->reason = xstrdup(note->s);
	} else {
		buf_addf(note, "requeued%s%s", op->justification ? ": " : "",
			 op->justification ? op->justification : "");
		t->state = TASK_QUEUED;
		t->attempts = 0;
		t->not_before = 0;
		free(t->owner);
		t->owner = NULL;
		free(t->reason);
		t->reason = NULL;
	}
	t->updated = now;
	task_history_add(t, now, t->state, op->actor ? op->actor : "operator", t->token, note->s);
}

enum status
coord_operator(struct bus *b, const struct coord_cfg *cfg, struct opctx *op, enum op_verb v,
	       const char *id, struct task *out, struct err *e)
{
	struct buf note = BUF_INIT;
	struct err ce = ERR_INIT;
	enum status st;
	int tries;

	if ((st = opctx_may_write(op, op_verbs[v].name, e)) != ST_OK && !op->falsify)
		return st;
	for (tries = 0; tries < 5; tries++) {
		st = coord_get(b, cfg, id, out, e);
		if (!check(op, "task exists", st, e, id) || st != ST_OK)
			return op->falsify ? ST_OK : st;
		st = op_verbs[v].from & 1u << out->state ? ST_OK : err_set(&ce, ST_CONFLICT,
			"cannot %s task '%s': it is %s, not %s", op_verbs[v].name, id,
			task_state_name(out->state), op_verbs[v].from_text);
		if (!check(op, op_verbs[v].check, st, &ce, id) || op->falsify) {
			if (st != ST_OK && e)
				*e = ce;
			task_release(out);
			return op->falsify ? ST_OK : st;
		}
		op_apply(v, out, op, wall_ms(), &note);
		st = out->archived ? restore(b, cfg, out, e) : cas_write(b, cfg, out, NULL, e);
		if (st == ST_OK) {
			changed(b, cfg, op, out, op_verbs[v].ev, op->actor ? op->actor : "operator");
			break;
		}
		task_release(out);
		if (st != ST_CONFLICT)
			break;
	}
	buf_release(&note);
	if (tries == 5)
		return err_set(e, ST_CONFLICT, "task '%s' keeps changing; try again", id);
	return st;
}

/* --- list --------------------------------------------------------------- */

void
coord_listing_release(struct coord_listing *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		task_release(&l->tasks[i]);
	for (i = 0; i < l->nbad; i++)
		coord_invalid_release(&l->bad[i]);
	free(l->tasks);
	free(l->bad);
	memset(l, 0, sizeof *l);
}

/*
 * A listing reads the bucket once: a KV watch from revision 0 delivers the
 * last record of every key, then snapshot_done, and is dropped then. No
 * round trip per task (nats.c's kvStore_Keys plus one get per key failed
 * with a timeout past a few thousand keys).
 */
struct list_scan {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;			/* snapshot_done seen: ignore what follows */
	bool archived;			/* reading the archive */
	const struct coord_filter *f;
	struct coord_listing *out;
	size_t cap, badcap;
	void (*each)(void *arg, const struct task *t);	/* set: tasks are passed, not kept */
	void *each_arg;
};

/* Does t require capability cap? */
static bool
task_needs(const struct task *t, const char *cap)
{
	size_t i;

	for (i = 0; i < t->ncaps; i++)
		if (strcmp(t->caps[i], cap) == 0)
			return true;
	return false;
}

/* Does t pass every filter of f (the cursor included)? */
bool
coord_filter_keeps(const struct coord_filter *f, const struct task *t)
{
	if (f == NULL)
		return true;
	if ((f->state && t->state != *f->state) ||
	    (f->swarm && (!t->owner || strcmp(t->owner, f->swarm) != 0)) ||
	    (f->cap && !task_needs(t, f->cap)) ||
	    (f->created_before && t->created >= f->created_before) ||
	    (f->created_after && t->created <= f->created_after) ||
	    (f->finished_before && (!finished(t->state) || t->updated >= f->finished_before)))
		return false;
	return f->after == NULL || t->created > f->after->created ||
	       (t->created == f->after->created && strcmp(t->id, f->after->id) > 0);
}

#define LIST_SLACK 1024	/* tasks beyond twice a page before it is trimmed */

static int
by_created(const void *a, const void *b)
{
	const struct task *x = a, *y = b;

	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* Invalid records in key order. */
static int
by_key(const void *a, const void *b)
{
	return strcmp(((const struct coord_invalid *)a)->key,
		      ((const struct coord_invalid *)b)->key);
}

/* Sort the tasks and keep the first limit (0: all); out->more counts the rest. */
static void
list_trim(struct coord_listing *out, size_t limit)
{
	size_t i;

	if (out->n)
		qsort(out->tasks, out->n, sizeof *out->tasks, by_created);
	if (limit == 0 || out->n <= limit)
		return;
	for (i = limit; i < out->n; i++)
		task_release(&out->tasks[i]);
	out->more += out->n - limit;
	out->n = limit;
}

/* Sort out (tasks, then invalid records) and cut it at f's limit. */
static void
list_cut(const struct coord_filter *f, struct coord_listing *out)
{
	list_trim(out, f ? f->limit : 0);
	if (out->nbad)
		qsort(out->bad, out->nbad, sizeof *out->bad, by_key);
}

/* Take in one record of the snapshot: a task that passes, or an invalid one. */
static void
list_take(struct list_scan *s, const struct bus_kv_event *ev)
{
	struct coord_listing *out = s->out;
	struct err why = ERR_INIT;
	struct task t;

	if (check_id(ev->key, "task id", NULL) != ST_OK) {	/* a key no task can have */
		why.code = ST_INVALID_RECORD;
		snprintf(why.msg, sizeof why.msg, "its key is not a valid task id");
	} else if (coord_record_parse(ev->key, ev->value, ev->len, &t, &why) == ST_OK) {
		t.rev = ev->revision;
		t.archived = s->archived;
		if (s->each)
			s->each(s->each_arg, &t);
		if (s->each || !coord_filter_keeps(s->f, &t)) {
			task_release(&t);
			return;
		}
		xgrow(&out->tasks, &s->cap, out->n + 1, sizeof *out->tasks);
		out->tasks[out->n++] = t;
		if (s->f && s->f->limit && out->n >= 2 * s->f->limit + LIST_SLACK)
			list_trim(out, s->f->limit);	/* a page holds its size, not the bucket */
		return;
	}
	xgrow(&out->bad, &s->badcap, out->nbad + 1, sizeof *out->bad);
	out->bad[out->nbad++] = (struct coord_invalid){ xstrdup(ev->key), ev->revision,
							xstrdup(why.msg) };
}

/* The listing watch's callback. */
static void
list_on_event(void *arg, const struct bus_kv_event *ev)
{
	struct list_scan *s = arg;

	pthread_mutex_lock(&s->mu);
	if (!s->done && ev->snapshot_done) {
		s->done = true;
		pthread_cond_broadcast(&s->cv);	/* the one thing the reader waits for */
	} else if (!s->done && ev->op == BUS_KV_PUT && !has_prefix(ev->key, COORD_IDEM_PREFIX)) {
		list_take(s, ev);
	}
	pthread_mutex_unlock(&s->mu);
}

/*
 * A task both live and archived (a move or a restore cut short) is listed
 * once, live: the live record is the truth. Sorted input, in place.
 */
static void
list_dedupe(struct coord_listing *out)
{
	size_t i, j;

	for (i = j = 0; i < out->n; i++) {
		if (j && strcmp(out->tasks[j - 1].id, out->tasks[i].id) == 0 &&
		    out->tasks[j - 1].created == out->tasks[i].created) {
			struct task *keep = &out->tasks[j - 1], *t = &out->tasks[i];
			if (keep->archived && !t->archived) {
				task_release(keep);
				*keep = *t;
			} else {
				task_release(t);
			}
			continue;
		}
		out->tasks[j++] = out->tasks[i];
	}
	out->n = j;
}

/* Read one bucket's snapshot into the scan. */
static enum status
list_bucket(struct bus *b, const char *bucket, struct list_scan *scan, struct err *e)
{
	struct list_scan *sp = scan;	/* shared by the live and archive scans */
	struct timespec ts = deadline_ts(INDEX_LOAD_MS + bus_timeout_ms(b));
	struct bus_watch *w = NULL;
	enum status st;

	sp->done = false;
	st = bus_kv_watch(b, bucket, 0, list_on_event, sp, &w, e);
	pthread_mutex_lock(&sp->mu);
	while (st == ST_OK && !sp->done && pthread_cond_timedwait(&sp->cv, &sp->mu, &ts) == 0)
		;
	if (st == ST_OK && !sp->done)
		st = err_set(e, ST_TIMEOUT, "the task list did not load in %d s",
			     (int)((INDEX_LOAD_MS + bus_timeout_ms(b)) / 1000));
	sp->done = true;
	pthread_mutex_unlock(&sp->mu);
	bus_watch_free(w);	/* no call of list_on_event runs after this */
	return st;
}

enum status
coord_list(struct bus *b, const struct coord_cfg *cfg, const struct coord_filter *f,
	   struct coord_listing *out, struct err *e)
{
	struct list_scan s = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false,
			       f, out, 0, 0, NULL, NULL };
	enum status st;

	memset(out, 0, sizeof *out);
	st = list_bucket(b, cfg->bucket, &s, e);
	if (st == ST_OK && f && f->archived && cfg->archive) {
		s.archived = true;
		st = list_bucket(b, cfg->archive, &s, e);
		if (st == ST_NO_SCHEMA)
			st = ST_OK;	/* nothing archived yet */
	}
	if (st != ST_OK) {
		coord_listing_release(out);
		return st;
	}
	if (out->n)
		qsort(out->tasks, out->n, sizeof *out->tasks, by_created);
	list_dedupe(out);
	list_cut(f, out);
	return ST_OK;
}


enum status
coord_scan(struct bus *b, const struct coord_cfg *cfg,
	   void (*fn)(void *arg, const struct task *t), void *arg, struct coord_listing *bad,
	   struct err *e)
{
	struct list_scan s = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false,
			       NULL, bad, 0, 0, fn, arg };
	enum status st;

	memset(bad, 0, sizeof *bad);
	if ((st = list_bucket(b, cfg->bucket, &s, e)) != ST_OK)
		coord_listing_release(bad);
	else if (bad->nbad)
		qsort(bad->bad, bad->nbad, sizeof *bad->bad, by_key);
	return st;
}

enum status
coord_scan_invalid(struct bus *b, const struct coord_cfg *cfg, struct coord_invalid **out,
		   size_t *n, size_t *records, struct err *e)
{
	const struct coord_filter one = { .limit = 1 };	/* the rest is counted in l.more */
	struct coord_listing l;
	enum status st = coord_list(b, cfg, &one, &l, e);

	*out = l.bad;
	*n = l.nbad;
	if (records)
		*records = l.n + l.more + l.nbad;
	l.bad = NULL;
	l.nbad = 0;
	coord_listing_release(&l);
	return st;
}

/* --- pages -------------------------------------------------------------- */

/* FNV-1a over the filters a token is bound to (state, swarm, capability). */
static uint32_t
filter_print(const struct coord_filter *f)
{
	const char *parts[3] = { f && f->state ? task_state_name(*f->state) : "",
				 f && f->swarm ? f->swarm : "", f && f->cap ? f->cap : "" };
	uint32_t h = 2166136261u;
	size_t i;
	const char *p;

	for (i = 0; i < ARRAY_SIZE(parts); i++)
		for (p = parts[i]; ; p++) {
			h = (h ^ (unsigned char)*p) * 16777619u;
			if (*p == '\0')
				break;
		}
	return h;
}

char *
coord_token_make(const struct coord_filter *f, const struct task *last)
{
	struct buf b = BUF_INIT;

	buf_addf(&b, "1.%lld.%08x.%s", (long long)last->created, (unsigned)filter_print(f),
		 last->id);
	return buf_detach(&b);
}

enum status
coord_token_parse(const char *tok, const struct coord_filter *f, struct coord_cursor *out,
		  struct err *e)
{
	long long created;
	unsigned fp;
	int used = 0;

	memset(out, 0, sizeof *out);
	if (sscanf(tok, "1.%18lld.%8x.%n", &created, &fp, &used) != 2 || used == 0 ||
	    created < 0 || !task_id_valid(tok + used))
		return err_set(e, ST_USAGE, "--continue: '%s' is not a continue token of "
			       "'ifctl task list'", tok);
	if (fp != filter_print(f))
		return err_set(e, ST_USAGE, "--continue: the token was made for other --state, "
			       "--swarm or --capability filters; start again without --continue");
	out->created = created;
	out->id = xstrdup(tok + used);
	return ST_OK;
}

/* --- archive sweep and purge -------------------------------------------- */

enum status
coord_purge(struct bus *b, const struct coord_cfg *cfg, struct opctx *op, enum task_state state,
	    int64_t before_ms, size_t *n, struct err *e)
{
	struct coord_listing l;
	struct coord_filter f = { .state = &state, .finished_before = before_ms };
	struct list_scan s = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, true,
			       &f, &l, 0, 0, NULL, NULL };
	enum status st;
	size_t i;

	*n = 0;
	memset(&l, 0, sizeof l);
	if (!finished(state))
		return err_set(e, ST_USAGE, "--state: only done, failed or dead tasks are archived, "
			       "not %s", task_state_name(state));
	if ((st = opctx_may_write(op, "purge tasks", e)) != ST_OK && !op->falsify)
		return st;
	st = cfg->archive ? list_bucket(b, cfg->archive, &s, e) : ST_NO_SCHEMA;
	if (st == ST_NO_SCHEMA)
		st = ST_OK;	/* nothing archived */
	for (i = 0; i < l.n && st == ST_OK; i++) {
		if (!op->falsify)
			st = bus_kv_remove(b, cfg->archive, l.tasks[i].id, l.tasks[i].rev, e);
		if (st == ST_CONFLICT)
			st = ST_OK;	/* rewritten meanwhile (a requeue or a move): left */
		else if (st == ST_OK)
			(*n)++;
	}
	coord_listing_release(&l);
	return st;
}

enum status
coord_archived(struct bus *b, const struct coord_cfg *cfg, uint64_t *n, struct err *e)
{
	struct bus_stream_stat s;
	enum status st;

	*n = 0;
	if (cfg->archive == NULL)
		return ST_OK;
	if ((st = bus_kv_stat(b, cfg->archive, &s, e)) == ST_OK)
		*n = s.msgs;
	return st;
}

/* Units of a duration: a number then one of these, no space. */
static const struct { const char *unit; int64_t ms; } duration_units[] = {
	{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { "d", 86400000 },
	{ "w", 604800000 },
};

bool
coord_duration_parse(const char *v, int64_t *ms)
{
	char *end;
	long long n;
	size_t i;

	if (v == NULL || *v < '0' || *v > '9')
		return false;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno || n < 0)
		return false;
	if (n == 0 && *end == '\0') {
		*ms = 0;
		return true;
	}
	for (i = 0; i < ARRAY_SIZE(duration_units); i++)
		if (strcmp(end, duration_units[i].unit) == 0 &&
		    n <= INT64_MAX / 1000 / duration_units[i].ms) {
			*ms = n * duration_units[i].ms;
			return true;
		}
	return false;
}

/* --- one-shot claims ---------------------------------------------------- */

#define ONCE_BATCH 8		/* ids taken from the queue at a time */
#define ONCE_SCAN_MAX 4096	/* ids looked at per priority and claim */
#define ONCE_ACK_WAIT_MS 30000	/* an id taken by a claimer that died comes back then */

/* The durable consumer of priority prio's ids and its filter (ifctl-protocol(7)). */
static void
queue_consumer(const struct coord_cfg *cfg, int prio, char durable[32], char filter[64])
{
	snprintf(durable, 32, "claim-p%d", prio);
	snprintf(filter, 64, "%s.%d", cfg->queue, prio);
}

/* Per priority: how many ids the queue holds. */
static void
queue_count(void *arg, const char *subject, uint64_t n)
{
	uint64_t *by_prio = arg;
	const char *p = strrchr(subject, '.');

	if (p && p[1] >= '0' && p[1] <= '9' && p[2] == '\0')
		by_prio[p[1] - '0'] += n;
}

/*
 * What to do with one id from the queue: claim it (ST_OK, *out filled), or
 * settle the message: dropped when its task is not queued any more (gone,
 * claimed, finished: the change that queues it again sends a new id),
 * handed back when this claimer may not take it, or not yet.
 */
static enum status
once_try(struct bus *b, const struct coord_cfg *cfg, struct opctx *op, const struct claimer *c,
	 struct bus_msg *m, struct task *out, bool *handed_back, struct err *e)
{
	struct readyq_pick p = { 0 };
	struct buf written = BUF_INIT, rec = BUF_INIT;
	char id[130];
	const char *data, *why = NULL;
	size_t len;
	int64_t now = wall_ms();
	enum status st;

	data = bus_msg_data(m, &len);
	snprintf(id, sizeof id, "%.*s", (int)(len < sizeof id - 1 ? len : sizeof id - 1), data);
	st = len < sizeof id - 1 ? coord_get(b, cfg, id, out, NULL) : ST_NOT_FOUND;
	if (st != ST_OK || !(out->state == TASK_QUEUED ||	/* or a lapsed lease, announced */
			     (out->state == TASK_CLAIMED && out->lease_until <= now))) {
		bus_msg_ack(m);
		goto out;
	}
	if (!claimable(out, c, now, &why)) {
		bus_msg_nak(m, out->not_before > now ? out->not_before - now : 0);
		*handed_back = true;
		st = ST_NOT_FOUND;
		goto out;
	}
	task_to_json(out, &rec);
	p = (struct readyq_pick){ id, rec.s, rec.len, out->rev };
	task_release(out);
	st = claim_one(b, cfg, op, c, &p, out, &written, e);
	buf_release(&rec);
	if (op->falsify)
		bus_msg_nak(m, 0);
	else if (st == ST_OK || task_local(st))
		bus_msg_ack(m);	/* claimed, or claimed by another: the id is spent */
	else
		bus_msg_nak(m, 0);
	buf_release(&written);
	if (st != ST_OK)
		task_release(out);
	return task_local(st) ? ST_NOT_FOUND : st;	/* lost the race: the next id */
out:
	task_release(out);
	return st == ST_OK ? ST_NOT_FOUND : st;
}

/*
 * Take ids of priority prio, ONCE_BATCH at a time, and try them in order,
 * until one is claimed. Stale ids are dropped and the next batch taken (up
 * to ONCE_SCAN_MAX ids, and no more than the queue held), so ids left by
 * claims through an index do not hide the tasks behind them; a batch whose
 * ids were all handed back ends the look at this priority.
 */
static enum status
once_prio(struct bus *b, const struct coord_cfg *cfg, struct opctx *op, const struct claimer *c,
	  int prio, uint64_t queued, struct task *out, struct err *e)
{
	struct bus_msg *msgs[ONCE_BATCH];
	char durable[32], filter[64];
	size_t n = 0, i, seen = 0;
	enum status st = ST_NOT_FOUND;
	bool handed_back = false;

	queue_consumer(cfg, prio, durable, filter);
	while (st == ST_NOT_FOUND && !handed_back && seen < queued && seen < ONCE_SCAN_MAX) {
		if (bus_pull(b, COORD_QUEUE_STREAM, durable, filter, ONCE_ACK_WAIT_MS, ONCE_BATCH,
			     msgs, &n, NULL) != ST_OK)
			return ST_NO_SCHEMA;	/* no queue (or not allowed to read it): the index */
		if (n == 0)
			break;
		for (i = 0; i < n; i++) {
			if (st == ST_NOT_FOUND)
				st = once_try(b, cfg, op, c, msgs[i], out, &handed_back, e);
			else
				bus_msg_nak(msgs[i], 0);	/* done: hand the rest back */
			bus_msg_free(msgs[i]);
		}
		seen += n;
	}
	return st;
}

/*
 * See coord.h. The queue's counts per priority come first (one round
 * trip), so an empty queue costs one look; then the ids of the highest
 * priority that has any. An id this claimer may not take goes back.
 */
enum status
coord_claim_once(struct bus *b, const struct coord_cfg *cfg, struct opctx *op,
		 const struct claimer *c, struct task *out, struct err *e)
{
	uint64_t by_prio[TASK_PRIORITY_MAX + 1] = { 0 };
	struct coord_index *ix = NULL;
	char filter[64];
	enum status st;
	int prio;

	task_init(out);
	if ((st = opctx_may_write(op, "claim", e)) != ST_OK && !op->falsify)
		return st;
	st = ST_NOT_FOUND;
	snprintf(filter, sizeof filter, "%s.*", cfg->queue ? cfg->queue : "");
	if (cfg->queue &&
	    bus_stream_subjects(b, COORD_QUEUE_STREAM, filter, queue_count, by_prio, NULL) == ST_OK)
		for (prio = TASK_PRIORITY_MAX; prio >= 0 && st == ST_NOT_FOUND; prio--)
			if (by_prio[prio])
				st = once_prio(b, cfg, op, c, prio, by_prio[prio], out, e);
	if (st != ST_NOT_FOUND && st != ST_NO_SCHEMA)
		return st;
	/*
	 * Nothing in the queue for this claimer, or a priority's queue it cannot
	 * read (a lower one must not go first): the live set, by index.
	 */
	if ((st = coord_index_open(b, cfg, &ix, e)) != ST_OK)
		return st;
	why_add(op, "candidates", "", "none in the ready queue; %zu live tasks known, ready ones "
		"(queued, or with an expired lease) by priority, then age", coord_index_size(ix));
	st = coord_claim(b, ix, cfg, op, c, out, e);
	coord_index_free(ix);
	return st;
}

/* --- the ready queue's upkeep ------------------------------------------- */

#define TIDY_BATCH 256		/* ids taken from the queue at a time */
#define TIDY_HOLD_MAX 65536	/* ready ids held per priority before the look stops */

/* A ready task as the live set has it: its id, and for a lapsed lease its priority. */
struct tidy_ref {
	char *id;
	int prio;
	bool lapsed;		/* claimed, lease expired: not in the queue by itself */
	bool queued;		/* an id of it was met in the queue */
};

struct tidy_scan {
	int64_t now;
	struct tidy_ref *ready;	/* sorted by id after the scan */
	size_t n, cap;
};

static void
tidy_take(void *arg, const struct task *t)
{
	struct tidy_scan *s = arg;
	bool lapsed = t->state == TASK_CLAIMED && t->lease_until <= s->now;

	if (t->state != TASK_QUEUED && !lapsed)
		return;
	xgrow(&s->ready, &s->cap, s->n + 1, sizeof *s->ready);
	s->ready[s->n++] = (struct tidy_ref){ xstrdup(t->id), t->priority, lapsed, false };
}

static int
ref_cmp(const void *a, const void *b)
{
	return strcmp(((const struct tidy_ref *)a)->id, ((const struct tidy_ref *)b)->id);
}

/* The ready task an id from the queue names, or NULL. */
static struct tidy_ref *
tidy_find(struct tidy_scan *s, const char *data, size_t len)
{
	char id[130];
	struct tidy_ref key = { id, 0, false, false };

	if (len >= sizeof id)
		return NULL;
	memcpy(id, data, len);
	id[len] = '\0';
	return s->n ? bsearch(&key, s->ready, s->n, sizeof *s->ready, ref_cmp) : NULL;
}

/*
 * Look at up to count ids of priority prio: drop the stale, hold the rest
 * in held (handed back by the caller, in order). Ids stored after last_seq
 * were published after the live set was read: always held.
 */
static bool
tidy_prio(struct bus *b, const struct coord_cfg *cfg, const struct opctx *op,
	  struct tidy_scan *s, int prio, uint64_t count, uint64_t last_seq,
	  struct bus_msg ***held, size_t *nheld, size_t *capheld, struct coord_tidy *out)
{
	struct bus_msg *msgs[TIDY_BATCH];
	char durable[32], filter[64];
	size_t n, i, seen = 0, held0 = *nheld;

	queue_consumer(cfg, prio, durable, filter);
	while (seen < count) {
		if (*nheld - held0 >= TIDY_HOLD_MAX)
			return false;	/* ids left unseen: their tasks may be queued */
		if (bus_pull(b, COORD_QUEUE_STREAM, durable, filter, ONCE_ACK_WAIT_MS, TIDY_BATCH,
			     msgs, &n, NULL) != ST_OK) {
			for (i = 0; i < n; i++) {
				bus_msg_nak(msgs[i], 0);
				bus_msg_free(msgs[i]);
			}
			return false;
		}
		if (n == 0)
			break;
		for (i = 0; i < n; i++) {
			size_t len;
			const char *data = bus_msg_data(msgs[i], &len);
			struct tidy_ref *r = tidy_find(s, data, len);

			if (r == NULL && bus_msg_seq(msgs[i]) <= last_seq && !op->falsify) {
				bus_msg_ack(msgs[i]);
				bus_msg_free(msgs[i]);
				out->dropped++;
				continue;
			}
			if (r == NULL && bus_msg_seq(msgs[i]) <= last_seq)
				out->dropped++;		/* falsify: would be dropped */
			else if (r)
				r->queued = true;
			xgrow(held, capheld, *nheld + 1, sizeof **held);
			(*held)[(*nheld)++] = msgs[i];
		}
		seen += n;
	}
	return true;
}

/* Hand the n held ids back, in the order taken. */
static void
tidy_hand_back(struct bus_msg **held, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		bus_msg_nak(held[i], 0);
		bus_msg_free(held[i]);
	}
}

/* Free the ready tasks s holds. */
static void
tidy_scan_release(struct tidy_scan *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->ready[i].id);
	free(s->ready);
}

/*
 * The upkeep's start: the queue's end (*stat), read before the live set
 * is, since an id stored later may name a task that read missed. *on false:
 * no upkeep (no queue configured, or none made yet).
 */
static enum status
tidy_start(struct bus *b, const struct coord_cfg *cfg, struct opctx *op,
	   struct bus_stream_stat *stat, bool *on, struct err *e)
{
	enum status st;

	*on = false;
	if (cfg->queue == NULL)
		return ST_OK;
	if ((st = opctx_may_write(op, "tidy the ready queue", e)) != ST_OK && !op->falsify)
		return st;
	if ((st = bus_stream_stat(b, COORD_QUEUE_STREAM, stat, e)) != ST_OK)
		return st == ST_NO_SCHEMA ? ST_OK : st;
	*on = true;
	return ST_OK;
}

/* The upkeep over s, the ready tasks of a live set read after last_seq was. */
static enum status
tidy_run(struct bus *b, const struct coord_cfg *cfg, struct opctx *op, struct tidy_scan *s,
	 uint64_t last_seq, struct coord_tidy *out, struct err *e)
{
	uint64_t by_prio[TASK_PRIORITY_MAX + 1] = { 0 };
	bool looked[TASK_PRIORITY_MAX + 1];	/* every id of the priority seen */
	struct bus_msg **held = NULL;
	size_t nheld = 0, capheld = 0, i;
	char filter[64];
	enum status st;
	int prio;

	if (s->n)
		qsort(s->ready, s->n, sizeof *s->ready, ref_cmp);
	snprintf(filter, sizeof filter, "%s.*", cfg->queue);
	if ((st = bus_stream_subjects(b, COORD_QUEUE_STREAM, filter, queue_count, by_prio, e)) != ST_OK)
		return st;
	/*
	 * Each priority's ids go back as soon as its look ends: a one-shot
	 * claim that finds none of a priority takes the next lower one, so
	 * ids held while the sweep looks at other priorities would let lower
	 * ones go first (and hold up to TIDY_HOLD_MAX ids per priority at once).
	 */
	for (prio = TASK_PRIORITY_MAX; prio >= 0; prio--) {
		looked[prio] = by_prio[prio] == 0 ||
			       tidy_prio(b, cfg, op, s, prio, by_prio[prio], last_seq, &held,
					 &nheld, &capheld, out);
		tidy_hand_back(held, nheld);
		out->kept += nheld;
		nheld = 0;
	}
	free(held);
	out->kept -= op->falsify ? out->dropped : 0;
	if (op->falsify) {
		char ev[96];
		snprintf(ev, sizeof ev, "%zu would be dropped, %zu kept", out->dropped, out->kept);
		check(op, "stale ids in the ready queue", ST_OK, NULL, ev);
	}
	for (i = 0; i < s->n; i++) {
		struct task t = { .id = s->ready[i].id, .priority = s->ready[i].prio,
				  .state = TASK_QUEUED };
		if (!s->ready[i].lapsed || s->ready[i].queued ||
		    s->ready[i].prio < 0 || s->ready[i].prio > TASK_PRIORITY_MAX ||
		    !looked[s->ready[i].prio])
			continue;	/* ready, or its id may be among those not seen */
		if (!op->falsify)
			queue_ready(b, cfg, &t);
		out->announced++;
	}
	why_add(op, "queue", "", "%zu ids dropped (task no longer ready), %zu kept, %zu lapsed "
		"leases announced again", out->dropped, out->kept, out->announced);
	return ST_OK;
}

enum status
coord_queue_tidy(struct bus *b, const struct coord_cfg *cfg, struct opctx *op, int64_t now,
		 struct coord_tidy *out, struct err *e)
{
	struct tidy_scan s = { .now = now };
	struct bus_stream_stat stat;
	struct coord_listing bad;
	enum status st;
	bool on;

	memset(out, 0, sizeof *out);
	if ((st = tidy_start(b, cfg, op, &stat, &on, e)) != ST_OK || !on)
		return st;
	if ((st = coord_scan(b, cfg, tidy_take, &s, &bad, e)) == ST_OK) {
		coord_listing_release(&bad);
		st = tidy_run(b, cfg, op, &s, stat.last_seq, out, e);
	}
	tidy_scan_release(&s);
	return st;
}

/* --- the archive sweep -------------------------------------------------- */

/* What one read of the live set gathers for a sweep and the queue's upkeep. */
struct sweep_scan {
	struct coord_filter f;		/* finished before the retention began */
	struct move *mv;		/* the tasks to move, as read */
	size_t n, cap;
	struct tidy_scan *tidy;		/* NULL: no upkeep */
};

/* coord_scan's callback: t for the moves, the upkeep, both or neither. */
static void
sweep_take(void *arg, const struct task *t)
{
	struct sweep_scan *s = arg;

	if (s->tidy)
		tidy_take(s->tidy, t);
	if (!coord_filter_keeps(&s->f, t))
		return;
	xgrow(&s->mv, &s->cap, s->n + 1, sizeof *s->mv);
	move_init(&s->mv[s->n++], t, NULL);
}

/*
 * A sweep, with the queue's upkeep when tidy: the queue's end first, then
 * the live set read once for both, then the moves, then the upkeep (which
 * needs only ready tasks, and keeps every id stored after the queue's end
 * was read: the time the moves take changes nothing it decides).
 */
static enum status
sweep(struct bus *b, const struct coord_cfg *cfg, struct opctx *op, int64_t now, bool tidy,
      struct coord_sweep *out, struct err *e)
{
	struct tidy_scan ts = { .now = now };
	struct sweep_scan s = { .f = { .finished_before = now - cfg->retain_ms + 1 } };
	struct bus_stream_stat stat;
	struct coord_listing bad;
	enum status st;
	bool on = false;

	memset(out, 0, sizeof *out);
	if (cfg->archive == NULL)
		return err_set(e, ST_USAGE, "no archive configured");
	if ((st = opctx_may_write(op, "archive tasks", e)) != ST_OK && !op->falsify)
		return st;
	if (tidy && tidy_start(b, cfg, op, &stat, &on, &out->tidy_err) != ST_OK)
		on = false;	/* a warning: the moves go on */
	s.tidy = on ? &ts : NULL;
	if ((st = coord_scan(b, cfg, sweep_take, &s, &bad, e)) != ST_OK)
		goto out;
	coord_listing_release(&bad);
	st = moves_run(b, cfg, s.mv, s.n, op->falsify, &out->moved, &out->raced, e);
	if (st == ST_OK && on &&
	    tidy_run(b, cfg, op, &ts, stat.last_seq, &out->tidy, &out->tidy_err) != ST_OK)
		memset(&out->tidy, 0, sizeof out->tidy);
out:
	moves_free(s.mv, s.n);
	tidy_scan_release(&ts);
	return st;
}

enum status
coord_archive_sweep(struct bus *b, const struct coord_cfg *cfg, struct opctx *op, int64_t now,
		    size_t *moved, size_t *raced, struct err *e)
{
	struct coord_sweep out;
	enum status st = sweep(b, cfg, op, now, false, &out, e);

	*moved = out.moved;
	*raced = out.raced;
	return st;
}

enum status
coord_archive_sweep_tidy(struct bus *b, const struct coord_cfg *cfg, struct opctx *op,
			 int64_t now, struct coord_sweep *out, struct err *e)
{
	return sweep(b, cfg, op, now, true, out, e);
}

void
coord_cfg_load(const struct config *c, struct coord_cfg *cc)
{
	*cc = (struct coord_cfg){
		.bucket = COORD_BUCKET,
		.lease_ms = cfg_int(c, CK_COORD_LEASE_MS),
		.max_attempts = (int)cfg_int(c, CK_COORD_MAX_ATTEMPTS),
		.retry_backoff_ms = cfg_int(c, CK_COORD_RETRY_BACKOFF_MS),
		.archive = COORD_ARCHIVE,
		.queue = COORD_QUEUE_PREFIX,
	};
	if (!coord_duration_parse(cfg_str(c, CK_COORD_RETAIN), &cc->retain_ms))
		cc->retain_ms = COORD_RETAIN_DEFAULT_MS;
}
