/* Many stream messages read at once by direct get, many requests at once: see bus-direct.h. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bus-direct.h"
#include "core/bus-int.h"
#include "core/util.h"

#define DIRECT_WINDOW 256	/* requests in flight at once */

/* --- pipelined requests ------------------------------------------------- */

/*
 * n requests sent in windows on one reply subscription "<inbox>.*", request
 * i with the reply subject "<inbox>.<i>", so an answer names its request:
 * send(p, i, reply) publishes request i, take(p, i, m) takes its answer
 * (once; later copies are dropped).
 */
struct pipe {
	struct bus *b;
	size_t n;
	natsStatus (*send)(struct pipe *p, size_t i, const char *reply);
	void (*take)(struct pipe *p, size_t i, natsMsg *m);
	void *arg;
	bool *got;		/* answered, by request */
};

/* Take one answer (its subject names its request); true when it was a new one. */
static bool
pipe_take(struct pipe *p, natsMsg *m)
{
	const char *subj = natsMsg_GetSubject(m), *dot = strrchr(subj, '.');
	size_t k = dot ? (size_t)strtoull(dot + 1, NULL, 10) : p->n;

	if (k >= p->n || p->got[k])
		return false;
	p->got[k] = true;
	p->take(p, k, m);
	return true;
}

/* Send requests [from, to), then wait for their answers. */
static natsStatus
pipe_window(struct pipe *p, size_t from, size_t to, const char *inbox, natsSubscription *sub)
{
	int64_t deadline = mono_ms() + p->b->timeout_ms, left;
	size_t i, answered = 0;
	char reply[128];
	natsStatus s = NATS_OK;

	for (i = from; i < to && s == NATS_OK; i++) {
		snprintf(reply, sizeof reply, "%s.%zu", inbox, i);
		s = p->send(p, i, reply);
	}
	while (s == NATS_OK && answered < to - from && (left = deadline - mono_ms()) > 0) {
		natsMsg *m = NULL;

		s = natsSubscription_NextMsg(&m, sub, left);
		if (s == NATS_OK && pipe_take(p, m))
			answered++;
		natsMsg_Destroy(m);
	}
	return s == NATS_OK && answered < to - from ? NATS_TIMEOUT : s;
}

/*
 * Run every request of p, DIRECT_WINDOW at a time: ST_OK when each was
 * answered, else the failure (e set, naming what).
 */
static enum status
pipe_run(struct pipe *p, const char *what, struct err *e)
{
	natsSubscription *sub = NULL;
	natsInbox *inbox = NULL;
	char filter[128];
	natsStatus s;
	enum status st;
	size_t i;

	if (p->n == 0)
		return ST_OK;
	if ((st = bus_ready(p->b, what, e)) != ST_OK)
		return st;
	p->got = xcalloc(p->n, sizeof *p->got);
	s = natsInbox_Create(&inbox);
	if (s == NATS_OK) {
		snprintf(filter, sizeof filter, "%s.*", (const char *)inbox);
		s = natsConnection_SubscribeSync(&sub, p->b->nc, filter);
	}
	for (i = 0; i < p->n && s == NATS_OK; i += DIRECT_WINDOW)
		s = pipe_window(p, i, i + DIRECT_WINDOW < p->n ? i + DIRECT_WINDOW : p->n,
				(const char *)inbox, sub);
	natsSubscription_Destroy(sub);
	natsInbox_Destroy(inbox);
	free(p->got);
	p->got = NULL;
	return s == NATS_OK ? ST_OK : bus_map_err(p->b, s, 0, what, e);
}

/* --- direct gets -------------------------------------------------------- */

void
bus_direct_release(struct bus_direct *d)
{
	buf_release(&d->data);
	free(d->got_subject);
	d->got_subject = NULL;
}

/* The direct gets of one call: a pipe's arg. */
struct direct_gets {
	const char *stream;
	struct bus_direct *r;
};

