/*
 * The event loop: see evloop.h for the order of one iteration.
 *
 * Fds and timers live in small arrays scanned linearly: a front end watches
 * a handful of fds and keeps a handful of timers, so a heap or an epoll set
 * would buy nothing but code. Entries deleted during an iteration are only
 * marked (fn NULL) and swept at the start of the next one, so handlers may
 * add and delete freely while the arrays are walked by index.
 *
 * Timers carry the iteration that armed them: step 3 runs only timers armed
 * in an earlier iteration, which keeps a re-armed 0 ms timer from running
 * again in the same pass.
 */
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/evloop.h"
#include "core/util.h"

struct ev_fd {
	int fd;
	short events;
	evloop_fd_fn fn;		/* NULL: deleted */
	void *arg;
};

struct ev_timer {
	uint64_t id;
	int64_t when_ms;		/* mono_ms() deadline */
	uint64_t armed;			/* the iteration that armed it */
	evloop_timer_fn fn;		/* NULL: deleted */
	void *arg;
};

struct evloop {
	int wake_fd;			/* eventfd: evloop_wake() writes, the loop reads */
	atomic_bool stop;
	evloop_wake_fn wake_fn;
	void *wake_arg;
	struct ev_fd *fds;
	size_t nfds, fdcap;
	struct ev_timer *timers;
	size_t ntimers, timercap;
	uint64_t next_id;
	uint64_t iteration;
	struct pollfd *pfds;		/* built each iteration: wake fd, then fds */
	size_t pfdcap;
};

enum status
evloop_new(struct evloop **out, struct err *e)
{
	struct evloop *l;
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	*out = NULL;
	if (fd < 0)
		return err_set(e, ST_IO, "cannot make the event loop's wake fd: %s", strerror(errno));
	l = xcalloc(1, sizeof *l);
	l->wake_fd = fd;
	l->next_id = 1;
	atomic_init(&l->stop, false);
	*out = l;
	return ST_OK;
}

void
evloop_free(struct evloop *l)
{
	if (l == NULL)
		return;
	close(l->wake_fd);
	free(l->fds);
	free(l->timers);
	free(l->pfds);
	free(l);
}

void
evloop_add_fd(struct evloop *l, int fd, short events, evloop_fd_fn fn, void *arg)
{
	size_t i;

	for (i = 0; i < l->nfds; i++)
		if (l->fds[i].fd == fd && l->fds[i].fn)
			break;
	if (i == l->nfds) {
		xgrow(&l->fds, &l->fdcap, l->nfds + 1, sizeof *l->fds);
		l->nfds++;
	}
	l->fds[i] = (struct ev_fd){ fd, events, fn, arg };
}

void
evloop_del_fd(struct evloop *l, int fd)
{
	size_t i;

	for (i = 0; i < l->nfds; i++)
		if (l->fds[i].fd == fd)
			l->fds[i].fn = NULL;
}

uint64_t
evloop_add_timer(struct evloop *l, int64_t ms, evloop_timer_fn fn, void *arg)
{
	struct ev_timer *t;

	xgrow(&l->timers, &l->timercap, l->ntimers + 1, sizeof *l->timers);
	t = &l->timers[l->ntimers++];
	*t = (struct ev_timer){ l->next_id++, mono_ms() + (ms > 0 ? ms : 0), l->iteration, fn,
				arg };
	return t->id;
}

void
evloop_del_timer(struct evloop *l, uint64_t id)
{
	size_t i;

	for (i = 0; i < l->ntimers; i++)
		if (l->timers[i].id == id)
			l->timers[i].fn = NULL;
}

void
evloop_on_wake(struct evloop *l, evloop_wake_fn fn, void *arg)
{
	l->wake_fn = fn;
	l->wake_arg = arg;
}

void
evloop_wake(struct evloop *l)
{
	uint64_t one = 1;
	int saved = errno;	/* signal handlers must leave errno alone */

	if (write(l->wake_fd, &one, sizeof one) < 0) {
		/* EAGAIN only when the counter is full: the loop is woken anyway. */
	}
	errno = saved;
}

void
evloop_stop(struct evloop *l)
{
	atomic_store(&l->stop, true);
	evloop_wake(l);
}

