/* Following a live feed until Ctrl-C: shared by task watch and witness tail. */
#include <signal.h>
#include <stdio.h>

#include "cmd/cmd.h"

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

void
follow_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

bool
follow_stopped(void)
{
	return stop != 0;
}

bool
follow_emit(const char *line)
{
	return fputs(line, stdout) != EOF && fputc('\n', stdout) != EOF && fflush(stdout) != EOF;
}
