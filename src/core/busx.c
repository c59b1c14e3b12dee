/*
 * The event bus over nats.c: removal of KV keys by compare-and-swap, pull
 * consumers of work-queue streams, subject counts (see busx.h).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bus-direct.h"
#include "core/bus-int.h"
#include "core/busx.h"
#include "core/util.h"

/* --- many keys at once ------------------------------------------------- */

/* Is st the item's own outcome (its key changed, or it is a bad key or value)? */
static bool
item_own(enum status st)
{
	return st == ST_OK || st == ST_CONFLICT || st == ST_BAD_VALUE;
}

/*
 * The batch's status: the first item whose failure is not its own, with e
 * from the batch's first failure pe when that is no item's own (pe is then
 * that item's, or the batch failed before anything was sent), else named
 * after the item.
 */
static enum status
kv_verdict(const struct bus_kv_item *it, size_t n, const char *verb, const char *bucket,
	   const struct err *pe, struct err *e)
{
	size_t i;

	for (i = 0; i < n && item_own(it[i].st); i++)
		;
	if (i == n)
		return ST_OK;
	if (!item_own(pe->code)) {
		if (e)
			*e = *pe;
		return pe->code;
	}
	return err_set(e, it[i].st, "%s '%s' in bucket '%s': %s", verb, it[i].key, bucket,
		       status_text(it[i].st));
}

/*
 * Publish one message per item on $KV.<bucket>.<key>, pipelined: a put of
 * its value, or with marker (headers of a purge marker) a removal that
 * expects the item's revision. Keys no KV takes and values over the max
 * payload are refused here (ST_BAD_VALUE), the rest answered one by one.
 */
static enum status
kv_publish_many(struct bus *b, const char *bucket, struct bus_kv_item *it, size_t n,
		const char *const *marker, const char *verb, struct err *e)
{
	struct bus_pub_msg *m = xcalloc(n ? n : 1, sizeof *m);
	size_t *at = xcalloc(n ? n : 1, sizeof *at), i, k = 0;
	struct err pe = ERR_INIT;

	for (i = 0; i < n; i++) {
		it[i].seq = 0;
		it[i].st = ST_BAD_VALUE;
		if (!bus_kv_key_valid(it[i].key) ||
		    (!marker && (int64_t)it[i].len > bus_max_payload(b)))
			continue;	/* refused before anything is sent */
		m[k].subject = xasprintf("$KV.%s.%s", bucket, it[i].key);
		if (marker) {
			m[k].pub.headers = marker;
			m[k].pub.expect_last_subject_seq = it[i].rev;
			m[k].pub.expect_no_message = it[i].rev == 0;
		} else {
			m[k].data = it[i].data;
			m[k].len = it[i].len;
		}
		at[k++] = i;
	}
	bus_js_publish_many(b, m, k, &pe);
	for (i = 0; i < k; i++) {
		it[at[i]].st = m[i].st;
		it[at[i]].seq = m[i].seq;
		free((char *)m[i].subject);
	}
	for (i = 0; i < n; i++)
		if (it[i].st == ST_NO_SCHEMA || it[i].st == ST_NO_JETSTREAM)
			it[i].st = ST_NO_SCHEMA;
	if (pe.code == ST_NO_SCHEMA || pe.code == ST_NO_JETSTREAM)
		err_set(&pe, ST_NO_SCHEMA, "bucket '%s' does not exist", bucket);
	free(m);
	free(at);
	return kv_verdict(it, n, verb, bucket, &pe, e);
}

enum status
bus_kv_put_many(struct bus *b, const char *bucket, struct bus_kv_item *it, size_t n,
		struct err *e)
{
	return kv_publish_many(b, bucket, it, n, NULL, "put", e);
}

/*
 * Purge the subject of every removed item (st ST_OK, seq its marker) up to
 * and including its marker, pipelined; best effort (see busx.h).
 */
