/*
 * The console: one loop, the layout, drawing and keys. See console.h.
 *
 * Drawing discipline (htop's): everything is drawn into curses's virtual
 * screen, line by line at full width, and sent with one doupdate(), which
 * sends only the cells that changed; the screen is cleared only when the
 * terminal was resized or the operator asks (Ctrl-L). Data paints at most
 * ten times a second; a key paints at once; a one-second tick keeps ages
 * and leases current.
 */
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "core/util.h"
#include "tui/term.h"
#include "tui/ui.h"

#define PAINT_MIN_MS 100	/* data paints at most this often */
#define TICK_MS 1000
#define BANNER_MS 10000		/* how long "reconnected" stays up */
#define STEP_MS 60000		/* [ and ]: a minute */
#define BIG_STEP_MS 600000	/* { and }: ten minutes */
#define MIN_ROWS 12
#define PANE_MIN_H 4		/* title, header and two rows */
#define MIN_COLS 40
#define COLLECT_BIG 20000	/* rows beyond which a pane re-sorts at most ... */
#define COLLECT_EVERY_MS 1000	/* ... this often */

static struct evloop *sig_loop;
static volatile sig_atomic_t got_winch, got_quit;

/* SIGWINCH, SIGINT, SIGTERM: a flag and a wake; the loop does the rest. */
static void
on_signal(int sig)
{
	if (sig == SIGWINCH)
		got_winch = 1;
	else
		got_quit = 1;
	if (sig_loop)
		evloop_wake(sig_loop);
}

bool
console_can_run(char *why, size_t len)
{
	const char *term = getenv("TERM");

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
		snprintf(why, len, "the console needs a terminal: %s is not one",
			 isatty(STDIN_FILENO) ? "stdout" : "stdin");
	else if (term == NULL || *term == '\0' || !strcmp(term, "dumb"))
		snprintf(why, len, "the console needs a terminal that can draw: TERM is '%s'",
			 term ? term : "");
	else
		return true;
	return false;
}

void
ui_say(struct ui *ui, bool bad, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ui->message, sizeof ui->message, fmt, ap);
	va_end(ap);
	ui->message_bad = bad;
}

/* --- layout and drawing --------------------------------------------------- */

/* Draw text as one line of exactly w columns at (y, x). */
static void
put_line(int y, int x, int w, const char *text, enum theme_role role)
{
	struct buf line = BUF_INIT;

	pane_fit(&line, text, w, false);
	term_put(y, x, line.s, role);
	buf_release(&line);
}

/* A wall time as the local clock shows it. */
static void
clock_text(char out[16], int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(out, 16, "%H:%M:%S", &tm);
}

/* "3 min ago", "45 s ago", "2.5 h ago". */
static void
ago_text(char *out, size_t len, int64_t ms)
{
	if (ms < 60000)
		snprintf(out, len, "%lld s ago", (long long)(ms / 1000));
	else if (ms < 7200000)
		snprintf(out, len, "%lld min ago", (long long)(ms / 60000));
	else
		snprintf(out, len, "%.1f h ago", (double)ms / 3600000.0);
}

/* The connection's state with a glyph and a word (never colour alone). */
static void
conn_text(const struct fleet *live, int64_t now, struct buf *out)
{
	char age[16];

	if (live->conn == BUS_CONNECTED) {
		buf_adds(out, "* live");
		return;
	}
	pane_fmt_dur(age, now - (live->last_data_ms ? live->last_data_ms : live->conn_since_ms));
	buf_addf(out, "%s (data %s old)", live->conn == BUS_RECONNECTING ? "~ reconnecting" :
		 "x down", age);
}

/* The header: server, connection, counts; a second line of states and keys when full. */
static int
draw_header(struct ui *ui, struct fleet *f, bool full, int64_t now)
{
	struct buf h = BUF_INIT;
	char clock[16];
	size_t i;

	clock_text(clock, now);
	buf_adds(&h, " ifctl console | ");
	bus_url_mask(bus_url(ui->bus), &h);
	buf_adds(&h, " | ");
	conn_text(&ui->live, now, &h);
	buf_addf(&h, " | tasks %zu | swarms %zu, breakers open %zu | witness %llu%s | %s",
		 f->ntasks, f->swarms.n, fleet_breakers_open(f),
		 (unsigned long long)f->witness_last, ui->opts.read_only ? " | read-only" : "",
		 clock);
	put_line(0, 0, ui->cols, h.s, ROLE_HEADER);
	if (!full) {
		buf_release(&h);
		return 1;
	}
	buf_reset(&h);
	for (i = 0; i < TASK__COUNT; i++)
		buf_addf(&h, " %s %zu ", task_state_name((enum task_state)i), f->by_state[i]);
	buf_addf(&h, " invalid %zu  | theme %s | ? help  : command  / filter  [ ] time  q quit",
		 f->invalid, ui->theme.name);
	put_line(1, 0, ui->cols, h.s, ROLE_STATUS);
	buf_release(&h);
	return 2;
}

/* The banner under the header: rewound, reconnected, or cut off. */
static int
draw_banner(struct ui *ui, int y, int64_t now)
{
	struct buf b = BUF_INIT;
	char clock[16], ago[32];

	if (ui->view->at_ms) {
		clock_text(clock, ui->view->at_ms);
		ago_text(ago, sizeof ago, now - ui->view->at_ms);
		buf_addf(&b, "<< viewing %s, %s: rebuilt from stored history; changes refused; "
			 "l: back to live", clock, ago);
	} else if (ui->live.conn != BUS_CONNECTED) {
		clock_text(clock, ui->live.conn_since_ms);
		buf_addf(&b, "!! lost the server at %s: reconnecting; the panes show the data "
			 "as it was", clock);
	} else if (now < ui->reconnect_banner_until) {
		clock_text(clock, ui->live.conn_since_ms);
		buf_addf(&b, "reconnected to the server at %s (reconnect %llu): feeds resumed", clock,
			 (unsigned long long)ui->live.reconnects);
	}
	int shown = b.len > 0;

	if (shown)
		put_line(y, 0, ui->cols, b.s, ROLE_BANNER);
	buf_release(&b);
	return shown;
}

