/* The command table, global options, lookup and help: see cmd.h. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/util.h"

const struct cmd_entry *const cmd_table[] = {
	&cmd_up_entry,
	&cmd_down_entry,
	&cmd_user_entry,
	&cmd_status_entry,
	&cmd_console_entry,
	&cmd_coordinator_entry,
	&cmd_swarm_entry,
	&cmd_governor_entry,
	&cmd_policy_entry,
	&cmd_capabilities_entry,
	&cmd_witness_entry,
	&cmd_slo_entry,
	&cmd_optimise_entry,
	&cmd_cost_entry,
	&cmd_index_entry,
	&cmd_doctor_entry,
	&cmd_chassis_entry,
	&cmd_cred_entry,
	&cmd_vault_entry,
	&cmd_config_entry,
	&cmd_demo_entry,
	&cmd_completion_entry,
	&cmd_version_entry,
	&cmd_help_entry,
	NULL,
};

const struct global_opt global_opts[] = {
	[G_OUTPUT] = { "output", 'o', "FORMAT", false,
		       "output format: table, wide, json, jsonl, yaml, csv, tsv" },
	[G_NO_HEADERS] = { "no-headers", 0, NULL, false,
			   "omit the header row in table, wide, csv and tsv output" },
	[G_CONFIG] = { "config", 0, "FILE", false,
		       "configuration file (default $XDG_CONFIG_HOME/ifctl/config.yaml)" },
	[G_SERVER] = { "server", 's', "URL", false,
		       "NATS server URL(s), overriding nats.url and IF_NATS_URL" },
	[G_WHY] = { "why", 0, "TEXT", true,
		    "explain the decision; on a change, --why=TEXT records the reason in the witness" },
	[G_TRACE] = { "trace", 0, "ID", true,
		      "run under a trace id (generated when not given) and print it" },
	[G_MODE] = { "mode", 0, "MODE", false,
		     "normal, or falsify: evaluate every check, write nothing, exit 8 if any fails" },
	[G_READ_ONLY] = { "read-only", 0, NULL, false, "refuse every change of state" },
	[G_COLOR] = { "color", 0, "WHEN", true, "auto, always or never (NO_COLOR is honoured)" },
	[G_QUIET] = { "quiet", 'q', NULL, false,
		      "no notices or warnings on stderr: data and errors only" },
	[G_VERBOSE] = { "verbose", 'v', NULL, false, "say more about what happens, on stderr" },
	[G_HELP] = { "help", 'h', NULL, false, "show help for the command and exit" },
	[G_VERSION] = { "version", 0, NULL, false, "print the version and exit" },
	[G__COUNT] = { NULL, 0, NULL, false, NULL },
};
_Static_assert(ARRAY_SIZE(global_opts) == G__COUNT + 1, "one row per global option");

static bool
visible(const struct cmd_entry *c)
{
	return !(c->flags & CMD_HIDDEN);
}

const struct cmd_entry *
cmd_find(const struct cmd_entry *const *table, const char *name, const char *context,
	 struct err *e)
{
	const struct cmd_entry *found = NULL, *nearest = NULL;
	struct buf cands = BUF_INIT;
	size_t i, n = 0, best = (size_t)-1;

	for (i = 0; table[i]; i++) {
		if (strcmp(table[i]->name, name) == 0 ||
		    (table[i]->alias && strcmp(table[i]->alias, name) == 0))
			return table[i];
	}
	for (i = 0; table[i]; i++) {
		if (has_prefix(table[i]->name, name) && visible(table[i])) {
			found = table[i];
			buf_addf(&cands, "%s%s", n++ ? ", " : "", table[i]->name);
		}
	}
	if (n == 1) {
		buf_release(&cands);
		return found;
	}
	if (n > 1) {
		err_set(e, ST_USAGE, "ambiguous command: %s%s, could be: %s",
			context, name, cands.s);
		buf_release(&cands);
		return NULL;
	}
	buf_release(&cands);
	for (i = 0; table[i]; i++) {
		size_t d = edit_distance(name, table[i]->name);
		if (d < best && visible(table[i])) {
			best = d;
			nearest = table[i];
		}
	}
	if (nearest && best <= strlen(name) / 2 + 1)
		err_set(e, ST_USAGE, "unknown command: %s%s (did you mean '%s'?)",
			context, name, nearest->name);
	else
		err_set(e, ST_USAGE, "unknown command: %s%s", context, name);
	return NULL;
}

static int
opt_index(const struct cmd_entry *c, const char *name)
{
	int i;

	for (i = 0; c->opts && c->opts[i].name; i++)
		if (strcmp(c->opts[i].name, name) == 0)
			return i;
	return -1;
}

const char *
cmd_opt(const struct cmd_ctx *ctx, const char *name)
{
	int i = opt_index(ctx->entry, name);

	return i < 0 ? NULL : ctx->optval[i];
}

bool
cmd_flag(const struct cmd_ctx *ctx, const char *name)
{
	return cmd_opt(ctx, name) != NULL;
}

enum status
cmd_opt_int(struct cmd_ctx *ctx, const char *name, int64_t min, int64_t max, int64_t def,
	    int64_t *out)
{
	const char *v = cmd_opt(ctx, name);

	*out = def;
	if (v == NULL)
		return ST_OK;
	/* digits, maybe after a '-': no space or '+' first, which strtoll would take */
	if (!isdigit((unsigned char)v[v[0] == '-']) || !parse_int64(v, out))
		return err_set(&ctx->err, ST_USAGE, "--%s: '%s' is not an integer", name, v);
	if (*out < min || *out > max)
		return err_set(&ctx->err, ST_BAD_VALUE, "--%s: %s is out of range %lld..%lld",
			       name, v, (long long)min, (long long)max);
	return ST_OK;
}

