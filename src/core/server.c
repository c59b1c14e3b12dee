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
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "core/buf.h"
#include "core/bus.h"
#include "core/home.h"
#include "core/json.h"
#include "core/proc.h"
#include "core/probe.h"
#include "core/schema.h"
#include "core/server.h"
#include "core/swarm.h"
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
/*
 * The ready queue's durable consumers, one per priority (coord.c,
 * once_prio: "claim-p<priority>"). nats.c makes a missing one by
 * DURABLE.CREATE; a claimer may make these and no other consumer of
 * IF_QUEUE (a stray consumer on a work queue would take ids, or keep the
 * claimers' consumers out: the server refuses overlapping filters there).
 */
#define Q_CLAIM(p) "$JS.API.CONSUMER.DURABLE.CREATE.IF_QUEUE.claim-p" #p
#define QUEUE_CLAIM \
	Q_CLAIM(0), Q_CLAIM(1), Q_CLAIM(2), Q_CLAIM(3), Q_CLAIM(4), Q_CLAIM(5), Q_CLAIM(6), \
	Q_CLAIM(7), Q_CLAIM(8), Q_CLAIM(9)
#define QUEUE_NO_CONSUMER "$JS.API.CONSUMER.CREATE.IF_QUEUE.>"

#define ROLE_SUBJECTS_MAX 39
#define ROLE_USER "{user}"	/* in a subject: the login's own name */

struct role {
	const char *name;
	const char *pub[ROLE_SUBJECTS_MAX + 1];	/* NULL-terminated; ROLE_USER expanded */
	const char *sub[8];
	const char *deny[8];			/* publish denied even where pub allows */
	bool swarm_named;			/* ROLE_USER names a swarm: a swarm id */
};

/*
 * A swarm's own subjects carry its login name: its profile key, its events,
 * its usage and its SLO samples, so a swarm login writes as itself only.
 * It reads the archive (READ) but does not write it: a move ends with a
 * purge of the live key ($JS.API.STREAM.PURGE.KV_IF_TASKS), which no
 * subject permission narrows to one key (an empty message there empties
 * the bucket); the operator's sweep moves what swarms finish.
 */
