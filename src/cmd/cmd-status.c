/* ifctl status: the server, its JetStream and the fleet's streams and buckets. */
#include <stdio.h>
#include <stdlib.h>

#include "cmd/cmd.h"
#include "core/probe.h"
#include "core/schema.h"
#include "core/server.h"
#include "core/util.h"

/* Median of a few round trips: one PING is too noisy to report. */
static enum status
median_rtt(struct bus *b, int64_t *us, struct err *e)
{
	int64_t v[5], t;
	size_t i, j;
	enum status st;

	for (i = 0; i < ARRAY_SIZE(v); i++)
		if ((st = bus_rtt(b, &v[i], e)) != ST_OK)
			return st;
	for (i = 1; i < ARRAY_SIZE(v); i++)
		for (j = i; j > 0 && v[j - 1] > v[j]; j--)
			t = v[j], v[j] = v[j - 1], v[j - 1] = t;
	*us = v[ARRAY_SIZE(v) / 2];
	return ST_OK;
}

/* The server record: what the probe and the connection say, and a local pid. */
static struct rowset *
server_rows(struct cmd_ctx *ctx, const struct bus_server_info *info, int64_t rtt_us)
{
	struct server_status s = {
		.url = bus_url(ctx->bus), .state = bus_state_name(bus_get_state(ctx->bus)),
		.version = info->version, .name = info->server_name,
		.server_id = info->server_id, .jetstream = info->jetstream, .rtt_us = rtt_us,
	};
	struct server_paths p;

	server_paths_init(&p, &ctx->cfg);
	s.local_pid = (long)server_running(&p);
	server_paths_release(&p);
	return schema_server_view(&s);
}

static enum status
run_status(struct cmd_ctx *ctx)
{
	struct bus_server_info info;
	struct rowset *res;
	int64_t rtt_us = 0;
	enum status st;
	size_t missing = 0;

	st = bus_probe(bus_url(ctx->bus), bus_timeout_ms(ctx->bus), &info, &ctx->err);
	if (st == ST_OK)
		st = median_rtt(ctx->bus, &rtt_us, &ctx->err);
	if (st != ST_OK)
		return st;
	why_add(&ctx->op, "rtt", "median of 5", "PING/PONG round trips over the connection");
	doc_add(&ctx->out, server_rows(ctx, &info, rtt_us));
	if (!info.jetstream)
		return err_set(&ctx->err, ST_NO_JETSTREAM, "server '%s' has JetStream disabled",
			       bus_url(ctx->bus));
	res = schema_status_rows();
	doc_add(&ctx->out, res);
	if ((st = schema_status(ctx->bus, res, &missing, &ctx->err)) != ST_OK)
		return st;
	why_add(&ctx->op, "resources", "DESIGN section 3",
		"%zu streams and buckets expected, %zu missing", res->nrows, missing);
	if (missing && !ctx->quiet)
		session_notice(ctx->session, NOTICE_WARN, "ifctl: %zu of the fleet's streams and "
			"buckets are missing; run 'ifctl up' (or 'ifctl up --schema-only')", missing);
	return ST_OK;
}

const struct cmd_entry cmd_status_entry = {
	.name = "status",
	.summary = "show the server, its round-trip time and every stream and bucket",
	.flags = CMD_NEEDS_BUS,
	.run = run_status,
	.examples =
		"ifctl status\n"
		"ifctl status -o json\n"
		"ifctl status --why             # how each figure was obtained",
	.see_also = "up, doctor, version",
	.schema = "status",
};
