/*
 * The event bus over nats.c: see bus.h.
 *
 * Connection state. nats.c reports disconnects, reconnects and closure on
 * its event thread; we mirror them in b->state under b->mu and broadcast
 * b->cv. An operation first waits (bounded by the timeout) for the state to
 * be CONNECTED, so a command issued during an outage fails with
 * ST_DISCONNECTED after nats.timeout_ms rather than hanging or failing at
 * once.
 *
 * Watches. A watch is a push consumer on the bucket's stream with idle
 * heartbeats and no acks. Each delivered message carries its stream
 * sequence (the KV revision) and its consumer sequence. The watch keeps the
 * last revision it delivered; a message at or below it is a duplicate and is
 * dropped, a jump in consumer sequence is a gap. On a gap, a missed
 * heartbeat or a reconnect, the watch is marked for reset and the bus's
 * worker thread re-creates the consumer from last revision + 1.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <nats/nats.h>

#include "core/bus.h"
#include "core/server.h"
#include "core/util.h"

#define WATCH_HEARTBEAT_MS 1000

struct bus {
	natsConnection *nc;
	natsOptions *opts;
	jsCtx *js;
	char *url;
	int64_t timeout_ms;
	int64_t backoff_ms, backoff_max_ms;	/* reconnect delay bounds */
	bus_state_fn on_state;
	void *state_arg;
	atomic_int drop_answers;	/* fault injection: JetStream answers to ignore */
	atomic_uint refusals;		/* permission violations the server reported */

	pthread_mutex_t mu;		/* guards everything below */
	pthread_cond_t cv;
	enum bus_state state;
	uint64_t reconnects;
	struct kv_handle { char *bucket; kvStore *kv; } *kvs;
	size_t nkvs, kvcap;
	struct bus_watch **watches;
	size_t nwatches, watchcap;
	pthread_t worker;
	bool worker_started, stopping, work_pending;
	bool resetting;			/* the worker is re-creating watches */
	bool closed_cb;			/* nats.c delivered its last callback */
	int64_t refused_ms;		/* mono_ms() of the last permission violation */
	char refused[200];		/* its text, lowercase */
};

struct bus_watch {
	struct bus *bus;
	char *bucket, *stream, *filter;
	size_t key_skip;		/* subject prefix dropped to make the key */
	bool kv;			/* a bucket (snapshot by key) or a plain stream */
	bus_watch_fn fn;
	void *arg;

	pthread_mutex_t mu;		/* guards everything below */
	natsSubscription *sub;
	uint64_t last_rev;		/* last revision delivered */
	uint64_t cons_seq;		/* last consumer sequence on sub */
	bool snapshot_pending;		/* snapshot_done not sent yet */
	bool need_reset;
	bool stopped;
	uint64_t resets;
};

struct bus_sub {
	natsSubscription *sub;
	bus_msg_fn fn;
	void *arg;
};

/* --- status mapping ---------------------------------------------------- */

/*
 * JetStream refusals by error code, for acknowledgements and API calls
 * alike. text NULL: the server's own description follows "what: ". Codes not
 * listed are ST_PROTOCOL with the server's description.
 */
static const struct js_refusal {
	int code;
	enum status st;
	const char *text;
} js_refusals[] = {
	{ JSStreamWrongLastSequenceErr, ST_CONFLICT, "the revision changed" },
	{ JSStreamWrongLastMsgIDErr, ST_CONFLICT, NULL },
	{ JSStreamNotFoundErr, ST_NO_SCHEMA, "stream not found" },
	{ JSNotEnabledErr, ST_NO_JETSTREAM, "JetStream is not enabled" },
	{ JSNotEnabledForAccountErr, ST_NO_JETSTREAM, "JetStream is not enabled" },
	{ JSStreamMessageExceedsMaximumErr, ST_BAD_VALUE,
	  "the message is larger than the stream's maximum message size" },
	{ JSStreamStoreFailedErr, ST_STORE_FULL, NULL },	/* "maximum bytes exceeded" */
	{ JSInsufficientResourcesErr, ST_STORE_FULL, NULL },
	{ JSStorageResourcesExceededErr, ST_STORE_FULL, NULL },
	{ JSMemoryResourcesExceededErr, ST_STORE_FULL, NULL },
	{ JSAccountResourcesExceededErr, ST_STORE_FULL, NULL },
	{ JSStreamLimitsErr, ST_STORE_FULL, NULL },
};

static const struct js_refusal *
refusal_find(int code)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(js_refusals); i++)
		if (js_refusals[i].code == code)
			return &js_refusals[i];
	return NULL;
}

/* A JetStream refusal as a status; desc is the server's text, or NULL. */
static enum status
map_refusal(int code, const char *desc, const char *what, struct err *e)
{
	const struct js_refusal *r = refusal_find(code);

	if (r == NULL)
		return err_set(e, ST_PROTOCOL, "%s: %s", what, desc ? desc : "refused");
	return err_set(e, r->st, "%s: %s", what, r->text ? r->text : desc ? desc : "refused");
}

/*
 * The server refuses a publish or subscribe the user's permissions do not
 * allow with an asynchronous -ERR, and the request then just goes
 * unanswered; so a timeout shortly after a refusal is that refusal.
 */
static enum status
refused_err(struct bus *b, const char *what, struct err *e)
{
	char text[sizeof b->refused];

	pthread_mutex_lock(&b->mu);
	memcpy(text, b->refused, sizeof text);
	pthread_mutex_unlock(&b->mu);
	return err_set(e, ST_NOT_PERMITTED, "%s: refused by the server (%s)", what, text);
}

/* Was a permission violation reported within the last timeout? */
static bool
refused_lately(struct bus *b)
{
	bool yes;

	pthread_mutex_lock(&b->mu);
	yes = b->refused_ms && mono_ms() - b->refused_ms <= b->timeout_ms + 1000;
	pthread_mutex_unlock(&b->mu);
	return yes;
}

