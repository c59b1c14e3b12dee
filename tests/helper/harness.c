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

#include <sodium.h>

#include "core/bus.h"
#include "core/proc.h"
#include "core/probe.h"
#include "core/server.h"
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

/* --- a local cluster ---------------------------------------------------- */

#define HC_PIDS_MAX 64

/* Every node pid any cluster of this process started, for the exit handlers. */
static volatile pid_t hc_pids[HC_PIDS_MAX];

/* Note a node's pid so that nothing outlives the test. */
static void
hc_track(pid_t pid)
{
	size_t i;

	for (i = 0; pid > 0 && i < HC_PIDS_MAX; i++)
		if (hc_pids[i] == 0 || hc_pids[i] == pid) {
			hc_pids[i] = pid;
			return;
		}
}

/*
 * Forget a node's pid before it is reaped: once reaped the pid may be
 * given to another process (pid_max can be as low as 32768), which the
 * exit handlers must never signal.
 */
static void
hc_untrack(pid_t pid)
{
	size_t i;

	for (i = 0; pid > 0 && i < HC_PIDS_MAX; i++)
		if (hc_pids[i] == pid)
			hc_pids[i] = 0;
}

/* Kill whatever node is left (async-signal-safe: kill only). */
static void
hc_kill_all(void)
{
	size_t i;

	for (i = 0; i < HC_PIDS_MAX; i++)
		if (hc_pids[i] > 0) {
			kill(hc_pids[i], SIGCONT);
			kill(hc_pids[i], SIGKILL);
			hc_pids[i] = 0;
		}
}

static const int hc_sigs[] = { SIGABRT, SIGSEGV, SIGBUS, SIGTERM, SIGINT, SIGFPE, SIGALRM };
static struct sigaction hc_old[sizeof hc_sigs / sizeof hc_sigs[0]];

/*
 * Kill the nodes, then hand the signal to whoever handled it before (a
 * sanitizer's report of a crash, or the default): a fault returns to the
 * faulting instruction, which faults again into that handler.
 */
static void
hc_on_signal(int sig)
{
	static const char late[] = "harness: out of time (a test's alarm): the nodes are killed\n";
	size_t i;

	if (sig == SIGALRM && write(2, late, sizeof late - 1) < 0) {
		/* nothing more can be said */
	}
	hc_kill_all();
	for (i = 0; i < sizeof hc_sigs / sizeof hc_sigs[0]; i++)
		if (hc_sigs[i] == sig)
			sigaction(sig, &hc_old[i], NULL);
	if (sig != SIGSEGV && sig != SIGBUS && sig != SIGFPE)
		raise(sig);
}

/* Exit and crash handlers, once. */
static void
hc_guard(void)
{
	static bool done;
	struct sigaction sa;
	size_t i;

	if (done)
		return;
	done = true;
	atexit(hc_kill_all);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = hc_on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof hc_sigs / sizeof hc_sigs[0]; i++)
		sigaction(hc_sigs[i], &sa, &hc_old[i]);
}

/* Are the 3n ports of a cluster from port free on the loopback? */
static bool
hc_ports_free(int port, int n)
{
	int k, off;

	for (k = 0; k < n; k++)
		for (off = 0; off <= 4000; off += 2000) {
			struct sockaddr_in a = { .sin_family = AF_INET };
			int fd = socket(AF_INET, SOCK_STREAM, 0), ok;
			a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			a.sin_port = htons((uint16_t)(port + off + k));
			ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
			if (fd >= 0)
				close(fd);
			if (!ok)
				return false;
		}
	return true;
}

int
hcluster_start(struct hcluster *c, int n)
{
	struct server_cluster_result r;
	struct opctx op;
	struct err e = ERR_INIT;
	char port[16];
	enum status st;
	int tries, k;

	memset(c, 0, sizeof *c);
	hc_guard();
	c->n = n;
	gethostname(c->host, sizeof c->host);
	c->host[sizeof c->host - 1] = '\0';
	snprintf(c->home, sizeof c->home, "/tmp/ifctl-cluster-XXXXXX");
	if (mkdtemp(c->home) == NULL)
		return -1;
	for (tries = 0; tries < 50; tries++) {
		c->port = 20000 + (int)(randombytes_uniform(9000));
		if (hc_ports_free(c->port, n))
			break;
	}
	config_init(&c->cfg);
	snprintf(port, sizeof port, "%d", c->port);
	if (config_set(&c->cfg, CK_HOME, c->home, CFG_SRC_FLAG, &e) != ST_OK ||
	    config_set(&c->cfg, CK_SERVER_PORT, port, CFG_SRC_FLAG, &e) != ST_OK) {
		fprintf(stderr, "harness: %s\n", e.msg);
		return -1;
	}
	opctx_init(&op, NULL);
	st = server_cluster_up(&c->cfg, &op, n, &r, NULL, &e);
	opctx_release(&op);
	for (k = 0; k < n; k++)
		hc_track(r.pids[k]);
	free(r.url);
	if (st != ST_OK) {
		fprintf(stderr, "harness: cluster: %s\n", e.msg);
		return -1;
	}
	for (k = 1; k <= n; k++)
		snprintf(c->urls + strlen(c->urls), sizeof c->urls - strlen(c->urls),
			 "%snats://127.0.0.1:%d", k > 1 ? "," : "", c->port + k - 1);
	return 0;
}

