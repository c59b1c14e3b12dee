/*
 * mkledger DIR: write the witness fixtures, reproducibly (fixed key seeds,
 * fixed times): a good ledger of 30 entries with checkpoints at 10, 20 and
 * 30, and one file per kind of tampering. tests/cli/t-witness.sh checks
 * that the committed fixtures are what this writes, and what verify says
 * of each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/buf.h"
#include "core/ledgerfile.h"
#include "core/util.h"

#define N 30
#define ORIGIN "ifctl.example/fixtures"

static struct wentry ents[N];

static void
build(void)
{
	size_t i;

	for (i = 0; i < N; i++) {
		struct wentry *e = &ents[i];
		static const char *const comps[] = { "coordinator", "governor", "cost", "operator" };
		wentry_init(e);
		e->v = 1;	/* version 1 entries: the old canonical form keeps verifying */
		e->seq = i + 1;
		e->time = 1795590000000LL + (int64_t)i * 250;
		e->component = xstrdup(comps[i % 4]);
		e->event = xstrdup(i % 4 == 2 ? "cost.record" : "task.claim");
		e->actor = xasprintf("swarm-%zu", i % 3);
		e->trace = xasprintf("trace-%zu", i / 5);
		e->swarm = xasprintf("swarm-%zu", i % 3);
		e->task = xasprintf("t-%zu", i);
		e->payload = xasprintf("{\"attempt\":%zu,\"model\":\"m-%zu\"}", i % 2 + 1, i % 2);
		e->cost_micros = (int64_t)(i % 4 == 2 ? 1250 * i : 0);
		e->tokens = (int64_t)(i % 4 == 2 ? 40 * i : 0);
		if (i)
			memcpy(e->prev, ents[i - 1].hash, WITNESS_HEX);
		wentry_seal(e);
	}
}

/* Write ents[order...] with checkpoints over the entries written, signed by k. */
static int
write_file(const char *dir, const char *name, const struct wkey *k, const int *order,
	   size_t n, size_t sign_upto)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	struct merkle t;
	size_t i;

	if (f == NULL) {
		perror(path);
		return 1;
	}
	merkle_init(&t);
	ledger_file_header(f, ORIGIN, k);
	for (i = 0; i < n; i++) {
		const struct wentry *e = &ents[order[i]];
		ledger_file_entry(f, e);
		witness_tree_add(&t, e);
		if ((i + 1) % 10 == 0 && i + 1 <= sign_upto) {
			struct wcheckpoint cp = { ORIGIN, i + 1, { 0 } };
			struct buf note = BUF_INIT;
			merkle_root(&t, i + 1, cp.root);
			wcheckpoint_sign(k, &cp, &note);
			ledger_file_checkpoint(f, note.s);
			buf_release(&note);
		}
	}
	merkle_release(&t);
	fclose(f);
	free(path);
	return 0;
}

/* Reseal ents[from..N) as a chain after ents[from - 1]. */
static void
reseal_from(size_t from)
{
	size_t i;

	for (i = from; i < N; i++) {
		if (i)
			memcpy(ents[i].prev, ents[i - 1].hash, WITNESS_HEX);
		wentry_seal(&ents[i]);
	}
}

/*
 * What a forger without the key writes, which only a trusted key catches:
 * rewritten.jsonl, entry 5 changed and the chain resealed, every
 * checkpoint left out; tail.jsonl, the good ledger with three entries made
 * up after its last signed checkpoint.
 */
static int
forgeries(const char *dir, const struct wkey *k, int *order)
{
	char *path = xasprintf("%s/tail.jsonl", dir), *good = xasprintf("%s/good.jsonl", dir);
	FILE *in, *out;
	char line[4096];
	struct wentry extra[3];
	char last[WITNESS_HEX];
	size_t i;
	int rc;

	build();
	memcpy(last, ents[N - 1].hash, WITNESS_HEX);	/* the good ledger's last entry */
	for (i = 0; i < N; i++)
		order[i] = (int)i;
	ents[4].cost_micros = 999999;
	reseal_from(4);
	rc = write_file(dir, "rewritten.jsonl", k, order, N, 0);
	in = fopen(good, "r");
	out = fopen(path, "w");
	while (in && out && fgets(line, sizeof line, in))
		fputs(line, out);
	for (i = 0; in && out && i < 3; i++) {
		wentry_init(&extra[i]);	/* version 2 after version 1: one chain holds both */
		extra[i].seq = N + 1 + i;
		extra[i].time = 1795590000000LL + (int64_t)(N + i) * 250;
		extra[i].component = xstrdup("cost");
		extra[i].event = xstrdup("cost.refund");
		extra[i].actor = xstrdup("swarm-0");
		extra[i].cost_micros = 5000000;
		/* chained to the good ledger's last entry, as an honest writer would */
		memcpy(extra[i].prev, i ? extra[i - 1].hash : last, WITNESS_HEX);
		wentry_seal(&extra[i]);
		ledger_file_entry(out, &extra[i]);
	}
	while (i > 0)
		wentry_release(&extra[--i]);
	rc |= !in || !out;
	if (in)
		fclose(in);
	if (out)
		fclose(out);
	free(path);
	free(good);
	return rc;
}