static const struct role roles[] = {
	{ "operator", { ">", NULL }, { ">", NULL }, { NULL }, false },
	{ "swarm", { JS_READ, QUEUE_CLAIM, "$KV.IF_TASKS.>", "$KV.IF_SWARMS." ROLE_USER,
		     "if.v1.queue.>", "if.v1.evt.task.>", "if.v1.evt.swarm." ROLE_USER ".>",
		     "if.v1.cost.usage." ROLE_USER, "if.v1.slo.sample." ROLE_USER,
		     "if.v1.witness.entry", NULL },
	  { READ_SUBS, NULL }, { QUEUE_NO_CONSUMER, NULL }, true },
	{ "viewer", { JS_READ, NULL }, { READ_SUBS, NULL },
	  { QUEUE_NO_CONSUMER, "$JS.API.CONSUMER.MSG.NEXT.IF_QUEUE.*", "$JS.ACK.IF_QUEUE.>",
	    NULL }, false },
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

/* A role's subject list as a nats.conf array, ROLE_USER replaced by user. */
static void
user_list(struct buf *out, const char *const *v, const char *user)
{
	const char *at;

	buf_addc(out, '[');
	for (; *v; v++) {
		buf_addc(out, '"');
		if ((at = strstr(*v, ROLE_USER)))
			buf_addf(out, "%.*s%s%s", (int)(at - *v), *v, user, at + strlen(ROLE_USER));
		else
			buf_adds(out, *v);
		buf_addf(out, "\"%s", v[1] ? ", " : "");
	}
	buf_addc(out, ']');
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
	user_list(out, r->pub, user);
	if (r->deny[0]) {
		buf_adds(out, ", deny: ");
		user_list(out, r->deny, user);
	}
	buf_adds(out, " }\n        subscribe: { allow: ");
	user_list(out, r->sub, user);
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
			if (r && r->swarm_named && !swarm_id_valid(name))
				r = NULL;	/* "a.b" would hold subjects of swarm "a" */
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

/* What every nats.conf 'up' writes holds: name, client port, files, JetStream. */
static void
conf_base(const struct config *c, const struct server_paths *p, const char *by,
	  const char *name, int64_t port, struct buf *out)
{
	buf_addf(out, "# Written by '%s' from the ifctl configuration; edits are overwritten.\n"
		 "server_name: ", by);
	conf_str(out, name);
	buf_addf(out, "\nlisten: \"%s:%lld\"\npid_file: ", cfg_str(c, CK_SERVER_HOST),
		 (long long)port);
	conf_str(out, p->pid);
	buf_adds(out, "\nlog_file: ");
	conf_str(out, p->log);
	buf_adds(out, "\nmax_payload: 8MB\njetstream {\n  store_dir: ");
	conf_str(out, p->store);
	buf_addf(out, "\n  max_file_store: %lldMB\n  max_memory_store: 256MB\n}\n",
		 (long long)cfg_int(c, CK_SERVER_STORE_MAX_MB));
}

/* nats.conf for c, with the authorization block when auth. */
static enum status
write_conf(const struct config *c, const struct server_paths *p, bool auth, struct buf *out,
	   struct rowset *created, struct err *e)
{
	char host[256] = "ifctl-";

	gethostname(host + 6, sizeof host - 6);
	host[sizeof host - 1] = '\0';
	conf_base(c, p, "ifctl up", host, cfg_int(c, CK_SERVER_PORT), out);
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

static int cluster_running(const struct config *c);

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
	st = cluster_running(c) == 0 ? ST_OK :
	     err_set(&ce, ST_SERVER_RUNNING, "a local cluster runs in '%s'; stop it with "
		     "'ifctl down' before starting the single server", p.home);
	if (!check(op, "no local cluster runs", st, &ce, NULL))
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
	*file = NULL;
	if (role_find(role) && role_find(role)->swarm_named && !swarm_id_valid(name))
		return err_set(e, ST_BAD_VALUE, "user name '%s': a %s login's name is its swarm id "
			       "(lowercase letters, digits and '-')", name, role);
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

/* --- a local cluster ----------------------------------------------------- */

/*
 * 'up --cluster N' starts N nats-server processes on this host, node K
 * under $IF_HOME/nats/nodeK with its own store, config, pid, log and
 * ident, exactly like the single server's. Ports count from server.port:
 * node K takes client port server.port + K - 1, route port + ROUTE_OFFSET
 * and monitoring port + MONITOR_OFFSET (4222, 6222 and 8222 for node 1 by
 * default, as NATS numbers them). $IF_HOME/nats/cluster records the size
 * and the first port, so 'down', 'status' and every client find the nodes.
 */
#define CLUSTER_NAME "ifctl"
#define ROUTE_OFFSET 2000
#define MONITOR_OFFSET 4000
#define HTTP_MAX ((size_t)1 << 20)

static const int cluster_sizes[] = { 3, 5 };

bool
server_cluster_size_valid(int n)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cluster_sizes); i++)
		if (cluster_sizes[i] == n)
			return true;
	return false;
}

/* The file that says a local cluster was started here. */
static char *
cluster_file(const struct config *c)
{
	char *dir = home_path(c, HOME_NATS), *path = xasprintf("%s/cluster", dir);

	free(dir);
	return path;
}

/* The size and first client port of the local cluster; false when there is none. */
static bool
cluster_read(const struct config *c, int *n, int *port)
{
	char *path = cluster_file(c), *text = NULL;
	bool ok;

	ok = read_file(path, READ_MAX_SMALL, READ_TEXT, &text, NULL, NULL) == ST_OK &&
	     sscanf(text, "nodes %d\nport %d", n, port) == 2 && server_cluster_size_valid(*n) &&
	     *port > 0 && *port + MONITOR_OFFSET + *n - 1 <= 65535;
	free(text);
	free(path);
	return ok;
}

