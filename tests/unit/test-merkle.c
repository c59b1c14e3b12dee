/*
 * RFC 9162 Merkle trees: the known tree heads of the standard 8-leaf set
 * (fixtures/merkle-rfc6962.json), every inclusion and consistency proof of
 * the trees up to 300 leaves against a naive recursive implementation, and
 * tampered proofs refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <sodium.h>

#include "core/merkle.h"
#include "core/util.h"

static void
unhex(const char *s, uint8_t *out, size_t *n)
{
	size_t i, len = strlen(s) / 2;

	for (i = 0; i < len; i++) {
		unsigned v;
		sscanf(s + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
	*n = len;
}

static void
test_rfc_vectors(void **state)
{
	char *text;
	size_t len, i, n;
	struct err e = ERR_INIT;
	cJSON *j, *leaves, *roots;
	struct merkle t;
	char key[8], hex[65];

	(void)state;
	assert_int_equal(read_file("fixtures/merkle-rfc6962.json", READ_MAX_JSON, READ_TEXT,
				   &text, &len, &e), ST_OK);
	j = cJSON_Parse(text);
	assert_non_null(j);
	leaves = cJSON_GetObjectItem(j, "leaves_hex");
	roots = cJSON_GetObjectItem(j, "roots");
	merkle_init(&t);
	for (n = 0; n <= 8; n++) {
		merkle_hash root;
		if (n > 0) {
			uint8_t leaf[64];
			size_t ll;
			merkle_hash lh;
			unhex(cJSON_GetArrayItem(leaves, (int)n - 1)->valuestring, leaf, &ll);
			merkle_leaf_hash(leaf, ll, lh);
			merkle_append(&t, lh);
		}
		merkle_root(&t, n, root);
		hex_encode(hex, root, MERKLE_HASH);
		snprintf(key, sizeof key, "%zu", n);
		assert_string_equal(hex, cJSON_GetObjectItem(roots, key)->valuestring);
		/* Roots of every prefix stay available after more appends. */
		for (i = 0; i < n; i++) {
			merkle_root(&t, i, root);
			hex_encode(hex, root, MERKLE_HASH);
			snprintf(key, sizeof key, "%zu", i);
			assert_string_equal(hex, cJSON_GetObjectItem(roots, key)->valuestring);
		}
	}
	merkle_release(&t);
	cJSON_Delete(j);
	free(text);
}

/* MTH by the RFC's definition, for comparison. */
static void
naive(merkle_hash *leaves, size_t n, merkle_hash out)
{
	size_t k = 1;
	merkle_hash l, r;

	if (n == 0) {
		crypto_hash_sha256(out, NULL, 0);
		return;
	}
	if (n == 1) {
		memcpy(out, leaves[0], MERKLE_HASH);
		return;
	}
	while (k << 1 < n)
		k <<= 1;
	naive(leaves, k, l);
	naive(leaves + k, n - k, r);
	merkle_node_hash(l, r, out);
}

static void
test_proofs_against_naive(void **state)
{
	enum { N = 300 };
	merkle_hash *leaves = xcalloc(N, sizeof *leaves), proof[MERKLE_MAX_PROOF];
	merkle_hash root_m, root_n, other;
	struct merkle t;
	size_t m, n, len;
	uint32_t i;

	(void)state;
	merkle_init(&t);
	for (i = 0; i < N; i++) {
		merkle_leaf_hash(&i, sizeof i, leaves[i]);
		merkle_append(&t, leaves[i]);
	}
	for (n = 1; n <= N; n++) {
		merkle_root(&t, n, root_n);
		naive(leaves, n, other);
		assert_memory_equal(root_n, other, MERKLE_HASH);
		for (m = 0; m < n; m += (n > 40 ? 7 : 1)) {
			len = merkle_inclusion(&t, m, n, proof);
			assert_true(merkle_verify_inclusion(m, n, leaves[m], proof[0], len, root_n));
			/* Wrong index, wrong leaf, a flipped bit: refused. */
			if (m + 1 < n)
				assert_false(merkle_verify_inclusion(m + 1, n, leaves[m], proof[0], len,
								     root_n));
			assert_false(merkle_verify_inclusion(m, n, leaves[(m + 1) % N], proof[0], len, root_n));
			if (len) {
				proof[len / 2][5] ^= 0x10;
				assert_false(merkle_verify_inclusion(m, n, leaves[m], proof[0], len, root_n));
				assert_false(merkle_verify_inclusion(m, n, leaves[m], proof[0], len - 1, root_n));
			}
			if (m == 0)
				continue;
			merkle_root(&t, m, root_m);
			len = merkle_consistency(&t, m, n, proof);
			assert_true(merkle_verify_consistency(m, n, root_m, root_n, proof[0], len));
			assert_false(merkle_verify_consistency(m, n, root_n, root_n, proof[0], len));
			if (len) {
				proof[0][0] ^= 1;
				assert_false(merkle_verify_consistency(m, n, root_m, root_n, proof[0], len));
			}
		}
	}
	assert_true(merkle_verify_consistency(5, 5, root_n, root_n, NULL, 0));
	assert_false(merkle_verify_inclusion(N, N, leaves[0], proof[0], 0, root_n));
	merkle_release(&t);
	free(leaves);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc_vectors),
		cmocka_unit_test(test_proofs_against_naive),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("merkle", tests, NULL, NULL);
}
