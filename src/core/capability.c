/* The capability registry: see capability.h. */
#include <stdlib.h>
#include <string.h>

#include "core/capability.h"
#include "core/task.h"
#include "core/util.h"

#define CAP(cat, n, s) { cat ":" n, cat, s }

const struct capability capability_table[] = {
	CAP("code-analysis", "rust", "read, review and fix Rust code"),
	CAP("code-analysis", "python", "read, review and fix Python code"),
	CAP("code-analysis", "javascript", "read, review and fix JavaScript code"),
	CAP("code-analysis", "go", "read, review and fix Go code"),
	CAP("code-analysis", "typescript", "read, review and fix TypeScript code"),
	CAP("code-analysis", "general", "code in other languages (C, shell, ...)"),
	CAP("integration", "sip", "SIP signalling: registration, calls, trunks"),
	CAP("integration", "ndi", "NewTek NDI video over IP"),
	CAP("integration", "webrtc", "WebRTC: ICE, DTLS-SRTP, data channels"),
	CAP("integration", "h323", "H.323 conferencing"),
	CAP("integration", "rtsp", "RTSP streaming"),
	CAP("infra", "distributed-systems", "consensus, replication, queues"),
	CAP("infra", "networking", "sockets, HTTP, DNS, TLS"),
	CAP("infra", "databases", "SQL and key-value stores, schemas, migrations"),
	CAP("infra", "kubernetes", "manifests, operators, clusters"),
	CAP("infra", "cloud-platforms", "AWS, GCP, Azure, containers"),
	CAP("infra", "monitoring", "metrics, logs, traces, alerts"),
	CAP("cli", "design", "command-line interfaces and their options"),
	CAP("cli", "testing", "test suites, fixtures, CI"),
	CAP("cli", "ux", "terminal user experience"),
	CAP("cli", "automation", "scripts, pipelines, build tools"),
	CAP("architecture", "patterns", "design patterns and module structure"),
	CAP("architecture", "security", "threat models, hardening, audits"),
	CAP("architecture", "scalability", "capacity and scaling out"),
	CAP("architecture", "performance", "profiling and optimisation"),
	CAP("docs", "technical-writing", "reference and operator documentation"),
	CAP("docs", "api-design", "API descriptions (OpenAPI, protocols)"),
	CAP("docs", "tutorials", "tutorials and guides"),
	CAP("docs", "architecture", "architecture documents and diagrams"),
};
const size_t capability_count = ARRAY_SIZE(capability_table);

/* Is [s, s + n) an id (task_id_valid's syntax)? */
static bool
id_part(const char *s, size_t n)
{
	char part[CAP_NAME_MAX + 1];

	if (n == 0 || n > CAP_NAME_MAX)
		return false;
	memcpy(part, s, n);
	part[n] = '\0';
	return task_id_valid(part);
}

bool
capability_name_valid(const char *s)
{
	const char *colon = strchr(s, ':');
	size_t n = strlen(s);

	if (n == 0 || n > CAP_NAME_MAX)
		return false;
	if (colon == NULL)
		return id_part(s, n);
	return id_part(s, (size_t)(colon - s)) && id_part(colon + 1, n - (size_t)(colon - s) - 1);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

enum status
capreg_init(struct cap_registry *r, const char *site, struct err *e)
{
	char *copy, *tok, *save = NULL;
	size_t cap = 0;

	r->site = NULL;
	r->nsite = 0;
	if (site == NULL || *site == '\0')
		return ST_OK;
	copy = xstrdup(site);
	for (tok = strtok_r(copy, ", \t\n", &save); tok; tok = strtok_r(NULL, ", \t\n", &save)) {
		if (!capability_name_valid(tok)) {
			err_set(e, ST_BAD_VALUE, "governor.capabilities: '%.*s' is not a capability "
				"name (category:name, letters, digits, '-', '_' and '.')",
				CAP_NAME_MAX, tok);
			free(copy);
			capreg_release(r);
			return ST_BAD_VALUE;
		}
		if (capreg_known(r, tok))
			continue;
		xgrow(&r->site, &cap, r->nsite + 1, sizeof *r->site);
		r->site[r->nsite++] = xstrdup(tok);
		qsort(r->site, r->nsite, sizeof *r->site, cmp_str);
	}
	free(copy);
	return ST_OK;
}

void
capreg_release(struct cap_registry *r)
{
	strv_free(r->site, r->nsite);
	r->site = NULL;
	r->nsite = 0;
}

const struct capability *
capability_find(const char *name)
{
	size_t i;

	for (i = 0; i < capability_count; i++)
		if (strcmp(capability_table[i].name, name) == 0)
			return &capability_table[i];
	return NULL;
}

bool
capreg_known(const struct cap_registry *r, const char *name)
{
	if (capability_find(name))
		return true;
	return r && r->nsite &&
	       bsearch(&name, r->site, r->nsite, sizeof *r->site, cmp_str) != NULL;
}

/* The part of a name after its ':' (the whole name without one). */
static const char *
cap_leaf(const char *name)
{
	const char *c = strchr(name, ':');

	return c ? c + 1 : name;
}

/* Keep cand as the best so far when it is nearer to name. */
static void
nearer(const char *name, const char *cand, const char **best, size_t *bestd)
{
	size_t d;

	if (strcmp(cap_leaf(name), cap_leaf(cand)) == 0)
		d = 0;
	else
		d = edit_distance(name, cand) + 1;
	if (d < *bestd) {
		*bestd = d;
		*best = cand;
	}
}

const char *
capreg_suggest(const struct cap_registry *r, const char *name)
{
	const char *best = NULL;
	size_t bestd = (size_t)-1, i;

	for (i = 0; i < capability_count; i++)
		nearer(name, capability_table[i].name, &best, &bestd);
	for (i = 0; r && i < r->nsite; i++)
		nearer(name, r->site[i], &best, &bestd);
	return best && bestd <= strlen(name) / 2 + 1 ? best : NULL;
}

enum status
capreg_check(const struct cap_registry *r, const char *name, struct err *e)
{
	const char *near;

	if (capreg_known(r, name))
		return ST_OK;
	near = capreg_suggest(r, name);
	if (near)
		return err_set(e, ST_BAD_VALUE, "\"%.*s\" is not a known capability (did you mean "
			       "\"%s\"?)", CAP_NAME_MAX, name, near);
	return err_set(e, ST_BAD_VALUE, "\"%.*s\" is not a known capability (see 'ifctl "
		       "capabilities list')", CAP_NAME_MAX, name);
}
