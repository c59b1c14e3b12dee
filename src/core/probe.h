/*
 * A NATS server's self-description, read without nats.c: connect over
 * plain TCP, read the INFO line the server sends first, close. Used to tell
 * "no server" from "a server without JetStream" and to show its version
 * (nats.c 3.4.1 has no accessor for it). Any thread.
 */
#ifndef IF_PROBE_H
#define IF_PROBE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/status.h"

struct bus_server_info {
	char version[32];
	char server_id[64];
	char server_name[64];
	bool jetstream;
	int64_t max_payload;
	bool tls_required;
};

/*
 * Probe the first server of a URL list ("nats://u:p@h:4222,..."), in at
 * most timeout_ms: ST_UNREACHABLE when nothing listens, ST_TIMEOUT or
 * ST_PROTOCOL when what answers is not a NATS server.
 */
enum status bus_probe(const char *url, int64_t timeout_ms, struct bus_server_info *out,
		      struct err *e);

#endif