void
server_node_paths_init(struct server_paths *p, const struct config *c, int k)
{
	char *nats = home_path(c, HOME_NATS);

	p->home = home_path(c, HOME_DIR);
	p->dir = xasprintf("%s/node%d", nats, k);
	p->store = xasprintf("%s/jetstream", p->dir);
	p->conf = xasprintf("%s/nats.conf", p->dir);
	p->pid = xasprintf("%s/nats.pid", p->dir);
	p->log = xasprintf("%s/nats.log", p->dir);
	p->ident = xasprintf("%s/nats.ident", p->dir);
	p->users = home_path(c, HOME_NATS_USERS);
	free(nats);
}

/* Node k's port of a kind: client (offset 0), route or monitoring. */
static int
node_port(int first, int k, int offset)
{
	return first + offset + k - 1;
}

/* Node k's server name: unique in the cluster, as Raft and 'status' name it. */
static char *
node_name(int k)
{
	char host[200] = "";

	gethostname(host, sizeof host);
	host[sizeof host - 1] = '\0';
	return xasprintf("ifctl-%s-n%d", host, k);
}

char *
server_local_urls(const struct config *c)
{
	struct buf b = BUF_INIT;
	int n, port, k;

	if (cfg_str(c, CK_NATS_URL)[0] || !cluster_read(c, &n, &port))
		return NULL;
	for (k = 1; k <= n; k++)
		buf_addf(&b, "%snats://%s:%d", k > 1 ? "," : "", cfg_str(c, CK_SERVER_HOST),
			 node_port(port, k, 0));
	return buf_detach(&b);
}

/* Node k's nats.conf: the single server's, plus monitoring and the cluster block. */
static void
node_conf(const struct config *c, const struct server_paths *p, int n, int first, int k,
	  struct buf *out)
{
	const char *host = cfg_str(c, CK_SERVER_HOST);
	char *name = node_name(k);
	int j;

	conf_base(c, p, "ifctl up --cluster", name, node_port(first, k, 0), out);
	buf_addf(out, "http: \"%s:%d\"\n", host, node_port(first, k, MONITOR_OFFSET));
	buf_addf(out, "cluster {\n  name: \"%s\"\n  listen: \"%s:%d\"\n  routes: [\n",
		 CLUSTER_NAME, host, node_port(first, k, ROUTE_OFFSET));
	for (j = 1; j <= n; j++)
		if (j != k)
			buf_addf(out, "    \"nats-route://%s:%d\"\n", host,
				 node_port(first, j, ROUTE_OFFSET));
	buf_adds(out, "  ]\n}\n");
	free(name);
}

/* Write node k's store directory and nats.conf (0600), then start it. */
static enum status
node_spawn(const struct config *c, const char *prog, int n, int first, int k, pid_t *pid,
	   struct err *e)
{
	struct server_paths p;
	struct buf conf = BUF_INIT;
	enum status st;

	server_node_paths_init(&p, c, k);
	node_conf(c, &p, n, first, k, &conf);
	if ((st = mkdir_p(p.store, 0700, e)) == ST_OK &&
	    (st = write_file_atomic(p.conf, conf.s, conf.len, 0600, e)) == ST_OK)
		st = spawn(prog, &p, pid, e);
	buf_release(&conf);
	server_paths_release(&p);
	return st;
}

