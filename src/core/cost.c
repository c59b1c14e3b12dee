/* Metering: see cost.h. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/budget.h"
#include "core/cost.h"
#include "core/json.h"
#include "core/ledger.h"
#include "core/task.h"
#include "core/util.h"

void
usage_init(struct usage *u)
{
	memset(u, 0, sizeof *u);
	u->v = 1;
	u->cost_micros = -1;
}

void
usage_release(struct usage *u)
{
	free(u->id);
	free(u->swarm);
	free(u->task);
	free(u->trace);
	free(u->provider);
	free(u->model);
	free(u->operation);
	usage_init(u);
}

/* "price": {"input": "2.50", ...}, each a decimal string of USD. */
static enum status
read_price(const struct json_value *v, void *dst, struct err *e)
{
	static const char *const names[] = { "input", "output", "cached", "hourly" };
	struct usage *u = (void *)((char *)dst - offsetof(struct usage, price));
	int64_t *slot[] = { &u->price.input, &u->price.output, &u->price.cached, &u->price.hourly };
	bool cached = false;
	size_t i, k;

	if (v->type != JSON_OBJECT)
		return err_set(e, ST_BAD_JSON, "usage record: 'price' is not an object");
	for (i = 0; i < v->len; i++) {
		const struct json_value *m = &v->kids[i];
		for (k = 0; k < ARRAY_SIZE(names); k++)
			if (strcmp(m->key, names[k]) == 0)
				break;
		if (k == ARRAY_SIZE(names))
			return err_set(e, ST_BAD_JSON, "usage record: 'price' has an unknown member "
				       "'%.40s' (input, output, cached, hourly)", m->key);
		if (m->type != JSON_STRING)
			return err_set(e, ST_BAD_JSON, "usage record: price.%s is not a string such "
				       "as \"2.50\"", names[k]);
		if (money_parse(m->str, "usage record: price", slot[k], e) != ST_OK)
			return ST_BAD_VALUE;
		cached |= k == 2;
	}
	if (!cached)
		u->price.cached = u->price.input;
	u->has_price = true;
	return ST_OK;
}

#define UF(n, t, f, fld, lo, hi) { n, t, f, offsetof(struct usage, fld), lo, hi, NULL }
static const struct json_field usage_fields[] = {
	UF("v", JF_INT, JF_REQUIRED, v, 1, 1),
	UF("id", JF_STR, JF_REQUIRED, id, 0, 0),
	UF("swarm", JF_STR, JF_REQUIRED, swarm, 0, 0),
	UF("task", JF_STR, JF_NULLABLE, task, 0, 0),
	UF("trace", JF_STR, JF_NULLABLE, trace, 0, 0),
	UF("provider", JF_STR, JF_REQUIRED, provider, 0, 0),
	UF("model", JF_STR, JF_REQUIRED, model, 0, 0),
	UF("operation", JF_STR, JF_NULLABLE, operation, 0, 0),
	UF("tokens_in", JF_I64, 0, tokens_in, 0, COST_TOKENS_MAX),
	UF("tokens_out", JF_I64, 0, tokens_out, 0, COST_TOKENS_MAX),
	UF("tokens_cached", JF_I64, 0, tokens_cached, 0, COST_TOKENS_MAX),
	UF("latency_ms", JF_I64, 0, latency_ms, 0, COST_MS_MAX),
	UF("duration_ms", JF_I64, 0, duration_ms, 0, COST_MS_MAX),
	UF("at", JF_I64, JF_REQUIRED, at, 1, JSON_INT_MAX),
	{ "price", JF_CUSTOM, 0, offsetof(struct usage, price), 0, 0, read_price },
	UF("cost_micros", JF_I64, 0, cost_micros, 0, MONEY_MAX),
	UF("usage_seq", JF_I64, 0, usage_seq, 1, JSON_INT_MAX),
};

/* Is s a name a record may carry: 1-128 of [A-Za-z0-9._:/-]? */
static bool
name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n > 0 && n <= 128 && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					    "0123456789._:/-") == n;
}

