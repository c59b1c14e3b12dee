/*
 * Swarms: profiles in the IF_SWARMS bucket, the governor's state of each,
 * and their typed views.
 *
 * Keys of IF_SWARMS (ifctl-protocol(7)):
 *
 *   <id>        the swarm's record: {"v":1,"profile":{SwarmProfile},
 *               "registered_at":MS,"last_seen":MS,"registered_by":WHO}.
 *               A swarm's own login may write it (heartbeats keep
 *               last_seen), so nothing in it is trusted to restrict the swarm.
 *   state.<id>  what the governor decided: retired, circuit breaker state,
 *               consecutive failures. Only operator logins write it (the
 *               swarm role may publish $KV.IF_SWARMS.<user> only), so a
 *               swarm can neither un-retire itself nor close its breaker.
 *
 * Both are schema-checked when read (schemas/swarm-profile.schema.json,
 * the profile and $defs/record, $defs/state); a record that fails is
 * reported as invalid and never used.
 *
 * Threads: functions may be called from any thread; results belong to the
 * caller.
 */
#ifndef IF_SWARM_H
#define IF_SWARM_H

#include <stdbool.h>
#include <stdint.h>

#include "core/bus.h"
#include "core/capability.h"
#include "core/json.h"
#include "core/jschema.h"
#include "core/kvmirror.h"
#include "core/opctx.h"
#include "core/price.h"	/* money_parse, money_str */
#include "core/rows.h"

#define SWARM_BUCKET "IF_SWARMS"
#define SWARM_STATE_PREFIX "state."	/* governor-owned keys */
#define SWARM_ID_MAX 64

enum breaker_state { BREAKER_CLOSED, BREAKER_OPEN, BREAKER_HALF_OPEN };
const char *breaker_name(enum breaker_state b);

/* What a swarm says it is (SwarmProfile). */
struct swarm_profile {
	char *id;
	char **caps;			/* sorted, unique */
	size_t ncaps;
	int64_t cost_per_hour_micros;	/* integer micro-USD */
	double reputation;		/* 0..1 */
	char *model;
	int max_concurrent;
	int64_t heartbeat_interval_ms;	/* how often it heartbeats; 0: not said (SLO
					   availability then uses slo.heartbeat_interval_ms) */
	char *metadata;			/* canonical JSON object, or NULL */
};

/* What the governor decided about a swarm (key state.<id>). */
struct swarm_state {
	bool present;			/* a record exists */
	bool invalid;			/* ...but is malformed (reason says why): the swarm may
					   not claim until an operator rewrites it */
	bool retired;
	enum breaker_state breaker;
	int failures;			/* consecutive */
	int64_t opened_at;		/* ms; 0 when never */
	char *reason;			/* of the last opening, or NULL */
	int64_t updated_at;
	uint64_t rev;			/* of the record, for compare-and-swap */
};

struct swarm {
	struct swarm_profile p;
	int64_t registered_at, last_seen;	/* ms; last_seen 0: never */
	char *registered_by;
	uint64_t rev;
	struct swarm_state st;
};

void swarm_profile_release(struct swarm_profile *p);
void swarm_state_release(struct swarm_state *s);
void swarm_release(struct swarm *s);

/* Does the profile list capability cap? (binary search; caps are sorted) */
bool swarm_has_cap(const struct swarm_profile *p, const char *cap);

/* Is id a swarm id (^[a-z0-9-]+$, at most SWARM_ID_MAX)? */
bool swarm_id_valid(const char *id);

/*
 * Read a profile from v: the schema (every failure added to res when not
 * NULL), then every capability against the registry, in the schema's form
 * ("/capabilities/2: ... (did you mean ...?)"). ST_BAD_VALUE with the
 * first failure in e.
 */
enum status swarm_profile_read(const struct json_value *v, const struct cap_registry *reg,
			       struct swarm_profile *out, struct jschema_result *res,
			       struct err *e);
/* The profile as canonical JSON. */
void swarm_profile_json(const struct swarm_profile *p, struct buf *out);

/* Parse a stored record (key id) or state record; ST_INVALID_RECORD says why. */
enum status swarm_record_parse(const char *id, const char *json, size_t len, struct swarm *out,
			       struct err *e);
enum status swarm_state_parse(const char *id, const char *json, size_t len,
			      struct swarm_state *out, struct err *e);
void swarm_state_json(const char *id, const struct swarm_state *s, struct buf *out);
/* The whole stored record of s (key s->p.id) as canonical JSON. */
void swarm_record_json(const struct swarm *s, struct buf *out);

