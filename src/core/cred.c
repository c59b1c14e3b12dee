/* Scoped credentials: see cred.h. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/cred.h"
#include "core/json.h"
#include "core/ledger.h"
#include "core/task.h"
#include "core/util.h"

static const char *const verdict_names[] = {
	[CRED_ALLOW] = "allow", [CRED_UNKNOWN] = "unknown", [CRED_REVOKED] = "revoked",
	[CRED_EXPIRED] = "expired", [CRED_NOT_ALLOWED] = "not-allowed",
};
_Static_assert(ARRAY_SIZE(verdict_names) == CRED__VERDICTS, "one name per verdict");

const char *
cred_verdict_name(enum cred_verdict v)
{
	return (unsigned)v < CRED__VERDICTS ? verdict_names[v] : "?";
}

/* --- patterns and endpoints --------------------------------------------- */

/* Schemes and their default ports. */
static const struct { const char *name; int port; } schemes[] = {
	{ "http", 80 }, { "https", 443 }, { "*", 0 },
};

/* May c appear in a host (a name, an IPv4 address; '*' in a pattern)? */
static bool
host_char(int c, bool pattern)
{
	return isalnum(c) || c == '-' || c == '.' || c == '_' || (pattern && c == '*');
}

/* May c appear in a path (RFC 3986 pchar, '/', '%'; '*' is a pchar too)? */
static bool
path_char(int c)
{
	return isalnum(c) || strchr("-._~!$&'()*+,;=:@/%", c) != NULL;
}

/* Parse s as a pattern (pattern true) or an endpoint. */
static enum status
url_parse(const char *s, bool pattern, struct cred_url *out, struct err *e)
{
	const char *what = pattern ? "pattern" : "endpoint", *p, *h, *end;
	size_t i, n;
	long port;
	char *stop;

	memset(out, 0, sizeof *out);
	if (strlen(s) >= CRED_PATTERN_MAX)
		return err_set(e, ST_BAD_VALUE, "%s is longer than %d bytes", what, CRED_PATTERN_MAX - 1);
	if ((p = strstr(s, "://")) == NULL)
		return err_set(e, ST_BAD_VALUE, "%s '%s' has no scheme: write http://HOST, "
			       "https://HOST or *://HOST", what, s);
	for (i = 0; i < ARRAY_SIZE(schemes); i++)
		if ((size_t)(p - s) == strlen(schemes[i].name) &&
		    strncmp(s, schemes[i].name, (size_t)(p - s)) == 0 && (pattern || i < 2))
			break;
	if (i == ARRAY_SIZE(schemes))
		return err_set(e, ST_BAD_VALUE, "%s '%s': scheme must be http or https%s", what, s,
			       pattern ? " (or *)" : "");
	snprintf(out->scheme, sizeof out->scheme, "%s", schemes[i].name);
	out->port = schemes[i].port;
	h = p + 3;
	n = strcspn(h, ":/?#");
	if (n == 0 || n >= sizeof out->host)
		return err_set(e, ST_BAD_VALUE, "%s '%s' has no host (or one too long)", what, s);
	for (i = 0; i < n; i++) {
		if (!host_char((unsigned char)h[i], pattern))
			return err_set(e, ST_BAD_VALUE, "%s '%s': the host may hold letters, digits, "
				       "'-', '.'%s only (no user info)", what, s, pattern ? " and '*'" : "");
		out->host[i] = (char)tolower((unsigned char)h[i]);
	}
	end = h + n;
	if (*end == ':') {
		if (pattern && end[1] == '*' && (end[2] == '\0' || end[2] == '/')) {
			out->port = 0;
			end += 2;
		} else {
			port = strtol(end + 1, &stop, 10);
			if (stop == end + 1 || port < 1 || port > 65535 || (*stop && *stop != '/' &&
									  *stop != '?'))
				return err_set(e, ST_BAD_VALUE, "%s '%s': the port must be 1-65535%s",
					       what, s, pattern ? " or *" : "");
			out->port = (int)port;
			end = stop;
		}
	}
	n = pattern ? strlen(end) : strcspn(end, "?#");
	if (pattern && strpbrk(end, "?#"))
		return err_set(e, ST_BAD_VALUE, "pattern '%s': no query or fragment in a pattern", s);
	for (i = 0; i < n; i++)
		if (!path_char((unsigned char)end[i]))
			return err_set(e, ST_BAD_VALUE, "%s '%s': the path holds a character that "
				       "is not allowed in a URL path", what, s);
	snprintf(out->path, sizeof out->path, "%s%.*s", n ? "" : "/", (int)n, end);
	if (out->path[0] != '/')
		return err_set(e, ST_BAD_VALUE, "%s '%s': the path must begin with '/'", what, s);
	return ST_OK;
}

