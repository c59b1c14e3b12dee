/* Test harness: see harness.h. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/bus.h"
#include "core/proc.h"
#include "core/probe.h"
#include "core/util.h"
#include "harness.h"

int
hfree_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

struct bus *
hconnect(const char *url, int64_t timeout_ms, int64_t backoff_ms, bus_state_fn on_state,
	 void *arg)
{
	struct bus_opts o = { 0 };
	struct bus *b = NULL;
	struct err e = ERR_INIT;

	o.url = xstrdup(url);
	o.name = xstrdup("ifctl-test");
	o.timeout_ms = timeout_ms;
	o.reconnect_wait_ms = backoff_ms;
	o.reconnect_max_wait_ms = backoff_ms * 4;
	o.max_reconnects = -1;
	o.on_state = on_state;
	o.state_arg = arg;
	if (bus_open(&b, &o, &e) != ST_OK)
		fprintf(stderr, "harness: connect to %s: %s\n", url, e.msg);
	bus_opts_release(&o);
	return b;
}

/* First start: a fresh directory and a free port; 0 on success. */
static int
hserver_dir(struct hserver *s)
{
	snprintf(s->dir, sizeof s->dir, "/tmp/ifctl-test-XXXXXX");
	if (mkdtemp(s->dir) == NULL) {
		s->dir[0] = '\0';
		return -1;
	}
	s->port = hfree_port();
	snprintf(s->url, sizeof s->url, "nats://127.0.0.1:%d", s->port);
	return 0;
}

int
hserver_start(struct hserver *s)
{
	struct bus_server_info info;
	struct err e = ERR_INIT;
	char port[16], store[300], log[300], *prog = proc_find("nats-server");
	char *argv[] = { (char *)"nats-server", (char *)"-a", (char *)"127.0.0.1", (char *)"-p",
			 port, (char *)"-js", (char *)"-sd", store, NULL };
	struct proc_spec ps = { .path = prog, .argv = argv, .log = log };
	int64_t deadline;

	if (prog == NULL || (s->dir[0] == '\0' && hserver_dir(s) != 0)) {
		free(prog);
		return -1;
	}
	snprintf(port, sizeof port, "%d", s->port);
	snprintf(store, sizeof store, "%s/js", s->dir);
	snprintf(log, sizeof log, "%s/nats.log", s->dir);
	s->pid = 0;
	if (proc_spawn(&ps, &s->pid, &e) != ST_OK)
		fprintf(stderr, "harness: %s\n", e.msg);
	free(prog);
	if (s->pid <= 0)
		return -1;
	deadline = mono_ms() + 10000;
	while (mono_ms() < deadline) {
		if (bus_probe(s->url, 200, &info, NULL) == ST_OK)
			return 0;
		if (waitpid(s->pid, NULL, WNOHANG) == s->pid)
			return -1;
		usleep(10000);
	}
	return -1;
}

void
hserver_kill(struct hserver *s)
{
	proc_stop(s->pid, SIGKILL);
	s->pid = 0;
}

void
hserver_destroy(struct hserver *s)
{
	char cmd[300];

	proc_stop(s->pid, SIGTERM);
	s->pid = 0;
	if (s->dir[0]) {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "harness: cannot remove %s\n", s->dir);
	}
}
