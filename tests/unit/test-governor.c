/*
 * The governor's pure logic: the JSON Schema interpreter, the registry,
 * amounts, policies from the fixtures, matching on a four-swarm fleet
 * (perfect, partial 2/3, none, below threshold, budgets, breakers, weights),
 * assignment checks and spawn detection on the fixture directories.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/capability.h"
#include "core/governor.h"
#include "core/jschema.h"
#include "core/json.h"
#include "core/policy.h"
#include "core/slo.h"
#include "core/spawn.h"
#include "core/swarm.h"
#include "core/util.h"

/* --- JSON Schema --------------------------------------------------------- */

static const char test_schema[] =
	"{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"id\",\"n\"],"
	"\"properties\":{\"id\":{\"type\":\"string\",\"pattern\":\"^[a-z]+$\",\"maxLength\":5},"
	"\"n\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":9},"
	"\"x\":{\"type\":\"number\",\"exclusiveMinimum\":0},"
	"\"e\":{\"enum\":[\"a\",\"b\"]},"
	"\"l\":{\"type\":\"array\",\"minItems\":1,\"maxItems\":2,\"uniqueItems\":true,"
	"\"items\":{\"$ref\":\"#/$defs/item\"}}},"
	"\"$defs\":{\"item\":{\"type\":\"string\",\"minLength\":2}}}";

/* The errors of one instance, joined with " | ". */
static char *
errors_of(const char *json)
{
	struct jschema_result r = JSCHEMA_RESULT_INIT;
	struct json_doc doc = JSON_DOC_INIT;
	struct jschema *s;
	struct buf out = BUF_INIT;
	size_t i;

	assert_int_equal(jschema_parse(test_schema, strlen(test_schema), "t", &s, NULL), ST_OK);
	assert_int_equal(json_parse(json, strlen(json), "i", &doc, NULL), ST_OK);
	jschema_validate(s, NULL, doc.root, &r);
	for (i = 0; i < r.n; i++)
		buf_addf(&out, "%s%s", i ? " | " : "", r.v[i].msg);
	jschema_result_release(&r);
	json_doc_release(&doc);
	jschema_free(s);
	return buf_detach(&out);
}

static void
expect_errors(const char *json, const char *want)
{
	char *got = errors_of(json);

	assert_string_equal(got, want);
	free(got);
}

static void
test_jschema_rules(void **state)
{
	(void)state;
	expect_errors("{\"id\":\"abc\",\"n\":3}", "");
	expect_errors("{\"id\":\"abc\"}", "(root): member \"n\" is missing (required)");
	expect_errors("{\"id\":\"Abc\",\"n\":3}", "/id: \"Abc\" does not match ^[a-z]+$ (pattern)");
	expect_errors("{\"id\":\"abcdef\",\"n\":3}", "/id: \"abcdef\" has 6 characters, more than 5 (maxLength)");
	expect_errors("{\"id\":\"a\",\"n\":10}", "/n: 10 is above the maximum 9 (maximum)");
	expect_errors("{\"id\":\"a\",\"n\":0}", "/n: 0 is below the minimum 1 (minimum)");
	expect_errors("{\"id\":\"a\",\"n\":1.5}", "/n: 1.5 is not of type integer (type)");
	expect_errors("{\"id\":\"a\",\"n\":1,\"x\":0}", "/x: 0 is not more than 0 (exclusiveMinimum)");
	expect_errors("{\"id\":\"a\",\"n\":1,\"e\":\"c\"}", "/e: \"c\" is not one of \"a\", \"b\" (enum)");
	expect_errors("{\"id\":\"a\",\"n\":1,\"z\":1}", "/z: is not an allowed member (additionalProperties)");
	expect_errors("{\"id\":\"a\",\"n\":1,\"l\":[]}", "/l: [] has 0 items, fewer than 1 (minItems)");
	expect_errors("{\"id\":\"a\",\"n\":1,\"l\":[\"ab\",\"cd\",\"ef\"]}",
		      "/l: has 3 items, more than 2 (maxItems)");
	expect_errors("{\"id\":\"a\",\"n\":1,\"l\":[\"ab\",\"ab\"]}", "/l/1: \"ab\" repeats item 0 (uniqueItems)");
	expect_errors("{\"id\":\"a\",\"n\":1,\"l\":[\"x\"]}", "/l/0: \"x\" has 1 characters, fewer than 2 (minLength)");
	expect_errors("[]", "(root): [] is not of type object (type)");
	expect_errors("{\"n\":\"x\",\"e\":1}", "(root): member \"id\" is missing (required) | "
		      "/n: \"x\" is not of type integer (type) | /e: 1 is not one of \"a\", \"b\" (enum)");
}

