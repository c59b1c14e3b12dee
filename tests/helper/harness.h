/*
 * Test harness: a real nats-server with JetStream on a free loopback port,
 * its store in a fresh temporary directory. Tests may kill it (SIGKILL,
 * as a crash) and start it again on the same port and store.
 */
#ifndef IF_HARNESS_H
#define IF_HARNESS_H

#include <sys/types.h>

#include "core/bus.h"

struct hserver {
	int port;
	char dir[256];	/* temporary directory: store and log */
	char url[64];
	pid_t pid;
};

/* Start (port and dir chosen on first start); 0 on success. */
int hserver_start(struct hserver *s);
/* SIGKILL and reap. */
void hserver_kill(struct hserver *s);
/* SIGTERM, reap, remove the directory. */
void hserver_destroy(struct hserver *s);
/* A free loopback port. */
int hfree_port(void);

/* Connect to url with reconnects forever; NULL (and a message) on failure. */
struct bus *hconnect(const char *url, int64_t timeout_ms, int64_t backoff_ms,
		     bus_state_fn on_state, void *arg);

#endif
