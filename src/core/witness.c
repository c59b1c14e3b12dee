/* The witness ledger's entries, checkpoints and verification: see witness.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "core/json.h"
#include "core/util.h"
#include "core/witness.h"

const char witness_zero_hash[WITNESS_HEX] =
	"0000000000000000000000000000000000000000000000000000000000000000";

void
wentry_init(struct wentry *e)
{
	memset(e, 0, sizeof *e);
	memcpy(e->prev, witness_zero_hash, sizeof e->prev);
}

void
wentry_release(struct wentry *e)
{
	free(e->component);
	free(e->event);
	free(e->actor);
	free(e->trace);
	free(e->swarm);
	free(e->task);
	free(e->payload);
	memset(e, 0, sizeof *e);
}

void
wentry_copy(struct wentry *dst, const struct wentry *src)
{
	*dst = *src;	/* numbers and the fixed-size hashes */
	dst->component = xstrdup_or_null(src->component);
	dst->event = xstrdup_or_null(src->event);
	dst->actor = xstrdup_or_null(src->actor);
	dst->trace = xstrdup_or_null(src->trace);
	dst->swarm = xstrdup_or_null(src->swarm);
	dst->task = xstrdup_or_null(src->task);
	dst->payload = xstrdup_or_null(src->payload);
}

/* Keys in byte order: the canonical form without a general sort. */
void
wentry_canonical(const struct wentry *e, bool with_hash, struct buf *out)
{
	buf_addc(out, '{');
	json_kv_str(out, "actor", e->actor);
	json_kv_str(out, "component", e->component);
	json_kv_int(out, "cost_micros", e->cost_micros);
	json_kv_str(out, "event", e->event);
	if (with_hash)
		json_kv_str(out, "hash", e->hash);
	json_kv_raw(out, "payload", e->payload);
	json_kv_str(out, "prev", e->prev);
	json_kv_int(out, "seq", (long long)e->seq);
	json_kv_str(out, "swarm", e->swarm);
	json_kv_str(out, "task", e->task);
	json_kv_int(out, "time", e->time);
	json_kv_int(out, "tokens", e->tokens);
	json_kv_str(out, "trace", e->trace);
	json_kv_int(out, "v", 1);
	buf_addc(out, '}');
}

static void
entry_hash_hex(const struct wentry *e, char out[WITNESS_HEX])
{
	struct buf b = BUF_INIT;
	uint8_t h[crypto_hash_sha256_BYTES];

	wentry_canonical(e, false, &b);
	crypto_hash_sha256(h, (const uint8_t *)b.s, b.len);
	hex_encode(out, h, sizeof h);
	buf_release(&b);
}

void
wentry_seal(struct wentry *e)
{
	entry_hash_hex(e, e->hash);
}

bool
wentry_hash_ok(const struct wentry *e)
{
	char h[WITNESS_HEX];

	entry_hash_hex(e, h);
	return strcmp(h, e->hash) == 0;
}

bool
wentry_hash_bytes(const struct wentry *e, merkle_hash out)
{
	return sodium_hex2bin(out, MERKLE_HASH, e->hash, strlen(e->hash), NULL, NULL, NULL) == 0;
}

void
witness_tree_add(struct merkle *t, const struct wentry *e)
{
	merkle_hash content, leaf;

	wentry_hash_bytes(e, content);
	merkle_leaf_hash(content, MERKLE_HASH, leaf);
	merkle_append(t, leaf);
}

static bool
take_str(const cJSON *o, const char *k, char **dst)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (v == NULL || cJSON_IsNull(v))
		return true;
	if (!cJSON_IsString(v))
		return false;
	*dst = xstrdup(v->valuestring);
	return true;
}

static bool
take_int(const cJSON *o, const char *k, int64_t *dst, bool required)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (v == NULL || cJSON_IsNull(v))
		return !required;
	if (!cJSON_IsNumber(v) || v->valuedouble != (double)(int64_t)v->valuedouble)
		return false;
	*dst = (int64_t)v->valuedouble;
	return true;
}

static bool
take_hex(const cJSON *o, const char *k, char dst[WITNESS_HEX])
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (!cJSON_IsString(v) || strlen(v->valuestring) != WITNESS_HEX - 1 ||
	    strspn(v->valuestring, "0123456789abcdef") != WITNESS_HEX - 1)
		return false;
	memcpy(dst, v->valuestring, WITNESS_HEX);
	return true;
}