/* Send direct get i. */
static natsStatus
direct_send(struct pipe *p, size_t i, const char *reply)
{
	const struct direct_gets *g = p->arg;
	const struct bus_direct *r = &g->r[i];
	const char *stream = g->stream;
	char body[48];
	char *subj;
	natsStatus s;

	if (r->seq) {
		subj = xasprintf("$JS.API.DIRECT.GET.%s", stream);
		snprintf(body, sizeof body, "{\"seq\":%llu}", (unsigned long long)r->seq);
		s = natsConnection_PublishRequest(p->b->nc, subj, reply, body, (int)strlen(body));
	} else {
		subj = xasprintf("$JS.API.DIRECT.GET.%s.%s", stream, r->subject);
		s = natsConnection_PublishRequest(p->b->nc, subj, reply, NULL, 0);
	}
	free(subj);
	return s;
}

/* Take the answer to direct get k. */
static void
direct_take(struct pipe *p, size_t k, natsMsg *m)
{
	struct bus_direct *d = &((struct direct_gets *)p->arg)->r[k];
	const char *v = NULL;

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

enum status
bus_direct_get_many(struct bus *b, const char *stream, struct bus_direct *r, size_t n,
		    struct err *e)
{
	struct direct_gets g = { stream, r };
	struct pipe p = { b, n, direct_send, direct_take, &g, NULL };
	char what[160];
	enum status st;
	size_t i;

	for (i = 0; i < n; i++) {
		r[i].st = ST_TIMEOUT;	/* until answered */
		r[i].data = (struct buf)BUF_INIT;
		r[i].got_seq = 0;
		r[i].got_subject = NULL;
	}
	snprintf(what, sizeof what, "read %zu messages of stream '%s'", n, stream);
	st = pipe_run(&p, what, e);
	for (i = 0; i < n && st == ST_OK; i++)
		if (r[i].st == ST_PROTOCOL)
			return err_set(e, ST_PROTOCOL, "%s: an answer without its sequence or subject",
				       what);
		else if (r[i].st == ST_UNREACHABLE)
			return err_set(e, ST_TIMEOUT, "%s: the server did not serve a read (a status "
				       "other than 404: no leader, or direct gets off)", what);
	return st;
}

/* --- requests ----------------------------------------------------------- */

void
bus_req_release(struct bus_req *r)
{
	buf_release(&r->reply);
}

/* Send request i (p->arg: the requests). */
static natsStatus
req_send(struct pipe *p, size_t i, const char *reply)
{
	const struct bus_req *r = (const struct bus_req *)p->arg + i;

	return natsConnection_PublishRequest(p->b->nc, r->subject, reply, r->data, (int)r->len);
}

/* Take the answer to request k: a "no responders" status is no answer. */
static void
req_take(struct pipe *p, size_t k, natsMsg *m)
{
	struct bus_req *r = (struct bus_req *)p->arg + k;

	if (natsMsg_IsNoResponders(m)) {
		r->st = ST_NOT_FOUND;
		return;
	}
	buf_reset(&r->reply);
	buf_add(&r->reply, natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m));
	r->st = ST_OK;
}

enum status
bus_request_many(struct bus *b, struct bus_req *r, size_t n, struct err *e)
{
	struct pipe p = { b, n, req_send, req_take, r, NULL };
	char what[160];
	enum status st;
	size_t i;

	for (i = 0; i < n; i++) {
		r[i].st = ST_TIMEOUT;	/* until answered */
		r[i].reply = (struct buf)BUF_INIT;
	}
	snprintf(what, sizeof what, "%zu requests to '%s'", n, n ? r[0].subject : "");
	for (i = 0; i < n; i++)
		if ((int64_t)r[i].len > bus_max_payload(b))
			return err_set(e, ST_BAD_VALUE, "request to '%s': %zu bytes is more than the "
				       "server's max payload of %lld bytes", r[i].subject, r[i].len,
				       (long long)bus_max_payload(b));
	st = pipe_run(&p, what, e);
	for (i = 0; i < n && st == ST_OK; i++)
		if (r[i].st == ST_NOT_FOUND)
			return err_set(e, ST_NOT_FOUND, "request to '%s': no service listens there",
				       r[i].subject);
	return st;
}