enum status
usage_check(const struct usage *u, struct err *e)
{
	if (u->id == NULL || !task_id_valid(u->id))
		return err_set(e, ST_BAD_VALUE, "usage record: id is not 1-128 letters, digits, "
			       "'-', '_' or '.'");
	if (u->swarm == NULL || !task_id_valid(u->swarm))
		return err_set(e, ST_BAD_VALUE, "usage record: swarm is not a swarm id");
	if (u->task && !task_id_valid(u->task))
		return err_set(e, ST_BAD_VALUE, "usage record: task is not a task id");
	if (!name_ok(u->provider) || strchr(u->provider, '/') || !name_ok(u->model))
		return err_set(e, ST_BAD_VALUE, "usage record: provider and model are names "
			       "(letters, digits, '.', '_', ':', '-')");
	if (u->operation && !name_ok(u->operation))
		return err_set(e, ST_BAD_VALUE, "usage record: operation is not a name");
	if (u->trace && (strlen(u->trace) > 64 || !name_ok(u->trace)))
		return err_set(e, ST_BAD_VALUE, "usage record: trace is not a trace id");
	if (u->tokens_in < 0 || u->tokens_out < 0 || u->tokens_cached < 0 ||
	    u->tokens_in > COST_TOKENS_MAX || u->tokens_out > COST_TOKENS_MAX ||
	    u->tokens_cached > COST_TOKENS_MAX)
		return err_set(e, ST_BAD_VALUE, "usage record: token counts are 0 to %lld",
			       COST_TOKENS_MAX);
	if (u->latency_ms < 0 || u->duration_ms < 0 || u->latency_ms > COST_MS_MAX ||
	    u->duration_ms > COST_MS_MAX)
		return err_set(e, ST_BAD_VALUE, "usage record: latency_ms and duration_ms are 0 "
			       "to %lld", COST_MS_MAX);
	if (u->at <= 0)
		return err_set(e, ST_BAD_VALUE, "usage record: 'at' is not a time");
	return ST_OK;
}

enum status
usage_parse(const char *json, size_t len, bool priced, struct usage *u, struct err *e)
{
	struct json_doc doc = JSON_DOC_INIT;
	enum status st;

	usage_init(u);
	if (len > COST_RECORD_MAX)
		return err_set(e, ST_BAD_VALUE, "usage record: %zu bytes, more than %d", len,
			       COST_RECORD_MAX);
	st = json_parse(json, len, "usage record", &doc, e);
	if (st == ST_OK && doc.root->type != JSON_OBJECT)
		st = err_set(e, ST_BAD_JSON, "usage record: not an object");
	if (st == ST_OK)
		st = json_read_fields(doc.root, usage_fields, ARRAY_SIZE(usage_fields), JF_STRICT,
				      u, "usage record", e);
	json_doc_release(&doc);
	if (st == ST_OK)
		st = usage_check(u, e);
	if (st == ST_OK && priced != (u->cost_micros >= 0))
		st = err_set(e, ST_BAD_VALUE, priced ? "usage record: 'cost_micros' is missing" :
			     "usage record: 'cost_micros' is set by ifctl, not by the swarm");
	if (st != ST_OK)
		usage_release(u);
	return st;
}

enum status
usage_price(struct usage *u, const struct price_table *t, struct err *e)
{
	struct price_usage pu = { u->tokens_in, u->tokens_out, u->tokens_cached, u->duration_ms };
	const struct price *p = u->has_price ? &u->price : price_find(t, u->provider, u->model);
	struct price own;

	if (p == NULL)
		return err_set(e, ST_BAD_VALUE, "model '%s/%s' is not in the price table (%s): "
			       "add it to cost.prices or give the record a price", u->provider,
			       u->model, t->source ? t->source : "built-in");
	if (p == &u->price) {
		own = u->price;
		own.id = (char *)"the record";
		p = &own;
	}
	return price_cost(p, &pu, &u->cost_micros, e);
}

/* The record's own price as a JSON object member. */
static void
price_json(const struct price *p, struct buf *out)
{
	struct buf v = BUF_INIT;
	const char *names[] = { "cached", "hourly", "input", "output" };
	int64_t amounts[] = { p->cached, p->hourly, p->input, p->output };
	size_t i;

	json_key(out, "price");
	buf_addc(out, '{');
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		buf_reset(&v);
		money_format(&v, amounts[i]);
		json_kv_str(out, names[i], v.s);
	}
	buf_addc(out, '}');
	buf_release(&v);
}

