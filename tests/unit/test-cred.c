/*
 * Credentials, table-driven: allow-list matching, bad patterns and
 * endpoints, TTLs, the decision (unknown, revoked, expired, not allowed,
 * allowed) at given times, rotation's trail, record round trip and hostile
 * records; the sandbox's limit checks and file kinds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/cred.h"
#include "core/sandbox.h"
#include "core/util.h"

/* Pattern, endpoint, allowed? */
static const struct { const char *pat, *ep; bool allow; } matches[] = {
	{ "https://api.example.com", "https://api.example.com/", true },
	{ "https://api.example.com", "https://api.example.com/v1/x?q=1", true },
	{ "https://api.example.com", "http://api.example.com/", false },
	{ "https://api.example.com", "https://api.example.com:8443/", false },
	{ "https://api.example.com:8443", "https://api.example.com:8443/x", true },
	{ "https://API.Example.com/v1", "https://api.example.com/v1", true },
	{ "https://api.example.com/v1", "https://api.example.com/v1/items", true },
	{ "https://api.example.com/v1", "https://api.example.com/v1?x", true },
	{ "https://api.example.com/v1", "https://api.example.com/v1admin", false },
	{ "https://api.example.com/v1", "https://api.example.com/v", false },
	{ "https://api.example.com/v1/", "https://api.example.com/v1/x", true },
	{ "https://api.example.com/v1*", "https://api.example.com/v1admin", true },
	{ "https://api.example.com/v1/*/items", "https://api.example.com/v1/7/items/3", true },
	{ "https://api.example.com/v1/*/items", "https://api.example.com/v1/7/other", false },
	{ "https://*.example.com", "https://a.example.com/", true },
	{ "https://*.example.com", "https://a.b.example.com/", true },
	{ "https://*.example.com", "https://example.com/", false },
	{ "https://*.example.com", "https://evil.com/.example.com", false },
	{ "https://*.example.com", "https://a.example.com.evil.com/", false },
	{ "*://*:*", "http://anything:1/x", true },
	{ "*://h", "http://h:5/", true },
	{ "http://127.0.0.1:*/ok", "http://127.0.0.1:39999/ok/1", true },
	{ "http://127.0.0.1:*/ok", "http://127.0.0.1:39999/no", false },
};

static void
test_match(void **state)
{
	struct cred_url p, ep;
	struct err e = ERR_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(matches); i++) {
		assert_int_equal(cred_pattern_parse(matches[i].pat, &p, &e), ST_OK);
		assert_int_equal(cred_endpoint_parse(matches[i].ep, &ep, &e), ST_OK);
		if (cred_pattern_match(&p, &ep) != matches[i].allow)
			fail_msg("%s vs %s: want %d", matches[i].pat, matches[i].ep, matches[i].allow);
	}
}

static const char *const bad_patterns[] = {
	"api.example.com", "ftp://x", "https://", "https://:80", "https://h:0", "https://h:65536",
	"https://h:x", "https://user@h", "https://h/p?q", "https://h/p#f", "https://h p",
	"https://h/a b", "https://h/\x01", "",
};
static const char *const bad_endpoints[] = {
	"https://*.example.com/", "https://h/*", "*://h/", "nohost", "https://u:p@h/",
	"https://h:99999/",
};

static void
test_bad_input(void **state)
{
	struct cred_url u;
	struct err e = ERR_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad_patterns); i++)
		if (cred_pattern_parse(bad_patterns[i], &u, &e) != ST_BAD_VALUE)
			fail_msg("pattern '%s' accepted", bad_patterns[i]);
	assert_non_null(strstr(e.msg, "scheme"));
	for (i = 0; i < ARRAY_SIZE(bad_endpoints); i++)
		if (cred_endpoint_parse(bad_endpoints[i], &u, &e) != ST_BAD_VALUE)
			fail_msg("endpoint '%s' accepted", bad_endpoints[i]);
}

static const struct { const char *ttl; int64_t ms; } ttls[] = {
	{ "1s", 1000 }, { "90s", 90000 }, { "5m", 300000 }, { "12h", 43200000 },
	{ "30d", CRED_TTL_MAX_MS }, { "31d", -1 }, { "0s", -1 }, { "-5m", -1 }, { "5", -1 },
	{ "5 m", -1 }, { "m", -1 }, { "5min", -1 }, { "", -1 }, { "99999999999999999999d", -1 },
	{ "1w", -1 },
};