enum status
cred_pattern_parse(const char *s, struct cred_url *out, struct err *e)
{
	return url_parse(s, true, out, e);
}

enum status
cred_endpoint_parse(const char *s, struct cred_url *out, struct err *e)
{
	enum status st = url_parse(s, false, out, e);

	if (st == ST_OK && (strchr(out->host, '*') || strchr(out->path, '*')))
		return err_set(e, ST_BAD_VALUE, "endpoint '%s': '*' belongs in patterns, not endpoints", s);
	return st;
}

/* Glob: does p match the whole of s ('*' any run)? With prefix, a prefix of s at a boundary. */
static bool
glob(const char *p, const char *s, bool prefix)
{
	for (; *p; p++, s++) {
		if (*p == '*') {
			while (p[1] == '*')
				p++;
			if (p[1] == '\0')
				return true;
			for (; *s; s++)
				if (glob(p + 1, s, prefix))
					return true;
			return glob(p + 1, s, prefix);
		}
		if (*s != *p)
			return false;
	}
	if (!prefix)
		return *s == '\0';
	/* a path prefix ends at a segment boundary, or the pattern ended in '/' */
	return *s == '\0' || *s == '/' || *s == '?' || p[-1] == '/';
}

bool
cred_pattern_match(const struct cred_url *pat, const struct cred_url *ep)
{
	if (strcmp(pat->scheme, "*") != 0 && strcmp(pat->scheme, ep->scheme) != 0)
		return false;
	if (pat->port != 0 && pat->port != ep->port)
		return false;
	return glob(pat->host, ep->host, false) && glob(pat->path, ep->path, true);
}

enum status
cred_ttl_parse(const char *s, int64_t *ms, struct err *e)
{
	static const struct { char unit; int64_t ms; } units[] = {
		{ 's', 1000 }, { 'm', 60000 }, { 'h', 3600000 }, { 'd', 86400000 },
	};
	char *end;
	long long n;
	size_t i;

	n = s && isdigit((unsigned char)*s) ? strtoll(s, &end, 10) : -1;
	for (i = 0; n > 0 && i < ARRAY_SIZE(units); i++)
		if (end[0] == units[i].unit && end[1] == '\0' && n <= CRED_TTL_MAX_MS / units[i].ms) {
			*ms = n * units[i].ms;
			return ST_OK;
		}
	return err_set(e, ST_BAD_VALUE, "TTL '%s' is not a duration from 1s to 30d (a positive "
		       "whole number and one of s, m, h, d: 90s, 5m, 12h, 7d)", s ? s : "");
}

/* --- records ------------------------------------------------------------ */

void
cred_init(struct cred *c)
{
	memset(c, 0, sizeof *c);
}

void
cred_release(struct cred *c)
{
	free(c->id);
	free(c->hash);
	free(c->swarm);
	free(c->task);
	strv_free(c->allow, c->nallow);
	free(c->revoked_by);
	free(c->rotated_to);
	free(c->by);
	cred_init(c);
}

