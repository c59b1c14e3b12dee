/* The local NATS server: see server.h. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/bus.h"
#include "core/schema.h"
#include "core/server.h"
#include "core/util.h"

void
server_paths_init(struct server_paths *p, const struct config *c)
{
	p->home = config_home(c);
	p->dir = xasprintf("%s/nats", p->home);
	p->store = xasprintf("%s/jetstream", p->dir);
	p->conf = xasprintf("%s/nats.conf", p->dir);
	p->pid = xasprintf("%s/nats.pid", p->dir);
	p->log = xasprintf("%s/nats.log", p->dir);
}

void
server_paths_release(struct server_paths *p)
{
	free(p->home);
	free(p->dir);
	free(p->store);
	free(p->conf);
	free(p->pid);
	free(p->log);
	memset(p, 0, sizeof *p);
}

/* Does /proc/PID/cmdline contain needle as one of its arguments' text? */
static bool
cmdline_has(pid_t pid, const char *needle)
{
	char path[64], *text = NULL;
	size_t len, i;
	bool found = false;

	snprintf(path, sizeof path, "/proc/%ld/cmdline", (long)pid);
	if (read_file(path, READ_MAX_SMALL, 0, &text, &len, NULL) != ST_OK)
		return false;
	for (i = 0; i < len; i++)	/* arguments are NUL-separated */
		if (text[i] == '\0')
			text[i] = ' ';
	found = strstr(text, needle) != NULL;
	free(text);
	return found;
}

/* Alive and not a zombie (no init may reap it inside a container). */
static bool
process_alive(pid_t pid)
{
	char path[64], *text = NULL, *rp;
	bool alive;

	if (kill(pid, 0) != 0 && errno == ESRCH)
		return false;
	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if (read_file(path, READ_MAX_SMALL, 0, &text, NULL, NULL) != ST_OK)
		return false;
	rp = strrchr(text, ')');
	alive = !(rp && rp[1] == ' ' && rp[2] == 'Z');
	free(text);
	return alive;
}

pid_t
server_running(const struct server_paths *p)
{
	char *text = NULL;
	int64_t pid;

	if (read_file(p->pid, READ_MAX_SMALL, 0, &text, NULL, NULL) != ST_OK)
		return 0;
	text[strcspn(text, " \r\n")] = '\0';
	if (!parse_int64(text, &pid) || pid <= 1) {
		free(text);
		return 0;
	}
	free(text);
	if (!process_alive((pid_t)pid) || !cmdline_has((pid_t)pid, p->conf))
		return 0;
	return (pid_t)pid;
}

/* Find an executable: a path as given, else PATH plus the sbin directories. */
static char *
find_program(const char *name)
{
	const char *path = getenv("PATH");
	struct buf dirs = BUF_INIT;
	char *p, *save = NULL, *found = NULL;

	if (strchr(name, '/'))
		return access(name, X_OK) == 0 ? xstrdup(name) : NULL;
	buf_addf(&dirs, "%s:/usr/local/sbin:/usr/sbin:/sbin", path ? path : "/usr/bin:/bin");
	for (p = strtok_r(dirs.s, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
		char *cand = xasprintf("%s/%s", *p ? p : ".", name);
		if (access(cand, X_OK) == 0) {
			found = cand;
			break;
		}
		free(cand);
	}
	buf_release(&dirs);
	return found;
}

/* ST_OK when nothing accepts connections on host:port. */
static enum status
port_free(const char *host, const char *port, struct err *e)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL, *ai;
	enum status st = ST_OK;

	if (getaddrinfo(host, port, &hints, &res) != 0)
		return err_set(e, ST_BAD_VALUE, "cannot resolve server.host '%s'", host);
	for (ai = res; ai && st == ST_OK; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			st = err_set(e, ST_PORT_IN_USE, "port %s on %s is in use by another "
				     "program", port, host);
		close(fd);
	}
	freeaddrinfo(res);
	return st;
}

/* Can we create (or write in) dir? Looks at the nearest existing ancestor. */
static enum status
dir_writable(const char *dir, struct err *e)
{
	char *p = xstrdup(dir), *slash;
	enum status st = ST_OK;

	while (access(p, F_OK) != 0 && (slash = strrchr(p, '/')) && slash != p)
		*slash = '\0';
	if (access(p, W_OK | X_OK) != 0)
		st = err_set(e, ST_PERMISSION, "cannot write in '%s': %s", p, strerror(errno));
	free(p);
	return st;
}

