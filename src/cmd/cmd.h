/*
 * Commands: one const entry per command family, one table, one dispatcher.
 *
 * A command declares what it needs (CMD_NEEDS_BUS: a connection to NATS;
 * CMD_MUTATES: refused under --read-only, and witnessed: the entries its
 * core operations cause, then one 'operator' entry with the command line
 * and the outcome, all under the command's trace id). cmd_dispatch() parses
 * the global options and the command's, borrows what it needs from the
 * session, runs it, witnesses it and leaves the result in a document: the
 * CLI (main.c) renders it with -o and turns the error into a message, a
 * remedy and an exit code; the console's ':' prompt shows it in a pane. A
 * command's run() fills ctx->out and returns a status; it never prints data
 * itself.
 */
#ifndef IF_CMD_H
#define IF_CMD_H

#include <stdbool.h>
#include <stdio.h>

#include "core/buf.h"
#include "core/bus.h"
#include "core/config.h"
#include "core/ledger.h"
#include "core/opctx.h"
#include "core/rows.h"
#include "core/session.h"
#include "core/status.h"
#include "cmd/render.h"

#define CMD_NEEDS_BUS	0x1	/* connect to NATS before run() */
#define CMD_MUTATES	0x2	/* changes state: refused under --read-only */
#define CMD_HIDDEN	0x4	/* not listed in help or completion */
#define CMD_OWN_CONFIG	0x8	/* reads the config file itself (init, validate) */
#define CMD_NO_WITNESS	0x10	/* no operator entry: the command is its own record (witness
				   append, checkpoint) or changes only local files */
#define CMD_WRITES	0x20	/* writes to the server outside the fleet's state (a
				   benchmark's own bucket): refused under --read-only and
				   --mode=falsify, not witnessed */

/* A command-specific option. arg is the value's name, or NULL for a flag. */
struct cmd_opt {
	const char *name;	/* long name without dashes */
	char shortc;		/* short letter, or 0 */
	const char *arg;
	const char *help;
};

struct cmd_ctx;

struct cmd_entry {
	const char *name;
	const char *alias;			/* another name, or NULL */
	const char *args;			/* usage after the name */
	const char *summary;			/* one line */
	unsigned flags;
	const struct cmd_opt *opts;		/* ends with { NULL }; may be NULL */
	const struct cmd_entry *const *subs;	/* ends with NULL; may be NULL */
	enum status (*validate)(struct cmd_ctx *ctx);	/* checks arguments before connecting */
	enum status (*run)(struct cmd_ctx *ctx);
	/*
	 * Help (--help, 'ifctl help -o json', tests/cli/t-help.sh). Every
	 * entry that is not CMD_HIDDEN, family or subcommand, must give
	 * examples and see_also; schema when it prints JSON.
	 */
	const char *examples;	/* 2 or 3 lines "ifctl ...", each may end "  # what it does" */
	const char *see_also;	/* ", "-separated: "task show, ifctl-witness(1)" */
	const char *schema;	/* -o json output: "task" is schemas/task.schema.json,
				   "task-row[]" an array of them; NULL: no JSON of its own */
};

/*
 * One call of a command: its entry, arguments and options, and what it
 * borrows from the session (the configuration as a copy with this call's
 * flags applied, the connection, the witness writer). Built and released by
 * cmd_dispatch(); commands never close what they borrow.
 */
struct cmd_ctx {
	struct session *session;	/* what outlives the call */
	const struct cmd_entry *entry;	/* the command (or subcommand) run */
	const struct cmd_entry *parent;	/* its family, when a subcommand */
	int argc;			/* positional arguments */
	char **argv;
	int full_argc;			/* the command line as given */
	char **full_argv;
	const char **optval;		/* per entry->opts: value, "" for a flag, NULL unset */
	char **joined;			/* values of repeated options, joined with commas */
	size_t njoined, joincap;
	struct config cfg;		/* the session's, with this call's -o, --color, --read-only */
	struct bus *bus;		/* the session's, when CMD_NEEDS_BUS or after cmd_connect() */
	struct opctx op;
	struct ledger_writer *witness;	/* the session's, when this call is witnessed */
	struct doc out;
	struct err err;
	const char *config_path;	/* the session's: --config, or the default path */
	enum out_format format;
	bool no_headers, quiet, verbose, color;
	bool output_on_error;		/* render ctx->out even when run() fails */
};

/*
 * Run one command line (argv[0] is the program's name) in session s, with
 * no stdio of its own: the result goes to doc (empty when there is nothing
 * to show; help text as doc->text), how to render it to ro (may be NULL),
 * the failure to err; notices go to the session's hook. doc is filled, not
 * released first: pass an empty one. --read-only,
 * --mode=falsify and witnessing (the operator entry, due checkpoints)
 * happen here, the same for every face. doc is the caller's to release.
 */
enum status cmd_dispatch(struct session *s, int argc, char **argv, struct doc *doc,
			 struct render_opts *ro, struct err *err);