static enum status
map_err(struct bus *b, natsStatus s, jsErrCode jerr, const char *what, struct err *e)
{
	const char *last = nats_GetLastError(NULL);
	enum bus_state state = b ? bus_get_state(b) : BUS_CONNECTED;

	if (s == NATS_OK)
		return ST_OK;
	if (b && (s == NATS_TIMEOUT || s == NATS_NOT_PERMITTED) && refused_lately(b))
		return refused_err(b, what, e);
	if (jerr && refusal_find((int)jerr))
		return map_refusal((int)jerr, last, what, e);
	switch (s) {
	case NATS_NO_SERVER:
		return err_set(e, ST_UNREACHABLE, "%s: no server answered", what);
	case NATS_TIMEOUT:
		if (state != BUS_CONNECTED)
			return err_set(e, ST_DISCONNECTED, "%s: connection lost, no answer within %lld ms",
				       what, (long long)(b ? b->timeout_ms : 0));
		return err_set(e, ST_TIMEOUT, "%s: no answer within %lld ms", what,
			       (long long)(b ? b->timeout_ms : 0));
	case NATS_CONNECTION_CLOSED:
	case NATS_CONNECTION_DISCONNECTED:
	case NATS_STALE_CONNECTION:
	case NATS_IO_ERROR:	/* the socket broke under the operation */
		return err_set(e, ST_DISCONNECTED, "%s: connection lost", what);
	case NATS_NOT_FOUND:
		return err_set(e, ST_NOT_FOUND, "%s: not found", what);
	case NATS_NO_RESPONDERS:
		return err_set(e, ST_NO_JETSTREAM, "%s: nothing answers (JetStream disabled?)", what);
	case NATS_NOT_PERMITTED:
		return err_set(e, ST_NOT_PERMITTED, "%s: not permitted by the server", what);
	case NATS_CONNECTION_AUTH_FAILED:
		return err_set(e, ST_NOT_PERMITTED, "%s: authorization failed (check nats.user, "
			       "nats.password, nats.token or nats.creds)", what);
	case NATS_MAX_PAYLOAD:
		return err_set(e, ST_BAD_VALUE, "%s: the message is larger than the server's "
			       "max payload of %lld bytes", what, (long long)bus_max_payload(b));
	default:
		return err_set(e, ST_PROTOCOL, "%s: %s%s%s", what, natsStatus_GetText(s),
			       last && *last ? ": " : "", last && *last ? last : "");
	}
}

/* --- options and connection state ------------------------------------- */

static char *
opt_dup(const struct config *c, enum cfg_id id)
{
	const char *v = cfg_str(c, id);

	return *v ? xstrdup(v) : NULL;
}

/*
 * Move "user:password@" (or "token@") out of each URL in the list into the
 * options (the first one wins; nats.user, nats.password and nats.token win
 * over it), so the URL that -v and error messages show carries no secret.
 */
static void
url_take_userinfo(struct bus_opts *o)
{
	char *p = o->url, *at, *end, *colon;

	while ((p = strstr(p, "://")) != NULL) {
		p += 3;
		end = p + strcspn(p, "/,");
		at = memchr(p, '@', (size_t)(end - p));
		if (at == NULL)
			continue;
		colon = memchr(p, ':', (size_t)(at - p));
		if (!o->user && !o->password && !o->token && colon) {
			o->user = xstrndup(p, (size_t)(colon - p));
			o->password = xstrndup(colon + 1, (size_t)(at - colon - 1));
		} else if (!o->user && !o->password && !o->token) {
			o->token = xstrndup(p, (size_t)(at - p));
		}
		memmove(p, at + 1, strlen(at + 1) + 1);
	}
}

void
bus_opts_from_config(struct bus_opts *o, const struct config *c)
{
	memset(o, 0, sizeof *o);
	o->url = config_nats_url(c);
	o->timeout_ms = cfg_int(c, CK_NATS_TIMEOUT_MS);
	o->name = xstrdup(cfg_str(c, CK_NATS_NAME));
	o->creds = opt_dup(c, CK_NATS_CREDS);
	o->user = opt_dup(c, CK_NATS_USER);
	o->password = opt_dup(c, CK_NATS_PASSWORD);
	o->token = opt_dup(c, CK_NATS_TOKEN);
	o->tls_ca = opt_dup(c, CK_NATS_TLS_CA);
	o->tls_cert = opt_dup(c, CK_NATS_TLS_CERT);
	o->tls_key = opt_dup(c, CK_NATS_TLS_KEY);
	url_take_userinfo(o);
	if (!o->user && !o->password && !o->token && !o->creds)
		server_local_login(c, &o->user, &o->password);
	o->reconnect_wait_ms = cfg_int(c, CK_NATS_RECONNECT_WAIT_MS);
	o->reconnect_max_wait_ms = cfg_int(c, CK_NATS_RECONNECT_MAX_WAIT_MS);
	o->max_reconnects = (int)cfg_int(c, CK_NATS_MAX_RECONNECTS);
}

void
bus_opts_release(struct bus_opts *o)
{
	free(o->url);
	free(o->name);
	free(o->creds);
	free(o->user);
	free(o->password);
	free(o->token);
	free(o->tls_ca);
	free(o->tls_cert);
	free(o->tls_key);
	memset(o, 0, sizeof *o);
}

static void
set_state(struct bus *b, enum bus_state s)
{
	bus_state_fn fn;

	pthread_mutex_lock(&b->mu);
	if (b->state == BUS_CLOSED) {
		pthread_mutex_unlock(&b->mu);
		return;
	}
	if (s == BUS_CONNECTED && b->state == BUS_RECONNECTING) {
		size_t i;
		b->reconnects++;
		for (i = 0; i < b->nwatches; i++) {
			pthread_mutex_lock(&b->watches[i]->mu);
			b->watches[i]->need_reset = true;
			pthread_mutex_unlock(&b->watches[i]->mu);
		}
		b->work_pending = true;
	}
	b->state = s;
	fn = b->on_state;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
	if (fn)
		fn(b->state_arg, s);
}

static void on_disconnected(natsConnection *nc, void *arg) { (void)nc; set_state(arg, BUS_RECONNECTING); }
static void on_reconnected(natsConnection *nc, void *arg) { (void)nc; set_state(arg, BUS_CONNECTED); }

/*
 * The closed callback is the last one nats.c delivers, on its own thread,
 * possibly after natsConnection_Close() returned: bus_close() waits for it
 * before freeing the bus.
 */