void
usage_json(const struct usage *u, struct buf *out)
{
	buf_addc(out, '{');
	json_kv_int(out, "at", u->at);
	if (u->cost_micros >= 0)
		json_kv_int(out, "cost_micros", u->cost_micros);
	json_kv_int(out, "duration_ms", u->duration_ms);
	json_kv_str(out, "id", u->id);
	json_kv_int(out, "latency_ms", u->latency_ms);
	json_kv_str(out, "model", u->model);
	json_kv_str(out, "operation", u->operation);
	if (u->has_price)
		price_json(&u->price, out);
	json_kv_str(out, "provider", u->provider);
	json_kv_str(out, "swarm", u->swarm);
	json_kv_str(out, "task", u->task);
	json_kv_int(out, "tokens_cached", u->tokens_cached);
	json_kv_int(out, "tokens_in", u->tokens_in);
	json_kv_int(out, "tokens_out", u->tokens_out);
	json_kv_str(out, "trace", u->trace);
	if (u->usage_seq)
		json_kv_int(out, "usage_seq", (long long)u->usage_seq);
	json_kv_int(out, "v", 1);
	buf_addc(out, '}');
}

enum status
cost_swarm_known(struct bus *b, const char *swarm, struct err *e)
{
	struct bus_kv_entry ent = BUS_KV_ENTRY_INIT;
	char *key = budget_key(BUDGET_SWARM, swarm);
	enum status st = bus_kv_get(b, "IF_SWARMS", swarm, &ent, e);

	if (st == ST_NOT_FOUND || st == ST_NO_SCHEMA)
		st = bus_kv_get(b, BUDGET_BUCKET, key, &ent, e);
	if (st == ST_NOT_FOUND)
		st = err_set(e, ST_NOT_FOUND, "unknown swarm '%s': no profile in IF_SWARMS and no "
			     "budget in IF_BUDGETS (allocate one with 'ifctl cost allocate %s "
			     "AMOUNT')", swarm, swarm);
	buf_release(&ent.value);
	free(key);
	return st;
}

/*
 * Settle u against each budget that exists for it: the swarm's, then the
 * task's. A swarm with no budget must have a profile: else ST_NOT_FOUND
 * with why (ST_OK returned, *unknown set), before anything is written.
 */
static enum status
settle_budgets(struct bus *b, struct opctx *op, const struct usage *u, int64_t held,
	       bool *unknown, struct err *why, struct err *e)
{
	struct budget out;
	enum status st;
	bool dup;

	*unknown = false;
	st = budget_settle(b, op, BUDGET_SWARM, u->swarm, held, u->cost_micros, u->usage_seq,
			   &out, &dup, e);
	if (st == ST_OK)
		budget_release(&out);
	if (st == ST_NOT_FOUND) {	/* no budget: known by its profile, or not at all */
		st = cost_swarm_known(b, u->swarm, why);
		if (st == ST_NOT_FOUND) {
			*unknown = true;
			return ST_OK;
		}
		if (st != ST_OK)
			return err_set(e, st, "%s", why->msg);
	}
	if (st != ST_OK || u->task == NULL)
		return st;
	st = budget_settle(b, op, BUDGET_TASK, u->task, 0, u->cost_micros, u->usage_seq, &out,
			   &dup, e);
	if (st == ST_OK)
		budget_release(&out);
	return st == ST_NOT_FOUND ? ST_OK : st;
}

/* Publish the priced record (msg id: its id, or usage-<seq>) and witness it. */
static enum status
publish_settled(struct bus *b, struct opctx *op, const struct usage *u, struct err *e)
{
	struct buf json = BUF_INIT;
	char *subject = xasprintf("%s%s", COST_SETTLED_PREFIX, u->swarm);
	char *msgid = u->usage_seq ? xasprintf("usage-%llu", (unsigned long long)u->usage_seq)
				   : xasprintf("rec-%s", u->id);
	struct bus_pub pub = { .msg_id = msgid };
	struct witness_note n = { .component = "cost", .event = "cost.usage", .actor = op->actor,
				  .swarm = u->swarm, .task = u->task, .cost_micros = u->cost_micros };
	enum status st;

	usage_json(u, &json);
	st = bus_js_publish(b, subject, json.s, json.len, &pub, NULL, e);
	if (st == ST_OK) {
		int64_t tokens = u->tokens_in + u->tokens_out + u->tokens_cached;
		n.tokens = tokens;
		n.payload = json.s;
		ledger_witness(op, &n);
	}
	buf_release(&json);
	free(subject);
	free(msgid);
	return st;
}

