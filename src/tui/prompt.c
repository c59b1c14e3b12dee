/*
 * The ':' prompt, drill-down and result views: every command runs through
 * cmd_dispatch() in the console's session, exactly as the CLI runs it
 * (read-only, falsify and witnessing happen there), and its document is
 * rendered by the CLI's renderer into a view.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/render.h"
#include "core/taskview.h"
#include "core/util.h"
#include "tui/ui.h"

/* Commands the prompt does not run: they would hold the console's loop. */
static const struct {
	const char *family, *sub;	/* sub NULL: the whole family */
	const char *flag;		/* only with this option, or NULL */
	const char *why;
} refused[] = {
	{ "console", NULL, NULL, "the console is already open" },
	{ "demo", NULL, NULL, "it runs until stopped: start it in another terminal" },
	{ "down", NULL, NULL, "it closes the connection the console's feeds run on: run it in "
	  "another terminal (the console then shows the server down, and back when it is up)" },
	{ "coordinator", "watch", NULL, "it follows until Ctrl-C: the tasks pane is this watch" },
	{ "witness", "tail", "-f", "it follows until Ctrl-C: the witness pane is this tail" },
	{ "witness", "tail", "--follow", "it follows until Ctrl-C: the witness pane is this tail" },
};

char **
ui_split(const char *line, size_t *count)
{
	char **v = xcalloc(strlen(line) / 2 + 2, sizeof *v), quote;
	struct buf w = BUF_INIT;
	size_t n = 0;
	bool in = false;

	for (; *line; line++) {
		if (*line == '\'' || *line == '"') {
			quote = *line;
			in = true;
			while (*++line && *line != quote)
				buf_addc(&w, *line == '\\' && quote == '"' && line[1] ? *++line : *line);
			if (!*line)
				break;
		} else if (*line == '\\' && line[1]) {
			buf_addc(&w, *++line);
			in = true;
		} else if (*line == ' ' || *line == '\t') {
			if (in)
				v[n++] = buf_detach(&w);
			in = false;
		} else {
			buf_addc(&w, *line);
			in = true;
		}
	}
	if (in)
		v[n++] = buf_detach(&w);
	buf_release(&w);
	if (count)
		*count = n;
	return v;
}