void
cred_to_json(const struct cred *c, struct buf *out)
{
	size_t i;

	buf_addc(out, '{');
	json_key(out, "allow");
	buf_addc(out, '[');
	for (i = 0; i < c->nallow; i++) {
		if (i)
			buf_addc(out, ',');
		json_escape(out, c->allow[i]);
	}
	buf_addc(out, ']');
	json_kv_str(out, "by", c->by);
	json_kv_int(out, "created", c->created);
	json_kv_int(out, "expires", c->expires);
	json_kv_str(out, "hash", c->hash);
	json_kv_str(out, "id", c->id);
	if (c->revoked)
		json_kv_int(out, "revoked", c->revoked);
	else
		json_kv_raw(out, "revoked", NULL);
	json_kv_str(out, "revoked_by", c->revoked_by);
	json_kv_str(out, "rotated_to", c->rotated_to);
	json_kv_str(out, "swarm", c->swarm);
	json_kv_str(out, "task", c->task);
	json_kv_int(out, "v", 1);
	buf_addc(out, '}');
}

/* The allow-list: an array of at most CRED_ALLOW_MAX patterns that parse. */
static enum status
read_allow(const struct json_value *v, void *dst, struct err *e)
{
	struct cred *c = (struct cred *)(void *)((char *)dst - offsetof(struct cred, allow));
	struct cred_url u;
	size_t i;

	if (v->type != JSON_ARRAY || v->len > CRED_ALLOW_MAX)
		return err_set(e, ST_BAD_JSON, "credential record: 'allow' must be an array of at "
			       "most %d patterns", CRED_ALLOW_MAX);
	c->allow = xcalloc(v->len + 1, sizeof *c->allow);
	for (i = 0; i < v->len; i++) {
		const struct json_value *p = &v->kids[i];
		if (p->type != JSON_STRING || strlen(p->str) != p->len ||
		    cred_pattern_parse(p->str, &u, NULL) != ST_OK)
			return err_set(e, ST_BAD_JSON, "credential record: allow-list entry %zu is "
				       "not a pattern", i + 1);
		c->allow[c->nallow++] = xstrdup(p->str);
	}
	return ST_OK;
}

#define CF(name, type, flags, field, min, max) \
	{ name, type, flags, offsetof(struct cred, field), min, max, NULL }
static const struct json_field cred_fields[] = {
	CF("id", JF_STR, JF_REQUIRED, id, 0, 0),
	CF("hash", JF_STR, JF_REQUIRED, hash, 0, 0),
	CF("swarm", JF_STR, JF_REQUIRED, swarm, 0, 0),
	CF("task", JF_STR, JF_NULLABLE, task, 0, 0),
	{ "allow", JF_CUSTOM, JF_REQUIRED, offsetof(struct cred, allow), 0, 0, read_allow },
	CF("created", JF_I64, JF_REQUIRED, created, 1, JSON_INT_MAX),
	CF("expires", JF_I64, JF_REQUIRED, expires, 1, JSON_INT_MAX),
	CF("revoked", JF_I64, JF_NULLABLE, revoked, 1, JSON_INT_MAX),
	CF("revoked_by", JF_STR, JF_NULLABLE, revoked_by, 0, 0),
	CF("rotated_to", JF_STR, JF_NULLABLE, rotated_to, 0, 0),
	CF("by", JF_STR, JF_NULLABLE, by, 0, 0),
};

/* Is s n lowercase hex digits? */
static bool
is_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return false;
	return s[n] == '\0';
}

