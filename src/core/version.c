/* Library versions: see version.h. */
#include <cjson/cJSON.h>
#include <nats/nats.h>
#include <sodium.h>
#include <sqlite3.h>
#include <yaml.h>

#include "core/version.h"

struct rowset *
versions_rows(void)
{
	struct rowset *rs = rows_new("version");
	size_t r;

	rs->single = true;
	rows_col(rs, "ifctl", COL_TEXT, 0);
	rows_col(rs, "nats_c", COL_TEXT, 0);
	rows_col(rs, "cjson", COL_TEXT, 0);
	rows_col(rs, "libyaml", COL_TEXT, 0);
	rows_col(rs, "sqlite", COL_TEXT, 0);
	rows_col(rs, "libsodium", COL_TEXT, 0);
	r = rows_add(rs);
	rows_set(rs, r, 0, IFCTL_VERSION);
	rows_set(rs, r, 1, nats_GetVersion());
	rows_set(rs, r, 2, cJSON_Version());
	rows_set(rs, r, 3, yaml_get_version_string());
	rows_set(rs, r, 4, sqlite3_libversion());
	rows_set(rs, r, 5, sodium_version_string());
	return rs;
}
