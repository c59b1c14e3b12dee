/*
 * The console's state, shared by its files (console.c: loop, layout,
 * drawing and keys; panes.c: the pane table; prompt.c: the ':' prompt,
 * drill-down and result views). Not a public interface: the commands call
 * console_run() (console.h).
 *
 * The pane set is a table (panes.c): one struct pane_src per pane, naming
 * its title, the core view whose rows it shows (as pane columns), what
 * feeds it, how it filters and sorts, and what Enter opens. A new domain's
 * pane (swarms, budgets, SLO) is one more entry once its core view and feed
 * exist.
 */
#ifndef IF_TUI_UI_H
#define IF_TUI_UI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/evloop.h"
#include "core/rows.h"
#include "core/session.h"
#include "tui/console.h"
#include "tui/model.h"
#include "tui/pane.h"
#include "tui/theme.h"

struct ui;
struct pane;

/* One pane of the table. */
struct pane_src {
	const char *name;		/* "tasks": --pane, help */
	const char *feed;		/* what feeds it, for help */
	const struct pane_col *cols;
	size_t ncols;
	int sort;			/* default sort column (index into cols) */
	bool desc;
	unsigned sortable;		/* bit i: column i can be sorted on */
	int state_col;			/* column painted in the row's role, or -1 */
	bool follow_head;		/* a tail: a selection on the first row stays there */
	int weight;			/* its share of the height when panes are stacked */
	/* Fill p->items with the rows that pass p->filter, sorted; under the fleet's lock. */
	void (*collect)(struct fleet *f, struct pane *p);
	/* The identity of an item (a task id, a witness sequence), into out. */
	void (*ident)(const void *item, struct buf *out);
	/* The core view's rows for items[from..from+n). */
	struct rowset *(*rows)(void *const *items, size_t n);
	/* The role of row r of such a set. */
	enum theme_role (*role)(const struct rowset *rs, size_t r);
	/* The generation of what the pane shows (NULL: f->gen); a change collects again. */
	uint64_t (*gen)(const struct fleet *f);
	/* How many rows the pane's source holds (big ones re-sort at most once a second). */
	size_t (*size)(struct fleet *f);
	/* What the title says after the name (counts, the chain's state). */
	void (*status)(struct fleet *f, const struct pane *p, struct buf *out);
	/* Enter: the command line that drills into item (argv words, NULL-terminated), or false. */
	bool (*drill)(const void *item, struct buf *cmdline);
};

extern const struct pane_src *const pane_table[];
/* The rows of the swarms, budget and SLO panes' items (exposed for tests/unit/test-pane.c). */
struct rowset *pane_swarm_rows(void *const *items, size_t n);
struct rowset *pane_budget_rows(void *const *items, size_t n);
struct rowset *pane_slo_rows(void *const *items, size_t n);
extern const size_t pane_count;

struct pane {
	const struct pane_src *src;
	void **items;			/* this frame's rows (pointers into the fleet) */
	size_t n, cap;
	size_t sel, top;		/* selected row, first row shown */
	char *sel_id;			/* the selected row's identity: selection follows it */
	char filter[128];
	int sort;
	bool desc;
	struct fleet *of;		/* the fleet items point into */
	uint64_t gen;			/* its gen when items were collected */
	bool stale;			/* filter or sort changed: collect again */
	int64_t collected_ms;		/* monotonic time of the last collection */
	int y, x, h, w;			/* where it is drawn; h == 0: hidden */
	char drawn[160];		/* what was drawn last (pane_sig): the same is not drawn again */
};

/* A result or drill-down: a document rendered to lines. */
struct docview {
	char *title;			/* the command line */
	char **lines;
	size_t n, top;
	struct doc doc;			/* kept to drill further */
};

enum ui_mode { MODE_NORMAL, MODE_PROMPT, MODE_FILTER, MODE_CONFIRM };

#define UI_STACK_MAX 16
#define UI_HISTORY_MAX 50

struct ui {
	struct session *s;
	struct console_opts opts;
	struct bus *bus;
	struct evloop *loop;
	struct fleet live, past;	/* past: a rewound fleet when view == &past */
	struct fleet *view;		/* what the panes show */
	pthread_t starter;		/* starts the feeds (their consumers take a while) */
	bool starter_made;		/* starter was created and not joined yet */
	bool starting;			/* under live.mu: the starter is at work */
	struct err start_err;		/* under live.mu: why it failed (code ST_OK: it did not) */
	struct theme theme;
	struct pane panes[8];	/* one per pane_table entry */
	size_t npanes, focus;
	struct docview *stack[UI_STACK_MAX];	/* drill-downs and results; top shown */
	size_t depth;
	enum ui_mode mode;
	struct buf line;		/* the prompt's or filter's text */
	char *history[UI_HISTORY_MAX];	/* ':' lines, newest last */
	size_t nhistory, hpos;
	char **confirm_argv;		/* MODE_CONFIRM: what 'y' runs */
	char confirm_text[256];
	char message[512];		/* the status line's last outcome */
	bool message_bad;
	int rows, cols;
	bool quit, resized, full_redraw;
	uint64_t paint_timer;		/* a throttled paint is due */
	int64_t last_paint_ms;		/* monotonic */
	int64_t reconnect_banner_until;	/* wall ms */
	uint64_t reconnects_seen;
	uint64_t frames;
	uint64_t screen_epoch;		/* bumped when something else drew over the panes */
	int body_y;			/* where the panes began last frame */
	int64_t first_frame_ms, live_ms;	/* wall times: the first paint, the first with data */
	int64_t synced_ms;		/* the first paint with every task (the snapshot) */
	int64_t start_ms;		/* wall time console_run() began */
	int64_t *key_us;		/* key to screen, per batch of keys (--stats) */
	int64_t *key_cpu_us;		/* ...of which the loop thread's CPU time */
	size_t nkey, keycap, cpucap;
	size_t key_big_collects;	/* batches that filtered and sorted a big pane */
};

/* Ask for a paint: at once (keys) or throttled to 10 a second (data). */
void ui_paint_now(struct ui *ui);
void ui_paint_soon(struct ui *ui);
/* Say something on the status line (bad: in the role of failures). */
void ui_say(struct ui *ui, bool bad, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* prompt.c */
/* Run a command line (words) through the dispatcher; show the result as a view when show. */
void ui_run(struct ui *ui, char **argv, bool show);
/* Run the text typed at ':'. */
void ui_run_line(struct ui *ui, const char *line);
/* Split a line into words (quotes and backslashes as a shell does); NULL-terminated. */
char **ui_split(const char *line, size_t *n);
void ui_free_words(char **v);
/* Push a view of lines; pop the top one. */
void ui_push_text(struct ui *ui, const char *title, const char *text, struct doc *doc);
void ui_pop(struct ui *ui);
/* Enter on the top view: drill further when it holds a task or a trace. */
void ui_drill_doc(struct ui *ui);
/* The help view, from the key table. */
void ui_help(struct ui *ui);

/* console.c: the key table, for help. */
struct key_def {
	int key;
	const char *label;		/* "j, Down" */
	const char *help;
	unsigned where;			/* KW_PANE, KW_DOC */
	bool mutates;			/* refused while rewound, asks first */
	void (*fn)(struct ui *ui);
};
#define KW_PANE 0x1
#define KW_DOC 0x2
extern const struct key_def key_table[];

#endif
