/*
 * ifctl console: the live, full-screen view of the fleet (ifctl-console(1)).
 *
 * One poll() loop (core/evloop.h) over the terminal, a wake fd fed by the
 * feeds' callbacks (KV and stream watches, the connection's state) and
 * SIGWINCH, and timers: data marks panes dirty and a paint follows at most
 * ten times a second; a key paints at once. ':' runs any ifctl command in
 * this process through cmd_dispatch() in the console's session, so
 * --read-only, --mode=falsify and witnessing behave as on the command line.
 */
#ifndef IF_TUI_CONSOLE_H
#define IF_TUI_CONSOLE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/session.h"
#include "core/status.h"

struct console_opts {
	const char *theme;		/* a name or a file; NULL: default */
	const char *const *theme_dirs;	/* where named themes are looked for; NULL-terminated */
	bool color;			/* false: attributes only (NO_COLOR, --color=never) */
	bool read_only;			/* every ':' command runs with --read-only */
	int64_t at_ms;			/* > 0: start rewound to this moment */
	const char *pane;		/* the pane focused first, or NULL */
	int64_t exit_after_ms;		/* > 0: quit after this long (benchmarks) */
	const char *stats;		/* write timings here on the way out (benchmarks), or NULL */
};

/*
 * Is there a terminal the console can use? false with why filled when
 * stdin or stdout is not a TTY or TERM is unset or dumb.
 */
bool console_can_run(char *why, size_t len);

/* Run the console in session s until the operator quits. */
enum status console_run(struct session *s, const struct console_opts *o, struct err *e);

#endif