/*
 * Standard input read by an @- option, kept for the process: a command reads
 * its options twice (to validate, then to run) and stdin can be read once.
 */
static char *stdin_text;

/* The text of an @FILE option value (@- is standard input). */
static enum status
opt_file(struct cmd_ctx *ctx, const char *name, const char *path, char **text)
{
	bool in = strcmp(path, "-") == 0;
	enum status st;

	if (in && stdin_text) {
		*text = xstrdup(stdin_text);
		return ST_OK;
	}
	st = read_file(path, READ_MAX_JSON, READ_TEXT, text, NULL, &ctx->err);
	if (st != ST_OK)
		err_prefix(&ctx->err, "--%s", name);
	else if (in)
		stdin_text = xstrdup(*text);
	return st;
}

enum status
cmd_opt_json(struct cmd_ctx *ctx, const char *name, char **text)
{
	const char *v = cmd_opt(ctx, name);
	enum status st;

	*text = NULL;
	if (v == NULL)
		return ST_OK;
	if (v[0] == '@') {
		if ((st = opt_file(ctx, name, v + 1, text)) != ST_OK)
			return st;
	} else {
		*text = xstrdup(v);
	}
	if ((st = json_check(*text, name, &ctx->err)) != ST_OK) {
		free(*text);
		*text = NULL;
	}
	return st;
}

enum status
cmd_need(struct cmd_ctx *ctx, const char *name)
{
	const char *v = cmd_opt(ctx, name);

	if (v == NULL || *v == '\0')
		return err_set(&ctx->err, ST_USAGE, "%s%s%s needs --%s",
			       ctx->parent ? ctx->parent->name : "", ctx->parent ? " " : "",
			       ctx->entry->name, name);
	return ST_OK;
}

static void
help_option(struct buf *out, const char *name, char shortc, const char *arg, bool optional,
	    const char *help)
{
	struct buf b = BUF_INIT;

	if (shortc)
		buf_addf(&b, "-%c, ", shortc);
	buf_addf(&b, "--%s", name);
	if (arg)
		buf_addf(&b, optional ? "[=%s]" : " %s", arg);
	buf_addf(out, "  %-24s %s\n", b.s, help);
	buf_release(&b);
}