/* Find the selected row's identity in the fresh items; keep the place if it is gone. */
static void
reselect(struct pane *p)
{
	struct buf id = BUF_INIT;
	size_t i;

	if (p->sel == 0 && p->src->follow_head) {	/* at the head of a tail: stay there */
		free(p->sel_id);
		p->sel_id = NULL;
	}
	if (p->sel_id)
		for (i = 0; i < p->n; i++) {
			buf_reset(&id);
			p->src->ident(p->items[i], &id);
			if (!strcmp(id.s, p->sel_id)) {
				p->sel = i;
				buf_release(&id);
				return;
			}
		}
	if (p->sel >= p->n)
		p->sel = p->n ? p->n - 1 : 0;
	free(p->sel_id);
	p->sel_id = NULL;
	if (p->n) {
		buf_reset(&id);
		p->src->ident(p->items[p->sel], &id);
		p->sel_id = buf_detach(&id);
	}
	buf_release(&id);
}

/* Collections of a big pane so far (--stats: how many key batches paid for one). */
static size_t big_collects;
/* A key's paint is under way: a big pane's deferred sort waits for the next tick's. */
static bool painting_keys;

/* The calling thread's CPU time in microseconds. */
static int64_t
thread_cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * Make p's items current for f; under f's lock. A big pane (more than
 * COLLECT_BIG rows) filters and sorts again at most once a second while
 * data flows, as htop does: its rows are updated in place meanwhile (the
 * model keeps their addresses), only their order waits. A new filter or
 * sort, or another fleet, applies at once.
 */
static void
pane_sync(struct fleet *f, struct pane *p)
{
	bool now = p->of != f || p->stale;
	uint64_t gen = p->src->gen ? p->src->gen(f) : f->gen;

	if (!now && p->gen == gen)
		return;
	if (!now && p->src->size(f) > COLLECT_BIG &&
	    (painting_keys || mono_ms() - p->collected_ms < COLLECT_EVERY_MS))
		return;
	p->src->collect(f, p);
	if (p->src->size(f) > COLLECT_BIG)
		big_collects++;
	p->of = f;
	p->gen = gen;
	p->stale = false;
	p->collected_ms = mono_ms();
	reselect(p);
}

/* Select row i of p (clamped); under the fleet's lock, items current. */
static void
pane_select(struct pane *p, size_t i)
{
	struct buf id = BUF_INIT;

	if (p->n == 0)
		return;
	p->sel = i >= p->n ? p->n - 1 : i;
	p->src->ident(p->items[p->sel], &id);
	free(p->sel_id);
	p->sel_id = buf_detach(&id);
}

/* The pane's title line. */
static void
draw_title(struct fleet *f, struct pane *p, bool active)
{
	struct buf t = BUF_INIT;

	buf_addf(&t, " %s%s (", active ? "> " : "", p->src->name);
	p->src->status(f, p, &t);
	buf_adds(&t, ")");
	if (p->filter[0]) {
		buf_adds(&t, "  filter '");
		text_visible(&t, p->filter, 0);
		buf_adds(&t, "'");
	}
	put_line(p->y, p->x, p->w, t.s, active ? ROLE_TITLE_ACTIVE : ROLE_TITLE);
	buf_release(&t);
}

/* One row: the line, then its state cell in the state's role (unless selected). */
static void
draw_row(struct pane *p, const int *w, const struct rowset *rs, size_t r, int y, bool sel,
	 int64_t now)
{
	const struct pane_src *src = p->src;
	struct buf line = BUF_INIT, cell = BUF_INIT, fit = BUF_INIT;
	int x = 0, i;

	pane_line(src->cols, src->ncols, w, rs, r, now, &line);
	put_line(y, p->x, p->w, line.s, sel ? ROLE_SELECTED : ROLE_NORMAL);
	if (!sel && src->state_col >= 0 && w[src->state_col] > 0) {
		for (i = 0; i < src->state_col; i++)
			x += w[i] ? w[i] + 1 : 0;
		pane_cell(&src->cols[src->state_col], rs, r, now, &cell);
		pane_fit(&fit, cell.s, w[src->state_col], src->cols[src->state_col].flags & PC_RIGHT);
		term_put(y, p->x + x, fit.s, src->role(rs, r));
	}
	buf_release(&line);
	buf_release(&cell);
	buf_release(&fit);
}

/* A pane: title, column headers, the rows that fit, the selection kept in view. */
static void
draw_pane(struct fleet *f, struct pane *p, bool active, int64_t now)
{
	const struct pane_src *src = p->src;
	struct buf head = BUF_INIT;
	struct rowset *rs;
	int w[16], y, vis = p->h - 2;
	size_t r, n;

	pane_sync(f, p);
	draw_title(f, p, active);
	pane_widths(src->cols, src->ncols, p->w, w);
	pane_header(src->cols, src->ncols, w, p->sort, p->desc, &head);
	put_line(p->y + 1, p->x, p->w, head.s, ROLE_COLHEAD);
	buf_release(&head);
	if (vis <= 0)
		return;
	if (p->sel < p->top)
		p->top = p->sel;
	if (p->sel >= p->top + (size_t)vis)
		p->top = p->sel - (size_t)vis + 1;
	if (p->top + (size_t)vis > p->n)
		p->top = p->n > (size_t)vis ? p->n - (size_t)vis : 0;
	n = p->n - p->top < (size_t)vis ? p->n - p->top : (size_t)vis;
	rs = src->rows(p->items ? p->items + p->top : NULL, n);
	for (r = 0, y = p->y + 2; y < p->y + p->h; y++, r++) {
		if (r < n)
			draw_row(p, w, rs, r, y, active && p->top + r == p->sel, now);
		else
			put_line(y, p->x, p->w, r == 0 && p->n == 0 ? "  (none)" : "", ROLE_DIM);
	}
	rows_free(rs);
}

/*
 * What a pane's drawing depends on, as text: the same as last time and the
 * pane is left as curses holds it (a key that moves the selection in one
 * pane redraws only that one).
 */
static void
pane_sig(struct ui *ui, struct fleet *f, struct pane *p, bool active, int64_t now, char *out,
	 size_t len)
{
	uint64_t gen = p->src->gen ? p->src->gen(f) : f->gen;

	snprintf(out, len, "%p %llu %llu %zu %zu %zu %d %d %d %d %d %d %d %lld %llu %.32s",
		 (void *)f, (unsigned long long)gen, (unsigned long long)p->gen, p->n, p->sel,
		 p->top, p->y, p->h, p->w, active, p->sort, p->desc, f->dirty != 0,
		 (long long)(now / 1000), (unsigned long long)ui->screen_epoch, p->filter);
}

