/* The CLI as one JSON document, and the tables help topics share: see helpdoc.h. */
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/helpdoc.h"
#include "core/json.h"
#include "core/util.h"

const struct exit_meaning exit_meanings[] = {
	{ EXIT_OK, "success" },
	{ EXIT_FAILURE_, "failure" },
	{ EXIT_USAGE, "usage: a bad command line, value, JSON or YAML" },
	{ EXIT_NOT_FOUND, "not found" },
	{ EXIT_REFUSED, "refused by policy, budget or SLO, or a breach" },
	{ EXIT_WITNESS, "witness verification failed" },
	{ EXIT_UNREACHABLE, "NATS unreachable or timed out" },
	{ EXIT_PERMISSION, "read-only or permission refusal" },
	{ EXIT_FALSIFIED, "falsified: at least one check would fail" },
	{ EXIT_INTERRUPTED, "interrupted" },
	{ -1, NULL },
};

const struct help_topic help_topics[] = {
	{ "workflows", "what an operator does, step by step (ifctl-workflows(7))" },
	{ "config", "every configuration key: type, default, bounds, variable (ifctl-config(5))" },
	{ "exit-codes", "the exit codes and the errors that give each" },
	{ "errors", "the error catalogue: code, exit code, summary, remedy (ifctl-errors(7))" },
	{ NULL, NULL },
};

/* Start an array element: a comma unless it is the first. */
static void
elem(struct buf *out)
{
	if (out->len && out->s[out->len - 1] != '[' && out->s[out->len - 1] != '{')
		buf_addc(out, ',');
}

/* Open a member holding an array: the caller adds the elements and the ']'. */
static void
kv_array(struct buf *out, const char *key)
{
	json_key(out, key);
	buf_addc(out, '[');
}

/* Open an element that is an object: the caller adds its members and the '}'. */
static void
elem_object(struct buf *out)
{
	elem(out);
	buf_addc(out, '{');
}

/* A member holding the lines of text (split at sep) as an array of strings. */
static void
kv_split(struct buf *out, const char *key, const char *text, const char *sep)
{
	const char *p = text, *end;
	size_t n;

	kv_array(out, key);
	while (p && *p) {
		n = strcspn(p, sep);
		end = p + n;
		elem(out);
		json_escape_len(out, p, n);
		p = *end ? end + strspn(end, sep) : end;
	}
	buf_addc(out, ']');
}

/* One command option as an object. */
static void
option_json(struct buf *out, const char *name, char shortc, const char *arg, const char *help)
{
	char s[2] = { shortc, '\0' };

	elem_object(out);
	json_kv_str(out, "name", name);
	json_kv_str(out, "short", shortc ? s : NULL);
	json_kv_str(out, "arg", arg);
	json_kv_str(out, "help", help);
	buf_addc(out, '}');
}

/* A command (or subcommand) with its own subcommands, recursively. */
static void
command_json(struct buf *out, const struct cmd_entry *parent, const struct cmd_entry *c)
{
	size_t i;

	elem_object(out);
	json_kv_str(out, "name", c->name);
	json_key(out, "path");
	buf_addc(out, '"');
	if (parent)
		buf_addf(out, "%s ", parent->name);
	buf_addf(out, "%s\"", c->name);
	json_kv_str(out, "alias", c->alias);
	json_kv_str(out, "args", c->args);
	json_kv_str(out, "summary", c->summary);
	json_kv_bool(out, "mutates", c->flags & CMD_MUTATES);
	json_kv_bool(out, "needs_server", c->flags & CMD_NEEDS_BUS);
	json_kv_bool(out, "witnessed", (c->flags & CMD_MUTATES) && !(c->flags & CMD_NO_WITNESS));
	kv_array(out, "options");
	for (i = 0; c->opts && c->opts[i].name; i++)
		option_json(out, c->opts[i].name, c->opts[i].shortc, c->opts[i].arg, c->opts[i].help);
	buf_addc(out, ']');
	kv_split(out, "examples", c->examples, "\n");
	kv_split(out, "see_also", c->see_also, ", ");
	json_key(out, "output");
	if (c->schema) {
		buf_addc(out, '{');
		json_key(out, "schema");
		buf_addf(out, "\"schemas/%s.schema.json\"", cmd_schema_name(c));
		json_kv_bool(out, "array", cmd_schema_is_array(c));
		buf_addc(out, '}');
	} else {
		buf_adds(out, "null");
	}
	kv_array(out, "subcommands");
	for (i = 0; c->subs && c->subs[i]; i++)
		if (!(c->subs[i]->flags & CMD_HIDDEN))
			command_json(out, c, c->subs[i]);
	buf_adds(out, "]}");
}

