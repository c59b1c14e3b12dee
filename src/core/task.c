/* Task records: see task.h. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/task.h"
#include "core/util.h"

static const char *const state_names[] = {
	[TASK_QUEUED] = "queued", [TASK_CLAIMED] = "claimed", [TASK_DONE] = "done",
	[TASK_FAILED] = "failed", [TASK_DEAD] = "dead",
};
_Static_assert(ARRAY_SIZE(state_names) == TASK__COUNT, "state names");

const char *
task_state_name(enum task_state s)
{
	return (unsigned)s < TASK__COUNT ? state_names[s] : "unknown";
}

bool
task_state_parse(const char *s, enum task_state *out)
{
	int i;

	for (i = 0; i < TASK__COUNT; i++) {
		if (strcmp(s, state_names[i]) == 0) {
			*out = (enum task_state)i;
			return true;
		}
	}
	return false;
}

/* A JSON member given as text: canonical when it parses (it always should). */
static void
add_json(struct buf *out, const char *key, const char *json)
{
	size_t mark;

	json_key(out, key);
	if (json == NULL) {
		buf_adds(out, "null");
		return;
	}
	mark = out->len;
	if (json_canonical(json, out, NULL) != ST_OK) {
		out->len = mark;
		buf_adds(out, json);	/* task_encode refuses it */
	}
}

void
task_init(struct task *t)
{
	memset(t, 0, sizeof *t);
}

void
task_release(struct task *t)
{
	size_t i;

	for (i = 0; i < t->ncaps; i++)
		free(t->caps[i]);
	for (i = 0; i < t->nhist; i++) {
		free(t->hist[i].by);
		free(t->hist[i].note);
	}
	free(t->caps);
	free(t->hist);
	free(t->id);
	free(t->title);
	free(t->payload);
	free(t->idem);
	free(t->to);
	free(t->owner);
	free(t->result);
	free(t->reason);
	free(t->trace);
	memset(t, 0, sizeof *t);
}

void
task_history_add(struct task *t, int64_t at, enum task_state st, const char *by,
		 uint64_t token, const char *note)
{
	struct task_event *ev;

	if (t->nhist == TASK_HISTORY_MAX) {
		free(t->hist[0].by);
		free(t->hist[0].note);
		memmove(t->hist, t->hist + 1, (t->nhist - 1) * sizeof *t->hist);
		t->nhist--;
	}
	xgrow(&t->hist, &t->histcap, t->nhist + 1, sizeof *t->hist);
	ev = &t->hist[t->nhist++];
	ev->at = at;
	ev->state = st;
	ev->by = xstrdup(by ? by : "");
	ev->token = token;
	ev->note = xstrdup_or_null(note);
}

/*
 * The record in RFC 8785 canonical form: members in sorted order, numbers
 * and strings as json.c writes them, payload and result canonical. What
 * task_from_json reads back is the same record.
 */
void
task_to_json(const struct task *t, struct buf *out)
{
	size_t i;

	buf_addc(out, '{');
	json_kv_int(out, "attempts", t->attempts);
	json_kv_num(out, "budget", t->budget);
	json_key(out, "capabilities");
	buf_addc(out, '[');
	for (i = 0; i < t->ncaps; i++) {
		if (i)
			buf_addc(out, ',');
		json_escape(out, t->caps[i]);
	}
	buf_addc(out, ']');
	json_kv_int(out, "created", t->created);
	json_key(out, "history");
	buf_addc(out, '[');
	for (i = 0; i < t->nhist; i++) {
		const struct task_event *ev = &t->hist[i];
		buf_adds(out, i ? ",{" : "{");
		json_kv_int(out, "at", ev->at);
		json_kv_str(out, "by", ev->by);
		json_kv_str(out, "note", ev->note);
		json_kv_str(out, "state", task_state_name(ev->state));
		json_kv_int(out, "token", (long long)ev->token);
		buf_addc(out, '}');
	}
	buf_addc(out, ']');
	json_kv_str(out, "id", t->id);
	json_kv_str(out, "idempotency_key", t->idem);
	json_kv_int(out, "lease_until", t->lease_until);
	json_kv_int(out, "max_attempts", t->max_attempts);
	json_kv_int(out, "not_before", t->not_before);
	json_kv_str(out, "owner", t->owner);
	add_json(out, "payload", t->payload);
	json_kv_int(out, "priority", t->priority);
	json_kv_str(out, "reason", t->reason);
	add_json(out, "result", t->result);
	json_kv_str(out, "state", task_state_name(t->state));
	json_kv_str(out, "title", t->title ? t->title : "");
	json_kv_str(out, "to", t->to);
	json_kv_int(out, "token", (long long)t->token);
	json_kv_str(out, "trace", t->trace);
	json_kv_int(out, "updated", t->updated);
	json_kv_int(out, "v", 1);
	buf_addc(out, '}');
}

