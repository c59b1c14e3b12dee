/*
 * Configuration: one table of keys, layered sources.
 *
 * Every setting ifctl reads is a row of CONFIG_TABLE below: its dotted name,
 * type, default, bounds, environment variable and help text. The table
 * drives loading, validation, 'ifctl config show --defaults', the config
 * template, ifctl-config(5) (checked by a test) and schemas/config.schema.json.
 *
 * Precedence, highest first: command-line flags, IF_* environment, the YAML
 * file ($XDG_CONFIG_HOME/ifctl/config.yaml or --config), the defaults.
 */
#ifndef IF_CONFIG_H
#define IF_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/status.h"
#include "core/task.h"

enum cfg_type { CFG_STRING, CFG_INT, CFG_BOOL, CFG_ENUM, CFG_PATH };

/*
 * X(id, name, type, default, min, max, choices, env, help)
 * min/max bound CFG_INT; choices ("a|b|c") bound CFG_ENUM.
 */
#define CONFIG_TABLE(X) \
	X(HOME, "home", CFG_PATH, "", 0, 0, NULL, "IF_HOME", \
	  "data directory (server storage, keys, index); empty means $XDG_DATA_HOME/ifctl or ~/.local/share/ifctl") \
	X(NATS_URL, "nats.url", CFG_STRING, "", 0, 0, NULL, "IF_NATS_URL", \
	  "NATS server URL(s), comma-separated; empty means the local server at server.host:server.port") \
	X(NATS_TIMEOUT_MS, "nats.timeout_ms", CFG_INT, "2000", 50, 600000, NULL, "IF_NATS_TIMEOUT_MS", \
	  "how long a connect, request or KV operation may take before it fails") \
	X(NATS_NAME, "nats.name", CFG_STRING, "ifctl", 0, 0, NULL, "IF_NATS_NAME", \
	  "connection name shown by the server's monitoring") \
	X(NATS_CREDS, "nats.creds", CFG_PATH, "", 0, 0, NULL, "IF_NATS_CREDS", \
	  "NATS credentials file (JWT and NKey seed)") \
	X(NATS_USER, "nats.user", CFG_STRING, "", 0, 0, NULL, "IF_NATS_USER", \
	  "user name for user/password authentication") \
	X(NATS_PASSWORD, "nats.password", CFG_STRING, "", 0, 0, NULL, "IF_NATS_PASSWORD", \
	  "password for user/password authentication") \
	X(NATS_TOKEN, "nats.token", CFG_STRING, "", 0, 0, NULL, "IF_NATS_TOKEN", \
	  "authentication token") \
	X(NATS_TLS_CA, "nats.tls_ca", CFG_PATH, "", 0, 0, NULL, "IF_NATS_TLS_CA", \
	  "CA certificates (PEM) that sign the server's certificate; setting it turns TLS on") \
	X(NATS_TLS_CERT, "nats.tls_cert", CFG_PATH, "", 0, 0, NULL, "IF_NATS_TLS_CERT", \
	  "client certificate (PEM) for mutual TLS") \
	X(NATS_TLS_KEY, "nats.tls_key", CFG_PATH, "", 0, 0, NULL, "IF_NATS_TLS_KEY", \
	  "client private key (PEM) for mutual TLS") \
	X(NATS_RECONNECT_WAIT_MS, "nats.reconnect_wait_ms", CFG_INT, "100", 10, 60000, NULL, "IF_NATS_RECONNECT_WAIT_MS", \
	  "first delay between reconnect attempts; doubles up to nats.reconnect_max_wait_ms") \
	X(NATS_RECONNECT_MAX_WAIT_MS, "nats.reconnect_max_wait_ms", CFG_INT, "2000", 10, 600000, NULL, "IF_NATS_RECONNECT_MAX_WAIT_MS", \
	  "longest delay between reconnect attempts") \
	X(NATS_MAX_RECONNECTS, "nats.max_reconnects", CFG_INT, "-1", -1, 1000000, NULL, "IF_NATS_MAX_RECONNECTS", \
	  "reconnect attempts before giving up; -1 means forever") \
	X(SERVER_HOST, "server.host", CFG_STRING, "127.0.0.1", 0, 0, NULL, "IF_SERVER_HOST", \
	  "address the local server started by 'ifctl up' listens on") \
	X(SERVER_PORT, "server.port", CFG_INT, "4222", 1, 65535, NULL, "IF_SERVER_PORT", \
	  "port of the local server started by 'ifctl up'") \
	X(SERVER_BINARY, "server.binary", CFG_PATH, "nats-server", 0, 0, NULL, "IF_SERVER_BINARY", \
	  "nats-server program 'ifctl up' runs (searched in PATH)") \
	X(SERVER_STORE_MAX_MB, "server.store_max_mb", CFG_INT, "4096", 64, 1048576, NULL, "IF_SERVER_STORE_MAX_MB", \
	  "JetStream file storage limit of the local server, in MiB") \
	X(SERVER_START_TIMEOUT_MS, "server.start_timeout_ms", CFG_INT, "15000", 500, 600000, NULL, "IF_SERVER_START_TIMEOUT_MS", \
	  "how long 'ifctl up' waits for the local server to answer") \
	X(SERVER_AUTH, "server.auth", CFG_BOOL, "false", 0, 0, NULL, "IF_SERVER_AUTH", \
	  "'ifctl up' gives the local server operator, swarm and viewer users (ifctl-protocol(7), PERMISSIONS); 'up --auth' sets it for one run") \
	X(OUTPUT_FORMAT, "output.format", CFG_ENUM, "table", 0, 0, "table|wide|json|jsonl|yaml|csv|tsv", "IF_OUTPUT", \
	  "default output format (-o)") \
	X(OUTPUT_COLOR, "output.color", CFG_ENUM, "auto", 0, 0, "auto|always|never", "IF_COLOR", \
	  "colour in tables and the console (--color); NO_COLOR also turns it off") \
	X(READ_ONLY, "read_only", CFG_BOOL, "false", 0, 0, NULL, "IF_READ_ONLY", \
	  "refuse every command that changes state (--read-only)") \
	X(COORD_LEASE_MS, "coordinator.lease_ms", CFG_INT, "30000", 100, 86400000, NULL, "IF_COORDINATOR_LEASE_MS", \
	  "how long a claim holds a task without a heartbeat") \
	X(COORD_MAX_ATTEMPTS, "coordinator.max_attempts", CFG_INT, "5", 1, TASK_ATTEMPTS_MAX, NULL, "IF_COORDINATOR_MAX_ATTEMPTS", \
	  "claims of one task before it goes to the dead state") \
	X(COORD_RETRY_BACKOFF_MS, "coordinator.retry_backoff_ms", CFG_INT, "1000", 0, TASK_BACKOFF_MAX_MS, NULL, "IF_COORDINATOR_RETRY_BACKOFF_MS", \
	  "first delay before a failed task may be claimed again; doubles per attempt") \
	X(COORD_RETAIN, "coordinator.retain", CFG_STRING, "24h", 0, 0, NULL, "IF_COORDINATOR_RETAIN", \
	  "how long finished tasks stay live before they move to the archive (90s, 12h, 7d; 0: at once)") \
	X(WITNESS_CHECKPOINT_EVERY, "witness.checkpoint_every", CFG_INT, "1000", 1, 100000000, NULL, "IF_WITNESS_CHECKPOINT_EVERY", \
	  "entries between signed checkpoints of the witness ledger") \
	X(CONSOLE_THEME, "console.theme", CFG_STRING, "default", 0, 0, NULL, "IF_CONSOLE_THEME", \
	  "console theme: a name under themes/ or a path to a YAML file") \
	X(CONSOLE_FPS, "console.fps", CFG_INT, "10", 1, 60, NULL, "IF_CONSOLE_FPS", \
	  "most console repaints per second") \
	X(SLO_HEARTBEAT_INTERVAL_MS, "slo.heartbeat_interval_ms", CFG_INT, "30000", 1000, 86400000, NULL, "IF_SLO_HEARTBEAT_INTERVAL_MS", \
	  "a swarm's heartbeat interval for SLO availability (slots of this length; the swarm profile's when it has one)") \
	X(GOV_CAPABILITIES, "governor.capabilities", CFG_STRING, "", 0, 0, NULL, "IF_GOVERNOR_CAPABILITIES", \
	  "the site's own capabilities besides the built-in registry, separated by commas (category:name)") \
	X(GOV_POLICY, "governor.policy", CFG_PATH, "", 0, 0, NULL, "IF_GOVERNOR_POLICY", \
	  "resource policy file (YAML); empty means $XDG_CONFIG_HOME/ifctl/policy.yaml, or the built-in defaults when it is missing") \
	X(GOV_PROFILE, "governor.profile", CFG_STRING, "", 0, 0, NULL, "IF_GOVERNOR_PROFILE", \
	  "policy profile in force; empty means the file's default_profile, else default") \
	X(COST_PRICES, "cost.prices", CFG_PATH, "", 0, 0, NULL, "IF_COST_PRICES", \
	  "price table (YAML) whose models replace or add to the built-in prices; empty: built-in only") \
	X(CHASSIS_MEMORY_MB, "chassis.memory_mb", CFG_INT, "256", 16, 1048576, NULL, "IF_CHASSIS_MEMORY_MB", \
	  "address space of a sandboxed run (RLIMIT_AS), in MiB; also the size of its /tmp and /work") \
	X(CHASSIS_CPU_S, "chassis.cpu_s", CFG_INT, "10", 1, 86400, NULL, "IF_CHASSIS_CPU_S", \
	  "CPU seconds of a sandboxed run (RLIMIT_CPU)") \
	X(CHASSIS_WALL_MS, "chassis.wall_ms", CFG_INT, "30000", 10, 86400000, NULL, "IF_CHASSIS_WALL_MS", \
	  "wall time of a sandboxed run before it is killed") \
	X(CHASSIS_PROCS, "chassis.procs", CFG_INT, "64", 1, 1048576, NULL, "IF_CHASSIS_PROCS", \
	  "processes of the sandbox's user (RLIMIT_NPROC, counted per real uid)") \
	X(CHASSIS_FILES, "chassis.files", CFG_INT, "64", 8, 1048576, NULL, "IF_CHASSIS_FILES", \
	  "open files per sandboxed process (RLIMIT_NOFILE)") \
	X(CHASSIS_RUN_AS, "chassis.run_as", CFG_INT, "65534", -1, 2147483647, NULL, "IF_CHASSIS_RUN_AS", \
	  "uid (and gid) a sandbox runs as when ifctl runs as root; -1 keeps root's (then the process limit does not hold)") \
	X(CHASSIS_BWRAP, "chassis.bwrap", CFG_PATH, "bwrap", 0, 0, NULL, "IF_CHASSIS_BWRAP", \
	  "bubblewrap program (searched in PATH)") \
	X(CHASSIS_WASM_INTERP, "chassis.wasm_interp", CFG_PATH, "wasm-interp", 0, 0, NULL, "IF_CHASSIS_WASM_INTERP", \
	  "wabt's WASM interpreter (searched in PATH)")

