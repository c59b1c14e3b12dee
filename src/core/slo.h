/*
 * Service level objectives of swarms: p99 latency, success rate and
 * availability, measured from samples, with error budgets, multi-window
 * burn-rate alerts (the SRE workbook's) and breach episodes.
 *
 * Objectives. One record per swarm in KV bucket SLO_BUCKET (IF_SLO_OBJECTIVES,
 * key = swarm id; schemas/slo-objective.schema.json): any of p99_ms (99 %
 * of outcomes faster than this), success (share of outcomes that succeed)
 * and availability (share of heartbeat slots the swarm was seen in), over
 * one window (1m to 90d). Swarm logins cannot write the bucket (their role
 * has no $KV.IF_SLO_OBJECTIVES.> publish), so a swarm cannot loosen its own
 * objective.
 *
 * Samples. JSON on SLO_SUBJECT_PREFIX<swarm> (stream IF_SLO), published
 * with core NATS (the stream captures them; no acknowledgement is awaited):
 * task outcomes (latency from claim to complete or fail, success), sandboxed
 * runs (duration, success) and heartbeats (seen alive). Any client may
 * publish one (ifctl-protocol(7), SLO SAMPLES).
 *
 * Rollups. Samples are never read twice: slodb.h keeps per swarm and per
 * minute, hour and day the outcome count, the successes, the heartbeat slots
 * seen and a latency sketch (sketch.h), in $IF_HOME/slo.db, copied from
 * IF_SLO by stream sequence (each sync reads what is new). A window is
 * answered from those rows: whole days and hours, minutes at its leading
 * edge.
 *
 * Windows. A window of length W with granularity g (a minute for W <= 6h,
 * an hour beyond) covers [floor_g(now) - W + g, now]: the current, partial
 * bucket and the W/g - 1 before it. So a 5m window at 12:07:30 holds
 * 12:03:00 to 12:07:30; a sample at 12:02:59.999 is outside it.
 *
 * Availability. The timeline is cut into slots of the swarm's heartbeat
 * interval (slo_heartbeat_interval_ms()); a slot is up when any sample of
 * the swarm arrived in it. Expected slots of a window: those that started
 * in it, after the swarm was first seen, and ended before now (the current
 * slot counts once it is up). Availability = up / expected.
 *
 * Threads: the functions here use the bus (thread-safe) and their own
 * memory; a struct slodb belongs to one thread at a time.
 */
#ifndef IF_SLO_H
#define IF_SLO_H

#include <stdbool.h>
#include <stdint.h>

#include "core/bus.h"
#include "core/config.h"
#include "core/opctx.h"
#include "core/rows.h"
#include "core/sketch.h"
#include "core/status.h"

#define SLO_BUCKET "IF_SLO_OBJECTIVES"
#define SLO_EPISODE_BUCKET "IF_SLO_EPISODES"
#define SLO_STREAM "IF_SLO"
#define SLO_SUBJECT_PREFIX "if.v1.slo.sample."
#define SLO_EVENT_PREFIX "if.v1.evt.slo."	/* then <swarm>.<verb> */
#define SLO_SAMPLE_MAX 4096			/* bytes of one sample */
#define SLO_WINDOW_MIN_S 60
#define SLO_WINDOW_MAX_S (90 * 86400)
#define SLO_LATENCY_Q 0.99			/* the latency objective's quantile */
#define SLO_LATENCY_MAX_MS 1e9			/* about 11.6 days */
#define SLO_SKEW_MS (5 * 60 * 1000)		/* a sample this far after its stream time is refused */
#define SLO_LATE_MS (24 * 3600 * 1000)		/* ... and this far before it */

enum slo_kind { SLO_LATENCY, SLO_SUCCESS, SLO_AVAILABILITY, SLO__KINDS };
/* "latency", "success", "availability". */
const char *slo_kind_name(enum slo_kind k);

struct slo_objective {
	char *swarm;
	bool has[SLO__KINDS];
	double p99_ms;			/* latency: 99 % of outcomes at most this */
	double target[SLO__KINDS];	/* latency: SLO_LATENCY_Q; success, availability: (0, 1) */
	int64_t window_s;
	int64_t created, updated;	/* ms since the epoch */
	char *by;			/* who defined it */
	uint64_t rev;			/* KV revision read (not stored) */
};
void slo_objective_init(struct slo_objective *o);
void slo_objective_release(struct slo_objective *o);

