/* The governor benchmark: see govbench.h. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench/govbench.h"
#include "core/governor.h"
#include "core/spawn.h"
#include "core/util.h"

enum { GB_METRIC, GB_VALUE, GB_UNIT, GB_METHOD, GB__COUNT };
static const struct view_col bench_cols[] = {
	[GB_METRIC] = { "metric", COL_TEXT, 0 },
	[GB_VALUE] = { "value", COL_NUM, 0 },
	[GB_UNIT] = { "unit", COL_TEXT, 0 },
	[GB_METHOD] = { "method", COL_TEXT, COL_WIDE },
};
_Static_assert(ARRAY_SIZE(bench_cols) == GB__COUNT, "one column per bench column");
static const struct view bench_view = VIEW("governor_bench", bench_cols);

static void
figure(struct rowset *rs, const char *metric, double v, const char *unit, const char *method)
{
	size_t r = rows_add(rs);

	rows_set(rs, r, GB_METRIC, metric);
	rows_set_num(rs, r, GB_VALUE, v);
	rows_set(rs, r, GB_UNIT, unit);
	rows_set(rs, r, GB_METHOD, method);
}

/* A small deterministic generator (xorshift), so runs are comparable. */
static uint64_t
next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

#define BENCH_BATCH 500	/* puts sent before their acknowledgements are read */

/* Write the synthetic swarms bench-00000.. that the bucket lacks. */
static enum status
fill(struct bus *b, size_t n, size_t *written, struct err *e)
{
	struct bus_pub_msg *m = xcalloc(BENCH_BATCH, sizeof *m);
	char **subj = xcalloc(BENCH_BATCH, sizeof *subj);
	struct buf *rec = xcalloc(BENCH_BATCH, sizeof *rec);
	struct gov_fleet f;
	uint64_t seed = 42;
	size_t i, k = 0, j, c0;
	enum status st;

	*written = 0;
	if ((st = gov_fleet_load(b, &f, e)) != ST_OK)
		goto out;
	for (i = 0; i < n && st == ST_OK; i++) {
		char id[32];
		snprintf(id, sizeof id, "bench-%05zu", i);
		if (swarm_list_find(&f.swarms, id))
			continue;
		buf_init(&rec[k]);
		buf_addf(&rec[k], "{\"last_seen\":null,\"profile\":{\"capabilities\":[");
		c0 = next(&seed) % capability_count;	/* three distinct ones */
		for (j = 0; j < 3; j++)
			buf_addf(&rec[k], "%s\"%s\"", j ? "," : "",
				 capability_table[(c0 + j * 7) % capability_count].name);
		buf_addf(&rec[k], "],\"cost_per_hour_micros\":%llu,\"id\":\"%s\",\"max_concurrent_tasks\":1,"
			 "\"model\":\"bench\",\"reputation\":%.2f},\"registered_at\":%lld,\"v\":1}",
			 (unsigned long long)(next(&seed) % 5000000), id,
			 (double)(next(&seed) % 101) / 100.0, (long long)wall_ms());
		subj[k] = xasprintf("$KV.%s.%s", SWARM_BUCKET, id);
		m[k] = (struct bus_pub_msg){ .subject = subj[k], .data = rec[k].s, .len = rec[k].len };
		if (++k == BENCH_BATCH) {
			st = bus_js_publish_many(b, m, k, e);
			*written += k;
			for (j = 0; j < k; j++) {
				free(subj[j]);
				buf_release(&rec[j]);
			}
			k = 0;
		}
	}
	if (st == ST_OK && k) {
		st = bus_js_publish_many(b, m, k, e);
		*written += k;
	}
	for (j = 0; j < k; j++) {
		free(subj[j]);
		buf_release(&rec[j]);
	}
	gov_fleet_release(&f);
out:
	free(m);
	free(subj);
	free(rec);
	return st;
}

