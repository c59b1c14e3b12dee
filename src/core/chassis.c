/* The chassis: see chassis.h. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "core/chassis.h"
#include "core/cred.h"
#include "core/egress.h"
#include "core/governor.h"
#include "core/json.h"
#include "core/ledger.h"
#include "core/slo.h"
#include "core/util.h"

void
chassis_opts_from_config(struct chassis_opts *o, const struct config *c)
{
	memset(o, 0, sizeof *o);
	o->spec.lim = (struct sandbox_limits){ cfg_int(c, CK_CHASSIS_MEMORY_MB),
					       cfg_int(c, CK_CHASSIS_CPU_S),
					       cfg_int(c, CK_CHASSIS_WALL_MS),
					       cfg_int(c, CK_CHASSIS_PROCS),
					       cfg_int(c, CK_CHASSIS_FILES) };
	o->spec.bwrap = cfg_str(c, CK_CHASSIS_BWRAP);
	o->spec.wasm_interp = cfg_str(c, CK_CHASSIS_WASM_INTERP);
	o->spec.run_as = (long)cfg_int(c, CK_CHASSIS_RUN_AS);
}

/* --- the run record's view ---------------------------------------------- */

static const struct view_col run_cols[] = {
	[RC_ID] = { "id", COL_TEXT, 0 },
	[RC_SWARM] = { "swarm", COL_TEXT, COL_WIDE },
	[RC_TASK] = { "task", COL_TEXT, 0 },
	[RC_PROGRAM] = { "program", COL_TEXT, 0 },
	[RC_KIND] = { "kind", COL_TEXT, 0 },
	[RC_OUTCOME] = { "outcome", COL_TEXT, 0 },
	[RC_REASON] = { "reason", COL_TEXT, 0 },
	[RC_EXIT_CODE] = { "exit_code", COL_NUM, 0 },
	[RC_SIGNAL] = { "signal", COL_NUM, COL_WIDE },
	[RC_KILLED_BY] = { "killed_by", COL_TEXT, 0 },
	[RC_DURATION_MS] = { "duration_ms", COL_NUM, 0 },
	[RC_CPU_MS] = { "cpu_ms", COL_NUM, 0 },
	[RC_PEAK_RSS_KIB] = { "peak_rss_kib", COL_NUM, 0 },
	[RC_STARTED] = { "started", COL_TIME, COL_WIDE },
	[RC_MEMORY_MB] = { "memory_mb", COL_NUM, COL_WIDE },
	[RC_CPU_S] = { "cpu_s", COL_NUM, COL_WIDE },
	[RC_WALL_MS] = { "wall_ms", COL_NUM, COL_WIDE },
	[RC_PROCS] = { "procs", COL_NUM, COL_WIDE },
	[RC_FILES] = { "files", COL_NUM, COL_WIDE },
	[RC_PROGRAM_SHA256] = { "program_sha256", COL_TEXT, COL_WIDE },
	[RC_CRED] = { "cred", COL_TEXT, COL_WIDE },
	[RC_SECRETS] = { "secrets", COL_JSON, COL_WIDE },
	[RC_EGRESS_ALLOWED] = { "egress_allowed", COL_NUM, COL_WIDE },
	[RC_EGRESS_DENIED] = { "egress_denied", COL_NUM, COL_WIDE },
	[RC_TRAP] = { "trap", COL_TEXT, COL_WIDE },
	[RC_STDOUT_TRUNCATED] = { "stdout_truncated", COL_BOOL, COL_WIDE },
	[RC_STDOUT] = { "stdout", COL_TEXT, COL_DATA },
	[RC_STDERR] = { "stderr", COL_TEXT, COL_DATA },
	[RC_TRACE] = { "trace", COL_TEXT, COL_WIDE },
};
_Static_assert(ARRAY_SIZE(run_cols) == RC__COUNT, "one column per run_col");
static const struct view run_view = VIEW("runs", run_cols);

struct rowset *
chassis_view_runs(void)
{
	return rows_view(&run_view);
}

