/*
 * The event bus over nats.c: core publish and request, JetStream publish
 * with expectations, and KV operations (see bus.h).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/bus-int.h"
#include "core/json.h"
#include "core/util.h"

/* --- core NATS ---------------------------------------------------------- */

enum status
bus_publish(struct bus *b, const char *subject, const void *data, size_t len,
	    struct err *e)
{
	char what[256];
	enum status st;

	snprintf(what, sizeof what, "publish to '%s'", subject);
	if ((st = bus_ready(b, what, e)) != ST_OK)
		return st;
	return bus_map_err(b, natsConnection_Publish(b->nc, subject, data, (int)len), 0, what, e);
}

enum status
bus_request(struct bus *b, const char *subject, const void *data, size_t len,
	    struct buf *reply, struct err *e)
{
	natsMsg *msg = NULL;
	char what[256];
	natsStatus s;
	enum status st;

	snprintf(what, sizeof what, "request to '%s'", subject);
	if ((st = bus_ready(b, what, e)) != ST_OK)
		return st;
	s = natsConnection_Request(&msg, b->nc, subject, data, (int)len, b->timeout_ms);
	if (s == NATS_NO_RESPONDERS)
		return err_set(e, ST_NOT_FOUND, "%s: no service listens there", what);
	if (s != NATS_OK)
		return bus_map_err(b, s, 0, what, e);
	buf_reset(reply);
	buf_add(reply, natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg));
	natsMsg_Destroy(msg);
	return ST_OK;
}

/* --- JetStream publish and KV ------------------------------------------ */

/* The headers that carry a publish's expectations to JetStream. */
static natsStatus
pub_headers(natsMsg *msg, const struct bus_pub *p)
{
	const char *const *h;
	char num[24];
	natsStatus s = NATS_OK;

	if (p->msg_id)
		s = natsMsgHeader_Set(msg, "Nats-Msg-Id", p->msg_id);
	if (s == NATS_OK && p->expect_last_seq) {
		snprintf(num, sizeof num, "%llu", (unsigned long long)p->expect_last_seq);
		s = natsMsgHeader_Set(msg, "Nats-Expected-Last-Sequence", num);
	}
	if (s == NATS_OK && (p->expect_last_subject_seq || p->expect_no_message)) {
		snprintf(num, sizeof num, "%llu", p->expect_no_message ? 0ULL :
			 (unsigned long long)p->expect_last_subject_seq);
		s = natsMsgHeader_Set(msg, "Nats-Expected-Last-Subject-Sequence", num);
	}
	if (s == NATS_OK && p->expect_last_msg_id)
		s = natsMsgHeader_Set(msg, "Nats-Expected-Last-Msg-Id", p->expect_last_msg_id);
	for (h = p->headers; s == NATS_OK && h && h[0] && h[1]; h += 2)
		s = natsMsgHeader_Set(msg, h[0], h[1]);
	return s;
}

/* What a JetStream acknowledgement says; other members are ignored. */
struct ack {
	const struct json_value *error;	/* {"code":N,"err_code":N,"description":S} */
	int64_t seq;			/* 0 in a refusal */
	bool duplicate;
	int err_code;
	char *description;
};

/* Keep the error object for its own table. */
static enum status
take_object(const struct json_value *v, void *dst, struct err *e)
{
	if (v->type != JSON_OBJECT)
		return err_set(e, ST_BAD_JSON, "field 'error' is not an object");
	*(const struct json_value **)dst = v;
	return ST_OK;
}

static const struct json_field ack_fields[] = {
	{ "error", JF_CUSTOM, 0, offsetof(struct ack, error), 0, 0, take_object },
	{ "seq", JF_I64, 0, offsetof(struct ack, seq), 0, JSON_INT_MAX, NULL },
	{ "duplicate", JF_BOOL, 0, offsetof(struct ack, duplicate), 0, 0, NULL },
};
static const struct json_field ack_error_fields[] = {
	{ "err_code", JF_INT, 0, offsetof(struct ack, err_code), 0, 1e9, NULL },
	{ "description", JF_STR, 0, offsetof(struct ack, description), 0, 0, NULL },
};