/* The first string field of t that is not UTF-8, or NULL. */
static const char *
bad_utf8_field(const struct task *t)
{
	const char *const names[] = { "id", "title", "idempotency key", "to", "owner", "reason",
				      "trace" };
	const char *const vals[] = { t->id, t->title, t->idem, t->to, t->owner, t->reason,
				     t->trace };
	const char *bad = json_utf8_first_bad(names, vals, ARRAY_SIZE(names), NULL);
	size_t i;

	for (i = 0; !bad && i < t->ncaps; i++)
		if (!json_utf8_valid(t->caps[i], strlen(t->caps[i]), NULL))
			bad = "capability";
	for (i = 0; !bad && i < t->nhist; i++)
		if (!json_utf8_valid(t->hist[i].by, strlen(t->hist[i].by), NULL) ||
		    (t->hist[i].note &&
		     !json_utf8_valid(t->hist[i].note, strlen(t->hist[i].note), NULL)))
			bad = "history";
	return bad;
}

enum status
task_encode(const struct task *t, struct buf *out, struct err *e)
{
	const char *bad = bad_utf8_field(t);
	struct err why = ERR_INIT;
	struct task back;
	size_t start = out->len;
	enum status st;

	if (bad)
		return err_set(e, ST_BAD_VALUE, "task '%.60s' cannot be stored: its %s is not valid "
			       "UTF-8", t->id ? t->id : "?", bad);
	task_to_json(t, out);
	st = task_from_json(out->s + start, out->len - start, &back, &why);
	task_release(&back);
	if (st != ST_OK) {
		out->len = start;
		out->s[start] = '\0';
		return err_set(e, ST_BAD_VALUE, "task '%.60s' cannot be stored: %s",
			       t->id ? t->id : "?", why.msg);
	}
	return ST_OK;
}

/* A state name. */
static enum status
read_state(const struct json_value *v, void *dst, struct err *e)
{
	if (v->type != JSON_STRING || !task_state_parse(v->str, dst))
		return err_set(e, ST_BAD_JSON, "task record: field 'state' must be one of queued, "
			       "claimed, done, failed, dead");
	return ST_OK;
}

/* An array of capability names. */
static enum status
read_caps(const struct json_value *v, void *dst, struct err *e)
{
	struct task *t = (struct task *)(void *)((char *)dst - offsetof(struct task, caps));
	size_t i;

	if (v->type != JSON_ARRAY)
		return err_set(e, ST_BAD_JSON, "task record: field 'capabilities' must be an array");
	t->caps = xcalloc(v->len + 1, sizeof *t->caps);
	for (i = 0; i < v->len; i++) {
		const struct json_value *c = &v->kids[i];
		if (c->type != JSON_STRING || strlen(c->str) != c->len || c->len == 0)
			return err_set(e, ST_BAD_JSON, "task record: capability %zu is not a "
				       "non-empty string", i + 1);
		t->caps[t->ncaps++] = xstrdup(c->str);
	}
	return ST_OK;
}

struct hist_row {
	int64_t at, token;
	enum task_state state;
	char *by, *note;
};

#define HF(name, type, flags, field, min, max) \
	{ name, type, flags, offsetof(struct hist_row, field), min, max, NULL }

static const struct json_field hist_fields[] = {
	HF("at", JF_I64, JF_REQUIRED, at, 0, JSON_INT_MAX),
	{ "state", JF_CUSTOM, JF_REQUIRED, offsetof(struct hist_row, state), 0, 0, read_state },
	HF("by", JF_STR, JF_NULLABLE, by, 0, 0),
	HF("token", JF_I64, 0, token, 0, JSON_INT_MAX),
	HF("note", JF_STR, JF_NULLABLE, note, 0, 0),
};

/* The history: an array of {at, state, by, token, note}. */
static enum status
read_history(const struct json_value *v, void *dst, struct err *e)
{
	struct task *t = (struct task *)(void *)((char *)dst - offsetof(struct task, hist));
	enum status st = ST_OK;
	size_t i;

	if (v->type != JSON_ARRAY)
		return err_set(e, ST_BAD_JSON, "task record: field 'history' must be an array");
	for (i = 0; i < v->len && st == ST_OK; i++) {
		struct hist_row h = { 0, 0, TASK_QUEUED, NULL, NULL };
		st = json_read_fields(&v->kids[i], hist_fields, ARRAY_SIZE(hist_fields), 0, &h,
				      "task record: history", e);
		if (st == ST_OK)
			task_history_add(t, h.at, h.state, h.by, (uint64_t)h.token, h.note);
		free(h.by);
		free(h.note);
	}
	return st;
}