void
ui_free_words(char **v)
{
	size_t i;

	for (i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* The global option with this spelling that takes its value as the next word. */
static bool
takes_next(const char *w)
{
	size_t i;

	for (i = 0; global_opts[i].name; i++) {
		const struct global_opt *g = &global_opts[i];
		if (!g->arg || g->optional)
			continue;
		if ((w[0] == '-' && w[1] == g->shortc && !w[2] && g->shortc) ||
		    (!strncmp(w, "--", 2) && !strcmp(w + 2, g->name)))
			return true;
	}
	return false;
}

/* The command and subcommand a line names (NULL when it names none). */
static void
find_entry(char **argv, const struct cmd_entry **fam, const struct cmd_entry **sub)
{
	struct err e = ERR_INIT;
	size_t i;

	*fam = *sub = NULL;
	for (i = 0; argv[i]; i++) {
		if (argv[i][0] == '-') {
			i += takes_next(argv[i]) && argv[i + 1];
			continue;
		}
		if (*fam == NULL) {
			if ((*fam = cmd_find(cmd_table, argv[i], NULL, &e)) == NULL || !(*fam)->subs)
				return;
		} else {
			*sub = cmd_find((*fam)->subs, argv[i], NULL, &e);
			return;
		}
	}
}

/* Is the word among argv? */
static bool
has_word(char **argv, const char *w)
{
	for (; *argv; argv++)
		if (!strcmp(*argv, w))
			return true;
	return false;
}

/* Why the console will not run this line here, or NULL. */
static const char *
refusal(struct ui *ui, char **argv)
{
	const struct cmd_entry *fam, *sub, *e;
	size_t i;

	find_entry(argv, &fam, &sub);
	if (fam == NULL)
		return NULL;	/* the dispatcher says what is wrong */
	for (i = 0; i < ARRAY_SIZE(refused); i++)
		if (!strcmp(fam->name, refused[i].family) &&
		    (!refused[i].sub || (sub && !strcmp(sub->name, refused[i].sub))) &&
		    (!refused[i].flag || has_word(argv, refused[i].flag)))
			return refused[i].why;
	e = sub ? sub : fam;
	if (ui->view->at_ms && (e->flags & (CMD_MUTATES | CMD_WRITES)))
		return "it changes the fleet, and the console is viewing the past (l: back to live)";
	return NULL;
}

/* Split text into the lines of a view. */
static void
view_lines(struct docview *d, const char *text)
{
	const char *p = text, *nl;
	size_t cap = 0;

	while (*p) {
		nl = strchr(p, '\n');
		if (d->n == cap)
			xgrow(&d->lines, &cap, d->n + 1, sizeof *d->lines);
		d->lines[d->n++] = nl ? xstrndup(p, (size_t)(nl - p)) : xstrdup(p);
		if (!nl)
			break;
		p = nl + 1;
	}
}

void
ui_push_text(struct ui *ui, const char *title, const char *text, struct doc *doc)
{
	struct docview *d;

	if (ui->depth == UI_STACK_MAX)
		ui_pop(ui);	/* a full stack: the new view replaces the top one */
	d = xcalloc(1, sizeof *d);
	d->title = xstrdup(title);
	view_lines(d, text);
	if (doc) {
		d->doc = *doc;
		memset(doc, 0, sizeof *doc);
	}
	ui->stack[ui->depth++] = d;
}

void
ui_pop(struct ui *ui)
{
	struct docview *d;
	size_t i;

	if (ui->depth == 0)
		return;
	d = ui->stack[--ui->depth];
	for (i = 0; i < d->n; i++)
		free(d->lines[i]);
	free(d->lines);
	free(d->title);
	doc_release(&d->doc);
	free(d);
}

/* The command line as typed, for titles and messages. */
static void
joined(char **argv, struct buf *out)
{
	for (; *argv; argv++)
		buf_addf(out, "%s%s", out->len ? " " : "", *argv);
}

/*
 * Run the dispatcher with stdout and stderr going to a file, not the
 * terminal (a command that writes for itself, such as 'witness tail',
 * would draw over the screen); what it wrote is appended to out.
 */
static enum status
dispatch_captured(struct ui *ui, int argc, char **argv, struct doc *doc, struct render_opts *ro,
		  struct err *e, struct buf *out)
{
	FILE *tmp = tmpfile();
	int saved_out = dup(STDOUT_FILENO), saved_err = dup(STDERR_FILENO);
	char chunk[4096];
	enum status st;
	size_t n;

	fflush(stdout);
	fflush(stderr);
	if (tmp && saved_out >= 0 && saved_err >= 0) {
		dup2(fileno(tmp), STDOUT_FILENO);
		dup2(fileno(tmp), STDERR_FILENO);
	}
	st = cmd_dispatch(ui->s, argc, argv, doc, ro, e);
	fflush(stdout);
	fflush(stderr);
	if (saved_out >= 0 && saved_err >= 0) {
		dup2(saved_out, STDOUT_FILENO);
		dup2(saved_err, STDERR_FILENO);
	}
	if (saved_out >= 0)
		close(saved_out);
	if (saved_err >= 0)
		close(saved_err);
	if (tmp) {
		rewind(tmp);
		while ((n = fread(chunk, 1, sizeof chunk, tmp)) > 0 && out->len < (8u << 20))
			buf_add(out, chunk, n);
		fclose(tmp);
	}
	return st;
}

/* What a command left: its document rendered, then its failure and remedy. */
static void
result_text(enum status st, const struct err *e, struct doc *doc, struct render_opts *ro,
	    struct buf *out)
{
	const struct status_info *si = status_info(st);

	ro->color = false;	/* the view is not a terminal stream */
	if (doc->text)
		buf_adds(out, doc->text);
	else
		render_buf(ro, doc, out);
	if (st != ST_OK) {
		buf_addf(out, "%sifctl: %s\nremedy: %s [%s] (exit %d)\n", out->len ? "\n" : "",
			 e->code == st && e->msg[0] ? e->msg : si->text, si->remedy, si->name,
			 status_exit_code(st));
	}
}

void
ui_run(struct ui *ui, char **words, bool show)
{
	struct render_opts ro = RENDER_OPTS_INIT;
	struct doc doc = { 0 };
	struct err e = ERR_INIT;
	struct buf line = BUF_INIT, text = BUF_INIT;
	const char *why;
	char **argv;
	size_t n = 0, i, k = 0;
	enum status st;

	for (n = 0; words[n]; n++)
		;
	joined(words, &line);
	if ((why = refusal(ui, words)) != NULL) {
		ui_say(ui, true, "not run here: '%s': %s", line.s, why);
		buf_release(&line);
		return;
	}
	argv = xcalloc(n + 3, sizeof *argv);
	argv[k++] = (char *)"ifctl";
	if (ui->opts.read_only)
		argv[k++] = (char *)"--read-only";
	for (i = 0; i < n; i++)
		argv[k++] = words[i];
	ui->message[0] = '\0';
	st = dispatch_captured(ui, (int)k, argv, &doc, &ro, &e, &text);
	result_text(st, &e, &doc, &ro, &text);
	if (show || (st == ST_OK && text.len)) {
		ui_push_text(ui, line.s, text.len ? text.s : "(no output)\n", &doc);
		if (st != ST_OK)
			ui_say(ui, true, "'%s' failed: %s", line.s, e.msg);
	} else if (st != ST_OK) {
		ui_say(ui, true, "'%s' failed: %s", line.s, e.msg);
	} else {
		struct buf done = BUF_INIT;
		buf_addf(&done, "done: %s%s%s", line.s, ui->message[0] ? "; " : "", ui->message);
		ui_say(ui, false, "%s", done.s);
		buf_release(&done);
	}
	doc_release(&doc);
	free(argv);
	buf_release(&line);
	buf_release(&text);
}

void
ui_run_line(struct ui *ui, const char *line)
{
	char **words;

	if (has_prefix(line, "ifctl "))
		line += 6;
	words = ui_split(line, NULL);
	if (words[0])
		ui_run(ui, words, true);
	ui_free_words(words);
}

void
ui_drill_doc(struct ui *ui)
{
	struct docview *d = ui->stack[ui->depth - 1];
	struct rowset *rs = doc_find(&d->doc, "task");
	const char *trace = rs && rs->nrows ? rows_get(rs, 0, TC_TRACE) : NULL;
	struct buf cmd = BUF_INIT;

	if (trace == NULL) {
		ui_say(ui, false, "nothing to open here (Enter opens a task's trace)");
		return;
	}
	buf_addf(&cmd, "witness trace %s", trace);
	ui_run_line(ui, cmd.s);
	buf_release(&cmd);
}

void
ui_help(struct ui *ui)
{
	const struct key_def *k;
	struct buf h = BUF_INIT;
	size_t i;

	buf_adds(&h, "KEYS (in a pane; * also in an opened view)\n");
	for (k = key_table; k->fn; k++)
		if (k->label)
			buf_addf(&h, "  %-14s %s%s%s\n", k->label, k->help,
				 k->where & KW_DOC ? " *" : "", k->mutates ? " [changes the fleet]" : "");
	buf_adds(&h, "\nPANES (Tab moves between them)\n");
	for (i = 0; i < pane_count; i++)
		buf_addf(&h, "  %-10s fed by %s\n", pane_table[i]->name, pane_table[i]->feed);
	buf_adds(&h, "\nAt ':' any ifctl command runs in this process, e.g. 'task list --state "
		 "failed', 'witness verify', 'task push --title demo'; its output opens as a view.\n"
		 "Changes ask first, are witnessed, and are refused while the view is rewound.\n");
	ui_push_text(ui, "help", h.s, NULL);
	buf_release(&h);
}