int
main(int argc, char **argv)
{
	uint8_t seed[32] = { 0 }, other[32];
	struct wkey k, forger;
	int order[N], rc = 0;
	size_t i;

	if (argc != 2 || sodium_init() < 0) {
		fprintf(stderr, "usage: mkledger DIR\n");
		return 2;
	}
	memset(other, 7, sizeof other);
	wkey_from_seed(&k, ORIGIN, seed);
	wkey_from_seed(&forger, ORIGIN, other);	/* same name, another key */
	for (i = 0; i < N; i++)
		order[i] = (int)i;
	build();
	rc |= write_file(argv[1], "good.jsonl", &k, order, N, N);
	rc |= write_file(argv[1], "resigned.jsonl", &forger, order, N, N);
	/* Entry 12 dropped; the checkpoints cover the entries that are left. */
	memmove(order + 11, order + 12, (N - 12) * sizeof *order);
	rc |= write_file(argv[1], "missing.jsonl", &k, order, N - 1, N - 1);
	for (i = 0; i < N; i++)
		order[i] = (int)i;
	order[4] = 5;			/* entries 5 and 6 swapped */
	order[5] = 4;
	rc |= write_file(argv[1], "reordered.jsonl", &k, order, N, N);
	order[4] = 4;
	order[5] = 5;
	ents[11].cost_micros += 1;	/* entry 12's cost edited, not resealed */
	rc |= write_file(argv[1], "edited.jsonl", &k, order, N, 0);
	{
		/* The same edit with the whole tail resealed: only a checkpoint catches it. */
		char *path = xasprintf("%s/resealed.jsonl", argv[1]);
		char line[4096];
		FILE *g;
		for (i = 11; i < N; i++) {
			if (i > 11)
				memcpy(ents[i].prev, ents[i - 1].hash, WITNESS_HEX);
			wentry_seal(&ents[i]);
		}
		/* Keep the good file's signed checkpoints: they commit to the old tree. */
		g = fopen(path, "w");
		if (g == NULL)
			return 1;
		ledger_file_header(g, ORIGIN, &k);
		{
			char *goodpath = xasprintf("%s/good.jsonl", argv[1]);
			FILE *good = fopen(goodpath, "r");
			size_t e = 0;
			while (good && fgets(line, sizeof line, good)) {
				if (strstr(line, "\"type\":\"checkpoint\""))
					fputs(line, g);
				else if (strstr(line, "\"type\":\"entry\""))
					ledger_file_entry(g, &ents[e++]);
			}
			if (good)
				fclose(good);
			free(goodpath);
		}
		fclose(g);
		free(path);
	}
	/* Truncated: the last five entries gone, the last checkpoint kept. */
	{
		char *src = xasprintf("%s/good.jsonl", argv[1]), *dst = xasprintf("%s/truncated.jsonl", argv[1]);
		FILE *in = fopen(src, "r"), *out = fopen(dst, "w");
		char line[4096];
		int entries = 0;
		while (in && out && fgets(line, sizeof line, in)) {
			if (strstr(line, "\"type\":\"entry\"") && ++entries > N - 5)
				continue;
			fputs(line, out);
		}
		if (in)
			fclose(in);
		if (out)
			fclose(out);
		free(src);
		free(dst);
	}
	{
		char *path = xasprintf("%s/malformed.jsonl", argv[1]);
		FILE *f = fopen(path, "w");
		struct buf vk = BUF_INIT;
		if (f) {
			ledger_file_header(f, ORIGIN, &k);
			ledger_file_entry(f, &ents[0]);
			fputs("{\"type\":\"entry\",\"seq\":2,\"hash\":\n", f);
			fclose(f);
		}
		wkey_vkey(&k, &vk);
		free(path);
		path = xasprintf("%s/key.vkey", argv[1]);
		f = fopen(path, "w");
		if (f) {
			fprintf(f, "%s\n", vk.s);
			fclose(f);
		}
		free(path);
		buf_release(&vk);
	}
	for (i = 0; i < N; i++)
		wentry_release(&ents[i]);
	rc |= forgeries(argv[1], &k, order);	/* builds them again */
	for (i = 0; i < N; i++)
		wentry_release(&ents[i]);
	return rc;
}