/* The top view of the stack: its title and the lines that fit. */
static void
draw_doc(struct ui *ui, int y0, int h)
{
	struct docview *d = ui->stack[ui->depth - 1];
	struct buf t = BUF_INIT;
	size_t i;
	int y;

	buf_addf(&t, " > %s  (%zu line%s; Esc: back%s)", d->title, d->n, d->n == 1 ? "" : "s",
		 ui->depth > 1 ? ", to the previous view" : "");
	put_line(y0, 0, ui->cols, t.s, ROLE_TITLE_ACTIVE);
	buf_release(&t);
	if (d->top + (size_t)(h - 1) > d->n)
		d->top = d->n > (size_t)(h - 1) ? d->n - (size_t)(h - 1) : 0;
	for (y = y0 + 1, i = d->top; y < y0 + h; y++, i++)
		put_line(y, 0, ui->cols, i < d->n ? d->lines[i] : "", ROLE_NORMAL);
}

/* The bottom line: the prompt, the filter, a question, or the last outcome. */
static void
draw_status(struct ui *ui, int y)
{
	struct buf s = BUF_INIT;
	enum theme_role role = ROLE_STATUS;
	int cursor = -1;

	if (ui->mode == MODE_PROMPT || ui->mode == MODE_FILTER) {
		buf_adds(&s, ui->mode == MODE_PROMPT ? ":" : "/");
		text_visible(&s, ui->line.s, 0);
		cursor = pane_text_width(s.s);
		role = ROLE_PROMPT;
	} else if (ui->mode == MODE_CONFIRM) {
		buf_addf(&s, "%s [y/N]", ui->confirm_text);
		role = ROLE_BANNER;
	} else if (ui->message[0]) {
		text_visible(&s, ui->message, 0);
		role = ui->message_bad ? ROLE_BAD : ROLE_STATUS;
	} else {
		buf_adds(&s, "? help  : command  / filter  Enter open  Tab pane  s sort  [ ] time  q quit");
	}
	put_line(y, 0, ui->cols, s.s, role);
	term_cursor(cursor >= 0 && cursor < ui->cols ? y : -1, cursor);
	buf_release(&s);
}

/* Place the panes shown (all at full size, two at 80x24, the focused one below), by weight. */
static void
layout(struct ui *ui, int y0, int h, size_t show)
{
	size_t i, k = 0, first = ui->focus;
	int y = y0, weights = 0, left = h;

	if (show > ui->npanes)
		show = ui->npanes;
	if (show == ui->npanes)
		first = 0;
	else if (first + show > ui->npanes)
		first = ui->npanes - show;
	for (i = 0; i < ui->npanes; i++)
		ui->panes[i].h = 0;
	for (i = first; i < first + show; i++)
		weights += ui->panes[i].src->weight > 0 ? ui->panes[i].src->weight : 1;
	for (i = first; i < first + show; i++, k++) {
		struct pane *p = &ui->panes[i];
		int wt = p->src->weight > 0 ? p->src->weight : 1;
		int share = weights ? left * wt / weights : left;
		if (share < PANE_MIN_H && left >= PANE_MIN_H)
			share = PANE_MIN_H;
		p->y = y;
		p->x = 0;
		p->w = ui->cols;
		p->h = k + 1 == show ? y0 + h - y : share;
		y += p->h;
		left -= p->h;
		weights -= wt;
	}
}

/* "terminal too small", with the size it has and the size it needs. */
static void
draw_too_small(struct ui *ui)
{
	char size[64];
	int y;

	snprintf(size, sizeof size, "%dx%d, needs %dx%d", ui->cols, ui->rows, MIN_COLS, MIN_ROWS);
	for (y = 0; y < ui->rows; y++)
		put_line(y, 0, ui->cols, y == ui->rows / 2 - 1 ? "terminal too small" :
			 y == ui->rows / 2 ? size : "", ROLE_NORMAL);
}

/* Paint the whole screen from the model; one doupdate. */
static void
paint(struct ui *ui)
{
	struct fleet *f = ui->view;
	int64_t now = wall_ms();
	bool full;
	int y, body;
	size_t i;

	term_size(&ui->rows, &ui->cols);
	ui->last_paint_ms = mono_ms();
	ui->frames++;
	if (ui->rows < MIN_ROWS || ui->cols < MIN_COLS) {
		ui->screen_epoch++;
		draw_too_small(ui);
		term_flush();
		return;
	}
	full = ui->rows >= 30 && ui->cols >= 100;
	pthread_mutex_lock(&ui->live.mu);
	if (ui->first_frame_ms == 0)
		ui->first_frame_ms = wall_ms();
	if (ui->live_ms == 0 && f->ntasks)
		ui->live_ms = wall_ms();
	if (ui->synced_ms == 0 && f->tasks_synced)
		ui->synced_ms = wall_ms();
	if (f != &ui->live)
		pthread_mutex_lock(&f->mu);
	y = draw_header(ui, f, full, now);
	y += draw_banner(ui, y, now);
	body = ui->rows - 1 - y;
	if (y != ui->body_y) {	/* a banner came or went: the panes moved */
		ui->body_y = y;
		ui->screen_epoch++;
	}
	if (ui->depth) {
		ui->screen_epoch++;
		draw_doc(ui, y, body);
	} else {
		layout(ui, y, body, full ? ui->npanes : ui->rows >= 24 && ui->cols >= 80 ? 2 : 1);
		for (i = 0; i < ui->npanes; i++) {
			struct pane *p = &ui->panes[i];
			int64_t at = f->at_ms ? f->at_ms : now;
			char sig[sizeof p->drawn];
			if (p->h <= 0)
				continue;
			pane_sync(f, p);
			pane_sig(ui, f, p, i == ui->focus, at, sig, sizeof sig);
			if (strcmp(sig, p->drawn) == 0)
				continue;
			draw_pane(f, p, i == ui->focus, at);
			pane_sig(ui, f, p, i == ui->focus, at, p->drawn, sizeof p->drawn);
		}
	}
	f->dirty = 0;
	if (f != &ui->live)
		pthread_mutex_unlock(&f->mu);
	pthread_mutex_unlock(&ui->live.mu);
	draw_status(ui, ui->rows - 1);
	term_flush();
}

static int64_t
paint_due(struct evloop *l, uint64_t id, void *arg)
{
	struct ui *ui = arg;

	(void)l;
	(void)id;
	ui->paint_timer = 0;
	paint(ui);
	return EVLOOP_DONE;
}

void
ui_paint_now(struct ui *ui)
{
	if (ui->paint_timer)
		evloop_del_timer(ui->loop, ui->paint_timer);
	ui->paint_timer = 0;
	paint(ui);
}

