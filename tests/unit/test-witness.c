/*
 * Witness entries, checkpoints and verification: a good ledger verifies;
 * every kind of tampering is caught at the right entry.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "core/ledger.h"
#include "core/util.h"
#include "core/witness.h"

#define N 20

struct ledger {
	struct wentry e[N];
	char *note[N + 1];	/* note[k]: checkpoint after entry k, or NULL */
};

static struct wkey key_a, key_b;

static void
ledger_build(struct ledger *l, const struct wkey *k)
{
	struct merkle t;
	size_t i;

	memset(l, 0, sizeof *l);
	merkle_init(&t);
	for (i = 0; i < N; i++) {
		struct wentry *e = &l->e[i];

		wentry_init(e);
		e->seq = i + 1;
		e->time = 1764052801000LL + (int64_t)i;
		e->component = xstrdup(i % 2 ? "coordinator" : "cost");
		e->event = xstrdup("task.claim");
		e->actor = xasprintf("swarm-%zu", i % 3);
		e->trace = xstrdup("81bdc565d1e98bc6794f2eb76db26385");
		e->task = xasprintf("t-%zu", i);
		e->payload = xstrdup("{\"a\":1}");
		e->cost_micros = (int64_t)i * 1500;
		e->tokens = (int64_t)i * 10;
		if (i)
			memcpy(e->prev, l->e[i - 1].hash, WITNESS_HEX);
		wentry_seal(e);
		witness_tree_add(&t, e);
		if (i + 1 == 8 || i + 1 == 16 || i + 1 == N) {
			struct wcheckpoint cp = { "ifctl.test/ledger", i + 1, { 0 } };
			struct buf b = BUF_INIT;
			merkle_root(&t, i + 1, cp.root);
			wcheckpoint_sign(k, &cp, &b);
			l->note[i + 1] = buf_detach(&b);
		}
	}
	merkle_release(&t);
}

static void
ledger_free(struct ledger *l)
{
	size_t i;

	for (i = 0; i < N; i++)
		wentry_release(&l->e[i]);
	for (i = 0; i <= N; i++)
		free(l->note[i]);
}

/* Feed entries in the given order (indexes into l->e; -1 ends). */
static struct wverdict
run(struct ledger *l, const int *order, const struct wkey *k)
{
	struct wverifier w;
	struct wverdict v;
	int i;

	wverifier_init(&w, k);
	for (i = 0; order[i] >= 0; i++) {
		wverifier_entry(&w, &l->e[order[i]]);
		if (l->note[order[i] + 1])
			wverifier_checkpoint(&w, l->note[order[i] + 1]);
	}
	v = w.v;
	wverifier_release(&w);
	return v;
}

static int straight[N + 1];

static void
test_good(void **state)
{
	struct ledger l;
	struct wverdict v;
	struct wentry back;
	struct buf b = BUF_INIT;
	struct err e = ERR_INIT;

	(void)state;
	ledger_build(&l, &key_a);
	v = run(&l, straight, &key_a);
	assert_int_equal(v.fault, WF_NONE);
	assert_int_equal(v.entries, N);
	assert_int_equal(v.checkpoints, 3);
	/* Stored form round-trips and still verifies. */
	wentry_canonical(&l.e[4], true, &b);
	assert_int_equal(wentry_parse(b.s, b.len, &back, &e), ST_OK);
	assert_true(wentry_hash_ok(&back));
	assert_string_equal(back.hash, l.e[4].hash);
	wentry_release(&back);
	/* A copy hashes the same and owns its strings. */
	wentry_copy(&back, &l.e[4]);
	back.actor[0] = 'X';
	assert_true(wentry_hash_ok(&l.e[4]));
	assert_false(wentry_hash_ok(&back));
	back.actor[0] = l.e[4].actor[0];
	assert_true(wentry_hash_ok(&back));
	wentry_release(&back);
	buf_release(&b);
	ledger_free(&l);
}

