/*
 * A session: what outlives one command. The CLI opens one per process and
 * runs one command in it; the console opens one and runs every command of
 * its ':' prompt in it, on the same connection.
 *
 * It holds the configuration (the file, the environment and the flags the
 * session was opened with), the actor (user@host), and, opened lazily the
 * first time a command needs them, the connection to NATS, the witness
 * ledger writer and the local index. Commands borrow them and never close
 * them; session_release() does, once. session_drop_bus() closes the
 * connection (and the writer that uses it) early, for a command after which
 * the server is gone ('ifctl down'); the next session_bus() connects again.
 *
 * A session never prints: what is worth telling the operator (a connection
 * time with -v, a checkpoint not stored) goes to the notice hook, filtered
 * by the verbosity the current command asked for.
 *
 * Threads: one thread uses a session at a time (the CLI's main thread, the
 * console's event loop).
 */
#ifndef IF_SESSION_H
#define IF_SESSION_H

#include <stdbool.h>

#include "core/bus.h"
#include "core/config.h"
#include "core/ledger.h"
#include "core/status.h"
#include "core/store.h"

enum notice_level {
	NOTICE_INFO,	/* shown with -v only */
	NOTICE_WARN,	/* shown unless -q */
};

/* Where notices go: one line, no newline. */
typedef void (*session_notice_fn)(void *arg, enum notice_level level, const char *line);

struct session {
	struct config cfg;		/* file, environment and session flags */
	char *config_path;		/* --config, or the default path */
	char *server;			/* --server the session was opened with, or NULL */
	bool configured;		/* cfg loaded (session_configure) */
	struct bus *bus;		/* session_bus(); NULL until then */
	struct ledger_writer *witness;	/* session_witness(); NULL until then */
	struct store *index;		/* session_index(); NULL until then */
	char actor[160];		/* user@host: who runs the commands */
	bool verbose, quiet;		/* of the command running now (-v, -q) */
	session_notice_fn notice;	/* NULL: notices are dropped */
	void *notice_arg;
	unsigned connects;		/* connections made (a second face reuses one) */
};

/* Set up an empty session: no configuration yet, nothing open. */
void session_init(struct session *s);
/* Close what was opened (flushing nothing: a command flushes its own entries). */
void session_release(struct session *s);

/*
 * Load the configuration once: defaults, then the file at path (NULL: the
 * default path; a missing default file is fine, a missing named one is
 * ST_NOT_FOUND; load_file false skips it), the environment, then server
 * (--server, or NULL). Later calls check that they ask for the same file
 * and server (ST_USAGE otherwise: a session has one configuration).
 */
enum status session_configure(struct session *s, const char *path, const char *server,
			      bool load_file, struct err *e);

/* The connection, made on first use from the configuration. Borrowed. */
enum status session_bus(struct session *s, struct bus **out, struct err *e);
/* The witness ledger writer on that connection, made on first use. Borrowed. */
enum status session_witness(struct session *s, struct ledger_writer **out, struct err *e);
/* The local index ($IF_HOME/index.db), opened on first use. Borrowed. */
enum status session_index(struct session *s, struct store **out, struct err *e);
/* Close the writer and the connection now (the server is about to stop). */
void session_drop_bus(struct session *s);

/* Tell the operator something, filtered by level and the command's -q / -v. */
void session_notice(const struct session *s, enum notice_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A deep copy of a configuration, for one command to change freely. */
void config_copy(struct config *dst, const struct config *src);

#endif
