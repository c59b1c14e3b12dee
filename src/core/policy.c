/* Resource policies in YAML: see policy.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/policy.h"
#include "core/swarm.h"
#include "core/util.h"
#include "core/yamlx.h"

static const struct gov_rules builtin_rules = {
	.max_swarms_per_task = 3,
	.max_cost_per_task_micros = 10000000,
	.min_capability_match = 0.5,
	.breaker_threshold = 3,
	.w_capability = 0.5, .w_reputation = 0.3, .w_cost = 0.2,
	.budget_warning_threshold = 0.8,
	.default_budget_micros = 10000000,
	.enforcement = true,
	.half_open_after_s = 0,
	.slo_block_paging = false,
};

void
policy_defaults(struct policy *p)
{
	memset(p, 0, sizeof *p);
	p->source = xstrdup("built-in defaults");
	p->profile = xstrdup("default");
	p->rules = builtin_rules;
	p->profiles = xcalloc(1, sizeof *p->profiles);
	p->profiles[0].name = xstrdup("default");
	p->profiles[0].r = builtin_rules;
	p->nprofiles = 1;
}

/* Free n overrides and the array. */
static void
overrides_free(struct policy_override *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

void
policy_release(struct policy *p)
{
	size_t i;

	free(p->source);
	free(p->profile);
	for (i = 0; i < p->nprofiles; i++)
		free(p->profiles[i].name);
	free(p->profiles);
	overrides_free(p->caps, p->ncaps);
	overrides_free(p->swarms, p->nswarms);
	memset(p, 0, sizeof *p);
}

/* --- YAML to a JSON tree -------------------------------------------------- */

/*
 * The file as a tree of mappings with scalar leaves, each leaf with its
 * line, so a schema error at a JSON pointer can name the line.
 */
struct node {
	char *key;
	char *value;		/* a leaf's text, NULL for a mapping */
	int line;
	struct node *kids;
	size_t n, cap;
};

static void
node_free(struct node *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		node_free(&t->kids[i]);
	free(t->kids);
	free(t->key);
	free(t->value);
}

/* The child of t named key, made when missing. */
static struct node *
node_child(struct node *t, const char *key, size_t len)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strlen(t->kids[i].key) == len && memcmp(t->kids[i].key, key, len) == 0)
			return &t->kids[i];
	xgrow(&t->kids, &t->cap, t->n + 1, sizeof *t->kids);
	memset(&t->kids[t->n], 0, sizeof *t->kids);
	t->kids[t->n].key = xstrndup(key, len);
	return &t->kids[t->n++];
}

struct reader {
	struct node root;
	const char *path;
};

/*
 * The path's tokens: split at dots, except that under capabilities and
 * swarms the name (which may hold dots) runs to the last dot.
 */
static enum status
leaf(void *arg, const char *path, const char *value, int line, struct err *e)
{
	struct reader *r = arg;
	struct node *t = &r->root;
	const char *p = path, *dot, *last = strrchr(path, '.');
	bool named = has_prefix(path, "capabilities.") || has_prefix(path, "swarms.");
	int depth = 0;

	while (p) {
		dot = (named && depth == 1) ? (last > p ? last : NULL) : strchr(p, '.');
		t = node_child(t, p, dot ? (size_t)(dot - p) : strlen(p));
		if (t->value)
			return err_set(e, ST_BAD_YAML, "%s:%d: '%s' is set twice or is both a value "
				       "and a mapping", r->path, line, path);
		if (!t->line)
			t->line = line;
		p = dot ? dot + 1 : NULL;
		depth++;
	}
	if (t->n)
		return err_set(e, ST_BAD_YAML, "%s:%d: '%s' is both a value and a mapping", r->path,
			       line, path);
	t->value = xstrdup(value);
	t->line = line;
	return ST_OK;
}

