/* Swarm spawn: detection and registration. See spawn.h. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/governor.h"
#include "core/jschema.h"
#include "core/json.h"
#include "core/ledger.h"
#include "core/spawn.h"
#include "core/util.h"

/* Languages and documents by file name ending (or whole name, with '/'). */
static const struct { const char *suffix, *cap, *source; } file_types[] = {
	{ ".py", "code-analysis:python", "file-type" },
	{ ".rs", "code-analysis:rust", "file-type" },
	{ ".go", "code-analysis:go", "file-type" },
	{ ".js", "code-analysis:javascript", "file-type" },
	{ ".mjs", "code-analysis:javascript", "file-type" },
	{ ".ts", "code-analysis:typescript", "file-type" },
	{ ".tsx", "code-analysis:typescript", "file-type" },
	{ ".c", "code-analysis:general", "file-type" },
	{ ".h", "code-analysis:general", "file-type" },
	{ ".cc", "code-analysis:general", "file-type" },
	{ ".cpp", "code-analysis:general", "file-type" },
	{ ".java", "code-analysis:general", "file-type" },
	{ ".sh", "cli:automation", "file-type" },
	{ ".md", "docs:technical-writing", "docs" },
	{ ".rst", "docs:technical-writing", "docs" },
	{ ".adoc", "docs:technical-writing", "docs" },
	{ "/Dockerfile", "infra:cloud-platforms", "file-type" },
	{ "/Makefile", "cli:automation", "file-type" },
	{ "/openapi.yaml", "docs:api-design", "docs" },
	{ "/openapi.json", "docs:api-design", "docs" },
	{ "/swagger.json", "docs:api-design", "docs" },
};

/* Words in a document's name. */
static const struct { const char *word, *cap; } doc_words[] = {
	{ "tutorial", "docs:tutorials" }, { "guide", "docs:tutorials" },
	{ "architecture", "docs:architecture" }, { "design", "docs:architecture" },
	{ "api", "docs:api-design" },
};

/* Text in a source file: imported libraries and protocol keywords. */
static const struct { const char *text, *cap, *source; } keywords[] = {
	{ "import sqlite3", "infra:databases", "import" },
	{ "psycopg", "infra:databases", "import" },
	{ "sqlalchemy", "infra:databases", "import" },
	{ "rusqlite", "infra:databases", "import" },
	{ "\"database/sql\"", "infra:databases", "import" },
	{ "<sqlite3.h>", "infra:databases", "import" },
	{ "k8s.io/client-go", "infra:kubernetes", "import" },
	{ "from kubernetes", "infra:kubernetes", "import" },
	{ "kube::", "infra:kubernetes", "import" },
	{ "prometheus", "infra:monitoring", "import" },
	{ "opentelemetry", "infra:monitoring", "import" },
	{ "import boto3", "infra:cloud-platforms", "import" },
	{ "google.cloud", "infra:cloud-platforms", "import" },
	{ "hashicorp/raft", "infra:distributed-systems", "import" },
	{ "openraft", "infra:distributed-systems", "import" },
	{ "etcd", "infra:distributed-systems", "import" },
	{ "\"net/http\"", "infra:networking", "import" },
	{ "<sys/socket.h>", "infra:networking", "import" },
	{ "import socket", "infra:networking", "import" },
	{ "reqwest", "infra:networking", "import" },
	{ "import argparse", "cli:design", "import" },
	{ "clap::", "cli:design", "import" },
	{ "spf13/cobra", "cli:design", "import" },
	{ "<getopt.h>", "cli:design", "import" },
	{ "import pytest", "cli:testing", "import" },
	{ "import unittest", "cli:testing", "import" },
	{ "#[test]", "cli:testing", "import" },
	{ "testing.T", "cli:testing", "import" },
	{ "<cmocka.h>", "cli:testing", "import" },
	{ "SIP/2.0", "integration:sip", "protocol" },
	{ "INVITE sip:", "integration:sip", "protocol" },
	{ "pjsua", "integration:sip", "protocol" },
	{ "RTCPeerConnection", "integration:webrtc", "protocol" },
	{ "webrtc", "integration:webrtc", "protocol" },
	{ "NDIlib", "integration:ndi", "protocol" },
	{ "rtsp://", "integration:rtsp", "protocol" },
	{ "RTSP/1.0", "integration:rtsp", "protocol" },
	{ "H.323", "integration:h323", "protocol" },
	{ "h323", "integration:h323", "protocol" },
};

