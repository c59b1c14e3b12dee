/*
 * slopub: SLO samples for tests and benchmarks, without the CLI.
 *
 *   slopub URL pub            lines on stdin, each "SWARM KIND AGO_MS [LATENCY_MS OK]"
 *                             (KIND task|run|heartbeat, OK 1|0, AGO_MS before now):
 *                             published as a client would (core NATS), then flushed
 *                             with a JetStream round trip so the stream holds them
 *   slopub URL raw SUBJECT    stdin's bytes as one message on SUBJECT (a hostile client)
 *   slopub URL flood N SWARMS N samples over SWARMS swarms within the last hour,
 *                             published as fast as the connection takes them
 *   slopub URL objectives N   objectives for swarm-0000 .. (N swarms) in IF_SLO_OBJECTIVES:
 *                             p99 2500 ms, success 0.98, availability 0.05, 30d
 *   slopub load DB N SWARMS DAYS
 *                             N samples over SWARMS swarms spread over the last DAYS
 *                             days, taken straight into the rollups file DB
 *                             (slodb_add and slodb_flush: the ingest path without NATS)
 *
 * Prints what it did on stderr; exit 0 on success.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bus.h"
#include "core/config.h"
#include "core/slo.h"
#include "core/slodb.h"
#include "core/util.h"
#include "harness.h"

/* Wait until the stream holds at least n messages (or 30 s). */
static int
wait_stream(struct bus *b, uint64_t n)
{
	struct bus_stream_stat ss;
	int64_t until = mono_ms() + 30000;

	while (mono_ms() < until) {
		if (bus_stream_stat(b, SLO_STREAM, &ss, NULL) == ST_OK && ss.msgs >= n)
			return 0;
		bus_rtt(b, &(int64_t){ 0 }, NULL);
	}
	fprintf(stderr, "slopub: the stream did not take every sample\n");
	return 1;
}

static uint64_t
stream_msgs(struct bus *b)
{
	struct bus_stream_stat ss = { 0 };

	bus_stream_stat(b, SLO_STREAM, &ss, NULL);
	return ss.msgs;
}

static int
do_pub(struct bus *b)
{
	char line[512], swarm[160], kind[32];
	int64_t now = wall_ms(), sent = 0;
	uint64_t before = stream_msgs(b);
	long long ago;
	double lat;
	int ok, n;

	while (fgets(line, sizeof line, stdin)) {
		struct slo_sample s = { 0 };
		struct err e = ERR_INIT;
		lat = 0;
		ok = 1;
		n = sscanf(line, "%159s %31s %lld %lf %d", swarm, kind, &ago, &lat, &ok);
		if (n < 3)
			continue;
		s.swarm = swarm;
		s.kind = strcmp(kind, "task") == 0 ? SLO_SAMPLE_TASK : strcmp(kind, "run") == 0 ?
			 SLO_SAMPLE_RUN : SLO_SAMPLE_HEARTBEAT;
		s.ts = now - ago;
		s.latency_ms = lat;
		s.ok = ok != 0;
		if (slo_sample_publish(b, &s, &e) != ST_OK) {
			fprintf(stderr, "slopub: %s\n", e.msg);
			return 1;
		}
		sent++;
	}
	fprintf(stderr, "slopub: %lld samples published\n", (long long)sent);
	return wait_stream(b, before + (uint64_t)sent);
}

static int
do_raw(struct bus *b, const char *subject)
{
	char buf[65536];
	size_t len = fread(buf, 1, sizeof buf, stdin);
	uint64_t before = stream_msgs(b);
	struct err e = ERR_INIT;

	if (bus_publish(b, subject, buf, len, &e) != ST_OK) {
		fprintf(stderr, "slopub: %s\n", e.msg);
		return 1;
	}
	return wait_stream(b, before + 1);
}

static int
do_flood(struct bus *b, long n, long swarms)
{
	int64_t now = wall_ms(), t0 = mono_ms();
	uint64_t before = stream_msgs(b);
	char swarm[32];
	long i;

	for (i = 0; i < n; i++) {
		struct slo_sample s = { .swarm = swarm, .kind = SLO_SAMPLE_TASK,
					.ts = now - (i * 7919) % 3600000,
					.latency_ms = (double)(i % 1000) + 0.5, .ok = i % 97 != 0 };
		snprintf(swarm, sizeof swarm, "swarm-%04ld", i % swarms);
		if (slo_sample_publish(b, &s, NULL) != ST_OK)
			bus_rtt(b, &(int64_t){ 0 }, NULL);	/* slow consumer: let it drain */
	}
	if (wait_stream(b, before + (uint64_t)n))
		return 1;
	fprintf(stderr, "slopub: %ld samples in the stream in %lld ms\n", n,
		(long long)(mono_ms() - t0));
	return 0;
}