/* Append a scalar as JSON: true, false, null, a number as written, else a string. */
static void
scalar_json(struct buf *out, const char *v)
{
	if (!strcmp(v, "true") || !strcmp(v, "false") || !strcmp(v, "null"))
		buf_adds(out, v);
	else if (!strcmp(v, "~") || *v == '\0')
		buf_adds(out, "null");
	else if (json_is_number(v))
		buf_adds(out, v);
	else
		json_escape(out, v);
}

static void
tree_json(const struct node *t, struct buf *out)
{
	size_t i;

	if (t->value) {
		scalar_json(out, t->value);
		return;
	}
	buf_addc(out, '{');
	for (i = 0; i < t->n; i++) {
		buf_adds(out, i ? "," : "");
		json_escape(out, t->kids[i].key);
		buf_addc(out, ':');
		tree_json(&t->kids[i], out);
	}
	buf_addc(out, '}');
}

/* The node at a JSON pointer (tokens unescaped), or NULL. */
static const struct node *
node_at(const struct node *t, const char *ptr)
{
	struct buf tok = BUF_INIT;
	const struct node *found = t;
	size_t i;

	while (found && *ptr == '/') {
		buf_reset(&tok);
		for (ptr++; *ptr && *ptr != '/'; ptr++) {
			if (*ptr == '~' && (ptr[1] == '0' || ptr[1] == '1'))
				buf_addc(&tok, *++ptr == '0' ? '~' : '/');
			else
				buf_addc(&tok, *ptr);
		}
		t = found;
		found = NULL;
		for (i = 0; i < t->n; i++)
			if (strcmp(t->kids[i].key, tok.s) == 0)
				found = &t->kids[i];
	}
	buf_release(&tok);
	return found;
}

/* The line of the value at ptr, or of its nearest ancestor that has one. */
static int
line_of(const struct node *root, const char *ptr)
{
	struct buf p = BUF_INIT;
	const struct node *n;
	char *slash;
	int line = 0;

	buf_adds(&p, ptr);
	while (line == 0) {
		if ((n = node_at(root, p.s)) != NULL && n->line)
			line = n->line;
		if ((slash = strrchr(p.s, '/')) == NULL)
			break;
		buf_truncate(&p, (size_t)(slash - p.s));
	}
	buf_release(&p);
	return line ? line : 1;
}

/* --- reading the rules ---------------------------------------------------- */

struct pctx {
	const struct node *root;
	const char *path;
	struct jschema_result *res;
};

/* A problem at a pointer, as FILE:LINE: /pointer: text. */
static void __attribute__((format(printf, 3, 4)))
problem(struct pctx *c, const char *ptr, const char *fmt, ...)
{
	struct buf m = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&m, fmt, ap);
	va_end(ap);
	jschema_result_add(c->res, ptr, NULL, "%s", m.s);
	buf_release(&m);
}

/* An amount in USD at ptr (already a number by the schema) into micros. */
static bool
amount(struct pctx *c, const char *ptr, int64_t *out)
{
	const struct node *n = node_at(c->root, ptr);

	if (n == NULL || n->value == NULL)
		return false;
	if (money_parse(n->value, "amount", out, NULL) != ST_OK) {
		problem(c, ptr, "%s is not an amount in USD with at most 6 decimal places", n->value);
		return false;
	}
	return true;
}