static void
on_closed(natsConnection *nc, void *arg)
{
	struct bus *b = arg;

	(void)nc;
	set_state(b, BUS_CLOSED);
	pthread_mutex_lock(&b->mu);
	b->closed_cb = true;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

/* Backoff: wait, 2*wait, 4*wait ... capped, with up to 20% jitter. */
static int64_t
reconnect_delay(natsConnection *nc, int attempts, void *arg)
{
	const struct bus *b = arg;
	int64_t d = b->backoff_ms;
	int i;

	(void)nc;
	for (i = 1; i < attempts && d < b->backoff_max_ms; i++)
		d *= 2;
	if (d > b->backoff_max_ms)
		d = b->backoff_max_ms;
	return d + (int64_t)(rand() % (int)(d / 5 + 1));
}

static void mark_watch_reset(struct bus *b, natsSubscription *sub);

/* Keep the server's text of a permission violation for refused_err(). */
static void
note_refusal(struct bus *b, natsConnection *nc)
{
	const char *text = NULL;
	size_t i;

	natsConnection_GetLastError(nc, &text);
	pthread_mutex_lock(&b->mu);
	snprintf(b->refused, sizeof b->refused, "%s", text && *text ? text : "permissions violation");
	for (i = 0; b->refused[i] && b->refused[i] != '"'; i++)
		b->refused[i] = (char)tolower((unsigned char)b->refused[i]);
	b->refused_ms = mono_ms();
	pthread_mutex_unlock(&b->mu);
	atomic_fetch_add(&b->refusals, 1);
}

static void
on_async_error(natsConnection *nc, natsSubscription *sub, natsStatus s, void *arg)
{
	if (s == NATS_NOT_PERMITTED)
		note_refusal(arg, nc);
	if (sub && (s == NATS_MISSED_HEARTBEAT || s == NATS_MISMATCH || s == NATS_SLOW_CONSUMER))
		mark_watch_reset(arg, sub);
}

static natsStatus
build_options(struct bus *b, const struct bus_opts *o)
{
	natsOptions *no = NULL;
	natsStatus s;

	s = natsOptions_Create(&no);
	if (s == NATS_OK)
		s = natsOptions_SetServers(no, NULL, 0);
	if (s == NATS_OK)
		s = natsOptions_SetURL(no, o->url);
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(no, o->timeout_ms);
	if (s == NATS_OK)
		s = natsOptions_SetName(no, o->name ? o->name : "ifctl");
	if (s == NATS_OK)
		s = natsOptions_SetSendAsap(no, true);
	if (s == NATS_OK)
		s = natsOptions_SetMaxReconnect(no, o->max_reconnects);
	if (s == NATS_OK)
		s = natsOptions_SetCustomReconnectDelay(no, reconnect_delay, b);
	if (s == NATS_OK)
		s = natsOptions_SetRetryOnFailedConnect(no, o->retry_on_failed_connect,
							 on_reconnected, b);
	if (s == NATS_OK)
		s = natsOptions_SetDisconnectedCB(no, on_disconnected, b);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectedCB(no, on_reconnected, b);
	if (s == NATS_OK)
		s = natsOptions_SetClosedCB(no, on_closed, b);
	if (s == NATS_OK)
		s = natsOptions_SetErrorHandler(no, on_async_error, b);
	if (s == NATS_OK && o->creds)
		s = natsOptions_SetUserCredentialsFromFiles(no, o->creds, NULL);
	if (s == NATS_OK && o->user)
		s = natsOptions_SetUserInfo(no, o->user, o->password ? o->password : "");
	if (s == NATS_OK && o->token)
		s = natsOptions_SetToken(no, o->token);
	if (s == NATS_OK && (o->tls_ca || o->tls_cert))
		s = natsOptions_SetSecure(no, true);
	if (s == NATS_OK && o->tls_ca)
		s = natsOptions_LoadCATrustedCertificates(no, o->tls_ca);
	if (s == NATS_OK && o->tls_cert)
		s = natsOptions_LoadCertificatesChain(no, o->tls_cert, o->tls_key);
	if (s != NATS_OK)
		natsOptions_Destroy(no);
	else
		b->opts = no;
	return s;
}

static void *worker_main(void *arg);

enum status
bus_open(struct bus **out, const struct bus_opts *o, struct err *e)
{
	struct bus *b = xcalloc(1, sizeof *b);
	jsOptions jo;
	natsStatus s;
	enum status st;

	*out = NULL;
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->cv, NULL);
	b->url = xstrdup(o->url);
	b->timeout_ms = o->timeout_ms;
	b->backoff_ms = o->reconnect_wait_ms > 0 ? o->reconnect_wait_ms : 100;
	b->backoff_max_ms = o->reconnect_max_wait_ms > b->backoff_ms ?
			    o->reconnect_max_wait_ms : b->backoff_ms;
	b->on_state = o->on_state;
	b->state_arg = o->state_arg;
	b->state = BUS_RECONNECTING;
	s = build_options(b, o);
	if (s != NATS_OK) {
		st = map_err(NULL, s, 0, "invalid connection options", e);
		goto fail;
	}
	s = natsConnection_Connect(&b->nc, b->opts);
	if (s == NATS_NOT_YET_CONNECTED) {
		s = NATS_OK;	/* retry_on_failed_connect: reconnecting in background */
	} else if (s == NATS_OK) {
		b->state = BUS_CONNECTED;
	} else {
		char what[300];
		snprintf(what, sizeof what, "cannot connect to '%s'", o->url);
		st = map_err(NULL, s, 0, what, e);
		goto fail;
	}
	jsOptions_Init(&jo);
	jo.Wait = o->timeout_ms;
	s = natsConnection_JetStream(&b->js, b->nc, &jo);
	if (s != NATS_OK) {
		st = map_err(b, s, 0, "cannot set up JetStream", e);
		goto fail;
	}
	if (pthread_create(&b->worker, NULL, worker_main, b) == 0)
		b->worker_started = true;
	*out = b;
	return ST_OK;
fail:
	bus_close(b);
	return st;
}

void
bus_close(struct bus *b)
{
	size_t i;

	if (b == NULL)
		return;
	pthread_mutex_lock(&b->mu);
	b->stopping = true;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
	if (b->worker_started)
		pthread_join(b->worker, NULL);
	for (i = 0; i < b->nkvs; i++) {
		kvStore_Destroy(b->kvs[i].kv);
		free(b->kvs[i].bucket);
	}
	free(b->kvs);
	free(b->watches);
	jsCtx_Destroy(b->js);
	if (b->nc) {
		struct timespec ts;
		int64_t deadline = wall_ms() + 5000;

		natsConnection_Close(b->nc);
		ts.tv_sec = deadline / 1000;
		ts.tv_nsec = (deadline % 1000) * 1000000;
		pthread_mutex_lock(&b->mu);
		while (!b->closed_cb &&
		       pthread_cond_timedwait(&b->cv, &b->mu, &ts) != ETIMEDOUT)
			;
		pthread_mutex_unlock(&b->mu);
		natsConnection_Destroy(b->nc);
	}
	natsOptions_Destroy(b->opts);
	pthread_cond_destroy(&b->cv);
	pthread_mutex_destroy(&b->mu);
	free(b->url);
	free(b);
}

void
bus_shutdown(void)
{
	nats_CloseAndWait(2000);
}

enum bus_state
bus_get_state(struct bus *b)
{
	enum bus_state s;

	pthread_mutex_lock(&b->mu);
	s = b->state;
	pthread_mutex_unlock(&b->mu);
	return s;
}

const char *
bus_state_name(enum bus_state s)
{
	static const char *const names[] = {
		[BUS_CONNECTED] = "connected", [BUS_RECONNECTING] = "reconnecting",
		[BUS_CLOSED] = "closed",
	};
	return names[s];
}

uint64_t
bus_reconnects(struct bus *b)
{
	uint64_t n;

	pthread_mutex_lock(&b->mu);
	n = b->reconnects;
	pthread_mutex_unlock(&b->mu);
	return n;
}

const char *bus_url(const struct bus *b) { return b->url; }
int64_t bus_timeout_ms(const struct bus *b) { return b->timeout_ms; }

/*
 * Wait until the connection is up, at most the timeout. Every operation
 * starts here, so an outage costs a caller nats.timeout_ms, not forever.
 */