static void
test_edits_caught(void **state)
{
	struct ledger l;
	struct wverdict v;

	(void)state;
	/* Any field, costs included, changed without resealing. */
	ledger_build(&l, &key_a);
	l.e[4].cost_micros++;
	v = run(&l, straight, &key_a);
	assert_int_equal(v.fault, WF_EDITED);
	assert_int_equal(v.seq, 5);
	ledger_free(&l);

	ledger_build(&l, &key_a);
	l.e[9].actor[0] ^= 1;
	v = run(&l, straight, &key_a);
	assert_int_equal(v.fault, WF_EDITED);
	assert_int_equal(v.seq, 10);
	ledger_free(&l);

	/* Edited and resealed: the next entry's prev gives it away. */
	ledger_build(&l, &key_a);
	l.e[4].tokens = 999;
	wentry_seal(&l.e[4]);
	v = run(&l, straight, &key_a);
	assert_int_equal(v.fault, WF_CHAIN);
	assert_int_equal(v.seq, 6);
	ledger_free(&l);

	/* The whole tail rewritten and resealed: the signed checkpoint gives it away. */
	ledger_build(&l, &key_a);
	l.e[4].tokens = 999;
	for (size_t i = 4; i < N; i++) {
		if (i > 4)
			memcpy(l.e[i].prev, l.e[i - 1].hash, WITNESS_HEX);
		wentry_seal(&l.e[i]);
	}
	v = run(&l, straight, &key_a);
	assert_int_equal(v.fault, WF_ROOT);
	assert_int_equal(v.seq, 8);
	ledger_free(&l);
}

static void
test_missing_reordered_truncated(void **state)
{
	struct ledger l;
	struct wverdict v;
	int dropped[N], swapped[N + 1], i, j = 0;

	(void)state;
	ledger_build(&l, &key_a);
	for (i = 0; i < N; i++)
		if (i != 6)
			dropped[j++] = i;
	dropped[j] = -1;
	v = run(&l, dropped, &key_a);
	assert_int_equal(v.fault, WF_MISSING);
	assert_int_equal(v.seq, 7);

	memcpy(swapped, straight, sizeof swapped);
	swapped[2] = 3;
	swapped[3] = 2;
	v = run(&l, swapped, &key_a);
	assert_int_equal(v.fault, WF_REORDERED);
	assert_int_equal(v.seq, 3);

	/* Truncated: the last checkpoint (kept apart) covers more than is left. */
	{
		struct wverifier w;
		wverifier_init(&w, &key_a);
		for (i = 0; i < 17; i++)
			wverifier_entry(&w, &l.e[i]);
		assert_false(wverifier_checkpoint(&w, l.note[N]));
		assert_int_equal(w.v.fault, WF_MISSING);
		assert_int_equal(w.v.seq, 18);
		wverifier_release(&w);
	}
	ledger_free(&l);
}

static void
test_signatures(void **state)
{
	struct ledger l;
	struct wverdict v;
	char *p;

	(void)state;
	/* Re-signed by another key: the trusted key refuses it. */
	ledger_build(&l, &key_b);
	v = run(&l, straight, &key_a);
	assert_int_equal(v.fault, WF_SIGNATURE);
	assert_int_equal(v.seq, 8);
	ledger_free(&l);

	/* A checkpoint whose root was changed after signing. */
	ledger_build(&l, &key_a);
	p = strchr(strchr(l.note[16], '\n') + 1, '\n') + 1;
	*p = *p == 'A' ? 'B' : 'A';
	v = run(&l, straight, &key_a);
	assert_int_equal(v.fault, WF_SIGNATURE);
	assert_int_equal(v.seq, 16);
	ledger_free(&l);
}

static void
test_keys(void **state)
{
	struct buf vk = BUF_INIT;
	struct wkey k, loaded;
	struct err e = ERR_INIT;
	char path[] = "/tmp/ifctl-key-XXXXXX";
	int fd = mkstemp(path);

	(void)state;
	close(fd);
	wkey_vkey(&key_a, &vk);
	assert_int_equal(wkey_from_vkey(vk.s, &k, &e), ST_OK);
	assert_memory_equal(k.pk, key_a.pk, 32);
	assert_int_equal(k.id, key_a.id);
	vk.s[strlen(key_a.name) + 1] ^= 1;	/* a wrong key id */
	assert_int_equal(wkey_from_vkey(vk.s, &k, &e), ST_BAD_VALUE);
	assert_int_equal(wkey_from_vkey("nonsense", &k, &e), ST_BAD_VALUE);
	assert_int_equal(wkey_save(path, &key_a, &e), ST_OK);
	assert_int_equal(wkey_load(path, &loaded, &e), ST_OK);
	assert_memory_equal(loaded.pk, key_a.pk, 32);
	chmod(path, 0644);
	assert_int_equal(wkey_load(path, &loaded, &e), ST_PERMISSION);
	assert_non_null(strstr(e.msg, "must be 0600"));
	unlink(path);
	buf_release(&vk);
}