static int
do_objectives(struct bus *b, long n)
{
	struct buf rec = BUF_INIT;
	struct err e = ERR_INIT;
	char swarm[32];
	long i;

	for (i = 0; i < n; i++) {
		struct slo_objective o;
		slo_objective_init(&o);
		snprintf(swarm, sizeof swarm, "swarm-%04ld", i);
		o.swarm = xstrdup(swarm);
		o.has[SLO_LATENCY] = o.has[SLO_SUCCESS] = o.has[SLO_AVAILABILITY] = true;
		o.p99_ms = 2500;
		o.target[SLO_SUCCESS] = 0.98;
		o.target[SLO_AVAILABILITY] = 0.05;
		o.window_s = 30 * 86400;
		o.created = o.updated = wall_ms();
		o.by = xstrdup("bench");
		buf_reset(&rec);
		slo_objective_to_json(&o, &rec);
		slo_objective_release(&o);
		if (bus_kv_put(b, SLO_BUCKET, swarm, rec.s, rec.len, NULL, &e) != ST_OK) {
			fprintf(stderr, "slopub: %s\n", e.msg);
			buf_release(&rec);
			return 1;
		}
	}
	buf_release(&rec);
	return 0;
}

static int
do_load(const char *path, long n, long swarms, long days)
{
	struct config c;
	struct slodb *d = NULL;
	struct err e = ERR_INIT;
	int64_t now = wall_ms(), span = days * 86400000LL, t0 = mono_ms();
	char swarm[32];
	uint64_t x = 88172645463325252ULL;
	long i;

	config_init(&c);
	if (slodb_open(&c, path, &d, &e) != ST_OK) {
		fprintf(stderr, "slopub: %s\n", e.msg);
		return 1;
	}
	slodb_set_now(d, now);
	for (i = 0; i < n; i++) {	/* in time order, as a stream holds them */
		struct slo_sample s = { .swarm = swarm, .kind = SLO_SAMPLE_TASK };
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;	/* xorshift64 */
		snprintf(swarm, sizeof swarm, "swarm-%04ld", (long)(x % (uint64_t)swarms));
		s.ts = now - span + (int64_t)((double)span * (double)i / (double)n);
		s.latency_ms = (double)((x >> 8) % 2000) + 0.25;
		s.ok = (x >> 40) % 100 != 0;
		slodb_add(d, &s, 30000);
		if (slodb_pending(d) >= 200000 && slodb_flush(d, 0, 0, now, &e) != ST_OK)
			break;
	}
	if (e.code == ST_OK)
		slodb_flush(d, 0, 0, now, &e);
	slodb_close(d);
	config_release(&c);
	if (e.code != ST_OK) {
		fprintf(stderr, "slopub: %s\n", e.msg);
		return 1;
	}
	fprintf(stderr, "slopub: %ld samples over %ld swarms and %ld days loaded in %lld ms\n",
		n, swarms, days, (long long)(mono_ms() - t0));
	return 0;
}

int
main(int argc, char **argv)
{
	struct bus *b;
	int rc;

	if (argc == 6 && strcmp(argv[1], "load") == 0)
		return do_load(argv[2], atol(argv[3]), atol(argv[4]), atol(argv[5]));
	if (argc < 3) {
		fprintf(stderr, "usage: slopub URL pub | URL raw SUBJECT | URL flood N SWARMS | "
			"URL objectives N | load DB N SWARMS DAYS\n");
		return 2;
	}
	if ((b = hconnect(argv[1], 5000, 100, NULL, NULL)) == NULL)
		return 1;
	if (strcmp(argv[2], "pub") == 0)
		rc = do_pub(b);
	else if (strcmp(argv[2], "raw") == 0 && argc == 4)
		rc = do_raw(b, argv[3]);
	else if (strcmp(argv[2], "objectives") == 0 && argc == 4)
		rc = do_objectives(b, atol(argv[3]));
	else if (strcmp(argv[2], "flood") == 0 && argc == 5)
		rc = do_flood(b, atol(argv[3]), atol(argv[4]));
	else
		rc = 2;
	bus_close(b);
	bus_shutdown();
	return rc;
}