static enum status
bus_ready(struct bus *b, const char *what, struct err *e)
{
	struct timespec ts;
	int64_t deadline_ms = wall_ms() + b->timeout_ms;
	enum status st = ST_OK;

	pthread_mutex_lock(&b->mu);
	while (b->state == BUS_RECONNECTING) {
		ts.tv_sec = deadline_ms / 1000;
		ts.tv_nsec = (deadline_ms % 1000) * 1000000;
		if (pthread_cond_timedwait(&b->cv, &b->mu, &ts) == ETIMEDOUT)
			break;
	}
	if (b->state == BUS_RECONNECTING)
		st = err_set(e, ST_DISCONNECTED, "%s: server '%s' unavailable, still "
			     "reconnecting after %lld ms", what, b->url, (long long)b->timeout_ms);
	else if (b->state == BUS_CLOSED)
		st = err_set(e, ST_DISCONNECTED, "%s: connection to '%s' is closed", what, b->url);
	pthread_mutex_unlock(&b->mu);
	return st;
}

enum status
bus_rtt(struct bus *b, int64_t *rtt_us, struct err *e)
{
	int64_t ns = 0;
	natsStatus s;
	enum status st = bus_ready(b, "ping", e);

	if (st != ST_OK)
		return st;
	s = natsConnection_GetRTT(b->nc, &ns);
	*rtt_us = ns / 1000;
	return map_err(b, s, 0, "ping", e);
}

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
	return map_err(b, natsConnection_Publish(b->nc, subject, data, (int)len), 0, what, e);
}

enum status
bus_flush(struct bus *b, struct err *e)
{
	enum status st = bus_ready(b, "flush", e);

	if (st != ST_OK)
		return st;
	return map_err(b, natsConnection_FlushTimeout(b->nc, b->timeout_ms), 0, "flush", e);
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
		return map_err(b, s, 0, what, e);
	buf_reset(reply);
	buf_add(reply, natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg));
	natsMsg_Destroy(msg);
	return ST_OK;
}

static void
sub_trampoline(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *arg)
{
	struct bus_sub *s = arg;

	(void)nc;
	(void)sub;
	s->fn(s->arg, natsMsg_GetSubject(msg), natsMsg_GetData(msg),
	      (size_t)natsMsg_GetDataLength(msg), natsMsg_GetReply(msg));
	natsMsg_Destroy(msg);
}

enum status
bus_subscribe(struct bus *b, const char *subject, bus_msg_fn fn, void *arg,
	      struct bus_sub **out, struct err *e)
{
	struct bus_sub *s = xcalloc(1, sizeof *s);
	char what[256];
	natsStatus ns;

	s->fn = fn;
	s->arg = arg;
	snprintf(what, sizeof what, "subscribe to '%s'", subject);
	ns = natsConnection_Subscribe(&s->sub, b->nc, subject, sub_trampoline, s);
	if (ns != NATS_OK) {
		free(s);
		return map_err(b, ns, 0, what, e);
	}
	*out = s;
	return ST_OK;
}

void
bus_sub_free(struct bus_sub *s)
{
	if (s == NULL)
		return;
	natsSubscription_Unsubscribe(s->sub);
	natsSubscription_WaitForDrainCompletion(s->sub, 100);
	natsSubscription_Destroy(s->sub);
	free(s);
}

/* --- JetStream publish and KV ------------------------------------------ */

/* The headers that carry a publish's expectations to JetStream. */
static natsStatus
pub_headers(natsMsg *msg, const struct bus_pub *p)
{
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
	return s;
}

/* One JetStream acknowledgement: {"seq":N[,"duplicate":true]} or {"error":{...}}. */
static enum status
parse_ack(natsMsg *msg, struct bus_pub_msg *m, const char *what, struct err *e)
{
	const cJSON *err, *seq;
	cJSON *j;
	enum status st = ST_OK;

	if (natsMsg_IsNoResponders(msg))
		return err_set(e, ST_NO_SCHEMA, "%s: no stream takes subject '%s'", what, m->subject);
	j = cJSON_ParseWithLength(natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg));
	err = cJSON_GetObjectItemCaseSensitive(j, "error");
	seq = cJSON_GetObjectItemCaseSensitive(j, "seq");
	if (err) {
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(err, "err_code");
		const cJSON *text = cJSON_GetObjectItemCaseSensitive(err, "description");
		int c = cJSON_IsNumber(code) ? code->valueint : 0;
		st = map_refusal(c, cJSON_IsString(text) ? text->valuestring : NULL, what, e);
	} else if (!cJSON_IsNumber(seq)) {
		st = err_set(e, ST_PROTOCOL, "%s: the acknowledgement has no sequence", what);
	} else {
		m->seq = (uint64_t)seq->valuedouble;
		m->duplicate = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "duplicate"));
	}
	cJSON_Delete(j);
	return st;
}