/*
 * One JetStream acknowledgement, {"seq":N[,"duplicate":true]} or
 * {"error":{...}}, read by the strict reader: what does not read is
 * ST_PROTOCOL.
 */
static enum status
parse_ack(natsMsg *msg, struct bus_pub_msg *m, const char *what, struct err *e)
{
	struct json_doc doc = JSON_DOC_INIT;
	struct ack a = { .seq = 0 };
	struct err why = ERR_INIT;
	enum status st;

	if (natsMsg_IsNoResponders(msg))
		return err_set(e, ST_NO_SCHEMA, "%s: no stream takes subject '%s'", what, m->subject);
	st = json_parse(natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg),
			"acknowledgement", &doc, &why);
	if (st == ST_OK && doc.root->type != JSON_OBJECT)
		st = err_set(&why, ST_BAD_JSON, "acknowledgement: not an object");
	if (st == ST_OK)
		st = json_read_fields(doc.root, ack_fields, ARRAY_SIZE(ack_fields), 0, &a,
				      "acknowledgement", &why);
	if (st == ST_OK && a.error)
		st = json_read_fields(a.error, ack_error_fields, ARRAY_SIZE(ack_error_fields), 0,
				      &a, "acknowledgement error", &why);
	if (st != ST_OK)
		st = err_set(e, ST_PROTOCOL, "%s: %s", what, why.msg);
	else if (a.error)
		st = bus_map_refusal(a.err_code, a.description, what, e);
	else if (a.seq == 0 && a.duplicate)	/* a duplicate of a write still being replicated */
		st = err_set(e, ST_TIMEOUT, "%s: a message with this id is still being stored",
			     what);
	else if (a.seq == 0)
		st = err_set(e, ST_PROTOCOL, "%s: the acknowledgement has no sequence", what);
	else {
		m->seq = (uint64_t)a.seq;
		m->duplicate = a.duplicate;
	}
	free(a.description);
	json_doc_release(&doc);
	return st;
}

/* Mark every message unanswered; refuse one over the max payload before anything is sent. */
static enum status
pub_prepare(struct bus *b, struct bus_pub_msg *m, size_t n, const char *what, struct err *e)
{
	enum status st;
	size_t i;

	for (i = 0; i < n; i++) {
		m[i].st = ST_TIMEOUT;	/* until answered */
		m[i].seq = 0;
		m[i].duplicate = false;
	}
	if ((st = bus_ready(b, what, e)) != ST_OK)
		return st;
	for (i = 0; i < n; i++)
		if ((int64_t)m[i].len > bus_max_payload(b))
			return err_set(e, ST_BAD_VALUE, "publish to '%s': the message of %zu bytes is "
				       "larger than the server's max payload of %lld bytes",
				       m[i].subject, m[i].len, (long long)bus_max_payload(b));
	return ST_OK;
}

/* Send every message with a reply subject "<inbox>.<i>"; *sent says how many went. */
static natsStatus
pub_send(struct bus *b, struct bus_pub_msg *m, size_t n, natsInbox *inbox,
	 natsSubscription **sub, size_t *sent)
{
	char reply[128];
	natsStatus s;
	size_t i;

	snprintf(reply, sizeof reply, "%s.*", (const char *)inbox);
	s = natsConnection_SubscribeSync(sub, b->nc, reply);
	for (i = 0; s == NATS_OK && i < n; i++) {
		natsMsg *msg = NULL;
		snprintf(reply, sizeof reply, "%s.%zu", (const char *)inbox, i);
		s = natsMsg_Create(&msg, m[i].subject, reply, m[i].data, (int)m[i].len);
		if (s == NATS_OK)
			s = pub_headers(msg, &m[i].pub);
		if (s == NATS_OK)
			s = natsConnection_PublishMsg(b->nc, msg);
		natsMsg_Destroy(msg);
	}
	*sent = i;
	return s;
}

/* The acknowledgements so far: the first refusal (lowest index) is kept. */
struct pub_answers {
	size_t answered, first_i;
	struct err first;
	unsigned refusals;	/* b->refusals when the batch started */
};

