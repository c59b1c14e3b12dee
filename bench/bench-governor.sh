# The governor benchmark of issue 13, against a local nats-server started
# for the run: 'ifctl governor bench' (10,000 swarms written to IF_SWARMS;
# the fleet snapshot timed; 2,000 matches of 1 to 3 random capabilities
# over the loaded fleet, in one process; the local mirror built, synced and
# read; spawn detection over a generated tree of 10,000 files), then a
# one-shot 'ifctl governor match' against 'ifctl status', each run RUNS
# times as separate processes (wall time, median and nearest-rank p90).
# The one-shot match reads the registry from $IF_HOME/kvmirror.db, built
# by one match before the timed runs. Then the heartbeat case: before each
# timed match TOUCH random swarms (default 1,000) rewrite their records
# ('governor bench --touch', untimed), as their heartbeats would, so each
# match's sync reads that many messages. BENCH_ARGS adds arguments to the
# bench.
set -u
BUILD=${BUILD:-build}
IFCTL=$BUILD/ifctl
RUNS=${RUNS:-15}
TOUCH=${TOUCH:-1000}
tmp=$(mktemp -d /tmp/ifctl-bench-gov-XXXXXX)
export IF_HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/config"
export IF_SERVER_PORT=$("$BUILD/tests/freeport")
trap '"$IFCTL" down -q >/dev/null 2>&1; rm -rf "$tmp"' EXIT
"$IFCTL" up -q >/dev/null || { echo "bench-governor: ifctl up failed" >&2; exit 1; }
# shellcheck disable=SC2086
"$IFCTL" governor bench -o wide ${BENCH_ARGS:-} || exit 1

# wall_ms CMD...: milliseconds of one run.
wall_ms() {
	t0=$(date +%s%N)
	"$@" >/dev/null 2>&1
	t1=$(date +%s%N)
	echo $(( (t1 - t0) / 1000000 ))
}
# stats NAME CMD...: median and p90 of RUNS runs.
stats() {
	name=$1; shift
	for _ in $(seq "$RUNS"); do wall_ms "$@"; done | sort -n >"$tmp/$name"
	med=$(awk -v n="$RUNS" 'NR == int((n + 1) / 2)' "$tmp/$name")
	p90=$(awk -v n="$RUNS" 'NR == int((n * 9 + 9) / 10)' "$tmp/$name")
	echo "$name: median $med ms, p90 $p90 ms ($RUNS runs, one process each)"
	eval "${name}_med=$med"
}
# sync_line: what the last match's sync of IF_SWARMS read (its --why line).
sync_line() {
	"$IFCTL" governor match -c integration:sip,infra:databases --why |
		sed -n 's/^registry *IF_SWARMS *//p'
}
# touched_match: rewrite TOUCH records untimed, then one timed match.
touched_match() {
	"$IFCTL" governor bench --touch "$TOUCH" >/dev/null || exit 1
	wall_ms "$IFCTL" governor match -c integration:sip,infra:databases
}
echo "mirror built by a first match: $(sync_line)"
echo "mirror fresh: $(sync_line)"
stats status "$IFCTL" status
stats match "$IFCTL" governor match -c integration:sip,infra:databases
stats match_all "$IFCTL" governor match -c integration:sip,infra:databases --all -o json
echo "one-shot match / status (medians): $(awk -v a="$match_med" -v b="$status_med" 'BEGIN { printf "%.1f", b ? a / b : 0 }')x"
for _ in $(seq "$RUNS"); do touched_match; done | sort -n >"$tmp/catchup"
med=$(awk -v n="$RUNS" 'NR == int((n + 1) / 2)' "$tmp/catchup")
p90=$(awk -v n="$RUNS" 'NR == int((n * 9 + 9) / 10)' "$tmp/catchup")
echo "match after $TOUCH heartbeats: median $med ms, p90 $p90 ms ($RUNS runs, $TOUCH random swarms' records rewritten before each)"
"$IFCTL" governor bench --touch "$TOUCH" >/dev/null || exit 1
echo "its sync, once more: $(sync_line)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (2 cores shared; figures vary with it)"
