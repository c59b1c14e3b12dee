/* The local NATS server: see server.h. */
#include <crypt.h>
#include <dirent.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "core/buf.h"
#include "core/bus.h"
#include "core/home.h"
#include "core/proc.h"
#include "core/probe.h"
#include "core/schema.h"
#include "core/server.h"
#include "core/task.h"
#include "core/util.h"

void
server_paths_init(struct server_paths *p, const struct config *c)
{
	p->home = home_path(c, HOME_DIR);
	p->dir = home_path(c, HOME_NATS);
	p->store = home_path(c, HOME_NATS_STORE);
	p->conf = home_path(c, HOME_NATS_CONF);
	p->pid = home_path(c, HOME_NATS_PID);
	p->log = home_path(c, HOME_NATS_LOG);
	p->ident = home_path(c, HOME_NATS_IDENT);
	p->users = home_path(c, HOME_NATS_USERS);
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
	free(p->ident);
	free(p->users);
	memset(p, 0, sizeof *p);
}

/* The argument vector 'up' gives nats-server, NUL-separated as in /proc/PID/cmdline. */
static void
server_argv(const struct server_paths *p, struct buf *out)
{
	buf_adds(out, "nats-server");
	buf_addc(out, '\0');
	buf_adds(out, "-c");
	buf_addc(out, '\0');
	buf_adds(out, p->conf);
	buf_addc(out, '\0');
}

/* Record who the server just started is (nats.ident, 0600). */
static enum status
ident_write(const struct server_paths *p, pid_t pid, struct err *e)
{
	struct proc_ident id;
	struct buf b = BUF_INIT;
	enum status st;

	if (!proc_ident_read(pid, &id))
		return err_set(e, ST_SERVER_START, "nats-server (pid %ld) exited at once "
			       "(log '%s')", (long)pid, p->log);
	buf_addf(&b, "pid %ld\nstart %llu\nexe %llu %llu\n", (long)pid, id.start,
		 id.exe_dev, id.exe_ino);
	st = write_file_atomic(p->ident, b.s, b.len, 0600, e);
	buf_release(&b);
	proc_ident_release(&id);
	return st;
}

/* Why the live process pid is not the server recorded in nats.ident; NULL when it is. */
static const char *
ident_mismatch(const struct server_paths *p, pid_t pid)
{
	struct proc_ident id;
	struct buf want = BUF_INIT;
	char *text = NULL;
	long rpid = 0;
	unsigned long long start = 0, dev = 0, ino = 0;
	const char *why = NULL;

	if (read_file(p->ident, READ_MAX_SMALL, READ_TEXT, &text, NULL, NULL) != ST_OK ||
	    sscanf(text, "pid %ld\nstart %llu\nexe %llu %llu", &rpid, &start, &dev, &ino) != 4)
		why = "there is no record of the server 'ifctl up' started";
	else if (!proc_ident_read(pid, &id))
		why = "it cannot be inspected (another user's process?)";
	else {
		server_argv(p, &want);
		if (rpid != (long)pid || id.start != start)
			why = "its pid or start time is not the one recorded at 'up' (a reused pid)";
		else if (id.exe_dev != dev || id.exe_ino != ino)
			why = "its executable is not the nats-server 'up' started";
		else if (id.argv_len != want.len || memcmp(id.argv, want.s, want.len) != 0)
			why = "its arguments are not exactly 'nats-server -c' with this home's nats.conf";
		proc_ident_release(&id);
	}
	buf_release(&want);
	free(text);
	return why;
}

pid_t
server_pid(const struct server_paths *p, const char **why)
{
	char *text = NULL;
	int64_t pid;

	*why = NULL;
	if (read_file(p->pid, READ_MAX_SMALL, 0, &text, NULL, NULL) != ST_OK)
		return 0;
	text[strcspn(text, " \r\n")] = '\0';
	if (!parse_int64(text, &pid) || pid <= 1 || pid > INT32_MAX) {
		free(text);
		return 0;
	}
	free(text);
	if (!proc_alive((pid_t)pid))
		return 0;
	*why = ident_mismatch(p, (pid_t)pid);
	return (pid_t)pid;
}