/*
 * One swarm by id with its state and last_seen. ST_NOT_FOUND when it is not
 * registered; ST_INVALID_RECORD when its record is malformed.
 */
enum status swarm_get(struct bus *b, const char *id, struct swarm *out, struct err *e);

/* Every swarm: one KV watch snapshot of the bucket, never a get per key. */
struct swarm_invalid {
	char *key;
	char *reason;
};
struct swarm_list {
	struct swarm *v;	/* sorted by id */
	size_t n, cap;
	struct swarm_invalid *bad;
	size_t nbad, badcap;
};
void swarm_list_release(struct swarm_list *l);
enum status swarm_list(struct bus *b, struct swarm_list *out, struct err *e);
/*
 * Only the swarms whose record's text holds one of the n names as a JSON
 * string (a quick test before parsing: a swarm that lists none of a task's
 * capabilities cannot match it); *skipped counts the others, which are
 * neither parsed nor checked.
 */
enum status swarm_list_having(struct bus *b, char *const *names, size_t n,
			      struct swarm_list *out, size_t *skipped, struct err *e);
/*
 * IF_SWARMS as the local mirror keeps it (kvmirror.h): its records tagged
 * by the texts between two consecutive '"' of each that have a capability
 * name's syntax, so swarm_list_mirrored() reads only the records
 * swarm_list_having() would parse.
 */
extern const struct kvmirror_bucket swarm_mirror_bucket;
/*
 * swarm_list_having() from a synced mirror instead of the bucket: the same
 * swarms, invalid records and *skipped, read from disk (names, when given,
 * by tag: only the records that hold one are read at all).
 */
enum status swarm_list_mirrored(struct kvmirror *m, char *const *names, size_t n,
				struct swarm_list *out, size_t *skipped, struct err *e);
/* The swarm with id in l (binary search), or NULL. */
struct swarm *swarm_list_find(const struct swarm_list *l, const char *id);

/* Read key of bucket when it exists: *found false (and ST_OK) when it does not. */
enum status kv_get_maybe(struct bus *b, const char *bucket, const char *key,
			 struct bus_kv_entry *ent, bool *found, struct err *e);

/*
 * Register a swarm: create its record (ST_EXISTS when registered, unless
 * replace, which keeps registered_at and last_seen). Witnessed as
 * swarm.register, published on if.v1.evt.swarm.<id>.register.
 */
enum status swarm_register(struct bus *b, struct opctx *op, const struct swarm_profile *p,
			   bool replace, struct err *e);

/* Delete a swarm's record (the undo of a spawn that failed half-way). */
enum status swarm_unregister(struct bus *b, const char *id, struct err *e);

/*
 * Set last_seen to now (compare-and-swap, retried on a race). For claims'
 * heartbeats and 'swarm heartbeat'; ST_NOT_FOUND for an unregistered swarm.
 */
enum status swarm_touch(struct bus *b, const char *id, struct err *e);

/* Read a swarm's state record (absent: present false, closed, no failures). */
enum status swarm_state_get(struct bus *b, const char *id, struct swarm_state *out,
			    struct err *e);
/*
 * Write a swarm's state: create when s->present is false, else update on
 * s->rev (ST_CONFLICT when it moved). s->rev is set to the new revision.
 */
enum status swarm_state_put(struct bus *b, const char *id, struct swarm_state *s,
			    struct err *e);

/* Publish an event on if.v1.evt.swarm.<id>.<verb>: {"v":1,"type":"swarm",...}. */
void swarm_event(struct bus *b, const struct opctx *op, const char *id, const char *verb,
		 const char *fields_json);

/* Views: swarm list rows and one swarm's record. */
enum swarm_col {
	SW_ID, SW_STATUS, SW_BREAKER, SW_CAPABILITIES, SW_COST_PER_HOUR, SW_REPUTATION,
	SW_MODEL, SW_MAX_CONCURRENT, SW_FAILURES, SW_LAST_SEEN, SW_REGISTERED_AT,
	SW_COST_MICROS, SW_REASON, SW_HEARTBEAT_INTERVAL, SW__COUNT
};
struct rowset *swarm_view_list(void);
struct rowset *swarm_view_record(void);
void swarm_view_add(struct rowset *rs, const struct swarm *s);
void swarm_view_add_invalid(struct rowset *rs, const struct swarm_invalid *bad);
/* "active", "retired", "breaker-open", "half-open". */
const char *swarm_status(const struct swarm *s);


#endif
