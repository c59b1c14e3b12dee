/*
 * What an empty claim says is in the way (claimwhy.c), over records given
 * one by one: each obstacle named with its examples, at most three shown,
 * finished tasks only when nothing else stands in the way, an empty queue,
 * and records that are not tasks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/claimwhy.h"
#include "core/util.h"

#define NOW 1764052800000LL

static char cap_summarise[] = "summarise";
static char *caps_s1[] = { cap_summarise };
static const struct claimer s1 = { "s1", caps_s1, 1 };

/* A record: state, extra members (after the required ones). */
static void
add(struct claim_tally *t, const char *id, const char *state, const char *extra)
{
	char json[512];

	snprintf(json, sizeof json, "{\"v\":1,\"id\":\"%s\",\"state\":\"%s\",\"priority\":5,"
		 "\"attempts\":1,\"max_attempts\":5,\"created\":1%s%s}", id, state,
		 extra[0] ? "," : "", extra);
	claim_tally_add(t, json, strlen(json));
}

/* The remedy for the records added. */
static char *
text(struct claim_tally *t)
{
	struct buf b = BUF_INIT;

	claim_tally_text(t, &b);
	claim_tally_free(t);
	return buf_detach(&b);
}

static void
test_empty(void **state)
{
	char *s;

	(void)state;
	s = text(claim_tally_new(&s1, NOW));
	assert_string_equal(s, "the queue is empty: push a task with 'ifctl task push --title TEXT'");
	free(s);
}

static void
test_obstacles(void **state)
{
	struct claim_tally *t = claim_tally_new(&s1, NOW);
	char *s;

	(void)state;
	add(t, "a", "queued", "\"capabilities\":[\"summarise\",\"gpu\"]");
	add(t, "b", "queued", "\"to\":\"s2\"");
	add(t, "c", "claimed", "\"owner\":\"s3\",\"token\":4,\"lease_until\":1764052860000");
	add(t, "d", "queued", "\"not_before\":1764052805000");
	add(t, "e", "done", "");
	s = text(t);
	assert_non_null(strstr(s, "tasks needing a capability this swarm did not offer: 1 "
				  "('a' needs 'gpu'; claim with -c"));
	assert_non_null(strstr(s, "pushed --to another swarm: 1 ('b' for 's2'; only that swarm"));
	assert_non_null(strstr(s, "under a running lease: 1 ('c' held by 's3' until "
				  "2025-11-25T06:41:00.000Z; ready when"));
	assert_non_null(strstr(s, "in retry backoff: 1 ('d' until 2025-11-25T06:40:05.000Z"));
	assert_null(strstr(s, "finished"));	/* named only when nothing else is */
	free(s);
}

static void
test_three_shown(void **state)
{
	struct claim_tally *t = claim_tally_new(&s1, NOW);
	char *s;

	(void)state;
	add(t, "a", "queued", "\"to\":\"x\"");
	add(t, "b", "queued", "\"to\":\"x\"");
	add(t, "c", "queued", "\"to\":\"x\"");
	add(t, "d", "queued", "\"to\":\"x\"");
	s = text(t);
	assert_non_null(strstr(s, "pushed --to another swarm: 4 ('a' for 'x', 'b' for 'x', "
				  "'c' for 'x', ...;"));
	assert_null(strstr(s, "'d'"));
	free(s);
}

static void
test_finished_and_invalid(void **state)
{
	struct claim_tally *t = claim_tally_new(&s1, NOW);
	char *s;

	(void)state;
	add(t, "a", "dead", "");
	add(t, "b", "failed", "");
	s = text(t);
	assert_non_null(strstr(s, "tasks finished (done, failed or dead): 2 ('ifctl task requeue"));
	free(s);
	t = claim_tally_new(&s1, NOW);
	claim_tally_add(t, "{\"v\":1", 6);
	s = text(t);
	assert_non_null(strstr(s, "the queue is empty of valid tasks (see 'ifctl task list "
				  "--state invalid')"));
	free(s);
}

/* A ready task is no obstacle: an expired lease, a queued task it may take. */
static void
test_ready_is_no_obstacle(void **state)
{
	struct claim_tally *t = claim_tally_new(&s1, NOW);
	char *s;

	(void)state;
	add(t, "a", "claimed", "\"owner\":\"s3\",\"token\":4,\"lease_until\":1764052700000");
	add(t, "b", "queued", "\"to\":\"s1\",\"capabilities\":[\"summarise\"]");
	s = text(t);
	assert_string_equal(s, "2 tasks are ready for it now (another claimer took the one it "
			    "tried, or it changed meanwhile): claim again");
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_obstacles),
		cmocka_unit_test(test_three_shown),
		cmocka_unit_test(test_finished_and_invalid),
		cmocka_unit_test(test_ready_is_no_obstacle),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
