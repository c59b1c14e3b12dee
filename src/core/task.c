/* Task records: see task.h. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

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

void
task_to_json(const struct task *t, struct buf *out)
{
	size_t i;

	buf_addc(out, '{');
	json_kv_int(out, "v", 1);
	json_kv_str(out, "id", t->id);
	json_kv_str(out, "title", t->title ? t->title : "");
	json_key(out, "capabilities");
	buf_addc(out, '[');
	for (i = 0; i < t->ncaps; i++) {
		if (i)
			buf_addc(out, ',');
		json_escape(out, t->caps[i]);
	}
	buf_addc(out, ']');
	json_kv_int(out, "priority", t->priority);
	json_key(out, "budget");
	buf_addf(out, "%.17g", t->budget);
	json_kv_raw(out, "payload", t->payload);
	json_kv_str(out, "idempotency_key", t->idem);
	json_kv_str(out, "to", t->to);
	json_kv_str(out, "state", task_state_name(t->state));
	json_kv_str(out, "owner", t->owner);
	json_kv_int(out, "token", (long long)t->token);
	json_kv_int(out, "lease_until", t->lease_until);
	json_kv_int(out, "attempts", t->attempts);
	json_kv_int(out, "max_attempts", t->max_attempts);
	json_kv_int(out, "not_before", t->not_before);
	json_kv_int(out, "created", t->created);
	json_kv_int(out, "updated", t->updated);
	json_kv_raw(out, "result", t->result);
	json_kv_str(out, "reason", t->reason);
	json_kv_str(out, "trace", t->trace);
	json_key(out, "history");
	buf_addc(out, '[');
	for (i = 0; i < t->nhist; i++) {
		const struct task_event *ev = &t->hist[i];
		buf_adds(out, i ? ",{" : "{");
		json_kv_int(out, "at", ev->at);
		json_kv_str(out, "state", task_state_name(ev->state));
		json_kv_str(out, "by", ev->by);
		json_kv_int(out, "token", (long long)ev->token);
		json_kv_str(out, "note", ev->note);
		buf_addc(out, '}');
	}
	buf_adds(out, "]}");
}

/* Field readers: missing or null leave the default; a wrong type is an error. */
static bool
get_str(const cJSON *o, const char *k, char **dst, const char **bad)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (v == NULL || cJSON_IsNull(v))
		return true;
	if (!cJSON_IsString(v)) {
		*bad = k;
		return false;
	}
	*dst = xstrdup(v->valuestring);
	return true;
}

static bool
get_num(const cJSON *o, const char *k, double *dst, const char **bad)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (v == NULL || cJSON_IsNull(v))
		return true;
	if (!cJSON_IsNumber(v)) {
		*bad = k;
		return false;
	}
	*dst = v->valuedouble;
	return true;
}

static bool
get_i64(const cJSON *o, const char *k, int64_t *dst, const char **bad)
{
	double d = (double)*dst;

	if (!get_num(o, k, &d, bad))
		return false;
	*dst = (int64_t)d;
	return true;
}

static bool
get_json(const cJSON *o, const char *k, char **dst)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (v && !cJSON_IsNull(v))
		*dst = cJSON_PrintUnformatted(v);
	return true;
}

static bool
get_state(const cJSON *o, const char *k, enum task_state *dst, const char **bad)
{
	char *s = NULL;
	bool ok = get_str(o, k, &s, bad) && s && task_state_parse(s, dst);

	if (!ok)
		*bad = k;
	free(s);
	return ok;
}

static bool
get_caps(const cJSON *o, struct task *t, const char **bad)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "capabilities"), *c;

	if (a == NULL || cJSON_IsNull(a))
		return true;
	if (!cJSON_IsArray(a)) {
		*bad = "capabilities";
		return false;
	}
	t->caps = xcalloc((size_t)cJSON_GetArraySize(a) + 1, sizeof *t->caps);
	cJSON_ArrayForEach(c, a) {
		if (!cJSON_IsString(c)) {
			*bad = "capabilities";
			return false;
		}
		t->caps[t->ncaps++] = xstrdup(c->valuestring);
	}
	return true;
}

static bool
get_history(const cJSON *o, struct task *t, const char **bad)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "history"), *h;

	if (a == NULL || cJSON_IsNull(a))
		return true;
	if (!cJSON_IsArray(a)) {
		*bad = "history";
		return false;
	}
	cJSON_ArrayForEach(h, a) {
		int64_t at = 0, token = 0;
		enum task_state st = TASK_QUEUED;
		char *by = NULL, *note = NULL;
		bool ok = cJSON_IsObject(h) && get_i64(h, "at", &at, bad) &&
			  get_state(h, "state", &st, bad) && get_str(h, "by", &by, bad) &&
			  get_i64(h, "token", &token, bad) && get_str(h, "note", &note, bad);
		if (ok)
			task_history_add(t, at, st, by, (uint64_t)token, note);
		free(by);
		free(note);
		if (!ok) {
			*bad = "history";
			return false;
		}
	}
	return true;
}

enum status
task_from_json(const char *text, size_t len, struct task *t, struct err *e)
{
	cJSON *o = cJSON_ParseWithLength(text, len);
	const char *bad = NULL;
	double prio = 0, v = 0;
	int64_t token = 0, attempts = 0, max_attempts = 0;
	bool ok;

	task_init(t);
	if (o == NULL || !cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return err_set(e, ST_BAD_JSON, "task record is not a JSON object");
	}
	ok = get_num(o, "v", &v, &bad) && v == 1 && get_str(o, "id", &t->id, &bad) && t->id &&
	     get_str(o, "title", &t->title, &bad) && get_caps(o, t, &bad) &&
	     get_num(o, "priority", &prio, &bad) && get_num(o, "budget", &t->budget, &bad) &&
	     get_json(o, "payload", &t->payload) &&
	     get_str(o, "idempotency_key", &t->idem, &bad) && get_str(o, "to", &t->to, &bad) &&
	     get_state(o, "state", &t->state, &bad) && get_str(o, "owner", &t->owner, &bad) &&
	     get_i64(o, "token", &token, &bad) && get_i64(o, "lease_until", &t->lease_until, &bad) &&
	     get_i64(o, "attempts", &attempts, &bad) &&
	     get_i64(o, "max_attempts", &max_attempts, &bad) &&
	     get_i64(o, "not_before", &t->not_before, &bad) &&
	     get_i64(o, "created", &t->created, &bad) && get_i64(o, "updated", &t->updated, &bad) &&
	     get_json(o, "result", &t->result) && get_str(o, "reason", &t->reason, &bad) &&
	     get_str(o, "trace", &t->trace, &bad) && get_history(o, t, &bad);
	cJSON_Delete(o);
	if (!ok) {
		task_release(t);
		return err_set(e, ST_BAD_JSON, "task record: field '%s' is missing or of the "
			       "wrong type", bad ? bad : v != 1 ? "v" : "id");
	}
	t->priority = (int)prio;
	t->token = (uint64_t)token;
	t->attempts = (int)attempts;
	t->max_attempts = (int)max_attempts;
	return ST_OK;
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

	if (n == 0 || n > 128 || has_prefix(id, "idem.") || id[0] == '.' || id[n - 1] == '.')
		return false;
	for (i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.", id[i]))
			return false;
	return true;
}