/* Words of a module's exported names. */
static const struct { const char *word, *cap; } export_words[] = {
	{ "sip", "integration:sip" }, { "webrtc", "integration:webrtc" },
	{ "ndi", "integration:ndi" }, { "rtsp", "integration:rtsp" },
	{ "h323", "integration:h323" }, { "http", "infra:networking" },
	{ "socket", "infra:networking" }, { "sql", "infra:databases" },
	{ "db", "infra:databases" }, { "metrics", "infra:monitoring" },
};

void
spawn_detect_release(struct spawn_detect *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		free(d->v[i].capability);
		free(d->v[i].evidence);
	}
	free(d->v);
	free(d->manifest_json);
	memset(d, 0, sizeof *d);
}

/* Note capability cap found in rel by source; the first evidence is kept. */
static void
found(struct spawn_detect *d, const char *cap, const char *source, const char *rel,
      const char *what)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (strcmp(d->v[i].capability, cap) == 0) {
			d->v[i].count++;
			return;
		}
	xgrow(&d->v, &d->cap, d->n + 1, sizeof *d->v);
	d->v[d->n].capability = xstrdup(cap);
	d->v[d->n].source = source;
	d->v[d->n].evidence = xasprintf("%s: %s", rel, what);
	d->v[d->n++].count = 1;
}

/* --- WebAssembly -------------------------------------------------------------- */

/* Read an unsigned LEB128 (at most 32 bits) at *p before end. */
static bool
leb_u32(const unsigned char **p, const unsigned char *end, uint32_t *out)
{
	uint32_t v = 0;
	int shift;

	for (shift = 0; shift < 35 && *p < end; shift += 7) {
		unsigned char c = *(*p)++;
		v |= (uint32_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*out = v;
			return true;
		}
	}
	return false;
}

/* Add the names of a custom section's text: a JSON array, or names separated by commas. */
static enum status
wasm_declared(struct spawn_detect *d, const struct cap_registry *reg, const char *rel,
	      const char *text, size_t len, struct err *e)
{
	struct json_doc doc = JSON_DOC_INIT;
	char *copy = xstrndup(text, len), *tok, *save = NULL;
	struct err ce = ERR_INIT;
	enum status st = ST_OK;
	size_t i;

	if (len && text[0] == '[') {
		if ((st = json_parse(text, len, rel, &doc, e)) == ST_OK)
			for (i = 0; st == ST_OK && i < doc.root->len; i++) {
				if (doc.root->kids[i].type != JSON_STRING)
					st = err_set(e, ST_BAD_VALUE, "%s: section %s: item %zu is not a "
						     "string", rel, SPAWN_WASM_SECTION, i);
				else if ((st = capreg_check(reg, doc.root->kids[i].str, &ce)) != ST_OK)
					err_set(e, st, "%s: section %s: %s", rel, SPAWN_WASM_SECTION, ce.msg);
				else
					found(d, doc.root->kids[i].str, "wasm-section", rel,
					      "custom section " SPAWN_WASM_SECTION);
			}
	} else {
		for (tok = strtok_r(copy, ", \n", &save); tok && st == ST_OK;
		     tok = strtok_r(NULL, ", \n", &save)) {
			if ((st = capreg_check(reg, tok, &ce)) != ST_OK)
				err_set(e, st, "%s: section %s: %s", rel, SPAWN_WASM_SECTION, ce.msg);
			else
				found(d, tok, "wasm-section", rel, "custom section " SPAWN_WASM_SECTION);
		}
	}
	json_doc_release(&doc);
	free(copy);
	return st;
}

/* Capabilities named by the words of an exported name ("sip_invite": sip). */
static void
wasm_export(struct spawn_detect *d, const char *rel, const unsigned char *name, size_t len)
{
	char word[64], what[160];
	size_t i, k, n = 0;

	for (i = 0; i <= len; i++) {
		if (i < len && isalnum(name[i]) && n < sizeof word - 1) {
			word[n++] = (char)tolower(name[i]);
			continue;
		}
		word[n] = '\0';
		for (k = 0; n && k < ARRAY_SIZE(export_words); k++)
			if (strcmp(word, export_words[k].word) == 0) {
				snprintf(what, sizeof what, "exported name '%.*s'", (int)(len < 80 ? len : 80),
					 (const char *)name);
				found(d, export_words[k].cap, "wasm-export", rel, what);
			}
		n = 0;
	}
}

