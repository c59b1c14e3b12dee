/* ifctl up, ifctl down: the local NATS server. */
#include <stdio.h>
#include <stdlib.h>

#include <sodium.h>

#include "cmd/cmd.h"
#include "core/ledger.h"
#include "core/schema.h"
#include "core/server.h"
#include "core/upwhere.h"
#include "core/util.h"

/* What ifctl up and ifctl down say of the local server. */
enum up_col { UP_URL, UP_STATE, UP_PID, UP_VERSION, UP_HOME, UP_USERS, UP__COUNT };

static const struct view_col up_cols[] = {
	[UP_URL] = { "url", COL_TEXT, 0 },
	[UP_STATE] = { "state", COL_TEXT, 0 },
	[UP_PID] = { "pid", COL_NUM, 0 },
	[UP_VERSION] = { "version", COL_TEXT, 0 },
	[UP_HOME] = { "home", COL_TEXT, 0 },
	[UP_USERS] = { "users", COL_JSON, 0 },	/* tables: "operator, swarm, viewer" */
};
_Static_assert(ARRAY_SIZE(up_cols) == UP__COUNT, "one column per up_col");

enum down_col { DOWN_STATE, DOWN_PID, DOWN__COUNT };

static const struct view_col down_cols[] = {
	[DOWN_STATE] = { "state", COL_TEXT, 0 },
	[DOWN_PID] = { "pid", COL_NUM, 0 },
};
_Static_assert(ARRAY_SIZE(down_cols) == DOWN__COUNT, "one column per down_col");

/* One row per node of a local cluster, from up and down. */
enum node_col { ND_NODE, ND_NAME, ND_URL, ND_STATE, ND_PID, ND__COUNT };

static const struct view_col node_cols[] = {
	[ND_NODE] = { "node", COL_NUM, 0 },
	[ND_NAME] = { "name", COL_TEXT, 0 },
	[ND_URL] = { "url", COL_TEXT, 0 },
	[ND_STATE] = { "state", COL_TEXT, 0 },
	[ND_PID] = { "pid", COL_NUM, 0 },
};
_Static_assert(ARRAY_SIZE(node_cols) == ND__COUNT, "one column per node_col");

static const struct view node_view = VIEW("nodes", node_cols);
static const struct view up_view = VIEW("server", up_cols);
static const struct view down_view = VIEW("server", down_cols);

static void
explain_config(struct cmd_ctx *ctx, enum cfg_id id)
{
	const struct cfg_key *k = config_key(id);
	enum cfg_source src = ctx->cfg.source[id];

	why_add(&ctx->op, k->name, cfg_str(&ctx->cfg, id), "from %s%s%s",
		config_source_name(src), src == CFG_SRC_ENV ? " " : "",
		src == CFG_SRC_ENV ? k->env : "");
}

#define REPLICAS_MAX 5	/* JetStream's limit */

/* --schema-only: create the streams and buckets on a running server (or cluster). */
static enum status
up_schema_only(struct cmd_ctx *ctx, struct rowset *created)
{
	int64_t replicas = 0;
	enum status st = cmd_opt_int(ctx, "replicas", 1, REPLICAS_MAX, 0, &replicas);

	if (st == ST_OK)
		st = cmd_connect(ctx);
	if (st == ST_OK && !ctx->op.falsify)
		st = schema_ensure_r(ctx->bus, (int)replicas, created, &ctx->err);
	check(&ctx->op, "server reachable", st, &ctx->err, st == ST_OK ? bus_url(ctx->bus) : NULL);
	return st;
}

/* up connects only now: its operator entry is written like any command's. */
static enum status
witnessed(struct cmd_ctx *ctx)
{
	enum status st = cmd_witness_open(ctx);

	if (st != ST_OK)
		err_prefix(&ctx->err, "the server is up, but this is not witnessed");
	return st;
}

/*
 * nats.url names a server other than the local one: start none (a second
 * server, the schema on one of them), say so, and create the schema on the
 * server named, as --schema-only does. ST_EXISTS when that is done.
 */
