/* Money and the price table: see price.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/price.h"
#include "core/util.h"
#include "core/yamlx.h"

/*
 * The shipped defaults: list prices in USD as the providers published them
 * (checked November 2026). Operators override them with cost.prices.
 */
const char price_defaults_yaml[] =
	"# ifctl built-in price table: USD per million tokens, hourly in USD per hour.\n"
	"v: 1\n"
	"models:\n"
	"  openai/gpt-4o:\n"
	"    {tier: frontier, capabilities: \"chat,tools,vision\", input: \"2.50\", output: \"10.00\", cached: \"1.25\"}\n"
	"  openai/gpt-4.1:\n"
	"    {tier: frontier, capabilities: \"chat,long-context,tools,vision\", input: \"2.00\", output: \"8.00\", cached: \"0.50\"}\n"
	"  openai/gpt-4o-mini:\n"
	"    {tier: small, capabilities: \"chat,tools,vision\", input: \"0.15\", output: \"0.60\", cached: \"0.075\"}\n"
	"  openai/gpt-4.1-mini:\n"
	"    {tier: small, capabilities: \"chat,long-context,tools,vision\", input: \"0.40\", output: \"1.60\", cached: \"0.10\"}\n"
	"  openai/gpt-4.1-nano:\n"
	"    {tier: small, capabilities: \"chat,long-context,tools\", input: \"0.10\", output: \"0.40\", cached: \"0.025\"}\n"
	"  openai/o3:\n"
	"    {tier: reasoning, capabilities: \"chat,reasoning,tools,vision\", input: \"2.00\", output: \"8.00\", cached: \"0.50\"}\n"
	"  openai/o4-mini:\n"
	"    {tier: reasoning, capabilities: \"chat,reasoning,tools,vision\", input: \"1.10\", output: \"4.40\", cached: \"0.275\"}\n"
	"  anthropic/claude-opus-4:\n"
	"    {tier: frontier, capabilities: \"chat,reasoning,tools,vision\", input: \"15.00\", output: \"75.00\", cached: \"1.50\"}\n"
	"  anthropic/claude-sonnet-4:\n"
	"    {tier: frontier, capabilities: \"chat,reasoning,tools,vision\", input: \"3.00\", output: \"15.00\", cached: \"0.30\"}\n"
	"  anthropic/claude-3-5-haiku:\n"
	"    {tier: small, capabilities: \"chat,tools\", input: \"0.80\", output: \"4.00\", cached: \"0.08\"}\n"
	"  google/gemini-2.5-pro:\n"
	"    {tier: frontier, capabilities: \"chat,long-context,reasoning,tools,vision\", input: \"1.25\", output: \"10.00\", cached: \"0.31\"}\n"
	"  google/gemini-2.5-flash:\n"
	"    {tier: small, capabilities: \"chat,long-context,reasoning,tools,vision\", input: \"0.30\", output: \"2.50\", cached: \"0.075\"}\n"
	"  mistral/mistral-large:\n"
	"    {tier: frontier, capabilities: \"chat,tools\", input: \"2.00\", output: \"6.00\"}\n"
	"  mistral/mistral-small:\n"
	"    {tier: small, capabilities: \"chat,tools\", input: \"0.20\", output: \"0.60\"}\n"
	"  local/llama-3.1-70b:\n"
	"    {tier: open, capabilities: \"chat,tools\", input: \"0\", output: \"0\", hourly: \"2.40\"}\n"
	"  local/llama-3.1-8b:\n"
	"    {tier: open, capabilities: \"chat\", input: \"0\", output: \"0\", hourly: \"0.60\"}\n";

/* --- money --------------------------------------------------------------- */