/* A titled block of lines (examples), each indented; nothing when text is NULL. */
static void
help_lines(struct buf *out, const char *title, const char *text)
{
	const char *p, *nl;

	if (text == NULL || *text == '\0')
		return;
	buf_addf(out, "\n%s:\n", title);
	for (p = text; *p; p = nl + (*nl == '\n')) {
		nl = p + strcspn(p, "\n");
		buf_addf(out, "  %.*s\n", (int)(nl - p), p);
	}
}

bool
cmd_schema_is_array(const struct cmd_entry *c)
{
	size_t n = c->schema ? strlen(c->schema) : 0;

	return n > 2 && strcmp(c->schema + n - 2, "[]") == 0;
}

const char *
cmd_schema_name(const struct cmd_entry *c)
{
	static char name[96];

	snprintf(name, sizeof name, "%.*s", (int)(strlen(c->schema) - 2 * cmd_schema_is_array(c)),
		 c->schema);
	return name;
}

/* Usage, summary, alias, subcommands and options of one command. */
static void
help_command(struct buf *out, const struct cmd_entry *parent, const struct cmd_entry *c)
{
	size_t i;

	buf_addf(out, "Usage: ifctl %s%s%s%s%s\n\n%s\n", parent ? parent->name : "",
		 parent ? " " : "", c->name, c->args ? " " : "", c->args ? c->args : "",
		 c->summary);
	if (c->alias)
		buf_addf(out, "\nAlias: %s\n", c->alias);
	if (c->subs) {
		buf_adds(out, "\nSubcommands:\n");
		for (i = 0; c->subs[i]; i++)
			buf_addf(out, "  %-14s %s\n", c->subs[i]->name, c->subs[i]->summary);
	}
	if (c->opts && c->opts[0].name) {
		buf_adds(out, "\nOptions:\n");
		for (i = 0; c->opts[i].name; i++)
			help_option(out, c->opts[i].name, c->opts[i].shortc, c->opts[i].arg,
				    false, c->opts[i].help);
	}
	help_lines(out, "Examples", c->examples);
	if (c->schema)
		buf_addf(out, "\nOutput (-o json): schemas/%s.schema.json%s\n", cmd_schema_name(c),
			 cmd_schema_is_array(c) ? ", an array" : "");
}

void
cmd_help(struct buf *out, const struct cmd_entry *parent, const struct cmd_entry *c)
{
	size_t i;

	if (c == NULL) {
		buf_adds(out, "ifctl: the InfraFabric operations console\n\n"
			 "Usage: ifctl [OPTIONS] COMMAND [ARGS]\n\nCommands:\n");
		for (i = 0; cmd_table[i]; i++)
			if (visible(cmd_table[i]))
				buf_addf(out, "  %-14s %s\n", cmd_table[i]->name, cmd_table[i]->summary);
	} else {
		help_command(out, parent, c);
	}
	buf_adds(out, "\nGlobal options:\n");
	for (i = 0; global_opts[i].name; i++)
		help_option(out, global_opts[i].name, global_opts[i].shortc, global_opts[i].arg,
			    global_opts[i].optional, global_opts[i].help);
	if (c == NULL)
		buf_adds(out, "\nTopics ('ifctl help TOPIC'): workflows, config, exit-codes, errors; "
			 "'ifctl help -o json' describes every command for programs.\n");
	buf_addf(out, "\nSee also: %s%sifctl%s%s(1), ifctl-errors(7), ifctl-workflows(7).\n",
		 c && c->see_also ? c->see_also : "", c && c->see_also ? ", " : "",
		 c ? "-" : "", c ? (parent ? parent->name : c->name) : "");
}

void
cmd_add_record(struct cmd_ctx *ctx, struct rowset *rs, const char *col, const char *value)
{
	rs->single = true;
	if (col)
		rows_set(rs, 0, rows_col(rs, col, COL_TEXT, 0), value);
	doc_add(&ctx->out, rs);
}