enum status
cred_from_json(const char *text, size_t len, struct cred *c, struct err *e)
{
	struct json_doc doc = JSON_DOC_INIT;
	const struct json_value *v;
	enum status st;

	cred_init(c);
	if ((st = json_parse(text, len, "credential record", &doc, e)) != ST_OK)
		goto out;
	if (doc.root->type != JSON_OBJECT || (v = json_member(doc.root, "v")) == NULL ||
	    v->type != JSON_NUMBER || v->num != 1) {
		st = err_set(e, ST_BAD_JSON, "credential record: not an object with \"v\": 1");
		goto out;
	}
	st = json_read_fields(doc.root, cred_fields, ARRAY_SIZE(cred_fields), 0, c,
			      "credential record", e);
	if (st == ST_OK && (strlen(c->id) != 21 || !has_prefix(c->id, "cred-") || !is_hex(c->id + 5, 16)))
		st = err_set(e, ST_BAD_JSON, "credential record: 'id' is not cred- and 16 hex digits");
	if (st == ST_OK && (!is_hex(c->hash, 64) || strncmp(c->hash, c->id + 5, 16) != 0))
		st = err_set(e, ST_BAD_JSON, "credential record: 'hash' is not the SHA-256 its id names");
	if (st == ST_OK && !task_id_valid(c->swarm))
		st = err_set(e, ST_BAD_JSON, "credential record: 'swarm' is not a swarm id");
out:
	json_doc_release(&doc);
	if (st != ST_OK)
		cred_release(c);
	return st;
}

void
cred_token_free(char *token)
{
	if (token) {
		sodium_memzero(token, strlen(token));
		free(token);
	}
}