enum status
bus_js_publish_many(struct bus *b, struct bus_pub_msg *m, size_t n, struct err *e)
{
	natsSubscription *sub = NULL;
	natsInbox *inbox = NULL;
	char what[256], reply[128];
	struct err first = ERR_INIT;
	size_t i, answered = 0, first_i = n;
	unsigned refusals = atomic_load(&b->refusals);
	int64_t deadline;
	natsStatus s;
	enum status st;

	if (n == 0)
		return ST_OK;
	for (i = 0; i < n; i++) {
		m[i].st = ST_TIMEOUT;	/* until answered */
		m[i].seq = 0;
		m[i].duplicate = false;
	}
	snprintf(what, sizeof what, "publish to '%s'", m[0].subject);
	if ((st = bus_ready(b, what, e)) != ST_OK)
		return st;
	for (i = 0; i < n; i++)	/* refuse before anything is sent */
		if ((int64_t)m[i].len > bus_max_payload(b))
			return err_set(e, ST_BAD_VALUE, "publish to '%s': the message of %zu bytes is "
				       "larger than the server's max payload of %lld bytes",
				       m[i].subject, m[i].len, (long long)bus_max_payload(b));
	s = natsInbox_Create(&inbox);
	if (s == NATS_OK) {
		snprintf(reply, sizeof reply, "%s.*", (const char *)inbox);
		s = natsConnection_SubscribeSync(&sub, b->nc, reply);
	}
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
	deadline = mono_ms() + b->timeout_ms;
	while (s == NATS_OK && answered < i) {
		natsMsg *msg = NULL;
		const char *subj, *dot;
		int64_t left = deadline - mono_ms();
		size_t k;
		natsStatus ns;
		if (left <= 0)
			break;
		ns = natsSubscription_NextMsg(&msg, sub, left < 50 ? left : 50);
		if (ns == NATS_TIMEOUT && atomic_load(&b->refusals) == refusals)
			continue;	/* short waits: a refusal is seen at once */
		if (ns != NATS_OK)
			break;
		subj = natsMsg_GetSubject(msg);
		dot = strrchr(subj, '.');
		k = dot ? (size_t)strtoull(dot + 1, NULL, 10) : n;
		if (k < n && m[k].st == ST_TIMEOUT && atomic_load(&b->drop_answers) > 0) {
			atomic_fetch_sub(&b->drop_answers, 1);	/* as if it never came */
		} else if (k < n && m[k].st == ST_TIMEOUT) {
			struct err one = ERR_INIT;
			m[k].st = parse_ack(msg, &m[k], what, &one);
			if (m[k].st != ST_OK && k < first_i) {
				first = one;
				first_i = k;
			}
			answered++;
		}
		natsMsg_Destroy(msg);
	}
	natsSubscription_Destroy(sub);
	natsInbox_Destroy(inbox);
	if (s != NATS_OK)
		return map_err(b, s, 0, what, e);
	for (i = 0; i < n && m[i].st == ST_OK; i++)
		;
	if (i == n)
		return ST_OK;
	if (i < first_i && atomic_load(&b->refusals) != refusals) {
		for (i = 0; i < n; i++)	/* unanswered: refused, not lost */
			if (m[i].st == ST_TIMEOUT)
				m[i].st = ST_NOT_PERMITTED;
		return refused_err(b, what, e);
	}
	if (i < first_i)	/* no answer */
		return map_err(b, NATS_TIMEOUT, 0, what, e);
	if (e)
		*e = first;
	return first.code;
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
static enum status
kv_handle(struct bus *b, const char *bucket, kvStore **out, struct err *e)
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
		return map_err(b, s, 0, "open bucket", e);
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
	if ((st = kv_handle(b, bucket, &kv, e)) != ST_OK)
		return st;
	if ((st = bus_ready(b, "read", e)) != ST_OK)
		return st;
	s = kvStore_Get(&ent, kv, key);
	if (s == NATS_NOT_FOUND)
		return err_set(e, ST_NOT_FOUND, "key '%s' not found in bucket '%s'", key, bucket);
	if (s != NATS_OK)
		return map_err(b, s, 0, "read", e);
	buf_reset(&out->value);
	buf_add(&out->value, kvEntry_Value(ent), (size_t)kvEntry_ValueLen(ent));
	out->revision = kvEntry_Revision(ent);
	out->created_ns = kvEntry_Created(ent);
	out->op = kvEntry_Operation(ent) == kvOp_Put ? BUS_KV_PUT :
		  kvEntry_Operation(ent) == kvOp_Delete ? BUS_KV_DEL : BUS_KV_PURGE;
	kvEntry_Destroy(ent);
	return ST_OK;
}

/* Write a KV value through a JetStream publish with the given expectation. */
static enum status
kv_write(struct bus *b, const char *bucket, const char *key, const void *data,
	 size_t len, const struct bus_pub *pub, uint64_t *rev, struct err *e)
{
	char *subject;
	enum status st;

	if (!bus_kv_key_valid(key))
		return err_set(e, ST_BAD_VALUE, "invalid key '%s'", key);
	subject = xasprintf("$KV.%s.%s", bucket, key);
	st = bus_js_publish(b, subject, data, len, pub, rev, e);
	free(subject);
	if (st == ST_NO_JETSTREAM || st == ST_NO_SCHEMA)
		return err_set(e, ST_NO_SCHEMA, "bucket '%s' does not exist", bucket);
	return st;
}

enum status
bus_kv_put(struct bus *b, const char *bucket, const char *key, const void *data,
	   size_t len, uint64_t *rev, struct err *e)
{
	return kv_write(b, bucket, key, data, len, NULL, rev, e);
}

/* The sequence and operation of the last message of a key, if any. */
static enum status
kv_last(struct bus *b, const char *bucket, const char *key, uint64_t *seq,
	bool *deleted, struct err *e)
{
	char *subject = xasprintf("$KV.%s.%s", bucket, key);
	char *stream = xasprintf("KV_%s", bucket);
	const char *op = NULL;
	natsMsg *m = NULL;
	jsErrCode jerr = 0;
	natsStatus s;

	s = js_GetLastMsg(&m, b->js, stream, subject, NULL, &jerr);
	if (s == NATS_OK) {
		*seq = natsMsg_GetSequence(m);
		*deleted = natsMsgHeader_Get(m, "KV-Operation", &op) == NATS_OK &&
			   (strcmp(op, "DEL") == 0 || strcmp(op, "PURGE") == 0);
	}
	natsMsg_Destroy(m);
	free(subject);
	free(stream);
	if (s == NATS_NOT_FOUND) {
		*seq = 0;
		*deleted = true;
		return ST_OK;
	}
	return map_err(b, s, jerr, "read last revision", e);
}

enum status
bus_kv_create(struct bus *b, const char *bucket, const char *key, const void *data,
	      size_t len, uint64_t *rev, struct err *e)
{
	struct bus_pub pub = { .expect_no_message = true };
	uint64_t last = 0;
	bool deleted = false;
	enum status st;

	st = kv_write(b, bucket, key, data, len, &pub, rev, e);
	if (st != ST_CONFLICT)
		return st;
	/* The key has history. Create over a delete marker, never over a value. */
	if ((st = kv_last(b, bucket, key, &last, &deleted, e)) != ST_OK)
		return st;
	if (deleted) {
		pub.expect_no_message = false;
		pub.expect_last_subject_seq = last;
		st = kv_write(b, bucket, key, data, len, &pub, rev, e);
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
	st = kv_write(b, bucket, key, data, len, &pub, rev, e);
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
	if ((st = kv_handle(b, bucket, &kv, e)) != ST_OK)
		return st;
	if ((st = bus_ready(b, "delete", e)) != ST_OK)
		return st;
	return map_err(b, kvStore_Delete(kv, key), 0, "delete", e);
}

enum status
bus_kv_keys(struct bus *b, const char *bucket, char ***keys, size_t *n, struct err *e)
{
	kvKeysList list = { NULL, 0 };
	kvWatchOptions wo;
	kvStore *kv;
	natsStatus s;
	enum status st;
	int i;

	*keys = NULL;
	*n = 0;
	if ((st = kv_handle(b, bucket, &kv, e)) != ST_OK)
		return st;
	if ((st = bus_ready(b, "list keys", e)) != ST_OK)
		return st;
	kvWatchOptions_Init(&wo);
	wo.Timeout = b->timeout_ms;
	s = kvStore_Keys(&list, kv, &wo);
	if (s == NATS_NOT_FOUND)
		return ST_OK;	/* empty bucket */
	if (s != NATS_OK)
		return map_err(b, s, 0, "list keys", e);
	*keys = xcalloc((size_t)list.Count + 1, sizeof **keys);
	for (i = 0; i < list.Count; i++)
		(*keys)[i] = xstrdup(list.Keys[i]);
	*n = (size_t)list.Count;
	kvKeysList_Destroy(&list);
	return ST_OK;
}

/* --- watches ------------------------------------------------------------ */

static enum bus_kv_op
msg_op(natsMsg *m)
{
	const char *op = NULL;

	if (natsMsgHeader_Get(m, "KV-Operation", &op) != NATS_OK || op == NULL)
		return BUS_KV_PUT;
	return strcmp(op, "DEL") == 0 ? BUS_KV_DEL :
	       strcmp(op, "PURGE") == 0 ? BUS_KV_PURGE : BUS_KV_PUT;
}

static void
watch_snapshot_done(struct bus_watch *w)
{
	struct bus_kv_event ev = { .snapshot_done = true };

	w->snapshot_pending = false;
	w->fn(w->arg, &ev);
}

/*
 * Deliver one message of the current subscription, or drop it when it is a
 * duplicate, comes from a replaced subscription, or follows a gap (then the
 * watch is reset from the last revision delivered).
 */
static void
watch_on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *arg)
{
	struct bus_watch *w = arg;
	jsMsgMetaData *meta = NULL;
	struct bus_kv_event ev = { 0 };
	bool wake = false;

	(void)nc;
	if (natsMsg_GetMetaData(&meta, m) != NATS_OK) {
		natsMsg_Destroy(m);
		return;
	}
	pthread_mutex_lock(&w->mu);
	if (w->stopped || sub != w->sub || w->need_reset)
		goto out;
	if (w->cons_seq && meta->Sequence.Consumer != w->cons_seq + 1) {
		w->need_reset = wake = true;	/* a gap: start again from last_rev + 1 */
		goto out;
	}
	w->cons_seq = meta->Sequence.Consumer;
	if (meta->Sequence.Stream > w->last_rev) {
		w->last_rev = meta->Sequence.Stream;
		ev.key = natsMsg_GetSubject(m) + w->key_skip;
		ev.value = natsMsg_GetData(m);
		ev.len = (size_t)natsMsg_GetDataLength(m);
		ev.revision = meta->Sequence.Stream;
		ev.time_ns = meta->Timestamp;
		ev.op = w->kv ? msg_op(m) : BUS_KV_PUT;	/* stream messages have no KV operation */
		w->fn(w->arg, &ev);
	}
	if (w->snapshot_pending && meta->NumPending == 0)
		watch_snapshot_done(w);
out:
	pthread_mutex_unlock(&w->mu);
	jsMsgMetaData_Destroy(meta);
	natsMsg_Destroy(m);
	if (wake) {
		pthread_mutex_lock(&w->bus->mu);
		w->bus->work_pending = true;
		pthread_cond_broadcast(&w->bus->cv);
		pthread_mutex_unlock(&w->bus->mu);
	}
}

