/* The egress proxy: see egress.h. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/cred.h"
#include "core/egress.h"
#include "core/util.h"

#define CONN_MAX 64	/* connections served at once; more wait in the backlog */

struct egress {
	struct egress_opts o;
	char *path, *only_id;
	int listen_fd;
	int wake[2];			/* a byte here ends the accepting thread */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int conns[CONN_MAX];		/* client sockets being served (-1: free) */
	size_t nconns;
	bool stopping;
	struct egress_stats stats;
};

/* One connection's thread argument. */
struct conn {
	struct egress *g;
	int fd, slot;
};

/* Add to a counter under the lock. */
static void
count(struct egress *g, uint64_t *field, uint64_t n)
{
	pthread_mutex_lock(&g->mu);
	*field += n;
	pthread_mutex_unlock(&g->mu);
}

/* Write all of data; false on failure. */
static bool
write_all(int fd, const char *data, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = send(fd, data, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		data += n;
		len -= (size_t)n;
	}
	return true;
}

/* An answer of the proxy's own: status, an optional deny reason, a text body. */
static void
reply(int fd, int code, const char *text, const char *deny, const char *body)
{
	struct buf b = BUF_INIT;

	buf_addf(&b, "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nConnection: close\r\n", code, text);
	if (code == 407)
		buf_adds(&b, "Proxy-Authenticate: Bearer realm=\"ifctl-egress\"\r\n");
	if (deny)
		buf_addf(&b, "X-Ifctl-Deny: %s\r\n", deny);
	buf_addf(&b, "Content-Length: %zu\r\n\r\n%s\n", strlen(body) + 1, body);
	write_all(fd, b.s, b.len);
	buf_release(&b);
}

/* Read until the end of the head ("\r\n\r\n"); what follows it stays in b too. */
static bool
read_head(int fd, struct buf *b, size_t *head_len, int64_t timeout_ms)
{
	char chunk[4096], *end;
	struct pollfd p = { fd, POLLIN, 0 };
	ssize_t n;

	while (b->len < EGRESS_HEAD_MAX) {
		if (poll(&p, 1, (int)timeout_ms) <= 0)
			return false;
		if ((n = read(fd, chunk, sizeof chunk)) <= 0)
			return false;
		buf_add(b, chunk, (size_t)n);
		if ((end = strstr(b->s, "\r\n\r\n")) != NULL) {
			*head_len = (size_t)(end - b->s) + 4;
			return true;
		}
	}
	return false;
}

/* A header's value in the head (case-insensitive name), copied into out; false when absent. */
static bool
header(const char *head, const char *name, char *out, size_t n)
{
	const char *p = strstr(head, "\r\n"), *v;
	size_t len = strlen(name), vl;

	for (; p && p[2] != '\r'; p = strstr(p + 2, "\r\n")) {
		if (strncasecmp(p + 2, name, len) != 0 || p[2 + len] != ':')
			continue;
		for (v = p + 3 + len; *v == ' ' || *v == '\t'; v++)
			;
		vl = strcspn(v, "\r\n");
		snprintf(out, n, "%.*s", (int)(vl < n ? vl : n - 1), v);
		return true;
	}
	return false;
}

/* Connect to host:port over TCP within timeout; -1 on failure. */
static int
dial(const char *host, int port, int64_t timeout_ms)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL, *ai;
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	char serv[8];
	int fd = -1;

	snprintf(serv, sizeof serv, "%d", port);
	if (getaddrinfo(host, serv, &hints, &res) != 0)
		return -1;
	for (ai = res; ai && fd < 0; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol)) < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	return fd;
}