void
chassis_record_json(const struct rowset *rs, size_t r, struct buf *out)
{
	struct buf raw = BUF_INIT;
	const char *v;
	size_t c;

	buf_addc(&raw, '{');
	for (c = 0; c < rs->ncols; c++) {
		v = rows_get(rs, r, c);
		if (rs->cols[c].kind == COL_TEXT || rs->cols[c].kind == COL_TIME || v == NULL)
			json_kv_str(&raw, rs->cols[c].name, v);
		else
			json_kv_raw(&raw, rs->cols[c].name, v);
	}
	buf_addc(&raw, '}');
	if (json_canonical(raw.s, out, NULL) != ST_OK)
		buf_adds(out, "{}");
	buf_release(&raw);
}

/* Append len bytes as UTF-8 text: a byte that is not UTF-8 becomes U+FFFD. */
static void
utf8_clean(struct buf *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	uint32_t cp;
	size_t n;

	while (p < end) {
		if (*p == 0) {
			buf_adds(out, "\xef\xbf\xbd");
			p++;
		} else if ((n = json_utf8_decode(p, end, &cp)) == 0) {
			buf_adds(out, "\xef\xbf\xbd");
			p++;
		} else {
			buf_add(out, p, n);
			p += n;
		}
	}
}

/* Set a text cell from bytes a program wrote. */
static void
set_output(struct rowset *rs, size_t r, size_t col, const struct buf *b)
{
	struct buf clean = BUF_INIT;

	utf8_clean(&clean, b->s, b->len);
	rows_set(rs, r, col, clean.s);
	buf_release(&clean);
}

/* The outcome word of a result. */
static const char *
outcome(const struct sandbox_result *res)
{
	if (res->killed_by != LIMIT_NONE)
		return "killed";
	if (res->trap)
		return "trap";
	return sandbox_ok(res) ? "ok" : "failed";
}