static void
kv_purge_many(struct bus *b, const char *bucket, const struct bus_kv_item *it, size_t n)
{
	struct bus_req *r = xcalloc(n ? n : 1, sizeof *r);
	struct buf *body = xcalloc(n ? n : 1, sizeof *body);
	char *subject = xasprintf("$JS.API.STREAM.PURGE.KV_%s", bucket);
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		if (it[i].st != ST_OK)
			continue;
		body[k] = (struct buf)BUF_INIT;
		buf_addf(&body[k], "{\"filter\":\"$KV.%s.%s\",\"seq\":%llu}", bucket, it[i].key,
			 (unsigned long long)it[i].seq + 1);	/* up to the marker, not past it */
		r[k].subject = subject;
		r[k].data = body[k].s;
		r[k].len = body[k].len;
		k++;
	}
	bus_request_many(b, r, k, NULL);
	for (i = 0; i < k; i++) {
		bus_req_release(&r[i]);
		buf_release(&body[i]);
	}
	free(subject);
	free(body);
	free(r);
}

enum status
bus_kv_remove_many(struct bus *b, const char *bucket, struct bus_kv_item *it, size_t n,
		   struct err *e)
{
	static const char *const marker[] = { "KV-Operation", "PURGE", "Nats-Rollup", "sub", NULL };
	enum status st = kv_publish_many(b, bucket, it, n, marker, "remove", e);

	kv_purge_many(b, bucket, it, n);
	return st;
}

enum status
bus_kv_remove(struct bus *b, const char *bucket, const char *key, uint64_t rev, struct err *e)
{
	struct bus_kv_item it = { .key = key, .rev = rev };
	enum status st = bus_kv_remove_many(b, bucket, &it, 1, e);

	if (it.st == ST_CONFLICT)
		return err_set(e, ST_CONFLICT, "'$KV.%s.%s' is no longer at revision %llu", bucket,
			       key, (unsigned long long)rev);
	if (it.st == ST_BAD_VALUE)
		return err_set(e, ST_BAD_VALUE, "invalid key '%s'", key);
	return st;
}

/* --- pull consumers ----------------------------------------------------- */

/*
 * A message kept past its subscription (bus_pull ends it at once): it is
 * settled by publishing the JetStream ack protocol on its reply subject,
 * which needs no subscription, where natsMsg_Ack() needs the one it came on.
 */
struct bus_msg {
	natsMsg *m;
	struct bus *b;
};

/* Send one ack-protocol word (and body) to the server for m. */
static void
msg_settle(struct bus_msg *m, const char *word)
{
	const char *reply = natsMsg_GetReply(m->m);

	if (reply && *reply)
		natsConnection_PublishString(m->b->nc, reply, word);
}

const char *
bus_msg_subject(const struct bus_msg *m)
{
	return natsMsg_GetSubject(m->m);
}

const char *
bus_msg_data(const struct bus_msg *m, size_t *len)
{
	*len = (size_t)natsMsg_GetDataLength(m->m);
	return natsMsg_GetData(m->m);
}

void
bus_msg_ack(struct bus_msg *m)
{
	msg_settle(m, "+ACK");
}

void
bus_msg_nak(struct bus_msg *m, int64_t delay_ms)
{
	char word[64];

	if (delay_ms <= 0) {
		msg_settle(m, "-NAK");
		return;
	}
	snprintf(word, sizeof word, "-NAK {\"delay\":%lld}", (long long)delay_ms * 1000000);
	msg_settle(m, word);
}

uint64_t
bus_msg_seq(const struct bus_msg *m)
{
	jsMsgMetaData *meta = NULL;
	uint64_t seq = 0;

	if (natsMsg_GetMetaData(&meta, m->m) == NATS_OK)
		seq = meta->Sequence.Stream;
	jsMsgMetaData_Destroy(meta);
	return seq;
}

void
bus_msg_free(struct bus_msg *m)
{
	if (m == NULL)
		return;
	natsMsg_Destroy(m->m);
	free(m);
}