/* Read the members of a (partial) profile or override object into r and *set. */
static void
rules_read(struct pctx *c, const struct json_value *v, const char *base, struct gov_rules *r,
	   unsigned *set)
{
	const struct json_value *m, *w;
	char ptr[600];

	if ((m = json_member(v, "max_swarms_per_task")) != NULL)
		r->max_swarms_per_task = (int)m->num, *set |= OV_MAX_SWARMS;
	snprintf(ptr, sizeof ptr, "%s/max_cost_per_task", base);
	if (json_member(v, "max_cost_per_task") && amount(c, ptr, &r->max_cost_per_task_micros))
		*set |= OV_MAX_COST;
	if ((m = json_member(v, "min_capability_match")) != NULL)
		r->min_capability_match = m->num, *set |= OV_MIN_MATCH;
	if ((m = json_member(v, "circuit_breaker_threshold")) != NULL)
		r->breaker_threshold = (int)m->num, *set |= OV_THRESHOLD;
	snprintf(ptr, sizeof ptr, "%s/default_budget", base);
	if (json_member(v, "default_budget") && amount(c, ptr, &r->default_budget_micros))
		*set |= OV_BUDGET;
	if ((w = json_member(v, "weights")) != NULL) {
		r->w_capability = json_member(w, "capability")->num;
		r->w_reputation = json_member(w, "reputation")->num;
		r->w_cost = json_member(w, "cost")->num;
	}
	if ((m = json_member(v, "budget_warning_threshold")) != NULL)
		r->budget_warning_threshold = m->num;
	if ((m = json_member(v, "enforcement")) != NULL)
		r->enforcement = m->type == JSON_TRUE;
	if ((m = json_member(v, "half_open_after_s")) != NULL)
		r->half_open_after_s = (int64_t)m->num;
	if ((m = json_member(v, "slo_block_paging")) != NULL)
		r->slo_block_paging = m->type == JSON_TRUE;
}

/* A profile's rules: the built-in ones, then the default profile's, then its own. */
static void
profile_resolve(struct pctx *c, const struct json_value *profiles, const char *name,
		struct gov_rules *r)
{
	const struct json_value *def = json_member(profiles, "default"), *own;
	struct buf base = BUF_INIT;
	unsigned set = 0;
	double sum;

	*r = builtin_rules;
	if (def)
		rules_read(c, def, "/profiles/default", r, &set);
	if (strcmp(name, "default") != 0 && (own = json_member(profiles, name)) != NULL) {
		buf_adds(&base, "/profiles");
		jpointer_add(&base, name, strlen(name));
		rules_read(c, own, base.s, r, &set);
	}
	sum = r->w_capability + r->w_reputation + r->w_cost;
	if (fabs(sum - 1.0) > 1e-9) {
		buf_reset(&base);
		buf_adds(&base, "/profiles");
		jpointer_add(&base, name, strlen(name));
		buf_adds(&base, "/weights");
		problem(c, base.s, "the weights of profile '%s' sum to %g, not 1 (capability %g + "
			"reputation %g + cost %g)", name, sum, r->w_capability, r->w_reputation,
			r->w_cost);
	}
	buf_release(&base);
}

/* Read the overrides of one section (capabilities or swarms). */
static void
overrides_read(struct pctx *c, const struct json_value *sec, const char *section,
	       const struct cap_registry *reg, struct policy_override **out, size_t *n)
{
	struct err ce = ERR_INIT;
	struct buf ptr = BUF_INIT;
	struct gov_rules r;
	size_t i;

	if (sec == NULL)
		return;
	*out = xcalloc(sec->len + 1, sizeof **out);
	for (i = 0; i < sec->len; i++) {
		const struct json_value *m = &sec->kids[i];
		struct policy_override *o = &(*out)[(*n)++];
		buf_reset(&ptr);
		buf_addf(&ptr, "/%s", section);
		jpointer_add(&ptr, m->key, m->keylen);
		if (section[0] == 'c' && capreg_check(reg, m->key, &ce) != ST_OK)
			problem(c, ptr.s, "%s", ce.msg);
		else if (section[0] == 's' && !swarm_id_valid(m->key))
			problem(c, ptr.s, "\"%s\" is not a swarm id (lowercase letters, digits, '-')",
				m->key);
		memset(&r, 0, sizeof r);
		rules_read(c, m, ptr.s, &r, &o->set);
		o->name = xstrdup(m->key);
		o->max_swarms = r.max_swarms_per_task;
		o->max_cost_micros = r.max_cost_per_task_micros;
		o->min_match = r.min_capability_match;
		o->threshold = r.breaker_threshold;
		o->default_budget_micros = r.default_budget_micros;
	}
	buf_release(&ptr);
}