enum status
money_parse(const char *s, const char *what, int64_t *out, struct err *e)
{
	int64_t v = 0;
	int places = -1;
	const char *p;

	if (s == NULL || *s == '\0')
		return err_set(e, ST_BAD_VALUE, "%s: an amount is needed (such as 12.50)", what);
	for (p = s; *p; p++) {
		if (*p == '.' && places < 0 && p != s) {
			places = 0;
			continue;
		}
		if (*p < '0' || *p > '9')
			return err_set(e, ST_BAD_VALUE, "%s: '%s' is not an amount of USD (digits, "
				       "at most one '.', no sign or exponent; such as 12.50)", what, s);
		if (places >= 0 && ++places > 6)
			return err_set(e, ST_BAD_VALUE, "%s: '%s' has more than six decimal places "
				       "(amounts are whole micro-USD)", what, s);
		if (v > (MONEY_MAX - (*p - '0')) / 10)
			return err_set(e, ST_BAD_VALUE, "%s: '%s' is too large", what, s);
		v = v * 10 + (*p - '0');
	}
	if (places == 0)
		return err_set(e, ST_BAD_VALUE, "%s: '%s' ends in '.'", what, s);
	for (places = places < 0 ? 0 : places; places < 6; places++) {
		if (v > MONEY_MAX / 10)
			return err_set(e, ST_BAD_VALUE, "%s: '%s' is too large", what, s);
		v *= 10;
	}
	*out = v;
	return ST_OK;
}

const char *
money_str(int64_t micros, char out[MONEY_TEXT])
{
	uint64_t u = micros < 0 ? (uint64_t)0 - (uint64_t)micros : (uint64_t)micros;
	char frac[8];
	int n = 6;

	snprintf(frac, sizeof frac, "%06llu", (unsigned long long)(u % MICROS_PER_USD));
	while (n > 2 && frac[n - 1] == '0')
		n--;
	snprintf(out, MONEY_TEXT, "%s%llu.%.*s", micros < 0 ? "-" : "",
		 (unsigned long long)(u / MICROS_PER_USD), n, frac);
	return out;
}

void
money_format(struct buf *out, int64_t micros)
{
	char text[MONEY_TEXT];

	buf_adds(out, money_str(micros, text));
}

bool
money_add(int64_t a, int64_t b, int64_t *out)
{
	int64_t r;

	if (__builtin_add_overflow(a, b, &r) || r > MONEY_MAX || r < -MONEY_MAX)
		return false;
	*out = r;
	return true;
}

bool
money_mul(int64_t quantity, int64_t rate, int64_t per, int64_t *out)
{
	int64_t whole, part;

	if (quantity < 0 || rate < 0 || per <= 0)
		return false;
	/* (q/per)*rate exactly, plus the remainder's share rounded half up. */
	if (__builtin_mul_overflow(quantity / per, rate, &whole) ||
	    __builtin_mul_overflow(quantity % per, rate, &part))
		return false;
	part = part / per + (part % per * 2 >= per);
	return money_add(whole, part, out);
}

void
money_cell(struct rowset *rs, size_t row, size_t col, int64_t micros)
{
	struct buf b = BUF_INIT;

	money_format(&b, micros);
	rows_set(rs, row, col, b.s);
	buf_release(&b);
}

/* --- the table ----------------------------------------------------------- */

static void
price_release(struct price *p)
{
	free(p->id);
	free(p->provider);
	free(p->model);
	free(p->tier);
	strv_free(p->caps, p->ncaps);
	memset(p, 0, sizeof *p);
}

void
price_table_release(struct price_table *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		price_release(&t->v[i]);
	free(t->v);
	free(t->source);
	memset(t, 0, sizeof *t);
}

/* qsort order of strings. */
int
strv_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Is s a provider/model id: one '/', both sides [A-Za-z0-9._:-]+? */
static bool
price_id_valid(const char *s)
{
	const char *slash = strchr(s, '/');
	size_t n = strlen(s);

	if (slash == NULL || slash == s || slash[1] == '\0' || strchr(slash + 1, '/') || n > 128)
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-/") == n;
}

