/* The witness index: see windex.h. */
#include <stdlib.h>
#include <unistd.h>

#include "core/ledger.h"
#include "core/util.h"
#include "core/windex.h"

enum status
windex_open(const struct config *c, struct store **out, struct err *e)
{
	char *home = config_home(c), *path = xasprintf("%s/index.db", home);
	enum status st = mkdir_p(home, 0700, e);

	if (st == ST_OK)
		st = store_open(path, out, e);
	free(path);
	free(home);
	return st;
}

static enum status
put_entry(void *arg, const struct wentry *e, struct err *err)
{
	return store_witness_put(arg, e, err);
}

enum status
windex_sync(struct bus *b, struct store *s, uint64_t *added, struct err *e)
{
	enum status st = store_begin(s, e);

	*added = 0;
	if (st != ST_OK)
		return st;
	st = ledger_read_from(b, store_witness_last(s) + 1, put_entry, s, added, e);
	if (st == ST_OK)
		return store_commit(s, e);
	store_commit(s, NULL);	/* keep what was copied; the next sync goes on */
	return st;
}

enum status
windex_rebuild(struct bus *b, struct store *s, uint64_t *added, struct err *e)
{
	enum status st = store_witness_clear(s, e);

	return st == ST_OK ? windex_sync(b, s, added, e) : st;
}

enum status
windex_open_fresh(const struct config *c, struct store **out, struct err *e)
{
	char *home = config_home(c), *path = xasprintf("%s/index.db", home);
	static const char *const suffix[] = { "", "-wal", "-shm" };
	enum status st;
	size_t i;

	st = windex_open(c, out, e);
	if (st == ST_INDEX_CORRUPT) {
		/* A cache: a damaged one is replaced, never patched. */
		for (i = 0; i < ARRAY_SIZE(suffix); i++) {
			char *f = xasprintf("%s%s", path, suffix[i]);
			unlink(f);
			free(f);
		}
		st = windex_open(c, out, e);
	}
	free(path);
	free(home);
	return st;
}