static void
test_jschema_load(void **state)
{
	struct jschema *s;
	struct err e = ERR_INIT;
	const char *bad = "{\"type\":\"object\",\"properties\":{\"a\":{\"minimun\":1}}}";
	const char *names[] = { "swarm-profile", "resource-policy", "manifest", "violation" };
	size_t i;

	(void)state;
	assert_int_equal(jschema_parse(bad, strlen(bad), "bad", &s, &e), ST_BAD_VALUE);
	assert_non_null(strstr(e.msg, "unknown keyword 'minimun'"));
	assert_int_equal(jschema_parse("{\"pattern\":\"(\"}", 15, "re", &s, &e), ST_BAD_VALUE);
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		assert_int_equal(jschema_load(names[i], &s, &e), ST_OK);
		jschema_free(s);
	}
	assert_int_equal(jschema_load("nope", &s, &e), ST_NOT_FOUND);
}

/* --- registry and money ---------------------------------------------------- */

static void
test_registry(void **state)
{
	struct cap_registry r;
	struct err e = ERR_INIT;

	(void)state;
	assert_true(capability_count >= 29);
	assert_true(capreg_known(NULL, "integration:ndi"));
	assert_false(capreg_known(NULL, "streaming:ndi"));
	assert_string_equal(capreg_suggest(NULL, "streaming:ndi"), "integration:ndi");
	assert_string_equal(capreg_suggest(NULL, "code-analysis:pyton"), "code-analysis:python");
	assert_null(capreg_suggest(NULL, "zzzzzzzzzzzzzz"));
	assert_int_equal(capreg_check(NULL, "streaming:ndi", &e), ST_BAD_VALUE);
	assert_string_equal(e.msg, "\"streaming:ndi\" is not a known capability (did you mean "
			    "\"integration:ndi\"?)");
	assert_int_equal(capreg_init(&r, "gpu, site:fpga,gpu", &e), ST_OK);
	assert_int_equal(r.nsite, 2);
	assert_true(capreg_known(&r, "gpu"));
	assert_true(capreg_known(&r, "site:fpga"));
	capreg_release(&r);
	assert_int_equal(capreg_init(&r, "a:b:c", &e), ST_BAD_VALUE);
	assert_true(capability_name_valid("integration:sip"));
	assert_false(capability_name_valid(":sip"));
	assert_false(capability_name_valid("a b"));
}

static void
test_usd(void **state)
{
	int64_t m;
	char out[32];

	(void)state;
	assert_int_equal(money_parse("12.5", "x", &m, NULL), ST_OK);
	assert_int_equal(m, 12500000);
	assert_int_equal(money_parse("0.000001", "x", &m, NULL), ST_OK);
	assert_int_equal(m, 1);
	assert_int_equal(money_parse("7", "x", &m, NULL), ST_OK);
	assert_int_equal(m, 7000000);
	assert_int_equal(money_parse("0.0000001", "x", &m, NULL), ST_BAD_VALUE);
	assert_int_equal(money_parse("-1", "x", &m, NULL), ST_BAD_VALUE);
	assert_int_equal(money_parse("1e3", "x", &m, NULL), ST_BAD_VALUE);
	assert_int_equal(money_parse("1.", "x", &m, NULL), ST_BAD_VALUE);
	assert_int_equal(money_parse("99999999999999999999", "x", &m, NULL), ST_BAD_VALUE);
	money_str(12500000, out);
	assert_string_equal(out, "12.50");
	money_str(1, out);
	assert_string_equal(out, "0.000001");
	money_str(0, out);
	assert_string_equal(out, "0.00");
}

/* --- policies ----------------------------------------------------------------- */

/* Load a fixture policy (tests run from the top of the tree). */
static enum status
load(const char *name, const char *profile, struct policy *p, struct err *e)
{
	char *path = xasprintf("fixtures/policies/%s.yaml", name);
	enum status st = policy_load(path, profile, NULL, p, NULL, e);

	free(path);
	return st;
}