void
cmd_help_json_command(struct buf *out, const struct cmd_entry *parent, const struct cmd_entry *c)
{
	command_json(out, parent, c);
	buf_addc(out, '\n');
}

/* Exit codes, each with the catalogue names that give it. */
static void
exit_codes_json(struct buf *out)
{
	size_t i;
	int s;

	kv_array(out, "exit_codes");
	for (i = 0; exit_meanings[i].meaning; i++) {
		elem_object(out);
		json_kv_int(out, "code", exit_meanings[i].code);
		json_kv_str(out, "meaning", exit_meanings[i].meaning);
		kv_array(out, "errors");
		for (s = 0; s < ST__COUNT; s++) {
			if (status_info((enum status)s)->exit_code != exit_meanings[i].code)
				continue;
			elem(out);
			json_escape(out, status_info((enum status)s)->name);
		}
		buf_adds(out, "]}");
	}
	buf_addc(out, ']');
}

/* The error catalogue. */
static void
errors_json(struct buf *out)
{
	const struct status_info *si;
	int s;

	kv_array(out, "errors");
	for (s = 0; s < ST__COUNT; s++) {
		si = status_info((enum status)s);
		elem_object(out);
		json_kv_str(out, "code", si->name);
		json_kv_int(out, "exit", si->exit_code);
		json_kv_str(out, "summary", si->text);
		json_kv_str(out, "remedy", si->remedy);
		buf_addc(out, '}');
	}
	buf_addc(out, ']');
}

void
cmd_help_json(struct buf *out)
{
	size_t i;

	buf_addc(out, '{');
	json_kv_int(out, "v", 1);
	json_kv_str(out, "program", "ifctl");
	json_kv_str(out, "version", IFCTL_VERSION);
	json_kv_str(out, "usage", "ifctl [GLOBAL OPTIONS] COMMAND [SUBCOMMAND] [ARGS] [OPTIONS]");
	json_kv_str(out, "errors_on", "stderr: 'ifctl: MESSAGE' then 'remedy: TEXT [CODE]'");
	kv_array(out, "output_formats");
	for (i = 0; out_format_names[i]; i++) {
		elem(out);
		json_escape(out, out_format_names[i]);
	}
	buf_addc(out, ']');
	kv_array(out, "global_options");
	for (i = 0; global_opts[i].name; i++)
		option_json(out, global_opts[i].name, global_opts[i].shortc, global_opts[i].arg,
			    global_opts[i].help);
	buf_addc(out, ']');
	kv_array(out, "commands");
	for (i = 0; cmd_table[i]; i++)
		if (!(cmd_table[i]->flags & CMD_HIDDEN))
			command_json(out, NULL, cmd_table[i]);
	buf_addc(out, ']');
	exit_codes_json(out);
	errors_json(out);
	kv_array(out, "topics");
	for (i = 0; help_topics[i].name; i++) {
		elem_object(out);
		json_kv_str(out, "name", help_topics[i].name);
		json_kv_str(out, "summary", help_topics[i].summary);
		buf_addc(out, '}');
	}
	buf_adds(out, "]}\n");
}
