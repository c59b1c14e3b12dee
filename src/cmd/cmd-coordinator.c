/*
 * ifctl coordinator (alias task): push, claim, heartbeat, complete, fail,
 * release, cancel, requeue, list, show, watch, stats, bench.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "bench/coordbench.h"
#include "cmd/follow.h"
#include "cmd/gov-cmd.h"
#include "core/capability.h"
#include "core/buf.h"
#include "core/claimwhy.h"
#include "core/coord.h"
#include "core/json.h"
#include "core/price.h"
#include "core/taskdb.h"
#include "core/tasklist.h"
#include "core/taskview.h"
#include "core/util.h"

/* coordinator.retain must parse before anything is written under it. */
static enum status
check_retain(struct cmd_ctx *ctx)
{
	const char *v = cfg_str(&ctx->cfg, CK_COORD_RETAIN);
	int64_t ms;

	if (coord_duration_parse(v, &ms))
		return ST_OK;
	return err_set(&ctx->err, ST_BAD_VALUE, "coordinator.retain: '%s' is not a duration such "
		       "as 0, 90s, 12h or 7d", v);
}

/* Split "a,b,c" into a NULL-terminated vector (caller frees with free_list). */
static char **
split_list(const char *s, size_t *n)
{
	char **v, *copy, *tok, *save = NULL;

	*n = 0;
	if (s == NULL || *s == '\0')
		return xcalloc(1, sizeof *v);
	copy = xstrdup(s);
	v = xcalloc(strlen(s) + 2, sizeof *v);
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		v[(*n)++] = xstrdup(tok);
	free(copy);
	return v;
}