/*
 * Check a definition before it is stored: swarm an id, at least one
 * objective, p99_ms in (0, 1e9], success and availability in (0, 1) (1
 * leaves no error budget), window in [1m, 90d]. ST_BAD_VALUE naming it.
 */
enum status slo_objective_check(const struct slo_objective *o, struct err *e);
/* The record (canonical JSON) appended to out. */
void slo_objective_to_json(const struct slo_objective *o, struct buf *out);
/* Parse a stored record (hostile): typed fields, ranges, key = swarm. */
enum status slo_objective_parse(const char *key, const char *json, size_t len,
				struct slo_objective *o, struct err *e);

/*
 * "90s", "30m", "6h", "30d", "2w" (a positive integer and one unit) into
 * seconds; ST_BAD_VALUE when it does not parse. Text for messages: "30d".
 */
enum status slo_window_parse(const char *s, int64_t *seconds, struct err *e);
void slo_window_text(int64_t seconds, char out[24]);

/* --- samples ------------------------------------------------------------ */

enum slo_sample_kind { SLO_SAMPLE_TASK, SLO_SAMPLE_RUN, SLO_SAMPLE_HEARTBEAT,
		       SLO_SAMPLE__KINDS };
const char *slo_sample_kind_name(enum slo_sample_kind k);

struct slo_sample {
	const char *swarm;
	enum slo_sample_kind kind;
	int64_t ts;		/* ms since the epoch: when it happened */
	double latency_ms;	/* task, run: claim to complete or fail; run: its duration */
	bool ok;		/* task, run: succeeded */
	const char *task;	/* task id, or NULL */
};

/* The sample as JSON (schemas/slo-sample.schema.json); ST_BAD_VALUE when it is not valid. */
enum status slo_sample_encode(const struct slo_sample *s, struct buf *out, struct err *e);
/*
 * Parse a sample another client published (hostile): I-JSON, at most
 * SLO_SAMPLE_MAX bytes, v 1, swarm an id, kind known, ts, latency_ms in
 * [0, 1e9] and ok required for outcomes. Strings point into *doc (release
 * it after use).
 */
struct json_doc;
enum status slo_sample_parse(const char *json, size_t len, struct slo_sample *s,
			     struct json_doc *doc, struct err *e);

/*
 * Publish a sample on SLO_SUBJECT_PREFIX<swarm>: core NATS, no
 * acknowledgement awaited (the stream captures it), so it costs a caller
 * such as the coordinator one buffered write. ST_BAD_VALUE when it is not
 * valid (nothing sent).
 */
enum status slo_sample_publish(struct bus *b, const struct slo_sample *s, struct err *e);
/* A heartbeat sample of swarm at ts (ms). */
enum status slo_heartbeat(struct bus *b, const char *swarm, int64_t ts, struct err *e);

/*
 * The coordinator's hook: after task t changed by event verb (coord.h's
 * names) made by 'by', publish what it says of a swarm. complete and fail:
 * an outcome of by, latency from the claim (the last claim in t's history)
 * to t->updated; takeover and dead: a failure of the owner whose lease
 * expired (a swarm that crashed never says fail); claim and heartbeat: a
 * heartbeat of by. Other verbs, or no claim in the history: nothing.
 * Fire and forget: a failure to publish is not the coordinator's.
 */
struct task;
void slo_note_task(struct bus *b, const struct task *t, const char *verb, const char *by);

/*
 * Heartbeat intervals of swarms, from their profiles (swarm.h,
 * heartbeat_interval_ms): read once per sync with swarm_list() (one watch
 * snapshot of IF_SWARMS), then looked up per sample by binary search. Only
 * profiles that say one are held.
 */
struct slo_intervals {
	char **swarm;		/* sorted */
	int64_t *ms;
	size_t n;
};
/* A missing IF_SWARMS bucket is no profiles (ST_OK, none held). */
enum status slo_intervals_load(struct bus *b, struct slo_intervals *out, struct err *e);
void slo_intervals_release(struct slo_intervals *iv);

