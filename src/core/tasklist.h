/*
 * A page of 'ifctl task list' from the task index (taskdb.h): the places
 * of the page found by SQL in the order and under the filters of the
 * listing, then the page's records read from the buckets' streams by
 * sequence, pipelined (bus-direct.h): the cost follows the page, not the
 * number of tasks live or archived.
 *
 * A record may change between the index's sync and the read: one replaced
 * beyond the bucket's history or moved to the archive is read as the last
 * record of its key (live, then archived); one deleted, purged, or that no
 * longer passes the filters is left out, and the page is filled from the
 * places after it. The index must have been synced (or found fresh) by
 * the caller just before.
 *
 * Threads: those of struct taskdb and struct bus.
 */
#ifndef IF_TASKLIST_H
#define IF_TASKLIST_H

#include <stdbool.h>

#include "core/coord.h"
#include "core/taskdb.h"

/* More tasks than this in one listing: read from the buckets' snapshots instead. */
#define TASKLIST_DIRECT_MAX 50000
/* The tasks after a page are counted up to this many (so many: at least). */
#define TASKLIST_COUNT_MAX 100000

/*
 * The tasks that pass f (f->limit of them; all when 0), oldest first, with
 * out->more counting those after the last one listed (up to
 * TASKLIST_COUNT_MAX: a page's cost does not grow with what follows it); every invalid record
 * (the archive's too with f->archived) in out->bad. *served false (nothing
 * in out) when the listing would hold more than TASKLIST_DIRECT_MAX tasks:
 * the caller reads the snapshots (coord_list), whose cost is then that of
 * the output anyway. Release out with coord_listing_release().
 */
enum status tasklist_page(struct bus *b, const struct coord_cfg *cfg, struct taskdb *d,
			  const struct coord_filter *f, struct coord_listing *out, bool *served,
			  struct err *e);

#endif