static void
test_policy_good(void **state)
{
	struct policy p;
	struct gov_rules r;
	struct err e = ERR_INIT;
	char sipn[] = "integration:sip", secn[] = "architecture:security";
	char *sip[] = { sipn }, *sec[] = { secn };

	(void)state;
	assert_int_equal(load("good", NULL, &p, &e), ST_OK);
	assert_string_equal(p.profile, "default");
	assert_int_equal(p.rules.max_cost_per_task_micros, 10000000);
	assert_int_equal(p.rules.default_budget_micros, 25000000);
	assert_int_equal(p.nprofiles, 3);
	assert_false(p.rules.slo_block_paging);
	policy_release(&p);
	assert_int_equal(load("good", "production", &p, &e), ST_OK);
	assert_int_equal(p.rules.max_swarms_per_task, 2);
	assert_true(fabs(p.rules.min_capability_match - 0.75) < 1e-12);
	assert_true(fabs(p.rules.w_capability - 0.6) < 1e-12);
	assert_int_equal(p.rules.default_budget_micros, 25000000);	/* from default */
	assert_true(p.rules.slo_block_paging);
	policy_rules_for(&p, sip, 1, NULL, &r);
	assert_int_equal(r.max_cost_per_task_micros, 10000000);	/* an override never loosens */
	policy_rules_for(&p, sec, 1, NULL, &r);
	assert_true(fabs(r.min_capability_match - 1.0) < 1e-12);
	policy_rules_for(&p, NULL, 0, "sip-expert", &r);
	assert_int_equal(r.breaker_threshold, 5);			/* the swarm's own */
	policy_release(&p);
	assert_int_equal(load("good", "staging", &p, &e), ST_NOT_FOUND);
	assert_non_null(strstr(e.msg, "profiles: default, development, production"));
}

static void
test_policy_bad(void **state)
{
	static const struct { const char *name, *want; } cases[] = {
		{ "bad-range", "bad-range.yaml:4: /profiles/default/max_swarms_per_task: 0 is below the minimum 1" },
		{ "bad-weights", "bad-weights.yaml:5: /profiles/default/weights: the weights of profile 'default' sum to 1.5" },
		{ "bad-key", "bad-key.yaml:4: /profiles/default/max_swarm_per_task: is not an allowed member" },
		{ "bad-capability", "(did you mean \"integration:ndi\"?)" },
		{ "bad-amount", "bad-amount.yaml:4: /profiles/default/max_cost_per_task: 0.0000001 is not an amount" },
		{ "bad-zero-cost", "0 is not more than 0 (exclusiveMinimum)" },
		{ "bad-type", "bad-type.yaml:4: /profiles/default/enforcement: \"maybe\" is not of type boolean" },
		{ "bad-version", "/version: 2 is not 1 (const)" },
		{ "bad-syntax", "line 4" },
	};
	struct policy p;
	struct err e;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		err_clear(&e);
		assert_int_not_equal(load(cases[i].name, NULL, &p, &e), ST_OK);
		if (strstr(e.msg, cases[i].want) == NULL)
			fail_msg("%s: '%s' lacks '%s'", cases[i].name, e.msg, cases[i].want);
	}
}

/* --- matching on the four-swarm fleet --------------------------------------------- */

static const char *const fleet_json[] = {
	"{\"id\":\"sip-expert\",\"capabilities\":[\"integration:sip\",\"integration:webrtc\","
	"\"integration:h323\"],\"cost_per_hour_micros\":2000000,\"reputation\":0.95,\"model\":\"m\","
	"\"max_concurrent_tasks\":4}",
	"{\"id\":\"ndi-bridge\",\"capabilities\":[\"integration:ndi\",\"integration:rtsp\"],"
	"\"cost_per_hour_micros\":1500000,\"reputation\":0.9,\"model\":\"m\",\"max_concurrent_tasks\":1}",
	"{\"id\":\"generalist\",\"capabilities\":[\"code-analysis:python\",\"code-analysis:rust\","
	"\"integration:sip\"],\"cost_per_hour_micros\":500000,\"reputation\":0.7,\"model\":\"m\","
	"\"max_concurrent_tasks\":1}",
	"{\"id\":\"docs\",\"capabilities\":[\"docs:technical-writing\"],\"cost_per_hour_micros\":0,"
	"\"reputation\":0.8,\"model\":\"m\",\"max_concurrent_tasks\":1}",
};

