/* Library versions: see version.h. */
#include <cjson/cJSON.h>
#include <nats/nats.h>
#include <sodium.h>
#include <sqlite3.h>
#include <yaml.h>

#include "core/version.h"

/* One column per component, in the order of its version function. */
static const struct view_col version_cols[] = {
	{ "ifctl", COL_TEXT, 0 }, { "nats_c", COL_TEXT, 0 }, { "cjson", COL_TEXT, 0 },
	{ "libyaml", COL_TEXT, 0 }, { "sqlite", COL_TEXT, 0 }, { "libsodium", COL_TEXT, 0 },
};

static const char *ifctl_version(void) { return IFCTL_VERSION; }

static const char *(*const version_of[])(void) = {
	ifctl_version, nats_GetVersion, cJSON_Version, yaml_get_version_string,
	sqlite3_libversion, sodium_version_string,
};
_Static_assert(sizeof version_cols / sizeof *version_cols ==
	       sizeof version_of / sizeof *version_of, "one version function per column");

static const struct view version_view = VIEW("version", version_cols);

struct rowset *
versions_rows(void)
{
	struct rowset *rs = rows_view(&version_view);
	size_t r = rows_add(rs), c;

	rs->single = true;
	for (c = 0; c < rs->ncols; c++)
		rows_set(rs, r, c, version_of[c]());
	return rs;
}