/*
 * The known answer of golang.org/x/mod/sumdb/note (note_test.go and the
 * package documentation), the reference implementation of C2SP signed
 * notes: the same seed must give the same verifier key, key id and
 * signature line, byte for byte, and that note must open with that key.
 */
static void
test_c2sp_known_answer(void **state)
{
	static const char skey[] = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
	static const char vkey[] = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
	static const char text[] = "If you think cryptography is the answer to your problem,\n"
				   "then you don't know what your problem is.\n";
	static const char note[] = "If you think cryptography is the answer to your problem,\n"
				   "then you don't know what your problem is.\n"
				   "\n"
				   "\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZ"
				   "InNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
	uint8_t raw[33];
	size_t n = 0, len = 0;
	struct wkey k, v;
	struct buf b = BUF_INIT;
	struct err e = ERR_INIT;
	char *bad;

	(void)state;
	assert_int_equal(sodium_base642bin(raw, sizeof raw, skey, strlen(skey), NULL, &n, NULL,
					   sodium_base64_VARIANT_ORIGINAL), 0);
	assert_int_equal(n, 33);
	assert_int_equal(raw[0], 1);	/* algorithm: Ed25519 */
	wkey_from_seed(&k, "PeterNeumann", raw + 1);
	assert_int_equal(k.id, 0xc74f20a3);
	wkey_vkey(&k, &b);
	assert_string_equal(b.s, vkey);
	buf_reset(&b);
	wnote_sign(&k, text, &b);
	assert_string_equal(b.s, note);
	assert_int_equal(wkey_from_vkey(vkey, &v, &e), ST_OK);
	assert_int_equal(wnote_open(note, &v, &len, &e), ST_OK);
	assert_int_equal(len, strlen(text));
	bad = xstrdup(note);
	bad[3] ^= 1;	/* the text changed: the signature no longer holds */
	assert_int_equal(wnote_open(bad, &v, NULL, &e), ST_WITNESS);
	free(bad);
	buf_release(&b);
}

/* Feed entries 1..upto with their checkpoints (all or none), trusted or not; finish. */
static struct wverdict
run_trusted(struct ledger *l, size_t upto, bool notes, bool trusted, bool allow_tail)
{
	struct wverifier w;
	struct wverdict v;
	size_t i;

	wverifier_init(&w, &key_a);
	w.trusted = trusted;
	w.allow_unsigned_tail = allow_tail;
	for (i = 0; i < upto; i++) {
		wverifier_entry(&w, &l->e[i]);
		if (notes && l->note[i + 1])
			wverifier_checkpoint(&w, l->note[i + 1]);
	}
	wverifier_finish(&w);
	v = w.v;
	wverifier_release(&w);
	return v;
}

static void
test_trusted_coverage(void **state)
{
	struct ledger l;
	struct wverdict v;

	(void)state;
	ledger_build(&l, &key_a);	/* checkpoints at 8, 16 and 20 */
	v = run_trusted(&l, N, true, true, false);
	assert_int_equal(v.fault, WF_NONE);
	assert_int_equal(v.covered, N);
	assert_int_equal(v.signed_first, 8);
	/* Entries after the last signed checkpoint. */
	v = run_trusted(&l, 18, true, true, false);
	assert_int_equal(v.fault, WF_UNSIGNED);
	assert_int_equal(v.seq, 17);
	assert_non_null(strstr(v.detail, "entries 17..18"));
	v = run_trusted(&l, 18, true, true, true);
	assert_int_equal(v.fault, WF_NONE);
	assert_true(v.tail_allowed);
	assert_int_equal(v.covered, 16);
	/* No checkpoint at all. */
	v = run_trusted(&l, N, false, true, false);
	assert_int_equal(v.fault, WF_UNSIGNED);
	assert_int_equal(v.seq, 1);
	assert_string_equal(wfault_name(v.fault), "unsigned");
	/* Without a trusted key, integrity only: no checkpoint is needed. */
	v = run_trusted(&l, N, false, false, false);
	assert_int_equal(v.fault, WF_NONE);
	ledger_free(&l);
}