/* Walk the export section (id 7). */
static bool
wasm_exports(struct spawn_detect *d, const char *rel, const unsigned char *p,
	     const unsigned char *end)
{
	uint32_t count, len, idx, i;

	if (!leb_u32(&p, end, &count))
		return false;
	for (i = 0; i < count; i++) {
		if (!leb_u32(&p, end, &len) || len > (size_t)(end - p))
			return false;
		wasm_export(d, rel, p, len);
		p += len;
		if (p >= end)
			return false;
		p++;	/* kind */
		if (!leb_u32(&p, end, &idx))
			return false;
	}
	return true;
}

/* Read a module's sections; a malformed module is ST_BAD_VALUE. */
static enum status
wasm_scan(struct spawn_detect *d, const struct cap_registry *reg, const char *path,
	  const char *rel, struct err *e)
{
	static const unsigned char magic[8] = { 0, 'a', 's', 'm', 1, 0, 0, 0 };
	const unsigned char *p, *end, *sec;
	uint32_t id, size, nlen;
	char *data = NULL;
	size_t len = 0;
	enum status st;

	if ((st = read_file(path, SPAWN_WASM_MAX, 0, &data, &len, e)) != ST_OK)
		return st;
	p = (const unsigned char *)data;
	end = p + len;
	if (len < 8 || memcmp(p, magic, 8) != 0) {
		free(data);
		return err_set(e, ST_BAD_VALUE, "%s: not a WebAssembly module (no \\0asm version 1 "
			       "header)", rel);
	}
	for (p += 8; st == ST_OK && p < end; p = sec + size) {
		id = *p++;
		if (!leb_u32(&p, end, &size) || size > (size_t)(end - p)) {
			st = err_set(e, ST_BAD_VALUE, "%s: section %u at byte %zu runs past the end "
				     "of the module", rel, id, (size_t)(p - (const unsigned char *)data));
			break;
		}
		sec = p;
		if (id == 0 && leb_u32(&p, sec + size, &nlen) && nlen <= (size_t)(sec + size - p) &&
		    nlen == strlen(SPAWN_WASM_SECTION) && memcmp(p, SPAWN_WASM_SECTION, nlen) == 0)
			st = wasm_declared(d, reg, rel, (const char *)p + nlen,
					   (size_t)(sec + size - p - nlen), e);
		else if (id == 7 && !wasm_exports(d, rel, sec, sec + size))
			st = err_set(e, ST_BAD_VALUE, "%s: the export section is malformed", rel);
	}
	free(data);
	return st;
}

/* --- source files --------------------------------------------------------------- */

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Search the start of a text file for the keyword table. */
static void
text_scan(struct spawn_detect *d, int dirfd, const char *name, const char *rel)
{
	char buf[SPAWN_READ_MAX + 1], what[120];
	ssize_t n;
	size_t i;
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return;
	n = read(fd, buf, SPAWN_READ_MAX);
	close(fd);
	if (n <= 0)
		return;
	for (i = 0; i < ARRAY_SIZE(keywords); i++)
		if (memmem(buf, (size_t)n, keywords[i].text, strlen(keywords[i].text))) {
			snprintf(what, sizeof what, "%s '%s'", strcmp(keywords[i].source, "import") ?
				 "keyword" : "imports", keywords[i].text);
			found(d, keywords[i].cap, keywords[i].source, rel, what);
		}
}

/* Is a document's name telling (a tutorial, an API description)? */
static void
doc_name(struct spawn_detect *d, const char *name, const char *rel)
{
	char low[256], what[300];
	size_t i;

	for (i = 0; name[i] && i < sizeof low - 1; i++)
		low[i] = (char)tolower((unsigned char)name[i]);
	low[i] = '\0';
	for (i = 0; i < ARRAY_SIZE(doc_words); i++)
		if (strstr(low, doc_words[i].word)) {
			snprintf(what, sizeof what, "document named '%s'", name);
			found(d, doc_words[i].cap, "docs", rel, what);
		}
}

