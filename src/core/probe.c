/* A NATS server's INFO line over plain TCP: see probe.h. */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/probe.h"
#include "core/util.h"

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