/* A table being read: the entries so far and which fields each has. */
struct reader {
	struct price_table t;
	const char *what;
	unsigned *seen;		/* per entry: 1 input, 2 output, 4 cached, 8 hourly */
	size_t seencap;
	bool version;
};

/* The entry named id in r, added when new. */
static struct price *
reader_entry(struct reader *r, const char *id, size_t idlen, int line)
{
	struct price *p;
	size_t i;

	for (i = 0; i < r->t.n; i++)
		if (strlen(r->t.v[i].id) == idlen && memcmp(r->t.v[i].id, id, idlen) == 0)
			return &r->t.v[i];
	xgrow(&r->t.v, &r->t.cap, r->t.n + 1, sizeof *r->t.v);
	xgrow(&r->seen, &r->seencap, r->t.n + 1, sizeof *r->seen);
	p = &r->t.v[r->t.n];
	memset(p, 0, sizeof *p);
	r->seen[r->t.n++] = 0;
	p->id = xstrndup(id, idlen);
	p->line = line;
	return p;
}

/* Capabilities "a,b,c" into p: sorted, no empty names. */
static enum status
read_caps(struct price *p, const char *v, const char *where, struct err *e)
{
	char *copy = xstrdup(v), *tok, *save = NULL;

	strv_free(p->caps, p->ncaps);
	p->caps = xcalloc(strlen(v) / 2 + 2, sizeof *p->caps);
	p->ncaps = 0;
	for (tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		if (strspn(tok, "abcdefghijklmnopqrstuvwxyz0123456789-_.") != strlen(tok)) {
			free(copy);
			return err_set(e, ST_BAD_VALUE, "%s: capability '%s' is not a name "
				       "(lowercase letters, digits, '-', '_', '.')", where, tok);
		}
		p->caps[p->ncaps++] = xstrdup(tok);
	}
	free(copy);
	qsort(p->caps, p->ncaps, sizeof *p->caps, strv_cmp);
	return ST_OK;
}

/* The money fields of an entry, by name: where each goes and its bit in seen. */
static const struct {
	const char *name;
	size_t offset;
	unsigned bit;
} money_fields[] = {
	{ "input", offsetof(struct price, input), 1 },
	{ "output", offsetof(struct price, output), 2 },
	{ "cached", offsetof(struct price, cached), 4 },
	{ "hourly", offsetof(struct price, hourly), 8 },
};

/* One leaf of the table: v, or models.<provider/model>.<field>. */
static enum status
reader_leaf(void *arg, const char *path, const char *value, int line, struct err *e)
{
	struct reader *r = arg;
	const char *id, *field;
	char where[320];
	struct price *p;
	size_t i;

	snprintf(where, sizeof where, "%s:%d: %s", r->what, line, path);
	if (strcmp(path, "v") == 0) {
		if (strcmp(value, "1") != 0)
			return err_set(e, ST_BAD_VALUE, "%s: version '%s' is not 1", where, value);
		r->version = true;
		return ST_OK;
	}
	field = strrchr(path, '.');
	if (!has_prefix(path, "models.") || field == NULL || field < path + 8)
		return err_set(e, ST_BAD_VALUE, "%s: unknown key (the table holds v and "
			       "models.PROVIDER/MODEL.FIELD)", where);
	id = path + 7;
	field++;
	{
		char *tmp = xstrndup(id, (size_t)(field - 1 - id));
		bool ok = price_id_valid(tmp);
		free(tmp);
		if (!ok)
			return err_set(e, ST_BAD_VALUE, "%s: the model is not named PROVIDER/MODEL "
				       "(letters, digits, '.', '_', ':', '-')", where);
	}
	p = reader_entry(r, id, (size_t)(field - 1 - id), line);
	if (strcmp(field, "tier") == 0) {
		if (*value == '\0' || strspn(value, "abcdefghijklmnopqrstuvwxyz0123456789-_") !=
		    strlen(value))
			return err_set(e, ST_BAD_VALUE, "%s: tier '%s' is not a lowercase name",
				       where, value);
		free(p->tier);
		p->tier = xstrdup(value);
		return ST_OK;
	}
	if (strcmp(field, "capabilities") == 0)
		return read_caps(p, value, where, e);
	for (i = 0; i < ARRAY_SIZE(money_fields); i++)
		if (strcmp(field, money_fields[i].name) == 0) {
			r->seen[p - r->t.v] |= money_fields[i].bit;
			return money_parse(value, where,
					   (int64_t *)(void *)((char *)p + money_fields[i].offset), e);
		}
	return err_set(e, ST_BAD_VALUE, "%s: unknown field '%s' (tier, capabilities, input, "
		       "output, cached, hourly)", where, field);
}