pid_t
server_running(const struct server_paths *p)
{
	const char *why;
	pid_t pid = server_pid(p, &why);

	return why ? 0 : pid;
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


/*
 * Users of an authorising local server (server.auth, 'up --auth'). Each
 * role is a list of subjects it may publish to and subscribe to; anything
 * not listed is refused by the server. ifctl-protocol(7), PERMISSIONS, says
 * why each line is there; keep the two in step.
 *
 * JetStream's API is request/reply on $JS.API.*: reading a stream or a
 * bucket needs stream info, message get (direct or not) and consumers with
 * their acks and flow control, answered on the caller's _INBOX. Creating,
 * changing, purging or deleting streams, and deleting messages, are other
 * API subjects no role below the operator gets.
 */
#define JS_READ \
	"$JS.API.INFO", "$JS.API.STREAM.INFO.*", "$JS.API.STREAM.NAMES", \
	"$JS.API.STREAM.LIST", "$JS.API.STREAM.MSG.GET.*", "$JS.API.DIRECT.GET.>", \
	"$JS.API.CONSUMER.CREATE.>", "$JS.API.CONSUMER.INFO.*.*", \
	"$JS.API.CONSUMER.NAMES.*", "$JS.API.CONSUMER.LIST.*", \
	"$JS.API.CONSUMER.MSG.NEXT.*.*", "$JS.API.CONSUMER.DELETE.*.*", \
	"$JS.ACK.>", "$JS.FC.>"
#define READ_SUBS "_INBOX.>", "if.v1.>", "$KV.>"

#define ROLE_SUBJECTS_MAX 31

struct role {
	const char *name;
	const char *pub[ROLE_SUBJECTS_MAX + 1];	/* NULL-terminated */
	const char *sub[8];
};

static const struct role roles[] = {
	{ "operator", { ">", NULL }, { ">", NULL } },
	{ "swarm", { JS_READ, "$KV.IF_TASKS.>", "$KV.IF_SWARMS.>", "if.v1.queue.>",
		     "if.v1.evt.task.>", "if.v1.evt.swarm.>", "if.v1.cost.>", "if.v1.slo.>",
		     "if.v1.witness.entry", NULL }, { READ_SUBS, NULL } },
	{ "viewer", { JS_READ, NULL }, { READ_SUBS, NULL } },
};

#define BCRYPT_COST 6	/* the passwords are 144 random bits: cost adds nothing but connect time */

/* The password kept in a role file, or NULL when there is none. */
static char *
role_password(const char *path)
{
	struct config rc;
	char *pw = NULL;

	config_init(&rc);
	if (config_load_file(&rc, path, NULL, NULL) == ST_OK && cfg_str(&rc, CK_NATS_PASSWORD)[0])
		pw = xstrdup(cfg_str(&rc, CK_NATS_PASSWORD));
	config_release(&rc);
	return pw;
}

/* 18 bytes from the CSPRNG as 24 URL-safe base64 characters; caller frees. */
static char *
new_password(void)
{
	unsigned char raw[18];
	char text[sodium_base64_ENCODED_LEN(sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];

	randombytes_buf(raw, sizeof raw);
	sodium_bin2base64(text, sizeof text, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof raw);
	return xstrdup(text);
}

/* Write a login file: an ifctl config with the local server's URL, user and password. */
static enum status
login_write(const struct config *c, const char *path, const char *user, const char *role,
	    const char *by, const char *password, struct err *e)
{
	struct buf f = BUF_INIT;
	enum status st;

	buf_addf(&f, "# The '%s' user of the local server, written by '%s'.\n"
		 "# Use it with 'ifctl --config %s'; it is a secret (mode 0600).\n"
		 "# role: %s\n"
		 "nats:\n  url: \"nats://%s:%lld\"\n  user: \"%s\"\n  password: \"%s\"\n",
		 user, by, path, role, cfg_str(c, CK_SERVER_HOST),
		 (long long)cfg_int(c, CK_SERVER_PORT), user, password);
	st = write_file_atomic(path, f.s, f.len, 0600, e);
	sodium_memzero(f.s, f.len);
	buf_release(&f);
	return st;
}

/* Keep the role's password (or make one) and write its role file. */
static enum status
role_login(const struct config *c, const char *role,
	   char **password, struct rowset *created, struct err *e)
{
	char *path = home_role_file(c, role);
	enum status st;
	size_t row;

	*password = role_password(path);
	if (created) {
		row = rows_add(created);
		rows_set(created, row, 0, "user");
		rows_set(created, row, 1, role);
		rows_set(created, row, 2, *password ? "exists" : "created");
	}
	if (*password == NULL)
		*password = new_password();
	st = login_write(c, path, role, role, "ifctl up --auth", *password, e);
	free(path);
	return st;
}

/* A bcrypt hash of password, as nats-server accepts in its config. */
static enum status
bcrypt(const char *password, char out[CRYPT_OUTPUT_SIZE], struct err *e)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd = xcalloc(1, sizeof *cd);
	const char *h = NULL;
	enum status st = ST_OK;

	if (crypt_gensalt_rn("$2b$", BCRYPT_COST, NULL, 0, salt, sizeof salt))
		h = crypt_r(password, salt, cd);
	if (h == NULL || h[0] != '$')
		st = err_set(e, ST_FAIL, "cannot hash a password with bcrypt: %s", strerror(errno));
	else
		snprintf(out, CRYPT_OUTPUT_SIZE, "%s", h);
	sodium_memzero(cd, sizeof *cd);
	free(cd);
	return st;
}

/* "a", "b", ... as a nats.conf array. */
static void
conf_list(struct buf *out, const char *const *v)
{
	buf_addc(out, '[');
	for (; *v; v++)
		buf_addf(out, "\"%s\"%s", *v, v[1] ? ", " : "");
	buf_addc(out, ']');
}

/*
 * A role's publish list with "$KV.IF_SWARMS.>" narrowed to the user's own
 * key: a swarm login writes its own profile, never another swarm's.
 */
static void
own_profile(struct buf *out, const char *const *pub, const char *user)
{
	const char *v[ROLE_SUBJECTS_MAX + 1];
	char *own = xasprintf("$KV.IF_SWARMS.%s", user);
	size_t n = 0;

	for (; *pub && n < ROLE_SUBJECTS_MAX; pub++)
		v[n++] = strcmp(*pub, "$KV.IF_SWARMS.>") == 0 ? own : *pub;
	v[n] = NULL;
	conf_list(out, v);
	free(own);
}

/* The role named name, or NULL. */
static const struct role *
role_find(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(roles); i++)
		if (strcmp(roles[i].name, name) == 0)
			return &roles[i];
	return NULL;
}