pid_t
hcluster_pid(struct hcluster *c, int k)
{
	struct server_paths p;
	pid_t pid;

	server_node_paths_init(&p, &c->cfg, k);
	pid = server_running(&p);
	server_paths_release(&p);
	return pid;
}

void
hcluster_kill(struct hcluster *c, int k)
{
	pid_t pid = hcluster_pid(c, k);

	if (pid > 0) {
		kill(pid, SIGKILL);
		hc_untrack(pid);
		waitpid(pid, NULL, 0);	/* our child when we started it */
		while (proc_alive(pid))
			usleep(1000);
	}
}

int
hcluster_restart(struct hcluster *c, int k)
{
	struct err e = ERR_INIT;
	pid_t pid = 0;

	if (server_node_start(&c->cfg, k, &pid, &e) != ST_OK) {
		fprintf(stderr, "harness: node %d: %s\n", k, e.msg);
		return -1;
	}
	hc_track(pid);
	return 0;
}

void
hcluster_signal(struct hcluster *c, int k, int sig)
{
	pid_t pid = hcluster_pid(c, k);

	if (pid > 0)
		kill(pid, sig);
}

int
hcluster_node_of(struct hcluster *c, const char *name)
{
	char want[300];
	int k;

	for (k = 1; k <= c->n; k++) {
		snprintf(want, sizeof want, "ifctl-%s-n%d", c->host, k);
		if (strcmp(want, name) == 0)
			return k;
	}
	return 0;
}

int
hcluster_stream_leader(struct hcluster *c, struct bus *b, const char *stream)
{
	struct bus_stream_cluster sc;

	if (bus_stream_cluster(b, stream, &sc, NULL) != ST_OK)
		return 0;
	return hcluster_node_of(c, sc.leader);
}

int
hcluster_meta_leader(struct hcluster *c)
{
	struct server_node *nodes = NULL;
	const char *l;
	size_t n = 0;
	int k = 0;

	if (server_cluster_nodes(&c->cfg, &nodes, &n) == ST_OK &&
	    (l = server_cluster_leader(nodes, n)) != NULL)
		k = hcluster_node_of(c, l);
	free(nodes);
	return k;
}

void
hcluster_destroy(struct hcluster *c)
{
	pid_t pids[SERVER_CLUSTER_MAX];
	struct opctx op;
	struct err e = ERR_INIT;
	char cmd[300];
	int n = 0, k;

	if (!c->home[0])
		return;
	for (k = 1; k <= c->n; k++)
		hcluster_signal(c, k, SIGCONT);
	opctx_init(&op, NULL);
	if (server_cluster_down(&c->cfg, &op, pids, &n, &e) != ST_OK)
		fprintf(stderr, "harness: cluster down: %s\n", e.msg);
	opctx_release(&op);
	for (k = 1; k <= c->n; k++)	/* what still runs (a down that failed) */
		hcluster_signal(c, k, SIGKILL);
	for (k = 0; k < n; k++) {
		hc_untrack(pids[k]);
		if (pids[k] > 0)
			waitpid(pids[k], NULL, 0);
	}
	config_release(&c->cfg);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", c->home);
	if (system(cmd) != 0)
		fprintf(stderr, "harness: cannot remove %s\n", c->home);
	c->home[0] = '\0';
}

/* --- claim logs --------------------------------------------------------- */

void
hclaims_init(struct hclaims *l)
{
	memset(l, 0, sizeof *l);
	pthread_mutex_init(&l->mu, NULL);
}

void
hclaims_release(struct hclaims *l)
{
	free(l->id);
	free(l->token);
	pthread_mutex_destroy(&l->mu);
}

void
hclaims_add(struct hclaims *l, const char *id, uint64_t token)
{
	pthread_mutex_lock(&l->mu);
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 1024;
		l->id = xrealloc(l->id, l->cap * sizeof *l->id);
		l->token = xrealloc(l->token, l->cap * sizeof *l->token);
	}
	snprintf(l->id[l->n], sizeof l->id[0], "%s", id);
	l->token[l->n++] = token;
	pthread_mutex_unlock(&l->mu);
}