/* Create the watch's consumer from last_rev + 1 (or the snapshot). w->mu held. */
static enum status
watch_subscribe(struct bus_watch *w, uint64_t from_rev, struct err *e)
{
	struct bus *b = w->bus;
	jsSubOptions so;
	jsErrCode jerr = 0;
	natsSubscription *sub = NULL;
	natsStatus s;

	jsSubOptions_Init(&so);
	so.Stream = w->stream;
	so.ManualAck = true;
	so.Config.AckPolicy = js_AckNone;
	so.Config.FlowControl = true;
	so.Config.Heartbeat = (int64_t)WATCH_HEARTBEAT_MS * 1000000;
	so.Config.InactiveThreshold = (int64_t)30 * 1000000000;
	so.Config.MemoryStorage = true;
	if (from_rev) {
		so.Config.DeliverPolicy = js_DeliverByStartSequence;
		so.Config.OptStartSeq = from_rev;
	} else {
		so.Config.DeliverPolicy = w->kv ? js_DeliverLastPerSubject : js_DeliverNew;
	}
	w->cons_seq = 0;
	s = js_Subscribe(&sub, b->js, w->filter, watch_on_msg, w, NULL, &so, &jerr);
	if (s != NATS_OK)
		return map_err(b, s, jerr, "watch", e);
	w->sub = sub;
	return ST_OK;
}

/* Start a watch of stream 'stream' filtered to 'filter'. */
static enum status
watch_start(struct bus *b, struct bus_watch *w, uint64_t from_rev, struct bus_watch **out,
	    struct err *e)
{
	struct bus_stream_stat stat;
	enum status st;

	w->bus = b;
	w->last_rev = from_rev ? from_rev - 1 : 0;
	pthread_mutex_init(&w->mu, NULL);
	st = bus_stream_stat(b, w->stream, &stat, e);
	if (st == ST_NO_SCHEMA && w->kv)
		st = err_set(e, ST_NO_SCHEMA, "bucket '%s' does not exist", w->bucket);
	if (st != ST_OK)
		goto fail;
	if (!w->kv && from_rev == 0)
		w->last_rev = stat.last_seq;	/* only what comes next */
	pthread_mutex_lock(&w->mu);
	w->snapshot_pending = w->kv && from_rev == 0;
	st = watch_subscribe(w, from_rev, e);
	if (st == ST_OK && w->snapshot_pending && stat.msgs == 0)
		watch_snapshot_done(w);
	pthread_mutex_unlock(&w->mu);
	if (st != ST_OK)
		goto fail;
	pthread_mutex_lock(&b->mu);
	xgrow(&b->watches, &b->watchcap, b->nwatches + 1, sizeof *b->watches);
	b->watches[b->nwatches++] = w;
	pthread_mutex_unlock(&b->mu);
	*out = w;
	return ST_OK;
fail:
	pthread_mutex_destroy(&w->mu);
	free(w->bucket);
	free(w->stream);
	free(w->filter);
	free(w);
	return st;
}

enum status
bus_kv_watch(struct bus *b, const char *bucket, uint64_t from_rev, bus_watch_fn fn,
	     void *arg, struct bus_watch **out, struct err *e)
{
	struct bus_watch *w = xcalloc(1, sizeof *w);

	w->kv = true;
	w->bucket = xstrdup(bucket);
	w->stream = xasprintf("KV_%s", bucket);
	w->filter = xasprintf("$KV.%s.>", bucket);
	w->key_skip = strlen(w->filter) - 1;
	w->fn = fn;
	w->arg = arg;
	return watch_start(b, w, from_rev, out, e);
}

enum status
bus_stream_watch(struct bus *b, const char *stream, const char *subject, uint64_t from_seq,
		 bus_watch_fn fn, void *arg, struct bus_watch **out, struct err *e)
{
	struct bus_watch *w = xcalloc(1, sizeof *w);

	w->bucket = xstrdup(stream);
	w->stream = xstrdup(stream);
	w->filter = xstrdup(subject);
	w->fn = fn;
	w->arg = arg;
	return watch_start(b, w, from_seq, out, e);
}

static void
drop_sub(natsSubscription *sub)
{
	if (sub == NULL)
		return;
	natsSubscription_Unsubscribe(sub);
	natsSubscription_Destroy(sub);
}

