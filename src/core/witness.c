/* The witness ledger's entries, checkpoints and verification: see witness.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
	e->v = WITNESS_V;
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

/*
 * The canonical form: the members in the order RFC 8785 sorts them (all
 * names are ASCII), so no general sort is needed. Entries of version 1
 * keep the escaping they were hashed with.
 */
void
wentry_canonical(const struct wentry *e, bool with_hash, struct buf *out)
{
	void (*esc)(struct buf *, const char *) = e->v == 1 ? json_escape_v1 : json_escape;
	const char *const str[] = { e->actor, e->component, e->event, e->prev, e->swarm,
				    e->task, e->trace, e->hash };
	enum { ACTOR, COMPONENT, EVENT, PREV, SWARM, TASK, TRACE, HASH };

#define STR(name, i) do { json_key(out, name); if (str[i]) esc(out, str[i]); \
			  else buf_adds(out, "null"); } while (0)
	buf_addc(out, '{');
	STR("actor", ACTOR);
	STR("component", COMPONENT);
	json_kv_int(out, "cost_micros", e->cost_micros);
	STR("event", EVENT);
	if (with_hash)
		STR("hash", HASH);
	json_kv_raw(out, "payload", e->payload);
	STR("prev", PREV);
	json_kv_int(out, "seq", (long long)e->seq);
	STR("swarm", SWARM);
	STR("task", TASK);
	json_kv_int(out, "time", e->time);
	json_kv_int(out, "tokens", e->tokens);
	STR("trace", TRACE);
	json_kv_int(out, "v", e->v);
	buf_addc(out, '}');
#undef STR
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

/* "prev" and "hash": 64 lowercase hexadecimal digits. */
static enum status
read_hex(const struct json_value *v, void *dst, struct err *e)
{
	if (v->type != JSON_STRING || v->len != WITNESS_HEX - 1 ||
	    strspn(v->str, "0123456789abcdef") != WITNESS_HEX - 1)
		return err_set(e, ST_BAD_JSON, "witness entry: 'prev' and 'hash' must be 64 "
			       "lowercase hexadecimal digits");
	memcpy(dst, v->str, WITNESS_HEX);
	return ST_OK;
}

/* The payload, in the canonical form of the entry's version (read after "v"). */
static enum status
read_payload(const struct json_value *v, void *dst, struct err *e)
{
	struct wentry *w = (struct wentry *)(void *)((char *)dst - offsetof(struct wentry, payload));
	struct buf b = BUF_INIT;

	(void)e;
	if (v->type == JSON_NULL)
		return ST_OK;
	if (w->v == 1)
		json_canonical_v1(v, &b);
	else
		json_canonical_value(v, &b);
	w->payload = buf_detach(&b);
	return ST_OK;
}

/* An export line's "type": "entry". */
static enum status
read_line_type(const struct json_value *v, void *dst, struct err *e)
{
	(void)dst;
	if (v->type != JSON_STRING || strcmp(v->str, "entry") != 0)
		return err_set(e, ST_BAD_JSON, "witness entry: 'type' must be \"entry\"");
	return ST_OK;
}

#define WE(name, type, flags, field, min, max) \
	{ name, type, flags, offsetof(struct wentry, field), min, max, NULL }
#define WE_STR(name, field, flags) WE(name, JF_STR, flags, field, 0, 0)

/* Every member of an entry; an entry with any other member is malformed. */
static const struct json_field wentry_fields[] = {
	WE("v", JF_INT, JF_REQUIRED, v, 1, WITNESS_V),
	WE("seq", JF_I64, JF_REQUIRED, seq, 1, JSON_INT_MAX),
	WE("time", JF_I64, JF_REQUIRED, time, 0, JSON_INT_MAX),
	WE_STR("component", component, JF_REQUIRED | JF_NULLABLE),
	WE_STR("event", event, JF_REQUIRED | JF_NULLABLE),
	WE_STR("actor", actor, JF_REQUIRED | JF_NULLABLE),
	WE_STR("trace", trace, JF_REQUIRED | JF_NULLABLE),
	WE_STR("swarm", swarm, JF_REQUIRED | JF_NULLABLE),
	WE_STR("task", task, JF_REQUIRED | JF_NULLABLE),
	WE("cost_micros", JF_I64, JF_REQUIRED, cost_micros, -JSON_INT_MAX, JSON_INT_MAX),
	WE("tokens", JF_I64, JF_REQUIRED, tokens, 0, JSON_INT_MAX),
	{ "payload", JF_CUSTOM, JF_REQUIRED | JF_NULLABLE, offsetof(struct wentry, payload), 0, 0,
	  read_payload },
	{ "prev", JF_CUSTOM, JF_REQUIRED, offsetof(struct wentry, prev), 0, 0, read_hex },
	{ "hash", JF_CUSTOM, JF_REQUIRED, offsetof(struct wentry, hash), 0, 0, read_hex },
	/* Last: an export line's "type", which only wentry_parse_line accepts. */
	{ "type", JF_CUSTOM, JF_REQUIRED, 0, 0, 0, read_line_type },
};

static enum status
parse_entry(const char *json, size_t len, size_t nfields, struct wentry *e, struct err *err)
{
	struct json_doc doc = JSON_DOC_INIT;
	enum status st;

	wentry_init(e);
	e->v = 0;
	if ((st = json_parse(json, len, "witness entry", &doc, err)) == ST_OK)
		st = json_read_fields(doc.root, wentry_fields, nfields, JF_STRICT, e,
				      "witness entry", err);
	json_doc_release(&doc);
	if (st != ST_OK)
		wentry_release(e);
	return st;
}

enum status
wentry_parse(const char *json, size_t len, struct wentry *e, struct err *err)
{
	return parse_entry(json, len, ARRAY_SIZE(wentry_fields) - 1, e, err);
}

enum status
wentry_parse_line(const char *json, size_t len, struct wentry *e, struct err *err)
{
	return parse_entry(json, len, ARRAY_SIZE(wentry_fields), e, err);
}

enum status
wentry_check(const struct wentry *e, struct err *err)
{
	const char *const names[] = { "component", "event", "actor", "trace", "swarm", "task" };
	const char *const str[] = { e->component, e->event, e->actor, e->trace, e->swarm,
				    e->task };
	struct buf b = BUF_INIT;
	struct wentry w, back;
	enum status st;
	size_t at = 0;
	const char *bad = json_utf8_first_bad(names, str, ARRAY_SIZE(names), &at);

	if (bad)
		return err_set(err, ST_BAD_VALUE, "witness entry: %s is not valid UTF-8 (byte %zu)",
			       bad, at + 1);
	if (e->payload && (st = json_check(e->payload, "witness entry: payload", err)) != ST_OK)
		return st;
	/*
	 * Not appended yet: any place in the chain and any well-formed hash will
	 * do (the append seals it); no SHA-256 is spent here on the hot path.
	 */
	wentry_copy(&w, e);
	if (w.seq == 0)
		w.seq = 1;
	memcpy(w.hash, witness_zero_hash, sizeof w.hash);
	wentry_canonical(&w, true, &b);
	st = wentry_parse(b.s, b.len, &back, err);
	if (st == ST_OK && (back.seq != w.seq || back.time != e->time ||
			    back.cost_micros != e->cost_micros || back.tokens != e->tokens))
		st = err_set(err, ST_BAD_VALUE, "witness entry: it does not read back as written");
	wentry_release(&back);
	wentry_release(&w);
	buf_release(&b);
	return st;
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
	if ((st = read_file(path, READ_MAX_KEY, READ_TEXT, &text, NULL, e)) != ST_OK)
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
