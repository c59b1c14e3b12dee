# Claim and push latency at 100 ops/s with events and witnessing on, run
# BENCH_RUNS times (default 10) pinned (the server on CPU 0, the benchmark on
# CPU 1, taskset) and BENCH_RUNS times unpinned, one after another. Each run
# is 'ifctl task bench' with BENCH_ARGS (default --duration 10 --tasks 20000
# --saturate 2); one line per run: mode, claim p50/p99, push p50/p99 (ms,
# nearest rank), claims/s at 1/8/64 claimers, and the p99 of bare KV updates
# at the same rate right after (the floor in the same minute); then per mode
# how many runs had claim and push p99 under 1 ms, and how many had the floor
# under 1 ms.
set -u
BUILD=${BUILD:-build}
IFCTL=$BUILD/ifctl
RUNS=${BENCH_RUNS:-10}
tmp=$(mktemp -d /tmp/ifctl-bench-XXXXXX)
export IF_HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/config"
export IF_SERVER_PORT=$("$BUILD/tests/freeport")
trap '"$IFCTL" down -q >/dev/null 2>&1; rm -rf "$tmp"' EXIT
"$IFCTL" up -q >/dev/null || { echo "bench: ifctl up failed" >&2; exit 1; }
spid=$("$IFCTL" status -o json | sed -n 's/.*"local_pid":\([0-9]*\).*/\1/p')
printf 'mode\tclaim_p50\tclaim_p99\tpush_p50\tpush_p99\tclaims_s_1\tclaims_s_8\tclaims_s_64\tfloor_p99\n'
for mode in pinned unpinned; do
	if [ "$mode" = pinned ]; then
		taskset -a -p -c 0 "$spid" >/dev/null; pin="taskset -c 1"
	else
		taskset -a -p -c 0-1 "$spid" >/dev/null; pin=""
	fi
	i=0
	while [ $i -lt "$RUNS" ]; do
		# shellcheck disable=SC2086
		$pin "$IFCTL" task bench ${BENCH_ARGS:---duration 10 --tasks 20000 --saturate 2} \
			-o tsv --no-headers 2>/dev/null | awk -F'\t' -v m="$mode" '
			$1 ~ /^claim @/ && !c99 { c50 = $3; c99 = $5 }
			$1 ~ /^push @/ && !p99 { p50 = $3; p99 = $5 }
			$1 ~ /^bare KV update @/ && !f99 { f99 = $5 }
			$1 ~ /^(1|8|64)$/ && NF >= 6 { t[$1] = $4 }
			END { printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m, c50, c99, p50, p99,
				t[1], t[8], t[64], f99 }'
		i=$((i + 1))
	done
done | tee "$tmp/runs"
awk -F'\t' '{ n[$1]++; ok = $3 < 1 && $5 < 1; good[$1] += ok; fl[$1] += $9 < 1
		both[$1] += !ok && $9 >= 1 }
	END { for (m in n) printf "%s: claim and push p99 < 1 ms in %d of %d runs; bare KV update p99 < 1 ms in %d; runs missing with the floor missing too: %d of %d\n",
		m, good[m], n[m], fl[m], both[m], n[m] - good[m] }' "$tmp/runs"
