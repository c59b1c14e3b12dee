/*
 * loadtasks URL BUCKET N [PREFIX [STATE [QUEUE]]]
 *
 * Fill a task bucket fast, for tests and measurements at scale: N queued
 * tasks PREFIX-0000001 ... written as KV puts published in batches of 1,000
 * (bus_js_publish_many), not one round trip each. Every second task needs
 * capability "gpu", every third is held (last) by swarm "s-<i % 4>" in the
 * record's owner field when STATE is claimed. The bucket must exist. With
 * QUEUE (a subject prefix such as if.v1.queue.task) each task's id is also
 * published on QUEUE.<priority>, as a push does for the ready queue.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bus.h"
#include "core/buf.h"
#include "core/task.h"
#include "core/util.h"
#include "harness.h"

#define BATCH 1000

/* Build task i as JSON into out (subject into subj). */
static void
make_task(const char *bucket, const char *prefix, long i, enum task_state st, int64_t now,
	  struct buf *subj, struct buf *out)
{
	struct task t;
	char id[128], own[16];

	snprintf(id, sizeof id, "%s-%07ld", prefix, i);
	task_init(&t);
	t.id = xstrdup(id);
	t.title = xstrdup("load");
	t.caps = xcalloc(2, sizeof *t.caps);
	if (i % 2 == 0) {
		t.caps[0] = xstrdup("gpu");
		t.ncaps = 1;
	}
	t.priority = 5;
	t.state = st;
	t.max_attempts = 3;
	t.created = t.updated = now - 1000 + i % 1000;
	if (st == TASK_CLAIMED) {
		snprintf(own, sizeof own, "s-%ld", i % 4);
		t.owner = xstrdup(own);
		t.token = 1;
		t.attempts = 1;
		t.lease_until = now + 3600000;
	}
	t.trace = xstrdup("load");
	task_history_add(&t, t.created, TASK_QUEUED, "loader", 0, NULL);
	buf_reset(out);
	task_to_json(&t, out);
	buf_reset(subj);
	buf_addf(subj, "$KV.%s.%s", bucket, id);
	task_release(&t);
}

/* Publish the id of each task in m (its key: the subject's last token) on queue.5. */
static enum status
queue_ids(struct bus *b, const char *queue, struct bus_pub_msg *m, size_t k)
{
	struct bus_pub_msg *q = xcalloc(k, sizeof *q);
	struct err e = ERR_INIT;
	char *subj = xasprintf("%s.5", queue);
	enum status st;
	size_t j;

	for (j = 0; j < k; j++) {
		q[j].subject = subj;
		q[j].data = strrchr(m[j].subject, '.') + 1;
		q[j].len = strlen(q[j].data);
	}
	if ((st = bus_js_publish_many(b, q, k, &e)) != ST_OK)
		fprintf(stderr, "loadtasks: queue: %s\n", e.msg);
	free(subj);
	free(q);
	return st;
}

int
main(int argc, char **argv)
{
	struct bus_pub_msg *m;
	struct buf *subj, *data;
	struct err e = ERR_INIT;
	enum task_state st = TASK_QUEUED;
	struct bus *b;
	long n, i, k, j;
	int64_t t0;
	int rc = 0;

	if (argc < 4 || argc > 7 || (n = atol(argv[3])) <= 0 ||
	    (argc >= 6 && !task_state_parse(argv[5], &st))) {
		fprintf(stderr, "usage: loadtasks URL BUCKET N [PREFIX [STATE [QUEUE]]]\n");
		return 2;
	}
	if ((b = hconnect(argv[1], 30000, 100, NULL, NULL)) == NULL)
		return 1;
	m = xcalloc(BATCH, sizeof *m);
	subj = xcalloc(BATCH, sizeof *subj);
	data = xcalloc(BATCH, sizeof *data);
	t0 = wall_ms();
	for (i = 0; i < n && rc == 0; i += k) {
		k = n - i < BATCH ? n - i : BATCH;
		for (j = 0; j < k; j++) {
			make_task(argv[2], argc > 4 ? argv[4] : "load", i + j + 1, st, t0,
				  &subj[j], &data[j]);
			memset(&m[j], 0, sizeof m[j]);
			m[j].subject = subj[j].s;
			m[j].data = data[j].s;
			m[j].len = data[j].len;
		}
		if (bus_js_publish_many(b, m, (size_t)k, &e) != ST_OK) {
			fprintf(stderr, "loadtasks: %s\n", e.msg);
			rc = 1;
		}
		if (rc == 0 && argc == 7 && queue_ids(b, argv[6], m, (size_t)k) != ST_OK)
			rc = 1;
	}
	for (j = 0; j < BATCH; j++) {
		buf_release(&subj[j]);
		buf_release(&data[j]);
	}
	free(m);
	free(subj);
	free(data);
	bus_close(b);
	return rc;
}