static enum status
up_elsewhere(struct cmd_ctx *ctx)
{
	char *remote = up_remote_url(&ctx->cfg), from[64];
	enum cfg_source src = ctx->cfg.source[CK_NATS_URL];
	struct rowset *created;
	enum status st;

	if (remote == NULL)
		return ST_OK;
	snprintf(from, sizeof from, "%s%s%s", config_source_name(src),
		 src == CFG_SRC_ENV ? " " : "", src == CFG_SRC_ENV ? config_key(CK_NATS_URL)->env : "");
	explain_config(ctx, CK_NATS_URL);
	if (cmd_flag(ctx, "auth")) {
		err_set(&ctx->err, ST_USAGE, "--auth starts the local server, but nats.url (from %s) "
			"names '%s'", from, remote);
		err_remedy(&ctx->err, "unset IF_NATS_URL (or drop --server, or nats.url) to start "
			   "the local server; give that server its users yourself");
		free(remote);
		return ST_USAGE;
	}
	if (!ctx->quiet)
		session_notice(ctx->session, NOTICE_WARN, "ifctl: nats.url (from %s) names '%s': no "
			       "local server is started; the schema is created there, as 'ifctl up "
			       "--schema-only' does (unset it to start the local server)", from, remote);
	free(remote);
	created = schema_created_rows();
	st = up_schema_only(ctx, created);
	doc_add(&ctx->out, created);
	if (st == ST_OK && (st = witnessed(ctx)) == ST_OK)
		return ST_EXISTS;
	return st;
}

/* One node's row: its number, name, URL, what up or down did, pid. */
static void
node_row(struct rowset *rs, int k, const char *url, const char *state, pid_t pid)
{
	size_t row = rows_add(rs);
	char *name = NULL;

	rows_set_int(rs, row, ND_NODE, k);
	name = xasprintf("node%d", k);
	rows_set(rs, row, ND_NAME, name);
	free(name);
	if (url)
		rows_set(rs, row, ND_URL, url);
	rows_set(rs, row, ND_STATE, state);
	if (pid)
		rows_set_int(rs, row, ND_PID, pid);
}

/*
 * --cluster N: start (or complete) a local cluster and create the schema
 * with N replicas. Takes created: into the output, or freed.
 */
static enum status
up_cluster(struct cmd_ctx *ctx, struct rowset *created)
{
	struct server_cluster_result r;
	struct rowset *nodes;
	int64_t n = 0, replicas = 0;
	enum status st;
	int k;

	if ((st = cmd_opt_int(ctx, "cluster", 1, 99, 3, &n)) != ST_OK ||
	    (st = cmd_opt_int(ctx, "replicas", 1, REPLICAS_MAX, n, &replicas)) != ST_OK) {
		rows_free(created);
		return st;
	}
	if (replicas != n) {
		rows_free(created);
		return err_set(&ctx->err, ST_USAGE, "--replicas %lld: a local cluster of %lld "
			       "nodes keeps %lld replicas of everything (use --schema-only for "
			       "another count)", (long long)replicas, (long long)n, (long long)n);
	}
	why_add(&ctx->op, "cluster", "--cluster", "%lld nodes, each stream and bucket with %lld "
		"replicas", (long long)n, (long long)n);
	st = server_cluster_up(&ctx->cfg, &ctx->op, (int)n, &r, created, &ctx->err);
	if (st != ST_OK || ctx->op.falsify) {
		rows_free(created);
		free(r.url);
		return st == ST_FALSIFIED ? ST_OK : st;
	}
	nodes = rows_view(&node_view);
	for (k = 1; k <= r.nodes; k++) {
		char *url = xasprintf("nats://%s:%lld", cfg_str(&ctx->cfg, CK_SERVER_HOST),
				      (long long)cfg_int(&ctx->cfg, CK_SERVER_PORT) + k - 1);
		node_row(nodes, k, url, r.fresh[k - 1] ? "started" : "already running",
			 r.pids[k - 1]);
		free(url);
	}
	why_add(&ctx->op, "meta leader", r.meta_leader, "every node names it");
	doc_add(&ctx->out, nodes);
	doc_add(&ctx->out, created);
	free(r.url);
	return witnessed(ctx);
}