/* Copy bytes both ways until both sides have ended or nothing moves for timeout_ms. */
static void
relay(struct egress *g, int client, int server, int64_t timeout_ms)
{
	struct pollfd p[2] = { { client, POLLIN, 0 }, { server, POLLIN, 0 } };
	char chunk[65536];
	bool open[2] = { true, true };
	ssize_t n;
	int i;

	while ((open[0] || open[1]) && poll(p, 2, (int)timeout_ms) > 0) {
		for (i = 0; i < 2; i++) {
			if (!open[i] || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(p[i].fd, chunk, sizeof chunk);
			if (n <= 0 || !write_all(p[!i].fd, chunk, (size_t)n)) {
				open[i] = false;
				p[i].fd = -1;
				shutdown(i == 0 ? server : client, SHUT_WR);
				if (n < 0 || i == 1)
					open[0] = open[1] = false;	/* the server is done: so are we */
				continue;
			}
			count(g, i == 0 ? &g->stats.bytes_out : &g->stats.bytes_in, (uint64_t)n);
		}
	}
}

/* The request line's parts: method, target; false when it is not HTTP/1.x. */
static bool
request_line(const char *head, char *method, size_t mn, char *target, size_t tn)
{
	size_t m = strcspn(head, " "), t;

	if (head[m] != ' ' || m == 0 || m >= mn)
		return false;
	t = strcspn(head + m + 1, " ");
	if (t == 0 || t >= tn || strncmp(head + m + 1 + t, " HTTP/1.", 8) != 0)
		return false;
	snprintf(method, mn, "%.*s", (int)m, head);
	snprintf(target, tn, "%.*s", (int)t, head + m + 1);
	return true;
}

/*
 * The request forwarded: origin-form target, the client's headers less
 * the proxy's and Connection, then "Connection: close".
 */
static void
forward_head(const char *head, const char *method, const struct cred_url *ep,
	     const char *target, struct buf *out)
{
	static const char *const drop[] = { "proxy-authorization:", "proxy-connection:",
					    "connection:", "keep-alive:" };
	const char *p = strstr(head, "\r\n") + 2, *q = strchr(target + strlen(ep->scheme) + 3, '/');
	size_t n, i;

	buf_addf(out, "%s %s HTTP/1.1\r\n", method, q ? q : "/");
	for (; *p && strncmp(p, "\r\n", 2) != 0; p += n + 2) {
		n = strcspn(p, "\r");
		for (i = 0; i < ARRAY_SIZE(drop) && strncasecmp(p, drop[i], strlen(drop[i])) != 0; i++)
			;
		if (i == ARRAY_SIZE(drop))
			buf_addf(out, "%.*s\r\n", (int)n, p);
	}
	buf_adds(out, "Connection: close\r\n\r\n");
}

/* Check the token for the endpoint; false (the answer sent) when refused. */
static bool
allowed(struct conn *c, const char *head, const char *endpoint)
{
	struct egress *g = c->g;
	char auth[256], reason[200];
	const char *token;
	enum cred_verdict v;
	struct cred rec;
	struct err e = ERR_INIT;

	if (!header(head, "Proxy-Authorization", auth, sizeof auth) || strncmp(auth, "Bearer ", 7) ||
	    auth[7] == '\0') {
		reply(c->fd, 407, "Proxy Authentication Required", "no-token",
		      "egress: a credential is required (Proxy-Authorization: Bearer TOKEN)");
		count(g, &g->stats.denied, 1);
		return false;
	}
	token = auth + 7;
	if (cred_check(g->o.bus, (struct opctx *)g->o.op, token, endpoint, &v, reason, sizeof reason,
		       &rec, &e) != ST_OK) {
		reply(c->fd, e.code == ST_BAD_VALUE ? 400 : 502, "Bad Request", "bad-endpoint", e.msg);
		count(g, &g->stats.failed, 1);
		return false;
	}
	if (v == CRED_ALLOW && g->only_id && (rec.id == NULL || strcmp(rec.id, g->only_id) != 0)) {
		v = CRED_NOT_ALLOWED;
		snprintf(reason, sizeof reason, "this sandbox may use credential '%s' only", g->only_id);
	}
	cred_release(&rec);
	if (v != CRED_ALLOW) {
		reply(c->fd, 403, "Forbidden", cred_verdict_name(v), reason);
		count(g, &g->stats.denied, 1);
		return false;
	}
	count(g, &g->stats.allowed, 1);
	return true;
}

/* Serve one request on c. */
static void
serve(struct conn *c)
{
	struct egress *g = c->g;
	int64_t to = g->o.timeout_ms > 0 ? g->o.timeout_ms : 30000;
	struct buf in = BUF_INIT, fwd = BUF_INIT;
	char method[16], target[CRED_PATTERN_MAX], endpoint[CRED_PATTERN_MAX + 16];
	struct cred_url ep;
	size_t head_len = 0;
	bool tunnel;
	int up = -1;

	if (!read_head(c->fd, &in, &head_len, to) ||
	    !request_line(in.s, method, sizeof method, target, sizeof target)) {
		reply(c->fd, 400, "Bad Request", NULL, "egress: not an HTTP/1.x proxy request");
		goto out;
	}
	tunnel = strcmp(method, "CONNECT") == 0;
	snprintf(endpoint, sizeof endpoint, tunnel ? "https://%s/" : "%s", target);
	if (!tunnel && !has_prefix(target, "http://")) {
		reply(c->fd, 400, "Bad Request", NULL, "egress: plain requests need an absolute "
		      "http:// URL; use CONNECT for https");
		goto out;
	}
	if (!allowed(c, in.s, endpoint))
		goto out;
	cred_endpoint_parse(endpoint, &ep, NULL);
	if ((up = dial(ep.host, ep.port, to)) < 0) {
		reply(c->fd, 502, "Bad Gateway", NULL, "egress: cannot connect to the endpoint");
		count(g, &g->stats.failed, 1);
		goto out;
	}
	if (tunnel) {
		buf_adds(&fwd, "HTTP/1.1 200 Connection established\r\n\r\n");
		write_all(c->fd, fwd.s, fwd.len);
	} else {
		forward_head(in.s, method, &ep, target, &fwd);
		if (!write_all(up, fwd.s, fwd.len) || !write_all(up, in.s + head_len, in.len - head_len))
			goto out;
		count(g, &g->stats.bytes_out, fwd.len + in.len - head_len);
	}
	relay(g, c->fd, up, to);
out:
	if (up >= 0)
		close(up);
	buf_release(&in);
	buf_release(&fwd);
}

/* A connection's thread: serve, then give the slot back. */
static void *
conn_main(void *arg)
{
	struct conn *c = arg;
	struct egress *g = c->g;

	serve(c);
	pthread_mutex_lock(&g->mu);
	close(c->fd);
	g->conns[c->slot] = -1;
	g->nconns--;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
	free(c);
	return NULL;
}

/* Take a free slot for fd (waiting for one); -1 when stopping. */
static int
take_slot(struct egress *g, int fd)
{
	int i = -1;

	pthread_mutex_lock(&g->mu);
	while (!g->stopping && g->nconns == CONN_MAX)
		pthread_cond_wait(&g->cv, &g->mu);
	if (!g->stopping) {
		for (i = 0; g->conns[i] >= 0; i++)
			;
		g->conns[i] = fd;
		g->nconns++;
	}
	pthread_mutex_unlock(&g->mu);
	return i;
}

/* The accepting thread. */
static void *
accept_main(void *arg)
{
	struct egress *g = arg;
	struct pollfd p[2] = { { g->listen_fd, POLLIN, 0 }, { g->wake[0], POLLIN, 0 } };
	struct conn *c;
	pthread_t t;
	int fd, slot;

	while (poll(p, 2, -1) >= 0 && !(p[1].revents & POLLIN)) {
		if (!(p[0].revents & POLLIN) || (fd = accept4(g->listen_fd, NULL, NULL, SOCK_CLOEXEC)) < 0)
			continue;
		if ((slot = take_slot(g, fd)) < 0) {
			close(fd);
			break;
		}
		c = xmalloc(sizeof *c);
		*c = (struct conn){ g, fd, slot };
		if (pthread_create(&t, NULL, conn_main, c) == 0)
			pthread_detach(t);
		else
			conn_main(c);
	}
	return NULL;
}

enum status
egress_start(const struct egress_opts *o, struct egress **out, struct err *e)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct egress *g;
	int i;

	*out = NULL;
	if (strlen(o->path) >= sizeof a.sun_path)
		return err_set(e, ST_BAD_VALUE, "egress socket path '%s' is too long", o->path);
	g = xcalloc(1, sizeof *g);
	g->o = *o;
	g->path = xstrdup(o->path);
	g->only_id = xstrdup_or_null(o->only_id);
	for (i = 0; i < CONN_MAX; i++)
		g->conns[i] = -1;
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	snprintf(a.sun_path, sizeof a.sun_path, "%s", o->path);
	g->wake[0] = g->wake[1] = -1;
	if ((g->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(g->listen_fd, (struct sockaddr *)&a, sizeof a) < 0 || chmod(o->path, 0666) < 0 ||
	    listen(g->listen_fd, 128) < 0 || pipe2(g->wake, O_CLOEXEC) < 0 ||
	    pthread_create(&g->thread, NULL, accept_main, g) != 0) {
		err_set(e, ST_IO, "cannot serve the egress proxy on '%s': %s", o->path, strerror(errno));
		if (g->listen_fd >= 0) {
			close(g->listen_fd);
			unlink(o->path);
		}
		g->listen_fd = -1;
		egress_stop(g);
		return e ? e->code : ST_IO;
	}
	*out = g;
	return ST_OK;
}

void
egress_stop(struct egress *g)
{
	size_t i;

	if (g == NULL)
		return;
	if (g->listen_fd >= 0) {
		if (write(g->wake[1], "x", 1) == 1)
			pthread_join(g->thread, NULL);
		close(g->listen_fd);
		unlink(g->path);
	}
	pthread_mutex_lock(&g->mu);
	g->stopping = true;
	for (i = 0; i < CONN_MAX; i++)
		if (g->conns[i] >= 0)
			shutdown(g->conns[i], SHUT_RDWR);
	while (g->nconns > 0)
		pthread_cond_wait(&g->cv, &g->mu);
	pthread_mutex_unlock(&g->mu);
	if (g->wake[0] >= 0) {
		close(g->wake[0]);
		close(g->wake[1]);
	}
	pthread_mutex_destroy(&g->mu);
	pthread_cond_destroy(&g->cv);
	free(g->path);
	free(g->only_id);
	free(g);
}

void
egress_get_stats(struct egress *g, struct egress_stats *s)
{
	pthread_mutex_lock(&g->mu);
	*s = g->stats;
	pthread_mutex_unlock(&g->mu);
}
