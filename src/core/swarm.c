/* Swarms in IF_SWARMS: see swarm.h. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/ledger.h"
#include "core/swarm.h"
#include "core/util.h"

static const char *const breaker_names[] = {
	[BREAKER_CLOSED] = "closed", [BREAKER_OPEN] = "open", [BREAKER_HALF_OPEN] = "half-open",
};

const char *
breaker_name(enum breaker_state b)
{
	return breaker_names[b];
}

/* --- records ------------------------------------------------------------ */

void
swarm_profile_release(struct swarm_profile *p)
{
	free(p->id);
	strv_free(p->caps, p->ncaps);
	free(p->model);
	free(p->metadata);
	memset(p, 0, sizeof *p);
}

void
swarm_state_release(struct swarm_state *s)
{
	free(s->reason);
	memset(s, 0, sizeof *s);
}

void
swarm_release(struct swarm *s)
{
	swarm_profile_release(&s->p);
	swarm_state_release(&s->st);
	free(s->registered_by);
	memset(s, 0, sizeof *s);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

bool
swarm_has_cap(const struct swarm_profile *p, const char *cap)
{
	return p->ncaps && bsearch(&cap, p->caps, p->ncaps, sizeof *p->caps, cmp_str) != NULL;
}

bool
swarm_id_valid(const char *id)
{
	size_t n = strlen(id);

	return n > 0 && n <= SWARM_ID_MAX && strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

/* The profile schema, loaded once per process (read-only afterwards). */
static struct jschema *profile_schema;
static pthread_once_t profile_once = PTHREAD_ONCE_INIT;

static void
profile_schema_load(void)
{
	jschema_load("swarm-profile", &profile_schema, NULL);
}

/* The swarm-profile schema; NULL (and e) when the build lacks it. */
static const struct jschema *
schema(struct err *e)
{
	pthread_once(&profile_once, profile_schema_load);
	if (profile_schema == NULL)
		err_set(e, ST_FAIL, "the swarm-profile schema is not in this build");
	return profile_schema;
}

/* Take the members the schema has checked into out. */
static void
profile_take(const struct json_value *v, struct swarm_profile *out)
{
	const struct json_value *caps = json_member(v, "capabilities"), *m;
	struct buf meta = BUF_INIT;
	size_t i;

	out->id = xstrdup(json_member(v, "id")->str);
	out->caps = xcalloc(caps->len + 1, sizeof *out->caps);
	for (i = 0; i < caps->len; i++)
		out->caps[i] = xstrdup(caps->kids[i].str);
	out->ncaps = caps->len;
	qsort(out->caps, out->ncaps, sizeof *out->caps, cmp_str);
	out->cost_per_hour_micros = (int64_t)json_member(v, "cost_per_hour_micros")->num;
	out->reputation = json_member(v, "reputation")->num;
	out->model = xstrdup(json_member(v, "model")->str);
	out->max_concurrent = (int)json_member(v, "max_concurrent_tasks")->num;
	if ((m = json_member(v, "heartbeat_interval_ms")) != NULL)
		out->heartbeat_interval_ms = (int64_t)m->num;
	if ((m = json_member(v, "metadata")) != NULL) {
		json_canonical_value(m, &meta);
		out->metadata = buf_detach(&meta);
	}
}

enum status
swarm_profile_read(const struct json_value *v, const struct cap_registry *reg,
		   struct swarm_profile *out, struct jschema_result *res, struct err *e)
{
	struct jschema_result mine = JSCHEMA_RESULT_INIT, *r = res ? res : &mine;
	const struct jschema *s = schema(e);
	const struct json_value *caps;
	struct err ce = ERR_INIT;
	char ptr[48];
	size_t i, before = r->n + r->more;
	enum status st;

	memset(out, 0, sizeof *out);
	if (s == NULL)
		return ST_FAIL;
	jschema_validate(s, NULL, v, r);
	caps = v->type == JSON_OBJECT ? json_member(v, "capabilities") : NULL;
	for (i = 0; caps && caps->type == JSON_ARRAY && i < caps->len; i++) {
		if (caps->kids[i].type != JSON_STRING || capreg_check(reg, caps->kids[i].str, &ce) == ST_OK)
			continue;
		snprintf(ptr, sizeof ptr, "/capabilities/%zu", i);
		jschema_result_add(r, ptr, NULL, "%s", ce.msg);
	}
	if (r->n + r->more == before) {
		profile_take(v, out);
		st = ST_OK;
	} else {
		size_t more = r->n + r->more - before - 1;
		st = err_set(e, ST_BAD_VALUE, "%s", r->v[before < r->n ? before : 0].msg);
		if (more && e)
			err_set(e, ST_BAD_VALUE, "%s (and %zu more)", r->v[before < r->n ? before : 0].msg,
				more);
	}
	jschema_result_release(&mine);
	return st;
}

void
swarm_profile_json(const struct swarm_profile *p, struct buf *out)
{
	size_t i;

	buf_addc(out, '{');
	json_key(out, "capabilities");
	buf_addc(out, '[');
	for (i = 0; i < p->ncaps; i++) {
		buf_adds(out, i ? "," : "");
		json_escape(out, p->caps[i]);
	}
	buf_addc(out, ']');
	json_kv_int(out, "cost_per_hour_micros", p->cost_per_hour_micros);
	if (p->heartbeat_interval_ms > 0)
		json_kv_int(out, "heartbeat_interval_ms", p->heartbeat_interval_ms);
	json_kv_str(out, "id", p->id);
	json_kv_int(out, "max_concurrent_tasks", p->max_concurrent);
	if (p->metadata)
		json_kv_raw(out, "metadata", p->metadata);
	json_kv_str(out, "model", p->model);
	json_kv_num(out, "reputation", p->reputation);
	buf_addc(out, '}');
}

void
swarm_record_json(const struct swarm *s, struct buf *out)
{
	buf_addc(out, '{');
	if (s->last_seen > 0)
		json_kv_int(out, "last_seen", s->last_seen);
	else
		json_kv_raw(out, "last_seen", NULL);
	json_key(out, "profile");
	swarm_profile_json(&s->p, out);
	json_kv_int(out, "registered_at", s->registered_at);
	if (s->registered_by)
		json_kv_str(out, "registered_by", s->registered_by);
	json_kv_int(out, "v", 1);
	buf_addc(out, '}');
}

/* An integer member already checked by the schema, or def when absent or null. */
static int64_t
int_member(const struct json_value *v, const char *name, int64_t def)
{
	const struct json_value *m = json_member(v, name);

	return m && m->type == JSON_NUMBER ? (int64_t)m->num : def;
}

/*
 * Parse json and check it against $defs/def; ST_INVALID_RECORD says why.
 * checked: these very bytes passed the check before (the mirror's verdict,
 * kvmirror.h), so only the parse is done again.
 */
static enum status
parse_checked(const char *json, size_t len, const char *def, bool checked, struct json_doc *doc,
	      struct err *e)
{
	const struct jschema *s = schema(e);
	struct err pe = ERR_INIT;

	if (s == NULL)
		return ST_FAIL;
	if (json_parse(json, len, "record", doc, &pe) != ST_OK ||
	    (!checked && jschema_check(s, def, doc->root, "record", &pe) != ST_OK)) {
		json_doc_release(doc);
		return err_set(e, ST_INVALID_RECORD, "%s", pe.msg);
	}
	return ST_OK;
}

/* swarm_record_parse(), the schema check skipped when checked (see parse_checked). */
static enum status
record_parse(const char *id, const char *json, size_t len, bool checked, struct swarm *out,
	     struct err *e)
{
	struct json_doc doc = JSON_DOC_INIT;
	const struct json_value *by;
	enum status st;

	memset(out, 0, sizeof *out);
	if ((st = parse_checked(json, len, "record", checked, &doc, e)) != ST_OK)
		return st;
	profile_take(json_member(doc.root, "profile"), &out->p);
	if (strcmp(out->p.id, id) != 0) {
		swarm_release(out);
		json_doc_release(&doc);
		return err_set(e, ST_INVALID_RECORD, "record: its id '%s' is not its key", id);
	}
	out->registered_at = int_member(doc.root, "registered_at", 0);
	out->last_seen = int_member(doc.root, "last_seen", 0);
	if ((by = json_member(doc.root, "registered_by")) != NULL)
		out->registered_by = xstrdup(by->str);
	json_doc_release(&doc);
	return ST_OK;
}

enum status
swarm_record_parse(const char *id, const char *json, size_t len, struct swarm *out,
		   struct err *e)
{
	return record_parse(id, json, len, false, out, e);
}

enum status
swarm_state_parse(const char *id, const char *json, size_t len, struct swarm_state *out,
		  struct err *e)
{
	struct json_doc doc = JSON_DOC_INIT;
	const struct json_value *m;
	enum status st;
	size_t i;

	memset(out, 0, sizeof *out);
	if ((st = parse_checked(json, len, "state", false, &doc, e)) != ST_OK)
		return st;
	if (strcmp(json_member(doc.root, "swarm")->str, id) != 0) {
		json_doc_release(&doc);
		return err_set(e, ST_INVALID_RECORD, "state record: its swarm is not its key");
	}
	out->present = true;
	out->retired = json_member(doc.root, "retired")->type == JSON_TRUE;
	m = json_member(doc.root, "breaker");
	for (i = 0; i < ARRAY_SIZE(breaker_names); i++)
		if (strcmp(m->str, breaker_names[i]) == 0)
			out->breaker = (enum breaker_state)i;
	out->failures = (int)int_member(doc.root, "failures", 0);
	out->opened_at = int_member(doc.root, "opened_at", 0);
	out->updated_at = int_member(doc.root, "updated_at", 0);
	if ((m = json_member(doc.root, "reason")) != NULL && m->type == JSON_STRING)
		out->reason = xstrdup(m->str);
	json_doc_release(&doc);
	return ST_OK;
}

void
swarm_state_json(const char *id, const struct swarm_state *s, struct buf *out)
{
	buf_addc(out, '{');
	json_kv_str(out, "breaker", breaker_names[s->breaker]);
	json_kv_int(out, "failures", s->failures);
	if (s->opened_at > 0)
		json_kv_int(out, "opened_at", s->opened_at);
	else
		json_kv_raw(out, "opened_at", NULL);
	json_kv_str(out, "reason", s->reason);
	json_kv_bool(out, "retired", s->retired);
	json_kv_str(out, "swarm", id);
	json_kv_int(out, "updated_at", s->updated_at);
	json_kv_int(out, "v", 1);
	buf_addc(out, '}');
}

/* --- reading ------------------------------------------------------------ */

/* The KV key of a swarm's state record; out holds 80 bytes. */
static void
state_key(const char *id, char out[80])
{
	snprintf(out, 80, "%s%s", SWARM_STATE_PREFIX, id);
}

enum status
kv_get_maybe(struct bus *b, const char *bucket, const char *key, struct bus_kv_entry *ent,
	     bool *found, struct err *e)
{
	enum status st = bus_kv_get(b, bucket, key, ent, e);

	*found = st == ST_OK;
	return st == ST_NOT_FOUND ? ST_OK : st;
}

enum status
swarm_state_get(struct bus *b, const char *id, struct swarm_state *out, struct err *e)
{
	struct bus_kv_entry ent = BUS_KV_ENTRY_INIT;
	char key[80];
	bool found;
	enum status st;

	memset(out, 0, sizeof *out);
	state_key(id, key);
	st = kv_get_maybe(b, SWARM_BUCKET, key, &ent, &found, e);
	if (st == ST_OK && found) {
		st = swarm_state_parse(id, ent.value.s, ent.value.len, out, e);
		out->rev = ent.revision;
		if (st == ST_INVALID_RECORD)
			err_prefix(e, "swarm '%s'", id);
	}
	buf_release(&ent.value);
	return st;
}

enum status
swarm_get(struct bus *b, const char *id, struct swarm *out, struct err *e)
{
	struct bus_kv_entry ent = BUS_KV_ENTRY_INIT;
	enum status st;

	memset(out, 0, sizeof *out);
	if (!swarm_id_valid(id))
		return err_set(e, ST_BAD_VALUE, "'%.*s' is not a swarm id (lowercase letters, digits "
			       "and '-', at most %d)", 80, id, SWARM_ID_MAX);
	st = bus_kv_get(b, SWARM_BUCKET, id, &ent, e);
	if (st == ST_NOT_FOUND) {
		buf_release(&ent.value);
		return err_set(e, ST_NOT_FOUND, "swarm '%s' is not registered", id);
	}
	if (st == ST_OK && (st = swarm_record_parse(id, ent.value.s, ent.value.len, out, e)) ==
	    ST_INVALID_RECORD)
		err_prefix(e, "swarm '%s'", id);
	buf_release(&ent.value);
	if (st != ST_OK)
		return st;
	out->rev = ent.revision;
	if ((st = swarm_state_get(b, id, &out->st, e)) == ST_INVALID_RECORD) {
		out->st.present = out->st.invalid = true;	/* shown, and it may not claim */
		out->st.reason = xstrdup(e ? e->msg : "invalid state record");
		st = ST_OK;
	}
	if (st != ST_OK)
		swarm_release(out);
	return st;
}

/* What a list snapshot collects before profiles and states are joined. */
struct list_scan {
	struct swarm_list *out;
	struct swarm_state *states;
	char **state_ids;
	size_t nstates, statecap;
	char **needles;		/* "\"name\"" each, or NULL: keep every record */
	size_t nneedles, skipped;
};

/* Does a record's text hold one of the needles? */
static bool
has_needle(const struct list_scan *s, const char *value, size_t len)
{
	size_t i;

	for (i = 0; i < s->nneedles; i++)
		if (memmem(value, len, s->needles[i], strlen(s->needles[i])))
			return true;
	return s->needles == NULL;
}

static void
list_bad(struct swarm_list *l, const char *key, const char *why)
{
	xgrow(&l->bad, &l->badcap, l->nbad + 1, sizeof *l->bad);
	l->bad[l->nbad++] = (struct swarm_invalid){ xstrdup(key), xstrdup(why) };
}

/* Take a state record (key state.<id>): joined to its swarm later. */
static void
take_state(struct list_scan *s, const char *key, const char *value, size_t len, uint64_t rev)
{
	const char *id = key + strlen(SWARM_STATE_PREFIX);
	struct err e = ERR_INIT;
	struct swarm_state st;

	if (!swarm_id_valid(id)) {
		list_bad(s->out, key, "not a swarm id");
		return;
	}
	if (swarm_state_parse(id, value, len, &st, &e) != ST_OK) {
		list_bad(s->out, key, e.msg);
		st.present = st.invalid = true;	/* its swarm may not claim */
		st.reason = xstrdup(e.msg);
	}
	st.rev = rev;
	xgrow(&s->states, &s->statecap, s->nstates + 1, sizeof *s->states);
	s->state_ids = xrealloc(s->state_ids, s->statecap * sizeof *s->state_ids);
	s->state_ids[s->nstates] = xstrdup(id);
	s->states[s->nstates++] = st;
}

/*
 * Is the record of a swarm (not a state) valid: *why says why not, as a
 * listing reports it. checked: it passed before (kvmirror.h), only parse.
 */
static bool
profile_valid(const char *key, const char *value, size_t len, bool checked, struct swarm *sw,
	      struct err *e)
{
	if (swarm_id_valid(key) && record_parse(key, value, len, checked, sw, e) == ST_OK)
		return true;
	if (!e->msg[0])
		err_set(e, ST_INVALID_RECORD, "its key is not a swarm id");
	return false;
}

/* Take a swarm's record: a swarm, or an invalid record; checked as profile_valid(). */
static void
take_profile(struct list_scan *s, const char *key, const char *value, size_t len, uint64_t rev,
	     bool checked)
{
	struct err e = ERR_INIT;
	struct swarm sw;

	if (!has_needle(s, value, len)) {
		s->skipped++;
		return;
	}
	if (!profile_valid(key, value, len, checked, &sw, &e)) {
		list_bad(s->out, key, e.msg);
		return;
	}
	sw.rev = rev;
	xgrow(&s->out->v, &s->out->cap, s->out->n + 1, sizeof *s->out->v);
	s->out->v[s->out->n++] = sw;
}

/* bus_kv_snapshot()'s callback: every record, checked. */
static void
list_take(void *arg, const char *key, const char *value, size_t len, uint64_t rev)
{
	struct list_scan *s = arg;

	if (has_prefix(key, SWARM_STATE_PREFIX))
		take_state(s, key, value, len, rev);
	else
		take_profile(s, key, value, len, rev, false);
}

static int
by_id(const void *a, const void *b)
{
	return strcmp(((const struct swarm *)a)->p.id, ((const struct swarm *)b)->p.id);
}

struct swarm *
swarm_list_find(const struct swarm_list *l, const char *id)
{
	struct swarm key;

	key.p.id = (char *)id;
	return l->n ? bsearch(&key, l->v, l->n, sizeof *l->v, by_id) : NULL;
}

enum status
swarm_list(struct bus *b, struct swarm_list *out, struct err *e)
{
	return swarm_list_having(b, NULL, 0, out, NULL, e);
}

/* Start a scan into out: every record, or (names) those that hold one of them. */
static enum status
scan_start(struct list_scan *s, struct swarm_list *out, char *const *names, size_t n,
	   struct err *e)
{
	size_t i;

	memset(s, 0, sizeof *s);
	memset(out, 0, sizeof *out);
	s->out = out;
	if (schema(e) == NULL)	/* loaded here, not on the watch's delivery thread */
		return ST_FAIL;
	if (names) {
		s->needles = xcalloc(n + 1, sizeof *s->needles);
		for (i = 0; i < n; i++)
			s->needles[i] = xasprintf("\"%s\"", names[i]);
		s->nneedles = n;
	}
	return ST_OK;
}

/* Join the states to their swarms, sort, free the scan; st is the read's outcome. */
static enum status
scan_finish(struct list_scan *s, enum status st, size_t *skipped)
{
	struct swarm_list *out = s->out;
	struct swarm *sw;
	size_t i;

	if (out->n)
		qsort(out->v, out->n, sizeof *out->v, by_id);
	for (i = 0; i < s->nstates; i++) {
		if (st == ST_OK && (sw = swarm_list_find(out, s->state_ids[i])) != NULL)
			sw->st = s->states[i];
		else
			swarm_state_release(&s->states[i]);
		free(s->state_ids[i]);
	}
	free(s->states);
	free(s->state_ids);
	strv_free(s->needles, s->nneedles);
	if (skipped)
		*skipped = s->skipped;
	if (st != ST_OK)
		swarm_list_release(out);
	return st;
}

static enum status list_read(struct bus *b, struct kvmirror *m, char *const *names, size_t n,
			     struct swarm_list *out, size_t *skipped, struct err *e);

enum status
swarm_list_having(struct bus *b, char *const *names, size_t n, struct swarm_list *out,
		  size_t *skipped, struct err *e)
{
	return list_read(b, NULL, names, n, out, skipped, e);
}

/* --- the local mirror ----------------------------------------------------- */

/*
 * The tags of an IF_SWARMS record: every text between two consecutive '"'
 * of its bytes that has a capability name's syntax with a ':' (member
 * names, ids and models have none, and are left out). A needle "\"name\""
 * of swarm_list_having (name such a capability name, so without '"') is in
 * the record's text exactly when name is one of these, so a read by tag
 * keeps the records the needle test keeps, no more and no fewer, whatever
 * the record holds. State records have none: they are read by their prefix.
 */
static void
swarm_tags(const char *key, const char *value, size_t len, struct buf *out)
{
	const char *p = memchr(value, '"', len), *q, *end = value + len;
	char name[CAP_NAME_MAX + 1];
	size_t n;

	if (has_prefix(key, SWARM_STATE_PREFIX))
		return;
	for (; p && p + 1 < end && (q = memchr(p + 1, '"', (size_t)(end - p - 1))); p = q) {
		n = (size_t)(q - p - 1);
		if (n == 0 || n > CAP_NAME_MAX || memchr(p + 1, '\0', n) || !memchr(p + 1, ':', n))
			continue;
		memcpy(name, p + 1, n);
		name[n] = '\0';
		if (capability_name_valid(name))
			buf_add(out, name, n + 1);
	}
}

/*
 * The verdict the mirror keeps with each record: a swarm's record as a
 * listing checks it (profile_valid); a state record is read and checked
 * in full each time (there are few), so it has none.
 */
static bool
swarm_check(const char *key, const char *value, size_t len, struct buf *why)
{
	struct err e = ERR_INIT;
	struct swarm sw;

	if (has_prefix(key, SWARM_STATE_PREFIX))
		return true;
	if (!profile_valid(key, value, len, false, &sw, &e)) {
		buf_adds(why, e.msg);
		return false;
	}
	swarm_release(&sw);
	return true;
}

static char mirror_version[96];
static pthread_once_t mirror_version_once = PTHREAD_ONCE_INIT;

static void
mirror_version_make(void)
{
	unsigned char h[8] = { 0 };	/* a fingerprint of the schema the verdicts follow */
	size_t i;

	for (i = 0; jschema_embedded[i].name; i++)
		if (strcmp(jschema_embedded[i].name, "swarm-profile") == 0)
			crypto_generichash(h, sizeof h, (const unsigned char *)jschema_embedded[i].text,
					   strlen(jschema_embedded[i].text), NULL, 0);
	snprintf(mirror_version, sizeof mirror_version, "tags quoted-capability-names/2, "
		 "check profile-valid/1, schema %02x%02x%02x%02x%02x%02x%02x%02x", h[0], h[1], h[2],
		 h[3], h[4], h[5], h[6], h[7]);
}

/* What the tags and the verdicts of IF_SWARMS rows were made by. */
static const char *
swarm_mirror_version(void)
{
	pthread_once(&mirror_version_once, mirror_version_make);
	return mirror_version;
}

const struct kvmirror_bucket swarm_mirror_bucket = {
	SWARM_BUCKET, swarm_mirror_version, swarm_tags, swarm_check,
};

/* kvmirror's callback: every record, a swarm's parsed again only when the verdict is valid. */
static void
list_take_rec(void *arg, const struct kvmirror_rec *r)
{
	struct list_scan *s = arg;

	if (has_prefix(r->key, SWARM_STATE_PREFIX))
		take_state(s, r->key, r->value, r->len, r->rev);
	else if (r->verdict == KVM_INVALID && has_needle(s, r->value, r->len))
		list_bad(s->out, r->key, r->why);
	else
		take_profile(s, r->key, r->value, r->len, r->rev, r->verdict == KVM_VALID);
}

/* Can the names be read by tag: capability names with a ':' (what the tags hold), a few? */
static bool
names_tagged(char *const *names, size_t n)
{
	size_t i;

	if (names == NULL || n == 0 || n > KVMIRROR_TAGS_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!capability_name_valid(names[i]) || !strchr(names[i], ':'))
			return false;
	return true;
}

/*
 * Read the records into out: from the bucket (m NULL), or from the mirror,
 * by tag when the names allow it (the state records and the records
 * tagged with a name; the others are skipped unread).
 */
static enum status
list_read(struct bus *b, struct kvmirror *m, char *const *names, size_t n,
	  struct swarm_list *out, size_t *skipped, struct err *e)
{
	struct list_scan s;
	enum status st = scan_start(&s, out, names, n, e);
	size_t got = 0, live;

	if (st == ST_OK && m == NULL)
		st = bus_kv_snapshot(b, SWARM_BUCKET, list_take, &s, e);
	else if (st == ST_OK && !names_tagged(names, n))	/* the needles tested on each */
		st = kvmirror_each(m, SWARM_BUCKET, "", list_take_rec, &s, e);
	else if (st == ST_OK) {
		st = kvmirror_each_tagged(m, SWARM_BUCKET, SWARM_STATE_PREFIX, names, n,
					  list_take_rec, &s, &got, e);
		live = (size_t)kvmirror_live(m, SWARM_BUCKET);
		s.skipped += live > got ? live - got : 0;
	}
	return scan_finish(&s, st, skipped);
}

enum status
swarm_list_mirrored(struct kvmirror *m, char *const *names, size_t n, struct swarm_list *out,
		    size_t *skipped, struct err *e)
{
	return list_read(NULL, m, names, n, out, skipped, e);
}

void
swarm_list_release(struct swarm_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		swarm_release(&l->v[i]);
	for (i = 0; i < l->nbad; i++) {
		free(l->bad[i].key);
		free(l->bad[i].reason);
	}
	free(l->v);
	free(l->bad);
	memset(l, 0, sizeof *l);
}

/* --- writing ------------------------------------------------------------ */

void
swarm_event(struct bus *b, const struct opctx *op, const char *id, const char *verb,
	    const char *fields_json)
{
	struct buf ev = BUF_INIT;
	char subject[160];

	buf_addf(&ev, "{\"v\":1,\"type\":\"swarm\",\"verb\":");
	json_escape(&ev, verb);
	buf_adds(&ev, ",\"swarm\":");
	json_escape(&ev, id);
	buf_addf(&ev, ",\"at\":%lld", (long long)wall_ms());
	json_kv_str(&ev, "trace", op ? op->trace_id : NULL);
	json_kv_str(&ev, "why", op ? op->justification : NULL);
	json_kv_raw(&ev, "details", fields_json);
	buf_addc(&ev, '}');
	snprintf(subject, sizeof subject, "if.v1.evt.swarm.%s.%s", id, verb);
	if (!op || !op->falsify)
		bus_publish(b, subject, ev.s, ev.len, NULL);
	buf_release(&ev);
}

enum status
swarm_register(struct bus *b, struct opctx *op, const struct swarm_profile *p, bool replace,
	       struct err *e)
{
	struct bus_kv_entry ent = BUS_KV_ENTRY_INIT;
	struct swarm s = { .p = *p };
	struct swarm old;
	struct buf rec = BUF_INIT, prof = BUF_INIT;
	struct err ge = ERR_INIT;
	enum status st, gst;

	gst = bus_kv_get(b, SWARM_BUCKET, p->id, &ent, &ge);
	if (gst != ST_OK && gst != ST_NOT_FOUND) {
		buf_release(&ent.value);
		*e = ge;
		return gst;
	}
	if (!check(op, "swarm id is free", gst == ST_NOT_FOUND || replace ? ST_OK : ST_EXISTS, NULL,
		   gst == ST_OK ? "already registered (use --replace to update its profile)" : p->id))
		st = err_set(e, ST_EXISTS, "swarm '%s' is already registered (swarm register "
			     "--replace updates its profile)", p->id);
	else
		st = ST_OK;
	s.registered_at = wall_ms();
	s.registered_by = (char *)op->actor;
	if (st == ST_OK && gst == ST_OK &&
	    swarm_record_parse(p->id, ent.value.s, ent.value.len, &old, NULL) == ST_OK) {
		s.registered_at = old.registered_at;
		s.last_seen = old.last_seen;
		swarm_release(&old);
	}
	buf_release(&ent.value);
	if (st != ST_OK || op->falsify)
		return st;
	swarm_record_json(&s, &rec);
	if (gst == ST_NOT_FOUND)
		st = bus_kv_create(b, SWARM_BUCKET, p->id, rec.s, rec.len, NULL, e);
	else
		st = bus_kv_update(b, SWARM_BUCKET, p->id, rec.s, rec.len, ent.revision, NULL, e);
	if (st == ST_OK) {
		struct witness_note n = { .component = "governor", .event = "swarm.register",
					  .actor = op->actor, .swarm = p->id };
		swarm_profile_json(p, &prof);
		n.payload = prof.s;
		ledger_witness(op, &n);
		swarm_event(b, op, p->id, gst == ST_NOT_FOUND ? "register" : "update", prof.s);
	}
	buf_release(&rec);
	buf_release(&prof);
	return st;
}

enum status
swarm_unregister(struct bus *b, const char *id, struct err *e)
{
	return bus_kv_delete(b, SWARM_BUCKET, id, e);
}

#define TOUCH_TRIES 8	/* compare-and-swap attempts before giving up */

enum status
swarm_touch(struct bus *b, const char *id, struct err *e)
{
	struct bus_kv_entry ent = BUS_KV_ENTRY_INIT;
	struct buf rec = BUF_INIT;
	struct swarm s;
	enum status st = ST_CONFLICT;
	int i;

	for (i = 0; i < TOUCH_TRIES && st == ST_CONFLICT; i++) {
		buf_reset(&ent.value);
		buf_reset(&rec);
		if ((st = bus_kv_get(b, SWARM_BUCKET, id, &ent, e)) == ST_NOT_FOUND)
			st = err_set(e, ST_NOT_FOUND, "swarm '%s' is not registered", id);
		if (st != ST_OK)
			break;
		if ((st = swarm_record_parse(id, ent.value.s, ent.value.len, &s, e)) != ST_OK)
			break;
		s.last_seen = wall_ms();
		swarm_record_json(&s, &rec);
		swarm_release(&s);
		st = bus_kv_update(b, SWARM_BUCKET, id, rec.s, rec.len, ent.revision, NULL, e);
	}
	buf_release(&ent.value);
	buf_release(&rec);
	return st;
}

enum status
swarm_state_put(struct bus *b, const char *id, struct swarm_state *s, struct err *e)
{
	struct buf rec = BUF_INIT;
	char key[80];
	uint64_t rev = 0;
	enum status st;

	state_key(id, key);
	s->updated_at = wall_ms();
	swarm_state_json(id, s, &rec);
	if (s->present)
		st = bus_kv_update(b, SWARM_BUCKET, key, rec.s, rec.len, s->rev, &rev, e);
	else
		st = bus_kv_create(b, SWARM_BUCKET, key, rec.s, rec.len, &rev, e);
	if (st == ST_EXISTS)
		st = err_set(e, ST_CONFLICT, "swarm '%s': its state changed under us", id);
	if (st == ST_OK) {
		s->present = true;
		s->rev = rev;
	}
	buf_release(&rec);
	return st;
}

/* --- views -------------------------------------------------------------- */

static const struct view_col swarm_cols[] = {
	[SW_ID] = { "id", COL_TEXT, 0 },
	[SW_STATUS] = { "status", COL_TEXT, 0 },
	[SW_BREAKER] = { "breaker", COL_TEXT, 0 },
	[SW_CAPABILITIES] = { "capabilities", COL_JSON, 0 },
	[SW_COST_PER_HOUR] = { "cost_per_hour", COL_TEXT, 0 },
	[SW_REPUTATION] = { "reputation", COL_NUM, 0 },
	[SW_MODEL] = { "model", COL_TEXT, COL_WIDE },
	[SW_MAX_CONCURRENT] = { "max_concurrent_tasks", COL_NUM, COL_WIDE },
	[SW_FAILURES] = { "failures", COL_NUM, COL_WIDE },
	[SW_LAST_SEEN] = { "last_seen", COL_TIME, 0 },
	[SW_REGISTERED_AT] = { "registered_at", COL_TIME, COL_WIDE },
	[SW_COST_MICROS] = { "cost_per_hour_micros", COL_NUM, COL_DATA },
	[SW_REASON] = { "reason", COL_TEXT, COL_WIDE },
	[SW_HEARTBEAT_INTERVAL] = { "heartbeat_interval_ms", COL_NUM, COL_WIDE },
};
_Static_assert(ARRAY_SIZE(swarm_cols) == SW__COUNT, "one column per swarm_col");

static const struct view swarm_list_view = VIEW("swarms", swarm_cols);
static const struct view swarm_record_view = VIEW("swarm", swarm_cols);

struct rowset *
swarm_view_list(void)
{
	return rows_view(&swarm_list_view);
}

struct rowset *
swarm_view_record(void)
{
	struct rowset *rs = rows_view(&swarm_record_view);

	rs->single = true;
	return rs;
}

const char *
swarm_status(const struct swarm *s)
{
	if (s->st.invalid)
		return "state-invalid";
	if (s->st.retired)
		return "retired";
	if (s->st.breaker == BREAKER_OPEN)
		return "breaker-open";
	if (s->st.breaker == BREAKER_HALF_OPEN)
		return "half-open";
	return "active";
}

void
swarm_view_add(struct rowset *rs, const struct swarm *s)
{
	size_t r = rows_add(rs);
	char usd[32];

	rows_set(rs, r, SW_ID, s->p.id);
	rows_set(rs, r, SW_STATUS, swarm_status(s));
	rows_set(rs, r, SW_BREAKER, breaker_name(s->st.breaker));
	rows_set_list(rs, r, SW_CAPABILITIES, (const char *const *)s->p.caps, s->p.ncaps);
	money_str(s->p.cost_per_hour_micros, usd);
	rows_set(rs, r, SW_COST_PER_HOUR, usd);
	rows_set_num(rs, r, SW_REPUTATION, s->p.reputation);
	rows_set(rs, r, SW_MODEL, s->p.model);
	rows_set_int(rs, r, SW_MAX_CONCURRENT, s->p.max_concurrent);
	rows_set_int(rs, r, SW_FAILURES, s->st.failures);
	rows_set_time(rs, r, SW_LAST_SEEN, s->last_seen);
	rows_set_time(rs, r, SW_REGISTERED_AT, s->registered_at);
	rows_set_int(rs, r, SW_COST_MICROS, s->p.cost_per_hour_micros);
	rows_set(rs, r, SW_REASON, s->st.reason);
	if (s->p.heartbeat_interval_ms > 0)	/* else null: slo.heartbeat_interval_ms */
		rows_set_int(rs, r, SW_HEARTBEAT_INTERVAL, s->p.heartbeat_interval_ms);
}

void
swarm_view_add_invalid(struct rowset *rs, const struct swarm_invalid *bad)
{
	size_t r = rows_add(rs);

	rows_set(rs, r, SW_ID, bad->key);
	rows_set(rs, r, SW_STATUS, "invalid");
	rows_set(rs, r, SW_REASON, bad->reason);
}