static enum status
run_up(struct cmd_ctx *ctx)
{
	struct server_up_result r;
	struct rowset *created = schema_created_rows(), *srv;
	enum status st;
	size_t row;
	char *home = config_home(&ctx->cfg);

	explain_config(ctx, CK_SERVER_HOST);
	explain_config(ctx, CK_SERVER_PORT);
	explain_config(ctx, CK_HOME);
	if (cmd_flag(ctx, "auth") && cmd_flag(ctx, "schema-only")) {
		rows_free(created);
		free(home);
		return err_set(&ctx->err, ST_USAGE, "--auth configures the local server; "
			       "--schema-only does not start one");
	}
	if (cmd_opt(ctx, "cluster") && (cmd_flag(ctx, "auth") || cmd_flag(ctx, "schema-only"))) {
		rows_free(created);
		free(home);
		return err_set(&ctx->err, ST_USAGE, "--cluster starts local nodes without users; "
			       "it takes neither --auth nor --schema-only");
	}
	if (cmd_opt(ctx, "replicas") && !cmd_opt(ctx, "cluster") && !cmd_flag(ctx, "schema-only")) {
		rows_free(created);
		free(home);
		return err_set(&ctx->err, ST_USAGE, "--replicas needs --schema-only (an existing "
			       "cluster) or --cluster N (a local one)");
	}
	if (cmd_opt(ctx, "cluster")) {
		free(home);
		return up_cluster(ctx, created);	/* it owns created */
	}
	if (cmd_flag(ctx, "auth"))
		(void)config_set(&ctx->cfg, CK_SERVER_AUTH, "true", CFG_SRC_FLAG, NULL);
	explain_config(ctx, CK_SERVER_AUTH);
	if (!cmd_flag(ctx, "schema-only") && (st = up_elsewhere(ctx)) != ST_OK) {
		rows_free(created);
		free(home);
		return st == ST_EXISTS ? ST_OK : st;	/* done: the schema is on that server */
	}
	if (cmd_flag(ctx, "schema-only")) {
		st = up_schema_only(ctx, created);
		doc_add(&ctx->out, created);
		free(home);
		return st == ST_OK ? witnessed(ctx) : st;
	}
	st = server_up(&ctx->cfg, &ctx->op, &r, created, &ctx->err);
	if (st == ST_OK && !ctx->op.falsify) {
		struct wkey k;
		bool made = false;
		if ((st = witness_key(&ctx->cfg, true, &k, &made, &ctx->err)) == ST_OK) {
			row = rows_add(created);
			rows_set(created, row, CR_KIND, "key");
			rows_set(created, row, CR_NAME, k.name);
			rows_set(created, row, CR_ACTION, made ? "created" : "exists");
			sodium_memzero(k.sk, sizeof k.sk);
		}
	}
	if (st == ST_OK && !ctx->op.falsify) {
		srv = rows_view(&up_view);
		srv->single = true;
		row = rows_add(srv);
		rows_set(srv, row, UP_URL, r.url);
		rows_set(srv, row, UP_STATE, r.started ? "started" : "already running");
		rows_set_int(srv, row, UP_PID, r.pid);
		rows_set(srv, row, UP_VERSION, r.version);
		rows_set(srv, row, UP_HOME, home);
		rows_set(srv, row, UP_USERS, r.auth ? "[\"operator\",\"swarm\",\"viewer\"]" : "[]");
		rows_show(srv, row, UP_USERS, r.auth ? "operator, swarm, viewer" : "none");
		doc_add(&ctx->out, srv);
		doc_add(&ctx->out, created);
	} else {
		rows_free(created);
	}
	free(r.url);
	free(home);
	if (st == ST_OK)
		return witnessed(ctx);
	return st == ST_FALSIFIED ? ST_OK : st;	/* finish() turns failed checks into exit 8 */
}

