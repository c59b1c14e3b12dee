# The coordinator at fleet scale, against a local nats-server started for the
# run. For each archive size A in BENCH_SIZES (default 0 10000 100000 1000000):
# A done tasks loaded straight into IF_ARCHIVE by tests/helper/loadtasks (KV
# puts in batches, not the CLI), and Q queued tasks (BENCH_QUEUED, default
# 100000 when A > 0, 0 when A = 0) into IF_TASKS with their ids on the ready
# queue; then 20 one-shot 'ifctl task claim' runs, wall time of each
# (process start to exit), median and max reported, after 5 s for the server
# to settle and one warm-up claim. At the largest size also 'task list' pages
# (served by the task index: places by SQL, the page's records by pipelined
# direct gets): the first list after the load (builds the index, the archive
# included: once), then the median and max of 5 runs each of the first page
# of --limit 100, a deep page (--continue after 50,000 tasks), --state done
# (the archive's 1,000,000) first and deep (after 50,000), and --state queued
# --swarm X; and 'task stats'. Times from date +%s%N, milliseconds.
# Then the task index and watch start at a million tasks, two layouts:
# BENCH_LIVE_A (default 100000) live + the rest of 1,000,000 archived, and
# 1,000,000 live (BENCH_TOTAL sets the million; BENCH_BIG=0 skips both,
# BENCH_BIG_LIVE=0 the second): the first 'task stats' (index
# built from KV_IF_TASKS), one more push then 'task stats' (incremental
# sync), the median of 5 'task stats' (quiet fleet), and the median of 5
# times to the first line of 'task watch --count 1' with --since 1m (one
# task pushed just before), --state claimed (one claimed), and no filter.
# In the first layout then a sweep of 50,000 moves (50,000 done tasks loaded
# live, the index synced, 'task archive --retain 0'): the 'task stats' after
# it (the index repaired from the archive's 50,000 new messages, not rebuilt;
# one run: a second sweep would be needed for another) and the median of 5
# after that.
# Last, the sweep alone, BENCH_SWEEPS times (default 3; 0 skips): a fresh
# server, BENCH_SWEEP (default 50,000) done tasks loaded live by loadtasks,
# 5 s to settle, then the wall time of 'task archive --retain 0' (the live
# set read once, the moves pipelined in batches, the queue's upkeep); each
# run, the median and the load average before it.
set -u
BUILD=${BUILD:-build}
IFCTL=$BUILD/ifctl
LOAD=$BUILD/tests/loadtasks
SIZES=${BENCH_SIZES-0 10000 100000 1000000}
tmp=$(mktemp -d /tmp/ifctl-bench-XXXXXX)
export IF_HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/config"
export IF_SERVER_PORT=$("$BUILD/tests/freeport")
export IF_SERVER_STORE_MAX_MB=16384
url="nats://127.0.0.1:$IF_SERVER_PORT"
trap '"$IFCTL" down -q >/dev/null 2>&1; rm -rf "$tmp"' EXIT

ms() { echo $(( $(date +%s%N) / 1000000 )); }
# timed CMD...: wall time of one run in ms on stdout (its output dropped).
timed() { t0=$(ms); "$@" >/dev/null 2>&1; echo $(( $(ms) - t0 )); }
# median of the numbers on stdin
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] " " a[NR] }'; }

printf 'archived\tqueued\tclaim_median_ms\tclaim_max_ms\truns\n'
for a in $SIZES; do
	"$IFCTL" down -q >/dev/null 2>&1
	rm -rf "$IF_HOME/nats"
	"$IFCTL" up -q >/dev/null || { echo "bench: ifctl up failed" >&2; exit 1; }
	q=${BENCH_QUEUED:-100000}
	[ "$a" -eq 0 ] && q=0
	[ "$a" -gt 0 ] && "$LOAD" "$url" IF_ARCHIVE "$a" arc done
	[ "$q" -gt 0 ] && "$LOAD" "$url" IF_TASKS "$q" q queued if.v1.queue.task
	# let the server settle after the load (it writes its blocks out), one warm-up claim
	sleep 5
	"$IFCTL" task claim --swarm warm -c gpu >/dev/null 2>&1
	i=0
	while [ $i -lt 20 ]; do
		timed "$IFCTL" task claim --swarm bench -c gpu
		i=$((i + 1))
	done | median | { read -r med max; printf '%s\t%s\t%s\t%s\t20\n' "$a" "$q" "$med" "$max"; }
	last=$a
