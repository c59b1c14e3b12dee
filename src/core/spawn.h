/*
 * Swarm spawn: detect what a swarm's code can do, then register it with a
 * budget, as one decision under one trace.
 *
 * Detection, in order of authority:
 *  1. a manifest, ifswarm.json at the top of the directory
 *     (schemas/manifest.schema.json): its capabilities and nothing else;
 *  2. WebAssembly modules (*.wasm): a custom section "ifctl.capabilities"
 *     (a JSON array of names, or names separated by commas) and exported
 *     function names whose words name a protocol or a domain;
 *  3. source heuristics: languages by file type, imported libraries,
 *     protocol keywords, documentation files.
 * Every capability found keeps its evidence (source, file, what matched,
 * how many files), is checked against the registry, and is shown by
 * 'swarm spawn --why'.
 *
 * The walk never follows symbolic links, skips dot directories and build
 * output (node_modules, target, build, vendor, __pycache__), reads at most
 * SPAWN_READ_MAX bytes of each file and stops at SPAWN_FILES_MAX files.
 *
 * Threads: any thread; results belong to the caller.
 */
#ifndef IF_SPAWN_H
#define IF_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/bus.h"
#include "core/capability.h"
#include "core/opctx.h"
#include "core/policy.h"
#include "core/rows.h"
#include "core/swarm.h"

#define SPAWN_MANIFEST "ifswarm.json"
#define SPAWN_WASM_SECTION "ifctl.capabilities"
#define SPAWN_READ_MAX ((size_t)64 << 10)	/* bytes of a source file searched */
#define SPAWN_WASM_MAX ((size_t)64 << 20)	/* bytes of a module read */
#define SPAWN_FILES_MAX 200000			/* files looked at */
#define SPAWN_DEPTH_MAX 32			/* directories inside one another */

/* One capability found, with its evidence. */
struct spawn_found {
	char *capability;
	const char *source;	/* manifest, wasm-section, wasm-export, file-type, import,
				   protocol, docs */
	char *evidence;		/* the first: "src/app.py: import 'psycopg'" */
	size_t count;		/* files (or names) that showed it */
};

struct spawn_detect {
	struct spawn_found *v;
	size_t n, cap;
	size_t files;		/* files looked at */
	bool manifest;		/* from ifswarm.json */
	char *manifest_json;	/* its canonical text (profile fields), or NULL */
};
void spawn_detect_release(struct spawn_detect *d);

/*
 * Detect the capabilities of the code in dir. ST_NOT_FOUND when dir does
 * not exist, ST_PERMISSION when it cannot be read, ST_BAD_VALUE when it is
 * not a directory, or a manifest, module or declared capability is
 * malformed or unknown (the message names the file and the rule).
 */
enum status spawn_detect(const char *dir, const struct cap_registry *reg, struct spawn_detect *out,
			 struct err *e);

/* View: capability, source, evidence, count. */
struct rowset *spawn_view(const struct spawn_detect *d);

struct spawn_req {
	const char *id;
	const char *dir;
	int64_t budget_micros;	/* < 0: the policy's default_budget */
	const char *model;	/* NULL: the manifest's, else "unknown" */
};

struct spawn_result {
	struct spawn_detect d;
	struct swarm_profile p;
	int64_t budget_micros;
	bool budget_created;	/* false: a budget record existed and was kept */
};
void spawn_result_release(struct spawn_result *r);

/*
 * Detect, validate, register, assign the budget (IF_BUDGETS swarm.<id>,
 * created when there is none), witness swarm.spawn with the evidence, and
 * publish if.v1.evt.swarm.<id>.spawn. Nothing is left registered when a
 * later step fails. Every step is a check() of op.
 */
enum status spawn_run(struct bus *b, struct opctx *op, const struct cap_registry *reg,
		      const struct policy *p, const struct spawn_req *req, struct spawn_result *out,
		      struct err *e);

#endif
