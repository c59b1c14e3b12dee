/*
 * The event bus over nats.c: removal of KV keys by compare-and-swap, pull
 * consumers of work-queue streams, subject counts (see busx.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bus-int.h"
#include "core/busx.h"
#include "core/util.h"

/* --- removal ------------------------------------------------------------ */

/* Write the purge marker of key, expecting its last revision to be rev. */
static enum status
kv_mark(struct bus *b, const char *subject, uint64_t rev, uint64_t *marker, struct err *e)
{
	natsMsg *m = NULL;
	jsPubAck *pa = NULL;
	jsErrCode jerr = 0;
	char num[24];
	natsStatus s;

	snprintf(num, sizeof num, "%llu", (unsigned long long)rev);
	s = natsMsg_Create(&m, subject, NULL, NULL, 0);
	if (s == NATS_OK)
		s = natsMsgHeader_Set(m, "KV-Operation", "PURGE");
	if (s == NATS_OK)
		s = natsMsgHeader_Set(m, "Nats-Rollup", "sub");
	if (s == NATS_OK)
		s = natsMsgHeader_Set(m, "Nats-Expected-Last-Subject-Sequence", num);
	if (s == NATS_OK)
		s = js_PublishMsg(&pa, b->js, m, NULL, &jerr);
	if (s == NATS_OK)
		*marker = pa->Sequence;
	jsPubAck_Destroy(pa);
	natsMsg_Destroy(m);
	if (jerr == JSStreamWrongLastSequenceErr)
		return err_set(e, ST_CONFLICT, "'%s' is no longer at revision %llu", subject,
			       (unsigned long long)rev);
	return bus_map_err(b, s, jerr, "remove", e);
}

enum status
bus_kv_remove(struct bus *b, const char *bucket, const char *key, uint64_t rev, struct err *e)
{
	char *subject, *stream;
	uint64_t marker = 0;
	jsOptions o;
	enum status st;

	if (!bus_kv_key_valid(key))
		return err_set(e, ST_BAD_VALUE, "invalid key '%s'", key);
	if ((st = bus_ready(b, "remove", e)) != ST_OK)
		return st;
	subject = xasprintf("$KV.%s.%s", bucket, key);
	stream = xasprintf("KV_%s", bucket);
	if ((st = kv_mark(b, subject, rev, &marker, e)) == ST_OK) {
		jsOptions_Init(&o);
		o.Stream.Purge.Subject = subject;
		o.Stream.Purge.Sequence = marker + 1;	/* up to the marker, not past it */
		js_PurgeStream(b->js, stream, &o, NULL);	/* best effort: see busx.h */
	}
	free(subject);
	free(stream);
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