/* Look at one regular file. */
static enum status
file_scan(struct spawn_detect *d, const struct cap_registry *reg, int dirfd, const char *path,
	  const char *name, const char *rel, struct err *e)
{
	char slashed[300], what[80];
	bool text = false;
	size_t i;

	snprintf(slashed, sizeof slashed, "/%s", name);
	if (ends_with(name, ".wasm"))
		return wasm_scan(d, reg, path, rel, e);
	for (i = 0; i < ARRAY_SIZE(file_types); i++) {
		const char *sfx = file_types[i].suffix;
		if (sfx[0] == '/' ? strcmp(slashed, sfx) == 0 : ends_with(name, sfx)) {
			snprintf(what, sizeof what, "file type %s", sfx[0] == '/' ? sfx + 1 : sfx);
			found(d, file_types[i].cap, file_types[i].source, rel, what);
			text = true;
			if (strcmp(file_types[i].source, "docs") == 0)
				doc_name(d, name, rel);
		}
	}
	if (text || ends_with(name, ".toml") || ends_with(name, ".yaml") || ends_with(name, ".txt") ||
	    ends_with(name, ".mod") || ends_with(name, ".json"))
		text_scan(d, dirfd, name, rel);
	return ST_OK;
}

static const char *const skipped_dirs[] = {
	"node_modules", "target", "build", "vendor", "__pycache__", "dist",
};

/* Walk a directory (dirfd owned here) below rel. */
static enum status
walk(struct spawn_detect *d, const struct cap_registry *reg, int dirfd, const char *root,
     const char *rel, int depth, struct err *e)
{
	DIR *dir = fdopendir(dirfd);
	struct dirent *de;
	struct stat sb;
	enum status st = ST_OK;
	size_t k;

	if (dir == NULL) {
		close(dirfd);
		return err_set(e, ST_PERMISSION, "cannot read directory '%s/%s': %s", root, rel,
			       strerror(errno));
	}
	while (st == ST_OK && (de = readdir(dir)) != NULL && d->files < SPAWN_FILES_MAX) {
		char *sub;
		if (de->d_name[0] == '.' || fstatat(dirfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		sub = *rel ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
		if (S_ISDIR(sb.st_mode) && depth < SPAWN_DEPTH_MAX) {
			for (k = 0; k < ARRAY_SIZE(skipped_dirs) && strcmp(de->d_name, skipped_dirs[k]); k++)
				;
			int fd = k < ARRAY_SIZE(skipped_dirs) ? -1 :
				 openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd >= 0)
				st = walk(d, reg, fd, root, sub, depth + 1, e);
		} else if (S_ISREG(sb.st_mode)) {
			char *path = xasprintf("%s/%s", root, sub);
			d->files++;
			if (strcmp(sub, SPAWN_MANIFEST) != 0)
				st = file_scan(d, reg, dirfd, path, de->d_name, sub, e);
			free(path);
		}
		free(sub);
	}
	closedir(dir);
	return st;
}

/* --- the manifest ---------------------------------------------------------------- */

/* Read ifswarm.json: schema, then the registry. */
static enum status
manifest_read(struct spawn_detect *d, const struct cap_registry *reg, const char *path,
	      struct err *e)
{
	struct jschema_result r = JSCHEMA_RESULT_INIT;
	struct json_doc doc = JSON_DOC_INIT;
	const struct json_value *caps;
	struct jschema *s = NULL;
	struct err ce = ERR_INIT;
	struct buf c = BUF_INIT;
	char *text = NULL, ptr[48];
	size_t len, i;
	enum status st;

	if ((st = read_file(path, READ_MAX_JSON, READ_TEXT, &text, &len, e)) != ST_OK ||
	    (st = json_parse(text, len, path, &doc, e)) != ST_OK ||
	    (st = jschema_load("manifest", &s, e)) != ST_OK)
		goto out;
	jschema_validate(s, NULL, doc.root, &r);
	caps = json_member(doc.root, "capabilities");
	for (i = 0; r.n == 0 && i < caps->len; i++)
		if (capreg_check(reg, caps->kids[i].str, &ce) != ST_OK) {
			snprintf(ptr, sizeof ptr, "/capabilities/%zu", i);
			jschema_result_add(&r, ptr, NULL, "%s", ce.msg);
		}
	if ((st = jschema_result_err(&r, path, e)) != ST_OK)
		goto out;
	for (i = 0; i < caps->len; i++)
		found(d, caps->kids[i].str, "manifest", SPAWN_MANIFEST, "declared");
	d->manifest = true;
	json_canonical_value(doc.root, &c);
	d->manifest_json = buf_detach(&c);
out:
	jschema_result_release(&r);
	jschema_free(s);
	json_doc_release(&doc);
	free(text);
	return st;
}

static int
by_cap(const void *a, const void *b)
{
	return strcmp(((const struct spawn_found *)a)->capability,
		      ((const struct spawn_found *)b)->capability);
}

enum status
spawn_detect(const char *dir, const struct cap_registry *reg, struct spawn_detect *out,
	     struct err *e)
{
	char *manifest = xasprintf("%s/%s", dir, SPAWN_MANIFEST);
	struct stat sb;
	enum status st;
	int fd;

	memset(out, 0, sizeof *out);
	if (stat(dir, &sb) != 0) {
		st = err_set(e, errno == EACCES ? ST_PERMISSION : ST_NOT_FOUND, "spawn directory "
			     "'%s': %s", dir, strerror(errno));
	} else if (!S_ISDIR(sb.st_mode)) {
		st = err_set(e, ST_BAD_VALUE, "'%s' is not a directory", dir);
	} else if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		st = err_set(e, ST_PERMISSION, "cannot read spawn directory '%s': %s", dir,
			     strerror(errno));
	} else if (lstat(manifest, &sb) == 0) {
		close(fd);
		st = S_ISREG(sb.st_mode) ? manifest_read(out, reg, manifest, e) :
		     err_set(e, ST_BAD_VALUE, "'%s' is not a regular file", manifest);
		out->files = 1;
	} else {
		st = walk(out, reg, fd, dir, "", 0, e);
	}
	free(manifest);
	if (st != ST_OK)
		spawn_detect_release(out);
	else if (out->n > 1)
		qsort(out->v, out->n, sizeof *out->v, by_cap);
	return st;
}