static void
free_list(char **v)
{
	size_t i;

	for (i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* An option's value as an error message may quote it: controls made visible. */
static enum status
bad_opt(struct cmd_ctx *ctx, enum status st, const char *name, const char *v, const char *why)
{
	struct buf vis = BUF_INIT;

	text_visible(&vis, v, 0);
	err_set(&ctx->err, st, "--%s: '%s' %s", name, vis.s, why);
	buf_release(&vis);
	return st;
}

/*
 * A swarm id option (--swarm, --to), when given, has the id syntax of a
 * task (task_id_valid): it is a KV key, a subject token, a table cell.
 */
static enum status
check_swarm_opt(struct cmd_ctx *ctx, const char *name)
{
	const char *v = cmd_opt(ctx, name);

	if (v && !task_id_valid(v))
		return bad_opt(ctx, ST_USAGE, name, v, "is not a swarm id (letters, digits, '-', "
			       "'_' and '.' between them, at most 128)");
	return ST_OK;
}

/*
 * -c: a comma-separated list of names with the id syntax; an empty one
 * (',,,' or "a,,b") is refused, not read as "no capabilities".
 */
static enum status
check_caps_opt(struct cmd_ctx *ctx)
{
	const char *v = cmd_opt(ctx, "capability"), *p;
	char name[130];
	size_t n;

	for (p = v; p; p = p[n] ? p + n + 1 : NULL) {
		n = strcspn(p, ",");
		if (n == 0)
			return bad_opt(ctx, ST_USAGE, "capability", v, "has an empty capability name");
		snprintf(name, sizeof name, "%.*s", (int)(n < sizeof name - 1 ? n : sizeof name - 1), p);
		if (n >= sizeof name - 1 || !capability_name_valid(name))
			return bad_opt(ctx, ST_USAGE, "capability", v, "holds a name that is not a "
				       "capability (category:name; letters, digits, '-', '_' and '.')");
	}
	return ST_OK;
}

/* --- output ------------------------------------------------------------ */

/* Warn that n records are invalid (they are never claimed). */
static void
warn_invalid(const struct cmd_ctx *ctx, size_t n, bool hidden)
{
	if (n && !ctx->quiet)
		session_notice(ctx->session, NOTICE_WARN, "ifctl: warning: %zu task record%s in "
			"%s %s invalid and never claimed%s", n, n == 1 ? "" : "s", COORD_BUCKET, n == 1 ? "is" : "are",
			hidden ? " (see 'ifctl task list --state invalid')" : "");
}

/* The full record of a task as the command's output. */
static void
add_task(struct cmd_ctx *ctx, const struct task *t)
{
	struct rowset *rs = task_view_record();

	task_view_add(rs, t);
	doc_add(&ctx->out, rs);
}

/* --- push and claim ----------------------------------------------------- */

/* Parse push's options into s; *caps and *payload are freed by the caller. */
static enum status
push_spec(struct cmd_ctx *ctx, struct task_spec *s, char ***caps, char **payload)
{
	const char *budget = cmd_opt(ctx, "budget");
	int64_t prio, attempts, micros;
	struct err pe = ERR_INIT;
	enum status st;

	memset(s, 0, sizeof *s);
	*caps = NULL;
	*payload = NULL;
	if ((st = check_caps_opt(ctx)) != ST_OK || (st = check_swarm_opt(ctx, "to")) != ST_OK ||
	    (st = gov_cmd_check_caps(ctx, "capability")) != ST_OK ||	/* the registry */
	    (st = cmd_opt_int(ctx, "priority", 0, TASK_PRIORITY_MAX, 5, &prio)) != ST_OK ||
	    (st = cmd_opt_int(ctx, "max-attempts", 1, TASK_ATTEMPTS_MAX, 0, &attempts)) != ST_OK ||
	    (st = cmd_opt_json(ctx, "payload", payload)) != ST_OK)
		return st;
	if (budget) {	/* exact micro-USD; the record holds USD */
		if (money_parse(budget, "--budget", &micros, &pe) != ST_OK)
			return err_set(&ctx->err, ST_USAGE, "%s", pe.msg);
		s->budget = (double)micros / (double)MICROS_PER_USD;
	}
	*caps = split_list(cmd_opt(ctx, "capability"), &s->ncaps);
	s->caps = *caps;
	s->id = ctx->argc > 0 ? ctx->argv[0] : cmd_opt(ctx, "id");
	s->title = cmd_opt(ctx, "title");
	s->priority = (int)prio;
	s->payload = *payload;
	s->idem = cmd_opt(ctx, "idempotency-key");
	s->to = cmd_opt(ctx, "to");
	s->max_attempts = (int)attempts;
	return coord_check_spec(s, &ctx->err);
}

static enum status
validate_push(struct cmd_ctx *ctx)
{
	struct task_spec s;
	char **caps, *payload;
	enum status st = push_spec(ctx, &s, &caps, &payload);

	free_list(caps);
	free(payload);
	return ctx->op.falsify ? ST_OK : st;	/* falsify lists it as a failed check */
}

static enum status
run_push(struct cmd_ctx *ctx)
{
	struct coord_cfg cc;
	struct task_spec s;
	struct task t;
	char **caps, *payload;
	bool existed = false;
	enum status st;

	st = push_spec(ctx, &s, &caps, &payload);
	if (st != ST_OK && st != ST_BAD_VALUE && st != ST_BAD_JSON) {
		free_list(caps);
		free(payload);
		return st;
	}
	coord_cfg_load(&ctx->cfg, &cc);
	st = coord_push(ctx->bus, &cc, &ctx->op, &s, &t, &existed, &ctx->err);
	if (st == ST_OK && !ctx->op.falsify) {
		why_add(&ctx->op, "idempotency", s.idem ? s.idem : "none",
			existed ? "key used before: the existing task is returned" : "new task");
		add_task(ctx, &t);
	}
	task_release(&t);
	free_list(caps);
	free(payload);
	return st;
}

/* Before connecting: the swarm id and the capability list. */
static enum status
validate_claim(struct cmd_ctx *ctx)
{
	enum status st;

	if ((st = cmd_need(ctx, "swarm")) != ST_OK || (st = check_swarm_opt(ctx, "swarm")) != ST_OK)
		return st;
	return check_caps_opt(ctx);
}

/*
 * Nothing was claimable: read the live set once (only on this path) so the
 * remedy can name what is in the way (claimwhy.h).
 */
static void
claim_remedy(struct cmd_ctx *ctx, const struct coord_cfg *cc, const struct claimer *c)
{
	struct coord_index *ix = NULL;
	struct err ie = ERR_INIT;

	if (coord_index_open(ctx->bus, cc, &ix, &ie) != ST_OK)
		return;
	claim_why_remedy(ix, c, &ctx->err);
	coord_index_free(ix);
}

static enum status
run_claim(struct cmd_ctx *ctx)
{
	struct coord_cfg cc;
	struct claimer c = { 0 };
	struct task t;
	char **caps;
	bool registered;
	enum status st;

	if ((st = cmd_need(ctx, "swarm")) != ST_OK)
		return st;
	coord_cfg_load(&ctx->cfg, &cc);
	c.swarm = cmd_opt(ctx, "swarm");
	/* the governor: a registered swarm's profile, retired, breaker (gov-cmd.h) */
	if ((st = gov_cmd_claimer(ctx, c.swarm, &caps, &c.ncaps, &registered)) != ST_OK) {
		free_list(caps);
		return st;
	}
	c.caps = caps;
	st = coord_claim_once(ctx->bus, &cc, &ctx->op, &c, &t, &ctx->err);
	if (st == ST_NOT_FOUND && !ctx->op.falsify)
		claim_remedy(ctx, &cc, &c);
	if (ctx->op.falsify && st == ST_NOT_FOUND)
		st = ST_OK;	/* the failed check says it */
	if (st == ST_OK && !ctx->op.falsify)
		add_task(ctx, &t);
	if (st == ST_OK && registered)
		gov_cmd_after_owner(ctx, c.swarm, GOV_OUTCOME_NONE);	/* last_seen */
	if (st == ST_OK)
		task_release(&t);
	free_list(caps);
	return st;
}

/* --- owner operations --------------------------------------------------- */

static enum status
validate_owner(struct cmd_ctx *ctx)
{
	int64_t token;
	char *result = NULL;
	enum status st;

	if (ctx->argc != 1)
		return err_set(&ctx->err, ST_USAGE, "%s %s needs one task id", ctx->parent->name,
			       ctx->entry->name);
	if ((st = cmd_need(ctx, "swarm")) != ST_OK || (st = check_swarm_opt(ctx, "swarm")) != ST_OK ||
	    (st = cmd_need(ctx, "token")) != ST_OK || (st = cmd_opt_int(ctx, "token", 1, INT64_MAX, 0, &token)) != ST_OK)
		return st;
	if (strcmp(ctx->entry->name, "complete") == 0 &&
	    (st = cmd_opt_json(ctx, "result", &result)) != ST_OK)
		return st;
	free(result);
	return ST_OK;
}

static enum status
run_owner(struct cmd_ctx *ctx, enum owner_verb verb)
{
	struct owner_req r = { .verb = verb };
	struct coord_cfg cc;
	struct task t;
	char *result = NULL;
	int64_t token;
	enum status st;

	if ((st = validate_owner(ctx)) != ST_OK)
		return st;
	cmd_opt_int(ctx, "token", 1, INT64_MAX, 0, &token);
	if (verb == OWNER_COMPLETE && (st = cmd_opt_json(ctx, "result", &result)) != ST_OK)
		return st;
	coord_cfg_load(&ctx->cfg, &cc);
	r.id = ctx->argv[0];
	r.swarm = cmd_opt(ctx, "swarm");
	r.token = (uint64_t)token;
	r.result = result;
	r.reason = verb == OWNER_FAIL ? cmd_opt(ctx, "reason") : NULL;
	r.no_retry = verb == OWNER_FAIL && cmd_flag(ctx, "no-retry");
	st = coord_owner(ctx->bus, &cc, &ctx->op, &r, &t, &ctx->err);
	if (st == ST_OK)	/* the governor: last_seen, the breaker's count */
		gov_cmd_after_owner(ctx, r.swarm, verb == OWNER_COMPLETE ? GOV_OUTCOME_SUCCESS :
				    verb == OWNER_FAIL ? GOV_OUTCOME_FAILURE : GOV_OUTCOME_NONE);
	if (st == ST_OK && !ctx->op.falsify)
		add_task(ctx, &t);
	if (st == ST_OK)
		task_release(&t);
	free(result);
	return st;
}

static enum status run_heartbeat(struct cmd_ctx *ctx) { return run_owner(ctx, OWNER_HEARTBEAT); }
static enum status run_complete(struct cmd_ctx *ctx) { return run_owner(ctx, OWNER_COMPLETE); }
static enum status run_fail(struct cmd_ctx *ctx) { return run_owner(ctx, OWNER_FAIL); }
static enum status run_release(struct cmd_ctx *ctx) { return run_owner(ctx, OWNER_RELEASE); }

/* --- cancel, requeue ---------------------------------------------------- */

/* An operator verb on the task named by the one argument. */
static enum status
run_operator(struct cmd_ctx *ctx, enum op_verb v)
{
	struct coord_cfg cc;
	struct task t;
	enum status st;

	if (ctx->argc != 1)
		return err_set(&ctx->err, ST_USAGE, "task %s needs one task id",
			       v == OP_CANCEL ? "cancel" : "requeue");
	coord_cfg_load(&ctx->cfg, &cc);
	st = coord_operator(ctx->bus, &cc, &ctx->op, v, ctx->argv[0], &t, &ctx->err);
	if (st == ST_OK && !ctx->op.falsify)
		add_task(ctx, &t);
	if (st == ST_OK)
		task_release(&t);
	return st;
}

static enum status run_cancel(struct cmd_ctx *ctx) { return run_operator(ctx, OP_CANCEL); }
static enum status run_requeue(struct cmd_ctx *ctx) { return run_operator(ctx, OP_REQUEUE); }

/* --- list, show, stats -------------------------------------------------- */

/* Parse option name's age ("90s", "7d") into *ms; 0 when not given. */
static enum status
opt_age(struct cmd_ctx *ctx, const char *name, int64_t *ms)
{
	const char *v = cmd_opt(ctx, name);

	*ms = 0;
	if (v == NULL || (coord_duration_parse(v, ms) && *ms > 0))
		return ST_OK;
	return err_set(&ctx->err, ST_USAGE, "--%s: '%s' is not an age such as 90s, 30m, 12h "
		       "or 7d (a positive whole number and one of ms, s, m, h, d, w)", name, v);
}

/* The filters of a list command line; cur holds the --continue place. */
static enum status
list_filter(struct cmd_ctx *ctx, struct coord_filter *f, enum task_state *state,
	    bool *only_invalid, struct coord_cursor *cur)
{
	const char *sname = cmd_opt(ctx, "state"), *tok = cmd_opt(ctx, "continue");
	int64_t limit = 0, older, newer, now = wall_ms();
	enum status st;

	*only_invalid = sname && strcmp(sname, "invalid") == 0;
	if (sname && !*only_invalid && !task_state_parse(sname, state))
		return err_set(&ctx->err, ST_USAGE, "--state: '%s' is not one of queued, claimed, "
			       "done, failed, dead, invalid", sname);
	if (cmd_opt(ctx, "limit") &&
	    (st = cmd_opt_int(ctx, "limit", 1, 1000000, 0, &limit)) != ST_OK)
		return st;
	if ((st = opt_age(ctx, "older-than", &older)) != ST_OK ||
	    (st = opt_age(ctx, "newer-than", &newer)) != ST_OK)
		return st;
	*f = (struct coord_filter){ .state = sname && !*only_invalid ? state : NULL,
				    .swarm = cmd_opt(ctx, "swarm"), .cap = cmd_opt(ctx, "capability"),
				    .created_before = older ? now - older : 0,
				    .created_after = newer ? now - newer : 0, .limit = (size_t)limit };
	/* finished tasks may be archived: a list of them reads the archive too */
	f->archived = cmd_flag(ctx, "all") || (f->state && *f->state >= TASK_DONE);
	if (tok && (st = coord_token_parse(tok, f, cur, &ctx->err)) != ST_OK)
		return st;
	f->after = tok ? cur : NULL;
	return ST_OK;
}

/* Tell where the next page starts: on stderr, and as "metadata" in json and yaml. */
static void
list_page(struct cmd_ctx *ctx, const struct coord_filter *f, const struct coord_listing *l,
	  bool paged)
{
	char *tok = l->more && l->n ? coord_token_make(f, &l->tasks[l->n - 1]) : NULL;

	if (tok && !ctx->quiet)
		session_notice(ctx->session, NOTICE_WARN, "ifctl: %s%zu more task%s: run again with "
			       "the same filters and --continue %s", l->more >= TASKLIST_COUNT_MAX ?
			       "at least " : "", l->more, l->more == 1 ? "" : "s", tok);
	if (paged && (ctx->format == OUT_JSON || ctx->format == OUT_YAML))
		doc_add(&ctx->out, task_view_page(tok, l->more));
	free(tok);
}

/* Say the task index cannot serve (damaged, unreadable) and what is read instead. */
static void
index_warn(struct cmd_ctx *ctx, const struct err *ie, const char *instead)
{
	if (!ctx->quiet)
		session_notice(ctx->session, NOTICE_WARN, "ifctl: warning: %s; %s %s instead "
			       "(remove the file to rebuild it)", ie->msg, instead, COORD_BUCKET);
}

/*
 * The task index, ready to answer: synced first (read-only: used only when
 * it already holds the streams up to their last sequences; archive: the
 * archive's stream too). *d NULL when the index cannot serve (missing or
 * stale under --read-only; damaged: a warning naming what is read
 * instead), so the caller reads the buckets. A failure of the bus is
 * returned: the buckets cannot be read either.
 */
static enum status
index_ready(struct cmd_ctx *ctx, const struct coord_cfg *cc, bool archive, const char *instead,
	    struct taskdb **d)
{
	bool ro = cfg_bool(&ctx->cfg, CK_READ_ONLY), fresh = false;
	struct taskdb_sync sy;
	struct err ie = ERR_INIT;
	enum status st;

	*d = NULL;
	st = taskdb_open(&ctx->cfg, !ro, d, &ie);
	if (st == ST_OK && ro)
		st = taskdb_fresh(*d, ctx->bus, cc->bucket, archive ? cc->archive : NULL, &fresh,
				  &ie);
	if (st == ST_OK && !ro && archive)
		taskdb_keep_archive(*d);
	if (st == ST_OK && !ro && (st = taskdb_sync(*d, ctx->bus, cc->bucket, cc->archive, &sy,
						    &ie)) == ST_OK)
		why_add(&ctx->op, "index", "", "task index synced: %llu message%s of KV_%s "
			"(sequences %llu to %llu), %llu of the archive's, in %lld ms%s%s",
			(unsigned long long)sy.applied, sy.applied == 1 ? "" : "s", cc->bucket,
			(unsigned long long)sy.from, (unsigned long long)sy.to,
			(unsigned long long)sy.arch_applied, (long long)sy.ms,
			sy.rebuilt ? ", rebuilt from the stream's first sequence" :
			sy.repaired ? ", rows of tasks moved to the archive dropped" : "",
			sy.arch_rebuilt ? ", archive read again" : "");
	if (st == ST_OK && (fresh || !ro))
		return ST_OK;
	taskdb_close(*d);
	*d = NULL;
	if (st == ST_NOT_FOUND || st == ST_OK)
		return ST_OK;
	if (st != ST_INDEX_CORRUPT && st != ST_IO) {
		ctx->err = ie;	/* the bus failed: the bucket cannot be read either */
		return st;
	}
	index_warn(ctx, &ie, instead);
	return ST_OK;
}

/*
 * The listing: from the task index when it can serve (a page's cost is the
 * page's), else from the buckets' snapshots (the whole set is read).
 */
static enum status
list_read(struct cmd_ctx *ctx, const struct coord_cfg *cc, const struct coord_filter *f,
	  struct coord_listing *l)
{
	struct taskdb *d = NULL;
	struct err ie = ERR_INIT;
	bool served = false, had;
	enum status st = ST_OK;

	if (strcmp(cc->bucket, COORD_BUCKET) == 0 &&
	    (st = index_ready(ctx, cc, f->archived, "listing from", &d)) != ST_OK)
		return st;
	had = d != NULL;
	if (d && (st = tasklist_page(ctx->bus, cc, d, f, l, &served, &ie)) == ST_OK && served &&
	    !taskdb_unchanged(d)) {	/* a writer checkpointed under this read-only handle */
		coord_listing_release(l);
		served = had = false;
	}
	if (served)
		why_add(&ctx->op, "list", "", "places from the task index ($IF_HOME/index.db: "
			"order created, id; filters by SQL), then the page's %zu records read by "
			"stream sequence, pipelined%s", l->n, f->archived ? "; the archive too" : "");
	taskdb_close(d);
	if (st == ST_IO || st == ST_INDEX_CORRUPT) {	/* the index failed, not the bus */
		index_warn(ctx, &ie, "listing from");
		st = ST_OK;
		had = served = false;
	} else if (st != ST_OK) {
		ctx->err = ie;
		return st;
	}
	if (served)
		return ST_OK;
	why_add(&ctx->op, "list", "", "one snapshot of %s%s (%s)", COORD_BUCKET,
		f->archived ? " and of the archive" : "", had ? "more tasks than a page holds" :
		"the task index was missing, stale or changing under --read-only, or unusable");
	return coord_list(ctx->bus, cc, f, l, &ctx->err);
}

static enum status
run_list(struct cmd_ctx *ctx)
{
	struct coord_cursor cur = { 0, NULL };
	struct coord_listing l;
	struct coord_filter f;
	struct coord_cfg cc;
	struct rowset *rs;
	enum task_state state;
	bool only_invalid, show_invalid;
	size_t i;
	enum status st;

	if ((st = list_filter(ctx, &f, &state, &only_invalid, &cur)) != ST_OK)
		return st;
	/* invalid records have no owner, capabilities or age: only unfiltered lists show them */
	show_invalid = !cmd_flag(ctx, "hide-invalid") && !f.swarm && !f.cap && !f.after &&
		       !f.created_before && !f.created_after && (!f.state || only_invalid);
	coord_cfg_load(&ctx->cfg, &cc);
	if ((st = list_read(ctx, &cc, &f, &l)) == ST_OK) {
		rs = task_view_list();
		for (i = 0; !only_invalid && i < l.n; i++)
			task_view_add(rs, &l.tasks[i]);
		for (i = 0; show_invalid && i < l.nbad; i++)
			task_view_add_invalid(rs, &l.bad[i]);
		warn_invalid(ctx, l.nbad, !show_invalid);
		doc_add(&ctx->out, rs);
		list_page(ctx, &f, &l, f.limit || f.after);
		coord_listing_release(&l);
	}
	free(cur.id);
	return st;
}

static enum status
run_show(struct cmd_ctx *ctx)
{
	struct coord_invalid bad;
	struct coord_cfg cc;
	struct rowset *rs;
	struct task t;
	enum status st;

	if (ctx->argc != 1)
		return err_set(&ctx->err, ST_USAGE, "task show needs one task id");
	coord_cfg_load(&ctx->cfg, &cc);
	if ((st = coord_read(ctx->bus, &cc, ctx->argv[0], &t, &bad, &ctx->err)) != ST_OK)
		return st;
	if (bad.key) {		/* shown as it is: state invalid, and why */
		rs = task_view_record();
		task_view_add_invalid(rs, &bad);
		doc_add(&ctx->out, rs);
		coord_invalid_release(&bad);
		return ST_OK;
	}
	add_task(ctx, &t);
	doc_add(&ctx->out, task_view_history(&t));
	task_release(&t);
	return ST_OK;
}

/* coord_scan's callback: one more task into the counts. */
static void
stats_add(void *arg, const struct task *t)
{
	task_stats_add(arg, t);
}

/*
 * The live set's counts from the task index. ST_OK with *used false when
 * the index cannot serve, so the caller counts from the bucket instead.
 */
static enum status
stats_indexed(struct cmd_ctx *ctx, const struct coord_cfg *cc, struct task_stats *s, bool *used)
{
	struct taskdb *d = NULL;
	struct err ie = ERR_INIT;
	enum status st;

	*used = false;
	if ((st = index_ready(ctx, cc, false, "counting from", &d)) != ST_OK || d == NULL)
		return st;
	st = taskdb_stats(d, s, &ie);
	if (st == ST_OK && !taskdb_unchanged(d)) {	/* changed under a read-only handle */
		taskdb_close(d);
		memset(s, 0, sizeof *s);
		return ST_OK;				/* counted from the bucket instead */
	}
	taskdb_close(d);
	*used = st == ST_OK;
	if (st != ST_OK) {
		index_warn(ctx, &ie, "counting from");
		memset(s, 0, sizeof *s);
		s->now_ms = wall_ms();
	}
	return ST_OK;
}

static enum status
run_stats(struct cmd_ctx *ctx)
{
	struct coord_listing l = { 0 };
	struct coord_cfg cc;
	struct task_stats s;
	enum status st;
	bool used;

	coord_cfg_load(&ctx->cfg, &cc);
	memset(&s, 0, sizeof s);
	s.now_ms = wall_ms();
	if ((st = stats_indexed(ctx, &cc, &s, &used)) != ST_OK)
		return st;
	if (!used && (st = coord_scan(ctx->bus, &cc, stats_add, &s, &l, &ctx->err)) != ST_OK)
		return st;
	if (!used)
		s.invalid = l.nbad;
	st = coord_archived(ctx->bus, &cc, &s.archived, &ctx->err);
	if (st != ST_OK && st != ST_NO_SCHEMA) {
		coord_listing_release(&l);
		return st;
	}
	if (used)
		why_add(&ctx->op, "tasks", "", "the live set (%s) from the task index "
			"($IF_HOME/index.db), synced from KV_%s up to its last sequence: SQL "
			"counts, not a scan", COORD_BUCKET, COORD_BUCKET);
	else
		why_add(&ctx->op, "tasks", "", "the live set (%s): queued, claimed, and finished "
			"tasks not yet archived; one snapshot of the bucket (the index was %s)",
			COORD_BUCKET, cfg_bool(&ctx->cfg, CK_READ_ONLY) ?
			"missing or stale, and --read-only does not write it" : "unusable");
	why_add(&ctx->op, "archived", "", "messages of the archive's stream (KV_%s): one round "
		"trip, not a scan", COORD_ARCHIVE);
	why_add(&ctx->op, "invalid", "", "records in %s that are not valid tasks (never "
		"claimed; not in tasks)", COORD_BUCKET);
	warn_invalid(ctx, s.invalid, true);
	coord_listing_release(&l);
	why_add(&ctx->op, "claims_per_s_60s", "", "claims recorded in task histories in the "
		"last 60 s, divided by 60");
	why_add(&ctx->op, "lease_expiries", "", "%zu takeovers of an expired lease, %zu tasks "
		"dead after their last lease expired", s.takeovers, s.expired_dead);
	doc_add(&ctx->out, task_view_stats(&s));
	return ST_OK;
}

/* --- archive, purge ---------------------------------------------------- */

/* The count of a sweep or purge as one record. */
static struct rowset *
add_count(struct cmd_ctx *ctx, const char *verb, size_t n, size_t raced)
{
	struct rowset *rs = task_view_moved(verb, n, raced, ctx->op.falsify);

	doc_add(&ctx->out, rs);
	return rs;
}

static enum status
validate_archive(struct cmd_ctx *ctx)
{
	const char *v = cmd_opt(ctx, "retain");
	int64_t ms;

	if (v && !coord_duration_parse(v, &ms))
		return bad_opt(ctx, ST_USAGE, "retain", v, "is not a duration such as 0, 90s, 12h "
			       "or 7d");
	if (opt_age(ctx, "every", &ms) != ST_OK)
		return ST_USAGE;
	return v ? ST_OK : check_retain(ctx);
}

/*
 * A sweep and the ready queue's upkeep, from one read of the live set. The
 * upkeep's failure is a warning (the moves stand; the next sweep tries
 * again), its counts zero.
 */
static enum status
sweep_once(struct cmd_ctx *ctx, const struct coord_cfg *cc, struct coord_sweep *sw)
{
	enum status st = coord_archive_sweep_tidy(ctx->bus, cc, &ctx->op, wall_ms(), sw,
						  &ctx->err);

	if (st == ST_OK && sw->tidy_err.code != ST_OK)
		session_notice(ctx->session, NOTICE_WARN, "ifctl: warning: ready queue upkeep: %s",
			       sw->tidy_err.msg);
	return st;
}

/* A sweep every --every: its state between the loop's timer calls. */
struct sweep_loop {
	struct follow f;
	struct cmd_ctx *ctx;
	struct coord_cfg cc;
	int64_t every_ms;
	enum status st;		/* the last sweep's, when it failed */
};

/* The timer: one sweep, one line (time, moved, changed meanwhile); a failure ends the loop. */
static int64_t
sweep_tick(struct evloop *l, uint64_t id, void *arg)
{
	struct sweep_loop *sl = arg;
	struct coord_sweep sw;
	char line[200], when[32];

	(void)l;
	(void)id;
	if ((sl->st = sweep_once(sl->ctx, &sl->cc, &sw)) != ST_OK) {
		follow_finish(&sl->f);
		return 0;
	}
	fmt_time_ms(when, wall_ms());
	snprintf(line, sizeof line, "%s archived %zu task%s (%zu changed meanwhile); queue: %zu "
		 "stale ids dropped, %zu lapsed leases announced", when, sw.moved,
		 sw.moved == 1 ? "" : "s", sw.raced, sw.tidy.dropped, sw.tidy.announced);
	follow_push(&sl->f, line);
	return sl->every_ms;
}

/* --every: sweep at once, then every DURATION until Ctrl-C; a line per sweep. */
static enum status
archive_every(struct cmd_ctx *ctx, const struct coord_cfg *cc, int64_t every_ms)
{
	struct sweep_loop sl = { .ctx = ctx, .cc = *cc, .every_ms = every_ms, .st = ST_OK };
	enum status st;

	if ((st = follow_open(&sl.f, &ctx->err)) != ST_OK)
		return st;
	evloop_add_timer(sl.f.loop, 0, sweep_tick, &sl);
	st = follow_run(&sl.f, "archive", &ctx->err);
	follow_close(&sl.f);
	return sl.st != ST_OK ? sl.st : st;
}

static enum status
run_archive(struct cmd_ctx *ctx)
{
	struct coord_sweep sw;
	struct coord_cfg cc;
	int64_t every = 0;
	enum status st;

	if ((st = validate_archive(ctx)) != ST_OK)
		return st;
	coord_cfg_load(&ctx->cfg, &cc);
	if (cmd_opt(ctx, "retain"))
		coord_duration_parse(cmd_opt(ctx, "retain"), &cc.retain_ms);
	if (cmd_opt(ctx, "every") && !ctx->op.falsify) {
		opt_age(ctx, "every", &every);
		return archive_every(ctx, &cc, every);
	}
	why_add(&ctx->op, "retain", "", "tasks finished more than %lld ms ago move to %s",
		(long long)cc.retain_ms, COORD_ARCHIVE);
	st = sweep_once(ctx, &cc, &sw);
	if (st == ST_OK && ctx->op.falsify)
		check(&ctx->op, "tasks to archive", ST_OK, NULL, sw.moved ? "some" : "none");
	if (st == ST_OK) {
		task_view_moved_tidy(add_count(ctx, "archived", sw.moved, sw.raced), &sw.tidy);
	}
	return st;
}

/* purge: --state (done, failed or dead) and --older-than are both required. */
static enum status
validate_purge(struct cmd_ctx *ctx)
{
	const char *sname;
	enum task_state state;
	int64_t age;
	enum status st;

	if (ctx->argc)
		return err_set(&ctx->err, ST_USAGE, "task purge takes no arguments, only --state "
			       "and --older-than");
	if ((st = cmd_need(ctx, "state")) != ST_OK || (st = cmd_need(ctx, "older-than")) != ST_OK)
		return st;
	sname = cmd_opt(ctx, "state");
	if (!task_state_parse(sname, &state) || state < TASK_DONE)
		return bad_opt(ctx, ST_USAGE, "state", sname, "is not done, failed or dead (only "
			       "finished tasks are archived)");
	return opt_age(ctx, "older-than", &age);
}

static enum status
run_purge(struct cmd_ctx *ctx)
{
	struct coord_cfg cc;
	enum task_state state;
	int64_t age;
	size_t n;
	enum status st;

	if ((st = validate_purge(ctx)) != ST_OK)
		return st;
	task_state_parse(cmd_opt(ctx, "state"), &state);
	opt_age(ctx, "older-than", &age);
	coord_cfg_load(&ctx->cfg, &cc);
	why_add(&ctx->op, "selection", task_state_name(state), "archived tasks whose last change "
		"(when they finished) is older than %lld ms", (long long)age);
	st = coord_purge(ctx->bus, &cc, &ctx->op, state, wall_ms() - age, &n, &ctx->err);
	if (st == ST_OK && ctx->op.falsify)
		check(&ctx->op, "tasks to purge", ST_OK, NULL, n ? "some" : "none");
	if (st == ST_OK)
		add_count(ctx, "purged", n, 0);
	return st;
}

/* --- watch -------------------------------------------------------------- */

/*
 * What the watch callback keeps. The bus never overlaps two calls of one
 * watch's callback, so snapshot and count need no lock; lines go to stdout
 * through the follow queue, written on the command's thread.
 */
struct watch_out {
	struct follow f;
	struct bus *bus;	/* for the heartbeat's connection state */
	bool jsonl;
	bool snapshot;		/* still in the initial snapshot */
	int64_t count, limit;	/* events printed; stop after limit (0: never) */
	int64_t interval_ms;	/* heartbeat period */
	const enum task_state *state;	/* --state: only records in it */
	int64_t since;		/* --since: only records changed after (ms; 0: all) */
	/* the snapshot from the task index: up to upto; with revset only revs (sorted) */
	uint64_t upto, *revs;
	size_t nrevs;
	bool revset;
};

/* Compare two revisions (bsearch). */
static int
rev_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * A snapshot narrowed by the task index (--state): up to the sequence it
 * synced, only the revisions it holds in that state (each key's last);
 * snapshot_done once past it or when the consumer holds nothing more.
 */
static bool
watch_indexed(struct watch_out *w, const struct bus_kv_event *ev, bool *done)
{
	bool keep = ev->revision > w->upto || !w->revset ||
		    bsearch(&ev->revision, w->revs, w->nrevs, sizeof *w->revs, rev_cmp);

	*done = w->snapshot && (ev->revision >= w->upto || ev->pending == 0);
	return keep;
}

/* The snapshot is over: say so (-o json/jsonl). */
static void
watch_snapshot_done(struct watch_out *w)
{
	w->snapshot = false;
	if (w->jsonl)
		follow_push(&w->f, "{\"type\":\"snapshot_done\"}");
}

/*
 * Do the --state and --since filters keep this record? A delete has no
 * state or time: kept; an invalid record only when neither filter is set.
 */
static bool
watch_wants(const struct watch_out *w, const struct bus_kv_event *ev)
{
	struct task t;
	bool keep;

	if ((!w->state && !w->since) || ev->op != BUS_KV_PUT)
		return true;
	if (coord_record_parse(ev->key, ev->value, ev->len, &t, NULL) != ST_OK)
		return false;
	keep = (!w->state || t.state == *w->state) && t.updated >= w->since;
	task_release(&t);
	return keep;
}

/* One line per change: a JSON object with -o json/jsonl, else a table line. */
static void
watch_event(void *arg, const struct bus_kv_event *ev)
{
	struct watch_out *w = arg;
	struct buf line = BUF_INIT, rec = BUF_INIT;
	struct err why = ERR_INIT;
	struct task t;
	char when[32];
	bool done = false;

	if (ev->snapshot_done) {
		watch_snapshot_done(w);
		return;
	}
	if (w->upto && !watch_indexed(w, ev, &done)) {
		if (done)
			watch_snapshot_done(w);
		return;
	}
	if (has_prefix(ev->key, "idem.") || (w->limit && w->count >= w->limit) ||
	    !watch_wants(w, ev)) {
		if (done)
			watch_snapshot_done(w);
		return;
	}
	fmt_time_ms(when, ev->time_ns / 1000000);
	if (w->jsonl) {
		buf_addc(&line, '{');
		json_kv_str(&line, "type", ev->op == BUS_KV_PUT ? "put" : "delete");
		json_kv_bool(&line, "snapshot", w->snapshot);
		json_kv_int(&line, "rev", (long long)ev->revision);
		json_kv_str(&line, "at", when);
		json_kv_str(&line, "id", ev->key);
		if (ev->op == BUS_KV_PUT &&
		    json_check_len(ev->value, ev->len, "task", NULL) == ST_OK)
			buf_add(&rec, ev->value, ev->len);	/* the value need not end in NUL */
		json_kv_raw(&line, "task", rec.len ? rec.s : NULL);
		buf_addc(&line, '}');
	} else if (ev->op == BUS_KV_PUT &&
		   coord_record_parse(ev->key, ev->value, ev->len, &t, &why) == ST_OK) {
		buf_addf(&line, "%s %-8llu %-8s %-24s %s%s", when, (unsigned long long)ev->revision,
			 task_state_name(t.state), t.id, t.owner ? t.owner : "-",
			 w->snapshot ? " (snapshot)" : "");
		task_release(&t);
	} else if (ev->op == BUS_KV_PUT) {
		buf_addf(&line, "%s %-8llu %-8s %-24s %s", when, (unsigned long long)ev->revision,
			 "invalid", ev->key, why.msg);
	} else {
		buf_addf(&line, "%s %-8llu %-8s %s", when, (unsigned long long)ev->revision,
			 "deleted", ev->key);
	}
	follow_push(&w->f, line.s);
	if (done)
		watch_snapshot_done(w);
	if (w->limit && ++w->count >= w->limit)
		follow_finish(&w->f);
	buf_release(&line);
	buf_release(&rec);
}

/* A heartbeat line (-o json/jsonl), from the loop's timer. */
static int64_t
watch_heartbeat(struct evloop *l, uint64_t id, void *arg)
{
	struct watch_out *w = arg;
	char line[160], when[32];

	(void)l;
	(void)id;
	fmt_time_ms(when, wall_ms());
	snprintf(line, sizeof line, "{\"type\":\"heartbeat\",\"at\":\"%s\",\"connection\":\"%s\"}",
		 when, bus_state_name(bus_get_state(w->bus)));
	follow_push(&w->f, line);
	return w->interval_ms;
}

/*
 * --since or --state: the task index (synced first; not under --read-only)
 * says where the watch starts. --since: after the last sequence it knows to
 * be older than AGE (a time mark), every revision from there filtered by
 * time here. --state alone: the revisions of the tasks in that state (each
 * key's last), from the first of them. *from: where the watch starts (left
 * 0 when the index is not usable: then the server starts by time, or the
 * snapshot of every key is filtered here).
 */
static enum status
watch_index_start(struct cmd_ctx *ctx, struct watch_out *w, int64_t *from)
{
	struct taskdb_sync sy;
	struct taskdb *d = NULL;
	struct coord_cfg cc;
	struct err ie = ERR_INIT;
	enum status st;

	coord_cfg_load(&ctx->cfg, &cc);
	if (cfg_bool(&ctx->cfg, CK_READ_ONLY) || strcmp(cc.bucket, COORD_BUCKET) != 0)
		return ST_OK;
	st = taskdb_open(&ctx->cfg, true, &d, &ie);
	if (st == ST_OK)
		st = taskdb_sync(d, ctx->bus, cc.bucket, cc.archive, &sy, &ie);
	w->revset = !w->since;
	if (st == ST_OK && w->revset)
		st = taskdb_state_revs(d, *w->state, &w->revs, &w->nrevs, &ie);
	if (st == ST_OK && !w->revset) {
		*from = (int64_t)taskdb_seq_before(d, w->since) + 1;
		w->nrevs = (uint64_t)*from <= sy.to;	/* anything to read up to the sync */
	}
	taskdb_close(d);
	if (st == ST_OK && sy.to && w->revset) {
		w->upto = sy.to;
		*from = (int64_t)(w->nrevs ? w->revs[0] : sy.to + 1);
		why_add(&ctx->op, "snapshot", "", "%zu tasks %s in the task index (synced to "
			"sequence %llu): the watch starts at revision %lld", w->nrevs,
			task_state_name(*w->state), (unsigned long long)sy.to, (long long)*from);
		return ST_OK;
	}
	if (st == ST_OK && sy.to) {
		w->upto = sy.to;
		if (!w->nrevs)
			*from = (int64_t)sy.to + 1;
		why_add(&ctx->op, "snapshot", "", "the task index (synced to sequence %llu) "
			"marks revision %lld as written before --since: the watch starts there",
			(unsigned long long)sy.to, (long long)*from);
		return ST_OK;
	}
	*from = 0;
	free(w->revs);
	w->revs = NULL;
	w->nrevs = 0;
	if (st == ST_INDEX_CORRUPT || st == ST_IO) {
		if (!ctx->quiet)
			session_notice(ctx->session, NOTICE_WARN, "ifctl: warning: %s; the snapshot "
				       "is filtered here instead", ie.msg);
		return ST_OK;
	}
	if (st != ST_OK)
		ctx->err = ie;
	return st;
}

static enum status
run_watch(struct cmd_ctx *ctx)
{
	struct watch_out w = { .bus = ctx->bus };
	struct bus_watch *bw = NULL;
	enum task_state state;
	int64_t since;
	int64_t resume, interval, limit;
	enum status st;

	if ((st = cmd_opt_int(ctx, "resume", 1, INT64_MAX, 0, &resume)) != ST_OK ||
	    (st = cmd_opt_int(ctx, "heartbeat", 0, 3600, 10, &interval)) != ST_OK ||
	    (st = cmd_opt_int(ctx, "count", 0, INT64_MAX, 0, &limit)) != ST_OK)
		return st;
	if (cmd_opt(ctx, "state") && !task_state_parse(cmd_opt(ctx, "state"), &state))
		return bad_opt(ctx, ST_USAGE, "state", cmd_opt(ctx, "state"), "is not one of "
			       "queued, claimed, done, failed, dead");
	w.state = cmd_opt(ctx, "state") ? &state : NULL;
	if ((st = opt_age(ctx, "since", &since)) != ST_OK)
		return st;
	w.since = since ? wall_ms() - since : 0;
	w.jsonl = ctx->format == OUT_JSON || ctx->format == OUT_JSONL;
	w.snapshot = resume == 0;
	w.limit = limit;
	w.interval_ms = interval * 1000;
	/*
	 * --since without --resume starts the consumer at that time (the server
	 * finds the first message): the snapshot is the changes since, not
	 * every key of the bucket filtered here, so a million old tasks cost
	 * nothing before the first line.
	 */
	if ((w.state || w.since) && !resume && (st = watch_index_start(ctx, &w, &resume)) != ST_OK)
		return st;
	if ((st = follow_open(&w.f, &ctx->err)) == ST_OK && w.upto && !w.nrevs)
		watch_snapshot_done(&w);	/* none in that state: only what comes */
	if (st == ST_OK && w.since && !resume)
		st = bus_kv_watch_since(ctx->bus, COORD_BUCKET, w.since, watch_event, &w, &bw,
					&ctx->err);
	else if (st == ST_OK)
		st = bus_kv_watch(ctx->bus, COORD_BUCKET, (uint64_t)resume, watch_event, &w, &bw,
				  &ctx->err);
	if (st == ST_OK && interval && w.jsonl)
		evloop_add_timer(w.f.loop, w.interval_ms, watch_heartbeat, &w);
	if (st == ST_OK)
		st = follow_run(&w.f, "watch", &ctx->err);
	bus_watch_free(bw);
	follow_close(&w.f);
	free(w.revs);
	return st;
}

/* --- bench -------------------------------------------------------------- */

static enum status
run_bench(struct cmd_ctx *ctx)
{
	struct coord_bench_opts o = { 100000, 100, 60000, 10000, 2000, true };
	struct bus_opts bo;
	int64_t tasks, secs, sat, rate;
	enum status st;

	if ((st = cmd_opt_int(ctx, "tasks", 100, 10000000, 100000, &tasks)) != ST_OK ||
	    (st = cmd_opt_int(ctx, "duration", 1, 3600, 60, &secs)) != ST_OK ||
	    (st = cmd_opt_int(ctx, "saturate", 1, 3600, 10, &sat)) != ST_OK ||
	    (st = cmd_opt_int(ctx, "rate", 1, 100000, 100, &rate)) != ST_OK)
		return st;
	if (cmd_flag(ctx, "quick")) {
		o = (struct coord_bench_opts){ 5000, 100, 5000, 2000, 500, true };
	} else {
		o.tasks = (size_t)tasks;
		o.rate_ms = secs * 1000;
		o.saturate_ms = sat * 1000;
	}
	o.rate = (int)rate;
	o.witness = !cmd_flag(ctx, "no-witness");
	bus_opts_from_config(&bo, &ctx->cfg);
	bo.timeout_ms = bo.timeout_ms < 10000 ? 10000 : bo.timeout_ms;
	why_add(&ctx->op, "percentiles", "nearest rank", "on the sorted samples of each row");
	why_add(&ctx->op, "throughput", "drain", "each claimer count drains its own preloaded "
		"pool (20%%, 30%%, 50%% of --tasks); seconds run to the last successful claim");
	why_add(&ctx->op, "correctness", "final records", "read back from the server after the "
		"run: double claims = tasks with two non-takeover claims or owned by two claimers; "
		"lost = tasks not claimed or missing");
	why_add(&ctx->op, "witness", o.witness ? "on" : "off", o.witness ? "every push and claim "
		"witnessed through one group-commit writer into a stream of the run's own, as the "
		"CLI witnesses them into IF_WITNESS" : "--no-witness: nothing witnessed");
	st = coord_bench_run(&bo, &o, &ctx->out, &ctx->err);
	bus_opts_release(&bo);
	return st;
}

/* --- entries ------------------------------------------------------------ */

#define OPT_END { NULL, 0, NULL, NULL }
#define OWNER_OPTS \
	{ "swarm", 0, "ID", "the swarm that holds the task" }, \
	{ "token", 0, "N", "the fencing token the claim returned" }

static const struct cmd_opt push_opts[] = {
	{ "id", 0, "ID", "task id (default: generated); also the first argument" },
	{ "title", 't', "TEXT", "what the task is" },
	{ "capability", 'c', "C[,C...]", "required capabilities (repeatable)" },
	{ "priority", 'p', "0-9", "higher is claimed first (default 5)" },
	{ "budget", 0, "AMOUNT", "spend allowed for the task (0 or more)" },
	{ "payload", 0, "JSON|@FILE", "the task's input, validated as JSON" },
	{ "idempotency-key", 'k', "KEY", "pushing the same key again returns the first task" },
	{ "to", 0, "SWARM", "push straight to a swarm: only it may claim the task" },
	{ "max-attempts", 0, "N", "claims before the task is dead (default coordinator.max_attempts)" },
	OPT_END,
};
static const struct cmd_opt claim_opts[] = {
	{ "swarm", 0, "ID", "the claiming swarm" },
	{ "capability", 'c', "C[,C...]", "what the swarm can do (repeatable)" },
	OPT_END,
};
static const struct cmd_opt owner_opts[] = { OWNER_OPTS, OPT_END };
static const struct cmd_opt complete_opts[] = {
	OWNER_OPTS,
	{ "result", 0, "JSON|@FILE", "the task's output, validated as JSON" },
	OPT_END,
};
static const struct cmd_opt fail_opts[] = {
	OWNER_OPTS,
	{ "reason", 0, "TEXT", "why it failed" },
	{ "no-retry", 0, NULL, "do not retry: the task ends failed" },
	OPT_END,
};
static const struct cmd_opt list_opts[] = {
	{ "state", 0, "STATE", "only queued, claimed, done, failed, dead or invalid tasks" },
	{ "swarm", 0, "ID", "only tasks held (or last held) by this swarm" },
	{ "capability", 'c', "C", "only tasks that require this capability" },
	{ "older-than", 0, "AGE", "only tasks created more than AGE ago (90s, 30m, 12h, 7d)" },
	{ "newer-than", 0, "AGE", "only tasks created less than AGE ago" },
	{ "limit", 0, "N", "at most N tasks (1 to 1000000; default: all), then a continue token" },
	{ "continue", 0, "TOKEN", "the next page: the token the previous page printed" },
	{ "hide-invalid", 0, NULL, "leave out invalid records (a warning still counts them)" },
	{ "all", 'A', NULL, "the archive too (always with --state done, failed or dead)" },
	OPT_END,
};
static const struct cmd_opt archive_opts[] = {
	{ "retain", 0, "DURATION", "move tasks finished longer ago than this (default "
	  "coordinator.retain; 0: every finished task)" },
	{ "every", 0, "DURATION", "sweep again every DURATION until Ctrl-C, a line per sweep" },
	OPT_END,
};
static const struct cmd_opt purge_opts[] = {
	{ "state", 0, "STATE", "done, failed or dead (required)" },
	{ "older-than", 0, "AGE", "finished more than AGE ago: 90s, 12h, 7d (required)" },
	OPT_END,
};
static const struct cmd_opt watch_opts[] = {
	{ "resume", 0, "REV", "start at this revision instead of a snapshot" },
	{ "heartbeat", 0, "SECONDS", "heartbeat line interval with -o jsonl (0: none; default 10)" },
	{ "count", 0, "N", "stop after N changes" },
	{ "state", 0, "STATE", "only records in this state (snapshot and changes)" },
	{ "since", 0, "AGE", "only records changed less than AGE ago (90s, 30m, 12h, 7d)" },
	OPT_END,
};
static const struct cmd_opt bench_opts[] = {
	{ "tasks", 0, "N", "pool drained by the throughput runs (default 100000)" },
	{ "duration", 0, "SECONDS", "length of the fixed-rate run (default 60)" },
	{ "rate", 0, "OPS", "operations per second of the fixed-rate run (default 100)" },
	{ "saturate", 0, "SECONDS", "length of the saturation run (default 10)" },
	{ "quick", 0, NULL, "a short run for CI: 5000 tasks, 5 s at the rate, 2 s saturated" },
	{ "no-witness", 0, NULL, "do not witness pushes and claims (to see what witnessing costs)" },
	OPT_END,
};

/* Help of each subcommand: examples, see also, the schema of its -o json. */
#define HELP(ex, see, sch) .examples = ex, .see_also = see, .schema = sch

#define coord_push_help HELP("ifctl task push --title \"summarise logs\" -c docs:technical-writing -p 7 --payload '{\"file\":\"a.log\"}'\n" \
     "ifctl task push job-1 --title retry-me --max-attempts 3 --to s2\n" \
     "ifctl task push -k nightly-2026-11-30 --title nightly   # the same key again returns the first task", \
     "task claim, task list, task show, ifctl-protocol(7)", "task")
#define coord_claim_help HELP("ifctl task claim --swarm s1 -c docs:technical-writing -o json   # the lease and fencing token\n" \
     "ifctl task claim --swarm s1 --mode=falsify", \
     "task heartbeat, task complete, task fail, task release", "task")
#define coord_heartbeat_help HELP("ifctl task heartbeat t-42 --swarm s1 --token 18\n" \
     "ifctl task heartbeat t-42 --swarm s1 --token 18 -o json", \
     "task claim, task complete, coordinator.lease_ms in ifctl-config(5)", "task")
