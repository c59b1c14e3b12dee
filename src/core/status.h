/*
 * Status codes, their exit codes and the error catalogue.
 *
 * Every failure in ifctl is one of these. The table below is the single
 * source for the status text, the stable catalogue name printed in errors
 * (and documented in ifctl-errors(7)), the process exit code and the remedy
 * shown to the operator. Exit codes are part of the CLI contract: once
 * released they never change; new statuses may be added at the end.
 */
#ifndef IF_STATUS_H
#define IF_STATUS_H

#include <stdarg.h>

/* Exit codes (DESIGN.md section 5). */
enum exit_code {
	EXIT_OK = 0,
	EXIT_FAILURE_ = 1,	/* trailing _ avoids stdlib's EXIT_FAILURE */
	EXIT_USAGE = 2,
	EXIT_NOT_FOUND = 3,
	EXIT_REFUSED = 4,	/* policy, budget or SLO refusal or breach */
	EXIT_WITNESS = 5,
	EXIT_UNREACHABLE = 6,	/* NATS unreachable or timed out */
	EXIT_PERMISSION = 7,	/* read-only or permission refusal */
	EXIT_FALSIFIED = 8,
	EXIT_INTERRUPTED = 130,
};

/*
 * X(symbol, catalogue name, exit code, summary, remedy)
 */
#define STATUS_TABLE(X) \
	X(OK, "ok", EXIT_OK, "success", \
	  "nothing to do") \
	X(FAIL, "failure", EXIT_FAILURE_, "the operation failed", \
	  "run again with -v for details") \
	X(USAGE, "usage", EXIT_USAGE, "invalid command line", \
	  "see 'ifctl help COMMAND' or 'ifctl COMMAND --help'") \
	X(NOMEM, "out-of-memory", EXIT_FAILURE_, "out of memory", \
	  "free memory on the host and run again") \
	X(IO, "io", EXIT_FAILURE_, "input/output error", \
	  "check that the path exists, is readable and the disk is not full") \
	X(NOT_FOUND, "not-found", EXIT_NOT_FOUND, "no such object", \
	  "list what exists with the matching 'list' command and check the id") \
	X(EXISTS, "exists", EXIT_FAILURE_, "object already exists", \
	  "choose another id, or use the idempotency key to repeat a request") \
	X(CONFLICT, "conflict", EXIT_FAILURE_, "the object changed under you", \
	  "read it again and retry with the current revision") \
	X(CONFIG_SYNTAX, "config-syntax", EXIT_USAGE, "malformed configuration file", \
	  "fix the YAML at the line shown; 'ifctl config validate' checks a file") \
	X(CONFIG_KEY, "config-key", EXIT_USAGE, "unknown configuration key", \
	  "see 'ifctl config show --defaults' for every key") \
	X(CONFIG_VALUE, "config-value", EXIT_USAGE, "configuration value out of range or of the wrong type", \
	  "see ifctl-config(5) for the type and bounds of each key") \
	X(BAD_JSON, "bad-json", EXIT_USAGE, "malformed JSON", \
	  "fix the JSON at the position shown ('jq .' points at it too)") \
	X(BAD_YAML, "bad-yaml", EXIT_USAGE, "malformed YAML", \
	  "fix the YAML at the line shown") \
	X(BAD_VALUE, "bad-value", EXIT_USAGE, "value out of range or malformed", \
	  "see the command's --help for accepted values") \
	X(UNREACHABLE, "nats-unreachable", EXIT_UNREACHABLE, "cannot reach the NATS server", \
	  "start the local server with 'ifctl up' or point --server/IF_NATS_URL at a running one") \
	X(TIMEOUT, "nats-timeout", EXIT_UNREACHABLE, "the NATS server did not answer in time", \
	  "check the server's load and network, or raise nats.timeout_ms") \
	X(DISCONNECTED, "nats-disconnected", EXIT_UNREACHABLE, "the connection to the NATS server was lost", \
	  "the client reconnects by itself; retry when 'ifctl status' answers") \
	X(NO_JETSTREAM, "no-jetstream", EXIT_UNREACHABLE, "the NATS server has JetStream disabled", \
	  "run nats-server with -js (as 'ifctl up' does) or enable JetStream in its config") \
	X(NO_SCHEMA, "no-schema", EXIT_NOT_FOUND, "a stream or bucket of the fleet is missing", \
	  "run 'ifctl up' (local server) or 'ifctl up --schema-only' against a remote server") \
	X(PROTOCOL, "nats-protocol", EXIT_FAILURE_, "unexpected answer from the NATS server", \
	  "check that the server is nats-server 2.9 or newer; run with -v for details") \
	X(PORT_IN_USE, "port-in-use", EXIT_FAILURE_, "the port is taken by another program", \
	  "stop that program or choose another port with server.port / IF_SERVER_PORT") \
	X(NOT_RUNNING, "not-running", EXIT_FAILURE_, "the local server is not running", \
	  "start it with 'ifctl up'") \
	X(SERVER_START, "server-start", EXIT_FAILURE_, "the local server did not start", \
	  "read the server log named in the message") \
	X(NO_PROGRAM, "no-program", EXIT_FAILURE_, "a required program is not installed", \
	  "run 'make deps' to install the missing packages") \
	X(READ_ONLY, "read-only", EXIT_PERMISSION, "refused: running with --read-only", \
	  "run again without --read-only (or unset IF_READ_ONLY) to change state") \
	X(PERMISSION, "permission", EXIT_PERMISSION, "permission denied", \
	  "check the file's owner and mode (key files must be 0600)") \
	X(REFUSED, "policy-refused", EXIT_REFUSED, "refused by policy, budget or SLO", \
	  "run with --why to see the rule, then change the request or the policy") \
	X(WITNESS, "witness-failed", EXIT_WITNESS, "witness ledger verification failed", \
	  "do not repair evidence: keep the ledger and report the entry named") \
	X(FALSIFIED, "falsified", EXIT_FALSIFIED, "at least one check would fail", \
	  "fix the failed checks listed, then run without --mode=falsify") \
	X(NO_TTY, "no-tty", EXIT_USAGE, "the console needs a terminal", \
	  "run it in a terminal with TERM set, or use the subcommands for scripts") \
	X(INTERRUPTED, "interrupted", EXIT_INTERRUPTED, "interrupted", \
	  "nothing was left half-written; run the command again") \
	X(NOT_OWNER, "not-owner", EXIT_PERMISSION, "refused: the caller does not hold the task", \
	  "claim it first, or present the current owner's fencing token ('ifctl task show ID')") \
	X(INDEX_CORRUPT, "index-corrupt", EXIT_FAILURE_, "the local index is damaged", \
	  "rebuild it with 'ifctl index rebuild' (it is a cache of the streams; nothing is lost)") \
	X(INDEX_LAG, "index-behind", EXIT_FAILURE_, "the local index is too far behind the ledger", \
	  "run 'ifctl witness checkpoint' (or 'ifctl index rebuild'), which copies the rest from the stream") \
	X(LEDGER_FOREIGN, "ledger-foreign", EXIT_WITNESS, "another client wrote a message into the witness ledger", \
	  "the ledger needs an operator: 'ifctl witness verify' names the message by sequence; keep an export ('ifctl witness export' marks it) and see 'Foreign messages' in ifctl-witness(1)") \
	X(INVALID_RECORD, "invalid-record", EXIT_FAILURE_, "a stored record is malformed or inconsistent", \
	  "another client wrote it (see ifctl-protocol(7)); 'ifctl task list' shows why; have it rewritten, or delete the key") \
	X(STORE_FULL, "store-full", EXIT_FAILURE_, "the server's storage for the stream or bucket is full", \
	  "raise the stream's or bucket's max bytes or the server's JetStream max_file_store (server.store_max_mb), or free space") \
	X(NOT_PERMITTED, "nats-permission", EXIT_PERMISSION, "the NATS server refused this user", \
	  "connect as a user allowed to do it (nats.user, nats.password); ifctl-protocol(7) lists what each role may do") \
	X(NOT_OURS, "not-ours", EXIT_PERMISSION, "the pid file names a process ifctl did not start", \
	  "nothing was signalled; if that process is not yours to keep, stop it yourself, remove the pid file, and run 'ifctl up'") \
	X(SLO_BREACH, "slo-breach", EXIT_REFUSED, "a service level objective is breached (or warns, with --fail-on=warn)", \
	  "run 'ifctl slo status SWARM --why' for the windows and arithmetic; 'ifctl slo violations' lists the episodes") \
	X(NO_USERNS, "no-userns", EXIT_PERMISSION, "the sandbox cannot create user namespaces", \
	  "allow unprivileged user namespaces (sysctl user.max_user_namespaces above 0, kernel.unprivileged_userns_clone=1); ifctl never runs code unsandboxed") \
	X(SANDBOX_LIMIT, "sandbox-limit", EXIT_REFUSED, "the sandboxed run was stopped by a limit or the seccomp filter", \
	  "read 'killed_by' in the run record; raise that limit (--memory, --cpu, --wall) or fix the program") \
	X(CRED_DENIED, "cred-denied", EXIT_REFUSED, "the credential does not allow this", \
	  "'ifctl cred list' shows its scope and state; issue one that allows the endpoint ('ifctl cred issue --allow')") \
	X(SERVER_RUNNING, "server-running", EXIT_FAILURE_, "another local server or cluster runs in this home", \
	  "stop it with 'ifctl down' first, or use another IF_HOME")