/* Stop node k when a server of ours runs there; *pid is the one stopped, or 0. */
static enum status
node_stop(const struct config *c, int k, pid_t *pid, struct err *e)
{
	struct server_paths p;
	enum status st = ST_OK;
	const char *why = NULL;
	int fd = -1;

	server_node_paths_init(&p, c, k);
	*pid = server_pid(&p, &why);
	if (*pid && (fd = proc_pidfd(*pid)) >= 0 && server_pid(&p, &why) != *pid)
		*pid = 0;	/* gone or replaced meanwhile */
	if (*pid && why)
		st = err_set(e, ST_NOT_OURS, "refusing to stop pid %ld named in '%s': %s",
			     (long)*pid, p.pid, why);
	else if (*pid)
		st = stop(c, &p, *pid, fd, e);
	if (fd >= 0)
		close(fd);
	server_paths_release(&p);
	return st;
}

/* A plain HTTP/1.0 GET of a monitoring endpoint on host:port; the body into out. */
static enum status
http_get(const char *host, int port, const char *path, int64_t timeout_ms, struct buf *out,
	 struct err *e)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	char ports[16], chunk[4096], *body;
	enum status st = ST_UNREACHABLE;
	struct buf all = BUF_INIT;
	ssize_t got;
	int fd = -1;

	buf_reset(out);
	snprintf(ports, sizeof ports, "%d", port);
	if (getaddrinfo(host, ports, &hints, &res) != 0 || res == NULL)
		return err_set(e, ST_UNREACHABLE, "cannot resolve '%s'", host);
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
	if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0 &&
	    connect(fd, res->ai_addr, res->ai_addrlen) == 0) {
		buf_addf(&all, "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path, host);
		if (write(fd, all.s, all.len) == (ssize_t)all.len) {
			buf_reset(&all);
			while (all.len < HTTP_MAX && (got = read(fd, chunk, sizeof chunk)) > 0)
				buf_add(&all, chunk, (size_t)got);
			st = ST_OK;
		}
	}
	if (fd >= 0)
		close(fd);
	freeaddrinfo(res);
	if (st == ST_OK && (all.len < 12 || strncmp(all.s, "HTTP/1.", 7) != 0 ||
			    strncmp(all.s + 8, " 200", 4) != 0 ||
			    (body = strstr(all.s, "\r\n\r\n")) == NULL))
		st = ST_PROTOCOL;
	else if (st == ST_OK)
		buf_adds(out, body + 4);
	buf_release(&all);
	return st == ST_OK ? ST_OK : err_set(e, st, "monitoring endpoint %s:%d%s does not answer",
					     host, port, path);
}

/* A string member of obj into out ("" when absent or not a string). */
static void
member_str(const struct json_value *obj, const char *key, char *out, size_t n)
{
	const struct json_value *v = obj ? json_member(obj, key) : NULL;

	snprintf(out, n, "%s", v && v->type == JSON_STRING ? v->str : "");
}

/* The peers a meta leader's /jsz lists, into the node rows that match them by name. */
static void
meta_replicas(const struct json_value *meta, struct server_node *nodes, size_t n)
{
	const struct json_value *reps = json_member(meta, "replicas"), *v;
	char name[64];
	size_t i, j;

	if (reps == NULL || reps->type != JSON_ARRAY)
		return;
	for (i = 0; i < reps->len; i++) {
		if (reps->kids[i].type != JSON_OBJECT)
			continue;
		member_str(&reps->kids[i], "name", name, sizeof name);
		for (j = 0; j < n; j++) {
			if (strcmp(nodes[j].name, name) != 0)
				continue;
			nodes[j].reported = true;
			v = json_member(&reps->kids[i], "current");
			nodes[j].current = v && v->type == JSON_TRUE;
			v = json_member(&reps->kids[i], "offline");
			nodes[j].offline = v && v->type == JSON_TRUE;
			v = json_member(&reps->kids[i], "lag");
			nodes[j].lag = v && v->type == JSON_NUMBER && v->integer && v->num >= 0 &&
				       v->num <= (double)JSON_INT_MAX ? (uint64_t)v->num : 0;
		}
	}
}