static int
by_id(const void *a, const void *b)
{
	return strcmp(((const struct swarm *)a)->p.id, ((const struct swarm *)b)->p.id);
}

/* The fleet in memory, as gov_fleet_load would give it (sorted by id). */
static void
fleet_make(struct gov_fleet *f)
{
	struct json_doc doc;
	size_t i, n = ARRAY_SIZE(fleet_json);

	memset(f, 0, sizeof *f);
	f->swarms.v = xcalloc(n, sizeof *f->swarms.v);
	for (i = 0; i < n; i++) {
		doc = (struct json_doc)JSON_DOC_INIT;
		assert_int_equal(json_parse(fleet_json[i], strlen(fleet_json[i]), "p", &doc, NULL), ST_OK);
		assert_int_equal(swarm_profile_read(doc.root, NULL, &f->swarms.v[i].p, NULL, NULL), ST_OK);
		json_doc_release(&doc);
	}
	f->swarms.n = n;
	qsort(f->swarms.v, n, sizeof *f->swarms.v, by_id);
	f->budgets = xcalloc(n, sizeof *f->budgets);
	f->has_budget = xcalloc(n, sizeof *f->has_budget);
}

static struct swarm *
fleet_swarm(struct gov_fleet *f, const char *id)
{
	struct swarm *s = swarm_list_find(&f->swarms, id);

	assert_non_null(s);
	return s;
}

/* Match caps (comma-separated) under p; the caller releases m. */
static void
match(struct gov_fleet *f, const struct policy *p, const char *list, struct gov_match *m)
{
	size_t n;
	char **caps = NULL, *copy = xstrdup(list), *tok, *save = NULL;
	size_t cap = 0;

	n = 0;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		xgrow(&caps, &cap, n + 1, sizeof *caps);
		caps[n++] = xstrdup(tok);
	}
	governor_match(f, p, caps, n, NULL, 1000000, m);
	strv_free(caps, n);
	free(copy);
}

static const struct gov_candidate *
cand(const struct gov_match *m, const char *id)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (strcmp(m->v[i].s->p.id, id) == 0)
			return &m->v[i];
	fail_msg("no candidate %s", id);
	return NULL;
}

static void
test_match_shapes(void **state)
{
	struct gov_fleet f;
	struct gov_match m;
	struct policy p, prod;
	struct err e = ERR_INIT;

	(void)state;
	fleet_make(&f);
	policy_defaults(&p);
	/* perfect: 0.5 * 1 + 0.3 * 0.95 + 0.2 * (1 - 2/10) = 0.945 */
	match(&f, &p, "integration:sip,integration:webrtc,integration:h323", &m);
	assert_int_equal(m.nqualified, 1);
	assert_string_equal(m.v[0].s->p.id, "sip-expert");
	assert_true(fabs(m.v[0].score - 0.945) < 1e-9);
	assert_int_equal(cand(&m, "generalist")->excluded, GR_BELOW_MIN_MATCH);
	assert_int_equal(cand(&m, "docs")->excluded, GR_NO_MATCH);
	gov_match_release(&m);
	/* partial 2/3: 0.5 * 2/3 + 0.285 + 0.16 = 0.778333... */
	match(&f, &p, "integration:sip,integration:webrtc,integration:ndi", &m);
	assert_int_equal(m.nqualified, 1);
	assert_int_equal(m.v[0].matched, 2);
	assert_true(fabs(m.v[0].score - (0.5 * 2.0 / 3.0 + 0.285 + 0.16)) < 1e-9);
	assert_int_equal(cand(&m, "ndi-bridge")->excluded, GR_BELOW_MIN_MATCH);
	gov_match_release(&m);
	/* none */
	match(&f, &p, "infra:kubernetes", &m);
	assert_int_equal(m.nqualified, 0);
	gov_match_rank_all(&m);
	assert_int_equal(m.v[0].excluded, GR_NO_MATCH);
	gov_match_release(&m);
	/* below threshold: production wants 0.75; the best covers 2/4 */
	assert_int_equal(load("good", "production", &prod, &e), ST_OK);
	match(&f, &prod, "integration:sip,integration:webrtc,integration:ndi,integration:rtsp", &m);
	assert_int_equal(m.nqualified, 0);
	gov_match_rank_all(&m);		/* the excluded are ranked on demand */
	assert_true(fabs(m.v[0].coverage - 0.5) < 1e-12);
	assert_int_equal(m.v[0].excluded, GR_BELOW_MIN_MATCH);
	gov_match_release(&m);
	/* a free swarm: cost_score 1, no division by zero: 0.5 + 0.24 + 0.2 */
	match(&f, &p, "docs:technical-writing", &m);
	assert_true(fabs(m.v[0].score - 0.94) < 1e-9);
	gov_match_release(&m);
	policy_release(&prod);
	policy_release(&p);
	gov_fleet_release(&f);
}

