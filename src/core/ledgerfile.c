/* Exported witness ledgers: see ledgerfile.h. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/json.h"
#include "core/ledgerfile.h"
#include "core/util.h"

static void
note_at(struct ledger_file *lf, size_t after, const char *note)
{
	size_t old = lf->notes_cap;

	xgrow(&lf->notes, &lf->notes_cap, after + 1, sizeof *lf->notes);
	memset(lf->notes + old, 0, (lf->notes_cap - old) * sizeof *lf->notes);
	free(lf->notes[after]);
	lf->notes[after] = xstrdup(note);
}

/* One line; lineno for messages. */
static enum status
read_line(struct ledger_file *lf, const char *line, size_t len, int lineno, struct err *e)
{
	cJSON *o = cJSON_ParseWithLength(line, len);
	const cJSON *type = o ? cJSON_GetObjectItemCaseSensitive(o, "type") : NULL;
	enum status st = ST_OK;

	if (!cJSON_IsString(type)) {
		st = err_set(e, ST_BAD_JSON, "line %d: not a ledger line (a JSON object with \"type\")",
			     lineno);
	} else if (strcmp(type->valuestring, "ledger") == 0) {
		const cJSON *origin = cJSON_GetObjectItemCaseSensitive(o, "origin");
		const cJSON *key = cJSON_GetObjectItemCaseSensitive(o, "key");
		if (lineno != 1 || !cJSON_IsString(origin) || !cJSON_IsString(key))
			st = err_set(e, ST_BAD_JSON, "line %d: malformed ledger header", lineno);
		else if ((st = wkey_from_vkey(key->valuestring, &lf->header_key, e)) == ST_OK)
			snprintf(lf->origin, sizeof lf->origin, "%s", origin->valuestring);
		else
			err_prefix(e, "line %d", lineno);
	} else if (strcmp(type->valuestring, "entry") == 0) {
		xgrow(&lf->entries, &lf->cap, lf->n + 1, sizeof *lf->entries);
		st = wentry_parse(line, len, &lf->entries[lf->n], e);
		if (st == ST_OK)
			lf->n++;
		else
			err_prefix(e, "line %d", lineno);
	} else if (strcmp(type->valuestring, "checkpoint") == 0) {
		const cJSON *note = cJSON_GetObjectItemCaseSensitive(o, "note");
		if (!cJSON_IsString(note))
			st = err_set(e, ST_BAD_JSON, "line %d: checkpoint without a note", lineno);
		else
			note_at(lf, lf->n, note->valuestring);
	} else {
		st = err_set(e, ST_BAD_JSON, "line %d: unknown line type '%s'", lineno,
			     type->valuestring);
	}
	cJSON_Delete(o);
	return st;
}

enum status
ledger_file_read(const char *path, struct ledger_file *lf, struct err *e)
{
	char *text = NULL, *p, *nl;
	size_t len;
	int lineno = 0;
	enum status st;

	memset(lf, 0, sizeof *lf);
	if ((st = read_file(path, &text, &len, e)) != ST_OK)
		return st;
	for (p = text; st == ST_OK && p < text + len; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(text + len - p));
		if (nl == NULL)
			nl = text + len;
		lineno++;
		if (nl > p)
			st = read_line(lf, p, (size_t)(nl - p), lineno, e);
	}
	if (st == ST_OK && lf->origin[0] == '\0')
		st = err_set(e, ST_BAD_JSON, "no ledger header on line 1");
	if (st != ST_OK) {
		err_prefix(e, "'%s'", path);
		ledger_file_release(lf);
	}
	free(text);
	return st;
}

void
ledger_file_release(struct ledger_file *lf)
{
	size_t i;

	for (i = 0; i < lf->n; i++)
		wentry_release(&lf->entries[i]);
	for (i = 0; i < lf->notes_cap; i++)
		free(lf->notes[i]);
	free(lf->entries);
	free(lf->notes);
	memset(lf, 0, sizeof *lf);
}

void
ledger_file_header(FILE *f, const char *origin, const struct wkey *k)
{
	struct buf b = BUF_INIT, vk = BUF_INIT;

	wkey_vkey(k, &vk);
	buf_adds(&b, "{\"type\":\"ledger\",\"v\":1,\"origin\":");
	json_escape(&b, origin);
	buf_adds(&b, ",\"key\":");
	json_escape(&b, vk.s);
	buf_adds(&b, "}\n");
	fputs(b.s, f);
	buf_release(&b);
	buf_release(&vk);
}

void
ledger_file_entry(FILE *f, const struct wentry *e)
{
	struct buf b = BUF_INIT;

	wentry_canonical(e, true, &b);
	/* The stored form with a "type" key in front: "type" sorts after the rest. */
	fprintf(f, "{\"type\":\"entry\",%s\n", b.s + 1);
	buf_release(&b);
}

void
ledger_file_checkpoint(FILE *f, const char *note)
{
	struct buf b = BUF_INIT;

	buf_adds(&b, "{\"type\":\"checkpoint\",\"note\":");
	json_escape(&b, note);
	buf_adds(&b, "}\n");
	fputs(b.s, f);
	buf_release(&b);
}

struct wverdict
ledger_file_verify(const struct ledger_file *lf, const struct wkey *k)
{
	struct wverifier w;
	struct wverdict v;
	size_t i;

	wverifier_init(&w, k);
	if (lf->notes_cap && lf->notes[0])
		wverifier_checkpoint(&w, lf->notes[0]);
	for (i = 0; i < lf->n; i++) {
		wverifier_entry(&w, &lf->entries[i]);
		if (i + 1 < lf->notes_cap && lf->notes[i + 1])
			wverifier_checkpoint(&w, lf->notes[i + 1]);
	}
	v = w.v;
	wverifier_release(&w);
	return v;
}

void
ledger_file_tree(const struct ledger_file *lf, struct merkle *t)
{
	size_t i;

	merkle_init(t);
	for (i = 0; i < lf->n; i++)
		witness_tree_add(t, &lf->entries[i]);
}
