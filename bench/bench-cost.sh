# The cost benchmark of issue 14, against a local nats-server started for the
# run: 'ifctl cost bench' (report times over an index of 1,000,000 settled
# records built through the sync's own path, median of 5 runs; 16 spenders,
# each its own connection, reserving and recording usage against one budget,
# with spent, reserved and overdraw read back from the final record), then
# the whole command 'ifctl cost report --period 30d' over that index timed
# from outside, 5 runs, nearest-rank median.
# BENCH_ARGS overrides the arguments, e.g. BENCH_ARGS='--records 100000'.
set -u
BUILD=${BUILD:-build}
IFCTL=$BUILD/ifctl
tmp=$(mktemp -d /tmp/ifctl-bench-XXXXXX)
export IF_HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/config"
export IF_SERVER_PORT=$("$BUILD/tests/freeport")
trap '"$IFCTL" down -q >/dev/null 2>&1; rm -rf "$tmp"' EXIT
"$IFCTL" up -q >/dev/null || { echo "bench-cost: ifctl up failed" >&2; exit 1; }
# shellcheck disable=SC2086
"$IFCTL" cost bench --index "$IF_HOME/index.db" ${BENCH_ARGS:-} --why || exit 1
echo
echo "ifctl cost report --period 30d --no-sync over that index (whole process, 5 runs):"
ms=""
for i in 1 2 3 4 5; do
	t0=$(date +%s%N)
	"$IFCTL" cost report --period 30d --no-sync -o json >/dev/null || exit 1
	t1=$(date +%s%N)
	ms="$ms $(( (t1 - t0) / 1000000 ))"
done
echo "$ms" | tr ' ' '\n' | sed '/^$/d' | sort -n | awk '{ v[NR] = $1 } END {
	printf "  runs %d, median %d ms, max %d ms\n", NR, v[int((NR + 1) / 2)], v[NR] }'