/* Resolve every profile and put the chosen one in force. */
static enum status
profiles_read(struct pctx *c, const struct json_value *root, const char *want,
	      struct policy *p, struct err *e)
{
	const struct json_value *profiles = json_member(root, "profiles");
	const struct json_value *dp = json_member(root, "default_profile");
	static const struct json_value none = { .type = JSON_OBJECT };
	struct buf names = BUF_INIT;
	bool has_default = profiles && json_member(profiles, "default") != NULL;
	size_t i, k = 0;

	if (want == NULL)
		want = dp ? dp->str : "default";
	if (profiles == NULL)
		profiles = &none;
	p->profiles = xcalloc(profiles->len + 2, sizeof *p->profiles);
	if (!has_default) {
		p->profiles[k].name = xstrdup("default");
		profile_resolve(c, profiles, "default", &p->profiles[k++].r);
	}
	for (i = 0; i < profiles->len; i++) {
		p->profiles[k].name = xstrdup(profiles->kids[i].key);
		profile_resolve(c, profiles, profiles->kids[i].key, &p->profiles[k++].r);
	}
	p->nprofiles = k;
	for (i = 0; i < k; i++) {
		buf_addf(&names, "%s%s", i ? ", " : "", p->profiles[i].name);
		if (strcmp(p->profiles[i].name, want) == 0) {
			p->profile = xstrdup(want);
			p->rules = p->profiles[i].r;
		}
	}
	if (p->profile == NULL)
		err_set(e, ST_NOT_FOUND, "%s: no profile '%s' (profiles: %s)", c->path, want, names.s);
	buf_release(&names);
	return p->profile ? ST_OK : ST_NOT_FOUND;
}

/* Rewrite each problem added since before as FILE:LINE: MSG. */
static void
add_lines(struct pctx *c, size_t before)
{
	size_t i;

	for (i = before; i < c->res->n; i++) {
		char *m = xasprintf("%s:%d: %s", c->path, line_of(c->root, c->res->v[i].pointer),
				    c->res->v[i].msg);
		free(c->res->v[i].msg);
		c->res->v[i].msg = m;
	}
}

enum status
policy_parse(const char *text, size_t len, const char *path, const char *profile,
	     const struct cap_registry *reg, struct policy *out, struct jschema_result *res,
	     struct err *e)
{
	struct jschema_result mine = JSCHEMA_RESULT_INIT;
	struct reader rd = { { 0 }, path };
	struct pctx c = { &rd.root, path, res ? res : &mine };
	struct json_doc doc = JSON_DOC_INIT;
	struct jschema *s = NULL;
	struct buf json = BUF_INIT;
	size_t before = c.res->n;
	enum status st;

	memset(out, 0, sizeof *out);
	if ((st = yaml_flatten(text, len, leaf, &rd, e)) != ST_OK) {
		if (e && !has_prefix(e->msg, path))
			err_prefix(e, "%s", path);
		goto out;
	}
	tree_json(&rd.root, &json);
	if ((st = jschema_load("resource-policy", &s, e)) != ST_OK ||
	    (st = json_parse(json.s, json.len, path, &doc, e)) != ST_OK)
		goto out;
	if (!jschema_validate(s, NULL, doc.root, c.res))
		goto bad;
	out->source = xstrdup(path);
	overrides_read(&c, json_member(doc.root, "capabilities"), "capabilities", reg, &out->caps,
		       &out->ncaps);
	overrides_read(&c, json_member(doc.root, "swarms"), "swarms", reg, &out->swarms,
		       &out->nswarms);
	st = profiles_read(&c, doc.root, profile, out, e);
	if (c.res->n == before)
		goto out;
bad:
	add_lines(&c, before);
	/* the message already starts with FILE:LINE */
	st = err_set(e, ST_BAD_VALUE, "%s%s", c.res->v[before].msg,
		     c.res->n + c.res->more - before > 1 ? " (and more: 'ifctl policy validate' "
		     "lists them)" : "");
out:
	if (st != ST_OK)
		policy_release(out);
	jschema_result_release(&mine);
	jschema_free(s);
	json_doc_release(&doc);
	buf_release(&json);
	node_free(&rd.root);
	return st;
}

