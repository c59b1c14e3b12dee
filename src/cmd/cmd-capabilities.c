/* ifctl capabilities: the registry (list, check). */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/gov-cmd.h"
#include "core/util.h"

enum { CL_NAME, CL_CATEGORY, CL_SOURCE, CL_SUMMARY, CL__COUNT };
static const struct view_col cap_cols[] = {
	[CL_NAME] = { "name", COL_TEXT, 0 },
	[CL_CATEGORY] = { "category", COL_TEXT, 0 },
	[CL_SOURCE] = { "source", COL_TEXT, 0 },
	[CL_SUMMARY] = { "summary", COL_TEXT, 0 },
};
_Static_assert(ARRAY_SIZE(cap_cols) == CL__COUNT, "one column per capability column");
static const struct view cap_view = VIEW("capabilities", cap_cols);

static void
cap_row(struct rowset *rs, const char *name, const char *cat, const char *source,
	const char *summary)
{
	size_t r = rows_add(rs);

	rows_set(rs, r, CL_NAME, name);
	rows_set(rs, r, CL_CATEGORY, cat);
	rows_set(rs, r, CL_SOURCE, source);
	rows_set(rs, r, CL_SUMMARY, summary);
}

/* The category of a site's name: before its ':', else "site". */
static void
site_category(const char *name, char out[CAP_NAME_MAX + 1])
{
	const char *c = strchr(name, ':');

	snprintf(out, CAP_NAME_MAX + 1, "%.*s", c ? (int)(c - name) : CAP_NAME_MAX,
		 c ? name : CAP_SITE_CATEGORY);
}

static enum status
run_list(struct cmd_ctx *ctx)
{
	const char *want = cmd_opt(ctx, "category");
	struct cap_registry reg;
	struct rowset *rs;
	char cat[CAP_NAME_MAX + 1];
	size_t i;
	enum status st;

	if ((st = gov_cmd_registry(ctx, &reg)) != ST_OK)
		return st;
	rs = rows_view(&cap_view);
	for (i = 0; i < capability_count; i++)
		if (!want || strcmp(want, capability_table[i].category) == 0)
			cap_row(rs, capability_table[i].name, capability_table[i].category, "built-in",
				capability_table[i].summary);
	for (i = 0; i < reg.nsite; i++) {
		site_category(reg.site[i], cat);
		if (!want || strcmp(want, cat) == 0)
			cap_row(rs, reg.site[i], cat, "governor.capabilities", NULL);
	}
	capreg_release(&reg);
	if (want && rs->nrows == 0) {
		rows_free(rs);
		return err_set(&ctx->err, ST_NOT_FOUND, "no capability in category '%.80s' (categories: "
			       "code-analysis, integration, infra, cli, architecture, docs, site)", want);
	}
	doc_add(&ctx->out, rs);
	return ST_OK;
}

static enum status
run_check(struct cmd_ctx *ctx)
{
	struct cap_registry reg;
	struct rowset *rs;
	struct err ce = ERR_INIT;
	enum status st, first = ST_OK;
	int i;

	if (ctx->argc < 1)
		return err_set(&ctx->err, ST_USAGE, "capabilities check needs one or more names");
	if ((st = gov_cmd_registry(ctx, &reg)) != ST_OK)
		return st;
	rs = rows_view(&cap_view);
	for (i = 0; i < ctx->argc; i++) {
		st = capreg_check(&reg, ctx->argv[i], &ce);
		check(&ctx->op, ctx->argv[i], st, &ce, "known");
		if (st == ST_OK) {
			const struct capability *c = capability_find(ctx->argv[i]);
			cap_row(rs, ctx->argv[i], c ? c->category : CAP_SITE_CATEGORY,
				c ? "built-in" : "governor.capabilities", c ? c->summary : NULL);
		} else if (first == ST_OK) {
			first = st;
			ctx->err = ce;
		}
	}
	capreg_release(&reg);
	doc_add(&ctx->out, rs);
	ctx->output_on_error = true;
	return ctx->op.falsify ? ST_OK : first;
}

static const struct cmd_opt list_opts[] = {
	{ "category", 0, "CATEGORY", "only this category (code-analysis, integration, infra, cli, "
	  "architecture, docs, or a site's)" },
	{ NULL, 0, NULL, NULL },
};

static const struct cmd_entry caps_list_entry = {
	.name = "list", .args = "[--category C]",
	.summary = "every known capability: the built-in registry and the site's",
	.opts = list_opts, .run = run_list,
	.examples =
		"ifctl capabilities list\n"
		"ifctl capabilities list --category integration -o json",
	.see_also = "capabilities check, governor.capabilities in ifctl-config(5)",
	.schema = "capability-row[]",
};
static const struct cmd_entry caps_check_entry = {
	.name = "check", .args = "NAME...",
	.summary = "check names against the registry; an unknown one gets the nearest known name",
	.run = run_check,
	.examples =
		"ifctl capabilities check code-analysis:general integration:sip\n"
		"ifctl capabilities check integration:sipp   # exit 2, with the nearest known name",
	.see_also = "capabilities list, swarm register",
	.schema = "capability-row[]",
};
static const struct cmd_entry *const caps_subs[] = {
	&caps_list_entry, &caps_check_entry, NULL,
};

const struct cmd_entry cmd_capabilities_entry = {
	.name = "capabilities",
	.args = "list|check",
	.summary = "the capability registry: what swarms can do, named category:name",
	.subs = caps_subs,
	.examples =
		"ifctl capabilities list\n"
		"ifctl capabilities check integration:sip",
	.see_also = "swarm spawn, governor match, ifctl-config(5) governor.capabilities",
};
