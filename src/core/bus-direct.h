/*
 * Many stream messages read at once: direct gets ($JS.API.DIRECT.GET,
 * which every KV bucket's stream allows) sent in windows without waiting
 * for each answer, so a page of a hundred records costs about one round
 * trip, not a hundred; and any many requests the same way. Same threads
 * and failure modes as bus.h.
 */
#ifndef IF_BUS_DIRECT_H
#define IF_BUS_DIRECT_H

#include <stdint.h>

#include "core/bus.h"

/*
 * One message to read: by stream sequence (seq > 0), or the last one on a
 * subject (subject set, seq 0). Out: st is ST_OK (data, got_seq, op and
 * got_subject filled), ST_NOT_FOUND (no such message: purged, replaced
 * beyond the stream's history, or never written) or ST_TIMEOUT (no answer
 * in time). The caller releases each with bus_direct_release().
 */
struct bus_direct {
	uint64_t seq;			/* in: a stream sequence, or 0 */
	const char *subject;		/* in: when seq is 0 */
	enum status st;			/* out */
	struct buf data;		/* out: the message's body */
	uint64_t got_seq;		/* out: its sequence */
	char *got_subject;		/* out: its subject */
	enum bus_kv_op op;		/* out: from its KV-Operation header */
};
void bus_direct_release(struct bus_direct *d);

/*
 * Read every message of r[0..n) from stream, at most window requests in
 * flight, in at most the bus timeout per window. Returns ST_OK when every
 * request was answered (found or not), else the failure (ST_TIMEOUT,
 * ST_DISCONNECTED, ST_NOT_PERMITTED, ...) with e set; each r[i].st says
 * what became of it either way.
 */
enum status bus_direct_get_many(struct bus *b, const char *stream, struct bus_direct *r,
				size_t n, struct err *e);

/*
 * Many core NATS requests at once, in windows like the direct gets: body
 * r[i].data to subject r[i].subject. Out: st is ST_OK (reply holds the
 * answer's body), ST_NOT_FOUND (no one listens there) or ST_TIMEOUT (no
 * answer in time: it may still have been acted on). Returns ST_OK when
 * every request was answered, else the failure with e set. The caller
 * releases each with bus_req_release().
 */
struct bus_req {
	const char *subject;		/* in */
	const void *data;		/* in: the request's body */
	size_t len;
	enum status st;			/* out */
	struct buf reply;		/* out: the answer's body */
};
void bus_req_release(struct bus_req *r);
enum status bus_request_many(struct bus *b, struct bus_req *r, size_t n, struct err *e);

#endif
