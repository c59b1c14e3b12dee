/* Many stream messages read at once by direct get: see bus-direct.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bus-direct.h"
#include "core/bus-int.h"
#include "core/util.h"

#define DIRECT_WINDOW 256	/* requests in flight at once */

void
bus_direct_release(struct bus_direct *d)
{
	buf_release(&d->data);
	free(d->got_subject);
	d->got_subject = NULL;
}

/* Send request i of r with the reply subject "<inbox>.<i>". */
static natsStatus
direct_send(struct bus *b, const char *stream, const struct bus_direct *r, size_t i,
	    const char *inbox)
{
	char reply[128], body[48];
	char *subj;
	natsStatus s;

	snprintf(reply, sizeof reply, "%s.%zu", inbox, i);
	if (r->seq) {
		subj = xasprintf("$JS.API.DIRECT.GET.%s", stream);
		snprintf(body, sizeof body, "{\"seq\":%llu}", (unsigned long long)r->seq);
		s = natsConnection_PublishRequest(b->nc, subj, reply, body, (int)strlen(body));
	} else {
		subj = xasprintf("$JS.API.DIRECT.GET.%s.%s", stream, r->subject);
		s = natsConnection_PublishRequest(b->nc, subj, reply, NULL, 0);
	}
	free(subj);
	return s;
}

/* Take one answer (its subject names its request) into r. */
static void
direct_take(struct bus_direct *r, size_t n, natsMsg *m, size_t *answered)
{
	const char *subj = natsMsg_GetSubject(m), *dot = strrchr(subj, '.'), *v = NULL;
	size_t k = dot ? (size_t)strtoull(dot + 1, NULL, 10) : n;
	struct bus_direct *d;

	if (k >= n || r[k].st != ST_TIMEOUT)
		return;
	d = &r[k];
	(*answered)++;
	if (natsMsg_GetDataLength(m) == 0 && natsMsgHeader_Get(m, "Status", &v) == NATS_OK) {
		/* 404: no such message; any other status (503, 408) is no answer about it */
		d->st = strcmp(v, "404") == 0 ? ST_NOT_FOUND : ST_UNREACHABLE;
		return;
	}
	if (natsMsgHeader_Get(m, "Nats-Sequence", &v) != NATS_OK ||
	    (d->got_seq = strtoull(v, NULL, 10)) == 0) {
		d->st = ST_PROTOCOL;
		return;
	}
	if (natsMsgHeader_Get(m, "Nats-Subject", &v) == NATS_OK)
		d->got_subject = xstrdup(v);
	d->op = BUS_KV_PUT;
	if (natsMsgHeader_Get(m, "KV-Operation", &v) == NATS_OK)
		d->op = strcmp(v, "DEL") == 0 ? BUS_KV_DEL : strcmp(v, "PURGE") == 0 ?
			BUS_KV_PURGE : BUS_KV_PUT;
	buf_reset(&d->data);
	buf_add(&d->data, natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m));
	d->st = d->got_subject ? ST_OK : ST_PROTOCOL;
}

/* Send requests [from, to) of r, then wait for their answers. */
static natsStatus
direct_window(struct bus *b, const char *stream, struct bus_direct *r, size_t n, size_t from,
	      size_t to, const char *inbox, natsSubscription *sub)
{
	int64_t deadline = mono_ms() + b->timeout_ms, left;
	size_t i, answered = 0;
	natsStatus s = NATS_OK;

	for (i = from; i < to && s == NATS_OK; i++)
		s = direct_send(b, stream, &r[i], i, inbox);
	while (s == NATS_OK && answered < to - from && (left = deadline - mono_ms()) > 0) {
		natsMsg *m = NULL;

		s = natsSubscription_NextMsg(&m, sub, left);
		if (s == NATS_OK)
			direct_take(r, n, m, &answered);
		natsMsg_Destroy(m);
	}
	return s == NATS_OK && answered < to - from ? NATS_TIMEOUT : s;
}

enum status
bus_direct_get_many(struct bus *b, const char *stream, struct bus_direct *r, size_t n,
		    struct err *e)
{
	natsSubscription *sub = NULL;
	natsInbox *inbox = NULL;
	char what[160], filter[128];
	natsStatus s;
	enum status st;
	size_t i;

	for (i = 0; i < n; i++) {
		r[i].st = ST_TIMEOUT;	/* until answered */
		r[i].data = (struct buf)BUF_INIT;
		r[i].got_seq = 0;
		r[i].got_subject = NULL;
	}
	snprintf(what, sizeof what, "read %zu messages of stream '%s'", n, stream);
	if (n == 0 || (st = bus_ready(b, what, e)) != ST_OK)
		return n == 0 ? ST_OK : st;
	s = natsInbox_Create(&inbox);
	if (s == NATS_OK) {
		snprintf(filter, sizeof filter, "%s.*", (const char *)inbox);
		s = natsConnection_SubscribeSync(&sub, b->nc, filter);
	}
	for (i = 0; i < n && s == NATS_OK; i += DIRECT_WINDOW)
		s = direct_window(b, stream, r, n, i, i + DIRECT_WINDOW < n ? i + DIRECT_WINDOW : n,
				  (const char *)inbox, sub);
	natsSubscription_Destroy(sub);
	natsInbox_Destroy(inbox);
	for (i = 0; i < n && s == NATS_OK; i++)
		if (r[i].st == ST_PROTOCOL)
			return err_set(e, ST_PROTOCOL, "%s: an answer without its sequence or subject",
				       what);
		else if (r[i].st == ST_UNREACHABLE)
			return err_set(e, ST_TIMEOUT, "%s: the server did not serve a read (a status "
				       "other than 404: no leader, or direct gets off)", what);
	return s == NATS_OK ? ST_OK : bus_map_err(b, s, 0, what, e);
}