#define CFG_ENUM_ID(id, name, type, def, min, max, choices, env, help) CK_##id,
enum cfg_id { CONFIG_TABLE(CFG_ENUM_ID) CK__COUNT };
#undef CFG_ENUM_ID

struct cfg_key {
	const char *name;	/* dotted key, as in the YAML file */
	enum cfg_type type;
	const char *def;	/* default, as text */
	int64_t min, max;	/* bounds of CFG_INT */
	const char *choices;	/* "a|b|c" for CFG_ENUM */
	const char *env;	/* environment variable */
	const char *help;	/* one line */
};

enum cfg_source { CFG_SRC_DEFAULT, CFG_SRC_FILE, CFG_SRC_ENV, CFG_SRC_FLAG };

struct config {
	char *value[CK__COUNT];		/* current text of each key */
	enum cfg_source source[CK__COUNT];
	int line[CK__COUNT];		/* line in file when source is FILE */
	char *file;			/* file loaded, or NULL */
};

/* One problem found while checking a file (config validate lists them all, up to a limit). */
#define CONFIG_MAX_PROBLEMS 100
struct cfg_problem {
	enum status code;
	char msg[ERR_MSG_MAX];
};
struct cfg_problems {
	struct cfg_problem *v;
	size_t n, cap;
};