/* Bind to the durable consumer of stream, making it when it is missing. */
static natsStatus
pull_bind(struct bus *b, const char *stream, const char *durable, const char *filter,
	  int64_t ack_wait_ms, natsSubscription **sub, jsErrCode *jerr)
{
	jsConsumerInfo *ci = NULL;
	jsConsumerConfig cc;
	jsSubOptions so;
	natsStatus s;

	jsSubOptions_Init(&so);
	so.Stream = stream;
	so.Consumer = durable;
	s = js_PullSubscribe(sub, b->js, filter, durable, NULL, &so, jerr);
	if (s != NATS_NOT_FOUND && *jerr != JSConsumerNotFoundErr)
		return s;
	jsConsumerConfig_Init(&cc);
	cc.Durable = durable;
	cc.AckPolicy = js_AckExplicit;
	cc.AckWait = ack_wait_ms * 1000000;
	cc.FilterSubject = filter;
	cc.MaxAckPending = -1;
	*jerr = 0;
	s = js_AddConsumer(&ci, b->js, stream, &cc, NULL, jerr);
	jsConsumerInfo_Destroy(ci);
	if (s != NATS_OK)
		return s;
	return js_PullSubscribe(sub, b->js, filter, durable, NULL, &so, jerr);
}

enum status
bus_pull(struct bus *b, const char *stream, const char *durable, const char *filter,
	 int64_t ack_wait_ms, int max, struct bus_msg **msgs, size_t *n, struct err *e)
{
	natsSubscription *sub = NULL;
	natsMsgList list = { 0 };
	jsFetchRequest fr;
	jsErrCode jerr = 0;
	natsStatus s;
	enum status st;
	int i;

	*n = 0;
	if ((st = bus_ready(b, "take from the queue", e)) != ST_OK)
		return st;
	s = pull_bind(b, stream, durable, filter, ack_wait_ms, &sub, &jerr);
	if (s == NATS_OK) {
		jsFetchRequest_Init(&fr);
		fr.Batch = max;
		fr.NoWait = true;
		fr.Expires = b->timeout_ms * 1000000;
		s = natsSubscription_FetchRequest(&list, sub, &fr);
		if (s == NATS_NOT_FOUND || list.Count > 0)
			s = NATS_OK;	/* nothing there, or a partial batch: the caller settles it */
		else if (s == NATS_TIMEOUT)
			s = NATS_OK;	/* nothing there */
	}
	for (i = 0; i < list.Count; i++) {
		msgs[*n] = xcalloc(1, sizeof **msgs);
		msgs[*n]->b = b;
		msgs[(*n)++]->m = list.Msgs[i];
		list.Msgs[i] = NULL;
	}
	natsMsgList_Destroy(&list);
	natsSubscription_Destroy(sub);
	if (jerr == JSStreamNotFoundErr)
		return err_set(e, ST_NO_SCHEMA, "stream '%s' does not exist", stream);
	return bus_map_err(b, s, jerr, "take from the queue", e);
}

/* --- subject counts ----------------------------------------------------- */

enum status
bus_stream_subjects(struct bus *b, const char *stream, const char *filter,
		    void (*fn)(void *arg, const char *subject, uint64_t n), void *arg,
		    struct err *e)
{
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	jsOptions o;
	natsStatus s;
	enum status st;
	int i;

	if ((st = bus_ready(b, "stream subjects", e)) != ST_OK)
		return st;
	jsOptions_Init(&o);
	o.Stream.Info.SubjectsFilter = filter;
	s = js_GetStreamInfo(&si, b->js, stream, &o, &jerr);
	if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr)
		return err_set(e, ST_NO_SCHEMA, "stream '%s' does not exist", stream);
	if (s != NATS_OK)
		return bus_map_err(b, s, jerr, "stream subjects", e);
	for (i = 0; si->State.Subjects && i < si->State.Subjects->Count; i++)
		fn(arg, si->State.Subjects->List[i].Subject, si->State.Subjects->List[i].Msgs);
	jsStreamInfo_Destroy(si);
	return ST_OK;
}