/* The SHA-256 of the program file, hex; "" when it cannot be read. */
static void
program_hash(const char *path, char out[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	char *data = NULL;
	size_t len = 0;

	out[0] = '\0';
	if (read_file(path, SANDBOX_PROGRAM_MAX, 0, &data, &len, NULL) != ST_OK)
		return;
	crypto_hash_sha256(h, (const unsigned char *)data, len);
	hex_encode(out, h, sizeof h);
	free(data);
}

/* What a run leaves besides the sandbox's result. */
struct run_meta {
	const struct chassis_opts *o;
	const struct opctx *op;
	char id[20];
	int64_t started;
	const char *cred_id;
	struct egress_stats eg;
};

/* The record's row. */
static size_t
record_row(struct rowset *rs, const struct run_meta *m, const struct sandbox_result *res)
{
	const struct sandbox_limits *l = &m->o->spec.lim;
	struct buf why = BUF_INIT;
	char sha[65];
	size_t r = rows_add(rs);

	sandbox_reason(res, l, &why);
	program_hash(m->o->spec.program, sha);
	rows_set(rs, r, RC_ID, m->id);
	rows_set(rs, r, RC_SWARM, m->o->swarm);
	rows_set(rs, r, RC_TASK, m->o->task);
	rows_set(rs, r, RC_PROGRAM, m->o->spec.program);
	rows_set(rs, r, RC_KIND, sandbox_kind_name(res->kind));
	rows_set(rs, r, RC_OUTCOME, outcome(res));
	rows_set(rs, r, RC_REASON, why.s);
	rows_set_int(rs, r, RC_EXIT_CODE, res->exit_code);
	rows_set_int(rs, r, RC_SIGNAL, res->signal);
	rows_set(rs, r, RC_KILLED_BY, sandbox_limit_name(res->killed_by));
	rows_set_int(rs, r, RC_DURATION_MS, res->duration_ms);
	rows_set_int(rs, r, RC_CPU_MS, res->cpu_ms);
	rows_set_int(rs, r, RC_PEAK_RSS_KIB, res->peak_rss_kib);
	rows_set_time(rs, r, RC_STARTED, m->started);
	rows_set_int(rs, r, RC_MEMORY_MB, l->memory_mb);
	rows_set_int(rs, r, RC_CPU_S, l->cpu_s);
	rows_set_int(rs, r, RC_WALL_MS, l->wall_ms);
	rows_set_int(rs, r, RC_PROCS, l->procs);
	rows_set_int(rs, r, RC_FILES, l->files);
	rows_set(rs, r, RC_PROGRAM_SHA256, sha[0] ? sha : NULL);
	rows_set(rs, r, RC_CRED, m->cred_id);
	rows_set_list(rs, r, RC_SECRETS, m->o->spec.secret_names, m->o->spec.nsecrets);
	rows_set_u64(rs, r, RC_EGRESS_ALLOWED, m->eg.allowed);
	rows_set_u64(rs, r, RC_EGRESS_DENIED, m->eg.denied);
	rows_set(rs, r, RC_TRAP, res->trap);
	rows_set_bool(rs, r, RC_STDOUT_TRUNCATED, res->out_truncated);
	set_output(rs, r, RC_STDOUT, &res->out);
	set_output(rs, r, RC_STDERR, &res->err);
	rows_set(rs, r, RC_TRACE, m->op->trace_id);
	buf_release(&why);
	return r;
}

/* The members of the record the event and the witness carry: no output. */
static void
record_summary(const struct rowset *rs, size_t r, struct buf *out)
{
	static const enum chassis_col keep[] = {
		RC_ID, RC_PROGRAM, RC_KIND, RC_OUTCOME, RC_REASON, RC_EXIT_CODE, RC_KILLED_BY,
		RC_DURATION_MS, RC_CPU_MS, RC_PEAK_RSS_KIB, RC_MEMORY_MB, RC_CPU_S, RC_WALL_MS,
		RC_PROCS, RC_FILES, RC_PROGRAM_SHA256, RC_CRED, RC_SECRETS, RC_EGRESS_ALLOWED,
		RC_EGRESS_DENIED,
	};
	struct buf raw = BUF_INIT;
	const char *v;
	size_t i;

	buf_addc(&raw, '{');
	for (i = 0; i < ARRAY_SIZE(keep); i++) {
		v = rows_get(rs, r, keep[i]);
		if (run_cols[keep[i]].kind == COL_TEXT || v == NULL)
			json_kv_str(&raw, run_cols[keep[i]].name, v);
		else
			json_kv_raw(&raw, run_cols[keep[i]].name, v);
	}
	buf_addc(&raw, '}');
	if (json_canonical(raw.s, out, NULL) != ST_OK)
		buf_adds(out, "{}");
	buf_release(&raw);
}

/* Publish the run: the event, the witness entry, the SLO sample. */
static void
record_publish(struct bus *b, const struct opctx *op, const struct chassis_opts *o,
	       const struct rowset *rs, size_t r)
{
	struct witness_note n = { .component = "chassis", .event = "chassis.run",
				  .swarm = o->swarm, .task = o->task };
	struct buf sum = BUF_INIT, ev = BUF_INIT;

	record_summary(rs, r, &sum);
	buf_adds(&ev, "{\"v\":1,\"type\":\"chassis\",\"verb\":\"run\"");
	json_kv_str(&ev, "swarm", o->swarm);
	json_kv_str(&ev, "task", o->task);
	json_kv_str(&ev, "trace", op->trace_id);
	json_kv_raw(&ev, "run", sum.s);
	buf_addc(&ev, '}');
	bus_publish(b, "if.v1.evt.chassis.run", ev.s, ev.len, NULL);
	n.payload = sum.s;
	ledger_witness(op, &n);
	chassis_slo_sample(b, rs, r, NULL);
	buf_release(&sum);
	buf_release(&ev);
}

/*
 * A run's egress proxy: a socket in a directory of its own (0711, so the
 * sandbox's uid reaches the socket and nothing else), accepting the run's
 * credential only.
 */
static enum status
egress_open(struct bus *b, const struct opctx *op, const char *cred_id, char **dir,
	    struct egress **g, struct err *e)
{
	struct egress_opts eo = { .bus = b, .op = op, .only_id = cred_id };
	char *path;
	enum status st;

	*g = NULL;
	*dir = xstrdup("/tmp/ifctl-egress-XXXXXX");	/* not $TMPDIR: run_as must reach it */
	if (mkdtemp(*dir) == NULL || chmod(*dir, 0711) != 0) {
		free(*dir);
		*dir = NULL;
		return err_set(e, ST_IO, "cannot make a directory for the egress proxy");
	}
	path = xasprintf("%s/egress.sock", *dir);
	eo.path = path;
	st = egress_start(&eo, g, e);
	free(path);
	return st;
}

/* Stop the proxy and remove its directory. */
static void
egress_close(struct egress *g, char *dir, struct egress_stats *s)
{
	if (g)
		egress_get_stats(g, s);
	egress_stop(g);
	if (dir)
		rmdir(dir);
	free(dir);
}

enum status
chassis_run(struct bus *b, struct opctx *op, const struct chassis_opts *o, const char *input,
	    size_t input_len, struct rowset *out, bool *ok, bool *limit_hit, struct err *e)
{
	struct run_meta m = { .o = o, .op = op, .started = wall_ms() };
	struct chassis_opts run = *o;
	struct sandbox_result res;
	struct egress *g = NULL;
	char *dir = NULL, *sock = NULL, cred_id[22], hash[65];
	unsigned char raw[6];
	size_t r;
	enum status st = ST_OK;

	*ok = *limit_hit = false;
	randombytes_buf(raw, sizeof raw);
	memcpy(m.id, "run-", 4);
	hex_encode(m.id + 4, raw, sizeof raw);
	if (o->token && !cred_token_hash(o->token, cred_id, hash))
		return err_set(e, ST_BAD_VALUE, "--cred: not a credential token (ifc1_ and 64 hex digits)");
	if (o->token) {
		m.cred_id = cred_id;
		if ((st = egress_open(b, op, cred_id, &dir, &g, e)) != ST_OK) {
			egress_close(g, dir, &m.eg);
			return st;
		}
		sock = xasprintf("%s/egress.sock", dir);
	}
	run.spec.input = input;
	run.spec.input_len = input_len;
	run.spec.token = o->token;
	run.spec.egress = sock;
	sandbox_result_init(&res);
	st = sandbox_run(&run.spec, &res, e);
	egress_close(g, dir, &m.eg);
	free(sock);
	if (st == ST_OK) {
		r = record_row(out, &m, &res);
		*ok = sandbox_ok(&res);
		*limit_hit = res.killed_by != LIMIT_NONE;
		record_publish(b, op, o, out, r);
	}
	sandbox_result_release(&res);
	return st;
}

/* --- tasks -------------------------------------------------------------- */

/* The heartbeat thread's state. */
struct beat {
	struct bus *b;
	const struct coord_cfg *cc;
	const char *id, *swarm, *trace;
	uint64_t token;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done, lost;
	volatile sig_atomic_t cancel;	/* the lease is lost: stop the sandbox */
	struct err err;
};

/* Extend the lease every third of it until told to stop or the lease is lost. */
static void *
beat_main(void *arg)
{
	struct beat *bt = arg;
	struct owner_req rq = { OWNER_HEARTBEAT, bt->id, bt->swarm, bt->token, NULL, NULL, false };
	struct opctx op;
	struct task t;
	struct timespec ts;
	enum status st;

	opctx_init(&op, bt->trace);
	pthread_mutex_lock(&bt->mu);
	while (!bt->done && !bt->lost) {
		ts = deadline_ts(bt->cc->lease_ms / 3 > 0 ? bt->cc->lease_ms / 3 : 1);
		pthread_cond_timedwait(&bt->cv, &bt->mu, &ts);
		if (bt->done)
			break;
		pthread_mutex_unlock(&bt->mu);
		st = coord_owner(bt->b, bt->cc, &op, &rq, &t, &bt->err);
		if (st == ST_OK)
			task_release(&t);
		pthread_mutex_lock(&bt->mu);
		bt->lost = st == ST_NOT_OWNER || st == ST_CONFLICT || st == ST_NOT_FOUND;
		bt->cancel = bt->lost;
	}
	pthread_mutex_unlock(&bt->mu);
	opctx_release(&op);
	return NULL;
}

/* Read the task and check the swarm holds it; the payload is the caller's. */
static enum status
held_task(struct bus *b, const struct coord_cfg *cc, struct opctx *op, const char *id,
	  const char *swarm, struct task *t, struct err *e)
{
	enum status st = coord_get(b, cc, id, t, e);

	if (!check(op, "task exists", st, e, id))
		return check_failure(op, e);
	if (st != ST_OK)
		return st;
	st = t->state == TASK_CLAIMED && t->owner && strcmp(t->owner, swarm) == 0 ? ST_OK : ST_NOT_OWNER;
	if (st != ST_OK)
		err_set(e, ST_NOT_OWNER, "swarm '%s' does not hold task '%s' (it is %s%s%s): claim it "
			"first", swarm, id, task_state_name(t->state), t->owner ? ", owner " : "",
			t->owner ? t->owner : "");
	if (!check(op, "the swarm holds the task", st, e, swarm)) {
		task_release(t);
		return check_failure(op, e);
	}
	why_add(op, "fencing token", "", "%llu (from the claim; complete and fail present it)",
		(unsigned long long)t->token);
	return st;
}

/* Complete or fail the task with the record, presenting the claim's token. */
static enum status
settle(struct bus *b, const struct coord_cfg *cc, struct opctx *op, const struct task *t,
       const char *swarm, const struct rowset *rs, size_t r, bool ok, struct err *e)
{
	struct owner_req rq = { ok ? OWNER_COMPLETE : OWNER_FAIL, t->id, swarm, t->token, NULL,
				NULL, false };
	struct buf rec = BUF_INIT, reason = BUF_INIT;
	struct task after;
	enum status st;

	chassis_record_json(rs, r, &rec);
	buf_addf(&reason, "%s: %s", rows_get(rs, r, RC_ID), rows_get(rs, r, RC_REASON));
	rq.result = ok ? rec.s : NULL;
	rq.reason = ok ? NULL : reason.s;
	st = coord_owner(b, cc, op, &rq, &after, e);
	if (st == ST_OK)
		task_release(&after);
	buf_release(&rec);
	buf_release(&reason);
	return st;
}

/* The module a task names in its payload ({"module": NAME}) within o->modules. */
static char *
task_module(const struct chassis_opts *o, const struct task *t, struct err *e)
{
	struct json_doc doc = JSON_DOC_INIT;
	const struct json_value *m = NULL;
	char *path = NULL;

	if (o->modules == NULL)
		return xstrdup(o->spec.program);
	if (t->payload && json_parse(t->payload, strlen(t->payload), "payload", &doc, NULL) == ST_OK &&
	    doc.root->type == JSON_OBJECT)
		m = json_member(doc.root, "module");
	if (m && m->type == JSON_STRING && task_id_valid(m->str))
		path = xasprintf("%s/%s", o->modules, m->str);
	else if (o->spec.program)
		path = xstrdup(o->spec.program);
	else
		err_set(e, ST_BAD_VALUE, "task '%s' names no module (payload {\"module\": NAME} "
			"with a file name in '%s')", t->id, o->modules);
	json_doc_release(&doc);
	return path;
}

/* Run the held task t, with heartbeats, and settle it. */
static enum status
run_held(struct bus *b, const struct coord_cfg *cc, struct opctx *op, const struct chassis_opts *o,
	 const struct task *t, struct rowset *out, bool *ok, bool *limit_hit, struct err *e)
{
	struct beat bt = { b, cc, t->id, o->swarm, op->trace_id, t->token,
			   PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false, 0, ERR_INIT };
	struct chassis_opts run = *o;
	pthread_t th;
	bool started;
	char *prog;
	enum status st, rst;

	run.task = t->id;
	if ((prog = task_module(o, t, e)) == NULL) {
		rst = ST_BAD_VALUE;
		goto refused;
	}
	run.spec.program = prog;
	run.spec.cancel = &bt.cancel;
	started = pthread_create(&th, NULL, beat_main, &bt) == 0;
	rst = chassis_run(b, op, &run, t->payload ? t->payload : "", t->payload ? strlen(t->payload) : 0,
			  out, ok, limit_hit, e);
	pthread_mutex_lock(&bt.mu);
	bt.done = true;
	pthread_cond_broadcast(&bt.cv);
	pthread_mutex_unlock(&bt.mu);
	if (started)
		pthread_join(th, NULL);
	free(prog);
	if (rst == ST_OK)
		return settle(b, cc, op, t, o->swarm, out, out->nrows - 1, *ok, e);
refused:
	/*
	 * The program could not run at all: a module missing or malformed fails
	 * the task for good; the host's trouble (no sandbox) gives it back.
	 */
	{
		bool task_fault = rst == ST_BAD_VALUE || rst == ST_NOT_FOUND;
		struct owner_req rq = { task_fault ? OWNER_FAIL : OWNER_RELEASE, t->id, o->swarm,
					t->token, NULL, e ? e->msg : "", true };
		struct err fe = ERR_INIT;
		struct task after;

		if ((st = coord_owner(b, cc, op, &rq, &after, &fe)) == ST_OK)
			task_release(&after);
	}
	return rst;
}

enum status
chassis_task_run(struct bus *b, const struct coord_cfg *cc, struct opctx *op,
		 const struct chassis_opts *o, const char *id, struct rowset *out, bool *ok,
		 bool *limit_hit, struct err *e)
{
	struct task t;
	enum status st;

	*ok = *limit_hit = false;
	if ((st = held_task(b, cc, op, id, o->swarm, &t, e)) != ST_OK || op->falsify) {
		if (st == ST_OK)
			task_release(&t);
		return st;
	}
	st = run_held(b, cc, op, o, &t, out, ok, limit_hit, e);
	task_release(&t);
	return st;
}

/* --- serve -------------------------------------------------------------- */

enum status
chassis_may_claim(struct bus *b, struct opctx *op, const char *swarm, struct err *e)
{
	/* Budget exhaustion opens the breaker, so the governor's gate covers both. */
	return governor_may_claim(b, op, swarm, NULL, e);
}

enum status
chassis_slo_sample(struct bus *b, const struct rowset *rs, size_t r, struct err *e)
{
	struct slo_sample sm = { .kind = SLO_SAMPLE_RUN, .ts = wall_ms() };
	const char *outcome = rows_get(rs, r, RC_OUTCOME);
	int64_t ms = 0;

	sm.swarm = rows_get(rs, r, RC_SWARM);
	if (sm.swarm == NULL || *sm.swarm == '\0')
		return ST_OK;		/* a run for no swarm counts towards no objective */
	rows_get_i64(rs, r, RC_DURATION_MS, &ms);
	sm.latency_ms = (double)ms;
	sm.ok = outcome != NULL && strcmp(outcome, "ok") == 0;
	sm.task = rows_get(rs, r, RC_TASK);
	if (sm.task != NULL && *sm.task == '\0')
		sm.task = NULL;
	return slo_sample_publish(b, &sm, e);
}

/* Claim one task; ST_NOT_FOUND when none is ready. */
static enum status
claim_one(struct bus *b, struct coord_index *ix, const struct coord_cfg *cc, struct opctx *op,
	  const struct chassis_opts *o, const struct chassis_serve_opts *so, struct task *t,
	  struct err *e)
{
	struct claimer c = { 0 };
	enum status st;

	if ((st = chassis_may_claim(b, op, o->swarm, e)) != ST_OK)
		return st;
	c.swarm = o->swarm;
	c.caps = so->caps;
	c.ncaps = so->ncaps;
	return coord_claim(b, ix, cc, op, &c, t, e);
}

enum status
chassis_serve(struct bus *b, const struct coord_cfg *cc, struct opctx *op,
	      const struct chassis_opts *o, const struct chassis_serve_opts *so,
	      struct rowset *out, struct err *e)
{
	struct coord_index *ix = NULL;
	struct err re = ERR_INIT;
	struct task t;
	int64_t done = 0;
	bool ok, limit;
	enum status st;

	if ((st = coord_index_open(b, cc, &ix, e)) != ST_OK)
		return st;
	if (op->falsify) {	/* the checks of one claim; nothing runs */
		if ((st = claim_one(b, ix, cc, op, o, so, &t, e)) == ST_OK)
			task_release(&t);
		coord_index_free(ix);
		return st == ST_NOT_FOUND ? ST_OK : st;
	}
	while (!(so->stop && *so->stop) && (so->max_tasks == 0 || done < so->max_tasks)) {
		st = claim_one(b, ix, cc, op, o, so, &t, e);
		if (st == ST_NOT_FOUND && so->drain) {
			st = ST_OK;
			break;
		}
		if (st == ST_NOT_FOUND) {
			coord_index_wait(ix, 1000);
			continue;
		}
		if (st != ST_OK)
			break;
		err_clear(&re);
		st = run_held(b, cc, op, o, &t, out, &ok, &limit, &re);
		task_release(&t);
		done++;
		if (op->witness)
			ledger_flush(op->witness, NULL);
		if (st != ST_OK && st != ST_NOT_OWNER && st != ST_BAD_VALUE && st != ST_NOT_FOUND &&
		    st != ST_CONFLICT) {
			if (e)
				*e = re;
			break;		/* the sandbox or the server failed: stop */
		}
		st = ST_OK;
	}
	coord_index_free(ix);
	return st;
}