/* Take one acknowledgement (msg's subject names its message) into m and a. */
static void
pub_take(struct bus *b, struct bus_pub_msg *m, size_t n, natsMsg *msg, const char *what,
	 struct pub_answers *a)
{
	const char *subj = natsMsg_GetSubject(msg), *dot = strrchr(subj, '.');
	size_t k = dot ? (size_t)strtoull(dot + 1, NULL, 10) : n;
	struct err one = ERR_INIT;

	if (k >= n || m[k].st != ST_TIMEOUT)
		return;
	if (atomic_load(&b->drop_answers) > 0) {
		atomic_fetch_sub(&b->drop_answers, 1);	/* as if it never came */
		return;
	}
	m[k].st = parse_ack(msg, &m[k], what, &one);
	if (m[k].st != ST_OK && k < a->first_i) {
		a->first = one;
		a->first_i = k;
	}
	a->answered++;
}

/* Wait up to the timeout for the answers of sent messages (short waits: a refusal shows at once). */
static void
pub_collect(struct bus *b, struct bus_pub_msg *m, size_t n, size_t sent, natsSubscription *sub,
	    const char *what, struct pub_answers *a)
{
	int64_t deadline = mono_ms() + b->timeout_ms, left;

	while (a->answered < sent && (left = deadline - mono_ms()) > 0) {
		natsMsg *msg = NULL;
		natsStatus ns = natsSubscription_NextMsg(&msg, sub, left < 50 ? left : 50);

		if (ns == NATS_TIMEOUT && atomic_load(&b->refusals) == a->refusals)
			continue;
		if (ns != NATS_OK)
			break;
		pub_take(b, m, n, msg, what, a);
		natsMsg_Destroy(msg);
	}
}

/* The batch's status: ok, the first refusal, a permission refusal, or no answer. */
static enum status
pub_verdict(struct bus *b, struct bus_pub_msg *m, size_t n, const struct pub_answers *a,
	    const char *what, struct err *e)
{
	size_t i;

	for (i = 0; i < n && m[i].st == ST_OK; i++)
		;
	if (i == n)
		return ST_OK;
	if (i < a->first_i && atomic_load(&b->refusals) != a->refusals) {
		for (i = 0; i < n; i++)	/* unanswered: refused, not lost */
			if (m[i].st == ST_TIMEOUT)
				m[i].st = ST_NOT_PERMITTED;
		return bus_refused_err(b, what, e);
	}
	if (i < a->first_i)	/* no answer */
		return bus_map_err(b, NATS_TIMEOUT, 0, what, e);
	if (e)
		*e = a->first;
	return a->first.code;
}

enum status
bus_js_publish_many(struct bus *b, struct bus_pub_msg *m, size_t n, struct err *e)
{
	struct pub_answers a = { 0, n, ERR_INIT, atomic_load(&b->refusals) };
	natsSubscription *sub = NULL;
	natsInbox *inbox = NULL;
	char what[256];
	size_t sent = 0;
	natsStatus s;
	enum status st;

	if (n == 0)
		return ST_OK;
	snprintf(what, sizeof what, "publish to '%s'", m[0].subject);
	if ((st = pub_prepare(b, m, n, what, e)) != ST_OK)
		return st;
	s = natsInbox_Create(&inbox);
	if (s == NATS_OK)
		s = pub_send(b, m, n, inbox, &sub, &sent);
	if (s == NATS_OK)
		pub_collect(b, m, n, sent, sub, what, &a);
	natsSubscription_Destroy(sub);
	natsInbox_Destroy(inbox);
	if (s != NATS_OK)
		return bus_map_err(b, s, 0, what, e);
	return pub_verdict(b, m, n, &a, what, e);
}

enum status
bus_js_publish(struct bus *b, const char *subject, const void *data, size_t len,
	       const struct bus_pub *pub, uint64_t *seq, struct err *e)
{
	struct bus_pub_msg m = { .subject = subject, .data = data, .len = len };
	enum status st;

	if (pub)
		m.pub = *pub;
	st = bus_js_publish_many(b, &m, 1, e);
	if (st == ST_OK && seq)
		*seq = m.seq;
	return st;
}

void
bus_fault_drop_answers(struct bus *b, int n)
{
	atomic_store(&b->drop_answers, n);
}