static void
test_match_weights_and_filters(void **state)
{
	struct gov_fleet f;
	struct gov_match m;
	struct policy p;
	struct swarm *s;

	(void)state;
	fleet_make(&f);
	policy_defaults(&p);
	/* sip: sip-expert 0.945 over generalist 0.5 + 0.21 + 0.2 * 0.95 = 0.9 */
	match(&f, &p, "integration:sip", &m);
	assert_string_equal(m.v[0].s->p.id, "sip-expert");
	assert_true(fabs(m.v[1].score - 0.9) < 1e-9);
	gov_match_release(&m);
	/* the weights are used: cost-heavy weights put the cheap swarm first */
	p.rules.w_capability = 0.2;
	p.rules.w_reputation = 0.1;
	p.rules.w_cost = 0.7;
	match(&f, &p, "integration:sip", &m);
	assert_string_equal(m.v[0].s->p.id, "generalist");
	assert_true(fabs(m.v[0].score - (0.2 + 0.07 + 0.7 * 0.95)) < 1e-9);
	gov_match_release(&m);
	policy_release(&p);
	policy_defaults(&p);
	/* budgets: exhausted, and less left than an hour costs */
	s = fleet_swarm(&f, "generalist");
	f.has_budget[s - f.swarms.v] = true;
	f.budgets[s - f.swarms.v] = (struct gov_budget){ 1000000, 0, 1000000, 0 };
	s = fleet_swarm(&f, "sip-expert");
	f.has_budget[s - f.swarms.v] = true;
	f.budgets[s - f.swarms.v] = (struct gov_budget){ 3000000, 1000000, 1000000, 0 };
	match(&f, &p, "integration:sip", &m);
	assert_int_equal(m.nqualified, 0);
	assert_int_equal(cand(&m, "generalist")->excluded, GR_BUDGET_EXHAUSTED);
	assert_int_equal(cand(&m, "sip-expert")->excluded, GR_OVER_BUDGET);
	gov_match_release(&m);
	/* a budget past budget_warning_threshold (0.8): qualified, with a warning */
	f.budgets[fleet_swarm(&f, "generalist") - f.swarms.v] =
		(struct gov_budget){ 10000000, 0, 9000000, 0 };
	match(&f, &p, "integration:sip", &m);
	assert_int_equal(cand(&m, "generalist")->excluded, GR_NONE);
	assert_true(cand(&m, "generalist")->budget_warn);
	assert_false(cand(&m, "sip-expert")->budget_warn);
	gov_match_release(&m);
	/* cost cap: a cap below sip-expert's hour */
	f.has_budget[s - f.swarms.v] = false;
	p.rules.max_cost_per_task_micros = 1000000;
	match(&f, &p, "integration:sip,integration:webrtc", &m);
	assert_int_equal(cand(&m, "sip-expert")->excluded, GR_OVER_COST_CAP);
	gov_match_release(&m);
	p.rules.max_cost_per_task_micros = 10000000;
	/* breaker open; then past the half-open timeout, a probe */
	s->st.breaker = BREAKER_OPEN;
	s->st.opened_at = 1000;
	match(&f, &p, "integration:sip,integration:webrtc", &m);
	assert_int_equal(cand(&m, "sip-expert")->excluded, GR_BREAKER_OPEN);
	gov_match_release(&m);
	p.rules.half_open_after_s = 60;
	match(&f, &p, "integration:sip,integration:webrtc", &m);
	assert_int_equal(cand(&m, "sip-expert")->excluded, GR_NONE);
	assert_true(cand(&m, "sip-expert")->probe);
	gov_match_release(&m);
	s->st.retired = true;
	match(&f, &p, "integration:sip,integration:webrtc", &m);
	assert_int_equal(cand(&m, "sip-expert")->excluded, GR_RETIRED);
	gov_match_release(&m);
	policy_release(&p);
	gov_fleet_release(&f);
}