/* One user of the authorization block, with its role's permissions. */
static enum status
auth_user(struct buf *out, const char *user, const char *password, const struct role *r,
	  struct err *e)
{
	char hash[CRYPT_OUTPUT_SIZE];
	enum status st = bcrypt(password, hash, e);

	if (st != ST_OK)
		return st;
	buf_addf(out, "    { user: \"%s\", password: \"%s\",\n      permissions: {\n"
		 "        publish: { allow: ", user, hash);
	own_profile(out, r->pub, user);
	buf_adds(out, " }\n        subscribe: { allow: ");
	conf_list(out, r->sub);
	buf_adds(out, " }\n      } }\n");
	return ST_OK;
}

/* The role a login file names on its "# role: " line, or NULL. */
static const struct role *
login_role(const char *path)
{
	static const char tag[] = "\n# role: ";
	char *text = NULL, *at, line[32];
	const struct role *r = NULL;

	if (read_file(path, READ_MAX_SMALL, READ_TEXT, &text, NULL, NULL) != ST_OK)
		return NULL;
	if ((at = strstr(text, tag)) != NULL && sscanf(at + sizeof tag - 1, "%31[a-z]", line) == 1)
		r = role_find(line);
	free(text);
	return r;
}

/*
 * The users 'ifctl user add' made: NAME.yaml files in dir with a valid name,
 * a role and a password, sorted by name. Each is given to fn; a file that
 * is not such a login is passed over (user list shows it as invalid).
 */