/* The bound kvStore of a bucket, cached; ST_NO_SCHEMA when it does not exist. */
enum status
bus_kv_handle(struct bus *b, const char *bucket, kvStore **out, struct err *e)
{
	kvStore *kv = NULL;
	natsStatus s;
	size_t i;
	enum status st;

	pthread_mutex_lock(&b->mu);
	for (i = 0; i < b->nkvs; i++) {
		if (strcmp(b->kvs[i].bucket, bucket) == 0) {
			*out = b->kvs[i].kv;
			pthread_mutex_unlock(&b->mu);
			return ST_OK;
		}
	}
	pthread_mutex_unlock(&b->mu);
	if ((st = bus_ready(b, "open bucket", e)) != ST_OK)
		return st;
	s = js_KeyValue(&kv, b->js, bucket);
	if (s == NATS_NOT_FOUND)
		return err_set(e, ST_NO_SCHEMA, "bucket '%s' does not exist", bucket);
	if (s != NATS_OK)
		return bus_map_err(b, s, 0, "open bucket", e);
	pthread_mutex_lock(&b->mu);
	xgrow(&b->kvs, &b->kvcap, b->nkvs + 1, sizeof *b->kvs);
	b->kvs[b->nkvs].bucket = xstrdup(bucket);
	b->kvs[b->nkvs].kv = kv;
	b->nkvs++;
	pthread_mutex_unlock(&b->mu);
	*out = kv;
	return ST_OK;
}

int64_t
bus_max_payload(struct bus *b)
{
	return b && b->nc ? natsConnection_GetMaxPayload(b->nc) : 0;
}

bool
bus_kv_key_valid(const char *key)
{
	const char *p;

	/* Subject tokens: none empty, so no leading, trailing or double dot. */
	if (*key == '\0' || *key == '.' || key[strlen(key) - 1] == '.' || strstr(key, ".."))
		return false;
	for (p = key; *p; p++)
		if (!(('a' <= *p && *p <= 'z') || ('A' <= *p && *p <= 'Z') ||
		      ('0' <= *p && *p <= '9') || strchr("-_=/.", *p)))
			return false;
	return true;
}

/*
 * Does the connection know more than one server (a cluster)? Asked once:
 * the list only grows.
 */
static bool
clustered(struct bus *b)
{
	int known = atomic_load(&b->clustered), n = 0, i;
	char **servers = NULL;

	if (known)
		return known == 2;
	if (natsConnection_GetServers(b->nc, &servers, &n) != NATS_OK)
		return false;
	for (i = 0; i < n; i++)
		free(servers[i]);
	free(servers);
	atomic_store(&b->clustered, n > 1 ? 2 : 1);
	return n > 1;
}

/*
 * On a cluster the read goes to the stream's leader. A direct get may be
 * answered by any replica; on nats-server 2.9 a replica left behind by a
 * leader change, or whose sequence numbers no longer match the leader's,
 * kept answering, and a read-then-compare-and-set on its answer fails
 * every time.
 */
enum status
bus_kv_get(struct bus *b, const char *bucket, const char *key,
	   struct bus_kv_entry *out, struct err *e)
{
	kvEntry *ent = NULL;
	kvStore *kv;
	natsStatus s;
	enum status st;

	if (!bus_kv_key_valid(key))
		return err_set(e, ST_BAD_VALUE, "invalid key '%s'", key);
	if (b->nc != NULL && clustered(b))
		return bus_kv_get_leader(b, bucket, key, out, e);
	if ((st = bus_kv_handle(b, bucket, &kv, e)) != ST_OK)
		return st;
	if ((st = bus_ready(b, "read", e)) != ST_OK)
		return st;
	s = kvStore_Get(&ent, kv, key);
	if (s == NATS_NOT_FOUND)
		return err_set(e, ST_NOT_FOUND, "key '%s' not found in bucket '%s'", key, bucket);
	if (s != NATS_OK)
		return bus_map_err(b, s, 0, "read", e);
	buf_reset(&out->value);
	buf_add(&out->value, kvEntry_Value(ent), (size_t)kvEntry_ValueLen(ent));
	out->revision = kvEntry_Revision(ent);
	out->created_ns = kvEntry_Created(ent);
	out->op = kvEntry_Operation(ent) == kvOp_Put ? BUS_KV_PUT :
		  kvEntry_Operation(ent) == kvOp_Delete ? BUS_KV_DEL : BUS_KV_PURGE;
	kvEntry_Destroy(ent);
	return ST_OK;
}