static void
test_ttl(void **state)
{
	struct err e = ERR_INIT;
	int64_t ms;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(ttls); i++) {
		enum status st = cred_ttl_parse(ttls[i].ttl, &ms, &e);
		if (ttls[i].ms < 0 && st != ST_BAD_VALUE)
			fail_msg("TTL '%s' accepted", ttls[i].ttl);
		if (ttls[i].ms >= 0 && (st != ST_OK || ms != ttls[i].ms))
			fail_msg("TTL '%s' not read as %lld", ttls[i].ttl, (long long)ttls[i].ms);
	}
}

/* A record of token tok, allowing allow, made at 1000 s and valid 60 s. */
static void
make_cred(struct cred *c, const char *tok, char **allow, size_t nallow)
{
	char id[22], hash[65];
	size_t i;

	assert_true(cred_token_hash(tok, id, hash));
	cred_init(c);
	c->id = xstrdup(id);
	c->hash = xstrdup(hash);
	c->swarm = xstrdup("s1");
	c->allow = xcalloc(nallow + 1, sizeof *c->allow);
	for (i = 0; i < nallow; i++)
		c->allow[c->nallow++] = xstrdup(allow[i]);
	c->created = 1000000;
	c->expires = 1060000;
}

#define TOK_A "ifc1_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define TOK_B "ifc1_1123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void
test_decide(void **state)
{
	char p0[] = "https://api.example.com/v1", *allow[] = { p0 };
	char id[22], hash[65], hash_b[65], reason[160];
	struct cred c, empty, rotated;
	struct cred_url ep, other;
	static const struct { int which; const char *hash_of; int64_t now; enum cred_verdict v;
			      const char *reason; } cases[] = {
		{ 0, TOK_A, 1000000, CRED_ALLOW, "allowed by 'https://api.example.com/v1'" },
		{ 0, TOK_A, 1059999, CRED_ALLOW, "allowed by" },
		{ 0, TOK_A, 1060000, CRED_EXPIRED, "expired 0 s ago" },
		{ 0, TOK_A, 1102000, CRED_EXPIRED, "expired 42 s ago" },
		{ 0, TOK_B, 1000000, CRED_UNKNOWN, "unknown credential" },
		{ 1, TOK_A, 1000000, CRED_NOT_ALLOWED, "endpoint not allowed: the allow-list is empty" },
		{ 2, TOK_A, 1030000, CRED_REVOKED, "revoked 10 s ago, rotated to cred-00" },
		{ 3, TOK_A, 1000000, CRED_NOT_ALLOWED, "endpoint not allowed" },
		{ 4, TOK_A, 1000000, CRED_UNKNOWN, "unknown credential" },
	};
	size_t i;

	(void)state;
	make_cred(&c, TOK_A, allow, 1);
	make_cred(&empty, TOK_A, NULL, 0);
	make_cred(&rotated, TOK_A, allow, 1);
	rotated.revoked = 1020000;
	rotated.rotated_to = xstrdup("cred-0011223344556677");
	assert_int_equal(cred_endpoint_parse("https://api.example.com/v1/x", &ep, NULL), ST_OK);
	assert_int_equal(cred_endpoint_parse("https://api.example.com/v2", &other, NULL), ST_OK);
	assert_true(cred_token_hash(TOK_B, id, hash_b));
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct cred *rec = cases[i].which == 1 ? &empty : cases[i].which == 2 ? &rotated :
					 cases[i].which == 4 ? NULL : &c;
		assert_true(cred_token_hash(cases[i].hash_of, id, hash));
		enum cred_verdict v = cred_decide(rec, hash, cases[i].which == 3 ? &other : &ep,
						  cases[i].now, reason, sizeof reason);
		if (v != cases[i].v || strstr(reason, cases[i].reason) == NULL)
			fail_msg("case %zu: %s '%s'", i, cred_verdict_name(v), reason);
	}
	assert_false(cred_token_hash("ifc1_short", id, hash));
	assert_false(cred_token_hash("ifc2_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", id, hash));
	assert_false(cred_token_hash("ifc1_0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", id, hash));
	cred_release(&c);
	cred_release(&empty);
	cred_release(&rotated);
}

