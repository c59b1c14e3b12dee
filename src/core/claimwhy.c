/* What would make a task ready for a swarm: see claimwhy.h. */
#include <stdlib.h>
#include <string.h>

#include "core/claimwhy.h"
#include "core/task.h"
#include "core/util.h"

/* The obstacles, in the order the remedy names them. */
enum obstacle { OB_CAPS, OB_TO, OB_LEASE, OB_BACKOFF, OB_FINISHED, OB__COUNT };

struct claim_tally {
	const struct claimer *c;
	int64_t now;
	size_t n[OB__COUNT];
	struct buf shown[OB__COUNT];	/* up to CLAIM_WHY_SHOWN examples, ", "-separated */
	size_t invalid;
	size_t ready;			/* ready for the claimer now (a race lost meanwhile) */
};

struct claim_tally *
claim_tally_new(const struct claimer *c, int64_t now)
{
	struct claim_tally *t = xcalloc(1, sizeof *t);
	int i;

	t->c = c;
	t->now = now;
	for (i = 0; i < OB__COUNT; i++)
		buf_init(&t->shown[i]);
	return t;
}

void
claim_tally_free(struct claim_tally *t)
{
	int i;

	if (t == NULL)
		return;
	for (i = 0; i < OB__COUNT; i++)
		buf_release(&t->shown[i]);
	free(t);
}

/* The first capability t needs that the claimer did not offer. */
static const char *
missing_cap(const struct task *t, const struct claimer *c)
{
	size_t i, j;

	for (i = 0; i < t->ncaps; i++) {
		for (j = 0; j < c->ncaps; j++)
			if (strcmp(t->caps[i], c->caps[j]) == 0)
				break;
		if (j == c->ncaps)
			return t->caps[i];
	}
	return NULL;
}

/* Which obstacle keeps t from c now; OB__COUNT when none does. */
static enum obstacle
obstacle_of(const struct task *t, const struct claimer *c, int64_t now)
{
	if (t->state != TASK_QUEUED && t->state != TASK_CLAIMED)
		return OB_FINISHED;
	if (t->state == TASK_CLAIMED && t->lease_until > now)
		return OB_LEASE;
	if (t->state == TASK_QUEUED && t->not_before > now)
		return OB_BACKOFF;
	if (t->to && strcmp(t->to, c->swarm) != 0)
		return OB_TO;
	if (missing_cap(t, c))
		return OB_CAPS;
	return OB__COUNT;
}

/* One example of an obstacle, as the operator reads it. */
static void
example(struct buf *b, enum obstacle o, const struct task *t, const struct claimer *c)
{
	char when[32];

	switch (o) {
	case OB_CAPS:
		buf_addf(b, "'%s' needs '%s'", t->id, missing_cap(t, c));
		break;
	case OB_TO:
		buf_addf(b, "'%s' for '%s'", t->id, t->to);
		break;
	case OB_LEASE:
		fmt_time_ms(when, t->lease_until);
		buf_addf(b, "'%s' held by '%s' until %s", t->id, t->owner ? t->owner : "?", when);
		break;
	case OB_BACKOFF:
		fmt_time_ms(when, t->not_before);
		buf_addf(b, "'%s' until %s", t->id, when);
		break;
	default:
		break;
	}
}

void
claim_tally_add(struct claim_tally *t, const char *json, size_t len)
{
	struct task k;
	enum obstacle o;

	if (task_from_json(json, len, &k, NULL) != ST_OK) {
		t->invalid++;
		return;
	}
	o = obstacle_of(&k, t->c, t->now);
	if (o == OB__COUNT)
		t->ready++;
	if (o != OB__COUNT) {
		if (t->n[o]++ < CLAIM_WHY_SHOWN && o != OB_FINISHED) {
			if (t->shown[o].len)
				buf_adds(&t->shown[o], ", ");
			example(&t->shown[o], o, &k, t->c);
		}
	}
	task_release(&k);
}

/* What each obstacle means and what removes it. */
static const struct {
	const char *what;	/* after the count */
	const char *fix;	/* what would make it ready */
} obstacles[] = {
	[OB_CAPS] = { "needing a capability this swarm did not offer",
		      "claim with -c naming it, if the swarm can do it" },
	[OB_TO] = { "pushed --to another swarm", "only that swarm may claim them" },
	[OB_LEASE] = { "under a running lease", "ready when the lease ends without a heartbeat" },
	[OB_BACKOFF] = { "in retry backoff", "ready at that time" },
	[OB_FINISHED] = { "finished (done, failed or dead)",
			  "'ifctl task requeue ID' puts a failed or dead one back" },
};
_Static_assert(ARRAY_SIZE(obstacles) == OB__COUNT, "one row per obstacle");

void
claim_tally_text(const struct claim_tally *t, struct buf *out)
{
	size_t total = 0, shown = 0;
	int i;

	for (i = 0; i < OB__COUNT; i++)
		total += t->n[i];
	if (total == 0 && t->ready) {
		buf_addf(out, "%zu task%s ready for it now (another claimer took the one it "
			 "tried, or it changed meanwhile): claim again", t->ready,
			 t->ready == 1 ? " is" : "s are");
		return;
	}
	if (total == 0) {
		buf_addf(out, "the queue is empty%s: push a task with 'ifctl task push --title TEXT'",
			 t->invalid ? " of valid tasks (see 'ifctl task list --state invalid')" : "");
		return;
	}
	for (i = 0; i < OB__COUNT; i++) {
		if (t->n[i] == 0 || (i == OB_FINISHED && shown))
			continue;
		buf_addf(out, "%s%s: %zu (%s%s%s%s)", shown++ ? "; " : "tasks ", obstacles[i].what,
			 t->n[i], t->shown[i].s ? t->shown[i].s : "",
			 t->n[i] > CLAIM_WHY_SHOWN && i != OB_FINISHED ? ", ..." : "",
			 t->shown[i].len ? "; " : "", obstacles[i].fix);
	}
	buf_adds(out, "; or push one for it with 'ifctl task push'");
}

/* coord_index_each's callback. */
static void
tally_one(void *arg, const char *json, size_t len)
{
	claim_tally_add(arg, json, len);
}

void
claim_why(struct coord_index *ix, const struct claimer *c, int64_t now, struct buf *out)
{
	struct claim_tally *t = claim_tally_new(c, now);

	coord_index_each(ix, tally_one, t);
	claim_tally_text(t, out);
	claim_tally_free(t);
}

void
claim_why_remedy(struct coord_index *ix, const struct claimer *c, struct err *e)
{
	struct buf r = BUF_INIT;

	claim_why(ix, c, wall_ms(), &r);
	err_remedy(e, "%s", r.s);
	buf_release(&r);
}