void
ui_paint_soon(struct ui *ui)
{
	int64_t wait;

	if (ui->paint_timer)
		return;
	wait = PAINT_MIN_MS - (mono_ms() - ui->last_paint_ms);
	ui->paint_timer = evloop_add_timer(ui->loop, wait > 0 ? wait : 0, paint_due, ui);
}

/* --- time travel ------------------------------------------------------------ */

/* Back to the live fleet. */
static void
go_live(struct ui *ui)
{
	if (ui->view != &ui->past)
		return;
	ui->view = &ui->live;
	fleet_release(&ui->past);
	ui_say(ui, false, "live");
}

/* The chain's state at the rewound moment, from what the live check found. */
static void
past_chain(struct ui *ui)
{
	struct chain_state *c = &ui->past.chain, *l = &ui->live.chain;
	uint64_t last = ui->past.witness_last;

	pthread_mutex_lock(&ui->live.mu);
	c->ok_to = l->ok_to < last ? l->ok_to : last;
	if (l->fault != WF_NONE && l->fault_seq <= last) {
		c->fault = l->fault;
		c->fault_seq = l->fault_seq;
		memcpy(c->detail, l->detail, sizeof c->detail);
	}
	pthread_mutex_unlock(&ui->live.mu);
}

/* Show the fleet as it was at at_ms (live when that is now or later). */
static void
travel(struct ui *ui, int64_t at_ms)
{
	struct err e = ERR_INIT;
	char clock[16];
	int64_t t0;

	if (at_ms >= wall_ms() - 1000) {
		go_live(ui);
		return;
	}
	clock_text(clock, at_ms);
	ui_say(ui, false, "rewinding to %s...", clock);
	ui_paint_now(ui);
	go_live(ui);
	t0 = mono_ms();
	if (fleet_rewind(&ui->past, ui->bus, at_ms, &e) != ST_OK) {
		fleet_release(&ui->past);
		ui_say(ui, true, "cannot rewind to %s: %s", clock, e.msg);
		return;
	}
	past_chain(ui);
	ui->past.cfg = &ui->s->cfg;
	ui->past.no_sync = ui->opts.read_only;
	domains_rewind(&ui->past, ui->bus, at_ms);
	ui->view = &ui->past;
	ui_say(ui, false, "viewing %s (rebuilt in %lld ms); [ ] step, l: live", clock,
	       (long long)(mono_ms() - t0));
}

/* Step the view by ms from the moment shown (now when live). */
static void
step(struct ui *ui, int64_t ms)
{
	travel(ui, (ui->view->at_ms ? ui->view->at_ms : wall_ms()) + ms);
}

static void k_back1(struct ui *ui) { step(ui, -STEP_MS); }
static void k_fwd1(struct ui *ui) { if (ui->view->at_ms) step(ui, STEP_MS); }
static void k_back10(struct ui *ui) { step(ui, -BIG_STEP_MS); }
static void k_fwd10(struct ui *ui) { if (ui->view->at_ms) step(ui, BIG_STEP_MS); }
static void k_live(struct ui *ui) { go_live(ui); }

/* --- keys ------------------------------------------------------------------ */

static struct pane *
focused(struct ui *ui)
{
	return &ui->panes[ui->focus];
}

/* Move the selection (panes) or scroll (views) by delta rows. */
static void
move(struct ui *ui, long long delta)
{
	struct fleet *f = ui->view;
	struct pane *p = focused(ui);
	long long to;

	if (ui->depth) {
		struct docview *d = ui->stack[ui->depth - 1];
		to = (long long)d->top + delta;
		d->top = to < 0 ? 0 : (size_t)to;
		return;
	}
	pthread_mutex_lock(&f->mu);
	pane_sync(f, p);
	to = (long long)p->sel + delta;
	pane_select(p, to < 0 ? 0 : (size_t)to);
	pthread_mutex_unlock(&f->mu);
}

/* Rows a page moves. */
static long long
page(struct ui *ui)
{
	int h = ui->depth ? ui->rows - 4 : focused(ui)->h - 3;

	return h > 1 ? h : 1;
}

static void k_down(struct ui *ui) { move(ui, 1); }
static void k_up(struct ui *ui) { move(ui, -1); }
static void k_pgdn(struct ui *ui) { move(ui, page(ui)); }
static void k_pgup(struct ui *ui) { move(ui, -page(ui)); }
static void k_home(struct ui *ui) { move(ui, -(1LL << 40)); }
static void k_end(struct ui *ui) { move(ui, 1LL << 40); }
static void k_quit(struct ui *ui) { ui->quit = true; evloop_stop(ui->loop); }
static void k_help(struct ui *ui) { ui_help(ui); }

static void
k_next(struct ui *ui)
{
	ui->focus = (ui->focus + 1) % ui->npanes;
}

static void
k_prev(struct ui *ui)
{
	ui->focus = (ui->focus + ui->npanes - 1) % ui->npanes;
}

static void
k_prompt(struct ui *ui)
{
	ui->mode = MODE_PROMPT;
	buf_reset(&ui->line);
	ui->hpos = ui->nhistory;
}

static void
k_filter(struct ui *ui)
{
	ui->mode = MODE_FILTER;
	buf_reset(&ui->line);
	buf_adds(&ui->line, focused(ui)->filter);
}

/* Esc: back from a view, else clear the filter. */
static void
k_back(struct ui *ui)
{
	struct pane *p = focused(ui);

	if (ui->depth) {
		ui_pop(ui);
	} else if (p->filter[0]) {
		p->filter[0] = '\0';
		p->stale = true;
	}
}

/* s: sort on the next column that can be; S: the other way. */
static void
k_sort(struct ui *ui)
{
	struct pane *p = focused(ui);
	size_t i;

	for (i = 1; i <= p->src->ncols; i++) {
		int c = (p->sort + (int)i) % (int)p->src->ncols;
		if (p->src->sortable & (1u << c)) {
			p->sort = c;
			break;
		}
	}
	p->stale = true;
	ui_say(ui, false, "%s sorted by %s", p->src->name, p->src->cols[p->sort].head);
}

static void
k_reverse(struct ui *ui)
{
	focused(ui)->desc = !focused(ui)->desc;
	focused(ui)->stale = true;
}