/* Complete each entry read: provider and model split, defaults, required prices. */
static enum status
reader_finish(struct reader *r, bool from_file, struct err *e)
{
	size_t i;

	if (!r->version)
		return err_set(e, ST_BAD_VALUE, "%s: 'v: 1' is missing", r->what);
	for (i = 0; i < r->t.n; i++) {
		struct price *p = &r->t.v[i];
		const char *slash = strchr(p->id, '/');
		if ((r->seen[i] & 3) != 3 && !(r->seen[i] & 8))
			return err_set(e, ST_BAD_VALUE, "%s:%d: model '%s' needs input and output "
				       "prices (or an hourly rate)", r->what, p->line, p->id);
		if (!(r->seen[i] & 4))
			p->cached = p->input;
		p->provider = xstrndup(p->id, (size_t)(slash - p->id));
		p->model = xstrdup(slash + 1);
		if (p->tier == NULL)
			p->tier = xstrdup("standard");
		if (p->caps == NULL)
			p->caps = xcalloc(1, sizeof *p->caps);
		p->from_file = from_file;
		if (!from_file)
			p->line = 0;
	}
	return ST_OK;
}

/* Move p into t, replacing the entry with the same id. */
static void
table_put(struct price_table *t, struct price *p)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->v[i].id, p->id) == 0) {
			price_release(&t->v[i]);
			t->v[i] = *p;
			return;
		}
	xgrow(&t->v, &t->cap, t->n + 1, sizeof *t->v);
	t->v[t->n++] = *p;
}

enum status
price_table_merge(struct price_table *t, const char *text, size_t len, const char *what,
		  bool from_file, struct err *e)
{
	struct reader r = { .t = PRICE_TABLE_INIT, .what = what };
	enum status st;
	size_t i;

	st = yaml_flatten(text, len, reader_leaf, &r, e);
	if (st == ST_BAD_YAML || st == ST_BAD_VALUE) {
		if (st == ST_BAD_YAML)
			err_prefix(e, "%s", what);
		err_prefix(e, "price table");
		if (e)
			e->code = ST_BAD_VALUE;
		st = ST_BAD_VALUE;
	}
	if (st == ST_OK && r.t.n == 0)
		st = err_set(e, ST_BAD_VALUE, "price table %s: no models", what);
	if (st == ST_OK)
		st = reader_finish(&r, from_file, e);
	if (st == ST_OK) {
		for (i = 0; i < r.t.n; i++)
			table_put(t, &r.t.v[i]);
		r.t.n = 0;
	}
	price_table_release(&r.t);
	free(r.seen);
	return st;
}

enum status
price_table_load(struct price_table *t, const struct config *c, const char *path,
		 struct err *e)
{
	struct price_table nt = PRICE_TABLE_INIT;
	char *text = NULL;
	size_t len = 0;
	enum status st;

	if (path == NULL)
		path = cfg_str(c, CK_COST_PRICES);
	st = price_table_merge(&nt, price_defaults_yaml, strlen(price_defaults_yaml), "built-in",
			       false, e);
	if (st == ST_OK && path && *path) {
		if ((st = read_file(path, READ_MAX_CONFIG, READ_TEXT, &text, &len, e)) == ST_OK)
			st = price_table_merge(&nt, text, len, path, true, e);
		else
			err_prefix(e, "price table");
	}
	free(text);
	if (st != ST_OK) {
		price_table_release(&nt);
		return st;
	}
	nt.source = path && *path ? xasprintf("built-in + %s", path) : xstrdup("built-in");
	price_table_release(t);
	*t = nt;
	return ST_OK;
}