/*
 * The heartbeat interval of swarm, in ms: the slot length of its
 * availability. Its profile's (iv may be NULL), else config key
 * slo.heartbeat_interval_ms.
 */
int64_t slo_heartbeat_interval_ms(const struct config *c, const struct slo_intervals *iv,
				  const char *swarm);

/* --- windows and evaluation (pure) ------------------------------------- */

/* The windows an evaluation reads: burn-rate windows, then the objective's. */
enum slo_win { SLO_W5M, SLO_W30M, SLO_W1H, SLO_W6H, SLO_W3D, SLO_WOBJ, SLO_W__COUNT };
/* Length of a burn window in seconds (SLO_WOBJ: 0, the objective's). */
int64_t slo_win_seconds(enum slo_win w);
const char *slo_win_name(enum slo_win w);
/* Start (ms) of a window of seconds ending at now (see the top of this file). */
int64_t slo_window_start(int64_t now_ms, int64_t seconds);

/* What a window's rollups add up to. */
struct slo_counts {
	int64_t start, end;	/* ms: [start, end] */
	uint64_t n;		/* outcomes (task and run samples) */
	uint64_t ok;		/* of which succeeded */
	uint64_t slow;		/* of which slower than p99_ms (bucket-exact) */
	uint64_t up;		/* heartbeat slots seen */
	uint64_t expected;	/* heartbeat slots expected */
};

enum slo_alert { SLO_ALERT_NONE, SLO_ALERT_TICKET, SLO_ALERT_PAGE };
enum slo_verdict { SLO_NO_DATA, SLO_OK, SLO_WARN, SLO_BREACH };
const char *slo_alert_name(enum slo_alert a);
const char *slo_verdict_name(enum slo_verdict v);

/* The multi-window alert rules: severity, long and short window, burn factor. */
struct slo_alert_rule {
	enum slo_alert severity;
	enum slo_win long_w, short_w;
	double factor;
};
extern const struct slo_alert_rule slo_alert_rules[];
extern const size_t slo_nalert_rules;

/* One objective of one swarm, evaluated. */
struct slo_obj_result {
	bool defined;
	bool data;			/* the objective window holds samples (or slots) */
	double target;			/* p99 ms for latency, else the share */
	double measured;		/* p99 ms, success rate, availability */
	bool met;			/* measured meets target */
	uint64_t good, total;		/* over the objective window */
	double budget_left;		/* 1: untouched, 0: spent, < 0: overspent */
	bool burn_data[SLO_W__COUNT];
	double burn[SLO_W__COUNT];	/* error rate / (1 - target) */
	enum slo_alert alert;
	enum slo_verdict verdict;
	char reason[200];		/* why the verdict, one line */
};

struct slo_result {
	char *swarm;
	struct slo_obj_result o[SLO__KINDS];
	enum slo_verdict verdict;	/* the worst of its objectives */
	double p99_ms;			/* measured, when latency data exists */
	bool has_p99;
};
void slo_result_release(struct slo_result *r);

/*
 * Evaluate objective o from its windows' counts c[] and the objective
 * window's latency sketch (may be NULL: no latency data). Pure: the
 * fixtures of tests/unit/test-slo.c are computed by hand against it.
 * With op->explain, why rows give each window's samples and arithmetic.
 */
void slo_evaluate(const struct slo_objective *o, const struct slo_counts c[SLO_W__COUNT],
		  const struct sketch *lat, struct opctx *op, struct slo_result *r);

/*
 * The governor's feed. Reputation moves with compliance: each evaluation
 * gives delta = 0.05 * mean over the objectives with data of
 * clamp(budget_left, -1, 1), minus 0.05 more when any alert pages; 0 with
 * no data. A swarm with its budgets untouched gains 0.05, one that has
 * spent them exactly none, one that overspent twice over loses 0.05.
 */
double slo_reputation_delta(const struct slo_result *r);
/*
 * Policy "paging burn blocks new claims": true (and why in e, ST_REFUSED)
 * when any objective of r pages.
 */
bool slo_blocks_claims(const struct slo_result *r, struct err *e);

