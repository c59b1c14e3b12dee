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

static struct rowset *
server_rows(struct cmd_ctx *ctx, const struct bus_server_info *info, int64_t rtt_us)
{
	struct rowset *rs = rows_new("server");
	struct server_paths p;
	pid_t pid;
	size_t r;

	rs->single = true;
	rows_col(rs, "url", COL_TEXT, 0);
	rows_col(rs, "state", COL_TEXT, 0);
	rows_col(rs, "version", COL_TEXT, 0);
	rows_col(rs, "name", COL_TEXT, 0);
	rows_col(rs, "jetstream", COL_BOOL, 0);
	rows_col(rs, "rtt_ms", COL_NUM, 0);
	rows_col(rs, "local_pid", COL_NUM, COL_WIDE);
	rows_col(rs, "server_id", COL_TEXT, COL_WIDE);
	r = rows_add(rs);
	rows_set(rs, r, 0, bus_url(ctx->bus));
	rows_set(rs, r, 1, bus_state_name(bus_get_state(ctx->bus)));
	rows_set(rs, r, 2, info->version);
	rows_set(rs, r, 3, info->server_name);
	rows_set(rs, r, 4, info->jetstream ? "true" : "false");
	rows_setf(rs, r, 5, "%.3f", (double)rtt_us / 1000.0);
	server_paths_init(&p, &ctx->cfg);
	pid = server_running(&p);
	server_paths_release(&p);
	if (pid)
		rows_setf(rs, r, 6, "%ld", (long)pid);
	rows_set(rs, r, 7, info->server_id);
	return rs;
}

static enum status
run_status(struct cmd_ctx *ctx)
{
	struct bus_server_info info;
	struct rowset *res;
	int64_t rtt_us = 0;
	enum status st;
	size_t i, missing = 0;

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
	if ((st = schema_status(ctx->bus, res, &ctx->err)) != ST_OK)
		return st;
	for (i = 0; i < res->nrows; i++)
		missing += rows_get(res, i, 2)[0] == 'm';
	why_add(&ctx->op, "resources", "DESIGN section 3",
		"%zu streams and buckets expected, %zu missing", res->nrows, missing);
	if (missing && !ctx->quiet)
		fprintf(stderr, "ifctl: %zu of the fleet's streams and buckets are missing; "
			"run 'ifctl up' (or 'ifctl up --schema-only')\n", missing);
	return ST_OK;
}

const struct cmd_entry cmd_status_entry = {
	.name = "status",
	.summary = "show the server, its round-trip time and every stream and bucket",
	.flags = CMD_NEEDS_BUS,
	.run = run_status,
};
