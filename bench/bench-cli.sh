# Wall-clock time of 'ifctl status' against a local server and of
# 'ifctl --help', each run 20 times in a row after 2 warm-up runs.
# Reports min, median (the 10th and 11th of 20 sorted, averaged), p90 and max
# in milliseconds. Measured with date +%s%N around each process: it includes
# fork/exec, dynamic linking, config loading, the connect, five PINGs and the
# stream/bucket queries. /bin/true, timed the same way, is the floor of
# starting any process from this shell on this machine.
set -u
BUILD=${BUILD:-build}
IFCTL=$BUILD/ifctl
RUNS=20
tmp=$(mktemp -d /tmp/ifctl-bench-XXXXXX)
export IF_HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/config"
export IF_SERVER_PORT=$("$BUILD/tests/freeport" 2>/dev/null || echo 14222)
trap '"$IFCTL" down -q >/dev/null 2>&1; rm -rf "$tmp"' EXIT

"$IFCTL" up -q >/dev/null || { echo "bench-cli: ifctl up failed" >&2; exit 1; }

# measure LABEL PROGRAM ARGS...
measure() {
	label=$1; shift
	i=0
	while [ $i -lt 2 ]; do "$@" >/dev/null 2>&1; i=$((i + 1)); done
	: >"$tmp/times"
	i=0
	while [ $i -lt $RUNS ]; do
		t0=$(date +%s%N)
		"$@" >/dev/null 2>&1 || { echo "bench-cli: $* failed" >&2; exit 1; }
		t1=$(date +%s%N)
		echo $(( (t1 - t0) / 1000 )) >>"$tmp/times"
		i=$((i + 1))
	done
	sort -n "$tmp/times" | awk -v label="$label" -v n=$RUNS '
		{ v[NR] = $1 }
		END { printf "%-26s n=%d  min %.2f ms  median %.2f ms  p90 %.2f ms  max %.2f ms\n",
			label, n, v[1] / 1000, (v[n/2] + v[n/2 + 1]) / 2000, v[int(n * 0.9)] / 1000, v[n] / 1000 }'
}

measure "/bin/true (spawn floor)" /bin/true
measure "ifctl --help" "$IFCTL" --help
measure "ifctl version" "$IFCTL" version
measure "ifctl status" "$IFCTL" status
measure "ifctl status -o json" "$IFCTL" status -o json
