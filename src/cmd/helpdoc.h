/*
 * The CLI described for programs and for topics: 'ifctl help -o json' (one
 * document: every command and subcommand with its options, examples, see
 * also and output schema; the global options; every exit code and error;
 * schemas/help.schema.json), and the exit-code table 'help exit-codes' and
 * the contract share. Built from the command, option and status tables only.
 */
#ifndef IF_HELPDOC_H
#define IF_HELPDOC_H

#include "core/buf.h"

struct cmd_entry;

/* What an exit code means: one row per code of enum exit_code. */
struct exit_meaning {
	int code;
	const char *meaning;
};
extern const struct exit_meaning exit_meanings[];	/* ends with { -1, NULL } */

/* The help topics: name and one line; ends with { NULL }. */
struct help_topic {
	const char *name;
	const char *summary;
};
extern const struct help_topic help_topics[];

/* Append the whole contract as one JSON object to out. */
void cmd_help_json(struct buf *out);

/* Append one command (parent NULL: a family) as the contract describes it. */
void cmd_help_json_command(struct buf *out, const struct cmd_entry *parent,
			   const struct cmd_entry *c);

#endif