/* --- store-backed operations ------------------------------------------ */

struct slodb;

/*
 * Copy the samples of IF_SLO the rollups do not hold yet; *added counts
 * samples taken, *rejected those refused (malformed, a swarm that is not
 * the subject's, a time too far from the stream's). Commits as it goes.
 */
enum status slo_sync(struct bus *b, const struct config *c, struct slodb *d, uint64_t *added,
		     uint64_t *rejected, struct err *e);

/* Objectives: get one, list all, put (create or CAS update), delete. */
enum status slo_objective_get(struct bus *b, const char *swarm, struct slo_objective *o,
			      struct err *e);
struct slo_objectives {
	struct slo_objective *v;
	size_t n, cap;
	size_t invalid;			/* records that did not parse (skipped) */
};
enum status slo_objective_list(struct bus *b, struct slo_objectives *out, struct err *e);
void slo_objectives_release(struct slo_objectives *l);
enum status slo_objective_put(struct bus *b, struct opctx *op, struct slo_objective *o,
			      struct err *e);
enum status slo_objective_rm(struct bus *b, struct opctx *op, const char *swarm, struct err *e);

/*
 * Evaluate objectives l at now from the rollups (one query per window and
 * resolution across all swarms, or of swarm only when not NULL):
 * results r[0..l->n), in l's order.
 */
enum status slo_status(struct slodb *d, const struct config *c, const struct slo_objectives *l,
		       int64_t now, struct opctx *op, struct slo_result *r, struct err *e);

/*
 * Breach episodes. Per swarm and objective kind, KV SLO_EPISODE_BUCKET key
 * "cur.<kind>.<swarm>" holds the current episode (number, open or closed);
 * an episode opens when the verdict becomes breach and closes when it is
 * ok or warn again, or when the objective is no longer defined (no data
 * changes nothing). The change is a CAS on that key, so of two evaluators
 * only one opens (or closes) an episode; the winner writes the episode's
 * record under "ep.<kind>.<swarm>.<n>", publishes
 * if.v1.evt.slo.<swarm>.opened (or .closed) and witnesses
 * slo.violation.opened (.closed).
 *
 * The current episodes are read once (slo_episodes_load: one watch of the
 * bucket, not a request per swarm), then compared with the results.
 */
struct slo_episodes;
enum status slo_episodes_load(struct bus *b, struct slo_episodes **out, struct err *e);
void slo_episodes_free(struct slo_episodes *s);
/* Would slo_episodes_apply change anything (so the caller opens its witness first)? */
bool slo_episodes_due(const struct slo_episodes *s, const struct slo_result *r, size_t n);
/* Make the changes due; *changed counts those this call made (none under falsify or read-only). */
enum status slo_episodes_apply(struct bus *b, struct opctx *op, const struct slo_episodes *s,
			       const struct slo_result *r, size_t n, int64_t now, size_t *changed,
			       struct err *e);

/*
 * Standings: what the governor reads of a swarm's SLO results, so that a
 * match or a claim never syncs the stream. Key "standing.<swarm>" of
 * SLO_EPISODE_BUCKET (schemas/slo-standing.schema.json): the verdict, the
 * worst alert of its objectives, slo_reputation_delta() rounded to 0.01,
 * since when it holds these values, and the evaluation's trace. An
 * evaluation that records episodes (slo status, slo watch; not under
 * --read-only or falsify) writes the standings that changed (CAS on what
 * slo_episodes_load() read: of two evaluators one writes); a removed
 * objective leaves no-data, none, 0. A standing stays as the last
 * evaluation left it ('slo watch' keeps it current).
 *
 * The governor: effective reputation = clamp(profile reputation +
 * reputation_delta, 0, 1) in matching; policy slo_block_paging keeps a
 * swarm whose standing pages (or is malformed) from claims and matches.
 */