#define coord_complete_help HELP("ifctl task complete t-42 --swarm s1 --token 18 --result '{\"ok\":true}'\n" \
     "ifctl task complete t-42 --swarm s1 --token 18 --result @out.json", \
     "task claim, task fail, task show", "task")
#define coord_fail_help HELP("ifctl task fail t-42 --swarm s1 --token 18 --reason \"model timeout\"\n" \
     "ifctl task fail t-42 --swarm s1 --token 18 --reason \"bad input\" --no-retry", \
     "task requeue, task claim, task show", "task")
#define coord_release_help HELP("ifctl task release t-42 --swarm s1 --token 18\n" \
     "ifctl task release t-42 --swarm s1 --token 18 -o json", \
     "task claim, task cancel", "task")
#define coord_list_help HELP("ifctl task list --state queued\n" \
     "ifctl task list --swarm s1 --older-than 1h -o wide\n" \
     "ifctl task list --limit 100 -o json   # then --continue TOKEN for the next page", \
     "task show, task stats, task watch", "task-row[]")
#define coord_cancel_help HELP("ifctl task cancel t-42 --why=\"duplicate of t-41\"\n" \
     "ifctl task cancel t-42 --mode=falsify", \
     "task requeue, task list", "task")
#define coord_requeue_help HELP("ifctl task requeue t-42 --why=\"input fixed\"\n" \
     "ifctl task list --state dead -o json", \
     "task cancel, task fail", "task")