static enum status
users_each(const char *dir, enum status (*fn)(void *arg, const char *name, const char *path,
					       const struct role *r, const char *password),
	   void *arg)
{
	struct dirent **ents = NULL;
	enum status st = ST_OK;
	int n, i;

	n = scandir(dir, &ents, NULL, alphasort);
	for (i = 0; i < n; i++) {
		size_t len = strlen(ents[i]->d_name);
		char *name = len > 5 && strcmp(ents[i]->d_name + len - 5, ".yaml") == 0 ?
			     xasprintf("%.*s", (int)(len - 5), ents[i]->d_name) : NULL;
		char *path = xasprintf("%s/%s", dir, ents[i]->d_name), *pw = NULL;
		const struct role *r = NULL;
		if (name && task_id_valid(name) && !role_find(name)) {
			r = login_role(path);
			pw = role_password(path);
		}
		if (st == ST_OK && name)
			st = fn(arg, name, path, r && pw ? r : NULL, pw);
		if (pw)
			sodium_memzero(pw, strlen(pw));
		free(pw);
		free(path);
		free(name);
		free(ents[i]);
	}
	free(ents);
	return st;
}

struct auth_walk {
	struct buf *out;
	struct err *e;
};

/* users_each(): one added user into the authorization block. */
static enum status
auth_added(void *arg, const char *name, const char *path, const struct role *r,
	   const char *password)
{
	struct auth_walk *w = arg;

	(void)path;
	return r ? auth_user(w->out, name, password, r, w->e) : ST_OK;
}

/* The authorization block: one user per role, then the added users; bcrypt-hashed. */
static enum status
write_auth(const struct config *c, const struct server_paths *p, struct buf *out,
	   struct rowset *created, struct err *e)
{
	struct auth_walk w = { out, e };
	enum status st = ST_OK;
	char *pw = NULL;
	size_t i;

	buf_adds(out, "authorization {\n  users = [\n");
	for (i = 0; i < ARRAY_SIZE(roles) && st == ST_OK; i++) {
		if ((st = role_login(c, roles[i].name, &pw, created, e)) == ST_OK)
			st = auth_user(out, roles[i].name, pw, &roles[i], e);
		if (pw)
			sodium_memzero(pw, strlen(pw));
		free(pw);
		pw = NULL;
	}
	if (st == ST_OK)
		st = users_each(p->users, auth_added, &w);
	buf_adds(out, "  ]\n}\n");
	return st;
}

void
server_local_login(const struct config *c, char **user, char **password)
{
	char *path;

	if (cfg_str(c, CK_NATS_URL)[0])
		return;
	path = home_role_file(c, "operator");
	*password = role_password(path);
	if (*password)
		*user = xstrdup("operator");
	free(path);
}

/* Does the server's config (the one it runs with) authorise users? */
static bool
conf_has_auth(const struct server_paths *p)
{
	char *text = NULL;
	bool yes;

	if (read_file(p->conf, READ_MAX_SMALL, READ_TEXT, &text, NULL, NULL) != ST_OK)
		return false;
	yes = strstr(text, "\nauthorization {") != NULL;
	free(text);
	return yes;
}

/*
 * A nats.conf string: double-quoted, with '"' and '\\' escaped (the
 * server's lexer reads \\" and \\\\). Control characters cannot be held;
 * conf_refuse() keeps them out of what goes in, so they are dropped here
 * only from the host name.
 */
static void
conf_str(struct buf *out, const char *s)
{
	buf_addc(out, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			buf_addc(out, '\\');
		if ((unsigned char)*s >= 0x20 && *s != 0x7f)
			buf_addc(out, *s);
	}
	buf_addc(out, '"');
}