static void
write_conf(const struct config *c, const struct server_paths *p, struct buf *out)
{
	char host[256];

	gethostname(host, sizeof host);
	host[sizeof host - 1] = '\0';
	buf_addf(out,
		 "# Written by 'ifctl up' from the ifctl configuration; edits are overwritten.\n"
		 "server_name: \"ifctl-%s\"\n"
		 "listen: \"%s:%lld\"\n"
		 "pid_file: \"%s\"\n"
		 "log_file: \"%s\"\n"
		 "max_payload: 8MB\n"
		 "jetstream {\n"
		 "  store_dir: \"%s\"\n"
		 "  max_file_store: %lldMB\n"
		 "  max_memory_store: 256MB\n"
		 "}\n",
		 host, cfg_str(c, CK_SERVER_HOST), (long long)cfg_int(c, CK_SERVER_PORT),
		 p->pid, p->log, p->store, (long long)cfg_int(c, CK_SERVER_STORE_MAX_MB));
}

/* The last non-empty line of the server log, for error messages. */
static void
log_tail(const char *log, char *out, size_t n)
{
	char *text = NULL, *end, *start;
	size_t len;

	out[0] = '\0';
	if (read_file(log, READ_MAX_SMALL, READ_TAIL, &text, &len, NULL) != ST_OK)
		return;
	end = text + len;
	while (end > text && (end[-1] == '\n' || end[-1] == '\r'))
		end--;
	*end = '\0';
	start = strrchr(text, '\n');
	snprintf(out, n, "%s", start ? start + 1 : text);
	free(text);
}