enum { SD_CAPABILITY, SD_SOURCE, SD_EVIDENCE, SD_COUNT, SD__COUNT };
static const struct view_col detect_cols[] = {
	[SD_CAPABILITY] = { "capability", COL_TEXT, 0 },
	[SD_SOURCE] = { "source", COL_TEXT, 0 },
	[SD_EVIDENCE] = { "evidence", COL_TEXT, 0 },
	[SD_COUNT] = { "count", COL_NUM, 0 },
};
_Static_assert(ARRAY_SIZE(detect_cols) == SD__COUNT, "one column per detection column");
static const struct view detect_view = VIEW("detected", detect_cols);

struct rowset *
spawn_view(const struct spawn_detect *d)
{
	struct rowset *rs = rows_view(&detect_view);
	size_t i, r;

	for (i = 0; i < d->n; i++) {
		r = rows_add(rs);
		rows_set(rs, r, SD_CAPABILITY, d->v[i].capability);
		rows_set(rs, r, SD_SOURCE, d->v[i].source);
		rows_set(rs, r, SD_EVIDENCE, d->v[i].evidence);
		rows_set_int(rs, r, SD_COUNT, (long long)d->v[i].count);
	}
	return rs;
}

/* --- spawn ------------------------------------------------------------------------- */

void
spawn_result_release(struct spawn_result *r)
{
	spawn_detect_release(&r->d);
	swarm_profile_release(&r->p);
}

/* The profile's JSON: the manifest's fields, the detected capabilities, defaults. */
static void
profile_text(const struct spawn_req *req, const struct spawn_detect *d, struct buf *out)
{
	struct json_doc doc = JSON_DOC_INIT;
	const struct json_value *m = NULL, *x;
	size_t i;

	if (d->manifest_json && json_parse(d->manifest_json, strlen(d->manifest_json), "manifest",
					   &doc, NULL) == ST_OK)
		m = doc.root;
	buf_addc(out, '{');
	json_key(out, "capabilities");
	buf_addc(out, '[');
	for (i = 0; i < d->n; i++) {
		buf_adds(out, i ? "," : "");
		json_escape(out, d->v[i].capability);
	}
	buf_addc(out, ']');
	x = m ? json_member(m, "cost_per_hour_micros") : NULL;
	json_kv_int(out, "cost_per_hour_micros", x ? (long long)x->num : 0);
	json_kv_str(out, "id", req->id);
	x = m ? json_member(m, "max_concurrent_tasks") : NULL;
	json_kv_int(out, "max_concurrent_tasks", x ? (long long)x->num : 1);
	if (m && (x = json_member(m, "metadata")) != NULL) {
		json_key(out, "metadata");
		json_canonical_value(x, out);
	}
	x = m ? json_member(m, "model") : NULL;
	json_kv_str(out, "model", req->model ? req->model : x ? x->str : "unknown");
	x = m ? json_member(m, "reputation") : NULL;
	json_kv_num(out, "reputation", x ? x->num : 0.5);
	buf_addc(out, '}');
	json_doc_release(&doc);
}