/* The command table, in the order help lists it. */
extern const struct cmd_entry *const cmd_table[];

/* Global options: one table for parsing, help, completion and man checks. */
struct global_opt {
	const char *name;
	char shortc;
	const char *arg;	/* value name; NULL for a flag */
	bool optional;		/* value only as --name=VALUE */
	const char *help;
};
enum global_id {
	G_OUTPUT, G_NO_HEADERS, G_CONFIG, G_SERVER, G_WHY, G_TRACE, G_MODE, G_READ_ONLY,
	G_COLOR, G_QUIET, G_VERBOSE, G_HELP, G_VERSION, G__COUNT
};
extern const struct global_opt global_opts[];	/* by enum global_id; ends with { NULL } */

/*
 * Find a command in a table by exact name, alias, then unique prefix.
 * On failure *e says "unknown command" with the nearest name, or
 * "ambiguous command" with the candidates.
 */
const struct cmd_entry *cmd_find(const struct cmd_entry *const *table, const char *name,
				 const char *context, struct err *e);

/* Option value (NULL when not given) and flag test, by long name. */
const char *cmd_opt(const struct cmd_ctx *ctx, const char *name);
bool cmd_flag(const struct cmd_ctx *ctx, const char *name);

/* An integer option within [min, max]; def when absent. Errors name the option. */
enum status cmd_opt_int(struct cmd_ctx *ctx, const char *name, int64_t min, int64_t max,
			int64_t def, int64_t *out);
/* A JSON option, inline or @FILE, checked; *text (NULL when absent) is the caller's. */
enum status cmd_opt_json(struct cmd_ctx *ctx, const char *name, char **text);
/* A required option: "<family> <command> needs --NAME" when missing or empty. */
enum status cmd_need(struct cmd_ctx *ctx, const char *name);

/*
 * Borrow the session's connection as ctx->bus, connecting on first use (the
 * dispatcher does it for CMD_NEEDS_BUS; commands that need the server only
 * on some paths call it there). The session closes it.
 */
enum status cmd_connect(struct cmd_ctx *ctx);

/*
 * May this call write the file at path (an export, a report)? ST_OK, or
 * ST_READ_ONLY in ctx->err under --read-only and under --mode=falsify
 * (which writes nothing). Every command that writes a file outside the
 * fleet's state asks first; the dispatcher refuses everything else.
 */
enum status cmd_may_write_file(struct cmd_ctx *ctx, const char *path);

/*
 * Witnessing, for commands that connect on their own (up, down): connect
 * (when ctx->bus is not open yet) and witness like any mutating command on
 * a server. The dispatcher calls it itself for CMD_NEEDS_BUS | CMD_MUTATES.
 */
enum status cmd_witness_open(struct cmd_ctx *ctx);
/*
 * Submit the operator entry of this command: the command line, the outcome
 * (a catalogue name, or a word such as "stopping") and the exit status (-1:
 * none yet). The dispatcher does it after run() unless the command is CMD_NO_WITNESS.
 */
void cmd_witness_command(struct cmd_ctx *ctx, const char *outcome, int exit_code);
/*
 * Witness the command now, before it acts (down: the server will be gone
 * after), then close the session's connection; the command is CMD_NO_WITNESS.
 */
enum status cmd_witness_now(struct cmd_ctx *ctx, const char *outcome);

/* Does c print an array of its schema's records ("task-row[]")? */
bool cmd_schema_is_array(const struct cmd_entry *c);
/* c's schema without "[]" (a static buffer: use before the next call). */
const char *cmd_schema_name(const struct cmd_entry *c);

/*
 * rs, holding one record in its view's columns, as the command's output
 * (a JSON object, not an array); with col, one more text column of that
 * name holding value (a token or a secret shown once). ctx->out owns rs.
 */
void cmd_add_record(struct cmd_ctx *ctx, struct rowset *rs, const char *col, const char *value);

/* Help for a command (NULL: the top level), appended to out. */
void cmd_help(struct buf *out, const struct cmd_entry *parent, const struct cmd_entry *entry);

/* Command families. */
extern const struct cmd_entry cmd_up_entry, cmd_down_entry, cmd_status_entry,
	cmd_config_entry, cmd_completion_entry, cmd_version_entry, cmd_help_entry,
	cmd_coordinator_entry, cmd_witness_entry, cmd_index_entry, cmd_doctor_entry,
	cmd_user_entry, cmd_slo_entry;
extern const struct cmd_entry cmd_swarm_entry, cmd_governor_entry, cmd_policy_entry,
	cmd_capabilities_entry;
extern const struct cmd_entry cmd_cost_entry, cmd_optimise_entry;
extern const struct cmd_entry cmd_chassis_entry, cmd_cred_entry, cmd_vault_entry;
extern const struct cmd_entry cmd_console_entry, cmd_demo_entry;

#endif
