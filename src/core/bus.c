/*
 * The event bus over nats.c, its connection half: options, state and the
 * mapping of nats.c's errors to ours. See bus.h for the contract and
 * bus-int.h for how the files divide the work.
 *
 * Connection state. nats.c reports disconnects, reconnects and closure on
 * its event thread; we mirror them in b->state under b->mu and broadcast
 * b->cv. An operation first waits (bounded by the timeout) for the state to
 * be CONNECTED, so a command issued during an outage fails with
 * ST_DISCONNECTED after nats.timeout_ms rather than hanging or failing at
 * once.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/bus-int.h"
#include "core/server.h"
#include "core/util.h"

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
enum status
bus_map_refusal(int code, const char *desc, const char *what, struct err *e)
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
enum status
bus_refused_err(struct bus *b, const char *what, struct err *e)
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

	int64_t at = atomic_load(&b->refused_seen);

	yes = at && mono_ms() - at <= b->timeout_ms + 1000;
	return yes;
}

/* A nats.c failure as a status and a message about what. */
enum status
bus_map_err(struct bus *b, natsStatus s, jsErrCode jerr, const char *what, struct err *e)
{
	const char *last = nats_GetLastError(NULL);
	enum bus_state state = b ? (enum bus_state)atomic_load(&b->state_seen) : BUS_CONNECTED;

	if (s == NATS_OK)
		return ST_OK;
	if (b && (s == NATS_TIMEOUT || s == NATS_NOT_PERMITTED) && refused_lately(b))
		return bus_refused_err(b, what, e);
	if (jerr && refusal_find((int)jerr))
		return bus_map_refusal((int)jerr, last, what, e);
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

/* The length of the authority of a URL that starts at s (after "://"). */
static size_t
authority_len(const char *s)
{
	return strcspn(s, "/,? \t");
}

/* Where the user info of an authority of n bytes ends: its last '@', or n. */
static size_t
userinfo_len(const char *s, size_t n)
{
	size_t i, at = n;

	for (i = 0; i < n; i++)
		if (s[i] == '@')
			at = i;
	return at;
}

/*
 * Move "user:password@" (or "token@") out of each URL in the list into the
 * options (the first one wins; nats.user, nats.password and nats.token win
 * over it), so the URL that -v and error messages show carries no secret.
 */
static void
url_take_userinfo(struct bus_opts *o)
{
	char *p = o->url, *at, *colon;
	size_t n, k;

	while ((p = strstr(p, "://")) != NULL) {
		p += 3;
		n = authority_len(p);
		if ((k = userinfo_len(p, n)) == n)
			continue;
		at = p + k;
		colon = memchr(p, ':', k);
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
bus_url_mask(const char *url, struct buf *out)
{
	const char *p = url, *s, *end, *at, *colon;
	size_t n, k;

	while ((s = strstr(p, "://")) != NULL) {
		s += 3;
		n = authority_len(s);
		k = userinfo_len(s, n);
		end = s + n;
		at = s + k;
		if (k == n) {
			buf_add(out, p, (size_t)(end - p));
		} else {
			colon = memchr(s, ':', (size_t)(at - s));
			buf_add(out, p, (size_t)((colon ? colon + 1 : s) - p));
			buf_adds(out, "****");
			buf_add(out, at, (size_t)(end - at));
		}
		p = end;
	}
	buf_adds(out, p);
}

void
bus_opts_from_config(struct bus_opts *o, const struct config *c)
{
	memset(o, 0, sizeof *o);
	o->url = server_local_urls(c);	/* a local cluster: every node */
	if (o->url == NULL)
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
		b->reconnects++;
		bus_watches_reset_all(b);
	}
	b->state = s;
	atomic_store(&b->state_seen, (int)s);
	fn = b->on_state;
	if (fn)
		b->in_state_fn++;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
	if (fn == NULL)
		return;
	fn(b->state_arg, s);
	pthread_mutex_lock(&b->mu);
	b->in_state_fn--;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
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

/*
 * Backoff: wait, 2*wait, 4*wait ... capped, with up to 20% jitter from
 * libsodium's CSPRNG, so processes that lost the server together do not all
 * come back in the same millisecond.
 */
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
	return d + (int64_t)randombytes_uniform((uint32_t)(d / 5 + 1));
}

/* Keep the server's text of a permission violation for bus_refused_err(). */
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
	atomic_store(&b->refused_seen, b->refused_ms);
	pthread_mutex_unlock(&b->mu);
	atomic_fetch_add(&b->refusals, 1);
}

static void
on_async_error(natsConnection *nc, natsSubscription *sub, natsStatus s, void *arg)
{
	if (s == NATS_NOT_PERMITTED)
		note_refusal(arg, nc);
	if (sub && (s == NATS_MISSED_HEARTBEAT || s == NATS_MISMATCH || s == NATS_SLOW_CONSUMER))
		bus_watch_reset_sub(arg, sub);
}

#define BUS_URLS_MAX 16	/* servers of one list */
#define BUS_PING_MIN_MS 1000	/* ping interval: the timeout, at least this */

/*
 * Give nats.c every server of a comma-separated list: it connects to one
 * and, when that one fails, reconnects to another (natsOptions_SetURL
 * takes only one URL; servers a cluster announces are added to the list).
 */
static natsStatus
set_servers(natsOptions *no, const char *list)
{
	char *copy = xstrdup(list), *save = NULL, *tok;
	const char *urls[BUS_URLS_MAX];
	natsStatus s;
	int n = 0;

	for (tok = strtok_r(copy, ", \t", &save); tok && n < BUS_URLS_MAX;
	     tok = strtok_r(NULL, ", \t", &save))
		urls[n++] = tok;
	s = n > 1 ? natsOptions_SetServers(no, urls, n) : natsOptions_SetURL(no, n ? urls[0] : list);
	free(copy);
	return s;
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
		s = set_servers(no, o->url);
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(no, o->timeout_ms);
	if (s == NATS_OK)
		s = natsOptions_SetName(no, o->name ? o->name : "ifctl");
	if (s == NATS_OK)
		s = natsOptions_SetSendAsap(no, true);
	if (s == NATS_OK)	/* a thread per subscription, even with NATS_DEFAULT_TO_LIB_MSG_DELIVERY:
				   a watch reset holds its lock across a round trip (bus-watch.c) */
		s = natsOptions_UseGlobalMessageDelivery(no, false);
	if (s == NATS_OK)	/* a hung server (paused, cut off) is left in seconds */
		s = natsOptions_SetPingInterval(no, o->timeout_ms > BUS_PING_MIN_MS ?
						 o->timeout_ms : BUS_PING_MIN_MS);
	if (s == NATS_OK)
		s = natsOptions_SetMaxPingsOut(no, 2);
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
	atomic_init(&b->subs_live, 0);
	b->url = xstrdup(o->url);
	b->timeout_ms = o->timeout_ms;
	b->backoff_ms = o->reconnect_wait_ms > 0 ? o->reconnect_wait_ms : 100;
	b->backoff_max_ms = o->reconnect_max_wait_ms > b->backoff_ms ?
			    o->reconnect_max_wait_ms : b->backoff_ms;
	b->on_state = o->on_state;
	b->state_arg = o->state_arg;
	b->state = BUS_RECONNECTING;
	atomic_store(&b->state_seen, (int)BUS_RECONNECTING);
	s = build_options(b, o);
	if (s != NATS_OK) {
		st = bus_map_err(NULL, s, 0, "invalid connection options", e);
		goto fail;
	}
	s = natsConnection_Connect(&b->nc, b->opts);
	if (s == NATS_NOT_YET_CONNECTED) {
		s = NATS_OK;	/* retry_on_failed_connect: reconnecting in background */
	} else if (s == NATS_OK) {
		/* Under b->mu: nats.c's callbacks may already be running. */
		pthread_mutex_lock(&b->mu);
		if (b->state == BUS_RECONNECTING &&
		    natsConnection_Status(b->nc) == NATS_CONN_STATUS_CONNECTED)
			b->state = BUS_CONNECTED;
		atomic_store(&b->state_seen, (int)b->state);
		pthread_mutex_unlock(&b->mu);
	} else {
		char what[300];
		snprintf(what, sizeof what, "cannot connect to '%s'", o->url);
		if (s == NATS_TIMEOUT)	/* no connection yet: bus_map_err would say lost */
			st = err_set(e, ST_TIMEOUT, "%s: no answer within %lld ms", what,
				     (long long)o->timeout_ms);
		else
			st = bus_map_err(NULL, s, 0, what, e);
		goto fail;
	}
	jsOptions_Init(&jo);
	jo.Wait = o->timeout_ms;
	s = natsConnection_JetStream(&b->js, b->nc, &jo);
	if (s != NATS_OK) {
		st = bus_map_err(b, s, 0, "cannot set up JetStream", e);
		goto fail;
	}
	if (pthread_create(&b->worker, NULL, bus_worker_main, b) == 0)
		b->worker_started = true;
	*out = b;
	return ST_OK;
fail:
	bus_close(b);
	return st;
}

/*
 * Wait (at most the timeout and a second) until every watch subscription
 * has drained and completed, before the connection closes: a message
 * nats.c still held then would be freed after nats_CloseAndWait() and lost
 * (see bus-watch.c). Says whether they all did.
 */
static bool
bus_wait_subs(struct bus *b)
{
	struct timespec ts = deadline_ts(b->timeout_ms + 1000);
	bool done;

	pthread_mutex_lock(&b->mu);
	while (atomic_load(&b->subs_live) > 0 && pthread_cond_timedwait(&b->cv, &b->mu, &ts) != ETIMEDOUT)
		;
	done = atomic_load(&b->subs_live) == 0;
	pthread_mutex_unlock(&b->mu);
	return done;
}

/*
 * Buses that nats.c may still call back with: their closed callback or a
 * watch's completion did not come within the wait (the one callback thread
 * nats.c has for every connection was held up). Freeing one then would
 * hand the late callback freed memory; it is parked here instead, a small
 * leak that stays reachable.
 */
static pthread_mutex_t parked_mu = PTHREAD_MUTEX_INITIALIZER;
static struct bus *parked;
static size_t nparked;

static void
bus_park(struct bus *b)
{
	pthread_mutex_lock(&parked_mu);
	b->parked_next = parked;
	parked = b;
	nparked++;
	pthread_mutex_unlock(&parked_mu);
}

size_t
bus_parked(void)
{
	size_t n;

	pthread_mutex_lock(&parked_mu);
	n = nparked;
	pthread_mutex_unlock(&parked_mu);
	return n;
}

/* Free a bus nats.c is done with. */
static void
bus_free(struct bus *b)
{
	natsOptions_Destroy(b->opts);
	pthread_cond_destroy(&b->cv);
	pthread_mutex_destroy(&b->mu);
	free(b->url);
	free(b);
}

/*
 * The owner's state callback is not called again once bus_close() has
 * begun, and a call in progress is waited for: its argument may not
 * outlive this bus_close() (the console's lives on its stack), while a
 * parked bus does.
 */
static void
stop_state_fn(struct bus *b)
{
	pthread_mutex_lock(&b->mu);
	b->on_state = NULL;
	while (b->in_state_fn > 0)
		pthread_cond_wait(&b->cv, &b->mu);
	pthread_mutex_unlock(&b->mu);
}

void
bus_close(struct bus *b)
{
	struct bus_watch **watches;
	bool quiet;
	size_t i;

	if (b == NULL)
		return;
	stop_state_fn(b);
	pthread_mutex_lock(&b->mu);
	b->stopping = true;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
	if (b->worker_started)
		pthread_join(b->worker, NULL);
	quiet = bus_wait_subs(b);
	for (i = 0; i < b->nkvs; i++) {
		kvStore_Destroy(b->kvs[i].kv);
		free(b->kvs[i].bucket);
	}
	free(b->kvs);
	b->kvs = NULL;
	b->nkvs = 0;
	pthread_mutex_lock(&b->mu);	/* a reconnect callback may be walking it */
	watches = b->watches;
	b->watches = NULL;
	b->nwatches = b->watchcap = 0;
	pthread_mutex_unlock(&b->mu);
	free(watches);
	jsCtx_Destroy(b->js);
	b->js = NULL;
	if (b->nc) {
		/* nats.c joins its connection threads first: allow it a reconnect attempt */
		struct timespec ts = deadline_ts(2 * b->timeout_ms + 1000);

		natsConnection_Close(b->nc);
		pthread_mutex_lock(&b->mu);
		while (!b->closed_cb &&
		       pthread_cond_timedwait(&b->cv, &b->mu, &ts) != ETIMEDOUT)
			;
		quiet = quiet && b->closed_cb;
		pthread_mutex_unlock(&b->mu);
		natsConnection_Destroy(b->nc);
		b->nc = NULL;
	}
	if (quiet)
		bus_free(b);
	else
		bus_park(b);
}

#define SHUTDOWN_WAIT_MS 10000	/* for parked buses' last callbacks, all together */

/*
 * Before the library stops: wait for the parked buses' last callbacks and
 * free those that got them. nats_CloseAndWait() drops callbacks still
 * queued, and with them its own references to their connections.
 */
void
bus_shutdown(void)
{
	struct timespec ts = deadline_ts(SHUTDOWN_WAIT_MS);
	struct bus *b, *next, *keep = NULL;
	size_t kept = 0;

	pthread_mutex_lock(&parked_mu);
	b = parked;
	parked = NULL;
	pthread_mutex_unlock(&parked_mu);
	for (; b != NULL; b = next) {
		bool quiet;
		next = b->parked_next;
		pthread_mutex_lock(&b->mu);
		while ((!b->closed_cb || atomic_load(&b->subs_live) > 0) &&
		       pthread_cond_timedwait(&b->cv, &b->mu, &ts) != ETIMEDOUT)
			;
		quiet = b->closed_cb && atomic_load(&b->subs_live) == 0;
		pthread_mutex_unlock(&b->mu);
		if (quiet) {
			bus_free(b);
		} else {
			b->parked_next = keep;
			keep = b;
			kept++;
		}
	}
	pthread_mutex_lock(&parked_mu);
	parked = keep;
	nparked = kept;
	pthread_mutex_unlock(&parked_mu);
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

void
bus_connected_url(struct bus *b, char *out, size_t n)
{
	out[0] = '\0';
	if (b->nc && natsConnection_GetConnectedUrl(b->nc, out, n) != NATS_OK)
		out[0] = '\0';
}
int64_t bus_timeout_ms(const struct bus *b) { return b->timeout_ms; }

/*
 * Wait until the connection is up, at most the timeout. Every operation
 * starts here, so an outage costs a caller nats.timeout_ms, not forever.
 */
enum status
bus_ready(struct bus *b, const char *what, struct err *e)
{
	struct timespec ts = deadline_ts(b->timeout_ms);
	enum status st = ST_OK;

	pthread_mutex_lock(&b->mu);
	while (b->state == BUS_RECONNECTING) {
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
	return bus_map_err(b, s, 0, "ping", e);
}