#define coord_archive_help HELP("ifctl task archive --retain 1h\n" \
     "ifctl task archive --every 5m   # a sweeper that runs until interrupted", \
     "task purge, task show, config show coordinator.retain", "task-moved")
#define coord_purge_help HELP("ifctl task purge --state done --older-than 7d --why=\"retention\"\n" \
     "ifctl task purge --state dead --older-than 30d --mode=falsify", \
     "task archive, task list --state done", "task-moved")
#define coord_show_help HELP("ifctl task show t-42\n" \
     "ifctl task show t-42 -o json", \
     "task list, witness query --task, witness trace", "task")
#define coord_watch_help HELP("ifctl task watch\n" \
     "ifctl task watch -o jsonl --count 10", \
     "task list, witness tail -f, ifctl-protocol(7) EVENTS", "task-row[]")
#define coord_stats_help HELP("ifctl task stats\n" \
     "ifctl task stats -o json", \
     "task list, status", "task-stats")
#define coord_bench_help HELP("ifctl task bench --quick\n" \
     "ifctl task bench --tasks 20000 --duration 10", \
     "witness bench, make bench", NULL)

#define SUB(n, a, s, f, o, r, v) \
	static const struct cmd_entry coord_##n##_entry = { \
		.name = #n, .args = a, .summary = s, .flags = CMD_NEEDS_BUS | (f), .opts = o, \
		.validate = v, .run = r, coord_##n##_help }

