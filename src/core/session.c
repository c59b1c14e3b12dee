/* The long-lived session: see session.h. */
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/session.h"
#include "core/util.h"
#include "core/windex.h"

/* Who runs the commands, as witness entries name the operator: user@host. */
static void
operator_name(char *out, size_t len)
{
	const struct passwd *pw = getpwuid(getuid());
	const char *user = pw ? pw->pw_name : getenv("USER");
	char host[64] = "localhost";

	gethostname(host, sizeof host);
	host[sizeof host - 1] = '\0';
	snprintf(out, len, "%s@%s", user && *user ? user : "unknown", host);
}

void
session_init(struct session *s)
{
	memset(s, 0, sizeof *s);
	config_init(&s->cfg);
	operator_name(s->actor, sizeof s->actor);
}

void
session_release(struct session *s)
{
	session_drop_bus(s);
	store_close(s->index);
	config_release(&s->cfg);
	free(s->config_path);
	free(s->server);
	memset(s, 0, sizeof *s);
}

/* Is a later command's --config or --server the session's own? */
static enum status
session_same(const struct session *s, const char *path, const char *server, struct err *e)
{
	if (path && strcmp(path, s->config_path) != 0)
		return err_set(e, ST_USAGE, "--config '%s': this session reads '%s'", path,
			       s->config_path);
	if (server && (!s->server || strcmp(server, s->server) != 0))
		return err_set(e, ST_USAGE, "--server '%s': this session is on '%s'", server,
			       s->server ? s->server : cfg_str(&s->cfg, CK_NATS_URL));
	return ST_OK;
}

enum status
session_configure(struct session *s, const char *path, const char *server, bool load_file,
		  struct err *e)
{
	struct config *c = &s->cfg;
	enum status st = ST_OK;

	if (s->configured)
		return session_same(s, path, server, e);
	s->config_path = path ? xstrdup(path) : config_default_path();
	if (load_file)
		st = config_load_file(c, s->config_path, NULL, e);
	if (st == ST_NOT_FOUND && !path)
		st = ST_OK;	/* no file is fine unless one was named */
	else if (st == ST_NOT_FOUND) {
		err_set(e, ST_NOT_FOUND, "config file '%s' does not exist", s->config_path);
		err_remedy(e, "write one with 'ifctl config init FILE', or leave out --config "
			   "(without a file the defaults and IF_* variables apply)");
	}
	if (st == ST_OK)
		st = config_load_env(c, e);
	if (st == ST_OK && server && (st = config_set(c, CK_NATS_URL, server, CFG_SRC_FLAG, e)) ==
	    ST_CONFIG_VALUE)
		e->code = st = ST_USAGE;	/* a bad flag is a usage error */
	if (st == ST_OK && server)
		s->server = xstrdup(server);
	s->configured = st == ST_OK;
	if (st != ST_OK) {	/* the next command may try again */
		config_release(c);
		config_init(c);
		free(s->config_path);
		s->config_path = NULL;
	}
	return st;
}

enum status
session_bus(struct session *s, struct bus **out, struct err *e)
{
	struct bus_opts o;
	int64_t t0;
	enum status st = ST_OK;

	if (s->bus == NULL) {
		bus_opts_from_config(&o, &s->cfg);
		t0 = mono_us();
		st = bus_open(&s->bus, &o, e);
		if (st == ST_OK) {
			s->connects++;
			session_notice(s, NOTICE_INFO, "connected to '%s' in %.2f ms", o.url,
				       (double)(mono_us() - t0) / 1000.0);
		}
		bus_opts_release(&o);
	}
	*out = s->bus;
	return st;
}

enum status
session_witness(struct session *s, struct ledger_writer **out, struct err *e)
{
	struct bus *b;
	enum status st;

	*out = NULL;
	if ((st = session_bus(s, &b, e)) != ST_OK)
		return st;
	if (s->witness == NULL) {
		s->witness = xcalloc(1, sizeof *s->witness);
		ledger_writer_init(s->witness, b);
	}
	*out = s->witness;
	return ST_OK;
}

enum status
session_index(struct session *s, struct store **out, struct err *e)
{
	enum status st = ST_OK;

	if (s->index == NULL)
		st = windex_open(&s->cfg, &s->index, e);
	*out = s->index;
	return st;
}

void
session_drop_bus(struct session *s)
{
	if (s->witness) {
		ledger_writer_release(s->witness);
		free(s->witness);
		s->witness = NULL;
	}
	bus_close(s->bus);
	s->bus = NULL;
}

void
session_notice(const struct session *s, enum notice_level level, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	if (s->notice == NULL || (level == NOTICE_INFO && !s->verbose) ||
	    (level == NOTICE_WARN && s->quiet))
		return;
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	s->notice(s->notice_arg, level, b.s);
	buf_release(&b);
}

void
config_copy(struct config *dst, const struct config *src)
{
	size_t i;

	config_init(dst);
	for (i = 0; i < CK__COUNT; i++) {
		free(dst->value[i]);
		dst->value[i] = src->value[i] ? xstrdup(src->value[i]) : NULL;
		dst->source[i] = src->source[i];
		dst->line[i] = src->line[i];
	}
	dst->file = src->file ? xstrdup(src->file) : NULL;
}