/* Time matches over the loaded fleet. */
static void
time_matches(const struct gov_fleet *f, const struct gov_bench_opts *o, struct rowset *rs)
{
	int64_t *us = xcalloc(o->samples, sizeof *us), t;
	struct policy p;
	struct gov_match m;
	char *caps[3];
	uint64_t seed = 7;
	size_t i, j, n, q = 0;

	policy_defaults(&p);
	for (i = 0; i < o->samples; i++) {
		n = 1 + next(&seed) % 3;
		for (j = 0; j < n; j++)
			caps[j] = (char *)capability_table[next(&seed) % capability_count].name;
		t = mono_us();
		governor_match(f, &p, caps, n, NULL, wall_ms(), &m);
		us[i] = mono_us() - t;
		q += m.nqualified;
		gov_match_release(&m);
	}
	sort_i64(us, o->samples);
	figure(rs, "match_p50", (double)percentile(us, o->samples, 50) / 1000.0, "ms",
	       "governor_match over the loaded fleet, in process, nearest rank");
	figure(rs, "match_p99", (double)percentile(us, o->samples, 99) / 1000.0, "ms",
	       "the same samples");
	figure(rs, "match_max", (double)us[o->samples - 1] / 1000.0, "ms", "the same samples");
	figure(rs, "match_qualified_mean", (double)q / (double)o->samples, "swarms",
	       "qualified swarms per match (1 to 3 random capabilities)");
	free(us);
	policy_release(&p);
}

/* The source files of the detection tree, by kind. */
static const struct { const char *ext, *text; } tree_files[] = {
	{ "py", "import socket\nimport sqlite3\n\ndef f():\n    return 1\n" },
	{ "rs", "use clap::Parser;\nfn main() {}\n" },
	{ "go", "package main\nimport \"net/http\"\nfunc main() {}\n" },
	{ "c", "#include <stdio.h>\nint main(void) { return 0; }\n" },
	{ "ts", "export const x = 1;\n" },
	{ "md", "# Notes\n\nSome text.\n" },
	{ "json", "{\"name\": \"x\"}\n" },
	{ "txt", "plain text\n" },
};

/* Make a tree of n files under dir (100 subdirectories). */
static enum status
make_tree(const char *dir, size_t n, struct err *e)
{
	char path[512];
	size_t i, k;
	int fd;

	for (i = 0; i < 100; i++) {
		snprintf(path, sizeof path, "%s/d%03zu", dir, i);
		if (mkdir(path, 0700) != 0)
			return err_set(e, ST_IO, "cannot create '%s'", path);
	}
	for (i = 0; i < n; i++) {
		k = i % ARRAY_SIZE(tree_files);
		snprintf(path, sizeof path, "%s/d%03zu/f%05zu.%s", dir, i % 100, i, tree_files[k].ext);
		if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0)
			return err_set(e, ST_IO, "cannot create '%s'", path);
		if (write(fd, tree_files[k].text, strlen(tree_files[k].text)) < 0) {
			close(fd);
			return err_set(e, ST_IO, "cannot write '%s'", path);
		}
		close(fd);
	}
	return ST_OK;
}

/* Remove the tree make_tree made. */
static void
remove_tree(const char *dir, size_t n)
{
	char path[512];
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s/d%03zu/f%05zu.%s", dir, i % 100, i,
			 tree_files[i % ARRAY_SIZE(tree_files)].ext);
		unlink(path);
	}
	for (i = 0; i < 100; i++) {
		snprintf(path, sizeof path, "%s/d%03zu", dir, i);
		rmdir(path);
	}
	rmdir(dir);
}