/* The offset of s's first control character (a newline ends a nats.conf line), or -1. */
static long
control_at(const char *s)
{
	long i;

	for (i = 0; s[i]; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return i;
	return -1;
}

/*
 * What nats.conf and the login files cannot hold: control characters in
 * $IF_HOME, and anything but a host name or an address in server.host.
 */
static enum status
conf_refuse(const struct config *c, const struct server_paths *p, struct err *e)
{
	const char *host = cfg_str(c, CK_SERVER_HOST);
	long at = control_at(p->home);

	if (at >= 0)
		return err_set(e, ST_BAD_VALUE, "home: byte %ld of the path is a control character "
			       "(0x%02x), which nats.conf cannot hold; choose another IF_HOME", at,
			       (unsigned)(unsigned char)p->home[at]);
	if (!host[0] || host[strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					"0123456789.-_:")] != '\0')
		return err_set(e, ST_BAD_VALUE, "server.host: '%s' is not a host name or an IP "
			       "address", control_at(host) < 0 ? host : "(a control character)");
	return ST_OK;
}

/* nats.conf for c, with the authorization block when auth. */
static enum status
write_conf(const struct config *c, const struct server_paths *p, bool auth, struct buf *out,
	   struct rowset *created, struct err *e)
{
	char host[256] = "ifctl-";

