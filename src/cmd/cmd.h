/*
 * Commands: one const entry per command family, one table, one dispatcher.
 *
 * A command declares what it needs (CMD_NEEDS_BUS: a connection to NATS;
 * CMD_MUTATES: refused under --read-only, and witnessed: the entries its
 * core operations cause, then one 'operator' entry with the command line
 * and the outcome, all under the command's trace id) and main.c sets that
 * up once,
 * parses global options for every command, renders what the command put in
 * ctx->out with -o, and turns ctx->err into a message, a remedy and an exit
 * code. A command's run() fills ctx->out and returns a status; it never
 * prints data itself.
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
#include "core/status.h"

#define CMD_NEEDS_BUS	0x1	/* connect to NATS before run() */
#define CMD_MUTATES	0x2	/* changes state: refused under --read-only */
#define CMD_HIDDEN	0x4	/* not listed in help or completion */
#define CMD_OWN_CONFIG	0x8	/* reads the config file itself (init, validate) */
#define CMD_NO_WITNESS	0x10	/* no operator entry: the command is its own record (witness
				   append, checkpoint) or changes only local files */

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
};

enum out_format { OUT_TABLE, OUT_WIDE, OUT_JSON, OUT_JSONL, OUT_YAML, OUT_CSV, OUT_TSV };

struct cmd_ctx {
	const struct cmd_entry *entry;	/* the command (or subcommand) run */
	const struct cmd_entry *parent;	/* its family, when a subcommand */
	int argc;			/* positional arguments */
	char **argv;
	int full_argc;			/* the command line as given */
	char **full_argv;
	const char **optval;		/* per entry->opts: value, "" for a flag, NULL unset */
	char **joined;			/* values of repeated options, joined with commas */
	size_t njoined, joincap;
	struct config cfg;
	struct bus *bus;		/* when CMD_NEEDS_BUS */
	struct opctx op;
	struct ledger_writer *witness;	/* mutating commands on a server */
	char actor[160];		/* user@host */
	struct doc out;
	struct err err;
	char *config_path;		/* --config, or the default path */
	enum out_format format;
	bool no_headers, quiet, verbose, color;
	bool output_on_error;		/* render ctx->out even when run() fails */
};

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
extern const struct global_opt global_opts[];

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
 * Connect ctx->bus from the configuration, once (main.c does it for
 * CMD_NEEDS_BUS; commands that need the server only on some paths call it
 * there). main.c closes it.
 */
enum status cmd_connect(struct cmd_ctx *ctx);

/*
 * Witnessing, for commands that connect on their own (up, down): connect
 * (when ctx->bus is not open yet) and witness like any mutating command on
 * a server. main.c calls it itself for CMD_NEEDS_BUS | CMD_MUTATES.
 */
enum status cmd_witness_open(struct cmd_ctx *ctx);
/*
 * Submit the operator entry of this command: the command line, the outcome
 * (a catalogue name, or a word such as "stopping") and the exit status (-1:
 * none yet). main.c does it after run() unless the command is CMD_NO_WITNESS.
 */
void cmd_witness_command(struct cmd_ctx *ctx, const char *outcome, int exit_code);
/*
 * Witness the command now, before it acts (down: the server will be gone
 * after), then close the connection; the command is CMD_NO_WITNESS.
 */
enum status cmd_witness_now(struct cmd_ctx *ctx, const char *outcome);

/* Names of output formats, indexed by enum out_format. */
extern const char *const out_format_names[];

/* Append v as one RFC 4180 CSV field (quoted when it must be). */
void csv_cell(struct buf *out, const char *v);

/* Render ctx->out to stdout; returns ST_IO when stdout fails. */
enum status render_doc(const struct cmd_ctx *ctx, FILE *f, const struct doc *d);

/* Help for a command (NULL: the top level), to f. */
void cmd_help(FILE *f, const struct cmd_entry *parent, const struct cmd_entry *entry);

/* Command families. */
extern const struct cmd_entry cmd_up_entry, cmd_down_entry, cmd_status_entry,
	cmd_config_entry, cmd_completion_entry, cmd_version_entry, cmd_help_entry,
	cmd_coordinator_entry, cmd_witness_entry, cmd_index_entry, cmd_doctor_entry;

#endif