/* Read node's /jsz: the meta leader it knows, and the peers when it is the leader. */
static void
node_jsz(const struct config *c, struct server_node *node, struct server_node *all, size_t n)
{
	struct json_doc doc = JSON_DOC_INIT;
	const struct json_value *meta;
	struct buf body = BUF_INIT;

	if (http_get(cfg_str(c, CK_SERVER_HOST), node->monitor_port, "/jsz", 1000, &body,
		     NULL) == ST_OK && json_parse(body.s, body.len, "/jsz", &doc, NULL) == ST_OK &&
	    doc.root->type == JSON_OBJECT &&
	    (meta = json_member(doc.root, "meta_cluster")) != NULL && meta->type == JSON_OBJECT) {
		node->answers = true;
		member_str(meta, "leader", node->meta_leader, sizeof node->meta_leader);
		if (node->meta_leader[0] && strcmp(node->meta_leader, node->name) == 0) {
			node->current = true;
			meta_replicas(meta, all, n);
		}
	}
	json_doc_release(&doc);
	buf_release(&body);
}

enum status
server_cluster_nodes(const struct config *c, struct server_node **out, size_t *count)
{
	struct server_node *nodes;
	int n, port, k;
	size_t i;

	*out = NULL;
	*count = 0;
	if (!cluster_read(c, &n, &port))
		return ST_NOT_FOUND;
	nodes = xcalloc((size_t)n, sizeof *nodes);
	for (k = 1; k <= n; k++) {
		struct server_node *nd = &nodes[k - 1];
		struct server_paths p;
		char *name = node_name(k);
		snprintf(nd->name, sizeof nd->name, "%s", name);
		free(name);
		nd->index = k;
		nd->client_port = node_port(port, k, 0);
		nd->route_port = node_port(port, k, ROUTE_OFFSET);
		nd->monitor_port = node_port(port, k, MONITOR_OFFSET);
		snprintf(nd->url, sizeof nd->url, "nats://%s:%d", cfg_str(c, CK_SERVER_HOST),
			 nd->client_port);
		server_node_paths_init(&p, c, k);
		nd->pid = server_running(&p);
		server_paths_release(&p);
	}
	for (i = 0; i < (size_t)n; i++)
		if (nodes[i].pid)
			node_jsz(c, &nodes[i], nodes, (size_t)n);
	*out = nodes;
	*count = (size_t)n;
	return ST_OK;
}

const char *
server_cluster_leader(const struct server_node *nodes, size_t n)
{
	const char *leader = NULL;
	size_t i, votes = 0;

	for (i = 0; i < n; i++) {
		if (!nodes[i].answers || !nodes[i].meta_leader[0])
			continue;
		if (leader == NULL || strcmp(leader, nodes[i].meta_leader) != 0) {
			if (leader && votes > 0) {
				votes--;
				continue;
			}
			leader = nodes[i].meta_leader;
			votes = 0;
		}
		votes++;
	}
	return leader;	/* what most answering nodes name (one vote per node) */
}

/* How many nodes of the local cluster run (0: none, or no cluster here). */
static int
cluster_running(const struct config *c)
{
	struct server_paths p;
	int n, first, k, up = 0;

	if (!cluster_read(c, &n, &first))
		return 0;
	for (k = 1; k <= n; k++) {
		server_node_paths_init(&p, c, k);
		up += server_running(&p) != 0;
		server_paths_release(&p);
	}
	return up;
}