static enum status
spawn(const char *prog, const struct server_paths *p, pid_t *pid, struct err *e)
{
	pid_t child = fork();

	if (child < 0)
		return err_set(e, ST_SERVER_START, "cannot fork: %s", strerror(errno));
	if (child == 0) {
		int nul = open("/dev/null", O_RDWR);
		int log = open(p->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		setsid();
		dup2(nul, 0);
		dup2(log >= 0 ? log : nul, 1);
		dup2(log >= 0 ? log : nul, 2);
		execl(prog, "nats-server", "-c", p->conf, (char *)NULL);
		_exit(127);
	}
	*pid = child;
	return ST_OK;
}

/*
 * Poll until the server answers on its port with JetStream on, the child
 * dies, or the start timeout passes.
 */
static enum status
wait_ready(const struct config *c, const struct server_paths *p, pid_t child,
	   const char *url, struct server_up_result *r, struct err *e)
{
	int64_t deadline = mono_ms() + cfg_int(c, CK_SERVER_START_TIMEOUT_MS);
	struct bus_server_info info;
	char tail[256];
	int status;

	while (mono_ms() < deadline) {
		if (child && waitpid(child, &status, WNOHANG) == child) {
			log_tail(p->log, tail, sizeof tail);
			return err_set(e, ST_SERVER_START, "nats-server exited with status %d "
				       "(log '%s': %s)", WIFEXITED(status) ? WEXITSTATUS(status) : -1,
				       p->log, tail[0] ? tail : "empty");
		}
		if (bus_probe(url, 200, &info, NULL) == ST_OK) {
			if (!info.jetstream)
				return err_set(e, ST_NO_JETSTREAM, "the server at '%s' has JetStream off", url);
			memcpy(r->version, info.version, sizeof r->version);
			return ST_OK;
		}
		usleep(20 * 1000);
	}
	log_tail(p->log, tail, sizeof tail);
	return err_set(e, ST_SERVER_START, "nats-server did not answer within %lld ms "
		       "(log '%s': %s)", (long long)cfg_int(c, CK_SERVER_START_TIMEOUT_MS),
		       p->log, tail[0] ? tail : "empty");
}

/* Connect and create the streams and buckets, retrying while JetStream warms up. */
static enum status
ensure_schema(const struct config *c, struct rowset *created, struct err *e)
{
	int64_t deadline = mono_ms() + cfg_int(c, CK_SERVER_START_TIMEOUT_MS);
	struct bus_opts o;
	struct bus *b = NULL;
	enum status st;

	bus_opts_from_config(&o, c);
	do {
		st = bus_open(&b, &o, e);
		if (st == ST_OK)
			st = schema_ensure(b, created, e);
		bus_close(b);
		b = NULL;
		if (st != ST_NO_JETSTREAM && st != ST_TIMEOUT && st != ST_UNREACHABLE)
			break;
		usleep(50 * 1000);
	} while (mono_ms() < deadline);
	bus_opts_release(&o);
	return st;
}

/* Record a check; in normal mode a failure ends the operation. */
static bool
check(struct opctx *op, const char *name, enum status st, const struct err *ce,
      const char *evidence, struct err *e, enum status *first)
{
	check_record(op, name, st, st == ST_OK ? evidence : ce->msg);
	if (st != ST_OK && *first == ST_OK) {
		*first = st;
		if (e)
			*e = *ce;
	}
	return st == ST_OK || op->falsify;
}

enum status
server_up(const struct config *c, struct opctx *op, struct server_up_result *r,
	  struct rowset *created, struct err *e)
{
	struct server_paths p;
	struct buf conf = BUF_INIT, ev = BUF_INIT;
	struct err ce = ERR_INIT;
	char port[16], *prog = NULL;
	enum status st, first = ST_OK;
	pid_t pid = 0;

	memset(r, 0, sizeof *r);
	server_paths_init(&p, c);
	r->url = xasprintf("nats://%s:%lld", cfg_str(c, CK_SERVER_HOST),
			   (long long)cfg_int(c, CK_SERVER_PORT));
	snprintf(port, sizeof port, "%lld", (long long)cfg_int(c, CK_SERVER_PORT));

	prog = find_program(cfg_str(c, CK_SERVER_BINARY));
	st = prog ? ST_OK : err_set(&ce, ST_NO_PROGRAM, "'%s' not found in PATH or /usr/sbin",
				    cfg_str(c, CK_SERVER_BINARY));
	if (!check(op, "nats-server installed", st, &ce, prog, e, &first))
		goto out;
	st = dir_writable(p.dir, &ce);
	if (!check(op, "data directory writable", st, &ce, p.dir, e, &first))
		goto out;
	pid = server_running(&p);
	if (pid) {
		buf_addf(&ev, "ifctl's server already runs (pid %ld)", (long)pid);
		st = ST_OK;
	} else {
		buf_addf(&ev, "%s:%s is free", cfg_str(c, CK_SERVER_HOST), port);
		st = port_free(cfg_str(c, CK_SERVER_HOST), port, &ce);
	}
	if (!check(op, "port available", st, &ce, ev.s, e, &first))
		goto out;
	if (op->falsify) {
		st = first == ST_OK ? ST_OK : ST_FALSIFIED;
		goto out;
	}
	if (!pid) {
		if ((st = mkdir_p(p.store, 0700, e)) != ST_OK)
			goto out;
		write_conf(c, &p, &conf);
		if ((st = write_file_atomic(p.conf, conf.s, conf.len, 0600, e)) != ST_OK)
			goto out;
		if ((st = spawn(prog, &p, &pid, e)) != ST_OK)
			goto out;
		r->started = true;
	}
	st = wait_ready(c, &p, r->started ? pid : 0, r->url, r, e);
	if (st == ST_OK)
		st = ensure_schema(c, created, e);
	if (st != ST_OK && r->started)
		kill(pid, SIGTERM);	/* do not leave a half-started server behind */
	r->pid = pid;
out:
	free(prog);
	buf_release(&conf);
	buf_release(&ev);
	server_paths_release(&p);
	return st;
}

enum status
server_down(const struct config *c, struct opctx *op, pid_t *pid, struct err *e)
{
	struct server_paths p;
	int64_t deadline = mono_ms() + cfg_int(c, CK_SERVER_START_TIMEOUT_MS);
	enum status st = ST_OK;
	char ev[128];

	server_paths_init(&p, c);
	*pid = server_running(&p);
	snprintf(ev, sizeof ev, *pid ? "pid %ld runs with '%s'" : "no server of ours runs",
		 (long)*pid, p.conf);
	check_record(op, "server found", ST_OK, ev);
	if (op->falsify || *pid == 0)
		goto out;
	if (kill(*pid, SIGTERM) != 0) {
		st = err_set(e, errno == EPERM ? ST_PERMISSION : ST_FAIL,
			     "cannot stop nats-server (pid %ld): %s", (long)*pid, strerror(errno));
		goto out;
	}
	while (process_alive(*pid) && mono_ms() < deadline)
		usleep(20 * 1000);
	if (process_alive(*pid)) {
		st = err_set(e, ST_FAIL, "nats-server (pid %ld) did not stop within %lld ms",
			     (long)*pid, (long long)cfg_int(c, CK_SERVER_START_TIMEOUT_MS));
		goto out;
	}
	unlink(p.pid);
out:
	server_paths_release(&p);
	return st;
}