enum status
wentry_parse(const char *json, size_t len, struct wentry *e, struct err *err)
{
	cJSON *o = cJSON_ParseWithLength(json, len);
	const cJSON *p;
	int64_t seq = 0, v = 0;
	bool ok;

	wentry_init(e);
	ok = o && cJSON_IsObject(o) && take_int(o, "v", &v, true) && v == 1 &&
	     take_int(o, "seq", &seq, true) && seq > 0 && take_int(o, "time", &e->time, true) &&
	     take_str(o, "component", &e->component) && take_str(o, "event", &e->event) &&
	     take_str(o, "actor", &e->actor) && take_str(o, "trace", &e->trace) &&
	     take_str(o, "swarm", &e->swarm) && take_str(o, "task", &e->task) &&
	     take_int(o, "cost_micros", &e->cost_micros, false) &&
	     take_int(o, "tokens", &e->tokens, false) &&
	     take_hex(o, "prev", e->prev) && take_hex(o, "hash", e->hash);
	if (ok && (p = cJSON_GetObjectItemCaseSensitive(o, "payload")) && !cJSON_IsNull(p)) {
		struct buf c = BUF_INIT;
		json_canonical_node(p, &c);
		e->payload = buf_detach(&c);
	}
	cJSON_Delete(o);
	if (!ok) {
		wentry_release(e);
		return err_set(err, ST_BAD_JSON, "not a witness entry (v, seq, time, prev and hash "
			       "are required)");
	}
	e->seq = (uint64_t)seq;
	return ST_OK;
}

/* --- keys --------------------------------------------------------------- */

static uint32_t
key_id(const char *name, const uint8_t pk[32])
{
	crypto_hash_sha256_state st;
	uint8_t h[32], t = 0x01;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)name, strlen(name));
	crypto_hash_sha256_update(&st, (const uint8_t *)"\n", 1);
	crypto_hash_sha256_update(&st, &t, 1);
	crypto_hash_sha256_update(&st, pk, 32);
	crypto_hash_sha256_final(&st, h);
	return (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
}

void
wkey_generate(struct wkey *k, const char *name)
{
	memset(k, 0, sizeof *k);
	snprintf(k->name, sizeof k->name, "%s", name);
	crypto_sign_keypair(k->pk, k->sk);
	k->secret = true;
	k->id = key_id(k->name, k->pk);
}

void
wkey_from_seed(struct wkey *k, const char *name, const uint8_t seed[32])
{
	memset(k, 0, sizeof *k);
	snprintf(k->name, sizeof k->name, "%s", name);
	crypto_sign_seed_keypair(k->pk, k->sk, seed);
	k->secret = true;
	k->id = key_id(k->name, k->pk);
}

static void
b64(struct buf *out, const uint8_t *bin, size_t n)
{
	char tmp[256];

	sodium_bin2base64(tmp, sizeof tmp, bin, n, sodium_base64_VARIANT_ORIGINAL);
	buf_adds(out, tmp);
}

void
wkey_vkey(const struct wkey *k, struct buf *out)
{
	uint8_t raw[33];

	raw[0] = 0x01;
	memcpy(raw + 1, k->pk, 32);
	buf_addf(out, "%s+%08x+", k->name, k->id);
	b64(out, raw, sizeof raw);
}

