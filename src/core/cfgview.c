/* The configuration as a view: see cfgview.h. */
#include <string.h>

#include "core/buf.h"
#include "core/bus.h"
#include "core/cfgview.h"
#include "core/json.h"
#include "core/util.h"

static const struct view_col config_cols[] = {
	[CV_KEY] = { "key", COL_TEXT, 0 },
	[CV_VALUE] = { "value", COL_JSON, 0 },	/* typed by the key's type */
	[CV_SOURCE] = { "source", COL_TEXT, 0 },
	[CV_TYPE] = { "type", COL_TEXT, COL_WIDE },
	[CV_ENV] = { "env", COL_TEXT, COL_WIDE },
	[CV_BOUNDS] = { "bounds", COL_TEXT, COL_WIDE },
	[CV_HELP] = { "help", COL_TEXT, COL_WIDE },
};
_Static_assert(ARRAY_SIZE(config_cols) == CV__COUNT, "one column per cfgview_col");

static const struct view config_v = VIEW("config", config_cols);

bool
config_is_secret(const struct cfg_key *k)
{
	return strstr(k->name, "password") || strstr(k->name, "token");
}

/* Where a key's value came from: "file:line", "env NAME", "default". */
static void
source_text(const struct config *c, enum cfg_id id, struct buf *out)
{
	switch (c->source[id]) {
	case CFG_SRC_FILE:
		buf_addf(out, "%s:%d", c->file, c->line[id]);
		break;
	case CFG_SRC_ENV:
		buf_addf(out, "env %s", config_key(id)->env);
		break;
	default:
		buf_adds(out, config_source_name(c->source[id]));
	}
}

/*
 * The value as JSON: a number, a boolean, else a string; tables show the
 * text. A secret shows as stars, a URL without the secret of its user info.
 */
static void
set_value(struct rowset *rs, size_t r, const struct config *c, enum cfg_id id, bool hidden)
{
	const struct cfg_key *k = config_key(id);
	const char *v = hidden ? "********" : cfg_str(c, id);
	struct buf j = BUF_INIT, masked = BUF_INIT;
	int64_t n;

	if (!hidden && id == CK_NATS_URL) {
		bus_url_mask(v, &masked);
		v = masked.s;
	}

	if (!hidden && k->type == CFG_INT && parse_int64(v, &n))
		json_add_number(&j, (double)n);
	else if (!hidden && k->type == CFG_BOOL)
		buf_adds(&j, cfg_bool(c, id) ? "true" : "false");
	else
		json_escape(&j, v);
	rows_set(rs, r, CV_VALUE, j.s);
	rows_show(rs, r, CV_VALUE, v);
	buf_release(&j);
	buf_release(&masked);
}

struct rowset *
config_view(const struct config *c, bool defaults)
{
	struct rowset *rs = rows_view(&config_v);
	struct buf src = BUF_INIT;
	struct config def;
	size_t i, r;

	config_init(&def);
	if (defaults)
		c = &def;
	for (i = 0; i < CK__COUNT; i++) {
		const struct cfg_key *k = config_key((enum cfg_id)i);

		r = rows_add(rs);
		rows_set(rs, r, CV_KEY, k->name);
		set_value(rs, r, c, (enum cfg_id)i, config_is_secret(k) && *cfg_str(c, (enum cfg_id)i) &&
			  !defaults);
		buf_reset(&src);
		source_text(c, (enum cfg_id)i, &src);
		rows_set(rs, r, CV_SOURCE, src.s);
		rows_set(rs, r, CV_TYPE, config_type_name(k->type));
		rows_set(rs, r, CV_ENV, k->env);
		if (k->type == CFG_INT)
			rows_setf(rs, r, CV_BOUNDS, "%lld..%lld", (long long)k->min, (long long)k->max);
		else if (k->type == CFG_ENUM)
			rows_set(rs, r, CV_BOUNDS, k->choices);
		rows_set(rs, r, CV_HELP, k->help);
	}
	config_release(&def);
	buf_release(&src);
	return rs;
}