enum status
bus_kv_get_leader(struct bus *b, const char *bucket, const char *key,
		  struct bus_kv_entry *out, struct err *e)
{
	char *subject, *stream;
	natsMsg *m = NULL;
	const char *op = NULL;
	jsErrCode jerr = 0;
	natsStatus s;
	enum status st;

	if (!bus_kv_key_valid(key))
		return err_set(e, ST_BAD_VALUE, "invalid key '%s'", key);
	if ((st = bus_ready(b, "read", e)) != ST_OK)
		return st;
	subject = xasprintf("$KV.%s.%s", bucket, key);
	stream = xasprintf("KV_%s", bucket);
	s = js_GetLastMsg(&m, b->js, stream, subject, NULL, &jerr);
	free(subject);
	free(stream);
	if (jerr == JSStreamNotFoundErr)
		return err_set(e, ST_NO_SCHEMA, "bucket '%s' does not exist", bucket);
	if (s == NATS_NOT_FOUND)
		return err_set(e, ST_NOT_FOUND, "key '%s' not found in bucket '%s'", key, bucket);
	if (s != NATS_OK)
		return bus_map_err(b, s, jerr, "read", e);
	if (natsMsgHeader_Get(m, "KV-Operation", &op) == NATS_OK && op != NULL) {
		natsMsg_Destroy(m);	/* a delete or purge marker: as bus_kv_get, not found */
		return err_set(e, ST_NOT_FOUND, "key '%s' not found in bucket '%s'", key, bucket);
	}
	buf_reset(&out->value);
	buf_add(&out->value, natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m));
	out->revision = natsMsg_GetSequence(m);
	out->created_ns = natsMsg_GetTime(m);
	out->op = BUS_KV_PUT;
	natsMsg_Destroy(m);
	return ST_OK;
}

/*
 * Write a KV value through a JetStream publish with the given expectation;
 * *duplicate (may be NULL) says the server already held a message with
 * this publish's Nats-Msg-Id, at *rev.
 */
static enum status
kv_write(struct bus *b, const char *bucket, const char *key, const void *data,
	 size_t len, const struct bus_pub *pub, uint64_t *rev, bool *duplicate, struct err *e)
{
	struct bus_pub_msg m = { .data = data, .len = len };
	char *subject;
	enum status st;

	if (!bus_kv_key_valid(key))
		return err_set(e, ST_BAD_VALUE, "invalid key '%s'", key);
	subject = xasprintf("$KV.%s.%s", bucket, key);
	m.subject = subject;
	if (pub)
		m.pub = *pub;
	st = bus_js_publish_many(b, &m, 1, e);
	free(subject);
	if (st == ST_OK && rev)
		*rev = m.seq;
	if (duplicate)
		*duplicate = st == ST_OK && m.duplicate;
	if (st == ST_NO_JETSTREAM || st == ST_NO_SCHEMA)
		return err_set(e, ST_NO_SCHEMA, "bucket '%s' does not exist", bucket);
	return st;
}

enum status
bus_kv_put(struct bus *b, const char *bucket, const char *key, const void *data,
	   size_t len, uint64_t *rev, struct err *e)
{
	return kv_write(b, bucket, key, data, len, NULL, rev, NULL, e);
}

/*
 * The sequence and operation of the last message of a key, as the stream's
 * leader holds it (0 and *deleted when there is none), and whether it is a
 * put of exactly data (*ours; data may be NULL).
 */
