/*
 * ifctl doctor: checks of what the fleet's tools depend on, each with its
 * evidence and what to do. Read-only: it never repairs anything.
 *
 * Checks, in order: the host's witness key file; the local index file; the
 * server's streams and buckets; every record in IF_TASKS (a record another
 * client wrote that ifctl cannot use is quarantined by the coordinator,
 * and listed here by key with the reason); the tail of the witness ledger
 * (the last DOCTOR_TAIL entries parse, hash and chain; a message that is
 * not an entry is named by its sequence number).
 */
#ifndef IF_DOCTOR_H
#define IF_DOCTOR_H

#include "core/bus.h"
#include "core/config.h"
#include "core/rows.h"
#include "core/status.h"

#define DOCTOR_TAIL 1000	/* ledger entries checked from the end */
#define DOCTOR_EXAMPLES 5	/* bad records named in a check's evidence */

/*
 * Run every check (those needing the server only when b is not NULL) and
 * add one row per check to out: check, result (ok, fail), status (the
 * catalogue name), evidence, remedy. Returns ST_OK when every check passed,
 * else the status of the first that failed, with e naming it.
 */
enum status doctor_run(struct bus *b, const struct config *c, struct rowset *out,
		       struct err *e);

enum doctor_col { DC_CHECK, DC_RESULT, DC_STATUS, DC_EVIDENCE, DC_REMEDY, DC__COUNT };

/* The row set doctor_run fills ("checks"), by enum doctor_col. */
struct rowset *doctor_rows(void);

#endif