/* Give f the SLO standings of two swarms (ids in order). */
static void
fleet_standings(struct gov_fleet *f, const char *a, struct slo_standing sa, bool a_invalid,
		const char *b, struct slo_standing sb)
{
	f->slo = xcalloc(1, sizeof *f->slo);
	f->slo->v = xcalloc(2, sizeof *f->slo->v);
	f->slo->v[0] = (struct slo_standing_entry){ xstrdup(a), sa, a_invalid };
	f->slo->v[1] = (struct slo_standing_entry){ xstrdup(b), sb, false };
	f->slo->n = f->slo->cap = 2;
}

/*
 * SLO standings: reputation moves by the standing's delta (clamped), and
 * slo_block_paging leaves a paging or malformed standing out.
 */
static void
test_match_slo(void **state)
{
	struct slo_standing ok = { SLO_OK, SLO_ALERT_NONE, 0.05, 1, 0 };
	struct slo_standing page = { SLO_BREACH, SLO_ALERT_PAGE, -0.1, 1, 0 };
	struct gov_fleet f;
	struct gov_match m;
	struct policy p;
	char detail[240];

	(void)state;
	fleet_make(&f);
	policy_defaults(&p);
	assert_false(p.rules.slo_block_paging);
	fleet_standings(&f, "generalist", ok, false, "sip-expert", page);
	/* generalist 0.5 + 0.3 * 0.75 + 0.2 * 0.95 = 0.915; sip-expert 0.5 + 0.3 * 0.85 + 0.16 */
	match(&f, &p, "integration:sip", &m);
	assert_int_equal(m.nqualified, 2);
	assert_true(fabs(cand(&m, "generalist")->reputation - 0.75) < 1e-9);
	assert_true(fabs(cand(&m, "generalist")->score - 0.915) < 1e-9);
	assert_true(fabs(cand(&m, "sip-expert")->reputation - 0.85) < 1e-9);
	assert_true(fabs(cand(&m, "sip-expert")->score - 0.915) < 1e-9);
	gov_match_release(&m);
	/* the policy keeps the paging swarm out */
	p.rules.slo_block_paging = true;
	match(&f, &p, "integration:sip", &m);
	assert_int_equal(m.nqualified, 1);
	assert_string_equal(m.v[0].s->p.id, "generalist");
	assert_int_equal(cand(&m, "sip-expert")->excluded, GR_SLO_PAGING);
	assert_string_equal(gov_rule_name(GR_SLO_PAGING), "slo-paging");
	gov_candidate_detail(cand(&m, "sip-expert"), detail, sizeof detail);
	assert_non_null(strstr(detail, "its SLO standing pages (verdict breach"));
	gov_match_release(&m);
	/* a malformed standing: out under the policy; no delta either way */
	f.slo->v[0].invalid = true;
	match(&f, &p, "integration:sip", &m);
	assert_int_equal(m.nqualified, 0);
	assert_int_equal(cand(&m, "generalist")->excluded, GR_SLO_PAGING);
	gov_match_release(&m);
	p.rules.slo_block_paging = false;
	match(&f, &p, "integration:sip", &m);
	assert_int_equal(cand(&m, "generalist")->excluded, GR_NONE);
	assert_true(fabs(cand(&m, "generalist")->reputation - 0.7) < 1e-9);
	gov_match_release(&m);
	policy_release(&p);
	gov_fleet_release(&f);
}