size_t
hclaims_count(struct hclaims *l)
{
	size_t n;

	pthread_mutex_lock(&l->mu);
	n = l->n;
	pthread_mutex_unlock(&l->mu);
	return n;
}

void
hclaims_judge(const struct hclaims *l, const char *id, uint64_t token, size_t *unknown,
	      size_t *twice)
{
	size_t i, holders = 0;

	for (i = 0; i < l->n; i++)
		if (l->token[i] == token && strcmp(l->id[i], id) == 0)
			holders++;
	*unknown += holders == 0;
	*twice += holders > 1;
}

void
hclaims_each_record(struct hclaims *l, struct bus *b, const struct coord_cfg *cfg,
		    void (*fn)(void *arg, const char *json, size_t len), void *arg)
{
	struct coord_index *fresh = NULL;
	struct err e = ERR_INIT;

	pthread_mutex_lock(&l->mu);
	if (coord_index_open(b, cfg, &fresh, &e) == ST_OK)
		coord_index_each(fresh, fn, arg);
	pthread_mutex_unlock(&l->mu);
	coord_index_free(fresh);
}

/* See harness.h. */
void
hclaims_each_leader(struct hclaims *l, struct bus *b, const struct coord_cfg *cfg,
		    const char *prefix, size_t n,
		    void (*fn)(void *arg, const char *json, size_t len), void *arg)
{
	char *stream = xasprintf("KV_%s", cfg->bucket);
	struct buf data = BUF_INIT;
	size_t i;

	pthread_mutex_lock(&l->mu);
	for (i = 0; i < n; i++) {
		char subject[160];
		uint64_t seq = 0;
		struct err e = ERR_INIT;
		enum status st;
		int tries;
		snprintf(subject, sizeof subject, "$KV.%s.%s%zu", cfg->bucket, prefix, i);
		for (tries = 0; tries < 20; tries++) {	/* a leader change on the way: ask again */
			st = bus_stream_last(b, stream, subject, &data, &seq, &e);
			if (st == ST_OK || st == ST_NOT_FOUND)
				break;
			usleep(250 * 1000);
		}
		if (st == ST_OK)
			fn(arg, data.s, data.len);
	}
	pthread_mutex_unlock(&l->mu);
	buf_release(&data);
	free(stream);
}

/* See harness.h. */
enum status
hload_tasks(struct bus *b, const char *bucket, const char *prefix, size_t n,
	    enum task_state state)
{
	enum { BATCH = 500 };
	struct bus_pub_msg m[BATCH];
	struct buf subj[BATCH], data[BATCH];
	struct err e = ERR_INIT;
	int64_t now = wall_ms();
	enum status st = ST_OK;
	size_t i, j, k;

	for (j = 0; j < BATCH; j++)
		subj[j] = data[j] = (struct buf)BUF_INIT;
	for (i = 0; i < n && st == ST_OK; i += k) {
		k = n - i < BATCH ? n - i : BATCH;
		for (j = 0; j < k; j++) {
			struct task t;
			char id[64], own[16];
			snprintf(id, sizeof id, "%s-%06zu", prefix, i + j);
			task_init(&t);
			t.id = xstrdup(id);
			t.title = xstrdup("x");
			t.caps = xcalloc(1, sizeof *t.caps);
			if ((i + j) % 2 == 0) {
				t.caps[0] = xstrdup("gpu");
				t.ncaps = 1;
			}
			if ((i + j) % 3 == 0) {
				snprintf(own, sizeof own, "s-%zu", (i + j) % 4);
				t.owner = xstrdup(own);
			}
			t.state = state;
			t.max_attempts = 3;
			t.created = now - 10000 + (int64_t)((i + j) % 5000);
			t.updated = now - 5000;
			t.trace = xstrdup("load");
			task_history_add(&t, t.created, TASK_QUEUED, "loader", 0, NULL);
			buf_reset(&data[j]);
			task_to_json(&t, &data[j]);
			buf_reset(&subj[j]);
			buf_addf(&subj[j], "$KV.%s.%s", bucket, id);
			task_release(&t);
			m[j] = (struct bus_pub_msg){ .subject = subj[j].s, .data = data[j].s,
						     .len = data[j].len };
		}
		st = bus_js_publish_many(b, m, k, &e);
	}
	for (j = 0; j < BATCH; j++) {
		buf_release(&subj[j]);
		buf_release(&data[j]);
	}
	return st;
}