struct slo_standing {
	enum slo_verdict verdict;
	enum slo_alert alert;
	double delta;			/* reputation delta, rounded to 0.01 */
	int64_t since;			/* ms */
	uint64_t rev;			/* KV revision read (not stored) */
};
/* The standing r gives at now (since = now). */
void slo_standing_of(const struct slo_result *r, int64_t now, struct slo_standing *out);
/* Does b say something other than a (verdict, alert, delta)? */
bool slo_standing_differs(const struct slo_standing *a, const struct slo_standing *b);
/* clamp(reputation + s->delta, 0, 1); reputation itself when s is NULL. */
double slo_reputation_apply(double reputation, const struct slo_standing *s);
/* Parse a stored standing of swarm (hostile); ST_INVALID_RECORD says why. */
enum status slo_standing_parse(const char *swarm, const char *json, size_t len,
			       struct slo_standing *out, struct err *e);
/*
 * One swarm's standing, one KV get: *found false when it has none (or the
 * bucket does not exist); ST_INVALID_RECORD when it is malformed.
 */
enum status slo_standing_get(struct bus *b, const char *swarm, struct slo_standing *out,
			     bool *found, struct err *e);
/* Every standing: one watch snapshot of the bucket, sorted by swarm. */
struct slo_standing_entry {
	char *swarm;
	struct slo_standing s;
	bool invalid;			/* malformed: s is zero */
};
struct slo_standings {
	struct slo_standing_entry *v;
	size_t n, cap;
};
/* A missing bucket is no standings. */
enum status slo_standings_load(struct bus *b, struct slo_standings *out, struct err *e);
void slo_standings_release(struct slo_standings *l);
/* swarm's entry in l (binary search), or NULL. */
const struct slo_standing_entry *slo_standings_find(const struct slo_standings *l,
						    const char *swarm);
/*
 * Write the standings of r[0..n) that differ from those s holds (none
 * under falsify or read-only); *changed counts those this call wrote.
 */
enum status slo_standings_apply(struct bus *b, const struct opctx *op,
				const struct slo_episodes *s, const struct slo_result *r, size_t n,
				int64_t now, size_t *changed, struct err *e);

/* A violation (breach episode) record. */
struct slo_violation {
	char *swarm;
	enum slo_kind kind;
	uint64_t episode;
	bool open;
	int64_t opened, closed;	/* ms; closed 0 while open */
	double measured, target, budget_left;
	char *reason;
	char *trace;
};
void slo_violation_release(struct slo_violation *v);
enum status slo_violation_parse(const char *json, size_t len, struct slo_violation *v,
				struct err *e);
/* Every violation (of swarm, when not NULL), oldest first. */
struct slo_violations {
	struct slo_violation *v;
	size_t n, cap;
};
enum status slo_violations_list(struct bus *b, const char *swarm, struct slo_violations *out,
				struct err *e);
void slo_violations_release(struct slo_violations *l);

/* --- typed views --------------------------------------------------------- */

enum slo_def_col {
	SD_SWARM, SD_P99_MS, SD_SUCCESS, SD_AVAILABILITY, SD_WINDOW, SD_UPDATED, SD_BY,
	SD_CREATED, SD_REVISION, SD__COUNT
};
struct rowset *slo_objective_view(void);		/* "objectives" */
void slo_objective_view_add(struct rowset *rs, const struct slo_objective *o);

enum slo_status_col {
	SS_SWARM, SS_OBJECTIVE, SS_TARGET, SS_MEASURED, SS_MET, SS_SAMPLES, SS_BUDGET_LEFT,
	SS_BURN_5M, SS_BURN_30M, SS_BURN_1H, SS_BURN_6H, SS_BURN_3D, SS_ALERT, SS_VERDICT,
	SS_WINDOW, SS_REASON, SS__COUNT
};
struct rowset *slo_status_view(void);			/* "slo" */
/* One row per defined objective of r. */
void slo_status_view_add(struct rowset *rs, const struct slo_result *r,
			 const struct slo_objective *o);

enum slo_violation_col {
	SV_SWARM, SV_OBJECTIVE, SV_EPISODE, SV_STATE, SV_OPENED, SV_CLOSED, SV_MEASURED,
	SV_TARGET, SV_BUDGET_LEFT, SV_REASON, SV_TRACE, SV__COUNT
};
struct rowset *slo_violation_view(void);		/* "violations" */
void slo_violation_view_add(struct rowset *rs, const struct slo_violation *v);

#endif