/* Enter: open what the selected row leads to (a task's record, a trace). */
static void
k_enter(struct ui *ui)
{
	struct fleet *f = ui->view;
	struct pane *p = focused(ui);
	struct buf cmd = BUF_INIT;
	bool ok = false;

	if (ui->depth) {
		ui_drill_doc(ui);
		return;
	}
	pthread_mutex_lock(&f->mu);
	pane_sync(f, p);
	if (p->n)
		ok = p->src->drill(p->items[p->sel], &cmd);
	pthread_mutex_unlock(&f->mu);
	if (ok)
		ui_run_line(ui, cmd.s);
	else
		ui_say(ui, false, "nothing to open here");
	buf_release(&cmd);
}

/* The selected task (copied, under the lock), or false when the tasks pane has none. */
static bool
selected_task(struct ui *ui, struct task *out)
{
	struct fleet *f = ui->view;
	struct pane *p = focused(ui);
	const struct trow *r;
	bool ok = false;

	if (strcmp(p->src->name, "tasks") != 0) {
		ui_say(ui, true, "select a task in the tasks pane first (Tab)");
		return false;
	}
	pthread_mutex_lock(&f->mu);
	pane_sync(f, p);
	if (p->n && (r = p->items[p->sel]) != NULL && !r->bad.key) {
		task_init(out);
		out->id = xstrdup(r->t.id);
		out->owner = xstrdup_or_null(r->t.owner);
		out->token = r->t.token;
		out->state = r->t.state;
		ok = true;
	}
	pthread_mutex_unlock(&f->mu);
	if (!ok)
		ui_say(ui, true, "no task selected");
	return ok;
}

/* Ask before a change: what 'y' runs, and the question. */
static void
ask(struct ui *ui, const char *cmdline, const char *question)
{
	ui_free_words(ui->confirm_argv);
	ui->confirm_argv = ui_split(cmdline, NULL);
	snprintf(ui->confirm_text, sizeof ui->confirm_text, "%s", question);
	ui->mode = MODE_CONFIRM;
}

/* One of the task actions: the command it runs, the question it asks. */
static void
task_action(struct ui *ui, const char *verb, bool owner)
{
	struct buf cmd = BUF_INIT, q = BUF_INIT;
	struct task t;

	if (!selected_task(ui, &t))
		return;
	if (owner && (t.state != TASK_CLAIMED || !t.owner)) {
		ui_say(ui, true, "task '%s' is %s: only a claimed task can be released", t.id,
		       task_state_name(t.state));
	} else {
		buf_addf(&cmd, "--trace task %s %s", verb, t.id);
		if (owner)
			buf_addf(&cmd, " --swarm %s --token %llu", t.owner,
				 (unsigned long long)t.token);
		buf_addf(&q, "%s task '%s'%s%s%s? (witnessed)", verb, t.id, owner ? " held by '" : "",
			 owner ? t.owner : "", owner ? "'" : "");
		ask(ui, cmd.s, q.s);
	}
	task_release(&t);
	buf_release(&cmd);
	buf_release(&q);
}

/* The selected swarm's id (and its row's state), or false when the swarms pane has none. */
static bool
selected_swarm(struct ui *ui, char *id, size_t len, enum breaker_state *breaker, bool *retired)
{
	struct fleet *f = ui->view;
	struct pane *p = focused(ui);
	const struct srow *r;
	bool ok = false;

	if (strcmp(p->src->name, "swarms") != 0) {
		ui_say(ui, true, "select a swarm in the swarms pane first (Tab)");
		return false;
	}
	pthread_mutex_lock(&f->mu);
	pane_sync(f, p);
	if (p->n && (r = p->items[p->sel]) != NULL && r->have_rec) {
		snprintf(id, len, "%s", r->id);
		*breaker = r->sw.st.breaker;
		*retired = r->sw.st.retired;
		ok = true;
	}
	pthread_mutex_unlock(&f->mu);
	if (!ok)
		ui_say(ui, true, "no swarm selected");
	return ok;
}

/* D: retire the selected swarm (it may no longer claim). */
static void
k_retire(struct ui *ui)
{
	char id[SWARM_ID_MAX + 1], cmd[256], q[256];
	enum breaker_state br;
	bool retired;

	if (!selected_swarm(ui, id, sizeof id, &br, &retired))
		return;
	if (retired) {
		ui_say(ui, true, "swarm '%s' is retired already", id);
		return;
	}
	snprintf(cmd, sizeof cmd, "--trace swarm retire %s --why=retired-from-the-console", id);
	snprintf(q, sizeof q, "retire swarm '%s'? it may no longer claim work (witnessed)", id);
	ask(ui, cmd, q);
}

/* b: close the selected swarm's circuit breaker. */
static void
k_reset(struct ui *ui)
{
	char id[SWARM_ID_MAX + 1], cmd[256], q[256];
	enum breaker_state br;
	bool retired;

	if (!selected_swarm(ui, id, sizeof id, &br, &retired))
		return;
	if (br == BREAKER_CLOSED) {
		ui_say(ui, true, "swarm '%s': its breaker is closed already", id);
		return;
	}
	snprintf(cmd, sizeof cmd, "--trace governor reset %s", id);
	snprintf(q, sizeof q, "reset the %s breaker of swarm '%s'? (witnessed)", breaker_name(br),
		 id);
	ask(ui, cmd, q);
}

static void k_cancel(struct ui *ui) { task_action(ui, "cancel", false); }
static void k_requeue(struct ui *ui) { task_action(ui, "requeue", false); }
static void k_release(struct ui *ui) { task_action(ui, "release", true); }

static void
k_redraw(struct ui *ui)
{
	ui->full_redraw = true;
}