char *
policy_default_path(void)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");

	if (xdg && *xdg)
		return xasprintf("%s/ifctl/policy.yaml", xdg);
	return xasprintf("%s/.config/ifctl/policy.yaml", home ? home : ".");
}

enum status
policy_load(const char *path, const char *profile, const struct cap_registry *reg,
	    struct policy *out, struct jschema_result *res, struct err *e)
{
	char *def = path ? NULL : policy_default_path(), *text = NULL;
	size_t len = 0;
	enum status st;

	st = read_file(path ? path : def, READ_MAX_CONFIG, READ_TEXT, &text, &len, e);
	if (st == ST_NOT_FOUND && path == NULL) {
		policy_defaults(out);
		st = ST_OK;
		if (profile && strcmp(profile, "default") != 0)
			st = err_set(e, ST_NOT_FOUND, "no policy file (%s), so no profile '%s': only "
				     "the built-in default", def, profile);
		if (st != ST_OK)
			policy_release(out);
	} else if (st == ST_OK) {
		st = policy_parse(text, len, path ? path : def, profile, reg, out, res, e);
	} else if (st == ST_NOT_FOUND) {
		err_set(e, ST_NOT_FOUND, "policy file '%s' does not exist", path);
	}
	free(text);
	free(def);
	return st;
}

