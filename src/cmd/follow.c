/*
 * Following a live feed until Ctrl-C: see follow.h.
 *
 * Signals. A SIGINT may be delivered to any thread, nats.c's included, and
 * at any moment, even while a loop is being freed; so the handler touches
 * no loop. It sets a flag and writes to one eventfd made for the process
 * and never closed, which each follow_run() watches in its loop.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "cmd/follow.h"

static volatile sig_atomic_t interrupted;
static int signal_fd = -1;	/* written by on_signal, read by the loop */

static void
on_signal(int sig)
{
	uint64_t one = 1;
	int saved = errno;

	(void)sig;
	interrupted = 1;
	if (signal_fd >= 0 && write(signal_fd, &one, sizeof one) < 0) {
		/* full counter: the loop is woken anyway */
	}
	errno = saved;
}

/* Catch SIGINT and SIGTERM once per process; false when the fd cannot be made. */
static bool
catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	if (signal_fd < 0)
		signal_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (signal_fd < 0)
		return false;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	return true;
}

/* A signal came: stop the loop. */
static void
on_signal_fd(struct evloop *l, int fd, short revents, void *arg)
{
	uint64_t count;

	(void)revents;
	(void)arg;
	if (read(fd, &count, sizeof count) < 0)
		count = 0;
	evloop_stop(l);
}

enum status
follow_open(struct follow *f, struct err *e)
{
	memset(f, 0, sizeof *f);
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->room, NULL);
	buf_init(&f->queue);
	f->owner = pthread_self();
	if (!catch_signals())
		return err_set(e, ST_IO, "cannot watch for Ctrl-C: %s", strerror(errno));
	return evloop_new(&f->loop, e);
}

void
follow_push(struct follow *f, const char *line)
{
	bool wait = !pthread_equal(pthread_self(), f->owner);

	pthread_mutex_lock(&f->mu);
	while (wait && !f->closing && f->queue.len >= FOLLOW_QUEUE_MAX)
		pthread_cond_wait(&f->room, &f->mu);
	if (!f->closing) {
		buf_adds(&f->queue, line);
		buf_addc(&f->queue, '\n');
	}
	pthread_mutex_unlock(&f->mu);
	evloop_wake(f->loop);
}

void
follow_finish(struct follow *f)
{
	pthread_mutex_lock(&f->mu);
	f->finish = true;
	pthread_mutex_unlock(&f->mu);
	evloop_wake(f->loop);
}

/* The wake handler: write out what is queued; stop when done or broken. */
static void
follow_drain(struct evloop *l, void *arg)
{
	struct follow *f = arg;
	struct buf out = BUF_INIT;
	bool finish;

	pthread_mutex_lock(&f->mu);
	out = f->queue;
	buf_init(&f->queue);
	finish = f->finish;
	pthread_cond_broadcast(&f->room);
	pthread_mutex_unlock(&f->mu);
	if (out.len && (fwrite(out.s, 1, out.len, stdout) != out.len || fflush(stdout) == EOF)) {
		pthread_mutex_lock(&f->mu);
		f->failed = true;
		pthread_mutex_unlock(&f->mu);
		evloop_stop(l);
	}
	if (finish)
		evloop_stop(l);
	buf_release(&out);
}

enum status
follow_run(struct follow *f, const char *what, struct err *e)
{
	enum status st = ST_OK;
	bool failed;

	evloop_on_wake(f->loop, follow_drain, f);
	evloop_add_fd(f->loop, signal_fd, POLLIN, on_signal_fd, NULL);
	if (!interrupted)
		st = evloop_run(f->loop, e);
	evloop_del_fd(f->loop, signal_fd);
	pthread_mutex_lock(&f->mu);
	f->closing = true;
	failed = f->failed;
	pthread_cond_broadcast(&f->room);
	pthread_mutex_unlock(&f->mu);
	if (st != ST_OK)
		return st;
	if (failed)
		return err_set(e, ST_IO, "cannot write output");
	if (interrupted)
		return err_set(e, ST_INTERRUPTED, "%s stopped", what);
	return ST_OK;
}

void
follow_close(struct follow *f)
{
	evloop_free(f->loop);
	f->loop = NULL;
	buf_release(&f->queue);
	pthread_cond_destroy(&f->room);
	pthread_mutex_destroy(&f->mu);
}

bool
follow_emit(const char *line)
{
	return fputs(line, stdout) != EOF && fputc('\n', stdout) != EOF && fflush(stdout) != EOF;
}