static void
test_records(void **state)
{
	char p0[] = "https://api.example.com/v1", *allow[] = { p0 };
	struct cred c, d;
	struct buf a = BUF_INIT, b = BUF_INIT;
	struct err e = ERR_INIT;
	static const char *const hostile[] = {
		"{\"v\":2}", "[]", "{\"v\":1}",
		"{\"v\":1,\"id\":\"cred-x\",\"hash\":\"h\",\"swarm\":\"s\",\"allow\":[],\"created\":1,\"expires\":2}",
		"{\"v\":1,\"id\":\"cred-0123456789abcdef\",\"hash\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\",\"swarm\":\"s\",\"allow\":[\"nope\"],\"created\":1,\"expires\":2}",
		"{\"v\":1,\"id\":\"cred-0123456789abcdef\",\"hash\":\"1123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\",\"swarm\":\"s\",\"allow\":[],\"created\":1,\"expires\":2}",
		"{\"v\":1,\"id\":\"cred-0123456789abcdef\",\"hash\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\",\"swarm\":\"s\",\"allow\":[],\"created\":1,\"expires\":1e300}",
	};
	size_t i;

	(void)state;
	make_cred(&c, TOK_A, allow, 1);
	c.task = xstrdup("t-1");
	c.by = xstrdup("op@host");
	cred_to_json(&c, &a);
	assert_null(strstr(a.s, TOK_A));	/* never the token */
	assert_int_equal(cred_from_json(a.s, a.len, &d, &e), ST_OK);
	cred_to_json(&d, &b);
	assert_string_equal(a.s, b.s);
	cred_release(&d);
	for (i = 0; i < ARRAY_SIZE(hostile); i++)
		if (cred_from_json(hostile[i], strlen(hostile[i]), &d, &e) == ST_OK)
			fail_msg("hostile record %zu accepted", i);
	cred_release(&c);
	buf_release(&a);
	buf_release(&b);
}

static void
test_sandbox_pure(void **state)
{
	struct sandbox_limits ok = { 256, 10, 30000, 64, 64 }, bad = ok;
	struct sandbox_spec s = { .program = "/x", .lim = ok, .token = "SECRET-TOKEN", .egress = "/e.sock" };
	enum sandbox_kind k;
	struct err e = ERR_INIT;
	char **argv;
	size_t argc, i;
	bool seccomp = false, ro = false, net = false;

	(void)state;
	assert_int_equal(sandbox_limits_check(&ok, &e), ST_OK);
	bad.memory_mb = 1;
	assert_int_equal(sandbox_limits_check(&bad, &e), ST_BAD_VALUE);
	assert_non_null(strstr(e.msg, "memory"));
	bad = ok;
	bad.wall_ms = 0;
	assert_int_equal(sandbox_limits_check(&bad, &e), ST_BAD_VALUE);
	assert_int_equal(sandbox_kind_of("m", (const unsigned char *)"\0asm\1\0\0\0", 8, &k, &e), ST_OK);
	assert_int_equal(k, SANDBOX_WASM);
	assert_int_equal(sandbox_kind_of("m", (const unsigned char *)"\0asm\2\0\0\0", 8, &k, &e), ST_BAD_VALUE);
	assert_int_equal(sandbox_kind_of("p", (const unsigned char *)"\177ELF", 4, &k, &e), ST_OK);
	assert_int_equal(k, SANDBOX_NATIVE);
	assert_int_equal(sandbox_kind_of("t", (const unsigned char *)"hello", 5, &k, &e), ST_BAD_VALUE);
	sandbox_argv(&s, SANDBOX_NATIVE, "/usr/bin/bwrap", "/usr/bin/wasm-interp", false, &argv, &argc);
	for (i = 0; i < argc; i++) {
		seccomp |= strcmp(argv[i], "--seccomp") == 0;
		ro |= strcmp(argv[i], "--remount-ro") == 0;
		net |= strcmp(argv[i], "--share-net") == 0;
		assert_null(strstr(argv[i], "SECRET-TOKEN"));	/* argv is public: /proc/PID/cmdline */
	}
	assert_true(seccomp && ro && !net);
	assert_string_equal(argv[argc - 1], "/sandbox/program");
	strv_free(argv, argc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_ttl),
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_records),
		cmocka_unit_test(test_sandbox_pure),
	};
	return cmocka_run_group_tests_name("cred", tests, NULL, NULL);
}
