# The SLO benchmark of issue 15, against a local nats-server started for the
# run (two homes, one after the other).
#
# Ingest: tests/helper/slopub publishes SLO_INGEST samples (default 200,000)
# of 1,000 swarms on if.v1.slo.sample.<swarm> with core NATS, as the
# coordinator does; then 'ifctl slo sync' copies them from IF_SLO into the
# rollups, timed by the wall clock around the command: samples per second.
#
# Status: slopub loads SLO_SAMPLES samples (default 10,000,000; 1,000
# swarms, spread over 30 days, 1 % failures, latencies 0-2 s) straight into
# a fresh $IF_HOME/slo.db through the same ingest code (slodb_add and
# slodb_flush, without NATS: a stream of ten million messages is not what
# is measured here), and 1,000 objectives (p99, success, availability over
# 30d) into IF_SLO_OBJECTIVES; then 'ifctl slo status' for all 1,000 swarms
# (3,000 rows, -o json to /dev/null) is timed: the median of 5 runs, and
# one swarm's. Percentiles in the output are nearest-rank over the sketch.
set -u
BUILD=${BUILD:-build}
IFCTL=$BUILD/ifctl
SLOPUB=$BUILD/tests/slopub
INGEST=${SLO_INGEST:-200000}
SAMPLES=${SLO_SAMPLES:-10000000}
tmp=$(mktemp -d /tmp/ifctl-bench-slo-XXXXXX)
trap '"$IFCTL" down -q >/dev/null 2>&1; rm -rf "$tmp"' EXIT
export XDG_CONFIG_HOME="$tmp/config"

ms() { date +%s%3N; }
# median of the arguments
median() { printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"; }

# --- ingest -------------------------------------------------------------
export IF_HOME="$tmp/ingest" IF_SERVER_PORT=$("$BUILD/tests/freeport")
"$IFCTL" up -q >/dev/null || { echo "bench-slo: ifctl up failed" >&2; exit 1; }
url="nats://127.0.0.1:$IF_SERVER_PORT"
"$SLOPUB" "$url" flood "$INGEST" 1000 || exit 1
t0=$(ms)
"$IFCTL" slo sync -o json >"$tmp/sync.json" || { echo "bench-slo: sync failed" >&2; exit 1; }
t1=$(ms)
added=$(sed 's/.*"added":\([0-9]*\).*/\1/' "$tmp/sync.json")
echo "ingest: $added samples from IF_SLO into the rollups in $((t1 - t0)) ms:" \
	"$((added * 1000 / (t1 - t0 + 1))) samples/s (slo sync, wall clock, 1,000 swarms)"
"$IFCTL" down -q >/dev/null

# --- status ---------------------------------------------------------------
export IF_HOME="$tmp/status" IF_SERVER_PORT=$("$BUILD/tests/freeport")
"$IFCTL" up -q >/dev/null || { echo "bench-slo: ifctl up failed" >&2; exit 1; }
url="nats://127.0.0.1:$IF_SERVER_PORT"
"$SLOPUB" load "$IF_HOME/slo.db" "$SAMPLES" 1000 30 || exit 1
"$SLOPUB" "$url" objectives 1000 || exit 1
echo "rollups: $(du -m "$IF_HOME/slo.db" | cut -f1) MiB for $SAMPLES samples"
times=""
for i in 1 2 3 4 5; do
	t0=$(ms)
	"$IFCTL" slo status -o json >"$tmp/status.json" 2>"$tmp/status.err"
	rc=$?
	t1=$(ms)
	[ $rc -le 4 ] || { echo "bench-slo: status failed: $(cat "$tmp/status.err")" >&2; exit 1; }
	times="$times $((t1 - t0))"
done
rows=$(grep -o '"objective"' "$tmp/status.json" | wc -l)
# shellcheck disable=SC2086
echo "status: 1,000 swarms ($rows objective rows) over $SAMPLES samples: median" \
	"$(median $times) ms of 5 runs (runs:$times ms; whole command: connect, objectives," \
	"sync check, 7 windows, episodes)"
t0=$(ms)
"$IFCTL" slo status swarm-0042 -o json >/dev/null 2>&1
t1=$(ms)
echo "status of one swarm: $((t1 - t0)) ms"