void
bus_watch_free(struct bus_watch *w)
{
	struct bus *b;
	natsSubscription *sub;
	size_t i;

	if (w == NULL)
		return;
	b = w->bus;
	pthread_mutex_lock(&b->mu);
	for (i = 0; i < b->nwatches; i++) {
		if (b->watches[i] == w) {
			b->watches[i] = b->watches[--b->nwatches];
			break;
		}
	}
	while (b->resetting)
		pthread_cond_wait(&b->cv, &b->mu);
	pthread_mutex_unlock(&b->mu);
	pthread_mutex_lock(&w->mu);
	w->stopped = true;
	sub = w->sub;
	w->sub = NULL;
	pthread_mutex_unlock(&w->mu);
	drop_sub(sub);
	pthread_mutex_destroy(&w->mu);
	free(w->bucket);
	free(w->stream);
	free(w->filter);
	free(w);
}

uint64_t
bus_watch_resets(const struct bus_watch *w)
{
	return w->resets;
}

static void
mark_watch_reset(struct bus *b, natsSubscription *sub)
{
	size_t i;

	pthread_mutex_lock(&b->mu);
	for (i = 0; i < b->nwatches; i++) {
		struct bus_watch *w = b->watches[i];
		pthread_mutex_lock(&w->mu);
		if (w->sub == sub)
			w->need_reset = true;
		pthread_mutex_unlock(&w->mu);
	}
	b->work_pending = true;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

/*
 * Re-create one watch's consumer. Holding w->mu while subscribing keeps the
 * old subscription's callbacks out (they drop everything once need_reset is
 * set) and makes the new one's first callback wait until w->sub is set.
 */
static void
watch_reset(struct bus_watch *w)
{
	natsSubscription *old;
	struct err e = ERR_INIT;

	pthread_mutex_lock(&w->mu);
	if (!w->need_reset || w->stopped) {
		pthread_mutex_unlock(&w->mu);
		return;
	}
	old = w->sub;
	w->sub = NULL;
	if (watch_subscribe(w, w->last_rev + 1, &e) == ST_OK) {
		w->need_reset = false;
		w->resets++;
	}
	pthread_mutex_unlock(&w->mu);
	drop_sub(old);
}

/*
 * The bus's worker: re-creates the watches that need it whenever the
 * connection is up; a failed attempt is retried on the next half-second
 * tick. It resets without holding b->mu (a reset is a round trip);
 * bus_watch_free() waits for b->resetting to clear instead.
 */
static void *
worker_main(void *arg)
{
	struct bus *b = arg;
	struct bus_watch **todo = NULL;
	size_t ntodo, cap = 0, i;
	struct timespec ts;

	pthread_mutex_lock(&b->mu);
	while (!b->stopping) {
		if (!b->work_pending || b->state != BUS_CONNECTED) {
			int64_t deadline = wall_ms() + 500;
			ts.tv_sec = deadline / 1000;
			ts.tv_nsec = (deadline % 1000) * 1000000;
			pthread_cond_timedwait(&b->cv, &b->mu, &ts);
		}
		if (b->stopping || b->state != BUS_CONNECTED)
			continue;
		b->work_pending = false;
		ntodo = 0;
		for (i = 0; i < b->nwatches; i++) {
			struct bus_watch *w = b->watches[i];
			bool reset;
			pthread_mutex_lock(&w->mu);
			reset = w->need_reset;
			pthread_mutex_unlock(&w->mu);
			if (reset) {
				xgrow(&todo, &cap, ntodo + 1, sizeof *todo);
				todo[ntodo++] = w;
			}
		}
		if (ntodo == 0)
			continue;
		b->resetting = true;
		pthread_mutex_unlock(&b->mu);
		for (i = 0; i < ntodo; i++)
			watch_reset(todo[i]);
		pthread_mutex_lock(&b->mu);
		b->resetting = false;
		pthread_cond_broadcast(&b->cv);
	}
	pthread_mutex_unlock(&b->mu);
	free(todo);
	return NULL;
}

/* --- streams and buckets ----------------------------------------------- */

enum status
bus_stream_stat(struct bus *b, const char *stream, struct bus_stream_stat *out,
		struct err *e)
{
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	natsStatus s;
	enum status st;
	char what[128];

	memset(out, 0, sizeof *out);
	snprintf(what, sizeof what, "stream '%s'", stream);
	if ((st = bus_ready(b, what, e)) != ST_OK)
		return st;
	s = js_GetStreamInfo(&si, b->js, stream, NULL, &jerr);
	if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr)
		return err_set(e, ST_NO_SCHEMA, "stream '%s' does not exist", stream);
	if (s != NATS_OK)
		return map_err(b, s, jerr, what, e);
	out->msgs = si->State.Msgs;
	out->bytes = si->State.Bytes;
	out->first_seq = si->State.FirstSeq;
	out->last_seq = si->State.LastSeq;
	out->consumers = si->State.Consumers;
	jsStreamInfo_Destroy(si);
	return ST_OK;
}

enum status
bus_stream_ensure(struct bus *b, const struct bus_stream_def *d, bool *created,
		  struct err *e)
{
	struct bus_stream_stat stat;
	jsStreamConfig cfg;
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	natsStatus s;
	enum status st;
	int n = 0;

	*created = false;
	st = bus_stream_stat(b, d->name, &stat, e);
	if (st != ST_NO_SCHEMA)
		return st;
	while (n < 4 && d->subjects[n])
		n++;
	jsStreamConfig_Init(&cfg);
	cfg.Name = d->name;
	cfg.Description = d->description;
	cfg.Subjects = (const char **)d->subjects;
	cfg.SubjectsLen = n;
	cfg.Retention = d->work_queue ? js_WorkQueuePolicy : js_LimitsPolicy;
	cfg.Storage = js_FileStorage;
	cfg.MaxAge = d->max_age_s * 1000000000LL;
	cfg.MaxBytes = d->max_bytes;
	cfg.Duplicates = 120LL * 1000000000;	/* de-duplication window */
	s = js_AddStream(&si, b->js, &cfg, NULL, &jerr);
	jsStreamInfo_Destroy(si);
	if (s != NATS_OK) {
		char what[128];
		snprintf(what, sizeof what, "cannot create stream '%s'", d->name);
		return map_err(b, s, jerr, what, e);
	}
	*created = true;
	return ST_OK;
}

enum status
bus_kv_ensure(struct bus *b, const struct bus_kv_def *d, bool *created, struct err *e)
{
	kvStore *kv = NULL;
	kvConfig cfg;
	natsStatus s;
	enum status st;
	struct err ignore = ERR_INIT;
	char what[128];

	*created = false;
	st = kv_handle(b, d->bucket, &kv, &ignore);
	if (st != ST_NO_SCHEMA) {
		if (st != ST_OK && e)
			*e = ignore;
		return st;
	}
	kvConfig_Init(&cfg);
	cfg.Bucket = d->bucket;
	cfg.Description = d->description;
	cfg.History = (uint8_t)d->history;
	cfg.StorageType = js_FileStorage;
	s = js_CreateKeyValue(&kv, b->js, &cfg);
	snprintf(what, sizeof what, "cannot create bucket '%s'", d->bucket);
	if (s != NATS_OK)
		return map_err(b, s, 0, what, e);
	kvStore_Destroy(kv);
	*created = true;
	return ST_OK;
}

