# make bench-check: a short coordinator benchmark compared with a baseline.
#
# The figure compared is a ratio measured within one run, claim p99 at
# 100 ops/s over the p99 of a bare KV CAS update, so a slower or busier
# machine moves both and the ratio stays put; absolute times are never
# compared. bench/baseline-coord.txt holds "ratio margin"; the run fails when
# its ratio exceeds ratio * (1 + margin), or on any double claim or lost task
# (those are bugs, never noise). The margin comes from the spread of 10 runs
# (see the file). Up to 3 runs are made and the best ratio counts, so one
# noisy run does not fail CI. The runs do not witness (--no-witness): the
# baseline is the coordinator's own claim path; 'make bench' measures it
# with witnessing.
set -u
BUILD=${BUILD:-build}
IFCTL=$BUILD/ifctl
read -r base margin <bench/baseline-coord.txt || { echo "bench-check: no baseline" >&2; exit 1; }
tmp=$(mktemp -d /tmp/ifctl-bench-XXXXXX)
export IF_HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/config"
export IF_SERVER_PORT=$("$BUILD/tests/freeport")
trap '"$IFCTL" down -q >/dev/null 2>&1; rm -rf "$tmp"' EXIT
"$IFCTL" up -q >/dev/null || { echo "bench-check: ifctl up failed" >&2; exit 1; }
limit=$(awk -v b="$base" -v m="$margin" 'BEGIN { printf "%.3f", b * (1 + m) }')
best=""
for try in 1 2 3; do
	out=$("$IFCTL" task bench --quick --no-witness -o tsv | bash bench/coord-ratio.sh) || exit 1
	set -- $out
	echo "bench-check: run $try: claim p99 $2 ms, CAS p99 $3 ms, ratio $1 (limit $limit); double claims $4, lost $5"
	if [ "$4" != 0 ] || [ "$5" != 0 ]; then
		echo "bench-check: FAIL: $4 double claims, $5 lost tasks" >&2
		exit 1
	fi
	best=$1
	awk -v r="$1" -v l="$limit" 'BEGIN { exit !(r <= l) }' && { echo "bench-check: ok"; exit 0; }
done
echo "bench-check: FAIL: ratio $best above $limit in 3 runs (baseline $base, margin $margin)" >&2
exit 1
