/* Test harness: see harness.h. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/bus.h"
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

static const char *
server_program(void)
{
	return access("/usr/sbin/nats-server", X_OK) == 0 ? "/usr/sbin/nats-server" : "nats-server";
}

int
hserver_start(struct hserver *s)
{
	struct bus_server_info info;
	char port[16], store[300], log[300];
	int64_t deadline;

	if (s->dir[0] == '\0') {
		snprintf(s->dir, sizeof s->dir, "/tmp/ifctl-test-XXXXXX");
		if (mkdtemp(s->dir) == NULL)
			return -1;
		s->port = hfree_port();
		snprintf(s->url, sizeof s->url, "nats://127.0.0.1:%d", s->port);
	}
	snprintf(port, sizeof port, "%d", s->port);
	snprintf(store, sizeof store, "%s/js", s->dir);
	snprintf(log, sizeof log, "%s/nats.log", s->dir);
	s->pid = fork();
	if (s->pid < 0)
		return -1;
	if (s->pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		dup2(fd, 1);
		dup2(fd, 2);
		execlp(server_program(), "nats-server", "-a", "127.0.0.1", "-p", port,
		       "-js", "-sd", store, (char *)NULL);
		_exit(127);
	}
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
	if (s->pid <= 0)
		return;
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	s->pid = 0;
}

void
hserver_destroy(struct hserver *s)
{
	char cmd[300];

	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
	}
	if (s->dir[0]) {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "harness: cannot remove %s\n", s->dir);
	}
}