const struct key_def key_table[] = {
	{ 'j', "j, Down", "next row (scroll a view)", KW_PANE | KW_DOC, false, k_down },
	{ TK_DOWN, NULL, NULL, KW_PANE | KW_DOC, false, k_down },
	{ 'k', "k, Up", "previous row", KW_PANE | KW_DOC, false, k_up },
	{ TK_UP, NULL, NULL, KW_PANE | KW_DOC, false, k_up },
	{ TK_PGDN, "PgDn, Ctrl-F", "a page down", KW_PANE | KW_DOC, false, k_pgdn },
	{ TK_CTRL('f'), NULL, NULL, KW_PANE | KW_DOC, false, k_pgdn },
	{ TK_PGUP, "PgUp, Ctrl-B", "a page up", KW_PANE | KW_DOC, false, k_pgup },
	{ TK_CTRL('b'), NULL, NULL, KW_PANE | KW_DOC, false, k_pgup },
	{ 'g', "g, Home", "first row", KW_PANE | KW_DOC, false, k_home },
	{ TK_HOME, NULL, NULL, KW_PANE | KW_DOC, false, k_home },
	{ 'G', "G, End", "last row", KW_PANE | KW_DOC, false, k_end },
	{ TK_END, NULL, NULL, KW_PANE | KW_DOC, false, k_end },
	{ TK_TAB, "Tab", "next pane", KW_PANE, false, k_next },
	{ TK_BTAB, "Shift-Tab", "previous pane", KW_PANE, false, k_prev },
	{ TK_ENTER, "Enter", "open: a task's record and history; from there or a witness "
	  "entry, its trace's witness chain", KW_PANE | KW_DOC, false, k_enter },
	{ TK_ESC, "Esc", "back to the previous view; in a pane, clear the filter",
	  KW_PANE | KW_DOC, false, k_back },
	{ '/', "/", "filter the pane's rows (text in any column; Enter keeps, Esc clears)",
	  KW_PANE, false, k_filter },
	{ ':', ":", "run any ifctl command here (same table, --read-only, witnessing and "
	  "falsify as the CLI)", KW_PANE | KW_DOC, false, k_prompt },
	{ 's', "s", "sort on the next column", KW_PANE, false, k_sort },
	{ 'S', "S", "reverse the sort", KW_PANE, false, k_reverse },
	{ 'x', "x", "cancel the selected task (asks first; witnessed)", KW_PANE, true, k_cancel },
	{ 'r', "r", "requeue the selected failed or dead task (asks first; witnessed)", KW_PANE,
	  true, k_requeue },
	{ 'R', "R", "release the selected claimed task as its owner (asks first; witnessed)",
	  KW_PANE, true, k_release },
	{ 'D', "D", "retire the selected swarm (asks first; witnessed)", KW_PANE, true,
	  k_retire },
	{ 'b', "b", "reset the selected swarm's circuit breaker (asks first; witnessed)",
	  KW_PANE, true, k_reset },
	{ '[', "[", "rewind a minute: every pane as the fleet was", KW_PANE, false, k_back1 },
	{ ']', "]", "forward a minute (to live at the present)", KW_PANE, false, k_fwd1 },
	{ '{', "{", "rewind ten minutes", KW_PANE, false, k_back10 },
	{ '}', "}", "forward ten minutes", KW_PANE, false, k_fwd10 },
	{ 'l', "l", "back to live", KW_PANE, false, k_live },
	{ '?', "?", "this help", KW_PANE | KW_DOC, false, k_help },
	{ TK_F1, NULL, NULL, KW_PANE | KW_DOC, false, k_help },
	{ TK_CTRL('l'), "Ctrl-L", "redraw the screen", KW_PANE | KW_DOC, false, k_redraw },
	{ 'q', "q", "quit (Ctrl-C too)", KW_PANE | KW_DOC, false, k_quit },
	{ 0, NULL, NULL, 0, false, NULL },
};

/* A key in normal mode: the table's action for where the operator is. */
static void
normal_key(struct ui *ui, int key)
{
	unsigned where = ui->depth ? KW_DOC : KW_PANE;
	const struct key_def *k;
	char clock[16];

	for (k = key_table; k->fn; k++) {
		if (k->key != key || !(k->where & where))
			continue;
		if (k->mutates && ui->view->at_ms) {
			clock_text(clock, ui->view->at_ms);
			ui_say(ui, true, "refused: viewing the past (%s); press l to return to live "
			       "first", clock);
			return;
		}
		ui->message[0] = '\0';
		k->fn(ui);
		return;
	}
}

/* Remove the last character (UTF-8) of the line. */
static void
line_backspace(struct buf *b)
{
	size_t n = b->len;

	while (n > 0 && ((unsigned char)b->s[n - 1] & 0xc0) == 0x80)
		n--;
	buf_truncate(b, n > 0 ? n - 1 : 0);
}

/* ':' history: Up and Down. */
static void
history_step(struct ui *ui, int dir)
{
	if (dir < 0 && ui->hpos > 0)
		ui->hpos--;
	else if (dir > 0 && ui->hpos < ui->nhistory)
		ui->hpos++;
	buf_reset(&ui->line);
	if (ui->hpos < ui->nhistory)
		buf_adds(&ui->line, ui->history[ui->hpos]);
}

/* Keep a ':' line for Up. */
static void
history_add(struct ui *ui, const char *line)
{
	if (ui->nhistory == UI_HISTORY_MAX) {
		free(ui->history[0]);
		memmove(ui->history, ui->history + 1, (UI_HISTORY_MAX - 1) * sizeof *ui->history);
		ui->nhistory--;
	}
	ui->history[ui->nhistory++] = xstrdup(line);
}

/* Enter at the prompt or the filter. */
static void
line_done(struct ui *ui)
{
	struct pane *p = focused(ui);
	char *text = xstrdup(ui->line.s);

	if (ui->mode == MODE_FILTER) {
		snprintf(p->filter, sizeof p->filter, "%s", text);
		p->stale = true;
		ui->mode = MODE_NORMAL;
	} else {
		ui->mode = MODE_NORMAL;
		if (*text) {
			history_add(ui, text);
			ui_run_line(ui, text);
		}
	}
	free(text);
}

/* A key while a line is being typed. */
static void
line_key(struct ui *ui, int key)
{
	if (key == TK_ENTER) {
		line_done(ui);
		return;
	}
	if (key == TK_ESC) {
		if (ui->mode == MODE_FILTER) {
			focused(ui)->filter[0] = '\0';
			focused(ui)->stale = true;
		}
		ui->mode = MODE_NORMAL;
	} else if (key == TK_BACKSPACE) {
		line_backspace(&ui->line);
	} else if (key == TK_CTRL('u')) {
		buf_reset(&ui->line);
	} else if ((key == TK_UP || key == TK_DOWN) && ui->mode == MODE_PROMPT) {
		history_step(ui, key == TK_UP ? -1 : 1);
	} else if (key >= 0x20 && key < 0x100 && key != 0x7f && ui->line.len < 1024) {
		buf_addc(&ui->line, (char)key);
	}
	if (ui->mode == MODE_FILTER) {	/* the filter applies as it is typed */
		snprintf(focused(ui)->filter, sizeof focused(ui)->filter, "%s", ui->line.s);
		focused(ui)->stale = true;
	}
}

/* y runs the action asked about; anything else does not. */
static void
confirm_key(struct ui *ui, int key)
{
	char **argv = ui->confirm_argv;

	ui->mode = MODE_NORMAL;
	ui->confirm_argv = NULL;
	if (key == 'y' || key == 'Y')
		ui_run(ui, argv, false);
	else
		ui_say(ui, false, "not done: %s", ui->confirm_text);
	ui_free_words(argv);
}