#define STATUS_ENUM(sym, name, exitc, text, remedy) ST_##sym,
enum status { STATUS_TABLE(STATUS_ENUM) ST__COUNT };
#undef STATUS_ENUM

/* A catalogue entry: stable for as long as the status exists. */
struct status_info {
	const char *name;	/* catalogue name, e.g. "nats-unreachable" */
	int exit_code;		/* process exit code */
	const char *text;	/* one-line summary */
	const char *remedy;	/* what the operator can do */
};

/* Catalogue entry of a status; never NULL (unknown values map to FAIL). */
const struct status_info *status_info(enum status st);

/* Summary text of a status. */
const char *status_text(enum status st);

/* Process exit code of a status. */
int status_exit_code(enum status st);

/*
 * A failure as core reports it: the status and one lowercase sentence that
 * names the subject, e.g. "cannot claim task 't-42': already claimed".
 * Functions that take a struct err * accept NULL when the caller only wants
 * the status.
 */
#define ERR_MSG_MAX 512
struct err {
	enum status code;
	char msg[ERR_MSG_MAX];
	char remedy[ERR_MSG_MAX];	/* this situation's remedy, or "": the catalogue's */
};
#define ERR_INIT { ST_OK, "", "" }

/* Fill e (when not NULL) and return st, so callers can 'return err_set(...)'. */
enum status err_set(struct err *e, enum status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
enum status err_vset(struct err *e, enum status st, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/* Prefix the message already in e with more context ("loading 'x': ..."). */
void err_prefix(struct err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Give the failure in e the remedy that fits where it happened (what would
 * make a task ready, which key to pass), instead of its code's catalogue
 * remedy. err_set() clears it: call this after.
 */
void err_remedy(struct err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The remedy to show for st: e's own when e holds st and has one, else the catalogue's. */
const char *err_remedy_text(const struct err *e, enum status st);

/* Reset e to OK with an empty message. */
void err_clear(struct err *e);

#endif
