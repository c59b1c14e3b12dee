/*
 * Following a live feed until Ctrl-C (task watch, witness tail -f): watch
 * callbacks queue lines from nats.c's threads, and the command's thread
 * writes them to stdout from one event loop (core/evloop.h), woken by the
 * callbacks, by SIGINT or SIGTERM, and by the command's own timers.
 *
 *	struct follow f;
 *	follow_open(&f, &err);			command thread
 *	bus_kv_watch(..., fn, &f, &w, &err);	fn calls follow_push(&f, line)
 *	evloop_add_timer(f.loop, ...);		optional, e.g. heartbeats
 *	st = follow_run(&f, "watch", &err);	until Ctrl-C, follow_finish() or EPIPE
 *	bus_watch_free(w);
 *	follow_close(&f);
 */
#ifndef IF_FOLLOW_H
#define IF_FOLLOW_H

#include <pthread.h>
#include <stdbool.h>

#include "core/buf.h"
#include "core/evloop.h"
#include "core/status.h"

/* Bytes queued before follow_push() waits for stdout to catch up. */
#define FOLLOW_QUEUE_MAX (1 << 20)

struct follow {
	struct evloop *loop;	/* the command thread's */
	pthread_t owner;	/* the thread that runs the loop */
	pthread_mutex_t mu;	/* guards the fields below */
	pthread_cond_t room;	/* the queue was written out */
	struct buf queue;	/* lines not yet written, each ending in '\n' */
	bool finish;		/* end once the queue is written */
	bool closing;		/* follow_run() returned: push never waits */
	bool failed;		/* stdout broke */
};

/* Make the loop; ST_IO when it cannot be made. */
enum status follow_open(struct follow *f, struct err *e);
/*
 * Queue one line (a '\n' is added); any thread. Off the loop's thread it
 * waits while FOLLOW_QUEUE_MAX bytes are queued, so a stalled stdout slows
 * the feed down instead of filling memory.
 */
void follow_push(struct follow *f, const char *line);
/* End the feed once what is queued is written (a count reached); any thread. */
void follow_finish(struct follow *f);
/*
 * Write queued lines as they come until SIGINT or SIGTERM (ST_INTERRUPTED,
 * "<what> stopped"), follow_finish() (ST_OK) or a broken stdout (ST_IO).
 */
enum status follow_run(struct follow *f, const char *what, struct err *e);
/* Free the loop and the queue; after the watch feeding f is freed. */
void follow_close(struct follow *f);

/* Write one line to stdout, flushed at once; false when stdout broke. */
bool follow_emit(const char *line);

#endif