enum status
cost_record(struct bus *b, struct opctx *op, const struct price_table *t, struct usage *u,
	    int64_t held, struct err *e)
{
	struct err ce = ERR_INIT;
	bool unknown;
	enum status st;

	st = usage_check(u, &ce);
	if (!check(op, "usage record is valid", st, &ce, u->id))
		return check_failure(op, e);
	st = usage_price(u, t, &ce);
	if (!check(op, "model is priced", st, &ce, u->model))
		return check_failure(op, e);
	if (op->falsify) {
		st = cost_swarm_known(b, u->swarm, &ce);
		if (st != ST_OK && st != ST_NOT_FOUND)
			return err_set(e, st, "%s", ce.msg);
		check(op, "swarm is known", st, &ce, u->swarm);
		return check_failure(op, e);
	}
	if ((st = settle_budgets(b, op, u, held, &unknown, &ce, e)) != ST_OK)
		return st;
	if (unknown) {
		check(op, "swarm is known", ST_NOT_FOUND, &ce, u->swarm);
		return check_failure(op, e);
	}
	check(op, "swarm is known", ST_OK, NULL, u->swarm);
	return publish_settled(b, op, u, e);
}

/* Refuse a usage message: the event if.v1.evt.cost.refused and a witness entry. */
static void
refuse(struct bus *b, const struct opctx *op, const char *subject, uint64_t seq,
       const struct err *why)
{
	struct buf ev = BUF_INIT;
	struct witness_note n = { .component = "cost", .event = "cost.refused",
				  .actor = op->actor };

	buf_addc(&ev, '{');
	json_kv_int(&ev, "at", wall_ms());
	json_kv_str(&ev, "reason", why->msg);
	json_kv_int(&ev, "seq", (long long)seq);
	json_kv_str(&ev, "subject", subject);
	json_kv_str(&ev, "trace", op->trace_id);
	json_kv_str(&ev, "type", "cost");
	json_kv_int(&ev, "v", 1);
	json_kv_str(&ev, "verb", "refused");
	buf_addc(&ev, '}');
	bus_publish(b, "if.v1.evt.cost.refused", ev.s, ev.len, NULL);
	n.payload = ev.s;
	ledger_witness(op, &n);
	buf_release(&ev);
}

enum status
cost_settle_message(struct bus *b, struct opctx *op, const struct price_table *t,
		    const char *subject, uint64_t seq, const char *data, size_t len,
		    bool *refused, struct err *e)
{
	struct err why = ERR_INIT;
	struct usage u;
	enum status st;

	*refused = false;
	if (!has_prefix(subject, COST_USAGE_PREFIX))
		return ST_OK;
	st = usage_parse(data, len, false, &u, &why);
	if (st == ST_OK && strcmp(subject + strlen(COST_USAGE_PREFIX), u.swarm) != 0)
		st = err_set(&why, ST_BAD_VALUE, "usage record: swarm '%s' is not the subject's",
			     u.swarm);
	if (st == ST_OK)
		st = usage_price(&u, t, &why);
	u.usage_seq = seq;
	if (op->falsify) {	/* what would be refused, nothing written */
		char *name;

		if (st == ST_OK && (st = cost_swarm_known(b, u.swarm, &why)) != ST_OK &&
		    st != ST_NOT_FOUND) {
			usage_release(&u);
			return err_set(e, st, "%s", why.msg);
		}
		name = xasprintf("usage message %llu parses and is priced",
				       (unsigned long long)seq);
		check(op, name, st, &why, subject);
		free(name);
		*refused = st != ST_OK;
		usage_release(&u);
		return ST_OK;
	}
	if (st == ST_OK) {
		bool unknown;
		if ((st = settle_budgets(b, op, &u, 0, &unknown, &why, e)) != ST_OK) {
			usage_release(&u);
			return st;
		}
		st = unknown ? ST_NOT_FOUND : ST_OK;
	}
	if (st != ST_OK) {
		err_prefix(&why, "usage message %llu on '%s'", (unsigned long long)seq, subject);
		refuse(b, op, subject, seq, &why);
		*refused = true;
		usage_release(&u);
		return ST_OK;
	}
	st = publish_settled(b, op, &u, e);
	usage_release(&u);
	return st;
}