/* Stop the nodes of a local cluster, one row each. */
static enum status
down_cluster(struct cmd_ctx *ctx, int *nodes)
{
	pid_t pids[SERVER_CLUSTER_MAX] = { 0 };
	struct rowset *rs;
	enum status st;
	int n = 0, k;

	st = server_cluster_down(&ctx->cfg, &ctx->op, pids, &n, &ctx->err);
	*nodes = n;
	if (n == 0 || ctx->op.falsify)
		return st;
	rs = rows_view(&node_view);
	for (k = 1; k <= n; k++)
		node_row(rs, k, NULL, pids[k - 1] ? "stopped" : "not running", pids[k - 1]);
	doc_add(&ctx->out, rs);
	return st;
}

static enum status
run_down(struct cmd_ctx *ctx)
{
	struct rowset *rs;
	enum status st;
	pid_t pid = 0;
	size_t r;
	int nodes = 0;

	if (!ctx->op.falsify) {
		/* Witnessed before the ledger's server goes away; a sick server still stops. */
		struct server_paths p;
		struct err keep = ctx->err;
		char *urls = server_local_urls(&ctx->cfg);
		server_paths_init(&p, &ctx->cfg);
		if ((server_running(&p) || urls) && cmd_witness_now(ctx, "stopping") != ST_OK &&
		    !ctx->quiet)
			session_notice(ctx->session, NOTICE_WARN, "ifctl: notice: the stop is not "
				       "witnessed: %s", ctx->err.msg);
		free(urls);
		server_paths_release(&p);
		ctx->err = keep;
	}
	st = server_down(&ctx->cfg, &ctx->op, &pid, &ctx->err);
	if (st == ST_OK)
		st = down_cluster(ctx, &nodes);
	if (st != ST_OK || ctx->op.falsify || (nodes && !pid))
		return st;
	rs = rows_view(&down_view);
	rs->single = true;
	r = rows_add(rs);
	rows_set(rs, r, DOWN_STATE, pid ? "stopped" : "not running");
	if (pid)
		rows_set_int(rs, r, DOWN_PID, pid);
	doc_add(&ctx->out, rs);
	return ST_OK;
}

static const struct cmd_opt up_opts[] = {
	{ "schema-only", 0, NULL, "create the streams and buckets on the server named by "
	  "--server/nats.url instead of starting a local one" },
	{ "auth", 0, NULL, "give the local server operator, swarm and viewer users "
	  "(server.auth for this run; see PERMISSIONS in ifctl-protocol(7))" },
	{ "cluster", 0, "N", "start a local cluster of N (3 or 5) nodes under $IF_HOME/nats/nodeK "
	  "and create everything with N replicas" },
	{ "replicas", 0, "N", "with --schema-only: keep N (1-5) copies of every stream and "
	  "bucket on the cluster --server names" },
	{ NULL, 0, NULL, NULL },
};

const struct cmd_entry cmd_up_entry = {
	.name = "up",
	.args = "[--auth] [--cluster N] [--schema-only [--replicas N]]",
	.summary = "start the local NATS server (JetStream) and create the fleet's streams and buckets",
	.flags = CMD_MUTATES,
	.opts = up_opts,
	.run = run_up,
	.examples =
		"ifctl up\n"
		"ifctl up --mode=falsify      # every check up would make; nothing written\n"
		"ifctl --server nats://nats.prod:4222 up --schema-only",
	.see_also = "down, status, user, doctor, ifctl-protocol(7)",
	.schema = "up",
};

const struct cmd_entry cmd_down_entry = {
	.name = "down",
	.summary = "stop the local NATS server (or every node of the cluster) started by 'ifctl up'",
	.flags = CMD_MUTATES | CMD_NO_WITNESS,	/* witnessed before it stops the server */
	.run = run_down,
	.examples =
		"ifctl down\n"
		"ifctl down -o json",
	.see_also = "up, status",
	.schema = "down",
};