done
# five CMD...: median and max of 5 wall times.
five() { for i in 1 2 3 4 5; do timed "$@"; done | median; }
# token ARGS...: the continue token after the first 50,000 tasks of a list.
token() {
	"$IFCTL" task list "$@" --limit 50000 -o json 2>/dev/null |
		sed -n 's/.*"continue":"\([^"]*\)".*/\1/p'
}
# why CMD...: wall time of one --why run, then its index and list lines.
why() {
	t0=$(ms)
	w=$("$@" --why 2>/dev/null)
	echo "$(( $(ms) - t0 )) ms"
	printf '%s\n' "$w" | grep -E '^(index|list) ' | sed 's/^/  /'
}
list_figures() {
	printf '\nat %s archived, %s queued (list: median/max of 5, ms):\n' "$last" "${q:-0}"
	printf 'list --state done --limit 100, first run (index built, archive included)\t%s\n' \
		"$(why "$IFCTL" task list --state done --limit 100)"
	printf 'list --limit 100\t%s\n' "$(five "$IFCTL" task list --limit 100)"
	tok=$(token)
	printf 'list --limit 100 --continue (after 50000)\t%s\n' \
		"$(five "$IFCTL" task list --limit 100 --continue "$tok")"
	printf 'list --state done --limit 100\t%s\n' "$(five "$IFCTL" task list --state done --limit 100)"
	tok=$(token --state done)
	printf 'list --state done --limit 100 --continue (after 50000)\t%s\n' \
		"$(five "$IFCTL" task list --state done --limit 100 --continue "$tok")"
	printf 'list --state queued --swarm X --limit 100\t%s\n' \
		"$(five "$IFCTL" task list --state queued --swarm X --limit 100)"
	printf 'stats\t%s\n' "$(five "$IFCTL" task stats)"
	"$IFCTL" task stats
}
[ -n "${last:-}" ] && list_figures	# BENCH_SIZES='' : the layouts below only

# big LIVE ARCHIVED: the index and watch-start figures for one layout.
big() {
	"$IFCTL" down -q >/dev/null 2>&1
	# the server may still be writing its store out as it stops
	rm -rf "$IF_HOME/nats" "$IF_HOME"/index.db* 2>/dev/null || { sleep 2; rm -rf "$IF_HOME/nats"; }
	"$IFCTL" up -q >/dev/null || { echo "bench: ifctl up failed" >&2; exit 1; }
	[ "$2" -gt 0 ] && "$LOAD" "$url" IF_ARCHIVE "$2" arc done
	"$LOAD" "$url" IF_TASKS "$1" q queued
	sleep 5
	printf '\n%s live, %s archived:\n' "$1" "$2"
	printf 'stats, first (index built)\t%s\n' "$(why "$IFCTL" task stats)"
	"$IFCTL" task push --title one -q >/dev/null 2>&1
	printf 'stats after one push (incremental)\t%s ms\n' "$(timed "$IFCTL" task stats)"
	"$IFCTL" task stats --why | grep 'index ' | sed 's/^/  /'
	printf 'stats median/max of 5\t%s ms\n' "$(for i in 1 2 3 4 5; do timed "$IFCTL" task stats; done | median)"
	"$IFCTL" task claim --swarm w -q >/dev/null 2>&1
	for f in "--since 1m" "--state claimed" ""; do
		# shellcheck disable=SC2086
		printf 'watch %s to first line, median/max of 5\t%s ms\n' "${f:-(no filter)}" \
			"$(for i in 1 2 3 4 5; do timed "$IFCTL" task watch --count 1 --heartbeat 0 $f; done | median)"
	done
	[ "${3:-}" = sweep ] || return 0
	"$LOAD" "$url" IF_TASKS "${BENCH_SWEEP:-50000}" sw done
	"$IFCTL" task stats >/dev/null 2>&1
	t0=$(ms)
	"$IFCTL" task archive --retain 0 -q >/dev/null 2>&1
	printf 'sweep of %s moves (task archive --retain 0)\t%s ms\n' "${BENCH_SWEEP:-50000}" \
		$(( $(ms) - t0 ))
	printf 'stats after the sweep (index repaired)\t%s\n' "$(why "$IFCTL" task stats)"
	printf 'stats median/max of 5 after that\t%s ms\n' \
		"$(for i in 1 2 3 4 5; do timed "$IFCTL" task stats; done | median)"
}
if [ "${BENCH_BIG:-1}" != 0 ]; then
	live=${BENCH_LIVE_A:-100000}
	total=${BENCH_TOTAL:-1000000}
	big "$live" $((total - live)) sweep
	[ "${BENCH_BIG_LIVE:-1}" = 0 ] || big "$total" 0
fi

# The sweep alone: a fresh server and BENCH_SWEEP done tasks per run.
sweeps() {
	n=${BENCH_SWEEP:-50000}
	printf '\ntask archive --retain 0 of %s done tasks, one fresh server per run:\n' "$n"
	times=""
	for i in $(seq 1 "$1"); do
		"$IFCTL" down -q >/dev/null 2>&1
		rm -rf "$IF_HOME/nats" "$IF_HOME"/index.db* 2>/dev/null || { sleep 2; rm -rf "$IF_HOME/nats"; }
		"$IFCTL" up -q >/dev/null || { echo "bench: ifctl up failed" >&2; exit 1; }
		"$LOAD" "$url" IF_TASKS "$n" sw done
		sleep 5
		load=$(cut -d' ' -f1-3 /proc/loadavg)
		t=$(timed "$IFCTL" task archive --retain 0 -q)
		printf 'run %s\t%s ms\t(load average before: %s)\n' "$i" "$t" "$load"
		times="$times $t"
	done
	printf '%s\n' $times | median | { read -r med max
		printf 'sweep of %s moves, median/max of %s\t%s ms\t%s ms\n' "$n" "$1" "$med" "$max"; }
}
[ "${BENCH_SWEEPS:-3}" = 0 ] || sweeps "${BENCH_SWEEPS:-3}"