enum status
wkey_from_vkey(const char *vkey, struct wkey *k, struct err *e)
{
	const char *p1 = strchr(vkey, '+'), *p2 = p1 ? strchr(p1 + 1, '+') : NULL;
	uint8_t raw[64];
	size_t n = 0;
	unsigned long id;
	char *end;

	memset(k, 0, sizeof *k);
	if (!p1 || !p2 || p1 == vkey || (size_t)(p1 - vkey) >= sizeof k->name)
		return err_set(e, ST_BAD_VALUE, "malformed verifier key (want NAME+ID+KEY)");
	snprintf(k->name, sizeof k->name, "%.*s", (int)(p1 - vkey), vkey);
	id = strtoul(p1 + 1, &end, 16);
	if (end != p2 || sodium_base642bin(raw, sizeof raw, p2 + 1, strlen(p2 + 1), NULL, &n, NULL,
					  sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    n != 33 || raw[0] != 0x01)
		return err_set(e, ST_BAD_VALUE, "malformed verifier key '%s'", vkey);
	memcpy(k->pk, raw + 1, 32);
	k->id = key_id(k->name, k->pk);
	if (k->id != id)
		return err_set(e, ST_BAD_VALUE, "verifier key '%s': the key id does not match", k->name);
	return ST_OK;
}

enum status
wkey_load(const char *path, struct wkey *k, struct err *e)
{
	struct stat sb;
	char *text = NULL, *sp;
	size_t n = 0;
	enum status st;

	memset(k, 0, sizeof *k);
	if (stat(path, &sb) == 0 && (sb.st_mode & 077))
		return err_set(e, ST_PERMISSION, "key file '%s' has mode %03o; it must be 0600",
			       path, (unsigned)(sb.st_mode & 0777));
	if ((st = read_file(path, &text, NULL, e)) != ST_OK)
		return st;
	text[strcspn(text, "\r\n")] = '\0';
	sp = strchr(text, ' ');
	if (sp == NULL || (size_t)(sp - text) >= sizeof k->name ||
	    sodium_base642bin(k->sk, sizeof k->sk, sp + 1, strlen(sp + 1), NULL, &n, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 || n != 64) {
		free(text);
		return err_set(e, ST_BAD_VALUE, "key file '%s' is malformed", path);
	}
	snprintf(k->name, sizeof k->name, "%.*s", (int)(sp - text), text);
	crypto_sign_ed25519_sk_to_pk(k->pk, k->sk);
	k->secret = true;
	k->id = key_id(k->name, k->pk);
	sodium_memzero(text, strlen(text));
	free(text);
	return ST_OK;
}

enum status
wkey_save(const char *path, const struct wkey *k, struct err *e)
{
	struct buf b = BUF_INIT;
	enum status st;

	buf_addf(&b, "%s ", k->name);
	b64(&b, k->sk, sizeof k->sk);
	buf_addc(&b, '\n');
	st = write_file_atomic(path, b.s, b.len, 0600, e);
	sodium_memzero(b.s, b.len);
	buf_release(&b);
	return st;
}

/* --- checkpoints (C2SP signed notes) ------------------------------------ */

static const char em_dash[] = "\xe2\x80\x94";

static void
checkpoint_body(const struct wcheckpoint *cp, struct buf *out)
{
	buf_addf(out, "%s\n%llu\n", cp->origin, (unsigned long long)cp->size);
	b64(out, cp->root, MERKLE_HASH);
	buf_addc(out, '\n');
}

void
wnote_sign(const struct wkey *k, const char *text, struct buf *note)
{
	uint8_t sig[4 + crypto_sign_BYTES];

	sig[0] = (uint8_t)(k->id >> 24);
	sig[1] = (uint8_t)(k->id >> 16);
	sig[2] = (uint8_t)(k->id >> 8);
	sig[3] = (uint8_t)k->id;
	crypto_sign_detached(sig + 4, NULL, (const uint8_t *)text, strlen(text), k->sk);
	buf_adds(note, text);
	buf_addf(note, "\n%s %s ", em_dash, k->name);
	b64(note, sig, sizeof sig);
	buf_addc(note, '\n');
}

void
wcheckpoint_sign(const struct wkey *k, const struct wcheckpoint *cp, struct buf *note)
{
	struct buf body = BUF_INIT;

	checkpoint_body(cp, &body);
	wnote_sign(k, body.s, note);
	buf_release(&body);
}

/* Parse the body "<origin>\n<size>\n<root>\n". */
static bool
parse_body(const char *body, size_t len, struct wcheckpoint *cp)
{
	char *copy = xstrndup(body, len), *l1, *l2, *l3, *save = NULL, *end;
	size_t n = 0;
	uint64_t size;
	bool ok;

	l1 = strtok_r(copy, "\n", &save);
	l2 = strtok_r(NULL, "\n", &save);
	l3 = strtok_r(NULL, "\n", &save);
	ok = l1 && l2 && l3 && strlen(l1) < sizeof cp->origin;
	if (ok) {
		snprintf(cp->origin, sizeof cp->origin, "%s", l1);
		errno = 0;
		size = strtoull(l2, &end, 10);
		ok = errno == 0 && *end == '\0' && *l2 >= '0' && *l2 <= '9' &&
		     sodium_base642bin(cp->root, MERKLE_HASH, l3, strlen(l3), NULL, &n, NULL,
				       sodium_base64_VARIANT_ORIGINAL) == 0 && n == MERKLE_HASH;
		if (ok)
			cp->size = size;	/* never a half-parsed size */
	}
	free(copy);
	return ok;
}

/*
 * One signature line, "— <name> <base64(id || sig)>" (without its newline):
 * does it verify the text by k? Reads the line once, no further.
 */
static bool
sig_line_ok(const char *line, size_t len, const struct wkey *k, const char *note,
	    size_t body_len)
{
	uint8_t sig[4 + crypto_sign_BYTES + 8];
	const char *name = line + 4, *sp, *b64s;
	size_t namelen = strlen(k->name), n = 0;
	uint32_t id;

	if (len < 4 || memcmp(line, em_dash, 3) != 0 || line[3] != ' ')
		return false;
	sp = memchr(name, ' ', len - 4);
	if (sp == NULL || (size_t)(sp - name) != namelen || memcmp(name, k->name, namelen) != 0)
		return false;
	b64s = sp + 1;
	if (sodium_base642bin(sig, sizeof sig, b64s, (size_t)(line + len - b64s), NULL, &n, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 || n != 4 + crypto_sign_BYTES)
		return false;
	id = (uint32_t)sig[0] << 24 | (uint32_t)sig[1] << 16 | (uint32_t)sig[2] << 8 | sig[3];
	return id == k->id &&
	       crypto_sign_verify_detached(sig + 4, (const uint8_t *)note, body_len, k->pk) == 0;
}

/*
 * Linear in the note's length: the blank line is found once, then each
 * signature line is looked at once (no scan of the rest of the note per
 * line). Notes over WNOTE_MAX bytes or with over WNOTE_SIGS_MAX signature
 * lines are refused before any signature is checked.
 */
enum status
wnote_open(const char *note, const struct wkey *k, size_t *text_len, struct err *e)
{
	size_t total = strnlen(note, WNOTE_MAX + 1), body_len, nsig = 0, len;
	const char *sep, *line, *end = note + total, *nl;

	if (total > WNOTE_MAX)
		return err_set(e, ST_BAD_VALUE, "signed note is over %d bytes", WNOTE_MAX);
	if ((sep = strstr(note, "\n\n")) == NULL)
		return err_set(e, ST_BAD_VALUE, "not a signed note (no blank line)");
	body_len = (size_t)(sep - note) + 1;
	for (line = sep + 2; line < end; line = nl + 1) {
		if ((nl = memchr(line, '\n', (size_t)(end - line))) == NULL)
			nl = end;
		if (++nsig > WNOTE_SIGS_MAX)
			return err_set(e, ST_BAD_VALUE, "signed note has over %d signature lines",
				       WNOTE_SIGS_MAX);
	}
	if (text_len)
		*text_len = body_len;
	if (k == NULL)
		return ST_OK;
	for (line = sep + 2; line < end; line = nl + 1) {
		if ((nl = memchr(line, '\n', (size_t)(end - line))) == NULL)
			nl = end;
		len = (size_t)(nl - line);
		if (sig_line_ok(line, len, k, note, body_len))
			return ST_OK;
	}
	return err_set(e, ST_WITNESS, "no valid signature by '%s'", k->name);
}

enum status
wcheckpoint_open(const char *note, const struct wkey *k, struct wcheckpoint *cp, struct err *e)
{
	size_t body_len = 0;
	enum status st;

	memset(cp, 0, sizeof *cp);
	if ((st = wnote_open(note, NULL, &body_len, e)) != ST_OK) {
		err_prefix(e, "checkpoint is malformed");
		return st;
	}
	if (!parse_body(note, body_len, cp))
		return err_set(e, ST_BAD_VALUE, "checkpoint is malformed: its body is not "
			       "<origin>, <size>, <base64 root hash>");
	if (k && (st = wnote_open(note, k, NULL, e)) != ST_OK)
		return err_set(e, ST_WITNESS, "checkpoint at size %llu has no valid signature by "
			       "'%s'", (unsigned long long)cp->size, k->name);
	return ST_OK;
}

/* --- verification ------------------------------------------------------- */

const char *
wfault_name(enum wfault f)
{
	static const char *const names[] = {
		[WF_NONE] = "ok", [WF_MALFORMED] = "malformed", [WF_EDITED] = "edited",
		[WF_MISSING] = "missing", [WF_REORDERED] = "reordered", [WF_CHAIN] = "broken chain",
		[WF_ROOT] = "wrong root", [WF_SIGNATURE] = "bad signature",
		[WF_UNSIGNED] = "unsigned",
	};
	return names[f];
}

static bool
fault(struct wverifier *w, enum wfault f, uint64_t seq, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

void
wverifier_init(struct wverifier *w, const struct wkey *key)
{
	memset(w, 0, sizeof *w);
	w->key = key;
	merkle_init(&w->tree);
	memcpy(w->last_hash, witness_zero_hash, sizeof w->last_hash);
	w->next_seq = 1;
	merkle_root(&w->tree, 0, w->v.root);
}

void
wverifier_finish(struct wverifier *w)
{
	uint64_t n = w->tree.size;

	merkle_root(&w->tree, n, w->v.root);
	if (w->v.fault != WF_NONE || !w->trusted || w->key == NULL || w->v.covered >= n)
		return;
	if (w->allow_unsigned_tail)
		w->v.tail_allowed = true;
	else if (w->v.covered == 0)
		fault(w, WF_UNSIGNED, 1, "no checkpoint signed by '%s' covers any of the %llu "
		      "entries: they may not be what the key holder signed", w->key->name,
		      (unsigned long long)n);
	else
		fault(w, WF_UNSIGNED, w->v.covered + 1, "entries %llu..%llu come after the last "
		      "checkpoint signed by '%s' (at %llu): nothing proves the key holder wrote "
		      "them", (unsigned long long)w->v.covered + 1, (unsigned long long)n,
		      w->key->name, (unsigned long long)w->v.covered);
}

void
wverifier_release(struct wverifier *w)
{
	merkle_release(&w->tree);
}

/* Record the first fault; returns false so callers can 'return fault(...)'. */
static bool
fault(struct wverifier *w, enum wfault f, uint64_t seq, const char *fmt, ...)
{
	va_list ap;

	w->v.fault = f;
	w->v.seq = seq;
	va_start(ap, fmt);
	vsnprintf(w->v.detail, sizeof w->v.detail, fmt, ap);
	va_end(ap);
	return false;
}

bool
wverifier_entry(struct wverifier *w, const struct wentry *e)
{
	if (w->v.fault == WF_MISSING && e->seq == w->v.seq) {
		/* The "missing" entry turns up later: the ledger was reordered. */
		fault(w, WF_REORDERED, e->seq, "entry %llu appears after later entries",
		      (unsigned long long)e->seq);
		return false;
	}
	if (w->v.fault != WF_NONE)
		return false;
	if (e->seq > w->next_seq)
		return fault(w, WF_MISSING, w->next_seq, "entry %llu is missing (the next entry "
			     "is %llu)", (unsigned long long)w->next_seq, (unsigned long long)e->seq);
	if (e->seq < w->next_seq)
		return fault(w, WF_REORDERED, e->seq, "entry %llu comes after entry %llu",
			     (unsigned long long)e->seq, (unsigned long long)w->next_seq - 1);
	if (!wentry_hash_ok(e))
		return fault(w, WF_EDITED, e->seq, "entry %llu was edited: its fields do not hash "
			     "to %.16s...", (unsigned long long)e->seq, e->hash);
	if (strcmp(e->prev, w->last_hash) != 0)
		return fault(w, WF_CHAIN, e->seq, "entry %llu names %.16s... as previous, but the "
			     "previous entry is %.16s...", (unsigned long long)e->seq, e->prev,
			     w->last_hash);
	witness_tree_add(&w->tree, e);
	memcpy(w->last_hash, e->hash, sizeof w->last_hash);
	w->next_seq++;
	w->v.entries++;
	return true;
}

bool
wverifier_checkpoint(struct wverifier *w, const char *note)
{
	struct wcheckpoint cp;
	struct err e = ERR_INIT;
	merkle_hash root;

	enum status st;

	if (w->v.fault != WF_NONE)
		return false;
	if ((st = wcheckpoint_open(note, w->key, &cp, &e)) == ST_WITNESS)
		return fault(w, WF_SIGNATURE, cp.size, "%s", e.msg);
	if (st != ST_OK)	/* no size to name: where it stands, after entry 'size' */
		return fault(w, WF_MALFORMED, w->tree.size, "the checkpoint after entry %llu: %s",
			     (unsigned long long)w->tree.size, e.msg);
	if (cp.size > w->tree.size)
		return fault(w, WF_MISSING, w->tree.size + 1, "checkpoint covers %llu entries, only "
			     "%llu precede it", (unsigned long long)cp.size,
			     (unsigned long long)w->tree.size);
	merkle_root(&w->tree, cp.size, root);
	if (sodium_memcmp(root, cp.root, MERKLE_HASH) != 0)
		return fault(w, WF_ROOT, cp.size, "checkpoint at size %llu signs a root that is not "
			     "the tree's", (unsigned long long)cp.size);
	w->v.checkpoints++;
	if (w->key && cp.size > w->v.covered) {	/* signed by the key: covers 1..size */
		if (w->v.signed_first == 0)
			w->v.signed_first = cp.size;
		w->v.covered = cp.size;
	}
	return true;
}

bool
wverifier_foreign(struct wverifier *w, uint64_t seq, const char *reason)
{
	if (w->v.fault != WF_NONE)
		return false;
	return fault(w, WF_MALFORMED, seq, "stream message %llu is not a witness entry (%s)",
		     (unsigned long long)seq, reason);
}
