/*
 * ifctl console: the live, full-screen view of the fleet (src/tui,
 * ifctl-console(1)).
 */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "core/util.h"
#include "tui/console.h"

/* A duration such as 90s, 5m, 2h, 1d in ms; false when it is not one. */
static bool
parse_ago(const char *s, int64_t *ms)
{
	static const struct { char unit; int64_t ms; } units[] = {
		{ 's', 1000 }, { 'm', 60000 }, { 'h', 3600000 }, { 'd', 86400000 },
	};
	char *end;
	long long n;
	size_t i;

	if (*s == '-')
		s++;
	n = strtoll(s, &end, 10);
	if (end == s || n < 0 || n > 365LL * 86400 || end[0] == '\0' || end[1] != '\0')
		return false;
	for (i = 0; i < ARRAY_SIZE(units); i++)
		if (units[i].unit == *end) {
			*ms = n * units[i].ms;
			return true;
		}
	return false;
}

/* HH:MM or HH:MM:SS today, local time (yesterday when that is still to come). */
static bool
parse_clock(const char *s, int64_t now_ms, int64_t *out)
{
	struct tm tm;
	time_t now = (time_t)(now_ms / 1000), t;
	const char *rest;

	localtime_r(&now, &tm);
	tm.tm_sec = 0;
	rest = strptime(s, "%H:%M", &tm);
	if (rest && *rest == ':')
		rest = strptime(rest + 1, "%S", &tm);
	if (rest == NULL || *rest)
		return false;
	tm.tm_isdst = -1;
	t = mktime(&tm);
	if (t > now)
		t -= 86400;
	*out = (int64_t)t * 1000;
	return true;
}

/*
 * --at: an RFC 3339 time, milliseconds since the epoch, a clock time today
 * (14:02 or 14:02:31) or how long ago (90s, 5m, 2h, 1d).
 */
static enum status
parse_at(struct cmd_ctx *ctx, int64_t *at)
{
	const char *v = cmd_opt(ctx, "at");
	int64_t now = wall_ms(), ago;

	*at = 0;
	if (v == NULL)
		return ST_OK;
	if (parse_ago(v, &ago))
		*at = now - ago;
	else if (!parse_clock(v, now, at) && !parse_time_ms(v, at))
		return err_set(&ctx->err, ST_USAGE, "--at '%s': not a time (2026-11-30T14:02:31Z, "
			       "14:02, or how long ago: 90s, 5m, 2h, 1d)", v);
	if (*at > now)
		return err_set(&ctx->err, ST_USAGE, "--at '%s': that is in the future", v);
	return ST_OK;
}

static enum status
validate_console(struct cmd_ctx *ctx)
{
	char why[160];
	int64_t at;
	enum status st;

	if ((st = parse_at(ctx, &at)) != ST_OK)
		return st;
	if (!console_can_run(why, sizeof why))
		return err_set(&ctx->err, ST_NO_TTY, "%s", why);
	return ST_OK;
}

/* Where named themes are: next to the binary's source tree, then installed. */
static void
theme_dirs(char *exe_dir, size_t len, const char **dirs)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	size_t k = 0;

	if (n > 0) {
		exe[n] = '\0';
		snprintf(exe_dir, len, "%s/../themes", dirname(exe));
		dirs[k++] = exe_dir;
	}
	dirs[k++] = "/usr/local/share/ifctl/themes";
	dirs[k++] = "/usr/share/ifctl/themes";
	dirs[k] = NULL;
}

static enum status
run_console(struct cmd_ctx *ctx)
{
	struct console_opts o = { 0 };
	const char *dirs[4];
	char exe_dir[4200];
	int64_t exit_after;
	enum status st;

	if ((st = parse_at(ctx, &o.at_ms)) != ST_OK ||
	    (st = cmd_opt_int(ctx, "exit-after", 0, 86400, 0, &exit_after)) != ST_OK)
		return st;
	theme_dirs(exe_dir, sizeof exe_dir, dirs);
	o.theme = cmd_opt(ctx, "theme");
	o.theme_dirs = dirs;
	o.color = ctx->color;
	o.read_only = ctx->op.read_only;
	o.pane = cmd_opt(ctx, "pane");
	o.exit_after_ms = exit_after * 1000;
	o.stats = cmd_opt(ctx, "stats");
	if (o.stats && (st = cmd_may_write_file(ctx, o.stats)) != ST_OK)
		return st;
	return console_run(ctx->session, &o, &ctx->err);
}

static const struct cmd_opt console_opts[] = {
	{ "theme", 0, "NAME|FILE", "colour theme: default, light, mono, okabe-ito, or a YAML file" },
	{ "at", 0, "TIME", "open rewound to TIME (RFC 3339, 14:02[:31] today, or 5m, 2h ago)" },
	{ "pane", 0, "NAME", "the pane focused first: tasks, swarms, budget, slo or witness" },
	{ "exit-after", 0, "SECONDS", "quit by itself after SECONDS (benchmarks, scripts)" },
	{ "stats", 0, "FILE", "write timings to FILE on the way out (bench/bench-console.sh)" },
	{ NULL, 0, NULL, NULL },
};

const struct cmd_entry cmd_console_entry = {
	.name = "console",
	.args = "[--theme NAME|FILE] [--at TIME] [--pane NAME]",
	.examples = "ifctl console\n"
		    "ifctl console --pane swarms --theme okabe-ito\n"
		    "ifctl console --at 14:02            # the fleet as it was at 14:02",
	.see_also = "demo, status, task watch, witness tail, swarm show, cost budget, slo status",
	.summary = "live full-screen view of the fleet: tasks, swarms, budget, SLO, witness; ':' runs commands; time travel",
	.flags = 0,
	.opts = console_opts,
	.validate = validate_console,
	.run = run_console,
};