/* Drop the entries deleted during the last iteration, keeping the order. */
static void
sweep(struct evloop *l)
{
	size_t i, n;

	for (i = n = 0; i < l->nfds; i++)
		if (l->fds[i].fn)
			l->fds[n++] = l->fds[i];
	l->nfds = n;
	for (i = n = 0; i < l->ntimers; i++)
		if (l->timers[i].fn)
			l->timers[n++] = l->timers[i];
	l->ntimers = n;
}

/* How long poll() may wait: until the earliest timer, at most max_ms. */
static int
poll_timeout(const struct evloop *l, int64_t max_ms)
{
	int64_t now = mono_ms(), wait = max_ms;
	size_t i;

	for (i = 0; i < l->ntimers; i++) {
		int64_t left = l->timers[i].when_ms - now;
		if (left < 0)
			left = 0;
		if (wait < 0 || left < wait)
			wait = left;
	}
	return wait < 0 ? -1 : wait > INT32_MAX ? INT32_MAX : (int)wait;
}

/* The earliest timer due by now and armed before this iteration, or NULL. */
static struct ev_timer *
next_due(struct evloop *l, int64_t now)
{
	struct ev_timer *best = NULL;
	size_t i;

	for (i = 0; i < l->ntimers; i++) {
		struct ev_timer *t = &l->timers[i];
		if (t->fn == NULL || t->armed >= l->iteration || t->when_ms > now)
			continue;
		if (best == NULL || t->when_ms < best->when_ms ||
		    (t->when_ms == best->when_ms && t->id < best->id))
			best = t;
	}
	return best;
}

/* Step 3: the due timers, earliest first. Returns how many ran. */
static int
run_timers(struct evloop *l)
{
	int64_t now = mono_ms();
	struct ev_timer *t;
	int ran = 0;

	while ((t = next_due(l, now)) != NULL) {
		uint64_t id = t->id;
		evloop_timer_fn fn = t->fn;
		int64_t next = fn(l, id, t->arg);
		size_t i;
		ran++;
		for (i = 0; i < l->ntimers; i++) {	/* the array may have moved */
			if (l->timers[i].id != id || l->timers[i].fn == NULL)
				continue;
			if (next < 0) {
				l->timers[i].fn = NULL;
			} else {
				l->timers[i].when_ms = mono_ms() + next;
				l->timers[i].armed = l->iteration;
			}
		}
	}
	return ran;
}

/* Step 1: the handlers of the fds poll() found ready. */
static int
run_fds(struct evloop *l, size_t npolled)
{
	size_t i;
	int ran = 0;

	for (i = 0; i < npolled; i++) {
		short rev = l->pfds[i + 1].revents;
		if (rev == 0 || l->fds[i].fn == NULL)
			continue;
		l->fds[i].fn(l, l->fds[i].fd, rev, l->fds[i].arg);
		ran++;
	}
	return ran;
}

int
evloop_run_once(struct evloop *l, int64_t max_ms)
{
	size_t i, npolled;
	int ran = 0, n;

	sweep(l);
	l->iteration++;
	npolled = l->nfds;
	xgrow(&l->pfds, &l->pfdcap, npolled + 1, sizeof *l->pfds);
	l->pfds[0] = (struct pollfd){ l->wake_fd, POLLIN, 0 };
	for (i = 0; i < npolled; i++)
		l->pfds[i + 1] = (struct pollfd){ l->fds[i].fd, l->fds[i].events, 0 };
	n = poll(l->pfds, (nfds_t)npolled + 1, atomic_load(&l->stop) ? 0 : poll_timeout(l, max_ms));
	if (n < 0 && errno != EINTR)
		return -1;
	if (n > 0) {
		bool woken = l->pfds[0].revents != 0;
		ran += run_fds(l, npolled);
		if (woken) {
			uint64_t count;
			if (read(l->wake_fd, &count, sizeof count) < 0)
				count = 0;	/* EAGAIN: another reader got it */
			if (l->wake_fn) {
				l->wake_fn(l, l->wake_arg);
				ran++;
			}
		}
	}
	return ran + run_timers(l);
}

enum status
evloop_run(struct evloop *l, struct err *e)
{
	enum status st = ST_OK;

	while (!atomic_load(&l->stop)) {
		if (evloop_run_once(l, -1) < 0) {
			st = err_set(e, ST_IO, "event loop: poll failed: %s", strerror(errno));
			break;
		}
	}
	atomic_store(&l->stop, false);
	return st;
}