static enum status
time_detect(const struct gov_bench_opts *o, struct rowset *rs, struct err *e)
{
	char dir[] = "/tmp/ifctl-govbench-XXXXXX";
	int64_t *ms = xcalloc(o->detect_runs, sizeof *ms), t;
	struct spawn_detect d;
	enum status st = ST_OK;
	size_t i, caps = 0, files = 0;

	if (mkdtemp(dir) == NULL) {
		free(ms);
		return err_set(e, ST_IO, "cannot create a temporary directory");
	}
	if ((st = make_tree(dir, o->files, e)) == ST_OK)
		for (i = 0; i < o->detect_runs && st == ST_OK; i++) {
			t = mono_us();
			if ((st = spawn_detect(dir, NULL, &d, e)) == ST_OK) {
				ms[i] = mono_us() - t;
				caps = d.n;
				files = d.files;
				spawn_detect_release(&d);
			}
		}
	remove_tree(dir, o->files);
	if (st == ST_OK) {
		sort_i64(ms, o->detect_runs);
		figure(rs, "detect_files", (double)files, "files", "regular files looked at");
		figure(rs, "detect_capabilities", (double)caps, "capabilities", "found in the tree");
		figure(rs, "detect_median", (double)percentile(ms, o->detect_runs, 50) / 1000.0, "ms",
		       "spawn_detect over the tree (page cache warm), nearest rank");
		figure(rs, "detect_max", (double)ms[o->detect_runs - 1] / 1000.0, "ms",
		       "the same runs");
	}
	free(ms);
	return st;
}

/* bus_kv_snapshot(): count a record. */
static void
count_record(void *arg, const char *key, const char *value, size_t len, uint64_t rev)
{
	(void)key;
	(void)value;
	(void)len;
	(void)rev;
	(*(size_t *)arg)++;
}

/* Rewrite the last_seen of n random swarms of the fleet, pipelined (heartbeats). */
static enum status
touch(struct bus *b, size_t n, struct rowset *rs, struct err *e)
{
	struct gov_fleet f;
	struct bus_pub_msg *m;
	struct buf *rec;
	char **subj;
	uint64_t seed = (uint64_t)mono_us() | 1;
	size_t i, k, done = 0;
	int64_t t;
	enum status st;

	if ((st = gov_fleet_load(b, &f, e)) != ST_OK)
		return st;
	m = xcalloc(BENCH_BATCH, sizeof *m);
	subj = xcalloc(BENCH_BATCH, sizeof *subj);
	rec = xcalloc(BENCH_BATCH, sizeof *rec);
	t = mono_us();
	while (st == ST_OK && f.swarms.n && done < n) {
		for (k = 0; k < BENCH_BATCH && done + k < n; k++) {
			struct swarm *s = &f.swarms.v[next(&seed) % f.swarms.n];
			s->last_seen = wall_ms();
			buf_init(&rec[k]);
			swarm_record_json(s, &rec[k]);
			subj[k] = xasprintf("$KV.%s.%s", SWARM_BUCKET, s->p.id);
			m[k] = (struct bus_pub_msg){ .subject = subj[k], .data = rec[k].s,
						     .len = rec[k].len };
		}
		st = bus_js_publish_many(b, m, k, e);
		for (i = 0; i < k; i++) {
			free(subj[i]);
			buf_release(&rec[i]);
		}
		done += k;
	}
	figure(rs, "touched", (double)done, "records", "last_seen rewritten (random swarms, "
	       "pipelined), as that many heartbeats would");
	figure(rs, "touch", (double)(mono_us() - t) / 1000.0, "ms", "the writes");
	gov_fleet_release(&f);
	free(m);
	free(subj);
	free(rec);
	return st;
}

/*
 * The local mirror (kvmirror.h) in a file of its own: built from the
 * streams, synced when nothing changed, and the fleet a one-shot match of
 * two capabilities reads from it.
 */
