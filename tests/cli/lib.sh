# Shell test library for ifctl's CLI tests. Source it from a t-*.sh script:
#
#	. "$(dirname "$0")/lib.sh"
#	run 0 version                # run ifctl, expect exit 0
#	out_has '"ifctl"'            # stdout contains (grep -E)
#	err_has 'remedy:'            # stderr contains
#	finish                       # print "N passed, N failed", exit
#
# Every script gets its own IF_HOME, XDG_CONFIG_HOME and a free server.port,
# so nothing touches the operator's files or a server already running.
# nats_start starts a bare nats-server (not ifctl's) on another free port;
# everything started is stopped on exit.

set -u
BUILD=${BUILD:-build}
IFCTL=${IFCTL:-$BUILD/ifctl}
FREEPORT=$BUILD/tests/freeport
JSONCHECK=$BUILD/tests/jsoncheck
T_NAME=$(basename "$0" .sh)
T_DIR=$(mktemp -d "/tmp/ifctl-$T_NAME-XXXXXX")
T_PASS=0
T_FAIL=0
T_PIDS=""

export IF_HOME="$T_DIR/home"
export XDG_CONFIG_HOME="$T_DIR/config"
export IF_SERVER_PORT=$($FREEPORT)
export NO_COLOR=1
# The capabilities the tests name besides the registry (a site adds its own so).
export IF_GOVERNOR_CAPABILITIES=gpu,net,summarise,review
unset IF_NATS_URL IF_NATS_TIMEOUT_MS IF_OUTPUT IF_COLOR IF_READ_ONLY IF_NATS_CREDS IF_NATS_USER \
	IF_NATS_PASSWORD IF_NATS_TOKEN

OUT="$T_DIR/out"
ERR="$T_DIR/err"

t_cleanup() {
	"$IFCTL" down -q >/dev/null 2>&1
	for p in $T_PIDS; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$T_DIR"
}
trap t_cleanup EXIT

ok() { T_PASS=$((T_PASS + 1)); }
not_ok() {
	T_FAIL=$((T_FAIL + 1))
	echo "FAIL $T_NAME: $*" >&2
	echo "  stdout: $(head -c 600 "$OUT" 2>/dev/null)" >&2
	echo "  stderr: $(head -c 600 "$ERR" 2>/dev/null)" >&2
}

# run CODE ARGS...: run ifctl with ARGS, expect exit CODE.
run() {
	want=$1; shift
	LAST="ifctl $*"
	"$IFCTL" "$@" >"$OUT" 2>"$ERR" </dev/null
	got=$?
	if [ "$got" = "$want" ]; then ok; else not_ok "$LAST: exit $got, want $want"; fi
}

out_has() { if grep -qE -- "$1" "$OUT"; then ok; else not_ok "$LAST: stdout lacks /$1/"; fi; }
out_lacks() { if grep -qE -- "$1" "$OUT"; then not_ok "$LAST: stdout has /$1/"; else ok; fi; }
err_has() { if grep -qE -- "$1" "$ERR"; then ok; else not_ok "$LAST: stderr lacks /$1/"; fi; }
err_empty() { if [ -s "$ERR" ]; then not_ok "$LAST: stderr not empty"; else ok; fi; }
out_empty() { if [ -s "$OUT" ]; then not_ok "$LAST: stdout not empty"; else ok; fi; }
# One error line and one remedy line, as the CLI contract says.
err_is_one_error() {
	if [ "$(wc -l <"$ERR")" -eq 2 ] && head -1 "$ERR" | grep -q '^ifctl: ' &&
	   tail -1 "$ERR" | grep -qE '^remedy: .* \[[a-z-]+\]$'; then ok
	else not_ok "$LAST: stderr is not one error and one remedy"; fi
}
out_json() { if "$JSONCHECK" <"$OUT" 2>/dev/null; then ok; else not_ok "$LAST: stdout is not JSON"; fi; }
out_jsonl() { if "$JSONCHECK" -l <"$OUT" 2>/dev/null; then ok; else not_ok "$LAST: stdout is not JSON lines"; fi; }
# Is PID a live process (not a zombie left for a non-reaping init)?
alive() { [ -r "/proc/$1/stat" ] && ! sed 's/.*) //' "/proc/$1/stat" | grep -q '^Z'; }
check() { if eval "$1"; then ok; else not_ok "check failed: $1"; fi; }

# A bare nats-server with JetStream on a free port; sets NATS_URL and NATS_PID.
nats_start() {
	port=$($FREEPORT)
	bin=$(command -v nats-server || echo /usr/sbin/nats-server)
	mkdir -p "$T_DIR/bare-$port"
	"$bin" -a 127.0.0.1 -p "$port" -js -sd "$T_DIR/bare-$port" >"$T_DIR/bare-$port.log" 2>&1 &
	NATS_PID=$!
	T_PIDS="$T_PIDS $NATS_PID"
	NATS_URL="nats://127.0.0.1:$port"
	NATS_PORT=$port
	i=0
	until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 500 ] && { echo "nats-server did not start" >&2; return 1; }
		sleep 0.01
	done
}

finish() {
	echo "$T_NAME: $T_PASS passed, $T_FAIL failed"
	[ "$T_FAIL" -eq 0 ]
}