const struct price *
price_find(const struct price_table *t, const char *provider, const char *model)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->v[i].provider, provider) == 0 && strcmp(t->v[i].model, model) == 0)
			return &t->v[i];
	return NULL;
}

bool
caps_cover(char *const *a, size_t na, char *const *b, size_t nb)
{
	size_t i, j = 0;

	for (i = 0; i < nb; i++) {
		while (j < na && strcmp(a[j], b[i]) < 0)
			j++;
		if (j == na || strcmp(a[j], b[i]) != 0)
			return false;
	}
	return true;
}

bool
price_covers(const struct price *p, const struct price *q)
{
	return caps_cover(p->caps, p->ncaps, q->caps, q->ncaps);
}

enum status
price_cost(const struct price *p, const struct price_usage *u, int64_t *micros, struct err *e)
{
	int64_t a, b, c, d, sum;

	if (!money_mul(u->tokens_in, p->input, TOKENS_PER_PRICE, &a) ||
	    !money_mul(u->tokens_out, p->output, TOKENS_PER_PRICE, &b) ||
	    !money_mul(u->tokens_cached, p->cached, TOKENS_PER_PRICE, &c) ||
	    !money_mul(u->duration_ms, p->hourly, 3600000, &d) ||
	    !money_add(a, b, &sum) || !money_add(sum, c, &sum) || !money_add(sum, d, &sum))
		return err_set(e, ST_BAD_VALUE, "the cost of this usage at the prices of '%s' is "
			       "past the largest amount (%lld micro-USD)", p->id, MONEY_MAX);
	*micros = sum;
	return ST_OK;
}

/* --- the view ------------------------------------------------------------ */

static const struct view_col price_cols[] = {
	[PRC_MODEL] = { "model", COL_TEXT, 0 },
	[PRC_PROVIDER] = { "provider", COL_TEXT, 0 },
	[PRC_TIER] = { "tier", COL_TEXT, 0 },
	[PRC_INPUT] = { "input_usd_per_mtok", COL_NUM, 0 },
	[PRC_OUTPUT] = { "output_usd_per_mtok", COL_NUM, 0 },
	[PRC_CACHED] = { "cached_usd_per_mtok", COL_NUM, 0 },
	[PRC_HOURLY] = { "hourly_usd", COL_NUM, 0 },
	[PRC_CAPABILITIES] = { "capabilities", COL_JSON, COL_WIDE },
	[PRC_SOURCE] = { "source", COL_TEXT, COL_WIDE },
};
_Static_assert(ARRAY_SIZE(price_cols) == PRC__COUNT, "one column per price_col");
static const struct view price_view_def = VIEW("prices", price_cols);

struct rowset *
price_view(const struct price_table *t)
{
	struct rowset *rs = rows_view(&price_view_def);
	size_t i, r;

	for (i = 0; i < t->n; i++) {
		const struct price *p = &t->v[i];
		r = rows_add(rs);
		rows_set(rs, r, PRC_MODEL, p->model);
		rows_set(rs, r, PRC_PROVIDER, p->provider);
		rows_set(rs, r, PRC_TIER, p->tier);
		money_cell(rs, r, PRC_INPUT, p->input);
		money_cell(rs, r, PRC_OUTPUT, p->output);
		money_cell(rs, r, PRC_CACHED, p->cached);
		money_cell(rs, r, PRC_HOURLY, p->hourly);
		rows_set_list(rs, r, PRC_CAPABILITIES, (const char *const *)p->caps, p->ncaps);
		rows_set(rs, r, PRC_SOURCE, p->from_file ? "file" : "built-in");
	}
	return rs;
}
