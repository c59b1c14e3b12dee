/*
 * The console's model of the fleet: what the panes show, kept up to date by
 * the feeds (KV watch of IF_TASKS, stream watch of IF_WITNESS, the bus's
 * state) or rebuilt for a past moment from the stored history (time
 * travel). No terminal here.
 *
 * Threads: the feeds' callbacks run on nats.c's threads (bus.h's watch
 * contract) and change the model under fleet.mu, then call the wake
 * function so that the console's loop repaints; the loop reads the model
 * under the same lock. A rewound fleet (fleet_rewind) belongs to the loop's
 * thread alone; its lock is there but uncontended.
 *
 * Memory: a task keeps what the panes show (no payload, result or
 * history: drill-down reads the record with 'task show'), about 400 bytes
 * plus its strings; the witness keeps the last FLEET_WITNESS_TAIL entries
 * and the chain's last hash, never the whole ledger.
 */
#ifndef IF_TUI_MODEL_H
#define IF_TUI_MODEL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/budget.h"
#include "core/bus.h"
#include "core/config.h"
#include "core/coord.h"
#include "core/slo.h"
#include "core/swarm.h"
#include "core/task.h"
#include "core/witness.h"

#define FLEET_WITNESS_TAIL 500	/* witness entries kept for the pane */

/* A task as the panes know it; invalid records keep their key and why. */
struct trow {
	struct task t;		/* payload, result and history dropped */
	struct coord_invalid bad;	/* bad.key set: not a valid task */
	bool from_history;	/* rewound: state read from the record's own history */
	struct trow *next;	/* hash chain */
};

/* Where the witness chain stands, as the pane's title says it. */
struct chain_state {
	uint64_t ok_to;		/* entries 1..ok_to verified (hash, seq, previous hash) */
	uint64_t target;	/* the stream's last sequence when the watch began */
	enum wfault fault;	/* WF_NONE, or the first bad entry's fault */
	uint64_t fault_seq;
	char detail[ERR_MSG_MAX];
	char last_hash[WITNESS_HEX];
};

typedef void (*fleet_wake_fn)(void *arg);

/* A small keyed set (swarms, budgets, objectives, episodes): sorted by key. */
struct krow {
	char *key;
	void *val;
};
struct kset {
	struct krow *v;
	size_t n, cap;
};

/* A swarm as the panes know it: its record (key <id>) and its state (state.<id>). */
struct srow {
	char *id;			/* the key's id */
	struct swarm sw;		/* sw.st: the state record's */
	bool have_rec;			/* the record key exists */
	char *bad;			/* the record is invalid: why */
	int64_t held;			/* claimed tasks it holds (from the tasks feed) */
};

/* A budget record, or why it is not one. */
struct brow {
	struct budget b;
	char *key, *bad;
	int64_t burn;			/* micro-USD spent in the last hour (cost index); -1 unknown */
};

/* One objective of one swarm, evaluated: one row of the SLO pane. */
struct slo_item {
	const struct slo_result *r;
	const struct slo_objective *o;
	enum slo_kind kind;
	uint64_t episode;		/* the current episode's number, 0: none */
	bool open;			/* ...and it is open */
	int64_t opened;
};

/* The SLO figures: objectives evaluated over the rollups at one moment. */
struct slo_figs {
	struct slo_objectives objs;
	struct slo_result *res;		/* objs.n of them */
	int64_t at_ms;			/* when evaluated (0: never) */
	char err[ERR_MSG_MAX];		/* the last failure, or "" */
};

struct fleet {
	pthread_mutex_t mu;		/* guards everything below */
	struct trow **buckets;		/* id -> task, chained */
	size_t nbuckets, ntasks;
	size_t by_state[TASK__COUNT], invalid;
	bool tasks_synced;		/* the watch's snapshot has arrived */
	struct wentry *tail;		/* ring of the last entries, oldest at tail_head */
	size_t ntail, tail_head;
	uint64_t witness_last;		/* sequence of the last entry seen */
	struct chain_state chain;
	bool witness_missing;		/* no IF_WITNESS stream */
	enum bus_state conn;		/* live: the connection's state */
	int64_t conn_since_ms;		/* wall time of the last change of conn */
	uint64_t reconnects;
	int64_t last_data_ms;		/* wall time of the last update from a feed */
	uint64_t gen;			/* bumped by every change of tasks, witness, connection */
	uint64_t dgen;			/* bumped by every change of swarms, budgets, SLO */
	unsigned dirty;			/* bits of the panes that changed (FLEET_D_*) */
	int64_t at_ms;			/* 0: live; else the moment it shows */
	size_t from_history;		/* rewound: tasks whose state came from their history */
	fleet_wake_fn wake;		/* called after a change (any thread), or NULL */
	void *wake_arg;
	struct bus_watch *tasks_w, *witness_w;
	struct trow *graveyard;		/* rows taken away, freed by fleet_reap() */
	/* swarms, budgets, SLO (domains.c) */
	struct kset swarms;		/* id -> struct srow */
	struct kset held;		/* owner -> int64_t claimed tasks */
	struct kset budgets;		/* key -> struct brow */
	struct kset objectives;		/* swarm -> struct slo_objective */
	struct kset episodes;		/* cur.<kind>.<swarm> -> struct slo_violation */
	struct slo_figs figs;
	struct slo_item *slo;		/* rebuilt from figs and episodes */
	size_t nslo;
	bool swarms_synced, budgets_synced, slo_synced;
	uint64_t slo_events;		/* if.v1.evt.slo.> seen */
	struct bus_watch *swarms_w, *budgets_w, *objectives_w, *episodes_w, *sloevt_w;
	const struct config *cfg;	/* for the rollups and the cost index; NULL: no figures */
	bool no_sync;			/* read-only: the local files are read, never brought up to date */
	struct bus *bus;		/* the figures worker's */
	pthread_t worker;
	bool worker_made, worker_quit, worker_kick;
	pthread_cond_t worker_cv;	/* with mu */
};