SUB(push, "[ID] [--title T] [-c CAP] [-p 0-9] [--payload JSON] [-k KEY] [--to SWARM]",
    "create a task", CMD_MUTATES, push_opts, run_push, validate_push);
SUB(claim, "--swarm ID [-c CAP,...]",
    "claim the best ready task; prints it with its lease and fencing token",
    CMD_MUTATES, claim_opts, run_claim, validate_claim);
SUB(heartbeat, "ID --swarm ID --token N", "extend the lease of a task you hold",
    CMD_MUTATES, owner_opts, run_heartbeat, validate_owner);
SUB(complete, "ID --swarm ID --token N [--result JSON]", "finish a task you hold",
    CMD_MUTATES, complete_opts, run_complete, validate_owner);
SUB(fail, "ID --swarm ID --token N [--reason TEXT] [--no-retry]",
    "give up an attempt: retried with backoff, dead after the last attempt",
    CMD_MUTATES, fail_opts, run_fail, validate_owner);
SUB(release, "ID --swarm ID --token N", "give a task back to the queue",
    CMD_MUTATES, owner_opts, run_release, validate_owner);
SUB(list, "[--state STATE] [--swarm ID] [-c CAP] [--older-than AGE] [--newer-than AGE] "
    "[--limit N] [--continue TOKEN] [--hide-invalid] [--all]", "list tasks, oldest first", 0, list_opts, run_list, NULL);