static void
on_key(struct ui *ui, int key)
{
	if (key == TK_RESIZE) {
		ui->resized = true;
		return;
	}
	if (ui->mode == MODE_PROMPT || ui->mode == MODE_FILTER)
		line_key(ui, key);
	else if (ui->mode == MODE_CONFIRM)
		confirm_key(ui, key);
	else
		normal_key(ui, key);
}

/* --- the loop ---------------------------------------------------------------- */

/* The terminal has input: every key waiting, then one paint. */
static void
on_input(struct evloop *l, int fd, short revents, void *arg)
{
	struct ui *ui = arg;
	int64_t t0 = mono_us(), c0 = thread_cpu_us();
	size_t big0 = big_collects;
	int key, n = 0;

	(void)l;
	(void)fd;
	if (revents & (POLLHUP | POLLERR)) {
		k_quit(ui);
		return;
	}
	painting_keys = true;	/* keys move among the rows collected; the tick sorts again */
	while (!ui->quit && (key = term_key()) != TK_NONE && n++ < 256)
		on_key(ui, key);
	if (ui->quit) {
		painting_keys = false;
		return;
	}
	if (ui->full_redraw || ui->resized) {
		term_resize();
		ui->screen_epoch++;
		ui->full_redraw = ui->resized = false;
	}
	ui_paint_now(ui);
	painting_keys = false;
	if (ui->opts.stats && n > 0) {
		if (ui->nkey == ui->keycap)
			xgrow(&ui->key_us, &ui->keycap, ui->nkey + 1, sizeof *ui->key_us);
		if (ui->nkey == ui->cpucap)
			xgrow(&ui->key_cpu_us, &ui->cpucap, ui->nkey + 1, sizeof *ui->key_cpu_us);
		ui->key_us[ui->nkey] = mono_us() - t0;
		ui->key_cpu_us[ui->nkey++] = thread_cpu_us() - c0;
		ui->key_big_collects += big_collects != big0;
	}
}

/*
 * --stats: what the benchmark reads, one "name value" a line: the wall
 * times of the first frame and of the first frame with the tasks' snapshot,
 * the frames painted, and key-to-screen in microseconds (from the terminal
 * becoming readable to doupdate() returned; nearest-rank percentiles).
 */
static void
write_stats(struct ui *ui)
{
	FILE *f = fopen(ui->opts.stats, "w");

	if (f == NULL)
		return;
	fprintf(f, "start_wall_ms %lld\nfirst_frame_wall_ms %lld\nlive_wall_ms %lld\n"
		"synced_wall_ms %lld\nframes %llu\nkeys %zu\n", (long long)ui->start_ms,
		(long long)ui->first_frame_ms, (long long)ui->live_ms,
		(long long)ui->synced_ms,
		(unsigned long long)ui->frames, ui->nkey);
	if (ui->nkey) {
		sort_i64(ui->key_us, ui->nkey);
		fprintf(f, "key_us_p50 %lld\nkey_us_p99 %lld\nkey_us_max %lld\n",
			(long long)percentile(ui->key_us, ui->nkey, 50),
			(long long)percentile(ui->key_us, ui->nkey, 99),
			(long long)ui->key_us[ui->nkey - 1]);
		sort_i64(ui->key_cpu_us, ui->nkey);
		fprintf(f, "key_cpu_us_p50 %lld\nkey_cpu_us_p99 %lld\nkey_cpu_us_max %lld\n"
			"key_big_collects %zu\n", (long long)percentile(ui->key_cpu_us, ui->nkey, 50),
			(long long)percentile(ui->key_cpu_us, ui->nkey, 99),
			(long long)ui->key_cpu_us[ui->nkey - 1], ui->key_big_collects);
	}
	fclose(f);
}

/* The starter thread: the feeds' watches, then a wake. */
static void *
starter_main(void *arg)
{
	struct ui *ui = arg;
	struct err e = ERR_INIT;
	enum status st = fleet_start(&ui->live, ui->bus, &e);

	pthread_mutex_lock(&ui->live.mu);
	ui->starting = false;
	ui->start_err = st == ST_OK ? (struct err)ERR_INIT : e;
	ui->live.dirty |= FLEET_D_HEADER;
	pthread_mutex_unlock(&ui->live.mu);
	evloop_wake(ui->loop);
	return NULL;
}

/* Start the feeds off the loop's thread (once at a time); the loop goes on drawing. */
static void
start_feeds(struct ui *ui)
{
	if (ui->starter_made) {
		pthread_join(ui->starter, NULL);
		ui->starter_made = false;
	}
	pthread_mutex_lock(&ui->live.mu);
	ui->starting = true;
	pthread_mutex_unlock(&ui->live.mu);
	if (pthread_create(&ui->starter, NULL, starter_main, ui) == 0) {
		ui->starter_made = true;
		return;
	}
	pthread_mutex_lock(&ui->live.mu);
	ui->starting = false;
	pthread_mutex_unlock(&ui->live.mu);
	ui_say(ui, true, "cannot start the feeds: no thread");
}

/* The feeds say the model changed (or a signal came). */
static void
on_wake(struct evloop *l, void *arg)
{
	struct ui *ui = arg;
	bool dirty, restart = false;

	if (got_quit) {
		k_quit(ui);
		return;
	}
	if (got_winch) {
		got_winch = 0;
		term_resize();
		ui->screen_epoch++;
		ui_paint_now(ui);
		return;
	}
	pthread_mutex_lock(&ui->live.mu);
	dirty = ui->live.dirty != 0;
	if (ui->live.reconnects > ui->reconnects_seen) {
		ui->reconnects_seen = ui->live.reconnects;
		if (ui->live.reconnects > 1 || ui->live.tasks_w)
			ui->reconnect_banner_until = wall_ms() + BANNER_MS;
	}
	restart = ui->live.conn == BUS_CONNECTED && ui->live.tasks_w == NULL && !ui->starting;
	if (ui->start_err.code != ST_OK) {
		ui_say(ui, true, "cannot watch the fleet: %s", ui->start_err.msg);
		ui->start_err = (struct err)ERR_INIT;
		restart = false;	/* the next change of connection tries again */
	}
	pthread_mutex_unlock(&ui->live.mu);
	if (restart)
		start_feeds(ui);
	(void)l;
	if (dirty)
		ui_paint_soon(ui);
}