/* Ties: equal scores fall to coverage, cost, then id. */
static void
test_match_ties(void **state)
{
	struct gov_fleet f;
	struct gov_match m;
	struct policy p;
	struct swarm *a, *b;

	(void)state;
	fleet_make(&f);
	policy_defaults(&p);
	a = fleet_swarm(&f, "docs");
	b = fleet_swarm(&f, "ndi-bridge");
	free(b->p.caps[0]);
	b->p.caps[0] = xstrdup("docs:technical-writing");
	b->p.cost_per_hour_micros = 0;
	b->p.reputation = a->p.reputation;
	match(&f, &p, "docs:technical-writing", &m);
	assert_int_equal(m.nqualified, 2);
	assert_string_equal(m.v[0].s->p.id, "docs");
	assert_string_equal(m.v[1].s->p.id, "ndi-bridge");
	gov_match_release(&m);
	policy_release(&p);
	gov_fleet_release(&f);
}

/* The column of a view named name. */
static size_t
col_named(const struct rowset *rs, const char *name)
{
	size_t c;

	for (c = 0; c < rs->ncols && strcmp(rs->cols[c].name, name) != 0; c++)
		;
	assert_true(c < rs->ncols);
	return c;
}

/*
 * The match view writes its scores without rows_set_num's search for the
 * shortest text: the text must be the one rows_set_num gives (RFC 8785,
 * json_add_number) for the same 6-place rounding, for every value.
 */
static void
test_match_view_numbers(void **state)
{
	static const double fixed[] = { 0, -0.0, 1, 0.5, 1e-6, 4e-7, 6e-7, 0.1 + 0.2, 2.0 / 3.0,
					0.999999, 0.9999995, 123.4567891, 999999999.999, 1e9, 1e12,
					-0.25, 1.0 / 7.0 };
	static const char *const cols[] = { "score", "coverage", "capability_score",
					    "reputation_score", "cost_score" };
	struct gov_candidate *v = calloc(2000, sizeof *v);
	struct swarm sw;
	struct gov_match m;
	struct rowset *rs;
	struct buf want = BUF_INIT;
	uint64_t seed = 12345;
	size_t i, k, c;

	(void)state;
	memset(&sw, 0, sizeof sw);
	sw.p.id = (char *)"s";
	for (i = 0; i < 2000; i++) {
		double x[5];
		for (k = 0; k < 5; k++) {
			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			x[k] = i < ARRAY_SIZE(fixed) ? fixed[i] : (double)(seed >> 11) / 9007199254740992.0 *
				(k == 0 ? 1.5 : 1.0);
		}
		v[i].s = &sw;
		v[i].score = x[0];
		v[i].coverage = x[1];
		v[i].s_cap = x[2];
		v[i].s_rep = x[3];
		v[i].s_cost = x[4];
	}
	memset(&m, 0, sizeof m);
	m.v = v;
	m.n = m.nqualified = 2000;
	m.all_ranked = true;
	rs = gov_match_view(&m, true, 0);
	for (i = 0; i < 2000; i++)
		for (k = 0; k < ARRAY_SIZE(cols); k++) {
			double x = k == 0 ? v[i].score : k == 1 ? v[i].coverage : k == 2 ? v[i].s_cap :
				   k == 3 ? v[i].s_rep : v[i].s_cost;
			double r = round(x * 1e6) / 1e6;
			c = col_named(rs, cols[k]);
			buf_reset(&want);
			json_add_number(&want, r);
			assert_string_equal(rows_get(rs, i, c), want.s);
		}
	buf_release(&want);
	rows_free(rs);
	free(v);
}

static void
test_assignment(void **state)
{
	struct gov_fleet f;
	struct gov_check c;
	struct policy p;
	struct opctx op;
	char a1[] = "sip-expert", a2[] = "sip-expert", a3[] = "docs", a4[] = "ndi-bridge",
	     a5[] = "ghost";
	char *dup[] = { a1, a2, a3, a4, a5 };
	struct gov_assignment a = { dup, 5, "t-1", NULL, 0, -1 };
	struct err e = ERR_INIT;
	size_t i;
	bool seen[4] = { false };

	(void)state;
	fleet_make(&f);
	policy_defaults(&p);
	opctx_init(&op, NULL);
	op.falsify = true;	/* nothing published: no bus */
	assert_int_equal(governor_check_assignment(NULL, &op, &f, &p, &a, &c, &e), ST_REFUSED);
	for (i = 0; i < c.n; i++) {
		seen[0] |= strcmp(c.v[i].type, "duplicate-swarm") == 0;
		seen[1] |= strcmp(c.v[i].type, "too-many-swarms") == 0;
		seen[2] |= strcmp(c.v[i].type, "unknown-swarm") == 0;
	}
	assert_true(seen[0] && seen[1] && seen[2]);
	assert_true(op.failed_checks >= 3);
	gov_check_release(&c);
	a.nswarms = 0;
	assert_int_equal(governor_check_assignment(NULL, &op, &f, &p, &a, &c, &e), ST_REFUSED);
	assert_string_equal(c.v[0].type, "empty-assignment");
	gov_check_release(&c);
	a.nswarms = 1;
	a.cost_micros = 11000000;
	assert_int_equal(governor_check_assignment(NULL, &op, &f, &p, &a, &c, &e), ST_REFUSED);
	assert_string_equal(c.v[0].type, "over-cost-cap");
	gov_check_release(&c);
	p.rules.enforcement = false;	/* listed, not refused */
	assert_int_equal(governor_check_assignment(NULL, &op, &f, &p, &a, &c, &e), ST_OK);
	assert_int_equal(c.n, 1);
	gov_check_release(&c);
	opctx_release(&op);
	policy_release(&p);
	gov_fleet_release(&f);
}