#define TF(name, type, flags, field, min, max) \
	{ name, type, flags, offsetof(struct task, field), min, max, NULL }
#define TF_TIME(name, field) TF(name, JF_I64, 0, field, 0, JSON_INT_MAX)

/*
 * The fields of a record. Required ones have no default that could make a
 * foreign record do something it did not say (a missing max_attempts read
 * as 0 would kill the task at its first claim).
 */
static const struct json_field task_fields[] = {
	TF("v", JF_INT, JF_REQUIRED, v, 1, 1),
	TF("id", JF_STR, JF_REQUIRED, id, 0, 0),
	{ "state", JF_CUSTOM, JF_REQUIRED, offsetof(struct task, state), 0, 0, read_state },
	TF("priority", JF_INT, JF_REQUIRED, priority, 0, TASK_PRIORITY_MAX),
	TF("attempts", JF_INT, JF_REQUIRED, attempts, 0, TASK_ATTEMPTS_MAX),
	TF("max_attempts", JF_INT, JF_REQUIRED, max_attempts, 1, TASK_ATTEMPTS_MAX),
	TF("title", JF_STR, JF_NULLABLE, title, 0, 0),
	{ "capabilities", JF_CUSTOM, 0, offsetof(struct task, caps), 0, 0, read_caps },
	TF("budget", JF_NUM, 0, budget, 0, 1e15),
	TF("payload", JF_JSON, JF_NULLABLE, payload, 0, 0),
	TF("idempotency_key", JF_STR, JF_NULLABLE, idem, 0, 0),
	TF("to", JF_STR, JF_NULLABLE, to, 0, 0),
	TF("owner", JF_STR, JF_NULLABLE, owner, 0, 0),
	TF("token", JF_I64, 0, token, 0, JSON_INT_MAX),
	TF_TIME("lease_until", lease_until),
	TF_TIME("not_before", not_before),
	TF("created", JF_I64, JF_REQUIRED, created, 1, JSON_INT_MAX),
	TF_TIME("updated", updated),
	TF("result", JF_JSON, JF_NULLABLE, result, 0, 0),
	TF("reason", JF_STR, JF_NULLABLE, reason, 0, 0),
	TF("trace", JF_STR, JF_NULLABLE, trace, 0, 0),
	{ "history", JF_CUSTOM, 0, offsetof(struct task, hist), 0, 0, read_history },
};

/* What the fields cannot say alone: a record that agrees with itself. */
static enum status
task_consistent(const struct task *t, struct err *e)
{
	if (!task_id_valid(t->id))
		return err_set(e, ST_BAD_JSON, "task record: id '%.60s' is not a valid task id",
			       t->id);
	if (t->state == TASK_CLAIMED && (t->owner == NULL || t->lease_until == 0 || t->token == 0))
		return err_set(e, ST_BAD_JSON, "task record: a claimed task needs 'owner', 'token' "
			       "and 'lease_until'");
	if (t->attempts > t->max_attempts)
		return err_set(e, ST_BAD_JSON, "task record: attempts %d exceed max_attempts %d",
			       t->attempts, t->max_attempts);
	return ST_OK;
}

enum status
task_from_json(const char *text, size_t len, struct task *t, struct err *e)
{
	struct json_doc doc = JSON_DOC_INIT;
	enum status st;

	task_init(t);
	if ((st = json_parse(text, len, "task record", &doc, e)) == ST_OK)
		st = json_read_fields(doc.root, task_fields, ARRAY_SIZE(task_fields), 0, t,
				      "task record", e);
	json_doc_release(&doc);
	if (st == ST_OK)
		st = task_consistent(t, e);
	if (st != ST_OK)
		task_release(t);
	return st;
}

bool
task_caps_ok(const struct task *t, char *const *caps, size_t ncaps)
{
	size_t i, j;

	for (i = 0; i < t->ncaps; i++) {
		for (j = 0; j < ncaps; j++)
			if (strcmp(t->caps[i], caps[j]) == 0)
				break;
		if (j == ncaps)
			return false;
	}
	return true;
}

bool
task_id_valid(const char *id)
{
	size_t n = strlen(id), i;

	/* A KV key's tokens are separated by dots: none may be empty. */
	if (n == 0 || n > 128 || has_prefix(id, "idem.") || id[0] == '.' || id[n - 1] == '.' ||
	    strstr(id, ".."))
		return false;
	for (i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.", id[i]))
			return false;
	return true;
}