#define FLEET_D_TASKS	0x1
#define FLEET_D_WITNESS	0x2
#define FLEET_D_HEADER	0x4
#define FLEET_D_SWARMS	0x8
#define FLEET_D_BUDGETS	0x10
#define FLEET_D_SLO	0x20

#define FIGS_EVERY_MS 15000	/* the figures worker's period; events kick it sooner */
#define FIGS_MIN_MS 1000	/* ...but never more often than this */

/* An empty fleet; fleet_release() frees it (after the feeds stopped). */
void fleet_init(struct fleet *f);
void fleet_release(struct fleet *f);

/*
 * Start the feeds on b: the tasks' KV watch (snapshot, then changes) and
 * the witness stream from entry 1 (verified as it comes; the pane keeps the
 * tail). The bus's state callback must call fleet_on_state(). Stop them
 * with fleet_stop() before closing the bus.
 */
enum status fleet_start(struct fleet *f, struct bus *b, struct err *e);
void fleet_stop(struct fleet *f);
/* The bus's state callback (bus_opts.on_state, arg the fleet). */
void fleet_on_state(void *arg, enum bus_state st);

/* Free the rows taken away since the last call; the loop's thread, under f->mu. */
void fleet_reap(struct fleet *f);

/* Read the n tasks changed last straight from the bucket's stream (fast first frames). */
void fleet_prefill(struct fleet *f, struct bus *b, size_t n);

/* Apply one KV event of IF_TASKS / one witness entry (the feeds, tests, rewinds). */
void fleet_task_event(struct fleet *f, const struct bus_kv_event *ev);
void fleet_witness_entry(struct fleet *f, const struct wentry *e);

/* Apply one KV event of IF_SWARMS / IF_BUDGETS / IF_SLO_OBJECTIVES / IF_SLO_EPISODES. */
void fleet_swarm_event(struct fleet *f, const struct bus_kv_event *ev);
void fleet_budget_event(struct fleet *f, const struct bus_kv_event *ev);
void fleet_objective_event(struct fleet *f, const struct bus_kv_event *ev);
void fleet_episode_event(struct fleet *f, const struct bus_kv_event *ev);

/* The value at key in ks, or NULL; under f->mu. */
void *kset_get(const struct kset *ks, const char *key);
/* Swarms whose breaker is not closed; under f->mu. */
size_t fleet_breakers_open(const struct fleet *f);

/*
 * Evaluate the SLO figures and burn rates at now_ms (the rollups in
 * $IF_HOME/slo.db and the cost index, each synced first when sync) into
 * f; the objectives from f's. Slow (SQLite, the streams): the worker
 * thread's for a live fleet, the rewind's for a past one.
 */
void fleet_figures(struct fleet *f, struct bus *b, int64_t now_ms, bool sync);
/* Kick the figures worker (an SLO event, a changed objective). */
void fleet_figures_kick(struct fleet *f);

/* domains.c's share of fleet_init/release/start/stop/rewind. */
void domains_init(struct fleet *f);
void domains_release(struct fleet *f);
enum status domains_start(struct fleet *f, struct bus *b, struct err *e);
void domains_stop(struct fleet *f);
void domains_rewind(struct fleet *out, struct bus *b, int64_t at_ms);
/* A task counted in (+1) or out (-1) of its owner's claimed tasks; under f->mu. */
void domains_held(struct fleet *f, const char *owner, int sign);

/* A task by id, or NULL; under f->mu. */
struct trow *fleet_task(struct fleet *f, const char *id);
/* Call fn for every task; under f->mu. */
void fleet_each(struct fleet *f, void (*fn)(void *arg, struct trow *r), void *arg);
/* The witness tail's entry i, 0 the newest; under f->mu. */
const struct wentry *fleet_tail_at(const struct fleet *f, size_t i);

/*
 * Rebuild out (initialised here) as the fleet was at wall time at_ms:
 * every task from the last revision of its record stored at or before
 * then (IF_TASKS keeps 16 per key, ifctl-protocol(7)); a task whose
 * revisions from then are gone from its history takes the state its
 * newest record's own history gives for that moment (counted in
 * out->from_history). The witness pane: the entries appended by then,
 * found by time in IF_WITNESS. Blocks the caller; at most the bus timeout
 * per read.
 */
enum status fleet_rewind(struct fleet *out, struct bus *b, int64_t at_ms, struct err *e);

#endif
