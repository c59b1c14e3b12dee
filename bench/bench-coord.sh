# The coordinator benchmark of issue 4, against a local nats-server started
# for the run: 'ifctl task bench' with its defaults (the floor from 2,000
# sequential bare KV gets and CAS updates; claim, push and push-to-swarm
# latency at 100 ops/s for 60 s and saturated for 10 s; claims per second with
# 1, 8 and 64 claimer threads over 100,000 tasks; double claims and lost
# tasks read back from the final records). Percentiles are nearest-rank.
# BENCH_ARGS overrides the arguments, e.g. BENCH_ARGS=--quick.
set -u
BUILD=${BUILD:-build}
IFCTL=$BUILD/ifctl
tmp=$(mktemp -d /tmp/ifctl-bench-XXXXXX)
export IF_HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/config"
export IF_SERVER_PORT=$("$BUILD/tests/freeport")
trap '"$IFCTL" down -q >/dev/null 2>&1; rm -rf "$tmp"' EXIT
"$IFCTL" up -q >/dev/null || { echo "bench-coord: ifctl up failed" >&2; exit 1; }
# shellcheck disable=SC2086
"$IFCTL" task bench ${BENCH_ARGS:-} --why