/* The checks of a cluster start; *running counts the nodes of ours already up. */
static enum status
cluster_checks(const struct config *c, struct opctx *op, int n, int *running, struct err *e)
{
	struct server_paths p;
	struct buf ev = BUF_INIT;
	struct err ce = ERR_INIT;
	enum status st = ST_OK;
	int have_n, have_port, first = (int)cfg_int(c, CK_SERVER_PORT), k, port;
	pid_t pid;

	*running = 0;
	server_paths_init(&p, c);
	pid = server_running(&p);
	server_paths_release(&p);
	if (pid)
		st = err_set(&ce, ST_SERVER_RUNNING, "the single local server runs (pid %ld); stop it with "
			     "'ifctl down' before starting a cluster", (long)pid);
	if (!check(op, "no single server runs", st, &ce, pid ? NULL : "none"))
		goto refused;
	if (cluster_read(c, &have_n, &have_port) && (have_n != n || have_port != first) &&
	    cluster_running(c))
		st = err_set(&ce, ST_SERVER_RUNNING, "a local cluster of %d nodes from port %d runs; "
			     "stop it with 'ifctl down' first", have_n, have_port);
	if (!check(op, "no other cluster runs", st, &ce, NULL))
		goto refused;
	if (first + MONITOR_OFFSET + n - 1 > 65535)
		st = err_set(&ce, ST_BAD_VALUE, "server.port %d leaves no room for %d nodes' "
			     "monitoring ports (port + %d + node - 1 must be at most 65535)",
			     first, n, MONITOR_OFFSET);
	for (k = 1; k <= n && st == ST_OK; k++) {
		server_node_paths_init(&p, c, k);
		if (server_running(&p))
			(*running)++;
		else
			for (port = 0; port <= MONITOR_OFFSET && st == ST_OK;
			     port += ROUTE_OFFSET) {
				char ps[16];
				snprintf(ps, sizeof ps, "%d", node_port(first, k, port));
				buf_addf(&ev, "%s%s", ev.len ? "," : "", ps);
				st = port_free(cfg_str(c, CK_SERVER_HOST), ps, &ce);
			}
		server_paths_release(&p);
	}
	if (st != ST_OK)
		err_prefix(&ce, "node %d", k - 1);
	if (!check(op, "cluster ports available", st, &ce, ev.len ? ev.s : "every node runs"))
		goto refused;
	buf_release(&ev);
	return ST_OK;
refused:
	buf_release(&ev);
	if (e)
		*e = ce;
	return ce.code;
}

/*
 * Wait until every node's /jsz names the same meta leader and that leader
 * reports every other node current: the cluster can place streams now.
 */
static enum status
wait_meta_leader(const struct config *c, int n, char *leader, size_t len, struct err *e)
{
	int64_t deadline = mono_ms() + cfg_int(c, CK_SERVER_START_TIMEOUT_MS);
	struct server_node *nodes = NULL;
	size_t count = 0, i, agree;
	const char *l;

	leader[0] = '\0';
	while (mono_ms() < deadline) {
		if (server_cluster_nodes(c, &nodes, &count) == ST_OK) {
			l = server_cluster_leader(nodes, count);
			for (i = 0, agree = 0; l && i < count; i++)
				agree += nodes[i].answers && strcmp(nodes[i].meta_leader, l) == 0 &&
					 (nodes[i].current || strcmp(nodes[i].name, l) == 0);
			if (l && agree == (size_t)n) {
				snprintf(leader, len, "%s", l);
				free(nodes);
				return ST_OK;
			}
		}
		free(nodes);
		nodes = NULL;
		usleep(100 * 1000);
	}
	return err_set(e, ST_SERVER_START, "the %d nodes did not elect a JetStream meta leader "
		       "within %lld ms (logs under '%s/nodeK/nats.log')", n,
		       (long long)cfg_int(c, CK_SERVER_START_TIMEOUT_MS), "$IF_HOME/nats");
}