SUB(cancel, "ID [--why=TEXT]", "end a queued or claimed task: dead, reason 'cancelled by ...'",
    CMD_MUTATES, NULL, run_cancel, NULL);
SUB(requeue, "ID [--why=TEXT]", "put a failed or dead task back in the queue, attempts reset",
    CMD_MUTATES, NULL, run_requeue, NULL);
SUB(show, "ID", "a task and its history of states, owners and tokens", 0, NULL, run_show, NULL);
SUB(watch, "[-o jsonl] [--resume REV] [--count N] [--state STATE] [--since AGE]",
    "follow every change of every task, one line each", 0, watch_opts, run_watch, NULL);
SUB(stats, "", "counts by state, claim rate, lease expiries", 0, NULL, run_stats, NULL);
SUB(archive, "[--retain DURATION] [--every DURATION]", "move tasks finished longer ago than coordinator.retain "
    "to the archive", CMD_MUTATES, archive_opts, run_archive, validate_archive);
SUB(purge, "--state done|failed|dead --older-than AGE",
    "delete archived tasks for good", CMD_MUTATES, purge_opts, run_purge, validate_purge);
SUB(bench, "[--quick] [--tasks N] [--duration S]",
    "measure claim and push latency, throughput and correctness against the server",
    CMD_WRITES, bench_opts, run_bench, NULL);

static const struct cmd_entry *const coord_subs[] = {
	&coord_push_entry, &coord_claim_entry, &coord_heartbeat_entry, &coord_complete_entry,
	&coord_fail_entry, &coord_release_entry, &coord_cancel_entry, &coord_requeue_entry, &coord_list_entry, &coord_show_entry,
	&coord_watch_entry, &coord_stats_entry, &coord_archive_entry, &coord_purge_entry,
	&coord_bench_entry, NULL,
};

const struct cmd_entry cmd_coordinator_entry = {
	.name = "coordinator",
	.alias = "task",
	.args = "push|claim|heartbeat|complete|fail|release|cancel|requeue|list|show|watch|stats|"
		"archive|purge|bench",
	.summary = "the task queue: atomic claims, leases, fencing tokens, retries",
	.subs = coord_subs,
	.examples =
		"ifctl task push --title \"summarise logs\" -c docs:technical-writing\n"
		"ifctl task claim --swarm s1 -c docs:technical-writing -o json\n"
		"ifctl task list --state claimed",
	.see_also = "witness trace, ifctl-protocol(7), ifctl-workflows(7)",
};
