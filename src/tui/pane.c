/* Pane formatting: see pane.h. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include "core/util.h"
#include "tui/pane.h"

/* One unit of a duration: its length in ms and its letter, longest first. */
static const struct {
	int64_t ms;
	char unit;
} dur_units[] = {
	{ 86400000, 'd' }, { 3600000, 'h' }, { 60000, 'm' }, { 1000, 's' },
};

void
pane_fmt_dur(char out[16], int64_t ms)
{
	size_t i;

	if (ms < 0) {
		snprintf(out, 16, "-");
		return;
	}
	for (i = 0; i < ARRAY_SIZE(dur_units) - 1 && ms < dur_units[i].ms; i++)
		;
	snprintf(out, 16, "%lld%c", (long long)(ms / dur_units[i].ms % 100000000),
		 dur_units[i].unit);
}

/* The bytes and display width of the character at s (at least one byte). */
static size_t
char_at(const char *s, size_t left, int *cols)
{
	mbstate_t st;
	wchar_t wc;
	size_t n;
	int w;

	if ((unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f) {	/* ASCII: the most */
		*cols = 1;
		return 1;
	}
	memset(&st, 0, sizeof st);
	n = mbrtowc(&wc, s, left, &st);
	if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
		*cols = 1;
		return 1;
	}
	w = wcwidth(wc);
	*cols = w < 0 ? 1 : w;
	return n;
}

int
pane_text_width(const char *s)
{
	size_t len = strlen(s), i = 0;
	int total = 0, w;

	while (i < len) {
		i += char_at(s + i, len - i, &w);
		total += w;
	}
	return total;
}

void
pane_fit(struct buf *out, const char *s, int width, bool right)
{
	size_t len = strlen(s), i = 0, n;
	int used = 0, w, pad, have;

	if (width <= 0)
		return;
	if ((have = pane_text_width(s)) <= width) {
		pad = width - have;
		if (right)
			while (pad-- > 0)
				buf_addc(out, ' ');
		buf_adds(out, s);
		if (!right)
			while (pad-- > 0)
				buf_addc(out, ' ');
		return;
	}
	while (i < len) {	/* clip, leaving room for the marker */
		n = char_at(s + i, len - i, &w);
		if (used + w > width - 1)
			break;
		buf_add(out, s + i, n);
		used += w;
		i += n;
	}
	while (used++ < width - 1)
		buf_addc(out, ' ');
	buf_addc(out, '~');
}

void
pane_widths(const struct pane_col *cols, size_t n, int width, int *w)
{
	int need = 0, flex = -1;
	size_t i;

	for (i = 0; i < n; i++) {
		w[i] = cols[i].width;
		need += w[i] + (i ? 1 : 0);
		if ((cols[i].flags & PC_FLEX) && flex < 0)
			flex = (int)i;
	}
	for (i = n; need > width && i-- > 0;)	/* optional ones first, from the right */
		if ((cols[i].flags & PC_OPTIONAL) && w[i]) {
			need -= w[i] + 1;
			w[i] = 0;
		}
	for (i = n; need > width && i-- > 1;)	/* then trailing ones, never the first */
		if (w[i] && (int)i != flex) {
			need -= w[i] + 1;
			w[i] = 0;
		}
	if (flex > 0 && need > width) {	/* then the flexible one */
		need -= w[flex] + 1;
		w[flex] = 0;
	}
	if (flex >= 0 && w[flex] && need < width)
		w[flex] += width - need;
	if (need > width)
		w[0] = width;
}

/* A time cell (RFC 3339) as an age, a time left or a clock time. */
static void
time_cell(enum pane_fmt fmt, const char *v, int64_t now_ms, struct buf *out)
{
	char text[32];
	int64_t ms;
	time_t secs;
	struct tm tm;

	if (!parse_time_ms(v, &ms)) {
		text_visible(out, v, 0);
		return;
	}
	if (fmt == PF_CLOCK) {
		secs = (time_t)(ms / 1000);
		localtime_r(&secs, &tm);
		strftime(text, sizeof text, "%H:%M:%S", &tm);
	} else if (fmt == PF_LEFT && ms <= now_ms) {
		snprintf(text, sizeof text, "expired");
	} else {
		pane_fmt_dur(text, fmt == PF_AGE ? now_ms - ms : ms - now_ms);
	}
	buf_adds(out, text);
}

void
pane_cell(const struct pane_col *c, const struct rowset *rs, size_t row, int64_t now_ms,
	  struct buf *out)
{
	const char *v;

	if ((size_t)c->vcol >= rs->ncols || row >= rs->nrows)
		return;
	if (c->fmt != PF_TEXT && (v = rows_get(rs, row, (size_t)c->vcol)) != NULL) {
		time_cell(c->fmt, v, now_ms, out);
		return;
	}
	v = rows_get_shown(rs, row, (size_t)c->vcol);
	text_visible(out, v ? v : "-", 0);
}

void
pane_line(const struct pane_col *cols, size_t n, const int *w, const struct rowset *rs,
	  size_t row, int64_t now_ms, struct buf *out)
{
	struct buf cell = BUF_INIT;
	bool first = true;
	size_t i;

	for (i = 0; i < n; i++) {
		if (w[i] <= 0)
			continue;
		buf_reset(&cell);
		pane_cell(&cols[i], rs, row, now_ms, &cell);
		if (!first)
			buf_addc(out, ' ');
		pane_fit(out, cell.s ? cell.s : "", w[i], cols[i].flags & PC_RIGHT);
		first = false;
	}
	buf_release(&cell);
}

void
pane_header(const struct pane_col *cols, size_t n, const int *w, int sort, bool desc,
	    struct buf *out)
{
	struct buf head = BUF_INIT;
	bool first = true;
	size_t i;

	for (i = 0; i < n; i++) {
		if (w[i] <= 0)
			continue;
		buf_reset(&head);
		buf_adds(&head, cols[i].head);
		if ((int)i == sort)
			buf_adds(&head, desc ? "v" : "^");
		if (!first)
			buf_addc(out, ' ');
		pane_fit(out, head.s, w[i], cols[i].flags & PC_RIGHT);
		first = false;
	}
	buf_release(&head);
}