/* Create the schema with n replicas over every node's URL, retrying while JetStream settles. */
static enum status
cluster_schema(const struct config *c, int n, struct rowset *created, struct err *e)
{
	int64_t deadline = mono_ms() + cfg_int(c, CK_SERVER_START_TIMEOUT_MS);
	struct bus_opts o;
	struct bus *b = NULL;
	enum status st;

	struct rowset *try = NULL;
	size_t i, col;

	bus_opts_from_config(&o, c);
	do {
		rows_free(try);
		try = schema_created_rows();	/* a failed try's rows are not kept */
		st = bus_open(&b, &o, e);
		if (st == ST_OK)
			st = schema_ensure_r(b, n, try, e);
		bus_close(b);
		b = NULL;
		if (st != ST_NO_JETSTREAM && st != ST_TIMEOUT && st != ST_UNREACHABLE &&
		    st != ST_DISCONNECTED && st != ST_PROTOCOL)
			break;
		usleep(200 * 1000);
	} while (mono_ms() < deadline);
	for (i = 0; st == ST_OK && created && i < try->nrows; i++) {
		size_t row = rows_add(created);
		for (col = 0; col < CR__COUNT; col++)
			rows_set(created, row, col, rows_get(try, i, col));
	}
	rows_free(try);
	bus_opts_release(&o);
	return st;
}

/* Wait until node k answers with JetStream; its death is an error naming its log. */
static enum status
node_ready(const struct config *c, int first, int k, pid_t pid, char *version, struct err *e)
{
	struct server_up_result r;
	struct server_paths p;
	enum status st;
	char *url = xasprintf("nats://%s:%d", cfg_str(c, CK_SERVER_HOST), node_port(first, k, 0));

	memset(&r, 0, sizeof r);
	server_node_paths_init(&p, c, k);
	st = wait_ready(c, &p, pid, url, &r, e);
	if (st == ST_OK && version)
		memcpy(version, r.version, sizeof r.version);
	if (st != ST_OK)
		err_prefix(e, "node %d", k);
	server_paths_release(&p);
	free(url);
	return st;
}

/* Stop every node this start started; nothing it began is left running. */
static void
cluster_undo(const struct config *c, const pid_t *started, int n)
{
	struct err ignore = ERR_INIT;
	pid_t pid;
	int k;

	for (k = 1; k <= n; k++) {
		if (!started[k - 1])
			continue;
		if (node_stop(c, k, &pid, &ignore) != ST_OK || pid == 0) {
			kill(started[k - 1], SIGKILL);	/* not yet identified, or stuck */
			waitpid(started[k - 1], NULL, 0);
		}
	}
}

/* Record the cluster's size and first port ($IF_HOME/nats/cluster, 0600). */
static enum status
cluster_write(const struct config *c, int n, struct err *e)
{
	char *path = cluster_file(c), *dir = home_path(c, HOME_NATS), text[64];
	enum status st = mkdir_p(dir, 0700, e);

	free(dir);
	if (st != ST_OK) {
		free(path);
		return st;
	}
	snprintf(text, sizeof text, "nodes %d\nport %lld\n", n,
		 (long long)cfg_int(c, CK_SERVER_PORT));
	st = write_file_atomic(path, text, strlen(text), 0600, e);
	free(path);
	return st;
}

/* Start the nodes not running yet, then wait for each, the meta leader and the schema. */
static enum status
cluster_start(const struct config *c, const char *prog, int n, struct server_cluster_result *r,
	      pid_t *started, struct rowset *created, struct err *e)
{
	int first = (int)cfg_int(c, CK_SERVER_PORT), k;
	struct server_paths p;
	enum status st;

	if ((st = cluster_write(c, n, e)) != ST_OK)
		return st;
	for (k = 1; k <= n; k++) {
		server_node_paths_init(&p, c, k);
		r->pids[k - 1] = server_running(&p);
		server_paths_release(&p);
		if (r->pids[k - 1])
			continue;
		if ((st = node_spawn(c, prog, n, first, k, &r->pids[k - 1], e)) != ST_OK) {
			err_prefix(e, "node %d", k);
			return st;
		}
		started[k - 1] = r->pids[k - 1];
		r->fresh[k - 1] = true;
		r->started++;
	}
	for (k = 1; k <= n; k++)
		if ((st = node_ready(c, first, k, started[k - 1], r->version, e)) != ST_OK)
			return st;
	if ((st = wait_meta_leader(c, n, r->meta_leader, sizeof r->meta_leader, e)) != ST_OK)
		return st;
	return cluster_schema(c, n, created, e);
}