static enum status
time_mirror(struct bus *b, struct rowset *rs, struct err *e)
{
	char dir[] = "/tmp/ifctl-govbench-XXXXXX", *path, *cmd;
	char sip[] = "integration:sip", db[] = "infra:databases";
	char *const caps[] = { sip, db };
	struct kvmirror_sync sy;
	struct kvmirror *m = NULL;
	struct gov_fleet f;
	enum status st = ST_OK;
	size_t i, skipped = 0;
	int64_t t;

	if (mkdtemp(dir) == NULL)
		return err_set(e, ST_IO, "cannot create a temporary directory");
	path = xasprintf("%s/kvmirror.db", dir);
	t = mono_us();
	st = kvmirror_open_path(path, true, &m, e);
	for (i = 0; st == ST_OK && i < gov_mirror_bucket_count; i++)
		st = kvmirror_sync(m, b, gov_mirror_buckets[i], &sy, e);
	if (st == ST_OK)
		figure(rs, "mirror_build", (double)(mono_us() - t) / 1000.0, "ms", "the mirror made "
		       "from the streams of IF_SWARMS and IF_BUDGETS (every record checked once)");
	t = mono_us();
	for (i = 0; st == ST_OK && i < gov_mirror_bucket_count; i++)
		st = kvmirror_sync(m, b, gov_mirror_buckets[i], &sy, e);
	if (st == ST_OK)
		figure(rs, "mirror_sync_fresh", (double)(mono_us() - t) / 1000.0, "ms", "its sync "
		       "when nothing changed: one stream-info request per bucket");
	t = mono_us();
	if (st == ST_OK && (st = gov_fleet_read(b, m, caps, 2, &f, &skipped, e)) == ST_OK) {
		figure(rs, "mirror_fleet_read", (double)(mono_us() - t) / 1000.0, "ms", "the fleet of "
		       "a match of integration:sip,infra:databases read from it");
		figure(rs, "mirror_fleet_swarms", (double)f.swarms.n, "swarms", "read (the others "
		       "list neither capability and are not read)");
		gov_fleet_release(&f);
	}
	kvmirror_close(m);
	cmd = xasprintf("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		st = st == ST_OK ? err_set(e, ST_IO, "cannot remove '%s'", dir) : st;
	free(cmd);
	free(path);
	return st;
}

enum status
gov_bench_run(struct bus *b, const struct gov_bench_opts *o, struct doc *out, struct err *e)
{
	struct rowset *rs = rows_view(&bench_view);
	struct gov_fleet f;
	size_t written, raw = 0;
	int64_t t;
	enum status st;

	if (o->touch) {
		if ((st = touch(b, o->touch, rs, e)) != ST_OK)
			goto fail;
		doc_add(out, rs);
		return ST_OK;
	}
	t = mono_us();
	if ((st = fill(b, o->swarms, &written, e)) != ST_OK)
		goto fail;
	figure(rs, "fill", (double)(mono_us() - t) / 1000.0, "ms", "swarm records written to "
	       "IF_SWARMS (those missing), pipelined 500 at a time");
	figure(rs, "fill_written", (double)written, "records", "written by this run");
	t = mono_us();
	if ((st = bus_kv_snapshot(b, SWARM_BUCKET, count_record, &raw, e)) != ST_OK)
		goto fail;
	figure(rs, "snapshot_raw", (double)(mono_us() - t) / 1000.0, "ms", "the IF_SWARMS watch "
	       "snapshot alone, records counted, not parsed");
	t = mono_us();
	if ((st = gov_fleet_load(b, &f, e)) != ST_OK)
		goto fail;
	figure(rs, "fleet_load", (double)(mono_us() - t) / 1000.0, "ms", "one watch snapshot of "
	       "IF_SWARMS and of IF_BUDGETS, every record schema-checked");
	figure(rs, "fleet_swarms", (double)f.swarms.n, "swarms", "in the snapshot");
	time_matches(&f, o, rs);
	gov_fleet_release(&f);
	if ((st = time_mirror(b, rs, e)) != ST_OK)
		goto fail;
	if ((st = time_detect(o, rs, e)) != ST_OK)
		goto fail;
	doc_add(out, rs);
	return ST_OK;
fail:
	rows_free(rs);
	return st;
}