static enum status
kv_last(struct bus *b, const char *bucket, const char *key, const void *data, size_t len,
	uint64_t *seq, bool *deleted, bool *ours, struct err *e)
{
	char *subject = xasprintf("$KV.%s.%s", bucket, key);
	char *stream = xasprintf("KV_%s", bucket);
	const char *op = NULL;
	natsMsg *m = NULL;
	jsErrCode jerr = 0;
	natsStatus s;

	*ours = false;
	s = js_GetLastMsg(&m, b->js, stream, subject, NULL, &jerr);
	if (s == NATS_OK) {
		*seq = natsMsg_GetSequence(m);
		*deleted = natsMsgHeader_Get(m, "KV-Operation", &op) == NATS_OK &&
			   (strcmp(op, "DEL") == 0 || strcmp(op, "PURGE") == 0);
		*ours = data && op == NULL && (size_t)natsMsg_GetDataLength(m) == len &&
			memcmp(natsMsg_GetData(m), data, len) == 0;
	}
	natsMsg_Destroy(m);
	free(subject);
	free(stream);
	if (s == NATS_NOT_FOUND) {
		*seq = 0;
		*deleted = true;
		return ST_OK;
	}
	return bus_map_err(b, s, jerr, "read last revision", e);
}

/* An outcome that says nothing of whether the write landed: its answer was lost. */
static bool
answer_lost(enum status st)
{
	return st == ST_TIMEOUT || st == ST_DISCONNECTED;
}

#define SETTLE_TIMEOUTS 5	/* a lost answer is settled within this many bus timeouts */
#define SETTLE_PAUSE_US (100 * 1000)

/*
 * What the stream leader holds as key's last message: its sequence (0:
 * none, or a delete marker when *deleted), and whether it is exactly data
 * (*ours). Retried while the answer is lost, until the deadline.
 */
static enum status
kv_readback(struct bus *b, const char *bucket, const char *key, const void *data, size_t len,
	    int64_t deadline, uint64_t *seq, bool *ours, struct err *e)
{
	enum status st;
	bool deleted;

	for (;;) {
		if ((st = bus_ready(b, "read back", e)) == ST_OK)
			st = kv_last(b, bucket, key, data, len, seq, &deleted, ours, e);
		if (!answer_lost(st) || mono_ms() >= deadline)
			return st;
		usleep(SETTLE_PAUSE_US);
	}
}

/*
 * A conditional KV write (expectation in pub) that is safe on a cluster.
 *
 * Serialised: nats-server before 2.9.21 checks a clustered stream's
 * Nats-Expected-Last-Subject-Sequence against what it has stored, not
 * against writes still being replicated, so two updates made on the same
 * revision can both be taken (nats-server issue 4320): two claimers would
 * both own a task. Each update therefore also carries Nats-Msg-Id
 * "cas.<key>.<revision>": of two writes on the same revision the server
 * de-duplicates the second (within the stream's duplicate window), so at
 * most one lands, on any version. (A create, on no revision, has no such
 * id: a key purged and created again must not look like a duplicate.)
 *
 * A duplicate on a first send is another writer's id: a conflict, even
 * when its bytes equal ours. Settled: a leader that dies or a connection
 * that breaks between the write and its acknowledgement leaves the write
 * landed or not. Then (and on a duplicate of a resent write) the key is
 * read back from the stream's leader: our
 * bytes there mean it landed (*rev is their revision); the key still at the
 * expected revision means it did not (yet), and the same write is sent
 * again -- safe, since at most one of the two can match the expectation
 * and the id; anything else is ST_CONFLICT. Only the expectation makes the
 * retry safe, so plain puts are never retried. Gives up with the lost
 * answer's status after SETTLE_TIMEOUTS bus timeouts.
 */
static enum status
kv_cas(struct bus *b, const char *bucket, const char *key, const void *data, size_t len,
       struct bus_pub *pub, uint64_t *rev, struct err *e)
{
	int64_t deadline = mono_ms() + SETTLE_TIMEOUTS * b->timeout_ms;
	uint64_t want = pub->expect_no_message ? 0 : pub->expect_last_subject_seq, seq = 0;
	struct err le = ERR_INIT;
	enum status st, lost = ST_OK;
	char id[300];
	bool ours, dup = false;