/* The one-second tick: ages, leases, the clock; the benchmark's exit. */
static int64_t
on_tick(struct evloop *l, uint64_t id, void *arg)
{
	struct ui *ui = arg;
	static int64_t started;

	(void)id;
	if (started == 0)
		started = mono_ms();
	if (ui->opts.exit_after_ms > 0 && mono_ms() - started >= ui->opts.exit_after_ms) {
		evloop_stop(l);
		return EVLOOP_DONE;
	}
	ui_paint_soon(ui);
	return TICK_MS;
}

/* The model's wake hook: any thread. */
static void
fleet_wake(void *arg)
{
	evloop_wake(arg);
}

/* Notices of commands run at ':' go to the status line, not the terminal. */
static void
ui_notice(void *arg, enum notice_level level, const char *line)
{
	struct ui *ui = arg;

	(void)level;
	ui_say(ui, false, "%s", line);
}

/* The panes of the table, the focused one first when asked. */
static enum status
ui_panes(struct ui *ui, struct err *e)
{
	size_t i;

	for (i = 0; i < pane_count; i++) {
		struct pane *p = &ui->panes[ui->npanes++];
		p->src = pane_table[i];
		p->sort = p->src->sort;
		p->desc = p->src->desc;
		if (ui->opts.pane && !strcmp(ui->opts.pane, p->src->name))
			ui->focus = i;
	}
	if (ui->opts.pane && strcmp(ui->opts.pane, ui->panes[ui->focus].src->name) != 0)
		return err_set(e, ST_USAGE, "--pane '%s': no such pane (tasks, swarms, budget, slo, "
			       "witness)", ui->opts.pane);
	return ST_OK;
}

/* Connect with the fleet's state callback, reconnecting for ever, starting even when down. */
static enum status
ui_connect(struct ui *ui, struct err *e)
{
	struct bus_opts o;
	enum status st;

	if (ui->s->bus) {
		ui->bus = ui->s->bus;
		return ST_OK;
	}
	bus_opts_from_config(&o, &ui->s->cfg);
	o.on_state = fleet_on_state;
	o.state_arg = &ui->live;
	o.retry_on_failed_connect = true;
	o.max_reconnects = -1;
	st = bus_open(&ui->s->bus, &o, e);
	bus_opts_release(&o);
	if (st == ST_OK) {
		ui->s->connects++;
		ui->bus = ui->s->bus;
	}
	return st;
}

static void
ui_release(struct ui *ui)
{
	size_t i;

	while (ui->depth)
		ui_pop(ui);
	fleet_stop(&ui->live);
	if (ui->view == &ui->past)
		fleet_release(&ui->past);
	fleet_release(&ui->live);
	for (i = 0; i < ui->npanes; i++) {
		free(ui->panes[i].items);
		free(ui->panes[i].sel_id);
	}
	for (i = 0; i < ui->nhistory; i++)
		free(ui->history[i]);
	ui_free_words(ui->confirm_argv);
	free(ui->key_us);
	free(ui->key_cpu_us);
	buf_release(&ui->line);
	evloop_free(ui->loop);
}

/* Signals for the console's life; restored after. */
static void
catch_signals(struct evloop *l, struct sigaction *saved)
{
	struct sigaction sa = { .sa_handler = on_signal };
	static const int sigs[] = { SIGWINCH, SIGINT, SIGTERM };
	size_t i;

	got_quit = got_winch = 0;
	sig_loop = l;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &sa, &saved[i]);
}

static void
restore_signals(const struct sigaction *saved)
{
	sigaction(SIGWINCH, &saved[0], NULL);
	sigaction(SIGINT, &saved[1], NULL);
	sigaction(SIGTERM, &saved[2], NULL);
	sig_loop = NULL;
}

/* Run the loop on the terminal until quit. */
static enum status
ui_loop(struct ui *ui, struct err *e)
{
	struct sigaction saved[3];
	enum status st;

	if ((st = term_open(&ui->theme, ui->opts.color, e)) != ST_OK)
		return st;
	catch_signals(ui->loop, saved);
	evloop_add_fd(ui->loop, STDIN_FILENO, POLLIN, on_input, ui);
	evloop_on_wake(ui->loop, on_wake, ui);
	evloop_add_timer(ui->loop, TICK_MS, on_tick, ui);
	paint(ui);	/* the first frame: before the feeds, whose consumers take a while */
	if (bus_get_state(ui->bus) == BUS_CONNECTED) {
		fleet_prefill(&ui->live, ui->bus, ui->rows > 0 ? (size_t)ui->rows : 60);
		paint(ui);	/* rows before the snapshot: what changed last */
		start_feeds(ui);
	}
	if (ui->opts.at_ms > 0)
		travel(ui, ui->opts.at_ms);
	ui_paint_now(ui);
	st = evloop_run(ui->loop, e);
	restore_signals(saved);
	term_close();
	if (ui->opts.stats)
		write_stats(ui);
	return st;
}

enum status
console_run(struct session *s, const struct console_opts *o, struct err *e)
{
	struct ui ui = { .s = s, .opts = *o, .start_ms = wall_ms() };
	session_notice_fn notice = s->notice;
	void *notice_arg = s->notice_arg;
	bool own_bus = s->bus == NULL;
	enum status st;

	fleet_init(&ui.live);
	ui.view = &ui.live;
	buf_init(&ui.line);
	theme_default(&ui.theme);
	st = o->theme ? theme_load(&ui.theme, o->theme, o->theme_dirs, e) : ST_OK;
	if (st == ST_OK)
		st = ui_panes(&ui, e);
	if (st == ST_OK)
		st = evloop_new(&ui.loop, e);
	if (st == ST_OK)
		st = ui_connect(&ui, e);
	if (st != ST_OK) {
		if (own_bus)
			session_drop_bus(s);
		ui_release(&ui);
		return st;
	}
	ui.live.cfg = &s->cfg;
	ui.live.no_sync = o->read_only;
	ui.live.wake = fleet_wake;
	ui.live.wake_arg = ui.loop;
	s->notice = ui_notice;
	s->notice_arg = &ui;
	st = ui_loop(&ui, e);
	s->notice = notice;
	s->notice_arg = notice_arg;
	if (ui.starter_made)
		pthread_join(ui.starter, NULL);
	ui.starter_made = false;
	ui.live.wake = NULL;
	fleet_stop(&ui.live);
	if (own_bus)	/* its state callback points at this fleet */
		session_drop_bus(s);
	ui_release(&ui);
	return st;
}