/* The override of name in v, or NULL. */
static const struct policy_override *
find_override(const struct policy_override *v, size_t n, const char *name)
{
	size_t i;

	for (i = 0; name && i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

const struct policy_override *
policy_swarm_override(const struct policy *p, const char *swarm)
{
	return find_override(p->swarms, p->nswarms, swarm);
}

void
policy_rules_for(const struct policy *p, char *const *caps, size_t ncaps, const char *swarm,
		 struct gov_rules *out)
{
	const struct policy_override *o;
	size_t i;

	*out = p->rules;
	for (i = 0; i < ncaps; i++) {
		if ((o = find_override(p->caps, p->ncaps, caps[i])) == NULL)
			continue;
		if ((o->set & OV_MAX_SWARMS) && o->max_swarms < out->max_swarms_per_task)
			out->max_swarms_per_task = o->max_swarms;
		if ((o->set & OV_MAX_COST) && o->max_cost_micros < out->max_cost_per_task_micros)
			out->max_cost_per_task_micros = o->max_cost_micros;
		if ((o->set & OV_MIN_MATCH) && o->min_match > out->min_capability_match)
			out->min_capability_match = o->min_match;
		if ((o->set & OV_THRESHOLD) && o->threshold < out->breaker_threshold)
			out->breaker_threshold = o->threshold;
		if ((o->set & OV_BUDGET) && o->default_budget_micros < out->default_budget_micros)
			out->default_budget_micros = o->default_budget_micros;
	}
	if ((o = policy_swarm_override(p, swarm)) == NULL)
		return;
	if (o->set & OV_MAX_SWARMS)
		out->max_swarms_per_task = o->max_swarms;
	if (o->set & OV_MAX_COST)
		out->max_cost_per_task_micros = o->max_cost_micros;
	if (o->set & OV_MIN_MATCH)
		out->min_capability_match = o->min_match;
	if (o->set & OV_THRESHOLD)
		out->breaker_threshold = o->threshold;
	if (o->set & OV_BUDGET)
		out->default_budget_micros = o->default_budget_micros;
}

/* --- view ------------------------------------------------------------------ */

enum { PC_SCOPE, PC_RULE, PC_VALUE, PC_IN_FORCE, PC__COUNT };
static const struct view_col policy_cols[] = {
	[PC_SCOPE] = { "scope", COL_TEXT, 0 },
	[PC_RULE] = { "rule", COL_TEXT, 0 },
	[PC_VALUE] = { "value", COL_TEXT, 0 },
	[PC_IN_FORCE] = { "in_force", COL_BOOL, 0 },
};
_Static_assert(ARRAY_SIZE(policy_cols) == PC__COUNT, "one column per policy column");
static const struct view policy_rules_view = VIEW("rules", policy_cols);

static void
rule_row(struct rowset *rs, const char *scope, const char *rule, bool in_force,
	 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
rule_row(struct rowset *rs, const char *scope, const char *rule, bool in_force,
	 const char *fmt, ...)
{
	struct buf v = BUF_INIT;
	va_list ap;
	size_t r = rows_add(rs);

	va_start(ap, fmt);
	buf_vaddf(&v, fmt, ap);
	va_end(ap);
	rows_set(rs, r, PC_SCOPE, scope);
	rows_set(rs, r, PC_RULE, rule);
	rows_set(rs, r, PC_VALUE, v.s);
	rows_set_bool(rs, r, PC_IN_FORCE, in_force);
	buf_release(&v);
}

/* The rows of one profile's rules. */
static void
profile_rows(struct rowset *rs, const char *scope, const struct gov_rules *r, bool in_force)
{
	char a[32], b[32];

	money_str(r->max_cost_per_task_micros, a);
	money_str(r->default_budget_micros, b);
	rule_row(rs, scope, "max_swarms_per_task", in_force, "%d", r->max_swarms_per_task);
	rule_row(rs, scope, "max_cost_per_task", in_force, "%s", a);
	rule_row(rs, scope, "min_capability_match", in_force, "%g", r->min_capability_match);
	rule_row(rs, scope, "circuit_breaker_threshold", in_force, "%d", r->breaker_threshold);
	rule_row(rs, scope, "weights", in_force, "capability %g, reputation %g, cost %g",
		 r->w_capability, r->w_reputation, r->w_cost);
	rule_row(rs, scope, "budget_warning_threshold", in_force, "%g", r->budget_warning_threshold);
	rule_row(rs, scope, "default_budget", in_force, "%s", b);
	rule_row(rs, scope, "enforcement", in_force, "%s", r->enforcement ? "on" : "off");
	rule_row(rs, scope, "half_open_after_s", in_force, "%lld", (long long)r->half_open_after_s);
	rule_row(rs, scope, "slo_block_paging", in_force, "%s", r->slo_block_paging ? "on" : "off");
}

/* The rows of one override. */
static void
override_rows(struct rowset *rs, const char *kind, const struct policy_override *o)
{
	char scope[200], a[32];

	snprintf(scope, sizeof scope, "%s %s", kind, o->name);
	money_str(o->set & OV_MAX_COST ? o->max_cost_micros : o->default_budget_micros, a);
	if (o->set & OV_MAX_SWARMS)
		rule_row(rs, scope, "max_swarms_per_task", true, "%d", o->max_swarms);
	if (o->set & OV_MAX_COST)
		rule_row(rs, scope, "max_cost_per_task", true, "%s", a);
	if (o->set & OV_MIN_MATCH)
		rule_row(rs, scope, "min_capability_match", true, "%g", o->min_match);
	if (o->set & OV_THRESHOLD)
		rule_row(rs, scope, "circuit_breaker_threshold", true, "%d", o->threshold);
	if (o->set & OV_BUDGET) {
		money_str(o->default_budget_micros, a);
		rule_row(rs, scope, "default_budget", true, "%s", a);
	}
}

struct rowset *
policy_view(const struct policy *p)
{
	struct rowset *rs = rows_view(&policy_rules_view);
	char scope[200];
	size_t i;

	for (i = 0; i < p->nprofiles; i++) {
		snprintf(scope, sizeof scope, "profile %s", p->profiles[i].name);
		profile_rows(rs, scope, &p->profiles[i].r, strcmp(p->profiles[i].name, p->profile) == 0);
	}
	for (i = 0; i < p->ncaps; i++)
		override_rows(rs, "capability", &p->caps[i]);
	for (i = 0; i < p->nswarms; i++)
		override_rows(rs, "swarm", &p->swarms[i]);
	return rs;
}