static const struct view_col usage_cols[] = {
	[UC_ID] = { "id", COL_TEXT, 0 },
	[UC_SWARM] = { "swarm", COL_TEXT, 0 },
	[UC_TASK] = { "task", COL_TEXT, 0 },
	[UC_PROVIDER] = { "provider", COL_TEXT, 0 },
	[UC_MODEL] = { "model", COL_TEXT, 0 },
	[UC_OPERATION] = { "operation", COL_TEXT, COL_WIDE },
	[UC_TOKENS_IN] = { "tokens_in", COL_NUM, 0 },
	[UC_TOKENS_OUT] = { "tokens_out", COL_NUM, 0 },
	[UC_TOKENS_CACHED] = { "tokens_cached", COL_NUM, 0 },
	[UC_LATENCY] = { "latency_ms", COL_NUM, COL_WIDE },
	[UC_DURATION] = { "duration_ms", COL_NUM, COL_WIDE },
	[UC_COST] = { "cost_usd", COL_NUM, 0 },
	[UC_COST_MICROS] = { "cost_micros", COL_NUM, COL_WIDE },
	[UC_AT] = { "at", COL_TIME, COL_WIDE },
	[UC_TRACE] = { "trace", COL_TEXT, COL_WIDE },
	[UC_USAGE_SEQ] = { "usage_seq", COL_NUM, COL_DATA },
};
_Static_assert(ARRAY_SIZE(usage_cols) == UC__COUNT, "one column per usage_col");
static const struct view usage_view_def = VIEW("usage", usage_cols);

struct rowset *
usage_view(void)
{
	return rows_view(&usage_view_def);
}

void
usage_view_add(struct rowset *rs, const struct usage *u)
{
	size_t r = rows_add(rs);

	rows_set(rs, r, UC_ID, u->id);
	rows_set(rs, r, UC_SWARM, u->swarm);
	rows_set(rs, r, UC_TASK, u->task);
	rows_set(rs, r, UC_PROVIDER, u->provider);
	rows_set(rs, r, UC_MODEL, u->model);
	rows_set(rs, r, UC_OPERATION, u->operation);
	rows_set_int(rs, r, UC_TOKENS_IN, u->tokens_in);
	rows_set_int(rs, r, UC_TOKENS_OUT, u->tokens_out);
	rows_set_int(rs, r, UC_TOKENS_CACHED, u->tokens_cached);
	rows_set_int(rs, r, UC_LATENCY, u->latency_ms);
	rows_set_int(rs, r, UC_DURATION, u->duration_ms);
	if (u->cost_micros >= 0) {
		money_cell(rs, r, UC_COST, u->cost_micros);
		rows_set_int(rs, r, UC_COST_MICROS, u->cost_micros);
	}
	rows_set_time(rs, r, UC_AT, u->at);
	rows_set(rs, r, UC_TRACE, u->trace);
	if (u->usage_seq)
		rows_set_u64(rs, r, UC_USAGE_SEQ, u->usage_seq);
}

static const struct view_col settle_cols[] = {
	{ "settled", COL_NUM, 0 }, { "refused", COL_NUM, 0 }, { "skipped", COL_NUM, 0 },
	{ "position", COL_NUM, 0 },
};
static const struct view settle_view_def = VIEW("settle", settle_cols);
static const struct view_col sync_cols[] = {
	{ "added", COL_NUM, 0 }, { "skipped", COL_NUM, 0 }, { "last_seq", COL_NUM, 0 },
};
static const struct view sync_view_def = VIEW("sync", sync_cols);

/* One record of counts in a view's column order. */
static struct rowset *
counts_record(const struct view *v, const uint64_t *n)
{
	struct rowset *rs = rows_view(v);
	size_t r = rows_add(rs), i;

	rs->single = true;
	for (i = 0; i < v->ncols; i++)
		rows_set_u64(rs, r, i, n[i]);
	return rs;
}

struct rowset *
cost_settle_view(uint64_t settled, uint64_t refused, uint64_t skipped, uint64_t position)
{
	const uint64_t n[] = { settled, refused, skipped, position };

	return counts_record(&settle_view_def, n);
}

struct rowset *
cost_sync_view(uint64_t added, uint64_t skipped, uint64_t last_seq)
{
	const uint64_t n[] = { added, skipped, last_seq };

	return counts_record(&sync_view_def, n);
}
