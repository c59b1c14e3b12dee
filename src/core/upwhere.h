/*
 * Which server 'ifctl up' means. up starts the local server at
 * server.host:server.port; when nats.url (--server, IF_NATS_URL, the file)
 * names another server, starting a local one would leave two servers and
 * the schema on one of them. up_remote_url() tells the two apart so that up
 * says which server it uses and never starts a second one.
 */
#ifndef IF_UPWHERE_H
#define IF_UPWHERE_H

#include "core/config.h"

/*
 * The first URL of nats.url that is not the local server (host 127.0.0.1,
 * localhost, ::1 or server.host, at server.port; port 4222 when a URL has
 * none), with any password masked; NULL when nats.url is empty or names
 * only the local server. The caller frees it.
 */
char *up_remote_url(const struct config *c);

#endif
