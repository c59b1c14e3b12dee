/* Which server 'ifctl up' means: see upwhere.h. */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/bus.h"
#include "core/upwhere.h"
#include "core/util.h"

/* Is host (len bytes) the local server's host? */
static bool
local_host(const char *h, size_t len, const char *server_host)
{
	static const char *const names[] = { "127.0.0.1", "localhost", "::1", "[::1]" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (strlen(names[i]) == len && strncmp(h, names[i], len) == 0)
			return true;
	return strlen(server_host) == len && strncmp(h, server_host, len) == 0;
}

/* Does one URL (len bytes) name the local server? */
static bool
url_is_local(const char *u, size_t len, const char *host, const char *port)
{
	const char *end = u + len, *p, *at, *colon;

	if ((p = strstr(u, "://")) && p < end)
		u = p + 3;
	for (at = u; at < end && *at != '/' && *at != '@'; at++)
		;
	if (at < end && *at == '@')
		u = at + 1;
	for (p = u; p < end && *p != '/' && *p != '?'; p++)
		;
	end = p;
	colon = NULL;
	for (p = u; p < end; p++)
		if (*p == ':' && !memchr(p, ']', (size_t)(end - p)))
			colon = p;	/* the last ':' outside an [IPv6] literal */
	if (!local_host(u, (size_t)((colon ? colon : end) - u), host))
		return false;
	if (colon == NULL)
		return strcmp(port, "4222") == 0;
	return (size_t)(end - colon - 1) == strlen(port) &&
	       strncmp(colon + 1, port, strlen(port)) == 0;
}

char *
up_remote_url(const struct config *c)
{
	const char *urls = cfg_str(c, CK_NATS_URL), *p = urls;
	struct buf b = BUF_INIT;
	size_t n;

	while (*p) {
		p += strspn(p, ", ");
		n = strcspn(p, ", ");
		if (n && !url_is_local(p, n, cfg_str(c, CK_SERVER_HOST), cfg_str(c, CK_SERVER_PORT))) {
			char *one = xstrndup(p, n);
			bus_url_mask(one, &b);
			free(one);
			return buf_detach(&b);
		}
		p += n;
	}
	return NULL;
}