	if (want) {
		snprintf(id, sizeof id, "cas.%s.%llu", key, (unsigned long long)want);
		pub->msg_id = id;
	}
	for (;;) {
		st = kv_write(b, bucket, key, data, len, pub, rev, &dup, &le);
		if (st == ST_OK && !dup)
			break;
		if (!(dup || answer_lost(st) || (lost != ST_OK && st == ST_CONFLICT)))
			break;
		if (dup && lost == ST_OK) {
			/*
			 * No answer of ours was lost, so the id is another writer's:
			 * it wrote on this revision first. Same bytes prove nothing
			 * (two evaluators may write the same record), so this is a
			 * conflict, as without the id.
			 */
			st = ST_CONFLICT;
			err_set(&le, ST_CONFLICT, "key '%s' in bucket '%s' was changed by another "
				"writer (revision %llu)", key, bucket, (unsigned long long)want);
			break;
		}
		if (answer_lost(st))
			lost = st;
		if (kv_readback(b, bucket, key, data, len, deadline, &seq, &ours, NULL) != ST_OK) {
			st = lost != ST_OK ? lost : ST_TIMEOUT;
			break;
		}
		if (ours) {
			if (rev)
				*rev = seq;
			return ST_OK;
		}
		if (seq != want) {
			st = ST_CONFLICT;
			break;
		}
		if (mono_ms() >= deadline) {
			st = lost != ST_OK ? lost : ST_TIMEOUT;
			break;
		}
		if (dup)
			usleep(SETTLE_PAUSE_US);	/* the other write is still being replicated */
	}
	pub->msg_id = NULL;
	if (st == ST_OK || e == NULL)
		return st;
	if (le.code == st)
		*e = le;
	else if (le.code == ST_OK)
		err_set(e, st, "key '%s' in bucket '%s': a write on revision %llu is still being "
			"replicated", key, bucket, (unsigned long long)want);
	else	/* an answer was lost, and a later attempt met something else */
		err_set(e, st, "key '%s' in bucket '%s': the answer to a write on revision %llu "
			"was lost and reading it back did not settle it", key, bucket,
			(unsigned long long)want);
	return st;
}

enum status
bus_kv_create(struct bus *b, const char *bucket, const char *key, const void *data,
	      size_t len, uint64_t *rev, struct err *e)
{
	struct bus_pub pub = { .expect_no_message = true };
	uint64_t last = 0;
	bool deleted = false, ours;
	enum status st;

	st = kv_cas(b, bucket, key, data, len, &pub, rev, e);
	if (st != ST_CONFLICT)
		return st;
	/* The key has history. Create over a delete marker, never over a value. */
	if ((st = kv_last(b, bucket, key, NULL, 0, &last, &deleted, &ours, e)) != ST_OK)
		return st;
	if (deleted) {
		pub.expect_no_message = false;
		pub.expect_last_subject_seq = last;
		st = kv_cas(b, bucket, key, data, len, &pub, rev, e);
		if (st != ST_CONFLICT)
			return st;
	}
	return err_set(e, ST_EXISTS, "key '%s' already exists in bucket '%s'", key, bucket);
}

enum status
bus_kv_update(struct bus *b, const char *bucket, const char *key, const void *data,
	      size_t len, uint64_t last_rev, uint64_t *rev, struct err *e)
{
	struct bus_pub pub = { .expect_last_subject_seq = last_rev };
	enum status st;

	if (last_rev == 0)
		return err_set(e, ST_BAD_VALUE, "update of '%s' needs a revision", key);
	st = kv_cas(b, bucket, key, data, len, &pub, rev, e);
	if (st == ST_CONFLICT)
		return err_set(e, ST_CONFLICT, "key '%s' in bucket '%s' is no longer at "
			       "revision %llu", key, bucket, (unsigned long long)last_rev);
	return st;
}

enum status
bus_kv_delete(struct bus *b, const char *bucket, const char *key, struct err *e)
{
	kvStore *kv;
	enum status st;

	if (!bus_kv_key_valid(key))
		return err_set(e, ST_BAD_VALUE, "invalid key '%s'", key);
	if ((st = bus_kv_handle(b, bucket, &kv, e)) != ST_OK)
		return st;
	if ((st = bus_ready(b, "delete", e)) != ST_OK)
		return st;
	return bus_map_err(b, kvStore_Delete(kv, key), 0, "delete", e);
}

/*
 * The keys of a bucket, from one headers-only watch of last values
 * (MetaOnly, IgnoreDeletes) read until the end of the initial values. Not
 * kvStore_Keys: nats.c 3.4.1 subtracts the time since the start from the
 * timeout after every key, so the budget runs out quadratically and a
 * bucket of a few thousand keys fails with NATS_TIMEOUT in milliseconds.
 * Here each key must come within the bus timeout, and the whole list
 * within KEYS_TOTAL_MS.
 */