/* The spawn's witness entry: capabilities with evidence, the budget. */
static void
spawn_witness(struct bus *b, const struct opctx *op, const struct spawn_result *r)
{
	struct witness_note n = { .component = "governor", .event = "swarm.spawn",
				  .actor = op->actor, .swarm = r->p.id };
	struct buf p = BUF_INIT;
	size_t i;

	buf_addc(&p, '{');
	json_kv_bool(&p, "budget_created", r->budget_created);
	json_kv_int(&p, "budget_micros", r->budget_micros);
	json_key(&p, "detected");
	buf_addc(&p, '[');
	for (i = 0; i < r->d.n; i++) {
		buf_adds(&p, i ? ",{" : "{");
		json_kv_str(&p, "capability", r->d.v[i].capability);
		json_kv_int(&p, "count", (long long)r->d.v[i].count);
		json_kv_str(&p, "evidence", r->d.v[i].evidence);
		json_kv_str(&p, "source", r->d.v[i].source);
		buf_addc(&p, '}');
	}
	buf_addc(&p, ']');
	json_kv_int(&p, "files", (long long)r->d.files);
	json_kv_bool(&p, "manifest", r->d.manifest);
	buf_addc(&p, '}');
	n.payload = p.s;
	ledger_witness(op, &n);
	swarm_event(b, op, r->p.id, "spawn", p.s);
	buf_release(&p);
}

/* Detect and build the profile; every step a check of op. */
static enum status
spawn_profile(struct opctx *op, const struct cap_registry *reg, const struct spawn_req *req,
	      struct spawn_result *out, struct err *e)
{
	struct json_doc doc = JSON_DOC_INIT;
	struct buf text = BUF_INIT;
	struct err ce = ERR_INIT;
	enum status st;
	size_t i;

	st = spawn_detect(req->dir, reg, &out->d, &ce);
	if (!check(op, "capabilities detected", st, &ce, req->dir))
		return err_set(e, st, "%s", ce.msg);
	for (i = 0; st == ST_OK && i < out->d.n; i++)
		why_add(op, out->d.v[i].capability, out->d.v[i].source, "%s (%zu)",
			out->d.v[i].evidence, out->d.v[i].count);
	if (st == ST_OK && out->d.n == 0)
		st = err_set(&ce, ST_BAD_VALUE, "no capability detected in '%s' (%zu files): add %s "
			     "(ifctl-swarm(1))", req->dir, out->d.files, SPAWN_MANIFEST);
	if (!check(op, "at least one capability", st, &ce, "ok"))
		return err_set(e, st, "%s", ce.msg);
	if (st != ST_OK)
		return ST_OK;
	profile_text(req, &out->d, &text);
	st = json_parse(text.s, text.len, "profile", &doc, &ce);
	if (st == ST_OK)
		st = swarm_profile_read(doc.root, reg, &out->p, NULL, &ce);
	json_doc_release(&doc);
	buf_release(&text);
	if (!check(op, "profile is valid", st, &ce, req->id))
		return err_set(e, st, "swarm '%s': %s", req->id, ce.msg);
	return ST_OK;
}

enum status
spawn_run(struct bus *b, struct opctx *op, const struct cap_registry *reg, const struct policy *p,
	  const struct spawn_req *req, struct spawn_result *out, struct err *e)
{
	struct gov_rules r;
	struct err ce = ERR_INIT;
	char usd[32];
	enum status st;

	memset(out, 0, sizeof *out);
	if ((st = spawn_profile(op, reg, req, out, e)) != ST_OK || out->p.id == NULL)
		return st;
	policy_rules_for(p, out->p.caps, out->p.ncaps, req->id, &r);
	out->budget_micros = req->budget_micros >= 0 ? req->budget_micros : r.default_budget_micros;
	money_str(out->budget_micros, usd);
	why_add(op, "budget", usd, req->budget_micros >= 0 ? "--budget" :
		"the policy's default_budget (profile %s)", p->profile);
	if ((st = swarm_register(b, op, &out->p, false, e)) != ST_OK || op->falsify)
		return st;
	st = gov_budget_assign(b, op, req->id, out->budget_micros, true, &out->budget_created, &ce);
	if (!check(op, "budget assigned", st, &ce, usd)) {
		swarm_unregister(b, req->id, NULL);	/* nothing half-way */
		return err_set(e, st, "swarm '%s' not spawned: its budget could not be written: %s",
			       req->id, ce.msg);
	}
	spawn_witness(b, op, out);
	return ST_OK;
}