bool
cred_token_hash(const char *token, char id[22], char hash[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	if (token == NULL || strlen(token) != CRED_TOKEN_LEN || !has_prefix(token, CRED_TOKEN_PREFIX) ||
	    !is_hex(token + 5, 64))
		return false;
	crypto_hash_sha256(h, (const unsigned char *)token, CRED_TOKEN_LEN);
	hex_encode(hash, h, sizeof h);
	snprintf(id, 22, "cred-%.16s", hash);
	return true;
}

const char *
cred_state(const struct cred *c, int64_t now)
{
	return c->revoked ? "revoked" : now >= c->expires ? "expired" : "active";
}

enum cred_verdict
cred_decide(const struct cred *c, const char *hash, const struct cred_url *ep, int64_t now,
	    char *reason, size_t n)
{
	struct cred_url pat;
	size_t i;

	if (c == NULL || hash == NULL || sodium_memcmp(c->hash, hash, 64) != 0) {
		snprintf(reason, n, "unknown credential");
		return CRED_UNKNOWN;
	}
	if (c->revoked) {
		snprintf(reason, n, "revoked %lld s ago%s%s", (long long)((now - c->revoked) / 1000),
			 c->rotated_to ? ", rotated to " : "", c->rotated_to ? c->rotated_to : "");
		return CRED_REVOKED;
	}
	if (now >= c->expires) {
		snprintf(reason, n, "expired %lld s ago", (long long)((now - c->expires) / 1000));
		return CRED_EXPIRED;
	}
	for (i = 0; i < c->nallow; i++)
		if (cred_pattern_parse(c->allow[i], &pat, NULL) == ST_OK && cred_pattern_match(&pat, ep)) {
			snprintf(reason, n, "allowed by '%s'", c->allow[i]);
			return CRED_ALLOW;
		}
	snprintf(reason, n, "endpoint not allowed%s", c->nallow ? "" : ": the allow-list is empty");
	return CRED_NOT_ALLOWED;
}

/* --- events and witness ------------------------------------------------- */

/*
 * Record one outcome: the event on if.v1.evt.cred.<verb> and the witness
 * entry cred.<verb>. extra (JSON members without braces, or NULL) adds to
 * both. Never the token.
 */
static void
cred_record(struct bus *b, const struct opctx *op, const char *verb, const struct cred *c,
	    const char *extra)
{
	struct buf ev = BUF_INIT, what = BUF_INIT;
	struct witness_note n = { .component = "chassis", .swarm = c->swarm, .task = c->task };
	char subject[64], event[48];

	buf_addc(&what, '{');
	json_kv_str(&what, "id", c->id);
	json_kv_str(&what, "state", cred_state(c, wall_ms()));
	json_kv_int(&what, "expires", c->expires);
	if (extra)
		buf_addf(&what, ",%s", extra);
	buf_addc(&what, '}');
	buf_addf(&ev, "{\"v\":1,\"type\":\"cred\",\"verb\":\"%s\",\"trace\":", verb);
	json_escape(&ev, op->trace_id);
	json_kv_str(&ev, "swarm", c->swarm);
	json_kv_raw(&ev, "detail", what.s);
	buf_addc(&ev, '}');
	snprintf(subject, sizeof subject, "if.v1.evt.cred.%s", verb);
	if (!op->falsify)
		bus_publish(b, subject, ev.s, ev.len, NULL);
	snprintf(event, sizeof event, "cred.%s", verb);
	n.event = event;
	n.payload = what.s;
	ledger_witness(op, &n);
	buf_release(&what);
	buf_release(&ev);
}

/* --- store -------------------------------------------------------------- */

enum status
cred_get(struct bus *b, const char *id, struct cred *out, struct err *e)
{
	struct bus_kv_entry ent = BUS_KV_ENTRY_INIT;
	enum status st;

	cred_init(out);
	if (!has_prefix(id, "cred-") || strlen(id) != 21 || !is_hex(id + 5, 16))
		return err_set(e, ST_NOT_FOUND, "no credential '%s' (ids are cred- and 16 hex digits)", id);
	st = bus_kv_get(b, CRED_BUCKET, id, &ent, e);
	if (st == ST_OK && ent.op != BUS_KV_PUT)
		st = err_set(e, ST_NOT_FOUND, "no credential '%s'", id);
	if (st == ST_OK && cred_from_json(ent.value.s, ent.value.len, out, e) != ST_OK)
		st = err_set(e, ST_INVALID_RECORD, "credential '%s' in %s is not a valid record: %s",
			     id, CRED_BUCKET, e ? e->msg : "");
	if (st == ST_OK && strcmp(out->id, id) != 0) {
		cred_release(out);
		st = err_set(e, ST_INVALID_RECORD, "credential '%s' holds the record of another id", id);
	}
	if (st == ST_NOT_FOUND && e && !strstr(e->msg, "credential"))
		err_set(e, ST_NOT_FOUND, "no credential '%s'", id);
	out->rev = ent.revision;
	buf_release(&ent.value);
	return st;
}

/* Write c back over revision c->rev (or create it when 0). */
static enum status
cred_put(struct bus *b, struct cred *c, struct err *e)
{
	struct buf json = BUF_INIT;
	enum status st;

	cred_to_json(c, &json);
	if ((st = json_check(json.s, "credential record", e)) == ST_OK)
		st = c->rev ? bus_kv_update(b, CRED_BUCKET, c->id, json.s, json.len, c->rev, &c->rev, e)
			    : bus_kv_create(b, CRED_BUCKET, c->id, json.s, json.len, &c->rev, e);
	buf_release(&json);
	return st;
}

/* A fresh token, its id and hash. */
static char *
token_new(char id[22], char hash[65])
{
	unsigned char raw[32];
	char hex[65], *tok;

	randombytes_buf(raw, sizeof raw);
	hex_encode(hex, raw, sizeof raw);
	sodium_memzero(raw, sizeof raw);
	tok = xasprintf("%s%s", CRED_TOKEN_PREFIX, hex);
	sodium_memzero(hex, sizeof hex);
	cred_token_hash(tok, id, hash);
	return tok;
}

/* Check a spec: swarm, task, TTL, patterns. */
static enum status
spec_check(struct opctx *op, const struct cred_spec *s, struct err *e)
{
	struct err pe = ERR_INIT;
	struct cred_url u;
	enum status st = ST_OK;
	size_t i;

	if (!check(op, "swarm id is valid", s->swarm && task_id_valid(s->swarm) ? ST_OK : ST_BAD_VALUE,
		   NULL, s->swarm ? s->swarm : "no swarm"))
		return check_failure(op, e);
	if (s->task && !check(op, "task id is valid", task_id_valid(s->task) ? ST_OK : ST_BAD_VALUE,
			      NULL, s->task))
		return check_failure(op, e);
	if (!check(op, "ttl within 1s..30d", s->ttl_ms >= 1000 && s->ttl_ms <= CRED_TTL_MAX_MS ?
		   ST_OK : ST_BAD_VALUE, NULL, "ttl out of range"))
		return check_failure(op, e);
	if (!check(op, "allow-list size", s->nallow <= CRED_ALLOW_MAX ? ST_OK : ST_BAD_VALUE, NULL,
		   "too many patterns"))
		return check_failure(op, e);
	for (i = 0; i < s->nallow && st == ST_OK; i++) {
		st = cred_pattern_parse(s->allow[i], &u, &pe);
		if (!check(op, "allow-list pattern parses", st, &pe, s->allow[i]))
			return check_failure(op, e);
	}
	if (s->nallow == 0)
		why_add(op, "allow-list", "empty", "an empty allow-list allows nothing");
	return ST_OK;
}

/* Fill c as a new credential of spec s, made now by actor. */
static void
cred_fill(struct cred *c, const struct cred_spec *s, const char *id, const char *hash,
	  const char *actor)
{
	size_t i;

	cred_init(c);
	c->id = xstrdup(id);
	c->hash = xstrdup(hash);
	c->swarm = xstrdup(s->swarm);
	c->task = xstrdup_or_null(s->task);
	c->allow = xcalloc(s->nallow + 1, sizeof *c->allow);
	for (i = 0; i < s->nallow; i++)
		c->allow[c->nallow++] = xstrdup(s->allow[i]);
	c->created = wall_ms();
	c->expires = c->created + s->ttl_ms;
	c->by = xstrdup_or_null(actor);
}

/* The allow-list as JSON members for the witness: "allow":[...]. */
static void
allow_members(const struct cred *c, struct buf *out)
{
	size_t i;

	buf_adds(out, "\"allow\":[");
	for (i = 0; i < c->nallow; i++) {
		if (i)
			buf_addc(out, ',');
		json_escape(out, c->allow[i]);
	}
	buf_addc(out, ']');
}

enum status
cred_issue(struct bus *b, struct opctx *op, const struct cred_spec *s, char **token,
	   struct cred *out, struct err *e)
{
	struct buf extra = BUF_INIT;
	char id[22], hash[65];
	enum status st;

	*token = NULL;
	cred_init(out);
	if ((st = spec_check(op, s, e)) != ST_OK || op->falsify)
		return st;
	*token = token_new(id, hash);
	cred_fill(out, s, id, hash, op->actor);
	if ((st = cred_put(b, out, e)) != ST_OK) {
		cred_token_free(*token);
		*token = NULL;
		cred_release(out);
		return st;
	}
	allow_members(out, &extra);
	buf_addf(&extra, ",\"ttl_ms\":%lld", (long long)s->ttl_ms);
	cred_record(b, op, "issue", out, extra.s);
	buf_release(&extra);
	return ST_OK;
}

enum status
cred_check(struct bus *b, struct opctx *op, const char *token, const char *endpoint,
	   enum cred_verdict *v, char *reason, size_t n, struct cred *out, struct err *e)
{
	struct cred c, unknown = { 0 };
	struct cred_url ep;
	struct buf extra = BUF_INIT;
	char id[22] = "", hash[65] = "", *where;
	enum status st;

	cred_init(&c);
	if ((st = cred_endpoint_parse(endpoint, &ep, e)) != ST_OK)
		return st;
	if (cred_token_hash(token, id, hash)) {
		st = cred_get(b, id, &c, e);
		if (st != ST_OK && st != ST_NOT_FOUND && st != ST_INVALID_RECORD)
			return st;
	}
	*v = cred_decide(c.id ? &c : NULL, hash, &ep, wall_ms(), reason, n);
	where = xasprintf("%s://%s:%d%s", ep.scheme, ep.host, ep.port, ep.path);	/* no query */
	buf_adds(&extra, "\"endpoint\":");
	json_escape(&extra, where);
	free(where);
	buf_addf(&extra, ",\"verdict\":\"%s\",\"reason\":", cred_verdict_name(*v));
	json_escape(&extra, reason);
	unknown.id = id[0] ? id : (char *)"none";
	unknown.swarm = NULL;
	cred_record(b, op, "check", c.id ? &c : &unknown, extra.s);
	buf_release(&extra);
	if (out)
		*out = c;
	else
		cred_release(&c);
	return ST_OK;
}

/* Revoke c (read at c->rev) in the store, by op's actor, naming a successor. */
static enum status
revoke_one(struct bus *b, struct opctx *op, struct cred *c, const char *successor, struct err *e)
{
	char ev[64];

	if (!check(op, "credential is not revoked", c->revoked ? ST_CONFLICT : ST_OK, NULL, c->id))
		return err_set(e, ST_CONFLICT, "credential '%s' is already revoked", c->id);
	if (op->falsify)
		return ST_OK;
	c->revoked = wall_ms();
	c->revoked_by = xstrdup(op->actor ? op->actor : "unknown");
	c->rotated_to = xstrdup_or_null(successor);
	if (cred_put(b, c, e) != ST_OK)
		return e ? e->code : ST_FAIL;
	snprintf(ev, sizeof ev, "\"rotated_to\":%s%s%s", successor ? "\"" : "",
		 successor ? successor : "null", successor ? "\"" : "");
	cred_record(b, op, "revoke", c, ev);
	return ST_OK;
}

enum status
cred_revoke(struct bus *b, struct opctx *op, const char *id, struct cred *out, struct err *e)
{
	enum status st = cred_get(b, id, out, e);

	if (!check(op, "credential exists", st, e, id))
		return check_failure(op, e);
	if (st == ST_OK && (st = revoke_one(b, op, out, NULL, e)) != ST_OK)
		cred_release(out);
	return st;
}

enum status
cred_rotate(struct bus *b, struct opctx *op, const char *id, int64_t ttl_ms, char **token,
	    struct cred *out, struct err *e)
{
	struct cred old;
	struct cred_spec s;
	enum status st;

	*token = NULL;
	cred_init(out);
	st = cred_get(b, id, &old, e);
	if (!check(op, "credential exists", st, e, id))
		return check_failure(op, e);
	if (st != ST_OK)
		return st;
	s = (struct cred_spec){ old.swarm, old.task, ttl_ms ? ttl_ms : old.expires - old.created,
				old.allow, old.nallow };
	if ((st = cred_issue(b, op, &s, token, out, e)) == ST_OK &&
	    (st = revoke_one(b, op, &old, out->id, e)) != ST_OK && *token) {
		cred_token_free(*token);
		*token = NULL;
		cred_release(out);
	}
	cred_release(&old);
	return st;
}

void
cred_list_free(struct cred *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		cred_release(&v[i]);
	free(v);
}

enum status
cred_list(struct bus *b, struct cred **out, size_t *n, size_t *bad, struct err *e)
{
	char **keys = NULL;
	size_t nkeys = 0, i, cap = 0;
	struct cred c;
	enum status st;

	*out = NULL;
	*n = *bad = 0;
	if ((st = bus_kv_keys(b, CRED_BUCKET, &keys, &nkeys, e)) != ST_OK)
		return st;
	for (i = 0; i < nkeys && st == ST_OK; i++) {
		st = cred_get(b, keys[i], &c, e);
		if (st == ST_INVALID_RECORD || st == ST_NOT_FOUND) {
			(*bad) += st == ST_INVALID_RECORD;
			st = ST_OK;
			continue;
		}
		if (st != ST_OK)
			break;
		xgrow(out, &cap, *n + 1, sizeof **out);
		(*out)[(*n)++] = c;
	}
	strv_free(keys, nkeys);
	if (st != ST_OK) {
		cred_list_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return st;
}

/* --- views -------------------------------------------------------------- */

enum cred_col {
	CC_ID, CC_SWARM, CC_TASK, CC_STATE, CC_EXPIRES, CC_ALLOW, CC_CREATED, CC_REVOKED,
	CC_ROTATED_TO, CC_BY, CC__COUNT
};
static const struct view_col cred_cols[] = {
	[CC_ID] = { "id", COL_TEXT, 0 },
	[CC_SWARM] = { "swarm", COL_TEXT, 0 },
	[CC_TASK] = { "task", COL_TEXT, 0 },
	[CC_STATE] = { "state", COL_TEXT, 0 },
	[CC_EXPIRES] = { "expires", COL_TIME, 0 },
	[CC_ALLOW] = { "allow", COL_JSON, 0 },
	[CC_CREATED] = { "created", COL_TIME, COL_WIDE },
	[CC_REVOKED] = { "revoked", COL_TIME, COL_WIDE },
	[CC_ROTATED_TO] = { "rotated_to", COL_TEXT, COL_WIDE },
	[CC_BY] = { "by", COL_TEXT, COL_WIDE },
};
_Static_assert(ARRAY_SIZE(cred_cols) == CC__COUNT, "one column per cred_col");
static const struct view cred_view = VIEW("credentials", cred_cols);

enum check_col { KC_VERDICT, KC_REASON, KC_ENDPOINT, KC_ID, KC_SWARM, KC_TASK, KC__COUNT };
static const struct view_col check_cols[] = {
	[KC_VERDICT] = { "verdict", COL_TEXT, 0 },
	[KC_REASON] = { "reason", COL_TEXT, 0 },
	[KC_ENDPOINT] = { "endpoint", COL_TEXT, 0 },
	[KC_ID] = { "id", COL_TEXT, 0 },
	[KC_SWARM] = { "swarm", COL_TEXT, COL_WIDE },
	[KC_TASK] = { "task", COL_TEXT, COL_WIDE },
};
_Static_assert(ARRAY_SIZE(check_cols) == KC__COUNT, "one column per check_col");
static const struct view check_view = VIEW("check", check_cols);

struct rowset *
cred_view_list(void)
{
	return rows_view(&cred_view);
}

void
cred_view_add(struct rowset *rs, const struct cred *c, int64_t now)
{
	size_t r = rows_add(rs);

	rows_set(rs, r, CC_ID, c->id);
	rows_set(rs, r, CC_SWARM, c->swarm);
	rows_set(rs, r, CC_TASK, c->task);
	rows_set(rs, r, CC_STATE, cred_state(c, now));
	rows_set_time(rs, r, CC_EXPIRES, c->expires);
	rows_set_list(rs, r, CC_ALLOW, (const char *const *)c->allow, c->nallow);
	rows_set_time(rs, r, CC_CREATED, c->created);
	rows_set_time(rs, r, CC_REVOKED, c->revoked);
	rows_set(rs, r, CC_ROTATED_TO, c->rotated_to);
	rows_set(rs, r, CC_BY, c->by);
}

struct rowset *
cred_view_check(const char *endpoint, enum cred_verdict v, const char *reason,
		const struct cred *c)
{
	struct rowset *rs = rows_view(&check_view);
	size_t r = rows_add(rs);

	rs->single = true;
	rows_set(rs, r, KC_VERDICT, cred_verdict_name(v));
	rows_set(rs, r, KC_REASON, reason);
	rows_set(rs, r, KC_ENDPOINT, endpoint);
	rows_set(rs, r, KC_ID, c && c->id ? c->id : NULL);
	rows_set(rs, r, KC_SWARM, c ? c->swarm : NULL);
	rows_set(rs, r, KC_TASK, c ? c->task : NULL);
	return rs;
}