#define KEYS_TOTAL_MS 60000

enum status
bus_kv_keys(struct bus *b, const char *bucket, char ***keys, size_t *n, struct err *e)
{
	int64_t stop = mono_ms() + KEYS_TOTAL_MS;
	kvWatchOptions wo;
	kvWatcher *w = NULL;
	kvEntry *ent = NULL;
	size_t cap = 0;
	kvStore *kv;
	natsStatus s;
	enum status st;

	*keys = NULL;
	*n = 0;
	if ((st = bus_kv_handle(b, bucket, &kv, e)) != ST_OK)
		return st;
	if ((st = bus_ready(b, "list keys", e)) != ST_OK)
		return st;
	kvWatchOptions_Init(&wo);
	wo.MetaOnly = true;
	wo.IgnoreDeletes = true;
	s = kvStore_WatchAll(&w, kv, &wo);
	while (s == NATS_OK && (s = kvWatcher_Next(&ent, w, b->timeout_ms)) == NATS_OK && ent) {
		xgrow(keys, &cap, *n + 2, sizeof **keys);
		(*keys)[(*n)++] = xstrdup(kvEntry_Key(ent));
		kvEntry_Destroy(ent);
		if (mono_ms() > stop)
			s = NATS_TIMEOUT;
	}
	kvWatcher_Destroy(w);
	if (s != NATS_OK) {
		strv_free(*keys, *n);
		*keys = NULL;
		*n = 0;
		return bus_map_err(b, s, 0, "list keys", e);
	}
	if (*keys == NULL)
		*keys = xcalloc(1, sizeof **keys);
	(*keys)[*n] = NULL;
	return ST_OK;
}

enum status
bus_kv_stat(struct bus *b, const char *bucket, struct bus_stream_stat *out, struct err *e)
{
	char *stream = xasprintf("KV_%s", bucket);
	enum status st = bus_stream_stat(b, stream, out, e);

	free(stream);
	return st == ST_NO_SCHEMA ? err_set(e, ST_NO_SCHEMA, "bucket '%s' does not exist", bucket)
				  : st;
}

/* A snapshot in progress: the watch's callback hands each last value to fn. */
struct kv_snap {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
	bus_kv_snapshot_fn fn;
	void *arg;
};

/* The snapshot watch's callback: values until snapshot_done, nothing after. */
static void
snap_event(void *arg, const struct bus_kv_event *ev)
{
	struct kv_snap *s = arg;

	pthread_mutex_lock(&s->mu);
	if (!s->done && ev->snapshot_done)
		s->done = true;
	else if (!s->done && ev->op == BUS_KV_PUT)
		s->fn(s->arg, ev->key, ev->value, ev->len, ev->revision);
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

#define SNAPSHOT_MS 30000	/* beyond the bus timeout: a large bucket's snapshot */

enum status
bus_kv_snapshot(struct bus *b, const char *bucket, bus_kv_snapshot_fn fn, void *arg,
		struct err *e)
{
	struct kv_snap s = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, fn, arg };
	struct timespec ts = deadline_ts(SNAPSHOT_MS + bus_timeout_ms(b));
	struct bus_stream_stat stat;
	struct bus_watch *w = NULL;
	enum status st;

	/* an empty bucket (most are, on a fleet that does not use them) needs no consumer */
	if ((st = bus_kv_stat(b, bucket, &stat, e)) != ST_OK || stat.msgs == 0)
		return st;
	if ((st = bus_kv_watch(b, bucket, 0, snap_event, &s, &w, e)) != ST_OK)
		return st;
	pthread_mutex_lock(&s.mu);
	while (!s.done && pthread_cond_timedwait(&s.cv, &s.mu, &ts) == 0)
		;
	st = s.done ? ST_OK : err_set(e, ST_TIMEOUT, "%s did not load in time", bucket);
	s.done = true;	/* later events are ignored until the watch is gone */
	pthread_mutex_unlock(&s.mu);
	bus_watch_free(w);
	return st;
}