static void
test_note_bounds_and_kinds(void **state)
{
	struct ledger l;
	struct wverifier w;
	struct wcheckpoint cp;
	struct buf b = BUF_INIT, note = BUF_INIT;
	struct err e = ERR_INIT;
	int64_t t0;
	size_t i;

	(void)state;
	ledger_build(&l, &key_a);
	/* A million short signature lines (9 MB): refused by its size, at once. */
	buf_adds(&b, "origin\n1\nAAAA\n\n");
	for (i = 0; i < 1000000; i++)
		buf_adds(&b, "\xe2\x80\x94 x AAAA\n");
	t0 = mono_ms();
	assert_int_equal(wnote_open(b.s, &key_a, NULL, &e), ST_BAD_VALUE);
	assert_true(mono_ms() - t0 < 1000);
	/* Within the size, no more than WNOTE_SIGS_MAX lines; the good one last is found. */
	buf_reset(&b);
	buf_adds(&b, l.note[8]);
	note.len = 0;
	buf_add(&note, b.s, (size_t)(strstr(b.s, "\n\n") - b.s) + 2);
	for (i = 0; i < WNOTE_SIGS_MAX - 1; i++)
		buf_adds(&note, "\xe2\x80\x94 ifctl.test/a AAAA\n");
	buf_adds(&note, strstr(b.s, "\n\n") + 2);
	assert_int_equal(wnote_open(note.s, &key_a, NULL, &e), ST_OK);
	buf_adds(&note, "\xe2\x80\x94 one too many\n");
	assert_int_equal(wnote_open(note.s, &key_a, NULL, &e), ST_BAD_VALUE);
	assert_non_null(strstr(e.msg, "signature lines"));
	/* A malformed body: never a half-parsed size; the fault says where it stands. */
	assert_int_equal(wcheckpoint_open("o\n-1\nAAAA\n\n\xe2\x80\x94 o AAAA\n", NULL, &cp, &e),
			 ST_BAD_VALUE);
	assert_int_equal(cp.size, 0);
	wverifier_init(&w, &key_a);
	for (i = 0; i < 5; i++)
		wverifier_entry(&w, &l.e[i]);
	assert_false(wverifier_checkpoint(&w, "o\n-1\nAAAA\n\n\xe2\x80\x94 o AAAA\n"));
	assert_int_equal(w.v.fault, WF_MALFORMED);
	assert_int_equal(w.v.seq, 5);
	wverifier_release(&w);
	/* Not signed by the key: a signature fault, told by the status, not the text. */
	assert_int_equal(wcheckpoint_open(l.note[8], &key_b, &cp, &e), ST_WITNESS);
	/* A message that is not an entry is a malformed fault at its sequence. */
	wverifier_init(&w, &key_a);
	wverifier_entry(&w, &l.e[0]);
	assert_false(wverifier_foreign(&w, 2, "not JSON"));
	assert_int_equal(w.v.fault, WF_MALFORMED);
	assert_int_equal(w.v.seq, 2);
	assert_non_null(strstr(w.v.detail, "stream message 2 is not a witness entry (not JSON)"));
	wverifier_release(&w);
	buf_release(&b);
	buf_release(&note);
	ledger_free(&l);
}

/* An entry's payload keeps --why whatever the payload is. */
static void
test_payload_why(void **state)
{
	static const struct { const char *payload, *why, *want; } cases[] = {
		{ "{\"b\":1,\"a\":2}", NULL, "{\"a\":2,\"b\":1}" },
		{ "{\"b\":1,\"why\":\"old\"}", "because", "{\"b\":1,\"why\":\"because\"}" },
		{ NULL, "because", "{\"why\":\"because\"}" },
		{ "[1, 2]", "because", "{\"value\":[1,2],\"why\":\"because\"}" },
		{ "\"text\"", "because", "{\"value\":\"text\",\"why\":\"because\"}" },
		{ "7", NULL, "7" },
		{ NULL, NULL, NULL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		char *got = witness_payload(cases[i].payload, cases[i].why);
		if (cases[i].want == NULL)
			assert_null(got);
		else
			assert_string_equal(got, cases[i].want);
		free(got);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_edits_caught),
		cmocka_unit_test(test_missing_reordered_truncated),
		cmocka_unit_test(test_signatures),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_c2sp_known_answer),
		cmocka_unit_test(test_trusted_coverage),
		cmocka_unit_test(test_note_bounds_and_kinds),
		cmocka_unit_test(test_payload_why),
	};
	int i;

	if (sodium_init() < 0)
		return 1;
	for (i = 0; i < N; i++)
		straight[i] = i;
	straight[N] = -1;
	wkey_generate(&key_a, "ifctl.test/a");
	wkey_generate(&key_b, "ifctl.test/a");	/* same name, other key: a forgery */
	return cmocka_run_group_tests_name("witness", tests, NULL, NULL);
}