	gethostname(host + 6, sizeof host - 6);
	host[sizeof host - 1] = '\0';
	buf_adds(out, "# Written by 'ifctl up' from the ifctl configuration; edits are overwritten.\n"
		 "server_name: ");
	conf_str(out, host);
	buf_addf(out, "\nlisten: \"%s:%lld\"\npid_file: ", cfg_str(c, CK_SERVER_HOST),
		 (long long)cfg_int(c, CK_SERVER_PORT));
	conf_str(out, p->pid);
	buf_adds(out, "\nlog_file: ");
	conf_str(out, p->log);
	buf_adds(out, "\nmax_payload: 8MB\njetstream {\n  store_dir: ");
	conf_str(out, p->store);
	buf_addf(out, "\n  max_file_store: %lldMB\n  max_memory_store: 256MB\n}\n",
		 (long long)cfg_int(c, CK_SERVER_STORE_MAX_MB));
	return auth ? write_auth(c, p, out, created, e) : ST_OK;
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

/* Start nats-server with our config, detached, its output in its log. */
static enum status
spawn(const char *prog, const struct server_paths *p, pid_t *pid, struct err *e)
{
	char *argv[] = { (char *)"nats-server", (char *)"-c", p->conf, NULL };
	struct proc_spec ps = { .path = prog, .argv = argv, .log = p->log, .null_stdin = true,
				.new_session = true, .private_files = true };
	struct err pe = ERR_INIT;

	if (proc_spawn(&ps, pid, &pe) != ST_OK)
		return err_set(e, ST_SERVER_START, "%s", pe.msg);
	return ident_write(p, *pid, e);
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

/* The port check: our server already runs there, or nothing listens. Evidence in ev. */
static enum status
port_check(const struct config *c, pid_t pid, struct buf *ev, struct err *ce)
{
	const char *host = cfg_str(c, CK_SERVER_HOST);
	char port[16];

	if (pid) {
		buf_addf(ev, "ifctl's server already runs (pid %ld)", (long)pid);
		return ST_OK;
	}
	snprintf(port, sizeof port, "%lld", (long long)cfg_int(c, CK_SERVER_PORT));
	buf_addf(ev, "%s:%s is free", host, port);
	return port_free(host, port, ce);
}

/* Write the store directory and nats.conf, then start the server. */
static enum status
start(const struct config *c, const struct server_paths *p, const char *prog,
      struct rowset *created, pid_t *pid, struct err *e)
{
	struct buf conf = BUF_INIT;
	enum status st;

	if ((st = mkdir_p(p->store, 0700, e)) == ST_OK &&
	    (st = write_conf(c, p, cfg_bool(c, CK_SERVER_AUTH), &conf, created, e)) == ST_OK &&
	    (st = write_file_atomic(p->conf, conf.s, conf.len, 0600, e)) == ST_OK)
		st = spawn(prog, p, pid, e);
	buf_release(&conf);
	return st;
}

enum status
server_up(const struct config *c, struct opctx *op, struct server_up_result *r,
	  struct rowset *created, struct err *e)
{
	struct server_paths p;
	struct buf ev = BUF_INIT;
	struct err ce = ERR_INIT;
	char *prog = NULL;
	enum status st;
	int failed = op->failed_checks;
	pid_t pid = 0;

	memset(r, 0, sizeof *r);
	server_paths_init(&p, c);
	r->url = xasprintf("nats://%s:%lld", cfg_str(c, CK_SERVER_HOST),
			   (long long)cfg_int(c, CK_SERVER_PORT));

	prog = proc_find(cfg_str(c, CK_SERVER_BINARY));
	st = prog ? ST_OK : err_set(&ce, ST_NO_PROGRAM, "'%s' not found in PATH or /usr/sbin",
				    cfg_str(c, CK_SERVER_BINARY));
	if (!check(op, "nats-server installed", st, &ce, prog))
		goto refused;
	st = conf_refuse(c, &p, &ce);
	if (!check(op, "nats.conf can hold home and server.host", st, &ce, p.home))
		goto refused;
	st = dir_writable(p.dir, &ce);
	if (!check(op, "data directory writable", st, &ce, p.dir))
		goto refused;
	pid = server_running(&p);
	st = port_check(c, pid, &ev, &ce);
	if (!check(op, "port available", st, &ce, ev.s))
		goto refused;
	r->auth = pid ? conf_has_auth(&p) : cfg_bool(c, CK_SERVER_AUTH);
	st = r->auth || !cfg_bool(c, CK_SERVER_AUTH) ? ST_OK :
	     err_set(&ce, ST_FAIL, "the running server (pid %ld) has no users; stop it with "
		     "'ifctl down', then run 'ifctl up --auth'", (long)pid);
	if (!check(op, "users", st, &ce, r->auth ? "operator, swarm and viewer" :
		   "none: any client may do anything"))
		goto refused;
	if (op->falsify) {
		st = op->failed_checks == failed ? ST_OK : ST_FALSIFIED;
		goto out;
	}
	if (!pid) {
		if ((st = start(c, &p, prog, created, &pid, e)) != ST_OK)
			goto out;
		r->started = true;
	}
	st = wait_ready(c, &p, r->started ? pid : 0, r->url, r, e);
	if (st == ST_OK)
		st = ensure_schema(c, created, e);
	if (st != ST_OK && r->started)
		kill(pid, SIGTERM);	/* do not leave a half-started server behind */
	r->pid = pid;
	goto out;
refused:	/* a check failed in normal mode: ce says why */
	if (e)
		*e = ce;
out:
	free(prog);
	buf_release(&ev);
	server_paths_release(&p);
	return st;
}

/* Stop the server pid through handle fd (-1: none); the caller checked it is ours. */
static enum status
stop(const struct config *c, const struct server_paths *p, pid_t pid, int fd, struct err *e)
{
	int64_t timeout = cfg_int(c, CK_SERVER_START_TIMEOUT_MS);

	if (proc_signal(pid, fd, SIGTERM) != 0)
		return err_set(e, errno == EPERM ? ST_PERMISSION : ST_FAIL,
			       "cannot stop nats-server (pid %ld): %s", (long)pid, strerror(errno));
	if (!proc_wait_gone(pid, fd, timeout))
		return err_set(e, ST_FAIL, "nats-server (pid %ld) did not stop within %lld ms",
			       (long)pid, (long long)timeout);
	unlink(p->pid);
	unlink(p->ident);
	return ST_OK;
}

enum status
server_down(const struct config *c, struct opctx *op, pid_t *pid, struct err *e)
{
	struct server_paths p;
	struct err ce = ERR_INIT;
	enum status st = ST_OK;
	const char *why = NULL;
	char ev[160];
	int fd = -1;

	server_paths_init(&p, c);
	*pid = server_pid(&p, &why);
	if (*pid && (fd = proc_pidfd(*pid)) >= 0 &&	/* the handle first, then the checks */
	    server_pid(&p, &why) != *pid) {
		close(fd);	/* the pid file changed meanwhile: no handle, refuse or re-check */
		fd = -1;
		*pid = server_pid(&p, &why);
	}
	if (why)
		st = err_set(&ce, ST_NOT_OURS, "refusing to stop pid %ld named in '%s': %s",
			     (long)*pid, p.pid, why);
	snprintf(ev, sizeof ev, *pid ? "pid %ld runs with '%s'" : "no server of ours runs",
		 (long)*pid, p.conf);
	if (!check(op, "server is ours", st, &ce, ev)) {
		if (e)
			*e = ce;
		goto out;
	}
	if (op->falsify) {
		st = ST_OK;	/* the failed check makes the exit code */
		goto out;
	}
	if (*pid == 0)
		goto out;
	st = stop(c, &p, *pid, fd, e);
out:
	if (fd >= 0)
		close(fd);
	server_paths_release(&p);
	return st;
}

/* See server.h. */
bool
server_role_valid(const char *role)
{
	return role_find(role) != NULL;
}

/*
 * Connect as user until the server lets it in (want_ok) or refuses it:
 * the reload a SIGHUP asks for is done when the login says so.
 */
static enum status
login_settles(const struct config *c, const char *user, const char *password, bool want_ok,
	      struct err *e)
{
	int64_t deadline = mono_ms() + cfg_int(c, CK_SERVER_START_TIMEOUT_MS);
	struct bus_opts o;
	struct bus *b = NULL;
	enum status st;

	bus_opts_from_config(&o, c);
	free(o.url);
	free(o.user);
	free(o.password);
	o.url = xasprintf("nats://%s:%lld", cfg_str(c, CK_SERVER_HOST),
			  (long long)cfg_int(c, CK_SERVER_PORT));	/* the local server, always */
	o.user = xstrdup(user);
	o.password = xstrdup(password);
	do {
		st = bus_open(&b, &o, NULL);
		bus_close(b);
		b = NULL;
		if ((st == ST_OK) == want_ok && (want_ok || st == ST_NOT_PERMITTED))
			break;
		usleep(20 * 1000);
	} while (mono_ms() < deadline);
	bus_opts_release(&o);
	if ((st == ST_OK) != want_ok)
		return err_set(e, ST_FAIL, "the local server did not %s user '%s' within %lld ms "
			       "after reloading its configuration", want_ok ? "accept" : "drop",
			       user, (long long)cfg_int(c, CK_SERVER_START_TIMEOUT_MS));
	return ST_OK;
}

/* Rewrite nats.conf from the configuration and the login files; SIGHUP our server. */
static enum status
reload(const struct config *c, const struct server_paths *p, pid_t pid, struct err *e)
{
	struct buf conf = BUF_INIT;
	const char *why = NULL;
	enum status st;
	int fd = proc_pidfd(pid);

	if ((st = write_conf(c, p, true, &conf, NULL, e)) == ST_OK &&
	    (st = write_file_atomic(p->conf, conf.s, conf.len, 0600, e)) == ST_OK) {
		if (server_pid(p, &why) != pid || why)
			st = err_set(e, ST_NOT_OURS, "cannot reload pid %ld: %s", (long)pid,
				     why ? why : "it is gone");
		else if (proc_signal(pid, fd, SIGHUP) != 0)
			st = err_set(e, ST_FAIL, "cannot reload nats-server (pid %ld): %s",
				     (long)pid, strerror(errno));
	}
	if (fd >= 0)
		close(fd);
	sodium_memzero(conf.s, conf.len);
	buf_release(&conf);
	return st;
}

/*
 * The checks of a user change: a running server of ours with users, and the
 * login file present (want_file) or not; *pid is the server. ST_OK: go on
 * (under falsify, every check passed); ST_FALSIFIED; or the first failure
 * in normal mode, in e.
 */
static enum status
user_checks(struct opctx *op, const struct server_paths *p, const char *name,
	    const char *file, bool want_file, pid_t *pid, struct err *e)
{
	struct err ce = ERR_INIT;
	enum status st = ST_OK;
	int failed = op->failed_checks;

	*pid = server_running(p);
	if (!*pid)
		st = err_set(&ce, ST_NOT_RUNNING, "the local server is not running (home '%s'); "
			     "start it with 'ifctl up --auth'", p->home);
	else if (!conf_has_auth(p))
		st = err_set(&ce, ST_FAIL, "the local server (pid %ld) has no users; stop it with "
			     "'ifctl down', then run 'ifctl up --auth'", (long)*pid);
	if (!check(op, "server has users", st, &ce, *pid ? "started with --auth" : NULL))
		goto refused;
	if (access(file, F_OK) == 0 && !want_file)
		st = err_set(&ce, ST_EXISTS, "user '%s' exists ('%s'); remove it first with "
			     "'ifctl user rm %s'", name, file, name);
	else if (access(file, F_OK) != 0 && want_file)
		st = err_set(&ce, ST_NOT_FOUND, "no user '%s' ('ifctl user list' shows them)", name);
	if (!check(op, want_file ? "user exists" : "user is new", st, &ce, file))
		goto refused;
	return op->failed_checks == failed ? ST_OK : ST_FALSIFIED;
refused:
	if (e)
		*e = ce;
	return ce.code;
}

/* See server.h. */
enum status
server_user_add(const struct config *c, struct opctx *op, const char *name, const char *role,
		char **password, char **file, struct err *e)
{
	struct server_paths p;
	enum status st;
	pid_t pid = 0;

	*password = NULL;
	server_paths_init(&p, c);
	*file = home_user_file(c, name);
	st = user_checks(op, &p, name, *file, false, &pid, e);
	if (st == ST_OK && !op->falsify) {
		*password = new_password();
		if ((st = mkdir_p(p.users, 0700, e)) == ST_OK &&
		    (st = login_write(c, *file, name, role, "ifctl user add", *password, e)) == ST_OK &&
		    (st = reload(c, &p, pid, e)) == ST_OK)
			st = login_settles(c, name, *password, true, e);
	}
	server_paths_release(&p);
	return st;
}

/* See server.h. */
enum status
server_user_rm(const struct config *c, struct opctx *op, const char *name, struct err *e)
{
	struct server_paths p;
	char *file = home_user_file(c, name), *pw = NULL;
	enum status st;
	pid_t pid = 0;

	server_paths_init(&p, c);
	st = user_checks(op, &p, name, file, true, &pid, e);
	if (st == ST_OK && !op->falsify) {
		pw = role_password(file);
		if (unlink(file) != 0)
			st = err_set(e, ST_IO, "cannot remove '%s': %s", file, strerror(errno));
		else if ((st = reload(c, &p, pid, e)) == ST_OK && pw)
			st = login_settles(c, name, pw, false, e);
	}
	if (pw)
		sodium_memzero(pw, strlen(pw));
	free(pw);
	free(file);
	server_paths_release(&p);
	return st;
}

struct list_walk {
	void (*fn)(void *arg, const char *name, const char *kind, const char *role,
		   const char *file);
	void *arg;
};

/* users_each(): one added user to the caller. */
static enum status
list_added(void *arg, const char *name, const char *path, const struct role *r,
	   const char *password)
{
	struct list_walk *w = arg;

	(void)password;
	w->fn(w->arg, name, r ? "user" : "invalid", r ? r->name : NULL, path);
	return ST_OK;
}

/* See server.h. */
void
server_users(const struct config *c,
	     void (*fn)(void *arg, const char *name, const char *kind, const char *role,
			const char *file),
	     void *arg)
{
	struct list_walk w = { fn, arg };
	struct server_paths p;
	size_t i;

	server_paths_init(&p, c);
	for (i = 0; i < ARRAY_SIZE(roles); i++) {
		char *path = home_role_file(c, roles[i].name);
		if (access(path, F_OK) == 0)
			fn(arg, roles[i].name, "role", roles[i].name, path);
		free(path);
	}
	(void)users_each(p.users, list_added, &w);
	server_paths_release(&p);
}
