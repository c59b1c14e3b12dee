/* A NATS server's INFO line over plain TCP: see probe.h. */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/json.h"
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

/* The members of INFO that we show; others are ignored. */
struct info {
	char *version, *server_id, *server_name;
	bool jetstream, tls_required;
	int64_t max_payload;
};

#define INFO_STR(name) { #name, JF_STR, 0, offsetof(struct info, name), 0, 0, NULL }
#define INFO_BOOL(name) { #name, JF_BOOL, 0, offsetof(struct info, name), 0, 0, NULL }
static const struct json_field info_fields[] = {
	INFO_STR(version), INFO_STR(server_id), INFO_STR(server_name),
	INFO_BOOL(jetstream), INFO_BOOL(tls_required),
	{ "max_payload", JF_I64, 0, offsetof(struct info, max_payload), 0, JSON_INT_MAX, NULL },
};

/* "INFO {...}\r\n", read by the strict reader. */
static enum status
parse_info(const char *line, struct bus_server_info *out, struct err *e)
{
	const char *end = strstr(line, "\r\n");
	struct json_doc doc = JSON_DOC_INIT;
	struct info in = { .max_payload = 0 };
	struct err why = ERR_INIT;
	enum status st;

	if (end == NULL)
		return err_set(e, ST_PROTOCOL, "the server's INFO line is too long");
	st = json_parse(line + 5, (size_t)(end - line - 5), "INFO", &doc, &why);
	if (st == ST_OK && doc.root->type != JSON_OBJECT)
		st = err_set(&why, ST_BAD_JSON, "INFO: not an object");
	if (st == ST_OK)
		st = json_read_fields(doc.root, info_fields, ARRAY_SIZE(info_fields), 0, &in, "INFO",
				      &why);
	if (st == ST_OK) {
		snprintf(out->version, sizeof out->version, "%s", in.version ? in.version : "");
		snprintf(out->server_id, sizeof out->server_id, "%s", in.server_id ? in.server_id : "");
		snprintf(out->server_name, sizeof out->server_name, "%s",
			 in.server_name ? in.server_name : "");
		out->jetstream = in.jetstream;
		out->tls_required = in.tls_required;
		out->max_payload = in.max_payload;
	}
	free(in.version);
	free(in.server_id);
	free(in.server_name);
	json_doc_release(&doc);
	return st == ST_OK ? ST_OK : err_set(e, ST_PROTOCOL, "malformed INFO from the server: %s",
					     why.msg);
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