/* Copy a fetched message out, or map the failure. */
static enum status
got_msg(struct bus *b, natsStatus s, jsErrCode jerr, natsMsg *m, struct buf *data,
	uint64_t *seq, const char *stream, const char *what, struct err *e)
{
	if (jerr == JSStreamNotFoundErr)
		return err_set(e, ST_NO_SCHEMA, "stream '%s' does not exist", stream);
	if (s == NATS_NOT_FOUND)
		return err_set(e, ST_NOT_FOUND, "%s: no such message", what);
	if (s != NATS_OK)
		return map_err(b, s, jerr, what, e);
	buf_reset(data);
	buf_add(data, natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m));
	if (seq)
		*seq = natsMsg_GetSequence(m);
	natsMsg_Destroy(m);
	return ST_OK;
}

enum status
bus_stream_get(struct bus *b, const char *stream, uint64_t seq, struct buf *data,
	       struct err *e)
{
	natsMsg *m = NULL;
	jsErrCode jerr = 0;
	natsStatus s;
	enum status st;
	char what[128];

	snprintf(what, sizeof what, "stream '%s' message %llu", stream, (unsigned long long)seq);
	if ((st = bus_ready(b, what, e)) != ST_OK)
		return st;
	s = js_GetMsg(&m, b->js, stream, seq, NULL, &jerr);
	return got_msg(b, s, jerr, m, data, NULL, stream, what, e);
}

enum status
bus_stream_last(struct bus *b, const char *stream, const char *subject, struct buf *data,
		uint64_t *seq, struct err *e)
{
	natsMsg *m = NULL;
	jsErrCode jerr = 0;
	natsStatus s;
	enum status st;
	char what[160];

	snprintf(what, sizeof what, "stream '%s' last '%s'", stream, subject);
	if ((st = bus_ready(b, what, e)) != ST_OK)
		return st;
	s = js_GetLastMsg(&m, b->js, stream, subject, NULL, &jerr);
	return got_msg(b, s, jerr, m, data, seq, stream, what, e);
}

enum status
bus_stream_drop(struct bus *b, const char *stream, struct err *e)
{
	jsErrCode jerr = 0;
	natsStatus s;
	enum status st;

	if ((st = bus_ready(b, "delete stream", e)) != ST_OK)
		return st;
	s = js_DeleteStream(b->js, stream, NULL, &jerr);
	if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr)
		return ST_OK;
	return map_err(b, s, jerr, "delete stream", e);
}

enum status
bus_kv_drop(struct bus *b, const char *bucket, struct err *e)
{
	size_t i;
	natsStatus s;
	enum status st;

	if ((st = bus_ready(b, "delete bucket", e)) != ST_OK)
		return st;
	pthread_mutex_lock(&b->mu);
	for (i = 0; i < b->nkvs; i++) {
		if (strcmp(b->kvs[i].bucket, bucket) == 0) {
			kvStore_Destroy(b->kvs[i].kv);
			free(b->kvs[i].bucket);
			b->kvs[i] = b->kvs[--b->nkvs];
			break;
		}
	}
	pthread_mutex_unlock(&b->mu);
	s = js_DeleteKeyValue(b->js, bucket);
	if (s == NATS_NOT_FOUND)
		return ST_OK;
	return map_err(b, s, 0, "delete bucket", e);
}

/* --- server probe ------------------------------------------------------ */

/* host and port of the first URL in a list: "nats://u:p@h:4222,nats://..." */
static void
url_host_port(const char *url, char *host, size_t hlen, char *port, size_t plen)
{
	const char *p = strstr(url, "://"), *end, *at, *colon;

	p = p ? p + 3 : url;
	end = p + strcspn(p, ",/");
	at = memchr(p, '@', (size_t)(end - p));
	if (at)
		p = at + 1;
	if (*p == '[') {	/* [::1]:4222 */
		const char *rb = memchr(p, ']', (size_t)(end - p));
		snprintf(host, hlen, "%.*s", rb ? (int)(rb - p - 1) : 0, p + 1);
		colon = rb && rb[1] == ':' ? rb + 1 : NULL;
	} else {
		colon = memchr(p, ':', (size_t)(end - p));
		snprintf(host, hlen, "%.*s", (int)((colon ? colon : end) - p), p);
	}
	if (colon)
		snprintf(port, plen, "%.*s", (int)(end - colon - 1), colon + 1);
	else
		snprintf(port, plen, "4222");
}

static void
json_copy(char *dst, size_t n, const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	snprintf(dst, n, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

static enum status
parse_info(const char *line, struct bus_server_info *out, struct err *e)
{
	cJSON *j = cJSON_Parse(line + 5);
	const cJSON *v;

	if (j == NULL)
		return err_set(e, ST_PROTOCOL, "malformed INFO from the server");
	json_copy(out->version, sizeof out->version, j, "version");
	json_copy(out->server_id, sizeof out->server_id, j, "server_id");
	json_copy(out->server_name, sizeof out->server_name, j, "server_name");
	out->jetstream = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "jetstream"));
	out->tls_required = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "tls_required"));
	v = cJSON_GetObjectItemCaseSensitive(j, "max_payload");
	out->max_payload = cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
	cJSON_Delete(j);
	return ST_OK;
}

/* Read until "\r\n" or the deadline; the server sends INFO first thing. */
static enum status
read_info_line(int fd, int64_t deadline, char *line, size_t cap, struct err *e)
{
	size_t len = 0;

	while (len + 1 < cap) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		int64_t left = deadline - mono_ms();
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return err_set(e, ST_TIMEOUT, "no INFO from the server in time");
		n = read(fd, line + len, cap - 1 - len);
		if (n <= 0)
			return err_set(e, ST_PROTOCOL, "the server closed the connection");
		len += (size_t)n;
		line[len] = '\0';
		if (strstr(line, "\r\n"))
			break;
	}
	if (strncmp(line, "INFO ", 5) != 0)
		return err_set(e, ST_PROTOCOL, "not a NATS server (no INFO line)");
	return ST_OK;
}

enum status
bus_probe(const char *url, int64_t timeout_ms, struct bus_server_info *out, struct err *e)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL, *ai;
	char host[256], port[16], line[8192];
	int64_t deadline = mono_ms() + timeout_ms;
	enum status st = ST_UNREACHABLE;
	int fd = -1;

	memset(out, 0, sizeof *out);
	url_host_port(url, host, sizeof host, port, sizeof port);
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return err_set(e, ST_UNREACHABLE, "cannot resolve '%s'", host);
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return err_set(e, ST_UNREACHABLE, "cannot connect to '%s:%s': %s", host, port,
			       strerror(errno));
	st = read_info_line(fd, deadline, line, sizeof line, e);
	close(fd);
	if (st != ST_OK) {
		err_prefix(e, "'%s:%s'", host, port);
		return st;
	}
	return parse_info(line, out, e);
}
