/*
 * Scoped credentials: a random 256-bit token given to a swarm (and a task)
 * for a while, allowing a list of endpoints and nothing else.
 *
 * The token ("ifc1_" and 64 hex digits from the CSPRNG) is shown once, by
 * the issue (or rotate) that makes it. IF_CREDS keeps, under the
 * credential's id ("cred-" and the first 16 hex digits of the token's
 * SHA-256), only the whole SHA-256 and the scope: swarm, task, allow-list,
 * created, expires, revoked. A check hashes the token it is given, reads
 * the record its id names and compares the hashes in constant time.
 *
 * Allow-list patterns: SCHEME://HOST[:PORT][PATH], where SCHEME is http,
 * https or *, HOST a name or address in which '*' stands for any run of
 * characters ("*.example.com", "*"), PORT a number or '*' (default: the
 * scheme's, 80 or 443; any with scheme *), PATH a prefix beginning with
 * '/' in which '*' stands for any run of characters. A path prefix ends at
 * a segment boundary: "/v1" allows "/v1", "/v1/x" and "/v1?q", not
 * "/v1admin"; "/v1*" allows that too. No pattern: everything under '/'.
 * An EMPTY allow-list allows nothing.
 *
 * Every outcome (issue, check allowed or denied and why, revoke, rotate)
 * is witnessed as cred.<verb> and published on if.v1.evt.cred.<verb>;
 * the token never is, nor an endpoint's query string.
 *
 * Threads: the pure functions anywhere; the bus ones as the bus allows.
 */
#ifndef IF_CRED_H
#define IF_CRED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/bus.h"
#include "core/opctx.h"
#include "core/rows.h"

#define CRED_BUCKET "IF_CREDS"
#define CRED_TOKEN_PREFIX "ifc1_"
#define CRED_TOKEN_LEN 69		/* prefix + 64 hex digits */
#define CRED_ALLOW_MAX 64		/* patterns per credential */
#define CRED_PATTERN_MAX 512		/* bytes per pattern or endpoint */
#define CRED_TTL_MAX_MS (30LL * 86400000)	/* 30 days */

/* One parsed pattern or endpoint. */
struct cred_url {
	char scheme[8];		/* "http", "https", "*" */
	char host[256];		/* lowercase; may hold '*' in a pattern */
	int port;		/* 1..65535; 0: '*' (pattern only) */
	char path[CRED_PATTERN_MAX];	/* begins with '/'; a pattern's may hold '*' */
};

/* Parse an allow-list pattern; ST_BAD_VALUE saying what is wrong. */
enum status cred_pattern_parse(const char *s, struct cred_url *out, struct err *e);
/* Parse an endpoint (a URL without '*'; its query is ignored); ST_BAD_VALUE. */
enum status cred_endpoint_parse(const char *s, struct cred_url *out, struct err *e);
/* Does the pattern allow the endpoint? */
bool cred_pattern_match(const struct cred_url *pat, const struct cred_url *ep);

/* A TTL: a positive whole number and s, m, h or d ("5m"), 1 s to 30 days. */
enum status cred_ttl_parse(const char *s, int64_t *ms, struct err *e);

struct cred {
	char *id;		/* "cred-" + 16 hex */
	char *hash;		/* SHA-256 of the token, 64 hex */
	char *swarm;
	char *task;		/* or NULL */
	char **allow;		/* patterns */
	size_t nallow;
	int64_t created, expires;	/* ms since the epoch */
	int64_t revoked;	/* ms, or 0 */
	char *revoked_by;	/* actor, or NULL */
	char *rotated_to;	/* id of its successor, or NULL */
	char *by;		/* who issued it */
	uint64_t rev;		/* KV revision read */
};

void cred_init(struct cred *c);
void cred_release(struct cred *c);

/* Record <-> JSON ("v": 1, RFC 8785). Parsing treats the text as hostile. */
void cred_to_json(const struct cred *c, struct buf *out);
enum status cred_from_json(const char *text, size_t len, struct cred *c, struct err *e);

/* Wipe a token and free it (NULL: nothing). */
void cred_token_free(char *token);

/* The id and hash of a token; false when it is not a well-formed token. */
bool cred_token_hash(const char *token, char id[22], char hash[65]);

enum cred_verdict {
	CRED_ALLOW, CRED_UNKNOWN, CRED_REVOKED, CRED_EXPIRED, CRED_NOT_ALLOWED, CRED__VERDICTS
};
/* "allow", "unknown", "revoked", "expired", "not-allowed"; static. */
const char *cred_verdict_name(enum cred_verdict v);

/*
 * Decide for a record (NULL: none) and a token's hash at time now: the
 * verdict and its reason ("expired 42 s ago", "endpoint not allowed: the
 * allow-list is empty"), written to reason (n bytes).
 */
enum cred_verdict cred_decide(const struct cred *c, const char *hash, const struct cred_url *ep,
			      int64_t now, char *reason, size_t n);

/* What issue makes. */
struct cred_spec {
	const char *swarm;
	const char *task;		/* or NULL */
	int64_t ttl_ms;
	char *const *allow;
	size_t nallow;
};

/*
 * Issue a credential: *token (the caller's, shown once; NULL under
 * falsify) and the record in out.
 */
enum status cred_issue(struct bus *b, struct opctx *op, const struct cred_spec *s,
		       char **token, struct cred *out, struct err *e);

/*
 * Check token against endpoint: ST_OK with *v and reason filled whatever
 * the verdict (ST_BAD_VALUE only for an endpoint that does not parse).
 * out (may be NULL) gets the record when there is one. Witnessed.
 */
enum status cred_check(struct bus *b, struct opctx *op, const char *token, const char *endpoint,
		       enum cred_verdict *v, char *reason, size_t n, struct cred *out,
		       struct err *e);

/* Revoke by id (ST_NOT_FOUND; revoking twice is ST_CONFLICT). */
enum status cred_revoke(struct bus *b, struct opctx *op, const char *id, struct cred *out,
			struct err *e);

/*
 * Rotate: a new token of the same scope (ttl_ms 0: the old one's length)
 * and the old one revoked, naming its successor. *token is the caller's.
 */
enum status cred_rotate(struct bus *b, struct opctx *op, const char *id, int64_t ttl_ms,
			char **token, struct cred *out, struct err *e);

/* Read one by id (ST_NOT_FOUND; ST_INVALID_RECORD for a record that does not parse). */
enum status cred_get(struct bus *b, const char *id, struct cred *out, struct err *e);

/* Every credential (invalid records counted in *bad); free with cred_list_free. */
enum status cred_list(struct bus *b, struct cred **out, size_t *n, size_t *bad, struct err *e);
void cred_list_free(struct cred *v, size_t n);

/* "active", "revoked" or "expired" at now. */
const char *cred_state(const struct cred *c, int64_t now);

/* Views: credential rows (list, issue, revoke) and a check's answer. */
struct rowset *cred_view_list(void);
void cred_view_add(struct rowset *rs, const struct cred *c, int64_t now);
struct rowset *cred_view_check(const char *endpoint, enum cred_verdict v, const char *reason,
			       const struct cred *c);

#endif