/* --- spawn detection ----------------------------------------------------------------- */

/* The capabilities detected in a fixture directory, joined with commas. */
static enum status
detect(const char *name, char **out, struct err *e)
{
	char *dir = xasprintf("fixtures/swarms/%s", name);
	struct spawn_detect d;
	struct buf b = BUF_INIT;
	enum status st = spawn_detect(dir, NULL, &d, e);
	size_t i;

	for (i = 0; st == ST_OK && i < d.n; i++)
		buf_addf(&b, "%s%s", i ? "," : "", d.v[i].capability);
	if (st == ST_OK)
		spawn_detect_release(&d);
	free(dir);
	*out = buf_detach(&b);
	return st;
}

static void
test_spawn_detect(void **state)
{
	static const struct { const char *dir, *want; } cases[] = {
		{ "python", "cli:design,cli:testing,code-analysis:python,docs:technical-writing,"
		  "infra:databases,infra:networking,integration:sip" },
		{ "rust", "cli:design,cli:testing,code-analysis:rust,integration:ndi,integration:rtsp" },
		{ "go", "cli:design,code-analysis:go,infra:kubernetes,infra:networking" },
		{ "c", "cli:automation,cli:design,code-analysis:general,infra:networking,integration:h323" },
		{ "wasm", "integration:rtsp,integration:sip,integration:webrtc" },
		{ "docs-only", "docs:architecture,docs:technical-writing,docs:tutorials" },
		{ "empty", "" },
		{ "manifest", "integration:sip,integration:webrtc" },
	};
	static const struct { const char *dir; enum status st; const char *want; } bad[] = {
		{ "bad-manifest-json", ST_BAD_JSON, "invalid JSON" },
		{ "bad-manifest-schema", ST_BAD_VALUE, "/capabilities: [] has 0 items" },
		{ "bad-manifest-capability", ST_BAD_VALUE, "did you mean \"integration:ndi\"" },
		{ "bad-wasm", ST_BAD_VALUE, "not a WebAssembly module" },
		{ "no-such-dir", ST_NOT_FOUND, "no-such-dir" },
		{ "python/src/app.py", ST_BAD_VALUE, "is not a directory" },
	};
	struct err e;
	char *got;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		assert_int_equal(detect(cases[i].dir, &got, &e), ST_OK);
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("%s: got '%s', want '%s'", cases[i].dir, got, cases[i].want);
		free(got);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		err_clear(&e);
		assert_int_equal(detect(bad[i].dir, &got, &e), bad[i].st);
		free(got);
		if (strstr(e.msg, bad[i].want) == NULL)
			fail_msg("%s: '%s' lacks '%s'", bad[i].dir, e.msg, bad[i].want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jschema_rules),
		cmocka_unit_test(test_jschema_load),
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_usd),
		cmocka_unit_test(test_policy_good),
		cmocka_unit_test(test_policy_bad),
		cmocka_unit_test(test_match_shapes),
		cmocka_unit_test(test_match_weights_and_filters),
		cmocka_unit_test(test_match_slo),
		cmocka_unit_test(test_match_ties),
		cmocka_unit_test(test_match_view_numbers),
		cmocka_unit_test(test_assignment),
		cmocka_unit_test(test_spawn_detect),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
