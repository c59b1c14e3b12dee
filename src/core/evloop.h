/*
 * One event loop for every live face (in the spirit of redis's ae.c):
 * poll(2) over file descriptors, a wake fd that other threads and signal
 * handlers write to, and timers. Core never prints; the handlers do what
 * the front end needs.
 *
 * One iteration (evloop_run_once): wait in poll() until a watched fd is
 * ready, the loop is woken, or the earliest timer is due; then call
 *   1. the handler of each ready fd, in the order the fds were added;
 *   2. the wake handler, once, however many evloop_wake() calls came since
 *      the last iteration (wakes coalesce: keep the work in a queue of your
 *      own, and drain all of it there);
 *   3. every timer due by then, earliest deadline first, equal deadlines in
 *      the order the timers were added. A timer added or re-armed during the
 *      iteration runs on a later one, so a 0 ms timer cannot starve the fds.
 * An fd or timer deleted during the iteration is not called after that.
 *
 * Threads: a loop belongs to the thread that runs it. evloop_wake() and
 * evloop_stop() may be called from any thread and from a signal handler
 * (each is one atomic store and one write(2) to an eventfd); every other
 * function only from the loop's thread, its handlers included.
 *
 * How the faces use it:
 *  - a watch callback (bus.h: it runs on a nats.c thread) appends the event
 *    to a queue under a lock of the front end's own, then calls
 *    evloop_wake(); the wake handler drains the queue on the loop's thread
 *    (src/cmd/follow.c does this for task watch and witness tail -f);
 *  - a full-screen console adds the terminal with
 *    evloop_add_fd(l, STDIN_FILENO, POLLIN, on_key, ui), has its SIGWINCH
 *    handler call evloop_wake(), and repaints from a 100 ms timer only what
 *    its handlers marked dirty.
 */
#ifndef IF_EVLOOP_H
#define IF_EVLOOP_H

#include <stdint.h>

#include "core/status.h"

struct evloop;

/* fd is ready: revents as poll(2) reports them (POLLIN, POLLOUT, POLLHUP...). */
typedef void (*evloop_fd_fn)(struct evloop *l, int fd, short revents, void *arg);
/* The loop was woken at least once since the last iteration. */
typedef void (*evloop_wake_fn)(struct evloop *l, void *arg);
/* A timer is due: return the delay in ms to its next call, or EVLOOP_DONE. */
typedef int64_t (*evloop_timer_fn)(struct evloop *l, uint64_t id, void *arg);
#define EVLOOP_DONE (-1)

/* A new loop with its wake fd; ST_IO when the fd cannot be made. */
enum status evloop_new(struct evloop **out, struct err *e);
/* Free the loop (not the fds it watched); NULL is a no-op. */
void evloop_free(struct evloop *l);

/* Watch fd for events (POLLIN, POLLOUT); adding an fd again replaces its handler. */
void evloop_add_fd(struct evloop *l, int fd, short events, evloop_fd_fn fn, void *arg);
void evloop_del_fd(struct evloop *l, int fd);

/* Call fn in ms milliseconds (0: on the next iteration). Ids start at 1. */
uint64_t evloop_add_timer(struct evloop *l, int64_t ms, evloop_timer_fn fn, void *arg);
void evloop_del_timer(struct evloop *l, uint64_t id);

/* The handler of wakes (one; NULL to have none). */
void evloop_on_wake(struct evloop *l, evloop_wake_fn fn, void *arg);
/* Wake the loop; any thread, async-signal-safe. */
void evloop_wake(struct evloop *l);
/*
 * Make evloop_run() return after the current iteration; any thread,
 * async-signal-safe. A stop that comes before evloop_run() makes it return
 * at once.
 */
void evloop_stop(struct evloop *l);

/*
 * One iteration, waiting at most max_ms (-1: until something happens).
 * Returns the number of handlers called, or -1 when poll() failed (errno
 * set; EINTR is not a failure but an iteration that called nothing).
 */
int evloop_run_once(struct evloop *l, int64_t max_ms);
/* Iterate until evloop_stop(); ST_IO when poll() fails. Clears the stop. */
enum status evloop_run(struct evloop *l, struct err *e);

#endif