/* Table access. */
const struct cfg_key *config_key(enum cfg_id id);
const struct cfg_key *config_key_find(const char *name);	/* NULL if unknown */
const char *config_key_suggest(const char *name);		/* nearest, or NULL */
const char *config_type_name(enum cfg_type t);
const char *config_source_name(enum cfg_source s);

/* Set every key to its default. Release with config_release(). */
void config_init(struct config *c);
void config_release(struct config *c);

/* Check that text is a valid value of key k; err names the key. */
enum status config_check_value(const struct cfg_key *k, const char *text, struct err *e);

/* Set a key from a source, after checking it. */
enum status config_set(struct config *c, enum cfg_id id, const char *text,
		       enum cfg_source src, struct err *e);

/*
 * Load a YAML file (at most READ_MAX_CONFIG bytes). When problems is NULL the
 * first problem stops the load; otherwise every problem is collected, up to
 * CONFIG_MAX_PROBLEMS, and the first is returned (or, when reading stopped
 * early, the last). Nothing in
 * c changes unless the whole file is valid. A missing file is ST_NOT_FOUND.
 */
enum status config_load_file(struct config *c, const char *path,
			     struct cfg_problems *problems, struct err *e);
void cfg_problems_release(struct cfg_problems *p);

/* Apply the IF_* environment variables. */
enum status config_load_env(struct config *c, struct err *e);

/* $XDG_CONFIG_HOME/ifctl/config.yaml (or ~/.config/...); caller frees. */
char *config_default_path(void);

/* Typed reads. */
const char *cfg_str(const struct config *c, enum cfg_id id);
int64_t cfg_int(const struct config *c, enum cfg_id id);
bool cfg_bool(const struct config *c, enum cfg_id id);

/* The data directory (home, or the XDG default); caller frees. */
char *config_home(const struct config *c);

/* The server URL clients use (nats.url, or the local server); caller frees. */
char *config_nats_url(const struct config *c);

/* A commented YAML file listing every key at its default. */
void config_template(struct buf *out);

/* The JSON Schema (draft 2020-12) of the config file. */
void config_schema(struct buf *out);

#endif