enum status
server_cluster_up(const struct config *c, struct opctx *op, int n,
		  struct server_cluster_result *r, struct rowset *created, struct err *e)
{
	struct err ce = ERR_INIT;
	struct server_paths p;
	pid_t started[SERVER_CLUSTER_MAX] = { 0 };
	char *prog = NULL, *file;
	enum status st;
	int failed = op->failed_checks, running = 0;

	memset(r, 0, sizeof *r);
	r->nodes = n;
	st = server_cluster_size_valid(n) ? ST_OK :
	     err_set(&ce, ST_USAGE, "--cluster %d: a local cluster has 3 or 5 nodes (a Raft "
		     "majority then survives 1 or 2 failed nodes)", n);
	if (!check(op, "cluster size", st, &ce, NULL))
		goto refused;
	prog = proc_find(cfg_str(c, CK_SERVER_BINARY));
	st = prog ? ST_OK : err_set(&ce, ST_NO_PROGRAM, "'%s' not found in PATH or /usr/sbin",
				    cfg_str(c, CK_SERVER_BINARY));
	if (!check(op, "nats-server installed", st, &ce, prog))
		goto refused;
	server_paths_init(&p, c);
	st = conf_refuse(c, &p, &ce);
	if (st == ST_OK)
		st = dir_writable(p.dir, &ce);
	server_paths_release(&p);
	if (!check(op, "data directory writable", st, &ce, NULL))
		goto refused;
	if ((st = cluster_checks(c, op, n, &running, &ce)) != ST_OK && !op->falsify)
		goto refused;
	if (op->falsify) {
		st = op->failed_checks == failed ? ST_OK : ST_FALSIFIED;
		goto out;
	}
	r->url = server_local_urls(c);
	if (r->url == NULL)
		r->url = xstrdup("");
	st = cluster_start(c, prog, n, r, started, created, e);
	if (st == ST_OK) {
		free(r->url);
		r->url = server_local_urls(c);
	} else {
		cluster_undo(c, started, n);
		if (running == 0) {	/* none of it was there before */
			file = cluster_file(c);
			unlink(file);
			free(file);
		}
	}
	goto out;
refused:
	if (e)
		*e = ce;
	st = ce.code;
out:
	free(prog);
	return st;
}

enum status
server_node_start(const struct config *c, int k, pid_t *pid, struct err *e)
{
	char *prog = proc_find(cfg_str(c, CK_SERVER_BINARY));
	enum status st;
	int n, first;

	*pid = 0;
	if (!cluster_read(c, &n, &first) || k < 1 || k > n)
		st = err_set(e, ST_NOT_FOUND, "no node %d in a local cluster", k);
	else if (prog == NULL)
		st = err_set(e, ST_NO_PROGRAM, "'%s' not found", cfg_str(c, CK_SERVER_BINARY));
	else if ((st = node_spawn(c, prog, n, first, k, pid, e)) == ST_OK)
		st = node_ready(c, first, k, *pid, NULL, e);
	free(prog);
	return st;
}

enum status
server_cluster_down(const struct config *c, struct opctx *op, pid_t *pids, int *n,
		    struct err *e)
{
	enum status st = ST_OK, one;
	int first, k;
	char *file;
	struct err ce = ERR_INIT;

	*n = 0;
	if (!cluster_read(c, n, &first)) {
		*n = 0;
		return ST_OK;
	}
	if (op->falsify) {
		check(op, "cluster nodes are ours", ST_OK, NULL, "stopped by pid file and identity");
		return ST_OK;
	}
	for (k = 1; k <= *n; k++) {
		one = node_stop(c, k, &pids[k - 1], &ce);
		if (one != ST_OK && st == ST_OK) {
			st = one;
			if (e)
				*e = ce;
		}
	}
	if (st == ST_OK) {
		file = cluster_file(c);
		unlink(file);
		free(file);
	}
	return st;
}
